/* `ferry start`: one process, one loop. Start-up goes from the cheapest checks to the most expensive
 * and stateful steps (config and chain families, then the store lock, then key decryption, then
 * the chains), so a mistake is reported before anything is opened or decrypted. docs/daemon.md. */
#include "ferry/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ferry/api.h"
#include "ferry/chain.h"
#include "ferry/config.h"
#include "ferry/engine.h"
#include "ferry/intent.h"
#include "ferry/keystore.h"
#include "ferry/log.h"
#include "ferry/loop.h"
#include "ferry/metrics.h"
#include "ferry/orch.h"
#include "ferry/secret.h"
#include "ferry/signer.h"
#include "ferry/store.h"
#include "ferry/version.h"

struct dchain {
    const struct ferry_chain_config *cfg;
    const struct chain_ops *ops;
    struct chain *c;
    bool started;
};

struct daemon {
    struct ferry_config cfg;
    FILE *err;
    const struct daemon_options *opts;
    struct store *store;
    struct signer *signer;
    struct metrics *metrics;
    struct loop *loop;
    struct engine *engine;
    struct chain_env eng_env; /* the engine's callbacks, behind the daemon's routing wrappers */
    struct orch *orch;        /* NULL when intents are disabled */
    struct intent_chain_info *dir; /* the orchestrator's chain directory (copied by orch_new) */
    struct api *api;
    struct dchain *chains;
    size_t n_chains;
    struct api_chain_name *names;
    struct engine_attester *attesters;
    size_t n_attesters;
    struct loop_timer tick;
    struct loop_timer kick; /* a zero-delay tick the engine or the orchestrator asked for (new work) */
    struct loop_hook flush;
    bool tick_on, kick_on, flush_on;
    enum ferry_err failure; /* what stopped the loop, if not a signal */
    char failure_msg[512];
};

static const char *kind_name(enum config_chain_kind k)
{
    switch (k) {
    case CONFIG_CHAIN_EVM:
        return "evm";
    }
    return "?";
}

static enum log_level level_of(enum config_log_level l)
{
    switch (l) {
    case CONFIG_LOG_ERROR:
        return LOGL_ERROR;
    case CONFIG_LOG_WARN:
        return LOGL_WARN;
    case CONFIG_LOG_INFO:
        return LOGL_INFO;
    case CONFIG_LOG_DEBUG:
        return LOGL_DEBUG;
    }
    return LOGL_INFO;
}

/* The first, non-empty line of a secret file in guarded memory (*out, sodium_free'd by the
 * caller); `what` is the secret ("API token"). */
static enum ferry_err read_secret_line(const char *path, const char *what, char **out, size_t *len)
{
    char label[64];
    snprintf(label, sizeof label, "the %s file", what);
    return secret_read_line(path, label, KEYSTORE_PASSWORD_MAX, false, out, len);
}

static enum ferry_err copy_secret(const char *s, char **out, size_t *len)
{
    size_t l = strlen(s);
    *out = sodium_malloc(l + 1);
    if (!*out)
        return ferry_fail(FERRY_ENOMEM, "out of guarded memory");
    memcpy(*out, s, l + 1);
    *len = l;
    return FERRY_OK;
}

static void fail_print(struct daemon *d, const char *step)
{
    const char *detail = ferry_errmsg();
    fprintf(d->err, "ferry start: %s%s%s\n", step, detail[0] ? ": " : "", detail);
    log_kv(LOGL_ERROR, "daemon", "start-up failed", "step", step, "detail", detail, NULL);
}

/* ---- step 1: config and chain families ---- */

struct problem_ctx {
    struct config_problems *p;
    char prefix[64];
};

static void family_problem(void *ud, const char *path, const char *msg)
{
    struct problem_ctx *c = ud;
    char full[160];
    snprintf(full, sizeof full, "%s%s%s", c->prefix, path && *path ? "." : "", path ? path : "");
    config_problem_add(c->p, full, "%s", msg);
}

