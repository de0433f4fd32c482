/* The intent orchestrator: runs signed multi-hop intents across chains, one step at a time, and
 * refunds them when a step fails, a hop times out or the deadline passes. docs/intents.md has the
 * design; in short:
 *
 *   intent: PENDING -> OPEN -> IN_PROGRESS -> COMPLETED
 *                              (any non-terminal) -> REFUNDING -> REFUNDED
 *           PENDING | OPEN -> CANCELLED            (before step 0 ran)
 *           (any non-terminal) -> STUCK -> back, on an operator's retry
 *   hop:    WAITING -> SUBMITTED -> CONFIRMED -> IN_FLIGHT -> ARRIVED -> DONE   (cross-chain transfer)
 *           WAITING -> SUBMITTED -> CONFIRMED -> DONE                          (call, local payout)
 *           SUBMITTED | CONFIRMED | IN_FLIGHT | ARRIVED -> FAILED | TIMED_OUT -> REFUNDED
 *
 * Like the packet engine, every change of an intent or hop goes through one function that checks
 * the edge, writes the intent record (hops inside it), its index entries and one journal entry
 * (the SSE stream) in one group-committed store batch, logs "old -> new" and updates metrics;
 * the outside world (a router call) is touched only once that batch is durable. Submission ids
 * are derived from (intent id, step, attempt), so a restart asks the adapter about exactly the
 * submissions the records name and never runs a step twice; the router itself refuses a step
 * that is not the next one (StepNotExpected), which bounds a bug to wasted gas.
 *
 * The orchestrator owns no loop and no clock: the daemon calls orch_tick(now) and routes to it the
 * chain callbacks of intent events, router submissions (ids starting with ORCH_SUB_PREFIX) and
 * heads. Everything runs on the loop's thread. */
#ifndef FERRY_ORCH_H
#define FERRY_ORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ferry/chain.h"
#include "ferry/err.h"
#include "ferry/intent.h"

struct hop_record;
struct intent_record;
struct metrics;
struct orch;
struct store;

#define ORCH_SUB_PREFIX "intent:" /* every submission id the orchestrator makes starts with this */

/* ---- states; the numbers are persisted (index keys, journal): never renumber ---- */

enum intent_state {
    INTENT_NONE = 0,        /* not a state: the origin of a record's first transition */
    INTENT_PENDING = 1,     /* accepted and durable; not opened on its origin chain yet */
    INTENT_OPEN = 2,        /* opened on chain (IntentOpened seen): funds held by the origin router */
    INTENT_IN_PROGRESS = 3, /* step 0 was submitted; steps run */
    INTENT_COMPLETED = 4,   /* terminal: the recipient was paid */
    INTENT_REFUNDING = 5,   /* a step failed, a hop came back or the deadline passed: refund under way */
    INTENT_REFUNDED = 6,    /* terminal: the refund was paid (owner on origin, or recovery address) */
    INTENT_STUCK = 7,       /* an operator must act (reason recorded); retry returns it */
    INTENT_CANCELLED = 8,   /* terminal: cancelled before step 0 ran (funds, if pulled, back to owner) */
    INTENT_STATE__COUNT
};

enum hop_state {
    HOP_NONE = 0,
    HOP_WAITING = 1,   /* not started */
    HOP_SUBMITTED = 2, /* its router call (open+advance for step 0, advance later) is submitted */
    HOP_CONFIRMED = 3, /* the step ran on its chain (StepExecuted), confirmed */
    HOP_IN_FLIGHT = 4, /* a cross-chain transfer: the packet left, not arrived yet */
    HOP_ARRIVED = 5,   /* the funds arrived on the destination (HopArrived) */
    HOP_DONE = 6,      /* terminal for the hop: finished (the ack came back for a transfer) */
    HOP_FAILED = 7,    /* the step failed (StepFailed) or its delivery failed (HopReturned) */
    HOP_TIMED_OUT = 8, /* the hop's packet timed out (funds came back to the source router) */
    HOP_REFUNDED = 9,  /* the intent's refund was paid after this hop failed or timed out */
    HOP_STATE__COUNT
};

const char *intent_state_name(enum intent_state s); /* "PENDING", ...; "?" outside the enum */
enum ferry_err intent_state_parse(const char *s, enum intent_state *out) FERRY_WUR; /* case-insensitive */
bool intent_state_terminal(enum intent_state s);    /* COMPLETED, REFUNDED, CANCELLED */
const char *hop_state_name(enum hop_state s);
enum ferry_err hop_state_parse(const char *s, enum hop_state *out) FERRY_WUR;
/* Terminal by the hop's state alone: DONE, REFUNDED (no edge leaves them). Whether a hop is over
 * also depends on its intent: hop_is_finished. */
