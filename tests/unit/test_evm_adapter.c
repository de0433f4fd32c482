/* The EVM chain adapter (chains/evm/evm.c, attest.c) through the engine's interface
 * (ferry/chain.h), against a private anvil with the real Gateway deployed (2-of-3 attesters,
 * anvil's dev keys 1-3); the submitter is dev key 4. Skipped when anvil or
 * build/contracts/Gateway.json is missing (scripts/contracts.sh build). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anvil_deploy.h"
#include "anvil_run.h"
#include "evm_rig.h"
#include "evm/evm.h"
#include "ferry/abi.h"
#include "ferry/chain.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"
#include "ferry/loop.h"
#include "ferry/metrics.h"
#include "ferry/signer.h"
#include "ferry/store.h"
#include "testutil.h"

static const char *ATT_KEYS[3] = {
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", /* 0x7099... */
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a", /* 0x3C44... */
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6", /* 0x90F7... */
};
static const char *SUB_KEY = "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
static const char *SUB_ADDR = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
#define SRC_CHAIN 31338u
#define OUR_CHAIN 31337u

/* ---- blocking JSON-RPC for the test's own set-up ---- */

static uint64_t account_nonce(const char *url, const char *addr)
{
    char p[128];
    snprintf(p, sizeof p, "[\"%s\",\"latest\"]", addr);
    cJSON *r = tu_anvil_call(url, "eth_getTransactionCount", p);
    uint64_t n = 0;
    assert_int_equal(hex_quantity_u64(&n, r->valuestring), FERRY_OK);
    cJSON_Delete(r);
    return n;
}

/* ---- the fixture: one anvil, one Gateway, one chain opened through the ops ---- */

struct fx {
    struct evm_rig r;
    char gateway[43];
    uint64_t deployed;
    struct metrics *m;
    /* what came back through the env */
    struct chain_event got[64];
    size_t ngot;
    size_t received; /* PACKET_RECEIVED events */
    size_t heads;
    /* query answers */
    int answers;
    enum ferry_err q_err;
    bool q_yes;
    uint64_t q_block, q_ts;
};

static struct fx F;

static void env_events(void *engine, struct chain *c, const struct chain_event *ev, size_t n, uint64_t token)
{
    struct fx *f = engine;
    for (size_t i = 0; i < n; i++) {
        if (f->ngot < 64) {
            f->got[f->ngot] = ev[i];
            f->got[f->ngot].packet.payload = NULL; /* borrowed: not kept */
            f->got[f->ngot].ack.result = NULL;
            f->ngot++;
        }
        if (ev[i].kind == CHAIN_EV_PACKET_RECEIVED)
            f->received++;
    }
    f->r.ops->events_done(c, token);
}

static void env_submission(void *engine, struct chain *c, const struct chain_submission *s)
{
    (void)c;
    evm_rig_record_submission(&((struct fx *)engine)->r, s);
}

static void env_head(void *engine, struct chain *c, const struct chain_head *h)
{
    (void)c;
    (void)h;
    ((struct fx *)engine)->heads++;
}

static cJSON *chain_config(const char *gateway, const char *url)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"name\":\"alpha\",\"kind\":\"evm\",\"chain_id\":%u,\"rpc\":[\"%s\"],\"gateway\":\"%s\","
             "\"confirmations\":1,\"poll_interval\":\"100ms\",\"max_fee_per_gas\":\"100 gwei\","
             "\"submitter\":\"sub\"}",
             OUR_CHAIN, url, gateway);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    return j;
}

static void deploy(void)
{
    /* the attester set, ascending: dev keys 2, 1, 3 */
    const char *cargs[] = {ANVIL_DEV0,
                           "[0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC,0x70997970C51812dc3A010C7d01b50e0d17dc79C8,"
                           "0x90F79bf6EB2c4f870365E785982E1f101E93b906]",
                           "2"};
    anvil_deploy(F.r.anvil.url, "Gateway", "(address,address[],uint8)", cargs, 3, F.gateway, &F.deployed);
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    if (!evm_rig_start(&F.r, (const char *const[]){"Gateway", NULL}))
        return 0;
    deploy();
    evm_rig_open(&F.r, "adapter");
    evm_rig_add_key(&F.r, "sub", SUB_KEY);
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "att%d", i + 1);
        evm_rig_add_key(&F.r, name, ATT_KEYS[i]);
    }
    assert_int_equal(metrics_new(&F.m), FERRY_OK);
    struct chain_env env = {.loop = F.r.loop,
                            .store = F.r.st,
                            .signer = F.r.sg,
                            .metrics = F.m,
                            .engine = &F,
                            .on_events = env_events,
                            .on_deep_reorg = evm_rig_no_reorg,
                            .on_submission = env_submission,
                            .on_head = env_head};
    evm_rig_open_chain(&F.r, chain_config(F.gateway, F.r.anvil.url), &env);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    evm_rig_close(&F.r);
    metrics_free(F.m);
    return 0;
}

#define NEED_ANVIL() EVM_RIG_NEED_ANVIL(&F.r)

/* A packet from chain SRC_CHAIN to us. */
static void make_packet(struct packet *p, uint64_t seq, const char *payload)
{
    memset(p, 0, sizeof *p);
    p->src_chain = SRC_CHAIN;
    p->dst_chain = OUR_CHAIN;
    p->sequence = seq;
    memset(p->sender + 12, 0xab, 20);
    memset(p->receiver + 12, 0xcd, 20); /* not a contract: a failed ack, still a delivery */
    p->timeout_ts = 4000000000u;
    p->payload = (uint8_t *)payload;
    p->payload_len = strlen(payload);
}

static void packet_text(char *out, size_t n, const struct packet *p)
{
    char snd[67], rcv[67], pl[256];
    hex_encode(snd, p->sender, 32, true);
    hex_encode(rcv, p->receiver, 32, true);
    hex_encode(pl, p->payload, p->payload_len, true);
    snprintf(out, n, "(%llu,%llu,%llu,%s,%s,%llu,%s)", (unsigned long long)p->src_chain,
             (unsigned long long)p->dst_chain, (unsigned long long)p->sequence, snd, rcv,
             (unsigned long long)p->timeout_ts, pl);
}

