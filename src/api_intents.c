/* The intent and chain routes of the HTTP API (include/ferry/api.h lists them). Reads come from
 * the store (what is durable); writes go through the orchestrator. A submission is answered only
 * once its record is durable: its connection is suspended until orch_submit's callback, which runs
 * on a later turn of the loop. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/address.h"
#include "ferry/hex.h"
#include "ferry/log.h"
#include "ferry/orch.h"
#include "api_internal.h"

/* A POST /v1/intents waiting for orch_submit's callback. The orchestrator holds the pointer until
 * it calls back, so this outlives its request when the connection closes or the API stops
 * (detached: a == NULL, and the callback frees it). */
struct submit_wait {
    struct api *a;
    struct MHD_Connection *conn;
    struct request *rq;
    struct submit_wait *prev, *next;
    bool suspended;
    bool done;
    enum ferry_err err;
    uint8_t id[32];
    enum intent_state state;
    bool existed;
};

static uint64_t now_s(void) { return (uint64_t)time(NULL); }

static enum MHD_Result no_orch(struct api *a, struct MHD_Connection *conn, const char *rn)
{
    return api_send_error(a, conn, rn, MHD_HTTP_SERVICE_UNAVAILABLE,
                          "no intent orchestrator is running (no chain has an intent router configured)");
}

/* An orchestrator error as an answer: EINVAL is about a field of the body. */
static enum MHD_Result orch_error(struct api *a, struct MHD_Connection *conn, const char *rn, enum ferry_err e,
                                  const char *err, unsigned estate_status)
{
    const char *msg = err && *err ? err : ferry_errmsg();
    switch (e) {
    case FERRY_EINVAL:
        return api_send_field_error(a, conn, rn, 400, msg);
    case FERRY_ENOTFOUND:
        return api_send_error(a, conn, rn, 404, "%s", msg);
    case FERRY_ESTATE:
        return api_send_error(a, conn, rn, estate_status, "%s", msg);
    case FERRY_EBUSY:
        return api_send_error(a, conn, rn, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", msg);
    default:
        return api_send_error(a, conn, rn, 500, "%s: %s", ferry_strerror(e), msg);
    }
}

/* The body as a JSON object whose members are all in `known`; msg names the field at fault. */
static cJSON *parse_body(struct request *rq, const char *const *known, char *msg, size_t cap)
{
    if (rq->body.len == 0) {
        snprintf(msg, cap, "body: expected a JSON object, got an empty body");
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)rq->body.data, rq->body.len);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        snprintf(msg, cap, "body: expected a JSON object");
        return NULL;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, j)
    {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = m->string && !strcmp(m->string, known[i]);
        if (!ok) {
            snprintf(msg, cap, "%.64s: unknown member (expected %s%s%s)", m->string ? m->string : "?", known[0],
                     known[1] ? ", " : "", known[1] ? known[1] : "");
            cJSON_Delete(j);
            return NULL;
        }
    }
    return j;
}

static const cJSON *member(const cJSON *j, const char *name, char *msg, size_t cap)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!m)
        snprintf(msg, cap, "%s: missing", name);
    return m;
}

static bool add_id(cJSON *j, const uint8_t id[32])
{
    char hex[67];
    hex_encode(hex, id, 32, true);
    return cJSON_AddStringToObject(j, "intent_id", hex) != NULL;
}

/* {"intent_id", "state"[, "existed": true]} */
static cJSON *id_state(const uint8_t id[32], enum intent_state state, bool existing)
{
    cJSON *j = cJSON_CreateObject();
    if (j && (!add_id(j, id) || !cJSON_AddStringToObject(j, "state", intent_state_name(state)) ||
              (existing && !cJSON_AddTrueToObject(j, "existing")))) {
        cJSON_Delete(j);
        j = NULL;
    }
    return j;
}

/* ---- POST /v1/intents/prepare ---- */

