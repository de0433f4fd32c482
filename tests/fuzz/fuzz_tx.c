/* libFuzzer harness for the signed-transaction decoder. A transaction that decodes must
 * serialize back to exactly the input (the decoder accepts canonical forms only), and
 * recovering its sender must fail cleanly or succeed, never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/tx.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eth_tx tx;
    if (eth_tx_decode(&tx, data, size) != FERRY_OK)
        return 0;
    struct fbuf out;
    fbuf_init(&out, size + 64);
    if (eth_tx_serialize(&tx, &out) != FERRY_OK || out.len != size || memcmp(out.data, data, size) != 0)
        abort();
    fbuf_free(&out);
    uint8_t hash[32], addr[ADDRESS_LEN];
    if (eth_tx_hash(&tx, hash) != FERRY_OK)
        abort();
    if (eth_tx_sender(&tx, addr) != FERRY_OK)
        return 0; /* a signature no key recovers from decodes, but has no sender */
    return 0;
}
