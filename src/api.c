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
#include "ferry/log.h"
#include "ferry/loop.h"
#include "ferry/loop_mhd.h"
#include "ferry/metrics.h"
#include "ferry/store.h"
#include "ferry/version.h"

#define API_PATH_MAX 256
#define API_CAPTURES 3

struct api {
    struct loop_mhd http; /* the MHD daemon on the loop */
    struct MHD_Daemon *mhd;
    struct store *store;
    struct engine *engine;
    struct metrics *metrics;
    struct metric *m_requests;
    char *token; /* sodium_malloc'd, NUL-terminated; NULL: writes refused */
    size_t token_len;
    size_t max_body;
    const struct api_chain_name *chains;
    size_t n_chains;
    api_health_fn *health;
    void *health_ud;
    uint16_t port;
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
    char caps[API_CAPTURES][64];
    struct fbuf body;
    bool too_large;
};

static handler_fn h_healthz, h_metrics, h_packets, h_packet, h_retry;

static const struct route routes[] = {
    {"GET", "/healthz", false, h_healthz, "healthz"},
    {"GET", "/metrics", false, h_metrics, "metrics"},
    {"GET", "/v1/packets", false, h_packets, "packets"},
    {"GET", "/v1/packets/*/*", false, h_packet, "packet"},
    {"POST", "/v1/packets/*/*/retry", true, h_retry, "retry"},
};

/* ---- responses ---- */

static void count(struct api *a, const char *route, unsigned status)
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

/* Takes ownership of j. */
static enum MHD_Result send_json(struct api *a, struct MHD_Connection *conn, const char *route, unsigned status,
                                 cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!s) {
        static const char oom[] = "{\"error\":\"out of memory\",\"status\":500}\n";
        count(a, route, 500);
        struct MHD_Response *r =
            MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        enum MHD_Result ret = MHD_queue_response(conn, 500, r);
        MHD_destroy_response(r);
        return ret;
    }
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return MHD_NO;
    }
    t[n] = '\n';
    t[n + 1] = 0;
    count(a, route, status);
    return send_text(conn, status, t, n + 1, "application/json");
}

static enum MHD_Result send_error(struct api *a, struct MHD_Connection *conn, const char *route, unsigned status,
                                  const char *fmt, ...) FERRY_PRINTF(5, 6);
static enum MHD_Result send_error(struct api *a, struct MHD_Connection *conn, const char *route, unsigned status,
                                  const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *j = cJSON_CreateObject();
    if (j && (!cJSON_AddStringToObject(j, "error", msg) || !cJSON_AddNumberToObject(j, "status", status))) {
        cJSON_Delete(j);
        j = NULL;
    }
    return send_json(a, conn, route, status, j);
}

/* ---- parsing ---- */

static bool parse_u64(const char *s, uint64_t *out)
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

/* A chain given by id or by a configured name. */
static bool parse_chain(const struct api *a, const char *s, uint64_t *out)
{
    for (size_t i = 0; i < a->n_chains; i++)
        if (a->chains[i].name && !strcmp(a->chains[i].name, s)) {
            *out = a->chains[i].chain_id;
            return true;
        }
    return parse_u64(s, out) && *out != 0;
}

