/* Shared between src/abi_*.c; not part of the public interface. */
#ifndef FERRY_ABI_INT_H
#define FERRY_ABI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/abi.h"

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
