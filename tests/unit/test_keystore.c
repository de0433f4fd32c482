#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ferry/keystore.h"
#include "testutil.h"

/* The cast-made keystore with the password "testpassword" (tests/vectors/keystore.json, first entry). */
static char *base_json(void)
{
    cJSON *v = tu_load_vectors("keystore.json");
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(v, "vectors"), 0);
    assert_string_equal(cJSON_GetObjectItem(first, "password")->valuestring, "testpassword");
    char *s = strdup(cJSON_GetObjectItem(first, "keystore")->valuestring);
    cJSON_Delete(v);
    return s;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Decrypts every vector of a file and checks the key; a wrong password must fail with EAUTH. */
static void check_vectors(const char *file)
{
    cJSON *v = tu_load_vectors(file);
    const cJSON *it;
    int count = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(v, "vectors"))
    {
        const char *text = cJSON_GetObjectItem(it, "keystore")->valuestring;
        const char *pw = cJSON_GetObjectItem(it, "password")->valuestring;
        const char *secret = cJSON_GetObjectItem(it, "secret")->valuestring;
        struct keystore ks;
        if (keystore_parse(&ks, text, strlen(text), NULL) != FERRY_OK)
            fail_msg("%s #%d: %s", file, count, ferry_errmsg());
        uint8_t *key = sodium_malloc(32);
        assert_non_null(key);
        if (keystore_decrypt(&ks, NULL, pw, strlen(pw), key) != FERRY_OK)
            fail_msg("%s #%d: %s", file, count, ferry_errmsg());
        tu_assert_hex_equal(key, 32, secret);
        /* A password one byte off. */
        char bad[512];
        snprintf(bad, sizeof bad, "%sx", pw);
        assert_int_equal(keystore_decrypt(&ks, NULL, bad, strlen(bad), key), FERRY_EAUTH);
        assert_non_null(strstr(ferry_errmsg(), "wrong password (MAC mismatch)"));
        uint8_t zero[32] = {0};
        assert_memory_equal(key, zero, 32); /* nothing half-decrypted is left */
        sodium_free(key);
        count++;
    }
    assert_true(count >= 4);
    cJSON_Delete(v);
}

static void cast_vectors(void **state) { check_vectors("keystore.json"); }

/* The Web3 Secret Storage examples (scrypt and pbkdf2, "testpassword") and geth's short keys. */
static void spec_vectors(void **state)
{
    check_vectors("keystore_spec.json");
    cJSON *v = tu_load_vectors("keystore_spec.json");
    const cJSON *vec = cJSON_GetObjectItem(v, "vectors");
    struct keystore ks;
    const char *t0 = cJSON_GetObjectItem(cJSON_GetArrayItem(vec, 0), "keystore")->valuestring;
    const char *t1 = cJSON_GetObjectItem(cJSON_GetArrayItem(vec, 1), "keystore")->valuestring;
    const char *t2 = cJSON_GetObjectItem(cJSON_GetArrayItem(vec, 2), "keystore")->valuestring;
    assert_int_equal(keystore_parse(&ks, t0, strlen(t0), NULL), FERRY_OK);
    assert_int_equal(ks.kdf, KEYSTORE_SCRYPT);
    assert_true(ks.n == 262144 && ks.r == 1 && ks.p == 8);
    assert_string_equal(ks.id, "3198bc9c-6672-5ab3-d995-4942343ae5b6");
    assert_int_equal(keystore_parse(&ks, t1, strlen(t1), NULL), FERRY_OK);
    assert_int_equal(ks.kdf, KEYSTORE_PBKDF2);
    assert_int_equal(ks.c, 262144);
    assert_int_equal(keystore_parse(&ks, t2, strlen(t2), NULL), FERRY_OK);
    assert_int_equal(ks.ciphertext_len, 31);
    cJSON_Delete(v);
}