/* Matches path against pattern segment by segment, capturing the "*" segments. */
static bool match(const char *pattern, const char *path, char caps[API_CAPTURES][64])
{
    size_t ncap = 0;
    const char *p = pattern, *u = path;
    while (*p && *u) {
        if (*p != '/' || *u != '/')
            return false;
        p++, u++;
        size_t pl = strcspn(p, "/"), ul = strcspn(u, "/");
        if (pl == 1 && *p == '*') {
            if (ul == 0 || ul >= 64 || ncap >= API_CAPTURES)
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
    return send_json(a, conn, rq->route->name, healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, j);
}

static enum MHD_Result h_metrics(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    if (!a->metrics)
        return send_error(a, conn, rq->route->name, MHD_HTTP_SERVICE_UNAVAILABLE, "no metrics registry");
    count(a, rq->route->name, MHD_HTTP_OK); /* before rendering, so this request shows */
    struct fbuf out;
    fbuf_init(&out, 32u << 20);
    if (metrics_render(a->metrics, &out) || fbuf_addbyte(&out, 0)) {
        fbuf_free(&out);
        return send_error(a, conn, rq->route->name, 500, "rendering metrics failed: %s", ferry_errmsg());
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

struct arg_check {
    const char *unknown;
};

static enum MHD_Result arg_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct arg_check *c = cls;
    for (size_t i = 0; packet_args[i]; i++)
        if (!strcmp(packet_args[i], key))
            return MHD_YES;
    c->unknown = key;
    return MHD_NO;
}

static enum MHD_Result h_packets(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    const char *rn = rq->route->name;
    struct arg_check chk = {0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, arg_iter, &chk);
    if (chk.unknown)
        return send_error(a, conn, rn, 400, "unknown query parameter \"%.64s\" (known: state, pending, src, dst, "
                                            "sequence, limit, cursor)", chk.unknown);
    struct packet_filter f = {0};
    const char *v;
    if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state")) && *v &&
        packet_state_parse(v, &f.state))
        return send_error(a, conn, rn, 400, "state: unknown packet state \"%.64s\"", v);
    if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "pending")) && *v) {
        if (!strcmp(v, "true") || !strcmp(v, "1"))
            f.pending = true;
        else if (strcmp(v, "false") && strcmp(v, "0"))
            return send_error(a, conn, rn, 400, "pending: expected true or false, got \"%.64s\"", v);
    }
    if (f.pending && f.state != PACKET_NONE)
        return send_error(a, conn, rn, 400, "give either state or pending, not both");
    if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "src")) && *v && !parse_chain(a, v, &f.src_chain))
        return send_error(a, conn, rn, 400, "src: expected a chain id or name, got \"%.64s\"", v);
    if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "dst")) && *v && !parse_chain(a, v, &f.dst_chain))
        return send_error(a, conn, rn, 400, "dst: expected a chain id or name, got \"%.64s\"", v);
    uint64_t limit = API_LIMIT_DEFAULT;
    if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit")) && *v &&
        (!parse_u64(v, &limit) || limit < 1 || limit > API_LIMIT_MAX))
        return send_error(a, conn, rn, 400, "limit: expected 1 to %u, got \"%.64s\"", API_LIMIT_MAX, v);
    const char *cursor = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor");
    if (cursor && strlen(cursor) >= PACKET_CURSOR_MAX)
        return send_error(a, conn, rn, 400, "cursor: too long");

    struct listing l = {cJSON_CreateArray()};
    cJSON *j = cJSON_CreateObject();
    if (!l.arr || !j) {
        cJSON_Delete(l.arr);
        cJSON_Delete(j);
        return send_json(a, conn, rn, 500, NULL);
    }
    char next[PACKET_CURSOR_MAX] = "";
    enum ferry_err e = FERRY_OK;
    if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "sequence")) && *v) {
        uint64_t seq;
        if (!parse_u64(v, &seq) || !f.src_chain) {
            cJSON_Delete(l.arr);
            cJSON_Delete(j);
            return send_error(a, conn, rn, 400, "sequence: expected a number, with src");
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
        return send_error(a, conn, rn, st, "listing packets: %s", ferry_errmsg());
    }
    cJSON_AddItemToObject(j, "packets", l.arr);
    if (!(next[0] ? cJSON_AddStringToObject(j, "next", next) : cJSON_AddNullToObject(j, "next"))) {
        cJSON_Delete(j);
        j = NULL;
    }
    return send_json(a, conn, rn, MHD_HTTP_OK, j);
}

static bool packet_key(struct api *a, struct request *rq, uint64_t *src, uint64_t *seq)
{
    return parse_chain(a, rq->caps[0], src) && parse_u64(rq->caps[1], seq);
}

static enum MHD_Result h_packet(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    uint64_t src, seq;
    if (!packet_key(a, rq, &src, &seq))
        return send_error(a, conn, rq->route->name, 400, "expected /v1/packets/{src chain}/{sequence}");
    struct packet_record r;
    enum ferry_err e = packet_record_load(a->store, src, seq, &r);
    if (e == FERRY_ENOTFOUND)
        return send_error(a, conn, rq->route->name, 404, "no packet %" PRIu64 "/%" PRIu64, src, seq);
    if (e)
        return send_error(a, conn, rq->route->name, 500, "reading packet: %s", ferry_errmsg());
    cJSON *j = packet_record_to_json(&r);
    packet_record_clear(&r);
    return send_json(a, conn, rq->route->name, MHD_HTTP_OK, j);
}

