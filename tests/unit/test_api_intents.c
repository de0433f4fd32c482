/* The intent, chain and event routes of the HTTP API, through libcurl on the same loop, against a
 * real orchestrator over the in-memory store (its chains are stubs that never answer: the
 * intents stay where the API puts them, PENDING or CANCELLED, which is all these routes need).
 * Also the strict parsers of outside input (Last-Event-ID, intent ids) and the SSE formatting. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "ferry/address.h"
#include "ferry/api.h"
#include "ferry/buf.h"
#include "ferry/hex.h"
#include "ferry/loop.h"
#include "ferry/orch.h"
#include "ferry/signer.h"
#include "ferry/store.h"
#include "httptest.h"
#include "testutil.h"

#define TOKEN "intent-token-for-tests"
#define AUTH "Bearer " TOKEN
#define TOKEN_A "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"
#define RECIPIENT "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"

/* ---- stub chains: known to the orchestrator, never answering ---- */

struct chain {
    uint64_t id;
    const char *name;
    size_t submits;
    bool refuse; /* every submission fails at once */
    /* query_intent answers "not opened here" on a later turn (one question at a time) */
    struct loop *loop;
    struct loop_defer answer;
    chain_intent_cb cb;
    void *cb_ud;
};

static enum ferry_err st_open(struct chain **out, const cJSON *config, const struct chain_env *env)
{
    return ferry_fail(FERRY_EUNSUPPORTED, "stub");
}
static int st_check(const cJSON *c, void (*problem)(void *, const char *, const char *), void *ud) { return 0; }
static enum ferry_err st_start(struct chain *c) { return FERRY_OK; }
static void st_stop(struct chain *c) {}
static void st_close(struct chain *c) {}
static uint64_t st_id(const struct chain *c) { return c->id; }
static const char *st_name(const struct chain *c) { return c->name; }
static struct chain_head st_head(const struct chain *c)
{
    uint64_t now = (uint64_t)time(NULL);
    return (struct chain_head){.number = 100, .timestamp = now, .confirmed = 98, .confirmed_timestamp = now - 2};
}
static void st_packet_id(const struct packet *p, uint8_t out[32]) { memset(out, 0, 32); }
static enum ferry_err st_digest(struct chain *c, enum chain_attest_kind kind, const struct packet *p,
                                const struct packet_ack *ack, uint64_t proof, uint8_t out[32])
{
    return ferry_fail(FERRY_EUNSUPPORTED, "stub");
}
static enum ferry_err st_submit(struct chain *c, const char *id, const struct chain_call *call)
{
    c->submits++;
    if (c->refuse)
        return ferry_fail(FERRY_EIO, "stub: the node refuses the transaction");
    return FERRY_OK; /* stays pending forever */
}
static enum chain_submission_state st_submission(struct chain *c, const char *id, struct chain_submission *out)
{
    memset(out, 0, sizeof *out);
    return CHAIN_SUB_PENDING;
}
static enum ferry_err st_received(struct chain *c, uint64_t src, uint64_t seq, chain_received_cb cb, void *ud)
{
    return ferry_fail(FERRY_EIO, "stub: not connected");
}
static enum ferry_err st_pending(struct chain *c, uint64_t seq, chain_pending_cb cb, void *ud)
{
    return ferry_fail(FERRY_EIO, "stub: not connected");
}
static void st_answer(struct loop_defer *d, void *ud)
{
    struct chain *c = ud;
    chain_intent_cb cb = c->cb;
    c->cb = NULL;
    struct chain_intent_result r = {.status = CHAIN_ISTATUS_NONE, .block_number = 98,
                                    .block_timestamp = (uint64_t)time(NULL)};
    cb(c->cb_ud, FERRY_OK, &r);
}
static enum ferry_err st_query_intent(struct chain *c, const uint8_t id[32], chain_intent_cb cb, void *ud)
{
    if (!c->loop || c->cb)
        return ferry_fail(FERRY_EIO, "stub: not connected");
    c->cb = cb;
    c->cb_ud = ud;
    loop_defer(&c->answer);
    return FERRY_OK;
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
    .query_intent = st_query_intent,
    .events_done = st_events_done,
    .resume = st_resume,
    .status = st_status,
};

/* ---- the fixture ---- */

struct fx {
    struct loop *loop;
    struct store *store;
    struct signer *signer;
    struct orch *orch;
    struct api *api;
    struct chain alpha, beta;
    struct intent_chain_info info[2];
    uint8_t owner[ADDRESS_LEN];
    char owner_hex[ADDRESS_STR];
    char base[64];
    uint64_t notified; /* the last id the orchestrator said was durable */
};

static const struct api_chain_name names[] = {{"alpha", 1001}, {"beta", 2002}};

static cJSON *fx_health(void *ud, bool *healthy)
{
    *healthy = true;
    cJSON *arr = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", "alpha");
    cJSON_AddNumberToObject(o, "head", 100);
    cJSON_AddItemToArray(arr, o);
    return arr;
}

/* The daemon's wiring: the orchestrator starts before the API, so it goes through the fixture. */
static void on_journal(void *ud, uint64_t last_id)
{
    struct fx *f = ud;
    f->notified = last_id;
    api_events_notify(f->api, last_id);
}

struct fx_opts {
    const char *token;
    size_t max_body;
    bool no_orch;
    unsigned sse_max;
    unsigned keepalive_ms;
    uint32_t retry_limit;
};

