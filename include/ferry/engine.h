/* The packet engine: relays every packet from its source to its destination and settles it
 * back on the source, across crashes. docs/engine.md describes the design; in short:
 *
 *   SENT -> DELIVERING -> DELIVERED -> ACKING -> ACKED
 *   SENT -> TIMING_OUT -> TIMED_OUT
 *   (DELIVERING | ACKING | TIMING_OUT) -> PARKED -> back, on an operator's retry
 *
 * Every state change goes through one function that checks the edge against a table,
 * persists the record and its index entries in one store batch (group-committed), logs
 * "old -> new" and updates the metrics. The outside world (a transaction submitted to a chain,
 * an adapter's cursor) is touched only from the batch's durability callback, so a kill -9 at
 * any point loses nothing and submits nothing twice: on start the engine reloads every
 * non-terminal packet and asks the adapters about the submissions the records name.
 *
 * The engine owns no loop and no clock: the daemon calls engine_tick(now) from a timer and
 * store_flush() at the end of every loop turn; adapters call back through the chain_env that
 * engine_chain_env() fills. Tests drive the same calls by hand. */
#ifndef FERRY_ENGINE_H
#define FERRY_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ferry/address.h"
#include "ferry/chain.h"
#include "ferry/err.h"
#include "ferry/packet.h"

struct engine;
struct metrics;
struct store;

/* ---- packet states; the numbers are persisted (index keys): never renumber ---- */

enum packet_state {
    PACKET_NONE = 0,       /* not a state: the origin of a record's first transition */
    PACKET_SENT = 1,       /* seen on its source; no delivery submitted yet */
    PACKET_DELIVERING = 2, /* in a submitted delivery batch, or its delivery failed and waits to retry */
    PACKET_DELIVERED = 3,  /* received on the destination, ack recorded; the ack is not submitted yet */
    PACKET_ACKING = 4,     /* its ack was submitted to the source, or failed and waits to retry */
    PACKET_TIMING_OUT = 5, /* proven unreceived past its timeout; a timeout was submitted to the source */
    PACKET_PARKED = 6,     /* retries exhausted (or the chains disagree): waits for an operator */
    PACKET_ACKED = 7,      /* terminal: the source processed the ack (the app got onAck) */
    PACKET_TIMED_OUT = 8,  /* terminal: the source processed the timeout (the sender was refunded) */
    PACKET_STATE__COUNT
};

/* "SENT", "DELIVERING", ...; "NONE" for PACKET_NONE, "?" outside the enum. */
const char *packet_state_name(enum packet_state s);
/* Parses a state name, case-insensitively. */
enum ferry_err packet_state_parse(const char *s, enum packet_state *out) FERRY_WUR;
/* ACKED and TIMED_OUT. */
bool packet_state_terminal(enum packet_state s);
/* Whether the one door lets a packet move from `from` to `to` (the transition table). */
bool packet_transition_allowed(enum packet_state from, enum packet_state to);

/* ---- the persisted record of a packet ---- */

#define ENGINE_SUB_ID_MAX 80  /* a submission id, NUL included */
#define ENGINE_REASON_MAX 240 /* a park or failure reason, NUL included */
#define ENGINE_SUBS_KEPT 4    /* submissions remembered per packet (the newest) */

/* A submission made for a packet: its id, what the chain last said, its transaction. */
struct packet_sub {
    char id[ENGINE_SUB_ID_MAX];
    enum chain_submission_state state;
    uint8_t tx_hash[32]; /* zero until the adapter reports one */
};

struct packet_record {
    enum packet_state state;
    enum packet_state parked_from;  /* PARKED: the state an operator's retry returns it to */
    bool have_packet;               /* false while only its PACKET_RECEIVED was seen (no PACKET_SENT yet) */
    struct packet packet;           /* src_chain, dst_chain, sequence always; the rest if have_packet */
    uint8_t id[32];                 /* the packet id */
    bool have_ack;
    struct packet_ack ack;          /* from PACKET_RECEIVED */
    uint64_t proof_ts;              /* TIMING_OUT: destination time at which it was proven unreceived */
    uint32_t attempts;              /* failed attempts in the current state (backoff, parking) */
    uint32_t nsub;                  /* submissions made for it so far: makes submission ids unique */
    uint64_t next_attempt_at;       /* unix s: no new attempt before this (persisted backoff) */
    char sub_id[ENGINE_SUB_ID_MAX]; /* the submission in flight, "" if none */
    char reason[ENGINE_REASON_MAX]; /* PARKED: why; otherwise the last failure, "" if none */
    uint64_t sent_block;            /* block of PACKET_SENT on the source, and its time */
    uint64_t sent_time;
    uint64_t seen_at;                      /* unix s when the engine first heard of it */
    uint64_t entered[PACKET_STATE__COUNT]; /* unix s when it last entered each state; 0: never */
    uint8_t recv_tx[32];                   /* the transaction that delivered it (maybe not ours) */
    uint8_t settle_tx[32];                 /* the transaction that acked or timed it out on the source */
    size_t nsubs;
    struct packet_sub subs[ENGINE_SUBS_KEPT]; /* oldest first */
};

