/* The HTTP API on the event loop (include/ferry/api.h). Routes are one table; a request is routed
 * when its headers arrive, so an unknown route, a wrong method, a missing token or an oversized body
 * is refused before any body is read. */
#include "ferry/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <sodium.h>

#include "ferry/buf.h"
#include "ferry/engine.h"
#include "ferry/hex.h"
#include "ferry/log.h"
#include "ferry/loop.h"
#include "ferry/loop_mhd.h"
#include "ferry/metrics.h"
#include "ferry/store.h"
#include "ferry/version.h"
#include "api_internal.h"

static handler_fn h_healthz, h_metrics, h_packets, h_packet, h_retry;

static const struct route routes[] = {
    {"GET", "/healthz", false, h_healthz, "healthz"},
    {"GET", "/metrics", false, h_metrics, "metrics"},
    {"GET", "/v1/packets", false, h_packets, "packets"},
    {"GET", "/v1/packets/*/*", false, h_packet, "packet"},
    {"POST", "/v1/packets/*/*/retry", true, h_retry, "retry"},
    {"POST", "/v1/intents/prepare", false, api_h_prepare, "intent_prepare"},
    {"POST", "/v1/intents", true, api_h_submit, "intent_submit"},
    {"GET", "/v1/intents", false, api_h_intents, "intents"},
    {"GET", "/v1/intents/*", false, api_h_intent, "intent"},
    {"POST", "/v1/intents/*/retry", true, api_h_intent_retry, "intent_retry"},
    {"POST", "/v1/intents/*/cancel", true, api_h_intent_cancel, "intent_cancel"},
    {"GET", "/v1/chains", false, api_h_chains, "chains"},
    {"POST", "/v1/chains/*/pause", true, api_h_chain_pause, "chain_pause"},
    {"POST", "/v1/chains/*/resume", true, api_h_chain_resume, "chain_resume"},
    {"GET", "/v1/events", false, api_h_events, "events"},
};

/* ---- responses ---- */

void api_count(struct api *a, const char *route, unsigned status)
{
    char code[8];
    snprintf(code, sizeof code, "%u", status);
    const char *labels[] = {route, code};
    (void)metric_add(a->m_requests, labels, 1);
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, char *text, size_t len,
                                 const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The JSON text of j (owned) with a newline, or NULL on no memory. */
static char *json_text(cJSON *j, size_t *len)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return NULL;
    }
    t[n] = '\n';
    t[n + 1] = 0;
    *len = n + 1;
    return t;
}

static enum MHD_Result send_oom(struct api *a, struct MHD_Connection *conn, const char *route)
{
    static const char oom[] = "{\"error\":\"out of memory\",\"status\":500}\n";
    api_count(a, route, 500);
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(conn, 500, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result api_send_json(struct api *a, struct MHD_Connection *conn, const char *route, unsigned status,
                              cJSON *j)
{
    size_t n;
    char *t = json_text(j, &n);
    if (!t)
        return send_oom(a, conn, route);
    api_count(a, route, status);
    return send_text(conn, status, t, n, "application/json");
}

bool api_queue_json(struct api *a, struct MHD_Connection *conn, const char *route, unsigned status, cJSON *j)
{
    return api_send_json(a, conn, route, status, j) == MHD_YES;
}

/* The field an error message is about: the part before the first ": ", when it looks like a
 * path (no spaces). */
static bool error_field(const char *msg, char *field, size_t cap)
{
    const char *sep = strstr(msg, ": ");
    if (!sep || sep == msg || (size_t)(sep - msg) >= cap)
        return false;
    for (const char *p = msg; p < sep; p++)
        if (*p == ' ' || *p == '"')
            return false;
    memcpy(field, msg, (size_t)(sep - msg));
    field[sep - msg] = 0;
    return true;
}

cJSON *api_error_json(unsigned status, const char *msg, bool with_field)
{
    cJSON *j = cJSON_CreateObject();
    char field[256];
    if (j && (!cJSON_AddStringToObject(j, "error", msg) ||
              (with_field && error_field(msg, field, sizeof field) && !cJSON_AddStringToObject(j, "field", field)) ||
              !cJSON_AddNumberToObject(j, "status", status))) {
        cJSON_Delete(j);
        j = NULL;
    }
    return j;
}

enum MHD_Result api_send_error(struct api *a, struct MHD_Connection *conn, const char *route, unsigned status,
                               const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return api_send_json(a, conn, route, status, api_error_json(status, msg, false));
}

enum MHD_Result api_send_field_error(struct api *a, struct MHD_Connection *conn, const char *route, unsigned status,
                                     const char *msg)
{
    return api_send_json(a, conn, route, status, api_error_json(status, msg, true));
}

/* ---- parsing ---- */

bool api_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || strlen(s) > 20)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (s[0] == '0' && s[1])
        return false; /* no leading zeros: one spelling per number */
    *out = v;
    return true;
}

