/* The intent orchestrator, driven by hand: the in-memory store, three fake chains written here
 * (submit records router calls and lets the test settle them; query_intent answers are fed by
 * the test; intent events are injected), a real signer for the owner's signature. The store is
 * flushed explicitly, the way the daemon's loop does at the end of every turn. */
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ferry/hex.h"
#include "ferry/log.h"
#include "ferry/metrics.h"
#include "ferry/orch.h"
#include "ferry/signer.h"
#include "ferry/store.h"
#include "ferry/u256.h"
#include "testutil.h"

#define NOW 1780000000ull
#define DEADLINE 1790000000ull
#define ALPHA 31337
#define BETA 31338
#define GAMMA 31339

static const char ROUTER[] = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
static const char FTA[] = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9";
static const char FTB[] = "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9";
static const char VOUCHER[] = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
static const char RECIPIENT[] = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
static const char RECOVERY[] = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955";
static const char GVOUCHER[] = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"; /* FTB@beta's voucher on gamma */

/* ---- fake chains ---- */

#define FK_SUBS 64
#define FK_QUERIES 64

struct fsub {
    char id[ORCH_SUB_ID_MAX];
    uint8_t data[2048];
    size_t len;
    enum chain_submission_state state;
    uint8_t tx[32];
};

struct fquery {
    chain_intent_cb cb;
    void *ud;
    uint8_t id[32];
};

struct chain {
    uint64_t id;
    const char *name;
    struct fsub subs[FK_SUBS];
    size_t nsubs;
    bool lose_submits;        /* submit says yes and forgets (a crash before the adapter's write) */
    enum ferry_err submit_fail;
    struct fquery q[FK_QUERIES];
    size_t nq, queries_asked;
};

static struct chain chains[3] = {{.id = ALPHA, .name = "alpha"}, {.id = BETA, .name = "beta"}, {.id = GAMMA, .name = "gamma"}};
#define CA (&chains[0])
#define CB (&chains[1])
#define CG (&chains[2])

static enum ferry_err fk_open(struct chain **out, const cJSON *config, const struct chain_env *env)
{
    (void)config, (void)env;
    *out = NULL;
    return ferry_fail(FERRY_EUNSUPPORTED, "fake");
}
static int fk_check(const cJSON *c, void (*problem)(void *, const char *, const char *), void *ud)
{
    (void)c, (void)problem, (void)ud;
    return 0;
}
static enum ferry_err fk_start(struct chain *c) { (void)c; return FERRY_OK; }
static void fk_stop(struct chain *c) { (void)c; }
static uint64_t fk_chain_id(const struct chain *c) { return c->id; }
static const char *fk_name(const struct chain *c) { return c->name; }
static struct chain_head fk_head(const struct chain *c) { (void)c; return (struct chain_head){0}; }

static struct fsub *fk_find(struct chain *c, const char *id)
{
    for (size_t i = 0; i < c->nsubs; i++)
        if (!strcmp(c->subs[i].id, id))
            return &c->subs[i];
    return NULL;
}

static enum ferry_err fk_submit(struct chain *c, const char *id, const struct chain_call *call)
{
    assert_int_equal(call->kind, CHAIN_CALL_ROUTER);
    assert_true(strncmp(id, ORCH_SUB_PREFIX, strlen(ORCH_SUB_PREFIX)) == 0);
    if (c->submit_fail) {
        enum ferry_err e = c->submit_fail;
        c->submit_fail = FERRY_OK;
        return ferry_fail(e, "fake: no funds for gas");
    }
    if (fk_find(c, id) || c->lose_submits)
        return FERRY_OK;
    assert_true(c->nsubs < FK_SUBS);
    struct fsub *s = &c->subs[c->nsubs++];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    assert_true(call->data_len <= sizeof s->data);
    memcpy(s->data, call->data, call->data_len);
    s->len = call->data_len;
    s->state = CHAIN_SUB_PENDING;
    tu_rand_bytes(s->tx, 32);
    return FERRY_OK;
}

static enum chain_submission_state fk_submission(struct chain *c, const char *id, struct chain_submission *out)
{
    memset(out, 0, sizeof *out);
    struct fsub *s = fk_find(c, id);
    if (!s)
        return out->state = CHAIN_SUB_UNKNOWN;
    memcpy(out->tx_hash, s->tx, 32);
    out->state = s->state;
    out->error = "execution reverted";
    return s->state;
}

static enum ferry_err fk_query_intent(struct chain *c, const uint8_t id[32], chain_intent_cb cb, void *ud)
{
    assert_true(c->nq < FK_QUERIES);
    c->q[c->nq++] = (struct fquery){.cb = cb, .ud = ud};
    memcpy(c->q[c->nq - 1].id, id, 32);
    c->queries_asked++;
    return FERRY_OK;
}

/* What an adapter that knows its contracts' errors says about revert data (beta's family has it). */
static void fk_describe(const uint8_t *data, size_t len, char *out, size_t cap)
{
    snprintf(out, cap, "Decoded(selector=0x%02x%02x%02x%02x, %zu bytes)", len > 0 ? data[0] : 0,
             len > 1 ? data[1] : 0, len > 2 ? data[2] : 0, len > 3 ? data[3] : 0, len);
}

static const struct chain_ops fake_ops = {
    .name = "fake",
    .open = fk_open,
    .check_config = fk_check,
    .start = fk_start,
    .stop = fk_stop,
    .chain_id = fk_chain_id,
    .chain_name = fk_name,
    .head = fk_head,
    .submit = fk_submit,
    .submission = fk_submission,
    .query_intent = fk_query_intent,
};

/* The same family, able to describe revert data (the EVM adapter's describe_revert). */
static struct chain_ops describing_ops(void)
{
    struct chain_ops o = fake_ops;
    o.describe_revert = fk_describe;
    return o;
}


/* ---- the environment ---- */

static struct intent_chain_info dir_chains[3] = {
    {"alpha", ALPHA, {0}, 1000, 1},
    {"beta", BETA, {0}, 2000, 2},
    {"gamma", GAMMA, {0}, 12000, 0},
};

struct env {
    struct store *st;
    struct metrics *m;
    struct orch *o;
    struct signer *sg;
    uint8_t owner[20], router[20];
    uint64_t now;
    uint64_t notified;
    int cbs;
    enum ferry_err cb_err;
    enum intent_state cb_state;
    bool cb_existed;
    uint32_t retry_limit;
    uint32_t max_pending;
    uint8_t txn; /* a counter for event transaction hashes */
    int kicks;   /* orch_config.kick calls */
    uint64_t skip_chain; /* orch_up leaves this chain out (a chain removed from the config) */
};
static struct env E;

static void on_notify(void *ud, uint64_t last)
{
    (void)ud;
    assert_true(last > E.notified);
    E.notified = last;
}

static void on_kick(void *ud)
{
    (void)ud;
    E.kicks++;
}

static void orch_up(void)
{
    static struct chain_ops beta_ops;
    beta_ops = describing_ops();
    struct orch_config cfg;
    orch_config_default(&cfg);
    cfg.store = E.st;
    cfg.metrics = E.m;
    cfg.dir = (struct intent_dir){dir_chains, 3};
    cfg.notify = on_notify;
    cfg.kick = on_kick;
    cfg.retry_limit = E.retry_limit ? E.retry_limit : 3;
    cfg.backoff_base_s = 5;
    cfg.backoff_max_s = 60;
    cfg.recheck_s = 30;
    if (E.max_pending)
        cfg.max_pending = E.max_pending;
    assert_int_equal(orch_new(&E.o, &cfg), FERRY_OK);
    for (int i = 0; i < 3; i++)
        if (chains[i].id != E.skip_chain)
            assert_int_equal(orch_add_chain(E.o, i == 1 ? &beta_ops : &fake_ops, &chains[i]), FERRY_OK);
    assert_int_equal(orch_start(E.o, E.now), FERRY_OK);
    assert_int_equal(store_flush(E.st), FERRY_OK);
}

static void flush(void) { assert_int_equal(store_flush(E.st), FERRY_OK); }

/* Frees the orchestrator (flushing first or not: a crash), then starts another on the same store. */
static void restart(bool flush_first)
{
    if (flush_first)
        flush();
    orch_free(E.o);
    flush(); /* orphaned batches still land: the disk got them */
    for (int i = 0; i < 3; i++) { /* the chains close: queries in flight end with an error */
        for (size_t k = 0; k < chains[i].nq; k++)
            chains[i].q[k].cb(chains[i].q[k].ud, FERRY_EIO, NULL);
        chains[i].nq = 0;
    }
    E.o = NULL;
    E.notified = 0;
    orch_up();
}

static int setup(void **state)
{
    (void)state;
    memset(&E, 0, sizeof E);
    for (int i = 0; i < 3; i++) {
        chains[i].nsubs = chains[i].nq = chains[i].queries_asked = 0;
        chains[i].lose_submits = false;
        chains[i].submit_fail = FERRY_OK;
        assert_int_equal(address_parse(dir_chains[i].router, ROUTER), FERRY_OK);
    }
    assert_int_equal(address_parse(E.router, ROUTER), FERRY_OK);
    E.now = NOW;
    assert_int_equal(store_open(&E.st, "mem", NULL), FERRY_OK);
    assert_int_equal(metrics_new(&E.m), FERRY_OK);
    assert_int_equal(signer_new(&E.sg), FERRY_OK);
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i + 1);
    assert_int_equal(signer_add_secret(E.sg, "owner", key), FERRY_OK);
    assert_int_equal(signer_add_secret(E.sg, "other", (uint8_t[32]){[31] = 9}), FERRY_OK);
    assert_int_equal(signer_address(E.sg, "owner", E.owner), FERRY_OK);
    orch_up();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    orch_free(E.o);
    for (int i = 0; i < 3; i++) {
        for (size_t k = 0; k < chains[i].nq; k++)
            chains[i].q[k].cb(chains[i].q[k].ud, FERRY_EIO, NULL);
        chains[i].nq = 0;
    }
    enum ferry_err e = store_close(E.st); /* a test may have left it refusing writes */
    (void)e;
    metrics_free(E.m);
    signer_free(E.sg);
    return 0;
}

/* ---- intents ---- */

struct opts {
    const char *key;      /* "owner" (default) or "other" */
    bool recovery;
    bool two_steps;       /* alpha -> beta transfer to the recipient */
    uint64_t deadline;
};

static cJSON *intent_json(unsigned nonce, const struct opts *op)
{
    uint8_t owner[20];
    char addr[ADDRESS_STR], text[2400];
    assert_int_equal(signer_address(E.sg, op && op->key ? op->key : "owner", owner), FERRY_OK);
    address_to_checksum(addr, owner);
    uint64_t deadline = op && op->deadline ? op->deadline : DEADLINE;
    char refund[96];
    if (op && op->recovery)
        snprintf(refund, sizeof refund, "{\"recovery\": \"%s\"}", RECOVERY);
    else
        snprintf(refund, sizeof refund, "\"origin\"");
    if (op && op->two_steps)
        snprintf(text, sizeof text,
                 "{\"owner\": \"%s\", \"origin_chain\": \"alpha\", \"deadline\": %" PRIu64 ", \"nonce\": \"%u\","
                 " \"refund\": %s, \"steps\": ["
                 " {\"transfer\": {\"token\": \"%s\", \"amount\": \"5000\", \"to_chain\": \"beta\","
                 "   \"recipient\": \"%s\", \"timeout\": 600}}]}",
                 addr, deadline, nonce, refund, FTA, RECIPIENT);
    else
        snprintf(text, sizeof text,
                 "{\"owner\": \"%s\", \"origin_chain\": \"alpha\", \"deadline\": %" PRIu64 ", \"nonce\": \"%u\","
                 " \"refund\": %s, \"steps\": ["
                 " {\"transfer\": {\"token\": \"%s\", \"amount\": \"1000000000000000000\", \"to_chain\": \"beta\","
                 "   \"timeout\": 600}},"
                 " {\"call\": {\"chain\": \"beta\", \"target\": \"0x5FC8d32690cc91D4c39d9d3abcBD16989F875707\","
                 "   \"data\": \"0xabcdef01\", \"token_in\": \"%s\", \"token_out\": \"%s\", \"min_amount_out\": \"1\"}},"
                 " {\"transfer\": {\"token\": \"%s\", \"amount\": \"all\", \"to_chain\": \"gamma\","
                 "   \"recipient\": \"%s\", \"timeout\": 900}}]}",
                 addr, deadline, nonce, refund, FTA, VOUCHER, FTB, FTB, RECIPIENT);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    return j;
}

static void sign_hex(const cJSON *j, const char *key, uint8_t id[32], char sig_hex[133])
{
    struct intent it;
    char err[INTENT_ERR_MAX];
    assert_int_equal(intent_from_json(&it, j, &(struct intent_dir){dir_chains, 3}, E.now, 0, "intent", err), FERRY_OK);
    intent_id(&it, E.router, id);
    uint8_t sig[65];
    assert_int_equal(signer_sign_digest(E.sg, key ? key : "owner", id, sig), FERRY_OK);
    hex_encode(sig_hex, sig, 65, true);
    intent_clear(&it);
}

static void on_submitted(void *ud, enum ferry_err err, const uint8_t id[32], enum intent_state st, bool existed)
{
    uint8_t *want = ud;
    assert_memory_equal(id, want, 32);
    E.cbs++;
    E.cb_err = err;
    E.cb_state = st;
    E.cb_existed = existed;
}

