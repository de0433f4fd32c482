#include <string.h>

#include "ferry/keccak.h"
#include "testutil.h"

/* Published Keccak-256 digests (the ones Ethereum tooling everywhere agrees on). */
static void known_digests(void **state)
{
    uint8_t d[32];
    keccak256(d, "", 0);
    tu_assert_hex_equal(d, 32, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    keccak256(d, "abc", 3);
    tu_assert_hex_equal(d, 32, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    keccak256(d, "transfer(address,uint256)", 25);
    tu_assert_hex_equal(d, 4, "a9059cbb");
}

/* Cast-made vectors: every length around the 136-byte rate boundary. */
static void cast_vectors(void **state)
{
    cJSON *v = tu_load_vectors("keccak.json");
    cJSON *item;
    int n = 0;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(v, "vectors"))
    {
        size_t len;
        uint8_t *in = tu_unhex(cJSON_GetObjectItem(item, "input")->valuestring, &len);
        uint8_t d[32];
        keccak256(d, in, len);
        tu_assert_hex_equal(d, 32, cJSON_GetObjectItem(item, "digest")->valuestring);
        free(in);
        n++;
    }
    assert_true(n >= 10);
    cJSON_Delete(v);
}

/* Feeding the same bytes in random pieces gives the one-shot digest. */
static void incremental_matches_oneshot(void **state)
{
    uint8_t buf[1000], d1[32], d2[32];
    for (int round = 0; round < 50; round++) {
        size_t n = (size_t)(tu_rand() % sizeof buf);
        tu_rand_bytes(buf, n);
        keccak256(d1, buf, n);
        struct keccak_ctx c;
        keccak256_init(&c);
        size_t off = 0;
        while (off < n) {
            size_t k = (size_t)(tu_rand() % 200);
            if (k > n - off)
                k = n - off;
            keccak256_update(&c, buf + off, k);
            off += k;
        }
        keccak256_final(&c, d2);
        assert_memory_equal(d1, d2, 32);
    }
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_digests),
        cmocka_unit_test(cast_vectors),
        cmocka_unit_test(incremental_matches_oneshot),
    };
    return TU_RUN(tests);
}
