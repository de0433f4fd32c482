/* The EVM adapter's intent side (chains/evm): router events as chain_intent_event
 * (evm_intent_event), IntentRouter.intentState answers (evm_decode_position), and, against a
 * private anvil with the real Gateway, TokenVault, IntentRouter and a test token deployed, the
 * whole path through the chain ops: CHAIN_CALL_ROUTER submissions of open and advance, the
 * events through on_intent_events (before on_events of the same batch), query_intent, and a hop
 * timed out back to the router (HopReturned, the vault's TransferRefunded of the router's hop).
 * The anvil part is skipped when anvil or the contract artifacts (build/contracts) are missing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "anvil_deploy.h"
#include "anvil_run.h"
#include "evm_rig.h"
#include "evm/events.h"
#include "evm/evm.h"
#include "ferry/abi.h"
#include "ferry/buf.h"
#include "ferry/chain.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"
#include "ferry/loop.h"
#include "ferry/signer.h"
#include "ferry/store.h"
#include "testutil.h"

/* ---- building logs from the decoder's own signatures ---- */

static int def_index(enum evm_source src, enum evm_app_kind kind)
{
    for (size_t i = 0; i < evm_event_count(); i++) {
        const struct evm_event_def *d = evm_event_def(i);
        if (!d->is_chain && d->source == src && d->app_kind == kind)
            return (int)i;
    }
    fail_msg("no event %s", evm_app_kind_name(kind));
    return -1;
}

struct built {
    struct evm_log log;
    struct fbuf data;
    struct evm_app_event app;
};

/* Encodes event `kind` with the given values (cast's text forms) the way the contract logs it,
 * and decodes it back through evm_decode_log. */
static void build(struct built *b, const struct evm_decoder *d, enum evm_source src, enum evm_app_kind kind,
                  const char *const *args, size_t n)
{
    int i = def_index(src, kind);
    const struct abi_sig *sig = evm_decoder_sig(d, (size_t)i);
    assert_int_equal(sig->params->count, n);
    struct abi_value *all;
    assert_int_equal(abi_args_parse(&all, sig->params, args, n), FERRY_OK);
    memset(b, 0, sizeof *b);
    b->log.block_number = 77;
    b->log.log_index = 4;
    b->log.block_hash[0] = 0xbb;
    b->log.tx_hash[0] = 0xcc;
    b->log.address[19] = 0x42;
    memcpy(b->log.topics[b->log.n_topics++], sig->hash, 32);
    struct abi_value rest[EVM_APP_MAX_FIELDS];
    size_t nrest = 0;
    for (size_t k = 0; k < n; k++) {
        if (sig->params->members[k]->indexed) {
            struct fbuf w;
            fbuf_init(&w, 64);
            assert_int_equal(abi_encode(&w, &all->u.list.items[k]), FERRY_OK);
            memcpy(b->log.topics[b->log.n_topics++], w.data, 32);
            fbuf_free(&w);
        } else {
            rest[nrest++] = all->u.list.items[k];
        }
    }
    struct abi_value tuple;
    assert_int_equal(abi_set_list(&tuple, sig->data, rest, nrest), FERRY_OK);
    fbuf_init(&b->data, 1 << 16);
    assert_int_equal(abi_encode(&b->data, &tuple), FERRY_OK);
    abi_value_free(all);
    b->log.data = b->data.data;
    b->log.data_len = b->data.len;
    struct chain_event ev;
    enum evm_decoded what;
    assert_int_equal(evm_decode_log(d, 31337, src, &b->log, 1700000000, &what, &ev, &b->app), FERRY_OK);
    assert_int_equal(what, EVM_DECODED_APP);
}

static void built_free(struct built *b) { fbuf_free(&b->data); }

static bool is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static void unhex(uint8_t *out, size_t n, const char *s)
{
    assert_int_equal(hex_decode_exact(out, n, s, HEX_PREFIX_REQUIRED), FERRY_OK);
}

