/* ABI types and signatures: parsing Solidity type strings, canonical text, selectors, topics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi_int.h"
#include "ferry/keccak.h"

_Static_assert(ABI_MAX_DEPTH == 32, "the messages below say 32");

struct tparser {
    const char *s;
    size_t pos;
};

static enum ferry_err perr(const struct tparser *p, enum ferry_err code, const char *what)
{
    return ferry_fail(code, "abi: %s at position %zu of \"%.120s%s\"", what, p->pos, p->s,
                      strlen(p->s) > 120 ? "..." : "");
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
static bool is_ident(char c) { return is_ident_start(c) || is_digit(c); }

static bool skip_space(struct tparser *p)
{
    size_t start = p->pos;
    while (is_space(p->s[p->pos]))
        p->pos++;
    return p->pos > start;
}

void abi_type_free(struct abi_type *t)
{
    if (!t)
        return;
    abi_type_free(t->elem);
    if (t->members) {
        for (size_t i = 0; i < t->count; i++)
            abi_type_free(t->members[i]);
        free(t->members);
    }
    free(t->name);
    free(t);
}

/* Fills in dynamic, head, inner and depth from the children; fails when the static size or
 * the nesting is past the caps. */
static enum ferry_err finish(struct tparser *p, struct abi_type *t)
{
    t->depth = 1;
    t->inner = 0;
    switch (t->kind) {
    case ABI_BYTES:
    case ABI_STRING:
        t->dynamic = true;
        break;
    case ABI_ARRAY:
        if (t->count > ABI_MAX_STATIC / t->elem->head)
            return perr(p, FERRY_ERANGE, "fixed array too large");
        t->inner = t->count * t->elem->head;
        t->dynamic = t->elem->dynamic;
        t->depth = t->elem->depth + 1;
        break;
    case ABI_DYN_ARRAY:
        t->dynamic = true;
        t->depth = t->elem->depth + 1;
        break;
    case ABI_TUPLE:
        t->dynamic = false;
        for (size_t i = 0; i < t->count; i++) {
            const struct abi_type *m = t->members[i];
            if (m->head > ABI_MAX_STATIC - t->inner)
                return perr(p, FERRY_ERANGE, "tuple too large");
            t->inner += m->head;
            t->dynamic |= m->dynamic;
            if (m->depth + 1 > t->depth)
                t->depth = m->depth + 1;
        }
        break;
    default:
        t->dynamic = false;
        break;
    }
    t->head = t->dynamic ? 32 : (t->kind >= ABI_ARRAY ? t->inner : 32);
    if (t->depth > ABI_MAX_DEPTH)
        return perr(p, FERRY_ERANGE, "type nested deeper than 32 levels");
    return FERRY_OK;
}

/* Reads a decimal number with no leading zero into *v (at most `max`); the digits start at p->pos. */
static enum ferry_err read_count(struct tparser *p, size_t max, size_t *v, const char *what)
{
    size_t x = 0, start = p->pos;
    if (!is_digit(p->s[p->pos]))
        return perr(p, FERRY_EINVAL, what);
    if (p->s[p->pos] == '0' && is_digit(p->s[p->pos + 1]))
        return perr(p, FERRY_EINVAL, "leading zero in a number");
    while (is_digit(p->s[p->pos])) {
        x = x * 10 + (size_t)(p->s[p->pos] - '0');
        p->pos++;
        if (x > max) {
            p->pos = start;
            return perr(p, FERRY_ERANGE, "number too large");
        }
    }
    *v = x;
    return FERRY_OK;
}

static enum ferry_err parse_list(struct tparser *p, unsigned level, bool params, bool allow_indexed,
                                 struct abi_type **out);