enum MHD_Result api_h_prepare(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    const char *rn = rq->route->name;
    if (!a->orch)
        return no_orch(a, conn, rn);
    static const char *const known[] = {"intent", NULL};
    char msg[ORCH_ERR_MAX] = "";
    cJSON *body = parse_body(rq, known, msg, sizeof msg);
    const cJSON *it = body ? member(body, "intent", msg, sizeof msg) : NULL;
    if (!it) {
        cJSON_Delete(body);
        return api_send_field_error(a, conn, rn, 400, msg);
    }
    cJSON *out = NULL;
    enum ferry_err e = orch_prepare(a->orch, it, now_s(), &out, msg);
    cJSON_Delete(body);
    if (e)
        return orch_error(a, conn, rn, e, msg, MHD_HTTP_SERVICE_UNAVAILABLE);
    return api_send_json(a, conn, rn, MHD_HTTP_OK, out);
}

/* ---- POST /v1/intents ---- */

static void wait_unlink(struct submit_wait *w)
{
    if (!w->a)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        w->a->waits = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->a = NULL;
}

/* The answer for a finished submission (NULL on no memory). */
static cJSON *submit_answer(const struct submit_wait *w, unsigned *status)
{
    if (w->err) {
        char msg[256];
        snprintf(msg, sizeof msg, "storing the intent failed: %s", ferry_strerror(w->err));
        *status = w->err == FERRY_EBUSY ? MHD_HTTP_SERVICE_UNAVAILABLE : 500;
        return api_error_json(*status, msg, false);
    }
    *status = w->existed ? MHD_HTTP_OK : MHD_HTTP_ACCEPTED;
    return id_state(w->id, w->state, w->existed);
}

static void on_submitted(void *ud, enum ferry_err err, const uint8_t id[32], enum intent_state state, bool existed)
{
    struct submit_wait *w = ud;
    w->done = true;
    w->err = err;
    if (id)
        memcpy(w->id, id, 32);
    w->state = state;
    w->existed = existed;
    if (!w->a) { /* the connection or the API went away first */
        free(w);
        return;
    }
    if (!w->suspended)
        return; /* called inside orch_submit: the handler answers */
    struct api *a = w->a;
    unsigned status;
    cJSON *j = submit_answer(w, &status);
    if (!api_queue_json(a, w->conn, w->rq->route->name, status, j))
        log_msg(LOGL_WARN, "api", "could not queue the answer of an intent submission");
    MHD_resume_connection(w->conn);
    w->rq->wait = NULL;
    wait_unlink(w);
    free(w);
}

enum MHD_Result api_h_submit(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    const char *rn = rq->route->name;
    if (!a->orch)
        return no_orch(a, conn, rn);
    static const char *const known[] = {"intent", "signature", NULL};
    char msg[ORCH_ERR_MAX] = "";
    cJSON *body = parse_body(rq, known, msg, sizeof msg);
    const cJSON *it = body ? member(body, "intent", msg, sizeof msg) : NULL;
    const cJSON *sig = it ? member(body, "signature", msg, sizeof msg) : NULL;
    if (sig && !cJSON_IsString(sig)) {
        snprintf(msg, sizeof msg, "signature: expected a 0x hex string of 65 bytes");
        sig = NULL;
    }
    if (!sig) {
        cJSON_Delete(body);
        return api_send_field_error(a, conn, rn, 400, msg);
    }
    struct submit_wait *w = calloc(1, sizeof *w);
    if (!w) {
        cJSON_Delete(body);
        return api_send_json(a, conn, rn, 500, NULL);
    }
    w->a = a;
    w->conn = conn;
    w->rq = rq;
    w->next = a->waits;
    if (a->waits)
        a->waits->prev = w;
    a->waits = w;
    rq->wait = w;
    enum ferry_err e = orch_submit(a->orch, it, sig->valuestring, now_s(), on_submitted, w, msg);
    cJSON_Delete(body);
    if (e) {
        rq->wait = NULL;
        wait_unlink(w);
        free(w);
        return orch_error(a, conn, rn, e, msg, MHD_HTTP_SERVICE_UNAVAILABLE);
    }
    if (w->done) {
        unsigned status;
        cJSON *j = submit_answer(w, &status);
        rq->wait = NULL;
        wait_unlink(w);
        free(w);
        return api_send_json(a, conn, rn, status, j);
    }
    w->suspended = true;
    MHD_suspend_connection(conn);
    return MHD_YES;
}

