#include "ferry/eip712.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ferry/hex.h"

/* ---- building hashes in C ---- */

void eip712_type_hash(uint8_t out[32], const char *encoded_type) { keccak256(out, encoded_type, strlen(encoded_type)); }

void eip712_struct_begin(struct eip712_struct *s, const uint8_t type_hash[32])
{
    keccak256_init(&s->k);
    keccak256_update(&s->k, type_hash, 32);
}

void eip712_array_begin(struct eip712_struct *s) { keccak256_init(&s->k); }

void eip712_put_word(struct eip712_struct *s, const uint8_t word[32]) { keccak256_update(&s->k, word, 32); }

void eip712_put_u256(struct eip712_struct *s, u256 v)
{
    uint8_t w[32];
    u256_to_be(w, v);
    eip712_put_word(s, w);
}

void eip712_put_u64(struct eip712_struct *s, uint64_t v) { eip712_put_u256(s, u256_from_u64(v)); }

void eip712_put_i64(struct eip712_struct *s, int64_t v)
{
    if (v >= 0) {
        eip712_put_u64(s, (uint64_t)v);
        return;
    }
    u256 r;
    (void)u256_sub(&r, u256_from_u64(0), u256_from_u64((uint64_t)(-(v + 1)) + 1)); /* wraps: two's complement */
    eip712_put_u256(s, r);
}

void eip712_put_address(struct eip712_struct *s, const uint8_t addr[ADDRESS_LEN])
{
    uint8_t w[32] = {0};
    memcpy(w + 32 - ADDRESS_LEN, addr, ADDRESS_LEN);
    eip712_put_word(s, w);
}

void eip712_put_bool(struct eip712_struct *s, bool v) { eip712_put_u64(s, v ? 1 : 0); }

void eip712_put_bytes(struct eip712_struct *s, const void *p, size_t n)
{
    uint8_t w[32];
    keccak256(w, p, n);
    eip712_put_word(s, w);
}

void eip712_put_string(struct eip712_struct *s, const char *str) { eip712_put_bytes(s, str, strlen(str)); }

void eip712_struct_end(struct eip712_struct *s, uint8_t out[32]) { keccak256_final(&s->k, out); }

void eip712_domain_separator(uint8_t out[32], const struct eip712_domain *d)
{
    char type[128] = "EIP712Domain(";
    const char *parts[5];
    size_t n = 0;
    if (d->name)
        parts[n++] = "string name";
    if (d->version)
        parts[n++] = "string version";
    if (d->has_chain_id)
        parts[n++] = "uint256 chainId";
    if (d->verifying_contract)
        parts[n++] = "address verifyingContract";
    if (d->salt)
        parts[n++] = "bytes32 salt";
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(type, ",");
        strcat(type, parts[i]);
    }
    strcat(type, ")");
    uint8_t th[32];
    struct eip712_struct s;
    eip712_type_hash(th, type);
    eip712_struct_begin(&s, th);
    if (d->name)
        eip712_put_string(&s, d->name);
    if (d->version)
        eip712_put_string(&s, d->version);
    if (d->has_chain_id)
        eip712_put_u256(&s, d->chain_id);
    if (d->verifying_contract)
        eip712_put_address(&s, d->verifying_contract);
    if (d->salt)
        eip712_put_word(&s, d->salt);
    eip712_struct_end(&s, out);
}

void eip712_hash_typed(uint8_t out[32], const uint8_t domain_separator[32], const uint8_t struct_hash[32])
{
    uint8_t buf[66] = {0x19, 0x01};
    memcpy(buf + 2, domain_separator, 32);
    memcpy(buf + 34, struct_hash, 32);
    keccak256(out, buf, sizeof buf);
}

/* ---- typed data as JSON ---- */

enum kind { K_UINT, K_INT, K_BYTESN, K_ADDRESS, K_BOOL, K_BYTES, K_STRING, K_STRUCT };

#define MAX_DIMS 8
#define MAX_FIXED_LEN 1000000u /* a fixed array length; the JSON must hold that many values anyway */

/* A parsed member type: base type, then array suffixes in the order written ("T[2][]" is a
 * dynamic array of T[2]: dims = {2, 0}, the last one outermost; 0 marks a dynamic length). */
struct ftype {
    enum kind kind;
    unsigned size; /* bits for uintN/intN, bytes for bytesN */
    size_t st;     /* the struct type, for K_STRUCT */
    unsigned ndims;
    uint32_t dims[MAX_DIMS];
};

