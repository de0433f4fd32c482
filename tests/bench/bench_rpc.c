/* JSON-RPC round trips per second against a real anvil, on one keep-alive connection.
 *
 * Ferry: the client on the event loop, one request in flight at a time (max_inflight 1), the
 * next call made from the previous one's callback. Reference, measured in the same run
 * against the same anvil: a blocking curl easy handle POSTing the same eth_blockNumber body
 * in a loop on one connection, with no JSON parsing. The ratio is what the client and the
 * loop cost on top of raw libcurl.
 *
 * Starts its own anvil (on a port the kernel picks) and stops it at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/anvil_run.h"
#include "evm/rpc.h"
#include "ferry/loop.h"

#define WARMUP 200
#define ROUNDS 3

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    size_t *total = ud;
    *total += size * n;
    return size * n;
}

/* The reference: requests per second of a blocking keep-alive curl loop. */
static double raw_curl(const char *url, int n)
{
    CURL *e = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_blockNumber\",\"params\":[]}";
    size_t got = 0;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    for (int i = 0; i < WARMUP; i++)
        if (curl_easy_perform(e) != CURLE_OK)
            return 0;
    uint64_t t0 = loop_clock_ms();
    for (int i = 0; i < n; i++)
        if (curl_easy_perform(e) != CURLE_OK)
            return 0;
    uint64_t dt = loop_clock_ms() - t0;
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return dt ? n * 1000.0 / (double)dt : 0;
}

struct chain {
    struct rpc_client *c;
    int left;
    int failed;
};

static void next(void *ud, struct rpc_reply *r, size_t n)
{
    struct chain *ch = ud;
    if (r[0].err.kind != RPC_OK || !cJSON_IsString(r[0].result)) {
        fprintf(stderr, "bench_rpc: call failed: %s %s\n", rpc_errkind_name(r[0].err.kind), r[0].err.message);
        ch->failed = 1;
        return;
    }
    if (--ch->left > 0 && rpc_call(ch->c, "eth_blockNumber", "[]", NULL, next, ch) != FERRY_OK)
        ch->failed = 1;
}

static double ferry_client(struct loop *loop, struct rpc_client *c, int n)
{
    struct chain ch = {c, n, 0};
    uint64_t t0 = loop_clock_ms();
    if (rpc_call(c, "eth_blockNumber", "[]", NULL, next, &ch) != FERRY_OK)
        return 0;
    while (ch.left > 0 && !ch.failed)
        if (loop_run_once(loop, 1000) != FERRY_OK)
            return 0;
    uint64_t dt = loop_clock_ms() - t0;
    return ch.failed || !dt ? 0 : n * 1000.0 / (double)dt;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 3000;
    struct anvil_run a;
    const char *why;
    if (!anvil_start(&a, &why, NULL)) {
        fprintf(stderr, "bench_rpc: %s\n", why);
        return 1;
    }
    struct loop *loop;
    struct rpc_client *c;
    struct rpc_endpoint_config ep = {a.url, "anvil"};
    struct rpc_config cfg = {.endpoints = &ep, .n_endpoints = 1, .max_inflight = 1};
    if (loop_new(&loop) || rpc_client_new(loop, &cfg, &c)) {
        fprintf(stderr, "bench_rpc: %s\n", ferry_errmsg());
        anvil_stop(&a);
        return 1;
    }
    int rc = 0;
    if (ferry_client(loop, c, WARMUP) <= 0) {
        rc = 1;
    } else {
        /* Interleaved rounds, best of each: both sides see the same machine load. */
        double best_f = 0, best_r = 0;
        for (int round = 0; round < ROUNDS; round++) {
            double f = ferry_client(loop, c, n), r = raw_curl(a.url, n);
            if (f <= 0 || r <= 0) {
                rc = 1;
                break;
            }
            best_f = f > best_f ? f : best_f;
            best_r = r > best_r ? r : best_r;
        }
        struct rpc_endpoint_status st;
        if (!rc && rpc_endpoint_status(c, 0, &st) == FERRY_OK && st.errors == 0) {
            printf("bench rpc_roundtrips: %.0f req/s (%.2fx raw libcurl)\n", best_f, best_f / best_r);
            printf("# raw libcurl: %.0f req/s; %d calls per round, best of %d; client latency EWMA %.2f ms\n",
                   best_r, n, ROUNDS, st.latency_ms);
        } else {
            rc = 1;
        }
    }
    rpc_client_free(c);
    loop_free(loop);
    anvil_stop(&a);
    return rc;
}
