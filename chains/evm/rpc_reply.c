/* The JSON-RPC reply parser and the node error classifier: pure functions over bytes that
 * came from the network, so everything here must hold up against any input (fuzz_rpc). */
#include "evm/rpc.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"

static const char *const kind_names[RPC_E__COUNT] = {
    [RPC_OK] = "OK",
    [RPC_E_TIMEOUT] = "TIMEOUT",
    [RPC_E_CONNECT] = "CONNECT",
    [RPC_E_HTTP_STATUS] = "HTTP_STATUS",
    [RPC_E_RATE_LIMITED] = "RATE_LIMITED",
    [RPC_E_MALFORMED] = "MALFORMED",
    [RPC_E_BAD_ENVELOPE] = "BAD_ENVELOPE",
    [RPC_E_ID_MISMATCH] = "ID_MISMATCH",
    [RPC_E_BODY_TOO_LARGE] = "BODY_TOO_LARGE",
    [RPC_E_NO_ENDPOINT] = "NO_ENDPOINT",
    [RPC_E_CANCELLED] = "CANCELLED",
    [RPC_E_NONCE_TOO_LOW] = "NONCE_TOO_LOW",
    [RPC_E_NONCE_TOO_HIGH] = "NONCE_TOO_HIGH",
    [RPC_E_ALREADY_KNOWN] = "ALREADY_KNOWN",
    [RPC_E_REPLACEMENT_UNDERPRICED] = "REPLACEMENT_UNDERPRICED",
    [RPC_E_UNDERPRICED] = "UNDERPRICED",
    [RPC_E_INSUFFICIENT_FUNDS] = "INSUFFICIENT_FUNDS",
    [RPC_E_EXECUTION_REVERTED] = "EXECUTION_REVERTED",
    [RPC_E_LIMIT_EXCEEDED] = "LIMIT_EXCEEDED",
    [RPC_E_METHOD_NOT_FOUND] = "METHOD_NOT_FOUND",
    [RPC_E_NODE] = "NODE",
};

const char *rpc_errkind_name(enum rpc_errkind k)
{
    if ((unsigned)k >= RPC_E__COUNT)
        return "UNKNOWN";
    return kind_names[k];
}

enum rpc_errkind rpc_errkind_from_name(const char *name)
{
    for (int k = 0; k < RPC_E__COUNT; k++)
        if (name && strcmp(kind_names[k], name) == 0)
            return (enum rpc_errkind)k;
    return RPC_E__COUNT;
}

bool rpc_errkind_retryable(enum rpc_errkind k)
{
    switch (k) {
    case RPC_E_TIMEOUT:
    case RPC_E_CONNECT:
    case RPC_E_HTTP_STATUS:
    case RPC_E_RATE_LIMITED:
    case RPC_E_MALFORMED:
    case RPC_E_BAD_ENVELOPE:
    case RPC_E_ID_MISMATCH:
        return true;
    default:
        return false;
    }
}

cJSON *rpc_reply_take(struct rpc_reply *r)
{
    if (!r->result || r->err.kind != RPC_OK)
        return NULL;
    cJSON *item = r->result;
    if (r->parent_)
        item = cJSON_DetachItemViaPointer(r->parent_, item);
    r->result = NULL;
    r->parent_ = NULL;
    return item;
}

/* ---- classification ---- */

/* Only the start of a message is read, lowercased once: real messages are a few hundred
 * bytes, and a hostile node's megabyte-long one must not stall the loop in a hundred scans. */
#define SCAN_MAX 1024

