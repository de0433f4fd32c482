#include "ferry/hex.h"

#include <stdio.h>
#include <string.h>

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool has_prefix(const char *s, size_t n) { return n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'); }

/* Validates s and returns, through *start, where the digits begin. */
static enum ferry_err check(const char *s, size_t n, enum hex_prefix prefix, size_t *start)
{
    size_t i = 0;
    if (has_prefix(s, n)) {
        if (prefix == HEX_PREFIX_FORBIDDEN)
            return ferry_fail(FERRY_EINVAL, "hex: unexpected \"0x\" prefix at position 0");
        i = 2;
    } else if (prefix == HEX_PREFIX_REQUIRED) {
        return ferry_fail(FERRY_EINVAL, "hex: expected \"0x\" prefix at position 0");
    }
    for (size_t j = i; j < n; j++) {
        if (nibble(s[j]) < 0) {
            unsigned char c = (unsigned char)s[j];
            if (c >= 0x20 && c < 0x7f)
                return ferry_fail(FERRY_EINVAL, "hex: invalid character '%c' at position %zu", c, j);
            return ferry_fail(FERRY_EINVAL, "hex: invalid byte 0x%02x at position %zu", c, j);
        }
    }
    if ((n - i) % 2)
        return ferry_fail(FERRY_EINVAL, "hex: odd number of digits (%zu) ending at position %zu", n - i,
                          n ? n - 1 : 0);
    *start = i;
    return FERRY_OK;
}

enum ferry_err hex_decode(uint8_t *out, size_t cap, size_t *outlen, const char *s, size_t n,
                          enum hex_prefix prefix)
{
    size_t i;
    *outlen = 0;
    if (cap)
        memset(out, 0, cap);
    enum ferry_err e = check(s, n, prefix, &i);
    if (e)
        return e;
    size_t bytes = (n - i) / 2;
    if (bytes > cap)
        return ferry_fail(FERRY_ERANGE, "hex: %zu bytes do not fit in %zu", bytes, cap);
    for (size_t k = 0; k < bytes; k++)
        out[k] = (uint8_t)(nibble(s[i + 2 * k]) << 4 | nibble(s[i + 2 * k + 1]));
    *outlen = bytes;
    return FERRY_OK;
}

enum ferry_err hex_decode_exact(uint8_t *out, size_t len, const char *s, enum hex_prefix prefix)
{
    size_t got, i;
    size_t n = strlen(s);
    enum ferry_err e = check(s, n, prefix, &i);
    if (e) {
        memset(out, 0, len);
        return e;
    }
    if ((n - i) / 2 != len) {
        memset(out, 0, len);
        return ferry_fail(FERRY_EINVAL, "hex: expected %zu bytes (%zu digits), got %zu digits", len, 2 * len, n - i);
    }
    return hex_decode(out, len, &got, s, n, prefix);
}

enum ferry_err hex_decode_buf(struct fbuf *out, const char *s, enum hex_prefix prefix)
{
    size_t i, n = strlen(s), got;
    uint8_t *p;
    enum ferry_err e = check(s, n, prefix, &i);
    if (e)
        return e;
    e = fbuf_grow_zero(out, (n - i) / 2, &p);
    if (e)
        return e;
    return hex_decode(p, (n - i) / 2, &got, s, n, prefix);
}

size_t hex_encode(char *out, const uint8_t *in, size_t n, bool prefix)
{
    static const char digits[] = "0123456789abcdef";
    size_t o = 0;
    if (prefix) {
        out[o++] = '0';
        out[o++] = 'x';
    }
    for (size_t i = 0; i < n; i++) {
        out[o++] = digits[in[i] >> 4];
        out[o++] = digits[in[i] & 15];
    }
    out[o] = '\0';
    return o;
}

enum ferry_err hex_encode_buf(struct fbuf *out, const uint8_t *in, size_t n, bool prefix)
{
    uint8_t *p;
    if (n > (SIZE_MAX - 3) / 2)
        return ferry_fail(FERRY_ENOMEM, "hex: input too large");
    enum ferry_err e = fbuf_grow_zero(out, 2 * n + (prefix ? 2 : 0), &p);
    if (e)
        return e;
    hex_encode((char *)p, in, n, prefix); /* its NUL lands on the buffer's own terminator */
    return FERRY_OK;
}

enum ferry_err hex_quantity_u64(uint64_t *out, const char *s)
{
    *out = 0;
    size_t n = strlen(s);
    if (!has_prefix(s, n))
        return ferry_fail(FERRY_EINVAL, "quantity: expected \"0x\" prefix at position 0");
    if (n == 2)
        return ferry_fail(FERRY_EINVAL, "quantity: no digits after \"0x\"");
    if (s[2] == '0' && n > 3)
        return ferry_fail(FERRY_EINVAL, "quantity: leading zero at position 2");
    uint64_t v = 0;
    for (size_t i = 2; i < n; i++) {
        int d = nibble(s[i]);
        if (d < 0)
            return ferry_fail(FERRY_EINVAL, "quantity: invalid character at position %zu", i);
        if (v >> 60)
            return ferry_fail(FERRY_ERANGE, "quantity: %s does not fit in 64 bits", s);
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return FERRY_OK;
}

void hex_u64_quantity(char out[19], uint64_t v)
{
    snprintf(out, 19, "0x%llx", (unsigned long long)v);
}
