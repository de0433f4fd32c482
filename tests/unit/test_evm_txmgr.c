/* The EVM transaction manager (chains/evm/txmgr.c).
 *
 * Part 1, recorded exchanges: every tests/vectors/evm_txmgr/NAME.json but fee_history.json holds
 * one scenario, run as a test of its own: a configuration and a list of steps, in order:
 *   {"do": "start" | "submit" | "sweep" | "head" | "restart" | "cancel" | "fail_next_write", ...}
 *       an action on the manager, taken once it is idle;
 *   {"method", "params", "reply" | "http_status", "tx", "as"} or {"batch": [call, ...]}
 *       a request the manager must make next (params compared as JSON) and the canned reply;
 *   {"check": "status" | "reports" | "stats" | "store" | "log" | "halted", ...}
 *       what must hold once the manager is idle.
 * In expected params and in replies "$from" is the submitter's address and "$txN" the hash of
 * the N-th distinct transaction the fake node was sent; "$raw" in params matches any raw
 * transaction. Every eth_sendRawTransaction the node receives is decoded and checked against
 * "tx" (nonce, gas, fees, to, value), named ("as": "$tx2" must be the second distinct one), and
 * checked against the store at that very moment: its record, holding these raw bytes, must
 * already be committed (the write-ahead). Requests beyond the next action are refused, and every
 * expected request must be made.
 *
 * The fake node is libmicrohttpd driven by the test's own loop (a loop source), so its handler
 * runs on the loop's thread between the manager's turns and may read the store safely.
 *
 * Part 2, a private anvil (anvil_run.h): replacement with the base fee raised under manual
 * mining, anvil_dropTransaction, a nonce used meanwhile by `cast send` with the same key, and
 * kill -9 of a child process at each crash point (txmgr.after_sign, after_persist,
 * after_broadcast, after_mined), each leaving exactly one on-chain effect after a restart on the
 * same LevelDB directory. The fake node's write-ahead check shows that a record is committed when
 * its transaction reaches the node; the kill at after_persist shows the order (nothing reached the
 * node, the store has it). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <microhttpd.h>

#include "evm/rpc.h"
#include "evm/txmgr.h"
#include "ferry/buf.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"
#include "ferry/loop.h"
#include "ferry/loop_mhd.h"
#include "ferry/signer.h"
#include "ferry/store.h"
#include "ferry/tx.h"
#include "ferry/tx_sign.h"
#include "anvil_run.h"
#include "testutil.h"

#define KEY0 "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define ADDR0 "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
#define MAX_RPC_STEPS 256
#define MAX_TXS 32

/* ---- the fake node, on the test's loop ---- */

struct fake {
    struct loop_mhd http;
    struct MHD_Daemon *d;
    unsigned port;
    const cJSON *ex[MAX_RPC_STEPS]; /* the expected requests, in order */
    size_t nex, pos, limit;
    char err[2048];
    struct store *store; /* for the write-ahead check */
    uint8_t hashes[MAX_TXS][32];
    size_t nhashes;
    int sends;
};

struct upload {
    struct fbuf body;
};

static void fake_fail(struct fake *f, const char *fmt, ...) FERRY_PRINTF(2, 3);

static void fake_fail(struct fake *f, const char *fmt, ...)
{
    if (f->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err, sizeof f->err, fmt, ap);
    va_end(ap);
}

/* "$from", "$txN" -> values, in place. */
static void subst_in(const struct fake *f, cJSON *j)
{
    if (cJSON_IsString(j)) {
        const char *s = j->valuestring;
        char buf[80];
        if (strcmp(s, "$from") == 0) {
            cJSON_SetValuestring(j, ADDR0);
        } else if (strncmp(s, "$tx", 3) == 0) {
            unsigned long n = strtoul(s + 3, NULL, 10);
            if (n >= 1 && n <= f->nhashes) {
                hex_encode(buf, f->hashes[n - 1], 32, true);
                cJSON_SetValuestring(j, buf);
            }
        }
        return;
    }
    for (cJSON *x = j ? j->child : NULL; x; x = x->next)
        subst_in(f, x);
}

/* A copy of j with the placeholders replaced. */
static cJSON *subst(const struct fake *f, const cJSON *j)
{
    cJSON *c = j ? cJSON_Duplicate(j, true) : cJSON_CreateObject();
    assert_non_null(c);
    subst_in(f, c);
    return c;
}

/* want (after subst) matches got, "$raw" and "$any" matching anything of their kind. */
static bool match(const cJSON *want, const cJSON *got)
{
    if (cJSON_IsString(want) && strcmp(want->valuestring, "$any") == 0)
        return got != NULL;
    if (cJSON_IsString(want) && strcmp(want->valuestring, "$raw") == 0)
        return cJSON_IsString(got);
    if (cJSON_IsArray(want)) {
        if (!cJSON_IsArray(got) || cJSON_GetArraySize(want) != cJSON_GetArraySize(got))
            return false;
        for (const cJSON *a = want->child, *b = got->child; a; a = a->next, b = b->next)
            if (!match(a, b))
                return false;
        return true;
    }
    if (cJSON_IsObject(want)) {
        if (!cJSON_IsObject(got) || cJSON_GetArraySize(want) != cJSON_GetArraySize(got))
            return false;
        for (const cJSON *a = want->child; a; a = a->next)
            if (!match(a, cJSON_GetObjectItemCaseSensitive(got, a->string)))
                return false;
        return true;
    }
    return cJSON_Compare(want, got, true);
}

static const char *u256_dec_of(char out[U256_DEC_MAX], u256 v)
{
    u256_to_dec(out, v);
    return out;
}

/* The write-ahead: the record carrying raw is in the store before the node sees raw. */
struct wa_scan {
    uint8_t pk[STORE_KEY_MAX];
    size_t pklen;
    int found;
};

static enum ferry_err wa_visit(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    struct wa_scan *w = arg;
    const uint8_t *pk;
    size_t pklen;
    if (store_index_pk(key, klen, STORE_IDX_TX_HASH, 32, &pk, &pklen) && pklen <= sizeof w->pk) {
        memcpy(w->pk, pk, pklen);
        w->pklen = pklen;
        w->found++;
    }
    return FERRY_OK;
}

static void check_raw(struct fake *f, const char *rawhex, const cJSON *want_tx, const cJSON *as)
{
    size_t n;
    uint8_t *raw = tu_unhex(rawhex, &n);
    struct eth_tx tx;
    if (eth_tx_decode(&tx, raw, n) != FERRY_OK) {
        fake_fail(f, "eth_sendRawTransaction: not a transaction: %s", ferry_errmsg());
        free(raw);
        return;
    }
    uint8_t h[32];
    keccak256(h, raw, n);
    size_t label = 0;
    for (size_t i = 0; i < f->nhashes; i++)
        if (memcmp(f->hashes[i], h, 32) == 0)
            label = i + 1;
    if (!label && f->nhashes < MAX_TXS) {
        memcpy(f->hashes[f->nhashes++], h, 32);
        label = f->nhashes;
    }
    f->sends++;
    if (cJSON_IsString(as) && (size_t)atoi(as->valuestring + 3) != label)
        fake_fail(f, "eth_sendRawTransaction: expected %s, got transaction $tx%zu", as->valuestring, label);

    /* the write-ahead */
    struct store_key p;
    store_key_index_prefix(&p, STORE_IDX_TX_HASH, h, 32);
    struct wa_scan w = {.found = 0};
    if (store_scan(f->store, NULL, p.b, p.len, NULL, 0, 16, wa_visit, &w) != FERRY_OK || w.found != 1) {
        fake_fail(f, "write-ahead: transaction $tx%zu reached the node before its record was committed", label);
    } else {
        uint8_t *val;
        size_t vlen;
        if (store_get(f->store, &val, &vlen, w.pk, w.pklen) != FERRY_OK) {
            fake_fail(f, "write-ahead: the hash index of $tx%zu points to no record", label);
        } else {
            char *json = strndup((const char *)val, vlen);
            if (!strstr(json, rawhex))
                fake_fail(f, "write-ahead: the record of $tx%zu does not hold its raw bytes", label);
            free(json);
            free(val);
        }
    }

    /* the transaction's fields */
    char a[U256_DEC_MAX];
    const cJSON *x;
    if (want_tx) {
        if ((x = cJSON_GetObjectItem(want_tx, "nonce")) && tx.nonce != (uint64_t)x->valuedouble)
            fake_fail(f, "$tx%zu: nonce %" PRIu64 ", want %.0f", label, tx.nonce, x->valuedouble);
        if ((x = cJSON_GetObjectItem(want_tx, "gas")) && tx.gas_limit != (uint64_t)x->valuedouble)
            fake_fail(f, "$tx%zu: gas %" PRIu64 ", want %.0f", label, tx.gas_limit, x->valuedouble);
        if ((x = cJSON_GetObjectItem(want_tx, "type")) && (int)tx.type != x->valueint)
            fake_fail(f, "$tx%zu: type %d, want %d", label, (int)tx.type, x->valueint);
        if ((x = cJSON_GetObjectItem(want_tx, "max_fee")) && strcmp(u256_dec_of(a, tx.max_fee_per_gas), x->valuestring))
            fake_fail(f, "$tx%zu: maxFeePerGas %s, want %s", label, a, x->valuestring);
        if ((x = cJSON_GetObjectItem(want_tx, "tip")) &&
            strcmp(u256_dec_of(a, tx.max_priority_fee_per_gas), x->valuestring))
            fake_fail(f, "$tx%zu: maxPriorityFeePerGas %s, want %s", label, a, x->valuestring);
        if ((x = cJSON_GetObjectItem(want_tx, "gas_price")) && strcmp(u256_dec_of(a, tx.gas_price), x->valuestring))
            fake_fail(f, "$tx%zu: gasPrice %s, want %s", label, a, x->valuestring);
        if ((x = cJSON_GetObjectItem(want_tx, "value")) && strcmp(u256_dec_of(a, tx.value), x->valuestring))
            fake_fail(f, "$tx%zu: value %s, want %s", label, a, x->valuestring);
        if ((x = cJSON_GetObjectItem(want_tx, "to"))) {
            char to[ADDRESS_STR];
            hex_encode(to, tx.to, ADDRESS_LEN, true);
            const char *w2 = strcmp(x->valuestring, "$from") == 0 ? ADDR0 : x->valuestring;
            if (strcasecmp(to, w2) != 0)
                fake_fail(f, "$tx%zu: to %s, want %s", label, to, w2);
        }
        if ((x = cJSON_GetObjectItem(want_tx, "data"))) {
            char *d = malloc(2 * tx.data_len + 3);
            hex_encode(d, tx.data, tx.data_len, true);
            if (strcmp(d, x->valuestring) != 0)
                fake_fail(f, "$tx%zu: data %s, want %s", label, d, x->valuestring);
            free(d);
        }
    }
    free(raw);
}