/* ---- tests ---- */

static void family_registered(void **state)
{
    (void)state;
    const struct chain_ops *ops = chain_family("evm");
    assert_non_null(ops);
    assert_ptr_equal(ops, &evm_chain_ops);
    assert_int_equal(chain_ops_check(ops), FERRY_OK);
}

static int nproblems;
static char first_problem[256];
static void problem(void *ud, const char *path, const char *msg)
{
    (void)ud;
    if (!nproblems++)
        snprintf(first_problem, sizeof first_problem, "%s: %s", path, msg);
}

static void check_config_reports(void **state)
{
    (void)state;
    cJSON *good = chain_config("0x5FbDB2315678afecb367f032d93F642f64180aa3", "http://127.0.0.1:1/");
    nproblems = 0;
    int n = evm_chain_ops.check_config(good, problem, NULL);
    if (n)
        fail_msg("%d problems in a good config: %s", n, first_problem);
    cJSON_DeleteItemFromObjectCaseSensitive(good, "gateway");
    cJSON_ReplaceItemInObjectCaseSensitive(good, "rpc", cJSON_CreateString("ftp://x"));
    nproblems = 0;
    n = evm_chain_ops.check_config(good, problem, NULL);
    assert_int_equal(n, nproblems);
    assert_true(nproblems >= 2); /* every problem, not the first only */
    assert_true(first_problem[0]);
    /* open refuses it too, naming the problem, and nothing is left behind */
    struct chain *c = (struct chain *)1;
    struct chain_env env = {.loop = (struct loop *)1, .store = (struct store *)1, .signer = (struct signer *)1,
                            .on_events = env_events};
    assert_int_equal(evm_chain_ops.open(&c, good, &env), FERRY_EINVAL);
    assert_null(c);
    assert_non_null(strstr(ferry_errmsg(), "bad chain config"));
    cJSON_Delete(good);
}

static void digests_match_gateway(void **state)
{
    (void)state;
    NEED_ANVIL();
    struct packet p;
    make_packet(&p, 7, "digest check");
    char pt[1024];
    packet_text(pt, sizeof pt, &p);
    uint8_t id[32], onchain[32], ours[32];
    F.r.ops->packet_id(&p, id);
    anvil_view(F.r.anvil.url, F.gateway, "packetId((uint64,uint64,uint64,bytes32,bytes32,uint64,bytes))",
               (const char *[]){pt}, 1, onchain, 32);
    assert_memory_equal(id, onchain, 32);
    char idhex[67];
    hex_encode(idhex, id, 32, true);

    assert_int_equal(F.r.ops->attest_digest(F.r.c, CHAIN_ATTEST_DELIVERY, &p, NULL, 0, ours), FERRY_OK);
    anvil_view(F.r.anvil.url, F.gateway, "deliveryDigest(bytes32)", (const char *[]){idhex}, 1, onchain, 32);
    assert_memory_equal(ours, onchain, 32);

    for (int ok = 0; ok < 2; ok++) {
        uint8_t res[3] = {1, 2, 3};
        struct packet_ack ack = {.success = ok, .result = res, .result_len = ok ? 3 : 0};
        assert_int_equal(F.r.ops->attest_digest(F.r.c, CHAIN_ATTEST_ACK, &p, &ack, 0, ours), FERRY_OK);
        anvil_view(F.r.anvil.url, F.gateway, "acknowledgementDigest(bytes32,bool,bytes)",
                   (const char *[]){idhex, ok ? "true" : "false", ok ? "0x010203" : "0x"}, 3, onchain, 32);
        assert_memory_equal(ours, onchain, 32);
    }
    assert_int_equal(F.r.ops->attest_digest(F.r.c, CHAIN_ATTEST_TIMEOUT, &p, NULL, 1700000123, ours), FERRY_OK);
    anvil_view(F.r.anvil.url, F.gateway, "timeoutDigest(bytes32,uint64)", (const char *[]){idhex, "1700000123"}, 2,
               onchain, 32);
    assert_memory_equal(ours, onchain, 32);
    /* an ack digest needs the ack */
    assert_int_equal(F.r.ops->attest_digest(F.r.c, CHAIN_ATTEST_ACK, &p, NULL, 0, ours), FERRY_EINVAL);
}

/* Signatures of attesters `a` then `b` (already in ascending address order) over d. */
static void sign2(uint8_t sigs[2][CHAIN_SIG_LEN], const char *a, const char *b, const uint8_t d[32])
{
    assert_int_equal(signer_sign_digest(F.r.sg, a, d, sigs[0]), FERRY_OK);
    assert_int_equal(signer_sign_digest(F.r.sg, b, d, sigs[1]), FERRY_OK);
}


static const struct chain_submission *last_sub(const char *id)
{
    for (size_t i = F.r.nsubs; i-- > 0;)
        if (!strcmp(F.r.subs[i].id, id))
            return &F.r.subs[i];
    return NULL;
}

static bool deliver_confirmed(void)
{
    const struct chain_submission *s = last_sub("deliver-1");
    return s && s->state == CHAIN_SUB_CONFIRMED && F.received >= 1;
}

static void on_received(void *ud, enum ferry_err err, const struct chain_received_result *r)
{
    (void)ud;
    F.answers++;
    F.q_err = err;
    if (!err) {
        F.q_yes = r->received;
        F.q_block = r->block_number;
        F.q_ts = r->block_timestamp;
    }
}

static void on_pending(void *ud, enum ferry_err err, const struct chain_pending_result *r)
{
    (void)ud;
    F.answers++;
    F.q_err = err;
    if (!err) {
        F.q_yes = r->pending;
        F.q_block = r->block_number;
        F.q_ts = r->block_timestamp;
    }
}

static int want_answers;
static bool answered(void) { return F.answers >= want_answers; }

static void ask_received(uint64_t src, uint64_t seq)
{
    want_answers = F.answers + 1;
    assert_int_equal(F.r.ops->query_received(F.r.c, src, seq, on_received, NULL), FERRY_OK);
    assert_int_equal(F.answers, want_answers - 1); /* never from inside the call */
    evm_rig_run_until(&F.r, answered, 10000, "query_received");
    assert_int_equal(F.q_err, FERRY_OK);
}