static void lower_copy(char out[SCAN_MAX + 1], const char *in)
{
    size_t i = 0;
    for (; in[i] && i < SCAN_MAX; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = 0;
}

enum scope { ANY, LOGS };

struct rule {
    enum rpc_errkind kind;
    enum scope scope;
    const char *needle; /* lowercase */
};

/* First match wins, so longer, more specific phrases come before the phrases they contain
 * ("replacement transaction underpriced" before "transaction underpriced"), and phrases that
 * look like limits but are not ("block range extends beyond current head") come before the
 * broad eth_getLogs ones. Sources: go-ethereum txpool/core errors, erigon, nethermind
 * AcceptTxResult names, besu JsonRpcError texts, reth and anvil (recorded in
 * tests/vectors/rpc/anvil_*.json), openethereum, and provider texts (infura, alchemy,
 * quicknode, ankr, chainstack, blast, cloudflare, thirdweb, llamarpc, 1rpc...). */
static const struct rule rules[] = {
    /* rate limits come first: -32005 is also "limit exceeded" for logs at some providers */
    {RPC_E_RATE_LIMITED, ANY, "rate limit"},
    {RPC_E_RATE_LIMITED, ANY, "ratelimit"},
    {RPC_E_RATE_LIMITED, ANY, "rate-limit"},
    {RPC_E_RATE_LIMITED, ANY, "too many requests"},
    {RPC_E_RATE_LIMITED, ANY, "request rate exceeded"},
    {RPC_E_RATE_LIMITED, ANY, "request count exceeded"},
    {RPC_E_RATE_LIMITED, ANY, "compute units per second"},
    {RPC_E_RATE_LIMITED, ANY, "exceeded its compute units"},
    {RPC_E_RATE_LIMITED, ANY, "throughput exceeded"},

    {RPC_E_METHOD_NOT_FOUND, ANY, "method not found"},
    {RPC_E_METHOD_NOT_FOUND, ANY, "does not exist/is not available"},
    {RPC_E_METHOD_NOT_FOUND, ANY, "method not supported"},
    {RPC_E_METHOD_NOT_FOUND, ANY, "unsupported method"},
    {RPC_E_METHOD_NOT_FOUND, ANY, "method not available"},

    {RPC_E_EXECUTION_REVERTED, ANY, "execution reverted"},
    {RPC_E_EXECUTION_REVERTED, ANY, "vm execution error"},
    {RPC_E_EXECUTION_REVERTED, ANY, "vm exception while processing transaction"},
    {RPC_E_EXECUTION_REVERTED, ANY, "transaction reverted"},
    {RPC_E_EXECUTION_REVERTED, ANY, "reverted with reason"},

    {RPC_E_REPLACEMENT_UNDERPRICED, ANY, "replacement transaction underpriced"},
    {RPC_E_REPLACEMENT_UNDERPRICED, ANY, "replacement fee too low"},
    {RPC_E_REPLACEMENT_UNDERPRICED, ANY, "replacement underpriced"},
    {RPC_E_REPLACEMENT_UNDERPRICED, ANY, "feetoolowtocompete"},
    {RPC_E_REPLACEMENT_UNDERPRICED, ANY, "replacementnotallowed"},
    {RPC_E_REPLACEMENT_UNDERPRICED, ANY, "another transaction with same nonce"},
    {RPC_E_REPLACEMENT_UNDERPRICED, ANY, "could not replace existing tx"},

    {RPC_E_UNDERPRICED, ANY, "transaction underpriced"},
    {RPC_E_UNDERPRICED, ANY, "feetoolow"},
    {RPC_E_UNDERPRICED, ANY, "gas price too low"},
    {RPC_E_UNDERPRICED, ANY, "max fee per gas less than block base fee"},
    {RPC_E_UNDERPRICED, ANY, "below configured minimum gas price"},
    {RPC_E_UNDERPRICED, ANY, "does not satisfy your node's minimal gas price"},

    {RPC_E_NONCE_TOO_LOW, ANY, "nonce too low"},
    {RPC_E_NONCE_TOO_LOW, ANY, "nonce is too low"},
    {RPC_E_NONCE_TOO_LOW, ANY, "oldnonce"},
    {RPC_E_NONCE_TOO_LOW, ANY, "too stale nonce"},
    {RPC_E_NONCE_TOO_LOW, ANY, "pool(stale)"},

    {RPC_E_NONCE_TOO_HIGH, ANY, "nonce too high"},
    {RPC_E_NONCE_TOO_HIGH, ANY, "nonce is too high"},
    {RPC_E_NONCE_TOO_HIGH, ANY, "noncegap"},
    {RPC_E_NONCE_TOO_HIGH, ANY, "nonce is too distant"},

    {RPC_E_ALREADY_KNOWN, ANY, "already known"},
    {RPC_E_ALREADY_KNOWN, ANY, "known transaction"},
    {RPC_E_ALREADY_KNOWN, ANY, "alreadyknown"},
    {RPC_E_ALREADY_KNOWN, ANY, "already imported"},
    {RPC_E_ALREADY_KNOWN, ANY, "existing tx with same hash"},
    {RPC_E_ALREADY_KNOWN, ANY, "tx already exist"},
    {RPC_E_ALREADY_KNOWN, ANY, "transaction already exists"},
    {RPC_E_ALREADY_KNOWN, ANY, "already in the mempool"},
    {RPC_E_ALREADY_KNOWN, ANY, "pool(alreadyimported)"},

    {RPC_E_INSUFFICIENT_FUNDS, ANY, "insufficient funds"},
    {RPC_E_INSUFFICIENT_FUNDS, ANY, "insufficientfunds"},
    {RPC_E_INSUFFICIENT_FUNDS, ANY, "insufficient balance"},
    {RPC_E_INSUFFICIENT_FUNDS, ANY, "upfront cost exceeds account balance"},
    {RPC_E_INSUFFICIENT_FUNDS, ANY, "doesn't have enough funds"},
    {RPC_E_INSUFFICIENT_FUNDS, ANY, "not enough funds"},
    {RPC_E_INSUFFICIENT_FUNDS, ANY, "would cause overdraft"},

    /* Range errors that are not limits: the caller asked for blocks that do not exist. */
    {RPC_E_NODE, ANY, "extends beyond current head"},
    {RPC_E_NODE, ANY, "invalid block range"},
    {RPC_E_NODE, ANY, "blockoutofrangeerror"},
    {RPC_E_NODE, ANY, "from block is after to block"},

    {RPC_E_LIMIT_EXCEEDED, ANY, "query returned more than"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "exceeds max results"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "query exceeds max"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "log response size exceeded"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "block range is too wide"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "block range too large"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "block range is too large"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "range too large"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "range is too large"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "block range too high"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "exceed maximum block range"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "exceeds maximum block range"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "exceed max block range"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "block range limit exceeded"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "block range is bigger than"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "block range is larger than"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "block range greater than"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "block range exceeds"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "logs matched by query exceeds limit"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "query returns too many logs"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "query block range exceeds"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "requested too many blocks"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "maximum allowed number of requested blocks"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "response size should not greater than"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "eth_getlogs is limited to"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "eth_getlogs requests with up to"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "eth_getlogs range is too large"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "this block range should work"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "try with this block range"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "please limit the query to at most"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "backend response too large"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "range threshold exceeded"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "exceeds the range allowed"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "too many blocks"},
    {RPC_E_LIMIT_EXCEEDED, ANY, "too many logs"},
    /* Too vague on their own; for a logs query they can only mean its size. */
    {RPC_E_LIMIT_EXCEEDED, LOGS, "limit exceeded"},
    {RPC_E_LIMIT_EXCEEDED, LOGS, "exceeds limit"},
    {RPC_E_LIMIT_EXCEEDED, LOGS, "limited to"},
    {RPC_E_LIMIT_EXCEEDED, LOGS, "max range"},
    {RPC_E_LIMIT_EXCEEDED, LOGS, "range limit"},
    {RPC_E_LIMIT_EXCEEDED, LOGS, "maximum block range"},
    {RPC_E_LIMIT_EXCEEDED, LOGS, "block range"},
    {RPC_E_LIMIT_EXCEEDED, LOGS, "too large"},
};

static bool is_logs_method(const char *method)
{
    return method && (strcmp(method, "eth_getLogs") == 0 || strcmp(method, "eth_getFilterLogs") == 0);
}

enum rpc_errkind rpc_classify(const char *method, int64_t code, const char *message)
{
    char low[SCAN_MAX + 1];
    lower_copy(low, message ? message : "");
    bool logs = is_logs_method(method);
    /* Codes that mean one thing whatever the message says. */
    if (code == 429)
        return RPC_E_RATE_LIMITED;
    if (code == -32601)
        return RPC_E_METHOD_NOT_FOUND;
    if (code == 3)
        return RPC_E_EXECUTION_REVERTED;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (rules[i].scope == LOGS && !logs)
            continue;
        if (strstr(low, rules[i].needle))
            return rules[i].kind;
    }
    /* EIP-1474: -32005 "limit exceeded"; for logs the message often says nothing more. */
    if (logs && code == -32005)
        return RPC_E_LIMIT_EXCEEDED;
    return RPC_E_NODE;
}

