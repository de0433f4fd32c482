/* The EVM adapter's point queries (query_received, query_pending) as the node sees them: those
 * started in one loop turn for the same block go out as one JSON-RPC batch (one
 * eth_getBlockByNumber, one receivedBatch eth_call per source chain and 256 sequences, one
 * eth_call per pending query), each answer checked on its own.
 *
 * The chain is opened through the "evm" ops against a fake node (fakerpc.h, programmable mode)
 * that models a quiet chain at height HEAD (blocks with hashes and timestamps, no logs) and a
 * Gateway where (src, seq) was received when (seq + src - SRC) % 3 == 0 and whose
 * commitments(seq) is set for even seq; faults are switched on per test. The model records every request that carries
 * a point query, so the tests count HTTP requests and their calls exactly, whatever the
 * watcher and the transaction manager ask besides. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evm/evm.h"
#include "evm_rig.h"
#include "fakerpc.h"
#include "ferry/abi.h"
#include "ferry/chain.h"
#include "ferry/hex.h"
#include "ferry/loop.h"
#include "testutil.h"

#define HEAD 100u
#define TS_BASE 1700000000u
#define SRC 31338u
#define SRC2 31339u /* another source chain */
#define MAX_CALLS 8 /* receivedBatch calls recorded per request */
#define MAX_QREQ 16
#define MAX_Q 1100

static const char *SUB_KEY = "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
static const char *GATEWAY = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

/* ---- the model ---- */

struct qreq { /* one HTTP request that carried point queries */
    size_t calls, headers, eth_calls;
    size_t batches;             /* receivedBatch calls among eth_calls */
    size_t seqs[MAX_CALLS];     /* the sequences each asked */
    uint64_t src[MAX_CALLS];    /* and its source chain */
    bool single;          /* not a batch */
    bool all_at_head;     /* every eth_call and header asked at the confirmed head */
};

struct model {
    uint8_t sel_batch[4], sel_commitments[4];
    /* faults: the receivedBatch calls for this source chain (0: none) answer ... */
    uint64_t high_bit_src;  /* ... their word with a bit set past their sequences */
    uint64_t short_src;     /* ... 3 bytes */
    uint64_t two_words_src; /* ... two words */
    uint64_t revert_src;    /* ... a node error (execution reverted) */
    bool header_error;      /* the query batches' eth_getBlockByNumber is a node error */
    bool header_wrong;      /* ... answers another block */
    struct qreq qreq[MAX_QREQ];
    size_t nqreq;
    size_t block_numbers; /* single eth_blockNumber requests (the unknown-head path) */
};

static struct fake FK;
static struct model M;

static cJSON *word_result(uint64_t v)
{
    char w[67];
    snprintf(w, sizeof w, "0x%064" PRIx64, v);
    return cJSON_CreateString(w);
}

static cJSON *block_obj(uint64_t n)
{
    char num[19], ts[19], h[67], ph[67];
    hex_u64_quantity(num, n);
    hex_u64_quantity(ts, TS_BASE + n);
    snprintf(h, sizeof h, "0x%064" PRIx64, 0xb10c0000u + n);
    snprintf(ph, sizeof ph, "0x%064" PRIx64, 0xb10c0000u + n - 1);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "number", num);
    cJSON_AddStringToObject(o, "hash", h);
    cJSON_AddStringToObject(o, "parentHash", ph);
    cJSON_AddStringToObject(o, "timestamp", ts);
    return o;
}

static cJSON *node_error(int code, const char *msg)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    return e;
}

/* The u64 in 32-byte word k of calldata (after the selector); fails the test unless the word
 * is one. */
static uint64_t arg_u64(const uint8_t *cd, size_t k)
{
    uint64_t v = 0;
    for (int i = 0; i < 32; i++) {
        if (i < 24 && cd[4 + 32 * k + (size_t)i])
            fake_fail(&FK, "calldata word %zu is not a uint64", k);
        if (i >= 24)
            v = v << 8 | cd[4 + 32 * k + (size_t)i];
    }
    return v;
}

