/* Logs ingested per second: a 10,000-log eth_getLogs reply of Gateway PacketSent logs, parsed
 * and decoded into the engine's chain events, against cJSON_Parse alone on the same text in the
 * same run. Figures, not tests.
 *
 * The reply is generated here, shaped as anvil answers (address, 4 topics, data, blockHash,
 * blockNumber, blockTimestamp, transactionHash, transactionIndex, logIndex, removed), 10 logs per
 * block. Each packet is a TokenVault transfer, the protocol's main traffic: a 288-byte payload
 * (eight head words and an empty memo), so data is 448 bytes (896 hex digits) and a log about
 * 1.5 KB of JSON (15 MB in all).
 *
 * Ingesting is parse + decode, what viem's figure measures: cJSON_ParseWithLength (the RPC
 * client's parse), evm_logs_parse (strict hex, every member checked) and evm_decode_log for each
 * log (ABI decoding with every word checked) into chain events, then frees. The lines printed:
 *   bench evm_logs_ingest: that, against cJSON parse alone;
 *   bench evm_logs_decode: the same without the JSON parse (tree already built), for where the
 *     time goes;
 *   bench evm_logs_ingest_verified: the ingest plus evm_check_packet_id on every log (a keccak256
 *     over the 576-byte packet encoding), which the watcher also does.
 * Each figure is a median over rounds in which each function runs three times in a row, the
 * first discarded (FERRY_BENCH_SECONDS, default 2, the time for all): the figures swing by 2x
 * with the state the previous run left the allocator in (freeing a 15 MB tree of small blocks
 * slows the next parse), so each is measured in its steady state, the daemon's. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "evm/events.h"
#include "evm/rpc.h"
#include "ferry/abi.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"

#define NLOGS 10000
#define PAYLOAD 288

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void word_u64(uint8_t w[32], uint64_t v)
{
    memset(w, 0, 32);
    for (int i = 31; i >= 24; i--, v >>= 8)
        w[i] = (uint8_t)v;
}

static size_t put_hex(char *out, const uint8_t *p, size_t n)
{
    return hex_encode(out, p, n, true);
}

/* The reply text; *len its length. */
static char *make_reply(size_t *len)
{
    uint8_t topic0[32], gateway[20] = {0x5f, 0xbd, 0xb2, 0x31, 0x56, 0x78, 0xaf, 0xec, 0xb3, 0x67,
                                       0xf0, 0x32, 0xd9, 0x3f, 0x64, 0x2f, 0x64, 0x18, 0x0a, 0xa3};
    if (abi_event_topic(topic0, evm_event_def(0)->signature))
        exit(1);
    size_t cap = (size_t)NLOGS * 2200 + 100;
    char *b = malloc(cap);
    size_t n = (size_t)sprintf(b, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":[");
    for (uint64_t i = 0; i < NLOGS; i++) {
        uint64_t block = 1000 + i / 10, seq = i + 1;
        uint8_t payload[PAYLOAD] = {0};
        /* abi.encode(originChain, originToken, decimals, amount, sender, recipient, notify, memo) */
        word_u64(payload, 31337);
        payload[32 + 31] = 0xab;
        word_u64(payload + 64, 18);
        word_u64(payload + 96, 1000000000000000000ull + i);
        payload[128 + 31] = 0x11;
        payload[160 + 31] = 0x22;
        word_u64(payload + 224, 0x100);
        struct packet p = {.src_chain = 31337, .dst_chain = 2002, .sequence = seq, .timeout_ts = 1800000000,
                           .payload = payload, .payload_len = PAYLOAD};
        p.sender[31] = 0x77;
        p.receiver[31] = 0x88;
        uint8_t id[32], w[32], data[5 * 32 + PAYLOAD], h[32];
        evm_packet_id(&p, id);
        memcpy(data, p.sender, 32);
        memcpy(data + 32, p.receiver, 32);
        word_u64(data + 64, p.timeout_ts);
        word_u64(data + 96, 4 * 32);
        word_u64(data + 128, PAYLOAD);
        memcpy(data + 160, payload, PAYLOAD);
        n += (size_t)sprintf(b + n, "%s{\"address\":\"", i ? "," : "");
        n += put_hex(b + n, gateway, 20);
        n += (size_t)sprintf(b + n, "\",\"topics\":[\"");
        n += put_hex(b + n, topic0, 32);
        n += (size_t)sprintf(b + n, "\",\"");
        n += put_hex(b + n, id, 32);
        n += (size_t)sprintf(b + n, "\",\"");
        word_u64(w, p.dst_chain);
        n += put_hex(b + n, w, 32);
        n += (size_t)sprintf(b + n, "\",\"");
        word_u64(w, seq);
        n += put_hex(b + n, w, 32);
        n += (size_t)sprintf(b + n, "\"],\"data\":\"");
        n += put_hex(b + n, data, sizeof data);
        word_u64(w, block);
        keccak256(h, w, 32);
        n += (size_t)sprintf(b + n, "\",\"blockHash\":\"");
        n += put_hex(b + n, h, 32);
        n += (size_t)sprintf(b + n, "\",\"blockNumber\":\"0x%" PRIx64 "\",\"blockTimestamp\":\"0x%" PRIx64
                                    "\",\"transactionHash\":\"",
                             block, 1700000000 + 12 * block);
        keccak256(h, id, 32);
        n += put_hex(b + n, h, 32);
        n += (size_t)sprintf(b + n, "\",\"transactionIndex\":\"0x%" PRIx64 "\",\"logIndex\":\"0x%" PRIx64
                                    "\",\"removed\":false}",
                             i % 10, i % 10);
    }
    n += (size_t)sprintf(b + n, "]}");
    *len = n;
    return b;
}

