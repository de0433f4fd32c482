#include <stdio.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "ferry/address.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"
#include "ferry/rlp.h"
#include "ferry/tx.h"
#include "testutil.h"

/* Tests sign with libsecp256k1 directly; in the daemon the signer module does it. */
static secp256k1_context *ctx;

static void sign_digest(uint8_t sig[ETH_TX_SIG_LEN], const uint8_t key[32], const uint8_t digest[32])
{
    secp256k1_ecdsa_recoverable_signature s;
    int recid;
    assert_int_equal(secp256k1_ecdsa_sign_recoverable(ctx, &s, digest, key, NULL, NULL), 1);
    assert_int_equal(secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig, &recid, &s), 1);
    sig[64] = (uint8_t)recid;
}

static void key_address(uint8_t addr[ADDRESS_LEN], const uint8_t key[32])
{
    secp256k1_pubkey pk;
    uint8_t pub[65];
    size_t n = sizeof pub;
    assert_int_equal(secp256k1_ec_pubkey_create(ctx, &pk, key), 1);
    assert_int_equal(secp256k1_ec_pubkey_serialize(ctx, pub, &n, &pk, SECP256K1_EC_UNCOMPRESSED), 1);
    address_from_pubkey(addr, pub + 1);
}

static uint64_t u64_field(const cJSON *v, const char *name)
{
    const char *s = cJSON_GetObjectItem(v, name)->valuestring;
    u256 x;
    assert_int_equal(u256_from_dec(&x, s), FERRY_OK);
    assert_true(u256_fits_u64(x));
    return x.w[0];
}

static u256 u256_field(const cJSON *v, const char *name)
{
    u256 x;
    assert_int_equal(u256_from_dec(&x, cJSON_GetObjectItem(v, name)->valuestring), FERRY_OK);
    return x;
}

static void assert_same_tx(const struct eth_tx *a, const struct eth_tx *b)
{
    assert_int_equal(a->type, b->type);
    assert_true(a->chain_id == b->chain_id);
    assert_true(a->nonce == b->nonce);
    assert_true(a->gas_limit == b->gas_limit);
    assert_int_equal(a->create, b->create);
    if (!a->create)
        assert_memory_equal(a->to, b->to, ADDRESS_LEN);
    assert_int_equal(u256_cmp(a->value, b->value), 0);
    assert_int_equal(a->data_len, b->data_len);
    if (a->data_len)
        assert_memory_equal(a->data, b->data, a->data_len);
    if (a->type == ETH_TX_LEGACY) {
        assert_int_equal(u256_cmp(a->gas_price, b->gas_price), 0);
    } else {
        assert_int_equal(u256_cmp(a->max_fee_per_gas, b->max_fee_per_gas), 0);
        assert_int_equal(u256_cmp(a->max_priority_fee_per_gas, b->max_priority_fee_per_gas), 0);
    }
    assert_int_equal(a->is_signed, b->is_signed);
    assert_memory_equal(a->r, b->r, 32);
    assert_memory_equal(a->s, b->s, 32);
    assert_int_equal(a->y_parity, b->y_parity);
}

