/* libFuzzer harness for the decoders of eth_call answers the EVM adapter trusts (chains/evm/
 * attest.c): receivedBatch's bitmap word and intentState's Position. The node's reply is outside
 * input. Byte 0 picks the decoder (bit 0) and, for receivedBatch, the number of sequences asked
 * (byte 1, 0..256 reached through byte 0's high bits); the rest is the reply's hex text.
 * Invariants: the error text stays inside its buffer; a refused answer leaves the bitmap zeroed;
 * an accepted bitmap has no bit at or past n and is exactly the input's word (case aside); an
 * accepted Position has a status the router knows. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evm/evm.h"
#include "ferry/chain.h"
#include "ferry/hex.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    char *hex = fuzz_strndup(data + 2, size - 2);
    if (!hex)
        return 0;
    char err[96];
    memset(err, 'x', sizeof err);
    if (!(data[0] & 1)) {
        size_t n = data[1] + ((data[0] & 2) ? 1 : 0); /* 0..256 */
        if (data[0] & 4)
            n = 257 + data[1]; /* over the limit: always refused */
        uint8_t bits[32];
        enum ferry_err e = evm_decode_received_bits(bits, n, hex, err, sizeof err);
        if (e) {
            CHECK(memchr(err, 0, sizeof err) != NULL);
            for (int i = 0; i < 32; i++)
                CHECK(bits[i] == 0);
        } else {
            CHECK(n <= 256);
            for (size_t i = n; i < 256; i++)
                CHECK(!(bits[31 - i / 8] >> (i % 8) & 1));
            char back[67];
            back[0] = '0', back[1] = 'x';
            static const char digits[] = "0123456789abcdef";
            for (int i = 0; i < 32; i++) {
                back[2 + 2 * i] = digits[bits[i] >> 4];
                back[3 + 2 * i] = digits[bits[i] & 15];
            }
            back[66] = 0;
            CHECK(strlen(hex) == 66);
            for (int i = 0; i < 66; i++)
                CHECK(tolower((unsigned char)hex[i]) == back[i]);
        }
    } else {
        struct chain_intent_result r;
        memset(&r, 0, sizeof r);
        enum ferry_err e = evm_decode_position(&r, hex, err, sizeof err);
        if (e)
            CHECK(memchr(err, 0, sizeof err) != NULL);
        else
            CHECK((unsigned)r.status <= 8);
    }
    free(hex);
    return 0;
}
