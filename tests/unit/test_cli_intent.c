/* ferry hops and ferry intent, run as the user runs them (build/ferry in a child process), against
 * a fake daemon API that serves records in the shape of docs (notes/issue6.md) and checks what the
 * CLI sends: queries and cursors, the bearer token, request bodies, signatures. Then with no daemon:
 * the same commands read the store. */
#define _XOPEN_SOURCE 700 /* posix_openpt: a pseudo-terminal for the colour checks */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../../src/orch_internal.h"
#include "fakerpc.h"
#include "ferry/address.h"
#include "ferry/api.h"
#include "ferry/buf.h"
#include "ferry/hex.h"
#include "ferry/intent.h"
#include "ferry/keystore.h"
#include "ferry/loop.h"
#include "ferry/orch.h"
#include "ferry/signer.h"
#include "ferry/store.h"
#include "testutil.h"

extern char **environ;

#define TOKEN "test-token-123"
#define ID_A "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_P "0x1111111111111111111111111111111111111111111111111111111111111111"
#define ROUTER "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
#define OWNER "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"

static char ferry_bin[512];
static uint64_t now_s;

/* ---- a fake daemon API ---- */

struct rest {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t mu;
    char log[8192];         /* "METHOD URL?QUERY\n" per request */
    char err[512];          /* the first thing the CLI did wrong */
    uint8_t signer[ADDRESS_LEN]; /* prepare answers with this owner (sign-with) */
    bool have_signer;
};

struct upload {
    struct fbuf body;
};

static void rest_fail(struct rest *r, const char *msg, const char *detail)
{
    if (!r->err[0])
        snprintf(r->err, sizeof r->err, "%s%s%s", msg, detail ? ": " : "", detail ? detail : "");
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind;
    size_t len = strlen(cls);
    snprintf((char *)cls + len, 1024 - len, "%s%s=%s", len ? "&" : "", k, v ? v : "");
    return MHD_YES;
}

/* A hop in the documented shape; funds NULL for none. */
static cJSON *hop(int index, const char *kind, const char *chain, const char *to, const char *state,
                  uint64_t entered, uint64_t timeout_at, const char *funds_chain)
{
    cJSON *h = cJSON_CreateObject();
    cJSON_AddNumberToObject(h, "index", index);
    cJSON_AddStringToObject(h, "kind", kind);
    cJSON_AddStringToObject(h, "chain", chain);
    if (to)
        cJSON_AddStringToObject(h, "to_chain", to);
    else
        cJSON_AddNullToObject(h, "to_chain");
    cJSON_AddStringToObject(h, "state", state);
    cJSON_AddNumberToObject(h, "sequence", index + 3);
    cJSON_AddNumberToObject(h, "timeout_at", (double)timeout_at);
    cJSON *e = cJSON_AddObjectToObject(h, "entered");
    cJSON_AddNumberToObject(e, "WAITING", (double)(entered - 10));
    cJSON_AddNumberToObject(e, state, (double)entered);
    cJSON *txs = cJSON_AddArrayToObject(h, "txs");
    cJSON_AddItemToArray(txs, cJSON_CreateString("0x" "cd" "00000000000000000000000000000000000000000000000000000000000042"));
    cJSON_AddStringToObject(h, "error", "");
    cJSON_AddNumberToObject(h, "attempts", 0);
    if (funds_chain) {
        cJSON *f = cJSON_AddObjectToObject(h, "funds");
        cJSON_AddStringToObject(f, "chain", funds_chain);
        cJSON_AddStringToObject(f, "holder", ROUTER);
        cJSON_AddStringToObject(f, "token", "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9");
        cJSON_AddStringToObject(f, "amount", "1000000000000000000");
        cJSON_AddBoolToObject(f, "in_flight", false);
    } else {
        cJSON_AddNullToObject(h, "funds");
    }
    return h;
}

/* Intent A: in progress on a three-step route; intent B: completed, one transfer, created earlier. */
static cJSON *record(char which)
{
    cJSON *r = cJSON_CreateObject();
    bool a = which == 'A';
    cJSON_AddStringToObject(r, "intent_id", a ? ID_A : ID_B);
    cJSON_AddStringToObject(r, "state", a ? "IN_PROGRESS" : "COMPLETED");
    cJSON_AddStringToObject(r, "reason", "");
    cJSON_AddNumberToObject(r, "created_at", (double)(now_s - (a ? 600 : 7200)));
    cJSON_AddNumberToObject(r, "updated_at", (double)(now_s - 125));
    cJSON *it = cJSON_AddObjectToObject(r, "intent");
    cJSON_AddStringToObject(it, "owner", OWNER);
    cJSON_AddStringToObject(it, "origin_chain", "alpha");
    cJSON_AddNumberToObject(it, "deadline", (double)(now_s + 7200));
    cJSON_AddNumberToObject(r, "current_step", a ? 1 : 1);
    cJSON_AddBoolToObject(r, "cancel_requested", false);
    cJSON *e = cJSON_AddObjectToObject(r, "entered");
    cJSON_AddNumberToObject(e, a ? "IN_PROGRESS" : "COMPLETED", (double)(now_s - 300));
    cJSON *hops = cJSON_AddArrayToObject(r, "hops");
    if (a) {
        cJSON_AddItemToArray(hops, hop(0, "transfer", "alpha", "beta", "DONE", now_s - 400, now_s + 100, "beta"));
        cJSON_AddItemToArray(hops, hop(1, "call", "beta", NULL, "SUBMITTED", now_s - 125, now_s + 3700, NULL));
        cJSON_AddItemToArray(hops, hop(2, "transfer", "beta", "gamma", "WAITING", now_s - 500, now_s + 3700, NULL));
        cJSON_AddItemToObject(r, "funds", cJSON_Duplicate(cJSON_GetObjectItem(cJSON_GetArrayItem(hops, 0), "funds"), 1));
    } else {
        cJSON_AddItemToArray(hops, hop(0, "transfer", "alpha", "beta", "DONE", now_s - 7000, now_s - 6000, "beta"));
        cJSON_AddNullToObject(r, "funds");
    }
    return r;
}