/* Checks one call; returns its reply object (with the id), or NULL. */
static cJSON *serve_call(struct fake *f, const cJSON *want, const cJSON *got)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(got, "method");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(got, "params");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(got, "id");
    const char *wm = cJSON_GetObjectItem(want, "method")->valuestring;
    char *gp = p ? cJSON_PrintUnformatted(p) : strdup("(none)");
    if (!cJSON_IsString(m) || !cJSON_IsNumber(id)) {
        fake_fail(f, "not a JSON-RPC call: %.300s", gp);
        free(gp);
        return NULL;
    }
    if (strcmp(m->valuestring, wm) != 0) {
        fake_fail(f, "expected %s, got %s %.300s", wm, m->valuestring, gp);
        free(gp);
        return NULL;
    }
    const cJSON *wp = cJSON_GetObjectItem(want, "params");
    cJSON *empty = cJSON_CreateArray();
    cJSON *ws = subst(f, wp ? wp : empty);
    cJSON_Delete(empty);
    bool ok = match(ws, p ? p : empty);
    if (!ok) {
        char *w = cJSON_PrintUnformatted(ws);
        fake_fail(f, "%s: params %.400s, expected %.400s", wm, gp, w);
        free(w);
    }
    cJSON_Delete(ws);
    free(gp);
    if (ok && strcmp(wm, "eth_sendRawTransaction") == 0 && cJSON_IsString(cJSON_GetArrayItem(p, 0)))
        check_raw(f, cJSON_GetArrayItem(p, 0)->valuestring, cJSON_GetObjectItem(want, "tx"),
                  cJSON_GetObjectItem(want, "as"));
    cJSON *reply = subst(f, cJSON_GetObjectItem(want, "reply"));
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "jsonrpc", "2.0");
    cJSON_AddNumberToObject(out, "id", id->valuedouble);
    for (cJSON *x = reply->child; x; x = x->next)
        cJSON_AddItemToObject(out, x->string, cJSON_Duplicate(x, true));
    cJSON_Delete(reply);
    return out;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct fake *f = cls;
    struct upload *u = *con_cls;
    if (!u) {
        u = calloc(1, sizeof *u);
        fbuf_init(&u->body, 8 << 20);
        *con_cls = u;
        return MHD_YES;
    }
    if (*upload_size) {
        if (fbuf_add(&u->body, upload_data, *upload_size))
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    cJSON *got = u->body.len ? cJSON_ParseWithLength((const char *)u->body.data, u->body.len) : NULL;
    if (f->pos >= f->limit || f->pos >= f->nex) {
        fake_fail(f, "unexpected request (expected %zu so far): %.400s", f->limit,
                  u->body.len ? (char *)u->body.data : "");
        cJSON_Delete(got);
        return respond_text(conn, 500, strdup("{}"));
    }
    const cJSON *ex = f->ex[f->pos++];
    const cJSON *status = cJSON_GetObjectItem(ex, "http_status");
    const cJSON *batch = cJSON_GetObjectItem(ex, "batch");
    cJSON *out = NULL;
    if (!got) {
        fake_fail(f, "request body is not JSON");
    } else if (batch) {
        int n = cJSON_GetArraySize(batch);
        if (!cJSON_IsArray(got) || cJSON_GetArraySize(got) != n) {
            char *s = cJSON_PrintUnformatted(got);
            fake_fail(f, "expected a batch of %d calls, got %.600s", n, s);
            free(s);
        } else {
            out = cJSON_CreateArray();
            for (int i = 0; i < n; i++) {
                cJSON *one = serve_call(f, cJSON_GetArrayItem(batch, i), cJSON_GetArrayItem(got, i));
                if (!one)
                    break;
                cJSON_AddItemToArray(out, one);
            }
        }
    } else if (cJSON_IsObject(got)) {
        out = serve_call(f, ex, got);
    } else {
        char *s = cJSON_PrintUnformatted(got);
        fake_fail(f, "expected one call (%s), got %.600s", cJSON_GetObjectItem(ex, "method")->valuestring, s);
        free(s);
    }
    cJSON_Delete(got);
    if (cJSON_IsNumber(status)) {
        cJSON_Delete(out);
        return respond_text(conn, (unsigned)status->valueint, strdup("service unavailable"));
    }
    char *body = out ? cJSON_PrintUnformatted(out) : strdup("{}");
    cJSON_Delete(out);
    return respond_text(conn, f->err[0] ? 500 : 200, body);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct upload *u = *con_cls;
    if (u) {
        fbuf_free(&u->body);
        free(u);
        *con_cls = NULL;
    }
}

