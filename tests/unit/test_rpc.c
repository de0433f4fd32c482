/* The JSON-RPC client against a fake node that replays recorded exchanges.
 *
 * tests/vectors/rpc/NAME.json hold scenarios, each a test of its own: the endpoints (fake
 * servers, or closed ports), the client configuration, the calls to make in order with what
 * each must end with, and the exchanges the servers replay: the request the client must send
 * (method and params, compared as JSON), then the status, headers and body to answer with,
 * after an optional delay. "$id" in a reply stands for the id of the request (in a batch,
 * "$idN" for the id of its N-th call, "$id+K" for an id we never sent). Every exchange must
 * be used, in order, and nothing else may be asked.
 *
 * The fake servers (fakerpc.h) are libmicrohttpd daemons on 127.0.0.1 (port 0) with their own
 * polling thread, so the client's loop runs in the test thread exactly as in the daemon. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "evm/rpc.h"
#include "ferry/buf.h"
#include "ferry/loop.h"
#include "anvil_run.h"
#include "fakerpc.h"
#include "testutil.h"

#define MAX_FAKES 4

/* ---- driving the client ---- */

/* A copy of what a callback received (its pointers die with the callback). */
struct got_reply {
    enum rpc_errkind kind;
    int64_t code;
    long http_status;
    char *message;
    char *revert_data;
    char *result; /* printed JSON */
    uint64_t retry_after_ms, limit_max_blocks, limit_from, limit_to;
    bool limit_has_range;
    int endpoint;
    uint32_t attempts;
};

struct outcome {
    int done;
    size_t n;
    struct got_reply r[64];
    uint64_t at_ms;
};

static void on_reply(void *ud, struct rpc_reply *replies, size_t n)
{
    struct outcome *o = ud;
    o->done++;
    o->n = n;
    o->at_ms = loop_clock_ms();
    for (size_t i = 0; i < n && i < 64; i++) {
        struct got_reply *g = &o->r[i];
        const struct rpc_error *e = &replies[i].err;
        g->kind = e->kind;
        g->code = e->code;
        g->http_status = e->http_status;
        g->message = strdup(e->message ? e->message : "(null)");
        g->revert_data = e->revert_data ? strdup(e->revert_data) : NULL;
        g->result = e->kind == RPC_OK ? cJSON_PrintUnformatted(replies[i].result) : NULL;
        g->retry_after_ms = e->retry_after_ms;
        g->limit_max_blocks = e->limit_max_blocks;
        g->limit_has_range = e->limit_has_range;
        g->limit_from = e->limit_from;
        g->limit_to = e->limit_to;
        g->endpoint = e->endpoint;
        g->attempts = e->attempts;
    }
}

static void outcome_free(struct outcome *o)
{
    for (size_t i = 0; i < o->n && i < 64; i++) {
        free(o->r[i].message);
        free(o->r[i].revert_data);
        free(o->r[i].result);
    }
    memset(o, 0, sizeof *o);
}

static void run_until_done(struct loop *loop, const int *done, uint64_t bound_ms)
{
    uint64_t end = loop_clock_ms() + bound_ms;
    while (!*done && loop_clock_ms() < end)
        assert_int_equal(loop_run_once(loop, 50), FERRY_OK);
    if (!*done)
        fail_msg("the call did not end within %llu ms", (unsigned long long)bound_ms);
}

static uint32_t num(const cJSON *o, const char *k, uint32_t dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (uint32_t)v->valuedouble : dflt;
}