#define CD_MAX (4 + 96 + 32 * 300)

/* Whether call (an eth_call) is a point query; sets *at_head when it asks at HEAD. */
static bool is_query_call(const cJSON *params, uint8_t *cd, size_t *cdlen, bool *at_head)
{
    const cJSON *tx = cJSON_GetArrayItem(params, 0), *tag = cJSON_GetArrayItem(params, 1);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(tx, "data");
    if (!cJSON_IsString(data) ||
        hex_decode(cd, CD_MAX, cdlen, data->valuestring, strlen(data->valuestring), HEX_PREFIX_REQUIRED) || *cdlen < 4)
        return false;
    uint64_t b = 0;
    *at_head = cJSON_IsString(tag) && hex_quantity_u64(&b, tag->valuestring) == FERRY_OK && b == HEAD;
    return !memcmp(cd, M.sel_batch, 4) || !memcmp(cd, M.sel_commitments, 4);
}

/* receivedBatch(src, seqs) decoded strictly (the test fails on anything else); returns n. */
static size_t batch_args(const uint8_t *cd, size_t len, uint64_t *src, uint64_t *seqs)
{
    if (len < 100) {
        fake_fail(&FK, "receivedBatch calldata of %zu bytes", len);
        return 0;
    }
    *src = arg_u64(cd, 0);
    uint64_t off = arg_u64(cd, 1), n = arg_u64(cd, 2);
    if (off != 64 || n == 0 || n > 256 || len != 100 + 32 * n) {
        fake_fail(&FK, "receivedBatch calldata: offset %" PRIu64 ", %" PRIu64 " sequences in %zu bytes", off, n, len);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        seqs[i] = arg_u64(cd, 3 + i);
    return (size_t)n;
}

static bool received_at(uint64_t src, uint64_t seq) { return (seq + src - SRC) % 3 == 0; }

/* One call's reply object, or NULL when the model has no answer (the request then fails). */
static cJSON *answer_call(const cJSON *call, uint64_t id, bool query_batch)
{
    const char *m = cJSON_GetObjectItemCaseSensitive(call, "method")->valuestring;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(call, "params");
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "jsonrpc", "2.0");
    cJSON_AddNumberToObject(r, "id", (double)id);
    char num[19];
    if (!strcmp(m, "eth_blockNumber")) {
        hex_u64_quantity(num, HEAD);
        cJSON_AddStringToObject(r, "result", num);
    } else if (!strcmp(m, "eth_chainId")) {
        cJSON_AddStringToObject(r, "result", "0x7a69");
    } else if (!strcmp(m, "eth_getTransactionCount") || !strcmp(m, "eth_getBalance")) {
        cJSON_AddStringToObject(r, "result", "0x0");
    } else if (!strcmp(m, "eth_getLogs")) {
        cJSON_AddItemToObject(r, "result", cJSON_CreateArray());
    } else if (!strcmp(m, "eth_getBlockByNumber")) {
        const cJSON *tag = cJSON_GetArrayItem(p, 0);
        uint64_t n = HEAD;
        if (cJSON_IsString(tag) && strcmp(tag->valuestring, "latest") != 0 &&
            (hex_quantity_u64(&n, tag->valuestring) || n > HEAD)) {
            cJSON_AddNullToObject(r, "result");
            return r;
        }
        if (query_batch && M.header_error)
            cJSON_AddItemToObject(r, "error", node_error(-32000, "header not found"));
        else
            cJSON_AddItemToObject(r, "result", block_obj(query_batch && M.header_wrong ? n - 1 : n));
    } else if (!strcmp(m, "eth_call")) {
        static uint8_t cd[CD_MAX]; /* the fake's one thread */
        size_t len;
        bool at_head;
        if (!is_query_call(p, cd, &len, &at_head)) { /* receiveGasLimit() */
            cJSON_AddItemToObject(r, "result", word_result(1000000));
        } else if (!memcmp(cd, M.sel_commitments, 4)) {
            uint64_t seq = arg_u64(cd, 0);
            cJSON_AddItemToObject(r, "result", word_result(seq % 2 ? 0 : 0xc0ffee00u + seq));
        } else {
            uint64_t src = 0, seqs[256];
            size_t n = batch_args(cd, len, &src, seqs);
            uint8_t w[32] = {0};
            for (size_t i = 0; i < n; i++)
                if (received_at(src, seqs[i]))
                    w[31 - i / 8] |= (uint8_t)(1u << (i % 8));
            if (src == M.high_bit_src)
                w[31 - n / 8] |= (uint8_t)(1u << (n % 8)); /* n < 256 in these tests */
            char hex[2 * 64 + 3], two[2 * 64 * 2 + 3];
            (void)hex_encode(hex, w, 32, true);
            snprintf(two, sizeof two, "%s%s", hex, hex + 2); /* the word, then the same again */
            if (src == M.short_src)
                cJSON_AddStringToObject(r, "result", "0x000001");
            else if (src == M.two_words_src)
                cJSON_AddStringToObject(r, "result", two);
            else if (src == M.revert_src)
                cJSON_AddItemToObject(r, "error", node_error(3, "execution reverted"));
            else
                cJSON_AddStringToObject(r, "result", hex);
        }
    } else {
        cJSON_AddItemToObject(r, "error", node_error(-32601, "the method does not exist"));
    }
    return r;
}