static void cast_vectors(void **state)
{
    cJSON *root = tu_load_vectors("tx.json");
    const cJSON *v;
    int count = 0, legacy = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(root, "vectors"))
    {
        struct eth_tx tx = {0};
        const char *type = cJSON_GetObjectItem(v, "type")->valuestring;
        tx.type = strcmp(type, "legacy") == 0 ? ETH_TX_LEGACY : ETH_TX_1559;
        legacy += tx.type == ETH_TX_LEGACY;
        tx.chain_id = u64_field(v, "chain_id");
        tx.nonce = u64_field(v, "nonce");
        tx.gas_limit = u64_field(v, "gas_limit");
        if (tx.type == ETH_TX_LEGACY) {
            tx.gas_price = u256_field(v, "fee");
        } else {
            tx.max_fee_per_gas = u256_field(v, "fee");
            tx.max_priority_fee_per_gas = u256_field(v, "tip");
        }
        const cJSON *to = cJSON_GetObjectItem(v, "to");
        tx.create = cJSON_IsNull(to);
        if (!tx.create)
            assert_int_equal(address_parse(tx.to, to->valuestring), FERRY_OK);
        tx.value = u256_field(v, "value");
        uint8_t *data = tu_unhex(cJSON_GetObjectItem(v, "data")->valuestring, &tx.data_len);
        tx.data = data;

        size_t keylen;
        uint8_t *key = tu_unhex(cJSON_GetObjectItem(v, "key")->valuestring, &keylen);
        assert_int_equal(keylen, 32);
        uint8_t digest[32], sig[ETH_TX_SIG_LEN];
        assert_int_equal(eth_tx_signing_hash(&tx, digest), FERRY_OK);
        sign_digest(sig, key, digest);
        assert_int_equal(eth_tx_set_signature(&tx, sig), FERRY_OK);

        /* RFC 6979 is deterministic: the same key and digest give cast's exact bytes. */
        const char *raw_hex = cJSON_GetObjectItem(v, "raw")->valuestring;
        struct fbuf out;
        fbuf_init(&out, 1 << 16);
        assert_int_equal(eth_tx_serialize(&tx, &out), FERRY_OK);
        tu_assert_hex_equal(out.data, out.len, raw_hex);

        uint8_t hash[32];
        assert_int_equal(eth_tx_hash(&tx, hash), FERRY_OK);
        tu_assert_hex_equal(hash, 32, cJSON_GetObjectItem(v, "hash")->valuestring);
        uint8_t r_be[32];
        assert_int_equal(hex_decode_exact(r_be, 32, cJSON_GetObjectItem(v, "r")->valuestring, HEX_PREFIX_REQUIRED),
                         FERRY_OK);
        assert_memory_equal(r_be, tx.r, 32);

        /* Decoding cast's bytes gives the same transaction and the signer cast reports. */
        size_t raw_n;
        uint8_t *raw = tu_unhex(raw_hex, &raw_n);
        struct eth_tx back;
        assert_int_equal(eth_tx_decode(&back, raw, raw_n), FERRY_OK);
        assert_same_tx(&tx, &back);
        uint8_t sender[ADDRESS_LEN], want[ADDRESS_LEN];
        assert_int_equal(eth_tx_sender(&back, sender), FERRY_OK);
        assert_int_equal(address_parse(want, cJSON_GetObjectItem(v, "signer")->valuestring), FERRY_OK);
        assert_memory_equal(sender, want, ADDRESS_LEN);
        key_address(want, key);
        assert_memory_equal(sender, want, ADDRESS_LEN);

        /* Serializing into a buffer that already holds bytes appends. */
        fbuf_reset(&out);
        assert_int_equal(fbuf_add(&out, "x", 1), FERRY_OK);
        assert_int_equal(eth_tx_serialize(&back, &out), FERRY_OK);
        assert_int_equal(out.len, raw_n + 1);
        assert_memory_equal(out.data + 1, raw, raw_n);

        fbuf_free(&out);
        free(raw);
        free(key);
        free(data);
        count++;
    }
    assert_true(count >= 10);
    assert_true(legacy >= 4 && count - legacy >= 4);
    cJSON_Delete(root);
}