static void fake_start(struct fake *f, struct loop *loop, struct store *st)
{
    memset(f, 0, sizeof *f);
    f->store = st;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    f->d = MHD_start_daemon(MHD_USE_ERROR_LOG, 0, NULL, NULL, handler, f, MHD_OPTION_SOCK_ADDR, &sin,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, f, MHD_OPTION_END);
    assert_non_null(f->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    f->port = info->port;
    loop_mhd_start(loop, &f->http, f->d);
}

static void fake_stop(struct fake *f)
{
    loop_mhd_stop(&f->http);
    MHD_stop_daemon(f->d);
}

/* ---- the scenario interpreter ---- */

struct ctx {
    const char *name;
    struct loop *loop;
    struct store *st;
    struct signer *sg;
    struct rpc_client *rpc;
    struct txmgr *m;
    struct txmgr_config cfg;
    struct fake fake;
    cJSON *reports; /* since the last "reports" check */
    cJSON *logs;
    bool verbose;
};

static void on_status(void *ud, const struct txmgr_status *s)
{
    struct ctx *c = ud;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", s->id);
    cJSON_AddStringToObject(o, "state", txmgr_state_name(s->state));
    cJSON_AddNumberToObject(o, "nonce", (double)s->nonce);
    cJSON_AddNumberToObject(o, "attempts", s->attempts);
    char h[67];
    hex_encode(h, s->tx_hash, 32, true);
    cJSON_AddStringToObject(o, "tx", h);
    cJSON_AddNumberToObject(o, "block", (double)s->block_number);
    cJSON_AddBoolToObject(o, "success", s->success);
    cJSON_AddBoolToObject(o, "cancel", s->cancel);
    cJSON_AddNumberToObject(o, "gas_limit", (double)s->gas_limit);
    cJSON_AddNumberToObject(o, "gas_used", (double)s->gas_used);
    if (s->error)
        cJSON_AddStringToObject(o, "error", s->error);
    cJSON_AddBoolToObject(o, "retryable", s->retryable);
    cJSON_AddItemToArray(c->reports, o);
}

static void on_log(void *ud, enum txmgr_log_level lv, const char *msg)
{
    struct ctx *c = ud;
    cJSON_AddItemToArray(c->logs, cJSON_CreateString(msg));
    if (c->verbose)
        fprintf(stderr, "# [%d] %s\n", (int)lv, msg);
}

static u256 dec_or(const cJSON *o, const char *k, uint64_t dflt)
{
    const cJSON *x = cJSON_GetObjectItem(o, k);
    if (!cJSON_IsString(x))
        return u256_from_u64(dflt);
    u256 v;
    assert_int_equal(u256_from_dec(&v, x->valuestring), FERRY_OK);
    return v;
}

static uint64_t num_or(const cJSON *o, const char *k, uint64_t dflt)
{
    const cJSON *x = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(x) ? (uint64_t)x->valuedouble : dflt;
}

static void make_config(struct ctx *c, const cJSON *j)
{
    struct txmgr_config *cfg = &c->cfg;
    memset(cfg, 0, sizeof *cfg);
    cfg->chain_id = num_or(j, "chain_id", 31337);
    cfg->key = "submitter";
    cfg->gas_cap = num_or(j, "gas_cap", 1000000);
    cfg->estimate_margin_pct = (unsigned)num_or(j, "margin", 20);
    cfg->confirmations = (unsigned)num_or(j, "confirmations", 2);
    cfg->replace_after_blocks = (unsigned)num_or(j, "replace_after", 3);
    cfg->max_attempts = (unsigned)num_or(j, "max_attempts", 0);
    cfg->fee_ttl_ms = 600000; /* quotes change with heads only: requests are predictable */
    cfg->start_retry_ms = 5;
    cfg->fees.max_fee_cap = dec_or(j, "max_fee", 100000000000ULL);
    cfg->fees.tip_cap = dec_or(j, "tip_cap", 0);
    cfg->fees.bump_pct = (unsigned)num_or(j, "bump", 10);
    cfg->fees.history_blocks = (unsigned)num_or(j, "history_blocks", 4);
    const cJSON *mode = cJSON_GetObjectItem(j, "mode");
    if (cJSON_IsString(mode))
        cfg->fees.mode = strcmp(mode->valuestring, "legacy") == 0 ? FEE_MODE_LEGACY
                         : strcmp(mode->valuestring, "1559") == 0 ? FEE_MODE_1559
                                                                   : FEE_MODE_AUTO;
    cfg->on_status = on_status;
    cfg->log = on_log;
    cfg->ud = c;
}

static void new_manager(struct ctx *c)
{
    enum ferry_err e = txmgr_new(&c->m, c->loop, c->rpc, c->st, c->sg, &c->cfg);
    if (e)
        fail_msg("%s: txmgr_new: %s", c->name, ferry_errmsg());
}

static void run_idle(struct ctx *c)
{
    uint64_t t0 = loop_clock_ms();
    for (;;) {
        bool busy = rpc_pending(c->rpc) || (c->m && txmgr_busy(c->m));
        if (!busy)
            break;
        if (c->fake.err[0])
            fail_msg("%s: fake node: %s", c->name, c->fake.err);
        if (loop_clock_ms() - t0 > 5000)
            fail_msg("%s: still busy after 5 s (%zu of %zu requests served)", c->name, c->fake.pos, c->fake.nex);
        assert_int_equal(loop_run_once(c->loop, 10), FERRY_OK);
    }
    if (c->fake.err[0])
        fail_msg("%s: fake node: %s", c->name, c->fake.err);
}

static bool is_rpc_step(const cJSON *s)
{
    return cJSON_GetObjectItem(s, "method") || cJSON_GetObjectItem(s, "batch");
}

static void do_action(struct ctx *c, const cJSON *s)
{
    const char *what = cJSON_GetObjectItem(s, "do")->valuestring;
    enum ferry_err e = FERRY_OK;
    if (strcmp(what, "start") == 0) {
        e = txmgr_start(c->m);
    } else if (strcmp(what, "submit") == 0) {
        struct txmgr_call call;
        memset(&call, 0, sizeof call);
        const cJSON *to = cJSON_GetObjectItem(s, "to"), *data = cJSON_GetObjectItem(s, "data");
        if (cJSON_IsString(to))
            assert_int_equal(address_parse(call.to, to->valuestring), FERRY_OK);
        else
            call.create = true;
        size_t n = 0;
        uint8_t *d = cJSON_IsString(data) ? tu_unhex(data->valuestring, &n) : NULL;
        call.data = d;
        call.data_len = n;
        call.value = dec_or(s, "value", 0);
        call.gas_limit = num_or(s, "gas", 0);
        call.flags = cJSON_IsTrue(cJSON_GetObjectItem(s, "dry_run")) ? TXMGR_DRY_RUN : 0;
        if (cJSON_IsTrue(cJSON_GetObjectItem(s, "one_run")))
            call.flags |= TXMGR_GAS_ONE_RUN;
        call.gas_headroom = num_or(s, "headroom", 0);
        e = txmgr_submit(c->m, cJSON_GetObjectItem(s, "id")->valuestring, &call);
        free(d);
    } else if (strcmp(what, "submits") == 0) { /* several in one turn */
        const cJSON *x;
        cJSON_ArrayForEach(x, cJSON_GetObjectItem(s, "ids"))
        {
            struct txmgr_call call;
            memset(&call, 0, sizeof call);
            assert_int_equal(address_parse(call.to, cJSON_GetObjectItem(s, "to")->valuestring), FERRY_OK);
            call.gas_limit = num_or(s, "gas", 0);
            if ((e = txmgr_submit(c->m, x->valuestring, &call)))
                break;
        }
    } else if (strcmp(what, "sweep") == 0) {
        txmgr_poke(c->m);
    } else if (strcmp(what, "head") == 0) {
        txmgr_on_head(c->m, num_or(s, "number", 0));
    } else if (strcmp(what, "cancel") == 0) {
        e = txmgr_cancel(c->m, cJSON_GetObjectItem(s, "id")->valuestring);
    } else if (strcmp(what, "restart") == 0) {
        if (c->m)
            txmgr_free(c->m);
        c->m = NULL;
        new_manager(c);
    } else if (strcmp(what, "fail_next_write") == 0) {
        store_fail_next_write(c->st, FERRY_EIO);
    } else {
        fail_msg("%s: unknown action %s", c->name, what);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItem(s, "then_free"))) { /* with its calls still in flight */
        txmgr_free(c->m);
        c->m = NULL;
    }
    const cJSON *fails = cJSON_GetObjectItem(s, "fails");
    if (cJSON_IsString(fails)) {
        if (!e)
            fail_msg("%s: %s succeeded, expected an error with \"%s\"", c->name, what, fails->valuestring);
        if (!strstr(ferry_errmsg(), fails->valuestring))
            fail_msg("%s: %s failed with \"%s\", expected \"%s\"", c->name, what, ferry_errmsg(), fails->valuestring);
    } else if (e) {
        fail_msg("%s: %s: %s", c->name, what, ferry_errmsg());
    }
}

static const char *hash_label(const struct ctx *c, const char *hex, char *buf, size_t cap)
{
    uint8_t h[32];
    if (hex_decode_exact(h, 32, hex, HEX_PREFIX_REQUIRED) != FERRY_OK)
        return hex;
    for (size_t i = 0; i < c->fake.nhashes; i++)
        if (memcmp(c->fake.hashes[i], h, 32) == 0) {
            snprintf(buf, cap, "$tx%zu", i + 1);
            return buf;
        }
    return hex;
}

/* The fields of want present in got (a report or a status), with "error_has" a substring. */
static void check_fields(struct ctx *c, const char *where, const cJSON *want, const cJSON *got)
{
    for (const cJSON *w = want->child; w; w = w->next) {
        if (strcmp(w->string, "check") == 0)
            continue;
        if (strcmp(w->string, "error_has") == 0) {
            const cJSON *e = cJSON_GetObjectItem(got, "error");
            if (!cJSON_IsString(e) || !strstr(e->valuestring, w->valuestring))
                fail_msg("%s: %s: error \"%s\" does not contain \"%s\"", c->name, where,
                         cJSON_IsString(e) ? e->valuestring : "(none)", w->valuestring);
            continue;
        }
        if (strcmp(w->string, "no_error") == 0) {
            const cJSON *e = cJSON_GetObjectItem(got, "error");
            if (e)
                fail_msg("%s: %s: unexpected error \"%s\"", c->name, where, e->valuestring);
            continue;
        }
        const cJSON *g = cJSON_GetObjectItem(got, w->string);
        if (strcmp(w->string, "tx") == 0 && cJSON_IsString(g)) {
            char buf[32];
            const char *label = hash_label(c, g->valuestring, buf, sizeof buf);
            if (strcmp(label, w->valuestring) != 0)
                fail_msg("%s: %s: tx %s, want %s", c->name, where, label, w->valuestring);
            continue;
        }
        if (!g || !cJSON_Compare(w, g, true)) {
            char *a = cJSON_PrintUnformatted(w), *b = g ? cJSON_PrintUnformatted(g) : strdup("(none)");
            fail_msg("%s: %s: %s is %s, want %s", c->name, where, w->string, b, a);
        }
    }
}

struct count_scan {
    int n;
};

static enum ferry_err count_visit(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    ((struct count_scan *)arg)->n++;
    return FERRY_OK;
}

