/* The fixture the EVM adapter tests share: a private anvil (chain id 31337), a loop whose turns
 * end with the store's group commit (as in the daemon), a LevelDB store in a temporary directory,
 * a signer, and one chain opened through the "evm" family's ops. Each test keeps its own env
 * callbacks and contracts. */
#ifndef FERRY_TEST_EVM_RIG_H
#define FERRY_TEST_EVM_RIG_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "anvil_run.h"
#include "ferry/chain.h"
#include "ferry/loop.h"
#include "ferry/signer.h"
#include "ferry/store.h"

struct evm_rig {
    struct anvil_run anvil;
    bool up; /* anvil runs: the tests that need it go on, the others skip */
    struct loop *loop;
    struct loop_hook flush;
    struct store *st;
    struct signer *sg;
    char dir[64];
    const struct chain_ops *ops;
    struct chain *c;
    /* the submission reports so far (the first 64; id points into sub_ids, error dropped) */
    struct chain_submission subs[64];
    char sub_ids[64][64];
    size_t nsubs;
};

/* Starts anvil when build/contracts/NAME.json exists for every name in `contracts`
 * (NULL-terminated); false, with "# skipped: why" on stderr, when an artifact or anvil is
 * missing (r->up stays false). */
bool evm_rig_start(struct evm_rig *r, const char *const *contracts);
/* The loop, the store in /tmp/ferry-<name>-XXXXXX with its end-of-turn flush, an empty signer. */
void evm_rig_open(struct evm_rig *r, const char *name);
/* Adds a signer key from 64 hex digits (no 0x). */
void evm_rig_add_key(struct evm_rig *r, const char *name, const char *hex);
/* Opens the chain through the "evm" ops with cfg (freed here) and env, and starts it. */
void evm_rig_open_chain(struct evm_rig *r, cJSON *cfg, const struct chain_env *env);
/* Closes what is open, removes the directory, stops anvil. */
void evm_rig_close(struct evm_rig *r);
/* Turns the loop until done() (20 ms waits); fails the test after ms, naming `what`. */
void evm_rig_run_until(struct evm_rig *r, bool (*done)(void), int ms, const char *what);
/* Keeps a copy of a submission report (an env's on_submission calls it). */
void evm_rig_record_submission(struct evm_rig *r, const struct chain_submission *s);
/* An env's on_deep_reorg for tests where none may happen: fails the test. */
void evm_rig_no_reorg(void *engine, struct chain *c, uint64_t from, const char *detail);

/* Skips a test when anvil is not running (evm_rig_start said why). */
#define EVM_RIG_NEED_ANVIL(r)                                                                                  \
    do {                                                                                                       \
        if (!(r)->up)                                                                                          \
            skip();                                                                                            \
    } while (0)

#endif