static cJSON *model(void *ud, struct fake *f, const cJSON *req, const uint64_t *ids, size_t nids)
{
    (void)ud;
    (void)f;
    bool batch = cJSON_IsArray(req);
    size_t n = batch ? (size_t)cJSON_GetArraySize(req) : 1;
    /* does it carry point queries? */
    struct qreq q = {.calls = n, .single = !batch, .all_at_head = true};
    for (size_t i = 0; i < n; i++) {
        const cJSON *call = batch ? cJSON_GetArrayItem(req, (int)i) : req;
        const char *m = cJSON_GetObjectItemCaseSensitive(call, "method")->valuestring;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(call, "params");
        static uint8_t cd[CD_MAX];
        size_t len;
        bool at_head;
        if (!strcmp(m, "eth_call") && is_query_call(p, cd, &len, &at_head)) {
            q.eth_calls++;
            q.all_at_head &= at_head;
            if (!memcmp(cd, M.sel_batch, 4) && q.batches < MAX_CALLS) {
                uint64_t seqs[256];
                q.seqs[q.batches] = batch_args(cd, len, &q.src[q.batches], seqs);
                q.batches++;
            }
        } else if (!strcmp(m, "eth_getBlockByNumber")) {
            uint64_t b = 0;
            const cJSON *tag = cJSON_GetArrayItem(p, 0);
            q.headers++;
            q.all_at_head &= cJSON_IsString(tag) && hex_quantity_u64(&b, tag->valuestring) == FERRY_OK && b == HEAD;
        }
        if (!batch && !strcmp(m, "eth_blockNumber"))
            M.block_numbers++;
    }
    bool query_batch = q.eth_calls > 0;
    if (query_batch && M.nqreq < MAX_QREQ)
        M.qreq[M.nqreq++] = q;
    cJSON *reply;
    if (batch) {
        reply = cJSON_CreateArray();
        for (size_t i = 0; i < n && i < nids; i++)
            cJSON_AddItemToArray(reply, answer_call(cJSON_GetArrayItem(req, (int)i), ids[i], query_batch));
    } else {
        reply = answer_call(req, ids[0], false);
    }
    cJSON *ex = cJSON_CreateObject();
    cJSON_AddItemToObject(ex, "reply", reply);
    return ex;
}

