/* ferry intent prepare | submit | show | list | retry | cancel: multi-hop intents through the
 * running daemon's API. show and list read the daemon's store when it is down; the others change
 * things, which only the daemon does (writes carry the config's API token). */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "ferry/address.h"
#include "ferry/buf.h"
#include "ferry/hex.h"
#include "ferry/intent.h"
#include "ferry/keystore.h"
#include "ferry/signer.h"

#define FILE_MAX (1u << 20) /* an intent file; the API's body cap is smaller */
#define LIST_MAX 100000u

struct iopts {
    const char *config;
    const char *arg; /* the positional argument: FILE or ID */
    const char *signature;
    const char *sign_with;
    const char *keystore_dir;
    const char *password_file;
    const char *limit;
    bool json;
    struct cli_intent_query q;
};

/* Options: one table line each; a subcommand names the ones it takes. */
enum {
    O_CONFIG = 1u << 0,
    O_JSON = 1u << 1,
    O_SIGNATURE = 1u << 2,
    O_SIGN_WITH = 1u << 3,
    O_KEYSTORE_DIR = 1u << 4,
    O_PASSWORD_FILE = 1u << 5,
    O_STATE = 1u << 6,
    O_OWNER = 1u << 7,
    O_CHAIN = 1u << 8,
    O_LIMIT = 1u << 9,
    O_PENDING = 1u << 10,
};

static const struct {
    const char *name;
    unsigned bit;
    size_t off;  /* where a value goes (a const char * in struct iopts) */
    bool value;  /* takes a value; else sets a bool at off */
} options[] = {
    {"--config", O_CONFIG, offsetof(struct iopts, config), true},
    {"--json", O_JSON, offsetof(struct iopts, json), false},
    {"--signature", O_SIGNATURE, offsetof(struct iopts, signature), true},
    {"--sign-with", O_SIGN_WITH, offsetof(struct iopts, sign_with), true},
    {"--keystore-dir", O_KEYSTORE_DIR, offsetof(struct iopts, keystore_dir), true},
    {"--password-file", O_PASSWORD_FILE, offsetof(struct iopts, password_file), true},
    {"--state", O_STATE, offsetof(struct iopts, q.state), true},
    {"--owner", O_OWNER, offsetof(struct iopts, q.owner), true},
    {"--chain", O_CHAIN, offsetof(struct iopts, q.chain), true},
    {"--limit", O_LIMIT, offsetof(struct iopts, limit), true},
    {"--pending", O_PENDING, offsetof(struct iopts, q.pending), false},
};

struct sub {
    const char *name;
    const char *positional; /* "FILE", "ID" or NULL */
    unsigned takes;
    int (*run)(const struct ferry_config *cfg, struct iopts *o);
};

/* ---- files and answers ---- */

/* The JSON in a file, at most FILE_MAX bytes. */
static cJSON *read_json(const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        ferry_fail(FERRY_EIO, "cannot open %s", path);
        return NULL;
    }
    struct fbuf b;
    fbuf_init(&b, FILE_MAX);
    char chunk[8192];
    size_t n;
    enum ferry_err e = FERRY_OK;
    while (!e && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        e = fbuf_add(&b, chunk, n);
    bool bad = ferror(f);
    if (f != stdin)
        fclose(f);
    cJSON *j = NULL;
    if (e)
        ferry_fail(FERRY_ERANGE, "%s is over %u bytes", path, FILE_MAX);
    else if (bad)
        ferry_fail(FERRY_EIO, "cannot read %s", path);
    else if (!(j = cJSON_ParseWithLength(b.len ? (const char *)b.data : "", b.len)))
        ferry_fail(FERRY_EINVAL, "%s is not JSON (near byte %zu)", path,
                   cJSON_GetErrorPtr() && b.len ? (size_t)(cJSON_GetErrorPtr() - (const char *)b.data) : 0);
    else if (!cJSON_IsObject(j)) {
        ferry_fail(FERRY_EINVAL, "%s: expected a JSON object", path);
        cJSON_Delete(j);
        j = NULL;
    }
    fbuf_free(&b);
    return j;
}

