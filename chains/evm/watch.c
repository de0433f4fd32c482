/* The log watcher of one EVM chain (see watch.h for the protocol it follows). */
#include "evm/watch.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/buf.h"
#include "ferry/crash.h"
#include "ferry/hex.h"

#define CURSOR_VERSION 1
#define CURSOR_HEAD 54 /* version, flags, next, hash, reorg_from, count */
#define CURSOR_ENTRY 40
#define WINDOW_MAX 1000 /* one batch of headers when walking back */

enum wstate {
    W_IDLE,    /* waiting for the next tick */
    W_HEAD,    /* asking for the head */
    W_SCAN,    /* asking for the cursor block, the logs and the range's last block */
    W_HEADERS, /* asking for the headers of the blocks that hold logs */
    W_HANDED,  /* events handed over, waiting for events_done(token) */
    W_WALK,    /* a hash changed: asking for every remembered height */
    W_PAUSED,  /* stopped by a deep reorg until resumed */
};

/* The ud of one rpc call or store write: the watcher forgets it when freed, and the
 * callback then only frees the ticket. */
struct ticket {
    struct evm_watch *w;
    struct ticket *next; /* store tickets: the watcher's list */
};

struct hdr {
    uint64_t number, timestamp;
    uint8_t hash[32], parent[32];
};

/* A block that holds logs of the current range. */
struct blk {
    uint64_t height;
    uint8_t hash[32];
    uint64_t ts;
    bool have_ts;
};

struct evm_watch {
    struct loop *loop;
    struct rpc_client *rpc;
    struct store *store;
    struct evm_watch_config cfg;
    struct evm_watch_hooks hooks;
    struct evm_decoder *dec;
    char *filter; /* ,"address":[...],"topics":[[...]]} : the end of every eth_getLogs filter */
    struct loop_timer timer;
    struct loop_defer kick;
    enum wstate state;
    bool running;
    bool report_pause; /* started while paused: say so again on the next turn */
    struct ticket *call;    /* the rpc call under way */
    struct ticket *writes;  /* store writes under way */

    /* the cursor */
    uint64_t next;
    bool have_hash;
    uint8_t hash[32];
    bool paused;
    uint64_t reorg_from;
    struct evm_cursor_entry *win; /* ascending heights, all < next */
    size_t nwin;

    /* the head */
    bool have_head;
    uint64_t head, head_ts, safe;
    uint8_t head_hash[32];
    struct chain_head reported;
    /* The head at which the last scan had nothing to do: while the head query returns this same
     * block and the cursor has not moved, the chain up to it is the one already checked (a block's
     * hash commits to its ancestors), so the poll skips the scan and its cursor-block check. */
    bool quiet;
    uint64_t quiet_head, quiet_next;
    uint8_t quiet_hash[32];

    /* range control */
    uint32_t range, ceiling, streak;

    /* the range being scanned: [from, to] */
    uint64_t from, to;
    struct hdr to_hdr;
    bool have_safe_ts;
    uint64_t safe_ts;
    int ia, ib, ic, id; /* positions of the cursor header, logs, `to` header, safe header in the batch */
    struct evm_logs logs;
    uint8_t *src; /* the source of each log (EVM_SRC__COUNT: removed, skipped) */
    struct blk *blks;
    size_t nblks, hpos, hcount; /* headers: the next block to ask for, and how many are in flight */
    int scan_endpoint;
    struct chain_event *ev;
    size_t nev;
    struct evm_app_event *app;
    size_t napp;
    uint64_t token, next_token;
    bool in_hook, done_in_hook; /* inside on_events; events_done came meanwhile */
    /* walking back */
    int mismatch_endpoint;

    struct evm_watch_stats st;
};

static void step_head(struct evm_watch *w);
static void step_scan(struct evm_watch *w);
static void step_headers(struct evm_watch *w);
static void step_walk(struct evm_watch *w, int endpoint);

/* ---- small helpers ---- */

static void vwlog(struct evm_watch *w, enum evm_watch_level level, const char *fmt, va_list ap) FERRY_PRINTF(3, 0);
static void wlog(struct evm_watch *w, enum evm_watch_level level, const char *fmt, ...) FERRY_PRINTF(3, 4);

static void vwlog(struct evm_watch *w, enum evm_watch_level level, const char *fmt, va_list ap)
{
    if (!w->hooks.log)
        return;
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt, ap);
    w->hooks.log(w->hooks.ud, level, msg);
}

static void wlog(struct evm_watch *w, enum evm_watch_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwlog(w, level, fmt, ap);
    va_end(ap);
}

static void hex32(char out[67], const uint8_t h[32]) { hex_encode(out, h, 32, true); }

static struct ticket *ticket_new(struct evm_watch *w)
{
    struct ticket *t = calloc(1, sizeof *t);
    if (t)
        t->w = w;
    return t;
}

/* Drops what the current range collected. */
static void scan_clear(struct evm_watch *w)
{
    evm_logs_free(&w->logs);
    free(w->src);
    free(w->blks);
    free(w->ev);
    free(w->app);
    w->src = NULL;
    w->blks = NULL;
    w->ev = NULL;
    w->app = NULL;
    w->nblks = w->hpos = w->hcount = 0;
    w->nev = w->napp = 0;
}

static void go_idle(struct evm_watch *w)
{
    scan_clear(w);
    w->state = W_IDLE;
}

static void kick_soon(struct evm_watch *w)
{
    if (w->running)
        loop_defer(&w->kick);
}

/* ---- the cursor in the store ---- */

static void cursor_key(struct store_key *k, uint64_t chain_id) { store_key_kind_u64(k, STORE_KIND_CURSOR, chain_id); }

static void on_written(void *arg, enum ferry_err result)
{
    struct ticket *t = arg;
    struct evm_watch *w = t->w;
    if (w) {
        for (struct ticket **p = &w->writes; *p; p = &(*p)->next)
            if (*p == t) {
                *p = t->next;
                break;
            }
        if (result) {
            w->st.store_errors++;
            wlog(w, EVM_WATCH_ERROR, "cursor write failed (%s); the store refuses writes now: watching stops, restart ferry",
                 ferry_errmsg());
            w->running = false;
            loop_timer_stop(&w->timer);
            loop_defer_cancel(&w->kick);
        } else {
            w->st.cursor_writes++;
        }
    }
    free(t);
}

