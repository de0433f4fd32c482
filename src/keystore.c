#include "ferry/keystore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <nettle/aes.h>
#include <nettle/ctr.h>
#include <nettle/hmac.h>
#include <nettle/pbkdf2.h>
#include <sodium.h>

#include "ferry/hex.h"
#include "ferry/keccak.h"

const struct keystore_caps keystore_default_caps = {
    .scrypt_n_max = 1u << 18,
    .scrypt_r_max = 16,
    .scrypt_p_max = 16,
    .scrypt_mem_max = 256u << 20,
    .scrypt_work_max = 1u << 22, /* twice geth's standard n*r*p = 2^21 */
    .pbkdf2_c_max = 1u << 22,
};

const struct keystore_params keystore_default_params = {
    .kdf = KEYSTORE_SCRYPT, .n = 1u << 18, .r = 8, .p = 1, .c = 0,
};

/* Room for the whole JSON of a keystore we write; the largest is well under 1 KiB. */
#define KEYSTORE_JSON_MAX 4096

/* ---- parameters and caps ---------------------------------------------------------------- */

/* "2^18" for powers of two (that is how KDF costs are talked about), decimal otherwise. */
static const char *cost_str(char buf[32], uint64_t v)
{
    if (v >= 2 && (v & (v - 1)) == 0) {
        int k = 0;
        while ((v >> k) != 1)
            k++;
        snprintf(buf, 32, "2^%d", k);
    } else {
        snprintf(buf, 32, "%" PRIu64, v);
    }
    return buf;
}

static const char *mib_str(char buf[32], uint64_t bytes)
{
    snprintf(buf, 32, "%" PRIu64 " MiB", (bytes + (1u << 20) - 1) >> 20);
    return buf;
}

enum ferry_err keystore_check_caps(const struct keystore *ks, const struct keystore_caps *caps)
{
    char a[32], b[32];
    if (!caps)
        caps = &keystore_default_caps;
    if (ks->kdf == KEYSTORE_PBKDF2) {
        if (ks->c == 0)
            return ferry_fail(FERRY_EINVAL, "keystore: pbkdf2 c must be at least 1");
        if (ks->c > caps->pbkdf2_c_max)
            return ferry_fail(FERRY_ERANGE, "keystore: pbkdf2 c=%" PRIu32 " exceeds the cap of %s (time)", ks->c,
                              cost_str(a, caps->pbkdf2_c_max));
        return FERRY_OK;
    }
    if (ks->kdf != KEYSTORE_SCRYPT)
        return ferry_fail(FERRY_EUNSUPPORTED, "keystore: unknown kdf");
    if (ks->n < 2 || (ks->n & (ks->n - 1)) != 0)
        return ferry_fail(FERRY_EINVAL, "keystore: scrypt n=%" PRIu64 " is not a power of two greater than 1", ks->n);
    if (ks->r == 0 || ks->p == 0)
        return ferry_fail(FERRY_EINVAL, "keystore: scrypt r and p must be at least 1 (got r=%" PRIu32 ", p=%" PRIu32 ")",
                          ks->r, ks->p);
    if (ks->n > caps->scrypt_n_max)
        return ferry_fail(FERRY_ERANGE, "keystore: scrypt n=%s exceeds the cap of %s (memory)", cost_str(a, ks->n),
                          cost_str(b, caps->scrypt_n_max));
    if (ks->r > caps->scrypt_r_max)
        return ferry_fail(FERRY_ERANGE, "keystore: scrypt r=%" PRIu32 " exceeds the cap of %" PRIu32 " (memory)", ks->r,
                          caps->scrypt_r_max);
    if (ks->p > caps->scrypt_p_max)
        return ferry_fail(FERRY_ERANGE, "keystore: scrypt p=%" PRIu32 " exceeds the cap of %" PRIu32 " (time)", ks->p,
                          caps->scrypt_p_max);
    /* Each factor is capped above, but the caps themselves may be anything: divide, never overflow. */
    if (ks->n > caps->scrypt_mem_max / 128 / ks->r)
        return ferry_fail(FERRY_ERANGE, "keystore: scrypt n=%s r=%" PRIu32 " needs %s, over the cap of %s (memory)",
                          cost_str(a, ks->n), ks->r,
                          mib_str(b, ks->n <= UINT64_MAX / 128 / ks->r ? 128 * ks->n * ks->r : UINT64_MAX),
                          mib_str((char[32]){0}, caps->scrypt_mem_max));
    if (ks->n > caps->scrypt_work_max / ks->r / ks->p)
        return ferry_fail(FERRY_ERANGE,
                          "keystore: scrypt n*r*p = %s*%" PRIu32 "*%" PRIu32 " exceeds the cap of %s (time)",
                          cost_str(a, ks->n), ks->r, ks->p, cost_str(b, caps->scrypt_work_max));
    return FERRY_OK;
}

