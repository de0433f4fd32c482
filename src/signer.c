#include "ferry/signer.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sodium.h>

struct signer_key {
    char name[SIGNER_NAME_MAX];
    uint8_t addr[ADDRESS_LEN];
    uint8_t *sec; /* 32 bytes from sodium_malloc; PROT_NOACCESS unless in use or open */
    bool open;    /* PROT_READ between signer_open and signer_seal */
};

struct signer {
    secp256k1_context *ctx; /* randomised once in signer_new */
    struct signer_key *keys;
    size_t count, alloc;
};

enum ferry_err signer_new(struct signer **out)
{
    *out = NULL;
    if (sodium_init() < 0)
        return ferry_fail(FERRY_ECRYPTO, "signer: libsodium failed to initialise");
    struct signer *s = calloc(1, sizeof *s);
    if (!s)
        return ferry_fail(FERRY_ENOMEM, "signer: out of memory");
    s->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!s->ctx) {
        free(s);
        return ferry_fail(FERRY_ENOMEM, "signer: cannot create a secp256k1 context");
    }
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    int ok = secp256k1_context_randomize(s->ctx, seed);
    sodium_memzero(seed, sizeof seed);
    if (!ok) {
        secp256k1_context_destroy(s->ctx);
        free(s);
        return ferry_fail(FERRY_ECRYPTO, "signer: cannot randomise the secp256k1 context");
    }
    *out = s;
    return FERRY_OK;
}

void signer_free(struct signer *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        sodium_free(s->keys[i].sec); /* sodium_free wipes, whatever the protection */
    free(s->keys);
    secp256k1_context_destroy(s->ctx);
    free(s);
}

static struct signer_key *find(const struct signer *s, const char *name)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->keys[i].name, name) == 0)
            return &s->keys[i];
    return NULL;
}

static enum ferry_err check_new_name(const struct signer *s, const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= SIGNER_NAME_MAX)
        return ferry_fail(FERRY_EINVAL, "signer: key name must be 1 to %d characters", SIGNER_NAME_MAX - 1);
    if (find(s, name))
        return ferry_fail(FERRY_EEXIST, "signer: a key named \"%s\" is already loaded", name);
    return FERRY_OK;
}

static uint8_t *guarded_key(void)
{
    return sodium_malloc(32);
}

/* Takes ownership of sec (guarded memory, readable): validates it, derives the address and files it
 * under name, then locks it away. On failure sec is freed (wiped). expect_addr may be NULL. */
static enum ferry_err adopt(struct signer *s, const char *name, uint8_t *sec, const uint8_t *expect_addr)
{
    enum ferry_err e = FERRY_OK;
    secp256k1_pubkey pub;
    uint8_t ser[65], addr[ADDRESS_LEN];
    size_t serlen = sizeof ser;
    if (!secp256k1_ec_seckey_verify(s->ctx, sec) || !secp256k1_ec_pubkey_create(s->ctx, &pub, sec)) {
        e = ferry_fail(FERRY_ECRYPTO, "signer: not a valid secp256k1 secret key (zero or not below the group order)");
        goto fail;
    }
    secp256k1_ec_pubkey_serialize(s->ctx, ser, &serlen, &pub, SECP256K1_EC_UNCOMPRESSED);
    address_from_pubkey(addr, ser + 1);
    if (expect_addr && sodium_memcmp(addr, expect_addr, ADDRESS_LEN) != 0) {
        char want[ADDRESS_STR], got[ADDRESS_STR];
        address_to_checksum(want, expect_addr);
        address_to_checksum(got, addr);
        e = ferry_fail(FERRY_EINVAL,
                       "keystore: its \"address\" field says %s but the key it holds is %s (a mislabelled file)",
                       want, got);
        goto fail;
    }
    if ((e = check_new_name(s, name)))
        goto fail;
    if (s->count == s->alloc) {
        size_t na = s->alloc ? 2 * s->alloc : 4;
        struct signer_key *nk = realloc(s->keys, na * sizeof *nk);
        if (!nk) {
            e = ferry_fail(FERRY_ENOMEM, "signer: out of memory");
            goto fail;
        }
        s->keys = nk;
        s->alloc = na;
    }
    if (sodium_mprotect_noaccess(sec) != 0) {
        e = ferry_fail(FERRY_ECRYPTO, "signer: cannot protect key memory");
        goto fail;
    }
    struct signer_key *k = &s->keys[s->count++];
    memset(k, 0, sizeof *k);
    memcpy(k->name, name, strlen(name) + 1);
    memcpy(k->addr, addr, ADDRESS_LEN);
    k->sec = sec;
    return FERRY_OK;
fail:
    sodium_free(sec);
    return e;
}