/* Several query_received in one turn: the adapter asks them in one receivedBatch per source
 * chain; each answer lands in its own slot. */
static struct {
    int calls;
    enum ferry_err err;
    bool yes;
    uint64_t block;
} QA[8];

static void on_received_at(void *ud, enum ferry_err err, const struct chain_received_result *r)
{
    size_t i = (size_t)(uintptr_t)ud;
    F.answers++;
    QA[i].calls++;
    QA[i].err = err;
    QA[i].yes = r ? r->received : false;
    QA[i].block = r ? r->block_number : 0;
}

static void ask_received_many(const uint64_t (*q)[2], size_t n)
{
    memset(QA, 0, sizeof QA);
    want_answers = F.answers + (int)n;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(F.r.ops->query_received(F.r.c, q[i][0], q[i][1], on_received_at, (void *)(uintptr_t)i),
                         FERRY_OK);
    evm_rig_run_until(&F.r, answered, 10000, "query_received x n");
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(QA[i].calls, 1);
        assert_int_equal(QA[i].err, FERRY_OK);
    }
}

static void deliver_2_of_3(void **state)
{
    (void)state;
    NEED_ANVIL();
    struct packet p;
    make_packet(&p, 1, "hello from 31338");
    uint8_t d[32], sigs[2][CHAIN_SIG_LEN];
    assert_int_equal(F.r.ops->attest_digest(F.r.c, CHAIN_ATTEST_DELIVERY, &p, NULL, 0, d), FERRY_OK);
    sign2(sigs, "att2", "att1", d); /* 0x3C44... < 0x7099... */
    struct chain_attestation att = {.count = 2, .sigs = sigs};
    struct chain_call call = {.kind = CHAIN_CALL_DELIVER, .n = 1, .packets = &p, .attestations = &att};

    ask_received(SRC_CHAIN, 1);
    assert_false(F.q_yes);

    uint64_t nonce0 = account_nonce(F.r.anvil.url, SUB_ADDR);
    assert_int_equal(F.r.ops->submit(F.r.c, "deliver-1", &call), FERRY_OK);
    evm_rig_run_until(&F.r, deliver_confirmed, 20000, "the delivery confirmed and PACKET_RECEIVED");
    assert_int_equal(account_nonce(F.r.anvil.url, SUB_ADDR), nonce0 + 1);

    /* the event: our packet, delivered here, with the failed ack of a receiver that is no contract */
    const struct chain_event *ev = NULL;
    for (size_t i = 0; i < F.ngot; i++)
        if (F.got[i].kind == CHAIN_EV_PACKET_RECEIVED)
            ev = &F.got[i];
    assert_non_null(ev);
    assert_int_equal(ev->packet.src_chain, SRC_CHAIN);
    assert_int_equal(ev->packet.dst_chain, OUR_CHAIN);
    assert_int_equal(ev->packet.sequence, 1);
    assert_false(ev->ack.success);
    uint8_t id[32];
    F.r.ops->packet_id(&p, id);
    assert_memory_equal(ev->packet_id, id, 32);
    const struct chain_submission *s = last_sub("deliver-1");
    assert_memory_equal(ev->at.tx_hash, s->tx_hash, 32);
    assert_int_equal(ev->at.block_number, s->block_number);

    /* Its gas limit came from one execution (eth_createAccessList), not from the node's search:
     * gasUsed * 5/4 (the refund bound) + 20 % of that + the receiver's floor (receiveGasLimit
     * 1,000,000: + 1,000,000 / 63 + 5,000).
     * anvil's createAccessList reports a little more than the receipt (1,800 gas here: its run
     * carries the access list), hence a window; eth_estimateGas's search, plus 20 % of the floor
     * too, would be ~200,000 above it. */
    char hp[80], *th = tu_hexstr(s->tx_hash, 32);
    snprintf(hp, sizeof hp, "[\"%s\"]", th);
    free(th);
    cJSON *tx = tu_anvil_call(F.r.anvil.url, "eth_getTransactionByHash", hp);
    cJSON *rc = tu_anvil_call(F.r.anvil.url, "eth_getTransactionReceipt", hp);
    uint64_t limit = 0, used = 0;
    assert_int_equal(hex_quantity_u64(&limit, cJSON_GetObjectItemCaseSensitive(tx, "gas")->valuestring), FERRY_OK);
    assert_int_equal(hex_quantity_u64(&used, cJSON_GetObjectItemCaseSensitive(rc, "gasUsed")->valuestring), FERRY_OK);
    cJSON_Delete(tx);
    cJSON_Delete(rc);
    uint64_t floor_gas = 1000000 + 1000000 / 63 + 5000;
    uint64_t spent = used + (used + 3) / 4;
    assert_true(limit >= spent + (spent * 20 + 99) / 100 + floor_gas);
    assert_true(limit <= spent + (spent * 20 + 99) / 100 + floor_gas + 5000);

    /* received now, at a block at or after the delivery, with that block's time */
    ask_received(SRC_CHAIN, 1);
    assert_true(F.q_yes);
    assert_true(F.q_block >= s->block_number);
    assert_true(F.q_ts > 0);
    ask_received(SRC_CHAIN, 2);
    assert_false(F.q_yes);
    /* in one turn: one receivedBatch for SRC_CHAIN's four (the received one twice), one for the other source */
    const uint64_t many[6][2] = {{SRC_CHAIN, 2}, {SRC_CHAIN, 1}, {SRC_CHAIN + 1, 1}, {SRC_CHAIN, 0},
                                 {SRC_CHAIN, 1}, {SRC_CHAIN, UINT64_MAX}};
    ask_received_many(many, 6);
    for (size_t i = 0; i < 6; i++) {
        if (QA[i].yes != (i == 1 || i == 4))
            fail_msg("query %zu (%" PRIu64 ", %" PRIu64 "): received %d", i, many[i][0], many[i][1], QA[i].yes);
        assert_true(QA[i].block >= s->block_number);
        assert_int_equal(QA[i].block, QA[0].block); /* one batch: one block */
    }

    /* idempotent per id: the same id again reports the record, sends nothing */
    size_t before = F.r.nsubs;
    assert_int_equal(F.r.ops->submit(F.r.c, "deliver-1", &call), FERRY_OK);
    for (int i = 0; i < 20; i++)
        assert_int_equal(loop_run_once(F.r.loop, 20), FERRY_OK);
    assert_true(F.r.nsubs > before);
    assert_int_equal(F.r.subs[F.r.nsubs - 1].state, CHAIN_SUB_CONFIRMED);
    assert_memory_equal(F.r.subs[F.r.nsubs - 1].tx_hash, s->tx_hash, 32);
    assert_int_equal(account_nonce(F.r.anvil.url, SUB_ADDR), nonce0 + 1);
    struct chain_submission q;
    assert_int_equal(F.r.ops->submission(F.r.c, "deliver-1", &q), CHAIN_SUB_CONFIRMED);
    assert_memory_equal(q.tx_hash, s->tx_hash, 32);
    assert_int_equal(F.r.ops->submission(F.r.c, "never-submitted", &q), CHAIN_SUB_UNKNOWN);
    assert_string_equal(q.id, "never-submitted");
}

