/* The config loader: problems driven by data (tests/vectors/config/bad/NAME.json + NAME.expect),
 * good configs into the struct with defaults applied, the shipped examples, and a check that
 * docs/config.md documents every key the parser accepts and nothing else (like curl's test1139). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ferry/config.h"
#include "testutil.h"

#define VEC "tests/vectors/config/"

/* The environment every vector is checked in (see tests/vectors/config/README.md). */
static void vector_env(void)
{
    setenv("FERRY_TEST_RPC_KEY", "k3y", 1);
    setenv("FERRY_TEST_RPC_PASSWORD", "pa55", 1);
    unsetenv("FERRY_TEST_UNSET");
}

static char *problems_text(const struct config_problems *p)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    config_problems_print(f, NULL, p);
    fclose(f);
    return text;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The sorted names of dir's files that end in `suffix`; *n receives the count. */
static char **list_dir(const char *dir, const char *suffix, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s: %s", dir, strerror(errno));
    char **names = NULL;
    *n = 0;
    size_t sl = strlen(suffix);
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l <= sl || strcmp(e->d_name + l - sl, suffix) != 0)
            continue;
        names = realloc(names, (*n + 1) * sizeof *names);
        assert_non_null(names);
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, *n, sizeof *names, cmp_names);
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Every bad config gives exactly the problem lines of its .expect file, and loads nothing. */
static void bad_vectors(void **state)
{
    vector_env();
    size_t n, failures = 0;
    char **names = list_dir(VEC "bad", ".json", &n);
    assert_true(n >= 30);
    for (size_t i = 0; i < n; i++) {
        char path[512], expect_path[512];
        snprintf(path, sizeof path, VEC "bad/%s", names[i]);
        snprintf(expect_path, sizeof expect_path, VEC "bad/%.*s.expect", (int)(strlen(names[i]) - 5), names[i]);
        if (access(expect_path, R_OK) != 0) {
            print_message("# %s: no %s\n", names[i], expect_path);
            failures++;
            continue;
        }
        char *want = tu_read_file(expect_path, NULL);
        struct ferry_config cfg;
        memset(&cfg, 0xa5, sizeof cfg); /* whatever the caller had, a failed load leaves it zeroed */
        struct config_problems p = {0};
        enum ferry_err e = config_load(path, &cfg, &p);
        char *got = problems_text(&p);
        if (e != FERRY_EINVAL || strcmp(got, want) != 0 || !is_zero(&cfg, sizeof cfg)) {
            print_message("# %s: result %s, cfg %s\n# expected:\n%s# got:\n%s", names[i], ferry_strerror(e),
                          is_zero(&cfg, sizeof cfg) ? "zeroed" : "NOT zeroed", want, got);
            failures++;
        }
        free(got);
        free(want);
        config_problems_free(&p);
        config_free(&cfg);
    }
    free_names(names, n);
    assert_int_equal(failures, 0);
}

static void good_vectors(void **state)
{
    vector_env();
    size_t n;
    char **names = list_dir(VEC "good", ".json", &n);
    assert_true(n >= 2);
    for (size_t i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, VEC "good/%s", names[i]);
        struct ferry_config cfg;
        struct config_problems p = {0};
        enum ferry_err e = config_load(path, &cfg, &p);
        if (e != FERRY_OK) {
            char *got = problems_text(&p);
            fail_msg("%s: %s\n%s", names[i], ferry_errmsg(), got);
        }
        assert_int_equal(config_problems_count(&p), 0);
        assert_true(cfg.n_chains >= 2);
        config_free(&cfg);
        assert_true(is_zero(&cfg, sizeof cfg));
    }
    free_names(names, n);
}

static void assert_addr(const uint8_t a[ADDRESS_LEN], const char *hex)
{
    char s[ADDRESS_STR];
    address_to_checksum(s, a);
    assert_string_equal(s, hex);
}

static void assert_wei(u256 v, const char *dec)
{
    char s[U256_DEC_MAX];
    u256_to_dec(s, v);
    assert_string_equal(s, dec);
}

