/* ferry packets: the relayer's packets, through the running daemon's API (GET /v1/packets) or, when
 * no daemon answers on the configured address, straight from its store (packet_list), which the
 * daemon does not hold while it is down. An aligned table, or JSON for scripts. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "ferry/buf.h"
#include "ferry/config.h"
#include "ferry/engine.h"
#include "ferry/store.h"

#define LIST_MAX 100000u   /* records shown at most */

struct opts {
    const char *config;
    const char *chain;
    const char *state;
    bool pending;
    bool json;
};

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

static int by_key(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    uint64_t xs = cli_json_u64(x, "src"), ys = cli_json_u64(y, "src");
    uint64_t xq = cli_json_u64(x, "seq"), yq = cli_json_u64(y, "seq");
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
        uint64_t seen = cli_json_u64(r, "seen_at"), timeout = cli_json_u64(r, "timeout");
        cli_duration(age, seen && now > seen ? now - seen : 0);
        if (!cJSON_GetObjectItemCaseSensitive(r, "timeout"))
            snprintf(left, sizeof left, "-");
        else if (timeout > now)
            cli_duration(left, timeout - now);
        else
            snprintf(left, sizeof left, "passed");
        printf("%-10s %8" PRIu64 "  %-10s %-11s %8s  %-12s %8" PRIu64 "\n",
               cli_chain_label(cfg, cli_json_u64(r, "src"), sb),
               cli_json_u64(r, "seq"), cli_chain_label(cfg, cli_json_u64(r, "dst"), db),
               cJSON_IsString(state) ? state->valuestring : "?", age, left, cli_json_u64(r, "attempts"));
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
    o->config = cli_config_path(o->config);
    return CLI_OK;
}

int cmd_packets(int argc, char **argv)
{
    struct opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    struct ferry_config cfg;
    if (cli_config_load(o.config, &cfg))
        return CLI_FAIL;
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
        e = cli_api_list(&cfg, "/v1/packets", "packets", q, LIST_MAX, all);
        snprintf(q, sizeof q, "%s%sdst=%" PRIu64, base, *base ? "&" : "", chain);
        if (!e)
            e = cli_api_list(&cfg, "/v1/packets", "packets", q, LIST_MAX, all);
    } else {
        e = cli_api_list(&cfg, "/v1/packets", "packets", base, LIST_MAX, all);
    }
    if (e == FERRY_EIO) {
        /* Nobody answers: the daemon is down, so its store is free to read. */
        source = "store";
        cJSON_Delete(all);
        all = cJSON_CreateArray();
        struct store *st = NULL;
        e = cli_store_open(&cfg, &st);
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
        cli_store_note(&cfg, source);
        print_table(&cfg, all);
        cJSON_Delete(all);
    }
    config_free(&cfg);
    return CLI_OK;
}