/* An elementary type name such as uint64 or bytes32 (p->pos at its first letter). */
static enum ferry_err parse_elementary(struct tparser *p, struct abi_type *t)
{
    size_t start = p->pos, n;
    while (is_ident(p->s[p->pos]))
        p->pos++;
    n = p->pos - start;
    const char *w = p->s + start;
    static const struct {
        const char *name;
        enum abi_kind kind;
        unsigned size;
    } fixed[] = {
        {"address", ABI_ADDRESS, 0}, {"bool", ABI_BOOL, 0},    {"string", ABI_STRING, 0},
        {"bytes", ABI_BYTES, 0},     {"uint", ABI_UINT, 256}, {"int", ABI_INT, 256},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (strlen(fixed[i].name) == n && memcmp(w, fixed[i].name, n) == 0) {
            t->kind = fixed[i].kind;
            t->size = fixed[i].size;
            return FERRY_OK;
        }
    }
    static const struct {
        const char *prefix;
        enum abi_kind kind;
        unsigned min, max, step;
    } sized[] = {
        {"uint", ABI_UINT, 8, 256, 8},
        {"int", ABI_INT, 8, 256, 8},
        {"bytes", ABI_FIXED_BYTES, 1, 32, 1},
    };
    for (size_t i = 0; i < sizeof sized / sizeof sized[0]; i++) {
        size_t pl = strlen(sized[i].prefix);
        if (n > pl && memcmp(w, sized[i].prefix, pl) == 0 && is_digit(w[pl])) {
            size_t v;
            p->pos = start + pl;
            enum ferry_err e = read_count(p, 1000, &v, "expected a size");
            if (e)
                return e;
            if (p->pos != start + n || v < sized[i].min || v > sized[i].max || v % sized[i].step) {
                p->pos = start;
                return perr(p, FERRY_EINVAL, "invalid size in type name (uintN/intN take N = 8..256 in steps of 8, "
                                             "bytesN N = 1..32)");
            }
            t->kind = sized[i].kind;
            t->size = (unsigned)v;
            return FERRY_OK;
        }
    }
    p->pos = start;
    if ((n >= 5 && memcmp(w, "fixed", 5) == 0) || (n >= 6 && memcmp(w, "ufixed", 6) == 0) ||
        (n == 8 && memcmp(w, "function", 8) == 0))
        return perr(p, FERRY_EUNSUPPORTED, "fixed-point and function types are not supported");
    return perr(p, FERRY_EINVAL, "unknown type");
}

/* One type with its array suffixes. `level` is the tuple nesting so far (the recursion depth). */
static enum ferry_err parse_type(struct tparser *p, unsigned level, bool allow_empty, struct abi_type **out)
{
    enum ferry_err e;
    struct abi_type *t = NULL;
    *out = NULL;
    if (level > ABI_MAX_DEPTH)
        return perr(p, FERRY_ERANGE, "type nested deeper than 32 levels");
    if (p->s[p->pos] == '(' || strncmp(p->s + p->pos, "tuple(", 6) == 0) {
        if (p->s[p->pos] == 't')
            p->pos += 5;
        e = parse_list(p, level + 1, allow_empty, false, &t);
        if (e)
            return e;
    } else if (is_ident_start(p->s[p->pos])) {
        t = calloc(1, sizeof *t);
        if (!t)
            return ferry_fail(FERRY_ENOMEM, "abi: out of memory parsing a type");
        e = parse_elementary(p, t);
        if (!e)
            e = finish(p, t);
        if (e) {
            free(t);
            return e;
        }
    } else {
        return perr(p, FERRY_EINVAL, "expected a type");
    }
    while (p->s[p->pos] == '[') {
        struct abi_type *a = calloc(1, sizeof *a);
        if (!a) {
            abi_type_free(t);
            return ferry_fail(FERRY_ENOMEM, "abi: out of memory parsing a type");
        }
        a->elem = t;
        t = a;
        p->pos++;
        if (p->s[p->pos] == ']') {
            a->kind = ABI_DYN_ARRAY;
        } else {
            a->kind = ABI_ARRAY;
            e = read_count(p, ABI_MAX_STATIC, &a->count, "expected an array length or ']'");
            if (!e && a->count == 0)
                e = perr(p, FERRY_EINVAL, "fixed array of length 0");
            if (e) {
                abi_type_free(t);
                return e;
            }
            if (p->s[p->pos] != ']') {
                abi_type_free(t);
                return perr(p, FERRY_EINVAL, "expected ']'");
            }
        }
        p->pos++;
        if (a->elem->head == 0) {
            abi_type_free(t);
            return perr(p, FERRY_EINVAL, "array of empty tuples");
        }
        e = finish(p, a);
        if (e) {
            abi_type_free(t);
            return e;
        }
    }
    *out = t;
    return FERRY_OK;
}

