/* The orchestrator's life (new, chains, start, tick, free) and the operations the API and the
 * CLI call: prepare, submit, get, retry, cancel, pause. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"
#include "ferry/log.h"
#include "ferry/metrics.h"
#include "orch_internal.h"

void orch_config_default(struct orch_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->retry_limit = 6;
    cfg->backoff_base_s = 5;
    cfg->backoff_max_s = 300;
    cfg->recheck_s = 30;
    cfg->max_pending = 10000;
}

static void collect(void *ud)
{
    struct orch *o = ud;
    for (int s = INTENT_PENDING; s < INTENT_STATE__COUNT; s++)
        if (!intent_state_terminal((enum intent_state)s))
            metric_set(o->m_intents, (const char *[]){intent_state_name((enum intent_state)s)},
                       (double)o->per_state[s]);
}

static enum ferry_err register_metrics(struct orch *o)
{
    struct metrics *m = o->cfg.metrics;
    if (!m)
        return FERRY_OK;
    enum ferry_err err;
    if ((err = metrics_register(m, &o->m_transitions, METRIC_COUNTER, "ferry_intent_transitions_total",
                                "Intent state changes.", (const char *[]){"from", "to", NULL})) ||
        (err = metrics_register(m, &o->m_hop_transitions, METRIC_COUNTER, "ferry_hop_transitions_total",
                                "Hop state changes.", (const char *[]){"from", "to", NULL})) ||
        (err = metrics_register(m, &o->m_intents, METRIC_GAUGE, "ferry_intents",
                                "Intents the orchestrator holds, by non-terminal state.",
                                (const char *[]){"state", NULL})) ||
        (err = metrics_register(m, &o->m_submissions, METRIC_COUNTER, "ferry_intent_submissions_total",
                                "Router calls by chain, kind and outcome.",
                                (const char *[]){"chain", "kind", "result", NULL})))
        return err;
    return metrics_add_collector(m, collect, o);
}

static enum ferry_err read_u64_meta(struct store *st, const char *name, uint64_t *out)
{
    struct store_key k;
    orch_meta_key(&k, name, NULL);
    uint8_t *v;
    size_t n;
    enum ferry_err e = store_get(st, &v, &n, k.b, k.len);
    if (e == FERRY_ENOTFOUND)
        return FERRY_OK;
    if (e)
        return e;
    if (n != 8)
        e = ferry_fail(FERRY_EINVAL, "orch: meta key %s: expected 8 bytes, found %zu", name, n);
    else
        *out = store_be64_get(v);
    free(v);
    return e;
}

enum ferry_err orch_new(struct orch **out, const struct orch_config *cfg)
{
    *out = NULL;
    if (!cfg->store)
        return ferry_fail(FERRY_EINVAL, "orch: no store");
    struct orch *o = calloc(1, sizeof *o);
    if (!o)
        return ferry_fail(FERRY_ENOMEM, "orch: out of memory");
    o->cfg = *cfg;
    if (!o->cfg.retry_limit)
        o->cfg.retry_limit = 1;
    if (!o->cfg.backoff_max_s)
        o->cfg.backoff_max_s = o->cfg.backoff_base_s;
    enum ferry_err e = FERRY_OK;
    o->dir_chains = cfg->dir.n ? calloc(cfg->dir.n, sizeof *o->dir_chains) : NULL;
    if (cfg->dir.n && !o->dir_chains)
        e = ferry_fail(FERRY_ENOMEM, "orch: out of memory");
    for (size_t i = 0; !e && i < cfg->dir.n; i++) {
        o->dir_chains[i] = cfg->dir.chains[i];
        o->dir_chains[i].name = strdup(cfg->dir.chains[i].name ? cfg->dir.chains[i].name : "");
        if (!o->dir_chains[i].name)
            e = ferry_fail(FERRY_ENOMEM, "orch: out of memory");
        o->cfg.dir.n = i + 1;
    }
    o->cfg.dir.chains = o->dir_chains;
    if (!e) {
        o->next_event = 1;
        e = read_u64_meta(cfg->store, ORCH_META_JOURNAL, &o->next_event);
        if (!e && o->next_event == 0)
            e = ferry_fail(FERRY_EINVAL, "orch: meta key %s is 0", ORCH_META_JOURNAL);
        o->durable_event = o->next_event - 1;
    }
    if (!e)
        e = register_metrics(o);
    if (e) {
        orch_free(o);
        return e;
    }
    *out = o;
    return FERRY_OK;
}

void orch_free(struct orch *o)
{
    if (!o)
        return;
    if (o->cfg.metrics && o->m_intents)
        metrics_remove_collector(o->cfg.metrics, collect, o);
    for (struct otxn *t = o->txns; t; t = t->next)
        t->o = NULL; /* their callbacks will only free them */
    for (struct oquery *q = o->queries; q; q = q->next)
        q->o = NULL;
    for (size_t i = 0; i < o->cap; i++)
        irec_free(o->tab[i]);
    free(o->tab);
    free(o->seqs);
    free(o->dirty);
    free(o->chains);
    for (size_t i = 0; i < o->cfg.dir.n && o->dir_chains; i++)
        free((char *)o->dir_chains[i].name);
    free(o->dir_chains);
    free(o);
}