/* Frees the owned parts (payload, ack result) and zeroes r. */
void packet_record_clear(struct packet_record *r);
/* The record as JSON: what the store holds and what the HTTP API shows. NULL on no memory. */
cJSON *packet_record_to_json(const struct packet_record *r);
/* Reads a record back, strictly: a missing or malformed field fails with its name, and out
 * is left cleared. */
enum ferry_err packet_record_from_json(struct packet_record *out, const cJSON *j) FERRY_WUR;

/* ---- reading records from the store (the API, and the CLI when the daemon is down) ---- */

/* The record of packet (src_chain, sequence), as last made durable. FERRY_ENOTFOUND if none. */
enum ferry_err packet_record_load(struct store *st, uint64_t src_chain, uint64_t sequence,
                                  struct packet_record *out) FERRY_WUR;

struct packet_filter {
    enum packet_state state; /* PACKET_NONE: any */
    bool pending;            /* only non-terminal states (with state PACKET_NONE) */
    uint64_t src_chain;      /* 0: any */
    uint64_t dst_chain;      /* 0: any */
};

#define PACKET_CURSOR_MAX 80 /* a listing cursor, NUL included */

/* Called for each record listed; the record is valid during the call. Non-zero stops the listing
 * with that result. */
typedef enum ferry_err packet_list_fn(void *arg, const struct packet_record *r);

/* Lists records matching f, at most `limit`, starting after the cursor `after` (NULL or "":
 * from the start). `next` receives the cursor of the next page, "" when the listing is complete.
 * A page may hold fewer than `limit` records with a non-empty next: one call examines a bounded
 * number of entries (filters that the chosen index does not cover are applied record by record).
 * Order: by state then key with a state filter, by destination then key with a destination
 * filter, else by (source chain, sequence). */
enum ferry_err packet_list(struct store *st, const struct packet_filter *f, const char *after, size_t limit,
                           packet_list_fn *fn, void *arg, char next[PACKET_CURSOR_MAX]) FERRY_WUR;

/* ---- attesters ---- */

/* An attester key this daemon holds. The engine never sees the key: it asks `sign` for
 * signatures by key name. */
struct engine_attester {
    const char *key_name;         /* the signer's name for it (copied) */
    uint8_t address[ADDRESS_LEN]; /* its address: the daemon gets it from signer_address() */
};

/* Signs a digest with the named key: r || s || v, v the recovery id (0 or 1), low-s. The daemon
 * wires this to signer_sign_digest(). */
typedef enum ferry_err engine_sign_fn(void *ud, const char *key_name, const uint8_t digest[32],
                                      uint8_t sig[CHAIN_SIG_LEN]);

/* ---- configuration ---- */

