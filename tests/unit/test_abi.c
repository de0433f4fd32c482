#include <stdio.h>
#include <string.h>

#include "ferry/abi.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"
#include "testutil.h"

static struct abi_type *type(const char *s)
{
    struct abi_type *t;
    if (abi_type_parse(&t, s) != FERRY_OK)
        fail_msg("cannot parse type %s: %s", s, ferry_errmsg());
    return t;
}

static struct abi_value *value(const struct abi_type *t, const char *text)
{
    struct abi_value *v;
    if (abi_value_parse(&v, t, text) != FERRY_OK)
        fail_msg("cannot parse value %s: %s", text, ferry_errmsg());
    return v;
}

/* The text of v, in a malloc'd string. */
static char *format(const struct abi_value *v)
{
    struct fbuf b;
    fbuf_init(&b, 1u << 24);
    if (abi_value_format(&b, v) != FERRY_OK)
        fail_msg("cannot format: %s", ferry_errmsg());
    if (b.len == 0)
        return strdup("");
    return (char *)fbuf_take(&b, NULL);
}

static void encode(const struct abi_value *v, struct fbuf *b)
{
    fbuf_init(b, 1u << 24);
    if (abi_encode(b, v) != FERRY_OK)
        fail_msg("cannot encode: %s", ferry_errmsg());
}

#define assert_fails(expr, code, needle)                                                                       \
    do {                                                                                                       \
        ferry_err_clear();                                                                                     \
        enum ferry_err e_ = (expr);                                                                            \
        if (e_ != (code) || !strstr(ferry_errmsg(), (needle)))                                                 \
            fail_msg("%s: got %d \"%s\", expected %d with \"%s\"", #expr, e_, ferry_errmsg(), code, needle); \
    } while (0)

static const char *str(const cJSON *o, const char *k) { return cJSON_GetObjectItem(o, k)->valuestring; }

/* Collects a JSON array of strings into argv form (pointers into the JSON). */
static size_t strings(const cJSON *arr, const char **out, size_t cap)
{
    size_t n = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, arr)
    {
        assert_true(n < cap);
        out[n++] = x->valuestring;
    }
    return n;
}

/* ---------------------------------------------------------------- cast vectors */

/* Each vector: cast's arguments encode to cast's bytes; the bytes decode to the same values,
 * which print as cast abi-decode prints them; the fast field decoder agrees; text round-trips. */
static void vectors_encode(void **state)
{
    cJSON *j = tu_load_vectors("abi.json");
    const cJSON *vec;
    int count = 0;
    cJSON_ArrayForEach(vec, cJSON_GetObjectItem(j, "encode"))
    {
        const char *args[64], *dec[64];
        size_t na = strings(cJSON_GetObjectItem(vec, "args"), args, 64);
        size_t nd = strings(cJSON_GetObjectItem(vec, "decoded"), dec, 64);
        struct abi_type *t = type(str(vec, "types"));
        struct abi_value *in, *out, *back;
        if (abi_args_parse(&in, t, args, na) != FERRY_OK)
            fail_msg("%s: %s", str(vec, "types"), ferry_errmsg());
        struct fbuf b;
        encode(in, &b);
        if (b.len)
            tu_assert_hex_equal(b.data, b.len, str(vec, "encoded"));
        else
            assert_string_equal(str(vec, "encoded"), "0x");

        size_t n;
        uint8_t *data = tu_unhex(str(vec, "encoded"), &n);
        assert_int_equal(abi_decode(&out, t, data, n), FERRY_OK);
        assert_true(abi_value_equal(in, out));
        assert_int_equal(out->u.list.count, nd);
        for (size_t i = 0; i < nd; i++) {
            char *s = format(&out->u.list.items[i]);
            if (strcmp(s, dec[i]) != 0)
                fail_msg("%s value %zu: formatted %s, cast printed %s", str(vec, "types"), i, s, dec[i]);
            free(s);
        }
        /* Re-encoding the decoded tree gives the same bytes. */
        struct fbuf b2;
        encode(out, &b2);
        assert_int_equal(b2.len, n);
        if (n)
            assert_memory_equal(b2.data, data, n);

        /* The allocation-free decoder agrees, field by field. */
        struct abi_value fields[64];
        assert_int_equal(abi_decode_fields(fields, t, data, n), FERRY_OK);
        for (size_t i = 0; i < t->count; i++) {
            assert_int_equal(fields[i].form, t->members[i]->kind >= ABI_ARRAY ? ABI_FORM_ENCODED : ABI_FORM_VALUE);
            assert_true(abi_value_equal(&fields[i], &out->u.list.items[i]));
        }

        /* Formatting the whole tuple and parsing it back gives the same value. */
        char *text = format(out);
        back = value(t, text);
        assert_true(abi_value_equal(back, out));

        free(text);
        abi_value_free(back);
        fbuf_free(&b2);
        free(data);
        abi_value_free(out);
        fbuf_free(&b);
        abi_value_free(in);
        abi_type_free(t);
        count++;
    }
    assert_true(count >= 15);
    cJSON_Delete(j);
}

static void vectors_calldata(void **state)
{
    cJSON *j = tu_load_vectors("abi.json");
    const cJSON *vec;
    int count = 0;
    cJSON_ArrayForEach(vec, cJSON_GetObjectItem(j, "calldata"))
    {
        const char *args[16];
        size_t na = strings(cJSON_GetObjectItem(vec, "args"), args, 16);
        struct abi_sig *fn;
        assert_int_equal(abi_function_parse(&fn, str(vec, "sig")), FERRY_OK);
        struct abi_value *in, *out;
        assert_int_equal(abi_args_parse(&in, fn->params, args, na), FERRY_OK);
        struct fbuf b;
        fbuf_init(&b, 1u << 20);
        assert_int_equal(abi_calldata_encode(&b, fn, in), FERRY_OK);
        tu_assert_hex_equal(b.data, b.len, str(vec, "calldata"));
        assert_int_equal(abi_calldata_decode(&out, fn, b.data, b.len), FERRY_OK);
        assert_true(abi_value_equal(in, out));
        abi_value_free(out);
        /* Another function's selector is refused. */
        b.data[0] ^= 1;
        assert_fails(abi_calldata_decode(&out, fn, b.data, b.len), FERRY_EINVAL, "selector");
        assert_null(out);
        fbuf_free(&b);
        abi_value_free(in);
        abi_sig_free(fn);
        count++;
    }
    assert_true(count >= 4);
    cJSON_Delete(j);
}