/* A config that writes only the required keys gets every default. */
static void minimal_gets_defaults(void **state)
{
    struct ferry_config cfg;
    assert_int_equal(config_load(VEC "good/minimal.json", &cfg, NULL), FERRY_OK);
    assert_string_equal(cfg.data_dir, "build/test/data");
    assert_int_equal(cfg.log_level, CONFIG_LOG_INFO);
    assert_null(cfg.keystore.dir);
    assert_null(cfg.keystore.password_file);
    assert_string_equal(cfg.api.listen.host, "127.0.0.1");
    assert_int_equal(cfg.api.listen.port, 7710);
    assert_true(cfg.api.listen.loopback);
    assert_false(cfg.api.allow_remote);
    assert_null(cfg.api.token_file);
    assert_null(cfg.api.token_env);
    assert_int_equal(cfg.api.max_body_bytes, 1048576);
    assert_int_equal(cfg.attesters.threshold, 1);
    assert_int_equal(cfg.attesters.addresses.n, 1);
    assert_addr(cfg.attesters.addresses.v[0], "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955");
    assert_int_equal(cfg.attesters.keys.n, 1);
    assert_string_equal(cfg.attesters.keys.v[0], "att-1");
    assert_int_equal(cfg.relayer.retry_limit, 10);
    assert_int_equal(cfg.relayer.backoff_base_ms, 1000);
    assert_int_equal(cfg.relayer.backoff_max_ms, 300000);
    assert_int_equal(cfg.n_chains, 2);
    const struct ferry_chain_config *a = &cfg.chains[0], *b = config_chain_by_name(&cfg, "beta");
    assert_ptr_equal(b, &cfg.chains[1]);
    assert_null(config_chain_by_name(&cfg, "gamma"));
    assert_string_equal(a->name, "alpha");
    assert_int_equal(a->kind, CONFIG_CHAIN_EVM);
    assert_int_equal(a->chain_id, 31337);
    assert_int_equal(b->chain_id, 31338);
    assert_int_equal(a->rpc.n, 1);
    assert_string_equal(a->rpc.v[0], "http://127.0.0.1:8545");
    assert_int_equal(a->rpc_timeout_ms, 10000);
    assert_true(a->gateway.set);
    assert_addr(a->gateway.bytes, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
    assert_false(a->vault.set);
    assert_false(a->router.set);
    assert_int_equal(a->confirmations, 12);
    assert_int_equal(a->poll_interval_ms, 2000);
    assert_int_equal(a->block_time_ms, 12000);
    assert_wei(a->max_fee_per_gas, "100000000000");
    assert_wei(a->max_priority_fee_per_gas, "2000000000");
    assert_int_equal(a->gas_limit, 3000000);
    assert_int_equal(a->replace_after_blocks, 3);
    assert_int_equal(a->fee_bump_percent, 12);
    assert_int_equal(a->max_batch, 16);
    assert_int_equal(a->max_in_flight, 8);
    assert_string_equal(a->submitter, "sub");
    assert_int_equal(a->log_range_max_blocks, 2000);
    assert_int_equal(a->start_block, 0);
    /* The chain's own object, for its family's adapter. */
    assert_true(cJSON_IsObject(a->json));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(a->json, "name")->valuestring, "alpha");
    assert_null(a->mem);
    config_free(&cfg);
}

/* The intents section: defaults, the default of `enabled` (whether a chain names a router), and
 * the checks across its keys. */
static char *with(const char *router, const char *intents)
{
    char *base = tu_read_file(VEC "good/minimal.json", NULL);
    const char *gw = "\"gateway\": \"0x5FbDB2315678afecb367f032d93F642f64180aa3\",";
    char *at = strstr(base, gw);
    assert_non_null(at);
    size_t cap = strlen(base) + 512;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t head = (size_t)(at - base) + strlen(gw);
    memcpy(out, base, head);
    out[head] = 0;
    if (router) {
        strcat(out, "\"router\": \"");
        strcat(out, router);
        strcat(out, "\",");
    }
    strcat(out, at + strlen(gw));
    if (intents) { /* before the last closing brace */
        char *end = strrchr(out, '}');
        snprintf(end, cap - (size_t)(end - out), ", \"intents\": %s}", intents);
    }
    free(base);
    return out;
}

