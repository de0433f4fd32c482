/* The log watcher of one EVM chain: finds the protocol's events in confirmed blocks and hands
 * them to the engine, at least once and in block order, surviving restarts and reorgs.
 *
 * A watcher runs on the daemon's loop, driven by a timer at the chain's poll interval:
 *   1. head: one batch [eth_blockNumber, eth_getBlockByNumber("latest")]; the confirmed head
 *      safe = head + 1 - confirmations (the head block has one confirmation).
 *   2. scan: one batch (logs-grade endpoints only) over [next, to], to = min(safe, next + range - 1):
 *      the header of the cursor block (next - 1), eth_getLogs filtered by the protocol's
 *      addresses and topic0s, the header of `to` (and of `safe` when it differs, for its time).
 *      The cursor block's hash must still be the one remembered, or the chain reorganised
 *      under blocks already scanned (see 5).
 *   3. headers: one batch for the other blocks that hold logs: their hashes must be the ones
 *      the logs carry (the same chain answered both), and their timestamps date the events.
 *   4. hand-over: the decoded events go to on_events with a token; once the engine calls
 *      evm_watch_events_done(token) (their effects are durable) the cursor advances to `to`
 *      and is persisted (store kind 'c'). A range without events advances at once.
 *   5. reorg: only blocks behind the confirmation depth are scanned, so a changed hash among
 *      them is a reorg deeper than that depth. The watcher asks the chain for every height in
 *      its window of remembered hashes, rewinds to the highest that still matches (the common
 *      ancestor as far as it can tell), persists that cursor with the pause, reports
 *      on_deep_reorg(from_block = ancestor + 1) and stops until evm_watch_resume().
 * eth_getLogs limits (LIMIT_EXCEEDED, a reply over the byte cap, more than max_logs logs) halve
 * the range, or take the range or width the provider suggests, down to one block; after
 * grow_after full ranges in a row it doubles again, up to range_max (or the widest range a
 * provider said it serves).
 *
 * Replies are hostile: a log from another address, with a topic0 we did not ask for, outside
 * [next, to], out of order, whose block hash contradicts the header of its block, or that does
 * not decode is a fault of the endpoint that sent it (rpc_endpoint_fault) and the range is
 * asked again later; nothing is handed over and the cursor does not move. Logs marked
 * removed are skipped. */
#ifndef FERRY_EVM_WATCH_H
#define FERRY_EVM_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evm/events.h"
#include "evm/rpc.h"
#include "ferry/chain.h"
#include "ferry/err.h"
#include "ferry/loop.h"
#include "ferry/store.h"

/* Zero fields take the default in brackets. */
struct evm_watch_config {
    uint64_t chain_id;         /* required: the cursor's key and every event's origin */
    uint32_t confirmations;    /* a block is scanned once it has this many confirmations, the
                                  head block having one: safe = head + 1 - confirmations. A reorg
                                  that replaces fewer blocks is never seen; one that replaces
                                  this many or more is a deep reorg [1] */
    uint32_t poll_ms;          /* [2000] */
    uint32_t range_max;        /* widest eth_getLogs range in blocks [1000] */
    uint32_t grow_after;       /* full ranges in a row before the range doubles [4] */
    uint32_t window;           /* remembered block hashes (heights scanned that held logs,
                                  and every range's last block) [128], at most 1000 */
    uint64_t start_block;      /* first block scanned when the store has no cursor [0] */
    size_t max_logs;           /* a range with more logs is narrowed [10000] */
    uint32_t header_batch;     /* block headers asked per batch in step 3 [100], at most 1000 */
    /* Contract addresses: the Gateway is required; the vault and the router are watched when
     * set (their events go to on_events' app array). */
    uint8_t gateway[20];
    bool has_vault, has_router;
    uint8_t vault[20];
    uint8_t router[20];
};

enum evm_watch_level { EVM_WATCH_DEBUG, EVM_WATCH_INFO, EVM_WATCH_WARN, EVM_WATCH_ERROR };

/* What the watcher tells its owner. All run on the loop, never from inside an evm_watch_*
 * call. Events and the detail string are valid during the call only. A hook must not free
 * the watcher. */
