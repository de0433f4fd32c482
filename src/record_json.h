/* Reading the store's JSON records back strictly, and walking a store index page by page; shared
 * by the packet records (engine_record.c) and the intent records (orch_record.c). Not part of the
 * public interface. */
#ifndef FERRY_RECORD_JSON_H
#define FERRY_RECORD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ferry/err.h"
#include "ferry/store.h"

/* Where a reader is: every error reads `<name>: field "<path><key>": <what>`. */
struct rec_rd {
    const char *name; /* "packet record", "intent record" */
    char path[96];    /* the object being read ("hops[2]."), prefixed to field names */
};

enum ferry_err rec_bad(const struct rec_rd *c, const char *k, const char *what);

/* The string at k, or an error saying `expect` ("expected a string") or "missing". */
enum ferry_err rec_get_text(const struct rec_rd *c, const cJSON *o, const char *k, const char *expect,
                            const char **out) FERRY_WUR;
enum ferry_err rec_get_u64(const struct rec_rd *c, const cJSON *o, const char *k, uint64_t *out) FERRY_WUR;
enum ferry_err rec_get_u32(const struct rec_rd *c, const cJSON *o, const char *k, uint32_t *out) FERRY_WUR;
enum ferry_err rec_get_str(const struct rec_rd *c, const cJSON *o, const char *k, char *out, size_t cap) FERRY_WUR;
/* The string at k read by parse(out, n, string); its failure is reported as the field's error. */
typedef enum ferry_err rec_parse_fn(void *out, size_t n, const char *s);
enum ferry_err rec_get_parsed(const struct rec_rd *c, const cJSON *o, const char *k, const char *expect,
                              rec_parse_fn *parse, void *out, size_t n) FERRY_WUR;
/* Exactly n bytes of 0x-prefixed hex. */
enum ferry_err rec_get_hex(const struct rec_rd *c, const cJSON *o, const char *k, uint8_t *out, size_t n) FERRY_WUR;
enum ferry_err rec_get_bool(const struct rec_rd *c, const cJSON *o, const char *k, bool *out) FERRY_WUR;

/* The record as compact JSON (its length in *len); frees j. NULL when j is NULL or out of memory. */
char *rec_print(cJSON *j, size_t *len);
/* v[0..n) parsed as JSON, or NULL after ferry_fail("<name>: not JSON"). */
cJSON *rec_parse(const char *name, const uint8_t *v, size_t n);

/* A paginated scan of the keys under a prefix, for the packet and intent listings: each key is a
 * record (by_primary) or an index entry naming one; the records that match are passed on. */
enum rec_skip {
    REC_TAKE,  /* the entry under the iterator is one to visit */
    REC_MOVED, /* the iterator was moved on: look again */
    REC_END,   /* nothing further under the iterator is wanted */
};
struct rec_scan {
    const char *what; /* "packets": names the listing in errors */
    const struct store_key *prefix;
    const uint8_t *start; /* the cursor key: visit only keys after it (none when slen is 0) */
    size_t slen;
    const uint8_t *first; /* without a cursor, seek here first (none when flen is 0) */
    size_t flen;
    size_t limit; /* at most this many records passed on */
    bool by_primary;
    enum store_index idx; /* else: the index and its field's length */
    size_t field_len;
    /* NULL to visit every key; else says which keys to visit (it may move the iterator) */
    enum rec_skip (*skip)(struct store_iter *it);
    void *rec; /* the caller's record, filled for each key by decode or load and emptied by clear */
    enum ferry_err (*decode)(void *rec, const uint8_t *val, size_t vlen);
    enum ferry_err (*load)(struct store *st, const uint8_t *pk, size_t pklen, void *rec);
    void (*clear)(void *rec);
    bool (*matches)(void *arg, const void *rec);
    enum ferry_err (*pass)(void *arg, const void *rec); /* a match, passed on */
    void *arg;
};

/* Runs the scan. When entries are left after the page, last[0..*llen) is the last key seen (the
 * next page's cursor); else *llen is 0. The scan reads at most limit * 16 + 1024 keys. */
enum ferry_err rec_scan_run(struct store *st, const struct rec_scan *s, uint8_t last[STORE_KEY_MAX],
                            size_t *llen) FERRY_WUR;

#endif
