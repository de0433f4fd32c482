/* The protocol's event decoder (chains/evm/events.c).
 *
 *  - The signatures recorded in events.c against the compiled ABI: tests/vectors/evm_watch/
 *    topics.json (made from the ABI by scripts/vectors/evm_watch.sh) always, and the artifacts in
 *    build/contracts/ when they are built, so a contract change that breaks the decoder fails here.
 *  - Logs recorded from the real contracts on anvil (tests/vectors/evm_watch/anvil_logs.json):
 *    every field decoded as cast decodes it.
 *  - Every app event built from its signature, encoded and decoded back.
 *  - Malformed logs, hand-made from recorded ones and at random: an error with a message, never
 *    a crash, never a half-filled event. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "evm/events.h"
#include "ferry/abi.h"
#include "ferry/buf.h"
#include "ferry/hex.h"
#include "ferry/keccak.h"
#include "testutil.h"

static const char *const contract_of[] = {"Gateway", "TokenVault", "IntentRouter"};

static struct evm_decoder *decoder(void)
{
    struct evm_decoder *d;
    assert_int_equal(evm_decoder_new(&d), FERRY_OK);
    return d;
}

static const char *event_name(const struct evm_event_def *def)
{
    static char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(def->signature, "("), def->signature);
    return name;
}

/* ---- the signatures against the ABI ---- */

static void check_against(const struct evm_decoder *d, const char *contract, const char *name, const char *canonical,
                          const uint8_t topic0[32], const char *where)
{
    for (size_t i = 0; i < evm_event_count(); i++) {
        const struct evm_event_def *def = evm_event_def(i);
        if (strcmp(contract_of[def->source], contract) != 0 || strcmp(event_name(def), name) != 0)
            continue;
        const struct abi_sig *sig = evm_decoder_sig(d, i);
        if (strcmp(sig->canonical, canonical) != 0)
            fail_msg("%s: %s.%s is %s in the ABI, events.c says %s", where, contract, name, canonical, sig->canonical);
        if (memcmp(evm_decoder_topic0(d, i), topic0, 32) != 0)
            fail_msg("%s: topic0 of %s differs", where, canonical);
    }
}

/* Every event of the table must be in the ABI list. */
static void all_found(const char *const *names, const char *const *contracts, size_t n, const char *where)
{
    for (size_t i = 0; i < evm_event_count(); i++) {
        const struct evm_event_def *def = evm_event_def(i);
        bool found = false;
        for (size_t k = 0; k < n; k++)
            found |= strcmp(names[k], event_name(def)) == 0 && strcmp(contracts[k], contract_of[def->source]) == 0;
        if (!found)
            fail_msg("%s: %s.%s (decoded by events.c) is not in the ABI any more", where, contract_of[def->source],
                     event_name(def));
    }
}

static void topics_match_the_recorded_abi(void **state)
{
    struct evm_decoder *d = decoder();
    cJSON *v = tu_load_vectors("evm_watch/topics.json");
    const char *names[128], *contracts[128];
    size_t n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(v, "events"))
    {
        uint8_t t[32];
        assert_int_equal(hex_decode_exact(t, 32, cJSON_GetObjectItemCaseSensitive(e, "topic0")->valuestring,
                                          HEX_PREFIX_REQUIRED),
                         FERRY_OK);
        const char *contract = cJSON_GetObjectItemCaseSensitive(e, "contract")->valuestring;
        const char *name = cJSON_GetObjectItemCaseSensitive(e, "name")->valuestring;
        const char *canonical = cJSON_GetObjectItemCaseSensitive(e, "canonical")->valuestring;
        /* our keccak agrees with cast's on the canonical text */
        uint8_t mine[32];
        keccak256(mine, canonical, strlen(canonical));
        assert_memory_equal(mine, t, 32);
        check_against(d, contract, name, canonical, t, "topics.json");
        assert_true(n < 128);
        names[n] = name;
        contracts[n++] = contract;
    }
    all_found(names, contracts, n, "topics.json");
    cJSON_Delete(v);
    evm_decoder_free(d);
}

static void topics_match_the_built_abi(void **state)
{
    struct evm_decoder *d = decoder();
    const char *names[128], *contracts[128];
    char *owned[128];
    size_t n = 0;
    cJSON *docs[3] = {0};
    for (int c = 0; c < 3; c++) {
        char path[128];
        snprintf(path, sizeof path, "build/contracts/%s.json", contract_of[c]);
        if (access(path, R_OK) != 0) {
            fprintf(stderr, "# skipped: %s not built (make contracts); checked against topics.json only\n", path);
            for (int k = 0; k < c; k++)
                cJSON_Delete(docs[k]);
            for (size_t k = 0; k < n; k++)
                free(owned[k]);
            evm_decoder_free(d);
            skip();
        }
        size_t len;
        char *text = tu_read_file(path, &len);
        docs[c] = cJSON_Parse(text);
        free(text);
        assert_non_null(docs[c]);
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(docs[c], "abi"))
        {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
            if (!cJSON_IsString(type) || strcmp(type->valuestring, "event") != 0)
                continue;
            /* canonical = name(type,type,...) from the ABI's inputs */
            struct fbuf b;
            fbuf_init(&b, 4096);
            const char *name = cJSON_GetObjectItemCaseSensitive(item, "name")->valuestring;
            assert_int_equal(fbuf_printf(&b, "%s(", name), FERRY_OK);
            const cJSON *in;
            bool first = true;
            cJSON_ArrayForEach(in, cJSON_GetObjectItemCaseSensitive(item, "inputs"))
            {
                const char *t = cJSON_GetObjectItemCaseSensitive(in, "type")->valuestring;
                assert_true(strncmp(t, "tuple", 5) != 0); /* none of ours; would need expanding */
                assert_int_equal(fbuf_printf(&b, "%s%s", first ? "" : ",", t), FERRY_OK);
                first = false;
            }
            assert_int_equal(fbuf_addstr(&b, ")"), FERRY_OK);
            uint8_t t0[32];
            keccak256(t0, b.data, b.len);
            check_against(d, contract_of[c], name, (const char *)b.data, t0, "build/contracts");
            assert_true(n < 128);
            owned[n] = strdup(name);
            names[n] = owned[n];
            contracts[n++] = contract_of[c];
            fbuf_free(&b);
        }
    }
    all_found(names, contracts, n, "build/contracts");
    for (size_t k = 0; k < n; k++)
        free(owned[k]);
    for (int c = 0; c < 3; c++)
        cJSON_Delete(docs[c]);
    evm_decoder_free(d);
}

