#include "evm_rig.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ferry/hex.h"
#include "testutil.h"

bool evm_rig_start(struct evm_rig *r, const char *const *contracts)
{
    memset(r, 0, sizeof *r);
    for (; *contracts; contracts++) {
        char p[96];
        snprintf(p, sizeof p, "build/contracts/%s.json", *contracts);
        if (access(p, R_OK) != 0) {
            fprintf(stderr, "# skipped: %s not built (scripts/contracts.sh build)\n", p);
            return false;
        }
    }
    const char *why;
    if (!anvil_start(&r->anvil, &why, (const char *[]){"--chain-id", "31337", NULL})) {
        fprintf(stderr, "# skipped: %s\n", why);
        return false;
    }
    r->up = true;
    return true;
}

static void on_flush(struct loop_hook *hk, void *ud)
{
    (void)hk;
    struct evm_rig *r = ud;
    if (store_pending(r->st))
        (void)store_flush(r->st);
}

void evm_rig_open(struct evm_rig *r, const char *name)
{
    assert_int_equal(loop_new(&r->loop), FERRY_OK);
    snprintf(r->dir, sizeof r->dir, "/tmp/ferry-%s-XXXXXX", name);
    assert_non_null(mkdtemp(r->dir));
    assert_int_equal(store_open(&r->st, "leveldb", r->dir), FERRY_OK);
    loop_hook_init(r->loop, &r->flush, on_flush, r);
    loop_hook_start(&r->flush);
    assert_int_equal(signer_new(&r->sg), FERRY_OK);
}

void evm_rig_add_key(struct evm_rig *r, const char *name, const char *hex)
{
    uint8_t key[32];
    assert_int_equal(hex_decode_exact(key, 32, hex, HEX_PREFIX_FORBIDDEN), FERRY_OK);
    assert_int_equal(signer_add_secret(r->sg, name, key), FERRY_OK);
}

void evm_rig_open_chain(struct evm_rig *r, cJSON *cfg, const struct chain_env *env)
{
    r->ops = chain_family("evm");
    assert_non_null(r->ops);
    assert_int_equal(r->ops->open(&r->c, cfg, env), FERRY_OK);
    cJSON_Delete(cfg); /* borrowed for open only: the adapter keeps its own copy */
    assert_int_equal(r->ops->start(r->c), FERRY_OK);
}

void evm_rig_close(struct evm_rig *r)
{
    if (r->c)
        r->ops->close(r->c);
    if (r->st)
        assert_int_equal(store_close(r->st), FERRY_OK);
    if (r->loop) {
        loop_hook_stop(&r->flush);
        loop_free(r->loop);
    }
    signer_free(r->sg);
    if (r->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", r->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "# could not remove %s\n", r->dir);
    }
    if (r->up)
        anvil_stop(&r->anvil);
}

void evm_rig_run_until(struct evm_rig *r, bool (*done)(void), int ms, const char *what)
{
    uint64_t end = loop_clock_ms() + (uint64_t)ms;
    while (!done()) {
        if (loop_clock_ms() > end)
            fail_msg("timed out waiting for %s", what);
        assert_int_equal(loop_run_once(r->loop, 20), FERRY_OK);
    }
}

void evm_rig_record_submission(struct evm_rig *r, const struct chain_submission *s)
{
    if (r->nsubs < 64) {
        r->subs[r->nsubs] = *s;
        snprintf(r->sub_ids[r->nsubs], sizeof r->sub_ids[0], "%s", s->id);
        r->subs[r->nsubs].id = r->sub_ids[r->nsubs];
        r->subs[r->nsubs].error = NULL;
        r->nsubs++;
    }
}

void evm_rig_no_reorg(void *engine, struct chain *c, uint64_t from, const char *detail)
{
    (void)engine;
    (void)c;
    fail_msg("unexpected deep reorg from %" PRIu64 ": %s", from, detail);
}
