/* ABI encoding and decoding, typed getters and setters, event logs. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi_int.h"
#include "ferry/hex.h"

/* True when every bit of w at or above bit n equals the matching bit of fill (0 or all ones). */
static bool high_bits_are(u256 w, unsigned n, uint64_t fill)
{
    for (unsigned i = 0; i < 4; i++) {
        unsigned lo = 64 * i;
        if (n >= lo + 64)
            continue;
        uint64_t mask = n <= lo ? ~(uint64_t)0 : ~(uint64_t)0 << (n - lo);
        if ((w.w[i] & mask) != (fill & mask))
            return false;
    }
    return true;
}

bool abi_word_valid(const struct abi_type *t, const uint8_t word[32])
{
    u256 w = abi_load_word(word);
    switch (t->kind) {
    case ABI_UINT:
        return high_bits_are(w, t->size, 0);
    case ABI_INT: {
        /* Sign extension: every bit from N-1 up is a copy of the sign bit. */
        unsigned sign = t->size - 1;
        uint64_t fill = (w.w[sign / 64] >> (sign % 64)) & 1 ? ~(uint64_t)0 : 0;
        return high_bits_are(w, sign, fill);
    }
    case ABI_ADDRESS:
        return high_bits_are(w, 160, 0);
    case ABI_BOOL:
        return high_bits_are(w, 1, 0);
    case ABI_FIXED_BYTES: {
        /* Left-aligned: the low 256 - 8N bits are padding. */
        unsigned pad = 256 - 8 * t->size;
        for (unsigned i = 0; i < 4 && pad; i++) {
            unsigned take = pad < 64 ? pad : 64;
            if (w.w[i] & (take == 64 ? ~(uint64_t)0 : ((uint64_t)1 << take) - 1))
                return false;
            pad -= take;
        }
        return true;
    }
    default:
        return false;
    }
}

enum ferry_err abi_tree_alloc(struct abi_value **out, size_t nodes, size_t extra, uint8_t **extra_p)
{
    *out = NULL;
    if (nodes == 0 || nodes > ABI_MAX_NODES + 1u || extra > SIZE_MAX / 2)
        return ferry_fail(FERRY_ERANGE, "abi: a value of %zu nodes is past the cap of %u", nodes, ABI_MAX_NODES);
    size_t sz = nodes * sizeof(struct abi_value) + extra;
    struct abi_value *t = calloc(1, sz ? sz : 1);
    if (!t)
        return ferry_fail(FERRY_ENOMEM, "abi: out of memory for a value of %zu nodes", nodes);
    if (extra_p)
        *extra_p = (uint8_t *)(t + nodes);
    *out = t;
    return FERRY_OK;
}

void abi_value_free(struct abi_value *tree) { free(tree); }

/* ---------------------------------------------------------------- decoding */

struct dec {
    const uint8_t *buf;
    size_t len;
    size_t nodes;            /* counted so far (the root is counted by the caller) */
    struct abi_value *pool;  /* NULL while only validating and counting */
    size_t used, avail;
    const struct abi_type *top; /* the top-level parameter list, for field names in messages */
    const size_t *top_map;      /* top-level index -> parameter index (event data), or NULL */
    unsigned depth;
    size_t path[ABI_MAX_DEPTH + 2];
    bool path_array[ABI_MAX_DEPTH + 2];
};

/* "field 2 (payload)[3].1": where the decoder is, for messages. */
static const char *where(const struct dec *d, char *w, size_t n)
{
    if (d->depth == 0) {
        snprintf(w, n, "the data");
        return w;
    }
    size_t idx = d->top_map ? d->top_map[d->path[0]] : d->path[0];
    const char *name = NULL;
    if (d->top && d->top->kind == ABI_TUPLE && idx < d->top->count)
        name = d->top->members[idx]->name;
    int o = snprintf(w, n, "field %zu%s%s%s", idx, name ? " (" : "", name ? name : "", name ? ")" : "");
    for (unsigned i = 1; i < d->depth && o > 0 && (size_t)o < n; i++)
        o += snprintf(w + o, n - (size_t)o, d->path_array[i] ? "[%zu]" : ".%zu", d->path[i]);
    return w;
}

