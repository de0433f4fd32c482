/* Secrets the CLI reads (keystore passwords, the API token): always into guarded memory, from a
 * file's first line or an environment variable, never from the command line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "ferry/keystore.h"

void cli_secret_free(char *s)
{
    if (s)
        sodium_free(s);
}

enum ferry_err cli_secret_file(const char *path, const char *what, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    size_t cap = max + 2; /* room to see that a line is too long, and for the NUL */
    char *buf = sodium_malloc(cap + 1);
    if (!buf)
        return ferry_fail(FERRY_ENOMEM, "out of guarded memory");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sodium_free(buf);
        return ferry_fail(FERRY_EIO, "%s %s: %s", what, path, strerror(errno));
    }
    size_t n = 0;
    enum ferry_err e = FERRY_OK;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = ferry_fail(FERRY_EIO, "%s %s: %s", what, path, strerror(errno));
            break;
        }
        if (r == 0 || memchr(buf + n, '\n', (size_t)r)) {
            n += (size_t)r;
            break; /* only the first line matters */
        }
        n += (size_t)r;
    }
    close(fd);
    char *nl = memchr(buf, '\n', n);
    size_t l = nl ? (size_t)(nl - buf) : n;
    if (l && buf[l - 1] == '\r')
        l--;
    if (!e && l > max)
        e = ferry_fail(FERRY_ERANGE, "%s %s: the first line is over %zu bytes", what, path, max);
    if (e) {
        sodium_free(buf);
        return e;
    }
    sodium_memzero(buf + l, cap + 1 - l);
    *out = buf;
    *len = l;
    return FERRY_OK;
}

enum ferry_err cli_secret_copy(const char *value, const char *what, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    size_t n = strlen(value);
    if (n > max)
        return ferry_fail(FERRY_ERANGE, "%s is longer than %zu bytes", what, max);
    char *buf = sodium_malloc(n + 1);
    if (!buf)
        return ferry_fail(FERRY_ENOMEM, "out of guarded memory");
    memcpy(buf, value, n + 1);
    *out = buf;
    *len = n;
    return FERRY_OK;
}

enum ferry_err cli_keystore_password(const struct ferry_config *cfg, const char *file, char **out, size_t *len)
{
    if (file)
        return cli_secret_file(file, "password file", KEYSTORE_PASSWORD_MAX, out, len);
    if (cfg && cfg->keystore.password_file)
        return cli_secret_file(cfg->keystore.password_file, "keystore.password_file", KEYSTORE_PASSWORD_MAX, out,
                               len);
    const char *env = getenv("FERRY_PASSWORD");
    if (!env)
        return ferry_fail(FERRY_EINVAL, "no keystore password: set FERRY_PASSWORD or keystore.password_file in "
                                        "the config");
    return cli_secret_copy(env, "FERRY_PASSWORD", KEYSTORE_PASSWORD_MAX, out, len);
}

void cli_keystore_dir(const struct ferry_config *cfg, const char *dir, char *out, size_t cap)
{
    if (dir && *dir)
        snprintf(out, cap, "%s", dir);
    else if (cfg && cfg->keystore.dir)
        snprintf(out, cap, "%s", cfg->keystore.dir);
    else if (getenv("FERRY_KEYSTORE_DIR") && *getenv("FERRY_KEYSTORE_DIR"))
        snprintf(out, cap, "%s", getenv("FERRY_KEYSTORE_DIR"));
    else
        snprintf(out, cap, "%s/.ferry/keys", getenv("HOME") ? getenv("HOME") : ".");
}
