/* The relay benchmark's clock (tests/bench/bench_relay.sh compiles it like relay_sign.c): waits
 * for several conditions at once and prints, for each, the wall-clock time it first held. One
 * process with kept-alive connections polling every 5 ms, so the clock is fine-grained and costs
 * the 2-core machine little; the shell loop it replaces forked curl and jq every 50 ms, which both
 * blurred a half-second measurement and took CPU from the chains being measured. The relay, the
 * plain-transfer ceiling and the replay are all timed by it, so their ratios compare like with like.
 *
 *   relay_clock TIMEOUT_S COND...
 *     call:URL:TO:DATA:WANT        eth_call(TO, DATA) at latest returns exactly WANT (0x-hex)
 *     metric:URL:NAME:MIN          a line "NAME VALUE" of the Prometheus text at URL has VALUE >= MIN
 *     nonce:URL:ADDRESS:N          eth_getTransactionCount(ADDRESS, latest) >= N
 *     receipt:URL:HASH             eth_getTransactionReceipt(HASH) is not null
 *   A condition written "then:COND" is only polled once every condition before it held (the
 *   daemon's /metrics is rendered for each poll: asking it every 5 ms for the whole relay took
 *   the daemon's CPU from the relay being measured).
 *   (URL is http://host:port[/path]; the fields are split at ':' after the scheme's "//host:port")
 *
 * Prints one line per condition, in order: seconds since the epoch with nanoseconds. Exits 1 if any
 * condition did not hold within TIMEOUT_S (printing which), 2 on a usage error. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum kind { K_CALL, K_METRIC, K_NONCE, K_RECEIPT };

struct cond {
    enum kind kind;
    char url[256];
    char *body;           /* the JSON-RPC request (not for metric) */
    const char *want;     /* call: the exact result; metric: the line's name */
    unsigned long long n; /* metric: MIN; nonce: N */
    struct timespec at;
    int done;
    int after_prev; /* "then:": polled once the conditions before it held */
    CURL *h;
};

struct resp {
    char *p;
    size_t len;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *ud)
{
    struct resp *r = ud;
    size_t n = size * nmemb;
    char *q = realloc(r->p, r->len + n + 1);
    if (!q)
        return 0;
    memcpy(q + r->len, data, n);
    r->p = q;
    r->len += n;
    r->p[r->len] = 0;
    return n;
}

/* Splits "http://host:port/path:REST" into the URL and REST. */
static int split_url(const char *s, char *url, size_t cap, const char **rest)
{
    const char *hostport = strstr(s, "//");
    if (!hostport)
        return -1;
    const char *colon = strchr(hostport + 2, ':'); /* host:port */
    if (!colon)
        return -1;
    const char *end = strchr(colon + 1, ':');
    if (!end || (size_t)(end - s) >= cap)
        return -1;
    memcpy(url, s, (size_t)(end - s));
    url[end - s] = 0;
    *rest = end + 1;
    return 0;
}

static char *rpc_body(const char *method, const char *params)
{
    size_t n = strlen(method) + strlen(params) + 64;
    char *b = malloc(n);
    if (b)
        snprintf(b, n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}", method, params);
    return b;
}

