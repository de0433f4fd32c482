/* Logging: every line is one valid JSON object (checked by parsing it back with cJSON), with
 * the envelope first, escaping right, levels filtered, and long values cut. */
#include <stdio.h>
#include <string.h>

#include "ferry/log.h"
#include "testutil.h"

struct capture {
    char buf[2][LOG_LINE_MAX + 2];
    size_t len[2];
    int lines;
};

static struct capture cap;

static void sink(void *ud, const char *line, size_t len)
{
    struct capture *c = ud;
    int i = c->lines < 2 ? c->lines : 1;
    assert_true(len <= LOG_LINE_MAX + 1);
    memcpy(c->buf[i], line, len);
    c->buf[i][len] = 0;
    c->len[i] = len;
    c->lines++;
}

static uint64_t fixed_ms(void) { return 1714564800123ull; } /* 2024-05-01T12:00:00.123Z */

static int setup(void **state)
{
    memset(&cap, 0, sizeof cap);
    log_set_sink(sink, &cap);
    log_set_clock(fixed_ms);
    log_set_level(LOGL_DEBUG);
    return 0;
}

static int teardown(void **state)
{
    log_set_sink(NULL, NULL);
    log_set_clock(NULL);
    log_set_level(LOGL_INFO);
    return 0;
}

/* Parses the last captured line; it must end in exactly one newline. */
static cJSON *last(void)
{
    int i = cap.lines > 1 ? 1 : 0;
    assert_true(cap.lines > 0);
    assert_true(cap.len[i] > 1);
    assert_int_equal(cap.buf[i][cap.len[i] - 1], '\n');
    assert_null(memchr(cap.buf[i], '\n', cap.len[i] - 1));
    cJSON *j = cJSON_ParseWithLength(cap.buf[i], cap.len[i]);
    if (!j)
        fail_msg("not JSON: %s", cap.buf[i]);
    return j;
}

static const char *str(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void envelope_and_fields(void **state)
{
    log_kv(LOGL_INFO, "engine", "packet state", "packet", "31337/5", "from", "SENT", "to", "DELIVERING", NULL);
    assert_int_equal(cap.lines, 1);
    assert_string_equal(cap.buf[0], "{\"ts\":\"2024-05-01T12:00:00.123Z\",\"level\":\"info\",\"module\":\"engine\","
                                     "\"msg\":\"packet state\",\"packet\":\"31337/5\",\"from\":\"SENT\","
                                     "\"to\":\"DELIVERING\"}\n");
    struct log_field f[] = {LOG_U64("seq", 18446744073709551615ull), LOG_I64("left", -42),
                            LOG_BOOL("ok", true), LOG_STR("none", NULL)};
    log_fields(LOGL_WARN, "rpc", "typed", f, 4);
    cJSON *j = last();
    assert_string_equal(str(j, "level"), "warn");
    assert_string_equal(str(j, "module"), "rpc");
    assert_non_null(strstr(cap.buf[1], "\"seq\":18446744073709551615,"));
    assert_int_equal(cJSON_GetObjectItem(j, "left")->valuedouble, -42);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "none")));
    cJSON_Delete(j);
}

