/* The store: every behaviour runs against both backends (the same test function, prestate
 * "leveldb" or "mem"); LevelDB alone gets reopen, schema version, locking, kill -9 and a real
 * write failure. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <leveldb/c.h>

#include "ferry/store.h"
#include "testutil.h"

/* ---- helpers ---- */

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            rm_rf(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

struct fx {
    const char *backend;
    char dir[64];
    char path[96]; /* the store's directory, made by store_open */
    struct store *st;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->backend = *state;
    snprintf(f->dir, sizeof f->dir, "/tmp/ferry-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/a/db", f->dir);
    if (store_open(&f->st, f->backend, f->path))
        fail_msg("store_open(%s): %s", f->backend, ferry_errmsg());
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->st);
    rm_rf(f->dir);
    free(f);
    return 0;
}

static const uint8_t *K(const char *s) { return (const uint8_t *)s; }

static void put_sync(struct store *st, const char *key, const char *val)
{
    struct store_batch *b;
    assert_int_equal(store_batch_begin(st, &b), FERRY_OK);
    store_put(b, K(key), strlen(key), val, strlen(val));
    if (store_commit_sync(b))
        fail_msg("commit: %s", ferry_errmsg());
}

/* Asserts key holds the string val, or is absent when val is NULL. */
static void expect(struct store *st, const char *key, const char *val)
{
    uint8_t *v;
    size_t n;
    enum ferry_err r = store_get(st, &v, &n, K(key), strlen(key));
    if (!val) {
        if (r != FERRY_ENOTFOUND)
            fail_msg("key %s: expected absent, got result %d", key, r);
        return;
    }
    if (r)
        fail_msg("key %s: %s", key, ferry_errmsg());
    if (n != strlen(val) || memcmp(v, val, n) != 0)
        fail_msg("key %s: expected '%s', got '%.*s'", key, val, (int)n, (const char *)v);
    free(v);
}

static uint64_t sync_writes(struct store *st)
{
    struct store_stats s;
    store_stats(st, &s);
    return s.sync_writes;
}

/* Collects a scan into an array of keys. */
struct seen {
    size_t n;
    struct store_key k[512];
    char v[512][32];
};

static enum ferry_err collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
                              size_t vlen)
{
    struct seen *s = arg;
    assert_true(s->n < 512);
    assert_true(klen <= STORE_KEY_MAX);
    memcpy(s->k[s->n].b, key, klen);
    s->k[s->n].len = klen;
    snprintf(s->v[s->n], sizeof s->v[0], "%.*s", (int)vlen, (const char *)val);
    s->n++;
    return FERRY_OK;
}

static enum ferry_err collect_fail(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
                                   size_t vlen)
{
    return ferry_fail(FERRY_EEXIST, "stop here");
}

/* ---- both backends ---- */

static void put_get_del(void **state)
{
    struct fx *f = *state;
    assert_string_equal(store_backend_name(f->st), f->backend);
    expect(f->st, "p1", NULL);
    assert_non_null(strstr(ferry_errmsg(), "no record under key 7031"));
    put_sync(f->st, "p1", "one");
    put_sync(f->st, "p2", "two");
    expect(f->st, "p1", "one");
    put_sync(f->st, "p1", "uno");
    expect(f->st, "p1", "uno");
    assert_int_equal(store_get(f->st, NULL, NULL, K("p2"), 2), FERRY_OK);

    /* An empty value exists and reads back empty, non-NULL. */
    put_sync(f->st, "p3", "");
    uint8_t *v = NULL;
    size_t n = 99;
    assert_int_equal(store_get(f->st, &v, &n, K("p3"), 2), FERRY_OK);
    assert_non_null(v);
    assert_int_equal(n, 0);
    free(v);

    struct store_batch *b;
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    store_del(b, K("p1"), 2);
    store_del(b, K("p9"), 2); /* deleting a missing key is fine */
    assert_int_equal(store_batch_count(b), 2);
    assert_int_equal(store_commit_sync(b), FERRY_OK);
    expect(f->st, "p1", NULL);
    expect(f->st, "p2", "two");

    /* Bad keys are refused with a reason. */
    assert_int_equal(store_get(f->st, &v, &n, K(""), 0), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "empty key"));
    uint8_t big[STORE_KEY_MAX + 1];
    memset(big, 'p', sizeof big);
    assert_int_equal(store_get(f->st, &v, &n, big, sizeof big), FERRY_ERANGE);
    assert_non_null(strstr(ferry_errmsg(), "exceeds"));
    assert_int_equal(store_get(f->st, NULL, NULL, big, STORE_KEY_MAX), FERRY_ENOTFOUND);
}

static void batch_all_or_nothing(void **state)
{
    struct fx *f = *state;
    put_sync(f->st, "a", "old");
    uint64_t w0 = sync_writes(f->st);

    /* Later operations on a key win, in the order they were added. */
    struct store_batch *b;
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    store_put(b, K("b"), 1, "1", 1);
    store_del(b, K("a"), 1);
    store_put(b, K("c"), 1, "1", 1);
    store_put(b, K("c"), 1, "2", 1);
    store_del(b, K("b"), 1);
    store_put(b, K("b"), 1, "3", 1);
    assert_int_equal(store_commit_sync(b), FERRY_OK);
    assert_int_equal(sync_writes(f->st), w0 + 1);
    expect(f->st, "a", NULL);
    expect(f->st, "b", "3");
    expect(f->st, "c", "2");

    /* A batch with one bad operation writes none of its good ones. */
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    store_put(b, K("d"), 1, "1", 1);
    store_del(b, K("b"), 1);
    store_put(b, K("e"), 1, NULL, STORE_VALUE_MAX + 1);
    store_put(b, K("f"), 1, "1", 1);
    assert_int_equal(store_commit_sync(b), FERRY_ERANGE);
    assert_non_null(strstr(ferry_errmsg(), "value of 16777217 bytes exceeds"));
    expect(f->st, "d", NULL);
    expect(f->st, "b", "3");
    expect(f->st, "f", NULL);
    assert_int_equal(sync_writes(f->st), w0 + 1);

    /* The same for a grouped batch: refused at once, never queued, no callback. */
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    store_put(b, K("d"), 1, "1", 1);
    store_put(b, K("v"), 1, "9", 1);
    assert_int_equal(store_commit_group(b, NULL, NULL), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "schema version key"));
    assert_int_equal(store_pending(f->st), 0);
    assert_int_equal(store_flush(f->st), FERRY_OK);
    expect(f->st, "d", NULL);

    /* An empty batch costs no write; a discarded one writes nothing. */
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    assert_int_equal(store_commit_sync(b), FERRY_OK);
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    store_put(b, K("g"), 1, "1", 1);
    store_batch_free(b);
    assert_int_equal(sync_writes(f->st), w0 + 1);
    expect(f->st, "g", NULL);
}

