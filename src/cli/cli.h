/* The ferry command line: one table line per command (src/cli/main.c), one file per command group.
 * The CLI uses only public headers from include/ferry/; it never reaches into engine internals. */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <stdio.h>

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
int cmd_start(int argc, char **argv);
int cmd_packets(int argc, char **argv);

#endif
