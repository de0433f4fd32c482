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

/* ---- eth_getLogs replies straight from the text ----
 *
 * The same checks as above, without the cJSON tree (three quarters of the ingest time went into
 * building and freeing it). To refuse exactly what the tree path refuses, the grammar is
 * cJSON 1.7's, quirks included: whitespace is any byte <= 32, numbers are what strtod takes
 * from a run of [0-9+-eE.] (at most 63 bytes), \u escapes with bad digits read as 0, strings
 * end at their first NUL once decoded, nesting stops at 1000 levels, later duplicate members
 * win. Errors keep the tree path's precedence: JSON that does not parse, then a result that is
 * not an array, then too many logs, then the first bad log (so after a bad log the rest is still
 * read, for syntax only). */

#define JSON_DEPTH_MAX 1000 /* cJSON's CJSON_NESTING_LIMIT */

typedef const unsigned char *cur;

struct lp {
    cur end;
    size_t depth;
    bool stop;          /* a log was refused (err) or there are too many: syntax only from here */
    enum ferry_err err; /* the first refusal */
    char *scratch;      /* decoded escaped strings */
    size_t scratch_cap;
    char *dscratch; /* the current log's data when it had escapes */
    size_t dscratch_cap;
};

static cur ws(const struct lp *P, cur p)
{
    while (p < P->end && *p <= 32)
        p++;
    return p;
}

static unsigned hex4(cur s)
{
    unsigned h = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t v = hexval[s[i]];
        if (v > 15)
            return 0; /* cJSON's parse_hex4: a bad digit makes the whole escape 0 */
        h = h << 4 | v;
    }
    return h;
}

/* Decodes the escaped string [a, b) as cJSON does into out (room for b - a bytes; NULL: only
 * checks); *n the bytes written. False where cJSON fails. */
static bool unescape(cur a, cur b, unsigned char *out, size_t *n)
{
    size_t o = 0;
    while (a < b) {
        if (*a != '\\') {
            if (out)
                out[o] = *a;
            o++;
            a++;
            continue;
        }
        unsigned char c;
        size_t seq = 2;
        switch (a[1]) {
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case '"':
        case '\\':
        case '/': c = a[1]; break;
        case 'u': {
            if (b - a < 6)
                return false;
            unsigned long cp = hex4(a + 2);
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return false;
            seq = 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                cur s2 = a + 6;
                if (b - s2 < 6 || s2[0] != '\\' || s2[1] != 'u')
                    return false;
                unsigned lo = hex4(s2 + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return false;
                cp = 0x10000 + (((cp & 0x3FF) << 10) | (lo & 0x3FF));
                seq = 12;
            }
            unsigned char u[4];
            size_t ul;
            if (cp < 0x80) {
                u[0] = (unsigned char)cp;
                ul = 1;
            } else if (cp < 0x800) {
                u[0] = (unsigned char)(0xC0 | cp >> 6);
                u[1] = (unsigned char)(0x80 | (cp & 0x3F));
                ul = 2;
            } else if (cp < 0x10000) {
                u[0] = (unsigned char)(0xE0 | cp >> 12);
                u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                u[2] = (unsigned char)(0x80 | (cp & 0x3F));
                ul = 3;
            } else {
                u[0] = (unsigned char)(0xF0 | cp >> 18);
                u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
                u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                u[3] = (unsigned char)(0x80 | (cp & 0x3F));
                ul = 4;
            }
            if (out)
                memcpy(out + o, u, ul);
            o += ul;
            a += seq;
            continue;
        }
        default: return false;
        }
        if (out)
            out[o] = c;
        o++;
        a += seq;
    }
    *n = o;
    return true;
}

/* A string token at p (its '"'): *a, *b its raw content, *esc whether it has escapes; the
 * position after it, or NULL when it does not parse (escapes are checked here). */