/* Submits an intent and makes it durable; returns its id. */
static void submit(unsigned nonce, const struct opts *op, uint8_t id[32])
{
    cJSON *j = intent_json(nonce, op);
    char sig[133], err[ORCH_ERR_MAX];
    sign_hex(j, op ? op->key : NULL, id, sig);
    int before = E.cbs;
    assert_int_equal(orch_submit(E.o, j, sig, E.now, on_submitted, id, err), FERRY_OK);
    assert_int_equal(E.cbs, before); /* not durable yet */
    flush();
    assert_int_equal(E.cbs, before + 1);
    assert_int_equal(E.cb_err, FERRY_OK);
    assert_false(E.cb_existed);
    cJSON_Delete(j);
}

static enum intent_state st_of(const uint8_t id[32])
{
    struct intent_record r;
    assert_int_equal(orch_get(E.o, id, &r), FERRY_OK);
    enum intent_state s = r.state;
    intent_record_clear(&r);
    return s;
}

static enum hop_state hop_of(const uint8_t id[32], unsigned i)
{
    struct intent_record r;
    assert_int_equal(orch_get(E.o, id, &r), FERRY_OK);
    enum hop_state s = r.hops[i].state;
    intent_record_clear(&r);
    return s;
}

static void get(const uint8_t id[32], struct intent_record *r) { assert_int_equal(orch_get(E.o, id, r), FERRY_OK); }

/* Submissions on chain c for intent id of kind k ('o', 'a', 'r', 'c') and step. */
static size_t nsubs(struct chain *c, const uint8_t id[32], char k, unsigned step)
{
    char hid[65], pre[128];
    hex_encode(hid, id, 32, false);
    snprintf(pre, sizeof pre, ORCH_SUB_PREFIX "%s:%c%u.", hid, k, step);
    size_t n = 0;
    for (size_t i = 0; i < c->nsubs; i++)
        n += strncmp(c->subs[i].id, pre, strlen(pre)) == 0;
    return n;
}

static size_t nsubs_of(struct chain *c, const uint8_t id[32])
{
    char hid[65], pre[128];
    hex_encode(hid, id, 32, false);
    snprintf(pre, sizeof pre, ORCH_SUB_PREFIX "%s:", hid);
    size_t n = 0;
    for (size_t i = 0; i < c->nsubs; i++)
        n += strncmp(c->subs[i].id, pre, strlen(pre)) == 0;
    return n;
}

static struct fsub *last_sub(struct chain *c)
{
    assert_true(c->nsubs > 0);
    return &c->subs[c->nsubs - 1];
}

/* The adapter reports an outcome of sub. */
static void outcome(struct chain *c, struct fsub *s, enum chain_submission_state st)
{
    s->state = st;
    struct chain_submission cs = {.id = s->id, .state = st, .block_number = 10};
    memcpy(cs.tx_hash, s->tx, 32);
    if (st == CHAIN_SUB_REVERTED || st == CHAIN_SUB_REFUSED)
        cs.error = "execution reverted: StepNotExpected";
    assert_true(orch_on_submission(E.o, c, &cs));
    flush();
}

struct evo {
    uint32_t step;
    uint64_t seq;
    const char *token;
    uint64_t amount;
    enum chain_intent_fail fail;
    bool timed_out;
    const uint8_t *detail;
    size_t dlen;
};

static struct chain_intent_event mkev(struct chain *c, enum chain_intent_event_kind k, const uint8_t id[32],
                                      const struct evo *x)
{
    struct chain_intent_event e = {.kind = k};
    e.at.chain_id = c->id;
    e.at.block_timestamp = E.now;
    e.at.tx_hash[0] = ++E.txn;
    e.at.tx_hash[31] = 0x77;
    memcpy(e.intent_id, id, 32);
    if (x) {
        e.step = x->step;
        e.sequence = x->seq;
        if (x->token)
            assert_int_equal(address_parse(e.token, x->token), FERRY_OK);
        u256_to_be(e.amount, u256_from_u64(x->amount));
        e.fail_reason = x->fail;
        e.timed_out = x->timed_out;
        e.detail = x->detail;
        e.detail_len = x->dlen;
    }
    return e;
}

static void event(struct chain *c, enum chain_intent_event_kind k, const uint8_t id[32], const struct evo *x)
{
    struct chain_intent_event e = mkev(c, k, id, x);
    orch_on_intent_events(E.o, c, &e, 1);
    flush();
}

/* The vault's TransferReceived on chain c of the transfer (src, seq) to `to`. */
static void received(struct chain *c, uint64_t src, uint64_t seq, const char *to, const char *token, uint64_t amount)
{
    static const uint8_t none[32];
    struct chain_intent_event e = mkev(c, CHAIN_IEV_TRANSFER_RECEIVED, none,
                                       &(struct evo){.seq = seq, .token = token, .amount = amount});
    e.src_chain = src;
    assert_int_equal(address_parse(e.recipient, to), FERRY_OK);
    orch_on_intent_events(E.o, c, &e, 1);
    flush();
}

static void head(struct chain *c, uint64_t timestamp)
{
    struct chain_head h = {.number = 100, .timestamp = timestamp, .confirmed = 99, .confirmed_timestamp = timestamp - 1};
    orch_on_head(E.o, c, &h);
}

static void assert_funds(const struct orch_funds *f, uint64_t chain, const uint8_t *holder, const char *token,
                         uint64_t amount)
{
    uint8_t tok[20];
    assert_int_equal(address_parse(tok, token), FERRY_OK);
    assert_true(f->known);
    assert_false(f->in_flight);
    assert_int_equal(f->chain, chain);
    assert_memory_equal(f->holder, holder, 20);
    assert_memory_equal(f->token, tok, 20);
    assert_int_equal(u256_from_be32(f->amount).w[0], amount);
}

/* Answers every query pending on chain c. */
static void answer(struct chain *c, enum chain_intent_status status, uint32_t step, uint64_t seq)
{
    size_t n = c->nq;
    struct fquery q[FK_QUERIES];
    memcpy(q, c->q, n * sizeof q[0]);
    c->nq = 0;
    for (size_t i = 0; i < n; i++) {
        struct chain_intent_result r = {.status = status, .step = step, .hop_sequence = seq, .block_number = 5,
                                        .block_timestamp = E.now};
        assert_int_equal(address_parse(r.token, FTA), FERRY_OK);
        u256_to_be(r.amount, u256_from_u64(1000));
        q[i].cb(q[i].ud, FERRY_OK, &r);
    }
    flush();
}

static void tick(uint64_t dt)
{
    E.now += dt;
    assert_int_equal(orch_tick(E.o, E.now), FERRY_OK);
    flush();
}

/* The expected calldata of a router call. */
static void expect_call(const struct fsub *s, const uint8_t id[32], char kind, uint32_t step)
{
    struct intent_record r;
    get(id, &r);
    struct fbuf b;
    fbuf_init(&b, 1u << 20);
    if (kind == 'o')
        assert_int_equal(intent_encode_open(&b, &r.intent, r.sig), FERRY_OK);
    else if (kind == 'a')
        assert_int_equal(intent_encode_advance(&b, &r.intent, step), FERRY_OK);
    else if (kind == 'r')
        assert_int_equal(intent_encode_refund(&b, &r.intent), FERRY_OK);
    else
        assert_int_equal(intent_encode_cancel(&b, &r.intent), FERRY_OK);
    assert_int_equal(s->len, b.len);
    assert_memory_equal(s->data, b.data, b.len);
    fbuf_free(&b);
    intent_record_clear(&r);
}

/* ---- the journal ---- */

struct jcollect {
    uint64_t ids[512];
    cJSON *j[512];
    size_t n;
};

static enum ferry_err collect_ev(void *arg, uint64_t id, const char *json, size_t len)
{
    struct jcollect *c = arg;
    assert_true(c->n < 512);
    c->ids[c->n] = id;
    c->j[c->n] = cJSON_ParseWithLength(json, len);
    assert_non_null(c->j[c->n]);
    c->n++;
    return FERRY_OK;
}

static void journal_read(struct jcollect *c)
{
    memset(c, 0, sizeof *c);
    uint64_t last;
    assert_int_equal(orch_events_read(E.st, 0, 512, collect_ev, c, &last), FERRY_OK);
    for (size_t i = 0; i < c->n; i++)
        assert_int_equal(c->ids[i], i + 1); /* from 1, no gaps */
    assert_int_equal(last, c->n);
}

static void journal_free(struct jcollect *c)
{
    for (size_t i = 0; i < c->n; i++)
        cJSON_Delete(c->j[i]);
}

static const char *jstr(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Is there an entry for intent id going from -> to (hop -1: the intent)? */
static bool journal_has(const struct jcollect *c, const uint8_t id[32], int hop, const char *from, const char *to)
{
    char hid[67];
    hex_encode(hid, id, 32, true);
    for (size_t i = 0; i < c->n; i++) {
        const cJSON *j = c->j[i];
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "hop");
        if (strcmp(jstr(j, "intent_id"), hid) || strcmp(jstr(j, "from"), from) || strcmp(jstr(j, "to"), to))
            continue;
        if ((hop < 0 && !h && !strcmp(jstr(j, "kind"), "intent")) ||
            (hop >= 0 && cJSON_IsNumber(h) && h->valueint == hop && !strcmp(jstr(j, "kind"), "hop")))
            return true;
    }
    return false;
}

/* ---- tests ---- */

/* Opens the intent and runs step 0 up to IN_FLIGHT (sequence 7 on alpha). */
static void run_to_hop0_in_flight(const uint8_t id[32])
{
    assert_int_equal(nsubs(CA, id, 'o', 0), 1);
    expect_call(last_sub(CA), id, 'o', 0);
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_OPENED, id, &(struct evo){.token = FTA, .amount = 1000});
    assert_int_equal(st_of(id), INTENT_IN_PROGRESS); /* opened, and step 0 submitted in the same turn */
    assert_int_equal(hop_of(id, 0), HOP_SUBMITTED);
    assert_int_equal(nsubs(CA, id, 'a', 0), 1);
    expect_call(last_sub(CA), id, 'a', 0);
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_STEP_EXECUTED, id, &(struct evo){.step = 0, .seq = 7, .token = FTA, .amount = 1000});
    assert_int_equal(hop_of(id, 0), HOP_IN_FLIGHT);
}