/* ---- parsing ------------------------------------------------------------------------------ */

static const cJSON *member(const cJSON *obj, const char *key) { return cJSON_GetObjectItemCaseSensitive(obj, key); }

/* A field given twice is refused: readers that keep the first and readers that keep the last (Go's
 * encoding/json, so geth) would otherwise see two different keystores in one file. */
static enum ferry_err unique(const cJSON *obj, const char *where, const char *const *keys)
{
    for (; *keys; keys++) {
        int seen = 0;
        for (const cJSON *c = obj->child; c; c = c->next)
            if (c->string && strcmp(c->string, *keys) == 0 && ++seen > 1)
                return ferry_fail(FERRY_EINVAL, "keystore: \"%s%s\" appears more than once", where, *keys);
    }
    return FERRY_OK;
}

static enum ferry_err need_object(const cJSON **out, const cJSON *obj, const char *key, const char *where)
{
    const cJSON *v = member(obj, key);
    if (!v)
        return ferry_fail(FERRY_EINVAL, "keystore: missing \"%s%s\"", where, key);
    if (!cJSON_IsObject(v))
        return ferry_fail(FERRY_EINVAL, "keystore: \"%s%s\" must be an object", where, key);
    *out = v;
    return FERRY_OK;
}

static enum ferry_err need_string(const char **out, const cJSON *obj, const char *key, const char *where)
{
    const cJSON *v = member(obj, key);
    if (!v)
        return ferry_fail(FERRY_EINVAL, "keystore: missing \"%s%s\"", where, key);
    if (!cJSON_IsString(v) || !v->valuestring)
        return ferry_fail(FERRY_EINVAL, "keystore: \"%s%s\" must be a string", where, key);
    *out = v->valuestring;
    return FERRY_OK;
}

/* A JSON number that is a whole number in [0, max]. JSON numbers are doubles here, exact to 2^53. */
static enum ferry_err need_uint(uint64_t *out, const cJSON *obj, const char *key, const char *where, uint64_t max)
{
    const cJSON *v = member(obj, key);
    if (!v)
        return ferry_fail(FERRY_EINVAL, "keystore: missing \"%s%s\"", where, key);
    if (!cJSON_IsNumber(v))
        return ferry_fail(FERRY_EINVAL, "keystore: \"%s%s\" must be a number", where, key);
    double d = v->valuedouble;
    if (!(d >= 0 && d <= (double)max) || (double)(uint64_t)d != d)
        return ferry_fail(FERRY_ERANGE, "keystore: \"%s%s\" must be a whole number from 0 to %" PRIu64 ", got %.17g",
                          where, key, max, d);
    *out = (uint64_t)d;
    return FERRY_OK;
}

static enum ferry_err need_hex(uint8_t *out, size_t cap, size_t *len, size_t min, const cJSON *obj, const char *key,
                               const char *where)
{
    const char *s;
    enum ferry_err e = need_string(&s, obj, key, where);
    if (e)
        return e;
    size_t n = strlen(s);
    if (n > 2 * cap || n < 2 * min) {
        if (min == cap)
            return ferry_fail(FERRY_EINVAL, "keystore: \"%s%s\" must be %zu bytes (%zu hex digits), got %zu digits",
                              where, key, cap, 2 * cap, n);
        return ferry_fail(FERRY_EINVAL, "keystore: \"%s%s\" must be %zu to %zu bytes, got %zu hex digits", where,
                          key, min, cap, n);
    }
    e = hex_decode(out, cap, len, s, n, HEX_PREFIX_FORBIDDEN);
    if (e)
        return ferry_fail_ctx(e, "keystore: \"%s%s\"", where, key);
    return FERRY_OK;
}