static void check_reply(const char *where, const struct got_reply *g, const cJSON *want)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(want, "error");
    if (cJSON_IsString(kind)) {
        enum rpc_errkind k = rpc_errkind_from_name(kind->valuestring);
        if (k == RPC_E__COUNT)
            fail_msg("%s: unknown error kind %s in the vector", where, kind->valuestring);
        if (g->kind != k)
            fail_msg("%s: expected %s, got %s (%s)", where, kind->valuestring, rpc_errkind_name(g->kind), g->message);
    } else if (g->kind != RPC_OK) {
        fail_msg("%s: expected a result, got %s: %s", where, rpc_errkind_name(g->kind), g->message);
    }
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(want, "result"))) {
        cJSON *got = g->result ? cJSON_Parse(g->result) : NULL;
        if (!cJSON_Compare(got, v, true)) {
            char *w = cJSON_PrintUnformatted(v);
            fail_msg("%s: result %s, expected %s", where, g->result ? g->result : "(none)", w);
        }
        cJSON_Delete(got);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(want, "result_len"))) {
        cJSON *got = g->result ? cJSON_Parse(g->result) : NULL;
        assert_true(cJSON_IsString(got));
        assert_int_equal(strlen(got->valuestring), (size_t)v->valuedouble);
        cJSON_Delete(got);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(want, "code")) && g->code != (int64_t)v->valuedouble)
        fail_msg("%s: code %lld, expected %lld", where, (long long)g->code, (long long)v->valuedouble);
    if ((v = cJSON_GetObjectItemCaseSensitive(want, "message_contains")) && !strstr(g->message, v->valuestring))
        fail_msg("%s: message \"%s\" does not contain \"%s\"", where, g->message, v->valuestring);
    if ((v = cJSON_GetObjectItemCaseSensitive(want, "http_status")) && g->http_status != (long)v->valuedouble)
        fail_msg("%s: HTTP status %ld, expected %ld", where, g->http_status, (long)v->valuedouble);
    if ((v = cJSON_GetObjectItemCaseSensitive(want, "attempts")) && g->attempts != (uint32_t)v->valuedouble)
        fail_msg("%s: %u attempts, expected %u", where, g->attempts, (uint32_t)v->valuedouble);
    if ((v = cJSON_GetObjectItemCaseSensitive(want, "endpoint")) && g->endpoint != v->valueint)
        fail_msg("%s: answered by endpoint %d, expected %d", where, g->endpoint, v->valueint);
    if ((v = cJSON_GetObjectItemCaseSensitive(want, "retry_after_ms")) && g->retry_after_ms != (uint64_t)v->valuedouble)
        fail_msg("%s: retry_after_ms %llu, expected %.0f", where, (unsigned long long)g->retry_after_ms, v->valuedouble);
    if ((v = cJSON_GetObjectItemCaseSensitive(want, "limit_max_blocks")) &&
        g->limit_max_blocks != (uint64_t)v->valuedouble)
        fail_msg("%s: limit_max_blocks %llu, expected %.0f", where, (unsigned long long)g->limit_max_blocks,
                 v->valuedouble);
    if ((v = cJSON_GetObjectItemCaseSensitive(want, "limit_range"))) {
        if (!g->limit_has_range || g->limit_from != (uint64_t)cJSON_GetArrayItem(v, 0)->valuedouble ||
            g->limit_to != (uint64_t)cJSON_GetArrayItem(v, 1)->valuedouble)
            fail_msg("%s: limit range %d [%llu, %llu] differs", where, g->limit_has_range,
                     (unsigned long long)g->limit_from, (unsigned long long)g->limit_to);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(want, "revert_data"))) {
        if (cJSON_IsNull(v))
            assert_null(g->revert_data);
        else if (!g->revert_data || strcmp(g->revert_data, v->valuestring) != 0)
            fail_msg("%s: revert data %s, expected %s", where, g->revert_data ? g->revert_data : "(none)",
                     v->valuestring);
    }
}

static void check_endpoints(const char *where, struct rpc_client *c, const cJSON *want)
{
    for (size_t i = 0; i < (size_t)cJSON_GetArraySize(want); i++) {
        const cJSON *w = cJSON_GetArrayItem(want, (int)i);
        struct rpc_endpoint_status st;
        assert_int_equal(rpc_endpoint_status(c, i, &st), FERRY_OK);
        const cJSON *v;
#define CHECK_NUM(field, key)                                                                          \
    if ((v = cJSON_GetObjectItemCaseSensitive(w, key)) && (uint64_t)st.field != (uint64_t)v->valuedouble) \
        fail_msg("%s: endpoint %zu %s = %llu, expected %.0f", where, i, key, (unsigned long long)st.field, v->valuedouble);
        CHECK_NUM(requests, "requests")
        CHECK_NUM(errors, "errors")
        CHECK_NUM(consecutive_errors, "consecutive_errors")
        CHECK_NUM(head, "head")
        CHECK_NUM(head_lag, "head_lag")
#undef CHECK_NUM
#define CHECK_BOOL(field, key)                                                                  \
    if ((v = cJSON_GetObjectItemCaseSensitive(w, key)) && st.field != cJSON_IsTrue(v))         \
        fail_msg("%s: endpoint %zu %s = %d, expected %d", where, i, key, st.field, cJSON_IsTrue(v));
        CHECK_BOOL(healthy, "healthy")
        CHECK_BOOL(trusted_for_logs, "trusted_for_logs")
#undef CHECK_BOOL
        if ((v = cJSON_GetObjectItemCaseSensitive(w, "demoted")) && (st.demoted_ms > 0) != cJSON_IsTrue(v))
            fail_msg("%s: endpoint %zu demoted for %llu ms, expected demoted=%d", where, i,
                     (unsigned long long)st.demoted_ms, cJSON_IsTrue(v));
        if ((v = cJSON_GetObjectItemCaseSensitive(w, "retry_after_at_least")) &&
            st.retry_after_ms < (uint64_t)v->valuedouble)
            fail_msg("%s: endpoint %zu blocked for %llu ms only", where, i, (unsigned long long)st.retry_after_ms);
        assert_true(rpc_endpoint_trusted_for_logs(c, i) == st.trusted_for_logs);
    }
}

