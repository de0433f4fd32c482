/* The chain adapter interface: what the engine needs from a chain, whatever its family.
 *
 * A family (chains/evm/ first) exports one const `struct chain_ops`, listed in the NULL-terminated
 * table returned by chain_families() and looked up by name (the "kind" in the config). The engine
 * never sees JSON-RPC, ABI or transactions: it gets decoded protocol events, asks for point
 * queries, asks for attestation digests to sign, and hands over calls to submit.
 *
 * Everything is asynchronous on the daemon's one loop (include/ferry/loop.h): an operation returns
 * at once (FERRY_OK = started) and its callback runs on a later turn, never from inside the call.
 *
 * Durability contract (the base of "nothing lost, nothing twice"):
 *  - Events are delivered only from blocks behind the chain's confirmation depth, in block order,
 *    at least once (after a restart the adapter may repeat events from its last persisted cursor):
 *    the engine's transitions must be idempotent, keyed by the event's identity.
 *  - A call is submitted under a caller-chosen submission id. The adapter persists the signed
 *    transaction (write-ahead) before broadcasting it, and submit() with an id it already knows
 *    does not create a second transaction: it reports the existing one. After a restart the
 *    adapter reports the state of every submission that was not final.
 *  - The cursor advances (and is persisted) only after the engine has accepted the events: the
 *    engine calls ops->events_done(c, token) once the events' state changes are durable.
 *
 * Borrowing: whatever the engine passes in (a call, its packets and attestations, ids) is
 * borrowed for the duration of the operation only; whatever an adapter passes to a callback
 * (events, submissions, results) is valid during that callback only. Both sides copy what
 * they keep.
 *
 * Start order (the daemon's job): open every chain with the env from engine_chain_env(),
 * engine_add_chain() each, engine_start() (reloads packets, asks ops->submission() about the
 * submissions they name, so open() must have loaded the adapter's own persisted state), then
 * ops->start() each. */
#ifndef FERRY_CHAIN_H
#define FERRY_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ferry/err.h"
#include "ferry/packet.h"

struct chain;
struct loop;
struct metrics;
struct store;
struct signer;

/* ---- events seen on a chain ---- */

enum chain_event_kind {
    CHAIN_EV_PACKET_SENT,       /* a packet left this chain (Gateway.PacketSent) */
    CHAIN_EV_PACKET_RECEIVED,   /* a packet from another chain was delivered here, with its ack */
    CHAIN_EV_PACKET_SKIPPED,    /* a delivery here passed over a packet (see skip_reason) */
    CHAIN_EV_PACKET_ACKED,      /* the ack of a packet sent here was processed here */
    CHAIN_EV_PACKET_TIMED_OUT,  /* a packet sent here was timed out here (sender refunded) */
    CHAIN_EV__COUNT
};

/* Where an event happened: its identity is (chain, block hash, log index). */
struct chain_event_origin {
    uint64_t chain_id;
    uint64_t block_number;
    uint64_t block_timestamp;
    uint8_t block_hash[32];
    uint8_t tx_hash[32];
    uint32_t log_index;
};

/* Why a delivery passed over a packet (Gateway.SkipReason). Not authenticated on chain: only
 * PACKET_RECEIVED proves a delivery, so the engine takes a skip as a hint, never as a fact. */
enum chain_skip_reason {
    CHAIN_SKIP_OTHER,            /* a reason this engine does not know */
    CHAIN_SKIP_ALREADY_RECEIVED, /* another relayer (or an earlier batch) delivered it */
    CHAIN_SKIP_TIMED_OUT,        /* past its timeout: it can only be timed out on its source now */
};

struct chain_event {
    enum chain_event_kind kind;
    struct chain_event_origin at;
    uint8_t packet_id[32];
    struct packet packet;  /* PACKET_SENT: the whole packet; others: src_chain, dst_chain, sequence
                            * (ACKED/TIMED_OUT: dst_chain may be 0, the source log does not carry it) */
    struct packet_ack ack; /* PACKET_RECEIVED: the recorded acknowledgement; ACKED: success only */
    enum chain_skip_reason skip_reason; /* PACKET_SKIPPED */
    uint64_t proof_timestamp;           /* PACKET_TIMED_OUT: the destination time it was proven at */
};

/* ---- intent events (the IntentRouter, and the vault refunds of its hops) ----
 * Handed to env->on_intent_events before the on_events call of the same blocks, under the same
 * token: the consumer must have queued their effects in the store (group commit) before it
 * returns, so that they are durable no later than the packet engine's batch that releases the
 * token. docs/protocol.md, "Router events", gives the meaning of each. */
