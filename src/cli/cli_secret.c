/* Secrets the CLI reads (keystore passwords, the API token): always into guarded memory, from a
 * file's first line or an environment variable, never from the command line. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "ferry/keystore.h"

enum ferry_err cli_keystore_password(const struct ferry_config *cfg, const char *file, char **out, size_t *len)
{
    if (file)
        return secret_read_line(file, "password file", KEYSTORE_PASSWORD_MAX, true, out, len);
    if (cfg && cfg->keystore.password_file)
        return secret_read_line(cfg->keystore.password_file, "keystore.password_file", KEYSTORE_PASSWORD_MAX, true,
                                out, len);
    const char *env = getenv("FERRY_PASSWORD");
    if (!env)
        return ferry_fail(FERRY_EINVAL, "no keystore password: set FERRY_PASSWORD or keystore.password_file in "
                                        "the config");
    return secret_copy(env, "FERRY_PASSWORD", KEYSTORE_PASSWORD_MAX, out, len);
}

void cli_keystore_dir(const struct ferry_config *cfg, const char *dir, char *out, size_t cap)
{
    if (dir && *dir)
        snprintf(out, cap, "%s", dir);
    else if (cfg && cfg->keystore.dir)
        snprintf(out, cap, "%s", cfg->keystore.dir);
    else if (getenv("FERRY_KEYSTORE_DIR") && *getenv("FERRY_KEYSTORE_DIR"))
        snprintf(out, cap, "%s", getenv("FERRY_KEYSTORE_DIR"));
    else
        snprintf(out, cap, "%s/.ferry/keys", getenv("HOME") ? getenv("HOME") : ".");
}
