/* The LevelDB backend: the only code in Ferry that includes leveldb/c.h. */
#include "ferry/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <leveldb/c.h>

/* Our own lock beside LevelDB's LOCK: flock() tells "busy" apart from every other error
 * without parsing LevelDB's message, and the file names the pid that holds it. */
#define LOCK_NAME "ferry.lock"

struct ldb {
    leveldb_t *db;
    leveldb_options_t *opt;
    leveldb_filterpolicy_t *filter;
    leveldb_cache_t *cache;
    leveldb_readoptions_t *ro;
    leveldb_writeoptions_t *wo;
    leveldb_writebatch_t *wb;
    int lockfd;
};

/* Moves LevelDB's malloc'd error text into the Ferry message and frees it. */
static enum ferry_err ldb_fail(enum ferry_err code, char *err, const char *what)
{
    enum ferry_err r = ferry_fail(code, "store: %s: %s", what, err ? err : "unknown LevelDB error");
    leveldb_free(err);
    return r;
}

/* mkdir -p: LevelDB creates only the last component. */
static enum ferry_err make_dirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return ferry_fail(FERRY_EINVAL, "store: path of %zu characters is not usable", n);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char c = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return ferry_fail(FERRY_EIO, "store: cannot create directory %s: %s", tmp,
                              strerror(errno));
        tmp[i] = c;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ferry_fail(FERRY_EIO, "store: %s is not a directory", path);
    return FERRY_OK;
}