static void happy_path(void **state)
{
    (void)state;
    uint8_t id[32];
    submit(1, NULL, id);
    assert_int_equal(st_of(id), INTENT_PENDING);
    run_to_hop0_in_flight(id);
    struct intent_record r;
    get(id, &r);
    assert_true(r.funds.known && r.funds.in_flight);
    assert_int_equal(r.funds.chain, ALPHA);
    assert_int_equal(r.hops[0].sequence, 7);
    assert_int_equal(r.hops[0].timeout_at, NOW + 600);
    assert_int_equal(r.hops[0].ntxs, 2); /* the submission's tx, then the event's (the same in reality) */
    intent_record_clear(&r);
    assert_int_equal(nsubs_of(CB, id), 0); /* nothing on beta before the funds arrived */

    event(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    assert_int_equal(hop_of(id, 0), HOP_ARRIVED);
    assert_int_equal(nsubs(CB, id, 'a', 1), 1);
    expect_call(last_sub(CB), id, 'a', 1);
    event(CA, CHAIN_IEV_HOP_DELIVERED, id, &(struct evo){.seq = 7});
    assert_int_equal(hop_of(id, 0), HOP_DONE);
    outcome(CB, last_sub(CB), CHAIN_SUB_CONFIRMED);
    event(CB, CHAIN_IEV_STEP_EXECUTED, id, &(struct evo){.step = 1, .token = FTB, .amount = 450});
    assert_int_equal(hop_of(id, 1), HOP_DONE);
    get(id, &r);
    assert_int_equal(r.current, 2);
    assert_false(r.funds.in_flight);
    assert_int_equal(r.funds.chain, BETA);
    assert_int_equal(u256_from_be32(r.funds.amount).w[0], 450);
    intent_record_clear(&r);
    assert_int_equal(nsubs(CB, id, 'a', 2), 1);
    expect_call(last_sub(CB), id, 'a', 2);
    outcome(CB, last_sub(CB), CHAIN_SUB_CONFIRMED);
    event(CB, CHAIN_IEV_STEP_EXECUTED, id, &(struct evo){.step = 2, .seq = 3, .token = FTB, .amount = 450});
    assert_int_equal(hop_of(id, 2), HOP_IN_FLIGHT);
    event(CB, CHAIN_IEV_COMPLETED, id, &(struct evo){.token = FTB, .amount = 450});
    get(id, &r); /* from the store now: terminal intents leave memory */
    assert_int_equal(r.state, INTENT_COMPLETED);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r.hops[i].state, HOP_DONE);
    uint8_t rcpt[20];
    assert_int_equal(address_parse(rcpt, RECIPIENT), FERRY_OK);
    assert_memory_equal(r.funds.holder, rcpt, 20);
    assert_int_equal(r.funds.chain, GAMMA);
    assert_int_equal(r.current, 3);
    intent_record_clear(&r);

    /* Exactly one submission per step, each the router call it should be. */
    assert_int_equal(nsubs_of(CA, id), 2);
    assert_int_equal(nsubs_of(CB, id), 2);
    assert_int_equal(nsubs_of(CG, id), 0);

    /* Repeats of old events (a restart replays) change nothing. */
    uint64_t last = orch_last_event(E.o);
    event(CB, CHAIN_IEV_STEP_EXECUTED, id, &(struct evo){.step = 1, .token = FTB, .amount = 450});
    event(CB, CHAIN_IEV_COMPLETED, id, &(struct evo){.token = FTB, .amount = 450});
    assert_int_equal(orch_last_event(E.o), last);

    struct jcollect c;
    journal_read(&c);
    assert_int_equal(c.n, last);
    assert_int_equal(E.notified, last);
    assert_true(journal_has(&c, id, -1, "NONE", "PENDING"));
    assert_true(journal_has(&c, id, -1, "PENDING", "OPEN"));
    assert_true(journal_has(&c, id, -1, "OPEN", "IN_PROGRESS"));
    assert_true(journal_has(&c, id, -1, "IN_PROGRESS", "COMPLETED"));
    assert_true(journal_has(&c, id, 0, "CONFIRMED", "IN_FLIGHT"));
    assert_true(journal_has(&c, id, 0, "IN_FLIGHT", "ARRIVED"));
    assert_true(journal_has(&c, id, 0, "ARRIVED", "DONE"));
    assert_true(journal_has(&c, id, 1, "CONFIRMED", "DONE"));
    assert_true(journal_has(&c, id, 2, "IN_FLIGHT", "DONE"));
    /* Chains by name, funds where known. */
    const cJSON *j0 = c.j[c.n - 1];
    assert_string_equal(jstr(j0, "to"), "COMPLETED");
    assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(j0, "funds"), "chain"), "gamma");
    journal_free(&c);

    /* Reading from the middle. */
    struct jcollect part = {0};
    uint64_t got;
    assert_int_equal(orch_events_read(E.st, 3, 2, collect_ev, &part, &got), FERRY_OK);
    assert_int_equal(part.n, 2);
    assert_int_equal(part.ids[0], 4);
    assert_int_equal(got, 5);
    journal_free(&part);
    memset(&part, 0, sizeof part);
    assert_int_equal(orch_events_read(E.st, last, 10, collect_ev, &part, &got), FERRY_OK);
    assert_int_equal(part.n, 0);
    assert_int_equal(got, last);

    struct orch_stats stats;
    orch_stats(E.o, &stats);
    assert_int_equal(stats.submissions, 0);
    assert_int_equal(stats.intents[INTENT_COMPLETED], 0); /* terminal: dropped from memory */
    struct fbuf text;
    fbuf_init(&text, 1u << 20);
    assert_int_equal(metrics_render(E.m, &text), FERRY_OK);
    assert_non_null(strstr((const char *)text.data, "ferry_intent_transitions_total{from=\"IN_PROGRESS\",to=\"COMPLETED\"} 1"));
    assert_non_null(strstr((const char *)text.data, "ferry_intent_submissions_total{chain=\"beta\",kind=\"advance\",result=\"confirmed\"} 2"));
    fbuf_free(&text);

    /* The same intent again: existed, nothing changes. */
    cJSON *j = intent_json(1, NULL);
    char sig[133], err[ORCH_ERR_MAX];
    uint8_t id2[32];
    sign_hex(j, NULL, id2, sig);
    int before = E.cbs;
    assert_int_equal(orch_submit(E.o, j, sig, E.now, on_submitted, id2, err), FERRY_OK);
    assert_int_equal(E.cbs, before + 1); /* at once */
    assert_true(E.cb_existed);
    assert_int_equal(E.cb_state, INTENT_COMPLETED);
    cJSON_Delete(j);
    flush();
    assert_int_equal(orch_last_event(E.o), last);
}

static void submit_errors(void **state)
{
    (void)state;
    uint8_t id[32];
    char sig[133], err[ORCH_ERR_MAX];
    cJSON *j = intent_json(2, NULL);
    sign_hex(j, "other", id, sig); /* signed by someone else */
    assert_int_equal(orch_submit(E.o, j, sig, E.now, on_submitted, id, err), FERRY_EINVAL);
    assert_non_null(strstr(err, "signature"));
    assert_int_equal(orch_submit(E.o, j, "0x1234", E.now, on_submitted, id, err), FERRY_EINVAL);
    assert_non_null(strstr(err, "signature: expected 65 bytes"));
    cJSON_Delete(j);
    /* Strict: no nonce is filled in. */
    j = intent_json(3, NULL);
    cJSON_DeleteItemFromObject(j, "nonce");
    assert_int_equal(orch_submit(E.o, j, sig, E.now, on_submitted, id, err), FERRY_EINVAL);
    assert_non_null(strstr(err, "intent.nonce"));
    cJSON_Delete(j);
    flush();
    assert_int_equal(E.cbs, 0);
    assert_int_equal(orch_last_event(E.o), 0);
    struct orch_stats s;
    orch_stats(E.o, &s);
    assert_int_equal(s.intents[INTENT_PENDING], 0);

    /* Too many in progress: EBUSY, nothing stored. */
    E.max_pending = 1;
    restart(true);
    uint8_t first[32];
    submit(5, NULL, first);
    j = intent_json(6, NULL);
    sign_hex(j, NULL, id, sig);
    assert_int_equal(orch_submit(E.o, j, sig, E.now, on_submitted, id, err), FERRY_EBUSY);
    assert_non_null(strstr(err, "too many intents in progress"));
    cJSON_Delete(j);
    j = intent_json(5, NULL); /* the one already held is still answered */
    sign_hex(j, NULL, id, sig);
    assert_int_equal(orch_submit(E.o, j, sig, E.now, on_submitted, id, err), FERRY_OK);
    assert_true(E.cb_existed);
    cJSON_Delete(j);

    /* prepare fills the nonce and stores nothing. */
    j = intent_json(4, NULL);
    cJSON_DeleteItemFromObject(j, "nonce");
    cJSON *out;
    assert_int_equal(orch_prepare(E.o, j, E.now, &out, err), FERRY_OK);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(out, "intent_id")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "intent"), "nonce")));
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(out, "typed_data")));
    cJSON_Delete(out);
    cJSON_Delete(j);
}

