#include "ferry/rlp.h"

#include <string.h>

/* ---- encoding ---- */

void rlp_enc_init_buf(struct rlp_enc *e, struct fbuf *out)
{
    memset(e, 0, sizeof *e);
    e->buf = out;
}

void rlp_enc_init_hash(struct rlp_enc *e, struct keccak_ctx *hash)
{
    memset(e, 0, sizeof *e);
    e->hash = hash;
}

static void emit(struct rlp_enc *e, const void *p, size_t n)
{
    if (e->err)
        return;
    if (e->hash) {
        keccak256_update(e->hash, p, n);
        return;
    }
    enum ferry_err err = fbuf_add(e->buf, p, n);
    if (err)
        e->err = ferry_fail_ctx(err, "rlp");
}

/* Big-endian bytes of v without leading zeros into out[8]; returns the count (0 for 0). */
static size_t be_min_u64(uint8_t out[8], uint64_t v)
{
    size_t n = 0;
    for (uint64_t t = v; t; t >>= 8)
        n++;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return n;
}

/* Writes the prefix of an item of `len` payload bytes: short_base is 0x80 (string) or 0xc0 (list). */
static void emit_header(struct rlp_enc *e, uint8_t short_base, size_t len)
{
    uint8_t h[9];
    if (len < 56) {
        h[0] = (uint8_t)(short_base + len);
        emit(e, h, 1);
        return;
    }
    size_t ll = be_min_u64(h + 1, (uint64_t)len);
    h[0] = (uint8_t)(short_base + 55 + ll);
    emit(e, h, 1 + ll);
}

static size_t header_size(size_t len)
{
    uint8_t scratch[8];
    return len < 56 ? 1 : 1 + be_min_u64(scratch, (uint64_t)len);
}

void rlp_put_bytes(struct rlp_enc *e, const uint8_t *p, size_t n)
{
    if (n == 1 && p[0] < 0x80) {
        emit(e, p, 1);
        return;
    }
    emit_header(e, 0x80, n);
    if (n)
        emit(e, p, n);
}

void rlp_put_u64(struct rlp_enc *e, uint64_t v)
{
    uint8_t b[8];
    rlp_put_bytes(e, b, be_min_u64(b, v));
}

void rlp_put_u256(struct rlp_enc *e, u256 v)
{
    uint8_t b[32];
    rlp_put_bytes(e, b, u256_to_be_min(b, v));
}

void rlp_put_raw(struct rlp_enc *e, const uint8_t *p, size_t n)
{
    if (n)
        emit(e, p, n);
}

void rlp_list_header(struct rlp_enc *e, size_t payload_len) { emit_header(e, 0xc0, payload_len); }

void rlp_list_begin(struct rlp_enc *e)
{
    if (e->err)
        return;
    if (!e->buf) {
        e->err = ferry_fail(FERRY_EINVAL, "rlp: a list written into a hash needs rlp_list_header");
        return;
    }
    if (e->depth == RLP_MAX_DEPTH) {
        e->err = ferry_fail(FERRY_ERANGE, "rlp: lists nested deeper than %d", RLP_MAX_DEPTH);
        return;
    }
    e->open[e->depth++] = e->buf->len;
    /* One byte is enough for a list under 56 bytes; longer ones are moved right at the end. */
    uint8_t placeholder = 0xc0;
    emit(e, &placeholder, 1);
}

void rlp_list_end(struct rlp_enc *e)
{
    if (e->err)
        return;
    if (e->depth == 0) {
        e->err = ferry_fail(FERRY_EINVAL, "rlp: rlp_list_end without rlp_list_begin");
        return;
    }
    size_t start = e->open[--e->depth];
    size_t payload = e->buf->len - start - 1;
    if (payload < 56) {
        e->buf->data[start] = (uint8_t)(0xc0 + payload);
        return;
    }
    uint8_t len_be[8];
    size_t ll = be_min_u64(len_be, (uint64_t)payload);
    uint8_t *unused;
    enum ferry_err err = fbuf_grow_zero(e->buf, ll, &unused);
    if (err) {
        e->err = ferry_fail_ctx(err, "rlp");
        return;
    }
    uint8_t *d = e->buf->data;
    memmove(d + start + 1 + ll, d + start + 1, payload);
    d[start] = (uint8_t)(0xf7 + ll);
    memcpy(d + start + 1, len_be, ll);
}