/* The intent in a file: the prepare answer's "intent" member, or the file itself. */
static const cJSON *intent_of(const cJSON *file)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(file, "intent");
    return cJSON_IsObject(in) ? in : file;
}

static cJSON *wrap_intent(const cJSON *intent)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *copy = cJSON_Duplicate(intent, true);
    if (!body || !copy || !cJSON_AddItemToObject(body, "intent", copy)) {
        cJSON_Delete(body);
        cJSON_Delete(copy);
        return NULL;
    }
    return body;
}

/* POSTs body and prints a failure; CLI_OK with *ans, or CLI_FAIL. */
static int post(const struct ferry_config *cfg, const char *sub, const char *path, const cJSON *body, cJSON **ans)
{
    long status;
    if (cli_api_post(cfg, path, body, strcmp(sub, "prepare") != 0, &status, ans)) {
        cli_error("intent %s", sub);
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* ---- prepare ---- */

static int prepare(const struct ferry_config *cfg, const cJSON *intent, cJSON **ans)
{
    cJSON *body = wrap_intent(intent);
    if (!body) {
        cli_error("intent prepare: out of memory");
        return CLI_FAIL;
    }
    int rc = post(cfg, "prepare", "/v1/intents/prepare", body, ans);
    cJSON_Delete(body);
    if (!rc && (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(*ans, "intent_id")) ||
                !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(*ans, "intent")))) {
        cli_error("intent prepare: the daemon's answer has no intent_id or intent");
        cJSON_Delete(*ans);
        *ans = NULL;
        rc = CLI_FAIL;
    }
    return rc;
}

static int run_prepare(const struct ferry_config *cfg, struct iopts *o)
{
    cJSON *file = read_json(o->arg);
    if (!file) {
        cli_error("intent prepare");
        return CLI_FAIL;
    }
    cJSON *ans = NULL;
    int rc = prepare(cfg, intent_of(file), &ans);
    cJSON_Delete(file);
    if (rc)
        return rc;
    if (o->json) {
        cli_print_json(ans);
    } else {
        printf("intent id: %s\n\n", cli_json_str(ans, "intent_id", "?"));
        printf("typed data (what the owner signs, e.g. with eth_signTypedData_v4):\n");
        cli_print_json(cJSON_GetObjectItemCaseSensitive(ans, "typed_data"));
        printf("\nintent (normalized: submit exactly this):\n");
        cli_print_json(cJSON_GetObjectItemCaseSensitive(ans, "intent"));
        printf("\nnext: save this answer with --json and run\n"
               "  ferry intent submit FILE --signature 0x<65 bytes>   (or --sign-with KEYNAME)\n");
    }
    cJSON_Delete(ans);
    return CLI_OK;
}

/* ---- submit ---- */

/* Signs the intent id with a keystore key (development: the owner's key on this machine). */
static int sign_with(const struct ferry_config *cfg, const struct iopts *o, const cJSON *intent, const char *id_hex,
                     char sig_hex[2 * INTENT_SIG_LEN + 3])
{
    uint8_t id[32], owner[ADDRESS_LEN], addr[ADDRESS_LEN], sig[SIGNATURE_LEN];
    char dir[4096], path[4200];
    if (hex_decode_exact(id, 32, id_hex, HEX_PREFIX_REQUIRED)) {
        cli_error("intent submit: the daemon's intent id");
        return CLI_FAIL;
    }
    if (address_parse(owner, cli_json_str(intent, "owner", ""))) {
        cli_error("intent submit: intent.owner");
        return CLI_FAIL;
    }
    cli_keystore_dir(cfg, o->keystore_dir, dir, sizeof dir);
    if (keystore_name_check(o->sign_with) || keystore_path(path, sizeof path, dir, o->sign_with)) {
        cli_error("intent submit: --sign-with");
        return CLI_USAGE;
    }
    if (access(path, R_OK) != 0) {
        ferry_err_clear();
        cli_error("intent submit: --sign-with: no key named \"%s\" in %s (see `ferry keys list`)", o->sign_with, dir);
        return CLI_FAIL;
    }
    char *pw = NULL;
    size_t pwlen = 0;
    struct signer *s = NULL;
    enum ferry_err e = cli_keystore_password(cfg, o->password_file, &pw, &pwlen);
    if (!e)
        e = signer_new(&s);
    if (!e)
        e = signer_load_keystore(s, o->sign_with, path, pw, pwlen);
    secret_free(pw);
    if (!e)
        e = signer_address(s, o->sign_with, addr);
    if (!e && memcmp(addr, owner, ADDRESS_LEN) != 0) {
        char a[ADDRESS_STR], w[ADDRESS_STR];
        address_to_checksum(a, addr);
        address_to_checksum(w, owner);
        e = ferry_fail(FERRY_EINVAL, "key \"%s\" is %s, but the intent's owner is %s", o->sign_with, a, w);
    }
    if (!e)
        e = signer_sign_digest(s, o->sign_with, id, sig);
    signer_free(s);
    if (e) {
        cli_error("intent submit: --sign-with %s", o->sign_with);
        return CLI_FAIL;
    }
    sig[64] += 27; /* the router takes v as 27/28 */
    hex_encode(sig_hex, sig, SIGNATURE_LEN, true);
    return CLI_OK;
}

