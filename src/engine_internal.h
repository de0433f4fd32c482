/* The engine's internals, shared by src/engine*.c and the engine's unit test (nothing else
 * includes this). */
#ifndef FERRY_ENGINE_INTERNAL_H
#define FERRY_ENGINE_INTERNAL_H

#include <secp256k1.h>

#include "ferry/engine.h"
#include "ferry/metrics.h"
#include "ferry/store.h"

#define RECORD_VERSION 1

/* A packet the engine holds in memory: its record and what is in flight about it. */
struct prec {
    struct packet_record r;
    bool checking;         /* a query about it is in flight (delivery check, timeout check, pending check) */
    uint32_t gen;          /* bumped on every state change: answers to older queries are ignored */
    uint64_t check_after;  /* in memory: do not ask a chain about it again before this (unix s) */
    uint64_t tcheck_after; /* in memory: the same, for the timeout check */
    enum packet_state indexed; /* the state its index entry holds (as of the batches written so far) */
    bool dirty;                /* changed in the batch being built */
    uint64_t seen_ms; /* in memory: unix ms when this process first heard of it (0: reloaded, use seen_at) */
};

struct echain {
    const struct chain_ops *ops;
    struct chain *c;
    uint64_t id;
    char name[64];
    unsigned threshold;
    uint32_t batch_max;    /* packets per delivery to it */
    uint32_t inflight_max; /* its delivery window */
    uint32_t assembling; /* delivery batches whose checks are in flight */
    bool paused;         /* a deep reorg: no new work until the adapter resumes */
    /* The ack batch being filled for this source chain, in batch (txn) ack_txn: packets turning
     * ACKING in the same batch join it up to batch_max packets and batch_gas_cap. */
    uint64_t ack_txn;
    char ack_id[ENGINE_SUB_ID_MAX];
    uint32_t ack_n;
    uint64_t ack_gas;
};

/* A submission in flight: which packets it carries, on which chain. Rebuilt on start from
 * the records' sub_id fields. */
enum sub_kind { SUB_DELIVER, SUB_ACK, SUB_TIMEOUT };

struct pkey {
    uint64_t src, seq;
};

struct lsub {
    struct lsub *next;
    char id[ENGINE_SUB_ID_MAX];
    enum sub_kind kind;
    struct echain *ch; /* the chain it was submitted to */
    size_t n;
    struct pkey *keys;
};

/* Work to do once a batch is durable. */
enum action_kind {
    ACT_SUBMIT, /* submit the lsub named sub_id */
    ACT_FORGET, /* drop a terminal packet from memory */
};

struct action {
    enum action_kind kind;
    char sub_id[ENGINE_SUB_ID_MAX];
    struct pkey key;
};

/* One store batch and what follows from it. Txns whose engine was freed are orphans
 * (e == NULL): their callback only frees them. */
struct txn {
    struct engine *e;
    uint64_t serial; /* 1, 2, ...: tells this batch from a later one at the same address */
    struct txn *prev, *next; /* in e->txns, until the callback ran */
    struct store_batch *b;
    struct action *a;
    size_t na, aalloc;
    struct echain *done_chain; /* events_done(done_chain, done_token) once durable */
    uint64_t done_token;
    bool events_done;
    bool has_records; /* packet records in the batch (the crash point after their persist) */
};

enum probe_kind { PROBE_DELIVER, PROBE_TIMEOUT, PROBE_PENDING };

struct assembly;

/* A query in flight: the callback's ud. */
struct probe {
    struct engine *e;
    struct probe *prev, *next;
    enum probe_kind kind;
    struct pkey key;
    uint32_t gen;
    uint64_t started;
    struct assembly *as; /* PROBE_DELIVER: the batch it belongs to (NULL once given up) */
    size_t idx;
    bool given_up; /* timed out: its answer is dropped */
};

enum member_result { MR_WAITING, MR_READY, MR_RECEIVED, MR_TIMED_OUT, MR_ERROR };