static void model_reset(void)
{
    pthread_mutex_lock(&FK.mu);
    uint8_t r[4], c[4];
    memcpy(r, M.sel_batch, 4);
    memcpy(c, M.sel_commitments, 4);
    memset(&M, 0, sizeof M);
    memcpy(M.sel_batch, r, 4);
    memcpy(M.sel_commitments, c, 4);
    pthread_mutex_unlock(&FK.mu);
}

/* A copy of what the model recorded (taken under its lock). */
static struct model model_seen(void)
{
    pthread_mutex_lock(&FK.mu);
    struct model m = M;
    pthread_mutex_unlock(&FK.mu);
    return m;
}

/* ---- the fixture ---- */

static struct evm_rig R;

static void env_events(void *engine, struct chain *c, const struct chain_event *ev, size_t n, uint64_t token)
{
    (void)engine;
    (void)ev;
    (void)n;
    R.ops->events_done(c, token);
}

static void env_submission(void *engine, struct chain *c, const struct chain_submission *s)
{
    (void)engine;
    (void)c;
    (void)s;
}

static int group_setup(void **state)
{
    (void)state;
    memset(&R, 0, sizeof R);
    fake_start(&FK);
    assert_int_equal(abi_selector(M.sel_batch, "receivedBatch(uint64,uint64[])"), FERRY_OK);
    assert_int_equal(abi_selector(M.sel_commitments, "commitments(uint64)"), FERRY_OK);
    FK.fn = model;
    evm_rig_open(&R, "evmq");
    evm_rig_add_key(&R, "sub", SUB_KEY);
    R.ops = chain_family("evm");
    assert_non_null(R.ops);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    evm_rig_close(&R);
    fake_stop(&FK);
    fake_check(&FK, "the model node");
    return 0;
}

static bool head_known(void) { return R.ops->head(R.c).confirmed == HEAD; }

/* Opens the chain against the model; started: the watcher knows the head before the test asks. */
static void open_chain(bool start)
{
    model_reset();
    char text[768];
    snprintf(text, sizeof text,
             "{\"name\":\"qchain\",\"kind\":\"evm\",\"chain_id\":31337,\"rpc\":[\"%s\"],\"gateway\":\"%s\","
             "\"confirmations\":1,\"poll_interval\":\"100ms\",\"max_fee_per_gas\":\"100 gwei\","
             "\"submitter\":\"sub\"}",
             FK.url, GATEWAY);
    cJSON *cfg = cJSON_Parse(text);
    assert_non_null(cfg);
    struct chain_env env = {.loop = R.loop,
                            .store = R.st,
                            .signer = R.sg,
                            .engine = &R,
                            .on_events = env_events,
                            .on_deep_reorg = evm_rig_no_reorg,
                            .on_submission = env_submission};
    assert_int_equal(R.ops->open(&R.c, cfg, &env), FERRY_OK);
    cJSON_Delete(cfg);
    if (start) {
        assert_int_equal(R.ops->start(R.c), FERRY_OK);
        evm_rig_run_until(&R, head_known, 10000, "the watcher's head");
    }
    /* let the open's probe and the first polls end, then count from zero */
    for (int i = 0; i < 10; i++)
        assert_int_equal(loop_run_once(R.loop, 10), FERRY_OK);
    model_reset();
}

static int test_teardown(void **state)
{
    (void)state;
    if (R.c)
        R.ops->close(R.c);
    R.c = NULL;
    return 0;
}

/* ---- answers ---- */

struct ans {
    int calls; /* callbacks (must end at 1) */
    enum ferry_err err;
    char msg[256];
    bool yes;
    uint64_t block, ts;
};

static struct ans A[MAX_Q];
static size_t order[MAX_Q], norder; /* the order callbacks ran in */
static int answers;
static int want;
static bool close_at = false; /* close the chain from the callback of query close_idx */
static size_t close_idx;

