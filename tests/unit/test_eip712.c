#include <stdio.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "ferry/eip712.h"
#include "ferry/hex.h"
#include "testutil.h"

static secp256k1_context *ctx;

/* Signs like cast does: r || s || v with v = 27 + recid. */
static void sign_like_cast(uint8_t sig[65], const uint8_t key[32], const uint8_t digest[32])
{
    secp256k1_ecdsa_recoverable_signature s;
    int recid;
    assert_int_equal(secp256k1_ecdsa_sign_recoverable(ctx, &s, digest, key, NULL, NULL), 1);
    assert_int_equal(secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig, &recid, &s), 1);
    sig[64] = (uint8_t)(27 + recid);
}

static enum ferry_err hash_text(struct eip712_hashes *h, const char *json)
{
    return eip712_hash_json(h, json, strlen(json));
}

static void cast_vectors(void **state)
{
    cJSON *root = tu_load_vectors("eip712.json");
    const cJSON *v;
    int count = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(root, "valid"))
    {
        char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(v, "typed_data"));
        struct eip712_hashes h, h2;
        if (hash_text(&h, text) != FERRY_OK)
            fail_msg("%s: %s", cJSON_GetObjectItem(v, "name")->valuestring, ferry_errmsg());
        assert_int_equal(eip712_hash_cjson(&h2, cJSON_GetObjectItem(v, "typed_data")), FERRY_OK);
        assert_memory_equal(&h, &h2, sizeof h);

        size_t keylen;
        uint8_t *key = tu_unhex(cJSON_GetObjectItem(v, "key")->valuestring, &keylen);
        uint8_t sig[65];
        sign_like_cast(sig, key, h.digest);
        /* Equal signatures under RFC 6979 mean equal digests. */
        tu_assert_hex_equal(sig, 65, cJSON_GetObjectItem(v, "signature")->valuestring);
        free(key);
        free(text);
        count++;
    }
    assert_true(count >= 6);
    cJSON_Delete(root);
}

static const char *const mail_json =
    "{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"version\",\"type\":\"string\"},"
    "{\"name\":\"chainId\",\"type\":\"uint256\"},{\"name\":\"verifyingContract\",\"type\":\"address\"}],"
    "\"Person\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"wallet\",\"type\":\"address\"}],"
    "\"Mail\":[{\"name\":\"from\",\"type\":\"Person\"},{\"name\":\"to\",\"type\":\"Person\"},"
    "{\"name\":\"contents\",\"type\":\"string\"}]},\"primaryType\":\"Mail\","
    "\"domain\":{\"name\":\"Ether Mail\",\"version\":\"1\",\"chainId\":1,"
    "\"verifyingContract\":\"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC\"},"
    "\"message\":{\"from\":{\"name\":\"Cow\",\"wallet\":\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"},"
    "\"to\":{\"name\":\"Bob\",\"wallet\":\"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB\"},"
    "\"contents\":\"Hello, Bob!\"}}";