static void fx_setup_opts(struct fx *f, const struct fx_opts *o)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(loop_new(&f->loop), FERRY_OK);
    assert_int_equal(store_open(&f->store, "mem", NULL), FERRY_OK);
    assert_int_equal(signer_new(&f->signer), FERRY_OK);
    uint8_t sk[32];
    memset(sk, 0x42, sizeof sk);
    assert_int_equal(signer_add_secret(f->signer, "owner", sk), FERRY_OK);
    assert_int_equal(signer_address(f->signer, "owner", f->owner), FERRY_OK);
    address_to_checksum(f->owner_hex, f->owner);
    f->alpha = (struct chain){.id = 1001, .name = "alpha", .loop = f->loop};
    f->beta = (struct chain){.id = 2002, .name = "beta", .loop = f->loop};
    loop_defer_init(f->loop, &f->alpha.answer, st_answer, &f->alpha);
    loop_defer_init(f->loop, &f->beta.answer, st_answer, &f->beta);
    f->info[0] = (struct intent_chain_info){.name = "alpha", .chain_id = 1001, .block_time_ms = 1000, .confirmations = 2};
    f->info[1] = (struct intent_chain_info){.name = "beta", .chain_id = 2002, .block_time_ms = 1000, .confirmations = 2};
    memset(f->info[0].router, 0xa1, ADDRESS_LEN);
    memset(f->info[1].router, 0xb2, ADDRESS_LEN);
    if (!o->no_orch) {
        struct orch_config oc;
        orch_config_default(&oc);
        oc.store = f->store;
        oc.dir = (struct intent_dir){f->info, 2};
        oc.notify = on_journal;
        oc.notify_ud = f;
        if (o->retry_limit)
            oc.retry_limit = o->retry_limit;
        assert_int_equal(orch_new(&f->orch, &oc), FERRY_OK);
        assert_int_equal(orch_add_chain(f->orch, &stub_ops, &f->alpha), FERRY_OK);
        assert_int_equal(orch_add_chain(f->orch, &stub_ops, &f->beta), FERRY_OK);
        assert_int_equal(orch_start(f->orch, (uint64_t)time(NULL)), FERRY_OK);
    }
    struct api_config ac = {
        .loop = f->loop,
        .store = f->store,
        .host = "127.0.0.1",
        .token = o->token,
        .max_body = o->max_body,
        .chains = names,
        .n_chains = 2,
        .health = fx_health,
        .health_ud = f,
        .orch = f->orch,
        .sse_max_clients = o->sse_max,
        .sse_keepalive_ms = o->keepalive_ms,
    };
    assert_int_equal(api_start(&f->api, &ac), FERRY_OK);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", (unsigned)api_port(f->api));
}

static void fx_setup(struct fx *f) { fx_setup_opts(f, &(struct fx_opts){.token = TOKEN}); }

/* One loop turn, as the daemon runs it: the store commits at the end (group commit). */
static void turn(struct fx *f, int64_t wait_ms)
{
    assert_int_equal(loop_run_once(f->loop, wait_ms), FERRY_OK);
    assert_int_equal(store_flush(f->store), FERRY_OK);
}

static void fx_teardown(struct fx *f)
{
    loop_defer_cancel(&f->alpha.answer);
    loop_defer_cancel(&f->beta.answer);
    api_stop(f->api);
    f->api = NULL;
    assert_int_equal(store_flush(f->store), FERRY_OK);
    orch_free(f->orch);
    assert_int_equal(store_close(f->store), FERRY_OK);
    signer_free(f->signer);
    loop_free(f->loop);
}

/* ---- an HTTP client on the same loop ---- */

static struct ht_reply *req_len(struct fx *f, const char *method, const char *path, const char *auth, const char *body,
                                size_t body_len)
{
    return ht_request(f->loop, f->store, f->base, method, path, auth, body, body_len, HT_NO_EXPECT);
}

static struct ht_reply *req(struct fx *f, const char *method, const char *path, const char *auth, const char *body)
{
    return req_len(f, method, path, auth, body, body ? strlen(body) : 0);
}

static struct ht_reply *get(struct fx *f, const char *path) { return req(f, "GET", path, NULL, NULL); }

static const char *str(const cJSON *j, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!cJSON_IsString(m))
        fail_msg("no string \"%s\" in %s", name, cJSON_PrintUnformatted(j));
    return m->valuestring;
}

/* ---- intents ---- */

/* A one-hop intent alpha -> beta; nonce NULL: none (prepare picks one). */
static cJSON *sample_intent(const struct fx *f, const char *nonce)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"owner\":\"%s\",\"origin_chain\":\"alpha\",\"deadline\":%" PRIu64 ",%s%s%s\"refund\":\"origin\","
             "\"steps\":[{\"transfer\":{\"token\":\"" TOKEN_A "\",\"amount\":\"1000\",\"to_chain\":\"beta\","
             "\"recipient\":\"" RECIPIENT "\"}}]}",
             f->owner_hex, (uint64_t)time(NULL) + 7200, nonce ? "\"nonce\":\"" : "", nonce ? nonce : "",
             nonce ? "\"," : "");
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    return j;
}

static char *body_with(const char *name, cJSON *value, const char *sig)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddItemToObject(b, name, value);
    if (sig)
        cJSON_AddStringToObject(b, "signature", sig);
    char *s = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    return s;
}

struct prepared {
    char id[67];
    cJSON *intent; /* normalized */
    char sig[2 * 65 + 3];
};

/* POST /v1/intents/prepare, then signs the id as the owner's wallet would (v 27/28). */
static void prepare(struct fx *f, const char *nonce, struct prepared *p)
{
    char *body = body_with("intent", sample_intent(f, nonce), NULL);
    struct ht_reply *r = req(f, "POST", "/v1/intents/prepare", NULL, body);
    free(body);
    if (r->status != 200)
        fail_msg("prepare: %ld %s", r->status, r->body);
    cJSON *j = ht_json(r);
    snprintf(p->id, sizeof p->id, "%s", str(j, "intent_id"));
    p->intent = cJSON_DetachItemFromObject(j, "intent");
    assert_true(cJSON_IsObject(p->intent));
    const cJSON *td = cJSON_GetObjectItemCaseSensitive(j, "typed_data");
    assert_true(cJSON_IsObject(td));
    assert_string_equal(str(td, "primaryType"), "Intent");
    cJSON_Delete(j);
    uint8_t id[32], sig[65];
    assert_true(api_parse_intent_id(p->id, id));
    assert_int_equal(signer_sign_digest(f->signer, "owner", id, sig), FERRY_OK);
    sig[64] += 27;
    hex_encode(p->sig, sig, 65, true);
}

static struct ht_reply *submit(struct fx *f, const struct prepared *p, const char *auth)
{
    char *body = body_with("intent", cJSON_Duplicate(p->intent, true), p->sig);
    struct ht_reply *r = req(f, "POST", "/v1/intents", auth, body);
    free(body);
    return r;
}

/* Submits and checks the 202. */
static void submitted(struct fx *f, const char *nonce, struct prepared *p)
{
    prepare(f, nonce, p);
    struct ht_reply *r = submit(f, p, AUTH);
    if (r->status != 202)
        fail_msg("submit: %ld %s", r->status, r->body);
    cJSON *j = ht_json(r);
    assert_string_equal(str(j, "intent_id"), p->id);
    assert_string_equal(str(j, "state"), "PENDING");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "existing"));
    cJSON_Delete(j);
}

