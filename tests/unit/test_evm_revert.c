/* Revert data as text (chains/evm/revert.c):
 *
 *  - Revert data recorded from the contracts on anvil, and a few made with cast
 *    (tests/vectors/reverts.json, scripts/vectors/reverts.sh): each to the exact text, whose
 *    values come from `cast decode-error`.
 *  - The error table against the compiled ABIs, both ways: the list in reverts.json always, and
 *    build/contracts/NAME.json when they are built (a contract change that adds, renames or retypes an
 *    error fails here, with the line to add).
 *  - Cutting: long bytes and strings, nesting, and every buffer size for every case.
 *  - Malformed and random data: a text, never a crash, always printable and inside the buffer. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "evm/revert.h"
#include "ferry/abi.h"
#include "ferry/buf.h"
#include "ferry/hex.h"
#include "testutil.h"

static const char *const artifacts[] = {"Gateway",      "TokenVault",   "Voucher",  "IntentRouter",
                                        "CallExecutor", "TestSwapPool", "TestToken"};

static void assert_printable(const char *s, size_t cap)
{
    size_t n = strlen(s);
    assert_true(n < cap);
    for (size_t i = 0; i < n; i++)
        assert_true(s[i] >= 0x20 && s[i] < 0x7f);
}

/* "0x" + selector || abi.encode(args) of a signature, through the ABI module. */
static char *calldata(const char *sig, const char *const *args, size_t n)
{
    struct abi_sig *s;
    struct abi_value *v;
    struct fbuf b;
    fbuf_init(&b, 1 << 20);
    assert_int_equal(abi_function_parse(&s, sig), FERRY_OK);
    assert_int_equal(abi_args_parse(&v, s->params, args, n), FERRY_OK);
    assert_int_equal(abi_calldata_encode(&b, s, v), FERRY_OK);
    char *hex = tu_hexstr(b.data, b.len);
    abi_value_free(v);
    abi_sig_free(s);
    fbuf_free(&b);
    return hex;
}

static void text_is(const char *hex, const char *want)
{
    char out[1024];
    evm_revert_text(out, sizeof out, hex);
    if (strcmp(out, want) != 0)
        fail_msg("%s\n  gave %s\n  want %s", hex ? hex : "(null)", out, want);
    assert_printable(out, sizeof out);
}

/* ---- recorded ---- */

static void recorded(void **state)
{
    cJSON *v = tu_load_vectors("reverts.json");
    const cJSON *c;
    size_t n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        const char *data = cJSON_GetObjectItemCaseSensitive(c, "data")->valuestring;
        const char *want = cJSON_GetObjectItemCaseSensitive(c, "expect")->valuestring;
        text_is(data, want);
        /* the byte form says the same */
        size_t len;
        uint8_t *raw = tu_unhex(data, &len);
        char out[1024];
        evm_revert_text_bytes(out, sizeof out, raw, len);
        assert_string_equal(out, want);
        free(raw);
        n++;
    }
    assert_true(n >= 15);
    cJSON_Delete(v);
}

/* ---- the table against the ABIs ---- */

static bool in_table(const char *sig)
{
    for (size_t i = 0; i < evm_error_count(); i++)
        if (strcmp(evm_error_signature(i), sig) == 0)
            return true;
    return false;
}

static void table_parses_without_collisions(void **state)
{
    size_t n = evm_error_count();
    assert_true(n >= 80);
    assert_null(evm_error_signature(n));
    uint8_t (*sel)[4] = calloc(n, 4);
    assert_non_null(sel);
    for (size_t i = 0; i < n; i++) {
        if (abi_selector(sel[i], evm_error_signature(i)) != FERRY_OK)
            fail_msg("revert.c: %s does not parse: %s", evm_error_signature(i), ferry_errmsg());
        assert_string_equal(evm_error_lookup(sel[i]), evm_error_signature(i));
        for (size_t k = 0; k < i; k++)
            if (memcmp(sel[k], sel[i], 4) == 0)
                fail_msg("revert.c: %s and %s share a selector (or are listed twice)", evm_error_signature(k),
                         evm_error_signature(i));
    }
    free(sel);
    static const uint8_t none[4] = {0xde, 0xad, 0xbe, 0xef};
    assert_null(evm_error_lookup(none));
}