struct field {
    const char *name; /* strings point into the cJSON document */
    const char *type;
    struct ftype t;
};

struct stype {
    const char *name;
    struct field *fields;
    size_t nfields;
    bool hashed;
    uint8_t type_hash[32];
    unsigned char color; /* cycle search: 0 unvisited, 1 on the current path, 2 done */
};

struct doc {
    struct stype *types;
    size_t ntypes;
    unsigned depth;
    size_t plen;
    char path[512]; /* where we are, e.g. "message.steps[1].amount", for messages */
};

static void path_set(struct doc *d, const char *s)
{
    snprintf(d->path, sizeof d->path, "%s", s);
    d->plen = strlen(d->path);
}

/* Appends to the path and returns the old length, for path_pop. */
static size_t path_push(struct doc *d, const char *fmt, ...) FERRY_PRINTF(2, 3);
static size_t path_push(struct doc *d, const char *fmt, ...)
{
    size_t old = d->plen;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->path + old, sizeof d->path - old, fmt, ap);
    va_end(ap);
    d->plen = strlen(d->path);
    return old;
}

static void path_pop(struct doc *d, size_t old)
{
    d->plen = old;
    d->path[old] = '\0';
}

static enum ferry_err fail_at(struct doc *d, enum ferry_err code, const char *fmt, ...) FERRY_PRINTF(3, 4);
static enum ferry_err fail_at(struct doc *d, enum ferry_err code, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ferry_fail(code, "eip712: %s: %s", d->path, msg);
}

static bool is_ident(const char *s)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
        if (!alpha && (p == s || c < '0' || c > '9'))
            return false;
    }
    return true;
}

/* Reads a decimal size without leading zeros from s[0..n); returns false if it is not one. */
static bool parse_size(const char *s, size_t n, unsigned long *out)
{
    if (n == 0 || n > 7 || (s[0] == '0'))
        return false;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* Recognises an atomic base type in base[0..n). Returns 1 and fills t if it is one, 0 if the
 * name is not atomic-looking (so it may be a struct), -1 with a message for a malformed or
 * aliased atomic name (uint7, bytes33, uint). */
static int parse_atomic(struct doc *d, const char *base, size_t n, struct ftype *t)
{
    static const struct {
        const char *name;
        enum kind kind;
    } plain[] = {{"address", K_ADDRESS}, {"bool", K_BOOL}, {"string", K_STRING}, {"bytes", K_BYTES}};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (strlen(plain[i].name) == n && memcmp(plain[i].name, base, n) == 0) {
            t->kind = plain[i].kind;
            return 1;
        }
    static const struct {
        const char *prefix;
        enum kind kind;
        const char *alias;
    } sized[] = {{"uint", K_UINT, "uint256"}, {"int", K_INT, "int256"}, {"bytes", K_BYTESN, "bytes1"}};
    for (size_t i = 0; i < sizeof sized / sizeof sized[0]; i++) {
        size_t pl = strlen(sized[i].prefix);
        if (n < pl || memcmp(base, sized[i].prefix, pl) != 0)
            continue;
        if (n == pl) {
            fail_at(d, FERRY_EINVAL, "type \"%.*s\" is an alias; EIP-712 needs the canonical \"%s\"", (int)n, base,
                    sized[i].alias);
            return -1;
        }
        if (base[pl] < '0' || base[pl] > '9')
            continue; /* e.g. "uintMax": may be a struct name */
        unsigned long v = 0;
        bool ok = parse_size(base + pl, n - pl, &v);
        if (sized[i].kind == K_BYTESN)
            ok = ok && v >= 1 && v <= 32;
        else
            ok = ok && v >= 8 && v <= 256 && v % 8 == 0;
        if (!ok) {
            fail_at(d, FERRY_EINVAL, "\"%.*s\" is not a valid type", (int)n, base);
            return -1;
        }
        t->kind = sized[i].kind;
        t->size = (unsigned)v;
        return 1;
    }
    if (n == 4 && memcmp(base, "byte", 4) == 0) {
        fail_at(d, FERRY_EINVAL, "type \"byte\" is an alias; EIP-712 needs the canonical \"bytes1\"");
        return -1;
    }
    return 0;
}

static bool find_struct(const struct doc *d, const char *name, size_t n, size_t *idx)
{
    for (size_t i = 0; i < d->ntypes; i++)
        if (strlen(d->types[i].name) == n && memcmp(d->types[i].name, name, n) == 0) {
            *idx = i;
            return true;
        }
    return false;
}

static enum ferry_err parse_type(struct doc *d, const char *s, struct ftype *t)
{
    memset(t, 0, sizeof *t);
    const char *br = strchr(s, '[');
    size_t blen = br ? (size_t)(br - s) : strlen(s);
    int a = parse_atomic(d, s, blen, t);
    if (a < 0)
        return FERRY_EINVAL;
    if (a == 0) {
        if (!find_struct(d, s, blen, &t->st))
            return fail_at(d, FERRY_EINVAL, "unknown type \"%.*s\"", (int)blen, s);
        t->kind = K_STRUCT;
    }
    for (const char *p = br; p && *p;) {
        const char *close = *p == '[' ? strchr(p, ']') : NULL;
        if (!close)
            return fail_at(d, FERRY_EINVAL, "malformed array suffix in \"%s\"", s);
        unsigned long len = 0;
        if (close != p + 1 && (!parse_size(p + 1, (size_t)(close - p - 1), &len) || len > MAX_FIXED_LEN))
            return fail_at(d, FERRY_EINVAL, "bad array length in \"%s\" (1 to %u, no leading zeros)", s, MAX_FIXED_LEN);
        if (t->ndims == MAX_DIMS)
            return fail_at(d, FERRY_EINVAL, "more than %d array dimensions in \"%s\"", MAX_DIMS, s);
        t->dims[t->ndims++] = (uint32_t)len;
        p = close + 1;
    }
    return FERRY_OK;
}

static void free_types(struct doc *d)
{
    for (size_t i = 0; i < d->ntypes; i++)
        free(d->types[i].fields);
    free(d->types);
    d->types = NULL;
    d->ntypes = 0;
}

/* Finds the child of a JSON object named exactly `key` (cJSON's own lookup ignores case). */
static const cJSON *member(const cJSON *obj, const char *key)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, obj) if (c->string && strcmp(c->string, key) == 0) return c;
    return NULL;
}