static struct rpc_config config_from(const cJSON *j, struct rpc_endpoint_config *eps, size_t n)
{
    struct rpc_config cfg = {.endpoints = eps, .n_endpoints = n, .seed = tu_rand() | 1};
    /* Fast defaults for tests; a scenario says otherwise where it matters. */
    cfg.timeout_ms = num(j, "timeout_ms", 5000);
    cfg.connect_timeout_ms = num(j, "connect_timeout_ms", 2000);
    cfg.deadline_ms = num(j, "deadline_ms", 10000);
    cfg.max_attempts = num(j, "max_attempts", 4);
    cfg.backoff_base_ms = num(j, "backoff_base_ms", 10);
    cfg.backoff_max_ms = num(j, "backoff_max_ms", 50);
    cfg.demote_base_ms = num(j, "demote_base_ms", 1000);
    cfg.unhealthy_after = num(j, "unhealthy_after", 3);
    cfg.head_lag_max = num(j, "head_lag_max", 3);
    cfg.max_inflight = num(j, "max_inflight", 4);
    cfg.max_body = num(j, "max_body", 1 << 20);
    return cfg;
}

static void play(const cJSON *sc, struct rpc_endpoint_config *eps, size_t n);

static void run_scenario(void **state)
{
    const cJSON *sc = *state;
    const char *name = cJSON_GetObjectItemCaseSensitive(sc, "name")->valuestring;
    struct fake fakes[MAX_FAKES];
    bool is_fake[MAX_FAKES] = {0};
    char urls[MAX_FAKES][64];
    struct rpc_endpoint_config eps[MAX_FAKES];
    const cJSON *epj = cJSON_GetObjectItemCaseSensitive(sc, "endpoints");
    size_t n = epj ? (size_t)cJSON_GetArraySize(epj) : 1;
    assert_true(n >= 1 && n <= MAX_FAKES);
    for (size_t i = 0; i < n; i++) {
        const cJSON *kind = epj ? cJSON_GetArrayItem(epj, (int)i) : NULL;
        unsigned port;
        if (kind && strcmp(kind->valuestring, "closed") == 0) {
            port = fake_closed_port();
        } else {
            fake_start(&fakes[i]);
            is_fake[i] = true;
            port = fakes[i].port;
        }
        snprintf(urls[i], sizeof urls[i], "http://127.0.0.1:%u/", port);
        eps[i] = (struct rpc_endpoint_config){urls[i], NULL};
    }
    const cJSON *ex;
    cJSON_ArrayForEach(ex, cJSON_GetObjectItemCaseSensitive(sc, "exchanges"))
    {
        size_t e = num(ex, "endpoint", 0);
        assert_true(e < n && is_fake[e]);
        assert_true(fakes[e].nex < FAKE_MAX_EX);
        fakes[e].ex[fakes[e].nex++] = ex;
    }

    play(sc, eps, n);

    for (size_t i = 0; i < n; i++) {
        if (!is_fake[i])
            continue;
        fake_stop(&fakes[i]);
        char what[200];
        snprintf(what, sizeof what, "%s: endpoint %zu", name, i);
        fake_check(&fakes[i], what);
    }
}

/* Runs the steps of a scenario against endpoints eps[0..n) and checks what each ends with. */
static void play(const cJSON *sc, struct rpc_endpoint_config *eps, size_t n)
{
    const char *name = cJSON_GetObjectItemCaseSensitive(sc, "name")->valuestring;
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct rpc_config cfg = config_from(cJSON_GetObjectItemCaseSensitive(sc, "config"), eps, n);
    struct rpc_client *c;
    assert_int_equal(rpc_client_new(loop, &cfg, &c), FERRY_OK);

    int stepno = 0;
    const cJSON *step;
    cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(sc, "steps"))
    {
        char where[160];
        snprintf(where, sizeof where, "%s step %d", name, stepno++);
        const cJSON *opts_j = cJSON_GetObjectItemCaseSensitive(step, "opts");
        struct rpc_opts opts = {0};
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(opts_j, "logs_grade")))
            opts.logs_grade = true;
        const cJSON *pin = cJSON_GetObjectItemCaseSensitive(opts_j, "endpoint");
        if (cJSON_IsNumber(pin)) {
            opts.pinned = true;
            opts.endpoint = (unsigned)pin->valueint;
        }
        struct outcome o = {0};
        uint64_t t0 = loop_clock_ms();
        const cJSON *call = cJSON_GetObjectItemCaseSensitive(step, "call");
        const cJSON *batch = cJSON_GetObjectItemCaseSensitive(step, "batch");
        char *params[64] = {0};
        if (call) {
            params[0] = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(call, "params"));
            assert_int_equal(rpc_call(c, cJSON_GetObjectItemCaseSensitive(call, "method")->valuestring, params[0],
                                      &opts, on_reply, &o),
                             FERRY_OK);
        } else {
            struct rpc_call_spec specs[64];
            size_t k = 0;
            const cJSON *b;
            cJSON_ArrayForEach(b, batch)
            {
                params[k] = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(b, "params"));
                specs[k] = (struct rpc_call_spec){cJSON_GetObjectItemCaseSensitive(b, "method")->valuestring, params[k]};
                k++;
            }
            assert_int_equal(rpc_batch(c, specs, k, &opts, on_reply, &o), FERRY_OK);
        }
        /* Never inside rpc_call: the reply comes from the loop. */
        assert_int_equal(o.done, 0);
        run_until_done(loop, &o.done, 20000);
        assert_int_equal(o.done, 1);
        uint64_t elapsed = o.at_ms - t0;
        const cJSON *expect = cJSON_GetObjectItemCaseSensitive(step, "expect");
        const cJSON *reps = cJSON_GetObjectItemCaseSensitive(expect, "replies");
        if (reps) {
            assert_int_equal(o.n, (size_t)cJSON_GetArraySize(reps));
            for (size_t i = 0; i < o.n; i++) {
                char w2[200];
                snprintf(w2, sizeof w2, "%s reply %zu", where, i);
                check_reply(w2, &o.r[i], cJSON_GetArrayItem(reps, (int)i));
            }
            /* Call-level expectations of a batch hold for every reply. */
            const cJSON *att = cJSON_GetObjectItemCaseSensitive(expect, "attempts");
            if (att)
                for (size_t i = 0; i < o.n; i++)
                    assert_int_equal(o.r[i].attempts, (uint32_t)att->valuedouble);
        } else {
            assert_int_equal(o.n, 1);
            check_reply(where, &o.r[0], expect);
        }
        const cJSON *v;
        if ((v = cJSON_GetObjectItemCaseSensitive(expect, "min_ms")) && elapsed < (uint64_t)v->valuedouble)
            fail_msg("%s: ended after %llu ms, expected at least %.0f", where, (unsigned long long)elapsed,
                     v->valuedouble);
        if ((v = cJSON_GetObjectItemCaseSensitive(expect, "max_ms")) && elapsed > (uint64_t)v->valuedouble)
            fail_msg("%s: ended after %llu ms, expected at most %.0f", where, (unsigned long long)elapsed,
                     v->valuedouble);
        if ((v = cJSON_GetObjectItemCaseSensitive(step, "endpoints_after")))
            check_endpoints(where, c, v);
        for (size_t i = 0; i < 64; i++)
            free(params[i]);
        outcome_free(&o);
        assert_int_equal(rpc_pending(c), 0);
    }
    const cJSON *after = cJSON_GetObjectItemCaseSensitive(sc, "endpoints_after");
    if (after)
        check_endpoints(name, c, after);
    rpc_client_free(c);
    loop_free(loop);
}