static enum ferry_err load_config(struct daemon *d, const char *path)
{
    struct config_problems problems = {0};
    enum ferry_err e = config_load(path, &d->cfg, &problems);
    if (!e) {
        d->n_chains = d->cfg.n_chains;
        d->chains = calloc(d->n_chains ? d->n_chains : 1, sizeof *d->chains);
        if (!d->chains)
            e = ferry_fail(FERRY_ENOMEM, "out of memory");
        for (size_t i = 0; !e && i < d->n_chains; i++) {
            const struct ferry_chain_config *cc = &d->cfg.chains[i];
            char where[32];
            snprintf(where, sizeof where, "chains[%zu]", i);
            d->chains[i].cfg = cc;
            d->chains[i].ops = d->opts->family ? d->opts->family(kind_name(cc->kind)) : chain_family(kind_name(cc->kind));
            if (!d->chains[i].ops) {
                config_problem_add(&problems, where,
                                   "chain family %s not available in this build (chain \"%s\"): no adapter "
                                   "registered in src/chain.c",
                                   kind_name(cc->kind), cc->name);
                continue;
            }
            struct problem_ctx pc = {&problems, ""};
            snprintf(pc.prefix, sizeof pc.prefix, "%s", where);
            d->chains[i].ops->check_config(cc->json, family_problem, &pc);
        }
        if (!e && config_problems_count(&problems))
            e = ferry_fail(FERRY_EINVAL, "%zu problem(s) in %s", config_problems_count(&problems), path);
    }
    if (config_problems_count(&problems)) {
        char prefix[4200];
        snprintf(prefix, sizeof prefix, "ferry start: %s", path);
        config_problems_print(d->err, prefix, &problems);
    }
    config_problems_free(&problems);
    return e;
}

/* ---- step 3: keys ---- */

static enum ferry_err keystore_password(const struct daemon *d, char **pw, size_t *len)
{
    if (d->cfg.keystore.password_file)
        return read_secret_line(d->cfg.keystore.password_file, "keystore password", pw, len);
    const char *env = getenv("FERRY_PASSWORD");
    if (env && *env)
        return copy_secret(env, pw, len);
    return ferry_fail(FERRY_EINVAL, "no keystore password: set keystore.password_file in the config, or "
                                    "FERRY_PASSWORD in the environment");
}

static bool key_loaded(const struct signer *s, const char *name)
{
    uint8_t addr[ADDRESS_LEN];
    return signer_address(s, name, addr) == FERRY_OK;
}

static enum ferry_err load_key(struct daemon *d, const char *dir, const char *name, const char *pw, size_t pwlen)
{
    if (key_loaded(d->signer, name))
        return FERRY_OK;
    char path[4096];
    enum ferry_err e = keystore_path(path, sizeof path, dir, name);
    if (!e)
        e = signer_load_keystore(d->signer, name, path, pw, pwlen);
    if (e)
        return ferry_fail_ctx(e, "key \"%s\" (%s/%s)", name, dir, name);
    uint8_t addr[ADDRESS_LEN];
    char hex[ADDRESS_STR];
    if (!signer_address(d->signer, name, addr)) {
        address_to_checksum(hex, addr);
        log_kv(LOGL_INFO, "daemon", "key loaded", "name", name, "address", hex, NULL);
    }
    return FERRY_OK;
}

static enum ferry_err load_keys(struct daemon *d)
{
    char dirbuf[4096];
    const char *dir = d->cfg.keystore.dir;
    if (!dir)
        dir = getenv("FERRY_KEYSTORE_DIR");
    if (!dir || !*dir) {
        const char *home = getenv("HOME");
        if (!home || !*home)
            return ferry_fail(FERRY_EINVAL, "no keystore directory: set keystore.dir in the config");
        snprintf(dirbuf, sizeof dirbuf, "%s/.ferry/keys", home);
        dir = dirbuf;
    }
    char *pw = NULL;
    size_t pwlen = 0;
    enum ferry_err e = signer_new(&d->signer);
    if (!e)
        e = keystore_password(d, &pw, &pwlen);
    for (size_t i = 0; !e && i < d->cfg.attesters.keys.n; i++)
        e = load_key(d, dir, d->cfg.attesters.keys.v[i], pw, pwlen);
    for (size_t i = 0; !e && i < d->cfg.n_chains; i++)
        if (d->cfg.chains[i].submitter)
            e = load_key(d, dir, d->cfg.chains[i].submitter, pw, pwlen);
    if (pw)
        sodium_free(pw);
    if (e)
        return e;
    d->n_attesters = d->cfg.attesters.keys.n;
    d->attesters = calloc(d->n_attesters ? d->n_attesters : 1, sizeof *d->attesters);
    if (!d->attesters)
        return ferry_fail(FERRY_ENOMEM, "out of memory");
    for (size_t i = 0; i < d->n_attesters; i++) {
        d->attesters[i].key_name = d->cfg.attesters.keys.v[i];
        if ((e = signer_address(d->signer, d->attesters[i].key_name, d->attesters[i].address)))
            return e;
    }
    return FERRY_OK;
}