/* Pauses the origin chain so that submitted intents stay PENDING (no open goes out) and a cancel
 * finishes at once. */
static void hold_opens(struct fx *f)
{
    struct ht_reply *r = req(f, "POST", "/v1/chains/alpha/pause", AUTH, NULL);
    if (r->status != 200)
        fail_msg("pause: %ld %s", r->status, r->body);
}

static size_t count_listed(struct fx *f, const char *query)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/intents%s", query);
    struct ht_reply *r = get(f, path);
    if (r->status != 200)
        fail_msg("%s: %ld %s", path, r->status, r->body);
    cJSON *j = ht_json(r);
    size_t n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "intents"));
    cJSON_Delete(j);
    return n;
}

/* ---- tests: parsers ---- */

static void parsers(void **state)
{
    uint64_t v;
    assert_true(api_parse_event_id("0", &v) && v == 0);
    assert_true(api_parse_event_id("18446744073709551615", &v) && v == UINT64_MAX);
    const char *bad[] = {"", "-1", "+1", " 1", "1 ", "01", "0x10", "18446744073709551616", "1e3", "１", NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_false(api_parse_event_id(bad[i], &v));
    assert_false(api_parse_event_id(NULL, &v));

    uint8_t id[32];
    char good[67] = "0x";
    memset(good + 2, 'A', 64);
    good[66] = 0;
    assert_true(api_parse_intent_id(good, id));
    assert_int_equal(id[0], 0xaa);
    good[10] = 'g';
    assert_false(api_parse_intent_id(good, id));
    good[10] = 'a';
    good[1] = 'X';
    assert_false(api_parse_intent_id(good, id)); /* one spelling of the prefix */
    good[1] = 'x';
    good[65] = 0;
    assert_false(api_parse_intent_id(good, id)); /* 63 digits */
    assert_false(api_parse_intent_id("0x", id));
    assert_false(api_parse_intent_id(NULL, id));
}

static void sse_format(void **state)
{
    struct fbuf b;
    fbuf_init(&b, 4096);
    bool m;
    const char *e1 = "{\n \"id\": 7, \"kind\": \"hop\", \"intent_id\": \"0x" "aa" "\", \"reason\": \"a\\nb\"}";
    assert_int_equal(api_sse_format(&b, 7, e1, strlen(e1), NULL, &m), FERRY_OK);
    assert_true(m);
    assert_string_equal((char *)b.data,
                        "id: 7\nevent: hop\ndata: {\"id\":7,\"kind\":\"hop\",\"intent_id\":\"0xaa\",\"reason\":\"a\\nb\"}\n\n");
    /* Filtered out, malformed, unknown kind: nothing appended. */
    size_t len = b.len;
    uint8_t filter[32];
    memset(filter, 0xaa, 32);
    assert_int_equal(api_sse_format(&b, 8, e1, strlen(e1), filter, &m), FERRY_OK);
    assert_false(m);
    assert_int_equal(api_sse_format(&b, 8, "{\"kind\":\"x\"}", 12, NULL, &m), FERRY_EINVAL);
    assert_int_equal(api_sse_format(&b, 8, "[1]", 3, NULL, &m), FERRY_EINVAL);
    assert_int_equal(api_sse_format(&b, 8, "{\"kind\":", 8, NULL, &m), FERRY_EINVAL);
    assert_int_equal(b.len, len);
    /* An entry past the buffer's cap: refused whole. */
    struct fbuf small;
    fbuf_init(&small, 16);
    assert_int_equal(api_sse_format(&small, 1, "{\"kind\":\"intent\"}", 17, NULL, &m), FERRY_ENOMEM);
    assert_int_equal(small.len, 0);
    assert_false(m);
    fbuf_free(&small);
    /* The filter matches the id whatever the case of its digits. */
    char e2[200];
    snprintf(e2, sizeof e2, "{\"kind\":\"intent\",\"intent_id\":\"0x%064d\"}", 0);
    memset(filter, 0, 32);
    assert_int_equal(api_sse_format(&b, 9, e2, strlen(e2), filter, &m), FERRY_OK);
    assert_true(m);
    fbuf_free(&b);
}

/* ---- tests: without an orchestrator ---- */

static void without_orchestrator(void **state)
{
    struct fx f;
    fx_setup_opts(&f, &(struct fx_opts){.token = TOKEN, .no_orch = true});
    ht_assert_error(req(&f, "POST", "/v1/intents/prepare", NULL, "{\"intent\":{}}"), 503, "orchestrator", NULL);
    ht_assert_error(req(&f, "POST", "/v1/intents", AUTH, "{}"), 503, "orchestrator", NULL);
    char path[128];
    snprintf(path, sizeof path, "/v1/intents/0x%064d/retry", 0);
    ht_assert_error(req(&f, "POST", path, AUTH, NULL), 503, "orchestrator", NULL);
    ht_assert_error(req(&f, "POST", "/v1/chains/alpha/pause", AUTH, NULL), 503, "orchestrator", NULL);
    ht_assert_error(get(&f, "/v1/events"), 503, "orchestrator", NULL);
    /* Reads come from the store. */
    snprintf(path, sizeof path, "/v1/intents/0x%064d", 0);
    ht_assert_error(get(&f, path), 404, "no intent", NULL);
    assert_int_equal(count_listed(&f, ""), 0);
    struct ht_reply *r = get(&f, "/v1/chains");
    assert_int_equal(r->status, 200);
    cJSON *j = ht_json(r);
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "chains"), 0);
    assert_string_equal(str(c0, "name"), "alpha");
    assert_int_equal(cJSON_GetObjectItem(c0, "chain_id")->valueint, 1001);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(c0, "paused")));
    assert_int_equal(cJSON_GetObjectItem(c0, "head")->valueint, 100);
    const cJSON *c1 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "chains"), 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(c1, "head")));
    cJSON_Delete(j);
    fx_teardown(&f);
}

