/* The store's front: backend lookup, schema version, batches and group commit, iterators with
 * a prefix, key builders. The backends only apply lists of operations and iterate. */
#include "ferry/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Looked up by name, like OpenSMTPD's queue backends. */
static const struct store_backend *const backends[] = {
    &store_backend_leveldb,
    &store_backend_mem,
    NULL,
};

/* One queued operation: offsets into the batch's arena, which may move while it grows. */
struct batch_op {
    enum store_op_type type;
    size_t koff, klen, voff, vlen;
};

struct store_batch {
    struct store *st;
    struct store_batch *next;  /* in the store's queue or done list */
    store_done_fn *done;
    void *arg;
    enum ferry_err result;     /* of the write that carried it (done list) */
    enum ferry_err err;        /* first problem while building; the commit returns it */
    char errmsg[256];
    uint8_t *arena;            /* keys and values back to back */
    size_t len, alloc;
    struct batch_op *ops;
    size_t nops, opalloc;
};

struct store {
    const struct store_backend *be;
    void *db;
    char *path;
    /* Batches committed with store_commit_group, not yet written. */
    struct store_batch *queue, **queue_tail;
    size_t nqueued;
    /* Batches written (or refused), waiting for their callback at the next flush. */
    struct store_batch *done, **done_tail;
    size_t ndone;
    /* After a failed write the store refuses writes: LevelDB cannot say whether the failed
     * batch reached the log, so only a reopen tells (it is there whole or not at all). */
    enum ferry_err broken;
    char broken_msg[512];
    enum ferry_err inject; /* store_fail_next_write */
    struct store_op *opv;  /* scratch list handed to the backend */
    size_t opv_alloc;
    struct store_stats stats;
};

