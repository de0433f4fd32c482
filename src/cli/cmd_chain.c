/* ferry chain status: one chain's head, scan cursor and lag, endpoints and their health,
 * submitter address, nonce and balance. Also the shared set-up of the operator commands that
 * talk to a chain without the daemon (cmd_tx.c): the config, the store under its data_dir,
 * the submitter key from the keystore, and the chain opened through its family's chain_ops
 * (ferry/chain.h) on a loop of our own. The watcher is never started here: the CLI hands no
 * events to anyone and never moves a cursor. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "ferry/keystore.h"
#include "ferry/log.h"
#include "ferry/signer.h"
#include "ferry/store.h"
#include "ferry/u256.h"

/* ---- the submitter key ---- */

static enum ferry_err load_submitter(struct cli_chain *cc)
{
    char dir[4096], path[4200];
    cli_keystore_dir(&cc->cfg, NULL, dir, sizeof dir);
    enum ferry_err e;
    if ((e = keystore_path(path, sizeof path, dir, cc->ch->submitter)))
        return e;
    if (access(path, R_OK) != 0)
        return ferry_fail(FERRY_ENOTFOUND, "no keystore file for the submitter key \"%s\" (%s)", cc->ch->submitter,
                          path);
    char *pw = NULL;
    size_t len = 0;
    if ((e = cli_keystore_password(&cc->cfg, NULL, &pw, &len)))
        return e;
    e = signer_load_keystore(cc->sg, cc->ch->submitter, path, pw, len);
    secret_free(pw);
    if (e)
        return ferry_fail_ctx(e, "submitter key \"%s\"", cc->ch->submitter);
    return FERRY_OK;
}

/* ---- the chain, opened without the daemon ---- */

static void on_flush(struct loop_hook *h, void *ud)
{
    (void)h;
    struct cli_chain *cc = ud;
    if (store_pending(cc->st))
        (void)store_flush(cc->st);
}

static void ignore_events(void *engine, struct chain *c, const struct chain_event *ev, size_t n, uint64_t token)
{
    (void)engine, (void)c, (void)ev, (void)n, (void)token; /* no events_done: the cursor stays */
}

static void on_submission(void *engine, struct chain *c, const struct chain_submission *s)
{
    (void)c;
    struct cli_chain *cc = engine;
    if (cc->on_sub)
        cc->on_sub(cc->ud, s);
}

static enum ferry_err make_dir(const char *path)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0700) != 0 && errno != EEXIST)
                return ferry_fail(FERRY_EIO, "cannot create %s: %s", p, strerror(errno));
            *s = '/';
        }
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        return ferry_fail(FERRY_EIO, "cannot create %s: %s", p, strerror(errno));
    return FERRY_OK;
}