/* EIP-712's published Mail example: the same hashes from JSON and from the C API. */
static void published_mail_example(void **state)
{
    cJSON *root = tu_load_vectors("eip712.json");
    const cJSON *pub = cJSON_GetObjectItem(root, "published");
    struct eip712_hashes h;
    assert_int_equal(hash_text(&h, mail_json), FERRY_OK);
    tu_assert_hex_equal(h.domain_separator, 32, cJSON_GetObjectItem(pub, "domain_separator")->valuestring);
    tu_assert_hex_equal(h.message_hash, 32, cJSON_GetObjectItem(pub, "message_hash")->valuestring);
    tu_assert_hex_equal(h.digest, 32, cJSON_GetObjectItem(pub, "digest")->valuestring);

    struct fbuf type;
    fbuf_init(&type, 1024);
    assert_int_equal(eip712_encode_type_json(&type, mail_json, strlen(mail_json), "Mail"), FERRY_OK);
    assert_string_equal((char *)type.data, "Mail(Person from,Person to,string contents)Person(string name,address wallet)");
    uint8_t th[32];
    eip712_type_hash(th, (char *)type.data);
    tu_assert_hex_equal(th, 32, cJSON_GetObjectItem(pub, "mail_type_hash")->valuestring);
    fbuf_reset(&type);
    assert_int_equal(eip712_encode_type_json(&type, mail_json, strlen(mail_json), "Nope"), FERRY_ENOTFOUND);
    fbuf_free(&type);

    /* The C API, as the daemon builds its own structs. */
    uint8_t person_th[32], mail_th[32], from[32], to[32], msg[32], dom[32], digest[32], cow[20], bob[20], vc[20];
    assert_int_equal(address_parse(cow, "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"), FERRY_OK);
    assert_int_equal(address_parse(bob, "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"), FERRY_OK);
    assert_int_equal(address_parse(vc, "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"), FERRY_OK);
    eip712_type_hash(person_th, "Person(string name,address wallet)");
    eip712_type_hash(mail_th, "Mail(Person from,Person to,string contents)Person(string name,address wallet)");
    struct eip712_struct s;
    eip712_struct_begin(&s, person_th);
    eip712_put_string(&s, "Cow");
    eip712_put_address(&s, cow);
    eip712_struct_end(&s, from);
    tu_assert_hex_equal(from, 32, "0xfc71e5fa27ff56c350aa531bc129ebdf613b772b6604664f5d8dbe21b85eb0c8");
    eip712_struct_begin(&s, person_th);
    eip712_put_string(&s, "Bob");
    eip712_put_address(&s, bob);
    eip712_struct_end(&s, to);
    eip712_struct_begin(&s, mail_th);
    eip712_put_word(&s, from);
    eip712_put_word(&s, to);
    eip712_put_string(&s, "Hello, Bob!");
    eip712_struct_end(&s, msg);
    assert_memory_equal(msg, h.message_hash, 32);
    struct eip712_domain d = {.name = "Ether Mail", .version = "1", .has_chain_id = true,
                              .chain_id = u256_from_u64(1), .verifying_contract = vc};
    eip712_domain_separator(dom, &d);
    assert_memory_equal(dom, h.domain_separator, 32);
    eip712_hash_typed(digest, dom, msg);
    assert_memory_equal(digest, h.digest, 32);
    cJSON_Delete(root);
}

/* The mail_arrays vector rebuilt in C: arrays of addresses and of structs. */
static void c_api_arrays_match_json(void **state)
{
    cJSON *root = tu_load_vectors("eip712.json");
    const cJSON *v, *doc = NULL;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(root, "valid")) if (strcmp(cJSON_GetObjectItem(v, "name")->valuestring,
                                                                        "mail_arrays") == 0) doc =
        cJSON_GetObjectItem(v, "typed_data");
    assert_non_null(doc);
    struct eip712_hashes h;
    assert_int_equal(eip712_hash_cjson(&h, doc), FERRY_OK);

    static const char *const cow_wallets[] = {"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826",
                                              "0xDeaDbeefdEAdbeefdEadbEEFdeadbeEFdEaDbeeF"};
    static const char *const bob_wallets[] = {"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB",
                                              "0xB0BdaBea57B0BDABeA57b0bdABEA57b0BDabEa57",
                                              "0xB0B0b0b0b0b0B000000000000000000000000000"};
    uint8_t person_th[32], mail_th[32], arr[32], from[32], bob[32], carol[32], to[32], msg[32], a[20];
    eip712_type_hash(person_th, "Person(string name,address[] wallets)");
    eip712_type_hash(mail_th, "Mail(Person from,Person[] to,string contents)Person(string name,address[] wallets)");
    struct eip712_struct s, list;

    eip712_array_begin(&list);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(address_parse(a, cow_wallets[i]), FERRY_OK);
        eip712_put_address(&list, a);
    }
    eip712_struct_end(&list, arr);
    eip712_struct_begin(&s, person_th);
    eip712_put_string(&s, "Cow");
    eip712_put_word(&s, arr);
    eip712_struct_end(&s, from);

    eip712_array_begin(&list);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(address_parse(a, bob_wallets[i]), FERRY_OK);
        eip712_put_address(&list, a);
    }
    eip712_struct_end(&list, arr);
    eip712_struct_begin(&s, person_th);
    eip712_put_string(&s, "Bob");
    eip712_put_word(&s, arr);
    eip712_struct_end(&s, bob);

    eip712_array_begin(&list); /* an empty array hashes as keccak256("") */
    eip712_struct_end(&list, arr);
    tu_assert_hex_equal(arr, 32, "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    eip712_struct_begin(&s, person_th);
    eip712_put_string(&s, "Carol");
    eip712_put_word(&s, arr);
    eip712_struct_end(&s, carol);

    eip712_array_begin(&list);
    eip712_put_word(&list, bob);
    eip712_put_word(&list, carol);
    eip712_struct_end(&list, to);
    eip712_struct_begin(&s, mail_th);
    eip712_put_word(&s, from);
    eip712_put_word(&s, to);
    eip712_put_string(&s, "Hello, Bob!");
    eip712_struct_end(&s, msg);
    assert_memory_equal(msg, h.message_hash, 32);
    cJSON_Delete(root);
}

