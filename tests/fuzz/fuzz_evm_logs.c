/* libFuzzer harness for chains/evm/events.c: an eth_getLogs result as an endpoint might send it.
 * The input is the result's JSON text. Both parsers read it: the text parser
 * (evm_logs_parse_text, the watcher's) and the tree path (cJSON as the RPC client reads a reply,
 * then evm_logs_parse); they must agree on accepting or refusing it, with the same error code,
 * and on every field of every log. The logs then go through evm_decode_log for each contract and
 * evm_check_packet_id. Nothing may crash or leak; a refusal must leave a message and no logs; a
 * decoded event must point inside the log's data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "evm/events.h"
#include "fuzz_util.h"

static struct evm_decoder *dec;

static bool inside(const uint8_t *p, size_t n, const struct evm_log *l)
{
    return n == 0 || (p >= l->data && p + n <= l->data + l->data_len);
}

/* cJSON's parse with nothing but JSON whitespace after it (the RPC client's rule), then the tree
 * path. */
static enum ferry_err tree_path(struct evm_logs *out, const char *text, size_t len, size_t max)
{
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    cJSON *j = len ? cJSON_ParseWithLengthOpts(text, len, &end, false) : NULL;
    if (!j)
        return FERRY_EINVAL;
    for (; end < text + len; end++)
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            cJSON_Delete(j);
            return FERRY_EINVAL;
        }
    enum ferry_err e = evm_logs_parse(out, j, max);
    cJSON_Delete(j);
    return e;
}

static void same_logs(const struct evm_logs *a, const struct evm_logs *b)
{
    CHECK(a->n == b->n);
    for (size_t i = 0; i < a->n; i++) {
        const struct evm_log *x = &a->logs[i], *y = &b->logs[i];
        CHECK(memcmp(x->address, y->address, 20) == 0);
        CHECK(x->n_topics == y->n_topics && memcmp(x->topics, y->topics, 32 * x->n_topics) == 0);
        CHECK(x->data_len == y->data_len && (x->data_len == 0 || memcmp(x->data, y->data, x->data_len) == 0));
        CHECK(x->block_number == y->block_number && memcmp(x->block_hash, y->block_hash, 32) == 0);
        CHECK(memcmp(x->tx_hash, y->tx_hash, 32) == 0);
        CHECK(x->tx_index == y->tx_index && x->log_index == y->log_index && x->removed == y->removed);
        CHECK(x->has_block_timestamp == y->has_block_timestamp && x->block_timestamp == y->block_timestamp);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dec && evm_decoder_new(&dec))
        __builtin_trap();
    const char *text = (const char *)data;
    size_t max = size && data[0] == ' ' ? 2 : 1000; /* a leading space: a low cap, for FERRY_ERANGE */
    struct evm_logs tree, logs;
    enum ferry_err et = tree_path(&tree, text, size, max);
    enum ferry_err e = evm_logs_parse_text(&logs, text, size, max);
    CHECK(e == et);
    if (e) {
        CHECK(ferry_errmsg()[0] != 0);
        CHECK(logs.logs == NULL && logs.n == 0);
        return 0;
    }
    same_logs(&tree, &logs);
    evm_logs_free(&tree);
    for (size_t i = 0; i < logs.n; i++) {
        const struct evm_log *l = &logs.logs[i];
        CHECK(l->n_topics <= 4);
        for (int s = 0; s < EVM_SRC__COUNT; s++) {
            struct chain_event ev;
            struct evm_app_event app;
            enum evm_decoded what;
            if (evm_decode_log(dec, 31337, (enum evm_source)s, l, 1, &what, &ev, &app)) {
                CHECK(ferry_errmsg()[0] != 0);
                continue;
            }
            if (what == EVM_DECODED_CHAIN) {
                CHECK(inside(ev.packet.payload, ev.packet.payload_len, l));
                CHECK(inside(ev.ack.result, ev.ack.result_len, l));
                CHECK(ev.packet.payload_len <= PACKET_PAYLOAD_MAX);
                (void)!evm_check_packet_id(&ev);
            } else {
                CHECK(app.n_fields <= EVM_APP_MAX_FIELDS);
            }
        }
    }
    evm_logs_free(&logs);
    return 0;
}
