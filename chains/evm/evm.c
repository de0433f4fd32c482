/* The EVM chain family: the glue between the engine's chain_ops (ferry/chain.h) and the EVM
 * modules: the JSON-RPC client (rpc.h), the log watcher (watch.h) and the transaction manager
 * (txmgr.h). docs/evm.md ("Adapter") describes what each op does on the chain.
 *
 * One struct chain per configured chain: one rpc client, one watcher, one manager for the
 * chain's submitter key. The engine's calls become Gateway calls encoded here (abi.h) and
 * submitted through the manager under the engine's submission id; attestation digests are the
 * Gateway's EIP-712 digests (attest.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evm/revert.h"
#include "evm/evm.h"
#include "evm/events.h"
#include "evm/gasmodel.h"
#include "evm/rpc.h"
#include "evm/txmgr.h"
#include "evm/watch.h"
#include "ferry/abi.h"
#include "ferry/config.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"
#include "ferry/log.h"
#include "ferry/metrics.h"

#define PROBE_EVERY_MS 10000 /* the submitter's balance and nonce are asked again this often */
#define EVM_RPC_MAX_BATCH 1000 /* calls per JSON-RPC batch: the client's limit, and the point queries' */
#define EVM_RECEIVER_CALL_OVERHEAD 5000 /* the Gateway's CALL_OVERHEAD in its receiver gas floor */
#define GAS_TRACKED 64        /* deliveries and acks in flight the gas models follow (the engine keeps ~8 + acks) */
#define GAS_BATCH_RECEIVERS 8 /* distinct receivers (acks: sender and outcome) of a batch the model prices */

/* A delivery or an acknowledgement batch in flight, for the gas models: what it learns from its
 * receipt, or forgets when a batch it priced reverts. */
struct gas_track {
    bool used;
    bool ack;      /* an acknowledgeBatch (the ack model), else a delivery */
    bool modelled; /* its gas limit came from the model */
    char id[TXMGR_ID_MAX + 1];
    size_t nrecv; /* distinct keys; GAS_BATCH_RECEIVERS + 1: more than that (not kept) */
    uint8_t recv[GAS_BATCH_RECEIVERS][32]; /* deliveries: the receiver; acks: ack_key() */
    size_t count[GAS_BATCH_RECEIVERS];     /* packets to recv[i] */
    size_t n;                          /* packets */
    uint64_t calldata_gas;
};

struct chain {
    struct chain_env env;
    cJSON *json;                  /* our copy of the config object (cfg points into it) */
    struct ferry_chain_config cfg;
    struct rpc_endpoint_config *eps;
    struct rpc_client *rpc;
    struct evm_watch *watch;
    struct txmgr *tx;
    uint8_t submitter[ADDRESS_LEN];
    uint32_t confirmations; /* the watcher's: a block with this many confirmations is final */
    bool started, tx_started, closing;
    struct evm_gateway_abi gw;
    uint8_t domain[32]; /* this Gateway's EIP-712 domain separator */
    uint8_t sel_intent_state[4]; /* IntentRouter.intentState(bytes32) */
    uint8_t sel_recv_gas[4];     /* Gateway.receiveGasLimit() */
    /* The probe: head, balance and nonce of the submitter, for status() (also when not started). */
    bool probing, probed;
    uint64_t probe_at;  /* loop ms of the last probe sent */
    uint64_t p_head, p_head_ts, p_nonce;
    u256 p_balance;
    char p_error[200];
    /* The Gateway's receiveGasLimit, read with every probe (0: not known yet): the headroom a
     * delivery's gas limit needs above what one execution uses (docs/evm.md, "Gas"). */
    bool recv_gas_asking;
    uint32_t recv_gas;
    /* The learned gas of deliveries to this chain and of acknowledgements on it (gasmodel.h), in
     * memory only: relearned after a restart. */
    struct evm_gas_model gas_model, ack_gas_model;
    struct gas_track gas_tracks[GAS_TRACKED];
    size_t n_gas_tracks;
    /* [0] deliveries, [1] acks: [k][0] priced by the model, [k][1] measured, [k][2] priced ones
     * that reverted; gas_last: the same, already exported */
    uint64_t gas_count[2][3], gas_last[2][3];
    /* Metrics (NULL families when the env has no registry). */
    struct metric *m_head, *m_confirmed, *m_lag, *m_balance, *m_tx, *m_rpc, *m_rpc_err;
    struct txmgr_stats m_last; /* counters already exported */
    /* Point queries waiting for the end of the turn, and those that failed to go out ("point queries"). */
    struct loop_defer q_flush, q_fail;
    struct qgroup *q_open, *q_failed;
    struct qgroup *q_answering; /* the group whose callbacks are running */
};

static const char *LOG_MOD = "evm";

/* ---- helpers ---- */

static void put_hex(char *out, const uint8_t *p, size_t n) { (void)hex_encode(out, p, n, true); }

static bool quantity(const cJSON *j, uint64_t *out)
{
    return cJSON_IsString(j) && hex_quantity_u64(out, j->valuestring) == FERRY_OK;
}

/* The confirmed head for a head: the newest block with `confirmations` confirmations. */
static uint64_t confirmed_of(const struct chain *c, uint64_t head)
{
    return head + 1 >= c->confirmations ? head + 1 - c->confirmations : 0;
}

/* ---- the probe (status when the watcher is not running, and the submitter's balance) ---- */

static void probe_done(void *ud, struct rpc_reply *r, size_t n)
{
    struct chain *c = ud;
    c->probing = false;
    if (c->closing)
        return;
    for (size_t i = 0; i < n; i++)
        if (r[i].err.kind != RPC_OK) {
            snprintf(c->p_error, sizeof c->p_error, "%s: %s", rpc_errkind_name(r[i].err.kind), r[i].err.message);
            c->probed = true;
            return;
        }
    uint64_t head = 0, ts = 0, nonce = 0;
    u256 bal;
    const cJSON *blk = r[1].result;
    if (!quantity(r[0].result, &head) || !cJSON_IsObject(blk) ||
        !quantity(cJSON_GetObjectItemCaseSensitive(blk, "timestamp"), &ts) || !cJSON_IsString(r[2].result) ||
        u256_from_quantity(&bal, r[2].result->valuestring) || !quantity(r[3].result, &nonce)) {
        snprintf(c->p_error, sizeof c->p_error, "malformed reply to the status probe");
        c->probed = true;
        return;
    }
    c->p_error[0] = 0;
    c->p_head = head;
    c->p_head_ts = ts;
    c->p_balance = bal;
    c->p_nonce = nonce;
    c->probed = true;
    char dec[U256_DEC_MAX];
    u256_to_dec(dec, bal);
    metric_set(c->m_balance, (const char *[]){c->cfg.name}, strtod(dec, NULL));
}

static void recv_gas_done(void *ud, struct rpc_reply *r, size_t n)
{
    struct chain *c = ud;
    c->recv_gas_asking = false;
    if (c->closing || n != 1)
        return;
    uint8_t w[32];
    if (r[0].err.kind != RPC_OK || !cJSON_IsString(r[0].result) ||
        hex_decode_exact(w, sizeof w, r[0].result->valuestring, HEX_PREFIX_REQUIRED)) {
        /* deliveries keep the last value, or eth_estimateGas while none is known */
        log_kv(LOGL_WARN, LOG_MOD, "could not read the Gateway's receiveGasLimit", "chain", c->cfg.name, "error",
               r[0].err.kind != RPC_OK ? r[0].err.message : "not a 32-byte word", NULL);
        return;
    }
    uint32_t v = 0;
    for (int i = 0; i < 32; i++) {
        if (i < 28 && w[i])
            return; /* not a uint32: not a Gateway */
        if (i >= 28)
            v = v << 8 | w[i];
    }
    c->recv_gas = v;
}