static void auth_and_caps(void **state)
{
    struct fx f;
    fx_setup(&f);
    ht_assert_error(req(&f, "POST", "/v1/intents", NULL, "{}"), 401, "Bearer", NULL);
    ht_assert_error(req(&f, "POST", "/v1/intents", "Bearer wrong", "{}"), 401, "wrong API token", NULL);
    ht_assert_error(req(&f, "POST", "/v1/chains/alpha/pause", NULL, NULL), 401, "Bearer", NULL);
    char path[128];
    snprintf(path, sizeof path, "/v1/intents/0x%064d/cancel", 0);
    ht_assert_error(req(&f, "POST", path, NULL, NULL), 401, "Bearer", NULL);
    ht_assert_error(req(&f, "DELETE", "/v1/intents", AUTH, NULL), 405, "not allowed", NULL);
    /* Over the body cap: refused from Content-Length, before the body is read. */
    size_t big = API_DEFAULT_MAX_BODY + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    ht_assert_error(req_len(&f, "POST", "/v1/intents", AUTH, huge, big), 413, "larger than", NULL);
    ht_assert_error(req_len(&f, "POST", "/v1/intents/prepare", NULL, huge, big), 413, "larger than", NULL);
    free(huge);
    fx_teardown(&f);

    fx_setup_opts(&f, &(struct fx_opts){.token = NULL});
    ht_assert_error(req(&f, "POST", "/v1/intents", AUTH, "{}"), 403, "no API token", NULL);
    ht_assert_error(req(&f, "POST", "/v1/chains/beta/resume", AUTH, NULL), 403, "no API token", NULL);
    fx_teardown(&f);
}

static void bad_bodies(void **state)
{
    struct fx f;
    fx_setup(&f);
    ht_assert_error(req(&f, "POST", "/v1/intents", AUTH, "not json"), 400, "expected a JSON object", "body");
    ht_assert_error(req(&f, "POST", "/v1/intents", AUTH, ""), 400, "empty body", "body");
    ht_assert_error(req(&f, "POST", "/v1/intents", AUTH, "{\"intent\":{},\"sig\":\"0x\"}"), 400, "unknown member",
                 "sig");
    ht_assert_error(req(&f, "POST", "/v1/intents/prepare", NULL, "{}"), 400, "missing", "intent");
    struct prepared p;
    prepare(&f, "77", &p);
    char *body = body_with("intent", cJSON_Duplicate(p.intent, true), NULL);
    ht_assert_error(req(&f, "POST", "/v1/intents", AUTH, body), 400, "missing", "signature");
    free(body);
    /* A bad step field: the error names it, and nothing is stored. */
    cJSON *bad = cJSON_Duplicate(p.intent, true);
    cJSON *transfer = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(bad, "steps"), 0), "transfer");
    cJSON_ReplaceItemInObject(transfer, "amount", cJSON_CreateString("12x"));
    body = body_with("intent", bad, p.sig);
    struct ht_reply *r = req(&f, "POST", "/v1/intents", AUTH, body);
    free(body);
    ht_assert_error(r, 400, "intent.steps[0].transfer.amount: ", "intent.steps[0].transfer.amount");
    /* A signature by somebody else. */
    char other[sizeof p.sig];
    memcpy(other, p.sig, sizeof other);
    other[10] = other[10] == '1' ? '2' : '1';
    body = body_with("intent", cJSON_Duplicate(p.intent, true), other);
    r = req(&f, "POST", "/v1/intents", AUTH, body);
    free(body);
    assert_int_equal(r->status, 400);
    body = body_with("intent", cJSON_Duplicate(p.intent, true), "0x1234");
    r = req(&f, "POST", "/v1/intents", AUTH, body);
    free(body);
    assert_int_equal(r->status, 400);
    assert_int_equal(count_listed(&f, ""), 0);
    char path[128];
    snprintf(path, sizeof path, "/v1/intents/%s", p.id);
    ht_assert_error(get(&f, path), 404, "no intent", NULL);
    /* Prepare checks too. */
    cJSON *it = sample_intent(&f, NULL);
    cJSON_ReplaceItemInObject(it, "origin_chain", cJSON_CreateString("nowhere"));
    body = body_with("intent", it, NULL);
    r = req(&f, "POST", "/v1/intents/prepare", NULL, body);
    free(body);
    assert_int_equal(r->status, 400);
    cJSON *j = ht_json(r);
    assert_string_equal(str(j, "field"), "intent.origin_chain");
    cJSON_Delete(j);
    cJSON_Delete(p.intent);
    fx_teardown(&f);
}

static void submit_and_get(void **state)
{
    struct fx f;
    fx_setup(&f);
    hold_opens(&f);
    struct prepared p;
    submitted(&f, "1", &p);
    /* The same again: 200, existing, nothing new. */
    struct ht_reply *r = submit(&f, &p, AUTH);
    assert_int_equal(r->status, 200);
    cJSON *j = ht_json(r);
    assert_string_equal(str(j, "intent_id"), p.id);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "existing")));
    cJSON_Delete(j);
    /* The record, from the store, with chain names. */
    char path[128];
    snprintf(path, sizeof path, "/v1/intents/%s", p.id);
    r = get(&f, path);
    assert_int_equal(r->status, 200);
    j = ht_json(r);
    assert_string_equal(str(j, "intent_id"), p.id);
    assert_string_equal(str(j, "state"), "PENDING");
    const cJSON *it = cJSON_GetObjectItem(j, "intent");
    assert_string_equal(str(it, "origin_chain"), "alpha");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "hops")), 1);
    cJSON_Delete(j);
    /* Upper-case hex names the same intent. */
    for (char *c = path + strlen("/v1/intents/0x"); *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    assert_int_equal(get(&f, path)->status, 200);
    snprintf(path, sizeof path, "/v1/intents/0x%064d", 5);
    ht_assert_error(get(&f, path), 404, "no intent", NULL);
    ht_assert_error(get(&f, "/v1/intents/0x1234"), 400, "64 hex digits", NULL);
    snprintf(path, sizeof path, "/v1/intents/0x%064d/retry", 5);
    ht_assert_error(req(&f, "POST", path, AUTH, NULL), 404, "no intent", NULL);
    /* Retry refused: not stuck. */
    snprintf(path, sizeof path, "/v1/intents/%s/retry", p.id);
    r = req(&f, "POST", path, AUTH, NULL);
    assert_int_equal(r->status, 409);
    /* Cancel while PENDING. */
    snprintf(path, sizeof path, "/v1/intents/%s/cancel", p.id);
    r = req(&f, "POST", path, AUTH, NULL);
    if (r->status != 200)
        fail_msg("cancel: %ld %s", r->status, r->body);
    j = ht_json(r);
    assert_string_equal(str(j, "intent_id"), p.id);
    assert_string_equal(str(j, "state"), "CANCELLED");
    cJSON_Delete(j);
    assert_int_equal(req(&f, "POST", path, AUTH, NULL)->status, 409);
    cJSON_Delete(p.intent);
    fx_teardown(&f);
}