/* "0x" followed by an even number of hex digits, the whole string. */
static bool is_hex_data(const char *s)
{
    if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return false;
    size_t n = 0;
    for (const char *p = s + 2; *p; p++, n++)
        if (!isxdigit((unsigned char)*p))
            return false;
    return n % 2 == 0;
}

/* Where the revert bytes hide: geth, reth, erigon, anvil and besu put "0x..." in data;
 * nethermind wrote "Reverted 0x..."; hardhat-style nodes nest {"data": "0x..."}. */
static const char *find_revert_data(const cJSON *data)
{
    if (cJSON_IsString(data)) {
        const char *s = data->valuestring;
        if (strncmp(s, "Reverted ", 9) == 0)
            s += 9;
        return is_hex_data(s) ? s : NULL;
    }
    if (cJSON_IsObject(data)) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(data, "data");
        if (cJSON_IsString(d) && is_hex_data(d->valuestring))
            return d->valuestring;
    }
    return NULL;
}

/* Reads a number at s (decimal, digits grouped by ',' allowed, or 0x-hex); 0 if none. */
static bool read_number(const char *s, uint64_t *out, const char **end)
{
    while (*s == ' ' || *s == ':' || *s == '(' || *s == '[')
        s++;
    uint64_t v = 0;
    const char *p = s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && isxdigit((unsigned char)p[2])) {
        p += 2;
        for (; isxdigit((unsigned char)*p); p++) {
            if (v >> 60)
                return false;
            int d = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
            v = v * 16 + (uint64_t)d;
        }
    } else {
        if (!isdigit((unsigned char)*p))
            return false;
        for (; isdigit((unsigned char)*p) || (*p == ',' && isdigit((unsigned char)p[1])); p++) {
            if (*p == ',')
                continue;
            if (v > (UINT64_MAX - 9) / 10)
                return false;
            v = v * 10 + (uint64_t)(*p - '0');
        }
    }
    *out = v;
    if (end)
        *end = p;
    return true;
}