/* The recorded anvil session again, against a real anvil: same requests, same types. */
static struct anvil_run live_anvil;
static cJSON *live_vec;

static void anvil_session_live(void **state)
{
    live_vec = tu_load_vectors("rpc/anvil_recorded.json");
    const cJSON *sc = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(live_vec, "scenarios"), 0);
    const char *why;
    if (!anvil_start(&live_anvil, &why, NULL)) {
        fprintf(stderr, "# skipped: %s\n", why);
        skip();
    }
    struct rpc_endpoint_config ep = {live_anvil.url, "anvil"};
    play(sc, &ep, 1);
}

/* A teardown, so that anvil is stopped even when a check fails half way. */
static int anvil_session_live_end(void **state)
{
    anvil_stop(&live_anvil);
    cJSON_Delete(live_vec);
    live_vec = NULL;
    return 0;
}

/* ---- tests written in C: what a vector cannot say ---- */

static void bad_arguments_send_nothing(void **state)
{
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct rpc_client *c;
    struct rpc_config cfg = {0};
    assert_int_equal(rpc_client_new(loop, &cfg, &c), FERRY_EINVAL);
    struct rpc_endpoint_config bad = {"ftp://example.org/", NULL};
    cfg.endpoints = &bad;
    cfg.n_endpoints = 1;
    assert_int_equal(rpc_client_new(loop, &cfg, &c), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "endpoint 0"));
    struct rpc_endpoint_config good = {"http://127.0.0.1:9/", NULL};
    cfg.endpoints = &good;
    assert_int_equal(rpc_client_new(loop, &cfg, &c), FERRY_OK);
    struct outcome o = {0};
    assert_int_equal(rpc_call(c, "eth_chainId", "{not json", NULL, on_reply, &o), FERRY_EINVAL);
    assert_int_equal(rpc_call(c, "eth_chainId", "42", NULL, on_reply, &o), FERRY_EINVAL);
    assert_int_equal(rpc_call(c, "eth_chainId", "[] []", NULL, on_reply, &o), FERRY_EINVAL);
    assert_int_equal(rpc_call(c, "eth\"chainId", "[]", NULL, on_reply, &o), FERRY_EINVAL);
    assert_int_equal(rpc_call(c, "", "[]", NULL, on_reply, &o), FERRY_EINVAL);
    struct rpc_opts pin = {.pinned = true, .endpoint = 1};
    assert_int_equal(rpc_call(c, "eth_chainId", "[]", &pin, on_reply, &o), FERRY_ERANGE);
    assert_int_equal(rpc_batch(c, NULL, 0, NULL, on_reply, &o), FERRY_ERANGE);
    assert_int_equal(rpc_pending(c), 0);
    assert_int_equal(loop_run_once(loop, 0), FERRY_OK);
    assert_int_equal(o.done, 0);
    struct rpc_endpoint_status st;
    assert_int_equal(rpc_endpoint_status(c, 1, &st), FERRY_ERANGE);
    assert_int_equal(rpc_endpoint_status(c, 0, &st), FERRY_OK);
    assert_string_equal(st.name, "http://127.0.0.1:9");
    rpc_client_free(c);
    loop_free(loop);
}

