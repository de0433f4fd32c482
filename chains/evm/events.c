/* Parsing eth_getLogs replies and decoding the protocol's events (see events.h). */
#include "evm/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"
#include "ferry/keccak.h"

/* The events, exactly as the contracts declare them (enums become uint8). Gateway first: the
 * chain events are what the relayer lives on; the rest feed the intent engine. */
static const struct evm_event_def defs[] = {
    {EVM_SRC_GATEWAY,
     "PacketSent(bytes32 indexed packetId, uint64 indexed dstChain, uint64 indexed sequence, bytes32 sender, "
     "bytes32 receiver, uint64 timeoutTimestamp, bytes payload)",
     true, CHAIN_EV_PACKET_SENT, 0},
    {EVM_SRC_GATEWAY,
     "PacketReceived(bytes32 indexed packetId, uint64 indexed srcChain, uint64 indexed sequence, bool success, "
     "bytes result)",
     true, CHAIN_EV_PACKET_RECEIVED, 0},
    {EVM_SRC_GATEWAY,
     "PacketSkipped(bytes32 indexed packetId, uint64 indexed srcChain, uint64 indexed sequence, uint8 reason)", true,
     CHAIN_EV_PACKET_SKIPPED, 0},
    {EVM_SRC_GATEWAY, "PacketAcknowledged(bytes32 indexed packetId, uint64 indexed sequence, bool success)", true,
     CHAIN_EV_PACKET_ACKED, 0},
    {EVM_SRC_GATEWAY, "PacketTimedOut(bytes32 indexed packetId, uint64 indexed sequence, uint64 destinationTimestamp)",
     true, CHAIN_EV_PACKET_TIMED_OUT, 0},
    {EVM_SRC_GATEWAY, "AttestersChanged(uint64 indexed epoch, address[] attesters, uint8 threshold)", false, 0,
     EVM_APP_ATTESTERS_CHANGED},
    {EVM_SRC_VAULT,
     "TransferSent(uint64 indexed sequence, uint64 indexed dstChain, address indexed sender, address token, "
     "uint256 amount, address recipient, uint64 originChain, bytes32 originToken, bytes memo)",
     false, 0, EVM_APP_TRANSFER_SENT},
    {EVM_SRC_VAULT,
     "TransferReceived(uint64 indexed srcChain, uint64 indexed sequence, address indexed recipient, address token, "
     "uint256 amount)",
     false, 0, EVM_APP_TRANSFER_RECEIVED},
    {EVM_SRC_VAULT,
     "TransferRefunded(uint64 indexed sequence, address indexed sender, address token, uint256 amount, bool timedOut)",
     false, 0, EVM_APP_TRANSFER_REFUNDED},
    {EVM_SRC_ROUTER,
     "IntentOpened(bytes32 indexed intentId, address indexed owner, uint256 nonce, address token, uint256 amount, "
     "uint64 deadline)",
     false, 0, EVM_APP_INTENT_OPENED},
    {EVM_SRC_ROUTER,
     "StepExecuted(bytes32 indexed intentId, uint256 indexed stepIndex, address token, uint256 amount, "
     "uint64 sequence)",
     false, 0, EVM_APP_STEP_EXECUTED},
    {EVM_SRC_ROUTER, "StepFailed(bytes32 indexed intentId, uint256 indexed stepIndex, uint8 reason, bytes detail)",
     false, 0, EVM_APP_STEP_FAILED},
    {EVM_SRC_ROUTER,
     "HopArrived(bytes32 indexed intentId, uint256 indexed stepIndex, uint64 srcChain, address token, "
     "uint256 amount)",
     false, 0, EVM_APP_HOP_ARRIVED},
    {EVM_SRC_ROUTER, "HopDelivered(bytes32 indexed intentId, uint64 indexed sequence)", false, 0,
     EVM_APP_HOP_DELIVERED},
    {EVM_SRC_ROUTER, "HopReturned(bytes32 indexed intentId, uint64 indexed sequence, address token, uint256 amount)",
     false, 0, EVM_APP_HOP_RETURNED},
    {EVM_SRC_ROUTER, "RefundSent(bytes32 indexed intentId, uint64 indexed sequence, address token, uint256 amount)",
     false, 0, EVM_APP_REFUND_SENT},
    {EVM_SRC_ROUTER, "IntentCompleted(bytes32 indexed intentId, address token, uint256 amount)", false, 0,
     EVM_APP_INTENT_COMPLETED},
    {EVM_SRC_ROUTER, "IntentRefunded(bytes32 indexed intentId, address token, uint256 amount)", false, 0,
     EVM_APP_INTENT_REFUNDED},
    {EVM_SRC_ROUTER, "IntentCancelled(bytes32 indexed intentId)", false, 0, EVM_APP_INTENT_CANCELLED},
    {EVM_SRC_ROUTER, "NonceInvalidated(address indexed owner, uint256 nonce)", false, 0, EVM_APP_NONCE_INVALIDATED},
};

