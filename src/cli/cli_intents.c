/* Intent records for `ferry hops` and `ferry intent`: from the running daemon (GET /v1/intents,
 * following cursors), or, when no daemon answers, from its store (intent_list, intent_record_load),
 * turned into the same JSON the API serves (chains by their config names). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "ferry/address.h"
#include "ferry/hex.h"
#include "ferry/orch.h"
#include "ferry/store.h"

enum ferry_err cli_intent_id_parse(const char *s, uint8_t id[32], char hex[67])
{
    if (hex_decode_exact(id, 32, s, HEX_PREFIX_OPTIONAL))
        return ferry_fail(FERRY_EINVAL, "'%s' is not an intent id (32 bytes: 0x and 64 hex digits)", s);
    hex_encode(hex, id, 32, true);
    return FERRY_OK;
}

int cli_intent_query_check(const struct ferry_config *cfg, const char *cmd, const struct cli_intent_query *q)
{
    ferry_err_clear();
    if (q->id) {
        uint8_t id[32];
        char hex[67];
        if (cli_intent_id_parse(q->id, id, hex)) {
            cli_error("%s", cmd);
            return CLI_USAGE;
        }
    }
    enum intent_state st;
    if (q->state && intent_state_parse(q->state, &st)) {
        ferry_err_clear();
        cli_error("%s: --state: unknown state '%s' (PENDING, OPEN, IN_PROGRESS, COMPLETED, REFUNDING, REFUNDED, "
                  "STUCK, CANCELLED)", cmd, q->state);
        return CLI_USAGE;
    }
    uint8_t owner[ADDRESS_LEN];
    if (q->owner && address_parse(owner, q->owner)) {
        cli_error("%s: --owner", cmd);
        return CLI_USAGE;
    }
    if (q->chain && !config_chain_by_name(cfg, q->chain)) {
        cli_error("%s: --chain: no chain '%s' in the config", cmd, q->chain);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* ---- through the API ---- */

static enum ferry_err api_fetch(const struct ferry_config *cfg, const struct cli_intent_query *q, cJSON *all)
{
    enum ferry_err e;
    if (q->id) {
        uint8_t id[32];
        char hex[67], path[128];
        if ((e = cli_intent_id_parse(q->id, id, hex)))
            return e;
        snprintf(path, sizeof path, "/v1/intents/%s", hex);
        cJSON *rec;
        if ((e = cli_api_get(cfg, path, &rec)))
            return e == FERRY_ENOTFOUND ? ferry_fail(FERRY_ENOTFOUND, "no intent %s", hex) : e;
        cJSON_AddItemToArray(all, rec);
        return FERRY_OK;
    }
    char query[1024] = "";
    if (q->pending && (e = cli_query_add(query, sizeof query, "pending", "1")))
        return e;
    if (q->state && (e = cli_query_add(query, sizeof query, "state", q->state)))
        return e;
    if (q->owner && (e = cli_query_add(query, sizeof query, "owner", q->owner)))
        return e;
    if (q->chain && (e = cli_query_add(query, sizeof query, "chain", q->chain)))
        return e;
    return cli_api_list(cfg, "/v1/intents", "intents", query, q->limit, all);
}

/* ---- from the store ---- */

struct store_ctx {
    cJSON *all;
    const struct intent_dir *dir;
};

/* The chains of the config, for chain names in the JSON (routers are not needed to name them). */
static struct intent_chain_info *config_dir(const struct ferry_config *cfg, struct intent_dir *dir)
{
    struct intent_chain_info *v = calloc(cfg->n_chains ? cfg->n_chains : 1, sizeof *v);
    for (size_t i = 0; v && i < cfg->n_chains; i++) {
        v[i].name = cfg->chains[i].name;
        v[i].chain_id = cfg->chains[i].chain_id;
    }
    dir->chains = v;
    dir->n = v ? cfg->n_chains : 0;
    return v;
}

static enum ferry_err add_record(void *arg, const struct intent_record *r)
{
    struct store_ctx *c = arg;
    cJSON *j = intent_record_to_json(r, c->dir);
    if (!j) /* a chain the config no longer names: chain ids then */
        j = intent_record_to_json(r, NULL);
    if (!j || !cJSON_AddItemToArray(c->all, j)) {
        cJSON_Delete(j);
        return ferry_fail(FERRY_ENOMEM, "out of memory");
    }
    return FERRY_OK;
}

static enum ferry_err store_fetch(const struct ferry_config *cfg, const struct cli_intent_query *q, cJSON *all)
{
    struct intent_filter f = {0};
    uint8_t id[32];
    char hex[67];
    enum ferry_err e;
    if (q->id && (e = cli_intent_id_parse(q->id, id, hex)))
        return e;
    if (q->state && (e = intent_state_parse(q->state, &f.state)))
        return e;
    if (q->owner) {
        if ((e = address_parse(f.owner, q->owner)))
            return e;
        f.have_owner = true;
    }
    if (q->chain) {
        const struct ferry_chain_config *cc = config_chain_by_name(cfg, q->chain);
        if (!cc)
            return ferry_fail(FERRY_EINVAL, "no chain '%s' in the config", q->chain);
        f.chain = cc->chain_id;
    }
    f.pending = q->pending;