static void endpoint_names_hide_credentials(void **state)
{
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct rpc_endpoint_config eps[2] = {{"https://user:secret@node.example:8545/v3/KEY?x=1", NULL},
                                         {"http://127.0.0.1:1/", "local"}};
    struct rpc_config cfg = {.endpoints = eps, .n_endpoints = 2};
    struct rpc_client *c;
    assert_int_equal(rpc_client_new(loop, &cfg, &c), FERRY_OK);
    struct rpc_endpoint_status st;
    assert_int_equal(rpc_endpoint_status(c, 0, &st), FERRY_OK);
    assert_string_equal(st.name, "https://node.example:8545");
    assert_int_equal(rpc_endpoint_status(c, 1, &st), FERRY_OK);
    assert_string_equal(st.name, "local");
    rpc_client_free(c);
    loop_free(loop);
}

struct one_fake {
    struct fake f;
    cJSON *vec;
    char url[64];
    struct rpc_endpoint_config ep;
};

/* A fake endpoint that answers every eth_chainId with 0x1 (a repeating exchange). */
static void one_fake_start(struct one_fake *s, int delay_ms)
{
    char text[256];
    snprintf(text, sizeof text,
             "{\"request\":{\"method\":\"eth_chainId\",\"params\":[]},\"repeat\":true,\"delay_ms\":%d,"
             "\"reply\":{\"jsonrpc\":\"2.0\",\"id\":\"$id\",\"result\":\"0x1\"}}",
             delay_ms);
    s->vec = cJSON_Parse(text);
    fake_start(&s->f);
    s->f.ex[s->f.nex++] = s->vec;
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u/", s->f.port);
    s->ep = (struct rpc_endpoint_config){s->url, NULL};
}

static void one_fake_stop(struct one_fake *s)
{
    fake_stop(&s->f);
    if (s->f.err[0])
        fail_msg("fake: %s", s->f.err);
    cJSON_Delete(s->vec);
}

static void queue_keeps_inflight_bounded_and_ids_grow(void **state)
{
    struct one_fake s;
    one_fake_start(&s, 0);
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct rpc_config cfg = {.endpoints = &s.ep, .n_endpoints = 1, .max_inflight = 2, .seed = 7};
    struct rpc_client *c;
    assert_int_equal(rpc_client_new(loop, &cfg, &c), FERRY_OK);
    enum { N = 20 };
    struct outcome o[N];
    memset(o, 0, sizeof o);
    for (int i = 0; i < N; i++)
        assert_int_equal(rpc_call(c, "eth_chainId", NULL, NULL, on_reply, &o[i]), FERRY_OK);
    assert_int_equal(rpc_pending(c), N);
    struct rpc_endpoint_status st;
    assert_int_equal(rpc_endpoint_status(c, 0, &st), FERRY_OK);
    assert_true(st.inflight <= 2);
    int all = 0;
    uint64_t end = loop_clock_ms() + 20000;
    while (!all && loop_clock_ms() < end) {
        assert_int_equal(loop_run_once(loop, 50), FERRY_OK);
        assert_int_equal(rpc_endpoint_status(c, 0, &st), FERRY_OK);
        assert_true(st.inflight <= 2);
        all = 1;
        for (int i = 0; i < N; i++)
            all &= o[i].done == 1;
    }
    assert_true(all);
    for (int i = 0; i < N; i++) {
        assert_int_equal(o[i].r[0].kind, RPC_OK);
        assert_string_equal(o[i].r[0].result, "\"0x1\"");
        outcome_free(&o[i]);
    }
    assert_int_equal(rpc_pending(c), 0);
    /* Metrics by method. */
    struct rpc_method_stats ms[4];
    assert_int_equal(rpc_endpoint_methods(c, 0, ms, 4), 1);
    assert_string_equal(ms[0].method, "eth_chainId");
    assert_int_equal(ms[0].calls, N);
    assert_int_equal(ms[0].errors, 0);
    assert_int_equal(rpc_endpoint_status(c, 0, &st), FERRY_OK);
    assert_int_equal(st.requests, N);
    assert_true(st.latency_ms >= 0);
    rpc_client_free(c);
    loop_free(loop);
    one_fake_stop(&s); /* joins the server's thread: what it recorded can be read */
    /* The server saw N distinct ids, N consecutive numbers (two in flight may arrive in
     * either order, so the order itself is not asserted here; run_scenario checks it). */
    assert_int_equal(s.f.nids, N);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < N; i++) {
        for (int j = i + 1; j < N; j++)
            assert_true(s.f.ids[i] != s.f.ids[j]);
        lo = s.f.ids[i] < lo ? s.f.ids[i] : lo;
        hi = s.f.ids[i] > hi ? s.f.ids[i] : hi;
    }
    assert_int_equal(hi - lo, N - 1);
}

struct free_in_cb {
    struct rpc_client *c;
    int calls;
    int cancelled;
};

