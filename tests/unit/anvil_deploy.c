#include "anvil_deploy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/abi.h"
#include "ferry/hex.h"
#include "testutil.h"

cJSON *anvil_dev0_tx(const char *url, const char *to, const uint8_t *data, size_t n)
{
    char *hex = tu_hexstr(data, n);
    char *params = malloc(strlen(hex) + 200);
    assert_non_null(params);
    /* 5M gas for a call; 30M (anvil's block limit) for a deployment, enough for any of ours. */
    if (to)
        sprintf(params, "[{\"from\":\"%s\",\"to\":\"%s\",\"data\":\"%s\",\"gas\":\"0x4c4b40\"}]", ANVIL_DEV0, to,
                hex);
    else
        sprintf(params, "[{\"from\":\"%s\",\"data\":\"%s\",\"gas\":\"0x1c9c380\"}]", ANVIL_DEV0, hex);
    cJSON *txh = tu_anvil_call(url, "eth_sendTransaction", params);
    free(params);
    free(hex);
    char p2[100];
    snprintf(p2, sizeof p2, "[\"%s\"]", txh->valuestring);
    cJSON_Delete(txh);
    cJSON *rc = NULL;
    for (int i = 0; i < 500 && (!rc || cJSON_IsNull(rc)); i++) { /* auto-mining is quick, not instant */
        if (rc)
            usleep(10000);
        cJSON_Delete(rc);
        rc = tu_anvil_call(url, "eth_getTransactionReceipt", p2);
    }
    assert_true(cJSON_IsObject(rc));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(rc, "status")->valuestring, "0x1");
    return rc;
}

void anvil_calldata(struct fbuf *out, const char *fn_sig, const char *const *args, size_t n)
{
    struct abi_sig *fn;
    assert_int_equal(abi_function_parse(&fn, fn_sig), FERRY_OK);
    struct abi_value *v;
    assert_int_equal(abi_args_parse(&v, fn->params, args, n), FERRY_OK);
    assert_int_equal(abi_calldata_encode(out, fn, v), FERRY_OK);
    abi_value_free(v);
    abi_sig_free(fn);
}

void anvil_call_tx(const char *url, const char *to, const char *fn_sig, const char *const *args, size_t n)
{
    struct fbuf cd;
    fbuf_init(&cd, 1 << 16);
    anvil_calldata(&cd, fn_sig, args, n);
    cJSON_Delete(anvil_dev0_tx(url, to, cd.data, cd.len));
    fbuf_free(&cd);
}

void anvil_view(const char *url, const char *to, const char *fn_sig, const char *const *args, size_t n, uint8_t *out,
                size_t outlen)
{
    struct fbuf cd;
    fbuf_init(&cd, 1 << 16);
    anvil_calldata(&cd, fn_sig, args, n);
    char *hex = tu_hexstr(cd.data, cd.len);
    char *params = malloc(strlen(hex) + 200);
    assert_non_null(params);
    sprintf(params, "[{\"to\":\"%s\",\"data\":\"%s\"},\"latest\"]", to, hex);
    cJSON *r = tu_anvil_call(url, "eth_call", params);
    assert_true(cJSON_IsString(r));
    assert_int_equal(hex_decode_exact(out, outlen, r->valuestring, HEX_PREFIX_REQUIRED), FERRY_OK);
    cJSON_Delete(r);
    free(params);
    free(hex);
    fbuf_free(&cd);
}

void anvil_deploy(const char *url, const char *name, const char *ctor, const char *const *args, size_t n,
                  char out[43], uint64_t *block)
{
    char path[128];
    snprintf(path, sizeof path, "build/contracts/%s.json", name);
    cJSON *aj = tu_read_json(path);
    const cJSON *bc = cJSON_GetObjectItemCaseSensitive(aj, "bytecode");
    if (cJSON_IsObject(bc)) /* a forge artifact */
        bc = cJSON_GetObjectItemCaseSensitive(bc, "object");
    if (!cJSON_IsString(bc))
        fail_msg("%s: no bytecode", path);
    struct fbuf code;
    fbuf_init(&code, 1 << 20);
    assert_int_equal(hex_decode_buf(&code, bc->valuestring, HEX_PREFIX_REQUIRED), FERRY_OK);
    cJSON_Delete(aj);
    if (ctor) {
        struct abi_type *ct;
        assert_int_equal(abi_type_parse(&ct, ctor), FERRY_OK);
        struct abi_value *cv;
        assert_int_equal(abi_args_parse(&cv, ct, args, n), FERRY_OK);
        assert_int_equal(abi_encode(&code, cv), FERRY_OK);
        abi_value_free(cv);
        abi_type_free(ct);
    }
    cJSON *rc = anvil_dev0_tx(url, NULL, code.data, code.len);
    fbuf_free(&code);
    snprintf(out, 43, "%s", cJSON_GetObjectItemCaseSensitive(rc, "contractAddress")->valuestring);
    if (block)
        assert_int_equal(
            hex_quantity_u64(block, cJSON_GetObjectItemCaseSensitive(rc, "blockNumber")->valuestring), FERRY_OK);
    cJSON_Delete(rc);
}