/* Bytewise order written out independently of the store: unsigned bytes, then shorter first. */
static int ref_cmp(const void *pa, const void *pb)
{
    const struct store_key *a = pa, *b = pb;
    for (size_t i = 0; i < a->len && i < b->len; i++)
        if (a->b[i] != b->b[i])
            return a->b[i] < b->b[i] ? -1 : 1;
    return (a->len > b->len) - (a->len < b->len);
}

static void iteration_order_is_bytewise(void **state)
{
    struct fx *f = *state;
    static const uint8_t alphabet[] = {0x00, 0x01, 'a', 0x7f, 0x80, 0xfe, 0xff};
    static struct store_key keys[300];
    size_t nk = 0;
    /* Random short keys over a small alphabet, so that equal prefixes and ties are common. */
    while (nk < 300) {
        struct store_batch *b;
        assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
        size_t inbatch = 1 + tu_rand() % 20;
        for (size_t j = 0; j < inbatch && nk < 300; j++, nk++) {
            store_key_begin(&keys[nk], STORE_KIND_EVENT);
            size_t len = tu_rand() % 6;
            for (size_t i = 0; i < len; i++)
                store_key_u8(&keys[nk], alphabet[tu_rand() % sizeof alphabet]);
            store_put(b, keys[nk].b, keys[nk].len, "x", 1);
        }
        if (tu_rand() & 1)
            assert_int_equal(store_commit_sync(b), FERRY_OK);
        else
            assert_int_equal(store_commit_group(b, NULL, NULL), FERRY_OK);
    }
    assert_int_equal(store_flush(f->st), FERRY_OK);
    /* Keys outside the prefix on both sides must not show. */
    put_sync(f->st, "d\xff", "out");
    put_sync(f->st, "f", "out");

    qsort(keys, nk, sizeof keys[0], ref_cmp);
    size_t uniq = 0;
    for (size_t i = 0; i < nk; i++)
        if (uniq == 0 || ref_cmp(&keys[uniq - 1], &keys[i]) != 0)
            keys[uniq++] = keys[i];

    static struct seen s;
    s.n = 0;
    uint8_t prefix = STORE_KIND_EVENT;
    bool more;
    assert_int_equal(store_scan(f->st, &more, &prefix, 1, NULL, 0, SIZE_MAX, collect, &s), FERRY_OK);
    assert_false(more);
    assert_int_equal(s.n, uniq);
    for (size_t i = 0; i < uniq; i++)
        if (ref_cmp(&s.k[i], &keys[i]) != 0)
            fail_msg("position %zu: keys out of bytewise order", i);

    /* Fixed cases a signed comparison or a length-first one would get wrong. */
    static const char *const want[] = {"q", "q\x00", "q\x00\x00", "q\x01", "qa", "qa\x00",
                                       "q\x7f", "q\x80", "q\xff", "q\xff\xff"};
    static const size_t wlen[] = {1, 2, 3, 2, 2, 3, 2, 2, 2, 3};
    struct store_batch *b;
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    for (size_t i = 10; i-- > 0;)
        store_put(b, K(want[i]), wlen[i], "y", 1);
    assert_int_equal(store_commit_sync(b), FERRY_OK);
    struct store_iter *it;
    assert_int_equal(store_iter_open(f->st, &it, K("q"), 1), FERRY_OK);
    size_t i = 0;
    for (; store_iter_valid(it); store_iter_next(it), i++) {
        size_t kl;
        const uint8_t *k = store_iter_key(it, &kl);
        assert_true(i < 10);
        assert_int_equal(kl, wlen[i]);
        assert_memory_equal(k, want[i], kl);
    }
    assert_int_equal(i, 10);
    assert_int_equal(store_iter_status(it), FERRY_OK);
    store_iter_free(it);
}

static void big_endian_keys_sort_numerically(void **state)
{
    struct fx *f = *state;
    static const uint64_t seqs[] = {0,        1,          255,        256,         65535,
                                    65536,    4294967295, 4294967296, 1ull << 56,  (1ull << 63) - 1,
                                    1ull << 63, UINT64_MAX};
    size_t n = sizeof seqs / sizeof seqs[0];
    /* Insert in a shuffled order, on chain 5 and on its neighbours. */
    size_t order[sizeof seqs / sizeof seqs[0]];
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = tu_rand() % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    struct store_batch *b;
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    for (size_t i = 0; i < n; i++) {
        struct store_key k;
        for (uint64_t chain = 4; chain <= 6; chain++) {
            store_key_u64_u64(&k, STORE_KIND_PACKET, chain, seqs[order[i]]);
            assert_int_equal(k.len, 17);
            store_put(b, k.b, k.len, &chain, sizeof chain);
        }
    }
    assert_int_equal(store_commit_sync(b), FERRY_OK);

    struct store_key pre;
    store_key_kind_u64(&pre, STORE_KIND_PACKET, 5);
    struct store_iter *it;
    assert_int_equal(store_iter_open(f->st, &it, pre.b, pre.len), FERRY_OK);
    size_t i = 0;
    for (; store_iter_valid(it); store_iter_next(it), i++) {
        size_t kl, vl;
        const uint8_t *k = store_iter_key(it, &kl);
        const uint8_t *v = store_iter_value(it, &vl);
        uint64_t chain, seq, vchain;
        assert_true(store_key_parse_u64_u64(k, kl, STORE_KIND_PACKET, &chain, &seq));
        assert_true(i < n);
        assert_true(chain == 5);
        assert_true(seq == seqs[i]);
        assert_int_equal(vl, 8);
        memcpy(&vchain, v, 8);
        assert_true(vchain == 5);
    }
    assert_int_equal(i, n);
    store_iter_free(it);

    /* The encoders are big-endian, whatever the host. */
    struct store_key k;
    store_key_begin(&k, STORE_KIND_CURSOR);
    store_key_u64(&k, 0x0102030405060708ull);
    store_key_u32(&k, 0x0a0b0c0du);
    store_key_u8(&k, 0xee);
    tu_assert_hex_equal(k.b, k.len, "630102030405060708" "0a0b0c0d" "ee");
    uint64_t a, c;
    assert_false(store_key_parse_u64_u64(k.b, k.len, STORE_KIND_CURSOR, &a, &c));
}