static int count_prefix(struct store *st, const struct store_key *p)
{
    struct count_scan cs = {0};
    assert_int_equal(store_scan(st, NULL, p->b, p->len, NULL, 0, SIZE_MAX, count_visit, &cs), FERRY_OK);
    return cs.n;
}

static void addr_prefix(struct store_key *k, uint64_t chain, char tag)
{
    uint8_t addr[ADDRESS_LEN];
    assert_int_equal(address_parse(addr, ADDR0), FERRY_OK);
    store_key_begin(k, STORE_KIND_TX);
    store_key_u64(k, chain);
    store_key_u8(k, (uint8_t)tag);
    store_key_bytes(k, addr, ADDRESS_LEN);
}

static void do_check(struct ctx *c, const cJSON *s)
{
    const char *what = cJSON_GetObjectItem(s, "check")->valuestring;
    if (strcmp(what, "status") == 0) {
        struct txmgr_status st;
        const char *id = cJSON_GetObjectItem(s, "id")->valuestring;
        txmgr_status(c->m, id, &st);
        cJSON *saved = c->reports;
        c->reports = cJSON_CreateArray();
        on_status(c, &st); /* the same shape as a report */
        cJSON *got = cJSON_DetachItemFromArray(c->reports, 0);
        cJSON_Delete(c->reports);
        c->reports = saved;
        check_fields(c, "status", s, got);
        cJSON_Delete(got);
    } else if (strcmp(what, "reports") == 0) {
        const cJSON *want = cJSON_GetObjectItem(s, "expect");
        int n = cJSON_GetArraySize(want);
        if (cJSON_GetArraySize(c->reports) != n) {
            char *g = cJSON_PrintUnformatted(c->reports);
            fail_msg("%s: %d reports, want %d: %s", c->name, cJSON_GetArraySize(c->reports), n, g);
        }
        for (int i = 0; i < n; i++) {
            char where[32];
            snprintf(where, sizeof where, "report %d", i);
            check_fields(c, where, cJSON_GetArrayItem(want, i), cJSON_GetArrayItem(c->reports, i));
        }
        cJSON_Delete(c->reports);
        c->reports = cJSON_CreateArray();
    } else if (strcmp(what, "stats") == 0) {
        struct txmgr_stats st;
        txmgr_stats(c->m, &st);
        static const struct {
            const char *name;
            size_t off;
        } fields[] = {
#define F(x) {#x, offsetof(struct txmgr_stats, x)}
            F(submitted), F(refused),   F(persisted), F(sent),        F(send_failed), F(replaced),
            F(dropped_resent), F(rebroadcast), F(nonce_skips), F(capped), F(mined), F(confirmed),
            F(reverted), F(reorged), F(cancelled), F(gas_one_run),
#undef F
        };
        const cJSON *want = cJSON_GetObjectItem(s, "expect");
        for (const cJSON *w = want->child; w; w = w->next) {
            size_t i = 0;
            while (i < sizeof fields / sizeof fields[0] && strcmp(fields[i].name, w->string))
                i++;
            if (i == sizeof fields / sizeof fields[0])
                fail_msg("%s: no counter %s", c->name, w->string);
            uint64_t v;
            memcpy(&v, (const char *)&st + fields[i].off, sizeof v);
            if (v != (uint64_t)w->valuedouble)
                fail_msg("%s: counter %s is %" PRIu64 ", want %.0f", c->name, w->string, v, w->valuedouble);
        }
    } else if (strcmp(what, "store") == 0) {
        struct store_key p;
        addr_prefix(&p, c->cfg.chain_id, 'R');
        const cJSON *x;
        if ((x = cJSON_GetObjectItem(s, "records")) && count_prefix(c->st, &p) != x->valueint)
            fail_msg("%s: %d records in the store, want %d", c->name, count_prefix(c->st, &p), x->valueint);
        if ((x = cJSON_GetObjectItem(s, "next_nonce"))) {
            addr_prefix(&p, c->cfg.chain_id, 'N');
            uint8_t *v;
            size_t n;
            assert_int_equal(store_get(c->st, &v, &n, p.b, p.len), FERRY_OK);
            char want[64], q[19];
            hex_u64_quantity(q, (uint64_t)x->valuedouble);
            snprintf(want, sizeof want, "\"next\":\"%s\"", q);
            char *line = strndup((const char *)v, n);
            if (!strstr(line, want))
                fail_msg("%s: nonce line %s, want %s", c->name, line, want);
            free(line);
            free(v);
        }
        if ((x = cJSON_GetObjectItem(s, "pending"))) { /* entries of the state index */
            uint8_t st = 1;
            store_key_index_prefix(&p, STORE_IDX_TX_STATE, &st, 1);
            if (count_prefix(c->st, &p) != x->valueint)
                fail_msg("%s: %d pending in the state index, want %d", c->name, count_prefix(c->st, &p),
                         x->valueint);
        }
        assert_int_equal(txmgr_next_nonce(c->m), num_or(s, "next_nonce", txmgr_next_nonce(c->m)));
    } else if (strcmp(what, "log") == 0) {
        const char *has = cJSON_GetObjectItem(s, "has")->valuestring;
        bool found = false;
        const cJSON *l;
        cJSON_ArrayForEach(l, c->logs) if (strstr(l->valuestring, has)) found = true;
        if (!found)
            fail_msg("%s: no log line contains \"%s\"", c->name, has);
    } else if (strcmp(what, "halted") == 0) {
        const char *why;
        enum ferry_err e = txmgr_halted(c->m, &why);
        const cJSON *has = cJSON_GetObjectItem(s, "has");
        if (cJSON_IsString(has)) {
            if (!e || !strstr(why, has->valuestring))
                fail_msg("%s: halted: \"%s\", want \"%s\"", c->name, why, has->valuestring);
        } else if (e) {
            fail_msg("%s: halted: %s", c->name, why);
        }
    } else {
        fail_msg("%s: unknown check %s", c->name, what);
    }
}

static void run_scenario(const char *name, const cJSON *sc)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.verbose = getenv("FERRY_TEST_VERBOSE") != NULL;
    c.reports = cJSON_CreateArray();
    c.logs = cJSON_CreateArray();
    assert_int_equal(loop_new(&c.loop), FERRY_OK);
    assert_int_equal(store_open(&c.st, "mem", NULL), FERRY_OK);
    assert_int_equal(signer_new(&c.sg), FERRY_OK);
    uint8_t key[32];
    assert_int_equal(hex_decode_exact(key, 32, KEY0, HEX_PREFIX_FORBIDDEN), FERRY_OK);
    assert_int_equal(signer_add_secret(c.sg, "submitter", key), FERRY_OK);
    fake_start(&c.fake, c.loop, c.st);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", c.fake.port);
    struct rpc_endpoint_config ep = {url, NULL};
    const cJSON *cfgj = cJSON_GetObjectItem(sc, "config");
    struct rpc_config rc = {.endpoints = &ep,
                            .n_endpoints = 1,
                            .timeout_ms = 3000,
                            .deadline_ms = 5000,
                            .max_attempts = (uint32_t)num_or(cfgj, "rpc_attempts", 1),
                            .backoff_base_ms = 1,
                            .backoff_max_ms = 2,
                            .demote_base_ms = 1,
                            .demote_max_ms = 2,
                            .seed = 1};
    assert_int_equal(rpc_client_new(c.loop, &rc, &c.rpc), FERRY_OK);
    make_config(&c, cfgj);
    new_manager(&c);

    const cJSON *steps = cJSON_GetObjectItem(sc, "steps");
    int nsteps = cJSON_GetArraySize(steps);
    size_t *before = calloc((size_t)nsteps + 1, sizeof *before);
    size_t nrpc = 0;
    for (int i = 0; i < nsteps; i++) {
        before[i] = nrpc;
        const cJSON *s = cJSON_GetArrayItem(steps, i);
        if (is_rpc_step(s)) {
            assert_true(nrpc < MAX_RPC_STEPS);
            c.fake.ex[nrpc++] = s;
        }
    }
    before[nsteps] = nrpc;
    c.fake.nex = nrpc;
    for (int i = 0; i < nsteps; i++) {
        const cJSON *s = cJSON_GetArrayItem(steps, i);
        if (is_rpc_step(s))
            continue;
        run_idle(&c);
        if (c.fake.pos != before[i]) {
            char *want = cJSON_PrintUnformatted(c.fake.ex[c.fake.pos]);
            fail_msg("%s: step %d: the manager went idle without making request %zu: %.400s", name, i, c.fake.pos,
                     want);
        }
        if (cJSON_GetObjectItem(s, "do"))
            do_action(&c, s);
        else
            do_check(&c, s);
        int j = i + 1;
        while (j < nsteps && is_rpc_step(cJSON_GetArrayItem(steps, j)))
            j++;
        c.fake.limit = before[j];
    }
    run_idle(&c);
    if (c.fake.pos != nrpc)
        fail_msg("%s: %zu of %zu expected requests made", name, c.fake.pos, nrpc);
    free(before);
    txmgr_free(c.m);
    rpc_client_free(c.rpc);
    fake_stop(&c.fake);
    assert_int_equal(store_close(c.st), FERRY_OK);
    signer_free(c.sg);
    loop_free(c.loop);
    cJSON_Delete(c.reports);
    cJSON_Delete(c.logs);
}

