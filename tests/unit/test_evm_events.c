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
    assert_int_equal(evm_logs_parse(&r->logs, cJSON_GetObjectItemCaseSensitive(r->v, "logs"), 1000), FERRY_OK);
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
        assert_int_not_equal(evm_logs_parse(&out, j, 100), FERRY_OK);
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
    assert_int_equal(evm_logs_parse(&out, logs, 100), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "log 7: data"));
    assert_int_equal(out.n, 0);
    /* The cap on the number of logs. */
    assert_int_equal(evm_logs_parse(&out, cJSON_GetObjectItemCaseSensitive(r.v, "logs"), 3), FERRY_ERANGE);
    assert_int_equal(evm_logs_parse(&out, cJSON_GetObjectItemCaseSensitive(r.v, "logs"), 0), FERRY_ERANGE);
    cJSON_Delete(logs);
    /* An empty reply is no logs. */
    cJSON *empty = cJSON_CreateArray();
    assert_int_equal(evm_logs_parse(&out, empty, 0), FERRY_OK);
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
    assert_int_equal(evm_logs_parse(&ref, arr, 10), FERRY_OK);
    cJSON *l = cJSON_GetArrayItem(arr, 0);
    char *buf = strdup(data);
    for (size_t i = 2; i < len; i++) /* upper case: the same bytes */
        if (buf[i] >= 'a' && buf[i] <= 'f')
            buf[i] = (char)(buf[i] - 'a' + 'A');
    cJSON_ReplaceItemInObjectCaseSensitive(l, "data", cJSON_CreateString(buf));
    assert_int_equal(evm_logs_parse(&out, arr, 10), FERRY_OK);
    assert_int_equal(out.logs[0].data_len, ref.logs[0].data_len);
    assert_memory_equal(out.logs[0].data, ref.logs[0].data, ref.logs[0].data_len);
    evm_logs_free(&out);
    static const char near[] = "/:@G`gx \\";
    for (size_t pos = 2; pos < 2 + 16; pos++) { /* both halves of the first words */
        for (size_t c = 0; c < sizeof near - 1; c++) {
            strcpy(buf, data);
            buf[pos] = near[c];
            cJSON_ReplaceItemInObjectCaseSensitive(l, "data", cJSON_CreateString(buf));
            assert_int_equal(evm_logs_parse(&out, arr, 10), FERRY_EINVAL);
        }
    }
    for (size_t pos = len - 6; pos < len; pos++) { /* the last digits */
        strcpy(buf, data);
        buf[pos] = 'g';
        cJSON_ReplaceItemInObjectCaseSensitive(l, "data", cJSON_CreateString(buf));
        assert_int_equal(evm_logs_parse(&out, arr, 10), FERRY_EINVAL);
    }
    /* A topic one digit short, one digit long. */
    const char *t1 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(log0, "topics"), 1)->valuestring;
    char topic[80];
    snprintf(topic, sizeof topic, "%.65s", t1);
    cJSON_ReplaceItemInArray(cJSON_GetObjectItemCaseSensitive(l, "topics"), 1, cJSON_CreateString(topic));
    cJSON_ReplaceItemInObjectCaseSensitive(l, "data", cJSON_CreateString(data));
    assert_int_equal(evm_logs_parse(&out, arr, 10), FERRY_EINVAL);
    snprintf(topic, sizeof topic, "%s0", t1);
    cJSON_ReplaceItemInArray(cJSON_GetObjectItemCaseSensitive(l, "topics"), 1, cJSON_CreateString(topic));
    assert_int_equal(evm_logs_parse(&out, arr, 10), FERRY_EINVAL);
    free(buf);
    evm_logs_free(&ref);
    cJSON_Delete(arr);
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
        cJSON *j = cJSON_Parse(buf);
        if (!j)
            continue;
        struct evm_logs logs;
        enum ferry_err e = evm_logs_parse(&logs, j, 1000);
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
    };
    return TU_RUN(tests);
}