static void intents_section(void **state)
{
    (void)state;
    struct ferry_config cfg;
    struct config_problems p = {0};
    const char *R = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
    char *t = with(NULL, NULL);
    assert_int_equal(config_parse(t, strlen(t), &cfg, &p), FERRY_OK);
    assert_false(cfg.intents.enabled); /* no chain can run one */
    assert_false(cfg.intents.enabled_opt.set);
    assert_int_equal(cfg.intents.retry_limit, 6);
    assert_int_equal(cfg.intents.max_pending, 10000);
    assert_int_equal(cfg.intents.backoff_base_s, 5);
    assert_int_equal(cfg.intents.backoff_max_s, 300);
    config_free(&cfg);
    free(t);

    t = with(R, NULL);
    assert_int_equal(config_parse(t, strlen(t), &cfg, &p), FERRY_OK);
    assert_true(cfg.intents.enabled);
    assert_true(cfg.chains[0].router.set);
    config_free(&cfg);
    free(t);

    t = with(R, "{\"enabled\": false, \"retry_limit\": 0, \"max_pending\": 3, \"backoff_base_s\": 60, "
                "\"backoff_max_s\": 60}");
    assert_int_equal(config_parse(t, strlen(t), &cfg, &p), FERRY_OK);
    assert_false(cfg.intents.enabled);
    assert_true(cfg.intents.enabled_opt.set);
    assert_int_equal(cfg.intents.retry_limit, 0);
    assert_int_equal(cfg.intents.max_pending, 3);
    assert_int_equal(cfg.intents.backoff_base_s, 60);
    assert_int_equal(cfg.intents.backoff_max_s, 60);
    config_free(&cfg);
    free(t);

    static const struct {
        const char *router, *intents, *problem;
    } bad[] = {
        {NULL, "{\"enabled\": true}",
         "intents.enabled: true, but no chain names a router: set chains[].router where an IntentRouter is "
         "deployed"},
        {"0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0", "{\"backoff_base_s\": 301}",
         "intents.backoff_base_s: 301 is above intents.backoff_max_s (300)"},
        {NULL, "{\"enabled\": \"yes\"}", "intents.enabled: expected true or false"},
        {NULL, "{\"max_pending\": 0}", "intents.max_pending"},
        {NULL, "{\"backoff_max\": 3}", "intents.backoff_max: unknown key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = with(bad[i].router, bad[i].intents);
        memset(&p, 0, sizeof p);
        assert_int_equal(config_parse(t, strlen(t), &cfg, &p), FERRY_EINVAL);
        char *got = problems_text(&p);
        if (!strstr(got, bad[i].problem))
            fail_msg("%s: want %s, got %s", bad[i].intents, bad[i].problem, got);
        free(got);
        config_problems_free(&p);
        free(t);
    }
}

/* Every key set to something other than its default lands where it should. */
static void full_round_trip(void **state)
{
    vector_env();
    struct ferry_config cfg;
    assert_int_equal(config_load(VEC "good/full.json", &cfg, NULL), FERRY_OK);
    assert_string_equal(cfg.data_dir, "/var/lib/ferry");
    assert_int_equal(cfg.log_level, CONFIG_LOG_DEBUG);
    assert_string_equal(cfg.keystore.dir, "/etc/ferry/keys");
    assert_string_equal(cfg.keystore.password_file, "/run/secrets/keystore-password");
    assert_string_equal(cfg.api.listen.host, "::");
    assert_int_equal(cfg.api.listen.port, 8080);
    assert_false(cfg.api.listen.loopback);
    assert_true(cfg.api.allow_remote);
    assert_null(cfg.api.token_file);
    assert_string_equal(cfg.api.token_env, "FERRY_API_TOKEN");
    assert_int_equal(cfg.api.max_body_bytes, 2048);
    assert_int_equal(cfg.attesters.threshold, 2);
    assert_int_equal(cfg.attesters.addresses.n, 3);
    /* all-lowercase and all-uppercase addresses carry no checksum and are taken as they are */
    assert_addr(cfg.attesters.addresses.v[1], "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f");
    assert_addr(cfg.attesters.addresses.v[2], "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720");
    assert_int_equal(cfg.attesters.keys.n, 1);
    assert_int_equal(cfg.relayer.retry_limit, 0);
    assert_int_equal(cfg.relayer.backoff_base_ms, 1500);
    assert_int_equal(cfg.relayer.backoff_max_ms, 3600000);
    const struct ferry_chain_config *a = &cfg.chains[0], *b = &cfg.chains[1];
    assert_int_equal(a->chain_id, 9007199254740991ull);
    assert_int_equal(a->rpc.n, 3);
    /* ${VAR} is replaced from the environment in the struct; the JSON keeps the text as written */
    assert_string_equal(a->rpc.v[0], "https://user:pa55@node.example/v2/k3y");
    assert_string_equal(a->rpc.v[1], "HTTP://[::1]:8545");
    const cJSON *rpc = cJSON_GetObjectItemCaseSensitive(a->json, "rpc");
    assert_string_equal(cJSON_GetArrayItem(rpc, 0)->valuestring,
                        "https://user:${FERRY_TEST_RPC_PASSWORD}@node.example/v2/${FERRY_TEST_RPC_KEY}");
    assert_int_equal(a->rpc_timeout_ms, 100);
    assert_addr(a->vault.bytes, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
    assert_addr(a->router.bytes, "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0");
    assert_int_equal(a->confirmations, 0);
    assert_int_equal(a->poll_interval_ms, 600000);
    assert_int_equal(a->block_time_ms, 3600000);
    assert_wei(a->max_fee_per_gas, "10000000000000000");
    assert_wei(a->max_priority_fee_per_gas, "1500000000");
    assert_int_equal(a->gas_limit, 21000);
    assert_int_equal(a->replace_after_blocks, 1000);
    assert_int_equal(a->fee_bump_percent, 10);
    assert_int_equal(a->max_batch, 256);
    assert_int_equal(a->max_in_flight, 64);
    assert_string_equal(a->submitter, "sub.alpha_1");
    assert_int_equal(a->log_range_max_blocks, 1);
    assert_int_equal(a->start_block, 19000000);
    assert_wei(b->max_fee_per_gas, "21000");
    assert_wei(b->max_priority_fee_per_gas, "0");
    assert_addr(b->gateway.bytes, "0x5FbDB2315678afecb367f032d93F642f64180aa3");

    /* A chain family's adapter, handed the chain's object, reads the same values. */
    struct ferry_chain_config c;
    struct config_problems p = {0};
    assert_int_equal(config_chain_parse(a->json, "chains[0]", &c, &p), FERRY_OK);
    assert_int_equal(config_problems_count(&p), 0);
    assert_string_equal(c.name, a->name);
    assert_int_equal(c.chain_id, a->chain_id);
    assert_int_equal(c.rpc.n, a->rpc.n);
    for (size_t i = 0; i < c.rpc.n; i++)
        assert_string_equal(c.rpc.v[i], a->rpc.v[i]);
    assert_memory_equal(&c.max_fee_per_gas, &a->max_fee_per_gas, sizeof(u256));
    assert_memory_equal(&c.max_priority_fee_per_gas, &a->max_priority_fee_per_gas, sizeof(u256));
    assert_int_equal(c.poll_interval_ms, a->poll_interval_ms);
    assert_ptr_equal(c.json, a->json);
    assert_non_null(c.mem);
    config_chain_free(&c);
    assert_true(is_zero(&c, sizeof c));
    config_free(&cfg);
}

/* A chain object with every required key, one key replaced (or added): `key` set to `json_value`. */
static cJSON *chain_obj(const char *key, const char *json_value)
{
    cJSON *obj = cJSON_Parse("{\"name\": \"a\", \"kind\": \"evm\", \"chain_id\": 5, \"rpc\": [\"http://127.0.0.1:1\"], "
                             "\"gateway\": \"0x5FbDB2315678afecb367f032d93F642f64180aa3\", "
                             "\"max_fee_per_gas\": \"1000 gwei\", \"max_priority_fee_per_gas\": \"0\", "
                             "\"submitter\": \"s\"}");
    cJSON *v = cJSON_Parse(json_value);
    assert_non_null(obj);
    assert_non_null(v);
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
    else
        cJSON_AddItemToObject(obj, key, v);
    return obj;
}

static void value_forms(void **state)
{
    static const struct {
        const char *key, *value;
        uint64_t ms;
    } durations[] = {
        {"poll_interval", "\"100ms\"", 100}, {"poll_interval", "\"2s\"", 2000},
        {"poll_interval", "\"1m\"", 60000},  {"block_time", "\"1h\"", 3600000},
        {"block_time", "\"250ms\"", 250},
    };
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        cJSON *obj = chain_obj(durations[i].key, durations[i].value);
        struct ferry_chain_config c;
        assert_int_equal(config_chain_parse(obj, "", &c, NULL), FERRY_OK);
        assert_int_equal(strcmp(durations[i].key, "poll_interval") == 0 ? c.poll_interval_ms : c.block_time_ms,
                         durations[i].ms);
        config_chain_free(&c);
        cJSON_Delete(obj);
    }
    static const struct {
        const char *value, *wei;
    } fees[] = {
        {"\"7\"", "7"},
        {"\"7 wei\"", "7"},
        {"\"30gwei\"", "30000000000"},
        {"\"0.5 gwei\"", "500000000"},
        {"\"0.000000001 gwei\"", "1"},
        {"\"1.25 ether\"", "1250000000000000000"},
        {"\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"",
         "115792089237316195423570985008687907853269984665640564039457584007913129639935"},
    };
    for (size_t i = 0; i < sizeof fees / sizeof fees[0]; i++) {
        cJSON *obj = chain_obj("max_fee_per_gas", fees[i].value);
        struct ferry_chain_config c;
        assert_int_equal(config_chain_parse(obj, "", &c, NULL), FERRY_OK);
        assert_wei(c.max_fee_per_gas, fees[i].wei);
        config_chain_free(&c);
        cJSON_Delete(obj);
    }
    /* Refused amounts, each with its own message. */
    static const struct {
        const char *value, *msg;
    } bad_fees[] = {
        {"\"1.\"", "expected an amount of wei"},
        {"\".5 gwei\"", "expected an amount of wei"},
        {"\"5 \"", "expected an amount of wei"},
        {"\"5  gwei\"", "expected an amount of wei"},
        {"\"-5\"", "expected an amount of wei"},
        {"\"0x10\"", "expected an amount of wei"},
        {"\"0 gwei\"", "must be above 0"},
        {"\"1.0000000001 gwei\"", "more decimals than its unit allows (9)"},
        {"\"115792089237316195423570985008687907853269984665640564039457584007913129639936\"", "more than 2^256-1"},
        {"\"115792089237316195423570985008687907853269984665640564039457584007913129639.936 ether\"",
         "more than 2^256-1"},
    };
    for (size_t i = 0; i < sizeof bad_fees / sizeof bad_fees[0]; i++) {
        cJSON *obj = chain_obj("max_fee_per_gas", bad_fees[i].value);
        struct ferry_chain_config c;
        struct config_problems p = {0};
        assert_int_equal(config_chain_parse(obj, "", &c, &p), FERRY_EINVAL);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.v[0].path, "max_fee_per_gas");
        if (!strstr(p.v[0].msg, bad_fees[i].msg))
            fail_msg("%s: %s", bad_fees[i].value, p.v[0].msg);
        config_problems_free(&p);
        cJSON_Delete(obj);
    }
    /* A chain checked on its own reports paths under the prefix it was given. */
    struct ferry_chain_config c;
    struct config_problems p = {0};
    cJSON *obj = cJSON_Parse("{\"confirmation\": 3}");
    assert_int_equal(config_chain_parse(obj, "chains[4]", &c, &p), FERRY_EINVAL);
    assert_true(is_zero(&c, sizeof c));
    assert_string_equal(p.v[0].path, "chains[4].confirmation");
    assert_string_equal(p.v[1].path, "chains[4].name");
    config_problems_free(&p);
    assert_int_equal(config_chain_parse(obj, NULL, &c, &p), FERRY_EINVAL);
    assert_string_equal(p.v[0].path, "confirmation");
    config_problems_free(&p);
    cJSON_Delete(obj);
    obj = cJSON_Parse("[]");
    assert_int_equal(config_chain_parse(obj, "x", &c, &p), FERRY_EINVAL);
    assert_string_equal(p.v[0].path, "x");
    assert_string_equal(p.v[0].msg, "expected an object, got an array");
    config_problems_free(&p);
    cJSON_Delete(obj);
}

