/* The log watcher (chains/evm/watch.c).
 *
 * Most tests run it against a fake node (fakerpc.h, programmable mode) that models a chain:
 * blocks with hashes and timestamps, and PacketSent logs of a Gateway, answered faithfully to
 * eth_blockNumber, eth_getBlockByNumber and eth_getLogs (filtered by range, address and
 * topic0). tests/vectors/evm_watch/faults.json adds canned answers (provider limit messages,
 * 429, 5xx, timeouts, malformed and oversized bodies, hostile logs and headers) where its
 * rules say; see its description. The tests written here in C cover what a rule cannot say:
 * the cursor persisted only after events_done, a restart on LevelDB, reorgs shallower and
 * deeper than the confirmation depth, and the pause that survives a restart.
 *
 * The last test runs the watcher against a private anvil with the real Gateway (skipped
 * when build/contracts/Gateway.json or anvil is missing). */
#include <dirent.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evm/events.h"
#include "evm/rpc.h"
#include "evm/watch.h"
#include "ferry/abi.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"
#include "ferry/loop.h"
#include "ferry/store.h"
#include "anvil_deploy.h"
#include "anvil_run.h"
#include "fakerpc.h"
#include "testutil.h"

#define CHAIN_ID 31337
#define DST_CHAIN 777
#define MAX_BLOCKS 512
#define MAX_LOGS 256
#define MAX_RULES 16
#define MAX_RANGES 512

static const char *GATEWAY = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

/* ---- the model chain ---- */

struct mlog {
    uint64_t block;
    uint64_t seq;
    uint8_t topics[4][32];
    uint8_t data[6 * 32];
    uint8_t tx[32];
};

struct model {
    pthread_mutex_t mu;
    uint64_t height;
    uint32_t salt[MAX_BLOCKS]; /* the fork each block is on: its hash depends on it */
    struct mlog logs[MAX_LOGS];
    size_t nlogs;
    uint64_t next_seq;
    uint8_t gateway[20];
    uint8_t sent_topic[32];
    /* rules from a scenario */
    const cJSON *rules[MAX_RULES];
    int used[MAX_RULES];
    size_t nrules;
    /* what was asked */
    uint64_t ranges[MAX_RANGES][2];
    size_t nranges;
    size_t nnumbered; /* eth_getBlockByNumber of a numbered block (the scan's headers) */
};

struct endpoint_ud {
    struct model *m;
    int index;
};

static void block_hash(const struct model *m, uint64_t n, uint8_t out[32])
{
    uint8_t in[16];
    store_be64_put(in, n);
    store_be32_put(in + 8, m->salt[n]);
    store_be32_put(in + 12, CHAIN_ID);
    keccak256(out, in, sizeof in);
}

static uint64_t block_ts(uint64_t n) { return 1700000000u + 12 * n; }

static void word_u64(uint8_t w[32], uint64_t v)
{
    memset(w, 0, 32);
    store_be64_put(w + 24, v);
}

static void model_init(struct model *m, uint64_t height)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->height = height;
    m->next_seq = 1;
    assert_int_equal(hex_decode_exact(m->gateway, 20, GATEWAY, HEX_PREFIX_REQUIRED), FERRY_OK);
    assert_int_equal(abi_event_topic(m->sent_topic, evm_event_def(0)->signature), FERRY_OK);
}

static void model_packet(uint64_t seq, struct packet *p, uint8_t payload[32])
{
    memset(p, 0, sizeof *p);
    p->src_chain = CHAIN_ID;
    p->dst_chain = DST_CHAIN;
    p->sequence = seq;
    p->sender[31] = 0xaa;
    p->sender[12] = 0x11;
    p->receiver[31] = 0xbb;
    p->receiver[12] = 0x22;
    p->timeout_ts = 2000000000u + seq;
    memset(payload, 0, 32);
    snprintf((char *)payload, 32, "payload %" PRIu64, seq);
    p->payload = payload;
    p->payload_len = 20;
}

/* Appends a PacketSent in block b (blocks must come in order). Caller holds mu or owns m. */
static void model_send(struct model *m, uint64_t b)
{
    assert_true(m->nlogs < MAX_LOGS);
    struct mlog *l = &m->logs[m->nlogs++];
    l->block = b;
    l->seq = m->next_seq++;
    struct packet p;
    uint8_t payload[32];
    model_packet(l->seq, &p, payload);
    memcpy(l->topics[0], m->sent_topic, 32);
    evm_packet_id(&p, l->topics[1]);
    word_u64(l->topics[2], p.dst_chain);
    word_u64(l->topics[3], p.sequence);
    memcpy(l->data, p.sender, 32);
    memcpy(l->data + 32, p.receiver, 32);
    word_u64(l->data + 64, p.timeout_ts);
    word_u64(l->data + 96, 4 * 32);
    word_u64(l->data + 128, p.payload_len);
    memcpy(l->data + 160, payload, 32);
    uint8_t in[9] = {'t'};
    store_be64_put(in + 1, l->seq);
    keccak256(l->tx, in, sizeof in);
}

/* Replaces the last `depth` blocks (new hashes); their logs are dropped and `add` new ones
 * are sent in the first replaced block. */
static void model_reorg(struct model *m, uint64_t depth, int add)
{
    pthread_mutex_lock(&m->mu);
    uint64_t first = m->height + 1 - depth;
    for (uint64_t b = first; b <= m->height; b++)
        m->salt[b]++;
    size_t k = 0;
    for (size_t i = 0; i < m->nlogs; i++)
        if (m->logs[i].block < first)
            m->logs[k++] = m->logs[i];
    m->nlogs = k;
    for (int i = 0; i < add; i++)
        model_send(m, first);
    pthread_mutex_unlock(&m->mu);
}

static void model_mine(struct model *m, uint64_t n)
{
    pthread_mutex_lock(&m->mu);
    m->height += n;
    assert_true(m->height < MAX_BLOCKS);
    pthread_mutex_unlock(&m->mu);
}

static void add_hex(cJSON *o, const char *k, const uint8_t *p, size_t n)
{
    char *s = tu_hexstr(p, n);
    cJSON_AddStringToObject(o, k, s);
    free(s);
}

static void add_q(cJSON *o, const char *k, uint64_t v)
{
    char q[19];
    hex_u64_quantity(q, v);
    cJSON_AddStringToObject(o, k, q);
}

static cJSON *header_json(const struct model *m, uint64_t n)
{
    if (n > m->height)
        return cJSON_CreateNull();
    cJSON *h = cJSON_CreateObject();
    uint8_t hash[32], parent[32] = {0};
    block_hash(m, n, hash);
    if (n)
        block_hash(m, n - 1, parent);
    add_q(h, "number", n);
    add_hex(h, "hash", hash, 32);
    add_hex(h, "parentHash", parent, 32);
    add_q(h, "timestamp", block_ts(n));
    cJSON_AddStringToObject(h, "miner", "0x0000000000000000000000000000000000000000");
    return h;
}

static cJSON *log_json(const struct model *m, const struct mlog *l, uint32_t index)
{
    cJSON *o = cJSON_CreateObject();
    uint8_t hash[32];
    block_hash(m, l->block, hash);
    add_hex(o, "address", m->gateway, 20);
    cJSON *t = cJSON_AddArrayToObject(o, "topics");
    for (int i = 0; i < 4; i++) {
        char *s = tu_hexstr(l->topics[i], 32);
        cJSON_AddItemToArray(t, cJSON_CreateString(s));
        free(s);
    }
    add_hex(o, "data", l->data, sizeof l->data);
    add_q(o, "blockNumber", l->block);
    add_hex(o, "transactionHash", l->tx, 32);
    add_q(o, "transactionIndex", 0);
    add_hex(o, "blockHash", hash, 32);
    add_q(o, "logIndex", index);
    cJSON_AddFalseToObject(o, "removed");
    return o;
}

