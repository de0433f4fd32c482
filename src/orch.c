/* The intent orchestrator's core: the one door for intent and hop state changes, store batches
 * and their durability callbacks, chain events, submissions and queries, and the decision of
 * what is due (orch_drive). docs/intents.md, "Orchestrator", describes the machine. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/crash.h"
#include "ferry/hex.h"
#include "ferry/log.h"
#include "ferry/metrics.h"
#include "orch_internal.h"

/* The batches and queries in flight are doubly linked lists (prev, next) headed in struct orch:
 * e goes first, or leaves from wherever it is. */
#define LINK_PUSH(head, e)                      \
    do {                                        \
        (e)->next = (head);                     \
        if (head)                               \
            (head)->prev = (e);                 \
        (head) = (e);                           \
    } while (0)
#define LINK_REMOVE(head, e)                    \
    do {                                        \
        if ((e)->prev)                          \
            (e)->prev->next = (e)->next;        \
        else                                    \
            (head) = (e)->next;                 \
        if ((e)->next)                          \
            (e)->next->prev = (e)->prev;        \
    } while (0)

/* ---- the edge tables ---- */

/* What may move a STUCK intent: an operator's retry (or a cancel request) returns it to
 * stuck_from; an on-chain fact (an event, a query's answer) moves it on to where the chain says
 * it is, which is always forward of stuck_from. Nothing moves it backwards, to STUCK again, or
 * off the route stuck_from was on (a refunding intent cannot complete; one past step 0 cannot be
 * cancelled). docs/intents.md, "STUCK". */
static bool stuck_edge(enum intent_state stuck_from, enum intent_state to)
{
    if (to == stuck_from)
        return stuck_from == INTENT_PENDING || stuck_from == INTENT_OPEN || stuck_from == INTENT_IN_PROGRESS ||
               stuck_from == INTENT_REFUNDING;
    switch (stuck_from) {
    case INTENT_PENDING: /* e.g. the open failed, yet IntentOpened (or more) is seen */
        return to == INTENT_OPEN || to == INTENT_IN_PROGRESS || to == INTENT_COMPLETED || to == INTENT_REFUNDING ||
               to == INTENT_REFUNDED || to == INTENT_CANCELLED;
    case INTENT_OPEN:
        return to == INTENT_IN_PROGRESS || to == INTENT_COMPLETED || to == INTENT_REFUNDING ||
               to == INTENT_REFUNDED || to == INTENT_CANCELLED;
    case INTENT_IN_PROGRESS: /* an advance failed, yet the route completed or came back */
        return to == INTENT_COMPLETED || to == INTENT_REFUNDING || to == INTENT_REFUNDED;
    case INTENT_REFUNDING: return to == INTENT_REFUNDED;
    default: return false;
    }
}

static bool intent_edge(enum intent_state from, enum intent_state to, enum intent_state stuck_from)
{
    switch (from) {
    case INTENT_NONE: return to == INTENT_PENDING;
    case INTENT_PENDING: return to == INTENT_OPEN || to == INTENT_CANCELLED || to == INTENT_STUCK;
    case INTENT_OPEN:
        return to == INTENT_IN_PROGRESS || to == INTENT_CANCELLED || to == INTENT_REFUNDING || to == INTENT_STUCK;
    case INTENT_IN_PROGRESS: return to == INTENT_COMPLETED || to == INTENT_REFUNDING || to == INTENT_STUCK;
    case INTENT_REFUNDING: return to == INTENT_REFUNDED || to == INTENT_STUCK;
    case INTENT_STUCK: return stuck_edge(stuck_from, to);
    default: return false; /* terminal */
    }
}

static bool hop_success_path(enum hop_state s) { return s >= HOP_WAITING && s <= HOP_DONE; }

static bool hop_edge(enum hop_state from, enum hop_state to)
{
    if (from == HOP_NONE)
        return to == HOP_WAITING;
    /* Forward along the success path, skipping what another relayer (or a missed event) did. */
    if (hop_success_path(from) && hop_success_path(to))
        return to > from;
    if (from >= HOP_WAITING && from <= HOP_ARRIVED)
        return to == HOP_FAILED || to == HOP_TIMED_OUT;
    if (from == HOP_FAILED || from == HOP_TIMED_OUT)
        return to == HOP_REFUNDED;
    return false;
}

/* The next state on the way from `from` to `to`, or NONE if there is no way (or no need). */
static enum intent_state intent_path(enum intent_state from, enum intent_state to, enum intent_state stuck_from)
{
    if (from == to || intent_state_terminal(from))
        return INTENT_NONE;
    if (from == INTENT_STUCK || to == INTENT_STUCK)
        return intent_edge(from, to, stuck_from) ? to : INTENT_NONE;
    switch (to) {
    case INTENT_OPEN: return from == INTENT_PENDING ? INTENT_OPEN : INTENT_NONE;
    case INTENT_IN_PROGRESS:
    case INTENT_COMPLETED:
        if (from == INTENT_PENDING)
            return INTENT_OPEN;
        if (from == INTENT_OPEN)
            return INTENT_IN_PROGRESS;
        return from == INTENT_IN_PROGRESS && to == INTENT_COMPLETED ? INTENT_COMPLETED : INTENT_NONE;
    case INTENT_REFUNDING:
    case INTENT_REFUNDED:
        if (from == INTENT_PENDING)
            return INTENT_OPEN;
        if (from == INTENT_OPEN || from == INTENT_IN_PROGRESS)
            return INTENT_REFUNDING;
        return from == INTENT_REFUNDING && to == INTENT_REFUNDED ? INTENT_REFUNDED : INTENT_NONE;
    case INTENT_CANCELLED:
        return from == INTENT_PENDING || from == INTENT_OPEN ? INTENT_CANCELLED : INTENT_NONE;
    default: return INTENT_NONE;
    }
}

/* ---- the table of intents ---- */

void orch_fail(struct orch *o, enum ferry_err err, const char *what)
{
    if (o->failed)
        return;
    o->failed = err;
    log_kv(LOGL_ERROR, "orch", "stopped", "while", what, "error", ferry_errmsg(), NULL);
}

void orch_kick(struct orch *o)
{
    if (!o->cfg.kick || o->kicked || !o->started || o->failed)
        return;
    o->kicked = true;
    o->cfg.kick(o->cfg.kick_ud);
}

static size_t slot_of(const struct orch *o, const uint8_t id[32])
{
    uint64_t h = 0;
    memcpy(&h, id, sizeof h); /* ids are hashes already */
    return (size_t)h & (o->cap - 1);
}

struct irec *orch_find(struct orch *o, const uint8_t id[32])
{
    if (!o->cap)
        return NULL;
    for (size_t i = slot_of(o, id);; i = (i + 1) & (o->cap - 1)) {
        struct irec *ir = o->tab[i];
        if (!ir)
            return NULL;
        if (memcmp(ir->r.id, id, 32) == 0)
            return ir;
    }
}

static enum ferry_err tab_grow(struct orch *o)
{
    size_t ncap = o->cap ? o->cap * 2 : 64;
    struct irec **nt = calloc(ncap, sizeof *nt);
    if (!nt)
        return ferry_fail(FERRY_ENOMEM, "orch: out of memory");
    struct irec **old = o->tab;
    size_t ocap = o->cap;
    o->tab = nt;
    o->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i]) {
            size_t j = slot_of(o, old[i]->r.id);
            while (nt[j])
                j = (j + 1) & (ncap - 1);
            nt[j] = old[i];
        }
    free(old);
    return FERRY_OK;
}

enum ferry_err orch_insert(struct orch *o, struct irec *ir)
{
    if ((o->count + 1) * 2 > o->cap) {
        enum ferry_err e = tab_grow(o);
        if (e)
            return e;
    }
    size_t i = slot_of(o, ir->r.id);
    while (o->tab[i])
        i = (i + 1) & (o->cap - 1);
    o->tab[i] = ir;
    o->count++;
    if (ir->r.state != INTENT_NONE)
        o->per_state[ir->r.state]++;
    return FERRY_OK;
}

static void tab_remove(struct orch *o, struct irec *ir)
{
    size_t i = slot_of(o, ir->r.id);
    while (o->tab[i] != ir)
        i = (i + 1) & (o->cap - 1);
    o->tab[i] = NULL;
    o->count--;
    /* Re-seat the run that follows, so that lookups do not stop at the hole. */
    for (size_t j = (i + 1) & (o->cap - 1); o->tab[j]; j = (j + 1) & (o->cap - 1)) {
        struct irec *m = o->tab[j];
        o->tab[j] = NULL;
        size_t k = slot_of(o, m->r.id);
        while (o->tab[k])
            k = (k + 1) & (o->cap - 1);
        o->tab[k] = m;
    }
}

/* ---- the map of transfers in flight ---- */

static size_t seq_slot(uint64_t chain, uint64_t seq, size_t cap)
{
    uint64_t h = (chain * 0x9E3779B97F4A7C15ull) ^ (seq + 0x632BE59BD9B4E019ull);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (size_t)h & (cap - 1);
}

struct oseq *orch_seq_find(struct orch *o, uint64_t chain, uint64_t seq)
{
    if (!o->seq_cap || seq == 0)
        return NULL;
    for (size_t i = seq_slot(chain, seq, o->seq_cap);; i = (i + 1) & (o->seq_cap - 1)) {
        struct oseq *q = &o->seqs[i];
        if (!q->used)
            return NULL;
        if (q->chain == chain && q->seq == seq)
            return q;
    }
}

