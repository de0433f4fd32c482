/* JSON-RPC 2.0 client for EVM nodes: asynchronous, on the daemon's one event loop.
 *
 * - Several endpoints per chain. Each call goes to the best endpoint at that moment (healthy
 *   first, then fewest consecutive errors, then least head lag, then lowest latency, then
 *   configuration order); a failed attempt is retried on another endpoint when there is one.
 * - Keep-alive HTTP: every endpoint keeps a small pool of curl easy handles (at most
 *   max_inflight requests at once; more wait in a queue), and curl's connection cache keeps
 *   the connections open between requests.
 * - Retry with exponential backoff and full jitter on timeouts, connection errors, 5xx, other
 *   unexpected HTTP statuses, malformed replies and rate limits (HTTP 429 honours Retry-After,
 *   in seconds or as an HTTP date), within max_attempts and an overall deadline per call.
 *   Errors that cannot succeed on retry reach the caller at once, typed (rpc_errkind).
 * - Reply bodies are capped by counting the bytes received, whatever Content-Length says.
 *   Replies are checked strictly: jsonrpc "2.0", matching ids (batch replies in any order,
 *   each id exactly once), exactly one of result / error.
 * - Health per endpoint: requests and errors (by method), consecutive errors, latency
 *   (EWMA), head (from every eth_blockNumber it answers) and lag behind the best head. An
 *   endpoint lagging more than head_lag_max blocks is not trusted for logs: calls made with
 *   rpc_opts.logs_grade never go to it.
 *
 * Callbacks always run from the loop, never from inside rpc_call / rpc_batch. */
#ifndef FERRY_EVM_RPC_H
#define FERRY_EVM_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ferry/err.h"
#include "ferry/loop.h"

enum rpc_errkind {
    RPC_OK = 0,
    /* The endpoint failed. Retried (on another endpoint when there is one) until attempts or
     * the deadline run out; the caller sees the last one. */
    RPC_E_TIMEOUT,      /* no complete reply within the per-attempt timeout */
    RPC_E_CONNECT,      /* could not connect, or the connection broke */
    RPC_E_HTTP_STATUS,  /* an HTTP status other than 200 without a JSON-RPC error body (5xx, 403...) */
    RPC_E_RATE_LIMITED, /* HTTP 429, or a JSON-RPC "rate limit" error */
    RPC_E_MALFORMED,    /* the body is not JSON */
    RPC_E_BAD_ENVELOPE, /* JSON, but not a JSON-RPC 2.0 reply */
    RPC_E_ID_MISMATCH,  /* the reply's ids do not answer the request's */
    /* Failures of the call itself, never retried. */
    RPC_E_BODY_TOO_LARGE, /* the reply passed the byte cap (shrink the query) */
    RPC_E_NO_ENDPOINT,    /* no endpoint may take the call (pinned elsewhere, none trusted for logs) */
    RPC_E_CANCELLED,      /* the client was freed before the call ended */
    /* The node understood and refused. Never retried. */
    RPC_E_NONCE_TOO_LOW,             /* the nonce was used already */
    RPC_E_NONCE_TOO_HIGH,            /* a gap before this nonce */
    RPC_E_ALREADY_KNOWN,             /* the same transaction is already in the pool */
    RPC_E_REPLACEMENT_UNDERPRICED,   /* same nonce pending with a fee this one does not beat enough */
    RPC_E_UNDERPRICED,               /* fee below what the node accepts at all */
    RPC_E_INSUFFICIENT_FUNDS,        /* balance below gas * price + value */
    RPC_E_EXECUTION_REVERTED,        /* eth_call / estimateGas / send reverted; revert_data when sent */
    RPC_E_LIMIT_EXCEEDED,            /* eth_getLogs: too many results, block range too wide, reply too big */
    RPC_E_METHOD_NOT_FOUND,          /* the node does not serve this method */
    RPC_E_NODE,                      /* any other JSON-RPC error: see code and message */
    RPC_E__COUNT
};

/* "NONCE_TOO_LOW", "TIMEOUT"...; never NULL. */
const char *rpc_errkind_name(enum rpc_errkind k);
/* The kind named name (as printed by rpc_errkind_name), or RPC_E__COUNT. */
enum rpc_errkind rpc_errkind_from_name(const char *name);
/* Whether the client retries this kind by itself. */
bool rpc_errkind_retryable(enum rpc_errkind k);

