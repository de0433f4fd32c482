/* Ethereum addresses: from public keys, and EIP-55 mixed-case checksums. */
#ifndef FERRY_ADDRESS_H
#define FERRY_ADDRESS_H

#include <stdint.h>

#include "ferry/err.h"

#define ADDRESS_LEN 20
#define ADDRESS_STR 43 /* "0x" + 40 digits + NUL */

/* keccak256(x || y)[12..32] of an uncompressed public key given as its 64 bytes (no 0x04 tag). */
void address_from_pubkey(uint8_t out[ADDRESS_LEN], const uint8_t pub64[64]);

/* EIP-55 checksummed text form, "0x" included. */
void address_to_checksum(char out[ADDRESS_STR], const uint8_t addr[ADDRESS_LEN]);

/* Parses "0x" + 40 hex digits. All-lowercase and all-uppercase are accepted as they are;
 * mixed case must carry a correct EIP-55 checksum (a typo is caught, not silently used). */
enum ferry_err address_parse(uint8_t out[ADDRESS_LEN], const char *s) FERRY_WUR;

#endif