/* A delivery batch being checked against `received` on its destination. */
struct assembly {
    struct assembly *prev, *next;
    struct echain *dst;
    uint64_t started;
    size_t n, outstanding;
    struct amember {
        struct pkey key;
        uint32_t gen;
        enum member_result res;
        uint64_t block_ts;
        struct probe *probe;
    } *m;
};

struct engine {
    struct engine_config cfg;
    struct store *st;
    struct engine_attester *att; /* sorted by address ascending; key names owned */
    size_t natt;
    secp256k1_context *secp;

    struct echain *chains;
    size_t nchains;

    /* packets by (src, seq): open addressing, linear probing, power-of-two capacity */
    struct prec **tab;
    size_t cap, count;
    size_t per_state[PACKET_STATE__COUNT];

    struct lsub *subs;
    struct probe *probes;
    size_t nprobes;
    struct assembly *asm_list;
    struct txn *txns;
    /* records changed in the batch being built (batches do not nest) */
    struct txn *building;
    uint64_t txn_serial; /* the last batch's serial */
    struct prec **dirty;
    size_t ndirty, dirty_alloc;

    uint64_t now;
    uint64_t rng;
    bool started;
    bool kicked; /* cfg.kick was called and engine_tick has not run since */
    enum ferry_err failed;

    struct metric *m_latency; /* ferry_packet_relay_seconds */
    struct metric *m_transitions, *m_packets, *m_events, *m_submissions, *m_attest, *m_backlog, *m_oldest,
        *m_nearest, *m_head, *m_confirmed, *m_paused;
};

/* ---- engine.c ---- */
struct prec *eng_find(struct engine *e, uint64_t src, uint64_t seq);
struct echain *eng_chain(struct engine *e, uint64_t id);
/* Unix ms from cfg.clock_ms, else the real-time clock. */
uint64_t eng_clock_ms(struct engine *e);
struct txn *txn_begin(struct engine *e);
void txn_add(struct txn *t, enum action_kind kind, const char *sub_id, uint64_t src, uint64_t seq);
void txn_commit(struct txn *t);
/* The one door: every state change of a packet. */
enum ferry_err packet_set_state(struct engine *e, struct txn *t, struct prec *p, enum packet_state to,
                                const char *reason);
/* Persists a record whose state did not change. */
void packet_save(struct engine *e, struct txn *t, struct prec *p);
void eng_fail(struct engine *e, enum ferry_err err, const char *what);
/* Asks the daemon for a prompt engine_tick (engine_config.kick), once per tick at most. */
void eng_kick(struct engine *e);
void sub_record(struct prec *p, const char *id, enum chain_submission_state st, const uint8_t *tx);
struct lsub *lsub_find(struct engine *e, const char *id);
struct lsub *lsub_add(struct engine *e, const char *id, enum sub_kind kind, struct echain *ch, const struct pkey *keys,
                      size_t n);
void lsub_drop(struct engine *e, struct lsub *s);
void submit_now(struct engine *e, const char *sub_id);
void sub_failed(struct engine *e, struct txn *t, struct prec *p, const char *why);
void try_ack(struct engine *e, struct txn *t, struct prec *p);
void packet_key_str(char out[48], uint64_t src, uint64_t seq);

/* For tests: the one door, wrapped in its own batch. */
enum ferry_err engine_test_set_state(struct engine *e, uint64_t src, uint64_t seq, enum packet_state to,
                                     const char *reason);

/* ---- engine_sched.c ---- */
void sched_tick(struct engine *e);
/* Starts a timeout for p, proven unreceived at destination time proof_ts. */
void start_timeout(struct engine *e, struct txn *t, struct prec *p, uint64_t proof_ts);
void probe_free_all(struct engine *e);

/* ---- engine_record.c ---- */
/* The record's JSON text (malloc'd) for the store. */
char *record_encode(const struct packet_record *r, size_t *len);
enum ferry_err record_decode(struct packet_record *out, const uint8_t *v, size_t n);
void record_copy_shallow_reset(struct packet_record *r);

#endif
