/* Secrets read from outside (keystore passwords, the API token) held in libsodium's guarded
 * memory: guard pages around them, never swapped out, wiped when freed. The daemon and the CLI
 * read them the same way: from a file's first line (never the command line) or a copy of an
 * environment variable. */
#ifndef FERRY_SECRET_H
#define FERRY_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "ferry/err.h"

/* Reads the first line of the file at `path` into guarded memory: *out (NUL-terminated, free
 * with secret_free) and its length *len. "\n" and a "\r" before it are not part of the line,
 * and nothing after the first line is read. `what` names the file in messages (a config key or
 * option: "api.token_file"). A line over `max` bytes is refused (FERRY_ERANGE), as is an empty
 * one unless allow_empty; on failure *out is NULL. */
enum ferry_err secret_read_line(const char *path, const char *what, size_t max, bool allow_empty, char **out,
                                size_t *len) FERRY_WUR;

/* A copy of `value` in guarded memory (free with secret_free); over `max` bytes is refused,
 * `what` naming it in the message. */
enum ferry_err secret_copy(const char *value, const char *what, size_t max, char **out, size_t *len) FERRY_WUR;

/* Wipes and frees a secret from this module; NULL is fine. */
void secret_free(char *s);

#endif
