#include "ferry/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOGL_INFO;
static log_sink_fn *sink;
static void *sink_ud;
static uint64_t (*clock_ms)(void);
/* A sink that logs would overwrite the line being written: such nested lines are dropped. */
static bool busy;
static char line[LOG_LINE_MAX + 1];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level) { min_level = level; }
enum log_level log_get_level(void) { return min_level; }
bool log_enabled(enum log_level level) { return level >= min_level && level <= LOGL_ERROR; }

const char *log_level_name(enum log_level level)
{
    return level <= LOGL_ERROR ? level_names[level] : "unknown";
}

enum ferry_err log_level_parse(const char *s, enum log_level *out)
{
    for (enum log_level l = LOGL_DEBUG; l <= LOGL_ERROR; l++)
        if (s && strcasecmp(s, level_names[l]) == 0) {
            *out = l;
            return FERRY_OK;
        }
    if (s && strcasecmp(s, "warning") == 0) {
        *out = LOGL_WARN;
        return FERRY_OK;
    }
    return ferry_fail(FERRY_EINVAL, "log: unknown level \"%s\" (expected debug, info, warn or error)",
                      s ? s : "(null)");
}

void log_set_sink(log_sink_fn *fn, void *ud)
{
    sink = fn;
    sink_ud = ud;
}

void log_set_clock(uint64_t (*now_ms)(void)) { clock_ms = now_ms; }

static uint64_t real_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the line writer: a fixed buffer; a field that does not fit is rolled back whole ---- */

struct lw {
    size_t len;
    size_t cap;
    bool full;
};

static void put(struct lw *w, const char *s, size_t n)
{
    if (w->full || n > w->cap - w->len) {
        w->full = true;
        return;
    }
    memcpy(line + w->len, s, n);
    w->len += n;
}

static void puts_(struct lw *w, const char *s) { put(w, s, strlen(s)); }

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), 0 if ill-formed:
 * no overlong forms, no surrogates, nothing past U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* A JSON string of at most LOG_VALUE_MAX input bytes ("..." marks a cut). */
static void put_str(struct lw *w, const char *s)
{
    static const char hexd[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    bool cut = n > LOG_VALUE_MAX;
    if (cut)
        n = LOG_VALUE_MAX;
    put(w, "\"", 1);
    while (i < n) {
        unsigned char c = p[i];
        char esc[8];
        if (c < 0x80) {
            switch (c) {
            case '"': put(w, "\\\"", 2); break;
            case '\\': put(w, "\\\\", 2); break;
            case '\n': put(w, "\\n", 2); break;
            case '\r': put(w, "\\r", 2); break;
            case '\t': put(w, "\\t", 2); break;
            case '\b': put(w, "\\b", 2); break;
            case '\f': put(w, "\\f", 2); break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    memcpy(esc, "\\u00", 4);
                    esc[4] = hexd[c >> 4];
                    esc[5] = hexd[c & 15];
                    put(w, esc, 6);
                } else {
                    put(w, (const char *)&p[i], 1);
                }
            }
            i++;
            continue;
        }
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0 && cut && n - i < 4 && utf8_seq(p + i, strlen(s + i)) > 0)
            break; /* a character split by the cut: drop it rather than mangle it */
        if (k == 0) {
            put(w, "\\ufffd", 6);
            i++;
        } else {
            put(w, (const char *)&p[i], k);
            i += k;
        }
    }
    if (cut)
        put(w, "...", 3);
    put(w, "\"", 1);
}

static bool reserved_key(const char *k)
{
    return !strcmp(k, "ts") || !strcmp(k, "level") || !strcmp(k, "module") || !strcmp(k, "msg") ||
           !strcmp(k, "truncated");
}

static void put_key(struct lw *w, const char *k)
{
    put(w, ",", 1);
    if (reserved_key(k)) {
        /* A field may not shadow the envelope: "msg" becomes "_msg". */
        char tmp[64];
        snprintf(tmp, sizeof tmp, "_%s", k);
        put_str(w, tmp);
    } else {
        put_str(w, k);
    }
    put(w, ":", 1);
}

static void begin(struct lw *w, enum log_level level, const char *module, const char *msg)
{
    w->len = 0;
    w->cap = LOG_LINE_MAX - 32; /* room for ,"truncated":true}\n */
    w->full = false;
    uint64_t ms = clock_ms ? clock_ms() : real_clock_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char ts[40];
    if (!gmtime_r(&secs, &tm))
        memset(&tm, 0, sizeof tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03uZ", (unsigned)(ms % 1000));
    puts_(w, "{\"ts\":\"");
    puts_(w, ts);
    puts_(w, "\",\"level\":\"");
    puts_(w, log_level_name(level));
    puts_(w, "\",\"module\":");
    put_str(w, module ? module : "");
    puts_(w, ",\"msg\":");
    put_str(w, msg ? msg : "");
}

static void emit(struct lw *w, bool truncated)
{
    w->full = false;
    w->cap = LOG_LINE_MAX;
    if (truncated)
        puts_(w, ",\"truncated\":true");
    puts_(w, "}\n");
    if (sink) {
        sink(sink_ud, line, w->len);
        return;
    }
    size_t off = 0;
    while (off < w->len) {
        ssize_t k = write(STDERR_FILENO, line + off, w->len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return; /* nowhere left to report it */
        off += (size_t)k;
    }
}

/* Adds one field; false (and the line as it was) when it does not fit. */
static bool add_field(struct lw *w, const struct log_field *f)
{
    size_t mark = w->len;
    char num[32];
    put_key(w, f->key ? f->key : "");
    switch (f->type) {
    case LOG_FT_STR:
        if (f->v.s)
            put_str(w, f->v.s);
        else
            puts_(w, "null");
        break;
    case LOG_FT_U64:
        snprintf(num, sizeof num, "%llu", (unsigned long long)f->v.u);
        puts_(w, num);
        break;
    case LOG_FT_I64:
        snprintf(num, sizeof num, "%lld", (long long)f->v.i);
        puts_(w, num);
        break;
    case LOG_FT_BOOL:
        puts_(w, f->v.b ? "true" : "false");
        break;
    default:
        puts_(w, "null");
    }
    if (w->full) {
        w->len = mark;
        return false;
    }
    return true;
}

void log_fields(enum log_level level, const char *module, const char *msg, const struct log_field *f,
                size_t n)
{
    if (!log_enabled(level) || busy)
        return;
    busy = true;
    struct lw w;
    begin(&w, level, module, msg);
    bool truncated = false;
    for (size_t i = 0; i < n && !truncated; i++)
        truncated = !add_field(&w, &f[i]);
    emit(&w, truncated);
    busy = false;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
    if (!log_enabled(level) || busy)
        return;
    /* One byte more than put_str keeps, so that a longer message shows its cut. */
    char msg[LOG_VALUE_MAX + 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_fields(level, module, msg, NULL, 0);
}

void log_kv(enum log_level level, const char *module, const char *msg, ...)
{
    if (!log_enabled(level) || busy)
        return;
    struct log_field f[32];
    size_t n = 0;
    va_list ap;
    va_start(ap, msg);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL && n < 32) {
        const char *v = va_arg(ap, const char *);
        f[n++] = LOG_STR(k, v);
    }
    va_end(ap);
    log_fields(level, module, msg, f, n);
}
