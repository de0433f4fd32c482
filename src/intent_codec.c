/* Intents on the wire: the EIP-712 hashes (IntentLib.sol), the typed data the owner signs, the
 * signature check, and the IntentRouter calldata (open, advance, refund, cancel). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/abi.h"
#include "ferry/eip712.h"
#include "ferry/hex.h"
#include "ferry/intent.h"
#include "ferry/json_out.h"
#include "ferry/signer.h"
#include "ferry/u256.h"

/* The type strings of contracts/src/libraries/IntentLib.sol, verbatim. */
#define STEP_TYPE                                                                                                 \
    "Step(uint8 kind,uint64 chain,address token,uint256 amount,uint64 toChain,address recipient,address target," \
    "bytes data,address tokenOut,uint256 minAmountOut,uint64 timeout)"
#define INTENT_TYPE                                                                                               \
    "Intent(address owner,uint64 originChain,uint256 nonce,uint64 deadline,uint8 refundPolicy,address "          \
    "recoveryAddress,Step[] steps)" STEP_TYPE

#define STEP_TUPLE "(uint8,uint64,address,uint256,uint64,address,address,bytes,address,uint256,uint64)"
#define INTENT_TUPLE "(address,uint64,uint256,uint64,uint8,address," STEP_TUPLE "[])"

/* ---- EIP-712 ---- */

static void hash_step(const struct intent_step *s, uint8_t out[32])
{
    uint8_t th[32];
    struct eip712_struct h;
    eip712_type_hash(th, STEP_TYPE);
    eip712_struct_begin(&h, th);
    eip712_put_u64(&h, (uint64_t)s->kind);
    eip712_put_u64(&h, s->chain);
    eip712_put_address(&h, s->token);
    eip712_put_word(&h, s->amount);
    eip712_put_u64(&h, s->to_chain);
    eip712_put_address(&h, s->recipient);
    eip712_put_address(&h, s->target);
    eip712_put_bytes(&h, s->data_len ? s->data : (const uint8_t *)"", s->data_len);
    eip712_put_address(&h, s->token_out);
    eip712_put_word(&h, s->min_amount_out);
    eip712_put_u64(&h, s->timeout);
    eip712_struct_end(&h, out);
}

void intent_hash_struct(const struct intent *it, uint8_t out[32])
{
    uint8_t th[32], steps[32], sh[32];
    struct eip712_struct arr, h;
    eip712_array_begin(&arr);
    for (size_t i = 0; i < it->n_steps && i < INTENT_MAX_STEPS; i++) {
        hash_step(&it->steps[i], sh);
        eip712_put_word(&arr, sh);
    }
    eip712_struct_end(&arr, steps);
    eip712_type_hash(th, INTENT_TYPE);
    eip712_struct_begin(&h, th);
    eip712_put_address(&h, it->owner);
    eip712_put_u64(&h, it->origin_chain);
    eip712_put_word(&h, it->nonce);
    eip712_put_u64(&h, it->deadline);
    eip712_put_u64(&h, (uint64_t)it->refund);
    eip712_put_address(&h, it->recovery);
    eip712_put_word(&h, steps);
    eip712_struct_end(&h, out);
}

void intent_id(const struct intent *it, const uint8_t origin_router[ADDRESS_LEN], uint8_t out[32])
{
    struct eip712_domain d = {.name = "Ferry Intent",
                              .version = "1",
                              .has_chain_id = true,
                              .chain_id = u256_from_u64(it->origin_chain),
                              .verifying_contract = origin_router};
    uint8_t ds[32], hs[32];
    eip712_domain_separator(ds, &d);
    intent_hash_struct(it, hs);
    eip712_hash_typed(out, ds, hs);
}

/* ---- typed data ---- */

static bool add_field(cJSON *arr, const char *name, const char *type)
{
    cJSON *f = cJSON_CreateObject();
    if (!f || !cJSON_AddStringToObject(f, "name", name) || !cJSON_AddStringToObject(f, "type", type) ||
        !cJSON_AddItemToArray(arr, f)) {
        cJSON_Delete(f);
        return false;
    }
    return true;
}