static void word_hex(char out[67], const uint8_t w[32])
{
    u256_to_quantity(out, u256_from_be32(w));
}

/* Reads the word at pos as an offset or length that must not exceed `limit`. */
static enum ferry_err read_size(struct dec *d, size_t pos, size_t limit, size_t *out, const char *what,
                                const char *past)
{
    const uint8_t *w = d->buf + pos;
    uint64_t v = abi_be64(w + 24);
    if ((abi_be64(w) | abi_be64(w + 8) | abi_be64(w + 16)) || v > limit) {
        char at[160], hx[67];
        word_hex(hx, w);
        return ferry_fail(FERRY_EINVAL, "abi: %s %s of %s %s (data is %zu bytes)", what, hx, where(d, at, sizeof at),
                          past, d->len);
    }
    *out = (size_t)v;
    return FERRY_OK;
}

static enum ferry_err need(struct dec *d, size_t pos, size_t n, const char *what)
{
    if (pos > d->len || n > d->len - pos) {
        char at[160];
        return ferry_fail(FERRY_EINVAL, "abi: %s of %s at offset %zu runs past the end (data is %zu bytes)", what,
                          where(d, at, sizeof at), pos, d->len);
    }
    return FERRY_OK;
}

static enum ferry_err count_nodes(struct dec *d, size_t n)
{
    if (d->nodes > ABI_MAX_NODES || n > ABI_MAX_NODES - d->nodes) {
        char at[160];
        return ferry_fail(FERRY_ERANGE, "abi: %s would make the value larger than %u nodes (aliased offsets?)",
                          where(d, at, sizeof at), ABI_MAX_NODES);
    }
    d->nodes += n;
    return FERRY_OK;
}

static enum ferry_err dec_value(struct dec *d, const struct abi_type *t, size_t pos, struct abi_value *out);

/* Decodes `count` children of list type t whose head starts at base. items (indexed through map
 * when given) receives them, or is NULL while counting. When shallow, arrays and tuples are
 * validated and left ENCODED. */
static enum ferry_err dec_list(struct dec *d, const struct abi_type *t, size_t count, size_t base,
                               struct abi_value *items, const size_t *map, bool shallow)
{
    enum ferry_err e;
    size_t region = t->kind == ABI_DYN_ARRAY ? count * t->elem->head : t->inner;
    e = need(d, base, region, "the head");
    if (e)
        return e;
    size_t hp = base;
    for (size_t i = 0; i < count; i++) {
        const struct abi_type *ct = abi_child(t, i);
        struct abi_value *out = items ? &items[map ? map[i] : i] : NULL;
        size_t pos = hp;
        d->path[d->depth] = i;
        d->path_array[d->depth] = t->kind != ABI_TUPLE;
        d->depth++;
        if (ct->dynamic) {
            size_t off;
            e = read_size(d, hp, d->len - base, &off, "offset", "points past the end");
            if (e)
                return e;
            pos = base + off;
        }
        if (shallow && ct->kind >= ABI_ARRAY) {
            e = dec_value(d, ct, pos, NULL);
            if (!e && out) {
                out->type = ct;
                out->form = ABI_FORM_ENCODED;
                out->u.bytes.ptr = d->buf + pos;
                out->u.bytes.len = d->len - pos;
            }
        } else {
            e = dec_value(d, ct, pos, out);
        }
        if (e)
            return e;
        d->depth--;
        hp += ct->head;
    }
    return FERRY_OK;
}

