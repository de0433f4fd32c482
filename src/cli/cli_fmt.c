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
