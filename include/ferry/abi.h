/* The Solidity contract ABI: types parsed from Solidity type strings, encoding and decoding,
 * function selectors and event logs.
 *
 * Decoding treats its input as hostile: every offset and length is checked against the data
 * with overflow-safe arithmetic, words that are not the exact encoding of their declared type
 * are refused (a uint8 word with high bytes set, an address with non-zero upper bytes, a bool
 * that is not 0 or 1, bytesN or bytes with non-zero padding), type nesting is capped at
 * ABI_MAX_DEPTH and a decoded value at ABI_MAX_NODES nodes (offsets may alias, so a small input
 * could otherwise describe an enormous value). Offsets need not follow the canonical layout:
 * like Solidity's decoder, any in-bounds offset is accepted, and trailing bytes are ignored.
 *
 * Two ways to decode:
 *  - abi_decode() builds a value tree in one allocation; abi_value_free() frees it.
 *  - abi_decode_fields() / abi_event_decode_fields() fill a caller-provided array, one entry per
 *    top-level parameter, without allocating: the hot path for known event types. Arrays and
 *    tuples among them are validated and left encoded (ABI_FORM_ENCODED); abi_value_expand()
 *    turns one into a tree when needed.
 * Byte strings in decoded values point into the input data: keep the data alive while they are used.
 *
 * Value text (abi_value_parse, abi_value_format) follows Foundry's cast:
 *   integers  123, -5, 0xff (unsigned only)        address  0x + 40 hex digits (EIP-55 if mixed case)
 *   bool      true, false                           bytesN   0x + exactly 2N hex digits
 *   bytes     0x + hex digits                       string   "text" with \" \\ \n \r \t \0 \u{hex}
 *   arrays    [v, v, ...]                           tuples   (v, v, ...)
 * abi_value_format writes the same form with addresses checksummed, which is what
 * `cast abi-decode` prints (without its " [1e18]" annotations). */
#ifndef FERRY_ABI_H
#define FERRY_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/buf.h"
#include "ferry/err.h"
#include "ferry/u256.h"

#define ABI_MAX_DEPTH 32          /* nesting of arrays and tuples in one type */
#define ABI_MAX_NODES (1u << 18)  /* nodes in one decoded or parsed value */
#define ABI_MAX_STATIC (1u << 24) /* bytes of the static encoding of one type (T[k] sizes) */

enum abi_kind {
    ABI_UINT,        /* uintN, N = 8..256 step 8 */
    ABI_INT,         /* intN, two's complement */
    ABI_ADDRESS,     /* 20 bytes, right-aligned in its word */
    ABI_BOOL,        /* 0 or 1 */
    ABI_FIXED_BYTES, /* bytesN, N = 1..32, left-aligned in its word */
    ABI_BYTES,       /* bytes: length-prefixed, dynamic */
    ABI_STRING,      /* string: like bytes; the content is not checked for UTF-8 */
    ABI_ARRAY,       /* T[k] */
    ABI_DYN_ARRAY,   /* T[] */
    ABI_TUPLE,       /* (T1,...,Tn) */
};

struct abi_type {
    enum abi_kind kind;
    unsigned size;             /* uintN/intN: N bits; bytesN: N bytes; otherwise 0 */
    bool dynamic;              /* has a tail (bytes, string, T[], or contains one) */
    bool indexed;              /* an event parameter marked indexed */
    unsigned depth;            /* 1 for elementary types, 1 + the deepest child otherwise */
    size_t head;               /* bytes taken in a parent's head: 32 if dynamic, else the static size */
    size_t inner;              /* T[k] and tuples: bytes of their own head (the sum of the children's) */
    size_t count;              /* T[k]: k; tuples: the number of members */
    struct abi_type *elem;     /* T[k], T[]: the element type */
    struct abi_type **members; /* tuples: the member types */
    char *name;                /* the parameter or component name given in the text, or NULL */
};

/* Parses a type: "uint256", "bytes32[]", "(address,(uint64 a, bytes b)[2])", "tuple(uint8,string)".
 * "uint" and "int" mean 256 bits. Component names are kept; whitespace is allowed around them. */
