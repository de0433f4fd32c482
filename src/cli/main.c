#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "ferry/err.h"
#include "ferry/version.h"

static int cmd_help(int argc, char **argv);

static const struct cli_command commands[] = {
    {"version", "print Ferry's version", "ferry version", cmd_version},
    {"keys", "manage the keystore (new, import, list, show)",
     "ferry keys new NAME | import FILE [NAME] | list | show NAME\n"
     "  new NAME                  make a key and store it encrypted as DIR/NAME\n"
     "  import FILE [NAME]        store a geth/cast keystore after checking the password opens it\n"
     "                            (NAME defaults to its address)\n"
     "  list                      names and addresses (no password needed)\n"
     "  show NAME                 address, file and KDF, after checking the password opens it\n"
     "  [--keystore-dir DIR]      keystore directory (default: $FERRY_KEYSTORE_DIR or ~/.ferry/keys)\n"
     "  [--password-file FILE]    read the password from the first line of FILE\n"
     "                            (default: $FERRY_PASSWORD, else a prompt on a terminal;\n"
     "                            there is no --password option: command lines are visible to all)\n"
     "  [--scrypt-n N]            scrypt cost for new keys, a power of two from 1024 to 262144\n"
     "                            (default 262144, the geth standard)",
     cmd_keys},
    {"config", "check a config file, list the config keys",
     "ferry config check FILE | keys [--markdown]\n"
     "  check FILE          check FILE; print a summary, or every problem with its path (exit 1)\n"
     "  keys [--markdown]   list every config key with its type, default and meaning",
     cmd_config},
    {"chain", "show a chain's head, scan cursor, endpoints and submitter",
     "ferry chain status NAME --config FILE [--json]\n"
     "  status NAME          head, scan cursor and lag, endpoints and their health, submitter address,\n"
     "                       nonce and balance of chain NAME (asks the chain; no daemon needed)\n"
     "  --config FILE        the daemon's config (keystore password: keystore.password_file or $FERRY_PASSWORD)\n"
     "  --json               the adapter's status object as JSON",
     cmd_chain},
    {"tx", "send an operator transaction with a chain's submitter key",
     "ferry tx send --config FILE --chain NAME --to ADDR [--data HEX] [--value WEI] [--id ID] [--timeout SECONDS]\n"
     "  --to ADDR            the recipient (an EVM address)\n"
     "  --data HEX           calldata, 0x-prefixed (default: none)\n"
     "  --value WEI          wei to send, in decimal (default: 0)\n"
     "  --id ID              submission id: sending again with the same id sends nothing twice\n"
     "                       (default: a new id per run)\n"
     "  --timeout SECONDS    wait this long for the receipt (default 120)\n"
     "  Goes through the chain's transaction manager (write-ahead, fees, replacement) and waits for\n"
     "  the receipt; prints the transaction hash and its status. The daemon must not be running\n"
     "  (the store is not shared yet).",
     cmd_tx},
    {"start", "run the daemon in the foreground",
     "ferry start --config FILE\n"
     "  --config FILE   the daemon's config (see `ferry config check`); logs are JSON lines on stderr;\n"
     "                  SIGTERM or SIGINT stops it after flushing the store (exit 0)",
     cmd_start},
    {"packets", "list the relayer's packets (from the daemon, or its store when it is down)",
     "ferry packets [--pending | --state STATE] [--chain NAME] [--json] [--config FILE]\n"
     "  --pending        only packets not yet settled (not ACKED or TIMED_OUT)\n"
     "  --state STATE    only packets in STATE (SENT, DELIVERING, ..., ACKED, TIMED_OUT)\n"
     "  --chain NAME     only packets leaving or arriving on chain NAME (a name from the config)\n"
     "  --json           {\"source\": \"api\"|\"store\", \"packets\": [records]} for scripts\n"
     "  --config FILE    the daemon's config (default: $FERRY_CONFIG, else build/devnet/ferry.json);\n"
     "                   asks GET /v1/packets on its api.listen; if nothing answers, reads data_dir",
     cmd_packets},
    {"hops", "list the hops of intents: state, age, time left, where the funds are",
     "ferry hops [--pending] [--intent ID] [--chain NAME] [--json] [--config FILE]\n"
     "  one line per hop: intent (short id), index, kind, chain(s), state, time in that state,\n"
     "  time left before its timeout, and where the funds are after it (chain holder token amount)\n"
     "  --pending        only unfinished hops (not DONE or REFUNDED) of unfinished intents\n"
     "  --intent ID      only the hops of intent ID (0x and 64 hex digits)\n"
     "  --chain NAME     only hops that run on, or go to, chain NAME (a name from the config)\n"
     "  --json           {\"source\": \"api\"|\"store\", \"hops\": [hop records + intent_id, intent_state]}\n"
     "  --config FILE    the daemon's config (default: $FERRY_CONFIG, else build/devnet/ferry.json);\n"
     "                   asks GET /v1/intents on its api.listen; if nothing answers, reads data_dir",
     cmd_hops},
    {"intent", "prepare, submit, show, list, retry or cancel multi-hop intents",
     "ferry intent prepare FILE | submit FILE (--signature HEX | --sign-with KEYNAME) | show ID\n"
     "             | list [--state S | --pending] [--owner ADDR] [--chain NAME] [--limit N] | retry ID | cancel ID\n"
     "  prepare FILE       the daemon checks the intent JSON in FILE (- for stdin), fills in the nonce and\n"
     "                     hop timeouts, and answers its id, the typed data to sign and the normalized intent\n"
     "  submit FILE        submits the intent in FILE (a prepare answer or a normalized intent) with\n"
     "    --signature HEX    the owner's 65-byte signature of the intent id, or\n"
     "    --sign-with NAME   (development) signs the id with keystore key NAME, which must be the owner;\n"
     "                       [--keystore-dir DIR] [--password-file FILE] as for `ferry keys`\n"
     "                       (default: the config's keystore, else $FERRY_KEYSTORE_DIR, $FERRY_PASSWORD)\n"
     "  show ID            the intent, where its funds are, and its hops\n"
     "  list               intents, oldest first; --state S (PENDING, OPEN, IN_PROGRESS, COMPLETED,\n"
     "                     REFUNDING, REFUNDED, STUCK, CANCELLED), --pending (not finished),\n"
     "                     --owner ADDR, --chain NAME (a step on it), --limit N (records read, default all)\n"
     "  retry ID           a STUCK intent goes back to where it was\n"
     "  cancel ID          cancels an intent whose step 0 has not run\n"
     "  --json             the API's answer (show: the record; list: {\"source\", \"intents\"})\n"
     "  --config FILE      the daemon's config (default: $FERRY_CONFIG, else build/devnet/ferry.json).\n"
     "                     show and list read data_dir when no daemon answers; the others need the\n"
     "                     daemon and send the API token (api.token_file or api.token_env)",
     cmd_intent},
    {"help", "show help for a command", "ferry help [COMMAND]", cmd_help},
};

