/* The JSON-RPC client: endpoints, connections, retries, health. See rpc.h.
 *
 * A call's life: rpc_call builds the request body once (ids fixed at that moment, so they
 * increase per client) and dispatches it. dispatch() picks an endpoint and either starts an
 * HTTP attempt on one of its idle easy handles, queues the request until one frees up, or
 * arms the request's timer (backoff, Retry-After, or delivering a failure on the next turn:
 * a callback never runs inside rpc_call). When an attempt ends, on_done() classifies it,
 * updates the endpoint's health, and either delivers the replies or dispatches again. */
#include "evm/rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ferry/buf.h"
#include "ferry/hex.h"
#include "ferry/version.h"

#define MAX_METHODS 32
#define METHOD_NAME_MAX 64
/* Reply buffers bigger than this after a request are released rather than kept for reuse. */
#define KEEP_BUFFER_MAX (1u << 20)

struct rpc_endpoint;
struct req;

struct conn {
    struct rpc_endpoint *ep;
    CURL *easy;
    struct loop_xfer xfer;
    struct fbuf body;
    bool too_large;
    char errbuf[CURL_ERROR_SIZE];
    struct req *req;
    uint64_t started;
    struct conn *next; /* all connections of the endpoint */
    struct conn *next_idle;
};

struct method_stat {
    char name[METHOD_NAME_MAX + 1];
    uint64_t calls, errors;
};

struct rpc_endpoint {
    struct rpc_client *c;
    size_t index;
    char *url;
    char name[128];
    uint64_t requests, errors;
    uint32_t consecutive;
    double ewma_ms;
    bool has_latency;
    bool head_known;
    uint64_t head;
    uint64_t demoted_until;   /* ranked down until (after errors) */
    uint64_t blocked_until;   /* never used before (Retry-After) */
    unsigned inflight;
    struct conn *conns, *idle;
    struct req *wait_head, *wait_tail; /* requests waiting for a free connection */
    bool probing;
    struct method_stat methods[MAX_METHODS + 1]; /* the last one is "other" */
    size_t nmethods;
};

enum req_state {
    RQ_TIMER,   /* waiting on its timer: backoff, Retry-After, or delivery of a failure */
    RQ_QUEUED,  /* waiting for a connection of wait_ep (timer: the deadline) */
    RQ_FLIGHT,  /* an HTTP attempt is running on conn */
};

struct req {
    struct rpc_client *c;
    struct req *prev, *next; /* the client's pending calls */
    struct req *qnext;       /* wait queue of an endpoint */
    enum req_state state;
    struct loop_timer timer;
    struct rpc_endpoint *wait_ep, *next_ep;
    struct conn *conn;
    char *body;
    size_t body_len;
    size_t n;
    bool batch;
    uint64_t *ids;
    char **methods;
    struct rpc_reply *replies; /* n, allocated up front so that delivery cannot fail */
    bool *raw;                 /* n, or NULL: calls whose result goes over as text */
    struct fbuf reply_body;    /* the body those texts point into, kept until delivery */
    rpc_cb cb;
    void *ud;
    uint32_t timeout_ms, max_attempts;
    uint64_t deadline;
    bool logs_grade, pinned;
    size_t pin;
    uint32_t attempts;
    uint64_t tried; /* bit i: endpoint i was tried */
    bool waited;    /* the timer that just fired was a backoff: do not add another */
    bool failing;   /* the timer delivers `last` */
    /* the last failure, delivered if nothing better comes */
    enum rpc_errkind last_kind;
    long last_status;
    uint64_t last_retry_after;
    int last_ep;
    char last_msg[320];
};

struct rpc_client {
    struct loop *loop;
    struct rpc_config cfg;
    struct rpc_endpoint *eps;
    size_t n_eps;
    struct curl_slist *headers;
    struct req *reqs;
    size_t pending;
    uint64_t next_id;
    uint64_t rng;
    struct loop_timer probe_timer;
    int busy; /* callbacks running */
    bool dying;
};

static void dispatch(struct req *r);
static void client_destroy(struct rpc_client *c);

/* ---- small helpers ---- */

static uint64_t rng_next(struct rpc_client *c)
{
    uint64_t x = c->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 2685821657736338717ULL;
}

static uint64_t now_ms(const struct rpc_client *c) { return loop_now(c->loop); }

static void set_last(struct req *r, enum rpc_errkind k, long status, int ep, const char *fmt, ...) FERRY_PRINTF(5, 6);

static void set_last(struct req *r, enum rpc_errkind k, long status, int ep, const char *fmt, ...)
{
    r->last_kind = k;
    r->last_status = status;
    r->last_ep = ep;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->last_msg, sizeof r->last_msg, fmt, ap);
    va_end(ap);
}