/* What went wrong. Pointers stay valid only during the callback that received them. */
struct rpc_error {
    enum rpc_errkind kind;
    int64_t code;            /* the node's JSON-RPC error code (node errors and rate limits) */
    long http_status;        /* the last HTTP status seen, 0 if none */
    const char *message;     /* never NULL: the node's message, or what failed and where */
    const cJSON *data;       /* the node's error "data", or NULL */
    const char *revert_data; /* EXECUTION_REVERTED: the revert bytes as "0x..." when sent */
    uint64_t retry_after_ms; /* RATE_LIMITED: the wait the server asked for (0 if none) */
    /* LIMIT_EXCEEDED, when the node's message says: the widest block range it serves, and a
     * range it suggests to ask for instead. 0 / false when it does not say. */
    uint64_t limit_max_blocks;
    bool limit_has_range;
    uint64_t limit_from, limit_to;
    int endpoint;      /* index of the endpoint that answered or failed last, -1 if none */
    uint32_t attempts; /* HTTP attempts made for this call */
};

/* One call's outcome: result when err.kind == RPC_OK (possibly a JSON null), else err. */
struct rpc_reply {
    cJSON *result;
    struct rpc_error err;
    cJSON *parent_; /* private: for rpc_reply_take */
    /* Calls named in rpc_opts.raw_results: the result's JSON text as the node sent it, unparsed (result
     * is then a JSON null standing in for it). It is NOT checked: the caller parses it as
     * strictly as cJSON would (a malformed one is the endpoint's fault). raw_depth: the
     * containers around it in the reply (1, or 2 in a batch), for cJSON's nesting limit.
     * Points into the reply body, valid during the callback. NULL otherwise: the result came
     * as a tree (the client reads the reply that way when it is not plainly shaped). */
    const char *raw;
    size_t raw_len;
    size_t raw_depth;
};

/* The result belongs to the client and is freed when the callback returns; this detaches
 * it and hands it to the caller (free with cJSON_Delete). NULL on error replies. */
cJSON *rpc_reply_take(struct rpc_reply *r);

/* A call or a batch: replies[0..n) in the order the calls were given (n = 1 for rpc_call).
 * The callback may start new calls, and may free the client. */
typedef void (*rpc_cb)(void *ud, struct rpc_reply *replies, size_t n);

struct rpc_endpoint_config {
    const char *url;  /* http:// or https:// */
    const char *name; /* shown in status and metrics; NULL: scheme://host:port of the url */
};

/* Zero fields take the default in brackets. */
struct rpc_config {
    const struct rpc_endpoint_config *endpoints;
    size_t n_endpoints;           /* 1 .. RPC_MAX_ENDPOINTS */
    uint32_t timeout_ms;          /* per HTTP attempt [10000] */
    uint32_t connect_timeout_ms;  /* [3000] */
    uint32_t deadline_ms;         /* per call, across every attempt and wait [30000] */
    uint32_t max_attempts;        /* [4] */
    uint32_t backoff_base_ms;     /* first retry waits up to this, doubling [200] */
    uint32_t backoff_max_ms;      /* [5000] */
    uint32_t retry_after_max_ms;  /* longest Retry-After honoured [60000] */
    uint32_t demote_base_ms;      /* a failing endpoint drops in rank this long, doubling [1000] */
    uint32_t demote_max_ms;       /* [60000] */
    uint32_t unhealthy_after;     /* consecutive errors that make an endpoint unhealthy [3] */
    uint32_t max_inflight;        /* concurrent requests per endpoint [4] */
    uint32_t head_lag_max;        /* blocks behind the best head still trusted for logs [3] */
    uint32_t head_probe_ms;       /* ask every endpoint for eth_blockNumber this often [0: never] */
    size_t max_body;              /* reply byte cap [32 MiB] */
    size_t max_batch;             /* calls per batch [1000] */
    uint64_t seed;                /* jitter; 0: from the system's random source */
};

#define RPC_MAX_ENDPOINTS 32

/* Per-call options; NULL or zero fields: the client's configuration. */
struct rpc_opts {
    uint32_t timeout_ms;
    uint32_t deadline_ms;
    uint32_t max_attempts;
    bool logs_grade;   /* only endpoints whose head is trusted for logs */
    bool pinned;       /* only endpoint `endpoint` (no failover) */
    unsigned endpoint;
    /* Bit i (calls 0..63): hand call i's result over as text (rpc_reply.raw), without a
     * cJSON tree; a big eth_getLogs reply costs more to build as a tree than to read. */
    uint64_t raw_results;
};

struct rpc_client;

enum ferry_err rpc_client_new(struct loop *loop, const struct rpc_config *cfg, struct rpc_client **out) FERRY_WUR;
/* Ends every pending call with RPC_E_CANCELLED (callbacks run inside this call), then frees.
 * From inside one of the client's callbacks the memory goes when that callback returns. */
void rpc_client_free(struct rpc_client *c);

/* Sends method(params). params_json is a JSON array or object (NULL: []), copied. Returns
 * an error only for bad arguments (nothing is sent, the callback never runs). */