bool api_parse_event_id(const char *s, uint64_t *out) { return api_parse_u64(s, out); }

bool api_parse_intent_id(const char *s, uint8_t out[32])
{
    if (!s || strlen(s) != 66 || s[0] != '0' || s[1] != 'x')
        return false;
    if (hex_decode_exact(out, 32, s, HEX_PREFIX_REQUIRED)) {
        memset(out, 0, 32);
        return false;
    }
    return true;
}

/* A chain given by id or by a configured name. */
bool api_parse_chain(const struct api *a, const char *s, uint64_t *out)
{
    for (size_t i = 0; i < a->n_chains; i++)
        if (a->chains[i].name && !strcmp(a->chains[i].name, s)) {
            *out = a->chains[i].chain_id;
            return true;
        }
    return api_parse_u64(s, out) && *out != 0;
}

const char *api_chain_name(const struct api *a, uint64_t chain_id)
{
    for (size_t i = 0; i < a->n_chains; i++)
        if (a->chains[i].chain_id == chain_id)
            return a->chains[i].name;
    return NULL;
}

struct arg_check {
    const char *const *known;
    const char *unknown;
};

static enum MHD_Result arg_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct arg_check *c = cls;
    for (size_t i = 0; c->known[i]; i++)
        if (!strcmp(c->known[i], key))
            return MHD_YES;
    c->unknown = key;
    return MHD_NO;
}

const char *api_unknown_arg(struct MHD_Connection *conn, const char *const *known)
{
    struct arg_check chk = {known, NULL};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, arg_iter, &chk);
    return chk.unknown;
}

/* Matches path against pattern segment by segment, capturing the "*" segments. */
static bool match(const char *pattern, const char *path, char caps[API_CAPTURES][API_CAPTURE_MAX])
{
    size_t ncap = 0;
    const char *p = pattern, *u = path;
    while (*p && *u) {
        if (*p != '/' || *u != '/')
            return false;
        p++, u++;
        size_t pl = strcspn(p, "/"), ul = strcspn(u, "/");
        if (pl == 1 && *p == '*') {
            if (ul == 0 || ul >= API_CAPTURE_MAX || ncap >= API_CAPTURES)
                return false;
            memcpy(caps[ncap], u, ul);
            caps[ncap][ul] = 0;
            ncap++;
        } else if (pl != ul || memcmp(p, u, pl) != 0) {
            return false;
        }
        p += pl, u += ul;
    }
    return !*p && !*u;
}

bool api_token_matches(const char *header, const char *token, size_t token_len)
{
    if (!header || !token || token_len == 0)
        return false;
    static const char prefix[] = "Bearer ";
    bool prefix_ok = strncmp(header, prefix, sizeof prefix - 1) == 0;
    const char *given = prefix_ok ? header + sizeof prefix - 1 : header;
    /* Hashing both sides makes the comparison constant-time whatever the lengths. */
    uint8_t h1[32], h2[32];
    crypto_generichash(h1, sizeof h1, (const uint8_t *)given, strlen(given), NULL, 0);
    crypto_generichash(h2, sizeof h2, (const uint8_t *)token, token_len, NULL, 0);
    bool same = sodium_memcmp(h1, h2, sizeof h1) == 0;
    sodium_memzero(h1, sizeof h1);
    return prefix_ok && same;
}

