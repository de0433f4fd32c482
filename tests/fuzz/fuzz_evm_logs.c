/* libFuzzer harness for chains/evm/events.c: an eth_getLogs result as an endpoint might send it.
 * The input is JSON text; whatever cJSON parses goes through evm_logs_parse and, log by log, through
 * evm_decode_log for each contract and evm_check_packet_id. Nothing may crash or leak; a refusal
 * must leave a message and no logs; a decoded event must point inside the log's data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "evm/events.h"

#define CHECK(c)                                                                                               \
    do {                                                                                                       \
        if (!(c))                                                                                              \
            __builtin_trap();                                                                                  \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct evm_decoder *dec;

static bool inside(const uint8_t *p, size_t n, const struct evm_log *l)
{
    return n == 0 || (p >= l->data && p + n <= l->data + l->data_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dec && evm_decoder_new(&dec))
        __builtin_trap();
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j)
        return 0;
    /* either the result itself or a whole reply */
    const cJSON *result = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "result") : j;
    struct evm_logs logs;
    if (evm_logs_parse(&logs, result, 1000)) {
        CHECK(ferry_errmsg()[0] != 0);
        CHECK(logs.logs == NULL && logs.n == 0);
        cJSON_Delete(j);
        return 0;
    }
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
    cJSON_Delete(j);
    return 0;
}
