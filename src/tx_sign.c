#include "ferry/tx_sign.h"

#include <sodium.h>

enum ferry_err eth_tx_sign(struct signer *s, const char *key, struct eth_tx *tx)
{
    uint8_t digest[32], sig[SIGNATURE_LEN];
    enum ferry_err e = eth_tx_signing_hash(tx, digest);
    if (e)
        return e;
    e = signer_sign_digest(s, key, digest, sig);
    if (!e)
        e = eth_tx_set_signature(tx, sig);
    sodium_memzero(sig, sizeof sig);
    return e;
}