struct evm_watch_hooks {
    void *ud;
    /* Confirmed events in block order: the Gateway's as chain events, the vault's and the
     * router's as app events (each array in log order). Call evm_watch_events_done(token)
     * once their effects are durable (from this callback or later). Required. */
    void (*on_events)(void *ud, const struct chain_event *ev, size_t n, const struct evm_app_event *app,
                      size_t napp, uint64_t token);
    /* A reorg deeper than the confirmation depth: blocks >= from_block that were scanned may be
     * gone. The watcher has stopped until evm_watch_resume(). Required. */
    void (*on_deep_reorg)(void *ud, uint64_t from_block, const char *detail);
    /* The head moved (after each successful scan; never while paused). Optional. */
    void (*on_head)(void *ud, const struct chain_head *h);
    /* One line for the daemon's log (module "evm.watch"). Optional. */
    void (*log)(void *ud, enum evm_watch_level level, const char *msg);
};

/* Counters and state, for `ferry chain status` and /metrics. */
struct evm_watch_stats {
    uint64_t next_block;      /* the first block not yet scanned (the persisted cursor + 1) */
    uint64_t head, safe;      /* as last seen; 0 before the first poll */
    uint32_t range;           /* the current eth_getLogs range in blocks */
    bool paused;              /* stopped by a deep reorg until resumed */
    uint64_t reorg_from;      /* paused: the first block the reorg may have dropped */
    bool awaiting_engine;     /* events handed over, events_done not yet called */
    uint64_t scans;           /* ranges scanned and handed over */
    uint64_t quiet_polls;     /* polls whose head was the block of the last empty scan: no scan sent */
    uint64_t logs;            /* logs handed over (chain and app events) */
    uint64_t removed_logs;    /* logs marked removed, skipped */
    uint64_t narrowed;        /* range cuts after a provider limit */
    uint64_t widened;         /* range doublings */
    uint64_t rpc_errors;      /* scans that ended with an RPC error (retried at the next poll) */
    uint64_t bad_replies;     /* replies refused as wrong in substance (endpoint faulted) */
    uint64_t deep_reorgs;     /* reorgs deeper than the confirmation depth */
    uint64_t cursor_writes;   /* cursors persisted */
    uint64_t store_errors;    /* cursor writes that failed */
};

struct evm_watch;

/* Creates a watcher and loads its cursor from the store (a paused cursor stays paused). The
 * loop, the rpc client and the store must outlive it. Nothing runs before evm_watch_start. */
enum ferry_err evm_watch_new(struct evm_watch **out, struct loop *loop, struct rpc_client *rpc, struct store *store,
                             const struct evm_watch_config *cfg, const struct evm_watch_hooks *hooks) FERRY_WUR;
/* Stops and frees. A reply or a store write still under way is dropped when it ends. */
void evm_watch_free(struct evm_watch *w);

/* Starts polling (the first poll runs on the next turn). A watcher paused before a restart
 * stays paused and reports on_deep_reorg again on the next turn, so that the engine knows. */
enum ferry_err evm_watch_start(struct evm_watch *w) FERRY_WUR;
/* Stops polling. Events handed over stay pending: a later events_done still advances. */
void evm_watch_stop(struct evm_watch *w);
/* Polls now instead of at the next tick (when nothing is under way). */
void evm_watch_poll_now(struct evm_watch *w);

/* The engine has made the events handed over with `token` durable. Unknown tokens (stale,
 * or from before a reorg) are ignored. */
void evm_watch_events_done(struct evm_watch *w, uint64_t token);
/* Clears a deep-reorg pause (persisted) and scans again from the rewound cursor: events of
 * the new chain are handed over again. FERRY_ESTATE when not paused. */
enum ferry_err evm_watch_resume(struct evm_watch *w) FERRY_WUR;

void evm_watch_stats(const struct evm_watch *w, struct evm_watch_stats *out);
/* The current head as on_head last reported it (zeros before). */
struct chain_head evm_watch_head(const struct evm_watch *w);

/* ---- the persisted cursor (exposed for tests and `ferry chain status` offline) ---- */

struct evm_cursor_entry {
    uint64_t height;
    uint8_t hash[32];
};

struct evm_cursor {
    uint64_t next;       /* first block not scanned */
    bool have_hash;      /* hash of block next - 1 is known */
    uint8_t hash[32];
    bool paused;
    uint64_t reorg_from; /* paused: the first block the reorg may have dropped */
    size_t n;            /* remembered (height, hash), ascending, all below next */
    struct evm_cursor_entry *entries;
};

/* Reads chain_id's cursor. FERRY_ENOTFOUND when there is none; FERRY_EINVAL when the stored
 * value is not a cursor this version writes. Free with evm_cursor_clear. */
enum ferry_err evm_cursor_load(struct store *st, uint64_t chain_id, struct evm_cursor *out) FERRY_WUR;
void evm_cursor_clear(struct evm_cursor *c);

#endif