static cJSON *scenario_files[64];
static char *scenario_names[64];
static size_t n_scenarios;

static void scenario_test(void **state)
{
    size_t i = (size_t)(uintptr_t)*state;
    run_scenario(scenario_names[i], scenario_files[i]);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_scenarios(void)
{
    DIR *d = opendir("tests/vectors/evm_txmgr");
    assert_non_null(d);
    char *names[64];
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0 && strcmp(e->d_name, "fee_history.json") != 0 &&
            n < 64)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    for (size_t i = 0; i < n; i++) {
        char path[300];
        snprintf(path, sizeof path, "evm_txmgr/%s", names[i]);
        scenario_files[i] = tu_load_vectors(path);
        names[i][strlen(names[i]) - 5] = 0;
        scenario_names[i] = names[i];
    }
    n_scenarios = n;
}

/* ---- a few checks that need no node ---- */

/* FERRY_CRASH_AT=name#N kills at the N-th time the point is reached, and only there. */
static void crash_points(void **state)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("FERRY_CRASH_AT", "test.point#3", 1);
        txmgr_crash_point("test.other");
        txmgr_crash_point("test.point");
        txmgr_crash_point("test.poin");
        txmgr_crash_point("test.pointer");
        txmgr_crash_point("test.point");
        if (write(1, "", 0) < 0) /* still alive here */
            _exit(4);
        txmgr_crash_point("test.point");
        _exit(5);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    /* unset: nothing happens */
    unsetenv("FERRY_CRASH_AT");
    txmgr_crash_point("txmgr.after_persist");
}

static void bad_arguments(void **state)
{
    struct loop *loop;
    struct store *st;
    struct signer *sg;
    struct rpc_client *rpc;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    assert_int_equal(store_open(&st, "mem", NULL), FERRY_OK);
    assert_int_equal(signer_new(&sg), FERRY_OK);
    uint8_t key[32];
    assert_int_equal(hex_decode_exact(key, 32, KEY0, HEX_PREFIX_FORBIDDEN), FERRY_OK);
    assert_int_equal(signer_add_secret(sg, "k", key), FERRY_OK);
    struct rpc_endpoint_config ep = {"http://127.0.0.1:9/", NULL};
    struct rpc_config rc = {.endpoints = &ep, .n_endpoints = 1};
    assert_int_equal(rpc_client_new(loop, &rc, &rpc), FERRY_OK);
    struct txmgr_config cfg = {.chain_id = 1, .key = "k", .gas_cap = 100000};
    struct txmgr *m = NULL;
    assert_int_equal(txmgr_new(&m, loop, rpc, st, sg, &cfg), FERRY_EINVAL); /* no fee cap */
    assert_non_null(strstr(ferry_errmsg(), "max_fee_per_gas"));
    cfg.fees.max_fee_cap = u256_from_u64(1000);
    cfg.key = "nobody";
    assert_int_equal(txmgr_new(&m, loop, rpc, st, sg, &cfg), FERRY_ENOTFOUND);
    cfg.key = "k";
    cfg.gas_cap = 0;
    assert_int_equal(txmgr_new(&m, loop, rpc, st, sg, &cfg), FERRY_EINVAL);
    cfg.gas_cap = 100000;
    cfg.fees.bump_pct = 5;
    assert_int_equal(txmgr_new(&m, loop, rpc, st, sg, &cfg), FERRY_EINVAL);
    cfg.fees.bump_pct = 0;
    assert_int_equal(txmgr_new(&m, loop, rpc, st, sg, &cfg), FERRY_OK);
    struct txmgr_call call = {.data_len = 3};
    assert_int_equal(txmgr_submit(m, "x", &call), FERRY_EINVAL); /* data NULL with a length */
    call.data_len = 0;
    assert_int_equal(txmgr_submit(m, "", &call), FERRY_EINVAL);
    char long_id[TXMGR_ID_MAX + 2];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = 0;
    assert_int_equal(txmgr_submit(m, long_id, &call), FERRY_EINVAL);
    call.flags = 0x80;
    assert_int_equal(txmgr_submit(m, "x", &call), FERRY_EINVAL);
    assert_int_equal(txmgr_cancel(m, "x"), FERRY_ESTATE);
    struct txmgr_status s;
    assert_int_equal(txmgr_status(m, "x", &s), TXMGR_UNKNOWN);
    assert_false(txmgr_busy(m));
    txmgr_free(m);
    rpc_client_free(rpc);
    assert_int_equal(store_close(st), FERRY_OK);
    signer_free(sg);
    loop_free(loop);
}

static const char dev_keys_1[] = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/* A PENDING record for id "a" holding one transfer signed by `key` for (chain, nonce). */
static char *signed_record(struct signer *sg, const char *key, uint64_t chain, uint64_t nonce, bool wrong_hash)
{
    struct eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = ETH_TX_1559;
    tx.chain_id = chain;
    tx.nonce = nonce;
    tx.gas_limit = 21000;
    tx.max_fee_per_gas = u256_from_u64(100);
    tx.max_priority_fee_per_gas = u256_from_u64(1);
    assert_int_equal(eth_tx_sign(sg, key, &tx), FERRY_OK);
    struct fbuf raw;
    fbuf_init(&raw, 4096);
    assert_int_equal(eth_tx_serialize(&tx, &raw), FERRY_OK);
    uint8_t h[32];
    keccak256(h, raw.data, raw.len);
    h[0] ^= wrong_hash;
    char hh[67], *rh = malloc(2 * raw.len + 3), *out = malloc(2 * raw.len + 512);
    hex_encode(hh, h, 32, true);
    hex_encode(rh, raw.data, raw.len, true);
    sprintf(out,
            "{\"v\":1,\"id\":\"a\",\"nonce\":\"0x%" PRIx64 "\",\"state\":\"PENDING\",\"attempts\":[{\"raw\":\"%s\","
            "\"hash\":\"%s\",\"block\":\"0x1\"}]}",
            nonce, rh, hh);
    free(rh);
    fbuf_free(&raw);
    return out;
}

/* good (a PENDING record from signed_record) as MINED in block 9, with `gas_used` (JSON) in its
 * mined object. */
static char *mined_record(const char *good, const char *gas_used)
{
    const char *st = strstr(good, "\"PENDING\"");
    assert_non_null(st);
    char *out = malloc(strlen(good) + 256);
    sprintf(out, "%.*s\"MINED\"%.*s,\"mined\":{\"attempt\":0,\"block\":\"0x9\",\"block_hash\":\"0x%064d\","
            "\"success\":true,\"gas_used\":%s}}",
            (int)(st - good), good, (int)(strlen(st) - strlen("\"PENDING\"") - 1), st + strlen("\"PENDING\""), 0,
            gas_used);
    return out;
}

