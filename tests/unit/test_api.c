/* The HTTP API on a real loop with real sockets: libcurl requests (on the same loop) against an
 * in-memory store and an engine fed by a stub chain family. Auth for writes, body caps, routes,
 * the packets listing and its paging, retries through the engine, /metrics and /healthz. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "../../src/engine_internal.h"
#include "ferry/api.h"
#include "ferry/daemon.h"
#include "ferry/keystore.h"
#include "ferry/engine.h"
#include "ferry/keccak.h"
#include "ferry/loop.h"
#include "ferry/metrics.h"
#include "ferry/signer.h"
#include "ferry/store.h"
#include "httptest.h"
#include "testutil.h"

#define TOKEN "s3cret-token-for-tests"

/* ---- a stub chain: just enough for the engine to hold packets ---- */

struct chain {
    uint64_t id;
    struct chain_env env;
    size_t submits;
    bool heap; /* made by st_open (the daemon test), freed by st_close */
};

static enum ferry_err st_open(struct chain **out, const cJSON *config, const struct chain_env *env)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(config, "chain_id");
    if (!cJSON_IsNumber(id))
        return ferry_fail(FERRY_EINVAL, "stub: no chain_id");
    struct chain *c = calloc(1, sizeof *c);
    if (!c)
        return ferry_fail(FERRY_ENOMEM, "stub: out of memory");
    c->id = (uint64_t)id->valuedouble;
    c->env = *env;
    c->heap = true;
    *out = c;
    return FERRY_OK;
}
static int st_check(const cJSON *c, void (*problem)(void *, const char *, const char *), void *ud) { return 0; }
static enum ferry_err st_start(struct chain *c) { return FERRY_OK; }
static void st_stop(struct chain *c) {}
static void st_close(struct chain *c)
{
    if (c->heap)
        free(c);
}
static uint64_t st_id(const struct chain *c) { return c->id; }
static const char *st_name(const struct chain *c) { return c->id == 1001 ? "alpha" : "beta"; }
static struct chain_head st_head(const struct chain *c)
{
    uint64_t now = (uint64_t)time(NULL);
    return (struct chain_head){.number = 100, .timestamp = now, .confirmed = 98, .confirmed_timestamp = now - 2};
}
static void st_packet_id(const struct packet *p, uint8_t out[32])
{
    uint8_t b[24];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(p->src_chain >> (56 - 8 * i));
        b[8 + i] = (uint8_t)(p->dst_chain >> (56 - 8 * i));
        b[16 + i] = (uint8_t)(p->sequence >> (56 - 8 * i));
    }
    keccak256(out, b, sizeof b);
}
static enum ferry_err st_digest(struct chain *c, enum chain_attest_kind kind, const struct packet *p,
                                const struct packet_ack *ack, uint64_t proof, uint8_t out[32])
{
    st_packet_id(p, out);
    out[0] ^= (uint8_t)kind;
    return FERRY_OK;
}
static enum ferry_err st_submit(struct chain *c, const char *id, const struct chain_call *call)
{
    c->submits++;
    return FERRY_OK; /* stays pending forever */
}
static enum chain_submission_state st_submission(struct chain *c, const char *id, struct chain_submission *out)
{
    memset(out, 0, sizeof *out);
    return CHAIN_SUB_PENDING;
}
static enum ferry_err st_received(struct chain *c, uint64_t src, uint64_t seq, chain_received_cb cb, void *ud)
{
    return ferry_fail(FERRY_EUNSUPPORTED, "stub");
}
static enum ferry_err st_pending(struct chain *c, uint64_t seq, chain_pending_cb cb, void *ud)
{
    return ferry_fail(FERRY_EUNSUPPORTED, "stub");
}
static void st_events_done(struct chain *c, uint64_t token) {}
static enum ferry_err st_resume(struct chain *c) { return FERRY_OK; }
static cJSON *st_status(struct chain *c) { return cJSON_CreateObject(); }

static const struct chain_ops stub_ops = {
    .name = "stub",
    .open = st_open,
    .check_config = st_check,
    .start = st_start,
    .stop = st_stop,
    .close = st_close,
    .chain_id = st_id,
    .chain_name = st_name,
    .head = st_head,
    .attest_digest = st_digest,
    .packet_id = st_packet_id,
    .submit = st_submit,
    .submission = st_submission,
    .query_received = st_received,
    .query_pending = st_pending,
    .events_done = st_events_done,
    .resume = st_resume,
    .status = st_status,
};

