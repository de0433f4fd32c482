#include "ferry/u256.h"

#include <string.h>

int u256_cmp(u256 a, u256 b)
{
    for (int i = 3; i >= 0; i--)
        if (a.w[i] != b.w[i])
            return a.w[i] < b.w[i] ? -1 : 1;
    return 0;
}

bool u256_add(u256 *r, u256 a, u256 b)
{
    unsigned __int128 c = 0;
    for (int i = 0; i < 4; i++) {
        c += (unsigned __int128)a.w[i] + b.w[i];
        r->w[i] = (uint64_t)c;
        c >>= 64;
    }
    return c != 0;
}

bool u256_sub(u256 *r, u256 a, u256 b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        unsigned __int128 d = (unsigned __int128)a.w[i] - b.w[i] - borrow;
        r->w[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) ? 1 : 0;
    }
    return borrow != 0;
}

bool u256_mul(u256 *r, u256 a, u256 b)
{
    uint64_t out[8] = {0};
    for (int i = 0; i < 4; i++) {
        unsigned __int128 carry = 0;
        for (int j = 0; j < 4; j++) {
            unsigned __int128 t = (unsigned __int128)a.w[i] * b.w[j] + out[i + j] + carry;
            out[i + j] = (uint64_t)t;
            carry = t >> 64;
        }
        out[i + 4] = (uint64_t)carry;
    }
    memcpy(r->w, out, sizeof r->w);
    return (out[4] | out[5] | out[6] | out[7]) != 0;
}

unsigned u256_bitlen(u256 a)
{
    for (int i = 3; i >= 0; i--)
        if (a.w[i])
            return (unsigned)(64 * i + 64 - __builtin_clzll(a.w[i]));
    return 0;
}

u256 u256_shl(u256 a, unsigned n)
{
    u256 r = {{0, 0, 0, 0}};
    if (n >= 256)
        return r;
    unsigned limbs = n / 64, bits = n % 64;
    for (int i = 3; i >= (int)limbs; i--) {
        r.w[i] = a.w[i - (int)limbs] << bits;
        if (bits && i - (int)limbs - 1 >= 0)
            r.w[i] |= a.w[i - (int)limbs - 1] >> (64 - bits);
    }
    return r;
}

u256 u256_shr(u256 a, unsigned n)
{
    u256 r = {{0, 0, 0, 0}};
    if (n >= 256)
        return r;
    unsigned limbs = n / 64, bits = n % 64;
    for (unsigned i = 0; i + limbs < 4; i++) {
        r.w[i] = a.w[i + limbs] >> bits;
        if (bits && i + limbs + 1 < 4)
            r.w[i] |= a.w[i + limbs + 1] << (64 - bits);
    }
    return r;
}

enum ferry_err u256_divmod(u256 *q, u256 *m, u256 a, u256 b)
{
    if (u256_is_zero(b))
        return ferry_fail(FERRY_ERANGE, "u256: division by zero");
    u256 quo = {{0, 0, 0, 0}}, rem = a;
    if (u256_cmp(a, b) >= 0) {
        unsigned shift = u256_bitlen(a) - u256_bitlen(b);
        u256 d = u256_shl(b, shift);
        for (int i = (int)shift; i >= 0; i--) {
            if (u256_cmp(rem, d) >= 0) {
                (void)u256_sub(&rem, rem, d);
                quo.w[i / 64] |= 1ULL << (i % 64);
            }
            d = u256_shr(d, 1);
        }
    }
    if (q)
        *q = quo;
    if (m)
        *m = rem;
    return FERRY_OK;
}

void u256_to_be(uint8_t out[32], u256 a)
{
    for (int i = 0; i < 32; i++)
        out[31 - i] = (uint8_t)(a.w[i / 8] >> (8 * (i % 8)));
}

u256 u256_from_be32(const uint8_t in[32])
{
    u256 r = {{0, 0, 0, 0}};
    for (int i = 0; i < 32; i++)
        r.w[i / 8] |= (uint64_t)in[31 - i] << (8 * (i % 8));
    return r;
}