static void call_failure_refund_origin(void **state)
{
    (void)state;
    uint8_t id[32];
    submit(10, NULL, id);
    run_to_hop0_in_flight(id);
    event(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    outcome(CB, last_sub(CB), CHAIN_SUB_CONFIRMED);
    /* The swap reverted: the router refunds in the same transaction, sending the funds home. */
    const uint8_t detail[] = {0x08, 0xc3, 0x79, 0xa0, 0x01};
    struct chain_intent_event ev[2] = {
        mkev(CB, CHAIN_IEV_STEP_FAILED, id,
             &(struct evo){.step = 1, .fail = CHAIN_IFAIL_CALL_FAILED, .detail = detail, .dlen = sizeof detail}),
        mkev(CB, CHAIN_IEV_REFUND_SENT, id, &(struct evo){.seq = 4, .token = VOUCHER, .amount = 990}),
    };
    ev[1].at.tx_hash[0] = ev[0].at.tx_hash[0];
    orch_on_intent_events(E.o, CB, ev, 2);
    flush();
    struct intent_record r;
    get(id, &r);
    assert_int_equal(r.state, INTENT_REFUNDING);
    assert_int_equal(r.hops[1].state, HOP_FAILED);
    assert_string_equal(r.hops[1].error, "step 1: call failed: Decoded(selector=0x08c379a0, 5 bytes)");
    assert_string_equal(r.reason, "step 1: call failed: Decoded(selector=0x08c379a0, 5 bytes)");
    assert_true(r.funds.in_flight);
    intent_record_clear(&r);
    tick(10);
    assert_int_equal(nsubs(CB, id, 'r', 0), 0); /* the router refunded by itself */
    assert_int_equal(nsubs(CB, id, 'a', 2), 0);
    /* The refund hop lands home: the owner gets FTA back on alpha (the voucher is burnt on beta). */
    uint64_t last = orch_last_event(E.o);
    received(CA, BETA, 4, "0x0000000000000000000000000000000000000abc", FTA, 990); /* somebody else's */
    received(CA, BETA, 5, RECIPIENT, FTA, 990);                                     /* another transfer */
    char owner[ADDRESS_STR];
    address_to_checksum(owner, E.owner);
    received(CA, BETA, 4, owner, FTA, 990);
    assert_int_equal(orch_last_event(E.o), last); /* no state changed */
    event(CB, CHAIN_IEV_REFUNDED, id, &(struct evo){.token = VOUCHER, .amount = 990});
    get(id, &r);
    assert_int_equal(r.state, INTENT_REFUNDED);
    assert_int_equal(r.hops[1].state, HOP_REFUNDED);
    assert_funds(&r.funds, ALPHA, E.owner, FTA, 990); /* the return hop landed home */
    assert_string_equal(r.reason, "step 1: call failed: Decoded(selector=0x08c379a0, 5 bytes)");
    intent_record_clear(&r);
}

static void call_failure_refund_recovery(void **state)
{
    (void)state;
    uint8_t id[32];
    submit(11, &(struct opts){.recovery = true}, id);
    run_to_hop0_in_flight(id);
    event(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    struct chain_intent_event ev[2] = {
        mkev(CB, CHAIN_IEV_STEP_FAILED, id, &(struct evo){.step = 1, .fail = CHAIN_IFAIL_TOKEN_MISMATCH}),
        mkev(CB, CHAIN_IEV_REFUNDED, id, &(struct evo){.token = VOUCHER, .amount = 990}),
    };
    orch_on_intent_events(E.o, CB, ev, 2);
    flush();
    struct intent_record r;
    get(id, &r);
    assert_int_equal(r.state, INTENT_REFUNDED);
    assert_int_equal(r.hops[1].state, HOP_REFUNDED);
    assert_non_null(strstr(r.hops[1].error, "token mismatch"));
    uint8_t rec[20];
    assert_int_equal(address_parse(rec, RECOVERY), FERRY_OK);
    assert_funds(&r.funds, BETA, rec, VOUCHER, 990); /* paid where the funds were */
    intent_record_clear(&r);
    /* The submission of step 1 reverting afterwards changes nothing. */
    uint64_t last = orch_last_event(E.o);
    outcome(CB, last_sub(CB), CHAIN_SUB_REVERTED);
    assert_int_equal(orch_last_event(E.o), last);
}

static void hop_timeout_refund(void **state)
{
    (void)state;
    uint8_t id[32];
    submit(12, NULL, id);
    run_to_hop0_in_flight(id);
    E.now += 700;
    struct chain_intent_event ev[2] = {
        mkev(CA, CHAIN_IEV_TRANSFER_REFUNDED, id, &(struct evo){.seq = 7, .token = FTA, .amount = 1000, .timed_out = true}),
        mkev(CA, CHAIN_IEV_HOP_RETURNED, id, &(struct evo){.seq = 7, .token = FTA, .amount = 1000}),
    };
    memset(ev[0].intent_id, 0, 32); /* the vault's event names no intent */
    ev[1].at.tx_hash[0] = ev[0].at.tx_hash[0];
    orch_on_intent_events(E.o, CA, ev, 2);
    flush();
    struct intent_record r;
    get(id, &r);
    assert_int_equal(r.state, INTENT_REFUNDING);
    assert_int_equal(r.hops[0].state, HOP_TIMED_OUT);
    assert_string_equal(r.reason, "hop 0 to beta timed out");
    assert_false(r.funds.in_flight);
    intent_record_clear(&r);
    /* The orchestrator asks the router there for the refund. */
    assert_int_equal(nsubs(CA, id, 'r', 0), 1);
    expect_call(last_sub(CA), id, 'r', 0);
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_REFUNDED, id, &(struct evo){.token = FTA, .amount = 1000});
    get(id, &r);
    assert_int_equal(r.state, INTENT_REFUNDED);
    assert_int_equal(r.hops[0].state, HOP_REFUNDED);
    intent_record_clear(&r);
    assert_int_equal(nsubs(CA, id, 'r', 0), 1);

    /* HopReturned first, then the vault's event, and a delivery failure rather than a timeout. */
    uint8_t id2[32];
    submit(13, NULL, id2);
    run_to_hop0_in_flight(id2);
    struct chain_intent_event ev2[2] = {
        mkev(CA, CHAIN_IEV_HOP_RETURNED, id2, &(struct evo){.seq = 7, .token = FTA, .amount = 1000}),
        mkev(CA, CHAIN_IEV_TRANSFER_REFUNDED, id2, &(struct evo){.seq = 7, .token = FTA, .amount = 1000}),
    };
    orch_on_intent_events(E.o, CA, ev2, 2);
    flush();
    assert_int_equal(hop_of(id2, 0), HOP_FAILED);
    assert_int_equal(st_of(id2), INTENT_REFUNDING);
}

/* Events can be missed (a watcher bug, a pruned node): the periodic recheck finds where it stands. */
static void recheck_finds_missed_arrival(void **state)
{
    (void)state;
    uint8_t id[32];
    submit(16, NULL, id);
    run_to_hop0_in_flight(id);
    tick(10);
    assert_int_equal(CA->nq + CB->nq, 0);
    tick(30);
    assert_int_equal(CB->nq, 1); /* asks the destination of the hop in flight */
    answer(CB, CHAIN_ISTATUS_NONE, 0, 0); /* not there yet */
    tick(30);
    assert_int_equal(CA->nq, 1); /* then its source */
    answer(CA, CHAIN_ISTATUS_IN_FLIGHT, 0, 7);
    tick(30);
    assert_int_equal(CB->nq, 1);
    answer(CB, CHAIN_ISTATUS_HOLDING, 1, 0);
    struct intent_record r;
    get(id, &r);
    assert_int_equal(r.hops[0].state, HOP_ARRIVED);
    assert_int_equal(r.current, 1);
    assert_int_equal(r.funds.chain, BETA);
    assert_false(r.funds.in_flight);
    intent_record_clear(&r);
    assert_int_equal(nsubs(CB, id, 'a', 1), 1);
    /* The late event changes nothing. */
    event(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    assert_int_equal(nsubs(CB, id, 'a', 1), 1);
}

/* Where the funds are after each hop: the destination's token (the voucher) once a hop arrived,
 * whatever the order of the arrival and the ack; what the recipient got on the destination after
 * the last hop (the vault's TransferReceived there), not the source's token. */
static void funds_follow_the_hops(void **state)
{
    (void)state;
    uint8_t id[32], rcpt[20];
    assert_int_equal(address_parse(rcpt, RECIPIENT), FERRY_OK);
    submit(17, NULL, id);
    run_to_hop0_in_flight(id);
    /* The ack first: the funds wait on beta and step 1 is submitted there at once... */
    event(CA, CHAIN_IEV_HOP_DELIVERED, id, &(struct evo){.seq = 7});
    assert_int_equal(hop_of(id, 0), HOP_DONE);
    assert_int_equal(nsubs(CB, id, 'a', 1), 1);
    assert_int_equal(hop_of(id, 1), HOP_SUBMITTED);
    /* ...then the arrival says what arrived: the voucher, 990 of it. */
    event(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    struct intent_record r;
    get(id, &r);
    assert_funds(&r.funds, BETA, E.router, VOUCHER, 990);
    assert_funds(&r.hops[0].funds, BETA, E.router, VOUCHER, 990);
    intent_record_clear(&r);
    assert_int_equal(nsubs(CB, id, 'a', 1), 1);
    outcome(CB, last_sub(CB), CHAIN_SUB_CONFIRMED);
    event(CB, CHAIN_IEV_STEP_EXECUTED, id, &(struct evo){.step = 1, .token = FTB, .amount = 450});
    outcome(CB, last_sub(CB), CHAIN_SUB_CONFIRMED);
    event(CB, CHAIN_IEV_STEP_EXECUTED, id, &(struct evo){.step = 2, .seq = 3, .token = FTB, .amount = 450});
    assert_int_equal(hop_of(id, 2), HOP_IN_FLIGHT);
    /* Other transfers gamma receives are not this intent's (nor is one paying someone else). */
    uint64_t last = orch_last_event(E.o);
    received(CG, BETA, 4, RECIPIENT, GVOUCHER, 1);
    received(CG, ALPHA, 3, RECIPIENT, GVOUCHER, 1);
    received(CG, BETA, 3, RECOVERY, GVOUCHER, 1);
    assert_int_equal(orch_last_event(E.o), last);
    /* The last hop lands: the recipient holds FTB@beta's voucher on gamma. */
    received(CG, BETA, 3, RECIPIENT, GVOUCHER, 449);
    assert_int_equal(hop_of(id, 2), HOP_ARRIVED);
    assert_int_equal(st_of(id), INTENT_IN_PROGRESS);
    get(id, &r);
    assert_funds(&r.funds, GAMMA, rcpt, GVOUCHER, 449);
    intent_record_clear(&r);
    /* The ack on beta completes it; the funds stay what the recipient got. */
    event(CB, CHAIN_IEV_COMPLETED, id, &(struct evo){.token = FTB, .amount = 450});
    get(id, &r);
    assert_int_equal(r.state, INTENT_COMPLETED);
    assert_int_equal(r.hops[2].state, HOP_DONE);
    assert_funds(&r.funds, GAMMA, rcpt, GVOUCHER, 449);
    assert_funds(&r.hops[2].funds, GAMMA, rcpt, GVOUCHER, 449);
    intent_record_clear(&r);
    struct jcollect c;
    journal_read(&c);
    assert_true(journal_has(&c, id, 2, "IN_FLIGHT", "ARRIVED"));
    assert_true(journal_has(&c, id, 2, "ARRIVED", "DONE"));
    journal_free(&c);
    /* Forgotten with the intent: a late repeat finds nothing. */
    last = orch_last_event(E.o);
    received(CG, BETA, 3, RECIPIENT, GVOUCHER, 449);
    assert_int_equal(orch_last_event(E.o), last);

    /* A restart keeps the map: the hop in flight is found again by its sequence. */
    uint8_t id2[32];
    submit(18, &(struct opts){.two_steps = true}, id2);
    run_to_hop0_in_flight(id2);
    restart(true);
    answer(CA, CHAIN_ISTATUS_IN_FLIGHT, 0, 7);
    received(CB, ALPHA, 7, RECIPIENT, VOUCHER, 5000);
    assert_int_equal(hop_of(id2, 0), HOP_ARRIVED);
    event(CA, CHAIN_IEV_COMPLETED, id2, &(struct evo){.token = FTA, .amount = 5000});
    get(id2, &r);
    assert_int_equal(r.state, INTENT_COMPLETED);
    assert_funds(&r.funds, BETA, rcpt, VOUCHER, 5000);
    intent_record_clear(&r);
}

/* The router judges the deadline by block.timestamp: a chain whose time lags the daemon's clock
 * gets no refund before its own time has passed the deadline (it would revert and count as a
 * failure); a chain without a head yet is judged by the clock. */
static void deadline_by_chain_time(void **state)
{
    (void)state;
    uint8_t id[32];
    submit(19, NULL, id);
    run_to_hop0_in_flight(id);
    char err[ORCH_ERR_MAX];
    assert_int_equal(orch_pause_chain(E.o, "beta", true, err), FERRY_OK);
    flush();
    event(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    head(CB, DEADLINE - 120); /* beta's time is two minutes behind */
    E.now = DEADLINE + 5;
    tick(0);
    assert_int_equal(st_of(id), INTENT_IN_PROGRESS);
    assert_int_equal(nsubs(CB, id, 'r', 0), 0);
    head(CB, DEADLINE - 1);
    tick(60);
    assert_int_equal(nsubs(CB, id, 'r', 0), 0);
    head(CB, DEADLINE); /* block.timestamp >= deadline: refundable */
    tick(1);
    assert_int_equal(st_of(id), INTENT_REFUNDING);
    assert_int_equal(nsubs(CB, id, 'r', 0), 1);
    struct intent_record r;
    get(id, &r);
    assert_int_equal(r.open_attempts, 0);
    intent_record_clear(&r);

    /* Before step 0 (OPEN, funds on alpha), alpha's time ahead of the clock decides too. */
    uint8_t id2[32];
    E.now = NOW;
    assert_int_equal(orch_pause_chain(E.o, "alpha", true, err), FERRY_OK);
    submit(20, &(struct opts){.deadline = DEADLINE + 1000}, id2);
    assert_int_equal(orch_pause_chain(E.o, "alpha", false, err), FERRY_OK);
    flush();
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    assert_int_equal(orch_pause_chain(E.o, "alpha", true, err), FERRY_OK);
    flush();
    event(CA, CHAIN_IEV_OPENED, id2, &(struct evo){.token = FTA, .amount = 1000});
    assert_int_equal(st_of(id2), INTENT_OPEN);
    head(CA, DEADLINE + 1000);
    tick(1);
    assert_int_equal(st_of(id2), INTENT_REFUNDING);
    assert_int_equal(nsubs(CA, id2, 'r', 0), 1);
}

/* A chain of a family without query_intent, or without a router, is accepted and never used:
 * an intent naming it is refused by the parser; the others work as before. */
static void chains_intents_cannot_use(void **state)
{
    (void)state;
    static struct chain delta = {.id = 31340, .name = "delta"}, eps = {.id = 31341, .name = "epsilon"};
    struct chain_ops noq = fake_ops;
    noq.name = "noquery";
    noq.query_intent = NULL;
    struct intent_chain_info dir5[5];
    memcpy(dir5, dir_chains, sizeof dir_chains);
    dir5[3] = (struct intent_chain_info){"delta", 31340, {0}, 1000, 1};
    memcpy(dir5[3].router, E.router, 20); /* a router configured, but the family cannot query it */
    dir5[4] = (struct intent_chain_info){"epsilon", 31341, {0}, 1000, 1}; /* no router */
    struct store *st;
    assert_int_equal(store_open(&st, "mem", NULL), FERRY_OK);
    struct orch_config cfg;
    orch_config_default(&cfg);
    cfg.store = st;
    cfg.dir = (struct intent_dir){dir5, 5};
    struct orch *o;
    assert_int_equal(orch_new(&o, &cfg), FERRY_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(orch_add_chain(o, &fake_ops, &chains[i]), FERRY_OK);
    assert_int_equal(orch_add_chain(o, &noq, &delta), FERRY_OK);
    assert_int_equal(orch_add_chain(o, &fake_ops, &eps), FERRY_OK);
    assert_int_equal(orch_add_chain(o, &fake_ops, &chains[1]), FERRY_EEXIST);
    assert_int_equal(orch_start(o, E.now), FERRY_OK);
    char err[ORCH_ERR_MAX];
    assert_int_equal(orch_pause_chain(o, "delta", true, err), FERRY_ENOTFOUND);
    static const char *const names[] = {"delta", "epsilon"};
    for (int k = 0; k < 2; k++) {
        cJSON *j = intent_json(30, &(struct opts){.two_steps = true});
        cJSON *tr = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "steps"), 0), "transfer");
        cJSON_ReplaceItemInObject(tr, "to_chain", cJSON_CreateString(names[k]));
        cJSON *out = NULL;
        assert_int_equal(orch_prepare(o, j, E.now, &out, err), FERRY_EINVAL);
        assert_null(out);
        assert_non_null(strstr(err, "intent.steps[0].transfer.to_chain"));
        assert_non_null(strstr(err, names[k]));
        cJSON_Delete(j);
    }
    /* The caller's directory is left as it was; the usable chains still take intents. */
    assert_memory_equal(dir5[3].router, E.router, 20);
    cJSON *j = intent_json(31, &(struct opts){.two_steps = true}), *out = NULL;
    assert_int_equal(orch_prepare(o, j, E.now, &out, err), FERRY_OK);
    cJSON_Delete(out);
    cJSON_Delete(j);
    orch_free(o);
    assert_int_equal(store_flush(st), FERRY_OK);
    assert_int_equal(store_close(st), FERRY_OK);
}

static void deadline_refund(void **state)
{
    (void)state;
    uint8_t id[32];
    submit(14, NULL, id);
    run_to_hop0_in_flight(id);
    char err[ORCH_ERR_MAX];
    assert_int_equal(orch_pause_chain(E.o, "beta", true, err), FERRY_OK);
    assert_true(orch_chain_paused(E.o, "beta"));
    flush();
    event(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    assert_int_equal(nsubs_of(CB, id), 0); /* paused: no advance */
    tick(100);
    assert_int_equal(nsubs_of(CB, id), 0);
    E.now = DEADLINE;
    tick(0);
    /* Past the deadline with the funds held on beta: a refund, even though beta is paused. */
    assert_int_equal(st_of(id), INTENT_REFUNDING);
    assert_int_equal(nsubs(CB, id, 'r', 0), 1);
    assert_int_equal(nsubs(CB, id, 'a', 1), 0);
    expect_call(last_sub(CB), id, 'r', 0);
    struct chain_intent_event ev[2] = {
        mkev(CB, CHAIN_IEV_STEP_FAILED, id, &(struct evo){.step = 1, .fail = CHAIN_IFAIL_DEADLINE}),
        mkev(CB, CHAIN_IEV_REFUND_SENT, id, &(struct evo){.seq = 5, .token = VOUCHER, .amount = 990}),
    };
    orch_on_intent_events(E.o, CB, ev, 2);
    flush();
    outcome(CB, last_sub(CB), CHAIN_SUB_CONFIRMED);
    assert_int_equal(hop_of(id, 1), HOP_FAILED);
    tick(60);
    assert_int_equal(nsubs(CB, id, 'r', 0), 1); /* in flight home: nothing more to do */
    event(CB, CHAIN_IEV_REFUNDED, id, &(struct evo){.token = VOUCHER, .amount = 990});
    assert_int_equal(st_of(id), INTENT_REFUNDED);
    assert_int_equal(hop_of(id, 1), HOP_REFUNDED);
    /* Paused survives a restart, and resume works. */
    restart(true);
    assert_true(orch_chain_paused(E.o, "beta"));
    assert_int_equal(orch_pause_chain(E.o, "beta", false, err), FERRY_OK);
    assert_false(orch_chain_paused(E.o, "beta"));
    assert_int_equal(orch_pause_chain(E.o, "nope", true, err), FERRY_ENOTFOUND);

    /* A pending intent past its deadline is dropped as cancelled: it was never opened. */
    uint8_t id2[32];
    assert_int_equal(orch_pause_chain(E.o, "alpha", true, err), FERRY_OK);
    submit(15, &(struct opts){.deadline = DEADLINE + 100}, id2);
    assert_int_equal(nsubs_of(CA, id2), 0);
    E.now = DEADLINE + 100;
    tick(0);
    assert_int_equal(st_of(id2), INTENT_CANCELLED);
}

static void cancel_in_each_state(void **state)
{
    (void)state;
    char err[ORCH_ERR_MAX];
    /* PENDING, no open in flight (alpha paused): cancelled at once. */
    uint8_t a[32];
    assert_int_equal(orch_pause_chain(E.o, "alpha", true, err), FERRY_OK);
    submit(20, NULL, a);
    assert_int_equal(orch_cancel(E.o, a, E.now, err), FERRY_OK);
    flush();
    assert_int_equal(st_of(a), INTENT_CANCELLED);
    assert_int_equal(nsubs_of(CA, a), 0);
    assert_int_equal(orch_cancel(E.o, a, E.now, err), FERRY_ESTATE);
    assert_non_null(strstr(err, "CANCELLED already"));
    assert_int_equal(orch_pause_chain(E.o, "alpha", false, err), FERRY_OK);

    /* PENDING with the open in flight: once opened, cancel instead of advance. */
    uint8_t b[32];
    submit(21, NULL, b);
    assert_int_equal(nsubs(CA, b, 'o', 0), 1);
    assert_int_equal(orch_cancel(E.o, b, E.now, err), FERRY_OK);
    flush();
    struct intent_record r;
    get(b, &r);
    assert_int_equal(r.state, INTENT_PENDING);
    assert_true(r.cancel_requested);
    intent_record_clear(&r);
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_OPENED, b, &(struct evo){.token = FTA, .amount = 1000});
    assert_int_equal(st_of(b), INTENT_OPEN);
    assert_int_equal(nsubs(CA, b, 'a', 0), 0);
    assert_int_equal(nsubs(CA, b, 'c', 0), 1);
    expect_call(last_sub(CA), b, 'c', 0);
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_CANCELLED, b, NULL);
    assert_int_equal(st_of(b), INTENT_CANCELLED);

    /* OPEN, step 0 not submitted (alpha paused after the open): a cancel call. */
    uint8_t c[32];
    submit(22, NULL, c);
    assert_int_equal(orch_pause_chain(E.o, "alpha", true, err), FERRY_OK);
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_OPENED, c, &(struct evo){.token = FTA, .amount = 1000});
    assert_int_equal(st_of(c), INTENT_OPEN);
    assert_int_equal(orch_cancel(E.o, c, E.now, err), FERRY_OK);
    flush();
    assert_int_equal(nsubs(CA, c, 'c', 0), 1);
    assert_int_equal(nsubs(CA, c, 'a', 0), 0);
    event(CA, CHAIN_IEV_CANCELLED, c, NULL);
    get(c, &r);
    assert_int_equal(r.state, INTENT_CANCELLED);
    assert_memory_equal(r.funds.holder, E.owner, 20);
    intent_record_clear(&r);
    assert_int_equal(orch_pause_chain(E.o, "alpha", false, err), FERRY_OK);

    /* After step 0 was submitted: refused, naming the transaction. */
    uint8_t d[32];
    submit(23, NULL, d);
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_OPENED, d, &(struct evo){.token = FTA, .amount = 1000});
    outcome(CA, last_sub(CA), CHAIN_SUB_MINED);
    assert_int_equal(orch_cancel(E.o, d, E.now, err), FERRY_ESTATE);
    char tx[67], want[200];
    hex_encode(tx, last_sub(CA)->tx, 32, true);
    snprintf(want, sizeof want, "step 0 already submitted in tx %s: the intent can no longer be cancelled", tx);
    assert_non_null(strstr(err, want));
    uint8_t unknown[32] = {1};
    assert_int_equal(orch_cancel(E.o, unknown, E.now, err), FERRY_ENOTFOUND);
}