void api_submit_detach(struct request *rq)
{
    struct submit_wait *w = rq->wait;
    if (!w)
        return;
    rq->wait = NULL;
    w->conn = NULL;
    w->rq = NULL;
    wait_unlink(w);
}

void api_submit_stop_all(struct api *a)
{
    while (a->waits) {
        struct submit_wait *w = a->waits;
        if (w->suspended && w->conn) {
            cJSON *j = api_error_json(MHD_HTTP_SERVICE_UNAVAILABLE,
                                      "the daemon is stopping: the intent may be stored, GET it after the restart",
                                      false);
            if (!api_queue_json(a, w->conn, w->rq->route->name, MHD_HTTP_SERVICE_UNAVAILABLE, j))
                log_msg(LOGL_WARN, "api", "could not answer a waiting intent submission");
            MHD_resume_connection(w->conn);
        }
        if (w->rq)
            w->rq->wait = NULL;
        w->conn = NULL;
        w->rq = NULL;
        wait_unlink(w); /* orch_submit's callback frees it */
    }
}

/* ---- reads ---- */

static cJSON *record_json(const struct api *a, const struct intent_record *r)
{
    cJSON *j = intent_record_to_json(r, &a->dir);
    /* A chain the API has no name for (removed from the config): ids rather than nothing. */
    return j ? j : intent_record_to_json(r, NULL);
}

enum MHD_Result api_h_intent(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    const char *rn = rq->route->name;
    uint8_t id[32];
    if (!api_parse_intent_id(rq->caps[0], id))
        return api_send_error(a, conn, rn, 400, "expected /v1/intents/{id}, the id 0x and 64 hex digits");
    struct intent_record *r = calloc(1, sizeof *r);
    if (!r)
        return api_send_json(a, conn, rn, 500, NULL);
    enum ferry_err e = intent_record_load(a->store, id, r);
    if (e) {
        free(r);
        if (e == FERRY_ENOTFOUND)
            return api_send_error(a, conn, rn, 404, "no intent %.66s", rq->caps[0]);
        return api_send_error(a, conn, rn, 500, "reading intent: %s", ferry_errmsg());
    }
    cJSON *j = record_json(a, r);
    intent_record_clear(r);
    free(r);
    return api_send_json(a, conn, rn, MHD_HTTP_OK, j);
}

struct intent_listing {
    const struct api *a;
    cJSON *arr;
};

static enum ferry_err add_intent(void *arg, const struct intent_record *r)
{
    struct intent_listing *l = arg;
    cJSON *j = record_json(l->a, r);
    if (!j || !cJSON_AddItemToArray(l->arr, j)) {
        cJSON_Delete(j);
        return ferry_fail(FERRY_ENOMEM, "api: out of memory listing intents");
    }
    return FERRY_OK;
}

static const char *const intent_args[] = {"state", "owner", "chain", "tx", "pending", "limit", "cursor", NULL};

static const char *arg(struct MHD_Connection *conn, const char *name)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

