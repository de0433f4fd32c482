/* The intent model (src/intent*.c): parsing and every validation rule, with the field each error
 * names; round trips; the timeout planner; signatures; and cross-checks against vectors made by
 * the real IntentRouter and cast (scripts/vectors/intent.sh). */
#include <stdio.h>
#include <string.h>

#include "ferry/abi.h"
#include "ferry/eip712.h"
#include "ferry/hex.h"
#include "ferry/intent.h"
#include "ferry/signer.h"
#include "ferry/u256.h"
#include "testutil.h"

#define NOW 1780000000ull
#define ALPHA 31337
#define BETA 31338
#define GAMMA 31339
#define DELTA 31340 /* in the directory, no router */

static const char ROUTER[] = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
static const char FTA[] = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9";
static const char FTB[] = "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9";

static struct intent_chain_info chains[4] = {
    {"alpha", ALPHA, {0}, 1000, 1},
    {"beta", BETA, {0}, 2000, 2},
    {"gamma", GAMMA, {0}, 12000, 0}, /* 0 confirmations */
    {"delta", DELTA, {0}, 1000, 1},
};
static struct intent_dir dir = {chains, 4};

/* The sample of the shared plan: FTA alpha -> beta, swap on beta, FTB beta -> gamma. */
static const char SAMPLE[] =
    "{\"owner\": \"0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65\", \"origin_chain\": \"alpha\","
    " \"deadline\": 1790000000, \"nonce\": \"12345\", \"refund\": \"origin\", \"steps\": ["
    " {\"transfer\": {\"token\": \"0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9\", \"amount\": \"1000000000000000000\","
    "   \"to_chain\": \"beta\", \"timeout\": 600}},"
    " {\"call\": {\"chain\": \"beta\", \"target\": \"0x5FC8d32690cc91D4c39d9d3abcBD16989F875707\","
    "   \"data\": \"0xabcdef01\", \"token_in\": \"0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc\","
    "   \"token_out\": \"0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9\", \"min_amount_out\": \"1\"}},"
    " {\"transfer\": {\"token\": \"0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9\", \"amount\": \"all\","
    "   \"to_chain\": \"gamma\", \"recipient\": \"0x976EA74026E726554dB657fA54763abd0C3a0aa9\", \"timeout\": 900}}]}";

static int setup_dir(void)
{
    for (size_t i = 0; i < 3; i++)
        if (address_parse(chains[i].router, ROUTER))
            return -1;
    return 0;
}

/* ---- JSON editing: "steps/1/call/data" paths ---- */

static cJSON *walk_parent(cJSON *root, const char *path, char *last, size_t last_len)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    cJSON *cur = root;
    char *save = NULL, *tok = strtok_r(buf, "/", &save), *next;
    while (tok && (next = strtok_r(NULL, "/", &save))) {
        cur = cJSON_IsArray(cur) ? cJSON_GetArrayItem(cur, atoi(tok)) : cJSON_GetObjectItemCaseSensitive(cur, tok);
        assert_non_null(cur);
        tok = next;
    }
    snprintf(last, last_len, "%s", tok ? tok : "");
    return cur;
}