/* EIP-155's worked example, from the EIP text. */
static void eip155_example(void **state)
{
    struct eth_tx tx = {
        .type = ETH_TX_LEGACY,
        .chain_id = 1,
        .nonce = 9,
        .gas_limit = 21000,
        .gas_price = u256_from_u64(20000000000ULL),
        .value = u256_from_u64(1000000000000000000ULL),
    };
    memset(tx.to, 0x35, ADDRESS_LEN);
    uint8_t key[32], digest[32], sig[ETH_TX_SIG_LEN];
    memset(key, 0x46, sizeof key);

    /* The published signing data hashes to the published signing hash, and so does ours. */
    size_t n;
    uint8_t *payload = tu_unhex("0xec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080", &n);
    keccak256(digest, payload, n);
    tu_assert_hex_equal(digest, 32, "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
    free(payload);
    assert_int_equal(eth_tx_signing_hash(&tx, digest), FERRY_OK);
    tu_assert_hex_equal(digest, 32, "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");

    sign_digest(sig, key, digest);
    assert_int_equal(eth_tx_set_signature(&tx, sig), FERRY_OK);
    struct fbuf out;
    fbuf_init(&out, 1024);
    assert_int_equal(eth_tx_serialize(&tx, &out), FERRY_OK);
    const char *signed_hex = "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a7640000"
                             "8025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f76"
                             "1aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83";
    tu_assert_hex_equal(out.data, out.len, signed_hex);

    struct eth_tx back;
    assert_int_equal(eth_tx_decode(&back, out.data, out.len), FERRY_OK);
    assert_true(back.chain_id == 1);
    assert_int_equal(back.y_parity, 0); /* v = 37 */
    uint8_t sender[ADDRESS_LEN], want[ADDRESS_LEN];
    assert_int_equal(eth_tx_sender(&back, sender), FERRY_OK);
    key_address(want, key);
    assert_memory_equal(sender, want, ADDRESS_LEN);
    /* The EIP names the sender: 0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F. */
    assert_int_equal(address_parse(want, "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F"), FERRY_OK);
    assert_memory_equal(sender, want, ADDRESS_LEN);
    fbuf_free(&out);
}

/* Builds a raw transaction from RLP items given in hex (type 0 = legacy, no type byte). */
static uint8_t *build_raw(uint8_t type, const char *const *items, size_t count, size_t *len)
{
    struct fbuf out;
    fbuf_init(&out, 1 << 16);
    if (type)
        assert_int_equal(fbuf_addbyte(&out, type), FERRY_OK);
    struct rlp_enc e;
    rlp_enc_init_buf(&e, &out);
    rlp_list_begin(&e);
    for (size_t i = 0; i < count; i++) {
        size_t n;
        uint8_t *b = tu_unhex(items[i], &n);
        rlp_put_raw(&e, b, n);
        free(b);
    }
    rlp_list_end(&e);
    assert_int_equal(rlp_enc_finish(&e), FERRY_OK);
    return fbuf_take(&out, len);
}

#define R32 "a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276"
#define S32 "a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
#define TO "943535353535353535353535353535353535353535"

static void expect_decode_error(uint8_t type, const char *const *items, size_t count, enum ferry_err want,
                                const char *msg)
{
    size_t n;
    uint8_t *raw = build_raw(type, items, count, &n);
    struct eth_tx tx;
    memset(&tx, 0xee, sizeof tx);
    enum ferry_err err = eth_tx_decode(&tx, raw, n);
    if (err != want || !strstr(ferry_errmsg(), msg))
        fail_msg("got %d \"%s\", expected %d with \"%s\"", err, ferry_errmsg(), want, msg);
    /* A failed decode leaves nothing half-filled. */
    struct eth_tx zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&tx, &zero, sizeof tx);
    free(raw);
}

