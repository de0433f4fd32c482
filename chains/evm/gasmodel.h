/* A learned model of the gas a Gateway.deliver batch needs, per destination chain: what each
 * receiver's packets cost, learned from mined deliveries, so that a delivery to receivers seen
 * before gets its gas limit without an execution on the node (docs/evm.md, "Gas").
 *
 * A receiver's figure is the most any single-receiver delivery to it cost per packet:
 *   (gasUsed - 21000 - calldata gas) / n, rounded up.
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

struct evm_gas_model {
    struct {
        uint8_t receiver[32];
        uint64_t per_packet;
        uint64_t used; /* the model's clock when last learned or priced (LRU) */
    } v[EVM_GAS_MODEL_RECEIVERS];
    size_t n;
    uint64_t clock;
};

/* EIP-2028 calldata gas: 16 per non-zero byte, 4 per zero byte. */
uint64_t evm_calldata_gas(const uint8_t *data, size_t len);

/* Learns from a mined, successful delivery of n packets, all to `receiver`: keeps the larger of
 * the known figure and this batch's. False (nothing learned) when n is 0 or gas_used does not
 * exceed 21000 + calldata_gas (a receipt that cannot be a delivery's). */
bool evm_gas_model_learn(struct evm_gas_model *m, const uint8_t receiver[32], size_t n, uint64_t gas_used,
                         uint64_t calldata_gas);

/* The learned figure of receiver (marks it used), or 0 when unknown. */
uint64_t evm_gas_model_figure(struct evm_gas_model *m, const uint8_t receiver[32]);

/* The gas limit for a delivery to nrecv distinct receivers, count[i] packets to receivers[i]
 * (the order of packets does not matter), or 0 when any receiver is unknown (or there are no
 * packets). Saturates at UINT64_MAX (the caller compares with its cap). */
uint64_t evm_gas_model_price(struct evm_gas_model *m, const uint8_t (*receivers)[32], const size_t *count,
                             size_t nrecv, uint64_t calldata_gas, uint64_t headroom);

/* Forgets receiver; false if it was not known. */
bool evm_gas_model_forget(struct evm_gas_model *m, const uint8_t receiver[32]);

#endif