static enum ferry_err load_field(struct doc *d, struct stype *st, size_t j, const cJSON *def)
{
    if (!cJSON_IsObject(def))
        return fail_at(d, FERRY_EINVAL, "expected an object {\"name\": ..., \"type\": ...}");
    const cJSON *name = NULL, *type = NULL, *c;
    cJSON_ArrayForEach(c, def)
    {
        const cJSON **slot = strcmp(c->string, "name") == 0 ? &name : strcmp(c->string, "type") == 0 ? &type : NULL;
        if (!slot)
            return fail_at(d, FERRY_EINVAL, "unexpected key \"%s\" (a member has only name and type)", c->string);
        if (*slot)
            return fail_at(d, FERRY_EINVAL, "duplicate key \"%s\"", c->string);
        *slot = c;
    }
    if (!cJSON_IsString(name) || !cJSON_IsString(type))
        return fail_at(d, FERRY_EINVAL, "needs \"name\" and \"type\" strings");
    if (!is_ident(name->valuestring))
        return fail_at(d, FERRY_EINVAL, "member name \"%s\" is not an identifier", name->valuestring);
    for (size_t k = 0; k < j; k++)
        if (strcmp(st->fields[k].name, name->valuestring) == 0)
            return fail_at(d, FERRY_EINVAL, "%s declares member \"%s\" twice", st->name, name->valuestring);
    st->fields[j].name = name->valuestring;
    st->fields[j].type = type->valuestring;
    return FERRY_OK;
}

/* Depth-first search for a type that refers back to itself; `stack` holds the current path. */
static enum ferry_err find_cycle(struct doc *d, size_t i, size_t *stack, size_t depth)
{
    struct stype *st = &d->types[i];
    if (st->color == 2)
        return FERRY_OK;
    stack[depth] = i;
    if (st->color == 1) {
        char chain[256] = "";
        size_t from = 0;
        while (stack[from] != i)
            from++;
        for (size_t k = from; k <= depth; k++)
            snprintf(chain + strlen(chain), sizeof chain - strlen(chain), "%s%s", k > from ? " -> " : "",
                     d->types[stack[k]].name);
        path_set(d, "types");
        return fail_at(d, FERRY_EINVAL, "circular reference %s (EIP-712 types cannot contain themselves)", chain);
    }
    st->color = 1;
    for (size_t j = 0; j < st->nfields; j++)
        if (st->fields[j].t.kind == K_STRUCT) {
            enum ferry_err err = find_cycle(d, st->fields[j].t.st, stack, depth + 1);
            if (err)
                return err;
        }
    st->color = 2;
    return FERRY_OK;
}