static bool parse_q(const cJSON *v, uint64_t *out)
{
    return cJSON_IsString(v) && hex_quantity_u64(out, v->valuestring) == FERRY_OK;
}

/* eth_getLogs as a node does it: range, addresses, topic0s. NULL if the filter is malformed. */
static cJSON *model_logs(struct model *m, const cJSON *filter, uint64_t *from, uint64_t *to)
{
    if (!parse_q(cJSON_GetObjectItemCaseSensitive(filter, "fromBlock"), from) ||
        !parse_q(cJSON_GetObjectItemCaseSensitive(filter, "toBlock"), to))
        return NULL;
    const cJSON *addr = cJSON_GetObjectItemCaseSensitive(filter, "address");
    const cJSON *topics = cJSON_GetObjectItemCaseSensitive(filter, "topics");
    bool ours = false, topic_ok = false;
    const cJSON *a;
    cJSON_ArrayForEach(a, addr)
    {
        uint8_t x[20];
        if (cJSON_IsString(a) && hex_decode_exact(x, 20, a->valuestring, HEX_PREFIX_REQUIRED) == FERRY_OK &&
            memcmp(x, m->gateway, 20) == 0)
            ours = true;
    }
    cJSON_ArrayForEach(a, cJSON_GetArrayItem(topics, 0))
    {
        uint8_t x[32];
        if (cJSON_IsString(a) && hex_decode_exact(x, 32, a->valuestring, HEX_PREFIX_REQUIRED) == FERRY_OK &&
            memcmp(x, m->sent_topic, 32) == 0)
            topic_ok = true;
    }
    cJSON *arr = cJSON_CreateArray();
    if (!ours || !topic_ok)
        return arr;
    uint64_t last_block = UINT64_MAX;
    uint32_t index = 0;
    for (size_t i = 0; i < m->nlogs; i++) {
        const struct mlog *l = &m->logs[i];
        index = l->block == last_block ? index + 1 : 0;
        last_block = l->block;
        if (l->block >= *from && l->block <= *to && l->block <= m->height)
            cJSON_AddItemToArray(arr, log_json(m, l, index));
    }
    return arr;
}

static int num_or(const cJSON *o, const char *k, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valueint : dflt;
}

/* The first rule with uses left that matches this call. */
static int find_rule(struct model *m, int endpoint, const char *method, const cJSON *params, size_t ranges_before)
{
    for (size_t r = 0; r < m->nrules; r++) {
        const cJSON *rule = m->rules[r];
        int times = num_or(rule, "times", 1);
        if (times >= 0 && m->used[r] >= times)
            continue;
        if (strcmp(cJSON_GetObjectItemCaseSensitive(rule, "method")->valuestring, method) != 0)
            continue;
        if (num_or(rule, "endpoint", endpoint) != endpoint)
            continue;
        if ((size_t)num_or(rule, "after_scans", 0) > ranges_before)
            continue;
        if (strcmp(method, "eth_getLogs") == 0) {
            uint64_t from, to;
            const cJSON *f = cJSON_GetArrayItem(params, 0);
            if (!parse_q(cJSON_GetObjectItemCaseSensitive(f, "fromBlock"), &from) ||
                !parse_q(cJSON_GetObjectItemCaseSensitive(f, "toBlock"), &to))
                continue;
            const cJSON *so = cJSON_GetObjectItemCaseSensitive(rule, "span_over");
            if (so && to - from + 1 <= (uint64_t)so->valuedouble)
                continue;
            const cJSON *fb = cJSON_GetObjectItemCaseSensitive(rule, "from");
            if (fb && from != (uint64_t)fb->valuedouble)
                continue;
        }
        if (strcmp(method, "eth_getBlockByNumber") == 0) {
            const cJSON *b = cJSON_GetObjectItemCaseSensitive(rule, "block");
            uint64_t n;
            if (b && (!parse_q(cJSON_GetArrayItem(params, 0), &n) || n != (uint64_t)b->valuedouble))
                continue;
        }
        return (int)r;
    }
    return -1;
}

static void mutate_logs(cJSON *arr, const cJSON *mu)
{
    cJSON *l = cJSON_GetArrayItem(arr, num_or(mu, "log", 0));
    if (!l)
        return;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(mu, "set"))
    {
        cJSON_DeleteItemFromObjectCaseSensitive(l, v->string);
        cJSON_AddItemToObject(l, v->string, cJSON_Duplicate(v, true));
    }
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(mu, "remove"))
    cJSON_DeleteItemFromObjectCaseSensitive(l, v->valuestring);
    cJSON *topics = cJSON_GetObjectItemCaseSensitive(l, "topics");
    if ((v = cJSON_GetObjectItemCaseSensitive(mu, "set_topic")))
        cJSON_ReplaceItemInArray(topics, cJSON_GetArrayItem(v, 0)->valueint,
                                 cJSON_CreateString(cJSON_GetArrayItem(v, 1)->valuestring));
    if ((v = cJSON_GetObjectItemCaseSensitive(mu, "drop_topic")))
        cJSON_DeleteItemFromArray(topics, v->valueint);
    if ((v = cJSON_GetObjectItemCaseSensitive(mu, "add_topic")))
        cJSON_AddItemToArray(topics, cJSON_CreateString(v->valuestring));
    if ((v = cJSON_GetObjectItemCaseSensitive(mu, "data_cut"))) {
        cJSON *d = cJSON_GetObjectItemCaseSensitive(l, "data");
        size_t len = strlen(d->valuestring);
        size_t cut = (size_t)v->valueint < len - 2 ? (size_t)v->valueint : len - 2;
        char *s = strdup(d->valuestring);
        s[len - cut] = 0;
        cJSON_SetValuestring(d, s);
        free(s);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(mu, "swap_with"))) {
        int a = num_or(mu, "log", 0), b = v->valueint;
        cJSON *la = cJSON_Duplicate(cJSON_GetArrayItem(arr, a), true);
        cJSON *lb = cJSON_Duplicate(cJSON_GetArrayItem(arr, b), true);
        cJSON_ReplaceItemInArray(arr, a, lb);
        cJSON_ReplaceItemInArray(arr, b, la);
    }
}