/* ---- recorded logs ---- */

static uint64_t be64_get(const uint8_t p[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void hexs(char *out, const uint8_t *p, size_t n) { hex_encode(out, p, n, true); }

/* The fields of a chain event, as cast prints them, in the event's declaration order. */
static size_t chain_fields(const struct chain_event *ev, char f[8][4200])
{
    size_t n = 0;
    hexs(f[n++], ev->packet_id, 32);
    switch (ev->kind) {
    case CHAIN_EV_PACKET_SENT:
        snprintf(f[n++], 4200, "%" PRIu64, ev->packet.dst_chain);
        snprintf(f[n++], 4200, "%" PRIu64, ev->packet.sequence);
        hexs(f[n++], ev->packet.sender, 32);
        hexs(f[n++], ev->packet.receiver, 32);
        snprintf(f[n++], 4200, "%" PRIu64, ev->packet.timeout_ts);
        hexs(f[n++], ev->packet.payload, ev->packet.payload_len);
        break;
    case CHAIN_EV_PACKET_RECEIVED:
        snprintf(f[n++], 4200, "%" PRIu64, ev->packet.src_chain);
        snprintf(f[n++], 4200, "%" PRIu64, ev->packet.sequence);
        snprintf(f[n++], 4200, "%s", ev->ack.success ? "true" : "false");
        hexs(f[n++], ev->ack.result, ev->ack.result_len);
        break;
    case CHAIN_EV_PACKET_SKIPPED:
        snprintf(f[n++], 4200, "%" PRIu64, ev->packet.src_chain);
        snprintf(f[n++], 4200, "%" PRIu64, ev->packet.sequence);
        snprintf(f[n++], 4200, "%d", ev->skip_reason == CHAIN_SKIP_ALREADY_RECEIVED ? 1
                                     : ev->skip_reason == CHAIN_SKIP_TIMED_OUT      ? 2
                                                                                    : 0);
        break;
    case CHAIN_EV_PACKET_ACKED:
        snprintf(f[n++], 4200, "%" PRIu64, ev->packet.sequence);
        snprintf(f[n++], 4200, "%s", ev->ack.success ? "true" : "false");
        break;
    case CHAIN_EV_PACKET_TIMED_OUT:
        snprintf(f[n++], 4200, "%" PRIu64, ev->packet.sequence);
        snprintf(f[n++], 4200, "%" PRIu64, ev->proof_timestamp);
        break;
    default:
        fail();
    }
    return n;
}


/* ---- the two parsers: the tree path (evm_logs_parse) and the text path (evm_logs_parse_text) ---- */

static void assert_logs_equal(const struct evm_logs *a, const struct evm_logs *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const struct evm_log *x = &a->logs[i], *y = &b->logs[i];
        assert_memory_equal(x->address, y->address, 20);
        assert_int_equal(x->n_topics, y->n_topics);
        assert_memory_equal(x->topics, y->topics, 32 * x->n_topics);
        assert_int_equal(x->data_len, y->data_len);
        if (x->data_len)
            assert_memory_equal(x->data, y->data, x->data_len);
        assert_int_equal(x->block_number, y->block_number);
        assert_memory_equal(x->block_hash, y->block_hash, 32);
        assert_memory_equal(x->tx_hash, y->tx_hash, 32);
        assert_int_equal(x->tx_index, y->tx_index);
        assert_int_equal(x->log_index, y->log_index);
        assert_int_equal(x->removed, y->removed);
        assert_int_equal(x->has_block_timestamp, y->has_block_timestamp);
        assert_int_equal(x->block_timestamp, y->block_timestamp);
    }
}

/* The tree path, then the same result printed and parsed from its text: the same outcome, the
 * same logs. The message left is the text path's. */
static enum ferry_err parse_both(struct evm_logs *out, const cJSON *result, size_t max_logs)
{
    enum ferry_err e = evm_logs_parse(out, result, max_logs);
    char *text = result ? cJSON_PrintUnformatted(result) : strdup("");
    assert_non_null(text);
    struct evm_logs t;
    enum ferry_err et = evm_logs_parse_text(&t, text, strlen(text), max_logs);
    if (e != et)
        fail_msg("tree path %d, text path %d (%s) on %.200s", (int)e, (int)et, ferry_errmsg(), text);
    if (e) {
        assert_null(t.logs);
        assert_int_equal(t.n, 0);
    } else {
        assert_logs_equal(out, &t);
        evm_logs_free(&t);
    }
    free(text);
    return e;
}

/* What the tree path makes of a result's text as the RPC client reads a reply: cJSON's parse,
 * nothing but JSON whitespace after it, then evm_logs_parse. */
static enum ferry_err tree_of_text(struct evm_logs *out, const char *text, size_t len, size_t max_logs)
{
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    cJSON *j = len ? cJSON_ParseWithLengthOpts(text, len, &end, false) : NULL;
    if (!j)
        return FERRY_EINVAL;
    for (; end < text + len; end++)
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            cJSON_Delete(j);
            return FERRY_EINVAL;
        }
    enum ferry_err e = evm_logs_parse(out, j, max_logs);
    cJSON_Delete(j);
    return e;
}

/* Both parsers on the same text: same accept/refuse (and code), same logs. Returns the code. */
static enum ferry_err differ(const char *text, size_t len, size_t max_logs)
{
    struct evm_logs a, b;
    enum ferry_err ea = tree_of_text(&a, text, len, max_logs);
    enum ferry_err eb = evm_logs_parse_text(&b, text, len, max_logs);
    if (ea != eb) {
        fprintf(stderr, "tree %d text %d (%s) on %zu bytes:\n", (int)ea, (int)eb, ferry_errmsg(), len);
        fwrite(text, 1, len, stderr);
        fprintf(stderr, "\n");
        fail();
    }
    if (!ea) {
        assert_logs_equal(&a, &b);
        evm_logs_free(&a);
        evm_logs_free(&b);
    } else {
        assert_null(b.logs);
        assert_true(ferry_errmsg()[0] != 0);
    }
    return ea;
}

struct recorded {
    cJSON *v;
    struct evm_logs logs;
    uint8_t gateway[20], vault[20];
    uint64_t chain_id;
};

