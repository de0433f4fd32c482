/* Revert data as text (revert.h).
 *
 * The table below holds signatures only, written as the contracts declare them (parameter names
 * included, enums as uint8); the selectors are computed from it once with the project's keccak.
 * tests/unit/test_evm_revert.c checks it against the compiled ABIs both ways (every error an
 * artifact declares is here, nothing here is missing from the artifacts), so a contract change
 * that adds, renames or retypes an error fails a unit test instead of printing a bare selector. */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "evm/revert.h"
#include "ferry/abi.h"
#include "ferry/buf.h"
#include "ferry/hex.h"
#include "ferry/u256.h"

/* IntentRouter.Status, for the uint8 `status` of the router's position errors. */
static const char *const router_status[] = {"None",      "Holding",        "InFlight", "Departed", "Completed",
                                            "Refunding", "RefundInFlight", "Refunded", "Cancelled"};
#define N_STATUS (sizeof router_status / sizeof router_status[0])

static const struct err_def {
    const char *sig;
    const char *const *enum_names; /* names of the values of its uint8 parameters, or NULL */
    size_t n_enum;
} table[] = {
    /* Gateway (with OpenZeppelin's Ownable, ReentrancyGuard, EIP712/ShortStrings) */
    {.sig = "EmptyBatch()"},
    {.sig = "InsufficientGasForReceiver(uint256 gasLeft, uint256 needed)"},
    {.sig = "InvalidAttesterSet()"},
    {.sig = "InvalidDestination(uint64 dstChain)"},
    {.sig = "InvalidReceiveGasLimit(uint32 gasLimit)"},
    {.sig = "InvalidShortString()"},
    {.sig = "InvalidSignature(uint256 index)"},
    {.sig = "InvalidThreshold(uint256 threshold, uint256 attesters)"},
    {.sig = "LengthMismatch(uint256 packets, uint256 attestations)"},
    {.sig = "MalformedAttestation(uint256 length)"},
    {.sig = "NotAttester(address signer)"},
    {.sig = "NotEnoughSignatures(uint256 count, uint256 threshold)"},
    {.sig = "OwnableInvalidOwner(address owner)"},
    {.sig = "OwnableUnauthorizedAccount(address account)"},
    {.sig = "PacketNotPending(uint64 sequence)"},
    {.sig = "PayloadTooLarge(uint256 length, uint256 max)"},
    {.sig = "ReceiverNotAContract(bytes32 receiver)"},
    {.sig = "ReentrancyGuardReentrantCall()"},
    {.sig = "SignersNotAscending(uint256 index)"},
    {.sig = "StringTooLong(string str)"},
    {.sig = "TimeoutNotInFuture(uint64 timeoutTimestamp, uint256 blockTimestamp)"},
    {.sig = "TimeoutNotReached(uint64 destinationTimestamp, uint64 timeoutTimestamp)"},
    {.sig = "TooManySequences(uint256 length, uint256 max)"},
    {.sig = "WrongDestination(uint256 index, uint64 dstChain)"},
    {.sig = "WrongSource(uint64 srcChain)"},
    {.sig = "ZeroReceiver()"},
    /* TokenVault (with Bytes32Address, SafeERC20, Create2) */
    {.sig = "FailedDeployment()"},
    {.sig = "InsufficientBalance(uint256 balance, uint256 needed)"},
    {.sig = "InsufficientLocked(address token, uint256 amount, uint256 locked)"},
    {.sig = "InvalidPeerChain(uint64 chainId)"},
    {.sig = "MemoTooLarge(uint256 length, uint256 max)"},
    {.sig = "NotAnEvmAddress(bytes32 account)"},
    {.sig = "OnlyGateway()"},
    {.sig = "SafeERC20FailedOperation(address token)"},
    {.sig = "SenderNotAContract()"},
    {.sig = "UnknownPeer(uint64 chainId)"},
    {.sig = "ZeroAmount()"},
    {.sig = "ZeroRecipient()"},
    /* Voucher (OpenZeppelin ERC20, Strings) */
    {.sig = "AlreadyInitialized()"},
    {.sig = "ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)"},
    {.sig = "ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)"},
    {.sig = "ERC20InvalidApprover(address approver)"},
    {.sig = "ERC20InvalidReceiver(address receiver)"},
    {.sig = "ERC20InvalidSender(address sender)"},
    {.sig = "ERC20InvalidSpender(address spender)"},
    {.sig = "OnlyVault()"},
    {.sig = "StringsInsufficientHexLength(uint256 value, uint256 length)"},
    /* IntentRouter */
    {.sig = "AmountMustBeAll(uint256 index)"},
    {.sig = "BadMemo()"},
    {.sig = "BadSignature()"},
    {.sig = "DeadlinePassed(uint64 deadline, uint256 blockTimestamp)"},
    {.sig = "FirstAmountInvalid(uint256 amount)"},
    {.sig = "InsufficientGas()"},
    {.sig = "InsufficientOutput(uint256 amountOut, uint256 minAmountOut)"},
    {.sig = "InvalidCallStep(uint256 index)"},
    {.sig = "InvalidRefundHopTimeout(uint64 timeout)"},
    {.sig = "InvalidRefundPolicy(uint8 policy, address recoveryAddress)"},
    {.sig = "InvalidTransferStep(uint256 index)"},
    {.sig = "LastStepMustBeTransfer()"},
    {.sig = "NoSteps()"},
    {.sig = "NonceUsed(address owner, uint256 nonce)"},
    {.sig = "NotCancellable(bytes32 intentId, uint8 status)", .enum_names = router_status, .n_enum = N_STATUS},
    {.sig = "NotHolding(bytes32 intentId, uint8 status)", .enum_names = router_status, .n_enum = N_STATUS},
    {.sig = "NotOwnerOrOpener()"},
    {.sig = "NotRefundable(bytes32 intentId, uint8 status)", .enum_names = router_status, .n_enum = N_STATUS},
    {.sig = "OnlySelf()"},
    {.sig = "PositionBusy(bytes32 intentId, uint8 status)", .enum_names = router_status, .n_enum = N_STATUS},
    {.sig = "StepChainMismatch(uint256 index, uint64 expected, uint64 got)"},
    {.sig = "StepNotExpected(bytes32 intentId, uint256 expected, uint256 got)"},
    {.sig = "TooManySteps(uint256 count, uint256 max)"},
    {.sig = "UnknownRouter(uint64 chainId)"},
    {.sig = "UnknownStepKind(uint256 index, uint8 kind)"},
    {.sig = "WrongOriginChain(uint64 originChain)"},
    {.sig = "ZeroOwner()"},
    /* CallExecutor */
    {.sig = "CallReverted(bytes reason)"},
    {.sig = "InputNotExactlySpent(uint256 balanceBefore, uint256 balanceAfter)"},
    {.sig = "OnlyRouter()"},
    {.sig = "TargetOutOfGas()"},
    /* TestSwapPool (the devnet's pool; TestToken adds nothing beyond ERC20's) */
    {.sig = "IdenticalTokens()"},
    {.sig = "NoLiquidity()"},
    {.sig = "UnknownPair(address tokenIn, address tokenOut)"},
};
#define N_ERRORS (sizeof table / sizeof table[0])

