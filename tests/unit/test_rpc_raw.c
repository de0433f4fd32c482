/* rpc_parse_reply_raw (chains/evm/rpc_reply.c): results handed over as text.
 *
 * Against rpc_parse_reply on the same bytes: a reply the tree path accepts is accepted with the
 * same kinds, the same results for the other calls, and for the raw ones a text that parses to
 * the tree path's result. A reply the tree path refuses is refused with the same kind, unless
 * the only fault lies inside a raw result: that text then does not parse (the caller's parser
 * refuses it, evm_logs_parse_text for the watcher); with JSON broken inside a raw result and an
 * envelope fault besides, the raw path reports the envelope's (a retried kind either way). Hand-made replies, then random ones and
 * random damage to them (seeded). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evm/rpc.h"
#include "testutil.h"

/* Whether text parses as cJSON reads a reply (nothing but JSON whitespace after it); *out the
 * tree (NULL if not). */
static bool parses(const char *text, size_t len, cJSON **out)
{
    *out = NULL;
    const char *end = NULL;
    cJSON *j = len ? cJSON_ParseWithLengthOpts(text, len, &end, false) : NULL;
    if (!j)
        return false;
    for (; end < text + len; end++)
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            cJSON_Delete(j);
            return false;
        }
    *out = j;
    return true;
}