/* Queues the cursor (group commit: durable at the end of the turn). */
static void persist(struct evm_watch *w)
{
    size_t len = CURSOR_HEAD + w->nwin * CURSOR_ENTRY;
    uint8_t *v = malloc(len);
    struct ticket *t = ticket_new(w);
    struct store_batch *b = NULL;
    enum ferry_err e = (!v || !t) ? ferry_fail(FERRY_ENOMEM, "no memory for a cursor") : store_batch_begin(w->store, &b);
    if (!e) {
        v[0] = CURSOR_VERSION;
        v[1] = (uint8_t)((w->have_hash ? 1 : 0) | (w->paused ? 2 : 0));
        store_be64_put(v + 2, w->next);
        if (w->have_hash)
            memcpy(v + 10, w->hash, 32);
        else
            memset(v + 10, 0, 32);
        store_be64_put(v + 42, w->reorg_from);
        store_be32_put(v + 50, (uint32_t)w->nwin);
        for (size_t i = 0; i < w->nwin; i++) {
            store_be64_put(v + CURSOR_HEAD + i * CURSOR_ENTRY, w->win[i].height);
            memcpy(v + CURSOR_HEAD + i * CURSOR_ENTRY + 8, w->win[i].hash, 32);
        }
        struct store_key k;
        cursor_key(&k, w->cfg.chain_id);
        store_put(b, k.b, k.len, v, len);
        e = store_commit_group(b, on_written, t);
        if (!e) {
            t->next = w->writes;
            w->writes = t;
            t = NULL;
        }
    }
    free(v);
    free(t);
    if (e) {
        w->st.store_errors++;
        wlog(w, EVM_WATCH_ERROR, "cannot queue the cursor write: %s; watching stops, restart ferry", ferry_errmsg());
        w->running = false;
        loop_timer_stop(&w->timer);
        loop_defer_cancel(&w->kick);
    }
}

void evm_cursor_clear(struct evm_cursor *c)
{
    free(c->entries);
    memset(c, 0, sizeof *c);
}

enum ferry_err evm_cursor_load(struct store *st, uint64_t chain_id, struct evm_cursor *out)
{
    memset(out, 0, sizeof *out);
    struct store_key k;
    cursor_key(&k, chain_id);
    uint8_t *v;
    size_t len;
    enum ferry_err e = store_get(st, &v, &len, k.b, k.len);
    if (e)
        return e;
    e = ferry_fail(FERRY_EINVAL, "store: the cursor of chain %" PRIu64 " is not one this ferry writes (%zu bytes)",
                   chain_id, len);
    if (len < CURSOR_HEAD || v[0] != CURSOR_VERSION || (v[1] & ~3u))
        goto out;
    size_t n = store_be32_get(v + 50);
    if (n > WINDOW_MAX || len != CURSOR_HEAD + n * CURSOR_ENTRY)
        goto out;
    out->have_hash = v[1] & 1;
    out->paused = (v[1] & 2) != 0;
    out->next = store_be64_get(v + 2);
    memcpy(out->hash, v + 10, 32);
    out->reorg_from = store_be64_get(v + 42);
    out->entries = calloc(n ? n : 1, sizeof *out->entries);
    if (!out->entries) {
        e = ferry_fail(FERRY_ENOMEM, "no memory for a cursor");
        goto out;
    }
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        out->entries[i].height = store_be64_get(v + CURSOR_HEAD + i * CURSOR_ENTRY);
        memcpy(out->entries[i].hash, v + CURSOR_HEAD + i * CURSOR_ENTRY + 8, 32);
        /* ascending and below next: what this file writes */
        if ((i && out->entries[i].height <= out->entries[i - 1].height) || out->entries[i].height >= out->next) {
            evm_cursor_clear(out);
            goto out;
        }
    }
    e = FERRY_OK;
out:
    free(v);
    return e;
}

/* Remembers (height, hash), keeping the window ascending and at most cfg.window long. */
static void remember(struct evm_watch *w, uint64_t height, const uint8_t hash[32])
{
    size_t i = w->nwin;
    while (i > 0 && w->win[i - 1].height >= height)
        i--;
    if (i < w->nwin && w->win[i].height == height) {
        memcpy(w->win[i].hash, hash, 32);
        return;
    }
    /* cfg.window + 1 slots: insert, then drop the oldest if over */
    memmove(&w->win[i + 1], &w->win[i], (w->nwin - i) * sizeof w->win[0]);
    w->win[i].height = height;
    memcpy(w->win[i].hash, hash, 32);
    w->nwin++;
    if (w->nwin > w->cfg.window) {
        memmove(&w->win[0], &w->win[1], (w->nwin - 1) * sizeof w->win[0]);
        w->nwin--;
    }
}

/* ---- replies ---- */

static bool hexfield(const cJSON *o, const char *name, uint8_t out[32])
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && hex_decode_exact(out, 32, v->valuestring, HEX_PREFIX_REQUIRED) == FERRY_OK;
}

static bool qfield(const cJSON *o, const char *name, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && hex_quantity_u64(out, v->valuestring) == FERRY_OK;
}

enum hdr_result { HDR_OK, HDR_MISSING, HDR_BAD };

/* A block header from eth_getBlockByNumber; want: the number asked for (UINT64_MAX: any). */
static enum hdr_result parse_hdr(const cJSON *r, uint64_t want, struct hdr *h, char *why, size_t why_len)
{
    if (cJSON_IsNull(r)) {
        snprintf(why, why_len, "block %" PRIu64 " is unknown to the endpoint", want);
        return HDR_MISSING;
    }
    if (!cJSON_IsObject(r) || !qfield(r, "number", &h->number) || !qfield(r, "timestamp", &h->timestamp) ||
        !hexfield(r, "hash", h->hash) || !hexfield(r, "parentHash", h->parent)) {
        snprintf(why, why_len, "block %" PRIu64 ": not a block header (number, hash, parentHash, timestamp)", want);
        return HDR_BAD;
    }
    if (want != UINT64_MAX && h->number != want) {
        snprintf(why, why_len, "asked for block %" PRIu64 ", got block %" PRIu64, want, h->number);
        return HDR_BAD;
    }
    return HDR_OK;
}

