/* The packet engine, driven by hand: an in-memory (or LevelDB) store, a fake chain adapter
 * written here (its submit records calls and lets the test complete them, query_received
 * answers from a table, the test injects events through it), and attesters that sign with
 * anvil's well-known dev keys through libsecp256k1. The engine is ticked and the store
 * flushed explicitly, the way the daemon's loop will do it. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "../../src/engine_internal.h"
#include "ferry/engine.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"
#include "ferry/log.h"
#include "ferry/metrics.h"
#include "ferry/store.h"
#include "testutil.h"

/* ---- attesters: anvil's dev accounts 0..3 ---- */

static const char *const dev_keys[4] = {
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
};
static const char *const dev_addrs[4] = {
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
};
static const char *const dev_names[4] = {"att0", "att1", "att2", "att3"};

static secp256k1_context *secp;
static int sign_calls;

static enum ferry_err fake_sign(void *ud, const char *key_name, const uint8_t digest[32], uint8_t sig[65])
{
    (void)ud;
    for (int i = 0; i < 4; i++) {
        if (strcmp(key_name, dev_names[i]))
            continue;
        uint8_t sk[32];
        assert_int_equal(hex_decode_exact(sk, 32, dev_keys[i], HEX_PREFIX_FORBIDDEN), FERRY_OK);
        secp256k1_ecdsa_recoverable_signature rs;
        int recid;
        assert_true(secp256k1_ecdsa_sign_recoverable(secp, &rs, digest, sk, NULL, NULL));
        secp256k1_ecdsa_recoverable_signature_serialize_compact(secp, sig, &recid, &rs);
        sig[64] = (uint8_t)recid;
        memset(sk, 0, sizeof sk);
        sign_calls++;
        return FERRY_OK;
    }
    return ferry_fail(FERRY_ENOTFOUND, "no key %s", key_name);
}

static void recover_addr(uint8_t addr[20], const uint8_t digest[32], const uint8_t sig[65])
{
    secp256k1_ecdsa_recoverable_signature rs;
    secp256k1_pubkey pub;
    uint8_t ser[65];
    size_t len = sizeof ser;
    assert_true(sig[64] <= 1);
    assert_true(secp256k1_ecdsa_recoverable_signature_parse_compact(secp, &rs, sig, sig[64]));
    assert_true(secp256k1_ecdsa_recover(secp, &pub, &rs, digest));
    assert_true(secp256k1_ec_pubkey_serialize(secp, ser, &len, &pub, SECP256K1_EC_UNCOMPRESSED));
    address_from_pubkey(addr, ser + 1);
}

/* The address of dev key i, derived from the key and checked against anvil's list. */
static void dev_address(int i, uint8_t out[20])
{
    uint8_t sk[32], ser[65];
    size_t len = sizeof ser;
    secp256k1_pubkey pub;
    assert_int_equal(hex_decode_exact(sk, 32, dev_keys[i], HEX_PREFIX_FORBIDDEN), FERRY_OK);
    assert_true(secp256k1_ec_pubkey_create(secp, &pub, sk));
    assert_true(secp256k1_ec_pubkey_serialize(secp, ser, &len, &pub, SECP256K1_EC_UNCOMPRESSED));
    address_from_pubkey(out, ser + 1);
    uint8_t want[20];
    assert_int_equal(address_parse(want, dev_addrs[i]), FERRY_OK);
    assert_memory_equal(out, want, 20);
}

/* ---- a fake chain adapter ---- */

#define FK_BATCH 32
#define FK_SUBS 96
#define FK_QUERIES 512

struct fk_sub {
    char id[ENGINE_SUB_ID_MAX];
    enum chain_call_kind kind;
    size_t n;
    struct packet pk[FK_BATCH];
    size_t nsig;
    uint8_t sig[FK_BATCH][4][CHAIN_SIG_LEN];
    struct packet_ack ack;             /* ACK: the first packet's (acks[0]) */
    struct packet_ack acks[FK_BATCH];  /* ACK: acks[i] for pk[i] */
    uint64_t proof;
    enum chain_submission_state state;
    uint8_t tx[32];
    int calls; /* submit() calls with this id */
};

struct fk_query {
    bool pending; /* query_pending (else query_received) */
    uint64_t src, seq;
    chain_received_cb rcb;
    chain_pending_cb pcb;
    void *ud;
};

struct chain {
    uint64_t id;
    char name[16];
    struct chain_env env;
    struct store *st; /* where the fake "persists" its submissions, like an adapter's write-ahead */
    struct chain_head head;
    struct fk_sub subs[FK_SUBS];
    size_t nsubs;
    size_t submit_calls;
    struct pkey recv[256]; /* destination side: received (src, seq) */
    size_t nrecv;
    uint64_t settled[256]; /* source side: sequences no longer pending */
    size_t nsettled;
    struct fk_query q[FK_QUERIES];
    size_t nq;
    size_t queries_asked;
    uint64_t done[512];
    size_t ndone;
    uint64_t token;
    size_t asked_submission; /* ops->submission calls */
    enum ferry_err submit_fail;
    enum ferry_err query_fail;
    bool lose_submits; /* submit says OK but keeps nothing (a crash before its write-ahead) */
    bool kill_in_submit; /* SIGKILL on entering submit (kill -9 tests) */
};

static void fk_packet_id(const struct packet *p, uint8_t out[32])
{
    struct keccak_ctx k;
    uint8_t b[8];
    keccak256_init(&k);
    store_be64_put(b, p->src_chain);
    keccak256_update(&k, b, 8);
    store_be64_put(b, p->dst_chain);
    keccak256_update(&k, b, 8);
    store_be64_put(b, p->sequence);
    keccak256_update(&k, b, 8);
    keccak256_update(&k, p->sender, 32);
    keccak256_update(&k, p->receiver, 32);
    store_be64_put(b, p->timeout_ts);
    keccak256_update(&k, b, 8);
    keccak256_update(&k, p->payload, p->payload_len);
    keccak256_final(&k, out);
}

/* Not EIP-712, but bound to the verifying chain, the kind and every field that matters. */
static void fk_digest(uint64_t chain, enum chain_attest_kind kind, const struct packet *p, const struct packet_ack *ack,
                      uint64_t proof, uint8_t out[32])
{
    struct keccak_ctx k;
    uint8_t b[8], id[32];
    keccak256_init(&k);
    keccak256_update(&k, "fake", 4);
    store_be64_put(b, chain);
    keccak256_update(&k, b, 8);
    b[0] = (uint8_t)kind;
    keccak256_update(&k, b, 1);
    fk_packet_id(p, id);
    keccak256_update(&k, id, 32);
    if (ack) {
        b[0] = ack->success;
        keccak256_update(&k, b, 1);
        keccak256_update(&k, ack->result, ack->result_len);
    }
    store_be64_put(b, proof);
    keccak256_update(&k, b, 8);
    keccak256_final(&k, out);
}

static enum ferry_err fk_open(struct chain **out, const cJSON *config, const struct chain_env *env)
{
    *out = NULL;
    return ferry_fail(FERRY_EUNSUPPORTED, "fake chains are made by the test");
}
static int fk_check_config(const cJSON *c, void (*problem)(void *, const char *, const char *), void *ud) { return 0; }
static enum ferry_err fk_start(struct chain *c) { return FERRY_OK; }
static void fk_stop(struct chain *c) {}
static void fk_close(struct chain *c) {}
static uint64_t fk_chain_id(const struct chain *c) { return c->id; }
static const char *fk_name(const struct chain *c) { return c->name; }
static struct chain_head fk_head(const struct chain *c) { return c->head; }
static enum ferry_err fk_attest_digest(struct chain *c, enum chain_attest_kind kind, const struct packet *p,
                                       const struct packet_ack *ack, uint64_t proof, uint8_t out[32])
{
    fk_digest(c->id, kind, p, ack, proof, out);
    return FERRY_OK;
}

static struct fk_sub *fk_find(struct chain *c, const char *id)
{
    for (size_t i = 0; i < c->nsubs; i++)
        if (!strcmp(c->subs[i].id, id))
            return &c->subs[i];
    return NULL;
}

static void fk_persist_key(struct store_key *k, const struct chain *c, const char *id)
{
    char name[128];
    snprintf(name, sizeof name, "fake-sub:%" PRIu64 ":%s", c->id, id);
    store_key_begin(k, STORE_KIND_META);
    store_key_bytes(k, name, strlen(name));
}

static enum ferry_err fk_submit(struct chain *c, const char *id, const struct chain_call *call)
{
    c->submit_calls++;
    if (c->kill_in_submit)
        raise(SIGKILL);
    if (c->submit_fail) {
        enum ferry_err e = c->submit_fail;
        c->submit_fail = FERRY_OK;
        return ferry_fail(e, "fake: submit refused");
    }
    struct fk_sub *s = fk_find(c, id);
    if (s) { /* idempotent per id */
        s->calls++;
        return FERRY_OK;
    }
    if (c->lose_submits)
        return FERRY_OK;
    assert_true(c->nsubs < FK_SUBS);
    assert_true(call->n <= FK_BATCH);
    s = &c->subs[c->nsubs++];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    s->kind = call->kind;
    s->n = call->n;
    s->calls = 1;
    s->state = CHAIN_SUB_PENDING;
    keccak256(s->tx, id, strlen(id));
    for (size_t i = 0; i < call->n; i++) {
        assert_int_equal(packet_copy(&s->pk[i], &call->packets[i]), FERRY_OK);
        assert_true(call->attestations[i].count <= 4);
        s->nsig = call->attestations[i].count;
        memcpy(s->sig[i], call->attestations[i].sigs, s->nsig * CHAIN_SIG_LEN);
    }
    if (call->kind == CHAIN_CALL_ACK) {
        /* n > 1 needs acks; n = 1 may come either way, and both must agree when both are given */
        assert_true(call->acks || call->n == 1);
        for (size_t i = 0; i < call->n; i++)
            assert_int_equal(packet_ack_copy(&s->acks[i], call->acks ? &call->acks[i] : call->ack), FERRY_OK);
        if (call->acks && call->ack)
            assert_memory_equal(call->ack, &call->acks[0], sizeof *call->ack);
        assert_int_equal(packet_ack_copy(&s->ack, &s->acks[0]), FERRY_OK);
    }
    s->proof = call->proof_timestamp;
    if (c->st) { /* the adapter's write-ahead, durable at the next flush */
        struct store_key k;
        struct store_batch *b;
        fk_persist_key(&k, c, id);
        assert_int_equal(store_batch_begin(c->st, &b), FERRY_OK);
        store_put(b, k.b, k.len, "p", 1);
        assert_int_equal(store_commit_group(b, NULL, NULL), FERRY_OK);
    }
    return FERRY_OK;
}

static enum chain_submission_state fk_submission(struct chain *c, const char *id, struct chain_submission *out)
{
    c->asked_submission++;
    struct fk_sub *s = fk_find(c, id);
    memset(out, 0, sizeof *out);
    if (s) {
        memcpy(out->tx_hash, s->tx, 32);
        return s->state;
    }
    if (c->st) {
        struct store_key k;
        fk_persist_key(&k, c, id);
        if (store_get(c->st, NULL, NULL, k.b, k.len) == FERRY_OK)
            return CHAIN_SUB_PENDING;
    }
    return CHAIN_SUB_UNKNOWN;
}

