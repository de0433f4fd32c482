#include <stdio.h>
#include <string.h>

#include "ferry/hex.h"
#include "ferry/rlp.h"
#include "testutil.h"

/* Encodes a vector value (a hex string or a list of values) with begin/end lists. */
static void encode_json(struct rlp_enc *e, const cJSON *v)
{
    if (cJSON_IsArray(v)) {
        rlp_list_begin(e);
        const cJSON *c;
        cJSON_ArrayForEach(c, v) encode_json(e, c);
        rlp_list_end(e);
        return;
    }
    assert_true(cJSON_IsString(v));
    size_t n;
    uint8_t *b = tu_unhex(v->valuestring, &n);
    rlp_put_bytes(e, b, n);
    free(b);
}

/* The encoded size of a vector value, computed with the rlp_size_* helpers. */
static size_t size_json(const cJSON *v)
{
    if (cJSON_IsArray(v)) {
        size_t payload = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, v) payload += size_json(c);
        return rlp_size_list(payload);
    }
    size_t n;
    uint8_t *b = tu_unhex(v->valuestring, &n);
    size_t s = rlp_size_bytes(b, n);
    free(b);
    return s;
}

static size_t payload_json(const cJSON *v)
{
    size_t payload = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, v) payload += size_json(c);
    return payload;
}

/* Encodes with rlp_list_header (the two-pass way), which also works into a hash. */
static void encode_json_two_pass(struct rlp_enc *e, const cJSON *v)
{
    if (cJSON_IsArray(v)) {
        rlp_list_header(e, payload_json(v));
        const cJSON *c;
        cJSON_ArrayForEach(c, v) encode_json_two_pass(e, c);
        return;
    }
    encode_json(e, v);
}

/* Asserts that a decoded item has the shape and bytes of a vector value. */
static void assert_item_matches(const struct rlp_item *it, const cJSON *v)
{
    if (cJSON_IsArray(v)) {
        assert_int_equal(it->kind, RLP_LIST);
        struct rlp_iter iter;
        struct rlp_item child;
        rlp_iter_init(&iter, it);
        const cJSON *c;
        cJSON_ArrayForEach(c, v)
        {
            assert_true(rlp_iter_next(&iter, &child));
            assert_item_matches(&child, c);
        }
        assert_false(rlp_iter_next(&iter, &child));
        return;
    }
    assert_int_equal(it->kind, RLP_STRING);
    const uint8_t *p;
    size_t n;
    assert_int_equal(rlp_get_bytes(it, &p, &n), FERRY_OK);
    tu_assert_hex_equal(p, n, v->valuestring);
}

static void cast_vectors_encode_and_decode(void **state)
{
    cJSON *root = tu_load_vectors("rlp.json");
    const cJSON *v;
    int count = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(root, "valid"))
    {
        const cJSON *value = cJSON_GetObjectItem(v, "value");
        const char *want = cJSON_GetObjectItem(v, "rlp")->valuestring;
        size_t want_n;
        uint8_t *want_b = tu_unhex(want, &want_n);

        struct fbuf out;
        fbuf_init(&out, 1 << 20);
        struct rlp_enc e;
        rlp_enc_init_buf(&e, &out);
        encode_json(&e, value);
        assert_int_equal(rlp_enc_finish(&e), FERRY_OK);
        tu_assert_hex_equal(out.data, out.len, want);
        assert_int_equal(size_json(value), want_n);

        /* The two-pass encoder straight into a hash gives keccak of the same bytes. */
        struct keccak_ctx k;
        uint8_t h1[32], h2[32];
        keccak256_init(&k);
        rlp_enc_init_hash(&e, &k);
        encode_json_two_pass(&e, value);
        assert_int_equal(rlp_enc_finish(&e), FERRY_OK);
        keccak256_final(&k, h1);
        keccak256(h2, want_b, want_n);
        assert_memory_equal(h1, h2, 32);

        struct rlp_item top;
        assert_int_equal(rlp_decode(&top, want_b, want_n), FERRY_OK);
        const cJSON *decoded = cJSON_GetObjectItem(v, "decoded");
        assert_item_matches(&top, cJSON_IsNull(decoded) ? value : decoded);
        assert_int_equal(top.hdr + top.len, want_n);

        /* Any strict prefix is truncated input. */
        if (want_n > 1)
            assert_int_not_equal(rlp_decode(&top, want_b, want_n - 1), FERRY_OK);
        fbuf_free(&out);
        free(want_b);
        count++;
    }
    assert_true(count >= 20);
    cJSON_Delete(root);
}