static void decode_is_strict(void **state)
{
    /* The EIP-155 example, field by field, is valid as it stands. */
    const char *ok[] = {"09", "8504a817c800", "825208", TO, "880de0b6b3a7640000", "80", "25", R32, S32};
    size_t n;
    uint8_t *raw = build_raw(0, ok, 9, &n);
    struct eth_tx tx;
    assert_int_equal(eth_tx_decode(&tx, raw, n), FERRY_OK);

    /* Trailing bytes, truncation at every length, and an empty input. */
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, raw, n);
    longer[n] = 0;
    assert_int_equal(eth_tx_decode(&tx, longer, n + 1), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "after the top item"));
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(eth_tx_decode(&tx, raw, i), FERRY_OK);
    free(longer);
    free(raw);

    const char *lead0[] = {"820009", "8504a817c800", "825208", TO, "880de0b6b3a7640000", "80", "25", R32, S32};
    expect_decode_error(0, lead0, 9, FERRY_EINVAL, "tx: legacy: nonce: rlp: leading zero in integer at offset 2");
    const char *zero_byte[] = {"00", "8504a817c800", "825208", TO, "880de0b6b3a7640000", "80", "25", R32, S32};
    expect_decode_error(0, zero_byte, 9, FERRY_EINVAL, "nonce: rlp: leading zero");
    const char *gas_list[] = {"09", "8504a817c800", "c0", TO, "880de0b6b3a7640000", "80", "25", R32, S32};
    expect_decode_error(0, gas_list, 9, FERRY_EINVAL, "gas: rlp: expected an integer");
    const char *short_to[] = {"09", "8504a817c800", "825208", "9335353535353535353535353535353535353535",
                              "880de0b6b3a7640000", "80", "25", R32, S32};
    expect_decode_error(0, short_to, 9, FERRY_EINVAL, "to: expected 20 bytes or empty");
    expect_decode_error(0, ok, 8, FERRY_EINVAL, "8 fields, expected 9");
    const char *ten[] = {"09", "8504a817c800", "825208", TO, "880de0b6b3a7640000", "80", "25", R32, S32, "80"};
    expect_decode_error(0, ten, 10, FERRY_EINVAL, "more than 9 items");
    const char *v26[] = {"09", "8504a817c800", "825208", TO, "880de0b6b3a7640000", "80", "1a", R32, S32};
    expect_decode_error(0, v26, 9, FERRY_EINVAL, "v = 26");
    const char *v34[] = {"09", "8504a817c800", "825208", TO, "880de0b6b3a7640000", "80", "22", R32, S32};
    expect_decode_error(0, v34, 9, FERRY_EINVAL, "v = 34");
    const char *v36[] = {"09", "8504a817c800", "825208", TO, "880de0b6b3a7640000", "80", "24", R32, S32};
    expect_decode_error(0, v36, 9, FERRY_EINVAL, "gives chain id 0");
    const char *big_v[] = {"09",  "8504a817c800", "825208", TO, "880de0b6b3a7640000", "80", "89ff0000000000000023",
                           R32, S32};
    expect_decode_error(0, big_v, 9, FERRY_EUNSUPPORTED, "beyond 64 bits");
    const char *r0[] = {"09", "8504a817c800", "825208", TO, "880de0b6b3a7640000", "80", "25", "80", S32};
    expect_decode_error(0, r0, 9, FERRY_ECRYPTO, "signature r is zero");
    /* s replaced by n - s: the same signature in its high-s form, which Ethereum refuses. */
    const char *high_s[] = {"09", "8504a817c800", "825208", TO, "880de0b6b3a7640000", "80", "26", R32,
                            "a098341627668089e51348fccfb4c7ff31c55912f2d2e47ef09652acf665fad3be"};
    expect_decode_error(0, high_s, 9, FERRY_ECRYPTO, "above n/2");
    const char *s_leading0[] = {"09", "8504a817c800", "825208", TO, "880de0b6b3a7640000", "80", "25", R32,
                                "a10067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"};
    expect_decode_error(0, s_leading0, 9, FERRY_EINVAL, "s: rlp: leading zero");

    /* Type 2: chainId, nonce, tip, maxFee, gas, to, value, data, accessList, yParity, r, s. */
    const char *t2[] = {"01", "80", "80", "01", "825208", TO, "80", "80", "c0", "80", R32, S32};
    raw = build_raw(2, t2, 12, &n);
    assert_int_equal(eth_tx_decode(&tx, raw, n), FERRY_OK);
    assert_int_equal(tx.type, ETH_TX_1559);
    free(raw);
    /* Offsets count from the start of the raw transaction, type byte included. */
    const char *t2_nonce[] = {"01", "820001", "80", "01", "825208", TO, "80", "80", "c0", "80", R32, S32};
    expect_decode_error(2, t2_nonce, 12, FERRY_EINVAL, "tx: type 2: nonce: rlp: leading zero in integer at offset 4");
    const char *t2_access[] = {"01", "80", "80", "01", "825208", TO, "80", "80", "d7d6" TO "c0", "80", R32, S32};
    expect_decode_error(2, t2_access, 12, FERRY_EUNSUPPORTED, "only empty access lists");
    const char *t2_access_str[] = {"01", "80", "80", "01", "825208", TO, "80", "80", "80", "80", R32, S32};
    expect_decode_error(2, t2_access_str, 12, FERRY_EINVAL, "accessList at offset");
    const char *t2_parity[] = {"01", "80", "80", "01", "825208", TO, "80", "80", "c0", "02", R32, S32};
    expect_decode_error(2, t2_parity, 12, FERRY_EINVAL, "yParity at offset");
    const char *t2_chain[] = {"89010000000000000000", "80", "80", "01", "825208", TO, "80", "80", "c0", "80", R32, S32};
    expect_decode_error(2, t2_chain, 12, FERRY_ERANGE, "chainId: rlp: integer of 9 bytes");
    expect_decode_error(2, t2, 11, FERRY_EINVAL, "11 fields, expected 12");
    /* A legacy field list behind a type byte, and a type 2 list without one. */
    expect_decode_error(2, ok, 9, FERRY_EINVAL, "9 fields, expected 12");
    expect_decode_error(0, t2, 12, FERRY_EINVAL, "more than 9 items");

    /* Other types are refused by name; a string is not a transaction. */
    const uint8_t type1[] = {0x01, 0xc0}, type3[] = {0x03, 0xc0}, str[] = {0x82, 0x01, 0x02};
    assert_int_equal(eth_tx_decode(&tx, type1, sizeof type1), FERRY_EUNSUPPORTED);
    assert_non_null(strstr(ferry_errmsg(), "type 1"));
    assert_int_equal(eth_tx_decode(&tx, type3, sizeof type3), FERRY_EUNSUPPORTED);
    assert_int_equal(eth_tx_decode(&tx, str, sizeof str), FERRY_EINVAL);
    assert_int_equal(eth_tx_decode(&tx, str, 0), FERRY_EINVAL);
}