static enum ferry_err load_types(struct doc *d, const cJSON *types)
{
    path_set(d, "types");
    if (!cJSON_IsObject(types))
        return fail_at(d, FERRY_EINVAL, "expected an object mapping type names to member lists");
    size_t n = (size_t)cJSON_GetArraySize(types);
    if (n > EIP712_MAX_TYPES)
        return fail_at(d, FERRY_ERANGE, "%zu types, at most %d are allowed", n, EIP712_MAX_TYPES);
    d->types = calloc(n ? n : 1, sizeof *d->types);
    if (!d->types)
        return ferry_fail(FERRY_ENOMEM, "eip712: out of memory");
    const cJSON *c;
    cJSON_ArrayForEach(c, types)
    {
        struct stype *st = &d->types[d->ntypes];
        path_set(d, "types");
        path_push(d, ".%s", c->string);
        struct ftype scratch;
        if (!is_ident(c->string))
            return fail_at(d, FERRY_EINVAL, "\"%s\" is not a valid type name", c->string);
        if (parse_atomic(d, c->string, strlen(c->string), &scratch) != 0)
            return fail_at(d, FERRY_EINVAL, "a struct cannot be named like the atomic type \"%s\"", c->string);
        size_t dup;
        if (find_struct(d, c->string, strlen(c->string), &dup))
            return fail_at(d, FERRY_EINVAL, "type defined twice");
        if (!cJSON_IsArray(c))
            return fail_at(d, FERRY_EINVAL, "expected a list of members");
        size_t nf = (size_t)cJSON_GetArraySize(c);
        if (nf > EIP712_MAX_FIELDS)
            return fail_at(d, FERRY_ERANGE, "%zu members, at most %d are allowed", nf, EIP712_MAX_FIELDS);
        st->name = c->string;
        st->fields = calloc(nf ? nf : 1, sizeof *st->fields);
        if (!st->fields)
            return ferry_fail(FERRY_ENOMEM, "eip712: out of memory");
        d->ntypes++;
        const cJSON *def;
        size_t j = 0;
        cJSON_ArrayForEach(def, c)
        {
            size_t m = path_push(d, "[%zu]", j);
            enum ferry_err err = load_field(d, st, j, def);
            if (err)
                return err;
            path_pop(d, m);
            st->nfields = ++j;
        }
    }
    /* Member types may name structs defined later, so they are resolved once all names are known. */
    for (size_t i = 0; i < d->ntypes; i++)
        for (size_t j = 0; j < d->types[i].nfields; j++) {
            path_set(d, "types");
            path_push(d, ".%s[%zu].type", d->types[i].name, j);
            enum ferry_err err = parse_type(d, d->types[i].fields[j].type, &d->types[i].fields[j].t);
            if (err)
                return err;
        }
    size_t stack[EIP712_MAX_TYPES + 1];
    for (size_t i = 0; i < d->ntypes; i++) {
        enum ferry_err err = find_cycle(d, i, stack, 0);
        if (err)
            return err;
    }
    return FERRY_OK;
}

static void collect_deps(const struct doc *d, size_t i, bool *seen)
{
    const struct stype *st = &d->types[i];
    for (size_t j = 0; j < st->nfields; j++) {
        size_t k = st->fields[j].t.st;
        if (st->fields[j].t.kind == K_STRUCT && !seen[k]) {
            seen[k] = true;
            collect_deps(d, k, seen);
        }
    }
}

static enum ferry_err write_struct_type(struct fbuf *out, const struct stype *st)
{
    enum ferry_err err = fbuf_addstr(out, st->name);
    if (!err)
        err = fbuf_addbyte(out, '(');
    for (size_t j = 0; j < st->nfields && !err; j++)
        err = fbuf_printf(out, "%s%s %s", j ? "," : "", st->fields[j].type, st->fields[j].name);
    if (!err)
        err = fbuf_addbyte(out, ')');
    return err;
}

/* encodeType: the type itself, then every struct type it refers to, sorted by name. */
static enum ferry_err encode_type(const struct doc *d, size_t i, struct fbuf *out)
{
    bool seen[EIP712_MAX_TYPES] = {false};
    size_t deps[EIP712_MAX_TYPES], n = 0;
    collect_deps(d, i, seen);
    seen[i] = false; /* cannot happen without a cycle; kept out of the list regardless */
    for (size_t k = 0; k < d->ntypes; k++) {
        if (!seen[k])
            continue;
        size_t at = n++;
        while (at > 0 && strcmp(d->types[deps[at - 1]].name, d->types[k].name) > 0) {
            deps[at] = deps[at - 1];
            at--;
        }
        deps[at] = k;
    }
    enum ferry_err err = write_struct_type(out, &d->types[i]);
    for (size_t k = 0; k < n && !err; k++)
        err = write_struct_type(out, &d->types[deps[k]]);
    return err ? ferry_fail_ctx(err, "eip712: encodeType(%s)", d->types[i].name) : FERRY_OK;
}