/* The position just past needle in hay (lowercased), or NULL. */
static const char *after(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    return p ? p + strlen(needle) : NULL;
}

/* What a LIMIT_EXCEEDED message says about what would work. */
static void limit_hints(struct rpc_error *err, const char *text)
{
    char msg[SCAN_MAX + 1];
    lower_copy(msg, text);
    /* a suggested range: alchemy "[0x1, 0x2]", infura "[0x1, 0x2]", reth "range 10-20" */
    static const char *const range_anchors[] = {"should work: ", "block range ", "retry with the range "};
    for (size_t i = 0; i < sizeof range_anchors / sizeof range_anchors[0] && !err->limit_has_range; i++) {
        const char *p = after(msg, range_anchors[i]);
        uint64_t a, b;
        const char *e;
        if (p && read_number(p, &a, &e) && (*e == ',' || *e == '-')) {
            e++;
            if (read_number(e, &b, NULL) && b >= a) {
                err->limit_has_range = true;
                err->limit_from = a;
                err->limit_to = b;
            }
        }
    }
    /* the widest range served: "limited to a 10,000 range", "up to a 2K block range" (no),
     * "maximum 1024", "max block range 5000", "exceeds limit of 10000", "Max range: 3" */
    static const char *const max_anchors[] = {"limited to a ",     "limited to ",         "up to a ",
                                              "exceeds limit of ", "max block range ",    "maximum block range: ",
                                              "max range: ",       "(maximum ",           "maximum is set to ",
                                              "at most ",          "max block range = ", "exceed max block range: ",
                                              "block range exceeds "};
    /* "exceeds limit of 10000" about logs or results is a count, not a block range */
    if (strstr(msg, "result") || strstr(msg, "logs matched") || strstr(msg, "too many logs"))
        return;
    for (size_t i = 0; i < sizeof max_anchors / sizeof max_anchors[0] && !err->limit_max_blocks; i++) {
        const char *p = after(msg, max_anchors[i]);
        uint64_t v;
        const char *e;
        if (p && read_number(p, &v, &e) && v > 0 && !isalpha((unsigned char)*e))
            err->limit_max_blocks = v;
    }
}