/* A corrupt record in the store: txmgr_new says which and changes nothing. */
static void corrupt_record_refused(void **state)
{
    struct loop *loop;
    struct store *st;
    struct signer *sg;
    struct rpc_client *rpc;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    assert_int_equal(store_open(&st, "mem", NULL), FERRY_OK);
    assert_int_equal(signer_new(&sg), FERRY_OK);
    uint8_t key[32];
    assert_int_equal(hex_decode_exact(key, 32, KEY0, HEX_PREFIX_FORBIDDEN), FERRY_OK);
    assert_int_equal(signer_add_secret(sg, "k", key), FERRY_OK);
    struct rpc_endpoint_config ep = {"http://127.0.0.1:9/", NULL};
    struct rpc_config rc = {.endpoints = &ep, .n_endpoints = 1};
    assert_int_equal(rpc_client_new(loop, &rc, &rpc), FERRY_OK);
    struct txmgr_config cfg = {.chain_id = 5, .key = "k", .gas_cap = 100000};
    cfg.fees.max_fee_cap = u256_from_u64(1000);

    /* Well-formed transactions that are wrong for this record: another key, another chain. */
    assert_int_equal(hex_decode_exact(key, 32, dev_keys_1, HEX_PREFIX_FORBIDDEN), FERRY_OK);
    assert_int_equal(signer_add_secret(sg, "other", key), FERRY_OK);
    char *other_key = signed_record(sg, "other", 5, 7, false);
    char *other_chain = signed_record(sg, "k", 6, 7, false);
    char *bad_hash = signed_record(sg, "k", 5, 7, true);
    char *good = signed_record(sg, "k", 5, 7, false);
    char *gas_above = mined_record(good, "\"0x5209\""), *gas_bad = mined_record(good, "21000");
    const char *bad[] = {
        "not json",
        "{\"v\":2}",
        "{\"v\":1,\"id\":\"a\",\"nonce\":\"0x7\",\"state\":\"PENDING\",\"attempts\":[]}",
        "{\"v\":1,\"id\":\"a\",\"nonce\":\"0x8\",\"state\":\"PENDING\",\"attempts\":[{\"raw\":\"0x00\"}]}",
        "{\"v\":1,\"id\":\"a\",\"nonce\":\"0x7\",\"state\":\"SLEEPING\",\"attempts\":[{\"raw\":\"0x00\"}]}",
        ("{\"v\":1,\"id\":\"a\",\"nonce\":\"0x7\",\"state\":\"PENDING\",\"attempts\":[{\"raw\":\"0x02c0\","
         "\"hash\":\"0x00\",\"block\":\"0x1\"}]}"),
        other_key,
        other_chain,
        bad_hash,
        gas_above,
        gas_bad,
    };
    static const char *why[] = {"not a JSON object", "version", "attempts must be", "nonce 8 under the key", "unknown state",
                                "attempts[0]", "signed by another key", "for chain 6", "not the hash of its raw bytes",
                                "mined.gas_used is above the attempt's gas limit", "mined.gas_used is not a quantity"};
    struct store_key k;
    addr_prefix(&k, 5, 'R');
    store_key_u64(&k, 7);
    uint8_t pending = TXMGR_PENDING;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct store_batch *b;
        assert_int_equal(store_batch_begin(st, &b), FERRY_OK);
        store_put(b, k.b, k.len, bad[i], strlen(bad[i]));
        store_index_put(b, STORE_IDX_TX_STATE, &pending, 1, k.b, k.len);
        assert_int_equal(store_commit_sync(b), FERRY_OK);
        struct txmgr *m = NULL;
        enum ferry_err e = txmgr_new(&m, loop, rpc, st, sg, &cfg);
        if (e == FERRY_OK)
            fail_msg("record %zu accepted: %s", i, bad[i]);
        assert_null(m);
        assert_non_null(strstr(ferry_errmsg(), "nonce 7 in the store"));
        if (!strstr(ferry_errmsg(), why[i]))
            fail_msg("record %zu: \"%s\" does not say \"%s\"", i, ferry_errmsg(), why[i]);
    }
    /* the same record, right: loaded, and its status read back */
    struct store_batch *b;
    assert_int_equal(store_batch_begin(st, &b), FERRY_OK);
    store_put(b, k.b, k.len, good, strlen(good));
    assert_int_equal(store_commit_sync(b), FERRY_OK);
    struct txmgr *m = NULL;
    if (txmgr_new(&m, loop, rpc, st, sg, &cfg))
        fail_msg("the good record: %s", ferry_errmsg());
    struct txmgr_status s;
    assert_int_equal(txmgr_status(m, "a", &s), TXMGR_PENDING);
    assert_int_equal(s.nonce, 7);
    assert_int_equal(s.attempts, 1);
    assert_int_equal(s.gas_limit, 21000);
    txmgr_free(m);
    /* MINED with the gas used at the limit (a transfer uses all of its 21000) */
    char *mined = mined_record(good, "\"0x5208\"");
    assert_int_equal(store_batch_begin(st, &b), FERRY_OK);
    store_put(b, k.b, k.len, mined, strlen(mined));
    assert_int_equal(store_commit_sync(b), FERRY_OK);
    if (txmgr_new(&m, loop, rpc, st, sg, &cfg))
        fail_msg("the mined record: %s", ferry_errmsg());
    assert_int_equal(txmgr_status(m, "a", &s), TXMGR_MINED);
    assert_int_equal(s.block_number, 9);
    assert_int_equal(s.gas_used, 21000);
    assert_int_equal(s.gas_limit, 21000);
    txmgr_free(m);
    free(mined);
    free(gas_above);
    free(gas_bad);
    free(other_key);
    free(other_chain);
    free(bad_hash);
    free(good);
    rpc_client_free(rpc);
    assert_int_equal(store_close(st), FERRY_OK);
    signer_free(sg);
    loop_free(loop);
}

/* ---- against a private anvil ---- */

#define CAST_BIN "scripts/toolchain/node_modules/.bin/cast"

/* anvil's dev keys (the well-known mnemonic); each test uses its own, so nonces do not mix */
static const char *const dev_keys[] = {
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
};

static struct anvil_run anvil;
static bool anvil_up, anvil_tried;
static const char *anvil_why;

static void need_anvil(void)
{
    if (!anvil_tried) {
        anvil_tried = true;
        anvil_up = anvil_start(&anvil, &anvil_why, NULL);
    }
    if (!anvil_up) {
        fprintf(stderr, "# skipped: %s\n", anvil_why);
        skip();
    }
}

struct live {
    struct loop *loop;
    struct store *st;
    struct signer *sg;
    struct rpc_client *rpc;
    struct txmgr *m;
    struct txmgr_config cfg;
    char addr[ADDRESS_STR];
    cJSON *logs;
};

static void live_log(void *ud, enum txmgr_log_level lv, const char *msg)
{
    struct live *l = ud;
    if (l->logs)
        cJSON_AddItemToArray(l->logs, cJSON_CreateString(msg));
    if (getenv("FERRY_TEST_VERBOSE"))
        fprintf(stderr, "# [%d] %s\n", (int)lv, msg);
}

static bool live_logged(const struct live *l, const char *has)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, l->logs) if (strstr(x->valuestring, has)) return true;
    return false;
}

/* Everything but the manager. Returns false (in a forked child) instead of asserting. */
static bool live_base(struct live *l, int key, const char *store_dir)
{
    memset(l, 0, sizeof *l);
    l->logs = cJSON_CreateArray();
    uint8_t k[32], a[ADDRESS_LEN];
    if (loop_new(&l->loop) || store_open(&l->st, store_dir ? "leveldb" : "mem", store_dir) ||
        signer_new(&l->sg) || hex_decode_exact(k, 32, dev_keys[key], HEX_PREFIX_FORBIDDEN) ||
        signer_add_secret(l->sg, "submitter", k) || signer_address(l->sg, "submitter", a))
        return false;
    hex_encode(l->addr, a, ADDRESS_LEN, true);
    struct rpc_endpoint_config ep = {anvil.url, NULL};
    struct rpc_config rc = {.endpoints = &ep, .n_endpoints = 1, .timeout_ms = 5000, .deadline_ms = 10000,
                            .backoff_base_ms = 10};
    if (rpc_client_new(l->loop, &rc, &l->rpc))
        return false;
    struct txmgr_config *cfg = &l->cfg;
    cfg->chain_id = 31337;
    cfg->key = "submitter";
    cfg->gas_cap = 500000;
    cfg->confirmations = 1;
    cfg->replace_after_blocks = 100;
    cfg->fees.max_fee_cap = u256_from_u64(1000000000000ULL); /* 1000 gwei */
    cfg->fees.history_blocks = 4;
    cfg->fees.bump_pct = 10;
    cfg->log = live_log;
    cfg->ud = l;
    return true;
}

static void live_idle(struct live *l)
{
    uint64_t t0 = loop_clock_ms();
    while (rpc_pending(l->rpc) || (l->m && txmgr_busy(l->m))) {
        if (loop_clock_ms() - t0 > 15000)
            fail_msg("the manager is still busy after 15 s");
        assert_int_equal(loop_run_once(l->loop, 20), FERRY_OK);
    }
}

static void live_start(struct live *l)
{
    if (txmgr_new(&l->m, l->loop, l->rpc, l->st, l->sg, &l->cfg))
        fail_msg("txmgr_new: %s", ferry_errmsg());
    assert_int_equal(txmgr_start(l->m), FERRY_OK);
    live_idle(l);
    const char *why;
    if (txmgr_halted(l->m, &why))
        fail_msg("halted: %s", why);
}

static void live_close(struct live *l)
{
    txmgr_free(l->m);
    rpc_client_free(l->rpc);
    assert_int_equal(store_close(l->st), FERRY_OK);
    signer_free(l->sg);
    loop_free(l->loop);
    cJSON_Delete(l->logs);
    memset(l, 0, sizeof *l);
}

struct call_wait {
    int done;
    cJSON *result;
    char err[512];
};

static void on_call(void *ud, struct rpc_reply *r, size_t n)
{
    struct call_wait *w = ud;
    if (r[0].err.kind == RPC_OK)
        w->result = rpc_reply_take(&r[0]);
    else
        snprintf(w->err, sizeof w->err, "%s: %s", rpc_errkind_name(r[0].err.kind), r[0].err.message);
    w->done = 1;
}

/* A call to anvil through the same client; the result (NULL on error, *err set). */
static cJSON *live_rpc(struct live *l, const char *method, const char *params)
{
    struct call_wait w = {0};
    assert_int_equal(rpc_call(l->rpc, method, params, NULL, on_call, &w), FERRY_OK);
    uint64_t t0 = loop_clock_ms();
    while (!w.done) {
        if (loop_clock_ms() - t0 > 15000)
            fail_msg("%s: no answer in 15 s", method);
        assert_int_equal(loop_run_once(l->loop, 20), FERRY_OK);
    }
    if (!w.result)
        fail_msg("%s %s: %s", method, params ? params : "", w.err);
    return w.result;
}

