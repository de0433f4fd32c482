/* The EVM transaction manager: one submitter key on one chain, from a call to a confirmed
 * receipt, across restarts. docs/evm.md ("Transaction manager") tells the whole story; in short:
 *
 *   submit(id, call) -> dry run (eth_call, when asked) -> eth_estimateGas (+ margin, <= gas cap),
 *     or, for TXMGR_GAS_ONE_RUN, both from one eth_createAccessList (gasUsed * 5/4 + margin + headroom)
 *     -> fees (eth_feeHistory or eth_gasPrice, <= fee cap) -> the next nonce of the key's line
 *     -> sign -> WRITE-AHEAD: the record {id, nonce, attempts[{raw, hash, block}], state} is
 *        committed synchronously before anything is sent -> eth_sendRawTransaction
 *     -> every sweep (a new head): receipts of every attempt, the account's nonce, whether the
 *        node still knows the attempts -> MINED -> CONFIRMED at the confirmation depth (the
 *        receipt fetched again there), or a replacement at the same nonce with bumped fees
 *        after replace_after_blocks, or the latest attempt sent again when the node dropped it,
 *        or NONCE_TAKEN when another transaction from the key used the nonce.
 *
 * Dropped: no node knows any attempt. When the latest attempt's broadcast failed or never got an
 * answer (or it was written ahead and not yet sent), it is sent again at that sweep. When a node
 * accepted it (a hash or "already known"), only at the second sweep in a row that finds it
 * unknown: nodes (anvil under a burst) answer null for a moment for one they queue behind a gap
 * or have just mined. The first look is kept in memory only; after a restart (which broadcasts
 * every PENDING attempt again anyway) the first look counts as the first.
 *
 * Replacement for age is only for the lowest nonce of the line still waiting for a receipt (the
 * ones behind it cannot be mined first, and the blocks that pass may be mining our own earlier
 * nonces): replace_after_blocks count from the later of its latest attempt's block and the head
 * at which it became the lowest PENDING nonce (kept in memory; after a restart, the head at
 * reload). A broadcast refused as underpriced, a cancel and a dropped attempt being sent again
 * apply to any PENDING record without waiting.
 *
 * Submissions are idempotent per caller-chosen id: submitting a known id reports the existing
 * record instead of creating a transaction, also after a restart (the id is persisted with the
 * record). The one exception is an id whose submission ended without any effect on chain
 * (REFUSED, NONCE_TAKEN, CANCELLED): submitting it again starts it afresh.
 *
 * Everything runs on the daemon's loop; callbacks run from the loop (deferred to the end of
 * the turn), never from inside a call into the manager. Single-threaded. */
#ifndef FERRY_EVM_TXMGR_H
#define FERRY_EVM_TXMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evm/fees.h"
#include "evm/rpc.h"
#include "ferry/address.h"
#include "ferry/err.h"
#include "ferry/loop.h"
#include "ferry/signer.h"
#include "ferry/store.h"
#include "ferry/u256.h"

#define TXMGR_ID_MAX 200       /* bytes in a submission id */
#define TXMGR_MAX_ATTEMPTS 16  /* transactions per nonce (the first and its replacements) */
#define TXMGR_DATA_MAX (1u << 20) /* calldata bytes */

/* The life of a submission. The numbers are persisted (the store's state index): never
 * renumber. */
enum txmgr_state {
    TXMGR_PREPARING = 0,   /* dry run, estimate, fees: nothing persisted yet (lost on restart) */
    TXMGR_PENDING = 1,     /* persisted and broadcast, or being re-sent or replaced */
    TXMGR_MINED = 2,       /* one attempt has a receipt, not yet at the confirmation depth */
    TXMGR_CONFIRMED = 3,   /* final: success at the confirmation depth */
    TXMGR_REVERTED = 4,    /* final: included but reverted, at the confirmation depth */
    TXMGR_REFUSED = 5,     /* final: never sent (dry run reverted, gas or fees above the cap...) */
    TXMGR_NONCE_TAKEN = 6, /* final: another transaction of the key used the nonce; none of ours
                              can ever be mined; submit again for a new nonce */
    TXMGR_CANCELLED = 7,   /* final: a no-op transfer to ourselves took the nonce (txmgr_cancel) */
    TXMGR_UNKNOWN = 8,     /* no record of this id */
};

/* "PENDING", ...; never NULL. */
const char *txmgr_state_name(enum txmgr_state s);
/* Final states, and the final states in which nothing of the submission happened on chain. */
bool txmgr_state_final(enum txmgr_state s);
bool txmgr_state_no_effect(enum txmgr_state s);

/* A submission as reported. Pointers are valid during the callback, or until the next call
 * into the manager for txmgr_status. */