static struct method_stat *method_stat(struct rpc_endpoint *ep, const char *method)
{
    for (size_t i = 0; i < ep->nmethods; i++)
        if (strcmp(ep->methods[i].name, method) == 0)
            return &ep->methods[i];
    if (ep->nmethods < MAX_METHODS) {
        struct method_stat *m = &ep->methods[ep->nmethods++];
        snprintf(m->name, sizeof m->name, "%s", method);
        return m;
    }
    struct method_stat *other = &ep->methods[MAX_METHODS];
    if (!other->name[0])
        snprintf(other->name, sizeof other->name, "other");
    return other;
}

static uint64_t best_head(const struct rpc_client *c, bool *any)
{
    uint64_t best = 0;
    *any = false;
    for (size_t i = 0; i < c->n_eps; i++) {
        const struct rpc_endpoint *ep = &c->eps[i];
        /* A failing endpoint's head (perhaps absurd) must not make every other one look behind. */
        if (ep->head_known && ep->consecutive < c->cfg.unhealthy_after) {
            if (!*any || ep->head > best)
                best = ep->head;
            *any = true;
        }
    }
    return best;
}

static uint64_t head_lag(const struct rpc_client *c, const struct rpc_endpoint *ep)
{
    bool any;
    uint64_t best = best_head(c, &any);
    if (!any || !ep->head_known || ep->head >= best)
        return 0;
    return best - ep->head;
}

static bool trusted_for_logs(const struct rpc_client *c, const struct rpc_endpoint *ep)
{
    bool any;
    uint64_t best = best_head(c, &any);
    if (!ep->head_known)
        return !any; /* nobody's head is known yet: nobody can be said to lag */
    return best - (ep->head < best ? ep->head : best) <= c->cfg.head_lag_max;
}

/* ---- connections ---- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct conn *k = ud;
    size_t n = size * nmemb;
    if (fbuf_add(&k->body, p, n)) {
        k->too_large = true;
        return 0; /* a short count makes curl abort the transfer */
    }
    return n;
}

static struct conn *conn_new(struct rpc_endpoint *ep)
{
    struct rpc_client *c = ep->c;
    struct conn *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->ep = ep;
    k->easy = curl_easy_init();
    if (!k->easy) {
        free(k);
        return NULL;
    }
    fbuf_init(&k->body, c->cfg.max_body);
    CURL *e = k->easy;
    curl_easy_setopt(e, CURLOPT_URL, ep->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->cfg.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* the cap counts decoded bytes */
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->cfg.max_body);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ferry/" FERRY_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    k->next = ep->conns;
    ep->conns = k;
    return k;
}

static void conn_release(struct conn *k)
{
    k->req = NULL;
    if (k->body.alloc > KEEP_BUFFER_MAX)
        fbuf_free(&k->body);
    else
        fbuf_reset(&k->body);
    k->next_idle = k->ep->idle;
    k->ep->idle = k;
}

/* ---- delivery ---- */

static void req_unlink(struct req *r)
{
    struct rpc_client *c = r->c;
    if (r->prev)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    c->pending--;
}

static void req_free(struct req *r)
{
    loop_timer_stop(&r->timer);
    if (r->methods)
        for (size_t i = 0; i < r->n; i++)
            free(r->methods[i]);
    free(r->methods);
    free(r->replies);
    free(r->raw);
    fbuf_free(&r->reply_body);
    free(r->ids);
    free(r->body);
    free(r);
}

static void deliver(struct req *r, struct rpc_reply *replies, cJSON *tree)
{
    struct rpc_client *c = r->c;
    req_unlink(r);
    loop_timer_stop(&r->timer);
    for (size_t i = 0; i < r->n; i++)
        replies[i].err.attempts = r->attempts;
    c->busy++;
    if (r->cb)
        r->cb(r->ud, replies, r->n);
    c->busy--;
    cJSON_Delete(tree);
    req_free(r);
    if (c->dying && c->busy == 0)
        client_destroy(c);
}

/* Delivers the same failure to every call of the request. */
static void deliver_failure(struct req *r)
{
    struct rpc_reply *replies = r->replies;
    for (size_t i = 0; i < r->n; i++) {
        struct rpc_reply *rep = &replies[i];
        memset(rep, 0, sizeof *rep);
        rep->err.kind = r->last_kind;
        rep->err.http_status = r->last_status;
        rep->err.message = r->last_msg;
        rep->err.retry_after_ms = r->last_kind == RPC_E_RATE_LIMITED ? r->last_retry_after : 0;
        rep->err.endpoint = r->last_ep;
    }
    deliver(r, replies, NULL);
}

/* Ends the request with its last failure, from the loop (next turn at the latest). */
static void fail_soon(struct req *r)
{
    r->state = RQ_TIMER;
    r->failing = true;
    loop_timer_start(&r->timer, 0, 0);
}