static enum ferry_err take_lock(int *fdout, const char *path)
{
    char lp[4200];
    snprintf(lp, sizeof lp, "%s/%s", path, LOCK_NAME);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return ferry_fail(FERRY_EIO, "store: cannot open %s: %s", lp, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t got = pread(fd, pid, sizeof pid - 1, 0);
        close(fd);
        if (e != EWOULDBLOCK)
            return ferry_fail(FERRY_EIO, "store: cannot lock %s: %s", lp, strerror(e));
        pid[got > 0 ? got : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (pid[0] && strtol(pid, NULL, 10) == (long)getpid())
            return ferry_fail(FERRY_ESTATE, "store: %s is already open in this process", path);
        return ferry_fail(FERRY_ESTATE,
                          "store: %s is in use by another ferry process (pid %s); stop it, or "
                          "inspect through the daemon's HTTP API while it runs",
                          path, pid[0] ? pid : "unknown");
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
        /* The pid only improves the "in use" message; not worth failing the open for. */
    }
    *fdout = fd;
    return FERRY_OK;
}

static void ldb_close(void *p)
{
    struct ldb *l = p;
    if (!l)
        return;
    if (l->db)
        leveldb_close(l->db);
    if (l->wb)
        leveldb_writebatch_destroy(l->wb);
    if (l->wo)
        leveldb_writeoptions_destroy(l->wo);
    if (l->ro)
        leveldb_readoptions_destroy(l->ro);
    if (l->opt)
        leveldb_options_destroy(l->opt);
    if (l->filter)
        leveldb_filterpolicy_destroy(l->filter);
    if (l->cache)
        leveldb_cache_destroy(l->cache);
    if (l->lockfd >= 0)
        close(l->lockfd); /* releases the flock */
    free(l);
}

static enum ferry_err ldb_open(void **out, const char *path)
{
    *out = NULL;
    if (!path)
        return ferry_fail(FERRY_EINVAL, "store: the leveldb backend needs a directory path");
    enum ferry_err r = make_dirs(path);
    if (r)
        return r;
    struct ldb *l = calloc(1, sizeof *l);
    if (!l)
        return ferry_fail(FERRY_ENOMEM, "store: out of memory");
    l->lockfd = -1;
    if ((r = take_lock(&l->lockfd, path))) {
        free(l);
        return r;
    }
    l->opt = leveldb_options_create();
    l->filter = leveldb_filterpolicy_create_bloom(10);
    l->cache = leveldb_cache_create_lru(8u << 20);
    l->ro = leveldb_readoptions_create();
    l->wo = leveldb_writeoptions_create();
    l->wb = leveldb_writebatch_create();
    leveldb_options_set_create_if_missing(l->opt, 1);
    /* Corruption stops the open or the write with LevelDB's message instead of skipping
     * records silently: losing a record quietly would break "nothing lost". A log torn by a
     * crash mid-write is not corruption to LevelDB (the partial tail record is dropped). */
    leveldb_options_set_paranoid_checks(l->opt, 1);
    leveldb_options_set_filter_policy(l->opt, l->filter);
    leveldb_options_set_cache(l->opt, l->cache);
    leveldb_readoptions_set_verify_checksums(l->ro, 1);
    leveldb_writeoptions_set_sync(l->wo, 1);
    char *err = NULL;
    l->db = leveldb_open(l->opt, path, &err);
    if (err || !l->db) {
        char what[4200];
        snprintf(what, sizeof what, "cannot open LevelDB at %s", path);
        r = ldb_fail(FERRY_EIO, err, what);
        l->db = NULL;
        ldb_close(l);
        return r;
    }
    *out = l;
    return FERRY_OK;
}

static enum ferry_err ldb_get(void *p, uint8_t **val, size_t *vlen, const uint8_t *key, size_t klen)
{
    struct ldb *l = p;
    char *err = NULL;
    size_t n = 0;
    /* glibc's malloc(0) is never NULL, so an empty value comes back non-NULL. */
    char *v = leveldb_get(l->db, l->ro, (const char *)key, klen, &n, &err);
    if (err)
        return ldb_fail(FERRY_EIO, err, "read failed");
    if (!v)
        return FERRY_ENOTFOUND;
    enum ferry_err r = FERRY_OK;
    if (val) {
        *val = malloc(n ? n : 1);
        if (*val) {
            memcpy(*val, v, n);
            *vlen = n;
        } else {
            r = ferry_fail(FERRY_ENOMEM, "store: out of memory");
        }
    }
    leveldb_free(v);
    return r;
}

static enum ferry_err ldb_write(void *p, const struct store_op *ops, size_t n)
{
    struct ldb *l = p;
    leveldb_writebatch_clear(l->wb);
    for (size_t i = 0; i < n; i++) {
        if (ops[i].type == STORE_OP_PUT)
            leveldb_writebatch_put(l->wb, (const char *)ops[i].key, ops[i].klen,
                                   (const char *)ops[i].val, ops[i].vlen);
        else
            leveldb_writebatch_delete(l->wb, (const char *)ops[i].key, ops[i].klen);
    }
    char *err = NULL;
    leveldb_write(l->db, l->wo, l->wb, &err);
    leveldb_writebatch_clear(l->wb);
    if (err)
        return ldb_fail(FERRY_EIO, err, "synchronous write failed");
    return FERRY_OK;
}

static enum ferry_err ldb_iter_new(void *p, void **it)
{
    struct ldb *l = p;
    *it = leveldb_create_iterator(l->db, l->ro);
    return FERRY_OK;
}

static void ldb_iter_seek(void *it, const uint8_t *key, size_t klen)
{
    if (klen == 0)
        leveldb_iter_seek_to_first(it);
    else
        leveldb_iter_seek(it, (const char *)key, klen);
}

static bool ldb_iter_valid(void *it) { return leveldb_iter_valid(it) != 0; }

static void ldb_iter_next(void *it) { leveldb_iter_next(it); }

static const uint8_t *ldb_iter_key(void *it, size_t *klen)
{
    return (const uint8_t *)leveldb_iter_key(it, klen);
}

static const uint8_t *ldb_iter_value(void *it, size_t *vlen)
{
    return (const uint8_t *)leveldb_iter_value(it, vlen);
}

static enum ferry_err ldb_iter_status(void *it)
{
    char *err = NULL;
    leveldb_iter_get_error(it, &err);
    if (err)
        return ldb_fail(FERRY_EIO, err, "iteration failed");
    return FERRY_OK;
}

static void ldb_iter_free(void *it) { leveldb_iter_destroy(it); }

const struct store_backend store_backend_leveldb = {
    .name = "leveldb",
    .open = ldb_open,
    .close = ldb_close,
    .get = ldb_get,
    .write = ldb_write,
    .iter_new = ldb_iter_new,
    .iter_seek = ldb_iter_seek,
    .iter_valid = ldb_iter_valid,
    .iter_next = ldb_iter_next,
    .iter_key = ldb_iter_key,
    .iter_value = ldb_iter_value,
    .iter_status = ldb_iter_status,
    .iter_free = ldb_iter_free,
};
