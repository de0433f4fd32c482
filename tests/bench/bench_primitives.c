/* Benchmarks of the primitives on the daemon's hot path. Figures, not tests.
 *
 *   keccak256 on 32 B and 1 KiB, against Nettle's sha3_256 on the same input: the same
 *     Keccak-f[1600] permutation, so the ratio shows what Ferry's padding and absorb cost on top.
 *   ABI event decoding of a PacketSent-like log (3 indexed topics; data of a uint64, a bytes32,
 *     a uint64 and a 200-byte payload), typed getters included, against cJSON_Parse + cJSON_Delete
 *     of the same log as eth_getLogs returns it. Every log the daemon decodes first arrives as that
 *     JSON, so the ratio says how ABI decoding compares with the parsing that precedes it.
 *
 * Each figure is measured for about a second (FERRY_BENCH_SECONDS to change it), in slices taken
 * in turn with its reference, keeping the best slice of each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <nettle/sha3.h>

#include "ferry/abi.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"

static double seconds = 1.0;
static volatile uint8_t sink;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Calls fn(arg) repeatedly for about `secs` and returns calls per second. */
static double rate_for(void (*fn)(void *), void *arg, double secs)
{
    uint64_t calls = 0, batch = 1;
    double t0 = now(), t;
    do {
        for (uint64_t i = 0; i < batch; i++)
            fn(arg);
        calls += batch;
        t = now() - t0;
        if (t < secs / 20)
            batch *= 2;
    } while (t < secs);
    return (double)calls / t;
}

#define ROUNDS 5

/* Measures each function for about `seconds` in all, in ROUNDS slices taken in turn, and keeps
 * each one's best slice: the machine may be shared, and interleaving exposes a figure and its
 * reference to the same disturbances. */
static void rates(size_t n, void (*const fns[])(void *), void *arg, double out[])
{
    for (size_t i = 0; i < n; i++)
        out[i] = 0;
    for (int r = 0; r < ROUNDS; r++)
        for (size_t i = 0; i < n; i++) {
            double x = rate_for(fns[i], arg, seconds / ROUNDS);
            if (x > out[i])
                out[i] = x;
        }
}

struct hash_input {
    uint8_t *buf;
    size_t len;
};

/* Each digest feeds the next input so that no call can be skipped. */
static void run_keccak(void *arg)
{
    struct hash_input *in = arg;
    uint8_t d[32];
    keccak256(d, in->buf, in->len);
    in->buf[0] ^= d[0];
}

static void run_sha3(void *arg)
{
    struct hash_input *in = arg;
    struct sha3_256_ctx c;
    uint8_t d[32];
    sha3_256_init(&c);
    sha3_256_update(&c, in->len, in->buf);
    sha3_256_digest(&c, sizeof d, d);
    in->buf[0] ^= d[0];
}

static void bench_hash(size_t len, const char *label)
{
    struct hash_input in = {.buf = malloc(len), .len = len};
    for (size_t i = 0; i < len; i++)
        in.buf[i] = (uint8_t)(i * 7 + 3);
    double r[2];
    rates(2, (void (*const[])(void *)){run_keccak, run_sha3}, &in, r);
    double k = r[0] * (double)len / 1e6, s = r[1] * (double)len / 1e6;
    printf("bench keccak256_%s: %.1f MB/s (%.2fx nettle sha3_256 at %.1f MB/s)\n", label, k, k / s, s);
    free(in.buf);
}

struct log_input {
    const struct abi_sig *ev;
    uint8_t topics[4][32];
    uint8_t *data;
    size_t len;
    const char *json;
};

/* What the daemon does per PacketSent: decode without allocating, read every field. */
static void run_decode_fields(void *arg)
{
    struct log_input *in = arg;
    struct abi_value f[7];
    uint64_t dst, seq, src, timeout;
    uint8_t sender[32], receiver[32];
    const uint8_t *payload;
    size_t plen;
    if (abi_event_decode_fields(f, in->ev, (const uint8_t(*)[32])in->topics, 4, in->data, in->len) ||
        abi_get_u64(&f[0], &dst) || abi_get_u64(&f[1], &seq) || abi_get_bytes32(&f[2], sender) ||
        abi_get_u64(&f[3], &src) || abi_get_bytes32(&f[4], receiver) || abi_get_u64(&f[5], &timeout) ||
        abi_get_bytes(&f[6], &payload, &plen)) {
        fprintf(stderr, "bench: decode failed: %s\n", ferry_errmsg());
        exit(1);
    }
    sink ^= (uint8_t)(dst + seq + src + timeout + sender[0] + receiver[0] + payload[plen - 1]);
}