static void be_u64(uint8_t out[32], uint64_t v)
{
    memset(out, 0, 32);
    for (int i = 31; i >= 24; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

#define ID "0x1111111111111111111111111111111111111111111111111111111111111111"
#define OWNER "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
#define TOKEN "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"
#define ROUTER "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"

static void check_common(const struct chain_intent_event *e, enum chain_intent_event_kind kind, bool has_id)
{
    assert_int_equal(e->kind, kind);
    assert_int_equal(e->at.chain_id, 31337);
    assert_int_equal(e->at.block_number, 77);
    assert_int_equal(e->at.block_timestamp, 1700000000);
    assert_int_equal(e->at.log_index, 4);
    assert_int_equal(e->at.block_hash[0], 0xbb);
    assert_int_equal(e->at.tx_hash[0], 0xcc);
    uint8_t id[32];
    unhex(id, 32, ID);
    if (has_id)
        assert_memory_equal(e->intent_id, id, 32);
    else
        assert_true(is_zero(e->intent_id, 32));
}

/* Converts one built event; it must be an intent event. */
static void convert(struct chain_intent_event *out, const struct built *b, const uint8_t *router)
{
    bool is;
    assert_int_equal(evm_intent_event(&b->app, router, out, &is), FERRY_OK);
    assert_true(is);
}

static void router_events_convert(void **state)
{
    (void)state;
    struct evm_decoder *d;
    assert_int_equal(evm_decoder_new(&d), FERRY_OK);
    uint8_t owner[20], token[20], router[20], want[32];
    unhex(owner, 20, OWNER);
    unhex(token, 20, TOKEN);
    unhex(router, 20, ROUTER);
    struct built b;
    struct chain_intent_event e;

    /* IntentOpened(intentId, owner, nonce, token, amount, deadline) */
    build(&b, d, EVM_SRC_ROUTER, EVM_APP_INTENT_OPENED,
          (const char *[]){ID, OWNER, "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", TOKEN,
                           "1000000000000000000", "1790000000"},
          6);
    convert(&e, &b, router);
    check_common(&e, CHAIN_IEV_OPENED, true);
    assert_memory_equal(e.owner, owner, 20);
    for (int i = 0; i < 32; i++)
        assert_int_equal(e.nonce[i], i + 1);
    assert_memory_equal(e.token, token, 20);
    unhex(want, 32, "0x0000000000000000000000000000000000000000000000000de0b6b3a7640000");
    assert_memory_equal(e.amount, want, 32);
    assert_int_equal(e.deadline, 1790000000);
    built_free(&b);

    /* StepExecuted(intentId, stepIndex, token, amount, sequence) */
    build(&b, d, EVM_SRC_ROUTER, EVM_APP_STEP_EXECUTED, (const char *[]){ID, "2", TOKEN, "5", "18446744073709551615"},
          5);
    convert(&e, &b, router);
    check_common(&e, CHAIN_IEV_STEP_EXECUTED, true);
    assert_int_equal(e.step, 2);
    assert_memory_equal(e.token, token, 20);
    be_u64(want, 5);
    assert_memory_equal(e.amount, want, 32);
    assert_int_equal(e.sequence, UINT64_MAX);
    built_free(&b);

    /* StepFailed(intentId, stepIndex, reason, detail): each reason, and one it does not know */
    static const enum chain_intent_fail reasons[] = {CHAIN_IFAIL_NONE, CHAIN_IFAIL_DEADLINE,
                                                     CHAIN_IFAIL_TOKEN_MISMATCH, CHAIN_IFAIL_CALL_FAILED,
                                                     CHAIN_IFAIL_NONE};
    for (unsigned r = 0; r < 5; r++) {
        char rs[8];
        snprintf(rs, sizeof rs, "%u", r == 4 ? 200 : r);
        build(&b, d, EVM_SRC_ROUTER, EVM_APP_STEP_FAILED, (const char *[]){ID, "1", rs, "0xdeadbeef"}, 4);
        convert(&e, &b, router);
        check_common(&e, CHAIN_IEV_STEP_FAILED, true);
        assert_int_equal(e.step, 1);
        assert_int_equal(e.fail_reason, reasons[r]);
        assert_int_equal(e.detail_len, 4);
        assert_memory_equal(e.detail, "\xde\xad\xbe\xef", 4);
        built_free(&b);
    }

    /* HopArrived(intentId, stepIndex, srcChain, token, amount) */
    build(&b, d, EVM_SRC_ROUTER, EVM_APP_HOP_ARRIVED, (const char *[]){ID, "1", "31338", TOKEN, "77"}, 5);
    convert(&e, &b, router);
    check_common(&e, CHAIN_IEV_HOP_ARRIVED, true);
    assert_int_equal(e.step, 1);
    assert_int_equal(e.src_chain, 31338);
    assert_memory_equal(e.token, token, 20);
    be_u64(want, 77);
    assert_memory_equal(e.amount, want, 32);
    built_free(&b);

    /* HopDelivered(intentId, sequence) */
    build(&b, d, EVM_SRC_ROUTER, EVM_APP_HOP_DELIVERED, (const char *[]){ID, "9"}, 2);
    convert(&e, &b, router);
    check_common(&e, CHAIN_IEV_HOP_DELIVERED, true);
    assert_int_equal(e.sequence, 9);
    built_free(&b);

    /* HopReturned and RefundSent(intentId, sequence, token, amount) */
    static const enum evm_app_kind seq_kinds[] = {EVM_APP_HOP_RETURNED, EVM_APP_REFUND_SENT};
    static const enum chain_intent_event_kind seq_iev[] = {CHAIN_IEV_HOP_RETURNED, CHAIN_IEV_REFUND_SENT};
    for (int k = 0; k < 2; k++) {
        build(&b, d, EVM_SRC_ROUTER, seq_kinds[k], (const char *[]){ID, "12", TOKEN, "13"}, 4);
        convert(&e, &b, router);
        check_common(&e, seq_iev[k], true);
        assert_int_equal(e.sequence, 12);
        assert_memory_equal(e.token, token, 20);
        be_u64(want, 13);
        assert_memory_equal(e.amount, want, 32);
        built_free(&b);
    }

    /* IntentCompleted and IntentRefunded(intentId, token, amount) */
    static const enum evm_app_kind end_kinds[] = {EVM_APP_INTENT_COMPLETED, EVM_APP_INTENT_REFUNDED};
    static const enum chain_intent_event_kind end_iev[] = {CHAIN_IEV_COMPLETED, CHAIN_IEV_REFUNDED};
    for (int k = 0; k < 2; k++) {
        build(&b, d, EVM_SRC_ROUTER, end_kinds[k], (const char *[]){ID, TOKEN, "21"}, 3);
        convert(&e, &b, NULL); /* router events need no router address: their source says it */
        check_common(&e, end_iev[k], true);
        assert_memory_equal(e.token, token, 20);
        be_u64(want, 21);
        assert_memory_equal(e.amount, want, 32);
        built_free(&b);
    }

    /* IntentCancelled(intentId) */
    build(&b, d, EVM_SRC_ROUTER, EVM_APP_INTENT_CANCELLED, (const char *[]){ID}, 1);
    convert(&e, &b, router);
    check_common(&e, CHAIN_IEV_CANCELLED, true);
    built_free(&b);

    /* TransferRefunded(sequence, sender, token, amount, timedOut) of the router's hop */
    for (int t = 0; t < 2; t++) {
        build(&b, d, EVM_SRC_VAULT, EVM_APP_TRANSFER_REFUNDED,
              (const char *[]){"5", ROUTER, TOKEN, "99", t ? "true" : "false"}, 5);
        convert(&e, &b, router);
        check_common(&e, CHAIN_IEV_TRANSFER_REFUNDED, false);
        assert_int_equal(e.sequence, 5);
        assert_memory_equal(e.token, token, 20);
        be_u64(want, 99);
        assert_memory_equal(e.amount, want, 32);
        assert_int_equal(e.timed_out, t == 1);
        /* anybody else's refund, or any refund on a chain without a router, is not an intent's */
        bool is = true;
        e.kind = CHAIN_IEV_OPENED;
        uint8_t other[20];
        memcpy(other, router, 20);
        other[0] ^= 1;
        assert_int_equal(evm_intent_event(&b.app, other, &e, &is), FERRY_OK);
        assert_false(is);
        assert_true(is_zero(&e, sizeof e));
        is = true;
        assert_int_equal(evm_intent_event(&b.app, NULL, &e, &is), FERRY_OK);
        assert_false(is);
        built_free(&b);
    }

    /* TransferReceived(srcChain, sequence, recipient, token, amount): every one, whoever the
     * recipient (an intent's last hop pays its recipient), but only on a chain with a router */
    build(&b, d, EVM_SRC_VAULT, EVM_APP_TRANSFER_RECEIVED, (const char *[]){"31338", "41", OWNER, TOKEN, "1234"}, 5);
    convert(&e, &b, router);
    check_common(&e, CHAIN_IEV_TRANSFER_RECEIVED, false);
    assert_int_equal(e.src_chain, 31338);
    assert_int_equal(e.sequence, 41);
    assert_memory_equal(e.recipient, owner, 20);
    assert_true(is_zero(e.owner, 20));
    assert_memory_equal(e.token, token, 20);
    be_u64(want, 1234);
    assert_memory_equal(e.amount, want, 32);
    bool is = true;
    assert_int_equal(evm_intent_event(&b.app, NULL, &e, &is), FERRY_OK);
    assert_false(is);
    assert_true(is_zero(&e, sizeof e));
    built_free(&b);
    evm_decoder_free(d);
}

static void other_app_events_are_not_intents(void **state)
{
    (void)state;
    struct evm_decoder *d;
    assert_int_equal(evm_decoder_new(&d), FERRY_OK);
    uint8_t router[20];
    unhex(router, 20, ROUTER);
    struct built b;
    struct chain_intent_event e;
    bool is;
    build(&b, d, EVM_SRC_ROUTER, EVM_APP_NONCE_INVALIDATED, (const char *[]){OWNER, "5"}, 2);
    is = true;
    assert_int_equal(evm_intent_event(&b.app, router, &e, &is), FERRY_OK);
    assert_false(is);
    built_free(&b);
    /* the router's own outgoing transfer is its StepExecuted's business, not a separate event */
    build(&b, d, EVM_SRC_VAULT, EVM_APP_TRANSFER_SENT,
          (const char *[]){"1", "31338", ROUTER, TOKEN, "5", ROUTER, "31337",
                           "0x000000000000000000000000cf7ed3acca5a467e9e704c703e8d87f634fb0fc9", "0x"},
          9);
    is = true;
    assert_int_equal(evm_intent_event(&b.app, router, &e, &is), FERRY_OK);
    assert_false(is);
    built_free(&b);
    build(&b, d, EVM_SRC_GATEWAY, EVM_APP_ATTESTERS_CHANGED, (const char *[]){"2", "[" OWNER "]", "1"}, 3);
    is = true;
    assert_int_equal(evm_intent_event(&b.app, router, &e, &is), FERRY_OK);
    assert_false(is);
    built_free(&b);
    evm_decoder_free(d);
}

static void what_the_router_never_emits_is_refused(void **state)
{
    (void)state;
    struct evm_decoder *d;
    assert_int_equal(evm_decoder_new(&d), FERRY_OK);
    struct built b;
    struct chain_intent_event e;
    bool is;
    /* a stepIndex past 2^32-1 (the router has at most 16 steps) */
    static const enum evm_app_kind with_step[] = {EVM_APP_STEP_EXECUTED, EVM_APP_STEP_FAILED, EVM_APP_HOP_ARRIVED};
    static const char *const args[3][5] = {{ID, "4294967296", TOKEN, "1", "1"},
                                           {ID, "4294967296", "1", "0x"},
                                           {ID, "4294967296", "1", TOKEN, "1"}};
    static const size_t nargs[3] = {5, 4, 5};
    for (int k = 0; k < 3; k++) {
        build(&b, d, EVM_SRC_ROUTER, with_step[k], args[k], nargs[k]);
        is = true;
        assert_int_equal(evm_intent_event(&b.app, NULL, &e, &is), FERRY_ERANGE);
        assert_false(is);
        assert_true(is_zero(&e, sizeof e));
        assert_non_null(strstr(ferry_errmsg(), "stepIndex"));
        built_free(&b);
    }
    /* 2^32-1 itself still fits */
    build(&b, d, EVM_SRC_ROUTER, EVM_APP_HOP_ARRIVED, (const char *[]){ID, "4294967295", "1", TOKEN, "1"}, 5);
    assert_int_equal(evm_intent_event(&b.app, NULL, &e, &is), FERRY_OK);
    assert_true(is);
    assert_int_equal(e.step, UINT32_MAX);
    built_free(&b);
    /* a failure detail longer than the router's cap is cut to it */
    char *detail = malloc(2 + 2 * 500 + 1);
    assert_non_null(detail);
    strcpy(detail, "0x");
    for (int i = 0; i < 500; i++)
        snprintf(detail + 2 + 2 * i, 3, "%02x", i & 0xff);
    build(&b, d, EVM_SRC_ROUTER, EVM_APP_STEP_FAILED, (const char *[]){ID, "0", "3", detail}, 4);
    assert_int_equal(evm_intent_event(&b.app, NULL, &e, &is), FERRY_OK);
    assert_true(is);
    assert_int_equal(e.detail_len, CHAIN_IEV_DETAIL_MAX);
    for (size_t i = 0; i < e.detail_len; i++)
        assert_int_equal(e.detail[i], i & 0xff);
    built_free(&b);
    free(detail);
    evm_decoder_free(d);
}

/* ---- intentState answers ---- */

static void position_words(char *out, const char *w[6])
{
    strcpy(out, "0x");
    for (int i = 0; i < 6; i++)
        strcat(out, w[i]);
}

#define Z60 "000000000000000000000000000000000000000000000000000000000000"
#define W(x) Z60 x /* a word: 60 zero digits then 4 */

static void position_decodes(void **state)
{
    (void)state;
    char hex[2 + 6 * 64 + 1], err[200];
    struct chain_intent_result r;
    const char *w[6] = {W("0002"), W("0003"), W("0001"), W("0101"),
                        "000000000000000000000000cf7ed3acca5a467e9e704c703e8d87f634fb0fc9",
                        "0000000000000000000000000000000000000000000000000de0b6b3a7640000"};
    position_words(hex, w);
    memset(&r, 0xee, sizeof r);
    r.block_number = 5;
    assert_int_equal(evm_decode_position(&r, hex, err, sizeof err), FERRY_OK);
    assert_int_equal(r.status, CHAIN_ISTATUS_IN_FLIGHT);
    assert_int_equal(r.step, 3);
    assert_true(r.final_hop);
    assert_int_equal(r.hop_sequence, 0x101);
    uint8_t token[20], amount[32];
    unhex(token, 20, TOKEN);
    unhex(amount, 32, "0x0000000000000000000000000000000000000000000000000de0b6b3a7640000");
    assert_memory_equal(r.token, token, 20);
    assert_memory_equal(r.amount, amount, 32);
    assert_int_equal(r.block_number, 5); /* left alone */

    /* every status the router has; the next one is refused */
    for (unsigned s = 0; s <= 9; s++) {
        char sw[65];
        snprintf(sw, sizeof sw, Z60 "%04x", s);
        const char *w2[6] = {sw, w[1], w[2], w[3], w[4], w[5]};
        position_words(hex, w2);
        err[0] = 0;
        enum ferry_err e = evm_decode_position(&r, hex, err, sizeof err);
        if (s <= 8) {
            assert_int_equal(e, FERRY_OK);
            assert_int_equal(r.status, s);
        } else {
            assert_int_equal(e, FERRY_EINVAL);
            assert_non_null(strstr(err, "status 9"));
        }
    }
    /* a word wider than its type */
    static const char *const bad_word[6] = {W("0100"), "000000000000000000000000000000000000000000000000000000000001"
                                                       "0000",
                                            W("0002"), "0000000000000000000000000000000000000000000000010000000000000000",
                                            "000000000000000000000001cf7ed3acca5a467e9e704c703e8d87f634fb0fc9", NULL};
    static const char *const bad_name[5] = {"status", "step", "finalHop", "hopSequence", "token"};
    for (int i = 0; i < 5; i++) {
        const char *w2[6] = {w[0], w[1], w[2], w[3], w[4], w[5]};
        w2[i] = bad_word[i];
        position_words(hex, w2);
        err[0] = 0;
        assert_int_equal(evm_decode_position(&r, hex, err, sizeof err), FERRY_EINVAL);
        if (!strstr(err, bad_name[i]))
            fail_msg("word %d: %s does not name %s", i, err, bad_name[i]);
    }
    /* nothing (no code at the address), too short, too long, not hex */
    assert_int_equal(evm_decode_position(&r, "0x", err, sizeof err), FERRY_EINVAL);
    assert_non_null(strstr(err, "no IntentRouter code"));
    position_words(hex, w);
    hex[strlen(hex) - 2] = 0;
    assert_int_equal(evm_decode_position(&r, hex, err, sizeof err), FERRY_EINVAL);
    position_words(hex, w);
    char longer[sizeof hex + 2];
    memcpy(longer, hex, strlen(hex));
    memcpy(longer + strlen(hex), "00", 3);
    assert_int_equal(evm_decode_position(&r, longer, err, sizeof err), FERRY_EINVAL);
    hex[10] = 'g';
    assert_int_equal(evm_decode_position(&r, hex, err, sizeof err), FERRY_EINVAL);
}

/* ==== against anvil ==== */

static const char *DEV0_KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
static const char *ATT_ADDRS = "[0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC,0x70997970C51812dc3A010C7d01b50e0d17dc79C8,"
                               "0x90F79bf6EB2c4f870365E785982E1f101E93b906]";
static const char *ATT_KEYS[2] = {
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a", /* 0x3C44... */
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", /* 0x7099... */
};
static const char *SUB_KEY = "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
static const char *RECIPIENT = "0x000000000000000000000000000000000000dEaD";
#define OUR_CHAIN 31337u
#define PEER_CHAIN 31338u

#define MAX_IEV 32

struct fx {
    struct evm_rig r;
    char gateway[43], vault[43], router[43], token[43];
    /* what came back through the env, with the order of the calls */
    unsigned calls;
    struct chain_intent_event iev[MAX_IEV];
    unsigned iev_call[MAX_IEV];
    uint8_t iev_detail[MAX_IEV][CHAIN_IEV_DETAIL_MAX];
    size_t niev;
    struct chain_event ev[64];
    unsigned ev_call[64];
    size_t nev;
    char sub_state[8][64];
    /* query_intent */
    int answers;
    enum ferry_err q_err;
    struct chain_intent_result q;
};

static struct fx F;

static void env_intents(void *engine, struct chain *c, const struct chain_intent_event *ev, size_t n)
{
    (void)c;
    struct fx *f = engine;
    f->calls++;
    for (size_t i = 0; i < n && f->niev < MAX_IEV; i++) {
        f->iev[f->niev] = ev[i];
        if (ev[i].detail_len) {
            memcpy(f->iev_detail[f->niev], ev[i].detail, ev[i].detail_len);
            f->iev[f->niev].detail = f->iev_detail[f->niev];
        }
        f->iev_call[f->niev++] = f->calls;
    }
}

static void env_events(void *engine, struct chain *c, const struct chain_event *ev, size_t n, uint64_t token)
{
    struct fx *f = engine;
    f->calls++;
    for (size_t i = 0; i < n && f->nev < 64; i++) {
        f->ev[f->nev] = ev[i];
        f->ev[f->nev].packet.payload = NULL;
        f->ev[f->nev].ack.result = NULL;
        f->ev_call[f->nev++] = f->calls;
    }
    f->r.ops->events_done(c, token);
}

static void env_submission(void *engine, struct chain *c, const struct chain_submission *s)
{
    (void)c;
    if (s->error)
        fprintf(stderr, "# submission %s: %s: %s\n", s->id, chain_submission_state_name(s->state), s->error);
    evm_rig_record_submission(&((struct fx *)engine)->r, s);
}

static const char *want_sub;
static bool sub_final(void)
{
    for (size_t i = 0; i < F.r.nsubs; i++)
        if (strcmp(F.r.sub_ids[i], want_sub) == 0 &&
            (F.r.subs[i].state == CHAIN_SUB_CONFIRMED || F.r.subs[i].state == CHAIN_SUB_REVERTED ||
             F.r.subs[i].state == CHAIN_SUB_REFUSED))
            return true;
    return false;
}

static enum chain_submission_state wait_sub(const char *id)
{
    want_sub = id;
    evm_rig_run_until(&F.r, sub_final, 30000, id);
    for (size_t i = F.r.nsubs; i-- > 0;)
        if (strcmp(F.r.sub_ids[i], id) == 0)
            return F.r.subs[i].state;
    return CHAIN_SUB_UNKNOWN;
}

static enum chain_intent_event_kind want_kind;
static bool got_kind(void)
{
    for (size_t i = 0; i < F.niev; i++)
        if (F.iev[i].kind == want_kind)
            return true;
    return false;
}

static const struct chain_intent_event *wait_iev(enum chain_intent_event_kind k, const char *what)
{
    want_kind = k;
    evm_rig_run_until(&F.r, got_kind, 30000, what);
    for (size_t i = 0; i < F.niev; i++)
        if (F.iev[i].kind == k)
            return &F.iev[i];
    return NULL;
}

static void on_intent(void *ud, enum ferry_err err, const struct chain_intent_result *r)
{
    struct fx *f = ud;
    f->q_err = err;
    if (r)
        f->q = *r;
    f->answers++;
}

static bool answered(void) { return F.answers > 0; }

static void ask(const uint8_t id[32])
{
    F.answers = 0;
    memset(&F.q, 0, sizeof F.q);
    assert_int_equal(F.r.ops->query_intent(F.r.c, id, on_intent, &F), FERRY_OK);
    assert_int_equal(F.answers, 0); /* never from inside the call */
    evm_rig_run_until(&F.r, answered, 10000, "query_intent");
    assert_int_equal(F.q_err, FERRY_OK);
}

static cJSON *chain_config(bool with_router)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"name\":\"alpha\",\"kind\":\"evm\",\"chain_id\":%u,\"rpc\":[\"%s\"],\"gateway\":\"%s\","
             "\"vault\":\"%s\"%s%s%s,\"confirmations\":1,\"poll_interval\":\"100ms\","
             "\"max_fee_per_gas\":\"100 gwei\",\"submitter\":\"sub\"}",
             OUR_CHAIN, F.r.anvil.url, F.gateway, F.vault, with_router ? ",\"router\":\"" : "",
             with_router ? F.router : "", with_router ? "\"" : "");
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    return j;
}