static void retry_from_stuck(void **state)
{
    (void)state;
    uint8_t id[32];
    submit(30, NULL, id);
    /* The open fails again and again; each time the chain says it has not happened. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(nsubs(CA, id, 'o', 0), (size_t)i + 1);
        outcome(CA, last_sub(CA), CHAIN_SUB_REVERTED);
        assert_int_equal(CA->nq, 1);
        answer(CA, CHAIN_ISTATUS_NONE, 0, 0);
        tick(100);
    }
    struct intent_record r;
    get(id, &r);
    assert_int_equal(r.state, INTENT_STUCK);
    assert_int_equal(r.stuck_from, INTENT_PENDING);
    assert_int_equal(r.open_attempts, 3);
    assert_non_null(strstr(r.reason, "failed 3 times: execution reverted: StepNotExpected"));
    intent_record_clear(&r);
    tick(1000);
    assert_int_equal(nsubs(CA, id, 'o', 0), 3);
    char err[ORCH_ERR_MAX];
    assert_int_equal(orch_retry(E.o, id, E.now, err), FERRY_OK);
    flush();
    assert_int_equal(st_of(id), INTENT_PENDING);
    /* A retry asks first, then submits. */
    assert_int_equal(nsubs(CA, id, 'o', 0), 3);
    answer(CA, CHAIN_ISTATUS_NONE, 0, 0);
    assert_int_equal(nsubs(CA, id, 'o', 0), 4);
    assert_int_equal(orch_retry(E.o, id, E.now, err), FERRY_ESTATE);
    assert_non_null(strstr(err, "not STUCK"));


    /* A revert because somebody else ran the step is not a failure. */
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_OPENED, id, &(struct evo){.token = FTA, .amount = 1000});
    assert_int_equal(nsubs(CA, id, 'a', 0), 1);
    outcome(CA, last_sub(CA), CHAIN_SUB_REVERTED);
    answer(CA, CHAIN_ISTATUS_IN_FLIGHT, 0, 9);
    get(id, &r);
    assert_int_equal(r.state, INTENT_IN_PROGRESS);
    assert_int_equal(r.hops[0].state, HOP_IN_FLIGHT);
    assert_int_equal(r.hops[0].sequence, 9);
    assert_int_equal(r.hops[0].attempts, 0);
    intent_record_clear(&r);
    tick(100);
    assert_int_equal(nsubs(CA, id, 'a', 0), 1);

    /* An immediate refusal by the adapter counts like a revert. */
    uint8_t id2[32];
    CA->submit_fail = FERRY_EIO;
    submit(31, NULL, id2);
    assert_int_equal(nsubs_of(CA, id2), 0);
    assert_int_equal(CA->nq, 1);
    answer(CA, CHAIN_ISTATUS_NONE, 0, 0);
    get(id2, &r);
    assert_int_equal(r.open_attempts, 1);
    assert_int_equal(r.open_next_at, E.now + 5);
    intent_record_clear(&r);
    tick(5);
    assert_int_equal(nsubs(CA, id2, 'o', 0), 1);

    /* A STUCK intent that never opened can be cancelled. */
    uint8_t s2[32];
    submit(32, NULL, s2);
    for (int i = 0; i < 3; i++) {
        outcome(CA, last_sub(CA), CHAIN_SUB_REFUSED);
        answer(CA, CHAIN_ISTATUS_NONE, 0, 0);
        tick(100);
    }
    assert_int_equal(st_of(s2), INTENT_STUCK);
    assert_int_equal(orch_cancel(E.o, s2, E.now, err), FERRY_OK);
    flush();
    assert_int_equal(st_of(s2), INTENT_CANCELLED);
}

/* ---- restarts ---- */

static void restart_points(void **state)
{
    (void)state;
    /* 1. The batch naming the open was durable, the adapter lost the call (crash before its write). */
    uint8_t id[32];
    CA->lose_submits = true;
    submit(40, NULL, id);
    CA->lose_submits = false;
    assert_int_equal(nsubs_of(CA, id), 0);
    restart(false);
    assert_int_equal(nsubs_of(CA, id), 0); /* asked first */
    assert_int_equal(CA->nq, 1);
    answer(CA, CHAIN_ISTATUS_NONE, 0, 0);
    assert_int_equal(nsubs(CA, id, 'o', 0), 1);

    /* 2. A crash with the open pending: the adapter still has it; nothing new is sent. */
    restart(false);
    answer(CA, CHAIN_ISTATUS_NONE, 0, 0);
    assert_int_equal(nsubs(CA, id, 'o', 0), 1);
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_OPENED, id, &(struct evo){.token = FTA, .amount = 1000});
    assert_int_equal(nsubs(CA, id, 'a', 0), 1);

    /* 3. A crash after step 0 was submitted and its events were lost with the memory: the restart
     * finds the submission confirmed and the hop in flight on chain. */
    last_sub(CA)->state = CHAIN_SUB_CONFIRMED;
    restart(true);
    assert_int_equal(CA->nq, 1);
    answer(CA, CHAIN_ISTATUS_IN_FLIGHT, 0, 7);
    assert_int_equal(hop_of(id, 0), HOP_IN_FLIGHT);
    assert_int_equal(nsubs(CA, id, 'a', 0), 1);

    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED); /* a late report of the same: nothing new */
    assert_int_equal(nsubs(CA, id, 'a', 0), 1);
    assert_int_equal(nsubs_of(CA, id), 2);
}