void rpc_error_from_node(struct rpc_error *err, const char *method, int64_t code, const char *message,
                         const cJSON *data)
{
    err->code = code;
    err->message = message ? message : "";
    err->data = data;
    err->kind = rpc_classify(method, code, err->message);
    /* Some nodes and proxies give a vague message and the reason in data, as a string or as
     * a string member ({"payload": "range 9009594 is bigger than range limit 2000"}). */
    const char *reason = NULL;
    if (err->kind == RPC_E_NODE) {
        const cJSON *d = cJSON_IsObject(data) ? data->child : data;
        /* a few members at most: the reason is never buried deep */
        for (int seen = 0; d && err->kind == RPC_E_NODE && seen < 8;
             d = cJSON_IsObject(data) ? d->next : NULL, seen++) {
            if (cJSON_IsString(d) && !is_hex_data(d->valuestring)) {
                enum rpc_errkind k = rpc_classify(method, code, d->valuestring);
                if (k != RPC_E_NODE) {
                    err->kind = k;
                    reason = d->valuestring;
                }
            }
        }
    }
    err->revert_data = NULL;
    err->limit_max_blocks = 0;
    err->limit_has_range = false;
    err->limit_from = err->limit_to = 0;
    if (err->kind == RPC_E_EXECUTION_REVERTED)
        err->revert_data = find_revert_data(data);
    if (err->kind == RPC_E_LIMIT_EXCEEDED) {
        limit_hints(err, err->message);
        if (reason)
            limit_hints(err, reason);
    }
}

/* ---- the envelope ---- */

struct envelope {
    bool id_null;
    uint64_t id;
    cJSON *result;
    cJSON *error;
    int64_t code;
    const char *message;
    const cJSON *data;
};

static enum rpc_errkind bad(char *why, size_t why_len, enum rpc_errkind k, const char *what)
{
    if (why && why_len)
        snprintf(why, why_len, "%s", what);
    return k;
}

/* Largest integer a double holds exactly: ids and codes beyond it are not ours. */
#define EXACT_MAX 9007199254740992.0

