/* The packet engine: the one door for state changes, the batches that persist them, chain
 * events and submission reports, restart and reconciliation. Scheduling (delivery batches,
 * timeouts, retries) is in engine_sched.c; records and listings in engine_record.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <secp256k1_recovery.h>

#include "engine_internal.h"
#include "ferry/crash.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"
#include "ferry/log.h"

#define B(s) (1u << PACKET_##s)

/* Where a packet may go from each state. Events from the chains are facts, so a packet may
 * jump ahead when another relayer did the work (SENT -> DELIVERED on a PacketReceived that is
 * not ours, anything -> ACKED on the source's PacketAcknowledged); what is never allowed is
 * leaving a terminal state, or TIMING_OUT -> DELIVERING (once a timeout is persisted no
 * delivery is submitted). */
static const uint16_t transitions[PACKET_STATE__COUNT] = {
    [PACKET_NONE] = B(SENT) | B(DELIVERED),
    [PACKET_SENT] = B(DELIVERING) | B(DELIVERED) | B(TIMING_OUT) | B(ACKED) | B(TIMED_OUT),
    [PACKET_DELIVERING] = B(DELIVERED) | B(TIMING_OUT) | B(PARKED) | B(ACKED) | B(TIMED_OUT),
    [PACKET_DELIVERED] = B(ACKING) | B(ACKED) | B(PARKED),
    [PACKET_ACKING] = B(ACKED) | B(PARKED),
    [PACKET_TIMING_OUT] = B(TIMED_OUT) | B(DELIVERED) | B(ACKED) | B(PARKED),
    [PACKET_PARKED] = B(DELIVERING) | B(DELIVERED) | B(ACKING) | B(TIMING_OUT) | B(ACKED) | B(TIMED_OUT),
    [PACKET_ACKED] = 0,
    [PACKET_TIMED_OUT] = 0,
};

bool packet_transition_allowed(enum packet_state from, enum packet_state to)
{
    if ((unsigned)from >= PACKET_STATE__COUNT || to <= PACKET_NONE || to >= PACKET_STATE__COUNT)
        return false;
    return (transitions[from] >> to) & 1u;
}

void packet_key_str(char out[48], uint64_t src, uint64_t seq)
{
    snprintf(out, 48, "%" PRIu64 "/%" PRIu64, src, seq);
}

void eng_fail(struct engine *e, enum ferry_err err, const char *what)
{
    if (e->failed)
        return;
    e->failed = err ? err : FERRY_EIO;
    log_kv(LOGL_ERROR, "engine", "engine stopped; restart ferry (the engine reconciles on start)", "during", what,
           "error", ferry_errmsg(), NULL);
}

void eng_kick(struct engine *e)
{
    if (!e->cfg.kick || e->kicked || !e->started || e->failed)
        return;
    e->kicked = true;
    e->cfg.kick(e->cfg.kick_ud);
}

/* ---- packets in memory: open addressing on (src, seq) ---- */

static size_t slot_of(const struct engine *e, uint64_t src, uint64_t seq)
{
    uint64_t h = src * 0x9e3779b97f4a7c15ull ^ seq;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return (size_t)h & (e->cap - 1);
}

struct prec *eng_find(struct engine *e, uint64_t src, uint64_t seq)
{
    if (!e->cap)
        return NULL;
    for (size_t i = slot_of(e, src, seq);; i = (i + 1) & (e->cap - 1)) {
        struct prec *p = e->tab[i];
        if (!p)
            return NULL;
        if (p->r.packet.src_chain == src && p->r.packet.sequence == seq)
            return p;
    }
}

static enum ferry_err tab_grow(struct engine *e)
{
    size_t ncap = e->cap ? e->cap * 2 : 256;
    struct prec **nt = calloc(ncap, sizeof *nt);
    if (!nt)
        return ferry_fail(FERRY_ENOMEM, "engine: out of memory");
    struct prec **old = e->tab;
    size_t ocap = e->cap;
    e->tab = nt;
    e->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i]) {
            size_t j = slot_of(e, old[i]->r.packet.src_chain, old[i]->r.packet.sequence);
            while (e->tab[j])
                j = (j + 1) & (ncap - 1);
            e->tab[j] = old[i];
        }
    free(old);
    return FERRY_OK;
}

static enum ferry_err tab_insert(struct engine *e, struct prec *p)
{
    if ((e->count + 1) * 2 > e->cap) {
        enum ferry_err err = tab_grow(e);
        if (err)
            return err;
    }
    size_t i = slot_of(e, p->r.packet.src_chain, p->r.packet.sequence);
    while (e->tab[i])
        i = (i + 1) & (e->cap - 1);
    e->tab[i] = p;
    e->count++;
    return FERRY_OK;
}

