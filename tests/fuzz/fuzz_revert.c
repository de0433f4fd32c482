/* libFuzzer harness for chains/evm/revert.c: revert data from a node is outside input. Whatever
 * the bytes, the text must stay inside the buffer, NUL-terminated, printable ASCII, and a larger
 * buffer must give the same beginning (cutting never changes what is said before the cut).
 * Input: byte 0 picks a capacity, byte 1 how the rest is handed over (raw bytes, or as hex text
 * with the selector optionally swapped for a known one so the argument decoders get exercised). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evm/revert.h"
#include "ferry/abi.h"
#include "ferry/hex.h"
#include "fuzz_util.h"

static void check_text(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    CHECK(n < cap);
    for (size_t i = 0; i < n; i++)
        CHECK(s[i] >= 0x20 && s[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cap = 1 + data[0];
    uint8_t mode = data[1];
    const uint8_t *d = data + 2;
    size_t n = size - 2;

    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return 0;
    memcpy(buf, d, n);
    if ((mode & 1) && n >= 4) { /* a selector of the table, picked by the next byte */
        size_t count = evm_error_count();
        const char *sig = evm_error_signature(buf[0] % count);
        uint8_t sel[4];
        if (abi_selector(sel, sig) == FERRY_OK)
            memcpy(buf, sel, 4);
    }

    char *small = malloc(cap), big[4096];
    if (!small) {
        free(buf);
        return 0;
    }
    memset(small, 'Z', cap);
    evm_revert_text_bytes(small, cap, buf, n);
    check_text(small, cap);
    evm_revert_text_bytes(big, sizeof big, buf, n);
    check_text(big, sizeof big);
    size_t sl = strlen(small);
    if (sl + 1 < cap || cap < 8) /* not cut, or cut without a mark: a prefix of the full text */
        CHECK(strncmp(small, big, sl) == 0);
    else                         /* cut and marked: the full text up to the mark */
        CHECK(strncmp(small, big, sl - 3) == 0);

    if (mode & 2) { /* the same through the hex entry point */
        char *hex = malloc(2 * n + 3);
        if (hex) {
            hex_encode(hex, buf, n, true);
            char again[4096];
            evm_revert_text(again, sizeof again, hex);
            CHECK(strcmp(again, big) == 0);
            free(hex);
        }
    }
    free(small);
    free(buf);
    return 0;
}