/* ---- the fixture ---- */

struct fx {
    struct loop *loop;
    struct store *store;
    struct metrics *metrics;
    struct signer *signer;
    struct engine *engine;
    struct api *api;
    struct chain a, b;
    struct engine_attester att;
    bool healthy;
    int health_calls;
    char base[64];
};

static enum ferry_err do_sign(void *ud, const char *name, const uint8_t digest[32], uint8_t sig[CHAIN_SIG_LEN])
{
    return signer_sign_digest(ud, name, digest, sig);
}

static const struct api_chain_name names[] = {{"alpha", 1001}, {"beta", 2002}};

static cJSON *fx_health(void *ud, bool *healthy)
{
    struct fx *f = ud;
    f->health_calls++;
    *healthy = f->healthy;
    cJSON *arr = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", "alpha");
    cJSON_AddNumberToObject(o, "head", 100);
    cJSON_AddItemToArray(arr, o);
    return arr;
}

/* Sends PACKET_SENT for (src -> dst, seq) as the adapter would, and lets the engine persist it. */
static void send_event(struct fx *f, struct chain *src, uint64_t dst, uint64_t seq)
{
    struct chain_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = CHAIN_EV_PACKET_SENT;
    ev.at.chain_id = src->id;
    ev.at.block_number = 10 + seq;
    ev.at.block_timestamp = (uint64_t)time(NULL);
    ev.at.block_hash[0] = (uint8_t)seq;
    ev.at.log_index = (uint32_t)seq;
    ev.packet.src_chain = src->id;
    ev.packet.dst_chain = dst;
    ev.packet.sequence = seq;
    ev.packet.sender[31] = 1;
    ev.packet.receiver[31] = 2;
    ev.packet.timeout_ts = (uint64_t)time(NULL) + 3600;
    st_packet_id(&ev.packet, ev.packet_id);
    src->env.on_events(src->env.engine, src, &ev, 1, seq);
    assert_int_equal(store_flush(f->store), FERRY_OK);
}

/* data_dir NULL: an in-memory store. */
static void fx_setup_at(struct fx *f, const char *token, size_t max_body, const char *data_dir)
{
    memset(f, 0, sizeof *f);
    f->healthy = true;
    assert_int_equal(loop_new(&f->loop), FERRY_OK);
    assert_int_equal(store_open(&f->store, data_dir ? "leveldb" : "mem", data_dir), FERRY_OK);
    assert_int_equal(metrics_new(&f->metrics), FERRY_OK);
    assert_int_equal(signer_new(&f->signer), FERRY_OK);
    uint8_t sk[32];
    memset(sk, 0x11, sizeof sk);
    assert_int_equal(signer_add_secret(f->signer, "att", sk), FERRY_OK);
    f->att.key_name = "att";
    assert_int_equal(signer_address(f->signer, "att", f->att.address), FERRY_OK);
    struct engine_config ec;
    engine_config_default(&ec);
    ec.store = f->store;
    ec.metrics = f->metrics;
    ec.attesters = &f->att;
    ec.n_attesters = 1;
    ec.threshold = 1;
    ec.sign = do_sign;
    ec.sign_ud = f->signer;
    ec.seed = 7;
    assert_int_equal(engine_new(&f->engine, &ec), FERRY_OK);
    f->a.id = 1001;
    f->b.id = 2002;
    struct chain *cs[2] = {&f->a, &f->b};
    for (int i = 0; i < 2; i++) {
        engine_chain_env(f->engine, &cs[i]->env);
        cs[i]->env.loop = f->loop;
        cs[i]->env.store = f->store;
        struct engine_chain_config cc = {0};
        assert_int_equal(engine_add_chain(f->engine, &stub_ops, cs[i], &cc), FERRY_OK);
    }
    assert_int_equal(engine_start(f->engine, (uint64_t)time(NULL)), FERRY_OK);
    struct api_config ac = {
        .loop = f->loop,
        .store = f->store,
        .engine = f->engine,
        .metrics = f->metrics,
        .host = "127.0.0.1",
        .port = 0,
        .token = token,
        .max_body = max_body,
        .chains = names,
        .n_chains = 2,
        .health = fx_health,
        .health_ud = f,
    };
    assert_int_equal(api_start(&f->api, &ac), FERRY_OK);
    assert_true(api_port(f->api) > 0);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", (unsigned)api_port(f->api));
}