static void pagination(void **state)
{
    struct fx *f = *state;
    struct store_batch *b;
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    for (uint64_t chain = 6; chain <= 8; chain++)
        for (uint64_t seq = 0; seq < 100; seq++) {
            struct store_key k;
            char v[32];
            store_key_u64_u64(&k, STORE_KIND_PACKET, chain, seq);
            int vl = snprintf(v, sizeof v, "%llu/%llu", (unsigned long long)chain,
                              (unsigned long long)seq);
            store_put(b, k.b, k.len, v, (size_t)vl);
        }
    assert_int_equal(store_commit_sync(b), FERRY_OK);

    struct store_key pre;
    store_key_kind_u64(&pre, STORE_KIND_PACKET, 7);
    static struct seen s;
    s.n = 0;
    uint8_t after[STORE_KEY_MAX];
    size_t alen = 0;
    int pages = 0;
    bool more = true;
    while (more) {
        size_t before = s.n;
        assert_int_equal(store_scan(f->st, &more, pre.b, pre.len, pages ? after : NULL, alen, 7,
                                    collect, &s),
                         FERRY_OK);
        pages++;
        assert_true(s.n - before == 7 || !more);
        assert_true(s.n > before);
        alen = s.k[s.n - 1].len;
        memcpy(after, s.k[s.n - 1].b, alen);
    }
    assert_int_equal(pages, 15); /* 14 pages of 7 and one of 2 */
    assert_int_equal(s.n, 100);
    for (size_t i = 0; i < 100; i++) {
        char v[32];
        snprintf(v, sizeof v, "7/%zu", i);
        assert_string_equal(s.v[i], v);
    }

    /* A page that ends exactly at the last entry has nothing more. */
    struct store_key k;
    store_key_u64_u64(&k, STORE_KIND_PACKET, 7, 89);
    s.n = 0;
    assert_int_equal(store_scan(f->st, &more, pre.b, pre.len, k.b, k.len, 10, collect, &s), FERRY_OK);
    assert_int_equal(s.n, 10);
    assert_false(more);
    /* Start after a key that is not stored (between 49 and 50), after the prefix itself, or
     * before it: each gives the next stored key. */
    store_key_u64_u64(&k, STORE_KIND_PACKET, 7, 49);
    store_key_u8(&k, 0);
    s.n = 0;
    assert_int_equal(store_scan(f->st, &more, pre.b, pre.len, k.b, k.len, 1, collect, &s), FERRY_OK);
    assert_string_equal(s.v[0], "7/50");
    assert_true(more);
    s.n = 0;
    assert_int_equal(store_scan(f->st, &more, pre.b, pre.len, pre.b, pre.len, 1, collect, &s),
                     FERRY_OK);
    assert_string_equal(s.v[0], "7/0");
    s.n = 0;
    assert_int_equal(store_scan(f->st, &more, pre.b, pre.len, K("a"), 1, 1, collect, &s), FERRY_OK);
    assert_string_equal(s.v[0], "7/0");
    /* Limit 0 visits nothing but says there is more; a start past the end finds nothing. */
    s.n = 0;
    assert_int_equal(store_scan(f->st, &more, pre.b, pre.len, NULL, 0, 0, collect, &s), FERRY_OK);
    assert_int_equal(s.n, 0);
    assert_true(more);
    store_key_u64_u64(&k, STORE_KIND_PACKET, 7, UINT64_MAX);
    assert_int_equal(store_scan(f->st, &more, pre.b, pre.len, k.b, k.len, 5, collect, &s), FERRY_OK);
    assert_int_equal(s.n, 0);
    assert_false(more);

    /* The cursor API directly: seek lands on the first key >= the target. */
    struct store_iter *it;
    assert_int_equal(store_iter_open(f->st, &it, pre.b, pre.len), FERRY_OK);
    store_key_u64_u64(&k, STORE_KIND_PACKET, 7, 42);
    store_iter_seek(it, k.b, k.len);
    assert_true(store_iter_valid(it));
    size_t vl;
    const uint8_t *v = store_iter_value(it, &vl);
    assert_int_equal(vl, 4);
    assert_memory_equal(v, "7/42", 4);
    store_iter_seek_after(it, k.b, k.len);
    v = store_iter_value(it, &vl);
    assert_memory_equal(v, "7/43", 4);
    store_key_u64_u64(&k, STORE_KIND_PACKET, 8, 0); /* past the prefix */
    store_iter_seek(it, k.b, k.len);
    assert_false(store_iter_valid(it));
    store_iter_next(it); /* harmless when not valid */
    assert_false(store_iter_valid(it));
    store_iter_free(it);

    /* A callback's error stops the scan and comes back. */
    assert_int_equal(store_scan(f->st, &more, NULL, 0, NULL, 0, SIZE_MAX, collect_fail, NULL),
                     FERRY_EEXIST);
}

/* Lists the primary keys indexed under (idx, field) as "chain/seq" strings joined by spaces. */
static void index_list(struct store *st, enum store_index idx, const void *field, size_t flen,
                       char *out, size_t cap)
{
    struct store_key pre;
    store_key_index_prefix(&pre, idx, field, flen);
    struct store_iter *it;
    assert_int_equal(store_iter_open(st, &it, pre.b, pre.len), FERRY_OK);
    out[0] = '\0';
    for (; store_iter_valid(it); store_iter_next(it)) {
        size_t kl, pkl, vl;
        const uint8_t *k = store_iter_key(it, &kl), *pk;
        (void)store_iter_value(it, &vl);
        assert_int_equal(vl, 0);
        assert_true(store_index_pk(k, kl, idx, flen, &pk, &pkl));
        uint64_t chain, seq;
        assert_true(store_key_parse_u64_u64(pk, pkl, STORE_KIND_PACKET, &chain, &seq));
        size_t o = strlen(out);
        snprintf(out + o, cap - o, "%s%llu/%llu", o ? " " : "", (unsigned long long)chain,
                 (unsigned long long)seq);
    }
    store_iter_free(it);
}

/* One packet state change: the record and its index entry move in one batch. */
static void transition(struct store *st, uint64_t seq, const uint8_t *old_state, uint8_t new_state)
{
    struct store_key pk;
    store_key_u64_u64(&pk, STORE_KIND_PACKET, 1, seq);
    struct store_batch *b;
    assert_int_equal(store_batch_begin(st, &b), FERRY_OK);
    store_put(b, pk.b, pk.len, &new_state, 1);
    store_index_move(b, STORE_IDX_PACKET_STATE, old_state, old_state ? 1 : 0, &new_state, 1, pk.b,
                     pk.len);
    assert_int_equal(store_batch_count(b), old_state ? 3 : 2);
    assert_int_equal(store_commit_sync(b), FERRY_OK);
}