static const char *listen_config(const char *api)
{
    static char text[4096];
    char *base = tu_read_file(VEC "good/minimal.json", NULL);
    char *brace = strrchr(base, '}');
    assert_non_null(brace);
    *brace = '\0';
    snprintf(text, sizeof text, "%s, \"api\": %s}", base, api);
    free(base);
    return text;
}

static void listen_and_tokens(void **state)
{
    static const struct {
        const char *api, *host;
        unsigned port;
        bool loopback;
    } ok[] = {
        {"{}", "127.0.0.1", 7710, true},
        {"{\"listen\": \"127.0.0.2:1\"}", "127.0.0.2", 1, true},
        {"{\"listen\": \"localhost:65535\"}", "localhost", 65535, true},
        {"{\"listen\": \"[::1]:7710\"}", "::1", 7710, true},
        {"{\"listen\": \"10.0.0.1:7710\", \"allow_remote\": true, \"token_file\": \"/t\"}", "10.0.0.1", 7710, false},
        {"{\"listen\": \"[2001:db8::1]:80\", \"allow_remote\": true, \"token_env\": \"T\"}", "2001:db8::1", 80,
         false},
        /* allow_remote is permission, not an obligation: loopback with it is fine */
        {"{\"allow_remote\": true, \"token_env\": \"T\"}", "127.0.0.1", 7710, true},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        const char *text = listen_config(ok[i].api);
        struct ferry_config cfg;
        struct config_problems p = {0};
        if (config_parse(text, strlen(text), &cfg, &p) != FERRY_OK)
            fail_msg("%s: %s", ok[i].api, p.n ? p.v[0].msg : ferry_errmsg());
        assert_string_equal(cfg.api.listen.host, ok[i].host);
        assert_int_equal(cfg.api.listen.port, ok[i].port);
        assert_int_equal(cfg.api.listen.loopback, ok[i].loopback);
        config_free(&cfg);
    }
    static const char *const bad[] = {
        "{\"listen\": \"127.0.0.1:0\"}",       "{\"listen\": \"127.0.0.1:65536\"}", "{\"listen\": \"127.0.0.1:\"}",
        "{\"listen\": \"127.0.0.1:77x\"}",     "{\"listen\": \"[::1]\"}",           "{\"listen\": \"[::1:7710\"}",
        "{\"listen\": \"[]:7710\"}",           "{\"listen\": \"[::g]:7710\"}",      "{\"listen\": \"256.0.0.1:7710\"}",
        "{\"listen\": \"[::]:7710\"}",         "{\"listen\": 7710}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *text = listen_config(bad[i]);
        struct ferry_config cfg;
        struct config_problems p = {0};
        assert_int_equal(config_parse(text, strlen(text), &cfg, &p), FERRY_EINVAL);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.v[0].path, "api.listen");
        config_problems_free(&p);
    }
}

