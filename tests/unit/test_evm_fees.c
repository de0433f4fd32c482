/* Fees (chains/evm/fees.c): the market read from recorded eth_feeHistory replies of a real anvil,
 * the offers under several policies (expected values computed by scripts/vectors/evm_fees.sh
 * with jq), the parser's refusals, the replacement bump (checked against 128-bit arithmetic
 * on random figures) and the legacy path. */
#include <stdio.h>
#include <string.h>

#include "evm/fees.h"
#include "testutil.h"

static u256 dec(const char *s)
{
    u256 v;
    assert_int_equal(u256_from_dec(&v, s), FERRY_OK);
    return v;
}

static void assert_u256_dec(u256 v, const char *want, const char *what)
{
    char got[U256_DEC_MAX];
    u256_to_dec(got, v);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got %s, want %s", what, got, want);
}

static struct fee_policy policy_from(const cJSON *p)
{
    struct fee_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.max_fee_cap = dec(cJSON_GetObjectItem(p, "max_fee_cap")->valuestring);
    pol.tip_cap = dec(cJSON_GetObjectItem(p, "tip_cap")->valuestring);
    pol.tip_floor = dec(cJSON_GetObjectItem(p, "tip_floor")->valuestring);
    pol.base_fee_mult = (unsigned)cJSON_GetObjectItem(p, "base_fee_mult")->valueint;
    assert_int_equal(fee_policy_check(&pol), FERRY_OK);
    return pol;
}

static void recorded_histories(void **state)
{
    cJSON *v = tu_load_vectors("evm_txmgr/fee_history.json");
    const cJSON *policies = cJSON_GetObjectItem(v, "policies");
    int cases = 0, refused = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(v, "cases"))
    {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        struct fee_market m;
        bool no_base_fee = true;
        assert_int_equal(fees_parse_history(&m, &no_base_fee, cJSON_GetObjectItem(c, "result")), FERRY_OK);
        assert_false(no_base_fee);
        assert_false(m.legacy);
        const cJSON *want = cJSON_GetObjectItem(c, "market");
        char what[128];
        snprintf(what, sizeof what, "%s base fee", name);
        assert_u256_dec(m.base_fee, cJSON_GetObjectItem(want, "base_fee")->valuestring, what);
        snprintf(what, sizeof what, "%s tip", name);
        assert_u256_dec(m.tip, cJSON_GetObjectItem(want, "tip")->valuestring, what);
        assert_int_equal(m.newest_block, (uint64_t)cJSON_GetObjectItem(want, "newest_block")->valuedouble);
        const cJSON *o;
        cJSON_ArrayForEach(o, cJSON_GetObjectItem(c, "offers"))
        {
            const char *pname = cJSON_GetObjectItem(o, "policy")->valuestring;
            const cJSON *p = NULL, *it;
            cJSON_ArrayForEach(it, policies) if (strcmp(cJSON_GetObjectItem(it, "name")->valuestring, pname) == 0) p = it;
            assert_non_null(p);
            struct fee_policy pol = policy_from(p);
            struct fees f;
            enum ferry_err e = fees_quote(&f, &m, &pol);
            if (cJSON_IsTrue(cJSON_GetObjectItem(o, "refused"))) {
                if (e != FERRY_ERANGE)
                    fail_msg("%s/%s: expected a refusal, got %d", name, pname, e);
                assert_non_null(strstr(ferry_errmsg(), "above the chain's fee cap"));
                refused++;
                continue;
            }
            if (e)
                fail_msg("%s/%s: %s", name, pname, ferry_errmsg());
            assert_false(f.legacy);
            snprintf(what, sizeof what, "%s/%s tip", name, pname);
            assert_u256_dec(f.tip, cJSON_GetObjectItem(o, "tip")->valuestring, what);
            snprintf(what, sizeof what, "%s/%s max fee", name, pname);
            assert_u256_dec(f.max_fee, cJSON_GetObjectItem(o, "max_fee")->valuestring, what);
            assert_true(u256_cmp(f.tip, f.max_fee) <= 0);
            assert_true(u256_cmp(f.max_fee, pol.max_fee_cap) <= 0);
        }
        cases++;
    }
    assert_true(cases >= 6);
    assert_true(refused >= 2);

    /* the legacy path with the recorded eth_gasPrice */
    struct fee_market lm;
    assert_int_equal(fees_parse_gas_price(&lm, cJSON_GetObjectItem(v, "gas_price")), FERRY_OK);
    assert_true(lm.legacy);
    u256 gp;
    assert_int_equal(u256_from_quantity(&gp, cJSON_GetObjectItem(v, "gas_price")->valuestring), FERRY_OK);
    struct fee_policy pol = {.max_fee_cap = gp};
    assert_int_equal(fee_policy_check(&pol), FERRY_OK);
    struct fees f;
    assert_int_equal(fees_quote(&f, &lm, &pol), FERRY_OK); /* exactly at the cap: allowed */
    assert_true(f.legacy);
    assert_int_equal(u256_cmp(f.gas_price, gp), 0);
    assert_int_equal(u256_sub(&pol.max_fee_cap, gp, u256_from_u64(1)), false);
    assert_int_equal(fees_quote(&f, &lm, &pol), FERRY_ERANGE);
    assert_non_null(strstr(ferry_errmsg(), "gas price"));
    cJSON_Delete(v);
}