static enum ferry_err fk_query_received(struct chain *c, uint64_t src, uint64_t seq, chain_received_cb cb, void *ud)
{
    assert_true(c->nq < FK_QUERIES);
    c->q[c->nq++] = (struct fk_query){.pending = false, .src = src, .seq = seq, .rcb = cb, .ud = ud};
    c->queries_asked++;
    return FERRY_OK;
}

static enum ferry_err fk_query_pending(struct chain *c, uint64_t seq, chain_pending_cb cb, void *ud)
{
    assert_true(c->nq < FK_QUERIES);
    c->q[c->nq++] = (struct fk_query){.pending = true, .src = c->id, .seq = seq, .pcb = cb, .ud = ud};
    c->queries_asked++;
    return FERRY_OK;
}

static void fk_events_done(struct chain *c, uint64_t token)
{
    assert_true(c->ndone < 512);
    c->done[c->ndone++] = token;
}
static enum ferry_err fk_resume(struct chain *c) { return FERRY_OK; }
static cJSON *fk_status(struct chain *c) { return cJSON_CreateObject(); }

static const struct chain_ops fake_ops = {
    .name = "fake",
    .open = fk_open,
    .check_config = fk_check_config,
    .start = fk_start,
    .stop = fk_stop,
    .close = fk_close,
    .chain_id = fk_chain_id,
    .chain_name = fk_name,
    .head = fk_head,
    .attest_digest = fk_attest_digest,
    .packet_id = fk_packet_id,
    .submit = fk_submit,
    .submission = fk_submission,
    .query_received = fk_query_received,
    .query_pending = fk_query_pending,
    .events_done = fk_events_done,
    .resume = fk_resume,
    .status = fk_status,
};

static bool fk_received(struct chain *c, uint64_t src, uint64_t seq)
{
    for (size_t i = 0; i < c->nrecv; i++)
        if (c->recv[i].src == src && c->recv[i].seq == seq)
            return true;
    return false;
}

static bool fk_settled(struct chain *c, uint64_t seq)
{
    for (size_t i = 0; i < c->nsettled; i++)
        if (c->settled[i] == seq)
            return true;
    return false;
}

/* Answers the queries asked so far (not those their callbacks ask); true if there were any. */
static bool fk_answer(struct chain *c)
{
    size_t n = c->nq;
    if (!n)
        return false;
    struct fk_query q[FK_QUERIES];
    memcpy(q, c->q, n * sizeof *q);
    c->nq = 0;
    for (size_t i = 0; i < n; i++) {
        if (q[i].pending) {
            struct chain_pending_result r = {!fk_settled(c, q[i].seq), c->head.confirmed, c->head.confirmed_timestamp};
            q[i].pcb(q[i].ud, c->query_fail, c->query_fail ? NULL : &r);
        } else {
            struct chain_received_result r = {fk_received(c, q[i].src, q[i].seq), c->head.confirmed,
                                              c->head.confirmed_timestamp};
            q[i].rcb(q[i].ud, c->query_fail, c->query_fail ? NULL : &r);
        }
    }
    return true;
}

/* The adapter reports a submission's new state. */
static void fk_report(struct chain *c, const char *id, enum chain_submission_state st, const char *error)
{
    struct fk_sub *s = fk_find(c, id);
    assert_non_null(s);
    s->state = st;
    struct chain_submission cs = {.id = id, .state = st, .block_number = 7, .error = error};
    memcpy(cs.tx_hash, s->tx, 32);
    c->env.on_submission(c->env.engine, c, &cs);
}

static struct chain *fk_new(uint64_t id, const char *name)
{
    struct chain *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->id = id;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->head = (struct chain_head){.number = 100, .timestamp = 1000, .confirmed = 90, .confirmed_timestamp = 990};
    return c;
}

static void fk_free(struct chain *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nsubs; i++) {
        for (size_t j = 0; j < c->subs[i].n; j++)
            packet_clear(&c->subs[i].pk[j]);
        packet_ack_clear(&c->subs[i].ack);
        for (size_t k = 0; k < FK_BATCH; k++)
            packet_ack_clear(&c->subs[i].acks[k]);
    }
    free(c);
}

/* ---- log capture ---- */

static char *logbuf;
static size_t loglen;

static void log_sink(void *ud, const char *line, size_t len)
{
    char *n = realloc(logbuf, loglen + len + 1);
    assert_non_null(n);
    logbuf = n;
    memcpy(logbuf + loglen, line, len);
    loglen += len;
    logbuf[loglen] = 0;
}