enum ferry_err orch_add_chain(struct orch *o, const struct chain_ops *ops, struct chain *c)
{
    if (o->started)
        return ferry_fail(FERRY_ESTATE, "orch: chains are added before orch_start");
    uint64_t id = ops->chain_id(c);
    struct intent_chain_info *ci = NULL;
    for (size_t i = 0; i < o->cfg.dir.n && !ci; i++)
        if (o->dir_chains[i].chain_id == id)
            ci = &o->dir_chains[i];
    static const uint8_t zero[ADDRESS_LEN];
    if (orch_chain(o, id))
        return ferry_fail(FERRY_EEXIST, "orch: chain %" PRIu64 " added twice", id);
    /* A chain without a router, or of a family that cannot say where an intent stands, takes no
     * part in intents: accepted, never driven. Its directory entry (the orchestrator's copy)
     * loses the router, so the parser refuses an intent that names it ("has no IntentRouter"). */
    if (!ci || !memcmp(ci->router, zero, ADDRESS_LEN) || !ops->query_intent) {
        if (ci && memcmp(ci->router, zero, ADDRESS_LEN))
            log_kv(LOGL_INFO, "orch", "chain not used by intents: its family has no query_intent", "chain", ci->name,
                   "family", ops->name, NULL);
        if (ci)
            memset(ci->router, 0, ADDRESS_LEN);
        return FERRY_OK;
    }
    struct ochain *n = realloc(o->chains, (o->nchains + 1) * sizeof *n);
    if (!n)
        return ferry_fail(FERRY_ENOMEM, "orch: out of memory");
    o->chains = n;
    struct ochain *ch = &n[o->nchains];
    memset(ch, 0, sizeof *ch);
    ch->ops = ops;
    ch->c = c;
    ch->id = id;
    snprintf(ch->name, sizeof ch->name, "%s", ci->name);
    struct store_key k;
    orch_meta_key(&k, ORCH_META_PAUSED, ch->name);
    enum ferry_err e = store_get(o->cfg.store, NULL, NULL, k.b, k.len);
    if (e && e != FERRY_ENOTFOUND)
        return e;
    ch->paused = e == FERRY_OK;
    o->nchains++;
    return FERRY_OK;
}

/* Reloads the non-terminal intents through the state index. */
static enum ferry_err reload(struct orch *o, size_t *loaded)
{
    static const enum intent_state live[] = {INTENT_PENDING, INTENT_OPEN, INTENT_IN_PROGRESS, INTENT_REFUNDING,
                                             INTENT_STUCK};
    enum ferry_err e = FERRY_OK;
    for (size_t s = 0; !e && s < sizeof live / sizeof live[0]; s++) {
        struct store_key prefix;
        uint8_t f = (uint8_t)live[s];
        store_key_index_prefix(&prefix, STORE_IDX_INTENT_STATE, &f, 1);
        struct store_iter *it;
        if ((e = store_iter_open(o->cfg.store, &it, prefix.b, prefix.len)))
            return e;
        for (; !e && store_iter_valid(it); store_iter_next(it)) {
            size_t klen, pklen;
            const uint8_t *key = store_iter_key(it, &klen), *pk;
            if (!store_index_pk(key, klen, STORE_IDX_INTENT_STATE, 1, &pk, &pklen) || pklen != 33) {
                e = ferry_fail(FERRY_EINVAL, "orch: malformed intent index entry");
                break;
            }
            struct irec *ir = calloc(1, sizeof *ir);
            if (!ir) {
                e = ferry_fail(FERRY_ENOMEM, "orch: out of memory");
                break;
            }
            if ((e = intent_record_load(o->cfg.store, pk + 1, &ir->r))) {
                free(ir);
                break;
            }
            if (ir->r.state != live[s]) {
                irec_free(ir);
                e = ferry_fail(FERRY_EINVAL, "orch: the state index disagrees with an intent record");
                break;
            }
            ir->indexed = ir->r.state;
            ir->verify = true; /* nothing is submitted before the chain was asked */
            if ((e = orch_insert(o, ir))) {
                irec_free(ir);
                break;
            }
            (*loaded)++;
        }
        if (!e)
            e = store_iter_status(it);
        store_iter_free(it);
    }
    return e;
}