static void index_move(void **state)
{
    struct fx *f = *state;
    const uint8_t SENT = 1, DELIVERING = 2, DELIVERED = 3;
    char list[256];
    for (uint64_t seq = 1; seq <= 3; seq++)
        transition(f->st, seq, NULL, SENT);
    index_list(f->st, STORE_IDX_PACKET_STATE, &SENT, 1, list, sizeof list);
    assert_string_equal(list, "1/1 1/2 1/3");

    transition(f->st, 2, &SENT, DELIVERING);
    index_list(f->st, STORE_IDX_PACKET_STATE, &SENT, 1, list, sizeof list);
    assert_string_equal(list, "1/1 1/3");
    index_list(f->st, STORE_IDX_PACKET_STATE, &DELIVERING, 1, list, sizeof list);
    assert_string_equal(list, "1/2");
    transition(f->st, 2, &DELIVERING, DELIVERED);
    transition(f->st, 3, &SENT, DELIVERING);
    index_list(f->st, STORE_IDX_PACKET_STATE, &SENT, 1, list, sizeof list);
    assert_string_equal(list, "1/1");
    index_list(f->st, STORE_IDX_PACKET_STATE, &DELIVERING, 1, list, sizeof list);
    assert_string_equal(list, "1/3");
    index_list(f->st, STORE_IDX_PACKET_STATE, &DELIVERED, 1, list, sizeof list);
    assert_string_equal(list, "1/2");

    /* Another index with a wider field does not mix with this one. */
    struct store_batch *b;
    struct store_key pk;
    uint8_t dst[8];
    store_be64_put(dst, 77);
    store_key_u64_u64(&pk, STORE_KIND_PACKET, 1, 2);
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    store_index_put(b, STORE_IDX_PACKET_DST, dst, 8, pk.b, pk.len);
    /* Same field: nothing to do. Removal: delete only. */
    store_index_move(b, STORE_IDX_PACKET_STATE, &DELIVERED, 1, &DELIVERED, 1, pk.b, pk.len);
    assert_int_equal(store_batch_count(b), 1);
    store_key_u64_u64(&pk, STORE_KIND_PACKET, 1, 1);
    store_index_move(b, STORE_IDX_PACKET_STATE, &SENT, 1, NULL, 0, pk.b, pk.len);
    assert_int_equal(store_batch_count(b), 2);
    assert_int_equal(store_commit_sync(b), FERRY_OK);
    index_list(f->st, STORE_IDX_PACKET_STATE, &SENT, 1, list, sizeof list);
    assert_string_equal(list, "");
    index_list(f->st, STORE_IDX_PACKET_DST, dst, 8, list, sizeof list);
    assert_string_equal(list, "1/2");
    struct store_key k;
    store_key_index(&k, STORE_IDX_PACKET_DST, dst, 8, pk.b, pk.len);
    const uint8_t *p;
    size_t pl;
    assert_false(store_index_pk(k.b, k.len, STORE_IDX_PACKET_STATE, 8, &p, &pl));
    assert_false(store_index_pk(k.b, 10, STORE_IDX_PACKET_DST, 8, &p, &pl)); /* no primary key */
    assert_true(store_index_pk(k.b, k.len, STORE_IDX_PACKET_DST, 8, &p, &pl));
    assert_int_equal(pl, 17);
    assert_memory_equal(p, pk.b, 17);
}

static void iterator_is_a_snapshot(void **state)
{
    struct fx *f = *state;
    put_sync(f->st, "e1", "a");
    put_sync(f->st, "e3", "c");
    struct store_iter *it, *it2;
    assert_int_equal(store_iter_open(f->st, &it, K("e"), 1), FERRY_OK);
    /* Changes after the iterator opened: a new key, a deleted one, a changed value. */
    struct store_batch *b;
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    store_put(b, K("e2"), 2, "b", 1);
    store_del(b, K("e3"), 2);
    store_put(b, K("e1"), 2, "A", 1);
    assert_int_equal(store_commit_sync(b), FERRY_OK);
    assert_int_equal(store_iter_open(f->st, &it2, K("e"), 1), FERRY_OK);
    put_sync(f->st, "e0", "z");

    const char *want1[] = {"e1=a", "e3=c"}, *want2[] = {"e1=A", "e2=b"};
    struct store_iter *its[2] = {it, it2};
    const char **wants[2] = {want1, want2};
    for (int w = 0; w < 2; w++) {
        int i = 0;
        for (; store_iter_valid(its[w]); store_iter_next(its[w]), i++) {
            size_t kl, vl;
            const uint8_t *k = store_iter_key(its[w], &kl), *v = store_iter_value(its[w], &vl);
            char got[16];
            snprintf(got, sizeof got, "%.*s=%.*s", (int)kl, (const char *)k, (int)vl,
                     (const char *)v);
            assert_true(i < 2);
            assert_string_equal(got, wants[w][i]);
        }
        assert_int_equal(i, 2);
        store_iter_free(its[w]);
    }
    expect(f->st, "e0", "z");
    expect(f->st, "e3", NULL);
}

struct cb_log {
    struct store *st;
    int n;
    int order[64];
    enum ferry_err result[64];
    char msg[64][160];
    bool visible[64]; /* the batch's own key was readable when its callback ran */
    bool requeue;     /* the first callback queues one more batch */
};

struct cb_arg {
    struct cb_log *log;
    int id;
};

static void on_done(void *arg, enum ferry_err result)
{
    struct cb_arg *a = arg;
    struct cb_log *l = a->log;
    assert_true(l->n < 64);
    l->order[l->n] = a->id;
    l->result[l->n] = result;
    snprintf(l->msg[l->n], sizeof l->msg[0], "%s", ferry_errmsg());
    char key[24];
    snprintf(key, sizeof key, "g%02d", a->id);
    l->visible[l->n] = store_get(l->st, NULL, NULL, K(key), strlen(key)) == FERRY_OK;
    /* A callback may overwrite the message; the next callback must still get its own. */
    (void)ferry_fail(FERRY_EINVAL, "scribbled by a callback");
    l->n++;
    if (l->requeue) {
        l->requeue = false;
        static struct cb_arg extra;
        extra = (struct cb_arg){l, 63};
        struct store_batch *b;
        assert_int_equal(store_batch_begin(l->st, &b), FERRY_OK);
        store_put(b, K("g63"), 3, "late", 4);
        assert_int_equal(store_commit_group(b, on_done, &extra), FERRY_OK);
    }
}

static void queue_batches(struct store *st, struct cb_arg *args, struct cb_log *log, int from,
                          int n)
{
    for (int i = from; i < from + n; i++) {
        args[i] = (struct cb_arg){log, i};
        char key[24], val[24];
        snprintf(key, sizeof key, "g%02d", i);
        snprintf(val, sizeof val, "v%d", i);
        struct store_batch *b;
        assert_int_equal(store_batch_begin(st, &b), FERRY_OK);
        store_put(b, K(key), strlen(key), val, strlen(val));
        store_index_move(b, STORE_IDX_PACKET_STATE, NULL, 0, "\x01", 1, K(key), strlen(key));
        assert_int_equal(store_commit_group(b, on_done, &args[i]), FERRY_OK);
    }
}