/* What the loader does with files it cannot use. */
static void unreadable_files(void **state)
{
    struct ferry_config cfg;
    struct config_problems p = {0};
    assert_int_equal(config_load(VEC "no-such-file.json", &cfg, &p), FERRY_EIO);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.v[0].path, "");
    assert_string_equal(p.v[0].msg, "cannot read the file: No such file or directory");
    assert_non_null(strstr(ferry_errmsg(), "no-such-file.json"));
    config_problems_free(&p);
    assert_int_equal(config_load(VEC "good", &cfg, &p), FERRY_EIO);
    assert_string_equal(p.v[0].msg, "is a directory, not a config file");
    config_problems_free(&p);
    /* NULL problems: the caller wants only the code */
    assert_int_equal(config_load(VEC "bad/types.json", &cfg, NULL), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "12 problems"));

    /* More than the size cap is refused before any parsing. */
    char path[] = "/tmp/ferry-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputc('{', f);
    for (unsigned i = 0; i < CONFIG_FILE_MAX; i++)
        fputc(' ', f);
    fputc('}', f);
    fclose(f);
    assert_int_equal(config_load(path, &cfg, &p), FERRY_EINVAL);
    assert_int_equal(p.n, 1);
    assert_non_null(strstr(p.v[0].msg, "larger than 1024 KiB"));
    config_problems_free(&p);
    unlink(path);

    /* A byte order mark is harmless; a NUL inside is not JSON. */
    char *base = tu_read_file(VEC "good/minimal.json", NULL);
    size_t bl = strlen(base);
    char *bom = malloc(bl + 3);
    memcpy(bom, "\xEF\xBB\xBF", 3);
    memcpy(bom + 3, base, bl);
    assert_int_equal(config_parse(bom, bl + 3, &cfg, NULL), FERRY_OK);
    config_free(&cfg);
    bom[3 + bl - 1] = '\0'; /* the final newline: after the object, where only whitespace may be */
    assert_int_equal(config_parse(bom + 3, bl, &cfg, &p), FERRY_EINVAL);
    assert_non_null(strstr(p.v[0].msg, "invalid JSON"));
    assert_non_null(strstr(p.v[0].msg, "a NUL byte"));
    config_problems_free(&p);
    bom[3 + bl - 2] = '\0'; /* the closing brace */
    assert_int_equal(config_parse(bom + 3, bl, &cfg, &p), FERRY_EINVAL);
    assert_non_null(strstr(p.v[0].msg, "a NUL byte"));
    config_problems_free(&p);
    /* Text that ends early, and the length limiting what is read (no NUL needed at the end). */
    assert_int_equal(config_parse(base, bl / 2, &cfg, &p), FERRY_EINVAL);
    assert_non_null(strstr(p.v[0].msg, "; the file ends "));
    config_problems_free(&p);
    free(bom);
    free(base);
}