struct txmgr_status {
    const char *id;
    enum txmgr_state state;
    uint64_t nonce;        /* from PENDING on */
    unsigned attempts;     /* transactions signed for this nonce */
    uint8_t tx_hash[32];   /* the attempt that counts: the mined one, else the latest (PENDING on) */
    uint64_t block_number; /* MINED, CONFIRMED, REVERTED, CANCELLED */
    bool success;          /* MINED: the receipt's status (a MINED reverted one ends REVERTED) */
    bool cancel;           /* MINED: the mined attempt is a cancel (it ends CANCELLED) */
    uint64_t gas_limit;    /* the gas limit of the attempt that counts (PENDING on) */
    uint64_t gas_used;     /* MINED on: the receipt's gasUsed (persisted with the record); 0 when
                              the node's receipt had none */
    bool retryable;        /* REFUSED because the chain could not be asked: submit again later */
    const char *error;     /* REFUSED, REVERTED, NONCE_TAKEN, CANCELLED: why; PENDING: the last
                              problem sending it (insufficient funds...) or NULL */
};

enum txmgr_log_level { TXMGR_LOG_DEBUG, TXMGR_LOG_INFO, TXMGR_LOG_WARN, TXMGR_LOG_ERROR };

/* Zero fields take the default in brackets; fields marked required have none. */
struct txmgr_config {
    uint64_t chain_id;             /* required; checked against eth_chainId at start */
    const char *key;               /* required: the submitter key's name in the signer */
    struct fee_policy fees;        /* max_fee_cap required; see fees.h */
    uint64_t gas_cap;              /* required: the most gas one transaction may use */
    unsigned estimate_margin_pct;  /* gas limit = estimate + this % [20] */
    unsigned confirmations;        /* CONFIRMED when block + confirmations <= head; 0: when mined */
    unsigned replace_after_blocks; /* blocks without a receipt, as the lowest pending nonce, before
                                      a replacement [3] (see the top of this file) */
    unsigned max_attempts;         /* replacements stop here, 1..TXMGR_MAX_ATTEMPTS [TXMGR_MAX_ATTEMPTS] */
    uint32_t poll_ms;              /* sweep this often while anything is in flight; 0: only on
                                      txmgr_on_head / txmgr_poke */
    uint32_t fee_ttl_ms;           /* a fee quote is reused this long, or until a new head [3000] */
    uint32_t start_retry_ms;       /* start (eth_chainId, nonce) retried after this, doubling [1000] */
    /* A submission changed state; also called after txmgr_start for every submission found
     * pending in the store, and for a submit of a known id. May call into the manager. */
    void (*on_status)(void *ud, const struct txmgr_status *s);
    /* Log lines (without a newline); NULL: silent. Must not call into the manager. */
    void (*log)(void *ud, enum txmgr_log_level level, const char *msg);
    void *ud;
};

/* Counters for metrics (the adapter glue exports them). */
struct txmgr_stats {
    uint64_t submitted;      /* submissions accepted into the pipeline */
    uint64_t refused;        /* ... that ended REFUSED */
    uint64_t persisted;      /* attempts written ahead (first transactions and replacements) */
    uint64_t sent;           /* broadcasts a node accepted (including ALREADY_KNOWN) */
    uint64_t send_failed;    /* broadcasts that failed (transport or a node's refusal) */
    uint64_t replaced;       /* replacement attempts built */
    uint64_t dropped_resent; /* attempts sent again because the node no longer knew them */
    uint64_t rebroadcast;    /* attempts sent again at start */
    uint64_t nonce_skips;    /* nonces of the key used by someone else (at start or NONCE_TAKEN) */
    uint64_t capped;         /* replacements not made because a fee cap left no room */
    uint64_t mined;          /* receipts seen */
    uint64_t confirmed;
    uint64_t reverted;
    uint64_t reorged;        /* receipts that disappeared before the confirmation depth */
    uint64_t cancelled;
    uint64_t sweeps;
    uint64_t gas_one_run;    /* gas limits taken from one execution (TXMGR_GAS_ONE_RUN) */
};

/* One call to make. */
struct txmgr_call {
    bool create;                /* contract creation: `to` is ignored */
    uint8_t to[ADDRESS_LEN];
    const uint8_t *data;        /* copied; up to TXMGR_DATA_MAX bytes */
    size_t data_len;
    u256 value;
    uint64_t gas_limit;         /* 0: measured (eth_estimateGas, or TXMGR_GAS_ONE_RUN) plus the margin */
    uint64_t gas_headroom;      /* TXMGR_GAS_ONE_RUN: gas the call must still have left at its
                                   hungriest point beyond what it uses (a callee's gas floor) */
    unsigned flags;             /* TXMGR_DRY_RUN, TXMGR_GAS_ONE_RUN */
};

