/* A learned model of the gas a Gateway.deliver batch needs, per destination chain: what each
 * receiver's packets cost, learned from mined deliveries, so that a delivery to receivers seen
 * before gets its gas limit without an execution on the node (docs/evm.md, "Gas"). The adapter
 * keeps a second one for Gateway.acknowledgeBatch on the source chain, keyed by the packets'
 * sender app and the acknowledgement's outcome instead of the receiver (same arithmetic, no
 * headroom, EVM_GAS_MODEL_MIN_ACK as its floor).
 *
 * A receiver's figure for a batch size n is the most any single-receiver delivery of n packets to
 * it cost per packet: (gasUsed - 21000 - calldata gas) / n, rounded up. Part of that is the
 * transaction's fixed cost (cold Gateway and receiver state) shared by its packets, so the figure
 * falls as n grows: a batch of m packets is priced with the figure of the largest learned size
 * not above m (an upper bound), and a receiver with no size learned up to m is unknown for it.
 * A delivery whose receivers are all known is priced
 *   21000 + calldata gas + sum over packets of (figure + EVM_GAS_MODEL_SLOT + 10 % of figure) + headroom
 * (the 10 % rounded up)
 * (headroom: the caller's receiver floor). Why a figure that is too low is harmless: the Gateway
 * reverts the whole batch when the gas before a receiver is short, and an out-of-gas in its own
 * frame reverts the whole transaction: a low limit costs a reverted transaction, never a wrong
 * acknowledgement. After such a revert the caller forgets the batch's receivers, so the retry is
 * measured again.
 *
 * In memory only, bounded (EVM_GAS_MODEL_RECEIVERS, the least recently used is evicted); pure
 * (no I/O), single-threaded. */
#ifndef FERRY_EVM_GASMODEL_H
#define FERRY_EVM_GASMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVM_GAS_MODEL_RECEIVERS 32
#define EVM_GAS_TX_BASE 21000      /* a transaction's intrinsic gas before its calldata */
#define EVM_GAS_MODEL_SLOT 25000   /* per packet: one fresh storage slot written (20,000 + the cold
                                      access), e.g. a recipient that never held the voucher */
#define EVM_GAS_MODEL_PCT 10       /* per packet: this % of the learned figure on top */
#define EVM_GAS_MODEL_SIZES 8      /* batch sizes kept per receiver (the largest ones) */
/* The least a packet the Gateway receives can cost: its receipt slot written from zero (20,000
 * + 2,100 cold). A batch cheaper than that per packet skipped packets (already received, timed
 * out: a few thousand gas each) and would teach a figure too low for received ones. */
#define EVM_GAS_MODEL_MIN_PACKET 22100
/* The same floor for acknowledgements (the model's min_per_packet): a settled packet verifies its
 * attestation (one ecrecover per signature, 3,000 each), clears its commitment (5,000 less the
 * 4,800 refund) and calls its sender's onAck (2,600 cold at least), so over 10,000 with one
 * signature; a packet skipped as no longer pending costs a few thousand. */
#define EVM_GAS_MODEL_MIN_ACK 10000

struct evm_gas_model {
    struct {
        uint8_t receiver[32];
        struct {
            uint32_t n;          /* batch size (0: unused) */
            uint64_t per_packet; /* the most seen per packet at that size */
        } size[EVM_GAS_MODEL_SIZES];
        uint64_t used; /* the model's clock when last learned or priced (LRU) */
    } v[EVM_GAS_MODEL_RECEIVERS];
    size_t n;
    uint64_t clock;
    uint64_t min_per_packet; /* a batch cheaper per packet teaches nothing (0: EVM_GAS_MODEL_MIN_PACKET) */
};

/* EIP-2028 calldata gas: 16 per non-zero byte, 4 per zero byte. */
uint64_t evm_calldata_gas(const uint8_t *data, size_t len);

/* Learns from a mined, successful delivery of n packets, all to `receiver`: keeps the larger of
 * the known figure for size n and this batch's (a new size replaces the smallest one kept, when
 * it is larger). False (nothing learned) when n is 0 or the batch cost less than
 * EVM_GAS_MODEL_MIN_PACKET per packet. */
bool evm_gas_model_learn(struct evm_gas_model *m, const uint8_t receiver[32], size_t n, uint64_t gas_used,
                         uint64_t calldata_gas);

/* The learned figure of receiver for a batch of n packets to it (marks it used), or 0 when
 * unknown. */
uint64_t evm_gas_model_figure(struct evm_gas_model *m, const uint8_t receiver[32], size_t n);

/* The same figure without marking the receiver used: for reports (a log line) that must not
 * change which receiver is evicted next. */
uint64_t evm_gas_model_peek(const struct evm_gas_model *m, const uint8_t receiver[32], size_t n);

/* The gas limit for a delivery to nrecv distinct receivers, count[i] packets to receivers[i]
 * (the order of packets does not matter), or 0 when any receiver is unknown (or there are no
 * packets). *need (when not NULL) gets the same sum without the per-packet margins: what the
 * learned figures say the delivery uses, plus the headroom. Saturates at UINT64_MAX (the caller
 * compares with its cap). */
uint64_t evm_gas_model_price(struct evm_gas_model *m, const uint8_t (*receivers)[32], const size_t *count,
                             size_t nrecv, uint64_t calldata_gas, uint64_t headroom, uint64_t *need);

/* Forgets receiver; false if it was not known. */
bool evm_gas_model_forget(struct evm_gas_model *m, const uint8_t receiver[32]);

#endif
