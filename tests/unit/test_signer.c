#include <stdio.h>
#include <unistd.h>

#include <sodium.h>

#include "ferry/signer.h"
#include "testutil.h"

static void hex32(uint8_t out[32], const char *hex)
{
    size_t n;
    uint8_t *b = tu_unhex(hex, &n);
    assert_int_equal(n, 32);
    memcpy(out, b, 32);
    free(b);
}

static void assert_addr(const uint8_t addr[ADDRESS_LEN], const char *checksummed)
{
    char got[ADDRESS_STR];
    address_to_checksum(got, addr);
    assert_string_equal(got, checksummed);
}

/* Every key of keystore_sign.json signs every digest exactly as cast does (RFC 6979). */
static void matches_cast(void **state)
{
    cJSON *v = tu_load_vectors("keystore_sign.json");
    struct signer *s;
    assert_int_equal(signer_new(&s), FERRY_OK);
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(v, "vectors"))
    {
        char name[16];
        snprintf(name, sizeof name, "k%d", i++);
        uint8_t sec[32], digest[32], sig[SIGNATURE_LEN], addr[ADDRESS_LEN];
        hex32(sec, cJSON_GetObjectItem(it, "secret")->valuestring);
        hex32(digest, cJSON_GetObjectItem(it, "digest")->valuestring);
        assert_int_equal(signer_add_secret(s, name, sec), FERRY_OK);
        assert_int_equal(signer_address(s, name, addr), FERRY_OK);
        assert_addr(addr, cJSON_GetObjectItem(it, "address")->valuestring);
        assert_int_equal(signer_sign_digest(s, name, digest, sig), FERRY_OK);
        /* cast writes v as 27/28; the signer as the recovery id 0/1. */
        size_t n;
        uint8_t *want = tu_unhex(cJSON_GetObjectItem(it, "signature")->valuestring, &n);
        assert_int_equal(n, 65);
        assert_memory_equal(sig, want, 64);
        assert_int_equal(sig[64] + 27, want[64]);
        /* Recovery from either form gives the address back. */
        uint8_t rec[ADDRESS_LEN];
        assert_int_equal(signer_recover(digest, sig, rec), FERRY_OK);
        assert_memory_equal(rec, addr, ADDRESS_LEN);
        assert_int_equal(signer_recover(digest, want, rec), FERRY_OK);
        assert_memory_equal(rec, addr, ADDRESS_LEN);
        free(want);
    }
    assert_true(i >= 9);
    signer_free(s);
    cJSON_Delete(v);
}

/* Deterministic, low-s, and recoverable for random keys and digests. */
static void sign_properties(void **state)
{
    /* n/2, big-endian: a low-s signature has s <= this. */
    static const uint8_t half_n[32] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
                                       0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};
    struct signer *s;
    assert_int_equal(signer_new(&s), FERRY_OK);
    assert_int_equal(signer_generate(s, "a"), FERRY_OK);
    assert_int_equal(signer_generate(s, "b"), FERRY_OK);
    uint8_t aa[ADDRESS_LEN], ab[ADDRESS_LEN];
    assert_int_equal(signer_address(s, "a", aa), FERRY_OK);
    assert_int_equal(signer_address(s, "b", ab), FERRY_OK);
    assert_memory_not_equal(aa, ab, ADDRESS_LEN);
    for (int i = 0; i < 200; i++) {
        uint8_t d[32], s1[SIGNATURE_LEN], s2[SIGNATURE_LEN], rec[ADDRESS_LEN];
        tu_rand_bytes(d, sizeof d);
        const char *name = i & 1 ? "b" : "a";
        assert_int_equal(signer_sign_digest(s, name, d, s1), FERRY_OK);
        assert_int_equal(signer_sign_digest(s, name, d, s2), FERRY_OK);
        assert_memory_equal(s1, s2, SIGNATURE_LEN);
        assert_true(memcmp(s1 + 32, half_n, 32) <= 0);
        assert_true(s1[64] <= 1);
        assert_int_equal(signer_recover(d, s1, rec), FERRY_OK);
        assert_memory_equal(rec, i & 1 ? ab : aa, ADDRESS_LEN);
        /* Another digest recovers some other address (or fails), never ours. */
        d[0] ^= 1;
        if (signer_recover(d, s1, rec) == FERRY_OK)
            assert_memory_not_equal(rec, i & 1 ? ab : aa, ADDRESS_LEN);
    }
    signer_free(s);
}