static struct chain_env the_env(void)
{
    return (struct chain_env){.loop = F.r.loop,
                              .store = F.r.st,
                              .signer = F.r.sg,
                              .engine = &F,
                              .on_events = env_events,
                              .on_deep_reorg = evm_rig_no_reorg,
                              .on_submission = env_submission,
                              .on_intent_events = env_intents};
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    static const char *const need[] = {"Gateway", "TokenVault", "IntentRouter", "TestToken", "Voucher", NULL};
    if (!evm_rig_start(&F.r, need))
        return 0;
    const char *url = F.r.anvil.url;
    anvil_deploy(url, "Gateway", "(address,address[],uint8)", (const char *[]){ANVIL_DEV0, ATT_ADDRS, "2"}, 3,
                 F.gateway, NULL);
    anvil_deploy(url, "TokenVault", "(address,address)", (const char *[]){F.gateway, ANVIL_DEV0}, 2, F.vault, NULL);
    anvil_deploy(url, "IntentRouter", "(address,address)", (const char *[]){F.vault, ANVIL_DEV0}, 2, F.router, NULL);
    anvil_deploy(url, "TestToken", "(string,string,uint8)", (const char *[]){"\"Ferry Test A\"", "\"FTA\"", "18"},
                 3, F.token, NULL);
    /* the peer chain's vault and router: any addresses do, nothing arrives there in this test */
    char peer_vault[67];
    memcpy(peer_vault, "0x000000000000000000000000", 26);
    memcpy(peer_vault + 26, F.vault + 2, 41); /* 40 digits and the NUL */
    anvil_call_tx(url, F.vault, "setPeer(uint64,bytes32)", (const char *[]){"31338", peer_vault}, 2);
    anvil_call_tx(url, F.router, "setPeer(uint64,address)", (const char *[]){"31338", F.router}, 2);
    /* the owner (dev 0) holds FTA and lets the router pull it */
    anvil_call_tx(url, F.token, "mint(address,uint256)", (const char *[]){ANVIL_DEV0, "5000000000000000000"}, 2);
    anvil_call_tx(url, F.token, "approve(address,uint256)", (const char *[]){F.router, "5000000000000000000"}, 2);

