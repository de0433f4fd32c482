/* Ferry's persistent store: the one module that owns LevelDB. Everything else reads through
 * store_get / store_iter_* and writes through batches. See docs/store.md for the key layout,
 * the group-commit protocol and the durability promise.
 *
 * Durability: a batch is durable once store_commit_sync() returned FERRY_OK, or once the
 * completion callback of store_commit_group() ran with FERRY_OK. The engine acts on the outside
 * world (broadcasts a transaction) only after that point.
 *
 * Visibility: reads (store_get, iterators) see committed batches only. A batch queued with
 * store_commit_group() is invisible until store_flush() wrote it; during a turn of the event
 * loop the engine's in-memory state is the source of truth, the store its durable copy.
 *
 * Single-threaded, like the rest of the daemon: one struct store is used by one thread. */
#ifndef FERRY_STORE_H
#define FERRY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/err.h"

/* Bumped whenever the key layout or a record encoding changes incompatibly; store_open refuses
 * a store written with another version. */
#define STORE_SCHEMA_VERSION 1u

#define STORE_KEY_MAX 512u                   /* longest key accepted */
#define STORE_VALUE_MAX (16u * 1024 * 1024)  /* longest value accepted */
#define STORE_BATCH_MAX (64u * 1024 * 1024)  /* most bytes (keys + values) in one batch */

/* The first byte of every key: what kind of record it is. This table is the one place that
 * assigns them; bytes are printable so that a dump of the store reads easily. */
enum store_kind {
    STORE_KIND_VERSION = 'v', /* the schema version (u32 BE); written only by store_open */
    STORE_KIND_META = 'm',    /* daemon metadata (instance id, config digest, ...) */
    STORE_KIND_CURSOR = 'c',  /* chain cursor: c | chain u64 -> scan position of that chain */
    STORE_KIND_PACKET = 'p',  /* packet: p | src chain u64 | sequence u64 */
    STORE_KIND_TX = 't',      /* transaction written ahead of its broadcast: t | chain u64 | nonce u64 */
    STORE_KIND_INTENT = 'i',  /* intent: i | intent id (32 bytes) */
    STORE_KIND_HOP = 'h',     /* hop: h | intent id (32 bytes) | step index u32 */
    STORE_KIND_INDEX = 'x',   /* secondary index: x | index id u8 | field | primary key -> "" */
    STORE_KIND_EVENT = 'e',   /* event log for the SSE stream: e | event number u64 */
};

/* Secondary indexes (the byte after 'x'). Each index fixes the width of its field, so that
 * the primary key is what follows it. Add new ones here, never renumber. */
enum store_index {
    STORE_IDX_PACKET_STATE = 1,  /* field: state u8; primary key: the packet key */
    STORE_IDX_PACKET_DST = 2,    /* field: destination chain u64; primary key: the packet key */
    STORE_IDX_TX_STATE = 3,      /* field: state u8; primary key: the transaction key */
    STORE_IDX_TX_HASH = 4,       /* field: transaction hash (32 bytes); primary key: the tx key */
    STORE_IDX_INTENT_STATE = 5,  /* field: state u8; primary key: the intent key */
    STORE_IDX_INTENT_OWNER = 6,  /* field: owner (bytes32); primary key: the intent key */
    STORE_IDX_HOP_STATE = 7,     /* field: state u8; primary key: the hop key */
};

struct store;
struct store_batch;
struct store_iter;

/* ---- opening and closing ---- */

/* Opens (creating when missing) the store at `path` with the named backend ("leveldb" or
 * "mem"; "mem" ignores path and starts empty). A new store gets the schema version; an
 * existing one must carry STORE_SCHEMA_VERSION. Fails with a message saying what to do when
 * the version differs, when another process (or another open in this one) holds the store,
 * or when LevelDB reports an error. */
enum ferry_err store_open(struct store **out, const char *backend, const char *path) FERRY_WUR;

/* Flushes queued batches (their callbacks run), closes the backend and frees st. Returns the
 * flush result. st may be NULL. */
enum ferry_err store_close(struct store *st);

/* The backend's name ("leveldb", "mem"). */
const char *store_backend_name(const struct store *st);

/* ---- reads: committed data only ---- */

/* Reads the value of a key. On FERRY_OK *val is a malloc'd copy the caller frees with free()
 * (never NULL, even for an empty value) and *vlen its length. val and vlen may both be NULL to
 * test for existence. FERRY_ENOTFOUND when the key is absent. */
enum ferry_err store_get(struct store *st, uint8_t **val, size_t *vlen, const uint8_t *key,
                         size_t klen) FERRY_WUR;

