/* The daemon's configuration: a table-driven schema over cJSON (see include/ferry/config.h).
 *
 * Each section (the top level, api, keystore, attesters, relayer, one chain) is a table of
 * fields; a field names its key, its type, its range, its default as a JSON literal and a
 * one-line doc, and where its value lands in the C struct. One walker checks any object against
 * any table, collecting problems with their paths; defaults go through the same checks as
 * values written in the file. Checks across keys run after the table walk. */
#include "ferry/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ferry/buf.h"

/* ---- problems ---- */

static void problem_vadd(struct config_problems *p, const char *path, const char *fmt, va_list ap)
    FERRY_PRINTF(3, 0);
static void problem_vadd(struct config_problems *p, const char *path, const char *fmt, va_list ap)
{
    if (p->n >= CONFIG_PROBLEMS_MAX) {
        p->dropped++;
        return;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        struct config_problem *v = realloc(p->v, cap * sizeof *v);
        if (!v) {
            p->dropped++;
            return;
        }
        p->v = v;
        p->cap = cap;
    }
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    char *ps = strdup(path ? path : ""), *ms = strdup(msg);
    if (!ps || !ms) {
        free(ps);
        free(ms);
        p->dropped++;
        return;
    }
    p->v[p->n++] = (struct config_problem){ps, ms};
}

void config_problem_add(struct config_problems *p, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_vadd(p, path, fmt, ap);
    va_end(ap);
}

size_t config_problems_count(const struct config_problems *p) { return p->n + p->dropped; }

void config_problems_print(FILE *out, const char *prefix, const struct config_problems *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (prefix)
            fprintf(out, "%s: ", prefix);
        if (p->v[i].path[0])
            fprintf(out, "%s: ", p->v[i].path);
        fprintf(out, "%s\n", p->v[i].msg);
    }
    if (p->dropped) {
        if (prefix)
            fprintf(out, "%s: ", prefix);
        fprintf(out, "%zu more problem%s not shown\n", p->dropped, p->dropped == 1 ? "" : "s");
    }
}

void config_problems_free(struct config_problems *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].path);
        free(p->v[i].msg);
    }
    free(p->v);
    memset(p, 0, sizeof *p);
}

/* ---- memory owned by a config: a list of blocks freed together ---- */

struct mem_block {
    struct mem_block *next;
    max_align_t data[];
};

static void *mem_alloc(void **mem, size_t n)
{
    struct mem_block *b = calloc(1, sizeof *b + n);
    if (!b)
        return NULL;
    b->next = *mem;
    *mem = b;
    return b->data;
}

static void mem_free_all(void *mem)
{
    for (struct mem_block *b = mem, *next; b; b = next) {
        next = b->next;
        free(b);
    }
}

/* ---- the walker's state ---- */

struct ctx {
    struct config_problems *probs;
    void **mem;
    bool oom;
    const char *hint; /* where secrets belong, for the section being walked */
    char path[256];
    size_t plen;
};

static void problem(struct ctx *c, const char *fmt, ...) FERRY_PRINTF(2, 3);
static void problem(struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_vadd(c->probs, c->path, fmt, ap);
    va_end(ap);
}

static void *ctx_alloc(struct ctx *c, size_t n)
{
    void *p = mem_alloc(c->mem, n ? n : 1);
    if (!p)
        c->oom = true;
    return p;
}

/* Writes s into out as a double-quoted, escaped string of at most `max` characters of s, so that
 * messages stay one readable line whatever the file holds. */