static void note(size_t i, enum ferry_err err, bool yes, uint64_t block, uint64_t ts)
{
    A[i].calls++;
    A[i].err = err;
    if (err)
        snprintf(A[i].msg, sizeof A[i].msg, "%s", ferry_errmsg());
    A[i].yes = yes;
    A[i].block = block;
    A[i].ts = ts;
    if (norder < MAX_Q)
        order[norder++] = i;
    answers++;
    if (close_at && i == close_idx) {
        R.ops->close(R.c);
        R.c = NULL;
    }
}

static void on_received(void *ud, enum ferry_err err, const struct chain_received_result *r)
{
    note((size_t)(uintptr_t)ud, err, r ? r->received : false, r ? r->block_number : 0, r ? r->block_timestamp : 0);
}

static void on_pending(void *ud, enum ferry_err err, const struct chain_pending_result *r)
{
    note((size_t)(uintptr_t)ud, err, r ? r->pending : false, r ? r->block_number : 0, r ? r->block_timestamp : 0);
}

static void answers_reset(void)
{
    memset(A, 0, sizeof A);
    norder = 0;
    answers = 0;
    want = 0;
    close_at = false;
}

static bool all_answered(void) { return answers >= want; }

/* query_received(src, seq) for seq = first .. first + n - 1, answers in A[seq]; all in this turn. */
static void ask_received_from(uint64_t src, uint64_t first, size_t n)
{
    int before = answers;
    for (size_t k = 0; k < n; k++) {
        uint64_t seq = first + k;
        assert_int_equal(R.ops->query_received(R.c, src, seq, on_received, (void *)(uintptr_t)seq), FERRY_OK);
    }
    want += (int)n;
    assert_int_equal(answers, before); /* never from inside the call */
}

static void ask_received(uint64_t first, size_t n) { ask_received_from(SRC, first, n); }

static void ask_pending(uint64_t seq)
{
    assert_int_equal(R.ops->query_pending(R.c, seq, on_pending, (void *)(uintptr_t)seq), FERRY_OK);
    want++;
}

/* A[seq] is the model's answer for (src, seq) at HEAD. */
static void assert_received_ok_from(uint64_t src, uint64_t seq)
{
    if (A[seq].calls != 1)
        fail_msg("seq %" PRIu64 ": %d callbacks", seq, A[seq].calls);
    if (A[seq].err)
        fail_msg("seq %" PRIu64 ": %s", seq, A[seq].msg);
    if (A[seq].yes != received_at(src, seq))
        fail_msg("(%" PRIu64 ", %" PRIu64 "): received %d", src, seq, A[seq].yes);
    assert_int_equal(A[seq].block, HEAD);
    assert_int_equal(A[seq].ts, TS_BASE + HEAD);
}

static void assert_received_ok(uint64_t seq) { assert_received_ok_from(SRC, seq); }

static void assert_pending_ok(uint64_t seq)
{
    assert_int_equal(A[seq].calls, 1);
    if (A[seq].err)
        fail_msg("pending %" PRIu64 ": %s", seq, A[seq].msg);
    assert_int_equal(A[seq].yes, seq % 2 == 0);
    assert_int_equal(A[seq].block, HEAD);
}

static void assert_failed(uint64_t i, const char *needle)
{
    if (A[i].calls != 1)
        fail_msg("query %" PRIu64 ": %d callbacks", i, A[i].calls);
    assert_int_equal(A[i].err, FERRY_EIO);
    if (!strstr(A[i].msg, needle))
        fail_msg("query %" PRIu64 ": \"%s\" does not say \"%s\"", i, A[i].msg, needle);
    assert_non_null(strstr(A[i].msg, "chain qchain"));
}

/* ---- tests ---- */

