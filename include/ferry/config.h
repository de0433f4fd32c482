/* The daemon's configuration: one JSON file, checked against a table-driven schema (src/config.c).
 *
 * Every key the parser accepts is one line of a table (path, type, range, default, one-line doc);
 * docs/config.md documents each of them, and tests/unit/test_config.c fails when the two disagree.
 * Checking never stops at the first problem: every problem is collected with its JSON path
 * ("chains[1].rpc[0]: not a URL ..."), and a config with any problem is not loaded at all.
 *
 * Secrets never live in the config: keys are named (they live in the keystore), the API token
 * comes from a file or an environment variable, and a secret inside an RPC URL is written as
 * ${VAR} and taken from the environment when the config is loaded. Keys and values that look like
 * inline secrets are refused with a message saying where the secret belongs. */
#ifndef FERRY_CONFIG_H
#define FERRY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "ferry/address.h"
#include "ferry/err.h"
#include "ferry/u256.h"

#define CONFIG_FILE_MAX (1u << 20)  /* a config file larger than 1 MiB is refused */
#define CONFIG_PROBLEMS_MAX 100     /* problems kept; later ones are only counted */
#define CONFIG_DEFAULT_LISTEN "127.0.0.1:7710"

/* ---- problems ---- */

struct config_problem {
    char *path; /* "chains[1].rpc[0]"; "" for the file as a whole (unreadable, not JSON) */
    char *msg;  /* what is wrong and what to do about it */
};

struct config_problems {
    struct config_problem *v;
    size_t n;
    size_t cap;
    size_t dropped; /* problems past CONFIG_PROBLEMS_MAX, counted but not kept */
};

/* Appends a problem (printf-style message). Used by the loader, and by the daemon to add the
 * problems a chain family's check_config reports (with the chain's path as prefix). */
void config_problem_add(struct config_problems *p, const char *path, const char *fmt, ...) FERRY_PRINTF(3, 4);
/* Prints each problem on its own line as "prefix: path: msg" (no "prefix: " when prefix is NULL),
 * then "N more problems not shown" if some were dropped. */
void config_problems_print(FILE *out, const char *prefix, const struct config_problems *p);
/* The total number of problems, kept and dropped. */
size_t config_problems_count(const struct config_problems *p);
void config_problems_free(struct config_problems *p);

/* ---- the parsed configuration ---- */

enum config_log_level { CONFIG_LOG_ERROR, CONFIG_LOG_WARN, CONFIG_LOG_INFO, CONFIG_LOG_DEBUG };
enum config_chain_kind { CONFIG_CHAIN_EVM };

/* An optional contract address. */
struct config_address {
    bool set;
    uint8_t bytes[ADDRESS_LEN];
};

/* An optional boolean: `set` when the file wrote it (its default depends on other keys). */
struct config_optbool {
    bool set;
    bool value;
};

struct config_strings {
    const char **v;
    size_t n;
};

struct config_addresses {
    uint8_t (*v)[ADDRESS_LEN];
    size_t n;
};

/* A listen address: an IP literal (or "localhost") and a port. */
struct config_listen {
    char host[48]; /* without IPv6 brackets */
    uint16_t port;
    bool loopback; /* 127.0.0.0/8, ::1 or localhost */
};

/* One chain. Strings point into the config's JSON tree (or are owned by the config);
 * durations are milliseconds; fees are wei. */
struct ferry_chain_config {
    const char *name;
    enum config_chain_kind kind;
    uint64_t chain_id;
    struct config_strings rpc; /* http(s) URLs, ${VAR} already replaced from the environment */
    uint64_t rpc_timeout_ms;
    struct config_address gateway; /* always set in a loaded config */
    struct config_address vault;
    struct config_address router;
    uint64_t confirmations;
    uint64_t poll_interval_ms;
    uint64_t block_time_ms; /* a hint for splitting deadlines into per-hop timeouts */
    u256 max_fee_per_gas;
    u256 max_priority_fee_per_gas;
    uint64_t gas_limit;        /* the most gas one transaction may use */
    uint64_t replace_after_blocks; /* a transaction not mined after this many blocks is replaced */
    uint64_t fee_bump_percent;
    uint64_t max_batch;        /* packets per delivery transaction */
    uint64_t max_in_flight;    /* deliveries to this chain checked or in flight at once */
    uint64_t start_block;      /* first block scanned when the store has no cursor for the chain */
    const char *submitter;     /* keystore name of the key that pays gas on this chain */
    uint64_t log_range_max_blocks;
    /* The chain's object as written in the file, for a chain family's check_config and open. */
    const cJSON *json;
    void *mem; /* allocations of config_chain_parse(); NULL inside a ferry_config */
};