    struct store *st;
    if ((e = cli_store_open(cfg, &st)))
        return e;
    if (!st) /* the daemon never ran here: nothing stored */
        return q->id ? ferry_fail(FERRY_ENOTFOUND, "no intent %s (no store in %s)", hex, cfg->data_dir) : FERRY_OK;
    struct intent_dir dir;
    struct intent_chain_info *chains = config_dir(cfg, &dir);
    struct store_ctx ctx = {all, &dir};
    if (!chains) {
        e = ferry_fail(FERRY_ENOMEM, "out of memory");
    } else if (q->id) {
        struct intent_record *r = calloc(1, sizeof *r);
        if (!r) {
            e = ferry_fail(FERRY_ENOMEM, "out of memory");
        } else {
            e = intent_record_load(st, id, r);
            if (e == FERRY_ENOTFOUND)
                e = ferry_fail(FERRY_ENOTFOUND, "no intent %s", hex);
            else if (!e)
                e = add_record(&ctx, r);
            intent_record_clear(r);
            free(r);
        }
    } else {
        char after[INTENT_CURSOR_MAX] = "", next[INTENT_CURSOR_MAX];
        while (!e && (size_t)cJSON_GetArraySize(all) < q->limit) {
            size_t left = q->limit - (size_t)cJSON_GetArraySize(all);
            e = intent_list(st, &f, after, left < 1000 ? left : 1000, add_record, &ctx, next);
            if (e || !next[0])
                break;
            memcpy(after, next, sizeof after);
        }
    }
    free(chains);
    if (store_close(st) && !e)
        e = ferry_fail(FERRY_EIO, "closing the store %s", cfg->data_dir);
    return e;
}

int cli_intents_fetch(const struct ferry_config *cfg, const char *cmd, const struct cli_intent_query *q, cJSON *all,
                      const char **source)
{
    *source = "api";
    enum ferry_err e = api_fetch(cfg, q, all);
    if (e == FERRY_EIO) {
        /* Nobody answers: the daemon is down, so its store is free to read. */
        *source = "store";
        while (cJSON_GetArraySize(all) > 0)
            cJSON_DeleteItemFromArray(all, 0);
        ferry_err_clear();
        e = store_fetch(cfg, q, all);
    }
    if (e) {
        if (e == FERRY_ENOTFOUND)
            cli_error("%s", cmd);
        else
            cli_error("%s: %s", cmd, **source == 'a' ? "asking the daemon" : "reading the store");
        return CLI_FAIL;
    }
    return CLI_OK;
}

void cli_store_note(const struct ferry_config *cfg, const char *source)
{
    if (!strcmp(source, "store"))
        fprintf(stderr, "ferry: no daemon answers on %s:%u; read from the store in %s\n", cfg->api.listen.host,
                (unsigned)cfg->api.listen.port, cfg->data_dir);
}

/* ---- showing them ---- */

bool cli_intent_terminal(const char *s)
{
    return !strcmp(s, "COMPLETED") || !strcmp(s, "REFUNDED") || !strcmp(s, "CANCELLED");
}

bool cli_hop_finished(const char *s) { return !strcmp(s, "DONE") || !strcmp(s, "REFUNDED"); }

static int by_created(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    uint64_t cx = cli_json_u64(x, "created_at"), cy = cli_json_u64(y, "created_at");
    if (cx != cy)
        return cx < cy ? -1 : 1;
    return strcmp(cli_json_str(x, "intent_id", ""), cli_json_str(y, "intent_id", ""));
}

void cli_intents_sort(cJSON *arr)
{
    size_t n = (size_t)cJSON_GetArraySize(arr);
    cJSON **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return; /* left in the order they came */
    for (size_t i = 0; i < n; i++)
        v[i] = cJSON_DetachItemFromArray(arr, 0);
    qsort(v, n, sizeof *v, by_created);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, v[i]);
    free(v);
}

void cli_funds_text(const struct ferry_config *cfg, const cJSON *funds, char *out, size_t cap)
{
    if (!cJSON_IsObject(funds)) {
        snprintf(out, cap, "-");
        return;
    }
    char cb[24], holder[48], token[48], amount[32];
    cli_short_hex(holder, sizeof holder, cli_json_str(funds, "holder", "?"), 6, 4);
    cli_short_hex(token, sizeof token, cli_json_str(funds, "token", "?"), 6, 4);
    cli_short_amount(amount, cli_json_str(funds, "amount", "?"));
    bool flying = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(funds, "in_flight"));
    snprintf(out, cap, "%s %s %s %s%s", cli_json_chain(cfg, funds, "chain", cb), holder, token, amount,
             flying ? " (in flight)" : "");
}

void cli_hop_route(const struct ferry_config *cfg, const cJSON *hop, char *out, size_t cap)
{
    char b1[24], b2[24];
    const char *from = cli_json_chain(cfg, hop, "chain", b1);
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(hop, "to_chain");
    if (cJSON_IsNull(to) || !to)
        snprintf(out, cap, "%s", from);
    else
        snprintf(out, cap, "%s->%s", from, cli_json_chain(cfg, hop, "to_chain", b2));
}

void cli_hop_times(const cJSON *hop, uint64_t now, char age[24], char left[24])
{
    const char *state = cli_json_str(hop, "state", "?");
    uint64_t since = cli_json_u64(cJSON_GetObjectItemCaseSensitive(hop, "entered"), state);
    if (since)
        cli_duration(age, now > since ? now - since : 0);
    else
        snprintf(age, 24, "-");
    uint64_t timeout = cli_json_u64(hop, "timeout_at");
    bool over = cli_hop_finished(state) || !strcmp(state, "FAILED") || !strcmp(state, "TIMED_OUT");
    if (over || !timeout)
        snprintf(left, 24, "-");
    else if (timeout > now)
        cli_duration(left, timeout - now);
    else
        snprintf(left, 24, "passed");
}

