/* Packets relayed end to end per second through the engine on a LevelDB store on the real disk:
 * PacketSent, the delivery check and batch, PacketReceived, the ack, PacketAcknowledged
 * (five durable transitions and three signed attestations of 2 signatures each per packet), with
 * a minimal in-process chain that answers at once. Events arrive 256 per loop turn and each turn
 * ends with one store_flush, as in the daemon. The reference is one synchronous store write per
 * transition, which is what a store without group commit would cap the engine at. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "ferry/engine.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"
#include "ferry/log.h"
#include "ferry/store.h"

#define PACKETS 4096
#define TURN 256

static secp256k1_context *secp;
static uint8_t keys[2][32];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_engine: %s: %s\n", what, ferry_errmsg());
    exit(1);
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            rm_rf(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static double sign_secs;
static unsigned long sign_count;

static enum ferry_err sign(void *ud, const char *name, const uint8_t d[32], uint8_t sig[65])
{
    double t = now();
    sign_count++;
    secp256k1_ecdsa_recoverable_signature rs;
    int recid;
    if (!secp256k1_ecdsa_sign_recoverable(secp, &rs, d, keys[name[3] - '0'], NULL, NULL))
        return ferry_fail(FERRY_ECRYPTO, "sign");
    secp256k1_ecdsa_recoverable_signature_serialize_compact(secp, sig, &recid, &rs);
    sig[64] = (uint8_t)recid;
    sign_secs += now() - t;
    return FERRY_OK;
}

/* ---- a chain that answers every query on the next turn and accepts every call ---- */

struct query {
    chain_received_cb rcb;
    chain_pending_cb pcb;
    void *ud;
};

struct chain {
    uint64_t id;
    struct chain_env env;
    struct query q[PACKETS];
    size_t nq;
    size_t submitted, submitted_packets;
    uint64_t token;
};

static enum ferry_err c_open(struct chain **o, const cJSON *c, const struct chain_env *e)
{
    return ferry_fail(FERRY_EUNSUPPORTED, "bench");
}
static int c_check(const cJSON *c, void (*p)(void *, const char *, const char *), void *u) { return 0; }
static enum ferry_err c_start(struct chain *c) { return FERRY_OK; }
static void c_stop(struct chain *c) {}
static uint64_t c_id(const struct chain *c) { return c->id; }
static const char *c_name(const struct chain *c) { return c->id == 1 ? "src" : "dst"; }
static struct chain_head c_head(const struct chain *c)
{
    return (struct chain_head){.number = 10, .timestamp = 1000, .confirmed = 5, .confirmed_timestamp = 990};
}
static void c_packet_id(const struct packet *p, uint8_t out[32])
{
    uint8_t b[16];
    store_be64_put(b, p->src_chain);
    store_be64_put(b + 8, p->sequence);
    keccak256(out, b, sizeof b);
}
static enum ferry_err c_digest(struct chain *c, enum chain_attest_kind k, const struct packet *p,
                               const struct packet_ack *a, uint64_t proof, uint8_t out[32])
{
    c_packet_id(p, out);
    out[0] ^= (uint8_t)k;
    return FERRY_OK;
}
static enum ferry_err c_submit(struct chain *c, const char *id, const struct chain_call *call)
{
    c->submitted++;
    c->submitted_packets += call->n;
    return FERRY_OK;
}
static enum chain_submission_state c_submission(struct chain *c, const char *id, struct chain_submission *o)
{
    return CHAIN_SUB_UNKNOWN;
}
static enum ferry_err c_received(struct chain *c, uint64_t s, uint64_t q, chain_received_cb cb, void *ud)
{
    c->q[c->nq++] = (struct query){.rcb = cb, .ud = ud};
    return FERRY_OK;
}
static enum ferry_err c_pending(struct chain *c, uint64_t q, chain_pending_cb cb, void *ud)
{
    c->q[c->nq++] = (struct query){.pcb = cb, .ud = ud};
    return FERRY_OK;
}
static void c_done(struct chain *c, uint64_t t) {}
static enum ferry_err c_resume(struct chain *c) { return FERRY_OK; }
static cJSON *c_status(struct chain *c) { return NULL; }

static const struct chain_ops ops = {
    .name = "bench", .open = c_open, .check_config = c_check, .start = c_start, .stop = c_stop,
    .close = c_stop, .chain_id = c_id, .chain_name = c_name, .head = c_head, .attest_digest = c_digest,
    .packet_id = c_packet_id, .submit = c_submit, .submission = c_submission, .query_received = c_received,
    .query_pending = c_pending, .events_done = c_done, .resume = c_resume, .status = c_status,
};

static void answer(struct chain *c)
{
    size_t n = c->nq;
    c->nq = 0;
    for (size_t i = 0; i < n; i++) {
        struct chain_received_result r = {false, 5, 990};
        c->q[i].rcb(c->q[i].ud, FERRY_OK, &r);
    }
}