/* Equal as printed (cJSON_Compare looks members up by name, so it fails on repeated keys). */
static bool same_json(const cJSON *a, const cJSON *b)
{
    char *x = cJSON_PrintUnformatted(a), *y = cJSON_PrintUnformatted(b);
    bool same = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

/* Both parsers on body; returns the tree path's kind. *used: a raw text was handed over. */
static enum rpc_errkind compare(const char *body, size_t len, bool batch, const uint64_t *ids, const bool *raw,
                                size_t n, bool *used)
{
    static const char *const methods[4] = {"eth_getLogs", "eth_getBlockByNumber", "eth_getLogs", "eth_chainId"};
    struct rpc_reply a[4], b[4];
    cJSON *ta, *tb;
    char why[160];
    enum rpc_errkind ka = rpc_parse_reply(body, len, batch, ids, methods, n, &ta, a, why, sizeof why);
    enum rpc_errkind kb = rpc_parse_reply_raw(body, len, batch, ids, methods, raw, n, &tb, b, why, sizeof why);
    if (ka != RPC_OK) {
        if (kb != RPC_OK) {
            /* JSON broken inside a raw result, and the envelope wrong too: the raw path sees only
             * the envelope's fault. Refused either way, and retried either way. */
            if (ka == RPC_E_MALFORMED && (kb == RPC_E_BAD_ENVELOPE || kb == RPC_E_ID_MISMATCH))
                return ka;
            if (kb != ka)
                fail_msg("tree path %s, raw path %s: %.*s", rpc_errkind_name(ka), rpc_errkind_name(kb), (int)len, body);
            return ka;
        }
        /* accepted only because a raw result was not read: one of them must not parse */
        bool bad_raw = false;
        for (size_t i = 0; i < n; i++) {
            cJSON *j;
            if (b[i].raw && !parses(b[i].raw, b[i].raw_len, &j))
                bad_raw = true;
            else if (b[i].raw)
                cJSON_Delete(j);
        }
        if (!bad_raw)
            fail_msg("tree path %s, raw path accepts: %.*s", rpc_errkind_name(ka), (int)len, body);
        cJSON_Delete(tb);
        return ka;
    }
    assert_int_equal(kb, RPC_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(a[i].err.kind, b[i].err.kind);
        if (a[i].err.kind != RPC_OK) {
            assert_string_equal(a[i].err.message, b[i].err.message);
            assert_null(b[i].raw);
            continue;
        }
        if (b[i].raw) {
            assert_true(raw[i]);
            assert_true(cJSON_IsNull(b[i].result));
            assert_int_equal(b[i].raw_depth, batch && cJSON_IsArray(tb) ? 2 : 1);
            cJSON *j;
            assert_true(parses(b[i].raw, b[i].raw_len, &j));
            if (!same_json(j, a[i].result))
                fail_msg("call %zu: raw %.*s differs in %.*s", i, (int)b[i].raw_len, b[i].raw, (int)len, body);
            cJSON_Delete(j);
            *used = true;
        } else {
            if (!same_json(a[i].result, b[i].result))
                fail_msg("call %zu differs in %.*s", i, (int)len, body);
        }
    }
    cJSON_Delete(ta);
    cJSON_Delete(tb);
    return RPC_OK;
}

static void hand_made(void **state)
{
    static const uint64_t ids[3] = {5, 6, 7};
    static const bool raw_first[3] = {true, false, false}, raw_all[3] = {true, true, true};
    static const struct {
        const char *body;
        bool batch;
        size_t n;
        enum rpc_errkind kind;
        bool raw;
    } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":[{\"a\":\"]}\\\"\"},[]]}", false, 1, RPC_OK, true},
        {" {\"result\" : [ ] , \"id\" : 5 , \"jsonrpc\" : \"2.0\" } \n", false, 1, RPC_OK, true},
        {"{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":null}", false, 1, RPC_OK, true},
        {"{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":[],\"result\":[]}", false, 1, RPC_E_BAD_ENVELOPE, false},
        {"{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":[],\"error\":{\"code\":1,\"message\":\"x\"}}", false, 1,
         RPC_E_BAD_ENVELOPE, false},
        {"{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":[]}", false, 1, RPC_E_ID_MISMATCH, false},
        {"{\"jsonrpc\":\"1.0\",\"id\":5,\"result\":[]}", false, 1, RPC_E_BAD_ENVELOPE, false},
        {"{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":[]} x", false, 1, RPC_E_MALFORMED, false},
        {"{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":}", false, 1, RPC_E_MALFORMED, false}, /* fuzz_rpc_raw */
        {"{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":-32005,\"message\":\"limit exceeded\"}}", false, 1, RPC_OK,
         false},
        {"{\"jsonrpc\":\"2.0\",\"id\":5.0,\"result\":[]}", false, 1, RPC_OK, false},
        {"{\"jsonrpc\":\"2.0\",\"i\\u0064\":5,\"result\":[]}", false, 1, RPC_OK, false},
        {"[{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":\"0x1\"},{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":[{\"x\":[1,2]}]},"
         "{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{\"hash\":\"0x\"}}]",
         true, 3, RPC_OK, true},
        {"[{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":[]},{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":[]},"
         "{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":1}]",
         true, 3, RPC_E_BAD_ENVELOPE, false},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"bad batch\"}}", true, 3, RPC_OK,
         false},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int r = 0; r < 2; r++) {
            bool used = false;
            enum rpc_errkind k = compare(cases[c].body, strlen(cases[c].body), cases[c].batch, ids,
                                         r ? raw_all : raw_first, cases[c].n, &used);
            if (k != cases[c].kind)
                fail_msg("case %zu: %s", c, rpc_errkind_name(k));
            if (used != cases[c].raw)
                fail_msg("case %zu: raw text %s", c, used ? "handed over" : "not handed over");
        }
    }
    /* A malformed raw result: the envelope is fine, the text is the caller's to refuse. */
    const char *bad = "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":[1,]}";
    struct rpc_reply out[1];
    cJSON *tree;
    char why[160];
    static const char *const m[1] = {"eth_getLogs"};
    assert_int_equal(rpc_parse_reply(bad, strlen(bad), false, ids, m, 1, &tree, out, why, sizeof why),
                     RPC_E_MALFORMED);
    assert_int_equal(rpc_parse_reply_raw(bad, strlen(bad), false, ids, m, raw_first, 1, &tree, out, why, sizeof why),
                     RPC_OK);
    assert_int_equal(out[0].raw_len, strlen("[1,]"));
    assert_memory_equal(out[0].raw, "[1,]", out[0].raw_len);
    cJSON_Delete(tree);
}

