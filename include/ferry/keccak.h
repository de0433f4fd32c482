/* Keccak-256 as Ethereum uses it (original Keccak padding 0x01, not SHA3's 0x06),
 * built on Nettle's Keccak-f[1600] permutation. */
#ifndef FERRY_KECCAK_H
#define FERRY_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/sha3.h>

#define KECCAK256_RATE 136

struct keccak_ctx {
    struct sha3_state state;
    uint8_t block[KECCAK256_RATE];
    size_t fill;
};

void keccak256_init(struct keccak_ctx *c);
void keccak256_update(struct keccak_ctx *c, const void *data, size_t n);
/* Writes the digest and wipes the context. */
void keccak256_final(struct keccak_ctx *c, uint8_t out[32]);

/* One-shot digest of data[0..n). */
void keccak256(uint8_t out[32], const void *data, size_t n);

#endif