static bool seq_grow(struct orch *o)
{
    size_t ncap = o->seq_cap ? o->seq_cap * 2 : 64;
    struct oseq *n = calloc(ncap, sizeof *n);
    if (!n)
        return false;
    for (size_t i = 0; i < o->seq_cap; i++)
        if (o->seqs[i].used) {
            size_t j = seq_slot(o->seqs[i].chain, o->seqs[i].seq, ncap);
            while (n[j].used)
                j = (j + 1) & (ncap - 1);
            n[j] = o->seqs[i];
        }
    free(o->seqs);
    o->seqs = n;
    o->seq_cap = ncap;
    return true;
}

bool orch_seq_put(struct orch *o, uint64_t chain, uint64_t seq, const struct irec *ir, int hop)
{
    if (seq == 0)
        return true;
    struct oseq *q = orch_seq_find(o, chain, seq);
    if (!q) {
        if ((o->seq_count + 1) * 2 > o->seq_cap && !seq_grow(o)) {
            (void)ferry_fail(FERRY_ENOMEM, "orch: out of memory");
            orch_fail(o, FERRY_ENOMEM, "remembering a transfer");
            return false;
        }
        size_t i = seq_slot(chain, seq, o->seq_cap);
        while (o->seqs[i].used)
            i = (i + 1) & (o->seq_cap - 1);
        q = &o->seqs[i];
        o->seq_count++;
    }
    memset(q, 0, sizeof *q);
    q->used = true;
    q->chain = chain;
    q->seq = seq;
    memcpy(q->id, ir->r.id, 32);
    q->hop = hop;
    return true;
}

static void seq_del(struct orch *o, uint64_t chain, uint64_t seq, const uint8_t id[32])
{
    struct oseq *q = orch_seq_find(o, chain, seq);
    if (!q || memcmp(q->id, id, 32) != 0)
        return;
    size_t i = (size_t)(q - o->seqs);
    memset(q, 0, sizeof *q);
    o->seq_count--;
    /* Re-seat the run that follows, so that lookups do not stop at the hole. */
    for (size_t j = (i + 1) & (o->seq_cap - 1); o->seqs[j].used; j = (j + 1) & (o->seq_cap - 1)) {
        struct oseq m = o->seqs[j];
        memset(&o->seqs[j], 0, sizeof m);
        size_t k = seq_slot(m.chain, m.seq, o->seq_cap);
        while (o->seqs[k].used)
            k = (k + 1) & (o->seq_cap - 1);
        o->seqs[k] = m;
    }
}

static void seq_forget(struct orch *o, const struct irec *ir)
{
    for (size_t i = 0; i < ir->r.intent.n_steps; i++)
        seq_del(o, ir->r.hops[i].chain, ir->r.hops[i].sequence, ir->r.id);
    seq_del(o, ir->refund_chain, ir->refund_seq, ir->r.id);
}

void irec_free(struct irec *ir)
{
    if (!ir)
        return;
    intent_record_clear(&ir->r);
    free(ir);
}

struct ochain *orch_chain(struct orch *o, uint64_t id)
{
    for (size_t i = 0; i < o->nchains; i++)
        if (o->chains[i].id == id)
            return &o->chains[i];
    return NULL;
}

/* The time on `chain` as its router judges a deadline (block.timestamp): its latest head's, so
 * that a refund is not sent (to revert) while the chain is still before the deadline; the
 * daemon's clock only until a head was seen. A transaction lands in a later block, whose time is
 * at least this. */
static uint64_t chain_now(struct orch *o, uint64_t chain)
{
    const struct ochain *ch = orch_chain(o, chain);
    return ch && ch->head.timestamp ? ch->head.timestamp : o->now;
}

static struct ochain *chain_by_ptr(struct orch *o, const struct chain *c)
{
    for (size_t i = 0; i < o->nchains; i++)
        if (o->chains[i].c == c)
            return &o->chains[i];
    return NULL;
}

static const char *chain_name(struct orch *o, uint64_t id, char buf[24])
{
    const struct intent_chain_info *ci = intent_dir_by_id(&o->cfg.dir, id);
    if (ci)
        return ci->name;
    snprintf(buf, 24, "%" PRIu64, id);
    return buf;
}

static const uint8_t *router_of(struct orch *o, uint64_t chain)
{
    const struct intent_chain_info *ci = intent_dir_by_id(&o->cfg.dir, chain);
    static const uint8_t zero[ADDRESS_LEN];
    return ci ? ci->router : zero;
}

/* ---- batches ---- */

struct otxn *otxn_begin(struct orch *o)
{
    if (o->building) {
        (void)ferry_fail(FERRY_ESTATE, "orch: a batch was started inside another");
        orch_fail(o, FERRY_ESTATE, "starting a batch");
        return NULL;
    }
    struct otxn *t = calloc(1, sizeof *t);
    if (!t) {
        (void)ferry_fail(FERRY_ENOMEM, "orch: out of memory");
        orch_fail(o, FERRY_ENOMEM, "starting a batch");
        return NULL;
    }
    t->o = o;
    if (store_batch_begin(o->cfg.store, &t->b)) {
        orch_fail(o, FERRY_ENOMEM, "starting a batch");
        t->b = NULL;
    }
    o->building = t;
    o->ndirty = 0;
    return t;
}

static void otxn_add(struct otxn *t, enum act_kind kind, const uint8_t id[32], const char *sub)
{
    if (!t)
        return;
    if (t->na == t->aalloc) {
        size_t na = t->aalloc ? t->aalloc * 2 : 4;
        struct oact *a = realloc(t->a, na * sizeof *a);
        if (!a) {
            (void)ferry_fail(FERRY_ENOMEM, "orch: out of memory");
            orch_fail(t->o, FERRY_ENOMEM, "queueing an action");
            return;
        }
        t->a = a;
        t->aalloc = na;
    }
    struct oact *a = &t->a[t->na++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    memcpy(a->id, id, 32);
    if (sub)
        snprintf(a->sub, sizeof a->sub, "%s", sub);
}

/* Records changed in a batch are encoded once, when it is committed. */
void orch_save(struct orch *o, struct otxn *t, struct irec *ir)
{
    if (!t || o->building != t || ir->dirty)
        return;
    if (o->ndirty == o->dirty_alloc) {
        size_t na = o->dirty_alloc ? o->dirty_alloc * 2 : 32;
        struct irec **d = realloc(o->dirty, na * sizeof *d);
        if (!d) {
            (void)ferry_fail(FERRY_ENOMEM, "orch: out of memory");
            orch_fail(o, FERRY_ENOMEM, "tracking a change");
            return;
        }
        o->dirty = d;
        o->dirty_alloc = na;
    }
    o->dirty[o->ndirty++] = ir;
    ir->dirty = true;
}

static void write_record(struct orch *o, struct otxn *t, struct irec *ir)
{
    struct store_key k;
    orch_intent_key(&k, ir->r.id);
    size_t len = 0;
    char *v = orch_record_encode(&ir->r, &len);
    if (!v) {
        (void)ferry_fail(FERRY_ENOMEM, "orch: out of memory encoding a record");
        orch_fail(o, FERRY_ENOMEM, "encoding an intent record");
        return;
    }
    store_put(t->b, k.b, k.len, v, len);
    free(v);
    uint8_t nf = (uint8_t)ir->r.state, of = (uint8_t)ir->indexed;
    if (ir->indexed != ir->r.state)
        store_index_move(t->b, STORE_IDX_INTENT_STATE, ir->indexed == INTENT_NONE ? NULL : &of, 1, &nf, 1, k.b, k.len);
    if (ir->indexed == INTENT_NONE) {
        uint8_t owner[32];
        orch_owner_field(owner, ir->r.intent.owner);
        store_index_put(t->b, STORE_IDX_INTENT_OWNER, owner, 32, k.b, k.len);
    }
    ir->indexed = ir->r.state;
}

static void otxn_free(struct otxn *t)
{
    store_batch_free(t->b);
    free(t->a);
    free(t);
}

static void forget(struct orch *o, const uint8_t id[32])
{
    struct irec *ir = orch_find(o, id);
    if (!ir || !intent_state_terminal(ir->r.state) || ir->dirty)
        return; /* (a query in flight finds it gone by id: harmless) */
    o->nsubs -= ir->r.open_sub[0] != 0; /* reports still to come are ignored */
    for (size_t i = 0; i < ir->r.intent.n_steps; i++)
        o->nsubs -= ir->r.hops[i].sub_id[0] != 0;
    o->per_state[ir->r.state]--;
    seq_forget(o, ir);
    tab_remove(o, ir);
    irec_free(ir);
}

static void submit_now(struct orch *o, const char *sub);

static void otxn_done(void *arg, enum ferry_err result)
{
    struct otxn *t = arg;
    struct orch *o = t->o;
    if (!o) { /* the orchestrator was freed while this batch was queued */
        otxn_free(t);
        return;
    }
    LINK_REMOVE(o->txns, t);
    if (result) {
        orch_fail(o, result, "writing a batch");
        if (t->cb)
            t->cb(t->cb_ud, result, t->cb_id, INTENT_NONE, false);
        otxn_free(t);
        return;
    }
    if (t->na)
        ferry_crash_point("orch.after_persist");
    if (t->last_event) {
        o->durable_event = t->last_event;
        if (o->cfg.notify)
            o->cfg.notify(o->cfg.notify_ud, t->last_event);
    }
    if (t->cb) {
        struct irec *ir = orch_find(o, t->cb_id);
        t->cb(t->cb_ud, FERRY_OK, t->cb_id, ir ? ir->r.state : INTENT_PENDING, false);
    }
    bool submitted = false;
    for (size_t i = 0; i < t->na && !o->failed; i++) {
        if (t->a[i].kind == ACT_SUBMIT) {
            submit_now(o, t->a[i].sub);
            submitted = true;
        } else
            forget(o, t->a[i].id);
    }
    /* What this batch decided is out; anything it left due (a refusal's retry, another intent
     * waiting on the same chain) is picked up at once rather than at the next tick. */
    if (submitted)
        orch_kick(o);
    otxn_free(t);
}

void otxn_commit(struct otxn *t)
{
    if (!t)
        return;
    struct orch *o = t->o;
    for (size_t i = 0; i < o->ndirty; i++) {
        if (!o->failed && t->b)
            write_record(o, t, o->dirty[i]);
        o->dirty[i]->dirty = false;
    }
    o->ndirty = 0;
    o->building = NULL;
    if (o->failed || !t->b) {
        if (t->cb)
            t->cb(t->cb_ud, o->failed ? o->failed : FERRY_ENOMEM, t->cb_id, INTENT_NONE, false);
        otxn_free(t);
        return;
    }
    if (t->last_event) {
        struct store_key k;
        uint8_t v[8];
        orch_meta_key(&k, ORCH_META_JOURNAL, NULL);
        store_be64_put(v, o->next_event);
        store_put(t->b, k.b, k.len, v, sizeof v);
    }
    if (store_batch_count(t->b) == 0 && t->na == 0 && !t->cb) {
        otxn_free(t);
        return;
    }
    LINK_PUSH(o->txns, t);
    struct store_batch *b = t->b;
    t->b = NULL; /* the store owns it now, whatever happens */
    enum ferry_err err = store_commit_group(b, otxn_done, t);
    if (err) {
        LINK_REMOVE(o->txns, t);
        orch_fail(o, err, "queueing a batch");
        if (t->cb)
            t->cb(t->cb_ud, err, t->cb_id, INTENT_NONE, false);
        otxn_free(t);
    }
}

/* ---- the journal ---- */

static void journal(struct orch *o, struct otxn *t, struct irec *ir, int hop, const char *from, const char *to,
                    const char *reason, const uint8_t *tx, const struct orch_funds *funds)
{
    if (!t || !t->b || o->failed)
        return;
    uint64_t id = o->next_event;
    cJSON *j = cJSON_CreateObject();
    char hid[67], cbuf[24];
    hex_encode(hid, ir->r.id, 32, true);
    bool ok = j && cJSON_AddNumberToObject(j, "id", (double)id) && cJSON_AddNumberToObject(j, "time", (double)o->now) &&
              cJSON_AddStringToObject(j, "intent_id", hid) &&
              cJSON_AddStringToObject(j, "kind", hop >= 0 ? "hop" : "intent");
    if (ok && hop >= 0)
        ok = cJSON_AddNumberToObject(j, "hop", hop) &&
             cJSON_AddStringToObject(j, "chain", chain_name(o, ir->r.hops[hop].chain, cbuf));
    ok = ok && cJSON_AddStringToObject(j, "from", from) && cJSON_AddStringToObject(j, "to", to);
    if (ok && reason && *reason)
        ok = cJSON_AddStringToObject(j, "reason", reason) != NULL;
    static const uint8_t zero[32];
    if (ok && tx && memcmp(tx, zero, 32)) {
        char h[67];
        hex_encode(h, tx, 32, true);
        ok = cJSON_AddStringToObject(j, "tx", h) != NULL;
    }
    if (ok && funds && funds->known) {
        cJSON *f = orch_funds_json(funds, &o->cfg.dir);
        ok = f && cJSON_AddItemToObject(j, "funds", f);
    }
    char *s = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!s) {
        (void)ferry_fail(FERRY_ENOMEM, "orch: out of memory writing the journal");
        orch_fail(o, FERRY_ENOMEM, "writing the journal");
        return;
    }
    struct store_key k;
    store_key_kind_u64(&k, STORE_KIND_EVENT, id);
    store_put(t->b, k.b, k.len, s, strlen(s));
    free(s);
    o->next_event = id + 1;
    t->last_event = id;
}

