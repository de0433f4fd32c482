#include "evm/fees.h"

#include <stdlib.h>
#include <string.h>

const char *fee_mode_name(enum fee_mode m)
{
    switch (m) {
    case FEE_MODE_AUTO:
        return "auto";
    case FEE_MODE_1559:
        return "1559";
    case FEE_MODE_LEGACY:
        return "legacy";
    }
    return "?";
}

enum ferry_err fee_policy_check(struct fee_policy *p)
{
    if (p->mode != FEE_MODE_AUTO && p->mode != FEE_MODE_1559 && p->mode != FEE_MODE_LEGACY)
        return ferry_fail(FERRY_EINVAL, "fees: unknown fee mode %d", (int)p->mode);
    if (u256_is_zero(p->max_fee_cap))
        return ferry_fail(FERRY_EINVAL, "fees: max_fee_per_gas (the chain's fee cap) must be set");
    if (!p->base_fee_mult)
        p->base_fee_mult = 2;
    if (!p->bump_pct)
        p->bump_pct = 12;
    if (!p->history_blocks)
        p->history_blocks = 10;
    if (!p->percentile)
        p->percentile = 50;
    if (p->base_fee_mult > 100)
        return ferry_fail(FERRY_EINVAL, "fees: base_fee_mult %u is above 100", p->base_fee_mult);
    if (p->bump_pct < FEES_MIN_BUMP_PCT || p->bump_pct > 1000)
        return ferry_fail(FERRY_EINVAL, "fees: bump_pct %u must be between %u and 1000 (nodes refuse smaller raises)",
                          p->bump_pct, FEES_MIN_BUMP_PCT);
    if (p->history_blocks > 1024)
        return ferry_fail(FERRY_EINVAL, "fees: history_blocks %u is above 1024", p->history_blocks);
    if (p->percentile > 100)
        return ferry_fail(FERRY_EINVAL, "fees: percentile %u is above 100", p->percentile);
    return FERRY_OK;
}

static enum ferry_err quantity(u256 *out, const cJSON *j, const char *what, int index)
{
    if (!cJSON_IsString(j)) {
        if (index >= 0)
            return ferry_fail(FERRY_EINVAL, "fees: %s[%d] is not a quantity string", what, index);
        return ferry_fail(FERRY_EINVAL, "fees: %s is not a quantity string", what);
    }
    enum ferry_err e = u256_from_quantity(out, j->valuestring);
    if (e) {
        if (index >= 0)
            return ferry_fail_ctx(e, "fees: %s[%d]", what, index);
        return ferry_fail_ctx(e, "fees: %s", what);
    }
    return FERRY_OK;
}

static int cmp_u256(const void *a, const void *b)
{
    return u256_cmp(*(const u256 *)a, *(const u256 *)b);
}

enum ferry_err fees_parse_history(struct fee_market *out, bool *no_base_fee, const cJSON *result)
{
    memset(out, 0, sizeof *out);
    *no_base_fee = false;
    if (!cJSON_IsObject(result))
        return ferry_fail(FERRY_EINVAL, "fees: eth_feeHistory result is not an object");
    const cJSON *oldest = cJSON_GetObjectItemCaseSensitive(result, "oldestBlock");
    const cJSON *bases = cJSON_GetObjectItemCaseSensitive(result, "baseFeePerGas");
    const cJSON *ratios = cJSON_GetObjectItemCaseSensitive(result, "gasUsedRatio");
    const cJSON *rewards = cJSON_GetObjectItemCaseSensitive(result, "reward");
    u256 oldest_block;
    enum ferry_err e = quantity(&oldest_block, oldest, "eth_feeHistory oldestBlock", -1);
    if (e)
        return e;
    if (!u256_fits_u64(oldest_block))
        return ferry_fail(FERRY_ERANGE, "fees: eth_feeHistory oldestBlock does not fit 64 bits");
    if (!cJSON_IsArray(ratios))
        return ferry_fail(FERRY_EINVAL, "fees: eth_feeHistory has no gasUsedRatio array");
    int n = cJSON_GetArraySize(ratios);
    if (n > 1024)
        return ferry_fail(FERRY_EINVAL, "fees: eth_feeHistory covers %d blocks, more than the 1024 asked at most", n);
    if (!cJSON_IsArray(bases) || cJSON_GetArraySize(bases) != n + 1)
        return ferry_fail(FERRY_EINVAL,
                          "fees: eth_feeHistory baseFeePerGas must hold one entry more than gasUsedRatio (%d)", n);
    if (rewards && !cJSON_IsNull(rewards) && (!cJSON_IsArray(rewards) || cJSON_GetArraySize(rewards) != n))
        return ferry_fail(FERRY_EINVAL, "fees: eth_feeHistory reward must hold one entry per block (%d)", n);
    if (rewards && cJSON_IsNull(rewards))
        rewards = NULL;

