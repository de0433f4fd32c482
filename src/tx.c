#include "ferry/tx.h"

#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "ferry/keccak.h"
#include "ferry/rlp.h"

/* The secp256k1 group order n and n/2, big-endian. Ethereum (EIP-2) accepts only s <= n/2. */
static const uint8_t order_n[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                    0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
static const uint8_t half_n[32] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
                                   0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};
static const uint8_t zero32[32];

static enum ferry_err check_signature(const uint8_t r[32], const uint8_t s[32], unsigned recid)
{
    if (recid > 1)
        return ferry_fail(FERRY_EINVAL, "recovery id %u is not 0 or 1", recid);
    if (memcmp(r, zero32, 32) == 0 || memcmp(r, order_n, 32) >= 0)
        return ferry_fail(FERRY_ECRYPTO, "signature r is zero or not below the curve order");
    if (memcmp(s, zero32, 32) == 0)
        return ferry_fail(FERRY_ECRYPTO, "signature s is zero");
    if (memcmp(s, half_n, 32) > 0)
        return ferry_fail(FERRY_ECRYPTO, "signature s is above n/2 (high-s signatures are invalid since EIP-2)");
    return FERRY_OK;
}

/* What a field list is for: the payload that gets signed, or the signed transaction. */
enum form { FORM_SIGNING, FORM_SIGNED };

/* Every field list is walked twice, once to size it and once to write it, by the same code:
 * with enc NULL the sink only adds up encoded sizes. */
struct sink {
    struct rlp_enc *enc;
    size_t size;
};

static void put_u64(struct sink *k, uint64_t v)
{
    if (k->enc)
        rlp_put_u64(k->enc, v);
    else
        k->size += rlp_size_u64(v);
}

static void put_u256(struct sink *k, u256 v)
{
    if (k->enc)
        rlp_put_u256(k->enc, v);
    else
        k->size += rlp_size_u256(v);
}

static void put_bytes(struct sink *k, const uint8_t *p, size_t n)
{
    if (k->enc)
        rlp_put_bytes(k->enc, p, n);
    else
        k->size += rlp_size_bytes(p, n);
}

static void put_empty_list(struct sink *k)
{
    if (k->enc)
        rlp_list_header(k->enc, 0);
    else
        k->size += rlp_size_list(0);
}

static void put_to(struct sink *k, const struct eth_tx *tx)
{
    put_bytes(k, tx->to, tx->create ? 0 : ADDRESS_LEN);
}

static void put_signature_int(struct sink *k, const uint8_t be[32]) { put_u256(k, u256_from_be32(be)); }

static void fields(struct sink *k, const struct eth_tx *tx, enum form form)
{
    if (tx->type == ETH_TX_LEGACY) {
        put_u64(k, tx->nonce);
        put_u256(k, tx->gas_price);
        put_u64(k, tx->gas_limit);
        put_to(k, tx);
        put_u256(k, tx->value);
        put_bytes(k, tx->data, tx->data_len);
        if (form == FORM_SIGNING) {
            if (tx->chain_id) { /* EIP-155; without a chain id it is the original six fields */
                put_u64(k, tx->chain_id);
                put_u64(k, 0);
                put_u64(k, 0);
            }
        } else {
            /* v = 35 + 2 * chainId + recid can pass 64 bits, so it is computed in 256. */
            u256 v = u256_from_u64(27u + tx->y_parity);
            if (tx->chain_id) {
                (void)u256_add(&v, u256_shl(u256_from_u64(tx->chain_id), 1), u256_from_u64(35u + tx->y_parity));
            }
            put_u256(k, v);
            put_signature_int(k, tx->r);
            put_signature_int(k, tx->s);
        }
        return;
    }
    put_u64(k, tx->chain_id);
    put_u64(k, tx->nonce);
    put_u256(k, tx->max_priority_fee_per_gas);
    put_u256(k, tx->max_fee_per_gas);
    put_u64(k, tx->gas_limit);
    put_to(k, tx);
    put_u256(k, tx->value);
    put_bytes(k, tx->data, tx->data_len);
    put_empty_list(k);
    if (form == FORM_SIGNED) {
        put_u64(k, tx->y_parity);
        put_signature_int(k, tx->r);
        put_signature_int(k, tx->s);
    }
}