/* Encrypt then decrypt, through JSON, for both KDFs and random keys and passwords. */
static void roundtrip(void **state)
{
    const struct keystore_params params[] = {
        {.kdf = KEYSTORE_SCRYPT, .n = 1024, .r = 8, .p = 1},
        {.kdf = KEYSTORE_SCRYPT, .n = 16, .r = 1, .p = 3},
        {.kdf = KEYSTORE_PBKDF2, .c = 1000},
    };
    uint8_t *key = sodium_malloc(32), *back = sodium_malloc(32);
    for (int i = 0; i < 6; i++) {
        const struct keystore_params *p = &params[i % 3];
        uint8_t addr[ADDRESS_LEN];
        char pw[40];
        tu_rand_bytes(key, 32);
        tu_rand_bytes(addr, sizeof addr);
        size_t pwlen = (size_t)(tu_rand() % sizeof pw);
        tu_rand_bytes((uint8_t *)pw, pwlen); /* any bytes, NULs included */
        struct keystore ks, again;
        assert_int_equal(keystore_encrypt(&ks, key, i & 1 ? addr : NULL, pw, pwlen, p), FERRY_OK);
        assert_int_equal(ks.ciphertext_len, 32);
        assert_int_equal(ks.salt_len, 32);
        assert_int_equal(strlen(ks.id), 36);
        assert_int_equal(ks.id[14], '4'); /* a version-4 UUID */
        struct fbuf j;
        fbuf_init(&j, 4096);
        assert_int_equal(keystore_to_json(&ks, &j), FERRY_OK);
        assert_null(strstr((const char *)j.data, "\"name\"")); /* nothing but the standard fields */
        assert_int_equal(keystore_parse(&again, (const char *)j.data, j.len, NULL), FERRY_OK);
        assert_memory_equal(&ks, &again, sizeof ks);
        fbuf_free(&j);
        assert_int_equal(keystore_decrypt(&again, NULL, pw, pwlen, back), FERRY_OK);
        assert_memory_equal(key, back, 32);
        /* A different password fails. (Not a truncated one: HMAC pads short keys with zero
         * bytes, so "pw\0" and "pw" are the same PBKDF2/scrypt password; flip a byte instead.) */
        if (pwlen) {
            pw[tu_rand() % pwlen] ^= 0x01;
            assert_int_equal(keystore_decrypt(&again, NULL, pw, pwlen, back), FERRY_EAUTH);
        }
    }
    /* Fresh randomness each time: the same key and password never give the same file. */
    struct keystore a, b;
    assert_int_equal(keystore_encrypt(&a, key, NULL, "pw", 2, &params[1]), FERRY_OK);
    assert_int_equal(keystore_encrypt(&b, key, NULL, "pw", 2, &params[1]), FERRY_OK);
    assert_memory_not_equal(a.salt, b.salt, 32);
    assert_memory_not_equal(a.iv, b.iv, 16);
    assert_memory_not_equal(a.ciphertext, b.ciphertext, 32);
    assert_string_not_equal(a.id, b.id);
    /* Ferry never writes what it would refuse to read. */
    const struct keystore_params too_big = {.kdf = KEYSTORE_SCRYPT, .n = 1u << 20, .r = 8, .p = 1};
    assert_int_equal(keystore_encrypt(&a, key, NULL, "pw", 2, &too_big), FERRY_ERANGE);
    const struct keystore_params not_pow2 = {.kdf = KEYSTORE_SCRYPT, .n = 1000, .r = 8, .p = 1};
    assert_int_equal(keystore_encrypt(&a, key, NULL, "pw", 2, &not_pow2), FERRY_EINVAL);
    sodium_free(key);
    sodium_free(back);
}

/* Replaces (or with value NULL removes) the member at a dotted path of the base keystore,
 * and returns the new text. value is raw JSON. */
