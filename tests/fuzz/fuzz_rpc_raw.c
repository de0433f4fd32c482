/* rpc_parse_reply_raw against rpc_parse_reply, fed arbitrary bytes.
 *
 * Byte 0 chooses the shape of the request (single call or batch of 1 to 4, ids from 1 or 1001),
 * byte 1 which calls want their result as text; the rest is the reply body. A reply the tree path
 * accepts must be accepted with the same kinds and the same results (raw texts parsing to them);
 * one it refuses must be refused with the same kind, unless JSON is broken inside a raw result
 * (then an envelope fault may be reported instead, or the reply accepted with a raw text that
 * does not parse: the caller's parser refuses it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evm/rpc.h"
#include "fuzz_util.h"

static const char *const methods[4] = {"eth_getLogs", "eth_getBlockByNumber", "eth_call", "eth_blockNumber"};

static cJSON *parse(const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *j = len ? cJSON_ParseWithLengthOpts(text, len, &end, false) : NULL;
    if (!j)
        return NULL;
    for (; end < text + len; end++)
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            cJSON_Delete(j);
            return NULL;
        }
    return j;
}

static bool same_json(const cJSON *a, const cJSON *b)
{
    char *x = cJSON_PrintUnformatted(a), *y = cJSON_PrintUnformatted(b);
    bool same = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    bool batch = data[0] & 1;
    size_t n = batch ? 1 + ((data[0] >> 1) & 3) : 1;
    uint64_t ids[4];
    bool raw[4];
    for (size_t i = 0; i < n; i++) {
        ids[i] = 1 + i + ((data[0] >> 3) & 1) * 1000;
        raw[i] = (data[1] >> i) & 1;
    }
    const char *body = (const char *)data + 2;
    size_t len = size - 2;
    struct rpc_reply a[4], b[4];
    cJSON *ta = NULL, *tb = NULL;
    char why[160];
    enum rpc_errkind ka = rpc_parse_reply(body, len, batch, ids, methods, n, &ta, a, why, sizeof why);
    enum rpc_errkind kb = rpc_parse_reply_raw(body, len, batch, ids, methods, raw, n, &tb, b, why, sizeof why);
    if (ka != RPC_OK) {
        CHECK(ta == NULL);
        if (kb != RPC_OK) {
            CHECK(tb == NULL);
            CHECK(kb == ka || (ka == RPC_E_MALFORMED && (kb == RPC_E_BAD_ENVELOPE || kb == RPC_E_ID_MISMATCH)));
            return 0;
        }
        bool bad_raw = false;
        for (size_t i = 0; i < n; i++) {
            if (!b[i].raw)
                continue;
            /* nested as deep as in the reply, for cJSON's nesting limit */
            size_t d = b[i].raw_depth;
            char *w = malloc(b[i].raw_len + 2 * d);
            CHECK(w);
            memset(w, '[', d);
            memcpy(w + d, b[i].raw, b[i].raw_len);
            memset(w + d + b[i].raw_len, ']', d);
            cJSON *j = parse(w, b[i].raw_len + 2 * d);
            free(w);
            bad_raw |= j == NULL;
            cJSON_Delete(j);
        }
        CHECK(bad_raw);
        cJSON_Delete(tb);
        return 0;
    }
    CHECK(kb == RPC_OK);
    for (size_t i = 0; i < n; i++) {
        CHECK(a[i].err.kind == b[i].err.kind);
        if (a[i].err.kind != RPC_OK) {
            CHECK(b[i].raw == NULL);
            continue;
        }
        if (b[i].raw) {
            CHECK(raw[i] && cJSON_IsNull(b[i].result));
            CHECK(b[i].raw >= body && b[i].raw + b[i].raw_len <= body + len);
            cJSON *j = parse(b[i].raw, b[i].raw_len);
            CHECK(j && same_json(j, a[i].result));
            cJSON_Delete(j);
        } else {
            CHECK(same_json(a[i].result, b[i].result));
        }
    }
    cJSON_Delete(ta);
    cJSON_Delete(tb);
    return 0;
}