/* Decodes the value of type t whose encoding starts at pos (its tail, when dynamic). */
static enum ferry_err dec_value(struct dec *d, const struct abi_type *t, size_t pos, struct abi_value *out)
{
    enum ferry_err e;
    size_t n, count;
    switch (t->kind) {
    case ABI_UINT:
    case ABI_INT:
    case ABI_ADDRESS:
    case ABI_BOOL:
    case ABI_FIXED_BYTES:
        e = need(d, pos, 32, "the word");
        if (e)
            return e;
        if (!abi_word_valid(t, d->buf + pos)) {
            char at[160], ty[48], hx[67];
            word_hex(hx, d->buf + pos);
            return ferry_fail(FERRY_EINVAL, "abi: %s at offset %zu is not a valid %s word: %s", where(d, at, sizeof at),
                              pos, abi_type_str(t, ty, sizeof ty), hx);
        }
        if (out) {
            out->type = t;
            out->form = ABI_FORM_VALUE;
            memcpy(out->u.word, d->buf + pos, 32);
        }
        return FERRY_OK;
    case ABI_BYTES:
    case ABI_STRING: {
        e = need(d, pos, 32, "the length");
        if (e)
            return e;
        size_t start = pos + 32;
        e = read_size(d, pos, d->len - start, &n, "length", "exceeds the data after it");
        if (e)
            return e;
        size_t padded = n + (32 - n % 32) % 32;
        e = need(d, start, padded, "the padding");
        if (e)
            return e;
        for (size_t i = n; i < padded; i++) {
            if (d->buf[start + i]) {
                char at[160];
                return ferry_fail(FERRY_EINVAL, "abi: non-zero padding byte at offset %zu of %s", start + i,
                                  where(d, at, sizeof at));
            }
        }
        if (out) {
            out->type = t;
            out->form = ABI_FORM_VALUE;
            out->u.bytes.ptr = d->buf + start;
            out->u.bytes.len = n;
        }
        return FERRY_OK;
    }
    case ABI_DYN_ARRAY:
        e = need(d, pos, 32, "the array length");
        if (e)
            return e;
        if (t->elem->head == 0)
            return ferry_fail(FERRY_EINVAL, "abi: array of empty tuples");
        /* Every element takes at least its head in the data, which bounds any honest count. */
        e = read_size(d, pos, (d->len - pos - 32) / t->elem->head, &count, "array length", "exceeds the data");
        if (e)
            return e;
        pos += 32;
        break;
    case ABI_ARRAY:
    case ABI_TUPLE:
        count = t->count;
        break;
    default:
        return ferry_fail(FERRY_EINVAL, "abi: unknown type kind %d", (int)t->kind);
    }
    e = count_nodes(d, count);
    if (e)
        return e;
    struct abi_value *items = NULL;
    if (out) {
        if (count > d->avail - d->used)
            return ferry_fail(FERRY_EINVAL, "abi: internal error: node pool exhausted");
        items = d->pool + d->used;
        d->used += count;
        out->type = t;
        out->form = ABI_FORM_VALUE;
        out->u.list.items = items;
        out->u.list.count = count;
    }
    return dec_list(d, t, count, pos, items, NULL, false);
}

/* Decodes a parameter list of type t (a tuple's members, or t itself as the only parameter). */
static enum ferry_err dec_params(struct dec *d, const struct abi_type *t, struct abi_value *out)
{
    if (t->kind == ABI_TUPLE)
        return dec_value(d, t, 0, out);
    size_t pos = 0;
    if (t->dynamic) {
        enum ferry_err e = need(d, 0, 32, "the offset");
        if (!e)
            e = read_size(d, 0, d->len, &pos, "offset", "points past the end");
        if (e)
            return e;
    }
    return dec_value(d, t, pos, out);
}

/* Runs dec_params twice: once to validate and count, once to fill one allocation. */
static enum ferry_err decode_tree(struct abi_value **out, const struct abi_type *t, const uint8_t *data, size_t n)
{
    struct dec d = {.buf = data, .len = n, .nodes = 1, .top = t};
    *out = NULL;
    if (!data && n)
        return ferry_fail(FERRY_EINVAL, "abi: no data");
    enum ferry_err e = dec_params(&d, t, NULL);
    if (e)
        return e;
    struct abi_value *tree;
    e = abi_tree_alloc(&tree, d.nodes, 0, NULL);
    if (e)
        return e;
    struct dec f = {.buf = data, .len = n, .nodes = 1, .top = t, .pool = tree, .used = 1, .avail = d.nodes};
    e = dec_params(&f, t, tree);
    if (e) {
        free(tree);
        return e;
    }
    *out = tree;
    return FERRY_OK;
}

enum ferry_err abi_decode(struct abi_value **out, const struct abi_type *t, const uint8_t *data, size_t n)
{
    return decode_tree(out, t, data, n);
}