/* Asks the adapter about a submission the record names, as if it had reported it. */
static void ask_sub(struct orch *o, const char *sub, uint64_t chain)
{
    struct ochain *ch = orch_chain(o, chain);
    if (!sub[0] || !ch)
        return;
    char id[ORCH_SUB_ID_MAX];
    snprintf(id, sizeof id, "%s", sub);
    o->nsubs++;
    struct chain_submission s = {0};
    ch->ops->submission(ch->c, id, &s);
    s.id = id;
    if (s.state == CHAIN_SUB_PENDING || s.state == CHAIN_SUB_MINED)
        return;
    (void)orch_on_submission(o, ch->c, &s);
}

enum ferry_err orch_start(struct orch *o, uint64_t now)
{
    if (o->started)
        return ferry_fail(FERRY_ESTATE, "orch: started twice");
    o->now = now;
    size_t loaded = 0;
    enum ferry_err e = reload(o, &loaded);
    if (e)
        return ferry_fail_ctx(e, "orch: reloading intents");
    o->started = true;
    orch_orphan_subs(o);
    for (size_t i = 0; i < o->cap && !o->failed; i++) {
        struct irec *ir = o->tab[i];
        if (!ir)
            continue;
        for (size_t h = 0; h < ir->r.intent.n_steps; h++) {
            const struct hop_record *hr = &ir->r.hops[h];
            if (hr->kind == INTENT_STEP_TRANSFER && hr->to_chain != hr->chain &&
                !orch_seq_put(o, hr->chain, hr->sequence, ir, (int)h))
                return o->failed;
        }
        ask_sub(o, ir->r.open_sub, ir->r.open_sub[0] == 0 ? 0 :
                ir->r.open_sub[strlen(ORCH_SUB_PREFIX) + 65] == 'r' ? ir->r.funds.chain : ir->r.intent.origin_chain);
        for (size_t h = 0; h < ir->r.intent.n_steps; h++)
            ask_sub(o, ir->r.hops[h].sub_id, ir->r.hops[h].chain);
    }
    char n[24];
    snprintf(n, sizeof n, "%zu", loaded);
    log_kv(LOGL_INFO, "orch", "started", "intents", n, NULL);
    return orch_tick(o, now);
}

enum ferry_err orch_tick(struct orch *o, uint64_t now)
{
    if (o->failed)
        return o->failed;
    if (now > o->now)
        o->now = now;
    o->kicked = false;
    if (!o->started)
        return FERRY_OK;
    for (size_t i = 0; i < o->nchains; i++)
        o->chains[i].due_at = 0;
    struct otxn *t = otxn_begin(o);
    for (size_t i = 0; i < o->cap && !o->failed; i++)
        if (o->tab[i]) {
            orch_drive(o, t, o->tab[i]);
            orch_note_due(o, o->tab[i]);
        }
    otxn_commit(t);
    return o->failed;
}

enum ferry_err orch_failed(const struct orch *o) { return o->failed; }

/* ---- operations ---- */

static enum ferry_err say(char err[ORCH_ERR_MAX], enum ferry_err code, const char *fmt, ...) FERRY_PRINTF(3, 4);
static enum ferry_err say(char err[ORCH_ERR_MAX], enum ferry_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, ORCH_ERR_MAX, fmt, ap);
    va_end(ap);
    return ferry_fail(code, "%s", err);
}

