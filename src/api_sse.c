/* GET /v1/events: the orchestrator's journal as Server-Sent Events.
 *
 * Each stream is pulled from the store, never pushed: a stream keeps a cursor (the last journal id
 * it queued) and a buffer of at most API_SSE_BUFFER bytes; when MHD has sent the buffer, the
 * content reader refills it with the next entries after the cursor (orch_events_read), so a
 * replay after Last-Event-ID and the live stream are one code path and a slow reader lags behind
 * in the store instead of in memory. When the cursor has caught up with the last durable entry,
 * the reader suspends the connection (no spinning); api_events_notify resumes the streams that
 * are behind. A stream whose buffer nobody takes for two keepalive periods is dropped (its socket
 * shut down): the client reconnects with Last-Event-ID and loses nothing. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ferry/hex.h"
#include "ferry/log.h"
#include "ferry/metrics.h"
#include "ferry/orch.h"
#include "api_internal.h"

struct sse_client {
    struct api *a;
    struct MHD_Connection *conn;
    struct sse_client *prev, *next;
    uint64_t cursor; /* the last journal id queued (or passed over by the filter) */
    bool filtered;
    uint8_t filter[32];
    struct fbuf buf; /* queued text; off: how much of it MHD has taken */
    size_t off;
    struct loop_defer later; /* resumes a stream that stopped a long scan to let the loop breathe */
    bool suspended;
    bool closing;             /* dropped or the API is stopping: the reader ends the stream */
    bool failed;              /* ... because the journal could not be read */
    uint64_t last_progress_ms; /* loop clock when MHD last took bytes (or the buffer was empty) */
};

enum ferry_err api_sse_format(struct fbuf *out, uint64_t id, const char *json, size_t len, const uint8_t *filter,
                              bool *matched)
{
    *matched = false;
    cJSON *j = cJSON_ParseWithLength(json, len);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return ferry_fail(FERRY_EINVAL, "events: journal entry %" PRIu64 " is not a JSON object", id);
    }
    enum ferry_err e = FERRY_OK;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
    if (!cJSON_IsString(kind) || (strcmp(kind->valuestring, "intent") && strcmp(kind->valuestring, "hop"))) {
        e = ferry_fail(FERRY_EINVAL, "events: journal entry %" PRIu64 " has no kind \"intent\" or \"hop\"", id);
        goto out;
    }
    if (filter) {
        const cJSON *iid = cJSON_GetObjectItemCaseSensitive(j, "intent_id");
        uint8_t got[32];
        if (!cJSON_IsString(iid) || !api_parse_intent_id(iid->valuestring, got) || memcmp(got, filter, 32) != 0)
            goto out; /* not this intent's */
    }
    /* Unformatted cJSON escapes every control character: the data is one line. */
    char *text = cJSON_PrintUnformatted(j);
    if (!text) {
        e = ferry_fail(FERRY_ENOMEM, "events: out of memory");
        goto out;
    }
    struct fbuf ev;
    fbuf_init(&ev, out->cap);
    e = fbuf_printf(&ev, "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n", id, kind->valuestring, text);
    free(text);
    if (!e)
        e = fbuf_add(out, ev.data, ev.len); /* all or nothing */
    fbuf_free(&ev);
    if (!e)
        *matched = true;
out:
    cJSON_Delete(j);
    return e;
}

/* ---- the streams ---- */

static void update_gauge(struct api *a)
{
    if (a->m_sse_clients)
        (void)metric_set(a->m_sse_clients, NULL, (double)a->n_sse);
}

static void resume(struct sse_client *c)
{
    if (c->suspended) {
        c->suspended = false;
        MHD_resume_connection(c->conn);
    }
}

/* Closes a stream from outside MHD's callbacks: a suspended one is resumed so that its reader
 * ends it; a stalled one (its socket full) gets its socket shut down, which MHD notices. */
static void drop(struct sse_client *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    log_kv(LOGL_INFO, "api", "event stream dropped", "reason", why, NULL);
    if (c->suspended) {
        resume(c);
        return;
    }
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci)
        shutdown(ci->connect_fd, SHUT_RDWR);
}