/* Answers one call: its reply object, or (through *http) a rule that answers the whole request. */
static cJSON *answer_call(struct model *m, int endpoint, const cJSON *call, uint64_t id, size_t ranges_before,
                          const cJSON **http)
{
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(call, "method");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(call, "params");
    const char *meth = cJSON_IsString(method) ? method->valuestring : "";
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddStringToObject(reply, "jsonrpc", "2.0");
    cJSON_AddNumberToObject(reply, "id", (double)id);
    uint64_t from = 0, to = 0;
    cJSON *result = NULL;
    if (strcmp(meth, "eth_getLogs") == 0) {
        result = model_logs(m, cJSON_GetArrayItem(params, 0), &from, &to);
        if (m->nranges < MAX_RANGES) {
            m->ranges[m->nranges][0] = from;
            m->ranges[m->nranges][1] = to;
            m->nranges++;
        }
    } else if (strcmp(meth, "eth_blockNumber") == 0) {
        char q[19];
        hex_u64_quantity(q, m->height);
        result = cJSON_CreateString(q);
    } else if (strcmp(meth, "eth_getBlockByNumber") == 0) {
        const cJSON *tag = cJSON_GetArrayItem(params, 0);
        uint64_t n;
        if (cJSON_IsString(tag) && strcmp(tag->valuestring, "latest") == 0)
            result = header_json(m, m->height);
        else if (parse_q(tag, &n)) {
            result = header_json(m, n);
            m->nnumbered++;
        }
    }
    int r = find_rule(m, endpoint, meth, params, ranges_before);
    if (r >= 0) {
        const cJSON *rule = m->rules[r];
        m->used[r]++;
        const cJSON *v;
        if ((v = cJSON_GetObjectItemCaseSensitive(rule, "http"))) {
            *http = v;
        } else if ((v = cJSON_GetObjectItemCaseSensitive(rule, "error"))) {
            cJSON_Delete(result);
            result = NULL;
            cJSON_AddItemToObject(reply, "error", cJSON_Duplicate(v, true));
        } else if ((v = cJSON_GetObjectItemCaseSensitive(rule, "result"))) {
            cJSON_Delete(result);
            result = cJSON_Duplicate(v, true);
        } else if ((v = cJSON_GetObjectItemCaseSensitive(rule, "mutate"))) {
            mutate_logs(result, v);
        } else if ((v = cJSON_GetObjectItemCaseSensitive(rule, "result_hash"))) {
            cJSON_ReplaceItemInObjectCaseSensitive(result, "hash", cJSON_CreateString(v->valuestring));
        } else if ((v = cJSON_GetObjectItemCaseSensitive(rule, "result_block"))) {
            cJSON_Delete(result);
            result = header_json(m, (uint64_t)v->valuedouble);
        }
    }
    if (!cJSON_GetObjectItemCaseSensitive(reply, "error"))
        cJSON_AddItemToObject(reply, "result", result ? result : cJSON_CreateNull());
    return reply;
}

static cJSON *model_answer(void *ud, struct fake *f, const cJSON *req, const uint64_t *ids, size_t nids)
{
    struct endpoint_ud *e = ud;
    struct model *m = e->m;
    pthread_mutex_lock(&m->mu);
    size_t before = m->nranges;
    const cJSON *http = NULL;
    cJSON *body;
    if (cJSON_IsArray(req)) {
        body = cJSON_CreateArray();
        size_t i = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, req) cJSON_AddItemToArray(body, answer_call(m, e->index, c, ids[i++], before, &http));
    } else {
        body = answer_call(m, e->index, req, ids[0], before, &http);
    }
    pthread_mutex_unlock(&m->mu);
    if (http) {
        cJSON_Delete(body);
        return cJSON_Duplicate(http, true);
    }
    cJSON *ex = cJSON_CreateObject();
    cJSON_AddItemToObject(ex, "reply", body);
    return ex;
}

/* ---- the harness ---- */

struct delivered {
    uint64_t seq, block, ts;
    int tag;
    uint32_t log_index;
    uint8_t block_hash[32], id[32];
    bool id_ok, payload_ok;
};

struct harness {
    struct model m;
    struct fake f[2];
    struct endpoint_ud eud[2];
    size_t neps;
    struct loop *loop;
    struct rpc_client *rpc;
    struct store *st;
    struct loop_hook flush;
    struct evm_watch *w;
    struct evm_watch_config cfg;
    char dir[128];
    /* what the hooks saw */
    struct delivered got[MAX_LOGS * 2];
    size_t ngot;
    bool manual;          /* events_done is called by the test */
    uint64_t last_token;
    int handed;           /* on_events calls */
    int reorgs;
    uint64_t reorg_from;
    char reorg_detail[512];
    int heads;
    bool verbose;
    bool anvil_mode;   /* events are real PacketSents: not checked against the model */
    int napps;         /* app events handed over */
    int handed_target; /* delivered_n: events to wait for */
};

static void on_flush(struct loop_hook *hk, void *ud)
{
    struct harness *h = ud;
    if (store_pending(h->st))
        (void)store_flush(h->st);
}

static void h_events(void *ud, const struct chain_event *ev, size_t n, const struct evm_app_event *app, size_t napp,
                     uint64_t token)
{
    struct harness *h = ud;
    h->handed++;
    h->last_token = token;
    /* The model has no app events; the real Gateway announces its attesters when deployed. */
    for (size_t i = 0; i < napp; i++) {
        assert_true(h->anvil_mode);
        assert_int_equal(app[i].kind, EVM_APP_ATTESTERS_CHANGED);
        h->napps++;
    }
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ev[i].kind, CHAIN_EV_PACKET_SENT);
        assert_true(h->ngot < sizeof h->got / sizeof h->got[0]);
        struct delivered *d = &h->got[h->ngot++];
        d->seq = ev[i].packet.sequence;
        d->block = ev[i].at.block_number;
        d->ts = ev[i].at.block_timestamp;
        d->log_index = ev[i].at.log_index;
        memcpy(d->block_hash, ev[i].at.block_hash, 32);
        memcpy(d->id, ev[i].packet_id, 32);
        if (h->anvil_mode) {
            assert_int_equal(ev[i].packet.src_chain, 31337);
            assert_int_equal(ev[i].packet.dst_chain, 999);
            assert_int_equal(ev[i].packet.payload_len, 7);
            d->tag = ev[i].packet.payload[6]; /* which send it was */
            continue;
        }
        struct packet p;
        uint8_t payload[32];
        model_packet(d->seq, &p, payload);
        uint8_t id[32];
        evm_packet_id(&p, id);
        d->id_ok = memcmp(id, ev[i].packet_id, 32) == 0;
        d->payload_ok = ev[i].packet.payload_len == p.payload_len &&
                        memcmp(ev[i].packet.payload, payload, p.payload_len) == 0 && ev[i].packet.src_chain == CHAIN_ID &&
                        ev[i].packet.dst_chain == DST_CHAIN && ev[i].packet.timeout_ts == p.timeout_ts &&
                        memcmp(ev[i].packet.sender, p.sender, 32) == 0 &&
                        memcmp(ev[i].packet.receiver, p.receiver, 32) == 0;
    }
    if (!h->manual)
        evm_watch_events_done(h->w, token); /* from inside the hook: the watcher must cope */
}

static void h_reorg(void *ud, uint64_t from, const char *detail)
{
    struct harness *h = ud;
    h->reorgs++;
    h->reorg_from = from;
    snprintf(h->reorg_detail, sizeof h->reorg_detail, "%s", detail);
}

static void h_head(void *ud, const struct chain_head *hd)
{
    struct harness *h = ud;
    h->heads++;
    assert_true(hd->confirmed <= hd->number);
}

static void h_log(void *ud, enum evm_watch_level level, const char *msg)
{
    struct harness *h = ud;
    if (h->verbose || getenv("FERRY_TEST_VERBOSE"))
        fprintf(stderr, "# watch[%d]: %s\n", (int)level, msg);
}

static void h_start_rpc(struct harness *h, const cJSON *rpcj)
{
    struct rpc_endpoint_config eps[2];
    for (size_t i = 0; i < h->neps; i++)
        eps[i] = (struct rpc_endpoint_config){h->f[i].url, NULL};
    struct rpc_config rc = {
        .endpoints = eps,
        .n_endpoints = h->neps,
        .timeout_ms = (uint32_t)num_or(rpcj, "timeout_ms", 2000),
        .connect_timeout_ms = 1000,
        .deadline_ms = 10000,
        .max_attempts = (uint32_t)num_or(rpcj, "max_attempts", 4),
        .backoff_base_ms = 5,
        .backoff_max_ms = 20,
        .demote_base_ms = 1000,
        .max_body = (size_t)num_or(rpcj, "max_body", 1 << 20),
        .seed = tu_rand() | 1,
    };
    assert_int_equal(rpc_client_new(h->loop, &rc, &h->rpc), FERRY_OK);
}

