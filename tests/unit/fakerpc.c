/* The fake JSON-RPC node of fakerpc.h (extracted from test_rpc.c so that every adapter test
 * can replay recorded exchanges or model a chain). */
#include "fakerpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "ferry/buf.h"
#include "testutil.h"

struct upload {
    struct fbuf body;
};

void fake_fail(struct fake *f, const char *fmt, ...)
{
    if (f->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err, sizeof f->err, fmt, ap);
    va_end(ap);
}

/* Checks one call of the request against its expectation; records its id. */
static bool check_call(struct fake *f, const cJSON *got, const cJSON *want, uint64_t *id, bool first)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(got, "jsonrpc");
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(got, "id");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(got, "method");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(got, "params");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "2.0") || !cJSON_IsNumber(jid) || !cJSON_IsString(m)) {
        fake_fail(f, "request is not JSON-RPC 2.0 with a numeric id");
        return false;
    }
    *id = (uint64_t)jid->valuedouble;
    if (first && f->nids < FAKE_MAX_SEEN) /* the first id of each request */
        f->ids[f->nids++] = *id;
    if (!want) /* programmable mode: the handler judges the rest */
        return true;
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(want, "method");
    const cJSON *wp = cJSON_GetObjectItemCaseSensitive(want, "params");
    if (!cJSON_IsString(wm) || strcmp(wm->valuestring, m->valuestring) != 0) {
        fake_fail(f, "expected method %s, got %s", cJSON_IsString(wm) ? wm->valuestring : "?", m->valuestring);
        return false;
    }
    cJSON *empty = cJSON_CreateArray();
    bool same = cJSON_Compare(p, wp ? wp : empty, true);
    cJSON_Delete(empty);
    if (!same) {
        char *gp = cJSON_PrintUnformatted(p);
        fake_fail(f, "params differ for %s: got %s", m->valuestring, gp ? gp : "(none)");
        free(gp);
        return false;
    }
    return true;
}

/* Replaces "$id", "$idN", "$id+K" string values of "id" members by request ids. */
static void substitute_ids(cJSON *j, const uint64_t *ids, size_t n)
{
    if (!j)
        return;
    for (cJSON *c = j->child; c; c = c->next) {
        if (c->string && strcmp(c->string, "id") == 0 && cJSON_IsString(c) && strncmp(c->valuestring, "$id", 3) == 0) {
            const char *s = c->valuestring + 3;
            uint64_t v = ids[0];
            if (*s == '+')
                v = ids[n - 1] + strtoull(s + 1, NULL, 10);
            else if (*s)
                v = ids[strtoul(s, NULL, 10) % n];
            cJSON *num = cJSON_CreateNumber((double)v);
            cJSON_ReplaceItemInObjectCaseSensitive(j, "id", num); /* keeps the key, unlike ViaPointer */
            c = num;
        } else {
            substitute_ids(c, ids, n);
        }
    }
}

struct oversize {
    size_t total, sent;
    char head[64];
    size_t head_len;
};

static ssize_t oversize_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct oversize *o = cls;
    size_t n = 0;
    size_t end = o->head_len + o->total + 2;
    while (n < max && pos + n < end) {
        size_t at = (size_t)pos + n;
        if (at < o->head_len)
            buf[n] = o->head[at];
        else if (at < o->head_len + o->total)
            buf[n] = 'a';
        else
            buf[n] = at == end - 2 ? '"' : '}';
        n++;
    }
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)n;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, struct MHD_Response *r,
                               const cJSON *headers)
{
    for (const cJSON *h = headers ? headers->child : NULL; h; h = h->next) {
        if (!cJSON_IsString(h))
            continue;
        char date[64];
        const char *val = h->valuestring;
        if (strncmp(val, "$date+", 6) == 0) { /* an HTTP date that many seconds from now */
            time_t t = time(NULL) + atoi(val + 6);
            struct tm tm;
            strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&t, &tm));
            val = date;
        }
        MHD_add_response_header(r, h->string, val);
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    return respond(conn, status, r, NULL);
}