/* ---- the one door ---- */

enum ferry_err intent_set_state(struct orch *o, struct otxn *t, struct irec *ir, enum intent_state to,
                                const char *reason, const uint8_t *tx)
{
    struct intent_record *r = &ir->r;
    enum intent_state from = r->state;
    char hid[67];
    hex_encode(hid, r->id, 32, true);
    if (!intent_edge(from, to, r->stuck_from)) {
        log_kv(LOGL_ERROR, "orch", "refused intent state change", "intent", hid, "from", intent_state_name(from), "to",
               intent_state_name(to), "reason", reason, NULL);
        return ferry_fail(FERRY_ESTATE, "intent %s: %s -> %s is not allowed", hid, intent_state_name(from),
                          intent_state_name(to));
    }
    if (to == INTENT_STUCK)
        r->stuck_from = from;
    else
        r->stuck_from = INTENT_NONE;
    if (to == INTENT_STUCK || to == INTENT_REFUNDING || to == INTENT_CANCELLED)
        snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
    else if (to != INTENT_REFUNDED)
        r->reason[0] = 0; /* REFUNDED keeps why it was refunded */
    r->state = to;
    r->entered[to] = o->now;
    if (from != INTENT_NONE)
        o->per_state[from]--;
    o->per_state[to]++;
    orch_save(o, t, ir);
    journal(o, t, ir, -1, intent_state_name(from), intent_state_name(to), reason, tx, &r->funds);
    log_kv(to == INTENT_STUCK ? LOGL_ERROR : LOGL_INFO, "orch", "intent state", "intent", hid, "from",
           intent_state_name(from), "to", intent_state_name(to), "reason", reason, NULL);
    metric_add(o->m_transitions, (const char *[]){intent_state_name(from), intent_state_name(to)}, 1);
    if (intent_state_terminal(to))
        otxn_add(t, ACT_FORGET, r->id, NULL);
    return FERRY_OK;
}

static void hop_add_tx(struct hop_record *h, const uint8_t *tx)
{
    static const uint8_t zero[32];
    if (!tx || memcmp(tx, zero, 32) == 0)
        return;
    for (size_t i = 0; i < h->ntxs; i++)
        if (memcmp(h->txs[i], tx, 32) == 0)
            return;
    if (h->ntxs == ORCH_TXS_KEPT) {
        memmove(h->txs[0], h->txs[1], (ORCH_TXS_KEPT - 1) * 32);
        h->ntxs--;
    }
    memcpy(h->txs[h->ntxs++], tx, 32);
}

enum ferry_err hop_set_state(struct orch *o, struct otxn *t, struct irec *ir, uint32_t i, enum hop_state to,
                             const char *reason, const uint8_t *tx)
{
    struct hop_record *h = &ir->r.hops[i];
    enum hop_state from = h->state;
    char hid[67], step[12];
    hex_encode(hid, ir->r.id, 32, true);
    snprintf(step, sizeof step, "%" PRIu32, i);
    if (!hop_edge(from, to)) {
        log_kv(LOGL_ERROR, "orch", "refused hop state change", "intent", hid, "hop", step, "from",
               hop_state_name(from), "to", hop_state_name(to), NULL);
        return ferry_fail(FERRY_ESTATE, "intent %s hop %s: %s -> %s is not allowed", hid, step, hop_state_name(from),
                          hop_state_name(to));
    }
    h->state = to;
    h->entered[to] = o->now;
    if (to == HOP_FAILED || to == HOP_TIMED_OUT)
        snprintf(h->error, sizeof h->error, "%s", reason ? reason : "");
    hop_add_tx(h, tx);
    orch_save(o, t, ir);
    /* A record is born with its hops WAITING: one journal entry for the intent says it all. */
    if (from != HOP_NONE) {
        journal(o, t, ir, (int)i, hop_state_name(from), hop_state_name(to), reason, tx,
                h->funds.known ? &h->funds : NULL);
        log_kv(LOGL_INFO, "orch", "hop state", "intent", hid, "hop", step, "from", hop_state_name(from), "to",
               hop_state_name(to), "reason", reason, NULL);
    }
    metric_add(o->m_hop_transitions, (const char *[]){hop_state_name(from), hop_state_name(to)}, 1);
    return FERRY_OK;
}

/* Walks the intent to `to` through the edges that lead there (events may skip states, e.g. a
 * restart that finds a step done). No-op when it is there or beyond. */
static void intent_reach(struct orch *o, struct otxn *t, struct irec *ir, enum intent_state to, const char *reason,
                         const uint8_t *tx)
{
    enum intent_state next;
    int guard = 0;
    while ((next = intent_path(ir->r.state, to, ir->r.stuck_from)) != INTENT_NONE && guard++ < 8)
        if (intent_set_state(o, t, ir, next, next == to ? reason : NULL, next == to ? tx : NULL))
            return;
}

/* Moves a hop forward along its success path (never back, never out of a failure). */
static void hop_reach(struct orch *o, struct otxn *t, struct irec *ir, uint32_t i, enum hop_state to,
                      const char *reason, const uint8_t *tx)
{
    struct hop_record *h = &ir->r.hops[i];
    if (hop_success_path(h->state) && to > h->state) {
        if (hop_set_state(o, t, ir, i, to, reason, tx))
            return;
    } else if (tx) {
        hop_add_tx(h, tx);
        orch_save(o, t, ir);
    }
}

static bool cross_chain(const struct intent_step *s)
{
    return s->kind == INTENT_STEP_TRANSFER && s->to_chain != s->chain;
}

/* Every hop before `step` is finished: the one just before it arrived (DONE once acked), the
 * earlier ones are DONE. */
static void hops_before(struct orch *o, struct otxn *t, struct irec *ir, uint32_t step)
{
    for (uint32_t j = 0; j < step && j < ir->r.intent.n_steps; j++) {
        bool arrived_only = j + 1 == step && cross_chain(&ir->r.intent.steps[j]);
        hop_reach(o, t, ir, j, arrived_only ? HOP_ARRIVED : HOP_DONE, NULL, NULL);
    }
    if (ir->r.current < step)
        ir->r.current = step;
}