enum MHD_Result api_h_intents(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    const char *rn = rq->route->name;
    const char *unknown = api_unknown_arg(conn, intent_args);
    if (unknown)
        return api_send_error(a, conn, rn, 400,
                              "unknown query parameter \"%.64s\" (known: state, owner, chain, tx, pending, limit, "
                              "cursor)", unknown);
    struct intent_filter f;
    memset(&f, 0, sizeof f);
    const char *v;
    if ((v = arg(conn, "state")) && intent_state_parse(v, &f.state))
        return api_send_field_error(a, conn, rn, 400, "state: unknown intent state");
    if ((v = arg(conn, "pending"))) {
        if (!strcmp(v, "true") || !strcmp(v, "1"))
            f.pending = true;
        else if (strcmp(v, "false") && strcmp(v, "0"))
            return api_send_field_error(a, conn, rn, 400, "pending: expected true or false");
    }
    if (f.pending && f.state != INTENT_NONE)
        return api_send_error(a, conn, rn, 400, "give either state or pending, not both");
    if ((v = arg(conn, "owner"))) {
        if (address_parse(f.owner, v))
            return api_send_field_error(a, conn, rn, 400, "owner: expected a 0x address of 20 bytes");
        f.have_owner = true;
    }
    if ((v = arg(conn, "chain")) && !api_parse_chain(a, v, &f.chain))
        return api_send_field_error(a, conn, rn, 400, "chain: expected a chain id or configured name");
    if ((v = arg(conn, "tx"))) {
        if (!api_parse_intent_id(v, f.tx)) /* the same shape: 0x and 32 bytes */
            return api_send_field_error(a, conn, rn, 400, "tx: expected a transaction hash, 0x and 64 hex digits");
        f.have_tx = true;
    }
    uint64_t limit = API_LIMIT_DEFAULT;
    if ((v = arg(conn, "limit")) && (!api_parse_u64(v, &limit) || limit < 1 || limit > API_LIMIT_MAX))
        return api_send_error(a, conn, rn, 400, "limit: expected 1 to %u, got \"%.64s\"", API_LIMIT_MAX, v);
    const char *cursor = arg(conn, "cursor");
    if (cursor && strlen(cursor) >= INTENT_CURSOR_MAX)
        return api_send_field_error(a, conn, rn, 400, "cursor: too long");

    struct intent_listing l = {a, cJSON_CreateArray()};
    cJSON *j = cJSON_CreateObject();
    if (!l.arr || !j) {
        cJSON_Delete(l.arr);
        cJSON_Delete(j);
        return api_send_json(a, conn, rn, 500, NULL);
    }
    char next[INTENT_CURSOR_MAX] = "";
    enum ferry_err e = intent_list(a->store, &f, cursor, (size_t)limit, add_intent, &l, next);
    if (e) {
        cJSON_Delete(l.arr);
        cJSON_Delete(j);
        if (e == FERRY_EINVAL)
            return api_send_error(a, conn, rn, 400, "listing intents: %s", ferry_errmsg());
        return api_send_error(a, conn, rn, 500, "listing intents: %s", ferry_errmsg());
    }
    cJSON_AddItemToObject(j, "intents", l.arr);
    if (!(next[0] ? cJSON_AddStringToObject(j, "next", next) : cJSON_AddNullToObject(j, "next"))) {
        cJSON_Delete(j);
        j = NULL;
    }
    return api_send_json(a, conn, rn, MHD_HTTP_OK, j);
}

/* ---- retry, cancel ---- */

typedef enum ferry_err intent_op_fn(struct orch *o, const uint8_t id[32], uint64_t now, char err[ORCH_ERR_MAX]);

static enum MHD_Result intent_op(struct api *a, struct MHD_Connection *conn, struct request *rq, intent_op_fn *op,
                                 const char *what)
{
    const char *rn = rq->route->name;
    uint8_t id[32];
    if (!api_parse_intent_id(rq->caps[0], id))
        return api_send_error(a, conn, rn, 400, "expected /v1/intents/{id}/%s, the id 0x and 64 hex digits", what);
    if (!a->orch)
        return no_orch(a, conn, rn);
    char msg[ORCH_ERR_MAX] = "";
    enum ferry_err e = op(a->orch, id, now_s(), msg);
    if (e == FERRY_ENOTFOUND)
        return api_send_error(a, conn, rn, 404, "no intent %.66s", rq->caps[0]);
    if (e)
        return orch_error(a, conn, rn, e, msg, MHD_HTTP_CONFLICT);
    log_kv(LOGL_INFO, "api", "intent operation requested", "op", what, "intent", rq->caps[0], NULL);
    struct intent_record *r = calloc(1, sizeof *r);
    enum intent_state state = INTENT_NONE;
    if (r && orch_get(a->orch, id, r) == FERRY_OK) {
        state = r->state;
        intent_record_clear(r);
    }
    free(r);
    return api_send_json(a, conn, rn, MHD_HTTP_OK, id_state(id, state, false));
}