bool hop_state_terminal(enum hop_state s);
/* Whether a hop's part is over for good (what `ferry hops --pending` leaves out): DONE or
 * REFUNDED; any hop of a terminal intent (FAILED/TIMED_OUT of a cancelled or abandoned route, a
 * WAITING hop of a cancelled one, ...); and a WAITING hop of a REFUNDING intent (or one STUCK on
 * the way to its refund), which will never run. A FAILED or TIMED_OUT hop of a refunding intent is
 * not finished: it becomes REFUNDED. stuck_from matters only for a STUCK intent. */
bool hop_finished(enum intent_state intent, enum intent_state stuck_from, enum hop_state hop);
bool hop_is_finished(const struct intent_record *r, const struct hop_record *h);

/* ---- records ---- */

#define ORCH_REASON_MAX 240
#define ORCH_SUB_ID_MAX 96
#define ORCH_TXS_KEPT 4

/* Where an intent's funds are. */
struct orch_funds {
    bool known;
    uint64_t chain;                /* chain id */
    uint8_t holder[ADDRESS_LEN];   /* the router while held; the recipient, owner or recovery once paid */
    uint8_t token[ADDRESS_LEN];
    uint8_t amount[32];            /* big-endian */
    bool in_flight;                /* on its way in a packet (chain: the source of that packet) */
};

struct hop_record {
    uint32_t index;
    enum hop_state state;
    enum intent_step_kind kind;
    uint64_t chain;          /* where the step runs */
    uint64_t to_chain;       /* transfer: destination; call: 0 */
    uint64_t sequence;       /* a cross-chain transfer: the packet's sequence on `chain` */
    uint64_t timeout_at;     /* unix s: the hop's packet timeout (transfer) or the deadline */
    uint64_t entered[HOP_STATE__COUNT]; /* unix s when it last entered each state; 0: never */
    uint32_t attempts;       /* failed submissions in the current state */
    uint32_t nsub;           /* submissions made so far (unique ids) */
    uint64_t next_attempt_at;
    char sub_id[ORCH_SUB_ID_MAX];        /* the submission in flight, "" if none */
    size_t ntxs;
    uint8_t txs[ORCH_TXS_KEPT][32];      /* transactions that acted on this hop, oldest first */
    char error[ORCH_REASON_MAX];         /* the last failure, "" if none */
    struct orch_funds funds;             /* after this hop */
};

struct intent_record {
    uint8_t id[32];
    enum intent_state state;
    enum intent_state stuck_from;        /* STUCK: where a retry returns it */
    struct intent intent;
    uint8_t sig[INTENT_SIG_LEN];         /* the owner's signature, v 27/28 */
    uint64_t created_at;
    uint64_t entered[INTENT_STATE__COUNT];
    bool cancel_requested;               /* cancel asked while the open was in flight */
    uint32_t current;                    /* the step being worked on (n_steps once completed) */
    char reason[ORCH_REASON_MAX];        /* STUCK, REFUNDING, CANCELLED: why; "" otherwise */
    struct orch_funds funds;             /* where the funds are now */
    uint32_t open_attempts;              /* failed `open` submissions */
    uint32_t open_nsub;
    uint64_t open_next_at;
    char open_sub[ORCH_SUB_ID_MAX];      /* the open (or cancel/refund) submission in flight */
    uint8_t open_tx[32];                 /* the transaction that opened it (zero until known) */
    struct hop_record hops[INTENT_MAX_STEPS]; /* intent.n_steps of them */
};

void intent_record_clear(struct intent_record *r);
/* The record as JSON: what the store holds and what GET /v1/intents/{id} shows (the intent in its
 * normalized JSON when dir is given, chain ids otherwise). NULL on no memory. */
cJSON *intent_record_to_json(const struct intent_record *r, const struct intent_dir *dir);
/* Strict reading back; a missing or malformed field fails with its name. */
enum ferry_err intent_record_from_json(struct intent_record *out, const cJSON *j) FERRY_WUR;

/* ---- reading the store (the API, and the CLI when the daemon is down) ---- */

enum ferry_err intent_record_load(struct store *st, const uint8_t id[32], struct intent_record *out) FERRY_WUR;

