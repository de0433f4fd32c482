#include "ferry/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct series {
    char **values; /* one per label name */
    double v;      /* a histogram's: the sum of its observations */
    uint64_t *buckets; /* histograms: observations per bucket, not cumulative ([nbounds]: above the last) */
    uint64_t count;    /* histograms: observations */
};

struct metric {
    struct metrics *reg;
    enum metric_type type;
    char *name;
    char *help;
    size_t nlabels;
    char *labels[METRIC_LABELS_MAX];
    struct series *s;
    size_t ns, alloc;
    double *bounds; /* histograms: the buckets' upper bounds, ascending */
    size_t nbounds;
};

struct collector {
    metrics_collect_fn *fn;
    void *ud;
};

struct metrics {
    struct metric **f;
    size_t nf, falloc;
    struct collector *c;
    size_t nc, calloc_;
    struct metric *dropped; /* updates refused: bad values, too many series */
};

static void series_free(struct series *s, size_t nlabels)
{
    for (size_t i = 0; i < nlabels; i++)
        free(s->values[i]);
    free(s->values);
    free(s->buckets);
}

static void family_free(struct metric *f)
{
    for (size_t i = 0; i < f->ns; i++)
        series_free(&f->s[i], f->nlabels);
    free(f->s);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    free(f->bounds);
    free(f);
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nf; i++)
        family_free(m->f[i]);
    free(m->f);
    free(m->c);
    free(m);
}

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static struct metric *find(struct metrics *m, const char *name)
{
    for (size_t i = 0; i < m->nf; i++)
        if (!strcmp(m->f[i]->name, name))
            return m->f[i];
    return NULL;
}

static struct series *series_find(const struct metric *f, const char *const *values)
{
    for (size_t i = 0; i < f->ns; i++) {
        size_t j = 0;
        while (j < f->nlabels && !strcmp(f->s[i].values[j], values[j]))
            j++;
        if (j == f->nlabels)
            return &f->s[i];
    }
    return NULL;
}

static void count_drop(struct metric *f)
{
    struct metric *d = f->reg->dropped;
    if (d && d != f && d->ns)
        d->s[0].v += 1;
}

/* The series for values, created at 0 if missing; NULL on a refused label set or memory. */
static struct series *series_get(struct metric *f, const char *const *values, enum ferry_err *err)
{
    static const char *const none[1] = {NULL};
    if (f->nlabels == 0)
        values = none;
    else if (!values) {
        *err = ferry_fail(FERRY_EINVAL, "metrics: %s needs %zu label values", f->name, f->nlabels);
        return NULL;
    }
    for (size_t j = 0; j < f->nlabels; j++) {
        if (!values[j] || strlen(values[j]) > METRIC_LABEL_VALUE_MAX) {
            *err = ferry_fail(FERRY_EINVAL, "metrics: %s: label %s: missing or longer than %d bytes", f->name,
                              f->labels[j], METRIC_LABEL_VALUE_MAX);
            return NULL;
        }
    }
    struct series *s = series_find(f, values);
    if (s)
        return s;
    if (f->ns >= METRIC_SERIES_MAX) {
        *err = ferry_fail(FERRY_ERANGE, "metrics: %s has %u series already", f->name, METRIC_SERIES_MAX);
        return NULL;
    }
    if (f->ns == f->alloc) {
        size_t na = f->alloc ? f->alloc * 2 : 4;
        struct series *ns = realloc(f->s, na * sizeof *ns);
        if (!ns)
            goto nomem;
        f->s = ns;
        f->alloc = na;
    }
    struct series n = {.values = calloc(f->nlabels ? f->nlabels : 1, sizeof(char *)), .v = 0};
    if (!n.values)
        goto nomem;
    if (f->type == METRIC_HISTOGRAM && !(n.buckets = calloc(f->nbounds + 1, sizeof *n.buckets))) {
        free(n.values);
        goto nomem;
    }
    for (size_t j = 0; j < f->nlabels; j++) {
        n.values[j] = strdup(values[j]);
        if (!n.values[j]) {
            series_free(&n, f->nlabels);
            goto nomem;
        }
    }
    f->s[f->ns] = n;
    return &f->s[f->ns++];
nomem:
    *err = ferry_fail(FERRY_ENOMEM, "metrics: out of memory");
    return NULL;
}