static void restart_crashes(void **state)
{
    (void)state;
    uint8_t id[32];
    submit(50, NULL, id);
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_OPENED, id, &(struct evo){.token = FTA, .amount = 1000});
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_STEP_EXECUTED, id, &(struct evo){.step = 0, .seq = 7, .token = FTA, .amount = 1000});
    uint64_t durable = orch_last_event(E.o);

    /* The arrival is processed but its batch is never written (a crash before the flush). */
    struct chain_intent_event e = mkev(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER,
                                                                                     .amount = 990});
    orch_on_intent_events(E.o, CB, &e, 1);
    orch_free(E.o);
    E.o = NULL;
    store_fail_next_write(E.st, FERRY_EIO); /* the disk never got it */
    assert_int_equal(store_flush(E.st), FERRY_EIO);
    assert_int_equal(nsubs_of(CB, id), 0); /* nothing left before durability */
    /* The store refuses writes after a failure: start again on a copy of what is durable. */
    struct store *old = E.st;
    assert_int_equal(store_open(&E.st, "mem", NULL), FERRY_OK);
    struct store_iter *it;
    struct store_batch *b;
    assert_int_equal(store_iter_open(old, &it, NULL, 0), FERRY_OK);
    assert_int_equal(store_batch_begin(E.st, &b), FERRY_OK);
    for (; store_iter_valid(it); store_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = store_iter_key(it, &kl), *v = store_iter_value(it, &vl);
        if (k[0] != 'v')
            store_put(b, k, kl, v, vl);
    }
    store_iter_free(it);
    assert_int_equal(store_commit_sync(b), FERRY_OK);
    assert_int_equal(store_close(old), FERRY_OK); /* nothing left queued */
    orch_up();
    assert_int_equal(orch_last_event(E.o), durable);
    assert_int_equal(hop_of(id, 0), HOP_IN_FLIGHT);
    /* The restart asks where the hop stands (its source), the event is replayed: one advance. */
    answer(CA, CHAIN_ISTATUS_IN_FLIGHT, 0, 7);
    event(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    assert_int_equal(nsubs(CB, id, 'a', 1), 1);
    event(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    assert_int_equal(nsubs(CB, id, 'a', 1), 1);

    /* A crash right after the advance was made durable and submitted, before its outcome: the
     * restart finds it pending at the adapter and waits for it. */
    restart(false);
    answer(CB, CHAIN_ISTATUS_HOLDING, 1, 0);
    tick(100);
    assert_int_equal(nsubs(CB, id, 'a', 1), 1);
    /* It reverted while we were down and the chain still holds the funds at step 1: retried once. */
    outcome(CB, last_sub(CB), CHAIN_SUB_REVERTED);
    answer(CB, CHAIN_ISTATUS_HOLDING, 1, 0);
    tick(5);
    assert_int_equal(nsubs(CB, id, 'a', 1), 2);

    /* Journal ids continue without gaps across the restarts. */
    struct jcollect c;
    journal_read(&c);
    assert_true(c.n > durable);
    assert_int_equal(orch_last_event(E.o), c.n);
    journal_free(&c);

    /* A failed write stops the orchestrator; nothing is submitted after it. */
    store_fail_next_write(E.st, FERRY_EIO);
    e = mkev(CB, CHAIN_IEV_STEP_EXECUTED, id, &(struct evo){.step = 1, .token = FTB, .amount = 450});
    orch_on_intent_events(E.o, CB, &e, 1);
    assert_int_equal(store_flush(E.st), FERRY_EIO);
    assert_int_equal(orch_failed(E.o), FERRY_EIO);
    assert_int_equal(orch_tick(E.o, E.now + 100), FERRY_EIO);
    assert_int_equal(nsubs(CB, id, 'a', 2), 0);
    char err[ORCH_ERR_MAX];
    cJSON *j = intent_json(51, NULL);
    assert_int_equal(orch_submit(E.o, j, "0x00", E.now, on_submitted, id, err), FERRY_ESTATE);
    cJSON_Delete(j);
}

static void rm_tree(const char *dir)
{
    char db[160];
    snprintf(db, sizeof db, "%s/db", dir);
    DIR *d = opendir(db);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[512];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", db, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(db);
    rmdir(dir);
}

/* A real kill -9 at the crash point after a durable batch whose router call was not yet
 * submitted (LevelDB store; the fake adapters lose everything with the process): the restart
 * asks the chain and submits the call exactly once. Point 0: after PENDING (the open named);
 * point 1: after OPEN (the advance of step 0 named). */
static void kill9_after_persist(void **state)
{
    (void)state;
    for (int point = 0; point < 2; point++) {
        char dir[64] = "/tmp/ferry-orch-XXXXXX", path[96];
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/db", dir);
        orch_free(E.o);
        E.o = NULL;
        assert_int_equal(store_close(E.st), FERRY_OK);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            setenv("FERRY_CRASH_AT", point == 0 ? "orch.after_persist" : "orch.after_persist#2", 1);
            if (store_open(&E.st, "leveldb", path))
                _exit(2);
            orch_up();
            uint8_t id[32];
            submit(90, NULL, id); /* point 0 dies in here */
            outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
            event(CA, CHAIN_IEV_OPENED, id, &(struct evo){.token = FTA, .amount = 1000}); /* point 1 */
            _exit(4);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        for (int i = 0; i < 3; i++)
            chains[i].nsubs = chains[i].nq = 0;
        assert_int_equal(store_open(&E.st, "leveldb", path), FERRY_OK);
        uint8_t id[32];
        char sig[133];
        cJSON *j = intent_json(90, NULL);
        sign_hex(j, NULL, id, sig);
        cJSON_Delete(j);
        struct intent_record r;
        assert_int_equal(intent_record_load(E.st, id, &r), FERRY_OK); /* what the disk has */
        assert_int_equal(r.state, point == 0 ? INTENT_PENDING : INTENT_IN_PROGRESS);
        if (point == 0)
            assert_true(r.open_sub[0]);
        else
            assert_true(r.hops[0].sub_id[0] && r.hops[0].state == HOP_SUBMITTED);
        intent_record_clear(&r);
        orch_up();
        assert_int_equal(nsubs_of(CA, id), 0); /* asks before anything */
        assert_int_equal(CA->nq, 1);
        if (point == 0)
            answer(CA, CHAIN_ISTATUS_NONE, 0, 0);
        else
            answer(CA, CHAIN_ISTATUS_HOLDING, 0, 0);
        tick(1);
        assert_int_equal(nsubs_of(CA, id), 1);
        assert_int_equal(nsubs(CA, id, point == 0 ? 'o' : 'a', 0), 1);
        /* The journal survived without a gap. */
        struct jcollect c;
        journal_read(&c);
        assert_true(c.n >= 1);
        journal_free(&c);
        orch_free(E.o);
        E.o = NULL;
        assert_int_equal(store_close(E.st), FERRY_OK);
        rm_tree(dir);
        assert_int_equal(store_open(&E.st, "mem", NULL), FERRY_OK);
        orch_up();
    }
}

/* The happy route under random restarts (flushed or not), replayed events and a chain whose
 * answers are the truth: it completes, with exactly one call per step. */
static void answer_truth(int stage)
{
    static const struct {
        enum chain_intent_status a, b;
        uint32_t sa, sb;
    } truth[8] = {
        {CHAIN_ISTATUS_NONE, CHAIN_ISTATUS_NONE, 0, 0},         {CHAIN_ISTATUS_HOLDING, CHAIN_ISTATUS_NONE, 0, 0},
        {CHAIN_ISTATUS_IN_FLIGHT, CHAIN_ISTATUS_NONE, 0, 0},    {CHAIN_ISTATUS_IN_FLIGHT, CHAIN_ISTATUS_HOLDING, 0, 1},
        {CHAIN_ISTATUS_DEPARTED, CHAIN_ISTATUS_HOLDING, 0, 1},  {CHAIN_ISTATUS_DEPARTED, CHAIN_ISTATUS_HOLDING, 0, 2},
        {CHAIN_ISTATUS_DEPARTED, CHAIN_ISTATUS_IN_FLIGHT, 0, 2}, {CHAIN_ISTATUS_DEPARTED, CHAIN_ISTATUS_COMPLETED, 0, 2},
    };
    if (CA->nq)
        answer(CA, truth[stage].a, truth[stage].sa, 7);
    if (CB->nq)
        answer(CB, truth[stage].b, truth[stage].sb, 3);
    if (CG->nq)
        answer(CG, CHAIN_ISTATUS_NONE, 0, 0);
}

static struct fsub *find_sub(struct chain *c, const uint8_t id[32], char k, unsigned step)
{
    char hid[65], pre[128];
    hex_encode(hid, id, 32, false);
    snprintf(pre, sizeof pre, ORCH_SUB_PREFIX "%s:%c%u.", hid, k, step);
    for (size_t i = 0; i < c->nsubs; i++)
        if (strncmp(c->subs[i].id, pre, strlen(pre)) == 0)
            return &c->subs[i];
    return NULL;
}

static void random_restarts(void **state)
{
    (void)state;
    for (int round = 0; round < 12; round++) {
        uint8_t id[32];
        submit(100 + (unsigned)round, NULL, id);
        int stage = 0;
        struct chain_intent_event seen[16];
        size_t nseen = 0;
        for (int guard = 0; stage < 7 && guard < 400; guard++) {
            uint64_t r = tu_rand() % 8;
            if (r == 0)
                restart(tu_rand() % 2);
            else if (r == 1 && nseen) { /* a replay */
                struct chain_intent_event e = seen[tu_rand() % nseen];
                struct chain *c = e.at.chain_id == ALPHA ? CA : CB;
                orch_on_intent_events(E.o, c, &e, 1);
                flush();
            } else if (r == 2)
                tick(31);
            answer_truth(stage);
            /* The chains move when the call they need is there, or on their own (arrival, ack). */
            static const struct {
                char k;
                unsigned step;
            } need[7] = {{'o', 0}, {'a', 0}, {0, 0}, {0, 0}, {'a', 1}, {'a', 2}, {0, 0}};
            struct chain *c = stage < 2 ? CA : CB;
            struct fsub *sub = need[stage].k ? find_sub(c, id, need[stage].k, need[stage].step) : NULL;
            if (need[stage].k && !sub)
                continue;
            struct chain_intent_event e;
            if (stage == 0)
                e = mkev(CA, CHAIN_IEV_OPENED, id, &(struct evo){.token = FTA, .amount = 1000});
            else if (stage == 1)
                e = mkev(CA, CHAIN_IEV_STEP_EXECUTED, id, &(struct evo){.step = 0, .seq = 7, .token = FTA, .amount = 1000});
            else if (stage == 2)
                e = mkev(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
            else if (stage == 3)
                e = mkev(CA, CHAIN_IEV_HOP_DELIVERED, id, &(struct evo){.seq = 7});
            else if (stage == 4)
                e = mkev(CB, CHAIN_IEV_STEP_EXECUTED, id, &(struct evo){.step = 1, .token = FTB, .amount = 450});
            else if (stage == 5)
                e = mkev(CB, CHAIN_IEV_STEP_EXECUTED, id, &(struct evo){.step = 2, .seq = 3, .token = FTB, .amount = 450});
            else
                e = mkev(CB, CHAIN_IEV_COMPLETED, id, &(struct evo){.token = FTB, .amount = 450});
            stage++;
            /* The adapter always reports its submission (before or after the events); an event
             * may be lost (only queries will tell). */
            bool report_first = tu_rand() % 2, lost = tu_rand() % 3 == 0;
            if (sub && report_first)
                outcome(c, sub, CHAIN_SUB_CONFIRMED);
            if (!lost) {
                orch_on_intent_events(E.o, e.at.chain_id == ALPHA ? CA : CB, &e, 1);
                flush();
                seen[nseen++ % 16] = e;
            }
            if (sub && !report_first)
                outcome(c, sub, CHAIN_SUB_CONFIRMED);
        }
        for (int guard = 0; st_of(id) != INTENT_COMPLETED && guard < 20; guard++) {
            tick(31);
            answer_truth(stage);
        }
        assert_int_equal(st_of(id), INTENT_COMPLETED);
        assert_int_equal(nsubs(CA, id, 'o', 0), 1);
        assert_int_equal(nsubs(CA, id, 'a', 0), 1);
        assert_int_equal(nsubs(CB, id, 'a', 1), 1);
        assert_int_equal(nsubs(CB, id, 'a', 2), 1);
        assert_int_equal(nsubs_of(CA, id) + nsubs_of(CB, id) + nsubs_of(CG, id), 4);
    }
    struct jcollect c;
    journal_read(&c); /* ids from 1 without gaps through every restart */
    assert_int_equal(c.n, orch_last_event(E.o));
    journal_free(&c);
}

/* ---- records and listing ---- */

static void record_round_trip(void **state)
{
    (void)state;
    uint8_t id[32];
    submit(60, &(struct opts){.recovery = true}, id);
    run_to_hop0_in_flight(id);
    struct intent_record r, back;
    get(id, &r);
    cJSON *j = intent_record_to_json(&r, NULL);
    assert_non_null(j);
    char *s1 = cJSON_PrintUnformatted(j);
    assert_int_equal(intent_record_from_json(&back, j), FERRY_OK);
    cJSON *j2 = intent_record_to_json(&back, NULL);
    char *s2 = cJSON_PrintUnformatted(j2);
    assert_string_equal(s1, s2);
    assert_int_equal(back.intent.steps[1].data_len, 4);
    assert_int_equal(back.hops[0].sequence, 7);
    free(s1);
    free(s2);
    cJSON_Delete(j2);
    intent_record_clear(&back);

    /* A malformed record is refused, naming the field. */
    static const struct {
        const char *path, *value, *field;
    } bad[] = {
        {"hops/1/state", "\"BOGUS\"", "hops[1].state"},
        {"hops/0/sequence", "-1", "hops[0].sequence"},
        {"intent/steps/2/transfer/token", "\"0x12\"", "intent.steps[2].transfer.token"},
        {"funds/amount", "\"12a\"", "funds.amount"},
        {"signature", "\"0x00\"", "signature"},
        {"entered/PENDING", "\"x\"", "entered.PENDING"},
        {"current_step", "9", "current_step"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *m = cJSON_Duplicate(j, true);
        char buf[64];
        snprintf(buf, sizeof buf, "%s", bad[i].path);
        cJSON *cur = m;
        char *save, *tok = strtok_r(buf, "/", &save), *next;
        while ((next = strtok_r(NULL, "/", &save))) {
            cur = cJSON_IsArray(cur) ? cJSON_GetArrayItem(cur, atoi(tok)) : cJSON_GetObjectItem(cur, tok);
            assert_non_null(cur);
            tok = next;
        }
        cJSON_ReplaceItemInObject(cur, tok, cJSON_Parse(bad[i].value));
        assert_int_equal(intent_record_from_json(&back, m), FERRY_EINVAL);
        char want[96];
        snprintf(want, sizeof want, "field \"%s\": ", bad[i].field);
        if (!strstr(ferry_errmsg(), want))
            fail_msg("%s: got \"%s\"", bad[i].field, ferry_errmsg());
        cJSON_Delete(m);
    }
    cJSON *m = cJSON_Duplicate(j, true);
    cJSON_DeleteItemFromObject(m, "hops");
    assert_int_equal(intent_record_from_json(&back, m), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "field \"hops\""));
    cJSON_Delete(m);
    cJSON_Delete(j);

    /* With the directory: chain names, the normalized intent, calls with a null to_chain. */
    struct intent_dir d = {dir_chains, 3};
    j = intent_record_to_json(&r, &d);
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "IN_PROGRESS");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "intent"), "origin_chain")->valuestring, "alpha");
    cJSON *h0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "hops"), 0), *h1 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "hops"), 1);
    assert_string_equal(cJSON_GetObjectItem(h0, "to_chain")->valuestring, "beta");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(h1, "to_chain")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "funds"), "in_flight")));
    assert_true(cJSON_GetObjectItem(j, "updated_at")->valuedouble >= (double)NOW);
    cJSON_Delete(j);
    intent_record_clear(&r);
}

struct lcollect {
    uint8_t ids[64][32];
    size_t n;
};

static enum ferry_err collect_rec(void *arg, const struct intent_record *r)
{
    struct lcollect *c = arg;
    assert_true(c->n < 64);
    memcpy(c->ids[c->n++], r->id, 32);
    return FERRY_OK;
}

/* Lists everything matching f, `page` at a time; returns the count, checking no id twice. */
static size_t list_all(const struct intent_filter *f, size_t page, struct lcollect *c)
{
    memset(c, 0, sizeof *c);
    char cur[INTENT_CURSOR_MAX] = "", next[INTENT_CURSOR_MAX];
    for (int pages = 0; pages < 100; pages++) {
        size_t before = c->n;
        assert_int_equal(intent_list(E.st, f, cur, page, collect_rec, c, next), FERRY_OK);
        assert_true(c->n - before <= page);
        if (!next[0])
            break;
        strcpy(cur, next);
    }
    for (size_t i = 0; i < c->n; i++)
        for (size_t k = i + 1; k < c->n; k++)
            assert_memory_not_equal(c->ids[i], c->ids[k], 32);
    return c->n;
}

