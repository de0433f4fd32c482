/* Set-up of a test's private anvil (started with anvil_run.h): transactions from anvil's unlocked
 * account 0, contract deployment from build/contracts/NAME.json, and views. Blocking, for the
 * test's own set-up only, never the code under test; every failure fails the test. */
#ifndef FERRY_TEST_ANVIL_DEPLOY_H
#define FERRY_TEST_ANVIL_DEPLOY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ferry/buf.h"

/* anvil's first dev account: unlocked, rich, and the owner of what the tests deploy. */
#define ANVIL_DEV0 "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"

/* A transaction from ANVIL_DEV0 (to NULL: a deployment), waited for (anvil mines it at once);
 * the receipt, its status asserted to be 1. The caller frees it. */
cJSON *anvil_dev0_tx(const char *url, const char *to, const uint8_t *data, size_t n);

/* The calldata of fn_sig(args[0..n)) appended to out. */
void anvil_calldata(struct fbuf *out, const char *fn_sig, const char *const *args, size_t n);

/* fn_sig(args) as a transaction from ANVIL_DEV0 to `to`, waited for. */
void anvil_call_tx(const char *url, const char *to, const char *fn_sig, const char *const *args, size_t n);

/* fn_sig(args) as an eth_call on `to` at latest: the returned bytes into out (exactly outlen). */
void anvil_view(const char *url, const char *to, const char *fn_sig, const char *const *args, size_t n, uint8_t *out,
                size_t outlen);

/* Deploys build/contracts/NAME.json from ANVIL_DEV0, with constructor arguments (ctor: their
 * tuple type, NULL: none); its address into out, the block it was deployed in into *block
 * (when not NULL). */
void anvil_deploy(const char *url, const char *name, const char *ctor, const char *const *args, size_t n,
                  char out[43], uint64_t *block);

#endif