    evm_rig_open(&F.r, "evmintent");
    evm_rig_add_key(&F.r, "sub", SUB_KEY);
    evm_rig_add_key(&F.r, "owner", DEV0_KEY);
    evm_rig_add_key(&F.r, "att1", ATT_KEYS[0]);
    evm_rig_add_key(&F.r, "att2", ATT_KEYS[1]);
    assert_non_null(chain_family("evm")->query_intent);
    struct chain_env env = the_env();
    evm_rig_open_chain(&F.r, chain_config(true), &env);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    evm_rig_close(&F.r);
    return 0;
}

#define NEED_ANVIL() EVM_RIG_NEED_ANVIL(&F.r)

#define INTENT_T                                                                                         \
    "(address,uint64,uint256,uint64,uint8,address,(uint8,uint64,address,uint256,uint64,address,address,bytes," \
    "address,uint256,uint64)[])"
#define ZERO_ADDR "0x0000000000000000000000000000000000000000"

/* One cross-chain transfer of 1 FTA to RECIPIENT on the peer chain, hop timeout `timeout` s. */
static void intent_text(char *out, size_t n, const char *nonce, uint64_t deadline, uint64_t timeout)
{
    snprintf(out, n, "(%s,%u,%s,%" PRIu64 ",0,%s,[(0,%u,%s,1000000000000000000,%u,%s,%s,0x,%s,0,%" PRIu64 ")])",
             ANVIL_DEV0, OUR_CHAIN, nonce, deadline, ZERO_ADDR, OUR_CHAIN, F.token, PEER_CHAIN, RECIPIENT, ZERO_ADDR,
             ZERO_ADDR, timeout);
}

