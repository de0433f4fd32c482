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
#include "record_json.h"

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

static const struct rec_rd rd = {.name = "packet record"};

static enum ferry_err bad(const char *field, const char *what) { return rec_bad(&rd, field, what); }
static enum ferry_err get_u64(const cJSON *o, const char *k, uint64_t *out) { return rec_get_u64(&rd, o, k, out); }
static enum ferry_err get_u32(const cJSON *o, const char *k, uint32_t *out) { return rec_get_u32(&rd, o, k, out); }
static enum ferry_err get_bool(const cJSON *o, const char *k, bool *out) { return rec_get_bool(&rd, o, k, out); }

static enum ferry_err get_str(const cJSON *o, const char *k, char *out, size_t cap)
{
    return rec_get_str(&rd, o, k, out, cap);
}

static enum ferry_err get_hex32(const cJSON *o, const char *k, uint8_t out[32], bool optional)
{
    if (optional && !cJSON_GetObjectItemCaseSensitive(o, k))
        return FERRY_OK;
    return rec_get_hex(&rd, o, k, out, 32);
}

/* Variable-length hex into a malloc'd buffer (NULL when empty). */
static enum ferry_err get_hex_alloc(const cJSON *o, const char *k, uint8_t **out, size_t *len, size_t max)
{
    const char *s = NULL;
    enum ferry_err e = rec_get_text(&rd, o, k, "expected 0x-prefixed hex", &s);
    if (e)
        return e;
    struct fbuf b;
    fbuf_init(&b, max);
    if (hex_decode_buf(&b, s, HEX_PREFIX_REQUIRED)) {
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

static enum ferry_err parse_state(void *out, size_t n, const char *s)
{
    (void)n;
    return packet_state_parse(s, out);
}

static enum ferry_err get_state(const cJSON *o, const char *k, enum packet_state *out)
{
    return rec_get_parsed(&rd, o, k, "expected a state name", parse_state, out, 0);
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

char *record_encode(const struct packet_record *r, size_t *len) { return rec_print(packet_record_to_json(r), len); }

enum ferry_err record_decode(struct packet_record *out, const uint8_t *v, size_t n)
{
    memset(out, 0, sizeof *out);
    cJSON *j = rec_parse(rd.name, v, n);
    if (!j)
        return FERRY_EINVAL;
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

/* The pending scan walks the state index from SENT up; past PARKED the rest is terminal. */
static enum rec_skip past_pending(struct store_iter *it)
{
    size_t klen;
    const uint8_t *key = store_iter_key(it, &klen);
    return klen < 3 || key[2] < PACKET_SENT || key[2] > PACKET_PARKED ? REC_END : REC_TAKE;
}

struct list_ctx {
    const struct packet_filter *f;
    packet_list_fn *fn;
    void *arg;
};

static enum ferry_err list_decode(void *rec, const uint8_t *val, size_t vlen) { return record_decode(rec, val, vlen); }
static void list_clear(void *rec) { packet_record_clear(rec); }
static bool list_matches(void *arg, const void *rec) { return matches(((struct list_ctx *)arg)->f, rec); }

static enum ferry_err list_load(struct store *st, const uint8_t *pk, size_t pklen, void *rec)
{
    uint64_t s, q;
    if (!store_key_parse_u64_u64(pk, pklen, STORE_KIND_PACKET, &s, &q))
        return ferry_fail(FERRY_EINVAL, "packets: malformed index entry");
    return packet_record_load(st, s, q, rec);
}

static enum ferry_err list_pass(void *arg, const void *rec)
{
    struct list_ctx *lc = arg;
    return lc->fn(lc->arg, rec);
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
    static const uint8_t first[3] = {STORE_KIND_INDEX, STORE_IDX_PACKET_STATE, PACKET_SENT};
    struct packet_record r;
    struct list_ctx lc = {.f = f, .fn = fn, .arg = arg};
    struct rec_scan scan = {
        .what = "packets", .prefix = &prefix, .start = start, .slen = slen, .limit = limit,
        .by_primary = src == BY_PRIMARY, .idx = src == BY_DST ? STORE_IDX_PACKET_DST : STORE_IDX_PACKET_STATE,
        .field_len = src == BY_DST ? 8 : 1, .rec = &r, .decode = list_decode, .load = list_load,
        .clear = list_clear, .matches = list_matches, .pass = list_pass, .arg = &lc,
    };
    if (src == BY_PENDING) {
        scan.first = first;
        scan.flen = sizeof first;
        scan.skip = past_pending;
    }
    uint8_t last[STORE_KEY_MAX];
    size_t llen;
    enum ferry_err e = rec_scan_run(st, &scan, last, &llen);
    if (!e && llen)
        hex_encode(next, last, llen, false);
    return e;
}
