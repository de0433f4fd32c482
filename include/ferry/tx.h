/* Ethereum transactions: legacy (EIP-155 replay-protected) and EIP-1559 (type 2).
 *
 * A transaction is a plain struct the caller fills in. Signing happens elsewhere (the signer
 * module holds the keys): take eth_tx_signing_hash(), have it signed, then attach the 65-byte
 * r || s || recid with eth_tx_set_signature(). eth_tx_serialize() writes the raw bytes for
 * eth_sendRawTransaction. Hashing streams the RLP straight into Keccak and serializing appends
 * to one caller-owned buffer, so nothing is allocated per field.
 *
 * Decoding is strict (canonical RLP, exact field counts, integers without leading zeros) and
 * eth_tx_sender() recovers the sender, rejecting high-s signatures as Ethereum does.
 * Access lists: only the empty list is supported (building and decoding); a type 2
 * transaction with entries is refused with FERRY_EUNSUPPORTED. Types 1, 3 and 4 are too. */
#ifndef FERRY_TX_H
#define FERRY_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/address.h"
#include "ferry/buf.h"
#include "ferry/err.h"
#include "ferry/u256.h"

#define ETH_TX_SIG_LEN 65 /* r (32) || s (32) || recid (1: 0 or 1), as signer_sign_digest gives */

enum eth_tx_type {
    ETH_TX_LEGACY = 0, /* rlp([nonce, gasPrice, gas, to, value, data, v, r, s]) */
    ETH_TX_1559 = 2,   /* 0x02 || rlp([chainId, nonce, tip, maxFee, gas, to, value, data, [], yParity, r, s]) */
};

struct eth_tx {
    enum eth_tx_type type;
    uint64_t chain_id; /* legacy: 0 only in decoded pre-EIP-155 transactions (v = 27/28) */
    uint64_t nonce;
    uint64_t gas_limit;
    bool create;       /* contract creation: `to` is empty */
    uint8_t to[ADDRESS_LEN];
    u256 value;
    const uint8_t *data; /* calldata or init code; not owned (decoded: points into the raw input) */
    size_t data_len;
    u256 gas_price;    /* legacy */
    u256 max_priority_fee_per_gas; /* type 2 */
    u256 max_fee_per_gas;          /* type 2 */
    /* The signature, once attached or decoded. */
    bool is_signed;
    uint8_t r[32], s[32]; /* big-endian */
    uint8_t y_parity;     /* the recovery id, 0 or 1; legacy v = 35 + 2 * chainId + y_parity */
};

/* The 32-byte digest the sender signs: keccak(rlp([nonce, gasPrice, gas, to, value, data,
 * chainId, 0, 0])) for legacy (EIP-155), keccak(0x02 || rlp([chainId, nonce, tip, maxFee, gas,
 * to, value, data, []])) for type 2. Refuses a legacy transaction without a chain id (it could
 * be replayed on any chain) and a type 2 whose tip exceeds its fee cap (no node accepts it). */
enum ferry_err eth_tx_signing_hash(const struct eth_tx *tx, uint8_t hash[32]) FERRY_WUR;

/* Attaches r || s || recid. A high s (above n/2), r or s of zero or not below the group
 * order, or a recid other than 0 or 1 is refused and leaves tx unchanged. */
enum ferry_err eth_tx_set_signature(struct eth_tx *tx, const uint8_t sig[ETH_TX_SIG_LEN]) FERRY_WUR;

/* Appends the signed transaction's raw bytes (what eth_sendRawTransaction takes) to out.
 * On error `out` has been freed and reset (see fbuf_add). */
enum ferry_err eth_tx_serialize(const struct eth_tx *tx, struct fbuf *out) FERRY_WUR;

/* The transaction hash: keccak256 of the raw signed bytes, computed without storing them. */
enum ferry_err eth_tx_hash(const struct eth_tx *tx, uint8_t hash[32]) FERRY_WUR;

/* Decodes a signed raw transaction (legacy or type 2). tx->data points into raw, which must
 * outlive tx. On error *tx is zeroed and the message names the field and offset. */
enum ferry_err eth_tx_decode(struct eth_tx *tx, const uint8_t *raw, size_t n) FERRY_WUR;

/* Recovers the address that signed tx (libsecp256k1's recovery module). */
enum ferry_err eth_tx_sender(const struct eth_tx *tx, uint8_t addr[ADDRESS_LEN]) FERRY_WUR;

#endif