static void funds_held(struct orch *o, struct orch_funds *f, uint64_t chain, const uint8_t token[20],
                       const uint8_t amount[32])
{
    f->known = true;
    f->chain = chain;
    memcpy(f->holder, router_of(o, chain), ADDRESS_LEN);
    memcpy(f->token, token, ADDRESS_LEN);
    memcpy(f->amount, amount, 32);
    f->in_flight = false;
}

static bool is_zero(const uint8_t p[32])
{
    static const uint8_t zero[32];
    return memcmp(p, zero, 32) == 0;
}

/* ---- submissions ---- */

static void make_sub_id(char out[ORCH_SUB_ID_MAX], const uint8_t id[32], enum sub_kind k, uint32_t step, uint32_t n)
{
    char hid[65];
    hex_encode(hid, id, 32, false);
    snprintf(out, ORCH_SUB_ID_MAX, ORCH_SUB_PREFIX "%s:%c%" PRIu32 ".%" PRIu32, hid, (char)k, step, n);
}

static bool parse_sub_id(const char *s, uint8_t id[32], char *kind, uint32_t *step)
{
    size_t pl = strlen(ORCH_SUB_PREFIX);
    if (strncmp(s, ORCH_SUB_PREFIX, pl) || strlen(s) < pl + 64 + 4 || s[pl + 64] != ':')
        return false;
    char hid[65];
    memcpy(hid, s + pl, 64);
    hid[64] = 0;
    if (hex_decode_exact(id, 32, hid, HEX_PREFIX_FORBIDDEN))
        return false;
    const char *p = s + pl + 65;
    *kind = *p++;
    if (*kind != SUB_OPEN && *kind != SUB_ADVANCE && *kind != SUB_REFUND && *kind != SUB_CANCEL)
        return false;
    char *end;
    unsigned long v = strtoul(p, &end, 10);
    if (end == p || *end != '.' || v >= INTENT_MAX_STEPS)
        return false;
    *step = (uint32_t)v;
    return true;
}

/* The chain a submission of the intent goes to. */
static uint64_t sub_chain(const struct irec *ir, char kind, uint32_t step)
{
    if (kind == SUB_ADVANCE)
        return ir->r.hops[step].chain;
    if (kind == SUB_REFUND)
        return ir->r.funds.chain;
    return ir->r.intent.origin_chain;
}

static const char *sub_kind_name(char k)
{
    return k == SUB_OPEN ? "open" : k == SUB_ADVANCE ? "advance" : k == SUB_REFUND ? "refund" : "cancel";
}

/* Names a new submission in the record (written in this batch) and submits it once durable. */
static void start_sub(struct orch *o, struct otxn *t, struct irec *ir, enum sub_kind k, uint32_t step)
{
    if (k == SUB_ADVANCE) {
        struct hop_record *h = &ir->r.hops[step];
        make_sub_id(h->sub_id, ir->r.id, k, step, h->nsub++);
        otxn_add(t, ACT_SUBMIT, ir->r.id, h->sub_id);
    } else {
        make_sub_id(ir->r.open_sub, ir->r.id, k, 0, ir->r.open_nsub++);
        otxn_add(t, ACT_SUBMIT, ir->r.id, ir->r.open_sub);
    }
    o->nsubs++;
    orch_save(o, t, ir);
}

static char *sub_slot(struct irec *ir, char kind, uint32_t step)
{
    return kind == SUB_ADVANCE ? ir->r.hops[step].sub_id : ir->r.open_sub;
}

static void handle_outcome(struct orch *o, struct otxn *t, struct irec *ir, struct ochain *ch,
                           const struct chain_submission *s);

static void submit_now(struct orch *o, const char *sub)
{
    uint8_t id[32];
    char kind;
    uint32_t step;
    if (!parse_sub_id(sub, id, &kind, &step))
        return;
    struct irec *ir = orch_find(o, id);
    if (!ir || strcmp(sub_slot(ir, kind, step), sub) != 0)
        return; /* settled meanwhile */
    struct ochain *ch = orch_chain(o, sub_chain(ir, kind, step));
    struct fbuf b;
    fbuf_init(&b, 1u << 20);
    enum ferry_err e;
    char nbuf[24];
    if (!ch)
        e = ferry_fail(FERRY_ENOTFOUND, "chain %s is not configured: the %s call cannot be submitted",
                       chain_name(o, sub_chain(ir, kind, step), nbuf), sub_kind_name(kind));
    else if (kind == SUB_OPEN)
        e = intent_encode_open(&b, &ir->r.intent, ir->r.sig);
    else if (kind == SUB_ADVANCE)
        e = intent_encode_advance(&b, &ir->r.intent, step);
    else if (kind == SUB_REFUND)
        e = intent_encode_refund(&b, &ir->r.intent);
    else
        e = intent_encode_cancel(&b, &ir->r.intent);
    if (!e) {
        struct chain_call call = {.kind = CHAIN_CALL_ROUTER, .data = b.data, .data_len = b.len};
        e = ch->ops->submit(ch->c, sub, &call);
    }
    fbuf_free(&b);
    char cbuf[24];
    const char *cname = ch ? ch->name : chain_name(o, sub_chain(ir, kind, step), cbuf);
    metric_add(o->m_submissions, (const char *[]){cname, sub_kind_name(kind), e ? "refused" : "submitted"}, 1);
    if (!e) {
        log_kv(LOGL_INFO, "orch", "submitted", "id", sub, "chain", cname, NULL);
        return;
    }
    /* Nothing was persisted or sent: the same as a refusal. */
    struct chain_submission fs = {.id = sub, .state = CHAIN_SUB_REFUSED, .error = ferry_errmsg()};
    struct otxn *t = otxn_begin(o);
    if (ch) {
        handle_outcome(o, t, ir, ch, &fs);
        orch_drive(o, t, ir);
    }
    else {
        sub_slot(ir, kind, step)[0] = 0;
        o->nsubs--;
        (void)!intent_set_state(o, t, ir, INTENT_STUCK, fs.error, NULL);
    }
    otxn_commit(t);
}

static uint64_t backoff(const struct orch *o, uint32_t attempts)
{
    uint64_t d = o->cfg.backoff_base_s;
    for (uint32_t i = 1; i < attempts && d < o->cfg.backoff_max_s; i++)
        d *= 2;
    return d < o->cfg.backoff_max_s ? d : o->cfg.backoff_max_s;
}

/* Is the call that failed still what the intent needs? (If not, somebody else did it.) */
static bool still_due(struct orch *o, const struct irec *ir, char kind, uint32_t step)
{
    const struct intent_record *r = &ir->r;
    (void)o;
    switch (kind) {
    case SUB_OPEN: return r->state == INTENT_PENDING || (r->state == INTENT_STUCK && r->stuck_from == INTENT_PENDING);
    case SUB_CANCEL: return r->state == INTENT_OPEN && r->cancel_requested;
    case SUB_ADVANCE:
        return (r->state == INTENT_IN_PROGRESS || r->state == INTENT_OPEN) && r->current == step &&
               r->hops[step].state <= HOP_SUBMITTED;
    case SUB_REFUND:
        return r->state == INTENT_REFUNDING && r->funds.known && !r->funds.in_flight;
    }
    return false;
}

/* A failed call: counts against its retry budget; STUCK past retry_limit. */
static void count_failure(struct orch *o, struct otxn *t, struct irec *ir, char kind, uint32_t step, const char *why)
{
    struct intent_record *r = &ir->r;
    uint32_t *attempts = kind == SUB_ADVANCE ? &r->hops[step].attempts : &r->open_attempts;
    uint64_t *next = kind == SUB_ADVANCE ? &r->hops[step].next_attempt_at : &r->open_next_at;
    (*attempts)++;
    *next = o->now + backoff(o, *attempts);
    if (kind == SUB_ADVANCE)
        snprintf(r->hops[step].error, sizeof r->hops[step].error, "%s", why ? why : "");
    orch_save(o, t, ir);
    if (*attempts >= o->cfg.retry_limit && r->state != INTENT_STUCK) {
        char reason[ORCH_REASON_MAX], what[32], cbuf[24];
        if (kind == SUB_ADVANCE)
            snprintf(what, sizeof what, "advance of step %" PRIu32, step);
        else
            snprintf(what, sizeof what, "%s", sub_kind_name(kind));
        snprintf(reason, sizeof reason, "%s on %s failed %" PRIu32 " times: %s", what,
                 chain_name(o, sub_chain(ir, kind, step), cbuf), *attempts, why ? why : "");
        if (intent_set_state(o, t, ir, INTENT_STUCK, reason, NULL))
            return;
    }
}

