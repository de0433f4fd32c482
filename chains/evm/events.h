/* The protocol's logs on an EVM chain: parsed from an eth_getLogs reply and decoded into the
 * engine's events (struct chain_event, ferry/chain.h) or, for the TokenVault and IntentRouter,
 * into application events the intent engine will consume.
 *
 * The event signatures are recorded in events.c exactly as the contracts declare them
 * (contracts/src/Gateway.sol, TokenVault.sol, IntentRouter.sol; enums as uint8). A test
 * recomputes every topic0 from the compiled ABI (build/contracts/NAME.json), so a contract change
 * that would break the decoder fails there first.
 *
 * Everything here treats its input as hostile: a log whose fields are malformed, or whose topics
 * or data do not decode as its event, is an error with a message, never a crash and never a
 * half-filled event; so is a packet id that does not hash from its packet (evm_check_packet_id). */
#ifndef FERRY_EVM_EVENTS_H
#define FERRY_EVM_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ferry/abi.h"
#include "ferry/chain.h"
#include "ferry/err.h"
#include "ferry/packet.h"

/* The contract a log came from (the watcher knows each one's address). */
enum evm_source {
    EVM_SRC_GATEWAY, /* packets: send, receive, acknowledge, timeout */
    EVM_SRC_VAULT,   /* token transfers over packets */
    EVM_SRC_ROUTER,  /* multi-hop intents */
    EVM_SRC__COUNT
};

/* Events of the vault and the router (and the Gateway's attester rotation): the intent engine's
 * input. Fields are in declaration order, as the signature in evm_event_def says. */
enum evm_app_kind {
    EVM_APP_ATTESTERS_CHANGED, /* Gateway: epoch, attesters[], threshold */
    EVM_APP_TRANSFER_SENT,     /* Vault: sequence, dstChain, sender, token, amount, recipient, originChain, originToken, memo */
    EVM_APP_TRANSFER_RECEIVED, /* Vault: srcChain, sequence, recipient, token, amount */
    EVM_APP_TRANSFER_REFUNDED, /* Vault: sequence, sender, token, amount, timedOut */
    EVM_APP_INTENT_OPENED,     /* Router: intentId, owner, nonce, token, amount, deadline */
    EVM_APP_STEP_EXECUTED,     /* Router: intentId, stepIndex, token, amount, sequence */
    EVM_APP_STEP_FAILED,       /* Router: intentId, stepIndex, reason, detail */
    EVM_APP_HOP_ARRIVED,       /* Router: intentId, stepIndex, srcChain, token, amount */
    EVM_APP_HOP_DELIVERED,     /* Router: intentId, sequence */
    EVM_APP_HOP_RETURNED,      /* Router: intentId, sequence, token, amount */
    EVM_APP_REFUND_SENT,       /* Router: intentId, sequence, token, amount */
    EVM_APP_INTENT_COMPLETED,  /* Router: intentId, token, amount */
    EVM_APP_INTENT_REFUNDED,   /* Router: intentId, token, amount */
    EVM_APP_INTENT_CANCELLED,  /* Router: intentId */
    EVM_APP_NONCE_INVALIDATED, /* Router: owner, nonce */
    EVM_APP__COUNT
};

#define EVM_APP_MAX_FIELDS 9

/* An application event. Byte strings and arrays among the fields point into the log's data
 * (valid while the log is); read them with the abi_get_* getters. */
struct evm_app_event {
    enum evm_app_kind kind;
    struct chain_event_origin at;
    uint8_t contract[20];
    size_t n_fields;
    struct abi_value fields[EVM_APP_MAX_FIELDS];
};

/* One event this module decodes. */
struct evm_event_def {
    enum evm_source source;
    const char *signature; /* as declared in the contract, indexed markers and names included */
    bool is_chain;         /* a chain_event of kind chain_kind; otherwise an app event of app_kind */
    enum chain_event_kind chain_kind;
    enum evm_app_kind app_kind;
};

/* The table of decoded events (Gateway first); n via evm_event_count. */
size_t evm_event_count(void);
const struct evm_event_def *evm_event_def(size_t i);
const char *evm_source_name(enum evm_source s);
const char *evm_app_kind_name(enum evm_app_kind k);
const char *evm_chain_kind_name(enum chain_event_kind k);

/* ---- logs as eth_getLogs returns them ---- */

/* One log with its hex decoded. data points into the evm_logs arena it came from. */
struct evm_log {
    uint8_t address[20];
    uint8_t topics[4][32];
    size_t n_topics;
    const uint8_t *data;
    size_t data_len;
    uint64_t block_number;
    uint8_t block_hash[32];
    uint8_t tx_hash[32];
    uint32_t tx_index;
    uint32_t log_index;
    bool removed;             /* dropped by a reorg (subscriptions and filters say so) */
    bool has_block_timestamp; /* the node sent "blockTimestamp" (geth 1.16+) */
    uint64_t block_timestamp;
};

