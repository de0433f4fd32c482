/* The EVM transaction manager. See txmgr.h and docs/evm.md ("Transaction manager").
 *
 * Shape of the code:
 *  - records (struct rec): one per submission in memory; refcounted because RPC calls in
 *    flight hold them (the manager may be freed, or the record forgotten, before a reply).
 *    rec_enter() is the only place that changes a record's state.
 *  - the pipeline of a new submission: prep_run() walks DRY_RUN -> ESTIMATE -> FEES -> NONCE,
 *    one RPC at a time; prep_sign() assigns the nonce, signs and queues the write-ahead.
 *  - the end-of-turn commit (on_commit): every dirty record and the nonce line in ONE
 *    synchronous write, then the broadcasts queued this turn, then the status reports. A
 *    broadcast never leaves before the write that carries its attempt returned.
 *  - sweeps: one batch (split in chunks) asks for the head, the account's nonce, receipts and
 *    whether the node knows each attempt; sweep_process() decides per record.
 *  - tickets: the user data of every RPC call. txmgr_free() detaches them, so that a reply
 *    arriving after the manager is gone only drops its references. */
#include "evm/txmgr.h"

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ferry/abi.h"
#include "ferry/buf.h"
#include "ferry/json_out.h"
#include "ferry/crash.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"
#include "ferry/tx.h"
#include "ferry/tx_sign.h"

#include "evm/revert.h"

#define RECORD_VERSION 1
#define TAG_RECORD 'R' /* t | chain | R | address | nonce -> the record (JSON) */
#define TAG_ID 'I'     /* t | chain | I | address | id -> nonce u64 BE of the record */
#define TAG_LINE 'N'   /* t | chain | N | address -> the nonce line (JSON) */
#define REC_PREFIX_LEN (1 + 8 + 1 + ADDRESS_LEN)
#define SWEEP_CHUNK 500   /* calls per sweep batch */
#define SEND_CHUNK 100    /* broadcasts per batch */
#define REFUSED_KEPT 256  /* refused submissions remembered for txmgr_status */
#define START_RETRY_MAX_MS 30000u
#define CANCEL_GAS 21000u

enum step { STEP_DRY_RUN, STEP_ESTIMATE, STEP_FEES, STEP_NONCE };
enum phase { PH_NEW, PH_STARTING, PH_READY, PH_HALTED };
enum ticket_kind { T_START, T_ONE_RUN, T_DRY_RUN, T_ESTIMATE, T_FEES, T_SEND, T_SWEEP };
enum sweep_what { SW_HEAD, SW_NONCE, SW_RECEIPT, SW_KNOWN };

struct attempt {
    uint8_t hash[32];
    uint8_t *raw;
    size_t raw_len;
    struct fees fees;
    uint64_t gas;
    uint64_t sent_block; /* the head when it was signed */
    bool cancel;         /* a no-op transfer to ourselves (txmgr_cancel) */
    bool indexed;        /* its hash index entry is in the store */
    bool sending;        /* a broadcast is in flight */
    bool accepted;       /* its last broadcast got a result (or "already known"), not an error */
};

struct rec {
    int refs;
    bool linked; /* in m->recs and the id table (holds one reference) */
    char *id;
    enum txmgr_state state;
    enum txmgr_state stored; /* the state the store holds (for the index), when stored_any */
    bool stored_any;
    bool dirty; /* the store lags behind memory */
    /* PREPARING */
    enum step step;
    bool one_run_tried; /* TXMGR_GAS_ONE_RUN: eth_createAccessList asked (or skipped) */
    struct txmgr_call call; /* call.data points at data */
    uint8_t *data;
    uint64_t gas;
    struct fees fees;
    /* from PENDING on */
    uint64_t nonce;
    unsigned n_att;
    struct attempt att[TXMGR_MAX_ATTEMPTS];
    int mined; /* the attempt with a receipt, or -1 */
    uint64_t block;
    uint8_t block_hash[32];
    bool success;
    uint64_t gas_used; /* the mined receipt's gasUsed; 0: not known (a receipt without it) */
    char *error;
    bool retryable;
    /* tracking */
    bool taken_suspect;    /* the nonce was used and we had no receipt at the last sweep */
    bool unknown_suspect;  /* no node knew the accepted latest attempt at the last sweep */
    bool nonce_low_seen;   /* a broadcast got NONCE_TOO_LOW */
    bool replace_now;      /* the node refused the fees: replace without waiting */
    bool cancel_requested;
    bool cap_logged, full_logged;
    struct rec *prev, *next; /* m->recs */
    struct rec *hnext;       /* id table bucket */
    struct rec *wnext;       /* a wait queue (fees or the nonce line) */
};

struct send_item {
    struct rec *rec; /* a reference */
    unsigned att;
};

struct report {
    struct txmgr_status st;
    char *id;
    char *error;
    bool durable; /* dropped if the write that carries the change fails */
};

struct sweep_item {
    enum sweep_what what;
    struct rec *rec; /* a reference (RECEIPT, KNOWN) */
    unsigned att;
    cJSON *result; /* taken from the reply */
    bool answered;
};

struct sweep {
    size_t n;
    struct sweep_item *items;
    size_t chunks_left;
    bool failed, orphan;
    char why[256];
    uint64_t head;        /* the head the node gave in this sweep: depth and age count from it */
    struct rec **replace; /* references */
    bool *replace_known;
    size_t n_replace;
};

struct queue {
    struct rec *head, *tail;
};

struct ticket {
    struct txmgr *m; /* NULL once the manager is freed */
    struct ticket *prev, *next;
    enum ticket_kind kind;
    struct rec *rec; /* a reference (DRY_RUN, ESTIMATE) */
    struct send_item *items;
    size_t n;
    struct sweep *sw;
    size_t first; /* T_SWEEP: this chunk's first item */
};

struct txmgr {
    struct loop *loop;
    struct rpc_client *rpc;
    struct store *store;
    struct signer *signer;
    struct txmgr_config cfg;
    char *key;
    uint8_t addr[ADDRESS_LEN];
    char addr_hex[ADDRESS_STR];  /* lowercase, for JSON-RPC */
    char addr_name[ADDRESS_STR]; /* checksummed, for logs */
    enum phase phase;
    enum ferry_err halt_err;
    char halt_why[512];
    /* the nonce line */
    uint64_t next_nonce;
    bool line_stored, line_dirty;
    uint64_t head;
    /* Replacement order: only the lowest PENDING nonce can be mined next, so only it ages
     * towards a replacement, counted from the head at which it became the lowest (see
     * track_lowest). Not persisted: a restart takes the head at reload. */
    bool low_any; /* some record was PENDING at the last look */
    uint64_t low_nonce, low_since;
    /* fees */
    bool mode_known, legacy;
    bool fee_valid, fee_fetching;
    struct fee_market mkt;
    uint64_t fee_at_ms, fee_head, fee_req_head;
    struct queue fee_wait, nonce_wait;
    bool sweep_wants_fees;
    /* endpoints (bit i: rpc endpoint i) that answered eth_createAccessList with "method not
     * found"; bit 31 also stands for an answer from no known endpoint */
    uint32_t no_access_list;
    /* records */
    struct rec *recs_head, *recs_tail;
    size_t n_refused;
    struct rec **buckets;
    size_t n_buckets, n_ids;
    struct rec *scratch; /* txmgr_status of a record read from the store */
    /* work */
    struct send_item *to_send;
    size_t n_send, cap_send;
    struct report *reports;
    size_t n_reports, cap_reports;
    struct loop_defer commit;
    struct loop_timer poll_timer, start_timer;
    uint32_t start_delay;
    struct ticket *tickets;
    struct sweep *sweep;
    bool sweep_again;
    bool poke_due; /* a sweep at the end of the turn (several pokes, one sweep) */
    bool delivering, dying;
    struct txmgr_stats stats;
};

static void schedule_commit(struct txmgr *m);
static void prep_run(struct txmgr *m, struct rec *r);
static void sweep_start(struct txmgr *m);
static void sweep_end(struct txmgr *m);
static void fees_fetch(struct txmgr *m);
static void really_free(struct txmgr *m);
static void queue_send(struct txmgr *m, struct rec *r, unsigned att);
static void sweep_fees(struct txmgr *m, bool have_fees);

/* ---- names ---- */

static const char *const state_names[] = {
    [TXMGR_PREPARING] = "PREPARING", [TXMGR_PENDING] = "PENDING",         [TXMGR_MINED] = "MINED",
    [TXMGR_CONFIRMED] = "CONFIRMED", [TXMGR_REVERTED] = "REVERTED",       [TXMGR_REFUSED] = "REFUSED",
    [TXMGR_NONCE_TAKEN] = "NONCE_TAKEN", [TXMGR_CANCELLED] = "CANCELLED", [TXMGR_UNKNOWN] = "UNKNOWN",
};

const char *txmgr_state_name(enum txmgr_state s)
{
    return (unsigned)s <= TXMGR_UNKNOWN ? state_names[s] : "?";
}

static bool state_from_name(const char *s, enum txmgr_state *out)
{
    for (unsigned i = TXMGR_PENDING; i < TXMGR_UNKNOWN; i++)
        if (i != TXMGR_REFUSED && strcmp(s, state_names[i]) == 0) {
            *out = (enum txmgr_state)i;
            return true;
        }
    return false;
}

bool txmgr_state_final(enum txmgr_state s)
{
    return s == TXMGR_CONFIRMED || s == TXMGR_REVERTED || s == TXMGR_REFUSED || s == TXMGR_NONCE_TAKEN ||
           s == TXMGR_CANCELLED;
}

bool txmgr_state_no_effect(enum txmgr_state s)
{
    return s == TXMGR_REFUSED || s == TXMGR_NONCE_TAKEN || s == TXMGR_CANCELLED;
}

/* ---- crash points ---- */

void txmgr_crash_point(const char *name) { ferry_crash_point(name); }

/* ---- logging ---- */

static void mlog(struct txmgr *m, enum txmgr_log_level lv, const char *fmt, ...) FERRY_PRINTF(3, 4);

static void mlog(struct txmgr *m, enum txmgr_log_level lv, const char *fmt, ...)
{
    if (!m->cfg.log)
        return;
    char msg[1024];
    int k = snprintf(msg, sizeof msg, "txmgr %" PRIu64 " %s: ", m->cfg.chain_id, m->addr_name);
    if (k < 0 || (size_t)k >= sizeof msg)
        k = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
    va_end(ap);
    m->cfg.log(m->cfg.ud, lv, msg);
}

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static char *vformat(const char *fmt, va_list ap) FERRY_PRINTF(1, 0);

static char *vformat(const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    return xstrdup(buf);
}

/* ---- records ---- */

static void rec_unref(struct rec *r)
{
    if (!r || --r->refs > 0)
        return;
    for (unsigned i = 0; i < r->n_att; i++)
        free(r->att[i].raw);
    free(r->data);
    free(r->id);
    free(r->error);
    free(r);
}

static struct rec *rec_ref(struct rec *r)
{
    r->refs++;
    return r;
}

static struct rec *rec_new(const char *id)
{
    struct rec *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->id = xstrdup(id);
    if (!r->id) {
        free(r);
        return NULL;
    }
    r->refs = 1;
    r->mined = -1;
    return r;
}

static uint64_t id_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

/* The record of id. A resubmitted id may have its old final record in memory until that is
 * written: the live one wins. */
static struct rec *ht_find(const struct txmgr *m, const char *id)
{
    if (!m->n_buckets)
        return NULL;
    struct rec *found = NULL;
    for (struct rec *r = m->buckets[id_hash(id) & (m->n_buckets - 1)]; r; r = r->hnext)
        if (strcmp(r->id, id) == 0 && (!found || !txmgr_state_final(r->state)))
            found = r;
    return found;
}

static enum ferry_err ht_grow(struct txmgr *m)
{
    size_t nb = m->n_buckets ? m->n_buckets * 2 : 64;
    struct rec **b = calloc(nb, sizeof *b);
    if (!b)
        return ferry_fail(FERRY_ENOMEM, "txmgr: out of memory");
    for (size_t i = 0; i < m->n_buckets; i++)
        for (struct rec *r = m->buckets[i], *nx; r; r = nx) {
            nx = r->hnext;
            size_t j = id_hash(r->id) & (nb - 1);
            r->hnext = b[j];
            b[j] = r;
        }
    free(m->buckets);
    m->buckets = b;
    m->n_buckets = nb;
    return FERRY_OK;
}