struct ferry_config {
    const char *data_dir;
    enum config_log_level log_level;
    struct {
        const char *dir;           /* NULL: $FERRY_KEYSTORE_DIR, else ~/.ferry/keys */
        const char *password_file; /* NULL: the password comes from $FERRY_PASSWORD */
    } keystore;
    struct {
        struct config_listen listen;
        bool allow_remote;
        const char *token_file; /* at most one of token_file and token_env is set; */
        const char *token_env;  /* with neither, the API refuses every write */
        uint64_t max_body_bytes;
    } api;
    struct {
        uint64_t threshold;            /* m: signatures a gateway needs */
        struct config_addresses addresses; /* n: the attester set the gateways expect */
        struct config_strings keys;    /* keystore names of the attester keys this daemon holds */
    } attesters;
    struct {
        uint64_t retry_limit;
        uint64_t backoff_base_ms;
        uint64_t backoff_max_ms;
    } relayer;
    struct {
        bool enabled;                      /* intents.enabled, else: some chain names a router */
        struct config_optbool enabled_opt; /* as written in the file */
        uint64_t retry_limit;
        uint64_t max_pending;
        uint64_t backoff_base_s;
        uint64_t backoff_max_s;
    } intents;
    struct ferry_chain_config *chains;
    size_t n_chains;
    cJSON *json; /* the whole file, parsed; owned */
    void *mem;   /* owned allocations */
};

/* Reads and checks a config file. On success *cfg is filled (free it with config_free) and
 * `problems` is empty. Otherwise *cfg is left zeroed, every problem found is in `problems`
 * (free with config_problems_free; it may be NULL if the caller only wants the code), and the
 * result is FERRY_EINVAL (problems), FERRY_EIO (unreadable file) or FERRY_ENOMEM. */
enum ferry_err config_load(const char *path, struct ferry_config *cfg, struct config_problems *problems) FERRY_WUR;
/* The same on text already in memory. */
enum ferry_err config_parse(const char *text, size_t len, struct ferry_config *cfg,
                            struct config_problems *problems) FERRY_WUR;
/* Frees everything config_load/config_parse made and zeroes *cfg. A zeroed cfg is fine. */
void config_free(struct ferry_config *cfg);

/* Checks one chain object on its own (as a chain family's open() receives it) and fills *out the
 * way config_load does; problem paths start with `path_prefix` (e.g. "chains[0]", or "").
 * *out points into `obj`, which must outlive it; free with config_chain_free. */
enum ferry_err config_chain_parse(const cJSON *obj, const char *path_prefix, struct ferry_chain_config *out,
                                  struct config_problems *problems) FERRY_WUR;
void config_chain_free(struct ferry_chain_config *c);

/* The chain called `name`, or NULL. */
const struct ferry_chain_config *config_chain_by_name(const struct ferry_config *cfg, const char *name);

/* ---- the schema, for documentation and its coverage test ---- */

struct config_key_info {
    char path[64];    /* "data_dir", "api.listen", "chains[].rpc" */
    char type[96];    /* "duration (100ms to 10m)", "array of URL (1 to 32)", ... */
    bool required;
    const char *def;  /* the default as a JSON literal; NULL when there is none */
    const char *doc;  /* one line */
};

/* Calls fn for every key the parser accepts, sections before their keys, in table order. */
void config_keys_each(void (*fn)(void *ud, const struct config_key_info *k), void *ud);

/* Formats a duration in milliseconds the way the config writes it ("1500ms", "2s", "5m"). */
void config_format_duration(char out[32], uint64_t ms);

#endif