static void listing(void **state)
{
    (void)state;
    char err[ORCH_ERR_MAX];
    uint8_t ids[7][32];
    assert_int_equal(orch_pause_chain(E.o, "alpha", true, err), FERRY_OK);
    for (unsigned i = 0; i < 5; i++)
        submit(70 + i, NULL, ids[i]);
    submit(75, &(struct opts){.key = "other"}, ids[5]);
    submit(76, &(struct opts){.key = "other", .two_steps = true}, ids[6]);
    assert_int_equal(orch_cancel(E.o, ids[0], E.now, err), FERRY_OK);
    assert_int_equal(orch_pause_chain(E.o, "alpha", false, err), FERRY_OK);
    flush();
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_OPENED, ids[6], &(struct evo){.token = FTA, .amount = 5000}); /* IN_PROGRESS */
    struct fsub *adv = last_sub(CA);
    outcome(CA, adv, CHAIN_SUB_MINED);

    struct lcollect c;
    struct intent_filter f = {0};
    assert_int_equal(list_all(&f, 2, &c), 7);
    for (size_t i = 1; i < c.n; i++) /* by id */
        assert_true(memcmp(c.ids[i - 1], c.ids[i], 32) < 0);
    f.pending = true;
    assert_int_equal(list_all(&f, 2, &c), 6);
    f = (struct intent_filter){.state = INTENT_CANCELLED};
    assert_int_equal(list_all(&f, 1, &c), 1);
    assert_memory_equal(c.ids[0], ids[0], 32);
    f = (struct intent_filter){.state = INTENT_IN_PROGRESS};
    assert_int_equal(list_all(&f, 3, &c), 1);
    f = (struct intent_filter){.state = INTENT_PENDING};
    assert_int_equal(list_all(&f, 2, &c), 5);
    f = (struct intent_filter){.have_owner = true};
    assert_int_equal(signer_address(E.sg, "other", f.owner), FERRY_OK);
    assert_int_equal(list_all(&f, 1, &c), 2);
    f.state = INTENT_PENDING;
    assert_int_equal(list_all(&f, 1, &c), 1);
    assert_memory_equal(c.ids[0], ids[5], 32);
    f = (struct intent_filter){.chain = GAMMA};
    assert_int_equal(list_all(&f, 4, &c), 6); /* the two-step one never touches gamma */
    f = (struct intent_filter){.have_tx = true};
    memcpy(f.tx, adv->tx, 32);
    assert_int_equal(list_all(&f, 4, &c), 1);
    assert_memory_equal(c.ids[0], ids[6], 32);
    /* Bad cursors and filters. */
    char next[INTENT_CURSOR_MAX];
    f = (struct intent_filter){0};
    assert_int_equal(intent_list(E.st, &f, "zz", 2, collect_rec, &c, next), FERRY_EINVAL);
    f.state = (enum intent_state)42;
    assert_int_equal(intent_list(E.st, &f, NULL, 2, collect_rec, &c, next), FERRY_EINVAL);
    /* intent_record_load */
    struct intent_record r;
    assert_int_equal(intent_record_load(E.st, ids[3], &r), FERRY_OK);
    assert_int_equal(r.state, INTENT_PENDING);
    intent_record_clear(&r);
    uint8_t none[32] = {9};
    assert_int_equal(intent_record_load(E.st, none, &r), FERRY_ENOTFOUND);
    struct orch_stats s;
    orch_stats(E.o, &s);
    assert_int_equal(s.intents[INTENT_PENDING], 5);
    assert_int_equal(s.intents[INTENT_IN_PROGRESS], 1);
}

static void states_and_names(void **state)
{
    (void)state;
    enum intent_state s;
    enum hop_state h;
    for (int i = INTENT_PENDING; i < INTENT_STATE__COUNT; i++) {
        assert_int_equal(intent_state_parse(intent_state_name((enum intent_state)i), &s), FERRY_OK);
        assert_int_equal(s, i);
    }
    assert_int_equal(intent_state_parse("in_progress", &s), FERRY_OK);
    assert_int_equal(s, INTENT_IN_PROGRESS);
    assert_int_equal(intent_state_parse("NONE", &s), FERRY_EINVAL);
    for (int i = HOP_WAITING; i < HOP_STATE__COUNT; i++) {
        assert_int_equal(hop_state_parse(hop_state_name((enum hop_state)i), &h), FERRY_OK);
        assert_int_equal(h, i);
    }
    assert_string_equal(intent_state_name((enum intent_state)99), "?");
    assert_true(intent_state_terminal(INTENT_REFUNDED));
    assert_false(intent_state_terminal(INTENT_STUCK));
    assert_true(hop_state_terminal(HOP_DONE));
    assert_false(hop_state_terminal(HOP_IN_FLIGHT));
    assert_false(orch_on_submission(E.o, CA, &(struct chain_submission){.id = "deliver:1"}));
}

/* What is over for a hop: DONE and REFUNDED always; every hop of a terminal intent; a WAITING hop
 * of a refunding intent (it never runs); FAILED/TIMED_OUT only once the intent is terminal. */
static void hop_finished_rule(void **state)
{
    (void)state;
    for (int i = INTENT_PENDING; i < INTENT_STATE__COUNT; i++)
        for (int h = HOP_WAITING; h < HOP_STATE__COUNT; h++) {
            enum intent_state is = (enum intent_state)i;
            enum hop_state hs = (enum hop_state)h;
            bool want = hs == HOP_DONE || hs == HOP_REFUNDED || intent_state_terminal(is) ||
                        (is == INTENT_REFUNDING && hs == HOP_WAITING);
            assert_int_equal(hop_finished(is, INTENT_NONE, hs), want);
        }
    assert_false(hop_finished(INTENT_REFUNDING, INTENT_NONE, HOP_FAILED));
    assert_false(hop_finished(INTENT_REFUNDING, INTENT_NONE, HOP_TIMED_OUT));
    assert_true(hop_finished(INTENT_REFUNDED, INTENT_NONE, HOP_FAILED));
    assert_true(hop_finished(INTENT_CANCELLED, INTENT_NONE, HOP_WAITING));
    assert_false(hop_finished(INTENT_IN_PROGRESS, INTENT_NONE, HOP_WAITING));
    assert_true(hop_finished(INTENT_STUCK, INTENT_REFUNDING, HOP_WAITING));
    assert_false(hop_finished(INTENT_STUCK, INTENT_IN_PROGRESS, HOP_WAITING));
    assert_false(hop_finished(INTENT_STUCK, INTENT_REFUNDING, HOP_FAILED));

    /* On a record: a call failed at step 1; step 2 will never run, step 1 waits for the refund. */
    uint8_t id[32];
    submit(40, &(struct opts){.recovery = true}, id);
    run_to_hop0_in_flight(id);
    event(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    event(CB, CHAIN_IEV_STEP_FAILED, id, &(struct evo){.step = 1, .fail = CHAIN_IFAIL_CALL_FAILED});
    struct intent_record r;
    get(id, &r);
    assert_int_equal(r.state, INTENT_REFUNDING);
    assert_false(hop_is_finished(&r, &r.hops[0]));  /* ARRIVED: DONE once its ack comes back */
    assert_false(hop_is_finished(&r, &r.hops[1]));  /* FAILED: REFUNDED once the refund is paid */
    assert_true(hop_is_finished(&r, &r.hops[2]));   /* WAITING: never runs */
    intent_record_clear(&r);
    event(CA, CHAIN_IEV_HOP_DELIVERED, id, &(struct evo){.seq = 7});
    get(id, &r);
    assert_int_equal(r.hops[0].state, HOP_DONE);
    assert_true(hop_is_finished(&r, &r.hops[0]));
    intent_record_clear(&r);
}

/* ---- prompt scheduling: kicks ---- */

/* The kick is asked once per burst (until the next orch_tick), and the kicked tick does what the
 * burst made due without the clock moving: here a head that reaches the deadline on the chain
 * holding the funds makes the refund due, which no event handler drives. */
static void kick_per_burst(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    tick(0);
    E.kicks = 0;
    submit(70, NULL, a); /* its batch names the open: durable, submitted, kick */
    assert_int_equal(E.kicks, 1);
    submit(71, NULL, b);
    assert_int_equal(E.kicks, 1); /* coalesced until orch_tick */
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_OPENED, b, &(struct evo){.token = FTA, .amount = 1000});
    assert_int_equal(E.kicks, 1);
    tick(0);
    assert_int_equal(E.kicks, 1); /* a tick itself asks for nothing */
    outcome(CA, &CA->subs[CA->nsubs - 3], CHAIN_SUB_CONFIRMED); /* a's open */
    assert_int_equal(E.kicks, 2);
    event(CA, CHAIN_IEV_OPENED, a, &(struct evo){.token = FTA, .amount = 1000});
    assert_int_equal(E.kicks, 2);
    tick(0);

    /* a: step 0 ran; the funds arrive on beta, which is paused: nothing is submitted there. */
    outcome(CA, &CA->subs[CA->nsubs - 1], CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_STEP_EXECUTED, a, &(struct evo){.step = 0, .seq = 7, .token = FTA, .amount = 1000});
    char err[ORCH_ERR_MAX];
    assert_int_equal(orch_pause_chain(E.o, "beta", true, err), FERRY_OK);
    flush();
    event(CB, CHAIN_IEV_HOP_ARRIVED, a, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    tick(0); /* notes beta's next deadline */
    int k = E.kicks;
    head(CB, DEADLINE - 1);
    assert_int_equal(E.kicks, k);
    head(CB, DEADLINE); /* beta's time reached the deadline: the refund is due there */
    assert_int_equal(E.kicks, k + 1);
    head(CB, DEADLINE + 1);
    assert_int_equal(E.kicks, k + 1);
    assert_int_equal(nsubs(CB, a, 'r', 0), 0);
    uint64_t clock = E.now;
    tick(0);
    assert_int_equal(E.now, clock);
    assert_true(E.now < DEADLINE);
    assert_int_equal(st_of(a), INTENT_REFUNDING);
    assert_int_equal(nsubs(CB, a, 'r', 0), 1);
    expect_call(last_sub(CB), a, 'r', 0);
    assert_int_equal(E.kicks, k + 2); /* the refund's batch became durable */
}

/* An advance is confirmed before its StepExecuted is seen; the ack of the hop before (an event
 * about an earlier hop) must not make the step look due again. Then a query answer read at a
 * block before the events already applied says nothing new and does not hold the intent back. */
static void no_second_advance(void **state)
{
    (void)state;
    uint8_t id[32];
    submit(75, NULL, id);
    run_to_hop0_in_flight(id);
    event(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    assert_int_equal(nsubs(CB, id, 'a', 1), 1);
    outcome(CB, last_sub(CB), CHAIN_SUB_CONFIRMED);
    event(CA, CHAIN_IEV_HOP_DELIVERED, id, &(struct evo){.seq = 7});
    assert_int_equal(hop_of(id, 0), HOP_DONE);
    tick(0);
    assert_int_equal(nsubs(CB, id, 'a', 1), 1);
    assert_int_equal(CB->nq, 0);
    event(CB, CHAIN_IEV_STEP_EXECUTED, id, &(struct evo){.step = 1, .token = FTB, .amount = 500});
    assert_int_equal(hop_of(id, 1), HOP_DONE);
    assert_int_equal(nsubs(CB, id, 'a', 2), 1);

    /* a2 is refused (somebody else ran it?): the query's answer is read at a block before
     * step 2's own StepExecuted, seen meanwhile */
    outcome(CB, last_sub(CB), CHAIN_SUB_REFUSED);
    assert_int_equal(CB->nq, 1);
    event(CB, CHAIN_IEV_STEP_EXECUTED, id, &(struct evo){.step = 2, .seq = 4, .token = FTB, .amount = 500});
    assert_int_equal(hop_of(id, 2), HOP_IN_FLIGHT);
    answer(CB, CHAIN_ISTATUS_HOLDING, 1, 0); /* stale: step 1 */
    struct intent_record r;
    get(id, &r);
    assert_int_equal(r.current, 2);
    assert_int_equal(r.hops[2].attempts, 0); /* not a failure: it ran */
    assert_true(r.funds.in_flight);
    intent_record_clear(&r);
    event(CG, CHAIN_IEV_COMPLETED, id, &(struct evo){.step = 2, .token = FTB, .amount = 500});
    assert_int_equal(st_of(id), INTENT_COMPLETED);
    assert_int_equal(nsubs(CB, id, 'a', 2), 1);
}

/* ---- observed block times ---- */

static void headn(struct chain *c, uint64_t number, uint64_t timestamp)
{
    struct chain_head h = {.number = number, .timestamp = timestamp, .confirmed = number, .confirmed_timestamp = timestamp};
    orch_on_head(E.o, c, &h);
}

/* The planner's figure per step (the prepared intent's timeouts). */
static void prepared_timeouts(uint64_t out[3])
{
    char text[2400], addr[ADDRESS_STR], err[ORCH_ERR_MAX];
    address_to_checksum(addr, E.owner);
    snprintf(text, sizeof text,
             "{\"owner\": \"%s\", \"origin_chain\": \"alpha\", \"deadline\": %llu, \"nonce\": \"5\","
             " \"refund\": \"origin\", \"steps\": ["
             " {\"transfer\": {\"token\": \"%s\", \"amount\": \"1000\", \"to_chain\": \"beta\"}},"
             " {\"transfer\": {\"token\": \"%s\", \"amount\": \"all\", \"to_chain\": \"gamma\"}},"
             " {\"transfer\": {\"token\": \"%s\", \"amount\": \"all\", \"to_chain\": \"gamma\", \"recipient\": \"%s\"}}]}",
             addr, (unsigned long long)(E.now + 10000), FTA, VOUCHER, GVOUCHER, RECIPIENT);
    cJSON *j = cJSON_Parse(text), *res = NULL;
    assert_non_null(j);
    assert_int_equal(orch_prepare(E.o, j, E.now, &res, err), FERRY_OK);
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "intent"), "steps");
    for (int i = 0; i < 3; i++) {
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(steps, i), "transfer");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(tr, "timeout");
        out[i] = cJSON_IsNumber(t) ? (uint64_t)t->valuedouble : 0;
    }
    cJSON_Delete(res);
    cJSON_Delete(j);
}