static enum ferry_err type_hash(struct doc *d, size_t i, uint8_t out[32])
{
    struct stype *st = &d->types[i];
    if (!st->hashed) {
        struct fbuf b;
        fbuf_init(&b, 1 << 20);
        enum ferry_err err = encode_type(d, i, &b);
        if (err) {
            fbuf_free(&b);
            return err;
        }
        keccak256(st->type_hash, b.data, b.len);
        fbuf_free(&b);
        st->hashed = true;
    }
    memcpy(out, st->type_hash, 32);
    return FERRY_OK;
}

/* Parses an integer string: optional '-', then decimal digits or 0x and hex digits. */
static enum ferry_err parse_int_text(struct doc *d, const char *s, bool *neg, u256 *mag, const char *type_name)
{
    const char *p = s;
    *neg = false;
    *mag = u256_from_u64(0);
    if (*p == '-') {
        *neg = true;
        p++;
    }
    bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
    if (hex)
        p += 2;
    if (!*p)
        return fail_at(d, FERRY_EINVAL, "\"%.40s\" is not a number", s);
    u256 base = u256_from_u64(hex ? 16 : 10);
    for (; *p; p++) {
        char c = *p;
        int v = c >= '0' && c <= '9' ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                : -1;
        if (v < 0)
            return fail_at(d, FERRY_EINVAL, "\"%.40s\" is not a number (unexpected '%c')", s, c);
        if (u256_mul(mag, *mag, base) || u256_add(mag, *mag, u256_from_u64((uint64_t)v)))
            return fail_at(d, FERRY_ERANGE, "value exceeds %s", type_name);
    }
    return FERRY_OK;
}

static enum ferry_err enc_int(struct doc *d, const struct ftype *t, const cJSON *v, uint8_t word[32])
{
    char type_name[8];
    snprintf(type_name, sizeof type_name, "%s%u", t->kind == K_UINT ? "uint" : "int", t->size);
    bool neg;
    u256 mag;
    if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        /* A JSON number is a double here: beyond 2^53 it may already have been rounded. */
        if (!isfinite(x) || x != floor(x) || fabs(x) > 9007199254740992.0)
            return fail_at(d, FERRY_EINVAL, "number %.17g is not an exact integer; write large values as strings", x);
        neg = x < 0;
        mag = u256_from_u64((uint64_t)fabs(x));
    } else if (cJSON_IsString(v)) {
        enum ferry_err err = parse_int_text(d, v->valuestring, &neg, &mag, type_name);
        if (err)
            return err;
    } else {
        return fail_at(d, FERRY_EINVAL, "expected a number or a numeric string for %s", type_name);
    }
    if (u256_is_zero(mag))
        neg = false;
    if (t->kind == K_UINT) {
        if (neg)
            return fail_at(d, FERRY_ERANGE, "negative value for %s", type_name);
        if (u256_bitlen(mag) > t->size)
            return fail_at(d, FERRY_ERANGE, "value exceeds %s", type_name);
    } else {
        /* intN holds -2^(N-1) .. 2^(N-1) - 1. */
        u256 lim = u256_shl(u256_from_u64(1), t->size - 1);
        if (neg ? u256_cmp(mag, lim) > 0 : u256_cmp(mag, lim) >= 0)
            return fail_at(d, FERRY_ERANGE, "value out of %s range", type_name);
        if (neg)
            (void)u256_sub(&mag, u256_from_u64(0), mag);
    }
    u256_to_be(word, mag);
    return FERRY_OK;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* keccak256 of the bytes a hex string spells, decoded a chunk at a time (no allocation). */
static enum ferry_err hash_hex(struct doc *d, const char *s, uint8_t out[32])
{
    const char *h = s;
    if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X'))
        h += 2;
    size_t n = strlen(h);
    if (n % 2)
        return fail_at(d, FERRY_EINVAL, "odd number of hex digits (%zu)", n);
    struct keccak_ctx k;
    keccak256_init(&k);
    uint8_t chunk[64];
    size_t fill = 0;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(h[i]), lo = hexval(h[i + 1]);
        if (hi < 0 || lo < 0) {
            size_t bad = (size_t)(h - s) + i + (hi < 0 ? 0 : 1);
            return fail_at(d, FERRY_EINVAL, "'%c' at position %zu is not a hex digit", s[bad], bad);
        }
        chunk[fill++] = (uint8_t)(hi << 4 | lo);
        if (fill == sizeof chunk) {
            keccak256_update(&k, chunk, fill);
            fill = 0;
        }
    }
    keccak256_update(&k, chunk, fill);
    keccak256_final(&k, out);
    return FERRY_OK;
}