static void parse_refuses_malformed(void **state)
{
    static const char *bad[] = {
        "[]",
        "{}",
        "{\"oldestBlock\":\"0x1\",\"baseFeePerGas\":[\"0x1\"],\"gasUsedRatio\":[0.5]}",              /* n+1 bases */
        "{\"oldestBlock\":\"0x1\",\"baseFeePerGas\":[\"0x1\",\"0x2\"]}",                             /* no ratios */
        "{\"oldestBlock\":\"1\",\"baseFeePerGas\":[\"0x1\",\"0x2\"],\"gasUsedRatio\":[0.5]}",        /* not hex */
        "{\"oldestBlock\":\"0x1\",\"baseFeePerGas\":[\"0x01\",\"0x2\"],\"gasUsedRatio\":[0.5]}",     /* leading 0 */
        "{\"oldestBlock\":\"0x1\",\"baseFeePerGas\":[\"0x1\",2],\"gasUsedRatio\":[0.5]}",            /* a number */
        "{\"oldestBlock\":\"0x1\",\"baseFeePerGas\":[\"0x1\",\"0x2\"],\"gasUsedRatio\":[1.5]}",      /* > 1 */
        "{\"oldestBlock\":\"0x1\",\"baseFeePerGas\":[\"0x1\",\"0x2\"],\"gasUsedRatio\":[\"0.5\"]}",  /* a string */
        "{\"oldestBlock\":\"0x1\",\"baseFeePerGas\":[\"0x1\",\"0x2\"],\"gasUsedRatio\":[0.5],\"reward\":[]}",
        "{\"oldestBlock\":\"0x1\",\"baseFeePerGas\":[\"0x1\",\"0x2\"],\"gasUsedRatio\":[0.5],\"reward\":[[]]}",
        "{\"oldestBlock\":\"0x1\",\"baseFeePerGas\":[\"0x1\",\"0x2\"],\"gasUsedRatio\":[0.5],\"reward\":[[1]]}",
        "{\"oldestBlock\":\"0x1\",\"baseFeePerGas\":[\"0x1\",\"0x2\"],\"gasUsedRatio\":[0.5],\"reward\":{}}",
        "{\"oldestBlock\":\"0x10000000000000000\",\"baseFeePerGas\":[\"0x1\",\"0x2\"],\"gasUsedRatio\":[0.5]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *j = cJSON_Parse(bad[i]);
        assert_non_null(j);
        struct fee_market m;
        bool nb;
        enum ferry_err e = fees_parse_history(&m, &nb, j);
        if (e == FERRY_OK)
            fail_msg("accepted %s", bad[i]);
        assert_true(strncmp(ferry_errmsg(), "fees: ", 6) == 0 || strstr(ferry_errmsg(), "fees: ") != NULL);
        cJSON_Delete(j);
    }
    /* no reward at all is fine: no tip information */
    cJSON *j = cJSON_Parse("{\"oldestBlock\":\"0x7\",\"baseFeePerGas\":[\"0x0\",\"0x0\",\"0x0\"],"
                           "\"gasUsedRatio\":[0.5,0.2]}");
    struct fee_market m;
    bool nb = false;
    assert_int_equal(fees_parse_history(&m, &nb, j), FERRY_OK);
    assert_true(nb); /* all zero: a chain without EIP-1559 */
    assert_true(u256_is_zero(m.tip));
    assert_int_equal(m.newest_block, 8);
    cJSON_Delete(j);
    /* eth_gasPrice */
    j = cJSON_CreateNumber(5);
    assert_int_not_equal(fees_parse_gas_price(&m, j), FERRY_OK);
    cJSON_Delete(j);
}

