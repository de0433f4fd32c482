/* Intents: the dApp JSON form, parsed and validated, and back (intent.h).
 * Hashing, typed data, signatures and router calldata are in intent_codec.c; the timeout planner in
 * intent_plan.c. docs/intents.md ("Intent JSON") documents every rule checked here. */
#include "ferry/intent.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ferry/hex.h"
#include "ferry/json_out.h"
#include "ferry/u256.h"
#include "intent_int.h"

#define PATH_MAX_LEN 160 /* a field path inside an error message; longer root paths are cut */
#define JSON_INT_MAX 9007199254740992.0 /* 2^53: above this a JSON number (a double) is not exact */

/* ---- the chain directory ---- */

const struct intent_chain_info *intent_dir_by_id(const struct intent_dir *dir, uint64_t chain_id)
{
    if (!dir)
        return NULL;
    for (size_t i = 0; i < dir->n; i++)
        if (dir->chains[i].chain_id == chain_id)
            return &dir->chains[i];
    return NULL;
}

static bool parse_u64_dec(const char *s, uint64_t *out)
{
    if (!s[0] || (s[0] == '0' && s[1]))
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

const struct intent_chain_info *intent_dir_find(const struct intent_dir *dir, const char *name)
{
    if (!dir || !name)
        return NULL;
    for (size_t i = 0; i < dir->n; i++)
        if (dir->chains[i].name && strcmp(dir->chains[i].name, name) == 0)
            return &dir->chains[i];
    uint64_t id;
    if (parse_u64_dec(name, &id))
        return intent_dir_by_id(dir, id);
    return NULL;
}

/* ---- memory ---- */

void intent_clear(struct intent *it)
{
    if (!it)
        return;
    for (size_t i = 0; i < INTENT_MAX_STEPS; i++)
        free(it->steps[i].data);
    memset(it, 0, sizeof *it);
}

enum ferry_err intent_copy(struct intent *dst, const struct intent *src)
{
    memcpy(dst, src, sizeof *dst);
    for (size_t i = 0; i < INTENT_MAX_STEPS; i++)
        dst->steps[i].data = NULL;
    for (size_t i = 0; i < src->n_steps && i < INTENT_MAX_STEPS; i++) {
        const struct intent_step *s = &src->steps[i];
        if (!s->data_len)
            continue;
        dst->steps[i].data = malloc(s->data_len);
        if (!dst->steps[i].data) {
            intent_clear(dst);
            return ferry_fail(FERRY_ENOMEM, "intent: out of memory copying step %zu", i);
        }
        memcpy(dst->steps[i].data, s->data, s->data_len);
    }
    return FERRY_OK;
}

/* ---- parsing ---- */

/* snprintf that may cut (paths and messages are bounded on purpose). */
static void FERRY_PRINTF(3, 4) put(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

struct pctx {
    char *err;
    const struct intent_dir *dir;
    uint64_t now;
    unsigned flags;
};

/* Writes "field: message" into the error buffer (also the thread's ferry_errmsg) and returns EINVAL. */
static enum ferry_err FERRY_PRINTF(3, 4) pfail(struct pctx *c, const char *field, const char *fmt, ...)
{
    char msg[INTENT_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    put(c->err, INTENT_ERR_MAX, "%s: %s", field, msg);
    return ferry_fail(FERRY_EINVAL, "%s", c->err);
}

/* Joins a parent path and a member name into buf. */
static const char *join(char buf[PATH_MAX_LEN], const char *parent, const char *member)
{
    put(buf, PATH_MAX_LEN, "%s.%s", parent, member);
    return buf;
}

/* Refuses members not in `allowed` (NULL-terminated) and duplicated ones, naming the first. */
static enum ferry_err check_members(struct pctx *c, const cJSON *obj, const char *path, const char *const *allowed)
{
    char f[PATH_MAX_LEN];
    for (const cJSON *m = obj->child; m; m = m->next) {
        const char *name = m->string ? m->string : "";
        bool known = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, name) == 0)
                known = true;
        if (!known) {
            char shown[48];
            size_t k = 0;
            for (const char *p = name; *p && k + 1 < sizeof shown; p++)
                shown[k++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
            shown[k] = 0;
            return pfail(c, join(f, path, shown), "unknown member");
        }
        for (const cJSON *o = obj->child; o != m; o = o->next)
            if (o->string && strcmp(o->string, name) == 0)
                return pfail(c, join(f, path, name), "duplicate member");
    }
    return FERRY_OK;
}

static const cJSON *member(const cJSON *obj, const char *name)
{
    for (const cJSON *m = obj->child; m; m = m->next)
        if (m->string && strcmp(m->string, name) == 0)
            return m;
    return NULL;
}

/* The member as a string; missing or not a string is an error naming it. */
static enum ferry_err get_string(struct pctx *c, const cJSON *obj, const char *path, const char *name,
                                 const char **out)
{
    char f[PATH_MAX_LEN];
    const cJSON *m = member(obj, name);
    if (!m)
        return pfail(c, join(f, path, name), "missing");
    if (!cJSON_IsString(m) || !m->valuestring)
        return pfail(c, join(f, path, name), "expected a string");
    *out = m->valuestring;
    return FERRY_OK;
}

static bool json_uint(const cJSON *m, uint64_t *out)
{
    if (!cJSON_IsNumber(m))
        return false;
    double d = m->valuedouble;
    if (!isfinite(d) || d < 0 || d > JSON_INT_MAX || floor(d) != d)
        return false;
    *out = (uint64_t)d;
    return true;
}

static bool is_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static enum ferry_err get_address(struct pctx *c, const cJSON *obj, const char *path, const char *name,
                                  uint8_t out[ADDRESS_LEN])
{
    char f[PATH_MAX_LEN];
    const char *s;
    enum ferry_err e = get_string(c, obj, path, name, &s);
    if (e)
        return e;
    if (address_parse(out, s)) {
        const char *why = ferry_errmsg();
        if (strncmp(why, "address: ", 9) == 0)
            why += 9;
        return pfail(c, join(f, path, name), "%s", why);
    }
    if (is_zero(out, ADDRESS_LEN))
        return pfail(c, join(f, path, name), "the zero address is not allowed");
    return FERRY_OK;
}

/* Strict decimal u256. `what` names the quantity in the overflow message ("amount", "nonce"). */
static enum ferry_err parse_dec(struct pctx *c, const char *field, const char *s, const char *what,
                                uint8_t out[32])
{
    size_t n = strlen(s);
    bool digits = n > 0 && !(s[0] == '0' && n > 1);
    for (size_t i = 0; digits && i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            digits = false;
    if (!digits)
        return pfail(c, field, "not a decimal string of base units");
    u256 v;
    if (n >= U256_DEC_MAX || u256_from_dec(&v, s))
        return pfail(c, field, "%s overflows uint256", what);
    u256_to_be(out, v);
    return FERRY_OK;
}

static bool is_all(const uint8_t a[32])
{
    uint8_t acc = 0xff;
    for (size_t i = 0; i < 32; i++)
        acc &= a[i];
    return acc == 0xff;
}

/* A concrete amount pulled at step 0: not 0, not ALL (FirstAmountInvalid). */
static enum ferry_err parse_first_amount(struct pctx *c, const char *field, const char *s, uint8_t out[32])
{
    if (strcmp(s, "all") == 0)
        return pfail(c, field, "step 0 moves a concrete amount (\"all\" is for later steps)");
    enum ferry_err e = parse_dec(c, field, s, "amount", out);
    if (e)
        return e;
    if (is_zero(out, 32))
        return pfail(c, field, "must be more than 0");
    if (is_all(out))
        return pfail(c, field, "2^256-1 is reserved (it means \"all\"); name a smaller amount");
    return FERRY_OK;
}

/* A chain by config name, decimal id string or number; it must be in the directory and have a
 * router. Without a directory only numeric ids are accepted, unchecked. */
static enum ferry_err get_chain(struct pctx *c, const cJSON *obj, const char *path, const char *name, uint64_t *out)
{
    char f[PATH_MAX_LEN];
    const cJSON *m = member(obj, name);
    join(f, path, name);
    if (!m)
        return pfail(c, f, "missing");
    const struct intent_chain_info *ci = NULL;
    uint64_t id = 0;
    if (cJSON_IsString(m) && m->valuestring) {
        if (c->dir) {
            ci = intent_dir_find(c->dir, m->valuestring);
            if (!ci)
                return pfail(c, f, "unknown chain \"%.64s\"", m->valuestring);
        } else if (!parse_u64_dec(m->valuestring, &id)) {
            return pfail(c, f, "expected a chain id (no chain directory to look \"%.64s\" up in)", m->valuestring);
        }
    } else if (json_uint(m, &id)) {
        if (c->dir && !(ci = intent_dir_by_id(c->dir, id)))
            return pfail(c, f, "unknown chain id %llu", (unsigned long long)id);
    } else {
        return pfail(c, f, "expected a chain name");
    }
    if (ci) {
        if (is_zero(ci->router, ADDRESS_LEN))
            return pfail(c, f, "chain %s has no IntentRouter configured", ci->name ? ci->name : "?");
        id = ci->chain_id;
    }
    if (id == 0)
        return pfail(c, f, "chain id 0 is not a chain");
    *out = id;
    return FERRY_OK;
}

static const char *chain_name(const struct pctx *c, uint64_t id, char buf[24])
{
    const struct intent_chain_info *ci = intent_dir_by_id(c->dir, id);
    if (ci && ci->name)
        return ci->name;
    snprintf(buf, 24, "%llu", (unsigned long long)id);
    return buf;
}

struct walk {
    uint64_t cur;             /* where the funds are before this step */
    bool prev_call;           /* the previous step was a call (its token_out is what the intent holds) */
    uint8_t prev_out[ADDRESS_LEN];
};

static enum ferry_err check_continuity(struct pctx *c, const struct walk *w, const char *field,
                                       const uint8_t token[ADDRESS_LEN])
{
    if (!w->prev_call || memcmp(token, w->prev_out, ADDRESS_LEN) == 0)
        return FERRY_OK;
    char want[ADDRESS_STR];
    address_to_checksum(want, w->prev_out);
    return pfail(c, field, "must be the previous call's token_out %s (the token the intent holds here)", want);
}

static enum ferry_err parse_transfer(struct pctx *c, const cJSON *o, const char *path, size_t i, size_t n,
                                     struct walk *w, struct intent_step *s)
{
    static const char *const allowed[] = {"token", "amount", "to_chain", "recipient", "timeout", NULL};
    char f[PATH_MAX_LEN], nb[24];
    const char *str;
    enum ferry_err e;
    bool last = i + 1 == n;
    if ((e = check_members(c, o, path, allowed)))
        return e;
    s->kind = INTENT_STEP_TRANSFER;
    s->chain = w->cur;
    if ((e = get_address(c, o, path, "token", s->token)) ||
        (e = check_continuity(c, w, join(f, path, "token"), s->token)))
        return e;
    if ((e = get_string(c, o, path, "amount", &str)))
        return e;
    join(f, path, "amount");
    if (i == 0) {
        if ((e = parse_first_amount(c, f, str, s->amount)))
            return e;
    } else if (strcmp(str, "all") != 0) {
        return pfail(c, f, "must be \"all\" (every step after the first moves everything the intent holds)");
    } else {
        memset(s->amount, 0xff, 32);
    }
    if ((e = get_chain(c, o, path, "to_chain", &s->to_chain)))
        return e;
    bool local = s->to_chain == w->cur;
    if (local && !last)
        return pfail(c, join(f, path, "to_chain"),
                     "a transfer before the last step must leave the chain (the funds are on %s)",
                     chain_name(c, w->cur, nb));
    const cJSON *rcp = member(o, "recipient");
    if (last) {
        if ((e = get_address(c, o, path, "recipient", s->recipient)))
            return e;
    } else if (rcp) {
        return pfail(c, join(f, path, "recipient"),
                     "only the last step names a recipient (the next chain's router receives this hop)");
    }
    const cJSON *to = member(o, "timeout");
    join(f, path, "timeout");
    if (local) {
        if (to)
            return pfail(c, f, "a local payout (to_chain is the chain the funds are on) has no timeout");
    } else if (to) {
        uint64_t t;
        if (!json_uint(to, &t))
            return pfail(c, f, "expected a whole number of seconds");
        if (t < INTENT_MIN_HOP_TIMEOUT)
            return pfail(c, f, "%llu s is below the minimum hop timeout of %d s", (unsigned long long)t,
                         INTENT_MIN_HOP_TIMEOUT);
        s->timeout = t;
    } else if (!(c->flags & INTENT_PARSE_FILL)) {
        return pfail(c, f, "missing (prepare fills it in; a submitted intent must carry every hop timeout)");
    }
    w->cur = s->to_chain;
    w->prev_call = false;
    return FERRY_OK;
}

static enum ferry_err parse_call(struct pctx *c, const cJSON *o, const char *path, size_t i, size_t n,
                                 struct walk *w, struct intent_step *s)
{
    static const char *const allowed[] = {"chain",     "target",         "data",      "token_in",
                                          "token_out", "min_amount_out", "amount_in", NULL};
    char f[PATH_MAX_LEN], nb1[24], nb2[24];
    const char *str;
    enum ferry_err e;
    if ((e = check_members(c, o, path, allowed)))
        return e;
    if (i + 1 == n)
        return pfail(c, path, "the last step must be a transfer (to the recipient), not a call");
    s->kind = INTENT_STEP_CALL;
    if ((e = get_chain(c, o, path, "chain", &s->chain)))
        return e;
    if (s->chain != w->cur)
        return pfail(c, join(f, path, "chain"), "the funds are on %s at this step, not on %s",
                     chain_name(c, w->cur, nb1), chain_name(c, s->chain, nb2));
    if ((e = get_address(c, o, path, "target", s->target)))
        return e;
    if ((e = get_string(c, o, path, "data", &str)))
        return e;
    join(f, path, "data");
    size_t len = strlen(str);
    if (len < 2 || str[0] != '0' || str[1] != 'x')
        return pfail(c, f, "expected 0x followed by hex digits");
    if ((len - 2) % 2)
        return pfail(c, f, "odd number of hex digits");
    size_t bytes = (len - 2) / 2;
    if (bytes > INTENT_MAX_CALL_DATA)
        return pfail(c, f, "%zu bytes of call data, at most %d allowed", bytes, INTENT_MAX_CALL_DATA);
    if (bytes) {
        s->data = malloc(bytes);
        if (!s->data)
            return ferry_fail(FERRY_ENOMEM, "intent: out of memory");
        size_t got;
        if (hex_decode(s->data, bytes, &got, str, len, HEX_PREFIX_REQUIRED)) {
            const char *why = ferry_errmsg();
            if (strncmp(why, "hex: ", 5) == 0)
                why += 5;
            return pfail(c, f, "%s", why);
        }
        s->data_len = got;
    }
    if ((e = get_address(c, o, path, "token_in", s->token)) ||
        (e = check_continuity(c, w, join(f, path, "token_in"), s->token)))
        return e;
    if ((e = get_address(c, o, path, "token_out", s->token_out)))
        return e;
    if (memcmp(s->token_out, s->token, ADDRESS_LEN) == 0)
        return pfail(c, join(f, path, "token_out"), "must differ from token_in");
    if ((e = get_string(c, o, path, "min_amount_out", &str)) ||
        (e = parse_dec(c, join(f, path, "min_amount_out"), str, "amount", s->min_amount_out)))
        return e;
    const cJSON *ai = member(o, "amount_in");
    join(f, path, "amount_in");
    if (i == 0) {
        if (!ai)
            return pfail(c, f, "missing (a route that starts with a call names the amount it takes)");
        if ((e = get_string(c, o, path, "amount_in", &str)) || (e = parse_first_amount(c, f, str, s->amount)))
            return e;
    } else if (ai) {
        return pfail(c, f, "only a call at step 0 names amount_in (later steps use everything the intent holds)");
    } else {
        memset(s->amount, 0xff, 32);
    }
    w->prev_call = true;
    memcpy(w->prev_out, s->token_out, ADDRESS_LEN);
    return FERRY_OK;
}

static enum ferry_err parse_steps(struct pctx *c, const cJSON *j, const char *root, struct intent *it)
{
    char f[PATH_MAX_LEN], sp[PATH_MAX_LEN], kp[PATH_MAX_LEN];
    const cJSON *steps = member(j, "steps");
    join(f, root, "steps");
    if (!steps)
        return pfail(c, f, "missing");
    if (!cJSON_IsArray(steps))
        return pfail(c, f, "expected an array of steps");
    size_t n = (size_t)cJSON_GetArraySize(steps);
    if (n == 0)
        return pfail(c, f, "at least one step is needed");
    if (n > INTENT_MAX_STEPS)
        return pfail(c, f, "%zu steps, at most %d allowed", n, INTENT_MAX_STEPS);
    struct walk w = {.cur = it->origin_chain};
    size_t i = 0;
    for (const cJSON *el = steps->child; el; el = el->next, i++) {
        put(sp, sizeof sp, "%s.steps[%zu]", root, i);
        if (!cJSON_IsObject(el) || !el->child || el->child->next)
            return pfail(c, sp, "expected {\"transfer\": {...}} or {\"call\": {...}}");
        const cJSON *body = el->child;
        const char *kind = body->string ? body->string : "";
        enum ferry_err e;
        if (strcmp(kind, "transfer") == 0 || strcmp(kind, "call") == 0) {
            join(kp, sp, kind);
            if (!cJSON_IsObject(body))
                return pfail(c, kp, "expected an object");
            e = kind[0] == 't' ? parse_transfer(c, body, kp, i, n, &w, &it->steps[i])
                               : parse_call(c, body, kp, i, n, &w, &it->steps[i]);
            it->n_steps = i + 1; /* so that intent_clear frees what this step allocated */
            if (e)
                return e;
        } else {
            return pfail(c, sp, "unknown step kind (expected \"transfer\" or \"call\")");
        }
    }
    return FERRY_OK;
}

static enum ferry_err parse_intent(struct pctx *c, struct intent *it, const cJSON *j, const char *root)
{
    static const char *const allowed[] = {"owner", "origin_chain", "deadline", "nonce", "refund", "steps", NULL};
    char f[PATH_MAX_LEN];
    enum ferry_err e;
    if (!cJSON_IsObject(j))
        return pfail(c, root, "expected a JSON object");
    if ((e = check_members(c, j, root, allowed)) || (e = get_address(c, j, root, "owner", it->owner)) ||
        (e = get_chain(c, j, root, "origin_chain", &it->origin_chain)))
        return e;

    const cJSON *m = member(j, "deadline");
    join(f, root, "deadline");
    if (!m)
        return pfail(c, f, "missing");
    if (!json_uint(m, &it->deadline) || it->deadline == 0)
        return pfail(c, f, "expected unix seconds (a whole number)");
    if (it->deadline <= c->now)
        return pfail(c, f, "%llu is not in the future (now %llu)", (unsigned long long)it->deadline,
                     (unsigned long long)c->now);

    m = member(j, "nonce");
    join(f, root, "nonce");
    if (m) {
        if (!cJSON_IsString(m) || !m->valuestring)
            return pfail(c, f, "expected a decimal string");
        if ((e = parse_dec(c, f, m->valuestring, "nonce", it->nonce)))
            return e;
    } else if (c->flags & INTENT_PARSE_FILL) {
        if (sodium_init() < 0)
            return ferry_fail(FERRY_ECRYPTO, "intent: libsodium failed to initialise");
        randombytes_buf(it->nonce, sizeof it->nonce);
    } else {
        return pfail(c, f, "missing (prepare picks one; a submitted intent must carry it)");
    }

    m = member(j, "refund");
    join(f, root, "refund");
    if (!m)
        return pfail(c, f, "missing");
    if (cJSON_IsString(m) && m->valuestring && strcmp(m->valuestring, "origin") == 0) {
        it->refund = INTENT_REFUND_ORIGIN;
    } else if (cJSON_IsObject(m)) {
        static const char *const rallowed[] = {"recovery", NULL};
        if ((e = check_members(c, m, f, rallowed)) || (e = get_address(c, m, f, "recovery", it->recovery)))
            return e;
        it->refund = INTENT_REFUND_RECOVERY;
    } else {
        return pfail(c, f, "expected \"origin\" or {\"recovery\": \"0x...\"}");
    }
    return parse_steps(c, j, root, it);
}

enum ferry_err intent_from_json(struct intent *out, const cJSON *j, const struct intent_dir *dir, uint64_t now,
                                unsigned flags, const char *path, char err[INTENT_ERR_MAX])
{
    char root[PATH_MAX_LEN];
    put(root, sizeof root, "%s", path && path[0] ? path : "intent");
    memset(out, 0, sizeof *out);
    err[0] = 0;
    struct pctx c = {.err = err, .dir = dir, .now = now, .flags = flags};
    enum ferry_err e = j ? parse_intent(&c, out, j, root) : pfail(&c, root, "missing");
    if (!e && (flags & INTENT_PARSE_FILL))
        e = intent_plan_timeouts_at(out, dir, now, root, err);
    if (e) {
        if (!err[0])
            put(err, INTENT_ERR_MAX, "%s", ferry_errmsg());
        intent_clear(out);
    }
    return e;
}

/* ---- back to JSON ---- */

/* A chain by name with a directory, by id (a number) without. */
static bool add_chain(cJSON *o, const char *name, uint64_t id, const struct intent_dir *dir)
{
    if (!dir)
        return cJSON_AddNumberToObject(o, name, (double)id) != NULL;
    const struct intent_chain_info *ci = intent_dir_by_id(dir, id);
    if (!ci || !ci->name)
        return false;
    return cJSON_AddStringToObject(o, name, ci->name) != NULL;
}

static cJSON *step_to_json(const struct intent *it, size_t i, const struct intent_dir *dir)
{
    const struct intent_step *s = &it->steps[i];
    cJSON *el = cJSON_CreateObject();
    cJSON *b = cJSON_CreateObject();
    if (!el || !b || !cJSON_AddItemToObject(el, s->kind == INTENT_STEP_CALL ? "call" : "transfer", b)) {
        cJSON_Delete(el);
        cJSON_Delete(b);
        return NULL;
    }
    bool ok;
    if (s->kind == INTENT_STEP_TRANSFER) {
        ok = json_add_address(b, "token", s->token) &&
             (i == 0 || !is_all(s->amount) ? json_add_dec(b, "amount", s->amount)
                                          : cJSON_AddStringToObject(b, "amount", "all") != NULL) &&
             add_chain(b, "to_chain", s->to_chain, dir);
        if (ok && i + 1 == it->n_steps)
            ok = json_add_address(b, "recipient", s->recipient);
        if (ok && s->timeout)
            ok = cJSON_AddNumberToObject(b, "timeout", (double)s->timeout) != NULL;
    } else {
        char *hex = malloc(2 * s->data_len + 3);
        ok = hex != NULL;
        if (ok) {
            hex_encode(hex, s->data, s->data_len, true);
            ok = add_chain(b, "chain", s->chain, dir) && json_add_address(b, "target", s->target) &&
                 cJSON_AddStringToObject(b, "data", hex) != NULL && json_add_address(b, "token_in", s->token) &&
                 json_add_address(b, "token_out", s->token_out) && json_add_dec(b, "min_amount_out", s->min_amount_out);
            free(hex);
        }
        if (ok && i == 0)
            ok = json_add_dec(b, "amount_in", s->amount);
    }
    if (!ok) {
        cJSON_Delete(el);
        return NULL;
    }
    return el;
}

cJSON *intent_to_json(const struct intent *it, const struct intent_dir *dir)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON *steps = NULL;
    bool ok = json_add_address(o, "owner", it->owner) && add_chain(o, "origin_chain", it->origin_chain, dir) &&
              cJSON_AddNumberToObject(o, "deadline", (double)it->deadline) && json_add_dec(o, "nonce", it->nonce);
    if (ok) {
        if (it->refund == INTENT_REFUND_RECOVERY) {
            cJSON *r = cJSON_AddObjectToObject(o, "refund");
            ok = r && json_add_address(r, "recovery", it->recovery);
        } else {
            ok = cJSON_AddStringToObject(o, "refund", "origin") != NULL;
        }
    }
    ok = ok && (steps = cJSON_AddArrayToObject(o, "steps")) != NULL;
    for (size_t i = 0; ok && i < it->n_steps && i < INTENT_MAX_STEPS; i++) {
        cJSON *el = step_to_json(it, i, dir);
        ok = el && cJSON_AddItemToArray(steps, el);
        if (el && !ok)
            cJSON_Delete(el);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