static enum rpc_errkind check_envelope(cJSON *o, struct envelope *env, char *why, size_t why_len)
{
    memset(env, 0, sizeof *env);
    if (!cJSON_IsObject(o))
        return bad(why, why_len, RPC_E_BAD_ENVELOPE, "reply is not a JSON object");
    const cJSON *jsonrpc = NULL, *id = NULL;
    int n_result = 0, n_error = 0;
    for (cJSON *m = o->child; m; m = m->next) {
        const char *k = m->string;
        if (!k)
            continue;
        if (strcmp(k, "jsonrpc") == 0) {
            if (jsonrpc)
                return bad(why, why_len, RPC_E_BAD_ENVELOPE, "a reply member appears twice");
            jsonrpc = m;
        } else if (strcmp(k, "id") == 0) {
            if (id)
                return bad(why, why_len, RPC_E_BAD_ENVELOPE, "a reply member appears twice");
            id = m;
        } else if (strcmp(k, "result") == 0) {
            n_result++;
            env->result = m;
        } else if (strcmp(k, "error") == 0) {
            n_error++;
            env->error = m;
        }
    }
    if (!cJSON_IsString(jsonrpc) || strcmp(jsonrpc->valuestring, "2.0") != 0)
        return bad(why, why_len, RPC_E_BAD_ENVELOPE, "\"jsonrpc\" is not \"2.0\"");
    if (n_result + n_error != 1)
        return bad(why, why_len, RPC_E_BAD_ENVELOPE, "a reply needs exactly one of \"result\" and \"error\"");
    if (!id)
        return bad(why, why_len, RPC_E_BAD_ENVELOPE, "reply has no \"id\"");
    if (cJSON_IsNull(id)) {
        env->id_null = true;
    } else {
        double d = cJSON_IsNumber(id) ? id->valuedouble : -1;
        if (!cJSON_IsNumber(id) || !(d >= 0) || d > EXACT_MAX || d != floor(d))
            return bad(why, why_len, RPC_E_ID_MISMATCH, "reply \"id\" is not one of ours");
        env->id = (uint64_t)d;
    }
    if (env->error) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(env->error, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(env->error, "message");
        if (!cJSON_IsObject(env->error) || !cJSON_IsNumber(code) || !cJSON_IsString(msg))
            return bad(why, why_len, RPC_E_BAD_ENVELOPE, "\"error\" needs a numeric \"code\" and a string \"message\"");
        double c = code->valuedouble;
        if (!(c >= -EXACT_MAX && c <= EXACT_MAX) || c != floor(c))
            return bad(why, why_len, RPC_E_BAD_ENVELOPE, "error \"code\" is not an integer");
        env->code = (int64_t)c;
        env->message = msg->valuestring;
        env->data = cJSON_GetObjectItemCaseSensitive(env->error, "data");
    } else if (env->id_null) {
        return bad(why, why_len, RPC_E_ID_MISMATCH, "a result with a null \"id\"");
    }
    return RPC_OK;
}

static void fill(struct rpc_reply *r, const struct envelope *env, const char *method, cJSON *parent)
{
    memset(r, 0, sizeof *r);
    r->err.endpoint = -1;
    if (env->error) {
        rpc_error_from_node(&r->err, method, env->code, env->message, env->data);
    } else {
        r->result = env->result;
        r->parent_ = parent;
        r->err.kind = RPC_OK;
        r->err.message = "";
    }
}

static size_t find_id(const uint64_t *ids, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ids[lo] == id ? lo : n;
}

/* ---- results handed over as text ---- */

struct raw_span {
    uint64_t id;
    const char *p;
    size_t len;
};

/* The end of the string token at p (its '"'), as cJSON scans it; NULL if unterminated. */
static const char *scan_string(const char *p, const char *end)
{
    const char *s = p + 1;
    if (s >= end)
        return NULL;
    const char *q = memchr(s, '"', (size_t)(end - s));
    if (!q)
        return NULL;
    if (!memchr(s, '\\', (size_t)(q - s)))
        return q + 1;
    for (; s < end && *s != '"'; s++)
        if (*s == '\\' && ++s >= end)
            return NULL;
    return s < end ? s + 1 : NULL;
}

/* Past the value at p. Loose (brackets of either kind pair up, literals run to a delimiter):
 * exact on JSON that parses, and whatever it makes of the rest, cJSON's parse of what is left
 * or the caller's parse of the span refuses it. */
static const char *scan_value(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"')
        return scan_string(p, end);
    if (*p == '[' || *p == '{') {
        size_t depth = 0;
        while (p < end) {
            char c = *p;
            if (c == '"') {
                if (!(p = scan_string(p, end)))
                    return NULL;
                continue;
            }
            if (c == '[' || c == '{')
                depth++;
            else if ((c == ']' || c == '}') && --depth == 0)
                return p + 1;
            p++;
        }
        return NULL;
    }
    const char *start = p;
    while (p < end && (unsigned char)*p > 32 && *p != ',' && *p != ']' && *p != '}')
        p++;
    return p > start ? p : NULL;
}

