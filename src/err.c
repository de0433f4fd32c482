#include "ferry/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errmsg[512];

static const char *const names[FERRY_ERR__COUNT] = {
    [FERRY_OK] = "ok",
    [FERRY_EINVAL] = "invalid input",
    [FERRY_ERANGE] = "out of range",
    [FERRY_ENOMEM] = "out of memory or size cap reached",
    [FERRY_EIO] = "I/O error",
    [FERRY_ENOTFOUND] = "not found",
    [FERRY_EEXIST] = "already exists",
    [FERRY_ECRYPTO] = "cryptographic failure",
    [FERRY_EAUTH] = "authentication failed",
    [FERRY_EUNSUPPORTED] = "unsupported",
    [FERRY_ETIMEOUT] = "timed out",
    [FERRY_ERPC] = "remote error",
    [FERRY_ESTATE] = "not allowed in this state",
    [FERRY_EBUSY] = "busy: try again later",
};

const char *ferry_strerror(enum ferry_err e)
{
    if ((unsigned)e >= FERRY_ERR__COUNT || !names[e])
        return "unknown error";
    return names[e];
}

enum ferry_err ferry_fail(enum ferry_err code, const char *fmt, ...)
{
    /* Formatted aside first: an argument may be ferry_errmsg() itself (a detail wrapped in a new
     * message), and vsnprintf into the buffer it reads from garbles it. */
    char msg[sizeof errmsg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(errmsg, msg, sizeof errmsg);
    return code;
}

enum ferry_err ferry_fail_ctx(enum ferry_err code, const char *fmt, ...)
{
    char prefix[256], old[sizeof errmsg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, errmsg, sizeof old);
    /* A message longer than the buffer is cut; the start (the context) matters most. */
    size_t o = 0;
    const char *parts[3] = {prefix, old[0] ? ": " : "", old};
    for (int i = 0; i < 3; i++)
        for (const char *p = parts[i]; *p && o + 1 < sizeof errmsg; p++)
            errmsg[o++] = *p;
    errmsg[o] = '\0';
    return code;
}

const char *ferry_errmsg(void) { return errmsg; }

void ferry_err_clear(void) { errmsg[0] = '\0'; }