static int run_submit(const struct ferry_config *cfg, struct iopts *o)
{
    if (!o->signature == !o->sign_with)
        return cli_usage_error("intent",
                               "intent submit: give --signature HEX or --sign-with KEYNAME (one of them)");
    char sig_hex[2 * INTENT_SIG_LEN + 3];
    if (o->signature) {
        uint8_t sig[INTENT_SIG_LEN];
        if (hex_decode_exact(sig, sizeof sig, o->signature, HEX_PREFIX_OPTIONAL)) {
            char why[256];
            snprintf(why, sizeof why, "%s", ferry_errmsg());
            return cli_usage_error("intent", "intent submit: --signature: expected 65 bytes of hex (r, s, v): %s",
                                   why);
        }
        hex_encode(sig_hex, sig, sizeof sig, true);
    }
    cJSON *file = read_json(o->arg);
    if (!file) {
        cli_error("intent submit");
        return CLI_FAIL;
    }
    const cJSON *intent = intent_of(file);
    cJSON *prep = NULL;
    int rc = CLI_OK;
    if (o->sign_with) {
        /* The daemon computes the id (it knows the origin router); the one in a prepare answer
         * must agree, or the file was edited after it was prepared. */
        if ((rc = prepare(cfg, intent, &prep)))
            goto out;
        const char *id = cli_json_str(prep, "intent_id", "");
        const char *file_id = cli_json_str(file, "intent_id", NULL);
        if (file_id && strcasecmp(file_id, id) != 0) {
            cli_error("intent submit: %s says intent_id %s, but its intent's id is %s (edited after prepare? "
                      "prepare it again)", o->arg, file_id, id);
            rc = CLI_FAIL;
            goto out;
        }
        intent = cJSON_GetObjectItemCaseSensitive(prep, "intent");
        if ((rc = sign_with(cfg, o, intent, id, sig_hex)))
            goto out;
    }
    cJSON *body = wrap_intent(intent);
    if (!body || !cJSON_AddStringToObject(body, "signature", sig_hex)) {
        cJSON_Delete(body);
        cli_error("intent submit: out of memory");
        rc = CLI_FAIL;
        goto out;
    }
    cJSON *ans = NULL;
    rc = post(cfg, "submit", "/v1/intents", body, &ans);
    cJSON_Delete(body);
    if (!rc) {
        if (o->json)
            cli_print_json(ans);
        else
            printf("%s %s: %s\n", cli_json_str(ans, "intent_id", "?"),
                   cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "existing")) ? "already known" : "accepted",
                   cli_json_str(ans, "state", "?"));
    }
    cJSON_Delete(ans);
out:
    cJSON_Delete(prep);
    cJSON_Delete(file);
    return rc;
}

/* ---- show and list ---- */