static void builder_policy(void **state)
{
    struct eth_tx tx = {.type = ETH_TX_LEGACY, .chain_id = 0, .gas_limit = 21000};
    uint8_t digest[32], sig[ETH_TX_SIG_LEN];
    assert_int_equal(eth_tx_signing_hash(&tx, digest), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "replayed"));

    tx = (struct eth_tx){.type = ETH_TX_1559, .chain_id = 1, .gas_limit = 21000,
                         .max_priority_fee_per_gas = u256_from_u64(3), .max_fee_per_gas = u256_from_u64(2)};
    assert_int_equal(eth_tx_signing_hash(&tx, digest), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "maxPriorityFeePerGas 3 exceeds maxFeePerGas 2"));
    tx.max_fee_per_gas = u256_from_u64(3);
    assert_int_equal(eth_tx_signing_hash(&tx, digest), FERRY_OK);

    /* Not signed yet. */
    struct fbuf out;
    fbuf_init(&out, 1024);
    assert_int_equal(eth_tx_serialize(&tx, &out), FERRY_ESTATE);
    assert_int_equal(eth_tx_hash(&tx, digest), FERRY_ESTATE);
    uint8_t addr[ADDRESS_LEN];
    assert_int_equal(eth_tx_sender(&tx, addr), FERRY_ESTATE);

    /* Bad signatures are refused and leave the transaction as it was. */
    uint8_t key[32];
    memset(key, 0x11, sizeof key);
    assert_int_equal(eth_tx_signing_hash(&tx, digest), FERRY_OK);
    sign_digest(sig, key, digest);
    struct eth_tx before = tx;
    uint8_t bad[ETH_TX_SIG_LEN];
    memcpy(bad, sig, sizeof bad);
    bad[64] = 2;
    assert_int_equal(eth_tx_set_signature(&tx, bad), FERRY_EINVAL);
    memcpy(bad, sig, sizeof bad);
    memset(bad + 32, 0xff, 32); /* s = 2^256 - 1: high */
    assert_int_equal(eth_tx_set_signature(&tx, bad), FERRY_ECRYPTO);
    memset(bad, 0, 32); /* r = 0 */
    memcpy(bad + 32, sig + 32, 32);
    assert_int_equal(eth_tx_set_signature(&tx, bad), FERRY_ECRYPTO);
    assert_memory_equal(&tx, &before, sizeof tx);

    assert_int_equal(eth_tx_set_signature(&tx, sig), FERRY_OK);
    assert_int_equal(eth_tx_sender(&tx, addr), FERRY_OK);
    uint8_t want[ADDRESS_LEN];
    key_address(want, key);
    assert_memory_equal(addr, want, ADDRESS_LEN);
    /* A signature over another digest recovers someone else. */
    tx.nonce = 1;
    assert_int_equal(eth_tx_sender(&tx, addr), FERRY_OK);
    assert_memory_not_equal(addr, want, ADDRESS_LEN);

    /* A buffer cap too small fails cleanly. */
    struct fbuf tiny;
    fbuf_init(&tiny, 10);
    assert_int_equal(eth_tx_serialize(&tx, &tiny), FERRY_ENOMEM);
    assert_int_equal(tiny.len, 0);
    fbuf_free(&tiny);
    tx.type = (enum eth_tx_type)1;
    assert_int_equal(eth_tx_signing_hash(&tx, digest), FERRY_EUNSUPPORTED);
    fbuf_free(&out);
}

