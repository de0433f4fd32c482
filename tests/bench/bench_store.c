/* Durable state transitions per second through the LevelDB store: each transition is a record
 * put plus an index move (3 operations) in one batch, committed either with its own
 * synchronous write or grouped, many per synchronous write, the way the event loop flushes at
 * the end of a turn. Runs on the real disk: a tmpfs would make syncs free and the figure
 * meaningless. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "ferry/store.h"

#define RECORDS 4096
#define SECONDS 1.5
#define TMPFS_MAGIC_ 0x01021994

static uint8_t states[RECORDS];
static uint64_t durable;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

static void die(const char *what)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, ferry_errmsg());
    exit(1);
}

/* Builds the batch of transition t: record t % RECORDS moves to its next state. */
static struct store_batch *transition(struct store *st, uint64_t t)
{
    uint32_t r = (uint32_t)(t % RECORDS);
    uint8_t old = states[r], new = (uint8_t)(old + 1);
    struct store_key pk;
    store_key_u64_u64(&pk, STORE_KIND_PACKET, 1, r);
    uint8_t rec[200];
    memset(rec, 0x5a, sizeof rec);
    store_be64_put(rec, t);
    rec[8] = new;
    struct store_batch *b;
    if (store_batch_begin(st, &b))
        die("batch");
    store_put(b, pk.b, pk.len, rec, sizeof rec);
    store_index_move(b, STORE_IDX_PACKET_STATE, &old, 1, &new, 1, pk.b, pk.len);
    states[r] = new;
    return b;
}

static void on_durable(void *arg, enum ferry_err result)
{
    if (result)
        die("group commit");
    durable++;
}

/* Transitions per second with `group` transitions per synchronous write (0: commit_sync). */
static double run(const char *path, unsigned group)
{
    struct store *st;
    rm_rf(path);
    if (store_open(&st, "leveldb", path))
        die("open");
    /* Every record starts in state 0 with its index entry, as the engine would have it. */
    struct store_batch *b;
    if (store_batch_begin(st, &b))
        die("batch");
    memset(states, 0, sizeof states);
    for (uint32_t r = 0; r < RECORDS; r++) {
        struct store_key pk;
        store_key_u64_u64(&pk, STORE_KIND_PACKET, 1, r);
        store_put(b, pk.b, pk.len, "", 0);
        store_index_put(b, STORE_IDX_PACKET_STATE, &states[r], 1, pk.b, pk.len);
    }
    if (store_commit_sync(b))
        die("seed");

    struct store_stats s0, s1;
    store_stats(st, &s0);
    durable = 0;
    uint64_t t = 0;
    double start = now(), end;
    do {
        if (group == 0) {
            if (store_commit_sync(transition(st, t++)))
                die("commit");
            durable++;
        } else {
            for (unsigned i = 0; i < group; i++)
                if (store_commit_group(transition(st, t++), on_durable, NULL))
                    die("queue");
            if (store_flush(st))
                die("flush");
        }
        end = now();
    } while (end - start < SECONDS);
    store_stats(st, &s1);
    if (durable != t || s1.ops - s0.ops != 3 * t)
        die("counts disagree");
    printf("# %u per write: %llu transitions in %.2f s, %llu synchronous writes\n", group ? group : 1,
           (unsigned long long)t, end - start,
           (unsigned long long)(s1.sync_writes - s0.sync_writes));
    store_close(st);
    return (double)t / (end - start);
}

int main(void)
{
    /* /tmp unless it is a tmpfs, where syncs cost nothing; then build/. */
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    struct statfs fs;
    if (statfs(base, &fs) != 0 || fs.f_type == TMPFS_MAGIC_) {
        base = "build";
        mkdir(base, 0755);
    }
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/ferry-bench-store-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("bench_store: mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/db", dir);
    printf("# store in %s\n", dir);

    double single = run(path, 0);
    double g64 = run(path, 64);
    double g256 = run(path, 256);
    rm_rf(dir);
    printf("bench store_transitions_sync: %.0f transitions/s (1.00x single sync puts)\n", single);
    printf("bench store_transitions_group64: %.0f transitions/s (%.1fx single sync puts)\n", g64,
           g64 / single);
    printf("bench store_transitions_group256: %.0f transitions/s (%.1fx single sync puts)\n", g256,
           g256 / single);
    return 0;
}
