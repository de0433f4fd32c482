/* The daemon's one event loop: one thread, one poll(), no thread per chain.
 *
 * Everything that waits goes through here:
 *   - libcurl transfers (every JSON-RPC call) through the multi "socket" interface:
 *     the loop owns the only CURLM handle and polls curl's sockets itself;
 *   - fd watchers (the signal self-pipe, any socket a module owns);
 *   - sources: a module that hands over a set of fds and a timeout before every wait and is
 *     told what became ready after it (libmicrohttpd driven externally: MHD_get_fdset2 /
 *     MHD_get_timeout in prepare, MHD_run_from_select in dispatch);
 *   - timers on the monotonic clock, one-shot or repeating;
 *   - work deferred to the end of the current turn, and hooks that run at the end of
 *     every turn (the store group-commits there).
 *
 * One turn (loop_run_once): wait in poll() until something is ready or the earliest deadline
 * passes, then dispatch in this order: curl (sockets, timeouts, finished transfers), fd
 * watchers, sources, due timers, deferred work, end-of-turn hooks.
 *
 * Why not curl_multi_poll() with extra fds, as the first design said: curl reports only
 * POLLIN/POLLOUT/POLLPRI for the extra fds and drops POLLHUP/POLLERR/POLLNVAL, so a hung-up
 * pipe or a closed socket would wake the loop forever without its owner ever hearing of it.
 * Owning poll() and driving curl with curl_multi_socket_action() gives every fd its full
 * readiness and costs one small table of curl's sockets.
 *
 * The watcher structs below are embedded in their owners (no allocation, so arming a timer
 * cannot fail). Their fields are private to loop.c. Every callback may start, stop or free
 * (after stopping) any watcher, including its own. Not thread-safe: one loop, one thread. */
#ifndef FERRY_LOOP_H
#define FERRY_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "ferry/err.h"

struct loop;

/* Readiness bits for fd watchers and sources. LOOP_ERR is only ever reported, never
 * requested: an error, a hang-up or an invalid fd. */
enum {
    LOOP_IN = 1,
    LOOP_OUT = 2,
    LOOP_ERR = 4,
};

/* Monotonic milliseconds since an arbitrary origin (CLOCK_MONOTONIC). */
uint64_t loop_clock_ms(void);

/* Creates a loop (and its curl multi handle). */
enum ferry_err loop_new(struct loop **out) FERRY_WUR;
/* Frees the loop. Every watcher must have been stopped and every transfer finished or
 * cancelled by its owner first; signal handlers installed by loop_stop_on_signals are
 * restored. */
void loop_free(struct loop *loop);

/* The loop's clock: monotonic ms, read once when a turn wakes up, so that everything
 * dispatched in one turn sees the same "now". */
uint64_t loop_now(const struct loop *loop);
/* Re-reads the clock (after something slow inside a callback). */
uint64_t loop_update_now(struct loop *loop);

/* Runs one turn, waiting at most max_wait_ms (negative: until something happens).
 * Returns FERRY_OK, or FERRY_EIO / FERRY_ENOMEM when poll or curl failed. */
enum ferry_err loop_run_once(struct loop *loop, int64_t max_wait_ms) FERRY_WUR;
/* Runs turns until loop_stop() (from a callback or a caught signal). */
enum ferry_err loop_run(struct loop *loop) FERRY_WUR;
/* Makes loop_run return after the current turn. */
void loop_stop(struct loop *loop);
bool loop_stopped(const struct loop *loop);
/* Clears the stopped flag (and the recorded signal) so the loop can run again. */
void loop_restart(struct loop *loop);

/* Catches SIGINT and SIGTERM through a self-pipe watched by the loop: the first one stops
 * the loop after the turn in which it is seen. Only one loop per process may do this. */
enum ferry_err loop_stop_on_signals(struct loop *loop) FERRY_WUR;
/* The signal that stopped the loop, or 0. */
int loop_stop_signal(const struct loop *loop);

/* ---- timers ---- */

struct loop_timer;
typedef void (*loop_timer_fn)(struct loop_timer *t, void *ud);

struct loop_timer {
    struct loop *loop;
    loop_timer_fn fn;
    void *ud;
    uint64_t deadline; /* loop clock ms */
    uint64_t repeat;   /* 0: one-shot */
    uint64_t seq;      /* arming order: ties fire in the order they were armed */
    struct loop_timer *prev, *next;
    bool armed;
};

void loop_timer_init(struct loop *loop, struct loop_timer *t, loop_timer_fn fn, void *ud);
/* Arms (or re-arms) the timer to fire delay_ms from loop_now(), then every repeat_ms when
 * repeat_ms > 0. A repeating timer that falls behind skips the missed ticks. A timer armed
 * from a timer callback never fires in the same turn, so a zero delay cannot spin. */