static void handle_outcome(struct orch *o, struct otxn *t, struct irec *ir, struct ochain *ch,
                           const struct chain_submission *s)
{
    uint8_t id[32];
    char kind;
    uint32_t step;
    if (!parse_sub_id(s->id, id, &kind, &step))
        return;
    char *slot = sub_slot(ir, kind, step);
    if (strcmp(slot, s->id) != 0)
        return; /* an older submission: its outcome no longer matters */
    struct intent_record *r = &ir->r;
    const char *result = chain_submission_state_name(s->state);
    switch (s->state) {
    case CHAIN_SUB_PENDING: return;
    case CHAIN_SUB_MINED:
    case CHAIN_SUB_CONFIRMED:
        if (kind == SUB_ADVANCE)
            hop_add_tx(&r->hops[step], s->tx_hash);
        if (s->state == CHAIN_SUB_MINED) {
            orch_save(o, t, ir);
            return;
        }
        if (kind == SUB_OPEN && is_zero(r->open_tx))
            memcpy(r->open_tx, s->tx_hash, 32);
        slot[0] = 0;
        o->nsubs--;
        if (kind == SUB_ADVANCE)
            r->hops[step].attempts = 0;
        else
            r->open_attempts = 0;
        /* Its events should follow (they may also have come first). Until they do, nothing is
         * submitted again for it: a query after recheck_s settles it if they never come. */
        if (!ir->verify) { /* (a restart asks at once anyway) */
            ir->query_next_at = o->now + o->cfg.recheck_s;
            ir->verify = still_due(o, ir, kind, step);
        }
        orch_save(o, t, ir);
        break;
    case CHAIN_SUB_REVERTED:
    case CHAIN_SUB_REFUSED:
        slot[0] = 0;
        o->nsubs--;
        ir->fail_kind = kind;
        ir->fail_step = step;
        snprintf(ir->fail_why, sizeof ir->fail_why, "%s", s->error ? s->error : result);
        ir->verify = true; /* first learn whether somebody else already did it */
        ir->query_next_at = 0;
        orch_save(o, t, ir);
        log_kv(LOGL_WARN, "orch", "submission failed", "id", s->id, "chain", ch->name, "state", result, "error",
               s->error, NULL);
        break;
    case CHAIN_SUB_UNKNOWN:
        /* Never persisted by the adapter (a crash before its write): ask, then submit anew. */
        slot[0] = 0;
        o->nsubs--;
        ir->verify = true;
        ir->query_next_at = 0;
        orch_save(o, t, ir);
        break;
    }
    metric_add(o->m_submissions, (const char *[]){ch->name, sub_kind_name(kind), result}, 1);
}

bool orch_on_submission(struct orch *o, struct chain *c, const struct chain_submission *s)
{
    uint8_t id[32];
    char kind;
    uint32_t step;
    if (!s->id || strncmp(s->id, ORCH_SUB_PREFIX, strlen(ORCH_SUB_PREFIX)) != 0)
        return false;
    if (!parse_sub_id(s->id, id, &kind, &step))
        return true;
    struct irec *ir = orch_find(o, id);
    struct ochain *ch = chain_by_ptr(o, c);
    if (!ir || !ch || o->failed)
        return true;
    struct otxn *t = otxn_begin(o);
    handle_outcome(o, t, ir, ch, s);
    orch_drive(o, t, ir);
    otxn_commit(t);
    orch_kick(o);
    return true;
}

/* At start: a submission named in a record on a chain that is no longer added (removed from the
 * config, or its router dropped) can be neither asked about nor followed. Its slot is cleared
 * (it was never counted in nsubs) and the intent goes STUCK saying so, instead of waiting on it
 * forever. */
void orch_orphan_subs(struct orch *o)
{
    struct otxn *t = NULL;
    for (size_t i = 0; i < o->cap && !o->failed; i++) {
        struct irec *ir = o->tab[i];
        if (!ir)
            continue;
        char reason[ORCH_REASON_MAX] = "";
        for (int h = -1; h < (int)ir->r.intent.n_steps; h++) {
            char *slot = h < 0 ? ir->r.open_sub : ir->r.hops[h].sub_id;
            uint8_t id[32];
            char kind;
            uint32_t step;
            if (!slot[0])
                continue;
            uint64_t chain = parse_sub_id(slot, id, &kind, &step) ? sub_chain(ir, kind, step)
                             : h < 0                                ? ir->r.intent.origin_chain
                                                                    : ir->r.hops[h].chain;
            if (orch_chain(o, chain))
                continue;
            if (!reason[0]) {
                char cbuf[24];
                snprintf(reason, sizeof reason, "chain %s is not configured: submission %s cannot be followed",
                         chain_name(o, chain, cbuf), slot);
            }
            log_kv(LOGL_ERROR, "orch", "a submission is on a chain that is not configured", "id", slot, NULL);
            slot[0] = 0;
        }
        if (!reason[0])
            continue;
        if (!t && !(t = otxn_begin(o)))
            return;
        if (ir->r.state == INTENT_STUCK) {
            snprintf(ir->r.reason, sizeof ir->r.reason, "%s", reason);
            orch_save(o, t, ir);
        } else
            (void)!intent_set_state(o, t, ir, INTENT_STUCK, reason, NULL);
    }
    otxn_commit(t);
}

/* ---- queries: where an intent stands on a chain ---- */

static void reconcile(struct orch *o, struct otxn *t, struct irec *ir, uint64_t chain,
                      const struct chain_intent_result *res);

static void on_query(void *ud, enum ferry_err err, const struct chain_intent_result *res)
{
    struct oquery *q = ud;
    struct orch *o = q->o;
    if (!o) {
        free(q);
        return;
    }
    LINK_REMOVE(o->queries, q);
    o->nqueries--;
    struct irec *ir = orch_find(o, q->id);
    uint64_t chain = q->chain;
    free(q);
    if (!ir)
        return;
    ir->querying = false;
    if (o->failed)
        return;
    struct otxn *t = otxn_begin(o);
    if (err) {
        char cbuf[24];
        log_kv(LOGL_WARN, "orch", "query_intent failed", "chain", chain_name(o, chain, cbuf), "error", ferry_errmsg(),
               NULL);
        if (ir->fail_kind) {
            count_failure(o, t, ir, ir->fail_kind, ir->fail_step, ir->fail_why);
            ir->fail_kind = 0;
        }
        ir->query_next_at = o->now + o->cfg.backoff_base_s;
    } else {
        reconcile(o, t, ir, chain, res);
        orch_drive(o, t, ir);
    }
    otxn_commit(t);
}

static void start_query(struct orch *o, struct irec *ir, uint64_t chain)
{
    struct ochain *ch = orch_chain(o, chain);
    if (ir->querying)
        return; /* one at a time */
    if (!ch || !ch->ops->query_intent) {
        ir->query_next_at = o->now + o->cfg.recheck_s;
        return;
    }
    struct oquery *q = calloc(1, sizeof *q);
    if (!q) {
        ir->query_next_at = o->now + o->cfg.backoff_base_s;
        return;
    }
    q->o = o;
    memcpy(q->id, ir->r.id, 32);
    q->chain = chain;
    LINK_PUSH(o->queries, q);
    o->nqueries++;
    ir->querying = true;
    if (ch->ops->query_intent(ch->c, ir->r.id, on_query, q)) {
        log_kv(LOGL_WARN, "orch", "query_intent refused", "chain", ch->name, "error", ferry_errmsg(), NULL);
        LINK_REMOVE(o->queries, q);
        o->nqueries--;
        free(q);
        ir->querying = false;
        ir->query_next_at = o->now + o->cfg.backoff_base_s;
    }
}

/* Where to ask about an intent: the chain where its funds are, or should be. */
static uint64_t where(const struct irec *ir)
{
    const struct intent_record *r = &ir->r;
    enum intent_state s = r->state == INTENT_STUCK ? r->stuck_from : r->state;
    if (s == INTENT_PENDING || s == INTENT_OPEN)
        return r->intent.origin_chain;
    if (s == INTENT_REFUNDING && r->funds.known)
        return r->funds.chain;
    if (r->current >= r->intent.n_steps)
        return r->funds.known ? r->funds.chain : r->intent.origin_chain;
    const struct hop_record *h = &r->hops[r->current];
    if (h->state == HOP_IN_FLIGHT && ir->recheck_dst)
        return h->to_chain;
    return h->chain;
}

static void set_fail_reason(char out[ORCH_REASON_MAX], const struct ochain *ch, uint32_t step,
                            enum chain_intent_fail why, const uint8_t *d, size_t dlen)
{
    const char *w = why == CHAIN_IFAIL_DEADLINE         ? "deadline passed"
                    : why == CHAIN_IFAIL_TOKEN_MISMATCH ? "token mismatch (the step names another token than the one held)"
                    : why == CHAIN_IFAIL_CALL_FAILED    ? "call failed"
                                                        : "failed";
    int n = snprintf(out, ORCH_REASON_MAX, "step %" PRIu32 ": %s", step, w);
    if (dlen && n > 0 && (size_t)n + 12 < ORCH_REASON_MAX && ch && ch->ops->describe_revert) {
        /* the adapter knows its contracts' errors: "call failed: InsufficientOutput(...)" */
        memcpy(out + n, ": ", 3);
        ch->ops->describe_revert(d, dlen, out + n + 2, ORCH_REASON_MAX - (size_t)n - 2);
        return;
    }
    if (dlen && n > 0 && (size_t)n + 12 < ORCH_REASON_MAX) {
        size_t room = (ORCH_REASON_MAX - (size_t)n - 6) / 2;
        size_t take = dlen < room ? dlen : room;
        char *p = out + n;
        memcpy(p, " (0x", 4);
        hex_encode(p + 4, d, take, false);
        p += 4 + 2 * take;
        if (take < dlen)
            *p++ = '.';
        p[0] = ')';
        p[1] = 0;
    }
}