static int parse(struct cond *c, const char *arg)
{
    const char *rest;
    char f[3][200];
    size_t nf = 0;
    if (!strncmp(arg, "then:", 5))
        c->after_prev = 1, arg += 5;
    if (!strncmp(arg, "call:", 5))
        c->kind = K_CALL, arg += 5;
    else if (!strncmp(arg, "metric:", 7))
        c->kind = K_METRIC, arg += 7;
    else if (!strncmp(arg, "nonce:", 6))
        c->kind = K_NONCE, arg += 6;
    else if (!strncmp(arg, "receipt:", 8))
        c->kind = K_RECEIPT, arg += 8;
    else
        return -1;
    if (split_url(arg, c->url, sizeof c->url, &rest))
        return -1;
    while (nf < 3 && *rest) {
        const char *e = strchr(rest, ':');
        size_t len = e ? (size_t)(e - rest) : strlen(rest);
        if (len >= sizeof f[0])
            return -1;
        memcpy(f[nf], rest, len);
        f[nf++][len] = 0;
        rest += len + (e != NULL);
    }
    char params[512];
    switch (c->kind) {
    case K_CALL:
        if (nf != 3)
            return -1;
        snprintf(params, sizeof params, "[{\"to\":\"%s\",\"data\":\"%s\"},\"latest\"]", f[0], f[1]);
        c->body = rpc_body("eth_call", params);
        c->want = strdup(f[2]);
        break;
    case K_METRIC:
        if (nf != 2)
            return -1;
        c->want = strdup(f[0]);
        c->n = strtoull(f[1], NULL, 10);
        break;
    case K_NONCE:
        if (nf != 2)
            return -1;
        snprintf(params, sizeof params, "[\"%s\",\"latest\"]", f[0]);
        c->body = rpc_body("eth_getTransactionCount", params);
        c->n = strtoull(f[1], NULL, 10);
        break;
    case K_RECEIPT:
        if (nf != 1)
            return -1;
        snprintf(params, sizeof params, "[\"%s\"]", f[0]);
        c->body = rpc_body("eth_getTransactionReceipt", params);
        break;
    }
    return (c->kind != K_METRIC && !c->body) || ((c->kind == K_CALL || c->kind == K_METRIC) && !c->want) ? -1 : 0;
}

/* One poll: 1 if the condition holds now. */
static int holds(struct cond *c)
{
    struct resp r = {0};
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &r);
    if (curl_easy_perform(c->h) != CURLE_OK || !r.p) {
        free(r.p);
        return 0;
    }
    int ok = 0;
    if (c->kind == K_METRIC) {
        size_t nl = strlen(c->want);
        for (const char *line = r.p; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
            if (!strncmp(line, c->want, nl) && line[nl] == ' ') {
                ok = strtoull(line + nl + 1, NULL, 10) >= c->n;
                break;
            }
    } else {
        cJSON *j = cJSON_Parse(r.p);
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
        if (c->kind == K_CALL)
            ok = cJSON_IsString(res) && !strcmp(res->valuestring, c->want);
        else if (c->kind == K_NONCE)
            ok = cJSON_IsString(res) && strtoull(res->valuestring, NULL, 16) >= c->n;
        else
            ok = cJSON_IsObject(res);
        cJSON_Delete(j);
    }
    free(r.p);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: relay_clock TIMEOUT_S COND... (see tests/bench/relay_clock.c)\n");
        return 2;
    }
    double timeout = strtod(argv[1], NULL);
    int n = argc - 2;
    struct cond *cs = calloc((size_t)n, sizeof *cs);
    struct curl_slist *hdr = curl_slist_append(NULL, "content-type: application/json");
    if (!cs || !hdr || curl_global_init(CURL_GLOBAL_DEFAULT))
        return 2;
    for (int i = 0; i < n; i++) {
        struct cond *c = &cs[i];
        if (parse(c, argv[i + 2]) || !(c->h = curl_easy_init())) {
            fprintf(stderr, "relay_clock: cannot use condition %s\n", argv[i + 2]);
            return 2;
        }
        curl_easy_setopt(c->h, CURLOPT_URL, c->url);
        curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, 2000L);
        curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
        if (c->body) {
            curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdr);
            curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->body);
        }
    }
    struct timespec start, now, tick = {0, 5 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    int left = n;
    while (left) {
        for (int i = 0; i < n; i++) {
            struct cond *c = &cs[i];
            int waiting = 0;
            for (int k = 0; k < i && c->after_prev; k++)
                waiting |= !cs[k].done;
            if (c->done || waiting || !holds(c))
                continue;
            clock_gettime(CLOCK_REALTIME, &c->at);
            c->done = 1;
            left--;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (left && (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 > timeout)
            break;
        if (left)
            nanosleep(&tick, NULL);
    }
    for (int i = 0; i < n; i++) {
        if (cs[i].done)
            printf("%lld.%09ld\n", (long long)cs[i].at.tv_sec, cs[i].at.tv_nsec);
        else
            printf("-\n");
        curl_easy_cleanup(cs[i].h);
        free(cs[i].body);
        free((void *)cs[i].want);
    }
    if (left)
        fprintf(stderr, "relay_clock: %d condition(s) did not hold within %g s\n", left, timeout);
    curl_slist_free_all(hdr);
    free(cs);
    curl_global_cleanup();
    return left ? 1 : 0;
}