static enum ferry_err parse_tree(struct keystore *ks, const cJSON *root)
{
    enum ferry_err e;
    uint64_t u;
    const char *s;
    if (!cJSON_IsObject(root))
        return ferry_fail(FERRY_EINVAL, "keystore: expected a JSON object");
    static const char *const root_keys[] = {"version", "crypto", "Crypto", "id", "address", NULL};
    static const char *const crypto_keys[] = {"cipher", "cipherparams", "ciphertext", "kdf", "kdfparams", "mac", NULL};
    static const char *const cp_keys[] = {"iv", NULL};
    static const char *const kp_keys[] = {"dklen", "salt", "n", "r", "p", "c", "prf", NULL};
    if ((e = unique(root, "", root_keys)))
        return e;

    const cJSON *ver = member(root, "version");
    if (!ver)
        return ferry_fail(FERRY_EINVAL, "keystore: missing \"version\" (Web3 Secret Storage v3 expected)");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 3)
        return ferry_fail(FERRY_EUNSUPPORTED, "keystore: version %s is not supported (only version 3)",
                          cJSON_IsNumber(ver) ? "other than 3" : "of the wrong type");

    /* geth wrote "Crypto" for years; both spellings in one file would be ambiguous. */
    const cJSON *lc = member(root, "crypto"), *uc = member(root, "Crypto");
    if (lc && uc)
        return ferry_fail(FERRY_EINVAL, "keystore: both \"crypto\" and \"Crypto\" present");
    const cJSON *crypto;
    if ((e = need_object(&crypto, root, lc ? "crypto" : uc ? "Crypto" : "crypto", "")))
        return e;
    if ((e = unique(crypto, "crypto.", crypto_keys)))
        return e;

    if ((e = need_string(&s, crypto, "cipher", "crypto.")))
        return e;
    if (strcmp(s, "aes-128-ctr") != 0)
        return ferry_fail(FERRY_EUNSUPPORTED, "keystore: cipher \"%.40s\" is not supported (only aes-128-ctr)", s);
    const cJSON *cp;
    if ((e = need_object(&cp, crypto, "cipherparams", "crypto.")) || (e = unique(cp, "crypto.cipherparams.", cp_keys)))
        return e;
    size_t n;
    if ((e = need_hex(ks->iv, KEYSTORE_IV_LEN, &n, KEYSTORE_IV_LEN, cp, "iv", "crypto.cipherparams.")))
        return e;
    /* 30 and 31 bytes: keys early geth wrote without their leading zero bytes. */
    if ((e = need_hex(ks->ciphertext, KEYSTORE_SECRET_LEN, &ks->ciphertext_len, 16, crypto, "ciphertext",
                      "crypto.")))
        return e;
    if ((e = need_hex(ks->mac, KEYSTORE_MAC_LEN, &n, KEYSTORE_MAC_LEN, crypto, "mac", "crypto.")))
        return e;

    if ((e = need_string(&s, crypto, "kdf", "crypto.")))
        return e;
    const cJSON *kp;
    if ((e = need_object(&kp, crypto, "kdfparams", "crypto.")) || (e = unique(kp, "crypto.kdfparams.", kp_keys)))
        return e;
    if ((e = need_uint(&u, kp, "dklen", "crypto.kdfparams.", UINT32_MAX)))
        return e;
    if (u != 32)
        return ferry_fail(FERRY_EUNSUPPORTED, "keystore: kdfparams.dklen must be 32, got %" PRIu64, u);
    if ((e = need_hex(ks->salt, KEYSTORE_SALT_MAX, &ks->salt_len, 1, kp, "salt", "crypto.kdfparams.")))
        return e;
    if (strcmp(s, "scrypt") == 0) {
        ks->kdf = KEYSTORE_SCRYPT;
        if ((e = need_uint(&ks->n, kp, "n", "crypto.kdfparams.", UINT64_C(1) << 53)))
            return e;
        if ((e = need_uint(&u, kp, "r", "crypto.kdfparams.", UINT32_MAX)))
            return e;
        ks->r = (uint32_t)u;
        if ((e = need_uint(&u, kp, "p", "crypto.kdfparams.", UINT32_MAX)))
            return e;
        ks->p = (uint32_t)u;
    } else if (strcmp(s, "pbkdf2") == 0) {
        ks->kdf = KEYSTORE_PBKDF2;
        if ((e = need_string(&s, kp, "prf", "crypto.kdfparams.")))
            return e;
        if (strcmp(s, "hmac-sha256") != 0)
            return ferry_fail(FERRY_EUNSUPPORTED, "keystore: pbkdf2 prf \"%.40s\" is not supported (only hmac-sha256)",
                              s);
        if ((e = need_uint(&u, kp, "c", "crypto.kdfparams.", UINT32_MAX)))
            return e;
        ks->c = (uint32_t)u;
    } else {
        return ferry_fail(FERRY_EUNSUPPORTED, "keystore: kdf \"%.40s\" is not supported (scrypt or pbkdf2)", s);
    }

    const cJSON *id = member(root, "id");
    if (id) {
        if (!cJSON_IsString(id) || !id->valuestring)
            return ferry_fail(FERRY_EINVAL, "keystore: \"id\" must be a string");
        size_t idn = strlen(id->valuestring);
        if (idn > KEYSTORE_ID_MAX)
            return ferry_fail(FERRY_EINVAL, "keystore: \"id\" is %zu characters, over %d", idn, KEYSTORE_ID_MAX);
        /* Printable and quote-free, so it can be shown and written back without escaping. */
        for (size_t i = 0; i < idn; i++) {
            unsigned char c = (unsigned char)id->valuestring[i];
            if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
                return ferry_fail(FERRY_EINVAL, "keystore: \"id\" has an unexpected character at position %zu", i);
        }
        memcpy(ks->id, id->valuestring, idn + 1);
    }

    const cJSON *addr = member(root, "address");
    if (addr && !cJSON_IsNull(addr)) {
        if (!cJSON_IsString(addr) || !addr->valuestring)
            return ferry_fail(FERRY_EINVAL, "keystore: \"address\" must be a string");
        if ((e = hex_decode_exact(ks->address, ADDRESS_LEN, addr->valuestring, HEX_PREFIX_OPTIONAL)))
            return ferry_fail_ctx(e, "keystore: \"address\"");
        ks->has_address = true;
    }
    return FERRY_OK;
}