static cJSON *error_body(const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", msg);
    return j;
}

/* The answer to one request (status in *status), checking what the CLI sent. */
static cJSON *route(struct rest *r, struct MHD_Connection *conn, const char *method, const char *url,
                    const char *args, const cJSON *body, unsigned *status)
{
    *status = 200;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    bool post = !strcmp(method, "POST"), write = post && strcmp(url, "/v1/intents/prepare") != 0;
    if (write && (!auth || strcmp(auth, "Bearer " TOKEN) != 0)) {
        rest_fail(r, "a write without the bearer token", auth);
        *status = 401;
        return error_body("wrong API token");
    }
    if (!post && auth)
        rest_fail(r, "a read sent the token", url);
    if (!strcmp(method, "GET") && !strcmp(url, "/v1/intents")) {
        cJSON *ans = cJSON_CreateObject();
        cJSON *list = cJSON_AddArrayToObject(ans, "intents");
        const char *cursor = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor");
        if (strstr(args, "pending=1")) {
            cJSON_AddItemToArray(list, record('A'));
            cJSON_AddNullToObject(ans, "next");
        } else if (!cursor) { /* two pages: the cursor has a space the CLI must escape */
            cJSON_AddItemToArray(list, record('A'));
            cJSON_AddStringToObject(ans, "next", "page 2");
        } else if (!strcmp(cursor, "page 2")) {
            cJSON_AddItemToArray(list, record('B'));
            cJSON_AddNullToObject(ans, "next");
        } else {
            rest_fail(r, "unexpected cursor", cursor);
        }
        return ans;
    }
    if (!strcmp(method, "GET") && !strcmp(url, "/v1/intents/" ID_A))
        return record('A');
    if (!strcmp(method, "POST") && !strcmp(url, "/v1/intents/prepare")) {
        const cJSON *in = cJSON_GetObjectItem(body, "intent");
        if (!cJSON_IsObject(in) || !cJSON_GetObjectItem(in, "steps")) {
            rest_fail(r, "prepare without {\"intent\": ...}", NULL);
            *status = 400;
            return error_body("intent: expected an object");
        }
        if (cJSON_IsString(cJSON_GetObjectItem(in, "nonce")) && !strcmp(cJSON_GetObjectItem(in, "nonce")->valuestring, "bad")) {
            *status = 400;
            return error_body("intent.nonce: not a decimal string");
        }
        cJSON *ans = cJSON_CreateObject();
        cJSON_AddStringToObject(ans, "intent_id", ID_P);
        cJSON *norm = cJSON_Duplicate(in, true);
        if (!cJSON_GetObjectItem(norm, "nonce"))
            cJSON_AddStringToObject(norm, "nonce", "777");
        if (r->have_signer) {
            char a[ADDRESS_STR];
            address_to_checksum(a, r->signer);
            cJSON_ReplaceItemInObject(norm, "owner", cJSON_CreateString(a));
        }
        cJSON_AddItemToObject(ans, "intent", norm);
        cJSON *td = cJSON_AddObjectToObject(ans, "typed_data");
        cJSON_AddStringToObject(td, "primaryType", "Intent");
        return ans;
    }
    if (!strcmp(method, "POST") && !strcmp(url, "/v1/intents")) {
        const cJSON *in = cJSON_GetObjectItem(body, "intent"), *sig = cJSON_GetObjectItem(body, "signature");
        uint8_t s[65], id[32], who[ADDRESS_LEN];
        if (!cJSON_IsObject(in) || cJSON_GetObjectItem(in, "intent") || !cJSON_IsString(sig) ||
            hex_decode_exact(s, 65, sig->valuestring, HEX_PREFIX_REQUIRED)) {
            rest_fail(r, "submit body is not {intent, signature: 0x + 65 bytes}", NULL);
            *status = 400;
            return error_body("signature: expected 65 bytes");
        }
        if (!cJSON_IsString(cJSON_GetObjectItem(in, "nonce")))
            rest_fail(r, "submitted an intent without its nonce", NULL);
        if (r->have_signer) {
            /* --sign-with: the signature must be the key's, over the id the prepare answer gave. */
            if (s[64] != 27 && s[64] != 28)
                rest_fail(r, "v is not 27/28", sig->valuestring);
            s[64] -= 27;
            if (hex_decode_exact(id, 32, ID_P, HEX_PREFIX_REQUIRED) || signer_recover(id, s, who) ||
                memcmp(who, r->signer, ADDRESS_LEN) != 0)
                rest_fail(r, "the signature does not recover to the key over the prepared id", sig->valuestring);
        }
        *status = 202;
        cJSON *ans = cJSON_CreateObject();
        cJSON_AddStringToObject(ans, "intent_id", ID_P);
        cJSON_AddStringToObject(ans, "state", "PENDING");
        return ans;
    }
    if (!strcmp(method, "POST") && !strcmp(url, "/v1/intents/" ID_A "/retry")) {
        *status = 409;
        return error_body("intent " ID_A " is not STUCK (IN_PROGRESS)");
    }
    if (!strcmp(method, "POST") && !strcmp(url, "/v1/intents/" ID_A "/cancel")) {
        cJSON *ans = cJSON_CreateObject();
        cJSON_AddStringToObject(ans, "intent_id", ID_A);
        cJSON_AddStringToObject(ans, "state", "CANCELLED");
        return ans;
    }
    *status = 404;
    return error_body("no such intent");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *data, size_t *size, void **ctx)
{
    (void)version;
    struct rest *r = cls;
    struct upload *up = *ctx;
    if (!up) {
        up = calloc(1, sizeof *up);
        fbuf_init(&up->body, 1 << 20);
        *ctx = up;
        return MHD_YES;
    }
    if (*size) {
        if (fbuf_add(&up->body, data, *size))
            return MHD_NO;
        *size = 0;
        return MHD_YES;
    }
    char args[1024] = "";
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_arg, args);
    cJSON *body = up->body.len ? cJSON_ParseWithLength((const char *)up->body.data, up->body.len) : NULL;
    pthread_mutex_lock(&r->mu);
    size_t len = strlen(r->log);
    snprintf(r->log + len, sizeof r->log - len, "%s %s%s%s\n", method, url, args[0] ? "?" : "", args);
    unsigned status;
    cJSON *ans = route(r, conn, method, url, args, body, &status);
    pthread_mutex_unlock(&r->mu);
    cJSON_Delete(body);
    char *text = cJSON_PrintUnformatted(ans);
    cJSON_Delete(ans);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void done(void *cls, struct MHD_Connection *conn, void **ctx, enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)conn, (void)why;
    struct upload *up = *ctx;
    if (up) {
        fbuf_free(&up->body);
        free(up);
    }
    *ctx = NULL;
}