static void recorded_load(struct recorded *r)
{
    r->v = tu_load_vectors("evm_watch/anvil_logs.json");
    r->chain_id = (uint64_t)cJSON_GetObjectItemCaseSensitive(r->v, "chain_id")->valuedouble;
    assert_int_equal(hex_decode_exact(r->gateway, 20, cJSON_GetObjectItemCaseSensitive(r->v, "gateway")->valuestring,
                                      HEX_PREFIX_REQUIRED),
                     FERRY_OK);
    assert_int_equal(hex_decode_exact(r->vault, 20, cJSON_GetObjectItemCaseSensitive(r->v, "vault")->valuestring,
                                      HEX_PREFIX_REQUIRED),
                     FERRY_OK);
    assert_int_equal(parse_both(&r->logs, cJSON_GetObjectItemCaseSensitive(r->v, "logs"), 1000), FERRY_OK);
}

static void recorded_free(struct recorded *r)
{
    evm_logs_free(&r->logs);
    cJSON_Delete(r->v);
}

static enum evm_source source_of(const struct recorded *r, const struct evm_log *l)
{
    return memcmp(l->address, r->gateway, 20) == 0 ? EVM_SRC_GATEWAY : EVM_SRC_VAULT;
}

static uint64_t block_time(const struct recorded *r, uint64_t number, uint8_t hash[32])
{
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(r->v, "blocks"))
    {
        uint64_t n, ts;
        assert_int_equal(hex_quantity_u64(&n, cJSON_GetObjectItemCaseSensitive(b, "number")->valuestring), FERRY_OK);
        if (n != number)
            continue;
        assert_int_equal(hex_quantity_u64(&ts, cJSON_GetObjectItemCaseSensitive(b, "timestamp")->valuestring),
                         FERRY_OK);
        assert_int_equal(hex_decode_exact(hash, 32, cJSON_GetObjectItemCaseSensitive(b, "hash")->valuestring,
                                          HEX_PREFIX_REQUIRED),
                         FERRY_OK);
        return ts;
    }
    fail_msg("block %" PRIu64 " is not in the vector", number);
    return 0;
}

static void recorded_logs_decode_as_cast_does(void **state)
{
    struct evm_decoder *d = decoder();
    struct recorded r;
    recorded_load(&r);
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(r.v, "expect");
    assert_int_equal(r.logs.n, (size_t)cJSON_GetArraySize(expect));
    int seen[CHAIN_EV__COUNT] = {0}, apps = 0, others = 0;
    for (size_t i = 0; i < r.logs.n; i++) {
        const struct evm_log *l = &r.logs.logs[i];
        const cJSON *x = cJSON_GetArrayItem(expect, (int)i);
        const char *event = cJSON_GetObjectItemCaseSensitive(x, "event")->valuestring;
        const cJSON *fields = cJSON_GetObjectItemCaseSensitive(x, "fields");
        uint8_t hash[32];
        uint64_t ts = block_time(&r, l->block_number, hash);
        assert_memory_equal(l->block_hash, hash, 32);
        assert_true(l->has_block_timestamp); /* anvil sends it */
        assert_int_equal(l->block_timestamp, ts);
        enum evm_source src = source_of(&r, l);
        int k = evm_decoder_find(d, src, l->topics[0]);
        struct chain_event ev;
        struct evm_app_event app;
        enum evm_decoded what;
        if (k < 0) { /* OwnershipTransferred, PeerSet, ...: not ours to decode */
            for (size_t j = 0; j < evm_event_count(); j++)
                assert_string_not_equal(event_name(evm_event_def(j)), event);
            assert_int_not_equal(evm_decode_log(d, r.chain_id, src, l, ts, &what, &ev, &app), FERRY_OK);
            others++;
            continue;
        }
        assert_string_equal(event_name(evm_event_def((size_t)k)), event);
        assert_int_equal(evm_decode_log(d, r.chain_id, src, l, ts, &what, &ev, &app), FERRY_OK);
        const struct chain_event_origin *at = what == EVM_DECODED_CHAIN ? &ev.at : &app.at;
        assert_int_equal(at->chain_id, r.chain_id);
        assert_int_equal(at->block_number, l->block_number);
        assert_int_equal(at->block_timestamp, ts);
        assert_int_equal(at->log_index, l->log_index);
        assert_memory_equal(at->block_hash, hash, 32);
        assert_memory_equal(at->tx_hash, l->tx_hash, 32);
        if (what == EVM_DECODED_CHAIN) {
            assert_true(evm_event_def((size_t)k)->is_chain);
            assert_int_equal(ev.kind, evm_event_def((size_t)k)->chain_kind);
            seen[ev.kind]++;
            static char f[8][4200];
            size_t n = chain_fields(&ev, f);
            assert_int_equal(n, (size_t)cJSON_GetArraySize(fields));
            for (size_t j = 0; j < n; j++)
                if (strcmp(f[j], cJSON_GetArrayItem(fields, (int)j)->valuestring) != 0)
                    fail_msg("log %zu %s field %zu: %s, cast says %s", i, event, j, f[j],
                             cJSON_GetArrayItem(fields, (int)j)->valuestring);
            /* the side the log does not carry is this chain */
            if (ev.kind == CHAIN_EV_PACKET_SENT || ev.kind == CHAIN_EV_PACKET_ACKED ||
                ev.kind == CHAIN_EV_PACKET_TIMED_OUT)
                assert_int_equal(ev.packet.src_chain, r.chain_id);
            else
                assert_int_equal(ev.packet.dst_chain, r.chain_id);
            if (ev.kind == CHAIN_EV_PACKET_SENT) {
                uint8_t id[32];
                evm_packet_id(&ev.packet, id); /* the contract's own packetId */
                assert_memory_equal(id, ev.packet_id, 32);
                assert_int_equal(evm_check_packet_id(&ev), FERRY_OK);
            }
        } else {
            assert_false(evm_event_def((size_t)k)->is_chain);
            assert_int_equal(app.kind, evm_event_def((size_t)k)->app_kind);
            assert_memory_equal(app.contract, l->address, 20);
            assert_int_equal(app.n_fields, (size_t)cJSON_GetArraySize(fields));
            for (size_t j = 0; j < app.n_fields; j++) {
                struct fbuf b;
                fbuf_init(&b, 1 << 16);
                assert_int_equal(abi_value_format(&b, &app.fields[j]), FERRY_OK);
                if (strcmp((const char *)b.data, cJSON_GetArrayItem(fields, (int)j)->valuestring) != 0)
                    fail_msg("log %zu %s field %zu: %s, cast says %s", i, event, j, (const char *)b.data,
                             cJSON_GetArrayItem(fields, (int)j)->valuestring);
                fbuf_free(&b);
            }
            apps++;
        }
    }
    /* The session emits every chain event, and some of each kind of app event. */
    for (int k = 0; k < CHAIN_EV__COUNT; k++)
        if (!seen[k])
            fail_msg("no %s in the recorded session", evm_chain_kind_name((enum chain_event_kind)k));
    assert_true(apps >= 6);
    assert_true(others >= 3);
    recorded_free(&r);
    evm_decoder_free(d);
}