/* Starts fakes over h->m (already filled), the loop, the rpc client and the store. */
static void h_open(struct harness *h, size_t neps, const cJSON *rpcj, const char *backend)
{
    h->neps = neps;
    for (size_t i = 0; i < neps; i++) {
        fake_start(&h->f[i]);
        h->eud[i] = (struct endpoint_ud){&h->m, (int)i};
        h->f[i].fn = model_answer;
        h->f[i].fn_ud = &h->eud[i];
    }
    assert_int_equal(loop_new(&h->loop), FERRY_OK);
    h_start_rpc(h, rpcj);
    if (strcmp(backend, "leveldb") == 0 && !h->dir[0]) {
        snprintf(h->dir, sizeof h->dir, "/tmp/ferry-watch-XXXXXX");
        assert_non_null(mkdtemp(h->dir));
    }
    assert_int_equal(store_open(&h->st, backend, h->dir), FERRY_OK);
    loop_hook_init(h->loop, &h->flush, on_flush, h);
    loop_hook_start(&h->flush);
}

static void h_config(struct harness *h, const cJSON *c)
{
    memset(&h->cfg, 0, sizeof h->cfg);
    h->cfg.chain_id = CHAIN_ID;
    h->cfg.confirmations = (uint32_t)num_or(c, "confirmations", 3);
    h->cfg.poll_ms = (uint32_t)num_or(c, "poll_ms", 20);
    h->cfg.range_max = (uint32_t)num_or(c, "range_max", 16);
    h->cfg.grow_after = (uint32_t)num_or(c, "grow_after", 1);
    h->cfg.start_block = (uint64_t)num_or(c, "start_block", 1);
    h->cfg.max_logs = (size_t)num_or(c, "max_logs", 10000);
    h->cfg.window = (uint32_t)num_or(c, "window", 0);
    memcpy(h->cfg.gateway, h->m.gateway, 20);
}

static void h_watch(struct harness *h)
{
    struct evm_watch_hooks hooks = {.ud = h, .on_events = h_events, .on_deep_reorg = h_reorg, .on_head = h_head,
                                    .log = h_log};
    assert_int_equal(evm_watch_new(&h->w, h->loop, h->rpc, h->st, &h->cfg, &hooks), FERRY_OK);
    assert_int_equal(evm_watch_start(h->w), FERRY_OK);
}

/* Frees the watcher, the rpc client and the store (the fakes and the model stay). */
static void h_close_watch(struct harness *h)
{
    evm_watch_free(h->w);
    h->w = NULL;
    rpc_client_free(h->rpc);
    h->rpc = NULL;
    loop_hook_stop(&h->flush);
    assert_int_equal(store_close(h->st), FERRY_OK);
    h->st = NULL;
}

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void h_close(struct harness *h)
{
    if (h->w || h->rpc || h->st)
        h_close_watch(h);
    loop_free(h->loop);
    for (size_t i = 0; i < h->neps; i++) {
        fake_stop(&h->f[i]);
        char what[32];
        snprintf(what, sizeof what, "endpoint %zu", i);
        fake_check(&h->f[i], what);
    }
    pthread_mutex_destroy(&h->m.mu);
    if (h->dir[0])
        rm_rf(h->dir);
}

static uint64_t safe_of(struct harness *h)
{
    pthread_mutex_lock(&h->m.mu);
    uint64_t s = h->m.height + 1 - h->cfg.confirmations;
    pthread_mutex_unlock(&h->m.mu);
    return s;
}

typedef bool until_fn(struct harness *h);

static void run_until(struct harness *h, until_fn *fn, uint64_t bound_ms, const char *what)
{
    uint64_t end = loop_clock_ms() + bound_ms;
    while (!fn(h) && loop_clock_ms() < end)
        assert_int_equal(loop_run_once(h->loop, 10), FERRY_OK);
    if (!fn(h)) {
        struct evm_watch_stats s;
        evm_watch_stats(h->w, &s);
        fail_msg("%s: not reached within %llu ms (next block %llu, safe %llu, scans %llu, rpc errors %llu, bad "
                 "replies %llu)",
                 what, (unsigned long long)bound_ms, (unsigned long long)s.next_block, (unsigned long long)s.safe,
                 (unsigned long long)s.scans, (unsigned long long)s.rpc_errors, (unsigned long long)s.bad_replies);
    }
}

static void run_for(struct harness *h, uint64_t ms)
{
    uint64_t end = loop_clock_ms() + ms;
    while (loop_clock_ms() < end)
        assert_int_equal(loop_run_once(h->loop, 5), FERRY_OK);
}

static bool rules_used(struct harness *h)
{
    pthread_mutex_lock(&h->m.mu);
    bool all = true;
    for (size_t r = 0; r < h->m.nrules; r++) {
        int times = num_or(h->m.rules[r], "times", 1);
        if (times >= 0 && h->m.used[r] < times)
            all = false;
    }
    pthread_mutex_unlock(&h->m.mu);
    return all;
}

static bool caught_up(struct harness *h)
{
    struct evm_watch_stats s;
    evm_watch_stats(h->w, &s);
    return s.next_block == safe_of(h) + 1 && !s.awaiting_engine && rules_used(h) && store_pending(h->st) == 0 &&
           s.cursor_writes > 0;
}

/* Every PacketSent at a confirmed height of the model, handed over exactly once and in order
 * (but `missing`), with its block's hash and time; the persisted cursor at safe + 1. */
static void check_delivery(struct harness *h, const uint64_t *missing, size_t nmissing)
{
    uint64_t safe = safe_of(h);
    size_t k = 0;
    pthread_mutex_lock(&h->m.mu);
    uint64_t last_block = UINT64_MAX;
    uint32_t index = 0;
    for (size_t i = 0; i < h->m.nlogs; i++) {
        const struct mlog *l = &h->m.logs[i];
        index = l->block == last_block ? index + 1 : 0;
        last_block = l->block;
        if (l->block > safe)
            continue;
        bool skip = false;
        for (size_t j = 0; j < nmissing; j++)
            skip |= missing[j] == l->seq;
        if (skip)
            continue;
        if (k >= h->ngot)
            fail_msg("sequence %" PRIu64 " (block %" PRIu64 ") was never handed over", l->seq, l->block);
        const struct delivered *d = &h->got[k++];
        if (d->seq != l->seq)
            fail_msg("handed over sequence %" PRIu64 " where %" PRIu64 " was due", d->seq, l->seq);
        uint8_t hash[32];
        block_hash(&h->m, l->block, hash);
        assert_int_equal(d->block, l->block);
        assert_memory_equal(d->block_hash, hash, 32);
        assert_int_equal(d->ts, block_ts(l->block));
        assert_int_equal(d->log_index, index);
        assert_true(d->id_ok);
        assert_true(d->payload_ok);
    }
    pthread_mutex_unlock(&h->m.mu);
    if (k != h->ngot)
        fail_msg("%zu events handed over, %zu expected (sequence %" PRIu64 " extra)", h->ngot, k,
                 h->got[k < h->ngot ? k : 0].seq);
    struct evm_cursor c;
    assert_int_equal(evm_cursor_load(h->st, CHAIN_ID, &c), FERRY_OK);
    assert_int_equal(c.next, safe + 1);
    assert_true(c.have_hash);
    uint8_t hash[32];
    block_hash(&h->m, safe, hash);
    assert_memory_equal(c.hash, hash, 32);
    assert_false(c.paused);
    assert_true(c.n >= 1);
    assert_int_equal(c.entries[c.n - 1].height, safe);
    evm_cursor_clear(&c);
}