static bool got_refused(void)
{
    const struct chain_submission *s = last_sub("deliver-bad");
    return s && s->state == CHAIN_SUB_REFUSED;
}

static void bad_delivery_refused(void **state)
{
    (void)state;
    NEED_ANVIL();
    struct packet p;
    make_packet(&p, 3, "one signature short");
    /* a receiver never delivered to: deliver_2_of_3 taught the gas model 0xcdcd..., whose
     * deliveries now go without a dry run (gas_model_prices_known_receivers) */
    memset(p.receiver + 12, 0xce, 20);
    uint8_t d[32], sigs[2][CHAIN_SIG_LEN];
    assert_int_equal(F.r.ops->attest_digest(F.r.c, CHAIN_ATTEST_DELIVERY, &p, NULL, 0, d), FERRY_OK);
    sign2(sigs, "att2", "att1", d);
    /* one signature below the threshold: the dry run reverts, nothing is sent */
    struct chain_attestation att = {.count = 1, .sigs = sigs};
    struct chain_call call = {.kind = CHAIN_CALL_DELIVER, .n = 1, .packets = &p, .attestations = &att};
    uint64_t nonce0 = account_nonce(F.r.anvil.url, SUB_ADDR);
    assert_int_equal(F.r.ops->submit(F.r.c, "deliver-bad", &call), FERRY_OK);
    evm_rig_run_until(&F.r, got_refused, 10000, "the refusal");
    assert_int_equal(account_nonce(F.r.anvil.url, SUB_ADDR), nonce0);

    /* refused at once: a packet for another chain, a bad v, a raw `to` that is no address */
    p.dst_chain = 5;
    att.count = 2;
    assert_int_equal(F.r.ops->submit(F.r.c, "deliver-wrong-dst", &call), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "not this chain"));
    p.dst_chain = OUR_CHAIN;
    sigs[1][64] = 5;
    assert_int_equal(F.r.ops->submit(F.r.c, "deliver-bad-v", &call), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "v is 5"));
    struct chain_call empty = {.kind = CHAIN_CALL_DELIVER};
    assert_int_equal(F.r.ops->submit(F.r.c, "deliver-empty", &empty), FERRY_EINVAL);
    struct chain_call raw = {.kind = CHAIN_CALL_RAW};
    raw.to[0] = 1;
    assert_int_equal(F.r.ops->submit(F.r.c, "raw-bad", &raw), FERRY_EINVAL);
    struct chain_call ack = {.kind = CHAIN_CALL_ACK, .n = 1, .packets = &p, .attestations = &att};
    assert_int_equal(F.r.ops->submit(F.r.c, "ack-wrong-src", &ack), FERRY_EINVAL);
    assert_int_equal(F.r.ops->submission(F.r.c, "deliver-wrong-dst", &(struct chain_submission){0}),
                     CHAIN_SUB_UNKNOWN);
}

/* gateway.send(31338, 0x..bbbbb, 4000000000, "hi") from dev account 0; the block it landed in. */
static uint64_t dev0_send(void)
{
    const char *args[] = {"31338", "0x00000000000000000000000000000000000000000000000000000000000bbbbb",
                          "4000000000", "0x6869"};
    struct fbuf cd;
    fbuf_init(&cd, 4096);
    anvil_calldata(&cd, "send(uint64,bytes32,uint64,bytes)", args, 4);
    cJSON *rc = anvil_dev0_tx(F.r.anvil.url, F.gateway, cd.data, cd.len);
    uint64_t sent_block;
    assert_int_equal(hex_quantity_u64(&sent_block, cJSON_GetObjectItemCaseSensitive(rc, "blockNumber")->valuestring),
                     FERRY_OK);
    cJSON_Delete(rc);
    fbuf_free(&cd);
    return sent_block;
}

static void pending_after_send(void **state)
{
    (void)state;
    NEED_ANVIL();
    want_answers = F.answers + 1;
    assert_int_equal(F.r.ops->query_pending(F.r.c, 1, on_pending, NULL), FERRY_OK);
    evm_rig_run_until(&F.r, answered, 10000, "query_pending");
    assert_int_equal(F.q_err, FERRY_OK);
    assert_false(F.q_yes);
    /* gateway.send from dev account 0: sequence 1 is now pending here */
    uint64_t sent_block = dev0_send();
    /* the watcher's confirmed head must reach the block first (queries run at the confirmed head) */
    uint64_t end = loop_clock_ms() + 10000;
    while (F.r.ops->head(F.r.c).confirmed < sent_block) {
        assert_true(loop_clock_ms() < end);
        assert_int_equal(loop_run_once(F.r.loop, 20), FERRY_OK);
    }
    want_answers = F.answers + 1;
    assert_int_equal(F.r.ops->query_pending(F.r.c, 1, on_pending, NULL), FERRY_OK);
    evm_rig_run_until(&F.r, answered, 10000, "query_pending");
    assert_int_equal(F.q_err, FERRY_OK);
    assert_true(F.q_yes);
    assert_true(F.q_block >= sent_block);
    /* and the PacketSent came through on_events */
    bool seen = false;
    for (size_t i = 0; i < F.ngot; i++)
        seen |= F.got[i].kind == CHAIN_EV_PACKET_SENT && F.got[i].packet.sequence == 1 &&
                F.got[i].packet.dst_chain == SRC_CHAIN;
    uint64_t end2 = loop_clock_ms() + 10000;
    while (!seen && loop_clock_ms() < end2) {
        assert_int_equal(loop_run_once(F.r.loop, 20), FERRY_OK);
        for (size_t i = 0; i < F.ngot; i++)
            seen |= F.got[i].kind == CHAIN_EV_PACKET_SENT && F.got[i].packet.sequence == 1;
    }
    assert_true(seen);
}