/* receiveGasLimit() of the Gateway, kept in c->recv_gas. */
static void recv_gas_fetch(struct chain *c)
{
    if (c->recv_gas_asking || c->closing)
        return;
    char params[160], gw[ADDRESS_LEN * 2 + 3];
    put_hex(gw, c->cfg.gateway.bytes, ADDRESS_LEN);
    snprintf(params, sizeof params, "[{\"to\":\"%s\",\"data\":\"0x%02x%02x%02x%02x\"},\"latest\"]", gw,
             c->sel_recv_gas[0], c->sel_recv_gas[1], c->sel_recv_gas[2], c->sel_recv_gas[3]);
    if (rpc_call(c->rpc, "eth_call", params, NULL, recv_gas_done, c) == FERRY_OK)
        c->recv_gas_asking = true;
}

static void probe(struct chain *c)
{
    if (c->probing || c->closing)
        return;
    recv_gas_fetch(c);
    char addr[ADDRESS_LEN * 2 + 3], p_bal[80], p_nonce[80];
    put_hex(addr, c->submitter, ADDRESS_LEN);
    snprintf(p_bal, sizeof p_bal, "[\"%s\",\"latest\"]", addr);
    snprintf(p_nonce, sizeof p_nonce, "[\"%s\",\"pending\"]", addr);
    const struct rpc_call_spec calls[] = {
        {"eth_blockNumber", "[]"},
        {"eth_getBlockByNumber", "[\"latest\",false]"},
        {"eth_getBalance", p_bal},
        {"eth_getTransactionCount", p_nonce},
    };
    if (rpc_batch(c->rpc, calls, 4, NULL, probe_done, c) == FERRY_OK) {
        c->probing = true;
        c->probe_at = loop_now(c->env.loop);
    }
}

/* ---- watcher hooks ---- */

/* Router events (and the vault's refunds of the router's hops) go to on_intent_events first,
 * then the batch to on_events: the packet engine's batch is what releases the token, so the
 * intent consumer's writes, queued before it, are durable no later than the cursor moves. */
static void w_events(void *ud, const struct chain_event *ev, size_t n, const struct evm_app_event *app, size_t napp,
                     uint64_t token)
{
    struct chain *c = ud;
    if (c->env.on_intent_events && napp) {
        struct chain_intent_event *iev = calloc(napp, sizeof *iev);
        size_t ni = 0;
        if (!iev) {
            /* Not handing over would lose them for good once the cursor moves: stop here. The
             * watcher asks again (the token is never released). */
            log_kv(LOGL_ERROR, LOG_MOD, "out of memory for intent events; the range will be scanned again", "chain",
                   c->cfg.name, NULL);
            return;
        }
        const uint8_t *router = c->cfg.router.set ? c->cfg.router.bytes : NULL;
        for (size_t i = 0; i < napp; i++) {
            bool is_intent;
            if (evm_intent_event(&app[i], router, &iev[ni], &is_intent)) {
                /* the router never emits such a log: the endpoint lied, or the contract is not ours */
                log_fields(LOGL_ERROR, LOG_MOD, "router event dropped",
                           (struct log_field[]){LOG_STR("chain", c->cfg.name),
                                                LOG_U64("block", app[i].at.block_number),
                                                LOG_U64("log_index", app[i].at.log_index),
                                                LOG_STR("detail", ferry_errmsg())},
                           4);
                continue;
            }
            ni += is_intent;
        }
        if (ni)
            c->env.on_intent_events(c->env.engine, c, iev, ni);
        free(iev);
    }
    c->env.on_events(c->env.engine, c, ev, n, token);
}

static void w_deep_reorg(void *ud, uint64_t from_block, const char *detail)
{
    struct chain *c = ud;
    log_fields(LOGL_ERROR, LOG_MOD, "deep reorg: chain paused until `resume`",
               (struct log_field[]){LOG_STR("chain", c->cfg.name), LOG_U64("from_block", from_block),
                                    LOG_STR("detail", detail)},
               3);
    if (c->env.on_deep_reorg)
        c->env.on_deep_reorg(c->env.engine, c, from_block, detail);
}

static void w_head(void *ud, const struct chain_head *h)
{
    struct chain *c = ud;
    metric_set(c->m_head, (const char *[]){c->cfg.name}, (double)h->number);
    metric_set(c->m_confirmed, (const char *[]){c->cfg.name}, (double)h->confirmed);
    if (c->tx_started)
        txmgr_on_head(c->tx, h->number);
    if (loop_now(c->env.loop) - c->probe_at >= PROBE_EVERY_MS)
        probe(c);
    if (c->env.on_head)
        c->env.on_head(c->env.engine, c, h);
}

static enum log_level level_of(int l)
{
    static const enum log_level map[] = {LOGL_DEBUG, LOGL_INFO, LOGL_WARN, LOGL_ERROR};
    return l >= 0 && l < 4 ? map[l] : LOGL_ERROR;
}

static void w_log(void *ud, enum evm_watch_level level, const char *msg)
{
    struct chain *c = ud;
    log_kv(level_of((int)level), "evm.watch", msg, "chain", c->cfg.name, NULL);
}

/* ---- transaction manager hooks ---- */

/* docs/evm.md, "Transaction manager": how the manager's states map to the engine's. */
static enum chain_submission_state map_state(const struct txmgr_status *s)
{
    switch (s->state) {
    case TXMGR_PREPARING:
    case TXMGR_PENDING:
        return CHAIN_SUB_PENDING;
    case TXMGR_MINED:
        /* a reverted receipt may yet be reorged into a success; a mined cancel is not the call */
        return s->success && !s->cancel ? CHAIN_SUB_MINED : CHAIN_SUB_PENDING;
    case TXMGR_CONFIRMED:
        return CHAIN_SUB_CONFIRMED;
    case TXMGR_REVERTED:
        return CHAIN_SUB_REVERTED;
    case TXMGR_REFUSED:
    case TXMGR_NONCE_TAKEN:
    case TXMGR_CANCELLED:
        return CHAIN_SUB_REFUSED;
    case TXMGR_UNKNOWN:
    default:
        return CHAIN_SUB_UNKNOWN;
    }
}

static void fill_submission(struct chain_submission *out, const struct txmgr_status *s)
{
    memset(out, 0, sizeof *out);
    out->id = s->id;
    out->state = map_state(s);
    if (out->state != CHAIN_SUB_UNKNOWN && out->state != CHAIN_SUB_REFUSED)
        memcpy(out->tx_hash, s->tx_hash, 32);
    out->block_number = s->block_number;
    out->error = s->error;
    if (s->state == TXMGR_NONCE_TAKEN && !s->error)
        out->error = "another transaction of the submitter key took the nonce";
}

static struct gas_track *gas_track_find(struct chain *c, const char *id)
{
    for (size_t i = 0; c->n_gas_tracks && i < GAS_TRACKED; i++)
        if (c->gas_tracks[i].used && !strcmp(c->gas_tracks[i].id, id))
            return &c->gas_tracks[i];
    return NULL;
}

static void gas_track_drop(struct chain *c, struct gas_track *t)
{
    t->used = false;
    c->n_gas_tracks--;
}

/* A report about a delivery the model follows: learn from a successful receipt of a batch to one
 * receiver; after a revert of a batch the model priced, forget its receivers so that the engine's
 * retry is measured again (docs/evm.md, "Gas"). Before the engine hears of it. */
static void gas_observe(struct chain *c, const struct txmgr_status *s)
{
    struct gas_track *t = gas_track_find(c, s->id);
    if (!t)
        return;
    bool ok = (s->state == TXMGR_MINED && s->success && !s->cancel) || s->state == TXMGR_CONFIRMED;
    struct evm_gas_model *model = t->ack ? &c->ack_gas_model : &c->gas_model;
    if (ok && t->nrecv == 1 && s->gas_used && evm_gas_model_learn(model, t->recv[0], t->n, s->gas_used, t->calldata_gas))
        log_fields(LOGL_DEBUG, LOG_MOD, t->ack ? "ack gas learned" : "delivery gas learned",
                   (struct log_field[]){LOG_STR("chain", c->cfg.name), LOG_STR("submission", s->id),
                                        LOG_U64("packets", t->n), LOG_U64("gas_used", s->gas_used),
                                        LOG_U64("per_packet", evm_gas_model_peek(model, t->recv[0], t->n))},
                   5);
    if (s->state == TXMGR_REVERTED && t->modelled) {
        size_t forgot = 0;
        for (size_t i = 0; i < t->nrecv; i++)
            forgot += evm_gas_model_forget(model, t->recv[i]);
        c->gas_count[t->ack][2]++;
        log_fields(LOGL_WARN, LOG_MOD,
                   t->ack ? "an ack batch priced by the gas model reverted: its senders are measured again"
                          : "a delivery priced by the gas model reverted: its receivers are measured again",
                   (struct log_field[]){LOG_STR("chain", c->cfg.name), LOG_STR("submission", s->id),
                                        LOG_U64("gas_limit", s->gas_limit), LOG_U64("gas_used", s->gas_used),
                                        LOG_U64("receivers_forgotten", forgot)},
                   5);
    }
    if (txmgr_state_final(s->state))
        gas_track_drop(c, t);
}