static void table_equals_vector_list(void **state)
{
    cJSON *v = tu_load_vectors("reverts.json");
    const cJSON *e;
    size_t n = 0, missing = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(v, "errors"))
    {
        const char *sig = cJSON_GetObjectItemCaseSensitive(e, "signature")->valuestring;
        const char *sel_hex = cJSON_GetObjectItemCaseSensitive(e, "selector")->valuestring;
        n++;
        if (!in_table(sig)) {
            fprintf(stderr, "# revert.c lacks an error of the ABIs; add: {.sig = \"%s\"},\n", sig);
            missing++;
            continue;
        }
        uint8_t sel[4];
        assert_int_equal(hex_decode_exact(sel, 4, sel_hex, HEX_PREFIX_REQUIRED), FERRY_OK);
        assert_string_equal(evm_error_lookup(sel), sig); /* cast sig agrees with our keccak */
    }
    assert_int_equal(missing, 0);
    /* and nothing in the table that no contract declares (the lists are both duplicate-free) */
    assert_int_equal(n, evm_error_count());
    cJSON_Delete(v);
}

/* "Name(type name, ...)" of an ABI error item, as the table writes it. */
static void abi_item_signature(struct fbuf *b, const cJSON *item)
{
    assert_int_equal(fbuf_printf(b, "%s(", cJSON_GetObjectItemCaseSensitive(item, "name")->valuestring), FERRY_OK);
    const cJSON *in;
    bool first = true;
    cJSON_ArrayForEach(in, cJSON_GetObjectItemCaseSensitive(item, "inputs"))
    {
        assert_int_equal(fbuf_printf(b, "%s%s %s", first ? "" : ", ",
                                     cJSON_GetObjectItemCaseSensitive(in, "type")->valuestring,
                                     cJSON_GetObjectItemCaseSensitive(in, "name")->valuestring),
                         FERRY_OK);
        first = false;
    }
    assert_int_equal(fbuf_addstr(b, ")"), FERRY_OK);
}

static void table_equals_artifacts(void **state)
{
    size_t n = evm_error_count();
    bool *seen = calloc(n, sizeof *seen);
    size_t missing = 0;
    for (size_t c = 0; c < sizeof artifacts / sizeof artifacts[0]; c++) {
        char path[128];
        snprintf(path, sizeof path, "build/contracts/%s.json", artifacts[c]);
        if (access(path, R_OK) != 0) {
            fprintf(stderr, "# skipped: %s not built (make contracts); checked against reverts.json only\n", path);
            free(seen);
            skip();
        }
        cJSON *doc = tu_read_json(path);
        assert_non_null(doc);
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(doc, "abi"))
        {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
            if (!cJSON_IsString(type) || strcmp(type->valuestring, "error") != 0)
                continue;
            struct fbuf b;
            fbuf_init(&b, 4096);
            abi_item_signature(&b, item);
            bool found = false;
            for (size_t i = 0; i < n; i++)
                if (strcmp(evm_error_signature(i), (const char *)b.data) == 0)
                    seen[i] = found = true;
            if (!found) {
                fprintf(stderr, "# %s declares an error revert.c lacks; add: {.sig = \"%s\"},\n", artifacts[c],
                        (const char *)b.data);
                missing++;
            }
            fbuf_free(&b);
        }
        cJSON_Delete(doc);
    }
    for (size_t i = 0; i < n; i++)
        if (!seen[i]) {
            fprintf(stderr, "# revert.c lists %s, which no artifact declares\n", evm_error_signature(i));
            missing++;
        }
    free(seen);
    assert_int_equal(missing, 0);
}

/* ---- formats ---- */

static void error_and_panic(void **state)
{
    const char *nope = "0x08c379a00000000000000000000000000000000000000000000000000000000000000020"
                       "0000000000000000000000000000000000000000000000000000000000000004"
                       "6e6f706500000000000000000000000000000000000000000000000000000000";
    text_is(nope, "nope");
    text_is("0x4e487b710000000000000000000000000000000000000000000000000000000000000011",
            "panic 0x11 (arithmetic overflow)");
    text_is("0x4e487b710000000000000000000000000000000000000000000000000000000000000032",
            "panic 0x32 (index out of bounds)");
    text_is("0x4e487b710000000000000000000000000000000000000000000000000000000000000099",
            "panic 0x99 (unknown panic code)");
    text_is("0x4e487b710100000000000000000000000000000000000000000000000000000000000011",
            "panic 0x100000000000000000000000000000000000000000000000000000000000011 (unknown panic code)");
    text_is("0x4e487b7100", "malformed Panic(uint256) (5 bytes)");
    text_is("0x08c379a0ff", "malformed Error(string) (5 bytes)");
    /* the reason of Error(string) is shown as is, but only printable ASCII */
    const char *ctl[] = {"a\nb\x01\xff"};
    char *hex = calldata("Error(string)", ctl, 1);
    text_is(hex, "a?b??");
    free(hex);
    char out[4];
    evm_revert_text(out, sizeof out, nope);
    assert_string_equal(out, "nop"); /* too small to mark the cut */
}

