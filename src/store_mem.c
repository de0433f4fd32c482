/* The in-memory backend: a sorted array of refcounted entries, so engine tests run without a
 * disk but with the semantics of the LevelDB backend (bytewise order, atomic batches, snapshot
 * iterators).
 *
 * Snapshots are copy-on-write: an iterator holds a reference to the table it started on; a
 * write that finds the table shared copies the array of pointers (entries are shared, they
 * never change) and leaves the old table to the iterators. */
#include "ferry/store.h"

#include <stdlib.h>
#include <string.h>

struct mem_entry {
    unsigned refs;
    size_t klen, vlen;
    uint8_t data[]; /* key then value */
};

struct mem_table {
    unsigned refs;
    size_t n, alloc;
    struct mem_entry **e; /* sorted by key, bytewise */
};

struct mem_db {
    struct mem_table *t;
};

struct mem_iter {
    struct mem_table *t;
    size_t pos;
};

static void entry_unref(struct mem_entry *e)
{
    if (--e->refs == 0)
        free(e);
}

static void table_unref(struct mem_table *t)
{
    if (--t->refs)
        return;
    for (size_t i = 0; i < t->n; i++)
        entry_unref(t->e[i]);
    free(t->e);
    free(t);
}

/* The first position whose key is >= key; *found when it is equal. */
static size_t lower_bound(const struct mem_table *t, const uint8_t *key, size_t klen, bool *found)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct mem_entry *e = t->e[mid];
        if (store_key_cmp(e->data, e->klen, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (found)
        *found = lo < t->n && store_key_cmp(t->e[lo]->data, t->e[lo]->klen, key, klen) == 0;
    return lo;
}

static enum ferry_err mem_open(void **out, const char *path)
{
    struct mem_db *db = calloc(1, sizeof *db);
    if (db)
        db->t = calloc(1, sizeof *db->t);
    if (!db || !db->t) {
        free(db);
        *out = NULL;
        return ferry_fail(FERRY_ENOMEM, "store: out of memory");
    }
    db->t->refs = 1;
    *out = db;
    return FERRY_OK;
}

static void mem_close(void *p)
{
    struct mem_db *db = p;
    if (!db)
        return;
    table_unref(db->t);
    free(db);
}

static enum ferry_err mem_get(void *p, uint8_t **val, size_t *vlen, const uint8_t *key, size_t klen)
{
    struct mem_db *db = p;
    bool found;
    size_t i = lower_bound(db->t, key, klen, &found);
    if (!found)
        return FERRY_ENOTFOUND;
    if (!val)
        return FERRY_OK;
    const struct mem_entry *e = db->t->e[i];
    *val = malloc(e->vlen ? e->vlen : 1);
    if (!*val)
        return ferry_fail(FERRY_ENOMEM, "store: out of memory");
    memcpy(*val, e->data + e->klen, e->vlen);
    *vlen = e->vlen;
    return FERRY_OK;
}

/* Everything that can fail happens before the table changes, so a batch is all or nothing. */
static enum ferry_err mem_write(void *p, const struct store_op *ops, size_t n)
{
    struct mem_db *db = p;
    struct mem_table *t = db->t, *fresh = NULL;
    size_t puts = 0;
    for (size_t i = 0; i < n; i++)
        puts += ops[i].type == STORE_OP_PUT;
    struct mem_entry **news = calloc(puts ? puts : 1, sizeof *news);
    if (!news)
        goto nomem;
    for (size_t i = 0, j = 0; i < n; i++) {
        if (ops[i].type != STORE_OP_PUT)
            continue;
        struct mem_entry *e = malloc(sizeof *e + ops[i].klen + ops[i].vlen);
        if (!e)
            goto nomem;
        e->refs = 1;
        e->klen = ops[i].klen;
        e->vlen = ops[i].vlen;
        memcpy(e->data, ops[i].key, e->klen);
        if (e->vlen)
            memcpy(e->data + e->klen, ops[i].val, e->vlen);
        news[j++] = e;
    }
    if (t->refs > 1) {
        /* An iterator reads this table: write into a copy. */
        fresh = calloc(1, sizeof *fresh);
        if (!fresh || !(fresh->e = malloc((t->n + puts + 1) * sizeof *fresh->e))) {
            free(fresh);
            fresh = NULL;
            goto nomem;
        }
        fresh->refs = 1;
        fresh->n = t->n;
        fresh->alloc = t->n + puts + 1;
        for (size_t i = 0; i < t->n; i++) {
            fresh->e[i] = t->e[i];
            fresh->e[i]->refs++;
        }
        table_unref(t);
        db->t = t = fresh;
    } else if (t->n + puts > t->alloc) {
        size_t a = t->alloc ? t->alloc : 16;
        while (a < t->n + puts)
            a *= 2;
        struct mem_entry **e = realloc(t->e, a * sizeof *e);
        if (!e)
            goto nomem;
        t->e = e;
        t->alloc = a;
    }

    for (size_t i = 0, j = 0; i < n; i++) {
        bool found;
        size_t pos = lower_bound(t, ops[i].key, ops[i].klen, &found);
        if (ops[i].type == STORE_OP_PUT) {
            if (found) {
                entry_unref(t->e[pos]);
            } else {
                memmove(t->e + pos + 1, t->e + pos, (t->n - pos) * sizeof *t->e);
                t->n++;
            }
            t->e[pos] = news[j++];
        } else if (found) {
            entry_unref(t->e[pos]);
            memmove(t->e + pos, t->e + pos + 1, (t->n - pos - 1) * sizeof *t->e);
            t->n--;
        }
    }
    free(news);
    return FERRY_OK;

nomem:
    if (news)
        for (size_t j = 0; j < puts; j++)
            free(news[j]);
    free(news);
    return ferry_fail(FERRY_ENOMEM, "store: out of memory");
}

static enum ferry_err mem_iter_new(void *p, void **out)
{
    struct mem_db *db = p;
    struct mem_iter *it = malloc(sizeof *it);
    if (!it)
        return ferry_fail(FERRY_ENOMEM, "store: out of memory");
    it->t = db->t;
    it->t->refs++;
    it->pos = it->t->n;
    *out = it;
    return FERRY_OK;
}

static void mem_iter_seek(void *p, const uint8_t *key, size_t klen)
{
    struct mem_iter *it = p;
    it->pos = lower_bound(it->t, key, klen, NULL);
}

static bool mem_iter_valid(void *p)
{
    struct mem_iter *it = p;
    return it->pos < it->t->n;
}

static void mem_iter_next(void *p)
{
    struct mem_iter *it = p;
    if (it->pos < it->t->n)
        it->pos++;
}

static const uint8_t *mem_iter_key(void *p, size_t *klen)
{
    struct mem_iter *it = p;
    const struct mem_entry *e = it->t->e[it->pos];
    *klen = e->klen;
    return e->data;
}

static const uint8_t *mem_iter_value(void *p, size_t *vlen)
{
    struct mem_iter *it = p;
    const struct mem_entry *e = it->t->e[it->pos];
    *vlen = e->vlen;
    return e->data + e->klen;
}

static enum ferry_err mem_iter_status(void *p) { return FERRY_OK; }

static void mem_iter_free(void *p)
{
    struct mem_iter *it = p;
    table_unref(it->t);
    free(it);
}

const struct store_backend store_backend_mem = {
    .name = "mem",
    .open = mem_open,
    .close = mem_close,
    .get = mem_get,
    .write = mem_write,
    .iter_new = mem_iter_new,
    .iter_seek = mem_iter_seek,
    .iter_valid = mem_iter_valid,
    .iter_next = mem_iter_next,
    .iter_key = mem_iter_key,
    .iter_value = mem_iter_value,
    .iter_status = mem_iter_status,
    .iter_free = mem_iter_free,
};