/* ---- handlers ---- */

static enum MHD_Result h_healthz(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    bool healthy = true;
    cJSON *chains = a->health ? a->health(a->health_ud, &healthy) : cJSON_CreateArray();
    cJSON *j = cJSON_CreateObject();
    enum ferry_err failed = a->engine ? engine_failed(a->engine) : FERRY_OK;
    if (failed)
        healthy = false;
    const char *status = failed ? "failed" : healthy ? "ok" : "degraded";
    bool ok = j && chains && cJSON_AddStringToObject(j, "status", status) &&
              cJSON_AddStringToObject(j, "version", FERRY_VERSION) &&
              cJSON_AddNumberToObject(j, "store_pending", (double)store_pending(a->store));
    if (ok && failed)
        ok = cJSON_AddStringToObject(j, "engine_error", ferry_strerror(failed)) != NULL;
    if (ok) {
        cJSON_AddItemToObject(j, "chains", chains);
        chains = NULL;
    }
    cJSON_Delete(chains);
    if (!ok) {
        cJSON_Delete(j);
        j = NULL;
    }
    return api_send_json(a, conn, rq->route->name, healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, j);
}

static enum MHD_Result h_metrics(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    if (!a->metrics)
        return api_send_error(a, conn, rq->route->name, MHD_HTTP_SERVICE_UNAVAILABLE, "no metrics registry");
    api_count(a, rq->route->name, MHD_HTTP_OK); /* before rendering, so this request shows */
    struct fbuf out;
    fbuf_init(&out, 32u << 20);
    if (metrics_render(a->metrics, &out) || fbuf_addbyte(&out, 0)) {
        fbuf_free(&out);
        return api_send_error(a, conn, rq->route->name, 500, "rendering metrics failed: %s", ferry_errmsg());
    }
    size_t len;
    uint8_t *text = fbuf_take(&out, &len);
    return send_text(conn, MHD_HTTP_OK, (char *)text, len - 1, METRICS_CONTENT_TYPE);
}

struct listing {
    cJSON *arr;
};

static enum ferry_err add_record(void *arg, const struct packet_record *r)
{
    struct listing *l = arg;
    cJSON *j = packet_record_to_json(r);
    if (!j || !cJSON_AddItemToArray(l->arr, j)) {
        cJSON_Delete(j);
        return ferry_fail(FERRY_ENOMEM, "api: out of memory listing packets");
    }
    return FERRY_OK;
}

static const char *const packet_args[] = {"state", "pending", "src", "dst", "sequence", "limit", "cursor", NULL};

