/* The daemon's HTTP API: libmicrohttpd without a thread of its own, driven from the one event loop
 * as a loop source (its fds and timeout go into the loop's poll; requests are answered on the loop's
 * thread, so handlers read the store and call the engine directly).
 *
 *   GET  /healthz                           {"status":"ok", "chains":[...]} or 503 when not healthy
 *   GET  /metrics                           Prometheus text from the metrics registry
 *   GET  /v1/packets?state=&pending=&src=&dst=&sequence=&limit=&cursor=
 *                                           {"packets":[record...], "next": cursor or null}
 *   GET  /v1/packets/{src}/{seq}            one record
 *   POST /v1/packets/{src}/{seq}/retry      engine_retry (bearer token)
 *   POST /v1/intents/prepare                orch_prepare: {"intent_id", "intent", "typed_data"}
 *   POST /v1/intents                        orch_submit: 202 once durable, 200 if known (token)
 *   GET  /v1/intents?state=&owner=&chain=&tx=&pending=&limit=&cursor=
 *                                           {"intents":[record...], "next": cursor or null}
 *   GET  /v1/intents/{id}                   one record, from the store
 *   POST /v1/intents/{id}/retry | /cancel   orch_retry / orch_cancel (token)
 *   GET  /v1/chains                         {"chains":[{"name","chain_id","paused","head"}]}
 *   POST /v1/chains/{name}/pause | /resume  orch_pause_chain (token)
 *   GET  /v1/events?after=&intent=          Server-Sent Events: the orchestrator's journal
 *
 * Every answer is JSON but /metrics and /v1/events; errors are {"error": message, "status": code}
 * (plus "field" when the message is about one field of the body: the part before ": "). Writes need
 * `Authorization: Bearer TOKEN`, compared in constant time; without a configured token every write
 * is refused (403). Request bodies are capped (413). docs/daemon.md lists the routes. */
#ifndef FERRY_API_H
#define FERRY_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ferry/err.h"

struct api;
struct engine;
struct loop;
struct metrics;
struct orch;
struct store;

#define API_DEFAULT_MAX_BODY (64u * 1024)
#define API_LIMIT_DEFAULT 100u /* packets per page unless `limit` says otherwise */
#define API_LIMIT_MAX 1000u
#define API_SSE_MAX_CLIENTS 64u       /* GET /v1/events streams at once; more: 503 */
#define API_SSE_KEEPALIVE_MS 15000u   /* a ": keepalive" comment this often */
#define API_SSE_BUFFER (64u * 1024)   /* bytes queued for one stream at most */
#define API_SSE_BATCH 64u             /* journal entries read from the store at a time */
#define API_SSE_SCAN 4096u            /* journal entries one refill may pass over (a filter) */
#define API_CONNECTION_TIMEOUT_S 30u  /* an idle or stalled connection is closed after this */

/* Fills the health of the chains for /healthz: returns a JSON array (owned by the caller, i.e. the
 * API frees it) and sets *healthy. NULL on no memory. */
typedef cJSON *api_health_fn(void *ud, bool *healthy);

/* A chain name the API accepts in place of its id (src=alpha). */
struct api_chain_name {
    const char *name;
    uint64_t chain_id;
};

struct api_config {
    struct loop *loop;       /* required */
    struct store *store;     /* required: listings read the durable records */
    struct engine *engine;   /* may be NULL: retries answer 503 */
    struct orch *orch;       /* may be NULL: intents are disabled (their routes answer 503) */
    struct metrics *metrics; /* may be NULL: /metrics answers 503 */
    const char *host;        /* an IP literal or "localhost" */
    uint16_t port;           /* 0: any free port (tests; see api_port) */
    const char *token;       /* copied into guarded memory; NULL or "": every write is refused */
    size_t max_body;         /* 0: API_DEFAULT_MAX_BODY */
    const struct api_chain_name *chains; /* borrowed; must outlive the API */
    size_t n_chains;
    api_health_fn *health; /* may be NULL: healthy with no chains listed */
    void *health_ud;
    /* Without orch, GET /v1/intents and /v1/intents/{id} still read the store. */
    unsigned sse_max_clients;  /* 0: API_SSE_MAX_CLIENTS */
    unsigned sse_keepalive_ms; /* 0: API_SSE_KEEPALIVE_MS (tests shorten it) */
};

/* Binds the listening socket and starts serving on the loop. */
enum ferry_err api_start(struct api **out, const struct api_config *cfg) FERRY_WUR;
/* The port actually bound. */
uint16_t api_port(const struct api *a);
/* Stops serving (open connections are closed), wipes the token and frees a. NULL is fine. */
void api_stop(struct api *a);

/* Constant-time check of an Authorization header value against the token: true only for
 * "Bearer <token>" exactly. Exposed for tests. */
bool api_token_matches(const char *header, const char *token, size_t token_len);

/* The orchestrator's notify callback (orch_config.notify): journal entries up to last_id are
 * durable, so the event streams may send them. Wire it through a trampoline, since the API starts
 * after the orchestrator: `api_events_notify(d->api, last_id)`. a NULL is fine (does nothing). */
void api_events_notify(struct api *a, uint64_t last_id);

/* Strict parsers of outside input (exposed for tests and the fuzz harness). */
/* A Last-Event-ID or ?after=: decimal, no sign, no leading zero, no spaces, at most UINT64_MAX. */
bool api_parse_event_id(const char *s, uint64_t *out);
/* An intent id: "0x" and 64 hex digits (either case). */
bool api_parse_intent_id(const char *s, uint8_t out[32]);

struct fbuf;
/* Appends one journal entry as an SSE event: "id: N\nevent: intent|hop\ndata: {json}\n\n". The
 * JSON is re-printed on one line; an entry that is not a JSON object with "kind" "intent" or "hop"
 * is refused (FERRY_EINVAL) and nothing is appended. filter (NULL: none): only entries whose
 * "intent_id" is that id; *matched says whether the entry was appended. */
enum ferry_err api_sse_format(struct fbuf *out, uint64_t id, const char *json, size_t len,
                              const uint8_t *filter, bool *matched) FERRY_WUR;

#endif
