/* Small helpers that add fields to a cJSON object in the shapes the store and the API use.
 * The store keeps this JSON and tests compare it byte for byte: change an encoding only with
 * a record version bump. Each returns false when cJSON (or malloc) fails. */
#ifndef FERRY_JSON_OUT_H
#define FERRY_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ferry/address.h"

/* Integers up to 2^53 are JSON numbers (what people and jq expect); larger ones are decimal
 * strings, since a JSON number is a double to most readers. */
#define JSON_SAFE_INT 9007199254740992ull

/* v as a number up to JSON_SAFE_INT, else as a decimal string. */
bool json_add_u64(cJSON *o, const char *k, uint64_t v);
/* n bytes as "0x"-prefixed lower-case hex. */
bool json_add_hex(cJSON *o, const char *k, const uint8_t *p, size_t n);
/* An address in EIP-55 checksum form. */
bool json_add_address(cJSON *o, const char *k, const uint8_t a[ADDRESS_LEN]);
/* A 256-bit big-endian unsigned integer as a decimal string. */
bool json_add_dec(cJSON *o, const char *k, const uint8_t be[32]);
/* True when any of the n bytes is not zero (optional hashes are left out when all zero). */
bool json_nonzero(const uint8_t *p, size_t n);

#endif