enum ferry_err abi_calldata_decode(struct abi_value **out, const struct abi_sig *fn, const uint8_t *data, size_t n)
{
    *out = NULL;
    if (n < 4)
        return ferry_fail(FERRY_EINVAL, "abi: calldata of %zu bytes has no selector", n);
    if (memcmp(data, fn->hash, 4) != 0)
        return ferry_fail(FERRY_EINVAL, "abi: selector 0x%02x%02x%02x%02x is not %s's (0x%02x%02x%02x%02x)", data[0],
                          data[1], data[2], data[3], fn->canonical, fn->hash[0], fn->hash[1], fn->hash[2],
                          fn->hash[3]);
    return decode_tree(out, fn->params, data + 4, n - 4);
}

enum ferry_err abi_decode_fields(struct abi_value *fields, const struct abi_type *tuple, const uint8_t *data,
                                 size_t n)
{
    if (tuple->kind != ABI_TUPLE)
        return ferry_fail(FERRY_EINVAL, "abi: abi_decode_fields needs a tuple type");
    if (!data && n)
        return ferry_fail(FERRY_EINVAL, "abi: no data");
    struct dec d = {.buf = data, .len = n, .top = tuple};
    return dec_list(&d, tuple, tuple->count, 0, fields, NULL, true);
}

enum ferry_err abi_value_expand(struct abi_value **out, const struct abi_value *v)
{
    *out = NULL;
    if (v->form != ABI_FORM_ENCODED) {
        enum ferry_err e = abi_tree_alloc(out, 1, 0, NULL);
        if (!e)
            **out = *v;
        return e;
    }
    const struct abi_type *t = v->type;
    struct dec d = {.buf = v->u.bytes.ptr, .len = v->u.bytes.len, .nodes = 1};
    enum ferry_err e = dec_value(&d, t, 0, NULL);
    if (e)
        return e;
    struct abi_value *tree;
    e = abi_tree_alloc(&tree, d.nodes, 0, NULL);
    if (e)
        return e;
    struct dec f = {.buf = v->u.bytes.ptr, .len = v->u.bytes.len, .nodes = 1, .pool = tree, .used = 1,
                    .avail = d.nodes};
    e = dec_value(&f, t, 0, tree);
    if (e) {
        free(tree);
        return e;
    }
    *out = tree;
    return FERRY_OK;
}

/* ---------------------------------------------------------------- events */

bool abi_event_matches(const struct abi_sig *ev, const uint8_t (*topics)[32], size_t n_topics)
{
    if (ev->anonymous)
        return n_topics == ev->n_indexed;
    return n_topics == ev->n_indexed + 1 && memcmp(topics[0], ev->hash, 32) == 0;
}

/* Checks the topics and fills the indexed parameters of fields. */
static enum ferry_err event_topics(struct abi_value *fields, const struct abi_sig *ev, const uint8_t (*topics)[32],
                                   size_t n_topics)
{
    size_t first = ev->anonymous ? 0 : 1;
    if (n_topics != first + ev->n_indexed)
        return ferry_fail(FERRY_EINVAL, "abi: event %s has %zu topics, the log has %zu", ev->canonical,
                          first + ev->n_indexed, n_topics);
    if (first && memcmp(topics[0], ev->hash, 32) != 0) {
        char hx[67];
        word_hex(hx, topics[0]);
        return ferry_fail(FERRY_EINVAL, "abi: topic0 %s is not %s's", hx, ev->canonical);
    }
    if (!fields)
        return FERRY_OK;
    size_t k = first;
    for (size_t i = 0; i < ev->params->count; i++) {
        const struct abi_type *t = ev->params->members[i];
        if (!t->indexed)
            continue;
        struct abi_value *f = &fields[i];
        f->type = t;
        memcpy(f->u.word, topics[k], 32);
        if (abi_is_elementary_static(t)) {
            f->form = ABI_FORM_VALUE;
            if (!abi_word_valid(t, topics[k])) {
                char ty[48], hx[67];
                word_hex(hx, topics[k]);
                return ferry_fail(FERRY_EINVAL, "abi: topic %zu (field %zu%s%s%s) is not a valid %s word: %s", k, i,
                                  t->name ? " (" : "", t->name ? t->name : "", t->name ? ")" : "",
                                  abi_type_str(t, ty, sizeof ty), hx);
            }
        } else {
            f->form = ABI_FORM_HASH;
        }
        k++;
    }
    return FERRY_OK;
}