/* Sends what exchange `ex` says to answer (called without f->mu held: delays sleep). */
static enum MHD_Result answer(struct fake *f, struct MHD_Connection *conn, const cJSON *ex, const uint64_t *ids,
                              size_t nids)
{
    const cJSON *delay = cJSON_GetObjectItemCaseSensitive(ex, "delay_ms");
    if (cJSON_IsNumber(delay)) {
        /* Sliced so that stopping the server does not wait out the whole delay. */
        for (int t = 0; t < delay->valueint && !atomic_load(&f->stopping); t += 5)
            usleep(5000);
    }

    const cJSON *st = cJSON_GetObjectItemCaseSensitive(ex, "status");
    unsigned status = cJSON_IsNumber(st) ? (unsigned)st->valueint : 200;
    const cJSON *headers = cJSON_GetObjectItemCaseSensitive(ex, "headers");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(ex, "body_text");
    const cJSON *reply = cJSON_GetObjectItemCaseSensitive(ex, "reply");
    const cJSON *over = cJSON_GetObjectItemCaseSensitive(ex, "oversize");
    const cJSON *nested = cJSON_GetObjectItemCaseSensitive(ex, "nested");
    struct MHD_Response *r = NULL;
    if (cJSON_IsString(text)) {
        /* textual $id substitution: bodies that are not valid JSON cannot be trees */
        struct fbuf b;
        fbuf_init(&b, 1 << 20);
        for (const char *p = text->valuestring; *p;) {
            if (strncmp(p, "$id", 3) == 0) {
                if (fbuf_printf(&b, "%llu", (unsigned long long)ids[0]))
                    break;
                p += 3;
            } else {
                if (fbuf_addbyte(&b, (uint8_t)*p++))
                    break;
            }
        }
        r = MHD_create_response_from_buffer(b.len, b.len ? b.data : (void *)"", MHD_RESPMEM_MUST_COPY);
        fbuf_free(&b);
    } else if (cJSON_IsNumber(over)) {
        struct oversize *o = calloc(1, sizeof *o);
        o->total = (size_t)over->valuedouble;
        o->head_len = (size_t)snprintf(o->head, sizeof o->head, "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":\"",
                                       (unsigned long long)ids[0]);
        bool chunked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "chunked"));
        r = MHD_create_response_from_callback(chunked ? MHD_SIZE_UNKNOWN : o->head_len + o->total + 2, 4096,
                                              oversize_read, o, free);
    } else if (cJSON_IsNumber(nested)) {
        size_t depth = (size_t)nested->valuedouble;
        char *b = malloc(depth);
        memset(b, '[', depth);
        r = MHD_create_response_from_buffer(depth, b, MHD_RESPMEM_MUST_FREE);
    } else {
        cJSON *copy = cJSON_Duplicate(reply, true);
        substitute_ids(copy, ids, nids);
        char *s = cJSON_PrintUnformatted(copy);
        cJSON_Delete(copy);
        if (!s)
            s = strdup("");
        r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    }
    return respond(conn, status, r, headers);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct fake *f = cls;
    struct upload *u = *con_cls;
    if (!u) {
        u = calloc(1, sizeof *u);
        fbuf_init(&u->body, 1 << 20);
        *con_cls = u;
        return MHD_YES;
    }
    if (*upload_size) {
        if (fbuf_add(&u->body, upload_data, *upload_size))
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }

    pthread_mutex_lock(&f->mu);
    f->served++;
    const cJSON *ex = NULL;
    if (!f->fn && f->pos < f->nex) {
        ex = f->ex[f->pos];
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "repeat")))
            f->pos++;
    }
    if (!f->fn && !ex) {
        fake_fail(f, "unexpected request: %.300s", u->body.data ? (char *)u->body.data : "");
        pthread_mutex_unlock(&f->mu);
        return serve_text(conn, 500, "no exchange left for this request");
    }
    if (strcmp(method, "POST") != 0)
        fake_fail(f, "expected POST, got %s", method);
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (!ctype || strcmp(ctype, "application/json") != 0)
        fake_fail(f, "expected Content-Type application/json, got %s", ctype ? ctype : "(none)");

    /* What the client sent, against what it should have sent. */
    uint64_t ids[1024];
    size_t nids = 0;
    const cJSON *want = ex ? cJSON_GetObjectItemCaseSensitive(ex, "request") : NULL;
    cJSON *got = u->body.len ? cJSON_ParseWithLength((const char *)u->body.data, u->body.len) : NULL;
    bool ok = false;
    if (!got) {
        fake_fail(f, "request body is not JSON");
    } else if (cJSON_IsArray(want) || (!want && cJSON_IsArray(got))) {
        int n = cJSON_GetArraySize(got);
        if (want && (!cJSON_IsArray(got) || n != cJSON_GetArraySize(want) || n > 64)) {
            fake_fail(f, "expected a batch of %d calls", cJSON_GetArraySize(want));
        } else if (n > 1024) {
            fake_fail(f, "a batch of %d calls", n);
        } else {
            ok = true;
            for (int i = 0; i < n && ok; i++)
                ok = check_call(f, cJSON_GetArrayItem(got, i), want ? cJSON_GetArrayItem(want, i) : NULL, &ids[nids++],
                                i == 0);
        }
    } else if (cJSON_IsObject(got)) {
        ok = check_call(f, got, want, &ids[nids++], true);
    } else {
        fake_fail(f, "expected a single call, got %s", cJSON_IsArray(got) ? "a batch" : "something else");
    }
    if (nids == 0)
        ids[nids++] = 0;
    cJSON *made = NULL;
    if (f->fn) {
        if (ok)
            made = f->fn(f->fn_ud, f, got, ids, nids);
        if (!made) {
            fake_fail(f, "the model had no answer for %.300s", u->body.data ? (char *)u->body.data : "");
            cJSON_Delete(got);
            pthread_mutex_unlock(&f->mu);
            return serve_text(conn, 500, "no answer");
        }
        ex = made;
    }
    cJSON_Delete(got);
    pthread_mutex_unlock(&f->mu);

    enum MHD_Result ret = answer(f, conn, ex, ids, nids);
    cJSON_Delete(made);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct upload *u = *con_cls;
    if (u) {
        fbuf_free(&u->body);
        free(u);
        *con_cls = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct fake *f = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&f->connections, 1);
}

void fake_start(struct fake *f)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    f->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, f, MHD_OPTION_SOCK_ADDR, &sin,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, f, MHD_OPTION_NOTIFY_CONNECTION, on_connection, f,
                            MHD_OPTION_END);
    assert_non_null(f->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    f->port = info->port;
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/", f->port);
}

void fake_stop(struct fake *f)
{
    atomic_store(&f->stopping, true);
    MHD_stop_daemon(f->d);
    f->d = NULL;
    pthread_mutex_destroy(&f->mu);
}

void fake_check(struct fake *f, const char *what)
{
    if (f->err[0])
        fail_msg("%s: %s", what, f->err);
    if (f->fn)
        return;
    size_t used = f->pos;
    if (f->nex && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f->ex[f->nex - 1], "repeat")))
        used++;
    if (used != f->nex)
        fail_msg("%s used %zu of its %zu exchanges", what, used, f->nex);
    /* ids only grow (a retry sends the same ones again) */
    for (size_t k = 1; k < f->nids; k++)
        if (f->ids[k] < f->ids[k - 1])
            fail_msg("%s: request ids went backwards", what);
}

unsigned fake_closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
    close(s);
    return ntohs(sin.sin_port);
}
