/* Intent records: state names, the JSON the store keeps and the API shows, strict reading back,
 * loading and listing from the store, and reading the journal. Nothing here needs a running
 * orchestrator: the CLI uses it on a store when the daemon is down. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ferry/hex.h"
#include "ferry/json_out.h"
#include "ferry/u256.h"
#include "orch_internal.h"
#include "record_json.h"

static const char *const istate_names[INTENT_STATE__COUNT] = {
    "NONE", "PENDING", "OPEN", "IN_PROGRESS", "COMPLETED", "REFUNDING", "REFUNDED", "STUCK", "CANCELLED",
};
static const char *const hstate_names[HOP_STATE__COUNT] = {
    "NONE", "WAITING", "SUBMITTED", "CONFIRMED", "IN_FLIGHT", "ARRIVED", "DONE", "FAILED", "TIMED_OUT", "REFUNDED",
};

const char *intent_state_name(enum intent_state s)
{
    return (unsigned)s < INTENT_STATE__COUNT ? istate_names[s] : "?";
}

const char *hop_state_name(enum hop_state s) { return (unsigned)s < HOP_STATE__COUNT ? hstate_names[s] : "?"; }

enum ferry_err intent_state_parse(const char *s, enum intent_state *out)
{
    for (int i = INTENT_PENDING; s && i < INTENT_STATE__COUNT; i++)
        if (strcasecmp(s, istate_names[i]) == 0) {
            *out = (enum intent_state)i;
            return FERRY_OK;
        }
    return ferry_fail(FERRY_EINVAL, "unknown intent state \"%.40s\" (PENDING, OPEN, IN_PROGRESS, COMPLETED, "
                                    "REFUNDING, REFUNDED, STUCK, CANCELLED)", s ? s : "");
}

enum ferry_err hop_state_parse(const char *s, enum hop_state *out)
{
    for (int i = HOP_WAITING; s && i < HOP_STATE__COUNT; i++)
        if (strcasecmp(s, hstate_names[i]) == 0) {
            *out = (enum hop_state)i;
            return FERRY_OK;
        }
    return ferry_fail(FERRY_EINVAL, "unknown hop state \"%.40s\" (WAITING, SUBMITTED, CONFIRMED, IN_FLIGHT, "
                                    "ARRIVED, DONE, FAILED, TIMED_OUT, REFUNDED)", s ? s : "");
}

bool intent_state_terminal(enum intent_state s)
{
    return s == INTENT_COMPLETED || s == INTENT_REFUNDED || s == INTENT_CANCELLED;
}

bool hop_state_terminal(enum hop_state s) { return s == HOP_DONE || s == HOP_REFUNDED; }

bool hop_finished(enum intent_state intent, enum intent_state stuck_from, enum hop_state hop)
{
    if (hop_state_terminal(hop) || intent_state_terminal(intent))
        return true;
    enum intent_state where = intent == INTENT_STUCK ? stuck_from : intent;
    return where == INTENT_REFUNDING && hop == HOP_WAITING;
}

bool hop_is_finished(const struct intent_record *r, const struct hop_record *h)
{
    return hop_finished(r->state, r->stuck_from, h->state);
}

void intent_record_clear(struct intent_record *r)
{
    intent_clear(&r->intent);
    memset(r, 0, sizeof *r);
}

/* ---- keys ---- */

void orch_intent_key(struct store_key *k, const uint8_t id[32])
{
    store_key_begin(k, STORE_KIND_INTENT);
    store_key_bytes(k, id, 32);
}

void orch_meta_key(struct store_key *k, const char *name, const char *suffix)
{
    store_key_begin(k, STORE_KIND_META);
    store_key_bytes(k, name, strlen(name));
    if (suffix)
        store_key_bytes(k, suffix, strlen(suffix));
}

void orch_owner_field(uint8_t out[32], const uint8_t owner[ADDRESS_LEN])
{
    memset(out, 0, 12);
    memcpy(out + 12, owner, ADDRESS_LEN);
}

/* ---- JSON out ---- */