/* A pre-EIP-155 transaction (v = 27/28) still decodes and its sender still recovers. */
static void pre_eip155_decodes(void **state)
{
    uint8_t key[32], digest[32], sig[ETH_TX_SIG_LEN];
    memset(key, 0x22, sizeof key);
    struct fbuf payload;
    fbuf_init(&payload, 1024);
    struct rlp_enc e;
    uint8_t to[ADDRESS_LEN];
    memset(to, 0x35, sizeof to);
    rlp_enc_init_buf(&e, &payload);
    rlp_list_begin(&e);
    rlp_put_u64(&e, 5);
    rlp_put_u64(&e, 1000000000);
    rlp_put_u64(&e, 21000);
    rlp_put_bytes(&e, to, sizeof to);
    rlp_put_u64(&e, 1);
    rlp_put_bytes(&e, NULL, 0);
    rlp_list_end(&e);
    assert_int_equal(rlp_enc_finish(&e), FERRY_OK);
    keccak256(digest, payload.data, payload.len);
    sign_digest(sig, key, digest);

    struct fbuf raw;
    fbuf_init(&raw, 1024);
    rlp_enc_init_buf(&e, &raw);
    rlp_list_begin(&e);
    rlp_put_raw(&e, payload.data + 1, payload.len - 1); /* the six fields, without their list prefix */
    rlp_put_u64(&e, 27u + sig[64]);
    rlp_put_u256(&e, u256_from_be32(sig));
    rlp_put_u256(&e, u256_from_be32(sig + 32));
    rlp_list_end(&e);
    assert_int_equal(rlp_enc_finish(&e), FERRY_OK);
    assert_true(payload.len < 56); /* so the list prefix above was one byte */

    struct eth_tx tx;
    assert_int_equal(eth_tx_decode(&tx, raw.data, raw.len), FERRY_OK);
    assert_true(tx.chain_id == 0);
    uint8_t addr[ADDRESS_LEN], want[ADDRESS_LEN];
    assert_int_equal(eth_tx_sender(&tx, addr), FERRY_OK);
    key_address(want, key);
    assert_memory_equal(addr, want, ADDRESS_LEN);
    struct fbuf again;
    fbuf_init(&again, 1024);
    assert_int_equal(eth_tx_serialize(&tx, &again), FERRY_OK);
    assert_int_equal(again.len, raw.len);
    assert_memory_equal(again.data, raw.data, raw.len);
    /* But Ferry will not sign one. */
    assert_int_equal(eth_tx_signing_hash(&tx, digest), FERRY_EINVAL);
    fbuf_free(&again);
    fbuf_free(&raw);
    fbuf_free(&payload);
}

