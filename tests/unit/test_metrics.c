/* Metrics: registration rules, counter, gauge and histogram updates, and the exact Prometheus text. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ferry/metrics.h"
#include "testutil.h"

static char *render(struct metrics *m)
{
    struct fbuf b;
    fbuf_init(&b, 1 << 20);
    assert_int_equal(metrics_render(m, &b), FERRY_OK);
    if (!b.data)
        return strdup("");
    return (char *)fbuf_take(&b, NULL);
}

static void exposition_format(void **state)
{
    struct metrics *m;
    struct metric *tr, *g, *up;
    assert_int_equal(metrics_new(&m), FERRY_OK);
    assert_int_equal(metrics_register(m, &tr, METRIC_COUNTER, "ferry_transitions_total",
                                      "Packet state changes.", (const char *[]){"from", "to", NULL}),
                     FERRY_OK);
    assert_int_equal(metrics_register(m, &g, METRIC_GAUGE, "ferry_backlog", "Pending packets\nby chain \\ path.",
                                      (const char *[]){"chain", NULL}),
                     FERRY_OK);
    assert_int_equal(metrics_register(m, &up, METRIC_GAUGE, "ferry_up", "1 when up.", NULL), FERRY_OK);
    assert_int_equal(metric_add(tr, (const char *[]){"SENT", "DELIVERING"}, 1), FERRY_OK);
    assert_int_equal(metric_add(tr, (const char *[]){"SENT", "DELIVERING"}, 2), FERRY_OK);
    assert_int_equal(metric_add(tr, (const char *[]){"DELIVERING", "DELIVERED"}, 1), FERRY_OK);
    assert_int_equal(metric_set(g, (const char *[]){"b \"quoted\"\nline\\"}, 7), FERRY_OK);
    assert_int_equal(metric_set(g, (const char *[]){"a"}, -1.5), FERRY_OK);
    assert_int_equal(metric_set(up, NULL, 1), FERRY_OK);
    char *txt = render(m);
    assert_string_equal(txt,
                        "# HELP ferry_backlog Pending packets\\nby chain \\\\ path.\n"
                        "# TYPE ferry_backlog gauge\n"
                        "ferry_backlog{chain=\"a\"} -1.5\n"
                        "ferry_backlog{chain=\"b \\\"quoted\\\"\\nline\\\\\"} 7\n"
                        "# HELP ferry_metrics_dropped_total Metric updates refused (bad value, too many series).\n"
                        "# TYPE ferry_metrics_dropped_total counter\n"
                        "ferry_metrics_dropped_total 0\n"
                        "# HELP ferry_transitions_total Packet state changes.\n"
                        "# TYPE ferry_transitions_total counter\n"
                        "ferry_transitions_total{from=\"DELIVERING\",to=\"DELIVERED\"} 1\n"
                        "ferry_transitions_total{from=\"SENT\",to=\"DELIVERING\"} 3\n"
                        "# HELP ferry_up 1 when up.\n"
                        "# TYPE ferry_up gauge\n"
                        "ferry_up 1\n");
    free(txt);
    assert_true(metric_get(tr, (const char *[]){"SENT", "DELIVERING"}) == 3);
    assert_true(metric_get(tr, (const char *[]){"SENT", "ACKED"}) == 0);
    metrics_free(m);
}

static void values_and_specials(void **state)
{
    struct metrics *m;
    struct metric *g;
    assert_int_equal(metrics_new(&m), FERRY_OK);
    assert_int_equal(metrics_register(m, &g, METRIC_GAUGE, "v", "", (const char *[]){"k", NULL}), FERRY_OK);
    metric_set(g, (const char *[]){"a"}, 0.1);
    metric_set(g, (const char *[]){"b"}, 1e21);
    metric_set(g, (const char *[]){"c"}, INFINITY);
    metric_set(g, (const char *[]){"d"}, -INFINITY);
    metric_set(g, (const char *[]){"e"}, 123456789012.0);
    metric_set(g, (const char *[]){"f"}, NAN);
    char *txt = render(m);
    assert_non_null(strstr(txt, "v{k=\"a\"} 0.1\n"));
    assert_non_null(strstr(txt, "v{k=\"b\"} 1e+21\n"));
    assert_non_null(strstr(txt, "v{k=\"c\"} +Inf\n"));
    assert_non_null(strstr(txt, "v{k=\"d\"} -Inf\n"));
    assert_non_null(strstr(txt, "v{k=\"e\"} 123456789012\n"));
    assert_non_null(strstr(txt, "v{k=\"f\"} NaN\n"));
    free(txt);
    metrics_free(m);
}

static void registration_rules(void **state)
{
    struct metrics *m;
    struct metric *a, *b;
    assert_int_equal(metrics_new(&m), FERRY_OK);
    assert_int_equal(metrics_register(m, &a, METRIC_COUNTER, "9bad", "", NULL), FERRY_EINVAL);
    assert_null(a);
    assert_int_equal(metrics_register(m, &a, METRIC_COUNTER, "bad-name", "", NULL), FERRY_EINVAL);
    assert_int_equal(metrics_register(m, &a, METRIC_COUNTER, "ok:name_total", "", (const char *[]){"__x", NULL}),
                     FERRY_EINVAL);
    assert_int_equal(metrics_register(m, &a, METRIC_COUNTER, "ok_total", "", (const char *[]){"a:b", NULL}),
                     FERRY_EINVAL);
    assert_int_equal(metrics_register(m, &a, METRIC_COUNTER, "ok_total", "", (const char *[]){"x", "x", NULL}),
                     FERRY_EINVAL);
    assert_int_equal(
        metrics_register(m, &a, METRIC_COUNTER, "ok_total", "", (const char *[]){"a", "b", "c", "d", "e", NULL}),
        FERRY_ERANGE);
    assert_int_equal(metrics_register(m, &a, METRIC_COUNTER, "rpc_total", "h", (const char *[]){"chain", NULL}),
                     FERRY_OK);
    /* The same shape again (a second chain of one family): the same family. */
    assert_int_equal(metrics_register(m, &b, METRIC_COUNTER, "rpc_total", "h", (const char *[]){"chain", NULL}),
                     FERRY_OK);
    assert_ptr_equal(a, b);
    assert_int_equal(metrics_register(m, &b, METRIC_GAUGE, "rpc_total", "h", (const char *[]){"chain", NULL}),
                     FERRY_EEXIST);
    assert_int_equal(metrics_register(m, &b, METRIC_COUNTER, "rpc_total", "h", (const char *[]){"host", NULL}),
                     FERRY_EEXIST);
    metrics_free(m);
}

