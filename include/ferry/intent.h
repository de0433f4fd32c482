/* Intents: the dApp's JSON form, the IntentRouter's EIP-712 struct, and the calls that drive it.
 *
 * One multi-hop plan has three faces, all in this module so that they cannot drift apart:
 *   - the JSON a dApp backend posts (chains by config name, amounts as decimal strings);
 *   - the on-chain `Intent` struct (docs/protocol.md, "IntentRouter"), whose EIP-712 digest under
 *     {"Ferry Intent", "1", originChain, origin router} is the intent id the owner signs;
 *   - the router calls a relayer makes: open, advance, refund, cancel (ABI calldata).
 *
 * Parsing is strict and names the field at fault ("intent.steps[1].call.min_amount_out: not a
 * decimal string"); a parsed intent passed every rule the router checks at `open`, plus the ones
 * that can be checked off chain (same-chain token continuity, known chains). */
#ifndef FERRY_INTENT_H
#define FERRY_INTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ferry/address.h"
#include "ferry/buf.h"
#include "ferry/err.h"

#define INTENT_MAX_STEPS 16          /* IntentRouter.MAX_STEPS */
#define INTENT_MAX_CALL_DATA 8192    /* IntentRouter.MAX_CALL_DATA_BYTES */
#define INTENT_SIG_LEN 65            /* r || s || v, v in {27, 28} on the wire */
#define INTENT_ERR_MAX 256           /* an error message from parsing, NUL included */
#define INTENT_MIN_HOP_TIMEOUT 60    /* a computed or explicit hop timeout below this is refused */

enum intent_step_kind { INTENT_STEP_TRANSFER = 0, INTENT_STEP_CALL = 1 };
enum intent_refund { INTENT_REFUND_ORIGIN = 0, INTENT_REFUND_RECOVERY = 1 };

/* One step, exactly the router's Step (fields a kind does not use are zero). */
struct intent_step {
    enum intent_step_kind kind;
    uint64_t chain;                  /* chain id the step runs on */
    uint8_t token[ADDRESS_LEN];      /* transfer: the token moved; call: token_in */
    uint8_t amount[32];              /* big-endian; step 0: the amount pulled; later: all ones (ALL) */
    uint64_t to_chain;               /* transfer: destination (== chain: a local payout, last step) */
    uint8_t recipient[ADDRESS_LEN];  /* transfer, last step only */
    uint8_t target[ADDRESS_LEN];     /* call */
    uint8_t *data;                   /* call: calldata (owned; NULL when data_len is 0) */
    size_t data_len;
    uint8_t token_out[ADDRESS_LEN];  /* call */
    uint8_t min_amount_out[32];      /* call, big-endian */
    uint64_t timeout;                /* cross-chain transfer: hop timeout (s); 0: the deadline */
};

struct intent {
    uint8_t owner[ADDRESS_LEN];
    uint64_t origin_chain;
    uint8_t nonce[32];               /* big-endian */
    uint64_t deadline;               /* unix s, whole route */
    enum intent_refund refund;
    uint8_t recovery[ADDRESS_LEN];   /* INTENT_REFUND_RECOVERY only */
    size_t n_steps;
    struct intent_step steps[INTENT_MAX_STEPS];
};

/* What the parser needs to know about each configured chain. */
struct intent_chain_info {
    const char *name;                /* as in the config ("alpha") */
    uint64_t chain_id;
    uint8_t router[ADDRESS_LEN];     /* the IntentRouter there; all zero: intents cannot use it */
    uint32_t block_time_ms;          /* observed block time; 0: unknown (12000 assumed) */
    uint32_t confirmations;          /* the adapter's confirmation depth */
};

struct intent_dir {
    const struct intent_chain_info *chains;
    size_t n;
};

/* The chain of the directory named `name`, or with that decimal chain id; NULL if none. */
const struct intent_chain_info *intent_dir_find(const struct intent_dir *dir, const char *name);
const struct intent_chain_info *intent_dir_by_id(const struct intent_dir *dir, uint64_t chain_id);