static void escaping(void **state)
{
    log_kv(LOGL_ERROR, "x", "quote \" backslash \\ newline \n tab \t bell \a del \x7f",
           "k\"ey", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xa2", "bad", "a\xff" "b\xc3(c\xed\xa0\x80" "d\xc0\xaf", NULL);
    assert_string_equal(strstr(cap.buf[0], "\"msg\""),
                        "\"msg\":\"quote \\\" backslash \\\\ newline \\n tab \\t bell \\u0007 del \\u007f\","
                        "\"k\\\"ey\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xa2\","
                        "\"bad\":\"a\\ufffdb\\ufffd(c\\ufffd\\ufffd\\ufffdd\\ufffd\\ufffd\"}\n");
    cJSON *j = last();
    assert_string_equal(str(j, "msg"), "quote \" backslash \\ newline \n tab \t bell \a del \x7f");
    assert_string_equal(str(j, "k\"ey"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xa2");
    cJSON_Delete(j);
    /* A field cannot shadow the envelope. */
    log_kv(LOGL_INFO, "x", "real", "msg", "fake", "level", "fake", NULL);
    j = last();
    assert_string_equal(str(j, "msg"), "real");
    assert_string_equal(str(j, "_msg"), "fake");
    assert_string_equal(str(j, "level"), "info");
    cJSON_Delete(j);
}

static void random_bytes_stay_json(void **state)
{
    for (int round = 0; round < 300; round++) {
        char v[64];
        size_t n = tu_rand() % sizeof v;
        for (size_t i = 0; i < n; i++)
            v[i] = (char)(tu_rand() % 255 + 1);
        v[n] = 0;
        cap.lines = 0;
        log_kv(LOGL_INFO, "fuzz", v, "v", v, NULL);
        cJSON *j = last();
        assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "v")));
        cJSON_Delete(j);
    }
}

static void levels_filter(void **state)
{
    log_set_level(LOGL_WARN);
    assert_false(log_enabled(LOGL_INFO));
    assert_true(log_enabled(LOGL_ERROR));
    log_msg(LOGL_DEBUG, "m", "no");
    log_msg(LOGL_INFO, "m", "no");
    assert_int_equal(cap.lines, 0);
    log_msg(LOGL_WARN, "m", "yes %d", 1);
    log_msg(LOGL_ERROR, "m", "yes %d", 2);
    assert_int_equal(cap.lines, 2);
    cJSON *j = last();
    assert_string_equal(str(j, "msg"), "yes 2");
    assert_string_equal(str(j, "level"), "error");
    cJSON_Delete(j);

    enum log_level l;
    assert_int_equal(log_level_parse("DEBUG", &l), FERRY_OK);
    assert_int_equal(l, LOGL_DEBUG);
    assert_int_equal(log_level_parse("warning", &l), FERRY_OK);
    assert_int_equal(l, LOGL_WARN);
    assert_int_equal(log_level_parse("verbose", &l), FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "\"verbose\""));
    assert_string_equal(log_level_name(LOGL_ERROR), "error");
}

static void long_values_are_cut(void **state)
{
    static char big[3 * LOG_VALUE_MAX];
    memset(big, 'a', sizeof big - 1);
    /* a 2-byte character straddling the cut is dropped whole, not mangled */
    big[LOG_VALUE_MAX - 1] = (char)0xc3;
    big[LOG_VALUE_MAX] = (char)0xa9;
    log_msg(LOGL_INFO, "m", "%s", big);
    cJSON *j = last();
    const char *msg = str(j, "msg");
    assert_int_equal(strlen(msg), LOG_VALUE_MAX - 1 + 3);
    assert_string_equal(msg + LOG_VALUE_MAX - 1, "...");
    cJSON_Delete(j);

    /* Many long fields: the line stops at LOG_LINE_MAX, still JSON, and says it was truncated. */
    struct log_field f[40];
    char keys[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        f[i] = LOG_STR(keys[i], big);
    }
    cap.lines = 0;
    log_fields(LOGL_INFO, "m", "wide", f, 40);
    j = last();
    assert_true(cap.len[0] <= LOG_LINE_MAX);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "truncated")));
    assert_non_null(cJSON_GetObjectItem(j, "k0"));
    assert_null(cJSON_GetObjectItem(j, "k39"));
    cJSON_Delete(j);
}

static void real_clock_is_rfc3339(void **state)
{
    log_set_clock(NULL);
    log_msg(LOGL_INFO, "m", "now");
    cJSON *j = last();
    const char *ts = str(j, "ts");
    unsigned y, mo, d, h, mi, s, ms;
    char z;
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(sscanf(ts, "%4u-%2u-%2uT%2u:%2u:%2u.%3u%c", &y, &mo, &d, &h, &mi, &s, &ms, &z), 8);
    assert_true(y >= 2024 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && s < 61);
    assert_int_equal(z, 'Z');
    cJSON_Delete(j);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(envelope_and_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(random_bytes_stay_json, setup, teardown),
        cmocka_unit_test_setup_teardown(levels_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(long_values_are_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(real_clock_is_rfc3339, setup, teardown),
    };
    return TU_RUN(tests);
}