/* Opens it through CHAIN_CALL_ROUTER, signed by the owner; its id into id. */
static void open_intent(const char *intent, const char *sub_id, uint8_t id[32])
{
    anvil_view(F.r.anvil.url, F.router, "intentId(" INTENT_T ")", (const char *[]){intent}, 1, id, 32);
    uint8_t sig[CHAIN_SIG_LEN];
    assert_int_equal(signer_sign_digest(F.r.sg, "owner", id, sig), FERRY_OK);
    sig[64] += 27;
    char *sighex = tu_hexstr(sig, sizeof sig);
    struct fbuf cd;
    fbuf_init(&cd, 1 << 16);
    anvil_calldata(&cd, "open(" INTENT_T ",bytes)", (const char *[]){intent, sighex}, 2);
    free(sighex);
    struct chain_call call = {.kind = CHAIN_CALL_ROUTER, .data = cd.data, .data_len = cd.len};
    assert_int_equal(F.r.ops->submit(F.r.c, sub_id, &call), FERRY_OK);
    fbuf_free(&cd);
    assert_int_equal(wait_sub(sub_id), CHAIN_SUB_CONFIRMED);
}

static void submit_advance(const char *intent, const char *sub_id, unsigned step)
{
    char s[8];
    snprintf(s, sizeof s, "%u", step);
    struct fbuf cd;
    fbuf_init(&cd, 1 << 16);
    anvil_calldata(&cd, "advance(" INTENT_T ",uint256)", (const char *[]){intent, s}, 2);
    struct chain_call call = {.kind = CHAIN_CALL_ROUTER, .data = cd.data, .data_len = cd.len};
    assert_int_equal(F.r.ops->submit(F.r.c, sub_id, &call), FERRY_OK);
    fbuf_free(&cd);
}

