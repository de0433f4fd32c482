/* JSON field helpers shared by the packet and intent records, the intent codec and the tx manager. */
#include "ferry/json_out.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ferry/hex.h"
#include "ferry/u256.h"

bool json_add_u64(cJSON *o, const char *k, uint64_t v)
{
    if (v <= JSON_SAFE_INT)
        return cJSON_AddNumberToObject(o, k, (double)v) != NULL;
    char s[24];
    snprintf(s, sizeof s, "%" PRIu64, v);
    return cJSON_AddStringToObject(o, k, s) != NULL;
}

bool json_add_hex(cJSON *o, const char *k, const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 3);
    if (!s)
        return false;
    hex_encode(s, p, n, true);
    bool ok = cJSON_AddStringToObject(o, k, s) != NULL;
    free(s);
    return ok;
}

bool json_add_address(cJSON *o, const char *k, const uint8_t a[ADDRESS_LEN])
{
    char s[ADDRESS_STR];
    address_to_checksum(s, a);
    return cJSON_AddStringToObject(o, k, s) != NULL;
}

bool json_add_dec(cJSON *o, const char *k, const uint8_t be[32])
{
    char s[U256_DEC_MAX];
    u256_to_dec(s, u256_from_be32(be));
    return cJSON_AddStringToObject(o, k, s) != NULL;
}

bool json_nonzero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return true;
    return false;
}