static const char *scan_ws(const char *p, const char *end)
{
    while (p < end && (unsigned char)*p <= 32)
        p++;
    return p;
}

/* The "result" of each envelope with a plain integer id, in order. False when the reply is not
 * plainly shaped: then it is read as a tree, as ever. */
static bool scan_results(const char *body, size_t len, struct raw_span *spans, size_t max, size_t *n)
{
    const char *p = body, *end = body + len;
    *n = 0;
    p = scan_ws(p, end);
    bool batch = p < end && *p == '[';
    if (batch)
        p = scan_ws(p + 1, end);
    for (;;) {
        if (p >= end || *p != '{')
            return false;
        const char *res = NULL, *res_end = NULL;
        bool has_id = false;
        uint64_t id = 0;
        p = scan_ws(p + 1, end);
        while (p < end && *p != '}') {
            const char *k = p, *ke;
            if (*p != '"' || !(ke = scan_string(p, end)) || memchr(k, '\\', (size_t)(ke - k)))
                return false;
            p = scan_ws(ke, end);
            if (p >= end || *p != ':')
                return false;
            p = scan_ws(p + 1, end);
            const char *v = p;
            if (!(p = scan_value(p, end)))
                return false;
            size_t kl = (size_t)(ke - k);
            if (kl == 8 && memcmp(k, "\"result\"", 8) == 0) {
                if (res)
                    return false;
                res = v;
                res_end = p;
            } else if (kl == 4 && memcmp(k, "\"id\"", 4) == 0) {
                if (has_id || v == p || p - v > 15)
                    return false;
                for (const char *d = v; d < p; d++) {
                    if (*d < '0' || *d > '9')
                        return false;
                    id = id * 10 + (uint64_t)(*d - '0');
                }
                has_id = true;
            }
            p = scan_ws(p, end);
            if (p < end && *p == ',')
                p = scan_ws(p + 1, end);
        }
        if (p >= end)
            return false;
        p++;
        if (res && has_id) {
            if (*n == max)
                return false;
            spans[(*n)++] = (struct raw_span){id, res, (size_t)(res_end - res)};
        }
        if (!batch)
            return true;
        p = scan_ws(p, end);
        if (p < end && *p == ',') {
            p = scan_ws(p + 1, end);
            continue;
        }
        return p < end && *p == ']';
    }
}

enum rpc_errkind rpc_parse_reply_raw(const char *body, size_t len, bool batch, const uint64_t *ids,
                                     const char *const *methods, const bool *raw, size_t n, cJSON **tree,
                                     struct rpc_reply *out, char *why, size_t why_len)
{
    size_t want = 0;
    for (size_t i = 0; raw && i < n; i++)
        want += raw[i];
    struct raw_span *spans = want ? malloc(n * sizeof *spans) : NULL;
    size_t ns = 0;
    if (!spans || !scan_results(body, len, spans, n, &ns))
        ns = 0;
    /* The reply with the wanted results replaced by null: cJSON checks the envelope as ever
     * without building their trees. */
    char *sub = NULL;
    size_t sublen = 0, nsub = 0;
    for (size_t s = 0; s < ns; s++) {
        size_t i = find_id(ids, n, spans[s].id);
        if (i < n && raw[i])
            spans[nsub++] = spans[s];
    }
    if (nsub) {
        size_t cap = len, at = 0;
        for (size_t s = 0; s < nsub; s++)
            cap = cap - spans[s].len + 4;
        sub = malloc(cap + 1);
        if (sub) {
            const char *from = body;
            for (size_t s = 0; s < nsub; s++) {
                memcpy(sub + at, from, (size_t)(spans[s].p - from));
                at += (size_t)(spans[s].p - from);
                memcpy(sub + at, "null", 4);
                at += 4;
                from = spans[s].p + spans[s].len;
            }
            memcpy(sub + at, from, (size_t)(body + len - from));
            at += (size_t)(body + len - from);
            sub[at] = 0;
            sublen = at;
        } else {
            nsub = 0;
        }
    }
    enum rpc_errkind k = rpc_parse_reply(sub ? sub : body, sub ? sublen : len, batch, ids, methods, n, tree, out,
                                         why, why_len);
    free(sub);
    for (size_t i = 0; k == RPC_OK && i < n; i++) {
        out[i].raw = NULL;
        out[i].raw_len = out[i].raw_depth = 0;
        if (!raw || !raw[i] || out[i].err.kind != RPC_OK)
            continue;
        for (size_t s = 0; s < nsub; s++)
            if (spans[s].id == ids[i]) {
                out[i].raw = spans[s].p;
                out[i].raw_len = spans[s].len;
                out[i].raw_depth = cJSON_IsArray(*tree) ? 2 : 1;
                break;
            }
    }
    free(spans);
    return k;
}