static enum ferry_err enc_atomic(struct doc *d, const struct ftype *t, const cJSON *v, uint8_t word[32])
{
    memset(word, 0, 32);
    enum ferry_err err;
    switch (t->kind) {
    case K_UINT:
    case K_INT:
        return enc_int(d, t, v, word);
    case K_BOOL:
        if (cJSON_IsBool(v))
            word[31] = cJSON_IsTrue(v) ? 1 : 0;
        else if (cJSON_IsString(v) && (strcmp(v->valuestring, "true") == 0 || strcmp(v->valuestring, "false") == 0))
            word[31] = v->valuestring[0] == 't';
        else
            return fail_at(d, FERRY_EINVAL, "expected true or false");
        return FERRY_OK;
    case K_ADDRESS:
        if (!cJSON_IsString(v))
            return fail_at(d, FERRY_EINVAL, "expected an address string");
        err = address_parse(word + 12, v->valuestring);
        return err ? ferry_fail_ctx(err, "eip712: %s", d->path) : FERRY_OK;
    case K_STRING:
        if (!cJSON_IsString(v))
            return fail_at(d, FERRY_EINVAL, "expected a string");
        keccak256(word, v->valuestring, strlen(v->valuestring));
        return FERRY_OK;
    case K_BYTES:
        if (!cJSON_IsString(v))
            return fail_at(d, FERRY_EINVAL, "expected a hex string");
        return hash_hex(d, v->valuestring, word);
    case K_BYTESN:
        if (!cJSON_IsString(v))
            return fail_at(d, FERRY_EINVAL, "expected a hex string of %u bytes", t->size);
        err = hex_decode_exact(word, t->size, v->valuestring, HEX_PREFIX_OPTIONAL);
        return err ? ferry_fail_ctx(err, "eip712: %s: bytes%u", d->path, t->size) : FERRY_OK;
    case K_STRUCT:
        break;
    }
    return fail_at(d, FERRY_EINVAL, "internal: not an atomic type");
}

static enum ferry_err hash_struct(struct doc *d, size_t idx, const cJSON *v, uint8_t out[32]);

/* Encodes a value of type t with `level` array dimensions still to unwrap into one word. */
static enum ferry_err enc_value(struct doc *d, const struct ftype *t, unsigned level, const cJSON *v, uint8_t word[32])
{
    if (level == 0)
        return t->kind == K_STRUCT ? hash_struct(d, t->st, v, word) : enc_atomic(d, t, v, word);
    uint32_t want = t->dims[level - 1];
    if (!cJSON_IsArray(v))
        return fail_at(d, FERRY_EINVAL, "expected an array");
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (want && n != want)
        return fail_at(d, FERRY_EINVAL, "expected %u elements, got %zu", want, n);
    if (d->depth >= EIP712_MAX_DEPTH)
        return fail_at(d, FERRY_ERANGE, "nested deeper than %d", EIP712_MAX_DEPTH);
    d->depth++;
    struct eip712_struct arr;
    eip712_array_begin(&arr);
    const cJSON *c;
    size_t i = 0;
    cJSON_ArrayForEach(c, v)
    {
        size_t mark = path_push(d, "[%zu]", i++);
        uint8_t w[32];
        enum ferry_err err = enc_value(d, t, level - 1, c, w);
        if (err)
            return err;
        path_pop(d, mark);
        eip712_put_word(&arr, w);
    }
    eip712_struct_end(&arr, word);
    d->depth--;
    return FERRY_OK;
}