/* Starts POST /v1/intents on the loop without waiting. */
static CURL *submit_start(struct fx *f, const struct prepared *p, struct ht_reply *r, struct loop_xfer *x,
                          struct curl_slist **h, char **body)
{
    memset(r, 0, sizeof *r);
    *body = body_with("intent", cJSON_Duplicate(p->intent, true), p->sig);
    char url[128];
    snprintf(url, sizeof url, "%s/v1/intents", f->base);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, *body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ht_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    *h = curl_slist_append(NULL, "Authorization: " AUTH);
    *h = curl_slist_append(*h, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *h);
    assert_int_equal(loop_xfer_start(f->loop, x, c, ht_on_done, r), FERRY_OK);
    /* Turns without the store's end-of-turn flush: the intent reaches the orchestrator, whose
     * batch then waits for the group commit. */
    uint64_t end = loop_clock_ms() + 5000;
    while (store_pending(f->store) == 0 && loop_clock_ms() < end)
        assert_int_equal(loop_run_once(f->loop, 20), FERRY_OK);
    assert_true(store_pending(f->store) > 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(loop_run_once(f->loop, 10), FERRY_OK);
    return c;
}

static void submit_waits_for_durability(void **state)
{
    struct fx f;
    fx_setup(&f);
    hold_opens(&f);
    struct prepared p[2];
    prepare(&f, "41", &p[0]);
    prepare(&f, "42", &p[1]);
    struct ht_reply r;
    struct loop_xfer x;
    struct curl_slist *h;
    char *body;
    CURL *c = submit_start(&f, &p[0], &r, &x, &h, &body);
    assert_false(r.done); /* not durable: no answer yet, and the loop turns */
    uint8_t id[32];
    assert_true(api_parse_intent_id(p[0].id, id));
    struct intent_record *rec = calloc(1, sizeof *rec);
    assert_int_equal(intent_record_load(f.store, id, rec), FERRY_ENOTFOUND);
    uint64_t end = loop_clock_ms() + 5000;
    while (!r.done && loop_clock_ms() < end)
        turn(&f, 20);
    assert_true(r.done);
    long code;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    assert_int_equal(code, 202);
    assert_int_equal(intent_record_load(f.store, id, rec), FERRY_OK); /* durable when answered */
    intent_record_clear(rec);
    free(rec);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(body);

    /* The API stops while a submission waits: it is answered 503, and the orchestrator's later
     * callback finds it detached. */
    c = submit_start(&f, &p[1], &r, &x, &h, &body);
    assert_false(r.done);
    api_stop(f.api);
    f.api = NULL;
    end = loop_clock_ms() + 5000;
    while (!r.done && loop_clock_ms() < end)
        assert_int_equal(loop_run_once(f.loop, 20), FERRY_OK);
    assert_true(r.done);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(code, 503);
    assert_non_null(strstr(r.body, "stopping"));
    assert_int_equal(store_flush(f.store), FERRY_OK);
    assert_true(api_parse_intent_id(p[1].id, id));
    rec = calloc(1, sizeof *rec);
    assert_int_equal(intent_record_load(f.store, id, rec), FERRY_OK);
    intent_record_clear(rec);
    free(rec);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(body);
    cJSON_Delete(p[0].intent);
    cJSON_Delete(p[1].intent);
    fx_teardown(&f);
}

static void retry_a_stuck_intent(void **state)
{
    struct fx f;
    fx_setup_opts(&f, &(struct fx_opts){.token = TOKEN, .retry_limit = 1});
    f.alpha.refuse = true;
    struct prepared p;
    submitted(&f, "51", &p);
    char path[160];
    snprintf(path, sizeof path, "/v1/intents/%s", p.id);
    cJSON *j = NULL;
    uint64_t end = loop_clock_ms() + 5000;
    for (;;) {
        assert_int_equal(orch_tick(f.orch, (uint64_t)time(NULL)), FERRY_OK);
        turn(&f, 10);
        j = ht_json(get(&f, path));
        if (!strcmp(str(j, "state"), "STUCK") || loop_clock_ms() > end)
            break;
        cJSON_Delete(j);
    }
    assert_string_equal(str(j, "state"), "STUCK");
    assert_non_null(strstr(str(j, "reason"), "open on alpha failed 1 times: stub: the node refuses"));
    cJSON_Delete(j);
    assert_true(f.alpha.submits >= 1);
    assert_int_equal(count_listed(&f, "?state=STUCK"), 1);
    /* Cancel is refused only once step 0 ran: a stuck open may still be cancelled, so retry first. */
    f.alpha.refuse = false;
    snprintf(path, sizeof path, "/v1/intents/%s/retry", p.id);
    struct ht_reply *r = req(&f, "POST", path, AUTH, NULL);
    if (r->status != 200)
        fail_msg("retry: %ld %s", r->status, r->body);
    j = ht_json(r);
    assert_string_equal(str(j, "intent_id"), p.id);
    assert_string_equal(str(j, "state"), "PENDING");
    cJSON_Delete(j);
    assert_int_equal(count_listed(&f, "?state=STUCK"), 0);
    /* Now it is not stuck: a second retry is a conflict. */
    ht_assert_error(req(&f, "POST", path, AUTH, NULL), 409, "", NULL);
    cJSON_Delete(p.intent);
    fx_teardown(&f);
}

static void listing(void **state)
{
    struct fx f;
    fx_setup(&f);
    hold_opens(&f);
    struct prepared p[3];
    submitted(&f, "11", &p[0]);
    submitted(&f, "12", &p[1]);
    submitted(&f, "13", &p[2]);
    char path[256];
    snprintf(path, sizeof path, "/v1/intents/%s/cancel", p[1].id);
    assert_int_equal(req(&f, "POST", path, AUTH, NULL)->status, 200);

    assert_int_equal(count_listed(&f, ""), 3);
    assert_int_equal(count_listed(&f, "?state=pending"), 2);
    assert_int_equal(count_listed(&f, "?state=CANCELLED"), 1);
    assert_int_equal(count_listed(&f, "?state=COMPLETED"), 0);
    assert_int_equal(count_listed(&f, "?pending=1"), 2);
    snprintf(path, sizeof path, "?owner=%s", f.owner_hex);
    assert_int_equal(count_listed(&f, path), 3);
    assert_int_equal(count_listed(&f, "?owner=" RECIPIENT), 0);
    assert_int_equal(count_listed(&f, "?chain=beta"), 3);
    assert_int_equal(count_listed(&f, "?chain=2002"), 3);
    snprintf(path, sizeof path, "?tx=0x%064d", 1);
    assert_int_equal(count_listed(&f, path), 0);
    ht_assert_error(get(&f, "/v1/intents?state=nope"), 400, "unknown intent state", "state");
    ht_assert_error(get(&f, "/v1/intents?owner=0x12"), 400, "address", "owner");
    ht_assert_error(get(&f, "/v1/intents?chain=nowhere"), 400, "chain", "chain");
    ht_assert_error(get(&f, "/v1/intents?tx=0x12"), 400, "hash", "tx");
    ht_assert_error(get(&f, "/v1/intents?limit=0"), 400, "limit", NULL);
    ht_assert_error(get(&f, "/v1/intents?sate=PENDING"), 400, "unknown query parameter", NULL);
    ht_assert_error(get(&f, "/v1/intents?state=PENDING&pending=1"), 400, "either", NULL);

    /* Pages of one: every intent once, in id order, then next is null. */
    char seen[3][67];
    char cursor[INTENT_CURSOR_MAX * 3] = "";
    char page_path[sizeof cursor + 64];
    size_t n = 0;
    for (int page = 0; page < 5; page++) {
        snprintf(page_path, sizeof page_path, "/v1/intents?limit=1%s%s", cursor[0] ? "&cursor=" : "", cursor);
        struct ht_reply *r = get(&f, page_path);
        assert_int_equal(r->status, 200);
        cJSON *j = ht_json(r);
        const cJSON *rec;
        cJSON_ArrayForEach(rec, cJSON_GetObjectItem(j, "intents"))
        {
            assert_true(n < 3);
            snprintf(seen[n++], 67, "%s", str(rec, "intent_id"));
        }
        const cJSON *next = cJSON_GetObjectItem(j, "next");
        if (cJSON_IsNull(next)) {
            cJSON_Delete(j);
            break;
        }
        char *esc = curl_easy_escape(NULL, next->valuestring, 0);
        snprintf(cursor, sizeof cursor, "%s", esc);
        curl_free(esc);
        cJSON_Delete(j);
    }
    assert_int_equal(n, 3);
    assert_true(strcmp(seen[0], seen[1]) < 0 && strcmp(seen[1], seen[2]) < 0);
    for (int i = 0; i < 3; i++)
        assert_true(!strcmp(seen[i], p[0].id) || !strcmp(seen[i], p[1].id) || !strcmp(seen[i], p[2].id));
    for (int i = 0; i < 3; i++)
        cJSON_Delete(p[i].intent);
    fx_teardown(&f);
}

static void pause_resume(void **state)
{
    struct fx f;
    fx_setup(&f);
    struct ht_reply *r = req(&f, "POST", "/v1/chains/beta/pause", AUTH, NULL);
    assert_int_equal(r->status, 200);
    cJSON *j = ht_json(r);
    assert_string_equal(str(j, "chain"), "beta");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "paused")));
    cJSON_Delete(j);
    assert_true(orch_chain_paused(f.orch, "beta"));
    assert_false(orch_chain_paused(f.orch, "alpha"));
    r = get(&f, "/v1/chains");
    j = ht_json(r);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "chains"), 0), "paused")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "chains"), 1), "paused")));
    cJSON_Delete(j);
    r = req(&f, "POST", "/v1/chains/2002/resume", AUTH, NULL); /* by id */
    assert_int_equal(r->status, 200);
    j = ht_json(r);
    assert_string_equal(str(j, "chain"), "beta");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "paused")));
    cJSON_Delete(j);
    assert_false(orch_chain_paused(f.orch, "beta"));
    ht_assert_error(req(&f, "POST", "/v1/chains/nowhere/pause", AUTH, NULL), 404, "nowhere", NULL);
    fx_teardown(&f);
}