/* Links r into the manager (which takes over the caller's reference). */
static enum ferry_err rec_link(struct txmgr *m, struct rec *r)
{
    if (m->n_ids + 1 > m->n_buckets) {
        enum ferry_err e = ht_grow(m);
        if (e)
            return e;
    }
    size_t j = id_hash(r->id) & (m->n_buckets - 1);
    r->hnext = m->buckets[j];
    m->buckets[j] = r;
    m->n_ids++;
    r->prev = m->recs_tail;
    r->next = NULL;
    if (m->recs_tail)
        m->recs_tail->next = r;
    else
        m->recs_head = r;
    m->recs_tail = r;
    r->linked = true;
    return FERRY_OK;
}

/* Unlinks r and drops the manager's reference. */
static void rec_unlink(struct txmgr *m, struct rec *r)
{
    if (!r->linked)
        return;
    struct rec **pp = &m->buckets[id_hash(r->id) & (m->n_buckets - 1)];
    while (*pp && *pp != r)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = r->hnext;
    m->n_ids--;
    if (r->prev)
        r->prev->next = r->next;
    else
        m->recs_head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        m->recs_tail = r->prev;
    r->linked = false;
    if (r->state == TXMGR_REFUSED)
        m->n_refused--;
    rec_unref(r);
}

static void queue_push(struct queue *q, struct rec *r)
{
    r->wnext = NULL;
    if (q->tail)
        q->tail->wnext = r;
    else
        q->head = r;
    q->tail = r;
}

static struct rec *queue_take_all(struct queue *q)
{
    struct rec *h = q->head;
    q->head = q->tail = NULL;
    return h;
}

/* Empties q, dropping its references; a submission still preparing goes on to `preparing` first
 * (NULL: none does). */
static void queue_drain(struct txmgr *m, struct queue *q, void (*preparing)(struct txmgr *, struct rec *))
{
    for (struct rec *r = queue_take_all(q), *nx; r; r = nx) {
        nx = r->wnext;
        if (preparing && r->state == TXMGR_PREPARING)
            preparing(m, r);
        rec_unref(r);
    }
}

/* ---- store keys and the record encoding ---- */

static void key_prefix(const struct txmgr *m, struct store_key *k, char tag)
{
    store_key_begin(k, STORE_KIND_TX);
    store_key_u64(k, m->cfg.chain_id);
    store_key_u8(k, (uint8_t)tag);
    store_key_bytes(k, m->addr, ADDRESS_LEN);
}

static void key_rec(const struct txmgr *m, struct store_key *k, uint64_t nonce)
{
    key_prefix(m, k, TAG_RECORD);
    store_key_u64(k, nonce);
}

static void key_id(const struct txmgr *m, struct store_key *k, const char *id)
{
    key_prefix(m, k, TAG_ID);
    store_key_bytes(k, id, strlen(id));
}

static bool add_q64(cJSON *o, const char *name, uint64_t v)
{
    char q[19];
    hex_u64_quantity(q, v);
    return cJSON_AddStringToObject(o, name, q) != NULL;
}

static char *rec_encode(const struct txmgr *m, const struct rec *r)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddNumberToObject(o, "v", RECORD_VERSION) && cJSON_AddStringToObject(o, "id", r->id) &&
              add_q64(o, "chain", m->cfg.chain_id) && cJSON_AddStringToObject(o, "from", m->addr_hex) &&
              add_q64(o, "nonce", r->nonce) && cJSON_AddStringToObject(o, "state", txmgr_state_name(r->state));
    cJSON *atts = ok ? cJSON_AddArrayToObject(o, "attempts") : NULL;
    ok = ok && atts;
    for (unsigned i = 0; ok && i < r->n_att; i++) {
        const struct attempt *a = &r->att[i];
        cJSON *x = cJSON_CreateObject();
        ok = x && cJSON_AddItemToArray(atts, x) && json_add_hex(x, "hash", a->hash, 32) &&
             json_add_hex(x, "raw", a->raw, a->raw_len) && add_q64(x, "block", a->sent_block) &&
             (!a->cancel || cJSON_AddTrueToObject(x, "cancel"));
    }
    if (ok && r->mined >= 0) {
        cJSON *x = cJSON_AddObjectToObject(o, "mined");
        ok = x && cJSON_AddNumberToObject(x, "attempt", r->mined) && add_q64(x, "block", r->block) &&
             json_add_hex(x, "block_hash", r->block_hash, 32) && cJSON_AddBoolToObject(x, "success", r->success) &&
             (!r->gas_used || add_q64(x, "gas_used", r->gas_used));
    }
    if (ok && r->error)
        ok = cJSON_AddStringToObject(o, "error", r->error) != NULL;
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static enum ferry_err q64(uint64_t *out, const cJSON *j, const char *what)
{
    if (!cJSON_IsString(j))
        return ferry_fail(FERRY_EINVAL, "%s is not a quantity", what);
    enum ferry_err e = hex_quantity_u64(out, j->valuestring);
    if (e)
        return ferry_fail_ctx(e, "%s", what);
    return FERRY_OK;
}

static enum ferry_err hex32(uint8_t out[32], const cJSON *j, const char *what)
{
    if (!cJSON_IsString(j))
        return ferry_fail(FERRY_EINVAL, "%s is not a hex string", what);
    enum ferry_err e = hex_decode_exact(out, 32, j->valuestring, HEX_PREFIX_REQUIRED);
    if (e)
        return ferry_fail_ctx(e, "%s", what);
    return FERRY_OK;
}

static void fees_of_tx(struct fees *f, const struct eth_tx *tx)
{
    memset(f, 0, sizeof *f);
    f->legacy = tx->type == ETH_TX_LEGACY;
    f->gas_price = tx->gas_price;
    f->max_fee = tx->max_fee_per_gas;
    f->tip = tx->max_priority_fee_per_gas;
}

/* Checks a signed raw transaction against what this manager would have made: our chain, our
 * nonce, our key; fills the attempt's fees and gas, and its hash. */
static enum ferry_err attempt_check(const struct txmgr *m, struct attempt *a, uint64_t nonce)
{
    struct eth_tx tx;
    enum ferry_err e = eth_tx_decode(&tx, a->raw, a->raw_len);
    if (e)
        return e;
    if (tx.chain_id != m->cfg.chain_id)
        return ferry_fail(FERRY_EINVAL, "transaction for chain %" PRIu64 ", not %" PRIu64, tx.chain_id,
                          m->cfg.chain_id);
    if (tx.nonce != nonce)
        return ferry_fail(FERRY_EINVAL, "transaction nonce %" PRIu64 " in the record of nonce %" PRIu64, tx.nonce,
                          nonce);
    uint8_t from[ADDRESS_LEN];
    if ((e = eth_tx_sender(&tx, from)))
        return e;
    if (memcmp(from, m->addr, ADDRESS_LEN) != 0)
        return ferry_fail(FERRY_EINVAL, "transaction signed by another key than %s", m->addr_name);
    keccak256(a->hash, a->raw, a->raw_len);
    fees_of_tx(&a->fees, &tx);
    a->gas = tx.gas_limit;
    return FERRY_OK;
}

/* Parses a stored record (its key gave the nonce). */
static enum ferry_err rec_decode(const struct txmgr *m, const uint8_t *val, size_t len, uint64_t nonce,
                                 struct rec **out)
{
    *out = NULL;
    enum ferry_err e = FERRY_OK;
    struct rec *r = NULL;
    cJSON *o = cJSON_ParseWithLength((const char *)val, len);
    if (!cJSON_IsObject(o)) {
        e = ferry_fail(FERRY_EINVAL, "not a JSON object");
        goto out;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "v");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "state");
    const cJSON *atts = cJSON_GetObjectItemCaseSensitive(o, "attempts");
    const cJSON *mined = cJSON_GetObjectItemCaseSensitive(o, "mined");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(o, "error");
    uint64_t n;
    if (!cJSON_IsNumber(v) || v->valueint != RECORD_VERSION) {
        e = ferry_fail(FERRY_EUNSUPPORTED, "record version is not %d", RECORD_VERSION);
        goto out;
    }
    if (!cJSON_IsString(id) || !id->valuestring[0] || strlen(id->valuestring) > TXMGR_ID_MAX) {
        e = ferry_fail(FERRY_EINVAL, "no valid id");
        goto out;
    }
    if ((e = q64(&n, cJSON_GetObjectItemCaseSensitive(o, "nonce"), "nonce")))
        goto out;
    if (n != nonce) {
        e = ferry_fail(FERRY_EINVAL, "nonce %" PRIu64 " under the key of nonce %" PRIu64, n, nonce);
        goto out;
    }
    if (!(r = rec_new(id->valuestring))) {
        e = ferry_fail(FERRY_ENOMEM, "out of memory");
        goto out;
    }
    r->nonce = nonce;
    if (!cJSON_IsString(st) || !state_from_name(st->valuestring, &r->state)) {
        e = ferry_fail(FERRY_EINVAL, "unknown state");
        goto out;
    }
    int na = cJSON_GetArraySize(atts);
    if (!cJSON_IsArray(atts) || na < 1 || na > TXMGR_MAX_ATTEMPTS) {
        e = ferry_fail(FERRY_EINVAL, "attempts must be an array of 1 to %d", TXMGR_MAX_ATTEMPTS);
        goto out;
    }
    for (const cJSON *x = atts->child; x; x = x->next) {
        struct attempt *a = &r->att[r->n_att];
        uint8_t hash[32];
        const cJSON *raw = cJSON_GetObjectItemCaseSensitive(x, "raw");
        const cJSON *cancel = cJSON_GetObjectItemCaseSensitive(x, "cancel");
        struct fbuf b;
        fbuf_init(&b, 1u << 22);
        if (!cJSON_IsString(raw) || hex_decode_buf(&b, raw->valuestring, HEX_PREFIX_REQUIRED) || !b.len) {
            fbuf_free(&b);
            e = ferry_fail(FERRY_EINVAL, "attempts[%u].raw is not hex bytes", r->n_att);
            goto out;
        }
        a->raw = fbuf_take(&b, &a->raw_len);
        r->n_att++;
        if ((e = hex32(hash, cJSON_GetObjectItemCaseSensitive(x, "hash"), "hash")) ||
            (e = q64(&a->sent_block, cJSON_GetObjectItemCaseSensitive(x, "block"), "block")) ||
            (e = attempt_check(m, a, nonce))) {
            e = ferry_fail_ctx(e, "attempts[%u]", r->n_att - 1);
            goto out;
        }
        if (memcmp(hash, a->hash, 32) != 0) {
            e = ferry_fail(FERRY_EINVAL, "attempts[%u].hash is not the hash of its raw bytes", r->n_att - 1);
            goto out;
        }
        a->cancel = cJSON_IsTrue(cancel);
        a->indexed = true;
    }
    if (mined) {
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(mined, "attempt");
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(mined, "success");
        if (!cJSON_IsNumber(at) || at->valueint < 0 || at->valueint >= (int)r->n_att || !cJSON_IsBool(ok)) {
            e = ferry_fail(FERRY_EINVAL, "mined must name an attempt and a success flag");
            goto out;
        }
        r->mined = at->valueint;
        r->success = cJSON_IsTrue(ok);
        if ((e = q64(&r->block, cJSON_GetObjectItemCaseSensitive(mined, "block"), "mined.block")) ||
            (e = hex32(r->block_hash, cJSON_GetObjectItemCaseSensitive(mined, "block_hash"), "mined.block_hash")))
            goto out;
        /* optional: records written before it was kept have none */
        const cJSON *gu = cJSON_GetObjectItemCaseSensitive(mined, "gas_used");
        if (gu && ((e = q64(&r->gas_used, gu, "mined.gas_used")) || r->gas_used > r->att[r->mined].gas)) {
            e = e ? e : ferry_fail(FERRY_EINVAL, "mined.gas_used is above the attempt's gas limit");
            goto out;
        }
    }
    bool needs_mined = r->state == TXMGR_MINED || r->state == TXMGR_CONFIRMED || r->state == TXMGR_REVERTED ||
                       r->state == TXMGR_CANCELLED;
    if (needs_mined != (r->mined >= 0)) {
        e = ferry_fail(FERRY_EINVAL, "state %s %s a mined attempt", txmgr_state_name(r->state),
                       needs_mined ? "needs" : "cannot have");
        goto out;
    }
    if (cJSON_IsString(err) && !(r->error = xstrdup(err->valuestring))) {
        e = ferry_fail(FERRY_ENOMEM, "out of memory");
        goto out;
    }
    r->stored = r->state;
    r->stored_any = true;
    *out = r;
    r = NULL;
out:
    cJSON_Delete(o);
    rec_unref(r);
    return e;
}