/* A reply that is wrong in substance: the endpoint is faulted and the range asked again later. */
static void refuse(struct evm_watch *w, int endpoint, const char *what)
{
    w->st.bad_replies++;
    rpc_endpoint_fault(w->rpc, endpoint);
    struct rpc_endpoint_status es;
    const char *name = endpoint >= 0 && rpc_endpoint_status(w->rpc, (size_t)endpoint, &es) == FERRY_OK ? es.name : "?";
    wlog(w, EVM_WATCH_WARN, "refused a reply from %s: %s", name, what);
    go_idle(w);
}

static void not_asked(struct evm_watch *w, const char *fmt, ...) FERRY_PRINTF(2, 3);

/* A step that could not even be asked (no memory, the client refused the call): an rpc error,
 * logged as an error, and the step is tried again at the next poll. */
static void not_asked(struct evm_watch *w, const char *fmt, ...)
{
    w->st.rpc_errors++;
    va_list ap;
    va_start(ap, fmt);
    vwlog(w, EVM_WATCH_ERROR, fmt, ap);
    va_end(ap);
    go_idle(w);
}

static void rpc_failed(struct evm_watch *w, const char *step, const struct rpc_error *err)
{
    w->st.rpc_errors++;
    wlog(w, EVM_WATCH_WARN, "%s failed (%s): %s; retrying at the next poll", step, rpc_errkind_name(err->kind),
         err->message);
    go_idle(w);
}

/* The header of block `height` in a step's reply into h: false when it is not one, and the step
 * is over: failed when the node does not have the block, refused when it sent something else. */
static bool step_hdr(struct evm_watch *w, const char *step, const cJSON *result, uint64_t height, int endpoint,
                     struct hdr *h)
{
    char why[200];
    enum hdr_result hr = parse_hdr(result, height, h, why, sizeof why);
    if (hr == HDR_MISSING)
        rpc_failed(w, step, &(struct rpc_error){.kind = RPC_E_NODE, .message = why});
    else if (hr == HDR_BAD)
        refuse(w, endpoint, why);
    return hr == HDR_OK;
}

/* Hands the first failed reply of a batch to rpc_failed; true when there was one (the step is over). */
static bool batch_failed(struct evm_watch *w, const char *step, const struct rpc_reply *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].err.kind != RPC_OK) {
            rpc_failed(w, step, &r[i].err);
            return true;
        }
    return false;
}

/* Takes the rpc ticket back; NULL when the watcher is gone or stopped meanwhile. */
static struct evm_watch *call_ended(void *ud)
{
    struct ticket *t = ud;
    struct evm_watch *w = t->w;
    free(t);
    if (!w)
        return NULL;
    w->call = NULL;
    if (!w->running) {
        go_idle(w);
        return NULL;
    }
    return w;
}

static bool send_batch(struct evm_watch *w, const struct rpc_call_spec *calls, size_t n, const struct rpc_opts *opts,
                       rpc_cb cb, const char *step)
{
    struct ticket *t = ticket_new(w);
    enum ferry_err e = t ? rpc_batch(w->rpc, calls, n, opts, cb, t) : ferry_fail(FERRY_ENOMEM, "no memory");
    if (e) {
        free(t);
        not_asked(w, "cannot send %s: %s", step, ferry_errmsg());
        return false;
    }
    w->call = t;
    return true;
}

static void report_head(struct evm_watch *w)
{
    if (w->paused)
        return;
    w->reported = (struct chain_head){.number = w->head,
                                      .timestamp = w->head_ts,
                                      .confirmed = w->safe,
                                      .confirmed_timestamp = w->have_safe_ts ? w->safe_ts : w->reported.confirmed_timestamp};
    if (w->hooks.on_head)
        w->hooks.on_head(w->hooks.ud, &w->reported);
}

/* ---- step 1: the head ---- */

static void on_head_reply(void *ud, struct rpc_reply *r, size_t n)
{
    struct evm_watch *w = call_ended(ud);
    if (!w || batch_failed(w, "asking for the head", r, n))
        return;
    uint64_t number;
    struct hdr h;
    char why[160];
    if (!cJSON_IsString(r[0].result) || hex_quantity_u64(&number, r[0].result->valuestring)) {
        refuse(w, r[0].err.endpoint, "eth_blockNumber: not a quantity");
        return;
    }
    if (parse_hdr(r[1].result, UINT64_MAX, &h, why, sizeof why) != HDR_OK) {
        refuse(w, r[1].err.endpoint, why);
        return;
    }
    w->have_head = true;
    w->head = h.number;
    w->head_ts = h.timestamp;
    memcpy(w->head_hash, h.hash, 32);
    /* The head block has one confirmation: a block is scanned once it has cfg.confirmations. */
    w->safe = h.number + 1 >= w->cfg.confirmations ? h.number + 1 - w->cfg.confirmations : 0;
    if (w->have_safe_ts && w->st.safe != w->safe)
        w->have_safe_ts = false;
    w->st.head = w->head;
    w->st.safe = w->safe;
    if (h.number + 1 < w->cfg.confirmations) { /* not even one confirmed block yet */
        go_idle(w);
        return;
    }
    w->state = W_IDLE;
    if (w->quiet && !w->paused && w->quiet_head == h.number && w->quiet_next == w->next &&
        !memcmp(w->quiet_hash, h.hash, 32)) {
        w->st.quiet_polls++;
        go_idle(w);
        report_head(w);
        return;
    }
    w->quiet = false;
    step_scan(w);
}