enum ferry_err abi_event_decode_fields(struct abi_value *fields, const struct abi_sig *ev,
                                       const uint8_t (*topics)[32], size_t n_topics, const uint8_t *data, size_t n)
{
    enum ferry_err e = event_topics(fields, ev, topics, n_topics);
    if (e)
        return e;
    if (!data && n)
        return ferry_fail(FERRY_EINVAL, "abi: no data");
    struct dec d = {.buf = data, .len = n, .top = ev->params, .top_map = ev->data_param};
    e = dec_list(&d, ev->data, ev->data->count, 0, fields, ev->data_param, true);
    if (e)
        return ferry_fail_ctx(e, "event %s", ev->name);
    return FERRY_OK;
}

enum ferry_err abi_event_decode(struct abi_value **out, const struct abi_sig *ev, const uint8_t (*topics)[32],
                                size_t n_topics, const uint8_t *data, size_t n)
{
    *out = NULL;
    if (!data && n)
        return ferry_fail(FERRY_EINVAL, "abi: no data");
    enum ferry_err e = event_topics(NULL, ev, topics, n_topics);
    if (e)
        return e;
    size_t np = ev->params->count;
    struct dec d = {.buf = data, .len = n, .nodes = 1 + np, .top = ev->params, .top_map = ev->data_param};
    e = dec_list(&d, ev->data, ev->data->count, 0, NULL, ev->data_param, false);
    if (e)
        return ferry_fail_ctx(e, "event %s", ev->name);
    struct abi_value *tree;
    e = abi_tree_alloc(&tree, d.nodes, 0, NULL);
    if (e)
        return e;
    tree->type = ev->params;
    tree->form = ABI_FORM_VALUE;
    tree->u.list.items = tree + 1;
    tree->u.list.count = np;
    e = event_topics(tree + 1, ev, topics, n_topics);
    if (!e) {
        struct dec f = {.buf = data, .len = n, .nodes = 1 + np, .pool = tree, .used = 1 + np, .avail = d.nodes,
                        .top = ev->params, .top_map = ev->data_param};
        e = dec_list(&f, ev->data, ev->data->count, 0, tree + 1, ev->data_param, false);
        if (e)
            e = ferry_fail_ctx(e, "event %s", ev->name);
    }
    if (e) {
        free(tree);
        return e;
    }
    *out = tree;
    return FERRY_OK;
}

/* ---------------------------------------------------------------- encoding */

static enum ferry_err enc_value(struct fbuf *b, const struct abi_value *v, const struct abi_type *t);

static enum ferry_err type_mismatch(const struct abi_type *want, const struct abi_type *got)
{
    char a[64], c[64];
    return ferry_fail(FERRY_EINVAL, "abi: expected a value of type %s, got %s", abi_type_str(want, a, sizeof a),
                      got ? abi_type_str(got, c, sizeof c) : "an untyped value");
}

/* Heads, then tails with their offsets patched into the heads. */
static enum ferry_err enc_list(struct fbuf *b, const struct abi_type *t, const struct abi_value *items, size_t count)
{
    enum ferry_err e;
    size_t start = b->len;
    uint8_t *slot;
    for (size_t i = 0; i < count; i++) {
        const struct abi_type *ct = abi_child(t, i);
        if (ct->dynamic)
            e = fbuf_grow_zero(b, 32, &slot);
        else
            e = enc_value(b, &items[i], ct);
        if (e)
            return e;
    }
    size_t hp = start;
    for (size_t i = 0; i < count; i++) {
        const struct abi_type *ct = abi_child(t, i);
        if (ct->dynamic) {
            uint64_t off = b->len - start;
            for (int k = 0; k < 8; k++)
                b->data[hp + 31 - (size_t)k] = (uint8_t)(off >> (8 * k));
            e = enc_value(b, &items[i], ct);
            if (e)
                return e;
        }
        hp += ct->head;
    }
    return FERRY_OK;
}