/* Reads the record with this nonce; FERRY_ENOTFOUND if there is none. */
static enum ferry_err rec_load(const struct txmgr *m, uint64_t nonce, struct rec **out)
{
    struct store_key k;
    key_rec(m, &k, nonce);
    uint8_t *val;
    size_t len;
    enum ferry_err e = store_get(m->store, &val, &len, k.b, k.len);
    if (e)
        return e;
    e = rec_decode(m, val, len, nonce, out);
    free(val);
    if (e)
        return ferry_fail_ctx(e, "txmgr: the record of chain %" PRIu64 " %s nonce %" PRIu64 " in the store",
                              m->cfg.chain_id, m->addr_name, nonce);
    return FERRY_OK;
}

/* ---- reports and the one door for state changes ---- */

static void fill_status(struct txmgr_status *st, const struct rec *r)
{
    memset(st, 0, sizeof *st);
    st->id = r->id;
    st->state = r->state;
    st->nonce = r->nonce;
    st->attempts = r->n_att;
    if (r->n_att)
        memcpy(st->tx_hash, r->att[r->mined >= 0 ? (unsigned)r->mined : r->n_att - 1].hash, 32);
    if (r->n_att)
        st->gas_limit = r->att[r->mined >= 0 ? (unsigned)r->mined : r->n_att - 1].gas;
    if (r->mined >= 0) {
        st->block_number = r->block;
        st->success = r->success;
        st->cancel = r->att[r->mined].cancel;
        st->gas_used = r->gas_used;
    }
    st->retryable = r->retryable;
    st->error = r->error;
}

static void queue_report(struct txmgr *m, const struct rec *r, bool durable)
{
    if (!m->cfg.on_status)
        return;
    if (m->n_reports == m->cap_reports) {
        size_t nc = m->cap_reports ? 2 * m->cap_reports : 16;
        struct report *nr = realloc(m->reports, nc * sizeof *nr);
        if (!nr) {
            mlog(m, TXMGR_LOG_ERROR, "out of memory: the report of %s (%s) is lost", r->id,
                 txmgr_state_name(r->state));
            return;
        }
        m->reports = nr;
        m->cap_reports = nc;
    }
    struct report *p = &m->reports[m->n_reports];
    fill_status(&p->st, r);
    p->id = xstrdup(r->id);
    p->error = xstrdup(r->error);
    if (!p->id) {
        free(p->error);
        return;
    }
    p->st.id = p->id;
    p->st.error = p->error;
    p->durable = durable;
    m->n_reports++;
    schedule_commit(m);
}

static bool persisted_state(enum txmgr_state s)
{
    return s != TXMGR_PREPARING && s != TXMGR_REFUSED && s != TXMGR_UNKNOWN;
}

/* The only place a record's state changes. why (printf-style, may be NULL) becomes the record's
 * error text when given. */
static void rec_enter(struct txmgr *m, struct rec *r, enum txmgr_state to, const char *why, ...) FERRY_PRINTF(4, 5);

static void rec_enter(struct txmgr *m, struct rec *r, enum txmgr_state to, const char *why, ...)
{
    enum txmgr_state from = r->state;
    if (why) {
        va_list ap;
        va_start(ap, why);
        char *s = vformat(why, ap);
        va_end(ap);
        if (s) {
            free(r->error);
            r->error = s;
        }
    } else if (to != TXMGR_PENDING || from != TXMGR_PENDING) {
        free(r->error);
        r->error = NULL;
    }
    r->state = to;
    enum txmgr_log_level lv = to == TXMGR_REFUSED || to == TXMGR_NONCE_TAKEN || to == TXMGR_REVERTED
                                  ? TXMGR_LOG_WARN
                                  : TXMGR_LOG_INFO;
    if (r->n_att)
        mlog(m, lv, "%s nonce %" PRIu64 ": %s -> %s%s%s", r->id, r->nonce, txmgr_state_name(from),
             txmgr_state_name(to), r->error ? ": " : "", r->error ? r->error : "");
    else
        mlog(m, lv, "%s: %s -> %s%s%s", r->id, txmgr_state_name(from), txmgr_state_name(to), r->error ? ": " : "",
             r->error ? r->error : "");
    switch (to) {
    case TXMGR_REFUSED:
        m->stats.refused++;
        if (r->linked)
            m->n_refused++;
        break;
    case TXMGR_MINED:
        m->stats.mined++;
        break;
    case TXMGR_CONFIRMED:
        m->stats.confirmed++;
        break;
    case TXMGR_REVERTED:
        m->stats.reverted++;
        break;
    case TXMGR_CANCELLED:
        m->stats.cancelled++;
        break;
    default:
        break;
    }
    if (persisted_state(to)) {
        r->dirty = true;
        schedule_commit(m);
    }
    queue_report(m, r, persisted_state(to));
}

/* Forgets the oldest refused submissions beyond REFUSED_KEPT. */
static void trim_refused(struct txmgr *m)
{
    for (struct rec *r = m->recs_head, *nx; r && m->n_refused > REFUSED_KEPT; r = nx) {
        nx = r->next;
        if (r->state == TXMGR_REFUSED && r->refs == 1)
            rec_unlink(m, r);
    }
}

static void refuse(struct txmgr *m, struct rec *r, bool retryable, const char *fmt, ...) FERRY_PRINTF(4, 5);

static void refuse(struct txmgr *m, struct rec *r, bool retryable, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(fmt, ap);
    va_end(ap);
    r->retryable = retryable;
    free(r->data);
    r->data = NULL;
    r->call.data = NULL;
    rec_enter(m, r, TXMGR_REFUSED, "%s", s ? s : "refused");
    free(s);
}

static void halt(struct txmgr *m, enum ferry_err e, const char *fmt, ...) FERRY_PRINTF(3, 4);

static void halt(struct txmgr *m, enum ferry_err e, const char *fmt, ...)
{
    if (m->phase == PH_HALTED)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->halt_why, sizeof m->halt_why, fmt, ap);
    va_end(ap);
    m->phase = PH_HALTED;
    m->halt_err = e ? e : FERRY_ESTATE;
    mlog(m, TXMGR_LOG_ERROR, "halted: %s", m->halt_why);
    loop_timer_stop(&m->poll_timer);
    loop_timer_stop(&m->start_timer);
    queue_drain(m, &m->fee_wait, NULL);
    queue_drain(m, &m->nonce_wait, NULL);
    for (struct rec *r = m->recs_head; r; r = r->next)
        if (r->state == TXMGR_PREPARING)
            refuse(m, r, false, "the transaction manager halted: %s", m->halt_why);
}

/* ---- tickets ---- */

static void on_rpc(void *ud, struct rpc_reply *replies, size_t n);

static struct ticket *ticket_new(struct txmgr *m, enum ticket_kind kind)
{
    struct ticket *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->m = m;
    t->kind = kind;
    t->next = m->tickets;
    if (m->tickets)
        m->tickets->prev = t;
    m->tickets = t;
    return t;
}

static void ticket_unlink(struct ticket *t)
{
    struct txmgr *m = t->m;
    if (!m)
        return;
    if (t->prev)
        t->prev->next = t->next;
    else
        m->tickets = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void sweep_free(struct sweep *sw)
{
    if (!sw)
        return;
    for (size_t i = 0; i < sw->n; i++) {
        rec_unref(sw->items[i].rec);
        cJSON_Delete(sw->items[i].result);
    }
    for (size_t i = 0; i < sw->n_replace; i++)
        rec_unref(sw->replace[i]);
    free(sw->replace);
    free(sw->replace_known);
    free(sw->items);
    free(sw);
}

static void ticket_free(struct ticket *t)
{
    rec_unref(t->rec);
    for (size_t i = 0; i < t->n && t->items; i++)
        rec_unref(t->items[i].rec);
    free(t->items);
    free(t);
}

/* Takes back a ticket whose call never started (NULL: none), with what it holds. */
static void ticket_drop(struct ticket *t)
{
    if (!t)
        return;
    ticket_unlink(t);
    ticket_free(t);
}

/* Starts a call or a batch for ticket t; on an immediate error the ticket is freed and the
 * error returned (the callback will not run). */
static enum ferry_err ticket_call(struct txmgr *m, struct ticket *t, const struct rpc_call_spec *calls, size_t n)
{
    enum ferry_err e = n == 1 ? rpc_call(m->rpc, calls[0].method, calls[0].params_json, NULL, on_rpc, t)
                              : rpc_batch(m->rpc, calls, n, NULL, on_rpc, t);
    if (e)
        ticket_drop(t);
    return e;
}

/* ---- JSON-RPC parameters ---- */

static char *call_params(const struct txmgr *m, const struct rec *r, bool with_block)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    bool ok = arr && o && cJSON_AddItemToArray(arr, o);
    if (!ok)
        cJSON_Delete(o);
    ok = ok && cJSON_AddStringToObject(o, "from", m->addr_hex);
    if (ok && !r->call.create)
        ok = json_add_hex(o, "to", r->call.to, ADDRESS_LEN);
    if (ok && r->call.data_len)
        ok = json_add_hex(o, "data", r->call.data, r->call.data_len);
    if (ok) {
        char q[67];
        u256_to_quantity(q, r->call.value);
        ok = cJSON_AddStringToObject(o, "value", q) != NULL;
    }
    if (ok && with_block)
        ok = cJSON_AddItemToArray(arr, cJSON_CreateString("latest"));
    char *s = ok ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return s;
}

/* ["0x<hex of p>"], malloc'd: the raw transaction or the hash a call takes as its one parameter. */
static char *hex_params(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 8);
    if (!s)
        return NULL;
    s[0] = '[';
    s[1] = '"';
    size_t k = 2 + hex_encode(s + 2, p, n, true);
    s[k++] = '"';
    s[k++] = ']';
    s[k] = 0;
    return s;
}

/* "message" of a failed reply, with the kind. */
static const char *err_text(const struct rpc_error *e, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s: %s", rpc_errkind_name(e->kind), e->message);
    return buf;
}

/* ---- the pipeline of a new submission ---- */

static void start_rpc_step(struct txmgr *m, struct rec *r, enum ticket_kind kind, const char *method,
                           bool with_block)
{
    char *params = call_params(m, r, with_block);
    struct ticket *t = params ? ticket_new(m, kind) : NULL;
    if (!t) {
        free(params);
        refuse(m, r, true, "out of memory building %s", method);
        return;
    }
    t->rec = rec_ref(r);
    struct rpc_call_spec spec = {method, params};
    enum ferry_err e = ticket_call(m, t, &spec, 1);
    free(params);
    if (e)
        refuse(m, r, true, "%s could not be sent: %s", method, ferry_errmsg());
}

static bool fees_fresh(const struct txmgr *m)
{
    if (!m->fee_valid || m->fee_head != m->head)
        return false;
    uint32_t ttl = m->cfg.fee_ttl_ms;
    return loop_now(m->loop) - m->fee_at_ms < ttl;
}

static void prep_fees_ready(struct txmgr *m, struct rec *r)
{
    enum ferry_err e = fees_quote(&r->fees, &m->mkt, &m->cfg.fees);
    if (e) {
        refuse(m, r, false, "%s", ferry_errmsg());
        return;
    }
    r->step = STEP_NONCE;
    prep_run(m, r);
}

static void prep_sign(struct txmgr *m, struct rec *r)
{
    struct eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = r->fees.legacy ? ETH_TX_LEGACY : ETH_TX_1559;
    tx.chain_id = m->cfg.chain_id;
    tx.nonce = m->next_nonce;
    tx.gas_limit = r->gas;
    tx.create = r->call.create;
    memcpy(tx.to, r->call.to, ADDRESS_LEN);
    tx.value = r->call.value;
    tx.data = r->call.data;
    tx.data_len = r->call.data_len;
    tx.gas_price = r->fees.gas_price;
    tx.max_fee_per_gas = r->fees.max_fee;
    tx.max_priority_fee_per_gas = r->fees.tip;
    struct fbuf raw;
    fbuf_init(&raw, TXMGR_DATA_MAX + 4096);
    enum ferry_err e = eth_tx_sign(m->signer, m->key, &tx);
    if (!e)
        e = eth_tx_serialize(&tx, &raw);
    if (e) {
        fbuf_free(&raw);
        refuse(m, r, false, "signing failed: %s", ferry_errmsg());
        return;
    }
    struct attempt *a = &r->att[0];
    a->raw = fbuf_take(&raw, &a->raw_len);
    keccak256(a->hash, a->raw, a->raw_len);
    a->fees = r->fees;
    a->gas = r->gas;
    a->sent_block = m->head;
    r->n_att = 1;
    r->nonce = m->next_nonce++;
    m->line_dirty = true;
    free(r->data);
    r->data = NULL;
    r->call.data = NULL;
    txmgr_crash_point("txmgr.after_sign");
    rec_enter(m, r, TXMGR_PENDING, NULL);
    /* broadcast after the write that carries it (on_commit) */
    queue_send(m, r, 0);
}

