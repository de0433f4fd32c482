/* ferry keys: new | import | list | show over a keystore directory.
 * One file per key in the directory, named after the key (as cast's keystore directory does), holding a
 * standard Web3 Secret Storage v3 keystore, so geth (`--keystore DIR`) and cast (`--keystore DIR/NAME`,
 * `-k DIR NAME`) open Ferry's files as they are.
 * Passwords come from --password-file or $FERRY_PASSWORD (or a no-echo prompt on a terminal), never from
 * the command line, where every user could read them in ps(1). They live in guarded memory. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "ferry/err.h"
#include "ferry/keystore.h"
#include "ferry/signer.h"

#define SCRYPT_N_MIN (1u << 10) /* a development key; the default is geth's 2^18 */

struct keys_opts {
    char dir[4096];
    const char *password_file;
    bool scrypt_n_set;
    uint64_t scrypt_n;
    const char *args[3]; /* positional arguments after the subcommand */
    int nargs;
};

/* A password in guarded memory, wiped by password_free. */
struct password {
    char *buf; /* guarded memory (sodium_malloc) */
    size_t len;
};

static void password_free(struct password *pw)
{
    if (pw->buf)
        sodium_free(pw->buf);
    pw->buf = NULL;
    pw->len = 0;
}

static const char no_password[] =
    "no password: set FERRY_PASSWORD or pass --password-file FILE (there is no --password option: "
    "a command line is visible to every user)";

/* Reads one line from the terminal on fd 0 with echo off. */
static enum ferry_err password_prompt(char *buf, size_t cap, size_t *len, const char *msg)
{
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) != 0)
        return ferry_fail(FERRY_EIO, "cannot read the terminal: %s", strerror(errno));
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    fputs(msg, stderr);
    fflush(stderr);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
        return ferry_fail(FERRY_EIO, "cannot turn off the terminal's echo: %s", strerror(errno));
    size_t n = 0;
    enum ferry_err e = FERRY_OK;
    for (;;) {
        char c;
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || c == '\n')
            break;
        if (n == cap) {
            e = ferry_fail(FERRY_ERANGE, "password over %zu bytes", cap);
            break;
        }
        buf[n++] = c;
    }
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    if (n && buf[n - 1] == '\r')
        n--;
    *len = e ? 0 : n;
    return e;
}

/* The password: --password-file, else $FERRY_PASSWORD, else a prompt when stdin is a terminal
 * (twice when `confirm`). */
static enum ferry_err password_get(struct password *pw, const struct keys_opts *o, bool confirm)
{
    pw->len = 0;
    if (o->password_file)
        return secret_read_line(o->password_file, "password file", KEYSTORE_PASSWORD_MAX, true, &pw->buf, &pw->len);
    const char *env = getenv("FERRY_PASSWORD");
    if (env)
        return secret_copy(env, "FERRY_PASSWORD", KEYSTORE_PASSWORD_MAX, &pw->buf, &pw->len);
    if (!isatty(STDIN_FILENO))
        return ferry_fail(FERRY_EINVAL, "%s", no_password);
    pw->buf = sodium_malloc(KEYSTORE_PASSWORD_MAX + 2);
    if (!pw->buf)
        return ferry_fail(FERRY_ENOMEM, "cannot allocate guarded memory for the password");
    enum ferry_err e = password_prompt(pw->buf, KEYSTORE_PASSWORD_MAX, &pw->len, "Password: ");
    if (e || !confirm)
        return e;
    char *again = sodium_malloc(KEYSTORE_PASSWORD_MAX);
    if (!again)
        return ferry_fail(FERRY_ENOMEM, "cannot allocate guarded memory for the password");
    size_t n2;
    e = password_prompt(again, KEYSTORE_PASSWORD_MAX, &n2, "Repeat password: ");
    if (!e && (n2 != pw->len || sodium_memcmp(again, pw->buf, n2) != 0))
        e = ferry_fail(FERRY_EINVAL, "the passwords do not match");
    sodium_free(again);
    return e;
}