/* ---- endpoint choice ---- */

static bool eligible(const struct req *r, const struct rpc_endpoint *ep)
{
    if (r->pinned && ep->index != r->pin)
        return false;
    if (r->logs_grade && !trusted_for_logs(r->c, ep))
        return false;
    return true;
}

/* Whether a ranks before b: healthy first, then fewer consecutive errors, then less head
 * lag, then lower latency, then configuration order. */
static bool better(const struct rpc_client *c, const struct rpc_endpoint *a, const struct rpc_endpoint *b)
{
    uint64_t now = now_ms(c);
    bool ad = a->demoted_until > now, bd = b->demoted_until > now;
    if (ad != bd)
        return !ad;
    if (a->consecutive != b->consecutive)
        return a->consecutive < b->consecutive;
    uint64_t al = head_lag(c, a), bl = head_lag(c, b);
    if (al != bl)
        return al < bl;
    double am = a->has_latency ? a->ewma_ms : 0, bm = b->has_latency ? b->ewma_ms : 0;
    /* Latencies within a millisecond are a tie, so that order, not noise, decides. */
    if (am + 1.0 < bm || bm + 1.0 < am)
        return am < bm;
    return a->index < b->index;
}

static uint64_t backoff(struct req *r)
{
    const struct rpc_config *cfg = &r->c->cfg;
    uint32_t shift = r->attempts > 0 ? r->attempts - 1 : 0;
    uint64_t cap = shift >= 20 ? cfg->backoff_max_ms : (uint64_t)cfg->backoff_base_ms << shift;
    if (cap > cfg->backoff_max_ms)
        cap = cfg->backoff_max_ms;
    return cap ? rng_next(r->c) % (cap + 1) : 0; /* full jitter */
}

/* ---- attempts ---- */

static void on_done(struct loop_xfer *x, CURLcode rc, void *ud);