static enum MHD_Result h_packets(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    const char *rn = rq->route->name;
    const char *unknown = api_unknown_arg(conn, packet_args);
    if (unknown)
        return api_send_error(a, conn, rn, 400, "unknown query parameter \"%.64s\" (known: state, pending, src, dst, "
                                            "sequence, limit, cursor)", unknown);
    struct packet_filter f = {0};
    const char *v;
    if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state")) && *v &&
        packet_state_parse(v, &f.state))
        return api_send_error(a, conn, rn, 400, "state: unknown packet state \"%.64s\"", v);
    if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "pending")) && *v) {
        if (!strcmp(v, "true") || !strcmp(v, "1"))
            f.pending = true;
        else if (strcmp(v, "false") && strcmp(v, "0"))
            return api_send_error(a, conn, rn, 400, "pending: expected true or false, got \"%.64s\"", v);
    }
    if (f.pending && f.state != PACKET_NONE)
        return api_send_error(a, conn, rn, 400, "give either state or pending, not both");
    if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "src")) && *v && !api_parse_chain(a, v, &f.src_chain))
        return api_send_error(a, conn, rn, 400, "src: expected a chain id or name, got \"%.64s\"", v);
    if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "dst")) && *v && !api_parse_chain(a, v, &f.dst_chain))
        return api_send_error(a, conn, rn, 400, "dst: expected a chain id or name, got \"%.64s\"", v);
    uint64_t limit = API_LIMIT_DEFAULT;
    if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit")) && *v &&
        (!api_parse_u64(v, &limit) || limit < 1 || limit > API_LIMIT_MAX))
        return api_send_error(a, conn, rn, 400, "limit: expected 1 to %u, got \"%.64s\"", API_LIMIT_MAX, v);
    const char *cursor = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor");
    if (cursor && strlen(cursor) >= PACKET_CURSOR_MAX)
        return api_send_error(a, conn, rn, 400, "cursor: too long");

    struct listing l = {cJSON_CreateArray()};
    cJSON *j = cJSON_CreateObject();
    if (!l.arr || !j) {
        cJSON_Delete(l.arr);
        cJSON_Delete(j);
        return api_send_json(a, conn, rn, 500, NULL);
    }
    char next[PACKET_CURSOR_MAX] = "";
    enum ferry_err e = FERRY_OK;
    if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "sequence")) && *v) {
        uint64_t seq;
        if (!api_parse_u64(v, &seq) || !f.src_chain) {
            cJSON_Delete(l.arr);
            cJSON_Delete(j);
            return api_send_error(a, conn, rn, 400, "sequence: expected a number, with src");
        }
        struct packet_record r;
        e = packet_record_load(a->store, f.src_chain, seq, &r);
        if (e == FERRY_OK) {
            bool keep = (!f.dst_chain || r.packet.dst_chain == f.dst_chain) &&
                        (f.state == PACKET_NONE || r.state == f.state) && (!f.pending || !packet_state_terminal(r.state));
            e = keep ? add_record(&l, &r) : FERRY_OK;
            packet_record_clear(&r);
        } else if (e == FERRY_ENOTFOUND) {
            e = FERRY_OK;
        }
    } else {
        e = packet_list(a->store, &f, cursor, (size_t)limit, add_record, &l, next);
    }
    if (e) {
        cJSON_Delete(l.arr);
        cJSON_Delete(j);
        unsigned st = e == FERRY_EINVAL ? 400 : 500;
        return api_send_error(a, conn, rn, st, "listing packets: %s", ferry_errmsg());
    }
    cJSON_AddItemToObject(j, "packets", l.arr);
    if (!(next[0] ? cJSON_AddStringToObject(j, "next", next) : cJSON_AddNullToObject(j, "next"))) {
        cJSON_Delete(j);
        j = NULL;
    }
    return api_send_json(a, conn, rn, MHD_HTTP_OK, j);
}

static bool packet_key(struct api *a, struct request *rq, uint64_t *src, uint64_t *seq)
{
    return api_parse_chain(a, rq->caps[0], src) && api_parse_u64(rq->caps[1], seq);
}

static enum MHD_Result h_packet(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    uint64_t src, seq;
    if (!packet_key(a, rq, &src, &seq))
        return api_send_error(a, conn, rq->route->name, 400, "expected /v1/packets/{src chain}/{sequence}");
    struct packet_record r;
    enum ferry_err e = packet_record_load(a->store, src, seq, &r);
    if (e == FERRY_ENOTFOUND)
        return api_send_error(a, conn, rq->route->name, 404, "no packet %" PRIu64 "/%" PRIu64, src, seq);
    if (e)
        return api_send_error(a, conn, rq->route->name, 500, "reading packet: %s", ferry_errmsg());
    cJSON *j = packet_record_to_json(&r);
    packet_record_clear(&r);
    return api_send_json(a, conn, rq->route->name, MHD_HTTP_OK, j);
}