static void cast_vectors_invalid_rejected(void **state)
{
    cJSON *root = tu_load_vectors("rlp.json");
    const cJSON *v;
    int count = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(root, "invalid"))
    {
        const char *hex = cJSON_GetObjectItem(v, "rlp")->valuestring;
        size_t n;
        uint8_t *b = tu_unhex(hex, &n);
        struct rlp_item top;
        ferry_err_clear();
        enum ferry_err err = rlp_decode(&top, b, n);
        if (err == FERRY_OK)
            fail_msg("accepted %s (%s)", hex, cJSON_GetObjectItem(v, "why")->valuestring);
        assert_non_null(strstr(ferry_errmsg(), "rlp: "));
        assert_non_null(strstr(ferry_errmsg(), "offset"));
        free(b);
        count++;
    }
    assert_true(count >= 10);
    cJSON_Delete(root);
}

static enum ferry_err decode_hex(struct rlp_item *top, const char *hex, uint8_t **keep)
{
    size_t n;
    *keep = tu_unhex(hex, &n);
    return rlp_decode(top, *keep, n);
}

static void messages_name_the_fault(void **state)
{
    struct rlp_item top;
    uint8_t *b;
    assert_int_equal(decode_hex(&top, "c4c2830102", &b), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "string of 3 bytes at offset 2 runs past the end of the enclosing list"));
    free(b);
    assert_int_equal(decode_hex(&top, "8100", &b), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "single byte 0x00 at offset 0"));
    free(b);
    assert_int_equal(decode_hex(&top, "c0c0", &b), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "1 unexpected byte(s) after the top item, at offset 1"));
    free(b);
    assert_int_equal(decode_hex(&top, "c4c0b80101", &b), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "long form used for a string of 1 bytes at offset 2"));
    free(b);
    assert_int_equal(decode_hex(&top, "c5c0b9000101", &b), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "leading zero in the length at offset 2"));
    free(b);
    /* Inside a larger input, offsets count from that input's start. */
    assert_int_equal(decode_hex(&top, "c4c2830102", &b), FERRY_EINVAL);
    free(b);
    size_t n;
    b = tu_unhex("c4c2830102", &n);
    assert_int_equal(rlp_decode_at(&top, b, n, 100), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "string of 3 bytes at offset 102"));
    free(b);
    b = tu_unhex("c3c0c0c0", &n);
    assert_int_equal(rlp_decode_at(&top, b, n, 7), FERRY_OK);
    struct rlp_item items[3];
    size_t count;
    assert_int_equal(rlp_list_items(&top, items, 3, &count), FERRY_OK);
    assert_int_equal(top.off, 7);
    assert_int_equal(items[2].off, 10);
    free(b);
    /* Nothing decodes from nothing. */
    assert_int_equal(rlp_decode(&top, (const uint8_t *)"", 0), FERRY_EINVAL);
}