/* "alpha->beta(call)->gamma": where the funds go, step by step. */
static void route_text(const struct ferry_config *cfg, const cJSON *r, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    const cJSON *hop;
    cJSON_ArrayForEach(hop, cJSON_GetObjectItemCaseSensitive(r, "hops"))
    {
        char b1[24], b2[24];
        const cJSON *to = cJSON_GetObjectItemCaseSensitive(hop, "to_chain");
        bool call = !to || cJSON_IsNull(to);
        int n = snprintf(out + len, cap - len, "%s%s%s", len ? "" : cli_json_chain(cfg, hop, "chain", b1),
                         call ? "(call)" : "->", call ? "" : cli_json_chain(cfg, hop, "to_chain", b2));
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
}

static void when(char *out, size_t cap, uint64_t t, uint64_t now)
{
    char d[24], stamp[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (!t || !gmtime_r(&tt, &tm)) {
        snprintf(out, cap, "-");
        return;
    }
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S UTC", &tm);
    cli_duration(d, t > now ? t - now : now - t);
    snprintf(out, cap, "%s (%s %s)", stamp, t > now ? "in" : d, t > now ? d : "ago");
}

static void show_record(const struct ferry_config *cfg, const cJSON *r, bool color)
{
    uint64_t now = (uint64_t)time(NULL);
    const cJSON *intent = cJSON_GetObjectItemCaseSensitive(r, "intent");
    const char *state = cli_json_str(r, "state", "?");
    char buf[512], d[24];
    uint64_t since = cli_json_u64(cJSON_GetObjectItemCaseSensitive(r, "entered"), state);
    printf("intent     %s\nstate      ", cli_json_str(r, "intent_id", "?"));
    cli_print_state(state, 0, color);
    cli_duration(d, since && now > since ? now - since : 0);
    printf("%s%s\n", since ? " for " : "", since ? d : "");
    const char *reason = cli_json_str(r, "reason", "");
    if (*reason)
        printf("reason     %s\n", reason);
    printf("owner      %s\n", cli_json_str(intent, "owner", "?"));
    route_text(cfg, r, buf, sizeof buf);
    printf("route      %s\n", buf);
    printf("step       %" PRIu64 " of %d\n", cli_json_u64(r, "current_step"),
           cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "hops")));
    when(buf, sizeof buf, cli_json_u64(r, "created_at"), now);
    printf("created    %s\n", buf);
    when(buf, sizeof buf, cli_json_u64(intent, "deadline"), now);
    printf("deadline   %s\n", buf);
    cli_funds_text(cfg, cJSON_GetObjectItemCaseSensitive(r, "funds"), buf, sizeof buf);
    printf("funds      %s\n", buf);
    const char *open_tx = cli_json_str(r, "open_tx", "");
    if (*open_tx)
        printf("open tx    %s\n", open_tx);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "cancel_requested")))
        printf("cancel     requested\n");

    static const char *const headers[] = {"HOP", "KIND", "CHAIN", "STATE", "AGE", "TIMEOUT IN", "SEQ",
                                          "ATTEMPTS", "LAST TX", "FUNDS", "ERROR"};
    struct cli_table *t = cli_table_new(headers, 11, "rlllrrrrlll", 3);
    const cJSON *hop;
    cJSON_ArrayForEach(hop, cJSON_GetObjectItemCaseSensitive(r, "hops"))
    {
        char idx[16], route[64], age[24], left[24], seq[24], att[16], tx[32], funds[160];
        snprintf(idx, sizeof idx, "%" PRIu64, cli_json_u64(hop, "index"));
        cli_hop_route(cfg, hop, route, sizeof route);
        cli_hop_times(hop, now, age, left);
        if (cJSON_GetObjectItemCaseSensitive(hop, "sequence") && cli_json_u64(hop, "sequence"))
            snprintf(seq, sizeof seq, "%" PRIu64, cli_json_u64(hop, "sequence"));
        else
            snprintf(seq, sizeof seq, "-");
        snprintf(att, sizeof att, "%" PRIu64, cli_json_u64(hop, "attempts"));
        const cJSON *txs = cJSON_GetObjectItemCaseSensitive(hop, "txs");
        const cJSON *last = cJSON_GetArrayItem(txs, cJSON_GetArraySize(txs) - 1);
        cli_short_hex(tx, sizeof tx, cJSON_IsString(last) ? last->valuestring : "-", 10, 4);
        cli_funds_text(cfg, cJSON_GetObjectItemCaseSensitive(hop, "funds"), funds, sizeof funds);
        const char *err = cli_json_str(hop, "error", "");
        const char *cells[] = {idx, cli_json_str(hop, "kind", "?"), route, cli_json_str(hop, "state", "?"), age, left,
                               seq, att, tx, funds, *err ? err : "-"};
        if (t && cli_table_add(t, cells)) {
            cli_table_free(t);
            t = NULL;
        }
    }
    if (t) {
        printf("\n");
        cli_table_print(t, color);
    }
    cli_table_free(t);
}

