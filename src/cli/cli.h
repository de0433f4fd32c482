/* The ferry command line: one table line per command (src/cli/main.c), one file per command group.
 * The CLI uses only public headers from include/ferry/; it never reaches into engine internals. */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ferry/chain.h"
#include "ferry/config.h"
#include "ferry/err.h"
#include "ferry/loop.h"
#include "ferry/secret.h"

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

/* A usage error: prints "ferry: <msg>" (formatted before the ferry_errmsg() detail is cleared:
 * it may be an argument) and the usage of `command` on stderr; returns CLI_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
int cmd_hops(int argc, char **argv);
int cmd_intent(int argc, char **argv);

/* ---- the daemon's API and store (cli_api.c) ---- */

struct cJSON;
struct store;

#define CLI_URL_MAX 320
#define CLI_CONFIG_DEFAULT "build/devnet/ferry.json"

/* "http://HOST:PORT" of the config's api.listen (a wildcard address is reached on loopback). */
void cli_api_base(const struct ferry_config *cfg, char out[CLI_URL_MAX]);
/* One request (body sent as JSON when not NULL; token as a bearer token when not NULL). FERRY_EIO
 * when nothing answers (callers may read the store instead); otherwise FERRY_OK with the HTTP status
 * and the parsed answer (*out NULL when it is not JSON; the caller deletes it), whatever the status. */
enum ferry_err cli_http(const char *method, const char *url, const char *token, const struct cJSON *body,
                        long *status, struct cJSON **out) FERRY_WUR;
/* FERRY_OK for a 2xx JSON object; else a failure carrying the API's "error" message (ENOTFOUND on 404). */
enum ferry_err cli_api_expect(const char *method, const char *url, long status, const struct cJSON *j) FERRY_WUR;
/* GET path ("/v1/intents/0x..") and expect a 2xx object. */
enum ferry_err cli_api_get(const struct ferry_config *cfg, const char *path, struct cJSON **out) FERRY_WUR;
/* Appends the records of every page of a listing (path "/v1/packets", key "packets", query
 * "pending=true" or "") to `all`, following `next` cursors, at most max records. */
enum ferry_err cli_api_list(const struct ferry_config *cfg, const char *path, const char *key, const char *query,
                            size_t max, struct cJSON *all) FERRY_WUR;
/* POST path with the config's API token (without one, only a route that is not a `write` goes);
 * a non-2xx answer fails with the API's message. */
enum ferry_err cli_api_post(const struct ferry_config *cfg, const char *path, const struct cJSON *body, bool write,
                            long *status, struct cJSON **out) FERRY_WUR;
/* The API token (api.token_file or api.token_env) in guarded memory: secret_free it. */
enum ferry_err cli_api_token(const struct ferry_config *cfg, char **out, size_t *len) FERRY_WUR;
/* URL-escapes value into out; appends "key=value" (escaped, "&"-joined) to a query string. */
enum ferry_err cli_query_escape(char *out, size_t cap, const char *value) FERRY_WUR;
enum ferry_err cli_query_add(char *q, size_t cap, const char *key, const char *value) FERRY_WUR;
/* The daemon's LevelDB store under data_dir, for reading while the daemon is down; *out stays NULL
 * (and FERRY_OK) when there is no data_dir yet: nothing was ever stored. */
enum ferry_err cli_store_open(const struct ferry_config *cfg, struct store **out) FERRY_WUR;
/* Loads the config at path (printing its problems); CLI_OK or CLI_FAIL. */
int cli_config_load(const char *path, struct ferry_config *cfg);
/* The config a command reads: --config when given (not NULL), else $FERRY_CONFIG, else
 * CLI_CONFIG_DEFAULT. */
const char *cli_config_path(const char *given);

/* ---- intent records (cli_intents.c) ---- */

struct cli_intent_query {
    const char *id;    /* one intent (0x and 64 hex digits); the other fields are then unused */
    const char *state; /* an intent state name */
    const char *owner; /* an address */
    const char *chain; /* a chain name of the config: intents with a step on it */
    bool pending;      /* non-terminal intents only */
    size_t limit;      /* records at most */
};

/* Parses an intent id (0x optional) into id and its canonical "0x..." form. */
enum ferry_err cli_intent_id_parse(const char *s, uint8_t id[32], char hex[67]) FERRY_WUR;
/* Checks a query's values (id, state name, owner address, chain name) before anything is asked:
 * CLI_OK, or CLI_USAGE with the message printed ("cmd: --state: unknown state ..."). */