struct engine_config {
    struct store *store;      /* required; outlives the engine */
    struct metrics *metrics;  /* may be NULL; outlives the engine */
    /* Attesters: m of them sign each attestation, m being the verifying chain's threshold. */
    const struct engine_attester *attesters;
    size_t n_attesters;
    unsigned threshold; /* default m for chains that do not set their own; 1 <= m <= n_attesters */
    engine_sign_fn *sign;
    void *sign_ud;
    /* Delivery batches, per destination chain. */
    uint32_t batch_max;            /* packets per delivery (16) */
    uint64_t gas_per_packet;       /* estimated gas of one packet in a delivery (250000) */
    uint64_t gas_per_payload_byte; /* plus this much per payload byte (16) */
    uint64_t batch_gas_cap;        /* estimated gas per delivery (8000000); a lone packet may exceed it */
    uint32_t inflight_max;         /* deliveries being checked or submitted per destination (8) */
    uint32_t live_share_pct;       /* share of each batch kept for live packets (25) */
    uint32_t live_window_s;        /* a packet seen within this long of its block is live (300) */
    /* Retries. */
    uint32_t retry_limit;    /* failed attempts before a packet is parked (8) */
    uint32_t backoff_base_s; /* wait after the first failure, doubled each time (10) */
    uint32_t backoff_max_s;  /* longest wait (900) */
    uint32_t jitter_pct;     /* up to this share of a wait is taken off at random (20) */
    uint32_t recheck_s;      /* wait before asking a chain again about a packet that waits for an event (30) */
    uint32_t query_retry_s;  /* wait after a failed query (5) */
    uint32_t probe_timeout_s; /* a query unanswered this long is given up (120) */
    uint64_t seed;           /* jitter PRNG seed; 0: from the clock */
    /* Prompt scheduling. The engine calls kick(kick_ud) when work may have become due between
     * ticks (events arrived, a submission finished, a delivery check ended) and wants
     * engine_tick called soon, from the loop (e.g. a zero-delay timer): never from inside kick.
     * Coalesced: at most one kick between two engine_tick calls. NULL: the caller's timer only. */
    void (*kick)(void *ud);
    void *kick_ud;
    /* Unix time in milliseconds, for the relay-latency histogram (ferry_packet_relay_seconds):
     * `now` has whole seconds only. NULL: the system's real-time clock. */
    uint64_t (*clock_ms)(void *ud);
    void *clock_ud;
};

/* Fills the defaults above (store, metrics, attesters and sign left empty). */
void engine_config_default(struct engine_config *cfg);

/* Checks the config (attesters distinct, threshold in range) and has every attester sign a
 * test digest, recovering the signature to check its configured address. */
enum ferry_err engine_new(struct engine **out, const struct engine_config *cfg) FERRY_WUR;
/* Frees the engine. Close the chains first (they must not call back afterwards). Batches still
 * queued in the store are harmless: their callbacks become no-ops. e may be NULL. */
void engine_free(struct engine *e);

/* Fills the engine's side of a chain_env (engine and callbacks; the daemon sets loop, store
 * and signer) to open a chain with. */
void engine_chain_env(struct engine *e, struct chain_env *env);

struct engine_chain_config {
    unsigned threshold;    /* the Gateway's m on this chain; 0: the engine's default */
    uint32_t batch_max;    /* packets per delivery to this chain (its max_batch); 0: engine_config's */
    uint32_t inflight_max; /* deliveries checked or in flight to this chain; 0: engine_config's */
};

/* Adds an opened chain (before engine_start). The chain's ops are checked (chain_ops_check);
 * its threshold must not exceed the attesters held. */
enum ferry_err engine_add_chain(struct engine *e, const struct chain_ops *ops, struct chain *c,
                                const struct engine_chain_config *cc) FERRY_WUR;

/* Reloads every non-terminal packet, asks the adapters about the submissions they name
 * (ops->submission) and reconciles: unknown ones are redone, failed ones retried, pending ones
 * left to the adapter. Call before starting the chains. */
enum ferry_err engine_start(struct engine *e, uint64_t now) FERRY_WUR;

/* Does the work that is due at unix time `now`: delivery batches, timeouts, acks, retries.
 * Call from a timer (every second: the time-based work) and whenever the engine kicks
 * (engine_config.kick: new work). Returns the error that stopped the engine, if any. */
enum ferry_err engine_tick(struct engine *e, uint64_t now) FERRY_WUR;

/* FERRY_OK while the engine runs; otherwise the error that stopped it (a failed store write:
 * restart the daemon, the engine reconciles on start). */
enum ferry_err engine_failed(const struct engine *e);

/* Operator action: a PARKED packet goes back to the state it was parked from, with its
 * attempts reset, due now. FERRY_ENOTFOUND if the engine holds no such packet, FERRY_ESTATE
 * if it is not parked. */
enum ferry_err engine_retry(struct engine *e, uint64_t src_chain, uint64_t sequence) FERRY_WUR;

/* Counts for status pages and tests. */
struct engine_stats {
    size_t packets[PACKET_STATE__COUNT]; /* in memory, by state (terminal ones until durable) */
    size_t queries;                      /* chain queries in flight */
    size_t submissions;                  /* submissions in flight */
};
void engine_stats(const struct engine *e, struct engine_stats *out);

#endif