static void fx_setup(struct fx *f, const char *token, size_t max_body)
{
    fx_setup_at(f, token, max_body, NULL);
}

static void fx_teardown(struct fx *f)
{
    api_stop(f->api);
    assert_int_equal(store_flush(f->store), FERRY_OK);
    engine_free(f->engine);
    assert_int_equal(store_close(f->store), FERRY_OK);
    signer_free(f->signer);
    metrics_free(f->metrics);
    loop_free(f->loop);
}

/* ---- an HTTP client on the same loop ---- */

/* Makes a request; `auth` is the whole Authorization value (NULL: none); chunked sends the body
 * without Content-Length. */
static struct ht_reply *req(struct fx *f, const char *method, const char *path, const char *auth, const char *body,
                            size_t body_len, bool chunked)
{
    return ht_request(f->loop, f->store, f->base, method, path, auth, body, body_len, chunked ? HT_CHUNKED : 0);
}

static struct ht_reply *get(struct fx *f, const char *path) { return req(f, "GET", path, NULL, NULL, 0, false); }

/* The packet routes' errors name no field. */
static void assert_error(const struct ht_reply *r, long status, const char *needle)
{
    ht_assert_error(r, status, needle, NULL);
}

/* ---- tests ---- */

static void token_comparison(void **state)
{
    const char *t = "abc";
    assert_true(api_token_matches("Bearer abc", t, 3));
    assert_false(api_token_matches("Bearer abcd", t, 3));
    assert_false(api_token_matches("Bearer ab", t, 3));
    assert_false(api_token_matches("bearer abc", t, 3));
    assert_false(api_token_matches("abc", t, 3));
    assert_false(api_token_matches("Bearer abc", NULL, 0));
    assert_false(api_token_matches(NULL, t, 3));
}

static void routes_and_methods(void **state)
{
    struct fx f;
    fx_setup(&f, TOKEN, 0);
    assert_error(get(&f, "/nope"), 404, "no such route");
    assert_error(get(&f, "/v1/packets/1001/1/retry"), 405, "not allowed");
    assert_error(req(&f, "DELETE", "/healthz", NULL, NULL, 0, false), 405, "not allowed");
    assert_error(get(&f, "/v1/packets/1001"), 404, "no such route");
    assert_error(get(&f, "/v1/packets/1001/x"), 400, "expected");
    assert_error(get(&f, "/v1/packets/1001/7"), 404, "no packet 1001/7");
    char longpath[400];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = 0;
    assert_error(get(&f, longpath), 414, "longer");
    fx_teardown(&f);
}

static void healthz(void **state)
{
    struct fx f;
    fx_setup(&f, TOKEN, 0);
    struct ht_reply *r = get(&f, "/healthz");
    assert_int_equal(r->status, 200);
    cJSON *j = ht_json(r);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "ok");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "chains")), 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "chains"), 0), "head")->valueint,
                     100);
    cJSON_Delete(j);
    f.healthy = false;
    r = get(&f, "/healthz");
    assert_int_equal(r->status, 503);
    j = ht_json(r);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "degraded");
    cJSON_Delete(j);
    assert_int_equal(f.health_calls, 2);
    fx_teardown(&f);
}

static void metrics_text(void **state)
{
    struct fx f;
    fx_setup(&f, TOKEN, 0);
    assert_int_equal(get(&f, "/nope")->status, 404);
    struct ht_reply *r = get(&f, "/metrics");
    assert_int_equal(r->status, 200);
    assert_non_null(strstr(r->content_type, "text/plain; version=0.0.4"));
    assert_non_null(strstr(r->body, "# TYPE ferry_api_requests_total counter\n"));
    assert_non_null(strstr(r->body, "ferry_api_requests_total{route=\"none\",code=\"404\"} 1\n"));
    assert_non_null(strstr(r->body, "ferry_api_requests_total{route=\"metrics\",code=\"200\"} 1\n"));
    /* The engine's own families are in the same registry. */
    assert_non_null(strstr(r->body, "# TYPE ferry_"));
    fx_teardown(&f);
}