static bool add_types(cJSON *td)
{
    static const char *const domain[][2] = {
        {"name", "string"}, {"version", "string"}, {"chainId", "uint256"}, {"verifyingContract", "address"}};
    static const char *const intent[][2] = {{"owner", "address"},        {"originChain", "uint64"},
                                            {"nonce", "uint256"},        {"deadline", "uint64"},
                                            {"refundPolicy", "uint8"},   {"recoveryAddress", "address"},
                                            {"steps", "Step[]"}};
    static const char *const step[][2] = {
        {"kind", "uint8"},         {"chain", "uint64"},     {"token", "address"},    {"amount", "uint256"},
        {"toChain", "uint64"},     {"recipient", "address"}, {"target", "address"},   {"data", "bytes"},
        {"tokenOut", "address"},   {"minAmountOut", "uint256"}, {"timeout", "uint64"}};
    cJSON *types = cJSON_AddObjectToObject(td, "types");
    cJSON *a;
    if (!types || !(a = cJSON_AddArrayToObject(types, "EIP712Domain")))
        return false;
    for (size_t i = 0; i < sizeof domain / sizeof domain[0]; i++)
        if (!add_field(a, domain[i][0], domain[i][1]))
            return false;
    if (!(a = cJSON_AddArrayToObject(types, "Intent")))
        return false;
    for (size_t i = 0; i < sizeof intent / sizeof intent[0]; i++)
        if (!add_field(a, intent[i][0], intent[i][1]))
            return false;
    if (!(a = cJSON_AddArrayToObject(types, "Step")))
        return false;
    for (size_t i = 0; i < sizeof step / sizeof step[0]; i++)
        if (!add_field(a, step[i][0], step[i][1]))
            return false;
    return true;
}

static bool add_step(cJSON *arr, const struct intent_step *s)
{
    cJSON *o = cJSON_CreateObject();
    char *hex = malloc(2 * s->data_len + 3);
    bool ok = o && hex && cJSON_AddItemToArray(arr, o);
    if (!ok) {
        cJSON_Delete(o);
        free(hex);
        return false;
    }
    hex_encode(hex, s->data, s->data_len, true);
    ok = json_add_u64(o, "kind", (uint64_t)s->kind) && json_add_u64(o, "chain", s->chain) &&
         json_add_address(o, "token", s->token) && json_add_dec(o, "amount", s->amount) &&
         json_add_u64(o, "toChain", s->to_chain) && json_add_address(o, "recipient", s->recipient) &&
         json_add_address(o, "target", s->target) && cJSON_AddStringToObject(o, "data", hex) &&
         json_add_address(o, "tokenOut", s->token_out) && json_add_dec(o, "minAmountOut", s->min_amount_out) &&
         json_add_u64(o, "timeout", s->timeout);
    free(hex);
    return ok;
}

/* Numbers up to 2^53 go as JSON numbers, larger ones as decimal strings (json_add_u64): both shapes
 * are accepted by eth_signTypedData_v4 and cast. */
cJSON *intent_typed_data(const struct intent *it, const uint8_t origin_router[ADDRESS_LEN])
{
    cJSON *td = cJSON_CreateObject();
    cJSON *dom, *msg, *steps;
    bool ok = td && add_types(td) && cJSON_AddStringToObject(td, "primaryType", "Intent") &&
              (dom = cJSON_AddObjectToObject(td, "domain")) && cJSON_AddStringToObject(dom, "name", "Ferry Intent") &&
              cJSON_AddStringToObject(dom, "version", "1") && json_add_u64(dom, "chainId", it->origin_chain) &&
              json_add_address(dom, "verifyingContract", origin_router) &&
              (msg = cJSON_AddObjectToObject(td, "message")) && json_add_address(msg, "owner", it->owner) &&
              json_add_u64(msg, "originChain", it->origin_chain) && json_add_dec(msg, "nonce", it->nonce) &&
              json_add_u64(msg, "deadline", it->deadline) && json_add_u64(msg, "refundPolicy", (uint64_t)it->refund) &&
              json_add_address(msg, "recoveryAddress", it->recovery) && (steps = cJSON_AddArrayToObject(msg, "steps"));
    for (size_t i = 0; ok && i < it->n_steps && i < INTENT_MAX_STEPS; i++)
        ok = add_step(steps, &it->steps[i]);
    if (!ok) {
        cJSON_Delete(td);
        return NULL;
    }
    return td;
}

