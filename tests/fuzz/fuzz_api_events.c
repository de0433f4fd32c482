/* libFuzzer harness for the API's parsers of outside input around GET /v1/events: the
 * Last-Event-ID / ?after= number, the ?intent= id, and the SSE framing of a journal entry (the
 * entry text is ours, but the framing must hold for any text: one event, one data line).
 * Input: byte 0 picks the target, the rest is the text. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/api.h"
#include "ferry/buf.h"
#include "ferry/hex.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = fuzz_strndup(data + 1, size - 1);
    if (!s)
        return 0;
    switch (data[0] % 3) {
    case 0: { /* an event id: what it accepts prints back the same */
        uint64_t v = 12345;
        if (api_parse_event_id(s, &v)) {
            char back[24];
            snprintf(back, sizeof back, "%" PRIu64, v);
            CHECK(!strcmp(back, s));
        } else {
            CHECK(v == 12345);
        }
        break;
    }
    case 1: { /* an intent id: 0x and 64 digits, decoding to what re-encodes the same up to case */
        uint8_t id[32];
        if (api_parse_intent_id(s, id)) {
            char back[67];
            hex_encode(back, id, 32, true);
            CHECK(strlen(s) == 66);
            for (size_t i = 0; i < 66; i++)
                CHECK(back[i] == (s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]));
        }
        break;
    }
    default: { /* framing: all or nothing, and exactly one event */
        struct fbuf out;
        fbuf_init(&out, 1u << 16);
        bool matched = false;
        uint8_t filter[32] = {0};
        enum ferry_err e = api_sse_format(&out, 42, s, size - 1, size % 2 ? filter : NULL, &matched);
        if (e || !matched) {
            CHECK(out.len == 0);
        } else {
            const char *t = (const char *)out.data;
            CHECK(!strncmp(t, "id: 42\nevent: ", 14));
            const char *data_line = strstr(t, "\ndata: ");
            CHECK(data_line);
            const char *end = strstr(t, "\n\n");
            CHECK(end && end == t + out.len - 2);
            CHECK(!memchr(data_line + 7, '\n', (size_t)(end - data_line - 7)));
            CHECK(!memchr(t, '\r', out.len));
        }
        fbuf_free(&out);
        break;
    }
    }
    free(s);
    return 0;
}