static void bad_updates_are_counted_not_applied(void **state)
{
    struct metrics *m;
    struct metric *c, *dropped;
    assert_int_equal(metrics_new(&m), FERRY_OK);
    assert_int_equal(metrics_register(m, &dropped, METRIC_COUNTER, "ferry_metrics_dropped_total",
                                      "Metric updates refused (bad value, too many series).", NULL),
                     FERRY_OK);
    assert_int_equal(metrics_register(m, &c, METRIC_COUNTER, "c_total", "", (const char *[]){"k", NULL}), FERRY_OK);
    assert_int_equal(metric_add(c, (const char *[]){"x"}, -1), FERRY_EINVAL);
    assert_int_equal(metric_set(c, (const char *[]){"x"}, 5), FERRY_EINVAL);
    assert_int_equal(metric_add(c, NULL, 1), FERRY_EINVAL);
    assert_int_equal(metric_add(c, (const char *[]){NULL}, 1), FERRY_EINVAL);
    assert_true(metric_get(c, (const char *[]){"x"}) == 0);
    assert_true(metric_get(dropped, NULL) == 4);
    /* Cardinality cap. */
    char v[32];
    for (unsigned i = 0; i < METRIC_SERIES_MAX; i++) {
        snprintf(v, sizeof v, "%u", i);
        assert_int_equal(metric_add(c, (const char *[]){v}, 1), FERRY_OK);
    }
    assert_int_equal(metric_add(c, (const char *[]){"one more"}, 1), FERRY_ERANGE);
    assert_int_equal(metric_add(c, (const char *[]){"7"}, 1), FERRY_OK); /* existing series still work */
    assert_true(metric_get(c, (const char *[]){"7"}) == 2);
    assert_true(metric_get(dropped, NULL) == 5);
    /* A NULL family (a module running without metrics) is a no-op. */
    assert_int_equal(metric_add(NULL, NULL, 1), FERRY_OK);
    metrics_free(m);
}