struct ctx {
    const char *text;
    size_t len;
    const struct evm_decoder *dec;
    cJSON *tree; /* for decode alone */
    struct chain_event *ev;
    uint64_t check;
};

static void parse_alone(struct ctx *c)
{
    cJSON *j = cJSON_ParseWithLength(c->text, c->len);
    if (!j)
        exit(1);
    c->check += (uint64_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "result"));
    cJSON_Delete(j);
}

static bool verify; /* recompute every packet id, as the watcher does */

static void decode_logs(struct ctx *c, struct evm_logs *logs)
{
    struct evm_app_event app;
    for (size_t i = 0; i < logs->n; i++) {
        enum evm_decoded what;
        if (evm_decode_log(c->dec, 31337, EVM_SRC_GATEWAY, &logs->logs[i], logs->logs[i].block_timestamp, &what,
                           &c->ev[i], &app) ||
            what != EVM_DECODED_CHAIN) {
            fprintf(stderr, "bench: log %zu: %s\n", i, ferry_errmsg());
            exit(1);
        }
        if (verify && evm_check_packet_id(&c->ev[i])) {
            fprintf(stderr, "bench: log %zu: %s\n", i, ferry_errmsg());
            exit(1);
        }
        c->check += c->ev[i].packet.sequence;
    }
    evm_logs_free(logs);
}

static void decode_tree(struct ctx *c, const cJSON *result)
{
    struct evm_logs logs;
    if (evm_logs_parse(&logs, result, NLOGS)) {
        fprintf(stderr, "bench: %s\n", ferry_errmsg());
        exit(1);
    }
    decode_logs(c, &logs);
}

/* The watcher's path: the RPC client's reply check with the logs left as text
 * (rpc_parse_reply_raw, as for the scan batch's eth_getLogs), evm_logs_parse_text_at on that
 * text, evm_decode_log and evm_check_packet_id for every log. */
static void ingest(struct ctx *c)
{
    static const uint64_t ids[1] = {7};
    static const char *const methods[1] = {"eth_getLogs"};
    static const bool raw[1] = {true};
    struct rpc_reply rep;
    cJSON *tree;
    char why[160];
    if (rpc_parse_reply_raw(c->text, c->len, false, ids, methods, raw, 1, &tree, &rep, why, sizeof why) != RPC_OK ||
        !rep.raw) {
        fprintf(stderr, "bench: reply: %s\n", why);
        exit(1);
    }
    struct evm_logs logs;
    if (evm_logs_parse_text_at(&logs, rep.raw, rep.raw_len, rep.raw_depth, NLOGS)) {
        fprintf(stderr, "bench: %s\n", ferry_errmsg());
        exit(1);
    }
    cJSON_Delete(tree);
    verify = true;
    decode_logs(c, &logs);
    verify = false;
}

/* The same without the packet id checks: parse + decode, what viem's figure measures. */
static void ingest_unverified(struct ctx *c)
{
    struct evm_logs logs;
    const char *r = strstr(c->text, "\"result\":") + 9; /* the bench's own reply: result is last */
    if (evm_logs_parse_text_at(&logs, r, c->len - 1 - (size_t)(r - c->text), 1, NLOGS)) {
        fprintf(stderr, "bench: %s\n", ferry_errmsg());
        exit(1);
    }
    decode_logs(c, &logs);
}

/* The text parser alone, and the tree path as it was (cJSON tree, evm_logs_parse, decode, verify). */
static void text_parse_alone(struct ctx *c)
{
    struct evm_logs logs;
    const char *r = strstr(c->text, "\"result\":") + 9;
    if (evm_logs_parse_text_at(&logs, r, c->len - 1 - (size_t)(r - c->text), 1, NLOGS))
        exit(1);
    c->check += logs.n;
    evm_logs_free(&logs);
}

static void tree_ingest_verified(struct ctx *c)
{
    cJSON *j = cJSON_ParseWithLength(c->text, c->len);
    if (!j)
        exit(1);
    verify = true;
    decode_tree(c, cJSON_GetObjectItemCaseSensitive(j, "result"));
    verify = false;
    cJSON_Delete(j);
}