/* Sets (value JSON text) or deletes (NULL) the member at path in a parsed copy of base. */
static cJSON *edit(const char *base, const char *path, const char *value)
{
    cJSON *j = cJSON_Parse(base);
    assert_non_null(j);
    if (!path)
        return j;
    char last[64];
    cJSON *parent = walk_parent(j, path, last, sizeof last);
    if (cJSON_IsArray(parent)) {
        int k = atoi(last);
        if (value)
            cJSON_ReplaceItemInArray(parent, k, cJSON_Parse(value));
        else
            cJSON_DeleteItemFromArray(parent, k);
        return j;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(parent, last);
    if (value) {
        cJSON *v = cJSON_Parse(value);
        assert_non_null(v);
        cJSON_AddItemToObject(parent, last, v);
    }
    return j;
}

static enum ferry_err parse_text(struct intent *it, const char *text, unsigned flags, char err[INTENT_ERR_MAX])
{
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    enum ferry_err e = intent_from_json(it, j, &dir, NOW, flags, "intent", err);
    cJSON_Delete(j);
    return e;
}

/* Expects the edit of SAMPLE to fail with exactly `want` (field and message) or, when want ends
 * with '*', with a message starting with it. The intent must come back cleared. */
static void expect_err_on(const char *base, const char *path, const char *value, unsigned flags, const char *want)
{
    cJSON *j = edit(base, path, value);
    struct intent it;
    char err[INTENT_ERR_MAX];
    memset(&it, 0x5a, sizeof it);
    enum ferry_err e = intent_from_json(&it, j, &dir, NOW, flags, "intent", err);
    cJSON_Delete(j);
    if (e != FERRY_EINVAL)
        fail_msg("%s=%s: expected an error \"%s\", got %d (%s)", path ? path : "-", value ? value : "(deleted)",
                 want, e, err);
    size_t n = strlen(want);
    bool ok = want[n - 1] == '*' ? strncmp(err, want, n - 1) == 0 : strcmp(err, want) == 0;
    if (!ok)
        fail_msg("%s=%s:\n  want \"%s\"\n  got  \"%s\"", path ? path : "-", value ? value : "(deleted)", want, err);
    assert_string_equal(ferry_errmsg(), err);
    assert_int_equal(it.n_steps, 0);
    for (size_t i = 0; i < INTENT_MAX_STEPS; i++)
        assert_null(it.steps[i].data);
}

static void expect_err(const char *path, const char *value, const char *want)
{
    expect_err_on(SAMPLE, path, value, 0, want);
}

static void expect_ok_on(const char *base, const char *path, const char *value, unsigned flags, struct intent *it)
{
    cJSON *j = edit(base, path, value);
    char err[INTENT_ERR_MAX];
    enum ferry_err e = intent_from_json(it, j, &dir, NOW, flags, "intent", err);
    cJSON_Delete(j);
    if (e)
        fail_msg("%s=%s: unexpected error %s", path ? path : "-", value ? value : "(deleted)", err);
}

static void expect_ok(const char *path, const char *value)
{
    struct intent it;
    expect_ok_on(SAMPLE, path, value, 0, &it);
    intent_clear(&it);
}

static bool all_ones(const uint8_t a[32])
{
    for (size_t i = 0; i < 32; i++)
        if (a[i] != 0xff)
            return false;
    return true;
}

/* ---- tests ---- */

static void sample_parses(void **state)
{
    struct intent it;
    char err[INTENT_ERR_MAX];
    assert_int_equal(parse_text(&it, SAMPLE, 0, err), FERRY_OK);
    assert_int_equal(it.origin_chain, ALPHA);
    assert_int_equal(it.deadline, 1790000000);
    assert_int_equal(u256_from_be32(it.nonce).w[0], 12345);
    assert_int_equal(it.refund, INTENT_REFUND_ORIGIN);
    assert_int_equal(it.n_steps, 3);
    const struct intent_step *s = it.steps;
    assert_int_equal(s[0].kind, INTENT_STEP_TRANSFER);
    assert_int_equal(s[0].chain, ALPHA);
    assert_int_equal(s[0].to_chain, BETA);
    assert_int_equal(s[0].timeout, 600);
    char dec[U256_DEC_MAX];
    u256_to_dec(dec, u256_from_be32(s[0].amount));
    assert_string_equal(dec, "1000000000000000000");
    assert_int_equal(s[1].kind, INTENT_STEP_CALL);
    assert_int_equal(s[1].chain, BETA);
    assert_int_equal(s[1].to_chain, 0);
    assert_int_equal(s[1].timeout, 0);
    assert_true(all_ones(s[1].amount));
    assert_int_equal(s[1].data_len, 4);
    tu_assert_hex_equal(s[1].data, 4, "abcdef01");
    assert_int_equal(u256_from_be32(s[1].min_amount_out).w[0], 1);
    assert_int_equal(s[2].chain, BETA);
    assert_int_equal(s[2].to_chain, GAMMA);
    assert_true(all_ones(s[2].amount));
    char a[ADDRESS_STR];
    address_to_checksum(a, s[2].recipient);
    assert_string_equal(a, "0x976EA74026E726554dB657fA54763abd0C3a0aa9");
    address_to_checksum(a, s[2].token);
    assert_string_equal(a, FTB);
    intent_clear(&it);
}

static void roundtrip_json(void **state)
{
    /* The sample, a recovery policy, a call first, a local payout, numeric chain names. */
    const char *edits[][2] = {
        {NULL, NULL},
        {"refund", "{\"recovery\": \"0x14dC79964da2C08b23698B3D3cc7Ca32193d9955\"}"},
        {"origin_chain", "\"31337\""},
        {"steps/2/transfer/to_chain", "31339"},
        {"steps/2/transfer/to_chain", "\"beta\""},
    };
    for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
        struct intent a, b;
        char err[INTENT_ERR_MAX];
        const char *base = SAMPLE;
        cJSON *j = edit(base, edits[k][0], edits[k][1]);
        if (k == 4) /* a local payout has no timeout */
            cJSON_DeleteItemFromObjectCaseSensitive(
                cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "steps"), 2), "transfer"), "timeout");
        assert_int_equal(intent_from_json(&a, j, &dir, NOW, 0, "intent", err), FERRY_OK);
        cJSON_Delete(j);
        cJSON *out = intent_to_json(&a, &dir);
        assert_non_null(out);
        char *t1 = cJSON_PrintUnformatted(out);
        assert_int_equal(intent_from_json(&b, out, &dir, NOW, 0, "intent", err), FERRY_OK);
        uint8_t r[ADDRESS_LEN], ida[32], idb[32];
        assert_int_equal(address_parse(r, ROUTER), FERRY_OK);
        intent_id(&a, r, ida);
        intent_id(&b, r, idb);
        assert_memory_equal(ida, idb, 32);
        cJSON *out2 = intent_to_json(&b, &dir);
        char *t2 = cJSON_PrintUnformatted(out2);
        assert_string_equal(t1, t2); /* normalized form is a fixed point */
        if (k == 2)
            assert_non_null(strstr(t1, "\"origin_chain\":\"alpha\""));
        /* Without a directory: chain ids as numbers, and back. */
        cJSON *raw = intent_to_json(&a, NULL);
        assert_non_null(raw);
        char *t3 = cJSON_PrintUnformatted(raw);
        assert_non_null(strstr(t3, "\"origin_chain\":31337"));
        struct intent c;
        assert_int_equal(intent_from_json(&c, raw, NULL, NOW, 0, "intent", err), FERRY_OK);
        uint8_t idc[32];
        intent_id(&c, r, idc);
        assert_memory_equal(ida, idc, 32);
        free(t1);
        free(t2);
        free(t3);
        cJSON_Delete(out);
        cJSON_Delete(out2);
        cJSON_Delete(raw);
        intent_clear(&a);
        intent_clear(&b);
        intent_clear(&c);
    }
}

static void random_roundtrips(void **state)
{
    /* Random routes over alpha/beta/gamma: transfers and calls in random order, random amounts and data. */
    uint8_t r[ADDRESS_LEN];
    assert_int_equal(address_parse(r, ROUTER), FERRY_OK);
    for (int round = 0; round < 200; round++) {
        struct intent it;
        memset(&it, 0, sizeof it);
        tu_rand_bytes(it.owner, ADDRESS_LEN);
        it.owner[0] |= 1;
        it.origin_chain = ALPHA;
        it.deadline = NOW + 1 + tu_rand() % 1000000;
        tu_rand_bytes(it.nonce, 32);
        if (tu_rand() & 1) {
            it.refund = INTENT_REFUND_RECOVERY;
            tu_rand_bytes(it.recovery, ADDRESS_LEN);
            it.recovery[0] |= 1;
        }
        size_t n = 1 + tu_rand() % INTENT_MAX_STEPS;
        uint64_t cur = ALPHA;
        uint8_t held[ADDRESS_LEN];
        tu_rand_bytes(held, ADDRESS_LEN);
        held[0] |= 1;
        for (size_t i = 0; i < n; i++) {
            struct intent_step *s = &it.steps[i];
            bool last = i + 1 == n;
            s->chain = cur;
            memcpy(s->token, held, ADDRESS_LEN);
            if (i == 0) {
                tu_rand_bytes(s->amount, 32);
                s->amount[31] |= 1;
                s->amount[0] &= 0x7f;
            } else {
                memset(s->amount, 0xff, 32);
            }
            if (!last && (tu_rand() % 3 == 0)) {
                s->kind = INTENT_STEP_CALL;
                tu_rand_bytes(s->target, ADDRESS_LEN);
                s->target[0] |= 1;
                s->data_len = tu_rand() % 100;
                s->data = s->data_len ? malloc(s->data_len) : NULL;
                tu_rand_bytes(s->data, s->data_len);
                tu_rand_bytes(s->token_out, ADDRESS_LEN);
                s->token_out[0] = (uint8_t)(s->token[0] ^ 0x80) | 1;
                tu_rand_bytes(s->min_amount_out, 32);
                memcpy(held, s->token_out, ADDRESS_LEN);
            } else {
                s->kind = INTENT_STEP_TRANSFER;
                uint64_t to = ALPHA + tu_rand() % 3;
                if (to == cur && !last)
                    to = cur == GAMMA ? ALPHA : cur + 1;
                s->to_chain = to;
                if (to != cur)
                    s->timeout = INTENT_MIN_HOP_TIMEOUT + tu_rand() % 100000;
                if (last) {
                    tu_rand_bytes(s->recipient, ADDRESS_LEN);
                    s->recipient[0] |= 1;
                }
                cur = to;
                tu_rand_bytes(held, ADDRESS_LEN);
                held[0] |= 1;
            }
        }
        it.n_steps = n;
        cJSON *j = intent_to_json(&it, &dir);
        assert_non_null(j);
        struct intent back;
        char err[INTENT_ERR_MAX];
        if (intent_from_json(&back, j, &dir, NOW, 0, "intent", err))
            fail_msg("round %d: %s", round, err);
        uint8_t a[32], b[32];
        intent_id(&it, r, a);
        intent_id(&back, r, b);
        assert_memory_equal(a, b, 32);
        struct intent copy;
        assert_int_equal(intent_copy(&copy, &back), FERRY_OK);
        intent_clear(&back); /* the copy owns its own data */
        intent_id(&copy, r, b);
        assert_memory_equal(a, b, 32);
        cJSON_Delete(j);
        intent_clear(&it);
        intent_clear(&copy);
    }
}