static void unknown_and_empty(void **state)
{
    text_is("0xdeadbeef00", "custom error 0xdeadbeef (5 bytes)");
    text_is("0xdeadbeef", "custom error 0xdeadbeef (4 bytes)");
    text_is("0x", "no reason given");
    text_is(NULL, "no reason given");
    text_is("0x0102", "revert data 0x0102");
    char out[64];
    evm_revert_text_bytes(out, sizeof out, NULL, 5);
    assert_string_equal(out, "no reason given");
}

static void arguments(void **state)
{
    const char *a1[] = {"0x000000000000000000000000000000000000000000000000000000000000beef", "8"};
    char *hex = calldata("PositionBusy(bytes32,uint8)", a1, 2);
    text_is(hex, "PositionBusy(bytes32 intentId=0x000000000000000000000000000000000000000000000000000000000000beef, "
                 "uint8 status=8 (Cancelled))");
    free(hex);
    /* a status past the enum: the number alone */
    a1[1] = "9";
    hex = calldata("PositionBusy(bytes32,uint8)", a1, 2);
    text_is(hex, "PositionBusy(bytes32 intentId=0x000000000000000000000000000000000000000000000000000000000000beef, "
                 "uint8 status=9)");
    free(hex);
    /* an enum of another error is not named */
    const char *a2[] = {"3", "1"};
    hex = calldata("UnknownStepKind(uint256,uint8)", a2, 2);
    text_is(hex, "UnknownStepKind(uint256 index=3, uint8 kind=1)");
    free(hex);
    const char *a3[] = {"115792089237316195423570985008687907853269984665640564039457584007913129639935",
                        "18446744073709551615"};
    hex = calldata("InsufficientOutput(uint256,uint256)", a3, 2);
    text_is(hex, "InsufficientOutput(uint256 amountOut="
                 "115792089237316195423570985008687907853269984665640564039457584007913129639935, "
                 "uint256 minAmountOut=18446744073709551615)");
    free(hex);
}

static void long_values_are_cut(void **state)
{
    char s[121];
    memset(s, 'a', 120);
    s[120] = 0;
    const char *a[] = {s};
    char *hex = calldata("StringTooLong(string)", a, 1);
    char want[256];
    snprintf(want, sizeof want, "StringTooLong(string str=\"%.96s...\" (120 bytes))", s);
    text_is(hex, want);
    free(hex);

    char b[2 + 200 + 1] = "0x";
    for (int i = 0; i < 100; i++)
        snprintf(b + 2 + 2 * i, 3, "%02x", (unsigned)(i * 7 + 1) & 0xff);
    const char *a2[] = {b};
    hex = calldata("CallReverted(bytes)", a2, 1);
    snprintf(want, sizeof want, "CallReverted(bytes reason=%.66s... (100 bytes))", b);
    text_is(hex, want);
    free(hex);

    /* a quote and a control character inside a string argument are escaped */
    const char *a3[] = {"x\"\\\n"};
    hex = calldata("StringTooLong(string)", a3, 1);
    text_is(hex, "StringTooLong(string str=\"x\\\"\\\\\\x0a\")");
    free(hex);
}

static void nesting_is_bounded(void **state)
{
    const char *in[] = {"5", "10"};
    char *hex = calldata("InsufficientOutput(uint256,uint256)", in, 2);
    for (int i = 0; i < 4; i++) {
        const char *a[] = {hex};
        char *outer = calldata("CallReverted(bytes)", a, 1);
        free(hex);
        hex = outer;
    }
    /* the top and NEST_MAX (3) levels inside it decoded; what the innermost carries stays hex (cut) */
    text_is(hex, "CallReverted(bytes reason=CallReverted(bytes reason=CallReverted(bytes reason="
                 "CallReverted(bytes reason=0x2c19b8b8000000000000000000000000000000000000000000000000000000"
                 "00... (68 bytes)))))");
    free(hex);
}

/* Every recorded case at every buffer size: inside the buffer, printable, and the full text's
 * beginning, with "..." at the end when cut and the buffer has room to say so. */