static void group_commit_is_one_write(void **state)
{
    struct fx *f = *state;
    static struct cb_log log;
    static struct cb_arg args[64];
    memset(&log, 0, sizeof log);
    log.st = f->st;
    struct store_stats s0, s1;
    store_stats(f->st, &s0);
    queue_batches(f->st, args, &log, 0, 20);
    /* Queued is not written: nothing visible, no callback, no write yet. */
    assert_int_equal(store_pending(f->st), 20);
    expect(f->st, "g00", NULL);
    assert_int_equal(log.n, 0);
    assert_int_equal(sync_writes(f->st), s0.sync_writes);

    assert_int_equal(store_flush(f->st), FERRY_OK);
    store_stats(f->st, &s1);
    assert_int_equal(s1.sync_writes, s0.sync_writes + 1); /* 20 batches, one write */
    assert_int_equal(s1.batches, s0.batches + 20);
    assert_int_equal(s1.ops, s0.ops + 40);
    assert_int_equal(store_pending(f->st), 0);
    assert_int_equal(log.n, 20);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(log.order[i], i); /* in commit order */
        assert_int_equal(log.result[i], FERRY_OK);
        assert_true(log.visible[i]); /* durable and readable before the callback */
    }
    expect(f->st, "g07", "v7");

    /* A flush with nothing queued writes nothing. */
    assert_int_equal(store_flush(f->st), FERRY_OK);
    assert_int_equal(sync_writes(f->st), s1.sync_writes);

    /* A batch queued from a callback is written within the same flush (a second write). */
    log.n = 0;
    log.requeue = true;
    queue_batches(f->st, args, &log, 20, 3);
    assert_int_equal(store_flush(f->st), FERRY_OK);
    assert_int_equal(sync_writes(f->st), s1.sync_writes + 2);
    assert_int_equal(log.n, 4);
    assert_int_equal(log.order[3], 63);
    assert_true(log.visible[3]);
    assert_int_equal(store_pending(f->st), 0);
}

static void sync_commit_keeps_commit_order(void **state)
{
    struct fx *f = *state;
    static struct cb_log log;
    static struct cb_arg args[64];
    memset(&log, 0, sizeof log);
    log.st = f->st;
    uint64_t w0 = sync_writes(f->st);
    queue_batches(f->st, args, &log, 0, 2); /* g00=v0, g01=v1 */
    struct store_batch *b;
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    store_put(b, K("g01"), 3, "sync", 4); /* committed after g01=v1, so it must win */
    assert_int_equal(store_commit_sync(b), FERRY_OK);
    assert_int_equal(sync_writes(f->st), w0 + 1); /* the queue rode along in the same write */
    expect(f->st, "g00", "v0");
    expect(f->st, "g01", "sync");
    /* The queued batches are durable, but their callbacks wait for the end of the turn. */
    assert_int_equal(log.n, 0);
    assert_int_equal(store_pending(f->st), 2);
    assert_int_equal(store_flush(f->st), FERRY_OK);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.result[0], FERRY_OK);
    assert_int_equal(log.result[1], FERRY_OK);
    assert_int_equal(sync_writes(f->st), w0 + 1);
}

static void failed_group_write_fails_every_batch(void **state)
{
    struct fx *f = *state;
    static struct cb_log log;
    static struct cb_arg args[64];
    memset(&log, 0, sizeof log);
    log.st = f->st;
    put_sync(f->st, "keep", "1");
    queue_batches(f->st, args, &log, 0, 5);
    store_fail_next_write(f->st, FERRY_EIO);
    assert_int_equal(store_flush(f->st), FERRY_EIO);
    assert_int_equal(log.n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(log.result[i], FERRY_EIO);
        assert_non_null(strstr(log.msg[i], "injected write failure"));
        assert_false(log.visible[i]);
    }
    struct store_stats s;
    store_stats(f->st, &s);
    assert_int_equal(s.failed_writes, 1);

    /* Nothing of the failed write is visible; reads still work; writes are refused. */
    for (int i = 0; i < 5; i++) {
        char key[24];
        snprintf(key, sizeof key, "g%02d", i);
        expect(f->st, key, NULL);
    }
    expect(f->st, "keep", "1");
    struct store_batch *b;
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    store_put(b, K("later"), 5, "x", 1);
    assert_int_equal(store_commit_sync(b), FERRY_EIO);
    assert_non_null(strstr(ferry_errmsg(), "refusing writes after a failed write"));
    assert_non_null(strstr(ferry_errmsg(), "restart ferry"));
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    store_put(b, K("later"), 5, "x", 1);
    assert_int_equal(store_commit_group(b, on_done, &args[9]), FERRY_EIO);
    assert_int_equal(store_pending(f->st), 0);
    assert_int_equal(log.n, 5);
    expect(f->st, "later", NULL);
}

static void key_builders_refuse_overflow(void **state)
{
    struct fx *f = *state;
    struct store_key k;
    uint8_t blob[STORE_KEY_MAX];
    memset(blob, 0xab, sizeof blob);
    store_key_begin(&k, STORE_KIND_META);
    store_key_bytes(&k, blob, STORE_KEY_MAX - 1);
    assert_int_equal(k.len, STORE_KEY_MAX);
    assert_false(k.overflow);
    store_key_u8(&k, 1); /* one byte too many */
    assert_true(k.overflow);
    assert_int_equal(k.len, 0);
    store_key_u64(&k, 1); /* stays overflowed */
    assert_int_equal(k.len, 0);

    struct store_batch *b;
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    store_put(b, K("m1"), 2, "ok", 2);
    store_put(b, k.b, k.len, "x", 1);
    assert_int_equal(store_commit_sync(b), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "overflow"));
    expect(f->st, "m1", NULL);

    /* An index entry whose primary key does not fit is refused the same way. */
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    store_index_put(b, STORE_IDX_INTENT_OWNER, blob, 32, blob, STORE_KEY_MAX);
    assert_int_equal(store_commit_sync(b), FERRY_EINVAL);
}