static void integers(void **state)
{
    struct rlp_item top;
    uint8_t *b;
    uint64_t v;
    u256 w;

    assert_int_equal(decode_hex(&top, "80", &b), FERRY_OK);
    assert_int_equal(rlp_get_u64(&top, &v), FERRY_OK);
    assert_int_equal(v, 0);
    free(b);
    /* 0x00 is a one-byte string, but as an integer it has a leading zero (0 is 0x80). */
    assert_int_equal(decode_hex(&top, "00", &b), FERRY_OK);
    assert_int_equal(rlp_get_u64(&top, &v), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "leading zero in integer at offset 0"));
    free(b);
    assert_int_equal(decode_hex(&top, "c4c0820001", &b), FERRY_OK);
    struct rlp_item items[4];
    size_t count;
    assert_int_equal(rlp_list_items(&top, items, 4, &count), FERRY_OK);
    assert_int_equal(count, 2);
    assert_int_equal(rlp_get_u64(&items[1], &v), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "leading zero in integer at offset 2"));
    assert_int_equal(rlp_get_u64(&items[0], &v), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "got a list"));
    assert_int_equal(rlp_list_items(&top, items, 1, &count), FERRY_EINVAL);
    assert_int_equal(rlp_list_items(&items[1], items, 4, &count), FERRY_EINVAL);
    free(b);
    assert_int_equal(decode_hex(&top, "89010000000000000000", &b), FERRY_OK);
    assert_int_equal(rlp_get_u64(&top, &v), FERRY_ERANGE);
    assert_int_equal(rlp_get_u256(&top, &w), FERRY_OK);
    assert_true(w.w[1] == 1 && w.w[0] == 0);
    free(b);
    assert_int_equal(decode_hex(&top, "a1010000000000000000000000000000000000000000000000000000000000000000", &b),
                     FERRY_OK);
    assert_int_equal(rlp_get_u256(&top, &w), FERRY_ERANGE);
    assert_non_null(strstr(ferry_errmsg(), "33 bytes"));
    uint8_t fixed[20];
    assert_int_equal(rlp_get_fixed(&top, fixed, 20), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "expected 20 bytes at offset 0, got 33"));
    free(b);

    /* Encoding: 0 is the empty string, below 0x80 is the byte itself. */
    struct fbuf out;
    fbuf_init(&out, 1024);
    struct rlp_enc e;
    rlp_enc_init_buf(&e, &out);
    rlp_put_u64(&e, 0);
    rlp_put_u64(&e, 0x7f);
    rlp_put_u64(&e, 0x80);
    rlp_put_u64(&e, UINT64_MAX);
    rlp_put_u256(&e, u256_from_u64(0));
    rlp_put_u256(&e, u256_shl(u256_from_u64(1), 255));
    assert_int_equal(rlp_enc_finish(&e), FERRY_OK);
    tu_assert_hex_equal(out.data, out.len,
                        "807f818088ffffffffffffffff80a08000000000000000000000000000000000000000000000000000000000000000");
    assert_int_equal(rlp_size_u64(0), 1);
    assert_int_equal(rlp_size_u64(0x80), 2);
    assert_int_equal(rlp_size_u256(u256_shl(u256_from_u64(1), 255)), 33);
    fbuf_free(&out);
}

static void random_integers_round_trip(void **state)
{
    for (int i = 0; i < 500; i++) {
        uint8_t be[32];
        tu_rand_bytes(be, 32);
        u256 a = u256_shr(u256_from_be32(be), (unsigned)(tu_rand() % 257));
        uint64_t small = tu_rand() >> (tu_rand() % 64);
        struct fbuf out;
        fbuf_init(&out, 1024);
        struct rlp_enc e;
        rlp_enc_init_buf(&e, &out);
        rlp_list_begin(&e);
        rlp_put_u256(&e, a);
        rlp_put_u64(&e, small);
        rlp_list_end(&e);
        assert_int_equal(rlp_enc_finish(&e), FERRY_OK);
        assert_int_equal(out.len, rlp_size_list(rlp_size_u256(a) + rlp_size_u64(small)));
        struct rlp_item top, items[2];
        size_t count;
        assert_int_equal(rlp_decode(&top, out.data, out.len), FERRY_OK);
        assert_int_equal(rlp_list_items(&top, items, 2, &count), FERRY_OK);
        assert_int_equal(count, 2);
        u256 back;
        uint64_t back64;
        assert_int_equal(rlp_get_u256(&items[0], &back), FERRY_OK);
        assert_int_equal(rlp_get_u64(&items[1], &back64), FERRY_OK);
        assert_int_equal(u256_cmp(a, back), 0);
        assert_true(back64 == small);
        fbuf_free(&out);
    }
}

/* Builds a random tree of lists and strings, encodes it, and checks decode gives it back. */
static void random_tree(struct rlp_enc *e, cJSON *parent, int depth)
{
    int n = (int)(tu_rand() % 6);
    for (int i = 0; i < n; i++) {
        if (depth < 6 && tu_rand() % 3 == 0) {
            cJSON *list = cJSON_CreateArray();
            cJSON_AddItemToArray(parent, list);
            rlp_list_begin(e);
            random_tree(e, list, depth + 1);
            rlp_list_end(e);
        } else {
            size_t len = (size_t)(tu_rand() % 4 == 0 ? tu_rand() % 300 : tu_rand() % 3);
            uint8_t b[300];
            char hex[2 * 300 + 3];
            tu_rand_bytes(b, len);
            hex_encode(hex, b, len, true);
            cJSON_AddItemToArray(parent, cJSON_CreateString(hex));
            rlp_put_bytes(e, b, len);
        }
    }
}