#define NDEFS (sizeof defs / sizeof defs[0])

size_t evm_event_count(void) { return NDEFS; }

const struct evm_event_def *evm_event_def(size_t i) { return i < NDEFS ? &defs[i] : NULL; }

const char *evm_source_name(enum evm_source s)
{
    static const char *const names[] = {"gateway", "vault", "router"};
    return (unsigned)s < EVM_SRC__COUNT ? names[s] : "?";
}

const char *evm_app_kind_name(enum evm_app_kind k)
{
    static const char *const names[] = {
        "AttestersChanged", "TransferSent", "TransferReceived", "TransferRefunded", "IntentOpened",
        "StepExecuted",     "StepFailed",   "HopArrived",       "HopDelivered",     "HopReturned",
        "RefundSent",       "IntentCompleted", "IntentRefunded", "IntentCancelled", "NonceInvalidated",
    };
    _Static_assert(sizeof names / sizeof names[0] == EVM_APP__COUNT, "a name per app event");
    return (unsigned)k < EVM_APP__COUNT ? names[k] : "?";
}

const char *evm_chain_kind_name(enum chain_event_kind k)
{
    static const char *const names[] = {"PacketSent", "PacketReceived", "PacketSkipped", "PacketAcknowledged",
                                        "PacketTimedOut"};
    _Static_assert(sizeof names / sizeof names[0] == CHAIN_EV__COUNT, "a name per chain event");
    return (unsigned)k < CHAIN_EV__COUNT ? names[k] : "?";
}

/* ---- hex, fast: the bulk of a getLogs reply is hex, and this is its hot loop ---- */

/* 0..15 for hex digits, 0xff for anything else. */
static uint8_t hexval[256];
static bool hexval_ready;