static enum ferry_err parse(struct orch *o, const cJSON *j, uint64_t now, unsigned flags, struct intent *it,
                            uint8_t id[32], char err[ORCH_ERR_MAX])
{
    char perr[INTENT_ERR_MAX];
    if (!j)
        return say(err, FERRY_EINVAL, "intent: missing");
    if (intent_from_json(it, j, &o->cfg.dir, now, flags, "intent", perr))
        return say(err, FERRY_EINVAL, "%s", perr);
    const struct intent_chain_info *ci = intent_dir_by_id(&o->cfg.dir, it->origin_chain);
    if (!ci) {
        intent_clear(it);
        return say(err, FERRY_EINVAL, "intent.origin_chain: not a configured chain");
    }
    intent_id(it, ci->router, id);
    return FERRY_OK;
}

enum ferry_err orch_prepare(struct orch *o, const cJSON *intent, uint64_t now, cJSON **out, char err[ORCH_ERR_MAX])
{
    *out = NULL;
    err[0] = 0;
    struct intent it;
    uint8_t id[32];
    /* Plan with each chain's observed block time where there are enough samples (the config's
     * figure is a hint). */
    struct intent_chain_info *obs = o->cfg.dir.n ? calloc(o->cfg.dir.n, sizeof *obs) : NULL;
    if (o->cfg.dir.n && !obs)
        return say(err, FERRY_ENOMEM, "out of memory");
    for (size_t i = 0; i < o->cfg.dir.n; i++) {
        obs[i] = o->cfg.dir.chains[i];
        obs[i].block_time_ms = orch_block_time_ms(o, obs[i].chain_id);
    }
    struct intent_dir saved = o->cfg.dir;
    o->cfg.dir.chains = obs;
    enum ferry_err e = parse(o, intent, now, INTENT_PARSE_FILL, &it, id, err);
    o->cfg.dir = saved;
    free(obs);
    if (e)
        return e;
    const struct intent_chain_info *ci = intent_dir_by_id(&o->cfg.dir, it.origin_chain);
    cJSON *r = cJSON_CreateObject();
    char hid[67];
    hex_encode(hid, id, 32, true);
    cJSON *norm = intent_to_json(&it, &o->cfg.dir), *td = intent_typed_data(&it, ci->router);
    bool ok = r && norm && td && cJSON_AddStringToObject(r, "intent_id", hid);
    if (ok) {
        cJSON_AddItemToObject(r, "intent", norm);
        cJSON_AddItemToObject(r, "typed_data", td);
        norm = td = NULL;
    }
    cJSON_Delete(norm);
    cJSON_Delete(td);
    intent_clear(&it);
    if (!ok) {
        cJSON_Delete(r);
        return say(err, FERRY_ENOMEM, "out of memory");
    }
    *out = r;
    return FERRY_OK;
}

static size_t live_count(const struct orch *o)
{
    size_t n = 0;
    for (int s = INTENT_PENDING; s < INTENT_STATE__COUNT; s++)
        if (!intent_state_terminal((enum intent_state)s))
            n += o->per_state[s];
    return n;
}