static void vectors_selectors(void **state)
{
    cJSON *j = tu_load_vectors("abi.json");
    const cJSON *vec;
    int count = 0;
    cJSON_ArrayForEach(vec, cJSON_GetObjectItem(j, "selectors"))
    {
        uint8_t sel[4];
        assert_int_equal(abi_selector(sel, str(vec, "sig")), FERRY_OK);
        tu_assert_hex_equal(sel, 4, str(vec, "selector"));
        /* The canonical text parses to itself. */
        struct abi_sig *a, *b;
        assert_int_equal(abi_function_parse(&a, str(vec, "sig")), FERRY_OK);
        assert_int_equal(abi_function_parse(&b, a->canonical), FERRY_OK);
        assert_string_equal(a->canonical, b->canonical);
        assert_memory_equal(a->hash, b->hash, 32);
        abi_sig_free(a);
        abi_sig_free(b);
        count++;
    }
    assert_true(count >= 8);
    cJSON_Delete(j);
}

static void vectors_events(void **state)
{
    cJSON *j = tu_load_vectors("abi.json");
    const cJSON *vec;
    int count = 0;
    cJSON_ArrayForEach(vec, cJSON_GetObjectItem(j, "events"))
    {
        struct abi_sig *ev;
        assert_int_equal(abi_event_parse(&ev, str(vec, "sig")), FERRY_OK);
        tu_assert_hex_equal(ev->hash, 32, str(vec, "topic0"));
        uint8_t topics[4][32];
        const char *tt[8], *args[16];
        size_t nt = strings(cJSON_GetObjectItem(vec, "topics"), tt, 8);
        size_t na = strings(cJSON_GetObjectItem(vec, "args"), args, 16);
        assert_true(nt <= 4);
        for (size_t i = 0; i < nt; i++)
            assert_int_equal(hex_decode_exact(topics[i], 32, tt[i], HEX_PREFIX_REQUIRED), FERRY_OK);
        size_t n;
        uint8_t *data = tu_unhex(str(vec, "data"), &n);
        assert_true(abi_event_matches(ev, (const uint8_t(*)[32])topics, nt));
        assert_int_equal(na, ev->params->count);

        struct abi_value fields[16], *tree;
        if (abi_event_decode_fields(fields, ev, (const uint8_t(*)[32])topics, nt, data, n) != FERRY_OK)
            fail_msg("%s: %s", str(vec, "sig"), ferry_errmsg());
        assert_int_equal(abi_event_decode(&tree, ev, (const uint8_t(*)[32])topics, nt, data, n), FERRY_OK);
        assert_int_equal(tree->u.list.count, na);
        for (size_t i = 0; i < na; i++) {
            bool hashed = cJSON_IsTrue(cJSON_GetArrayItem(cJSON_GetObjectItem(vec, "hashed"), (int)i));
            if (hashed) {
                uint8_t h[32];
                assert_int_equal(fields[i].form, ABI_FORM_HASH);
                assert_int_equal(abi_get_bytes32(&fields[i], h), FERRY_OK);
                tu_assert_hex_equal(h, 32, args[i]);
            } else {
                struct abi_value *want = value(ev->params->members[i], args[i]);
                assert_true(abi_value_equal(&fields[i], want));
                abi_value_free(want);
            }
            assert_true(abi_value_equal(&fields[i], &tree->u.list.items[i]));
            assert_int_equal(tree->u.list.items[i].form, hashed ? ABI_FORM_HASH : ABI_FORM_VALUE);
        }
        abi_value_free(tree);

        /* A log of another event, or with a topic missing, is refused. */
        if (!ev->anonymous) {
            topics[0][5] ^= 0x40;
            assert_false(abi_event_matches(ev, (const uint8_t(*)[32])topics, nt));
            assert_fails(abi_event_decode_fields(fields, ev, (const uint8_t(*)[32])topics, nt, data, n),
                         FERRY_EINVAL, "topic0");
            topics[0][5] ^= 0x40;
        }
        if (nt) {
            assert_false(abi_event_matches(ev, (const uint8_t(*)[32])topics, nt - 1));
            assert_fails(abi_event_decode(&tree, ev, (const uint8_t(*)[32])topics, nt - 1, data, n), FERRY_EINVAL,
                         "topics");
            assert_null(tree);
        }
        free(data);
        abi_sig_free(ev);
        count++;
    }
    assert_true(count >= 6);
    cJSON_Delete(j);
}

/* ---------------------------------------------------------------- the hot path */

/* The daemon's use: decode PacketSent with typed getters, no allocation. */
static void packet_sent_getters(void **state)
{
    cJSON *j = tu_load_vectors("abi.json");
    const cJSON *vec = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "events"), 1);
    assert_non_null(strstr(str(vec, "sig"), "PacketSent("));
    struct abi_sig *ev;
    assert_int_equal(abi_event_parse(&ev, str(vec, "sig")), FERRY_OK);
    assert_int_equal(ev->n_indexed, 3);
    assert_string_equal(ev->canonical, "PacketSent(uint64,uint64,bytes32,uint64,bytes32,uint64,bytes)");
    uint8_t topics[4][32];
    for (int i = 0; i < 4; i++)
        assert_int_equal(
            hex_decode_exact(topics[i], 32, cJSON_GetArrayItem(cJSON_GetObjectItem(vec, "topics"), i)->valuestring,
                             HEX_PREFIX_REQUIRED),
            FERRY_OK);
    size_t n;
    uint8_t *data = tu_unhex(str(vec, "data"), &n);
    struct abi_value f[7];
    assert_int_equal(abi_event_decode_fields(f, ev, (const uint8_t(*)[32])topics, 4, data, n), FERRY_OK);
    uint64_t dst, seq, src, timeout;
    uint8_t sender[32], receiver[32], addr[20];
    const uint8_t *payload;
    size_t plen;
    assert_int_equal(abi_get_u64(&f[0], &dst), FERRY_OK);
    assert_int_equal(abi_get_u64(&f[1], &seq), FERRY_OK);
    assert_int_equal(abi_get_bytes32(&f[2], sender), FERRY_OK);
    assert_int_equal(abi_get_u64(&f[3], &src), FERRY_OK);
    assert_int_equal(abi_get_bytes32(&f[4], receiver), FERRY_OK);
    assert_int_equal(abi_get_u64(&f[5], &timeout), FERRY_OK);
    assert_int_equal(abi_get_bytes(&f[6], &payload, &plen), FERRY_OK);
    assert_int_equal(dst, 31337);
    assert_int_equal(seq, 42);
    assert_int_equal(src, 1);
    assert_int_equal(timeout, 1700000000);
    tu_assert_hex_equal(sender, 32, "1c8aff950685c2ed4bc3174f3472287b56d9517b9c948127319a09a7a36deac8");
    tu_assert_hex_equal(receiver + 12, 20, "ab8483f64d9c6d1ecf9b849ae677dd3315835cb2");
    assert_int_equal(plen, 200);
    assert_true(payload > data && payload + plen <= data + n); /* a view into the log data */
    assert_int_equal(payload[0], 5);
    assert_int_equal(payload[199], (199 * 13 + 5) % 256);
    /* Getters refuse other types. */
    assert_fails(abi_get_address(&f[0], addr), FERRY_EINVAL, "expected an address, got uint64 (dstChain)");
    assert_fails(abi_get_u64(&f[6], &dst), FERRY_EINVAL, "expected an integer, got bytes (payload)");
    free(data);
    abi_sig_free(ev);
    cJSON_Delete(j);
}