static void hexval_init(void)
{
    if (hexval_ready)
        return;
    memset(hexval, 0xff, sizeof hexval);
    for (int i = 0; i < 10; i++)
        hexval['0' + i] = (uint8_t)i;
    for (int i = 0; i < 6; i++) {
        hexval['a' + i] = (uint8_t)(10 + i);
        hexval['A' + i] = (uint8_t)(10 + i);
    }
    hexval_ready = true;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Eight digits at once (SWAR): false unless every byte is 0-9, a-f or A-F. For bytes below
 * 0x80, b + (0x80 - lo) sets the byte's high bit iff b >= lo, and b + (0x7f - hi) iff b > hi,
 * without carrying into the next byte. */
static inline bool hex8(uint8_t out[4], const char *s)
{
    uint64_t x;
    memcpy(&x, s, 8);
    if (x & HIGHS)
        return false;
    uint64_t digit = (x + (0x80 - '0') * ONES) & ~(x + (0x7f - '9') * ONES) & HIGHS;
    uint64_t low = x | 0x20 * ONES; /* A-F -> a-f */
    uint64_t alpha = (low + (0x80 - 'a') * ONES) & ~(low + (0x7f - 'f') * ONES) & HIGHS;
    if ((digit | alpha) != HIGHS)
        return false;
    /* nibble values: the low four bits, plus 9 for letters ('a' = 0x61 -> 1 + 9) */
    uint64_t v = (x & 0x0f * ONES) + (alpha >> 7) * 9;
    /* bytes 2k (high nibbles) and 2k+1 (low) into the low byte of each 16-bit lane, then the
     * four lanes' low bytes side by side */
    v = ((v & 0x000f000f000f000full) << 4) | ((v >> 8) & 0x000f000f000f000full);
    v = (v | (v >> 8)) & 0x0000ffff0000ffffull;
    v = (v | (v >> 16)) & 0xffffffffull;
    uint32_t w = (uint32_t)v;
    memcpy(out, &w, 4);
    return true;
}

/* Decodes the 2n digits at s[0..2n) into out; false on anything that is not a digit. */
static bool hex_digits(uint8_t *out, const char *s, size_t n)
{
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 4 <= n; i += 4)
        if (!hex8(out + i, s + 2 * i))
            return false;
#endif
    const unsigned char *p = (const unsigned char *)s;
    for (; i < n; i++) {
        uint8_t hi = hexval[p[2 * i]], lo = hexval[p[2 * i + 1]];
        if ((hi | lo) > 15)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* "0x" followed by exactly 2n digits. */
static bool hex_fixed(uint8_t *out, size_t n, const char *s)
{
    return s[0] == '0' && s[1] == 'x' && strlen(s + 2) == 2 * n && hex_digits(out, s + 2, n);
}

/* ---- eth_getLogs replies ---- */

static enum ferry_err bad(size_t i, const char *member, const char *what)
{
    return ferry_fail(FERRY_EINVAL, "eth_getLogs: log %zu: %s: %s", i, member, what);
}

static enum ferry_err quantity(uint64_t *out, const cJSON *v, size_t i, const char *member, uint64_t max)
{
    if (!cJSON_IsString(v))
        return bad(i, member, "expected a hex quantity string");
    if (hex_quantity_u64(out, v->valuestring))
        return ferry_fail_ctx(FERRY_EINVAL, "eth_getLogs: log %zu: %s", i, member);
    if (*out > max)
        return bad(i, member, "out of range");
    return FERRY_OK;
}

enum member { M_OTHER, M_ADDRESS, M_TOPICS, M_DATA, M_BLOCK, M_BHASH, M_TXHASH, M_TXINDEX, M_LOGINDEX, M_REMOVED,
              M_BTIME };

/* The members every node sends, told apart by their first letters before one strcmp. */
static enum member member_of(const char *k)
{
    switch (k[0]) {
    case 'a': return strcmp(k, "address") == 0 ? M_ADDRESS : M_OTHER;
    case 'd': return strcmp(k, "data") == 0 ? M_DATA : M_OTHER;
    case 'l': return strcmp(k, "logIndex") == 0 ? M_LOGINDEX : M_OTHER;
    case 'r': return strcmp(k, "removed") == 0 ? M_REMOVED : M_OTHER;
    case 't':
        if (k[1] == 'o')
            return strcmp(k, "topics") == 0 ? M_TOPICS : M_OTHER;
        if (strncmp(k, "transaction", 11) != 0)
            return M_OTHER;
        return strcmp(k + 11, "Hash") == 0 ? M_TXHASH : strcmp(k + 11, "Index") == 0 ? M_TXINDEX : M_OTHER;
    case 'b':
        if (strncmp(k, "block", 5) != 0)
            return M_OTHER;
        return strcmp(k + 5, "Number") == 0 ? M_BLOCK
               : strcmp(k + 5, "Hash") == 0 ? M_BHASH
               : strcmp(k + 5, "Timestamp") == 0 ? M_BTIME
                                                 : M_OTHER;
    default: return M_OTHER;
    }
}

/* Fills everything but data; *hex / *hexlen: the data digits (after 0x). */
static enum ferry_err parse_one(struct evm_log *l, const cJSON *o, size_t i, const char **hex, size_t *hexlen)
{
    if (!cJSON_IsObject(o))
        return ferry_fail(FERRY_EINVAL, "eth_getLogs: log %zu is not an object", i);
    enum { F_ADDRESS = 1, F_TOPICS = 2, F_DATA = 4, F_BLOCK = 8, F_BHASH = 16, F_TXHASH = 32, F_TXINDEX = 64,
           F_LOGINDEX = 128 };
    unsigned seen = 0;
    uint64_t q;
    enum ferry_err e;
    for (const cJSON *m = o->child; m; m = m->next) {
        const char *k = m->string;
        if (!k)
            continue;
        switch (member_of(k)) {
        case M_ADDRESS:
            if (!cJSON_IsString(m) || !hex_fixed(l->address, 20, m->valuestring))
                return bad(i, k, "expected 0x and 40 hex digits");
            seen |= F_ADDRESS;
            break;
        case M_TOPICS: {
            if (!cJSON_IsArray(m))
                return bad(i, k, "expected an array");
            size_t n = 0;
            for (const cJSON *t = m->child; t; t = t->next, n++) {
                if (n == 4)
                    return bad(i, k, "more than 4 topics");
                if (!cJSON_IsString(t) || !hex_fixed(l->topics[n], 32, t->valuestring))
                    return bad(i, k, "expected 0x and 64 hex digits");
            }
            l->n_topics = n;
            seen |= F_TOPICS;
            break;
        }
        case M_DATA: {
            const char *s = cJSON_IsString(m) ? m->valuestring : NULL;
            if (!s || s[0] != '0' || s[1] != 'x')
                return bad(i, k, "expected 0x and hex digits");
            size_t len = strlen(s + 2);
            if (len % 2)
                return bad(i, k, "odd number of hex digits");
            *hex = s + 2;
            *hexlen = len;
            seen |= F_DATA;
            break;
        }
        case M_BLOCK:
            if (cJSON_IsNull(m))
                return bad(i, k, "null: a pending log");
            if ((e = quantity(&l->block_number, m, i, k, UINT64_MAX)))
                return e;
            seen |= F_BLOCK;
            break;
        case M_BHASH:
            if (!cJSON_IsString(m) || !hex_fixed(l->block_hash, 32, m->valuestring))
                return bad(i, k, "expected 0x and 64 hex digits");
            seen |= F_BHASH;
            break;
        case M_TXHASH:
            if (!cJSON_IsString(m) || !hex_fixed(l->tx_hash, 32, m->valuestring))
                return bad(i, k, "expected 0x and 64 hex digits");
            seen |= F_TXHASH;
            break;
        case M_TXINDEX:
            if ((e = quantity(&q, m, i, k, UINT32_MAX)))
                return e;
            l->tx_index = (uint32_t)q;
            seen |= F_TXINDEX;
            break;
        case M_LOGINDEX:
            if ((e = quantity(&q, m, i, k, UINT32_MAX)))
                return e;
            l->log_index = (uint32_t)q;
            seen |= F_LOGINDEX;
            break;
        case M_REMOVED:
            if (!cJSON_IsBool(m))
                return bad(i, k, "expected true or false");
            l->removed = cJSON_IsTrue(m);
            break;
        case M_BTIME:
            if ((e = quantity(&l->block_timestamp, m, i, k, UINT64_MAX)))
                return e;
            l->has_block_timestamp = true;
            break;
        case M_OTHER:
            break;
        }
    }
    static const char *const names[] = {"address", "topics", "data", "blockNumber", "blockHash", "transactionHash",
                                        "transactionIndex", "logIndex"};
    for (unsigned b = 0; b < 8; b++)
        if (!(seen & (1u << b)))
            return bad(i, names[b], "missing");
    return FERRY_OK;
}

enum ferry_err evm_logs_parse(struct evm_logs *out, const cJSON *result, size_t max_logs)
{
    memset(out, 0, sizeof *out);
    hexval_init();
    if (!cJSON_IsArray(result))
        return ferry_fail(FERRY_EINVAL, "eth_getLogs: the result is not an array");
    size_t n = 0;
    for (const cJSON *c = result->child; c; c = c->next)
        if (++n > max_logs)
            return ferry_fail(FERRY_ERANGE, "eth_getLogs: more than %zu logs", max_logs);
    if (n == 0)
        return FERRY_OK;
    struct evm_log *logs = calloc(n, sizeof *logs);
    const char **hex = malloc(n * sizeof *hex);
    size_t *hexlen = malloc(n * sizeof *hexlen);
    uint8_t *arena = NULL;
    enum ferry_err e = FERRY_OK;
    if (!logs || !hex || !hexlen) {
        e = ferry_fail(FERRY_ENOMEM, "eth_getLogs: no memory for %zu logs", n);
        goto out;
    }
    size_t total = 0, i = 0;
    for (const cJSON *c = result->child; c; c = c->next, i++) {
        if ((e = parse_one(&logs[i], c, i, &hex[i], &hexlen[i])))
            goto out;
        total += hexlen[i] / 2;
    }
    /* One arena for every log's data: the events borrow it, and it goes in one free. */
    arena = malloc(total ? total : 1);
    if (!arena) {
        e = ferry_fail(FERRY_ENOMEM, "eth_getLogs: no memory for %zu bytes of log data", total);
        goto out;
    }
    size_t at = 0;
    for (i = 0; i < n; i++) {
        size_t len = hexlen[i] / 2;
        if (!hex_digits(arena + at, hex[i], len)) {
            e = bad(i, "data", "not hex");
            goto out;
        }
        logs[i].data = arena + at;
        logs[i].data_len = len;
        at += len;
    }
    out->logs = logs;
    out->n = n;
    out->arena = arena;
    logs = NULL;
    arena = NULL;
out:
    free(logs);
    free(arena);
    free(hex);
    free(hexlen);
    return e;
}

void evm_logs_free(struct evm_logs *l)
{
    free(l->logs);
    free(l->arena);
    memset(l, 0, sizeof *l);
}

/* ---- decoding ---- */

struct evm_decoder {
    struct abi_sig *sigs[NDEFS];
};

enum ferry_err evm_decoder_new(struct evm_decoder **out)
{
    *out = NULL;
    hexval_init();
    struct evm_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return ferry_fail(FERRY_ENOMEM, "evm events: no memory");
    for (size_t i = 0; i < NDEFS; i++) {
        enum ferry_err e = abi_event_parse(&d->sigs[i], defs[i].signature);
        if (e) {
            evm_decoder_free(d);
            return ferry_fail_ctx(e, "evm events: %s", defs[i].signature);
        }
        if (d->sigs[i]->params->count > EVM_APP_MAX_FIELDS) {
            evm_decoder_free(d);
            return ferry_fail(FERRY_ERANGE, "evm events: %s has more than %d fields", defs[i].signature,
                              EVM_APP_MAX_FIELDS);
        }
    }
    *out = d;
    return FERRY_OK;
}

void evm_decoder_free(struct evm_decoder *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < NDEFS; i++)
        abi_sig_free(d->sigs[i]);
    free(d);
}

const uint8_t *evm_decoder_topic0(const struct evm_decoder *d, size_t i) { return i < NDEFS ? d->sigs[i]->hash : NULL; }

const struct abi_sig *evm_decoder_sig(const struct evm_decoder *d, size_t i) { return i < NDEFS ? d->sigs[i] : NULL; }

int evm_decoder_find(const struct evm_decoder *d, enum evm_source source, const uint8_t t[32])
{
    for (size_t i = 0; i < NDEFS; i++)
        if (defs[i].source == source && memcmp(d->sigs[i]->hash, t, 32) == 0)
            return (int)i;
    return -1;
}

static void be64(uint8_t word[32], uint64_t v)
{
    memset(word, 0, 24);
    for (int i = 31; i >= 24; i--, v >>= 8)
        word[i] = (uint8_t)v;
}

void evm_packet_id(const struct packet *p, uint8_t out[32])
{
    /* abi.encode(packet) of a dynamic struct: the offset of its tuple (0x20), the tuple's head
     * (six static members and the offset of payload, 7 * 32), then payload's length and bytes
     * padded to a word. */
    uint8_t head[9][32];
    be64(head[0], 0x20);
    be64(head[1], p->src_chain);
    be64(head[2], p->dst_chain);
    be64(head[3], p->sequence);
    memcpy(head[4], p->sender, 32);
    memcpy(head[5], p->receiver, 32);
    be64(head[6], p->timeout_ts);
    be64(head[7], 7 * 32);
    be64(head[8], p->payload_len);
    struct keccak_ctx k;
    keccak256_init(&k);
    keccak256_update(&k, head, sizeof head);
    if (p->payload_len)
        keccak256_update(&k, p->payload, p->payload_len);
    static const uint8_t zeros[32];
    size_t pad = (32 - p->payload_len % 32) % 32;
    if (pad)
        keccak256_update(&k, zeros, pad);
    keccak256_final(&k, out);
}

enum ferry_err evm_check_packet_id(const struct chain_event *ev)
{
    if (ev->kind != CHAIN_EV_PACKET_SENT)
        return FERRY_OK;
    uint8_t id[32];
    evm_packet_id(&ev->packet, id);
    if (memcmp(id, ev->packet_id, 32) != 0)
        return ferry_fail(FERRY_EINVAL, "PacketSent: packetId is not keccak256(abi.encode(packet)) of the packet the "
                                        "log carries");
    return FERRY_OK;
}

static uint64_t u64_of(const struct abi_value *v)
{
    /* uint64 words were checked by the decoder (high bytes zero) */
    uint64_t x = 0;
    for (int i = 24; i < 32; i++)
        x = x << 8 | v->u.word[i];
    return x;
}

/* The chain events, from their decoded fields (declaration order of the signatures above). */
static enum ferry_err fill_chain(struct chain_event *ev, enum chain_event_kind kind, uint64_t chain_id,
                                 const struct abi_value *f)
{
    struct packet *p = &ev->packet;
    memcpy(ev->packet_id, f[0].u.word, 32);
    switch (kind) {
    case CHAIN_EV_PACKET_SENT:
        p->src_chain = chain_id;
        p->dst_chain = u64_of(&f[1]);
        p->sequence = u64_of(&f[2]);
        memcpy(p->sender, f[3].u.word, 32);
        memcpy(p->receiver, f[4].u.word, 32);
        p->timeout_ts = u64_of(&f[5]);
        if (f[6].u.bytes.len > PACKET_PAYLOAD_MAX)
            return ferry_fail(FERRY_ERANGE, "PacketSent: payload of %zu bytes (at most %d)", f[6].u.bytes.len,
                              PACKET_PAYLOAD_MAX);
        p->payload = (uint8_t *)f[6].u.bytes.ptr;
        p->payload_len = f[6].u.bytes.len;
        break;
    case CHAIN_EV_PACKET_RECEIVED:
        p->src_chain = u64_of(&f[1]);
        p->dst_chain = chain_id;
        p->sequence = u64_of(&f[2]);
        ev->ack.success = f[3].u.word[31] != 0;
        if (f[4].u.bytes.len > PACKET_PAYLOAD_MAX)
            return ferry_fail(FERRY_ERANGE, "PacketReceived: ack result of %zu bytes (at most %d)",
                              f[4].u.bytes.len, PACKET_PAYLOAD_MAX);
        ev->ack.result = (uint8_t *)f[4].u.bytes.ptr;
        ev->ack.result_len = f[4].u.bytes.len;
        break;
    case CHAIN_EV_PACKET_SKIPPED:
        p->src_chain = u64_of(&f[1]);
        p->dst_chain = chain_id;
        p->sequence = u64_of(&f[2]);
        switch (f[3].u.word[31]) {
        case 1: ev->skip_reason = CHAIN_SKIP_ALREADY_RECEIVED; break;
        case 2: ev->skip_reason = CHAIN_SKIP_TIMED_OUT; break;
        default: ev->skip_reason = CHAIN_SKIP_OTHER; break;
        }
        break;
    case CHAIN_EV_PACKET_ACKED:
        p->src_chain = chain_id;
        p->sequence = u64_of(&f[1]);
        ev->ack.success = f[2].u.word[31] != 0;
        break;
    case CHAIN_EV_PACKET_TIMED_OUT:
        p->src_chain = chain_id;
        p->sequence = u64_of(&f[1]);
        ev->proof_timestamp = u64_of(&f[2]);
        break;
    default:
        return ferry_fail(FERRY_EINVAL, "evm events: no decoder for chain event %d", (int)kind);
    }
    return FERRY_OK;
}

enum ferry_err evm_decode_log(const struct evm_decoder *d, uint64_t chain_id, enum evm_source source,
                              const struct evm_log *log, uint64_t block_timestamp, enum evm_decoded *what,
                              struct chain_event *ev, struct evm_app_event *app)
{
    if (log->n_topics == 0)
        return ferry_fail(FERRY_EINVAL, "log without topics from the %s", evm_source_name(source));
    int i = evm_decoder_find(d, source, log->topics[0]);
    if (i < 0)
        return ferry_fail(FERRY_EINVAL, "log with a topic0 that is none of the %s's events", evm_source_name(source));
    const struct abi_sig *sig = d->sigs[i];
    struct abi_value f[EVM_APP_MAX_FIELDS];
    enum ferry_err e = abi_event_decode_fields(f, sig, (const uint8_t (*)[32])log->topics, log->n_topics, log->data,
                                               log->data_len);
    if (e)
        return e;
    struct chain_event_origin at = {
        .chain_id = chain_id,
        .block_number = log->block_number,
        .block_timestamp = block_timestamp,
        .log_index = log->log_index,
    };
    memcpy(at.block_hash, log->block_hash, 32);
    memcpy(at.tx_hash, log->tx_hash, 32);
    if (defs[i].is_chain) {
        memset(ev, 0, sizeof *ev);
        ev->kind = defs[i].chain_kind;
        ev->at = at;
        e = fill_chain(ev, defs[i].chain_kind, chain_id, f);
        if (e) {
            memset(ev, 0, sizeof *ev);
            return e;
        }
        *what = EVM_DECODED_CHAIN;
        return FERRY_OK;
    }
    memset(app, 0, sizeof *app);
    app->kind = defs[i].app_kind;
    app->at = at;
    memcpy(app->contract, log->address, 20);
    app->n_fields = sig->params->count;
    memcpy(app->fields, f, app->n_fields * sizeof f[0]);
    *what = EVM_DECODED_APP;
    return FERRY_OK;
}