struct refill {
    struct sse_client *c;
    bool full;
};

static enum ferry_err on_entry(void *arg, uint64_t id, const char *json, size_t len)
{
    struct refill *r = arg;
    struct sse_client *c = r->c;
    bool matched;
    enum ferry_err e = api_sse_format(&c->buf, id, json, len, c->filtered ? c->filter : NULL, &matched);
    if (e == FERRY_ENOMEM && c->buf.len > 0) {
        r->full = true; /* this entry waits for the next refill */
        return FERRY_EBUSY;
    }
    if (e) /* malformed, or one entry bigger than the whole buffer: passed over, said once */
        log_kv(LOGL_WARN, "api", "journal entry not streamed", "detail", ferry_errmsg(), NULL);
    c->cursor = id;
    return FERRY_OK;
}

/* Queues the entries after the cursor while there is room, reading at most API_SSE_SCAN entries
 * (a filter that matches little must not hold the loop through a long journal). */
static void refill(struct sse_client *c)
{
    struct api *a = c->a;
    uint64_t start = c->cursor;
    while (!c->closing && c->buf.len < API_SSE_BUFFER / 2 && c->cursor < a->events_last &&
           c->cursor - start < API_SSE_SCAN) {
        struct refill r = {c, false};
        uint64_t before = c->cursor, last = 0;
        enum ferry_err e = orch_events_read(a->store, c->cursor, API_SSE_BATCH, on_entry, &r, &last);
        if (e && !(e == FERRY_EBUSY && r.full)) {
            log_kv(LOGL_WARN, "api", "reading the journal failed: event stream dropped", "detail", ferry_errmsg(),
                   NULL);
            c->closing = c->failed = true;
            return;
        }
        if (r.full || c->cursor == before)
            return; /* no room, or the store has nothing more yet */
    }
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sse_client *c = cls;
    if (c->closing) /* a clean end: the client reconnects with Last-Event-ID */
        return c->failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    uint64_t before = c->cursor;
    if (c->off == c->buf.len) {
        fbuf_reset(&c->buf);
        c->off = 0;
        refill(c);
        if (c->closing)
            return c->failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    }
    c->last_progress_ms = loop_now(c->a->loop);
    if (c->off == c->buf.len) {
        c->suspended = true; /* until api_events_notify or the keepalive */
        MHD_suspend_connection(c->conn);
        if (c->cursor - before >= API_SSE_SCAN && c->cursor < c->a->events_last)
            loop_defer(&c->later); /* scanned a lot, found nothing: go on next turn */
        return 0;
    }
    size_t n = c->buf.len - c->off;
    if (n > max)
        n = max;
    memcpy(buf, c->buf.data + c->off, n);
    c->off += n;
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    struct sse_client *c = cls;
    struct api *a = c->a;
    if (c->prev)
        c->prev->next = c->next;
    else
        a->sse = c->next;
    if (c->next)
        c->next->prev = c->prev;
    loop_defer_cancel(&c->later);
    a->n_sse--;
    if (!a->n_sse)
        loop_timer_stop(&a->sse_timer);
    update_gauge(a);
    fbuf_free(&c->buf);
    free(c);
}

static void on_later(struct loop_defer *d, void *ud)
{
    struct sse_client *c = ud;
    resume(c);
}

static void on_tick(struct loop_timer *t, void *ud)
{
    struct api *a = ud;
    uint64_t now = loop_now(a->loop);
    for (struct sse_client *c = a->sse, *next; c; c = next) {
        next = c->next;
        if (c->closing)
            continue;
        if (c->off < c->buf.len) {
            if (now - c->last_progress_ms >= 2 * a->sse_keepalive_ms)
                drop(c, "the client does not read");
            continue;
        }
        fbuf_reset(&c->buf);
        c->off = 0;
        if (fbuf_addstr(&c->buf, ": keepalive\n\n"))
            continue;
        c->last_progress_ms = now;
        resume(c);
    }
}