/* Frees the steps' data and zeroes it. */
void intent_clear(struct intent *it);
/* A deep copy (dst is overwritten, not cleared first). */
enum ferry_err intent_copy(struct intent *dst, const struct intent *src) FERRY_WUR;

/* Parsing flags. */
enum {
    INTENT_PARSE_FILL = 1u << 0, /* prepare: pick a random nonce if none is given, and split the
                                  * deadline into per-hop timeouts where a transfer names none */
};

/* Parses the dApp JSON (README "Intents" documents it) at unix time `now`. Without
 * INTENT_PARSE_FILL the nonce and every cross-chain transfer's timeout must be present (the
 * submitted intent must be exactly the one signed). On error *out is cleared and err names the
 * field and the problem, prefixed by `path` ("intent"). With dir NULL (reading back the store's
 * copy, see intent_to_json) chains must be numeric ids and are not checked against a directory. */
enum ferry_err intent_from_json(struct intent *out, const cJSON *j, const struct intent_dir *dir, uint64_t now,
                                unsigned flags, const char *path, char err[INTENT_ERR_MAX]) FERRY_WUR;

/* The normalized JSON (chain names, EIP-55 addresses, decimal strings, every timeout explicit):
 * intent_from_json of it gives the same intent. NULL on no memory or a chain not in dir. With dir
 * NULL chains are written as numeric ids (the store's form). */
cJSON *intent_to_json(const struct intent *it, const struct intent_dir *dir);

/* Fills the per-hop timeouts a transfer does not name (docs: "Timeouts"): the time left before
 * the deadline is shared among the remaining cross-chain hops in proportion to each one's
 * expected duration (source confirmations x block time + destination block time + a fixed
 * relaying allowance), never below INTENT_MIN_HOP_TIMEOUT. FERRY_EINVAL with err if the deadline
 * leaves too little time. Called by intent_from_json with INTENT_PARSE_FILL. */
enum ferry_err intent_plan_timeouts(struct intent *it, const struct intent_dir *dir, uint64_t now,
                                    char err[INTENT_ERR_MAX]) FERRY_WUR;

/* ---- EIP-712 ---- */

/* hashStruct(intent). */
void intent_hash_struct(const struct intent *it, uint8_t out[32]);
/* The intent id: the EIP-712 digest under the origin router's domain. */
void intent_id(const struct intent *it, const uint8_t origin_router[ADDRESS_LEN], uint8_t out[32]);
/* The typed data the owner signs, in the shape eth_signTypedData_v4 and `cast wallet sign --data`
 * accept (numbers above 2^53 as decimal strings). NULL on no memory. */
cJSON *intent_typed_data(const struct intent *it, const uint8_t origin_router[ADDRESS_LEN]);
/* Checks that sig (65 bytes, v 27/28 or 0/1, low s) over id recovers to the intent's owner.
 * FERRY_EINVAL with a message saying which check failed. Contract owners (ERC-1271) cannot be
 * checked off chain: they are refused here (documented). */
enum ferry_err intent_check_signature(const struct intent *it, const uint8_t id[32], const uint8_t *sig,
                                      size_t sig_len) FERRY_WUR;

/* ---- router calldata ---- */

/* open(Intent intent, bytes signature); the signature is passed with v 27/28. */
enum ferry_err intent_encode_open(struct fbuf *out, const struct intent *it, const uint8_t sig[INTENT_SIG_LEN]) FERRY_WUR;
/* advance(Intent intent, uint256 stepIndex) */
enum ferry_err intent_encode_advance(struct fbuf *out, const struct intent *it, uint32_t step) FERRY_WUR;
/* refund(Intent intent) */
enum ferry_err intent_encode_refund(struct fbuf *out, const struct intent *it) FERRY_WUR;
/* cancel(Intent intent) (the owner, or the account that opened it, before step 0 ran) */
enum ferry_err intent_encode_cancel(struct fbuf *out, const struct intent *it) FERRY_WUR;

#endif
