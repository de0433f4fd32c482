/* The protocol's packet, as every chain family sees it (docs/protocol.md has the on-chain form).
 * Addresses are 32 bytes so that non-EVM chains fit; an EVM address is left-padded with zeros. */
#ifndef FERRY_PACKET_H
#define FERRY_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/err.h"

#define PACKET_PAYLOAD_MAX (64 * 1024) /* larger payloads are refused when decoded from a chain */

struct packet {
    uint64_t src_chain;    /* chain id where the packet was sent */
    uint64_t dst_chain;    /* chain id it is addressed to */
    uint64_t sequence;     /* per source gateway, starting at 1 */
    uint8_t sender[32];    /* the app that called send() */
    uint8_t receiver[32];  /* the app on the destination */
    uint64_t timeout_ts;   /* unix seconds: deliver only while the destination's block time is below */
    uint8_t *payload;      /* owned by the packet (malloc), freed by packet_clear */
    size_t payload_len;
};

/* The acknowledgement the destination recorded: did the receiver succeed, and what it returned. */
struct packet_ack {
    bool success;
    uint8_t *result; /* owned (malloc) */
    size_t result_len;
};

/* Frees the owned parts and zeroes the struct. */
void packet_clear(struct packet *p);
void packet_ack_clear(struct packet_ack *a);
/* Deep copy (dst must be empty/cleared). */
enum ferry_err packet_copy(struct packet *dst, const struct packet *src) FERRY_WUR;
enum ferry_err packet_ack_copy(struct packet_ack *dst, const struct packet_ack *src) FERRY_WUR;

#endif
