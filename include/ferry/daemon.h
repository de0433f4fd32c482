/* The daemon: wires config, log, store, signer, metrics, loop, chains, engine and API together and
 * runs the loop until SIGTERM/SIGINT. docs/daemon.md describes start-up and shutdown step by step. */
#ifndef FERRY_DAEMON_H
#define FERRY_DAEMON_H

#include <stdio.h>

#include "ferry/err.h"

struct chain_ops;

struct daemon_options {
    const char *config_path; /* required */
    FILE *err;               /* where config problems and start-up failures are printed (stderr if NULL) */
    /* The chain family for a config "kind"; NULL: chain_family() (tests give a stub family). */
    const struct chain_ops *(*family)(const char *kind);
    /* Called once the daemon serves (API bound, chains started), e.g. to learn the API port. */
    void (*ready)(void *ud, unsigned api_port);
    void *ready_ud;
};

/* Runs the daemon in the foreground. Returns FERRY_OK after a clean stop on SIGTERM/SIGINT
 * (everything flushed); otherwise the error that kept it from starting or stopped it (printed
 * to opts->err and logged). */
enum ferry_err daemon_run(const struct daemon_options *opts) FERRY_WUR;

#endif