static cur str_token(const struct lp *P, cur p, cur *a, cur *b, bool *esc)
{
    cur s = p + 1;
    if (s > P->end)
        return NULL;
    cur q = memchr(s, '"', (size_t)(P->end - s));
    if (!q)
        return NULL;
    if (!memchr(s, '\\', (size_t)(q - s))) {
        *a = s;
        *b = q;
        *esc = false;
        return q + 1;
    }
    /* cJSON's scan: a backslash hides the next byte, whatever it is */
    cur e = s;
    while (e < P->end && *e != '"') {
        if (*e == '\\') {
            if (e + 1 >= P->end)
                return NULL;
            e++;
        }
        e++;
    }
    if (e >= P->end)
        return NULL;
    size_t n;
    if (!unescape(s, e, NULL, &n))
        return NULL;
    *a = s;
    *b = e;
    *esc = true;
    return e + 1;
}

/* The bytes of a string as cJSON's valuestring holds them up to its NUL: [a, b) itself or,
 * with escapes, decoded into *buf. NULL when out of memory. */
static const char *str_value(cur a, cur b, bool esc, char **buf, size_t *cap, size_t *len)
{
    const char *s = (const char *)a;
    size_t n = (size_t)(b - a);
    if (esc) {
        if (*cap < n + 1) {
            char *nb = realloc(*buf, n + 1);
            if (!nb)
                return NULL;
            *buf = nb;
            *cap = n + 1;
        }
        if (!unescape(a, b, (unsigned char *)*buf, &n))
            return NULL; /* checked by str_token already */
        s = *buf;
    }
    const char *z = memchr(s, 0, n);
    *len = z ? (size_t)(z - s) : n;
    return s;
}