static void prep_run(struct txmgr *m, struct rec *r)
{
    if (m->phase == PH_HALTED) {
        refuse(m, r, false, "the transaction manager halted: %s", m->halt_why);
        return;
    }
    switch (r->step) {
    case STEP_DRY_RUN:
        /* One execution is both the dry run and the gas measure; a node without
         * eth_createAccessList (known per endpoint) takes the two-step path below. */
        if ((r->call.flags & TXMGR_GAS_ONE_RUN) && !r->call.gas_limit && !r->one_run_tried && !m->no_access_list) {
            r->one_run_tried = true;
            start_rpc_step(m, r, T_ONE_RUN, "eth_createAccessList", true);
            return;
        }
        if (r->call.flags & TXMGR_DRY_RUN) {
            start_rpc_step(m, r, T_DRY_RUN, "eth_call", true);
            return;
        }
        r->step = STEP_ESTIMATE;
        /* fall through */
    case STEP_ESTIMATE:
        if (!r->call.gas_limit) {
            start_rpc_step(m, r, T_ESTIMATE, "eth_estimateGas", false);
            return;
        }
        if (r->call.gas_limit > m->cfg.gas_cap) {
            refuse(m, r, false, "gas limit %" PRIu64 " is above the chain's gas cap %" PRIu64, r->call.gas_limit,
                   m->cfg.gas_cap);
            return;
        }
        r->gas = r->call.gas_limit;
        r->step = STEP_FEES;
        /* fall through */
    case STEP_FEES:
        if (fees_fresh(m)) {
            prep_fees_ready(m, r);
            return;
        }
        queue_push(&m->fee_wait, rec_ref(r));
        fees_fetch(m);
        return;
    case STEP_NONCE:
        if (m->phase != PH_READY) {
            queue_push(&m->nonce_wait, rec_ref(r));
            return;
        }
        prep_sign(m, r);
        return;
    }
}

/* The dry run and the estimate fail alike: a revert refuses for good (with its reason), a
 * transport error refuses retryably. Returns true when the reply was an error (and handled). */
static bool refused_by_reply(struct txmgr *m, struct rec *r, const struct rpc_reply *rep, const char *what)
{
    char buf[512];
    if (rep->err.kind == RPC_E_EXECUTION_REVERTED) {
        char reason[256];
        if (rep->err.revert_data)
            evm_revert_text(reason, sizeof reason, rep->err.revert_data);
        else
            snprintf(reason, sizeof reason, "%s", rep->err.message);
        refuse(m, r, false, "%s reverted: %s", what, reason);
        return true;
    }
    if (rep->err.kind != RPC_OK) {
        refuse(m, r, rpc_errkind_retryable(rep->err.kind), "%s failed: %s", what,
               err_text(&rep->err, buf, sizeof buf));
        return true;
    }
    return false;
}

static void on_dry_run(struct txmgr *m, struct rec *r, struct rpc_reply *rep)
{
    if (r->state != TXMGR_PREPARING || refused_by_reply(m, r, rep, "dry run"))
        return;
    r->step = STEP_ESTIMATE;
    prep_run(m, r);
}

/* The gas limit for a measured need est (+ headroom): refused when est + headroom alone passes
 * the cap; else (est + extra) * (100 + margin) / 100 rounded up, + headroom, at most the cap (a
 * need under the cap whose padding passes it is sent at the cap). */
static bool set_gas(struct txmgr *m, struct rec *r, uint64_t est, uint64_t extra, uint64_t headroom)
{
    uint64_t need = est > UINT64_MAX - headroom ? UINT64_MAX : est + headroom;
    if (need > m->cfg.gas_cap) {
        refuse(m, r, false, "needs %" PRIu64 " gas, above the chain's gas cap %" PRIu64, need, m->cfg.gas_cap);
        return false;
    }
    uint64_t base = est > UINT64_MAX - extra ? UINT64_MAX : est + extra;
    uint64_t margin = m->cfg.estimate_margin_pct;
    uint64_t pad = base / 100 * margin + (base % 100 * margin + 99) / 100;
    uint64_t gas = base > UINT64_MAX - pad ? UINT64_MAX : base + pad;
    gas = gas > UINT64_MAX - headroom ? UINT64_MAX : gas + headroom;
    r->gas = gas > m->cfg.gas_cap ? m->cfg.gas_cap : gas;
    return true;
}

static void on_estimate(struct txmgr *m, struct rec *r, struct rpc_reply *rep)
{
    if (r->state != TXMGR_PREPARING || refused_by_reply(m, r, rep, "gas estimation"))
        return;
    uint64_t est;
    if (!cJSON_IsString(rep->result) || hex_quantity_u64(&est, rep->result->valuestring)) {
        refuse(m, r, true, "gas estimation: the node's answer is not a quantity");
        return;
    }
    if (!set_gas(m, r, est, 0, 0))
        return;
    r->step = STEP_FEES;
    prep_run(m, r);
}

/* eth_createAccessList: one execution at the latest block, its gasUsed (+ the refund bound) the
 * measure. A revert
 * refuses like the dry run's (anvil answers it as an error, geth as an "error" field of the
 * result); an answer that cannot be used sends this call down the two-step path. */
static void on_one_run(struct txmgr *m, struct rec *r, struct rpc_reply *rep)
{
    if (r->state != TXMGR_PREPARING)
        return;
    if (rep->err.kind == RPC_E_METHOD_NOT_FOUND) {
        int ep = rep->err.endpoint;
        m->no_access_list |= ep >= 0 && ep < 31 ? 1u << ep : 1u << 31;
        mlog(m, TXMGR_LOG_INFO, "the node does not serve eth_createAccessList (%s): gas by eth_estimateGas",
             rep->err.message);
        prep_run(m, r);
        return;
    }
    if (rep->err.kind == RPC_E_NODE) {
        mlog(m, TXMGR_LOG_DEBUG, "eth_createAccessList failed (%s): gas by eth_estimateGas", rep->err.message);
        prep_run(m, r);
        return;
    }
    if (refused_by_reply(m, r, rep, "dry run"))
        return;
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(rep->result, "error");
    if (cJSON_IsString(err)) {
        refuse(m, r, false, "dry run reverted: %s", err->valuestring);
        return;
    }
    uint64_t used;
    const cJSON *gu = cJSON_GetObjectItemCaseSensitive(rep->result, "gasUsed");
    if (!cJSON_IsString(gu) || hex_quantity_u64(&used, gu->valuestring) || !used) {
        mlog(m, TXMGR_LOG_DEBUG, "eth_createAccessList: no gasUsed in the answer: gas by eth_estimateGas");
        prep_run(m, r);
        return;
    }
    /* gasUsed is after the refunds (cleared slots: up to a fifth of the gas spent, EIP-3529), but
     * the transaction needs the gas before them: up to gasUsed * 5/4 */
    if (!set_gas(m, r, used, used / 4 + (used % 4 != 0), r->call.gas_headroom))
        return;
    m->stats.gas_one_run++;
    r->step = STEP_FEES;
    prep_run(m, r);
}

/* ---- fees ---- */

/* The fee query is over (why: what failed, NULL when the fees are known): the submissions waiting
 * for it go on or are refused, then the sweep that wanted it is told. */
static void fees_done(struct txmgr *m, const char *why)
{
    if (why)
        mlog(m, TXMGR_LOG_WARN, "fees: %s", why);
    for (struct rec *r = queue_take_all(&m->fee_wait), *nx; r; r = nx) {
        nx = r->wnext;
        if (r->state == TXMGR_PREPARING) {
            if (why)
                refuse(m, r, true, "fees: %s", why);
            else
                prep_fees_ready(m, r);
        }
        rec_unref(r);
    }
    if (m->sweep_wants_fees) {
        m->sweep_wants_fees = false;
        sweep_fees(m, !why);
    }
}

static void fees_fetch(struct txmgr *m)
{
    if (m->fee_fetching)
        return;
    struct ticket *t = ticket_new(m, T_FEES);
    if (!t) {
        fees_done(m, "out of memory");
        return;
    }
    char params[96];
    struct rpc_call_spec spec;
    if (m->mode_known && m->legacy) {
        spec = (struct rpc_call_spec){"eth_gasPrice", "[]"};
    } else {
        char q[19];
        hex_u64_quantity(q, m->cfg.fees.history_blocks);
        snprintf(params, sizeof params, "[\"%s\",\"latest\",[%u]]", q, m->cfg.fees.percentile);
        spec = (struct rpc_call_spec){"eth_feeHistory", params};
    }
    m->fee_fetching = true;
    m->fee_req_head = m->head; /* the quote is as fresh as the head it was asked at */
    if (ticket_call(m, t, &spec, 1)) {
        m->fee_fetching = false;
        fees_done(m, ferry_errmsg());
    }
}

/* The node has no EIP-1559 fees (what says how it showed): legacy gas prices from now on. */
static void fees_go_legacy(struct txmgr *m, const char *what)
{
    mlog(m, TXMGR_LOG_INFO, "%s: legacy gas prices", what);
    m->mode_known = true;
    m->legacy = true;
    fees_fetch(m);
}

static void on_fees(struct txmgr *m, struct rpc_reply *rep)
{
    m->fee_fetching = false;
    char buf[512];
    bool history = !(m->mode_known && m->legacy);
    if (history && m->cfg.fees.mode == FEE_MODE_AUTO && rep->err.kind == RPC_E_METHOD_NOT_FOUND) {
        fees_go_legacy(m, "no eth_feeHistory");
        return;
    }
    if (rep->err.kind != RPC_OK) {
        fees_done(m, err_text(&rep->err, buf, sizeof buf));
        return;
    }
    struct fee_market mkt;
    enum ferry_err e;
    if (history) {
        bool no_base_fee;
        e = fees_parse_history(&mkt, &no_base_fee, rep->result);
        if (!e && no_base_fee && m->cfg.fees.mode == FEE_MODE_AUTO) {
            fees_go_legacy(m, "no base fee in eth_feeHistory");
            return;
        }
        if (!e && !m->mode_known) {
            m->mode_known = true;
            m->legacy = false;
            mlog(m, TXMGR_LOG_INFO, "EIP-1559 fees");
        }
    } else {
        e = fees_parse_gas_price(&mkt, rep->result);
    }
    if (e) {
        fees_done(m, ferry_errmsg());
        return;
    }
    m->mkt = mkt;
    m->fee_valid = true;
    m->fee_at_ms = loop_now(m->loop);
    m->fee_head = m->fee_req_head;
    fees_done(m, NULL);
}

/* ---- broadcasts ---- */

static void queue_send(struct txmgr *m, struct rec *r, unsigned att)
{
    if (r->att[att].sending)
        return;
    for (size_t i = 0; i < m->n_send; i++)
        if (m->to_send[i].rec == r && m->to_send[i].att == att)
            return;
    if (m->n_send == m->cap_send) {
        size_t nc = m->cap_send ? 2 * m->cap_send : 16;
        struct send_item *ns = realloc(m->to_send, nc * sizeof *ns);
        if (!ns) {
            mlog(m, TXMGR_LOG_ERROR, "out of memory: %s nonce %" PRIu64 " is sent at the next sweep", r->id,
                 r->nonce);
            return;
        }
        m->to_send = ns;
        m->cap_send = nc;
    }
    m->to_send[m->n_send++] = (struct send_item){rec_ref(r), att};
    r->att[att].accepted = false; /* until this broadcast says otherwise */
    schedule_commit(m);
}

static int by_nonce(const void *a, const void *b)
{
    const struct send_item *x = a, *y = b;
    if (x->rec->nonce != y->rec->nonce)
        return x->rec->nonce < y->rec->nonce ? -1 : 1;
    return x->att < y->att ? -1 : x->att > y->att;
}

/* Starts the broadcast of items[0..n) (references taken over). On failure the references are
 * dropped: the sweep sends them again when the node does not know them. */
static void send_chunk(struct txmgr *m, struct send_item *items, size_t n)
{
    struct ticket *t = ticket_new(m, T_SEND);
    struct rpc_call_spec *specs = t ? calloc(n, sizeof *specs) : NULL;
    bool ok = specs != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        const struct attempt *a = &items[i].rec->att[items[i].att];
        specs[i].method = "eth_sendRawTransaction";
        specs[i].params_json = hex_params(a->raw, a->raw_len);
        ok = specs[i].params_json != NULL;
    }
    if (ok) {
        t->items = items;
        t->n = n;
        if (ticket_call(m, t, specs, n) == FERRY_OK) {
            for (size_t i = 0; i < n; i++)
                items[i].rec->att[items[i].att].sending = true;
        } else {
            m->stats.send_failed += n; /* ticket_call freed the ticket and its references */
            mlog(m, TXMGR_LOG_ERROR, "broadcast could not start: %s", ferry_errmsg());
        }
    } else {
        ticket_drop(t); /* before t->items is set: the items' references are dropped here */
        for (size_t i = 0; i < n; i++)
            rec_unref(items[i].rec);
        free(items);
        m->stats.send_failed += n;
        mlog(m, TXMGR_LOG_ERROR, "out of memory: %zu broadcast(s) wait for the next sweep", n);
    }
    for (size_t i = 0; specs && i < n; i++)
        free((char *)specs[i].params_json);
    free(specs);
}