static void rest_start(struct rest *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, r,
                            MHD_OPTION_NOTIFY_COMPLETED, done, r, MHD_OPTION_END);
    assert_non_null(r->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    r->port = info->port;
}

static void rest_stop(struct rest *r)
{
    MHD_stop_daemon(r->d);
    pthread_mutex_destroy(&r->mu);
    if (r->err[0])
        fail_msg("the CLI sent something wrong: %s\nrequests:\n%s", r->err, r->log);
}

/* ---- running the CLI ---- */

struct run {
    int status;
    char *out, *err;
};

static void run_free(struct run *x)
{
    free(x->out);
    free(x->err);
}

static char tmpdir[64];
static struct loop *serving; /* a real API on this loop answers while the CLI runs, when set */

/* Runs `ferry ARGS...` (NULL-terminated) and collects its exit status, stdout and stderr. */
static struct run ferry(const char *const *args)
{
    const char *argv[32] = {ferry_bin};
    tu_argv(argv, 32, 1, args);
    char out[128], err[128];
    snprintf(out, sizeof out, "%s/stdout", tmpdir);
    snprintf(err, sizeof err, "%s/stderr", tmpdir);
    struct run x = {0};
    x.status = tu_wait_exit(tu_spawn(argv, out, err), serving);
    size_t len;
    x.out = tu_read_file(out, &len);
    x.err = tu_read_file(err, &len);
    assert_non_null(x.out);
    assert_non_null(x.err);
    return x;
}

/* Runs `ferry ARGS... [--json] --config CFG`. */
static struct run ferry_cfg(const char *const *args, bool json, const char *cfg)
{
    const char *argv[24];
    int n = 0;
    for (; *args && n < 20; args++)
        argv[n++] = *args;
    if (json)
        argv[n++] = "--json";
    argv[n++] = "--config";
    argv[n++] = cfg;
    argv[n] = NULL;
    return ferry(argv);
}

#define EXPECT(x, st, in_out, in_err)                                                                              \
    do {                                                                                                           \
        if ((x).status != (st) || !strstr((x).out, (in_out)) || !strstr((x).err, (in_err)))                        \
            fail_msg("exit %d (want %d); stdout (want \"%s\"):\n%s\nstderr (want \"%s\"):\n%s", (x).status, (st),    \
                     (in_out), (x).out, (in_err), (x).err);                                                        \
    } while (0)

/* Runs `ferry ARGS...` with stdout on a pseudo-terminal (NO_COLOR set when no_color) and returns
 * what it printed there. */
static char *ferry_on_tty(const char *const *args, bool no_color)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    const char *argv[32] = {ferry_bin};
    tu_argv(argv, 32, 1, args);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, ptsname(m), O_RDWR | O_NOCTTY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (no_color)
        setenv("NO_COLOR", "1", 1);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, ferry_bin, &fa, NULL, (char *const *)argv, environ), 0);
    unsetenv("NO_COLOR");
    posix_spawn_file_actions_destroy(&fa);
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    assert_non_null(out);
    int status;
    for (;;) { /* drain while it writes: a full terminal buffer would block it */
        bool exited = waitpid(pid, &status, WNOHANG) == pid;
        struct timeval tv = {0, 20000};
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(m, &rd);
        while (select(m + 1, &rd, NULL, NULL, &tv) > 0) {
            ssize_t r = read(m, out + len, cap - 1 - len);
            if (r <= 0)
                break;
            len += (size_t)r;
            tv = (struct timeval){0, 20000};
        }
        if (exited)
            break;
    }
    close(m);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return out;
}

static void write_config_token(const char *path, unsigned port, bool token);

/* Writes a config for an API on `port` with its data_dir in the temporary directory. */
static void write_config(const char *path, unsigned port) { write_config_token(path, port, true); }