/* The same through the generic tree decoder (one allocation per log). */
static void run_decode_tree(void *arg)
{
    struct log_input *in = arg;
    struct abi_value *t;
    uint64_t seq;
    if (abi_event_decode(&t, in->ev, (const uint8_t(*)[32])in->topics, 4, in->data, in->len) ||
        abi_get_u64(&t->u.list.items[1], &seq)) {
        fprintf(stderr, "bench: decode failed: %s\n", ferry_errmsg());
        exit(1);
    }
    sink ^= (uint8_t)seq;
    abi_value_free(t);
}

static void run_json(void *arg)
{
    struct log_input *in = arg;
    cJSON *j = cJSON_Parse(in->json);
    if (!j) {
        fprintf(stderr, "bench: cJSON_Parse failed\n");
        exit(1);
    }
    sink ^= (uint8_t)cJSON_GetArraySize(j);
    cJSON_Delete(j);
}

static void die(const char *what)
{
    fprintf(stderr, "bench: %s: %s\n", what, ferry_errmsg());
    exit(1);
}

static void bench_events(void)
{
    struct abi_sig *ev;
    struct abi_type *dt;
    struct abi_value *args;
    struct log_input in;
    if (abi_event_parse(&ev, "PacketSent(uint64 indexed dstChain, uint64 indexed sequence, bytes32 indexed sender, "
                             "uint64 srcChain, bytes32 receiver, uint64 timeoutTimestamp, bytes payload)"))
        die("event");
    in.ev = ev;
    memcpy(in.topics[0], ev->hash, 32);
    memset(in.topics[1], 0, 64);
    in.topics[1][31] = 0x69; /* dstChain 31337 */
    in.topics[1][30] = 0x7a;
    in.topics[2][31] = 42; /* sequence */
    for (int i = 0; i < 32; i++)
        in.topics[3][i] = (uint8_t)(0xa0 + i);

    /* The data part, encoded by the library itself: a ~200-byte payload as in a token transfer. */
    char payload[2 + 400 + 1] = "0x";
    for (int i = 0; i < 200; i++)
        snprintf(payload + 2 + 2 * i, 3, "%02x", (i * 13 + 5) & 0xff);
    const char *argv[] = {"1", "0x000000000000000000000000ab8483f64d9c6d1ecf9b849ae677dd3315835cb2", "1700000000",
                          payload};
    struct fbuf data;
    fbuf_init(&data, 1u << 16);
    if (abi_type_parse(&dt, "(uint64,bytes32,uint64,bytes)") || abi_args_parse(&args, dt, argv, 4) ||
        abi_encode(&data, args))
        die("encode");
    in.data = data.data;
    in.len = data.len;

    /* The log as eth_getLogs returns it. */
    struct fbuf json;
    fbuf_init(&json, 1u << 16);
    if (fbuf_addstr(&json, "{\"address\":\"0x5fbdb2315678afecb367f032d93f642f64180aa3\",\"topics\":["))
        die("json");
    for (int i = 0; i < 4; i++)
        if ((i && fbuf_addstr(&json, ",")) || fbuf_addstr(&json, "\"") || hex_encode_buf(&json, in.topics[i], 32, true) ||
            fbuf_addstr(&json, "\""))
            die("json");
    if (fbuf_addstr(&json, "],\"data\":\"") || hex_encode_buf(&json, in.data, in.len, true) ||
        fbuf_addstr(&json, "\",\"blockNumber\":\"0x1b4\",\"transactionHash\":"
                           "\"0x3f2a9b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8\","
                           "\"transactionIndex\":\"0x0\",\"blockHash\":"
                           "\"0x9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3b4a5968778695a4b3c2d1e0f\","
                           "\"logIndex\":\"0x0\",\"removed\":false}"))
        die("json");
    in.json = (const char *)json.data;

    double r[3];
    rates(3, (void (*const[])(void *)){run_decode_fields, run_decode_tree, run_json}, &in, r);
    double fast = r[0], tree = r[1], ref = r[2];
    printf("bench abi_event_decode: %.0f events/s (%.2fx cJSON_Parse of the log's %zu-byte JSON at %.0f/s)\n", fast,
           fast / ref, json.len, ref);
    printf("bench abi_event_decode_tree: %.0f events/s (%.2fx cJSON_Parse of the same JSON)\n", tree, tree / ref);

    fbuf_free(&json);
    fbuf_free(&data);
    abi_value_free(args);
    abi_type_free(dt);
    abi_sig_free(ev);
}

int main(void)
{
    const char *s = getenv("FERRY_BENCH_SECONDS");
    if (s && atof(s) > 0)
        seconds = atof(s);
    bench_hash(32, "32B");
    bench_hash(1024, "1KiB");
    bench_events();
    return 0;
}