static const struct cli_command *find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

void cli_usage(FILE *out, const char *name)
{
    const struct cli_command *c = find(name);
    if (c)
        fprintf(out, "usage: %s\n", c->usage);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("ferry: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    const char *detail = ferry_errmsg();
    if (detail[0])
        fprintf(stderr, ": %s", detail);
    fputc('\n', stderr);
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ferry_err_clear();
    cli_error("%s", msg);
    cli_usage(stderr, command);
    return CLI_USAGE;
}

int cmd_version(int argc, char **argv)
{
    printf("ferry %s\n", FERRY_VERSION);
    return CLI_OK;
}

static void overview(FILE *out)
{
    fprintf(out, "Ferry %s: cross-chain relayer daemon and multi-hop orchestration engine\n\n"
                 "usage: ferry COMMAND [ARGS]\n\ncommands:\n",
            FERRY_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`ferry help COMMAND` shows a command's options.\n");
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        overview(stdout);
        return CLI_OK;
    }
    if (!find(argv[1])) {
        cli_error("unknown command '%s'", argv[1]);
        return CLI_USAGE;
    }
    cli_usage(stdout, argv[1]);
    return CLI_OK;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fputs("ferry: libsodium failed to initialise\n", stderr);
        return CLI_FAIL;
    }
    if (argc < 2) {
        overview(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return cmd_help(1, argv + 1);
    const struct cli_command *c = find(argv[1]);
    if (!c) {
        cli_error("unknown command '%s' (try `ferry help`)", argv[1]);
        return CLI_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