static enum ferry_err enc_value(struct fbuf *b, const struct abi_value *v, const struct abi_type *t)
{
    enum ferry_err e;
    if (!v->type || !abi_type_equal(v->type, t))
        return type_mismatch(t, v->type);
    if (v->form != ABI_FORM_VALUE)
        return ferry_fail(FERRY_EINVAL, "abi: cannot encode a %s value",
                          v->form == ABI_FORM_HASH ? "hashed (indexed)" : "still encoded (expand it first)");
    if (t->kind >= ABI_ARRAY && v->u.list.count && !v->u.list.items)
        return ferry_fail(FERRY_EINVAL, "abi: a list value of %zu items has no items", v->u.list.count);
    switch (t->kind) {
    case ABI_UINT:
    case ABI_INT:
    case ABI_ADDRESS:
    case ABI_BOOL:
    case ABI_FIXED_BYTES:
        if (!abi_word_valid(t, v->u.word)) {
            char ty[48], hx[67];
            word_hex(hx, v->u.word);
            return ferry_fail(FERRY_ERANGE, "abi: word %s is not a valid %s", hx, abi_type_str(t, ty, sizeof ty));
        }
        return fbuf_add(b, v->u.word, 32);
    case ABI_BYTES:
    case ABI_STRING: {
        uint8_t w[32] = {0}, *pad;
        size_t n = v->u.bytes.len;
        if (n && !v->u.bytes.ptr)
            return ferry_fail(FERRY_EINVAL, "abi: bytes value of length %zu has no data", n);
        for (int k = 0; k < 8; k++)
            w[31 - k] = (uint8_t)((uint64_t)n >> (8 * k));
        e = fbuf_add(b, w, 32);
        if (!e)
            e = fbuf_add(b, v->u.bytes.ptr, n);
        if (!e)
            e = fbuf_grow_zero(b, (32 - n % 32) % 32, &pad);
        return e;
    }
    case ABI_ARRAY:
    case ABI_TUPLE:
        if (v->u.list.count != t->count) {
            char ty[64];
            return ferry_fail(FERRY_EINVAL, "abi: %s needs %zu values, got %zu", abi_type_str(t, ty, sizeof ty),
                              t->count, v->u.list.count);
        }
        return enc_list(b, t, v->u.list.items, t->count);
    case ABI_DYN_ARRAY: {
        uint8_t w[32] = {0};
        uint64_t n = v->u.list.count;
        for (int k = 0; k < 8; k++)
            w[31 - k] = (uint8_t)(n >> (8 * k));
        e = fbuf_add(b, w, 32);
        if (!e)
            e = enc_list(b, t, v->u.list.items, v->u.list.count);
        return e;
    }
    }
    return ferry_fail(FERRY_EINVAL, "abi: unknown type kind %d", (int)t->kind);
}

static enum ferry_err enc_params(struct fbuf *b, const struct abi_value *v)
{
    if (!v->type)
        return type_mismatch(NULL, NULL);
    if (v->type->kind == ABI_TUPLE || !v->type->dynamic)
        return enc_value(b, v, v->type);
    uint8_t w[32] = {0};
    w[31] = 32;
    enum ferry_err e = fbuf_add(b, w, 32);
    return e ? e : enc_value(b, v, v->type);
}

enum ferry_err abi_encode(struct fbuf *out, const struct abi_value *v)
{
    enum ferry_err e = enc_params(out, v);
    if (e)
        fbuf_free(out);
    return e;
}

enum ferry_err abi_calldata_encode(struct fbuf *out, const struct abi_sig *fn, const struct abi_value *args)
{
    enum ferry_err e = fbuf_add(out, fn->hash, 4);
    if (e)
        return e;
    if (!args->type || !abi_type_equal(args->type, fn->params)) {
        fbuf_free(out);
        return type_mismatch(fn->params, args->type);
    }
    e = enc_params(out, args);
    if (e) {
        fbuf_free(out);
        return ferry_fail_ctx(e, "%s", fn->canonical);
    }
    return FERRY_OK;
}

/* ---------------------------------------------------------------- getters and setters */

static enum ferry_err wrong_type(const struct abi_value *v, const char *want)
{
    char ty[64];
    if (!v->type)
        return ferry_fail(FERRY_EINVAL, "abi: expected %s, got an untyped value", want);
    return ferry_fail(FERRY_EINVAL, "abi: expected %s, got %s%s%s%s%s", want,
                      v->form == ABI_FORM_HASH ? "the hash of an indexed " : "", abi_type_str(v->type, ty, sizeof ty),
                      v->type->name ? " (" : "", v->type->name ? v->type->name : "", v->type->name ? ")" : "");
}

