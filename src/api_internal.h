/* Shared by the API's files: api.c (the request cycle, packets, health, metrics), api_intents.c
 * (intents and chains) and api_sse.c (GET /v1/events). Not a public header. */
#ifndef FERRY_API_INTERNAL_H
#define FERRY_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "ferry/api.h"
#include "ferry/buf.h"
#include "ferry/intent.h"
#include "ferry/loop.h"
#include "ferry/loop_mhd.h"

#define API_PATH_MAX 256
#define API_CAPTURES 3
#define API_CAPTURE_MAX 80 /* an intent id is 66 characters */

struct sse_client;
struct submit_wait;

struct api {
    struct loop_mhd http; /* the MHD daemon on the loop */
    struct MHD_Daemon *mhd;
    struct loop *loop;
    struct store *store;
    struct engine *engine;
    struct orch *orch;
    struct metrics *metrics;
    struct metric *m_requests;
    struct metric *m_sse_clients;
    char *token; /* sodium_malloc'd, NUL-terminated; NULL: writes refused */
    size_t token_len;
    size_t max_body;
    const struct api_chain_name *chains;
    size_t n_chains;
    struct intent_chain_info *dir_chains; /* the chain names for intent JSON (no routers needed) */
    struct intent_dir dir;
    api_health_fn *health;
    void *health_ud;
    uint16_t port;
    /* GET /v1/events */
    struct sse_client *sse; /* every connected client */
    size_t n_sse, sse_max;
    uint64_t sse_keepalive_ms;
    uint64_t events_last; /* the last journal id known durable */
    struct loop_timer sse_timer;
    /* POST /v1/intents waiting for durability */
    struct submit_wait *waits;
};

struct request;
typedef enum MHD_Result handler_fn(struct api *a, struct MHD_Connection *conn, struct request *rq);

struct route {
    const char *method;
    const char *pattern; /* segments; "*" matches one non-empty segment */
    bool write;          /* needs the bearer token */
    handler_fn *fn;
    const char *name;    /* the metrics label */
};

struct request {
    const struct route *route;
    char caps[API_CAPTURES][API_CAPTURE_MAX];
    struct fbuf body;
    bool too_large;
    struct submit_wait *wait; /* POST /v1/intents, suspended until the intent is durable */
};

/* api.c */
void api_count(struct api *a, const char *route, unsigned status);
/* Takes ownership of j (NULL: a 500 "out of memory"). */
enum MHD_Result api_send_json(struct api *a, struct MHD_Connection *conn, const char *route, unsigned status,
                              cJSON *j);
enum MHD_Result api_send_error(struct api *a, struct MHD_Connection *conn, const char *route, unsigned status,
                               const char *fmt, ...) FERRY_PRINTF(5, 6);
/* A 400 (or other status) whose message starts with a field path: {"error", "field", "status"}. */
enum MHD_Result api_send_field_error(struct api *a, struct MHD_Connection *conn, const char *route, unsigned status,
                                     const char *msg);
/* The error JSON alone (for answers queued outside the access handler). */
cJSON *api_error_json(unsigned status, const char *msg, bool with_field);
/* Queues j (owned) as the answer of a suspended connection. */
bool api_queue_json(struct api *a, struct MHD_Connection *conn, const char *route, unsigned status, cJSON *j);
bool api_parse_u64(const char *s, uint64_t *out);
bool api_parse_chain(const struct api *a, const char *s, uint64_t *out);
/* The configured name of a chain id, or NULL. */
const char *api_chain_name(const struct api *a, uint64_t chain_id);
/* Refuses query parameters outside `known` (NULL-terminated): the unknown one, or NULL. */
const char *api_unknown_arg(struct MHD_Connection *conn, const char *const *known);

/* api_intents.c */
handler_fn api_h_prepare, api_h_submit, api_h_intent, api_h_intents, api_h_intent_retry, api_h_intent_cancel,
    api_h_chains, api_h_chain_pause, api_h_chain_resume;
/* Forgets a request's wait (the connection is closing); the orchestrator's callback frees it. */
void api_submit_detach(struct request *rq);
/* At api_stop: answers every waiting submission with 503 and resumes its connection. */
void api_submit_stop_all(struct api *a);

/* api_sse.c */
handler_fn api_h_events;
void api_sse_init(struct api *a, const struct api_config *cfg);
/* At api_stop: closes every stream (resuming suspended connections, as MHD requires). */
void api_sse_stop_all(struct api *a);

/* Strict parsers of outside input, exposed for tests and fuzzing through api.h. */

#endif
