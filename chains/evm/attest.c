/* The Gateway's calls and attestation digests, byte for byte as docs/protocol.md gives them.
 * Pure functions: test_evm_adapter checks them against the Gateway's own view functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evm/events.h"
#include "evm/evm.h"
#include "ferry/eip712.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"

#define PACKET_TUPLE "(uint64,uint64,uint64,bytes32,bytes32,uint64,bytes)"
#define PACKET_FIELDS 7

enum ferry_err evm_gateway_abi_init(struct evm_gateway_abi *g)
{
    memset(g, 0, sizeof *g);
    enum ferry_err e;
    if ((e = abi_function_parse(&g->deliver, "deliver(" PACKET_TUPLE "[],bytes[])")) ||
        (e = abi_function_parse(&g->acknowledge, "acknowledge(" PACKET_TUPLE ",bool,bytes,bytes)")) ||
        (e = abi_function_parse(&g->acknowledge_batch, "acknowledgeBatch(" PACKET_TUPLE "[],bool[],bytes[],bytes[])")) ||
        (e = abi_function_parse(&g->timeout, "timeout(" PACKET_TUPLE ",uint64,bytes)")) ||
        (e = abi_selector(g->sel_received, "received(uint64,uint64)")) ||
        (e = abi_selector(g->sel_received_batch, "receivedBatch(uint64,uint64[])")) ||
        (e = abi_selector(g->sel_commitments, "commitments(uint64)"))) {
        evm_gateway_abi_free(g);
        return ferry_fail_ctx(e, "evm: Gateway ABI");
    }
    return FERRY_OK;
}

void evm_gateway_abi_free(struct evm_gateway_abi *g)
{
    abi_sig_free(g->deliver);
    abi_sig_free(g->acknowledge);
    abi_sig_free(g->acknowledge_batch);
    abi_sig_free(g->timeout);
    memset(g, 0, sizeof *g);
}

void evm_domain_separator(uint8_t out[32], uint64_t chain_id, const uint8_t gateway[20])
{
    struct eip712_domain d = {.name = "Ferry Gateway",
                              .version = "1",
                              .has_chain_id = true,
                              .chain_id = u256_from_u64(chain_id),
                              .verifying_contract = gateway};
    eip712_domain_separator(out, &d);
}

enum ferry_err evm_attest_digest(uint8_t out[32], const uint8_t domain[32], enum chain_attest_kind kind,
                                 const struct packet *p, const struct packet_ack *ack, uint64_t proof_timestamp)
{
    memset(out, 0, 32);
    if (!p)
        return ferry_fail(FERRY_EINVAL, "evm: attestation digest without a packet");
    uint8_t id[32], th[32], sh[32];
    evm_packet_id(p, id);
    struct eip712_struct s;
    switch (kind) {
    case CHAIN_ATTEST_DELIVERY:
        eip712_type_hash(th, "Delivery(bytes32 packetId)");
        eip712_struct_begin(&s, th);
        eip712_put_word(&s, id);
        break;
    case CHAIN_ATTEST_ACK:
        if (!ack)
            return ferry_fail(FERRY_EINVAL, "evm: acknowledgement digest without an ack");
        eip712_type_hash(th, "Acknowledgement(bytes32 packetId,bool success,bytes result)");
        eip712_struct_begin(&s, th);
        eip712_put_word(&s, id);
        eip712_put_bool(&s, ack->success);
        eip712_put_bytes(&s, ack->result, ack->result_len);
        break;
    case CHAIN_ATTEST_TIMEOUT:
        eip712_type_hash(th, "Timeout(bytes32 packetId,uint64 destinationTimestamp)");
        eip712_struct_begin(&s, th);
        eip712_put_word(&s, id);
        eip712_put_u64(&s, proof_timestamp);
        break;
    default:
        return ferry_fail(FERRY_EINVAL, "evm: unknown attestation kind %d", (int)kind);
    }
    eip712_struct_end(&s, sh);
    eip712_hash_typed(out, domain, sh);
    return FERRY_OK;
}

/* One packet as an ABI tuple value; items has PACKET_FIELDS entries. */
static enum ferry_err set_packet(struct abi_value *v, struct abi_value *items, const struct abi_type *t,
                                 const struct packet *p)
{
    struct abi_type *const *m = t->members;
    enum ferry_err e;
    if ((e = abi_set_uint(&items[0], m[0], u256_from_u64(p->src_chain))) ||
        (e = abi_set_uint(&items[1], m[1], u256_from_u64(p->dst_chain))) ||
        (e = abi_set_uint(&items[2], m[2], u256_from_u64(p->sequence))) ||
        (e = abi_set_bytes(&items[3], m[3], p->sender, 32)) ||
        (e = abi_set_bytes(&items[4], m[4], p->receiver, 32)) ||
        (e = abi_set_uint(&items[5], m[5], u256_from_u64(p->timeout_ts))) ||
        (e = abi_set_bytes(&items[6], m[6], p->payload, p->payload_len)))
        return e;
    return abi_set_list(v, t, items, PACKET_FIELDS);
}