/* ---- signatures ---- */

/* secp256k1 n / 2: an s above it is the malleable twin of a low-s signature (EIP-2). */
static const uint8_t HALF_N[32] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
                                   0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

enum ferry_err intent_check_signature(const struct intent *it, const uint8_t id[32], const uint8_t *sig,
                                      size_t sig_len)
{
    if (!sig || sig_len != INTENT_SIG_LEN)
        return ferry_fail(FERRY_EINVAL, "signature: expected %d bytes (r, s, v), got %zu", INTENT_SIG_LEN,
                          sig ? sig_len : 0);
    uint8_t v = sig[64];
    if (v != 27 && v != 28 && v != 0 && v != 1)
        return ferry_fail(FERRY_EINVAL, "signature: v must be 27 or 28 (or 0 or 1), got %u", (unsigned)v);
    if (memcmp(sig + 32, HALF_N, 32) > 0)
        return ferry_fail(FERRY_EINVAL, "signature: s is in the upper half of the curve order (malleable; use "
                                        "the low-s form, EIP-2)");
    uint8_t addr[ADDRESS_LEN];
    if (signer_recover(id, sig, addr))
        return ferry_fail(FERRY_EINVAL, "signature: does not recover to a public key (r or s out of range)");
    if (memcmp(addr, it->owner, ADDRESS_LEN) != 0) {
        char got[ADDRESS_STR], want[ADDRESS_STR];
        address_to_checksum(got, addr);
        address_to_checksum(want, it->owner);
        return ferry_fail(FERRY_EINVAL,
                          "signature: signed by %s, not by the owner %s (a different key, or a different "
                          "intent: the id signed must be this intent's)",
                          got, want);
    }
    return FERRY_OK;
}

/* ---- router calldata ---- */

/* Builds the Intent value into items (7 + n*(1 + 11) entries) for type t. */
static enum ferry_err set_intent(struct abi_value *v, const struct abi_type *t, const struct intent *it,
                                 struct abi_value *items)
{
    struct abi_value *top = items, *steps = items + 7;
    size_t n = it->n_steps;
    struct abi_value *fields = steps + n;
    const struct abi_type *const *m = (const struct abi_type *const *)t->members;
    const struct abi_type *st = m[6]->elem;
    const struct abi_type *const *sm = (const struct abi_type *const *)st->members;
    enum ferry_err e;
    for (size_t i = 0; i < n; i++) {
        const struct intent_step *s = &it->steps[i];
        struct abi_value *f = fields + 11 * i;
        if ((e = abi_set_uint(&f[0], sm[0], u256_from_u64((uint64_t)s->kind))) ||
            (e = abi_set_uint(&f[1], sm[1], u256_from_u64(s->chain))) ||
            (e = abi_set_address(&f[2], sm[2], s->token)) ||
            (e = abi_set_uint(&f[3], sm[3], u256_from_be32(s->amount))) ||
            (e = abi_set_uint(&f[4], sm[4], u256_from_u64(s->to_chain))) ||
            (e = abi_set_address(&f[5], sm[5], s->recipient)) || (e = abi_set_address(&f[6], sm[6], s->target)) ||
            (e = abi_set_bytes(&f[7], sm[7], s->data, s->data_len)) ||
            (e = abi_set_address(&f[8], sm[8], s->token_out)) ||
            (e = abi_set_uint(&f[9], sm[9], u256_from_be32(s->min_amount_out))) ||
            (e = abi_set_uint(&f[10], sm[10], u256_from_u64(s->timeout))) ||
            (e = abi_set_list(&steps[i], st, f, 11)))
            return e;
    }
    if ((e = abi_set_address(&top[0], m[0], it->owner)) ||
        (e = abi_set_uint(&top[1], m[1], u256_from_u64(it->origin_chain))) ||
        (e = abi_set_uint(&top[2], m[2], u256_from_be32(it->nonce))) ||
        (e = abi_set_uint(&top[3], m[3], u256_from_u64(it->deadline))) ||
        (e = abi_set_uint(&top[4], m[4], u256_from_u64((uint64_t)it->refund))) ||
        (e = abi_set_address(&top[5], m[5], it->recovery)) || (e = abi_set_list(&top[6], m[6], steps, n)))
        return e;
    return abi_set_list(v, t, top, 7);
}

