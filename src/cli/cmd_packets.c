/* ferry packets: the relayer's packets, through the running daemon's API (GET /v1/packets) or, when
 * no daemon answers on the configured address, straight from its store (packet_list), which the
 * daemon does not hold while it is down. An aligned table, or JSON for scripts. */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "ferry/buf.h"
#include "ferry/config.h"
#include "ferry/engine.h"
#include "ferry/store.h"

#define DEFAULT_CONFIG "build/devnet/ferry.json"
#define LIST_MAX 100000u   /* records shown at most */
#define REPLY_MAX (64u << 20)

struct opts {
    const char *config;
    const char *chain;
    const char *state;
    bool pending;
    bool json;
};

/* ---- through the API ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    return fbuf_add(ud, p, size * n) ? 0 : size * n;
}

/* GETs one page. FERRY_EIO when nothing answers (the caller falls back to the store). */
static enum ferry_err api_page(const char *url, cJSON **out)
{
    *out = NULL;
    CURL *c = curl_easy_init();
    if (!c)
        return ferry_fail(FERRY_ENOMEM, "curl_easy_init failed");
    struct fbuf body;
    fbuf_init(&body, REPLY_MAX);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    enum ferry_err e = FERRY_OK;
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT)
        e = ferry_fail(FERRY_EIO, "no daemon at %s (%s)", url, curl_easy_strerror(rc));
    else if (rc != CURLE_OK)
        e = ferry_fail(FERRY_ERPC, "GET %s: %s", url, curl_easy_strerror(rc));
    cJSON *j = e ? NULL : cJSON_ParseWithLength(body.len ? (const char *)body.data : "", body.len);
    if (!e && !j)
        e = ferry_fail(FERRY_ERPC, "GET %s: answer is not JSON (HTTP %ld)", url, status);
    if (!e && status != 200) {
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
        e = ferry_fail(FERRY_ERPC, "the daemon answered HTTP %ld: %s", status,
                       cJSON_IsString(err) ? err->valuestring : "(no message)");
    }
    if (!e && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "packets")))
        e = ferry_fail(FERRY_ERPC, "GET %s: no \"packets\" array in the answer", url);
    fbuf_free(&body);
    if (e) {
        cJSON_Delete(j);
        return e;
    }
    *out = j;
    return FERRY_OK;
}

/* Appends every page of one listing (query: "src=31337&pending=true", say) to `all`. */
static enum ferry_err api_list(const struct ferry_config *cfg, const char *query, cJSON *all)
{
    char cursor[PACKET_CURSOR_MAX * 3 + 1] = "";
    const char *host = cfg->api.listen.host;
    if (!strcmp(host, "0.0.0.0"))
        host = "127.0.0.1";
    else if (!strcmp(host, "::"))
        host = "::1";
    bool v6 = strchr(host, ':') != NULL;
    for (;;) {
        char url[1024];
        snprintf(url, sizeof url, "http://%s%s%s:%u/v1/packets?limit=1000%s%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "",
                 (unsigned)cfg->api.listen.port, *query ? "&" : "", query, *cursor ? "&cursor=" : "", cursor);
        cJSON *page;
        enum ferry_err e = api_page(url, &page);
        if (e)
            return e;
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(page, "packets");
        while (cJSON_GetArraySize(arr) > 0 && (size_t)cJSON_GetArraySize(all) < LIST_MAX)
            cJSON_AddItemToArray(all, cJSON_DetachItemFromArray(arr, 0));
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(page, "next");
        bool more = cJSON_IsString(next) && next->valuestring[0] && (size_t)cJSON_GetArraySize(all) < LIST_MAX;
        if (more) {
            /* Cursors are opaque: escape them for the query string. */
            CURL *c = curl_easy_init();
            char *esc = c ? curl_easy_escape(c, next->valuestring, 0) : NULL;
            if (esc && strlen(esc) < sizeof cursor)
                snprintf(cursor, sizeof cursor, "%s", esc);
            else
                more = false;
            curl_free(esc);
            if (c)
                curl_easy_cleanup(c);
        }
        cJSON_Delete(page);
        if (!more)
            return FERRY_OK;
    }
}

/* ---- from the store ---- */