static uint64_t live_u64(struct live *l, const char *method, const char *params)
{
    cJSON *r = live_rpc(l, method, params);
    uint64_t v = 0;
    assert_true(cJSON_IsString(r));
    assert_int_equal(hex_quantity_u64(&v, r->valuestring), FERRY_OK);
    cJSON_Delete(r);
    return v;
}

static uint64_t account_nonce(struct live *l, const char *addr)
{
    char p[96];
    snprintf(p, sizeof p, "[\"%s\",\"latest\"]", addr);
    return live_u64(l, "eth_getTransactionCount", p);
}

static uint64_t balance(struct live *l, const char *addr)
{
    char p[96];
    snprintf(p, sizeof p, "[\"%s\",\"latest\"]", addr);
    return live_u64(l, "eth_getBalance", p);
}

static void mine(struct live *l)
{
    cJSON_Delete(live_rpc(l, "evm_mine", "[]"));
}

static void automine(struct live *l, bool on)
{
    cJSON_Delete(live_rpc(l, "evm_setAutomine", on ? "[true]" : "[false]"));
}

/* Sweeps (mining a block first when asked) until id reaches want; fails after 40 rounds. */
static void live_wait(struct live *l, const char *id, enum txmgr_state want, bool mine_blocks)
{
    struct txmgr_status st;
    for (int i = 0; i < 40; i++) {
        live_idle(l);
        if (txmgr_status(l->m, id, &st) == want)
            return;
        if (mine_blocks)
            mine(l);
        txmgr_poke(l->m);
    }
    fail_msg("%s: %s, want %s (%s)", id, txmgr_state_name(st.state), txmgr_state_name(want),
             st.error ? st.error : "");
}

static void random_address(char out[ADDRESS_STR], uint8_t raw[ADDRESS_LEN])
{
    tu_rand_bytes(raw, ADDRESS_LEN);
    raw[0] = 0x42; /* not a precompile */
    hex_encode(out, raw, ADDRESS_LEN, true);
}

static void submit_transfer(struct live *l, const char *id, const uint8_t to[ADDRESS_LEN], uint64_t value)
{
    struct txmgr_call call;
    memset(&call, 0, sizeof call);
    memcpy(call.to, to, ADDRESS_LEN);
    call.value = u256_from_u64(value);
    call.flags = TXMGR_DRY_RUN;
    if (txmgr_submit(l->m, id, &call))
        fail_msg("submit %s: %s", id, ferry_errmsg());
}

static bool tx_known(struct live *l, const uint8_t hash[32])
{
    char p[80], h[67];
    hex_encode(h, hash, 32, true);
    snprintf(p, sizeof p, "[\"%s\"]", h);
    cJSON *r = live_rpc(l, "eth_getTransactionByHash", p);
    bool known = !cJSON_IsNull(r);
    cJSON_Delete(r);
    return known;
}

static bool has_receipt(struct live *l, const uint8_t hash[32])
{
    char p[80], h[67];
    hex_encode(h, hash, 32, true);
    snprintf(p, sizeof p, "[\"%s\"]", h);
    cJSON *r = live_rpc(l, "eth_getTransactionReceipt", p);
    bool yes = !cJSON_IsNull(r);
    cJSON_Delete(r);
    return yes;
}

/* Automine off, base fee raised above the pending transaction's fee cap: no block takes it, so
 * after replace_after_blocks the manager replaces it with bumped fees; exactly one is mined. */
static void anvil_replacement_base_fee_raised(void **state)
{
    need_anvil();
    struct live l;
    assert_true(live_base(&l, 1, NULL));
    l.cfg.replace_after_blocks = 1;
    live_start(&l);
    automine(&l, false);
    char to_hex[ADDRESS_STR];
    uint8_t to[ADDRESS_LEN];
    random_address(to_hex, to);
    uint64_t n0 = account_nonce(&l, l.addr);

    submit_transfer(&l, "r1", to, 1000);
    live_idle(&l);
    struct txmgr_status st;
    assert_int_equal(txmgr_status(l.m, "r1", &st), TXMGR_PENDING);
    uint8_t h1[32];
    memcpy(h1, st.tx_hash, 32);
    assert_true(tx_known(&l, h1)); /* in the pool */

    /* The next block's base fee: four times the pending one's fee cap. */
    cJSON *tx = NULL;
    {
        char p[80], h[67];
        hex_encode(h, h1, 32, true);
        snprintf(p, sizeof p, "[\"%s\"]", h);
        tx = live_rpc(&l, "eth_getTransactionByHash", p);
    }
    u256 max_fee;
    assert_int_equal(u256_from_quantity(&max_fee, cJSON_GetObjectItem(tx, "maxFeePerGas")->valuestring), FERRY_OK);
    cJSON_Delete(tx);
    char q[67], p[96];
    u256_to_quantity(q, u256_shl(max_fee, 2));
    snprintf(p, sizeof p, "[\"%s\"]", q);
    cJSON_Delete(live_rpc(&l, "anvil_setNextBlockBaseFeePerGas", p));
    mine(&l);
    assert_false(has_receipt(&l, h1));
    assert_int_equal(account_nonce(&l, l.addr), n0);

    /* The sweep sees a block without our receipt: a replacement, persisted then sent. */
    txmgr_poke(l.m);
    live_idle(&l);
    assert_int_equal(txmgr_status(l.m, "r1", &st), TXMGR_PENDING);
    assert_int_equal(st.attempts, 2);
    uint8_t h2[32];
    memcpy(h2, st.tx_hash, 32);
    assert_memory_not_equal(h1, h2, 32);
    assert_true(tx_known(&l, h2));
    struct txmgr_stats stats;
    txmgr_stats(l.m, &stats);
    assert_int_equal(stats.replaced, 1);

    live_wait(&l, "r1", TXMGR_CONFIRMED, true);
    assert_int_equal(txmgr_status(l.m, "r1", &st), TXMGR_CONFIRMED);
    assert_memory_equal(st.tx_hash, h2, 32);
    assert_true(has_receipt(&l, h2));
    assert_false(has_receipt(&l, h1));
    assert_int_equal(account_nonce(&l, l.addr), n0 + 1);
    assert_int_equal(balance(&l, to_hex), 1000);
    automine(&l, true);
    live_close(&l);
}

/* anvil_dropTransaction: the node forgets the pending transaction it accepted; the second sweep
 * that finds it unknown sends it again. */
static void anvil_dropped_resent(void **state)
{
    need_anvil();
    struct live l;
    assert_true(live_base(&l, 2, NULL));
    live_start(&l);
    automine(&l, false);
    char to_hex[ADDRESS_STR];
    uint8_t to[ADDRESS_LEN];
    random_address(to_hex, to);
    uint64_t n0 = account_nonce(&l, l.addr);
    submit_transfer(&l, "d1", to, 777);
    live_idle(&l);
    struct txmgr_status st;
    assert_int_equal(txmgr_status(l.m, "d1", &st), TXMGR_PENDING);
    uint8_t h[32];
    memcpy(h, st.tx_hash, 32);
    char hh[67], p[80];
    hex_encode(hh, h, 32, true);
    snprintf(p, sizeof p, "[\"%s\"]", hh);
    cJSON_Delete(live_rpc(&l, "anvil_dropTransaction", p));
    assert_false(tx_known(&l, h));

    /* The node had accepted it: the first sweep that finds it unknown only looks again. */
    txmgr_poke(l.m);
    live_idle(&l);
    assert_false(tx_known(&l, h));
    struct txmgr_stats stats;
    txmgr_stats(l.m, &stats);
    assert_int_equal(stats.dropped_resent, 0);
    assert_true(live_logged(&l, "looking again next sweep"));

    txmgr_poke(l.m);
    live_idle(&l);
    assert_true(tx_known(&l, h)); /* the same transaction, back in the pool */
    txmgr_stats(l.m, &stats);
    assert_int_equal(stats.dropped_resent, 1);
    assert_int_equal(stats.replaced, 0);
    assert_true(live_logged(&l, "the node does not know it"));

    live_wait(&l, "d1", TXMGR_CONFIRMED, true);
    assert_int_equal(txmgr_status(l.m, "d1", &st), TXMGR_CONFIRMED);
    assert_memory_equal(st.tx_hash, h, 32);
    assert_int_equal(account_nonce(&l, l.addr), n0 + 1);
    assert_int_equal(balance(&l, to_hex), 777);
    automine(&l, true);
    live_close(&l);
}

static void cast_send(const char *key_hex, const char *to_hex)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s send --private-key 0x%s --rpc-url %s %s --value 1 >/dev/null 2>&1", CAST_BIN,
             key_hex, anvil.url, to_hex);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("cast send failed (%d): %s", rc, cmd);
}