static enum ferry_err parse_scrypt_n(uint64_t *out, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || s[0] == '+')
        return ferry_fail(FERRY_EINVAL, "--scrypt-n: expected a number, got \"%s\"", s);
    if (v < SCRYPT_N_MIN || v > keystore_default_caps.scrypt_n_max || (v & (v - 1)) != 0)
        return ferry_fail(FERRY_EINVAL, "--scrypt-n: expected a power of two from %u to %" PRIu64 ", got %s",
                          SCRYPT_N_MIN, keystore_default_caps.scrypt_n_max, s);
    *out = v;
    return FERRY_OK;
}

/* ---- the subcommands --------------------------------------------------------------------- */

static void print_key(const char *name, const uint8_t addr[ADDRESS_LEN], const char *path)
{
    char a[ADDRESS_STR];
    address_to_checksum(a, addr);
    printf("name:    %s\naddress: %s\nfile:    %s\n", name, a, path);
}

/* Creates the directory if needed and warns when an existing one is open to other users. */
static enum ferry_err prepare_dir(const char *dir)
{
    enum ferry_err e = keystore_dir_create(dir);
    struct stat st;
    if (!e && stat(dir, &st) == 0 && (st.st_mode & 077))
        fprintf(stderr, "ferry: warning: keystore directory %s is open to other users (mode %03o); chmod 700 it\n",
                dir, (unsigned)(st.st_mode & 0777));
    return e;
}

/* Fails early, before any slow KDF runs, if the name is unusable or taken. */
static enum ferry_err check_free_name(const char *dir, const char *name, char *path, size_t cap)
{
    enum ferry_err e = keystore_name_check(name);
    if (!e)
        e = keystore_path(path, cap, dir, name);
    if (e)
        return e;
    struct stat st;
    if (lstat(path, &st) == 0)
        return ferry_fail(FERRY_EEXIST, "a key named \"%s\" already exists (%s); choose another name", name, path);
    return FERRY_OK;
}

/* The end of `keys new` and `keys import` (what failed so far in e): the keystore written as
 * dir/name (path), then shown; a failure anywhere is reported as `cmd`'s. */
static int save_key(const struct keys_opts *o, enum ferry_err e, const char *cmd, const char *name,
                    const struct keystore *ks, const uint8_t addr[ADDRESS_LEN], const char *path)
{
    if (!e)
        e = prepare_dir(o->dir);
    if (!e)
        e = keystore_write_file(o->dir, name, ks);
    if (e) {
        cli_error("%s", cmd);
        return CLI_FAIL;
    }
    print_key(name, addr, path);
    return CLI_OK;
}

/* The address of the key in ks, decrypted with the password as `label`; a failure names `file`.
 * Nothing is tried when e (what failed before) is set; pw is freed in every case. Decrypting
 * proves the file and the password good, and checks its address field if it has one. */
static enum ferry_err unlock_address(enum ferry_err e, const struct keystore *ks, const char *label,
                                     struct password *pw, const char *file, uint8_t addr[ADDRESS_LEN])
{
    struct signer *s = NULL;
    if (!e)
        e = signer_new(&s);
    if (!e && (e = signer_add_keystore(s, label, ks, pw->buf, pw->len)))
        e = ferry_fail_ctx(e, "%s", file);
    password_free(pw);
    if (!e)
        e = signer_address(s, label, addr);
    signer_free(s);
    return e;
}