static cur number_token(const struct lp *P, cur p)
{
    char nb[64];
    size_t i;
    for (i = 0; i < sizeof nb - 1 && p + i < P->end; i++) {
        unsigned char c = p[i];
        if (!((c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.'))
            break;
        nb[i] = (char)c;
    }
    nb[i] = 0;
    char *after;
    (void)strtod(nb, &after);
    return after == nb ? NULL : p + (after - nb);
}

static bool lit(const struct lp *P, cur p, const char *w, size_t n)
{
    return (size_t)(P->end - p) >= n && memcmp(p, w, n) == 0;
}

static cur skip_value(struct lp *P, cur p);

/* p at '[' or '{': the position after the container, or NULL. */
static cur skip_container(struct lp *P, cur p)
{
    bool obj = *p == '{';
    if (P->depth >= JSON_DEPTH_MAX)
        return NULL;
    P->depth++;
    p = ws(P, p + 1);
    if (p < P->end && *p == (obj ? '}' : ']')) {
        P->depth--;
        return p + 1;
    }
    for (;;) {
        p = ws(P, p);
        if (p >= P->end)
            return NULL;
        if (obj) {
            cur a, b;
            bool esc;
            if (*p != '"' || !(p = str_token(P, p, &a, &b, &esc)))
                return NULL;
            p = ws(P, p);
            if (p >= P->end || *p != ':')
                return NULL;
            p = ws(P, p + 1);
        }
        if (!(p = skip_value(P, p)))
            return NULL;
        p = ws(P, p);
        if (p < P->end && *p == ',') {
            p++;
            continue;
        }
        if (p >= P->end || *p != (obj ? '}' : ']'))
            return NULL;
        P->depth--;
        return p + 1;
    }
}

static cur skip_value(struct lp *P, cur p)
{
    if (lit(P, p, "null", 4) || lit(P, p, "true", 4))
        return p + 4;
    if (lit(P, p, "false", 5))
        return p + 5;
    if (p >= P->end)
        return NULL;
    if (*p == '"') {
        cur a, b;
        bool esc;
        return str_token(P, p, &a, &b, &esc);
    }
    if (*p == '-' || (*p >= '0' && *p <= '9'))
        return number_token(P, p);
    if (*p == '[' || *p == '{')
        return skip_container(P, p);
    return NULL;
}

/* A refusal of a log: the first one is kept (its message is the last one set, so nothing after
 * it may call ferry_fail), and the rest is read for syntax only. */
#define REFUSE(P_, expr_)                                                                                      \
    do {                                                                                                       \
        if (!(P_)->stop) {                                                                                     \
            (P_)->err = (expr_);                                                                               \
            (P_)->stop = true;                                                                                 \
        }                                                                                                      \
    } while (0)

/* "0x" and exactly 2n digits, reading s[0..len) as cJSON's valuestring (up to a NUL). */
static bool fixed_view(uint8_t *out, size_t n, const char *s, size_t len)
{
    return len == 2 + 2 * n && s[0] == '0' && s[1] == 'x' && hex_digits(out, s + 2, n);
}

static enum member member_of_n(const char *k, size_t n)
{
#define IS(lit_) (n == sizeof lit_ - 1 && memcmp(k, lit_, n) == 0)
    switch (n ? k[0] : 0) {
    case 'a': return IS("address") ? M_ADDRESS : M_OTHER;
    case 'd': return IS("data") ? M_DATA : M_OTHER;
    case 'l': return IS("logIndex") ? M_LOGINDEX : M_OTHER;
    case 'r': return IS("removed") ? M_REMOVED : M_OTHER;
    case 't':
        return IS("topics")             ? M_TOPICS
               : IS("transactionHash")  ? M_TXHASH
               : IS("transactionIndex") ? M_TXINDEX
                                        : M_OTHER;
    case 'b':
        return IS("blockNumber") ? M_BLOCK : IS("blockHash") ? M_BHASH : IS("blockTimestamp") ? M_BTIME : M_OTHER;
    default: return M_OTHER;
    }
#undef IS
}

/* One string-valued member at p: its value as cJSON holds it in *s / *len, or, when it is not
 * a string, *s = NULL (the value skipped). The position after it, NULL on a syntax error. */
static cur string_member(struct lp *P, cur p, const char **s, size_t *len, bool *oom)
{
    *s = NULL;
    if (p < P->end && *p == '"') {
        cur a, b;
        bool esc;
        if (!(p = str_token(P, p, &a, &b, &esc)))
            return NULL;
        if (!P->stop) {
            if (!esc) {
                *s = (const char *)a;
                *len = (size_t)(b - a);
            } else if (!(*s = str_value(a, b, esc, &P->scratch, &P->scratch_cap, len))) {
                *oom = true;
            }
        }
        return p;
    }
    return skip_value(P, p);
}

static size_t cstrlen(const char *s, size_t n)
{
    const char *z = memchr(s, 0, n);
    return z ? (size_t)(z - s) : n;
}

static bool fixed_member(uint8_t *out, size_t n, const char *s, size_t len)
{
    if (fixed_view(out, n, s, len))
        return true;
    size_t c = cstrlen(s, len); /* a NUL ends it, as in cJSON's valuestring */
    return c != len && fixed_view(out, n, s, c);
}

static enum ferry_err quantity_view(uint64_t *out, const char *s, size_t len, size_t i, const char *member,
                                    uint64_t max)
{
    if (!s)
        return bad(i, member, "expected a hex quantity string");
    char q[80];
    len = cstrlen(s, len);
    if (len > sizeof q - 1)
        len = sizeof q - 1; /* still refused: more digits than any u64 */
    memcpy(q, s, len);
    q[len] = 0;
    if (hex_quantity_u64(out, q))
        return ferry_fail_ctx(FERRY_EINVAL, "eth_getLogs: log %zu: %s", i, member);
    if (*out > max)
        return bad(i, member, "out of range");
    return FERRY_OK;
}

struct lp_out {
    struct evm_log *logs;
    size_t n, cap, max;
    uint8_t *arena;
    size_t at;
};

/* Log i, an object at p (its '{'). Syntax errors return NULL; refusals go to P. */
static cur parse_log_text(struct lp *P, struct lp_out *O, cur p, size_t i)
{
    if (P->depth >= JSON_DEPTH_MAX)
        return NULL;
    P->depth++;
    struct evm_log *l = NULL;
    if (!P->stop) {
        if (O->n == O->cap) {
            size_t cap = O->cap ? 2 * O->cap : 64;
            if (cap > O->max)
                cap = O->max;
            struct evm_log *nl = realloc(O->logs, cap * sizeof *nl);
            if (!nl) {
                REFUSE(P, ferry_fail(FERRY_ENOMEM, "eth_getLogs: no memory for %zu logs", cap));
                goto syntax;
            }
            O->logs = nl;
            O->cap = cap;
        }
        l = &O->logs[O->n];
        memset(l, 0, sizeof *l);
    }
syntax:;
    enum { F_ADDRESS = 1, F_TOPICS = 2, F_DATA = 4, F_BLOCK = 8, F_BHASH = 16, F_TXHASH = 32, F_TXINDEX = 64,
           F_LOGINDEX = 128 };
    unsigned seen = 0;
    const char *data = NULL;
    size_t data_len = 0;
    bool oom = false;
    p = ws(P, p + 1);
    if (p < P->end && *p == '}') {
        p++;
        goto done;
    }
    for (;;) {
        p = ws(P, p);
        if (p >= P->end || *p != '"')
            return NULL;
        cur ka, kb;
        bool kesc;
        if (!(p = str_token(P, p, &ka, &kb, &kesc)))
            return NULL;
        p = ws(P, p);
        if (p >= P->end || *p != ':')
            return NULL;
        p = ws(P, p + 1);
        if (p >= P->end)
            return NULL;
        enum member m = M_OTHER;
        const char *k = NULL;
        if (!P->stop) {
            size_t kn;
            if (!kesc) {
                k = (const char *)ka;
                kn = cstrlen(k, (size_t)(kb - ka));
            } else if (!(k = str_value(ka, kb, true, &P->scratch, &P->scratch_cap, &kn))) {
                REFUSE(P, ferry_fail(FERRY_ENOMEM, "eth_getLogs: no memory"));
            }
            if (k) {
                m = member_of_n(k, kn);
                static const char *const mnames[] = {
                    [M_ADDRESS] = "address",   [M_TOPICS] = "topics",
                    [M_DATA] = "data",         [M_BLOCK] = "blockNumber",
                    [M_BHASH] = "blockHash",   [M_TXHASH] = "transactionHash",
                    [M_TXINDEX] = "transactionIndex", [M_LOGINDEX] = "logIndex",
                    [M_REMOVED] = "removed",   [M_BTIME] = "blockTimestamp",
                };
                if (m != M_OTHER)
                    k = mnames[m]; /* the key may live in scratch, which the value reuses */
            }
        }
        const char *s;
        size_t len = 0;
        uint64_t q;
        enum ferry_err e;
        switch (m) {
        case M_OTHER:
            if (!(p = skip_value(P, p)))
                return NULL;
            break;
        case M_ADDRESS:
        case M_BHASH:
        case M_TXHASH: {
            if (!(p = string_member(P, p, &s, &len, &oom)))
                return NULL;
            if (P->stop)
                break;
            uint8_t *dst = m == M_ADDRESS ? l->address : m == M_BHASH ? l->block_hash : l->tx_hash;
            if (!s || !fixed_member(dst, m == M_ADDRESS ? 20 : 32, s, len))
                REFUSE(P, bad(i, k, m == M_ADDRESS ? "expected 0x and 40 hex digits" : "expected 0x and 64 hex digits"));
            seen |= m == M_ADDRESS ? F_ADDRESS : m == M_BHASH ? F_BHASH : F_TXHASH;
            break;
        }
        case M_TOPICS: {
            if (*p != '[') {
                if (!(p = skip_value(P, p)))
                    return NULL;
                REFUSE(P, bad(i, k, "expected an array"));
                break;
            }
            if (P->depth >= JSON_DEPTH_MAX)
                return NULL;
            P->depth++;
            size_t n = 0;
            p = ws(P, p + 1);
            if (p < P->end && *p == ']') {
                p++;
            } else {
                for (;; n++) {
                    p = ws(P, p);
                    if (p >= P->end)
                        return NULL;
                    if (n == 4)
                        REFUSE(P, bad(i, k, "more than 4 topics"));
                    if (!(p = string_member(P, p, &s, &len, &oom)))
                        return NULL;
                    if (!P->stop && (!s || !fixed_member(l->topics[n], 32, s, len)))
                        REFUSE(P, bad(i, k, "expected 0x and 64 hex digits"));
                    p = ws(P, p);
                    if (p < P->end && *p == ',') {
                        p++;
                        continue;
                    }
                    if (p >= P->end || *p != ']')
                        return NULL;
                    p++;
                    n++;
                    break;
                }
            }
            P->depth--;
            if (!P->stop) {
                l->n_topics = n;
                seen |= F_TOPICS;
            }
            break;
        }
        case M_DATA:
            if (!P->stop && (seen & F_DATA)) {
                /* superseded: its digits are never read, but a NUL in them shortens it for
                 * cJSON, and the shorter string must still pass */
                size_t c = cstrlen(data - 2, data_len + 2);
                if (c % 2) {
                    REFUSE(P, bad(i, k, "odd number of hex digits"));
                    seen &= ~(unsigned)F_DATA;
                }
            }
            if (*p == '"') {
                cur a, b;
                bool esc;
                if (!(p = str_token(P, p, &a, &b, &esc)))
                    return NULL;
                if (P->stop)
                    break;
                if (esc) {
                    if (!(s = str_value(a, b, true, &P->dscratch, &P->dscratch_cap, &len))) {
                        oom = true;
                        break;
                    }
                } else {
                    s = (const char *)a;
                    len = (size_t)(b - a);
                }
                if (len < 2 || s[0] != '0' || s[1] != 'x' || len % 2)
                    len = cstrlen(s, len); /* a NUL ends it, as in cJSON's valuestring */
                if (len < 2 || s[0] != '0' || s[1] != 'x') {
                    REFUSE(P, bad(i, k, "expected 0x and hex digits"));
                    break;
                }
                if (len % 2) {
                    REFUSE(P, bad(i, k, "odd number of hex digits"));
                    break;
                }
                data = s + 2;
                data_len = len - 2;
                seen |= F_DATA;
            } else {
                if (!(p = skip_value(P, p)))
                    return NULL;
                REFUSE(P, bad(i, k, "expected 0x and hex digits"));
            }
            break;
        case M_BLOCK:
            if (!P->stop && lit(P, p, "null", 4))
                REFUSE(P, bad(i, k, "null: a pending log"));
            /* fall through */
        case M_TXINDEX:
        case M_LOGINDEX:
        case M_BTIME:
            if (!(p = string_member(P, p, &s, &len, &oom)))
                return NULL;
            if (P->stop || oom)
                break;
            if ((e = quantity_view(&q, s, len, i, k, m == M_TXINDEX || m == M_LOGINDEX ? UINT32_MAX : UINT64_MAX))) {
                REFUSE(P, e);
                break;
            }
            switch (m) {
            case M_BLOCK: l->block_number = q; seen |= F_BLOCK; break;
            case M_TXINDEX: l->tx_index = (uint32_t)q; seen |= F_TXINDEX; break;
            case M_LOGINDEX: l->log_index = (uint32_t)q; seen |= F_LOGINDEX; break;
            default: l->block_timestamp = q; l->has_block_timestamp = true; break;
            }
            break;
        case M_REMOVED:
            if (lit(P, p, "true", 4) || lit(P, p, "false", 5)) {
                if (!P->stop)
                    l->removed = *p == 't';
                p += *p == 't' ? 4 : 5;
            } else {
                if (!(p = skip_value(P, p)))
                    return NULL;
                REFUSE(P, bad(i, k, "expected true or false"));
            }
            break;
        }
        if (oom) {
            REFUSE(P, ferry_fail(FERRY_ENOMEM, "eth_getLogs: no memory"));
            oom = false;
        }
        p = ws(P, p);
        if (p < P->end && *p == ',') {
            p++;
            continue;
        }
        if (p >= P->end || *p != '}')
            return NULL;
        p++;
        break;
    }
done:
    P->depth--;
    if (P->stop)
        return p;
    static const char *const names[] = {"address", "topics", "data", "blockNumber", "blockHash", "transactionHash",
                                        "transactionIndex", "logIndex"};
    for (unsigned bit = 0; bit < 8; bit++)
        if (!(seen & (1u << bit))) {
            REFUSE(P, bad(i, names[bit], "missing"));
            return p;
        }
    /* the last "data" wins, as with the tree, so its digits are read only now */
    size_t dl = data_len / 2;
    if (!hex_digits(O->arena + O->at, data, dl)) {
        /* a NUL among the digits ends the string for cJSON: what is before it may be fine */
        size_t c = cstrlen(data - 2, data_len + 2);
        if (c == data_len + 2) {
            REFUSE(P, bad(i, "data", "not hex"));
            return p;
        }
        if (c < 2) {
            REFUSE(P, bad(i, "data", "expected 0x and hex digits"));
            return p;
        }
        if (c % 2) {
            REFUSE(P, bad(i, "data", "odd number of hex digits"));
            return p;
        }
        dl = (c - 2) / 2;
        if (!hex_digits(O->arena + O->at, data, dl)) {
            REFUSE(P, bad(i, "data", "not hex"));
            return p;
        }
    }
    l->data = O->arena + O->at;
    l->data_len = dl;
    O->at += dl;
    O->n++;
    return p;
}

enum ferry_err evm_logs_parse_text_at(struct evm_logs *out, const char *text, size_t len, size_t depth,
                                      size_t max_logs)
{
    memset(out, 0, sizeof *out);
    hexval_init();
    struct lp P = {.end = (cur)text + len, .depth = depth};
    struct lp_out O = {.max = max_logs};
    cur p = (cur)text;
    enum ferry_err e = FERRY_OK;
    size_t n = 0;
    if (depth == 0 && len >= 5 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* cJSON skips a UTF-8 byte order mark at the start of a document */
    p = ws(&P, p);
    if (p >= P.end || *p != '[') {
        if (p < P.end && (p = skip_value(&P, p)) != NULL)
            goto not_array;
        goto syntax;
    }
    /* Every log's data fits in half the text, so the arena is never reallocated (and the
     * events can point into it as it fills). Untouched pages of it cost nothing. */
    O.arena = malloc(len / 2 + 1);
    if (!O.arena) {
        e = ferry_fail(FERRY_ENOMEM, "eth_getLogs: no memory for a %zu-byte reply", len);
        goto out;
    }
    if (P.depth >= JSON_DEPTH_MAX)
        goto syntax;
    P.depth++;
    p = ws(&P, p + 1);
    if (p < P.end && *p == ']') {
        p++;
    } else {
        for (;; n++) {
            p = ws(&P, p);
            if (p >= P.end)
                goto syntax;
            if (n == max_logs && !P.stop) {
                P.stop = true; /* too many: the rest only for syntax, and ERANGE unless it fails */
                P.err = FERRY_OK;
            }
            if (*p == '{') {
                if (!(p = parse_log_text(&P, &O, p, n)))
                    goto syntax;
            } else {
                if (!(p = skip_value(&P, p)))
                    goto syntax;
                REFUSE(&P, ferry_fail(FERRY_EINVAL, "eth_getLogs: log %zu is not an object", n));
            }
            p = ws(&P, p);
            if (p < P.end && *p == ',') {
                p++;
                continue;
            }
            if (p >= P.end || *p != ']')
                goto syntax;
            p++;
            n++;
            break;
        }
    }
    for (; p < P.end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            goto syntax;
    if (n > max_logs) {
        e = ferry_fail(FERRY_ERANGE, "eth_getLogs: more than %zu logs", max_logs);
        goto out;
    }
    if (P.stop) {
        e = P.err; /* its message is still the last one set */
        goto out;
    }
    if (O.n) {
        out->logs = O.logs;
        out->n = O.n;
        out->arena = O.arena;
        O.logs = NULL;
        O.arena = NULL;
    }
    goto out;
not_array:
    for (; p < P.end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            goto syntax;
    e = ferry_fail(FERRY_EINVAL, "eth_getLogs: the result is not an array");
    goto out;
syntax:
    e = ferry_fail(FERRY_EINVAL, "eth_getLogs: the result is not JSON (at byte %zu)",
                   p ? (size_t)(p - (cur)text) : len);
out:
    free(O.logs);
    free(O.arena);
    free(P.scratch);
    free(P.dscratch);
    return e;
}

enum ferry_err evm_logs_parse_text(struct evm_logs *out, const char *text, size_t len, size_t max_logs)
{
    return evm_logs_parse_text_at(out, text, len, 0, max_logs);
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

/* ---- intent events ---- */

/* A uint64 or address field is right-aligned in its word (checked by the decoder). */
static void addr_of(uint8_t out[20], const struct abi_value *v) { memcpy(out, v->u.word + 12, 20); }

static enum ferry_err step_of(uint32_t *out, const struct abi_value *v, const char *event)
{
    for (int i = 0; i < 28; i++)
        if (v->u.word[i])
            return ferry_fail(FERRY_ERANGE, "%s: stepIndex above 2^32-1 (the router has at most 16 steps)", event);
    *out = (uint32_t)v->u.word[28] << 24 | (uint32_t)v->u.word[29] << 16 | (uint32_t)v->u.word[30] << 8 |
           v->u.word[31];
    return FERRY_OK;
}

enum ferry_err evm_intent_event(const struct evm_app_event *app, const uint8_t *router,
                                struct chain_intent_event *out, bool *is_intent)
{
    memset(out, 0, sizeof *out);
    *is_intent = false;
    const struct abi_value *f = app->fields;
    const char *name = evm_app_kind_name(app->kind);
    enum chain_intent_event_kind kind;
    switch (app->kind) {
    case EVM_APP_INTENT_OPENED: kind = CHAIN_IEV_OPENED; break;
    case EVM_APP_STEP_EXECUTED: kind = CHAIN_IEV_STEP_EXECUTED; break;
    case EVM_APP_STEP_FAILED: kind = CHAIN_IEV_STEP_FAILED; break;
    case EVM_APP_HOP_ARRIVED: kind = CHAIN_IEV_HOP_ARRIVED; break;
    case EVM_APP_HOP_DELIVERED: kind = CHAIN_IEV_HOP_DELIVERED; break;
    case EVM_APP_HOP_RETURNED: kind = CHAIN_IEV_HOP_RETURNED; break;
    case EVM_APP_REFUND_SENT: kind = CHAIN_IEV_REFUND_SENT; break;
    case EVM_APP_INTENT_COMPLETED: kind = CHAIN_IEV_COMPLETED; break;
    case EVM_APP_INTENT_REFUNDED: kind = CHAIN_IEV_REFUNDED; break;
    case EVM_APP_INTENT_CANCELLED: kind = CHAIN_IEV_CANCELLED; break;
    case EVM_APP_TRANSFER_REFUNDED:
        /* sequence, sender, token, amount, timedOut: only the router's own hops (and refunds) */
        if (!router || app->n_fields != 5 || memcmp(f[1].u.word + 12, router, 20) != 0)
            return FERRY_OK;
        kind = CHAIN_IEV_TRANSFER_REFUNDED;
        break;
    case EVM_APP_TRANSFER_RECEIVED:
        /* srcChain, sequence, recipient, token, amount: the last hop of an intent pays its recipient
         * (or a refund hop the owner) through the vault, and only this event says what they got here.
         * Every one is handed over on a chain with a router; the consumer matches (srcChain, sequence). */
        if (!router)
            return FERRY_OK;
        kind = CHAIN_IEV_TRANSFER_RECEIVED;
        break;
    default:
        return FERRY_OK;
    }
    static const size_t nfields[CHAIN_IEV__COUNT] = {
        [CHAIN_IEV_OPENED] = 6,        [CHAIN_IEV_STEP_EXECUTED] = 5, [CHAIN_IEV_STEP_FAILED] = 4,
        [CHAIN_IEV_HOP_ARRIVED] = 5,   [CHAIN_IEV_HOP_DELIVERED] = 2, [CHAIN_IEV_HOP_RETURNED] = 4,
        [CHAIN_IEV_REFUND_SENT] = 4,   [CHAIN_IEV_COMPLETED] = 3,     [CHAIN_IEV_REFUNDED] = 3,
        [CHAIN_IEV_CANCELLED] = 1,     [CHAIN_IEV_TRANSFER_REFUNDED] = 5, [CHAIN_IEV_TRANSFER_RECEIVED] = 5,
    };
    if (app->n_fields != nfields[kind])
        return ferry_fail(FERRY_EINVAL, "%s: %zu fields (want %zu)", name, app->n_fields, nfields[kind]);
    out->kind = kind;
    out->at = app->at;
    enum ferry_err e = FERRY_OK;
    if (kind != CHAIN_IEV_TRANSFER_REFUNDED && kind != CHAIN_IEV_TRANSFER_RECEIVED)
        memcpy(out->intent_id, f[0].u.word, 32);
    switch (kind) {
    case CHAIN_IEV_OPENED: /* intentId, owner, nonce, token, amount, deadline */
        addr_of(out->owner, &f[1]);
        memcpy(out->nonce, f[2].u.word, 32);
        addr_of(out->token, &f[3]);
        memcpy(out->amount, f[4].u.word, 32);
        out->deadline = u64_of(&f[5]);
        break;
    case CHAIN_IEV_STEP_EXECUTED: /* intentId, stepIndex, token, amount, sequence */
        e = step_of(&out->step, &f[1], name);
        addr_of(out->token, &f[2]);
        memcpy(out->amount, f[3].u.word, 32);
        out->sequence = u64_of(&f[4]);
        break;
    case CHAIN_IEV_STEP_FAILED: /* intentId, stepIndex, reason, detail */
        e = step_of(&out->step, &f[1], name);
        switch (f[2].u.word[31]) {
        case 1: out->fail_reason = CHAIN_IFAIL_DEADLINE; break;
        case 2: out->fail_reason = CHAIN_IFAIL_TOKEN_MISMATCH; break;
        case 3: out->fail_reason = CHAIN_IFAIL_CALL_FAILED; break;
        default: out->fail_reason = CHAIN_IFAIL_NONE; break; /* a reason this version does not know */
        }
        out->detail = f[3].u.bytes.ptr;
        out->detail_len = f[3].u.bytes.len > CHAIN_IEV_DETAIL_MAX ? CHAIN_IEV_DETAIL_MAX : f[3].u.bytes.len;
        break;
    case CHAIN_IEV_HOP_ARRIVED: /* intentId, stepIndex, srcChain, token, amount */
        e = step_of(&out->step, &f[1], name);
        out->src_chain = u64_of(&f[2]);
        addr_of(out->token, &f[3]);
        memcpy(out->amount, f[4].u.word, 32);
        break;
    case CHAIN_IEV_HOP_DELIVERED: /* intentId, sequence */
        out->sequence = u64_of(&f[1]);
        break;
    case CHAIN_IEV_HOP_RETURNED: /* intentId, sequence, token, amount */
    case CHAIN_IEV_REFUND_SENT:
        out->sequence = u64_of(&f[1]);
        addr_of(out->token, &f[2]);
        memcpy(out->amount, f[3].u.word, 32);
        break;
    case CHAIN_IEV_COMPLETED: /* intentId, token, amount */
    case CHAIN_IEV_REFUNDED:
        addr_of(out->token, &f[1]);
        memcpy(out->amount, f[2].u.word, 32);
        break;
    case CHAIN_IEV_CANCELLED:
        break;
    case CHAIN_IEV_TRANSFER_REFUNDED: /* sequence, sender, token, amount, timedOut */
        out->sequence = u64_of(&f[0]);
        addr_of(out->token, &f[2]);
        memcpy(out->amount, f[3].u.word, 32);
        out->timed_out = f[4].u.word[31] != 0;
        break;
    case CHAIN_IEV_TRANSFER_RECEIVED: /* srcChain, sequence, recipient, token, amount */
        out->src_chain = u64_of(&f[0]);
        out->sequence = u64_of(&f[1]);
        addr_of(out->recipient, &f[2]);
        addr_of(out->token, &f[3]);
        memcpy(out->amount, f[4].u.word, 32);
        break;
    default:
        break;
    }
    if (e) {
        memset(out, 0, sizeof *out);
        return e;
    }
    *is_intent = true;
    return FERRY_OK;
}