int store_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Writes at most the first 24 bytes of a key as hex, for messages. */
static void key_hex(char out[64], const uint8_t *key, size_t klen)
{
    static const char digits[] = "0123456789abcdef";
    size_t n = klen > 24 ? 24 : klen, o = 0;
    for (size_t i = 0; i < n; i++) {
        out[o++] = digits[key[i] >> 4];
        out[o++] = digits[key[i] & 15];
    }
    if (n < klen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* ---- open / close ---- */

static enum ferry_err check_schema(struct store *st)
{
    static const uint8_t vkey[1] = {STORE_KIND_VERSION};
    const char *where = st->path ? st->path : "(memory)";
    uint8_t *v = NULL;
    size_t vlen = 0;
    enum ferry_err r = st->be->get(st->db, &v, &vlen, vkey, sizeof vkey);
    if (r == FERRY_OK) {
        if (vlen != 4) {
            free(v);
            return ferry_fail(FERRY_EINVAL,
                              "store: %s: the schema version record is %zu bytes, expected 4; "
                              "the store is damaged or not Ferry's",
                              where, vlen);
        }
        uint32_t have = store_be32_get(v);
        free(v);
        if (have != STORE_SCHEMA_VERSION)
            return ferry_fail(FERRY_EUNSUPPORTED,
                              "store: %s has schema version %u but this ferry uses version %u; "
                              "run the ferry release that wrote it, or move the directory away "
                              "to start with an empty store",
                              where, have, STORE_SCHEMA_VERSION);
        return FERRY_OK;
    }
    if (r != FERRY_ENOTFOUND)
        return r;

    /* No version: a new store must be empty, else it is somebody else's database. */
    void *it;
    r = st->be->iter_new(st->db, &it);
    if (r)
        return r;
    st->be->iter_seek(it, NULL, 0);
    bool empty = !st->be->iter_valid(it);
    r = st->be->iter_status(it);
    st->be->iter_free(it);
    if (r)
        return r;
    if (!empty)
        return ferry_fail(FERRY_EINVAL,
                          "store: %s holds data but no schema version: it is not a Ferry store "
                          "(or was damaged); point the store at an empty or Ferry directory",
                          where);
    uint8_t ver[4];
    store_be32_put(ver, STORE_SCHEMA_VERSION);
    struct store_op op = {STORE_OP_PUT, vkey, sizeof vkey, ver, sizeof ver};
    r = st->be->write(st->db, &op, 1);
    if (r == FERRY_OK)
        st->stats.sync_writes++;
    return r;
}

enum ferry_err store_open(struct store **out, const char *backend, const char *path)
{
    *out = NULL;
    const struct store_backend *be = NULL;
    for (size_t i = 0; backends[i]; i++)
        if (backend && strcmp(backends[i]->name, backend) == 0)
            be = backends[i];
    if (!be)
        return ferry_fail(FERRY_EINVAL, "store: unknown backend '%s' (known: leveldb, mem)",
                          backend ? backend : "(null)");

    struct store *st = calloc(1, sizeof *st);
    if (!st)
        return ferry_fail(FERRY_ENOMEM, "store: out of memory");
    st->be = be;
    st->queue_tail = &st->queue;
    st->done_tail = &st->done;
    if (path && !(st->path = strdup(path))) {
        free(st);
        return ferry_fail(FERRY_ENOMEM, "store: out of memory");
    }
    enum ferry_err r = be->open(&st->db, path);
    if (r == FERRY_OK) {
        r = check_schema(st);
        if (r)
            be->close(st->db);
    }
    if (r) {
        free(st->path);
        free(st);
        return r;
    }
    *out = st;
    return FERRY_OK;
}

enum ferry_err store_close(struct store *st)
{
    if (!st)
        return FERRY_OK;
    enum ferry_err r = store_flush(st);
    st->be->close(st->db);
    free(st->opv);
    free(st->path);
    free(st);
    return r;
}

const char *store_backend_name(const struct store *st) { return st->be->name; }

/* ---- reads ---- */

static enum ferry_err check_key(const uint8_t *key, size_t klen)
{
    if (klen == 0 || !key)
        return ferry_fail(FERRY_EINVAL,
                          "store: empty key (did a store_key builder overflow %u bytes?)",
                          STORE_KEY_MAX);
    if (klen > STORE_KEY_MAX)
        return ferry_fail(FERRY_ERANGE, "store: key of %zu bytes exceeds the %u-byte limit", klen,
                          STORE_KEY_MAX);
    return FERRY_OK;
}

enum ferry_err store_get(struct store *st, uint8_t **val, size_t *vlen, const uint8_t *key,
                         size_t klen)
{
    if (val)
        *val = NULL;
    if (vlen)
        *vlen = 0;
    enum ferry_err r = check_key(key, klen);
    if (r)
        return r;
    size_t n = 0;
    r = st->be->get(st->db, val, vlen ? vlen : &n, key, klen);
    if (r == FERRY_ENOTFOUND) {
        char hex[64];
        key_hex(hex, key, klen);
        return ferry_fail(FERRY_ENOTFOUND, "store: no record under key %s", hex);
    }
    return r;
}

struct store_iter {
    const struct store_backend *be;
    void *it;
    size_t plen;
    uint8_t prefix[STORE_KEY_MAX];
};

enum ferry_err store_iter_open(struct store *st, struct store_iter **out, const uint8_t *prefix,
                               size_t plen)
{
    *out = NULL;
    if (plen > STORE_KEY_MAX)
        return ferry_fail(FERRY_ERANGE, "store: prefix of %zu bytes exceeds the %u-byte key limit",
                          plen, STORE_KEY_MAX);
    struct store_iter *it = malloc(sizeof *it);
    if (!it)
        return ferry_fail(FERRY_ENOMEM, "store: out of memory");
    it->be = st->be;
    it->plen = plen;
    if (plen)
        memcpy(it->prefix, prefix, plen);
    enum ferry_err r = st->be->iter_new(st->db, &it->it);
    if (r) {
        free(it);
        return r;
    }
    it->be->iter_seek(it->it, it->prefix, plen);
    *out = it;
    return FERRY_OK;
}

void store_iter_seek(struct store_iter *it, const uint8_t *key, size_t klen)
{
    if (store_key_cmp(key, klen, it->prefix, it->plen) < 0)
        it->be->iter_seek(it->it, it->prefix, it->plen);
    else
        it->be->iter_seek(it->it, key, klen);
}

void store_iter_seek_after(struct store_iter *it, const uint8_t *key, size_t klen)
{
    store_iter_seek(it, key, klen);
    if (it->be->iter_valid(it->it)) {
        size_t n;
        const uint8_t *k = it->be->iter_key(it->it, &n);
        if (store_key_cmp(k, n, key, klen) == 0)
            it->be->iter_next(it->it);
    }
}

bool store_iter_valid(const struct store_iter *it)
{
    if (!it->be->iter_valid(it->it))
        return false;
    size_t n;
    const uint8_t *k = it->be->iter_key(it->it, &n);
    return n >= it->plen && (it->plen == 0 || memcmp(k, it->prefix, it->plen) == 0);
}

void store_iter_next(struct store_iter *it)
{
    if (it->be->iter_valid(it->it))
        it->be->iter_next(it->it);
}

const uint8_t *store_iter_key(const struct store_iter *it, size_t *klen)
{
    return it->be->iter_key(it->it, klen);
}

const uint8_t *store_iter_value(const struct store_iter *it, size_t *vlen)
{
    return it->be->iter_value(it->it, vlen);
}

enum ferry_err store_iter_status(const struct store_iter *it)
{
    return it->be->iter_status(it->it);
}

void store_iter_free(struct store_iter *it)
{
    if (!it)
        return;
    it->be->iter_free(it->it);
    free(it);
}

enum ferry_err store_scan(struct store *st, bool *more, const uint8_t *prefix, size_t plen,
                          const uint8_t *after, size_t alen, size_t limit, store_scan_fn *fn,
                          void *arg)
{
    if (more)
        *more = false;
    struct store_iter *it;
    enum ferry_err r = store_iter_open(st, &it, prefix, plen);
    if (r)
        return r;
    if (after)
        store_iter_seek_after(it, after, alen);
    size_t seen = 0;
    for (; store_iter_valid(it); store_iter_next(it)) {
        if (seen == limit) {
            if (more)
                *more = true;
            break;
        }
        size_t kl, vl;
        const uint8_t *k = store_iter_key(it, &kl);
        const uint8_t *v = store_iter_value(it, &vl);
        if ((r = fn(arg, k, kl, v, vl)))
            break;
        seen++;
    }
    if (r == FERRY_OK)
        r = store_iter_status(it);
    store_iter_free(it);
    return r;
}

/* ---- batches ---- */

enum ferry_err store_batch_begin(struct store *st, struct store_batch **out)
{
    struct store_batch *b = calloc(1, sizeof *b);
    *out = b;
    if (!b)
        return ferry_fail(FERRY_ENOMEM, "store: out of memory");
    b->st = st;
    return FERRY_OK;
}

void store_batch_free(struct store_batch *b)
{
    if (!b)
        return;
    free(b->arena);
    free(b->ops);
    free(b);
}

size_t store_batch_count(const struct store_batch *b) { return b->nops; }

static void batch_fail(struct store_batch *b, enum ferry_err e)
{
    b->err = e;
    snprintf(b->errmsg, sizeof b->errmsg, "%s", ferry_errmsg());
}

static void batch_add(struct store_batch *b, enum store_op_type type, const uint8_t *key,
                      size_t klen, const void *val, size_t vlen)
{
    if (b->err)
        return;
    enum ferry_err r = check_key(key, klen);
    if (r == FERRY_OK && key[0] == STORE_KIND_VERSION)
        r = ferry_fail(FERRY_EINVAL, "store: the schema version key is written only by store_open");
    if (r == FERRY_OK && vlen > STORE_VALUE_MAX)
        r = ferry_fail(FERRY_ERANGE, "store: value of %zu bytes exceeds the %u-byte limit", vlen,
                       STORE_VALUE_MAX);
    if (r == FERRY_OK && klen + vlen > STORE_BATCH_MAX - b->len)
        r = ferry_fail(FERRY_ERANGE, "store: batch would exceed %u bytes; split the work",
                       STORE_BATCH_MAX);
    if (r) {
        batch_fail(b, r);
        return;
    }
    if (b->nops == b->opalloc) {
        size_t n = b->opalloc ? 2 * b->opalloc : 8;
        struct batch_op *o = realloc(b->ops, n * sizeof *o);
        if (!o) {
            batch_fail(b, ferry_fail(FERRY_ENOMEM, "store: out of memory"));
            return;
        }
        b->ops = o;
        b->opalloc = n;
    }
    if (b->len + klen + vlen > b->alloc) {
        size_t n = b->alloc ? b->alloc : 256;
        while (n < b->len + klen + vlen)
            n *= 2;
        uint8_t *a = realloc(b->arena, n);
        if (!a) {
            batch_fail(b, ferry_fail(FERRY_ENOMEM, "store: out of memory"));
            return;
        }
        b->arena = a;
        b->alloc = n;
    }
    struct batch_op *op = &b->ops[b->nops++];
    op->type = type;
    op->koff = b->len;
    op->klen = klen;
    memcpy(b->arena + b->len, key, klen);
    b->len += klen;
    op->voff = b->len;
    op->vlen = vlen;
    if (vlen)
        memcpy(b->arena + b->len, val, vlen);
    b->len += vlen;
}

void store_put(struct store_batch *b, const uint8_t *key, size_t klen, const void *val, size_t vlen)
{
    batch_add(b, STORE_OP_PUT, key, klen, val, vlen);
}

void store_del(struct store_batch *b, const uint8_t *key, size_t klen)
{
    batch_add(b, STORE_OP_DEL, key, klen, NULL, 0);
}

/* ---- commits ---- */

static enum ferry_err refuse_if_broken(struct store *st)
{
    if (!st->broken)
        return FERRY_OK;
    return ferry_fail(st->broken,
                      "store: refusing writes after a failed write (%s); restart ferry, it "
                      "reconciles with the chains",
                      st->broken_msg);
}

/* Fills v with b's operations as the backend takes them; returns their number. */
static size_t batch_ops(struct store_op *v, const struct store_batch *b)
{
    for (size_t j = 0; j < b->nops; j++) {
        const struct batch_op *o = &b->ops[j];
        v[j] = (struct store_op){
            .type = o->type,
            .key = b->arena + o->koff,
            .klen = o->klen,
            .val = o->type == STORE_OP_PUT ? b->arena + o->voff : NULL,
            .vlen = o->vlen,
        };
    }
    return b->nops;
}

/* Hands the ops of `list` (linked by next) and then of `extra` to the backend as one write. */
static enum ferry_err write_batches(struct store *st, struct store_batch *list,
                                    struct store_batch *extra)
{
    size_t n = 0, nb = 0;
    for (struct store_batch *b = list; b; b = b->next)
        n += b->nops, nb++;
    if (extra)
        n += extra->nops, nb++;
    if (n == 0)
        return FERRY_OK;
    if (n > st->opv_alloc) {
        size_t m = st->opv_alloc ? st->opv_alloc : 64;
        while (m < n)
            m *= 2;
        struct store_op *v = realloc(st->opv, m * sizeof *v);
        if (!v)
            return ferry_fail(FERRY_ENOMEM, "store: out of memory");
        st->opv = v;
        st->opv_alloc = m;
    }
    size_t i = 0;
    for (struct store_batch *b = list; b; b = b->next)
        i += batch_ops(st->opv + i, b);
    if (extra)
        i += batch_ops(st->opv + i, extra);
    enum ferry_err r;
    if (st->inject) {
        r = ferry_fail(st->inject, "store: injected write failure");
        st->inject = FERRY_OK;
    } else {
        r = st->be->write(st->db, st->opv, n);
    }
    st->stats.sync_writes++;
    if (r) {
        st->stats.failed_writes++;
        st->broken = r;
        snprintf(st->broken_msg, sizeof st->broken_msg, "%s", ferry_errmsg());
        return r;
    }
    st->stats.batches += nb;
    st->stats.ops += n;
    return FERRY_OK;
}

/* Writes the queue (and `extra` after it) as one write; queued batches move to the done list
 * with the result. */
static enum ferry_err write_queue(struct store *st, struct store_batch *extra)
{
    struct store_batch *list = st->queue;
    size_t nq = st->nqueued;
    st->queue = NULL;
    st->queue_tail = &st->queue;
    st->nqueued = 0;
    enum ferry_err r = refuse_if_broken(st);
    if (r == FERRY_OK)
        r = write_batches(st, list, extra);
    for (struct store_batch *b = list; b; b = b->next)
        b->result = r;
    if (list) {
        *st->done_tail = list;
        while (*st->done_tail)
            st->done_tail = &(*st->done_tail)->next;
        st->ndone += nq;
    }
    return r;
}

enum ferry_err store_commit_sync(struct store_batch *b)
{
    struct store *st = b->st;
    enum ferry_err r;
    if (b->err) {
        r = ferry_fail(b->err, "%s", b->errmsg);
        store_batch_free(b);
        return r;
    }
    b->next = NULL;
    r = write_queue(st, b);
    store_batch_free(b);
    return r;
}

enum ferry_err store_commit_group(struct store_batch *b, store_done_fn *done, void *arg)
{
    struct store *st = b->st;
    enum ferry_err r = FERRY_OK;
    if (b->err)
        r = ferry_fail(b->err, "%s", b->errmsg);
    else
        r = refuse_if_broken(st);
    if (r) {
        store_batch_free(b);
        return r;
    }
    b->done = done;
    b->arg = arg;
    b->next = NULL;
    *st->queue_tail = b;
    st->queue_tail = &b->next;
    st->nqueued++;
    return FERRY_OK;
}

static void run_callbacks(struct store *st)
{
    struct store_batch *list = st->done;
    st->done = NULL;
    st->done_tail = &st->done;
    st->ndone = 0;
    while (list) {
        struct store_batch *b = list;
        list = b->next;
        if (b->done) {
            /* A callback may overwrite the message; each one gets the reason afresh. */
            if (b->result)
                (void)ferry_fail(b->result, "%s", st->broken_msg);
            b->done(b->arg, b->result);
        }
        store_batch_free(b);
    }
}

enum ferry_err store_flush(struct store *st)
{
    enum ferry_err last = FERRY_OK;
    while (st->queue || st->done) {
        if (st->queue)
            last = write_queue(st, NULL);
        run_callbacks(st);
    }
    if (last)
        (void)ferry_fail(last, "%s", st->broken_msg);
    return last;
}

size_t store_pending(const struct store *st) { return st->nqueued + st->ndone; }

void store_stats(const struct store *st, struct store_stats *out) { *out = st->stats; }

void store_fail_next_write(struct store *st, enum ferry_err err) { st->inject = err; }

/* ---- keys ---- */

static void key_add(struct store_key *k, const void *p, size_t n)
{
    if (k->overflow)
        return;
    if (n > sizeof k->b - k->len) {
        k->overflow = true;
        k->len = 0;
        return;
    }
    if (n)
        memcpy(k->b + k->len, p, n);
    k->len += n;
}

void store_key_begin(struct store_key *k, enum store_kind kind)
{
    k->len = 0;
    k->overflow = false;
    k->b[k->len++] = (uint8_t)kind;
}

void store_key_u8(struct store_key *k, uint8_t v) { key_add(k, &v, 1); }

void store_key_u32(struct store_key *k, uint32_t v)
{
    uint8_t b[4];
    store_be32_put(b, v);
    key_add(k, b, sizeof b);
}

void store_key_u64(struct store_key *k, uint64_t v)
{
    uint8_t b[8];
    store_be64_put(b, v);
    key_add(k, b, sizeof b);
}

void store_key_bytes(struct store_key *k, const void *p, size_t n) { key_add(k, p, n); }

void store_key_u64_u64(struct store_key *k, enum store_kind kind, uint64_t a, uint64_t b)
{
    store_key_begin(k, kind);
    store_key_u64(k, a);
    store_key_u64(k, b);
}

void store_key_kind_u64(struct store_key *k, enum store_kind kind, uint64_t a)
{
    store_key_begin(k, kind);
    store_key_u64(k, a);
}

void store_key_index_prefix(struct store_key *k, enum store_index idx, const void *field,
                            size_t flen)
{
    store_key_begin(k, STORE_KIND_INDEX);
    store_key_u8(k, (uint8_t)idx);
    key_add(k, field, flen);
}

void store_key_index(struct store_key *k, enum store_index idx, const void *field, size_t flen,
                     const void *pk, size_t pklen)
{
    store_key_index_prefix(k, idx, field, flen);
    key_add(k, pk, pklen);
}

bool store_index_pk(const uint8_t *key, size_t klen, enum store_index idx, size_t flen,
                    const uint8_t **pk, size_t *pklen)
{
    if (klen <= 2 + flen || key[0] != STORE_KIND_INDEX || key[1] != (uint8_t)idx)
        return false;
    *pk = key + 2 + flen;
    *pklen = klen - 2 - flen;
    return true;
}

bool store_key_parse_u64_u64(const uint8_t *key, size_t klen, enum store_kind kind, uint64_t *a,
                             uint64_t *b)
{
    if (klen != 17 || key[0] != (uint8_t)kind)
        return false;
    *a = store_be64_get(key + 1);
    *b = store_be64_get(key + 9);
    return true;
}

/* ---- indexes ---- */

void store_index_put(struct store_batch *b, enum store_index idx, const void *field, size_t flen,
                     const void *pk, size_t pklen)
{
    struct store_key k;
    store_key_index(&k, idx, field, flen, pk, pklen);
    store_put(b, k.b, k.len, NULL, 0);
}

void store_index_del(struct store_batch *b, enum store_index idx, const void *field, size_t flen,
                     const void *pk, size_t pklen)
{
    struct store_key k;
    store_key_index(&k, idx, field, flen, pk, pklen);
    store_del(b, k.b, k.len);
}

void store_index_move(struct store_batch *b, enum store_index idx, const void *old_field,
                      size_t oflen, const void *new_field, size_t nflen, const void *pk,
                      size_t pklen)
{
    if (old_field && new_field && oflen == nflen && memcmp(old_field, new_field, oflen) == 0)
        return;
    if (old_field)
        store_index_del(b, idx, old_field, oflen, pk, pklen);
    if (new_field)
        store_index_put(b, idx, new_field, nflen, pk, pklen);
}