static enum ferry_err add_json(void *arg, const struct packet_record *r)
{
    cJSON *j = packet_record_to_json(r);
    if (!j || !cJSON_AddItemToArray(arg, j)) {
        cJSON_Delete(j);
        return ferry_fail(FERRY_ENOMEM, "out of memory");
    }
    return FERRY_OK;
}

static enum ferry_err store_list(struct store *st, const struct packet_filter *f, cJSON *all)
{
    char after[PACKET_CURSOR_MAX] = "", next[PACKET_CURSOR_MAX];
    for (;;) {
        enum ferry_err e = packet_list(st, f, after, 1000, add_json, all, next);
        if (e)
            return e;
        if (!next[0] || (size_t)cJSON_GetArraySize(all) >= LIST_MAX)
            return FERRY_OK;
        memcpy(after, next, sizeof after);
    }
}

/* ---- output ---- */

static uint64_t num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v) && v->valuedouble >= 0)
        return (uint64_t)v->valuedouble;
    if (cJSON_IsString(v))
        return strtoull(v->valuestring, NULL, 10);
    return 0;
}

static const char *chain_label(const struct ferry_config *cfg, uint64_t id, char buf[24])
{
    for (size_t i = 0; i < cfg->n_chains; i++)
        if (cfg->chains[i].chain_id == id)
            return cfg->chains[i].name;
    snprintf(buf, 24, "%" PRIu64, id);
    return buf;
}

static void duration(char out[24], uint64_t s)
{
    if (s < 60)
        snprintf(out, 24, "%" PRIu64 "s", s);
    else if (s < 3600)
        snprintf(out, 24, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, 24, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(out, 24, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
}

static int by_key(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    uint64_t xs = num(x, "src"), ys = num(y, "src"), xq = num(x, "seq"), yq = num(y, "seq");
    return xs != ys ? (xs < ys ? -1 : 1) : xq != yq ? (xq < yq ? -1 : 1) : 0;
}

static void print_table(const struct ferry_config *cfg, cJSON *arr)
{
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n == 0) {
        printf("no packets\n");
        return;
    }
    uint64_t now = (uint64_t)time(NULL);
    printf("%-10s %8s  %-10s %-11s %8s  %-12s %8s\n", "SRC", "SEQ", "DST", "STATE", "AGE", "TIMEOUT IN", "ATTEMPTS");
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        char sb[24], db[24], age[24], left[24];
        const cJSON *state = cJSON_GetObjectItemCaseSensitive(r, "state");
        uint64_t seen = num(r, "seen_at"), timeout = num(r, "timeout");
        duration(age, seen && now > seen ? now - seen : 0);
        if (!cJSON_GetObjectItemCaseSensitive(r, "timeout"))
            snprintf(left, sizeof left, "-");
        else if (timeout > now)
            duration(left, timeout - now);
        else
            snprintf(left, sizeof left, "passed");
        printf("%-10s %8" PRIu64 "  %-10s %-11s %8s  %-12s %8" PRIu64 "\n", chain_label(cfg, num(r, "src"), sb),
               num(r, "seq"), chain_label(cfg, num(r, "dst"), db),
               cJSON_IsString(state) ? state->valuestring : "?", age, left, num(r, "attempts"));
    }
}

/* ---- the command ---- */

static int parse(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--pending"))
            o->pending = true;
        else if (!strcmp(a, "--json"))
            o->json = true;
        else if (!strcmp(a, "--chain") && i + 1 < argc)
            o->chain = argv[++i];
        else if (!strcmp(a, "--state") && i + 1 < argc)
            o->state = argv[++i];
        else if (!strcmp(a, "--config") && i + 1 < argc)
            o->config = argv[++i];
        else {
            cli_error("packets: unexpected argument '%s'", a);
            cli_usage(stderr, "packets");
            return CLI_USAGE;
        }
    }
    if (o->pending && o->state) {
        cli_error("packets: give --pending or --state, not both");
        return CLI_USAGE;
    }
    if (!o->config)
        o->config = getenv("FERRY_CONFIG") ? getenv("FERRY_CONFIG") : DEFAULT_CONFIG;
    return CLI_OK;
}