    bool all_zero = true;
    int i = 0;
    for (const cJSON *b = bases->child; b; b = b->next, i++) {
        u256 v;
        if ((e = quantity(&v, b, "eth_feeHistory baseFeePerGas", i)))
            return e;
        if (!u256_is_zero(v))
            all_zero = false;
        out->base_fee = v; /* the last one: the next block's */
    }
    u256 tips[1024];
    size_t nt = 0;
    const cJSON *rw = rewards ? rewards->child : NULL;
    i = 0;
    for (const cJSON *r = ratios->child; r; r = r->next, i++) {
        if (!cJSON_IsNumber(r) || !(r->valuedouble >= 0.0 && r->valuedouble <= 1.0))
            return ferry_fail(FERRY_EINVAL, "fees: eth_feeHistory gasUsedRatio[%d] is not a number in [0, 1]", i);
        if (!rewards)
            continue;
        if (!cJSON_IsArray(rw) || cJSON_GetArraySize(rw) < 1)
            return ferry_fail(FERRY_EINVAL, "fees: eth_feeHistory reward[%d] is not an array of quantities", i);
        u256 v;
        if ((e = quantity(&v, rw->child, "eth_feeHistory reward", i)))
            return e;
        if (r->valuedouble > 0.0)
            tips[nt++] = v;
        rw = rw->next;
    }
    if (nt) {
        qsort(tips, nt, sizeof tips[0], cmp_u256);
        out->tip = tips[nt / 2];
    }
    out->newest_block = n ? oldest_block.w[0] + (uint64_t)n - 1 : oldest_block.w[0];
    *no_base_fee = all_zero;
    return FERRY_OK;
}

enum ferry_err fees_parse_gas_price(struct fee_market *out, const cJSON *result)
{
    memset(out, 0, sizeof *out);
    out->legacy = true;
    return quantity(&out->gas_price, result, "eth_gasPrice result", -1);
}

enum ferry_err fees_raise(u256 *out, u256 v, unsigned pct)
{
    u256 num, q, r;
    if (u256_mul(&num, v, u256_from_u64(100u + pct)))
        return ferry_fail(FERRY_ERANGE, "fees: raising by %u%% overflows", pct);
    if (u256_divmod(&q, &r, num, u256_from_u64(100)))
        return FERRY_ERANGE; /* cannot happen: the divisor is 100 */
    if (!u256_is_zero(r) && u256_add(&q, q, u256_from_u64(1)))
        return ferry_fail(FERRY_ERANGE, "fees: raising by %u%% overflows", pct);
    *out = q;
    return FERRY_OK;
}

static u256 umin(u256 a, u256 b) { return u256_cmp(a, b) <= 0 ? a : b; }
static u256 umax(u256 a, u256 b) { return u256_cmp(a, b) >= 0 ? a : b; }

/* The 1559 tip and maxFee the market asks for, before max_fee_cap is applied to maxFee. */
static enum ferry_err offer_1559(u256 *tip, u256 *max_fee, const struct fee_market *m, const struct fee_policy *p)
{
    u256 t = umax(m->tip, p->tip_floor);
    if (!u256_is_zero(p->tip_cap))
        t = umin(t, p->tip_cap);
    t = umin(t, p->max_fee_cap);
    u256 mf;
    if (u256_mul(&mf, m->base_fee, u256_from_u64(p->base_fee_mult)) || u256_add(&mf, mf, t))
        return ferry_fail(FERRY_ERANGE, "fees: the base fee times %u overflows", p->base_fee_mult);
    *tip = t;
    *max_fee = mf;
    return FERRY_OK;
}