static void quote_n(char *out, size_t outsz, const char *s, size_t max)
{
    size_t o = 0;
    out[o++] = '"';
    size_t i = 0;
    for (; s[i] && i < max && o + 8 < outsz; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    if (s[i] && o + 5 < outsz) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
}

#define QUOTED 200
static void quote(char out[QUOTED], const char *s) { quote_n(out, QUOTED, s, 60); }

static size_t path_push_key(struct ctx *c, const char *key)
{
    size_t mark = c->plen;
    char k[QUOTED];
    /* Keys are shown bare unless they hold something that would garble the line. */
    bool plain = strlen(key) <= 60;
    for (const char *p = key; *p && plain; p++)
        if ((unsigned char)*p < 0x21 || *p == 0x7f || *p == '"' || *p == '\\')
            plain = false;
    if (plain)
        snprintf(k, sizeof k, "%s", key);
    else
        quote(k, key);
    int w = snprintf(c->path + c->plen, sizeof c->path - c->plen, "%s%s", c->plen ? "." : "", k);
    if (w > 0)
        c->plen = strlen(c->path);
    return mark;
}

static size_t path_push_index(struct ctx *c, size_t i)
{
    size_t mark = c->plen;
    int w = snprintf(c->path + c->plen, sizeof c->path - c->plen, "[%zu]", i);
    if (w > 0)
        c->plen = strlen(c->path);
    return mark;
}

static void path_pop(struct ctx *c, size_t mark)
{
    c->plen = mark;
    c->path[mark] = '\0';
}

/* ---- the schema ---- */

enum ftype {
    T_SECTION,   /* an object checked against another table, writing into the same struct */
    T_SECTIONS,  /* an array of objects, each checked against a table into its own struct */
    T_PATH,      /* const char *: a file or directory path */
    T_NAME,      /* const char *: a chain or keystore key name */
    T_ENVNAME,   /* const char *: the name of an environment variable */
    T_U64,       /* uint64_t within [min, max] */
    T_DURATION,  /* uint64_t milliseconds within [min, max], written "500ms", "2s", "1m", "1h" */
    T_WEI,       /* u256, written "30000000000", "30 gwei", "1.5 gwei", "0.01 ether"; >= min */
    T_BOOL,      /* bool */
    T_OPTBOOL,   /* struct config_optbool: a bool whose absence the checks across keys resolve */
    T_ENUM,      /* int: the index of the value in aux (a NULL-terminated list of names) */
    T_ADDRESS,   /* struct config_address */
    T_LISTEN,    /* struct config_listen */
    T_URLS,      /* struct config_strings of http(s) URLs, ${VAR} expanded; [min, max] items */
    T_NAMES,     /* struct config_strings of names; [min, max] items */
    T_ADDRESSES, /* struct config_addresses; [min, max] items */
};

struct section;

struct field {
    const char *key;
    enum ftype type;
    bool required;
    const char *def; /* the default as a JSON literal, or NULL */
    size_t off;      /* where the value lands, from the start of the section's struct */
    uint64_t min, max;
    const void *aux; /* T_ENUM: names; T_SECTION(S): the section */
    size_t off_n;    /* T_SECTIONS: where the count lands */
    const char *why; /* appended to a range problem: why the limit is there */
    const char *doc;
};

struct section {
    const char *path;        /* "" for the top level, "api", "chains[]": for docs and hints */
    const struct field *fields;
    size_t n;
    size_t elem_size;        /* T_SECTIONS element size */
    size_t json_off;         /* where the element's cJSON object is kept (T_SECTIONS), or 0 */
    const char *secret_hint; /* where secrets belong instead, for keys that look like one */
    /* Checks across keys. Runs when the section itself had no problem, or always when
     * check_always (then it must cope with values left unset by problems). */
    void (*check)(struct ctx *c, char *base);
    bool check_always;
};

#define KiB 1024u
#define MS_S 1000u
#define MS_M (60u * MS_S)
#define MS_H (60u * MS_M)
#define JSON_INT_MAX 9007199254740991ull
#define FIELDS_MAX 32 /* keys per section (walk() marks the present ones in a fixed array) */ /* 2^53 - 1: JSON numbers past it lose precision */

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const chain_kinds[] = {"evm", NULL};

static void check_root(struct ctx *c, char *base);
static void check_api(struct ctx *c, char *base);
static void check_attesters(struct ctx *c, char *base);
static void check_relayer(struct ctx *c, char *base);
static void check_intents(struct ctx *c, char *base);
static void check_chain(struct ctx *c, char *base);

#define C_OFF(m) offsetof(struct ferry_chain_config, m)
static const struct field chain_fields[] = {
    {"name", T_NAME, true, NULL, C_OFF(name), 0, 0, NULL, 0, NULL,
     "a short unique name for the chain, used in logs, the CLI and the API"},
    {"kind", T_ENUM, true, NULL, C_OFF(kind), 0, 0, chain_kinds, 0, NULL,
     "the chain family, which picks the adapter that talks to it"},
    {"chain_id", T_U64, true, NULL, C_OFF(chain_id), 1, JSON_INT_MAX, NULL, 0, NULL,
     "the chain id the nodes report and transactions are signed for; unique across chains"},
    {"rpc", T_URLS, true, NULL, C_OFF(rpc), 1, 32, NULL, 0, NULL,
     "JSON-RPC endpoints, tried in order with failover; a secret in a URL is written ${VAR}"},
    {"rpc_timeout", T_DURATION, false, "\"10s\"", C_OFF(rpc_timeout_ms), 100, 5 * MS_M, NULL, 0, NULL,
     "how long one RPC request may take before it is retried on another endpoint"},
    {"gateway", T_ADDRESS, true, NULL, C_OFF(gateway), 0, 0, NULL, 0, NULL,
     "the Gateway contract's address on this chain"},
    {"vault", T_ADDRESS, false, NULL, C_OFF(vault), 0, 0, NULL, 0, NULL,
     "the TokenVault contract's address (leave out if the chain has none)"},
    {"router", T_ADDRESS, false, NULL, C_OFF(router), 0, 0, NULL, 0, NULL,
     "the IntentRouter contract's address (leave out if the chain has none)"},
    {"confirmations", T_U64, false, "12", C_OFF(confirmations), 0, 10000, NULL, 0, NULL,
     "blocks an event waits behind the head before it is acted on: the deepest reorg survived"},
    {"poll_interval", T_DURATION, false, "\"2s\"", C_OFF(poll_interval_ms), 10, 10 * MS_M, NULL, 0, NULL,
     "how often the chain's head is polled for new blocks"},
    {"block_time", T_DURATION, false, "\"12s\"", C_OFF(block_time_ms), 100, MS_H, NULL, 0, NULL,
     "the chain's usual block interval, used to split route deadlines into per-hop timeouts"},
    {"max_fee_per_gas", T_WEI, true, NULL, C_OFF(max_fee_per_gas), 1, 0, NULL, 0, NULL,
     "the highest fee per gas Ferry will ever offer (EIP-1559 max fee, or legacy gas price)"},
    {"max_priority_fee_per_gas", T_WEI, false, "\"2 gwei\"", C_OFF(max_priority_fee_per_gas), 0, 0, NULL, 0,
     NULL, "the highest priority fee (tip) per gas Ferry will offer; at most max_fee_per_gas"},
    {"gas_limit", T_U64, false, "3000000", C_OFF(gas_limit), 21000, 1000000000, NULL, 0, NULL,
     "the most gas one transaction may use; a call estimated above it is refused"},
    {"replace_after_blocks", T_U64, false, "3", C_OFF(replace_after_blocks), 1, 1000, NULL, 0, NULL,
     "a transaction still pending after this many blocks is replaced with a bumped fee"},
    {"fee_bump_percent", T_U64, false, "12", C_OFF(fee_bump_percent), 10, 1000, NULL, 0,
     "nodes refuse a replacement that raises the fee by less than 10%",
     "how much a replacement raises the fees, in percent"},
    {"max_batch", T_U64, false, "16", C_OFF(max_batch), 1, 256, NULL, 0, NULL,
     "the most packets delivered in one transaction"},
    {"max_in_flight", T_U64, false, "8", C_OFF(max_in_flight), 1, 64, NULL, 0, NULL,
     "the most deliveries to this chain being checked or waiting for their outcome at once"},
    {"submitter", T_NAME, true, NULL, C_OFF(submitter), 0, 0, NULL, 0, NULL,
     "keystore name of the key that signs and pays for transactions on this chain"},
    {"start_block", T_U64, false, "0", C_OFF(start_block), 0, 9007199254740991ull, NULL, 0, NULL,
     "the first block scanned for events when the data dir holds no cursor for this chain yet (e.g. the "
     "Gateway's deployment block); later starts resume from the cursor"},
    {"log_range_max_blocks", T_U64, false, "2000", C_OFF(log_range_max_blocks), 1, 100000, NULL, 0, NULL,
     "the most blocks one eth_getLogs request covers"},
};
#undef C_OFF

_Static_assert(sizeof chain_fields / sizeof chain_fields[0] <= FIELDS_MAX, "chain_fields outgrew FIELDS_MAX");
static const struct section chain_section = {
    "chains[]", chain_fields, sizeof chain_fields / sizeof chain_fields[0],
    sizeof(struct ferry_chain_config), offsetof(struct ferry_chain_config, json),
    "the submitter's key lives in the keystore, named by submitter; a secret in an RPC URL is "
    "written ${VAR} and read from the environment",
    check_chain, false};

#define R_OFF(m) offsetof(struct ferry_config, m)
static const struct field keystore_fields[] = {
    {"dir", T_PATH, false, NULL, R_OFF(keystore.dir), 0, 0, NULL, 0, NULL,
     "directory of Web3 Secret Storage keystore files (default: $FERRY_KEYSTORE_DIR, else ~/.ferry/keys)"},
    {"password_file", T_PATH, false, NULL, R_OFF(keystore.password_file), 0, 0, NULL, 0, NULL,
     "file holding the keystore password (default: the password is read from $FERRY_PASSWORD)"},
};

static const struct field api_fields[] = {
    {"listen", T_LISTEN, false, "\"" CONFIG_DEFAULT_LISTEN "\"", R_OFF(api.listen), 0, 0, NULL, 0, NULL,
     "address and port of the HTTP API; anything but loopback needs allow_remote"},
    {"allow_remote", T_BOOL, false, "false", R_OFF(api.allow_remote), 0, 0, NULL, 0, NULL,
     "must be true for a listen address other than loopback (and then a token source is required)"},
    {"token_file", T_PATH, false, NULL, R_OFF(api.token_file), 0, 0, NULL, 0, NULL,
     "file holding the bearer token that API writes need"},
    {"token_env", T_ENVNAME, false, NULL, R_OFF(api.token_env), 0, 0, NULL, 0, NULL,
     "environment variable holding the bearer token (instead of token_file)"},
    {"max_body_bytes", T_U64, false, "1048576", R_OFF(api.max_body_bytes), KiB, 64 * KiB * KiB, NULL, 0, NULL,
     "the largest request body the API accepts"},
};

static const struct field attester_fields[] = {
    {"threshold", T_U64, true, NULL, R_OFF(attesters.threshold), 1, 64, NULL, 0, NULL,
     "m: how many attester signatures a gateway needs"},
    {"addresses", T_ADDRESSES, true, NULL, R_OFF(attesters.addresses), 1, 64, NULL, 0, NULL,
     "the whole attester set the gateways are configured with (n addresses)"},
    {"keys", T_NAMES, true, NULL, R_OFF(attesters.keys), 0, 64, NULL, 0, NULL,
     "keystore names of the attester keys this daemon holds and signs with"},
};

static const struct field relayer_fields[] = {
    {"retry_limit", T_U64, false, "10", R_OFF(relayer.retry_limit), 0, 1000, NULL, 0, NULL,
     "failed submissions of one step retried before it is marked STUCK for an operator"},
    {"backoff_base", T_DURATION, false, "\"1s\"", R_OFF(relayer.backoff_base_ms), 10, MS_H, NULL, 0, NULL,
     "the wait before the first retry; each further retry doubles it"},
    {"backoff_max", T_DURATION, false, "\"5m\"", R_OFF(relayer.backoff_max_ms), 10, 24 * (uint64_t)MS_H, NULL,
     0, NULL, "the longest wait between retries"},
};

static const struct field intents_fields[] = {
    {"enabled", T_OPTBOOL, false, NULL, R_OFF(intents.enabled_opt), 0, 0, NULL, 0, NULL,
     "run multi-hop intents (default: true when some chain names a router; true needs one)"},
    {"retry_limit", T_U64, false, "6", R_OFF(intents.retry_limit), 0, 1000, NULL, 0, NULL,
     "failed submissions of one router call retried before the intent is marked STUCK for an operator"},
    {"max_pending", T_U64, false, "10000", R_OFF(intents.max_pending), 1, 1000000, NULL, 0, NULL,
     "unfinished intents accepted at once; beyond it the API answers 503"},
    {"backoff_base_s", T_U64, false, "5", R_OFF(intents.backoff_base_s), 1, 3600, NULL, 0, NULL,
     "seconds before the first retry of a failed router call; each further retry doubles it"},
    {"backoff_max_s", T_U64, false, "300", R_OFF(intents.backoff_max_s), 1, 86400, NULL, 0, NULL,
     "the longest wait between retries of a router call, in seconds"},
};

#define SECTION(p, f, hint, chk) {p, f, sizeof f / sizeof f[0], 0, 0, hint, chk, false}
static const struct section keystore_section =
    SECTION("keystore", keystore_fields,
            "the keystore password comes from the file named by keystore.password_file, or from $FERRY_PASSWORD",
            NULL);
static const struct section api_section =
    SECTION("api", api_fields,
            "put the token in a file named by api.token_file, or in an environment variable named by api.token_env",
            check_api);
static const struct section attester_section =
    SECTION("attesters", attester_fields, "attester keys live in the keystore: list their names in attesters.keys",
            check_attesters);

#define ROOT_HINT                                                                                                  \
    "keys live in the keystore and are named by chains[].submitter and attesters.keys; the keystore password "   \
    "comes from keystore.password_file or $FERRY_PASSWORD; the API token from api.token_file or api.token_env"
static const struct section relayer_section = SECTION("relayer", relayer_fields, ROOT_HINT, check_relayer);
static const struct section intents_section = SECTION("intents", intents_fields, ROOT_HINT, check_intents);

static const struct field root_fields[] = {
    {"data_dir", T_PATH, true, NULL, R_OFF(data_dir), 0, 0, NULL, 0, NULL,
     "directory of the daemon's store (created, mode 0700, if missing)"},
    {"log_level", T_ENUM, false, "\"info\"", R_OFF(log_level), 0, 0, log_levels, 0, NULL,
     "the least severe log lines written"},
    {"keystore", T_SECTION, false, NULL, 0, 0, 0, &keystore_section, 0, NULL,
     "where the keys are and how they are unlocked"},
    {"api", T_SECTION, false, NULL, 0, 0, 0, &api_section, 0, NULL, "the HTTP API"},
    {"attesters", T_SECTION, true, NULL, 0, 0, 0, &attester_section, 0, NULL,
     "the attester set and the keys of it this daemon holds"},
    {"relayer", T_SECTION, false, NULL, 0, 0, 0, &relayer_section, 0, NULL, "retry tunables of the engine"},
    {"intents", T_SECTION, false, NULL, 0, 0, 0, &intents_section, 0, NULL,
     "the intent orchestrator (multi-hop intents over the chains' IntentRouters)"},
    {"chains", T_SECTIONS, true, NULL, R_OFF(chains), 2, 64, &chain_section, R_OFF(n_chains),
     "Ferry relays between chains", "the chains Ferry watches and submits to"},
};
#undef R_OFF

static const struct section root_section = {"", root_fields, sizeof root_fields / sizeof root_fields[0], 0, 0,
                                             ROOT_HINT, check_root, true};

/* Every section, for hints about keys written in the wrong place. */
static const struct section *const all_sections[] = {&root_section,    &keystore_section, &api_section,
                                                     &attester_section, &relayer_section, &intents_section,
                                                     &chain_section};

/* ---- small checks ---- */

static const char *json_kind(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsTrue(v))
        return "true";
    if (cJSON_IsFalse(v))
        return "false";
    return "null";
}

