#include "ferry/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

void secret_free(char *s)
{
    if (s)
        sodium_free(s);
}

enum ferry_err secret_read_line(const char *path, const char *what, size_t max, bool allow_empty, char **out,
                                size_t *len)
{
    *out = NULL;
    *len = 0;
    if (sodium_init() < 0) /* guarded memory needs it; once is enough, again is cheap */
        return ferry_fail(FERRY_ECRYPTO, "%s: libsodium failed to initialise", what);
    size_t cap = max + 2; /* room to see that a line is too long ("\r\n" after max bytes is fine) */
    char *buf = sodium_malloc(cap + 1);
    if (!buf)
        return ferry_fail(FERRY_ENOMEM, "%s: out of guarded memory", what);
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
    if (!e && l == 0 && !allow_empty)
        e = ferry_fail(FERRY_EINVAL, "%s %s is empty", what, path);
    if (e) {
        sodium_free(buf);
        return e;
    }
    sodium_memzero(buf + l, cap + 1 - l);
    *out = buf;
    *len = l;
    return FERRY_OK;
}

enum ferry_err secret_copy(const char *value, const char *what, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (sodium_init() < 0)
        return ferry_fail(FERRY_ECRYPTO, "%s: libsodium failed to initialise", what);
    size_t n = strlen(value);
    if (n > max)
        return ferry_fail(FERRY_ERANGE, "%s is longer than %zu bytes", what, max);
    char *buf = sodium_malloc(n + 1);
    if (!buf)
        return ferry_fail(FERRY_ENOMEM, "%s: out of guarded memory", what);
    memcpy(buf, value, n + 1);
    *out = buf;
    *len = n;
    return FERRY_OK;
}
