/* RLP, Ethereum's Recursive Length Prefix serialization.
 *
 * Encoding: an encoder writes items into a capped buffer (struct fbuf) or straight into a
 * running Keccak-256, so a transaction can be hashed without being stored. Lists either
 * back-patch their length prefix (rlp_list_begin/rlp_list_end, buffer only) or are given
 * their payload length up front (rlp_list_header, with the rlp_size_* helpers: two passes,
 * no copying, works with a hash). Errors are sticky: the first one is kept, later calls do
 * nothing, and rlp_enc_finish() reports it, so a caller writes a whole list without
 * checking every item.
 *
 * Decoding: rlp_decode() checks the whole input at once (canonical forms only, nothing
 * after the top item, nesting capped at RLP_MAX_DEPTH) and hands back items that point
 * into the input; nothing is allocated. Walking the children of a checked item cannot fail. */
#ifndef FERRY_RLP_H
#define FERRY_RLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/buf.h"
#include "ferry/err.h"
#include "ferry/keccak.h"
#include "ferry/u256.h"

#define RLP_MAX_DEPTH 32 /* nesting of lists; Ethereum's own structures need 3 */

/* ---- encoding ---- */

struct rlp_enc {
    struct fbuf *buf;         /* exactly one of buf and hash is set */
    struct keccak_ctx *hash;
    size_t open[RLP_MAX_DEPTH]; /* buffer offsets of the lists begun and not yet ended */
    unsigned depth;
    enum ferry_err err;       /* the first failure; later calls do nothing */
};

/* Appends to `out` (which keeps what it holds). */
void rlp_enc_init_buf(struct rlp_enc *e, struct fbuf *out);
/* Feeds the encoding to a Keccak-256 context the caller has initialised. Lists must then be
 * written with rlp_list_header (a hash cannot be back-patched). */
void rlp_enc_init_hash(struct rlp_enc *e, struct keccak_ctx *hash);

/* A byte string item (an empty string is 0x80; one byte below 0x80 is itself). */
void rlp_put_bytes(struct rlp_enc *e, const uint8_t *p, size_t n);
/* An unsigned integer: minimal big-endian bytes, 0 being the empty string. */
void rlp_put_u64(struct rlp_enc *e, uint64_t v);
void rlp_put_u256(struct rlp_enc *e, u256 v);
/* Bytes that are already RLP (one or more complete items), copied as they are. */
void rlp_put_raw(struct rlp_enc *e, const uint8_t *p, size_t n);
/* The prefix of a list whose items, written next, take `payload_len` bytes in all. */
void rlp_list_header(struct rlp_enc *e, size_t payload_len);
/* A list of unknown length: begin, write the items, end. Buffer encoders only. */
void rlp_list_begin(struct rlp_enc *e);
void rlp_list_end(struct rlp_enc *e);
/* The first error met (FERRY_OK if none); also an error if a list is still open.
 * On error a buffer encoder's fbuf has been freed and reset (see fbuf_add). */
enum ferry_err rlp_enc_finish(struct rlp_enc *e) FERRY_WUR;

/* Encoded sizes, for rlp_list_header. */
size_t rlp_size_bytes(const uint8_t *p, size_t n);
size_t rlp_size_u64(uint64_t v);
size_t rlp_size_u256(u256 v);
/* The size of a list whose items take payload_len bytes. */
size_t rlp_size_list(size_t payload_len);

/* ---- decoding ---- */

enum rlp_kind { RLP_STRING, RLP_LIST };

/* One item inside a checked input. */
struct rlp_item {
    enum rlp_kind kind;
    const uint8_t *data; /* the payload (a string's bytes or a list's encoded items) */
    size_t len;          /* payload length */
    size_t off;          /* offset of the item's first byte in the whole input, for messages */
    size_t hdr;          /* length of the prefix, so the whole item is data - hdr .. data + len */
};

/* Checks that in[0..n) is exactly one canonical RLP item, nested at most RLP_MAX_DEPTH deep,
 * and describes it in *top (which points into `in`). Rejected, with the offset in the
 * message: truncated input, lengths past the end of the input or of the enclosing list,
 * a single byte below 0x80 wrapped as 0x81 XX, the long form used for fewer than 56 bytes,
 * lengths with leading zero bytes, and bytes after the top item. */
enum ferry_err rlp_decode(struct rlp_item *top, const uint8_t *in, size_t n) FERRY_WUR;
/* The same for RLP that sits `base` bytes into a larger input (e.g. after a transaction's type
 * byte): offsets in items and messages count from the start of that larger input. */
enum ferry_err rlp_decode_at(struct rlp_item *top, const uint8_t *in, size_t n, size_t base) FERRY_WUR;

/* Walks the children of a list item that came from rlp_decode. */
struct rlp_iter {
    const uint8_t *p, *end;
    size_t off; /* top-level offset of p */
};
void rlp_iter_init(struct rlp_iter *it, const struct rlp_item *list);
/* Sets *out to the next child and returns true, or returns false at the end of the list. */
bool rlp_iter_next(struct rlp_iter *it, struct rlp_item *out);

/* Fills items[0..*count) with the children of a list. More than `cap` children, or an item
 * that is not a list, is an error. */
enum ferry_err rlp_list_items(const struct rlp_item *list, struct rlp_item *items, size_t cap,
                              size_t *count) FERRY_WUR;

/* Typed readers. Integers must be strings without leading zero bytes (0 is the empty
 * string) and fit the type; byte readers require a string. Each message names the offset. */
enum ferry_err rlp_get_u64(const struct rlp_item *it, uint64_t *out) FERRY_WUR;
enum ferry_err rlp_get_u256(const struct rlp_item *it, u256 *out) FERRY_WUR;
enum ferry_err rlp_get_bytes(const struct rlp_item *it, const uint8_t **p, size_t *n) FERRY_WUR;
/* A string of exactly n bytes, copied to out. */
enum ferry_err rlp_get_fixed(const struct rlp_item *it, uint8_t *out, size_t n) FERRY_WUR;

#endif
