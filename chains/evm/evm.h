/* The EVM chain family's own pieces that are pure (no loop, no RPC): the Gateway's calls
 * encoded for a transaction (docs/protocol.md, "Gateway") and the attestation digests the
 * Gateway checks (docs/protocol.md, "Attestations"). evm.c composes them with the RPC client,
 * the watcher and the transaction manager into `evm_chain_ops`. */
#ifndef FERRY_EVM_EVM_H
#define FERRY_EVM_EVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/abi.h"
#include "ferry/buf.h"
#include "ferry/chain.h"
#include "ferry/err.h"
#include "ferry/packet.h"

extern const struct chain_ops evm_chain_ops;

/* The Gateway functions the adapter calls, parsed once. */
struct evm_gateway_abi {
    struct abi_sig *deliver;     /* deliver(Packet[],bytes[]) */
    struct abi_sig *acknowledge; /* acknowledge(Packet,bool,bytes,bytes) */
    struct abi_sig *acknowledge_batch; /* acknowledgeBatch(Packet[],bool[],bytes[],bytes[]) */
    struct abi_sig *timeout;     /* timeout(Packet,uint64,bytes) */
    uint8_t sel_received[4];     /* received(uint64,uint64) */
    uint8_t sel_received_batch[4]; /* receivedBatch(uint64,uint64[]) */
    uint8_t sel_commitments[4];  /* commitments(uint64) */
};

enum ferry_err evm_gateway_abi_init(struct evm_gateway_abi *g) FERRY_WUR;
void evm_gateway_abi_free(struct evm_gateway_abi *g);

/* EIP712Domain("Ferry Gateway", "1", chain_id, gateway). */
void evm_domain_separator(uint8_t out[32], uint64_t chain_id, const uint8_t gateway[20]);

/* The digest attesters sign for `kind` about p, checked by the Gateway whose domain separator
 * is `domain`. ACK needs ack; TIMEOUT takes proof_timestamp (the destination's block time). */
enum ferry_err evm_attest_digest(uint8_t out[32], const uint8_t domain[32], enum chain_attest_kind kind,
                                 const struct packet *p, const struct packet_ack *ack,
                                 uint64_t proof_timestamp) FERRY_WUR;

/* The calldata of a DELIVER, ACK or TIMEOUT call on the Gateway of chain `chain_id`, appended
 * to out. Signatures are turned into the Gateway's form (v = 27/28; 0/1 or 27/28 accepted,
 * anything else refused). Refuses what the Gateway would revert on for sure: an empty batch,
 * a packet for another destination (DELIVER) or from another source (ACK, TIMEOUT), a
 * signature count of 0. */
enum ferry_err evm_encode_call(struct fbuf *out, const struct evm_gateway_abi *g, uint64_t chain_id,
                               const struct chain_call *call) FERRY_WUR;

/* Calldata of received(src, seq) (pending_kind false) or commitments(seq) (true) into out;
 * returns its length (36 or 68). */
size_t evm_query_calldata(uint8_t out[68], const struct evm_gateway_abi *g, bool pending_kind, uint64_t src,
                          uint64_t seq);

/* The Gateway's MAX_RECEIVED_BATCH: the most sequences one receivedBatch call answers. */
#define EVM_RECEIVED_BATCH_MAX 256

/* The calldata of receivedBatch(src, seqs[0..n-1]) (n <= EVM_RECEIVED_BATCH_MAX) into out, which
 * holds EVM_RECEIVED_BATCH_CALLDATA(n) bytes; returns that length. */
#define EVM_RECEIVED_BATCH_CALLDATA(n) (4 + 96 + 32 * (size_t)(n))
size_t evm_received_batch_calldata(uint8_t *out, const struct evm_gateway_abi *g, uint64_t src, const uint64_t *seqs,
                                   size_t n);

/* Reads the answer of an eth_call to receivedBatch for n sequences: "0x" and one word whose bits
 * past n are zero. *bits gets the word's low 256 bits as 32 big-endian bytes; bit i (byte 31 - i / 8,
 * mask 1 << i % 8) says whether sequence i was received. Otherwise FERRY_EINVAL with a message in err. */
enum ferry_err evm_decode_received_bits(uint8_t bits[32], size_t n, const char *hex, char *err,
                                        size_t errlen) FERRY_WUR;

/* Reads the answer of an eth_call to IntentRouter.intentState(bytes32): "0x" and the ABI
 * encoding of Position {uint8 status; uint16 step; bool finalHop; uint64 hopSequence; address
 * token; uint256 amount} (six words). Every word must be the exact encoding of its type and the
 * status one the router knows (0..8); otherwise FERRY_EINVAL with a message in err. out's block
 * fields are left alone. */
enum ferry_err evm_decode_position(struct chain_intent_result *out, const char *hex, char *err,
                                   size_t errlen) FERRY_WUR;

#endif