static void write_config_token(const char *path, unsigned port, bool token)
{
    cJSON *cfg = tu_read_json("config/devnet.template.json");
    char listen[64], data[128], tok[128], keys[128];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", port);
    snprintf(data, sizeof data, "%s/data", tmpdir);
    snprintf(tok, sizeof tok, "%s/api-token", tmpdir);
    snprintf(keys, sizeof keys, "%s/keys", tmpdir);
    cJSON_ReplaceItemInObject(cfg, "data_dir", cJSON_CreateString(data));
    cJSON *api = cJSON_GetObjectItem(cfg, "api");
    cJSON_ReplaceItemInObject(api, "listen", cJSON_CreateString(listen));
    if (token)
        cJSON_ReplaceItemInObject(api, "token_file", cJSON_CreateString(tok));
    else
        cJSON_DeleteItemFromObject(api, "token_file");
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cfg, "keystore"), "dir", cJSON_CreateString(keys));
    char *s = cJSON_Print(cfg);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
    free(s);
    cJSON_Delete(cfg);
    f = fopen(tok, "w");
    assert_non_null(f);
    fputs(TOKEN "\n", f);
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static cJSON *parse_out(const struct run *x)
{
    cJSON *j = cJSON_Parse(x->out);
    if (!j)
        fail_msg("stdout is not JSON:\n%s", x->out);
    return j;
}

/* "a:1,a:2,..." for the hops of a `hops --json` answer (the intent id's second hex digit : index). */
static void hop_keys(const cJSON *j, char *out, size_t cap)
{
    out[0] = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItem(j, "hops"))
    {
        const cJSON *id = cJSON_GetObjectItem(h, "intent_id");
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%c:%d", len ? "," : "", cJSON_IsString(id) ? id->valuestring[3] : '?',
                 cJSON_GetObjectItem(h, "index") ? cJSON_GetObjectItem(h, "index")->valueint : -1);
    }
}

static bool have_binary(void)
{
    if (!tu_ferry_bin(ferry_bin, sizeof ferry_bin))
        return false;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ferry-test-cli-intent-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    now_s = (uint64_t)time(NULL);
    unsetenv("NO_COLOR");
    return true;
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
}

/* ---- the tests ---- */

static void hops_through_api(void **state)
{
    (void)state;
    if (!have_binary())
        skip();
    struct rest r;
    rest_start(&r);
    char cfg[128], keys[256];
    snprintf(cfg, sizeof cfg, "%s/ferry.json", tmpdir);
    write_config(cfg, r.port);

    /* Every hop of every intent, both pages. */
    struct run x = ferry((const char *[]){"hops", "--json", "--config", cfg, NULL});
    EXPECT(x, 0, "\"source\":", "");
    cJSON *j = parse_out(&x);
    assert_string_equal(cJSON_GetObjectItem(j, "source")->valuestring, "api");
    hop_keys(j, keys, sizeof keys);
    assert_string_equal(keys, "b:0,a:0,a:1,a:2"); /* oldest intent first, hops in order */
    const cJSON *h1 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "hops"), 2);
    assert_string_equal(cJSON_GetObjectItem(h1, "intent_state")->valuestring, "IN_PROGRESS");
    assert_string_equal(cJSON_GetObjectItem(h1, "state")->valuestring, "SUBMITTED");
    cJSON_Delete(j);
    run_free(&x);

    /* --pending: unfinished hops of unfinished intents, asked with pending=1. */
    x = ferry((const char *[]){"hops", "--pending", "--json", "--config", cfg, NULL});
    EXPECT(x, 0, "hops", "");
    j = parse_out(&x);
    hop_keys(j, keys, sizeof keys);
    assert_string_equal(keys, "a:1,a:2");
    cJSON_Delete(j);
    run_free(&x);

    /* --chain: the query names it, and only hops touching it are listed. */
    x = ferry((const char *[]){"hops", "--chain", "gamma", "--json", "--config", cfg, NULL});
    EXPECT(x, 0, "hops", "");
    j = parse_out(&x);
    hop_keys(j, keys, sizeof keys);
    assert_string_equal(keys, "a:2");
    cJSON_Delete(j);
    run_free(&x);

    /* One intent, as a table: columns, ages, time left, shortened funds; no colour into a file. */
    x = ferry((const char *[]){"hops", "--intent", ID_A, "--config", cfg, NULL});
    EXPECT(x, 0, "INTENT", "");
    const char *want[] = {"HOP", "KIND", "CHAIN", "STATE", "AGE", "TIMEOUT IN", "FUNDS", "0xaaaaaaaa…",
                          "alpha->beta", "beta->gamma", "SUBMITTED", "1h01m", "beta 0x9fE4…a6e0 0xDc64…F6C9 1.000e18"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(x.out, want[i]))
            fail_msg("no \"%s\" in the table:\n%s", want[i], x.out);
    assert_true(strstr(x.out, "2m05s") || strstr(x.out, "2m06s")); /* a second may pass */
    assert_null(strstr(x.out, "\033["));
    /* Aligned: every line puts the STATE column at the same offset. */
    const char *hdr = x.out, *col = strstr(hdr, "STATE");
    size_t off = (size_t)(col - hdr);
    const char *line = strchr(hdr, '\n') + 1;
    int rows = 0;
    for (; *line; line = strchr(line, '\n') + 1, rows++) {
        const char *st = NULL;
        for (const char *s = line; *s && *s != '\n' && !st; s++)
            if (!strncmp(s, "DONE", 4) || !strncmp(s, "SUBMITTED", 9) || !strncmp(s, "WAITING", 7))
                st = s;
        assert_non_null(st);
        /* "…" is three bytes and one column: the short id comes before STATE on every row */
        assert_int_equal((size_t)(st - line) - 2, off);
    }
    assert_int_equal(rows, 3);
    run_free(&x);

    /* NO_COLOR is irrelevant off a terminal; an unknown intent is a clear failure (exit 1). */
    x = ferry((const char *[]){"hops", "--intent", ID_B, "--config", cfg, NULL});
    EXPECT(x, 1, "", "no intent " ID_B);
    run_free(&x);

    pthread_mutex_lock(&r.mu);
    bool escaped = strstr(r.log, "cursor=page 2") != NULL; /* MHD logs arguments unescaped */
    bool pending = strstr(r.log, "pending=1") != NULL, chain = strstr(r.log, "chain=gamma") != NULL;
    pthread_mutex_unlock(&r.mu);
    assert_true(escaped);
    assert_true(pending);
    assert_true(chain);
    rest_stop(&r);
    cleanup();
}