static int collected;
static void collect(void *ud)
{
    collected++;
    metric_clear(ud);
    metric_set(ud, (const char *[]){"now"}, collected);
}

static void collectors_run_at_render(void **state)
{
    struct metrics *m;
    struct metric *g;
    assert_int_equal(metrics_new(&m), FERRY_OK);
    assert_int_equal(metrics_register(m, &g, METRIC_GAUGE, "age", "", (const char *[]){"k", NULL}), FERRY_OK);
    metric_set(g, (const char *[]){"stale"}, 9);
    assert_int_equal(metrics_add_collector(m, collect, g), FERRY_OK);
    char *txt = render(m);
    assert_null(strstr(txt, "stale"));
    assert_non_null(strstr(txt, "age{k=\"now\"} 1\n"));
    free(txt);
    metrics_remove_collector(m, collect, g);
    txt = render(m);
    assert_int_equal(collected, 1);
    free(txt);
    metrics_free(m);
}

static void histogram_exposition(void **state)
{
    struct metrics *m;
    struct metric *h, *h2, *plain;
    assert_int_equal(metrics_new(&m), FERRY_OK);
    static const double b[] = {0.5, 1, 2.5};
    assert_int_equal(metrics_register_histogram(m, &h, "ferry_relay_seconds", "Seen to delivered.",
                                                (const char *[]){"route", NULL}, b, 3),
                     FERRY_OK);
    assert_int_equal(metrics_register_histogram(m, &plain, "ferry_plain_seconds", "No labels.", NULL, b, 1),
                     FERRY_OK);
    /* Bounds are upper bounds, inclusive: 0.5 counts in le="0.5". */
    static const double obs[] = {0.2, 0.5, 0.75, 2.5, 3, 100};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        assert_int_equal(metric_observe(h, (const char *[]){"alpha->beta"}, obs[i]), FERRY_OK);
    assert_int_equal(metric_observe(h, (const char *[]){"beta->alpha"}, 1), FERRY_OK);
    assert_int_equal(metric_observe(plain, NULL, -1), FERRY_OK); /* below every bound: the first bucket */
    char *txt = render(m);
    assert_string_equal(txt,
                        "# HELP ferry_metrics_dropped_total Metric updates refused (bad value, too many series).\n"
                        "# TYPE ferry_metrics_dropped_total counter\n"
                        "ferry_metrics_dropped_total 0\n"
                        "# HELP ferry_plain_seconds No labels.\n"
                        "# TYPE ferry_plain_seconds histogram\n"
                        "ferry_plain_seconds_bucket{le=\"0.5\"} 1\n"
                        "ferry_plain_seconds_bucket{le=\"+Inf\"} 1\n"
                        "ferry_plain_seconds_sum -1\n"
                        "ferry_plain_seconds_count 1\n"
                        "# HELP ferry_relay_seconds Seen to delivered.\n"
                        "# TYPE ferry_relay_seconds histogram\n"
                        "ferry_relay_seconds_bucket{route=\"alpha->beta\",le=\"0.5\"} 2\n"
                        "ferry_relay_seconds_bucket{route=\"alpha->beta\",le=\"1\"} 3\n"
                        "ferry_relay_seconds_bucket{route=\"alpha->beta\",le=\"2.5\"} 4\n"
                        "ferry_relay_seconds_bucket{route=\"alpha->beta\",le=\"+Inf\"} 6\n"
                        "ferry_relay_seconds_sum{route=\"alpha->beta\"} 106.95\n"
                        "ferry_relay_seconds_count{route=\"alpha->beta\"} 6\n"
                        "ferry_relay_seconds_bucket{route=\"beta->alpha\",le=\"0.5\"} 0\n"
                        "ferry_relay_seconds_bucket{route=\"beta->alpha\",le=\"1\"} 1\n"
                        "ferry_relay_seconds_bucket{route=\"beta->alpha\",le=\"2.5\"} 1\n"
                        "ferry_relay_seconds_bucket{route=\"beta->alpha\",le=\"+Inf\"} 1\n"
                        "ferry_relay_seconds_sum{route=\"beta->alpha\"} 1\n"
                        "ferry_relay_seconds_count{route=\"beta->alpha\"} 1\n");
    free(txt);
    assert_true(metric_get(h, (const char *[]){"alpha->beta"}) == 6);

    /* Registering again: the same bounds return the family; other bounds, labels or type do not. */
    assert_int_equal(metrics_register_histogram(m, &h2, "ferry_relay_seconds", "x", (const char *[]){"route", NULL},
                                                b, 3),
                     FERRY_OK);
    assert_ptr_equal(h2, h);
    static const double other[] = {0.5, 1, 5};
    assert_int_equal(metrics_register_histogram(m, &h2, "ferry_relay_seconds", "x", (const char *[]){"route", NULL},
                                                other, 3),
                     FERRY_EEXIST);
    assert_int_equal(metrics_register(m, &h2, METRIC_GAUGE, "ferry_relay_seconds", "x",
                                      (const char *[]){"route", NULL}),
                     FERRY_EEXIST);
    /* Bad declarations. */
    assert_int_equal(metrics_register(m, &h2, METRIC_HISTOGRAM, "ferry_x_seconds", "x", NULL), FERRY_EINVAL);
    assert_null(h2);
    assert_int_equal(metrics_register_histogram(m, &h2, "ferry_x_seconds", "x", NULL, b, 0), FERRY_ERANGE);
    static const double desc[] = {1, 0.5};
    assert_int_equal(metrics_register_histogram(m, &h2, "ferry_x_seconds", "x", NULL, desc, 2), FERRY_EINVAL);
    static const double dup[] = {1, 1};
    assert_int_equal(metrics_register_histogram(m, &h2, "ferry_x_seconds", "x", NULL, dup, 2), FERRY_EINVAL);
    static const double inf[] = {1, INFINITY};
    assert_int_equal(metrics_register_histogram(m, &h2, "ferry_x_seconds", "x", NULL, inf, 2), FERRY_EINVAL);
    assert_int_equal(metrics_register_histogram(m, &h2, "ferry_x_seconds", "x", (const char *[]){"le", NULL}, b, 3),
                     FERRY_EINVAL);
    assert_non_null(strstr(ferry_errmsg(), "\"le\""));

    /* Bad updates are refused and counted; the histogram is unchanged. */
    struct metric *dropped;
    assert_int_equal(metrics_register(m, &dropped, METRIC_COUNTER, "ferry_metrics_dropped_total",
                                      "Metric updates refused (bad value, too many series).", NULL),
                     FERRY_OK);
    assert_int_equal(metric_observe(h, (const char *[]){"alpha->beta"}, NAN), FERRY_EINVAL);
    assert_int_equal(metric_add(h, (const char *[]){"alpha->beta"}, 1), FERRY_EINVAL);
    assert_int_equal(metric_set(h, (const char *[]){"alpha->beta"}, 1), FERRY_EINVAL);
    assert_int_equal(metric_observe(dropped, NULL, 1), FERRY_EINVAL); /* not a histogram */
    assert_int_equal(metric_observe(h, NULL, 1), FERRY_EINVAL);       /* its label missing */
    assert_true(metric_get(h, (const char *[]){"alpha->beta"}) == 6);
    assert_true(metric_get(dropped, NULL) == 4); /* the observe on the counter itself is not counted */
    assert_int_equal(metric_observe(NULL, NULL, 1), FERRY_OK);    /* no registry: a no-op */
    metrics_free(m);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exposition_format),
        cmocka_unit_test(values_and_specials),
        cmocka_unit_test(registration_rules),
        cmocka_unit_test(bad_updates_are_counted_not_applied),
        cmocka_unit_test(collectors_run_at_render),
        cmocka_unit_test(histogram_exposition),
    };
    return TU_RUN(tests);
}