static void send_queued(struct txmgr *m)
{
    if (!m->n_send)
        return;
    /* Lower nonces first, in one batch: a node that sees a gap may refuse the later ones. */
    qsort(m->to_send, m->n_send, sizeof *m->to_send, by_nonce);
    for (size_t at = 0; at < m->n_send; at += SEND_CHUNK) {
        size_t n = m->n_send - at < SEND_CHUNK ? m->n_send - at : SEND_CHUNK;
        struct send_item *items = malloc(n * sizeof *items);
        if (!items) {
            for (size_t i = 0; i < n; i++)
                rec_unref(m->to_send[at + i].rec);
            m->stats.send_failed += n;
            mlog(m, TXMGR_LOG_ERROR, "out of memory: %zu broadcast(s) wait for the next sweep", n);
            continue;
        }
        memcpy(items, m->to_send + at, n * sizeof *items);
        send_chunk(m, items, n);
    }
    m->n_send = 0;
}

static void set_problem(struct txmgr *m, struct rec *r, const char *fmt, ...) FERRY_PRINTF(3, 4);

/* A problem of a PENDING record that is not a state change (shown by txmgr_status). */
static void set_problem(struct txmgr *m, struct rec *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(fmt, ap);
    va_end(ap);
    if (!s)
        return;
    bool same = r->error && strcmp(r->error, s) == 0;
    free(r->error);
    r->error = s;
    if (!same)
        mlog(m, TXMGR_LOG_WARN, "%s nonce %" PRIu64 ": %s", r->id, r->nonce, s);
}

static void on_sent(struct txmgr *m, struct rec *r, unsigned att, struct rpc_reply *rep)
{
    struct attempt *a = &r->att[att];
    a->sending = false;
    if (r->state != TXMGR_PENDING)
        return; /* mined or final meanwhile: whatever the node says no longer matters */
    char buf[512];
    switch (rep->err.kind) {
    case RPC_OK: {
        uint8_t h[32];
        if (!cJSON_IsString(rep->result) || hex_decode_exact(h, 32, rep->result->valuestring, HEX_PREFIX_REQUIRED) ||
            memcmp(h, a->hash, 32) != 0)
            mlog(m, TXMGR_LOG_WARN, "%s nonce %" PRIu64 ": the node answered the broadcast with another hash", r->id,
                 r->nonce);
        m->stats.sent++;
        a->accepted = true;
        if (r->error && strncmp(r->error, "send: ", 6) == 0) {
            free(r->error);
            r->error = NULL;
        }
        txmgr_crash_point("txmgr.after_broadcast");
        return;
    }
    case RPC_E_ALREADY_KNOWN:
        m->stats.sent++; /* in the pool: fine */
        a->accepted = true;
        return;
    default:
        break;
    }
    m->stats.send_failed++;
    switch (rep->err.kind) {
    case RPC_E_NONCE_TOO_LOW:
        /* Maybe ours: a retried broadcast whose first try went through, or an older attempt that
         * was mined. The next sweep looks at the receipts before concluding anything. */
        r->nonce_low_seen = true;
        mlog(m, TXMGR_LOG_INFO, "%s nonce %" PRIu64 ": nonce too low; checking our receipts", r->id, r->nonce);
        txmgr_poke(m);
        break;
    case RPC_E_UNDERPRICED:
        r->replace_now = true;
        m->fee_valid = false; /* the node wants more than our quote said: ask again */
        set_problem(m, r, "send: %s", err_text(&rep->err, buf, sizeof buf));
        txmgr_poke(m);
        break;
    case RPC_E_EXECUTION_REVERTED:
        /* A node that simulates broadcasts will never take it: free the nonce for the ones after. */
        set_problem(m, r, "send: %s; cancelling", err_text(&rep->err, buf, sizeof buf));
        r->cancel_requested = true;
        r->replace_now = true;
        txmgr_poke(m);
        break;
    default:
        /* Transport failures, gaps, funds, replacement underpriced: the sweep sends it again
         * when the node does not know it, or replaces it when it is due. */
        set_problem(m, r, "send: %s", err_text(&rep->err, buf, sizeof buf));
        break;
    }
}

/* ---- the end-of-turn commit ---- */

static enum ferry_err persist(struct txmgr *m, unsigned *new_attempts)
{
    struct store_batch *b;
    enum ferry_err e = store_batch_begin(m->store, &b);
    if (e)
        return e;
    unsigned fresh = 0;
    for (struct rec *r = m->recs_head; r; r = r->next) {
        if (!r->dirty)
            continue;
        struct store_key k;
        key_rec(m, &k, r->nonce);
        char *json = rec_encode(m, r);
        if (!json) {
            store_batch_free(b);
            return ferry_fail(FERRY_ENOMEM, "txmgr: out of memory encoding %s", r->id);
        }
        store_put(b, k.b, k.len, json, strlen(json));
        free(json);
        if (!r->stored_any) {
            struct store_key ik;
            key_id(m, &ik, r->id);
            uint8_t be[8];
            store_be64_put(be, r->nonce);
            store_put(b, ik.b, ik.len, be, sizeof be);
        }
        for (unsigned i = 0; i < r->n_att; i++)
            if (!r->att[i].indexed) {
                store_index_put(b, STORE_IDX_TX_HASH, r->att[i].hash, 32, k.b, k.len);
                fresh++;
            }
        uint8_t old = (uint8_t)r->stored, now = (uint8_t)r->state;
        store_index_move(b, STORE_IDX_TX_STATE, r->stored_any ? &old : NULL, 1, &now, 1, k.b, k.len);
    }
    if (m->line_dirty) {
        struct store_key k;
        key_prefix(m, &k, TAG_LINE);
        char v[64], q[19];
        hex_u64_quantity(q, m->next_nonce);
        int n = snprintf(v, sizeof v, "{\"v\":1,\"next\":\"%s\"}", q);
        store_put(b, k.b, k.len, v, (size_t)n);
    }
    e = store_commit_sync(b);
    if (e)
        return e;
    for (struct rec *r = m->recs_head; r; r = r->next) {
        if (!r->dirty)
            continue;
        r->dirty = false;
        r->stored = r->state;
        r->stored_any = true;
        for (unsigned i = 0; i < r->n_att; i++)
            r->att[i].indexed = true;
    }
    m->line_dirty = false;
    m->line_stored = true;
    m->stats.persisted += fresh;
    *new_attempts = fresh;
    return FERRY_OK;
}

static bool any_dirty(const struct txmgr *m)
{
    if (m->line_dirty)
        return true;
    for (const struct rec *r = m->recs_head; r; r = r->next)
        if (r->dirty)
            return true;
    return false;
}

static void drop_sends(struct txmgr *m)
{
    for (size_t i = 0; i < m->n_send; i++)
        rec_unref(m->to_send[i].rec);
    m->n_send = 0;
}

static void deliver_reports(struct txmgr *m, bool drop_durable)
{
    /* Callbacks may queue more reports (a submit of a known id): take the queue first. */
    while (m->n_reports && !m->dying) {
        struct report *list = m->reports;
        size_t n = m->n_reports;
        m->reports = NULL;
        m->n_reports = m->cap_reports = 0;
        m->delivering = true;
        for (size_t i = 0; i < n; i++) {
            if (!m->dying && !(drop_durable && list[i].durable))
                m->cfg.on_status(m->cfg.ud, &list[i].st);
            free(list[i].id);
            free(list[i].error);
        }
        m->delivering = false;
        free(list);
        drop_durable = false;
    }
}

static void on_commit(struct loop_defer *d, void *ud)
{
    struct txmgr *m = ud;
    unsigned fresh = 0;
    bool failed = false;
    if (m->phase != PH_HALTED && any_dirty(m)) {
        enum ferry_err e = persist(m, &fresh);
        if (e) {
            failed = true;
            halt(m, e, "the store refused the write-ahead: %s; restart ferry", ferry_errmsg());
        }
    }
    if (m->phase == PH_HALTED) {
        drop_sends(m); /* never broadcast what may not be durable */
    } else {
        if (fresh && m->n_send)
            txmgr_crash_point("txmgr.after_persist");
        send_queued(m);
        if (m->poke_due) {
            m->poke_due = false;
            sweep_start(m);
        }
        /* Final records live on in the store only. */
        for (struct rec *r = m->recs_head, *nx; r; r = nx) {
            nx = r->next;
            if (txmgr_state_final(r->state) && r->state != TXMGR_REFUSED && !r->dirty)
                rec_unlink(m, r);
        }
    }
    deliver_reports(m, failed);
    if (m->dying)
        really_free(m);
}

static void schedule_commit(struct txmgr *m)
{
    loop_defer(&m->commit);
}

/* ---- sweeps ---- */

static void sweep_chunk(struct txmgr *m, struct ticket *t, struct rpc_reply *replies, size_t n);

static void sweep_start(struct txmgr *m)
{
    if (m->phase != PH_READY || m->dying)
        return;
    if (m->sweep) {
        m->sweep_again = true;
        return;
    }
    size_t n = 2;
    for (struct rec *r = m->recs_head; r; r = r->next)
        n += r->state == TXMGR_PENDING ? 2 * r->n_att : r->state == TXMGR_MINED ? 1 : 0;
    if (n == 2)
        return; /* nothing to track */
    struct sweep *sw = calloc(1, sizeof *sw);
    if (!sw || !(sw->items = calloc(n, sizeof *sw->items))) {
        free(sw);
        mlog(m, TXMGR_LOG_ERROR, "out of memory: sweep skipped");
        return;
    }
    sw->items[0].what = SW_HEAD;
    sw->items[1].what = SW_NONCE;
    size_t k = 2;
    for (struct rec *r = m->recs_head; r; r = r->next) {
        if (r->state == TXMGR_PENDING) {
            for (unsigned i = 0; i < r->n_att; i++)
                sw->items[k++] = (struct sweep_item){SW_RECEIPT, rec_ref(r), i, NULL, false};
            for (unsigned i = 0; i < r->n_att; i++)
                sw->items[k++] = (struct sweep_item){SW_KNOWN, rec_ref(r), i, NULL, false};
        } else if (r->state == TXMGR_MINED) {
            sw->items[k++] = (struct sweep_item){SW_RECEIPT, rec_ref(r), (unsigned)r->mined, NULL, false};
        }
    }
    sw->n = n;
    m->sweep = sw;
    m->stats.sweeps++;
    char nonce_params[80];
    snprintf(nonce_params, sizeof nonce_params, "[\"%s\",\"latest\"]", m->addr_hex);
    for (size_t at = 0; at < n; at += SWEEP_CHUNK) {
        size_t c = n - at < SWEEP_CHUNK ? n - at : SWEEP_CHUNK;
        struct rpc_call_spec *specs = calloc(c, sizeof *specs);
        struct ticket *t = specs ? ticket_new(m, T_SWEEP) : NULL;
        bool ok = t != NULL;
        for (size_t i = 0; ok && i < c; i++) {
            struct sweep_item *it = &sw->items[at + i];
            switch (it->what) {
            case SW_HEAD:
                specs[i] = (struct rpc_call_spec){"eth_blockNumber", NULL};
                break;
            case SW_NONCE:
                specs[i] = (struct rpc_call_spec){"eth_getTransactionCount", xstrdup(nonce_params)};
                ok = specs[i].params_json != NULL;
                break;
            case SW_RECEIPT:
            case SW_KNOWN:
                specs[i].method = it->what == SW_RECEIPT ? "eth_getTransactionReceipt" : "eth_getTransactionByHash";
                specs[i].params_json = hex_params(it->rec->att[it->att].hash, 32);
                ok = specs[i].params_json != NULL;
                break;
            }
        }
        if (ok) {
            t->sw = sw;
            t->first = at;
            t->n = 0; /* no send items */
            sw->chunks_left++;
            if (ticket_call(m, t, specs, c)) {
                sw->chunks_left--;
                sw->failed = true;
                snprintf(sw->why, sizeof sw->why, "%s", ferry_errmsg());
            }
        } else {
            ticket_drop(t);
            sw->failed = true;
            snprintf(sw->why, sizeof sw->why, "out of memory");
        }
        for (size_t i = 0; specs && i < c; i++)
            free((char *)specs[i].params_json);
        free(specs);
        if (sw->failed)
            break;
    }
    if (!sw->chunks_left) { /* nothing went out */
        mlog(m, TXMGR_LOG_WARN, "sweep failed: %s", sw->why);
        sweep_end(m);
    }
}

