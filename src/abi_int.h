/* Shared between src/abi_*.c; not part of the public interface. */
#ifndef FERRY_ABI_INT_H
#define FERRY_ABI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ferry/abi.h"

/* Bytes 8i..8i+8 of a big-endian word as an integer: the loads behind every word check, kept
 * to one load and one byte swap each because event decoding is on the daemon's hot path. */
static inline uint64_t abi_be64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap64(x);
#elif !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
    x = (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
        (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 | (uint64_t)p[6] << 8 | p[7];
#endif
    return x;
}

/* A 32-byte big-endian word as a u256 (limbs little-endian). */
static inline u256 abi_load_word(const uint8_t w[32])
{
    return (u256){{abi_be64(w + 24), abi_be64(w + 16), abi_be64(w + 8), abi_be64(w)}};
}

/* True when word is a valid encoding of a value of the static elementary type t. */
bool abi_word_valid(const struct abi_type *t, const uint8_t word[32]);

/* The canonical text of t for messages, cut to fit out[n]. */
const char *abi_type_str(const struct abi_type *t, char *out, size_t n);

static inline bool abi_is_elementary_static(const struct abi_type *t)
{
    return t->kind <= ABI_FIXED_BYTES;
}

/* The type of member/element i of a list type (tuple or array). */
static inline const struct abi_type *abi_child(const struct abi_type *t, size_t i)
{
    return t->kind == ABI_TUPLE ? t->members[i] : t->elem;
}

/* Allocates a tree block holding `nodes` nodes followed by `extra` bytes, zeroed.
 * The first node is the root; free the whole with abi_value_free. */
enum ferry_err abi_tree_alloc(struct abi_value **out, size_t nodes, size_t extra, uint8_t **extra_p) FERRY_WUR;

#endif
