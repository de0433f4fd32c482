/* Strict reading of the store's JSON records and the paginated index scan behind the packet and
 * intent listings. Every error names its record and field, so a damaged store says where. */
#include "record_json.h"

#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"
#include "ferry/json_out.h"

enum ferry_err rec_bad(const struct rec_rd *c, const char *k, const char *what)
{
    return ferry_fail(FERRY_EINVAL, "%s: field \"%s%s\": %s", c->name, c->path, k, what);
}

enum ferry_err rec_get_text(const struct rec_rd *c, const cJSON *o, const char *k, const char *expect,
                            const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v))
        return rec_bad(c, k, v ? expect : "missing");
    *out = v->valuestring;
    return FERRY_OK;
}

/* A number up to 2^53 or, above that, a decimal string (json_add_u64's two forms). */
enum ferry_err rec_get_u64(const struct rec_rd *c, const cJSON *o, const char *k, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d < 0 || d > (double)JSON_SAFE_INT || d != (double)(uint64_t)d)
            return rec_bad(c, k, "expected an unsigned integer");
        *out = (uint64_t)d;
        return FERRY_OK;
    }
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        uint64_t x = 0;
        if (!*s)
            return rec_bad(c, k, "expected an unsigned integer");
        for (; *s; s++) {
            if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
                return rec_bad(c, k, "expected an unsigned integer below 2^64");
            x = x * 10 + (uint64_t)(*s - '0');
        }
        *out = x;
        return FERRY_OK;
    }
    return rec_bad(c, k, v ? "expected an unsigned integer" : "missing");
}

enum ferry_err rec_get_u32(const struct rec_rd *c, const cJSON *o, const char *k, uint32_t *out)
{
    uint64_t v;
    enum ferry_err e = rec_get_u64(c, o, k, &v);
    if (e)
        return e;
    if (v > UINT32_MAX)
        return rec_bad(c, k, "above 2^32");
    *out = (uint32_t)v;
    return FERRY_OK;
}

enum ferry_err rec_get_str(const struct rec_rd *c, const cJSON *o, const char *k, char *out, size_t cap)
{
    const char *s = NULL;
    enum ferry_err e = rec_get_text(c, o, k, "expected a string", &s);
    if (e)
        return e;
    if (strlen(s) >= cap)
        return rec_bad(c, k, "too long");
    strcpy(out, s);
    return FERRY_OK;
}

enum ferry_err rec_get_parsed(const struct rec_rd *c, const cJSON *o, const char *k, const char *expect,
                              rec_parse_fn *parse, void *out, size_t n)
{
    const char *s = NULL;
    enum ferry_err e = rec_get_text(c, o, k, expect, &s);
    if (!e && parse(out, n, s))
        e = rec_bad(c, k, ferry_errmsg());
    return e;
}

static enum ferry_err parse_hex(void *out, size_t n, const char *s)
{
    return hex_decode_exact(out, n, s, HEX_PREFIX_REQUIRED);
}

enum ferry_err rec_get_hex(const struct rec_rd *c, const cJSON *o, const char *k, uint8_t *out, size_t n)
{
    return rec_get_parsed(c, o, k, "expected 0x-prefixed hex", parse_hex, out, n);
}

enum ferry_err rec_get_bool(const struct rec_rd *c, const cJSON *o, const char *k, bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsBool(v))
        return rec_bad(c, k, v ? "expected true or false" : "missing");
    *out = cJSON_IsTrue(v);
    return FERRY_OK;
}

char *rec_print(cJSON *j, size_t *len)
{
    if (!j)
        return NULL;
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (s)
        *len = strlen(s);
    return s;
}

cJSON *rec_parse(const char *name, const uint8_t *v, size_t n)
{
    cJSON *j = cJSON_ParseWithLength((const char *)v, n);
    if (!j)
        (void)ferry_fail(FERRY_EINVAL, "%s: not JSON", name);
    return j;
}

/* ---- the index scan ---- */

/* With a skip rule: moves the iterator to the next key to visit; false when there is none. */
static bool skip_to_take(const struct rec_scan *s, struct store_iter *it)
{
    if (!s->skip)
        return true;
    for (;;) {
        switch (s->skip(it)) {
        case REC_TAKE:
            return true;
        case REC_END:
            return false;
        case REC_MOVED:
            if (!store_iter_valid(it))
                return false;
            break;
        }
    }
}

/* One key of the scan: its record, passed on when it matches. */
static enum ferry_err visit(struct store *st, const struct rec_scan *s, const uint8_t *key, size_t klen,
                            const uint8_t *val, size_t vlen, bool *listed)
{
    enum ferry_err e;
    if (s->by_primary) {
        e = s->decode(s->rec, val, vlen);
    } else {
        const uint8_t *pk;
        size_t pklen;
        if (!store_index_pk(key, klen, s->idx, s->field_len, &pk, &pklen))
            return ferry_fail(FERRY_EINVAL, "%s: malformed index entry", s->what);
        e = s->load(st, pk, pklen, s->rec);
    }
    if (e)
        return e;
    if (s->matches(s->arg, s->rec)) {
        *listed = true;
        e = s->pass(s->arg, s->rec);
    }
    s->clear(s->rec);
    return e;
}

enum ferry_err rec_scan_run(struct store *st, const struct rec_scan *s, uint8_t last[STORE_KEY_MAX], size_t *llen)
{
    *llen = 0;
    struct store_iter *it;
    enum ferry_err e = store_iter_open(st, &it, s->prefix->b, s->prefix->len);
    if (e)
        return e;
    if (s->slen)
        store_iter_seek_after(it, s->start, s->slen);
    else if (s->flen)
        store_iter_seek(it, s->first, s->flen);
    size_t budget = s->limit * 16 + 1024, seen = 0, listed = 0, n = 0;
    while (!e && store_iter_valid(it) && listed < s->limit && seen < budget && skip_to_take(s, it)) {
        size_t klen, vlen;
        const uint8_t *key = store_iter_key(it, &klen);
        const uint8_t *val = store_iter_value(it, &vlen);
        seen++;
        memcpy(last, key, klen);
        n = klen;
        bool took = false;
        e = visit(st, s, key, klen, val, vlen, &took);
        listed += took;
        if (!e)
            store_iter_next(it);
    }
    if (!e)
        e = store_iter_status(it);
    if (!e && store_iter_valid(it) && skip_to_take(s, it))
        *llen = n;
    store_iter_free(it);
    return e;
}
