/* Output helpers shared by the listing commands (packets, hops, intent): durations, chain names,
 * shortened hex, states coloured on a terminal. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

void cli_duration(char out[24], uint64_t s)
{
    if (s < 60)
        snprintf(out, 24, "%" PRIu64 "s", s);
    else if (s < 3600)
        snprintf(out, 24, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, 24, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(out, 24, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
}

uint64_t cli_json_u64(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v) && v->valuedouble >= 0)
        return (uint64_t)v->valuedouble;
    if (cJSON_IsString(v))
        return strtoull(v->valuestring, NULL, 10);
    return 0;
}

const char *cli_json_str(const cJSON *o, const char *k, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

const char *cli_chain_label(const struct ferry_config *cfg, uint64_t id, char buf[24])
{
    for (size_t i = 0; cfg && i < cfg->n_chains; i++)
        if (cfg->chains[i].chain_id == id)
            return cfg->chains[i].name;
    snprintf(buf, 24, "%" PRIu64, id);
    return buf;
}

const char *cli_json_chain(const struct ferry_config *cfg, const cJSON *o, const char *k, char buf[24])
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v) && v->valuedouble >= 0)
        return cli_chain_label(cfg, (uint64_t)v->valuedouble, buf);
    return "-";
}

void cli_short_hex(char *out, size_t cap, const char *s, size_t head, size_t tail)
{
    size_t n = strlen(s);
    if (n <= head + tail + 1 || strncmp(s, "0x", 2) != 0)
        snprintf(out, cap, "%s", s);
    else
        snprintf(out, cap, "%.*s…%s", (int)head, s, s + n - tail);
}

bool cli_color(void)
{
    const char *no = getenv("NO_COLOR");
    return isatty(STDOUT_FILENO) && !(no && *no);
}

/* SGR colour of a state name, by what an operator should make of it. */
static const char *state_sgr(const char *s)
{
    static const struct {
        const char *name, *sgr;
    } table[] = {
        {"COMPLETED", "32"}, {"DONE", "32"},      {"ACKED", "32"},     /* finished well: green */
        {"STUCK", "1;31"},   {"FAILED", "31"},    {"TIMED_OUT", "31"}, /* needs attention: red */
        {"PARKED", "31"},    {"REFUNDING", "33"}, {"REFUNDED", "33"},  /* money going back: yellow */
        {"CANCELLED", "2"},  {"WAITING", "2"},                         /* nothing happening: dim */
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(table[i].name, s))
            return table[i].sgr;
    return "36"; /* moving: cyan */
}

void cli_print_state(const char *s, int width, bool color)
{
    if (color)
        printf("\033[%sm%-*s\033[0m", state_sgr(s), width, s);
    else
        printf("%-*s", width, s);
}

void cli_print_json(const cJSON *j)
{
    char *s = cJSON_Print(j);
    if (s)
        puts(s);
    free(s);
}

const char *cli_config_path(const char *given)
{
    if (given)
        return given;
    return getenv("FERRY_CONFIG") ? getenv("FERRY_CONFIG") : CLI_CONFIG_DEFAULT;
}

int cli_config_load(const char *path, struct ferry_config *cfg)
{
    struct config_problems problems = {0};
    if (config_load(path, cfg, &problems)) {
        config_problems_print(stderr, path, &problems);
        config_problems_free(&problems);
        return CLI_FAIL;
    }
    config_problems_free(&problems);
    return CLI_OK;
}

/* ---- tables ---- */

enum { TABLE_COLS_MAX = 16 };

struct cli_table {
    size_t ncols, nrows, cap; /* rows with the header (row 0) */
    const char *align;        /* one 'l' or 'r' per column */
    int state_col;            /* the coloured column, -1: none */
    char **cells;             /* nrows x ncols copies */
};

struct cli_table *cli_table_new(const char *const *headers, size_t ncols, const char *align, int state_col)
{
    if (ncols == 0 || ncols > TABLE_COLS_MAX || strlen(align) != ncols)
        return NULL;
    struct cli_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->align = align;
    t->state_col = state_col;
    if (cli_table_add(t, headers)) {
        cli_table_free(t);
        return NULL;
    }
    return t;
}

enum ferry_err cli_table_add(struct cli_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
        if (!c)
            return ferry_fail(FERRY_ENOMEM, "out of memory");
        t->cells = c;
        t->cap = cap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "");
        if (!row[i]) {
            while (i > 0)
                free(row[--i]);
            return ferry_fail(FERRY_ENOMEM, "out of memory");
        }
    }
    t->nrows++;
    return FERRY_OK;
}

size_t cli_table_rows(const struct cli_table *t) { return t->nrows - 1; }

/* Columns are measured in characters, not bytes: "…" is one. */
static int text_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

void cli_table_print(const struct cli_table *t, bool color)
{
    int width[TABLE_COLS_MAX] = {0};
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            int w = text_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            int pad = width[c] - text_width(s);
            bool last = c + 1 == t->ncols;
            if (t->align[c] == 'r')
                printf("%*s", pad, "");
            if (r > 0 && (int)c == t->state_col)
                cli_print_state(s, 0, color);
            else
                fputs(s, stdout);
            if (t->align[c] != 'r' && !last)
                printf("%*s", pad, "");
            if (!last)
                fputs("  ", stdout);
        }
        fputc('\n', stdout);
    }
}

void cli_table_free(struct cli_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

void cli_short_amount(char out[32], const char *dec)
{
    size_t n = strlen(dec);
    if (n <= 12 || strspn(dec, "0123456789") != n)
        snprintf(out, 32, "%s", dec);
    else /* display only (--json has the exact figure): truncated, never rounded up */
        snprintf(out, 32, "%c.%.3se%zu", dec[0], dec + 1, n - 1);
}
