#include "ferry/crash.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ferry_crash_point(const char *name)
{
    static unsigned seen;
    /* Read every time: a forked test child sets the variable after its parent passed here. */
    const char *want = getenv("FERRY_CRASH_AT");
    if (!want || !*want)
        return;
    size_t n = strcspn(want, "#");
    if (strlen(name) != n || strncmp(name, want, n) != 0)
        return;
    unsigned at = want[n] == '#' ? (unsigned)strtoul(want + n + 1, NULL, 10) : 1;
    if (++seen < at)
        return;
    kill(getpid(), SIGKILL);
    _exit(137); /* not reached */
}
