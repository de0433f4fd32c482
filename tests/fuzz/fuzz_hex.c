/* libFuzzer harness for ferry/hex.h (and the hex quantities of ferry/u256.h): strict decoding
 * must never crash, must leave nothing behind on failure, and what it accepts must re-encode to
 * the same digits.
 * Input: byte 0 picks the prefix rule, byte 1 a capacity, the rest is the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ferry/hex.h"
#include "ferry/u256.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    enum hex_prefix pf = (enum hex_prefix)(data[0] % 3);
    size_t cap = data[1];
    const char *text = (const char *)data + 2;
    size_t n = size - 2;
    char *s = fuzz_strndup(text, n);
    if (!s)
        return 0;

    /* hex_decode over the raw bytes, NULs included. */
    uint8_t out[256];
    size_t got = 12345;
    enum ferry_err e = hex_decode(out, cap, &got, text, n, pf);
    if (e == FERRY_OK) {
        CHECK(got <= cap && (n == 2 * got || n == 2 * got + 2));
        CHECK(pf != HEX_PREFIX_REQUIRED || n == 2 * got + 2);
        CHECK(pf != HEX_PREFIX_FORBIDDEN || n == 2 * got);
        char *enc = malloc(2 * got + 3);
        CHECK(enc);
        CHECK(hex_encode(enc, out, got, false) == 2 * got);
        CHECK(strncasecmp(enc, text + (n - 2 * got), 2 * got) == 0);
        free(enc);
    } else {
        CHECK(got == 0 && ferry_errmsg()[0]);
        for (size_t i = 0; i < cap; i++)
            CHECK(out[i] == 0);
    }

    /* The NUL-terminated forms agree with hex_decode on the same string. */
    size_t slen = strlen(s), want = cap % 40;
    uint8_t ex[40], ref[256];
    size_t refn;
    enum ferry_err er = hex_decode(ref, sizeof ref, &refn, s, slen, pf);
    e = hex_decode_exact(ex, want, s, pf);
    if (e == FERRY_OK)
        CHECK(er == FERRY_OK && refn == want && memcmp(ex, ref, want) == 0);
    else if (er == FERRY_OK)
        CHECK(refn != want);

    struct fbuf b;
    fbuf_init(&b, cap);
    e = hex_decode_buf(&b, s, pf);
    if (e == FERRY_OK) {
        CHECK(b.len <= cap && er == FERRY_OK && b.len == refn && (!refn || memcmp(b.data, ref, refn) == 0));
    } else {
        CHECK(b.data == NULL || e != FERRY_ENOMEM);
        CHECK(er != FERRY_OK || refn > cap);
    }
    fbuf_free(&b);

    /* Quantities: canonical, so what parses prints back the same (up to case). */
    uint64_t q;
    u256 u;
    enum ferry_err eq = hex_quantity_u64(&q, s), eu = u256_from_quantity(&u, s);
    if (eq == FERRY_OK) {
        char t[19];
        hex_u64_quantity(t, q);
        CHECK(strcasecmp(t, s) == 0);
        CHECK(eu == FERRY_OK && u256_fits_u64(u) && u.w[0] == q);
    }
    if (eu == FERRY_OK) {
        char t[67];
        u256_to_quantity(t, u);
        CHECK(strcasecmp(t + 2, s + 2) == 0);
    }
    free(s);
    return 0;
}