static void step_head(struct evm_watch *w)
{
    static const struct rpc_call_spec calls[] = {{"eth_blockNumber", "[]"},
                                                 {"eth_getBlockByNumber", "[\"latest\",false]"}};
    w->state = W_HEAD;
    /* Not logs-grade: an endpoint whose head the client does not know yet is not trusted for
     * logs once another's is known, so this query (its eth_blockNumber) is how a second
     * endpoint becomes usable for the scan when the daemon does not probe heads. */
    send_batch(w, calls, 2, NULL, on_head_reply, "the head query");
}

/* ---- step 2: the range ---- */

/* Narrows the range after a provider limit; false when it is one block already. */
static bool narrow(struct evm_watch *w, const struct rpc_error *err)
{
    uint64_t cur = w->to - w->from + 1;
    if (cur <= 1) {
        w->st.rpc_errors++;
        wlog(w, EVM_WATCH_ERROR,
             "block %" PRIu64 " alone is over the endpoint's eth_getLogs limit (%s); retrying at the next poll "
             "(use an endpoint with a higher limit)",
             w->from, err ? err->message : "too many logs");
        return false;
    }
    uint64_t want = cur / 2;
    const char *how = "halved";
    if (err && err->limit_has_range && err->limit_from == w->from && err->limit_to >= w->from &&
        err->limit_to < w->to) {
        want = err->limit_to - w->from + 1;
        how = "as the endpoint suggested";
    } else if (err && err->limit_max_blocks && err->limit_max_blocks < cur) {
        want = err->limit_max_blocks;
        if (err->limit_max_blocks < w->ceiling)
            w->ceiling = (uint32_t)err->limit_max_blocks;
        how = "to the endpoint's widest range";
    }
    w->range = (uint32_t)(want ? want : 1);
    w->streak = 0;
    w->st.narrowed++;
    w->st.range = w->range;
    wlog(w, EVM_WATCH_INFO, "eth_getLogs range %" PRIu64 "..%" PRIu64 " over the limit (%s): range %s to %u blocks",
         w->from, w->to, err ? err->message : "too many logs", how, w->range);
    return true;
}

static bool addr_is(const uint8_t a[20], const uint8_t b[20]) { return memcmp(a, b, 20) == 0; }

static uint8_t source_of(const struct evm_watch *w, const uint8_t address[20])
{
    if (addr_is(address, w->cfg.gateway))
        return EVM_SRC_GATEWAY;
    if (w->cfg.has_vault && addr_is(address, w->cfg.vault))
        return EVM_SRC_VAULT;
    if (w->cfg.has_router && addr_is(address, w->cfg.router))
        return EVM_SRC_ROUTER;
    return EVM_SRC__COUNT;
}

/* Checks every log against what was asked and decodes it. Returns false (after refusing the
 * reply) on the first log that is wrong. */
static bool take_logs(struct evm_watch *w, int endpoint)
{
    size_t n = w->logs.n;
    char why[400];
    if (n) {
        w->src = calloc(n, 1);
        w->blks = calloc(n, sizeof *w->blks);
        w->ev = calloc(n, sizeof *w->ev);
        w->app = calloc(n, sizeof *w->app);
        if (!w->src || !w->blks || !w->ev || !w->app) {
            not_asked(w, "no memory for %zu logs", n);
            return false;
        }
    }
    const struct evm_log *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct evm_log *l = &w->logs.logs[i];
        if (l->removed) { /* not on the chain any more: nothing to hand over */
            w->src[i] = EVM_SRC__COUNT;
            w->st.removed_logs++;
            continue;
        }
        uint8_t s = source_of(w, l->address);
        if (s == EVM_SRC__COUNT) {
            snprintf(why, sizeof why, "log %zu is from an address not asked for", i);
            goto refused;
        }
        w->src[i] = s;
        if (l->block_number < w->from || l->block_number > w->to) {
            snprintf(why, sizeof why, "log %zu is in block %" PRIu64 ", outside the range %" PRIu64 "..%" PRIu64, i,
                     l->block_number, w->from, w->to);
            goto refused;
        }
        if (prev && (l->block_number < prev->block_number ||
                     (l->block_number == prev->block_number && l->log_index <= prev->log_index))) {
            snprintf(why, sizeof why, "log %zu (block %" PRIu64 ", index %u) is out of order", i, l->block_number,
                     l->log_index);
            goto refused;
        }
        if (prev && l->block_number == prev->block_number && memcmp(l->block_hash, prev->block_hash, 32) != 0) {
            snprintf(why, sizeof why, "logs of block %" PRIu64 " name two block hashes", l->block_number);
            goto refused;
        }
        if (l->block_number == w->to && memcmp(l->block_hash, w->to_hdr.hash, 32) != 0) {
            snprintf(why, sizeof why, "log %zu names another hash for block %" PRIu64 " than its header", i, w->to);
            goto refused;
        }
        if (!prev || l->block_number != prev->block_number) {
            struct blk *b = &w->blks[w->nblks++];
            b->height = l->block_number;
            memcpy(b->hash, l->block_hash, 32);
            if (b->height == w->to) {
                b->ts = w->to_hdr.timestamp;
                b->have_ts = true;
            }
        }
        enum evm_decoded what;
        if (evm_decode_log(w->dec, w->cfg.chain_id, (enum evm_source)s, l, 0, &what, &w->ev[w->nev],
                           &w->app[w->napp])) {
            snprintf(why, sizeof why, "log %zu (block %" PRIu64 ", index %u) does not decode: %s", i, l->block_number,
                     l->log_index, ferry_errmsg());
            goto refused;
        }
        if (what == EVM_DECODED_CHAIN && evm_check_packet_id(&w->ev[w->nev])) {
            snprintf(why, sizeof why, "log %zu (block %" PRIu64 ", index %u): %s", i, l->block_number, l->log_index,
                     ferry_errmsg());
            goto refused;
        }
        if (what == EVM_DECODED_CHAIN)
            w->nev++;
        else
            w->napp++;
        prev = l;
    }
    return true;
refused:
    refuse(w, endpoint, why);
    return false;
}