static void recover_rejects(void **state)
{
    struct signer *s;
    assert_int_equal(signer_new(&s), FERRY_OK);
    assert_int_equal(signer_generate(s, "k"), FERRY_OK);
    uint8_t d[32] = {1}, sig[SIGNATURE_LEN], bad[SIGNATURE_LEN], rec[ADDRESS_LEN];
    assert_int_equal(signer_sign_digest(s, "k", d, sig), FERRY_OK);
    signer_free(s);

    memcpy(bad, sig, sizeof bad);
    bad[64] = 2;
    assert_int_equal(signer_recover(d, bad, rec), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "v=2"));
    bad[64] = 29;
    assert_int_equal(signer_recover(d, bad, rec), FERRY_EINVAL);
    /* r = 0 and r >= n. */
    memset(bad, 0, 32);
    bad[64] = sig[64];
    assert_int_not_equal(signer_recover(d, bad, rec), FERRY_OK);
    memset(bad, 0xff, 32);
    assert_int_equal(signer_recover(d, bad, rec), FERRY_EINVAL);
    /* The high-s twin (s' = n - s, v flipped) recovers the same key, but EIP-2 forbids it. */
    static const uint8_t order[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                      0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    memcpy(bad, sig, sizeof bad);
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int x = order[i] - sig[32 + i] - borrow;
        borrow = x < 0;
        bad[32 + i] = (uint8_t)(x + (borrow ? 256 : 0));
    }
    bad[64] ^= 1;
    assert_int_equal(signer_recover(d, bad, rec), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "EIP-2"));
    uint8_t zero[ADDRESS_LEN] = {0};
    assert_memory_equal(rec, zero, ADDRESS_LEN);
}

static void bad_keys_and_names(void **state)
{
    struct signer *s;
    assert_int_equal(signer_new(&s), FERRY_OK);
    uint8_t zero[32] = {0}, order[32], addr[ADDRESS_LEN], sig[SIGNATURE_LEN], d[32] = {0};
    hex32(order, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
    assert_int_equal(signer_add_secret(s, "zero", zero), FERRY_ECRYPTO);
    assert_int_equal(signer_add_secret(s, "n", order), FERRY_ECRYPTO);
    assert_non_null(strstr(ferry_errmsg(), "not a valid secp256k1 secret key"));
    assert_int_equal(signer_address(s, "zero", addr), FERRY_ENOTFOUND);
    order[31] = 0x40; /* n - 1: the largest valid key */
    assert_int_equal(signer_add_secret(s, "max", order), FERRY_OK);
    assert_int_equal(signer_add_secret(s, "max", order), FERRY_EEXIST);
    assert_int_equal(signer_generate(s, "max"), FERRY_EEXIST);
    assert_int_equal(signer_add_secret(s, "", order), FERRY_EINVAL);
    char longname[SIGNER_NAME_MAX + 1];
    memset(longname, 'a', SIGNER_NAME_MAX);
    longname[SIGNER_NAME_MAX] = 0;
    assert_int_equal(signer_add_secret(s, longname, order), FERRY_EINVAL);
    longname[SIGNER_NAME_MAX - 1] = 0;
    assert_int_equal(signer_add_secret(s, longname, order), FERRY_OK);
    assert_int_equal(signer_sign_digest(s, "nobody", d, sig), FERRY_ENOTFOUND);
    assert_non_null(strstr(ferry_errmsg(), "no key named \"nobody\""));
    uint8_t z65[SIGNATURE_LEN] = {0};
    assert_memory_equal(sig, z65, SIGNATURE_LEN);
    /* Many keys: the table grows and every key stays usable. */
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof name, "g%d", i);
        assert_int_equal(signer_generate(s, name), FERRY_OK);
    }
    assert_int_equal(signer_sign_digest(s, "g0", d, sig), FERRY_OK);
    assert_int_equal(signer_sign_digest(s, "max", d, sig), FERRY_OK);
    signer_free(s);
    signer_free(NULL);
}