static void decode_alone(struct ctx *c) { decode_tree(c, cJSON_GetObjectItemCaseSensitive(c->tree, "result")); }

static void verify_alone(struct ctx *c)
{
    for (size_t i = 0; i < NLOGS; i++)
        if (evm_check_packet_id(&c->ev[i]))
            exit(1);
    c->check++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    double seconds = 2.0;
    const char *env = getenv("FERRY_BENCH_SECONDS");
    if (env && atof(env) > 0)
        seconds = atof(env);
    struct evm_decoder *dec;
    if (evm_decoder_new(&dec)) {
        fprintf(stderr, "bench: %s\n", ferry_errmsg());
        return 1;
    }
    struct ctx c = {.dec = dec};
    c.text = make_reply(&c.len);
    c.ev = calloc(NLOGS, sizeof *c.ev);
    c.tree = cJSON_ParseWithLength(c.text, c.len);
    /* The first pass checks the decoding too: every packet id recomputed and matched. */
    ingest(&c);
    if (c.ev[NLOGS - 1].packet.sequence != NLOGS || c.ev[0].packet.payload_len != PAYLOAD) {
        fprintf(stderr, "bench: decoded the wrong thing\n");
        return 1;
    }
    enum { NF = 7 };
    void (*const fns[NF])(struct ctx *) = {parse_alone,      ingest,       ingest_unverified, text_parse_alone,
                                           decode_alone,     verify_alone, tree_ingest_verified};
    static const char *const names[NF] = {"parse", "ingest", "unverified", "text", "decode", "verify", "tree"};
    /* FERRY_BENCH_PROFILE=<name> runs that one alone for a while (for perf). */
    const char *prof = getenv("FERRY_BENCH_PROFILE");
    if (prof && *prof) {
        void (*fn)(struct ctx *) = ingest;
        for (int k = 0; k < NF; k++)
            if (strcmp(prof, names[k]) == 0)
                fn = fns[k];
        int runs = 0;
        double t0 = now();
        for (double stop = t0 + seconds; now() < stop; runs++)
            fn(&c);
        printf("# %s: %.0f logs/s over %d runs\n", prof, runs * (double)NLOGS / (now() - t0), runs);
        return 0;
    }
    /* Rounds in which each function runs three times in a row, the first run discarded: each
     * is measured in its steady state (the daemon's: the previous reply's tree freed before the
     * next one is parsed), and all are exposed to the same disturbances. The median of each. */
    enum { MAXR = 256 };
    static double times[NF][2 * MAXR];
    int rounds = 0;
    double end = now() + seconds;
    do {
        for (int k = 0; k < NF; k++)
            for (int rep = 0; rep < 3; rep++) {
                double t = now();
                fns[k](&c);
                if (rep)
                    times[k][2 * rounds + rep - 1] = now() - t;
            }
        rounds++;
    } while ((now() < end || rounds < 3) && rounds < MAXR);
    double rate[NF];
    for (int k = 0; k < NF; k++) {
        qsort(times[k], (size_t)(2 * rounds), sizeof times[k][0], cmp_double);
        rate[k] = NLOGS / times[k][rounds];
    }
    double parse_rate = rate[0];
    printf("# reply: %d logs, %zu bytes (%.0f per log); medians of %d runs each\n", NLOGS, c.len,
           (double)c.len / NLOGS, 2 * rounds);
    printf("# cJSON parse alone: %.0f logs/s (%.1f MB/s)\n", parse_rate, (double)c.len / (NLOGS / parse_rate) / 1e6);
    printf("bench evm_logs_ingest: %.0f logs/s (%.2fx cJSON parse alone; target 150000 logs/s and 4x viem's 43000 "
           "logs/s = 172000)\n",
           rate[1], rate[1] / parse_rate);
    printf("bench evm_logs_ingest_unverified: %.0f logs/s (%.2fx cJSON parse alone; parse + decode without the "
           "packet id checks)\n",
           rate[2], rate[2] / parse_rate);
    printf("bench evm_logs_text_parse: %.0f logs/s (%.2fx cJSON parse alone; evm_logs_parse_text alone)\n", rate[3],
           rate[3] / parse_rate);
    printf("bench evm_logs_decode: %.0f logs/s (%.2fx cJSON parse alone; the tree already built: evm_logs_parse + evm_decode_log)\n", rate[4],
           rate[4] / parse_rate);
    printf("bench evm_logs_verify: %.0f logs/s (%.2fx cJSON parse alone; evm_check_packet_id alone)\n", rate[5],
           rate[5] / parse_rate);
    printf("bench evm_logs_tree_ingest: %.0f logs/s (%.2fx cJSON parse alone; the former path: cJSON tree, "
           "evm_logs_parse, decode, verify)\n",
           rate[6], rate[6] / parse_rate);
    cJSON_Delete(c.tree);
    free(c.ev);
    free((void *)c.text);
    evm_decoder_free(dec);
    return c.check ? 0 : 1;
}