enum ferry_err rpc_call(struct rpc_client *c, const char *method, const char *params_json, const struct rpc_opts *opts,
                        rpc_cb cb, void *ud) FERRY_WUR;

struct rpc_call_spec {
    const char *method;
    const char *params_json;
};
/* Sends calls[0..n) as one JSON-RPC batch; one callback with n replies. */
enum ferry_err rpc_batch(struct rpc_client *c, const struct rpc_call_spec *calls, size_t n, const struct rpc_opts *opts,
                         rpc_cb cb, void *ud) FERRY_WUR;

/* Calls not yet ended. */
size_t rpc_pending(const struct rpc_client *c);
/* Sends eth_blockNumber to every endpoint now (one attempt each) to refresh heads. */
void rpc_probe_heads(struct rpc_client *c);

/* ---- health and metrics (ferry chain status, /metrics) ---- */

struct rpc_endpoint_status {
    const char *name;
    bool healthy;          /* fewer than unhealthy_after consecutive errors */
    bool trusted_for_logs; /* head known and within head_lag_max of the best */
    uint64_t requests;     /* HTTP attempts */
    uint64_t errors;       /* attempts that failed (transport, HTTP, malformed, rate limited, too large) */
    uint32_t consecutive_errors;
    double latency_ms; /* EWMA over answered attempts; 0 before the first */
    bool head_known;
    uint64_t head;
    uint64_t head_lag;      /* blocks behind the best healthy head (0 when unknown) */
    uint64_t demoted_ms;    /* ranked down for this much longer */
    uint64_t retry_after_ms; /* not used for this much longer (the server's Retry-After) */
    unsigned inflight;
};

size_t rpc_endpoint_count(const struct rpc_client *c);
/* The caller found endpoint i's answer wrong in substance (a log outside the range it asked
 * for, a block hash that contradicts the same endpoint's logs): counts an error and ranks the
 * endpoint down as a failed attempt would, so the next call goes elsewhere when it can.
 * i < 0 or out of range (rpc_error.endpoint when no endpoint answered): nothing. */
void rpc_endpoint_fault(struct rpc_client *c, int i);
enum ferry_err rpc_endpoint_status(const struct rpc_client *c, size_t i, struct rpc_endpoint_status *out) FERRY_WUR;
bool rpc_endpoint_trusted_for_logs(const struct rpc_client *c, size_t i);

/* Calls sent and calls failed, by method, for endpoint i: every attempt counts, a batch
 * counts each of its calls, node errors count as failed. Fills up to max entries, returns
 * how many there are. Methods past the first 32 seen count under "other". */
struct rpc_method_stats {
    const char *method;
    uint64_t calls;
    uint64_t errors;
};
size_t rpc_endpoint_methods(const struct rpc_client *c, size_t i, struct rpc_method_stats *out, size_t max);

/* ---- the reply parser and error classifier (pure functions; exposed for tests and fuzzing) ---- */

/* Checks body as the reply to calls with ids[0..n) (ascending) and methods[0..n), sent as a
 * batch when `batch`. On RPC_OK, *tree owns the parsed reply (cJSON_Delete it) and out[i]
 * holds each call's result or node error. Otherwise (RPC_E_MALFORMED, RPC_E_BAD_ENVELOPE,
 * RPC_E_ID_MISMATCH) *tree is NULL, nothing in out is set and why says what was wrong. A
 * single error object with a null id answering a whole batch applies to every call. */
enum rpc_errkind rpc_parse_reply(const char *body, size_t len, bool batch, const uint64_t *ids,
                                 const char *const *methods, size_t n, cJSON **tree, struct rpc_reply *out, char *why,
                                 size_t why_len);

/* The same, for calls of which those with raw[i] want their result as text: when the reply is
 * plainly shaped (keys without escapes, integer ids), those results are left out of the tree
 * and out[i].raw points at them in body; the envelope is checked exactly as above. raw may be
 * NULL (none). */
enum rpc_errkind rpc_parse_reply_raw(const char *body, size_t len, bool batch, const uint64_t *ids,
                                     const char *const *methods, const bool *raw, size_t n, cJSON **tree,
                                     struct rpc_reply *out, char *why, size_t why_len);

/* The kind of a node's JSON-RPC error (by code, then by the message variants of geth,
 * erigon, nethermind, besu, reth, anvil, openethereum and the common providers). method
 * may be NULL; some messages mean LIMIT_EXCEEDED only for eth_getLogs. */
enum rpc_errkind rpc_classify(const char *method, int64_t code, const char *message);

/* Fills err's derived fields (kind, revert_data, limit hints) from code, message and data. */
void rpc_error_from_node(struct rpc_error *err, const char *method, int64_t code, const char *message,
                         const cJSON *data);

#endif