static void sweep_end(struct txmgr *m)
{
    sweep_free(m->sweep);
    m->sweep = NULL;
    if (m->sweep_again) {
        m->sweep_again = false;
        sweep_start(m);
    }
}

/* Reads a receipt of attempt a: FERRY_ENOTFOUND when the node has none (null, or pending without
 * a block). gasUsed is optional (0 when absent), but when present a quantity within a's limit. */
static enum ferry_err parse_receipt(const cJSON *j, const struct attempt *a, uint64_t *block, uint8_t bhash[32],
                                    bool *success, uint64_t *gas_used)
{
    const uint8_t *want = a->hash;
    if (!j || cJSON_IsNull(j))
        return FERRY_ENOTFOUND;
    if (!cJSON_IsObject(j))
        return ferry_fail(FERRY_EINVAL, "receipt is not an object");
    const cJSON *bn = cJSON_GetObjectItemCaseSensitive(j, "blockNumber");
    if (!bn || cJSON_IsNull(bn))
        return FERRY_ENOTFOUND;
    uint8_t h[32];
    enum ferry_err e;
    if ((e = hex32(h, cJSON_GetObjectItemCaseSensitive(j, "transactionHash"), "receipt transactionHash")))
        return e;
    if (memcmp(h, want, 32) != 0)
        return ferry_fail(FERRY_EINVAL, "receipt of another transaction");
    if ((e = q64(block, bn, "receipt blockNumber")) ||
        (e = hex32(bhash, cJSON_GetObjectItemCaseSensitive(j, "blockHash"), "receipt blockHash")))
        return e;
    const cJSON *gu = cJSON_GetObjectItemCaseSensitive(j, "gasUsed");
    *gas_used = 0;
    if (gu && (e = q64(gas_used, gu, "receipt gasUsed")))
        return e;
    if (*gas_used > a->gas)
        return ferry_fail(FERRY_EINVAL, "receipt gasUsed %" PRIu64 " is above the transaction's gas limit %" PRIu64,
                          *gas_used, a->gas);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    if (!st) { /* before Byzantium receipts had no status */
        *success = true;
        return FERRY_OK;
    }
    uint64_t s;
    if ((e = q64(&s, st, "receipt status")))
        return e;
    if (s > 1)
        return ferry_fail(FERRY_EINVAL, "receipt status %" PRIu64 " is neither 0 nor 1", s);
    *success = s == 1;
    return FERRY_OK;
}

/* head: from the same node and batch as the receipt (a watcher's newer head would count blocks
 * this node may not have). */
static void check_depth(struct txmgr *m, struct rec *r, uint64_t head)
{
    if (r->block > head || head - r->block < m->cfg.confirmations)
        return;
    if (r->att[r->mined].cancel)
        rec_enter(m, r, TXMGR_CANCELLED, "cancelled: a no-op transfer used nonce %" PRIu64 " (block %" PRIu64 ")",
                  r->nonce, r->block);
    else if (r->success)
        rec_enter(m, r, TXMGR_CONFIRMED, NULL);
    else
        rec_enter(m, r, TXMGR_REVERTED, "reverted in block %" PRIu64, r->block);
}

static void skip_nonces(struct txmgr *m, uint64_t latest)
{
    if (latest <= m->next_nonce)
        return;
    mlog(m, TXMGR_LOG_WARN,
         "the account's nonce is %" PRIu64 " but the next nonce of this manager was %" PRIu64
         ": someone else uses this key; skipping %" PRIu64 " nonce(s)",
         latest, m->next_nonce, latest - m->next_nonce);
    m->stats.nonce_skips += latest - m->next_nonce;
    m->next_nonce = latest;
    m->line_dirty = true;
    schedule_commit(m);
}

/* The lowest nonce of a PENDING record (waiting for a receipt); false when none is. */
static bool lowest_pending(const struct txmgr *m, uint64_t *nonce)
{
    bool any = false;
    for (const struct rec *r = m->recs_head; r; r = r->next)
        if (r->state == TXMGR_PENDING && (!any || r->nonce < *nonce)) {
            *nonce = r->nonce;
            any = true;
        }
    return any;
}

/* Notes which PENDING nonce is the lowest and since which head; head: the sweep's. A record
 * that took over from a lower one did so now. One that is the lowest while nothing was pending
 * at the last look has been it since it was sent: 0, so that its attempt's block counts. */
static void track_lowest(struct txmgr *m, uint64_t head)
{
    uint64_t low = 0;
    bool any = lowest_pending(m, &low);
    if (any && !(m->low_any && low == m->low_nonce))
        m->low_since = m->low_any ? head : 0;
    m->low_any = any;
    m->low_nonce = low;
}

static void add_replacement(struct sweep *sw, struct rec *r, bool known)
{
    struct rec **nr = realloc(sw->replace, (sw->n_replace + 1) * sizeof *nr);
    if (!nr)
        return;
    sw->replace = nr;
    bool *nk = realloc(sw->replace_known, (sw->n_replace + 1) * sizeof *nk);
    if (!nk)
        return;
    sw->replace_known = nk;
    sw->replace[sw->n_replace] = rec_ref(r);
    sw->replace_known[sw->n_replace++] = known;
}

static void resend_latest(struct txmgr *m, struct rec *r, const char *why)
{
    mlog(m, TXMGR_LOG_INFO, "%s nonce %" PRIu64 ": %s; sending attempt %u again", r->id, r->nonce, why, r->n_att);
    m->stats.dropped_resent++;
    r->unknown_suspect = false; /* the new broadcast starts the looks over */
    queue_send(m, r, r->n_att - 1);
}

static void sweep_pending(struct txmgr *m, struct sweep *sw, struct rec *r, size_t first, uint64_t latest)
{
    unsigned n = r->n_att;
    struct sweep_item *rc = &sw->items[first], *kn = &sw->items[first + n];
    for (unsigned i = 0; i < n; i++)
        if (!rc[i].answered)
            return; /* ask again next time */
    for (unsigned i = 0; i < n; i++) {
        uint64_t block, gas_used;
        uint8_t bh[32];
        bool ok;
        enum ferry_err e = parse_receipt(rc[i].result, &r->att[i], &block, bh, &ok, &gas_used);
        if (e == FERRY_ENOTFOUND)
            continue;
        if (e) {
            mlog(m, TXMGR_LOG_WARN, "%s nonce %" PRIu64 ": bad receipt: %s", r->id, r->nonce, ferry_errmsg());
            return;
        }
        r->mined = (int)i;
        r->block = block;
        memcpy(r->block_hash, bh, 32);
        r->success = ok;
        r->gas_used = gas_used;
        r->taken_suspect = r->unknown_suspect = r->nonce_low_seen = r->replace_now = false;
        if (i + 1 < n)
            mlog(m, TXMGR_LOG_INFO, "%s nonce %" PRIu64 ": attempt %u was mined; forgetting %u later one(s)", r->id,
                 r->nonce, i + 1, n - i - 1);
        rec_enter(m, r, TXMGR_MINED, NULL);
        txmgr_crash_point("txmgr.after_mined");
        check_depth(m, r, sw->head);
        return;
    }
    if (latest > r->nonce) {
        /* The nonce is used and none of our attempts has a receipt. Receipts and the nonce may
         * come from nodes a block apart: conclude on the second look, or at once when a
         * broadcast was already told "nonce too low". */
        if (r->taken_suspect || r->nonce_low_seen) {
            m->stats.nonce_skips++;
            rec_enter(m, r, TXMGR_NONCE_TAKEN,
                      "nonce %" PRIu64 " was used by another transaction from this key (the account's nonce is %" PRIu64
                      ") and none of our %u attempt(s) was mined; submit again for a new nonce",
                      r->nonce, latest, n);
        } else {
            r->taken_suspect = true;
        }
        return;
    }
    r->taken_suspect = false;
    for (unsigned i = 0; i < n; i++)
        if (r->att[i].sending)
            return;
    bool known = false;
    for (unsigned i = 0; i < n; i++)
        if (kn[i].answered && kn[i].result && !cJSON_IsNull(kn[i].result))
            known = true;
    const struct attempt *last = &r->att[n - 1];
    /* A node that took the latest attempt may still answer null for a while (anvil queueing it
     * behind a gap, or mining it just now): conclude it was dropped on the second look. One
     * whose broadcast failed, or that was never confirmed sent, is sent again at once. */
    if (known) {
        r->unknown_suspect = false;
    } else if (last->accepted && !r->unknown_suspect) {
        r->unknown_suspect = true;
        mlog(m, TXMGR_LOG_DEBUG, "%s nonce %" PRIu64 ": the node does not know attempt %u; looking again next sweep",
             r->id, r->nonce, n);
        known = true; /* not sent again at this sweep; a due replacement still goes ahead */
    }
    bool cancel_due = r->cancel_requested && !last->cancel;
    /* Age alone makes only the lowest pending nonce due: the ones behind it cannot be mined
     * before it, and a fee bump would not change that. */
    bool lowest = m->low_any && r->nonce == m->low_nonce;
    uint64_t since = last->sent_block > m->low_since ? last->sent_block : m->low_since;
    bool aged = lowest && sw->head >= since + m->cfg.replace_after_blocks;
    bool due = r->replace_now || cancel_due || aged;
    if (due && n < m->cfg.max_attempts) {
        /* Whatever the market, the raise alone may pass a cap: then no quote is needed. */
        struct fees nf;
        struct fee_market none;
        memset(&none, 0, sizeof none);
        none.legacy = last->fees.legacy;
        if (fees_bump(&nf, &last->fees, &none, &m->cfg.fees) == FERRY_OK) {
            add_replacement(sw, r, known);
            return;
        }
        m->stats.capped++;
        if (!r->cap_logged) {
            r->cap_logged = true;
            mlog(m, TXMGR_LOG_WARN, "%s nonce %" PRIu64 ": %s; waiting at these fees", r->id, r->nonce,
                 ferry_errmsg());
        }
        if (!known)
            resend_latest(m, r, "the node does not know it");
        return;
    }
    if (due && !r->full_logged) {
        r->full_logged = true;
        mlog(m, TXMGR_LOG_WARN, "%s nonce %" PRIu64 ": %u attempts made, no more replacements", r->id, r->nonce, n);
    }
    if (!known)
        resend_latest(m, r, "the node does not know it");
}

static void sweep_mined(struct txmgr *m, struct sweep *sw, struct sweep_item *it, struct rec *r)
{
    if (!it->answered)
        return;
    uint64_t block, gas_used;
    uint8_t bh[32];
    bool ok;
    enum ferry_err e = parse_receipt(it->result, &r->att[r->mined], &block, bh, &ok, &gas_used);
    if (e == FERRY_ENOTFOUND) {
        m->stats.reorged++;
        uint64_t was = r->block;
        r->mined = -1;
        rec_enter(m, r, TXMGR_PENDING, "reorg: the receipt in block %" PRIu64 " is gone", was);
        return;
    }
    if (e) {
        mlog(m, TXMGR_LOG_WARN, "%s nonce %" PRIu64 ": bad receipt: %s", r->id, r->nonce, ferry_errmsg());
        return;
    }
    if (block != r->block || memcmp(bh, r->block_hash, 32) != 0) {
        mlog(m, TXMGR_LOG_INFO, "%s nonce %" PRIu64 ": now in block %" PRIu64 " (was %" PRIu64 ", reorg)", r->id,
             r->nonce, block, r->block);
        m->stats.reorged++;
        r->block = block;
        memcpy(r->block_hash, bh, 32);
        r->success = ok;
        r->gas_used = gas_used;
        r->dirty = true;
        schedule_commit(m);
        return; /* the depth counts from the new block, seen again next time */
    }
    check_depth(m, r, sw->head);
}

static void sweep_process(struct txmgr *m, struct sweep *sw)
{
    if (sw->failed) {
        mlog(m, TXMGR_LOG_WARN, "sweep failed: %s", sw->why);
        sweep_end(m);
        return;
    }
    uint64_t head, latest;
    if (!cJSON_IsString(sw->items[0].result) || hex_quantity_u64(&head, sw->items[0].result->valuestring) ||
        !cJSON_IsString(sw->items[1].result) || hex_quantity_u64(&latest, sw->items[1].result->valuestring)) {
        mlog(m, TXMGR_LOG_WARN, "sweep: the head or the account's nonce is not a quantity");
        sweep_end(m);
        return;
    }
    sw->head = head;
    if (head > m->head) {
        m->head = head;
        m->fee_valid = false; /* a new block: a new market */
    }
    skip_nonces(m, latest);
    track_lowest(m, head);
    /* Items come grouped by record: a PENDING one as its receipts then its lookups, a MINED one
     * as the receipt of its mined attempt. A record that changed meanwhile waits for the next. */
    for (size_t i = 2; i < sw->n;) {
        struct rec *r = sw->items[i].rec;
        size_t n = 1;
        while (i + n < sw->n && sw->items[i + n].rec == r)
            n++;
        if (sw->items[i + n - 1].what == SW_KNOWN) {
            if (r->state == TXMGR_PENDING && r->n_att == n / 2)
                sweep_pending(m, sw, r, i, latest);
        } else if (r->state == TXMGR_MINED && r->mined == (int)sw->items[i].att) {
            sweep_mined(m, sw, &sw->items[i], r);
        }
        i += n;
    }
    track_lowest(m, head); /* the next one takes over at this head when the lowest was mined */
    if (!sw->n_replace) {
        sweep_end(m);
        return;
    }
    if (fees_fresh(m)) {
        sweep_fees(m, true);
        return;
    }
    m->sweep_wants_fees = true;
    fees_fetch(m);
}