static enum ferry_err reg_add(struct metrics *m, struct metric *f)
{
    if (m->nf == m->falloc) {
        size_t na = m->falloc ? m->falloc * 2 : 16;
        struct metric **nf = realloc(m->f, na * sizeof *nf);
        if (!nf)
            return ferry_fail(FERRY_ENOMEM, "metrics: out of memory");
        m->f = nf;
        m->falloc = na;
    }
    m->f[m->nf++] = f;
    return FERRY_OK;
}

static enum ferry_err reg_family(struct metrics *m, struct metric **out, enum metric_type type, const char *name,
                                 const char *help, const char *const *labels, const double *bounds, size_t nbounds)
{
    *out = NULL;
    if (!valid_name(name, true))
        return ferry_fail(FERRY_EINVAL, "metrics: invalid metric name \"%s\"", name ? name : "(null)");
    size_t nl = 0;
    while (labels && labels[nl]) {
        if (nl == METRIC_LABELS_MAX)
            return ferry_fail(FERRY_ERANGE, "metrics: %s: more than %d labels", name, METRIC_LABELS_MAX);
        if (!valid_name(labels[nl], false) || !strncmp(labels[nl], "__", 2) ||
            (type == METRIC_HISTOGRAM && !strcmp(labels[nl], "le")))
            return ferry_fail(FERRY_EINVAL, "metrics: %s: invalid label name \"%s\"", name, labels[nl]);
        for (size_t k = 0; k < nl; k++)
            if (!strcmp(labels[k], labels[nl]))
                return ferry_fail(FERRY_EINVAL, "metrics: %s: label \"%s\" given twice", name, labels[nl]);
        nl++;
    }
    struct metric *f = find(m, name);
    if (f) {
        bool same = f->type == type && f->nlabels == nl && f->nbounds == nbounds;
        for (size_t k = 0; same && k < nl; k++)
            same = !strcmp(f->labels[k], labels[k]);
        for (size_t k = 0; same && k < nbounds; k++)
            same = f->bounds[k] == bounds[k];
        if (!same)
            return ferry_fail(FERRY_EEXIST, "metrics: %s is already registered with another type or labels",
                              name);
        *out = f;
        return FERRY_OK;
    }
    f = calloc(1, sizeof *f);
    if (!f)
        return ferry_fail(FERRY_ENOMEM, "metrics: out of memory");
    f->reg = m;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    bool ok = f->name && f->help;
    if (ok && nbounds) {
        ok = (f->bounds = malloc(nbounds * sizeof *f->bounds)) != NULL;
        if (ok) {
            memcpy(f->bounds, bounds, nbounds * sizeof *f->bounds);
            f->nbounds = nbounds;
        }
    }
    for (size_t k = 0; ok && k < nl; k++) {
        f->labels[k] = strdup(labels[k]);
        ok = f->labels[k] != NULL;
        f->nlabels = k + 1;
    }
    enum ferry_err e = FERRY_OK;
    if (ok) {
        f->nlabels = nl;
        if (nl == 0 && !series_get(f, NULL, &e))
            ok = false;
    }
    if (!ok || reg_add(m, f)) {
        family_free(f);
        return ferry_fail(FERRY_ENOMEM, "metrics: out of memory");
    }
    *out = f;
    return FERRY_OK;
}

enum ferry_err metrics_register(struct metrics *m, struct metric **out, enum metric_type type,
                                const char *name, const char *help, const char *const *labels)
{
    if (type != METRIC_COUNTER && type != METRIC_GAUGE) {
        *out = NULL;
        return ferry_fail(FERRY_EINVAL, "metrics: %s: a histogram is registered with its buckets "
                                        "(metrics_register_histogram)", name ? name : "(null)");
    }
    return reg_family(m, out, type, name, help, labels, NULL, 0);
}

enum ferry_err metrics_register_histogram(struct metrics *m, struct metric **out, const char *name, const char *help,
                                          const char *const *labels, const double *bounds, size_t nbounds)
{
    *out = NULL;
    if (!bounds || nbounds == 0 || nbounds > METRIC_BUCKETS_MAX)
        return ferry_fail(FERRY_ERANGE, "metrics: %s: a histogram needs 1 to %d bucket bounds",
                          name ? name : "(null)", METRIC_BUCKETS_MAX);
    for (size_t k = 0; k < nbounds; k++)
        if (!isfinite(bounds[k]) || (k && bounds[k] <= bounds[k - 1]))
            return ferry_fail(FERRY_EINVAL, "metrics: %s: bucket bound %zu: finite and above the one before",
                              name ? name : "(null)", k);
    return reg_family(m, out, METRIC_HISTOGRAM, name, help, labels, bounds, nbounds);
}

