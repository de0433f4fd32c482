#include "ferry/address.h"

#include <ctype.h>
#include <string.h>

#include "ferry/hex.h"
#include "ferry/keccak.h"

void address_from_pubkey(uint8_t out[ADDRESS_LEN], const uint8_t pub64[64])
{
    uint8_t h[32];
    keccak256(h, pub64, 64);
    memcpy(out, h + 12, ADDRESS_LEN);
}

/* EIP-55: a letter is upper-case when the matching nibble of keccak(lowercase hex) is >= 8. */
static void checksum_case(char digits[40])
{
    uint8_t h[32];
    keccak256(h, digits, 40);
    for (int i = 0; i < 40; i++) {
        int nib = (h[i / 2] >> ((i % 2) ? 0 : 4)) & 15;
        if (digits[i] >= 'a' && digits[i] <= 'f' && nib >= 8)
            digits[i] = (char)(digits[i] - 'a' + 'A');
    }
}

void address_to_checksum(char out[ADDRESS_STR], const uint8_t addr[ADDRESS_LEN])
{
    hex_encode(out, addr, ADDRESS_LEN, true);
    checksum_case(out + 2);
}

enum ferry_err address_parse(uint8_t out[ADDRESS_LEN], const char *s)
{
    memset(out, 0, ADDRESS_LEN);
    size_t n = strlen(s);
    if (n != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return ferry_fail(FERRY_EINVAL, "address: expected 0x followed by 40 hex digits, got \"%.60s\"", s);
    enum ferry_err e = hex_decode_exact(out, ADDRESS_LEN, s, HEX_PREFIX_REQUIRED);
    if (e)
        return ferry_fail_ctx(e, "address");
    int upper = 0, lower = 0;
    for (int i = 2; i < 42; i++) {
        upper |= isupper((unsigned char)s[i]) != 0;
        lower |= islower((unsigned char)s[i]) != 0;
    }
    if (upper && lower) {
        char want[ADDRESS_STR];
        address_to_checksum(want, out);
        if (strcmp(want + 2, s + 2) != 0) {
            memset(out, 0, ADDRESS_LEN);
            return ferry_fail(FERRY_EINVAL, "address: bad EIP-55 checksum in %s (expected %s)", s, want);
        }
    }
    return FERRY_OK;
}