/* Removes by backward shift (no tombstones), so lookups stay short. */
static void tab_remove(struct engine *e, struct prec *p)
{
    size_t i = slot_of(e, p->r.packet.src_chain, p->r.packet.sequence);
    while (e->tab[i] != p)
        i = (i + 1) & (e->cap - 1);
    e->tab[i] = NULL;
    e->count--;
    for (size_t j = (i + 1) & (e->cap - 1); e->tab[j]; j = (j + 1) & (e->cap - 1)) {
        size_t home = slot_of(e, e->tab[j]->r.packet.src_chain, e->tab[j]->r.packet.sequence);
        /* Move tab[j] into the hole unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            e->tab[i] = e->tab[j];
            e->tab[j] = NULL;
            i = j;
        }
    }
}

static void prec_free(struct prec *p)
{
    if (!p)
        return;
    packet_record_clear(&p->r);
    free(p);
}

struct echain *eng_chain(struct engine *e, uint64_t id)
{
    for (size_t i = 0; i < e->nchains; i++)
        if (e->chains[i].id == id)
            return &e->chains[i];
    return NULL;
}

static struct echain *chain_by_ptr(struct engine *e, const struct chain *c)
{
    for (size_t i = 0; i < e->nchains; i++)
        if (e->chains[i].c == c)
            return &e->chains[i];
    return NULL;
}

/* ---- batches ---- */

struct txn *txn_begin(struct engine *e)
{
    if (e->building) {
        /* Batches do not nest: each is committed before control returns to its caller. */
        (void)ferry_fail(FERRY_ESTATE, "engine: a batch was started inside another");
        eng_fail(e, FERRY_ESTATE, "starting a batch");
        return NULL;
    }
    struct txn *t = calloc(1, sizeof *t);
    if (!t) {
        (void)ferry_fail(FERRY_ENOMEM, "engine: out of memory");
        eng_fail(e, FERRY_ENOMEM, "starting a batch");
        return NULL;
    }
    t->e = e;
    t->serial = ++e->txn_serial;
    if (store_batch_begin(e->st, &t->b)) {
        eng_fail(e, FERRY_ENOMEM, "starting a batch");
        t->b = NULL;
    }
    e->building = t;
    e->ndirty = 0;
    return t;
}

void txn_add(struct txn *t, enum action_kind kind, const char *sub_id, uint64_t src, uint64_t seq)
{
    if (!t)
        return;
    if (t->na == t->aalloc) {
        size_t na = t->aalloc ? t->aalloc * 2 : 4;
        struct action *a = realloc(t->a, na * sizeof *a);
        if (!a) {
            (void)ferry_fail(FERRY_ENOMEM, "engine: out of memory");
            eng_fail(t->e, FERRY_ENOMEM, "queueing an action");
            return;
        }
        t->a = a;
        t->aalloc = na;
    }
    struct action *a = &t->a[t->na++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    if (sub_id)
        snprintf(a->sub_id, sizeof a->sub_id, "%s", sub_id);
    a->key = (struct pkey){src, seq};
}

/* Records changed in a batch are encoded once, when it is committed. */
static void mark_dirty(struct engine *e, struct txn *t, struct prec *p)
{
    if (!t || e->building != t || p->dirty)
        return;
    if (e->ndirty == e->dirty_alloc) {
        size_t na = e->dirty_alloc ? e->dirty_alloc * 2 : 64;
        struct prec **d = realloc(e->dirty, na * sizeof *d);
        if (!d) {
            (void)ferry_fail(FERRY_ENOMEM, "engine: out of memory");
            eng_fail(e, FERRY_ENOMEM, "tracking a change");
            return;
        }
        e->dirty = d;
        e->dirty_alloc = na;
    }
    e->dirty[e->ndirty++] = p;
    p->dirty = true;
}

void packet_save(struct engine *e, struct txn *t, struct prec *p) { mark_dirty(e, t, p); }

/* The record and, when its state moved since it was last written, its index entries. */
static void write_record(struct engine *e, struct txn *t, struct prec *p)
{
    struct store_key k;
    store_key_u64_u64(&k, STORE_KIND_PACKET, p->r.packet.src_chain, p->r.packet.sequence);
    size_t len = 0;
    char *v = record_encode(&p->r, &len);
    if (!v) {
        (void)ferry_fail(FERRY_ENOMEM, "engine: out of memory encoding a record");
        eng_fail(e, FERRY_ENOMEM, "encoding a packet record");
        return;
    }
    store_put(t->b, k.b, k.len, v, len);
    free(v);
    uint8_t nf = (uint8_t)p->r.state, of = (uint8_t)p->indexed;
    if (p->indexed != p->r.state)
        store_index_move(t->b, STORE_IDX_PACKET_STATE, p->indexed == PACKET_NONE ? NULL : &of, 1, &nf, 1, k.b,
                         k.len);
    if (p->indexed == PACKET_NONE) {
        uint8_t dst[8];
        store_be64_put(dst, p->r.packet.dst_chain);
        store_index_put(t->b, STORE_IDX_PACKET_DST, dst, 8, k.b, k.len);
    }
    p->indexed = p->r.state;
}

static void txn_free(struct txn *t)
{
    store_batch_free(t->b);
    free(t->a);
    free(t);
}

static void forget(struct engine *e, const struct pkey *k)
{
    struct prec *p = eng_find(e, k->src, k->seq);
    if (!p || !packet_state_terminal(p->r.state))
        return;
    e->per_state[p->r.state]--;
    tab_remove(e, p);
    prec_free(p);
}

static void txn_done(void *arg, enum ferry_err result)
{
    struct txn *t = arg;
    struct engine *e = t->e;
    if (!e) { /* the engine was freed while this batch was queued */
        txn_free(t);
        return;
    }
    if (t->prev)
        t->prev->next = t->next;
    else
        e->txns = t->next;
    if (t->next)
        t->next->prev = t->prev;
    if (result) {
        eng_fail(e, result, "writing a batch");
        txn_free(t);
        return;
    }
    if (t->has_records)
        ferry_crash_point("engine.after_persist");
    for (size_t i = 0; i < t->na && !e->failed; i++) {
        if (t->a[i].kind == ACT_SUBMIT)
            submit_now(e, t->a[i].sub_id);
        else
            forget(e, &t->a[i].key);
    }
    if (t->events_done && !e->failed)
        t->done_chain->ops->events_done(t->done_chain->c, t->done_token);
    txn_free(t);
}

void txn_commit(struct txn *t)
{
    if (!t)
        return;
    struct engine *e = t->e;
    for (size_t i = 0; i < e->ndirty; i++) {
        if (!e->failed && t->b) {
            write_record(e, t, e->dirty[i]);
            t->has_records = true;
        }
        e->dirty[i]->dirty = false;
    }
    e->ndirty = 0;
    e->building = NULL;
    if (e->failed || !t->b) {
        txn_free(t);
        return;
    }
    if (store_batch_count(t->b) == 0 && t->na == 0 && !t->events_done) {
        txn_free(t);
        return;
    }
    t->next = e->txns;
    if (e->txns)
        e->txns->prev = t;
    e->txns = t;
    struct store_batch *b = t->b;
    t->b = NULL; /* the store owns it now, whatever happens */
    enum ferry_err err = store_commit_group(b, txn_done, t);
    if (err) {
        e->txns = t->next;
        if (t->next)
            t->next->prev = NULL;
        eng_fail(e, err, "queueing a batch");
        txn_free(t);
    }
}

/* ---- the one door ---- */

uint64_t eng_clock_ms(struct engine *e)
{
    if (e->cfg.clock_ms)
        return e->cfg.clock_ms(e->cfg.clock_ud);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Relay latency, from when this daemon first heard of the packet (to the millisecond in this
 * process; from the persisted second for packets carried over a restart, downtime included). */
static void observe_latency(struct engine *e, const struct prec *p, enum packet_state to)
{
    if (!e->m_latency)
        return;
    const char *stage = to == PACKET_DELIVERED ? "delivered" : to == PACKET_ACKED ? "acked" : "timed_out";
    uint64_t start = p->seen_ms ? p->seen_ms : p->r.seen_at * 1000u, now = eng_clock_ms(e);
    char src[24], dst[24];
    const struct echain *s = eng_chain(e, p->r.packet.src_chain), *d = eng_chain(e, p->r.packet.dst_chain);
    snprintf(src, sizeof src, "%" PRIu64, p->r.packet.src_chain);
    snprintf(dst, sizeof dst, "%" PRIu64, p->r.packet.dst_chain);
    metric_observe(e->m_latency, (const char *[]){s ? s->name : src, d ? d->name : dst, stage},
                   now > start ? (double)(now - start) / 1000.0 : 0.0);
}

enum ferry_err packet_set_state(struct engine *e, struct txn *t, struct prec *p, enum packet_state to,
                                const char *reason)
{
    enum packet_state from = p->r.state;
    char key[48];
    packet_key_str(key, p->r.packet.src_chain, p->r.packet.sequence);
    if (!packet_transition_allowed(from, to)) {
        log_kv(LOGL_ERROR, "engine", "refused packet state change", "packet", key, "from", packet_state_name(from),
               "to", packet_state_name(to), "reason", reason, NULL);
        return ferry_fail(FERRY_ESTATE, "packet %s: %s -> %s is not allowed", key, packet_state_name(from),
                          packet_state_name(to));
    }
    if (to == PACKET_PARKED) {
        p->r.parked_from = from;
        snprintf(p->r.reason, sizeof p->r.reason, "%s", reason ? reason : "");
    } else {
        p->r.parked_from = PACKET_NONE;
        p->r.reason[0] = 0;
        p->r.attempts = 0;
    }
    p->r.state = to;
    p->r.entered[to] = e->now;
    p->r.sub_id[0] = 0;
    p->r.next_attempt_at = 0;
    /* Answers to queries asked in the old state no longer apply. */
    p->gen++;
    p->checking = false;
    p->check_after = 0;
    p->tcheck_after = 0;
    if (from != PACKET_NONE)
        e->per_state[from]--;
    e->per_state[to]++;
    mark_dirty(e, t, p);

    char id[67];
    hex_encode(id, p->r.id, 32, true);
    log_kv(to == PACKET_PARKED ? LOGL_ERROR : LOGL_INFO, "engine", "packet state", "packet", key, "id", id, "from",
           packet_state_name(from), "to", packet_state_name(to), "reason", reason, NULL);
    metric_add(e->m_transitions, (const char *[]){packet_state_name(from), packet_state_name(to)}, 1);
    if (to == PACKET_DELIVERED || to == PACKET_ACKED || to == PACKET_TIMED_OUT)
        observe_latency(e, p, to);
    if (packet_state_terminal(to))
        txn_add(t, ACT_FORGET, NULL, p->r.packet.src_chain, p->r.packet.sequence);
    return FERRY_OK;
}

enum ferry_err engine_test_set_state(struct engine *e, uint64_t src, uint64_t seq, enum packet_state to,
                                     const char *reason)
{
    struct prec *p = eng_find(e, src, seq);
    if (!p)
        return ferry_fail(FERRY_ENOTFOUND, "no packet %" PRIu64 "/%" PRIu64, src, seq);
    struct txn *t = txn_begin(e);
    enum ferry_err err = packet_set_state(e, t, p, to, reason);
    txn_commit(t);
    return err;
}

/* ---- submissions ---- */

void sub_record(struct prec *p, const char *id, enum chain_submission_state st, const uint8_t *tx)
{
    struct packet_record *r = &p->r;
    size_t i = 0;
    while (i < r->nsubs && strcmp(r->subs[i].id, id))
        i++;
    if (i == r->nsubs) {
        if (r->nsubs == ENGINE_SUBS_KEPT) {
            memmove(&r->subs[0], &r->subs[1], (ENGINE_SUBS_KEPT - 1) * sizeof r->subs[0]);
            r->nsubs--;
        }
        i = r->nsubs++;
        memset(&r->subs[i], 0, sizeof r->subs[i]);
        snprintf(r->subs[i].id, sizeof r->subs[i].id, "%s", id);
    }
    r->subs[i].state = st;
    if (tx)
        memcpy(r->subs[i].tx_hash, tx, 32);
}

static bool has_sub(const struct prec *p, const char *id)
{
    for (size_t i = 0; i < p->r.nsubs; i++)
        if (!strcmp(p->r.subs[i].id, id))
            return true;
    return false;
}

struct lsub *lsub_find(struct engine *e, const char *id)
{
    for (struct lsub *s = e->subs; s; s = s->next)
        if (!strcmp(s->id, id))
            return s;
    return NULL;
}

struct lsub *lsub_add(struct engine *e, const char *id, enum sub_kind kind, struct echain *ch, const struct pkey *keys,
                      size_t n)
{
    struct lsub *s = lsub_find(e, id);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) {
            (void)ferry_fail(FERRY_ENOMEM, "engine: out of memory");
            eng_fail(e, FERRY_ENOMEM, "tracking a submission");
            return NULL;
        }
        snprintf(s->id, sizeof s->id, "%s", id);
        s->kind = kind;
        s->ch = ch;
        s->next = e->subs;
        e->subs = s;
    }
    struct pkey *k = realloc(s->keys, (s->n + n) * sizeof *k);
    if (!k) {
        (void)ferry_fail(FERRY_ENOMEM, "engine: out of memory");
        eng_fail(e, FERRY_ENOMEM, "tracking a submission");
        return s;
    }
    memcpy(k + s->n, keys, n * sizeof *k);
    s->keys = k;
    s->n += n;
    return s;
}

void lsub_drop(struct engine *e, struct lsub *s)
{
    for (struct lsub **pp = &e->subs; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            free(s->keys);
            free(s);
            return;
        }
}

static const char *sub_kind_name(enum sub_kind k)
{
    return k == SUB_DELIVER ? "deliver" : k == SUB_ACK ? "ack" : "timeout";
}

static enum packet_state sub_kind_state(enum sub_kind k)
{
    return k == SUB_DELIVER ? PACKET_DELIVERING : k == SUB_ACK ? PACKET_ACKING : PACKET_TIMING_OUT;
}

static uint64_t rng_next(struct engine *e)
{
    uint64_t x = e->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    e->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint64_t backoff(struct engine *e, uint32_t attempts)
{
    uint64_t d = e->cfg.backoff_base_s;
    for (uint32_t i = 1; i < attempts && d < e->cfg.backoff_max_s; i++)
        d *= 2;
    if (d > e->cfg.backoff_max_s)
        d = e->cfg.backoff_max_s;
    uint64_t j = d * e->cfg.jitter_pct / 100;
    if (j)
        d -= rng_next(e) % (j + 1);
    return d;
}

void sub_failed(struct engine *e, struct txn *t, struct prec *p, const char *why)
{
    char key[48];
    packet_key_str(key, p->r.packet.src_chain, p->r.packet.sequence);
    p->r.sub_id[0] = 0;
    p->r.attempts++;
    if (p->r.attempts >= e->cfg.retry_limit) {
        char reason[ENGINE_REASON_MAX];
        snprintf(reason, sizeof reason, "%s failed %" PRIu32 " times; last: %s", packet_state_name(p->r.state),
                 p->r.attempts, why);
        (void)packet_set_state(e, t, p, PACKET_PARKED, reason);
        return;
    }
    snprintf(p->r.reason, sizeof p->r.reason, "%s", why);
    uint64_t wait = backoff(e, p->r.attempts);
    p->r.next_attempt_at = e->now + wait;
    packet_save(e, t, p);
    struct log_field f[] = {LOG_STR("packet", key), LOG_STR("state", packet_state_name(p->r.state)),
                            LOG_U64("attempts", p->r.attempts), LOG_U64("retry_in_s", wait), LOG_STR("error", why)};
    log_fields(LOGL_WARN, "engine", "attempt failed; will retry", f, 5);
}

/* Signs the attestation `kind` about p for the chain that verifies it: m signatures from the
 * first m attesters by address, so already in ascending signer order. */
static enum ferry_err attest(struct engine *e, struct echain *verifier, enum chain_attest_kind kind,
                             const struct packet_record *r, uint8_t (*sigs)[CHAIN_SIG_LEN])
{
    uint8_t d[32];
    enum ferry_err err = verifier->ops->attest_digest(verifier->c, kind, &r->packet,
                                                      kind == CHAIN_ATTEST_ACK ? &r->ack : NULL,
                                                      kind == CHAIN_ATTEST_TIMEOUT ? r->proof_ts : 0, d);
    if (err)
        return ferry_fail_ctx(err, "attestation digest on %s", verifier->name);
    for (unsigned i = 0; i < verifier->threshold; i++) {
        err = e->cfg.sign(e->cfg.sign_ud, e->att[i].key_name, d, sigs[i]);
        if (err)
            return ferry_fail_ctx(err, "attester \"%s\"", e->att[i].key_name);
    }
    static const char *const kinds[] = {"delivery", "ack", "timeout"};
    metric_add(e->m_attest, (const char *[]){kinds[kind]}, 1);
    return FERRY_OK;
}

void submit_now(struct engine *e, const char *sub_id)
{
    struct lsub *s = lsub_find(e, sub_id);
    if (!s)
        return;
    struct echain *ch = s->ch;
    enum packet_state want = sub_kind_state(s->kind);
    struct prec **ps = calloc(s->n ? s->n : 1, sizeof *ps);
    struct packet *pk = calloc(s->n ? s->n : 1, sizeof *pk);
    struct chain_attestation *att = calloc(s->n ? s->n : 1, sizeof *att);
    struct packet_ack *acks = calloc(s->n ? s->n : 1, sizeof *acks); /* shallow copies */
    uint8_t(*sigs)[CHAIN_SIG_LEN] = calloc((s->n ? s->n : 1) * ch->threshold, CHAIN_SIG_LEN);
    enum ferry_err err = FERRY_OK;
    size_t n = 0;
    if (!ps || !pk || !att || !acks || !sigs) {
        err = ferry_fail(FERRY_ENOMEM, "engine: out of memory building a call");
        goto out;
    }
    /* Packets may have moved on since the batch was written (a racing relayer's delivery). */
    for (size_t i = 0; i < s->n; i++) {
        struct prec *p = eng_find(e, s->keys[i].src, s->keys[i].seq);
        if (p && p->r.state == want && !strcmp(p->r.sub_id, sub_id))
            ps[n++] = p;
    }
    if (n == 0) {
        lsub_drop(e, s);
        goto out;
    }
    static const enum chain_attest_kind akind[] = {CHAIN_ATTEST_DELIVERY, CHAIN_ATTEST_ACK, CHAIN_ATTEST_TIMEOUT};
    for (size_t i = 0; i < n && !err; i++) {
        pk[i] = ps[i]->r.packet;
        acks[i] = ps[i]->r.ack;
        att[i] = (struct chain_attestation){.count = ch->threshold, .sigs = &sigs[i * ch->threshold]};
        err = attest(e, ch, akind[s->kind], &ps[i]->r, att[i].sigs);
    }
    struct chain_call call = {
        .kind = s->kind == SUB_DELIVER ? CHAIN_CALL_DELIVER : s->kind == SUB_ACK ? CHAIN_CALL_ACK : CHAIN_CALL_TIMEOUT,
        .n = n,
        .packets = pk,
        .attestations = att,
        .ack = s->kind == SUB_ACK ? &acks[0] : NULL,
        .acks = s->kind == SUB_ACK ? acks : NULL,
        .proof_timestamp = s->kind == SUB_TIMEOUT ? ps[0]->r.proof_ts : 0,
    };
    if (!err)
        err = ch->ops->submit(ch->c, sub_id, &call);
    if (!err) {
        metric_add(e->m_submissions, (const char *[]){ch->name, sub_kind_name(s->kind), "submitted"}, 1);
        struct log_field f[] = {LOG_STR("submission", sub_id), LOG_STR("chain", ch->name), LOG_U64("packets", n)};
        log_fields(LOGL_INFO, "engine", "submitted", f, 3);
    }
out:
    if (err && n) {
        char why[ENGINE_REASON_MAX];
        snprintf(why, sizeof why, "%s", ferry_errmsg());
        metric_add(e->m_submissions, (const char *[]){ch->name, sub_kind_name(s->kind), "error"}, 1);
        struct txn *t = txn_begin(e);
        for (size_t i = 0; i < n; i++) {
            sub_record(ps[i], sub_id, CHAIN_SUB_REFUSED, NULL);
            sub_failed(e, t, ps[i], why);
        }
        lsub_drop(e, s);
        txn_commit(t);
        eng_kick(e);
    } else if (err) {
        eng_fail(e, err, "building a call");
    }
    free(ps);
    free(pk);
    free(att);
    free(acks);
    free(sigs);
}

/* What a submission report (or, on start, the adapter's record) means for its packets. */
static void handle_submission(struct engine *e, struct echain *ch, const struct chain_submission *s)
{
    struct lsub *ls = lsub_find(e, s->id);
    if (!ls) {
        log_kv(LOGL_DEBUG, "engine", "report about a submission no packet waits for", "submission", s->id, "state",
               chain_submission_state_name(s->state), NULL);
        return;
    }
    bool has_tx = s->state == CHAIN_SUB_PENDING || s->state == CHAIN_SUB_MINED || s->state == CHAIN_SUB_CONFIRMED ||
                  s->state == CHAIN_SUB_REVERTED;
    bool final = s->state != CHAIN_SUB_PENDING && s->state != CHAIN_SUB_MINED;
    metric_add(e->m_submissions, (const char *[]){ch->name, sub_kind_name(ls->kind),
                                                  chain_submission_state_name(s->state)},
               1);
    char tx[67] = "";
    if (has_tx)
        hex_encode(tx, s->tx_hash, 32, true);
    log_kv(final && s->state != CHAIN_SUB_CONFIRMED ? LOGL_WARN : LOGL_INFO, "engine", "submission report",
           "submission", s->id, "chain", ch->name, "state", chain_submission_state_name(s->state), "tx", tx, "error",
           s->error, NULL);
    struct txn *t = txn_begin(e);
    for (size_t i = 0; i < ls->n; i++) {
        struct prec *p = eng_find(e, ls->keys[i].src, ls->keys[i].seq);
        if (!p)
            continue;
        bool current = !strcmp(p->r.sub_id, s->id);
        if (!current && !has_sub(p, s->id))
            continue;
        sub_record(p, s->id, s->state, has_tx ? s->tx_hash : NULL);
        if (s->state != CHAIN_SUB_PENDING)
            packet_save(e, t, p);
        if (!current)
            continue; /* the packet moved on: the report only completes its history */
        switch (s->state) {
        case CHAIN_SUB_PENDING:
        case CHAIN_SUB_MINED:
            break;
        case CHAIN_SUB_CONFIRMED:
            /* Success is not the packet's progress: the chain's event is (it may be another
             * relayer's). Wait for it, then ask again. */
            p->r.sub_id[0] = 0;
            p->r.next_attempt_at = e->now + e->cfg.recheck_s;
            break;
        case CHAIN_SUB_REVERTED:
        case CHAIN_SUB_REFUSED:
            sub_failed(e, t, p, s->error && *s->error ? s->error : chain_submission_state_name(s->state));
            break;
        case CHAIN_SUB_UNKNOWN:
            /* Never persisted by the adapter (a crash between our batch and its write-ahead):
             * nothing was sent, so do it again; not a failed attempt. */
            p->r.sub_id[0] = 0;
            p->r.next_attempt_at = 0;
            break;
        }
    }
    if (final)
        lsub_drop(e, ls);
    txn_commit(t);
    if (final) /* its window slot is free, or its packets have a new state to act on */
        eng_kick(e);
}

static void on_submission(void *engine, struct chain *c, const struct chain_submission *s)
{
    struct engine *e = engine;
    struct echain *ch = chain_by_ptr(e, c);
    if (!ch || e->failed || !s || !s->id)
        return;
    handle_submission(e, ch, s);
}

/* ---- acks ---- */

/* Packets whose acks go to the same source chain in the same batch share one submission (one
 * acknowledgeBatch transaction), up to the chain's batch_max packets and batch_gas_cap; a packet
 * whose ack failed before is resubmitted alone (pending_answer), so a packet that sinks a batch
 * cannot sink it again. */
void try_ack(struct engine *e, struct txn *t, struct prec *p)
{
    if (p->r.state != PACKET_DELIVERED || !p->r.have_packet || !p->r.have_ack || !t)
        return;
    struct echain *src = eng_chain(e, p->r.packet.src_chain);
    if (!src) {
        p->check_after = e->now + e->cfg.recheck_s;
        return;
    }
    uint64_t gas = e->cfg.gas_per_packet + e->cfg.gas_per_payload_byte * p->r.packet.payload_len;
    bool join = src->ack_txn == t->serial && src->ack_n < src->batch_max && src->ack_gas + gas <= e->cfg.batch_gas_cap;
    char id[ENGINE_SUB_ID_MAX];
    if (join)
        snprintf(id, sizeof id, "%s", src->ack_id);
    else
        snprintf(id, sizeof id, "ack:%" PRIu64 ":%" PRIu64 ":%" PRIu32, p->r.packet.src_chain, p->r.packet.sequence,
                 p->r.nsub);
    if (packet_set_state(e, t, p, PACKET_ACKING, p->r.ack.success ? "relaying the ack" : "relaying a failed ack"))
        return;
    snprintf(p->r.sub_id, sizeof p->r.sub_id, "%s", id);
    p->r.nsub++;
    sub_record(p, id, CHAIN_SUB_PENDING, NULL);
    struct pkey k = {p->r.packet.src_chain, p->r.packet.sequence};
    lsub_add(e, id, SUB_ACK, src, &k, 1);
    if (join) {
        src->ack_n++;
        src->ack_gas += gas;
        return;
    }
    src->ack_txn = t->serial;
    snprintf(src->ack_id, sizeof src->ack_id, "%s", id);
    src->ack_n = 1;
    src->ack_gas = gas;
    txn_add(t, ACT_SUBMIT, id, k.src, k.seq);
}

/* ---- events ---- */

static bool in_store(struct engine *e, uint64_t src, uint64_t seq)
{
    struct store_key k;
    store_key_u64_u64(&k, STORE_KIND_PACKET, src, seq);
    return store_get(e->st, NULL, NULL, k.b, k.len) == FERRY_OK;
}

static struct prec *prec_new(struct engine *e, uint64_t src, uint64_t dst, uint64_t seq)
{
    struct prec *p = calloc(1, sizeof *p);
    if (!p || (p->r.packet.src_chain = src, p->r.packet.sequence = seq, tab_insert(e, p))) {
        free(p);
        (void)ferry_fail(FERRY_ENOMEM, "engine: out of memory");
        eng_fail(e, FERRY_ENOMEM, "adding a packet");
        return NULL;
    }
    p->r.packet.dst_chain = dst;
    p->r.seen_at = e->now;
    p->seen_ms = eng_clock_ms(e);
    return p;
}

static void ev_sent(struct engine *e, struct txn *t, struct echain *ch, const struct chain_event *ev)
{
    const struct packet *pk = &ev->packet;
    char key[48];
    packet_key_str(key, pk->src_chain, pk->sequence);
    uint8_t id[32];
    if (pk->src_chain != ch->id || pk->payload_len > PACKET_PAYLOAD_MAX || pk->dst_chain == ch->id) {
        log_kv(LOGL_ERROR, "engine", "ignoring a malformed PacketSent", "chain", ch->name, "packet", key, NULL);
        return;
    }
    ch->ops->packet_id(pk, id);
    if (memcmp(id, ev->packet_id, 32)) {
        log_kv(LOGL_ERROR, "engine", "ignoring a PacketSent whose id does not match its packet", "chain", ch->name,
               "packet", key, NULL);
        return;
    }
    struct prec *p = eng_find(e, pk->src_chain, pk->sequence);
    if (p && p->r.have_packet) {
        if (memcmp(p->r.id, id, 32))
            log_kv(LOGL_ERROR, "engine", "a second, different PacketSent for a known packet (a reorg past the "
                   "confirmation depth?); keeping the first", "packet", key, NULL);
        return; /* a repeat */
    }
    if (p && memcmp(p->r.id, id, 32)) {
        log_kv(LOGL_ERROR, "engine", "PacketSent does not match the packet already received on its destination",
               "packet", key, NULL);
        return;
    }
    if (!p && in_store(e, pk->src_chain, pk->sequence))
        return; /* finished before: a repeat after restart */
    bool fresh = !p;
    if (fresh && !(p = prec_new(e, pk->src_chain, pk->dst_chain, pk->sequence)))
        return;
    struct packet copy;
    if (packet_copy(&copy, pk)) {
        eng_fail(e, FERRY_ENOMEM, "copying a packet");
        return;
    }
    packet_clear(&p->r.packet);
    p->r.packet = copy;
    p->r.have_packet = true;
    memcpy(p->r.id, id, 32);
    p->r.sent_block = ev->at.block_number;
    p->r.sent_time = ev->at.block_timestamp;
    if (fresh) {
        (void)packet_set_state(e, t, p, PACKET_SENT, "sent on source");
    } else {
        /* Its delivery was seen first (another relayer, or a source chain that lags): now the
         * ack can be relayed. */
        packet_save(e, t, p);
        try_ack(e, t, p);
    }
}

static void ev_received(struct engine *e, struct txn *t, struct echain *ch, const struct chain_event *ev)
{
    uint64_t src = ev->packet.src_chain, seq = ev->packet.sequence;
    char key[48];
    packet_key_str(key, src, seq);
    if ((ev->packet.dst_chain && ev->packet.dst_chain != ch->id) || src == ch->id ||
        ev->ack.result_len > PACKET_PAYLOAD_MAX) {
        log_kv(LOGL_ERROR, "engine", "ignoring a malformed PacketReceived", "chain", ch->name, "packet", key, NULL);
        return;
    }
    struct prec *p = eng_find(e, src, seq);
    if (!p && in_store(e, src, seq))
        return;
    if (p && p->r.have_packet && memcmp(p->r.id, ev->packet_id, 32)) {
        log_kv(LOGL_ERROR, "engine", "PacketReceived with another id than the packet sent", "packet", key, NULL);
        return;
    }
    if (p) {
        enum packet_state s = p->r.state == PACKET_PARKED ? p->r.parked_from : p->r.state;
        if (s == PACKET_DELIVERED || s == PACKET_ACKING || packet_state_terminal(s))
            return; /* a repeat */
    }
    bool fresh = !p;
    if (fresh && !(p = prec_new(e, src, ch->id, seq)))
        return;
    struct packet_ack ack;
    if (packet_ack_copy(&ack, &ev->ack)) {
        eng_fail(e, FERRY_ENOMEM, "copying an ack");
        return;
    }
    packet_ack_clear(&p->r.ack);
    p->r.ack = ack;
    p->r.have_ack = true;
    memcpy(p->r.recv_tx, ev->at.tx_hash, 32);
    if (fresh)
        memcpy(p->r.id, ev->packet_id, 32);
    if (packet_set_state(e, t, p, PACKET_DELIVERED,
                         fresh ? "received on destination (its PacketSent not seen yet)" : "received on destination"))
        return;
    try_ack(e, t, p);
}

static void ev_skipped(struct engine *e, struct echain *ch, const struct chain_event *ev)
{
    char key[48];
    packet_key_str(key, ev->packet.src_chain, ev->packet.sequence);
    const char *why = ev->skip_reason == CHAIN_SKIP_ALREADY_RECEIVED ? "already received"
                      : ev->skip_reason == CHAIN_SKIP_TIMED_OUT     ? "timed out"
                                                                    : "other";
    log_kv(LOGL_INFO, "engine", "delivery skipped a packet", "chain", ch->name, "packet", key, "why", why, NULL);
    struct prec *p = eng_find(e, ev->packet.src_chain, ev->packet.sequence);
    /* A hint only (skips are not authenticated): look at the timeout now rather than later. */
    if (p && ev->skip_reason == CHAIN_SKIP_TIMED_OUT)
        p->tcheck_after = 0;
}

static void ev_settled(struct engine *e, struct txn *t, struct echain *ch, const struct chain_event *ev)
{
    uint64_t seq = ev->packet.sequence;
    bool acked = ev->kind == CHAIN_EV_PACKET_ACKED;
    if (ev->packet.src_chain && ev->packet.src_chain != ch->id)
        return;
    struct prec *p = eng_find(e, ch->id, seq);
    if (!p || packet_state_terminal(p->r.state))
        return; /* unknown to us, or a repeat */
    if (p->r.have_packet && memcmp(p->r.id, ev->packet_id, 32)) {
        char key[48];
        packet_key_str(key, ch->id, seq);
        log_kv(LOGL_ERROR, "engine", "settlement event with another id than the packet", "packet", key, NULL);
        return;
    }
    memcpy(p->r.settle_tx, ev->at.tx_hash, 32);
    if (acked) {
        (void)packet_set_state(e, t, p, PACKET_ACKED,
                               ev->ack.success ? "acknowledged on source" : "failed ack processed on source (refund)");
        return;
    }
    enum packet_state s = p->r.state == PACKET_PARKED ? p->r.parked_from : p->r.state;
    if (s == PACKET_DELIVERED || s == PACKET_ACKING) {
        /* Received on the destination and timed out on the source: the attesters signed
         * something false or a chain reorganised deeply. Nothing automatic is right. */
        if (p->r.state != PACKET_PARKED)
            (void)packet_set_state(e, t, p, PACKET_PARKED,
                                   "timed out on source although received on destination: the chains disagree");
        return;
    }
    (void)packet_set_state(e, t, p, PACKET_TIMED_OUT, "timed out on source (refund)");
}

static void on_events(void *engine, struct chain *c, const struct chain_event *ev, size_t n, uint64_t token)
{
    struct engine *e = engine;
    struct echain *ch = chain_by_ptr(e, c);
    if (!ch || !e->started || e->failed) {
        log_kv(LOGL_ERROR, "engine", "events refused (unknown chain, engine not started, or stopped)", NULL);
        return;
    }
    struct txn *t = txn_begin(e);
    for (size_t i = 0; i < n && !e->failed; i++) {
        metric_add(e->m_events, (const char *[]){ch->name, chain_event_kind_name(ev[i].kind)}, 1);
        switch (ev[i].kind) {
        case CHAIN_EV_PACKET_SENT: ev_sent(e, t, ch, &ev[i]); break;
        case CHAIN_EV_PACKET_RECEIVED: ev_received(e, t, ch, &ev[i]); break;
        case CHAIN_EV_PACKET_SKIPPED: ev_skipped(e, ch, &ev[i]); break;
        case CHAIN_EV_PACKET_ACKED:
        case CHAIN_EV_PACKET_TIMED_OUT: ev_settled(e, t, ch, &ev[i]); break;
        default: break;
        }
    }
    if (t) {
        t->events_done = true;
        t->done_chain = ch;
        t->done_token = token;
    }
    txn_commit(t);
    if (n) /* new packets to deliver: schedule them now, not at the next tick */
        eng_kick(e);
}

static void on_deep_reorg(void *engine, struct chain *c, uint64_t from_block, const char *detail)
{
    struct engine *e = engine;
    struct echain *ch = chain_by_ptr(e, c);
    if (!ch)
        return;
    ch->paused = true;
    metric_set(e->m_paused, (const char *[]){ch->name}, 1);
    struct log_field f[] = {LOG_STR("chain", ch->name), LOG_U64("from_block", from_block), LOG_STR("detail", detail)};
    log_fields(LOGL_ERROR, "engine", "deep reorg: the chain is paused until an operator resumes it", f, 3);
}

static void on_head(void *engine, struct chain *c, const struct chain_head *h)
{
    struct engine *e = engine;
    struct echain *ch = chain_by_ptr(e, c);
    if (!ch)
        return;
    if (ch->paused) { /* heads flow again once the adapter was resumed */
        ch->paused = false;
        metric_set(e->m_paused, (const char *[]){ch->name}, 0);
    }
    metric_set(e->m_head, (const char *[]){ch->name}, (double)h->number);
    metric_set(e->m_confirmed, (const char *[]){ch->name}, (double)h->confirmed);
}

void engine_chain_env(struct engine *e, struct chain_env *env)
{
    env->engine = e;
    env->on_events = on_events;
    env->on_deep_reorg = on_deep_reorg;
    env->on_submission = on_submission;
    env->on_head = on_head;
}

/* ---- metrics ---- */

static void chain_label(struct engine *e, uint64_t id, char out[64])
{
    struct echain *ch = eng_chain(e, id);
    if (ch)
        snprintf(out, 64, "%s", ch->name);
    else
        snprintf(out, 64, "%" PRIu64, id);
}

struct chain_agg {
    uint64_t id;
    double count, oldest, nearest;
    bool have_nearest;
};

static void collect(void *ud)
{
    struct engine *e = ud;
    for (int s = PACKET_SENT; s < PACKET_STATE__COUNT; s++)
        if (!packet_state_terminal((enum packet_state)s))
            metric_set(e->m_packets, (const char *[]){packet_state_name((enum packet_state)s)},
                       (double)e->per_state[s]);
    /* One aggregate per destination chain (configured ones first, so they show 0 when idle). */
    size_t na = 0, alloc = e->nchains + 8;
    struct chain_agg *a = calloc(alloc, sizeof *a);
    if (!a)
        return;
    for (size_t i = 0; i < e->nchains; i++)
        a[na++].id = e->chains[i].id;
    for (size_t i = 0; i < e->cap; i++) {
        struct prec *p = e->tab[i];
        if (!p || packet_state_terminal(p->r.state))
            continue;
        size_t k = 0;
        while (k < na && a[k].id != p->r.packet.dst_chain)
            k++;
        if (k == na) {
            if (na == alloc) {
                struct chain_agg *n = realloc(a, 2 * alloc * sizeof *a);
                if (!n)
                    break;
                a = n;
                alloc *= 2;
            }
            memset(&a[na], 0, sizeof a[na]);
            a[na++].id = p->r.packet.dst_chain;
        }
        a[k].count++;
        double age = (double)e->now - (double)p->r.seen_at;
        if (age > a[k].oldest)
            a[k].oldest = age;
        if (p->r.have_packet && (p->r.state == PACKET_SENT || p->r.state == PACKET_DELIVERING)) {
            double left = (double)p->r.packet.timeout_ts - (double)e->now;
            if (!a[k].have_nearest || left < a[k].nearest)
                a[k].nearest = left;
            a[k].have_nearest = true;
        }
    }
    metric_clear(e->m_backlog);
    metric_clear(e->m_oldest);
    metric_clear(e->m_nearest);
    for (size_t k = 0; k < na; k++) {
        char name[64];
        chain_label(e, a[k].id, name);
        const char *l[] = {name};
        metric_set(e->m_backlog, l, a[k].count);
        metric_set(e->m_oldest, l, a[k].oldest);
        if (a[k].have_nearest)
            metric_set(e->m_nearest, l, a[k].nearest);
    }
    free(a);
}

static enum ferry_err register_metrics(struct engine *e)
{
    struct metrics *m = e->cfg.metrics;
    if (!m)
        return FERRY_OK;
    enum ferry_err err;
    /* From 50 ms (a local devnet) to 2 h (a long timeout on a slow chain). */
    static const double latency_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200};
    if ((err = metrics_register_histogram(m, &e->m_latency, "ferry_packet_relay_seconds",
                                          "Seconds from when the daemon first saw a packet to its delivery on the "
                                          "destination (stage delivered) and its settlement on the source (acked, "
                                          "timed_out).",
                                          (const char *[]){"src", "dst", "stage", NULL}, latency_bounds,
                                          sizeof latency_bounds / sizeof latency_bounds[0])) ||
        (err = metrics_register(m, &e->m_transitions, METRIC_COUNTER, "ferry_packet_transitions_total",
                                "Packet state changes.", (const char *[]){"from", "to", NULL})) ||
        (err = metrics_register(m, &e->m_packets, METRIC_GAUGE, "ferry_packets",
                                "Packets the engine holds, by non-terminal state.", (const char *[]){"state", NULL})) ||
        (err = metrics_register(m, &e->m_events, METRIC_COUNTER, "ferry_chain_events_total",
                                "Confirmed protocol events received from each chain.",
                                (const char *[]){"chain", "kind", NULL})) ||
        (err = metrics_register(m, &e->m_submissions, METRIC_COUNTER, "ferry_submissions_total",
                                "Engine submissions by chain, kind and outcome.",
                                (const char *[]){"chain", "kind", "result", NULL})) ||
        (err = metrics_register(m, &e->m_attest, METRIC_COUNTER, "ferry_attestations_signed_total",
                                "Attestations signed (each with the chain's threshold of signatures).",
                                (const char *[]){"kind", NULL})) ||
        (err = metrics_register(m, &e->m_backlog, METRIC_GAUGE, "ferry_backlog_packets",
                                "Pending (non-terminal) packets by destination chain.",
                                (const char *[]){"chain", NULL})) ||
        (err = metrics_register(m, &e->m_oldest, METRIC_GAUGE, "ferry_oldest_pending_age_seconds",
                                "Age of the oldest pending packet by destination chain.",
                                (const char *[]){"chain", NULL})) ||
        (err = metrics_register(m, &e->m_nearest, METRIC_GAUGE, "ferry_nearest_timeout_seconds",
                                "Time left before the nearest timeout among undelivered packets, by destination "
                                "chain (negative: past).",
                                (const char *[]){"chain", NULL})) ||
        (err = metrics_register(m, &e->m_head, METRIC_GAUGE, "ferry_chain_head_block", "Latest block of each chain.",
                                (const char *[]){"chain", NULL})) ||
        (err = metrics_register(m, &e->m_confirmed, METRIC_GAUGE, "ferry_chain_confirmed_block",
                                "Latest block at the confirmation depth of each chain.",
                                (const char *[]){"chain", NULL})) ||
        (err = metrics_register(m, &e->m_paused, METRIC_GAUGE, "ferry_chain_paused",
                                "1 while a chain is paused by a deep reorg.", (const char *[]){"chain", NULL})))
        return err;
    return metrics_add_collector(m, collect, e);
}

/* ---- lifecycle ---- */

void engine_config_default(struct engine_config *c)
{
    memset(c, 0, sizeof *c);
    c->threshold = 1;
    c->batch_max = 16;
    c->gas_per_packet = 250000;
    c->gas_per_payload_byte = 16;
    c->batch_gas_cap = 8000000;
    c->inflight_max = 8;
    c->live_share_pct = 25;
    c->live_window_s = 300;
    c->retry_limit = 8;
    c->backoff_base_s = 10;
    c->backoff_max_s = 900;
    c->jitter_pct = 20;
    c->recheck_s = 30;
    c->query_retry_s = 5;
    c->probe_timeout_s = 120;
}

static int cmp_att(const void *a, const void *b)
{
    return memcmp(((const struct engine_attester *)a)->address, ((const struct engine_attester *)b)->address,
                  ADDRESS_LEN);
}

/* Has each attester sign a fixed digest and checks that the signature recovers to the address
 * the config gives: a wrong key name or address fails here, not as reverted transactions. */
static enum ferry_err check_attesters(struct engine *e)
{
    uint8_t d[32], sig[CHAIN_SIG_LEN];
    keccak256(d, "ferry engine: attester self-check", 33);
    for (size_t i = 0; i < e->natt; i++) {
        char want[ADDRESS_STR], got[ADDRESS_STR] = "(none)";
        address_to_checksum(want, e->att[i].address);
        enum ferry_err err = e->cfg.sign(e->cfg.sign_ud, e->att[i].key_name, d, sig);
        if (err)
            return ferry_fail_ctx(err, "engine: attester \"%s\" cannot sign", e->att[i].key_name);
        secp256k1_ecdsa_recoverable_signature rs;
        secp256k1_pubkey pub;
        uint8_t ser[65], addr[ADDRESS_LEN];
        size_t len = sizeof ser;
        bool ok = sig[64] <= 1 && secp256k1_ecdsa_recoverable_signature_parse_compact(e->secp, &rs, sig, sig[64]) &&
                  secp256k1_ecdsa_recover(e->secp, &pub, &rs, d) &&
                  secp256k1_ec_pubkey_serialize(e->secp, ser, &len, &pub, SECP256K1_EC_UNCOMPRESSED);
        if (ok) {
            address_from_pubkey(addr, ser + 1);
            address_to_checksum(got, addr);
            ok = !memcmp(addr, e->att[i].address, ADDRESS_LEN);
        }
        if (!ok)
            return ferry_fail(FERRY_ECRYPTO, "engine: attester \"%s\" is configured as %s but signs as %s",
                              e->att[i].key_name, want, got);
    }
    return FERRY_OK;
}

enum ferry_err engine_new(struct engine **out, const struct engine_config *cfg)
{
    *out = NULL;
    if (!cfg->store)
        return ferry_fail(FERRY_EINVAL, "engine: no store");
    if (!cfg->sign || cfg->n_attesters == 0)
        return ferry_fail(FERRY_EINVAL, "engine: no attester keys configured (attesters sign every relay)");
    if (cfg->threshold < 1 || cfg->threshold > cfg->n_attesters)
        return ferry_fail(FERRY_EINVAL, "engine: threshold %u with %zu attester keys (need 1 <= threshold <= keys)",
                          cfg->threshold, cfg->n_attesters);
    if (cfg->batch_max < 1 || cfg->retry_limit < 1 || cfg->inflight_max < 1 || cfg->live_share_pct > 100 ||
        cfg->jitter_pct > 100 || cfg->backoff_max_s < cfg->backoff_base_s)
        return ferry_fail(FERRY_EINVAL, "engine: batch_max, retry_limit and inflight_max must be >= 1, "
                                        "live_share_pct and jitter_pct <= 100, backoff_max_s >= backoff_base_s");
    struct engine *e = calloc(1, sizeof *e);
    if (!e)
        return ferry_fail(FERRY_ENOMEM, "engine: out of memory");
    e->cfg = *cfg;
    e->st = cfg->store;
    e->natt = cfg->n_attesters;
    e->att = calloc(e->natt, sizeof *e->att);
    e->secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    enum ferry_err err = FERRY_OK;
    if (!e->att || !e->secp)
        err = ferry_fail(FERRY_ENOMEM, "engine: out of memory");
    for (size_t i = 0; !err && i < e->natt; i++) {
        e->att[i] = cfg->attesters[i];
        e->att[i].key_name = cfg->attesters[i].key_name ? strdup(cfg->attesters[i].key_name) : NULL;
        if (!e->att[i].key_name)
            err = ferry_fail(FERRY_EINVAL, "engine: attester %zu has no key name", i);
    }
    if (!err) {
        qsort(e->att, e->natt, sizeof *e->att, cmp_att);
        for (size_t i = 1; !err && i < e->natt; i++)
            if (!memcmp(e->att[i - 1].address, e->att[i].address, ADDRESS_LEN))
                err = ferry_fail(FERRY_EINVAL, "engine: attesters \"%s\" and \"%s\" have the same address",
                                 e->att[i - 1].key_name, e->att[i].key_name);
    }
    if (!err)
        err = check_attesters(e);
    if (!err)
        err = register_metrics(e);
    if (err) {
        engine_free(e);
        return err;
    }
    e->rng = cfg->seed ? cfg->seed : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ 0x9e3779b97f4a7c15ull;
    *out = e;
    return FERRY_OK;
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    if (e->cfg.metrics)
        metrics_remove_collector(e->cfg.metrics, collect, e);
    for (struct txn *t = e->txns; t; t = t->next)
        t->e = NULL;
    probe_free_all(e);
    while (e->subs)
        lsub_drop(e, e->subs);
    for (size_t i = 0; i < e->cap; i++)
        prec_free(e->tab[i]);
    free(e->tab);
    for (size_t i = 0; e->att && i < e->natt; i++)
        free((char *)e->att[i].key_name);
    free(e->att);
    if (e->secp)
        secp256k1_context_destroy(e->secp);
    free(e->chains);
    free(e->dirty);
    free(e);
}

enum ferry_err engine_add_chain(struct engine *e, const struct chain_ops *ops, struct chain *c,
                                const struct engine_chain_config *cc)
{
    enum ferry_err err = chain_ops_check(ops);
    if (err)
        return err;
    if (e->started)
        return ferry_fail(FERRY_ESTATE, "engine: chains are added before engine_start");
    uint64_t id = ops->chain_id(c);
    if (id == 0)
        return ferry_fail(FERRY_EINVAL, "engine: chain \"%s\" has chain id 0", ops->chain_name(c));
    if (eng_chain(e, id))
        return ferry_fail(FERRY_EEXIST, "engine: chain %" PRIu64 " added twice", id);
    unsigned m = cc && cc->threshold ? cc->threshold : e->cfg.threshold;
    if (m > e->natt)
        return ferry_fail(FERRY_EINVAL,
                          "engine: chain \"%s\" needs %u attester signatures but this daemon holds %zu attester keys",
                          ops->chain_name(c), m, e->natt);
    struct echain *nc = realloc(e->chains, (e->nchains + 1) * sizeof *nc);
    if (!nc)
        return ferry_fail(FERRY_ENOMEM, "engine: out of memory");
    e->chains = nc;
    struct echain *ch = &e->chains[e->nchains++];
    memset(ch, 0, sizeof *ch);
    ch->ops = ops;
    ch->c = c;
    ch->id = id;
    ch->threshold = m;
    ch->batch_max = cc && cc->batch_max ? cc->batch_max : e->cfg.batch_max;
    ch->inflight_max = cc && cc->inflight_max ? cc->inflight_max : e->cfg.inflight_max;
    snprintf(ch->name, sizeof ch->name, "%s", ops->chain_name(c) ? ops->chain_name(c) : "");
    if (!ch->name[0])
        snprintf(ch->name, sizeof ch->name, "%" PRIu64, id);
    return FERRY_OK;
}

static enum sub_kind kind_of_id(const char *id, bool *ok)
{
    *ok = true;
    if (!strncmp(id, "dlv:", 4))
        return SUB_DELIVER;
    if (!strncmp(id, "ack:", 4))
        return SUB_ACK;
    if (!strncmp(id, "tmo:", 4))
        return SUB_TIMEOUT;
    *ok = false;
    return SUB_DELIVER;
}

/* Loads every record whose state index entry is non-terminal. */
static enum ferry_err reload(struct engine *e, size_t *loaded, size_t *bad)
{
    struct store_key prefix;
    store_key_begin(&prefix, STORE_KIND_INDEX);
    store_key_u8(&prefix, STORE_IDX_PACKET_STATE);
    struct store_iter *it;
    enum ferry_err err = store_iter_open(e->st, &it, prefix.b, prefix.len);
    if (err)
        return err;
    uint8_t first[3] = {STORE_KIND_INDEX, STORE_IDX_PACKET_STATE, PACKET_SENT};
    for (store_iter_seek(it, first, 3); !err && store_iter_valid(it); store_iter_next(it)) {
        size_t klen;
        const uint8_t *k = store_iter_key(it, &klen), *pk;
        size_t pklen;
        uint64_t src, seq;
        if (klen < 3 || packet_state_terminal((enum packet_state)k[2]) || k[2] >= PACKET_STATE__COUNT)
            break;
        if (!store_index_pk(k, klen, STORE_IDX_PACKET_STATE, 1, &pk, &pklen) ||
            !store_key_parse_u64_u64(pk, pklen, STORE_KIND_PACKET, &src, &seq)) {
            (*bad)++;
            continue;
        }
        struct packet_record r;
        err = packet_record_load(e->st, src, seq, &r);
        if (err == FERRY_EINVAL || err == FERRY_EUNSUPPORTED || err == FERRY_ENOTFOUND) {
            char key[48];
            packet_key_str(key, src, seq);
            log_kv(LOGL_ERROR, "engine", "skipping an unreadable packet record", "packet", key, "error",
                   ferry_errmsg(), NULL);
            (*bad)++;
            err = FERRY_OK;
            continue;
        }
        if (err)
            break;
        struct prec *p = calloc(1, sizeof *p);
        if (p)
            p->r = r; /* the key first: tab_insert hashes it */
        if (!p || tab_insert(e, p)) {
            free(p);
            packet_record_clear(&r);
            err = ferry_fail(FERRY_ENOMEM, "engine: out of memory reloading packets");
            break;
        }
        p->indexed = r.state;
        e->per_state[r.state]++;
        (*loaded)++;
    }
    if (!err)
        err = store_iter_status(it);
    store_iter_free(it);
    return err;
}

enum ferry_err engine_start(struct engine *e, uint64_t now)
{
    if (e->started)
        return ferry_fail(FERRY_ESTATE, "engine: already started");
    if (e->failed)
        return ferry_fail(e->failed, "engine: stopped after an earlier error");
    e->now = now;
    size_t loaded = 0, bad = 0;
    enum ferry_err err = reload(e, &loaded, &bad);
    if (err)
        return ferry_fail_ctx(err, "engine: reloading packets");
    /* Rebuild the submissions in flight from the records that name one. */
    for (size_t i = 0; i < e->cap; i++) {
        struct prec *p = e->tab[i];
        if (!p || !p->r.sub_id[0])
            continue;
        bool ok;
        enum sub_kind k = kind_of_id(p->r.sub_id, &ok);
        struct echain *ch = ok ? eng_chain(e, k == SUB_DELIVER ? p->r.packet.dst_chain : p->r.packet.src_chain) : NULL;
        if (!ch || p->r.state != sub_kind_state(k)) {
            char key[48];
            packet_key_str(key, p->r.packet.src_chain, p->r.packet.sequence);
            log_kv(LOGL_WARN, "engine", "a submission on a chain that is not configured (or a stale id): left as it is",
                   "packet", key, "submission", p->r.sub_id, NULL);
            continue;
        }
        struct pkey key = {p->r.packet.src_chain, p->r.packet.sequence};
        lsub_add(e, p->r.sub_id, k, ch, &key, 1);
    }
    e->started = true;
    /* Ask each adapter what became of them; handle_submission may drop entries. */
    size_t nsubs = 0;
    for (struct lsub *s = e->subs; s; s = s->next)
        nsubs++;
    char(*ids)[ENGINE_SUB_ID_MAX] = calloc(nsubs ? nsubs : 1, ENGINE_SUB_ID_MAX);
    if (!ids)
        return ferry_fail(FERRY_ENOMEM, "engine: out of memory");
    size_t j = 0;
    for (struct lsub *s = e->subs; s; s = s->next)
        memcpy(ids[j++], s->id, ENGINE_SUB_ID_MAX);
    for (size_t i = 0; i < nsubs && !e->failed; i++) {
        struct lsub *s = lsub_find(e, ids[i]);
        if (!s)
            continue;
        struct chain_submission cs = {0};
        enum chain_submission_state st = s->ch->ops->submission(s->ch->c, ids[i], &cs);
        cs.id = ids[i];
        cs.state = st;
        handle_submission(e, s->ch, &cs);
    }
    free(ids);
    struct log_field f[] = {LOG_U64("packets", loaded), LOG_U64("unreadable", bad), LOG_U64("submissions", nsubs)};
    log_fields(LOGL_INFO, "engine", "started: pending packets reloaded", f, 3);
    return e->failed;
}

enum ferry_err engine_tick(struct engine *e, uint64_t now)
{
    if (e->failed)
        return ferry_fail(e->failed, "engine: stopped after an earlier error; restart ferry");
    if (!e->started)
        return ferry_fail(FERRY_ESTATE, "engine: engine_tick before engine_start");
    if (now > e->now)
        e->now = now;
    e->kicked = false;
    sched_tick(e);
    return e->failed;
}

enum ferry_err engine_failed(const struct engine *e) { return e->failed; }

enum ferry_err engine_retry(struct engine *e, uint64_t src_chain, uint64_t sequence)
{
    struct prec *p = eng_find(e, src_chain, sequence);
    if (!p)
        return ferry_fail(FERRY_ENOTFOUND, "engine: no pending packet %" PRIu64 "/%" PRIu64, src_chain, sequence);
    if (p->r.state != PACKET_PARKED)
        return ferry_fail(FERRY_ESTATE, "engine: packet %" PRIu64 "/%" PRIu64 " is %s, not PARKED", src_chain,
                          sequence, packet_state_name(p->r.state));
    if (e->failed)
        return ferry_fail(e->failed, "engine: stopped after an earlier error; restart ferry");
    struct txn *t = txn_begin(e);
    enum ferry_err err = packet_set_state(e, t, p, p->r.parked_from, "operator retry");
    if (!err)
        try_ack(e, t, p);
    txn_commit(t);
    eng_kick(e);
    return err ? err : e->failed;
}

void engine_stats(const struct engine *e, struct engine_stats *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->packets, e->per_state, sizeof out->packets);
    out->queries = e->nprobes;
    for (struct lsub *s = e->subs; s; s = s->next)
        out->submissions++;
}