static void policy_defaults_and_limits(void **state)
{
    struct fee_policy p;
    memset(&p, 0, sizeof p);
    assert_int_equal(fee_policy_check(&p), FERRY_EINVAL); /* no cap */
    assert_non_null(strstr(ferry_errmsg(), "max_fee_per_gas"));
    p.max_fee_cap = u256_from_u64(1);
    assert_int_equal(fee_policy_check(&p), FERRY_OK);
    assert_int_equal(p.base_fee_mult, 2);
    assert_int_equal(p.bump_pct, 12);
    assert_int_equal(p.history_blocks, 10);
    assert_int_equal(p.percentile, 50);
    p.bump_pct = 9; /* nodes refuse raises below 10% */
    assert_int_equal(fee_policy_check(&p), FERRY_EINVAL);
    p.bump_pct = 10;
    assert_int_equal(fee_policy_check(&p), FERRY_OK);
    p.percentile = 101;
    assert_int_equal(fee_policy_check(&p), FERRY_EINVAL);
    p.percentile = 50;
    p.history_blocks = 1025;
    assert_int_equal(fee_policy_check(&p), FERRY_EINVAL);
    assert_string_equal(fee_mode_name(FEE_MODE_LEGACY), "legacy");
}

static void raise_rounds_up(void **state)
{
    static const struct {
        uint64_t v;
        unsigned pct;
        uint64_t want;
    } t[] = {
        {100, 10, 110}, {101, 10, 112}, /* 111.1 -> 112 */
        {0, 10, 0},     {1, 10, 2},     /* 1.1 -> 2: a raise of one wei is still a raise */
        {10, 12, 12},   /* 11.2 -> 12 */
        {1000000000, 10, 1100000000}, {999999999, 10, 1099999999}, /* 1099999998.9 -> ...999 */
        {7, 100, 14},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        u256 r;
        assert_int_equal(fees_raise(&r, u256_from_u64(t[i].v), t[i].pct), FERRY_OK);
        assert_true(u256_fits_u64(r));
        if (r.w[0] != t[i].want)
            fail_msg("raise(%llu, %u%%) = %llu, want %llu", (unsigned long long)t[i].v, t[i].pct,
                     (unsigned long long)r.w[0], (unsigned long long)t[i].want);
    }
    u256 big = {{0, 0, 0, UINT64_MAX / 2}}, r;
    assert_int_equal(fees_raise(&r, big, 10), FERRY_ERANGE);
}

static struct fee_policy pol_caps(uint64_t cap, uint64_t tip_cap, unsigned bump)
{
    struct fee_policy p;
    memset(&p, 0, sizeof p);
    p.max_fee_cap = u256_from_u64(cap);
    p.tip_cap = u256_from_u64(tip_cap);
    p.bump_pct = bump;
    assert_int_equal(fee_policy_check(&p), FERRY_OK);
    return p;
}

static void bump_cases(void **state)
{
    struct fees old = {.max_fee = u256_from_u64(2000), .tip = u256_from_u64(100)};
    struct fee_market m = {.base_fee = u256_from_u64(500), .tip = u256_from_u64(50)};
    struct fees f;
    /* market below the raise: the raise wins, both figures */
    struct fee_policy p = pol_caps(100000, 0, 10);
    assert_int_equal(fees_bump(&f, &old, &m, &p), FERRY_OK);
    assert_int_equal(f.max_fee.w[0], 2200);
    assert_int_equal(f.tip.w[0], 110);
    /* market above the raise: the market wins (2 * 2000 + 300) */
    m.base_fee = u256_from_u64(2000);
    m.tip = u256_from_u64(300);
    assert_int_equal(fees_bump(&f, &old, &m, &p), FERRY_OK);
    assert_int_equal(f.max_fee.w[0], 4300);
    assert_int_equal(f.tip.w[0], 300);
    /* capped above the raise: the cap */
    p = pol_caps(3000, 0, 10);
    assert_int_equal(fees_bump(&f, &old, &m, &p), FERRY_OK);
    assert_int_equal(f.max_fee.w[0], 3000);
    /* the cap leaves less than 10%: no replacement */
    p = pol_caps(2199, 0, 10);
    assert_int_equal(fees_bump(&f, &old, &m, &p), FERRY_ERANGE);
    assert_non_null(strstr(ferry_errmsg(), "cannot replace"));
    /* the tip cap leaves less than 10% for the tip: no replacement either (nodes check both) */
    p = pol_caps(100000, 109, 10);
    assert_int_equal(fees_bump(&f, &old, &m, &p), FERRY_ERANGE);
    assert_non_null(strstr(ferry_errmsg(), "maxPriorityFeePerGas"));
    /* a tip already at maxFee: raising both keeps tip <= maxFee */
    old.max_fee = old.tip = u256_from_u64(1000);
    m.base_fee = u256_from_u64(0);
    m.tip = u256_from_u64(0);
    p = pol_caps(100000, 0, 25);
    assert_int_equal(fees_bump(&f, &old, &m, &p), FERRY_OK);
    assert_int_equal(f.max_fee.w[0], 1250);
    assert_int_equal(f.tip.w[0], 1250);
    /* legacy */
    struct fees lo = {.legacy = true, .gas_price = u256_from_u64(1000)};
    struct fee_market lm = {.legacy = true, .gas_price = u256_from_u64(1050)};
    p = pol_caps(5000, 0, 10);
    assert_int_equal(fees_bump(&f, &lo, &lm, &p), FERRY_OK);
    assert_true(f.legacy);
    assert_int_equal(f.gas_price.w[0], 1100);
    lm.gas_price = u256_from_u64(4000);
    assert_int_equal(fees_bump(&f, &lo, &lm, &p), FERRY_OK);
    assert_int_equal(f.gas_price.w[0], 4000);
    lm.gas_price = u256_from_u64(9000);
    assert_int_equal(fees_bump(&f, &lo, &lm, &p), FERRY_OK);
    assert_int_equal(f.gas_price.w[0], 5000);
    p = pol_caps(1099, 0, 10);
    assert_int_equal(fees_bump(&f, &lo, &lm, &p), FERRY_ERANGE);
}