/* ---- scenarios from the vector file ---- */

static cJSON *faults;

struct scenario {
    const cJSON *sc;     /* the scenario (or the variant) */
    const cJSON *rule;   /* limit variants: the shared rule, with the variant's error */
    const cJSON *expect; /* limit variants: the shared expectations */
};

static const cJSON *pick(const cJSON *sc, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(sc, k);
    return v ? v : cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(faults, "defaults"), k);
}

static void expect_u64(const char *name, const char *what, uint64_t got, const cJSON *expect, const char *key,
                       bool at_least)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(expect, key);
    if (!v)
        return;
    if (at_least ? got < (uint64_t)v->valuedouble : got != (uint64_t)v->valuedouble)
        fail_msg("%s: %s = %llu, expected %s%.0f", name, what, (unsigned long long)got, at_least ? "at least " : "",
                 v->valuedouble);
}

static void run_scenario(void **state)
{
    const struct scenario *s = *state;
    const char *name = cJSON_GetObjectItemCaseSensitive(s->sc, "name")->valuestring;
    struct harness *h = calloc(1, sizeof *h);
    const cJSON *chain = pick(s->sc, "chain");
    model_init(&h->m, (uint64_t)num_or(chain, "height", 40));
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(chain, "sent_at")) model_send(&h->m, (uint64_t)b->valueint);
    cJSON *variant_rule = NULL;
    if (s->rule) {
        variant_rule = cJSON_Duplicate(s->rule, true);
        cJSON_AddItemToObject(variant_rule, "error",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(s->sc, "error"), true));
        h->m.rules[h->m.nrules++] = variant_rule;
    }
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(s->sc, "rules"))
    {
        assert_true(h->m.nrules < MAX_RULES);
        h->m.rules[h->m.nrules++] = r;
    }
    /* config: the defaults, then the scenario's members over them */
    cJSON *cfgj = cJSON_Duplicate(pick(NULL, "config"), true);
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(s->sc, "config"))
    {
        cJSON_DeleteItemFromObjectCaseSensitive(cfgj, r->string);
        cJSON_AddItemToObject(cfgj, r->string, cJSON_Duplicate(r, true));
    }
    cJSON *rpcj = cJSON_Duplicate(pick(NULL, "rpc"), true);
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(s->sc, "rpc"))
    {
        cJSON_DeleteItemFromObjectCaseSensitive(rpcj, r->string);
        cJSON_AddItemToObject(rpcj, r->string, cJSON_Duplicate(r, true));
    }
    h_open(h, (size_t)num_or(s->sc, "endpoints", 1), rpcj, "mem");
    h_config(h, cfgj);
    h_watch(h);
    run_until(h, caught_up, 15000, name);

    const cJSON *expect = s->expect ? s->expect : cJSON_GetObjectItemCaseSensitive(s->sc, "expect");
    uint64_t missing[8];
    size_t nmissing = 0;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(expect, "missing_sequences"))
    missing[nmissing++] = (uint64_t)r->valuedouble;
    check_delivery(h, missing, nmissing);

    struct evm_watch_stats st;
    evm_watch_stats(h->w, &st);
    expect_u64(name, "narrowed", st.narrowed, expect, "narrowed", false);
    expect_u64(name, "narrowed", st.narrowed, expect, "narrowed_at_least", true);
    expect_u64(name, "widened", st.widened, expect, "widened", false);
    expect_u64(name, "rpc_errors", st.rpc_errors, expect, "rpc_errors", false);
    expect_u64(name, "bad_replies", st.bad_replies, expect, "bad_replies", false);
    expect_u64(name, "bad_replies", st.bad_replies, expect, "bad_replies_at_least", true);
    expect_u64(name, "removed_logs", st.removed_logs, expect, "removed_logs", false);
    expect_u64(name, "deep_reorgs", st.deep_reorgs, expect, "deep_reorgs", false);
    expect_u64(name, "final_range", st.range, expect, "final_range", false);
    assert_int_equal(h->reorgs, 0);
    assert_true(h->heads > 0);
    const cJSON *epe = cJSON_GetObjectItemCaseSensitive(expect, "endpoint_errors");
    for (int i = 0; i < cJSON_GetArraySize(epe); i++) {
        struct rpc_endpoint_status es;
        assert_int_equal(rpc_endpoint_status(h->rpc, (size_t)i, &es), FERRY_OK);
        if (es.errors < (uint64_t)cJSON_GetArrayItem(epe, i)->valuedouble)
            fail_msg("%s: endpoint %d has %llu errors, expected at least %d", name, i, (unsigned long long)es.errors,
                     cJSON_GetArrayItem(epe, i)->valueint);
    }
    const cJSON *ranges = cJSON_GetObjectItemCaseSensitive(expect, "ranges");
    if (ranges) {
        pthread_mutex_lock(&h->m.mu);
        char got[2048] = "", want[2048] = "";
        for (size_t i = 0; i < h->m.nranges; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "[%" PRIu64 ",%" PRIu64 "]", h->m.ranges[i][0],
                     h->m.ranges[i][1]);
        cJSON_ArrayForEach(r, ranges) snprintf(want + strlen(want), sizeof want - strlen(want), "[%d,%d]",
                                               cJSON_GetArrayItem(r, 0)->valueint, cJSON_GetArrayItem(r, 1)->valueint);
        pthread_mutex_unlock(&h->m.mu);
        if (strcmp(got, want) != 0)
            fail_msg("%s: eth_getLogs ranges\n  got  %s\n  want %s", name, got, want);
    }
    h_close(h);
    cJSON_Delete(cfgj);
    cJSON_Delete(rpcj);
    cJSON_Delete(variant_rule);
    free(h);
}

/* ---- tests written in C ---- */

static struct harness *standard(const char *backend, bool manual)
{
    struct harness *h = calloc(1, sizeof *h);
    model_init(&h->m, 40);
    static const int at[] = {2, 5, 5, 9, 16, 17, 30, 33, 38, 39, 40};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        model_send(&h->m, (uint64_t)at[i]);
    h->manual = manual;
    h_open(h, 1, NULL, backend);
    h_config(h, NULL);
    return h;
}

static bool handed_once(struct harness *h) { return h->handed >= 1; }