/* A nonce used meanwhile by `cast send` with the same key (dev key 0): the broadcast gets
 * NONCE_TOO_LOW, no receipt of ours exists, so the submission ends NONCE_TAKEN and the nonce
 * line skips; submitted again, it goes through once. At a restart, a nonce used while the
 * manager was down is detected from the chain's pending nonce. */
static void anvil_nonce_used_by_cast(void **state)
{
    need_anvil();
    if (access(CAST_BIN, X_OK) != 0)
        skip();
    struct live l;
    assert_true(live_base(&l, 0, NULL));
    live_start(&l);
    automine(&l, true);
    char to_hex[ADDRESS_STR];
    uint8_t to[ADDRESS_LEN];
    random_address(to_hex, to);
    uint64_t line = txmgr_next_nonce(l.m);
    assert_int_equal(account_nonce(&l, l.addr), line);

    cast_send(dev_keys[0], to_hex); /* takes nonce `line` behind the manager's back */
    assert_int_equal(account_nonce(&l, l.addr), line + 1);
    struct txmgr_call call;
    memset(&call, 0, sizeof call);
    memcpy(call.to, to, ADDRESS_LEN);
    call.value = u256_from_u64(5000);
    call.gas_limit = 21000; /* no estimate: the dry run would not notice anything anyway */
    assert_int_equal(txmgr_submit(l.m, "c1", &call), FERRY_OK);
    live_wait(&l, "c1", TXMGR_NONCE_TAKEN, false);
    struct txmgr_status st;
    txmgr_status(l.m, "c1", &st);
    assert_int_equal(st.nonce, line);
    assert_non_null(strstr(st.error, "was used by another transaction"));
    assert_true(live_logged(&l, "nonce too low; checking our receipts"));
    assert_int_equal(txmgr_next_nonce(l.m), line + 1);
    struct txmgr_stats stats;
    txmgr_stats(l.m, &stats);
    assert_int_equal(stats.nonce_skips, 1);

    assert_int_equal(txmgr_submit(l.m, "c1", &call), FERRY_OK); /* the caller submits again */
    live_wait(&l, "c1", TXMGR_CONFIRMED, true);
    txmgr_status(l.m, "c1", &st);
    assert_int_equal(st.nonce, line + 1);
    assert_int_equal(account_nonce(&l, l.addr), line + 2);
    assert_int_equal(balance(&l, to_hex), 1 + 5000); /* cast's 1 wei and ours, once */

    /* down, someone sends, up again: the start sees the chain ahead of the persisted line */
    txmgr_free(l.m);
    l.m = NULL;
    cast_send(dev_keys[0], to_hex);
    live_start(&l);
    assert_int_equal(txmgr_next_nonce(l.m), line + 3);
    txmgr_stats(l.m, &stats);
    assert_int_equal(stats.nonce_skips, 1);
    assert_true(live_logged(&l, "were used outside this manager"));
    live_close(&l);
}

/* The child: runs a manager on the LevelDB directory, submits one transfer and is killed by
 * SIGKILL at the crash point named in FERRY_CRASH_AT. Exits 3 if it survives 20 s. */
static void crash_child(int key, const char *dir, const char *point, const uint8_t to[ADDRESS_LEN], uint64_t value)
{
    setenv("FERRY_CRASH_AT", point, 1);
    struct live l;
    if (!live_base(&l, key, dir))
        _exit(2);
    if (txmgr_new(&l.m, l.loop, l.rpc, l.st, l.sg, &l.cfg) || txmgr_start(l.m))
        _exit(2);
    struct txmgr_call call;
    memset(&call, 0, sizeof call);
    memcpy(call.to, to, ADDRESS_LEN);
    call.value = u256_from_u64(value);
    call.flags = TXMGR_DRY_RUN;
    if (txmgr_submit(l.m, "k1", &call))
        _exit(2);
    uint64_t t0 = loop_clock_ms();
    while (loop_clock_ms() - t0 < 20000) {
        if (loop_run_once(l.loop, 50))
            _exit(2);
        if (!txmgr_busy(l.m))
            txmgr_poke(l.m);
    }
    _exit(3);
}

/* persisted: the record was written before the kill; sent: the node took the transaction. */
static void kill9(const char *point, int key, bool persisted, bool sent)
{
    need_anvil();
    char dir[] = "/tmp/ferry-txmgr-kill9-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char to_hex[ADDRESS_STR];
    uint8_t to[ADDRESS_LEN];
    random_address(to_hex, to);
    struct live l;
    assert_true(live_base(&l, key, NULL)); /* only to ask anvil (a memory store) */
    automine(&l, true);
    uint64_t n0 = account_nonce(&l, l.addr);
    const char *addr = l.addr;

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        crash_child(key, dir, point, to, 4242);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail_msg("%s: the child was not killed at the crash point (status 0x%x)", point, status);

    /* Before the restart (automine: a transaction the node took is mined). */
    assert_int_equal(account_nonce(&l, addr), sent ? n0 + 1 : n0);
    assert_int_equal(balance(&l, to_hex), sent ? 4242 : 0);

    /* Restart on the same directory: a written record is there, re-broadcast, tracked to the end;
     * an unwritten one is unknown and the caller submits it again. */
    struct live r;
    assert_true(live_base(&r, key, dir));
    if (txmgr_new(&r.m, r.loop, r.rpc, r.st, r.sg, &r.cfg))
        fail_msg("txmgr_new after the crash: %s", ferry_errmsg());
    struct txmgr_status st;
    uint8_t h[32];
    if (persisted) {
        assert_int_equal(txmgr_status(r.m, "k1", &st), TXMGR_PENDING); /* written ahead */
        assert_int_equal(st.nonce, n0);
        memcpy(h, st.tx_hash, 32);
    } else {
        assert_int_equal(txmgr_status(r.m, "k1", &st), TXMGR_UNKNOWN);
    }
    assert_int_equal(txmgr_start(r.m), FERRY_OK);
    live_idle(&r);
    if (!persisted) {
        submit_transfer(&r, "k1", to, 4242);
        live_idle(&r);
        assert_int_equal(txmgr_status(r.m, "k1", &st), TXMGR_PENDING);
        assert_int_equal(st.nonce, n0);
        memcpy(h, st.tx_hash, 32);
    }
    live_wait(&r, "k1", TXMGR_CONFIRMED, true);
    txmgr_status(r.m, "k1", &st);
    assert_memory_equal(st.tx_hash, h, 32); /* the same transaction, not a new one */
    struct txmgr_stats stats;
    txmgr_stats(r.m, &stats);
    assert_int_equal(stats.rebroadcast, persisted ? 1 : 0);
    /* submitting the same id again reports, sends nothing */
    submit_transfer(&r, "k1", to, 4242);
    live_idle(&r);
    mine(&r);
    assert_int_equal(txmgr_status(r.m, "k1", &st), TXMGR_CONFIRMED);
    /* exactly one on-chain effect */
    assert_int_equal(account_nonce(&l, addr), n0 + 1);
    assert_int_equal(balance(&l, to_hex), 4242);
    live_close(&r);
    live_close(&l);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void anvil_kill9_after_sign(void **state)
{
    kill9("txmgr.after_sign", 1, false, false);
}

static void anvil_kill9_after_persist(void **state)
{
    kill9("txmgr.after_persist", 3, true, false);
}

static void anvil_kill9_after_broadcast(void **state)
{
    kill9("txmgr.after_broadcast", 4, true, true);
}

static void anvil_kill9_after_mined(void **state)
{
    kill9("txmgr.after_mined", 2, true, true);
}

static size_t anvil_tests(struct CMUnitTest *out)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(anvil_replacement_base_fee_raised), cmocka_unit_test(anvil_dropped_resent),
        cmocka_unit_test(anvil_nonce_used_by_cast),          cmocka_unit_test(anvil_kill9_after_sign),
        cmocka_unit_test(anvil_kill9_after_persist),         cmocka_unit_test(anvil_kill9_after_broadcast),
        cmocka_unit_test(anvil_kill9_after_mined),
    };
    memcpy(out, t, sizeof t);
    return sizeof t / sizeof t[0];
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    load_scenarios();
    struct CMUnitTest tests[64 + 16];
    size_t n = 0;
    for (size_t i = 0; i < n_scenarios; i++)
        tests[n++] = (struct CMUnitTest){scenario_names[i], scenario_test, NULL, NULL, (void *)(uintptr_t)i};
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(crash_points);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(bad_arguments);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(corrupt_record_refused);
    n += anvil_tests(tests + n);
    int rc = _cmocka_run_group_tests(__FILE__, tests, n, NULL, NULL);
    if (anvil_up)
        anvil_stop(&anvil);
    for (size_t i = 0; i < n_scenarios; i++) {
        cJSON_Delete(scenario_files[i]);
        free(scenario_names[i]);
    }
    return rc;
}
