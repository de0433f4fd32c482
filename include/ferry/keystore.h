/* Web3 Secret Storage v3 keystores (the files geth and `cast wallet` write): parse with caps,
 * decrypt, encrypt, serialise, and a directory of named keystore files.
 *
 * A keystore read from a file is hostile until proven otherwise: keystore_parse() checks every
 * field and caps the KDF cost (memory and time) before anything expensive runs, so a file asking
 * for scrypt n=2^30 is refused in microseconds.
 *
 * Key bytes: keystore_decrypt() writes the secret into a buffer the caller provides (the signer
 * passes libsodium guarded memory) and keystore_encrypt() reads it from one; every intermediate
 * secret (derived key, AES and HMAC state) lives in guarded memory and is wiped. Only the signer
 * calls these two. */
#ifndef FERRY_KEYSTORE_H
#define FERRY_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/address.h"
#include "ferry/buf.h"
#include "ferry/err.h"

#define KEYSTORE_SECRET_LEN 32
#define KEYSTORE_SALT_MAX 128
#define KEYSTORE_IV_LEN 16
#define KEYSTORE_MAC_LEN 32
#define KEYSTORE_ID_MAX 64          /* the "id" (a UUID, 36 characters) is kept as text */
#define KEYSTORE_FILE_MAX (64 << 10) /* a real keystore is under 1 KiB */
#define KEYSTORE_PASSWORD_MAX 4096

enum keystore_kdf {
    KEYSTORE_SCRYPT, /* memory-hard; what geth and cast write */
    KEYSTORE_PBKDF2  /* PBKDF2-HMAC-SHA256 (the only prf the spec names) */
};

/* The most work a keystore may ask for. A file beyond any cap is refused before the KDF runs. */
struct keystore_caps {
    uint64_t scrypt_n_max;    /* largest n (a power of two) */
    uint32_t scrypt_r_max;    /* largest block size r */
    uint32_t scrypt_p_max;    /* largest parallelism p */
    uint64_t scrypt_mem_max;  /* largest 128 * n * r, the bytes scrypt allocates */
    uint64_t scrypt_work_max; /* largest n * r * p, proportional to the time scrypt takes */
    uint32_t pbkdf2_c_max;    /* largest PBKDF2 iteration count */
};

/* The caps Ferry applies to every file: geth's standard scrypt (n=2^18, r=8, p=1: 256 MiB, ~1 s)
 * is the most a file may ask for; PBKDF2 up to 2^22 iterations (a few seconds). */
extern const struct keystore_caps keystore_default_caps;

/* Parameters for writing a keystore. */
struct keystore_params {
    enum keystore_kdf kdf;
    uint64_t n;  /* scrypt */
    uint32_t r;  /* scrypt */
    uint32_t p;  /* scrypt */
    uint32_t c;  /* pbkdf2 */
};

/* geth's and cast's standard: scrypt n=262144, r=8, p=1. */
extern const struct keystore_params keystore_default_params;

/* A parsed keystore: everything but the secret. Plain data; copying it is fine. */
struct keystore {
    enum keystore_kdf kdf;
    uint64_t n;
    uint32_t r, p, c;
    uint8_t salt[KEYSTORE_SALT_MAX];
    size_t salt_len;
    uint8_t iv[KEYSTORE_IV_LEN];
    /* Normally 32 bytes; early geth wrote keys with leading zero bytes dropped (30 or 31 bytes),
     * which decrypt to the key left-padded with zeros. */
    uint8_t ciphertext[KEYSTORE_SECRET_LEN];
    size_t ciphertext_len;
    uint8_t mac[KEYSTORE_MAC_LEN];
    char id[KEYSTORE_ID_MAX + 1]; /* "" when the file had none */
    bool has_address;             /* the optional "address" field geth writes; not authenticated */
    uint8_t address[ADDRESS_LEN];
};

/* Parses and validates keystore JSON text (json[0..len), need not be NUL-terminated) against caps
 * (NULL: keystore_default_caps) without running the KDF. Accepts "crypto" or "Crypto", requires
 * version 3, ignores unknown fields. Errors name the field and what is wrong. */
enum ferry_err keystore_parse(struct keystore *ks, const char *json, size_t len,
                              const struct keystore_caps *caps) FERRY_WUR;

/* Reads and parses a keystore file (a regular file of at most KEYSTORE_FILE_MAX bytes). */
enum ferry_err keystore_read_file(struct keystore *ks, const char *path, const struct keystore_caps *caps) FERRY_WUR;

/* Checks the KDF parameters against caps (NULL: defaults). keystore_parse and keystore_decrypt call it. */
enum ferry_err keystore_check_caps(const struct keystore *ks, const struct keystore_caps *caps) FERRY_WUR;

/* Derives the key from the password, checks the MAC in constant time and decrypts into seckey
 * (which should be guarded memory). FERRY_EAUTH on a wrong password; seckey is zeroed on any failure.
 * Does not check that the result is a valid secp256k1 key (the signer does). */
enum ferry_err keystore_decrypt(const struct keystore *ks, const struct keystore_caps *caps, const char *password,
                                size_t password_len, uint8_t seckey[KEYSTORE_SECRET_LEN]) FERRY_WUR;

/* Encrypts seckey under the password with fresh random salt, iv and id (libsodium randombytes).
 * address (may be NULL) is recorded in the optional "address" field. */
enum ferry_err keystore_encrypt(struct keystore *ks, const uint8_t seckey[KEYSTORE_SECRET_LEN],
                                const uint8_t address[ADDRESS_LEN], const char *password, size_t password_len,
                                const struct keystore_params *params) FERRY_WUR;

/* Appends the keystore as compact JSON in the shape geth and cast write (plus "address" when known). */
enum ferry_err keystore_to_json(const struct keystore *ks, struct fbuf *out) FERRY_WUR;

/* ---- A keystore directory: one file per key, the file name is the key's name ---------------- */

#define KEYSTORE_NAME_MAX 127 /* characters; fits SIGNER_NAME_MAX */

/* A name is 1..KEYSTORE_NAME_MAX characters of [A-Za-z0-9._-] starting with a letter or digit,
 * so it is a safe file name (no '/', no leading '.', no "..") and reads the same everywhere. */
enum ferry_err keystore_name_check(const char *name) FERRY_WUR;

/* Creates dir (and missing parents) with mode 0700 if it does not exist. */
enum ferry_err keystore_dir_create(const char *dir) FERRY_WUR;

/* Writes ks to dir/name atomically with mode 0600: a temporary file, fsync, then link(2) to the
 * final name, which fails with FERRY_EEXIST rather than replace an existing key; then fsync of the
 * directory. Nothing is left behind on failure. */
enum ferry_err keystore_write_file(const char *dir, const char *name, const struct keystore *ks) FERRY_WUR;

/* dir/name into out[cap]; FERRY_ERANGE if it does not fit. */
enum ferry_err keystore_path(char *out, size_t cap, const char *dir, const char *name) FERRY_WUR;

struct keystore_entry {
    char name[KEYSTORE_NAME_MAX + 1];
    enum ferry_err err;  /* FERRY_OK when the file parsed */
    char errmsg[256];    /* why it did not */
    struct keystore ks;  /* valid when err == FERRY_OK */
};

/* Lists the keystores in dir sorted by name (no password needed: nothing is decrypted).
 * Hidden files and anything but regular files are skipped; files that fail to parse are listed
 * with their error. A missing dir is an empty list. Free *out with free(). */
enum ferry_err keystore_dir_list(const char *dir, struct keystore_entry **out, size_t *count) FERRY_WUR;

#endif
