#include "testutil.h"

#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ferry/hex.h"
#include "ferry/loop.h"

#include <curl/curl.h>

static uint64_t seed, state;
static int seeded;

void tu_init(int argc, char **argv)
{
    const char *s = getenv("FERRY_TEST_SEED");
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--seed") == 0)
            s = argv[i + 1];
    if (s && *s)
        seed = strtoull(s, NULL, 0);
    else
        seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    if (!seed)
        seed = 1;
    state = seed;
    seeded = 1;
    fprintf(stderr, "# seed %" PRIu64 " (replay with --seed %" PRIu64 ")\n", seed, seed);
}

uint64_t tu_seed(void)
{
    if (!seeded)
        tu_init(0, NULL);
    return seed;
}

uint64_t tu_rand(void)
{
    tu_seed();
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 2685821657736338717ULL;
}

void tu_rand_bytes(uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(tu_rand() >> 32);
}

char *tu_hexstr(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 3);
    assert_non_null(s);
    hex_encode(s, p, n, true);
    return s;
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    assert_true(n >= 0);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

cJSON *tu_read_json(const char *path)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!j)
        fail_msg("%s is not valid JSON", path);
    return j;
}

cJSON *tu_load_vectors(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "tests/vectors/%s", name);
    return tu_read_json(path);
}

uint8_t *tu_unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    uint8_t *out = malloc(n / 2 + 1);
    assert_non_null(out);
    if (hex_decode(out, n / 2 + 1, len, hex, n, HEX_PREFIX_OPTIONAL) != FERRY_OK)
        fail_msg("bad hex in test data: %s (%s)", hex, ferry_errmsg());
    return out;
}

void tu_assert_hex_equal_(const uint8_t *bytes, size_t n, const char *hex, const char *file, int line)
{
    size_t elen;
    uint8_t *exp = tu_unhex(hex, &elen);
    int same = elen == n && memcmp(exp, bytes, n) == 0;
    free(exp);
    if (!same) {
        char *got = malloc(2 * n + 3);
        hex_encode(got, bytes, n, true);
        print_error("%s:%d: bytes differ\n  expected %s\n  got      %s\n", file, line, hex, got);
        free(got);
        _fail(file, line);
    }
}

/* ---- blocking JSON-RPC for tests' own set-up against a private anvil ---- */

struct curlbuf {
    char *p;
    size_t n;
};

static size_t tu_curl_sink(char *d, size_t sz, size_t nm, void *ud)
{
    struct curlbuf *b = ud;
    char *q = realloc(b->p, b->n + sz * nm + 1);
    assert_non_null(q);
    memcpy(q + b->n, d, sz * nm);
    b->p = q;
    b->n += sz * nm;
    b->p[b->n] = 0;
    return sz * nm;
}

cJSON *tu_anvil_call(const char *url, const char *method, const char *params)
{
    CURL *e = curl_easy_init();
    assert_non_null(e);
    char *body = malloc(strlen(params) + strlen(method) + 64);
    sprintf(body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}", method, params);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    struct curlbuf b = {0};
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, tu_curl_sink);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    CURLcode rc = curl_easy_perform(e);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    free(body);
    if (rc != CURLE_OK)
        fail_msg("%s: %s", method, curl_easy_strerror(rc));
    cJSON *j = cJSON_Parse(b.p);
    if (!j || !cJSON_GetObjectItemCaseSensitive(j, "result"))
        fail_msg("%s: %s", method, b.p ? b.p : "(no reply)");
    free(b.p);
    cJSON *r = cJSON_DetachItemFromObjectCaseSensitive(j, "result");
    cJSON_Delete(j);
    return r;
}

bool tu_ferry_bin(char *out, size_t cap)
{
    const char *b = getenv("FERRY_TEST_BUILD");
    snprintf(out, cap, "%s/ferry", b ? b : "build");
    if (access(out, X_OK) != 0)
        snprintf(out, cap, "build/ferry");
    if (access(out, X_OK) != 0) {
        print_message("no ferry binary (make all): skipped\n");
        return false;
    }
    return true;
}

void tu_argv(const char **argv, size_t cap, size_t n, const char *const *args)
{
    for (; *args; args++) {
        if (n + 1 >= cap)
            fail_msg("more than %zu arguments", cap - 1);
        argv[n++] = *args;
    }
    argv[n] = NULL;
}

extern char **environ;

pid_t tu_spawn(const char *const *argv, const char *out_path, const char *err_path)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out_path)
        posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err_path)
        posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

int tu_wait_exit(pid_t pid, struct loop *loop)
{
    int status = 0;
    uint64_t end = loop_clock_ms() + 20000;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        assert_true(w >= 0);
        if (w == pid)
            break;
        assert_true(loop_clock_ms() < end);
        if (loop)
            assert_int_equal(loop_run_once(loop, 20), FERRY_OK);
        else
            usleep(2000);
    }
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}