/* ---- tests: events ---- */

/* A streaming GET /v1/events on the loop. */
struct stream {
    struct ht_reply r;
    CURL *c;
    struct curl_slist *h;
    struct loop_xfer x;
};

static void stream_open(struct fx *f, struct stream *s, const char *query, const char *last_event_id)
{
    memset(s, 0, sizeof *s);
    char url[512];
    snprintf(url, sizeof url, "%s/v1/events%s", f->base, query);
    s->c = curl_easy_init();
    curl_easy_setopt(s->c, CURLOPT_URL, url);
    curl_easy_setopt(s->c, CURLOPT_WRITEFUNCTION, ht_on_body);
    curl_easy_setopt(s->c, CURLOPT_WRITEDATA, &s->r);
    curl_easy_setopt(s->c, CURLOPT_NOSIGNAL, 1L);
    if (last_event_id) {
        char h[64];
        snprintf(h, sizeof h, "Last-Event-ID: %s", last_event_id);
        s->h = curl_slist_append(NULL, h);
        curl_easy_setopt(s->c, CURLOPT_HTTPHEADER, s->h);
    }
    assert_int_equal(loop_xfer_start(f->loop, &s->x, s->c, ht_on_done, &s->r), FERRY_OK);
}

static void stream_close(struct stream *s)
{
    if (!s->r.done)
        loop_xfer_cancel(&s->x);
    curl_slist_free_all(s->h);
    curl_easy_cleanup(s->c);
}

/* The ids of the events received so far, in order; checks each event's shape. */
static size_t stream_ids(const struct stream *s, uint64_t *ids, size_t cap, size_t *keepalives)
{
    size_t n = 0;
    if (keepalives)
        *keepalives = 0;
    const char *p = s->r.body;
    while (*p) {
        const char *end = strstr(p, "\n\n");
        if (!end)
            break; /* an event still arriving */
        if (!strncmp(p, ": keepalive", 11)) {
            if (keepalives)
                ++*keepalives;
        } else {
            unsigned long long id;
            char kind[16];
            int off = 0;
            if (sscanf(p, "id: %llu\nevent: %15[a-z]\ndata: %n", &id, kind, &off) != 2 || !off)
                fail_msg("not an event: %.*s", (int)(end - p), p);
            assert_true(!strcmp(kind, "intent") || !strcmp(kind, "hop"));
            cJSON *j = cJSON_ParseWithLength(p + off, (size_t)(end - p - off));
            assert_non_null(j);
            assert_int_equal((uint64_t)cJSON_GetObjectItem(j, "id")->valuedouble, id);
            assert_string_equal(str(j, "kind"), kind);
            cJSON_Delete(j);
            assert_true(n < cap);
            ids[n++] = id;
        }
        p = end + 2;
    }
    return n;
}

