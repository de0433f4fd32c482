/* The signer: the only module that ever holds key material.
 * Secret keys live in libsodium guarded memory (sodium_malloc: guard pages, mlock, no core dumps),
 * kept PROT_NOACCESS except for the instant of a signature, and wiped when freed.
 * Everything else asks it to sign a 32-byte digest by key name and never sees the key.
 * Submitter keys (pay gas) and attester keys (sign attestations) are both just named keys here. */
#ifndef FERRY_SIGNER_H
#define FERRY_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/address.h"
#include "ferry/err.h"

struct signer;

#define SIGNER_NAME_MAX 64
#define SIGNATURE_LEN 65 /* r (32) || s (32) || v (1, the recovery id 0 or 1) */

enum ferry_err signer_new(struct signer **out) FERRY_WUR;
/* Wipes and frees every key. NULL is fine. */
void signer_free(struct signer *s);

/* Decrypts a Web3 Secret Storage v3 keystore file and holds its key under `name`.
 * The password is not kept. Fails with FERRY_EAUTH on a wrong password. */
enum ferry_err signer_load_keystore(struct signer *s, const char *name, const char *path,
                                    const char *password, size_t password_len) FERRY_WUR;

/* Holds a raw 32-byte secret key under `name` (a copy is made; the caller wipes its own).
 * For development keys and tests; production keys come from keystores. */
enum ferry_err signer_add_secret(struct signer *s, const char *name, const uint8_t seckey[32]) FERRY_WUR;

/* The address of the named key. FERRY_ENOTFOUND if there is no such key. */
enum ferry_err signer_address(const struct signer *s, const char *name, uint8_t addr[ADDRESS_LEN]) FERRY_WUR;

/* Signs a 32-byte digest with the named key: deterministic (RFC 6979), low-s, recoverable.
 * sig receives r || s || recid. */
enum ferry_err signer_sign_digest(struct signer *s, const char *name, const uint8_t digest[32],
                                  uint8_t sig[SIGNATURE_LEN]) FERRY_WUR;

/* Recovers the signer's address from a digest and a 65-byte signature (v = 0/1 or 27/28).
 * Needs no key; exposed here because it shares the secp256k1 context. */
enum ferry_err signer_recover(const uint8_t digest[32], const uint8_t sig[SIGNATURE_LEN],
                              uint8_t addr[ADDRESS_LEN]) FERRY_WUR;

#endif
