/* Strict hexadecimal: every rejection names the offending position. */
#ifndef FERRY_HEX_H
#define FERRY_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/buf.h"
#include "ferry/err.h"

enum hex_prefix {
    HEX_PREFIX_OPTIONAL, /* "0x" or "0X" may lead */
    HEX_PREFIX_REQUIRED, /* "0x" must lead (JSON-RPC data) */
    HEX_PREFIX_FORBIDDEN /* bare digits only (keystore fields) */
};

/* Decodes the n characters at s into out (capacity cap); *outlen receives the byte count.
 * Odd digit counts, non-hex characters and a missing/forbidden prefix are errors whose
 * message gives the 0-based character position. out is left zeroed on failure. */
enum ferry_err hex_decode(uint8_t *out, size_t cap, size_t *outlen, const char *s, size_t n,
                          enum hex_prefix prefix) FERRY_WUR;

/* Decodes a NUL-terminated string that must hold exactly `len` bytes. */
enum ferry_err hex_decode_exact(uint8_t *out, size_t len, const char *s, enum hex_prefix prefix) FERRY_WUR;

/* Decodes a NUL-terminated string of any length into a capped buffer (appended). */
enum ferry_err hex_decode_buf(struct fbuf *out, const char *s, enum hex_prefix prefix) FERRY_WUR;

/* Writes lowercase hex of in[0..n) to out, with "0x" when prefix is true, and a NUL.
 * out must hold 2*n + 3 bytes. Returns the number of characters written (without NUL). */
size_t hex_encode(char *out, const uint8_t *in, size_t n, bool prefix);

/* Appends lowercase hex (with "0x" when prefix is true) to a buffer. */
enum ferry_err hex_encode_buf(struct fbuf *out, const uint8_t *in, size_t n, bool prefix) FERRY_WUR;

/* Ethereum JSON-RPC quantity ("0x0", "0x1a"; no leading zeros, "0x" prefix required). */
enum ferry_err hex_quantity_u64(uint64_t *out, const char *s) FERRY_WUR;
/* Formats v as a quantity ("0x0", "0x1a") into out[19]. */
void hex_u64_quantity(char out[19], uint64_t v);

#endif
