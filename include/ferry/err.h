/* Ferry's one result code. Every fallible function returns enum ferry_err (0 = OK)
 * and, on failure, leaves a human message naming what to fix in ferry_errmsg().
 * The daemon runs one event loop on one thread; the message buffer is per thread. */
#ifndef FERRY_ERR_H
#define FERRY_ERR_H

#include <stddef.h>

#if defined(__GNUC__)
#define FERRY_WUR __attribute__((warn_unused_result))
#define FERRY_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FERRY_WUR
#define FERRY_PRINTF(a, b)
#endif

enum ferry_err {
    FERRY_OK = 0,
    FERRY_EINVAL,     /* malformed input: hex, RLP, ABI, JSON, config, arguments */
    FERRY_ERANGE,     /* a value or length outside what is allowed */
    FERRY_ENOMEM,     /* allocation failed or a size cap was hit */
    FERRY_EIO,        /* file or socket I/O failed */
    FERRY_ENOTFOUND,  /* the named thing does not exist */
    FERRY_EEXIST,     /* the named thing already exists */
    FERRY_ECRYPTO,    /* a cryptographic operation failed (bad key, bad signature) */
    FERRY_EAUTH,      /* wrong password or MAC mismatch */
    FERRY_EUNSUPPORTED, /* well-formed but not supported by Ferry */
    FERRY_ETIMEOUT,   /* an operation did not finish in time */
    FERRY_ERPC,       /* a remote endpoint answered with an error */
    FERRY_ESTATE,     /* the operation is not allowed in the current state */
    FERRY_EBUSY,      /* a limit of work in progress is reached: try again later */
    FERRY_ERR__COUNT
};

/* Static name of a code, e.g. "invalid input". Never NULL. */
const char *ferry_strerror(enum ferry_err e);

/* Sets the detail message for the current thread and returns `code` so that
 * callers can write: return ferry_fail(FERRY_EINVAL, "hex: odd length %zu", n); */
enum ferry_err ferry_fail(enum ferry_err code, const char *fmt, ...) FERRY_PRINTF(2, 3);

/* Prepends "prefix: " to the current detail message (adds context on the way up)
 * and returns `code` unchanged. */
enum ferry_err ferry_fail_ctx(enum ferry_err code, const char *fmt, ...) FERRY_PRINTF(2, 3);

/* The detail message of the last failure on this thread ("" if none). */
const char *ferry_errmsg(void);

/* Clears the detail message. */
void ferry_err_clear(void);

#endif