static void top_level_rules(void **state)
{
    expect_err("extra", "1", "intent.extra: unknown member");
    expect_err("owner", NULL, "intent.owner: missing");
    expect_err("owner", "5", "intent.owner: expected a string");
    expect_err("owner", "\"0x15d34aaf54267db7d7c367839aaf71a00a2c6a6\"", "intent.owner: expected 0x followed by 40*");
    expect_err("owner", "\"0x15D34AAf54267DB7D7c367839AAf71A00a2C6A65\"", "intent.owner: bad EIP-55 checksum*");
    expect_err("owner", "\"0x0000000000000000000000000000000000000000\"", "intent.owner: the zero address is not allowed");
    expect_ok("owner", "\"0x15d34aaf54267db7d7c367839aaf71a00a2c6a65\""); /* all lowercase is fine */
    expect_err("origin_chain", NULL, "intent.origin_chain: missing");
    expect_err("origin_chain", "\"omega\"", "intent.origin_chain: unknown chain \"omega\"");
    expect_err("origin_chain", "\"delta\"", "intent.origin_chain: chain delta has no IntentRouter configured");
    expect_err("origin_chain", "99", "intent.origin_chain: unknown chain id 99");
    expect_err("origin_chain", "1.5", "intent.origin_chain: expected a chain name");
    expect_err("origin_chain", "\"beta\"",
               "intent.steps[0].transfer.to_chain: a transfer before the last step must leave the chain (the funds "
               "are on beta)");
    expect_ok("origin_chain", "31337");
    expect_ok("origin_chain", "\"31337\"");
    expect_err("deadline", NULL, "intent.deadline: missing");
    expect_err("deadline", "\"1790000000\"", "intent.deadline: expected unix seconds (a whole number)");
    expect_err("deadline", "1790000000.5", "intent.deadline: expected unix seconds (a whole number)");
    expect_err("deadline", "-1", "intent.deadline: expected unix seconds (a whole number)");
    expect_err("deadline", "1780000000", "intent.deadline: 1780000000 is not in the future (now 1780000000)");
    expect_err("deadline", "1", "intent.deadline: 1 is not in the future*");
    expect_ok("deadline", "1780000001");
    expect_err("nonce", NULL, "intent.nonce: missing (prepare picks one; a submitted intent must carry it)");
    expect_err("nonce", "12345", "intent.nonce: expected a decimal string");
    expect_err("nonce", "\"0x10\"", "intent.nonce: not a decimal string of base units");
    expect_err("nonce", "\"007\"", "intent.nonce: not a decimal string of base units");
    expect_err("nonce", "\"\"", "intent.nonce: not a decimal string of base units");
    expect_err("nonce", "\"1157920892373161954235709850086879078532699846656405640394575840079131296399360\"",
               "intent.nonce: nonce overflows uint256");
    expect_err("nonce", "\"115792089237316195423570985008687907853269984665640564039457584007913129639936\"",
               "intent.nonce: nonce overflows uint256"); /* 2^256 */
    expect_ok("nonce", "\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"");
    expect_ok("nonce", "\"0\"");
    expect_err("refund", NULL, "intent.refund: missing");
    expect_err("refund", "\"owner\"", "intent.refund: expected \"origin\" or {\"recovery\": \"0x...\"}");
    expect_err("refund", "{}", "intent.refund.recovery: missing");
    expect_err("refund", "{\"recovery\": \"0x0000000000000000000000000000000000000000\"}",
               "intent.refund.recovery: the zero address is not allowed");
    expect_err("refund", "{\"recovery\": \"0x14dC79964da2C08b23698B3D3cc7Ca32193d9955\", \"x\": 1}",
               "intent.refund.x: unknown member");
    expect_err("steps", NULL, "intent.steps: missing");
    expect_err("steps", "{}", "intent.steps: expected an array of steps");
    expect_err("steps", "[]", "intent.steps: at least one step is needed");
    expect_err("steps/1", "5", "intent.steps[1]: expected {\"transfer\": {...}} or {\"call\": {...}}");
    expect_err("steps/1", "{\"call\": {}, \"transfer\": {}}",
               "intent.steps[1]: expected {\"transfer\": {...}} or {\"call\": {...}}");
    expect_err("steps/1", "{\"swap\": {}}", "intent.steps[1]: unknown step kind (expected \"transfer\" or \"call\")");
    expect_err("steps/1", "{\"call\": 5}", "intent.steps[1].call: expected an object");

    /* Not an object at all, a duplicate member, a NULL document, a custom path prefix. */
    struct intent it;
    char err[INTENT_ERR_MAX];
    assert_int_equal(parse_text(&it, "[1]", 0, err), FERRY_EINVAL);
    assert_string_equal(err, "intent: expected a JSON object");
    char dup[sizeof SAMPLE + 64];
    snprintf(dup, sizeof dup, "{\"deadline\": 1790000001,%s", SAMPLE + 1);
    assert_int_equal(parse_text(&it, dup, 0, err), FERRY_EINVAL);
    assert_string_equal(err, "intent.deadline: duplicate member");
    assert_int_equal(intent_from_json(&it, NULL, &dir, NOW, 0, "intent", err), FERRY_EINVAL);
    assert_string_equal(err, "intent: missing");
    cJSON *j = edit(SAMPLE, "steps/1/call/data", "\"0xabc\"");
    assert_int_equal(intent_from_json(&it, j, &dir, NOW, 0, "body.intent", err), FERRY_EINVAL);
    assert_string_equal(err, "body.intent.steps[1].call.data: odd number of hex digits");
    cJSON_Delete(j);
    /* Unprintable member names are shown safely. */
    j = edit(SAMPLE, "we\x01ird", "1");
    assert_int_equal(intent_from_json(&it, j, &dir, NOW, 0, "intent", err), FERRY_EINVAL);
    assert_string_equal(err, "intent.we?ird: unknown member");
    cJSON_Delete(j);
}

static void too_many_steps(void **state)
{
    /* 16 steps: 15 calls swapping two tokens on alpha, then the payout; 17 is one too many. */
    char buf[16384];
    size_t off = 0;
    off += (size_t)snprintf(buf + off, sizeof buf - off,
                            "{\"owner\": \"0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65\", \"origin_chain\": \"alpha\","
                            " \"deadline\": 1790000000, \"nonce\": \"1\", \"refund\": \"origin\", \"steps\": [");
    for (int n = 16; n <= 17; n++) {
        size_t o = off;
        for (int i = 0; i < n - 1; i++) {
            const char *in = i % 2 ? FTB : FTA, *out = i % 2 ? FTA : FTB;
            o += (size_t)snprintf(buf + o, sizeof buf - o,
                                  "{\"call\": {\"chain\": \"alpha\", \"target\": \"%s\", \"data\": \"0x\","
                                  " \"token_in\": \"%s\", \"token_out\": \"%s\", \"min_amount_out\": \"0\"%s}},",
                                  ROUTER, in, out, i == 0 ? ", \"amount_in\": \"5\"" : "");
        }
        snprintf(buf + o, sizeof buf - o,
                 "{\"transfer\": {\"token\": \"%s\", \"amount\": \"all\", \"to_chain\": \"alpha\","
                 " \"recipient\": \"%s\"}}]}",
                 (n - 1) % 2 ? FTB : FTA, ROUTER);
        struct intent it;
        char err[INTENT_ERR_MAX];
        if (n == 16) {
            if (parse_text(&it, buf, 0, err))
                fail_msg("%s", err);
            assert_int_equal(it.n_steps, 16);
            assert_int_equal(it.steps[15].to_chain, ALPHA);
            intent_clear(&it);
        } else {
            assert_int_equal(parse_text(&it, buf, 0, err), FERRY_EINVAL);
            assert_string_equal(err, "intent.steps: 17 steps, at most 16 allowed");
        }
    }
}

static void transfer_rules(void **state)
{
    expect_err("steps/0/transfer/colour", "\"red\"", "intent.steps[0].transfer.colour: unknown member");
    expect_err("steps/0/transfer/token", NULL, "intent.steps[0].transfer.token: missing");
    expect_err("steps/0/transfer/token", "\"0x0000000000000000000000000000000000000000\"",
               "intent.steps[0].transfer.token: the zero address is not allowed");
    expect_err("steps/0/transfer/token", "\"0xZZ7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9\"",
               "intent.steps[0].transfer.token: *");
    expect_err("steps/0/transfer/amount", NULL, "intent.steps[0].transfer.amount: missing");
    expect_err("steps/0/transfer/amount", "1000", "intent.steps[0].transfer.amount: expected a string");
    expect_err("steps/0/transfer/amount", "\"all\"",
               "intent.steps[0].transfer.amount: step 0 moves a concrete amount (\"all\" is for later steps)");
    expect_err("steps/0/transfer/amount", "\"0\"", "intent.steps[0].transfer.amount: must be more than 0");
    expect_err("steps/0/transfer/amount", "\"1.5\"",
               "intent.steps[0].transfer.amount: not a decimal string of base units");
    expect_err("steps/0/transfer/amount", "\"-1\"",
               "intent.steps[0].transfer.amount: not a decimal string of base units");
    expect_err("steps/0/transfer/amount", "\" 1\"",
               "intent.steps[0].transfer.amount: not a decimal string of base units");
    expect_err("steps/0/transfer/amount", "\"1e18\"",
               "intent.steps[0].transfer.amount: not a decimal string of base units");
    expect_err("steps/0/transfer/amount", "\"01\"",
               "intent.steps[0].transfer.amount: not a decimal string of base units");
    /* 79 digits */
    expect_err("steps/0/transfer/amount",
               "\"1000000000000000000000000000000000000000000000000000000000000000000000000000000\"",
               "intent.steps[0].transfer.amount: amount overflows uint256");
    expect_err("steps/0/transfer/amount",
               "\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"",
               "intent.steps[0].transfer.amount: 2^256-1 is reserved (it means \"all\"); name a smaller amount");
    expect_ok("steps/0/transfer/amount",
              "\"115792089237316195423570985008687907853269984665640564039457584007913129639934\"");
    expect_err("steps/2/transfer/amount", "\"5\"",
               "intent.steps[2].transfer.amount: must be \"all\" (every step after the first moves everything the "
               "intent holds)");
    expect_err("steps/0/transfer/to_chain", NULL, "intent.steps[0].transfer.to_chain: missing");
    expect_err("steps/0/transfer/to_chain", "\"omega\"", "intent.steps[0].transfer.to_chain: unknown chain \"omega\"");
    expect_err("steps/0/transfer/to_chain", "\"delta\"",
               "intent.steps[0].transfer.to_chain: chain delta has no IntentRouter configured");
    expect_err("steps/0/transfer/to_chain", "\"alpha\"",
               "intent.steps[0].transfer.to_chain: a transfer before the last step must leave the chain (the funds "
               "are on alpha)");
    expect_err("steps/0/transfer/recipient", "\"0x976EA74026E726554dB657fA54763abd0C3a0aa9\"",
               "intent.steps[0].transfer.recipient: only the last step names a recipient (the next chain's router "
               "receives this hop)");
    expect_err("steps/2/transfer/recipient", NULL, "intent.steps[2].transfer.recipient: missing");
    expect_err("steps/2/transfer/recipient", "\"0x0000000000000000000000000000000000000000\"",
               "intent.steps[2].transfer.recipient: the zero address is not allowed");
    expect_err("steps/0/transfer/timeout", "59",
               "intent.steps[0].transfer.timeout: 59 s is below the minimum hop timeout of 60 s");
    expect_err("steps/0/transfer/timeout", "0",
               "intent.steps[0].transfer.timeout: 0 s is below the minimum hop timeout of 60 s");
    expect_err("steps/0/transfer/timeout", "\"600\"", "intent.steps[0].transfer.timeout: expected a whole number of seconds");
    expect_err("steps/0/transfer/timeout", "600.5", "intent.steps[0].transfer.timeout: expected a whole number of seconds");
    expect_err("steps/0/transfer/timeout", "1e300", "intent.steps[0].transfer.timeout: expected a whole number of seconds");
    expect_ok("steps/0/transfer/timeout", "60");
    expect_err("steps/0/transfer/timeout", NULL,
               "intent.steps[0].transfer.timeout: missing (prepare fills it in; a submitted intent must carry every "
               "hop timeout)");
    /* The last transfer back to the chain the funds are on: a local payout, without a timeout. */
    expect_err("steps/2/transfer/to_chain", "\"beta\"",
               "intent.steps[2].transfer.timeout: a local payout (to_chain is the chain the funds are on) has no "
               "timeout");
    /* A transfer's token after a call must be that call's token_out. */
    expect_err("steps/2/transfer/token", "\"0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9\"",
               "intent.steps[2].transfer.token: must be the previous call's token_out "
               "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9 (the token the intent holds here)");
}

static void local_payout(void **state)
{
    struct intent it;
    cJSON *j = edit(SAMPLE, "steps/2/transfer/to_chain", "\"beta\"");
    cJSON_DeleteItemFromObjectCaseSensitive(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "steps"), 2), "transfer"), "timeout");
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    expect_ok_on(t, NULL, NULL, 0, &it);
    assert_int_equal(it.steps[2].to_chain, BETA);
    assert_int_equal(it.steps[2].timeout, 0);
    intent_clear(&it);
    /* With FILL the local payout gets no timeout either. */
    expect_ok_on(t, NULL, NULL, INTENT_PARSE_FILL, &it);
    assert_int_equal(it.steps[2].timeout, 0);
    intent_clear(&it);
    free(t);
    /* A one-step route that pays out on the origin. */
    const char *one = "{\"owner\": \"0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65\", \"origin_chain\": \"alpha\","
                      " \"deadline\": 1790000000, \"nonce\": \"1\", \"refund\": \"origin\", \"steps\": ["
                      " {\"transfer\": {\"token\": \"0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9\", \"amount\": \"7\","
                      " \"to_chain\": \"alpha\", \"recipient\": \"0x976EA74026E726554dB657fA54763abd0C3a0aa9\"}}]}";
    expect_ok_on(one, NULL, NULL, 0, &it);
    assert_int_equal(it.n_steps, 1);
    intent_clear(&it);
}