static int keys_new(struct keys_opts *o)
{
    const char *name = o->args[0];
    char path[4096];
    struct password pw = {0};
    struct signer *s = NULL;
    struct keystore ks;
    uint8_t addr[ADDRESS_LEN];
    struct keystore_params params = keystore_default_params;
    if (o->scrypt_n_set)
        params.n = o->scrypt_n;
    enum ferry_err e = check_free_name(o->dir, name, path, sizeof path);
    if (!e)
        e = password_get(&pw, o, true);
    if (!e && pw.len == 0)
        e = ferry_fail(FERRY_EINVAL, "refusing to encrypt a new key with an empty password");
    if (!e)
        e = signer_new(&s);
    if (!e)
        e = signer_generate(s, name);
    if (!e)
        e = signer_export_keystore(s, name, pw.buf, pw.len, &params, &ks);
    password_free(&pw);
    if (!e)
        e = signer_address(s, name, addr);
    signer_free(s);
    return save_key(o, e, "keys new", name, &ks, addr, path);
}

static int keys_import(struct keys_opts *o)
{
    const char *file = o->args[0], *name = o->nargs > 1 ? o->args[1] : NULL;
    char path[4096], addrname[ADDRESS_STR];
    struct password pw = {0};
    struct keystore ks;
    uint8_t addr[ADDRESS_LEN];
    enum ferry_err e = FERRY_OK;
    if (name)
        e = check_free_name(o->dir, name, path, sizeof path);
    if (!e)
        e = keystore_read_file(&ks, file, NULL);
    if (!e)
        e = password_get(&pw, o, false);
    e = unlock_address(e, &ks, "import", &pw, file, addr);
    if (!e && !name) {
        address_to_checksum(addrname, addr);
        name = addrname;
        e = check_free_name(o->dir, name, path, sizeof path);
    }
    if (!e) {
        /* Stored as it came, plus the verified address so that `list` needs no password. */
        ks.has_address = true;
        memcpy(ks.address, addr, ADDRESS_LEN);
    }
    return save_key(o, e, "keys import", name, &ks, addr, path);
}

static int keys_list(struct keys_opts *o)
{
    struct keystore_entry *list;
    size_t n;
    if (keystore_dir_list(o->dir, &list, &n)) {
        cli_error("keys list");
        return CLI_FAIL;
    }
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        const struct keystore_entry *k = &list[i];
        if (k->err) {
            ferry_err_clear();
            cli_error("keys list: skipping %s/%s: %s", o->dir, k->name, k->errmsg);
            continue;
        }
        char a[ADDRESS_STR];
        if (k->ks.has_address)
            address_to_checksum(a, k->ks.address);
        printf("%-42s %s\n", k->name,
               k->ks.has_address ? a : "(no address in the file; `ferry keys show` derives it)");
        shown++;
    }
    free(list);
    if (!shown)
        fprintf(stderr, "ferry: no keys in %s\n", o->dir);
    return CLI_OK;
}

static int keys_show(struct keys_opts *o)
{
    const char *name = o->args[0];
    char path[4096];
    struct password pw = {0};
    struct keystore ks;
    uint8_t addr[ADDRESS_LEN];
    enum ferry_err e = keystore_name_check(name);
    if (!e)
        e = keystore_path(path, sizeof path, o->dir, name);
    if (!e && (e = keystore_read_file(&ks, path, NULL)) == FERRY_ENOTFOUND)
        e = ferry_fail(FERRY_ENOTFOUND, "no key named \"%s\" in %s (see `ferry keys list`)", name, o->dir);
    if (!e)
        e = password_get(&pw, o, false);
    e = unlock_address(e, &ks, name, &pw, path, addr);
    if (e) {
        cli_error("keys show");
        return CLI_FAIL;
    }
    print_key(name, addr, path);
    if (ks.kdf == KEYSTORE_SCRYPT)
        printf("kdf:     scrypt (n=%" PRIu64 ", r=%" PRIu32 ", p=%" PRIu32 ")\n", ks.n, ks.r, ks.p);
    else
        printf("kdf:     pbkdf2-hmac-sha256 (c=%" PRIu32 ")\n", ks.c);
    printf("cipher:  aes-128-ctr\n");
    if (ks.id[0])
        printf("id:      %s\n", ks.id);
    printf("checked: the password opens the key%s\n",
           ks.has_address ? " and the file's address field matches it" : " (the file has no address field)");
    return CLI_OK;
}