/* ---- every app event, built from its signature ---- */

static const char *sample_text(const struct abi_type *t, unsigned salt, char *buf, size_t n)
{
    switch (t->kind) {
    case ABI_UINT: snprintf(buf, n, "%u", 3 + salt % 200); break; /* fits a uint8 */
    case ABI_ADDRESS: snprintf(buf, n, "0x%040x", 0xabc0 + salt); break;
    case ABI_BOOL: snprintf(buf, n, "%s", salt & 1 ? "true" : "false"); break;
    case ABI_FIXED_BYTES: snprintf(buf, n, "0x%064x", 0x5150 + salt); break;
    case ABI_BYTES: snprintf(buf, n, "0x%06x", 0x010203 + salt); break;
    case ABI_DYN_ARRAY: snprintf(buf, n, "[0x%040x, 0x%040x]", 0x11 + salt, 0x22 + salt); break;
    default: fail_msg("no sample for this type");
    }
    return buf;
}

static void app_events_round_trip(void **state)
{
    struct evm_decoder *d = decoder();
    int tried = 0;
    for (size_t i = 0; i < evm_event_count(); i++) {
        const struct evm_event_def *def = evm_event_def(i);
        if (def->is_chain)
            continue;
        const struct abi_sig *sig = evm_decoder_sig(d, i);
        size_t np = sig->params->count;
        const char *args[EVM_APP_MAX_FIELDS];
        char text[EVM_APP_MAX_FIELDS][128];
        for (size_t k = 0; k < np; k++)
            args[k] = sample_text(sig->params->members[k], (unsigned)(i * 16 + k), text[k], sizeof text[k]);
        struct abi_value *all;
        assert_int_equal(abi_args_parse(&all, sig->params, args, np), FERRY_OK);
        /* topics: topic0, then each indexed value's word; data: the rest, encoded */
        struct evm_log l = {.block_number = 9, .log_index = 3};
        l.address[19] = 0x77;
        memcpy(l.topics[l.n_topics++], sig->hash, 32);
        struct abi_value rest[EVM_APP_MAX_FIELDS];
        size_t nrest = 0;
        for (size_t k = 0; k < np; k++) {
            if (sig->params->members[k]->indexed) {
                struct fbuf w;
                fbuf_init(&w, 64);
                assert_int_equal(abi_encode(&w, &all->u.list.items[k]), FERRY_OK);
                assert_int_equal(w.len, 32);
                memcpy(l.topics[l.n_topics++], w.data, 32);
                fbuf_free(&w);
            } else {
                rest[nrest++] = all->u.list.items[k];
            }
        }
        struct abi_value tuple;
        assert_int_equal(abi_set_list(&tuple, sig->data, rest, nrest), FERRY_OK);
        struct fbuf data;
        fbuf_init(&data, 1 << 16);
        assert_int_equal(abi_encode(&data, &tuple), FERRY_OK);
        l.data = data.data;
        l.data_len = data.len;
        struct chain_event ev;
        struct evm_app_event app;
        enum evm_decoded what;
        assert_int_equal(evm_decode_log(d, 5, def->source, &l, 1234, &what, &ev, &app), FERRY_OK);
        assert_int_equal(what, EVM_DECODED_APP);
        assert_int_equal(app.kind, def->app_kind);
        assert_int_equal(app.at.block_timestamp, 1234);
        assert_int_equal(app.n_fields, np);
        for (size_t k = 0; k < np; k++)
            assert_true(abi_value_equal(&app.fields[k], &all->u.list.items[k]));
        /* the same log from another contract is nobody's event */
        enum evm_source other = def->source == EVM_SRC_ROUTER ? EVM_SRC_VAULT : EVM_SRC_ROUTER;
        assert_int_equal(evm_decode_log(d, 5, other, &l, 1234, &what, &ev, &app), FERRY_EINVAL);
        abi_value_free(all);
        fbuf_free(&data);
        tried++;
    }
    assert_int_equal(tried, EVM_APP__COUNT);
    evm_decoder_free(d);
}

/* ---- malformed ---- */

static const struct evm_log *first_of(const struct recorded *r, const struct evm_decoder *d, enum chain_event_kind kind)
{
    for (size_t i = 0; i < r->logs.n; i++) {
        const struct evm_log *l = &r->logs.logs[i];
        int k = evm_decoder_find(d, source_of(r, l), l->topics[0]);
        if (k >= 0 && evm_event_def((size_t)k)->is_chain && evm_event_def((size_t)k)->chain_kind == kind)
            return l;
    }
    fail_msg("no such log recorded");
    return NULL;
}

/* Refused by the decoder, or (a packet id that does not hash) by evm_check_packet_id. */
static void expect_refused(const struct evm_decoder *d, const struct evm_log *l, const char *why, const char *part)
{
    struct chain_event ev;
    struct evm_app_event app;
    enum evm_decoded what;
    memset(&ev, 0x5a, sizeof ev);
    enum ferry_err e = evm_decode_log(d, 31337, EVM_SRC_GATEWAY, l, 0, &what, &ev, &app);
    if (e == FERRY_OK && what == EVM_DECODED_CHAIN)
        e = evm_check_packet_id(&ev);
    else if (e != FERRY_OK) /* a refused event is zeroed, not half-filled */
        for (size_t i = 0; i < sizeof ev; i++) /* untouched (all 0x5a) or zeroed */
            if (((const uint8_t *)&ev)[i] != ((const uint8_t *)&ev)[0] ||
                (((const uint8_t *)&ev)[0] != 0 && ((const uint8_t *)&ev)[0] != 0x5a))
                fail_msg("%s: the event was left half-filled", why);
    if (e == FERRY_OK)
        fail_msg("%s: decoded", why);
    if (part && !strstr(ferry_errmsg(), part))
        fail_msg("%s: message \"%s\" does not say \"%s\"", why, ferry_errmsg(), part);
}