typedef unsigned __int128 u128;

static u128 raise128(u128 v, unsigned pct)
{
    return (v * (100 + pct) + 99) / 100;
}

static u128 min128(u128 a, u128 b) { return a < b ? a : b; }
static u128 max128(u128 a, u128 b) { return a > b ? a : b; }

/* fees_bump against the rule written out in 128-bit arithmetic, on random figures. */
static void bump_random(void **state)
{
    int ok = 0, refused = 0;
    for (int i = 0; i < 20000; i++) {
        unsigned shift = (unsigned)(tu_rand() % 60);
        uint64_t mask = shift ? (UINT64_MAX >> shift) : UINT64_MAX >> 4;
        uint64_t omax = tu_rand() & mask, otip = tu_rand() & mask;
        if (otip > omax)
            otip = omax;
        uint64_t base = tu_rand() & (mask >> 2), mtip = tu_rand() & (mask >> 2);
        uint64_t cap = (tu_rand() & mask) + 1, tcap = tu_rand() % 3 ? 0 : tu_rand() & mask;
        unsigned pct = 10 + (unsigned)(tu_rand() % 41), mult = 1 + (unsigned)(tu_rand() % 3);
        struct fee_policy p;
        memset(&p, 0, sizeof p);
        p.max_fee_cap = u256_from_u64(cap);
        p.tip_cap = u256_from_u64(tcap);
        p.bump_pct = pct;
        p.base_fee_mult = mult;
        assert_int_equal(fee_policy_check(&p), FERRY_OK);
        struct fees old = {.max_fee = u256_from_u64(omax), .tip = u256_from_u64(otip)}, f;
        struct fee_market m = {.base_fee = u256_from_u64(base), .tip = u256_from_u64(mtip)};

        /* the rule */
        u128 t = mtip;
        if (tcap)
            t = min128(t, tcap);
        t = min128(t, cap);
        u128 want_max = min128(max128(raise128(omax, pct), (u128)base * mult + t), cap);
        bool possible = want_max >= raise128(omax, pct);
        u128 tip_limit = min128(tcap ? min128(tcap, cap) : cap, want_max);
        u128 want_tip = min128(max128(raise128(otip, pct), t), tip_limit);
        possible = possible && want_tip >= raise128(otip, pct);

        enum ferry_err e = fees_bump(&f, &old, &m, &p);
        if (!possible) {
            if (e != FERRY_ERANGE)
                fail_msg("case %d: expected no replacement (seed %llu)", i, (unsigned long long)tu_seed());
            refused++;
            continue;
        }
        if (e)
            fail_msg("case %d: %s (seed %llu)", i, ferry_errmsg(), (unsigned long long)tu_seed());
        u128 gmax = (u128)f.max_fee.w[1] << 64 | f.max_fee.w[0], gtip = (u128)f.tip.w[1] << 64 | f.tip.w[0];
        assert_true(gmax == want_max);
        assert_true(gtip == want_tip);
        /* what nodes check: at least old * (100 + bump) / 100, never below the old, within caps */
        assert_true(gmax * 100 >= (u128)omax * (100 + pct) && gmax >= omax);
        assert_true(gtip * 100 >= (u128)otip * (100 + pct) && gtip >= otip);
        assert_true(gmax <= cap && gtip <= gmax);
        ok++;
    }
    assert_true(ok > 1000);
    assert_true(refused > 100);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recorded_histories), cmocka_unit_test(parse_refuses_malformed),
        cmocka_unit_test(policy_defaults_and_limits), cmocka_unit_test(raise_rounds_up),
        cmocka_unit_test(bump_cases), cmocka_unit_test(bump_random),
    };
    return TU_RUN(tests);
}