enum ferry_err fees_quote(struct fees *out, const struct fee_market *m, const struct fee_policy *p)
{
    memset(out, 0, sizeof *out);
    char a[U256_DEC_MAX], b[U256_DEC_MAX], c[U256_DEC_MAX];
    if (m->legacy) {
        if (u256_cmp(m->gas_price, p->max_fee_cap) > 0) {
            u256_to_dec(a, m->gas_price);
            u256_to_dec(b, p->max_fee_cap);
            return ferry_fail(FERRY_ERANGE, "fees: the gas price %s wei is above the chain's fee cap %s wei", a, b);
        }
        out->legacy = true;
        out->gas_price = m->gas_price;
        return FERRY_OK;
    }
    u256 tip, max_fee, need;
    enum ferry_err e = offer_1559(&tip, &max_fee, m, p);
    if (e)
        return e;
    if (u256_add(&need, m->base_fee, tip) || u256_cmp(need, p->max_fee_cap) > 0) {
        u256_to_dec(a, m->base_fee);
        u256_to_dec(b, tip);
        u256_to_dec(c, p->max_fee_cap);
        return ferry_fail(FERRY_ERANGE,
                          "fees: the next base fee %s wei plus the tip %s wei is above the chain's fee cap %s wei", a, b,
                          c);
    }
    out->tip = tip;
    out->max_fee = umin(max_fee, p->max_fee_cap);
    return FERRY_OK;
}

/* new = max(raise(old), market) capped; FERRY_ERANGE when the cap is below raise(old). */
static enum ferry_err bump_one(u256 *out, u256 old, u256 market, u256 cap, unsigned pct, const char *what)
{
    u256 least;
    enum ferry_err e = fees_raise(&least, old, pct);
    if (e)
        return e;
    u256 v = umin(umax(least, market), cap);
    if (u256_cmp(v, least) < 0) {
        char a[U256_DEC_MAX], b[U256_DEC_MAX], c[U256_DEC_MAX];
        u256_to_dec(a, old);
        u256_to_dec(b, least);
        u256_to_dec(c, cap);
        return ferry_fail(FERRY_ERANGE, "fees: cannot replace: %s %s wei raised by %u%% is %s wei, above the cap %s wei",
                          what, a, pct, b, c);
    }
    *out = v;
    return FERRY_OK;
}

enum ferry_err fees_bump(struct fees *out, const struct fees *old, const struct fee_market *m,
                         const struct fee_policy *p)
{
    memset(out, 0, sizeof *out);
    enum ferry_err e;
    if (old->legacy) {
        u256 market = m->legacy ? m->gas_price : u256_from_u64(0);
        if (!m->legacy && u256_add(&market, m->base_fee, m->tip))
            market = p->max_fee_cap;
        out->legacy = true;
        return bump_one(&out->gas_price, old->gas_price, market, p->max_fee_cap, p->bump_pct, "gasPrice");
    }
    u256 tip = u256_from_u64(0), max_fee = u256_from_u64(0);
    if (!m->legacy && (e = offer_1559(&tip, &max_fee, m, p)))
        return e;
    if (m->legacy) /* a legacy gas price covers both the tip and the fee cap */
        tip = max_fee = m->gas_price;
    u256 tip_cap = p->max_fee_cap;
    if (!u256_is_zero(p->tip_cap))
        tip_cap = umin(tip_cap, p->tip_cap);
    if ((e = bump_one(&out->max_fee, old->max_fee, max_fee, p->max_fee_cap, p->bump_pct, "maxFeePerGas")))
        return e;
    /* The tip may not exceed maxFee (nodes refuse it): cap it there too. */
    if ((e = bump_one(&out->tip, old->tip, tip, umin(tip_cap, out->max_fee), p->bump_pct, "maxPriorityFeePerGas")))
        return e;
    return FERRY_OK;
}

u256 fees_max_per_gas(const struct fees *f)
{
    return f->legacy ? f->gas_price : f->max_fee;
}