static enum ferry_err sign_digest(void *ud, const char *key_name, const uint8_t digest[32],
                                  uint8_t sig[CHAIN_SIG_LEN])
{
    return signer_sign_digest(ud, key_name, digest, sig);
}

/* ---- the running daemon ---- */

static void stop_with(struct daemon *d, enum ferry_err e, const char *what)
{
    if (!d->failure) {
        d->failure = e;
        snprintf(d->failure_msg, sizeof d->failure_msg, "%s: %s", what, ferry_errmsg());
        log_kv(LOGL_ERROR, "daemon", "stopping on a failure", "what", what, "detail", ferry_errmsg(), NULL);
    }
    loop_stop(d->loop);
}

static void on_tick(struct loop_timer *t, void *ud)
{
    struct daemon *d = ud;
    uint64_t now = (uint64_t)time(NULL);
    enum ferry_err e = engine_tick(d->engine, now);
    if (e) {
        stop_with(d, e, "engine");
        return;
    }
    if (d->orch && (e = orch_tick(d->orch, now)))
        stop_with(d, e, "intent orchestrator");
}

static void kick_engine(void *ud)
{
    struct daemon *d = ud;
    if (!loop_timer_armed(&d->kick))
        loop_timer_start(&d->kick, 0, 0);
}

static void on_turn_end(struct loop_hook *h, void *ud)
{
    struct daemon *d = ud;
    enum ferry_err e = store_flush(d->store);
    if (e)
        stop_with(d, e, "store flush");
    else if ((e = engine_failed(d->engine)))
        stop_with(d, e, "engine");
    else if (d->orch && (e = orch_failed(d->orch)))
        stop_with(d, e, "intent orchestrator");
}

/* ---- chain callbacks: the adapters call the daemon, which hands each to its consumer ----
 * Intent events go to the orchestrator; the adapter calls on_intent_events before on_events for
 * the same blocks, so the orchestrator's store writes are queued before the engine's batch that
 * releases the watcher's cursor (chain.h). Submissions go by id: the orchestrator's start with
 * ORCH_SUB_PREFIX. Heads go to both. */

static void route_events(void *ud, struct chain *c, const struct chain_event *ev, size_t n, uint64_t token)
{
    struct daemon *d = ud;
    d->eng_env.on_events(d->eng_env.engine, c, ev, n, token);
}

static void route_deep_reorg(void *ud, struct chain *c, uint64_t from_block, const char *detail)
{
    struct daemon *d = ud;
    if (d->eng_env.on_deep_reorg)
        d->eng_env.on_deep_reorg(d->eng_env.engine, c, from_block, detail);
}

static void route_submission(void *ud, struct chain *c, const struct chain_submission *s)
{
    struct daemon *d = ud;
    if (d->orch && orch_on_submission(d->orch, c, s))
        return;
    if (d->eng_env.on_submission)
        d->eng_env.on_submission(d->eng_env.engine, c, s);
}

static void route_head(void *ud, struct chain *c, const struct chain_head *h)
{
    struct daemon *d = ud;
    if (d->eng_env.on_head)
        d->eng_env.on_head(d->eng_env.engine, c, h);
    if (d->orch)
        orch_on_head(d->orch, c, h);
}

static void route_intent_events(void *ud, struct chain *c, const struct chain_intent_event *ev, size_t n)
{
    struct daemon *d = ud;
    if (d->orch)
        orch_on_intent_events(d->orch, c, ev, n);
}