struct keys_sub {
    const char *name;
    int min_args, max_args;
    bool takes_scrypt_n;
    int (*run)(struct keys_opts *o);
};

static const struct keys_sub subs[] = {
    {"new", 1, 1, true, keys_new},
    {"import", 1, 2, false, keys_import},
    {"list", 0, 0, false, keys_list},
    {"show", 1, 1, false, keys_show},
};

/* --opt VALUE or --opt=VALUE; advances *i past the value. NULL (and a usage error printed) if missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (*i + 1 >= argc) {
        ferry_err_clear();
        cli_error("keys: %s needs a value", opt);
        return NULL;
    }
    return argv[++*i];
}

static bool is_opt(const char *arg, const char *opt)
{
    size_t n = strlen(opt);
    return strncmp(arg, opt, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static int usage_error(void)
{
    cli_usage(stderr, "keys");
    return CLI_USAGE;
}

int cmd_keys(int argc, char **argv)
{
    ferry_err_clear();
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        cli_usage(argc < 2 ? stderr : stdout, "keys");
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const struct keys_sub *sub = NULL;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(subs[i].name, argv[1]) == 0)
            sub = &subs[i];
    if (!sub) {
        cli_error("keys: unknown subcommand '%s'", argv[1]);
        return usage_error();
    }
    struct keys_opts o;
    memset(&o, 0, sizeof o);
    const char *dir = NULL;
    bool options_done = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || strcmp(a, "-") == 0) {
            if (o.nargs == sub->max_args) {
                cli_error("keys %s: unexpected argument '%s'", sub->name, a);
                return usage_error();
            }
            o.args[o.nargs++] = a;
        } else if (strcmp(a, "--") == 0) {
            options_done = true;
        } else if (is_opt(a, "--keystore-dir")) {
            if (!(dir = opt_value(argc, argv, &i, "--keystore-dir")))
                return usage_error();
        } else if (is_opt(a, "--password-file")) {
            if (!(o.password_file = opt_value(argc, argv, &i, "--password-file")))
                return usage_error();
        } else if (is_opt(a, "--scrypt-n") && sub->takes_scrypt_n) {
            const char *v = opt_value(argc, argv, &i, "--scrypt-n");
            if (!v)
                return usage_error();
            if (parse_scrypt_n(&o.scrypt_n, v)) {
                cli_error("keys new");
                return usage_error();
            }
            o.scrypt_n_set = true;
        } else if (is_opt(a, "--password")) {
            /* Do not even echo the value back. */
            cli_error("keys: there is no --password option (a command line is visible to every user); "
                      "use FERRY_PASSWORD or --password-file FILE");
            return CLI_USAGE;
        } else {
            cli_error("keys %s: unknown option '%.*s'", sub->name, (int)strcspn(a, "="), a);
            return usage_error();
        }
    }
    if (o.nargs < sub->min_args) {
        cli_error("keys %s: missing argument", sub->name);
        return usage_error();
    }
    if (!dir || !*dir)
        dir = getenv("FERRY_KEYSTORE_DIR");
    int n;
    if (dir && *dir) {
        n = snprintf(o.dir, sizeof o.dir, "%s", dir);
    } else {
        const char *home = getenv("HOME");
        if (!home || !*home) {
            cli_error("keys: no keystore directory: HOME is not set; pass --keystore-dir DIR or set "
                      "FERRY_KEYSTORE_DIR");
            return CLI_FAIL;
        }
        n = snprintf(o.dir, sizeof o.dir, "%s/.ferry/keys", home);
    }
    if (n < 0 || (size_t)n >= sizeof o.dir) {
        cli_error("keys: the keystore directory path is too long");
        return CLI_FAIL;
    }
    /* Trailing slashes only make paths ugly: "dir//name". */
    for (size_t len = strlen(o.dir); len > 1 && o.dir[len - 1] == '/'; len--)
        o.dir[len - 1] = '\0';
    return sub->run(&o);
}
