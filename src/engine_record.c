/* Packet records: names of states, the JSON encoding kept in the store (and shown by the API),
 * point reads and paginated listings over the store's indexes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine_internal.h"
#include "ferry/hex.h"
#include "ferry/json_out.h"

static const char *const state_names[PACKET_STATE__COUNT] = {
    "NONE", "SENT", "DELIVERING", "DELIVERED", "ACKING", "TIMING_OUT", "PARKED", "ACKED", "TIMED_OUT",
};

const char *packet_state_name(enum packet_state s)
{
    return (unsigned)s < PACKET_STATE__COUNT ? state_names[s] : "?";
}

enum ferry_err packet_state_parse(const char *s, enum packet_state *out)
{
    for (int i = PACKET_SENT; s && i < PACKET_STATE__COUNT; i++)
        if (!strcasecmp(s, state_names[i])) {
            *out = (enum packet_state)i;
            return FERRY_OK;
        }
    return ferry_fail(FERRY_EINVAL,
                      "unknown packet state \"%s\" (expected SENT, DELIVERING, DELIVERED, ACKING, TIMING_OUT, "
                      "PARKED, ACKED or TIMED_OUT)",
                      s ? s : "(null)");
}

bool packet_state_terminal(enum packet_state s) { return s == PACKET_ACKED || s == PACKET_TIMED_OUT; }

void packet_record_clear(struct packet_record *r)
{
    packet_clear(&r->packet);
    packet_ack_clear(&r->ack);
    memset(r, 0, sizeof *r);
}

/* ---- JSON ---- */

cJSON *packet_record_to_json(const struct packet_record *r)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    ok = ok && cJSON_AddNumberToObject(o, "v", RECORD_VERSION);
    ok = ok && cJSON_AddStringToObject(o, "state", packet_state_name(r->state));
    if (r->state == PACKET_PARKED)
        ok = ok && cJSON_AddStringToObject(o, "parked_from", packet_state_name(r->parked_from));
    ok = ok && json_add_u64(o, "src", r->packet.src_chain) && json_add_u64(o, "dst", r->packet.dst_chain) &&
         json_add_u64(o, "seq", r->packet.sequence) && json_add_hex(o, "id", r->id, 32);
    ok = ok && cJSON_AddBoolToObject(o, "have_packet", r->have_packet);
    if (r->have_packet)
        ok = ok && json_add_hex(o, "sender", r->packet.sender, 32) &&
             json_add_hex(o, "receiver", r->packet.receiver, 32) && json_add_u64(o, "timeout", r->packet.timeout_ts) &&
             json_add_hex(o, "payload", r->packet.payload, r->packet.payload_len);
    if (r->have_ack) {
        cJSON *a = cJSON_AddObjectToObject(o, "ack");
        ok = ok && a && cJSON_AddBoolToObject(a, "success", r->ack.success) &&
             json_add_hex(a, "result", r->ack.result, r->ack.result_len);
    }
    ok = ok && json_add_u64(o, "proof_ts", r->proof_ts) && json_add_u64(o, "attempts", r->attempts) &&
         json_add_u64(o, "nsub", r->nsub) && json_add_u64(o, "next_attempt_at", r->next_attempt_at) &&
         cJSON_AddStringToObject(o, "sub_id", r->sub_id) && cJSON_AddStringToObject(o, "reason", r->reason) &&
         json_add_u64(o, "sent_block", r->sent_block) && json_add_u64(o, "sent_time", r->sent_time) &&
         json_add_u64(o, "seen_at", r->seen_at);
    cJSON *en = ok ? cJSON_AddObjectToObject(o, "entered") : NULL;
    ok = ok && en;
    for (int s = PACKET_SENT; ok && s < PACKET_STATE__COUNT; s++)
        if (r->entered[s])
            ok = json_add_u64(en, state_names[s], r->entered[s]);
    if (json_nonzero(r->recv_tx, 32))
        ok = ok && json_add_hex(o, "recv_tx", r->recv_tx, 32);
    if (json_nonzero(r->settle_tx, 32))
        ok = ok && json_add_hex(o, "settle_tx", r->settle_tx, 32);
    cJSON *subs = ok ? cJSON_AddArrayToObject(o, "subs") : NULL;
    ok = ok && subs;
    for (size_t i = 0; ok && i < r->nsubs && i < ENGINE_SUBS_KEPT; i++) {
        cJSON *s = cJSON_CreateObject();
        ok = s && cJSON_AddItemToArray(subs, s);
        ok = ok && cJSON_AddStringToObject(s, "id", r->subs[i].id) &&
             cJSON_AddStringToObject(s, "state", chain_submission_state_name(r->subs[i].state));
        if (ok && json_nonzero(r->subs[i].tx_hash, 32))
            ok = json_add_hex(s, "tx", r->subs[i].tx_hash, 32);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static enum ferry_err bad(const char *field, const char *what)
{
    return ferry_fail(FERRY_EINVAL, "packet record: field \"%s\": %s", field, what);
}

static enum ferry_err get_u64(const cJSON *o, const char *k, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d < 0 || d > (double)JSON_SAFE_INT || d != (double)(uint64_t)d)
            return bad(k, "expected an unsigned integer");
        *out = (uint64_t)d;
        return FERRY_OK;
    }
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        uint64_t x = 0;
        if (!*s)
            return bad(k, "expected an unsigned integer");
        for (; *s; s++) {
            if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
                return bad(k, "expected an unsigned integer below 2^64");
            x = x * 10 + (uint64_t)(*s - '0');
        }
        *out = x;
        return FERRY_OK;
    }
    return bad(k, v ? "expected an unsigned integer" : "missing");
}