static uint64_t chain_now(void)
{
    cJSON *b = tu_anvil_call(F.r.anvil.url, "eth_getBlockByNumber", "[\"latest\",false]");
    uint64_t ts = 0;
    assert_int_equal(hex_quantity_u64(&ts, cJSON_GetObjectItemCaseSensitive(b, "timestamp")->valuestring), FERRY_OK);
    cJSON_Delete(b);
    return ts;
}

static void open_advance_query(void **state)
{
    (void)state;
    NEED_ANVIL();
    uint8_t id[32], none[32] = {0}, owner[20], token[20], amount[32];
    unhex(owner, 20, ANVIL_DEV0);
    unhex(token, 20, F.token);
    unhex(amount, 32, "0x0000000000000000000000000000000000000000000000000de0b6b3a7640000");
    char intent[1024];
    uint64_t deadline = chain_now() + 3600;
    intent_text(intent, sizeof intent, "7", deadline, 0);

    /* never seen: None */
    ask(none);
    assert_int_equal(F.q.status, CHAIN_ISTATUS_NONE);
    assert_true(F.q.block_number > 0 && F.q.block_timestamp > 0);

    open_intent(intent, "intent:test:open", id);
    const struct chain_intent_event *e = wait_iev(CHAIN_IEV_OPENED, "IntentOpened");
    assert_memory_equal(e->intent_id, id, 32);
    assert_memory_equal(e->owner, owner, 20);
    assert_memory_equal(e->token, token, 20);
    assert_memory_equal(e->amount, amount, 32);
    assert_int_equal(e->deadline, deadline);
    assert_int_equal(e->nonce[31], 7);
    assert_int_equal(e->at.chain_id, OUR_CHAIN);
    assert_true(e->at.block_timestamp > 0);
    ask(id);
    assert_int_equal(F.q.status, CHAIN_ISTATUS_HOLDING);
    assert_int_equal(F.q.step, 0);
    assert_memory_equal(F.q.token, token, 20);
    assert_memory_equal(F.q.amount, amount, 32);

    /* advance: the hop leaves (StepExecuted with its sequence), and the PacketSent of the same
     * block comes to on_events after the intent events of that batch */
    submit_advance(intent, "intent:test:step0", 0);
    assert_int_equal(wait_sub("intent:test:step0"), CHAIN_SUB_CONFIRMED);
    e = wait_iev(CHAIN_IEV_STEP_EXECUTED, "StepExecuted");
    assert_memory_equal(e->intent_id, id, 32);
    assert_int_equal(e->step, 0);
    assert_int_equal(e->sequence, 1);
    assert_memory_equal(e->token, token, 20);
    assert_memory_equal(e->amount, amount, 32);
    size_t k = 0;
    while (k < F.nev && F.ev[k].kind != CHAIN_EV_PACKET_SENT)
        k++;
    assert_true(k < F.nev);
    assert_int_equal(F.ev[k].at.block_number, e->at.block_number);
    assert_int_equal(F.ev_call[k], F.iev_call[e - F.iev] + 1); /* the very next call, same batch */
    ask(id);
    assert_int_equal(F.q.status, CHAIN_ISTATUS_IN_FLIGHT);
    assert_int_equal(F.q.step, 0);
    assert_true(F.q.final_hop);
    assert_int_equal(F.q.hop_sequence, 1);

    /* a step that is not the next one is refused by the dry run: nothing reaches the chain */
    submit_advance(intent, "intent:test:again", 0);
    assert_int_equal(wait_sub("intent:test:again"), CHAIN_SUB_REFUSED);

    /* the hop times out (attested past its timeout): it comes back to the router, Refunding */
    struct chain_event sent = F.ev[k];
    uint64_t timeout_ts = sent.packet.timeout_ts;
    assert_int_equal(timeout_ts, deadline);
    /* the packet again, with its payload, from the chain (the event kept none) */
    size_t before = F.nev;
    (void)before;
    char p[256];
    snprintf(p, sizeof p, "[{\"fromBlock\":\"0x%" PRIx64 "\",\"toBlock\":\"0x%" PRIx64 "\",\"address\":\"%s\"}]",
             sent.at.block_number, sent.at.block_number, F.gateway);
    cJSON *logs = tu_anvil_call(F.r.anvil.url, "eth_getLogs", p);
    struct evm_logs L;
    assert_int_equal(evm_logs_parse(&L, logs, 100), FERRY_OK);
    struct evm_decoder *d;
    assert_int_equal(evm_decoder_new(&d), FERRY_OK);
    struct chain_event pev;
    struct evm_app_event app;
    enum evm_decoded what;
    bool found = false;
    for (size_t i = 0; i < L.n && !found; i++)
        found = evm_decode_log(d, OUR_CHAIN, EVM_SRC_GATEWAY, &L.logs[i], 0, &what, &pev, &app) == FERRY_OK &&
                what == EVM_DECODED_CHAIN && pev.kind == CHAIN_EV_PACKET_SENT;
    assert_true(found);
    uint8_t digest[32], sigs[2][CHAIN_SIG_LEN];
    assert_int_equal(F.r.ops->attest_digest(F.r.c, CHAIN_ATTEST_TIMEOUT, &pev.packet, NULL, timeout_ts, digest),
                     FERRY_OK);
    assert_int_equal(signer_sign_digest(F.r.sg, "att1", digest, sigs[0]), FERRY_OK); /* 0x3C44.. < 0x7099.. */
    assert_int_equal(signer_sign_digest(F.r.sg, "att2", digest, sigs[1]), FERRY_OK);
    struct chain_attestation att = {.count = 2, .sigs = sigs};
    struct chain_call to = {.kind = CHAIN_CALL_TIMEOUT, .n = 1, .packets = &pev.packet, .attestations = &att,
                            .proof_timestamp = timeout_ts};
    assert_int_equal(F.r.ops->submit(F.r.c, "timeout:test", &to), FERRY_OK);
    assert_int_equal(wait_sub("timeout:test"), CHAIN_SUB_CONFIRMED);
    evm_decoder_free(d);
    evm_logs_free(&L);
    cJSON_Delete(logs);

    e = wait_iev(CHAIN_IEV_TRANSFER_REFUNDED, "the vault's TransferRefunded of the router's hop");
    assert_int_equal(e->sequence, 1);
    assert_true(e->timed_out);
    assert_memory_equal(e->token, token, 20);
    assert_memory_equal(e->amount, amount, 32);
    assert_true(is_zero(e->intent_id, 32));
    e = wait_iev(CHAIN_IEV_HOP_RETURNED, "HopReturned");
    assert_memory_equal(e->intent_id, id, 32);
    assert_int_equal(e->sequence, 1);
    assert_memory_equal(e->amount, amount, 32);
    ask(id);
    assert_int_equal(F.q.status, CHAIN_ISTATUS_REFUNDING);

    /* the refund: on the origin, straight back to the owner */
    struct fbuf cd;
    fbuf_init(&cd, 1 << 16);
    anvil_calldata(&cd, "refund(" INTENT_T ")", (const char *[]){intent}, 1);
    struct chain_call rf = {.kind = CHAIN_CALL_ROUTER, .data = cd.data, .data_len = cd.len};
    assert_int_equal(F.r.ops->submit(F.r.c, "intent:test:refund", &rf), FERRY_OK);
    fbuf_free(&cd);
    assert_int_equal(wait_sub("intent:test:refund"), CHAIN_SUB_CONFIRMED);
    e = wait_iev(CHAIN_IEV_REFUNDED, "IntentRefunded");
    assert_memory_equal(e->intent_id, id, 32);
    assert_memory_equal(e->amount, amount, 32);
    ask(id);
    assert_int_equal(F.q.status, CHAIN_ISTATUS_REFUNDED);
    /* no event came twice, and none that is not an intent's (TransferSent, ...) came at all */
    int count[CHAIN_IEV__COUNT] = {0};
    for (size_t i = 0; i < F.niev; i++)
        count[F.iev[i].kind]++;
    assert_int_equal(count[CHAIN_IEV_OPENED], 1);
    assert_int_equal(count[CHAIN_IEV_STEP_EXECUTED], 1);
    assert_int_equal(count[CHAIN_IEV_TRANSFER_REFUNDED], 1);
    assert_int_equal(count[CHAIN_IEV_HOP_RETURNED], 1);
    assert_int_equal(count[CHAIN_IEV_REFUNDED], 1);
    assert_int_equal(F.niev, 5);
}