static cJSON *health(void *ud, bool *healthy)
{
    struct daemon *d = ud;
    cJSON *arr = cJSON_CreateArray();
    uint64_t now = (uint64_t)time(NULL);
    *healthy = true;
    for (size_t i = 0; arr && i < d->n_chains; i++) {
        struct dchain *dc = &d->chains[i];
        struct chain_head h = dc->c ? dc->ops->head(dc->c) : (struct chain_head){0};
        uint64_t lag = h.timestamp && now > h.timestamp ? now - h.timestamp : 0;
        /* A head older than ten blocks (and at least a minute) means the chain or its RPC is stuck. */
        uint64_t max_lag = dc->cfg->block_time_ms / 100;
        if (max_lag < 60)
            max_lag = 60;
        bool ok = h.number > 0 && lag <= max_lag;
        if (!ok)
            *healthy = false;
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o) || !cJSON_AddStringToObject(o, "name", dc->cfg->name) ||
            !cJSON_AddNumberToObject(o, "chain_id", (double)dc->cfg->chain_id) ||
            !cJSON_AddNumberToObject(o, "head", (double)h.number) ||
            !cJSON_AddNumberToObject(o, "confirmed", (double)h.confirmed) ||
            !cJSON_AddNumberToObject(o, "lag_s", (double)lag) ||
            !cJSON_AddStringToObject(o, "status", h.number == 0 ? "no head yet" : ok ? "ok" : "lagging")) {
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

static enum ferry_err open_chains(struct daemon *d)
{
    for (size_t i = 0; i < d->n_chains; i++) {
        struct dchain *dc = &d->chains[i];
        struct chain_env env = {
            .engine = d,
            .on_events = route_events,
            .on_deep_reorg = route_deep_reorg,
            .on_submission = route_submission,
            .on_head = route_head,
            .on_intent_events = d->orch ? route_intent_events : NULL,
        };
        env.loop = d->loop;
        env.store = d->store;
        env.signer = d->signer;
        env.metrics = d->metrics; /* adapters register their own series (scan lag, balance, txs, RPC) */
        enum ferry_err e = dc->ops->open(&dc->c, dc->cfg->json, &env);
        if (e)
            return ferry_fail_ctx(e, "opening chain %s", dc->cfg->name);
        /* chains[].max_batch bounds the deliveries to this chain */
        struct engine_chain_config cc = {.batch_max = (uint32_t)dc->cfg->max_batch,
                                         .inflight_max = (uint32_t)dc->cfg->max_in_flight};
        if ((e = engine_add_chain(d->engine, dc->ops, dc->c, &cc)))
            return ferry_fail_ctx(e, "adding chain %s", dc->cfg->name);
        /* every chain: one without a router, or of a family without query_intent, is accepted
         * and takes no part in intents (orch_add_chain) */
        if (d->orch && (e = orch_add_chain(d->orch, dc->ops, dc->c)))
            return ferry_fail_ctx(e, "adding chain %s to the intent orchestrator", dc->cfg->name);
    }
    return FERRY_OK;
}

/* The orchestrator, when intents are enabled: its chain directory from the config (every chain,
 * routers where configured: an intent naming a chain without one is refused by the parser). */
/* Journal entries are durable: wake the event streams that wait for them. */
static void on_journal(void *ud, uint64_t last_id)
{
    struct daemon *d = ud;
    api_events_notify(d->api, last_id);
}

static enum ferry_err new_orch(struct daemon *d)
{
    if (!d->cfg.intents.enabled) {
        log_msg(LOGL_INFO, "daemon", "intents disabled (no chain names a router, or intents.enabled is false)");
        return FERRY_OK;
    }
    d->dir = calloc(d->n_chains ? d->n_chains : 1, sizeof *d->dir);
    if (!d->dir)
        return ferry_fail(FERRY_ENOMEM, "out of memory");
    for (size_t i = 0; i < d->n_chains; i++) {
        const struct ferry_chain_config *cc = &d->cfg.chains[i];
        struct intent_chain_info *ci = &d->dir[i];
        ci->name = cc->name;
        ci->chain_id = cc->chain_id;
        if (cc->router.set)
            memcpy(ci->router, cc->router.bytes, ADDRESS_LEN);
        ci->block_time_ms = cc->block_time_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)cc->block_time_ms;
        /* the adapter's depth: it takes 0 as 1 (the head block has one confirmation) */
        ci->confirmations = cc->confirmations ? (uint32_t)cc->confirmations : 1;
    }
    struct orch_config oc;
    orch_config_default(&oc);
    oc.store = d->store;
    oc.metrics = d->metrics;
    oc.dir = (struct intent_dir){d->dir, d->n_chains};
    oc.retry_limit = (uint32_t)d->cfg.intents.retry_limit;
    oc.max_pending = (uint32_t)d->cfg.intents.max_pending;
    oc.backoff_base_s = (uint32_t)d->cfg.intents.backoff_base_s;
    oc.backoff_max_s = (uint32_t)d->cfg.intents.backoff_max_s;
    oc.notify = on_journal; /* the API starts later: until then d->api is NULL, which it ignores */
    oc.notify_ud = d;
    oc.kick = kick_engine; /* the same zero-delay timer: on_tick runs both */
    oc.kick_ud = d;
    return orch_new(&d->orch, &oc);
}