static enum MHD_Result h_retry(struct api *a, struct MHD_Connection *conn, struct request *rq)
{
    const char *rn = rq->route->name;
    uint64_t src, seq;
    if (!packet_key(a, rq, &src, &seq))
        return send_error(a, conn, rn, 400, "expected /v1/packets/{src chain}/{sequence}/retry");
    if (!a->engine)
        return send_error(a, conn, rn, MHD_HTTP_SERVICE_UNAVAILABLE, "no engine is running");
    enum ferry_err e = engine_retry(a->engine, src, seq);
    if (e == FERRY_ENOTFOUND)
        return send_error(a, conn, rn, 404, "the engine holds no packet %" PRIu64 "/%" PRIu64, src, seq);
    if (e == FERRY_ESTATE)
        return send_error(a, conn, rn, 409, "packet %" PRIu64 "/%" PRIu64 " is not parked: %s", src, seq,
                          ferry_errmsg());
    if (e)
        return send_error(a, conn, rn, 500, "retry failed: %s", ferry_errmsg());
    log_fields(LOGL_INFO, "api", "packet retry requested",
               (struct log_field[]){LOG_U64("src", src), LOG_U64("seq", seq)}, 2);
    cJSON *j = cJSON_CreateObject();
    if (j && (!cJSON_AddStringToObject(j, "status", "retrying") || !cJSON_AddNumberToObject(j, "src", (double)src) ||
              !cJSON_AddNumberToObject(j, "seq", (double)seq))) {
        cJSON_Delete(j);
        j = NULL;
    }
    return send_json(a, conn, rn, MHD_HTTP_OK, j);
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
            return send_error(a, conn, "none", 414, "path longer than %d bytes", API_PATH_MAX);
        bool path_known = false;
        char caps[API_CAPTURES][64];
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
            return send_error(a, conn, "none", 405, "method %.16s not allowed on %.256s", method, url);
        if (!rq->route)
            return send_error(a, conn, "none", 404, "no such route: %.16s %.256s", method, url);
        if (rq->route->write) {
            if (!a->token)
                return send_error(a, conn, rq->route->name, 403,
                                  "writes are disabled: the daemon has no API token (set api.token_file or "
                                  "api.token_env)");
            const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
            if (!auth)
                return send_error(a, conn, rq->route->name, 401, "this route needs Authorization: Bearer TOKEN");
            if (!api_token_matches(auth, a->token, a->token_len))
                return send_error(a, conn, rq->route->name, 401, "wrong API token");
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t n;
        if (cl && (!parse_u64(cl, &n) || n > a->max_body))
            return send_error(a, conn, rq->route->name, 413, "request body larger than %zu bytes", a->max_body);
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
        return send_error(a, conn, rq->route->name, 413, "request body larger than %zu bytes", a->max_body);
    return rq->route->fn(a, conn, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t)
{
    struct request *rq = *con_cls;
    if (rq) {
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
    unsigned flags = MHD_USE_ERROR_LOG;
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
    a->store = cfg->store;
    a->engine = cfg->engine;
    a->metrics = cfg->metrics;
    a->max_body = cfg->max_body ? cfg->max_body : API_DEFAULT_MAX_BODY;
    a->chains = cfg->chains;
    a->n_chains = cfg->n_chains;
    a->health = cfg->health;
    a->health_ud = cfg->health_ud;
    enum ferry_err e = FERRY_OK;
    if (cfg->token && *cfg->token) {
        a->token_len = strlen(cfg->token);
        a->token = sodium_malloc(a->token_len + 1);
        if (!a->token) {
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
    }
    /* No thread: the loop polls MHD's sockets (MHD_get_fdset2) and runs it (MHD_run_from_select). */
    a->mhd = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, a,
                              MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT,
                              (unsigned)30, MHD_OPTION_END);
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
        loop_mhd_stop(&a->http);
        MHD_stop_daemon(a->mhd);
    }
    if (a->token)
        sodium_free(a->token);
    free(a);
}