static size_t packets_in(const cJSON *j)
{
    return (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(j, "packets"));
}

static void packets_listing(void **state)
{
    struct fx f;
    fx_setup(&f, TOKEN, 0);
    struct ht_reply *r = get(&f, "/v1/packets");
    assert_int_equal(r->status, 200);
    cJSON *j = ht_json(r);
    assert_int_equal(packets_in(j), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "next")));
    cJSON_Delete(j);

    send_event(&f, &f.a, 2002, 1);
    send_event(&f, &f.a, 2002, 2);
    send_event(&f, &f.a, 2002, 3);
    send_event(&f, &f.b, 1001, 1);

    r = get(&f, "/v1/packets");
    assert_int_equal(r->status, 200);
    j = ht_json(r);
    assert_int_equal(packets_in(j), 4);
    const cJSON *p0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "packets"), 0);
    assert_int_equal(cJSON_GetObjectItem(p0, "src")->valueint, 1001);
    assert_int_equal(cJSON_GetObjectItem(p0, "dst")->valueint, 2002);
    assert_int_equal(cJSON_GetObjectItem(p0, "seq")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(p0, "state")->valuestring, "SENT");
    assert_true(cJSON_IsString(cJSON_GetObjectItem(p0, "id")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(p0, "timeout")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(p0, "attempts")));
    cJSON_Delete(j);

    /* Filters: by source (id or name), destination, state, pending, one sequence. */
    j = ht_json(get(&f, "/v1/packets?src=beta"));
    assert_int_equal(packets_in(j), 1);
    cJSON_Delete(j);
    j = ht_json(get(&f, "/v1/packets?dst=2002"));
    assert_int_equal(packets_in(j), 3);
    cJSON_Delete(j);
    j = ht_json(get(&f, "/v1/packets?state=sent&src=1001"));
    assert_int_equal(packets_in(j), 3);
    cJSON_Delete(j);
    j = ht_json(get(&f, "/v1/packets?state=ACKED"));
    assert_int_equal(packets_in(j), 0);
    cJSON_Delete(j);
    j = ht_json(get(&f, "/v1/packets?pending=true"));
    assert_int_equal(packets_in(j), 4);
    cJSON_Delete(j);
    j = ht_json(get(&f, "/v1/packets?src=alpha&sequence=2"));
    assert_int_equal(packets_in(j), 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "packets"), 0), "seq")->valueint, 2);
    cJSON_Delete(j);
    j = ht_json(get(&f, "/v1/packets?src=alpha&sequence=9"));
    assert_int_equal(packets_in(j), 0);
    cJSON_Delete(j);

    /* Paging: limit 3, then the rest from the cursor; nothing twice, nothing missed. */
    j = ht_json(get(&f, "/v1/packets?limit=3"));
    size_t first = packets_in(j);
    const cJSON *next = cJSON_GetObjectItem(j, "next");
    assert_true(first <= 3);
    assert_true(cJSON_IsString(next));
    char path[256];
    snprintf(path, sizeof path, "/v1/packets?limit=3&cursor=%s", next->valuestring);
    cJSON_Delete(j);
    size_t total = first;
    for (int pages = 0; pages < 10; pages++) {
        j = ht_json(get(&f, path));
        total += packets_in(j);
        next = cJSON_GetObjectItem(j, "next");
        bool more = cJSON_IsString(next);
        if (more)
            snprintf(path, sizeof path, "/v1/packets?limit=3&cursor=%s", next->valuestring);
        cJSON_Delete(j);
        if (!more)
            break;
    }
    assert_int_equal(total, 4);

    /* One record by path. */
    j = ht_json(get(&f, "/v1/packets/beta/1"));
    assert_int_equal(cJSON_GetObjectItem(j, "src")->valueint, 2002);
    cJSON_Delete(j);

    /* Bad queries say what is wrong. */
    assert_error(get(&f, "/v1/packets?state=FLYING"), 400, "state");
    assert_error(get(&f, "/v1/packets?limit=0"), 400, "limit");
    assert_error(get(&f, "/v1/packets?limit=1001"), 400, "limit");
    assert_error(get(&f, "/v1/packets?src=-1"), 400, "src");
    assert_error(get(&f, "/v1/packets?dst=gamma"), 400, "dst");
    assert_error(get(&f, "/v1/packets?colour=red"), 400, "unknown query parameter");
    assert_error(get(&f, "/v1/packets?sequence=1"), 400, "with src");
    assert_error(get(&f, "/v1/packets?pending=maybe"), 400, "pending");
    fx_teardown(&f);
}