/* Dates the events from their blocks, then hands them over (or advances at once). */
static void hand_over(struct evm_watch *w);

static void on_scan_reply(void *ud, struct rpc_reply *r, size_t n)
{
    struct evm_watch *w = call_ended(ud);
    if (!w)
        return;
    char why[200];
    /* A limit on the logs narrows the range; the byte cap on the whole batch too. */
    if (w->ib >= 0 && (r[w->ib].err.kind == RPC_E_LIMIT_EXCEEDED || r[w->ib].err.kind == RPC_E_BODY_TOO_LARGE)) {
        if (narrow(w, &r[w->ib].err)) {
            w->state = W_IDLE;
            kick_soon(w);
        } else {
            go_idle(w);
        }
        return;
    }
    if (batch_failed(w, "the scan", r, n))
        return;
    int endpoint = r[0].err.endpoint;
    w->scan_endpoint = endpoint;
    /* The cursor block: still the one remembered? */
    if (w->ia >= 0) {
        struct hdr a;
        if (!step_hdr(w, "the scan", r[w->ia].result, w->next - 1, endpoint, &a))
            return;
        if (w->have_hash && memcmp(a.hash, w->hash, 32) != 0) {
            char was[67], now[67];
            hex32(was, w->hash);
            hex32(now, a.hash);
            wlog(w, EVM_WATCH_WARN, "block %" PRIu64 " was %s when scanned and is %s now: walking back", w->next - 1,
                 was, now);
            scan_clear(w);
            step_walk(w, endpoint);
            return;
        }
        if (!w->have_hash) { /* the first scan from a configured start: adopt the chain's block */
            w->have_hash = true;
            memcpy(w->hash, a.hash, 32);
            remember(w, w->next - 1, a.hash);
        }
        if (w->next - 1 == w->safe) {
            w->safe_ts = a.timestamp;
            w->have_safe_ts = true;
        }
    }
    if (w->id >= 0) {
        struct hdr d;
        if (!step_hdr(w, "the scan", r[w->id].result, w->safe, endpoint, &d))
            return;
        w->safe_ts = d.timestamp;
        w->have_safe_ts = true;
    }
    if (w->ib < 0) { /* nothing to scan: the check of the cursor block was all */
        /* Quiet from here while the head stays this block (on_head_reply). Only when caught up
         * and the cursor block was checked in this very batch. */
        if (w->ia >= 0 && w->next - 1 == w->safe) {
            w->quiet = true;
            w->quiet_head = w->head;
            w->quiet_next = w->next;
            memcpy(w->quiet_hash, w->head_hash, 32);
        }
        go_idle(w);
        report_head(w);
        return;
    }
    if (!step_hdr(w, "the scan", r[w->ic].result, w->to, endpoint, &w->to_hdr))
        return;
    if (w->to == w->safe) {
        w->safe_ts = w->to_hdr.timestamp;
        w->have_safe_ts = true;
    }
    if (w->to == w->from && w->have_hash && memcmp(w->to_hdr.parent, w->hash, 32) != 0) {
        refuse(w, endpoint, "the parent of the block after the cursor is not the cursor block");
        return;
    }
    /* the logs come as text (raw_results below): parsed straight into evm_logs, no tree */
    const struct rpc_reply *lr = &r[w->ib];
    enum ferry_err e = lr->raw ? evm_logs_parse_text_at(&w->logs, lr->raw, lr->raw_len, lr->raw_depth, w->cfg.max_logs)
                               : evm_logs_parse(&w->logs, lr->result, w->cfg.max_logs);
    if (e == FERRY_ERANGE) {
        if (narrow(w, NULL)) {
            w->state = W_IDLE;
            kick_soon(w);
        } else {
            go_idle(w);
        }
        return;
    }
    if (e) {
        snprintf(why, sizeof why, "%s", ferry_errmsg());
        refuse(w, endpoint, why);
        return;
    }
    if (!take_logs(w, endpoint))
        return;
    step_headers(w);
}

static void step_scan(struct evm_watch *w)
{
    if (w->paused || !w->have_head)
        return;
    /* The cursor above the confirmed head: an endpoint behind the one that answered before, or
     * fewer blocks than confirmations. Nothing to check or scan until the head comes back. */
    if (w->next > w->safe + 1) {
        go_idle(w);
        return;
    }
    struct rpc_call_spec calls[4];
    char pa[64], pb[2048 + 128], pc[64], pd[64];
    size_t n = 0;
    char q1[19], q2[19];
    w->ia = w->ib = w->ic = w->id = -1;
    if (w->next > 0) {
        hex_u64_quantity(q1, w->next - 1);
        snprintf(pa, sizeof pa, "[\"%s\",false]", q1);
        w->ia = (int)n;
        calls[n++] = (struct rpc_call_spec){"eth_getBlockByNumber", pa};
    }
    if (w->next <= w->safe) {
        w->from = w->next;
        uint64_t span = w->range ? w->range : 1;
        w->to = w->safe - w->from + 1 > span ? w->from + span - 1 : w->safe;
        hex_u64_quantity(q1, w->from);
        hex_u64_quantity(q2, w->to);
        snprintf(pb, sizeof pb, "[{\"fromBlock\":\"%s\",\"toBlock\":\"%s\"%s]", q1, q2, w->filter);
        w->ib = (int)n;
        calls[n++] = (struct rpc_call_spec){"eth_getLogs", pb};
        hex_u64_quantity(q2, w->to);
        snprintf(pc, sizeof pc, "[\"%s\",false]", q2);
        w->ic = (int)n;
        calls[n++] = (struct rpc_call_spec){"eth_getBlockByNumber", pc};
        if (w->safe != w->to) {
            hex_u64_quantity(q2, w->safe);
            snprintf(pd, sizeof pd, "[\"%s\",false]", q2);
            w->id = (int)n;
            calls[n++] = (struct rpc_call_spec){"eth_getBlockByNumber", pd};
        }
    } else if (w->next == 0 || w->next - 1 != w->safe) {
        hex_u64_quantity(q2, w->safe);
        snprintf(pd, sizeof pd, "[\"%s\",false]", q2);
        w->id = (int)n;
        calls[n++] = (struct rpc_call_spec){"eth_getBlockByNumber", pd};
    }
    w->state = W_SCAN;
    struct rpc_opts opts = {.logs_grade = true, .raw_results = w->ib >= 0 ? 1ull << w->ib : 0};
    send_batch(w, calls, n, &opts, on_scan_reply, "the scan");
}