static void run_until_events(struct fx *f, struct stream *s, size_t want)
{
    uint64_t ids[256];
    uint64_t end = loop_clock_ms() + 10000;
    while (stream_ids(s, ids, 256, NULL) < want && !s->r.done && loop_clock_ms() < end)
        turn(f, 20);
    size_t got = stream_ids(s, ids, 256, NULL);
    if (got < want)
        fail_msg("%zu events, expected %zu; got: %s", got, want, s->r.body);
}

static void events_replay_and_live(void **state)
{
    struct fx f;
    fx_setup(&f);
    hold_opens(&f);
    struct prepared p[4];
    submitted(&f, "21", &p[0]);
    assert_true(f.notified >= 1);
    uint64_t before = f.notified;

    /* Replay from the start, then live. */
    struct stream s;
    stream_open(&f, &s, "", NULL);
    run_until_events(&f, &s, before);
    submitted(&f, "22", &p[1]);
    run_until_events(&f, &s, f.notified);
    uint64_t ids[256];
    size_t n = stream_ids(&s, ids, 256, NULL);
    assert_int_equal(n, f.notified);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], i + 1); /* every entry once, in order */
    long code;
    curl_easy_getinfo(s.c, CURLINFO_RESPONSE_CODE, &code);
    assert_int_equal(code, 200);
    char *ct = NULL;
    curl_easy_getinfo(s.c, CURLINFO_CONTENT_TYPE, &ct);
    assert_string_equal(ct, "text/event-stream");
    uint64_t last_seen = ids[n - 1];
    stream_close(&s);

    /* Disconnected: more happens. */
    submitted(&f, "23", &p[2]);
    char path[128];
    snprintf(path, sizeof path, "/v1/intents/%s/cancel", p[0].id);
    assert_int_equal(req(&f, "POST", path, AUTH, NULL)->status, 200);
    submitted(&f, "24", &p[3]);
    turn(&f, 0);
    uint64_t total = f.notified;
    assert_true(total >= last_seen + 3);

    /* Reconnect with Last-Event-ID: exactly the missed ones, once. */
    char lei[24];
    snprintf(lei, sizeof lei, "%" PRIu64, last_seen);
    stream_open(&f, &s, "", lei);
    run_until_events(&f, &s, total - last_seen);
    for (int i = 0; i < 5; i++)
        turn(&f, 20); /* nothing more may come */
    n = stream_ids(&s, ids, 256, NULL);
    assert_int_equal(n, total - last_seen);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], last_seen + 1 + i);
    stream_close(&s);

    /* ?after= does the same; ?intent= keeps one intent's entries. */
    stream_open(&f, &s, "?after=2", NULL);
    run_until_events(&f, &s, total - 2);
    n = stream_ids(&s, ids, 256, NULL);
    assert_int_equal(n, total - 2);
    assert_int_equal(ids[0], 3);
    stream_close(&s);
    char q[128];
    snprintf(q, sizeof q, "?intent=%s", p[0].id);
    stream_open(&f, &s, q, NULL);
    run_until_events(&f, &s, 2); /* PENDING, then CANCELLED */
    for (int i = 0; i < 5; i++)
        turn(&f, 20);
    n = stream_ids(&s, ids, 256, NULL);
    assert_int_equal(n, 2);
    assert_non_null(strstr(s.r.body, "\"to\":\"CANCELLED\""));
    assert_null(strstr(s.r.body, p[1].id));
    stream_close(&s);

    ht_assert_error(req(&f, "GET", "/v1/events?after=01", NULL, NULL), 400, "decimal event id", "after");
    ht_assert_error(req(&f, "GET", "/v1/events?intent=0x12", NULL, NULL), 400, "intent id", "intent");
    ht_assert_error(req(&f, "GET", "/v1/events?since=1", NULL, NULL), 400, "unknown query parameter", NULL);
    stream_open(&f, &s, "", "-1");
    uint64_t end = loop_clock_ms() + 5000;
    while (!s.r.done && loop_clock_ms() < end)
        turn(&f, 20);
    curl_easy_getinfo(s.c, CURLINFO_RESPONSE_CODE, &code);
    assert_int_equal(code, 400);
    assert_non_null(strstr(s.r.body, "\"field\":\"Last-Event-ID\""));
    stream_close(&s);
    for (int i = 0; i < 4; i++)
        cJSON_Delete(p[i].intent);
    fx_teardown(&f);
}

/* A raw client that sends its request and never reads. */
static int stalled_client(struct fx *f)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(api_port(f->api)),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    static const char rq[] = "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(write(fd, rq, sizeof rq - 1), (ssize_t)(sizeof rq - 1));
    return fd;
}

static void events_limits_and_keepalive(void **state)
{
    struct fx f;
    fx_setup_opts(&f, &(struct fx_opts){.token = TOKEN, .sse_max = 3, .keepalive_ms = 150});
    struct prepared p;
    submitted(&f, "31", &p);
    cJSON_Delete(p.intent);

    /* A client that never reads does not hold up the others. */
    int stalled = stalled_client(&f);
    struct stream s1, s2, s3;
    stream_open(&f, &s1, "", NULL);
    stream_open(&f, &s2, "", NULL);
    run_until_events(&f, &s1, 1);
    run_until_events(&f, &s2, 1);
    /* The fourth stream is refused while three are open. */
    stream_open(&f, &s3, "", NULL);
    uint64_t end = loop_clock_ms() + 5000;
    while (!s3.r.done && loop_clock_ms() < end)
        turn(&f, 20);
    long code;
    curl_easy_getinfo(s3.c, CURLINFO_RESPONSE_CODE, &code);
    assert_int_equal(code, 503);
    assert_non_null(strstr(s3.r.body, "too many event streams"));
    stream_close(&s3);
    /* Other routes answer. */
    assert_int_equal(get(&f, "/v1/chains")->status, 200);
    for (int i = 0; i < 20; i++) {
        char nonce[16];
        snprintf(nonce, sizeof nonce, "%d", 100 + i);
        submitted(&f, nonce, &p);
        cJSON_Delete(p.intent);
    }
    run_until_events(&f, &s1, f.notified);
    /* Keepalives come while nothing happens. */
    size_t ka = 0;
    uint64_t ids[256];
    end = loop_clock_ms() + 5000;
    while (loop_clock_ms() < end) {
        turn(&f, 20);
        stream_ids(&s2, ids, 256, &ka);
        if (ka >= 2)
            break;
    }
    assert_true(ka >= 2);
    assert_int_equal(stream_ids(&s2, ids, 256, NULL), f.notified);
    /* Closing a stream frees its place. */
    stream_close(&s1);
    stream_close(&s2);
    close(stalled);
    end = loop_clock_ms() + 5000;
    while (loop_clock_ms() < end) {
        turn(&f, 50);
        stream_open(&f, &s3, "?after=1", NULL);
        uint64_t until = loop_clock_ms() + 2000;
        while (!s3.r.done && stream_ids(&s3, ids, 256, NULL) < f.notified - 1 && loop_clock_ms() < until)
            turn(&f, 20);
        curl_easy_getinfo(s3.c, CURLINFO_RESPONSE_CODE, &code);
        size_t got = stream_ids(&s3, ids, 256, NULL);
        stream_close(&s3);
        if (code == 200) {
            assert_int_equal(got, f.notified - 1);
            break;
        }
    }
    assert_int_equal(code, 200);
    fx_teardown(&f);
}