/* What intent_plan gives with these block times (the rule of docs/intents.md, "Timeouts"). */
static uint64_t plan_rule(uint64_t budget, uint64_t exp_self, uint64_t exp_other)
{
    return budget * exp_self / (exp_self + exp_other);
}

static void observed_block_time(void **state)
{
    (void)state;
    /* Hints: alpha 1 s (1 confirmation), beta 2 s (2), gamma 12 s (0, the adapter's 1). */
    assert_int_equal(orch_block_time_ms(E.o, BETA), 2000);
    uint64_t t0[3];
    prepared_timeouts(t0);
    /* margin on gamma (the last step's chain): (0 + 1) x 12 + 30 = 42; expected alpha->beta
     * 1 x 1 + 2 + 30 = 33, beta->gamma 2 x 2 + 12 + 30 = 46 */
    assert_int_equal(t0[0], plan_rule(10000 - 42, 33000, 46000));
    assert_int_equal(t0[1], plan_rule(10000 - 42, 46000, 33000));
    assert_int_equal(t0[2], 0); /* a local payout */

    /* beta's heads say 6 s blocks, with the timestamp in whole seconds and several blocks a head */
    uint64_t n = 1000, ts = NOW;
    headn(CB, n, ts);
    for (int i = 0; i < ORCH_BT_MIN_SAMPLES - 1; i++) {
        n += 2, ts += 12;
        headn(CB, n, ts);
    }
    assert_int_equal(orch_block_time_ms(E.o, BETA), 2000); /* not enough samples: the hint */
    headn(CB, n, ts);          /* the same head again: no sample */
    headn(CB, n + 1, ts);      /* the same second: waits for the time to move */
    n += 2, ts += 12;
    headn(CB, n, ts);
    assert_int_equal(orch_block_time_ms(E.o, BETA), 6000);
    /* a stop (the chain or the daemon was down an hour and more) is not a block interval */
    headn(CB, n + 1, ts + 4000);
    n += 1, ts += 4000;
    assert_int_equal(orch_block_time_ms(E.o, BETA), 6000);
    /* nor is a jump of 8 times the average, once it is trusted */
    headn(CB, n + 1, ts + 60);
    n += 1, ts += 60;
    assert_int_equal(orch_block_time_ms(E.o, BETA), 6000);
    /* a head that goes back re-anchors without a sample */
    headn(CB, n - 5, ts - 30);
    n -= 5, ts -= 30;
    assert_int_equal(orch_block_time_ms(E.o, BETA), 6000);
    /* the average follows a change: 3 s blocks, an exponential moving average */
    double avg = 6000;
    for (int i = 0; i < 20; i++) {
        n += 1, ts += 3;
        headn(CB, n, ts);
        avg += ORCH_BT_ALPHA * (3000 - avg);
    }
    assert_int_equal(orch_block_time_ms(E.o, BETA), (uint32_t)(avg + 0.5));
    assert_true(orch_block_time_ms(E.o, BETA) < 3050); /* 0.8^20 of the 3 s change is left */
    /* sub-second blocks: four a second, reported one by one */
    n = 50, ts = NOW;
    headn(CA, n, ts);
    for (int i = 0; i < 40; i++)
        headn(CA, ++n, ts + (uint64_t)(i + 1) / 4);
    assert_int_equal(orch_block_time_ms(E.o, ALPHA), 250);

    /* the planner takes the observed figures: alpha 0.25 s, beta ~3 s, gamma the 12 s hint */
    uint64_t t1[3];
    prepared_timeouts(t1);
    uint64_t bt = orch_block_time_ms(E.o, BETA);
    uint64_t e0 = 1 * 250 + bt + 30000, e1 = 2 * bt + 12000 + 30000;
    assert_int_equal(t1[0], plan_rule(10000 - 42, e0, e1));
    assert_int_equal(t1[1], plan_rule(10000 - 42, e1, e0));
    assert_true(t1[0] < t0[0]); /* beta -> gamma now weighs more */
}

/* ---- chains that went away, and what moves a STUCK intent ---- */

/* A record names a submission on a chain that is not added after a restart: it goes STUCK with
 * the reason, and the count of submissions in flight stays right. */
static void submission_on_removed_chain(void **state)
{
    (void)state;
    uint8_t id[32], other[32];
    submit(80, NULL, id);
    run_to_hop0_in_flight(id);
    event(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    assert_int_equal(nsubs(CB, id, 'a', 1), 1); /* named in the record, in flight on beta */
    submit(81, NULL, other);                    /* its open is in flight on alpha */
    struct orch_stats st;
    orch_stats(E.o, &st);
    assert_int_equal(st.submissions, 2);

    E.skip_chain = BETA; /* beta is taken out of the config */
    restart(true);
    struct intent_record r;
    get(id, &r);
    assert_int_equal(r.state, INTENT_STUCK);
    assert_int_equal(r.stuck_from, INTENT_IN_PROGRESS);
    assert_non_null(strstr(r.reason, "chain beta is not configured: submission intent:"));
    assert_string_equal(r.hops[1].sub_id, "");
    intent_record_clear(&r);
    orch_stats(E.o, &st);
    assert_int_equal(st.submissions, 1); /* other's open only */
    assert_int_equal(st.intents[INTENT_STUCK], 1);
    struct jcollect c;
    journal_read(&c);
    assert_true(journal_has(&c, id, -1, "IN_PROGRESS", "STUCK"));
    journal_free(&c);
    /* other runs on; its open's report settles the count */
    outcome(CA, last_sub(CA), CHAIN_SUB_CONFIRMED);
    orch_stats(E.o, &st);
    assert_int_equal(st.submissions, 0);
    tick(1000);
    assert_int_equal(st_of(id), INTENT_STUCK);

    /* beta back: a retry asks beta where the intent stands and resumes */
    E.skip_chain = 0;
    restart(true);
    assert_int_equal(st_of(id), INTENT_STUCK);
    char err[ORCH_ERR_MAX];
    size_t before = nsubs(CB, id, 'a', 1);
    assert_int_equal(orch_retry(E.o, id, E.now, err), FERRY_OK);
    flush();
    assert_int_equal(st_of(id), INTENT_IN_PROGRESS);
    answer(CB, CHAIN_ISTATUS_HOLDING, 1, 0);
    assert_int_equal(nsubs(CB, id, 'a', 1), before + 1);
    orch_stats(E.o, &st);
    assert_int_equal(st.submissions, 1);
}

/* Runs id (3 steps) to STUCK on beta's advance of step 1 (retry_limit 3). */
static void stuck_on_step1(const uint8_t id[32])
{
    run_to_hop0_in_flight(id);
    event(CB, CHAIN_IEV_HOP_ARRIVED, id, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    for (int i = 0; i < 3; i++) {
        outcome(CB, last_sub(CB), CHAIN_SUB_REVERTED);
        answer(CB, CHAIN_ISTATUS_HOLDING, 1, 0);
        tick(100);
    }
    struct intent_record r;
    get(id, &r);
    assert_int_equal(r.state, INTENT_STUCK);
    assert_int_equal(r.stuck_from, INTENT_IN_PROGRESS);
    intent_record_clear(&r);
}

static void stuck_edges(void **state)
{
    (void)state;
    uint8_t a[32], b[32], c[32];
    submit(90, NULL, a);
    stuck_on_step1(a);
    /* backwards: a cancel seen on the origin cannot move an intent past step 0 */
    event(CA, CHAIN_IEV_CANCELLED, a, NULL);
    assert_int_equal(st_of(a), INTENT_STUCK);
    /* an on-chain fact is recorded: the route completed (another relayer ran it) */
    event(CG, CHAIN_IEV_COMPLETED, a, &(struct evo){.step = 2, .token = FTB, .amount = 500});
    assert_int_equal(st_of(a), INTENT_COMPLETED);

    /* a retry returns it to stuck_from; stuck again, IntentRefunded is recorded */
    submit(91, NULL, b);
    stuck_on_step1(b);
    char err[ORCH_ERR_MAX];
    assert_int_equal(orch_retry(E.o, b, E.now, err), FERRY_OK);
    flush();
    assert_int_equal(st_of(b), INTENT_IN_PROGRESS);
    for (int i = 0; i < 3; i++) {
        answer(CB, CHAIN_ISTATUS_HOLDING, 1, 0);
        outcome(CB, last_sub(CB), CHAIN_SUB_REVERTED);
        answer(CB, CHAIN_ISTATUS_HOLDING, 1, 0);
        tick(100);
    }
    assert_int_equal(st_of(b), INTENT_STUCK);
    event(CB, CHAIN_IEV_REFUNDED, b, &(struct evo){.token = VOUCHER, .amount = 990});
    assert_int_equal(st_of(b), INTENT_REFUNDED);

    /* stuck on the way to a refund: completion cannot be; the refund's payment is recorded */
    submit(92, NULL, c);
    run_to_hop0_in_flight(c);
    event(CB, CHAIN_IEV_HOP_ARRIVED, c, &(struct evo){.step = 1, .token = VOUCHER, .amount = 990});
    outcome(CB, last_sub(CB), CHAIN_SUB_CONFIRMED);
    event(CB, CHAIN_IEV_STEP_FAILED, c, &(struct evo){.step = 1, .fail = CHAIN_IFAIL_CALL_FAILED, .token = VOUCHER,
                                                       .amount = 990});
    assert_int_equal(st_of(c), INTENT_REFUNDING);
    for (int i = 0; i < 3 && st_of(c) != INTENT_STUCK; i++) {
        struct fsub *s = last_sub(CB);
        assert_int_equal(s->id[strlen(ORCH_SUB_PREFIX) + 65], 'r');
        outcome(CB, s, CHAIN_SUB_REVERTED);
        answer(CB, CHAIN_ISTATUS_REFUNDING, 1, 0);
        tick(100);
    }
    struct intent_record r;
    get(c, &r);
    assert_int_equal(r.state, INTENT_STUCK);
    assert_int_equal(r.stuck_from, INTENT_REFUNDING);
    intent_record_clear(&r);
    event(CG, CHAIN_IEV_COMPLETED, c, &(struct evo){.step = 2, .token = FTB, .amount = 500});
    assert_int_equal(st_of(c), INTENT_STUCK);
    get(c, &r);
    assert_int_equal(r.hops[2].state, HOP_WAITING); /* nothing half-applied */
    intent_record_clear(&r);
    event(CA, CHAIN_IEV_CANCELLED, c, NULL);
    assert_int_equal(st_of(c), INTENT_STUCK);
    /* a step seen running does not take it off the way to its refund (the table refuses
     * STUCK -> IN_PROGRESS when it was REFUNDING) */
    event(CB, CHAIN_IEV_STEP_EXECUTED, c, &(struct evo){.step = 2, .seq = 11, .token = FTB, .amount = 500});
    assert_int_equal(st_of(c), INTENT_STUCK);
    event(CB, CHAIN_IEV_REFUNDED, c, &(struct evo){.token = VOUCHER, .amount = 990});
    assert_int_equal(st_of(c), INTENT_REFUNDED);
    struct jcollect j;
    journal_read(&j);
    assert_true(journal_has(&j, c, -1, "STUCK", "REFUNDED"));
    assert_false(journal_has(&j, c, -1, "STUCK", "COMPLETED"));
    assert_true(journal_has(&j, a, -1, "STUCK", "IN_PROGRESS") || journal_has(&j, a, -1, "STUCK", "COMPLETED"));
    assert_false(journal_has(&j, a, -1, "STUCK", "CANCELLED"));
    journal_free(&j);
}

static void quiet(void *ud, const char *line, size_t len) { (void)ud, (void)line, (void)len; }

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    if (!getenv("ORCH_TEST_LOG"))
        log_set_sink(quiet, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(states_and_names, setup, teardown),
        cmocka_unit_test_setup_teardown(happy_path, setup, teardown),
        cmocka_unit_test_setup_teardown(hop_finished_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(submit_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(call_failure_refund_origin, setup, teardown),
        cmocka_unit_test_setup_teardown(call_failure_refund_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(hop_timeout_refund, setup, teardown),
        cmocka_unit_test_setup_teardown(recheck_finds_missed_arrival, setup, teardown),
        cmocka_unit_test_setup_teardown(deadline_refund, setup, teardown),
        cmocka_unit_test_setup_teardown(funds_follow_the_hops, setup, teardown),
        cmocka_unit_test_setup_teardown(deadline_by_chain_time, setup, teardown),
        cmocka_unit_test_setup_teardown(chains_intents_cannot_use, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_in_each_state, setup, teardown),
        cmocka_unit_test_setup_teardown(retry_from_stuck, setup, teardown),
        cmocka_unit_test_setup_teardown(restart_points, setup, teardown),
        cmocka_unit_test_setup_teardown(restart_crashes, setup, teardown),
        cmocka_unit_test_setup_teardown(kill9_after_persist, setup, teardown),
        cmocka_unit_test_setup_teardown(random_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(record_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(listing, setup, teardown),
        cmocka_unit_test_setup_teardown(kick_per_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(no_second_advance, setup, teardown),
        cmocka_unit_test_setup_teardown(observed_block_time, setup, teardown),
        cmocka_unit_test_setup_teardown(submission_on_removed_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(stuck_edges, setup, teardown),
    };
    return TU_RUN(tests);
}
