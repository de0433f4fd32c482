/* libFuzzer harness for the intent JSON (ferry/intent.h): any text goes to intent_from_json with a
 * fixed chain directory. A refusal must say which field and why; an accepted intent must survive
 * intent_to_json -> intent_from_json with the same id, its typed data must hash to that id, and
 * every router call must encode. Inputs that fail strict parsing are tried again with
 * INTENT_PARSE_FILL (random nonce, planned timeouts). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ferry/eip712.h"
#include "ferry/intent.h"
#include "fuzz_util.h"

#define NOW 1780000000u

static struct intent_chain_info chains[4] = {
    {"alpha", 31337, {0}, 1000, 1},
    {"beta", 31338, {0}, 2000, 2},
    {"gamma", 31339, {0}, 0, 0},
    {"delta", 31340, {0}, 1000, 1}, /* no router */
};
static const struct intent_dir dir = {chains, 4};

static void check_accepted(const struct intent *it)
{
    const uint8_t *router = chains[0].router;
    uint8_t id[32], id2[32];
    intent_id(it, router, id);
    cJSON *j = intent_to_json(it, &dir);
    if (!j)
        abort();
    struct intent back;
    char err[INTENT_ERR_MAX];
    if (intent_from_json(&back, j, &dir, NOW, 0, "intent", err) != FERRY_OK)
        abort(); /* the normalized form must parse as it is, without FILL */
    intent_id(&back, router, id2);
    if (memcmp(id, id2, 32) != 0)
        abort();
    cJSON *j2 = intent_to_json(&back, &dir);
    char *t1 = cJSON_PrintUnformatted(j), *t2 = cJSON_PrintUnformatted(j2);
    if (!t1 || !t2 || strcmp(t1, t2) != 0)
        abort();
    free(t1);
    free(t2);
    cJSON_Delete(j);
    cJSON_Delete(j2);

    cJSON *td = intent_typed_data(it, router);
    struct eip712_hashes h;
    if (!td || eip712_hash_cjson(&h, td) != FERRY_OK || memcmp(h.digest, id, 32) != 0)
        abort();
    cJSON_Delete(td);

    struct fbuf b;
    uint8_t sig[INTENT_SIG_LEN] = {[64] = 27};
    fbuf_init(&b, 1 << 20);
    if (intent_encode_open(&b, it, sig) || b.len < 4)
        abort();
    fbuf_free(&b);
    for (uint32_t i = 0; i < it->n_steps; i++) {
        if (intent_encode_advance(&b, it, i))
            abort();
        fbuf_free(&b);
    }
    if (intent_encode_refund(&b, it) || (fbuf_free(&b), intent_encode_cancel(&b, it)))
        abort();
    fbuf_free(&b);

    struct intent copy;
    if (intent_copy(&copy, &back) != FERRY_OK)
        abort();
    intent_clear(&back);
    intent_id(&copy, router, id2);
    if (memcmp(id, id2, 32) != 0)
        abort();
    intent_clear(&copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        for (int i = 0; i < 3; i++)
            memset(chains[i].router, 0x11 * (i + 1), ADDRESS_LEN);
        ready = 1;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j)
        return 0;
    static const unsigned modes[] = {0, INTENT_PARSE_FILL};
    for (size_t m = 0; m < 2; m++) {
        struct intent it;
        char err[INTENT_ERR_MAX];
        enum ferry_err e = intent_from_json(&it, j, &dir, NOW, modes[m], "intent", err);
        if (e) {
            if (strncmp(err, "intent", 6) != 0 || !strstr(err, ": ") || it.n_steps != 0)
                abort(); /* every refusal names its field, and leaves nothing behind */
            continue;
        }
        check_accepted(&it);
        intent_clear(&it);
        break;
    }
    cJSON_Delete(j);
    return 0;
}