int cmd_packets(int argc, char **argv)
{
    struct opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    struct ferry_config cfg;
    struct config_problems problems = {0};
    if (config_load(o.config, &cfg, &problems)) {
        config_problems_print(stderr, o.config, &problems);
        config_problems_free(&problems);
        return CLI_FAIL;
    }
    config_problems_free(&problems);
    struct packet_filter f = {0};
    f.pending = o.pending;
    if (o.state && packet_state_parse(o.state, &f.state)) {
        cli_error("packets: --state: unknown state '%s' (SENT, DELIVERING, DELIVERED, ACKING, TIMING_OUT, PARKED, "
                  "ACKED, TIMED_OUT)", o.state);
        config_free(&cfg);
        return CLI_USAGE;
    }
    uint64_t chain = 0;
    if (o.chain) {
        const struct ferry_chain_config *cc = config_chain_by_name(&cfg, o.chain);
        if (!cc) {
            cli_error("packets: --chain: no chain '%s' in %s", o.chain, o.config);
            config_free(&cfg);
            return CLI_USAGE;
        }
        chain = cc->chain_id;
    }

    cJSON *all = cJSON_CreateArray();
    const char *source = "api";
    char q[128], base[64] = "";
    if (f.pending)
        snprintf(base, sizeof base, "pending=true");
    else if (f.state)
        snprintf(base, sizeof base, "state=%s", packet_state_name(f.state));
    enum ferry_err e = FERRY_OK;
    /* --chain: packets leaving it and packets arriving on it. */
    if (chain) {
        snprintf(q, sizeof q, "%s%ssrc=%" PRIu64, base, *base ? "&" : "", chain);
        e = api_list(&cfg, q, all);
        snprintf(q, sizeof q, "%s%sdst=%" PRIu64, base, *base ? "&" : "", chain);
        if (!e)
            e = api_list(&cfg, q, all);
    } else {
        e = api_list(&cfg, base, all);
    }
    if (e == FERRY_EIO) {
        /* Nobody answers: the daemon is down, so its store is free to read. */
        source = "store";
        cJSON_Delete(all);
        all = cJSON_CreateArray();
        struct store *st = NULL;
        struct stat sb;
        /* Listing must not create a store where the daemon never ran. */
        if (stat(cfg.data_dir, &sb) != 0)
            e = FERRY_OK;
        else
            e = store_open(&st, "leveldb", cfg.data_dir);
        if (!e && !st) {
            /* no store yet: no packets */
        } else if (!e && chain) {
            struct packet_filter g = f;
            g.src_chain = chain;
            e = store_list(st, &g, all);
            g.src_chain = 0;
            g.dst_chain = chain;
            if (!e)
                e = store_list(st, &g, all);
        } else if (!e) {
            e = store_list(st, &f, all);
        }
        if (st && store_close(st) && !e)
            e = FERRY_EIO;
    }
    if (e) {
        cli_error("packets: %s", source[0] == 'a' ? "asking the daemon" : "reading the store");
        cJSON_Delete(all);
        config_free(&cfg);
        return CLI_FAIL;
    }
    /* One order whichever way the records came; a packet from a chain to itself is listed once. */
    size_t n = (size_t)cJSON_GetArraySize(all);
    cJSON **v = calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = cJSON_DetachItemFromArray(all, 0);
    if (v) {
        qsort(v, n, sizeof *v, by_key);
        for (size_t i = 0; i < n; i++) {
            if (i && by_key(&v[i - 1], &v[i]) == 0)
                cJSON_Delete(v[i]);
            else
                cJSON_AddItemToArray(all, v[i]);
        }
        free(v);
    }
    if (o.json) {
        cJSON *out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "source", source);
        cJSON_AddItemToObject(out, "packets", all);
        char *s = cJSON_Print(out);
        if (s)
            puts(s);
        free(s);
        cJSON_Delete(out);
    } else {
        if (!strcmp(source, "store"))
            fprintf(stderr, "ferry: no daemon answers on %s:%u; read from the store in %s\n", cfg.api.listen.host,
                    (unsigned)cfg.api.listen.port, cfg.data_dir);
        print_table(&cfg, all);
        cJSON_Delete(all);
    }
    config_free(&cfg);
    return CLI_OK;
}