static void call_rules(void **state)
{
    expect_err("steps/1/call/x", "1", "intent.steps[1].call.x: unknown member");
    expect_err("steps/1/call/chain", NULL, "intent.steps[1].call.chain: missing");
    expect_err("steps/1/call/chain", "\"alpha\"", "intent.steps[1].call.chain: the funds are on beta at this step, not on alpha");
    expect_err("steps/1/call/chain", "\"omega\"", "intent.steps[1].call.chain: unknown chain \"omega\"");
    expect_err("steps/1/call/target", NULL, "intent.steps[1].call.target: missing");
    expect_err("steps/1/call/target", "\"0x0000000000000000000000000000000000000000\"",
               "intent.steps[1].call.target: the zero address is not allowed");
    expect_err("steps/1/call/data", NULL, "intent.steps[1].call.data: missing");
    expect_err("steps/1/call/data", "\"abcd\"", "intent.steps[1].call.data: expected 0x followed by hex digits");
    expect_err("steps/1/call/data", "\"0Xabcd\"", "intent.steps[1].call.data: expected 0x followed by hex digits");
    expect_err("steps/1/call/data", "\"0xabc\"", "intent.steps[1].call.data: odd number of hex digits");
    expect_err("steps/1/call/data", "\"0xabcg\"", "intent.steps[1].call.data: invalid character 'g' at position 5");
    expect_err("steps/1/call/data", "\"0xab cd\"", "intent.steps[1].call.data: odd number of hex digits");
    expect_err("steps/1/call/data", "\"0xab  cd\"", "intent.steps[1].call.data: invalid character ' ' at position 4");
    expect_ok("steps/1/call/data", "\"0x\"");
    expect_ok("steps/1/call/data", "\"0xABCDEF\"");
    /* 8192 bytes are fine, 8193 are not. */
    for (size_t n = INTENT_MAX_CALL_DATA; n <= INTENT_MAX_CALL_DATA + 1; n++) {
        char *v = malloc(2 * n + 5);
        v[0] = '"';
        v[1] = '0';
        v[2] = 'x';
        memset(v + 3, 'a', 2 * n);
        v[3 + 2 * n] = '"';
        v[4 + 2 * n] = 0;
        if (n == INTENT_MAX_CALL_DATA)
            expect_ok("steps/1/call/data", v);
        else
            expect_err("steps/1/call/data", v, "intent.steps[1].call.data: 8193 bytes of call data, at most 8192 allowed");
        free(v);
    }
    expect_err("steps/1/call/token_in", NULL, "intent.steps[1].call.token_in: missing");
    expect_err("steps/1/call/token_in", "\"0x0000000000000000000000000000000000000000\"",
               "intent.steps[1].call.token_in: the zero address is not allowed");
    expect_err("steps/1/call/token_out", NULL, "intent.steps[1].call.token_out: missing");
    expect_err("steps/1/call/token_out", "\"0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc\"",
               "intent.steps[1].call.token_out: must differ from token_in");
    expect_err("steps/1/call/min_amount_out", NULL, "intent.steps[1].call.min_amount_out: missing");
    expect_err("steps/1/call/min_amount_out", "1", "intent.steps[1].call.min_amount_out: expected a string");
    expect_err("steps/1/call/min_amount_out", "\"all\"",
               "intent.steps[1].call.min_amount_out: not a decimal string of base units");
    expect_err("steps/1/call/min_amount_out", "\"0x01\"",
               "intent.steps[1].call.min_amount_out: not a decimal string of base units");
    expect_err("steps/1/call/min_amount_out",
               "\"9999999999999999999999999999999999999999999999999999999999999999999999999999999\"",
               "intent.steps[1].call.min_amount_out: amount overflows uint256");
    expect_ok("steps/1/call/min_amount_out", "\"0\"");
    expect_err("steps/1/call/amount_in", "\"5\"",
               "intent.steps[1].call.amount_in: only a call at step 0 names amount_in (later steps use everything the "
               "intent holds)");
    /* A call as the last step. */
    expect_err("steps/2", "{\"call\": {}}",
               "intent.steps[2].call: the last step must be a transfer (to the recipient), not a call");
}