/* ---- step 3: the headers of the blocks that hold logs ---- */

static void on_headers_reply(void *ud, struct rpc_reply *r, size_t n)
{
    struct evm_watch *w = call_ended(ud);
    if (!w || batch_failed(w, "asking for the blocks of the logs", r, n))
        return;
    char why[200];
    /* hpos..hpos+n are the blocks asked for (those without a timestamp, in order) */
    size_t k = 0;
    for (size_t i = w->hpos; i < w->nblks && k < n; i++) {
        struct blk *b = &w->blks[i];
        if (b->have_ts)
            continue;
        struct hdr h;
        if (!step_hdr(w, "asking for the blocks of the logs", r[k].result, b->height, r[k].err.endpoint, &h))
            return;
        if (memcmp(h.hash, b->hash, 32) != 0) {
            /* The endpoint's logs and its headers disagree: a reorg right now, or a liar. Either
             * way nothing of this range is handed over; the next poll checks the cursor block. */
            snprintf(why, sizeof why, "block %" PRIu64 " has another hash than its logs name", b->height);
            refuse(w, r[k].err.endpoint, why);
            return;
        }
        b->ts = h.timestamp;
        b->have_ts = true;
        k++;
        w->hpos = i + 1;
    }
    step_headers(w);
}

static void step_headers(struct evm_watch *w)
{
    while (w->hpos < w->nblks && w->blks[w->hpos].have_ts)
        w->hpos++;
    if (w->hpos >= w->nblks) {
        hand_over(w);
        return;
    }
    size_t cap = w->cfg.header_batch;
    struct rpc_call_spec *calls = calloc(cap, sizeof *calls);
    char(*params)[40] = calloc(cap, sizeof *params);
    size_t n = 0;
    if (!calls || !params) {
        free(calls);
        free(params);
        not_asked(w, "no memory for a batch of headers");
        return;
    }
    for (size_t i = w->hpos; i < w->nblks && n < cap; i++) {
        if (w->blks[i].have_ts)
            continue;
        char q[19];
        hex_u64_quantity(q, w->blks[i].height);
        snprintf(params[n], sizeof params[n], "[\"%s\",false]", q);
        calls[n] = (struct rpc_call_spec){"eth_getBlockByNumber", params[n]};
        n++;
    }
    w->state = W_HEADERS;
    /* The endpoint that sent the logs: its headers must agree with its own logs. */
    struct rpc_opts opts = {.logs_grade = true};
    if (w->scan_endpoint >= 0) {
        opts.pinned = true;
        opts.endpoint = (unsigned)w->scan_endpoint;
    }
    send_batch(w, calls, n, &opts, on_headers_reply, "the block headers");
    free(calls);
    free(params);
}

/* ---- step 4: hand-over and advance ---- */

static uint64_t ts_of(const struct evm_watch *w, uint64_t height)
{
    size_t lo = 0, hi = w->nblks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (w->blks[mid].height < height)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < w->nblks && w->blks[lo].height == height ? w->blks[lo].ts : 0;
}

static void advance(struct evm_watch *w)
{
    for (size_t i = 0; i < w->nblks; i++)
        remember(w, w->blks[i].height, w->blks[i].hash);
    remember(w, w->to, w->to_hdr.hash);
    w->next = w->to + 1;
    w->have_hash = true;
    memcpy(w->hash, w->to_hdr.hash, 32);
    w->st.scans++;
    w->st.logs += w->nev + w->napp;
    w->st.next_block = w->next;
    w->st.awaiting_engine = false;
    /* Full ranges in a row widen the range again. */
    uint32_t cap = w->cfg.range_max < w->ceiling ? w->cfg.range_max : w->ceiling;
    if (w->to - w->from + 1 >= w->range && w->range < cap) {
        if (++w->streak >= w->cfg.grow_after) {
            uint64_t r = (uint64_t)w->range * 2;
            w->range = (uint32_t)(r < cap ? r : cap);
            w->streak = 0;
            w->st.widened++;
            w->st.range = w->range;
            wlog(w, EVM_WATCH_DEBUG, "eth_getLogs range widened to %u blocks", w->range);
        }
    } else if (w->to - w->from + 1 < w->range) {
        w->streak = 0; /* caught up: a short range says nothing about the limit */
    }
    go_idle(w);
    persist(w);
    if (w->running && w->next <= w->safe)
        kick_soon(w);
}

static void hand_over(struct evm_watch *w)
{
    for (size_t i = 0; i < w->nev; i++)
        w->ev[i].at.block_timestamp = ts_of(w, w->ev[i].at.block_number);
    for (size_t i = 0; i < w->napp; i++)
        w->app[i].at.block_timestamp = ts_of(w, w->app[i].at.block_number);
    report_head(w);
    if (w->nev == 0 && w->napp == 0) {
        advance(w);
        return;
    }
    w->token = ++w->next_token;
    w->state = W_HANDED;
    w->st.awaiting_engine = true;
    /* The hook may call evm_watch_events_done at once: the advance (which frees the events)
     * then waits until the hook has returned. */
    ferry_crash_point("watch.after_logs");
    w->in_hook = true;
    w->done_in_hook = false;
    w->hooks.on_events(w->hooks.ud, w->ev, w->nev, w->app, w->napp, w->token);
    w->in_hook = false;
    if (w->done_in_hook)
        advance(w);
}

void evm_watch_events_done(struct evm_watch *w, uint64_t token)
{
    if (w->state != W_HANDED || token != w->token || w->done_in_hook) {
        wlog(w, EVM_WATCH_DEBUG, "events_done(%" PRIu64 ") for nothing handed over: ignored", token);
        return;
    }
    if (w->in_hook) {
        w->done_in_hook = true;
        return;
    }
    advance(w);
}