static void reconcile(struct orch *o, struct otxn *t, struct irec *ir, uint64_t chain,
                      const struct chain_intent_result *res)
{
    struct intent_record *r = &ir->r;
    uint32_t s = res->step;
    size_t n = r->intent.n_steps;
    bool confirms = false; /* the answer says the call we wanted to make is due */
    char cbuf[24];
    const char *cname = chain_name(o, chain, cbuf);
    if (s >= n && res->status != CHAIN_ISTATUS_NONE && res->status != CHAIN_ISTATUS_COMPLETED &&
        res->status != CHAIN_ISTATUS_REFUNDED && res->status != CHAIN_ISTATUS_CANCELLED)
        s = (uint32_t)n - 1;
    /* An answer read at a block before events already applied (the adapter reads at its
     * confirmed block; events may be ahead): it says nothing new. What the events said stands,
     * and it counts as the answer (else the intent would wait recheck_s for nothing). */
    bool route = res->status == CHAIN_ISTATUS_HOLDING || res->status == CHAIN_ISTATUS_IN_FLIGHT ||
                 res->status == CHAIN_ISTATUS_DEPARTED;
    if (route && r->state == INTENT_IN_PROGRESS && s + (res->status == CHAIN_ISTATUS_DEPARTED) < r->current) {
        if (ir->fail_kind) {
            char k = ir->fail_kind;
            ir->fail_kind = 0;
            if (still_due(o, ir, k, ir->fail_step))
                count_failure(o, t, ir, k, ir->fail_step, ir->fail_why);
        }
        ir->verify = false;
        ir->query_next_at = o->now + o->cfg.recheck_s;
        return;
    }
    switch (res->status) {
    case CHAIN_ISTATUS_NONE:
        confirms = chain == r->intent.origin_chain &&
                   (r->state == INTENT_PENDING || (r->state == INTENT_STUCK && r->stuck_from == INTENT_PENDING));
        break;
    case CHAIN_ISTATUS_HOLDING:
        intent_reach(o, t, ir, INTENT_OPEN, "opened (seen by query)", NULL);
        if (s > 0)
            intent_reach(o, t, ir, INTENT_IN_PROGRESS, NULL, NULL);
        hops_before(o, t, ir, s);
        funds_held(o, &r->funds, chain, res->token, res->amount);
        orch_save(o, t, ir);
        if (r->state == INTENT_REFUNDING)
            confirms = chain_now(o, chain) >= r->intent.deadline;
        else if (r->cancel_requested && s == 0)
            confirms = true;
        else
            confirms = r->current == s && r->hops[s].chain == chain;
        break;
    case CHAIN_ISTATUS_IN_FLIGHT:
        intent_reach(o, t, ir, INTENT_IN_PROGRESS, NULL, NULL);
        hops_before(o, t, ir, s);
        r->hops[s].sequence = res->hop_sequence;
        if (cross_chain(&r->intent.steps[s]) && !orch_seq_put(o, chain, res->hop_sequence, ir, (int)s))
            return;
        r->funds.known = true;
        r->funds.chain = chain;
        memcpy(r->funds.token, res->token, 20);
        memcpy(r->funds.amount, res->amount, 32);
        r->funds.in_flight = true;
        r->hops[s].funds = r->funds;
        hop_reach(o, t, ir, s, HOP_IN_FLIGHT, "in flight (seen by query)", NULL);
        orch_save(o, t, ir);
        break;
    case CHAIN_ISTATUS_DEPARTED:
        intent_reach(o, t, ir, INTENT_IN_PROGRESS, NULL, NULL);
        hops_before(o, t, ir, s);
        hop_reach(o, t, ir, s, HOP_DONE, "delivered (seen by query)", NULL);
        if (r->current <= s && s + 1 < n) {
            r->current = s + 1;
            r->funds.known = true;
            r->funds.chain = r->intent.steps[s].to_chain;
            memcpy(r->funds.holder, router_of(o, r->funds.chain), 20);
            r->funds.in_flight = false;
        }
        ir->verify = true; /* ask the next chain */
        ir->recheck_dst = false;
        ir->query_next_at = 0;
        orch_save(o, t, ir);
        return;
    case CHAIN_ISTATUS_COMPLETED:
        intent_reach(o, t, ir, INTENT_IN_PROGRESS, NULL, NULL);
        hops_before(o, t, ir, (uint32_t)n);
        for (uint32_t j = 0; j < n; j++)
            hop_reach(o, t, ir, j, HOP_DONE, NULL, NULL);
        r->current = (uint32_t)n;
        intent_reach(o, t, ir, INTENT_COMPLETED, "completed (seen by query)", NULL);
        break;
    case CHAIN_ISTATUS_REFUNDING:
    case CHAIN_ISTATUS_REFUND_IN_FLIGHT: {
        char why[ORCH_REASON_MAX];
        snprintf(why, sizeof why, "funds returned to %s (seen by query)", cname);
        if (r->state != INTENT_REFUNDING && s < n && r->hops[s].state >= HOP_WAITING && r->hops[s].state <= HOP_ARRIVED)
            if (hop_set_state(o, t, ir, s, HOP_FAILED, why, NULL))
                break;
        intent_reach(o, t, ir, INTENT_REFUNDING, why, NULL);
        funds_held(o, &r->funds, chain, res->token, res->amount);
        r->funds.in_flight = res->status == CHAIN_ISTATUS_REFUND_IN_FLIGHT;
        orch_save(o, t, ir);
        confirms = res->status == CHAIN_ISTATUS_REFUNDING;
        break;
    }
    case CHAIN_ISTATUS_REFUNDED:
        for (uint32_t j = 0; j < n; j++)
            if (r->hops[j].state == HOP_FAILED || r->hops[j].state == HOP_TIMED_OUT)
                (void)!hop_set_state(o, t, ir, j, HOP_REFUNDED, NULL, NULL);
        intent_reach(o, t, ir, INTENT_REFUNDED, "refunded (seen by query)", NULL);
        break;
    case CHAIN_ISTATUS_CANCELLED:
        intent_reach(o, t, ir, INTENT_CANCELLED, "cancelled (seen by query)", NULL);
        break;
    }
    /* A hop in flight is asked about alternately on its destination and its source. */
    if (r->state == INTENT_IN_PROGRESS && r->current < n && r->hops[r->current].state == HOP_IN_FLIGHT)
        ir->recheck_dst = chain != r->hops[r->current].to_chain;
    if (ir->fail_kind) {
        char k = ir->fail_kind;
        ir->fail_kind = 0;
        if (still_due(o, ir, k, ir->fail_step))
            count_failure(o, t, ir, k, ir->fail_step, ir->fail_why);
    }
    if (confirms) {
        ir->verify = false;
    } else if (ir->verify) {
        /* Nothing here says the call is due: wait for events, ask again later. */
        ir->query_next_at = o->now + o->cfg.recheck_s;
    } else {
        ir->query_next_at = o->now + o->cfg.recheck_s;
    }
}

/* ---- events ---- */

static int find_hop_by_seq(const struct irec *ir, uint64_t chain, uint64_t seq)
{
    for (size_t i = 0; i < ir->r.intent.n_steps; i++)
        if (ir->r.hops[i].chain == chain && ir->r.hops[i].sequence == seq && seq != 0 &&
            cross_chain(&ir->r.intent.steps[i]))
            return (int)i;
    return -1;
}

/* Where the funds are now: held by `holder` on `chain`, or in flight from there. */
static void funds_at(struct orch_funds *f, uint64_t chain, const uint8_t holder[ADDRESS_LEN],
                     const uint8_t token[ADDRESS_LEN], const uint8_t amount[32], bool in_flight)
{
    f->known = true;
    f->chain = chain;
    memcpy(f->holder, holder, ADDRESS_LEN);
    memcpy(f->token, token, ADDRESS_LEN);
    memcpy(f->amount, amount, 32);
    f->in_flight = in_flight;
}

static bool timed_out_in(const struct chain_intent_event *ev, size_t n, uint64_t chain, uint64_t seq,
                         const uint8_t tx[32])
{
    for (size_t i = 0; i < n; i++)
        if (ev[i].kind == CHAIN_IEV_TRANSFER_REFUNDED && ev[i].at.chain_id == chain && ev[i].sequence == seq &&
            memcmp(ev[i].at.tx_hash, tx, 32) == 0)
            return ev[i].timed_out;
    return false;
}