static void start(struct req *r, struct rpc_endpoint *ep)
{
    struct rpc_client *c = r->c;
    uint64_t now = now_ms(c);
    struct conn *k = ep->idle;
    if (k)
        ep->idle = k->next_idle;
    else
        k = conn_new(ep);
    r->attempts++;
    r->tried |= 1ull << ep->index;
    ep->requests++;
    for (size_t i = 0; i < r->n; i++)
        method_stat(ep, r->methods[i])->calls++;
    if (!k) {
        ep->errors++;
        set_last(r, RPC_E_CONNECT, 0, (int)ep->index, "%s: out of memory for a connection", ep->name);
        r->state = RQ_TIMER;
        r->waited = false;
        r->next_ep = NULL;
        loop_timer_start(&r->timer, 0, 0);
        return;
    }
    uint64_t left = r->deadline > now ? r->deadline - now : 1;
    uint64_t t = r->timeout_ms < left ? r->timeout_ms : left;
    k->req = r;
    k->too_large = false;
    k->errbuf[0] = 0;
    k->started = now;
    fbuf_reset(&k->body);
    curl_easy_setopt(k->easy, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(k->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(k->easy, CURLOPT_TIMEOUT_MS, (long)(t ? t : 1));
    if (loop_xfer_start(c->loop, &k->xfer, k->easy, on_done, k)) {
        ep->errors++;
        set_last(r, RPC_E_CONNECT, 0, (int)ep->index, "%s: %s", ep->name, ferry_errmsg());
        conn_release(k);
        r->state = RQ_TIMER;
        r->waited = false;
        r->next_ep = NULL;
        loop_timer_start(&r->timer, 0, 0);
        return;
    }
    ep->inflight++;
    r->conn = k;
    r->state = RQ_FLIGHT;
}

static void enqueue(struct req *r, struct rpc_endpoint *ep)
{
    r->qnext = NULL;
    if (ep->wait_tail)
        ep->wait_tail->qnext = r;
    else
        ep->wait_head = r;
    ep->wait_tail = r;
    r->wait_ep = ep;
    r->state = RQ_QUEUED;
    uint64_t now = now_ms(r->c);
    loop_timer_start(&r->timer, r->deadline > now ? r->deadline - now : 0, 0);
}

static void dequeue(struct req *r)
{
    struct rpc_endpoint *ep = r->wait_ep;
    struct req **pp = &ep->wait_head, *prev = NULL;
    while (*pp && *pp != r) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (*pp) {
        *pp = r->qnext;
        if (ep->wait_tail == r)
            ep->wait_tail = prev;
    }
    r->qnext = NULL;
    r->wait_ep = NULL;
}

/* Starts the next waiting request of ep, if it has a free slot. */
static void kick(struct rpc_endpoint *ep)
{
    while (ep->wait_head && ep->inflight < ep->c->cfg.max_inflight) {
        struct req *r = ep->wait_head;
        dequeue(r);
        loop_timer_stop(&r->timer);
        start(r, ep);
    }
}

static void go(struct req *r, struct rpc_endpoint *ep)
{
    r->waited = false;
    if (ep->inflight < r->c->cfg.max_inflight)
        start(r, ep);
    else
        enqueue(r, ep);
}

static void dispatch(struct req *r)
{
    struct rpc_client *c = r->c;
    uint64_t now = now_ms(c);
    if (r->attempts >= r->max_attempts || (r->attempts > 0 && now >= r->deadline)) {
        fail_soon(r);
        return;
    }
    /* Ready now and not tried yet by this call: go at once (failover). */
    struct rpc_endpoint *best = NULL;
    bool any = false;
    for (size_t i = 0; i < c->n_eps; i++) {
        struct rpc_endpoint *ep = &c->eps[i];
        if (!eligible(r, ep))
            continue;
        any = true;
        if ((r->tried >> i) & 1 || ep->blocked_until > now)
            continue;
        if (!best || better(c, ep, best))
            best = ep;
    }
    if (!any) {
        if (r->pinned && r->pin >= c->n_eps)
            set_last(r, RPC_E_NO_ENDPOINT, 0, -1, "no endpoint %zu", r->pin);
        else if (r->logs_grade)
            set_last(r, RPC_E_NO_ENDPOINT, 0, -1,
                     "no endpoint is trusted for logs (each lags the best head by more than %u blocks)",
                     c->cfg.head_lag_max);
        else
            set_last(r, RPC_E_NO_ENDPOINT, 0, -1, "no endpoint may take this call");
        fail_soon(r);
        return;
    }
    if (best) {
        go(r, best);
        return;
    }
    /* Every candidate was tried or is blocked by Retry-After: the one usable soonest, after a
     * backoff if it was tried (the backoff is drawn once per retry, not per candidate). */
    uint64_t wait = r->waited ? 0 : backoff(r);
    uint64_t best_at = UINT64_MAX;
    for (size_t i = 0; i < c->n_eps; i++) {
        struct rpc_endpoint *ep = &c->eps[i];
        if (!eligible(r, ep))
            continue;
        uint64_t at = now + (((r->tried >> i) & 1) ? wait : 0);
        if (ep->blocked_until > at)
            at = ep->blocked_until;
        if (at < best_at || (at == best_at && better(c, ep, best))) {
            best_at = at;
            best = ep;
        }
    }
    if (best_at > r->deadline) {
        if (r->last_kind == RPC_OK)
            set_last(r, RPC_E_TIMEOUT, 0, -1, "deadline passed before an endpoint was free");
        fail_soon(r);
        return;
    }
    if (best_at <= now) {
        go(r, best);
        return;
    }
    r->state = RQ_TIMER;
    r->next_ep = best;
    r->waited = true;
    loop_timer_start(&r->timer, best_at - now, 0);
}

static void on_timer(struct loop_timer *t, void *ud)
{
    struct req *r = ud;
    if (r->state == RQ_QUEUED) {
        dequeue(r);
        set_last(r, RPC_E_TIMEOUT, r->last_status, r->last_ep, "deadline passed while waiting for a free connection");
        deliver_failure(r);
        return;
    }
    if (r->failing) {
        deliver_failure(r);
        return;
    }
    struct rpc_endpoint *ep = r->next_ep;
    r->next_ep = NULL;
    uint64_t now = now_ms(r->c);
    if (ep && eligible(r, ep) && ep->blocked_until <= now && now < r->deadline) {
        go(r, ep);
        return;
    }
    dispatch(r); /* r->waited still says the backoff was served */
}

/* ---- completion ---- */

static void demote(struct rpc_endpoint *ep)
{
    const struct rpc_config *cfg = &ep->c->cfg;
    ep->errors++;
    ep->consecutive++;
    uint32_t shift = ep->consecutive - 1;
    uint64_t d = shift >= 20 ? cfg->demote_max_ms : (uint64_t)cfg->demote_base_ms << shift;
    if (d > cfg->demote_max_ms)
        d = cfg->demote_max_ms;
    ep->demoted_until = now_ms(ep->c) + d;
}

static void observe_latency(struct rpc_endpoint *ep, uint64_t ms)
{
    if (!ep->has_latency) {
        ep->ewma_ms = (double)ms;
        ep->has_latency = true;
    } else {
        ep->ewma_ms += 0.2 * ((double)ms - ep->ewma_ms);
    }
}

static void observe_heads(struct rpc_endpoint *ep, struct req *r, struct rpc_reply *replies)
{
    for (size_t i = 0; i < r->n; i++) {
        uint64_t h;
        if (replies[i].err.kind == RPC_OK && strcmp(r->methods[i], "eth_blockNumber") == 0 &&
            cJSON_IsString(replies[i].result) && hex_quantity_u64(&h, replies[i].result->valuestring) == FERRY_OK) {
            ep->head = h;
            ep->head_known = true;
        }
    }
}

/* Reads Retry-After (seconds or an HTTP date; curl turns both into seconds), caps it, and
 * keeps the endpoint from being used until then. Returns the wait in ms (0: none given). */
static uint64_t retry_after(struct conn *k, struct rpc_endpoint *ep, uint64_t now)
{
    curl_off_t ra = 0;
    if (curl_easy_getinfo(k->easy, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK || ra <= 0)
        return 0;
    uint64_t ms = (uint64_t)ra * 1000u;
    if (ms > ep->c->cfg.retry_after_max_ms)
        ms = ep->c->cfg.retry_after_max_ms;
    ep->blocked_until = now + ms;
    return ms;
}

static enum rpc_errkind curl_kind(struct conn *k, CURLcode rc)
{
    if (k->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        return RPC_E_BODY_TOO_LARGE;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return RPC_E_TIMEOUT;
    return RPC_E_CONNECT;
}

static void on_done(struct loop_xfer *x, CURLcode rc, void *ud)
{
    struct conn *k = ud;
    struct rpc_endpoint *ep = k->ep;
    struct rpc_client *c = ep->c;
    struct req *r = k->req;
    uint64_t now = now_ms(c);
    uint64_t elapsed = now - k->started;
    ep->inflight--;
    r->conn = NULL;
    int epi = (int)ep->index;

    long status = 0;
    curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &status);
    enum rpc_errkind kind = RPC_OK;
    struct rpc_reply *replies = r->replies;
    cJSON *tree = NULL;
    char why[160];

    if (rc != CURLE_OK) {
        kind = curl_kind(k, rc);
        const char *detail = k->errbuf[0] ? k->errbuf : curl_easy_strerror(rc);
        if (kind == RPC_E_BODY_TOO_LARGE) {
            set_last(r, kind, status, epi, "%s: reply passed the cap of %zu bytes", ep->name, c->cfg.max_body);
        } else {
            set_last(r, kind, status, epi, "%s: %s", ep->name, detail);
        }
    } else if (status == 429) {
        kind = RPC_E_RATE_LIMITED;
        set_last(r, kind, status, epi, "%s: HTTP 429 Too Many Requests", ep->name);
        r->last_retry_after = retry_after(k, ep, now);
    } else {
        kind = rpc_parse_reply_raw((const char *)k->body.data, k->body.len, r->batch, r->ids,
                                   (const char *const *)r->methods, r->raw, r->n, &tree, replies, why, sizeof why);
        bool node_errors_only = false;
        if (kind == RPC_OK) {
            node_errors_only = true;
            for (size_t i = 0; i < r->n; i++)
                if (replies[i].err.kind == RPC_OK)
                    node_errors_only = false;
        }
        if (status != 200 && (status >= 500 || !node_errors_only)) {
            /* Only a JSON-RPC error explains a 4xx; a 5xx is the server's trouble. */
            set_last(r, RPC_E_HTTP_STATUS, status, epi, "%s: HTTP status %ld", ep->name, status);
            kind = RPC_E_HTTP_STATUS;
            if (status == 503) /* may come with Retry-After too (RFC 9110) */
                retry_after(k, ep, now);
        } else if (kind != RPC_OK) {
            set_last(r, kind, status, epi, "%s: %s", ep->name, why);
        } else {
            for (size_t i = 0; i < r->n; i++)
                if (replies[i].err.kind == RPC_E_RATE_LIMITED) {
                    kind = RPC_E_RATE_LIMITED;
                    set_last(r, kind, status, epi, "%s: %s", ep->name, replies[i].err.message);
                    r->last_retry_after = 0;
                    break;
                }
        }
        if (kind != RPC_OK) {
            cJSON_Delete(tree);
            tree = NULL;
        }
    }

    /* health and metrics */
    if (kind == RPC_OK) {
        ep->consecutive = 0;
        ep->demoted_until = 0;
        observe_latency(ep, elapsed);
        observe_heads(ep, r, replies);
        for (size_t i = 0; i < r->n; i++)
            if (replies[i].err.kind != RPC_OK)
                method_stat(ep, r->methods[i])->errors++;
    } else {
        for (size_t i = 0; i < r->n; i++)
            method_stat(ep, r->methods[i])->errors++;
        if (kind == RPC_E_BODY_TOO_LARGE) {
            ep->errors++; /* the query's size, not the endpoint's health */
        } else {
            if (kind != RPC_E_TIMEOUT && kind != RPC_E_CONNECT)
                observe_latency(ep, elapsed);
            demote(ep);
        }
    }
    if (kind == RPC_OK && r->raw) {
        /* the raw results point into the body: it goes with the request, the connection
         * starts a fresh one */
        fbuf_free(&r->reply_body);
        r->reply_body = k->body;
        fbuf_init(&k->body, c->cfg.max_body);
    }
    conn_release(k);
    kick(ep);

    if (kind == RPC_OK) {
        for (size_t i = 0; i < r->n; i++) {
            replies[i].err.endpoint = epi;
            replies[i].err.http_status = status;
        }
        deliver(r, replies, tree);
    } else if (rpc_errkind_retryable(kind)) {
        r->waited = false;
        dispatch(r);
    } else {
        deliver_failure(r);
    }
}

/* ---- calls ---- */

static bool method_ok(const char *m)
{
    size_t n = 0;
    for (; m && m[n]; n++) {
        char ch = m[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return false;
    }
    return n > 0 && n <= METHOD_NAME_MAX;
}

static enum ferry_err check_params(const char *params, size_t i)
{
    if (!params)
        return FERRY_OK;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(params, &end, true);
    bool ok = j && (cJSON_IsArray(j) || cJSON_IsObject(j));
    cJSON_Delete(j);
    if (!ok)
        return ferry_fail(FERRY_EINVAL, "rpc: params of call %zu are not a JSON array or object", i);
    return FERRY_OK;
}

static enum ferry_err submit(struct rpc_client *c, const struct rpc_call_spec *calls, size_t n, bool batch,
                             const struct rpc_opts *opts, rpc_cb cb, void *ud)
{
    if (c->dying)
        return ferry_fail(FERRY_ESTATE, "rpc: the client is being freed");
    if (n == 0 || n > c->cfg.max_batch)
        return ferry_fail(FERRY_ERANGE, "rpc: a batch holds 1 to %zu calls, not %zu", c->cfg.max_batch, n);
    if (opts && opts->pinned && opts->endpoint >= c->n_eps)
        return ferry_fail(FERRY_ERANGE, "rpc: no endpoint %u (the chain has %zu)", opts->endpoint, c->n_eps);
    enum ferry_err e;
    for (size_t i = 0; i < n; i++) {
        if (!method_ok(calls[i].method))
            return ferry_fail(FERRY_EINVAL, "rpc: call %zu: method must be 1..%d letters, digits or '_'", i,
                              METHOD_NAME_MAX);
        if ((e = check_params(calls[i].params_json, i)))
            return e;
    }
    struct req *r = calloc(1, sizeof *r);
    if (!r)
        return ferry_fail(FERRY_ENOMEM, "rpc: out of memory");
    r->c = c;
    r->n = n;
    r->batch = batch;
    r->cb = cb;
    r->ud = ud;
    r->last_ep = -1;
    r->ids = calloc(n, sizeof *r->ids);
    r->methods = calloc(n, sizeof *r->methods);
    r->replies = calloc(n, sizeof *r->replies);
    if (opts && opts->raw_results) {
        r->raw = calloc(n, sizeof *r->raw);
        for (size_t i = 0; r->raw && i < n && i < 64; i++)
            r->raw[i] = (opts->raw_results >> i) & 1;
    }
    struct fbuf b;
    fbuf_init(&b, (size_t)1 << 30);
    e = (r->ids && r->methods && r->replies && (r->raw || !(opts && opts->raw_results))) ? FERRY_OK : FERRY_ENOMEM;
    if (!e && batch)
        e = fbuf_addbyte(&b, '[');
    for (size_t i = 0; i < n && !e; i++) {
        r->ids[i] = ++c->next_id;
        r->methods[i] = strdup(calls[i].method);
        if (!r->methods[i]) {
            e = FERRY_ENOMEM;
            break;
        }
        e = fbuf_printf(&b, "%s{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"%s\",\"params\":%s}", i ? "," : "",
                        (unsigned long long)r->ids[i], calls[i].method,
                        calls[i].params_json ? calls[i].params_json : "[]");
    }
    if (!e && batch)
        e = fbuf_addbyte(&b, ']');
    if (e) {
        fbuf_free(&b);
        req_free(r);
        return ferry_fail(FERRY_ENOMEM, "rpc: out of memory building a request");
    }
    r->body = (char *)fbuf_take(&b, &r->body_len);
    const struct rpc_config *cfg = &c->cfg;
    r->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : cfg->timeout_ms;
    r->max_attempts = opts && opts->max_attempts ? opts->max_attempts : cfg->max_attempts;
    /* The clock is read afresh: a call made outside a turn (at start-up, after slow work)
     * must not inherit a stale "now" and a deadline already half spent. */
    r->deadline = loop_update_now(c->loop) + (opts && opts->deadline_ms ? opts->deadline_ms : cfg->deadline_ms);
    r->logs_grade = opts && opts->logs_grade;
    r->pinned = opts && opts->pinned;
    r->pin = opts ? opts->endpoint : 0;
    loop_timer_init(c->loop, &r->timer, on_timer, r);
    r->next = c->reqs;
    if (c->reqs)
        c->reqs->prev = r;
    c->reqs = r;
    c->pending++;
    r->state = RQ_TIMER;
    dispatch(r);
    return FERRY_OK;
}

enum ferry_err rpc_call(struct rpc_client *c, const char *method, const char *params_json, const struct rpc_opts *opts,
                        rpc_cb cb, void *ud)
{
    struct rpc_call_spec one = {method, params_json};
    return submit(c, &one, 1, false, opts, cb, ud);
}

enum ferry_err rpc_batch(struct rpc_client *c, const struct rpc_call_spec *calls, size_t n, const struct rpc_opts *opts,
                         rpc_cb cb, void *ud)
{
    return submit(c, calls, n, true, opts, cb, ud);
}

size_t rpc_pending(const struct rpc_client *c) { return c->pending; }

/* ---- head probes ---- */

static void on_probe(void *ud, struct rpc_reply *replies, size_t n)
{
    struct rpc_endpoint *ep = ud;
    ep->probing = false; /* the head itself was recorded on the way (observe_heads) */
}

void rpc_probe_heads(struct rpc_client *c)
{
    for (size_t i = 0; i < c->n_eps; i++) {
        struct rpc_endpoint *ep = &c->eps[i];
        if (ep->probing)
            continue;
        struct rpc_opts o = {.pinned = true, .endpoint = (unsigned)i, .max_attempts = 1};
        if (rpc_call(c, "eth_blockNumber", "[]", &o, on_probe, ep) == FERRY_OK)
            ep->probing = true;
    }
}

static void on_probe_timer(struct loop_timer *t, void *ud) { rpc_probe_heads(ud); }

/* ---- lifetime ---- */

static void endpoint_name(char *out, size_t cap, const char *url)
{
    /* scheme://host[:port] only: paths and queries often carry API keys. */
    const char *p = strstr(url, "://");
    const char *host = p ? p + 3 : url;
    const char *at = NULL;
    for (const char *q = host; *q && *q != '/' && *q != '?' && *q != '#'; q++)
        if (*q == '@')
            at = q;
    if (at)
        host = at + 1;
    size_t hl = strcspn(host, "/?#");
    int sl = p ? (int)(p - url) : 0;
    snprintf(out, cap, "%.*s%s%.*s", sl, url, p ? "://" : "", (int)hl, host);
}

enum ferry_err rpc_client_new(struct loop *loop, const struct rpc_config *cfg, struct rpc_client **out)
{
    *out = NULL;
    if (!cfg || cfg->n_endpoints == 0 || cfg->n_endpoints > RPC_MAX_ENDPOINTS)
        return ferry_fail(FERRY_EINVAL, "rpc: a chain needs 1 to %d endpoints, got %zu", RPC_MAX_ENDPOINTS,
                          cfg ? cfg->n_endpoints : 0);
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        const char *u = cfg->endpoints[i].url;
        if (!u || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0))
            return ferry_fail(FERRY_EINVAL, "rpc: endpoint %zu: expected an http:// or https:// URL", i);
    }
    struct rpc_client *c = calloc(1, sizeof *c);
    if (!c)
        return ferry_fail(FERRY_ENOMEM, "rpc: out of memory");
    c->loop = loop;
    c->cfg = *cfg;
    struct rpc_config *k = &c->cfg;
#define DEF(f, v) \
    if (!k->f)    \
    k->f = (v)
    DEF(timeout_ms, 10000);
    DEF(connect_timeout_ms, 3000);
    DEF(deadline_ms, 30000);
    DEF(max_attempts, 4);
    DEF(backoff_base_ms, 200);
    DEF(backoff_max_ms, 5000);
    DEF(retry_after_max_ms, 60000);
    DEF(demote_base_ms, 1000);
    DEF(demote_max_ms, 60000);
    DEF(unhealthy_after, 3);
    DEF(max_inflight, 4);
    DEF(head_lag_max, 3);
    DEF(max_body, (size_t)32 << 20);
    DEF(max_batch, 1000);
#undef DEF
    k->endpoints = NULL;
    c->rng = cfg->seed;
    while (!c->rng)
        randombytes_buf(&c->rng, sizeof c->rng);
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h = c->headers ? curl_slist_append(c->headers, "Accept: application/json") : NULL;
    h = h ? curl_slist_append(h, "Expect:") : NULL; /* no 100-continue round trip on big bodies */
    c->eps = calloc(cfg->n_endpoints, sizeof *c->eps);
    if (!h || !c->eps) {
        client_destroy(c);
        return ferry_fail(FERRY_ENOMEM, "rpc: out of memory");
    }
    c->n_eps = cfg->n_endpoints;
    for (size_t i = 0; i < c->n_eps; i++) {
        struct rpc_endpoint *ep = &c->eps[i];
        ep->c = c;
        ep->index = i;
        ep->url = strdup(cfg->endpoints[i].url);
        if (!ep->url) {
            client_destroy(c);
            return ferry_fail(FERRY_ENOMEM, "rpc: out of memory");
        }
        if (cfg->endpoints[i].name)
            snprintf(ep->name, sizeof ep->name, "%s", cfg->endpoints[i].name);
        else
            endpoint_name(ep->name, sizeof ep->name, ep->url);
    }
    loop_timer_init(loop, &c->probe_timer, on_probe_timer, c);
    if (k->head_probe_ms)
        loop_timer_start(&c->probe_timer, 0, k->head_probe_ms);
    *out = c;
    return FERRY_OK;
}

static void client_destroy(struct rpc_client *c)
{
    loop_timer_stop(&c->probe_timer);
    for (size_t i = 0; c->eps && i < c->n_eps; i++) {
        struct rpc_endpoint *ep = &c->eps[i];
        struct conn *k = ep->conns;
        while (k) {
            struct conn *next = k->next;
            loop_xfer_cancel(&k->xfer);
            curl_easy_cleanup(k->easy);
            fbuf_free(&k->body);
            free(k);
            k = next;
        }
        free(ep->url);
    }
    free(c->eps);
    curl_slist_free_all(c->headers);
    free(c);
}

void rpc_client_free(struct rpc_client *c)
{
    if (!c || c->dying)
        return;
    c->dying = true;
    loop_timer_stop(&c->probe_timer);
    c->busy++; /* the cancellations below must not free the client under our feet */
    while (c->reqs) {
        struct req *r = c->reqs;
        if (r->state == RQ_FLIGHT && r->conn) {
            struct conn *k = r->conn;
            loop_xfer_cancel(&k->xfer);
            k->ep->inflight--;
            r->conn = NULL;
            conn_release(k);
        } else if (r->state == RQ_QUEUED) {
            dequeue(r);
        }
        set_last(r, RPC_E_CANCELLED, 0, r->last_ep, "the client was freed before the call ended");
        deliver_failure(r);
    }
    c->busy--;
    if (c->busy == 0)
        client_destroy(c);
}

/* ---- status ---- */

size_t rpc_endpoint_count(const struct rpc_client *c) { return c->n_eps; }

void rpc_endpoint_fault(struct rpc_client *c, int i)
{
    if (i >= 0 && (size_t)i < c->n_eps)
        demote(&c->eps[i]);
}

bool rpc_endpoint_trusted_for_logs(const struct rpc_client *c, size_t i)
{
    return i < c->n_eps && trusted_for_logs(c, &c->eps[i]);
}

enum ferry_err rpc_endpoint_status(const struct rpc_client *c, size_t i, struct rpc_endpoint_status *out)
{
    memset(out, 0, sizeof *out);
    if (i >= c->n_eps)
        return ferry_fail(FERRY_ERANGE, "rpc: no endpoint %zu (the chain has %zu)", i, c->n_eps);
    const struct rpc_endpoint *ep = &c->eps[i];
    uint64_t now = now_ms(c);
    out->name = ep->name;
    out->healthy = ep->consecutive < c->cfg.unhealthy_after;
    out->trusted_for_logs = trusted_for_logs(c, ep);
    out->requests = ep->requests;
    out->errors = ep->errors;
    out->consecutive_errors = ep->consecutive;
    out->latency_ms = ep->has_latency ? ep->ewma_ms : 0;
    out->head_known = ep->head_known;
    out->head = ep->head;
    out->head_lag = head_lag(c, ep);
    out->demoted_ms = ep->demoted_until > now ? ep->demoted_until - now : 0;
    out->retry_after_ms = ep->blocked_until > now ? ep->blocked_until - now : 0;
    out->inflight = ep->inflight;
    return FERRY_OK;
}

size_t rpc_endpoint_methods(const struct rpc_client *c, size_t i, struct rpc_method_stats *out, size_t max)
{
    if (i >= c->n_eps)
        return 0;
    const struct rpc_endpoint *ep = &c->eps[i];
    size_t n = 0;
    for (size_t j = 0; j <= MAX_METHODS; j++) {
        const struct method_stat *m = &ep->methods[j];
        if ((j < ep->nmethods || j == MAX_METHODS) && m->name[0]) {
            if (n < max)
                out[n] = (struct rpc_method_stats){m->name, m->calls, m->errors};
            n++;
        }
    }
    return n;
}