struct intent_filter {
    enum intent_state state;     /* INTENT_NONE: any */
    bool pending;                /* only non-terminal intents */
    bool have_owner;
    uint8_t owner[ADDRESS_LEN];
    uint64_t chain;              /* 0: any; else intents with a step on this chain */
    bool have_tx;
    uint8_t tx[32];              /* intents one of whose transactions is this */
};

#define INTENT_CURSOR_MAX 96

typedef enum ferry_err intent_list_fn(void *arg, const struct intent_record *r);

/* Like packet_list: at most `limit` records matching f after cursor `after`; `next` is "" at the
 * end. Order: by state then id with a state filter, by owner then id with an owner filter, else by id. */
enum ferry_err intent_list(struct store *st, const struct intent_filter *f, const char *after, size_t limit,
                           intent_list_fn *fn, void *arg, char next[INTENT_CURSOR_MAX]) FERRY_WUR;

/* ---- the journal (GET /v1/events) ----
 * One entry per intent or hop state change, numbered from 1 without gaps, written in the batch
 * that makes the change durable. An entry is JSON:
 *   {"id": N, "time": unix_s, "intent_id": "0x..", "kind": "intent"|"hop", "hop": index (hop only),
 *    "from": "OPEN", "to": "IN_PROGRESS", "reason": "..." (if any), "chain": "beta" (hop only),
 *    "tx": "0x.." (if any), "funds": {...} (if known)} */
typedef enum ferry_err orch_event_fn(void *arg, uint64_t id, const char *json, size_t len);
/* Calls fn for each entry with id > after, in order, at most `limit`; *last gets the id of the
 * last entry given (after, if none). */
enum ferry_err orch_events_read(struct store *st, uint64_t after, size_t limit, orch_event_fn *fn, void *arg,
                                uint64_t *last) FERRY_WUR;

/* ---- the orchestrator ---- */

/* Called (on the loop) once journal entries up to `last_id` are durable: SSE clients may be sent them. */
typedef void orch_notify_fn(void *ud, uint64_t last_id);

struct orch_config {
    struct store *store;      /* required; outlives the orchestrator */
    struct metrics *metrics;  /* may be NULL */
    struct intent_dir dir;    /* the chains intents may name (copied) */
    uint32_t retry_limit;     /* failed submissions of one call before the intent is STUCK (6) */
    uint32_t backoff_base_s;  /* (5) doubled per failure */
    uint32_t backoff_max_s;   /* (300) */
    uint32_t recheck_s;       /* ask a chain again about a hop that waits for an event (30) */
    uint32_t max_pending;     /* non-terminal intents accepted at once; more: FERRY_EBUSY (10000) */
    orch_notify_fn *notify;   /* may be NULL */
    void *notify_ud;
    /* Prompt scheduling, as engine_config.kick: the orchestrator calls kick(kick_ud) when work may
     * have become due between ticks (an event moved an intent, a submission's outcome came, a
     * batch that names new calls became durable) and wants orch_tick called soon, from the loop
     * (e.g. a zero-delay timer): never from inside kick. Coalesced: at most one kick between two
     * orch_tick calls. NULL: the caller's timer only. */
    void (*kick)(void *ud);
    void *kick_ud;
};

void orch_config_default(struct orch_config *cfg);
enum ferry_err orch_new(struct orch **out, const struct orch_config *cfg) FERRY_WUR;
void orch_free(struct orch *o);

/* Adds an opened chain (before orch_start). Every chain may be added: intents may use it if its
 * ops have query_intent and its directory entry names a router; otherwise it is accepted and never
 * used (its entry in the orchestrator's directory loses the router, so intents naming it are
 * refused when parsed). FERRY_EEXIST for a chain added twice. */
enum ferry_err orch_add_chain(struct orch *o, const struct chain_ops *ops, struct chain *c) FERRY_WUR;

/* Reloads every non-terminal intent, asks the adapters about the submissions the records name
 * and about where each intent stands (query_intent), and resumes. Before the chains start. */
enum ferry_err orch_start(struct orch *o, uint64_t now) FERRY_WUR;
/* Does what is due at `now`: opens, advances, refunds, retries, deadline checks. */
enum ferry_err orch_tick(struct orch *o, uint64_t now) FERRY_WUR;
/* FERRY_OK while running, else the error that stopped it (a failed store write). */
enum ferry_err orch_failed(const struct orch *o);