/* "a string ("x")", "a number (1.5)", "an object", ... */
static void describe(char *out, size_t n, const cJSON *v)
{
    char q[QUOTED];
    if (cJSON_IsString(v)) {
        quote(q, v->valuestring);
        snprintf(out, n, "a string (%s)", q);
    } else if (cJSON_IsNumber(v)) {
        snprintf(out, n, "a number (%.15g)", v->valuedouble);
    } else {
        snprintf(out, n, "%s", json_kind(v));
    }
}

static void type_problem(struct ctx *c, const char *expected, const cJSON *v)
{
    char got[QUOTED + 32];
    describe(got, sizeof got, v);
    problem(c, "expected %s, got %s%s", expected, got,
            cJSON_IsNull(v) ? " (to leave it unset, leave the key out)" : "");
}

static bool is_hex64(const char *s)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f') || (s[n] >= 'A' && s[n] <= 'F')))
            return false;
    return n == 64;
}

/* A string value that is exactly a 32-byte hex number is almost surely a private key. */
static bool refuse_inline_key(struct ctx *c, const char *s)
{
    if (!is_hex64(s))
        return false;
    problem(c, "looks like a private key (64 hex digits); secrets never go in the config: %s", c->hint);
    return true;
}

static bool secret_like_key(const char *key)
{
    static const char *const words[] = {"private", "privkey", "secret", "password", "passwd",  "passphrase",
                                        "mnemonic", "token",  "apikey", "api_key",  "credential", "seed"};
    char low[64];
    size_t n = 0;
    for (; key[n] && n + 1 < sizeof low; n++)
        low[n] = (char)((key[n] >= 'A' && key[n] <= 'Z') ? key[n] + 32 : key[n]);
    low[n] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(low, words[i]))
            return true;
    return false;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
            return false;
    }
    return true;
}

static bool env_char(char ch, bool first)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || (!first && ch >= '0' && ch <= '9');
}

static bool valid_envname(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!env_char(s[i], i == 0))
            return false;
    return true;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

void config_format_duration(char out[32], uint64_t ms)
{
    if (ms && ms % MS_H == 0)
        snprintf(out, 32, "%lluh", (unsigned long long)(ms / MS_H));
    else if (ms && ms % MS_M == 0)
        snprintf(out, 32, "%llum", (unsigned long long)(ms / MS_M));
    else if (ms && ms % MS_S == 0)
        snprintf(out, 32, "%llus", (unsigned long long)(ms / MS_S));
    else
        snprintf(out, 32, "%llums", (unsigned long long)ms);
}

/* "500ms", "2s", "1m", "1h": digits then a unit; no fractions, no spaces. */
static bool parse_duration(const char *s, uint64_t *ms)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (i >= 12) /* 10^12 hours is far past any range; this keeps the product below 2^64 */
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (i == 0)
        return false;
    uint64_t unit;
    if (strcmp(s + i, "ms") == 0)
        unit = 1;
    else if (strcmp(s + i, "s") == 0)
        unit = MS_S;
    else if (strcmp(s + i, "m") == 0)
        unit = MS_M;
    else if (strcmp(s + i, "h") == 0)
        unit = MS_H;
    else
        return false;
    *ms = v * unit;
    return true;
}

enum wei_parse { WEI_OK, WEI_FORM, WEI_DECIMALS, WEI_RANGE };

/* "30000000000", "30 gwei", "30gwei", "1.5 gwei", "0.01 ether", "21000 wei". */
static enum wei_parse parse_wei(const char *s, u256 *out, unsigned *unit_decimals)
{
    char digits[U256_DEC_MAX + 20];
    size_t n = 0, i = 0, frac = 0;
    bool dot = false;
    for (; (s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && !dot); i++) {
        if (s[i] == '.') {
            dot = true;
            if (i == 0)
                return WEI_FORM;
            continue;
        }
        if (n + 1 >= sizeof digits)
            return WEI_RANGE;
        digits[n++] = s[i];
        if (dot)
            frac++;
    }
    if (n == 0 || (dot && frac == 0))
        return WEI_FORM;
    /* A leading zero is allowed only as the single digit before the point ("0.5 gwei"). */
    size_t int_digits = n - frac;
    if (int_digits > 1 && digits[0] == '0')
        return WEI_FORM;
    const char *unit = s + i;
    if (*unit == ' ')
        unit++;
    unsigned decimals;
    if (*unit == '\0' || strcmp(unit, "wei") == 0)
        decimals = 0;
    else if (strcmp(unit, "gwei") == 0)
        decimals = 9;
    else if (strcmp(unit, "ether") == 0)
        decimals = 18;
    else
        return WEI_FORM;
    if (*unit == '\0' && unit != s + i) /* a space with no unit after it */
        return WEI_FORM;
    *unit_decimals = decimals;
    if (frac > decimals)
        return WEI_DECIMALS;
    for (size_t k = frac; k < decimals; k++) {
        if (n + 1 >= sizeof digits)
            return WEI_RANGE;
        digits[n++] = '0';
    }
    digits[n] = '\0';
    size_t lead = 0;
    while (lead + 1 < n && digits[lead] == '0')
        lead++;
    return u256_from_dec(out, digits + lead) == FERRY_OK ? WEI_OK : WEI_RANGE;
}

/* Formats wei the way a person would write it: "30 gwei" when whole, else plain wei. */
static void format_wei(char out[U256_DEC_MAX + 8], u256 v)
{
    u256 q, r, unit = u256_from_u64(1000000000ull);
    char d[U256_DEC_MAX];
    if (!u256_is_zero(v) && u256_divmod(&q, &r, v, unit) == FERRY_OK && u256_is_zero(r)) {
        u256_to_dec(d, q);
        snprintf(out, U256_DEC_MAX + 8, "%s gwei", d);
    } else {
        u256_to_dec(d, v);
        snprintf(out, U256_DEC_MAX + 8, "%s wei", d);
    }
}