static uint8_t selectors[N_ERRORS][4];
static bool selector_ok[N_ERRORS];
static pthread_once_t selectors_once = PTHREAD_ONCE_INIT;

static void compute_selectors(void)
{
    for (size_t i = 0; i < N_ERRORS; i++)
        selector_ok[i] = abi_selector(selectors[i], table[i].sig) == FERRY_OK;
}

static const struct err_def *find(const uint8_t sel[4])
{
    pthread_once(&selectors_once, compute_selectors);
    for (size_t i = 0; i < N_ERRORS; i++)
        if (selector_ok[i] && memcmp(selectors[i], sel, 4) == 0)
            return &table[i];
    return NULL;
}

size_t evm_error_count(void) { return N_ERRORS; }

const char *evm_error_signature(size_t i) { return i < N_ERRORS ? table[i].sig : NULL; }

const char *evm_error_lookup(const uint8_t sel[4])
{
    const struct err_def *d = find(sel);
    return d ? d->sig : NULL;
}

/* ---- bounded text ---- */

/* Appends to a caller's buffer and remembers whether anything was cut. */
struct out {
    char *p;
    size_t cap; /* > 0 */
    size_t len;
    bool cut;
};

static void put(struct out *o, const char *s, size_t n)
{
    size_t room = o->cap - 1 - o->len;
    if (n > room) {
        n = room;
        o->cut = true;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = 0;
}

static void put_str(struct out *o, const char *s) { put(o, s, strlen(s)); }

static void putf(struct out *o, const char *fmt, ...) FERRY_PRINTF(2, 3);
static void putf(struct out *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof tmp) {
        n = sizeof tmp - 1;
        o->cut = true;
    }
    put(o, tmp, (size_t)n);
}