/* A sync commit that fails takes the batches queued before it down with it. */
static void failed_sync_commit_fails_queued(void **state)
{
    struct fx *f = *state;
    static struct cb_log log;
    static struct cb_arg args[64];
    memset(&log, 0, sizeof log);
    log.st = f->st;
    queue_batches(f->st, args, &log, 0, 3);
    store_fail_next_write(f->st, FERRY_EIO);
    struct store_batch *b;
    assert_int_equal(store_batch_begin(f->st, &b), FERRY_OK);
    store_put(b, K("s"), 1, "x", 1);
    assert_int_equal(store_commit_sync(b), FERRY_EIO);
    assert_int_equal(store_pending(f->st), 3);
    assert_int_equal(store_flush(f->st), FERRY_OK); /* nothing left to write */
    assert_int_equal(log.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(log.result[i], FERRY_EIO);
    expect(f->st, "s", NULL);
    expect(f->st, "g00", NULL);
}

/* ---- LevelDB only ---- */

static void reopen_keeps_data(void **state)
{
    struct fx *f = *state;
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0); /* parents made too */
    assert_true(S_ISDIR(sb.st_mode));
    put_sync(f->st, "p1", "one");
    static struct cb_log log;
    static struct cb_arg args[64];
    memset(&log, 0, sizeof log);
    log.st = f->st;
    queue_batches(f->st, args, &log, 0, 3);
    /* Closing flushes what is queued: the callbacks run, the data is on disk. */
    assert_int_equal(store_close(f->st), FERRY_OK);
    f->st = NULL;
    assert_int_equal(log.n, 3);
    assert_int_equal(log.result[2], FERRY_OK);

    assert_int_equal(store_open(&f->st, "leveldb", f->path), FERRY_OK);
    assert_int_equal(sync_writes(f->st), 0); /* an existing store: no version write */
    expect(f->st, "p1", "one");
    expect(f->st, "g02", "v2");
    put_sync(f->st, "p1", "two");
    assert_int_equal(store_close(f->st), FERRY_OK);
    assert_int_equal(store_open(&f->st, "leveldb", f->path), FERRY_OK);
    expect(f->st, "p1", "two");
}

/* Writes key = value straight through LevelDB, bypassing the store. */
static void raw_put(const char *path, const char *key, size_t klen, const void *val, size_t vlen)
{
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_create_if_missing(o, 1);
    char *err = NULL;
    leveldb_t *db = leveldb_open(o, path, &err);
    if (err)
        fail_msg("raw open: %s", err);
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    if (val)
        leveldb_put(db, wo, key, klen, val, vlen, &err);
    else
        leveldb_delete(db, wo, key, klen, &err);
    assert_null(err);
    leveldb_writeoptions_destroy(wo);
    leveldb_close(db);
    leveldb_options_destroy(o);
}

static void schema_version_checked(void **state)
{
    struct fx *f = *state;
    put_sync(f->st, "p1", "one");
    store_close(f->st);
    f->st = NULL;

    struct store *st;
    uint8_t v[4];
    store_be32_put(v, STORE_SCHEMA_VERSION + 1);
    raw_put(f->path, "v", 1, v, 4);
    assert_int_equal(store_open(&st, "leveldb", f->path), FERRY_EUNSUPPORTED);
    assert_null(st);
    char want[256];
    snprintf(want, sizeof want, "%s has schema version %u but this ferry uses version %u",
             f->path, STORE_SCHEMA_VERSION + 1, STORE_SCHEMA_VERSION);
    if (!strstr(ferry_errmsg(), want))
        fail_msg("message: %s", ferry_errmsg());
    assert_non_null(strstr(ferry_errmsg(), "move the directory away"));

    raw_put(f->path, "v", 1, "\x00\x00\x01", 3);
    assert_int_equal(store_open(&st, "leveldb", f->path), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "is 3 bytes, expected 4"));

    /* Data without a version is somebody else's database: refused, and left as it was. */
    raw_put(f->path, "v", 1, NULL, 0);
    assert_int_equal(store_open(&st, "leveldb", f->path), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "holds data but no schema version"));

    /* Put right, it opens (so a refused open released its locks) with the data intact. */
    store_be32_put(v, STORE_SCHEMA_VERSION);
    raw_put(f->path, "v", 1, v, 4);
    assert_int_equal(store_open(&f->st, "leveldb", f->path), FERRY_OK);
    expect(f->st, "p1", "one");
    uint8_t *got;
    size_t n;
    assert_int_equal(store_get(f->st, &got, &n, K("v"), 1), FERRY_OK);
    tu_assert_hex_equal(got, n, "00000001");
    free(got);
}

static void open_errors(void **state)
{
    struct store *st = (struct store *)1;
    assert_int_equal(store_open(&st, "rocksdb", "/tmp/x"), FERRY_EINVAL);
    assert_null(st);
    assert_non_null(strstr(ferry_errmsg(), "unknown backend 'rocksdb' (known: leveldb, mem)"));
    assert_int_equal(store_open(&st, "leveldb", NULL), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "needs a directory"));
    char dir[] = "/tmp/ferry-store-XXXXXX", file[64];
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/file", dir);
    int fd = open(file, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(store_open(&st, "leveldb", file), FERRY_EIO);
    assert_non_null(strstr(ferry_errmsg(), "is not a directory"));
    char under[96];
    snprintf(under, sizeof under, "%s/sub", file);
    assert_int_equal(store_open(&st, "leveldb", under), FERRY_EIO);
    assert_non_null(strstr(ferry_errmsg(), "cannot create directory"));
    rm_rf(dir);
    /* The memory backend needs no path. */
    assert_int_equal(store_open(&st, "mem", NULL), FERRY_OK);
    store_close(st);
}

/* ---- child processes: re-executed, so that LevelDB's threads start fresh in them ---- */

struct child {
    pid_t pid;
    int to, from; /* pipe ends in the parent */
};

static void spawn(struct child *c, const char *mode, const char *path, uint64_t seed)
{
    int down[2], up[2];
    assert_int_equal(pipe(down), 0);
    assert_int_equal(pipe(up), 0);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        char in[16], out[16], sd[32];
        close(down[1]);
        close(up[0]);
        snprintf(in, sizeof in, "%d", down[0]);
        snprintf(out, sizeof out, "%d", up[1]);
        snprintf(sd, sizeof sd, "%llu", (unsigned long long)seed);
        execl("/proc/self/exe", "test_store", mode, path, sd, in, out, (char *)NULL);
        _exit(127);
    }
    close(down[0]);
    close(up[1]);
    c->to = down[1];
    c->from = up[0];
}

