#include "ferry/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void fbuf_init(struct fbuf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void fbuf_reset(struct fbuf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

void fbuf_free(struct fbuf *b)
{
    if (b->data) {
        sodium_memzero(b->data, b->alloc);
        free(b->data);
    }
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

uint8_t *fbuf_take(struct fbuf *b, size_t *len)
{
    uint8_t *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}

static enum ferry_err ensure(struct fbuf *b, size_t n)
{
    if (n > b->cap || b->len > b->cap - n) {
        size_t cap = b->cap;
        fbuf_free(b);
        return ferry_fail(FERRY_ENOMEM, "buffer would exceed its cap of %zu bytes", cap);
    }
    size_t need = b->len + n + 1; /* room for the terminating NUL */
    if (need <= b->alloc)
        return FERRY_OK;
    size_t na = b->alloc ? b->alloc : 64;
    while (na < need)
        na = na > SIZE_MAX / 2 ? need : na * 2;
    if (na > b->cap + 1)
        na = b->cap + 1;
    uint8_t *p = malloc(na);
    if (!p) {
        fbuf_free(b);
        return ferry_fail(FERRY_ENOMEM, "out of memory growing a buffer to %zu bytes", na);
    }
    if (b->data) {
        memcpy(p, b->data, b->len);
        sodium_memzero(b->data, b->alloc);
        free(b->data);
    }
    b->data = p;
    b->alloc = na;
    return FERRY_OK;
}

enum ferry_err fbuf_add(struct fbuf *b, const void *p, size_t n)
{
    enum ferry_err e = ensure(b, n);
    if (e)
        return e;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return FERRY_OK;
}

enum ferry_err fbuf_addbyte(struct fbuf *b, uint8_t c) { return fbuf_add(b, &c, 1); }

enum ferry_err fbuf_addstr(struct fbuf *b, const char *s) { return fbuf_add(b, s, strlen(s)); }

enum ferry_err fbuf_grow_zero(struct fbuf *b, size_t n, uint8_t **out)
{
    enum ferry_err e = ensure(b, n);
    if (e)
        return e;
    memset(b->data + b->len, 0, n);
    *out = b->data + b->len;
    b->len += n;
    b->data[b->len] = 0;
    return FERRY_OK;
}

enum ferry_err fbuf_printf(struct fbuf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return ferry_fail(FERRY_EINVAL, "bad format string");
    }
    enum ferry_err e = ensure(b, (size_t)n);
    if (e) {
        va_end(ap2);
        return e;
    }
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
    return FERRY_OK;
}
