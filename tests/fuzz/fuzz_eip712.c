/* libFuzzer harness for EIP-712 typed data given as JSON text. Malformed documents must fail
 * with a message; a document that hashes must hash the same every time, and the encodeType of
 * its primary type must be available. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ferry/eip712.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eip712_hashes a, b;
    const char *text = (const char *)data;
    ferry_err_clear();
    if (eip712_hash_json(&a, text, size) != FERRY_OK) {
        if (!ferry_errmsg()[0])
            abort(); /* every failure says why */
        return 0;
    }
    if (eip712_hash_json(&b, text, size) != FERRY_OK || memcmp(&a, &b, sizeof a) != 0)
        abort();
    cJSON *root = cJSON_ParseWithLength(text, size);
    const cJSON *primary = cJSON_GetObjectItemCaseSensitive(root, "primaryType");
    if (!cJSON_IsString(primary))
        abort();
    struct fbuf type;
    fbuf_init(&type, 1 << 20);
    if (eip712_encode_type_json(&type, text, size, primary->valuestring) != FERRY_OK)
        abort();
    fbuf_free(&type);
    cJSON_Delete(root);
    return 0;
}