static size_t log_count(const char *needle)
{
    size_t n = 0;
    for (const char *p = logbuf; p && (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* ---- the harness ---- */

#define A_ID 100
#define B_ID 200
#define C_ID 300

struct h {
    char dir[64];
    char path[96];
    const char *backend;
    struct store *st;
    struct metrics *m;
    struct engine *e;
    struct engine_config cfg;
    struct engine_attester att[4];
    struct chain *a, *b, *c;
    unsigned threshold_b; /* per-chain threshold for B (0: default) */
    uint32_t batch_b, inflight_b; /* per-chain delivery window for B (0: default) */
    unsigned kicks;               /* calls of cfg.kick, when a test sets it */
};

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[512];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            rm_rf(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* A store, three fake chains and a config with `natt` attesters (dev keys 0..natt-1) and
 * threshold m; tests adjust h->cfg before h_start. */
static struct h *h_new(const char *backend, size_t natt, unsigned m)
{
    struct h *h = calloc(1, sizeof *h);
    assert_non_null(h);
    h->backend = backend;
    snprintf(h->dir, sizeof h->dir, "/tmp/ferry-engine-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    snprintf(h->path, sizeof h->path, "%s/db", h->dir);
    if (store_open(&h->st, backend, h->path))
        fail_msg("store_open: %s", ferry_errmsg());
    assert_int_equal(metrics_new(&h->m), FERRY_OK);
    for (size_t i = 0; i < natt; i++) {
        h->att[i].key_name = dev_names[i];
        dev_address((int)i, h->att[i].address);
    }
    engine_config_default(&h->cfg);
    h->cfg.store = h->st;
    h->cfg.metrics = h->m;
    h->cfg.attesters = h->att;
    h->cfg.n_attesters = natt;
    h->cfg.threshold = m;
    h->cfg.sign = fake_sign;
    h->cfg.jitter_pct = 0;
    h->cfg.seed = 42;
    h->a = fk_new(A_ID, "alpha");
    h->b = fk_new(B_ID, "beta");
    h->c = fk_new(C_ID, "gamma");
    h->a->st = h->b->st = h->c->st = h->st;
    free(logbuf);
    logbuf = NULL;
    loglen = 0;
    log_set_sink(log_sink, NULL);
    log_set_level(LOGL_DEBUG);
    return h;
}

static void h_start_at(struct h *h, uint64_t now)
{
    if (engine_new(&h->e, &h->cfg))
        fail_msg("engine_new: %s", ferry_errmsg());
    struct chain *cs[3] = {h->a, h->b, h->c};
    for (int i = 0; i < 3; i++) {
        cs[i]->nq = 0; /* queries of an earlier engine are gone with it */
        engine_chain_env(h->e, &cs[i]->env);
        struct engine_chain_config cc = {.threshold = cs[i] == h->b ? h->threshold_b : 0};
        if (cs[i] == h->b) {
            cc.batch_max = h->batch_b;
            cc.inflight_max = h->inflight_b;
        }
        if (engine_add_chain(h->e, &fake_ops, cs[i], &cc))
            fail_msg("engine_add_chain: %s", ferry_errmsg());
    }
    if (engine_start(h->e, now))
        fail_msg("engine_start: %s", ferry_errmsg());
}

static void h_start(struct h *h) { h_start_at(h, 1000); }

/* Frees the engine and closes the store (a clean stop: queued batches are flushed). */
static void h_stop(struct h *h)
{
    engine_free(h->e);
    h->e = NULL;
    assert_int_equal(store_close(h->st), FERRY_OK);
    h->st = NULL;
}

static void h_reopen(struct h *h)
{
    if (store_open(&h->st, h->backend, h->path))
        fail_msg("store_open: %s", ferry_errmsg());
    h->cfg.store = h->st;
    h->a->st = h->b->st = h->c->st = h->st;
}

static void h_free(struct h *h)
{
    engine_free(h->e);
    if (h->st)
        assert_int_equal(store_close(h->st), FERRY_OK);
    metrics_free(h->m);
    fk_free(h->a);
    fk_free(h->b);
    fk_free(h->c);
    rm_rf(h->dir);
    log_set_sink(NULL, NULL);
    log_set_level(LOGL_INFO);
    free(h);
}

/* Answers queries and flushes the store until nothing is left to do. */
static void pump(struct h *h)
{
    for (int i = 0; i < 100; i++) {
        bool any = fk_answer(h->a);
        any |= fk_answer(h->b);
        any |= fk_answer(h->c);
        if (store_flush(h->st))
            fail_msg("store_flush: %s", ferry_errmsg());
        if (!any && store_pending(h->st) == 0 && !h->a->nq && !h->b->nq && !h->c->nq)
            return;
    }
    fail_msg("pump: the engine keeps asking");
}

static void tick(struct h *h, uint64_t now)
{
    if (engine_tick(h->e, now))
        fail_msg("engine_tick: %s", ferry_errmsg());
}

static void mk_packet(struct packet *p, uint64_t src, uint64_t dst, uint64_t seq, uint64_t timeout)
{
    memset(p, 0, sizeof *p);
    p->src_chain = src;
    p->dst_chain = dst;
    p->sequence = seq;
    p->sender[31] = 0xaa;
    p->receiver[31] = 0xbb;
    p->timeout_ts = timeout;
    char pl[32];
    int n = snprintf(pl, sizeof pl, "payload-%" PRIu64, seq);
    p->payload = malloc((size_t)n);
    assert_non_null(p->payload);
    memcpy(p->payload, pl, (size_t)n);
    p->payload_len = (size_t)n;
}

static void inject(struct chain *c, const struct chain_event *ev, size_t n)
{
    c->env.on_events(c->env.engine, c, ev, n, ++c->token);
}

/* PacketSent on src, in a block at `block_ts`. */
static void send_packet(struct chain *src, uint64_t dst, uint64_t seq, uint64_t timeout, uint64_t block_ts)
{
    struct chain_event ev = {.kind = CHAIN_EV_PACKET_SENT};
    mk_packet(&ev.packet, src->id, dst, seq, timeout);
    fk_packet_id(&ev.packet, ev.packet_id);
    ev.at = (struct chain_event_origin){.chain_id = src->id, .block_number = 50 + seq, .block_timestamp = block_ts};
    ev.at.tx_hash[0] = 0x5e;
    ev.at.tx_hash[31] = (uint8_t)seq;
    inject(src, &ev, 1);
    packet_clear(&ev.packet);
}

/* PacketReceived on dst (also marks it received there). */
static void receive_packet(struct chain *dst, uint64_t src, uint64_t seq, uint64_t timeout, bool success,
                           const char *result)
{
    struct chain_event ev = {.kind = CHAIN_EV_PACKET_RECEIVED};
    struct packet p;
    mk_packet(&p, src, dst->id, seq, timeout);
    fk_packet_id(&p, ev.packet_id);
    packet_clear(&p);
    ev.packet.src_chain = src;
    ev.packet.dst_chain = dst->id;
    ev.packet.sequence = seq;
    ev.ack.success = success;
    ev.ack.result = (uint8_t *)result;
    ev.ack.result_len = strlen(result);
    ev.at = (struct chain_event_origin){.chain_id = dst->id, .block_number = 80, .block_timestamp = 995};
    ev.at.tx_hash[0] = 0x4e;
    ev.at.tx_hash[31] = (uint8_t)seq;
    if (!fk_received(dst, src, seq))
        dst->recv[dst->nrecv++] = (struct pkey){src, seq};
    inject(dst, &ev, 1);
}

/* PacketAcknowledged or PacketTimedOut on the source. */
static void settle_packet(struct chain *src, uint64_t dst, uint64_t seq, uint64_t timeout, bool acked, bool success)
{
    struct chain_event ev = {.kind = acked ? CHAIN_EV_PACKET_ACKED : CHAIN_EV_PACKET_TIMED_OUT};
    struct packet p;
    mk_packet(&p, src->id, dst, seq, timeout);
    fk_packet_id(&p, ev.packet_id);
    packet_clear(&p);
    ev.packet.src_chain = src->id;
    ev.packet.sequence = seq;
    ev.ack.success = success;
    ev.at = (struct chain_event_origin){.chain_id = src->id, .block_number = 85, .block_timestamp = 996};
    ev.at.tx_hash[0] = 0x3e;
    if (!fk_settled(src, seq))
        src->settled[src->nsettled++] = seq;
    inject(src, &ev, 1);
}

static enum packet_state stored_state(struct h *h, uint64_t src, uint64_t seq)
{
    struct packet_record r;
    if (packet_record_load(h->st, src, seq, &r))
        fail_msg("packet_record_load %" PRIu64 "/%" PRIu64 ": %s", src, seq, ferry_errmsg());
    enum packet_state s = r.state;
    packet_record_clear(&r);
    return s;
}

static void load(struct h *h, uint64_t src, uint64_t seq, struct packet_record *r)
{
    if (packet_record_load(h->st, src, seq, r))
        fail_msg("packet_record_load %" PRIu64 "/%" PRIu64 ": %s", src, seq, ferry_errmsg());
}

/* Asserts that every attestation in s holds `m` signatures over the right digest, from the
 * m lowest-addressed attesters held, in ascending signer order. */
static void check_attestations(struct h *h, const struct fk_sub *s, uint64_t verifier, enum chain_attest_kind kind,
                               size_t m)
{
    uint8_t sorted[4][20];
    size_t natt = h->cfg.n_attesters;
    for (size_t i = 0; i < natt; i++)
        memcpy(sorted[i], h->att[i].address, 20);
    for (size_t i = 0; i < natt; i++) /* insertion sort by address */
        for (size_t j = i; j > 0 && memcmp(sorted[j - 1], sorted[j], 20) > 0; j--) {
            uint8_t t[20];
            memcpy(t, sorted[j], 20);
            memcpy(sorted[j], sorted[j - 1], 20);
            memcpy(sorted[j - 1], t, 20);
        }
    assert_int_equal(s->nsig, m);
    for (size_t i = 0; i < s->n; i++) {
        uint8_t d[32];
        fk_digest(verifier, kind, &s->pk[i], kind == CHAIN_ATTEST_ACK ? &s->acks[i] : NULL, s->proof, d);
        uint8_t prev[20] = {0};
        for (size_t k = 0; k < m; k++) {
            uint8_t a[20];
            recover_addr(a, d, s->sig[i][k]);
            assert_memory_equal(a, sorted[k], 20);
            assert_true(memcmp(prev, a, 20) < 0); /* strictly ascending */
            memcpy(prev, a, 20);
        }
    }
}

static double metric(struct h *h, const char *line_prefix)
{
    struct fbuf b;
    fbuf_init(&b, 1 << 20);
    assert_int_equal(metrics_render(h->m, &b), FERRY_OK);
    const char *p = strstr((const char *)b.data, line_prefix);
    double v = -12345;
    if (p)
        v = strtod(p + strlen(line_prefix), NULL);
    fbuf_free(&b);
    return v;
}

/* ---- tests ---- */

static bool sub_has(const struct fk_sub *s, uint64_t seq);

static void happy_path(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h_start(h);
    send_packet(h->a, B_ID, 1, 5000, 999);
    /* Not durable yet: the adapter's cursor must not move, and reads do not see it. */
    assert_int_equal(h->a->ndone, 0);
    struct packet_record r;
    assert_int_equal(packet_record_load(h->st, A_ID, 1, &r), FERRY_ENOTFOUND);
    assert_int_equal(store_flush(h->st), FERRY_OK);
    assert_int_equal(h->a->ndone, 1);
    assert_int_equal(h->a->done[0], h->a->token);
    assert_int_equal(stored_state(h, A_ID, 1), PACKET_SENT);

    tick(h, 1001);
    assert_int_equal(h->b->nq, 1); /* checked against `received` first */
    assert_int_equal(h->b->nsubs, 0);
    fk_answer(h->b);
    assert_int_equal(h->b->nsubs, 0); /* DELIVERING is not durable yet: nothing submitted */
    assert_int_equal(store_flush(h->st), FERRY_OK);
    assert_int_equal(h->b->nsubs, 1);
    struct fk_sub *s = &h->b->subs[0];
    assert_string_equal(s->id, "dlv:200:100:1:0");
    assert_int_equal(s->kind, CHAIN_CALL_DELIVER);
    assert_int_equal(s->n, 1);
    assert_int_equal(s->pk[0].sequence, 1);
    assert_int_equal(s->pk[0].timeout_ts, 5000);
    assert_memory_equal(s->pk[0].payload, "payload-1", 9);
    check_attestations(h, s, B_ID, CHAIN_ATTEST_DELIVERY, 2);
    load(h, A_ID, 1, &r);
    assert_int_equal(r.state, PACKET_DELIVERING);
    assert_string_equal(r.sub_id, "dlv:200:100:1:0");
    assert_int_equal(r.nsub, 1);
    packet_record_clear(&r);

    fk_report(h->b, s->id, CHAIN_SUB_MINED, NULL);
    fk_report(h->b, s->id, CHAIN_SUB_CONFIRMED, NULL);
    pump(h);
    load(h, A_ID, 1, &r);
    assert_int_equal(r.state, PACKET_DELIVERING); /* a confirmed tx is not a delivery: the event is */
    assert_int_equal(r.nsubs, 1);
    assert_int_equal(r.subs[0].state, CHAIN_SUB_CONFIRMED);
    assert_memory_equal(r.subs[0].tx_hash, s->tx, 32);
    packet_record_clear(&r);

    receive_packet(h->b, A_ID, 1, 5000, true, "ok");
    assert_int_equal(h->a->nsubs, 0);
    size_t bdone = h->b->ndone;
    pump(h);
    assert_int_equal(h->b->ndone, bdone + 1);
    assert_int_equal(h->a->nsubs, 1);
    s = &h->a->subs[0];
    assert_string_equal(s->id, "ack:100:1:1");
    assert_int_equal(s->kind, CHAIN_CALL_ACK);
    assert_true(s->ack.success);
    assert_int_equal(s->ack.result_len, 2);
    assert_memory_equal(s->ack.result, "ok", 2);
    check_attestations(h, s, A_ID, CHAIN_ATTEST_ACK, 2);
    assert_int_equal(stored_state(h, A_ID, 1), PACKET_ACKING);

    settle_packet(h->a, B_ID, 1, 5000, true, true);
    pump(h);
    load(h, A_ID, 1, &r);
    assert_int_equal(r.state, PACKET_ACKED);
    assert_true(r.have_ack && r.ack.success);
    assert_int_equal(r.recv_tx[0], 0x4e);
    assert_int_equal(r.settle_tx[0], 0x3e);
    for (int st = PACKET_SENT; st <= PACKET_ACKING; st++)
        assert_true(st == PACKET_TIMING_OUT || st == PACKET_PARKED || r.entered[st] != 0);
    packet_record_clear(&r);
    struct engine_stats es;
    engine_stats(h->e, &es);
    for (int st = 0; st < PACKET_STATE__COUNT; st++)
        assert_int_equal(es.packets[st], 0); /* the terminal packet left memory once durable */

    assert_int_equal(log_count("\"from\":\"SENT\",\"to\":\"DELIVERING\""), 1);
    assert_int_equal(log_count("\"from\":\"DELIVERING\",\"to\":\"DELIVERED\""), 1);
    assert_int_equal(log_count("\"from\":\"DELIVERED\",\"to\":\"ACKING\""), 1);
    assert_int_equal(log_count("\"from\":\"ACKING\",\"to\":\"ACKED\""), 1);
    assert_true(metric(h, "ferry_packet_transitions_total{from=\"ACKING\",to=\"ACKED\"} ") == 1);
    assert_true(metric(h, "ferry_packet_transitions_total{from=\"NONE\",to=\"SENT\"} ") == 1);
    assert_true(metric(h, "ferry_submissions_total{chain=\"beta\",kind=\"deliver\",result=\"confirmed\"} ") == 1);
    assert_true(metric(h, "ferry_attestations_signed_total{kind=\"delivery\"} ") == 1);
    h_free(h);
}

static void timeout_path(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h_start(h);
    send_packet(h->a, B_ID, 1, 1500, 999);
    send_packet(h->a, B_ID, 2, 1500, 999);
    pump(h);
    /* The destination's latest block is past the timeout, its confirmed one is not: too late
     * to deliver, too early to time out. */
    h->b->head.timestamp = 1600;
    h->b->head.confirmed_timestamp = 1400;
    tick(h, 1001);
    assert_int_equal(h->b->nq, 0);
    h->b->head.confirmed_timestamp = 1550;
    tick(h, 1002);
    assert_int_equal(h->b->nq, 2);
    pump(h);
    assert_int_equal(h->b->nsubs, 0);
    assert_int_equal(h->a->nsubs, 2);
    struct fk_sub *s = fk_find(h->a, "tmo:100:1:0");
    assert_non_null(s);
    assert_int_equal(s->kind, CHAIN_CALL_TIMEOUT);
    assert_int_equal(s->proof, 1550);
    check_attestations(h, s, A_ID, CHAIN_ATTEST_TIMEOUT, 2);
    struct packet_record r;
    load(h, A_ID, 1, &r);
    assert_int_equal(r.state, PACKET_TIMING_OUT);
    assert_int_equal(r.proof_ts, 1550);
    packet_record_clear(&r);
    /* Once TIMING_OUT is persisted no delivery is ever submitted for it. */
    for (uint64_t t = 1003; t < 1100; t += 10) {
        tick(h, t);
        pump(h);
    }
    assert_int_equal(h->b->nsubs, 0);

    settle_packet(h->a, B_ID, 1, 1500, false, false);
    pump(h);
    assert_int_equal(stored_state(h, A_ID, 1), PACKET_TIMED_OUT);
    /* Packet 2: a racing relayer delivered it before the timeout; relay the ack instead. */
    receive_packet(h->b, A_ID, 2, 1500, true, "late?");
    pump(h);
    assert_int_equal(stored_state(h, A_ID, 2), PACKET_ACKING);
    assert_non_null(fk_find(h->a, "ack:100:2:1"));
    h_free(h);
}

static void failed_ack_is_relayed(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h_start(h);
    send_packet(h->a, B_ID, 1, 5000, 999);
    pump(h);
    tick(h, 1001);
    pump(h);
    receive_packet(h->b, A_ID, 1, 5000, false, "receiver reverted");
    pump(h);
    struct fk_sub *s = fk_find(h->a, "ack:100:1:1");
    assert_non_null(s);
    assert_false(s->ack.success);
    assert_memory_equal(s->ack.result, "receiver reverted", 17);
    check_attestations(h, s, A_ID, CHAIN_ATTEST_ACK, 2);
    assert_int_equal(log_count("relaying a failed ack"), 1);
    settle_packet(h->a, B_ID, 1, 5000, true, false);
    pump(h);
    assert_int_equal(stored_state(h, A_ID, 1), PACKET_ACKED);
    assert_int_equal(log_count("failed ack processed on source (refund)"), 1);
    h_free(h);
}

static void racing_relayer(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h_start(h);
    /* 1: delivered by somebody else before we even looked. */
    send_packet(h->a, B_ID, 1, 5000, 999);
    pump(h);
    receive_packet(h->b, A_ID, 1, 5000, true, "x");
    pump(h);
    assert_int_equal(stored_state(h, A_ID, 1), PACKET_ACKING);
    /* 2: our delivery is in flight when another relayer's lands. */
    send_packet(h->a, B_ID, 2, 5000, 999);
    pump(h);
    tick(h, 1001);
    pump(h);
    assert_int_equal(h->b->nsubs, 1);
    assert_string_equal(h->b->subs[0].id, "dlv:200:100:2:0");
    assert_int_equal(h->b->subs[0].n, 1); /* packet 1 was never submitted */
    receive_packet(h->b, A_ID, 2, 5000, true, "y");
    pump(h);
    assert_int_equal(stored_state(h, A_ID, 2), PACKET_ACKING);
    /* Our transaction then confirms, having skipped the packet: nothing changes. */
    struct chain_event sk = {.kind = CHAIN_EV_PACKET_SKIPPED, .skip_reason = CHAIN_SKIP_ALREADY_RECEIVED};
    sk.packet.src_chain = A_ID;
    sk.packet.dst_chain = B_ID;
    sk.packet.sequence = 2;
    inject(h->b, &sk, 1);
    fk_report(h->b, "dlv:200:100:2:0", CHAIN_SUB_CONFIRMED, NULL);
    pump(h);
    struct packet_record r;
    load(h, A_ID, 2, &r);
    assert_int_equal(r.state, PACKET_ACKING);
    assert_string_equal(r.sub_id, "ack:100:2:1");
    assert_int_equal(r.subs[0].state, CHAIN_SUB_CONFIRMED); /* history completed all the same */
    packet_record_clear(&r);
    tick(h, 1100);
    pump(h);
    assert_int_equal(h->b->nsubs, 1);
    h_free(h);
}

static void already_received_is_not_submitted(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h_start(h);
    send_packet(h->a, B_ID, 1, 5000, 999);
    pump(h);
    h->b->recv[h->b->nrecv++] = (struct pkey){A_ID, 1}; /* received there; its event not here yet */
    tick(h, 1001);
    pump(h);
    assert_int_equal(h->b->submit_calls, 0);
    assert_int_equal(stored_state(h, A_ID, 1), PACKET_SENT);
    assert_int_equal(log_count("already received on destination"), 1);
    size_t asked = h->b->queries_asked;
    tick(h, 1002); /* waits for the event rather than asking again at once */
    pump(h);
    assert_int_equal(h->b->queries_asked, asked);
    receive_packet(h->b, A_ID, 1, 5000, true, "ok");
    pump(h);
    assert_int_equal(stored_state(h, A_ID, 1), PACKET_ACKING);
    assert_int_equal(h->b->submit_calls, 0);
    h_free(h);
}

static enum ferry_err count_parked(void *arg, const struct packet_record *r)
{
    (void)r;
    (*(size_t *)arg)++;
    return FERRY_OK;
}

static void retry_backoff_park_and_operator_retry(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h->cfg.retry_limit = 3;
    h->cfg.backoff_base_s = 10;
    h->cfg.backoff_max_s = 100;
    h_start(h);
    send_packet(h->a, B_ID, 1, 90000, 999);
    pump(h);
    tick(h, 1001);
    pump(h);
    fk_report(h->b, "dlv:200:100:1:0", CHAIN_SUB_REVERTED, "execution reverted: NotAttester");
    pump(h);
    struct packet_record r;
    load(h, A_ID, 1, &r);
    assert_int_equal(r.state, PACKET_DELIVERING);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.next_attempt_at, 1011); /* persisted backoff */
    assert_string_equal(r.sub_id, "");
    assert_non_null(strstr(r.reason, "NotAttester"));
    packet_record_clear(&r);
    tick(h, 1010);
    pump(h);
    assert_int_equal(h->b->nsubs, 1);
    tick(h, 1011);
    pump(h);
    assert_int_equal(h->b->nsubs, 2);
    assert_string_equal(h->b->subs[1].id, "dlv:200:100:1:1");
    fk_report(h->b, "dlv:200:100:1:1", CHAIN_SUB_REFUSED, "fee above cap");
    pump(h);
    load(h, A_ID, 1, &r);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.next_attempt_at, 1031); /* doubled */
    packet_record_clear(&r);
    tick(h, 1031);
    pump(h);
    fk_report(h->b, "dlv:200:100:1:2", CHAIN_SUB_REVERTED, "out of gas");
    pump(h);
    load(h, A_ID, 1, &r);
    assert_int_equal(r.state, PACKET_PARKED);
    assert_int_equal(r.parked_from, PACKET_DELIVERING);
    assert_int_equal(r.attempts, 3);
    assert_non_null(strstr(r.reason, "failed 3 times"));
    assert_non_null(strstr(r.reason, "out of gas"));
    packet_record_clear(&r);
    assert_int_equal(log_count("\"level\":\"error\""), 1); /* parking is loud */
    size_t n = 0;
    char next[PACKET_CURSOR_MAX];
    struct packet_filter f = {.state = PACKET_PARKED};
    assert_int_equal(packet_list(h->st, &f, NULL, 10, count_parked, &n, next), FERRY_OK);
    assert_int_equal(n, 1);
    tick(h, 5000);
    pump(h);
    assert_int_equal(h->b->nsubs, 3); /* parked: left alone */

    assert_int_equal(engine_retry(h->e, A_ID, 2), FERRY_ENOTFOUND);
    assert_int_equal(engine_retry(h->e, A_ID, 1), FERRY_OK);
    pump(h);
    load(h, A_ID, 1, &r);
    assert_int_equal(r.state, PACKET_DELIVERING);
    assert_int_equal(r.attempts, 0);
    packet_record_clear(&r);
    assert_int_equal(engine_retry(h->e, A_ID, 1), FERRY_ESTATE);
    /* An immediate submit error counts as a failed attempt too. */
    h->b->submit_fail = FERRY_ERPC;
    tick(h, 5001);
    pump(h);
    assert_int_equal(h->b->nsubs, 3);
    load(h, A_ID, 1, &r);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.next_attempt_at, 5011);
    assert_non_null(strstr(r.reason, "submit refused"));
    packet_record_clear(&r);
    tick(h, 5011);
    pump(h);
    assert_int_equal(h->b->nsubs, 4);
    assert_string_equal(h->b->subs[3].id, "dlv:200:100:1:4");
    h_free(h);
}

static void failed_and_lost_queries(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h->cfg.query_retry_s = 5;
    h->cfg.probe_timeout_s = 60;
    h_start(h);
    send_packet(h->a, B_ID, 1, 90000, 999);
    pump(h);
    h->b->query_fail = FERRY_ERPC; /* the destination cannot be asked: nothing is sent blind */
    tick(h, 1001);
    pump(h);
    assert_int_equal(h->b->submit_calls, 0);
    assert_int_equal(stored_state(h, A_ID, 1), PACKET_SENT);
    size_t asked = h->b->queries_asked;
    tick(h, 1005);
    assert_int_equal(h->b->queries_asked, asked);
    h->b->query_fail = FERRY_OK;
    tick(h, 1006);
    pump(h);
    assert_int_equal(h->b->nsubs, 1);

    /* An adapter that never answers must not stall a packet for ever. */
    send_packet(h->a, B_ID, 2, 90000, 999);
    pump(h);
    tick(h, 1010);
    assert_int_equal(h->b->nq, 1);
    struct fk_query lost = h->b->q[0];
    h->b->nq = 0;
    struct engine_stats es;
    engine_stats(h->e, &es);
    assert_int_equal(es.queries, 1);
    tick(h, 1020);
    assert_int_equal(h->b->nq, 0); /* still waiting for it */
    tick(h, 1070);                 /* given up after 60 s */
    tick(h, 1074);
    assert_int_equal(h->b->nq, 0);
    tick(h, 1075);
    assert_int_equal(h->b->nq, 1);
    pump(h);
    assert_int_equal(h->b->nsubs, 2);
    assert_true(sub_has(&h->b->subs[1], 2));
    /* The lost answer turns up at last: dropped, nothing sent again. */
    struct chain_received_result r = {false, 90, 990};
    lost.rcb(lost.ud, FERRY_OK, &r);
    pump(h);
    assert_int_equal(h->b->submit_calls, 2);
    engine_stats(h->e, &es);
    assert_int_equal(es.queries, 0);
    h_free(h);
}

static void batches_by_destination_by_time_left(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h_start(h);
    const uint64_t to_b[4] = {4000, 2000, 3000, 2500}; /* seqs 1..4 */
    for (uint64_t i = 0; i < 4; i++)
        send_packet(h->a, B_ID, i + 1, to_b[i], 999);
    send_packet(h->a, C_ID, 5, 3000, 999);
    send_packet(h->a, C_ID, 6, 2000, 999);
    pump(h);
    tick(h, 1001);
    pump(h);
    assert_int_equal(h->b->nsubs, 1);
    assert_int_equal(h->c->nsubs, 1);
    const uint64_t want_b[4] = {2, 4, 3, 1};
    assert_int_equal(h->b->subs[0].n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(h->b->subs[0].pk[i].sequence, want_b[i]);
    assert_string_equal(h->b->subs[0].id, "dlv:200:100:2:0");
    assert_int_equal(h->c->subs[0].n, 2);
    assert_int_equal(h->c->subs[0].pk[0].sequence, 6);
    assert_int_equal(h->c->subs[0].pk[1].sequence, 5);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(h->b->subs[0].pk[i].dst_chain, B_ID);
    check_attestations(h, &h->b->subs[0], B_ID, CHAIN_ATTEST_DELIVERY, 2);
    check_attestations(h, &h->c->subs[0], C_ID, CHAIN_ATTEST_DELIVERY, 2);
    h_free(h);
}

static void batches_bounded_by_count_and_gas(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h->cfg.batch_max = 3;
    h->cfg.inflight_max = 1;
    h_start(h);
    for (uint64_t s = 1; s <= 7; s++)
        send_packet(h->a, B_ID, s, 3000 - s * 10, 999); /* later sequences time out sooner */
    pump(h);
    tick(h, 1001);
    pump(h);
    assert_int_equal(h->b->nsubs, 1);
    assert_int_equal(h->b->subs[0].n, 3);
    assert_int_equal(h->b->subs[0].pk[0].sequence, 7);
    assert_int_equal(h->b->subs[0].pk[2].sequence, 5);
    tick(h, 1002); /* the one delivery allowed in flight is: wait */
    pump(h);
    assert_int_equal(h->b->nsubs, 1);
    fk_report(h->b, h->b->subs[0].id, CHAIN_SUB_CONFIRMED, NULL);
    pump(h);
    tick(h, 1003);
    pump(h);
    assert_int_equal(h->b->nsubs, 2);
    assert_int_equal(h->b->subs[1].pk[0].sequence, 4);
    h_free(h);

    /* Gas: 100 + 10 per payload byte; "payload-N" is 9 bytes, so 190 each and 2 per 400. */
    h = h_new("mem", 3, 2);
    h->cfg.gas_per_packet = 100;
    h->cfg.gas_per_payload_byte = 10;
    h->cfg.batch_gas_cap = 400;
    h->cfg.inflight_max = 2;
    h_start(h);
    for (uint64_t s = 1; s <= 5; s++)
        send_packet(h->a, B_ID, s, 3000 + s, 999);
    pump(h);
    tick(h, 1001);
    pump(h);
    assert_int_equal(h->b->nsubs, 2);
    assert_int_equal(h->b->subs[0].n + h->b->subs[1].n, 4);
    assert_int_equal(h->b->subs[0].n, 2);
    /* A lone packet over the cap still goes (alone): the chain decides. */
    h->cfg.batch_gas_cap = 50;
    h->e->cfg.batch_gas_cap = 50;
    fk_report(h->b, h->b->subs[0].id, CHAIN_SUB_CONFIRMED, NULL);
    pump(h);
    tick(h, 1002);
    pump(h);
    assert_int_equal(h->b->nsubs, 3);
    assert_int_equal(h->b->subs[2].n, 1);
    assert_int_equal(h->b->subs[2].pk[0].sequence, 5);
    h_free(h);
}

/* Each destination has its own batch size and window (the daemon passes chains[].max_batch);
 * a chain that sets none gets engine_config's. */
static void per_chain_batch_and_window(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h->cfg.batch_max = 5;
    h->cfg.inflight_max = 1;
    h->batch_b = 2;
    h->inflight_b = 2;
    h_start(h);
    for (uint64_t s = 1; s <= 7; s++)
        send_packet(h->a, s <= 5 ? B_ID : C_ID, s, 3000 + s, 999);
    send_packet(h->a, C_ID, 8, 3008, 999);
    send_packet(h->a, C_ID, 9, 3009, 999);
    send_packet(h->a, C_ID, 10, 3010, 999);
    send_packet(h->a, C_ID, 11, 3011, 999);
    pump(h);
    tick(h, 1001);
    pump(h);
    /* B: max_batch 2, two in flight: 2 + 2, the fifth waits */
    assert_int_equal(h->b->nsubs, 2);
    assert_int_equal(h->b->subs[0].n, 2);
    assert_int_equal(h->b->subs[1].n, 2);
    /* C: the engine's 5, one in flight */
    assert_int_equal(h->c->nsubs, 1);
    assert_int_equal(h->c->subs[0].n, 5);
    fk_report(h->b, h->b->subs[0].id, CHAIN_SUB_CONFIRMED, NULL);
    pump(h);
    tick(h, 1002);
    pump(h);
    assert_int_equal(h->b->nsubs, 3);
    assert_int_equal(h->b->subs[2].n, 1);
    assert_int_equal(h->b->subs[2].pk[0].sequence, 5);
    assert_int_equal(h->c->nsubs, 1);
    h_free(h);
}

static void count_kick(void *ud) { ((struct h *)ud)->kicks++; }

/* New events and finished submissions ask for a prompt pass (kick), once until the next
 * engine_tick; the pass does the work without waiting for the clock to move. */
static void kick_asks_for_a_prompt_pass(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h->cfg.kick = count_kick;
    h->cfg.kick_ud = h;
    h->batch_b = 3;
    h->inflight_b = 1;
    h_start(h);
    assert_int_equal(h->kicks, 0);
    for (uint64_t s = 1; s <= 3; s++)
        send_packet(h->a, B_ID, s, 3000 + s, 999);
    pump(h);
    assert_int_equal(h->kicks, 1); /* three event calls, one kick */
    assert_int_equal(h->b->nsubs, 0);
    tick(h, 1000); /* the same second as the start: no time has to pass */
    pump(h);
    assert_int_equal(h->b->nsubs, 1);
    assert_int_equal(h->b->subs[0].n, 3);
    assert_int_equal(h->kicks, 2); /* the batch's checks ended */
    tick(h, 1000);
    for (uint64_t s = 4; s <= 5; s++)
        send_packet(h->a, B_ID, s, 3000 + s, 999);
    pump(h);
    assert_int_equal(h->kicks, 3);
    tick(h, 1000); /* the window (1) is full: nothing new, and no kick */
    pump(h);
    assert_int_equal(h->b->nsubs, 1);
    assert_int_equal(h->kicks, 3);
    fk_report(h->b, h->b->subs[0].id, CHAIN_SUB_CONFIRMED, NULL);
    pump(h);
    assert_int_equal(h->kicks, 4); /* the window has room again */
    tick(h, 1000);
    pump(h);
    assert_int_equal(h->b->nsubs, 2);
    assert_int_equal(h->b->subs[1].n, 2);
    /* acks are submitted from the events themselves; the kick that follows finds nothing */
    receive_packet(h->b, A_ID, 1, 3001, true, "ok");
    pump(h);
    assert_int_equal(h->kicks, 5);
    assert_int_equal(h->a->nsubs, 1);
    h_free(h);
}

/* 100 old packets (backfill) with nearer timeouts, then 2 live ones: does the first batch
 * carry the live ones? With live_share_pct 0, it must not (so the test can tell). */
static bool first_batch_has_live(unsigned live_share)
{
    struct h *h = h_new("mem", 3, 2);
    h->cfg.batch_max = 8;
    h->cfg.inflight_max = 1;
    h->cfg.live_share_pct = live_share;
    h_start(h);
    for (uint64_t s = 1; s <= 100; s++)
        send_packet(h->a, B_ID, s, 3000 + s, 100); /* sent long before we saw it */
    send_packet(h->a, B_ID, 101, 9000, 999);
    send_packet(h->a, B_ID, 102, 9001, 999);
    pump(h);
    tick(h, 1001);
    pump(h);
    assert_int_equal(h->b->nsubs, 1);
    assert_int_equal(h->b->subs[0].n, 8);
    int live = 0;
    for (size_t i = 0; i < 8; i++)
        live += h->b->subs[0].pk[i].sequence > 100;
    /* the rest of the batch is the backlog in time-left order */
    assert_int_equal(h->b->subs[0].pk[live].sequence, 1);
    h_free(h);
    return live == 2;
}

static void backfill_does_not_starve_live(void **state)
{
    assert_true(first_batch_has_live(25));
    assert_false(first_batch_has_live(0));
}

static void repeated_events_are_noops(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h_start(h);
    send_packet(h->a, B_ID, 1, 5000, 999);
    send_packet(h->a, B_ID, 1, 5000, 999);
    pump(h);
    send_packet(h->a, B_ID, 1, 5000, 999);
    pump(h);
    assert_true(metric(h, "ferry_packet_transitions_total{from=\"NONE\",to=\"SENT\"} ") == 1);
    receive_packet(h->b, A_ID, 1, 5000, true, "ok");
    receive_packet(h->b, A_ID, 1, 5000, true, "ok");
    pump(h);
    assert_true(metric(h, "ferry_packet_transitions_total{from=\"SENT\",to=\"DELIVERED\"} ") == 1);
    assert_int_equal(h->a->nsubs, 1);
    assert_int_equal(h->a->submit_calls, 1);
    settle_packet(h->a, B_ID, 1, 5000, true, true);
    settle_packet(h->a, B_ID, 1, 5000, true, true);
    pump(h);
    /* After it finished (and left memory), the whole story again, as after a restart. */
    send_packet(h->a, B_ID, 1, 5000, 999);
    receive_packet(h->b, A_ID, 1, 5000, true, "ok");
    settle_packet(h->a, B_ID, 1, 5000, true, true);
    size_t before = h->a->ndone;
    pump(h);
    assert_int_equal(stored_state(h, A_ID, 1), PACKET_ACKED);
    assert_true(metric(h, "ferry_packet_transitions_total{from=\"ACKING\",to=\"ACKED\"} ") == 1);
    assert_int_equal(h->a->submit_calls, 1);
    assert_int_equal(h->a->ndone, before + 2); /* repeats are acknowledged all the same */
    assert_int_equal(h->a->ndone, h->a->token);
    assert_int_equal(h->b->ndone, h->b->token);
    h_free(h);
}

static void attesters_m_of_n(void **state)
{
    /* 2-of-3 set, this daemon holds all 3 keys: 2 signatures, the two lowest addresses. */
    struct h *h = h_new("mem", 3, 2);
    h_start(h);
    send_packet(h->a, B_ID, 1, 5000, 999);
    pump(h);
    tick(h, 1001);
    pump(h);
    check_attestations(h, &h->b->subs[0], B_ID, CHAIN_ATTEST_DELIVERY, 2);
    h_free(h);

    /* 2-of-3 set, this daemon holds 2 of the keys (anvil 0 and 1); the destination wants 2. */
    h = h_new("mem", 2, 2);
    h_start(h);
    send_packet(h->a, B_ID, 1, 5000, 999);
    pump(h);
    tick(h, 1001);
    pump(h);
    check_attestations(h, &h->b->subs[0], B_ID, CHAIN_ATTEST_DELIVERY, 2);
    uint8_t a0[20], a1[20];
    dev_address(0, a0);
    dev_address(1, a1);
    uint8_t d[32], got[20];
    fk_digest(B_ID, CHAIN_ATTEST_DELIVERY, &h->b->subs[0].pk[0], NULL, 0, d);
    recover_addr(got, d, h->b->subs[0].sig[0][0]);
    assert_memory_equal(got, a1, 20); /* 0x7099.. sorts before 0xf39F.. */
    recover_addr(got, d, h->b->subs[0].sig[0][1]);
    assert_memory_equal(got, a0, 20);
    h_free(h);

    /* Per-chain thresholds: B wants 3 of 4 held keys, A the default 2. */
    h = h_new("mem", 4, 2);
    h->threshold_b = 3;
    h_start(h);
    send_packet(h->a, B_ID, 1, 5000, 999);
    pump(h);
    tick(h, 1001);
    pump(h);
    check_attestations(h, &h->b->subs[0], B_ID, CHAIN_ATTEST_DELIVERY, 3);
    receive_packet(h->b, A_ID, 1, 5000, true, "ok");
    pump(h);
    check_attestations(h, &h->a->subs[0], A_ID, CHAIN_ATTEST_ACK, 2);
    h_free(h);

    /* A chain that needs more signatures than the keys held is refused. */
    h = h_new("mem", 2, 2);
    assert_int_equal(engine_new(&h->e, &h->cfg), FERRY_OK);
    engine_chain_env(h->e, &h->b->env);
    struct engine_chain_config cc = {.threshold = 3};
    assert_int_equal(engine_add_chain(h->e, &fake_ops, h->b, &cc), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "needs 3 attester signatures"));
    engine_free(h->e);
    h->e = NULL;
    /* A configured address that is not the key's is caught at once. */
    dev_address(3, h->att[1].address);
    assert_int_equal(engine_new(&h->e, &h->cfg), FERRY_ECRYPTO);
    assert_non_null(strstr(ferry_errmsg(), "signs as 0x70997970C51812dc3A010C7d01b50e0d17dc79C8"));
    dev_address(0, h->att[1].address);
    assert_int_equal(engine_new(&h->e, &h->cfg), FERRY_EINVAL); /* two names, one address */
    h->cfg.threshold = 3;
    assert_int_equal(engine_new(&h->e, &h->cfg), FERRY_EINVAL);
    assert_null(h->e);
    h_free(h);
}

static void invalid_transitions_are_refused(void **state)
{
    assert_true(packet_transition_allowed(PACKET_NONE, PACKET_SENT));
    assert_true(packet_transition_allowed(PACKET_TIMING_OUT, PACKET_DELIVERED));
    assert_false(packet_transition_allowed(PACKET_TIMING_OUT, PACKET_DELIVERING));
    assert_false(packet_transition_allowed(PACKET_SENT, PACKET_ACKING));
    assert_false(packet_transition_allowed(PACKET_SENT, PACKET_SENT));
    assert_false(packet_transition_allowed(PACKET_NONE, PACKET_NONE));
    for (int to = 0; to < PACKET_STATE__COUNT; to++) {
        assert_false(packet_transition_allowed(PACKET_ACKED, (enum packet_state)to));
        assert_false(packet_transition_allowed(PACKET_TIMED_OUT, (enum packet_state)to));
    }
    struct h *h = h_new("mem", 3, 2);
    h_start(h);
    send_packet(h->a, B_ID, 1, 5000, 999);
    pump(h);
    assert_int_equal(engine_test_set_state(h->e, A_ID, 1, PACKET_ACKING, "test"), FERRY_ESTATE);
    assert_non_null(strstr(ferry_errmsg(), "100/1: SENT -> ACKING is not allowed"));
    assert_int_equal(engine_test_set_state(h->e, A_ID, 1, PACKET_SENT, "test"), FERRY_ESTATE);
    assert_int_equal(engine_test_set_state(h->e, A_ID, 1, PACKET_STATE__COUNT, "test"), FERRY_ESTATE);
    pump(h);
    assert_int_equal(stored_state(h, A_ID, 1), PACKET_SENT);
    assert_int_equal(log_count("refused packet state change"), 3);
    assert_int_equal(log_count("\"to\":\"ACKING\""), 1); /* only in the refusal */
    assert_true(metric(h, "ferry_packet_transitions_total{from=\"SENT\",to=\"ACKING\"} ") == -12345);
    assert_int_equal(engine_test_set_state(h->e, A_ID, 1, PACKET_TIMING_OUT, "test"), FERRY_OK);
    pump(h);
    assert_int_equal(stored_state(h, A_ID, 1), PACKET_TIMING_OUT);
    assert_int_equal(engine_test_set_state(h->e, A_ID, 1, PACKET_DELIVERING, "test"), FERRY_ESTATE);
    h_free(h);
}

static void received_before_sent_then_sent(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h_start(h);
    /* The destination's scan ran ahead of the source's (backfill after downtime). */
    receive_packet(h->b, A_ID, 1, 5000, true, "early");
    pump(h);
    struct packet_record r;
    load(h, A_ID, 1, &r);
    assert_int_equal(r.state, PACKET_DELIVERED);
    assert_false(r.have_packet);
    assert_true(r.have_ack);
    packet_record_clear(&r);
    tick(h, 1001);
    pump(h);
    assert_int_equal(h->a->nsubs, 0); /* nothing to ack with until the packet itself is known */
    send_packet(h->a, B_ID, 1, 5000, 999);
    pump(h);
    load(h, A_ID, 1, &r);
    assert_int_equal(r.state, PACKET_ACKING);
    assert_true(r.have_packet);
    assert_int_equal(r.packet.timeout_ts, 5000);
    packet_record_clear(&r);
    assert_non_null(fk_find(h->a, "ack:100:1:0"));
    assert_int_equal(h->b->submit_calls, 0);
    /* Timed out on the source though received: the chains disagree; an operator must look. */
    settle_packet(h->a, B_ID, 1, 5000, false, false);
    pump(h);
    load(h, A_ID, 1, &r);
    assert_int_equal(r.state, PACKET_PARKED);
    assert_int_equal(r.parked_from, PACKET_ACKING);
    assert_non_null(strstr(r.reason, "chains disagree"));
    packet_record_clear(&r);
    h_free(h);
}

/* PacketReceived for seqs[0..n) from src in ONE batch of events (one delivery transaction's
 * logs); packet k acknowledged "ok-<seq>", a failure for odd sequences. */
static void receive_packets(struct chain *dst, uint64_t src, const uint64_t *seqs, size_t n, uint64_t timeout)
{
    struct chain_event ev[16];
    char res[16][16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        memset(&ev[i], 0, sizeof ev[i]);
        ev[i].kind = CHAIN_EV_PACKET_RECEIVED;
        struct packet p;
        mk_packet(&p, src, dst->id, seqs[i], timeout);
        fk_packet_id(&p, ev[i].packet_id);
        packet_clear(&p);
        ev[i].packet.src_chain = src;
        ev[i].packet.dst_chain = dst->id;
        ev[i].packet.sequence = seqs[i];
        ev[i].ack.success = seqs[i] % 2 == 0;
        snprintf(res[i], sizeof res[i], "ok-%" PRIu64, seqs[i]);
        ev[i].ack.result = (uint8_t *)res[i];
        ev[i].ack.result_len = strlen(res[i]);
        ev[i].at = (struct chain_event_origin){.chain_id = dst->id, .block_number = 80, .block_timestamp = 995};
        ev[i].at.tx_hash[0] = 0x4e;
        if (!fk_received(dst, src, seqs[i]))
            dst->recv[dst->nrecv++] = (struct pkey){src, seqs[i]};
    }
    inject(dst, ev, n);
}

/* Acks that become due together go to their source as one call (acknowledgeBatch), cut at the
 * source's batch_max, each packet with its own ack and attestation; a batch that fails is split:
 * each packet is asked about (query_pending) and resubmitted alone. */
static void acks_batched_and_split_on_failure(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h->cfg.batch_max = 4; /* A's (the source's) batch_max: 5 acks go as 4 + 1 */
    h->cfg.jitter_pct = 0;
    h_start(h);
    uint64_t seqs[5] = {1, 2, 3, 4, 5};
    for (size_t i = 0; i < 5; i++)
        send_packet(h->a, B_ID, seqs[i], 5000, 999);
    pump(h);
    receive_packets(h->b, A_ID, seqs, 5, 5000);
    pump(h);
    assert_int_equal(h->a->nsubs, 2);
    struct fk_sub *s = &h->a->subs[0];
    assert_string_equal(s->id, "ack:100:1:0");
    assert_int_equal(s->kind, CHAIN_CALL_ACK);
    assert_int_equal(s->n, 4);
    for (size_t i = 0; i < 4; i++) {
        char want[16];
        snprintf(want, sizeof want, "ok-%" PRIu64, s->pk[i].sequence);
        assert_int_equal(s->pk[i].sequence, i + 1);
        assert_int_equal(s->acks[i].success, (i + 1) % 2 == 0);
        assert_int_equal(s->acks[i].result_len, strlen(want));
        assert_memory_equal(s->acks[i].result, want, strlen(want));
    }
    check_attestations(h, s, A_ID, CHAIN_ATTEST_ACK, 2); /* each over its own packet's ack */
    assert_int_equal(h->a->subs[1].n, 1);
    assert_int_equal(h->a->subs[1].pk[0].sequence, 5);
    assert_string_equal(h->a->subs[1].id, "ack:100:5:0");
    for (uint64_t q = 1; q <= 5; q++)
        assert_int_equal(stored_state(h, A_ID, q), PACKET_ACKING);
    struct packet_record r;
    load(h, A_ID, 3, &r);
    assert_string_equal(r.sub_id, "ack:100:1:0"); /* the batch's id, persisted on every member */
    packet_record_clear(&r);

    /* The batch reverts (one onAck refused): every member failed once, none is resubmitted
     * before its backoff; then each is asked about and goes alone. Packet 2 was settled by
     * someone else meanwhile: it is not sent again. */
    fk_report(h->a, "ack:100:1:0", CHAIN_SUB_REVERTED, "execution reverted: CallbackRefused");
    pump(h);
    tick(h, 1005);
    pump(h);
    assert_int_equal(h->a->nsubs, 2);
    h->a->settled[h->a->nsettled++] = 2;
    tick(h, 1011);
    pump(h);
    assert_int_equal(h->a->nsubs, 5);
    for (size_t i = 2; i < 5; i++) {
        assert_int_equal(h->a->subs[i].n, 1);
        assert_int_equal(h->a->subs[i].pk[0].sequence, i == 2 ? 1 : i);
        char want[32];
        snprintf(want, sizeof want, "ack:100:%" PRIu64 ":1", h->a->subs[i].pk[0].sequence);
        assert_string_equal(h->a->subs[i].id, want);
    }
    load(h, A_ID, 2, &r);
    assert_int_equal(r.attempts, 1);
    assert_string_equal(r.sub_id, "");
    packet_record_clear(&r);
    load(h, A_ID, 5, &r); /* the other batch is untouched */
    assert_string_equal(r.sub_id, "ack:100:5:0");
    packet_record_clear(&r);
    for (uint64_t q = 1; q <= 5; q++)
        settle_packet(h->a, B_ID, q, 5000, true, q % 2 == 0);
    pump(h);
    for (uint64_t q = 1; q <= 5; q++)
        assert_int_equal(stored_state(h, A_ID, q), PACKET_ACKED);
    h_free(h);
}

static void ack_resubmitted_only_while_pending(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h->cfg.jitter_pct = 0;
    h_start(h);
    send_packet(h->a, B_ID, 1, 5000, 999);
    send_packet(h->a, B_ID, 2, 5000, 999);
    pump(h);
    receive_packet(h->b, A_ID, 1, 5000, true, "ok");
    receive_packet(h->b, A_ID, 2, 5000, true, "ok");
    pump(h);
    fk_report(h->a, "ack:100:1:0", CHAIN_SUB_REVERTED, "reverted");
    fk_report(h->a, "ack:100:2:0", CHAIN_SUB_REVERTED, "reverted");
    pump(h);
    h->a->settled[h->a->nsettled++] = 2; /* somebody else acked 2; its event is still to come */
    tick(h, 1010);
    pump(h);
    assert_int_equal(h->a->nq, 0);
    assert_non_null(fk_find(h->a, "ack:100:1:1")); /* still pending on the source: sent again */
    assert_null(fk_find(h->a, "ack:100:2:1"));     /* settled: not sent again */
    assert_int_equal(log_count("already settled on source"), 1);
    h_free(h);
}

static void events_done_waits_for_durability(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h_start(h);
    send_packet(h->a, B_ID, 1, 5000, 999);
    assert_int_equal(h->a->ndone, 0);
    assert_int_equal(store_flush(h->st), FERRY_OK);
    assert_int_equal(h->a->ndone, 1);
    /* An event batch that changes nothing is acknowledged after the flush too. */
    send_packet(h->a, B_ID, 1, 5000, 999);
    assert_int_equal(h->a->ndone, 1);
    assert_int_equal(store_flush(h->st), FERRY_OK);
    assert_int_equal(h->a->ndone, 2);
    /* A write that fails stops the engine: no acknowledgement, no submission. */
    send_packet(h->a, B_ID, 2, 5000, 999);
    store_fail_next_write(h->st, FERRY_EIO);
    assert_int_equal(store_flush(h->st), FERRY_EIO);
    assert_int_equal(h->a->ndone, 2);
    assert_int_equal(engine_failed(h->e), FERRY_EIO);
    assert_int_equal(engine_tick(h->e, 1001), FERRY_EIO);
    assert_int_equal(h->b->nq, 0);
    assert_int_equal(log_count("engine stopped"), 1);
    engine_free(h->e);
    h->e = NULL;
    store_close(h->st); /* refuses writes now; the close reports it */
    h->st = NULL;
    h_free(h);
}

static size_t count_sub_keys(struct store *st, uint64_t chain)
{
    char name[64];
    snprintf(name, sizeof name, "fake-sub:%" PRIu64 ":", chain);
    struct store_key k;
    store_key_begin(&k, STORE_KIND_META);
    store_key_bytes(&k, name, strlen(name));
    struct store_iter *it;
    assert_int_equal(store_iter_open(st, &it, k.b, k.len), FERRY_OK);
    size_t n = 0;
    for (; store_iter_valid(it); store_iter_next(it))
        n++;
    assert_int_equal(store_iter_status(it), FERRY_OK);
    store_iter_free(it);
    return n;
}

static bool sub_has(const struct fk_sub *s, uint64_t seq)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->pk[i].sequence == seq)
            return true;
    return false;
}