/* A route that starts with a call on alpha (swap FTA for FTB), then sends FTB to beta's recipient. */
static const char CALL_FIRST[] =
    "{\"owner\": \"0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65\", \"origin_chain\": \"alpha\","
    " \"deadline\": 1790000000, \"nonce\": \"7\", \"refund\": {\"recovery\": \"0x14dC79964da2C08b23698B3D3cc7Ca32193d9955\"},"
    " \"steps\": ["
    " {\"call\": {\"chain\": \"alpha\", \"target\": \"0x5FC8d32690cc91D4c39d9d3abcBD16989F875707\", \"data\": \"0x\","
    "   \"token_in\": \"0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9\", \"token_out\": \"0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9\","
    "   \"min_amount_out\": \"10\", \"amount_in\": \"500\"}},"
    " {\"call\": {\"chain\": \"alpha\", \"target\": \"0x5FC8d32690cc91D4c39d9d3abcBD16989F875707\", \"data\": \"0x\","
    "   \"token_in\": \"0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9\", \"token_out\": \"0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9\","
    "   \"min_amount_out\": \"0\"}},"
    " {\"transfer\": {\"token\": \"0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9\", \"amount\": \"all\", \"to_chain\": \"beta\","
    "   \"recipient\": \"0x976EA74026E726554dB657fA54763abd0C3a0aa9\", \"timeout\": 3600}}]}";