static void getters_ranges(void **state)
{
    struct abi_type *t = type("(uint256,int256,int8,uint64,bool,address,bytes4,string)");
    struct abi_value *v =
        value(t, "(18446744073709551616, -9223372036854775809, -128, 18446744073709551615, true, "
                 "0x000000000000000000000000000000000000dEaD, 0x01020304, \"hi\")");
    const struct abi_value *it = v->u.list.items;
    uint64_t u;
    int64_t i;
    u256 x;
    bool b;
    uint8_t a[20], w[32];
    const uint8_t *p;
    size_t n;
    assert_fails(abi_get_u64(&it[0], &u), FERRY_ERANGE, "18446744073709551616 does not fit in 64 bits");
    assert_int_equal(abi_get_u256(&it[0], &x), FERRY_OK);
    assert_int_equal(x.w[1], 1);
    assert_int_equal(x.w[0], 0);
    assert_fails(abi_get_i64(&it[1], &i), FERRY_ERANGE, "does not fit");
    assert_fails(abi_get_u256(&it[1], &x), FERRY_ERANGE, "negative");
    assert_int_equal(abi_get_i64(&it[2], &i), FERRY_OK);
    assert_int_equal(i, -128);
    assert_fails(abi_get_u64(&it[2], &u), FERRY_ERANGE, "negative");
    assert_int_equal(abi_get_u64(&it[3], &u), FERRY_OK);
    assert_true(u == UINT64_MAX);
    assert_fails(abi_get_i64(&it[3], &i), FERRY_ERANGE, "does not fit");
    assert_int_equal(abi_get_bool(&it[4], &b), FERRY_OK);
    assert_true(b);
    assert_int_equal(abi_get_address(&it[5], a), FERRY_OK);
    tu_assert_hex_equal(a, 20, "000000000000000000000000000000000000dead");
    assert_int_equal(abi_get_bytes32(&it[6], w), FERRY_OK);
    tu_assert_hex_equal(w, 32, "0102030400000000000000000000000000000000000000000000000000000000");
    assert_int_equal(abi_get_bytes(&it[6], &p, &n), FERRY_OK);
    tu_assert_hex_equal(p, n, "01020304");
    assert_int_equal(abi_get_bytes(&it[7], &p, &n), FERRY_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(p, "hi", 2);
    assert_fails(abi_get_bool(&it[7], &b), FERRY_EINVAL, "expected a bool, got string");
    assert_fails(abi_get_bytes32(&it[7], w), FERRY_EINVAL, "bytesN");
    assert_fails(abi_get_bytes(v, &p, &n), FERRY_EINVAL, "expected bytes");
    abi_value_free(v);
    abi_type_free(t);
}

/* Values built with the setters encode like cast's calldata. */
static void setters_build_calldata(void **state)
{
    struct abi_sig *fn;
    assert_int_equal(abi_function_parse(&fn, "transfer(address to, uint amount)"), FERRY_OK);
    assert_string_equal(fn->canonical, "transfer(address,uint256)");
    struct abi_value items[2], args;
    uint8_t to[20];
    assert_int_equal(hex_decode_exact(to, 20, "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4", HEX_PREFIX_REQUIRED),
                     FERRY_OK);
    assert_int_equal(abi_set_address(&items[0], fn->params->members[0], to), FERRY_OK);
    assert_int_equal(abi_set_uint(&items[1], fn->params->members[1], u256_from_u64(1000000000000000000ull)),
                     FERRY_OK);
    assert_int_equal(abi_set_list(&args, fn->params, items, 2), FERRY_OK);
    struct fbuf b;
    fbuf_init(&b, 4096);
    assert_int_equal(abi_calldata_encode(&b, fn, &args), FERRY_OK);
    cJSON *j = tu_load_vectors("abi.json");
    tu_assert_hex_equal(b.data, b.len, str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "calldata"), 0), "calldata"));
    cJSON_Delete(j);
    fbuf_free(&b);

    /* Range checks in the setters. */
    struct abi_type *t = type("(uint8,int8,bytes2,bool,string,uint8[2])");
    struct abi_value v;
    assert_fails(abi_set_uint(&v, t->members[0], u256_from_u64(256)), FERRY_ERANGE, "uint8 cannot hold 0x100");
    assert_int_equal(abi_set_uint(&v, t->members[0], u256_from_u64(255)), FERRY_OK);
    assert_fails(abi_set_int(&v, t->members[1], -129), FERRY_ERANGE, "int8 cannot hold");
    assert_fails(abi_set_int(&v, t->members[1], 128), FERRY_ERANGE, "int8 cannot hold");
    assert_int_equal(abi_set_int(&v, t->members[1], -128), FERRY_OK);
    assert_fails(abi_set_uint(&v, t->members[1], u256_from_u64(128)), FERRY_ERANGE, "int8");
    assert_fails(abi_set_int(&v, t->members[0], -1), FERRY_EINVAL, "intN");
    assert_fails(abi_set_bytes(&v, t->members[2], (const uint8_t *)"abc", 3), FERRY_EINVAL, "bytes2 needs 2 bytes");
    assert_fails(abi_set_bool(&v, t->members[4], true), FERRY_EINVAL, "non-bool");
    assert_fails(abi_set_list(&v, t->members[5], items, 3), FERRY_EINVAL, "has 2 members, got 3");
    assert_fails(abi_set_address(&v, t->members[0], to), FERRY_EINVAL, "non-address");
    abi_type_free(t);
    abi_sig_free(fn);
}