int cli_chain_open(struct cli_chain *cc, const char *config_path, const char *name, bool store_required)
{
    /* the modules' progress lines are for the daemon's log; an operator wants the outcome */
    if (!getenv("FERRY_CLI_VERBOSE"))
        log_set_level(LOGL_WARN);
    struct config_problems probs = {0};
    if (config_load(config_path, &cc->cfg, &probs)) {
        config_problems_print(stderr, config_path, &probs);
        config_problems_free(&probs);
        return CLI_FAIL;
    }
    config_problems_free(&probs);
    cc->ch = config_chain_by_name(&cc->cfg, name);
    if (!cc->ch) {
        char names[512] = "";
        for (size_t i = 0; i < cc->cfg.n_chains; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                     cc->cfg.chains[i].name);
        ferry_err_clear();
        cli_error("no chain \"%s\" in %s (its chains: %s)", name, config_path, names);
        return CLI_USAGE;
    }
    const struct chain_ops *ops = NULL;
    for (const struct chain_ops *const *f = chain_families(); *f; f++)
        if (cc->ch->kind == CONFIG_CHAIN_EVM && !strcmp((*f)->name, "evm"))
            ops = *f;
    if (!ops) {
        cli_error("chain \"%s\": no adapter for its kind", name);
        return CLI_FAIL;
    }
    cc->ops = ops;
    if (loop_new(&cc->loop) || signer_new(&cc->sg)) {
        cli_error("cannot set up");
        return CLI_FAIL;
    }
    if (make_dir(cc->cfg.data_dir)) {
        cli_error("data_dir");
        return CLI_FAIL;
    }
    if (store_open(&cc->st, "leveldb", cc->cfg.data_dir)) {
        bool busy = strstr(ferry_errmsg(), "in use by another ferry process") != NULL;
        if (!busy || store_required) {
            if (busy)
                cli_error("the daemon is running (it holds the store in %s); this command cannot share the "
                          "store yet: stop the daemon first",
                          cc->cfg.data_dir);
            else
                cli_error("cannot open the store in %s", cc->cfg.data_dir);
            return CLI_FAIL;
        }
        /* the daemon holds it: what the chain says is still worth showing */
        ferry_err_clear();
        if (store_open(&cc->st, "mem", "")) {
            cli_error("cannot open a store");
            return CLI_FAIL;
        }
        cc->store_busy = true;
    }
    loop_hook_init(cc->loop, &cc->flush, on_flush, cc);
    loop_hook_start(&cc->flush);
    if (load_submitter(cc)) {
        cli_error("chain \"%s\"", name);
        return CLI_FAIL;
    }
    struct chain_env env = {.loop = cc->loop,
                            .store = cc->st,
                            .signer = cc->sg,
                            .engine = cc,
                            .on_events = ignore_events,
                            .on_submission = on_submission};
    if (ops->open(&cc->c, cc->ch->json, &env)) {
        cli_error("cannot open chain \"%s\"", name);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_chain_run(struct cli_chain *cc, bool (*done)(void *ud), void *ud, uint64_t timeout_ms)
{
    uint64_t end = loop_clock_ms() + timeout_ms;
    while (!done(ud)) {
        uint64_t now = loop_clock_ms();
        if (now >= end)
            return CLI_FAIL;
        if (loop_run_once(cc->loop, (int64_t)(end - now < 100 ? end - now : 100))) {
            cli_error("event loop");
            return CLI_FAIL;
        }
    }
    return CLI_OK;
}

void cli_chain_close(struct cli_chain *cc)
{
    if (cc->c)
        cc->ops->close(cc->c);
    if (cc->loop)
        loop_hook_stop(&cc->flush);
    if (cc->st && store_close(cc->st))
        cli_error("closing the store");
    if (cc->loop)
        loop_free(cc->loop);
    signer_free(cc->sg);
    config_free(&cc->cfg);
    memset(cc, 0, sizeof *cc);
}

/* ---- ferry chain status ---- */

static bool probed(void *ud)
{
    struct cli_chain *cc = ud;
    cJSON *s = cc->ops->status(cc->c);
    bool done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "probed"));
    cJSON_Delete(s);
    return done;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "12.5 ether" from a decimal wei string (exact: digits moved, not divided). */
static void ether(char *out, size_t n, const char *wei)
{
    size_t len = strlen(wei);
    char whole[80], frac[19];
    if (len > 18) {
        snprintf(whole, sizeof whole, "%.*s", (int)(len - 18), wei);
        snprintf(frac, sizeof frac, "%s", wei + len - 18);
    } else {
        snprintf(whole, sizeof whole, "0");
        snprintf(frac, sizeof frac, "%0*d%s", (int)(18 - len), 0, wei);
        if (len == 18)
            snprintf(frac, sizeof frac, "%s", wei);
    }
    size_t f = strlen(frac);
    while (f && frac[f - 1] == '0')
        frac[--f] = 0;
    snprintf(out, n, "%s%s%s ether", whole, f ? "." : "", frac);
}

static void print_human(const cJSON *s, bool store_busy)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(s, "head");
    const cJSON *cu = cJSON_GetObjectItemCaseSensitive(s, "cursor");
    const cJSON *sj = cJSON_GetObjectItemCaseSensitive(s, "submitter");
    printf("chain: %s (%s, chain id %.0f)\n", str(s, "name"), str(s, "kind"), num(s, "chain_id"));
    if (num(h, "number") > 0) {
        time_t t = (time_t)num(h, "timestamp");
        char ts[32];
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        printf("head: %.0f (%s; confirmed %.0f at %.0f confirmations)\n", num(h, "number"), ts, num(h, "confirmed"),
               num(s, "confirmations"));
    } else {
        printf("head: unknown\n");
    }
    if (store_busy)
        printf("cursor: unknown (the store is in use by the daemon; see GET /metrics on the daemon: ferry_chain_scan_lag_blocks)\n");
    else if (num(cu, "next_block") > 0)
        printf("cursor: next block %.0f, lag %.0f blocks%s\n", num(cu, "next_block"), num(cu, "lag_blocks"),
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cu, "paused")) ? " (PAUSED by a deep reorg)" : "");
    else
        printf("cursor: none yet (never scanned; scanning starts at block 0)\n");
    const cJSON *ep;
    cJSON_ArrayForEach(ep, cJSON_GetObjectItemCaseSensitive(s, "endpoints"))
    {
        const cJSON *eh = cJSON_GetObjectItemCaseSensitive(ep, "head");
        char head[32] = "unknown";
        if (cJSON_IsNumber(eh))
            snprintf(head, sizeof head, "%.0f", eh->valuedouble);
        printf("endpoint: %s %s, head %s, %.0f requests, %.0f errors, %.1f ms\n", str(ep, "name"),
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ep, "healthy")) ? "healthy" : "UNHEALTHY", head,
               num(ep, "requests"), num(ep, "errors"), num(ep, "latency_ms"));
    }
    printf("submitter: %s %s\n", str(sj, "key"), str(sj, "address"));
    const char *bal = str(sj, "balance_wei");
    if (bal) {
        char eth[128];
        ether(eth, sizeof eth, bal);
        printf("nonce: %.0f\n", num(sj, "nonce"));
        printf("balance: %s wei (%s)\n", bal, eth);
    } else {
        printf("nonce: unknown\nbalance: unknown\n");
    }
    if (str(sj, "halted"))
        printf("transactions: HALTED: %s\n", str(sj, "halted"));
    if (str(s, "probe_error"))
        printf("error: %s\n", str(s, "probe_error"));
}

