/* Signs the relay benchmark's transactions (tests/bench/bench_relay.sh compiles this against
 * build/libferry.a): `cast mktx` costs a process and ~0.3 s a transaction, which made the set-up of
 * N=1000 take minutes. Not a benchmark itself (no bench_ prefix: make bench does not build it).
 *
 *   relay_sign CHAIN_ID KEY_HEX FIRST_NONCE COUNT GAS GAS_PRICE_WEI TO CALLDATA
 *
 * prints COUNT raw legacy (EIP-155) transactions, nonces FIRST_NONCE.., one 0x-hex per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/address.h"
#include "ferry/buf.h"
#include "ferry/err.h"
#include "ferry/hex.h"
#include "ferry/signer.h"
#include "ferry/tx.h"
#include "ferry/tx_sign.h"
#include "ferry/u256.h"

static int die(const char *what)
{
    fprintf(stderr, "relay_sign: %s: %s\n", what, ferry_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: relay_sign CHAIN_ID KEY_HEX FIRST_NONCE COUNT GAS GAS_PRICE_WEI TO CALLDATA\n");
        return 2;
    }
    uint8_t key[32];
    struct signer *s;
    if (hex_decode_exact(key, 32, argv[2], HEX_PREFIX_OPTIONAL))
        return die("key");
    if (signer_new(&s) || signer_add_secret(s, "k", key))
        return die("signer");
    memset(key, 0, sizeof key);
    struct fbuf data;
    fbuf_init(&data, 1 << 20);
    struct eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = ETH_TX_LEGACY;
    tx.chain_id = strtoull(argv[1], NULL, 10);
    tx.gas_limit = strtoull(argv[5], NULL, 10);
    if (u256_from_dec(&tx.gas_price, argv[6]) || address_parse(tx.to, argv[7]) ||
        hex_decode_buf(&data, argv[8], HEX_PREFIX_REQUIRED))
        return die("arguments");
    tx.data = data.data;
    tx.data_len = data.len;
    uint64_t nonce = strtoull(argv[3], NULL, 10), count = strtoull(argv[4], NULL, 10);
    char *line = malloc(2 * (data.len + 1024) + 4);
    if (!line)
        return 1;
    for (uint64_t i = 0; i < count; i++) {
        tx.nonce = nonce + i;
        tx.is_signed = false;
        struct fbuf raw;
        fbuf_init(&raw, data.len + 1024);
        if (eth_tx_sign(s, "k", &tx) || eth_tx_serialize(&tx, &raw))
            return die("signing");
        hex_encode(line, raw.data, raw.len, true);
        puts(line);
        fbuf_free(&raw);
    }
    free(line);
    fbuf_free(&data);
    signer_free(s);
    return 0;
}