static void cancel_before_step0(void **state)
{
    (void)state;
    NEED_ANVIL();
    char intent[1024];
    uint8_t id[32];
    intent_text(intent, sizeof intent, "8", chain_now() + 3600, 0);
    size_t before = F.niev;
    open_intent(intent, "intent:test2:open", id);
    struct fbuf cd;
    fbuf_init(&cd, 1 << 16);
    anvil_calldata(&cd, "cancel(" INTENT_T ")", (const char *[]){intent}, 1);
    struct chain_call call = {.kind = CHAIN_CALL_ROUTER, .data = cd.data, .data_len = cd.len};
    /* cancel is the owner's (or the opener's): our submitter opened it */
    assert_int_equal(F.r.ops->submit(F.r.c, "intent:test2:cancel", &call), FERRY_OK);
    fbuf_free(&cd);
    enum chain_submission_state st = wait_sub("intent:test2:cancel");
    if (st != CHAIN_SUB_CONFIRMED) {
        /* a router that lets only the owner cancel: the owner does it, the event is the same */
        assert_int_equal(st, CHAIN_SUB_REFUSED);
        anvil_call_tx(F.r.anvil.url, F.router, "cancel(" INTENT_T ")", (const char *[]){intent}, 1);
    }
    const struct chain_intent_event *e = wait_iev(CHAIN_IEV_CANCELLED, "IntentCancelled");
    assert_memory_equal(e->intent_id, id, 32);
    assert_true(F.niev > before);
    ask(id);
    assert_int_equal(F.q.status, CHAIN_ISTATUS_CANCELLED);
}