void loop_timer_start(struct loop_timer *t, uint64_t delay_ms, uint64_t repeat_ms);
void loop_timer_stop(struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);

/* ---- fd watchers ---- */

struct loop_fd;
/* revents: LOOP_IN / LOOP_OUT / LOOP_ERR. */
typedef void (*loop_fd_fn)(struct loop_fd *w, int fd, unsigned revents, void *ud);

struct loop_fd {
    struct loop *loop;
    loop_fd_fn fn;
    void *ud;
    int fd;
    unsigned events;
    unsigned pending; /* readiness seen this turn, not yet dispatched */
    struct loop_fd *prev, *next;
    bool active;
};

void loop_fd_init(struct loop *loop, struct loop_fd *w, int fd, unsigned events, loop_fd_fn fn, void *ud);
void loop_fd_start(struct loop_fd *w);
/* Changes what the watcher waits for (takes effect at the next wait). */
void loop_fd_set_events(struct loop_fd *w, unsigned events);
void loop_fd_stop(struct loop_fd *w);

/* ---- sources: modules that bring their own fd set and timeout (libmicrohttpd) ---- */

struct loop_pollfd {
    int fd;
    unsigned events;  /* asked for in prepare */
    unsigned revents; /* seen by the wait */
};

struct loop_source;
/* Before each wait: call loop_source_watch() for every fd of interest and lower *timeout_ms
 * when the source needs to run sooner (it starts at -1, "no opinion"). A failure ends the
 * turn with that error. */
typedef enum ferry_err (*loop_prepare_fn)(struct loop_source *s, void *ud, int64_t *timeout_ms);
/* After each wait, with the fds the source watched this turn (revents may all be 0 when
 * the source's timeout, or something else, ended the wait). */
typedef void (*loop_dispatch_fn)(struct loop_source *s, void *ud, const struct loop_pollfd *fds, size_t n);

struct loop_source {
    struct loop *loop;
    loop_prepare_fn prepare;
    loop_dispatch_fn dispatch;
    void *ud;
    size_t first, count; /* this turn's slice of the loop's poll set */
    struct loop_source *prev, *next;
    bool active, pending;
};

void loop_source_init(struct loop *loop, struct loop_source *s, loop_prepare_fn prepare, loop_dispatch_fn dispatch,
                      void *ud);
void loop_source_start(struct loop_source *s);
void loop_source_stop(struct loop_source *s);
/* Only from inside the source's prepare callback. */
enum ferry_err loop_source_watch(struct loop_source *s, int fd, unsigned events) FERRY_WUR;

/* ---- end of turn ---- */

struct loop_defer;
typedef void (*loop_defer_fn)(struct loop_defer *d, void *ud);

/* One-shot work for the end of the current turn (or of the next one, when queued while the
 * deferred work of this turn is already running). Queued work makes the next wait zero. */
struct loop_defer {
    struct loop *loop;
    loop_defer_fn fn;
    void *ud;
    uint64_t seq;
    struct loop_defer *prev, *next;
    bool queued;
};

void loop_defer_init(struct loop *loop, struct loop_defer *d, loop_defer_fn fn, void *ud);
/* Queues d unless it is already queued. */
void loop_defer(struct loop_defer *d);
void loop_defer_cancel(struct loop_defer *d);

/* A hook runs once at the end of every turn, after the deferred work, in the order the
 * hooks were started. */
struct loop_hook;
typedef void (*loop_hook_fn)(struct loop_hook *h, void *ud);

struct loop_hook {
    struct loop *loop;
    loop_hook_fn fn;
    void *ud;
    struct loop_hook *prev, *next;
    bool active, due;
};

void loop_hook_init(struct loop *loop, struct loop_hook *h, loop_hook_fn fn, void *ud);
void loop_hook_start(struct loop_hook *h);
void loop_hook_stop(struct loop_hook *h);

/* ---- curl transfers ---- */

struct loop_xfer;
/* Called once when the transfer ends (result is curl's code); the easy handle has already
 * been removed from the multi handle and belongs to the caller again. */
typedef void (*loop_xfer_fn)(struct loop_xfer *x, CURLcode result, void *ud);

struct loop_xfer {
    struct loop *loop;
    CURL *easy;
    loop_xfer_fn fn;
    void *ud;
    bool running;
};

/* Starts a configured easy handle on the loop's multi handle. CURLOPT_PRIVATE is taken by
 * the loop. The handle may be reused for another transfer after completion (keep-alive). */
enum ferry_err loop_xfer_start(struct loop *loop, struct loop_xfer *x, CURL *easy, loop_xfer_fn fn,
                               void *ud) FERRY_WUR;
/* Aborts a running transfer without calling its callback. */
void loop_xfer_cancel(struct loop_xfer *x);
/* Transfers currently running on the loop. */
size_t loop_xfer_count(const struct loop *loop);

#endif