/* r || s || v with v + 27, signatures concatenated; *out is malloc'd. */
static enum ferry_err attestation_bytes(uint8_t **out, size_t *len, const struct chain_attestation *a, size_t index)
{
    *out = NULL;
    *len = 0;
    if (!a || !a->count || !a->sigs)
        return ferry_fail(FERRY_EINVAL, "packet %zu: no signatures in its attestation", index);
    if (a->count > 256)
        return ferry_fail(FERRY_EINVAL, "packet %zu: %zu signatures (at most 256)", index, a->count);
    uint8_t *b = malloc(a->count * CHAIN_SIG_LEN);
    if (!b)
        return ferry_fail(FERRY_ENOMEM, "evm: out of memory");
    for (size_t i = 0; i < a->count; i++) {
        memcpy(b + i * CHAIN_SIG_LEN, a->sigs[i], CHAIN_SIG_LEN);
        uint8_t v = a->sigs[i][64];
        if (v < 2)
            v += 27;
        if (v != 27 && v != 28) {
            free(b);
            return ferry_fail(FERRY_EINVAL, "packet %zu: signature %zu: v is %u (expected 0, 1, 27 or 28)", index,
                              i, (unsigned)a->sigs[i][64]);
        }
        b[i * CHAIN_SIG_LEN + 64] = v;
    }
    *out = b;
    *len = a->count * CHAIN_SIG_LEN;
    return FERRY_OK;
}

/* The lists of a batch call, one entry per packet: Packet[] first and the attestations' bytes[] last,
 * with the acks' bool[] and bytes[] between them when acks is set (acknowledgeBatch), else none
 * (deliver). */
static enum ferry_err encode_packet_batch(struct fbuf *out, const struct abi_sig *fn, const struct chain_call *call,
                                          const struct packet_ack *acks)
{
    size_t n = call->n, lists = acks ? 4 : 2;
    struct abi_type *const *m = fn->params->members;
    /* list k holds items[k * n .. k * n + n - 1] */
    struct abi_value *items = calloc(n * lists, sizeof *items), *fields = calloc(n * PACKET_FIELDS, sizeof *fields);
    struct abi_value top[4], args;
    uint8_t **sigs = calloc(n, sizeof *sigs);
    if (!items || !fields || !sigs) {
        free(items);
        free(fields);
        free(sigs);
        return ferry_fail(FERRY_ENOMEM, "evm: out of memory");
    }
    struct abi_value *pv = items, *okv = items + n, *resv = items + 2 * n, *av = items + (lists - 1) * n;
    enum ferry_err e = FERRY_OK;
    for (size_t i = 0; i < n && !e; i++) {
        size_t len;
        if ((e = set_packet(&pv[i], &fields[i * PACKET_FIELDS], m[0]->elem, &call->packets[i])) ||
            (acks && ((e = abi_set_bool(&okv[i], m[1]->elem, acks[i].success)) ||
                      (e = abi_set_bytes(&resv[i], m[2]->elem, acks[i].result, acks[i].result_len)))))
            break;
        if (!(e = attestation_bytes(&sigs[i], &len, &call->attestations[i], i)))
            e = abi_set_bytes(&av[i], m[lists - 1]->elem, sigs[i], len);
    }
    for (size_t k = 0; k < lists && !e; k++)
        e = abi_set_list(&top[k], m[k], items + k * n, n);
    if (!e && !(e = abi_set_list(&args, fn->params, top, lists)))
        e = abi_calldata_encode(out, fn, &args);
    for (size_t i = 0; i < n; i++)
        free(sigs[i]);
    free(sigs);
    free(items);
    free(fields);
    return e;
}