static bool is_value(const struct abi_value *v, enum abi_kind k)
{
    return v->type && v->type->kind == k && v->form == ABI_FORM_VALUE;
}

static bool negative(const struct abi_value *v)
{
    return v->type->kind == ABI_INT && (v->u.word[0] & 0x80);
}

enum ferry_err abi_get_u256(const struct abi_value *v, u256 *out)
{
    *out = u256_from_u64(0);
    if (!is_value(v, ABI_UINT) && !is_value(v, ABI_INT))
        return wrong_type(v, "an integer");
    if (negative(v))
        return ferry_fail(FERRY_ERANGE, "abi: expected a non-negative integer, got a negative %s",
                          v->type->name ? v->type->name : "value");
    *out = abi_load_word(v->u.word);
    return FERRY_OK;
}

enum ferry_err abi_get_u64(const struct abi_value *v, uint64_t *out)
{
    u256 x;
    *out = 0;
    enum ferry_err e = abi_get_u256(v, &x);
    if (e)
        return e;
    if (!u256_fits_u64(x)) {
        char dec[U256_DEC_MAX];
        u256_to_dec(dec, x);
        return ferry_fail(FERRY_ERANGE, "abi: %s%s%s%s does not fit in 64 bits", dec, v->type->name ? " (" : "",
                          v->type->name ? v->type->name : "", v->type->name ? ")" : "");
    }
    *out = x.w[0];
    return FERRY_OK;
}

enum ferry_err abi_get_i64(const struct abi_value *v, int64_t *out)
{
    *out = 0;
    if (!is_value(v, ABI_UINT) && !is_value(v, ABI_INT))
        return wrong_type(v, "an integer");
    const uint8_t *w = v->u.word;
    uint8_t fill = negative(v) ? 0xff : 0;
    bool ok = (w[24] & 0x80) == (fill & 0x80);
    for (size_t i = 0; i < 24; i++)
        ok &= w[i] == fill;
    if (!ok)
        return ferry_fail(FERRY_ERANGE, "abi: integer%s%s%s does not fit in a signed 64-bit value",
                          v->type->name ? " (" : "", v->type->name ? v->type->name : "", v->type->name ? ")" : "");
    uint64_t x = 0;
    for (size_t i = 24; i < 32; i++)
        x = x << 8 | w[i];
    memcpy(out, &x, sizeof x); /* two's complement, as on every platform Ferry runs on */
    return FERRY_OK;
}

enum ferry_err abi_get_address(const struct abi_value *v, uint8_t out[20])
{
    memset(out, 0, 20);
    if (!is_value(v, ABI_ADDRESS))
        return wrong_type(v, "an address");
    memcpy(out, v->u.word + 12, 20);
    return FERRY_OK;
}

enum ferry_err abi_get_bool(const struct abi_value *v, bool *out)
{
    *out = false;
    if (!is_value(v, ABI_BOOL))
        return wrong_type(v, "a bool");
    *out = v->u.word[31] != 0;
    return FERRY_OK;
}

enum ferry_err abi_get_bytes32(const struct abi_value *v, uint8_t out[32])
{
    memset(out, 0, 32);
    if (!is_value(v, ABI_FIXED_BYTES) && !(v->type && v->form == ABI_FORM_HASH))
        return wrong_type(v, "bytesN or an indexed topic");
    memcpy(out, v->u.word, 32);
    return FERRY_OK;
}

enum ferry_err abi_get_bytes(const struct abi_value *v, const uint8_t **ptr, size_t *len)
{
    *ptr = NULL;
    *len = 0;
    if (is_value(v, ABI_FIXED_BYTES)) {
        *ptr = v->u.word;
        *len = v->type->size;
        return FERRY_OK;
    }
    if (!is_value(v, ABI_BYTES) && !is_value(v, ABI_STRING))
        return wrong_type(v, "bytes or a string");
    *ptr = v->u.bytes.ptr;
    *len = v->u.bytes.len;
    return FERRY_OK;
}