int cmd_chain(int argc, char **argv)
{
    const char *config = NULL, *name = NULL;
    bool json = false;
    if (argc < 2 || strcmp(argv[1], "status") != 0) {
        if (argc >= 2)
            cli_error("unknown subcommand '%s'", argv[1]);
        cli_usage(stderr, "chain");
        return CLI_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            json = true;
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else {
            cli_error("%s: %s", argv[i], argv[i][0] == '-' ? "unknown option or missing value" : "unexpected argument");
            cli_usage(stderr, "chain");
            return CLI_USAGE;
        }
    }
    if (!name || !config) {
        cli_error("%s", !name ? "which chain? give its NAME" : "--config FILE is required");
        cli_usage(stderr, "chain");
        return CLI_USAGE;
    }
    struct cli_chain cc = {0};
    int rc = cli_chain_open(&cc, config, name, false);
    if (rc) {
        cli_chain_close(&cc);
        return rc;
    }
    uint64_t wait = cc.ch->rpc_timeout_ms * 3 + 1000;
    if (cli_chain_run(&cc, probed, &cc, wait))
        fprintf(stderr, "ferry: chain %s: no answer from its endpoints within %" PRIu64 " ms\n", name, wait);
    cJSON *s = cc.ops->status(cc.c);
    if (!s) {
        cli_error("out of memory");
        cli_chain_close(&cc);
        return CLI_FAIL;
    }
    rc = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "probed")) && !str(s, "probe_error") ? CLI_OK : CLI_FAIL;
    if (json) {
        cJSON_AddBoolToObject(s, "store_in_use", cc.store_busy);
        char *text = cJSON_Print(s);
        if (text)
            printf("%s\n", text);
        free(text);
    } else {
        print_human(s, cc.store_busy);
    }
    cJSON_Delete(s);
    cli_chain_close(&cc);
    return rc;
}