/* "(T1 [indexed] [name], ...)" with p->pos at '('. `params` marks a signature's parameter list,
 * the one place where an empty list is allowed. */
static enum ferry_err parse_list(struct tparser *p, unsigned level, bool params, bool allow_indexed,
                                 struct abi_type **out)
{
    enum ferry_err e = FERRY_OK;
    struct abi_type *t = calloc(1, sizeof *t);
    size_t alloc = 0;
    *out = NULL;
    if (!t)
        return ferry_fail(FERRY_ENOMEM, "abi: out of memory parsing a type");
    t->kind = ABI_TUPLE;
    if (level > ABI_MAX_DEPTH) {
        e = perr(p, FERRY_ERANGE, "type nested deeper than 32 levels");
        goto fail;
    }
    p->pos++; /* '(' */
    skip_space(p);
    if (p->s[p->pos] == ')') {
        if (!params) {
            e = perr(p, FERRY_EINVAL, "empty tuple (only a parameter list may be empty)");
            goto fail;
        }
        p->pos++;
        goto done;
    }
    for (;;) {
        struct abi_type *m;
        skip_space(p);
        e = parse_type(p, level, false, &m);
        if (e)
            goto fail;
        if (t->count == alloc) {
            size_t na = alloc ? alloc * 2 : 4;
            struct abi_type **nm = realloc(t->members, na * sizeof *nm);
            if (!nm) {
                abi_type_free(m);
                e = ferry_fail(FERRY_ENOMEM, "abi: out of memory parsing a type");
                goto fail;
            }
            t->members = nm;
            alloc = na;
        }
        t->members[t->count++] = m;
        /* Words after a type need a space before them: "uint8 indexed from". */
        while (skip_space(p) && is_ident_start(p->s[p->pos])) {
            size_t start = p->pos;
            while (is_ident(p->s[p->pos]))
                p->pos++;
            size_t n = p->pos - start;
            if (n == 7 && memcmp(p->s + start, "indexed", 7) == 0 && !m->name) {
                if (!allow_indexed || m->indexed) {
                    p->pos = start;
                    e = perr(p, FERRY_EINVAL, "'indexed' is only allowed once on a top-level event parameter");
                    goto fail;
                }
                m->indexed = true;
            } else if (!m->name) {
                m->name = strndup(p->s + start, n);
                if (!m->name) {
                    e = ferry_fail(FERRY_ENOMEM, "abi: out of memory parsing a type");
                    goto fail;
                }
            } else {
                p->pos = start;
                e = perr(p, FERRY_EINVAL, "unexpected word after a parameter name");
                goto fail;
            }
        }
        if (p->s[p->pos] == ')') {
            p->pos++;
            break;
        }
        if (p->s[p->pos] != ',') {
            e = perr(p, FERRY_EINVAL, "expected ',' or ')'");
            goto fail;
        }
        p->pos++;
    }
done:
    e = finish(p, t);
    if (e)
        goto fail;
    *out = t;
    return FERRY_OK;
fail:
    abi_type_free(t);
    return e;
}

enum ferry_err abi_type_parse(struct abi_type **out, const char *text)
{
    struct tparser p = {.s = text, .pos = 0};
    *out = NULL;
    skip_space(&p);
    enum ferry_err e = parse_type(&p, 0, true, out); /* "()" is the empty parameter list */
    if (e)
        return e;
    skip_space(&p);
    if (p.s[p.pos]) {
        abi_type_free(*out);
        *out = NULL;
        return perr(&p, FERRY_EINVAL, "unexpected text after the type");
    }
    return FERRY_OK;
}