static void frees_client(void *ud, struct rpc_reply *r, size_t n)
{
    struct free_in_cb *f = ud;
    f->calls++;
    if (r[0].err.kind == RPC_E_CANCELLED)
        f->cancelled++;
    else
        rpc_client_free(f->c); /* the others are cancelled from inside this callback */
}

static void one_connection_kept_alive(void **state)
{
    struct one_fake s;
    one_fake_start(&s, 0);
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct rpc_config cfg = {.endpoints = &s.ep, .n_endpoints = 1, .max_inflight = 1};
    struct rpc_client *c;
    assert_int_equal(rpc_client_new(loop, &cfg, &c), FERRY_OK);
    for (int i = 0; i < 10; i++) { /* one after the other, and then ten at once */
        struct outcome o = {0};
        assert_int_equal(rpc_call(c, "eth_chainId", "[]", NULL, on_reply, &o), FERRY_OK);
        run_until_done(loop, &o.done, 10000);
        assert_int_equal(o.r[0].kind, RPC_OK);
        outcome_free(&o);
    }
    struct outcome o[10];
    memset(o, 0, sizeof o);
    for (int i = 0; i < 10; i++)
        assert_int_equal(rpc_call(c, "eth_chainId", "[]", NULL, on_reply, &o[i]), FERRY_OK);
    run_until_done(loop, &o[9].done, 10000);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(o[i].done, 1);
        outcome_free(&o[i]);
    }
    rpc_client_free(c);
    loop_free(loop);
    one_fake_stop(&s); /* joins the server's thread: its counters can be read */
    assert_int_equal(s.f.served, 20);
    assert_int_equal(atomic_load(&s.f.connections), 1);
}

static void deadline_while_waiting_for_a_connection(void **state)
{
    struct one_fake s;
    one_fake_start(&s, 400);
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct rpc_config cfg = {.endpoints = &s.ep, .n_endpoints = 1, .max_inflight = 1};
    struct rpc_client *c;
    assert_int_equal(rpc_client_new(loop, &cfg, &c), FERRY_OK);
    struct outcome slow = {0}, queued = {0};
    struct rpc_opts short_deadline = {.deadline_ms = 100};
    assert_int_equal(rpc_call(c, "eth_chainId", "[]", NULL, on_reply, &slow), FERRY_OK);
    assert_int_equal(rpc_call(c, "eth_chainId", "[]", &short_deadline, on_reply, &queued), FERRY_OK);
    run_until_done(loop, &queued.done, 10000);
    assert_int_equal(queued.r[0].kind, RPC_E_TIMEOUT);
    assert_non_null(strstr(queued.r[0].message, "free connection"));
    assert_int_equal(queued.r[0].attempts, 0); /* never sent */
    assert_int_equal(slow.done, 0);
    run_until_done(loop, &slow.done, 10000);
    assert_int_equal(slow.r[0].kind, RPC_OK);
    outcome_free(&slow);
    outcome_free(&queued);
    rpc_client_free(c);
    loop_free(loop);
    one_fake_stop(&s);
    assert_int_equal(s.f.served, 1);
}

static void free_cancels_pending_calls(void **state)
{
    struct one_fake s;
    one_fake_start(&s, 300);
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct rpc_config cfg = {.endpoints = &s.ep, .n_endpoints = 1, .max_inflight = 1};
    struct rpc_client *c;
    assert_int_equal(rpc_client_new(loop, &cfg, &c), FERRY_OK);
    struct outcome o[3];
    memset(o, 0, sizeof o);
    for (int i = 0; i < 3; i++) /* one in flight, two queued */
        assert_int_equal(rpc_call(c, "eth_chainId", "[]", NULL, on_reply, &o[i]), FERRY_OK);
    assert_int_equal(loop_run_once(loop, 10), FERRY_OK);
    rpc_client_free(c);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(o[i].done, 1);
        assert_int_equal(o[i].r[0].kind, RPC_E_CANCELLED);
        outcome_free(&o[i]);
    }
    assert_int_equal(loop_xfer_count(loop), 0);

    /* Freed from inside its own callback: the rest are cancelled, the memory goes after. */
    assert_int_equal(rpc_client_new(loop, &cfg, &c), FERRY_OK);
    struct free_in_cb f = {.c = c};
    for (int i = 0; i < 3; i++)
        assert_int_equal(rpc_call(c, "eth_chainId", "[]", NULL, frees_client, &f), FERRY_OK);
    uint64_t end = loop_clock_ms() + 10000;
    while (f.calls < 3 && loop_clock_ms() < end)
        assert_int_equal(loop_run_once(loop, 50), FERRY_OK);
    assert_int_equal(f.calls, 3);
    assert_int_equal(f.cancelled, 2);
    assert_int_equal(loop_xfer_count(loop), 0);
    loop_free(loop);
    one_fake_stop(&s);
}

struct take {
    cJSON *kept;
    int done;
};

static void takes_result(void *ud, struct rpc_reply *r, size_t n)
{
    struct take *t = ud;
    t->kept = rpc_reply_take(&r[0]);
    assert_null(r[0].result);
    assert_null(rpc_reply_take(&r[0]));
    t->done = 1;
}