struct gbuf {
    char b[4096];
    size_t n;
};

static void put(struct gbuf *g, const char *s)
{
    size_t l = strlen(s);
    if (g->n + l < sizeof g->b) {
        memcpy(g->b + g->n, s, l);
        g->n += l;
    }
}

static void value(struct gbuf *g, int depth)
{
    switch (tu_rand() % (depth > 2 ? 5 : 7)) {
    case 0: put(g, "null"); break;
    case 1: put(g, "\"0x1a\""); break;
    case 2: put(g, "\"a\\\"]}\\\\\""); break;
    case 3: put(g, "-12.5e1"); break;
    case 4: put(g, "true"); break;
    default: {
        bool obj = tu_rand() % 2;
        put(g, obj ? "{" : "[");
        int n = (int)(tu_rand() % 3);
        for (int i = 0; i < n; i++) {
            if (i)
                put(g, ",");
            if (obj)
                put(g, tu_rand() % 2 ? "\"k\":" : "\"result\" :");
            value(g, depth + 1);
        }
        put(g, obj ? "}" : "]");
    }
    }
}

static void envelope(struct gbuf *g, uint64_t id)
{
    int order[3] = {0, 1, 2};
    for (int k = 2; k > 0; k--) {
        int j = (int)(tu_rand() % (uint64_t)(k + 1)), t = order[k];
        order[k] = order[j];
        order[j] = t;
    }
    put(g, "{");
    for (int k = 0; k < 3; k++) {
        if (k)
            put(g, tu_rand() % 4 ? "," : " ,\n");
        char idb[32];
        switch (order[k]) {
        case 0: put(g, "\"jsonrpc\":\"2.0\""); break;
        case 1:
            snprintf(idb, sizeof idb, "\"id\":%llu", (unsigned long long)id);
            put(g, idb);
            break;
        default:
            if (tu_rand() % 6 == 0) {
                put(g, "\"error\":{\"code\":-32000,\"message\":\"nope\"}");
            } else {
                put(g, "\"result\":");
                value(g, 0);
            }
        }
    }
    put(g, "}");
}

static void random_replies(void **state)
{
    static const uint64_t ids[3] = {5, 6, 7};
    static const char alphabet[] = "0123456789\",:[]{}\\ ntrufl-";
    int ok = 0, refused = 0, handed = 0;
    for (int round = 0; round < 6000; round++) {
        struct gbuf g = {.n = 0};
        bool batch = tu_rand() % 2;
        size_t n = batch ? 1 + tu_rand() % 3 : 1;
        bool raw[3];
        for (size_t i = 0; i < 3; i++)
            raw[i] = tu_rand() % 2;
        if (batch) {
            put(&g, "[");
            uint64_t perm[3] = {5, 6, 7};
            for (size_t i = n - 1; i > 0; i--) {
                size_t j = tu_rand() % (i + 1);
                uint64_t t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            for (size_t i = 0; i < n; i++) {
                if (i)
                    put(&g, ",");
                envelope(&g, perm[i]);
            }
            put(&g, "]");
        } else {
            envelope(&g, 5);
        }
        if (round % 2) /* damage */
            for (int m = 0; m < 1 + (int)(tu_rand() % 3); m++)
                g.b[tu_rand() % g.n] = alphabet[tu_rand() % (sizeof alphabet - 1)];
        bool used = false;
        if (compare(g.b, g.n, batch, ids, raw, n, &used) == RPC_OK)
            ok++;
        else
            refused++;
        handed += used;
    }
    assert_true(ok > 1000 && refused > 500 && handed > 500);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_made),
        cmocka_unit_test(random_replies),
    };
    TU_RUN(tests);
}