/* An iterator over the keys that start with prefix (plen may be 0: every key), in bytewise key
 * order (what LevelDB and memcmp agree on; shorter first on a tie). It sees the store as it was
 * when opened (a snapshot): later commits do not show. Positioned at the first key. Keep
 * iterators short-lived: one per listing, freed in the same turn. */
enum ferry_err store_iter_open(struct store *st, struct store_iter **out, const uint8_t *prefix,
                               size_t plen) FERRY_WUR;
/* Positions at the first key >= key (keys before the prefix mean "the first key"). */
void store_iter_seek(struct store_iter *it, const uint8_t *key, size_t klen);
/* Positions at the first key > key: "start after" for paginated listings. */
void store_iter_seek_after(struct store_iter *it, const uint8_t *key, size_t klen);
bool store_iter_valid(const struct store_iter *it);
void store_iter_next(struct store_iter *it);
/* The current key and value; views valid until the next seek/next/free. Only when valid. */
const uint8_t *store_iter_key(const struct store_iter *it, size_t *klen);
const uint8_t *store_iter_value(const struct store_iter *it, size_t *vlen);
/* FERRY_OK, or the error that ended the iteration early (checksum mismatch, I/O). An
 * iterator that is not valid may have stopped because of an error: check before trusting
 * that a listing is complete. */
enum ferry_err store_iter_status(const struct store_iter *it) FERRY_WUR;
void store_iter_free(struct store_iter *it);

/* Visits up to `limit` entries under prefix whose key is greater than `after` (from the first
 * key when after is NULL), calling fn for each; fn returning non-zero stops the scan with
 * that result. *more (may be NULL) tells whether entries remain past the last one visited:
 * pass the last key seen as `after` to get the next page. */
typedef enum ferry_err store_scan_fn(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
                                     size_t vlen);
enum ferry_err store_scan(struct store *st, bool *more, const uint8_t *prefix, size_t plen,
                          const uint8_t *after, size_t alen, size_t limit, store_scan_fn *fn,
                          void *arg) FERRY_WUR;

/* ---- writes: batches only ---- */

/* Starts an empty batch. It is consumed by store_commit_sync / store_commit_group, or
 * discarded with store_batch_free. */
enum ferry_err store_batch_begin(struct store *st, struct store_batch **out) FERRY_WUR;

/* Queue a put / delete in the batch; later operations on the same key win. They cannot fail
 * on their own: the first problem (empty or oversized key or value, the batch cap, memory) is
 * kept in the batch and returned by the commit, which then writes nothing. Keys and values are
 * copied. */
void store_put(struct store_batch *b, const uint8_t *key, size_t klen, const void *val, size_t vlen);
void store_del(struct store_batch *b, const uint8_t *key, size_t klen);
/* Number of operations queued in b. */
size_t store_batch_count(const struct store_batch *b);
/* Discards a batch without writing anything. b may be NULL. */
void store_batch_free(struct store_batch *b);

/* Writes b durably now, as one synchronous write. Batches already queued with
 * store_commit_group are written in the same write, before b, so writes land in the order they
 * were committed; their callbacks still run at the next store_flush. Consumes b. */
enum ferry_err store_commit_sync(struct store_batch *b) FERRY_WUR;

/* Called once per grouped batch, after the write that carried it returned: result FERRY_OK
 * means durable; anything else means the batch may or may not have been applied (all or
 * nothing) and the store refuses further writes: stop and restart, the engine reconciles.
 * ferry_errmsg() holds the reason during the call. */
typedef void store_done_fn(void *arg, enum ferry_err result);

/* Queues b for the next store_flush, which merges every queued batch into one synchronous
 * write (group commit), then calls each done(arg, result) in commit order. Consumes b. On an
 * immediate error (a problem recorded in b, a store that refuses writes) nothing is queued and
 * done is never called; otherwise done (may be NULL) is called exactly once. */
enum ferry_err store_commit_group(struct store_batch *b, store_done_fn *done, void *arg) FERRY_WUR;

/* Writes every queued batch as one synchronous write and runs their callbacks. Batches queued
 * by those callbacks are written before store_flush returns (another write), so nothing is
 * left queued. The event loop calls this at the end of every turn. Returns the result of the
 * last write (FERRY_OK when nothing was queued). */
enum ferry_err store_flush(struct store *st);

/* Batches queued or awaiting their callback: the event loop must not sleep while non-zero. */
size_t store_pending(const struct store *st);

/* ---- statistics and tests ---- */

struct store_stats {
    uint64_t sync_writes;   /* synchronous backend writes (one per commit_sync or flush) */
    uint64_t batches;       /* batches written */
    uint64_t ops;           /* puts and deletes written */
    uint64_t failed_writes; /* writes that returned an error */
};
void store_stats(const struct store *st, struct store_stats *out);

/* For tests: the next backend write fails with `err` as if the disk had refused it. */
void store_fail_next_write(struct store *st, enum ferry_err err);