enum ferry_err abi_type_parse(struct abi_type **out, const char *text) FERRY_WUR;
/* Frees a type from abi_type_parse. NULL is fine. */
void abi_type_free(struct abi_type *t);
/* Appends the canonical text ("uint256", "(uint64,bytes)[2]": no names, no spaces). */
enum ferry_err abi_type_canonical(struct fbuf *out, const struct abi_type *t) FERRY_WUR;
/* Structural equality, ignoring names and indexed flags. */
bool abi_type_equal(const struct abi_type *a, const struct abi_type *b);

/* A function or event signature. */
struct abi_sig {
    char *name;
    char *canonical;          /* "Transfer(address,address,uint256)" */
    struct abi_type *params;  /* a tuple of every parameter in declaration order */
    struct abi_type *data;    /* events: a tuple of the non-indexed parameters (shares their nodes);
                                 functions: the same pointer as params */
    size_t *data_param;       /* events: data member k is params->members[data_param[k]] */
    uint8_t hash[32];         /* keccak256(canonical): an event's topic0; hash[0..4) a function's selector */
    size_t n_indexed;
    bool anonymous;
};

/* "transfer(address to, uint amount)" or "transfer(address,uint256)". */
enum ferry_err abi_function_parse(struct abi_sig **out, const char *text) FERRY_WUR;
/* "Transfer(address indexed from, address indexed to, uint256 value)", optionally followed by
 * "anonymous". At most 3 indexed parameters (4 when anonymous). */
enum ferry_err abi_event_parse(struct abi_sig **out, const char *text) FERRY_WUR;
/* NULL is fine. */
void abi_sig_free(struct abi_sig *s);
/* The 4-byte selector of a function signature (canonicalised first: "f(uint)" is "f(uint256)"). */
enum ferry_err abi_selector(uint8_t out[4], const char *text) FERRY_WUR;
/* topic0 of an event signature (indexed markers and names are allowed and ignored). */
enum ferry_err abi_event_topic(uint8_t out[32], const char *text) FERRY_WUR;

enum abi_form {
    ABI_FORM_VALUE,   /* the value itself */
    ABI_FORM_ENCODED, /* an array or tuple left encoded by a *_fields decoder: u.bytes holds its
                         encoding up to the end of the data; abi_value_expand() decodes it */
    ABI_FORM_HASH,    /* an indexed event parameter of a dynamic, array or tuple type: the log holds
                         only keccak256 of its encoding, in u.word */
};

struct abi_value {
    const struct abi_type *type;
    enum abi_form form;
    union {
        uint8_t word[32]; /* uint, int, address, bool, bytesN: the ABI word itself; HASH: the topic */
        struct {
            const uint8_t *ptr;
            size_t len;
        } bytes; /* bytes, string (not owned); ENCODED: the encoding */
        struct {
            struct abi_value *items;
            size_t count;
        } list; /* T[k], T[], tuples */
    } u;
};

/* Typed getters. Each fails (FERRY_EINVAL) when the value is of another type, and
 * FERRY_ERANGE when it does not fit the result. */
enum ferry_err abi_get_u64(const struct abi_value *v, uint64_t *out) FERRY_WUR;  /* uintN, intN >= 0 */
enum ferry_err abi_get_i64(const struct abi_value *v, int64_t *out) FERRY_WUR;   /* intN, uintN */
enum ferry_err abi_get_u256(const struct abi_value *v, u256 *out) FERRY_WUR;     /* uintN, intN >= 0 */
enum ferry_err abi_get_address(const struct abi_value *v, uint8_t out[20]) FERRY_WUR;
enum ferry_err abi_get_bool(const struct abi_value *v, bool *out) FERRY_WUR;
/* bytesN (zero-padded to 32) or the topic of a HASH value. */
enum ferry_err abi_get_bytes32(const struct abi_value *v, uint8_t out[32]) FERRY_WUR;
/* bytes, string, bytesN: a view of the bytes (not a copy). */
enum ferry_err abi_get_bytes(const struct abi_value *v, const uint8_t **ptr, size_t *len) FERRY_WUR;

/* Setters for building values to encode. t must outlive v; bytes are not copied. */
enum ferry_err abi_set_uint(struct abi_value *v, const struct abi_type *t, u256 x) FERRY_WUR;
enum ferry_err abi_set_int(struct abi_value *v, const struct abi_type *t, int64_t x) FERRY_WUR;
enum ferry_err abi_set_address(struct abi_value *v, const struct abi_type *t, const uint8_t addr[20]) FERRY_WUR;
enum ferry_err abi_set_bool(struct abi_value *v, const struct abi_type *t, bool x) FERRY_WUR;
/* bytesN (n must be N), bytes or string. */
enum ferry_err abi_set_bytes(struct abi_value *v, const struct abi_type *t, const uint8_t *p, size_t n) FERRY_WUR;
/* T[k] (count must be k), T[] or a tuple (count must be its member count). */
enum ferry_err abi_set_list(struct abi_value *v, const struct abi_type *t, struct abi_value *items,
                            size_t count) FERRY_WUR;