/* Writes the canonical text into out[0..cap) and returns its full length, like snprintf
 * (without the NUL). */
static size_t canonical(const struct abi_type *t, char *out, size_t cap, size_t pos)
{
#define PUT(str)                                                                                               \
    do {                                                                                                       \
        const char *s_ = (str);                                                                                \
        for (; *s_; s_++, pos++)                                                                               \
            if (pos < cap)                                                                                     \
                out[pos] = *s_;                                                                                \
    } while (0)
    char num[32];
    switch (t->kind) {
    case ABI_UINT:
    case ABI_INT:
    case ABI_FIXED_BYTES:
        PUT(t->kind == ABI_UINT ? "uint" : t->kind == ABI_INT ? "int" : "bytes");
        snprintf(num, sizeof num, "%u", t->size);
        PUT(num);
        break;
    case ABI_ADDRESS:
        PUT("address");
        break;
    case ABI_BOOL:
        PUT("bool");
        break;
    case ABI_BYTES:
        PUT("bytes");
        break;
    case ABI_STRING:
        PUT("string");
        break;
    case ABI_ARRAY:
    case ABI_DYN_ARRAY:
        pos = canonical(t->elem, out, cap, pos);
        if (t->kind == ABI_ARRAY) {
            snprintf(num, sizeof num, "[%zu]", t->count);
            PUT(num);
        } else {
            PUT("[]");
        }
        break;
    case ABI_TUPLE:
        PUT("(");
        for (size_t i = 0; i < t->count; i++) {
            if (i)
                PUT(",");
            pos = canonical(t->members[i], out, cap, pos);
        }
        PUT(")");
        break;
    }
    return pos;
#undef PUT
}

enum ferry_err abi_type_canonical(struct fbuf *out, const struct abi_type *t)
{
    size_t n = canonical(t, NULL, 0, 0);
    uint8_t *p;
    enum ferry_err e = fbuf_grow_zero(out, n, &p);
    if (e)
        return e;
    canonical(t, (char *)p, n, 0);
    return FERRY_OK;
}

const char *abi_type_str(const struct abi_type *t, char *out, size_t n)
{
    size_t len = canonical(t, out, n, 0);
    if (len < n) {
        out[len] = 0;
    } else if (n >= 4) {
        memcpy(out + n - 4, "...", 4);
    } else if (n) {
        out[n - 1] = 0;
    }
    return out;
}

bool abi_type_equal(const struct abi_type *a, const struct abi_type *b)
{
    if (a == b)
        return true;
    if (a->kind != b->kind || a->size != b->size || a->count != b->count)
        return false;
    switch (a->kind) {
    case ABI_ARRAY:
    case ABI_DYN_ARRAY:
        return abi_type_equal(a->elem, b->elem);
    case ABI_TUPLE:
        for (size_t i = 0; i < a->count; i++)
            if (!abi_type_equal(a->members[i], b->members[i]))
                return false;
        return true;
    default:
        return true;
    }
}

void abi_sig_free(struct abi_sig *s)
{
    if (!s)
        return;
    if (s->data && s->data != s->params) {
        free(s->data->members); /* the members themselves belong to params */
        free(s->data);
    }
    free(s->data_param);
    abi_type_free(s->params);
    free(s->name);
    free(s->canonical);
    free(s);
}

