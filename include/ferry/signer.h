/* The signer: the only module that ever holds key material.
 * Secret keys live in libsodium guarded memory (sodium_malloc: guard pages, mlock, no core dumps),
 * kept PROT_NOACCESS except for the instant of a signature (or an explicit signing window, see
 * signer_open), and wiped when freed.
 * Everything else asks it to sign a 32-byte digest by key name and never sees the key.
 * Submitter keys (pay gas) and attester keys (sign attestations) are both just named keys here. */
#ifndef FERRY_SIGNER_H
#define FERRY_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/address.h"
#include "ferry/err.h"
#include "ferry/keystore.h"

struct signer;

#define SIGNER_NAME_MAX 128 /* bytes with the NUL; a keystore file name (KEYSTORE_NAME_MAX) fits */
#define SIGNATURE_LEN 65 /* r (32) || s (32) || v (1, the recovery id 0 or 1) */

/* One secp256k1 context per signer, randomised once here (side-channel blinding) with libsodium
 * randomness; signing never re-creates or re-randomises it. */
enum ferry_err signer_new(struct signer **out) FERRY_WUR;
/* Wipes and frees every key. NULL is fine. */
void signer_free(struct signer *s);

/* Decrypts a Web3 Secret Storage v3 keystore file and holds its key under `name`.
 * The password is not kept. Fails with FERRY_EAUTH on a wrong password. */
enum ferry_err signer_load_keystore(struct signer *s, const char *name, const char *path,
                                    const char *password, size_t password_len) FERRY_WUR;

/* The same for a keystore already read and parsed (keystore_read_file): the file is read once,
 * so what was decrypted is exactly what the caller goes on to store. When the keystore carries an
 * "address" field it must match the decrypted key (FERRY_EINVAL otherwise: a mislabelled file). */
enum ferry_err signer_add_keystore(struct signer *s, const char *name, const struct keystore *ks,
                                   const char *password, size_t password_len) FERRY_WUR;

/* Makes a fresh random key (libsodium randombytes) and holds it under `name`. */
enum ferry_err signer_generate(struct signer *s, const char *name) FERRY_WUR;

/* Encrypts the named key into a keystore (fresh salt, iv and id) under the password, recording its
 * address. The key never leaves the signer in the clear. */
enum ferry_err signer_export_keystore(struct signer *s, const char *name, const char *password,
                                      size_t password_len, const struct keystore_params *params,
                                      struct keystore *out) FERRY_WUR;

/* Holds a raw 32-byte secret key under `name` (a copy is made; the caller wipes its own).
 * For development keys and tests; production keys come from keystores. */
enum ferry_err signer_add_secret(struct signer *s, const char *name, const uint8_t seckey[32]) FERRY_WUR;

/* The address of the named key. FERRY_ENOTFOUND if there is no such key. */
enum ferry_err signer_address(const struct signer *s, const char *name, uint8_t addr[ADDRESS_LEN]) FERRY_WUR;

/* Signs a 32-byte digest with the named key: deterministic (RFC 6979), low-s, recoverable.
 * sig receives r || s || recid. */
enum ferry_err signer_sign_digest(struct signer *s, const char *name, const uint8_t digest[32],
                                  uint8_t sig[SIGNATURE_LEN]) FERRY_WUR;

/* A signing window for bursts. Outside a window every signature opens the key's page for reading
 * and closes it again: two mprotect(2) calls, which cost 7-9% of a signature on the (virtualised)
 * machine bench_sign was measured on. signer_open makes the named key readable (never writable)
 * until signer_seal, so signatures in between skip those calls; the event loop opens the keys it
 * needs, signs everything due in one iteration, and seals before it sleeps. */
enum ferry_err signer_open(struct signer *s, const char *name) FERRY_WUR;
/* Closes every open key (PROT_NOACCESS again). */
enum ferry_err signer_seal(struct signer *s) FERRY_WUR;

/* Recovers the signer's address from a digest and a 65-byte signature (v = 0/1 or 27/28).
 * High-s signatures are refused (EIP-2: they are the malleable twin of a low-s one).
 * Needs no key and no signer (it uses libsecp256k1's static context). */
enum ferry_err signer_recover(const uint8_t digest[32], const uint8_t sig[SIGNATURE_LEN],
                              uint8_t addr[ADDRESS_LEN]) FERRY_WUR;

#endif