static enum MHD_Result h_retry(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    const char *rn = rq->route->name;
    uint64_t src, seq;
    if (!packet_key(a, rq, &src, &seq))
        return api_send_error(a, conn, rn, 400, "expected /v1/packets/{src chain}/{sequence}/retry");
    if (!a->engine)
        return api_send_error(a, conn, rn, MHD_HTTP_SERVICE_UNAVAILABLE, "no engine is running");
    enum ferry_err e = engine_retry(a->engine, src, seq);
    if (e == FERRY_ENOTFOUND)
        return api_send_error(a, conn, rn, 404, "the engine holds no packet %" PRIu64 "/%" PRIu64, src, seq);
    if (e == FERRY_ESTATE)
        return api_send_error(a, conn, rn, 409, "packet %" PRIu64 "/%" PRIu64 " is not parked: %s", src, seq,
                          ferry_errmsg());
    if (e)
        return api_send_error(a, conn, rn, 500, "retry failed: %s", ferry_errmsg());
    log_fields(LOGL_INFO, "api", "packet retry requested",
               (struct log_field[]){LOG_U64("src", src), LOG_U64("seq", seq)}, 2);
    cJSON *j = cJSON_CreateObject();
    if (j && (!cJSON_AddStringToObject(j, "status", "retrying") || !cJSON_AddNumberToObject(j, "src", (double)src) ||
              !cJSON_AddNumberToObject(j, "seq", (double)seq))) {
        cJSON_Delete(j);
        j = NULL;
    }
    return api_send_json(a, conn, rn, MHD_HTTP_OK, j);
}