static void intent_commands_through_api(void **state)
{
    (void)state;
    if (!have_binary())
        skip();
    struct rest r;
    rest_start(&r);
    char cfg[128], file[128], prep[128];
    snprintf(cfg, sizeof cfg, "%s/ferry.json", tmpdir);
    snprintf(file, sizeof file, "%s/intent.json", tmpdir);
    snprintf(prep, sizeof prep, "%s/prepared.json", tmpdir);
    write_config(cfg, r.port);
    write_text(file, "{\"owner\": \"" OWNER "\", \"origin_chain\": \"alpha\", \"deadline\": 1790000000, "
                     "\"refund\": \"origin\", \"steps\": [{\"transfer\": {\"token\": "
                     "\"0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9\", \"amount\": \"5\", \"to_chain\": \"beta\", "
                     "\"recipient\": \"" OWNER "\"}}]}");

    /* list: both pages, oldest first; --json is {"source", "intents"}. */
    struct run x = ferry((const char *[]){"intent", "list", "--json", "--config", cfg, NULL});
    EXPECT(x, 0, "intents", "");
    cJSON *j = parse_out(&x);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "intents")), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "intents"), 0), "intent_id")->valuestring, ID_B);
    cJSON_Delete(j);
    run_free(&x);
    x = ferry((const char *[]){"intent", "list", "--config", cfg, NULL});
    EXPECT(x, 0, "alpha->beta(call)->gamma", "");
    if (!strstr(x.out, "DEADLINE IN") || !strstr(x.out, "COMPLETED") || !strstr(x.out, "1/3") ||
        !strstr(x.out, "0x15d3…6A65"))
        fail_msg("unexpected list:\n%s", x.out);
    run_free(&x);

    /* show: the record, human and raw. */
    x = ferry((const char *[]){"intent", "show", ID_A, "--config", cfg, NULL});
    EXPECT(x, 0, "state      IN_PROGRESS for 5m0", ""); /* 5m00s, or 5m01s if a second passed */
    if (!strstr(x.out, "route      alpha->beta(call)->gamma") || !strstr(x.out, "step       1 of 3") ||
        !strstr(x.out, "LAST TX") || !strstr(x.out, "0xcd000000…0042") ||
        (!strstr(x.out, "(in 2h00m)") && !strstr(x.out, "(in 1h59m)")))
        fail_msg("unexpected show:\n%s", x.out);
    run_free(&x);
    x = ferry((const char *[]){"intent", "show", ID_A, "--json", "--config", cfg, NULL});
    j = parse_out(&x);
    assert_string_equal(cJSON_GetObjectItem(j, "intent_id")->valuestring, ID_A);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "hops")), 3);
    cJSON_Delete(j);
    run_free(&x);

    /* prepare: {"intent": file} goes up; the answer comes back. */
    x = ferry((const char *[]){"intent", "prepare", file, "--json", "--config", cfg, NULL});
    EXPECT(x, 0, ID_P, "");
    write_text(prep, x.out);
    run_free(&x);
    x = ferry((const char *[]){"intent", "prepare", file, "--config", cfg, NULL});
    EXPECT(x, 0, "intent id: " ID_P, "");
    assert_non_null(strstr(x.out, "\"primaryType\""));
    run_free(&x);

    /* submit the prepare answer with a signature: its "intent" member is what is sent. */
    char sig[140] = "0x";
    for (int i = 0; i < 64; i++)
        strcat(sig, "ab");
    strcat(sig, "1b");
    x = ferry((const char *[]){"intent", "submit", prep, "--signature", sig, "--config", cfg, NULL});
    EXPECT(x, 0, ID_P " accepted: PENDING", "");
    run_free(&x);

    /* A refusal shows the API's message and fails. */
    x = ferry((const char *[]){"intent", "retry", ID_A, "--config", cfg, NULL});
    EXPECT(x, 1, "", "HTTP 409: intent " ID_A " is not STUCK (IN_PROGRESS)");
    run_free(&x);
    x = ferry((const char *[]){"intent", "cancel", ID_A, "--config", cfg, NULL});
    EXPECT(x, 0, ID_A ": CANCELLED", "");
    run_free(&x);

    /* --sign-with: a keystore key signs the id the daemon computed; the fake recovers it. */
    char keys[128], pwf[128];
    snprintf(keys, sizeof keys, "%s/keys", tmpdir);
    snprintf(pwf, sizeof pwf, "%s/pw", tmpdir);
    write_text(pwf, "pw\n");
    struct signer *s;
    struct keystore ks;
    struct keystore_params params = keystore_default_params;
    params.n = 1024;
    assert_int_equal(signer_new(&s), FERRY_OK);
    assert_int_equal(signer_generate(s, "owner"), FERRY_OK);
    assert_int_equal(signer_address(s, "owner", r.signer), FERRY_OK);
    assert_int_equal(signer_export_keystore(s, "owner", "pw", 2, &params, &ks), FERRY_OK);
    assert_int_equal(keystore_dir_create(keys), FERRY_OK);
    assert_int_equal(keystore_write_file(keys, "owner", &ks), FERRY_OK);
    signer_free(s);
    pthread_mutex_lock(&r.mu);
    r.have_signer = true;
    pthread_mutex_unlock(&r.mu);
    x = ferry((const char *[]){"intent", "submit", file, "--sign-with", "owner", "--password-file", pwf, "--config",
                               cfg, NULL});
    EXPECT(x, 0, ID_P " accepted: PENDING", "");
    run_free(&x);
    /* A file whose intent_id is not its intent's id was edited after prepare: refused. */
    x = ferry((const char *[]){"intent", "submit", prep, "--sign-with", "owner", "--password-file", pwf, "--config",
                               cfg, NULL});
    EXPECT(x, 0, "accepted", ""); /* the same id: fine */
    run_free(&x);
    cJSON *pj = tu_read_json(prep);
    cJSON_ReplaceItemInObject(pj, "intent_id", cJSON_CreateString(ID_A));
    char *ptext = cJSON_Print(pj);
    write_text(prep, ptext);
    free(ptext);
    cJSON_Delete(pj);
    x = ferry((const char *[]){"intent", "submit", prep, "--sign-with", "owner", "--password-file", pwf, "--config",
                               cfg, NULL});
    EXPECT(x, 1, "", "prepare it again");
    run_free(&x);
    /* A key that is not the owner's. */
    pthread_mutex_lock(&r.mu);
    r.have_signer = false;
    pthread_mutex_unlock(&r.mu);
    x = ferry((const char *[]){"intent", "submit", file, "--sign-with", "owner", "--password-file", pwf, "--config",
                               cfg, NULL});
    EXPECT(x, 1, "", "but the intent's owner is " OWNER);
    run_free(&x);
    /* Without a token: prepare (not a write) still goes; a write is refused before asking. */
    char cfg2[160];
    snprintf(cfg2, sizeof cfg2, "%s/no-token.json", tmpdir);
    write_config_token(cfg2, r.port, false);
    x = ferry((const char *[]){"intent", "prepare", file, "--config", cfg2, NULL});
    EXPECT(x, 0, "intent id: " ID_P, "");
    run_free(&x);
    x = ferry((const char *[]){"intent", "cancel", ID_A, "--config", cfg2, NULL});
    EXPECT(x, 1, "", "the config sets no API token");
    run_free(&x);
    /* The API's field error is shown. */
    write_text(file, "{\"nonce\": \"bad\", \"steps\": []}");
    x = ferry((const char *[]){"intent", "prepare", file, "--config", cfg, NULL});
    EXPECT(x, 1, "", "HTTP 400: intent.nonce: not a decimal string");
    run_free(&x);
    rest_stop(&r);
    cleanup();
}