static void problems_print_and_cap(void **state)
{
    struct config_problems p = {0};
    config_problem_add(&p, "chains[0]", "rpc[0]: from the adapter (%d)", 7);
    config_problem_add(&p, "", "whole file");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_problems_print(f, "x.json", &p);
    fclose(f);
    assert_string_equal(text, "x.json: chains[0]: rpc[0]: from the adapter (7)\nx.json: whole file\n");
    free(text);
    for (int i = 0; i < 200; i++)
        config_problem_add(&p, "k", "n %d", i);
    assert_int_equal(p.n, CONFIG_PROBLEMS_MAX);
    assert_int_equal(config_problems_count(&p), 202);
    assert_int_equal(p.dropped, 202 - CONFIG_PROBLEMS_MAX);
    config_problems_free(&p);
    assert_true(is_zero(&p, sizeof p));
    config_problems_free(NULL);
}

/* The shipped files: the devnet template and the production example are good configs. */
static void shipped_examples(void **state)
{
    struct ferry_config cfg;
    struct config_problems p = {0};
    assert_int_equal(config_load("config/devnet.template.json", &cfg, &p), FERRY_OK);
    assert_int_equal(cfg.n_chains, 3);
    static const char *const names[] = {"alpha", "beta", "gamma"};
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(cfg.chains[i].name, names[i]);
        assert_int_equal(cfg.chains[i].chain_id, 31337 + i);
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%zu", 8545 + i);
        assert_string_equal(cfg.chains[i].rpc.v[0], url);
    }
    assert_string_equal(cfg.api.listen.host, "127.0.0.1");
    assert_int_equal(cfg.api.listen.port, 7710);
    assert_string_equal(cfg.api.token_file, "build/devnet/api-token");
    config_free(&cfg);

    /* The example's RPC URLs name their secrets by environment variable. */
    unsetenv("FERRY_ALCHEMY_KEY");
    unsetenv("FERRY_INFURA_KEY");
    assert_int_equal(config_load("config/example.json", &cfg, &p), FERRY_EINVAL);
    assert_int_equal(p.n, 4);
    assert_string_equal(p.v[0].path, "chains[0].rpc[0]");
    assert_non_null(strstr(p.v[0].msg, "FERRY_ALCHEMY_KEY is not set"));
    config_problems_free(&p);
    setenv("FERRY_ALCHEMY_KEY", "alchemy-secret", 1);
    setenv("FERRY_INFURA_KEY", "infura-secret", 1);
    if (config_load("config/example.json", &cfg, &p) != FERRY_OK)
        fail_msg("config/example.json: %s", p.n ? p.v[0].msg : ferry_errmsg());
    assert_string_equal(cfg.chains[0].rpc.v[0], "https://eth-mainnet.g.alchemy.com/v2/alchemy-secret");
    assert_true(cfg.api.listen.loopback);
    config_free(&cfg);
    unsetenv("FERRY_ALCHEMY_KEY");
    unsetenv("FERRY_INFURA_KEY");
}

