/* The engine's scheduling: on every tick, which packets need a chain's attention.
 *
 *  - Deliveries, per destination: packets in SENT (or DELIVERING after a failure, once their
 *    backoff ran out) ordered by time left before their timeout, cut into batches bounded by
 *    count and estimated gas, with a share of each batch kept for live packets so that a
 *    backlog (backfill after downtime) cannot starve them. A packet that already failed goes
 *    alone, so that one bad packet cannot sink its neighbours again. Each packet of a batch is
 *    checked with query_received first; a received one is never submitted.
 *  - Timeouts: a packet not delivered when its destination's confirmed head passes its
 *    timeout is checked there; unreceived at a block past the timeout, it goes TIMING_OUT.
 *  - Acks and timeouts to resubmit after a failure: the source is asked whether the packet is
 *    still pending before anything is sent again. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "ferry/log.h"

/* ---- probes: queries in flight ---- */

static struct probe *probe_new(struct engine *e, enum probe_kind kind, const struct prec *p)
{
    struct probe *pr = calloc(1, sizeof *pr);
    if (!pr) {
        (void)ferry_fail(FERRY_ENOMEM, "engine: out of memory");
        eng_fail(e, FERRY_ENOMEM, "starting a query");
        return NULL;
    }
    pr->e = e;
    pr->kind = kind;
    pr->key = (struct pkey){p->r.packet.src_chain, p->r.packet.sequence};
    pr->gen = p->gen;
    pr->started = e->now;
    pr->next = e->probes;
    if (e->probes)
        e->probes->prev = pr;
    e->probes = pr;
    e->nprobes++;
    return pr;
}

static void probe_unlink_free(struct engine *e, struct probe *pr)
{
    if (pr->prev)
        pr->prev->next = pr->next;
    else
        e->probes = pr->next;
    if (pr->next)
        pr->next->prev = pr->prev;
    e->nprobes--;
    free(pr);
}

static void assembly_free(struct engine *e, struct assembly *as)
{
    if (as->prev)
        as->prev->next = as->next;
    else
        e->asm_list = as->next;
    if (as->next)
        as->next->prev = as->prev;
    free(as->m);
    free(as);
}

void probe_free_all(struct engine *e)
{
    while (e->probes)
        probe_unlink_free(e, e->probes);
    while (e->asm_list)
        assembly_free(e, e->asm_list);
}

/* The prec a probe asked about, if it is still in the state the probe was started in. */
static struct prec *probe_target(struct engine *e, const struct probe *pr)
{
    struct prec *p = eng_find(e, pr->key.src, pr->key.seq);
    if (!p || p->gen != pr->gen)
        return NULL;
    return p;
}

/* ---- timeouts ---- */

void start_timeout(struct engine *e, struct txn *t, struct prec *p, uint64_t proof_ts)
{
    struct echain *src = eng_chain(e, p->r.packet.src_chain);
    if (!src) {
        p->tcheck_after = e->now + e->cfg.recheck_s;
        return;
    }
    char id[ENGINE_SUB_ID_MAX];
    snprintf(id, sizeof id, "tmo:%" PRIu64 ":%" PRIu64 ":%" PRIu32, p->r.packet.src_chain, p->r.packet.sequence,
             p->r.nsub);
    p->r.proof_ts = proof_ts;
    if (packet_set_state(e, t, p, PACKET_TIMING_OUT, "not received on destination by its timeout"))
        return;
    snprintf(p->r.sub_id, sizeof p->r.sub_id, "%s", id);
    p->r.nsub++;
    sub_record(p, id, CHAIN_SUB_PENDING, NULL);
    struct pkey k = {p->r.packet.src_chain, p->r.packet.sequence};
    lsub_add(e, id, SUB_TIMEOUT, src, &k, 1);
    txn_add(t, ACT_SUBMIT, id, k.src, k.seq);
}

static bool may_time_out(const struct prec *p)
{
    enum packet_state s = p->r.state;
    return p->r.have_packet &&
           (s == PACKET_SENT || s == PACKET_DELIVERING || (s == PACKET_PARKED && p->r.parked_from == PACKET_DELIVERING));
}