/* Chain callbacks, routed by the daemon. */
void orch_on_intent_events(struct orch *o, struct chain *c, const struct chain_intent_event *ev, size_t n);
/* Returns false (and does nothing) for ids that do not start with ORCH_SUB_PREFIX. */
bool orch_on_submission(struct orch *o, struct chain *c, const struct chain_submission *s);
void orch_on_head(struct orch *o, struct chain *c, const struct chain_head *h);

/* ---- operations for the API and the CLI; err gets a message for the client on failure ---- */

#define ORCH_ERR_MAX 320

/* POST /v1/intents/prepare: parses with INTENT_PARSE_FILL; *out = {"intent_id", "intent"
 * (normalized, with nonce and timeouts: submit exactly this), "typed_data"}. Stores nothing.
 * FERRY_EINVAL: bad input (err names the field). */
enum ferry_err orch_prepare(struct orch *o, const cJSON *intent, uint64_t now, cJSON **out,
                            char err[ORCH_ERR_MAX]) FERRY_WUR;

/* Called once a submitted intent is durable (err FERRY_OK), or could not be stored. */
typedef void orch_submit_cb(void *ud, enum ferry_err err, const uint8_t id[32], enum intent_state state,
                            bool existed);

/* POST /v1/intents: parses strictly, checks the signature, and stores the intent as PENDING. An
 * intent already known returns its id and current state with existed = true and changes nothing.
 * Immediate errors (nothing stored, cb not called): FERRY_EINVAL (bad input; err names the field),
 * FERRY_EBUSY (too many pending), FERRY_ESTATE (orchestrator stopped). Otherwise cb runs once, on
 * a later turn when the record is durable (at once, on this turn, when existed). */
enum ferry_err orch_submit(struct orch *o, const cJSON *intent, const char *sig_hex, uint64_t now,
                           orch_submit_cb *cb, void *ud, char err[ORCH_ERR_MAX]) FERRY_WUR;

/* An intent the orchestrator holds, copied into *out (caller clears). FERRY_ENOTFOUND otherwise. */
enum ferry_err orch_get(struct orch *o, const uint8_t id[32], struct intent_record *out) FERRY_WUR;

/* POST /v1/intents/{id}/retry: a STUCK intent goes back to where it was, attempts reset, due now.
 * FERRY_ENOTFOUND, or FERRY_ESTATE with the reason (not stuck). */
enum ferry_err orch_retry(struct orch *o, const uint8_t id[32], uint64_t now, char err[ORCH_ERR_MAX]) FERRY_WUR;

/* POST /v1/intents/{id}/cancel: PENDING -> CANCELLED (nothing on chain; an open already in flight
 * is followed by a cancel call), OPEN -> a router cancel is submitted (CANCELLED when
 * IntentCancelled is seen). FERRY_ESTATE with the reason once step 0 has been submitted. */
enum ferry_err orch_cancel(struct orch *o, const uint8_t id[32], uint64_t now, char err[ORCH_ERR_MAX]) FERRY_WUR;

/* POST /v1/chains/{name}/pause and /resume: no new open or advance is submitted on a paused chain
 * (hops in flight still land; refunds still go out). Persisted. FERRY_ENOTFOUND for an unknown chain. */
enum ferry_err orch_pause_chain(struct orch *o, const char *name, bool paused, char err[ORCH_ERR_MAX]) FERRY_WUR;
bool orch_chain_paused(const struct orch *o, const char *name);

/* Observed block times: samples before the planner trusts the average over the config's hint,
 * the average's weight of a new sample, and what is a gap (a stopped chain or daemon), not a
 * block interval: a sample over ORCH_BT_GAP_FACTOR times the average (once trusted), or a span
 * over ORCH_BT_GAP_S. */
#define ORCH_BT_MIN_SAMPLES 5
#define ORCH_BT_ALPHA 0.2
#define ORCH_BT_GAP_FACTOR 8.0
#define ORCH_BT_GAP_S 3600

/* The block time the planner uses for a chain (orch_prepare): the average observed from its
 * heads once there are enough of them, else the directory's hint (0: unknown). */
uint32_t orch_block_time_ms(const struct orch *o, uint64_t chain_id);

/* The last journal entry id made durable. */
uint64_t orch_last_event(const struct orch *o);

struct orch_stats {
    size_t intents[INTENT_STATE__COUNT]; /* in memory, by state */
    size_t submissions;                  /* router calls in flight */
    size_t queries;
};
void orch_stats(const struct orch *o, struct orch_stats *out);

#endif