/* ---- docs/config.md documents every key, and only keys that exist ---- */

struct doc_row {
    char key[64], type[96], def[128];
};

struct schema_keys {
    struct config_key_info k[128];
    size_t n;
};

static void collect(void *ud, const struct config_key_info *k)
{
    struct schema_keys *s = ud;
    assert_true(s->n < 128);
    s->k[s->n++] = *k;
}

/* Trims spaces and one pair of backticks around a table cell. */
static void cell(char *out, size_t n, const char *s, size_t len)
{
    while (len && *s == ' ')
        s++, len--;
    while (len && s[len - 1] == ' ')
        len--;
    if (len >= 2 && s[0] == '`' && s[len - 1] == '`')
        s++, len -= 2;
    snprintf(out, n, "%.*s", (int)len, s);
}

static size_t doc_rows(struct doc_row *rows, size_t max)
{
    char *md = tu_read_file("docs/config.md", NULL);
    size_t n = 0;
    for (char *line = strtok(md, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "| `", 3) != 0)
            continue;
        const char *cells[5];
        size_t nc = 0;
        for (char *p = line; *p && nc < 5; p++)
            if (*p == '|')
                cells[nc++] = p + 1;
        if (nc < 5)
            fail_msg("docs/config.md: a key row needs 4 cells: %s", line);
        assert_true(n < max);
        cell(rows[n].key, sizeof rows[n].key, cells[0], (size_t)(cells[1] - cells[0] - 1));
        cell(rows[n].type, sizeof rows[n].type, cells[1], (size_t)(cells[2] - cells[1] - 1));
        cell(rows[n].def, sizeof rows[n].def, cells[2], (size_t)(cells[3] - cells[2] - 1));
        char meaning[8];
        cell(meaning, sizeof meaning, cells[3], strcspn(cells[3], "|"));
        if (!meaning[0])
            fail_msg("docs/config.md: %s has no meaning", rows[n].key);
        n++;
    }
    free(md);
    return n;
}