enum ferry_err rlp_enc_finish(struct rlp_enc *e)
{
    if (!e->err && e->depth)
        e->err = ferry_fail(FERRY_EINVAL, "rlp: %u list(s) begun and not ended", e->depth);
    return e->err;
}

size_t rlp_size_bytes(const uint8_t *p, size_t n)
{
    if (n == 1 && p[0] < 0x80)
        return 1;
    return header_size(n) + n;
}

size_t rlp_size_u64(uint64_t v)
{
    uint8_t b[8];
    return rlp_size_bytes(b, be_min_u64(b, v));
}

size_t rlp_size_u256(u256 v)
{
    uint8_t b[32];
    return rlp_size_bytes(b, u256_to_be_min(b, v));
}

size_t rlp_size_list(size_t payload_len) { return header_size(payload_len) + payload_len; }

/* ---- decoding ---- */

/* Reads the item at p, which must fit in the `avail` bytes before the end of its container
 * (`what` names that container for messages); `off` is p's offset in the top-level input. */
static enum ferry_err parse_item(struct rlp_item *it, const uint8_t *p, size_t avail, size_t off,
                                 const char *what)
{
    if (avail == 0)
        return ferry_fail(FERRY_EINVAL, "rlp: item expected at offset %zu, found the end of the %s", off, what);
    uint8_t b = p[0];
    it->off = off;
    if (b < 0x80) {
        it->kind = RLP_STRING;
        it->data = p;
        it->len = 1;
        it->hdr = 0;
        return FERRY_OK;
    }
    it->kind = b < 0xc0 ? RLP_STRING : RLP_LIST;
    uint8_t base = b < 0xc0 ? 0x80 : 0xc0;
    size_t rest = avail - 1, len, hdr;
    if (b - base < 56) {
        len = (size_t)(b - base);
        hdr = 1;
        if (len > rest)
            return ferry_fail(FERRY_EINVAL, "rlp: %s of %zu bytes at offset %zu runs past the end of the %s",
                              it->kind == RLP_LIST ? "list" : "string", len, off, what);
        if (it->kind == RLP_STRING && len == 1 && p[1] < 0x80)
            return ferry_fail(FERRY_EINVAL,
                              "rlp: single byte 0x%02x at offset %zu must be encoded as itself, not as 0x81 %02x",
                              p[1], off, p[1]);
    } else {
        size_t ll = (size_t)(b - base - 55); /* 1..8 */
        if (ll > rest)
            return ferry_fail(FERRY_EINVAL, "rlp: length of %zu bytes at offset %zu runs past the end of the %s",
                              ll, off, what);
        if (p[1] == 0)
            return ferry_fail(FERRY_EINVAL, "rlp: leading zero in the length at offset %zu", off);
        uint64_t v = 0;
        for (size_t i = 0; i < ll; i++)
            v = (v << 8) | p[1 + i];
        if (v < 56)
            return ferry_fail(FERRY_EINVAL,
                              "rlp: long form used for a %s of %llu bytes at offset %zu (under 56 takes the short form)",
                              it->kind == RLP_LIST ? "list" : "string", (unsigned long long)v, off);
        if (v > rest - ll)
            return ferry_fail(FERRY_EINVAL, "rlp: %s of %llu bytes at offset %zu runs past the end of the %s",
                              it->kind == RLP_LIST ? "list" : "string", (unsigned long long)v, off, what);
        len = (size_t)v;
        hdr = 1 + ll;
    }
    it->data = p + hdr;
    it->len = len;
    it->hdr = hdr;
    return FERRY_OK;
}

enum ferry_err rlp_decode(struct rlp_item *top, const uint8_t *in, size_t n) { return rlp_decode_at(top, in, n, 0); }

enum ferry_err rlp_decode_at(struct rlp_item *top, const uint8_t *in, size_t n, size_t base)
{
    memset(top, 0, sizeof *top);
    struct rlp_item it;
    enum ferry_err err = parse_item(&it, in, n, base, "input");
    if (err)
        return err;
    size_t end = it.hdr + it.len;
    if (end != n)
        return ferry_fail(FERRY_EINVAL, "rlp: %zu unexpected byte(s) after the top item, at offset %zu", n - end,
                          base + end);