static void cursor_waits_for_events_done(void **state)
{
    struct harness *h = standard("mem", true);
    h_watch(h);
    run_until(h, handed_once, 5000, "first hand-over");
    /* Handed over, not acknowledged: nothing persisted, nothing more asked however long. */
    run_for(h, 150);
    assert_int_equal(h->handed, 1);
    struct evm_cursor c;
    assert_int_equal(evm_cursor_load(h->st, CHAIN_ID, &c), FERRY_ENOTFOUND);
    struct evm_watch_stats st;
    evm_watch_stats(h->w, &st);
    assert_true(st.awaiting_engine);
    assert_int_equal(st.next_block, 1);
    /* A stale token changes nothing. */
    evm_watch_events_done(h->w, h->last_token + 7);
    run_for(h, 50);
    assert_int_equal(evm_cursor_load(h->st, CHAIN_ID, &c), FERRY_ENOTFOUND);
    /* The real one: the cursor moves to the range's end and is durable after the turn. */
    evm_watch_events_done(h->w, h->last_token);
    assert_int_equal(loop_run_once(h->loop, 0), FERRY_OK);
    assert_int_equal(evm_cursor_load(h->st, CHAIN_ID, &c), FERRY_OK);
    assert_int_equal(c.next, 17);
    evm_cursor_clear(&c);
    /* Acknowledging the next ones from a later turn, one by one. */
    while (!caught_up(h)) {
        int before = h->handed;
        uint64_t end = loop_clock_ms() + 5000;
        while (h->handed == before && !caught_up(h) && loop_clock_ms() < end)
            assert_int_equal(loop_run_once(h->loop, 10), FERRY_OK);
        if (h->handed != before)
            evm_watch_events_done(h->w, h->last_token);
        assert_true(loop_clock_ms() < end);
    }
    check_delivery(h, NULL, 0);
    h_close(h);
    free(h);
}

static bool at_block_17(struct harness *h)
{
    struct evm_watch_stats s;
    evm_watch_stats(h->w, &s);
    return s.next_block >= 17 && store_pending(h->st) == 0 && s.cursor_writes > 0;
}

static void restart_resumes_from_the_cursor(void **state)
{
    struct harness *h = standard("leveldb", false);
    h->cfg.range_max = 16;
    h_watch(h);
    run_until(h, at_block_17, 5000, "first range");
    evm_watch_stop(h->w);
    size_t before = h->ngot;
    assert_true(before >= 5);
    h_close_watch(h); /* "kill": the watcher, the client and the store go */
    pthread_mutex_lock(&h->m.mu);
    size_t asked = h->m.nranges;
    pthread_mutex_unlock(&h->m.mu);

    /* Start again on the same directory: scanning goes on from the persisted cursor. */
    h_start_rpc(h, NULL);
    assert_int_equal(store_open(&h->st, "leveldb", h->dir), FERRY_OK);
    loop_hook_start(&h->flush);
    struct evm_cursor c;
    assert_int_equal(evm_cursor_load(h->st, CHAIN_ID, &c), FERRY_OK);
    uint64_t next = c.next;
    evm_cursor_clear(&c);
    assert_true(next >= 17);
    h_watch(h);
    run_until(h, caught_up, 5000, "after the restart");
    /* Not from the start block again: every range asked since starts at the cursor or later
     * (the request under way at the kill may show up late: it started there too). */
    pthread_mutex_lock(&h->m.mu);
    bool from_cursor = false;
    for (size_t i = asked; i < h->m.nranges; i++) {
        assert_true(h->m.ranges[i][0] >= next);
        from_cursor |= h->m.ranges[i][0] == next;
    }
    assert_true(from_cursor);
    pthread_mutex_unlock(&h->m.mu);
    check_delivery(h, NULL, 0);
    h_close(h);
    free(h);
}

static void shallow_reorg_changes_nothing(void **state)
{
    struct harness *h = standard("mem", false);
    h->cfg.confirmations = 5; /* safe = 40 + 1 - 5 = 36 */
    h_watch(h);
    run_until(h, caught_up, 5000, "first catch-up");
    size_t before = h->ngot;
    /* Replace the 4 newest blocks (37..40, holding sequences 9, 10, 11): none confirmed. */
    model_reorg(&h->m, 4, 1);
    run_for(h, 150);
    assert_int_equal(h->ngot, before);
    assert_int_equal(h->reorgs, 0);
    /* The chain grows: the new blocks' events come, the dropped ones never. */
    model_mine(&h->m, 6);
    run_until(h, caught_up, 5000, "after the shallow reorg");
    check_delivery(h, NULL, 0);
    assert_int_equal(h->reorgs, 0);
    struct evm_watch_stats st;
    evm_watch_stats(h->w, &st);
    assert_int_equal(st.deep_reorgs, 0);
    assert_false(st.paused);
    h_close(h);
    free(h);
}

static bool paused(struct harness *h) { return h->reorgs > 0 && store_pending(h->st) == 0; }

static void asked(struct harness *h, size_t *ranges, size_t *numbered)
{
    pthread_mutex_lock(&h->m.mu);
    *ranges = h->m.nranges;
    *numbered = h->m.nnumbered;
    pthread_mutex_unlock(&h->m.mu);
}

/* Caught up and the head unchanged: each poll asks for the head only (no scan, no cursor-block
 * header), and the head still counts as seen. A new block is scanned; a head of the same height
 * but another hash is scanned too, so a reorg under an unchanged height is still found. */
static void unchanged_head_is_not_scanned_again(void **state)
{
    struct harness *h = standard("mem", false); /* confirmations 3: safe 38 */
    h_watch(h);
    run_until(h, caught_up, 5000, "first catch-up");
    run_for(h, 60); /* the first poll after the catch-up checks the cursor block and finds nothing */
    size_t r0, n0, r1, n1;
    asked(h, &r0, &n0);
    struct evm_watch_stats st0, st1;
    evm_watch_stats(h->w, &st0);
    int heads = h->heads;
    run_for(h, 200); /* about ten polls of 20 ms */
    asked(h, &r1, &n1);
    evm_watch_stats(h->w, &st1);
    assert_int_equal(r1, r0);
    assert_int_equal(n1, n0);
    assert_true(st1.quiet_polls >= st0.quiet_polls + 5);
    assert_true(h->heads > heads); /* the head is still reported on every poll */

    /* New blocks, one with a packet: scanned and handed over. */
    size_t got = h->ngot;
    pthread_mutex_lock(&h->m.mu);
    model_send(&h->m, 41);
    pthread_mutex_unlock(&h->m.mu);
    model_mine(&h->m, 3); /* 41 confirmed at 43 */
    run_until(h, caught_up, 5000, "the new blocks");
    assert_int_equal(h->ngot, got + 3); /* 39 and 40 are confirmed now too */
    check_delivery(h, NULL, 0);

    /* The same height, other hashes down to the cursor block: found as the deep reorg it is. */
    run_for(h, 60);
    assert_int_equal(h->reorgs, 0);
    model_reorg(&h->m, 3, 0);
    run_until(h, paused, 5000, "the reorg under an unchanged height");
    assert_int_equal(h->reorgs, 1);
    h_close(h);
    free(h);
}