static void docs_cover_every_key(void **state)
{
    static struct schema_keys s;
    static struct doc_row rows[256];
    s.n = 0;
    config_keys_each(collect, &s);
    assert_true(s.n > 30);
    size_t nrows = doc_rows(rows, 256), failures = 0;
    for (size_t i = 0; i < s.n; i++) {
        const struct config_key_info *k = &s.k[i];
        size_t found = 0;
        for (size_t j = 0; j < nrows; j++) {
            if (strcmp(rows[j].key, k->path) != 0)
                continue;
            found++;
            const char *def = k->required ? "required" : k->def ? k->def : "optional";
            if (strcmp(rows[j].def, def) != 0 || strcmp(rows[j].type, k->type) != 0) {
                print_message("# docs/config.md: %s is documented as %s, default %s; the parser says %s, default %s\n",
                              k->path, rows[j].type, rows[j].def, k->type, def);
                failures++;
            }
        }
        if (found != 1) {
            print_message("# docs/config.md: %s is documented %zu times (want once)\n", k->path, found);
            failures++;
        }
    }
    for (size_t j = 0; j < nrows; j++) {
        size_t i = 0;
        while (i < s.n && strcmp(rows[j].key, s.k[i].path) != 0)
            i++;
        if (i == s.n) {
            print_message("# docs/config.md documents %s, which the parser does not accept\n", rows[j].key);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* ---- random damage to a good config: never a crash, always a verdict ---- */

static void mutations(void **state)
{
    vector_env();
    size_t len;
    char *good = tu_read_file(VEC "good/full.json", &len);
    static const char *const tokens[] = {"{", "}", "[", "]", ",", ":", "\"", "null", "-1", "1e999", "\"x\"",
                                         "\"${\"", "\\u0000", "0x", "[[[[", "\"chains\""};
    char *buf = malloc(len + 64);
    size_t ok = 0, bad = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, good, len);
        size_t n = len;
        int edits = 1 + (int)(tu_rand() % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)(tu_rand() % n);
            switch (tu_rand() % 3) {
            case 0: /* flip a byte */
                buf[at] = (char)tu_rand();
                break;
            case 1: { /* delete a run */
                size_t k = 1 + (size_t)(tu_rand() % 8);
                if (at + k > n)
                    k = n - at;
                memmove(buf + at, buf + at + k, n - at - k);
                n -= k;
                break;
            }
            default: { /* insert a token */
                const char *t = tokens[tu_rand() % (sizeof tokens / sizeof tokens[0])];
                size_t k = strlen(t);
                if (n + k > len + 63)
                    break;
                memmove(buf + at + k, buf + at, n - at);
                memcpy(buf + at, t, k);
                n += k;
                break;
            }
            }
            if (n == 0)
                break;
        }
        struct ferry_config cfg;
        struct config_problems p = {0};
        enum ferry_err e = config_parse(buf, n, &cfg, &p);
        if (e == FERRY_OK) {
            assert_int_equal(config_problems_count(&p), 0);
            assert_true(cfg.n_chains >= 2 && cfg.data_dir && cfg.chains[0].gateway.set);
            ok++;
        } else {
            assert_int_equal(e, FERRY_EINVAL);
            assert_true(config_problems_count(&p) > 0);
            assert_true(is_zero(&cfg, sizeof cfg));
            for (size_t i = 0; i < p.n; i++)
                assert_non_null(p.v[i].msg);
            bad++;
        }
        config_free(&cfg);
        config_problems_free(&p);
    }
    print_message("# mutations: %zu still good, %zu refused\n", ok, bad);
    assert_true(bad > 0);
    free(buf);
    free(good);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_vectors),
        cmocka_unit_test(good_vectors),
        cmocka_unit_test(minimal_gets_defaults),
        cmocka_unit_test(full_round_trip),
        cmocka_unit_test(intents_section),
        cmocka_unit_test(value_forms),
        cmocka_unit_test(listen_and_tokens),
        cmocka_unit_test(unreadable_files),
        cmocka_unit_test(problems_print_and_cap),
        cmocka_unit_test(shipped_examples),
        cmocka_unit_test(docs_cover_every_key),
        cmocka_unit_test(mutations),
    };
    return TU_RUN(tests);
}