/* Encoding checks the tree against its types and frees the buffer on failure. */
static void encoder_checks(void **state)
{
    struct abi_type *t = type("(uint8,bytes,uint16[2])");
    struct abi_value *v = value(t, "(1, 0x02, [3, 4])");
    struct fbuf b;

    fbuf_init(&b, 4096);
    assert_int_equal(fbuf_addstr(&b, "prefix"), FERRY_OK);
    v->u.list.items[0].u.word[0] = 1; /* a uint8 with a high bit set */
    assert_fails(abi_encode(&b, v), FERRY_ERANGE, "is not a valid uint8");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    v->u.list.items[0].u.word[0] = 0;

    v->u.list.items[2].u.list.count = 1; /* uint16[2] with one element */
    fbuf_init(&b, 4096);
    assert_fails(abi_encode(&b, v), FERRY_EINVAL, "uint16[2] needs 2 values, got 1");
    v->u.list.items[2].u.list.count = 2;

    struct abi_type *other = type("uint32");
    v->u.list.items[0].type = other; /* a member of the wrong type */
    fbuf_init(&b, 4096);
    assert_fails(abi_encode(&b, v), FERRY_EINVAL, "expected a value of type uint8, got uint32");
    v->u.list.items[0].type = t->members[0];

    fbuf_init(&b, 64); /* the buffer's cap */
    assert_fails(abi_encode(&b, v), FERRY_ENOMEM, "cap");
    assert_null(b.data);

    fbuf_init(&b, 4096);
    assert_int_equal(abi_encode(&b, v), FERRY_OK);
    assert_int_equal(b.len, 32 * 6);
    fbuf_free(&b);
    abi_type_free(other);
    abi_value_free(v);
    abi_type_free(t);
}

/* A type that is not a tuple is one parameter: abi.encode(x) / abi.decode(data, (T)). */
static void single_parameter(void **state)
{
    struct abi_type *t = type("bytes"), *tt = type("(bytes)");
    struct abi_value *v = value(t, "0xabcdef"), *w = value(tt, "(0xabcdef)"), *d;
    struct fbuf a, b;
    encode(v, &a);
    encode(w, &b);
    assert_int_equal(a.len, 96);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_int_equal(abi_decode(&d, t, a.data, a.len), FERRY_OK);
    assert_true(abi_value_equal(d, v));
    abi_value_free(d);
    fbuf_free(&a);
    fbuf_free(&b);
    abi_value_free(v);
    abi_value_free(w);
    abi_type_free(t);
    abi_type_free(tt);

    t = type("uint16");
    v = value(t, "0x1234");
    encode(v, &a);
    tu_assert_hex_equal(a.data, a.len, "0000000000000000000000000000000000000000000000000000000000001234");
    fbuf_free(&a);
    abi_value_free(v);
    abi_type_free(t);
}

/* ---------------------------------------------------------------- malformed input */

/* Builds data from 32-byte words given as hex strings (short ones are left-padded with zeros). */
static size_t words(uint8_t *out, const char *const *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(w[i]), got;
        uint8_t tmp[32];
        assert_int_equal(hex_decode(tmp, 32, &got, w[i], l, HEX_PREFIX_FORBIDDEN), FERRY_OK);
        memset(out + 32 * i, 0, 32);
        memcpy(out + 32 * i + 32 - got, tmp, got);
    }
    return 32 * n;
}

#define WORDS(buf, ...) words(buf, (const char *const[]){__VA_ARGS__}, sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *))

static void check_decode_fails(const char *types, const uint8_t *data, size_t n, enum ferry_err code,
                               const char *needle)
{
    struct abi_type *t = type(types);
    struct abi_value *v = (struct abi_value *)1, fields[8];
    ferry_err_clear();
    enum ferry_err e = abi_decode(&v, t, data, n);
    if (e != code || !strstr(ferry_errmsg(), needle))
        fail_msg("decode %s: got %d \"%s\", expected %d with \"%s\"", types, e, ferry_errmsg(), code, needle);
    assert_null(v);
    if (t->kind == ABI_TUPLE && t->count <= 8) {
        ferry_err_clear();
        e = abi_decode_fields(fields, t, data, n);
        if (e != code || !strstr(ferry_errmsg(), needle))
            fail_msg("fields %s: got %d \"%s\", expected %d with \"%s\"", types, e, ferry_errmsg(), code, needle);
    }
    abi_type_free(t);
}

static void malformed_offsets_and_lengths(void **state)
{
    uint8_t d[32 * 16];
    size_t n;
    /* An offset past the end, naming the field and the data size. */
    n = WORDS(d, "01", "1000", "00");
    check_decode_fails("(uint8,bytes,uint8)", d, n, FERRY_EINVAL,
                       "offset 0x1000 of field 1 points past the end (data is 96 bytes)");
    /* An offset of 2^255. */
    n = WORDS(d, "8000000000000000000000000000000000000000000000000000000000000000");
    check_decode_fails("(string)", d, n, FERRY_EINVAL, "offset 0x8000");
    /* A length of 2^255. */
    n = WORDS(d, "20", "8000000000000000000000000000000000000000000000000000000000000000");
    check_decode_fails("(bytes)", d, n, FERRY_EINVAL, "length 0x8000");
    /* A length one more than the data. */
    n = WORDS(d, "20", "21", "aa");
    check_decode_fails("(bytes)", d, n, FERRY_EINVAL, "length 0x21 of field 0 exceeds the data after it");
    /* An array count of 2^255, and one that merely exceeds what the data could hold. */
    n = WORDS(d, "20", "8000000000000000000000000000000000000000000000000000000000000000");
    check_decode_fails("(uint256[])", d, n, FERRY_EINVAL, "array length 0x8000");
    n = WORDS(d, "20", "03", "01", "02");
    check_decode_fails("(uint256[])", d, n, FERRY_EINVAL, "array length 0x3 of field 0 exceeds the data");
    /* Truncated data: a head shorter than the static part. */
    n = WORDS(d, "01", "02");
    check_decode_fails("(uint8,uint8,uint8)", d, n, FERRY_EINVAL, "runs past the end (data is 64 bytes)");
    check_decode_fails("(uint8,uint8,uint8)", d, 0, FERRY_EINVAL, "runs past the end (data is 0 bytes)");
    check_decode_fails("(uint64[3])", d, n, FERRY_EINVAL, "runs past the end");
    /* bytes whose padding is cut off or not zero. */
    n = WORDS(d, "20", "03", "aabbcc");
    assert_int_equal(n, 96);
    check_decode_fails("(bytes)", d, 64 + 3, FERRY_EINVAL, "padding of field 0");
    n = WORDS(d, "20", "03", "aabbcc0000000000000000000000000000000000000000000000000000000001");
    check_decode_fails("(string)", d, n, FERRY_EINVAL, "non-zero padding byte at offset 95 of field 0");
    /* A nested offset error names the path. */
    n = WORDS(d, "20", "02", "40", "ffff", "00");
    check_decode_fails("(bytes[])", d, n, FERRY_EINVAL, "offset 0xffff of field 0[1] points past the end");
}