static void malformed_logs_are_refused(void **state)
{
    struct evm_decoder *d = decoder();
    struct recorded r;
    recorded_load(&r);
    const struct evm_log *sent = first_of(&r, d, CHAIN_EV_PACKET_SENT);
    uint8_t data[4096];
    assert_true(sent->data_len <= sizeof data);

    struct evm_log l = *sent;
    l.n_topics = 3;
    expect_refused(d, &l, "a topic short", "topics");
    l = *sent;
    l.n_topics = 0;
    expect_refused(d, &l, "no topics", "without topics");
    l = *sent;
    l.topics[2][0] = 1; /* dstChain: a uint64 word with high bytes set */
    expect_refused(d, &l, "non-canonical uint64 topic", "uint64");
    l = *sent;
    l.data_len -= 32;
    expect_refused(d, &l, "data cut short", NULL);
    l = *sent;
    l.data_len = 64;
    expect_refused(d, &l, "data of two words", NULL);
    l = *sent;
    memcpy(data, sent->data, sent->data_len);
    l.data = data;
    data[4 * 32 + 31] = 0xff; /* payload length far past the data */
    expect_refused(d, &l, "payload length too large", NULL);
    memcpy(data, sent->data, sent->data_len);
    data[sent->data_len - 1] ^= 1; /* the payload's padding is not zero (5-byte payload) */
    expect_refused(d, &l, "dirty padding", NULL);
    memcpy(data, sent->data, sent->data_len);
    data[32 + 5] ^= 1; /* the receiver changed: packetId no longer hashes from the packet */
    expect_refused(d, &l, "tampered receiver", "packetId");
    l = *sent;
    l.topics[1][7] ^= 0x10;
    expect_refused(d, &l, "tampered packetId", "packetId");
    l = *sent;
    l.topics[0][0] ^= 1;
    expect_refused(d, &l, "unknown topic0", "topic0");
    /* a Gateway log said to come from the vault */
    struct chain_event ev;
    struct evm_app_event app;
    enum evm_decoded what;
    assert_int_equal(evm_decode_log(d, 31337, EVM_SRC_VAULT, sent, 0, &what, &ev, &app), FERRY_EINVAL);

    const struct evm_log *recv = first_of(&r, d, CHAIN_EV_PACKET_RECEIVED);
    l = *recv;
    memcpy(data, recv->data, recv->data_len);
    l.data = data;
    data[31] = 2; /* success: a bool word of 2 */
    expect_refused(d, &l, "bool of 2", "bool");

    /* A PacketSent whose payload is over PACKET_PAYLOAD_MAX, with a consistent packetId. */
    size_t big = PACKET_PAYLOAD_MAX + 1, pad = (32 - big % 32) % 32;
    uint8_t *bd = calloc(1, 5 * 32 + big + pad);
    memcpy(bd, sent->data, 4 * 32);
    bd[4 * 32 + 29] = (uint8_t)(big >> 16);
    bd[4 * 32 + 30] = (uint8_t)(big >> 8);
    bd[4 * 32 + 31] = (uint8_t)big;
    struct packet p = {.src_chain = 31337, .dst_chain = 999, .payload = bd + 5 * 32, .payload_len = big};
    memcpy(p.sender, bd, 32);
    memcpy(p.receiver, bd + 32, 32);
    p.timeout_ts = be64_get(bd + 64 + 24);
    p.sequence = be64_get(sent->topics[3] + 24);
    l = *sent;
    l.data = bd;
    l.data_len = 5 * 32 + big + pad;
    evm_packet_id(&p, l.topics[1]);
    expect_refused(d, &l, "payload over the cap", "at most");
    free(bd);
    recorded_free(&r);
    evm_decoder_free(d);
}

static void logs_parse_strictly(void **state)
{
    struct evm_logs out;
    static const struct {
        const char *json, *part;
    } bad[] = {
        {"{}", "not an array"},
        {"[1]", "not an object"},
        {"[{}]", "missing"},
        {"[{\"address\":\"0x5fbdb2315678afecb367f032d93f642f64180aa\"}]", "address"},
        {"[{\"address\":\"5fbdb2315678afecb367f032d93f642f64180aa3\"}]", "address"},
        {"[{\"topics\":\"0x00\"}]", "topics"},
        {"[{\"topics\":[\"0x0000000000000000000000000000000000000000000000000000000000000000\",1]}]", "topics"},
        {"[{\"data\":\"0x0\"}]", "odd"},
        {"[{\"data\":\"00\"}]", "data"},
        {"[{\"blockNumber\":\"0x01\"}]", "blockNumber"},
        {"[{\"blockNumber\":17}]", "blockNumber"},
        {"[{\"logIndex\":\"0x100000000\"}]", "out of range"},
        {"[{\"removed\":\"no\"}]", "removed"},
        {"[{\"blockHash\":\"0x00\"}]", "blockHash"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *j = cJSON_Parse(bad[i].json);
        assert_non_null(j);
        assert_int_not_equal(parse_both(&out, j, 100), FERRY_OK);
        assert_null(out.logs);
        if (!strstr(ferry_errmsg(), bad[i].part))
            fail_msg("%s: message \"%s\" does not say \"%s\"", bad[i].json, ferry_errmsg(), bad[i].part);
        cJSON_Delete(j);
    }
    /* A bad log after good ones: nothing is returned, and the message names the log. */
    struct recorded r;
    recorded_load(&r);
    cJSON *logs = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(r.v, "logs"), true);
    cJSON *l7 = cJSON_GetArrayItem(logs, 7);
    cJSON_ReplaceItemInObjectCaseSensitive(l7, "data", cJSON_CreateString("0xzz"));
    assert_int_equal(parse_both(&out, logs, 100), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "log 7: data"));
    assert_int_equal(out.n, 0);
    /* The cap on the number of logs. */
    assert_int_equal(parse_both(&out, cJSON_GetObjectItemCaseSensitive(r.v, "logs"), 3), FERRY_ERANGE);
    assert_int_equal(parse_both(&out, cJSON_GetObjectItemCaseSensitive(r.v, "logs"), 0), FERRY_ERANGE);
    cJSON_Delete(logs);
    /* An empty reply is no logs. */
    cJSON *empty = cJSON_CreateArray();
    assert_int_equal(parse_both(&out, empty, 0), FERRY_OK);
    assert_int_equal(out.n, 0);
    evm_logs_free(&out);
    cJSON_Delete(empty);
    recorded_free(&r);
}