static void random_trees_round_trip(void **state)
{
    for (int i = 0; i < 200; i++) {
        cJSON *root = cJSON_CreateArray();
        struct fbuf out;
        fbuf_init(&out, 1 << 20);
        struct rlp_enc e;
        rlp_enc_init_buf(&e, &out);
        rlp_list_begin(&e);
        random_tree(&e, root, 1);
        rlp_list_end(&e);
        assert_int_equal(rlp_enc_finish(&e), FERRY_OK);
        assert_int_equal(out.len, size_json(root));
        struct rlp_item top;
        assert_int_equal(rlp_decode(&top, out.data, out.len), FERRY_OK);
        assert_item_matches(&top, root);
        fbuf_free(&out);
        cJSON_Delete(root);
    }
}

static void depth_is_capped(void **state)
{
    uint8_t in[RLP_MAX_DEPTH + 1];
    struct rlp_item top;
    /* RLP_MAX_DEPTH nested empty lists: c0 wrapped in (RLP_MAX_DEPTH - 1) one-byte-payload lists... */
    for (int d = 0; d < RLP_MAX_DEPTH; d++)
        in[d] = (uint8_t)(0xc0 + (RLP_MAX_DEPTH - 1 - d));
    assert_int_equal(rlp_decode(&top, in, RLP_MAX_DEPTH), FERRY_OK);
    for (int d = 0; d <= RLP_MAX_DEPTH; d++)
        in[d] = (uint8_t)(0xc0 + (RLP_MAX_DEPTH - d));
    assert_int_equal(rlp_decode(&top, in, RLP_MAX_DEPTH + 1), FERRY_ERANGE);
    assert_non_null(strstr(ferry_errmsg(), "nested deeper"));

    struct fbuf out;
    fbuf_init(&out, 1024);
    struct rlp_enc e;
    rlp_enc_init_buf(&e, &out);
    for (int d = 0; d <= RLP_MAX_DEPTH; d++)
        rlp_list_begin(&e);
    assert_int_equal(rlp_enc_finish(&e), FERRY_ERANGE);
    fbuf_free(&out);
}

static void encoder_misuse(void **state)
{
    struct fbuf out;
    fbuf_init(&out, 1024);
    struct rlp_enc e;
    rlp_enc_init_buf(&e, &out);
    rlp_list_end(&e);
    assert_int_equal(rlp_enc_finish(&e), FERRY_EINVAL);

    fbuf_reset(&out);
    rlp_enc_init_buf(&e, &out);
    rlp_list_begin(&e);
    rlp_put_u64(&e, 1);
    assert_int_equal(rlp_enc_finish(&e), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "not ended"));

    struct keccak_ctx k;
    keccak256_init(&k);
    rlp_enc_init_hash(&e, &k);
    rlp_list_begin(&e);
    assert_int_equal(rlp_enc_finish(&e), FERRY_EINVAL);

    /* A cap hit partway is kept (sticky) and the buffer is left empty. */
    struct fbuf small;
    fbuf_init(&small, 10);
    rlp_enc_init_buf(&e, &small);
    uint8_t big[40] = {0};
    rlp_put_bytes(&e, big, 5);
    rlp_put_bytes(&e, big, 40);
    rlp_put_bytes(&e, big, 1);
    assert_int_equal(rlp_enc_finish(&e), FERRY_ENOMEM);
    assert_int_equal(small.len, 0);
    fbuf_free(&small);

    /* A long list back-patched in a buffer that already holds bytes. */
    fbuf_reset(&out);
    assert_int_equal(fbuf_add(&out, "\xaa", 1), FERRY_OK);
    rlp_enc_init_buf(&e, &out);
    rlp_list_begin(&e);
    rlp_put_raw(&e, big, 40);
    rlp_put_raw(&e, big, 20);
    rlp_list_end(&e);
    assert_int_equal(rlp_enc_finish(&e), FERRY_OK);
    assert_int_equal(out.len, 1 + 2 + 60);
    assert_int_equal(out.data[0], 0xaa);
    assert_int_equal(out.data[1], 0xf8);
    assert_int_equal(out.data[2], 60);
    fbuf_free(&out);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cast_vectors_encode_and_decode),
        cmocka_unit_test(cast_vectors_invalid_rejected),
        cmocka_unit_test(messages_name_the_fault),
        cmocka_unit_test(integers),
        cmocka_unit_test(random_integers_round_trip),
        cmocka_unit_test(random_trees_round_trip),
        cmocka_unit_test(depth_is_capped),
        cmocka_unit_test(encoder_misuse),
    };
    return TU_RUN(tests);
}