static void apply_event(struct orch *o, struct otxn *t, struct irec *ir, uint64_t chain,
                        const struct chain_intent_event *e, const struct chain_intent_event *all, size_t nall)
{
    struct intent_record *r = &ir->r;
    size_t n = r->intent.n_steps;
    const uint8_t *tx = e->at.tx_hash;
    char why[ORCH_REASON_MAX], cbuf[24];
    switch (e->kind) {
    case CHAIN_IEV_OPENED:
        if (chain != r->intent.origin_chain)
            return;
        if (is_zero(r->open_tx))
            memcpy(r->open_tx, tx, 32);
        if (r->state == INTENT_PENDING || (r->state == INTENT_STUCK && r->stuck_from == INTENT_PENDING)) {
            funds_held(o, &r->funds, chain, e->token, e->amount);
            intent_reach(o, t, ir, INTENT_OPEN, NULL, tx);
        }
        orch_save(o, t, ir);
        return;
    case CHAIN_IEV_STEP_EXECUTED: {
        uint32_t i = e->step;
        if (i >= n || r->intent.steps[i].chain != chain)
            return;
        if (r->hops[i].state > HOP_SUBMITTED) {
            hop_add_tx(&r->hops[i], tx);
            orch_save(o, t, ir);
            return; /* a repeat */
        }
        intent_reach(o, t, ir, INTENT_IN_PROGRESS, NULL, NULL);
        hops_before(o, t, ir, i);
        const struct intent_step *st = &r->intent.steps[i];
        struct hop_record *h = &r->hops[i];
        if (cross_chain(st)) {
            h->sequence = e->sequence;
            if (!orch_seq_put(o, chain, e->sequence, ir, (int)i))
                return;
            uint64_t ts = e->at.block_timestamp;
            h->timeout_at = st->timeout && ts + st->timeout < r->intent.deadline ? ts + st->timeout
                                                                                 : r->intent.deadline;
            funds_at(&r->funds, chain, router_of(o, chain), e->token, e->amount, true);
            h->funds = r->funds;
            hop_reach(o, t, ir, i, HOP_CONFIRMED, NULL, tx);
            hop_reach(o, t, ir, i, HOP_IN_FLIGHT, NULL, NULL);
            ir->recheck_dst = true; /* a missed arrival is the likelier miss */
        } else if (st->kind == INTENT_STEP_CALL) {
            funds_held(o, &r->funds, chain, e->token, e->amount);
            h->funds = r->funds;
            hop_reach(o, t, ir, i, HOP_CONFIRMED, NULL, tx);
            hop_reach(o, t, ir, i, HOP_DONE, NULL, NULL);
            if (r->current <= i)
                r->current = i + 1;
        } else { /* a local payout: the last step */
            funds_at(&r->funds, chain, st->recipient, e->token, e->amount, false);
            h->funds = r->funds;
            hop_reach(o, t, ir, i, HOP_CONFIRMED, NULL, tx);
            hop_reach(o, t, ir, i, HOP_DONE, NULL, NULL);
            r->current = (uint32_t)n;
        }
        orch_save(o, t, ir);
        return;
    }
    case CHAIN_IEV_STEP_FAILED: {
        uint32_t i = e->step;
        if (i >= n)
            return;
        set_fail_reason(why, orch_chain(o, chain), i, e->fail_reason, e->detail, e->detail_len);
        struct hop_record *h = &r->hops[i];
        if (h->state >= HOP_WAITING && h->state <= HOP_ARRIVED)
            if (hop_set_state(o, t, ir, i, HOP_FAILED, why, tx))
                return;
        intent_reach(o, t, ir, INTENT_REFUNDING, why, tx);
        return;
    }
    case CHAIN_IEV_HOP_ARRIVED: {
        uint32_t s = e->step;
        if (s == 0 || s >= n || r->intent.steps[s].chain != chain)
            return;
        intent_reach(o, t, ir, INTENT_IN_PROGRESS, NULL, NULL);
        hops_before(o, t, ir, s - 1);
        struct hop_record *prev = &r->hops[s - 1];
        if (prev->state <= HOP_IN_FLIGHT || r->current < s) {
            if (r->current <= s) {
                funds_held(o, &r->funds, chain, e->token, e->amount);
                r->current = s;
            }
            prev->funds = r->funds;
            hop_reach(o, t, ir, s - 1, HOP_ARRIVED, NULL, tx);
        } else if (r->current == s && r->hops[s].state <= HOP_SUBMITTED) {
            /* The ack was seen first (HopDelivered moved the funds here with the source's token):
             * this says what arrived, even if step s has been submitted since. */
            funds_held(o, &r->funds, chain, e->token, e->amount);
            prev->funds = r->funds;
        }
        orch_save(o, t, ir);
        return;
    }
    case CHAIN_IEV_HOP_DELIVERED: {
        int i = find_hop_by_seq(ir, chain, e->sequence);
        if (i < 0)
            return;
        hop_reach(o, t, ir, (uint32_t)i, HOP_DONE, NULL, tx);
        if (r->current <= (uint32_t)i && (size_t)i + 1 < n) {
            /* The ack came before the arrival was seen: the funds wait on the destination. */
            r->current = (uint32_t)i + 1;
            r->funds.chain = r->intent.steps[i].to_chain;
            memcpy(r->funds.holder, router_of(o, r->funds.chain), 20);
            r->funds.in_flight = false;
        }
        orch_save(o, t, ir);
        return;
    }
    case CHAIN_IEV_TRANSFER_REFUNDED:
    case CHAIN_IEV_HOP_RETURNED: {
        int i = find_hop_by_seq(ir, chain, e->sequence);
        bool timed = e->kind == CHAIN_IEV_TRANSFER_REFUNDED ? e->timed_out
                                                            : timed_out_in(all, nall, chain, e->sequence, tx);
        if (i >= 0) {
            struct hop_record *h = &r->hops[i];
            snprintf(why, sizeof why, "hop %d to %s %s", i, chain_name(o, h->to_chain, cbuf),
                     timed ? "timed out" : "failed on delivery");
            if (h->state >= HOP_WAITING && h->state <= HOP_ARRIVED)
                if (hop_set_state(o, t, ir, (uint32_t)i, timed ? HOP_TIMED_OUT : HOP_FAILED, why, tx))
                    return;
        } else if (r->state == INTENT_REFUNDING && r->funds.in_flight && r->funds.chain == chain) {
            snprintf(why, sizeof why, "the refund hop from %s came back", chain_name(o, chain, cbuf));
        } else
            return;
        if (e->kind == CHAIN_IEV_TRANSFER_REFUNDED)
            return; /* HopReturned (same transaction) moves the intent */
        intent_reach(o, t, ir, INTENT_REFUNDING, why, tx);
        funds_held(o, &r->funds, chain, e->token, e->amount);
        r->open_next_at = 0;
        orch_save(o, t, ir);
        return;
    }
    case CHAIN_IEV_REFUND_SENT:
        if (!orch_seq_put(o, chain, e->sequence, ir, -1))
            return;
        ir->refund_chain = chain;
        ir->refund_seq = e->sequence;
        intent_reach(o, t, ir, INTENT_REFUNDING, "refund sent home", tx);
        funds_at(&r->funds, chain, router_of(o, chain), e->token, e->amount, true);
        orch_save(o, t, ir);
        return;
    case CHAIN_IEV_COMPLETED: {
        if (r->state == INTENT_REFUNDING || intent_state_terminal(r->state) ||
            (r->state == INTENT_STUCK && r->stuck_from == INTENT_REFUNDING))
            return;
        intent_reach(o, t, ir, INTENT_IN_PROGRESS, NULL, NULL);
        for (uint32_t j = 0; j < n; j++)
            hop_reach(o, t, ir, j, HOP_DONE, NULL, j + 1 == n ? tx : NULL);
        const struct intent_step *last = &r->intent.steps[n - 1];
        const struct orch_funds *got = &r->hops[n - 1].funds;
        if (got->known && !got->in_flight && got->chain == last->to_chain) {
            /* What the recipient got (the destination's TransferReceived, or the local payout) */
            r->funds = *got;
        } else {
            /* The destination's TransferReceived is not seen yet: the token and amount are the
             * ones the last hop carried on its source (docs/intents.md, "Limits"). */
            funds_at(&r->funds, last->to_chain, last->recipient, e->token, e->amount, false);
        }
        r->hops[n - 1].funds = r->funds;
        r->current = (uint32_t)n;
        intent_reach(o, t, ir, INTENT_COMPLETED, NULL, tx);
        return;
    }
    case CHAIN_IEV_REFUNDED: {
        /* The router pays where it is (policy recovery, or on the origin, or nothing to send); else
         * this is the ack of the refund hop home: the owner was paid on the origin, what that
         * hop's TransferReceived there says (the token there is not the one sent from here). */
        bool recovery = r->intent.refund == INTENT_REFUND_RECOVERY;
        bool here = recovery || chain == r->intent.origin_chain || is_zero(e->amount);
        const struct oseq *q = here ? NULL : orch_seq_find(o, chain, ir->refund_seq);
        bool got = q && q->got && !memcmp(q->id, r->id, 32);
        funds_at(&r->funds, here ? chain : r->intent.origin_chain, recovery ? r->intent.recovery : r->intent.owner,
                 got ? q->token : e->token, got ? q->amount : e->amount, false);
        for (uint32_t j = 0; j < n; j++)
            if (r->hops[j].state == HOP_FAILED || r->hops[j].state == HOP_TIMED_OUT) {
                r->hops[j].funds = r->funds;
                (void)!hop_set_state(o, t, ir, j, HOP_REFUNDED, NULL, tx);
            }
        intent_reach(o, t, ir, INTENT_REFUNDED, r->reason[0] ? r->reason : "refunded", tx);
        orch_save(o, t, ir);
        return;
    }
    case CHAIN_IEV_CANCELLED: {
        enum intent_state at = r->state == INTENT_STUCK ? r->stuck_from : r->state;
        if (chain != r->intent.origin_chain || (at != INTENT_PENDING && at != INTENT_OPEN))
            return; /* only an intent before step 0 can be cancelled on chain */
        if (r->funds.known) {
            memcpy(r->funds.holder, r->intent.owner, 20);
            r->funds.in_flight = false;
        }
        intent_reach(o, t, ir, INTENT_CANCELLED, "cancelled on chain", tx);
        return;
    }
    case CHAIN_IEV_TRANSFER_RECEIVED: {
        struct oseq *q = orch_seq_find(o, e->src_chain, e->sequence);
        if (!q || memcmp(q->id, r->id, 32) != 0)
            return;
        if (q->hop < 0) { /* the refund hop home landed; IntentRefunded (its ack) settles the intent */
            if (r->state == INTENT_REFUNDING && chain == r->intent.origin_chain &&
                !memcmp(e->recipient, r->intent.owner, 20)) {
                q->got = true;
                memcpy(q->token, e->token, 20);
                memcpy(q->amount, e->amount, 32);
            }
            return;
        }
        uint32_t i = (uint32_t)q->hop;
        const struct intent_step *st = &r->intent.steps[i];
        /* Earlier hops pay the next router: HopArrived says those. The last one pays the recipient. */
        if (i + 1 != n || st->to_chain != chain || memcmp(e->recipient, st->recipient, 20) != 0 ||
            r->state == INTENT_REFUNDING)
            return;
        funds_at(&r->funds, chain, e->recipient, e->token, e->amount, false);
        r->hops[i].funds = r->funds;
        hop_reach(o, t, ir, i, HOP_ARRIVED, NULL, tx);
        orch_save(o, t, ir);
        return;
    }
    default: return;
    }
}