static enum ferry_err hash_struct(struct doc *d, size_t idx, const cJSON *v, uint8_t out[32])
{
    const struct stype *st = &d->types[idx];
    if (!cJSON_IsObject(v))
        return fail_at(d, FERRY_EINVAL, "expected an object (a %s)", st->name);
    if (d->depth >= EIP712_MAX_DEPTH)
        return fail_at(d, FERRY_ERANGE, "nested deeper than %d", EIP712_MAX_DEPTH);
    /* Every key must be a declared member, once: a value the type does not cover would be
     * shown to a signer without being signed. */
    bool seen[EIP712_MAX_FIELDS] = {false};
    const cJSON *c;
    cJSON_ArrayForEach(c, v)
    {
        size_t j = 0;
        while (j < st->nfields && strcmp(st->fields[j].name, c->string) != 0)
            j++;
        size_t mark = path_push(d, ".%s", c->string);
        if (j == st->nfields)
            return fail_at(d, FERRY_EINVAL, "not a member of %s", st->name);
        if (seen[j])
            return fail_at(d, FERRY_EINVAL, "given twice");
        path_pop(d, mark);
        seen[j] = true;
    }
    uint8_t th[32];
    enum ferry_err err = type_hash(d, idx, th);
    if (err)
        return err;
    d->depth++;
    struct eip712_struct s;
    eip712_struct_begin(&s, th);
    for (size_t j = 0; j < st->nfields; j++) {
        size_t mark = path_push(d, ".%s", st->fields[j].name);
        if (!seen[j])
            return fail_at(d, FERRY_EINVAL, "missing (%s declares it as %s)", st->name, st->fields[j].type);
        uint8_t w[32];
        err = enc_value(d, &st->fields[j].t, st->fields[j].t.ndims, member(v, st->fields[j].name), w);
        if (err)
            return err;
        path_pop(d, mark);
        eip712_put_word(&s, w);
    }
    eip712_struct_end(&s, out);
    d->depth--;
    return FERRY_OK;
}

static const struct {
    const char *name, *type;
    struct ftype t;
} domain_fields[] = {
    {"name", "string", {.kind = K_STRING}},
    {"version", "string", {.kind = K_STRING}},
    {"chainId", "uint256", {.kind = K_UINT, .size = 256}},
    {"verifyingContract", "address", {.kind = K_ADDRESS}},
    {"salt", "bytes32", {.kind = K_BYTESN, .size = 32}},
};
#define NDOMAIN (sizeof domain_fields / sizeof domain_fields[0])

/* The domain separator from the fields the domain object holds, in EIP-712's order. */
static enum ferry_err hash_domain(struct doc *d, const cJSON *domain, uint8_t out[32])
{
    path_set(d, "domain");
    if (!cJSON_IsObject(domain))
        return fail_at(d, FERRY_EINVAL, "expected an object");
    const cJSON *vals[NDOMAIN] = {NULL};
    const cJSON *c;
    cJSON_ArrayForEach(c, domain)
    {
        size_t k = 0;
        while (k < NDOMAIN && strcmp(domain_fields[k].name, c->string) != 0)
            k++;
        path_set(d, "domain");
        path_push(d, ".%s", c->string);
        if (k == NDOMAIN)
            return fail_at(d, FERRY_EINVAL, "not an EIP712Domain field (name, version, chainId, verifyingContract, salt)");
        if (vals[k])
            return fail_at(d, FERRY_EINVAL, "given twice");
        vals[k] = c;
    }
    char type[128] = "EIP712Domain(";
    size_t present = 0;
    for (size_t k = 0; k < NDOMAIN; k++)
        if (vals[k])
            snprintf(type + strlen(type), sizeof type - strlen(type), "%s%s %s", present++ ? "," : "",
                     domain_fields[k].type, domain_fields[k].name);
    strcat(type, ")");

    /* A types.EIP712Domain must say the same, or wallets that hash it would sign another digest. */
    size_t decl;
    if (find_struct(d, "EIP712Domain", strlen("EIP712Domain"), &decl)) {
        const struct stype *st = &d->types[decl];
        bool same = st->nfields == present;
        for (size_t j = 0, k = 0; same && j < st->nfields; j++, k++) {
            while (!vals[k])
                k++;
            same = strcmp(st->fields[j].name, domain_fields[k].name) == 0 &&
                   strcmp(st->fields[j].type, domain_fields[k].type) == 0;
        }
        if (!same) {
            path_set(d, "types.EIP712Domain");
            return fail_at(d, FERRY_EINVAL, "does not match the domain object, whose fields make %s", type);
        }
    }

    uint8_t th[32];
    struct eip712_struct s;
    eip712_type_hash(th, type);
    eip712_struct_begin(&s, th);
    for (size_t k = 0; k < NDOMAIN; k++) {
        if (!vals[k])
            continue;
        path_set(d, "domain");
        path_push(d, ".%s", domain_fields[k].name);
        uint8_t w[32];
        enum ferry_err err = enc_atomic(d, &domain_fields[k].t, vals[k], w);
        if (err)
            return err;
        eip712_put_word(&s, w);
    }
    eip712_struct_end(&s, out);
    return FERRY_OK;
}