static bool parse_listen(const char *s, struct config_listen *out, const char **why)
{
    memset(out, 0, sizeof *out);
    const char *colon;
    char host[sizeof out->host];
    size_t hl;
    *why = NULL;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return false;
        hl = (size_t)(close - s - 1);
        if (hl == 0 || hl >= sizeof host)
            return false;
        memcpy(host, s + 1, hl);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return false;
        hl = (size_t)(colon - s);
        if (memchr(s, ':', hl)) {
            *why = "write an IPv6 address in brackets, such as \"[::1]:7710\"";
            return false;
        }
        if (hl == 0) {
            *why = "give a host: an empty one would listen on every interface";
            return false;
        }
        if (hl >= sizeof host)
            return false;
        memcpy(host, s, hl);
    }
    host[hl] = '\0';
    const char *p = colon + 1;
    unsigned long port = 0;
    size_t nd = 0;
    for (; p[nd] >= '0' && p[nd] <= '9' && nd < 6; nd++)
        port = port * 10 + (unsigned long)(p[nd] - '0');
    if (nd == 0 || p[nd] || port == 0 || port > 65535) {
        *why = "the port must be 1 to 65535";
        return false;
    }
    unsigned char a[16];
    if (s[0] == '[') {
        if (inet_pton(AF_INET6, host, a) != 1)
            return false;
        static const unsigned char v6_loop[16] = {[15] = 1};
        out->loopback = memcmp(a, v6_loop, 16) == 0;
    } else if (strcmp(host, "localhost") == 0) {
        out->loopback = true;
    } else if (inet_pton(AF_INET, host, a) == 1) {
        out->loopback = a[0] == 127;
    } else {
        *why = "the host must be an IP address or localhost";
        return false;
    }
    memcpy(out->host, host, hl + 1);
    out->port = (uint16_t)port;
    return true;
}

/* ---- URLs ---- */

/* Checks the ${NAME} placeholders of s; returns a problem message or NULL. */
static const char *placeholder_problem(const char *s)
{
    for (const char *p = strstr(s, "${"); p; p = strstr(p, "${")) {
        const char *q = p + 2;
        size_t n = 0;
        while (q[n] && q[n] != '}' && env_char(q[n], n == 0))
            n++;
        if (q[n] != '}')
            return q[n] ? "a ${...} placeholder may hold only an environment variable name (letters, digits, _)"
                        : "a ${ is not closed by }";
        if (n == 0)
            return "an empty ${} placeholder";
        p = q + n + 1;
    }
    return NULL;
}

/* True when s[0..n) is one ${NAME} placeholder and nothing else. */
static bool is_placeholder(const char *s, size_t n)
{
    if (n < 4 || s[0] != '$' || s[1] != '{' || s[n - 1] != '}')
        return false;
    for (size_t i = 2; i + 1 < n; i++)
        if (!env_char(s[i], i == 2))
            return false;
    return true;
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        char a = *s, b = *prefix;
        if (a >= 'A' && a <= 'Z')
            a = (char)(a + 32);
        if (a != b)
            return false;
    }
    return true;
}

static size_t scheme_len(const char *s)
{
    if (has_prefix_ci(s, "http://"))
        return 7;
    if (has_prefix_ci(s, "https://"))
        return 8;
    return 0;
}

/* An opaque token long enough to be an API key: letters and digits (and - _), with both. */
static bool looks_like_api_key(const char *s, size_t n)
{
    if (n < 24)
        return false;
    bool digit = false, alpha = false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch >= '0' && ch <= '9')
            digit = true;
        else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
            alpha = true;
        else if (ch != '-' && ch != '_')
            return false;
    }
    return digit && alpha;
}

static const char *const secret_fix = "write the secret as ${NAME} and set NAME in the daemon's environment";

/* The authority of u past its scheme (sl bytes): its start, its length (*al) and its last '@' (*at,
 * NULL when it has no user part). */
static const char *url_authority(const char *u, size_t sl, size_t *al, const char **at)
{
    const char *auth = u + sl;
    *al = strcspn(auth, "/?#");
    *at = NULL;
    for (size_t i = 0; i < *al; i++)
        if (auth[i] == '@')
            *at = auth + i;
    return auth;
}

/* Looks for secrets written literally in a URL (the text as written, before ${VAR} expansion).
 * Never echoes the secret itself. Returns true when one was reported. */
static bool url_secret_problem(struct ctx *c, const char *u)
{
    size_t sl = scheme_len(u);
    if (!sl)
        return false;
    size_t al;
    const char *at, *auth = url_authority(u, sl, &al, &at);
    if (at) {
        size_t ul = (size_t)(at - auth);
        const char *colon = memchr(auth, ':', ul);
        if (colon) {
            size_t pl = (size_t)(at - colon - 1);
            if (pl && !is_placeholder(colon + 1, pl)) {
                problem(c, "the URL holds a password; %s", secret_fix);
                return true;
            }
        } else if (looks_like_api_key(auth, ul)) {
            problem(c, "the URL's user name looks like an API key; %s", secret_fix);
            return true;
        }
    }
    const char *rest = auth + al;
    size_t pathl = strcspn(rest, "?#");
    for (size_t i = 0; i < pathl;) {
        size_t sl2 = strcspn(rest + i, "/?#");
        if (sl2 > pathl - i)
            sl2 = pathl - i;
        if (looks_like_api_key(rest + i, sl2)) {
            problem(c, "the URL's path holds what looks like an API key (\"%.4s...\"); %s", rest + i, secret_fix);
            return true;
        }
        i += sl2 + 1;
    }
    if (rest[pathl] == '?') {
        const char *q = rest + pathl + 1;
        size_t ql = strcspn(q, "#");
        for (size_t i = 0; i < ql;) {
            size_t pl = strcspn(q + i, "&#");
            if (pl > ql - i)
                pl = ql - i;
            const char *eq = memchr(q + i, '=', pl);
            if (eq) {
                size_t nl = (size_t)(eq - (q + i)), vl = pl - nl - 1;
                char name[64], low[64];
                snprintf(name, sizeof name, "%.*s", (int)(nl < 63 ? nl : 63), q + i);
                for (size_t k = 0; k < sizeof low; k++)
                    low[k] = (char)((name[k] >= 'A' && name[k] <= 'Z') ? name[k] + 32 : name[k]);
                bool secret_name = secret_like_key(name) || strstr(low, "key") || strstr(low, "auth");
                if (vl && !is_placeholder(eq + 1, vl) && (secret_name || looks_like_api_key(eq + 1, vl))) {
                    char qn[QUOTED];
                    quote(qn, name);
                    problem(c, "the URL's query parameter %s holds a secret; %s", qn, secret_fix);
                    return true;
                }
            }
            i += pl + 1;
        }
    }
    return false;
}

/* Replaces ${NAME} with the environment's value; NULL (after a problem) when a variable is unset. */
static char *url_expand(struct ctx *c, const char *u)
{
    struct fbuf b;
    fbuf_init(&b, 8192);
    bool ok = true;
    const char *p = u;
    for (const char *d; ok && (d = strstr(p, "${"));) {
        if (fbuf_add(&b, p, (size_t)(d - p))) {
            c->oom = true;
            return NULL;
        }
        const char *end = strchr(d, '}');
        char name[130];
        snprintf(name, sizeof name, "%.*s", (int)(end - d - 2), d + 2);
        const char *val = getenv(name);
        if (!val || !*val) {
            problem(c, "the URL uses ${%s} but %s is %s in the environment", name, name, val ? "empty" : "not set");
            ok = false;
        } else if (fbuf_addstr(&b, val)) {
            problem(c, "the URL is longer than 8 KiB once ${%s} is replaced", name);
            ok = false;
        }
        p = end + 1;
    }
    if (ok && fbuf_addstr(&b, p)) {
        problem(c, "the URL is longer than 8 KiB");
        ok = false;
    }
    if (!ok) {
        fbuf_free(&b);
        return NULL;
    }
    char *out = ctx_alloc(c, b.len + 1);
    if (out)
        memcpy(out, b.len ? (const char *)b.data : "", b.len + 1);
    fbuf_free(&b);
    return out;
}