/* Writes the whole encoding (type byte, list header, fields) to an encoder. */
static enum ferry_err encode(struct rlp_enc *e, const struct eth_tx *tx, enum form form)
{
    struct sink size = {NULL, 0}, out = {e, 0};
    fields(&size, tx, form);
    if (tx->type == ETH_TX_1559) {
        uint8_t type = ETH_TX_1559;
        rlp_put_raw(e, &type, 1);
    }
    rlp_list_header(e, size.size);
    fields(&out, tx, form);
    return rlp_enc_finish(e);
}

static enum ferry_err check_type(const struct eth_tx *tx)
{
    if (tx->type != ETH_TX_LEGACY && tx->type != ETH_TX_1559)
        return ferry_fail(FERRY_EUNSUPPORTED, "tx: type %d is not supported (legacy and type 2 only)", (int)tx->type);
    if (tx->data_len && !tx->data)
        return ferry_fail(FERRY_EINVAL, "tx: data_len is %zu but data is NULL", tx->data_len);
    return FERRY_OK;
}

/* The signing hash without the policy checks, for recovering senders of decoded transactions. */
static enum ferry_err signing_hash(const struct eth_tx *tx, uint8_t hash[32])
{
    struct keccak_ctx k;
    struct rlp_enc e;
    keccak256_init(&k);
    rlp_enc_init_hash(&e, &k);
    enum ferry_err err = encode(&e, tx, FORM_SIGNING);
    keccak256_final(&k, hash);
    return err;
}

enum ferry_err eth_tx_signing_hash(const struct eth_tx *tx, uint8_t hash[32])
{
    memset(hash, 0, 32);
    enum ferry_err err = check_type(tx);
    if (err)
        return err;
    if (tx->type == ETH_TX_LEGACY && tx->chain_id == 0)
        return ferry_fail(FERRY_EINVAL, "tx: a legacy transaction needs a chain id (EIP-155), or it can be replayed on any chain");
    if (tx->type == ETH_TX_1559 && u256_cmp(tx->max_priority_fee_per_gas, tx->max_fee_per_gas) > 0) {
        char tip[U256_DEC_MAX], cap[U256_DEC_MAX];
        u256_to_dec(tip, tx->max_priority_fee_per_gas);
        u256_to_dec(cap, tx->max_fee_per_gas);
        return ferry_fail(FERRY_EINVAL, "tx: maxPriorityFeePerGas %s exceeds maxFeePerGas %s", tip, cap);
    }
    err = signing_hash(tx, hash);
    if (err)
        memset(hash, 0, 32);
    return err;
}

enum ferry_err eth_tx_set_signature(struct eth_tx *tx, const uint8_t sig[ETH_TX_SIG_LEN])
{
    enum ferry_err err = check_signature(sig, sig + 32, sig[64]);
    if (err)
        return ferry_fail_ctx(err, "tx");
    memcpy(tx->r, sig, 32);
    memcpy(tx->s, sig + 32, 32);
    tx->y_parity = sig[64];
    tx->is_signed = true;
    return FERRY_OK;
}

static enum ferry_err check_signed(const struct eth_tx *tx)
{
    enum ferry_err err = check_type(tx);
    if (err)
        return err;
    if (!tx->is_signed)
        return ferry_fail(FERRY_ESTATE, "tx: not signed yet (attach a signature with eth_tx_set_signature)");
    err = check_signature(tx->r, tx->s, tx->y_parity);
    return err ? ferry_fail_ctx(err, "tx") : FERRY_OK;
}

enum ferry_err eth_tx_serialize(const struct eth_tx *tx, struct fbuf *out)
{
    enum ferry_err err = check_signed(tx);
    if (err)
        return err;
    struct rlp_enc e;
    rlp_enc_init_buf(&e, out);
    err = encode(&e, tx, FORM_SIGNED);
    return err ? ferry_fail_ctx(err, "tx: serialize") : FERRY_OK;
}