static void retry_needs_the_token(void **state)
{
    struct fx f;
    fx_setup(&f, TOKEN, 0);
    send_event(&f, &f.a, 2002, 1);
    send_event(&f, &f.a, 2002, 2);
    /* Parked from DELIVERING, as after retries ran out. */
    assert_int_equal(engine_test_set_state(f.engine, 1001, 1, PACKET_DELIVERING, "test: delivering"), FERRY_OK);
    assert_int_equal(store_flush(f.store), FERRY_OK);
    assert_int_equal(engine_test_set_state(f.engine, 1001, 1, PACKET_PARKED, "test: parked"), FERRY_OK);
    assert_int_equal(store_flush(f.store), FERRY_OK);
    cJSON *j = ht_json(get(&f, "/v1/packets/1001/1"));
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "PARKED");
    cJSON_Delete(j);

    assert_error(req(&f, "POST", "/v1/packets/1001/1/retry", NULL, NULL, 0, false), 401, "Bearer");
    assert_error(req(&f, "POST", "/v1/packets/1001/1/retry", "Bearer wrong", NULL, 0, false), 401, "wrong");
    assert_error(req(&f, "POST", "/v1/packets/1001/1/retry", "Bearer " TOKEN "x", NULL, 0, false), 401, "wrong");
    assert_error(req(&f, "POST", "/v1/packets/1001/1/retry", TOKEN, NULL, 0, false), 401, "wrong");
    j = ht_json(get(&f, "/v1/packets/1001/1"));
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "PARKED"); /* nothing changed */
    cJSON_Delete(j);

    struct ht_reply *r = req(&f, "POST", "/v1/packets/alpha/1/retry", "Bearer " TOKEN, "{}", 2, false);
    assert_int_equal(r->status, 200);
    j = ht_json(r);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "retrying");
    cJSON_Delete(j);
    j = ht_json(get(&f, "/v1/packets/1001/1"));
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "DELIVERING");
    cJSON_Delete(j);

    assert_error(req(&f, "POST", "/v1/packets/1001/2/retry", "Bearer " TOKEN, NULL, 0, false), 409, "not parked");
    assert_error(req(&f, "POST", "/v1/packets/1001/99/retry", "Bearer " TOKEN, NULL, 0, false), 404, "no packet");
    fx_teardown(&f);
}

static void no_token_refuses_writes(void **state)
{
    struct fx f;
    fx_setup(&f, NULL, 0);
    assert_error(req(&f, "POST", "/v1/packets/1001/1/retry", "Bearer ", NULL, 0, false), 403, "no API token");
    assert_error(req(&f, "POST", "/v1/packets/1001/1/retry", NULL, NULL, 0, false), 403, "no API token");
    assert_int_equal(get(&f, "/healthz")->status, 200); /* reads still work */
    fx_teardown(&f);
}

static void body_cap(void **state)
{
    struct fx f;
    fx_setup(&f, TOKEN, 1024);
    static char big[200 * 1024];
    memset(big, 'x', sizeof big);
    assert_error(req(&f, "POST", "/v1/packets/1001/1/retry", "Bearer " TOKEN, big, sizeof big, false), 413,
                 "larger than 1024");
    assert_error(req(&f, "POST", "/v1/packets/1001/1/retry", "Bearer " TOKEN, big, 2000, true), 413,
                 "larger than 1024");
    /* At the cap is fine (and reaches the handler: no such packet). */
    assert_error(req(&f, "POST", "/v1/packets/1001/1/retry", "Bearer " TOKEN, big, 1024, false), 404, "no packet");
    /* An unauthenticated oversized request is refused for the token first, body unread. */
    assert_error(req(&f, "POST", "/v1/packets/1001/1/retry", NULL, big, sizeof big, false), 401, "Bearer");
    fx_teardown(&f);
}