static enum ferry_err set_word(struct abi_value *v, const struct abi_type *t, const uint8_t w[32])
{
    if (!abi_is_elementary_static(t) || !abi_word_valid(t, w)) {
        char ty[48], hx[67];
        word_hex(hx, w);
        return ferry_fail(abi_is_elementary_static(t) ? FERRY_ERANGE : FERRY_EINVAL, "abi: %s cannot hold %s",
                          abi_type_str(t, ty, sizeof ty), hx);
    }
    v->type = t;
    v->form = ABI_FORM_VALUE;
    memcpy(v->u.word, w, 32);
    return FERRY_OK;
}

enum ferry_err abi_set_uint(struct abi_value *v, const struct abi_type *t, u256 x)
{
    uint8_t w[32];
    u256_to_be(w, x);
    if (t->kind != ABI_UINT && t->kind != ABI_INT)
        return ferry_fail(FERRY_EINVAL, "abi: abi_set_uint on a non-integer type");
    if (t->kind == ABI_INT && (w[32 - t->size / 8] & 0x80))
        return ferry_fail(FERRY_ERANGE, "abi: value does not fit int%u", t->size);
    return set_word(v, t, w);
}

enum ferry_err abi_set_int(struct abi_value *v, const struct abi_type *t, int64_t x)
{
    uint8_t w[32];
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    memset(w, x < 0 ? 0xff : 0, 24);
    for (int k = 0; k < 8; k++)
        w[31 - k] = (uint8_t)(u >> (8 * k));
    if (t->kind != ABI_INT && !(t->kind == ABI_UINT && x >= 0))
        return ferry_fail(FERRY_EINVAL, "abi: abi_set_int needs an intN type (or uintN and x >= 0)");
    return set_word(v, t, w);
}

enum ferry_err abi_set_address(struct abi_value *v, const struct abi_type *t, const uint8_t addr[20])
{
    uint8_t w[32] = {0};
    if (t->kind != ABI_ADDRESS)
        return ferry_fail(FERRY_EINVAL, "abi: abi_set_address on a non-address type");
    memcpy(w + 12, addr, 20);
    return set_word(v, t, w);
}

enum ferry_err abi_set_bool(struct abi_value *v, const struct abi_type *t, bool x)
{
    uint8_t w[32] = {0};
    if (t->kind != ABI_BOOL)
        return ferry_fail(FERRY_EINVAL, "abi: abi_set_bool on a non-bool type");
    w[31] = x;
    return set_word(v, t, w);
}

enum ferry_err abi_set_bytes(struct abi_value *v, const struct abi_type *t, const uint8_t *p, size_t n)
{
    if (t->kind == ABI_FIXED_BYTES) {
        uint8_t w[32] = {0};
        if (n != t->size)
            return ferry_fail(FERRY_EINVAL, "abi: bytes%u needs %u bytes, got %zu", t->size, t->size, n);
        memcpy(w, p, n);
        return set_word(v, t, w);
    }
    if (t->kind != ABI_BYTES && t->kind != ABI_STRING)
        return ferry_fail(FERRY_EINVAL, "abi: abi_set_bytes needs bytesN, bytes or string");
    if (n && !p)
        return ferry_fail(FERRY_EINVAL, "abi: abi_set_bytes without data");
    v->type = t;
    v->form = ABI_FORM_VALUE;
    v->u.bytes.ptr = p;
    v->u.bytes.len = n;
    return FERRY_OK;
}

enum ferry_err abi_set_list(struct abi_value *v, const struct abi_type *t, struct abi_value *items, size_t count)
{
    if (t->kind < ABI_ARRAY)
        return ferry_fail(FERRY_EINVAL, "abi: abi_set_list needs an array or tuple type");
    if (t->kind != ABI_DYN_ARRAY && count != t->count)
        return ferry_fail(FERRY_EINVAL, "abi: the type has %zu members, got %zu", t->count, count);
    if (count && !items)
        return ferry_fail(FERRY_EINVAL, "abi: abi_set_list without items");
    v->type = t;
    v->form = ABI_FORM_VALUE;
    v->u.list.items = items;
    v->u.list.count = count;
    return FERRY_OK;
}