/* Only printable ASCII reaches a log line or a JSON reason. */
static void put_hex(struct out *o, const uint8_t *d, size_t n, size_t max)
{
    char h[2 * 32 + 3];
    put_str(o, "0x");
    for (size_t i = 0; i < n && i < max; i += 32) {
        size_t k = n - i < 32 ? n - i : 32;
        if (k > max - i)
            k = max - i;
        hex_encode(h, d + i, k, false);
        put(o, h, 2 * k);
    }
    if (n > max)
        putf(o, "... (%zu bytes)", n);
}

#define BYTES_SHOWN 32   /* bytes arguments: longer ones are cut, with their length */
#define STRING_SHOWN 96  /* string arguments, likewise */
#define VALUE_SHOWN 160 /* any other value (arrays and tuples can be long) */
#define NEST_MAX 3       /* revert data inside revert data (CallReverted(bytes)) */

/* Up to `shown` bytes of s; quoted: as a string literal with its length when cut. */
static void put_string(struct out *o, const uint8_t *s, size_t n, bool quoted, size_t shown)
{
    if (quoted)
        put_str(o, "\"");
    for (size_t i = 0; i < n && i < shown && !o->cut; i++) {
        uint8_t c = s[i];
        if (!quoted)
            putf(o, "%c", c >= 0x20 && c < 0x7f ? (char)c : '?');
        else if (c == '"' || c == '\\')
            putf(o, "\\%c", (char)c);
        else if (c >= 0x20 && c < 0x7f)
            putf(o, "%c", (char)c);
        else
            putf(o, "\\x%02x", c);
    }
    if (n > shown)
        put_str(o, "...");
    if (quoted)
        put_str(o, "\"");
    if (n > shown && quoted)
        putf(o, " (%zu bytes)", n);
}

static bool describe(struct out *o, const uint8_t *d, size_t n, unsigned depth);

static void put_value(struct out *o, const struct abi_value *v, const struct err_def *def, unsigned depth)
{
    const struct abi_type *t = v->type;
    const uint8_t *p;
    size_t n;
    switch (t->kind) {
    case ABI_BYTES:
        if (abi_get_bytes(v, &p, &n) == FERRY_OK) {
            /* revert data carried as an argument (CallReverted's reason) reads better decoded */
            struct out probe = *o;
            if (depth < NEST_MAX && n >= 4 && describe(&probe, p, n, depth + 1)) {
                *o = probe;
                return;
            }
            o->p[o->len] = 0;
            put_hex(o, p, n, BYTES_SHOWN);
        }
        return;
    case ABI_STRING:
        if (abi_get_bytes(v, &p, &n) == FERRY_OK)
            put_string(o, p, n, true, STRING_SHOWN);
        return;
    default:
        break;
    }
    /* the rest as `cast` prints it: decimal integers, EIP-55 addresses, bytesN in full */
    struct fbuf b;
    fbuf_init(&b, 2048);
    if (abi_value_format(&b, v) != FERRY_OK) {
        put_str(o, "...");
        o->cut = true;
        return;
    }
    put_string(o, b.data, b.len, false, VALUE_SHOWN);
    uint64_t k;
    if (def->enum_names && t->kind == ABI_UINT && t->size == 8 && abi_get_u64(v, &k) == FERRY_OK && k < def->n_enum)
        putf(o, " (%s)", def->enum_names[k]);
    fbuf_free(&b);
}

static const char *panic_meaning(const uint8_t word[32])
{
    static const struct {
        uint8_t code;
        const char *what;
    } panics[] = {{0x00, "generic compiler panic"}, {0x01, "assertion failed"},      {0x11, "arithmetic overflow"},
                  {0x12, "division by zero"},       {0x21, "invalid enum value"},    {0x22, "bad storage encoding"},
                  {0x31, "pop on an empty array"},  {0x32, "index out of bounds"},   {0x41, "out of memory"},
                  {0x51, "zero function pointer"}};
    for (size_t i = 1; i < 31; i++)
        if (word[i])
            return "unknown panic code";
    if (word[0])
        return "unknown panic code";
    for (size_t i = 0; i < sizeof panics / sizeof panics[0]; i++)
        if (word[31] == panics[i].code)
            return panics[i].what;
    return "unknown panic code";
}

