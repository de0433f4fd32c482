#include "ferry/address.h"
#include "testutil.h"

/* The examples published in EIP-55. */
static const char *eip55[] = {
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    "0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26",
};

static void checksum_examples(void **state)
{
    for (size_t i = 0; i < sizeof eip55 / sizeof *eip55; i++) {
        uint8_t a[20];
        char back[ADDRESS_STR];
        assert_int_equal(address_parse(a, eip55[i]), FERRY_OK);
        address_to_checksum(back, a);
        assert_string_equal(back, eip55[i]);
    }
}

static void rejects(void **state)
{
    uint8_t a[20];
    /* One letter's case flipped: the checksum catches it. */
    assert_int_equal(address_parse(a, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "checksum"));
    assert_int_equal(address_parse(a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"), FERRY_OK);
    assert_int_equal(address_parse(a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea"), FERRY_EINVAL);
    assert_int_equal(address_parse(a, "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed00"), FERRY_EINVAL);
    assert_int_equal(address_parse(a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg"), FERRY_EINVAL);
}

/* anvil's first development key: its public key hashes to the well-known address. */
static void from_pubkey(void **state)
{
    size_t n;
    uint8_t *pub = tu_unhex("8318535b54105d4a7aae60c08fc45f9687181b4fdfc625bd1a753fa7397fed75"
                            "3547f11ca8696646f2f3acb08e31016afac23e630c5d11f59f61fef57b0d2aa5",
                            &n);
    assert_int_equal(n, 64);
    uint8_t a[20];
    char s[ADDRESS_STR];
    address_from_pubkey(a, pub);
    address_to_checksum(s, a);
    assert_string_equal(s, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    free(pub);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checksum_examples),
        cmocka_unit_test(rejects),
        cmocka_unit_test(from_pubkey),
    };
    return TU_RUN(tests);
}