enum ferry_err keystore_parse(struct keystore *ks, const char *json, size_t len, const struct keystore_caps *caps)
{
    memset(ks, 0, sizeof *ks);
    if (len > KEYSTORE_FILE_MAX)
        return ferry_fail(FERRY_ERANGE, "keystore: %zu bytes, over the cap of %d (not a keystore)", len,
                          KEYSTORE_FILE_MAX);
    /* A NUL would end the text early for cJSON and hide whatever follows it. */
    const char *nul = memchr(json, 0, len);
    if (nul)
        return ferry_fail(FERRY_EINVAL, "keystore: NUL byte at offset %zu", (size_t)(nul - json));
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t off = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
        return ferry_fail(FERRY_EINVAL, "keystore: invalid JSON at offset %zu", off);
    }
    enum ferry_err e = FERRY_OK;
    for (const char *p = end; p < json + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            e = ferry_fail(FERRY_EINVAL, "keystore: unexpected text after the JSON object at offset %zu",
                           (size_t)(p - json));
            break;
        }
    }
    if (!e)
        e = parse_tree(ks, root);
    cJSON_Delete(root);
    if (!e)
        e = keystore_check_caps(ks, caps);
    if (e)
        memset(ks, 0, sizeof *ks);
    return e;
}

enum ferry_err keystore_read_file(struct keystore *ks, const char *path, const struct keystore_caps *caps)
{
    memset(ks, 0, sizeof *ks);
    /* O_NONBLOCK: opening a FIFO someone left in place must not hang us; we refuse it below. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return ferry_fail(errno == ENOENT ? FERRY_ENOTFOUND : FERRY_EIO, "keystore: cannot open %s: %s", path,
                          strerror(errno));
    struct stat st;
    enum ferry_err e = FERRY_OK;
    struct fbuf b;
    fbuf_init(&b, KEYSTORE_FILE_MAX);
    if (fstat(fd, &st) != 0) {
        e = ferry_fail(FERRY_EIO, "keystore: cannot stat %s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        e = ferry_fail(FERRY_EINVAL, "keystore: %s is not a regular file", path);
    } else if (st.st_size > KEYSTORE_FILE_MAX) {
        e = ferry_fail(FERRY_ERANGE, "keystore: %s is %lld bytes, over the cap of %d (not a keystore)", path,
                       (long long)st.st_size, KEYSTORE_FILE_MAX);
    } else {
        char chunk[4096];
        for (;;) {
            ssize_t r = read(fd, chunk, sizeof chunk);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                e = ferry_fail(FERRY_EIO, "keystore: cannot read %s: %s", path, strerror(errno));
                break;
            }
            if (r == 0)
                break;
            /* The file may grow after fstat; the buffer's cap still holds. */
            if ((e = fbuf_add(&b, chunk, (size_t)r))) {
                e = ferry_fail(FERRY_ERANGE, "keystore: %s grew over the cap of %d bytes", path, KEYSTORE_FILE_MAX);
                break;
            }
        }
        sodium_memzero(chunk, sizeof chunk);
    }
    close(fd);
    if (!e) {
        e = keystore_parse(ks, b.data ? (const char *)b.data : "", b.len, caps);
        if (e)
            e = ferry_fail_ctx(e, "%s", path);
    }
    fbuf_free(&b);
    return e;
}