static u256 rand_u256(void)
{
    uint8_t be[32];
    tu_rand_bytes(be, 32);
    return u256_shr(u256_from_be32(be), (unsigned)(tu_rand() % 257));
}

static void random_round_trips(void **state)
{
    static uint8_t data[600];
    for (int i = 0; i < 300; i++) {
        struct eth_tx tx = {0};
        tx.type = tu_rand() & 1 ? ETH_TX_1559 : ETH_TX_LEGACY;
        tx.chain_id = 1 + (tu_rand() >> (tu_rand() % 64)) / 2;
        tx.nonce = tu_rand() >> (tu_rand() % 64);
        tx.gas_limit = tu_rand() >> (tu_rand() % 64);
        tx.create = tu_rand() % 5 == 0;
        if (!tx.create)
            tu_rand_bytes(tx.to, ADDRESS_LEN);
        tx.value = rand_u256();
        tx.data_len = (size_t)(tu_rand() % 3 ? tu_rand() % 8 : tu_rand() % sizeof data);
        tu_rand_bytes(data, tx.data_len);
        tx.data = data;
        tx.gas_price = rand_u256();
        tx.max_fee_per_gas = rand_u256();
        tx.max_priority_fee_per_gas = u256_shr(tx.max_fee_per_gas, (unsigned)(tu_rand() % 257));
        if (tx.type == ETH_TX_1559)
            tx.gas_price = u256_from_u64(0);
        else
            tx.max_fee_per_gas = tx.max_priority_fee_per_gas = u256_from_u64(0);

        uint8_t key[32], digest[32], sig[ETH_TX_SIG_LEN];
        do
            tu_rand_bytes(key, sizeof key);
        while (!secp256k1_ec_seckey_verify(ctx, key));
        assert_int_equal(eth_tx_signing_hash(&tx, digest), FERRY_OK);
        sign_digest(sig, key, digest);
        assert_int_equal(eth_tx_set_signature(&tx, sig), FERRY_OK);
        struct fbuf out;
        fbuf_init(&out, 1 << 12);
        assert_int_equal(eth_tx_serialize(&tx, &out), FERRY_OK);
        uint8_t h1[32], h2[32];
        assert_int_equal(eth_tx_hash(&tx, h1), FERRY_OK);
        keccak256(h2, out.data, out.len);
        assert_memory_equal(h1, h2, 32);

        struct eth_tx back;
        assert_int_equal(eth_tx_decode(&back, out.data, out.len), FERRY_OK);
        assert_same_tx(&tx, &back);
        uint8_t addr[ADDRESS_LEN], want[ADDRESS_LEN];
        assert_int_equal(eth_tx_sender(&back, addr), FERRY_OK);
        key_address(want, key);
        assert_memory_equal(addr, want, ADDRESS_LEN);
        fbuf_free(&out);
    }
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cast_vectors),      cmocka_unit_test(eip155_example),
        cmocka_unit_test(decode_is_strict),  cmocka_unit_test(builder_policy),
        cmocka_unit_test(pre_eip155_decodes), cmocka_unit_test(random_round_trips),
    };
    int rc = TU_RUN(tests);
    secp256k1_context_destroy(ctx);
    return rc;
}