/* The packet dev0_send() committed under `seq`. */
static void dev0_packet(struct packet *p, uint64_t seq)
{
    memset(p, 0, sizeof *p);
    p->src_chain = OUR_CHAIN;
    p->dst_chain = SRC_CHAIN;
    p->sequence = seq;
    assert_int_equal(address_parse(p->sender + 12, ANVIL_DEV0), FERRY_OK);
    p->receiver[29] = 0x0b;
    p->receiver[30] = 0xbb;
    p->receiver[31] = 0xbb;
    p->timeout_ts = 4000000000u;
    p->payload = (uint8_t *)"hi";
    p->payload_len = 2;
}

static bool acks_confirmed(void)
{
    const struct chain_submission *s = last_sub("ack-batch");
    return s && (s->state == CHAIN_SUB_CONFIRMED || s->state == CHAIN_SUB_REVERTED || s->state == CHAIN_SUB_REFUSED);
}

/* CHAIN_CALL_ACK with n > 1 is one acknowledgeBatch: packets 1 and 2 settled, a repeat of 1 skipped. */
static void acks_in_one_batch(void **state)
{
    (void)state;
    NEED_ANVIL();
    (void)dev0_send(); /* sequence 2 (pending_after_send sent 1) */
    struct packet p[3];
    struct packet_ack acks[3] = {{.success = true, .result = (uint8_t *)"ok", .result_len = 2},
                                 {.success = false, .result = (uint8_t *)"no", .result_len = 2},
                                 {.success = true, .result = (uint8_t *)"ok", .result_len = 2}};
    uint8_t sigs[3][2][CHAIN_SIG_LEN];
    struct chain_attestation att[3];
    for (int i = 0; i < 3; i++) {
        dev0_packet(&p[i], i == 1 ? 2 : 1);
        uint8_t d[32];
        assert_int_equal(F.r.ops->attest_digest(F.r.c, CHAIN_ATTEST_ACK, &p[i], &acks[i], 0, d), FERRY_OK);
        sign2(sigs[i], "att2", "att1", d);
        att[i] = (struct chain_attestation){.count = 2, .sigs = sigs[i]};
    }
    struct chain_call call = {.kind = CHAIN_CALL_ACK, .n = 3, .packets = p, .attestations = att, .acks = acks};
    uint64_t nonce0 = account_nonce(F.r.anvil.url, SUB_ADDR);
    assert_int_equal(F.r.ops->submit(F.r.c, "ack-batch", &call), FERRY_OK);
    evm_rig_run_until(&F.r, acks_confirmed, 20000, "the batched ack");
    const struct chain_submission *s = last_sub("ack-batch");
    assert_int_equal(s->state, CHAIN_SUB_CONFIRMED);
    assert_int_equal(account_nonce(F.r.anvil.url, SUB_ADDR), nonce0 + 1); /* one transaction */
    /* its logs: PacketAcknowledged for 1 and 2, AcknowledgementSkipped for the repeat of 1 */
    char hp[80], *th = tu_hexstr(s->tx_hash, 32);
    snprintf(hp, sizeof hp, "[\"%s\"]", th);
    free(th);
    cJSON *rc = tu_anvil_call(F.r.anvil.url, "eth_getTransactionReceipt", hp);
    uint8_t acked[32], skipped[32];
    keccak256(acked, "PacketAcknowledged(bytes32,uint64,bool)", strlen("PacketAcknowledged(bytes32,uint64,bool)"));
    keccak256(skipped, "AcknowledgementSkipped(bytes32,uint64)", strlen("AcknowledgementSkipped(bytes32,uint64)"));
    int n_acked = 0, n_skipped = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(rc, "logs"))
    {
        uint8_t t0[32];
        const cJSON *topics = cJSON_GetObjectItemCaseSensitive(l, "topics");
        assert_int_equal(hex_decode_exact(t0, 32, cJSON_GetArrayItem(topics, 0)->valuestring, HEX_PREFIX_REQUIRED),
                         FERRY_OK);
        n_acked += !memcmp(t0, acked, 32);
        n_skipped += !memcmp(t0, skipped, 32);
    }
    cJSON_Delete(rc);
    assert_int_equal(n_acked, 2);
    assert_int_equal(n_skipped, 1);
    /* neither is pending any more, once the watcher's confirmed head (where queries run) has the
     * ack's block: the manager can see the receipt a poll before the watcher sees the block */
    uint64_t end = loop_clock_ms() + 10000;
    while (F.r.ops->head(F.r.c).confirmed < s->block_number) {
        assert_true(loop_clock_ms() < end);
        assert_int_equal(loop_run_once(F.r.loop, 20), FERRY_OK);
    }
    for (uint64_t seq = 1; seq <= 2; seq++) {
        want_answers = F.answers + 1;
        assert_int_equal(F.r.ops->query_pending(F.r.c, seq, on_pending, NULL), FERRY_OK);
        evm_rig_run_until(&F.r, answered, 10000, "query_pending");
        assert_int_equal(F.q_err, FERRY_OK);
        assert_false(F.q_yes);
    }
    /* n > 1 without acks is refused before anything is sent */
    call.acks = NULL;
    call.ack = &acks[0];
    assert_int_equal(F.r.ops->submit(F.r.c, "ack-no-acks", &call), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "no acks"));
}

static bool probed_after_tx(void)
{
    cJSON *s = F.r.ops->status(F.r.c);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "submitter"), "nonce");
    bool ok = cJSON_IsNumber(n) && n->valuedouble >= 1;
    cJSON_Delete(s);
    return ok;
}

