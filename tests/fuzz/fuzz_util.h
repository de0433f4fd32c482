/* Shared by the libFuzzer harnesses. Header-only: the Makefile compiles each harness alone
 * against libferry.a, and a harness finds this file beside it. */
#ifndef FERRY_FUZZ_UTIL_H
#define FERRY_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An invariant the code under test must keep: a trap, which libFuzzer reports with the input
 * (assert would vanish under NDEBUG). */
#define CHECK(c)                                                                                               \
    do {                                                                                                       \
        if (!(c))                                                                                              \
            __builtin_trap();                                                                                  \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* p[0..n) as a NUL-terminated malloc'd string (the caller frees it); NULL when out of memory.
 * NULs inside stay: strlen may be shorter than n. */
static inline char *fuzz_strndup(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

#endif