/* The structure of an (expanded) URL; messages quote the text as written (`shown`). */
static bool url_structure_ok(struct ctx *c, const char *u, const char *shown)
{
    char q[QUOTED];
    quote(q, shown);
    size_t sl = scheme_len(u);
    if (!sl) {
        problem(c, "not a URL (expected http:// or https://, got %s)", q);
        return false;
    }
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            problem(c, "not a URL (it holds a space or a control character: %s)", q);
            return false;
        }
    size_t al;
    const char *at, *auth = url_authority(u, sl, &al, &at);
    const char *host = at ? at + 1 : auth;
    size_t hl = al - (size_t)(host - auth);
    const char *port = NULL;
    if (hl && host[0] == '[') {
        const char *close = memchr(host, ']', hl);
        if (!close || close == host + 1) {
            problem(c, "not a URL (bad IPv6 host, got %s)", q);
            return false;
        }
        if (close + 1 < host + hl) {
            if (close[1] != ':') {
                problem(c, "not a URL (unexpected text after the IPv6 host, got %s)", q);
                return false;
            }
            port = close + 2;
        }
    } else {
        const char *colon = memchr(host, ':', hl);
        if (colon)
            port = colon + 1;
        if ((colon ? (size_t)(colon - host) : hl) == 0) {
            problem(c, "not a URL (no host, got %s)", q);
            return false;
        }
    }
    if (port) {
        size_t pl = (size_t)(host + hl - port);
        unsigned long v = 0;
        bool ok = pl >= 1 && pl <= 5;
        for (size_t i = 0; ok && i < pl; i++) {
            ok = port[i] >= '0' && port[i] <= '9';
            v = v * 10 + (unsigned long)(port[i] - '0');
        }
        if (!ok || v == 0 || v > 65535) {
            problem(c, "not a URL (the port must be 1 to 65535, got %s)", q);
            return false;
        }
    }
    return true;
}

/* ---- values ---- */

static bool range_ok(struct ctx *c, const struct field *f, uint64_t v, bool duration)
{
    char a[32], b[32];
    if (v >= f->min && v <= f->max)
        return true;
    bool low = v < f->min;
    if (duration) {
        config_format_duration(a, v);
        config_format_duration(b, low ? f->min : f->max);
    } else {
        snprintf(a, sizeof a, "%llu", (unsigned long long)v);
        snprintf(b, sizeof b, "%llu", (unsigned long long)(low ? f->min : f->max));
    }
    problem(c, "%s is %s the %s %s%s%s%s", a, low ? "below" : "above", low ? "minimum" : "maximum", b,
            f->why ? " (" : "", f->why ? f->why : "", f->why ? ")" : "");
    return false;
}

/* Array length within [min, max]: reported on the array's path. */
static bool count_ok(struct ctx *c, const struct field *f, size_t n)
{
    const char *why_open = f->why ? " (" : "", *why = f->why ? f->why : "", *why_close = f->why ? ")" : "";
    if (n == 0 && f->min > 0) {
        problem(c, "is empty; at least %llu %s needed%s%s%s", (unsigned long long)f->min,
                f->min == 1 ? "is" : "are", why_open, why, why_close);
        return true; /* nothing to walk, nothing lost */
    }
    if (n < f->min) {
        problem(c, "has %zu, at least %llu are needed%s%s%s", n, (unsigned long long)f->min, why_open, why,
                why_close);
        return true;
    }
    if (n > f->max) {
        problem(c, "has %zu, at most %llu are allowed%s%s%s", n, (unsigned long long)f->max, why_open, why,
                why_close);
        return false; /* too many to walk */
    }
    return true;
}

/* v's string, or NULL after a problem saying that `expected` was expected. */
static const char *want_string(struct ctx *c, const cJSON *v, const char *expected)
{
    if (cJSON_IsString(v))
        return v->valuestring;
    type_problem(c, expected, v);
    return NULL;
}

static bool parse_address(struct ctx *c, const cJSON *v, uint8_t out[ADDRESS_LEN])
{
    char q[QUOTED];
    const char *s = want_string(c, v, "an address (a string of 0x and 40 hex digits)");
    if (!s)
        return false;
    bool shape = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) && strlen(s) == 42;
    for (size_t i = 2; shape && i < 42; i++)
        shape = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F');
    quote(q, s);
    if (!shape) {
        if (!refuse_inline_key(c, s))
            problem(c, "expected an address (0x and 40 hex digits), got %s", q);
        return false;
    }
    if (address_parse(out, s) != FERRY_OK) {
        /* The digits are fine, so only the mixed case can be wrong: show what it should be. */
        char low[ADDRESS_STR], want[ADDRESS_STR];
        uint8_t raw[ADDRESS_LEN];
        for (size_t i = 0; i < 42; i++)
            low[i] = (char)((s[i] >= 'A' && s[i] <= 'F') ? s[i] + 32 : (s[i] == 'X' ? 'x' : s[i]));
        low[42] = '\0';
        if (address_parse(raw, low) == FERRY_OK)
            address_to_checksum(want, raw);
        else
            snprintf(want, sizeof want, "?");
        problem(c, "bad EIP-55 checksum in %s (check it for a typo; these digits checksum as %s)", q, want);
        return false;
    }
    static const uint8_t zero[ADDRESS_LEN];
    if (memcmp(out, zero, ADDRESS_LEN) == 0) {
        problem(c, "the zero address is not a contract");
        return false;
    }
    return true;
}

static bool parse_name(struct ctx *c, const cJSON *v, const char **out)
{
    char q[QUOTED];
    const char *s = want_string(c, v, "a name (a string)");
    if (!s || refuse_inline_key(c, s))
        return false;
    if (!valid_name(s)) {
        quote(q, s);
        problem(c, "expected a name of letters, digits, '.', '_' and '-' (starting with a letter or digit, "
                   "at most 63), got %s", q);
        return false;
    }
    *out = s;
    return true;
}

static bool parse_url(struct ctx *c, const cJSON *v, const char **out)
{
    char q[QUOTED];
    const char *s = want_string(c, v, "a URL (a string)");
    if (!s)
        return false;
    if (strlen(s) > 2048) {
        problem(c, "the URL is longer than 2048 characters");
        return false;
    }
    const char *ph = placeholder_problem(s);
    if (ph) {
        quote(q, s);
        problem(c, "%s, got %s", ph, q);
        return false;
    }
    if (url_secret_problem(c, s))
        return false;
    const char *u = s;
    if (strstr(s, "${")) {
        u = url_expand(c, s);
        if (!u)
            return false;
    }
    if (!url_structure_ok(c, u, s))
        return false;
    *out = u;
    return true;
}

static void walk(struct ctx *c, const struct section *s, const cJSON *obj, char *base);

/* Duplicates inside one array are reported on the later item, naming the first. */
static void duplicate_item(struct ctx *c, size_t list_mark, size_t j)
{
    char first[300];
    snprintf(first, sizeof first, "%.*s[%zu]", (int)list_mark, c->path, j);
    problem(c, "duplicate of %s", first);
}

/* The number of items in the array v, or 0 (after a problem if it is not one, or has too few or
 * too many) when there is nothing to walk. */
static size_t array_items(struct ctx *c, const struct field *f, const cJSON *v, const char *expected)
{
    if (!cJSON_IsArray(v)) {
        type_problem(c, expected, v);
        return 0;
    }
    size_t n = 0;
    for (const cJSON *it = v->child; it; it = it->next)
        n++;
    return count_ok(c, f, n) ? n : 0;
}

static void parse_list(struct ctx *c, const struct field *f, const cJSON *v, char *dst)
{
    static const char *const expect[] = {[T_URLS] = "an array of http:// or https:// URLs",
                                         [T_NAMES] = "an array of names",
                                         [T_ADDRESSES] = "an array of addresses"};
    size_t n = array_items(c, f, v, expect[f->type]);
    if (n == 0)
        return;
    size_t list_mark = c->plen;
    if (f->type == T_ADDRESSES) {
        struct config_addresses *a = (struct config_addresses *)(void *)dst;
        uint8_t(*vals)[ADDRESS_LEN] = ctx_alloc(c, n * ADDRESS_LEN);
        bool *ok = ctx_alloc(c, n);
        if (!vals || !ok)
            return;
        size_t i = 0;
        for (const cJSON *it = v->child; it; it = it->next, i++) {
            size_t mark = path_push_index(c, i);
            ok[i] = parse_address(c, it, vals[i]);
            for (size_t j = 0; ok[i] && j < i; j++)
                if (ok[j] && memcmp(vals[i], vals[j], ADDRESS_LEN) == 0) {
                    duplicate_item(c, list_mark, j);
                    break;
                }
            path_pop(c, mark);
        }
        a->v = vals;
        a->n = n;
        return;
    }
    struct config_strings *sv = (struct config_strings *)(void *)dst;
    const char **vals = ctx_alloc(c, n * sizeof *vals);
    const char **raw = ctx_alloc(c, n * sizeof *raw);
    if (!vals || !raw)
        return;
    size_t i = 0;
    for (const cJSON *it = v->child; it; it = it->next, i++) {
        size_t mark = path_push_index(c, i);
        bool ok = f->type == T_URLS ? parse_url(c, it, &vals[i]) : parse_name(c, it, &vals[i]);
        if (ok) {
            raw[i] = it->valuestring;
            for (size_t j = 0; j < i; j++)
                if (raw[j] && strcmp(raw[i], raw[j]) == 0) {
                    duplicate_item(c, list_mark, j);
                    break;
                }
        }
        path_pop(c, mark);
    }
    sv->v = vals;
    sv->n = n;
}