/* A chain: its name when dir knows it, else its id. */
static bool add_chain(cJSON *o, const char *k, uint64_t id, const struct intent_dir *dir)
{
    const struct intent_chain_info *ci = dir ? intent_dir_by_id(dir, id) : NULL;
    if (ci)
        return cJSON_AddStringToObject(o, k, ci->name) != NULL;
    return json_add_u64(o, k, id);
}

static bool add_entered(cJSON *o, const uint64_t *entered, size_t n, const char *const *names)
{
    cJSON *en = cJSON_AddObjectToObject(o, "entered");
    if (!en)
        return false;
    for (size_t s = 1; s < n; s++)
        if (entered[s] && !json_add_u64(en, names[s], entered[s]))
            return false;
    return true;
}

cJSON *orch_funds_json(const struct orch_funds *f, const struct intent_dir *dir)
{
    if (!f->known)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    bool ok = o && add_chain(o, "chain", f->chain, dir) && json_add_address(o, "holder", f->holder) &&
              json_add_address(o, "token", f->token) && json_add_dec(o, "amount", f->amount) &&
              cJSON_AddBoolToObject(o, "in_flight", f->in_flight);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static bool add_funds(cJSON *o, const char *k, const struct orch_funds *f, const struct intent_dir *dir)
{
    cJSON *j = orch_funds_json(f, dir);
    return j && cJSON_AddItemToObject(o, k, j);
}

static uint64_t updated_at(const struct intent_record *r)
{
    uint64_t t = r->created_at;
    for (int s = 0; s < INTENT_STATE__COUNT; s++)
        if (r->entered[s] > t)
            t = r->entered[s];
    for (size_t i = 0; i < r->intent.n_steps && i < INTENT_MAX_STEPS; i++)
        for (int s = 0; s < HOP_STATE__COUNT; s++)
            if (r->hops[i].entered[s] > t)
                t = r->hops[i].entered[s];
    return t;
}

static bool add_hop(cJSON *arr, const struct hop_record *h, const struct intent_dir *dir)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddItemToArray(arr, o);
    ok = ok && json_add_u64(o, "index", h->index) &&
         cJSON_AddStringToObject(o, "kind", h->kind == INTENT_STEP_CALL ? "call" : "transfer") &&
         add_chain(o, "chain", h->chain, dir);
    if (ok && h->kind == INTENT_STEP_CALL)
        ok = cJSON_AddNullToObject(o, "to_chain") != NULL;
    else
        ok = ok && add_chain(o, "to_chain", h->to_chain, dir);
    ok = ok && cJSON_AddStringToObject(o, "state", hop_state_name(h->state)) &&
         json_add_u64(o, "sequence", h->sequence) && json_add_u64(o, "timeout_at", h->timeout_at) &&
         add_entered(o, h->entered, HOP_STATE__COUNT, hstate_names);
    cJSON *txs = ok ? cJSON_AddArrayToObject(o, "txs") : NULL;
    ok = ok && txs;
    for (size_t i = 0; ok && i < h->ntxs && i < ORCH_TXS_KEPT; i++) {
        char s[67];
        hex_encode(s, h->txs[i], 32, true);
        cJSON *t = cJSON_CreateString(s);
        ok = t && cJSON_AddItemToArray(txs, t);
    }
    ok = ok && cJSON_AddStringToObject(o, "error", h->error) && json_add_u64(o, "attempts", h->attempts) &&
         json_add_u64(o, "nsub", h->nsub) && json_add_u64(o, "next_attempt_at", h->next_attempt_at) &&
         cJSON_AddStringToObject(o, "sub_id", h->sub_id) && add_funds(o, "funds", &h->funds, dir);
    return ok;
}