static enum ferry_err encode_deliver(struct fbuf *out, const struct evm_gateway_abi *g, uint64_t chain_id,
                                     const struct chain_call *call)
{
    size_t n = call->n;
    if (!n || !call->packets || !call->attestations)
        return ferry_fail(FERRY_EINVAL, "deliver: an empty batch");
    if (n > 4096)
        return ferry_fail(FERRY_EINVAL, "deliver: %zu packets in one batch", n);
    for (size_t i = 0; i < n; i++)
        if (call->packets[i].dst_chain != chain_id)
            return ferry_fail(FERRY_EINVAL, "deliver: packet %zu is for chain %llu, not this chain (%llu)", i,
                              (unsigned long long)call->packets[i].dst_chain, (unsigned long long)chain_id);
    return encode_packet_batch(out, g->deliver, call, NULL);
}

/* acknowledgeBatch(Packet[], bool[], bytes[], bytes[]) for n > 1 acks. */
static enum ferry_err encode_ack_batch(struct fbuf *out, const struct evm_gateway_abi *g, uint64_t chain_id,
                                       const struct chain_call *call)
{
    size_t n = call->n;
    if (n > 4096)
        return ferry_fail(FERRY_EINVAL, "acknowledgeBatch: %zu packets in one batch", n);
    if (!call->acks)
        return ferry_fail(FERRY_EINVAL, "acknowledgeBatch: %zu packets but no acks", n);
    for (size_t i = 0; i < n; i++)
        if (call->packets[i].src_chain != chain_id)
            return ferry_fail(FERRY_EINVAL, "acknowledgeBatch: packet %zu was sent from chain %llu, not this chain (%llu)",
                              i, (unsigned long long)call->packets[i].src_chain, (unsigned long long)chain_id);
    return encode_packet_batch(out, g->acknowledge_batch, call, call->acks);
}

static enum ferry_err encode_settle(struct fbuf *out, const struct evm_gateway_abi *g, uint64_t chain_id,
                                    const struct chain_call *call)
{
    bool ack = call->kind == CHAIN_CALL_ACK;
    const char *what = ack ? "acknowledge" : "timeout";
    if (ack && call->n > 1 && call->packets && call->attestations)
        return encode_ack_batch(out, g, chain_id, call);
    if (call->n != 1 || !call->packets || !call->attestations)
        return ferry_fail(FERRY_EINVAL, ack ? "acknowledge: at least one packet, each with its attestation"
                                            : "timeout: exactly one packet with its attestation");
    const struct packet *p = &call->packets[0];
    if (p->src_chain != chain_id)
        return ferry_fail(FERRY_EINVAL, "%s: the packet was sent from chain %llu, not this chain (%llu)", what,
                          (unsigned long long)p->src_chain, (unsigned long long)chain_id);
    const struct packet_ack *one = call->acks ? &call->acks[0] : call->ack;
    if (ack && !one)
        return ferry_fail(FERRY_EINVAL, "acknowledge: no acknowledgement");
    const struct abi_sig *fn = ack ? g->acknowledge : g->timeout;
    struct abi_type *const *m = fn->params->members;
    struct abi_value fields[PACKET_FIELDS], args[4], top;
    uint8_t *sig;
    size_t len;
    enum ferry_err e;
    if ((e = set_packet(&args[0], fields, m[0], p)) || (e = attestation_bytes(&sig, &len, call->attestations, 0)))
        return e;
    if (ack) {
        if (!(e = abi_set_bool(&args[1], m[1], one->success)) &&
            !(e = abi_set_bytes(&args[2], m[2], one->result, one->result_len)) &&
            !(e = abi_set_bytes(&args[3], m[3], sig, len)))
            e = abi_set_list(&top, fn->params, args, 4);
    } else {
        if (!(e = abi_set_uint(&args[1], m[1], u256_from_u64(call->proof_timestamp))) &&
            !(e = abi_set_bytes(&args[2], m[2], sig, len)))
            e = abi_set_list(&top, fn->params, args, 3);
    }
    if (!e)
        e = abi_calldata_encode(out, fn, &top);
    free(sig);
    return e;
}

enum ferry_err evm_encode_call(struct fbuf *out, const struct evm_gateway_abi *g, uint64_t chain_id,
                               const struct chain_call *call)
{
    switch (call->kind) {
    case CHAIN_CALL_DELIVER:
        return encode_deliver(out, g, chain_id, call);
    case CHAIN_CALL_ACK:
    case CHAIN_CALL_TIMEOUT:
        return encode_settle(out, g, chain_id, call);
    default:
        return ferry_fail(FERRY_EINVAL, "evm: call kind %s is not a Gateway call", chain_call_kind_name(call->kind));
    }
}