static enum ferry_err hash_doc(struct doc *d, struct eip712_hashes *out, const cJSON *root)
{
    path_set(d, "(top)");
    if (!cJSON_IsObject(root))
        return fail_at(d, FERRY_EINVAL, "expected an object with types, primaryType, domain and message");
    static const char *const keys[] = {"types", "primaryType", "domain", "message"};
    const cJSON *parts[4] = {NULL};
    const cJSON *c;
    cJSON_ArrayForEach(c, root)
    {
        size_t k = 0;
        while (k < 4 && strcmp(keys[k], c->string) != 0)
            k++;
        if (k == 4)
            return fail_at(d, FERRY_EINVAL, "unexpected key \"%s\"", c->string);
        if (parts[k])
            return fail_at(d, FERRY_EINVAL, "\"%s\" given twice", c->string);
        parts[k] = c;
    }
    for (size_t k = 0; k < 4; k++)
        if (!parts[k])
            return fail_at(d, FERRY_EINVAL, "missing \"%s\"", keys[k]);
    enum ferry_err err = load_types(d, parts[0]);
    if (err)
        return err;
    path_set(d, "primaryType");
    if (!cJSON_IsString(parts[1]))
        return fail_at(d, FERRY_EINVAL, "expected a type name");
    const char *primary = parts[1]->valuestring;
    size_t idx;
    if (strcmp(primary, "EIP712Domain") == 0)
        return fail_at(d, FERRY_EINVAL, "EIP712Domain is the domain, not a message type");
    if (!find_struct(d, primary, strlen(primary), &idx))
        return fail_at(d, FERRY_EINVAL, "\"%s\" is not defined in types", primary);
    err = hash_domain(d, parts[2], out->domain_separator);
    if (err)
        return err;
    path_set(d, "message");
    d->depth = 0;
    err = hash_struct(d, idx, parts[3], out->message_hash);
    if (err)
        return err;
    eip712_hash_typed(out->digest, out->domain_separator, out->message_hash);
    return FERRY_OK;
}

enum ferry_err eip712_hash_cjson(struct eip712_hashes *out, const cJSON *root)
{
    memset(out, 0, sizeof *out);
    struct doc d;
    memset(&d, 0, sizeof d);
    enum ferry_err err = hash_doc(&d, out, root);
    free_types(&d);
    if (err)
        memset(out, 0, sizeof *out);
    return err;
}

/* Parses JSON text strictly: nothing but white space may follow the document. */
static enum ferry_err parse_json(cJSON **root, const char *json, size_t len)
{
    *root = NULL;
    /* cJSON turns \u0000 into a NUL that silently ends the C string; refuse rather than mis-hash. */
    for (size_t i = 0; i + 6 <= len; i++)
        if (json[i] == '\\' && memcmp(json + i + 1, "u0000", 5) == 0)
            return ferry_fail(FERRY_EINVAL, "eip712: \\u0000 at offset %zu: strings holding NUL are not supported", i);
    const char *end = NULL;
    cJSON *r = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!r) {
        size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
        return ferry_fail(FERRY_EINVAL, "eip712: not valid JSON (near offset %zu)", at);
    }
    while (end < json + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != json + len) {
        cJSON_Delete(r);
        return ferry_fail(FERRY_EINVAL, "eip712: unexpected text after the JSON document at offset %zu",
                          (size_t)(end - json));
    }
    *root = r;
    return FERRY_OK;
}

enum ferry_err eip712_hash_json(struct eip712_hashes *out, const char *json, size_t len)
{
    memset(out, 0, sizeof *out);
    cJSON *root;
    enum ferry_err err = parse_json(&root, json, len);
    if (err)
        return err;
    err = eip712_hash_cjson(out, root);
    cJSON_Delete(root);
    return err;
}

enum ferry_err eip712_encode_type_json(struct fbuf *out, const char *json, size_t len, const char *type)
{
    cJSON *root;
    enum ferry_err err = parse_json(&root, json, len);
    if (err)
        return err;
    struct doc d;
    memset(&d, 0, sizeof d);
    size_t idx = 0;
    err = load_types(&d, member(root, "types"));
    if (!err && !find_struct(&d, type, strlen(type), &idx))
        err = ferry_fail(FERRY_ENOTFOUND, "eip712: no type \"%s\" in types", type);
    if (!err)
        err = encode_type(&d, idx, out);
    free_types(&d);
    cJSON_Delete(root);
    return err;
}