static void reply_take_outlives_the_callback(void **state)
{
    struct one_fake s;
    one_fake_start(&s, 0);
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct rpc_config cfg = {.endpoints = &s.ep, .n_endpoints = 1};
    struct rpc_client *c;
    assert_int_equal(rpc_client_new(loop, &cfg, &c), FERRY_OK);
    struct take t = {0};
    assert_int_equal(rpc_call(c, "eth_chainId", "[]", NULL, takes_result, &t), FERRY_OK);
    run_until_done(loop, &t.done, 10000);
    assert_true(cJSON_IsString(t.kept));
    assert_string_equal(t.kept->valuestring, "0x1");
    cJSON_Delete(t.kept);
    rpc_client_free(c);
    loop_free(loop);
    one_fake_stop(&s);
}

static void head_probe_fills_heads(void **state)
{
    struct fake f[2];
    cJSON *ex[2];
    struct rpc_endpoint_config eps[2];
    char urls[2][64];
    const char *heads[2] = {"0x100", "0xf0"};
    for (int i = 0; i < 2; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"request\":{\"method\":\"eth_blockNumber\",\"params\":[]},\"repeat\":true,"
                 "\"reply\":{\"jsonrpc\":\"2.0\",\"id\":\"$id\",\"result\":\"%s\"}}",
                 heads[i]);
        ex[i] = cJSON_Parse(text);
        fake_start(&f[i]);
        f[i].ex[f[i].nex++] = ex[i];
        snprintf(urls[i], sizeof urls[i], "http://127.0.0.1:%u/", f[i].port);
        eps[i] = (struct rpc_endpoint_config){urls[i], NULL};
    }
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct rpc_config cfg = {.endpoints = eps, .n_endpoints = 2, .head_probe_ms = 20, .head_lag_max = 10};
    struct rpc_client *c;
    assert_int_equal(rpc_client_new(loop, &cfg, &c), FERRY_OK);
    struct rpc_endpoint_status a, b;
    uint64_t end = loop_clock_ms() + 10000;
    do {
        assert_int_equal(loop_run_once(loop, 50), FERRY_OK);
        assert_int_equal(rpc_endpoint_status(c, 0, &a), FERRY_OK);
        assert_int_equal(rpc_endpoint_status(c, 1, &b), FERRY_OK);
    } while (!(a.head_known && b.head_known && a.requests >= 2) && loop_clock_ms() < end);
    assert_true(a.head_known && b.head_known);
    assert_true(a.requests >= 2); /* repeating: probed again */
    assert_int_equal(a.head, 0x100);
    assert_int_equal(b.head, 0xf0);
    assert_int_equal(b.head_lag, 16);
    assert_true(a.trusted_for_logs);
    assert_false(b.trusted_for_logs);
    rpc_client_free(c);
    loop_free(loop);
    for (int i = 0; i < 2; i++) {
        fake_stop(&f[i]);
        assert_string_equal(f[i].err, "");
        cJSON_Delete(ex[i]);
    }
}

static void classify_by_code_and_text(void **state)
{
    /* The codes that settle it whatever the text. */
    assert_int_equal(rpc_classify(NULL, 3, "whatever"), RPC_E_EXECUTION_REVERTED);
    assert_int_equal(rpc_classify(NULL, -32601, ""), RPC_E_METHOD_NOT_FOUND);
    assert_int_equal(rpc_classify(NULL, 429, "x"), RPC_E_RATE_LIMITED);
    /* A bare -32005 or "limit exceeded" is a logs limit only for a logs query. */
    assert_int_equal(rpc_classify("eth_getLogs", -32005, "limit exceeded"), RPC_E_LIMIT_EXCEEDED);
    assert_int_equal(rpc_classify("eth_call", -32005, "limit exceeded"), RPC_E_NODE);
    assert_int_equal(rpc_classify("eth_getLogs", -32005, "project ID request rate exceeded"), RPC_E_RATE_LIMITED);
    /* The longer phrase wins over the one it contains. */
    assert_int_equal(rpc_classify(NULL, -32000, "replacement transaction underpriced"),
                     RPC_E_REPLACEMENT_UNDERPRICED);
    assert_int_equal(rpc_classify(NULL, -32000, "transaction underpriced"), RPC_E_UNDERPRICED);
    assert_int_equal(rpc_classify(NULL, -32000, "NONCE TOO LOW"), RPC_E_NONCE_TOO_LOW);
    assert_int_equal(rpc_classify(NULL, 0, NULL), RPC_E_NODE);
    for (int k = 0; k < RPC_E__COUNT; k++)
        assert_int_equal(rpc_errkind_from_name(rpc_errkind_name((enum rpc_errkind)k)), k);
    assert_int_equal(rpc_errkind_from_name("NOPE"), RPC_E__COUNT);
    assert_true(rpc_errkind_retryable(RPC_E_TIMEOUT));
    assert_false(rpc_errkind_retryable(RPC_E_NONCE_TOO_LOW));
    assert_false(rpc_errkind_retryable(RPC_E_BODY_TOO_LARGE));
}

