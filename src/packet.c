#include "ferry/packet.h"

#include <stdlib.h>
#include <string.h>

void packet_clear(struct packet *p)
{
    free(p->payload);
    memset(p, 0, sizeof *p);
}

void packet_ack_clear(struct packet_ack *a)
{
    free(a->result);
    memset(a, 0, sizeof *a);
}

/* A malloc'd copy of n bytes; NULL for n == 0 (and on failure, told apart by *err). */
static uint8_t *dup_bytes(const uint8_t *p, size_t n, enum ferry_err *err)
{
    *err = FERRY_OK;
    if (n == 0)
        return NULL;
    uint8_t *d = malloc(n);
    if (!d) {
        *err = ferry_fail(FERRY_ENOMEM, "packet: out of memory copying %zu bytes", n);
        return NULL;
    }
    memcpy(d, p, n);
    return d;
}

enum ferry_err packet_copy(struct packet *dst, const struct packet *src)
{
    enum ferry_err e;
    uint8_t *payload = dup_bytes(src->payload, src->payload_len, &e);
    if (e)
        return e;
    *dst = *src;
    dst->payload = payload;
    return FERRY_OK;
}

enum ferry_err packet_ack_copy(struct packet_ack *dst, const struct packet_ack *src)
{
    enum ferry_err e;
    uint8_t *result = dup_bytes(src->result, src->result_len, &e);
    if (e)
        return e;
    *dst = *src;
    dst->result = result;
    return FERRY_OK;
}