cJSON *intent_record_to_json(const struct intent_record *r, const struct intent_dir *dir)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    if (ok && !dir)
        ok = cJSON_AddNumberToObject(o, "v", ORCH_RECORD_VERSION) != NULL;
    ok = ok && json_add_hex(o, "intent_id", r->id, 32) &&
         cJSON_AddStringToObject(o, "state", intent_state_name(r->state));
    if (ok && r->state == INTENT_STUCK)
        ok = cJSON_AddStringToObject(o, "stuck_from", intent_state_name(r->stuck_from)) != NULL;
    ok = ok && cJSON_AddStringToObject(o, "reason", r->reason) && json_add_u64(o, "created_at", r->created_at) &&
         json_add_u64(o, "updated_at", updated_at(r));
    cJSON *it = NULL;
    if (ok)
        it = intent_to_json(&r->intent, dir);
    if (ok && !it && dir) /* a chain the config no longer names: chain ids, like the store */
        it = intent_to_json(&r->intent, NULL);
    ok = ok && it && cJSON_AddItemToObject(o, "intent", it);
    ok = ok && json_add_hex(o, "signature", r->sig, INTENT_SIG_LEN) && json_add_u64(o, "current_step", r->current) &&
         cJSON_AddBoolToObject(o, "cancel_requested", r->cancel_requested);
    if (ok && json_nonzero(r->open_tx, 32))
        ok = json_add_hex(o, "open_tx", r->open_tx, 32);
    else
        ok = ok && cJSON_AddNullToObject(o, "open_tx");
    ok = ok && add_entered(o, r->entered, INTENT_STATE__COUNT, istate_names) && add_funds(o, "funds", &r->funds, dir);
    ok = ok && json_add_u64(o, "open_attempts", r->open_attempts) && json_add_u64(o, "open_nsub", r->open_nsub) &&
         json_add_u64(o, "open_next_at", r->open_next_at) && cJSON_AddStringToObject(o, "open_sub", r->open_sub);
    cJSON *hops = ok ? cJSON_AddArrayToObject(o, "hops") : NULL;
    ok = ok && hops;
    for (size_t i = 0; ok && i < r->intent.n_steps && i < INTENT_MAX_STEPS; i++)
        ok = add_hop(hops, &r->hops[i], dir);
    if (!ok) {
        if (!it || !cJSON_IsObject(o) || !cJSON_GetObjectItemCaseSensitive(o, "intent"))
            cJSON_Delete(it);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- JSON in: strict, every error names its field ---- */

#define RD_NAME "intent record"

static const cJSON *item(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static enum ferry_err parse_addr(void *out, size_t n, const char *s)
{
    (void)n;
    return address_parse(out, s);
}

static enum ferry_err parse_dec(void *out, size_t n, const char *s)
{
    u256 x;
    (void)n;
    enum ferry_err e = u256_from_dec(&x, s);
    if (!e)
        u256_to_be(out, x);
    return e;
}

static enum ferry_err parse_istate(void *out, size_t n, const char *s)
{
    (void)n;
    return intent_state_parse(s, out);
}

static enum ferry_err parse_hstate(void *out, size_t n, const char *s)
{
    (void)n;
    return hop_state_parse(s, out);
}

static enum ferry_err get_addr(const struct rec_rd *c, const cJSON *o, const char *k, uint8_t out[ADDRESS_LEN])
{
    return rec_get_parsed(c, o, k, "expected an address", parse_addr, out, ADDRESS_LEN);
}

static enum ferry_err get_dec(const struct rec_rd *c, const cJSON *o, const char *k, uint8_t out[32])
{
    return rec_get_parsed(c, o, k, "expected a decimal string", parse_dec, out, 32);
}

static enum ferry_err get_istate(const struct rec_rd *c, const cJSON *o, const char *k, enum intent_state *out)
{
    return rec_get_parsed(c, o, k, "expected a state name", parse_istate, out, 0);
}

static enum ferry_err get_kind(const struct rec_rd *c, const cJSON *o, const char *k, enum intent_step_kind *out)
{
    const cJSON *v = item(o, k);
    if (cJSON_IsString(v) && strcmp(v->valuestring, "transfer") == 0)
        *out = INTENT_STEP_TRANSFER;
    else if (cJSON_IsString(v) && strcmp(v->valuestring, "call") == 0)
        *out = INTENT_STEP_CALL;
    else
        return rec_bad(c, k, v ? "expected \"transfer\" or \"call\"" : "missing");
    return FERRY_OK;
}

static enum ferry_err get_entered(const struct rec_rd *c, const cJSON *o, uint64_t *entered, size_t n,
                                  const char *const *names)
{
    const cJSON *en = item(o, "entered");
    if (!cJSON_IsObject(en))
        return rec_bad(c, "entered", en ? "expected an object" : "missing");
    const cJSON *v;
    cJSON_ArrayForEach(v, en)
    {
        size_t s = 1;
        while (s < n && strcmp(v->string, names[s]) != 0)
            s++;
        if (s == n)
            return rec_bad(c, "entered", "unknown state name");
        struct rec_rd sub = *c;
        snprintf(sub.path, sizeof sub.path, "%.60sentered.", c->path);
        enum ferry_err e = rec_get_u64(&sub, en, names[s], &entered[s]);
        if (e)
            return e;
    }
    return FERRY_OK;
}

static enum ferry_err get_funds(const struct rec_rd *c, const cJSON *o, const char *k, struct orch_funds *f)
{
    memset(f, 0, sizeof *f);
    const cJSON *v = item(o, k);
    if (cJSON_IsNull(v))
        return FERRY_OK;
    if (!cJSON_IsObject(v))
        return rec_bad(c, k, v ? "expected an object or null" : "missing");
    struct rec_rd sub = {.name = c->name};
    snprintf(sub.path, sizeof sub.path, "%.60s%.20s.", c->path, k);
    enum ferry_err e;
    if ((e = rec_get_u64(&sub, v, "chain", &f->chain)) || (e = get_addr(&sub, v, "holder", f->holder)) ||
        (e = get_addr(&sub, v, "token", f->token)) || (e = get_dec(&sub, v, "amount", f->amount)) ||
        (e = rec_get_bool(&sub, v, "in_flight", &f->in_flight)))
        return e;
    f->known = true;
    return FERRY_OK;
}

/* The intent in the store's form (intent_to_json with no directory: chain ids); it is not
 * checked against the configured chains, which may have changed since it was stored. */
static enum ferry_err get_intent(const struct rec_rd *c, const cJSON *o, struct intent *it)
{
    const cJSON *v = item(o, "intent");
    if (!cJSON_IsObject(v))
        return rec_bad(c, "intent", v ? "expected an object" : "missing");
    char perr[INTENT_ERR_MAX];
    if (intent_from_json(it, v, NULL, 0, 0, "intent", perr)) {
        const char *sep = strstr(perr, ": ");
        int flen = sep ? (int)(sep - perr) : (int)strlen(perr);
        return ferry_fail(FERRY_EINVAL, "intent record: field \"%.*s\": %s", flen, perr, sep ? sep + 2 : "invalid");
    }
    return FERRY_OK;
}

static enum ferry_err get_hop(const cJSON *o, size_t i, struct hop_record *h)
{
    struct rec_rd c = {.name = RD_NAME};
    snprintf(c.path, sizeof c.path, "hops[%zu].", i);
    enum ferry_err e;
    uint64_t index;
    if ((e = rec_get_u64(&c, o, "index", &index)))
        return e;
    if (index != i)
        return rec_bad(&c, "index", "out of order");
    h->index = (uint32_t)i;
    if ((e = get_kind(&c, o, "kind", &h->kind)) || (e = rec_get_u64(&c, o, "chain", &h->chain)))
        return e;
    if (h->kind == INTENT_STEP_CALL) {
        if (!cJSON_IsNull(item(o, "to_chain")))
            return rec_bad(&c, "to_chain", "expected null for a call");
    } else if ((e = rec_get_u64(&c, o, "to_chain", &h->to_chain)))
        return e;
    if ((e = rec_get_parsed(&c, o, "state", "expected a state name", parse_hstate, &h->state, 0)))
        return e;
    if ((e = rec_get_u64(&c, o, "sequence", &h->sequence)) || (e = rec_get_u64(&c, o, "timeout_at", &h->timeout_at)) ||
        (e = get_entered(&c, o, h->entered, HOP_STATE__COUNT, hstate_names)))
        return e;
    const cJSON *txs = item(o, "txs");
    if (!cJSON_IsArray(txs) || cJSON_GetArraySize(txs) > ORCH_TXS_KEPT)
        return rec_bad(&c, "txs", "expected an array of at most 4 transaction hashes");
    const cJSON *t;
    cJSON_ArrayForEach(t, txs)
    {
        if (!cJSON_IsString(t) || hex_decode_exact(h->txs[h->ntxs], 32, t->valuestring, HEX_PREFIX_REQUIRED))
            return rec_bad(&c, "txs", "expected 0x-prefixed 32-byte hashes");
        h->ntxs++;
    }
    if ((e = rec_get_str(&c, o, "error", h->error, sizeof h->error)) || (e = rec_get_u32(&c, o, "attempts", &h->attempts)) ||
        (e = rec_get_u32(&c, o, "nsub", &h->nsub)) || (e = rec_get_u64(&c, o, "next_attempt_at", &h->next_attempt_at)) ||
        (e = rec_get_str(&c, o, "sub_id", h->sub_id, sizeof h->sub_id)) || (e = get_funds(&c, o, "funds", &h->funds)))
        return e;
    return FERRY_OK;
}

static enum ferry_err decode(struct intent_record *r, const cJSON *j)
{
    struct rec_rd c = {.name = RD_NAME, .path = ""};
    enum ferry_err e;
    uint64_t v;
    if (!cJSON_IsObject(j))
        return ferry_fail(FERRY_EINVAL, "intent record: not a JSON object");
    if ((e = rec_get_u64(&c, j, "v", &v)))
        return e;
    if (v != ORCH_RECORD_VERSION)
        return rec_bad(&c, "v", "unknown record version");
    if ((e = rec_get_hex(&c, j, "intent_id", r->id, 32)) || (e = get_istate(&c, j, "state", &r->state)))
        return e;
    if (r->state == INTENT_STUCK) {
        if ((e = get_istate(&c, j, "stuck_from", &r->stuck_from)))
            return e;
        if (r->stuck_from == INTENT_STUCK || intent_state_terminal(r->stuck_from))
            return rec_bad(&c, "stuck_from", "not a state a retry can return to");
    }
    if ((e = rec_get_str(&c, j, "reason", r->reason, sizeof r->reason)) ||
        (e = rec_get_u64(&c, j, "created_at", &r->created_at)) || (e = get_intent(&c, j, &r->intent)) ||
        (e = rec_get_hex(&c, j, "signature", r->sig, INTENT_SIG_LEN)) ||
        (e = rec_get_u32(&c, j, "current_step", &r->current)) ||
        (e = rec_get_bool(&c, j, "cancel_requested", &r->cancel_requested)))
        return e;
    if (r->current > r->intent.n_steps)
        return rec_bad(&c, "current_step", "past the last step");
    if (!cJSON_IsNull(item(j, "open_tx")) && (e = rec_get_hex(&c, j, "open_tx", r->open_tx, 32)))
        return e;
    if ((e = get_entered(&c, j, r->entered, INTENT_STATE__COUNT, istate_names)) ||
        (e = get_funds(&c, j, "funds", &r->funds)) || (e = rec_get_u32(&c, j, "open_attempts", &r->open_attempts)) ||
        (e = rec_get_u32(&c, j, "open_nsub", &r->open_nsub)) || (e = rec_get_u64(&c, j, "open_next_at", &r->open_next_at)) ||
        (e = rec_get_str(&c, j, "open_sub", r->open_sub, sizeof r->open_sub)))
        return e;
    const cJSON *hops = item(j, "hops");
    if (!cJSON_IsArray(hops) || (size_t)cJSON_GetArraySize(hops) != r->intent.n_steps)
        return rec_bad(&c, "hops", "expected one hop per step");
    size_t i = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, hops)
    {
        if (!cJSON_IsObject(h))
            return rec_bad(&c, "hops", "expected objects");
        if ((e = get_hop(h, i, &r->hops[i])))
            return e;
        i++;
    }
    return FERRY_OK;
}

enum ferry_err intent_record_from_json(struct intent_record *out, const cJSON *j)
{
    memset(out, 0, sizeof *out);
    enum ferry_err e = decode(out, j);
    if (e)
        intent_record_clear(out);
    return e;
}

char *orch_record_encode(const struct intent_record *r, size_t *len)
{
    return rec_print(intent_record_to_json(r, NULL), len);
}

enum ferry_err orch_record_decode(struct intent_record *out, const uint8_t *v, size_t n)
{
    memset(out, 0, sizeof *out);
    cJSON *j = rec_parse(RD_NAME, v, n);
    if (!j)
        return FERRY_EINVAL;
    enum ferry_err e = intent_record_from_json(out, j);
    cJSON_Delete(j);
    return e;
}

/* ---- reads ---- */

enum ferry_err intent_record_load(struct store *st, const uint8_t id[32], struct intent_record *out)
{
    memset(out, 0, sizeof *out);
    struct store_key k;
    orch_intent_key(&k, id);
    uint8_t *v;
    size_t n;
    char hid[67];
    hex_encode(hid, id, 32, true);
    enum ferry_err e = store_get(st, &v, &n, k.b, k.len);
    if (e == FERRY_ENOTFOUND)
        return ferry_fail(FERRY_ENOTFOUND, "no intent %s", hid);
    if (e)
        return e;
    e = orch_record_decode(out, v, n);
    free(v);
    if (e)
        return ferry_fail_ctx(e, "intent %s", hid);
    return FERRY_OK;
}

static bool has_tx(const struct intent_record *r, const uint8_t tx[32])
{
    if (memcmp(r->open_tx, tx, 32) == 0)
        return true;
    for (size_t i = 0; i < r->intent.n_steps; i++)
        for (size_t t = 0; t < r->hops[i].ntxs; t++)
            if (memcmp(r->hops[i].txs[t], tx, 32) == 0)
                return true;
    return false;
}

static bool matches(const struct intent_filter *f, const struct intent_record *r)
{
    if (f->state != INTENT_NONE && r->state != f->state)
        return false;
    if (f->pending && intent_state_terminal(r->state))
        return false;
    if (f->have_owner && memcmp(r->intent.owner, f->owner, ADDRESS_LEN) != 0)
        return false;
    if (f->chain) {
        bool on = false;
        for (size_t i = 0; i < r->intent.n_steps && !on; i++)
            on = r->intent.steps[i].chain == f->chain || r->intent.steps[i].to_chain == f->chain;
        if (!on)
            return false;
    }
    if (f->have_tx && !has_tx(r, f->tx))
        return false;
    return true;
}

static bool pending_state(uint8_t s)
{
    return s >= INTENT_PENDING && s < INTENT_STATE__COUNT && !intent_state_terminal((enum intent_state)s);
}

/* In the pending scan of the state index: seeks past a run of terminal states. */
static enum rec_skip skip_terminal(struct store_iter *it)
{
    size_t klen;
    const uint8_t *key = store_iter_key(it, &klen);
    if (klen >= 3 && pending_state(key[2]))
        return REC_TAKE;
    uint8_t to[3] = {STORE_KIND_INDEX, STORE_IDX_INTENT_STATE, (uint8_t)(klen >= 3 ? key[2] + 1 : 0)};
    if (klen >= 3 && key[2] == 0xff) {
        while (store_iter_valid(it))
            store_iter_next(it);
        return REC_MOVED;
    }
    store_iter_seek(it, to, sizeof to);
    return REC_MOVED;
}

struct list_ctx {
    const struct intent_filter *f;
    intent_list_fn *fn;
    void *arg;
};

static enum ferry_err list_decode(void *rec, const uint8_t *val, size_t vlen)
{
    return orch_record_decode(rec, val, vlen);
}
static void list_clear(void *rec) { intent_record_clear(rec); }
static bool list_matches(void *arg, const void *rec) { return matches(((struct list_ctx *)arg)->f, rec); }

static enum ferry_err list_load(struct store *st, const uint8_t *pk, size_t pklen, void *rec)
{
    if (pklen != 33 || pk[0] != STORE_KIND_INTENT)
        return ferry_fail(FERRY_EINVAL, "intents: malformed index entry");
    return intent_record_load(st, pk + 1, rec);
}

static enum ferry_err list_pass(void *arg, const void *rec)
{
    struct list_ctx *lc = arg;
    return lc->fn(lc->arg, rec);
}

enum ferry_err intent_list(struct store *st, const struct intent_filter *f, const char *after, size_t limit,
                           intent_list_fn *fn, void *arg, char next[INTENT_CURSOR_MAX])
{
    next[0] = 0;
    if (f->state != INTENT_NONE && (f->state < INTENT_PENDING || f->state >= INTENT_STATE__COUNT))
        return ferry_fail(FERRY_EINVAL, "intents: invalid state filter %d", (int)f->state);
    /* Pick the index that narrows the scan most (the order orch.h promises). */
    struct store_key prefix;
    enum { BY_PRIMARY, BY_STATE, BY_PENDING, BY_OWNER } src;
    uint8_t field[32];
    if (f->state != INTENT_NONE) {
        src = BY_STATE;
        field[0] = (uint8_t)f->state;
        store_key_index_prefix(&prefix, STORE_IDX_INTENT_STATE, field, 1);
    } else if (f->have_owner) {
        src = BY_OWNER;
        orch_owner_field(field, f->owner);
        store_key_index_prefix(&prefix, STORE_IDX_INTENT_OWNER, field, 32);
    } else if (f->pending) {
        src = BY_PENDING;
        store_key_begin(&prefix, STORE_KIND_INDEX);
        store_key_u8(&prefix, STORE_IDX_INTENT_STATE);
    } else {
        src = BY_PRIMARY;
        store_key_begin(&prefix, STORE_KIND_INTENT);
    }
    /* The cursor is the last key seen past the prefix the filter fixes (at most 34 bytes). */
    uint8_t start[STORE_KEY_MAX];
    size_t slen = 0;
    if (after && *after) {
        size_t rlen;
        memcpy(start, prefix.b, prefix.len);
        if (strlen(after) >= INTENT_CURSOR_MAX ||
            hex_decode(start + prefix.len, sizeof start - prefix.len, &rlen, after, strlen(after),
                       HEX_PREFIX_FORBIDDEN) || rlen == 0)
            return ferry_fail(FERRY_EINVAL, "intents: invalid cursor \"%.40s\" for this filter", after);
        slen = prefix.len + rlen;
    }
    struct intent_record r;
    struct list_ctx lc = {.f = f, .fn = fn, .arg = arg};
    struct rec_scan scan = {
        .what = "intents", .prefix = &prefix, .start = start, .slen = slen, .limit = limit,
        .by_primary = src == BY_PRIMARY, .idx = src == BY_OWNER ? STORE_IDX_INTENT_OWNER : STORE_IDX_INTENT_STATE,
        .field_len = src == BY_OWNER ? 32 : 1, .skip = src == BY_PENDING ? skip_terminal : NULL, .rec = &r,
        .decode = list_decode, .load = list_load, .clear = list_clear, .matches = list_matches, .pass = list_pass,
        .arg = &lc,
    };
    uint8_t last[STORE_KEY_MAX];
    size_t llen;
    enum ferry_err e = rec_scan_run(st, &scan, last, &llen);
    if (!e && llen) {
        if (2 * (llen - prefix.len) + 1 <= INTENT_CURSOR_MAX)
            hex_encode(next, last + prefix.len, llen - prefix.len, false);
        else
            e = ferry_fail(FERRY_ERANGE, "intents: cursor too long");
    }
    return e;
}

/* ---- the journal ---- */

enum ferry_err orch_events_read(struct store *st, uint64_t after, size_t limit, orch_event_fn *fn, void *arg,
                                uint64_t *last)
{
    *last = after;
    if (after == UINT64_MAX || limit == 0)
        return FERRY_OK;
    struct store_key prefix, start;
    store_key_begin(&prefix, STORE_KIND_EVENT);
    store_key_kind_u64(&start, STORE_KIND_EVENT, after + 1);
    struct store_iter *it;
    enum ferry_err e = store_iter_open(st, &it, prefix.b, prefix.len);
    if (e)
        return e;
    store_iter_seek(it, start.b, start.len);
    size_t n = 0;
    while (!e && store_iter_valid(it) && n < limit) {
        size_t klen, vlen;
        const uint8_t *key = store_iter_key(it, &klen);
        const uint8_t *val = store_iter_value(it, &vlen);
        if (klen != 9) {
            e = ferry_fail(FERRY_EINVAL, "intent journal: malformed key");
            break;
        }
        uint64_t id = store_be64_get(key + 1);
        e = fn(arg, id, (const char *)val, vlen);
        if (e)
            break;
        *last = id;
        n++;
        store_iter_next(it);
    }
    if (!e)
        e = store_iter_status(it);
    store_iter_free(it);
    return e;
}