/* ---- the request cycle ---- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct api *a = cls;
    struct request *rq = *con_cls;
    if (!rq) {
        /* Headers are in: route, authenticate and size-check before reading any body. */
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        fbuf_init(&rq->body, a->max_body);
        if (strlen(url) > API_PATH_MAX)
            return api_send_error(a, conn, "none", 414, "path longer than %d bytes", API_PATH_MAX);
        bool path_known = false;
        char caps[API_CAPTURES][API_CAPTURE_MAX];
        for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
            if (!match(routes[i].pattern, url, caps))
                continue;
            path_known = true;
            if (!strcmp(routes[i].method, method)) {
                rq->route = &routes[i];
                memcpy(rq->caps, caps, sizeof caps);
                break;
            }
        }
        if (!rq->route && path_known)
            return api_send_error(a, conn, "none", 405, "method %.16s not allowed on %.256s", method, url);
        if (!rq->route)
            return api_send_error(a, conn, "none", 404, "no such route: %.16s %.256s", method, url);
        if (rq->route->write) {
            if (!a->token)
                return api_send_error(a, conn, rq->route->name, 403,
                                  "writes are disabled: the daemon has no API token (set api.token_file or "
                                  "api.token_env)");
            const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
            if (!auth)
                return api_send_error(a, conn, rq->route->name, 401, "this route needs Authorization: Bearer TOKEN");
            if (!api_token_matches(auth, a->token, a->token_len))
                return api_send_error(a, conn, rq->route->name, 401, "wrong API token");
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t n;
        if (cl && (!api_parse_u64(cl, &n) || n > a->max_body))
            return api_send_error(a, conn, rq->route->name, 413, "request body larger than %zu bytes", a->max_body);
        return MHD_YES;
    }
    if (*upload_size) {
        /* A chunked body has no Content-Length: keep reading, keep nothing past the cap. */
        if (!rq->too_large && fbuf_add(&rq->body, upload, *upload_size))
            rq->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->too_large)
        return api_send_error(a, conn, rq->route->name, 413, "request body larger than %zu bytes", a->max_body);
    return rq->route->fn(a, conn, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t)
{
    struct request *rq = *con_cls;
    if (rq) {
        api_submit_detach(rq);
        fbuf_free(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

FERRY_PRINTF(2, 0) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    log_kv(LOGL_WARN, "api", "libmicrohttpd", "detail", msg, NULL);
}

enum ferry_err api_start(struct api **out, const struct api_config *cfg)
{
    *out = NULL;
    if (!cfg->loop || !cfg->store || !cfg->host)
        return ferry_fail(FERRY_EINVAL, "api: loop, store and host are required");
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    /* Suspend/resume: a submission waits for its batch to be durable, an event stream for new
     * entries, without blocking the loop or spinning. */
    unsigned flags = MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    const char *host = !strcmp(cfg->host, "localhost") ? "127.0.0.1" : cfg->host;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(cfg->port);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(cfg->port);
        flags |= MHD_USE_IPv6;
    } else {
        return ferry_fail(FERRY_EINVAL, "api: listen host \"%s\" is not an IP address", cfg->host);
    }
    struct api *a = calloc(1, sizeof *a);
    if (!a)
        return ferry_fail(FERRY_ENOMEM, "api: out of memory");
    a->loop = cfg->loop;
    a->store = cfg->store;
    a->engine = cfg->engine;
    a->orch = cfg->orch;
    a->metrics = cfg->metrics;
    a->max_body = cfg->max_body ? cfg->max_body : API_DEFAULT_MAX_BODY;
    a->chains = cfg->chains;
    a->n_chains = cfg->n_chains;
    a->health = cfg->health;
    a->health_ud = cfg->health_ud;
    api_sse_init(a, cfg);
    enum ferry_err e = FERRY_OK;
    a->dir_chains = calloc(a->n_chains ? a->n_chains : 1, sizeof *a->dir_chains);
    if (!a->dir_chains) {
        free(a);
        return ferry_fail(FERRY_ENOMEM, "api: out of memory");
    }
    for (size_t i = 0; i < a->n_chains; i++) {
        a->dir_chains[i].name = a->chains[i].name;
        a->dir_chains[i].chain_id = a->chains[i].chain_id;
    }
    a->dir = (struct intent_dir){a->dir_chains, a->n_chains};
    if (cfg->token && *cfg->token) {
        a->token_len = strlen(cfg->token);
        a->token = sodium_malloc(a->token_len + 1);
        if (!a->token) {
            free(a->dir_chains);
            free(a);
            return ferry_fail(FERRY_ENOMEM, "api: out of guarded memory for the token");
        }
        memcpy(a->token, cfg->token, a->token_len + 1);
    }
    if (a->metrics) {
        static const char *const labels[] = {"route", "code", NULL};
        e = metrics_register(a->metrics, &a->m_requests, METRIC_COUNTER, "ferry_api_requests_total",
                             "HTTP API requests answered, by route and status code", labels);
        if (e)
            goto fail;
        e = metrics_register(a->metrics, &a->m_sse_clients, METRIC_GAUGE, "ferry_api_event_streams",
                             "GET /v1/events streams open", NULL);
        if (e)
            goto fail;
    }
    /* No thread: the loop polls MHD's sockets (MHD_get_fdset2) and runs it (MHD_run_from_select). */
    a->mhd = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, a,
                              MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)(a->sse_max + 64),
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONNECTION_TIMEOUT_S, MHD_OPTION_END);
    if (!a->mhd) {
        e = ferry_fail(FERRY_EIO, "api: cannot listen on %s:%u (%s): is another daemon running there?", cfg->host,
                       (unsigned)cfg->port, errno ? strerror(errno) : "libmicrohttpd refused");
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_BIND_PORT);
    a->port = info ? info->port : cfg->port;
    loop_mhd_start(cfg->loop, &a->http, a->mhd);
    *out = a;
    return FERRY_OK;
fail:
    api_stop(a);
    return e;
}

uint16_t api_port(const struct api *a) { return a->port; }

void api_stop(struct api *a)
{
    if (!a)
        return;
    if (a->mhd) {
        /* MHD must not be stopped with suspended connections: answer and resume them first, and
         * let MHD take the resumed ones back before it closes everything. */
        api_submit_stop_all(a);
        api_sse_stop_all(a);
        /* A few non-blocking rounds: take the resumed connections back and write their short
         * answers (each round does one step of a connection's state machine). */
        for (int i = 0; i < 4; i++)
            MHD_run(a->mhd);
        loop_mhd_stop(&a->http);
        MHD_stop_daemon(a->mhd);
    }
    loop_timer_stop(&a->sse_timer);
    free(a->dir_chains);
    if (a->token)
        sodium_free(a->token);
    free(a);
}