static void status_fields(void **state)
{
    (void)state;
    NEED_ANVIL();
    evm_rig_run_until(&F.r, probed_after_tx, 10000, "the balance and nonce asked again after a transaction");
    cJSON *s = F.r.ops->status(F.r.c);
    assert_non_null(s);
    char *text = cJSON_PrintUnformatted(s);
    if (getenv("FERRY_TEST_VERBOSE"))
        fprintf(stderr, "# %s\n", text);
    free(text);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s, "name")->valuestring, "alpha");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(s, "chain_id")->valuedouble, OUR_CHAIN);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(s, "head");
    assert_true(cJSON_GetObjectItemCaseSensitive(h, "number")->valuedouble > (double)F.deployed);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(h, "source")->valuestring, "watcher");
    const cJSON *cu = cJSON_GetObjectItemCaseSensitive(s, "cursor");
    assert_true(cJSON_GetObjectItemCaseSensitive(cu, "next_block")->valuedouble > 0);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(cu, "lag_blocks")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(cu, "paused")));
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(s, "endpoints");
    assert_int_equal(cJSON_GetArraySize(eps), 1);
    const cJSON *ep = cJSON_GetArrayItem(eps, 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ep, "healthy")));
    assert_true(cJSON_GetObjectItemCaseSensitive(ep, "requests")->valuedouble > 0);
    const cJSON *sj = cJSON_GetObjectItemCaseSensitive(s, "submitter");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(sj, "address")->valuestring, SUB_ADDR);
    const cJSON *bal = cJSON_GetObjectItemCaseSensitive(sj, "balance_wei");
    assert_true(cJSON_IsString(bal));
    assert_true(strlen(bal->valuestring) > 18); /* anvil's 10000 ether, less some gas */
    assert_true(cJSON_GetObjectItemCaseSensitive(sj, "nonce")->valuedouble >= 1);
    assert_true(cJSON_GetObjectItemCaseSensitive(sj, "next_nonce")->valuedouble >= 1);
    cJSON_Delete(s);

    /* metrics: the shared head gauge and the manager's counters */
    struct fbuf out;
    fbuf_init(&out, 1 << 20);
    assert_int_equal(metrics_render(F.m, &out), FERRY_OK);
    assert_int_equal(fbuf_addbyte(&out, 0), FERRY_OK);
    assert_non_null(strstr((char *)out.data, "ferry_chain_head_block{chain=\"alpha\"}"));
    /* the delivery and the batched ack, both with gas limits from one execution */
    assert_non_null(strstr((char *)out.data, "ferry_evm_transactions_total{chain=\"alpha\",event=\"confirmed\"} 2"));
    assert_non_null(strstr((char *)out.data, "ferry_evm_transactions_total{chain=\"alpha\",event=\"gas_one_run\"} 2"));
    assert_non_null(strstr((char *)out.data, "ferry_rpc_calls{chain=\"alpha\""));
    fbuf_free(&out);
}

/* ---- the learned model of delivery gas (chains/evm/gasmodel.h) ---- */

static const char *gm_waiting;
static bool gm_final(void)
{
    const struct chain_submission *s = last_sub(gm_waiting);
    return s && (s->state == CHAIN_SUB_CONFIRMED || s->state == CHAIN_SUB_REVERTED || s->state == CHAIN_SUB_REFUSED);
}

/* A number from the metrics page: the first line starting with `prefix` and containing `has`. */
static double metric_of(const char *prefix, const char *has)
{
    struct fbuf out;
    fbuf_init(&out, 1 << 20);
    assert_int_equal(metrics_render(F.m, &out), FERRY_OK);
    assert_int_equal(fbuf_addbyte(&out, 0), FERRY_OK);
    double v = 0;
    for (char *l = (char *)out.data; l && *l;) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = 0;
        if (!strncmp(l, prefix, strlen(prefix)) && strstr(l, has)) {
            v = strtod(strrchr(l, ' ') + 1, NULL);
            break;
        }
        l = nl ? nl + 1 : NULL;
    }
    fbuf_free(&out);
    return v;
}

static double access_list_calls(void)
{
    return metric_of("ferry_rpc_calls{chain=\"alpha\"", "method=\"eth_createAccessList\"");
}

/* A counter of the chain status' "transactions" object. */
static double status_tx(const char *name)
{
    cJSON *st = F.r.ops->status(F.r.c);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(st, "transactions"), name);
    assert_true(cJSON_IsNumber(v));
    double d = v->valuedouble;
    cJSON_Delete(st);
    return d;
}

/* Delivers packets seqs[0..n) (receivers recv[i]: the last 20 bytes all that byte) under id with
 * `sigs` attestation signatures (2: valid, 1: one short); waits for a final state. */
static const struct chain_submission *gm_deliver(const char *id, const uint64_t *seqs, const uint8_t *recv, size_t n,
                                                 size_t sigs)
{
    struct packet p[8];
    uint8_t sg[8][2][CHAIN_SIG_LEN];
    struct chain_attestation att[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        make_packet(&p[i], seqs[i], "gas model");
        memset(p[i].receiver + 12, recv[i], 20);
        uint8_t d[32];
        assert_int_equal(F.r.ops->attest_digest(F.r.c, CHAIN_ATTEST_DELIVERY, &p[i], NULL, 0, d), FERRY_OK);
        sign2(sg[i], "att2", "att1", d);
        att[i] = (struct chain_attestation){.count = sigs, .sigs = sg[i]};
    }
    struct chain_call call = {.kind = CHAIN_CALL_DELIVER, .n = n, .packets = p, .attestations = att};
    assert_int_equal(F.r.ops->submit(F.r.c, id, &call), FERRY_OK);
    gm_waiting = id;
    evm_rig_run_until(&F.r, gm_final, 20000, id);
    return last_sub(id);
}