/* Reads exactly n bytes from the child; false on end of file. Fails the test after 30 s. */
static bool read_child(struct child *c, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd pfd = {.fd = c->from, .events = POLLIN};
        if (poll(&pfd, 1, 30000) != 1)
            fail_msg("child %d: no answer in 30 s", (int)c->pid);
        ssize_t r = read(c->from, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

static int reap(struct child *c)
{
    int status;
    close(c->to);
    close(c->from);
    assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
    return status;
}

static void lock_refuses_second_open(void **state)
{
    struct fx *f = *state;
    struct store *st;
    /* In the same process. */
    assert_int_equal(store_open(&st, "leveldb", f->path), FERRY_ESTATE);
    assert_null(st);
    assert_non_null(strstr(ferry_errmsg(), "is already open in this process"));
    expect(f->st, "p1", NULL); /* the first one is unharmed */
    put_sync(f->st, "p1", "one");
    store_close(f->st);
    f->st = NULL;

    /* In another process. */
    struct child c;
    spawn(&c, "--child-hold", f->path, 0);
    char ready;
    assert_true(read_child(&c, &ready, 1));
    assert_int_equal(store_open(&st, "leveldb", f->path), FERRY_ESTATE);
    char want[160];
    snprintf(want, sizeof want, "%s is in use by another ferry process (pid %d)", f->path,
             (int)c.pid);
    if (!strstr(ferry_errmsg(), want))
        fail_msg("message: %s", ferry_errmsg());
    int status = reap(&c); /* closing the pipe tells the child to let go */
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(store_open(&f->st, "leveldb", f->path), FERRY_OK);
    expect(f->st, "p1", "one");
    expect(f->st, "held", "yes");
}

/* The records of crash-test batch i; all four exist or none does. */
#define CRASH_OPS 4

static void crash_batch(struct store_batch *b, uint64_t i, uint64_t rnd)
{
    struct store_key pk, ev, cur;
    store_key_u64_u64(&pk, STORE_KIND_PACKET, 0, i);
    store_key_kind_u64(&ev, STORE_KIND_EVENT, i);
    store_key_kind_u64(&cur, STORE_KIND_CURSOR, 0);
    static uint8_t val[4096];
    size_t vlen = 16 + rnd % 3000;
    memset(val, (int)(i & 0xff), vlen);
    store_be64_put(val, i);
    store_put(b, pk.b, pk.len, val, vlen);
    uint8_t state = (uint8_t)(i % 3);
    store_index_put(b, STORE_IDX_PACKET_STATE, &state, 1, pk.b, pk.len);
    store_put(b, ev.b, ev.len, "ev", 2);
    uint8_t c[8];
    store_be64_put(c, i);
    store_put(b, cur.b, cur.len, c, 8);
}

static int report_fd;

static void crash_report(void *arg, enum ferry_err result)
{
    uint64_t i = (uint64_t)(uintptr_t)arg;
    if (result)
        _exit(4);
    if (write(report_fd, &i, sizeof i) != sizeof i)
        _exit(5);
}

/* Commits batches forever (sync or grouped, at random) and reports each once it is durable. */
static int child_crash(const char *path, uint64_t seed)
{
    struct store *st;
    if (store_open(&st, "leveldb", path)) {
        fprintf(stderr, "child: %s\n", ferry_errmsg());
        return 2;
    }
    struct store_key cur;
    store_key_kind_u64(&cur, STORE_KIND_CURSOR, 0);
    uint8_t *v;
    size_t n;
    uint64_t next = 0;
    if (store_get(st, &v, &n, cur.b, cur.len) == FERRY_OK) {
        next = store_be64_get(v) + 1;
        free(v);
    }
    uint64_t x = seed | 1;
    for (;;) {
        x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
        uint64_t r = x * 2685821657736338717ull;
        if (r & 1) {
            struct store_batch *b;
            if (store_batch_begin(st, &b))
                return 3;
            crash_batch(b, next, r >> 8);
            if (store_commit_sync(b))
                return 3;
            crash_report((void *)(uintptr_t)next, FERRY_OK);
            next++;
        } else {
            uint64_t g = 1 + (r >> 8) % 16;
            for (uint64_t j = 0; j < g; j++, next++) {
                struct store_batch *b;
                if (store_batch_begin(st, &b))
                    return 3;
                crash_batch(b, next, r >> (j % 32));
                if (store_commit_group(b, crash_report, (void *)(uintptr_t)next))
                    return 3;
            }
            if (store_flush(st))
                return 3;
        }
    }
}

static uint64_t count_prefix(struct store *st, const uint8_t *prefix, size_t plen)
{
    struct store_iter *it;
    assert_int_equal(store_iter_open(st, &it, prefix, plen), FERRY_OK);
    uint64_t n = 0;
    for (; store_iter_valid(it); store_iter_next(it))
        n++;
    assert_int_equal(store_iter_status(it), FERRY_OK);
    store_iter_free(it);
    return n;
}

/* Checks the crash-test records: batches 0..M all there and whole, nothing of any other.
 * Returns M + 1. */
static uint64_t crash_verify(struct store *st)
{
    struct store_key pre;
    store_key_kind_u64(&pre, STORE_KIND_PACKET, 0);
    struct store_iter *it;
    assert_int_equal(store_iter_open(st, &it, pre.b, pre.len), FERRY_OK);
    uint64_t count = 0;
    for (; store_iter_valid(it); store_iter_next(it), count++) {
        size_t kl, vl;
        const uint8_t *k = store_iter_key(it, &kl), *v = store_iter_value(it, &vl);
        uint64_t chain, seq;
        assert_true(store_key_parse_u64_u64(k, kl, STORE_KIND_PACKET, &chain, &seq));
        if (seq != count)
            fail_msg("packet records are not contiguous: %llu where %llu was expected",
                     (unsigned long long)seq, (unsigned long long)count);
        assert_true(vl >= 16 && vl < 16 + 3000);
        assert_true(store_be64_get(v) == seq);
        for (size_t i = 8; i < vl; i++)
            if (v[i] != (uint8_t)(seq & 0xff))
                fail_msg("packet %llu: value damaged at byte %zu", (unsigned long long)seq, i);
        uint8_t state = (uint8_t)(seq % 3);
        struct store_key ik;
        store_key_index(&ik, STORE_IDX_PACKET_STATE, &state, 1, k, kl);
        if (store_get(st, NULL, NULL, ik.b, ik.len))
            fail_msg("packet %llu without its index entry", (unsigned long long)seq);
        struct store_key ek;
        store_key_kind_u64(&ek, STORE_KIND_EVENT, seq);
        if (store_get(st, NULL, NULL, ek.b, ek.len))
            fail_msg("packet %llu without its event", (unsigned long long)seq);
    }
    assert_int_equal(store_iter_status(it), FERRY_OK);
    store_iter_free(it);
    /* Nothing from a batch that did not make it whole. */
    uint8_t ipre[2] = {STORE_KIND_INDEX, STORE_IDX_PACKET_STATE}, epre = STORE_KIND_EVENT;
    assert_int_equal(count_prefix(st, ipre, 2), count);
    assert_int_equal(count_prefix(st, &epre, 1), count);
    struct store_key cur;
    store_key_kind_u64(&cur, STORE_KIND_CURSOR, 0);
    uint8_t *v;
    size_t n;
    enum ferry_err r = store_get(st, &v, &n, cur.b, cur.len);
    if (count == 0) {
        assert_int_equal(r, FERRY_ENOTFOUND);
    } else {
        assert_int_equal(r, FERRY_OK);
        assert_true(store_be64_get(v) == count - 1);
        free(v);
    }
    return count;
}

static void kill9_loses_nothing(void **state)
{
    struct fx *f = *state;
    store_close(f->st);
    f->st = NULL;
    uint64_t max_reported = 0, reports_total = 0;
    for (int round = 0; round < 4; round++) {
        struct child c;
        spawn(&c, "--child-crash", f->path, tu_rand());
        uint64_t target = 1 + tu_rand() % 300, got = 0, i;
        while (got < target && read_child(&c, &i, sizeof i)) {
            got++;
            max_reported = i > max_reported ? i : max_reported;
        }
        if (got < target)
            fail_msg("round %d: the child stopped after %llu reports", round,
                     (unsigned long long)got);
        /* Somewhere in the middle of a write, or between two. */
        usleep((useconds_t)(tu_rand() % 3000));
        kill(c.pid, SIGKILL);
        /* What it reported before dying was durable too. */
        while (read_child(&c, &i, sizeof i)) {
            got++;
            max_reported = i > max_reported ? i : max_reported;
        }
        int status = reap(&c);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            fail_msg("round %d: the child ended with status %d before the kill", round, status);
        reports_total += got;

        assert_int_equal(store_open(&f->st, "leveldb", f->path), FERRY_OK);
        uint64_t have = crash_verify(f->st);
        if (have <= max_reported)
            fail_msg("round %d: batch %llu was reported durable but only %llu batches survived",
                     round, (unsigned long long)max_reported, (unsigned long long)have);
        store_close(f->st);
        f->st = NULL;
        print_message("# round %d: %llu reports, %llu batches on disk\n", round,
                      (unsigned long long)got, (unsigned long long)have);
    }
    assert_true(reports_total >= 4);
}

/* Fills the disk (a file size limit) in the middle of a group commit. */
static int child_fsize(const char *path, int out)
{
    struct store *st;
    if (store_open(&st, "leveldb", path))
        return 2;
    put_sync(st, "before", "1");
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl))
        return 2;
    rl.rlim_cur = 65536;
    if (setrlimit(RLIMIT_FSIZE, &rl))
        return 2;
    signal(SIGXFSZ, SIG_IGN);
    static struct cb_log log;
    static struct cb_arg args[64];
    log.st = st;
    static uint8_t big[65536];
    for (int i = 0; i < 8; i++) {
        args[i] = (struct cb_arg){&log, i};
        char key[24];
        snprintf(key, sizeof key, "big%d", i);
        struct store_batch *b;
        if (store_batch_begin(st, &b))
            return 2;
        store_put(b, K(key), strlen(key), big, sizeof big);
        if (store_commit_group(b, on_done, &args[i]))
            return 2;
    }
    enum ferry_err r = store_flush(st);
    dprintf(out, "flush=%d msg=%s\n", r, ferry_errmsg());
    int bad = 0;
    for (int i = 0; i < log.n; i++)
        bad += log.result[i] == FERRY_EIO;
    dprintf(out, "callbacks=%d failed=%d\n", log.n, bad);
    struct store_batch *b;
    if (store_batch_begin(st, &b))
        return 2;
    store_put(b, K("after"), 5, "1", 1);
    r = store_commit_sync(b);
    dprintf(out, "after=%d msg=%s\n", r, ferry_errmsg());
    store_close(st);
    return 0;
}

