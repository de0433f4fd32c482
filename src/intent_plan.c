/* Splitting an intent's deadline into per-hop timeouts (docs/intents.md, "Timeouts").
 *
 * The rule: the time from now to the deadline, minus a safety margin for the last step, is shared
 * among the cross-chain transfers that name no timeout, in proportion to each hop's expected
 * duration:
 *     expected(hop) = source confirmations x source block time + destination block time + 30 s
 *     margin        = (confirmations + 1) x block time of the last step's chain + 30 s
 *     timeout(hop)  = max(INTENT_MIN_HOP_TIMEOUT, (deadline - now - margin) x expected(hop) / sum)
 * A block time of 0 (unknown) counts as 12 s. Explicit timeouts are kept as they are (the router
 * clips every hop at the deadline anyway). Too little time for INTENT_MIN_HOP_TIMEOUT per hop after
 * the margin, or a deadline already past, is an error.
 * Why proportional: a hop out of a slow, deep-confirmation chain needs more of the budget than one
 * between fast chains, and a timeout too short for its hop refunds a route that would have worked. */
#include <stdio.h>
#include <string.h>

#include "ferry/u256.h"
#include "intent_int.h"

#define DEFAULT_BLOCK_MS 12000u
#define RELAY_ALLOWANCE_MS 30000u

static uint64_t block_ms(const struct intent_dir *dir, uint64_t chain)
{
    const struct intent_chain_info *ci = intent_dir_by_id(dir, chain);
    return ci && ci->block_time_ms ? ci->block_time_ms : DEFAULT_BLOCK_MS;
}

static uint64_t confirmations(const struct intent_dir *dir, uint64_t chain)
{
    const struct intent_chain_info *ci = intent_dir_by_id(dir, chain);
    return ci ? ci->confirmations : 0;
}

static bool needs_timeout(const struct intent_step *s)
{
    return s->kind == INTENT_STEP_TRANSFER && s->to_chain != s->chain && s->timeout == 0;
}

enum ferry_err intent_plan_timeouts_at(struct intent *it, const struct intent_dir *dir, uint64_t now,
                                       const char *path, char err[INTENT_ERR_MAX])
{
    size_t n = it->n_steps < INTENT_MAX_STEPS ? it->n_steps : INTENT_MAX_STEPS;
    if (it->deadline <= now) {
        snprintf(err, INTENT_ERR_MAX, "%s.deadline: %llu is not in the future (now %llu)", path,
                 (unsigned long long)it->deadline, (unsigned long long)now);
        return ferry_fail(FERRY_EINVAL, "%s", err);
    }
    uint64_t expected[INTENT_MAX_STEPS] = {0}, sum = 0;
    size_t hops = 0;
    for (size_t i = 0; i < n; i++) {
        const struct intent_step *s = &it->steps[i];
        if (!needs_timeout(s))
            continue;
        expected[i] = confirmations(dir, s->chain) * block_ms(dir, s->chain) + block_ms(dir, s->to_chain) +
                      RELAY_ALLOWANCE_MS;
        sum += expected[i];
        hops++;
    }
    if (hops == 0)
        return FERRY_OK;
    uint64_t last_chain = n ? it->steps[n - 1].chain : it->origin_chain;
    uint64_t margin = ((confirmations(dir, last_chain) + 1) * block_ms(dir, last_chain) + RELAY_ALLOWANCE_MS + 999) / 1000;
    uint64_t left = it->deadline - now;
    uint64_t need = margin + (uint64_t)hops * INTENT_MIN_HOP_TIMEOUT;
    if (left < need) {
        snprintf(err, INTENT_ERR_MAX,
                 "%s.deadline: leaves %llu s; %zu hop%s need at least %llu s (%d s each and %llu s for the last step)",
                 path, (unsigned long long)left, hops, hops == 1 ? "" : "s", (unsigned long long)need,
                 INTENT_MIN_HOP_TIMEOUT, (unsigned long long)margin);
        return ferry_fail(FERRY_EINVAL, "%s", err);
    }
    u256 budget = u256_from_u64(left - margin), total = u256_from_u64(sum);
    for (size_t i = 0; i < n; i++) {
        if (!expected[i])
            continue;
        u256 share, q;
        (void)u256_mul(&share, budget, u256_from_u64(expected[i])); /* < 2^53 x 2^64: no overflow */
        if (u256_divmod(&q, NULL, share, total))
            return ferry_fail(FERRY_ERANGE, "intent: no expected hop duration"); /* sum > 0: unreachable */
        uint64_t t = q.w[0];
        it->steps[i].timeout = t < INTENT_MIN_HOP_TIMEOUT ? INTENT_MIN_HOP_TIMEOUT : t;
    }
    return FERRY_OK;
}

enum ferry_err intent_plan_timeouts(struct intent *it, const struct intent_dir *dir, uint64_t now,
                                    char err[INTENT_ERR_MAX])
{
    err[0] = 0;
    return intent_plan_timeouts_at(it, dir, now, "intent", err);
}