enum ferry_err orch_submit(struct orch *o, const cJSON *intent, const char *sig_hex, uint64_t now, orch_submit_cb *cb,
                           void *ud, char err[ORCH_ERR_MAX])
{
    err[0] = 0;
    if (o->failed)
        return say(err, FERRY_ESTATE, "the orchestrator is stopped: %s", ferry_strerror(o->failed));
    if (now > o->now)
        o->now = now;
    struct irec *ir = calloc(1, sizeof *ir);
    if (!ir)
        return say(err, FERRY_ENOMEM, "out of memory");
    struct intent_record *r = &ir->r;
    enum ferry_err e = parse(o, intent, now, 0, &r->intent, r->id, err);
    if (e) {
        free(ir);
        return e;
    }
    size_t slen = 0;
    uint8_t sig[INTENT_SIG_LEN + 1];
    if (!sig_hex || hex_decode(sig, sizeof sig, &slen, sig_hex, strlen(sig_hex), HEX_PREFIX_OPTIONAL) ||
        slen != INTENT_SIG_LEN) {
        e = say(err, FERRY_EINVAL, "signature: expected %d bytes of hex (r, s, v)", INTENT_SIG_LEN);
        goto fail;
    }
    if (intent_check_signature(&r->intent, r->id, sig, slen)) {
        e = say(err, FERRY_EINVAL, "%s", ferry_errmsg());
        goto fail;
    }
    if (sig[64] < 27)
        sig[64] += 27;
    memcpy(r->sig, sig, INTENT_SIG_LEN);
    /* Every chain of the route must be one the orchestrator drives. */
    for (size_t i = 0; i < r->intent.n_steps; i++) {
        const struct intent_step *s = &r->intent.steps[i];
        uint64_t bad = !orch_chain(o, s->chain) ? s->chain : s->kind == INTENT_STEP_TRANSFER && !orch_chain(o, s->to_chain) ? s->to_chain : 0;
        if (bad) {
            e = say(err, FERRY_EINVAL, "intent.steps[%zu]: chain %" PRIu64 " is not driven by this relayer", i, bad);
            goto fail;
        }
    }
    struct irec *old = orch_find(o, r->id);
    struct intent_record stored;
    enum intent_state known = old ? old->r.state : INTENT_NONE;
    if (!old && intent_record_load(o->cfg.store, r->id, &stored) == FERRY_OK) {
        known = stored.state;
        intent_record_clear(&stored);
    }
    if (known != INTENT_NONE) {
        uint8_t id[32];
        memcpy(id, r->id, 32);
        irec_free(ir);
        if (cb)
            cb(ud, FERRY_OK, id, known, true);
        return FERRY_OK;
    }
    if (live_count(o) >= o->cfg.max_pending) {
        e = say(err, FERRY_EBUSY, "too many intents in progress (%u): try again later", o->cfg.max_pending);
        goto fail;
    }
    r->created_at = now;
    r->current = 0;
    for (size_t i = 0; i < r->intent.n_steps; i++) {
        struct hop_record *h = &r->hops[i];
        const struct intent_step *s = &r->intent.steps[i];
        h->index = (uint32_t)i;
        h->kind = s->kind;
        h->chain = s->chain;
        h->to_chain = s->kind == INTENT_STEP_TRANSFER ? s->to_chain : 0;
        h->timeout_at = r->intent.deadline;
    }
    if ((e = orch_insert(o, ir))) {
        say(err, e, "%s", ferry_errmsg());
        goto fail;
    }
    struct otxn *t = otxn_begin(o);
    if (!t)
        return say(err, FERRY_ESTATE, "the orchestrator is stopped");
    t->cb = cb;
    t->cb_ud = ud;
    memcpy(t->cb_id, r->id, 32);
    if (intent_set_state(o, t, ir, INTENT_PENDING, NULL, NULL) == FERRY_OK)
        for (uint32_t i = 0; i < r->intent.n_steps; i++)
            (void)!hop_set_state(o, t, ir, i, HOP_WAITING, NULL, NULL);
    orch_drive(o, t, ir);
    otxn_commit(t); /* calls cb with the error if the batch could not be queued */
    return FERRY_OK;
fail:
    intent_record_clear(r);
    free(ir);
    return e;
}

static enum ferry_err record_copy(struct intent_record *out, const struct intent_record *r)
{
    memcpy(out, r, sizeof *out);
    memset(&out->intent, 0, sizeof out->intent);
    return intent_copy(&out->intent, &r->intent);
}

enum ferry_err orch_get(struct orch *o, const uint8_t id[32], struct intent_record *out)
{
    struct irec *ir = orch_find(o, id);
    if (ir)
        return record_copy(out, &ir->r);
    return intent_record_load(o->cfg.store, id, out);
}

static enum ferry_err not_held(struct orch *o, const uint8_t id[32], char err[ORCH_ERR_MAX])
{
    struct intent_record r;
    char hid[67];
    hex_encode(hid, id, 32, true);
    if (intent_record_load(o->cfg.store, id, &r) == FERRY_OK) {
        enum intent_state s = r.state;
        intent_record_clear(&r);
        return say(err, FERRY_ESTATE, "intent %s is %s already", hid, intent_state_name(s));
    }
    return say(err, FERRY_ENOTFOUND, "no intent %s", hid);
}

/* The intent an operator's retry or cancel acts on: one this running orchestrator holds. */
static enum ferry_err held(struct orch *o, const uint8_t id[32], char err[ORCH_ERR_MAX], struct irec **out)
{
    err[0] = 0;
    if (o->failed)
        return say(err, FERRY_ESTATE, "the orchestrator is stopped");
    *out = orch_find(o, id);
    return *out ? FERRY_OK : not_held(o, id, err);
}