static void forty_in_one_request(void **state)
{
    (void)state;
    open_chain(true);
    answers_reset();
    ask_received(1, 40);
    evm_rig_run_until(&R, all_answered, 10000, "40 answers");
    struct model m = model_seen();
    assert_int_equal(m.nqreq, 1);
    assert_int_equal(m.qreq[0].calls, 2); /* the header and one receivedBatch */
    assert_int_equal(m.qreq[0].headers, 1);
    assert_int_equal(m.qreq[0].eth_calls, 1);
    assert_int_equal(m.qreq[0].batches, 1);
    assert_int_equal(m.qreq[0].seqs[0], 40);
    assert_int_equal(m.qreq[0].src[0], SRC);
    assert_true(m.qreq[0].all_at_head);
    int yes = 0;
    for (uint64_t seq = 1; seq <= 40; seq++) {
        assert_received_ok(seq);
        yes += A[seq].yes;
    }
    assert_int_equal(yes, 13); /* 3, 6, ..., 39: some true, the rest false */
    for (size_t k = 0; k < norder; k++)
        assert_int_equal(order[k], k + 1); /* in the order they were asked */
    /* once each: nothing more comes */
    for (int i = 0; i < 5; i++)
        assert_int_equal(loop_run_once(R.loop, 10), FERRY_OK);
    assert_int_equal(answers, 40);
}

static void two_sources_two_batches(void **state)
{
    (void)state;
    open_chain(true);
    answers_reset();
    for (uint64_t seq = 1; seq <= 40; seq += 2) { /* interleaved: odd from SRC, even from SRC2 */
        ask_received_from(SRC, seq, 1);
        ask_received_from(SRC2, seq + 1, 1);
    }
    evm_rig_run_until(&R, all_answered, 10000, "40 answers");
    struct model m = model_seen();
    assert_int_equal(m.nqreq, 1);
    assert_int_equal(m.qreq[0].calls, 3);
    assert_int_equal(m.qreq[0].batches, 2);
    assert_int_equal(m.qreq[0].src[0], SRC);
    assert_int_equal(m.qreq[0].seqs[0], 20);
    assert_int_equal(m.qreq[0].src[1], SRC2);
    assert_int_equal(m.qreq[0].seqs[1], 20);
    for (uint64_t seq = 1; seq <= 40; seq++)
        assert_received_ok_from(seq % 2 ? SRC : SRC2, seq);
    for (size_t k = 0; k < norder; k++)
        assert_int_equal(order[k], k + 1); /* still in the order they were asked */
}

static void split_at_256(void **state)
{
    (void)state;
    open_chain(true);
    answers_reset();
    ask_received(1, 256);
    evm_rig_run_until(&R, all_answered, 10000, "256 answers");
    ask_received(301, 257);
    evm_rig_run_until(&R, all_answered, 10000, "257 more answers");
    struct model m = model_seen();
    assert_int_equal(m.nqreq, 2);
    assert_int_equal(m.qreq[0].calls, 2);
    assert_int_equal(m.qreq[0].seqs[0], 256);
    assert_int_equal(m.qreq[1].calls, 3);
    assert_int_equal(m.qreq[1].seqs[0], 256);
    assert_int_equal(m.qreq[1].seqs[1], 1);
    for (uint64_t seq = 1; seq <= 256; seq++)
        assert_received_ok(seq);
    for (uint64_t seq = 301; seq <= 557; seq++)
        assert_received_ok(seq);
}