/* The hex decoder works eight digits at a time, then digit by digit: every position of a word
 * and of the tail refuses the characters next to the digit and letter ranges, and takes upper
 * case as lower case. */
static void hex_digits_every_position(void **state)
{
    struct recorded r;
    recorded_load(&r);
    const cJSON *log0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.v, "logs"), 5); /* a PacketSent */
    const char *data = cJSON_GetObjectItemCaseSensitive(log0, "data")->valuestring;
    size_t len = strlen(data);
    assert_true(len > 2 + 64);
    struct evm_logs ref, out;
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, cJSON_Duplicate(log0, true));
    assert_int_equal(parse_both(&ref, arr, 10), FERRY_OK);
    cJSON *l = cJSON_GetArrayItem(arr, 0);
    char *buf = strdup(data);
    for (size_t i = 2; i < len; i++) /* upper case: the same bytes */
        if (buf[i] >= 'a' && buf[i] <= 'f')
            buf[i] = (char)(buf[i] - 'a' + 'A');
    cJSON_ReplaceItemInObjectCaseSensitive(l, "data", cJSON_CreateString(buf));
    assert_int_equal(parse_both(&out, arr, 10), FERRY_OK);
    assert_int_equal(out.logs[0].data_len, ref.logs[0].data_len);
    assert_memory_equal(out.logs[0].data, ref.logs[0].data, ref.logs[0].data_len);
    evm_logs_free(&out);
    static const char near[] = "/:@G`gx \\";
    for (size_t pos = 2; pos < 2 + 16; pos++) { /* both halves of the first words */
        for (size_t c = 0; c < sizeof near - 1; c++) {
            strcpy(buf, data);
            buf[pos] = near[c];
            cJSON_ReplaceItemInObjectCaseSensitive(l, "data", cJSON_CreateString(buf));
            assert_int_equal(parse_both(&out, arr, 10), FERRY_EINVAL);
        }
    }
    for (size_t pos = len - 6; pos < len; pos++) { /* the last digits */
        strcpy(buf, data);
        buf[pos] = 'g';
        cJSON_ReplaceItemInObjectCaseSensitive(l, "data", cJSON_CreateString(buf));
        assert_int_equal(parse_both(&out, arr, 10), FERRY_EINVAL);
    }
    /* A topic one digit short, one digit long. */
    const char *t1 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(log0, "topics"), 1)->valuestring;
    char topic[80];
    snprintf(topic, sizeof topic, "%.65s", t1);
    cJSON_ReplaceItemInArray(cJSON_GetObjectItemCaseSensitive(l, "topics"), 1, cJSON_CreateString(topic));
    cJSON_ReplaceItemInObjectCaseSensitive(l, "data", cJSON_CreateString(data));
    assert_int_equal(parse_both(&out, arr, 10), FERRY_EINVAL);
    snprintf(topic, sizeof topic, "%s0", t1);
    cJSON_ReplaceItemInArray(cJSON_GetObjectItemCaseSensitive(l, "topics"), 1, cJSON_CreateString(topic));
    assert_int_equal(parse_both(&out, arr, 10), FERRY_EINVAL);
    free(buf);
    evm_logs_free(&ref);
    cJSON_Delete(arr);
    recorded_free(&r);
}


/* ---- differential: the text parser against cJSON + evm_logs_parse, at random ---- */

struct gbuf {
    char *p;
    size_t n, cap;
};

static void gput(struct gbuf *g, const char *s, size_t n)
{
    if (g->n + n + 1 > g->cap) {
        g->cap = 2 * (g->n + n + 1);
        g->p = realloc(g->p, g->cap);
        assert_non_null(g->p);
    }
    memcpy(g->p + g->n, s, n);
    g->n += n;
    g->p[g->n] = 0;
}

static void gs(struct gbuf *g, const char *s) { gput(g, s, strlen(s)); }

static void gws(struct gbuf *g)
{
    static const char w[] = " \t\r\n\x01\x1f ";
    if (tu_rand() % 4 == 0)
        for (int k = (int)(tu_rand() % 3); k >= 0; k--)
            gput(g, &w[tu_rand() % (sizeof w - 1)], 1);
}

/* A JSON string of s, some of its bytes as escapes (\u00xx, upper or lower case, or \/). */
static void gstr(struct gbuf *g, const char *s)
{
    gs(g, "\"");
    bool esc = tu_rand() % 6 == 0;
    for (; *s; s++) {
        if (esc && tu_rand() % 5 == 0) {
            char e[8];
            if (*s == '/')
                gs(g, "\\/");
            else {
                snprintf(e, sizeof e, tu_rand() % 2 ? "\\u%04x" : "\\u%04X", (unsigned char)*s);
                gs(g, e);
            }
        } else {
            gput(g, s, 1);
        }
    }
    gs(g, "\"");
}

static void ghex(struct gbuf *g, size_t nbytes, bool upper)
{
    char h[2 + 2 * 600 + 1] = "0x";
    for (size_t i = 0; i < 2 * nbytes; i++)
        h[2 + i] = (upper ? "0123456789ABCDEF" : "0123456789abcdef")[tu_rand() % 16];
    h[2 + 2 * nbytes] = 0;
    gstr(g, h);
}

static void gquantity(struct gbuf *g, uint64_t max)
{
    char q[19];
    uint64_t v = tu_rand();
    switch (tu_rand() % 4) {
    case 0: v = 0; break;
    case 1: v %= 1000; break;
    case 2: v = max; break;
    default: v = max ? v % max : 0; break;
    }
    hex_u64_quantity(q, v);
    gstr(g, q);
}

