/* The learned model of delivery gas (chains/evm/gasmodel.c): calldata gas, learning the most
 * per packet, pricing, forgetting, and the bounded table's least-recently-used eviction. The
 * adapter's use of it (which deliveries teach it, which it prices, a revert forgetting) is in
 * test_evm_adapter.c against anvil. */
#include <string.h>

#include "evm/gasmodel.h"
#include "testutil.h"

static void recv_of(uint8_t out[32], unsigned k)
{
    memset(out, 0, 32);
    out[30] = (uint8_t)(k >> 8);
    out[31] = (uint8_t)k;
    out[12] = 0xaa;
}

static void calldata_gas(void **state)
{
    (void)state;
    const uint8_t d[] = {0, 1, 0, 0, 0xff};
    assert_int_equal(evm_calldata_gas(d, sizeof d), 3 * 4 + 2 * 16);
    assert_int_equal(evm_calldata_gas(NULL, 0), 0);
}

static void learn_and_price(void **state)
{
    (void)state;
    struct evm_gas_model m;
    memset(&m, 0, sizeof m);
    uint8_t a[32], b[32];
    recv_of(a, 1);
    recv_of(b, 2);
    /* nothing known: no price */
    size_t one = 1;
    assert_int_equal(evm_gas_model_price(&m, &a, &one, 1, 1000, 50000, NULL), 0);
    /* 3 packets, 21000 + 1000 calldata + 300,001 execution: 100,001 per packet, rounded up */
    assert_true(evm_gas_model_learn(&m, a, 3, 21000 + 1000 + 300001, 1000));
    assert_int_equal(evm_gas_model_figure(&m, a, 3), 100001);
    assert_int_equal(evm_gas_model_figure(&m, a, 40), 100001); /* an upper bound for larger batches */
    assert_int_equal(evm_gas_model_figure(&m, a, 2), 0);       /* not for smaller ones */
    /* at one size a cheaper batch does not lower the figure, a dearer one raises it */
    assert_true(evm_gas_model_learn(&m, a, 3, 21000 + 1000 + 270000, 1000));
    assert_int_equal(evm_gas_model_figure(&m, a, 3), 100001);
    assert_true(evm_gas_model_learn(&m, a, 3, 21000 + 2000 + 330000, 2000));
    assert_int_equal(evm_gas_model_figure(&m, a, 3), 110000);
    /* sizes apart: a 1-packet batch (the transaction's fixed cost on one packet) and a 10-packet one */
    assert_true(evm_gas_model_learn(&m, a, 1, 21000 + 150000, 0));
    assert_true(evm_gas_model_learn(&m, a, 10, 21000 + 800000, 0));
    assert_int_equal(evm_gas_model_figure(&m, a, 1), 150000);
    assert_int_equal(evm_gas_model_figure(&m, a, 2), 150000);
    assert_int_equal(evm_gas_model_figure(&m, a, 9), 110000);
    assert_int_equal(evm_gas_model_figure(&m, a, 10), 80000);
    assert_int_equal(evm_gas_model_figure(&m, a, 31), 80000);
    /* receipts that cannot be a delivery's teach nothing, nor one whose packets were skipped
     * (cheaper than a receipt slot written from zero) */
    assert_false(evm_gas_model_learn(&m, b, 1, 21000 + 500, 500));
    assert_false(evm_gas_model_learn(&m, b, 0, 900000, 500));
    assert_false(evm_gas_model_learn(&m, b, 1, 21000 + 500 + 10344, 500));
    assert_false(evm_gas_model_learn(&m, b, 2, 21000 + 2 * 22099, 0));
    uint8_t c[32];
    recv_of(c, 7);
    assert_true(evm_gas_model_learn(&m, c, 2, 21000 + 2 * 22100, 0)); /* the least a received packet costs */
    assert_int_equal(evm_gas_model_figure(&m, c, 2), 22100);
    assert_int_equal(evm_gas_model_figure(&m, b, 1), 0);

    /* 4 packets to a (the figure of size 3): 21000 + calldata + 4 * (110000 + 25000 + 11000) + headroom */
    size_t four = 4;
    uint64_t need = 1;
    assert_int_equal(evm_gas_model_price(&m, &a, &four, 1, 3000, 1020873, &need),
                     21000 + 3000 + 4 * (110000 + 25000 + 11000) + 1020873);
    assert_int_equal(need, 21000 + 3000 + 4 * 110000 + 1020873); /* without the margins */
    assert_int_equal(evm_gas_model_price(&m, &b, &four, 1, 3000, 1020873, &need), 0);
    assert_int_equal(need, 0);
    /* the 10 % rounds up */
    assert_true(evm_gas_model_learn(&m, b, 1, 21000 + 32345, 0));
    assert_int_equal(evm_gas_model_price(&m, &b, &one, 1, 0, 0, NULL), 21000 + 32345 + 25000 + 3235);
    /* a mixed batch is priced, each receiver at the size of its own share, only when every
     * receiver is known */
    uint8_t both[3][32];
    memcpy(both[0], a, 32);
    memcpy(both[1], b, 32);
    size_t counts[3] = {2, 1, 5};
    assert_int_equal(evm_gas_model_price(&m, both, counts, 2, 100, 7, NULL),
                     21000 + 100 + 7 + 2 * (150000 + 25000 + 15000) + (32345 + 25000 + 3235));
    recv_of(both[2], 3);
    assert_int_equal(evm_gas_model_price(&m, both, counts, 3, 100, 7, NULL), 0);
    /* no packets: no price */
    size_t zero = 0;
    assert_int_equal(evm_gas_model_price(&m, &a, &zero, 1, 0, 0, NULL), 0);
    /* saturates instead of wrapping */
    size_t huge = SIZE_MAX;
    assert_int_equal(evm_gas_model_price(&m, &a, &huge, 1, 0, 0, NULL), UINT64_MAX);

    /* forgetting: a is unknown again at every size, then learned afresh (not the max of before) */
    assert_true(evm_gas_model_forget(&m, a));
    assert_false(evm_gas_model_forget(&m, a));
    assert_int_equal(evm_gas_model_price(&m, &a, &one, 1, 0, 0, NULL), 0);
    assert_int_equal(evm_gas_model_figure(&m, a, 10), 0);
    assert_int_equal(evm_gas_model_figure(&m, b, 1), 32345);
    assert_true(evm_gas_model_learn(&m, a, 1, 21000 + 50000, 0));
    assert_int_equal(evm_gas_model_figure(&m, a, 1), 50000);
}

