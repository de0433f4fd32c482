/* ferry config check FILE | keys [--markdown] */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ferry/config.h"
#include "ferry/err.h"

static void summary(const char *file, const struct ferry_config *cfg)
{
    size_t endpoints = 0;
    printf("%s: ok\n  chains: %zu (", file, cfg->n_chains);
    for (size_t i = 0; i < cfg->n_chains; i++) {
        printf("%s%s %llu", i ? ", " : "", cfg->chains[i].name, (unsigned long long)cfg->chains[i].chain_id);
        endpoints += cfg->chains[i].rpc.n;
    }
    printf("), %zu RPC endpoint%s\n", endpoints, endpoints == 1 ? "" : "s");
    printf("  attesters: %llu-of-%zu, %zu key%s held here%s\n", (unsigned long long)cfg->attesters.threshold,
           cfg->attesters.addresses.n, cfg->attesters.keys.n, cfg->attesters.keys.n == 1 ? "" : "s",
           cfg->attesters.keys.n < cfg->attesters.threshold ? " (fewer than the threshold: the other signatures "
                                                              "must come from other attesters)"
                                                            : "");
    const struct config_listen *l = &cfg->api.listen;
    printf(strchr(l->host, ':') ? "  api: [%s]:%u" : "  api: %s:%u", l->host, (unsigned)l->port);
    printf(" (%s), ", l->loopback ? "loopback" : "remote allowed");
    if (cfg->api.token_file)
        printf("writes need the token in %s\n", cfg->api.token_file);
    else if (cfg->api.token_env)
        printf("writes need the token in $%s\n", cfg->api.token_env);
    else
        printf("read-only (no token source)\n");
    printf("  data: %s\n", cfg->data_dir);
}

static int check(const char *file)
{
    struct ferry_config cfg;
    struct config_problems problems = {0};
    enum ferry_err e = config_load(file, &cfg, &problems);
    if (e == FERRY_ENOMEM) {
        cli_error("config check");
        config_problems_free(&problems);
        return CLI_FAIL;
    }
    if (e) {
        config_problems_print(stdout, file, &problems);
        config_problems_free(&problems);
        return CLI_FAIL;
    }
    summary(file, &cfg);
    config_free(&cfg);
    return CLI_OK;
}

static void print_key(void *ud, const struct config_key_info *k)
{
    bool markdown = *(bool *)ud;
    const char *def = k->required ? "required" : k->def ? k->def : "optional";
    if (markdown)
        printf("| `%s` | %s | %s%s%s | %s |\n", k->path, k->type, k->def ? "`" : "", def, k->def ? "`" : "",
               k->doc);
    else
        printf("%-36s %s; %s%s\n    %s\n", k->path, k->type, k->def ? "default " : "", def, k->doc);
}

int cmd_config(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "check") == 0)
        return check(argv[2]);
    if (argc >= 2 && argc <= 3 && strcmp(argv[1], "keys") == 0) {
        bool markdown = argc == 3;
        if (markdown && strcmp(argv[2], "--markdown") != 0) {
            cli_usage(stderr, "config");
            return CLI_USAGE;
        }
        if (markdown)
            printf("| key | type | default | meaning |\n|---|---|---|---|\n");
        config_keys_each(print_key, &markdown);
        return CLI_OK;
    }
    cli_usage(stderr, "config");
    return CLI_USAGE;
}