int cli_intent_query_check(const struct ferry_config *cfg, const char *cmd, const struct cli_intent_query *q);
/* Appends the matching records (the API's JSON, chains by name) to `all`, from the daemon, or from
 * its store when no daemon answers; *source is "api" or "store". CLI_OK, or CLI_FAIL with the
 * message printed (an unknown id: "cmd: no intent 0x..."). */
int cli_intents_fetch(const struct ferry_config *cfg, const char *cmd, const struct cli_intent_query *q,
                      struct cJSON *all, const char **source);
/* COMPLETED, REFUNDED, CANCELLED. */
bool cli_intent_terminal(const char *state);
/* A hop with nothing left to do: DONE, REFUNDED (FAILED and TIMED_OUT still wait for their refund). */
bool cli_hop_finished(const char *state);
/* Oldest first (created_at, then id). */
void cli_intents_sort(struct cJSON *arr);
/* "beta 0x15d3…6A65 0xDc64…C6C9 1.000e18 (in flight)" for a funds object, "-" for null. */
void cli_funds_text(const struct ferry_config *cfg, const struct cJSON *funds, char *out, size_t cap);
/* "alpha->beta" for a transfer, "beta" for a call. */
void cli_hop_route(const struct ferry_config *cfg, const struct cJSON *hop, char *out, size_t cap);
/* The time since the hop entered its state, and the time left before its timeout ("-" when it
 * has none or no longer waits on it, "passed"). */
void cli_hop_times(const struct cJSON *hop, uint64_t now, char age[24], char left[24]);
/* On stderr, when the records came from the store: says so, and why. */
void cli_store_note(const struct ferry_config *cfg, const char *source);

/* ---- secrets (cli_secret.c): guarded memory (ferry/secret.h), freed (and wiped) by secret_free ---- */

/* The keystore password: `file` if given, else the config's keystore.password_file, else $FERRY_PASSWORD. */
enum ferry_err cli_keystore_password(const struct ferry_config *cfg, const char *file, char **out,
                                     size_t *len) FERRY_WUR;
/* The keystore directory: `dir` if given, else keystore.dir, $FERRY_KEYSTORE_DIR, ~/.ferry/keys. */
void cli_keystore_dir(const struct ferry_config *cfg, const char *dir, char *out, size_t cap);

/* ---- output (cli_fmt.c) ---- */

/* "12s", "3m05s", "2h10m", "4d03h". */
void cli_duration(char out[24], uint64_t seconds);
/* A number field (JSON number or decimal string); 0 when absent. */
uint64_t cli_json_u64(const struct cJSON *o, const char *key);
/* A string field, or `dflt`. */
const char *cli_json_str(const struct cJSON *o, const char *key, const char *dflt);
/* The config name of a chain id, else the id in decimal. */
const char *cli_chain_label(const struct ferry_config *cfg, uint64_t id, char buf[24]);
/* A chain field given as a name or an id, as a name. */
const char *cli_json_chain(const struct ferry_config *cfg, const struct cJSON *o, const char *key, char buf[24]);
/* "0x1234…abcd" for a long hex string; other strings as they are. */
void cli_short_hex(char *out, size_t cap, const char *s, size_t head, size_t tail);
/* True when stdout is a terminal and NO_COLOR is unset (https://no-color.org). */
bool cli_color(void);
/* Prints s left-aligned in a column of `width`, coloured by what the state means when `color`. */
void cli_print_state(const char *s, int width, bool color);
/* "1.000e18" for a decimal string over 12 digits (truncated); shorter ones as they are. */
void cli_short_amount(char out[32], const char *dec);

/* An aligned table, printed once every row is in: columns as wide as their widest cell, two
 * spaces apart; align has one 'l' or 'r' per column; state_col (or -1) is coloured by state. */
struct cli_table;
struct cli_table *cli_table_new(const char *const *headers, size_t ncols, const char *align, int state_col);
enum ferry_err cli_table_add(struct cli_table *t, const char *const *cells) FERRY_WUR; /* copies the cells */
size_t cli_table_rows(const struct cli_table *t);                                     /* without the header */
void cli_table_print(const struct cli_table *t, bool color);
void cli_table_free(struct cli_table *t);
/* Prints a JSON value, indented, to stdout. */
void cli_print_json(const struct cJSON *j);

#endif