enum chain_intent_event_kind {
    CHAIN_IEV_OPENED,           /* IntentOpened: owner, nonce, token, amount, deadline */
    CHAIN_IEV_STEP_EXECUTED,    /* StepExecuted: step, token, amount, sequence (0 unless a hop left) */
    CHAIN_IEV_STEP_FAILED,      /* StepFailed: step, fail_reason, detail */
    CHAIN_IEV_HOP_ARRIVED,      /* HopArrived: step (the next one), src_chain, token, amount */
    CHAIN_IEV_HOP_DELIVERED,    /* HopDelivered: sequence */
    CHAIN_IEV_HOP_RETURNED,     /* HopReturned: sequence, token, amount */
    CHAIN_IEV_REFUND_SENT,      /* RefundSent: sequence, token, amount */
    CHAIN_IEV_COMPLETED,        /* IntentCompleted: token, amount */
    CHAIN_IEV_REFUNDED,         /* IntentRefunded: token, amount */
    CHAIN_IEV_CANCELLED,        /* IntentCancelled */
    CHAIN_IEV_TRANSFER_REFUNDED, /* the vault's TransferRefunded of a transfer sent by the router:
                                  * sequence, token, amount, timed_out (no intent_id: match by sequence) */
    CHAIN_IEV_TRANSFER_RECEIVED, /* the vault's TransferReceived of ANY transfer delivered here (the adapter
                                  * cannot tell an intent's hop from other traffic): src_chain, sequence
                                  * (on src_chain), recipient, token, amount (what the recipient got here).
                                  * No intent_id: the consumer matches (src_chain, sequence) to its hops */
    CHAIN_IEV__COUNT
};

enum chain_intent_fail {
    CHAIN_IFAIL_NONE = 0,
    CHAIN_IFAIL_DEADLINE = 1,
    CHAIN_IFAIL_TOKEN_MISMATCH = 2,
    CHAIN_IFAIL_CALL_FAILED = 3,
};

#define CHAIN_IEV_DETAIL_MAX 384 /* IntentRouter.MAX_FAIL_DETAIL_BYTES */

struct chain_intent_event {
    enum chain_intent_event_kind kind;
    struct chain_event_origin at;
    uint8_t intent_id[32];
    uint32_t step;
    uint8_t owner[20];
    uint8_t nonce[32];      /* big-endian */
    uint64_t deadline;
    uint8_t token[20];
    uint8_t amount[32];     /* big-endian */
    uint64_t sequence;      /* vault/gateway sequence of a hop (on the chain of the event) */
    uint64_t src_chain;     /* HOP_ARRIVED, TRANSFER_RECEIVED */
    uint8_t recipient[20];  /* TRANSFER_RECEIVED: who was paid (not `owner`: that one is the intent's) */
    enum chain_intent_fail fail_reason;
    bool timed_out;         /* TRANSFER_REFUNDED */
    const uint8_t *detail;  /* STEP_FAILED: revert data (borrowed, valid during the callback) */
    size_t detail_len;
};

/* Where an intent stands on one chain (IntentRouter.intentState), at the confirmed head. */
enum chain_intent_status {
    CHAIN_ISTATUS_NONE = 0,
    CHAIN_ISTATUS_HOLDING = 1,
    CHAIN_ISTATUS_IN_FLIGHT = 2,
    CHAIN_ISTATUS_DEPARTED = 3,
    CHAIN_ISTATUS_COMPLETED = 4,
    CHAIN_ISTATUS_REFUNDING = 5,
    CHAIN_ISTATUS_REFUND_IN_FLIGHT = 6,
    CHAIN_ISTATUS_REFUNDED = 7,
    CHAIN_ISTATUS_CANCELLED = 8,
};

struct chain_intent_result {
    enum chain_intent_status status;
    uint32_t step;
    bool final_hop;
    uint64_t hop_sequence;
    uint8_t token[20];
    uint8_t amount[32];
    uint64_t block_number;    /* the block the answer holds at */
    uint64_t block_timestamp;
};
typedef void (*chain_intent_cb)(void *ud, enum ferry_err err, const struct chain_intent_result *r);

/* ---- what the engine asks a chain to do ---- */

enum chain_call_kind {
    CHAIN_CALL_DELIVER, /* deliver a batch of packets (this chain is their destination) */
    CHAIN_CALL_ACK,     /* acknowledge n >= 1 packets on their source (this chain) */
    CHAIN_CALL_TIMEOUT, /* time out one packet on its source (this chain) */
    CHAIN_CALL_RAW,     /* an operator transaction: to, data, value (ferry tx send) */
    CHAIN_CALL_ROUTER,  /* a call to this chain's IntentRouter: data (src/intent.c encodes it) */
    CHAIN_CALL__COUNT
};

#define CHAIN_SIG_LEN 65

/* Signatures of the attesters over one digest, sorted by signer address ascending (the order
 * the Gateway checks). Each is r (32) || s (32, low-s) || v where v is the recovery id 0 or 1,
 * as the signer makes it: the adapter encodes it for its chain (EVM: v + 27). */
