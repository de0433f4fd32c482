/* The ferry command line: one table line per command (src/cli/main.c), one file per command group.
 * The CLI uses only public headers from include/ferry/; it never reaches into engine internals. */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ferry/chain.h"
#include "ferry/config.h"
#include "ferry/loop.h"

struct cli_command {
    const char *name;    /* first word on the command line, e.g. "keys" */
    const char *summary; /* one line for `ferry help` */
    const char *usage;   /* the full usage text printed by `ferry help NAME` and on misuse */
    int (*run)(int argc, char **argv); /* argv[0] is the command name; returns the exit status */
};

/* Exit statuses: 0 ok, 1 the operation failed, 2 bad usage. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Prints "ferry: <msg>" plus the current ferry_errmsg() detail, if any, to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the usage of the named command to `out`. */
void cli_usage(FILE *out, const char *name);

int cmd_version(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_chain(int argc, char **argv);
int cmd_tx(int argc, char **argv);

/* One chain opened without the daemon (cmd_chain.c), for the operator commands: the config,
 * the store under its data_dir, the submitter key, the chain through its family's chain_ops.
 * Its watcher is never started: no events are taken and no cursor moves. */
struct cli_chain {
    struct ferry_config cfg;
    const struct ferry_chain_config *ch;
    struct loop *loop;
    struct loop_hook flush;
    struct store *st;
    bool store_busy; /* the daemon holds the store: a private in-memory one is used instead */
    struct signer *sg;
    const struct chain_ops *ops;
    struct chain *c;
    void (*on_sub)(void *ud, const struct chain_submission *s); /* submissions of this run */
    void *ud;
};

/* Opens chain `name` of the config. When the daemon holds the store, store_required fails with
 * a message saying so; otherwise a private in-memory store is used. Returns a CLI exit status
 * (the message already printed); cli_chain_close() in every case. */
int cli_chain_open(struct cli_chain *cc, const char *config_path, const char *name, bool store_required);
/* Runs the loop until done(ud) or timeout_ms: CLI_OK, or CLI_FAIL on a timeout. */
int cli_chain_run(struct cli_chain *cc, bool (*done)(void *ud), void *ud, uint64_t timeout_ms);
void cli_chain_close(struct cli_chain *cc);
int cmd_start(int argc, char **argv);
int cmd_packets(int argc, char **argv);

#endif