/* ---- key derivation, MAC, cipher ---------------------------------------------------------- */

/* Every intermediate secret of one encryption or decryption, in one guarded allocation. */
struct kdf_scratch {
    uint8_t dk[32];                  /* derived key: [0..16) AES key, [16..32) MAC key */
    struct hmac_sha256_ctx hmac;     /* PBKDF2 state keyed by the password */
    struct aes128_ctx aes;           /* expanded AES key */
    struct keccak_ctx keccak;        /* absorbs dk[16..32) */
    uint8_t ctr[AES_BLOCK_SIZE];
    uint8_t mac[KEYSTORE_MAC_LEN];
};

/* Nettle's generic PBKDF2 and CTR take untyped function pointers; these wrappers have exactly
 * those types, so no call goes through a mismatched function pointer (which UBSan rightly flags). */
static void pbkdf2_update(void *ctx, size_t n, const uint8_t *d) { hmac_sha256_update(ctx, n, d); }
static void pbkdf2_digest(void *ctx, size_t n, uint8_t *d) { hmac_sha256_digest(ctx, n, d); }
static void ctr_block(const void *ctx, size_t n, uint8_t *dst, const uint8_t *src) { aes128_encrypt(ctx, n, dst, src); }

static enum ferry_err derive(struct kdf_scratch *sc, const struct keystore *ks, const char *password,
                             size_t password_len)
{
    /* libsodium's scrypt insists on non-NULL pointers, even for an empty password. */
    const uint8_t *pw = password ? (const uint8_t *)password : (const uint8_t *)"";
    if (ks->kdf == KEYSTORE_SCRYPT) {
        if (crypto_pwhash_scryptsalsa208sha256_ll(pw, password_len, ks->salt, ks->salt_len, ks->n, ks->r, ks->p,
                                                  sc->dk, sizeof sc->dk) != 0)
            return ferry_fail(FERRY_ENOMEM, "keystore: scrypt failed (n=%" PRIu64 ", r=%" PRIu32 ", p=%" PRIu32
                                            "): out of memory?", ks->n, ks->r, ks->p);
        return FERRY_OK;
    }
    hmac_sha256_set_key(&sc->hmac, password_len, pw);
    pbkdf2(&sc->hmac, pbkdf2_update, pbkdf2_digest, SHA256_DIGEST_SIZE, ks->c, ks->salt_len, ks->salt, sizeof sc->dk,
           sc->dk);
    return FERRY_OK;
}

static void compute_mac(struct kdf_scratch *sc, const uint8_t *ct, size_t ct_len)
{
    keccak256_init(&sc->keccak);
    keccak256_update(&sc->keccak, sc->dk + 16, 16);
    keccak256_update(&sc->keccak, ct, ct_len);
    keccak256_final(&sc->keccak, sc->mac);
}

static void aes_ctr(struct kdf_scratch *sc, const uint8_t iv[KEYSTORE_IV_LEN], uint8_t *dst, const uint8_t *src,
                    size_t n)
{
    aes128_set_encrypt_key(&sc->aes, sc->dk);
    memcpy(sc->ctr, iv, AES_BLOCK_SIZE);
    ctr_crypt(&sc->aes, ctr_block, AES_BLOCK_SIZE, sc->ctr, n, dst, src);
}

static enum ferry_err check_password_len(size_t password_len)
{
    if (password_len > KEYSTORE_PASSWORD_MAX)
        return ferry_fail(FERRY_ERANGE, "keystore: password of %zu bytes, over the cap of %d", password_len,
                          KEYSTORE_PASSWORD_MAX);
    return FERRY_OK;
}