static void deep_reorg_pauses_until_resumed(void **state)
{
    struct harness *h = standard("leveldb", false);
    h->cfg.confirmations = 3; /* safe 38 */
    h->cfg.range_max = 8;     /* more remembered heights */
    h_watch(h);
    run_until(h, caught_up, 5000, "first catch-up");
    assert_int_equal(h->ngot, 9);
    /* Replace the last 6 blocks (35..40): 35..38 were scanned, block 38 held sequence 9. */
    model_reorg(&h->m, 6, 2); /* the new fork sends two packets in block 35 */
    run_until(h, paused, 5000, "the deep reorg report");
    assert_int_equal(h->reorgs, 1);
    struct evm_watch_stats st;
    evm_watch_stats(h->w, &st);
    assert_true(st.paused);
    assert_int_equal(st.deep_reorgs, 1);
    /* Remembered: the ends of the ranges (8, 16, 24, 32, 38) and the blocks with logs; the
     * highest unchanged is 33: the watcher rewinds there and reports 34 on. */
    assert_int_equal(h->reorg_from, 34);
    assert_int_equal(st.next_block, 34);
    assert_non_null(strstr(h->reorg_detail, "ancestor is block 33"));
    struct evm_cursor c;
    assert_int_equal(evm_cursor_load(h->st, CHAIN_ID, &c), FERRY_OK);
    assert_true(c.paused);
    assert_int_equal(c.next, 34);
    assert_int_equal(c.reorg_from, 34);
    evm_cursor_clear(&c);
    /* Paused: nothing is scanned or handed over, and no head is reported (the engine reads a
     * head as "running"), however many blocks come. */
    size_t got = h->ngot;
    int heads = h->heads;
    pthread_mutex_lock(&h->m.mu);
    size_t asked = h->m.nranges;
    pthread_mutex_unlock(&h->m.mu);
    model_mine(&h->m, 3);
    run_for(h, 150);
    assert_int_equal(h->ngot, got);
    assert_int_equal(h->heads, heads);
    pthread_mutex_lock(&h->m.mu);
    assert_int_equal(h->m.nranges, asked);
    pthread_mutex_unlock(&h->m.mu);

    /* A restart keeps the pause, and says so again. */
    h_close_watch(h);
    h_start_rpc(h, NULL);
    assert_int_equal(store_open(&h->st, "leveldb", h->dir), FERRY_OK);
    loop_hook_start(&h->flush);
    h->reorgs = 0;
    h_watch(h);
    run_until(h, paused, 5000, "the pause after the restart");
    assert_int_equal(h->reorg_from, 34);
    run_for(h, 100);
    assert_int_equal(h->ngot, got);
    assert_int_equal(evm_watch_resume(h->w), FERRY_OK);
    assert_int_equal(evm_watch_resume(h->w), FERRY_ESTATE);
    run_until(h, caught_up, 5000, "after the resume");
    /* From block 34 on, the new fork's events: the two new packets (sequences 12, 13) in block
     * 35, nothing of the old fork's block 38. */
    assert_int_equal(h->ngot, got + 2);
    assert_int_equal(h->got[got].seq, 12);
    assert_int_equal(h->got[got + 1].seq, 13);
    assert_int_equal(h->got[got].block, 35);
    uint8_t hash[32];
    block_hash(&h->m, 35, hash);
    assert_memory_equal(h->got[got].block_hash, hash, 32);
    assert_int_equal(evm_cursor_load(h->st, CHAIN_ID, &c), FERRY_OK);
    assert_false(c.paused);
    assert_int_equal(c.next, safe_of(h) + 1);
    evm_cursor_clear(&c);
    h_close(h);
    free(h);
}

static void reorg_below_the_window(void **state)
{
    struct harness *h = standard("mem", false);
    h->cfg.confirmations = 1;
    h->cfg.window = 2; /* remembers two heights only */
    h->cfg.range_max = 4;
    h_watch(h);
    run_until(h, caught_up, 5000, "first catch-up");
    model_reorg(&h->m, 30, 0); /* 11..40 replaced: below every remembered height */
    run_until(h, paused, 5000, "the deep reorg report");
    assert_non_null(strstr(h->reorg_detail, "below every remembered block"));
    struct evm_watch_stats st;
    evm_watch_stats(h->w, &st);
    assert_int_equal(st.next_block, h->reorg_from);
    assert_true(h->reorg_from > 11); /* the oldest remembered height, not the fork point */
    assert_int_equal(evm_watch_resume(h->w), FERRY_OK);
    run_until(h, caught_up, 5000, "after the resume");
    h_close(h);
    free(h);
}

static void bad_config_and_corrupt_cursor(void **state)
{
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct store *st;
    assert_int_equal(store_open(&st, "mem", ""), FERRY_OK);
    struct evm_watch_config cfg = {.chain_id = CHAIN_ID};
    struct evm_watch_hooks hooks = {.on_events = h_events, .on_deep_reorg = h_reorg};
    struct evm_watch *w;
    assert_int_equal(evm_watch_new(&w, loop, NULL, st, &cfg, &hooks), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "gateway"));
    cfg.gateway[19] = 1;
    cfg.window = 5000;
    assert_int_equal(evm_watch_new(&w, loop, NULL, st, &cfg, &hooks), FERRY_ERANGE);
    cfg.window = 0;
    cfg.header_batch = 1001;
    assert_int_equal(evm_watch_new(&w, loop, NULL, st, &cfg, &hooks), FERRY_ERANGE);
    cfg.header_batch = 0;
    struct evm_watch_hooks none = {0};
    assert_int_equal(evm_watch_new(&w, loop, NULL, st, &cfg, &none), FERRY_EINVAL);
    /* A cursor this version did not write: refused with a message, never guessed at. */
    static const uint8_t junk[][60] = {{2}, {1, 0x80}};
    for (size_t i = 0; i < 2; i++) {
        struct store_batch *b;
        assert_int_equal(store_batch_begin(st, &b), FERRY_OK);
        struct store_key k;
        store_key_kind_u64(&k, STORE_KIND_CURSOR, CHAIN_ID);
        store_put(b, k.b, k.len, junk[i], i ? 60 : 54);
        assert_int_equal(store_commit_sync(b), FERRY_OK);
        assert_int_equal(evm_watch_new(&w, loop, NULL, st, &cfg, &hooks), FERRY_EINVAL);
        assert_non_null(strstr(ferry_errmsg(), "cursor of chain 31337"));
    }
    assert_int_equal(store_close(st), FERRY_OK);
    loop_free(loop);
}


/* ---- against a private anvil with the real Gateway ---- */

static void anvil_hash_at(const char *url, uint64_t n, uint8_t out[32])
{
    char params[64], q[19];
    hex_u64_quantity(q, n);
    snprintf(params, sizeof params, "[\"%s\",false]", q);
    cJSON *r = tu_anvil_call(url, "eth_getBlockByNumber", params);
    assert_int_equal(hex_decode_exact(out, 32, cJSON_GetObjectItemCaseSensitive(r, "hash")->valuestring,
                                      HEX_PREFIX_REQUIRED),
                     FERRY_OK);
    cJSON_Delete(r);
}

/* gateway.send(999, 0x..bb, timeout, payload "anvil <i>") */
static void anvil_send_packet(const char *url, const char *gateway, int i)
{
    char payload[64];
    snprintf(payload, sizeof payload, "0x616e76696c20%02x", i);
    const char *args[] = {"999", "0x00000000000000000000000000000000000000000000000000000000000bbbbb", "4000000000",
                          payload};
    anvil_call_tx(url, gateway, "send(uint64,bytes32,uint64,bytes)", args, 4);
}

static void anvil_mine(const char *url, int n)
{
    char p[32];
    snprintf(p, sizeof p, "[\"0x%x\"]", n);
    cJSON_Delete(tu_anvil_call(url, "anvil_mine", p));
}

static struct anvil_run anvil;
static struct harness *ah;

static bool delivered_n(struct harness *h)
{
    struct evm_watch_stats s;
    evm_watch_stats(h->w, &s);
    return h->ngot >= (size_t)h->handed_target && !s.awaiting_engine && store_pending(h->st) == 0;
}

static void anvil_open_watch(struct harness *h)
{
    struct rpc_endpoint_config ep = {anvil.url, "anvil"};
    struct rpc_config rc = {.endpoints = &ep, .n_endpoints = 1, .timeout_ms = 5000, .seed = 1};
    assert_int_equal(rpc_client_new(h->loop, &rc, &h->rpc), FERRY_OK);
    assert_int_equal(store_open(&h->st, "leveldb", h->dir), FERRY_OK);
    loop_hook_start(&h->flush);
    h_watch(h);
}