/* ---- ferry packets, against this API and then against the store it leaves ---- */

static char ferry_bin[512];

/* Runs `ferry packets ARGS... --config cfg` with stdout to out_path, serving the API (when f is given)
 * until it exits; returns its exit status. */
static int run_packets(struct fx *f, const char *cfg, const char *out_path, const char *const *args)
{
    const char *argv[16] = {ferry_bin, "packets", "--config", cfg};
    tu_argv(argv, 16, 4, args);
    return tu_wait_exit(tu_spawn(argv, out_path, NULL), f ? f->loop : NULL);
}

static void assert_listing(const char *path, const char *source, const char *keys)
{
    cJSON *j = tu_read_json(path);
    assert_string_equal(cJSON_GetObjectItem(j, "source")->valuestring, source);
    char got[256] = "";
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "packets"))
    {
        size_t l = strlen(got);
        snprintf(got + l, sizeof got - l, "%s%d/%d", l ? " " : "", cJSON_GetObjectItem(r, "src")->valueint,
                 cJSON_GetObjectItem(r, "seq")->valueint);
    }
    assert_string_equal(got, keys);
    cJSON_Delete(j);
}

static void cli_packets(void **state)
{
    if (!tu_ferry_bin(ferry_bin, sizeof ferry_bin))
        skip();
    char dir[] = "/tmp/ferry-test-api-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char data[600], cfgp[600], out[600], cmd[700];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(cfgp, sizeof cfgp, "%s/ferry.json", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    struct fx f;
    fx_setup_at(&f, TOKEN, 0, data);
    send_event(&f, &f.a, 2002, 2);
    send_event(&f, &f.a, 2002, 1);
    send_event(&f, &f.b, 1001, 1);

    /* A config naming this API and store: the devnet template with chains alpha=1001, beta=2002. */
    cJSON *cfg = tu_read_json("config/devnet.template.json");
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)api_port(f.api));
    cJSON_ReplaceItemInObject(cfg, "data_dir", cJSON_CreateString(data));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cfg, "api"), "listen", cJSON_CreateString(listen));
    cJSON *chains = cJSON_GetObjectItem(cfg, "chains");
    cJSON_DeleteItemFromArray(chains, 2);
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(chains, 0), "chain_id", cJSON_CreateNumber(1001));
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(chains, 1), "chain_id", cJSON_CreateNumber(2002));
    char *s = cJSON_Print(cfg);
    FILE *fp = fopen(cfgp, "w");
    assert_non_null(fp);
    fputs(s, fp);
    fclose(fp);
    free(s);
    cJSON_Delete(cfg);

    /* Through the API. */
    assert_int_equal(run_packets(&f, cfgp, out, (const char *const[]){"--json", NULL}), 0);
    assert_listing(out, "api", "1001/1 1001/2 2002/1");
    assert_int_equal(run_packets(&f, cfgp, out, (const char *const[]){"--json", "--chain", "beta", "--pending", NULL}), 0);
    assert_listing(out, "api", "1001/1 1001/2 2002/1");
    assert_int_equal(run_packets(&f, cfgp, out, (const char *const[]){"--json", "--state", "acked", NULL}), 0);
    assert_listing(out, "api", "");
    assert_int_equal(run_packets(&f, cfgp, out, (const char *const[]){NULL}), 0);
    char *text = tu_read_file(out, NULL);
    if (!strstr(text, "SRC") || !strstr(text, "TIMEOUT IN") || !strstr(text, "alpha") || !strstr(text, "SENT") ||
        (!strstr(text, "1h00m") && !strstr(text, "59m")))
        fail_msg("unexpected table:\n%s", text);
    free(text);
    assert_int_equal(run_packets(&f, cfgp, out, (const char *const[]){"--chain", "nope", NULL}), 2);

    /* The daemon is gone: the same listing from the store. */
    fx_teardown(&f);
    assert_int_equal(run_packets(NULL, cfgp, out, (const char *const[]){"--json", NULL}), 0);
    assert_listing(out, "store", "1001/1 1001/2 2002/1");
    assert_int_equal(run_packets(NULL, cfgp, out, (const char *const[]){"--json", "--chain", "alpha", NULL}), 0);
    assert_listing(out, "store", "1001/1 1001/2 2002/1");
    assert_int_equal(run_packets(NULL, cfgp, out, (const char *const[]){"--json", "--state", "SENT", NULL}), 0);
    assert_listing(out, "store", "1001/1 1001/2 2002/1");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- ferry start: the daemon's life, with the stub family standing in for evm ---- */