static void restart_reloads_and_reconciles(void **state)
{
    struct h *h = h_new("leveldb", 3, 2);
    h_start(h);
    for (uint64_t s = 1; s <= 3; s++)
        send_packet(h->a, B_ID, s, 5000, 999);
    pump(h);
    tick(h, 1001);
    pump(h);
    assert_int_equal(h->b->nsubs, 1); /* X: 1-3, pending at the adapter */
    h->b->lose_submits = true;        /* 4: our batch durable, the adapter's write-ahead lost */
    send_packet(h->a, B_ID, 4, 5000, 999);
    pump(h);
    tick(h, 1002);
    pump(h);
    h->b->lose_submits = false;
    assert_int_equal(h->b->nsubs, 1);
    assert_int_equal(stored_state(h, A_ID, 4), PACKET_DELIVERING);
    send_packet(h->a, B_ID, 5, 5000, 999); /* 5: ACKING, its ack pending at the adapter */
    receive_packet(h->b, A_ID, 5, 5000, true, "5");
    pump(h);
    h->a->lose_submits = true; /* 6: ACKING, its ack lost */
    send_packet(h->a, B_ID, 6, 5000, 999);
    receive_packet(h->b, A_ID, 6, 5000, true, "6");
    pump(h);
    h->a->lose_submits = false;
    send_packet(h->a, B_ID, 7, 6000, 999); /* 7: SENT */
    send_packet(h->a, B_ID, 8, 5000, 999); /* 8: ACKED */
    receive_packet(h->b, A_ID, 8, 5000, true, "8");
    settle_packet(h->a, B_ID, 8, 5000, true, true);
    pump(h);
    /* 8's ack was never submitted: it was acked before the batch that started it was durable. */
    assert_int_equal(h->a->nsubs, 1);
    assert_null(fk_find(h->a, "ack:100:8:0"));
    size_t a_calls = h->a->submit_calls, b_calls = h->b->submit_calls;

    h_stop(h);
    h_reopen(h);
    h_start_at(h, 2000);
    struct engine_stats es;
    engine_stats(h->e, &es);
    assert_int_equal(es.packets[PACKET_SENT], 1);
    assert_int_equal(es.packets[PACKET_DELIVERING], 4);
    assert_int_equal(es.packets[PACKET_ACKING], 2);
    assert_int_equal(es.packets[PACKET_ACKED], 0);
    assert_int_equal(h->b->asked_submission, 2); /* X and 4's */
    assert_int_equal(h->a->asked_submission, 2); /* 5's and 6's acks */
    assert_int_equal(log_count("\"packets\":7"), 1);
    pump(h);
    for (uint64_t s = 1; s <= 7; s++) /* every reloaded packet is found by its key */
        assert_non_null(eng_find(h->e, A_ID, s));
    struct packet_record r;
    load(h, A_ID, 4, &r);
    assert_string_equal(r.sub_id, ""); /* unknown to the adapter: to be done again */
    assert_int_equal(r.attempts, 0);   /* not a failure */
    packet_record_clear(&r);

    for (uint64_t t = 2001; t < 2010; t++) {
        tick(h, t);
        pump(h);
    }
    /* 4 (and 7) went out once more, in one new delivery; 1-3 did not. */
    assert_int_equal(h->b->submit_calls, b_calls + 1);
    assert_int_equal(h->b->nsubs, 2);
    assert_true(sub_has(&h->b->subs[1], 4));
    assert_true(sub_has(&h->b->subs[1], 7));
    assert_false(sub_has(&h->b->subs[1], 1));
    assert_int_equal(h->b->subs[0].calls, 1);
    /* 6's ack went out once more; 5's did not. */
    assert_int_equal(h->a->submit_calls, a_calls + 1);
    assert_non_null(fk_find(h->a, "ack:100:6:1"));
    assert_int_equal(fk_find(h->a, "ack:100:5:0")->calls, 1);
    assert_int_equal(count_sub_keys(h->st, B_ID), 2);
    h_free(h);
}