static void call_first(void **state)
{
    struct intent it;
    expect_ok_on(CALL_FIRST, NULL, NULL, 0, &it);
    assert_int_equal(it.steps[0].kind, INTENT_STEP_CALL);
    assert_int_equal(u256_from_be32(it.steps[0].amount).w[0], 500);
    assert_true(all_ones(it.steps[1].amount));
    assert_int_equal(it.refund, INTENT_REFUND_RECOVERY);
    cJSON *j = intent_to_json(&it, &dir);
    char *t = cJSON_PrintUnformatted(j);
    assert_non_null(strstr(t, "\"amount_in\":\"500\""));
    assert_non_null(strstr(t, "\"refund\":{\"recovery\":\"0x14dC79964da2C08b23698B3D3cc7Ca32193d9955\"}"));
    free(t);
    cJSON_Delete(j);
    intent_clear(&it);
    expect_err_on(CALL_FIRST, "steps/0/call/amount_in", NULL, 0,
                  "intent.steps[0].call.amount_in: missing (a route that starts with a call names the amount it takes)");
    expect_err_on(CALL_FIRST, "steps/0/call/amount_in", "\"0\"", 0, "intent.steps[0].call.amount_in: must be more than 0");
    expect_err_on(CALL_FIRST, "steps/0/call/amount_in", "\"all\"", 0,
                  "intent.steps[0].call.amount_in: step 0 moves a concrete amount (\"all\" is for later steps)");
    expect_err_on(CALL_FIRST, "steps/0/call/amount_in", "500", 0, "intent.steps[0].call.amount_in: expected a string");
    expect_err_on(CALL_FIRST, "steps/0/call/amount_in",
                  "\"1000000000000000000000000000000000000000000000000000000000000000000000000000000\"", 0,
                  "intent.steps[0].call.amount_in: amount overflows uint256");
    /* Same-chain continuity from call to call. */
    expect_err_on(CALL_FIRST, "steps/1/call/token_in", "\"0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc\"", 0,
                  "intent.steps[1].call.token_in: must be the previous call's token_out "
                  "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9 (the token the intent holds here)");
    expect_err_on(CALL_FIRST, "steps/0/call/chain", "\"beta\"", 0,
                  "intent.steps[0].call.chain: the funds are on alpha at this step, not on beta");
}

static void fill_nonce_and_timeouts(void **state)
{
    struct intent a, b;
    const char *strip[] = {"nonce", "steps/0/transfer/timeout", "steps/2/transfer/timeout"};
    cJSON *j = edit(SAMPLE, NULL, NULL);
    for (size_t k = 0; k < 3; k++) {
        char *t = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        j = edit(t, strip[k], NULL);
        free(t);
    }
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    expect_ok_on(t, NULL, NULL, INTENT_PARSE_FILL, &a);
    expect_ok_on(t, NULL, NULL, INTENT_PARSE_FILL, &b);
    assert_memory_not_equal(a.nonce, b.nonce, 32); /* random */
    assert_true(a.steps[0].timeout >= INTENT_MIN_HOP_TIMEOUT);
    assert_true(a.steps[2].timeout >= INTENT_MIN_HOP_TIMEOUT);
    assert_int_equal(a.steps[1].timeout, 0);
    /* The normalized JSON carries them all, and parses without FILL. */
    cJSON *n = intent_to_json(&a, &dir);
    struct intent c;
    char err[INTENT_ERR_MAX];
    assert_int_equal(intent_from_json(&c, n, &dir, NOW, 0, "intent", err), FERRY_OK);
    assert_int_equal(c.steps[0].timeout, a.steps[0].timeout);
    assert_memory_equal(c.nonce, a.nonce, 32);
    cJSON_Delete(n);
    intent_clear(&a);
    intent_clear(&b);
    intent_clear(&c);
    /* An explicit timeout is kept under FILL; a given nonce too. */
    cJSON *k = edit(t, "steps/0/transfer/timeout", "777");
    cJSON_AddStringToObject(k, "nonce", "99");
    assert_int_equal(intent_from_json(&a, k, &dir, NOW, INTENT_PARSE_FILL, "intent", err), FERRY_OK);
    assert_int_equal(a.steps[0].timeout, 777);
    assert_int_equal(u256_from_be32(a.nonce).w[0], 99);
    cJSON_Delete(k);
    intent_clear(&a);
    /* A deadline too close for the hops. */
    expect_err_on(t, "deadline", "1780000100", INTENT_PARSE_FILL,
                  "intent.deadline: leaves 100 s; 2 hops need at least 156 s (60 s each and 36 s for the last step)");
    free(t);
}

/* The planner on its own, by the rule of docs/intents.md "Timeouts". */
static void plan_rule(void **state)
{
    struct intent it;
    memset(&it, 0, sizeof it);
    it.origin_chain = ALPHA;
    it.n_steps = 3;
    it.steps[0] = (struct intent_step){.kind = INTENT_STEP_TRANSFER, .chain = ALPHA, .to_chain = BETA};
    it.steps[1] = (struct intent_step){.kind = INTENT_STEP_TRANSFER, .chain = BETA, .to_chain = GAMMA};
    it.steps[2] = (struct intent_step){.kind = INTENT_STEP_TRANSFER, .chain = GAMMA, .to_chain = GAMMA};
    it.deadline = NOW + 10000;
    char err[INTENT_ERR_MAX];
    assert_int_equal(intent_plan_timeouts(&it, &dir, NOW, err), FERRY_OK);
    /* expected: alpha->beta 1 x 1 s + 2 s + 30 s = 33 s; beta->gamma 2 x 2 s + 12 s + 30 s = 46 s.
     * margin: (0 + 1) x 12 s + 30 s = 42 s on gamma. budget 10000 - 42 = 9958. */
    uint64_t budget = 10000 - 42;
    assert_int_equal(it.steps[0].timeout, budget * 33000 / 79000);
    assert_int_equal(it.steps[1].timeout, budget * 46000 / 79000);
    assert_int_equal(it.steps[2].timeout, 0); /* local payout */
    assert_true(it.steps[0].timeout + it.steps[1].timeout <= budget);
    /* An explicit timeout is kept; the other hop takes the budget by its own share. */
    it.steps[0].timeout = 120;
    it.steps[1].timeout = 0;
    assert_int_equal(intent_plan_timeouts(&it, &dir, NOW, err), FERRY_OK);
    assert_int_equal(it.steps[0].timeout, 120);
    assert_int_equal(it.steps[1].timeout, budget);
    /* The minimum holds for a hop whose share falls below it. */
    it.steps[0].timeout = 0;
    it.steps[1].timeout = 0;
    chains[1].confirmations = 1000; /* beta: deep confirmations make beta->gamma dominate */
    it.deadline = NOW + 42 + 2 * INTENT_MIN_HOP_TIMEOUT + 10;
    assert_int_equal(intent_plan_timeouts(&it, &dir, NOW, err), FERRY_OK);
    chains[1].confirmations = 2;
    assert_int_equal(it.steps[0].timeout, INTENT_MIN_HOP_TIMEOUT);
    /* Unknown block times count as 12 s; unknown chains (no dir) too. */
    it.steps[0].timeout = 0;
    it.steps[1].timeout = 0;
    it.deadline = NOW + 10000;
    assert_int_equal(intent_plan_timeouts(&it, NULL, NOW, err), FERRY_OK);
    assert_int_equal(it.steps[0].timeout, it.steps[1].timeout); /* same expected duration: 42 s each */
    assert_int_equal(it.steps[0].timeout, (10000 - 42) / 2);
    /* Too little time, and a past deadline. */
    it.steps[0].timeout = 0;
    it.steps[1].timeout = 0;
    it.deadline = NOW + 42 + 2 * INTENT_MIN_HOP_TIMEOUT - 1;
    assert_int_equal(intent_plan_timeouts(&it, &dir, NOW, err), FERRY_EINVAL);
    assert_string_equal(err, "intent.deadline: leaves 161 s; 2 hops need at least 162 s (60 s each and 42 s for the "
                             "last step)");
    it.deadline = NOW;
    assert_int_equal(intent_plan_timeouts(&it, &dir, NOW, err), FERRY_EINVAL);
    assert_string_equal(err, "intent.deadline: 1780000000 is not in the future (now 1780000000)");
}

