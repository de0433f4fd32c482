/* Logging: one JSON object per line, to stderr by default.
 *
 *   {"ts":"2024-05-01T12:00:00.123Z","level":"info","module":"engine","msg":"packet state",
 *    "packet":"31337/5","from":"SENT","to":"DELIVERING"}
 *
 * ts is RFC 3339 in UTC with milliseconds; level, module and msg are always present; fields
 * follow in the order given. Every string is escaped so that each line is valid JSON whatever
 * the input holds (quotes, control characters, invalid UTF-8 becomes U+FFFD), and each string
 * is cut at LOG_VALUE_MAX bytes, so a hostile RPC reply logged as a field cannot flood a line.
 *
 * Secrets never go to the logs: there is no function here that takes key material, and none
 * should be added. The signer (ferry/signer.h) is the only module that sees keys; log key
 * names and addresses, never keys, passwords or keystore contents.
 *
 * Single-threaded like the rest of the daemon. Level names are not syslog's (LOG_INFO etc.
 * are macros in <syslog.h>), hence the LOGL_ prefix. */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/err.h"

enum log_level {
    LOGL_DEBUG, /* what the daemon is doing, step by step */
    LOGL_INFO,  /* state changes an operator may want to follow */
    LOGL_WARN,  /* something went wrong and is being retried or worked around */
    LOGL_ERROR, /* something needs attention: a parked packet, a store failure */
};

#define LOG_VALUE_MAX 4096u        /* longest string value (msg or field), in input bytes */
#define LOG_LINE_MAX (64u * 1024)  /* longest line; past it the fields are dropped */

/* Lines below `level` are dropped. The default is LOGL_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* True when a line at `level` would be written: skip expensive formatting otherwise. */
bool log_enabled(enum log_level level);
/* "debug", "info", "warn", "error". */
const char *log_level_name(enum log_level level);
/* Parses a level name (as the config gives it); "warning" is taken for "warn". */
enum ferry_err log_level_parse(const char *s, enum log_level *out) FERRY_WUR;

/* Where lines go: fn gets each complete line, newline included. NULL restores stderr. */
typedef void log_sink_fn(void *ud, const char *line, size_t len);
void log_set_sink(log_sink_fn *fn, void *ud);
/* The clock for ts, in unix milliseconds. NULL restores the real clock. For tests. */
void log_set_clock(uint64_t (*now_ms)(void));

/* A line whose msg is printf-formatted, without fields. */
void log_msg(enum log_level level, const char *module, const char *fmt, ...) FERRY_PRINTF(3, 4);

/* A line with string fields given as key, value pairs ended by NULL:
 *   log_kv(LOGL_INFO, "engine", "packet state", "packet", id, "from", "SENT", "to", "DELIVERING", NULL);
 * A NULL value is written as JSON null. */
void log_kv(enum log_level level, const char *module, const char *msg, ...)
#if defined(__GNUC__)
    __attribute__((sentinel))
#endif
    ;

/* Typed fields, for numbers and booleans that should stay numbers in JSON. */
enum log_field_type { LOG_FT_STR, LOG_FT_U64, LOG_FT_I64, LOG_FT_BOOL };
struct log_field {
    const char *key;
    enum log_field_type type;
    union {
        const char *s;
        uint64_t u;
        int64_t i;
        bool b;
    } v;
};
#define LOG_STR(k, x) ((struct log_field){.key = (k), .type = LOG_FT_STR, .v.s = (x)})
#define LOG_U64(k, x) ((struct log_field){.key = (k), .type = LOG_FT_U64, .v.u = (x)})
#define LOG_I64(k, x) ((struct log_field){.key = (k), .type = LOG_FT_I64, .v.i = (x)})
#define LOG_BOOL(k, x) ((struct log_field){.key = (k), .type = LOG_FT_BOOL, .v.b = (x)})

void log_fields(enum log_level level, const char *module, const char *msg, const struct log_field *f,
                size_t n);

#endif