static void parse_sections(struct ctx *c, const struct field *f, const cJSON *v, char *base)
{
    const struct section *s = f->aux;
    size_t n = array_items(c, f, v, "an array of objects");
    if (n == 0)
        return;
    char *elems = ctx_alloc(c, n * s->elem_size);
    if (!elems)
        return;
    size_t i = 0;
    for (const cJSON *it = v->child; it; it = it->next, i++) {
        size_t mark = path_push_index(c, i);
        if (!cJSON_IsObject(it))
            type_problem(c, "an object", it);
        else
            walk(c, s, it, elems + i * s->elem_size);
        path_pop(c, mark);
    }
    memcpy(base + f->off, &elems, sizeof elems);
    memcpy(base + f->off_n, &n, sizeof n);
}

static void parse_value(struct ctx *c, const struct field *f, const cJSON *v, char *base)
{
    char *dst = base + f->off;
    char q[QUOTED];
    switch (f->type) {
    case T_SECTION:
        if (!cJSON_IsObject(v))
            type_problem(c, "an object", v);
        else
            walk(c, f->aux, v, base);
        return;
    case T_SECTIONS:
        parse_sections(c, f, v, base);
        return;
    case T_PATH: {
        const char *s = want_string(c, v, "a path (a string)");
        if (!s || refuse_inline_key(c, s))
            return;
        if (!*s)
            problem(c, "is empty; give a path");
        else if (strlen(s) > 4096)
            problem(c, "the path is longer than 4096 characters");
        else if (has_control(s))
            problem(c, "the path holds a control character");
        else if (s[0] == '~')
            problem(c, "~ is not expanded here; write the full path");
        else
            memcpy(dst, &s, sizeof s);
        return;
    }
    case T_NAME: {
        const char *s;
        if (parse_name(c, v, &s))
            memcpy(dst, &s, sizeof s);
        return;
    }
    case T_ENVNAME: {
        const char *s = want_string(c, v, "an environment variable name (a string)");
        if (!s || refuse_inline_key(c, s))
            return;
        if (!valid_envname(s)) {
            quote(q, s);
            problem(c, "expected an environment variable name (letters, digits and _, not starting with a "
                       "digit), got %s; the value itself belongs in the environment", q);
        } else {
            memcpy(dst, &s, sizeof s);
        }
        return;
    }
    case T_U64: {
        if (!cJSON_IsNumber(v)) {
            type_problem(c, "a whole number", v);
            return;
        }
        double d = v->valuedouble;
        if (!isfinite(d) || d != floor(d) || d < 0) {
            problem(c, "expected a whole number of at least 0, got %.15g", d);
            return;
        }
        if (d > (double)JSON_INT_MAX) {
            problem(c, "too large: JSON numbers above %llu are not exact", JSON_INT_MAX);
            return;
        }
        uint64_t u = (uint64_t)d;
        if (range_ok(c, f, u, false))
            memcpy(dst, &u, sizeof u);
        return;
    }
    case T_DURATION: {
        uint64_t ms;
        if (!cJSON_IsString(v) || !parse_duration(v->valuestring, &ms)) {
            type_problem(c, "a duration such as \"500ms\", \"2s\", \"1m\" or \"1h\"", v);
            return;
        }
        if (range_ok(c, f, ms, true))
            memcpy(dst, &ms, sizeof ms);
        return;
    }
    case T_WEI: {
        u256 w;
        unsigned decimals = 0;
        enum wei_parse r = cJSON_IsString(v) ? parse_wei(v->valuestring, &w, &decimals) : WEI_FORM;
        if (r != WEI_OK)
            quote(q, cJSON_IsString(v) ? v->valuestring : "");
        if (r == WEI_FORM) {
            type_problem(c, "an amount of wei as a string, such as \"30000000000\", \"30 gwei\" or \"1.5 gwei\"", v);
            return;
        }
        if (r == WEI_DECIMALS) {
            if (decimals)
                problem(c, "%s has more decimals than its unit allows (%u)", q, decimals);
            else
                problem(c, "%s: wei is the smallest unit; write a whole number", q);
            return;
        }
        if (r == WEI_RANGE) {
            problem(c, "%s is more than 2^256-1 wei", q);
            return;
        }
        if (f->min && u256_is_zero(w)) {
            problem(c, "must be above 0");
            return;
        }
        memcpy(dst, &w, sizeof w);
        return;
    }
    case T_BOOL:
    case T_OPTBOOL:
        if (!cJSON_IsBool(v))
            type_problem(c, "true or false", v);
        else if (f->type == T_BOOL)
            *(bool *)(void *)dst = cJSON_IsTrue(v);
        else
            memcpy(dst, &(struct config_optbool){.set = true, .value = cJSON_IsTrue(v)},
                   sizeof(struct config_optbool));
        return;
    case T_ENUM: {
        const char *const *names = f->aux;
        char list[200] = "";
        for (size_t i = 0; names[i]; i++) {
            if (cJSON_IsString(v) && strcmp(v->valuestring, names[i]) == 0) {
                int e = (int)i;
                memcpy(dst, &e, sizeof e);
                return;
            }
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s\"%s\"", i ? ", " : "", names[i]);
        }
        char expected[240];
        snprintf(expected, sizeof expected, "%s %s", names[1] ? "one of" : "", list);
        type_problem(c, expected + (names[1] ? 0 : 1), v);
        return;
    }
    case T_ADDRESS: {
        struct config_address a = {0};
        if (parse_address(c, v, a.bytes)) {
            a.set = true;
            memcpy(dst, &a, sizeof a);
        }
        return;
    }
    case T_LISTEN: {
        struct config_listen l;
        const char *why, *s = want_string(c, v, "a \"host:port\" string such as \"" CONFIG_DEFAULT_LISTEN "\"");
        if (!s)
            return;
        if (!parse_listen(s, &l, &why)) {
            quote(q, s);
            problem(c, "expected \"host:port\" such as \"" CONFIG_DEFAULT_LISTEN "\", got %s%s%s", q, why ? "; " : "",
                    why ? why : "");
            return;
        }
        memcpy(dst, &l, sizeof l);
        return;
    }
    case T_URLS:
    case T_NAMES:
    case T_ADDRESSES:
        parse_list(c, f, v, dst);
        return;
    }
}

/* ---- unknown keys ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

/* A near miss in this section first, then the key's right section, then a secret, then a known key
 * that starts the unknown one ("listen_address" for "listen"), then the list of keys. */
static void unknown_key(struct ctx *c, const struct section *s, const char *key)
{
    const char *best = NULL;
    size_t best_d = 99, kl = strlen(key);
    for (size_t i = 0; i < s->n; i++) {
        size_t d = edit_distance(key, s->fields[i].key);
        if (d < best_d) {
            best_d = d;
            best = s->fields[i].key;
        }
    }
    if (best && best_d <= 2 && best_d * 3 <= kl) {
        problem(c, "unknown key (did you mean \"%s\"?)", best);
        return;
    }
    for (size_t k = 0; k < sizeof all_sections / sizeof all_sections[0]; k++) {
        const struct section *o = all_sections[k];
        if (o == s)
            continue;
        for (size_t i = 0; i < o->n; i++)
            if (strcmp(o->fields[i].key, key) == 0) {
                problem(c, "unknown key here (did you mean \"%s%s%s\"?)", o->path, o->path[0] ? "." : "", key);
                return;
            }
    }
    if (secret_like_key(key)) {
        problem(c, "looks like a secret; secrets never go in the config: %s", s->secret_hint);
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        size_t fl = strlen(s->fields[i].key);
        if (fl >= 3 && kl > fl && strncmp(key, s->fields[i].key, fl) == 0) {
            problem(c, "unknown key (did you mean \"%s\"?)", s->fields[i].key);
            return;
        }
    }
    char list[600] = "";
    for (size_t i = 0; i < s->n; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", s->fields[i].key);
    }
    problem(c, "unknown key (known keys here: %s)", list);
}

/* ---- the walker ---- */

static bool apply_default(struct ctx *c, const struct field *f, char *base)
{
    cJSON *d = cJSON_Parse(f->def);
    if (!d) {
        c->oom = true;
        return false;
    }
    size_t before = config_problems_count(c->probs);
    parse_value(c, f, d, base);
    cJSON_Delete(d);
    return config_problems_count(c->probs) == before;
}

#define OBJECT_KEYS_MAX 1000