enum call_kind { CALL_OPEN, CALL_ADVANCE, CALL_REFUND, CALL_CANCEL };

static enum ferry_err encode_call(struct fbuf *out, enum call_kind kind, const struct intent *it,
                                  const uint8_t *sig, uint32_t step)
{
    static const char *const sigs[] = {
        [CALL_OPEN] = "open(" INTENT_TUPLE ",bytes)",
        [CALL_ADVANCE] = "advance(" INTENT_TUPLE ",uint256)",
        [CALL_REFUND] = "refund(" INTENT_TUPLE ")",
        [CALL_CANCEL] = "cancel(" INTENT_TUPLE ")",
    };
    if (it->n_steps == 0 || it->n_steps > INTENT_MAX_STEPS)
        return ferry_fail(FERRY_EINVAL, "intent: %zu steps (1 to %d allowed)", it->n_steps, INTENT_MAX_STEPS);
    if (kind == CALL_ADVANCE && step >= it->n_steps)
        return ferry_fail(FERRY_EINVAL, "intent: advance of step %u, the intent has %zu steps", step, it->n_steps);
    struct abi_sig *fn = NULL;
    enum ferry_err e = abi_function_parse(&fn, sigs[kind]);
    if (e)
        return e;
    size_t n_items = 2 + 7 + it->n_steps * 12;
    struct abi_value *items = calloc(n_items, sizeof *items);
    if (!items) {
        abi_sig_free(fn);
        return ferry_fail(FERRY_ENOMEM, "intent: out of memory encoding a router call");
    }
    struct abi_value args, *params = items, *rest = items + 2;
    const struct abi_type *const *pt = (const struct abi_type *const *)fn->params->members;
    uint8_t wire_sig[INTENT_SIG_LEN];
    size_t n_params = 1;
    e = set_intent(&params[0], pt[0], it, rest);
    if (!e && kind == CALL_OPEN) {
        memcpy(wire_sig, sig, INTENT_SIG_LEN);
        if (wire_sig[64] < 27)
            wire_sig[64] += 27; /* OpenZeppelin's ECDSA takes v 27/28 only */
        e = abi_set_bytes(&params[1], pt[1], wire_sig, INTENT_SIG_LEN);
        n_params = 2;
    } else if (!e && kind == CALL_ADVANCE) {
        e = abi_set_uint(&params[1], pt[1], u256_from_u64(step));
        n_params = 2;
    }
    if (!e)
        e = abi_set_list(&args, fn->params, params, n_params);
    if (!e)
        e = abi_calldata_encode(out, fn, &args);
    free(items);
    abi_sig_free(fn);
    return e ? ferry_fail_ctx(e, "intent: encoding a router call") : FERRY_OK;
}

enum ferry_err intent_encode_open(struct fbuf *out, const struct intent *it, const uint8_t sig[INTENT_SIG_LEN])
{
    return encode_call(out, CALL_OPEN, it, sig, 0);
}

enum ferry_err intent_encode_advance(struct fbuf *out, const struct intent *it, uint32_t step)
{
    return encode_call(out, CALL_ADVANCE, it, NULL, step);
}

enum ferry_err intent_encode_refund(struct fbuf *out, const struct intent *it)
{
    return encode_call(out, CALL_REFUND, it, NULL, 0);
}

enum ferry_err intent_encode_cancel(struct fbuf *out, const struct intent *it)
{
    return encode_call(out, CALL_CANCEL, it, NULL, 0);
}
