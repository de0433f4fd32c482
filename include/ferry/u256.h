/* 256-bit unsigned integers for token amounts, fees and ABI words.
 * Limbs are little-endian (w[0] least significant). Every operation that can overflow says so. */
#ifndef FERRY_U256_H
#define FERRY_U256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/err.h"

typedef struct {
    uint64_t w[4];
} u256;

#define U256_DEC_MAX 79 /* 78 digits of 2^256-1 plus NUL */

static inline u256 u256_from_u64(uint64_t v) { return (u256){{v, 0, 0, 0}}; }
static inline bool u256_is_zero(u256 a) { return !(a.w[0] | a.w[1] | a.w[2] | a.w[3]); }
/* True when a fits in 64 bits (then a.w[0] is its value). */
static inline bool u256_fits_u64(u256 a) { return !(a.w[1] | a.w[2] | a.w[3]); }

int u256_cmp(u256 a, u256 b); /* -1, 0, 1 */
/* a + b; returns true on overflow (the result wraps). */
bool u256_add(u256 *r, u256 a, u256 b);
/* a - b; returns true on underflow (the result wraps). */
bool u256_sub(u256 *r, u256 a, u256 b);
/* a * b; returns true on overflow (the result wraps). */
bool u256_mul(u256 *r, u256 a, u256 b);
/* q = a / b, m = a % b (either may be NULL); returns FERRY_ERANGE when b is 0. */
enum ferry_err u256_divmod(u256 *q, u256 *m, u256 a, u256 b) FERRY_WUR;
u256 u256_shl(u256 a, unsigned n);
u256 u256_shr(u256 a, unsigned n);
unsigned u256_bitlen(u256 a);

/* Big-endian 32-byte form (ABI words, storage). */
void u256_to_be(uint8_t out[32], u256 a);
u256 u256_from_be32(const uint8_t in[32]);
/* Big-endian of any length up to 32 bytes (RLP integers). Longer is FERRY_ERANGE. */
enum ferry_err u256_from_be(u256 *r, const uint8_t *in, size_t n) FERRY_WUR;
/* Minimal big-endian bytes (no leading zeros; 0 is empty) into out[32]; returns the length. */
size_t u256_to_be_min(uint8_t out[32], u256 a);

/* Strict decimal: digits only, no sign, no leading zeros (but "0"), at most 2^256-1. */
enum ferry_err u256_from_dec(u256 *r, const char *s) FERRY_WUR;
void u256_to_dec(char out[U256_DEC_MAX], u256 a);
/* JSON-RPC quantity ("0x0", "0x1a"; no leading zeros). */
enum ferry_err u256_from_quantity(u256 *r, const char *s) FERRY_WUR;
/* Formats as a quantity into out[67]. */
void u256_to_quantity(char out[67], u256 a);

#endif