static void timeout_answer(void *ud, enum ferry_err err, const struct chain_received_result *r)
{
    struct probe *pr = ud;
    struct engine *e = pr->e;
    struct prec *p = pr->given_up ? NULL : probe_target(e, pr);
    if (p) {
        p->checking = false;
        if (err || !r) {
            p->tcheck_after = e->now + e->cfg.query_retry_s;
        } else if (r->received) {
            p->tcheck_after = e->now + e->cfg.recheck_s; /* its PacketReceived is on the way */
        } else if (r->block_timestamp >= p->r.packet.timeout_ts && may_time_out(p) && !e->failed) {
            struct txn *t = txn_begin(e);
            start_timeout(e, t, p, r->block_timestamp);
            txn_commit(t);
        } else {
            p->tcheck_after = e->now + e->cfg.query_retry_s;
        }
    }
    probe_unlink_free(e, pr);
}

static void ask_timeout(struct engine *e, struct echain *dst, struct prec *p)
{
    struct probe *pr = probe_new(e, PROBE_TIMEOUT, p);
    if (!pr)
        return;
    p->checking = true;
    if (dst->ops->query_received(dst->c, p->r.packet.src_chain, p->r.packet.sequence, timeout_answer, pr)) {
        p->checking = false;
        p->tcheck_after = e->now + e->cfg.query_retry_s;
        probe_unlink_free(e, pr);
    }
}

/* ---- acks and timeouts to send again ---- */

static void pending_answer(void *ud, enum ferry_err err, const struct chain_pending_result *r)
{
    struct probe *pr = ud;
    struct engine *e = pr->e;
    struct prec *p = pr->given_up ? NULL : probe_target(e, pr);
    if (p) {
        p->checking = false;
        enum packet_state s = p->r.state;
        struct echain *src = eng_chain(e, p->r.packet.src_chain);
        if (err || !r || !src) {
            p->check_after = e->now + e->cfg.query_retry_s;
        } else if (!r->pending) {
            /* Settled on the source (by us or another relayer): its event will say how. */
            char key[48];
            packet_key_str(key, pr->key.src, pr->key.seq);
            log_kv(LOGL_INFO, "engine", "already settled on source; waiting for its event", "packet", key, NULL);
            p->check_after = e->now + e->cfg.recheck_s;
        } else if ((s == PACKET_ACKING || s == PACKET_TIMING_OUT) && !p->r.sub_id[0] && !e->failed) {
            bool ack = s == PACKET_ACKING;
            char id[ENGINE_SUB_ID_MAX];
            snprintf(id, sizeof id, "%s:%" PRIu64 ":%" PRIu64 ":%" PRIu32, ack ? "ack" : "tmo", pr->key.src,
                     pr->key.seq, p->r.nsub);
            struct txn *t = txn_begin(e);
            snprintf(p->r.sub_id, sizeof p->r.sub_id, "%s", id);
            p->r.nsub++;
            sub_record(p, id, CHAIN_SUB_PENDING, NULL);
            packet_save(e, t, p);
            lsub_add(e, id, ack ? SUB_ACK : SUB_TIMEOUT, src, &pr->key, 1);
            txn_add(t, ACT_SUBMIT, id, pr->key.src, pr->key.seq);
            txn_commit(t);
        }
    }
    probe_unlink_free(e, pr);
}

static void ask_pending(struct engine *e, struct echain *src, struct prec *p)
{
    struct probe *pr = probe_new(e, PROBE_PENDING, p);
    if (!pr)
        return;
    p->checking = true;
    if (src->ops->query_pending(src->c, p->r.packet.sequence, pending_answer, pr)) {
        p->checking = false;
        p->check_after = e->now + e->cfg.query_retry_s;
        probe_unlink_free(e, pr);
    }
}

/* ---- delivery batches ---- */