static void events(struct chain *c, enum chain_event_kind kind, uint64_t first, size_t n)
{
    static struct chain_event ev[TURN];
    static uint8_t payload[64];
    for (size_t i = 0; i < n; i++) {
        struct chain_event *e = &ev[i];
        memset(e, 0, sizeof *e);
        e->kind = kind;
        e->packet.src_chain = 1;
        e->packet.dst_chain = 2;
        e->packet.sequence = first + i;
        e->packet.timeout_ts = 100000;
        e->packet.receiver[31] = 1;
        e->packet.payload = payload;
        e->packet.payload_len = sizeof payload;
        e->at.block_timestamp = 999;
        e->ack.success = true;
        c_packet_id(&e->packet, e->packet_id);
    }
    c->env.on_events(c->env.engine, c, ev, n, ++c->token);
}

static void flush(struct store *st)
{
    if (store_flush(st))
        die("store_flush");
}

int main(void)
{
    secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    static const char *const hexkeys[2] = {"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
                                           "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"};
    struct engine_attester att[2] = {{.key_name = "att0"}, {.key_name = "att1"}};
    for (int i = 0; i < 2; i++) {
        secp256k1_pubkey pub;
        uint8_t ser[65];
        size_t len = sizeof ser;
        if (hex_decode_exact(keys[i], 32, hexkeys[i], HEX_PREFIX_FORBIDDEN) ||
            !secp256k1_ec_pubkey_create(secp, &pub, keys[i]) ||
            !secp256k1_ec_pubkey_serialize(secp, ser, &len, &pub, SECP256K1_EC_UNCOMPRESSED))
            die("keys");
        address_from_pubkey(att[i].address, ser + 1);
    }
    log_set_level(LOGL_WARN);
    char dir[] = "/tmp/ferry-bench-engine-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp");
    char path[64];
    snprintf(path, sizeof path, "%s/db", dir);
    struct store *st;
    if (store_open(&st, "leveldb", path))
        die("store_open");

    /* Reference: one synchronous write per transition. */
    double t0 = now();
    int ref_n = 200;
    for (int i = 0; i < ref_n; i++) {
        struct store_batch *b;
        struct store_key k;
        store_key_u64_u64(&k, STORE_KIND_META, 9, (uint64_t)i);
        if (store_batch_begin(st, &b))
            die("batch");
        store_put(b, k.b, k.len, "x", 1);
        if (store_commit_sync(b))
            die("commit");
    }
    double ref = ref_n / (now() - t0);

    struct engine_config cfg;
    engine_config_default(&cfg);
    cfg.store = st;
    cfg.attesters = att;
    cfg.n_attesters = 2;
    cfg.threshold = 2;
    cfg.sign = sign;
    cfg.batch_max = 32;
    cfg.inflight_max = 64;
    struct engine *e;
    static struct chain src = {.id = 1}, dst = {.id = 2};
    if (engine_new(&e, &cfg))
        die("engine_new");
    engine_chain_env(e, &src.env);
    engine_chain_env(e, &dst.env);
    if (engine_add_chain(e, &ops, &src, NULL) || engine_add_chain(e, &ops, &dst, NULL) || engine_start(e, 1000))
        die("engine start");

    t0 = now();
    sign_secs = 0;
    sign_count = 0;
    struct store_stats s0, s1;
    store_stats(st, &s0);
    for (uint64_t first = 1; first <= PACKETS; first += TURN) {
        events(&src, CHAIN_EV_PACKET_SENT, first, TURN);
        flush(st);
        if (engine_tick(e, 1001))
            die("tick");
        flush(st);
        answer(&dst);
        flush(st);
        events(&dst, CHAIN_EV_PACKET_RECEIVED, first, TURN);
        flush(st);
        events(&src, CHAIN_EV_PACKET_ACKED, first, TURN);
        flush(st);
    }
    double secs = now() - t0;
    store_stats(st, &s1);
    struct engine_stats es;
    engine_stats(e, &es);
    size_t left = 0;
    for (int i = 0; i < PACKET_STATE__COUNT; i++)
        left += es.packets[i];
    /* acks are batched per source chain (acknowledgeBatch): count packets, not submissions */
    if (dst.submitted_packets != PACKETS || src.submitted_packets != PACKETS || left != 0) {
        fprintf(stderr, "bench_engine: %zu delivered, %zu acked (in %zu ack submissions), %zu left\n",
                dst.submitted_packets, src.submitted_packets, src.submitted, left);
        return 1;
    }
    double pps = PACKETS / secs;
    printf("bench engine_packets_end_to_end: %.0f packets/s (%.1fx one sync write per transition, %.0f/s)\n", pps,
           pps * 5 / ref, ref);
    printf("bench engine_transitions: %.0f transitions/s in %" PRIu64 " sync writes (%.1fx one sync write per "
           "transition)\n",
           pps * 5, s1.sync_writes - s0.sync_writes, pps * 5 / ref);
    double other_us = (secs - sign_secs) / PACKETS * 1e6, sign_us = sign_secs / PACKETS * 1e6;
    printf("bench engine_time_per_packet_besides_signing: %.1f us (%.2fx the %.0f us of its %lu signatures)\n",
           other_us, other_us / sign_us, sign_us, sign_count / PACKETS);
    engine_free(e);
    if (store_close(st))
        die("store_close");
    rm_rf(dir);
    secp256k1_context_destroy(secp);
    return 0;
}