static void kinds_mixed_in_one_request(void **state)
{
    (void)state;
    open_chain(true);
    answers_reset();
    ask_received(1, 2);
    ask_pending(4);
    ask_pending(5);
    ask_received(3, 1);
    ask_pending(6);
    evm_rig_run_until(&R, all_answered, 10000, "6 answers");
    struct model m = model_seen();
    assert_int_equal(m.nqreq, 1);
    assert_int_equal(m.qreq[0].calls, 5); /* the header, one receivedBatch, three commitments */
    assert_int_equal(m.qreq[0].headers, 1);
    assert_int_equal(m.qreq[0].batches, 1);
    assert_int_equal(m.qreq[0].seqs[0], 3);
    for (uint64_t seq = 1; seq <= 3; seq++)
        assert_received_ok(seq);
    for (uint64_t seq = 4; seq <= 6; seq++)
        assert_pending_ok(seq);
    static const size_t asked[] = {1, 2, 4, 5, 3, 6};
    assert_int_equal(norder, 6);
    for (size_t k = 0; k < norder; k++)
        assert_int_equal(order[k], asked[k]);
    /* a query started in a later turn goes in a batch of its own */
    ask_received(7, 1);
    evm_rig_run_until(&R, all_answered, 10000, "the 7th answer");
    assert_received_ok(7);
    m = model_seen();
    assert_int_equal(m.nqreq, 2);
    assert_int_equal(m.qreq[1].calls, 2);
}