static int run_show(const struct ferry_config *cfg, struct iopts *o)
{
    o->q.id = o->arg;
    o->q.limit = 1;
    int rc = cli_intent_query_check(cfg, "intent show", &o->q);
    if (rc)
        return rc;
    cJSON *all = cJSON_CreateArray();
    const char *source;
    rc = cli_intents_fetch(cfg, "intent show", &o->q, all, &source);
    if (!rc) {
        const cJSON *r = cJSON_GetArrayItem(all, 0);
        if (o->json) {
            cli_print_json(r);
        } else {
            cli_store_note(cfg, source);
            show_record(cfg, r, cli_color());
        }
    }
    cJSON_Delete(all);
    return rc;
}

static int run_list(const struct ferry_config *cfg, struct iopts *o)
{
    o->q.limit = LIST_MAX;
    if (o->limit) {
        char *end;
        unsigned long long v = strtoull(o->limit, &end, 10);
        if (!*o->limit || *end || o->limit[0] == '-' || v == 0 || v > LIST_MAX)
            return cli_usage_error("intent", "intent list: --limit: expected a number from 1 to %u, got \"%s\"",
                                   LIST_MAX, o->limit);
        o->q.limit = (size_t)v;
    }
    if (o->q.pending && o->q.state)
        return cli_usage_error("intent", "intent list: give --pending or --state, not both");
    int rc = cli_intent_query_check(cfg, "intent list", &o->q);
    if (rc)
        return rc;
    cJSON *all = cJSON_CreateArray();
    const char *source;
    if ((rc = cli_intents_fetch(cfg, "intent list", &o->q, all, &source))) {
        cJSON_Delete(all);
        return rc;
    }
    cli_intents_sort(all);
    if (o->json) {
        cJSON *out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "source", source);
        cJSON_AddItemToObject(out, "intents", all);
        cli_print_json(out);
        cJSON_Delete(out);
        return CLI_OK;
    }
    cli_store_note(cfg, source);
    static const char *const headers[] = {"INTENT", "STATE", "OWNER", "ROUTE", "STEP", "AGE", "DEADLINE IN",
                                          "REASON"};
    struct cli_table *t = cli_table_new(headers, 8, "llllrrrl", 1);
    uint64_t now = (uint64_t)time(NULL);
    const cJSON *r;
    rc = t ? CLI_OK : CLI_FAIL;
    cJSON_ArrayForEach(r, all)
    {
        if (rc)
            break;
        const cJSON *intent = cJSON_GetObjectItemCaseSensitive(r, "intent");
        const char *state = cli_json_str(r, "state", "?");
        char id[24], owner[24], route[256], step[24], age[24], left[24];
        cli_short_hex(id, sizeof id, cli_json_str(r, "intent_id", "?"), 10, 0);
        cli_short_hex(owner, sizeof owner, cli_json_str(intent, "owner", "?"), 6, 4);
        route_text(cfg, r, route, sizeof route);
        snprintf(step, sizeof step, "%" PRIu64 "/%d", cli_json_u64(r, "current_step"),
                 cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "hops")));
        uint64_t since = cli_json_u64(cJSON_GetObjectItemCaseSensitive(r, "entered"), state);
        if (since)
            cli_duration(age, now > since ? now - since : 0);
        else
            snprintf(age, sizeof age, "-");
        uint64_t deadline = cli_json_u64(intent, "deadline");
        if (cli_intent_terminal(state) || !deadline)
            snprintf(left, sizeof left, "-");
        else if (deadline > now)
            cli_duration(left, deadline - now);
        else
            snprintf(left, sizeof left, "passed");
        const char *reason = cli_json_str(r, "reason", "");
        const char *cells[] = {id, state, owner, route, step, age, left, *reason ? reason : "-"};
        if (cli_table_add(t, cells))
            rc = CLI_FAIL;
    }
    if (rc)
        cli_error("intent list");
    else if (cli_table_rows(t) == 0)
        printf("no intents\n");
    else
        cli_table_print(t, cli_color());
    cli_table_free(t);
    cJSON_Delete(all);
    return rc;
}

