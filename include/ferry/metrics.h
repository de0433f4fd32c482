/* Metrics: a registry of counters, gauges and histograms with labels, rendered in the Prometheus text
 * exposition format (version 0.0.4) for GET /metrics.
 *
 * A family is registered once (name, help, label names); each distinct tuple of label values
 * is a series, created on first use. Every module registers its own families in the one
 * registry the daemon owns: the engine its packet metrics, each chain adapter its RPC and
 * transaction metrics. Registering a family that exists with the same type and labels returns
 * the existing one (two chains of one family share their families and differ by a label).
 *
 * Values are doubles, as Prometheus has them. Gauges that are cheaper to compute than to keep
 * up to date (ages, backlogs) are set by a collector, called at the start of every render.
 *
 * Updates never fail loudly: a NULL family is a no-op (a module may run without metrics), and
 * a bad update (a negative counter increment, a series past the cardinality cap) returns an
 * error the caller may ignore; the registry counts those in ferry_metrics_dropped_total.
 * Single-threaded. */
#ifndef FERRY_METRICS_H
#define FERRY_METRICS_H

#include <stddef.h>

#include "ferry/buf.h"
#include "ferry/err.h"

enum metric_type {
    METRIC_COUNTER,   /* only goes up (from 0, at process start) */
    METRIC_GAUGE,     /* goes up and down */
    METRIC_HISTOGRAM, /* observations counted in buckets, with their sum (metrics_register_histogram) */
};

#define METRIC_LABELS_MAX 4        /* label names per family */
#define METRIC_SERIES_MAX 10000u   /* series per family: a label fed by outside data cannot explode */
#define METRIC_LABEL_VALUE_MAX 256 /* bytes per label value; longer values are refused */
#define METRIC_BUCKETS_MAX 32      /* upper bounds per histogram (+Inf comes on top) */

struct metrics;
struct metric;

enum ferry_err metrics_new(struct metrics **out) FERRY_WUR;
/* Frees the registry and every family; m may be NULL. Families are invalid afterwards. */
void metrics_free(struct metrics *m);

/* Registers a family. Names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
 * and may not start with "__"; `labels` is NULL-terminated (NULL: no labels). A family without
 * labels has its one series from the start, at 0. FERRY_EEXIST if the name is taken by a
 * family of another type or other labels. *out is owned by the registry. */
enum ferry_err metrics_register(struct metrics *m, struct metric **out, enum metric_type type,
                                const char *name, const char *help, const char *const *labels) FERRY_WUR;

/* Registers a histogram family: `bounds` are the buckets' upper bounds (`le`), finite and strictly
 * ascending, 1 to METRIC_BUCKETS_MAX of them; +Inf is implied. `le` may not be a label name.
 * Registering it again with the same labels and bounds returns the existing family. A histogram
 * cannot be registered through metrics_register (FERRY_EINVAL: it needs its bounds). */
enum ferry_err metrics_register_histogram(struct metrics *m, struct metric **out, const char *name, const char *help,
                                          const char *const *labels, const double *bounds,
                                          size_t nbounds) FERRY_WUR;
/* Counts v (not NaN) in the histogram's series named by `values`: in every bucket whose bound is
 * >= v (rendered cumulative, as Prometheus has them), and in its sum and count. */
enum ferry_err metric_observe(struct metric *f, const char *const *values, double v);

/* Adds v (>= 0 for counters) to the series named by `values` (one per label name, in order;
 * NULL for a family without labels), creating it at 0 first. */
enum ferry_err metric_add(struct metric *f, const char *const *values, double v);
/* Sets a gauge's series (FERRY_EINVAL on a counter). */
enum ferry_err metric_set(struct metric *f, const char *const *values, double v);
/* The value of a series (a histogram's: its count of observations), 0 if it does not exist. For
 * tests and status pages. */
double metric_get(const struct metric *f, const char *const *values);
/* Removes every series of a gauge family, for collectors that rebuild a labelled gauge from
 * scratch (a chain that went away must not keep its last value). */
void metric_clear(struct metric *f);

/* A function called at the start of every render, to set computed gauges. */
typedef void metrics_collect_fn(void *ud);
enum ferry_err metrics_add_collector(struct metrics *m, metrics_collect_fn *fn, void *ud) FERRY_WUR;
/* Removes a collector added with the same fn and ud (before ud is freed). */
void metrics_remove_collector(struct metrics *m, metrics_collect_fn *fn, void *ud);

/* Runs the collectors, then appends the exposition text to out: families by name, each with
 * its # HELP and # TYPE lines, series sorted by label values. */
enum ferry_err metrics_render(struct metrics *m, struct fbuf *out) FERRY_WUR;

/* The Content-Type to serve the rendering with. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