/* A malformed receivedBatch reply fails the queries of that call, and only them. */
static void bad_batch_fails_its_queries(void **state)
{
    (void)state;
    open_chain(true);
    static const struct {
        uint64_t *fault;
        const char *says;
    } cases[] = {
        {&M.high_bit_src, "receivedBatch returned bit 10 for 10 sequences"},
        {&M.short_src, "not one 32-byte word"},
        {&M.two_words_src, "not one 32-byte word"},
        {&M.revert_src, "receivedBatch(31339, 10 sequences): EXECUTION_REVERTED"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        answers_reset();
        pthread_mutex_lock(&FK.mu);
        *cases[k].fault = SRC2;
        pthread_mutex_unlock(&FK.mu);
        ask_received_from(SRC, 1, 10);
        ask_received_from(SRC2, 11, 10);
        ask_pending(30);
        evm_rig_run_until(&R, all_answered, 10000, "21 answers");
        for (uint64_t seq = 1; seq <= 10; seq++)
            assert_received_ok(seq);
        for (uint64_t seq = 11; seq <= 20; seq++) {
            assert_failed(seq, cases[k].says);
            if (k < 3)
                assert_non_null(strstr(A[seq].msg, "malformed answer to receivedBatch(31339, 10 sequences) at block 100"));
        }
        assert_pending_ok(30);
        pthread_mutex_lock(&FK.mu);
        *cases[k].fault = 0;
        pthread_mutex_unlock(&FK.mu);
    }
    struct model m = model_seen();
    assert_int_equal(m.nqreq, 4);
    for (size_t k = 0; k < 4; k++)
        assert_int_equal(m.qreq[k].calls, 4);
}

static void header_fails_all(void **state)
{
    (void)state;
    open_chain(true);
    for (int wrong = 0; wrong < 2; wrong++) {
        answers_reset();
        pthread_mutex_lock(&FK.mu);
        M.header_error = !wrong;
        M.header_wrong = wrong;
        pthread_mutex_unlock(&FK.mu);
        ask_received(1, 10);
        ask_pending(12);
        evm_rig_run_until(&R, all_answered, 10000, "11 answers");
        for (uint64_t seq = 1; seq <= 10; seq++)
            assert_failed(seq, wrong ? "malformed answer to receivedBatch(31338, 10 sequences) at block 100: "
                                       "malformed block header"
                                     : "header not found");
        assert_failed(12, wrong ? "malformed answer to commitments" : "header not found");
    }
    struct model m = model_seen();
    assert_int_equal(m.nqreq, 2);
    assert_int_equal(m.qreq[0].calls, 3);
    assert_int_equal(m.qreq[1].calls, 3);
}

static void above_the_batch_limit_split(void **state)
{
    (void)state;
    open_chain(true);
    answers_reset();
    ask_received(1, 1001); /* a group holds at most 999 queries (the client's 1000 calls, less the header) */
    evm_rig_run_until(&R, all_answered, 30000, "1001 answers");
    struct model m = model_seen();
    assert_int_equal(m.nqreq, 2);
    assert_int_equal(m.qreq[0].headers, 1);
    assert_int_equal(m.qreq[1].headers, 1);
    size_t seqs = 0;
    for (size_t k = 0; k < 2; k++)
        for (size_t b = 0; b < m.qreq[k].batches; b++) {
            assert_true(m.qreq[k].seqs[b] <= 256);
            seqs += m.qreq[k].seqs[b];
        }
    assert_int_equal(seqs, 1001);
    assert_int_equal(m.qreq[0].calls + m.qreq[1].calls, 2 + 4 + 1); /* 999 = 3 x 256 + 231, then 2 */
    for (uint64_t seq = 1; seq <= 1001; seq++)
        assert_received_ok(seq);
}

static void unknown_head_grouped(void **state)
{
    (void)state;
    open_chain(false); /* not started: the watcher knows no head */
    answers_reset();
    ask_received(1, 5);
    evm_rig_run_until(&R, all_answered, 10000, "5 answers");
    struct model m = model_seen();
    assert_int_equal(m.block_numbers, 1); /* one eth_blockNumber for the group */
    assert_int_equal(m.nqreq, 1);
    assert_int_equal(m.qreq[0].calls, 2);
    assert_true(m.qreq[0].all_at_head); /* confirmations 1: the confirmed head is the head */
    for (uint64_t seq = 1; seq <= 5; seq++)
        assert_received_ok(seq);
}

static void close_before_flush(void **state)
{
    (void)state;
    open_chain(true);
    answers_reset();
    ask_received(1, 30);
    R.ops->close(R.c); /* the group has not gone out: no callback, nothing leaks (make asan) */
    R.c = NULL;
    for (int i = 0; i < 10; i++)
        assert_int_equal(loop_run_once(R.loop, 10), FERRY_OK);
    assert_int_equal(answers, 0);
    assert_int_equal(model_seen().nqreq, 0);

    /* sent but not answered: the same */
    open_chain(true);
    ask_received(1, 30);
    assert_int_equal(loop_run_once(R.loop, 0), FERRY_OK); /* the end of this turn sends the batch */
    R.ops->close(R.c);
    R.c = NULL;
    for (int i = 0; i < 10; i++)
        assert_int_equal(loop_run_once(R.loop, 10), FERRY_OK);
    assert_int_equal(answers, 0);
}

static void close_from_a_callback(void **state)
{
    (void)state;
    open_chain(true);
    answers_reset();
    close_at = true;
    close_idx = 4;
    ask_received(1, 10);
    want = 4;
    evm_rig_run_until(&R, all_answered, 10000, "the first 4 answers");
    for (int i = 0; i < 10; i++)
        assert_int_equal(loop_run_once(R.loop, 10), FERRY_OK);
    assert_null(R.c);
    assert_int_equal(answers, 4); /* the rest end without callbacks, and nothing is touched after */
    for (uint64_t seq = 1; seq <= 4; seq++)
        assert_received_ok(seq);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(forty_in_one_request, test_teardown),
        cmocka_unit_test_teardown(two_sources_two_batches, test_teardown),
        cmocka_unit_test_teardown(split_at_256, test_teardown),
        cmocka_unit_test_teardown(kinds_mixed_in_one_request, test_teardown),
        cmocka_unit_test_teardown(bad_batch_fails_its_queries, test_teardown),
        cmocka_unit_test_teardown(header_fails_all, test_teardown),
        cmocka_unit_test_teardown(above_the_batch_limit_split, test_teardown),
        cmocka_unit_test_teardown(unknown_head_grouped, test_teardown),
        cmocka_unit_test_teardown(close_before_flush, test_teardown),
        cmocka_unit_test_teardown(close_from_a_callback, test_teardown),
    };
    return cmocka_run_group_tests_name(__FILE__, tests, group_setup, group_teardown);
}