static void gjunk(struct gbuf *g, int depth)
{
    switch (tu_rand() % (depth > 3 ? 6 : 8)) {
    case 0: gs(g, "null"); break;
    case 1: gs(g, tu_rand() % 2 ? "true" : "false"); break;
    case 2: gs(g, (const char *[]){"0", "-1", "12.5e3", "1E+2", "-0.0", "123456789012345678901234567890"}[tu_rand() % 6]); break;
    case 3: gstr(g, (const char *[]){"", "x", "0x", "a\"b", "tab\there", "\xc3\xa9", "{[]}"}[tu_rand() % 7]); break;
    case 4: gs(g, "\"\\ud83d\\ude00 \\\\ \\b\\f\\n\\r\\t\""); break;
    case 5: gs(g, "\"\\u00e9\\u0000tail\""); break;
    case 6:
    case 7: {
        bool obj = tu_rand() % 2;
        gs(g, obj ? "{" : "[");
        int n = (int)(tu_rand() % 3);
        for (int i = 0; i < n; i++) {
            if (i)
                gs(g, ",");
            gws(g);
            if (obj) {
                gstr(g, (const char *[]){"k", "address", "data", ""}[tu_rand() % 4]);
                gs(g, ":");
            }
            gjunk(g, depth + 1);
            gws(g);
        }
        gs(g, obj ? "}" : "]");
        break;
    }
    }
}

static void gmember(struct gbuf *g, int which)
{
    static const char *const names[] = {"address", "topics", "data", "blockNumber", "blockHash", "transactionHash",
                                        "transactionIndex", "logIndex", "removed", "blockTimestamp", "extra"};
    gws(g);
    gstr(g, which == 10 ? (const char *[]){"transactionHashes", "x", "blockhash", "logIndex2"}[tu_rand() % 4]
                        : names[which]);
    gws(g);
    gs(g, ":");
    gws(g);
    bool upper = tu_rand() % 8 == 0;
    switch (which) {
    case 0: ghex(g, 20, upper); break;
    case 1: {
        gs(g, "[");
        size_t n = tu_rand() % 5;
        if (tu_rand() % 20 == 0)
            n = 5;
        for (size_t i = 0; i < n; i++) {
            if (i)
                gs(g, ",");
            gws(g);
            ghex(g, 32, upper);
            gws(g);
        }
        gs(g, "]");
        break;
    }
    case 2: ghex(g, tu_rand() % 4 == 0 ? tu_rand() % 600 : 32 * (tu_rand() % 8), upper); break;
    case 3: gquantity(g, UINT64_MAX); break;
    case 4:
    case 5: ghex(g, 32, upper); break;
    case 6:
    case 7: gquantity(g, tu_rand() % 10 ? UINT32_MAX : UINT64_MAX); break;
    case 8: gs(g, tu_rand() % 2 ? "true" : "false"); break;
    case 9: gquantity(g, UINT64_MAX); break;
    default: gjunk(g, 0); break;
    }
    gws(g);
}