enum {
    TXMGR_DRY_RUN = 1, /* eth_call first; refuse (REFUSED, with the revert reason) if it reverts */
    /* The gas limit from ONE execution instead of eth_estimateGas's binary search (many full
     * executions): eth_createAccessList at the latest block, gas = gasUsed * 5/4 (gasUsed is
     * after refunds, which return at most a fifth of what was spent) + margin % + gas_headroom,
     * at most the cap. The same execution is the dry run: a revert refuses. Only for
     * calls whose need the caller can bound that way (no gas-dependent path besides a known
     * floor). An endpoint answering "method not found" is remembered, and while any is, calls
     * take the dry run (when asked) and eth_estimateGas; any other node error does so for that
     * call. */
    TXMGR_GAS_ONE_RUN = 2,
};

struct txmgr;

/* Creates a manager for cfg->key on cfg->chain_id and loads its persisted state (the nonce line
 * and every non-final record). Nothing is sent before txmgr_start. The loop, client, store and
 * signer are borrowed and must outlive the manager (free it before the client). A corrupt record
 * fails with its key named. */
enum ferry_err txmgr_new(struct txmgr **out, struct loop *loop, struct rpc_client *rpc, struct store *store,
                         struct signer *signer, const struct txmgr_config *cfg) FERRY_WUR;

/* Checks the chain id, sets the nonce line from max(persisted, the chain's pending nonce),
 * re-broadcasts the latest attempt of every pending record, reports every loaded record
 * through on_status, and starts sweeping. Asynchronous; submissions made before it completes
 * wait for it. A chain id other than cfg->chain_id halts the manager (txmgr_halted). */
enum ferry_err txmgr_start(struct txmgr *m) FERRY_WUR;

/* Stops timers and frees everything. RPC calls still in flight end harmlessly later. */
void txmgr_free(struct txmgr *m);

/* Submits call under id (see the top of this file). FERRY_OK means accepted: the outcome comes
 * through on_status. An immediate error (bad arguments, a halted manager) means nothing was
 * persisted or sent and on_status will not be called for it. */
enum ferry_err txmgr_submit(struct txmgr *m, const char *id, const struct txmgr_call *call) FERRY_WUR;

/* The manager's record of id, from memory or the store; TXMGR_UNKNOWN if none. */
enum txmgr_state txmgr_status(struct txmgr *m, const char *id, struct txmgr_status *out);

/* Replaces a PENDING submission by a no-op (0 to ourselves, 21000 gas) at the same nonce with
 * bumped fees, so that a transaction no node will take stops blocking the nonces after it. If
 * an earlier attempt is mined first, that one counts. FERRY_ESTATE unless PENDING. */
enum ferry_err txmgr_cancel(struct txmgr *m, const char *id) FERRY_WUR;

/* A new head from whoever watches the chain: sweeps now when it is newer than the last seen. */
void txmgr_on_head(struct txmgr *m, uint64_t number);
/* Sweeps at the end of this turn (or right after the sweep in progress). */
void txmgr_poke(struct txmgr *m);

/* True while the manager has RPC calls in flight, work queued for the end of the turn, or a
 * start retry armed: tests run the loop until it is false. */
bool txmgr_busy(const struct txmgr *m);
/* Non-zero when the manager stopped for good (the store refused a write, or the chain id is
 * wrong); ferry_errmsg-style text in *why. Submissions then fail with that code. */
enum ferry_err txmgr_halted(const struct txmgr *m, const char **why);
/* The submitter's address, the next nonce the line will assign and the head last seen. */
void txmgr_address(const struct txmgr *m, uint8_t out[ADDRESS_LEN]);
uint64_t txmgr_next_nonce(const struct txmgr *m);
uint64_t txmgr_head(const struct txmgr *m);
void txmgr_stats(const struct txmgr *m, struct txmgr_stats *out);

/* ---- crash points for kill -9 tests ----
 * txmgr_crash_point(name) kills the process with SIGKILL when the environment variable
 * FERRY_CRASH_AT names that point ("txmgr.after_persist"), or names it with a count
 * ("txmgr.after_persist#2": the second time it is reached). The variable is read each time a
 * point is reached. Points in the manager:
 *   txmgr.after_sign       an attempt is signed, not yet persisted
 *   txmgr.after_persist    the write-ahead commit returned, nothing sent yet
 *   txmgr.after_broadcast  a node accepted a broadcast, no receipt seen yet
 *   txmgr.after_mined      a receipt was seen, its MINED state not yet written
 * It is ferry_crash_point (include/ferry/crash.h), where the points of other modules are listed. */
void txmgr_crash_point(const char *name);

#endif