enum ferry_err eth_tx_hash(const struct eth_tx *tx, uint8_t hash[32])
{
    memset(hash, 0, 32);
    enum ferry_err err = check_signed(tx);
    if (err)
        return err;
    struct keccak_ctx k;
    struct rlp_enc e;
    keccak256_init(&k);
    rlp_enc_init_hash(&e, &k);
    err = encode(&e, tx, FORM_SIGNED);
    keccak256_final(&k, hash);
    if (err)
        memset(hash, 0, 32);
    return err;
}

enum ferry_err eth_tx_sender(const struct eth_tx *tx, uint8_t addr[ADDRESS_LEN])
{
    memset(addr, 0, ADDRESS_LEN);
    enum ferry_err err = check_signed(tx);
    if (err)
        return err;
    uint8_t hash[32], compact[64], pub[65];
    err = signing_hash(tx, hash);
    if (err)
        return err;
    memcpy(compact, tx->r, 32);
    memcpy(compact + 32, tx->s, 32);
    secp256k1_ecdsa_recoverable_signature sig;
    secp256k1_pubkey pk;
    size_t publen = sizeof pub;
    /* The static context is enough for parsing and recovery, which use no secret. */
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(secp256k1_context_static, &sig, compact, tx->y_parity) ||
        !secp256k1_ecdsa_recover(secp256k1_context_static, &pk, &sig, hash) ||
        !secp256k1_ec_pubkey_serialize(secp256k1_context_static, pub, &publen, &pk, SECP256K1_EC_UNCOMPRESSED))
        return ferry_fail(FERRY_ECRYPTO, "tx: no public key recovers from this signature");
    address_from_pubkey(addr, pub + 1);
    return FERRY_OK;
}

/* ---- decoding ---- */

static enum ferry_err field_u64(const struct rlp_item *it, uint64_t *out, const char *name)
{
    enum ferry_err err = rlp_get_u64(it, out);
    return err ? ferry_fail_ctx(err, "%s", name) : FERRY_OK;
}

static enum ferry_err field_u256(const struct rlp_item *it, u256 *out, const char *name)
{
    enum ferry_err err = rlp_get_u256(it, out);
    return err ? ferry_fail_ctx(err, "%s", name) : FERRY_OK;
}

static enum ferry_err field_to(const struct rlp_item *it, struct eth_tx *tx)
{
    const uint8_t *p;
    size_t n;
    enum ferry_err err = rlp_get_bytes(it, &p, &n);
    if (err)
        return ferry_fail_ctx(err, "to");
    if (n == 0) {
        tx->create = true;
        return FERRY_OK;
    }
    if (n != ADDRESS_LEN)
        return ferry_fail(FERRY_EINVAL, "to: expected 20 bytes or empty (contract creation), got %zu at offset %zu",
                          n, it->off);
    memcpy(tx->to, p, ADDRESS_LEN);
    return FERRY_OK;
}

static enum ferry_err field_data(const struct rlp_item *it, struct eth_tx *tx)
{
    enum ferry_err err = rlp_get_bytes(it, &tx->data, &tx->data_len);
    return err ? ferry_fail_ctx(err, "data") : FERRY_OK;
}

static enum ferry_err field_rs(const struct rlp_item *r_it, const struct rlp_item *s_it, struct eth_tx *tx)
{
    u256 r, s;
    enum ferry_err err = field_u256(r_it, &r, "r");
    if (!err)
        err = field_u256(s_it, &s, "s");
    if (err)
        return err;
    u256_to_be(tx->r, r);
    u256_to_be(tx->s, s);
    return check_signature(tx->r, tx->s, tx->y_parity);
}