static void bad_arguments(void **state)
{
    (void)state;
    if (!have_binary())
        skip();
    char cfg[128];
    snprintf(cfg, sizeof cfg, "%s/ferry.json", tmpdir);
    write_config(cfg, fake_closed_port());
    static const struct {
        const char *args[8];
        const char *err;
    } cases[] = {
        {{"hops", "--frob"}, "hops: unexpected argument '--frob'"},
        {{"hops", "--intent", "0x12"}, "'0x12' is not an intent id"},
        {{"hops", "--intent", "zz" ID_A}, "is not an intent id"},
        {{"hops", "--chain", "nope"}, "--chain: no chain 'nope'"},
        {{"hops", "--intent", "--json"}, "hops: --intent needs a value"},
        {{"intent", "list", "--state", "--json"}, "--state needs a value"},
        {{"intent"}, "usage: ferry intent"},
        {{"intent", "frob"}, "unknown subcommand"},
        {{"intent", "list", "--state", "WAITING"}, "--state: unknown state 'WAITING'"},
        {{"intent", "list", "--owner", "0x12"}, "--owner"},
        {{"intent", "list", "--limit", "0"}, "--limit: expected a number from 1"},
        {{"intent", "list", "--pending", "--state", "OPEN"}, "give --pending or --state"},
        {{"intent", "list", "--frob"}, "unknown option '--frob'"},
        {{"intent", "list", "extra"}, "unexpected argument 'extra'"},
        {{"intent", "show"}, "missing ID"},
        {{"intent", "show", "0xabc"}, "not an intent id"},
        {{"intent", "retry", "nothex"}, "not an intent id"},
        {{"intent", "submit", "f.json"}, "give --signature HEX or --sign-with KEYNAME"},
        {{"intent", "submit", "f.json", "--signature", "0x1234"}, "--signature: expected 65 bytes"},
        {{"intent", "prepare", "f.json", "--state", "OPEN"}, "unknown option '--state'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run x = ferry_cfg(cases[i].args, false, cfg);
        if (x.status != 2 || !strstr(x.err, cases[i].err))
            fail_msg("case %zu (%s %s): exit %d (want 2), stderr (want \"%s\"):\n%s", i, cases[i].args[0],
                     cases[i].args[1] ? cases[i].args[1] : "", x.status, cases[i].err, x.err);
        assert_string_equal(x.out, "");
        run_free(&x);
    }
    /* Writes need the daemon: a clear failure, exit 1. */
    struct run x = ferry((const char *[]){"intent", "cancel", ID_A, "--config", cfg, NULL});
    EXPECT(x, 1, "", "no daemon answers");
    run_free(&x);
    cleanup();
}

static void store_when_daemon_down(void **state)
{
    (void)state;
    if (!have_binary())
        skip();
    char cfg[128];
    snprintf(cfg, sizeof cfg, "%s/ferry.json", tmpdir);
    write_config(cfg, fake_closed_port());
    /* No store yet: nothing, from the store, and nothing created. */
    struct run x = ferry((const char *[]){"intent", "list", "--json", "--config", cfg, NULL});
    EXPECT(x, 0, "\"source\":\t\"store\"", "");
    cJSON *j = parse_out(&x);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "intents")), 0);
    cJSON_Delete(j);
    run_free(&x);
    x = ferry((const char *[]){"hops", "--config", cfg, NULL});
    EXPECT(x, 0, "no hops", "read from the store");
    run_free(&x);
    char data[160];
    snprintf(data, sizeof data, "%s/data", tmpdir);
    assert_int_not_equal(access(data, F_OK), 0);
    cleanup();
}

