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
 *
 * Every answer is JSON but /metrics; errors are {"error": message, "status": code}. Writes need
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

#endif