static const struct chain_ops *stub_family(const char *kind) { return !strcmp(kind, "evm") ? &stub_ops : NULL; }
static const struct chain_ops *no_family(const char *kind) { return NULL; }

static int ready_fd = -1;
static void on_ready(void *ud, unsigned port)
{
    ssize_t w = write(ready_fd, &port, sizeof port);
    (void)w;
}

/* A port nobody listens on right now (bound and released: a small race, fine for a test). */
static unsigned free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t l = sizeof sin;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &l), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

/* A devnet-shaped config in dir: 2 stub chains, keys made here under a password file. */
static void write_daemon_config(const char *dir, const char *password)
{
    char path[700], keys[600];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    assert_int_equal(keystore_dir_create(keys), FERRY_OK);
    struct signer *sg;
    assert_int_equal(signer_new(&sg), FERRY_OK);
    static const char *const key_names[] = {"dev-attester-7", "dev-attester-8", "dev-attester-9", "dev-submitter"};
    cJSON *addrs = cJSON_CreateArray();
    for (int i = 0; i < 4; i++) {
        assert_int_equal(signer_generate(sg, key_names[i]), FERRY_OK);
        struct keystore ks;
        struct keystore_params kp = {.kdf = KEYSTORE_SCRYPT, .n = 1024, .r = 8, .p = 1};
        assert_int_equal(signer_export_keystore(sg, key_names[i], password, strlen(password), &kp, &ks), FERRY_OK);
        assert_int_equal(keystore_write_file(keys, key_names[i], &ks), FERRY_OK);
        uint8_t a[ADDRESS_LEN];
        char hex[ADDRESS_STR];
        assert_int_equal(signer_address(sg, key_names[i], a), FERRY_OK);
        address_to_checksum(hex, a);
        if (i < 3)
            cJSON_AddItemToArray(addrs, cJSON_CreateString(hex));
    }
    signer_free(sg);
    snprintf(path, sizeof path, "%s/password", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%s\n", password);
    fclose(fp);
    snprintf(path, sizeof path, "%s/token", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%s\n", TOKEN);
    fclose(fp);

    cJSON *cfg = tu_read_json("config/devnet.template.json");
    char v[700];
    snprintf(v, sizeof v, "%s/data", dir);
    cJSON_ReplaceItemInObject(cfg, "data_dir", cJSON_CreateString(v));
    cJSON_ReplaceItemInObject(cfg, "log_level", cJSON_CreateString("warn"));
    cJSON *ks = cJSON_GetObjectItem(cfg, "keystore");
    cJSON_ReplaceItemInObject(ks, "dir", cJSON_CreateString(keys));
    snprintf(v, sizeof v, "%s/password", dir);
    cJSON_ReplaceItemInObject(ks, "password_file", cJSON_CreateString(v));
    cJSON *api = cJSON_GetObjectItem(cfg, "api");
    snprintf(v, sizeof v, "127.0.0.1:%u", free_port());
    cJSON_ReplaceItemInObject(api, "listen", cJSON_CreateString(v));
    snprintf(v, sizeof v, "%s/token", dir);
    cJSON_ReplaceItemInObject(api, "token_file", cJSON_CreateString(v));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cfg, "attesters"), "addresses", addrs);
    cJSON_DeleteItemFromArray(cJSON_GetObjectItem(cfg, "chains"), 2);
    char *s = cJSON_Print(cfg);
    snprintf(path, sizeof path, "%s/ferry.json", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(s, fp);
    fclose(fp);
    free(s);
    cJSON_Delete(cfg);
}

/* A blocking GET/POST from the parent (the daemon runs in a child). */
static long http(const char *method, const char *url, const char *auth, char *body, size_t cap)
{
    struct ht_reply *r = calloc(1, sizeof *r);
    assert_non_null(r);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ht_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    struct curl_slist *h = NULL;
    char ah[256];
    if (auth) {
        snprintf(ah, sizeof ah, "Authorization: %s", auth);
        h = curl_slist_append(h, ah);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    size_t k = r->len < cap - 1 ? r->len : cap - 1;
    memcpy(body, r->body, k);
    body[k] = 0;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(r);
    return status;
}

static void daemon_lifecycle(void **state)
{
    char dir[] = "/tmp/ferry-test-daemon-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_daemon_config(dir, "pw for the daemon test");
    char cfgp[700], body[4096], url[128], cmd[700];
    snprintf(cfgp, sizeof cfgp, "%s/ferry.json", dir);

    /* Without the family: every chain is reported, nothing is opened, no store is created. */
    FILE *err = tmpfile();
    assert_non_null(err);
    struct daemon_options o = {.config_path = cfgp, .err = err, .family = no_family};
    assert_int_equal(daemon_run(&o), FERRY_EINVAL);
    rewind(err);
    size_t n = fread(body, 1, sizeof body - 1, err);
    body[n] = 0;
    fclose(err);
    if (!strstr(body, "chains[0]: chain family evm not available") ||
        !strstr(body, "chains[1]: chain family evm not available"))
        fail_msg("unexpected report:\n%s", body);
    snprintf(cmd, sizeof cmd, "%s/data", dir);
    assert_int_equal(access(cmd, F_OK), -1);

    /* The daemon in a child: serves, then stops cleanly on SIGTERM with exit 0. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        ready_fd = p[1];
        struct daemon_options co = {.config_path = cfgp, .family = stub_family, .ready = on_ready};
        _exit(daemon_run(&co) == FERRY_OK ? 0 : 1);
    }
    close(p[1]);
    unsigned port = 0;
    ssize_t got = read(p[0], &port, sizeof port);
    close(p[0]);
    if (got != (ssize_t)sizeof port) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("the daemon did not come up");
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%u/healthz", port);
    assert_int_equal(http("GET", url, NULL, body, sizeof body), 200);
    assert_non_null(strstr(body, "\"status\":\"ok\""));
    assert_non_null(strstr(body, "\"name\":\"alpha\""));
    assert_non_null(strstr(body, "\"head\":100"));
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/packets?src=alpha", port);
    assert_int_equal(http("GET", url, NULL, body, sizeof body), 200);
    assert_non_null(strstr(body, "\"packets\":[]"));
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/packets/alpha/1/retry", port);
    assert_int_equal(http("POST", url, "Bearer nope", body, sizeof body), 401);
    assert_int_equal(http("POST", url, "Bearer " TOKEN, body, sizeof body), 404); /* token from token_file */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", port);
    assert_int_equal(http("GET", url, NULL, body, sizeof body), 200);
    assert_int_equal(kill(pid, SIGTERM), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* The store it left opens again (no lock held, schema in place). */
    struct store *st;
    snprintf(cmd, sizeof cmd, "%s/data", dir);
    assert_int_equal(store_open(&st, "leveldb", cmd), FERRY_OK);
    assert_int_equal(store_close(st), FERRY_OK);

    /* A wrong keystore password stops it at the keys, with the key named. */
    snprintf(cmd, sizeof cmd, "%s/password", dir);
    FILE *fp = fopen(cmd, "w");
    fputs("not the password\n", fp);
    fclose(fp);
    err = tmpfile();
    struct daemon_options w = {.config_path = cfgp, .err = err, .family = stub_family};
    assert_int_equal(daemon_run(&w), FERRY_EAUTH);
    rewind(err);
    n = fread(body, 1, sizeof body - 1, err);
    body[n] = 0;
    fclose(err);
    if (!strstr(body, "loading keys") || !strstr(body, "dev-attester-7"))
        fail_msg("unexpected report:\n%s", body);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    if (sodium_init() < 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_comparison),       cmocka_unit_test(routes_and_methods),
        cmocka_unit_test(healthz),                cmocka_unit_test(metrics_text),
        cmocka_unit_test(packets_listing),        cmocka_unit_test(retry_needs_the_token),
        cmocka_unit_test(no_token_refuses_writes), cmocka_unit_test(body_cap),
        cmocka_unit_test(cli_packets),            cmocka_unit_test(daemon_lifecycle),
    };
    int rc = TU_RUN(tests);
    curl_global_cleanup();
    return rc;
}