enum ferry_err orch_retry(struct orch *o, const uint8_t id[32], uint64_t now, char err[ORCH_ERR_MAX])
{
    struct irec *ir;
    enum ferry_err e = held(o, id, err, &ir);
    if (e)
        return e;
    struct intent_record *r = &ir->r;
    if (r->state != INTENT_STUCK)
        return say(err, FERRY_ESTATE, "the intent is %s, not STUCK: nothing to retry", intent_state_name(r->state));
    if (now > o->now)
        o->now = now;
    struct otxn *t = otxn_begin(o);
    r->open_attempts = 0;
    r->open_next_at = 0;
    for (size_t i = 0; i < r->intent.n_steps; i++) {
        r->hops[i].attempts = 0;
        r->hops[i].next_attempt_at = 0;
    }
    (void)!intent_set_state(o, t, ir, r->stuck_from, "retried by an operator", NULL);
    ir->verify = true; /* ask where it stands before submitting again */
    ir->query_next_at = 0;
    orch_drive(o, t, ir);
    otxn_commit(t);
    return o->failed ? say(err, FERRY_ESTATE, "the orchestrator is stopped") : FERRY_OK;
}

enum ferry_err orch_cancel(struct orch *o, const uint8_t id[32], uint64_t now, char err[ORCH_ERR_MAX])
{
    struct irec *ir;
    enum ferry_err e = held(o, id, err, &ir);
    if (e)
        return e;
    struct intent_record *r = &ir->r;
    enum intent_state s = r->state == INTENT_STUCK ? r->stuck_from : r->state;
    if (s != INTENT_PENDING && s != INTENT_OPEN) {
        const struct hop_record *h = &r->hops[0];
        char tx[67] = "(not mined yet)";
        if (h->ntxs)
            hex_encode(tx, h->txs[0], 32, true);
        if (s == INTENT_IN_PROGRESS || h->state >= HOP_SUBMITTED)
            return say(err, FERRY_ESTATE,
                       "step 0 already submitted in tx %s: the intent can no longer be cancelled; it will be "
                       "refunded if a later step fails", tx);
        return say(err, FERRY_ESTATE, "the intent is %s: it can no longer be cancelled", intent_state_name(s));
    }
    if (now > o->now)
        o->now = now;
    struct otxn *t = otxn_begin(o);
    r->cancel_requested = true;
    r->open_next_at = 0;
    orch_save(o, t, ir);
    if (r->state == INTENT_STUCK)
        (void)!intent_set_state(o, t, ir, r->stuck_from, "cancel requested", NULL);
    orch_drive(o, t, ir); /* PENDING with nothing in flight: CANCELLED now; OPEN: the cancel call */
    otxn_commit(t);
    return o->failed ? say(err, FERRY_ESTATE, "the orchestrator is stopped") : FERRY_OK;
}

enum ferry_err orch_pause_chain(struct orch *o, const char *name, bool paused, char err[ORCH_ERR_MAX])
{
    err[0] = 0;
    struct ochain *ch = NULL;
    for (size_t i = 0; i < o->nchains && !ch; i++)
        if (strcmp(o->chains[i].name, name) == 0)
            ch = &o->chains[i];
    if (!ch)
        return say(err, FERRY_ENOTFOUND, "no chain \"%.64s\" runs intents here", name);
    if (o->failed)
        return say(err, FERRY_ESTATE, "the orchestrator is stopped");
    struct otxn *t = otxn_begin(o);
    if (t && t->b) {
        struct store_key k;
        orch_meta_key(&k, ORCH_META_PAUSED, ch->name);
        if (paused)
            store_put(t->b, k.b, k.len, "1", 1);
        else
            store_del(t->b, k.b, k.len);
    }
    if (ch->paused != paused)
        log_kv(LOGL_INFO, "orch", paused ? "chain paused" : "chain resumed", "chain", ch->name, NULL);
    ch->paused = paused;
    if (!paused)
        for (size_t i = 0; i < o->cap && !o->failed; i++)
            if (o->tab[i])
                orch_drive(o, t, o->tab[i]);
    otxn_commit(t);
    return o->failed ? say(err, FERRY_ESTATE, "the orchestrator is stopped") : FERRY_OK;
}

bool orch_chain_paused(const struct orch *o, const char *name)
{
    for (size_t i = 0; i < o->nchains; i++)
        if (strcmp(o->chains[i].name, name) == 0)
            return o->chains[i].paused;
    return false;
}

uint64_t orch_last_event(const struct orch *o) { return o->durable_event; }

void orch_stats(const struct orch *o, struct orch_stats *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->intents, o->per_state, sizeof out->intents);
    out->submissions = o->nsubs;
    out->queries = o->nqueries;
}
