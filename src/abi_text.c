/* The text form of ABI values (cast's syntax): parsing, formatting, equality. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi_int.h"
#include "ferry/address.h"
#include "ferry/hex.h"

/* Parsing runs twice over the same text: the first pass validates and counts nodes and bytes,
 * the second fills one allocation of exactly that size. */
struct vparser {
    const char *s;
    size_t pos;
    size_t nodes, bytes;         /* pass 1: counted */
    struct abi_value *pool;      /* pass 2: NULL during pass 1 */
    size_t used, avail;
    uint8_t *bpool;
    size_t bused, bavail;
};

static enum ferry_err verr(const struct vparser *p, enum ferry_err code, const char *what)
{
    return ferry_fail(code, "abi: %s at position %zu of \"%.80s%s\"", what, p->pos, p->s,
                      strlen(p->s) > 80 ? "..." : "");
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool is_delim(char c) { return !c || is_space(c) || c == ',' || c == '[' || c == ']' || c == '(' || c == ')'; }

static void skip_space(struct vparser *p)
{
    while (is_space(p->s[p->pos]))
        p->pos++;
}

/* The bare token at p->pos (a number, a hex string, true/false). */
static size_t token(const struct vparser *p)
{
    size_t n = 0;
    while (!is_delim(p->s[p->pos + n]) && p->s[p->pos + n] != '"')
        n++;
    return n;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static enum ferry_err parse_int(struct vparser *p, const struct abi_type *t, size_t n, uint8_t w[32])
{
    const char *tok = p->s + p->pos;
    bool neg = n && tok[0] == '-', fits = true;
    size_t i = neg;
    u256 x = u256_from_u64(0);
    if (neg && t->kind == ABI_UINT)
        return verr(p, FERRY_ERANGE, "negative value for an unsigned type");
    if (n - i > 2 && tok[i] == '0' && (tok[i + 1] == 'x' || tok[i + 1] == 'X')) {
        i += 2;
        if (n - i > 64)
            return verr(p, FERRY_ERANGE, "hex integer wider than 256 bits");
        for (; i < n; i++) {
            int v = nibble(tok[i]);
            if (v < 0)
                return verr(p, FERRY_EINVAL, "bad hex digit in an integer");
            x = u256_shl(x, 4);
            x.w[0] |= (uint64_t)v;
        }
    } else {
        char dec[U256_DEC_MAX + 1];
        if (n - i == 0 || n - i > U256_DEC_MAX - 1)
            return verr(p, n - i ? FERRY_ERANGE : FERRY_EINVAL, n - i ? "integer too long" : "expected an integer");
        memcpy(dec, tok + i, n - i);
        dec[n - i] = 0;
        enum ferry_err e = u256_from_dec(&x, dec);
        fits = e != FERRY_ERANGE; /* past 2^256 - 1: out of range for every type */
        if (e && fits)
            return verr(p, e, "not an integer (decimal digits with no leading zero, or 0x and hex digits)");
    }
    unsigned bits = u256_bitlen(x);
    bool ok;
    if (!fits)
        ok = false;
    else if (t->kind == ABI_UINT)
        ok = bits <= t->size;
    else if (!neg)
        ok = bits < t->size;
    else /* the most negative value, -2^(N-1), has no positive counterpart */
        ok = bits < t->size || u256_cmp(x, u256_shl(u256_from_u64(1), t->size - 1)) == 0;
    if (!ok) {
        char msg[64];
        snprintf(msg, sizeof msg, "value out of range for %s%u", t->kind == ABI_UINT ? "uint" : "int", t->size);
        return verr(p, FERRY_ERANGE, msg);
    }
    if (neg)
        u256_sub(&x, u256_from_u64(0), x); /* wraps on purpose: two's complement */
    u256_to_be(w, x);
    return FERRY_OK;
}

/* A quoted string with p->pos at the opening quote. Writes the bytes to out (when not NULL) and
 * their count to *len. */
static enum ferry_err parse_quoted(struct vparser *p, uint8_t *out, size_t *len)
{
    size_t n = 0;
    p->pos++;
    for (;;) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (!c)
            return verr(p, FERRY_EINVAL, "unterminated string");
        p->pos++;
        if (c == '"')
            break;
        if (c != '\\') {
            if (out)
                out[n] = c;
            n++;
            continue;
        }
        char e = p->s[p->pos++];
        const char *simple = "\"\"\\\\n\nr\rt\t0\0''";
        const char *m = NULL;
        for (size_t k = 0; k < 14; k += 2)
            if (e && simple[k] == e)
                m = simple + k + 1;
        if (m) {
            if (out)
                out[n] = (uint8_t)*m;
            n++;
            continue;
        }
        if (e != 'u' || p->s[p->pos] != '{') {
            p->pos--;
            return verr(p, FERRY_EINVAL, "unknown escape in a string (use \\\" \\\\ \\n \\r \\t \\0 or \\u{hex})");
        }
        p->pos++;
        uint32_t cp = 0;
        size_t digits = 0;
        while (nibble(p->s[p->pos]) >= 0 && digits < 6) {
            cp = cp << 4 | (uint32_t)nibble(p->s[p->pos++]);
            digits++;
        }
        if (!digits || p->s[p->pos] != '}' || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return verr(p, FERRY_EINVAL, "bad \\u{...} escape");
        p->pos++;
        uint8_t u[4];
        size_t k;
        if (cp < 0x80) {
            u[0] = (uint8_t)cp;
            k = 1;
        } else if (cp < 0x800) {
            u[0] = (uint8_t)(0xc0 | cp >> 6);
            u[1] = (uint8_t)(0x80 | (cp & 0x3f));
            k = 2;
        } else if (cp < 0x10000) {
            u[0] = (uint8_t)(0xe0 | cp >> 12);
            u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
            u[2] = (uint8_t)(0x80 | (cp & 0x3f));
            k = 3;
        } else {
            u[0] = (uint8_t)(0xf0 | cp >> 18);
            u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
            u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
            u[3] = (uint8_t)(0x80 | (cp & 0x3f));
            k = 4;
        }
        if (out)
            memcpy(out + n, u, k);
        n += k;
    }
    *len = n;
    return FERRY_OK;
}

/* Items of the list starting after p->pos's '[' or '(' (pass 2 needs the count before it
 * allocates them; pass 1 has already validated the text). */
static size_t count_items(const struct vparser *p)
{
    const char *s = p->s + p->pos + 1;
    size_t depth = 0, items = 0;
    bool any = false, str = false;
    for (; *s; s++) {
        if (str) {
            if (*s == '\\' && s[1])
                s++;
            else if (*s == '"')
                str = false;
            continue;
        }
        if (*s == '"') {
            str = any = true;
        } else if (*s == '[' || *s == '(') {
            depth++;
            any = true;
        } else if (*s == ']' || *s == ')') {
            if (depth == 0)
                break;
            depth--;
        } else if (*s == ',' && depth == 0) {
            items++;
        } else if (!is_space(*s)) {
            any = true;
        }
    }
    return any ? items + 1 : 0;
}

static enum ferry_err alloc_nodes(struct vparser *p, size_t n, struct abi_value **items)
{
    *items = NULL;
    if (!p->pool) {
        if (p->nodes > ABI_MAX_NODES || n > ABI_MAX_NODES - p->nodes)
            return verr(p, FERRY_ERANGE, "value has too many elements");
        p->nodes += n;
        return FERRY_OK;
    }
    if (n > p->avail - p->used)
        return verr(p, FERRY_EINVAL, "internal error: node pool exhausted");
    *items = p->pool + p->used;
    p->used += n;
    return FERRY_OK;
}

static enum ferry_err alloc_bytes(struct vparser *p, size_t n, uint8_t **out)
{
    *out = NULL;
    if (!p->pool) {
        if (n > SIZE_MAX / 4 - p->bytes)
            return verr(p, FERRY_ERANGE, "value too large");
        p->bytes += n;
        return FERRY_OK;
    }
    if (n > p->bavail - p->bused)
        return verr(p, FERRY_EINVAL, "internal error: byte pool exhausted");
    *out = p->bpool + p->bused;
    p->bused += n;
    return FERRY_OK;
}

static enum ferry_err parse_value(struct vparser *p, const struct abi_type *t, struct abi_value *out);

static enum ferry_err parse_list(struct vparser *p, const struct abi_type *t, struct abi_value *out)
{
    char open = t->kind == ABI_TUPLE ? '(' : '[', close = t->kind == ABI_TUPLE ? ')' : ']';
    enum ferry_err e;
    if (p->s[p->pos] != open) {
        char msg[32];
        snprintf(msg, sizeof msg, "expected '%c'", open);
        return verr(p, FERRY_EINVAL, msg);
    }
    size_t count = t->kind != ABI_DYN_ARRAY ? t->count : p->pool ? count_items(p) : 0;
    struct abi_value *items = NULL;
    if (p->pool || t->kind != ABI_DYN_ARRAY) {
        e = alloc_nodes(p, count, &items);
        if (e)
            return e;
    }
    p->pos++;
    skip_space(p);
    size_t i = 0;
    if (p->s[p->pos] != close) {
        for (;; i++) {
            if (t->kind != ABI_DYN_ARRAY && i >= count)
                return verr(p, FERRY_EINVAL, "too many values");
            if (p->pool && i >= count)
                return verr(p, FERRY_EINVAL, "internal error: item count changed");
            e = parse_value(p, abi_child(t, i), items ? &items[i] : NULL);
            if (e)
                return e;
            skip_space(p);
            if (p->s[p->pos] == close)
                break;
            if (p->s[p->pos] != ',') {
                char msg[32];
                snprintf(msg, sizeof msg, "expected ',' or '%c'", close);
                return verr(p, FERRY_EINVAL, msg);
            }
            p->pos++;
        }
        i++;
    }
    p->pos++;
    if (i != count && (p->pool || t->kind != ABI_DYN_ARRAY)) {
        char msg[64];
        snprintf(msg, sizeof msg, "expected %zu values, got %zu", count, i);
        return verr(p, FERRY_EINVAL, msg);
    }
    if (!p->pool && t->kind == ABI_DYN_ARRAY) {
        e = alloc_nodes(p, i, &items);
        if (e)
            return e;
    }
    if (out) {
        out->type = t;
        out->form = ABI_FORM_VALUE;
        out->u.list.items = items;
        out->u.list.count = count;
    }
    return FERRY_OK;
}

static enum ferry_err parse_value(struct vparser *p, const struct abi_type *t, struct abi_value *out)
{
    enum ferry_err e;
    uint8_t w[32] = {0};
    skip_space(p);
    size_t n = token(p);
    const char *tok = p->s + p->pos;
    switch (t->kind) {
    case ABI_UINT:
    case ABI_INT:
        e = parse_int(p, t, n, w);
        break;
    case ABI_ADDRESS: {
        char a[ADDRESS_STR];
        if (n != ADDRESS_STR - 1)
            return verr(p, FERRY_EINVAL, "expected an address (0x and 40 hex digits)");
        memcpy(a, tok, n);
        a[n] = 0;
        e = address_parse(w + 12, a);
        if (e)
            return ferry_fail_ctx(e, "abi: position %zu", p->pos);
        break;
    }
    case ABI_BOOL:
        if (n == 4 && memcmp(tok, "true", 4) == 0)
            w[31] = 1;
        else if (!(n == 5 && memcmp(tok, "false", 5) == 0))
            return verr(p, FERRY_EINVAL, "expected true or false");
        e = FERRY_OK;
        break;
    case ABI_FIXED_BYTES: {
        size_t got;
        e = hex_decode(w, 32, &got, tok, n, HEX_PREFIX_REQUIRED);
        if (!e && got != t->size) {
            char msg[48];
            snprintf(msg, sizeof msg, "bytes%u needs exactly %u bytes, got %zu", t->size, t->size, got);
            return verr(p, FERRY_EINVAL, msg);
        }
        if (e)
            return ferry_fail_ctx(e, "abi: position %zu", p->pos);
        break;
    }
    case ABI_BYTES:
    case ABI_STRING: {
        uint8_t *dst;
        size_t len;
        if (t->kind == ABI_STRING) {
            if (p->s[p->pos] != '"')
                return verr(p, FERRY_EINVAL, "expected a quoted string");
            size_t start = p->pos;
            e = parse_quoted(p, NULL, &len);
            if (!e)
                e = alloc_bytes(p, len, &dst);
            if (!e && dst) {
                p->pos = start;
                e = parse_quoted(p, dst, &len);
            }
        } else {
            if (n < 2 || tok[0] != '0' || (tok[1] != 'x' && tok[1] != 'X'))
                return verr(p, FERRY_EINVAL, "expected 0x and hex digits");
            for (size_t k = 2; k < n; k++) {
                if (nibble(tok[k]) < 0) {
                    p->pos += k;
                    return verr(p, FERRY_EINVAL, "bad hex digit");
                }
            }
            if (n % 2)
                return verr(p, FERRY_EINVAL, "odd number of hex digits");
            len = (n - 2) / 2;
            e = alloc_bytes(p, len, &dst);
            if (!e && dst)
                for (size_t k = 0; k < len; k++)
                    dst[k] = (uint8_t)(nibble(tok[2 + 2 * k]) << 4 | nibble(tok[3 + 2 * k]));
            p->pos += n;
        }
        if (e)
            return e;
        if (out) {
            out->type = t;
            out->form = ABI_FORM_VALUE;
            out->u.bytes.ptr = dst;
            out->u.bytes.len = len;
        }
        return FERRY_OK;
    }
    default:
        return parse_list(p, t, out);
    }
    if (e)
        return e;
    p->pos += n;
    if (out) {
        out->type = t;
        out->form = ABI_FORM_VALUE;
        memcpy(out->u.word, w, 32);
    }
    return FERRY_OK;
}

static enum ferry_err finish_text(struct vparser *p)
{
    skip_space(p);
    if (p->s[p->pos])
        return verr(p, FERRY_EINVAL, "unexpected text after the value");
    return FERRY_OK;
}

enum ferry_err abi_value_parse(struct abi_value **out, const struct abi_type *t, const char *text)
{
    struct vparser p = {.s = text};
    *out = NULL;
    enum ferry_err e = parse_value(&p, t, NULL);
    if (!e)
        e = finish_text(&p);
    if (e)
        return e;
    struct abi_value *tree;
    uint8_t *bytes;
    e = abi_tree_alloc(&tree, 1 + p.nodes, p.bytes, &bytes);
    if (e)
        return e;
    struct vparser f = {.s = text, .pool = tree, .used = 1, .avail = 1 + p.nodes, .bpool = bytes, .bavail = p.bytes};
    e = parse_value(&f, t, tree);
    if (e) {
        free(tree);
        return e;
    }
    *out = tree;
    return FERRY_OK;
}

static bool raw_string(const struct abi_type *t, const char *arg) { return t->kind == ABI_STRING && arg[0] != '"'; }

/* One argument of abi_args_parse; out is NULL in pass 1. */
static enum ferry_err parse_arg(struct vparser *p, const struct abi_type *t, const char *arg, struct abi_value *out)
{
    p->s = arg;
    p->pos = 0;
    if (raw_string(t, arg)) {
        uint8_t *dst;
        size_t n = strlen(arg);
        enum ferry_err e = alloc_bytes(p, n, &dst);
        if (e)
            return e;
        if (out) {
            if (n)
                memcpy(dst, arg, n);
            out->type = t;
            out->form = ABI_FORM_VALUE;
            out->u.bytes.ptr = dst;
            out->u.bytes.len = n;
        }
        return FERRY_OK;
    }
    enum ferry_err e = parse_value(p, t, out);
    return e ? e : finish_text(p);
}

enum ferry_err abi_args_parse(struct abi_value **out, const struct abi_type *tuple, const char *const *args,
                              size_t n_args)
{
    enum ferry_err e;
    *out = NULL;
    if (tuple->kind != ABI_TUPLE)
        return ferry_fail(FERRY_EINVAL, "abi: abi_args_parse needs a tuple type");
    if (n_args != tuple->count)
        return ferry_fail(FERRY_EINVAL, "abi: expected %zu arguments, got %zu", tuple->count, n_args);
    struct vparser p = {.s = ""};
    for (size_t i = 0; i < n_args; i++) {
        e = parse_arg(&p, tuple->members[i], args[i], NULL);
        if (e)
            return ferry_fail_ctx(e, "argument %zu", i);
    }
    struct abi_value *tree;
    uint8_t *bytes;
    e = abi_tree_alloc(&tree, 1 + n_args + p.nodes, p.bytes, &bytes);
    if (e)
        return e;
    struct vparser f = {.s = "", .pool = tree, .used = 1 + n_args, .avail = 1 + n_args + p.nodes, .bpool = bytes,
                        .bavail = p.bytes};
    tree->type = tuple;
    tree->form = ABI_FORM_VALUE;
    tree->u.list.items = tree + 1;
    tree->u.list.count = n_args;
    for (size_t i = 0; i < n_args; i++) {
        e = parse_arg(&f, tuple->members[i], args[i], &tree[1 + i]);
        if (e) {
            free(tree);
            return ferry_fail_ctx(e, "argument %zu", i);
        }
    }
    *out = tree;
    return FERRY_OK;
}

/* ---------------------------------------------------------------- formatting */

static enum ferry_err fmt_string(struct fbuf *b, const uint8_t *s, size_t n)
{
    enum ferry_err e = fbuf_addbyte(b, '"');
    for (size_t i = 0; i < n && !e; i++) {
        uint8_t c = s[i];
        switch (c) {
        case '"':
            e = fbuf_addstr(b, "\\\"");
            break;
        case '\\':
            e = fbuf_addstr(b, "\\\\");
            break;
        case '\n':
            e = fbuf_addstr(b, "\\n");
            break;
        case '\r':
            e = fbuf_addstr(b, "\\r");
            break;
        case '\t':
            e = fbuf_addstr(b, "\\t");
            break;
        case 0:
            e = fbuf_addstr(b, "\\0");
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                e = fbuf_printf(b, "\\u{%x}", c);
            else
                e = fbuf_addbyte(b, c);
        }
    }
    return e ? e : fbuf_addbyte(b, '"');
}

static enum ferry_err fmt_value(struct fbuf *b, const struct abi_value *v, unsigned depth)
{
    enum ferry_err e;
    char txt[U256_DEC_MAX + 1];
    if (!v->type || depth > ABI_MAX_DEPTH)
        return ferry_fail(FERRY_EINVAL, "abi: cannot format an untyped or cyclic value");
    if (v->form == ABI_FORM_HASH)
        return hex_encode_buf(b, v->u.word, 32, true);
    if (v->form == ABI_FORM_ENCODED) {
        struct abi_value *t;
        e = abi_value_expand(&t, v);
        if (e)
            return e;
        e = fmt_value(b, t, depth);
        abi_value_free(t);
        return e;
    }
    const struct abi_type *t = v->type;
    switch (t->kind) {
    case ABI_UINT:
    case ABI_INT: {
        u256 x = u256_from_be32(v->u.word);
        bool neg = t->kind == ABI_INT && (v->u.word[0] & 0x80);
        if (neg)
            u256_sub(&x, u256_from_u64(0), x); /* wraps on purpose: the magnitude */
        txt[0] = '-';
        u256_to_dec(txt + 1, x);
        return fbuf_addstr(b, neg ? txt : txt + 1);
    }
    case ABI_ADDRESS: {
        char a[ADDRESS_STR];
        address_to_checksum(a, v->u.word + 12);
        return fbuf_addstr(b, a);
    }
    case ABI_BOOL:
        return fbuf_addstr(b, v->u.word[31] ? "true" : "false");
    case ABI_FIXED_BYTES:
        return hex_encode_buf(b, v->u.word, t->size, true);
    case ABI_BYTES:
        return hex_encode_buf(b, v->u.bytes.ptr, v->u.bytes.len, true);
    case ABI_STRING:
        return fmt_string(b, v->u.bytes.ptr, v->u.bytes.len);
    case ABI_ARRAY:
    case ABI_DYN_ARRAY:
    case ABI_TUPLE:
        e = fbuf_addbyte(b, t->kind == ABI_TUPLE ? '(' : '[');
        for (size_t i = 0; i < v->u.list.count && !e; i++) {
            if (i)
                e = fbuf_addstr(b, ", ");
            if (!e)
                e = fmt_value(b, &v->u.list.items[i], depth + 1);
        }
        return e ? e : fbuf_addbyte(b, t->kind == ABI_TUPLE ? ')' : ']');
    }
    return ferry_fail(FERRY_EINVAL, "abi: unknown type kind %d", (int)t->kind);
}

enum ferry_err abi_value_format(struct fbuf *out, const struct abi_value *v)
{
    enum ferry_err e = fmt_value(out, v, 0);
    if (e)
        fbuf_free(out);
    return e;
}

/* ---------------------------------------------------------------- equality */

static bool equal(const struct abi_value *a, const struct abi_value *b, unsigned depth)
{
    if (!a->type || !b->type || depth > ABI_MAX_DEPTH)
        return false;
    if (a->form == ABI_FORM_ENCODED || b->form == ABI_FORM_ENCODED) {
        struct abi_value *x = NULL, *y = NULL;
        bool r = abi_value_expand(&x, a) == FERRY_OK && abi_value_expand(&y, b) == FERRY_OK &&
                 x->form != ABI_FORM_ENCODED && y->form != ABI_FORM_ENCODED && equal(x, y, depth);
        abi_value_free(x);
        abi_value_free(y);
        return r;
    }
    if (a->form != b->form || !abi_type_equal(a->type, b->type))
        return false;
    if (a->form == ABI_FORM_HASH || abi_is_elementary_static(a->type))
        return memcmp(a->u.word, b->u.word, 32) == 0;
    if (a->type->kind == ABI_BYTES || a->type->kind == ABI_STRING)
        return a->u.bytes.len == b->u.bytes.len &&
               (a->u.bytes.len == 0 || memcmp(a->u.bytes.ptr, b->u.bytes.ptr, a->u.bytes.len) == 0);
    if (a->u.list.count != b->u.list.count)
        return false;
    for (size_t i = 0; i < a->u.list.count; i++)
        if (!equal(&a->u.list.items[i], &b->u.list.items[i], depth + 1))
            return false;
    return true;
}

bool abi_value_equal(const struct abi_value *a, const struct abi_value *b) { return equal(a, b, 0); }
