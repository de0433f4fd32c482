/* libFuzzer harness for the RLP decoder. Whatever decodes must be canonical, so re-encoding
 * the decoded tree has to give back the input byte for byte; anything else is a bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/rlp.h"
#include "fuzz_util.h"

static void reencode(struct rlp_enc *e, const struct rlp_item *it)
{
    if (it->kind == RLP_STRING) {
        const uint8_t *p;
        size_t n;
        uint64_t v64;
        u256 v;
        uint8_t addr[20];
        if (rlp_get_bytes(it, &p, &n))
            abort();
        /* The integer readers must agree with each other on what they accept. */
        enum ferry_err e64 = rlp_get_u64(it, &v64), e256 = rlp_get_u256(it, &v);
        if (e64 == FERRY_OK && (e256 != FERRY_OK || !u256_fits_u64(v) || v.w[0] != v64))
            abort();
        if (rlp_get_fixed(it, addr, sizeof addr) == FERRY_OK && n != sizeof addr)
            abort();
        rlp_put_bytes(e, p, n);
        return;
    }
    struct rlp_iter iter;
    struct rlp_item child;
    rlp_iter_init(&iter, it);
    rlp_list_begin(e);
    while (rlp_iter_next(&iter, &child))
        reencode(e, &child);
    rlp_list_end(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rlp_item top;
    if (rlp_decode(&top, data, size) != FERRY_OK)
        return 0;
    struct fbuf out;
    fbuf_init(&out, size + 64);
    struct rlp_enc e;
    rlp_enc_init_buf(&e, &out);
    reencode(&e, &top);
    if (rlp_enc_finish(&e) != FERRY_OK || out.len != size || memcmp(out.data, data, size) != 0)
        abort();
    fbuf_free(&out);
    return 0;
}