/* Every event handed over once, and still on the chain (its block's hash unchanged). */
static void anvil_check_delivered(struct harness *h, uint64_t first_seq, size_t n)
{
    assert_int_equal(h->ngot, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(h->got[i].seq, first_seq + i);
        uint8_t hash[32];
        anvil_hash_at(anvil.url, h->got[i].block, hash);
        assert_memory_equal(h->got[i].block_hash, hash, 32);
        assert_true(h->got[i].ts > 0);
    }
}

static void anvil_watch(void **state)
{
    const char *why;
    if (access("build/contracts/Gateway.json", R_OK) != 0) {
        fprintf(stderr, "# skipped: build/contracts/Gateway.json not built (make contracts)\n");
        skip();
    }
    if (!anvil_start(&anvil, &why, NULL)) {
        fprintf(stderr, "# skipped: %s\n", why);
        skip();
    }
    const char *url = anvil.url;
    /* The Gateway, with one attester (dev key 1) and a threshold of 1. */
    char gateway[43];
    uint64_t deployed = 0;
    anvil_deploy(url, "Gateway", "(address,address[],uint8)",
                 (const char *[]){ANVIL_DEV0, "[0x70997970c51812dc3a010c7d01b50e0d17dc79c8]", "1"}, 3, gateway,
                 &deployed);

    ah = calloc(1, sizeof *ah);
    struct harness *h = ah;
    assert_int_equal(loop_new(&h->loop), FERRY_OK);
    snprintf(h->dir, sizeof h->dir, "/tmp/ferry-watch-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    loop_hook_init(h->loop, &h->flush, on_flush, h);
    memset(&h->cfg, 0, sizeof h->cfg);
    h->cfg.chain_id = 31337;
    h->cfg.confirmations = 3;
    h->cfg.poll_ms = 30;
    h->cfg.range_max = 4;
    h->cfg.start_block = deployed;
    assert_int_equal(hex_decode_exact(h->cfg.gateway, 20, gateway, HEX_PREFIX_REQUIRED), FERRY_OK);
    h->anvil_mode = true;

    /* Five packets, confirmed by three more blocks. */
    for (int i = 1; i <= 5; i++)
        anvil_send_packet(url, gateway, i);
    anvil_mine(url, 3);
    anvil_open_watch(h);
    h->handed_target = 5;
    run_until(h, delivered_n, 10000, "five packets from anvil");
    run_for(h, 100);
    anvil_check_delivered(h, 1, 5);
    assert_int_equal(h->napps, 1); /* AttestersChanged, from the constructor */

    /* A restart: the next packets come, the first five never again. */
    h_close_watch(h);
    for (int i = 6; i <= 7; i++)
        anvil_send_packet(url, gateway, i);
    anvil_mine(url, 3);
    anvil_open_watch(h);
    h->handed_target = 7;
    run_until(h, delivered_n, 10000, "two more after the restart");
    run_for(h, 100);
    anvil_check_delivered(h, 1, 7);
    assert_int_equal(h->napps, 1);

    /* A reorg shallower than the confirmation depth: a packet sent in the head block, then the
     * two newest blocks replaced. Nothing delivered changes, nothing is reported. */
    anvil_send_packet(url, gateway, 8);
    cJSON_Delete(tu_anvil_call(url, "anvil_reorg", "[2,[]]"));
    anvil_mine(url, 4);
    run_for(h, 400);
    assert_int_equal(h->reorgs, 0);
    for (size_t i = 0; i < h->ngot; i++) /* each sequence once, and every block still there */
        for (size_t j = i + 1; j < h->ngot; j++)
            assert_int_not_equal(h->got[i].seq, h->got[j].seq);
    anvil_check_delivered(h, 1, h->ngot);
    struct evm_watch_stats st;
    evm_watch_stats(h->w, &st);
    assert_false(st.paused);

    /* A reorg as deep as the confirmation depth: a packet is delivered from the confirmed
     * head, then the three newest blocks (the confirmed one among them) are replaced. */
    size_t before = h->ngot;
    assert_int_equal(before, 7); /* the packet of the dropped block never came */
    for (size_t i = 0; i < before; i++)
        assert_int_equal(h->got[i].tag, (int)i + 1);
    anvil_send_packet(url, gateway, 9);
    anvil_mine(url, 2);
    h->handed_target = (int)before + 1;
    run_until(h, delivered_n, 10000, "the packet before the deep reorg");
    assert_int_equal(h->got[before].tag, 9);
    assert_int_equal(h->got[before].seq, 8); /* the Gateway's sequence went back with the reorg */
    uint64_t block = h->got[before].block;
    cJSON_Delete(tu_anvil_call(url, "anvil_reorg", "[3,[]]"));
    run_until(h, paused, 10000, "the deep reorg report");
    assert_int_equal(h->reorgs, 1);
    assert_true(h->reorg_from <= block);
    evm_watch_stats(h->w, &st);
    assert_true(st.paused);
    assert_int_equal(st.deep_reorgs, 1);
    struct evm_cursor c;
    assert_int_equal(evm_cursor_load(h->st, 31337, &c), FERRY_OK);
    assert_true(c.paused);
    assert_true(c.next <= block);
    evm_cursor_clear(&c);
}

static int anvil_watch_end(void **state)
{
    if (ah) {
        if (ah->w || ah->rpc || ah->st)
            h_close_watch(ah);
        if (ah->loop)
            loop_free(ah->loop);
        if (ah->dir[0])
            rm_rf(ah->dir);
        free(ah);
        ah = NULL;
    }
    anvil_stop(&anvil);
    return 0;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(bad_config_and_corrupt_cursor),
        cmocka_unit_test(cursor_waits_for_events_done),
        cmocka_unit_test(restart_resumes_from_the_cursor),
        cmocka_unit_test(shallow_reorg_changes_nothing),
        cmocka_unit_test(deep_reorg_pauses_until_resumed),
        cmocka_unit_test(unchanged_head_is_not_scanned_again),
        cmocka_unit_test(reorg_below_the_window),
        cmocka_unit_test_teardown(anvil_watch, anvil_watch_end),
    };
    size_t nfixed = sizeof fixed / sizeof fixed[0];
    faults = tu_load_vectors("evm_watch/faults.json");
    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(faults, "limit_variants");
    size_t max = nfixed + 128;
    struct CMUnitTest *tests = calloc(max, sizeof *tests);
    struct scenario *scs = calloc(128, sizeof *scs);
    static char names[128][96];
    memcpy(tests, fixed, sizeof fixed);
    size_t nt = nfixed, ns = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(lv, "variants"))
    {
        scs[ns] = (struct scenario){v, cJSON_GetObjectItemCaseSensitive(lv, "rule"),
                                    cJSON_GetObjectItemCaseSensitive(lv, "expect")};
        snprintf(names[ns], sizeof names[ns], "limit/%s", cJSON_GetObjectItemCaseSensitive(v, "name")->valuestring);
        tests[nt++] = (struct CMUnitTest){.name = names[ns], .test_func = run_scenario, .initial_state = &scs[ns]};
        ns++;
    }
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(faults, "scenarios"))
    {
        scs[ns] = (struct scenario){v, NULL, NULL};
        snprintf(names[ns], sizeof names[ns], "fault/%s", cJSON_GetObjectItemCaseSensitive(v, "name")->valuestring);
        tests[nt++] = (struct CMUnitTest){.name = names[ns], .test_func = run_scenario, .initial_state = &scs[ns]};
        ns++;
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
    cJSON_Delete(faults);
    free(tests);
    free(scs);
    return rc;
}