static void walk(struct ctx *c, const struct section *s, const cJSON *obj, char *base)
{
    bool present[FIELDS_MAX] = {false};
    size_t before = config_problems_count(c->probs);
    const char *outer_hint = c->hint;
    c->hint = s->secret_hint;
    if (obj) {
        size_t members = 0;
        for (const cJSON *ch = obj->child; ch; ch = ch->next)
            members++;
        if (members > OBJECT_KEYS_MAX) {
            problem(c, "has %zu keys; a config object has at most %u", members, OBJECT_KEYS_MAX);
            c->hint = outer_hint;
            return;
        }
        for (const cJSON *ch = obj->child; ch; ch = ch->next) {
            const char *key = ch->string ? ch->string : "";
            size_t mark = path_push_key(c, key);
            bool dup = false;
            for (const cJSON *e = obj->child; e != ch && !dup; e = e->next)
                dup = e->string && strcmp(e->string, key) == 0;
            size_t i = 0;
            while (i < s->n && strcmp(s->fields[i].key, key) != 0)
                i++;
            if (dup)
                problem(c, "duplicate key; each key may appear once in an object");
            else if (i == s->n)
                unknown_key(c, s, key);
            else {
                present[i] = true;
                parse_value(c, &s->fields[i], ch, base);
            }
            path_pop(c, mark);
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct field *f = &s->fields[i];
        if (present[i])
            continue;
        size_t mark = path_push_key(c, f->key);
        if (f->required)
            problem(c, "required %s is missing: %s", f->type == T_SECTION ? "section" : "key", f->doc);
        else if (f->type == T_SECTION)
            walk(c, f->aux, NULL, base);
        else if (f->def && !apply_default(c, f, base))
            problem(c, "(internal) the default %s is refused by its own check", f->def);
        path_pop(c, mark);
    }
    if (s->json_off)
        memcpy(base + s->json_off, &obj, sizeof obj);
    c->hint = outer_hint;
    if (s->check && (s->check_always || config_problems_count(c->probs) == before)) {
        /* Checks across keys report on paths of their own choosing; the walk's path comes back after. */
        char saved[sizeof c->path];
        size_t saved_len = c->plen;
        memcpy(saved, c->path, sizeof saved);
        s->check(c, base);
        memcpy(c->path, saved, sizeof saved);
        c->plen = saved_len;
    }
}

/* ---- checks across keys ---- */

static void at(struct ctx *c, const char *path)
{
    snprintf(c->path, sizeof c->path, "%s", path);
    c->plen = strlen(c->path);
}

static void check_api(struct ctx *c, char *base)
{
    struct ferry_config *cfg = (struct ferry_config *)(void *)base;
    char addr[64];
    const struct config_listen *l = &cfg->api.listen;
    snprintf(addr, sizeof addr, strchr(l->host, ':') ? "[%s]:%u" : "%s:%u", l->host, (unsigned)l->port);
    if (cfg->api.token_file && cfg->api.token_env) {
        at(c, "api");
        problem(c, "set only one of token_file and token_env");
    }
    if (!l->loopback && !cfg->api.allow_remote) {
        at(c, "api.listen");
        problem(c, "\"%s\" is not a loopback address; the API listens on loopback unless \"allow_remote\": true "
                   "is set (with a token source)", addr);
    }
    if (cfg->api.allow_remote && !cfg->api.token_file && !cfg->api.token_env) {
        at(c, "api.allow_remote");
        problem(c, "a remote API needs a token source: set api.token_file or api.token_env");
    }
}

static void check_attesters(struct ctx *c, char *base)
{
    struct ferry_config *cfg = (struct ferry_config *)(void *)base;
    uint64_t m = cfg->attesters.threshold;
    size_t n = cfg->attesters.addresses.n, held = cfg->attesters.keys.n;
    if (m > n) {
        at(c, "attesters.threshold");
        problem(c, "%llu exceeds the number of attesters (%zu in attesters.addresses)", (unsigned long long)m, n);
    }
    /* Holding fewer than m keys is allowed: the other signatures then come from other attesters. */
    if (held > n) {
        at(c, "attesters.keys");
        problem(c, "lists %zu keys but the attester set has only %zu addresses", held, n);
    }
}

static void check_relayer(struct ctx *c, char *base)
{
    struct ferry_config *cfg = (struct ferry_config *)(void *)base;
    if (cfg->relayer.backoff_base_ms > cfg->relayer.backoff_max_ms) {
        char a[32], b[32];
        config_format_duration(a, cfg->relayer.backoff_base_ms);
        config_format_duration(b, cfg->relayer.backoff_max_ms);
        at(c, "relayer.backoff_base");
        problem(c, "%s is above relayer.backoff_max (%s)", a, b);
    }
}

static void check_intents(struct ctx *c, char *base)
{
    struct ferry_config *cfg = (struct ferry_config *)(void *)base;
    if (cfg->intents.backoff_base_s > cfg->intents.backoff_max_s) {
        at(c, "intents.backoff_base_s");
        problem(c, "%llu is above intents.backoff_max_s (%llu)", (unsigned long long)cfg->intents.backoff_base_s,
                (unsigned long long)cfg->intents.backoff_max_s);
    }
}

/* Runs with the chain's own path current ("chains[0]", or the prefix given to config_chain_parse). */
static void check_chain(struct ctx *c, char *base)
{
    struct ferry_chain_config *ch = (struct ferry_chain_config *)(void *)base;
    if (u256_cmp(ch->max_priority_fee_per_gas, ch->max_fee_per_gas) > 0) {
        char a[U256_DEC_MAX + 8], b[U256_DEC_MAX + 8];
        format_wei(a, ch->max_priority_fee_per_gas);
        format_wei(b, ch->max_fee_per_gas);
        size_t mark = path_push_key(c, "max_priority_fee_per_gas");
        problem(c, "%s is above max_fee_per_gas (%s)", a, b);
        path_pop(c, mark);
    }
}

static void check_root(struct ctx *c, char *base)
{
    struct ferry_config *cfg = (struct ferry_config *)(void *)base;
    char path[128], q[QUOTED];
    /* intents.enabled defaults to whether any chain can run them */
    bool any_router = false;
    for (size_t i = 0; i < cfg->n_chains; i++)
        any_router |= cfg->chains[i].router.set;
    cfg->intents.enabled = cfg->intents.enabled_opt.set ? cfg->intents.enabled_opt.value : any_router;
    if (cfg->intents.enabled_opt.set && cfg->intents.enabled_opt.value && cfg->n_chains && !any_router) {
        at(c, "intents.enabled");
        problem(c, "true, but no chain names a router: set chains[].router where an IntentRouter is deployed");
    }
    for (size_t i = 0; i < cfg->n_chains; i++) {
        const struct ferry_chain_config *a = &cfg->chains[i];
        for (size_t j = 0; j < i; j++) {
            const struct ferry_chain_config *b = &cfg->chains[j];
            if (a->name && b->name && strcmp(a->name, b->name) == 0) {
                snprintf(path, sizeof path, "chains[%zu].name", i);
                at(c, path);
                quote(q, a->name);
                problem(c, "duplicate %s (also chains[%zu])", q, j);
                break;
            }
        }
        for (size_t j = 0; j < i; j++) {
            const struct ferry_chain_config *b = &cfg->chains[j];
            if (a->chain_id && a->chain_id == b->chain_id) {
                snprintf(path, sizeof path, "chains[%zu].chain_id", i);
                at(c, path);
                problem(c, "duplicate %llu (also chains[%zu])", (unsigned long long)a->chain_id, j);
                break;
            }
        }
        for (size_t k = 0; a->submitter && k < cfg->attesters.keys.n; k++) {
            const char *key = cfg->attesters.keys.v[k];
            if (key && strcmp(key, a->submitter) == 0) {
                snprintf(path, sizeof path, "chains[%zu].submitter", i);
                at(c, path);
                quote(q, key);
                problem(c, "%s is also an attester key (attesters.keys[%zu]); submitter keys pay gas and must be "
                           "separate from attester keys", q, k);
                break;
            }
        }
    }
}

/* ---- loading ---- */

/* Line and column (from 1) of byte offset `off` in text. */
static void line_col(const char *text, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static void syntax_problem(struct config_problems *p, const char *text, size_t len, const char *end)
{
    size_t ws = 0;
    while (ws < len && (text[ws] == ' ' || text[ws] == '\t' || text[ws] == '\n' || text[ws] == '\r'))
        ws++;
    if (ws == len) {
        config_problem_add(p, "", "the file is empty; a config is a JSON object");
        return;
    }
    size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    size_t line, col;
    line_col(text, off, &line, &col);
    /* cJSON points at the value it gave up on; a file cut short is easier to see from its end. */
    bool in_string = false, escaped = false;
    size_t open = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (ch == '\\')
                escaped = true;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '{' || ch == '[') {
            open++;
        } else if ((ch == '}' || ch == ']') && open) {
            open--;
        }
    }
    char cut[96] = "";
    if (in_string)
        snprintf(cut, sizeof cut, "; the file ends inside a string");
    else if (open)
        snprintf(cut, sizeof cut, "; the file ends with %zu unclosed bracket%s", open, open == 1 ? "" : "s");
    if (off >= len) {
        config_problem_add(p, "", "invalid JSON at line %zu, column %zu: the text ends in the middle of a value%s",
                           line, col, cut);
        return;
    }
    if (text[off] == '\0') {
        config_problem_add(p, "", "invalid JSON at line %zu, column %zu: a NUL byte", line, col);
        return;
    }
    char near[24], q[QUOTED];
    size_t n = 0;
    for (; n < 20 && off + n < len && text[off + n] != '\n' && text[off + n]; n++)
        near[n] = text[off + n];
    near[n] = '\0';
    quote(q, near);
    config_problem_add(p, "", "invalid JSON at line %zu, column %zu, near %s%s", line, col, q, cut);
}

