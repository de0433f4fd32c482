#include <string.h>

#include "ferry/hex.h"
#include "testutil.h"

static void decode_ok(void **state)
{
    uint8_t out[8];
    size_t n;
    assert_int_equal(hex_decode(out, sizeof out, &n, "0xdeadBEEF", 10, HEX_PREFIX_OPTIONAL), FERRY_OK);
    assert_int_equal(n, 4);
    tu_assert_hex_equal(out, n, "deadbeef");
    assert_int_equal(hex_decode(out, sizeof out, &n, "00ff", 4, HEX_PREFIX_FORBIDDEN), FERRY_OK);
    tu_assert_hex_equal(out, n, "00ff");
    assert_int_equal(hex_decode(out, sizeof out, &n, "0x", 2, HEX_PREFIX_REQUIRED), FERRY_OK);
    assert_int_equal(n, 0);
}

static void errors_name_position(void **state)
{
    uint8_t out[8];
    size_t n;
    assert_int_equal(hex_decode(out, sizeof out, &n, "0xabc", 5, HEX_PREFIX_OPTIONAL), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "odd"));
    assert_int_equal(hex_decode(out, sizeof out, &n, "0x12g4", 6, HEX_PREFIX_OPTIONAL), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "'g' at position 4"));
    assert_int_equal(hex_decode(out, sizeof out, &n, "1234", 4, HEX_PREFIX_REQUIRED), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "position 0"));
    assert_int_equal(hex_decode(out, sizeof out, &n, "0x1234", 6, HEX_PREFIX_FORBIDDEN), FERRY_EINVAL);
    assert_int_equal(hex_decode(out, 1, &n, "0x1234", 6, HEX_PREFIX_OPTIONAL), FERRY_ERANGE);
    assert_int_equal(n, 0);
    assert_int_equal(hex_decode(out, sizeof out, &n, "0x1 ", 4, HEX_PREFIX_OPTIONAL), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "position 3"));
}

static void exact_and_buf(void **state)
{
    uint8_t a[2];
    assert_int_equal(hex_decode_exact(a, 2, "0xabcd", HEX_PREFIX_OPTIONAL), FERRY_OK);
    assert_int_equal(hex_decode_exact(a, 2, "0xabcdef", HEX_PREFIX_OPTIONAL), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "expected 2 bytes"));
    struct fbuf b;
    fbuf_init(&b, 3);
    assert_int_equal(hex_decode_buf(&b, "0x010203", HEX_PREFIX_REQUIRED), FERRY_OK);
    assert_int_equal(b.len, 3);
    assert_int_equal(hex_decode_buf(&b, "0x04", HEX_PREFIX_REQUIRED), FERRY_ENOMEM); /* cap */
    fbuf_free(&b);
}

static void encode_roundtrip(void **state)
{
    for (int i = 0; i < 200; i++) {
        uint8_t in[64], back[64];
        char txt[2 * 64 + 3];
        size_t n = (size_t)(tu_rand() % 65), m;
        tu_rand_bytes(in, n);
        size_t w = hex_encode(txt, in, n, i & 1);
        assert_int_equal(w, 2 * n + ((i & 1) ? 2 : 0));
        assert_int_equal(hex_decode(back, sizeof back, &m, txt, w, HEX_PREFIX_OPTIONAL), FERRY_OK);
        assert_int_equal(m, n);
        assert_memory_equal(in, back, n);
    }
}

static void quantities(void **state)
{
    uint64_t v;
    assert_int_equal(hex_quantity_u64(&v, "0x0"), FERRY_OK);
    assert_int_equal(v, 0);
    assert_int_equal(hex_quantity_u64(&v, "0x1a"), FERRY_OK);
    assert_int_equal(v, 26);
    assert_int_equal(hex_quantity_u64(&v, "0xffffffffffffffff"), FERRY_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(hex_quantity_u64(&v, "0x10000000000000000"), FERRY_ERANGE);
    assert_int_equal(hex_quantity_u64(&v, "0x01"), FERRY_EINVAL);
    assert_int_equal(hex_quantity_u64(&v, "0x"), FERRY_EINVAL);
    assert_int_equal(hex_quantity_u64(&v, "12"), FERRY_EINVAL);
    char q[19];
    hex_u64_quantity(q, 0);
    assert_string_equal(q, "0x0");
    hex_u64_quantity(q, 255);
    assert_string_equal(q, "0xff");
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_ok),       cmocka_unit_test(errors_name_position),
        cmocka_unit_test(exact_and_buf),   cmocka_unit_test(encode_roundtrip),
        cmocka_unit_test(quantities),
    };
    return TU_RUN(tests);
}
