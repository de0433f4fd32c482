/* Secrets from files and the environment (ferry/secret.h): the first line only, "\r\n" stripped,
 * the length cap at its exact edge, empty lines refused unless allowed, and errors that name the
 * file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/secret.h"
#include "testutil.h"

static char dir[] = "/tmp/ferry-test-secret-XXXXXX";

/* Writes `n` bytes of `text` to a file in the temporary directory; its path into out. */
static void put(char *out, size_t cap, const char *name, const char *text, size_t n)
{
    snprintf(out, cap, "%s/%s", dir, name);
    FILE *f = fopen(out, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
}

static void expect_line(const char *path, size_t max, bool allow_empty, const char *want)
{
    char *s = (char *)1;
    size_t len = 99;
    assert_int_equal(secret_read_line(path, "test secret", max, allow_empty, &s, &len), FERRY_OK);
    assert_int_equal(len, strlen(want));
    assert_string_equal(s, want);
    secret_free(s);
}

static void expect_fail(const char *path, size_t max, bool allow_empty, enum ferry_err code, const char *needle)
{
    char *s = (char *)1;
    size_t len = 99;
    assert_int_equal(secret_read_line(path, "test secret", max, allow_empty, &s, &len), code);
    assert_null(s);
    assert_int_equal(len, 0);
    if (!strstr(ferry_errmsg(), needle) || !strstr(ferry_errmsg(), "test secret"))
        fail_msg("message \"%s\" does not say \"%s\" and name the secret", ferry_errmsg(), needle);
}

static void first_line(void **state)
{
    (void)state;
    char p[128];
    put(p, sizeof p, "a", "hunter2\nsecond line\n", 20);
    expect_line(p, 64, false, "hunter2");
    put(p, sizeof p, "b", "hunter2\r\nsecond\r\n", 17);
    expect_line(p, 64, false, "hunter2");
    put(p, sizeof p, "c", "no newline", 10);
    expect_line(p, 64, false, "no newline");
    put(p, sizeof p, "d", "in\rside\n", 8); /* only a \r before the \n goes */
    expect_line(p, 64, false, "in\rside");
}

static void length_cap(void **state)
{
    (void)state;
    char p[128];
    put(p, sizeof p, "max", "12345678\r\n", 10);
    expect_line(p, 8, false, "12345678");
    put(p, sizeof p, "max-eof", "12345678", 8);
    expect_line(p, 8, false, "12345678");
    put(p, sizeof p, "over", "123456789\n", 10);
    expect_fail(p, 8, false, FERRY_ERANGE, "over 8 bytes");
    put(p, sizeof p, "over-long", "1234567890123456789\n", 20);
    expect_fail(p, 8, false, FERRY_ERANGE, p);
}

static void empty_lines(void **state)
{
    (void)state;
    char p[128];
    put(p, sizeof p, "empty", "", 0);
    expect_fail(p, 8, false, FERRY_EINVAL, "is empty");
    expect_line(p, 8, true, "");
    put(p, sizeof p, "crlf", "\r\nsecret\n", 9); /* the secret is the first line, not the first non-empty one */
    expect_fail(p, 8, false, FERRY_EINVAL, "is empty");
    expect_line(p, 8, true, "");
}

static void missing_file(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/does-not-exist", dir);
    expect_fail(p, 8, true, FERRY_EIO, "does-not-exist");
}

static void copies(void **state)
{
    (void)state;
    char *s;
    size_t len;
    assert_int_equal(secret_copy("abc", "X", 3, &s, &len), FERRY_OK);
    assert_int_equal(len, 3);
    assert_string_equal(s, "abc");
    secret_free(s);
    s = (char *)1;
    assert_int_equal(secret_copy("abcd", "THE_VAR", 3, &s, &len), FERRY_ERANGE);
    assert_null(s);
    assert_non_null(strstr(ferry_errmsg(), "THE_VAR"));
    secret_free(NULL);
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_line),   cmocka_unit_test(length_cap), cmocka_unit_test(empty_lines),
        cmocka_unit_test(missing_file), cmocka_unit_test(copies),
    };
    return cmocka_run_group_tests_name(__FILE__, tests, setup, teardown);
}
