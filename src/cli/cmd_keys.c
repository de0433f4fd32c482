/* Placeholder replaced by the keystore work (issue 2). */
#include "cli.h"
#include "ferry/err.h"

int cmd_keys(int argc, char **argv)
{
    ferry_err_clear();
    cli_error("keys: not built yet");
    return CLI_FAIL;
}