/* Builds the replacement of r's latest attempt with fees (a cancel when asked). */
static void replace(struct txmgr *m, struct rec *r, bool known)
{
    struct attempt *last = &r->att[r->n_att - 1];
    struct fees nf;
    enum ferry_err e = fees_bump(&nf, &last->fees, &m->mkt, &m->cfg.fees);
    if (e) {
        m->stats.capped++;
        if (!r->cap_logged) {
            r->cap_logged = true;
            mlog(m, TXMGR_LOG_WARN, "%s nonce %" PRIu64 ": %s", r->id, r->nonce, ferry_errmsg());
        }
        if (!known)
            resend_latest(m, r, "the node does not know it");
        return;
    }
    struct eth_tx tx;
    if ((e = eth_tx_decode(&tx, last->raw, last->raw_len))) {
        mlog(m, TXMGR_LOG_ERROR, "%s nonce %" PRIu64 ": cannot decode our own attempt: %s", r->id, r->nonce,
             ferry_errmsg());
        return;
    }
    bool cancel = last->cancel || r->cancel_requested;
    if (cancel) {
        tx.create = false;
        memcpy(tx.to, m->addr, ADDRESS_LEN);
        tx.value = u256_from_u64(0);
        tx.data = NULL;
        tx.data_len = 0;
        tx.gas_limit = CANCEL_GAS;
    }
    tx.gas_price = nf.gas_price;
    tx.max_fee_per_gas = nf.max_fee;
    tx.max_priority_fee_per_gas = nf.tip;
    tx.is_signed = false;
    struct fbuf raw;
    fbuf_init(&raw, TXMGR_DATA_MAX + 4096);
    if (!(e = eth_tx_sign(m->signer, m->key, &tx)))
        e = eth_tx_serialize(&tx, &raw); /* tx.data still points into last->raw: alive */
    if (e) {
        fbuf_free(&raw);
        mlog(m, TXMGR_LOG_ERROR, "%s nonce %" PRIu64 ": signing the replacement failed: %s", r->id, r->nonce,
             ferry_errmsg());
        return;
    }
    struct attempt *a = &r->att[r->n_att];
    memset(a, 0, sizeof *a);
    a->raw = fbuf_take(&raw, &a->raw_len);
    keccak256(a->hash, a->raw, a->raw_len);
    a->fees = nf;
    a->gas = tx.gas_limit;
    a->sent_block = m->head;
    a->cancel = cancel;
    r->n_att++;
    r->replace_now = r->unknown_suspect = false; /* the looks are at the new attempt */
    r->cap_logged = false;
    m->stats.replaced++;
    char f1[U256_DEC_MAX], f2[U256_DEC_MAX];
    u256_to_dec(f1, fees_max_per_gas(&last->fees));
    u256_to_dec(f2, fees_max_per_gas(&nf));
    mlog(m, TXMGR_LOG_INFO, "%s nonce %" PRIu64 ": %s attempt %u, fee cap %s -> %s wei", r->id, r->nonce,
         cancel ? "cancel" : "replacement", r->n_att, f1, f2);
    txmgr_crash_point("txmgr.after_sign");
    r->dirty = true; /* write-ahead: the new attempt is persisted before it is sent */
    queue_send(m, r, r->n_att - 1);
}

/* The sweep's replacements, once a fee quote is at hand (or not: then the dropped ones are
 * only sent again). */
static void sweep_fees(struct txmgr *m, bool have_fees)
{
    struct sweep *sw = m->sweep;
    if (!sw)
        return;
    for (size_t i = 0; i < sw->n_replace; i++) {
        struct rec *r = sw->replace[i];
        if (r->state != TXMGR_PENDING || r->att[r->n_att - 1].sending)
            continue;
        if (have_fees)
            replace(m, r, sw->replace_known[i]);
        else if (!sw->replace_known[i])
            resend_latest(m, r, "the node does not know it (no fee quote for a replacement)");
    }
    sweep_end(m);
}

static void sweep_chunk(struct txmgr *m, struct ticket *t, struct rpc_reply *replies, size_t n)
{
    struct sweep *sw = t->sw;
    for (size_t i = 0; i < n; i++) {
        struct sweep_item *it = &sw->items[t->first + i];
        if (replies[i].err.kind == RPC_OK) {
            it->result = rpc_reply_take(&replies[i]);
            it->answered = true;
        } else if (!rpc_errkind_retryable(replies[i].err.kind) && replies[i].err.kind >= RPC_E_NONCE_TOO_LOW) {
            /* a node error for this one call: that record is looked at next time */
        } else if (!sw->failed) {
            char buf[200];
            sw->failed = true;
            snprintf(sw->why, sizeof sw->why, "%s", err_text(&replies[i].err, buf, sizeof buf));
        }
    }
    if (--sw->chunks_left)
        return;
    if (!m || sw->orphan) {
        sweep_free(sw);
        return;
    }
    sweep_process(m, sw);
}

/* ---- start ---- */

static void start_query(struct txmgr *m);

static void on_start_timer(struct loop_timer *t, void *ud)
{
    start_query(ud);
}

static void start_retry(struct txmgr *m, const char *why)
{
    mlog(m, TXMGR_LOG_WARN, "start: %s; trying again in %u ms", why, m->start_delay);
    loop_timer_start(&m->start_timer, m->start_delay, 0);
    m->start_delay = m->start_delay >= START_RETRY_MAX_MS / 2 ? START_RETRY_MAX_MS : m->start_delay * 2;
}

static void start_query(struct txmgr *m)
{
    if (m->phase != PH_STARTING)
        return;
    char nonce_params[80];
    snprintf(nonce_params, sizeof nonce_params, "[\"%s\",\"pending\"]", m->addr_hex);
    const struct rpc_call_spec calls[3] = {
        {"eth_chainId", NULL}, {"eth_getTransactionCount", nonce_params}, {"eth_blockNumber", NULL}};
    struct ticket *t = ticket_new(m, T_START);
    if (!t) {
        start_retry(m, "out of memory");
        return;
    }
    if (ticket_call(m, t, calls, 3))
        start_retry(m, ferry_errmsg());
}

static void on_poll(struct loop_timer *t, void *ud)
{
    sweep_start(ud);
}

static void on_start(struct txmgr *m, struct rpc_reply *replies, size_t n)
{
    if (m->phase != PH_STARTING)
        return; /* halted meanwhile */
    char buf[512];
    for (size_t i = 0; i < n; i++)
        if (replies[i].err.kind != RPC_OK) {
            start_retry(m, err_text(&replies[i].err, buf, sizeof buf));
            return;
        }
    uint64_t chain, pending, head;
    if (!cJSON_IsString(replies[0].result) || hex_quantity_u64(&chain, replies[0].result->valuestring) ||
        !cJSON_IsString(replies[1].result) || hex_quantity_u64(&pending, replies[1].result->valuestring) ||
        !cJSON_IsString(replies[2].result) || hex_quantity_u64(&head, replies[2].result->valuestring)) {
        start_retry(m, "the node's answers are not quantities");
        return;
    }
    if (chain != m->cfg.chain_id) {
        halt(m, FERRY_EINVAL, "the node serves chain %" PRIu64 ", not chain %" PRIu64 " as configured", chain,
             m->cfg.chain_id);
        schedule_commit(m);
        return;
    }
    m->head = head;
    uint64_t next = m->next_nonce;
    if (!m->line_stored) {
        next = pending;
        mlog(m, TXMGR_LOG_INFO, "new nonce line from the chain's pending nonce %" PRIu64, pending);
    } else if (pending > next) {
        mlog(m, TXMGR_LOG_WARN,
             "the chain's pending nonce %" PRIu64 " is ahead of the persisted line %" PRIu64
             ": nonces %" PRIu64 "..%" PRIu64 " were used outside this manager; skipping them",
             pending, next, next, pending - 1);
        m->stats.nonce_skips += pending - next;
        next = pending;
    }
    for (struct rec *r = m->recs_head; r; r = r->next)
        if (r->n_att && r->nonce >= next)
            next = r->nonce + 1;
    if (next != m->next_nonce || !m->line_stored) {
        m->next_nonce = next;
        m->line_dirty = true;
    }
    /* When the lowest of the loaded records became the lowest is not known (not persisted):
     * it counts from now, which may delay a stuck one by replace_after_blocks but never
     * replaces one for nothing. */
    m->low_any = lowest_pending(m, &m->low_nonce);
    m->low_since = head;
    m->phase = PH_READY;
    mlog(m, TXMGR_LOG_INFO, "ready: next nonce %" PRIu64 ", head %" PRIu64, m->next_nonce, m->head);
    /* Re-broadcast what may never have left (same bytes, same hash: harmless if it did), and
     * tell the engine where every submission stands. */
    for (struct rec *r = m->recs_head; r; r = r->next) {
        if (r->state == TXMGR_PENDING) {
            m->stats.rebroadcast++;
            queue_send(m, r, r->n_att - 1);
        }
        if (r->state == TXMGR_PENDING || r->state == TXMGR_MINED)
            queue_report(m, r, false);
    }
    queue_drain(m, &m->nonce_wait, prep_sign);
    if (m->cfg.poll_ms)
        loop_timer_start(&m->poll_timer, m->cfg.poll_ms, m->cfg.poll_ms);
    schedule_commit(m);
}

/* ---- RPC replies ---- */

static void on_rpc(void *ud, struct rpc_reply *replies, size_t n)
{
    struct ticket *t = ud;
    struct txmgr *m = t->m;
    ticket_unlink(t);
    if (!m) {
        if (t->kind == T_SWEEP)
            sweep_chunk(NULL, t, replies, n);
        ticket_free(t);
        return;
    }
    switch (t->kind) {
    case T_START:
        on_start(m, replies, n);
        break;
    case T_ONE_RUN:
        on_one_run(m, t->rec, &replies[0]);
        break;
    case T_DRY_RUN:
        on_dry_run(m, t->rec, &replies[0]);
        break;
    case T_ESTIMATE:
        on_estimate(m, t->rec, &replies[0]);
        break;
    case T_FEES:
        on_fees(m, &replies[0]);
        break;
    case T_SEND:
        for (size_t i = 0; i < n && i < t->n; i++)
            on_sent(m, t->items[i].rec, t->items[i].att, &replies[i]);
        break;
    case T_SWEEP:
        sweep_chunk(m, t, replies, n);
        break;
    }
    ticket_free(t);
}

/* ---- public ---- */

static enum ferry_err load_state(struct txmgr *m);