static void word_u64(uint8_t w[32], uint64_t v)
{
    memset(w, 0, 32);
    for (int i = 31; i >= 24; i--, v >>= 8)
        w[i] = (uint8_t)v;
}

size_t evm_query_calldata(uint8_t out[68], const struct evm_gateway_abi *g, bool pending_kind, uint64_t src,
                          uint64_t seq)
{
    if (pending_kind) {
        memcpy(out, g->sel_commitments, 4);
        word_u64(out + 4, seq);
        return 36;
    }
    memcpy(out, g->sel_received, 4);
    word_u64(out + 4, src);
    word_u64(out + 36, seq);
    return 68;
}

size_t evm_received_batch_calldata(uint8_t *out, const struct evm_gateway_abi *g, uint64_t src, const uint64_t *seqs,
                                   size_t n)
{
    memcpy(out, g->sel_received_batch, 4);
    word_u64(out + 4, src);
    word_u64(out + 36, 64); /* the array's offset: after the two head words */
    word_u64(out + 68, n);
    for (size_t i = 0; i < n; i++)
        word_u64(out + 100 + 32 * i, seqs[i]);
    return EVM_RECEIVED_BATCH_CALLDATA(n);
}

enum ferry_err evm_decode_received_bits(uint8_t bits[32], size_t n, const char *hex, char *err, size_t errlen)
{
    memset(bits, 0, 32);
    if (n > EVM_RECEIVED_BATCH_MAX) {
        snprintf(err, errlen, "receivedBatch: %zu sequences (at most %d)", n, EVM_RECEIVED_BATCH_MAX);
        return FERRY_EINVAL;
    }
    if (!hex || hex_decode_exact(bits, 32, hex, HEX_PREFIX_REQUIRED)) {
        size_t len = hex ? strlen(hex) : 0;
        snprintf(err, errlen, "receivedBatch returned %s, not one 32-byte word",
                 !hex ? "no string" : len == 2 ? "no data (no contract at the Gateway address?)" : "something else");
        memset(bits, 0, 32);
        return FERRY_EINVAL;
    }
    for (size_t i = n; i < 256; i++)
        if (bits[31 - i / 8] >> (i % 8) & 1) {
            snprintf(err, errlen, "receivedBatch returned bit %zu for %zu sequences", i, n);
            memset(bits, 0, 32);
            return FERRY_EINVAL;
        }
    return FERRY_OK;
}

/* ---- IntentRouter.intentState ---- */

static bool word_fits(const uint8_t w[32], size_t bytes)
{
    for (size_t i = 0; i < 32 - bytes; i++)
        if (w[i])
            return false;
    return true;
}

enum ferry_err evm_decode_position(struct chain_intent_result *out, const char *hex, char *err, size_t errlen)
{
    uint8_t w[6][32];
    if (strcmp(hex, "0x") == 0) {
        snprintf(err, errlen, "intentState returned nothing: no IntentRouter code at the configured address?");
        return FERRY_EINVAL;
    }
    if (hex_decode_exact(w[0], sizeof w, hex, HEX_PREFIX_REQUIRED)) {
        snprintf(err, errlen, "intentState returned %zu hex digits, not a Position (6 words)", strlen(hex));
        return FERRY_EINVAL;
    }
    static const size_t width[6] = {1, 2, 1, 8, 20, 32};
    static const char *const names[6] = {"status", "step", "finalHop", "hopSequence", "token", "amount"};
    for (int i = 0; i < 6; i++)
        if (!word_fits(w[i], width[i])) {
            snprintf(err, errlen, "intentState: %s is not a %zu-byte value", names[i], width[i]);
            return FERRY_EINVAL;
        }
    if (w[0][31] > CHAIN_ISTATUS_CANCELLED) {
        snprintf(err, errlen, "intentState: status %u is none the router has (0 to 8)", w[0][31]);
        return FERRY_EINVAL;
    }
    if (w[2][31] > 1) {
        snprintf(err, errlen, "intentState: finalHop is not a bool");
        return FERRY_EINVAL;
    }
    out->status = (enum chain_intent_status)w[0][31];
    out->step = (uint32_t)w[1][30] << 8 | w[1][31];
    out->final_hop = w[2][31] != 0;
    out->hop_sequence = 0;
    for (int i = 24; i < 32; i++)
        out->hop_sequence = out->hop_sequence << 8 | w[3][i];
    memcpy(out->token, w[4] + 12, 20);
    memcpy(out->amount, w[5], 32);
    return FERRY_OK;
}