/* kill -9 at four points of one delivery; after a restart (the adapter repeats its events
 * from its cursor), the packets are delivering and exactly one delivery was persisted by the
 * adapter: nothing lost, nothing twice. */
static void kill9_child(struct h *h, int point)
{
    log_set_sink(NULL, NULL);
    log_set_level(LOGL_ERROR);
    h_reopen(h);
    h_start(h);
    for (uint64_t s = 1; s <= 3; s++)
        send_packet(h->a, B_ID, s, 5000, 999);
    if (point == 0)
        raise(SIGKILL);
    if (store_flush(h->st))
        _exit(3);
    tick(h, 1001);
    fk_answer(h->b); /* DELIVERING queued, not durable */
    if (point == 1)
        raise(SIGKILL);
    /* Point 2: our batch is durable and the adapter dies on entering submit, before its
     * write-ahead; point 3: both are durable (the flush also writes what submit queued). */
    h->b->kill_in_submit = point == 2;
    if (store_flush(h->st))
        _exit(3);
    raise(SIGKILL);
    _exit(4);
}

static void kill9_nothing_lost_nothing_twice(void **state)
{
    for (int point = 0; point < 4; point++) {
        struct h *h = h_new("leveldb", 3, 2);
        assert_int_equal(store_close(h->st), FERRY_OK);
        h->st = NULL;
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            kill9_child(h, point);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        /* Fresh adapters: only what they persisted survives. */
        fk_free(h->a);
        fk_free(h->b);
        fk_free(h->c);
        h->a = fk_new(A_ID, "alpha");
        h->b = fk_new(B_ID, "beta");
        h->c = fk_new(C_ID, "gamma");
        h_reopen(h);
        size_t before = count_sub_keys(h->st, B_ID);
        assert_int_equal(before, point == 3 ? 1 : 0);
        /* What survived: nothing (0), the events (1), the DELIVERING batch (2, 3). */
        for (uint64_t s = 1; s <= 3; s++) {
            struct packet_record r;
            enum ferry_err err = packet_record_load(h->st, A_ID, s, &r);
            if (point == 0) {
                assert_int_equal(err, FERRY_ENOTFOUND);
                continue;
            }
            assert_int_equal(err, FERRY_OK);
            assert_int_equal(r.state, point == 1 ? PACKET_SENT : PACKET_DELIVERING);
            packet_record_clear(&r);
        }
        h_start(h);
        for (uint64_t s = 1; s <= 3; s++)
            send_packet(h->a, B_ID, s, 5000, 999);
        pump(h);
        for (uint64_t t = 1002; t < 1010; t++) {
            tick(h, t);
            pump(h);
        }
        for (uint64_t s = 1; s <= 3; s++)
            assert_int_equal(stored_state(h, A_ID, s), PACKET_DELIVERING);
        assert_int_equal(count_sub_keys(h->st, B_ID), 1);
        assert_int_equal(h->b->submit_calls, point == 3 ? 0 : 1);
        h_free(h);
    }
}