enum ferry_err u256_from_be(u256 *r, const uint8_t *in, size_t n)
{
    uint8_t word[32] = {0};
    *r = u256_from_u64(0);
    if (n > 32)
        return ferry_fail(FERRY_ERANGE, "u256: %zu bytes do not fit in 256 bits", n);
    memcpy(word + 32 - n, in, n);
    *r = u256_from_be32(word);
    return FERRY_OK;
}

size_t u256_to_be_min(uint8_t out[32], u256 a)
{
    uint8_t word[32];
    u256_to_be(word, a);
    size_t skip = 0;
    while (skip < 32 && word[skip] == 0)
        skip++;
    memcpy(out, word + skip, 32 - skip);
    return 32 - skip;
}

enum ferry_err u256_from_dec(u256 *r, const char *s)
{
    *r = u256_from_u64(0);
    size_t n = strlen(s);
    if (n == 0)
        return ferry_fail(FERRY_EINVAL, "decimal: empty string, expected digits");
    if (n > 1 && s[0] == '0')
        return ferry_fail(FERRY_EINVAL, "decimal: leading zero in \"%.80s\"", s);
    u256 v = u256_from_u64(0), ten = u256_from_u64(10);
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ferry_fail(FERRY_EINVAL, "decimal: invalid character at position %zu of \"%.80s\"", i, s);
        if (u256_mul(&v, v, ten) || u256_add(&v, v, u256_from_u64((uint64_t)(s[i] - '0'))))
            return ferry_fail(FERRY_ERANGE, "decimal: \"%.80s\" exceeds 2^256-1", s);
    }
    *r = v;
    return FERRY_OK;
}

void u256_to_dec(char out[U256_DEC_MAX], u256 a)
{
    char tmp[U256_DEC_MAX];
    size_t n = 0;
    u256 ten19 = u256_from_u64(10000000000000000000ULL);
    do {
        u256 q, m;
        if (u256_divmod(&q, &m, a, ten19))
            break; /* cannot happen: the divisor is not zero */
        uint64_t chunk = m.w[0];
        for (int k = 0; k < 19; k++) {
            tmp[n++] = (char)('0' + chunk % 10);
            chunk /= 10;
            if (u256_is_zero(q) && chunk == 0)
                break;
        }
        a = q;
    } while (!u256_is_zero(a));
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

enum ferry_err u256_from_quantity(u256 *r, const char *s)
{
    *r = u256_from_u64(0);
    size_t n = strlen(s);
    if (n < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return ferry_fail(FERRY_EINVAL, "quantity: expected 0x followed by hex digits, got \"%.80s\"", s);
    if (s[2] == '0' && n > 3)
        return ferry_fail(FERRY_EINVAL, "quantity: leading zero in \"%.80s\"", s);
    if (n - 2 > 64)
        return ferry_fail(FERRY_ERANGE, "quantity: \"%.80s\" exceeds 256 bits", s);
    u256 v = u256_from_u64(0);
    for (size_t i = 2; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return ferry_fail(FERRY_EINVAL, "quantity: invalid character at position %zu of \"%.80s\"", i, s);
        v = u256_shl(v, 4);
        v.w[0] |= (uint64_t)d;
    }
    *r = v;
    return FERRY_OK;
}

void u256_to_quantity(char out[67], u256 a)
{
    static const char digits[] = "0123456789abcdef";
    uint8_t be[32];
    u256_to_be(be, a);
    size_t o = 0;
    out[o++] = '0';
    out[o++] = 'x';
    int started = 0;
    for (int i = 0; i < 64; i++) {
        int d = (be[i / 2] >> ((i % 2) ? 0 : 4)) & 15;
        if (!started && d == 0 && i < 63)
            continue;
        started = 1;
        out[o++] = digits[d];
    }
    out[o] = '\0';
}