void orch_on_intent_events(struct orch *o, struct chain *c, const struct chain_intent_event *ev, size_t n)
{
    struct ochain *ch = chain_by_ptr(o, c);
    if (!ch || o->failed || n == 0)
        return;
    struct otxn *t = otxn_begin(o);
    struct irec **touched = calloc(n, sizeof *touched);
    size_t nt = 0;
    uint64_t first = o->next_event;
    for (size_t i = 0; i < n && !o->failed; i++) {
        struct irec *ir;
        if (ev[i].kind == CHAIN_IEV_TRANSFER_REFUNDED || ev[i].kind == CHAIN_IEV_TRANSFER_RECEIVED) {
            /* no intent id: the map of the transfers the intents sent (most received ones are
             * other traffic, and miss here at once) */
            const struct oseq *q = ev[i].kind == CHAIN_IEV_TRANSFER_REFUNDED
                                       ? orch_seq_find(o, ch->id, ev[i].sequence)
                                       : orch_seq_find(o, ev[i].src_chain, ev[i].sequence);
            ir = q ? orch_find(o, q->id) : NULL;
        } else
            ir = orch_find(o, ev[i].intent_id);
        if (!ir || intent_state_terminal(ir->r.state))
            continue; /* not ours, or already settled (a repeat after a restart) */
        enum intent_state st = ir->r.state;
        uint32_t cur = ir->r.current;
        enum hop_state hs = cur < ir->r.intent.n_steps ? ir->r.hops[cur].state : HOP_NONE;
        apply_event(o, t, ir, ch->id, &ev[i], ev, n);
        /* An event that moved the intent on tells where it stands as well as a query would. One
         * about an earlier hop (the ack of a hop already arrived) does not: after a confirmed
         * advance whose StepExecuted is not seen yet, the step would look due and be sent twice. */
        bool moved = ir->r.state != st || ir->r.current != cur ||
                     (cur < ir->r.intent.n_steps && ir->r.hops[cur].state != hs);
        if (moved && !ir->fail_kind)
            ir->verify = false;
        if (touched) {
            size_t k = 0;
            while (k < nt && touched[k] != ir)
                k++;
            if (k == nt)
                touched[nt++] = ir;
        }
    }
    for (size_t k = 0; k < nt && !o->failed; k++)
        orch_drive(o, t, touched[k]);
    free(touched);
    otxn_commit(t);
    if (o->next_event != first) /* something moved: a hop may be due (touched[] is lost on no memory) */
        orch_kick(o);
}

/* One head into the chain's block-interval average. Timestamps are whole seconds: the anchor
 * stays until the time has moved, so sub-second blocks average out instead of reading as 0 or
 * 1000 ms. A head that goes back (a reorg, another chain behind the same name) re-anchors. */
static void observe_block_time(struct ochain *ch, const struct chain_head *h)
{
    if (!ch->bt_num || h->number <= ch->bt_num || h->timestamp < ch->bt_ts) {
        ch->bt_num = h->number;
        ch->bt_ts = h->timestamp;
        return;
    }
    uint64_t dt = h->timestamp - ch->bt_ts;
    if (dt == 0)
        return;
    double ms = (double)dt * 1000.0 / (double)(h->number - ch->bt_num);
    ch->bt_num = h->number;
    ch->bt_ts = h->timestamp;
    bool trusted = ch->bt_samples >= ORCH_BT_MIN_SAMPLES;
    if (dt > ORCH_BT_GAP_S || (trusted && ms > ORCH_BT_GAP_FACTOR * ch->bt_ms))
        return; /* the chain (or the daemon) stopped: not a block interval */
    ch->bt_ms = ch->bt_samples ? ch->bt_ms + ORCH_BT_ALPHA * (ms - ch->bt_ms) : ms;
    if (ch->bt_samples < UINT32_MAX)
        ch->bt_samples++;
}

void orch_on_head(struct orch *o, struct chain *c, const struct chain_head *h)
{
    struct ochain *ch = chain_by_ptr(o, c);
    if (!ch)
        return;
    uint64_t before = ch->head.timestamp;
    ch->head = *h;
    observe_block_time(ch, h);
    /* The chain's time reached a deadline: a refund is due there (chain_now). */
    if (ch->due_at && before < ch->due_at && h->timestamp >= ch->due_at)
        orch_kick(o);
}

uint32_t orch_block_time_ms(const struct orch *o, uint64_t chain_id)
{
    for (size_t i = 0; i < o->nchains; i++) {
        const struct ochain *ch = &o->chains[i];
        if (ch->id == chain_id && ch->bt_samples >= ORCH_BT_MIN_SAMPLES) {
            double ms = ch->bt_ms + 0.5;
            return ms < 1 ? 1 : ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
        }
    }
    const struct intent_chain_info *ci = intent_dir_by_id(&o->cfg.dir, chain_id);
    return ci ? ci->block_time_ms : 0;
}

/* The deadline a head on its chain would make due (see orch_on_head), after a drive. */
void orch_note_due(struct orch *o, const struct irec *ir)
{
    const struct intent_record *r = &ir->r;
    if (intent_state_terminal(r->state) || r->state == INTENT_STUCK || r->state == INTENT_PENDING ||
        r->state == INTENT_REFUNDING)
        return;
    struct ochain *ch = orch_chain(o, r->funds.known ? r->funds.chain : r->intent.origin_chain);
    if (ch && ch->head.timestamp < r->intent.deadline && (!ch->due_at || r->intent.deadline < ch->due_at))
        ch->due_at = r->intent.deadline;
}

/* ---- what is due ---- */


static bool chain_ok(struct orch *o, uint64_t chain, bool for_refund)
{
    struct ochain *ch = orch_chain(o, chain);
    return ch && (for_refund || !ch->paused);
}

static void refund_now(struct orch *o, struct otxn *t, struct irec *ir, const char *why)
{
    struct intent_record *r = &ir->r;
    if (r->state != INTENT_REFUNDING)
        intent_reach(o, t, ir, INTENT_REFUNDING, why, NULL);
    if (r->state == INTENT_REFUNDING && chain_ok(o, r->funds.chain, true))
        start_sub(o, t, ir, SUB_REFUND, 0);
}

/* Waiting for an event: ask the chain now and then, in case it was missed. */
static void recheck(struct orch *o, struct irec *ir)
{
    if (o->now >= ir->query_next_at && ir->query_next_at)
        start_query(o, ir, where(ir));
    else if (!ir->query_next_at)
        ir->query_next_at = o->now + o->cfg.recheck_s;
}

void orch_drive(struct orch *o, struct otxn *t, struct irec *ir)
{
    struct intent_record *r = &ir->r;
    if (o->failed || !o->started || intent_state_terminal(r->state) || r->state == INTENT_STUCK)
        return;
    uint64_t now = o->now;
    char why[ORCH_REASON_MAX], cbuf[24];
    bool in_flight = r->open_sub[0] != 0;
    for (size_t i = 0; i < r->intent.n_steps; i++)
        in_flight = in_flight || r->hops[i].sub_id[0];
    if (ir->verify || ir->fail_kind) { /* ask first; the answer drives it on */
        if (!in_flight && now >= ir->query_next_at)
            start_query(o, ir, where(ir));
        return;
    }
    if (in_flight)
        return;
    switch (r->state) {
    case INTENT_PENDING:
        if (r->cancel_requested) {
            intent_reach(o, t, ir, INTENT_CANCELLED, "cancelled before it was opened", NULL);
            return;
        }
        if (now >= r->intent.deadline) {
            intent_reach(o, t, ir, INTENT_CANCELLED, "the deadline passed before it was opened", NULL);
            return;
        }
        if (now >= r->open_next_at && chain_ok(o, r->intent.origin_chain, false))
            start_sub(o, t, ir, SUB_OPEN, 0);
        return;
    case INTENT_OPEN:
        if (now < r->open_next_at)
            return;
        if (r->cancel_requested) {
            if (chain_ok(o, r->intent.origin_chain, true))
                start_sub(o, t, ir, SUB_CANCEL, 0);
            return;
        }
        if (chain_now(o, r->funds.known ? r->funds.chain : r->intent.origin_chain) >= r->intent.deadline) {
            snprintf(why, sizeof why, "the deadline passed before step 0 ran (funds held on %s)",
                     chain_name(o, r->funds.chain, cbuf));
            refund_now(o, t, ir, why);
            return;
        }
        if (!chain_ok(o, r->hops[0].chain, false) || now < r->hops[0].next_attempt_at)
            return;
        if (hop_set_state(o, t, ir, 0, HOP_SUBMITTED, NULL, NULL))
            return;
        r->current = 0;
        start_sub(o, t, ir, SUB_ADVANCE, 0);
        (void)!intent_set_state(o, t, ir, INTENT_IN_PROGRESS, NULL, NULL);
        return;
    case INTENT_IN_PROGRESS: {
        if (r->current >= r->intent.n_steps)
            return;
        uint32_t i = r->current;
        struct hop_record *h = &r->hops[i];
        bool held_here = r->funds.known && !r->funds.in_flight && r->funds.chain == h->chain;
        if ((h->state == HOP_WAITING || h->state == HOP_SUBMITTED) && held_here) {
            if (chain_now(o, h->chain) >= r->intent.deadline) {
                snprintf(why, sizeof why, "the deadline passed with the funds held on %s before step %" PRIu32,
                         chain_name(o, h->chain, cbuf), i);
                refund_now(o, t, ir, why);
                return;
            }
            if (now < h->next_attempt_at || !chain_ok(o, h->chain, false))
                return;
            if (h->state == HOP_WAITING && hop_set_state(o, t, ir, i, HOP_SUBMITTED, NULL, NULL))
                return;
            start_sub(o, t, ir, SUB_ADVANCE, i);
            return;
        }
        recheck(o, ir);
        return;
    }
    case INTENT_REFUNDING:
        if (r->funds.known && !r->funds.in_flight && !memcmp(r->funds.holder, router_of(o, r->funds.chain), 20)) {
            if (now >= r->open_next_at && chain_ok(o, r->funds.chain, true))
                start_sub(o, t, ir, SUB_REFUND, 0);
            return;
        }
        recheck(o, ir);
        return;
    default: return;
    }
}