struct collected {
    uint64_t seq[64];
    size_t n;
};

static enum ferry_err collect_seq(void *arg, const struct packet_record *r)
{
    struct collected *c = arg;
    c->seq[c->n++] = r->packet.sequence;
    return FERRY_OK;
}

static size_t list_all(struct h *h, const struct packet_filter *f, size_t page, struct collected *out)
{
    char cur[PACKET_CURSOR_MAX] = "", next[PACKET_CURSOR_MAX];
    size_t pages = 0;
    out->n = 0;
    do {
        assert_int_equal(packet_list(h->st, f, cur, page, collect_seq, out, next), FERRY_OK);
        memcpy(cur, next, sizeof cur);
        pages++;
        assert_true(pages < 50);
    } while (cur[0]);
    return pages;
}

static void listings_and_records(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h_start(h);
    for (uint64_t s = 1; s <= 5; s++)
        send_packet(h->a, B_ID, s, 5000 + s, 999);
    send_packet(h->a, C_ID, 6, 5000, 999);
    send_packet(h->a, C_ID, 7, 5000, 999);
    send_packet(h->b, A_ID, 1, 5000, 999); /* another source, same sequence */
    pump(h);
    for (uint64_t s = 1; s <= 2; s++) {
        receive_packet(h->b, A_ID, s, 5000 + s, true, "ok");
        settle_packet(h->a, B_ID, s, 5000 + s, true, true);
    }
    pump(h);
    struct collected c;
    struct packet_filter f = {.state = PACKET_ACKED};
    list_all(h, &f, 10, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.seq[0], 1);
    assert_int_equal(c.seq[1], 2);
    f = (struct packet_filter){.pending = true};
    assert_true(list_all(h, &f, 2, &c) >= 3);
    assert_int_equal(c.n, 6);
    f = (struct packet_filter){.pending = true, .dst_chain = C_ID};
    list_all(h, &f, 1, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.seq[0], 6);
    f = (struct packet_filter){.dst_chain = B_ID};
    list_all(h, &f, 3, &c);
    assert_int_equal(c.n, 5);
    f = (struct packet_filter){.src_chain = B_ID};
    list_all(h, &f, 3, &c);
    assert_int_equal(c.n, 1);
    f = (struct packet_filter){0};
    list_all(h, &f, 4, &c);
    assert_int_equal(c.n, 8);
    char next[PACKET_CURSOR_MAX];
    assert_int_equal(packet_list(h->st, &f, "zz", 4, collect_seq, &c, next), FERRY_EINVAL);
    f.state = PACKET_ACKED;
    assert_int_equal(packet_list(h->st, &f, "70", 4, collect_seq, &c, next), FERRY_EINVAL); /* another prefix */

    /* Records round-trip through JSON, and a damaged one is refused with the field's name. */
    struct packet_record r, back;
    load(h, A_ID, 1, &r);
    r.packet.timeout_ts = UINT64_MAX; /* past 2^53: written as a string */
    cJSON *j = packet_record_to_json(&r);
    assert_non_null(j);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "timeout")));
    assert_int_equal(packet_record_from_json(&back, j), FERRY_OK);
    assert_true(back.packet.timeout_ts == UINT64_MAX);
    assert_int_equal(back.state, PACKET_ACKED);
    assert_memory_equal(back.id, r.id, 32);
    assert_int_equal(back.packet.payload_len, 9);
    assert_memory_equal(back.packet.payload, "payload-1", 9);
    assert_int_equal(back.ack.result_len, 2);
    assert_int_equal(back.nsubs, r.nsubs);
    assert_int_equal(back.entered[PACKET_ACKED], r.entered[PACKET_ACKED]);
    packet_record_clear(&back);
    cJSON_DeleteItemFromObject(j, "dst");
    assert_int_equal(packet_record_from_json(&back, j), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "\"dst\": missing"));
    cJSON_AddStringToObject(j, "dst", "12x");
    assert_int_equal(packet_record_from_json(&back, j), FERRY_EINVAL);
    cJSON_ReplaceItemInObject(j, "dst", cJSON_CreateNumber(200));
    cJSON_ReplaceItemInObject(j, "id", cJSON_CreateString("0x1234"));
    assert_int_equal(packet_record_from_json(&back, j), FERRY_EINVAL);
    {
        /* The whole message: the hex decoder's detail wrapped once, not garbled by being
         * formatted into the buffer it is read from. */
        char detail[256], want[320];
        uint8_t id[32];
        assert_int_not_equal(hex_decode_exact(id, 32, "0x1234", HEX_PREFIX_REQUIRED), FERRY_OK);
        snprintf(detail, sizeof detail, "%s", ferry_errmsg());
        snprintf(want, sizeof want, "packet record: field \"id\": %s", detail);
        assert_int_equal(packet_record_from_json(&back, j), FERRY_EINVAL);
        assert_string_equal(ferry_errmsg(), want);
    }
    cJSON_ReplaceItemInObject(j, "id", cJSON_CreateString("0x0000000000000000000000000000000000000000000000000000000000000001"));
    cJSON_ReplaceItemInObject(j, "v", cJSON_CreateNumber(2));
    assert_int_equal(packet_record_from_json(&back, j), FERRY_EUNSUPPORTED);
    cJSON_ReplaceItemInObject(j, "v", cJSON_CreateNumber(1));
    cJSON_ReplaceItemInObject(j, "state", cJSON_CreateString("LOST"));
    assert_int_equal(packet_record_from_json(&back, j), FERRY_EINVAL);
    assert_int_equal(back.packet.payload_len, 0); /* left cleared */
    cJSON_Delete(j);
    packet_record_clear(&r);
    assert_int_equal(packet_record_load(h->st, A_ID, 99, &r), FERRY_ENOTFOUND);
    enum packet_state ps;
    assert_int_equal(packet_state_parse("timing_out", &ps), FERRY_OK);
    assert_int_equal(ps, PACKET_TIMING_OUT);
    assert_int_equal(packet_state_parse("NONE", &ps), FERRY_EINVAL);
    h_free(h);
}

