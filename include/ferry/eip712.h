/* EIP-712 typed structured data hashing.
 *
 * Two ways in:
 *  - From C, for structs the daemon builds itself (attestations, intents): hash the type string
 *    once with eip712_type_hash, then feed each member to an eip712_struct in declaration order
 *    and finish with eip712_hash_typed(domain separator, struct hash).
 *  - From JSON in the eth_signTypedData_v4 shape ({types, primaryType, domain, message}), as dApps
 *    and `cast wallet sign --data` take it: eip712_hash_json.
 *
 * The JSON path is strict, and every error names the path of the offending value, e.g.
 * "eip712: message.steps[1].amount: value exceeds uint256". Refused: unknown or malformed type
 * names (including the aliases uint, int, byte), struct types that refer to themselves
 * (directly or through others), missing fields, fields a type does not declare, duplicate JSON
 * keys, values out of range for their type, bytesN values of the wrong length, mixed-case
 * addresses with a bad EIP-55 checksum, domain keys other than name, version, chainId,
 * verifyingContract and salt, and a types.EIP712Domain that does not list exactly the domain's
 * fields in that order. (cast is laxer on several of these: it pads or truncates bytesN,
 * ignores extra fields and the EIP712Domain type list. Where both accept, digests agree.)
 * primaryType "EIP712Domain" (which cast hashes as the domain alone) is refused too.
 * Integers may be JSON numbers (exact integers up to 2^53; larger ones must be strings, since
 * cJSON holds numbers as doubles; for the same reason 1e3 and 16.0 are taken as 1000 and 16,
 * where cast refuses them), decimal strings ("-5" for intN) or hex strings ("0x1f", "-0x10"). */
#ifndef FERRY_EIP712_H
#define FERRY_EIP712_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/address.h"
#include "ferry/buf.h"
#include "ferry/err.h"
#include "ferry/keccak.h"
#include "ferry/u256.h"

struct cJSON;

#define EIP712_MAX_TYPES 256  /* struct types in one document */
#define EIP712_MAX_FIELDS 256 /* members of one struct type */
#define EIP712_MAX_DEPTH 64   /* nesting of structs and arrays inside one value */

/* ---- building hashes in C ---- */

/* keccak256 of an encodeType string, e.g. "Mail(Person from,Person to,string contents)Person(string name,address wallet)".
 * The string is hashed as given: referenced types must follow the primary one, sorted by name. */
void eip712_type_hash(uint8_t out[32], const char *encoded_type);

/* hashStruct(s) = keccak256(typeHash || enc(member 1) || enc(member 2) || ...), fed member by member. */
struct eip712_struct {
    struct keccak_ctx k;
};
void eip712_struct_begin(struct eip712_struct *s, const uint8_t type_hash[32]);
/* An array's encoding is keccak256 of its members' encodings: begin without a type hash. */
void eip712_array_begin(struct eip712_struct *s);
/* A member already encoded as a word: bytes32, or the hash of a nested struct or array. */
void eip712_put_word(struct eip712_struct *s, const uint8_t word[32]);
void eip712_put_u256(struct eip712_struct *s, u256 v);
void eip712_put_u64(struct eip712_struct *s, uint64_t v);
/* intN: two's complement, sign-extended to 256 bits. */
void eip712_put_i64(struct eip712_struct *s, int64_t v);
void eip712_put_address(struct eip712_struct *s, const uint8_t addr[ADDRESS_LEN]);
void eip712_put_bool(struct eip712_struct *s, bool v);
/* bytes and string members are encoded as keccak256 of their contents. */
void eip712_put_bytes(struct eip712_struct *s, const void *p, size_t n);
void eip712_put_string(struct eip712_struct *s, const char *str);
/* Writes the struct (or array) hash and wipes the state. */
void eip712_struct_end(struct eip712_struct *s, uint8_t out[32]);

/* The fields of EIP712Domain; absent ones (NULL, has_chain_id false) are left out of the type. */
struct eip712_domain {
    const char *name;
    const char *version;
    bool has_chain_id;
    u256 chain_id;
    const uint8_t *verifying_contract; /* ADDRESS_LEN bytes */
    const uint8_t *salt;               /* 32 bytes */
};
void eip712_domain_separator(uint8_t out[32], const struct eip712_domain *d);

/* The digest that gets signed: keccak256(0x19 0x01 || domainSeparator || hashStruct(message)). */
void eip712_hash_typed(uint8_t out[32], const uint8_t domain_separator[32], const uint8_t struct_hash[32]);

/* ---- typed data as JSON ---- */

struct eip712_hashes {
    uint8_t digest[32];           /* what gets signed */
    uint8_t domain_separator[32];
    uint8_t message_hash[32];     /* hashStruct(message) */
};

/* Hashes typed data given as JSON text (len bytes, no NUL needed). On error *out is zeroed. */
enum ferry_err eip712_hash_json(struct eip712_hashes *out, const char *json, size_t len) FERRY_WUR;
/* The same from a parsed document (JSON strings holding \u0000 cannot be told apart here; the
 * text form refuses them). */
enum ferry_err eip712_hash_cjson(struct eip712_hashes *out, const struct cJSON *root) FERRY_WUR;

/* Appends encodeType(type) for a struct type of the document's `types` (to see what was hashed). */
enum ferry_err eip712_encode_type_json(struct fbuf *out, const char *json, size_t len, const char *type) FERRY_WUR;

#endif
