/* ferry hops: the hops of intents, one line each: where each step stands, for how long, how long
 * it has left before its timeout, and where the funds are after it. From the running daemon's
 * API (GET /v1/intents) or, when it is down, its store. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "ferry/orch.h"

#define LIST_MAX 100000u /* intents read at most */

struct opts {
    const char *config;
    bool json;
    struct cli_intent_query q;
};

static int parse(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->q.limit = LIST_MAX;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0; /* "--intent --json": no ID */
        if (!strcmp(a, "--pending"))
            o->q.pending = true;
        else if (!strcmp(a, "--json"))
            o->json = true;
        else if (!strcmp(a, "--intent") && has_value)
            o->q.id = argv[++i];
        else if (!strcmp(a, "--chain") && has_value)
            o->q.chain = argv[++i];
        else if (!strcmp(a, "--config") && has_value)
            o->config = argv[++i];
        else {
            bool known = !strcmp(a, "--intent") || !strcmp(a, "--chain") || !strcmp(a, "--config");
            cli_error(known ? "hops: %s needs a value" : "hops: unexpected argument '%s'", a);
            cli_usage(stderr, "hops");
            return CLI_USAGE;
        }
    }
    o->config = cli_config_path(o->config);
    return CLI_OK;
}

/* --pending lists the hops that are not finished, by the orchestrator's rule (hop_is_finished);
 * a state this CLI does not know is listed. */
static bool hop_pending(const cJSON *intent, const char *intent_state, const cJSON *hop)
{
    enum intent_state is, from = INTENT_NONE;
    enum hop_state hs;
    if (intent_state_parse(intent_state, &is) || hop_state_parse(cli_json_str(hop, "state", ""), &hs))
        return true;
    if (is == INTENT_STUCK && intent_state_parse(cli_json_str(intent, "stuck_from", ""), &from))
        from = INTENT_NONE;
    return !hop_finished(is, from, hs);
}

/* Whether a hop is listed: --pending and --chain apply to hops, not only to their intents. */
static bool hop_wanted(const struct opts *o, const struct ferry_config *cfg, const cJSON *intent,
                       const char *intent_state, const cJSON *hop)
{
    if (o->q.pending && !hop_pending(intent, intent_state, hop))
        return false;
    if (o->q.chain) {
        char b1[24], b2[24];
        const char *from = cli_json_chain(cfg, hop, "chain", b1), *to = cli_json_chain(cfg, hop, "to_chain", b2);
        if (strcmp(from, o->q.chain) != 0 && strcmp(to, o->q.chain) != 0)
            return false;
    }
    return true;
}

int cmd_hops(int argc, char **argv)
{
    struct opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    struct ferry_config cfg;
    if (cli_config_load(o.config, &cfg))
        return CLI_FAIL;
    if ((rc = cli_intent_query_check(&cfg, "hops", &o.q))) {
        config_free(&cfg);
        return rc;
    }
    cJSON *intents = cJSON_CreateArray();
    const char *source;
    if ((rc = cli_intents_fetch(&cfg, "hops", &o.q, intents, &source))) {
        cJSON_Delete(intents);
        config_free(&cfg);
        return rc;
    }
    cli_intents_sort(intents);

    static const char *const headers[] = {"INTENT", "HOP", "KIND", "CHAIN", "STATE", "AGE", "TIMEOUT IN", "FUNDS"};
    struct cli_table *t = o.json ? NULL : cli_table_new(headers, 8, "lrlllrrl", 4);
    cJSON *rows = o.json ? cJSON_CreateArray() : NULL;
    uint64_t now = (uint64_t)time(NULL);
    enum ferry_err e = (o.json ? !rows : !t) ? ferry_fail(FERRY_ENOMEM, "out of memory") : FERRY_OK;
    const cJSON *r;
    cJSON_ArrayForEach(r, intents)
    {
        const char *id = cli_json_str(r, "intent_id", "?"), *ist = cli_json_str(r, "state", "?");
        const cJSON *hop;
        cJSON_ArrayForEach(hop, cJSON_GetObjectItemCaseSensitive(r, "hops"))
        {
            if (e || !hop_wanted(&o, &cfg, r, ist, hop))
                continue;
            if (o.json) {
                cJSON *row = cJSON_Duplicate(hop, true);
                if (!row || !cJSON_AddStringToObject(row, "intent_id", id) ||
                    !cJSON_AddStringToObject(row, "intent_state", ist) || !cJSON_AddItemToArray(rows, row)) {
                    cJSON_Delete(row);
                    e = ferry_fail(FERRY_ENOMEM, "out of memory");
                }
                continue;
            }
            char sid[24], idx[16], route[64], age[24], left[24], funds[160];
            cli_short_hex(sid, sizeof sid, id, 10, 0);
            snprintf(idx, sizeof idx, "%" PRIu64, cli_json_u64(hop, "index"));
            cli_hop_route(&cfg, hop, route, sizeof route);
            cli_hop_times(hop, now, age, left);
            cli_funds_text(&cfg, cJSON_GetObjectItemCaseSensitive(hop, "funds"), funds, sizeof funds);
            const char *cells[] = {sid, idx, cli_json_str(hop, "kind", "?"), route, cli_json_str(hop, "state", "?"),
                                   age, left, funds};
            e = cli_table_add(t, cells);
        }
    }
    if (e) {
        cli_error("hops");
        rc = CLI_FAIL;
    } else if (o.json) {
        cJSON *out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "source", source);
        cJSON_AddItemToObject(out, "hops", rows);
        rows = NULL;
        cli_print_json(out);
        cJSON_Delete(out);
    } else {
        cli_store_note(&cfg, source);
        if (cli_table_rows(t) == 0)
            printf("no hops\n");
        else
            cli_table_print(t, cli_color());
    }
    cJSON_Delete(rows);
    cli_table_free(t);
    cJSON_Delete(intents);
    config_free(&cfg);
    return rc;
}