static void c_api_integers(void **state)
{
    /* int64 -1 and INT64_MIN as sign-extended words, checked against the JSON path. */
    const char *doc = "{\"types\":{\"T\":[{\"name\":\"a\",\"type\":\"int64\"},{\"name\":\"b\",\"type\":\"int64\"},"
                      "{\"name\":\"c\",\"type\":\"uint64\"},{\"name\":\"d\",\"type\":\"bool\"}]},\"primaryType\":\"T\","
                      "\"domain\":{},\"message\":{\"a\":-1,\"b\":\"-9223372036854775808\",\"c\":\"0xffffffffffffffff\","
                      "\"d\":\"true\"}}";
    struct eip712_hashes h;
    assert_int_equal(hash_text(&h, doc), FERRY_OK);
    uint8_t th[32], out[32];
    eip712_type_hash(th, "T(int64 a,int64 b,uint64 c,bool d)");
    struct eip712_struct s;
    eip712_struct_begin(&s, th);
    eip712_put_i64(&s, -1);
    eip712_put_i64(&s, INT64_MIN);
    eip712_put_u64(&s, UINT64_MAX);
    eip712_put_bool(&s, true);
    eip712_struct_end(&s, out);
    assert_memory_equal(out, h.message_hash, 32);
    /* And the empty domain: EIP712Domain() with no members. */
    struct eip712_domain none = {0};
    eip712_domain_separator(out, &none);
    assert_memory_equal(out, h.domain_separator, 32);
}

static void invalid_vectors_rejected(void **state)
{
    cJSON *root = tu_load_vectors("eip712.json");
    const cJSON *v;
    int count = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(root, "invalid"))
    {
        char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(v, "typed_data"));
        const char *expect = cJSON_GetObjectItem(v, "expect")->valuestring;
        struct eip712_hashes h;
        memset(&h, 0xaa, sizeof h);
        enum ferry_err err = hash_text(&h, text);
        if (err == FERRY_OK || !strstr(ferry_errmsg(), expect))
            fail_msg("%s: got %d \"%s\", expected \"%s\"", cJSON_GetObjectItem(v, "name")->valuestring, err,
                     ferry_errmsg(), expect);
        assert_true(strncmp(ferry_errmsg(), "eip712: ", 8) == 0);
        struct eip712_hashes zero;
        memset(&zero, 0, sizeof zero);
        assert_memory_equal(&h, &zero, sizeof h); /* nothing half-computed is left behind */
        free(text);
        count++;
    }
    assert_true(count >= 20);
    cJSON_Delete(root);
}

static void expect_error(const char *json, enum ferry_err code, const char *fragment)
{
    struct eip712_hashes h;
    enum ferry_err err = hash_text(&h, json);
    if (err != code || !strstr(ferry_errmsg(), fragment))
        fail_msg("got %d \"%s\", expected %d with \"%s\"", err, ferry_errmsg(), code, fragment);
}

#define T_U8 "{\"types\":{\"T\":[{\"name\":\"v\",\"type\":\"uint8\"}]},\"primaryType\":\"T\",\"domain\":{},"