static void signatures(void **state)
{
    struct signer *sg;
    assert_int_equal(signer_new(&sg), FERRY_OK);
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i + 1);
    assert_int_equal(signer_add_secret(sg, "owner", key), FERRY_OK);
    assert_int_equal(signer_add_secret(sg, "other", (uint8_t[32]){[31] = 9}), FERRY_OK);
    struct intent it;
    char err[INTENT_ERR_MAX];
    assert_int_equal(parse_text(&it, SAMPLE, 0, err), FERRY_OK);
    assert_int_equal(signer_address(sg, "owner", it.owner), FERRY_OK);
    uint8_t r[ADDRESS_LEN], id[32], sig[65];
    assert_int_equal(address_parse(r, ROUTER), FERRY_OK);
    intent_id(&it, r, id);
    assert_int_equal(signer_sign_digest(sg, "owner", id, sig), FERRY_OK);
    assert_int_equal(intent_check_signature(&it, id, sig, 65), FERRY_OK); /* v 0/1 */
    sig[64] += 27;
    assert_int_equal(intent_check_signature(&it, id, sig, 65), FERRY_OK); /* v 27/28 */
    assert_int_equal(intent_check_signature(&it, id, sig, 64), FERRY_EINVAL);
    assert_string_equal(ferry_errmsg(), "signature: expected 65 bytes (r, s, v), got 64");
    assert_int_equal(intent_check_signature(&it, id, NULL, 65), FERRY_EINVAL);
    uint8_t bad[65];
    memcpy(bad, sig, 65);
    bad[64] = 29;
    assert_int_equal(intent_check_signature(&it, id, bad, 65), FERRY_EINVAL);
    assert_string_equal(ferry_errmsg(), "signature: v must be 27 or 28 (or 0 or 1), got 29");
    /* The high-s twin of a valid signature: s' = n - s, v flipped. It recovers to the owner, and is refused. */
    static const uint8_t N[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    u256 s2;
    (void)u256_sub(&s2, u256_from_be32(N), u256_from_be32(sig + 32));
    memcpy(bad, sig, 65);
    u256_to_be(bad + 32, s2);
    bad[64] = sig[64] == 27 ? 28 : 27;
    assert_int_equal(intent_check_signature(&it, id, bad, 65), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "signature: s is in the upper half"));
    /* r = 0 */
    memcpy(bad, sig, 65);
    memset(bad, 0, 32);
    assert_int_equal(intent_check_signature(&it, id, bad, 65), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "signature: does not recover"));
    /* Another key, and another intent. */
    assert_int_equal(signer_sign_digest(sg, "other", id, bad), FERRY_OK);
    assert_int_equal(intent_check_signature(&it, id, bad, 65), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "not by the owner"));
    uint8_t id2[32];
    it.deadline++;
    intent_id(&it, r, id2);
    assert_int_equal(intent_check_signature(&it, id2, sig, 65), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "not by the owner"));
    intent_clear(&it);
    signer_free(sg);
}

static void typed_data_hashes_to_id(void **state)
{
    const char *texts[] = {SAMPLE, CALL_FIRST};
    uint8_t r[ADDRESS_LEN];
    assert_int_equal(address_parse(r, ROUTER), FERRY_OK);
    for (size_t k = 0; k < 2; k++) {
        struct intent it;
        char err[INTENT_ERR_MAX];
        assert_int_equal(parse_text(&it, texts[k], 0, err), FERRY_OK);
        cJSON *td = intent_typed_data(&it, r);
        assert_non_null(td);
        struct eip712_hashes h;
        assert_int_equal(eip712_hash_cjson(&h, td), FERRY_OK); /* Ferry's strict JSON hasher accepts it */
        uint8_t id[32], hs[32];
        intent_id(&it, r, id);
        intent_hash_struct(&it, hs);
        assert_memory_equal(h.digest, id, 32);
        assert_memory_equal(h.message_hash, hs, 32);
        /* The big values are strings, small integers numbers. */
        cJSON *m = cJSON_GetObjectItem(td, "message");
        assert_true(cJSON_IsString(cJSON_GetObjectItem(m, "nonce")));
        assert_true(cJSON_IsNumber(cJSON_GetObjectItem(m, "originChain")));
        cJSON *s1 = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "steps"), 1);
        assert_string_equal(cJSON_GetObjectItem(s1, "amount")->valuestring,
                            "115792089237316195423570985008687907853269984665640564039457584007913129639935");
        cJSON_Delete(td);
        intent_clear(&it);
    }
}

static void encode_calls(void **state)
{
    struct intent it;
    char err[INTENT_ERR_MAX];
    assert_int_equal(parse_text(&it, SAMPLE, 0, err), FERRY_OK);
    struct fbuf b;
    fbuf_init(&b, 1 << 20);
    assert_int_equal(intent_encode_advance(&b, &it, 1), FERRY_OK);
    uint8_t sel[4];
    assert_int_equal(abi_selector(sel, "advance((address,uint64,uint256,uint64,uint8,address,(uint8,uint64,address,"
                                       "uint256,uint64,address,address,bytes,address,uint256,uint64)[]),uint256)"),
                     FERRY_OK);
    assert_memory_equal(b.data, sel, 4);
    /* The step index is the second head word. */
    assert_int_equal(b.data[4 + 32 + 31], 1);
    fbuf_free(&b);
    assert_int_equal(intent_encode_advance(&b, &it, 3), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "advance of step 3"));
    /* open: a v of 0/1 goes out as 27/28. */
    uint8_t sig[65] = {[0] = 1, [32] = 2, [64] = 1};
    assert_int_equal(intent_encode_open(&b, &it, sig), FERRY_OK);
    struct abi_sig *fn;
    assert_int_equal(abi_function_parse(&fn, "open((address,uint64,uint256,uint64,uint8,address,(uint8,uint64,address,"
                                             "uint256,uint64,address,address,bytes,address,uint256,uint64)[]),bytes)"),
                     FERRY_OK);
    struct abi_value *v;
    assert_int_equal(abi_calldata_decode(&v, fn, b.data, b.len), FERRY_OK);
    const uint8_t *p;
    size_t n;
    assert_int_equal(abi_get_bytes(&v->u.list.items[1], &p, &n), FERRY_OK);
    assert_int_equal(n, 65);
    assert_int_equal(p[64], 28);
    const struct abi_value *steps = &v->u.list.items[0].u.list.items[6];
    assert_int_equal(steps->u.list.count, 3);
    assert_int_equal(abi_get_bytes(&steps->u.list.items[1].u.list.items[7], &p, &n), FERRY_OK);
    tu_assert_hex_equal(p, n, "abcdef01");
    abi_value_free(v);
    abi_sig_free(fn);
    fbuf_free(&b);
    /* A buffer too small fails cleanly. */
    fbuf_init(&b, 100);
    assert_int_not_equal(intent_encode_refund(&b, &it), FERRY_OK);
    assert_int_equal(b.len, 0);
    fbuf_free(&b);
    struct intent empty;
    memset(&empty, 0, sizeof empty);
    fbuf_init(&b, 1 << 20);
    assert_int_equal(intent_encode_cancel(&b, &empty), FERRY_EINVAL);
    fbuf_free(&b);
    intent_clear(&it);
}

