/* ferry tx send: an operator transaction (CHAIN_CALL_RAW) through the chain's own transaction
 * manager, signed by the configured submitter key, with the same write-ahead and nonce line the
 * daemon uses; waits for the receipt and prints the hash and the status. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ferry/address.h"
#include "ferry/buf.h"
#include "ferry/hex.h"
#include "ferry/u256.h"

#define TX_DATA_MAX (1u << 20)

struct tx_wait {
    char id[128];
    bool done;
    struct chain_submission last;
    char error[256];
    bool have;
};

static void on_sub(void *ud, const struct chain_submission *s)
{
    struct tx_wait *w = ud;
    if (strcmp(s->id, w->id) != 0)
        return; /* another submission of this key, reported at start */
    w->last = *s;
    w->last.id = w->id;
    w->have = true;
    snprintf(w->error, sizeof w->error, "%s", s->error ? s->error : "");
    w->last.error = w->error;
    w->done = s->state != CHAIN_SUB_PENDING && s->state != CHAIN_SUB_UNKNOWN;
}

static bool tx_done(void *ud) { return ((struct tx_wait *)ud)->done; }

int cmd_tx(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "send") != 0) {
        if (argc >= 2)
            return cli_usage_error("tx", "unknown subcommand '%s'", argv[1]);
        cli_usage(stderr, "tx");
        return CLI_USAGE;
    }
    const char *config = NULL, *chain = NULL, *to_s = NULL, *data_s = NULL, *value_s = NULL, *id_s = NULL;
    unsigned long timeout_s = 120;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        if (i + 1 >= argc || o[0] != '-')
            return cli_usage_error("tx", o[0] == '-' ? "%s: missing value" : "%s: unexpected argument", o);
        const char *v = argv[++i];
        if (!strcmp(o, "--config"))
            config = v;
        else if (!strcmp(o, "--chain"))
            chain = v;
        else if (!strcmp(o, "--to"))
            to_s = v;
        else if (!strcmp(o, "--data"))
            data_s = v;
        else if (!strcmp(o, "--value"))
            value_s = v;
        else if (!strcmp(o, "--id"))
            id_s = v;
        else if (!strcmp(o, "--timeout")) {
            char *end;
            timeout_s = strtoul(v, &end, 10);
            if (*end || !*v || timeout_s == 0 || timeout_s > 86400)
                return cli_usage_error("tx", "--timeout: expected seconds from 1 to 86400, got \"%s\"", v);
        } else
            return cli_usage_error("tx", "%s: unknown option", o);
    }
    if (!config)
        return cli_usage_error("tx", "%s", "--config FILE is required");
    if (!chain)
        return cli_usage_error("tx", "%s", "--chain NAME is required");
    if (!to_s)
        return cli_usage_error("tx", "%s", "--to ADDR is required");

    struct chain_call call = {.kind = CHAIN_CALL_RAW};
    if (address_parse(call.to + 12, to_s))
        return cli_usage_error("tx", "--to: not an address (%s)", ferry_errmsg());
    u256 value = u256_from_u64(0);
    if (value_s && u256_from_dec(&value, value_s))
        return cli_usage_error("tx", "--value: expected a whole number of wei in decimal, got \"%s\"",
                               value_s);
    u256_to_be(call.value_be, value);
    struct fbuf data;
    fbuf_init(&data, TX_DATA_MAX);
    if (data_s && hex_decode_buf(&data, data_s, HEX_PREFIX_REQUIRED)) {
        char why[256];
        snprintf(why, sizeof why, "%s", ferry_errmsg());
        return cli_usage_error("tx", "--data: expected 0x-prefixed hex (%s)", why);
    }
    call.data = data.data;
    call.data_len = data.len;

    struct tx_wait w = {0};
    if (id_s) {
        if (!*id_s || strlen(id_s) >= sizeof w.id) {
            fbuf_free(&data);
            return cli_usage_error("tx", "--id: expected 1 to 127 characters, got \"%s\"", id_s);
        }
        snprintf(w.id, sizeof w.id, "%s", id_s);
    } else {
        snprintf(w.id, sizeof w.id, "cli-%lld-%ld", (long long)time(NULL), (long)getpid());
    }

    struct cli_chain cc = {.on_sub = on_sub, .ud = &w};
    int rc = cli_chain_open(&cc, config, chain, true);
    if (rc)
        goto out;
    if (cc.ops->submit(cc.c, w.id, &call)) {
        cli_error("chain %s: the transaction was not sent", chain);
        rc = CLI_FAIL;
        goto out;
    }
    if (cli_chain_run(&cc, tx_done, &w, (uint64_t)timeout_s * 1000)) {
        struct chain_submission s;
        enum chain_submission_state st = cc.ops->submission(cc.c, w.id, &s);
        char hash[67] = "";
        if (st != CHAIN_SUB_UNKNOWN)
            hex_encode(hash, s.tx_hash, 32, true);
        fprintf(stderr, "ferry: no receipt within %lus (state %s%s%s); the transaction manager resumes it at the "
                        "next start; run again with --id %s to follow it\n",
                timeout_s, chain_submission_state_name(st), hash[0] ? ", tx " : "", hash, w.id);
        rc = CLI_FAIL;
        goto out;
    }
    char hash[67];
    hex_encode(hash, w.last.tx_hash, 32, true);
    printf("id: %s\n", w.id);
    switch (w.last.state) {
    case CHAIN_SUB_MINED:
    case CHAIN_SUB_CONFIRMED:
        printf("tx: %s\nstatus: %s in block %" PRIu64 "\n", hash,
               w.last.state == CHAIN_SUB_MINED ? "mined (success; not yet at the confirmation depth)" : "confirmed",
               w.last.block_number);
        rc = CLI_OK;
        break;
    case CHAIN_SUB_REVERTED:
        printf("tx: %s\nstatus: reverted in block %" PRIu64 "%s%s\n", hash, w.last.block_number,
               w.error[0] ? ": " : "", w.error);
        rc = CLI_FAIL;
        break;
    default:
        printf("status: %s%s%s\n", chain_submission_state_name(w.last.state), w.error[0] ? ": " : "", w.error);
        rc = CLI_FAIL;
        break;
    }
out:
    cli_chain_close(&cc);
    fbuf_free(&data);
    return rc;
}