/* The gas limit, the calldata gas and the receipt's gasUsed of a transaction. */
static void gm_tx(const uint8_t hash[32], uint64_t *limit, uint64_t *cd_gas, uint64_t *used)
{
    char hp[80], *th = tu_hexstr(hash, 32);
    snprintf(hp, sizeof hp, "[\"%s\"]", th);
    free(th);
    cJSON *tx = tu_anvil_call(F.r.anvil.url, "eth_getTransactionByHash", hp);
    cJSON *rc = tu_anvil_call(F.r.anvil.url, "eth_getTransactionReceipt", hp);
    assert_int_equal(hex_quantity_u64(limit, cJSON_GetObjectItemCaseSensitive(tx, "gas")->valuestring), FERRY_OK);
    assert_int_equal(hex_quantity_u64(used, cJSON_GetObjectItemCaseSensitive(rc, "gasUsed")->valuestring), FERRY_OK);
    size_t n = 0;
    uint8_t *input = tu_unhex(cJSON_GetObjectItemCaseSensitive(tx, "input")->valuestring, &n);
    *cd_gas = 0;
    for (size_t i = 0; i < n; i++)
        *cd_gas += input[i] ? 16 : 4;
    free(input);
    cJSON_Delete(tx);
    cJSON_Delete(rc);
}

/* A first delivery to a receiver is measured (eth_createAccessList) and teaches the model its
 * per-packet cost; the next one to it is priced from that alone (the exact limit, no execution on
 * the node) and mined; a batch with an unknown receiver is measured and teaches nothing; a priced
 * delivery that reverts makes the model forget, so the next one is measured again. */
static void gas_model_prices_known_receivers(void **state)
{
    (void)state;
    NEED_ANVIL();
    const uint8_t R3 = 0xc3, R4 = 0xc4;
    uint64_t limit, cd, used;
    double al = access_list_calls();
    /* (deliver_2_of_3's second submit of deliver-1 was priced: its receiver was known by then) */
    double modelled0 = status_tx("delivery_gas_modelled"), measured0 = status_tx("delivery_gas_measured");
    assert_true(metric_of("ferry_evm_transactions_total{chain=\"alpha\"", "delivery_gas_modelled") == modelled0);

    const struct chain_submission *s = gm_deliver("gm-1", (uint64_t[]){101}, (uint8_t[]){R3}, 1, 2);
    assert_int_equal(s->state, CHAIN_SUB_CONFIRMED);
    assert_true(access_list_calls() == al + 1); /* measured */
    gm_tx(s->tx_hash, &limit, &cd, &used);
    uint64_t learned = used - 21000 - cd; /* one packet */

    /* gm-1's own PacketReceived reaches F.received once the watcher has its block: wait for it,
     * or it could land in the count below (seen as 4 for 3) */
    uint64_t end = loop_clock_ms() + 10000;
    while (F.r.ops->head(F.r.c).confirmed < s->block_number) {
        assert_true(loop_clock_ms() < end);
        assert_int_equal(loop_run_once(F.r.loop, 20), FERRY_OK);
    }
    for (int i = 0; i < 5; i++) /* the events of that block handed over */
        assert_int_equal(loop_run_once(F.r.loop, 20), FERRY_OK);
    size_t received0 = F.received;
    s = gm_deliver("gm-2", (uint64_t[]){102, 103, 104}, (uint8_t[]){R3, R3, R3}, 3, 2);
    assert_int_equal(s->state, CHAIN_SUB_CONFIRMED);
    assert_true(access_list_calls() == al + 1); /* priced: nothing executed on the node */
    gm_tx(s->tx_hash, &limit, &cd, &used);
    uint64_t headroom = 1000000 + 1000000 / 63 + 5000;
    assert_int_equal(limit, 21000 + cd + 3 * (learned + 25000 + (learned + 9) / 10) + headroom);
    assert_true(used < limit);
    for (int i = 0; i < 200 && F.received < received0 + 3; i++)
        assert_int_equal(loop_run_once(F.r.loop, 20), FERRY_OK);
    assert_int_equal(F.received, received0 + 3); /* all three delivered */

    /* R4 unknown: the mixed batch is measured, and R4 alone is measured after it too */
    s = gm_deliver("gm-3", (uint64_t[]){105, 106}, (uint8_t[]){R3, R4}, 2, 2);
    assert_int_equal(s->state, CHAIN_SUB_CONFIRMED);
    assert_true(access_list_calls() == al + 2);
    s = gm_deliver("gm-4", (uint64_t[]){107}, (uint8_t[]){R4}, 1, 2);
    assert_int_equal(s->state, CHAIN_SUB_CONFIRMED);
    assert_true(access_list_calls() == al + 3);

    /* a priced delivery one signature short: no dry run to refuse it, so it is mined reverted,
     * and R3 is forgotten: the next delivery to R3 is measured */
    uint64_t nonce0 = account_nonce(F.r.anvil.url, SUB_ADDR);
    s = gm_deliver("gm-5", (uint64_t[]){108}, (uint8_t[]){R3}, 1, 1);
    assert_int_equal(s->state, CHAIN_SUB_REVERTED);
    assert_int_equal(account_nonce(F.r.anvil.url, SUB_ADDR), nonce0 + 1);
    assert_true(access_list_calls() == al + 3);
    s = gm_deliver("gm-6", (uint64_t[]){108}, (uint8_t[]){R3}, 1, 2);
    assert_int_equal(s->state, CHAIN_SUB_CONFIRMED);
    assert_true(access_list_calls() == al + 4);

    /* the counters: gm-2 and gm-5 priced, one of them reverted */
    assert_true(metric_of("ferry_evm_transactions_total{chain=\"alpha\"", "delivery_gas_modelled") == modelled0 + 2);
    assert_true(metric_of("ferry_evm_transactions_total{chain=\"alpha\"", "delivery_gas_model_reverted") == 1);
    assert_true(status_tx("delivery_gas_modelled") == modelled0 + 2);
    assert_true(status_tx("delivery_gas_measured") == measured0 + 4);
    assert_true(status_tx("delivery_gas_model_reverted") == 1);
}

/* The Gateway's nextSequence() on our chain. */
static uint64_t next_sequence(void)
{
    uint8_t word[32];
    anvil_view(F.r.anvil.url, F.gateway, "nextSequence()", NULL, 0, word, 32);
    uint64_t v = 0;
    for (int i = 24; i < 32; i++)
        v = v << 8 | word[i];
    return v;
}

/* chains[].start_block reaches the watcher: a chain the store has no cursor for starts scanning
 * there (its status shows the cursor before the first poll). */
