#include "ferry/u256.h"
#include "testutil.h"

static const char *MAX = "115792089237316195423570985008687907853269984665640564039457584007913129639935";

static void decimal_roundtrip(void **state)
{
    const char *cases[] = {"0", "1", "9", "10", "18446744073709551615", "18446744073709551616",
                           "10000000000000000000", "1000000000000000000000000", MAX};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        u256 v;
        char out[U256_DEC_MAX];
        assert_int_equal(u256_from_dec(&v, cases[i]), FERRY_OK);
        u256_to_dec(out, v);
        assert_string_equal(out, cases[i]);
    }
}

static void decimal_rejects(void **state)
{
    u256 v;
    assert_int_equal(u256_from_dec(&v, ""), FERRY_EINVAL);
    assert_int_equal(u256_from_dec(&v, "01"), FERRY_EINVAL);
    assert_int_equal(u256_from_dec(&v, "-1"), FERRY_EINVAL);
    assert_int_equal(u256_from_dec(&v, "1e18"), FERRY_EINVAL);
    assert_int_equal(u256_from_dec(&v, "115792089237316195423570985008687907853269984665640564039457584007913129639936"),
                     FERRY_ERANGE);
    assert_true(u256_is_zero(v));
}

static void arithmetic(void **state)
{
    u256 max, one = u256_from_u64(1), r, q, m;
    assert_int_equal(u256_from_dec(&max, MAX), FERRY_OK);
    assert_true(u256_add(&r, max, one));
    assert_true(u256_is_zero(r));
    assert_true(u256_sub(&r, u256_from_u64(0), one));
    assert_int_equal(u256_cmp(r, max), 0);
    assert_false(u256_sub(&r, u256_from_u64(5), u256_from_u64(3)));
    assert_true(r.w[0] == 2);
    assert_true(u256_mul(&r, max, u256_from_u64(2)));
    assert_false(u256_mul(&r, u256_from_u64(1ULL << 63), u256_from_u64(4)));
    assert_true(r.w[0] == 0 && r.w[1] == 2);
    assert_int_equal(u256_divmod(&q, &m, max, u256_from_u64(10)), FERRY_OK);
    char out[U256_DEC_MAX];
    u256_to_dec(out, q);
    assert_string_equal(out, "11579208923731619542357098500868790785326998466564056403945758400791312963993");
    assert_true(m.w[0] == 5 && u256_fits_u64(m));
    assert_int_equal(u256_divmod(&q, &m, max, u256_from_u64(0)), FERRY_ERANGE);
    /* Random: (a / b) * b + a % b == a. */
    for (int i = 0; i < 500; i++) {
        uint8_t ab[32], bb[32];
        tu_rand_bytes(ab, 32);
        tu_rand_bytes(bb, 32);
        unsigned cut = (unsigned)(tu_rand() % 32);
        memset(bb, 0, cut);
        u256 a = u256_from_be32(ab), b = u256_from_be32(bb);
        if (u256_is_zero(b))
            continue;
        assert_int_equal(u256_divmod(&q, &m, a, b), FERRY_OK);
        assert_true(u256_cmp(m, b) < 0);
        assert_false(u256_mul(&r, q, b));
        assert_false(u256_add(&r, r, m));
        assert_int_equal(u256_cmp(r, a), 0);
    }
}

static void bytes_and_quantities(void **state)
{
    uint8_t be[32], min[32];
    u256 v = u256_from_u64(0x1234);
    u256_to_be(be, v);
    assert_int_equal(be[30], 0x12);
    assert_int_equal(be[31], 0x34);
    assert_int_equal(u256_to_be_min(min, v), 2);
    assert_int_equal(u256_to_be_min(min, u256_from_u64(0)), 0);
    u256 w;
    assert_int_equal(u256_from_be(&w, min, 2), FERRY_OK);
    assert_int_equal(u256_cmp(v, w), 0);
    uint8_t big[33] = {1};
    assert_int_equal(u256_from_be(&w, big, 33), FERRY_ERANGE);
    char q[67];
    u256_to_quantity(q, v);
    assert_string_equal(q, "0x1234");
    u256_to_quantity(q, u256_from_u64(0));
    assert_string_equal(q, "0x0");
    assert_int_equal(u256_from_quantity(&w, "0x1234"), FERRY_OK);
    assert_int_equal(u256_cmp(v, w), 0);
    assert_int_equal(u256_from_quantity(&w, "0x01"), FERRY_EINVAL);
    assert_int_equal(u256_from_quantity(&w, "0x"), FERRY_EINVAL);
    assert_int_equal(u256_from_quantity(&w, "0x1g"), FERRY_EINVAL);
    assert_int_equal(u256_shr(u256_shl(v, 200), 200).w[0], 0x1234);
    assert_int_equal(u256_bitlen(v), 13);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decimal_roundtrip),
        cmocka_unit_test(decimal_rejects),
        cmocka_unit_test(arithmetic),
        cmocka_unit_test(bytes_and_quantities),
    };
    return TU_RUN(tests);
}