/* Sizes beyond EVM_GAS_MODEL_SIZES: the largest are kept (they price the full batches). */
static void sizes_bounded(void **state)
{
    (void)state;
    struct evm_gas_model m;
    memset(&m, 0, sizeof m);
    uint8_t a[32];
    recv_of(a, 1);
    for (unsigned n = 2; n < 2 + EVM_GAS_MODEL_SIZES; n++)
        assert_true(evm_gas_model_learn(&m, a, n, 21000 + 30000 * n, 0));
    assert_true(evm_gas_model_learn(&m, a, 1, 21000 + 50000, 0)); /* smaller than all: not kept */
    assert_int_equal(evm_gas_model_figure(&m, a, 1), 0);
    assert_true(evm_gas_model_learn(&m, a, 40, 21000 + 40 * 25000, 0)); /* replaces size 2 */
    assert_int_equal(evm_gas_model_figure(&m, a, 2), 0);
    assert_int_equal(evm_gas_model_figure(&m, a, 3), 30000);
    assert_int_equal(evm_gas_model_figure(&m, a, 39), 30000);
    assert_int_equal(evm_gas_model_figure(&m, a, 40), 25000);
}

static void bounded_lru(void **state)
{
    (void)state;
    struct evm_gas_model m;
    memset(&m, 0, sizeof m);
    uint8_t r[32];
    for (unsigned k = 0; k < EVM_GAS_MODEL_RECEIVERS; k++) {
        recv_of(r, k);
        assert_true(evm_gas_model_learn(&m, r, 1, 21000 + 30000 + k, 0));
    }
    /* receiver 0 was learned first but is used now: receiver 1 is the least recently used */
    recv_of(r, 0);
    assert_int_equal(evm_gas_model_figure(&m, r, 1), 30000);
    recv_of(r, 999);
    assert_true(evm_gas_model_learn(&m, r, 1, 21000 + 77777, 0));
    assert_int_equal(m.n, EVM_GAS_MODEL_RECEIVERS);
    assert_int_equal(evm_gas_model_figure(&m, r, 1), 77777);
    recv_of(r, 1);
    assert_int_equal(evm_gas_model_figure(&m, r, 1), 0);
    for (unsigned k = 2; k < EVM_GAS_MODEL_RECEIVERS; k++) {
        recv_of(r, k);
        assert_int_equal(evm_gas_model_figure(&m, r, 1), 30000 + k);
    }
    recv_of(r, 0);
    assert_int_equal(evm_gas_model_figure(&m, r, 1), 30000);
}

/* The figure read for a log line (evm_gas_model_peek) is figure's, but the receiver peeked at
 * is not marked used: the least recently used one is still evicted next, and the model is
 * unchanged byte for byte. */
static void peek_leaves_lru(void **state)
{
    (void)state;
    struct evm_gas_model m, before;
    memset(&m, 0, sizeof m);
    uint8_t r[32];
    for (unsigned k = 0; k < EVM_GAS_MODEL_RECEIVERS; k++) {
        recv_of(r, k);
        assert_true(evm_gas_model_learn(&m, r, 2, 21000 + 2 * (30000 + k), 0));
    }
    memcpy(&before, &m, sizeof m);
    recv_of(r, 0); /* the least recently used */
    assert_int_equal(evm_gas_model_peek(&m, r, 2), 30000);
    assert_int_equal(evm_gas_model_peek(&m, r, 7), 30000);
    assert_int_equal(evm_gas_model_peek(&m, r, 1), 0);
    recv_of(r, 999);
    assert_int_equal(evm_gas_model_peek(&m, r, 2), 0);
    assert_memory_equal(&m, &before, sizeof m);
    assert_true(evm_gas_model_learn(&m, r, 2, 21000 + 2 * 77777, 0));
    recv_of(r, 0);
    assert_int_equal(evm_gas_model_peek(&m, r, 2), 0); /* evicted despite the peeks */
    for (unsigned k = 1; k < EVM_GAS_MODEL_RECEIVERS; k++) {
        recv_of(r, k);
        assert_int_equal(evm_gas_model_peek(&m, r, 2), 30000 + k);
    }
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calldata_gas),
        cmocka_unit_test(learn_and_price),
        cmocka_unit_test(sizes_bounded),
        cmocka_unit_test(bounded_lru),
        cmocka_unit_test(peek_leaves_lru),
    };
    return TU_RUN(tests);
}