/* The tuple of the non-indexed parameters, sharing their nodes. */
static enum ferry_err build_data(struct tparser *p, struct abi_sig *s)
{
    const struct abi_type *all = s->params;
    size_t n = all->count - s->n_indexed;
    struct abi_type *d = calloc(1, sizeof *d);
    if (!d)
        return ferry_fail(FERRY_ENOMEM, "abi: out of memory parsing a signature");
    s->data = d;
    d->kind = ABI_TUPLE;
    if (n) {
        d->members = calloc(n, sizeof *d->members);
        s->data_param = calloc(n, sizeof *s->data_param);
        if (!d->members || !s->data_param)
            return ferry_fail(FERRY_ENOMEM, "abi: out of memory parsing a signature");
    }
    for (size_t i = 0; i < all->count; i++) {
        if (all->members[i]->indexed)
            continue;
        s->data_param[d->count] = i;
        d->members[d->count++] = all->members[i];
    }
    return finish(p, d);
}

static enum ferry_err parse_sig(struct abi_sig **out, const char *text, bool event)
{
    struct tparser p = {.s = text, .pos = 0};
    enum ferry_err e;
    struct abi_sig *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return ferry_fail(FERRY_ENOMEM, "abi: out of memory parsing a signature");
    skip_space(&p);
    size_t start = p.pos;
    if (!is_ident_start(p.s[p.pos])) {
        e = perr(&p, FERRY_EINVAL, event ? "expected an event name" : "expected a function name");
        goto fail;
    }
    while (is_ident(p.s[p.pos]))
        p.pos++;
    s->name = strndup(p.s + start, p.pos - start);
    if (!s->name) {
        e = ferry_fail(FERRY_ENOMEM, "abi: out of memory parsing a signature");
        goto fail;
    }
    skip_space(&p);
    if (p.s[p.pos] != '(') {
        e = perr(&p, FERRY_EINVAL, "expected '(' after the name");
        goto fail;
    }
    e = parse_list(&p, 1, true, event, &s->params);
    if (e)
        goto fail;
    if (skip_space(&p) && event && strncmp(p.s + p.pos, "anonymous", 9) == 0 && !is_ident(p.s[p.pos + 9])) {
        s->anonymous = true;
        p.pos += 9;
        skip_space(&p);
    }
    if (p.s[p.pos]) {
        e = perr(&p, FERRY_EINVAL, "unexpected text after the parameter list");
        goto fail;
    }
    for (size_t i = 0; i < s->params->count; i++)
        s->n_indexed += s->params->members[i]->indexed;
    if (s->n_indexed > (s->anonymous ? 4u : 3u)) {
        e = ferry_fail(FERRY_EINVAL, "abi: event %s has %zu indexed parameters; at most %u fit in a log", s->name,
                       s->n_indexed, s->anonymous ? 4u : 3u);
        goto fail;
    }
    if (s->n_indexed) {
        e = build_data(&p, s);
        if (e)
            goto fail;
    } else {
        s->data = s->params;
    }
    struct fbuf b;
    fbuf_init(&b, 1u << 20);
    e = fbuf_addstr(&b, s->name);
    if (!e)
        e = abi_type_canonical(&b, s->params);
    if (e)
        goto fail;
    keccak256(s->hash, b.data, b.len);
    s->canonical = (char *)fbuf_take(&b, NULL);
    *out = s;
    return FERRY_OK;
fail:
    abi_sig_free(s);
    return e;
}

enum ferry_err abi_function_parse(struct abi_sig **out, const char *text) { return parse_sig(out, text, false); }

enum ferry_err abi_event_parse(struct abi_sig **out, const char *text) { return parse_sig(out, text, true); }

enum ferry_err abi_selector(uint8_t out[4], const char *text)
{
    struct abi_sig *s;
    memset(out, 0, 4);
    enum ferry_err e = abi_function_parse(&s, text);
    if (e)
        return e;
    memcpy(out, s->hash, 4);
    abi_sig_free(s);
    return FERRY_OK;
}

enum ferry_err abi_event_topic(uint8_t out[32], const char *text)
{
    struct abi_sig *s;
    memset(out, 0, 32);
    enum ferry_err e = abi_event_parse(&s, text);
    if (e)
        return e;
    memcpy(out, s->hash, 32);
    abi_sig_free(s);
    return FERRY_OK;
}