static enum ferry_err get_u32(const cJSON *o, const char *k, uint32_t *out)
{
    uint64_t v;
    enum ferry_err e = get_u64(o, k, &v);
    if (e)
        return e;
    if (v > UINT32_MAX)
        return bad(k, "above 2^32");
    *out = (uint32_t)v;
    return FERRY_OK;
}

static enum ferry_err get_str(const cJSON *o, const char *k, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v))
        return bad(k, v ? "expected a string" : "missing");
    if (strlen(v->valuestring) >= cap)
        return bad(k, "too long");
    strcpy(out, v->valuestring);
    return FERRY_OK;
}

static enum ferry_err get_hex32(const cJSON *o, const char *k, uint8_t out[32], bool optional)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v && optional)
        return FERRY_OK;
    if (!cJSON_IsString(v))
        return bad(k, v ? "expected 0x-prefixed hex" : "missing");
    if (hex_decode_exact(out, 32, v->valuestring, HEX_PREFIX_REQUIRED))
        return bad(k, ferry_errmsg());
    return FERRY_OK;
}

/* Variable-length hex into a malloc'd buffer (NULL when empty). */
static enum ferry_err get_hex_alloc(const cJSON *o, const char *k, uint8_t **out, size_t *len, size_t max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v))
        return bad(k, v ? "expected 0x-prefixed hex" : "missing");
    struct fbuf b;
    fbuf_init(&b, max);
    if (hex_decode_buf(&b, v->valuestring, HEX_PREFIX_REQUIRED)) {
        fbuf_free(&b);
        return bad(k, ferry_errmsg());
    }
    *out = fbuf_take(&b, len);
    if (*len == 0) {
        free(*out);
        *out = NULL;
    }
    return FERRY_OK;
}

static enum ferry_err get_state(const cJSON *o, const char *k, enum packet_state *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v))
        return bad(k, v ? "expected a state name" : "missing");
    if (packet_state_parse(v->valuestring, out))
        return bad(k, ferry_errmsg());
    return FERRY_OK;
}

static enum ferry_err get_bool(const cJSON *o, const char *k, bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsBool(v))
        return bad(k, v ? "expected true or false" : "missing");
    *out = cJSON_IsTrue(v);
    return FERRY_OK;
}

static enum ferry_err decode_subs(struct packet_record *r, const cJSON *j)
{
    const cJSON *subs = cJSON_GetObjectItemCaseSensitive(j, "subs");
    if (!cJSON_IsArray(subs))
        return bad("subs", subs ? "expected an array" : "missing");
    const cJSON *s;
    cJSON_ArrayForEach(s, subs)
    {
        if (r->nsubs == ENGINE_SUBS_KEPT)
            return bad("subs", "too many entries");
        struct packet_sub *ps = &r->subs[r->nsubs];
        char st[16];
        enum ferry_err e = get_str(s, "id", ps->id, sizeof ps->id);
        if (!e)
            e = get_str(s, "state", st, sizeof st);
        if (!e)
            e = get_hex32(s, "tx", ps->tx_hash, true);
        if (e)
            return ferry_fail_ctx(e, "subs[%zu]", r->nsubs);
        int k = 0;
        while (k <= CHAIN_SUB_UNKNOWN && strcmp(st, chain_submission_state_name((enum chain_submission_state)k)))
            k++;
        if (k > CHAIN_SUB_UNKNOWN)
            return bad("subs.state", "unknown submission state");
        ps->state = (enum chain_submission_state)k;
        r->nsubs++;
    }
    return FERRY_OK;
}