/* Writes the text of revert data d[0..n) to o. At depth 0 it always writes something and
 * returns true; nested (depth > 0) it writes and returns true only for data it recognises
 * (Error, Panic, a known error with well-formed arguments), so the caller can print hex instead. */
static bool describe(struct out *o, const uint8_t *d, size_t n, unsigned depth)
{
    static const uint8_t error_sel[4] = {0x08, 0xc3, 0x79, 0xa0}, panic_sel[4] = {0x4e, 0x48, 0x7b, 0x71};
    if (n == 0) {
        if (depth == 0)
            put_str(o, "no reason given");
        return depth == 0;
    }
    if (n < 4) {
        if (depth == 0) {
            put_str(o, "revert data ");
            put_hex(o, d, n, n);
        }
        return depth == 0;
    }
    if (memcmp(d, error_sel, 4) == 0) {
        struct abi_type *t = NULL;
        struct abi_value *v = NULL;
        const uint8_t *p;
        size_t len;
        bool ok = abi_type_parse(&t, "string") == FERRY_OK && abi_decode(&v, t, d + 4, n - 4) == FERRY_OK &&
                  abi_get_bytes(v, &p, &len) == FERRY_OK;
        if (ok && depth == 0) {
            put_string(o, p, len, false, SIZE_MAX); /* the reason itself, as nodes print it */
        } else if (ok) {
            put_str(o, "Error(");
            put_string(o, p, len, true, STRING_SHOWN);
            put_str(o, ")");
        } else if (depth == 0) {
            putf(o, "malformed Error(string) (%zu bytes)", n);
        }
        abi_value_free(v);
        abi_type_free(t);
        return ok || depth == 0;
    }
    if (memcmp(d, panic_sel, 4) == 0) {
        if (n < 36) {
            if (depth == 0)
                putf(o, "malformed Panic(uint256) (%zu bytes)", n);
            return depth == 0;
        }
        char q[67];
        u256_to_quantity(q, u256_from_be32(d + 4));
        putf(o, "panic %s (%s)", q, panic_meaning(d + 4));
        return true;
    }
    const struct err_def *def = find(d);
    struct abi_sig *sig = NULL;
    struct abi_value *args = NULL;
    if (!def || abi_function_parse(&sig, def->sig) != FERRY_OK) {
        if (depth == 0)
            putf(o, "custom error 0x%02x%02x%02x%02x (%zu bytes)", d[0], d[1], d[2], d[3], n);
        return depth == 0;
    }
    bool ok = abi_decode(&args, sig->params, d + 4, n - 4) == FERRY_OK;
    if (ok) {
        putf(o, "%s(", sig->name);
        for (size_t i = 0; i < args->u.list.count; i++) {
            const struct abi_type *pt = sig->params->members[i];
            struct fbuf ty;
            fbuf_init(&ty, 1024);
            if (i)
                put_str(o, ", ");
            if (abi_type_canonical(&ty, pt) == FERRY_OK)
                put(o, (const char *)ty.data, ty.len);
            fbuf_free(&ty);
            if (pt->name)
                putf(o, " %s=", pt->name);
            else
                put_str(o, " ");
            put_value(o, &args->u.list.items[i], def, depth);
        }
        put_str(o, ")");
    } else if (depth == 0) {
        putf(o, "%s with malformed arguments (%zu bytes)", def->sig, n);
    }
    abi_value_free(args);
    abi_sig_free(sig);
    return ok || depth == 0;
}

void evm_revert_text_bytes(char *out, size_t cap, const uint8_t *data, size_t len)
{
    if (!cap)
        return;
    out[0] = 0;
    struct out o = {out, cap, 0, false};
    if (!data)
        len = 0;
    describe(&o, data, len, 0);
    /* mark a cut when there is room to: "..." at the end */
    if (o.cut && cap >= 8)
        memcpy(out + o.len - 3, "...", 4); /* cut means full: len == cap - 1 >= 7 */
}

void evm_revert_text(char *out, size_t cap, const char *revert_hex)
{
    if (!cap)
        return;
    struct fbuf b;
    fbuf_init(&b, 1 << 20);
    if (!revert_hex || hex_decode_buf(&b, revert_hex, HEX_PREFIX_REQUIRED) != FERRY_OK)
        evm_revert_text_bytes(out, cap, NULL, 0);
    else
        evm_revert_text_bytes(out, cap, b.data, b.len);
    fbuf_free(&b);
}