/* ---- step 5: walking back after a changed hash ---- */

static void on_walk_reply(void *ud, struct rpc_reply *r, size_t n)
{
    struct evm_watch *w = call_ended(ud);
    if (!w || batch_failed(w, "walking back", r, n))
        return;
    /* From the top: the highest remembered height whose hash is unchanged is the ancestor. */
    size_t top = w->nwin;
    bool found = false;
    size_t anc = 0;
    char why[200];
    for (size_t i = w->nwin; i-- > 0;) {
        struct hdr h;
        enum hdr_result hr = parse_hdr(r[i].result, w->win[i].height, &h, why, sizeof why);
        if (hr == HDR_BAD) {
            refuse(w, r[i].err.endpoint, why);
            return;
        }
        if (hr == HDR_OK && memcmp(h.hash, w->win[i].hash, 32) == 0) {
            found = true;
            anc = i;
            break;
        }
    }
    if (found && anc == top - 1) {
        /* The cursor block is what it was: the endpoint that said otherwise was wrong. */
        refuse(w, w->mismatch_endpoint, "it named another hash for the cursor block than the chain has");
        return;
    }
    uint64_t from;
    char detail[400];
    if (found) {
        from = w->win[anc].height + 1;
        w->next = from;
        w->have_hash = true;
        memcpy(w->hash, w->win[anc].hash, 32);
        w->nwin = anc + 1;
        snprintf(detail, sizeof detail,
                 "block hashes changed behind the confirmation depth (%u): the common ancestor is block %" PRIu64
                 "; the cursor is rewound to it and events from block %" PRIu64 " on may have been dropped",
                 w->cfg.confirmations, from - 1, from);
    } else {
        from = w->nwin ? w->win[0].height : w->next;
        w->next = from;
        w->have_hash = false;
        w->nwin = 0;
        snprintf(detail, sizeof detail,
                 "block hashes changed behind the confirmation depth (%u) and below every remembered block: the "
                 "fork is older than block %" PRIu64 "; the cursor is rewound there (its ancestor unknown)",
                 w->cfg.confirmations, from);
    }
    w->paused = true;
    w->quiet = false;
    w->reorg_from = from;
    w->st.paused = true;
    w->st.reorg_from = from;
    w->st.next_block = w->next;
    w->st.deep_reorgs++;
    w->state = W_PAUSED;
    loop_timer_stop(&w->timer);
    loop_defer_cancel(&w->kick);
    persist(w);
    wlog(w, EVM_WATCH_ERROR, "deep reorg, watching paused until an operator resumes it: %s", detail);
    w->hooks.on_deep_reorg(w->hooks.ud, from, detail);
}

static void step_walk(struct evm_watch *w, int endpoint)
{
    w->mismatch_endpoint = endpoint;
    struct rpc_call_spec *calls = calloc(w->nwin ? w->nwin : 1, sizeof *calls);
    char(*params)[40] = calloc(w->nwin ? w->nwin : 1, sizeof *params);
    if (!calls || !params) {
        free(calls);
        free(params);
        not_asked(w, "no memory to walk back");
        return;
    }
    for (size_t i = 0; i < w->nwin; i++) {
        char q[19];
        hex_u64_quantity(q, w->win[i].height);
        snprintf(params[i], sizeof params[i], "[\"%s\",false]", q);
        calls[i] = (struct rpc_call_spec){"eth_getBlockByNumber", params[i]};
    }
    w->state = W_WALK;
    struct rpc_opts opts = {.logs_grade = true};
    send_batch(w, calls, w->nwin, &opts, on_walk_reply, "the walk back");
    free(calls);
    free(params);
}

/* ---- driving ---- */

static void on_tick(struct loop_timer *t, void *ud)
{
    struct evm_watch *w = ud;
    if (!w->running || w->state != W_IDLE)
        return;
    step_head(w);
}

static void on_kick(struct loop_defer *d, void *ud)
{
    struct evm_watch *w = ud;
    if (w->report_pause && w->paused) {
        w->report_pause = false;
        char detail[200];
        snprintf(detail, sizeof detail,
                 "paused by a deep reorg before the restart (blocks from %" PRIu64 " on may have been dropped)",
                 w->reorg_from);
        w->hooks.on_deep_reorg(w->hooks.ud, w->reorg_from, detail);
        return;
    }
    if (!w->running || w->paused || w->state != W_IDLE)
        return;
    if (w->have_head && w->next <= w->safe)
        step_scan(w);
    else
        step_head(w);
}

static char *build_filter(const struct evm_watch *w)
{
    struct fbuf b;
    fbuf_init(&b, 8192);
    const uint8_t *addrs[EVM_SRC__COUNT] = {w->cfg.gateway, w->cfg.has_vault ? w->cfg.vault : NULL,
                                            w->cfg.has_router ? w->cfg.router : NULL};
    enum ferry_err e = fbuf_addstr(&b, ",\"address\":[");
    bool first = true;
    for (int s = 0; s < EVM_SRC__COUNT && !e; s++) {
        if (!addrs[s])
            continue;
        e = (first ? FERRY_OK : fbuf_addbyte(&b, ','));
        if (!e)
            e = fbuf_addbyte(&b, '"');
        if (!e)
            e = hex_encode_buf(&b, addrs[s], 20, true);
        if (!e)
            e = fbuf_addbyte(&b, '"');
        first = false;
    }
    if (!e)
        e = fbuf_addstr(&b, "],\"topics\":[[");
    first = true;
    for (size_t i = 0; i < evm_event_count() && !e; i++) {
        if (!addrs[evm_event_def(i)->source])
            continue;
        e = (first ? FERRY_OK : fbuf_addbyte(&b, ','));
        if (!e)
            e = fbuf_addbyte(&b, '"');
        if (!e)
            e = hex_encode_buf(&b, evm_decoder_topic0(w->dec, i), 32, true);
        if (!e)
            e = fbuf_addbyte(&b, '"');
        first = false;
    }
    if (!e)
        e = fbuf_addstr(&b, "]]}");
    if (e)
        return NULL;
    size_t len;
    return (char *)fbuf_take(&b, &len);
}