static const cJSON *vector(cJSON *v, int i) { return cJSON_GetArrayItem(cJSON_GetObjectItem(v, "vectors"), i); }

/* Keystores: load from a file, wrong password, a mislabelled address field, export and re-import. */
static void keystores(void **state)
{
    cJSON *v = tu_load_vectors("keystore.json");
    const cJSON *vec = vector(v, 0);
    const char *text = cJSON_GetObjectItem(vec, "keystore")->valuestring;
    const char *pw = cJSON_GetObjectItem(vec, "password")->valuestring;
    const char *want = cJSON_GetObjectItem(vec, "address")->valuestring;
    char path[] = "/tmp/ferry-test-signer-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    struct signer *s;
    uint8_t addr[ADDRESS_LEN];
    assert_int_equal(signer_new(&s), FERRY_OK);
    assert_int_equal(signer_load_keystore(s, "x", path, "wrong", 5), FERRY_EAUTH);
    assert_non_null(strstr(ferry_errmsg(), "wrong password (MAC mismatch)"));
    assert_int_equal(signer_address(s, "x", addr), FERRY_ENOTFOUND); /* nothing was added */
    assert_int_equal(signer_load_keystore(s, "x", path, pw, strlen(pw)), FERRY_OK);
    assert_int_equal(signer_address(s, "x", addr), FERRY_OK);
    assert_addr(addr, want);
    unlink(path);
    assert_int_equal(signer_load_keystore(s, "y", path, pw, strlen(pw)), FERRY_ENOTFOUND);

    /* The (unauthenticated) address field must agree with the key. */
    struct keystore ks;
    assert_int_equal(keystore_parse(&ks, text, strlen(text), NULL), FERRY_OK);
    ks.has_address = true;
    memcpy(ks.address, addr, ADDRESS_LEN);
    assert_int_equal(signer_add_keystore(s, "labelled", &ks, pw, strlen(pw)), FERRY_OK);
    ks.address[19] ^= 1;
    assert_int_equal(signer_add_keystore(s, "mislabelled", &ks, pw, strlen(pw)), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "mislabelled"));
    assert_int_equal(signer_address(s, "mislabelled", addr), FERRY_ENOTFOUND);

    /* Export under a new password; a second signer imports it and has the same address and signatures. */
    struct keystore out;
    const struct keystore_params fast = {.kdf = KEYSTORE_SCRYPT, .n = 1024, .r = 8, .p = 1};
    assert_int_equal(signer_export_keystore(s, "x", "new pw", 6, &fast, &out), FERRY_OK);
    assert_true(out.has_address);
    assert_int_equal(signer_address(s, "x", addr), FERRY_OK);
    assert_memory_equal(out.address, addr, ADDRESS_LEN);
    struct signer *s2;
    assert_int_equal(signer_new(&s2), FERRY_OK);
    assert_int_equal(signer_add_keystore(s2, "x", &out, "pw", 2), FERRY_EAUTH);
    assert_int_equal(signer_add_keystore(s2, "x", &out, "new pw", 6), FERRY_OK);
    uint8_t a2[ADDRESS_LEN], d[32] = {7}, sig1[SIGNATURE_LEN], sig2[SIGNATURE_LEN];
    assert_int_equal(signer_address(s2, "x", a2), FERRY_OK);
    assert_memory_equal(a2, addr, ADDRESS_LEN);
    assert_int_equal(signer_sign_digest(s, "x", d, sig1), FERRY_OK);
    assert_int_equal(signer_sign_digest(s2, "x", d, sig2), FERRY_OK);
    assert_memory_equal(sig1, sig2, SIGNATURE_LEN);
    assert_int_equal(signer_export_keystore(s, "nobody", "pw", 2, &fast, &out), FERRY_ENOTFOUND);
    signer_free(s2);
    signer_free(s);
    cJSON_Delete(v);
}