static char *mutate(const char *path, const char *value)
{
    char *base = base_json();
    cJSON *root = cJSON_Parse(base);
    free(base);
    assert_non_null(root);
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    cJSON *obj = root;
    char *save = NULL, *tok = strtok_r(buf, ".", &save);
    for (char *next; (next = strtok_r(NULL, ".", &save)); tok = next) {
        obj = cJSON_GetObjectItemCaseSensitive(obj, tok);
        assert_non_null(obj);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(obj, tok);
    if (value) {
        cJSON *v = cJSON_Parse(value);
        assert_non_null(v);
        cJSON_AddItemToObject(obj, tok, v);
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

static void expect(const char *text, enum ferry_err code, const char *msg)
{
    struct keystore ks;
    memset(&ks, 0xa5, sizeof ks);
    enum ferry_err e = keystore_parse(&ks, text, strlen(text), NULL);
    if (e != code || (msg && !strstr(ferry_errmsg(), msg)))
        fail_msg("parse of %.200s\n  gave %d \"%s\", expected %d \"%s\"", text, e, ferry_errmsg(), code,
                 msg ? msg : "");
    if (code != FERRY_OK) {
        struct keystore zero;
        memset(&zero, 0, sizeof zero);
        assert_memory_equal(&ks, &zero, sizeof ks); /* a failed parse leaves nothing behind */
    }
}

static void expect_mut(const char *path, const char *value, enum ferry_err code, const char *msg)
{
    char *t = mutate(path, value);
    expect(t, code, msg);
    free(t);
}

static void malformed(void **state)
{
    expect_mut("version", NULL, FERRY_EINVAL, "missing \"version\"");
    expect_mut("version", "1", FERRY_EUNSUPPORTED, "only version 3");
    expect_mut("version", "\"3\"", FERRY_EUNSUPPORTED, "only version 3");
    expect_mut("crypto", NULL, FERRY_EINVAL, "missing \"crypto\"");
    expect_mut("crypto", "[]", FERRY_EINVAL, "\"crypto\" must be an object");
    expect_mut("Crypto", "{}", FERRY_EINVAL, "both \"crypto\" and \"Crypto\"");
    expect_mut("crypto.cipher", "\"aes-128-cbc\"", FERRY_EUNSUPPORTED, "only aes-128-ctr");
    expect_mut("crypto.cipher", "7", FERRY_EINVAL, "\"crypto.cipher\" must be a string");
    expect_mut("crypto.cipherparams.iv", "\"00\"", FERRY_EINVAL, "must be 16 bytes");
    expect_mut("crypto.cipherparams.iv", "\"0x83dbcc02d8ccb40e466191a123791e\"", FERRY_EINVAL, "prefix");
    expect_mut("crypto.cipherparams.iv", "\"83dbcc02d8ccb40e466191a123791eZZ\"", FERRY_EINVAL, "position 30");
    expect_mut("crypto.ciphertext", "\"0011\"", FERRY_EINVAL, "16 to 32 bytes");
    expect_mut("crypto.ciphertext", "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00\"",
               FERRY_EINVAL, "16 to 32 bytes");
    expect_mut("crypto.ciphertext", "\"00112233445566778899aabbccddeeff0011223344556677889\"", FERRY_EINVAL, "odd");
    expect_mut("crypto.mac", NULL, FERRY_EINVAL, "missing \"crypto.mac\"");
    expect_mut("crypto.mac", "\"00\"", FERRY_EINVAL, "must be 32 bytes");
    expect_mut("crypto.kdf", "\"argon2id\"", FERRY_EUNSUPPORTED, "kdf \"argon2id\"");
    expect_mut("crypto.kdfparams", NULL, FERRY_EINVAL, "missing \"crypto.kdfparams\"");
    expect_mut("crypto.kdfparams.dklen", "64", FERRY_EUNSUPPORTED, "dklen must be 32");
    expect_mut("crypto.kdfparams.salt", "\"\"", FERRY_EINVAL, "1 to 128 bytes");
    expect_mut("crypto.kdfparams.n", "\"8192\"", FERRY_EINVAL, "must be a number");
    expect_mut("crypto.kdfparams.n", "-8192", FERRY_ERANGE, "whole number");
    expect_mut("crypto.kdfparams.n", "8192.5", FERRY_ERANGE, "whole number");
    expect_mut("crypto.kdfparams.n", "1e300", FERRY_ERANGE, "whole number");
    expect_mut("crypto.kdfparams.n", "1000", FERRY_EINVAL, "not a power of two");
    expect_mut("crypto.kdfparams.n", "1", FERRY_EINVAL, "not a power of two");
    expect_mut("crypto.kdfparams.r", "0", FERRY_EINVAL, "at least 1");
    expect_mut("crypto.kdfparams.p", NULL, FERRY_EINVAL, "missing \"crypto.kdfparams.p\"");
    expect_mut("id", "5", FERRY_EINVAL, "\"id\" must be a string");
    expect_mut("id", "\"a\\\"b\"", FERRY_EINVAL, "unexpected character");
    expect_mut("address", "\"0x1234\"", FERRY_EINVAL, "\"address\"");
    expect_mut("address", "17", FERRY_EINVAL, "\"address\" must be a string");
    /* Unknown fields are ignored; null address is no address; an address with or without 0x. */
    expect_mut("x-extra", "{\"anything\": [1, 2, 3]}", FERRY_OK, NULL);
    expect_mut("address", "null", FERRY_OK, NULL);
    expect_mut("address", "\"98e07f38060868ee81de88f7c2b3e389a2bfa83a\"", FERRY_OK, NULL);
    expect_mut("address", "\"0x98e07f38060868ee81de88f7c2b3e389a2bfa83a\"", FERRY_OK, NULL);
    expect_mut("id", NULL, FERRY_OK, NULL);

    /* The same field twice: geth would keep the last, cJSON the first; refuse the ambiguity. */
    char *dup = base_json();
    char *twice = malloc(strlen(dup) + 64);
    sprintf(twice, "{\"version\":3,%s", dup + 1);
    expect(twice, FERRY_EINVAL, "\"version\" appears more than once");
    char *kdfp = strstr(dup, "\"kdfparams\":{");
    assert_non_null(kdfp);
    size_t at = (size_t)(kdfp - dup) + strlen("\"kdfparams\":{");
    sprintf(twice, "%.*s\"n\":2,%s", (int)at, dup, dup + at);
    expect(twice, FERRY_EINVAL, "\"crypto.kdfparams.n\" appears more than once");
    free(twice);
    free(dup);

    expect("", FERRY_EINVAL, "invalid JSON at offset 0");
    expect("[]", FERRY_EINVAL, "expected a JSON object");
    expect("{\"version\": 3", FERRY_EINVAL, "invalid JSON");
    expect("null", FERRY_EINVAL, "expected a JSON object");
    char *base = base_json();
    size_t n = strlen(base);
    char *t = malloc(n + 8);
    memcpy(t, base, n);
    memcpy(t + n, " \n{}", 5);
    expect(t, FERRY_EINVAL, "unexpected text after the JSON object");
    memcpy(t + n, " \r\n\t", 5);
    expect(t, FERRY_OK, NULL); /* trailing white space is fine */
    struct keystore ks;
    base[10] = '\0';
    assert_int_equal(keystore_parse(&ks, base, n, NULL), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "NUL byte at offset 10"));
    free(t);
    free(base);
    /* Deep nesting and a huge document fail cleanly. */
    size_t depth = 5000;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = 0;
    expect(deep, FERRY_EINVAL, "invalid JSON");
    free(deep);
    size_t big = KEYSTORE_FILE_MAX + 1;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[big] = 0;
    expect(huge, FERRY_ERANGE, "over the cap");
    free(huge);
}

/* geth wrote "Crypto" for years. */
static void capital_crypto(void **state)
{
    char *base = base_json();
    char *p = strstr(base, "\"crypto\"");
    assert_non_null(p);
    p[1] = 'C';
    struct keystore ks;
    assert_int_equal(keystore_parse(&ks, base, strlen(base), NULL), FERRY_OK);
    uint8_t *key = sodium_malloc(32);
    assert_int_equal(keystore_decrypt(&ks, NULL, "testpassword", 12, key), FERRY_OK);
    sodium_free(key);
    free(base);
}

/* A hostile file asking for huge KDF work is refused at once, before any KDF runs. */
static void caps(void **state)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expect_mut("crypto.kdfparams.n", "1073741824", FERRY_ERANGE,
               "keystore: scrypt n=2^30 exceeds the cap of 2^18 (memory)");
    expect_mut("crypto.kdfparams.n", "1099511627776", FERRY_ERANGE, "n=2^40 exceeds");
    expect_mut("crypto.kdfparams.n", "18014398509481984", FERRY_ERANGE, "whole number from 0 to 9007199254740992");
    expect_mut("crypto.kdfparams.r", "1024", FERRY_ERANGE, "r=1024 exceeds the cap of 16");
    expect_mut("crypto.kdfparams.p", "4294967295", FERRY_ERANGE, "p=4294967295 exceeds the cap of 16 (time)");
    expect_mut("crypto.kdfparams.p", "4294967296", FERRY_ERANGE, "whole number");
    /* Each parameter within its cap, the product over: n=2^18 r=16 needs 512 MiB. */
    char *t = mutate("crypto.kdfparams.r", "16");
    cJSON *root = cJSON_Parse(t);
    free(t);
    cJSON *kp = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "crypto"), "kdfparams");
    cJSON_ReplaceItemInObject(kp, "n", cJSON_CreateNumber(262144));
    t = cJSON_PrintUnformatted(root);
    expect(t, FERRY_ERANGE, "needs 512 MiB, over the cap of 256 MiB (memory)");
    free(t);
    cJSON_ReplaceItemInObject(kp, "r", cJSON_CreateNumber(8));
    cJSON_ReplaceItemInObject(kp, "p", cJSON_CreateNumber(4));
    t = cJSON_PrintUnformatted(root);
    expect(t, FERRY_ERANGE, "n*r*p = 2^18*8*4 exceeds the cap of 2^22 (time)");
    free(t);
    cJSON_Delete(root);
    assert_true(ms_since(&t0) < 1000);

    /* pbkdf2: the spec vector with its count raised. */
    cJSON *v = tu_load_vectors("keystore_spec.json");
    root = cJSON_Parse(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "vectors"), 1), "keystore")
                           ->valuestring);
    cJSON_Delete(v);
    kp = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "crypto"), "kdfparams");
    cJSON_ReplaceItemInObject(kp, "c", cJSON_CreateNumber(1u << 30));
    t = cJSON_PrintUnformatted(root);
    expect(t, FERRY_ERANGE, "pbkdf2 c=1073741824 exceeds the cap of 2^22 (time)");
    free(t);
    cJSON_ReplaceItemInObject(kp, "c", cJSON_CreateNumber(0));
    t = cJSON_PrintUnformatted(root);
    expect(t, FERRY_EINVAL, "c must be at least 1");
    free(t);
    cJSON_ReplaceItemInObject(kp, "prf", cJSON_CreateString("hmac-sha512"));
    t = cJSON_PrintUnformatted(root);
    expect(t, FERRY_EUNSUPPORTED, "only hmac-sha256");
    free(t);
    cJSON_Delete(root);

    /* decrypt re-checks: a struct filled by hand cannot smuggle a huge cost past the caps. */
    struct keystore ks;
    char *base = base_json();
    assert_int_equal(keystore_parse(&ks, base, strlen(base), NULL), FERRY_OK);
    free(base);
    ks.n = UINT64_C(1) << 40;
    uint8_t *key = sodium_malloc(32);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(keystore_decrypt(&ks, NULL, "testpassword", 12, key), FERRY_ERANGE);
    assert_true(ms_since(&t0) < 100);
    /* Tighter caps given by the caller apply (the fuzz harness uses this). */
    ks.n = 8192;
    const struct keystore_caps tiny = {.scrypt_n_max = 16, .scrypt_r_max = 8, .scrypt_p_max = 1,
                                       .scrypt_mem_max = 1 << 20, .scrypt_work_max = 1 << 10, .pbkdf2_c_max = 16};
    assert_int_equal(keystore_decrypt(&ks, &tiny, "testpassword", 12, key), FERRY_ERANGE);
    assert_non_null(strstr(ferry_errmsg(), "n=2^13 exceeds the cap of 2^4"));
    /* A password longer than any sane one is refused rather than hashed. */
    size_t big = KEYSTORE_PASSWORD_MAX + 1;
    char *pw = calloc(1, big);
    assert_int_equal(keystore_decrypt(&ks, NULL, pw, big, key), FERRY_ERANGE);
    free(pw);
    sodium_free(key);
}