static void json_errors(void **state)
{
    expect_error("{", FERRY_EINVAL, "not valid JSON");
    expect_error(T_U8 "\"message\":{\"v\":1}} x", FERRY_EINVAL, "unexpected text after the JSON document");
    expect_error("[]", FERRY_EINVAL, "expected an object with types");
    expect_error(T_U8 "\"message\":{\"v\":1},\"extra\":1}", FERRY_EINVAL, "unexpected key \"extra\"");
    expect_error("{\"types\":{},\"primaryType\":\"T\",\"domain\":{}}", FERRY_EINVAL, "missing \"message\"");
    expect_error(T_U8 "\"message\":{\"v\":1,\"v\":2}}", FERRY_EINVAL, "message.v: given twice");
    expect_error(T_U8 "\"message\":{\"V\":1}}", FERRY_EINVAL, "message.V: not a member of T");
    expect_error(T_U8 "\"message\":{\"v\":1.5}}", FERRY_EINVAL, "not an exact integer");
    expect_error(T_U8 "\"message\":{\"v\":1e300}}", FERRY_EINVAL, "not an exact integer");
    expect_error(T_U8 "\"message\":{\"v\":[1]}}", FERRY_EINVAL, "expected a number or a numeric string for uint8");
    expect_error(T_U8 "\"message\":[]}", FERRY_EINVAL, "message: expected an object (a T)");
    expect_error("{\"types\":{\"T\":[{\"name\":\"s\",\"type\":\"string\"}]},\"primaryType\":\"T\",\"domain\":{},"
                 "\"message\":{\"s\":\"a\\u0000b\"}}",
                 FERRY_EINVAL, "\\u0000");
    expect_error("{\"types\":{\"EIP712Domain\":[]},\"primaryType\":\"EIP712Domain\",\"domain\":{},\"message\":{}}",
                 FERRY_EINVAL, "EIP712Domain is the domain");
    expect_error("{\"types\":{\"T\":[{\"name\":\"v\",\"type\":\"uint8\",\"x\":1}]},\"primaryType\":\"T\",\"domain\":{},"
                 "\"message\":{}}",
                 FERRY_EINVAL, "types.T[0]: unexpected key \"x\"");
    expect_error("{\"types\":{\"T\":[{\"name\":\"v\",\"type\":\"uint8\"},{\"name\":\"v\",\"type\":\"bool\"}]},"
                 "\"primaryType\":\"T\",\"domain\":{},\"message\":{}}",
                 FERRY_EINVAL, "declares member \"v\" twice");
    expect_error("{\"types\":{\"T\":[],\"T\":[]},\"primaryType\":\"T\",\"domain\":{},\"message\":{}}", FERRY_EINVAL,
                 "types.T: type defined twice");
    expect_error("{\"types\":{\"uint8\":[]},\"primaryType\":\"uint8\",\"domain\":{},\"message\":{}}", FERRY_EINVAL,
                 "named like the atomic type");
    expect_error("{\"types\":{\"T\":[{\"name\":\"v\",\"type\":\"uint8[0]\"}]},\"primaryType\":\"T\",\"domain\":{},"
                 "\"message\":{}}",
                 FERRY_EINVAL, "bad array length");
    expect_error("{\"types\":{\"T\":[{\"name\":\"v\",\"type\":\"uint8[2\"}]},\"primaryType\":\"T\",\"domain\":{},"
                 "\"message\":{}}",
                 FERRY_EINVAL, "malformed array suffix");
    expect_error("{\"types\":{\"T\":[{\"name\":\"1v\",\"type\":\"uint8\"}]},\"primaryType\":\"T\",\"domain\":{},"
                 "\"message\":{}}",
                 FERRY_EINVAL, "not an identifier");
    expect_error("{\"types\":{\"T\":[{\"name\":\"v\",\"type\":\"byte\"}]},\"primaryType\":\"T\",\"domain\":{},"
                 "\"message\":{}}",
                 FERRY_EINVAL, "alias");
    expect_error("{\"types\":{\"T\":[{\"name\":\"v\",\"type\":\"bytes33\"}]},\"primaryType\":\"T\",\"domain\":{},"
                 "\"message\":{}}",
                 FERRY_EINVAL, "not a valid type");
    expect_error("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{\"chainId\":\"-1\"},\"message\":{}}",
                 FERRY_ERANGE, "domain.chainId: negative value for uint256");
    expect_error("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{\"salt\":\"0x01\"},\"message\":{}}",
                 FERRY_EINVAL, "domain.salt: bytes32");
    expect_error("{\"types\":{\"T\":[{\"name\":\"v\",\"type\":\"bytes\"}]},\"primaryType\":\"T\",\"domain\":{},"
                 "\"message\":{\"v\":\"0x12zz\"}}",
                 FERRY_EINVAL, "message.v: 'z' at position 4 is not a hex digit");
    expect_error("{\"types\":{\"T\":[{\"name\":\"v\",\"type\":\"int256\"}]},\"primaryType\":\"T\",\"domain\":{},"
                 "\"message\":{\"v\":\"57896044618658097711785492504343953926634992332820282019728792003956564819968\"}}",
                 FERRY_ERANGE, "message.v: value out of int256 range");
}