enum ferry_err evm_watch_new(struct evm_watch **out, struct loop *loop, struct rpc_client *rpc, struct store *store,
                             const struct evm_watch_config *cfg, const struct evm_watch_hooks *hooks)
{
    *out = NULL;
    if (!cfg->chain_id)
        return ferry_fail(FERRY_EINVAL, "evm watch: chain_id is required");
    if (!hooks->on_events || !hooks->on_deep_reorg)
        return ferry_fail(FERRY_EINVAL, "evm watch: on_events and on_deep_reorg are required");
    static const uint8_t zero[20];
    if (memcmp(cfg->gateway, zero, 20) == 0)
        return ferry_fail(FERRY_EINVAL, "evm watch: the gateway address is required");
    if (cfg->window > WINDOW_MAX)
        return ferry_fail(FERRY_ERANGE, "evm watch: window %u is over %d", cfg->window, WINDOW_MAX);
    if (cfg->header_batch > WINDOW_MAX)
        return ferry_fail(FERRY_ERANGE, "evm watch: header_batch %u is over %d", cfg->header_batch, WINDOW_MAX);
    struct evm_watch *w = calloc(1, sizeof *w);
    if (!w)
        return ferry_fail(FERRY_ENOMEM, "evm watch: no memory");
    w->loop = loop;
    w->rpc = rpc;
    w->store = store;
    w->cfg = *cfg;
    w->hooks = *hooks;
#define DEF(f, v)      \
    if (!w->cfg.f)     \
    w->cfg.f = (v)
    DEF(confirmations, 1);
    DEF(poll_ms, 2000);
    DEF(range_max, 1000);
    DEF(grow_after, 4);
    DEF(window, 128);
    DEF(max_logs, 10000);
    DEF(header_batch, 100);
#undef DEF
    w->range = w->cfg.range_max;
    w->ceiling = UINT32_MAX;
    w->st.range = w->range;
    w->scan_endpoint = -1;
    enum ferry_err e = evm_decoder_new(&w->dec);
    if (e)
        goto fail;
    w->filter = build_filter(w);
    w->win = calloc(w->cfg.window + 1, sizeof *w->win);
    if (!w->filter || !w->win) {
        e = ferry_fail(FERRY_ENOMEM, "evm watch: no memory");
        goto fail;
    }
    struct evm_cursor c;
    e = evm_cursor_load(store, cfg->chain_id, &c);
    if (e == FERRY_ENOTFOUND) {
        w->next = cfg->start_block;
    } else if (e) {
        goto fail;
    } else {
        w->next = c.next;
        w->have_hash = c.have_hash;
        memcpy(w->hash, c.hash, 32);
        w->paused = c.paused;
        w->reorg_from = c.reorg_from;
        /* the newest cfg.window entries (the window may have been configured smaller) */
        size_t skip = c.n > w->cfg.window ? c.n - w->cfg.window : 0;
        w->nwin = c.n - skip;
        memcpy(w->win, c.entries + skip, w->nwin * sizeof *w->win);
        evm_cursor_clear(&c);
        if (w->have_hash && (w->nwin == 0 || w->win[w->nwin - 1].height != w->next - 1))
            remember(w, w->next - 1, w->hash);
    }
    e = FERRY_OK;
    w->state = w->paused ? W_PAUSED : W_IDLE;
    w->st.next_block = w->next;
    w->st.paused = w->paused;
    w->st.reorg_from = w->reorg_from;
    loop_timer_init(loop, &w->timer, on_tick, w);
    loop_defer_init(loop, &w->kick, on_kick, w);
    *out = w;
    return FERRY_OK;
fail:
    evm_decoder_free(w->dec);
    free(w->filter);
    free(w->win);
    free(w);
    return e;
}

void evm_watch_free(struct evm_watch *w)
{
    if (!w)
        return;
    loop_timer_stop(&w->timer);
    loop_defer_cancel(&w->kick);
    if (w->call)
        w->call->w = NULL;
    for (struct ticket *t = w->writes; t; t = t->next)
        t->w = NULL;
    scan_clear(w);
    evm_decoder_free(w->dec);
    free(w->filter);
    free(w->win);
    free(w);
}

enum ferry_err evm_watch_start(struct evm_watch *w)
{
    w->running = true;
    if (w->paused) {
        w->report_pause = true;
        loop_defer(&w->kick);
        return FERRY_OK;
    }
    loop_timer_start(&w->timer, w->cfg.poll_ms, w->cfg.poll_ms);
    loop_defer(&w->kick);
    return FERRY_OK;
}

void evm_watch_stop(struct evm_watch *w)
{
    w->running = false;
    loop_timer_stop(&w->timer);
    loop_defer_cancel(&w->kick);
}

void evm_watch_poll_now(struct evm_watch *w)
{
    if (w->running && !w->paused)
        loop_defer(&w->kick);
}

enum ferry_err evm_watch_resume(struct evm_watch *w)
{
    if (!w->paused)
        return ferry_fail(FERRY_ESTATE, "evm watch: chain %" PRIu64 " is not paused", w->cfg.chain_id);
    w->paused = false;
    w->quiet = false;
    w->reorg_from = 0;
    w->report_pause = false;
    w->st.paused = false;
    w->st.reorg_from = 0;
    w->state = W_IDLE;
    persist(w);
    wlog(w, EVM_WATCH_INFO, "resumed by the operator: scanning again from block %" PRIu64, w->next);
    if (w->running) {
        loop_timer_start(&w->timer, w->cfg.poll_ms, w->cfg.poll_ms);
        loop_defer(&w->kick);
    }
    return FERRY_OK;
}

void evm_watch_stats(const struct evm_watch *w, struct evm_watch_stats *out) { *out = w->st; }

struct chain_head evm_watch_head(const struct evm_watch *w) { return w->reported; }