static enum ferry_err decode(struct packet_record *r, const cJSON *j)
{
    uint64_t v;
    enum ferry_err e;
    if (!cJSON_IsObject(j))
        return ferry_fail(FERRY_EINVAL, "packet record: expected a JSON object");
    if ((e = get_u64(j, "v", &v)))
        return e;
    if (v != RECORD_VERSION)
        return ferry_fail(FERRY_EUNSUPPORTED, "packet record: version %" PRIu64 ", this ferry reads %d", v,
                          RECORD_VERSION);
    if ((e = get_state(j, "state", &r->state)))
        return e;
    if (r->state == PACKET_PARKED) {
        if ((e = get_state(j, "parked_from", &r->parked_from)))
            return e;
        if (r->parked_from == PACKET_PARKED || packet_state_terminal(r->parked_from))
            return bad("parked_from", "not a state a packet is parked from");
    }
    if ((e = get_u64(j, "src", &r->packet.src_chain)) || (e = get_u64(j, "dst", &r->packet.dst_chain)) ||
        (e = get_u64(j, "seq", &r->packet.sequence)) || (e = get_hex32(j, "id", r->id, false)) ||
        (e = get_bool(j, "have_packet", &r->have_packet)))
        return e;
    if (r->have_packet &&
        ((e = get_hex32(j, "sender", r->packet.sender, false)) ||
         (e = get_hex32(j, "receiver", r->packet.receiver, false)) ||
         (e = get_u64(j, "timeout", &r->packet.timeout_ts)) ||
         (e = get_hex_alloc(j, "payload", &r->packet.payload, &r->packet.payload_len, PACKET_PAYLOAD_MAX))))
        return e;
    const cJSON *ack = cJSON_GetObjectItemCaseSensitive(j, "ack");
    if (ack) {
        if (!cJSON_IsObject(ack))
            return bad("ack", "expected an object");
        r->have_ack = true;
        if ((e = get_bool(ack, "success", &r->ack.success)) ||
            (e = get_hex_alloc(ack, "result", &r->ack.result, &r->ack.result_len, PACKET_PAYLOAD_MAX)))
            return ferry_fail_ctx(e, "ack");
    }
    if ((e = get_u64(j, "proof_ts", &r->proof_ts)) || (e = get_u32(j, "attempts", &r->attempts)) ||
        (e = get_u32(j, "nsub", &r->nsub)) || (e = get_u64(j, "next_attempt_at", &r->next_attempt_at)) ||
        (e = get_str(j, "sub_id", r->sub_id, sizeof r->sub_id)) ||
        (e = get_str(j, "reason", r->reason, sizeof r->reason)) || (e = get_u64(j, "sent_block", &r->sent_block)) ||
        (e = get_u64(j, "sent_time", &r->sent_time)) || (e = get_u64(j, "seen_at", &r->seen_at)))
        return e;
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(j, "entered");
    if (!cJSON_IsObject(en))
        return bad("entered", en ? "expected an object" : "missing");
    for (int s = PACKET_SENT; s < PACKET_STATE__COUNT; s++)
        if (cJSON_GetObjectItemCaseSensitive(en, state_names[s]) &&
            (e = get_u64(en, state_names[s], &r->entered[s])))
            return ferry_fail_ctx(e, "entered");
    if ((e = get_hex32(j, "recv_tx", r->recv_tx, true)) || (e = get_hex32(j, "settle_tx", r->settle_tx, true)))
        return e;
    return decode_subs(r, j);
}

enum ferry_err packet_record_from_json(struct packet_record *out, const cJSON *j)
{
    memset(out, 0, sizeof *out);
    enum ferry_err e = decode(out, j);
    if (e)
        packet_record_clear(out);
    return e;
}

char *record_encode(const struct packet_record *r, size_t *len)
{
    cJSON *j = packet_record_to_json(r);
    if (!j)
        return NULL;
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (s)
        *len = strlen(s);
    return s;
}

enum ferry_err record_decode(struct packet_record *out, const uint8_t *v, size_t n)
{
    memset(out, 0, sizeof *out);
    cJSON *j = cJSON_ParseWithLength((const char *)v, n);
    if (!j)
        return ferry_fail(FERRY_EINVAL, "packet record: not JSON");
    enum ferry_err e = packet_record_from_json(out, j);
    cJSON_Delete(j);
    return e;
}

/* ---- reads ---- */

enum ferry_err packet_record_load(struct store *st, uint64_t src_chain, uint64_t sequence, struct packet_record *out)
{
    memset(out, 0, sizeof *out);
    struct store_key k;
    store_key_u64_u64(&k, STORE_KIND_PACKET, src_chain, sequence);
    uint8_t *v;
    size_t n;
    enum ferry_err e = store_get(st, &v, &n, k.b, k.len);
    if (e == FERRY_ENOTFOUND)
        return ferry_fail(FERRY_ENOTFOUND, "no packet %" PRIu64 "/%" PRIu64, src_chain, sequence);
    if (e)
        return e;
    e = record_decode(out, v, n);
    free(v);
    if (e)
        return ferry_fail_ctx(e, "packet %" PRIu64 "/%" PRIu64, src_chain, sequence);
    return FERRY_OK;
}