struct chain_attestation {
    size_t count;
    uint8_t (*sigs)[CHAIN_SIG_LEN];
};

struct chain_call {
    enum chain_call_kind kind;
    /* DELIVER and ACK: n packets, each with its attestation. TIMEOUT: exactly one. */
    size_t n;
    const struct packet *packets;
    const struct chain_attestation *attestations;
    /* ACK: acks[i] is the destination's acknowledgement of packets[i]. With n = 1, `ack` alone
     * may stand for it (acks NULL: the form before batched acks, still accepted). */
    const struct packet_ack *acks;
    const struct packet_ack *ack;
    uint64_t proof_timestamp;            /* TIMEOUT: destination block time proven past the timeout */
    /* RAW (to, data, value) and ROUTER (data only: the adapter sends it to its router) */
    uint8_t to[32];
    const uint8_t *data;
    size_t data_len;
    uint8_t value_be[32];
};

/* What the attesters sign, per call kind; the adapter knows its chain's digest format
 * (EIP-712 for EVM; see docs/protocol.md). `verifying` is the chain that will check it. */
enum chain_attest_kind {
    CHAIN_ATTEST_DELIVERY, /* "this packet was sent on its source": checked by the destination */
    CHAIN_ATTEST_ACK,      /* "the destination recorded this ack": checked by the source */
    CHAIN_ATTEST_TIMEOUT,  /* "the destination had not received it at proof_timestamp": source */
};

/* The life of a submitted call, as reported to the engine. */
enum chain_submission_state {
    CHAIN_SUB_PENDING,   /* persisted and broadcast (or being retried/replaced) */
    CHAIN_SUB_MINED,     /* included, status success, not yet past the confirmation depth */
    CHAIN_SUB_CONFIRMED, /* success and past the confirmation depth: final */
    CHAIN_SUB_REVERTED,  /* included but reverted: final */
    CHAIN_SUB_REFUSED,   /* never sent: the dry run reverted, fees above the cap, ...: final */
    CHAIN_SUB_UNKNOWN,   /* the adapter has no record of this id (submit again if still wanted) */
};

/* Valid during the callback (or until the next call into the adapter, for ops->submission). */
struct chain_submission {
    const char *id;
    enum chain_submission_state state;
    uint8_t tx_hash[32];   /* of the attempt that counts (valid unless REFUSED/UNKNOWN) */
    uint64_t block_number; /* MINED/CONFIRMED/REVERTED */
    const char *error;     /* REFUSED/REVERTED: why, for operators */
};

struct chain_head {
    uint64_t number;      /* latest block */
    uint64_t timestamp;   /* its time */
    uint64_t confirmed;   /* latest block at the confirmation depth */
    uint64_t confirmed_timestamp;
};

/* Callbacks the engine gives every chain (all run on the loop). */
struct chain_env {
    struct loop *loop;
    struct store *store;   /* adapters persist cursors and transactions through it */
    struct signer *signer; /* submitter keys are looked up by name */
    struct metrics *metrics; /* optional (NULL: none): adapters register their own families */
    void *engine;          /* passed back to every callback */
    /* New confirmed events, in order. The engine calls ops->events_done(c, token) once their
     * effects are durable; until then the adapter does not advance its cursor past them. */
    void (*on_events)(void *engine, struct chain *c, const struct chain_event *ev, size_t n, uint64_t token);
    /* A reorg deeper than the confirmation depth dropped blocks >= from_block whose events were
     * already delivered: the chain is paused until an operator acts (chain_resume). */
    void (*on_deep_reorg)(void *engine, struct chain *c, uint64_t from_block, const char *detail);
    /* A submission changed state (also called after restart for every non-final submission). */
    void (*on_submission)(void *engine, struct chain *c, const struct chain_submission *s);
    /* The head moved. */
    void (*on_head)(void *engine, struct chain *c, const struct chain_head *h);
    /* Optional (NULL: router events are dropped): confirmed intent events, in order, before the
     * on_events call for the same blocks (see chain_intent_event). */
    void (*on_intent_events)(void *engine, struct chain *c, const struct chain_intent_event *ev, size_t n);
};

/* Result of a point query. */
struct chain_received_result {
    bool received;
    uint64_t block_number;    /* the block the answer holds at */
    uint64_t block_timestamp; /* its timestamp (timeout proofs need it) */
};
typedef void (*chain_received_cb)(void *ud, enum ferry_err err, const struct chain_received_result *r);

/* Is a packet sent from this chain still pending there (its commitment not cleared by an ack or
 * a timeout)? Before re-submitting an ack or a timeout after a failure or a restart, the engine
 * asks, so that a packet somebody else settled is not sent again. */
