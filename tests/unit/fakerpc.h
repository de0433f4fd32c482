/* A fake JSON-RPC node for unit tests: a libmicrohttpd daemon on 127.0.0.1 (port 0) with its
 * own polling thread, so that the client's loop runs in the test thread exactly as in the
 * daemon.
 *
 * Two ways to answer:
 *  - scripted: ex[0..nex) are exchanges used in order, each the request the client must send
 *    (method and params, compared as JSON; an array for a batch) and what to answer:
 *      "status" (200), "headers" {name: value; "$date+N" is an HTTP date N s from now},
 *      "delay_ms", and one of "reply" (JSON; "$id" in an "id" member stands for the request's
 *      id, "$idN" for the id of a batch's N-th call, "$id+K" for an id never sent),
 *      "body_text" (raw text, "$id" substituted), "oversize": N (a reply with an N-byte string
 *      result; "chunked": true hides its length), "nested": N (N '[' characters).
 *      "repeat": true keeps an exchange for every later request.
 *    Every exchange must be used, in order, and nothing else asked (fake_check_used).
 *  - programmable: fn is called for every request, with the request parsed, and returns an
 *    exchange-like object (the same answer members as above, without "request") that the
 *    server sends and frees. fn runs in the server's thread with f->mu held: the test takes
 *    f->mu to touch what fn reads.
 * The first thing the client does wrong is kept in err (no cmocka asserts in the server's
 * thread); the test fails on it after fake_stop. */
#ifndef FERRY_TEST_FAKERPC_H
#define FERRY_TEST_FAKERPC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define FAKE_MAX_EX 64
#define FAKE_MAX_SEEN 256

struct fake;
/* Programmable mode: the answer to `req` (a call object or a batch array), or NULL for a
 * 500 with a note in err. ids[0..nids) are the request's ids in call order. */
typedef cJSON *fake_fn(void *ud, struct fake *f, const cJSON *req, const uint64_t *ids, size_t nids);

struct fake {
    struct MHD_Daemon *d;
    unsigned port;
    char url[64];
    pthread_mutex_t mu;
    const cJSON *ex[FAKE_MAX_EX]; /* scripted exchanges, in order */
    size_t nex, pos;
    fake_fn *fn; /* programmable mode when set (ex is then unused) */
    void *fn_ud;
    int served;
    atomic_int connections;      /* TCP connections accepted */
    uint64_t ids[FAKE_MAX_SEEN]; /* the first id of every request seen, in order */
    size_t nids;
    char err[1024]; /* the first thing the client did wrong */
    atomic_bool stopping;
};

/* Starts a server (fails the test if it cannot); set ex/nex or fn before the client calls. */
void fake_start(struct fake *f);
/* Stops the server and joins its thread: everything it recorded can be read after. */
void fake_stop(struct fake *f);
/* Records the first problem (from the server's thread; also usable from fn). */
void fake_fail(struct fake *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Fails the test (after fake_stop) when the server recorded a problem or, in scripted mode,
 * when exchanges were left unused or request ids went backwards. `what` names the server. */
void fake_check(struct fake *f, const char *what);

/* A port nothing listens on: bound, then closed. */
unsigned fake_closed_port(void);

#endif
