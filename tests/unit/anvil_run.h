/* Starts a private anvil for a test or a benchmark and stops it after.
 *
 * Header-only because the Makefile links each test with testutil.c alone. anvil listens on
 * a port the kernel picks (--port 0), read back from its log, so that parallel runs never
 * collide and no fixed port is taken from anyone. */
#ifndef FERRY_ANVIL_RUN_H
#define FERRY_ANVIL_RUN_H

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ANVIL_BIN "scripts/toolchain/node_modules/.bin/anvil"

struct anvil_run {
    pid_t pid;
    unsigned port;
    char url[64];
    char log[64];
};

/* Returns false (and starts nothing) when the anvil binary is missing or does not come up
 * within 20 s; `why` then says which. Extra arguments (NULL-terminated) go to anvil. */
static inline bool anvil_start(struct anvil_run *a, const char **why, const char *const *extra)
{
    memset(a, 0, sizeof *a);
    *why = NULL;
    if (access(ANVIL_BIN, X_OK) != 0) {
        *why = "no " ANVIL_BIN " (run scripts/bootstrap.sh)";
        return false;
    }
    snprintf(a->log, sizeof a->log, "/tmp/ferry-anvil-XXXXXX");
    int fd = mkstemp(a->log);
    if (fd < 0) {
        *why = "cannot create a log file for anvil";
        return false;
    }
    const char *argv[24] = {"anvil", "--port", "0"};
    int n = 3;
    for (; extra && *extra && n < 22; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    a->pid = fork();
    if (a->pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        execv(ANVIL_BIN, (char *const *)argv);
        _exit(127);
    }
    close(fd);
    if (a->pid < 0) {
        *why = "fork failed";
        unlink(a->log);
        return false;
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 1000 && !a->port; i++) {
        FILE *f = fopen(a->log, "r");
        char line[256];
        while (f && fgets(line, sizeof line, f)) {
            const char *p = strstr(line, "Listening on 127.0.0.1:");
            if (p)
                a->port = (unsigned)strtoul(p + strlen("Listening on 127.0.0.1:"), NULL, 10);
        }
        if (f)
            fclose(f);
        if (!a->port) {
            int st;
            if (waitpid(a->pid, &st, WNOHANG) == a->pid) {
                a->pid = 0;
                *why = "anvil exited at start";
                unlink(a->log);
                return false;
            }
            nanosleep(&ts, NULL);
        }
    }
    if (!a->port) {
        kill(a->pid, SIGKILL);
        waitpid(a->pid, NULL, 0);
        unlink(a->log);
        *why = "anvil did not say where it listens within 20 s";
        return false;
    }
    snprintf(a->url, sizeof a->url, "http://127.0.0.1:%u/", a->port);
    return true;
}

static inline void anvil_stop(struct anvil_run *a)
{
    if (a->pid > 0) {
        kill(a->pid, SIGTERM);
        int st;
        for (int i = 0; i < 200 && waitpid(a->pid, &st, WNOHANG) == 0; i++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (waitpid(a->pid, &st, WNOHANG) == 0) {
            kill(a->pid, SIGKILL);
            waitpid(a->pid, &st, 0);
        }
    }
    a->pid = 0;
    if (a->log[0])
        unlink(a->log);
}

#endif