/* ---- records in the store, as the orchestrator writes them ---- */

static const struct intent_chain_info devnet_chains[] = {
    {"alpha", 31337, {0x9f, 0xe4}, 1000, 2},
    {"beta", 31338, {0x9f, 0xe4}, 1000, 2},
    {"gamma", 31339, {0x9f, 0xe4}, 1000, 2},
};
static const struct intent_dir devnet_dir = {devnet_chains, 3};

/* A two-hop intent alpha -> beta -> gamma of `owner`, in `state`, hop states as given. */
static void put_record(struct store *st, uint8_t tag, const char *owner, enum intent_state state,
                       enum hop_state h0, enum hop_state h1, const char *reason)
{
    char json[1024], err[INTENT_ERR_MAX];
    snprintf(json, sizeof json,
             "{\"owner\": \"%s\", \"origin_chain\": \"alpha\", \"deadline\": %" PRIu64 ", \"nonce\": \"%u\", "
             "\"refund\": \"origin\", \"steps\": ["
             "{\"transfer\": {\"token\": \"0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9\", \"amount\": \"5\", "
             "\"to_chain\": \"beta\", \"timeout\": 600}},"
             "{\"transfer\": {\"token\": \"0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9\", \"amount\": \"all\", "
             "\"to_chain\": \"gamma\", \"timeout\": 600, \"recipient\": \"%s\"}}]}",
             owner, now_s + 7200, tag, owner);
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    struct intent_record *r = calloc(1, sizeof *r);
    assert_non_null(r);
    if (intent_from_json(&r->intent, j, &devnet_dir, now_s, 0, "intent", err))
        fail_msg("the test's intent: %s", err);
    cJSON_Delete(j);
    memset(r->id, tag, 32);
    r->state = state;
    if (state == INTENT_STUCK)
        r->stuck_from = INTENT_IN_PROGRESS;
    r->created_at = now_s - 1000 + tag; /* in tag order */
    r->entered[INTENT_PENDING] = r->created_at;
    r->entered[state] = now_s - 90;
    r->current = h0 == HOP_DONE ? 1 : 0;
    snprintf(r->reason, sizeof r->reason, "%s", reason);
    enum hop_state hs[2] = {h0, h1};
    for (uint32_t i = 0; i < 2; i++) {
        struct hop_record *h = &r->hops[i];
        h->index = i;
        h->state = hs[i];
        h->kind = INTENT_STEP_TRANSFER;
        h->chain = i ? 31338 : 31337;
        h->to_chain = i ? 31339 : 31338;
        h->timeout_at = now_s + 600;
        h->entered[HOP_WAITING] = r->created_at;
        h->entered[hs[i]] = now_s - 300;
        h->sequence = i + 1;
    }
    if (h0 == HOP_DONE) {
        struct orch_funds *f = &r->hops[0].funds;
        f->known = true;
        f->chain = 31338;
        f->amount[31] = 5;
        r->funds = *f;
    }
    /* The orchestrator's write: the record, its state index, its owner index, in one batch. */
    struct store_key k;
    orch_intent_key(&k, r->id);
    size_t len;
    char *v = orch_record_encode(r, &len);
    assert_non_null(v);
    struct store_batch *b;
    assert_int_equal(store_batch_begin(st, &b), FERRY_OK);
    store_put(b, k.b, k.len, v, len);
    free(v);
    uint8_t field = (uint8_t)state, ofield[32];
    store_index_move(b, STORE_IDX_INTENT_STATE, NULL, 0, &field, 1, k.b, k.len);
    orch_owner_field(ofield, r->intent.owner);
    store_index_put(b, STORE_IDX_INTENT_OWNER, ofield, 32, k.b, k.len);
    assert_int_equal(store_commit_sync(b), FERRY_OK);
    intent_record_clear(r);
    free(r);
}

/* The first hex digit pair of each intent id in a listing ("01,02"). */
static void intent_tags(const cJSON *j, char *out, size_t cap)
{
    out[0] = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "intents"))
    {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%.2s", len ? "," : "", cJSON_GetObjectItem(r, "intent_id")->valuestring + 2);
    }
}

static const char *want_source = "store";

static void listing(const char *cfg, const char *const *args, const char *want)
{
    struct run x = ferry_cfg(args, true, cfg);
    cJSON *j = parse_out(&x);
    if (x.status || strcmp(cJSON_GetObjectItem(j, "source")->valuestring, want_source) != 0)
        fail_msg("exit %d, want the records from the %s:\n%s\n%s", x.status, want_source, x.out, x.err);
    char got[256];
    if (!strcmp(args[0], "hops"))
        hop_keys(j, got, sizeof got);
    else
        intent_tags(j, got, sizeof got);
    if (strcmp(got, want) != 0)
        fail_msg("%s %s: got \"%s\", want \"%s\"", args[0], args[1], got, want);
    cJSON_Delete(j);
    run_free(&x);
}