    /* Check every nested item once, iteratively: ends[] holds the end offset of each open list. */
    size_t ends[RLP_MAX_DEPTH];
    unsigned depth = 0;
    size_t pos = 0;
    if (it.kind == RLP_LIST) {
        ends[depth++] = end;
        pos = it.hdr;
    }
    while (depth > 0) {
        if (pos == ends[depth - 1]) {
            depth--;
            continue;
        }
        struct rlp_item child;
        err = parse_item(&child, in + pos, ends[depth - 1] - pos, base + pos, "enclosing list");
        if (err)
            return err;
        if (child.kind == RLP_LIST) {
            if (depth == RLP_MAX_DEPTH)
                return ferry_fail(FERRY_ERANGE, "rlp: lists nested deeper than %d at offset %zu", RLP_MAX_DEPTH,
                                  base + pos);
            ends[depth++] = pos + child.hdr + child.len;
            pos += child.hdr;
        } else {
            pos += child.hdr + child.len;
        }
    }
    *top = it;
    return FERRY_OK;
}

void rlp_iter_init(struct rlp_iter *it, const struct rlp_item *list)
{
    it->p = list->data;
    it->end = list->kind == RLP_LIST ? list->data + list->len : list->data;
    it->off = list->off + list->hdr;
}

bool rlp_iter_next(struct rlp_iter *it, struct rlp_item *out)
{
    if (it->p >= it->end)
        return false;
    /* Items from rlp_decode were checked whole; a hand-made item that fails here just ends. */
    if (parse_item(out, it->p, (size_t)(it->end - it->p), it->off, "enclosing list")) {
        it->p = it->end;
        return false;
    }
    size_t step = out->hdr + out->len;
    it->p += step;
    it->off += step;
    return true;
}

enum ferry_err rlp_list_items(const struct rlp_item *list, struct rlp_item *items, size_t cap, size_t *count)
{
    *count = 0;
    if (list->kind != RLP_LIST)
        return ferry_fail(FERRY_EINVAL, "rlp: expected a list at offset %zu, got a string", list->off);
    struct rlp_iter it;
    struct rlp_item item;
    rlp_iter_init(&it, list);
    size_t n = 0;
    while (rlp_iter_next(&it, &item)) {
        if (n == cap)
            return ferry_fail(FERRY_EINVAL, "rlp: list at offset %zu has more than %zu items", list->off, cap);
        items[n++] = item;
    }
    *count = n;
    return FERRY_OK;
}

static enum ferry_err want_string(const struct rlp_item *it, const char *what)
{
    if (it->kind != RLP_STRING)
        return ferry_fail(FERRY_EINVAL, "rlp: expected %s at offset %zu, got a list", what, it->off);
    return FERRY_OK;
}

static enum ferry_err want_integer(const struct rlp_item *it, size_t max_bytes, const char *type)
{
    enum ferry_err err = want_string(it, "an integer");
    if (err)
        return err;
    if (it->len > 0 && it->data[0] == 0)
        return ferry_fail(FERRY_EINVAL, "rlp: leading zero in integer at offset %zu", it->off);
    if (it->len > max_bytes)
        return ferry_fail(FERRY_ERANGE, "rlp: integer of %zu bytes at offset %zu does not fit in %s", it->len,
                          it->off, type);
    return FERRY_OK;
}

enum ferry_err rlp_get_u64(const struct rlp_item *it, uint64_t *out)
{
    *out = 0;
    enum ferry_err err = want_integer(it, 8, "64 bits");
    if (err)
        return err;
    uint64_t v = 0;
    for (size_t i = 0; i < it->len; i++)
        v = (v << 8) | it->data[i];
    *out = v;
    return FERRY_OK;
}

enum ferry_err rlp_get_u256(const struct rlp_item *it, u256 *out)
{
    *out = u256_from_u64(0);
    enum ferry_err err = want_integer(it, 32, "256 bits");
    if (err)
        return err;
    return u256_from_be(out, it->data, it->len);
}

enum ferry_err rlp_get_bytes(const struct rlp_item *it, const uint8_t **p, size_t *n)
{
    *p = NULL;
    *n = 0;
    enum ferry_err err = want_string(it, "a byte string");
    if (err)
        return err;
    *p = it->data;
    *n = it->len;
    return FERRY_OK;
}

enum ferry_err rlp_get_fixed(const struct rlp_item *it, uint8_t *out, size_t n)
{
    memset(out, 0, n);
    enum ferry_err err = want_string(it, "a byte string");
    if (err)
        return err;
    if (it->len != n)
        return ferry_fail(FERRY_EINVAL, "rlp: expected %zu bytes at offset %zu, got %zu", n, it->off, it->len);
    memcpy(out, it->data, n);
    return FERRY_OK;
}