/* Decides each checked packet's fate and submits the ready ones as one delivery. */
static void finalize(struct engine *e, struct assembly *as, struct txn *t)
{
    struct echain *dst = as->dst;
    dst->assembling--;
    struct prec **ready = calloc(as->n, sizeof *ready);
    struct pkey *keys = calloc(as->n, sizeof *keys);
    size_t k = 0;
    if (!ready || !keys) {
        (void)ferry_fail(FERRY_ENOMEM, "engine: out of memory");
        eng_fail(e, FERRY_ENOMEM, "finishing a delivery batch");
    }
    for (size_t i = 0; i < as->n && ready && keys; i++) {
        struct amember *m = &as->m[i];
        struct prec *p = eng_find(e, m->key.src, m->key.seq);
        if (!p || p->gen != m->gen)
            continue; /* it moved on while it was checked */
        p->checking = false;
        char key[48];
        packet_key_str(key, m->key.src, m->key.seq);
        switch (m->res) {
        case MR_READY:
            if (m->block_ts >= p->r.packet.timeout_ts) {
                if (may_time_out(p))
                    start_timeout(e, t, p, m->block_ts);
            } else if (p->r.state == PACKET_SENT || (p->r.state == PACKET_DELIVERING && !p->r.sub_id[0])) {
                ready[k] = p;
                keys[k++] = m->key;
            }
            break;
        case MR_RECEIVED:
            log_kv(LOGL_INFO, "engine", "already received on destination; not submitted, waiting for its event",
                   "packet", key, NULL);
            p->check_after = e->now + e->cfg.recheck_s;
            break;
        default:
            p->check_after = e->now + e->cfg.query_retry_s;
            break;
        }
    }
    if (k) {
        char id[ENGINE_SUB_ID_MAX];
        snprintf(id, sizeof id, "dlv:%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%" PRIu32, dst->id, keys[0].src,
                 keys[0].seq, ready[0]->r.nsub);
        for (size_t i = 0; i < k; i++) {
            struct prec *p = ready[i];
            if (p->r.state == PACKET_SENT) {
                if (packet_set_state(e, t, p, PACKET_DELIVERING, "delivery submitted"))
                    continue;
            } else {
                char key[48];
                packet_key_str(key, keys[i].src, keys[i].seq);
                log_kv(LOGL_INFO, "engine", "delivery retry", "packet", key, "submission", id, NULL);
                packet_save(e, t, p);
            }
            snprintf(p->r.sub_id, sizeof p->r.sub_id, "%s", id);
            p->r.nsub++;
            sub_record(p, id, CHAIN_SUB_PENDING, NULL);
        }
        lsub_add(e, id, SUB_DELIVER, dst, keys, k);
        txn_add(t, ACT_SUBMIT, id, 0, 0);
    }
    free(ready);
    free(keys);
    for (size_t i = 0; i < as->n; i++)
        if (as->m[i].probe) { /* given up: its answer, if it ever comes, is dropped */
            as->m[i].probe->given_up = true;
            as->m[i].probe->as = NULL;
        }
    assembly_free(e, as);
}

static void deliver_answer(void *ud, enum ferry_err err, const struct chain_received_result *r)
{
    struct probe *pr = ud;
    struct engine *e = pr->e;
    struct assembly *as = pr->given_up ? NULL : pr->as;
    if (as) {
        struct amember *m = &as->m[pr->idx];
        m->probe = NULL;
        if (err || !r) {
            m->res = MR_ERROR;
        } else {
            m->res = r->received ? MR_RECEIVED : MR_READY;
            m->block_ts = r->block_timestamp;
        }
        if (--as->outstanding == 0 && !e->failed) {
            struct txn *t = txn_begin(e);
            finalize(e, as, t);
            txn_commit(t);
            eng_kick(e); /* if some of the batch was not sent, its slot is free now */
        }
    }
    probe_unlink_free(e, pr);
}

static uint64_t gas_of(const struct engine *e, const struct prec *p)
{
    return e->cfg.gas_per_packet + e->cfg.gas_per_payload_byte * p->r.packet.payload_len;
}

static bool is_live(const struct engine *e, const struct prec *p)
{
    return p->r.sent_time && p->r.seen_at <= p->r.sent_time + e->cfg.live_window_s;
}

static int cmp_time_left(const void *a, const void *b)
{
    const struct prec *x = *(struct prec *const *)a, *y = *(struct prec *const *)b;
    if (x->r.packet.timeout_ts != y->r.packet.timeout_ts)
        return x->r.packet.timeout_ts < y->r.packet.timeout_ts ? -1 : 1;
    if (x->r.packet.src_chain != y->r.packet.src_chain)
        return x->r.packet.src_chain < y->r.packet.src_chain ? -1 : 1;
    return x->r.packet.sequence < y->r.packet.sequence ? -1 : x->r.packet.sequence > y->r.packet.sequence;
}

