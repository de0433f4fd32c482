/* ferry start --config FILE: the daemon in the foreground (src/daemon.c). Logs go to stderr as
 * JSON lines; SIGTERM or SIGINT stops it cleanly (exit 0). */
#include <string.h>

#include "cli.h"
#include "ferry/daemon.h"

int cmd_start(int argc, char **argv)
{
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config = argv[++i];
        } else if (!strncmp(argv[i], "--config=", 9)) {
            config = argv[i] + 9;
        } else {
            cli_error("start: unexpected argument '%s'", argv[i]);
            cli_usage(stderr, "start");
            return CLI_USAGE;
        }
    }
    if (!config) {
        cli_error("start: --config FILE is required");
        cli_usage(stderr, "start");
        return CLI_USAGE;
    }
    struct daemon_options o = {.config_path = config, .err = stderr};
    return daemon_run(&o) ? CLI_FAIL : CLI_OK;
}