/* A random eth_getLogs result: valid but for the odd missing, repeated or out-of-range member. */
static void gen_logs(struct gbuf *g, size_t nlogs)
{
    g->n = 0;
    gws(g);
    gs(g, "[");
    for (size_t i = 0; i < nlogs; i++) {
        if (i)
            gs(g, ",");
        gws(g);
        gs(g, "{");
        int order[16], n = 0;
        for (int m = 0; m < 11; m++) {
            if (m < 8 && tu_rand() % 40 == 0)
                continue; /* a required member missing */
            if (m >= 8 && tu_rand() % 2)
                continue;
            order[n++] = m;
            if (tu_rand() % 30 == 0)
                order[n++] = m; /* twice */
        }
        for (int k = n - 1; k > 0; k--) {
            int j = (int)(tu_rand() % (uint64_t)(k + 1)), t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        for (int k = 0; k < n; k++) {
            if (k)
                gs(g, ",");
            gmember(g, order[k]);
        }
        gs(g, "}");
        gws(g);
    }
    gs(g, "]");
    gws(g);
}

static void mutate(struct gbuf *g)
{
    static const char alphabet[] = "0123456789abcdefABCDEFxX\",:[]{}-+.eE ntrufl\\u/\t\n\x01\x00\xef\xbb\xbf";
    int nmut = 1 + (int)(tu_rand() % 4);
    for (int m = 0; m < nmut && g->n; m++) {
        size_t at = (size_t)(tu_rand() % g->n);
        char c = alphabet[tu_rand() % (sizeof alphabet - 1)];
        switch (tu_rand() % 4) {
        case 0: g->n = at; break; /* truncated */
        case 1: /* a byte inserted */
            gput(g, "", 1);
            memmove(g->p + at + 1, g->p + at, g->n - 1 - at);
            g->p[at] = c;
            break;
        case 2: memmove(g->p + at, g->p + at + 1, g->n - at - 1); g->n--; break; /* removed */
        default: g->p[at] = c; break;
        }
    }
}

static void parsers_agree_at_random(void **state)
{
    struct gbuf g = {0};
    int ok[2] = {0}, refused[2] = {0};
    for (int round = 0; round < 4000; round++) {
        gen_logs(&g, tu_rand() % 5);
        size_t max = tu_rand() % 8 == 0 ? tu_rand() % 3 : 100;
        bool damaged = round % 2;
        if (damaged)
            mutate(&g);
        if (differ(g.p, g.n, max))
            refused[damaged]++;
        else
            ok[damaged]++;
    }
    /* both outcomes, with and without damage, or the test proves little */
    assert_true(ok[0] > 100 && refused[0] > 100);
    assert_true(ok[1] > 20 && refused[1] > 500);
    free(g.p);
}

/* What cJSON's grammar does at its edges, one case at a time. */
static void parsers_agree_on_edges(void **state)
{
    static const char *const cases[] = {
        "", " ", "[]", " [ ] \n", "[] x", "[]\x01", "\xef\xbb\xbf[]", "\xef\xbb\xbf[", "{}", "[1]", "[{}]", "[,]", "[{},]",
        "[{\"a\":1,}]", "[{\"a\" 1}]", "[{\"a\":01}]", "[{\"a\":-}]", "[{\"a\":1.2.3}]", "[{\"a\":+1}]",
        "[{\"a\":1e}]", "[{\"a\":.5}]", "[{\"a\":-.5}]", "[{\"a\":nul}]", "[{\"a\":\"\\x\"}]", "[{\"a\":\"\\u12\"}]",
        "[{\"a\":\"\\uzzzz\"}]", "[{\"a\":\"\\ud800\"}]", "[{\"a\":\"\\udc00\"}]", "[{\"a\":\"\\ud800\\u0041\"}]",
        "[{\"a\":\"\\", "[{\"a\":\"abc", "[{\"a\":[[[[]]]]}]", "[{\"a\":{\"b\":{}}}]", "[{1:2}]",
        "[{\"a\":\"\x01\x02\"}]", "[\"x\"]", "[null]", "[{\"removed\":null}]", "[{\"blockNumber\":null}]",
        "[{\"topics\":[\"0x\",]}]", "[{\"data\":\"0x\\u0000zz\"}]",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        (void)differ(cases[i], strlen(cases[i]), 10);
    /* embedded NUL bytes (cJSON reads the string up to them) */
    const char nul[] = "[{\"a\":\"x\0y\"}]";
    (void)differ(nul, sizeof nul - 1, 10);
    /* a NUL in a superseded data member: cJSON's shorter string is odd (found by fuzz_evm_logs) */
    const char dup[] = "[{\"data\":\"0x000\0aa\",\"data\":\"0x00\"}]";
    assert_int_equal(differ(dup, sizeof dup - 1, 10), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "odd"));
    /* nesting: cJSON stops at 1000 levels */
    for (int depth = 997; depth <= 1001; depth++) {
        struct gbuf g = {0};
        gs(&g, "[{\"a\":");
        for (int k = 0; k < depth - 2; k++)
            gs(&g, "[");
        for (int k = 0; k < depth - 2; k++)
            gs(&g, "]");
        gs(&g, "}]");
        (void)differ(g.p, g.n, 10);
        free(g.p);
    }
}

/* A recorded reply's text with its logs' members renamed through escapes, reordered, repeated,
 * with unknown members around them: the same logs. */
static void text_path_reads_recorded_logs(void **state)
{
    struct recorded r;
    recorded_load(&r);
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r.v, "logs"));
    struct evm_logs t;
    assert_int_equal(evm_logs_parse_text(&t, text, strlen(text), 1000), FERRY_OK);
    assert_logs_equal(&r.logs, &t);
    evm_logs_free(&t);
    char *pretty = cJSON_Print(cJSON_GetObjectItemCaseSensitive(r.v, "logs"));
    assert_int_equal(evm_logs_parse_text(&t, pretty, strlen(pretty), 1000), FERRY_OK);
    assert_logs_equal(&r.logs, &t);
    evm_logs_free(&t);
    /* escaped key, extra nested member, a data member repeated: the last one wins */
    const cJSON *l0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.v, "logs"), 0);
    cJSON *c = cJSON_Duplicate(l0, true);
    char *one = cJSON_PrintUnformatted(c);
    struct gbuf g = {0};
    gs(&g, "[{\"x\":{\"y\":[1,\"}\",{\"z\":null}]},\"data\":\"0xzz\",");
    gs(&g, one + 1);
    gs(&g, "]");
    char *k = strstr(g.p, "\"address\"");
    assert_non_null(k);
    struct gbuf h = {0};
    gput(&h, g.p, (size_t)(k - g.p));
    gs(&h, "\"addr\\u0065ss\"");
    gs(&h, k + strlen("\"address\""));
    assert_int_equal(evm_logs_parse_text(&t, h.p, h.n, 1000), FERRY_OK);
    assert_int_equal(t.n, 1);
    assert_memory_equal(t.logs[0].address, r.logs.logs[0].address, 20);
    assert_int_equal(t.logs[0].data_len, r.logs.logs[0].data_len);
    evm_logs_free(&t);
    assert_int_equal(differ(h.p, h.n, 1000), FERRY_OK);
    free(g.p);
    free(h.p);
    free(one);
    cJSON_Delete(c);
    free(pretty);
    free(text);
    recorded_free(&r);
}

/* Random damage to a recorded reply: parse and decode never crash, and refuse with a message. */
static void random_damage_never_crashes(void **state)
{
    struct evm_decoder *d = decoder();
    struct recorded r;
    recorded_load(&r);
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r.v, "logs"));
    size_t len = strlen(text);
    char *buf = malloc(len + 1);
    int parsed = 0, decoded = 0;
    static const char alphabet[] = "0123456789abcdefxX\",:[]{}-. ntrufl";
    for (int round = 0; round < 3000; round++) {
        memcpy(buf, text, len + 1);
        int nmut = 1 + (int)(tu_rand() % 4);
        for (int m = 0; m < nmut; m++) {
            size_t at = (size_t)(tu_rand() % len);
            buf[at] = alphabet[tu_rand() % (sizeof alphabet - 1)];
        }
        (void)differ(buf, len, 1000);
        cJSON *j = cJSON_Parse(buf);
        if (!j)
            continue;
        struct evm_logs logs;
        enum ferry_err e = parse_both(&logs, j, 1000);
        if (e) {
            assert_true(ferry_errmsg()[0] != 0);
            assert_null(logs.logs);
        } else {
            parsed++;
            for (size_t i = 0; i < logs.n; i++) {
                struct chain_event ev;
                struct evm_app_event app;
                enum evm_decoded what;
                for (int s = 0; s < EVM_SRC__COUNT; s++)
                    if (evm_decode_log(d, 31337, (enum evm_source)s, &logs.logs[i], 0, &what, &ev, &app) == FERRY_OK)
                        decoded++;
                    else
                        assert_true(ferry_errmsg()[0] != 0);
            }
            evm_logs_free(&logs);
        }
        cJSON_Delete(j);
    }
    assert_true(parsed > 0);
    assert_true(decoded > 0);
    free(buf);
    free(text);
    recorded_free(&r);
    evm_decoder_free(d);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(topics_match_the_recorded_abi),
        cmocka_unit_test(topics_match_the_built_abi),
        cmocka_unit_test(recorded_logs_decode_as_cast_does),
        cmocka_unit_test(app_events_round_trip),
        cmocka_unit_test(malformed_logs_are_refused),
        cmocka_unit_test(logs_parse_strictly),
        cmocka_unit_test(hex_digits_every_position),
        cmocka_unit_test(random_damage_never_crashes),
        cmocka_unit_test(parsers_agree_at_random),
        cmocka_unit_test(parsers_agree_on_edges),
        cmocka_unit_test(text_path_reads_recorded_logs),
    };
    return TU_RUN(tests);
}