/* Without a router in the chain's config: router calls and queries are refused at once, and the
 * vault's refunds are nobody's intent events. */
static void no_router_configured(void **state)
{
    (void)state;
    NEED_ANVIL();
    struct chain_env env = the_env();
    cJSON *cfg = chain_config(false);
    struct chain *c2;
    assert_int_equal(F.r.ops->open(&c2, cfg, &env), FERRY_OK);
    cJSON_Delete(cfg);
    uint8_t data[4] = {1, 2, 3, 4}, id[32] = {0};
    struct chain_call call = {.kind = CHAIN_CALL_ROUTER, .data = data, .data_len = 4};
    assert_int_equal(F.r.ops->submit(c2, "intent:x", &call), FERRY_ESTATE);
    assert_non_null(strstr(ferry_errmsg(), "no router"));
    assert_int_equal(F.r.ops->submission(c2, "intent:x", &F.r.subs[63]), CHAIN_SUB_UNKNOWN);
    F.answers = 0;
    assert_int_equal(F.r.ops->query_intent(c2, id, on_intent, &F), FERRY_ESTATE);
    assert_non_null(strstr(ferry_errmsg(), "no router"));
    F.r.ops->close(c2);
    assert_int_equal(F.answers, 0);
    /* empty router calldata is refused too */
    call.data_len = 0;
    assert_int_equal(F.r.ops->submit(F.r.c, "intent:y", &call), FERRY_EINVAL);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(router_events_convert),
        cmocka_unit_test(other_app_events_are_not_intents),
        cmocka_unit_test(what_the_router_never_emits_is_refused),
        cmocka_unit_test(position_decodes),
    };
    const struct CMUnitTest anvil[] = {
        cmocka_unit_test(open_advance_query),
        cmocka_unit_test(cancel_before_step0),
        cmocka_unit_test(no_router_configured),
    };
    int failed = cmocka_run_group_tests_name("evm intent events", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("evm intent on anvil", anvil, setup, teardown);
    return failed;
}