/* Appends the encoding of v taken as a parameter list: a tuple's members are the parameters
 * (abi.encode(a, b, ...)); any other value is a single parameter (abi.encode(v)).
 * Values are checked against their types (FERRY_ERANGE for a word too wide for its type).
 * On failure out is freed, as fbuf functions do, so no half-encoding is kept. */
enum ferry_err abi_encode(struct fbuf *out, const struct abi_value *v) FERRY_WUR;
/* Appends selector || abi_encode(args); args must match fn->params. */
enum ferry_err abi_calldata_encode(struct fbuf *out, const struct abi_sig *fn, const struct abi_value *args) FERRY_WUR;

/* Decodes data[0..n) as a parameter list of type t (the inverse of abi_encode) into a tree:
 * one allocation, freed with abi_value_free. */
enum ferry_err abi_decode(struct abi_value **out, const struct abi_type *t, const uint8_t *data, size_t n) FERRY_WUR;
/* Checks the selector, then decodes the arguments (a tuple of fn->params). */
enum ferry_err abi_calldata_decode(struct abi_value **out, const struct abi_sig *fn, const uint8_t *data,
                                   size_t n) FERRY_WUR;
/* Frees a tree made by abi_decode, abi_calldata_decode, abi_event_decode, abi_value_expand,
 * abi_value_parse or abi_args_parse. NULL is fine. */
void abi_value_free(struct abi_value *tree);

/* Decodes data[0..n) as the members of `tuple`, into fields[0..tuple->count), without allocating.
 * Arrays and tuples are fully validated and left ENCODED. On failure the fields are unspecified. */
enum ferry_err abi_decode_fields(struct abi_value *fields, const struct abi_type *tuple, const uint8_t *data,
                                 size_t n) FERRY_WUR;
/* Decodes an ENCODED value into a tree (any other value is copied into a one-node tree
 * sharing its bytes). */
enum ferry_err abi_value_expand(struct abi_value **out, const struct abi_value *v) FERRY_WUR;

/* True when the log's topics fit the event: topic0 matches (unless anonymous) and the
 * number of topics is right. */
bool abi_event_matches(const struct abi_sig *ev, const uint8_t (*topics)[32], size_t n_topics);
/* Decodes a log of event ev into fields[0..ev->params->count), in declaration order, without
 * allocating. Indexed static values come from the topics (checked like data words); indexed
 * bytes, strings, arrays and tuples are HASH values. The rest is decoded as abi_decode_fields does. */
enum ferry_err abi_event_decode_fields(struct abi_value *fields, const struct abi_sig *ev,
                                       const uint8_t (*topics)[32], size_t n_topics, const uint8_t *data,
                                       size_t n) FERRY_WUR;
/* The same into a tree: a tuple of every parameter, arrays and tuples expanded. */
enum ferry_err abi_event_decode(struct abi_value **out, const struct abi_sig *ev, const uint8_t (*topics)[32],
                                size_t n_topics, const uint8_t *data, size_t n) FERRY_WUR;

/* Parses the text form of a value of type t (see the top of this file) into a tree. */
enum ferry_err abi_value_parse(struct abi_value **out, const struct abi_type *t, const char *text) FERRY_WUR;
/* Parses cast-style arguments, one text per member of `tuple`, into a tuple value. As with cast,
 * a top-level string argument is taken verbatim unless it is enclosed in double quotes. */
enum ferry_err abi_args_parse(struct abi_value **out, const struct abi_type *tuple, const char *const *args,
                              size_t n_args) FERRY_WUR;
/* Appends the text form of v. ENCODED values are expanded; HASH values print as 0x + 64 digits. */
enum ferry_err abi_value_format(struct fbuf *out, const struct abi_value *v) FERRY_WUR;
/* Deep equality of type (structural), form and content. ENCODED values compare as expanded. */
bool abi_value_equal(const struct abi_value *a, const struct abi_value *b);

#endif