static void write_failure_is_reported_whole(void **state)
{
    struct fx *f = *state;
    store_close(f->st);
    f->st = NULL;
    struct child c;
    spawn(&c, "--child-fsize", f->path, 0);
    char out[4096];
    size_t n = 0;
    char ch;
    while (n + 1 < sizeof out && read_child(&c, &ch, 1))
        out[n++] = ch;
    out[n] = '\0';
    int status = reap(&c);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child status %d, said: %s", status, out);
    print_message("# %s", out);
    char want[64];
    snprintf(want, sizeof want, "flush=%d msg=store: synchronous write failed: ", FERRY_EIO);
    if (!strstr(out, want) || !strstr(out, "File too large"))
        fail_msg("expected LevelDB's error text, got: %s", out);
    assert_non_null(strstr(out, "callbacks=8 failed=8"));
    snprintf(want, sizeof want, "after=%d msg=store: refusing writes", FERRY_EIO);
    assert_non_null(strstr(out, want));

    /* Reopened: the batch before is there, nothing of the failed write or after it. */
    assert_int_equal(store_open(&f->st, "leveldb", f->path), FERRY_OK);
    expect(f->st, "before", "1");
    for (int i = 0; i < 8; i++) {
        char key[24];
        snprintf(key, sizeof key, "big%d", i);
        expect(f->st, key, NULL);
    }
    expect(f->st, "after", NULL);
    put_sync(f->st, "again", "1");
    expect(f->st, "again", "1");
}

static int child_main(int argc, char **argv)
{
    if (argc != 6)
        return 64;
    alarm(60); /* never outlive a stuck parent */
    const char *mode = argv[1], *path = argv[2];
    uint64_t seed = strtoull(argv[3], NULL, 10);
    int in = atoi(argv[4]), out = atoi(argv[5]);
    if (strcmp(mode, "--child-crash") == 0) {
        report_fd = out;
        return child_crash(path, seed);
    }
    if (strcmp(mode, "--child-fsize") == 0)
        return child_fsize(path, out);
    if (strcmp(mode, "--child-hold") == 0) {
        struct store *st;
        if (store_open(&st, "leveldb", path))
            return 2;
        put_sync(st, "held", "yes");
        if (write(out, "r", 1) != 1)
            return 2;
        char c;
        while (read(in, &c, 1) > 0) {
        }
        store_close(st);
        return 0;
    }
    return 64;
}

#define BOTH(fn)                                                                                 \
    {#fn "/leveldb", fn, fx_setup, fx_teardown, (void *)"leveldb"},                              \
    {                                                                                            \
        #fn "/mem", fn, fx_setup, fx_teardown, (void *)"mem"                                     \
    }
#define LEVELDB(fn) {#fn, fn, fx_setup, fx_teardown, (void *)"leveldb"}

int main(int argc, char **argv)
{
    if (argc > 1 && strncmp(argv[1], "--child-", 8) == 0)
        return child_main(argc, argv);
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        BOTH(put_get_del),
        BOTH(batch_all_or_nothing),
        BOTH(iteration_order_is_bytewise),
        BOTH(big_endian_keys_sort_numerically),
        BOTH(pagination),
        BOTH(index_move),
        BOTH(iterator_is_a_snapshot),
        BOTH(group_commit_is_one_write),
        BOTH(sync_commit_keeps_commit_order),
        BOTH(failed_group_write_fails_every_batch),
        BOTH(failed_sync_commit_fails_queued),
        BOTH(key_builders_refuse_overflow),
        cmocka_unit_test(open_errors),
        LEVELDB(reopen_keeps_data),
        LEVELDB(schema_version_checked),
        LEVELDB(lock_refuses_second_open),
        LEVELDB(kill9_loses_nothing),
        LEVELDB(write_failure_is_reported_whole),
    };
    return TU_RUN(tests);
}