enum ferry_err signer_add_secret(struct signer *s, const char *name, const uint8_t seckey[32])
{
    enum ferry_err e = check_new_name(s, name);
    if (e)
        return e;
    uint8_t *sec = guarded_key();
    if (!sec)
        return ferry_fail(FERRY_ENOMEM, "signer: cannot allocate guarded memory");
    memcpy(sec, seckey, 32);
    return adopt(s, name, sec, NULL);
}

enum ferry_err signer_generate(struct signer *s, const char *name)
{
    enum ferry_err e = check_new_name(s, name);
    if (e)
        return e;
    uint8_t *sec = guarded_key();
    if (!sec)
        return ferry_fail(FERRY_ENOMEM, "signer: cannot allocate guarded memory");
    /* A random 256-bit value is out of range with probability ~2^-128; loop anyway. */
    do
        randombytes_buf(sec, 32);
    while (!secp256k1_ec_seckey_verify(s->ctx, sec));
    return adopt(s, name, sec, NULL);
}

enum ferry_err signer_add_keystore(struct signer *s, const char *name, const struct keystore *ks,
                                   const char *password, size_t password_len)
{
    enum ferry_err e = check_new_name(s, name);
    if (e)
        return e;
    uint8_t *sec = guarded_key();
    if (!sec)
        return ferry_fail(FERRY_ENOMEM, "signer: cannot allocate guarded memory");
    if ((e = keystore_decrypt(ks, NULL, password, password_len, sec))) {
        sodium_free(sec);
        return e;
    }
    return adopt(s, name, sec, ks->has_address ? ks->address : NULL);
}

enum ferry_err signer_load_keystore(struct signer *s, const char *name, const char *path, const char *password,
                                    size_t password_len)
{
    struct keystore ks;
    enum ferry_err e = keystore_read_file(&ks, path, NULL);
    if (e)
        return e;
    e = signer_add_keystore(s, name, &ks, password, password_len);
    if (e)
        return ferry_fail_ctx(e, "%s", path);
    return FERRY_OK;
}

enum ferry_err signer_address(const struct signer *s, const char *name, uint8_t addr[ADDRESS_LEN])
{
    const struct signer_key *k = find(s, name);
    if (!k) {
        memset(addr, 0, ADDRESS_LEN);
        return ferry_fail(FERRY_ENOTFOUND, "signer: no key named \"%s\"", name);
    }
    memcpy(addr, k->addr, ADDRESS_LEN);
    return FERRY_OK;
}

/* Makes the key readable for one operation, unless a window has it open already. */
static enum ferry_err key_unlock(struct signer_key *k)
{
    if (!k->open && sodium_mprotect_readonly(k->sec) != 0)
        return ferry_fail(FERRY_ECRYPTO, "signer: cannot unprotect key memory");
    return FERRY_OK;
}

static enum ferry_err key_relock(struct signer_key *k)
{
    if (!k->open && sodium_mprotect_noaccess(k->sec) != 0)
        return ferry_fail(FERRY_ECRYPTO, "signer: cannot re-protect key memory");
    return FERRY_OK;
}