/* A chain of struct types deeper than EIP712_MAX_DEPTH fails cleanly instead of recursing on. */
static void depth_is_capped(void **state)
{
    struct fbuf j;
    fbuf_init(&j, 1 << 20);
    int n = EIP712_MAX_DEPTH + 5;
    assert_int_equal(fbuf_addstr(&j, "{\"types\":{"), FERRY_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(fbuf_printf(&j, "%s\"S%d\":[{\"name\":\"x\",\"type\":\"%s%d\"}]", i ? "," : "", i,
                                     i + 1 < n ? "S" : "uint", i + 1 < n ? i + 1 : 8),
                         FERRY_OK);
    assert_int_equal(fbuf_addstr(&j, "},\"primaryType\":\"S0\",\"domain\":{},\"message\":"), FERRY_OK);
    for (int i = 0; i < n - 1; i++)
        assert_int_equal(fbuf_addstr(&j, "{\"x\":"), FERRY_OK);
    assert_int_equal(fbuf_addstr(&j, "{\"x\":1}"), FERRY_OK);
    for (int i = 0; i < n - 1; i++)
        assert_int_equal(fbuf_addstr(&j, "}"), FERRY_OK);
    assert_int_equal(fbuf_addstr(&j, "}"), FERRY_OK);
    struct eip712_hashes h;
    assert_int_equal(eip712_hash_json(&h, (char *)j.data, j.len), FERRY_ERANGE);
    assert_non_null(strstr(ferry_errmsg(), "nested deeper than"));
    fbuf_free(&j);
}

/* Member order in the message object does not matter; member order in the type does. */
static void key_order(void **state)
{
    const char *a = "{\"types\":{\"T\":[{\"name\":\"x\",\"type\":\"uint8\"},{\"name\":\"y\",\"type\":\"string\"}]},"
                    "\"primaryType\":\"T\",\"domain\":{\"name\":\"n\"},\"message\":{\"x\":1,\"y\":\"s\"}}";
    const char *b = "{\"message\":{\"y\":\"s\",\"x\":\"0x01\"},\"domain\":{\"name\":\"n\"},\"primaryType\":\"T\","
                    "\"types\":{\"T\":[{\"name\":\"x\",\"type\":\"uint8\"},{\"name\":\"y\",\"type\":\"string\"}]}}";
    const char *c = "{\"types\":{\"T\":[{\"name\":\"y\",\"type\":\"string\"},{\"name\":\"x\",\"type\":\"uint8\"}]},"
                    "\"primaryType\":\"T\",\"domain\":{\"name\":\"n\"},\"message\":{\"x\":1,\"y\":\"s\"}}";
    struct eip712_hashes ha, hb, hc;
    assert_int_equal(hash_text(&ha, a), FERRY_OK);
    assert_int_equal(hash_text(&hb, b), FERRY_OK);
    assert_int_equal(hash_text(&hc, c), FERRY_OK);
    assert_memory_equal(&ha, &hb, sizeof ha);
    assert_memory_not_equal(ha.message_hash, hc.message_hash, 32);
    assert_memory_equal(ha.domain_separator, hc.domain_separator, 32);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cast_vectors),
        cmocka_unit_test(published_mail_example),
        cmocka_unit_test(c_api_arrays_match_json),
        cmocka_unit_test(c_api_integers),
        cmocka_unit_test(invalid_vectors_rejected),
        cmocka_unit_test(json_errors),
        cmocka_unit_test(depth_is_capped),
        cmocka_unit_test(key_order),
    };
    int rc = TU_RUN(tests);
    secp256k1_context_destroy(ctx);
    return rc;
}