struct evm_logs {
    struct evm_log *logs;
    size_t n;
    uint8_t *arena; /* every log's data */
};

/* Parses the result of eth_getLogs (a JSON array of log objects) strictly: every required
 * member present, hex with its 0x prefix and the exact length (addresses 20 bytes, topics and
 * hashes 32, at most 4 topics), quantities without leading zeros. More than max_logs logs is
 * FERRY_ERANGE (the caller asks for a narrower range). On error out is empty and the message
 * names the log and the member ("log 3: blockHash: ..."). */
enum ferry_err evm_logs_parse(struct evm_logs *out, const cJSON *result, size_t max_logs) FERRY_WUR;
void evm_logs_free(struct evm_logs *l);
/* The same from the result's text (len bytes, no NUL needed), without building a cJSON tree:
 * accepts and refuses exactly what cJSON_ParseWithLength followed by evm_logs_parse does
 * (bytes after the array other than JSON whitespace are refused). Malformed JSON is
 * FERRY_EINVAL. The logs own their data (an arena): text may go once this returns. */
enum ferry_err evm_logs_parse_text(struct evm_logs *out, const char *text, size_t len, size_t max_logs) FERRY_WUR;
/* The same for a result nested `depth` containers deep in a larger document (a JSON-RPC reply:
 * 1, in a batch: 2), so that cJSON's nesting limit applies as it would to the whole document. */
enum ferry_err evm_logs_parse_text_at(struct evm_logs *out, const char *text, size_t len, size_t depth,
                                      size_t max_logs) FERRY_WUR;


/* ---- decoding ---- */

struct evm_decoder;

/* Parses the signatures of the table once. */
enum ferry_err evm_decoder_new(struct evm_decoder **out) FERRY_WUR;
void evm_decoder_free(struct evm_decoder *d);
/* topic0 of event i of the table. */
const uint8_t *evm_decoder_topic0(const struct evm_decoder *d, size_t i);
/* The table index of the event of `source` whose topic0 is t, or -1. */
int evm_decoder_find(const struct evm_decoder *d, enum evm_source source, const uint8_t t[32]);
/* The parsed signature of event i (field types and names for app events). */
const struct abi_sig *evm_decoder_sig(const struct evm_decoder *d, size_t i);

enum evm_decoded {
    EVM_DECODED_CHAIN, /* *ev is filled */
    EVM_DECODED_APP,   /* *app is filled */
};

/* Decodes a log emitted by contract `source` on chain `chain_id` in a block with timestamp
 * block_timestamp. Packet payloads, ack results and app byte fields point into log->data:
 * the event borrows the log (never packet_clear it; packet_copy what you keep). A log that is
 * not one of source's events or does not decode as it is refused; the event is then zeroed.
 * A PacketSent's packetId is taken as the log says: evm_check_packet_id checks it. */
enum ferry_err evm_decode_log(const struct evm_decoder *d, uint64_t chain_id, enum evm_source source,
                              const struct evm_log *log, uint64_t block_timestamp, enum evm_decoded *what,
                              struct chain_event *ev, struct evm_app_event *app) FERRY_WUR;

/* The intent event an app event stands for (ferry/chain.h, chain_intent_event): the router's
 * events, the vault's TransferRefunded of a transfer whose sender is `router`, and every vault
 * TransferReceived (an intent's last hop pays its recipient, not the router, so the sender is no
 * filter here); router NULL: the chain has no router, so neither vault event is one of an
 * intent's. *is_intent is false, and *out zeroed,
 * for every other app event (a vault event of another sender, AttestersChanged,
 * NonceInvalidated, ...). The decoder has checked each word against its type; what is refused
 * here is what the router never emits: a stepIndex above 2^32-1 (FERRY_ERANGE). A StepFailed
 * detail longer than CHAIN_IEV_DETAIL_MAX is cut to it; out->detail borrows the log's data. */
enum ferry_err evm_intent_event(const struct evm_app_event *app, const uint8_t *router,
                                struct chain_intent_event *out, bool *is_intent) FERRY_WUR;

/* A PacketSent whose packetId is not keccak256(abi.encode(packet)) of the packet it carries is
 * FERRY_EINVAL; other events are fine. Separate from decoding because it costs a keccak256 over
 * the whole packet (about as much as the rest of the decoding for a vault transfer): the
 * watcher pays it to refuse such a log (and ask again) rather than hand it over. */
enum ferry_err evm_check_packet_id(const struct chain_event *ev) FERRY_WUR;

/* packetId = keccak256(abi.encode(packet)) (docs/protocol.md). */
void evm_packet_id(const struct packet *p, uint8_t out[32]);

#endif