enum ferry_err metrics_new(struct metrics **out)
{
    *out = NULL;
    struct metrics *m = calloc(1, sizeof *m);
    if (!m)
        return ferry_fail(FERRY_ENOMEM, "metrics: out of memory");
    enum ferry_err e = metrics_register(m, &m->dropped, METRIC_COUNTER, "ferry_metrics_dropped_total",
                                        "Metric updates refused (bad value, too many series).", NULL);
    if (e) {
        metrics_free(m);
        return e;
    }
    *out = m;
    return FERRY_OK;
}

enum ferry_err metric_observe(struct metric *f, const char *const *values, double v)
{
    if (!f)
        return FERRY_OK;
    if (f->type != METRIC_HISTOGRAM || isnan(v)) {
        count_drop(f);
        return ferry_fail(FERRY_EINVAL, "metrics: %s: cannot observe %g (%s)", f->name, v,
                          f->type != METRIC_HISTOGRAM ? "not a histogram" : "not a number");
    }
    enum ferry_err e = FERRY_OK;
    struct series *s = series_get(f, values, &e);
    if (!s) {
        count_drop(f);
        return e;
    }
    size_t k = 0;
    while (k < f->nbounds && v > f->bounds[k])
        k++;
    s->buckets[k]++;
    s->count++;
    s->v += v;
    return FERRY_OK;
}

enum ferry_err metric_add(struct metric *f, const char *const *values, double v)
{
    if (!f)
        return FERRY_OK;
    if (f->type == METRIC_HISTOGRAM) {
        count_drop(f);
        return ferry_fail(FERRY_EINVAL, "metrics: %s is a histogram; observe it", f->name);
    }
    if (isnan(v) || (f->type == METRIC_COUNTER && v < 0)) {
        count_drop(f);
        return ferry_fail(FERRY_EINVAL, "metrics: %s: cannot add %g", f->name, v);
    }
    enum ferry_err e = FERRY_OK;
    struct series *s = series_get(f, values, &e);
    if (!s) {
        count_drop(f);
        return e;
    }
    s->v += v;
    return FERRY_OK;
}

enum ferry_err metric_set(struct metric *f, const char *const *values, double v)
{
    if (!f)
        return FERRY_OK;
    if (f->type != METRIC_GAUGE) {
        count_drop(f);
        return ferry_fail(FERRY_EINVAL, "metrics: %s is not a gauge; it cannot be set", f->name);
    }
    enum ferry_err e = FERRY_OK;
    struct series *s = series_get(f, values, &e);
    if (!s) {
        count_drop(f);
        return e;
    }
    s->v = v;
    return FERRY_OK;
}

double metric_get(const struct metric *f, const char *const *values)
{
    static const char *const none[1] = {NULL};
    if (!f)
        return 0;
    if (f->nlabels == 0)
        values = none;
    else if (!values)
        return 0;
    for (size_t j = 0; j < f->nlabels; j++)
        if (!values[j])
            return 0;
    const struct series *s = series_find(f, values);
    if (!s)
        return 0;
    return f->type == METRIC_HISTOGRAM ? (double)s->count : s->v;
}

void metric_clear(struct metric *f)
{
    if (!f || f->type != METRIC_GAUGE || f->nlabels == 0)
        return;
    for (size_t i = 0; i < f->ns; i++)
        series_free(&f->s[i], f->nlabels);
    f->ns = 0;
}

enum ferry_err metrics_add_collector(struct metrics *m, metrics_collect_fn *fn, void *ud)
{
    if (m->nc == m->calloc_) {
        size_t na = m->calloc_ ? m->calloc_ * 2 : 4;
        struct collector *nc = realloc(m->c, na * sizeof *nc);
        if (!nc)
            return ferry_fail(FERRY_ENOMEM, "metrics: out of memory");
        m->c = nc;
        m->calloc_ = na;
    }
    m->c[m->nc++] = (struct collector){fn, ud};
    return FERRY_OK;
}

void metrics_remove_collector(struct metrics *m, metrics_collect_fn *fn, void *ud)
{
    for (size_t i = 0; m && i < m->nc; i++)
        if (m->c[i].fn == fn && m->c[i].ud == ud) {
            memmove(&m->c[i], &m->c[i + 1], (m->nc - i - 1) * sizeof *m->c);
            m->nc--;
            return;
        }
}

/* ---- rendering ---- */

