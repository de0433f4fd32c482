/* Transaction fees for EVM chains: what the market asks, what we offer, and how much a
 * replacement must raise. Pure functions over parsed JSON-RPC results, so that they can be
 * tested from recorded replies; the transaction manager (txmgr.h) makes the calls.
 *
 * EIP-1559 (type 2): from eth_feeHistory(blocks, "latest", [percentile]):
 *   base fee = the next block's base fee (the last entry of baseFeePerGas);
 *   tip      = the median of the per-block percentile rewards over the blocks that carried
 *              transactions (an empty block reports a reward of 0, which says nothing about
 *              the market); 0 when every block was empty;
 *   offer    tip' = min(max(tip, tip_floor), tip_cap, max_fee_cap)
 *            maxFee = min(base_fee_mult * base fee + tip', max_fee_cap).
 *   The multiplier is headroom: a type 2 transaction pays base fee + tip whatever its maxFee,
 *   and 2x survives six full blocks of base fee increases (12.5% each).
 * Legacy (chains without a base fee): gasPrice = eth_gasPrice, capped.
 *
 * Caps are never exceeded silently: when the market needs more than the cap (the next base
 * fee plus the offered tip above max_fee_cap, or a legacy gas price above it) the quote fails
 * with FERRY_ERANGE and says by how much, so the submission is refused rather than sent at a
 * fee that cannot be included. Between "includable now" and the 2x headroom the cap wins
 * quietly: maxFee = cap is still a valid offer.
 *
 * Replacement: a node replaces a pending transaction only when the new one raises both the
 * tip and maxFee (gasPrice for legacy) by at least its price bump (geth: 10%, compared as
 * new >= old * (100 + bump) / 100). fees_bump raises each by bump_pct, rounding up, takes the
 * market's offer when that is higher, and fails (FERRY_ERANGE) when the caps leave no room for
 * the raise: a replacement that a node would refuse is never built. */
#ifndef FERRY_EVM_FEES_H
#define FERRY_EVM_FEES_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ferry/err.h"
#include "ferry/u256.h"

#define FEES_MIN_BUMP_PCT 10u /* geth's default price bump; lower would be refused */

enum fee_mode {
    FEE_MODE_AUTO = 0, /* decided from the chain: a non-zero base fee in eth_feeHistory means 1559 */
    FEE_MODE_1559,     /* type 2 transactions */
    FEE_MODE_LEGACY,   /* gasPrice transactions (EIP-155) */
};

/* "auto", "1559", "legacy"; never NULL. */
const char *fee_mode_name(enum fee_mode m);

/* The chain's fee policy. Zero fields take the default in brackets. */
struct fee_policy {
    enum fee_mode mode;
    u256 max_fee_cap;         /* maxFeePerGas (1559) or gasPrice (legacy) never above this; required */
    u256 tip_cap;             /* maxPriorityFeePerGas never above this [0: only max_fee_cap bounds it] */
    u256 tip_floor;           /* the tip offered is at least this (then capped) [0] */
    unsigned base_fee_mult;   /* maxFee = mult * next base fee + tip [2] */
    unsigned bump_pct;        /* raise of a replacement, at least FEES_MIN_BUMP_PCT [12] */
    unsigned history_blocks;  /* eth_feeHistory block count, 1..1024 [10] */
    unsigned percentile;      /* reward percentile asked for, 0..100 [50] */
};

/* Fills zero fields with their defaults and checks the rest; FERRY_EINVAL names the field. */
enum ferry_err fee_policy_check(struct fee_policy *p) FERRY_WUR;

/* What the market asks now. */
struct fee_market {
    bool legacy;
    u256 base_fee;         /* 1559: the next block's base fee */
    u256 tip;              /* 1559: see the top of this file */
    u256 gas_price;        /* legacy: eth_gasPrice */
    uint64_t newest_block; /* 1559: the last block the history covers */
};

/* The fees of one transaction. */
struct fees {
    bool legacy;
    u256 gas_price; /* legacy */
    u256 max_fee;   /* 1559: maxFeePerGas */
    u256 tip;       /* 1559: maxPriorityFeePerGas */
};

/* Reads an eth_feeHistory result strictly: oldestBlock, baseFeePerGas (one more entry than
 * gasUsedRatio), gasUsedRatio (numbers in [0, 1]), reward (one array of at least one quantity
 * per block; may be absent). A history whose base fees are all zero (a chain without EIP-1559:
 * geth reports 0 for blocks before London) sets *no_base_fee. FERRY_EINVAL says what is wrong. */
enum ferry_err fees_parse_history(struct fee_market *out, bool *no_base_fee, const cJSON *result) FERRY_WUR;

/* Reads an eth_gasPrice result (a quantity) as a legacy market. */
enum ferry_err fees_parse_gas_price(struct fee_market *out, const cJSON *result) FERRY_WUR;

/* The fees to offer now (see the top of this file). FERRY_ERANGE when the market needs more
 * than the cap; the message gives both figures in wei. */
enum ferry_err fees_quote(struct fees *out, const struct fee_market *m, const struct fee_policy *p) FERRY_WUR;

/* The fees of a replacement for a transaction sent with `old` (the same kind: a legacy
 * transaction is replaced by a legacy one): each figure raised by bump_pct rounding up, or the
 * market's offer when higher, then capped; FERRY_ERANGE when a cap leaves less than the raise. */
enum ferry_err fees_bump(struct fees *out, const struct fees *old, const struct fee_market *m,
                         const struct fee_policy *p) FERRY_WUR;

/* ceil(v * (100 + pct) / 100); FERRY_ERANGE on overflow. */
enum ferry_err fees_raise(u256 *out, u256 v, unsigned pct) FERRY_WUR;

/* The fee a transaction with these fees pays at most per gas (maxFee, or gasPrice). */
u256 fees_max_per_gas(const struct fees *f);

#endif
