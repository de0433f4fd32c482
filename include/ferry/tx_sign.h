/* Signing a transaction with a key held by the signer: the one place where ferry/tx.h and
 * ferry/signer.h meet, so that neither module knows the other. */
#ifndef FERRY_TX_SIGN_H
#define FERRY_TX_SIGN_H

#include "ferry/signer.h"
#include "ferry/tx.h"

/* Signs tx with the named key (EIP-155 for legacy, EIP-1559 for type 2) and attaches the
 * signature. Inside a signer_open/signer_seal window this skips the key page's mprotect calls. */
enum ferry_err eth_tx_sign(struct signer *s, const char *key, struct eth_tx *tx) FERRY_WUR;

#endif