static enum ferry_err finish(struct ctx *c, struct config_problems *probs, size_t before)
{
    if (c->oom)
        return ferry_fail(FERRY_ENOMEM, "config: out of memory");
    size_t n = config_problems_count(probs) - before;
    if (n)
        return ferry_fail(FERRY_EINVAL, "config: %zu problem%s", n, n == 1 ? "" : "s");
    return FERRY_OK;
}

enum ferry_err config_parse(const char *text, size_t len, struct ferry_config *cfg, struct config_problems *problems)
{
    struct config_problems local = {0};
    struct config_problems *probs = problems ? problems : &local;
    size_t before = config_problems_count(probs);
    struct ferry_config tmp = {0};
    memset(cfg, 0, sizeof *cfg);
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { /* a UTF-8 byte order mark says nothing */
        text += 3;
        len -= 3;
    }
    const char *end = NULL;
    /* cJSON's own trailing-garbage check wants the length to count a NUL; check the rest here. */
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root) {
        while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
            end++;
        if (end < text + len) {
            cJSON_Delete(root);
            root = NULL;
        }
    }
    struct ctx c = {.probs = probs, .mem = &tmp.mem};
    if (!root) {
        syntax_problem(probs, text, len, end);
    } else if (!cJSON_IsObject(root)) {
        config_problem_add(probs, "", "expected a JSON object at the top level, got %s", json_kind(root));
    } else {
        walk(&c, &root_section, root, (char *)&tmp);
    }
    tmp.json = root;
    enum ferry_err e = finish(&c, probs, before);
    if (e == FERRY_OK)
        *cfg = tmp;
    else
        config_free(&tmp);
    config_problems_free(&local);
    return e;
}

enum ferry_err config_load(const char *path, struct ferry_config *cfg, struct config_problems *problems)
{
    struct config_problems local = {0};
    struct config_problems *probs = problems ? problems : &local;
    memset(cfg, 0, sizeof *cfg);
    FILE *f = fopen(path, "rb");
    struct stat st;
    enum ferry_err e = FERRY_OK;
    if (!f || fstat(fileno(f), &st) != 0) {
        e = ferry_fail(FERRY_EIO, "config: cannot read %s: %s", path, strerror(errno));
        config_problem_add(probs, "", "cannot read the file: %s", strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        e = ferry_fail(FERRY_EIO, "config: %s is a directory", path);
        config_problem_add(probs, "", "is a directory, not a config file");
    }
    struct fbuf b;
    fbuf_init(&b, CONFIG_FILE_MAX);
    char chunk[8192];
    size_t got;
    while (e == FERRY_OK && (got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (fbuf_add(&b, chunk, got)) {
            e = ferry_fail(FERRY_EINVAL, "config: %s is larger than %u bytes", path, CONFIG_FILE_MAX);
            config_problem_add(probs, "", "the file is larger than %u KiB; a config is smaller than that",
                               CONFIG_FILE_MAX / 1024);
        }
    }
    if (e == FERRY_OK && ferror(f)) {
        e = ferry_fail(FERRY_EIO, "config: cannot read %s", path);
        config_problem_add(probs, "", "cannot read the file");
    }
    if (f)
        fclose(f);
    if (e == FERRY_OK)
        e = config_parse(b.len ? (const char *)b.data : "", b.len, cfg, probs);
    fbuf_free(&b);
    config_problems_free(&local);
    return e;
}

void config_free(struct ferry_config *cfg)
{
    if (!cfg)
        return;
    cJSON_Delete(cfg->json);
    mem_free_all(cfg->mem);
    memset(cfg, 0, sizeof *cfg);
}

enum ferry_err config_chain_parse(const cJSON *obj, const char *path_prefix, struct ferry_chain_config *out,
                                  struct config_problems *problems)
{
    struct config_problems local = {0};
    struct config_problems *probs = problems ? problems : &local;
    size_t before = config_problems_count(probs);
    struct ferry_chain_config tmp = {0};
    memset(out, 0, sizeof *out);
    struct ctx c = {.probs = probs, .mem = &tmp.mem};
    at(&c, path_prefix ? path_prefix : "");
    if (!cJSON_IsObject(obj))
        type_problem(&c, "an object", obj);
    else
        walk(&c, &chain_section, obj, (char *)&tmp);
    enum ferry_err e = finish(&c, probs, before);
    if (e == FERRY_OK)
        *out = tmp;
    else
        config_chain_free(&tmp);
    config_problems_free(&local);
    return e;
}

void config_chain_free(struct ferry_chain_config *ch)
{
    if (!ch)
        return;
    mem_free_all(ch->mem);
    memset(ch, 0, sizeof *ch);
}

const struct ferry_chain_config *config_chain_by_name(const struct ferry_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_chains; i++)
        if (strcmp(cfg->chains[i].name, name) == 0)
            return &cfg->chains[i];
    return NULL;
}

/* ---- the schema, described ---- */

/* "<what> (<min> to <max>)" */
static void describe_range(char *out, size_t n, const char *what, const struct field *f)
{
    snprintf(out, n, "%s (%llu to %llu)", what, (unsigned long long)f->min, (unsigned long long)f->max);
}

static void describe_type(char *out, size_t n, const struct field *f)
{
    char a[32], b[32];
    switch (f->type) {
    case T_SECTION:
        snprintf(out, n, "object");
        return;
    case T_SECTIONS:
        describe_range(out, n, "array of objects", f);
        return;
    case T_PATH:
        snprintf(out, n, "path");
        return;
    case T_NAME:
        snprintf(out, n, "name");
        return;
    case T_ENVNAME:
        snprintf(out, n, "environment variable name");
        return;
    case T_U64:
        describe_range(out, n, "integer", f);
        return;
    case T_DURATION:
        config_format_duration(a, f->min);
        config_format_duration(b, f->max);
        snprintf(out, n, "duration (%s to %s)", a, b);
        return;
    case T_WEI:
        snprintf(out, n, "wei (string; gwei, ether allowed)%s", f->min ? ", above 0" : "");
        return;
    case T_BOOL:
    case T_OPTBOOL:
        snprintf(out, n, "boolean");
        return;
    case T_ENUM: {
        const char *const *names = f->aux;
        if (!names[1]) {
            snprintf(out, n, "%s", names[0]);
            return;
        }
        size_t o = (size_t)snprintf(out, n, "one of");
        for (size_t i = 0; names[i] && o < n; i++)
            o += (size_t)snprintf(out + o, n - o, "%s %s", i ? "," : "", names[i]);
        return;
    }
    case T_ADDRESS:
        snprintf(out, n, "address (EIP-55)");
        return;
    case T_LISTEN:
        snprintf(out, n, "host:port");
        return;
    case T_URLS:
        describe_range(out, n, "array of URLs", f);
        return;
    case T_NAMES:
        describe_range(out, n, "array of names", f);
        return;
    case T_ADDRESSES:
        describe_range(out, n, "array of addresses", f);
        return;
    }
}

static void keys_of(const struct section *s, void (*fn)(void *ud, const struct config_key_info *k), void *ud)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct field *f = &s->fields[i];
        struct config_key_info k = {.required = f->required, .def = f->def, .doc = f->doc};
        snprintf(k.path, sizeof k.path, "%s%s%s", s->path, s->path[0] ? "." : "", f->key);
        describe_type(k.type, sizeof k.type, f);
        fn(ud, &k);
        if (f->type == T_SECTION || f->type == T_SECTIONS)
            keys_of(f->aux, fn, ud);
    }
}

void config_keys_each(void (*fn)(void *ud, const struct config_key_info *k), void *ud) { keys_of(&root_section, fn, ud); }