static bool matches(const struct packet_filter *f, const struct packet_record *r)
{
    if (f->state != PACKET_NONE && r->state != f->state)
        return false;
    if (f->pending && packet_state_terminal(r->state))
        return false;
    if (f->src_chain && r->packet.src_chain != f->src_chain)
        return false;
    if (f->dst_chain && r->packet.dst_chain != f->dst_chain)
        return false;
    return true;
}

enum ferry_err packet_list(struct store *st, const struct packet_filter *f, const char *after, size_t limit,
                           packet_list_fn *fn, void *arg, char next[PACKET_CURSOR_MAX])
{
    next[0] = 0;
    if (f->state != PACKET_NONE && (f->state < PACKET_SENT || f->state >= PACKET_STATE__COUNT))
        return ferry_fail(FERRY_EINVAL, "packets: invalid state filter %d", (int)f->state);
    /* Pick the index that narrows the scan most. */
    struct store_key prefix;
    enum { BY_PRIMARY, BY_STATE, BY_PENDING, BY_DST } src;
    uint8_t field[8];
    if (f->state != PACKET_NONE) {
        src = BY_STATE;
        field[0] = (uint8_t)f->state;
        store_key_index_prefix(&prefix, STORE_IDX_PACKET_STATE, field, 1);
    } else if (f->pending) {
        src = BY_PENDING;
        store_key_begin(&prefix, STORE_KIND_INDEX);
        store_key_u8(&prefix, STORE_IDX_PACKET_STATE);
    } else if (f->dst_chain) {
        src = BY_DST;
        store_be64_put(field, f->dst_chain);
        store_key_index_prefix(&prefix, STORE_IDX_PACKET_DST, field, 8);
    } else {
        src = BY_PRIMARY;
        store_key_begin(&prefix, STORE_KIND_PACKET);
        if (f->src_chain)
            store_key_u64(&prefix, f->src_chain);
    }
    uint8_t start[STORE_KEY_MAX];
    size_t slen = 0;
    if (after && *after) {
        if (hex_decode(start, sizeof start, &slen, after, strlen(after), HEX_PREFIX_FORBIDDEN) ||
            slen < prefix.len || memcmp(start, prefix.b, prefix.len))
            return ferry_fail(FERRY_EINVAL, "packets: invalid cursor \"%.40s\" for this filter", after);
    }
    struct store_iter *it;
    enum ferry_err e = store_iter_open(st, &it, prefix.b, prefix.len);
    if (e)
        return e;
    if (slen)
        store_iter_seek_after(it, start, slen);
    else if (src == BY_PENDING) {
        uint8_t first[3] = {STORE_KIND_INDEX, STORE_IDX_PACKET_STATE, PACKET_SENT};
        store_iter_seek(it, first, sizeof first);
    }
    size_t budget = limit * 16 + 1024, seen = 0, listed = 0;
    uint8_t last[STORE_KEY_MAX];
    size_t llen = 0;
    bool done = false;
    while (!e && store_iter_valid(it) && listed < limit && seen < budget) {
        size_t klen, vlen;
        const uint8_t *key = store_iter_key(it, &klen);
        const uint8_t *val = store_iter_value(it, &vlen);
        if (src == BY_PENDING && (klen < 3 || key[2] < PACKET_SENT || key[2] > PACKET_PARKED)) {
            done = true; /* past the non-terminal states: the rest of the index is terminal */
            break;
        }
        seen++;
        memcpy(last, key, klen);
        llen = klen;
        struct packet_record r;
        if (src == BY_PRIMARY) {
            e = record_decode(&r, val, vlen);
        } else {
            const uint8_t *pk;
            size_t pklen;
            enum store_index idx = src == BY_DST ? STORE_IDX_PACKET_DST : STORE_IDX_PACKET_STATE;
            uint64_t s, q;
            if (!store_index_pk(key, klen, idx, src == BY_DST ? 8 : 1, &pk, &pklen) ||
                !store_key_parse_u64_u64(pk, pklen, STORE_KIND_PACKET, &s, &q)) {
                e = ferry_fail(FERRY_EINVAL, "packets: malformed index entry");
                break;
            }
            e = packet_record_load(st, s, q, &r);
        }
        if (e)
            break;
        if (matches(f, &r)) {
            listed++;
            e = fn(arg, &r);
        }
        packet_record_clear(&r);
        store_iter_next(it);
    }
    if (!e)
        e = store_iter_status(it);
    if (!e && !done && store_iter_valid(it) && llen) {
        size_t klen;
        const uint8_t *key = store_iter_key(it, &klen);
        bool more = !(src == BY_PENDING && (klen < 3 || key[2] < PACKET_SENT || key[2] > PACKET_PARKED));
        if (more)
            hex_encode(next, last, llen, false);
    }
    store_iter_free(it);
    return e;
}