static void malformed_words(void **state)
{
    uint8_t d[32 * 4];
    size_t n;
    n = WORDS(d, "0100");
    check_decode_fails("(uint8)", d, n, FERRY_EINVAL, "field 0 at offset 0 is not a valid uint8 word: 0x100");
    n = WORDS(d, "80");
    check_decode_fails("(int8)", d, n, FERRY_EINVAL, "not a valid int8 word");
    n = WORDS(d, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    check_decode_fails("(int8)", d, n, FERRY_EINVAL, "not a valid int8 word");
    n = WORDS(d, "010000000000000000000000000000000000000000dead");
    check_decode_fails("(address)", d, n, FERRY_EINVAL, "not a valid address word");
    n = WORDS(d, "02");
    check_decode_fails("(bool)", d, n, FERRY_EINVAL, "not a valid bool word");
    n = WORDS(d, "aabbcc0000000000000000000000000000000000000000000000000000000001");
    check_decode_fails("(bytes3)", d, n, FERRY_EINVAL, "not a valid bytes3 word");
    /* Valid words of each kind decode. */
    n = WORDS(d, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80", "7f",
              "aabbcc0000000000000000000000000000000000000000000000000000000000", "01");
    struct abi_type *t = type("(int8,int8,bytes3,bool)");
    struct abi_value *v;
    assert_int_equal(abi_decode(&v, t, d, n), FERRY_OK);
    char *s = format(v);
    assert_string_equal(s, "(-128, 127, 0xaabbcc, true)");
    free(s);
    abi_value_free(v);
    abi_type_free(t);
}

/* Offsets that all point at the same data describe a value far larger than the input. */
static void aliasing_bomb(void **state)
{
    /* uint8[][][][][][]: at every level an array of 64 elements whose offsets all point to the
     * same child: 64^6 nodes from about 14 KB. */
    enum { LEVELS = 6, FAN = 64 };
    size_t per = 32 + 32 * FAN, n = 32 + LEVELS * per + 32;
    uint8_t *d = calloc(1, n);
    d[31] = 0x20;
    for (int l = 0; l < LEVELS; l++) {
        uint8_t *a = d + 32 + (size_t)l * per;
        a[31] = FAN;
        for (int i = 0; i < FAN; i++) {
            /* Relative to the array's element area: the next level starts right after this one. */
            size_t off = 32 * FAN;
            a[32 + 32 * i + 30] = (uint8_t)(off >> 8);
            a[32 + 32 * i + 31] = (uint8_t)off;
        }
    }
    /* The innermost array (a uint8[]) is empty. */
    check_decode_fails("(uint8[][][][][][][])", d, n, FERRY_ERANGE, "larger than 262144 nodes");
    free(d);
}

static void malformed_calldata_and_events(void **state)
{
    struct abi_sig *fn, *ev;
    struct abi_value *v;
    assert_int_equal(abi_function_parse(&fn, "f(uint8)"), FERRY_OK);
    assert_fails(abi_calldata_decode(&v, fn, (const uint8_t *)"\x01\x02", 2), FERRY_EINVAL, "no selector");
    abi_sig_free(fn);

    assert_int_equal(abi_event_parse(&ev, "E(address indexed who, uint8 indexed k, bytes payload)"), FERRY_OK);
    uint8_t topics[3][32] = {{0}}, d[32 * 4];
    memcpy(topics[0], ev->hash, 32);
    topics[1][0] = 1; /* an address topic with upper bytes set */
    struct abi_value f[3];
    size_t n = WORDS(d, "20", "00");
    assert_fails(abi_event_decode_fields(f, ev, (const uint8_t(*)[32])topics, 3, d, n), FERRY_EINVAL,
                 "topic 1 (field 0 (who)) is not a valid address word");
    topics[1][0] = 0;
    topics[2][30] = 1;
    assert_fails(abi_event_decode(&v, ev, (const uint8_t(*)[32])topics, 3, d, n), FERRY_EINVAL,
                 "topic 2 (field 1 (k)) is not a valid uint8 word");
    topics[2][30] = 0;
    assert_int_equal(abi_event_decode_fields(f, ev, (const uint8_t(*)[32])topics, 3, d, n), FERRY_OK);
    /* Data errors name the event and the parameter's place in the signature. */
    n = WORDS(d, "40");
    assert_fails(abi_event_decode_fields(f, ev, (const uint8_t(*)[32])topics, 3, d, n), FERRY_EINVAL,
                 "event E: abi: offset 0x40 of field 2 (payload) points past the end (data is 32 bytes)");
    assert_fails(abi_event_decode(&v, ev, (const uint8_t(*)[32])topics, 3, d, 0), FERRY_EINVAL,
                 "the head of the data at offset 0 runs past the end (data is 0 bytes)");
    assert_null(v);
    abi_sig_free(ev);
}

/* Random corruption of valid encodings: every outcome is a clean success or a clean error. */
static void corrupted_encodings(void **state)
{
    cJSON *j = tu_load_vectors("abi.json");
    const cJSON *vec;
    int failures = 0, trials = 0;
    cJSON_ArrayForEach(vec, cJSON_GetObjectItem(j, "encode"))
    {
        struct abi_type *t = type(str(vec, "types"));
        size_t n;
        uint8_t *data = tu_unhex(str(vec, "encoded"), &n);
        for (int r = 0; r < 40 && n; r++) {
            uint8_t *c = malloc(n);
            memcpy(c, data, n);
            size_t len = r % 4 == 0 ? (size_t)(tu_rand() % n) : n;
            for (int k = 0; k < 1 + r % 3; k++)
                c[tu_rand() % n] ^= (uint8_t)(1u << (tu_rand() % 8));
            struct abi_value *v;
            ferry_err_clear();
            enum ferry_err e = abi_decode(&v, t, c, len);
            if (e) {
                assert_true(strlen(ferry_errmsg()) > 10);
                assert_null(v);
                failures++;
            } else {
                /* What decodes re-encodes and decodes to the same value. */
                struct fbuf b;
                struct abi_value *w;
                encode(v, &b);
                assert_int_equal(abi_decode(&w, t, b.data, b.len), FERRY_OK);
                assert_true(abi_value_equal(v, w));
                abi_value_free(w);
                fbuf_free(&b);
                abi_value_free(v);
            }
            free(c);
            trials++;
        }
        free(data);
        abi_type_free(t);
    }
    assert_true(trials > 400);
    assert_true(failures > trials / 4); /* most corruptions are caught */
    cJSON_Delete(j);
}

/* ---------------------------------------------------------------- types and signatures */

static void types_canonical(void **state)
{
    static const char *const cases[][2] = {
        {"uint", "uint256"},
        {"int", "int256"},
        {"uint8", "uint8"},
        {"bytes32", "bytes32"},
        {"bytes1[]", "bytes1[]"},
        {"( uint , bytes )[2][]", "(uint256,bytes)[2][]"},
        {"tuple(uint8 a, string b)[]", "(uint8,string)[]"},
        {"((address x,(bool,int[3]) y) z,string)", "((address,(bool,int256[3])),string)"},
        {"()", "()"},
        {"  string  ", "string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct abi_type *t = type(cases[i][0]);
        struct fbuf b;
        fbuf_init(&b, 1024);
        assert_int_equal(abi_type_canonical(&b, t), FERRY_OK);
        assert_string_equal((char *)(b.len ? (char *)b.data : ""), cases[i][1]);
        struct abi_type *u = type(cases[i][1]);
        assert_true(abi_type_equal(t, u));
        fbuf_free(&b);
        abi_type_free(u);
        abi_type_free(t);
    }
    struct abi_type *t = type("(uint64 a, bytes b)[2]"), *u = type("(uint64,bytes)[3]");
    assert_false(abi_type_equal(t, u));
    assert_true(t->dynamic);
    assert_int_equal(t->head, 32);
    assert_int_equal(t->inner, 64);
    assert_string_equal(t->elem->members[1]->name, "b");
    abi_type_free(t);
    abi_type_free(u);
    t = type("(uint64,bytes32)[3]");
    assert_false(t->dynamic);
    assert_int_equal(t->head, 192);
    abi_type_free(t);
}

static void types_rejected(void **state)
{
    static const struct {
        const char *text;
        enum ferry_err code;
        const char *needle;
    } cases[] = {
        {"uint7", FERRY_EINVAL, "invalid size"},
        {"uint264", FERRY_EINVAL, "invalid size"},
        {"uint08", FERRY_EINVAL, "leading zero"},
        {"int0", FERRY_EINVAL, "invalid size"},
        {"bytes0", FERRY_EINVAL, "invalid size"},
        {"bytes33", FERRY_EINVAL, "invalid size"},
        {"uint256[0]", FERRY_EINVAL, "length 0"},
        {"uint256[01]", FERRY_EINVAL, "leading zero"},
        {"uint256[x]", FERRY_EINVAL, "expected an array length"},
        {"uint256[2", FERRY_EINVAL, "expected ']'"},
        {"(uint8", FERRY_EINVAL, "expected ',' or ')'"},
        {"(uint8,)", FERRY_EINVAL, "expected a type"},
        {"(())", FERRY_EINVAL, "empty tuple"},
        {"()[]", FERRY_EINVAL, "array of empty tuples"},
        {"fixed128x18", FERRY_EUNSUPPORTED, "not supported"},
        {"function", FERRY_EUNSUPPORTED, "not supported"},
        {"address payable", FERRY_EINVAL, "unexpected text"},
        {"strin", FERRY_EINVAL, "unknown type"},
        {"uint256[100000000]", FERRY_ERANGE, "too large"},
        {"uint256[65536][65536]", FERRY_ERANGE, "too large"},
        {"(uint8 indexed a)", FERRY_EINVAL, "'indexed'"},
        {"(uint8 a b)", FERRY_EINVAL, "unexpected word"},
        {"uint8 x", FERRY_EINVAL, "unexpected text"},
        {"", FERRY_EINVAL, "expected a type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct abi_type *t = (struct abi_type *)1;
        ferry_err_clear();
        enum ferry_err e = abi_type_parse(&t, cases[i].text);
        if (e != cases[i].code || !strstr(ferry_errmsg(), cases[i].needle))
            fail_msg("type \"%s\": got %d \"%s\"", cases[i].text, e, ferry_errmsg());
        assert_null(t);
    }
    /* Nesting: 32 levels parse, 33 do not, through arrays and through tuples. */
    struct abi_type *t;
    char deep[400];
    strcpy(deep, "uint8");
    for (int i = 0; i < 31; i++)
        strcat(deep, "[]");
    t = type(deep);
    assert_int_equal(t->depth, 32);
    abi_type_free(t);
    strcat(deep, "[]");
    assert_fails(abi_type_parse(&t, deep), FERRY_ERANGE, "32 levels");
    for (int levels = 31; levels <= 40; levels += 9) {
        char tup[200] = "";
        for (int i = 0; i < levels; i++)
            strcat(tup, "(");
        strcat(tup, "bool");
        for (int i = 0; i < levels; i++)
            strcat(tup, ")");
        if (levels == 31) {
            t = type(tup);
            assert_int_equal(t->depth, 32);
            abi_type_free(t);
        } else {
            assert_fails(abi_type_parse(&t, tup), FERRY_ERANGE, "32 levels");
        }
    }
    strcpy(deep, "(((((((((((((((((((((((((((((((bool)))))))))))))))))))))))))))))))[]");
    assert_fails(abi_type_parse(&t, deep), FERRY_ERANGE, "32 levels");
}

static void signatures(void **state)
{
    struct abi_sig *s;
    uint8_t sel[4], topic[32];
    assert_int_equal(abi_selector(sel, "transfer(address,uint256)"), FERRY_OK);
    tu_assert_hex_equal(sel, 4, "a9059cbb");
    assert_int_equal(abi_event_topic(topic, "Transfer(address indexed from, address indexed to, uint256 value)"),
                     FERRY_OK);
    tu_assert_hex_equal(topic, 32, "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");

    assert_int_equal(abi_event_parse(&s, " E ( uint8 indexed a , (bool,string) b , bytes indexed ) anonymous "),
                     FERRY_OK);
    assert_string_equal(s->name, "E");
    assert_string_equal(s->canonical, "E(uint8,(bool,string),bytes)");
    assert_true(s->anonymous);
    assert_int_equal(s->n_indexed, 2);
    assert_int_equal(s->data->count, 1);
    assert_int_equal(s->data_param[0], 1);
    assert_ptr_equal(s->data->members[0], s->params->members[1]);
    abi_sig_free(s);

    assert_fails(abi_function_parse(&s, "f(uint8 indexed a)"), FERRY_EINVAL, "'indexed'");
    assert_fails(abi_event_parse(&s, "E(uint8 indexed indexed)"), FERRY_EINVAL, "'indexed'");
    assert_fails(abi_event_parse(&s, "E(uint8 indexed a, uint8 indexed b, uint8 indexed c, uint8 indexed d)"),
                 FERRY_EINVAL, "4 indexed parameters; at most 3");
    assert_int_equal(
        abi_event_parse(&s, "E(uint8 indexed a, uint8 indexed b, uint8 indexed c, uint8 indexed d) anonymous"),
        FERRY_OK);
    abi_sig_free(s);
    assert_fails(abi_event_parse(&s, "E((uint8 indexed a) x)"), FERRY_EINVAL, "'indexed'");
    assert_fails(abi_function_parse(&s, "f(uint8) anonymous"), FERRY_EINVAL, "unexpected text");
    assert_fails(abi_function_parse(&s, "(uint8)"), FERRY_EINVAL, "expected a function name");
    assert_fails(abi_function_parse(&s, "f"), FERRY_EINVAL, "expected '('");
    assert_fails(abi_selector(sel, "f(uint9)"), FERRY_EINVAL, "invalid size");
    assert_null(s);
}

/* ---------------------------------------------------------------- value text */

static void text_rejected(void **state)
{
    static const struct {
        const char *type, *text;
        enum ferry_err code;
        const char *needle;
    } cases[] = {
        {"uint8", "256", FERRY_ERANGE, "out of range for uint8"},
        {"uint8", "-1", FERRY_ERANGE, "negative"},
        {"int8", "-129", FERRY_ERANGE, "out of range for int8"},
        {"int8", "128", FERRY_ERANGE, "out of range for int8"},
        {"uint256", "115792089237316195423570985008687907853269984665640564039457584007913129639936",
         FERRY_ERANGE, "out of range for uint256"},
        {"uint16", "007", FERRY_EINVAL, "no leading zero"},
        {"int16", "1e3", FERRY_EINVAL, "not an integer"},
        {"uint256", "0x10000000000000000000000000000000000000000000000000000000000000000", FERRY_ERANGE,
         "wider than 256 bits"},
        {"uint16", "0x1g", FERRY_EINVAL, "bad hex digit"},
        {"uint16", "", FERRY_EINVAL, "expected an integer"},
        {"address", "0x5b38Da6a701c568545dCfcB03FcB875f56beddC4", FERRY_EINVAL, "checksum"},
        {"address", "0x1234", FERRY_EINVAL, "expected an address"},
        {"bytes3", "0x0102", FERRY_EINVAL, "bytes3 needs exactly 3 bytes, got 2"},
        {"bytes", "0x123", FERRY_EINVAL, "odd number"},
        {"bytes", "1234", FERRY_EINVAL, "expected 0x"},
        {"string", "\"abc", FERRY_EINVAL, "unterminated"},
        {"string", "abc", FERRY_EINVAL, "expected a quoted string"},
        {"string", "\"a\\qb\"", FERRY_EINVAL, "unknown escape"},
        {"string", "\"\\u{d800}\"", FERRY_EINVAL, "bad \\u{...}"},
        {"bool", "yes", FERRY_EINVAL, "expected true or false"},
        {"uint8[2]", "[1]", FERRY_EINVAL, "expected 2 values, got 1"},
        {"uint8[2]", "[1,2,3]", FERRY_EINVAL, "too many values"},
        {"uint8[]", "[1,2", FERRY_EINVAL, "expected ',' or ']'"},
        {"(uint8,bool)", "(1)", FERRY_EINVAL, "expected 2 values, got 1"},
        {"(uint8,bool)", "[1,true]", FERRY_EINVAL, "expected '('"},
        {"uint8", "1 2", FERRY_EINVAL, "unexpected text after the value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct abi_type *t = type(cases[i].type);
        struct abi_value *v = (struct abi_value *)1;
        ferry_err_clear();
        enum ferry_err e = abi_value_parse(&v, t, cases[i].text);
        if (e != cases[i].code || !strstr(ferry_errmsg(), cases[i].needle))
            fail_msg("%s \"%s\": got %d \"%s\"", cases[i].type, cases[i].text, e, ferry_errmsg());
        assert_null(v);
        abi_type_free(t);
    }
    /* Arguments: the count, and the argument named in the message. */
    struct abi_type *t = type("(uint8,string)");
    struct abi_value *v;
    assert_fails(abi_args_parse(&v, t, (const char *const[]){"1"}, 1), FERRY_EINVAL, "expected 2 arguments, got 1");
    assert_fails(abi_args_parse(&v, t, (const char *const[]){"300", "x"}, 2), FERRY_ERANGE, "argument 0");
    /* A top-level string is verbatim unless quoted, as with cast. */
    assert_int_equal(abi_args_parse(&v, t, (const char *const[]){"1", "a \"b\", c"}, 2), FERRY_OK);
    char *s = format(v);
    assert_string_equal(s, "(1, \"a \\\"b\\\", c\")");
    free(s);
    abi_value_free(v);
    assert_int_equal(abi_args_parse(&v, t, (const char *const[]){"1", "\"quoted\""}, 2), FERRY_OK);
    s = format(v);
    assert_string_equal(s, "(1, \"quoted\")");
    free(s);
    abi_value_free(v);
    abi_type_free(t);
}

static void text_escapes_roundtrip(void **state)
{
    struct abi_type *t = type("string[]");
    struct abi_value *v = value(t, "[\"\\u{1f600} \\u{e9}\", \"\\0\\t\\\\\", \"\\u{7f}\\u{1b}\", \"\\'\"]");
    const uint8_t *p;
    size_t n;
    assert_int_equal(abi_get_bytes(&v->u.list.items[0], &p, &n), FERRY_OK);
    tu_assert_hex_equal(p, n, "f09f988020c3a9");
    assert_int_equal(abi_get_bytes(&v->u.list.items[1], &p, &n), FERRY_OK);
    tu_assert_hex_equal(p, n, "00095c");
    char *s = format(v);
    assert_string_equal(s, "[\"\xf0\x9f\x98\x80 \xc3\xa9\", \"\\0\\t\\\\\", \"\\u{7f}\\u{1b}\", \"'\"]");
    struct abi_value *w = value(t, s);
    assert_true(abi_value_equal(v, w));
    free(s);
    abi_value_free(w);
    abi_value_free(v);
    abi_type_free(t);
}

/* Random values of random types survive text -> encode -> decode -> text. */
static void gen_type(char *out, size_t cap, int depth)
{
    static const char *const leaves[] = {"uint8", "uint256", "int16", "int256", "address", "bool",
                                         "bytes1", "bytes32", "bytes", "string", "uint64"};
    int r = (int)(tu_rand() % (depth > 3 ? 11 : 15));
    if (r < 11) {
        strncat(out, leaves[r], cap - strlen(out) - 1);
    } else if (r < 13) {
        strncat(out, "(", cap - strlen(out) - 1);
        int m = 1 + (int)(tu_rand() % 3);
        for (int i = 0; i < m; i++) {
            if (i)
                strncat(out, ",", cap - strlen(out) - 1);
            gen_type(out, cap, depth + 1);
        }
        strncat(out, ")", cap - strlen(out) - 1);
    } else {
        gen_type(out, cap, depth + 1);
        char suf[8];
        snprintf(suf, sizeof suf, r == 13 ? "[]" : "[%d]", 1 + (int)(tu_rand() % 3));
        strncat(out, suf, cap - strlen(out) - 1);
    }
}

static void gen_value(struct fbuf *b, const struct abi_type *t)
{
    char tmp[80];
    uint8_t raw[40];
    switch (t->kind) {
    case ABI_UINT:
    case ABI_INT: {
        /* Random words within range, shown in decimal (or hex for unsigned). */
        uint64_t x = tu_rand();
        if (t->kind == ABI_INT) {
            uint64_t mag = t->size < 64 ? x % (1ull << (t->size - 1)) : x >> 1;
            snprintf(tmp, sizeof tmp, "%s%llu", (tu_rand() & 1) ? "-" : "", (unsigned long long)mag);
        } else {
            if (t->size < 64)
                x &= (1ull << t->size) - 1;
            snprintf(tmp, sizeof tmp, (tu_rand() & 1) ? "%llu" : "0x%llx", (unsigned long long)x);
        }
        assert_int_equal(fbuf_addstr(b, tmp), FERRY_OK);
        return;
    }
    case ABI_ADDRESS:
        tu_rand_bytes(raw, 20);
        assert_int_equal(hex_encode_buf(b, raw, 20, true), FERRY_OK);
        return;
    case ABI_BOOL:
        assert_int_equal(fbuf_addstr(b, (tu_rand() & 1) ? "true" : "false"), FERRY_OK);
        return;
    case ABI_FIXED_BYTES:
    case ABI_BYTES: {
        size_t n = t->kind == ABI_FIXED_BYTES ? t->size : (size_t)(tu_rand() % 40);
        tu_rand_bytes(raw, n);
        assert_int_equal(hex_encode_buf(b, raw, n, true), FERRY_OK);
        return;
    }
    case ABI_STRING: {
        size_t n = (size_t)(tu_rand() % 12);
        assert_int_equal(fbuf_addbyte(b, '"'), FERRY_OK);
        for (size_t i = 0; i < n; i++) {
            char c = (char)(0x20 + tu_rand() % 95);
            if (c == '"' || c == '\\')
                assert_int_equal(fbuf_addbyte(b, '\\'), FERRY_OK);
            assert_int_equal(fbuf_addbyte(b, (uint8_t)c), FERRY_OK);
        }
        assert_int_equal(fbuf_addbyte(b, '"'), FERRY_OK);
        return;
    }
    default: {
        size_t n = t->kind == ABI_DYN_ARRAY ? (size_t)(tu_rand() % 4) : t->count;
        assert_int_equal(fbuf_addbyte(b, t->kind == ABI_TUPLE ? '(' : '['), FERRY_OK);
        for (size_t i = 0; i < n; i++) {
            if (i)
                assert_int_equal(fbuf_addstr(b, " , "), FERRY_OK);
            gen_value(b, t->kind == ABI_TUPLE ? t->members[i] : t->elem);
        }
        assert_int_equal(fbuf_addbyte(b, t->kind == ABI_TUPLE ? ')' : ']'), FERRY_OK);
    }
    }
}

static void random_roundtrips(void **state)
{
    for (int round = 0; round < 300; round++) {
        char ts[2048] = "(";
        int m = 1 + (int)(tu_rand() % 4);
        for (int i = 0; i < m; i++) {
            if (i)
                strcat(ts, ",");
            gen_type(ts, sizeof ts - 2, 1);
        }
        strcat(ts, ")");
        struct abi_type *t = type(ts);
        struct fbuf text;
        fbuf_init(&text, 1u << 20);
        gen_value(&text, t);
        struct abi_value *v = value(t, (char *)text.data), *d, *back;
        struct fbuf enc;
        encode(v, &enc);
        if (abi_decode(&d, t, enc.data, enc.len) != FERRY_OK)
            fail_msg("%s %s: %s", ts, (char *)text.data, ferry_errmsg());
        assert_true(abi_value_equal(v, d));
        char *s = format(d);
        back = value(t, s);
        assert_true(abi_value_equal(v, back));
        /* Every strict prefix of an encoding with a tail fails cleanly. */
        if (enc.len)
            for (size_t cut = 0; cut < enc.len; cut += 1 + enc.len / 7) {
                struct abi_value *x;
                assert_int_not_equal(abi_decode(&x, t, enc.data, cut), FERRY_OK);
            }
        free(s);
        abi_value_free(back);
        abi_value_free(d);
        fbuf_free(&enc);
        abi_value_free(v);
        fbuf_free(&text);
        abi_type_free(t);
    }
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vectors_encode),
        cmocka_unit_test(vectors_calldata),
        cmocka_unit_test(vectors_selectors),
        cmocka_unit_test(vectors_events),
        cmocka_unit_test(packet_sent_getters),
        cmocka_unit_test(getters_ranges),
        cmocka_unit_test(setters_build_calldata),
        cmocka_unit_test(encoder_checks),
        cmocka_unit_test(single_parameter),
        cmocka_unit_test(malformed_offsets_and_lengths),
        cmocka_unit_test(malformed_words),
        cmocka_unit_test(aliasing_bomb),
        cmocka_unit_test(malformed_calldata_and_events),
        cmocka_unit_test(corrupted_encodings),
        cmocka_unit_test(types_canonical),
        cmocka_unit_test(types_rejected),
        cmocka_unit_test(signatures),
        cmocka_unit_test(text_rejected),
        cmocka_unit_test(text_escapes_roundtrip),
        cmocka_unit_test(random_roundtrips),
    };
    return TU_RUN(tests);
}