/* Starts checking a batch: one query_received per packet. */
static void start_assembly(struct engine *e, struct echain *dst, struct prec **b, size_t n, struct txn *t)
{
    struct assembly *as = calloc(1, sizeof *as);
    if (as)
        as->m = calloc(n, sizeof *as->m);
    if (!as || !as->m) {
        free(as);
        (void)ferry_fail(FERRY_ENOMEM, "engine: out of memory");
        eng_fail(e, FERRY_ENOMEM, "starting a delivery batch");
        return;
    }
    as->dst = dst;
    as->started = e->now;
    as->n = n;
    as->next = e->asm_list;
    if (e->asm_list)
        e->asm_list->prev = as;
    e->asm_list = as;
    dst->assembling++;
    for (size_t i = 0; i < n; i++) {
        as->m[i].key = (struct pkey){b[i]->r.packet.src_chain, b[i]->r.packet.sequence};
        as->m[i].gen = b[i]->gen;
        as->m[i].res = MR_WAITING;
        b[i]->checking = true;
    }
    as->outstanding = n;
    for (size_t i = 0; i < n; i++) {
        struct probe *pr = probe_new(e, PROBE_DELIVER, b[i]);
        if (pr) {
            pr->as = as;
            pr->idx = i;
            as->m[i].probe = pr;
            if (!dst->ops->query_received(dst->c, b[i]->r.packet.src_chain, b[i]->r.packet.sequence, deliver_answer,
                                          pr))
                continue;
            as->m[i].probe = NULL;
            probe_unlink_free(e, pr);
        }
        as->m[i].res = MR_ERROR;
        as->outstanding--;
    }
    if (as->outstanding == 0)
        finalize(e, as, t);
}

/* Cuts the candidates (sorted by time left) into batches while the destination has room. */
static void form_batches(struct engine *e, struct echain *dst, struct prec **c, size_t n, struct txn *t)
{
    size_t inflight = dst->assembling;
    for (struct lsub *s = e->subs; s; s = s->next)
        inflight += s->kind == SUB_DELIVER && s->ch == dst;
    bool *used = calloc(n ? n : 1, sizeof *used);
    struct prec **b = calloc(dst->batch_max, sizeof *b);
    if (!used || !b) {
        free(used);
        free(b);
        (void)ferry_fail(FERRY_ENOMEM, "engine: out of memory");
        eng_fail(e, FERRY_ENOMEM, "forming delivery batches");
        return;
    }
    size_t live_quota = ((size_t)dst->batch_max * e->cfg.live_share_pct + 99) / 100;
    while (inflight < dst->inflight_max && !e->failed) {
        size_t nb = 0, live = 0;
        uint64_t gas = 0;
        bool solo = false;
        /* Two passes: live packets up to their share, then everyone by time left. */
        for (int pass = 0; pass < 2 && !solo && nb < dst->batch_max; pass++) {
            for (size_t i = 0; i < n && !solo && nb < dst->batch_max; i++) {
                if (used[i])
                    continue;
                if (pass == 0 && (!is_live(e, c[i]) || live >= live_quota))
                    continue;
                bool failed_before = c[i]->r.attempts > 0;
                if (failed_before && nb > 0)
                    continue; /* goes alone, in a batch of its own */
                uint64_t g = gas_of(e, c[i]);
                if (nb > 0 && gas + g > e->cfg.batch_gas_cap)
                    continue;
                used[i] = true;
                b[nb++] = c[i];
                gas += g;
                live += pass == 0;
                solo = failed_before;
            }
        }
        if (nb == 0)
            break;
        start_assembly(e, dst, b, nb, t);
        inflight++;
    }
    free(used);
    free(b);
}

/* ---- the tick ---- */