static void every_buffer_size(void **state)
{
    cJSON *v = tu_load_vectors("reverts.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        const char *data = cJSON_GetObjectItemCaseSensitive(c, "data")->valuestring;
        const char *full = cJSON_GetObjectItemCaseSensitive(c, "expect")->valuestring;
        size_t flen = strlen(full);
        for (size_t cap = 1; cap <= flen + 2; cap++) {
            char *out = malloc(cap);
            evm_revert_text(out, cap, data);
            assert_printable(out, cap);
            if (flen < cap) {
                assert_string_equal(out, full);
            } else if (cap >= 8) {
                assert_int_equal(strlen(out), cap - 1);
                assert_memory_equal(out, full, cap - 4);
                assert_string_equal(out + cap - 4, "...");
            } else {
                assert_int_equal(strlen(out), cap - 1);
                assert_memory_equal(out, full, cap - 1);
            }
            free(out);
        }
    }
    cJSON_Delete(v);
    char x = 'x';
    evm_revert_text(&x, 0, "0x"); /* cap 0 writes nothing */
    assert_int_equal(x, 'x');
}

static void malformed(void **state)
{
    text_is("0xzz", "no reason given");
    text_is("762a4486", "no reason given"); /* no 0x: not revert data */
    text_is("0x762a4486", "PacketNotPending(uint64 sequence) with malformed arguments (4 bytes)");
    /* a uint64 word with high bytes set is not a uint64 */
    text_is("0x762a44860100000000000000000000000000000000000000000000000000000000000007",
            "PacketNotPending(uint64 sequence) with malformed arguments (36 bytes)");
    /* an address with dirty upper bytes */
    text_is("0x118cdaa7ff0000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266",
            "OwnableUnauthorizedAccount(address account) with malformed arguments (36 bytes)");
    /* bytes whose length runs past the data */
    text_is("0x70de1b4b0000000000000000000000000000000000000000000000000000000000000020"
            "00000000000000000000000000000000000000000000000000000000000000ff",
            "CallReverted(bytes reason) with malformed arguments (68 bytes)");
    /* nested data that is itself malformed is shown as bytes */
    const char *a[] = {"0x762a4486ff"};
    char *hex = calldata("CallReverted(bytes)", a, 1);
    text_is(hex, "CallReverted(bytes reason=0x762a4486ff)");
    free(hex);
    /* trailing bytes after a well-formed encoding are ignored, as Solidity does */
    text_is("0x762a44860000000000000000000000000000000000000000000000000000000000000007ffff",
            "PacketNotPending(uint64 sequence=7)");
}

/* Known selectors followed by random bytes, and random bytes alone: printable text inside the
 * buffer every time (the fuzz harness does this at length; this keeps a quick check in the suite). */
static void random_data(void **state)
{
    static const uint8_t sels[][4] = {{0x70, 0xde, 0x1b, 0x4b}, {0x08, 0xc3, 0x79, 0xa0}, {0x4e, 0x48, 0x7b, 0x71},
                                      {0x43, 0xa2, 0x14, 0x86}, {0x00, 0x00, 0x00, 0x00}};
    uint8_t data[300];
    char out[97];
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(tu_rand() % sizeof data);
        tu_rand_bytes(data, n);
        if (n >= 4 && (i & 1))
            memcpy(data, sels[tu_rand() % 5], 4);
        if (n >= 36 && (i & 2)) { /* a plausible head: offset 0x20 and a small length */
            memset(data + 4, 0, 32);
            data[35] = 0x20;
            if (n >= 68) {
                memset(data + 36, 0, 32);
                data[67] = (uint8_t)(tu_rand() % 64);
            }
        }
        size_t cap = 1 + (size_t)(tu_rand() % sizeof out);
        evm_revert_text_bytes(out, cap, data, n);
        assert_printable(out, cap);
    }
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recorded),
        cmocka_unit_test(table_parses_without_collisions),
        cmocka_unit_test(table_equals_vector_list),
        cmocka_unit_test(table_equals_artifacts),
        cmocka_unit_test(error_and_panic),
        cmocka_unit_test(unknown_and_empty),
        cmocka_unit_test(arguments),
        cmocka_unit_test(long_values_are_cut),
        cmocka_unit_test(nesting_is_bounded),
        cmocka_unit_test(every_buffer_size),
        cmocka_unit_test(malformed),
        cmocka_unit_test(random_data),
    };
    return TU_RUN(tests);
}