enum ferry_err keystore_decrypt(const struct keystore *ks, const struct keystore_caps *caps, const char *password,
                                size_t password_len, uint8_t seckey[KEYSTORE_SECRET_LEN])
{
    sodium_memzero(seckey, KEYSTORE_SECRET_LEN);
    enum ferry_err e = check_password_len(password_len);
    if (e)
        return e;
    if ((e = keystore_check_caps(ks, caps)))
        return e;
    if (ks->ciphertext_len < 16 || ks->ciphertext_len > KEYSTORE_SECRET_LEN || ks->salt_len < 1 ||
        ks->salt_len > KEYSTORE_SALT_MAX)
        return ferry_fail(FERRY_EINVAL, "keystore: bad ciphertext or salt length");
    if (sodium_init() < 0)
        return ferry_fail(FERRY_ECRYPTO, "keystore: libsodium failed to initialise");
    struct kdf_scratch *sc = sodium_malloc(sizeof *sc);
    if (!sc)
        return ferry_fail(FERRY_ENOMEM, "keystore: cannot allocate guarded memory");
    if ((e = derive(sc, ks, password, password_len)))
        goto out;
    compute_mac(sc, ks->ciphertext, ks->ciphertext_len);
    if (sodium_memcmp(sc->mac, ks->mac, KEYSTORE_MAC_LEN) != 0) {
        e = ferry_fail(FERRY_EAUTH, "keystore: wrong password (MAC mismatch)");
        goto out;
    }
    /* A short ciphertext is a key whose leading zero bytes were dropped: right-align it. */
    aes_ctr(sc, ks->iv, seckey + KEYSTORE_SECRET_LEN - ks->ciphertext_len, ks->ciphertext, ks->ciphertext_len);
out:
    sodium_free(sc); /* wipes */
    return e;
}