static enum ferry_err decode_legacy(struct eth_tx *tx, const struct rlp_item *f)
{
    enum ferry_err err;
    u256 v;
    tx->type = ETH_TX_LEGACY;
    if ((err = field_u64(&f[0], &tx->nonce, "nonce")) || (err = field_u256(&f[1], &tx->gas_price, "gasPrice")) ||
        (err = field_u64(&f[2], &tx->gas_limit, "gas")) || (err = field_to(&f[3], tx)) ||
        (err = field_u256(&f[4], &tx->value, "value")) || (err = field_data(&f[5], tx)) ||
        (err = field_u256(&f[6], &v, "v")))
        return err;
    if (u256_fits_u64(v) && (v.w[0] == 27 || v.w[0] == 28)) {
        tx->chain_id = 0; /* before EIP-155 */
        tx->y_parity = (uint8_t)(v.w[0] - 27);
    } else if (u256_cmp(v, u256_from_u64(35)) >= 0) {
        u256 c;
        (void)u256_sub(&c, v, u256_from_u64(35));
        tx->y_parity = (uint8_t)(c.w[0] & 1);
        c = u256_shr(c, 1);
        if (!u256_fits_u64(c))
            return ferry_fail(FERRY_EUNSUPPORTED, "v at offset %zu gives a chain id beyond 64 bits", f[6].off);
        /* Chain id 0 would re-encode as v = 27/28: two encodings of one transaction. */
        if (c.w[0] == 0)
            return ferry_fail(FERRY_EINVAL, "v = %llu at offset %zu gives chain id 0, which EIP-155 does not allow",
                              (unsigned long long)v.w[0], f[6].off);
        tx->chain_id = c.w[0];
    } else {
        return ferry_fail(FERRY_EINVAL, "v = %llu at offset %zu is neither 27/28 nor 35 + 2 * chainId + {0,1}",
                          (unsigned long long)v.w[0], f[6].off);
    }
    return field_rs(&f[7], &f[8], tx);
}

static enum ferry_err decode_1559(struct eth_tx *tx, const struct rlp_item *f)
{
    enum ferry_err err;
    uint64_t parity;
    tx->type = ETH_TX_1559;
    if ((err = field_u64(&f[0], &tx->chain_id, "chainId")) || (err = field_u64(&f[1], &tx->nonce, "nonce")) ||
        (err = field_u256(&f[2], &tx->max_priority_fee_per_gas, "maxPriorityFeePerGas")) ||
        (err = field_u256(&f[3], &tx->max_fee_per_gas, "maxFeePerGas")) ||
        (err = field_u64(&f[4], &tx->gas_limit, "gas")) || (err = field_to(&f[5], tx)) ||
        (err = field_u256(&f[6], &tx->value, "value")) || (err = field_data(&f[7], tx)) ||
        (err = field_u64(&f[9], &parity, "yParity")))
        return err;
    if (f[8].kind != RLP_LIST)
        return ferry_fail(FERRY_EINVAL, "accessList at offset %zu is not a list", f[8].off);
    if (f[8].len != 0)
        return ferry_fail(FERRY_EUNSUPPORTED, "accessList at offset %zu has entries; only empty access lists are supported",
                          f[8].off);
    if (parity > 1)
        return ferry_fail(FERRY_EINVAL, "yParity at offset %zu is %llu, not 0 or 1", f[9].off,
                          (unsigned long long)parity);
    tx->y_parity = (uint8_t)parity;
    return field_rs(&f[10], &f[11], tx);
}

enum ferry_err eth_tx_decode(struct eth_tx *tx, const uint8_t *raw, size_t n)
{
    memset(tx, 0, sizeof *tx);
    if (n == 0)
        return ferry_fail(FERRY_EINVAL, "tx: empty input");
    size_t skip = 0, want;
    const char *kind;
    if (raw[0] >= 0xc0) {
        want = 9;
        kind = "legacy";
    } else if (raw[0] == ETH_TX_1559) {
        skip = 1;
        want = 12;
        kind = "type 2";
    } else if (raw[0] < 0x80) {
        return ferry_fail(FERRY_EUNSUPPORTED, "tx: type %u transactions are not supported (legacy and type 2 only)", raw[0]);
    } else {
        return ferry_fail(FERRY_EINVAL, "tx: starts with 0x%02x, neither a type byte nor an RLP list", raw[0]);
    }
    struct rlp_item top, f[12];
    size_t count;
    enum ferry_err err = rlp_decode_at(&top, raw + skip, n - skip, skip);
    if (!err)
        err = rlp_list_items(&top, f, want, &count);
    if (!err && count != want)
        err = ferry_fail(FERRY_EINVAL, "%zu fields, expected %zu", count, want);
    if (!err)
        err = want == 9 ? decode_legacy(tx, f) : decode_1559(tx, f);
    if (err) {
        memset(tx, 0, sizeof *tx);
        return ferry_fail_ctx(err, "tx: %s", kind);
    }
    tx->is_signed = true;
    return FERRY_OK;
}