enum ferry_err signer_open(struct signer *s, const char *name)
{
    struct signer_key *k = find(s, name);
    if (!k)
        return ferry_fail(FERRY_ENOTFOUND, "signer: no key named \"%s\"", name);
    enum ferry_err e = key_unlock(k);
    if (!e)
        k->open = true;
    return e;
}

enum ferry_err signer_seal(struct signer *s)
{
    enum ferry_err e = FERRY_OK;
    for (size_t i = 0; i < s->count; i++) {
        struct signer_key *k = &s->keys[i];
        if (!k->open)
            continue;
        if (sodium_mprotect_noaccess(k->sec) != 0)
            e = ferry_fail(FERRY_ECRYPTO, "signer: cannot re-protect key memory");
        else
            k->open = false;
    }
    return e;
}

enum ferry_err signer_sign_digest(struct signer *s, const char *name, const uint8_t digest[32],
                                  uint8_t sig[SIGNATURE_LEN])
{
    memset(sig, 0, SIGNATURE_LEN);
    struct signer_key *k = find(s, name);
    if (!k)
        return ferry_fail(FERRY_ENOTFOUND, "signer: no key named \"%s\"", name);
    secp256k1_ecdsa_recoverable_signature rs;
    enum ferry_err e = key_unlock(k);
    if (e)
        return e;
    /* NULL nonce function: RFC 6979 deterministic nonces; libsecp256k1 always produces low s. */
    int ok = secp256k1_ecdsa_sign_recoverable(s->ctx, &rs, digest, k->sec, NULL, NULL);
    e = key_relock(k);
    if (!ok)
        return ferry_fail(FERRY_ECRYPTO, "signer: signing failed");
    if (e)
        return e;
    int recid;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(s->ctx, sig, &recid, &rs);
    sig[64] = (uint8_t)recid;
    return FERRY_OK;
}

enum ferry_err signer_export_keystore(struct signer *s, const char *name, const char *password,
                                      size_t password_len, const struct keystore_params *params, struct keystore *out)
{
    memset(out, 0, sizeof *out);
    struct signer_key *k = find(s, name);
    if (!k)
        return ferry_fail(FERRY_ENOTFOUND, "signer: no key named \"%s\"", name);
    enum ferry_err e = key_unlock(k);
    if (e)
        return e;
    e = keystore_encrypt(out, k->sec, k->addr, password, password_len, params);
    enum ferry_err e2 = key_relock(k);
    if (e2 && !e) {
        memset(out, 0, sizeof *out);
        e = e2;
    }
    return e;
}

enum ferry_err signer_recover(const uint8_t digest[32], const uint8_t sig[SIGNATURE_LEN], uint8_t addr[ADDRESS_LEN])
{
    memset(addr, 0, ADDRESS_LEN);
    const secp256k1_context *ctx = secp256k1_context_static;
    int v = sig[64];
    if (v == 27 || v == 28)
        v -= 27;
    if (v != 0 && v != 1)
        return ferry_fail(FERRY_EINVAL, "signature: v=%d (expected 0, 1, 27 or 28)", sig[64]);
    secp256k1_ecdsa_recoverable_signature rs;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sig, v))
        return ferry_fail(FERRY_EINVAL, "signature: r or s is not below the group order");
    secp256k1_ecdsa_signature plain;
    secp256k1_ecdsa_recoverable_signature_convert(ctx, &plain, &rs);
    if (secp256k1_ecdsa_signature_normalize(ctx, NULL, &plain))
        return ferry_fail(FERRY_EINVAL, "signature: s is in the upper half of the order (EIP-2 forbids it)");
    secp256k1_pubkey pub;
    if (!secp256k1_ecdsa_recover(ctx, &pub, &rs, digest))
        return ferry_fail(FERRY_ECRYPTO, "signature: no public key recovers from it");
    uint8_t ser[65];
    size_t serlen = sizeof ser;
    secp256k1_ec_pubkey_serialize(ctx, ser, &serlen, &pub, SECP256K1_EC_UNCOMPRESSED);
    address_from_pubkey(addr, ser + 1);
    return FERRY_OK;
}