static enum ferry_err start_api(struct daemon *d)
{
    char *token = NULL;
    size_t tlen = 0;
    enum ferry_err e = FERRY_OK;
    if (d->cfg.api.token_file) {
        e = read_secret_line(d->cfg.api.token_file, "API token", &token, &tlen);
    } else if (d->cfg.api.token_env) {
        const char *v = getenv(d->cfg.api.token_env);
        if (!v || !*v)
            e = ferry_fail(FERRY_EINVAL, "api.token_env names $%s, which is not set", d->cfg.api.token_env);
        else
            e = copy_secret(v, &token, &tlen);
    }
    if (e)
        return e;
    d->names = calloc(d->n_chains ? d->n_chains : 1, sizeof *d->names);
    if (!d->names) {
        if (token)
            sodium_free(token);
        return ferry_fail(FERRY_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < d->n_chains; i++)
        d->names[i] = (struct api_chain_name){d->cfg.chains[i].name, d->cfg.chains[i].chain_id};
    struct api_config ac = {
        .loop = d->loop,
        .store = d->store,
        .engine = d->engine,
        .orch = d->orch,
        .metrics = d->metrics,
        .host = d->cfg.api.listen.host,
        .port = d->cfg.api.listen.port,
        .token = token,
        .max_body = (size_t)d->cfg.api.max_body_bytes,
        .chains = d->names,
        .n_chains = d->n_chains,
        .health = health,
        .health_ud = d,
    };
    e = api_start(&d->api, &ac);
    if (token)
        sodium_free(token);
    if (!e && !tlen)
        log_msg(LOGL_WARN, "daemon", "no API token configured: every API write is refused");
    return e;
}

static enum ferry_err start(struct daemon *d, const char *path)
{
    enum ferry_err e;
    if ((e = load_config(d, path))) {
        fail_print(d, "not started");
        return e;
    }
    log_set_level(level_of(d->cfg.log_level));
    log_kv(LOGL_INFO, "daemon", "starting", "version", FERRY_VERSION, "config", path, NULL);
    if ((e = store_open(&d->store, "leveldb", d->cfg.data_dir))) {
        fail_print(d, "opening the store");
        return e;
    }
    if ((e = load_keys(d))) {
        fail_print(d, "loading keys");
        return e;
    }
    if ((e = metrics_new(&d->metrics)) || (e = loop_new(&d->loop)) || (e = loop_stop_on_signals(d->loop))) {
        fail_print(d, "setting up");
        return e;
    }
    struct engine_config ec;
    engine_config_default(&ec);
    ec.store = d->store;
    ec.metrics = d->metrics;
    ec.attesters = d->attesters;
    ec.n_attesters = d->n_attesters;
    ec.threshold = (unsigned)d->cfg.attesters.threshold;
    ec.sign = sign_digest;
    ec.sign_ud = d->signer;
    loop_timer_init(d->loop, &d->kick, on_tick, d);
    d->kick_on = true;
    ec.kick = kick_engine;
    ec.kick_ud = d;
    ec.retry_limit = (uint32_t)d->cfg.relayer.retry_limit;
    /* The engine counts backoff in whole seconds. */
    ec.backoff_base_s = (uint32_t)((d->cfg.relayer.backoff_base_ms + 999) / 1000);
    ec.backoff_max_s = (uint32_t)((d->cfg.relayer.backoff_max_ms + 999) / 1000);
    if (ec.backoff_max_s < ec.backoff_base_s)
        ec.backoff_max_s = ec.backoff_base_s;
    if ((e = engine_new(&d->engine, &ec))) {
        fail_print(d, "starting the engine");
        return e;
    }
    engine_chain_env(d->engine, &d->eng_env);
    if ((e = new_orch(d))) {
        fail_print(d, "starting the intent orchestrator");
        return e;
    }
    if ((e = open_chains(d))) {
        fail_print(d, "opening chains");
        return e;
    }
    if ((e = engine_start(d->engine, (uint64_t)time(NULL)))) {
        fail_print(d, "reconciling the engine with the chains");
        return e;
    }
    if (d->orch && (e = orch_start(d->orch, (uint64_t)time(NULL)))) {
        fail_print(d, "reconciling the intent orchestrator with the chains");
        return e;
    }
    /* The records engine_start and orch_start rewrote are durable before any chain starts acting
     * on them. */
    if ((e = store_flush(d->store))) {
        fail_print(d, "flushing the store");
        return e;
    }
    for (size_t i = 0; i < d->n_chains; i++) {
        if ((e = d->chains[i].ops->start(d->chains[i].c))) {
            ferry_fail_ctx(e, "chain %s", d->chains[i].cfg->name);
            fail_print(d, "starting chains");
            return e;
        }
        d->chains[i].started = true;
    }
    if ((e = start_api(d))) {
        fail_print(d, "starting the API");
        return e;
    }
    loop_timer_init(d->loop, &d->tick, on_tick, d);
    loop_timer_start(&d->tick, 0, 1000);
    d->tick_on = true;
    loop_hook_init(d->loop, &d->flush, on_turn_end, d);
    loop_hook_start(&d->flush);
    d->flush_on = true;
    char listen[96];
    snprintf(listen, sizeof listen, "%s:%u", d->cfg.api.listen.host, (unsigned)api_port(d->api));
    log_fields(LOGL_INFO, "daemon", "started",
               (struct log_field[]){LOG_STR("api", listen), LOG_U64("chains", d->n_chains),
                                    LOG_U64("attesters", d->n_attesters), LOG_STR("data_dir", d->cfg.data_dir)},
               4);
    return FERRY_OK;
}

/* Undoes start() in reverse, whatever step it reached. */
static enum ferry_err shutdown_all(struct daemon *d)
{
    enum ferry_err e = FERRY_OK;
    if (d->tick_on)
        loop_timer_stop(&d->tick);
    if (d->kick_on)
        loop_timer_stop(&d->kick);
    if (d->flush_on)
        loop_hook_stop(&d->flush);
    api_stop(d->api);
    d->api = NULL;
    for (size_t i = 0; d->chains && i < d->n_chains; i++)
        if (d->chains[i].started)
            d->chains[i].ops->stop(d->chains[i].c);
    if (d->store) {
        enum ferry_err fe = store_flush(d->store);
        if (fe) {
            e = fe;
            log_kv(LOGL_ERROR, "daemon", "final store flush failed", "detail", ferry_errmsg(), NULL);
        }
    }
    for (size_t i = 0; d->chains && i < d->n_chains; i++)
        if (d->chains[i].c)
            d->chains[i].ops->close(d->chains[i].c);
    if (d->orch)
        orch_free(d->orch);
    engine_free(d->engine);
    if (d->store) {
        enum ferry_err ce = store_close(d->store);
        if (ce && !e)
            e = ce;
    }
    signer_free(d->signer);
    metrics_free(d->metrics);
    if (d->loop)
        loop_free(d->loop);
    free(d->chains);
    free(d->names);
    free(d->dir);
    free(d->attesters);
    config_free(&d->cfg);
    return e;
}

enum ferry_err daemon_run(const struct daemon_options *opts)
{
    struct daemon d;
    memset(&d, 0, sizeof d);
    d.err = opts->err ? opts->err : stderr;
    d.opts = opts;
    if (!opts->config_path)
        return ferry_fail(FERRY_EINVAL, "ferry start: no config file");
    /* A reader of our stderr (a pipe to tee, a log shipper) that goes away must not kill the daemon
     * between a broadcast and its record: a failed log write is lost, the work goes on. Sockets
     * (libcurl, libmicrohttpd) already write with MSG_NOSIGNAL. */
    signal(SIGPIPE, SIG_IGN);
    enum ferry_err e = start(&d, opts->config_path);
    if (!e) {
        if (opts->ready)
            opts->ready(opts->ready_ud, api_port(d.api));
        e = loop_run(d.loop);
        if (e)
            log_kv(LOGL_ERROR, "daemon", "event loop failed", "detail", ferry_errmsg(), NULL);
        int sig = loop_stop_signal(d.loop);
        log_fields(LOGL_INFO, "daemon", "stopping",
                   (struct log_field[]){LOG_STR("reason", sig == SIGTERM ? "SIGTERM"
                                                          : sig == SIGINT ? "SIGINT"
                                                                          : "failure")},
                   1);
        if (!e)
            e = d.failure;
        if (d.failure)
            fprintf(d.err, "ferry start: stopped: %s\n", d.failure_msg);
    }
    enum ferry_err se = shutdown_all(&d);
    if (!e)
        e = se;
    if (!e)
        log_msg(LOGL_INFO, "daemon", "stopped cleanly");
    return e;
}