/* ---- keys ---- */

/* A key under construction. A builder that would overflow b[] leaves len at 0 for good, and
 * every store function refuses an empty key, so an overflow cannot write a truncated key. */
struct store_key {
    size_t len;
    bool overflow;
    uint8_t b[STORE_KEY_MAX];
};

void store_key_begin(struct store_key *k, enum store_kind kind);
void store_key_u8(struct store_key *k, uint8_t v);
void store_key_u32(struct store_key *k, uint32_t v); /* big-endian: keys sort numerically */
void store_key_u64(struct store_key *k, uint64_t v); /* big-endian: keys sort numerically */
void store_key_bytes(struct store_key *k, const void *p, size_t n);
/* kind | a u64 | b u64: packets (chain, sequence), transactions (chain, nonce). */
void store_key_u64_u64(struct store_key *k, enum store_kind kind, uint64_t a, uint64_t b);
/* kind | a u64: chain cursors, events. */
void store_key_kind_u64(struct store_key *k, enum store_kind kind, uint64_t a);
/* 'x' | idx | field | primary key: one index entry. */
void store_key_index(struct store_key *k, enum store_index idx, const void *field, size_t flen,
                     const void *pk, size_t pklen);
/* 'x' | idx | field: the prefix that lists every primary key indexed under field. */
void store_key_index_prefix(struct store_key *k, enum store_index idx, const void *field,
                            size_t flen);

/* Splits an index entry's key: *pk points into key past kind, index id and a field of flen
 * bytes. False when key is not an entry of idx with a primary key. */
bool store_index_pk(const uint8_t *key, size_t klen, enum store_index idx, size_t flen,
                    const uint8_t **pk, size_t *pklen);
/* Reads kind | a u64 | b u64 back; false when key is not of that shape. */
bool store_key_parse_u64_u64(const uint8_t *key, size_t klen, enum store_kind kind, uint64_t *a,
                             uint64_t *b);

static inline void store_be64_put(uint8_t p[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}
static inline uint64_t store_be64_get(const uint8_t p[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}
static inline void store_be32_put(uint8_t p[4], uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}
static inline uint32_t store_be32_get(const uint8_t p[4])
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- secondary indexes: the caller maintains them, in the same batch as the record ---- */

void store_index_put(struct store_batch *b, enum store_index idx, const void *field, size_t flen,
                     const void *pk, size_t pklen);
void store_index_del(struct store_batch *b, enum store_index idx, const void *field, size_t flen,
                     const void *pk, size_t pklen);
/* Moves pk from old_field to new_field: deletes the old entry, puts the new one. old_field
 * NULL: a new record (put only); new_field NULL: a removed record (delete only); equal
 * fields: nothing to do. */
void store_index_move(struct store_batch *b, enum store_index idx, const void *old_field,
                      size_t oflen, const void *new_field, size_t nflen, const void *pk,
                      size_t pklen);

/* ---- backends (store_leveldb.c, store_mem.c); only store.c calls these ---- */

enum store_op_type { STORE_OP_PUT = 1, STORE_OP_DEL = 2 };

struct store_op {
    enum store_op_type type;
    const uint8_t *key;
    size_t klen;
    const uint8_t *val; /* NULL for a delete */
    size_t vlen;
};

/* One way to keep keys and values, in the manner of OpenSMTPD's queue backends. Every
 * function that can fail sets ferry_fail with the backend's own error text. */
struct store_backend {
    const char *name;
    /* Opens or creates the database at path (creating the directory and its parents). */
    enum ferry_err (*open)(void **db, const char *path);
    void (*close)(void *db);
    /* Like store_get: *val malloc'd (never NULL on success); val NULL tests existence. */
    enum ferry_err (*get)(void *db, uint8_t **val, size_t *vlen, const uint8_t *key, size_t klen);
    /* Applies ops[0..n) in order, all or none, and returns only once they are durable. */
    enum ferry_err (*write)(void *db, const struct store_op *ops, size_t n);
    /* An iterator over a snapshot of the whole database, not yet positioned. */
    enum ferry_err (*iter_new)(void *db, void **it);
    void (*iter_seek)(void *it, const uint8_t *key, size_t klen); /* first key >= key */
    bool (*iter_valid)(void *it);
    void (*iter_next)(void *it);
    const uint8_t *(*iter_key)(void *it, size_t *klen);
    const uint8_t *(*iter_value)(void *it, size_t *vlen);
    enum ferry_err (*iter_status)(void *it);
    void (*iter_free)(void *it);
};

extern const struct store_backend store_backend_leveldb;
extern const struct store_backend store_backend_mem;

/* Bytewise key order, the one LevelDB's default comparator uses. */
int store_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

#endif