static void engine_metrics(void **state)
{
    struct h *h = h_new("mem", 3, 2);
    h_start(h);
    send_packet(h->a, B_ID, 1, 5000, 999);
    send_packet(h->a, B_ID, 2, 1800, 999);
    pump(h);
    tick(h, 1500);
    send_packet(h->a, C_ID, 3, 4000, 1499);
    pump(h);
    tick(h, 1600);
    pump(h);
    assert_true(metric(h, "ferry_backlog_packets{chain=\"beta\"} ") == 2);
    assert_true(metric(h, "ferry_backlog_packets{chain=\"gamma\"} ") == 1);
    assert_true(metric(h, "ferry_backlog_packets{chain=\"alpha\"} ") == 0);
    assert_true(metric(h, "ferry_oldest_pending_age_seconds{chain=\"beta\"} ") == 600);
    assert_true(metric(h, "ferry_oldest_pending_age_seconds{chain=\"gamma\"} ") == 100);
    assert_true(metric(h, "ferry_nearest_timeout_seconds{chain=\"beta\"} ") == 200);
    assert_true(metric(h, "ferry_packets{state=\"DELIVERING\"} ") == 3);
    assert_true(metric(h, "ferry_chain_events_total{chain=\"alpha\",kind=\"packet_sent\"} ") == 3);
    struct chain_head hd = {.number = 123, .confirmed = 111};
    h->b->env.on_head(h->b->env.engine, h->b, &hd);
    assert_true(metric(h, "ferry_chain_head_block{chain=\"beta\"} ") == 123);
    assert_true(metric(h, "ferry_chain_confirmed_block{chain=\"beta\"} ") == 111);
    h_free(h);
}