enum ferry_err txmgr_new(struct txmgr **out, struct loop *loop, struct rpc_client *rpc, struct store *store,
                         struct signer *signer, const struct txmgr_config *cfg)
{
    *out = NULL;
    if (!loop || !rpc || !store || !signer || !cfg)
        return ferry_fail(FERRY_EINVAL, "txmgr: loop, rpc, store, signer and config are required");
    if (!cfg->chain_id)
        return ferry_fail(FERRY_EINVAL, "txmgr: chain_id must be set");
    if (!cfg->key || !*cfg->key)
        return ferry_fail(FERRY_EINVAL, "txmgr: the submitter key name must be set");
    if (!cfg->gas_cap)
        return ferry_fail(FERRY_EINVAL, "txmgr: gas_cap must be set");
    struct txmgr *m = calloc(1, sizeof *m);
    if (!m)
        return ferry_fail(FERRY_ENOMEM, "txmgr: out of memory");
    m->loop = loop;
    m->rpc = rpc;
    m->store = store;
    m->signer = signer;
    m->cfg = *cfg;
    m->cfg.key = NULL;
    enum ferry_err e = fee_policy_check(&m->cfg.fees);
    if (e) {
        free(m);
        return ferry_fail_ctx(e, "txmgr");
    }
    if (!m->cfg.estimate_margin_pct)
        m->cfg.estimate_margin_pct = 20;
    if (!m->cfg.replace_after_blocks)
        m->cfg.replace_after_blocks = 3;
    if (!m->cfg.max_attempts || m->cfg.max_attempts > TXMGR_MAX_ATTEMPTS)
        m->cfg.max_attempts = TXMGR_MAX_ATTEMPTS;
    if (!m->cfg.fee_ttl_ms)
        m->cfg.fee_ttl_ms = 3000;
    if (!m->cfg.start_retry_ms)
        m->cfg.start_retry_ms = 1000;
    if (m->cfg.estimate_margin_pct > 1000) {
        free(m);
        return ferry_fail(FERRY_EINVAL, "txmgr: estimate_margin_pct %u is above 1000", cfg->estimate_margin_pct);
    }
    m->start_delay = m->cfg.start_retry_ms;
    if (cfg->fees.mode == FEE_MODE_1559 || cfg->fees.mode == FEE_MODE_LEGACY) {
        m->mode_known = true;
        m->legacy = cfg->fees.mode == FEE_MODE_LEGACY;
    }
    if (!(m->key = xstrdup(cfg->key))) {
        free(m);
        return ferry_fail(FERRY_ENOMEM, "txmgr: out of memory");
    }
    if ((e = signer_address(signer, m->key, m->addr))) {
        free(m->key);
        free(m);
        return ferry_fail_ctx(e, "txmgr: submitter key \"%s\"", cfg->key);
    }
    hex_encode(m->addr_hex, m->addr, ADDRESS_LEN, true);
    address_to_checksum(m->addr_name, m->addr);
    loop_defer_init(loop, &m->commit, on_commit, m);
    loop_timer_init(loop, &m->poll_timer, on_poll, m);
    loop_timer_init(loop, &m->start_timer, on_start_timer, m);
    if ((e = load_state(m))) {
        really_free(m);
        return e;
    }
    *out = m;
    return FERRY_OK;
}

struct pk_list {
    uint8_t (*keys)[REC_PREFIX_LEN + 8];
    size_t n, cap;
};

static enum ferry_err collect_pk(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    struct pk_list *l = arg;
    const uint8_t *pk;
    size_t pklen;
    if (!store_index_pk(key, klen, STORE_IDX_TX_STATE, 1, &pk, &pklen) || pklen != REC_PREFIX_LEN + 8)
        return FERRY_OK;
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 16;
        void *nk = realloc(l->keys, nc * sizeof *l->keys);
        if (!nk)
            return ferry_fail(FERRY_ENOMEM, "txmgr: out of memory loading records");
        l->keys = nk;
        l->cap = nc;
    }
    memcpy(l->keys[l->n++], pk, REC_PREFIX_LEN + 8);
    return FERRY_OK;
}

static enum ferry_err load_state(struct txmgr *m)
{
    struct store_key k;
    key_prefix(m, &k, TAG_LINE);
    uint8_t *val;
    size_t len;
    enum ferry_err e = store_get(m->store, &val, &len, k.b, k.len);
    if (e == FERRY_OK) {
        cJSON *o = cJSON_ParseWithLength((const char *)val, len);
        free(val);
        e = q64(&m->next_nonce, cJSON_GetObjectItemCaseSensitive(o, "next"), "next");
        cJSON_Delete(o);
        if (e)
            return ferry_fail_ctx(e, "txmgr: the nonce line of chain %" PRIu64 " %s in the store", m->cfg.chain_id,
                                  m->addr_name);
        m->line_stored = true;
    } else if (e != FERRY_ENOTFOUND) {
        return e;
    }
    /* Every non-final record of this chain and key, through the state index. */
    struct pk_list l = {0};
    static const uint8_t live[] = {TXMGR_PENDING, TXMGR_MINED};
    struct store_key mine;
    key_prefix(m, &mine, TAG_RECORD);
    for (size_t s = 0; s < sizeof live; s++) {
        struct store_key p;
        store_key_index_prefix(&p, STORE_IDX_TX_STATE, &live[s], 1);
        store_key_bytes(&p, mine.b, mine.len);
        if ((e = store_scan(m->store, NULL, p.b, p.len, NULL, 0, SIZE_MAX, collect_pk, &l)))
            break;
    }
    for (size_t i = 0; !e && i < l.n; i++) {
        struct rec *r;
        uint64_t nonce = store_be64_get(l.keys[i] + REC_PREFIX_LEN);
        if ((e = rec_load(m, nonce, &r)))
            break;
        if (r->state != TXMGR_PENDING && r->state != TXMGR_MINED) {
            rec_unref(r); /* a stale index entry: the record says it is final */
            continue;
        }
        if (ht_find(m, r->id)) {
            e = ferry_fail(FERRY_EINVAL, "txmgr: two live records for id \"%s\" in the store", r->id);
            rec_unref(r);
            break;
        }
        if ((e = rec_link(m, r))) {
            rec_unref(r);
            break;
        }
    }
    free(l.keys);
    return e;
}

enum ferry_err txmgr_start(struct txmgr *m)
{
    if (m->phase == PH_HALTED)
        return ferry_fail(m->halt_err, "txmgr: halted: %s", m->halt_why);
    if (m->phase != PH_NEW)
        return ferry_fail(FERRY_ESTATE, "txmgr: already started");
    m->phase = PH_STARTING;
    start_query(m);
    return FERRY_OK;
}

static void really_free(struct txmgr *m)
{
    loop_defer_cancel(&m->commit);
    loop_timer_stop(&m->poll_timer);
    loop_timer_stop(&m->start_timer);
    for (struct ticket *t = m->tickets, *nx; t; t = nx) {
        nx = t->next;
        t->m = NULL;
        t->prev = t->next = NULL;
    }
    if (m->sweep) {
        if (m->sweep->chunks_left)
            m->sweep->orphan = true;
        else
            sweep_free(m->sweep);
    }
    drop_sends(m);
    free(m->to_send);
    for (size_t i = 0; i < m->n_reports; i++) {
        free(m->reports[i].id);
        free(m->reports[i].error);
    }
    free(m->reports);
    queue_drain(m, &m->fee_wait, NULL);
    queue_drain(m, &m->nonce_wait, NULL);
    while (m->recs_head)
        rec_unlink(m, m->recs_head);
    rec_unref(m->scratch);
    free(m->buckets);
    free(m->key);
    free(m);
}

void txmgr_free(struct txmgr *m)
{
    if (!m)
        return;
    if (m->delivering) { /* from inside on_status: finish the delivery first */
        m->dying = true;
        return;
    }
    really_free(m);
}

enum ferry_err txmgr_submit(struct txmgr *m, const char *id, const struct txmgr_call *call)
{
    if (m->dying)
        return ferry_fail(FERRY_ESTATE, "txmgr: being freed");
    if (m->phase == PH_HALTED)
        return ferry_fail(m->halt_err, "txmgr: halted: %s", m->halt_why);
    size_t idlen = id ? strlen(id) : 0;
    if (!idlen || idlen > TXMGR_ID_MAX)
        return ferry_fail(FERRY_EINVAL, "txmgr: a submission id is 1 to %d bytes", TXMGR_ID_MAX);
    if (!call)
        return ferry_fail(FERRY_EINVAL, "txmgr: no call");
    if (call->data_len > TXMGR_DATA_MAX || (call->data_len && !call->data))
        return ferry_fail(FERRY_EINVAL, "txmgr: calldata of %zu bytes (at most %u)", call->data_len, TXMGR_DATA_MAX);
    if (call->flags & ~(unsigned)(TXMGR_DRY_RUN | TXMGR_GAS_ONE_RUN))
        return ferry_fail(FERRY_EINVAL, "txmgr: unknown flags 0x%x", call->flags);

    struct rec *r = ht_find(m, id);
    if (r && !txmgr_state_no_effect(r->state)) {
        queue_report(m, r, false);
        return FERRY_OK;
    }
    /* Nothing of it happened on chain: start afresh. A refused record was never stored; a
     * NONCE_TAKEN or CANCELLED one stays until its final state is written. */
    if (r && r->state == TXMGR_REFUSED)
        rec_unlink(m, r);
    if (!r) {
        struct store_key k;
        key_id(m, &k, id);
        uint8_t *val;
        size_t len;
        enum ferry_err e = store_get(m->store, &val, &len, k.b, k.len);
        if (e == FERRY_OK) {
            struct rec *old = NULL;
            if (len == 8)
                e = rec_load(m, store_be64_get(val), &old);
            else
                e = ferry_fail(FERRY_EINVAL, "txmgr: the id entry of \"%s\" is not a nonce", id);
            free(val);
            if (e)
                return e;
            if (!txmgr_state_no_effect(old->state)) {
                if (!txmgr_state_final(old->state))
                    mlog(m, TXMGR_LOG_ERROR, "%s: live in the store but not in memory", id);
                queue_report(m, old, false);
                rec_unref(old);
                return FERRY_OK;
            }
            rec_unref(old); /* nothing of it happened on chain: start afresh */
        } else if (e != FERRY_ENOTFOUND) {
            return e;
        }
    }
    r = rec_new(id);
    if (!r)
        return ferry_fail(FERRY_ENOMEM, "txmgr: out of memory");
    r->call = *call;
    if (call->data_len) {
        if (!(r->data = malloc(call->data_len))) {
            rec_unref(r);
            return ferry_fail(FERRY_ENOMEM, "txmgr: out of memory");
        }
        memcpy(r->data, call->data, call->data_len);
    }
    r->call.data = r->data;
    r->state = TXMGR_PREPARING;
    r->step = STEP_DRY_RUN;
    enum ferry_err e = rec_link(m, r);
    if (e) {
        rec_unref(r);
        return e;
    }
    m->stats.submitted++;
    trim_refused(m);
    mlog(m, TXMGR_LOG_DEBUG, "%s: submitted", id);
    prep_run(m, r);
    return FERRY_OK;
}

enum txmgr_state txmgr_status(struct txmgr *m, const char *id, struct txmgr_status *out)
{
    memset(out, 0, sizeof *out);
    out->id = id;
    out->state = TXMGR_UNKNOWN;
    rec_unref(m->scratch);
    m->scratch = NULL;
    struct rec *r = id ? ht_find(m, id) : NULL;
    if (!r && id && *id && strlen(id) <= TXMGR_ID_MAX) {
        struct store_key k;
        key_id(m, &k, id);
        uint8_t *val;
        size_t len;
        if (store_get(m->store, &val, &len, k.b, k.len) == FERRY_OK) {
            if (len == 8 && rec_load(m, store_be64_get(val), &m->scratch) != FERRY_OK)
                mlog(m, TXMGR_LOG_ERROR, "%s: %s", id, ferry_errmsg());
            free(val);
        }
        r = m->scratch;
    }
    if (!r)
        return TXMGR_UNKNOWN;
    fill_status(out, r);
    return out->state;
}

enum ferry_err txmgr_cancel(struct txmgr *m, const char *id)
{
    struct rec *r = id ? ht_find(m, id) : NULL;
    if (!r || r->state != TXMGR_PENDING)
        return ferry_fail(FERRY_ESTATE, "txmgr: \"%s\" is not pending (%s)", id ? id : "",
                          txmgr_state_name(r ? r->state : TXMGR_UNKNOWN));
    if (m->phase == PH_HALTED)
        return ferry_fail(m->halt_err, "txmgr: halted: %s", m->halt_why);
    r->cancel_requested = true;
    mlog(m, TXMGR_LOG_INFO, "%s nonce %" PRIu64 ": cancel requested", r->id, r->nonce);
    txmgr_poke(m);
    return FERRY_OK;
}

void txmgr_on_head(struct txmgr *m, uint64_t number)
{
    if (number <= m->head)
        return;
    m->head = number;
    m->fee_valid = false;
    sweep_start(m);
}

void txmgr_poke(struct txmgr *m)
{
    m->poke_due = true;
    schedule_commit(m);
}

bool txmgr_busy(const struct txmgr *m)
{
    return m->tickets || m->commit.queued || loop_timer_armed(&m->start_timer) || m->n_reports || m->n_send;
}

enum ferry_err txmgr_halted(const struct txmgr *m, const char **why)
{
    if (why)
        *why = m->phase == PH_HALTED ? m->halt_why : "";
    return m->phase == PH_HALTED ? m->halt_err : FERRY_OK;
}

void txmgr_address(const struct txmgr *m, uint8_t out[ADDRESS_LEN])
{
    memcpy(out, m->addr, ADDRESS_LEN);
}

uint64_t txmgr_next_nonce(const struct txmgr *m)
{
    return m->next_nonce;
}

uint64_t txmgr_head(const struct txmgr *m)
{
    return m->head;
}

void txmgr_stats(const struct txmgr *m, struct txmgr_stats *out)
{
    *out = m->stats;
}