/* Gives up on queries unanswered for too long (an adapter that lost them must not stall a packet). */
static void sweep_probes(struct engine *e)
{
    uint64_t limit = e->cfg.probe_timeout_s;
    for (struct probe *pr = e->probes; pr; pr = pr->next) {
        if (pr->given_up || pr->kind == PROBE_DELIVER || e->now < pr->started + limit)
            continue;
        pr->given_up = true;
        struct prec *p = probe_target(e, pr);
        if (p) {
            p->checking = false;
            p->check_after = p->tcheck_after = e->now + e->cfg.query_retry_s;
        }
    }
    struct assembly *as = e->asm_list;
    while (as && !e->failed) {
        struct assembly *next = as->next;
        if (e->now >= as->started + limit) {
            struct txn *t = txn_begin(e);
            finalize(e, as, t); /* unanswered members count as errors */
            txn_commit(t);
        }
        as = next;
    }
}

/* Drops submissions no packet waits for any more (all moved on). */
static void sweep_subs(struct engine *e)
{
    struct lsub *s = e->subs;
    while (s) {
        struct lsub *next = s->next;
        bool used = false;
        for (size_t i = 0; i < s->n && !used; i++) {
            struct prec *p = eng_find(e, s->keys[i].src, s->keys[i].seq);
            used = p && !strcmp(p->r.sub_id, s->id);
        }
        if (!used)
            lsub_drop(e, s);
        s = next;
    }
}

struct cands {
    struct prec **p;
    size_t n, alloc;
    struct chain_head head;
};

void sched_tick(struct engine *e)
{
    sweep_probes(e);
    sweep_subs(e);
    if (e->failed)
        return;
    struct cands *cs = calloc(e->nchains ? e->nchains : 1, sizeof *cs);
    if (!cs) {
        (void)ferry_fail(FERRY_ENOMEM, "engine: out of memory");
        eng_fail(e, FERRY_ENOMEM, "scheduling");
        return;
    }
    for (size_t i = 0; i < e->nchains; i++)
        cs[i].head = e->chains[i].ops->head(e->chains[i].c);
    struct txn *t = txn_begin(e);
    uint64_t now = e->now;
    for (size_t i = 0; i < e->cap && !e->failed; i++) {
        struct prec *p = e->tab[i];
        if (!p || p->checking || packet_state_terminal(p->r.state))
            continue;
        struct packet_record *r = &p->r;
        struct echain *dst = eng_chain(e, r->packet.dst_chain);
        struct echain *src = eng_chain(e, r->packet.src_chain);
        if (may_time_out(p) && dst && src) {
            struct chain_head *h = &cs[dst - e->chains].head;
            if (h->confirmed_timestamp >= r->packet.timeout_ts) {
                if (now >= p->tcheck_after)
                    ask_timeout(e, dst, p);
                continue;
            }
            if (h->timestamp >= r->packet.timeout_ts)
                continue; /* too late to deliver; the timeout follows once this block is confirmed */
        }
        switch (r->state) {
        case PACKET_SENT:
        case PACKET_DELIVERING:
            if (!dst || !r->have_packet || r->sub_id[0] || now < r->next_attempt_at || now < p->check_after)
                break;
            {
                struct cands *c = &cs[dst - e->chains];
                if (c->n == c->alloc) {
                    size_t na = c->alloc ? c->alloc * 2 : 64;
                    struct prec **np = realloc(c->p, na * sizeof *np);
                    if (!np) {
                        (void)ferry_fail(FERRY_ENOMEM, "engine: out of memory");
                        eng_fail(e, FERRY_ENOMEM, "scheduling");
                        break;
                    }
                    c->p = np;
                    c->alloc = na;
                }
                c->p[c->n++] = p;
            }
            break;
        case PACKET_DELIVERED:
            if (now >= p->check_after && now >= r->next_attempt_at)
                try_ack(e, t, p);
            break;
        case PACKET_ACKING:
        case PACKET_TIMING_OUT:
            if (src && !r->sub_id[0] && now >= r->next_attempt_at && now >= p->check_after)
                ask_pending(e, src, p);
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < e->nchains && !e->failed; i++) {
        if (cs[i].n == 0)
            continue;
        qsort(cs[i].p, cs[i].n, sizeof *cs[i].p, cmp_time_left);
        form_batches(e, &e->chains[i], cs[i].p, cs[i].n, t);
    }
    txn_commit(t);
    for (size_t i = 0; i < e->nchains; i++)
        free(cs[i].p);
    free(cs);
}