static void t_status(void *ud, const struct txmgr_status *s)
{
    struct chain *c = ud;
    if (c->closing)
        return;
    if (c->n_gas_tracks)
        gas_observe(c, s);
    if (s->state == TXMGR_MINED || txmgr_state_final(s->state))
        probe(c); /* the balance and the nonce moved */
    struct chain_submission cs;
    fill_submission(&cs, s);
    if (c->env.on_submission)
        c->env.on_submission(c->env.engine, c, &cs);
}

static void t_log(void *ud, enum txmgr_log_level level, const char *msg)
{
    struct chain *c = ud;
    log_kv(level_of((int)level), "evm.txmgr", msg, "chain", c->cfg.name, NULL);
}

/* ---- metrics ---- */

static void collect(void *ud)
{
    struct chain *c = ud;
    struct txmgr_stats s;
    txmgr_stats(c->tx, &s);
    /* counters: export what moved since the last render */
#define TXC(field)                                                                                       \
    if (s.field > c->m_last.field)                                                                       \
        metric_add(c->m_tx, (const char *[]){c->cfg.name, #field}, (double)(s.field - c->m_last.field));
    TXC(submitted) TXC(refused) TXC(persisted) TXC(sent) TXC(send_failed) TXC(replaced) TXC(dropped_resent)
    TXC(rebroadcast) TXC(nonce_skips) TXC(capped) TXC(mined) TXC(confirmed) TXC(reverted) TXC(reorged)
    TXC(cancelled) TXC(gas_one_run)
#undef TXC
    c->m_last = s;
    static const char *const gas_event[2][3] = {
        {"delivery_gas_modelled", "delivery_gas_measured", "delivery_gas_model_reverted"},
        {"ack_gas_modelled", "ack_gas_measured", "ack_gas_model_reverted"}};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 3; i++)
            if (c->gas_count[k][i] > c->gas_last[k][i]) {
                metric_add(c->m_tx, (const char *[]){c->cfg.name, gas_event[k][i]},
                           (double)(c->gas_count[k][i] - c->gas_last[k][i]));
                c->gas_last[k][i] = c->gas_count[k][i];
            }
    struct evm_watch_stats ws;
    evm_watch_stats(c->watch, &ws);
    if (ws.safe)
        metric_set(c->m_lag, (const char *[]){c->cfg.name},
                   ws.safe + 1 > ws.next_block ? (double)(ws.safe + 1 - ws.next_block) : 0);
    /* RPC calls by endpoint and method: gauges of the client's own counters (they only grow). */
    for (size_t i = 0; i < rpc_endpoint_count(c->rpc); i++) {
        struct rpc_endpoint_status es;
        if (rpc_endpoint_status(c->rpc, i, &es))
            continue;
        struct rpc_method_stats ms[40];
        size_t n = rpc_endpoint_methods(c->rpc, i, ms, 40);
        for (size_t k = 0; k < n && k < 40; k++) {
            const char *l[] = {c->cfg.name, es.name, ms[k].method};
            metric_set(c->m_rpc, l, (double)ms[k].calls);
            metric_set(c->m_rpc_err, l, (double)ms[k].errors);
        }
    }
}

static enum ferry_err metrics_setup(struct chain *c)
{
    struct metrics *m = c->env.metrics;
    if (!m)
        return FERRY_OK;
    const char *const chain_l[] = {"chain", NULL};
    enum ferry_err e;
    if ((e = metrics_register(m, &c->m_head, METRIC_GAUGE, "ferry_chain_head_block", "Latest block of each chain.",
                              chain_l)) ||
        (e = metrics_register(m, &c->m_confirmed, METRIC_GAUGE, "ferry_chain_confirmed_block",
                              "Latest block at the confirmation depth of each chain.", chain_l)) ||
        (e = metrics_register(m, &c->m_lag, METRIC_GAUGE, "ferry_chain_scan_lag_blocks",
                              "Confirmed blocks not yet scanned for events.", chain_l)) ||
        (e = metrics_register(m, &c->m_balance, METRIC_GAUGE, "ferry_submitter_balance_wei",
                              "Balance of the chain's submitter key (as a double: approximate above 2^53 wei).",
                              chain_l)) ||
        (e = metrics_register(m, &c->m_tx, METRIC_COUNTER, "ferry_evm_transactions_total",
                              "Transaction manager events (submitted, sent, replaced, mined, ...).",
                              (const char *[]){"chain", "event", NULL})) ||
        (e = metrics_register(m, &c->m_rpc, METRIC_GAUGE, "ferry_rpc_calls",
                              "JSON-RPC calls sent since start, by endpoint and method.",
                              (const char *[]){"chain", "endpoint", "method", NULL})) ||
        (e = metrics_register(m, &c->m_rpc_err, METRIC_GAUGE, "ferry_rpc_call_errors",
                              "JSON-RPC calls failed since start, by endpoint and method.",
                              (const char *[]){"chain", "endpoint", "method", NULL})))
        return ferry_fail_ctx(e, "chain %s: metrics", c->cfg.name);
    return metrics_add_collector(m, collect, c);
}

/* ---- open / close ---- */

static void collect_problem(void *ud, const char *path, const char *msg)
{
    char *buf = ud;
    if (!buf[0])
        snprintf(buf, 512, "%s%s%s", path, *path ? ": " : "", msg);
}

static int evm_check_config(const cJSON *config, void (*problem)(void *ud, const char *path, const char *msg), void *ud)
{
    struct config_problems probs = {0};
    struct ferry_chain_config cc;
    int n = 0;
    if (config_chain_parse(config, "", &cc, &probs) == FERRY_OK) {
        if (cc.kind != CONFIG_CHAIN_EVM) {
            problem(ud, "kind", "not an evm chain");
            n++;
        }
        config_chain_free(&cc);
    }
    for (size_t i = 0; i < probs.n; i++)
        problem(ud, probs.v[i].path, probs.v[i].msg);
    n += (int)config_problems_count(&probs);
    config_problems_free(&probs);
    return n;
}

static void evm_close(struct chain *c);

static enum ferry_err evm_open(struct chain **out, const cJSON *config, const struct chain_env *env)
{
    *out = NULL;
    if (!env || !env->loop || !env->store || !env->signer || !env->on_events)
        return ferry_fail(FERRY_EINVAL, "evm: open needs a loop, a store, a signer and on_events");
    char first[512] = "";
    if (evm_check_config(config, collect_problem, first))
        return ferry_fail(FERRY_EINVAL, "evm: bad chain config: %s", first);
    struct chain *c = calloc(1, sizeof *c);
    if (!c)
        return ferry_fail(FERRY_ENOMEM, "evm: out of memory");
    c->env = *env;
    c->ack_gas_model.min_per_packet = EVM_GAS_MODEL_MIN_ACK;
    enum ferry_err e;
    c->json = cJSON_Duplicate(config, true);
    if (!c->json) {
        free(c);
        return ferry_fail(FERRY_ENOMEM, "evm: out of memory");
    }
    if ((e = config_chain_parse(c->json, "", &c->cfg, NULL))) {
        cJSON_Delete(c->json);
        free(c);
        return e;
    }
    const char *name = c->cfg.name;
    c->confirmations = c->cfg.confirmations ? (uint32_t)c->cfg.confirmations : 1;
    if ((e = signer_address(env->signer, c->cfg.submitter, c->submitter))) {
        e = ferry_fail_ctx(e, "chain %s: submitter key \"%s\" is not loaded", name, c->cfg.submitter);
        goto fail;
    }
    if ((e = evm_gateway_abi_init(&c->gw)))
        goto fail;
    evm_domain_separator(c->domain, c->cfg.chain_id, c->cfg.gateway.bytes);
    uint8_t h[32];
    keccak256(h, "intentState(bytes32)", strlen("intentState(bytes32)"));
    memcpy(c->sel_intent_state, h, 4);
    keccak256(h, "receiveGasLimit()", strlen("receiveGasLimit()"));
    memcpy(c->sel_recv_gas, h, 4);

    c->eps = calloc(c->cfg.rpc.n, sizeof *c->eps);
    if (!c->eps) {
        e = ferry_fail(FERRY_ENOMEM, "evm: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < c->cfg.rpc.n; i++)
        c->eps[i].url = c->cfg.rpc.v[i]; /* names default to scheme://host:port: no secrets in status */
    struct rpc_config rc = {
        .endpoints = c->eps,
        .n_endpoints = c->cfg.rpc.n,
        .timeout_ms = (uint32_t)c->cfg.rpc_timeout_ms,
        .deadline_ms = (uint32_t)(c->cfg.rpc_timeout_ms * 3 > 30000 ? c->cfg.rpc_timeout_ms * 3 : 30000),
        .max_batch = EVM_RPC_MAX_BATCH,
    };
    if ((e = rpc_client_new(env->loop, &rc, &c->rpc)))
        goto fail;

    struct evm_watch_config wc = {
        .chain_id = c->cfg.chain_id,
        .confirmations = c->confirmations,
        .poll_ms = (uint32_t)c->cfg.poll_interval_ms,
        .range_max = (uint32_t)c->cfg.log_range_max_blocks,
        .start_block = c->cfg.start_block,
    };
    memcpy(wc.gateway, c->cfg.gateway.bytes, 20);
    if ((wc.has_vault = c->cfg.vault.set))
        memcpy(wc.vault, c->cfg.vault.bytes, 20);
    if ((wc.has_router = c->cfg.router.set))
        memcpy(wc.router, c->cfg.router.bytes, 20);
    struct evm_watch_hooks wh = {.ud = c, .on_events = w_events, .on_deep_reorg = w_deep_reorg, .on_head = w_head,
                                 .log = w_log};
    if ((e = evm_watch_new(&c->watch, env->loop, c->rpc, env->store, &wc, &wh))) {
        e = ferry_fail_ctx(e, "chain %s", name);
        goto fail;
    }

    struct txmgr_config tc = {
        .chain_id = c->cfg.chain_id,
        .key = c->cfg.submitter,
        .gas_cap = c->cfg.gas_limit,
        /* the manager counts confirmations after the including block: one less than ours */
        .confirmations = c->confirmations - 1,
        .replace_after_blocks = (unsigned)c->cfg.replace_after_blocks,
        .poll_ms = (uint32_t)c->cfg.poll_interval_ms,
        .on_status = t_status,
        .log = t_log,
        .ud = c,
    };
    tc.fees.max_fee_cap = c->cfg.max_fee_per_gas;
    tc.fees.tip_cap = c->cfg.max_priority_fee_per_gas;
    tc.fees.bump_pct = (unsigned)c->cfg.fee_bump_percent;
    if ((e = fee_policy_check(&tc.fees)) ||
        (e = txmgr_new(&c->tx, env->loop, c->rpc, env->store, env->signer, &tc))) {
        e = ferry_fail_ctx(e, "chain %s", name);
        goto fail;
    }
    if ((e = metrics_setup(c)))
        goto fail;
    probe(c);
    *out = c;
    return FERRY_OK;
fail:
    evm_close(c);
    return e;
}

static enum ferry_err start_tx(struct chain *c)
{
    if (c->tx_started)
        return FERRY_OK;
    enum ferry_err e = txmgr_start(c->tx);
    if (e)
        return ferry_fail_ctx(e, "chain %s", c->cfg.name);
    c->tx_started = true;
    return FERRY_OK;
}

static enum ferry_err evm_start(struct chain *c)
{
    enum ferry_err e;
    if ((e = start_tx(c)))
        return e;
    if (!c->started) {
        if ((e = evm_watch_start(c->watch)))
            return ferry_fail_ctx(e, "chain %s", c->cfg.name);
        c->started = true;
    }
    return FERRY_OK;
}

static void evm_stop(struct chain *c)
{
    if (c->started)
        evm_watch_stop(c->watch);
    c->started = false;
}

static void queries_close(struct chain *c);

static void evm_close(struct chain *c)
{
    if (!c)
        return;
    c->closing = true;
    queries_close(c);
    if (c->env.metrics && c->m_head)
        metrics_remove_collector(c->env.metrics, collect, c);
    if (c->watch)
        evm_watch_free(c->watch);
    if (c->tx)
        txmgr_free(c->tx);
    if (c->rpc)
        rpc_client_free(c->rpc); /* pending queries end here, without their callbacks */
    evm_gateway_abi_free(&c->gw);
    free(c->eps);
    config_chain_free(&c->cfg);
    cJSON_Delete(c->json);
    free(c);
}

/* ---- identity and head ---- */

static uint64_t evm_chain_id(const struct chain *c) { return c->cfg.chain_id; }
static const char *evm_chain_name(const struct chain *c) { return c->cfg.name; }
static struct chain_head evm_head(const struct chain *c) { return evm_watch_head(c->watch); }

static void evm_ops_packet_id(const struct packet *p, uint8_t out[32]) { evm_packet_id(p, out); }

static enum ferry_err evm_attest(struct chain *c, enum chain_attest_kind kind, const struct packet *p,
                                 const struct packet_ack *ack, uint64_t proof_timestamp, uint8_t out[32])
{
    return evm_attest_digest(out, c->domain, kind, p, ack, proof_timestamp);
}

/* ---- submissions ---- */

/* The ack model's key of packet i of an ACK call: its sender app (an EVM address: the upper 12
 * bytes are zero) with the first byte telling the outcome, since a failed acknowledgement makes
 * the app refund and costs more than a successful one. */
static void ack_key(uint8_t key[32], const struct chain_call *call, size_t i)
{
    const struct packet_ack *a = call->acks ? &call->acks[i] : call->ack;
    memcpy(key, call->packets[i].sender, 32);
    key[0] = a && a->success ? 1 : 2;
}

/* The slot of a delivery or ack batch for the gas models (its earlier one when the id is
 * submitted again), or NULL when GAS_TRACKED are in flight: then it is measured and teaches
 * nothing. */
static struct gas_track *gas_track_new(struct chain *c, const char *id, const struct chain_call *call,
                                       const struct fbuf *data)
{
    struct gas_track *t = gas_track_find(c, id);
    for (size_t i = 0; !t && i < GAS_TRACKED; i++)
        if (!c->gas_tracks[i].used) {
            t = &c->gas_tracks[i];
            t->used = true;
            c->n_gas_tracks++;
        }
    if (!t || strlen(id) > TXMGR_ID_MAX)
        return t ? (gas_track_drop(c, t), NULL) : NULL;
    snprintf(t->id, sizeof t->id, "%s", id);
    t->modelled = false;
    t->ack = call->kind == CHAIN_CALL_ACK;
    t->n = call->n;
    t->nrecv = 0;
    t->calldata_gas = evm_calldata_gas(data->data, data->len);
    for (size_t i = 0; i < call->n && t->nrecv <= GAS_BATCH_RECEIVERS; i++) {
        uint8_t key[32];
        if (t->ack)
            ack_key(key, call, i);
        else
            memcpy(key, call->packets[i].receiver, 32);
        size_t k = 0;
        while (k < t->nrecv && memcmp(t->recv[k], key, 32))
            k++;
        if (k == t->nrecv && t->nrecv++ < GAS_BATCH_RECEIVERS) {
            memcpy(t->recv[k], key, 32);
            t->count[k] = 0;
        }
        if (k < GAS_BATCH_RECEIVERS)
            t->count[k]++;
    }
    return t;
}

static enum ferry_err evm_submit(struct chain *c, const char *id, const struct chain_call *call)
{
    if (!id || !*id || !call)
        return ferry_fail(FERRY_EINVAL, "evm: submit needs an id and a call");
    struct txmgr_call tc = {.flags = TXMGR_DRY_RUN};
    bool modelled = false;
    int priced = -1;                /* 0: a delivery, 1: an ack batch, both followed by a gas model */
    struct gas_track *track = NULL; /* the batch the gas model follows */
    struct fbuf data;
    fbuf_init(&data, TXMGR_DATA_MAX);
    enum ferry_err e;
    if (call->kind == CHAIN_CALL_RAW) {
        for (int i = 0; i < 12; i++)
            if (call->to[i])
                return ferry_fail(FERRY_EINVAL, "evm: raw call: `to` is not an EVM address (upper bytes set)");
        memcpy(tc.to, call->to + 12, ADDRESS_LEN);
        tc.value = u256_from_be32(call->value_be);
        tc.data = call->data;
        tc.data_len = call->data_len;
        tc.flags = 0; /* an operator's call: the node's estimate is the check */
    } else if (call->kind == CHAIN_CALL_ROUTER) {
        if (!c->cfg.router.set)
            return ferry_fail(FERRY_ESTATE, "chain %s: a router call, but the chain's config names no router",
                              c->cfg.name);
        if (!call->data || call->data_len < 4)
            return ferry_fail(FERRY_EINVAL, "chain %s: a router call needs calldata (a selector at least)",
                              c->cfg.name);
        memcpy(tc.to, c->cfg.router.bytes, ADDRESS_LEN);
        tc.data = call->data;
        tc.data_len = call->data_len;
        /* TXMGR_DRY_RUN: a step that is not the next one reverts in the dry run, not on chain */
    } else {
        if ((e = evm_encode_call(&data, &c->gw, c->cfg.chain_id, call)))
            return ferry_fail_ctx(e, "chain %s: %s", c->cfg.name, chain_call_kind_name(call->kind));
        memcpy(tc.to, c->cfg.gateway.bytes, ADDRESS_LEN);
        tc.data = data.data;
        tc.data_len = data.len;
        /* The node's eth_estimateGas binary-searches over whole executions (a delivery of 16
         * packets: ~0.55 s on anvil against 7 ms for one); one execution plus the receivers'
         * floor is enough: the Gateway's only gas-dependent step is its check that
         * receiveGasLimit * 64/63 + 5000 is left before each receiver, and what a receiver
         * does with its fixed receiveGasLimit does not depend on the transaction's limit. */
        if (call->kind != CHAIN_CALL_DELIVER && call->kind != CHAIN_CALL_ACK) {
            tc.flags |= TXMGR_GAS_ONE_RUN;
        } else {
            /* Deliveries to receivers all seen before, and ack batches of (sender app, outcome)
             * pairs all seen before: no execution on the node at all, the learned models price
             * them (gasmodel.h). Safe because a limit that is too low cannot change an outcome.
             * Deliveries: before each receiver the Gateway checks that receiveGasLimit +
             * receiveGasLimit/63 + 5000 is left and reverts the whole batch otherwise
             * (InsufficientGasForReceiver); the receiver then runs with exactly receiveGasLimit
             * whatever the transaction's limit; and an out-of-gas in the Gateway's own frame
             * reverts the whole transaction. Acks: the sender's onAck is called without a gas
             * bound and its revert (an out-of-gas included) reverts the whole batch, leaving every
             * packet pending. A low limit costs a reverted transaction, after which gas_observe
             * forgets these keys and the retry is measured. */
            bool ack = call->kind == CHAIN_CALL_ACK;
            struct evm_gas_model *model = ack ? &c->ack_gas_model : &c->gas_model;
            struct gas_track *t = gas_track_new(c, id, call, &data);
            uint64_t headroom =
                ack ? 0 : (uint64_t)c->recv_gas + c->recv_gas / 63 + EVM_RECEIVER_CALL_OVERHEAD;
            uint64_t need = 0;
            uint64_t limit = t && (ack || c->recv_gas) && t->nrecv <= GAS_BATCH_RECEIVERS
                                 ? evm_gas_model_price(model, t->recv, t->count, t->nrecv, t->calldata_gas, headroom,
                                                       &need)
                                 : 0;
            /* as for a measured limit (txmgr's set_gas): a need under the cap whose margins
             * pass it goes at the cap; a need above the cap is measured */
            if (limit > c->cfg.gas_limit && need <= c->cfg.gas_limit)
                limit = c->cfg.gas_limit;
            if (limit && limit <= c->cfg.gas_limit) {
                t->modelled = true;
                tc.gas_limit = limit;
                tc.flags = 0; /* no dry run: a revert on chain is the worst case */
            } else if (ack || c->recv_gas) {
                tc.flags |= TXMGR_GAS_ONE_RUN;
                tc.gas_headroom = headroom;
            }
            priced = ack ? 1 : 0;
            track = t;
            modelled = t && t->modelled;
        }
    }
    if (!(e = start_tx(c)))
        e = txmgr_submit(c->tx, id, &tc);
    if (e && track)
        gas_track_drop(c, track);
    if (!e && priced >= 0) {
        c->gas_count[priced][modelled ? 0 : 1]++;
        log_fields(LOGL_DEBUG, LOG_MOD,
                   modelled ? (priced ? "ack gas from the model" : "delivery gas from the model")
                            : (priced ? "ack gas measured" : "delivery gas measured"),
                   (struct log_field[]){LOG_STR("chain", c->cfg.name), LOG_STR("submission", id),
                                        LOG_U64("packets", call->n), LOG_U64("gas_limit", tc.gas_limit)},
                   4);
    }
    fbuf_free(&data);
    return e;
}

static enum chain_submission_state evm_submission(struct chain *c, const char *id, struct chain_submission *out)
{
    struct txmgr_status st;
    txmgr_status(c->tx, id, &st);
    fill_submission(out, &st);
    if (st.state == TXMGR_UNKNOWN)
        out->id = id;
    return out->state;
}

/* ---- point queries: an eth_call at the confirmed head, with that block's time ----
 *
 * The engine checks a whole delivery batch in one turn (a query_received per packet): one
 * JSON-RPC batch per query doubled the destination node's load. So queries started in one
 * loop turn for the same block wait in a group and go out together at the end of the turn
 * (c->q_flush): one eth_getBlockByNumber for the block, then the eth_calls, each answer checked
 * on its own. The received queries of a group that share a source chain go out as one eth_call
 * of Gateway.receivedBatch (up to EVM_RECEIVED_BATCH_MAX sequences a call: a delivery batch was
 * one eth_call per packet, most of what the relayer cost the destination's node); each of them
 * takes its bit of that call's word. Pending and intent queries are one eth_call each. A group
 * holds at most EVM_QUERY_GROUP_MAX queries (the client's batch limit, less the header); a full
 * one is left as it is and the next query opens another.
 * Queries started while the watcher knows no head group the same way: one eth_blockNumber per
 * group, then its batch at the confirmed head of that answer. */

#define EVM_QUERY_GROUP_MAX (EVM_RPC_MAX_BATCH - 1)
#define EVM_QUERY_PARAMS_MAX 300 /* [{"to":"0x<20 bytes>","data":"0x"},"0x<u64>"]: the params less the calldata */

struct query {
    struct chain *c;
    struct query *next; /* in its group */
    bool pending_kind; /* query_pending (commitments) rather than query_received */
    bool intent_kind;  /* query_intent (the router's intentState) */
    uint64_t src, seq;
    uint8_t id[32];
    uint64_t block;
    /* In the batch sent: the reply to read (0: the first eth_call) and, for a received query,
     * its bit in that receivedBatch call of batch_n sequences (the next query of the call in
     * call_next). */
    size_t call;
    uint16_t bit, batch_n;
    struct query *call_next;
    chain_received_cb rcb;
    chain_pending_cb pcb;
    chain_intent_cb icb;
    struct chain_intent_result ir;
    void *ud;
    enum ferry_err err_code;
    char err[240];
};

/* Owns its queries; owned by c->q_open (not sent yet), by the client (sent) or by c->q_failed
 * (nothing could be sent: they fail on the next turn). */
struct qgroup {
    struct chain *c; /* NULL: the chain was closed from one of this group's callbacks */
    struct qgroup *next;
    bool known; /* block is the confirmed head to ask at; else an eth_blockNumber comes first */
    uint64_t block;
    struct query *head, *tail;
    size_t n;
    size_t ncalls; /* eth_calls in the batch sent (the header besides) */
    char why[240]; /* in c->q_failed: why */
};

static void query_finish(struct query *q, enum ferry_err err, bool yes, uint64_t block, uint64_t ts)
{
    if (!q->c->closing) {
        if (err)
            (void)ferry_fail(err, "chain %s: %s", q->c->cfg.name, q->err);
        if (q->intent_kind) {
            q->ir.block_number = block;
            q->ir.block_timestamp = ts;
            q->icb(q->ud, err, err ? NULL : &q->ir);
        } else if (q->pending_kind) {
            struct chain_pending_result r = {.pending = yes, .block_number = block, .block_timestamp = ts};
            q->pcb(q->ud, err, err ? NULL : &r);
        } else {
            struct chain_received_result r = {.received = yes, .block_number = block, .block_timestamp = ts};
            q->rcb(q->ud, err, err ? NULL : &r);
        }
    }
    free(q);
}

/* One query's answer: the block header (shared by the group) and its eth_call (shared by the
 * received queries of one receivedBatch). */
static void query_answer(struct query *q, const struct rpc_reply *hdr, const struct rpc_reply *call)
{
    const struct rpc_reply *r[2] = {hdr, call};
    for (size_t i = 0; i < 2; i++)
        if (r[i]->err.kind != RPC_OK) {
            char call_of[80] = "";
            if (i == 1 && !q->intent_kind && !q->pending_kind)
                snprintf(call_of, sizeof call_of, "receivedBatch(%" PRIu64 ", %u sequences): ", q->src,
                         (unsigned)q->batch_n);
            snprintf(q->err, sizeof q->err, "%s%s: %s", call_of, rpc_errkind_name(r[i]->err.kind),
                     r[i]->err.message);
            return query_finish(q, FERRY_EIO, false, 0, 0);
        }
    uint64_t ts = 0, num = 0;
    const cJSON *blk = hdr->result;
    bool blk_ok = cJSON_IsObject(blk) && quantity(cJSON_GetObjectItemCaseSensitive(blk, "number"), &num) &&
                  num == q->block && quantity(cJSON_GetObjectItemCaseSensitive(blk, "timestamp"), &ts);
    uint8_t word[32];
    if (q->intent_kind) {
        if (!blk_ok) {
            snprintf(q->err, sizeof q->err, "malformed block %" PRIu64 " in the answer to intentState", q->block);
            return query_finish(q, FERRY_EIO, false, 0, 0);
        }
        if (!cJSON_IsString(call->result) ||
            evm_decode_position(&q->ir, call->result->valuestring, q->err, sizeof q->err))
            return query_finish(q, FERRY_EIO, false, 0, 0);
        return query_finish(q, FERRY_OK, true, num, ts);
    }
    if (!q->pending_kind) {
        char why[160] = "malformed block header";
        if (blk_ok && !evm_decode_received_bits(word, q->batch_n,
                                                cJSON_IsString(call->result) ? call->result->valuestring : NULL, why,
                                                sizeof why))
            return query_finish(q, FERRY_OK, word[31 - q->bit / 8] >> (q->bit % 8) & 1, num, ts);
        snprintf(q->err, sizeof q->err,
                 "malformed answer to receivedBatch(%" PRIu64 ", %u sequences) at block %" PRIu64 ": %s", q->src,
                 (unsigned)q->batch_n, q->block, why);
        return query_finish(q, FERRY_EIO, false, 0, 0);
    }
    if (!blk_ok || !cJSON_IsString(call->result) ||
        hex_decode_exact(word, 32, call->result->valuestring, HEX_PREFIX_REQUIRED)) {
        snprintf(q->err, sizeof q->err, "malformed answer to commitments at block %" PRIu64, q->block);
        return query_finish(q, FERRY_EIO, false, 0, 0);
    }
    bool yes = false;
    for (int i = 0; i < 32; i++)
        yes |= word[i] != 0;
    query_finish(q, FERRY_OK, yes, num, ts);
}

/* Ends every query of g, in the order they were started: with its answer (r: the header, then
 * one reply per query), or all with `why`. Frees g. A callback may close the chain: the rest
 * then end without theirs. Returns false when the chain is gone. */
static bool group_end(struct qgroup *g, struct rpc_reply *r, const char *why)
{
    struct chain *c = g->c;
    struct qgroup *outer = c->q_answering; /* close() may run the client's callbacks from ours */
    c->q_answering = g;
    for (struct query *q; (q = g->head);) {
        g->head = q->next;
        if (!g->c) {
            free(q);
        } else if (why) {
            snprintf(q->err, sizeof q->err, "%s", why);
            query_finish(q, FERRY_EIO, false, 0, 0);
        } else {
            query_answer(q, &r[0], &r[1 + q->call]);
        }
    }
    bool alive = g->c != NULL;
    if (alive)
        c->q_answering = outer;
    free(g);
    return alive;
}

/* Frees g and its queries without a callback. */
static void group_drop(struct qgroup *g)
{
    for (struct query *q, *nx = g->head; (q = nx);) {
        nx = q->next;
        free(q);
    }
    free(g);
}

static void group_answer(void *ud, struct rpc_reply *r, size_t n)
{
    struct qgroup *g = ud;
    if (g->c->closing)
        return group_drop(g);
    if (n != g->ncalls + 1) {
        char why[80];
        snprintf(why, sizeof why, "%zu replies to a batch of %zu calls", n, g->ncalls + 1);
        (void)group_end(g, NULL, why);
        return;
    }
    (void)group_end(g, r, NULL);
}

/* The params of an eth_call at block: calldata to the Gateway (or the router). */
static void call_params(char *out, size_t cap, const uint8_t to[20], const uint8_t *cd, size_t cdlen, uint64_t block)
{
    char gw[43], num[19];
    put_hex(gw, to, 20);
    hex_u64_quantity(num, block);
    int k = snprintf(out, cap, "[{\"to\":\"%s\",\"data\":\"", gw);
    put_hex(out + k, cd, cdlen); /* cap leaves room for it: query_params_cap */
    k += 2 + 2 * (int)cdlen;
    snprintf(out + k, cap - (size_t)k, "\"},\"%s\"]", num);
}

/* The room call_params needs for calldata of cdlen bytes. */
static size_t query_params_cap(size_t cdlen) { return EVM_QUERY_PARAMS_MAX + 2 * cdlen; }

/* The params of the eth_call that q leads: its own query, or the receivedBatch of q and the
 * queries after it in call_next. */
static void query_params(const struct query *q, char *out, size_t cap)
{
    struct chain *c = q->c;
    uint8_t cd[EVM_RECEIVED_BATCH_CALLDATA(EVM_RECEIVED_BATCH_MAX)];
    size_t cdlen;
    if (q->intent_kind) {
        memcpy(cd, c->sel_intent_state, 4);
        memcpy(cd + 4, q->id, 32);
        cdlen = 36;
    } else if (q->pending_kind) {
        cdlen = evm_query_calldata(cd, &c->gw, true, 0, q->seq);
    } else {
        uint64_t seqs[EVM_RECEIVED_BATCH_MAX];
        size_t n = 0;
        for (const struct query *m = q; m; m = m->call_next)
            seqs[n++] = m->seq;
        cdlen = evm_received_batch_calldata(cd, &c->gw, q->src, seqs, n);
    }
    call_params(out, cap, q->intent_kind ? c->cfg.router.bytes : c->cfg.gateway.bytes, cd, cdlen, q->block);
}

static bool received_kind(const struct query *q) { return !q->intent_kind && !q->pending_kind; }

/* Sorts g's queries into eth_calls: each received query joins the receivedBatch of its source
 * chain (a new one when none has room), any other query is a call of its own. Sets g->ncalls
 * and each query's call, bit and batch_n; fills lead[] and last[] (the first and the last
 * query of each call; g->n each). */
static void group_calls(struct qgroup *g, struct query **lead, struct query **last)
{
    size_t nc = 0;
    for (struct query *q = g->head; q; q = q->next) {
        q->call_next = NULL;
        size_t k = nc;
        if (received_kind(q))
            for (size_t j = nc; j-- > 0;)
                if (received_kind(lead[j]) && lead[j]->src == q->src && last[j]->bit + 1 < EVM_RECEIVED_BATCH_MAX) {
                    k = j;
                    break;
                }
        if (k == nc) { /* a call of its own */
            nc++;
            lead[k] = q;
            q->bit = 0;
        } else {
            last[k]->call_next = q;
            q->bit = (uint16_t)(last[k]->bit + 1);
        }
        last[k] = q;
        q->call = k;
    }
    for (size_t k = 0; k < nc; k++) {
        uint16_t n = 0;
        for (struct query *m = lead[k]; m; m = m->call_next)
            n++;
        for (struct query *m = lead[k]; m; m = m->call_next)
            m->batch_n = n;
    }
    g->ncalls = nc;
}

/* The room the params of the eth_call that q leads need. */
static size_t lead_params_cap(const struct query *q)
{
    return query_params_cap(received_kind(q) ? EVM_RECEIVED_BATCH_CALLDATA(q->batch_n) : 68);
}

/* Sends g's batch; an error means nothing was sent and g is still the caller's. */
static enum ferry_err group_send(struct qgroup *g)
{
    struct chain *c = g->c;
    struct rpc_call_spec *calls = calloc(g->n + 1, sizeof *calls);
    struct query **lead = calloc(g->n, sizeof *lead), **last = calloc(g->n, sizeof *last);
    char *params = NULL;
    enum ferry_err e = FERRY_OK;
    if (!calls || !lead || !last) {
        e = ferry_fail(FERRY_ENOMEM, "evm: out of memory for a batch of %zu queries", g->n);
        goto out;
    }
    for (struct query *q = g->head; q; q = q->next)
        q->block = g->block;
    group_calls(g, lead, last);
    size_t room = 0;
    for (size_t k = 0; k < g->ncalls; k++)
        room += lead_params_cap(lead[k]);
    if (!(params = malloc(room))) {
        e = ferry_fail(FERRY_ENOMEM, "evm: out of memory for a batch of %zu queries", g->n);
        goto out;
    }
    char num[19], p_blk[64];
    hex_u64_quantity(num, g->block);
    snprintf(p_blk, sizeof p_blk, "[\"%s\",false]", num);
    calls[0] = (struct rpc_call_spec){"eth_getBlockByNumber", p_blk};
    size_t at = 0;
    for (size_t k = 0; k < g->ncalls; k++) {
        size_t cap = lead_params_cap(lead[k]);
        query_params(lead[k], params + at, cap);
        calls[1 + k] = (struct rpc_call_spec){"eth_call", params + at};
        at += cap;
    }
    e = rpc_batch(c->rpc, calls, g->ncalls + 1, NULL, group_answer, g);
out:
    free(calls);
    free(lead);
    free(last);
    free(params);
    return e;
}

static void group_head(void *ud, struct rpc_reply *r, size_t n)
{
    struct qgroup *g = ud;
    uint64_t head;
    char why[240];
    if (g->c->closing)
        return group_drop(g);
    if (n != 1) {
        snprintf(why, sizeof why, "%zu replies to eth_blockNumber", n);
    } else if (r[0].err.kind != RPC_OK) {
        snprintf(why, sizeof why, "%s: %s", rpc_errkind_name(r[0].err.kind), r[0].err.message);
    } else if (!quantity(r[0].result, &head)) {
        snprintf(why, sizeof why, "malformed eth_blockNumber");
    } else {
        g->block = confirmed_of(g->c, head);
        g->known = true;
        if (!group_send(g))
            return;
        snprintf(why, sizeof why, "%s", ferry_errmsg());
    }
    (void)group_end(g, NULL, why);
}

/* Queues g to fail on the next turn (the queries' callbacks never run in the turn they started). */
static void group_failed(struct qgroup *g, const char *why)
{
    struct chain *c = g->c;
    snprintf(g->why, sizeof g->why, "%s", why);
    g->next = c->q_failed;
    c->q_failed = g;
    loop_defer(&c->q_fail);
}

static void query_fail_run(struct loop_defer *d, void *ud)
{
    (void)d;
    struct chain *c = ud;
    struct qgroup *g;
    while ((g = c->q_failed)) {
        c->q_failed = g->next;
        if (!group_end(g, NULL, g->why))
            return;
    }
}

/* The end of the turn: every open group goes out. Runs in the deferred work, so anything
 * failing here waits one more turn (query_fail_run). */
static void query_flush(struct loop_defer *d, void *ud)
{
    (void)d;
    struct chain *c = ud;
    struct qgroup *g = c->q_open, *next;
    c->q_open = NULL;
    for (; g; g = next) {
        next = g->next;
        g->next = NULL;
        enum ferry_err e = g->known ? group_send(g) : rpc_call(c->rpc, "eth_blockNumber", "[]", NULL, group_head, g);
        if (e)
            group_failed(g, ferry_errmsg());
    }
}

/* At close, before the client goes: the groups not sent end without callbacks, and the one
 * whose callbacks are running (close called from one of them) stops calling them. */
static void queries_close(struct chain *c)
{
    if (c->q_answering)
        c->q_answering->c = NULL;
    c->q_answering = NULL;
    loop_defer_cancel(&c->q_flush);
    loop_defer_cancel(&c->q_fail);
    struct qgroup *lists[2] = {c->q_open, c->q_failed};
    c->q_open = c->q_failed = NULL;
    for (int k = 0; k < 2; k++)
        for (struct qgroup *g = lists[k], *nx; g; g = nx) {
            nx = g->next;
            group_drop(g);
        }
}

/* Adds q to this turn's group for its block; the group goes out at the end of the turn. */
static enum ferry_err query_start(struct query *q)
{
    struct chain *c = q->c;
    struct chain_head h = evm_watch_head(c->watch);
    bool known = h.confirmed != 0; /* the watcher's view: at most one poll old */
    struct qgroup *g = c->q_open, *last = NULL;
    for (; g; last = g, g = g->next)
        if (g->known == known && (!known || g->block == h.confirmed) && g->n < EVM_QUERY_GROUP_MAX)
            break;
    if (!g) {
        if (!(g = calloc(1, sizeof *g))) {
            free(q);
            return ferry_fail(FERRY_ENOMEM, "evm: out of memory");
        }
        *g = (struct qgroup){.c = c, .known = known, .block = known ? h.confirmed : 0};
        if (last)
            last->next = g;
        else
            c->q_open = g;
    }
    q->block = g->block;
    if (g->tail)
        g->tail->next = q;
    else
        g->head = q;
    g->tail = q;
    g->n++;
    if (!c->q_flush.loop)
        loop_defer_init(c->env.loop, &c->q_flush, query_flush, c);
    if (!c->q_fail.loop)
        loop_defer_init(c->env.loop, &c->q_fail, query_fail_run, c);
    loop_defer(&c->q_flush);
    return FERRY_OK;
}

static enum ferry_err evm_query_received(struct chain *c, uint64_t src_chain, uint64_t sequence, chain_received_cb cb,
                                         void *ud)
{
    if (!cb)
        return ferry_fail(FERRY_EINVAL, "evm: query_received needs a callback");
    struct query *q = calloc(1, sizeof *q);
    if (!q)
        return ferry_fail(FERRY_ENOMEM, "evm: out of memory");
    *q = (struct query){.c = c, .src = src_chain, .seq = sequence, .rcb = cb, .ud = ud};
    return query_start(q);
}

static enum ferry_err evm_query_pending(struct chain *c, uint64_t sequence, chain_pending_cb cb, void *ud)
{
    if (!cb)
        return ferry_fail(FERRY_EINVAL, "evm: query_pending needs a callback");
    struct query *q = calloc(1, sizeof *q);
    if (!q)
        return ferry_fail(FERRY_ENOMEM, "evm: out of memory");
    *q = (struct query){.c = c, .pending_kind = true, .seq = sequence, .pcb = cb, .ud = ud};
    return query_start(q);
}

static enum ferry_err evm_query_intent(struct chain *c, const uint8_t id[32], chain_intent_cb cb, void *ud)
{
    if (!cb || !id)
        return ferry_fail(FERRY_EINVAL, "evm: query_intent needs an id and a callback");
    if (!c->cfg.router.set)
        return ferry_fail(FERRY_ESTATE, "chain %s: the chain's config names no router", c->cfg.name);
    struct query *q = calloc(1, sizeof *q);
    if (!q)
        return ferry_fail(FERRY_ENOMEM, "evm: out of memory");
    *q = (struct query){.c = c, .intent_kind = true, .icb = cb, .ud = ud};
    memcpy(q->id, id, 32);
    return query_start(q);
}

/* ---- the watcher's side ---- */

static void evm_events_done(struct chain *c, uint64_t token) { evm_watch_events_done(c->watch, token); }

static enum ferry_err evm_resume(struct chain *c)
{
    enum ferry_err e = evm_watch_resume(c->watch);
    return e ? ferry_fail_ctx(e, "chain %s", c->cfg.name) : FERRY_OK;
}

/* ---- status ---- */

static void add_u64(cJSON *o, const char *k, uint64_t v) { cJSON_AddNumberToObject(o, k, (double)v); }

static void add_addr(cJSON *o, const char *k, const struct config_address *a)
{
    if (!a->set) {
        cJSON_AddNullToObject(o, k);
        return;
    }
    char s[ADDRESS_STR];
    address_to_checksum(s, a->bytes);
    cJSON_AddStringToObject(o, k, s);
}

static cJSON *evm_status(struct chain *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "name", c->cfg.name);
    cJSON_AddStringToObject(o, "kind", "evm");
    add_u64(o, "chain_id", c->cfg.chain_id);
    cJSON_AddBoolToObject(o, "watching", c->started);
    add_u64(o, "confirmations", c->confirmations);

    struct chain_head h = evm_watch_head(c->watch);
    const char *head_from = "watcher";
    if (!h.number && c->probed && !c->p_error[0]) {
        h.number = c->p_head;
        h.timestamp = c->p_head_ts;
        h.confirmed = confirmed_of(c, c->p_head);
        head_from = "probe";
    } else if (!h.number) {
        head_from = "unknown";
    }
    cJSON *hj = cJSON_AddObjectToObject(o, "head");
    add_u64(hj, "number", h.number);
    add_u64(hj, "timestamp", h.timestamp);
    add_u64(hj, "confirmed", h.confirmed);
    cJSON_AddStringToObject(hj, "source", head_from);

    struct evm_watch_stats ws;
    evm_watch_stats(c->watch, &ws);
    cJSON *cu = cJSON_AddObjectToObject(o, "cursor");
    add_u64(cu, "next_block", ws.next_block);
    uint64_t lag = h.number && h.confirmed + 1 > ws.next_block ? h.confirmed + 1 - ws.next_block : 0;
    add_u64(cu, "lag_blocks", lag); /* confirmed blocks not yet scanned */
    cJSON_AddBoolToObject(cu, "paused", ws.paused);
    if (ws.paused)
        add_u64(cu, "reorg_from", ws.reorg_from);
    cJSON_AddBoolToObject(cu, "awaiting_engine", ws.awaiting_engine);
    add_u64(cu, "range", ws.range);
    add_u64(cu, "scans", ws.scans);
    add_u64(cu, "quiet_polls", ws.quiet_polls); /* polls of an unchanged head: no scan sent */
    add_u64(cu, "logs", ws.logs);
    add_u64(cu, "rpc_errors", ws.rpc_errors);
    add_u64(cu, "bad_replies", ws.bad_replies);
    add_u64(cu, "deep_reorgs", ws.deep_reorgs);

    cJSON *eps = cJSON_AddArrayToObject(o, "endpoints");
    for (size_t i = 0; i < rpc_endpoint_count(c->rpc); i++) {
        struct rpc_endpoint_status es;
        if (rpc_endpoint_status(c->rpc, i, &es))
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", es.name);
        cJSON_AddBoolToObject(e, "healthy", es.healthy);
        cJSON_AddBoolToObject(e, "trusted_for_logs", es.trusted_for_logs);
        add_u64(e, "requests", es.requests);
        add_u64(e, "errors", es.errors);
        add_u64(e, "consecutive_errors", es.consecutive_errors);
        cJSON_AddNumberToObject(e, "latency_ms", es.latency_ms);
        if (es.head_known)
            add_u64(e, "head", es.head);
        else
            cJSON_AddNullToObject(e, "head");
        add_u64(e, "head_lag", es.head_lag);
        cJSON_AddItemToArray(eps, e);
    }

    cJSON *sj = cJSON_AddObjectToObject(o, "submitter");
    char addr[ADDRESS_STR];
    address_to_checksum(addr, c->submitter);
    cJSON_AddStringToObject(sj, "key", c->cfg.submitter);
    cJSON_AddStringToObject(sj, "address", addr);
    if (c->probed && !c->p_error[0]) {
        char dec[U256_DEC_MAX];
        u256_to_dec(dec, c->p_balance);
        cJSON_AddStringToObject(sj, "balance_wei", dec);
        add_u64(sj, "nonce", c->p_nonce); /* the chain's pending nonce */
    } else {
        cJSON_AddNullToObject(sj, "balance_wei");
        cJSON_AddNullToObject(sj, "nonce");
    }
    add_u64(sj, "next_nonce", txmgr_next_nonce(c->tx)); /* the manager's line */
    const char *why = NULL;
    if (txmgr_halted(c->tx, &why))
        cJSON_AddStringToObject(sj, "halted", why ? why : "halted");
    if (c->p_error[0])
        cJSON_AddStringToObject(o, "probe_error", c->p_error);
    cJSON_AddBoolToObject(o, "probed", c->probed);

    struct txmgr_stats ts;
    txmgr_stats(c->tx, &ts);
    cJSON *tj = cJSON_AddObjectToObject(o, "transactions");
    add_u64(tj, "submitted", ts.submitted);
    add_u64(tj, "sent", ts.sent);
    add_u64(tj, "send_failed", ts.send_failed);
    add_u64(tj, "replaced", ts.replaced);
    add_u64(tj, "mined", ts.mined);
    add_u64(tj, "confirmed", ts.confirmed);
    add_u64(tj, "reverted", ts.reverted);
    add_u64(tj, "refused", ts.refused);
    add_u64(tj, "gas_one_run", ts.gas_one_run);
    add_u64(tj, "delivery_gas_modelled", c->gas_count[0][0]);
    add_u64(tj, "delivery_gas_measured", c->gas_count[0][1]);
    add_u64(tj, "delivery_gas_model_reverted", c->gas_count[0][2]);
    add_u64(tj, "ack_gas_modelled", c->gas_count[1][0]);
    add_u64(tj, "ack_gas_measured", c->gas_count[1][1]);
    add_u64(tj, "ack_gas_model_reverted", c->gas_count[1][2]);

    cJSON *cj = cJSON_AddObjectToObject(o, "contracts");
    add_addr(cj, "gateway", &c->cfg.gateway);
    add_addr(cj, "vault", &c->cfg.vault);
    add_addr(cj, "router", &c->cfg.router);
    return o;
}

static void evm_describe_revert(const uint8_t *data, size_t len, char *out, size_t cap)
{
    evm_revert_text_bytes(out, cap, data, len);
}

const struct chain_ops evm_chain_ops = {
    .name = "evm",
    .open = evm_open,
    .check_config = evm_check_config,
    .start = evm_start,
    .stop = evm_stop,
    .close = evm_close,
    .chain_id = evm_chain_id,
    .chain_name = evm_chain_name,
    .head = evm_head,
    .attest_digest = evm_attest,
    .packet_id = evm_ops_packet_id,
    .submit = evm_submit,
    .submission = evm_submission,
    .query_received = evm_query_received,
    .query_pending = evm_query_pending,
    .query_intent = evm_query_intent,
    .describe_revert = evm_describe_revert,
    .events_done = evm_events_done,
    .resume = evm_resume,
    .status = evm_status,
};