static void start_block_sets_first_cursor(void **state)
{
    (void)state;
    NEED_ANVIL();
    char text[1024];
    snprintf(text, sizeof text,
             "{\"name\":\"beta\",\"kind\":\"evm\",\"chain_id\":%u,\"rpc\":[\"%s\"],\"gateway\":\"%s\","
             "\"confirmations\":1,\"poll_interval\":\"100ms\",\"max_fee_per_gas\":\"100 gwei\","
             "\"submitter\":\"sub\",\"start_block\":777}",
             OUR_CHAIN + 100, F.r.anvil.url, F.gateway);
    cJSON *cfg = cJSON_Parse(text);
    assert_non_null(cfg);
    struct chain_env env = {.loop = F.r.loop, .store = F.r.st, .signer = F.r.sg, .on_events = env_events,
                            .on_deep_reorg = evm_rig_no_reorg};
    struct chain *c = NULL;
    assert_int_equal(F.r.ops->open(&c, cfg, &env), FERRY_OK);
    cJSON_Delete(cfg);
    cJSON *st = F.r.ops->status(c);
    const cJSON *cu = cJSON_GetObjectItemCaseSensitive(st, "cursor");
    assert_true(cJSON_GetObjectItemCaseSensitive(cu, "next_block")->valuedouble == 777);
    cJSON_Delete(st);
    F.r.ops->close(c);
}

static const char *ga_id; /* the ack submission ga_ack waits for */

static bool ga_final(void)
{
    const struct chain_submission *s = last_sub(ga_id);
    return s && (s->state == CHAIN_SUB_CONFIRMED || s->state == CHAIN_SUB_REVERTED || s->state == CHAIN_SUB_REFUSED);
}

/* Acknowledges dev0's packets seqs[0..n) (all successful), with `sigs` attester signatures each,
 * and waits for the outcome. */
static const struct chain_submission *ga_ack(const char *id, const uint64_t *seqs, size_t n, size_t sigs)
{
    struct packet p[4];
    struct packet_ack acks[4];
    uint8_t sig[4][2][CHAIN_SIG_LEN];
    struct chain_attestation att[4];
    assert_true(n <= 4);
    for (size_t i = 0; i < n; i++) {
        dev0_packet(&p[i], seqs[i]);
        acks[i] = (struct packet_ack){.success = true, .result = (uint8_t *)"ok", .result_len = 2};
        uint8_t d[32];
        assert_int_equal(F.r.ops->attest_digest(F.r.c, CHAIN_ATTEST_ACK, &p[i], &acks[i], 0, d), FERRY_OK);
        sign2(sig[i], "att2", "att1", d);
        att[i] = (struct chain_attestation){.count = sigs, .sigs = sig[i]};
    }
    struct chain_call call = {.kind = CHAIN_CALL_ACK, .n = n, .packets = p, .attestations = att, .acks = acks};
    assert_int_equal(F.r.ops->submit(F.r.c, id, &call), FERRY_OK);
    ga_id = id;
    evm_rig_run_until(&F.r, ga_final, 20000, "an ack batch");
    return last_sub(id);
}

/* The ack model: a batch of acknowledgements of one app and outcome teaches a figure; the next
 * batch of that (app, outcome) is priced without eth_createAccessList, at the exact limit; a
 * priced batch that reverts (one signature short) forgets it, and the next one is measured. */
static void gas_model_prices_known_acks(void **state)
{
    (void)state;
    NEED_ANVIL();
    uint64_t ga_seq0 = next_sequence();
    for (int i = 0; i < 4; i++)
        (void)dev0_send(); /* sequences ga_seq0 .. ga_seq0 + 3 */
    assert_int_equal(next_sequence(), ga_seq0 + 4);
    double al = access_list_calls();
    double modelled0 = status_tx("ack_gas_modelled"), measured0 = status_tx("ack_gas_measured");
    uint64_t limit, cd, used;
    const struct chain_submission *s = ga_ack("ga-1", (uint64_t[]){ga_seq0}, 1, 2);
    assert_int_equal(s->state, CHAIN_SUB_CONFIRMED);
    assert_true(access_list_calls() == al + 1); /* measured */
    gm_tx(s->tx_hash, &limit, &cd, &used);
    uint64_t learned = used - 21000 - cd;

    s = ga_ack("ga-2", (uint64_t[]){ga_seq0 + 1, ga_seq0 + 2}, 2, 2);
    assert_int_equal(s->state, CHAIN_SUB_CONFIRMED);
    assert_true(access_list_calls() == al + 1); /* priced: nothing executed on the node */
    gm_tx(s->tx_hash, &limit, &cd, &used);
    assert_int_equal(limit, 21000 + cd + 2 * (learned + 25000 + (learned + 9) / 10)); /* no headroom */
    assert_true(used < limit);

    /* one signature short: no dry run refuses it, it is mined reverted and the model forgets */
    s = ga_ack("ga-3", (uint64_t[]){ga_seq0 + 3}, 1, 1);
    assert_int_equal(s->state, CHAIN_SUB_REVERTED);
    assert_true(access_list_calls() == al + 1);
    s = ga_ack("ga-4", (uint64_t[]){ga_seq0 + 3}, 1, 2);
    assert_int_equal(s->state, CHAIN_SUB_CONFIRMED);
    assert_true(access_list_calls() == al + 2); /* measured again */

    assert_true(status_tx("ack_gas_modelled") == modelled0 + 2);
    assert_true(status_tx("ack_gas_measured") == measured0 + 2);
    assert_true(status_tx("ack_gas_model_reverted") == 1);
    assert_true(metric_of("ferry_evm_transactions_total{chain=\"alpha\"", "ack_gas_model_reverted") == 1);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(family_registered),     cmocka_unit_test(check_config_reports),
        cmocka_unit_test(digests_match_gateway), cmocka_unit_test(deliver_2_of_3),
        cmocka_unit_test(bad_delivery_refused),  cmocka_unit_test(pending_after_send),
        cmocka_unit_test(acks_in_one_batch),
        cmocka_unit_test(status_fields),
        cmocka_unit_test(gas_model_prices_known_receivers),
        cmocka_unit_test(gas_model_prices_known_acks),
        cmocka_unit_test(start_block_sets_first_cursor),
    };
    return cmocka_run_group_tests_name(__FILE__, tests, setup, teardown);
}
