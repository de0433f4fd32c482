/* The JSON-RPC reply parser and the node error classifier, fed arbitrary bytes.
 *
 * Byte 0 chooses the shape of the request the reply answers (single call or batch, 1 to 4
 * calls, their methods); the rest is the reply body. Then every accepted reply is walked,
 * results are taken, and the body is also classified as an error message with a code and
 * as error data. Anything the sanitizers or the asserts below catch is a bug. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evm/rpc.h"
#include "fuzz_util.h"

static const char *const methods[4] = {"eth_getLogs", "eth_sendRawTransaction", "eth_call", "eth_blockNumber"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t shape = data[0];
    bool batch = shape & 1;
    size_t n = batch ? 1 + ((shape >> 1) & 3) : 1;
    uint64_t ids[4];
    const char *ms[4];
    for (size_t i = 0; i < n; i++) {
        ids[i] = 1 + i + ((shape >> 3) & 1) * 1000; /* ascending, as the client sends them */
        ms[i] = methods[(shape >> (4 + i)) & 3];
    }
    const char *body = (const char *)data + 1;
    size_t len = size - 1;

    struct rpc_reply out[4];
    cJSON *tree = NULL;
    char why[128];
    enum rpc_errkind k = rpc_parse_reply(body, len, batch, ids, ms, n, &tree, out, why, sizeof why);
    if (k == RPC_OK) {
        assert(tree);
        for (size_t i = 0; i < n; i++) {
            if (out[i].err.kind == RPC_OK) {
                if (i & 1) {
                    cJSON *mine = rpc_reply_take(&out[i]);
                    assert(mine);
                    cJSON_Delete(mine);
                } else {
                    char *s = cJSON_PrintUnformatted(out[i].result);
                    free(s);
                }
            } else {
                assert(out[i].err.message);
                assert(out[i].err.kind == RPC_E_RATE_LIMITED ||
                       (out[i].err.kind > RPC_E_CANCELLED && out[i].err.kind < RPC_E__COUNT));
                if (out[i].err.revert_data)
                    assert(out[i].err.revert_data[0] == '0');
                if (out[i].err.limit_has_range)
                    assert(out[i].err.limit_from <= out[i].err.limit_to);
            }
        }
        cJSON_Delete(tree);
    } else {
        assert(!tree);
        assert(k == RPC_E_MALFORMED || k == RPC_E_BAD_ENVELOPE || k == RPC_E_ID_MISMATCH);
        assert(why[0]);
    }

    /* The same bytes as a node's message and as its data. */
    char *msg = fuzz_strndup(body, len);
    if (!msg)
        return 0;
    static const int64_t codes[] = {3, -32000, -32005, -32602, -32601, 429, 0};
    struct rpc_error err;
    memset(&err, 0, sizeof err);
    cJSON *d = cJSON_CreateString(msg);
    rpc_error_from_node(&err, ms[0], codes[shape % 7], msg, d);
    assert(err.kind > RPC_E_CANCELLED || err.kind == RPC_E_RATE_LIMITED);
    cJSON_Delete(d);
    free(msg);
    return 0;
}
