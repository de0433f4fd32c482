/* An HTTP client for tests of the API: libcurl transfers on the same loop as the API under test,
 * the loop turned (and the store flushed at the end of each turn, as the daemon does) until the
 * reply is in. */
#ifndef FERRY_TEST_HTTPTEST_H
#define FERRY_TEST_HTTPTEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "ferry/loop.h"
#include "ferry/store.h"

struct ht_reply {
    long status;
    char body[256 * 1024]; /* NUL-terminated; a longer body fails the transfer */
    size_t len;
    char content_type[128];
    CURLcode rc;
    int done;
};

/* CURLOPT_WRITEFUNCTION appending to the struct ht_reply given as CURLOPT_WRITEDATA. */
size_t ht_on_body(char *p, size_t size, size_t n, void *ud);
/* loop_xfer_start's completion callback; ud: the struct ht_reply. */
void ht_on_done(struct loop_xfer *x, CURLcode rc, void *ud);

enum {
    HT_CHUNKED = 1,   /* the body without Content-Length */
    HT_NO_EXPECT = 2, /* no "Expect: 100-continue" before the body */
};

/* Makes a request to base+path and turns the loop until it completes (10 s at most).
 * auth: the whole Authorization value (NULL: none); body NULL: none. The reply is static: valid
 * until the next call. */
struct ht_reply *ht_request(struct loop *loop, struct store *store, const char *base, const char *method,
                            const char *path, const char *auth, const char *body, size_t body_len, unsigned flags);

/* The reply's body as JSON (asserts the transfer worked, the content type and that it parses). */
cJSON *ht_json(const struct ht_reply *r);

/* Asserts the status and that the JSON error says `needle`; field: the expected "field" (NULL:
 * none may be present). */
void ht_assert_error(const struct ht_reply *r, long status, const char *needle, const char *field);

#endif