struct chain_pending_result {
    bool pending;
    uint64_t block_number;    /* the block the answer holds at (the confirmed head) */
    uint64_t block_timestamp;
};
typedef void (*chain_pending_cb)(void *ud, enum ferry_err err, const struct chain_pending_result *r);

/* The operations of a chain family. Every field is required unless marked optional. */
struct chain_ops {
    const char *name; /* the config's "kind", e.g. "evm" */
    /* Builds a chain from its config object (already validated by check_config) and the env. */
    enum ferry_err (*open)(struct chain **out, const cJSON *config, const struct chain_env *env);
    /* Validates a chain's config object; reports each problem through `problem` with a path
     * relative to the object (e.g. "rpc[0]") and returns the number of problems. */
    int (*check_config)(const cJSON *config, void (*problem)(void *ud, const char *path, const char *msg),
                        void *ud);
    /* Starts watching (from the persisted cursor) and resumes pending submissions. */
    enum ferry_err (*start)(struct chain *c);
    /* Stops watching and submitting; persisted state stays for the next start. */
    void (*stop)(struct chain *c);
    void (*close)(struct chain *c);
    /* The chain id, name and current head (0s until the first poll). */
    uint64_t (*chain_id)(const struct chain *c);
    const char *(*chain_name)(const struct chain *c);
    struct chain_head (*head)(const struct chain *c);
    /* The digest attesters sign for `kind` about packet p, verified on this chain. */
    enum ferry_err (*attest_digest)(struct chain *c, enum chain_attest_kind kind, const struct packet *p,
                                    const struct packet_ack *ack, uint64_t proof_timestamp, uint8_t out[32]);
    /* The packet id (docs/protocol.md). Pure. */
    void (*packet_id)(const struct packet *p, uint8_t out[32]);
    /* Submits a call under submission id `id` (idempotent per id; see the contract above).
     * An immediate error means nothing was persisted or sent. */
    enum ferry_err (*submit)(struct chain *c, const char *id, const struct chain_call *call);
    /* The adapter's record of a submission (CHAIN_SUB_UNKNOWN if none). Synchronous: local state. */
    enum chain_submission_state (*submission)(struct chain *c, const char *id, struct chain_submission *out);
    /* Did this chain receive packet (src_chain, sequence)? At the confirmed head. The callback
     * runs exactly once (with an error if the chain could not be asked), on a later turn;
     * never after close(). An immediate error means the callback will not run. */
    enum ferry_err (*query_received)(struct chain *c, uint64_t src_chain, uint64_t sequence, chain_received_cb cb,
                                     void *ud);
    /* Is packet `sequence` sent from this chain still pending here? At the confirmed head;
     * callback rules as for query_received. */
    enum ferry_err (*query_pending)(struct chain *c, uint64_t sequence, chain_pending_cb cb, void *ud);
    /* Optional (NULL: the family has no intent router). Where intent `id` stands on this chain,
     * at the confirmed head; callback rules as for query_received. FERRY_ESTATE if the chain's
     * config names no router. */
    enum ferry_err (*query_intent)(struct chain *c, const uint8_t id[32], chain_intent_cb cb, void *ud);
    /* Optional (NULL: shown as hex). Revert data of this family's contracts as text for operators
     * ("InsufficientOutput(uint256 amountOut=5, uint256 minAmountOut=10)"): always NUL-terminated
     * within cap, printable, bounded; never fails. Pure. */
    void (*describe_revert)(const uint8_t *data, size_t len, char *out, size_t cap);
    /* Acknowledges events handed to on_events with this token (lets the cursor advance). */
    void (*events_done)(struct chain *c, uint64_t token);
    /* Resumes a chain paused by a deep reorg (operator action). */
    enum ferry_err (*resume)(struct chain *c);
    /* A JSON description for `ferry chain status` and /metrics: head, cursor, lag, endpoints and
     * their health, submitter address, nonce, balance. */
    cJSON *(*status)(struct chain *c);
};

/* The registered families, NULL-terminated (src/chain.c holds the table). */
const struct chain_ops *const *chain_families(void);
/* The family called `name`, or NULL. */
const struct chain_ops *chain_family(const char *name);
/* Names for logs and metrics: "packet_sent", ...; "pending", "mined", ...; "deliver", ... */
const char *chain_event_kind_name(enum chain_event_kind k);
const char *chain_submission_state_name(enum chain_submission_state s);
const char *chain_call_kind_name(enum chain_call_kind k);
/* FERRY_OK if ops fills every required field; otherwise FERRY_EINVAL naming the first missing
 * one ("chain family \"evm\": no query_pending"). The engine checks every chain it is given. */
enum ferry_err chain_ops_check(const struct chain_ops *ops) FERRY_WUR;

#endif