static void store_records(void **state)
{
    (void)state;
    if (!have_binary())
        skip();
    char cfg[128], data[160];
    snprintf(cfg, sizeof cfg, "%s/ferry.json", tmpdir);
    snprintf(data, sizeof data, "%s/data", tmpdir);
    write_config(cfg, fake_closed_port());
    struct store *st;
    assert_int_equal(store_open(&st, "leveldb", data), FERRY_OK);
    const char *other = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
    put_record(st, 1, OWNER, INTENT_COMPLETED, HOP_DONE, HOP_DONE, "");
    put_record(st, 2, OWNER, INTENT_IN_PROGRESS, HOP_DONE, HOP_SUBMITTED, "");
    put_record(st, 3, other, INTENT_STUCK, HOP_SUBMITTED, HOP_WAITING, "advance: reverted 6 times");
    put_record(st, 4, OWNER, INTENT_PENDING, HOP_WAITING, HOP_WAITING, "");
    assert_int_equal(store_close(st), FERRY_OK);

    listing(cfg, (const char *[]){"intent", "list", NULL}, "01,02,03,04");
    listing(cfg, (const char *[]){"intent", "list", "--pending", NULL}, "02,03,04");
    listing(cfg, (const char *[]){"intent", "list", "--state", "stuck", NULL}, "03");
    listing(cfg, (const char *[]){"intent", "list", "--owner", other, NULL}, "03");
    listing(cfg, (const char *[]){"intent", "list", "--owner", OWNER, "--limit", "2", NULL}, "01,02");
    listing(cfg, (const char *[]){"intent", "list", "--chain", "gamma", NULL}, "01,02,03,04");
    listing(cfg, (const char *[]){"hops", "--pending", NULL}, "2:1,3:0,3:1,4:0,4:1");

    /* Tables from the store: chain names, states, the reason, and a note on stderr. */
    struct run x = ferry((const char *[]){"intent", "list", "--config", cfg, NULL});
    EXPECT(x, 0, "advance: reverted 6 times", "read from the store");
    if (!strstr(x.out, "alpha->beta->gamma") || !strstr(x.out, "STUCK") || !strstr(x.out, "0x03030303…") ||
        !strstr(x.out, "1m3")) /* 1m30s, or a few seconds more */
        fail_msg("unexpected list:\n%s", x.out);
    run_free(&x);
    /* States are coloured on a terminal only, and not with NO_COLOR set. */
    char *tty = ferry_on_tty((const char *[]){"intent", "list", "--config", cfg, NULL}, false);
    if (!strstr(tty, "\033[1;31mSTUCK") || !strstr(tty, "\033[32mCOMPLETED") || !strstr(tty, "\033[36mIN_PROGRESS"))
        fail_msg("no coloured states on a terminal:\n%s", tty);
    free(tty);
    tty = ferry_on_tty((const char *[]){"intent", "list", "--config", cfg, NULL}, true);
    if (!strstr(tty, "STUCK") || strstr(tty, "\033["))
        fail_msg("NO_COLOR set, yet:\n%s", tty);
    free(tty);

    char id[67] = "0x";
    for (int i = 0; i < 32; i++)
        strcat(id, "02");
    x = ferry((const char *[]){"intent", "show", id, "--config", cfg, NULL});
    EXPECT(x, 0, "state      IN_PROGRESS for 1m3", "read from the store");
    if (!strstr(x.out, "route      alpha->beta->gamma") || !strstr(x.out, "SUBMITTED") ||
        !strstr(x.out, "funds      beta 0x0000…0000 0x0000…0000 5"))
        fail_msg("unexpected show:\n%s", x.out);
    run_free(&x);
    x = ferry((const char *[]){"hops", "--intent", id, "--config", cfg, NULL});
    EXPECT(x, 0, "alpha->beta", "read from the store");
    if (!strstr(x.out, "beta->gamma") || !strstr(x.out, "SUBMITTED") || !strstr(x.out, "5m0"))
        fail_msg("unexpected hops:\n%s", x.out);
    run_free(&x);
    id[2] = '9';
    x = ferry((const char *[]){"intent", "show", id, "--config", cfg, NULL});
    EXPECT(x, 1, "", "no intent 0x9");
    run_free(&x);

    /* The daemon's real API over the same store (no orchestrator: reads only) answers the same. */
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    assert_int_equal(store_open(&st, "leveldb", data), FERRY_OK);
    static const struct api_chain_name names[] = {{"alpha", 31337}, {"beta", 31338}, {"gamma", 31339}};
    struct api_config ac = {.loop = loop, .store = st, .host = "127.0.0.1", .token = TOKEN, .chains = names,
                            .n_chains = 3};
    struct api *api;
    assert_int_equal(api_start(&api, &ac), FERRY_OK);
    write_config(cfg, api_port(api));
    serving = loop;
    want_source = "api";
    listing(cfg, (const char *[]){"intent", "list", NULL}, "01,02,03,04");
    listing(cfg, (const char *[]){"intent", "list", "--limit", "3", NULL}, "01,02,03");
    listing(cfg, (const char *[]){"intent", "list", "--pending", NULL}, "02,03,04");
    listing(cfg, (const char *[]){"intent", "list", "--state", "stuck", NULL}, "03");
    listing(cfg, (const char *[]){"intent", "list", "--owner", other, NULL}, "03");
    listing(cfg, (const char *[]){"intent", "list", "--chain", "gamma", NULL}, "01,02,03,04");
    listing(cfg, (const char *[]){"hops", "--pending", NULL}, "2:1,3:0,3:1,4:0,4:1");
    id[2] = '0';
    x = ferry((const char *[]){"intent", "show", id, "--config", cfg, NULL});
    EXPECT(x, 0, "route      alpha->beta->gamma", "");
    run_free(&x);
    id[2] = '9';
    x = ferry((const char *[]){"intent", "show", id, "--config", cfg, NULL});
    EXPECT(x, 1, "", "no intent 0x9");
    run_free(&x);
    x = ferry((const char *[]){"intent", "retry", id, "--config", cfg, NULL});
    EXPECT(x, 1, "", "HTTP 503"); /* no orchestrator behind this API */
    run_free(&x);
    serving = NULL;
    want_source = "store";
    api_stop(api);
    assert_int_equal(store_close(st), FERRY_OK);
    loop_free(loop);
    cleanup();
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hops_through_api),
        cmocka_unit_test(intent_commands_through_api),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(store_when_daemon_down),
        cmocka_unit_test(store_records),
    };
    return TU_RUN(tests);
}