static void uuid_v4(char out[37])
{
    uint8_t u[16];
    randombytes_buf(u, sizeof u);
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    char hex[33];
    hex_encode(hex, u, sizeof u, false);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

enum ferry_err keystore_encrypt(struct keystore *ks, const uint8_t seckey[KEYSTORE_SECRET_LEN],
                                const uint8_t address[ADDRESS_LEN], const char *password, size_t password_len,
                                const struct keystore_params *params)
{
    memset(ks, 0, sizeof *ks);
    if (!params)
        params = &keystore_default_params;
    enum ferry_err e = check_password_len(password_len);
    if (e)
        return e;
    ks->kdf = params->kdf;
    ks->n = params->n;
    ks->r = params->r;
    ks->p = params->p;
    ks->c = params->c;
    /* Never write a file Ferry itself would refuse to read. */
    if ((e = keystore_check_caps(ks, NULL)))
        goto fail;
    if (sodium_init() < 0) {
        e = ferry_fail(FERRY_ECRYPTO, "keystore: libsodium failed to initialise");
        goto fail;
    }
    ks->salt_len = 32;
    randombytes_buf(ks->salt, ks->salt_len);
    randombytes_buf(ks->iv, sizeof ks->iv);
    uuid_v4(ks->id);
    if (address) {
        memcpy(ks->address, address, ADDRESS_LEN);
        ks->has_address = true;
    }
    struct kdf_scratch *sc = sodium_malloc(sizeof *sc);
    if (!sc) {
        e = ferry_fail(FERRY_ENOMEM, "keystore: cannot allocate guarded memory");
        goto fail;
    }
    if (!(e = derive(sc, ks, password, password_len))) {
        ks->ciphertext_len = KEYSTORE_SECRET_LEN;
        aes_ctr(sc, ks->iv, ks->ciphertext, seckey, KEYSTORE_SECRET_LEN);
        compute_mac(sc, ks->ciphertext, ks->ciphertext_len);
        memcpy(ks->mac, sc->mac, KEYSTORE_MAC_LEN);
    }
    sodium_free(sc);
    if (!e)
        return FERRY_OK;
fail:
    memset(ks, 0, sizeof *ks);
    return e;
}

/* ---- serialising -------------------------------------------------------------------------- */

static enum ferry_err add_hex_field(struct fbuf *out, const char *key, const uint8_t *p, size_t n)
{
    enum ferry_err e = fbuf_printf(out, "\"%s\":\"", key);
    if (!e)
        e = hex_encode_buf(out, p, n, false);
    if (!e)
        e = fbuf_addbyte(out, '"');
    return e;
}

enum ferry_err keystore_to_json(const struct keystore *ks, struct fbuf *out)
{
    enum ferry_err e = fbuf_addbyte(out, '{');
    if (!e && ks->has_address) {
        e = add_hex_field(out, "address", ks->address, ADDRESS_LEN);
        if (!e)
            e = fbuf_addbyte(out, ',');
    }
    if (!e)
        e = fbuf_addstr(out, "\"crypto\":{\"cipher\":\"aes-128-ctr\",\"cipherparams\":{");
    if (!e)
        e = add_hex_field(out, "iv", ks->iv, KEYSTORE_IV_LEN);
    if (!e)
        e = fbuf_addstr(out, "},");
    if (!e)
        e = add_hex_field(out, "ciphertext", ks->ciphertext, ks->ciphertext_len);
    if (!e && ks->kdf == KEYSTORE_SCRYPT)
        e = fbuf_printf(out, ",\"kdf\":\"scrypt\",\"kdfparams\":{\"dklen\":32,\"n\":%" PRIu64 ",\"p\":%" PRIu32
                             ",\"r\":%" PRIu32 ",",
                        ks->n, ks->p, ks->r);
    else if (!e)
        e = fbuf_printf(out, ",\"kdf\":\"pbkdf2\",\"kdfparams\":{\"c\":%" PRIu32 ",\"dklen\":32,\"prf\":\"hmac-sha256\",",
                        ks->c);
    if (!e)
        e = add_hex_field(out, "salt", ks->salt, ks->salt_len);
    if (!e)
        e = fbuf_addstr(out, "},");
    if (!e)
        e = add_hex_field(out, "mac", ks->mac, KEYSTORE_MAC_LEN);
    if (!e)
        e = fbuf_addstr(out, "},");
    if (!e && ks->id[0])
        e = fbuf_printf(out, "\"id\":\"%s\",", ks->id);
    if (!e)
        e = fbuf_addstr(out, "\"version\":3}");
    return e;
}

/* ---- the keystore directory --------------------------------------------------------------- */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

enum ferry_err keystore_name_check(const char *name)
{
    size_t n = strlen(name);
    if (n == 0)
        return ferry_fail(FERRY_EINVAL, "key name: empty");
    if (n > KEYSTORE_NAME_MAX)
        return ferry_fail(FERRY_EINVAL, "key name: %zu characters, over the limit of %d", n, KEYSTORE_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!name_char(name[i])) {
            unsigned char c = (unsigned char)name[i];
            if (c >= 0x20 && c < 0x7f)
                return ferry_fail(FERRY_EINVAL,
                                  "key name: character '%c' at position %zu is not allowed (use letters, digits, '.', "
                                  "'_', '-')",
                                  c, i);
            return ferry_fail(FERRY_EINVAL, "key name: byte 0x%02x at position %zu is not allowed", c, i);
        }
    }
    if (name[0] == '.' || name[0] == '-' || name[0] == '_')
        return ferry_fail(FERRY_EINVAL, "key name: must start with a letter or digit");
    return FERRY_OK;
}

enum ferry_err keystore_path(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return ferry_fail(FERRY_ERANGE, "keystore: path %s/%s is too long", dir, name);
    return FERRY_OK;
}

enum ferry_err keystore_dir_create(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path)
        return ferry_fail(FERRY_EINVAL, "keystore: bad directory name");
    memcpy(path, dir, n + 1);
    /* mkdir -p: each missing component gets 0700; existing ones are left as they are. */
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return ferry_fail(FERRY_EIO, "keystore: cannot create directory %s: %s", path, strerror(errno));
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ferry_fail(FERRY_EIO, "keystore: %s is not a directory", dir);
    return FERRY_OK;
}

static enum ferry_err write_all(int fd, const uint8_t *p, size_t n, const char *path)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ferry_fail(FERRY_EIO, "keystore: cannot write %s: %s", path, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return FERRY_OK;
}