static void parser_takes_any_bytes(void **state)
{
    uint64_t ids[3] = {5, 6, 7};
    const char *methods[3] = {"eth_chainId", "eth_getLogs", "eth_call"};
    struct rpc_reply out[3];
    char why[128];
    cJSON *tree;
    /* Random bytes, and random mutations of a valid batch reply: never a crash, and an
     * accepted reply always fills every call. */
    const char *valid = "[{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":3,\"message\":\"execution reverted\","
                        "\"data\":\"0x08c379a0\"}},{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":\"0x1\"},"
                        "{\"jsonrpc\":\"2.0\",\"id\":6,\"error\":{\"code\":-32005,\"message\":\"limit exceeded\"}}]";
    assert_int_equal(rpc_parse_reply(valid, strlen(valid), true, ids, methods, 3, &tree, out, why, sizeof why), RPC_OK);
    assert_int_equal(out[0].err.kind, RPC_OK);
    assert_int_equal(out[1].err.kind, RPC_E_LIMIT_EXCEEDED);
    assert_int_equal(out[2].err.kind, RPC_E_EXECUTION_REVERTED);
    assert_string_equal(out[2].err.revert_data, "0x08c379a0");
    cJSON_Delete(tree);
    char buf[512];
    for (int i = 0; i < 3000; i++) {
        size_t len;
        if (i & 1) {
            len = (size_t)(tu_rand() % sizeof buf);
            tu_rand_bytes((uint8_t *)buf, len);
        } else {
            len = strlen(valid);
            memcpy(buf, valid, len);
            for (int m = 0; m < 1 + (int)(tu_rand() % 4); m++)
                buf[tu_rand() % len] = (char)(tu_rand() & 0xff);
        }
        enum rpc_errkind k = rpc_parse_reply(buf, len, true, ids, methods, 3, &tree, out, why, sizeof why);
        if (k == RPC_OK) {
            assert_non_null(tree);
            for (int j = 0; j < 3; j++)
                assert_true(out[j].err.kind == RPC_OK ? out[j].result != NULL : out[j].err.message != NULL);
            cJSON_Delete(tree);
        } else {
            assert_null(tree);
            assert_true(k == RPC_E_MALFORMED || k == RPC_E_BAD_ENVELOPE || k == RPC_E_ID_MISMATCH);
            assert_true(why[0] != 0);
        }
    }
}

/* ---- the scenario list, built from the vector files ---- */

static cJSON *vector_files[32];
static size_t n_vector_files;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(bad_arguments_send_nothing),
        cmocka_unit_test(endpoint_names_hide_credentials),
        cmocka_unit_test(classify_by_code_and_text),
        cmocka_unit_test(parser_takes_any_bytes),
        cmocka_unit_test(queue_keeps_inflight_bounded_and_ids_grow),
        cmocka_unit_test(one_connection_kept_alive),
        cmocka_unit_test(deadline_while_waiting_for_a_connection),
        cmocka_unit_test(free_cancels_pending_calls),
        cmocka_unit_test(reply_take_outlives_the_callback),
        cmocka_unit_test(head_probe_fills_heads),
        cmocka_unit_test_teardown(anvil_session_live, anvil_session_live_end),
    };
    size_t nfixed = sizeof fixed / sizeof fixed[0];

    DIR *d = opendir("tests/vectors/rpc");
    if (!d) {
        fprintf(stderr, "cannot open tests/vectors/rpc (run from the repository root)\n");
        return 1;
    }
    char *names[32];
    size_t nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < 32) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0)
            names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof names[0], by_name);

    struct CMUnitTest *tests = calloc(nfixed + 512, sizeof *tests);
    memcpy(tests, fixed, sizeof fixed);
    size_t nt = nfixed;
    static char test_names[512][128];
    for (size_t i = 0; i < nn; i++) {
        char path[300];
        snprintf(path, sizeof path, "rpc/%s", names[i]);
        cJSON *v = tu_load_vectors(path);
        vector_files[n_vector_files++] = v;
        const cJSON *sc;
        cJSON_ArrayForEach(sc, cJSON_GetObjectItemCaseSensitive(v, "scenarios"))
        {
            if (nt >= nfixed + 512)
                break;
            snprintf(test_names[nt - nfixed], sizeof test_names[0], "%.*s/%s", (int)(strlen(names[i]) - 5), names[i],
                     cJSON_GetObjectItemCaseSensitive(sc, "name")->valuestring);
            tests[nt] = (struct CMUnitTest){.name = test_names[nt - nfixed],
                                            .test_func = run_scenario,
                                            .initial_state = (void *)sc};
            nt++;
        }
        free(names[i]);
    }
    /* FERRY_TEST_ONLY=substring runs only the tests whose name contains it. */
    const char *only = getenv("FERRY_TEST_ONLY");
    if (only && *only) {
        size_t k = 0;
        for (size_t i = 0; i < nt; i++)
            if (strstr(tests[i].name, only))
                tests[k++] = tests[i];
        nt = k;
    }
    int rc = _cmocka_run_group_tests(__FILE__, tests, nt, NULL, NULL);
    for (size_t i = 0; i < n_vector_files; i++)
        cJSON_Delete(vector_files[i]);
    free(tests);
    return rc;
}
