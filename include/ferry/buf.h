/* A growable byte buffer with a hard size cap, in the manner of curl's dynbuf.
 * Anything that holds outside input (RPC replies, HTTP bodies, decoded data)
 * goes through one of these so that a hostile 2 GB input fails cleanly. */
#ifndef FERRY_BUF_H
#define FERRY_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/err.h"

struct fbuf {
    uint8_t *data; /* NUL-terminated past len when len > 0, so text can be read as a string */
    size_t len;
    size_t alloc;
    size_t cap; /* the most bytes this buffer may ever hold */
};

/* Initialises an empty buffer that will refuse to grow past `cap` bytes. */
void fbuf_init(struct fbuf *b, size_t cap);

/* Appends n bytes. On failure (cap or allocation) the buffer is freed and reset,
 * so a caller never keeps a half-built value. */
enum ferry_err fbuf_add(struct fbuf *b, const void *p, size_t n) FERRY_WUR;
enum ferry_err fbuf_addbyte(struct fbuf *b, uint8_t c) FERRY_WUR;
enum ferry_err fbuf_addstr(struct fbuf *b, const char *s) FERRY_WUR;
enum ferry_err fbuf_printf(struct fbuf *b, const char *fmt, ...) FERRY_PRINTF(2, 3) FERRY_WUR;
/* Appends n zero bytes and returns a pointer to them in *out (valid until the next add). */
enum ferry_err fbuf_grow_zero(struct fbuf *b, size_t n, uint8_t **out) FERRY_WUR;

/* Empties the buffer but keeps its memory. */
void fbuf_reset(struct fbuf *b);
/* Frees the memory (wiping it first) and empties the buffer. */
void fbuf_free(struct fbuf *b);
/* Hands the bytes to the caller (who frees them with free()) and empties the buffer. */
uint8_t *fbuf_take(struct fbuf *b, size_t *len);

#endif
