#include "ferry/keccak.h"

#include <string.h>

#include <sodium.h>

/* Absorbs one full rate block: lanes are little-endian 64-bit words. */
static void absorb(struct sha3_state *s, const uint8_t *p)
{
    for (size_t i = 0; i < KECCAK256_RATE / 8; i++) {
        uint64_t w;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(&w, p + 8 * i, 8); /* lanes are little-endian: one load on this host */
#else
        w = 0;
        for (int b = 7; b >= 0; b--)
            w = w << 8 | p[8 * i + (size_t)b];
#endif
        s->a[i] ^= w;
    }
    sha3_permute(s);
}

void keccak256_init(struct keccak_ctx *c)
{
    memset(c, 0, sizeof *c);
}

void keccak256_update(struct keccak_ctx *c, const void *data, size_t n)
{
    /* Empty input may come as (NULL, 0), e.g. an empty ack result: memcpy from NULL is UB even for 0 bytes. */
    if (n == 0)
        return;
    const uint8_t *p = data;
    if (c->fill) {
        size_t take = KECCAK256_RATE - c->fill;
        if (take > n)
            take = n;
        memcpy(c->block + c->fill, p, take);
        c->fill += take;
        p += take;
        n -= take;
        if (c->fill < KECCAK256_RATE)
            return;
        absorb(&c->state, c->block);
        c->fill = 0;
    }
    while (n >= KECCAK256_RATE) {
        absorb(&c->state, p);
        p += KECCAK256_RATE;
        n -= KECCAK256_RATE;
    }
    memcpy(c->block, p, n);
    c->fill = n;
}

void keccak256_final(struct keccak_ctx *c, uint8_t out[32])
{
    memset(c->block + c->fill, 0, KECCAK256_RATE - c->fill);
    c->block[c->fill] ^= 0x01;
    c->block[KECCAK256_RATE - 1] ^= 0x80;
    absorb(&c->state, c->block);
    for (size_t i = 0; i < 4; i++)
        for (size_t b = 0; b < 8; b++)
            out[8 * i + b] = (uint8_t)(c->state.a[i] >> (8 * b));
    sodium_memzero(c, sizeof *c);
}

void keccak256(uint8_t out[32], const void *data, size_t n)
{
    struct keccak_ctx c;
    keccak256_init(&c);
    keccak256_update(&c, data, n);
    keccak256_final(&c, out);
}
