/* Transactions signed through the signer (keys in guarded memory) give cast's exact bytes. */
#include "ferry/address.h"
#include "ferry/signer.h"
#include "ferry/tx_sign.h"
#include "ferry/u256.h"
#include "testutil.h"

#include <sodium.h>

static u256 dec(const cJSON *v, const char *name)
{
    u256 x;
    assert_int_equal(u256_from_dec(&x, cJSON_GetObjectItem(v, name)->valuestring), FERRY_OK);
    return x;
}

static void matches_cast(void **state)
{
    cJSON *root = tu_load_vectors("tx.json");
    const cJSON *v;
    int count = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(root, "vectors"))
    {
        struct signer *s;
        assert_int_equal(signer_new(&s), FERRY_OK);
        size_t keylen;
        uint8_t *key = tu_unhex(cJSON_GetObjectItem(v, "key")->valuestring, &keylen);
        assert_int_equal(signer_add_secret(s, "submitter", key), FERRY_OK);
        sodium_memzero(key, keylen);
        free(key);

        struct eth_tx tx = {0};
        tx.type = strcmp(cJSON_GetObjectItem(v, "type")->valuestring, "legacy") == 0 ? ETH_TX_LEGACY : ETH_TX_1559;
        tx.chain_id = dec(v, "chain_id").w[0];
        tx.nonce = dec(v, "nonce").w[0];
        tx.gas_limit = dec(v, "gas_limit").w[0];
        if (tx.type == ETH_TX_LEGACY) {
            tx.gas_price = dec(v, "fee");
        } else {
            tx.max_fee_per_gas = dec(v, "fee");
            tx.max_priority_fee_per_gas = dec(v, "tip");
        }
        const cJSON *to = cJSON_GetObjectItem(v, "to");
        tx.create = cJSON_IsNull(to);
        if (!tx.create)
            assert_int_equal(address_parse(tx.to, to->valuestring), FERRY_OK);
        tx.value = dec(v, "value");
        uint8_t *data = tu_unhex(cJSON_GetObjectItem(v, "data")->valuestring, &tx.data_len);
        tx.data = data;

        /* Strict mode and inside a signing window must give the same bytes. */
        for (int window = 0; window < 2; window++) {
            tx.is_signed = false;
            if (window)
                assert_int_equal(signer_open(s, "submitter"), FERRY_OK);
            assert_int_equal(eth_tx_sign(s, "submitter", &tx), FERRY_OK);
            if (window)
                assert_int_equal(signer_seal(s), FERRY_OK);
            struct fbuf out;
            fbuf_init(&out, 1 << 16);
            assert_int_equal(eth_tx_serialize(&tx, &out), FERRY_OK);
            tu_assert_hex_equal(out.data, out.len, cJSON_GetObjectItem(v, "raw")->valuestring);
            fbuf_free(&out);
        }
        uint8_t from[ADDRESS_LEN], want[ADDRESS_LEN];
        assert_int_equal(eth_tx_sender(&tx, from), FERRY_OK);
        assert_int_equal(address_parse(want, cJSON_GetObjectItem(v, "signer")->valuestring), FERRY_OK);
        assert_memory_equal(from, want, ADDRESS_LEN);
        free(data);
        signer_free(s);
        count++;
    }
    assert_true(count >= 10);
    cJSON_Delete(root);
}

static void unknown_key_and_bad_tx(void **state)
{
    struct signer *s;
    assert_int_equal(signer_new(&s), FERRY_OK);
    struct eth_tx tx = {.type = ETH_TX_LEGACY, .chain_id = 0, .gas_limit = 21000};
    uint8_t key[32];
    memset(key, 7, sizeof key);
    assert_int_equal(signer_add_secret(s, "k", key), FERRY_OK);
    /* A legacy transaction without a chain id could be replayed anywhere: refused before signing. */
    assert_int_not_equal(eth_tx_sign(s, "k", &tx), FERRY_OK);
    assert_false(tx.is_signed);
    tx.chain_id = 1;
    assert_int_equal(eth_tx_sign(s, "nope", &tx), FERRY_ENOTFOUND);
    assert_false(tx.is_signed);
    assert_int_equal(eth_tx_sign(s, "k", &tx), FERRY_OK);
    assert_true(tx.is_signed);
    signer_free(s);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_cast),
        cmocka_unit_test(unknown_key_and_bad_tx),
    };
    return TU_RUN(tests);
}