/* The spec's keys (including geth's 30- and 31-byte ones) give the addresses cast derives. */
static void spec_addresses(void **state)
{
    cJSON *v = tu_load_vectors("keystore_spec.json");
    struct signer *s;
    assert_int_equal(signer_new(&s), FERRY_OK);
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(v, "vectors"))
    {
        const char *text = cJSON_GetObjectItem(it, "keystore")->valuestring;
        const char *pw = cJSON_GetObjectItem(it, "password")->valuestring;
        struct keystore ks;
        char name[16];
        uint8_t addr[ADDRESS_LEN];
        snprintf(name, sizeof name, "s%d", i++);
        assert_int_equal(keystore_parse(&ks, text, strlen(text), NULL), FERRY_OK);
        if (signer_add_keystore(s, name, &ks, pw, strlen(pw)) != FERRY_OK)
            fail_msg("%s: %s", name, ferry_errmsg());
        assert_int_equal(signer_address(s, name, addr), FERRY_OK);
        assert_addr(addr, cJSON_GetObjectItem(it, "address")->valuestring);
    }
    signer_free(s);
    cJSON_Delete(v);
}

/* Signatures inside a signing window are the same as outside; seal closes every open key. */
static void signing_window(void **state)
{
    struct signer *s;
    assert_int_equal(signer_new(&s), FERRY_OK);
    assert_int_equal(signer_generate(s, "a"), FERRY_OK);
    assert_int_equal(signer_generate(s, "b"), FERRY_OK);
    uint8_t d[32], out[SIGNATURE_LEN], in_a[SIGNATURE_LEN], in_b[SIGNATURE_LEN], again[SIGNATURE_LEN];
    tu_rand_bytes(d, sizeof d);
    assert_int_equal(signer_sign_digest(s, "a", d, out), FERRY_OK);
    assert_int_equal(signer_open(s, "nobody"), FERRY_ENOTFOUND);
    assert_int_equal(signer_seal(s), FERRY_OK); /* nothing open: fine */
    assert_int_equal(signer_open(s, "a"), FERRY_OK);
    assert_int_equal(signer_open(s, "a"), FERRY_OK); /* idempotent */
    assert_int_equal(signer_open(s, "b"), FERRY_OK);
    assert_int_equal(signer_sign_digest(s, "a", d, in_a), FERRY_OK);
    assert_int_equal(signer_sign_digest(s, "b", d, in_b), FERRY_OK);
    struct keystore ks;
    const struct keystore_params fast = {.kdf = KEYSTORE_SCRYPT, .n = 16, .r = 8, .p = 1};
    assert_int_equal(signer_export_keystore(s, "a", "pw", 2, &fast, &ks), FERRY_OK); /* stays open after */
    assert_int_equal(signer_sign_digest(s, "a", d, again), FERRY_OK);
    assert_int_equal(signer_seal(s), FERRY_OK);
    assert_memory_equal(out, in_a, SIGNATURE_LEN);
    assert_memory_equal(out, again, SIGNATURE_LEN);
    assert_memory_not_equal(in_a, in_b, 64);
    assert_int_equal(signer_sign_digest(s, "a", d, again), FERRY_OK); /* sealed: strict path again */
    assert_memory_equal(out, again, SIGNATURE_LEN);
    assert_int_equal(signer_open(s, "b"), FERRY_OK);
    signer_free(s); /* freeing with a key open is fine */
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_cast),       cmocka_unit_test(sign_properties), cmocka_unit_test(recover_rejects),
        cmocka_unit_test(bad_keys_and_names), cmocka_unit_test(keystores),       cmocka_unit_test(spec_addresses),
        cmocka_unit_test(signing_window),
    };
    return TU_RUN(tests);
}
