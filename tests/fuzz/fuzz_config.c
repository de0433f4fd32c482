/* libFuzzer: any bytes as a config file. The loader must never crash, must leave the config
 * zeroed whenever it reports problems, and must report at least one problem when it refuses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/config.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int env_set;
    if (!env_set) { /* the corpus uses ${FERRY_TEST_RPC_KEY} in some URLs */
        setenv("FERRY_TEST_RPC_KEY", "k3y", 1);
        env_set = 1;
    }
    struct ferry_config cfg;
    struct config_problems p = {0};
    enum ferry_err e = config_parse((const char *)data, size, &cfg, &p);
    if (e == FERRY_OK) {
        if (config_problems_count(&p) != 0 || cfg.n_chains < 2 || !cfg.data_dir)
            abort();
        for (size_t i = 0; i < cfg.n_chains; i++)
            if (!cfg.chains[i].name || !cfg.chains[i].rpc.n || !cfg.chains[i].gateway.set)
                abort();
    } else {
        static const struct ferry_config zero;
        if (config_problems_count(&p) == 0 && e == FERRY_EINVAL)
            abort();
        if (memcmp(&cfg, &zero, sizeof cfg) != 0)
            abort();
    }
    config_free(&cfg);
    config_problems_free(&p);
    return 0;
}