enum ferry_err keystore_write_file(const char *dir, const char *name, const struct keystore *ks)
{
    enum ferry_err e = keystore_name_check(name);
    if (e)
        return e;
    char final[4096], tmp[4096];
    if ((e = keystore_path(final, sizeof final, dir, name)))
        return e;
    int n = snprintf(tmp, sizeof tmp, "%s/.%s.tmp-XXXXXX", dir, name);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return ferry_fail(FERRY_ERANGE, "keystore: path %s is too long", final);
    struct fbuf json;
    fbuf_init(&json, KEYSTORE_JSON_MAX);
    if ((e = keystore_to_json(ks, &json)))
        return e;

    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0) {
        e = ferry_fail(FERRY_EIO, "keystore: cannot create a file in %s: %s", dir, strerror(errno));
        fbuf_free(&json);
        return e;
    }
    e = write_all(fd, json.data, json.len, tmp);
    fbuf_free(&json);
    if (!e && fchmod(fd, 0600) != 0)
        e = ferry_fail(FERRY_EIO, "keystore: cannot chmod %s: %s", tmp, strerror(errno));
    if (!e && fsync(fd) != 0)
        e = ferry_fail(FERRY_EIO, "keystore: cannot fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !e)
        e = ferry_fail(FERRY_EIO, "keystore: cannot close %s: %s", tmp, strerror(errno));
    if (!e) {
        /* link(2) publishes the complete file under its name and, unlike rename(2), refuses to
         * replace an existing key. */
        if (link(tmp, final) != 0) {
            int err = errno;
            if (err == EEXIST)
                e = ferry_fail(FERRY_EEXIST, "keystore: a key named \"%s\" already exists in %s", name, dir);
            else if (err == EPERM || err == ENOTSUP || err == EOPNOTSUPP || err == ENOSYS) {
                /* A file system without hard links: check, then rename (racy, but only there). */
                if (access(final, F_OK) == 0)
                    e = ferry_fail(FERRY_EEXIST, "keystore: a key named \"%s\" already exists in %s", name, dir);
                else if (rename(tmp, final) != 0)
                    e = ferry_fail(FERRY_EIO, "keystore: cannot rename %s to %s: %s", tmp, final, strerror(errno));
            } else {
                e = ferry_fail(FERRY_EIO, "keystore: cannot link %s to %s: %s", tmp, final, strerror(err));
            }
        }
    }
    unlink(tmp); /* after link, or on failure; harmless when rename already moved it */
    if (!e) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            if (fsync(dfd) != 0)
                e = ferry_fail(FERRY_EIO, "keystore: cannot fsync directory %s: %s", dir, strerror(errno));
            close(dfd);
        }
    }
    return e;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct keystore_entry *)a)->name, ((const struct keystore_entry *)b)->name);
}

enum ferry_err keystore_dir_list(const char *dir, struct keystore_entry **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return FERRY_OK;
        return ferry_fail(FERRY_EIO, "keystore: cannot open directory %s: %s", dir, strerror(errno));
    }
    struct keystore_entry *list = NULL;
    size_t n = 0, alloc = 0;
    enum ferry_err e = FERRY_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", hidden files and our own temporary files */
        char path[4096];
        struct stat st;
        if (keystore_path(path, sizeof path, dir, de->d_name) || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == alloc) {
            size_t na = alloc ? alloc * 2 : 16;
            struct keystore_entry *nl = realloc(list, na * sizeof *nl);
            if (!nl) {
                e = ferry_fail(FERRY_ENOMEM, "keystore: out of memory listing %s", dir);
                break;
            }
            list = nl;
            alloc = na;
        }
        struct keystore_entry *ent = &list[n++];
        memset(ent, 0, sizeof *ent);
        size_t nl = strnlen(de->d_name, KEYSTORE_NAME_MAX); /* a longer name is cut here and flagged below */
        memcpy(ent->name, de->d_name, nl);
        ent->name[nl] = '\0';
        ent->err = keystore_name_check(de->d_name);
        if (ent->err)
            ferry_fail_ctx(ent->err, "the file name is not a usable key name (rename the file)");
        else
            ent->err = keystore_read_file(&ent->ks, path, NULL);
        if (ent->err)
            snprintf(ent->errmsg, sizeof ent->errmsg, "%s", ferry_errmsg());
    }
    closedir(d);
    if (e) {
        free(list);
        return e;
    }
    if (n)
        qsort(list, n, sizeof *list, entry_cmp);
    ferry_err_clear();
    *out = list;
    *count = n;
    return FERRY_OK;
}