/* ---- retry and cancel ---- */

static int act(const struct ferry_config *cfg, const struct iopts *o, const char *verb)
{
    uint8_t id[32];
    char hex[67], path[128], sub[32];
    snprintf(sub, sizeof sub, "%s", verb);
    if (cli_intent_id_parse(o->arg, id, hex)) {
        cli_error("intent %s", sub);
        return CLI_USAGE;
    }
    snprintf(path, sizeof path, "/v1/intents/%s/%s", hex, verb);
    cJSON *ans = NULL;
    int rc = post(cfg, sub, path, NULL, &ans);
    if (!rc) {
        if (o->json)
            cli_print_json(ans);
        else
            printf("%s: %s\n", cli_json_str(ans, "intent_id", hex), cli_json_str(ans, "state", "?"));
    }
    cJSON_Delete(ans);
    return rc;
}

static int run_retry(const struct ferry_config *cfg, struct iopts *o) { return act(cfg, o, "retry"); }
static int run_cancel(const struct ferry_config *cfg, struct iopts *o) { return act(cfg, o, "cancel"); }

static const struct sub subs[] = {
    {"prepare", "FILE", O_CONFIG | O_JSON, run_prepare},
    {"submit", "FILE", O_CONFIG | O_JSON | O_SIGNATURE | O_SIGN_WITH | O_KEYSTORE_DIR | O_PASSWORD_FILE, run_submit},
    {"show", "ID", O_CONFIG | O_JSON, run_show},
    {"list", NULL, O_CONFIG | O_JSON | O_STATE | O_OWNER | O_CHAIN | O_LIMIT | O_PENDING, run_list},
    {"retry", "ID", O_CONFIG | O_JSON, run_retry},
    {"cancel", "ID", O_CONFIG | O_JSON, run_cancel},
};

int cmd_intent(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stderr, "intent");
        return CLI_USAGE;
    }
    const struct sub *sub = NULL;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (!strcmp(argv[1], subs[i].name))
            sub = &subs[i];
    if (!sub)
        return cli_usage_error("intent", "intent %s: unknown subcommand (prepare, submit, show, list, retry, cancel)",
                               argv[1]);
    struct iopts o;
    memset(&o, 0, sizeof o);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        size_t k = 0, n = sizeof options / sizeof options[0];
        while (k < n && strcmp(a, options[k].name) != 0)
            k++;
        if (k == n || !(sub->takes & options[k].bit)) {
            if (a[0] == '-' && a[1])
                return cli_usage_error("intent", "intent %s: unknown option '%s'", sub->name, a);
            if (!sub->positional || o.arg)
                return cli_usage_error("intent", "intent %s: unexpected argument '%s'", sub->name, a);
            o.arg = a;
            continue;
        }
        char *field = (char *)&o + options[k].off;
        if (!options[k].value) {
            *(bool *)field = true;
            continue;
        }
        if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))
            return cli_usage_error("intent", "intent %s: %s needs a value", sub->name, a);
        *(const char **)field = argv[++i];
    }
    if (sub->positional && !o.arg)
        return cli_usage_error("intent", "intent %s: missing %s", sub->name, sub->positional);
    struct ferry_config cfg;
    if (cli_config_load(cli_config_path(o.config), &cfg))
        return CLI_FAIL;
    int rc = sub->run(&cfg, &o);
    config_free(&cfg);
    return rc;
}
