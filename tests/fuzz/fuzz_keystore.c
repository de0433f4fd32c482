/* libFuzzer harness for the keystore decoder (keystore JSON is outside input).
 * Small KDF caps keep it exploring the parser rather than burning time in scrypt: anything over
 * them is refused exactly as a hostile file over the real caps is. Every input that parses must
 * survive a serialise/parse round trip unchanged and decrypt (password "foo", the one geth's
 * short-key seeds use) to a key, a wrong-password error or nothing else. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ferry/keystore.h"
#include "ferry/signer.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static const struct keystore_caps tiny = {
    .scrypt_n_max = 16,
    .scrypt_r_max = 8,
    .scrypt_p_max = 2,
    .scrypt_mem_max = 1 << 20,
    .scrypt_work_max = 256,
    .pbkdf2_c_max = 64,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (sodium_init() < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct keystore ks, again;
    if (keystore_parse(&ks, (const char *)data, size, &tiny) != FERRY_OK)
        return 0;

    struct fbuf j;
    fbuf_init(&j, 8192);
    if (keystore_to_json(&ks, &j) != FERRY_OK)
        abort();
    if (keystore_parse(&again, (const char *)j.data, j.len, &tiny) != FERRY_OK)
        abort();
    if (memcmp(&ks, &again, sizeof ks) != 0)
        abort();
    fbuf_free(&j);

    uint8_t *key = sodium_malloc(KEYSTORE_SECRET_LEN);
    if (!key)
        abort();
    enum ferry_err e = keystore_decrypt(&ks, &tiny, "foo", 3, key);
    if (e != FERRY_OK && e != FERRY_EAUTH)
        abort();
    sodium_free(key);
    if (e == FERRY_OK) {
        /* The signer's checks on what a keystore decrypts to (a valid key, a matching address). */
        struct signer *s;
        if (signer_new(&s) != FERRY_OK)
            abort();
        e = signer_add_keystore(s, "fuzz", &ks, "foo", 3);
        if (e != FERRY_OK && e != FERRY_ECRYPTO && e != FERRY_EINVAL)
            abort();
        signer_free(s);
    }
    return 0;
}