/* HELP text escapes backslash and newline; label values also escape the double quote. */
static enum ferry_err put_escaped(struct fbuf *out, const char *s, bool quote)
{
    enum ferry_err e = FERRY_OK;
    for (; *s && !e; s++) {
        if (*s == '\\')
            e = fbuf_addstr(out, "\\\\");
        else if (*s == '\n')
            e = fbuf_addstr(out, "\\n");
        else if (quote && *s == '"')
            e = fbuf_addstr(out, "\\\"");
        else
            e = fbuf_addbyte(out, (uint8_t)*s);
    }
    return e;
}

/* Shortest text that reads back as the same double; Prometheus spells the specials NaN, +Inf, -Inf. */
static void format_value(char out[40], double v)
{
    if (isnan(v)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) { /* integral and exact: no exponent */
        snprintf(out, 40, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, 40, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static const struct metric *sort_family;

static int cmp_family(const void *a, const void *b)
{
    return strcmp((*(struct metric *const *)a)->name, (*(struct metric *const *)b)->name);
}

static int cmp_series(const void *a, const void *b)
{
    const struct series *x = *(const struct series *const *)a, *y = *(const struct series *const *)b;
    for (size_t j = 0; j < sort_family->nlabels; j++) {
        int c = strcmp(x->values[j], y->values[j]);
        if (c)
            return c;
    }
    return 0;
}

/* One line: name+suffix{labels[,le="..."]} value. */
static enum ferry_err render_sample(struct fbuf *out, const struct metric *f, const char *suffix,
                                    const struct series *s, const char *le, double v)
{
    enum ferry_err e = fbuf_printf(out, "%s%s", f->name, suffix);
    for (size_t j = 0; j < f->nlabels && !e; j++) {
        e = fbuf_printf(out, "%s%s=\"", j ? "," : "{", f->labels[j]);
        if (!e)
            e = put_escaped(out, s->values[j], true);
        if (!e)
            e = fbuf_addbyte(out, '"');
    }
    if (!e && le)
        e = fbuf_printf(out, "%sle=\"%s\"", f->nlabels ? "," : "{", le);
    if (!e && (f->nlabels || le))
        e = fbuf_addbyte(out, '}');
    char num[40];
    format_value(num, v);
    if (!e)
        e = fbuf_printf(out, " %s\n", num);
    return e;
}

static enum ferry_err render_family(const struct metric *f, struct fbuf *out)
{
    enum ferry_err e = fbuf_printf(out, "# HELP %s ", f->name);
    if (!e)
        e = put_escaped(out, f->help, false);
    if (!e)
        e = fbuf_printf(out, "\n# TYPE %s %s\n", f->name,
                        f->type == METRIC_COUNTER ? "counter" : f->type == METRIC_GAUGE ? "gauge" : "histogram");
    if (e || f->ns == 0)
        return e;
    const struct series **order = malloc(f->ns * sizeof *order);
    if (!order)
        return ferry_fail(FERRY_ENOMEM, "metrics: out of memory");
    for (size_t i = 0; i < f->ns; i++)
        order[i] = &f->s[i];
    sort_family = f;
    qsort(order, f->ns, sizeof *order, cmp_series);
    for (size_t i = 0; i < f->ns && !e; i++) {
        if (f->type != METRIC_HISTOGRAM) {
            e = render_sample(out, f, "", order[i], NULL, order[i]->v);
            continue;
        }
        uint64_t cum = 0;
        for (size_t k = 0; k <= f->nbounds && !e; k++) {
            cum += order[i]->buckets[k];
            char le[40];
            if (k < f->nbounds)
                format_value(le, f->bounds[k]);
            else
                strcpy(le, "+Inf");
            e = render_sample(out, f, "_bucket", order[i], le, (double)cum);
        }
        if (!e)
            e = render_sample(out, f, "_sum", order[i], NULL, order[i]->v);
        if (!e)
            e = render_sample(out, f, "_count", order[i], NULL, (double)order[i]->count);
    }
    free(order);
    return e;
}

enum ferry_err metrics_render(struct metrics *m, struct fbuf *out)
{
    for (size_t i = 0; i < m->nc; i++)
        m->c[i].fn(m->c[i].ud);
    struct metric **order = malloc((m->nf ? m->nf : 1) * sizeof *order);
    if (!order)
        return ferry_fail(FERRY_ENOMEM, "metrics: out of memory");
    if (m->nf)
        memcpy(order, m->f, m->nf * sizeof *order);
    qsort(order, m->nf, sizeof *order, cmp_family);
    enum ferry_err e = FERRY_OK;
    for (size_t i = 0; i < m->nf && !e; i++)
        e = render_family(order[i], out);
    free(order);
    return e ? ferry_fail_ctx(e, "metrics: rendering") : FERRY_OK;
}