void api_sse_init(struct api *a, const struct api_config *cfg)
{
    a->sse_max = cfg->sse_max_clients ? cfg->sse_max_clients : API_SSE_MAX_CLIENTS;
    a->sse_keepalive_ms = cfg->sse_keepalive_ms ? cfg->sse_keepalive_ms : API_SSE_KEEPALIVE_MS;
    loop_timer_init(cfg->loop, &a->sse_timer, on_tick, a);
}

void api_events_notify(struct api *a, uint64_t last_id)
{
    if (!a || last_id <= a->events_last)
        return;
    a->events_last = last_id;
    for (struct sse_client *c = a->sse; c; c = c->next)
        if (c->cursor < last_id)
            resume(c);
}

void api_sse_stop_all(struct api *a)
{
    for (struct sse_client *c = a->sse; c; c = c->next) {
        c->closing = true;
        resume(c);
    }
}

static const char *const event_args[] = {"after", "intent", NULL};

enum MHD_Result api_h_events(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    const char *rn = rq->route->name;
    const char *unknown = api_unknown_arg(conn, event_args);
    if (unknown)
        return api_send_error(a, conn, rn, 400, "unknown query parameter \"%.64s\" (known: after, intent)", unknown);
    uint64_t after = 0;
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
    if (v) { /* a reconnecting EventSource sends it: it wins over ?after= */
        if (!api_parse_event_id(v, &after))
            return api_send_field_error(a, conn, rn, 400, "Last-Event-ID: expected a decimal event id");
    } else if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "after")) &&
               !api_parse_event_id(v, &after)) {
        return api_send_field_error(a, conn, rn, 400, "after: expected a decimal event id");
    }
    uint8_t filter[32];
    const char *intent = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "intent");
    if (intent && !api_parse_intent_id(intent, filter))
        return api_send_field_error(a, conn, rn, 400, "intent: expected an intent id, 0x and 64 hex digits");
    if (!a->orch)
        return api_send_error(a, conn, rn, MHD_HTTP_SERVICE_UNAVAILABLE,
                              "no intent orchestrator is running: no events to stream");
    if (a->n_sse >= a->sse_max)
        return api_send_error(a, conn, rn, MHD_HTTP_SERVICE_UNAVAILABLE,
                              "too many event streams (%zu): try again later", a->sse_max);
    struct sse_client *c = calloc(1, sizeof *c);
    if (!c)
        return api_send_json(a, conn, rn, 500, NULL);
    c->a = a;
    c->conn = conn;
    c->cursor = after;
    c->filtered = intent != NULL;
    if (intent)
        memcpy(c->filter, filter, 32);
    fbuf_init(&c->buf, API_SSE_BUFFER);
    loop_defer_init(a->loop, &c->later, on_later, c);
    c->last_progress_ms = loop_now(a->loop);
    c->next = a->sse;
    if (a->sse)
        a->sse->prev = c;
    a->sse = c;
    if (!a->n_sse++)
        loop_timer_start(&a->sse_timer, a->sse_keepalive_ms, a->sse_keepalive_ms);
    update_gauge(a);
    uint64_t durable = orch_last_event(a->orch);
    if (durable > a->events_last)
        a->events_last = durable;
    /* The kernel's share of a stream is bounded too: a fixed send buffer (no autotuning to
     * megabytes) makes a client that does not read stall, and be dropped, after a bounded amount. */
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int sndbuf = (int)API_SSE_BUFFER;
    if (ci && setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) != 0)
        log_kv(LOGL_DEBUG, "api", "could not set an event stream's send buffer", "detail", strerror(errno), NULL);
    /* From here the response owns c: sse_free runs when MHD is done with it. */
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, c, sse_free);
    if (!r) {
        sse_free(c);
        return api_send_json(a, conn, rn, 500, NULL);
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Accel-Buffering", "no"); /* a proxy in front must not hold events back */
    api_count(a, rn, MHD_HTTP_OK);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}
