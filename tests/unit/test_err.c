/* The per-thread failure detail (src/err.c). */
#include <pthread.h>
#include <string.h>

#include "ferry/err.h"
#include "testutil.h"

/* A detail wrapped in a new message through ferry_fail's own arguments (the way a parser's
 * error becomes "field \"x\": <detail>") comes out whole. */
static void fail_may_quote_the_detail(void **state)
{
    assert_int_equal(ferry_fail(FERRY_EINVAL, "hex: expected %d bytes, got %d digits", 32, 4), FERRY_EINVAL);
    assert_int_equal(ferry_fail(FERRY_ERANGE, "record: field \"%s\": %s", "id", ferry_errmsg()), FERRY_ERANGE);
    assert_string_equal(ferry_errmsg(), "record: field \"id\": hex: expected 32 bytes, got 4 digits");
    /* Twice over, the detail at the end. */
    assert_int_equal(ferry_fail(FERRY_EINVAL, "%s (and again)", ferry_errmsg()), FERRY_EINVAL);
    assert_string_equal(ferry_errmsg(), "record: field \"id\": hex: expected 32 bytes, got 4 digits (and again)");
}

static void ctx_prefixes_and_cuts_at_the_end(void **state)
{
    ferry_fail(FERRY_EINVAL, "not a URL");
    assert_int_equal(ferry_fail_ctx(FERRY_EINVAL, "chains[%d].rpc[%d]", 1, 0), FERRY_EINVAL);
    assert_string_equal(ferry_errmsg(), "chains[1].rpc[0]: not a URL");
    ferry_err_clear();
    ferry_fail_ctx(FERRY_EINVAL, "alone");
    assert_string_equal(ferry_errmsg(), "alone");
    /* Longer than the buffer: the context (the start) is kept, the end cut, always terminated. */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ferry_fail(FERRY_EINVAL, "%s", big);
    ferry_fail_ctx(FERRY_EINVAL, "ctx");
    const char *m = ferry_errmsg();
    assert_true(strncmp(m, "ctx: xxx", 8) == 0);
    assert_true(strlen(m) < sizeof big / 2);
    ferry_fail(FERRY_EINVAL, "%s", big);
    assert_true(strlen(ferry_errmsg()) < sizeof big / 2);
}

static void *other_thread(void *arg)
{
    (void)arg;
    ferry_fail(FERRY_EIO, "from the other thread");
    return (void *)(ferry_errmsg()[0] == 'f' ? (void *)1 : NULL);
}

static void detail_is_per_thread(void **state)
{
    ferry_fail(FERRY_EINVAL, "mine");
    pthread_t t;
    void *ok = NULL;
    assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
    assert_int_equal(pthread_join(t, &ok), 0);
    assert_non_null(ok);
    assert_string_equal(ferry_errmsg(), "mine");
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fail_may_quote_the_detail),
        cmocka_unit_test(ctx_prefixes_and_cuts_at_the_end),
        cmocka_unit_test(detail_is_per_thread),
    };
    return TU_RUN(tests);
}