static void dir_lookup(void **state)
{
    assert_ptr_equal(intent_dir_find(&dir, "beta"), &chains[1]);
    assert_ptr_equal(intent_dir_find(&dir, "31339"), &chains[2]);
    assert_null(intent_dir_find(&dir, "031339"));
    assert_null(intent_dir_find(&dir, "omega"));
    assert_null(intent_dir_find(&dir, "99999999999999999999999"));
    assert_null(intent_dir_find(NULL, "beta"));
    assert_ptr_equal(intent_dir_by_id(&dir, DELTA), &chains[3]);
    assert_null(intent_dir_by_id(&dir, 1));
    /* to_json needs every chain in the directory. */
    struct intent it;
    char err[INTENT_ERR_MAX];
    assert_int_equal(parse_text(&it, SAMPLE, 0, err), FERRY_OK);
    struct intent_dir two = {chains, 2};
    assert_null(intent_to_json(&it, &two));
    intent_clear(&it);
}

/* The cross-checks: ids and hashes from the real IntentRouter, calldata and signatures from cast. */
static void vectors(void **state)
{
    cJSON *doc = tu_load_vectors("intent.json");
    cJSON *cs = cJSON_GetObjectItem(doc, "chains");
    struct intent_chain_info vc[8];
    size_t nc = 0;
    cJSON *c;
    cJSON_ArrayForEach(c, cs)
    {
        assert_true(nc < 8);
        vc[nc] = (struct intent_chain_info){.name = cJSON_GetObjectItem(c, "name")->valuestring,
                                            .chain_id = (uint64_t)cJSON_GetObjectItem(c, "chain_id")->valuedouble,
                                            .block_time_ms = 1000,
                                            .confirmations = 1};
        assert_int_equal(address_parse(vc[nc].router, cJSON_GetObjectItem(c, "router")->valuestring), FERRY_OK);
        nc++;
    }
    struct intent_dir vd = {vc, nc};
    uint64_t now = (uint64_t)cJSON_GetObjectItem(doc, "now")->valuedouble;
    size_t count = 0;
    cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(doc, "vectors"))
    {
        const char *name = cJSON_GetObjectItem(v, "name")->valuestring;
        struct intent it;
        char err[INTENT_ERR_MAX];
        if (intent_from_json(&it, cJSON_GetObjectItem(v, "intent"), &vd, now, 0, "intent", err))
            fail_msg("%s: %s", name, err);
        uint8_t hs[32], id[32];
        const struct intent_chain_info *origin = intent_dir_by_id(&vd, it.origin_chain);
        assert_non_null(origin);
        intent_hash_struct(&it, hs);
        tu_assert_hex_equal(hs, 32, cJSON_GetObjectItem(v, "hash_struct")->valuestring);
        intent_id(&it, origin->router, id);
        tu_assert_hex_equal(id, 32, cJSON_GetObjectItem(v, "id")->valuestring);
        size_t sl;
        uint8_t *sig = tu_unhex(cJSON_GetObjectItem(v, "signature")->valuestring, &sl);
        assert_int_equal(sl, 65);
        assert_int_equal(intent_check_signature(&it, id, sig, sl), FERRY_OK);
        struct fbuf b;
        fbuf_init(&b, 1 << 20);
        assert_int_equal(intent_encode_open(&b, &it, sig), FERRY_OK);
        tu_assert_hex_equal(b.data, b.len, cJSON_GetObjectItem(v, "open")->valuestring);
        fbuf_free(&b);
        uint32_t step = (uint32_t)cJSON_GetObjectItem(v, "advance_step")->valuedouble;
        assert_int_equal(step, it.n_steps - 1);
        assert_int_equal(intent_encode_advance(&b, &it, step), FERRY_OK);
        tu_assert_hex_equal(b.data, b.len, cJSON_GetObjectItem(v, "advance")->valuestring);
        fbuf_free(&b);
        assert_int_equal(intent_encode_refund(&b, &it), FERRY_OK);
        tu_assert_hex_equal(b.data, b.len, cJSON_GetObjectItem(v, "refund")->valuestring);
        fbuf_free(&b);
        assert_int_equal(intent_encode_cancel(&b, &it), FERRY_OK);
        tu_assert_hex_equal(b.data, b.len, cJSON_GetObjectItem(v, "cancel")->valuestring);
        fbuf_free(&b);
        /* The typed data cast signed is exactly what this code produces. */
        cJSON *td = intent_typed_data(&it, origin->router);
        char *a = cJSON_PrintUnformatted(td), *e = cJSON_PrintUnformatted(cJSON_GetObjectItem(v, "typed_data"));
        assert_string_equal(a, e);
        free(a);
        free(e);
        cJSON_Delete(td);
        free(sig);
        intent_clear(&it);
        count++;
    }
    assert_true(count >= 3);
    cJSON_Delete(doc);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    if (setup_dir())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sample_parses),
        cmocka_unit_test(roundtrip_json),
        cmocka_unit_test(random_roundtrips),
        cmocka_unit_test(top_level_rules),
        cmocka_unit_test(too_many_steps),
        cmocka_unit_test(transfer_rules),
        cmocka_unit_test(local_payout),
        cmocka_unit_test(call_rules),
        cmocka_unit_test(call_first),
        cmocka_unit_test(fill_nonce_and_timeouts),
        cmocka_unit_test(plan_rule),
        cmocka_unit_test(signatures),
        cmocka_unit_test(typed_data_hashes_to_id),
        cmocka_unit_test(encode_calls),
        cmocka_unit_test(dir_lookup),
        cmocka_unit_test(vectors),
    };
    return TU_RUN(tests);
}