static void count_submitted(void *ud, enum ferry_err err, const uint8_t id[32], enum intent_state state,
                            bool existed)
{
    assert_int_equal(err, FERRY_OK);
    ++*(size_t *)ud;
}

/* n intents straight through the orchestrator (quicker than HTTP when a test needs volume). */
static void submit_direct(struct fx *f, size_t n, size_t first_nonce)
{
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        char nonce[24], err[ORCH_ERR_MAX];
        snprintf(nonce, sizeof nonce, "%zu", first_nonce + i);
        cJSON *it = sample_intent(f, nonce), *out = NULL;
        assert_int_equal(orch_prepare(f->orch, it, (uint64_t)time(NULL), &out, err), FERRY_OK);
        cJSON_Delete(it);
        uint8_t id[32], sig[65];
        assert_true(api_parse_intent_id(str(out, "intent_id"), id));
        assert_int_equal(signer_sign_digest(f->signer, "owner", id, sig), FERRY_OK);
        sig[64] += 27;
        char hex[2 * 65 + 3];
        hex_encode(hex, sig, 65, true);
        assert_int_equal(orch_submit(f->orch, cJSON_GetObjectItem(out, "intent"), hex, (uint64_t)time(NULL),
                                     count_submitted, &done, err),
                         FERRY_OK);
        cJSON_Delete(out);
    }
    assert_int_equal(store_flush(f->store), FERRY_OK);
    assert_int_equal(done, n);
}

/* The ids of the complete events in text (an HTTP/1.1 chunked body: chunk sizes are lines of
 * their own, never "id: "). */
static size_t raw_ids(const char *text, uint64_t *ids, size_t cap)
{
    size_t n = 0;
    for (const char *p = strstr(text, "\nid: "); p && n < cap; p = strstr(p + 1, "\nid: ")) {
        unsigned long long id;
        if (sscanf(p, "\nid: %llu\n", &id) == 1 && strstr(p, "\n\n"))
            ids[n++] = id;
    }
    return n;
}

static void events_stalled_client_dropped(void **state)
{
    struct fx f;
    fx_setup_opts(&f, &(struct fx_opts){.token = TOKEN, .sse_max = 1, .keepalive_ms = 100});
    hold_opens(&f);
    int stalled = stalled_client(&f);
    /* Its stream takes the only place. */
    long code = 0;
    for (int i = 0; i < 50 && code != 503; i++) {
        turn(&f, 20);
        code = get(&f, "/v1/events?after=99999")->status;
    }
    assert_int_equal(code, 503);
    /* Far more than a socket holds; it never reads, so its buffer stops draining and it is
     * dropped, while the loop goes on answering. */
    uint64_t t0 = loop_clock_ms();
    submit_direct(&f, 1500, 1000);
    uint64_t total = f.notified;
    print_message("1500 intents submitted in %" PRIu64 " ms\n", loop_clock_ms() - t0);
    t0 = loop_clock_ms();
    struct stream s;
    uint64_t end = loop_clock_ms() + 10000;
    for (code = 503; code == 503 && loop_clock_ms() < end;) {
        turn(&f, 20);
        stream_open(&f, &s, "?after=0", NULL);
        uint64_t until = loop_clock_ms() + 3000;
        while (!s.r.done && s.r.len < 100 && loop_clock_ms() < until)
            turn(&f, 10);
        curl_easy_getinfo(s.c, CURLINFO_RESPONSE_CODE, &code);
        stream_close(&s);
    }
    assert_int_equal(code, 200);
    print_message("the stalled stream was dropped %" PRIu64 " ms later\n", loop_clock_ms() - t0);
    /* What it got before the drop is whole events 1..k: the rest comes on reconnecting. */
    fcntl(stalled, F_SETFL, O_NONBLOCK);
    static char got[8 << 20];
    size_t len = 0;
    for (;;) {
        ssize_t k = read(stalled, got + len, sizeof got - 1 - len);
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    got[len] = 0;
    close(stalled);
    static uint64_t ids[4096];
    size_t k = raw_ids(got, ids, 4096);
    assert_true(k < total);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(ids[i], i + 1);
    char lei[24];
    snprintf(lei, sizeof lei, "%zu", k);
    stream_open(&f, &s, "", lei);
    run_until_events(&f, &s, 1);
    static uint64_t after[4096];
    assert_true(stream_ids(&s, after, 4096, NULL) >= 1);
    assert_int_equal(after[0], k + 1);
    stream_close(&s);
    fx_teardown(&f);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    if (sodium_init() < 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parsers),
        cmocka_unit_test(sse_format),
        cmocka_unit_test(without_orchestrator),
        cmocka_unit_test(auth_and_caps),
        cmocka_unit_test(bad_bodies),
        cmocka_unit_test(submit_and_get),
        cmocka_unit_test(submit_waits_for_durability),
        cmocka_unit_test(retry_a_stuck_intent),
        cmocka_unit_test(listing),
        cmocka_unit_test(pause_resume),
        cmocka_unit_test(events_replay_and_live),
        cmocka_unit_test(events_limits_and_keepalive),
        cmocka_unit_test(events_stalled_client_dropped),
    };
    int rc = TU_RUN(tests);
    curl_global_cleanup();
    return rc;
}