static uint64_t fake_ms;
static uint64_t fake_clock(void *ud)
{
    (void)ud;
    return fake_ms;
}

/* ferry_packet_relay_seconds: from first seen, to the millisecond, per route and stage; a packet
 * carried over a restart counts from its persisted seen_at, downtime included. */
static void relay_latency_histogram(void **state)
{
    struct h *h = h_new("leveldb", 3, 2);
    h->cfg.clock_ms = fake_clock;
    fake_ms = 1000000; /* the engine's now, 1000 s */
    h_start(h);
    send_packet(h->a, B_ID, 1, 5000, 999);
    send_packet(h->a, B_ID, 2, 5000, 999);
    pump(h);
    fake_ms += 730;
    receive_packet(h->b, A_ID, 1, 5000, true, "ok");
    pump(h);
#define D "ferry_packet_relay_seconds_bucket{src=\"alpha\",dst=\"beta\",stage=\"delivered\",le="
    assert_true(metric(h, D "\"0.5\"} ") == 0);
    assert_true(metric(h, D "\"1\"} ") == 1);
    assert_true(metric(h, D "\"+Inf\"} ") == 1);
    assert_true(metric(h, "ferry_packet_relay_seconds_sum{src=\"alpha\",dst=\"beta\",stage=\"delivered\"} ") == 0.73);
    fake_ms += 3470; /* acked 4.2 s after it was seen */
    settle_packet(h->a, B_ID, 1, 5000, true, true);
    pump(h);
#define A "ferry_packet_relay_seconds_bucket{src=\"alpha\",dst=\"beta\",stage=\"acked\",le="
    assert_true(metric(h, A "\"2.5\"} ") == 0);
    assert_true(metric(h, A "\"5\"} ") == 1);
    assert_true(metric(h, "ferry_packet_relay_seconds_count{src=\"alpha\",dst=\"beta\",stage=\"acked\"} ") == 1);

    /* Packet 2 waits through a restart at 2000 s and is delivered at 1600 s: 600 s after it was
     * seen (the persisted second), whatever this process's clock said when it reloaded it. */
    h_stop(h);
    h_reopen(h);
    fake_ms = 1550000;
    h_start_at(h, 2000);
    fake_ms = 1600000;
    receive_packet(h->b, A_ID, 2, 5000, true, "two");
    pump(h);
    assert_true(metric(h, D "\"300\"} ") == 1);
    assert_true(metric(h, D "\"600\"} ") == 2);
    assert_true(metric(h, "ferry_packet_relay_seconds_count{src=\"alpha\",dst=\"beta\",stage=\"delivered\"} ") == 2);
    assert_true(metric(h, "ferry_packet_relay_seconds_sum{src=\"alpha\",dst=\"beta\",stage=\"delivered\"} ") ==
                600.73);
#undef D
#undef A
    h_free(h);
}

static void chain_ops_are_checked(void **state)
{
    assert_int_equal(chain_ops_check(&fake_ops), FERRY_OK);
    struct chain_ops broken = fake_ops;
    broken.query_pending = NULL;
    assert_int_equal(chain_ops_check(&broken), FERRY_EINVAL);
    assert_string_equal(ferry_errmsg(), "chain family \"fake\": no query_pending");
    broken = fake_ops;
    broken.name = NULL;
    assert_int_equal(chain_ops_check(&broken), FERRY_EINVAL);
    assert_null(chain_family("no-such-family"));
    const struct chain_ops *const *all = chain_families();
    size_t n = 0;
    while (all[n]) {
        assert_int_equal(chain_ops_check(all[n]), FERRY_OK);
        assert_ptr_equal(chain_family(all[n]->name), all[n]);
        n++;
    }
    struct h *h = h_new("mem", 3, 2);
    assert_int_equal(engine_new(&h->e, &h->cfg), FERRY_OK);
    broken = fake_ops;
    broken.submit = NULL;
    assert_int_equal(engine_add_chain(h->e, &broken, h->a, NULL), FERRY_EINVAL);
    assert_int_equal(engine_add_chain(h->e, &fake_ops, h->a, NULL), FERRY_OK);
    assert_int_equal(engine_add_chain(h->e, &fake_ops, h->a, NULL), FERRY_EEXIST);
    assert_int_equal(engine_tick(h->e, 1), FERRY_ESTATE);
    h_free(h);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(happy_path),
        cmocka_unit_test(timeout_path),
        cmocka_unit_test(failed_ack_is_relayed),
        cmocka_unit_test(racing_relayer),
        cmocka_unit_test(already_received_is_not_submitted),
        cmocka_unit_test(retry_backoff_park_and_operator_retry),
        cmocka_unit_test(failed_and_lost_queries),
        cmocka_unit_test(batches_by_destination_by_time_left),
        cmocka_unit_test(batches_bounded_by_count_and_gas),
        cmocka_unit_test(backfill_does_not_starve_live),
        cmocka_unit_test(per_chain_batch_and_window),
        cmocka_unit_test(kick_asks_for_a_prompt_pass),
        cmocka_unit_test(repeated_events_are_noops),
        cmocka_unit_test(attesters_m_of_n),
        cmocka_unit_test(invalid_transitions_are_refused),
        cmocka_unit_test(received_before_sent_then_sent),
        cmocka_unit_test(ack_resubmitted_only_while_pending),
        cmocka_unit_test(acks_batched_and_split_on_failure),
        cmocka_unit_test(events_done_waits_for_durability),
        cmocka_unit_test(restart_reloads_and_reconciles),
        cmocka_unit_test(kill9_nothing_lost_nothing_twice),
        cmocka_unit_test(listings_and_records),
        cmocka_unit_test(engine_metrics),
        cmocka_unit_test(relay_latency_histogram),
        cmocka_unit_test(chain_ops_are_checked),
    };
    int rc = TU_RUN(tests);
    secp256k1_context_destroy(secp);
    free(logbuf);
    return rc;
}