static void names(void **state)
{
    const char *good[] = {"alice", "relayer-1", "attester_2.eth", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                          "UTC--2024-01-02T03-04-05.678901234Z--f39fd6e51aad88f6f4ce6ab8827279cfffb92266"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (keystore_name_check(good[i]) != FERRY_OK)
            fail_msg("%s: %s", good[i], ferry_errmsg());
    const char *bad[] = {"", ".hidden", "..", "-rf", "a/b", "../x", "a b", "naïve", "x\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(keystore_name_check(bad[i]), FERRY_EINVAL);
    assert_int_equal(keystore_name_check("a/b"), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "character '/' at position 1"));
    char longname[KEYSTORE_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(keystore_name_check(longname), FERRY_EINVAL);
    longname[KEYSTORE_NAME_MAX] = 0;
    assert_int_equal(keystore_name_check(longname), FERRY_OK);
}

static char *make_tmpdir(void)
{
    char *d = strdup("/tmp/ferry-test-keystore-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static int count_files(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static void directory(void **state)
{
    char *tmp = make_tmpdir();
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/a/b/keys", tmp);
    struct keystore_entry *list;
    size_t n;
    assert_int_equal(keystore_dir_list(dir, &list, &n), FERRY_OK); /* missing: empty */
    assert_int_equal(n, 0);
    assert_int_equal(keystore_dir_create(dir), FERRY_OK);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    char *base = base_json();
    struct keystore ks, back;
    assert_int_equal(keystore_parse(&ks, base, strlen(base), NULL), FERRY_OK);
    assert_int_equal(keystore_write_file(dir, "bob", &ks), FERRY_OK);
    assert_int_equal(keystore_write_file(dir, "alice", &ks), FERRY_OK);
    assert_int_equal(keystore_path(path, sizeof path, dir, "alice"), FERRY_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(keystore_read_file(&back, path, NULL), FERRY_OK);
    assert_memory_equal(&ks, &back, sizeof ks);

    /* An existing name is never replaced, and no temporary file is left behind. */
    struct keystore other = ks;
    other.mac[0] ^= 1;
    assert_int_equal(keystore_write_file(dir, "alice", &other), FERRY_EEXIST);
    assert_non_null(strstr(ferry_errmsg(), "a key named \"alice\" already exists"));
    assert_int_equal(keystore_read_file(&back, path, NULL), FERRY_OK);
    assert_memory_equal(&ks, &back, sizeof ks);
    assert_int_equal(count_files(dir), 2);
    assert_int_equal(keystore_write_file(dir, "../escape", &ks), FERRY_EINVAL);
    assert_int_equal(count_files(dir), 2);

    /* list: sorted, hidden and non-regular files skipped, broken files reported, no password. */
    char p2[700];
    snprintf(p2, sizeof p2, "%s/.hidden", dir);
    FILE *f = fopen(p2, "w");
    fputs("junk", f);
    fclose(f);
    snprintf(p2, sizeof p2, "%s/broken", dir);
    f = fopen(p2, "w");
    fputs("{\"version\": 3}", f);
    fclose(f);
    snprintf(p2, sizeof p2, "%s/subdir", dir);
    assert_int_equal(mkdir(p2, 0700), 0);
    snprintf(p2, sizeof p2, "%s/has space", dir);
    f = fopen(p2, "w");
    fputs(base, f);
    fclose(f);
    assert_int_equal(keystore_dir_list(dir, &list, &n), FERRY_OK);
    assert_int_equal(n, 4);
    assert_string_equal(list[0].name, "alice");
    assert_int_equal(list[0].err, FERRY_OK);
    assert_string_equal(list[1].name, "bob");
    assert_string_equal(list[2].name, "broken");
    assert_int_equal(list[2].err, FERRY_EINVAL);
    assert_non_null(strstr(list[2].errmsg, "missing \"crypto\""));
    assert_string_equal(list[3].name, "has space");
    assert_int_equal(list[3].err, FERRY_EINVAL);
    assert_non_null(strstr(list[3].errmsg, "rename the file"));
    free(list);

    /* read_file: not a regular file, too big, missing, a FIFO (must not hang). */
    snprintf(p2, sizeof p2, "%s/subdir", dir);
    assert_int_equal(keystore_read_file(&back, p2, NULL), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "not a regular file"));
    snprintf(p2, sizeof p2, "%s/nope", dir);
    assert_int_equal(keystore_read_file(&back, p2, NULL), FERRY_ENOTFOUND);
    snprintf(p2, sizeof p2, "%s/fifo", dir);
    assert_int_equal(mkfifo(p2, 0600), 0);
    assert_int_equal(keystore_read_file(&back, p2, NULL), FERRY_EINVAL);
    snprintf(p2, sizeof p2, "%s/big", dir);
    f = fopen(p2, "w");
    for (int i = 0; i < KEYSTORE_FILE_MAX + 1; i++)
        fputc(' ', f);
    fclose(f);
    assert_int_equal(keystore_read_file(&back, p2, NULL), FERRY_ERANGE);
    assert_non_null(strstr(ferry_errmsg(), "over the cap"));
    /* A parse error names the file. */
    snprintf(p2, sizeof p2, "%s/broken", dir);
    assert_int_equal(keystore_read_file(&back, p2, NULL), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "/broken: keystore: missing"));

    free(base);
    rm_rf(tmp);
    free(tmp);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    assert_true(sodium_init() >= 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cast_vectors), cmocka_unit_test(spec_vectors), cmocka_unit_test(roundtrip),
        cmocka_unit_test(malformed),    cmocka_unit_test(capital_crypto), cmocka_unit_test(caps),
        cmocka_unit_test(names),        cmocka_unit_test(directory),
    };
    return TU_RUN(tests);
}