enum MHD_Result api_h_intent_retry(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    return intent_op(a, conn, rq, orch_retry, "retry");
}

enum MHD_Result api_h_intent_cancel(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    return intent_op(a, conn, rq, orch_cancel, "cancel");
}

/* ---- chains ---- */

/* The "head" the health callback reports for a chain, copied, or null. */
static cJSON *head_of(const cJSON *health, const char *name)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, health)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "name");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(c, "head");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name) && h)
            return cJSON_Duplicate(h, true);
    }
    return cJSON_CreateNull();
}

enum MHD_Result api_h_chains(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    const char *rn = rq->route->name;
    bool healthy;
    cJSON *health = a->health ? a->health(a->health_ud, &healthy) : NULL;
    cJSON *j = cJSON_CreateObject();
    cJSON *arr = j ? cJSON_AddArrayToObject(j, "chains") : NULL;
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < a->n_chains; i++) {
        const char *name = a->chains[i].name ? a->chains[i].name : "";
        cJSON *c = cJSON_CreateObject();
        cJSON *head = c ? head_of(health, name) : NULL;
        ok = c && head && cJSON_AddStringToObject(c, "name", name) &&
             cJSON_AddNumberToObject(c, "chain_id", (double)a->chains[i].chain_id) &&
             cJSON_AddBoolToObject(c, "paused", a->orch && orch_chain_paused(a->orch, name));
        if (ok) {
            cJSON_AddItemToObject(c, "head", head);
            head = NULL;
            ok = cJSON_AddItemToArray(arr, c);
        }
        cJSON_Delete(head);
        if (!ok)
            cJSON_Delete(c);
    }
    cJSON_Delete(health);
    if (!ok) {
        cJSON_Delete(j);
        j = NULL;
    }
    return api_send_json(a, conn, rn, MHD_HTTP_OK, j);
}

static enum MHD_Result chain_pause(struct api *a, struct MHD_Connection *conn, struct request *rq, bool paused)
{
    const char *rn = rq->route->name;
    if (!a->orch)
        return no_orch(a, conn, rn);
    const char *name = rq->caps[0];
    uint64_t id;
    if (api_parse_u64(name, &id) && api_chain_name(a, id))
        name = api_chain_name(a, id); /* a chain id names the same chain */
    char msg[ORCH_ERR_MAX] = "";
    enum ferry_err e = orch_pause_chain(a->orch, name, paused, msg);
    if (e == FERRY_ENOTFOUND)
        return api_send_error(a, conn, rn, 404, "no chain %.64s", name);
    if (e)
        return orch_error(a, conn, rn, e, msg, MHD_HTTP_CONFLICT);
    log_kv(LOGL_INFO, "api", paused ? "chain paused" : "chain resumed", "chain", name, NULL);
    cJSON *j = cJSON_CreateObject();
    if (j && (!cJSON_AddStringToObject(j, "chain", name) || !cJSON_AddBoolToObject(j, "paused", paused))) {
        cJSON_Delete(j);
        j = NULL;
    }
    return api_send_json(a, conn, rn, MHD_HTTP_OK, j);
}

enum MHD_Result api_h_chain_pause(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    return chain_pause(a, conn, rq, true);
}

enum MHD_Result api_h_chain_resume(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    return chain_pause(a, conn, rq, false);
}