enum rpc_errkind rpc_parse_reply(const char *body, size_t len, bool batch, const uint64_t *ids,
                                 const char *const *methods, size_t n, cJSON **tree, struct rpc_reply *out, char *why,
                                 size_t why_len)
{
    *tree = NULL;
    if (why && why_len)
        why[0] = 0;
    if (n == 0)
        return bad(why, why_len, RPC_E_BAD_ENVELOPE, "no calls to match a reply to");
    const char *end = NULL;
    cJSON *root = len ? cJSON_ParseWithLengthOpts(body, len, &end, false) : NULL;
    if (!root)
        return bad(why, why_len, RPC_E_MALFORMED, len ? "reply is not JSON" : "reply is empty");
    for (; end && end < body + len; end++)
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            cJSON_Delete(root);
            return bad(why, why_len, RPC_E_MALFORMED, "bytes after the JSON value");
        }

    struct envelope env;
    enum rpc_errkind k;
    if (!batch || cJSON_IsObject(root)) {
        k = check_envelope(root, &env, why, why_len);
        if (k)
            goto fail;
        if (batch && !(env.id_null && env.error)) {
            k = bad(why, why_len, RPC_E_BAD_ENVELOPE, "a batch was answered by a single reply");
            goto fail;
        }
        if (!env.id_null && env.id != ids[0]) {
            k = bad(why, why_len, RPC_E_ID_MISMATCH, "reply answers another request");
            goto fail;
        }
        for (size_t i = 0; i < (batch ? n : 1); i++)
            fill(&out[i], &env, methods ? methods[i] : NULL, root);
        *tree = root;
        return RPC_OK;
    }
    if (!cJSON_IsArray(root)) {
        k = bad(why, why_len, RPC_E_BAD_ENVELOPE, "a batch reply is not a JSON array");
        goto fail;
    }
    bool *seen = calloc(n, sizeof *seen);
    if (!seen) {
        k = bad(why, why_len, RPC_E_MALFORMED, "out of memory reading a batch reply");
        goto fail;
    }
    k = RPC_OK;
    size_t got = 0;
    for (cJSON *e = root->child; e; e = e->next) {
        k = check_envelope(e, &env, why, why_len);
        if (k)
            break;
        if (env.id_null) {
            k = bad(why, why_len, RPC_E_BAD_ENVELOPE, "a batch entry has a null id (the node rejected a call)");
            break;
        }
        size_t i = find_id(ids, n, env.id);
        if (i == n) {
            k = bad(why, why_len, RPC_E_ID_MISMATCH, "a batch entry answers an id we did not send");
            break;
        }
        if (seen[i]) {
            k = bad(why, why_len, RPC_E_BAD_ENVELOPE, "two batch entries answer the same id");
            break;
        }
        seen[i] = true;
        got++;
        fill(&out[i], &env, methods ? methods[i] : NULL, e);
    }
    free(seen);
    if (!k && got != n)
        k = bad(why, why_len, RPC_E_ID_MISMATCH, "the batch reply misses some ids");
    if (k)
        goto fail;
    *tree = root;
    return RPC_OK;
fail:
    cJSON_Delete(root);
    return k;
}
