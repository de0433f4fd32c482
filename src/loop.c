#include "ferry/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What one entry of this turn's poll set belongs to. */
enum tag_kind { TAG_CURL, TAG_FD, TAG_SOURCE };

struct tag {
    enum tag_kind kind;
    void *ptr;    /* struct loop_fd * for TAG_FD */
    size_t index; /* into src_fds for TAG_SOURCE */
};

struct curl_sock {
    curl_socket_t fd;
    unsigned events; /* LOOP_IN / LOOP_OUT */
};

struct loop {
    CURLM *multi;
    uint64_t now;
    bool stopped;
    int stop_signal;

    struct loop_timer *timers, *timers_tail; /* sorted by (deadline, seq) */
    uint64_t timer_seq;
    struct loop_fd *fds;
    struct loop_source *sources;
    struct loop_hook *hooks, *hooks_tail;
    struct loop_defer *defers, *defers_tail;
    uint64_t defer_seq;

    /* curl's sockets and timer, as told by its callbacks */
    struct curl_sock *csocks;
    size_t ncsocks, csocks_cap;
    bool curl_timer_set;
    uint64_t curl_deadline;
    size_t xfers;

    /* this turn's poll set */
    struct pollfd *pfds;
    struct tag *tags;
    size_t npfds, pfds_cap;
    struct loop_pollfd *src_fds;
    size_t nsrc_fds, src_fds_cap;
    bool preparing;

    /* signals */
    int sigpipe[2];
    struct loop_fd sigw;
    bool signals;
    struct sigaction old_int, old_term;
};

static int curl_users;
static volatile sig_atomic_t sig_write_fd = -1;

uint64_t loop_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t loop_now(const struct loop *loop) { return loop->now; }

uint64_t loop_update_now(struct loop *loop)
{
    loop->now = loop_clock_ms();
    return loop->now;
}

/* ---- curl's callbacks: which sockets to watch, when to call back ---- */

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct loop *loop = userp;
    size_t i;
    for (i = 0; i < loop->ncsocks; i++)
        if (loop->csocks[i].fd == s)
            break;
    if (what == CURL_POLL_REMOVE) {
        if (i < loop->ncsocks)
            loop->csocks[i] = loop->csocks[--loop->ncsocks];
        return 0;
    }
    if (i == loop->ncsocks) {
        if (loop->ncsocks == loop->csocks_cap) {
            size_t cap = loop->csocks_cap ? loop->csocks_cap * 2 : 16;
            struct curl_sock *p = realloc(loop->csocks, cap * sizeof *p);
            if (!p)
                return -1; /* curl fails the transfer that wanted this socket */
            loop->csocks = p;
            loop->csocks_cap = cap;
        }
        loop->csocks[loop->ncsocks++].fd = s;
    }
    unsigned ev = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        ev |= LOOP_IN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        ev |= LOOP_OUT;
    loop->csocks[i].events = ev;
    return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct loop *loop = userp;
    if (timeout_ms < 0) {
        loop->curl_timer_set = false;
    } else {
        loop->curl_timer_set = true;
        loop->curl_deadline = loop->now + (uint64_t)timeout_ms;
    }
    return 0;
}

enum ferry_err loop_new(struct loop **out)
{
    *out = NULL;
    struct loop *loop = calloc(1, sizeof *loop);
    if (!loop)
        return ferry_fail(FERRY_ENOMEM, "loop: out of memory");
    loop->sigpipe[0] = loop->sigpipe[1] = -1;
    if (curl_users == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(loop);
        return ferry_fail(FERRY_EIO, "loop: curl_global_init failed");
    }
    curl_users++;
    loop->multi = curl_multi_init();
    if (!loop->multi) {
        loop_free(loop);
        return ferry_fail(FERRY_ENOMEM, "loop: curl_multi_init failed");
    }
    curl_multi_setopt(loop->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(loop->multi, CURLMOPT_SOCKETDATA, loop);
    curl_multi_setopt(loop->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(loop->multi, CURLMOPT_TIMERDATA, loop);
    loop->now = loop_clock_ms();
    *out = loop;
    return FERRY_OK;
}

static void signals_restore(struct loop *loop)
{
    if (!loop->signals)
        return;
    sigaction(SIGINT, &loop->old_int, NULL);
    sigaction(SIGTERM, &loop->old_term, NULL);
    sig_write_fd = -1;
    loop_fd_stop(&loop->sigw);
    close(loop->sigpipe[0]);
    close(loop->sigpipe[1]);
    loop->sigpipe[0] = loop->sigpipe[1] = -1;
    loop->signals = false;
}

void loop_free(struct loop *loop)
{
    if (!loop)
        return;
    signals_restore(loop);
    if (loop->multi)
        curl_multi_cleanup(loop->multi);
    if (--curl_users == 0)
        curl_global_cleanup();
    free(loop->csocks);
    free(loop->pfds);
    free(loop->tags);
    free(loop->src_fds);
    free(loop);
}

void loop_stop(struct loop *loop) { loop->stopped = true; }
bool loop_stopped(const struct loop *loop) { return loop->stopped; }
int loop_stop_signal(const struct loop *loop) { return loop->stop_signal; }

void loop_restart(struct loop *loop)
{
    loop->stopped = false;
    loop->stop_signal = 0;
}

/* ---- signals through a self-pipe ---- */

static void on_signal(int signo)
{
    int saved = errno;
    int fd = sig_write_fd;
    if (fd >= 0) {
        unsigned char b = (unsigned char)signo;
        ssize_t w = write(fd, &b, 1);
        (void)w; /* a full pipe already holds a pending signal */
    }
    errno = saved;
}

static void on_signal_pipe(struct loop_fd *w, int fd, unsigned revents, void *ud)
{
    struct loop *loop = ud;
    unsigned char buf[64];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (!loop->stop_signal)
            loop->stop_signal = buf[0];
    loop_stop(loop);
}

static int set_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

enum ferry_err loop_stop_on_signals(struct loop *loop)
{
    if (loop->signals)
        return FERRY_OK;
    if (sig_write_fd >= 0)
        return ferry_fail(FERRY_ESTATE, "loop: another loop already catches signals");
    if (pipe(loop->sigpipe) != 0)
        return ferry_fail(FERRY_EIO, "loop: pipe: %s", strerror(errno));
    if (set_nonblock_cloexec(loop->sigpipe[0]) || set_nonblock_cloexec(loop->sigpipe[1])) {
        int e = errno;
        close(loop->sigpipe[0]);
        close(loop->sigpipe[1]);
        loop->sigpipe[0] = loop->sigpipe[1] = -1;
        return ferry_fail(FERRY_EIO, "loop: fcntl on the signal pipe: %s", strerror(e));
    }
    sig_write_fd = loop->sigpipe[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &loop->old_int);
    sigaction(SIGTERM, &sa, &loop->old_term);
    loop_fd_init(loop, &loop->sigw, loop->sigpipe[0], LOOP_IN, on_signal_pipe, loop);
    loop_fd_start(&loop->sigw);
    loop->signals = true;
    return FERRY_OK;
}

/* ---- timers: a sorted intrusive list; new timers usually go near the tail ---- */

static bool timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void timer_unlink(struct loop_timer *t)
{
    struct loop *loop = t->loop;
    if (t->prev)
        t->prev->next = t->next;
    else
        loop->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        loop->timers_tail = t->prev;
    t->prev = t->next = NULL;
    t->armed = false;
}

static void timer_insert(struct loop_timer *t)
{
    struct loop *loop = t->loop;
    t->seq = ++loop->timer_seq;
    struct loop_timer *after = loop->timers_tail;
    while (after && timer_before(t, after))
        after = after->prev;
    t->prev = after;
    t->next = after ? after->next : loop->timers;
    if (t->next)
        t->next->prev = t;
    else
        loop->timers_tail = t;
    if (after)
        after->next = t;
    else
        loop->timers = t;
    t->armed = true;
}

void loop_timer_init(struct loop *loop, struct loop_timer *t, loop_timer_fn fn, void *ud)
{
    memset(t, 0, sizeof *t);
    t->loop = loop;
    t->fn = fn;
    t->ud = ud;
}

void loop_timer_start(struct loop_timer *t, uint64_t delay_ms, uint64_t repeat_ms)
{
    if (t->armed)
        timer_unlink(t);
    t->deadline = t->loop->now + delay_ms;
    t->repeat = repeat_ms;
    timer_insert(t);
}

void loop_timer_stop(struct loop_timer *t)
{
    if (t->armed)
        timer_unlink(t);
}

bool loop_timer_armed(const struct loop_timer *t) { return t->armed; }

static void run_timers(struct loop *loop)
{
    uint64_t phase = loop->timer_seq;
    struct loop_timer *t;
    while ((t = loop->timers) && t->deadline <= loop->now && t->seq <= phase) {
        timer_unlink(t);
        if (t->repeat) {
            uint64_t next = t->deadline + t->repeat;
            if (next <= loop->now)
                next = loop->now + t->repeat;
            t->deadline = next;
            timer_insert(t);
        }
        t->fn(t, t->ud);
    }
}

/* ---- fd watchers ---- */

void loop_fd_init(struct loop *loop, struct loop_fd *w, int fd, unsigned events, loop_fd_fn fn, void *ud)
{
    memset(w, 0, sizeof *w);
    w->loop = loop;
    w->fd = fd;
    w->events = events & (LOOP_IN | LOOP_OUT);
    w->fn = fn;
    w->ud = ud;
}

void loop_fd_start(struct loop_fd *w)
{
    if (w->active)
        return;
    struct loop *loop = w->loop;
    w->prev = NULL;
    w->next = loop->fds;
    if (loop->fds)
        loop->fds->prev = w;
    loop->fds = w;
    w->active = true;
    w->pending = 0;
}

void loop_fd_set_events(struct loop_fd *w, unsigned events) { w->events = events & (LOOP_IN | LOOP_OUT); }

void loop_fd_stop(struct loop_fd *w)
{
    if (!w->active)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        w->loop->fds = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->active = false;
    w->pending = 0;
}

/* ---- sources ---- */

void loop_source_init(struct loop *loop, struct loop_source *s, loop_prepare_fn prepare, loop_dispatch_fn dispatch,
                      void *ud)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->prepare = prepare;
    s->dispatch = dispatch;
    s->ud = ud;
}

void loop_source_start(struct loop_source *s)
{
    if (s->active)
        return;
    struct loop *loop = s->loop;
    /* Appended, so sources are prepared and dispatched in the order they were started. */
    struct loop_source **pp = &loop->sources, *prev = NULL;
    while (*pp) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    s->prev = prev;
    s->next = NULL;
    *pp = s;
    s->active = true;
    s->pending = false;
    s->count = 0;
}

void loop_source_stop(struct loop_source *s)
{
    if (!s->active)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        s->loop->sources = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    s->active = false;
    s->pending = false;
}

enum ferry_err loop_source_watch(struct loop_source *s, int fd, unsigned events)
{
    struct loop *loop = s->loop;
    if (!loop->preparing)
        return ferry_fail(FERRY_ESTATE, "loop: loop_source_watch outside of prepare");
    if (fd < 0)
        return ferry_fail(FERRY_EINVAL, "loop: source watches fd %d", fd);
    if (loop->nsrc_fds == loop->src_fds_cap) {
        size_t cap = loop->src_fds_cap ? loop->src_fds_cap * 2 : 16;
        struct loop_pollfd *p = realloc(loop->src_fds, cap * sizeof *p);
        if (!p)
            return ferry_fail(FERRY_ENOMEM, "loop: out of memory growing the poll set");
        loop->src_fds = p;
        loop->src_fds_cap = cap;
    }
    loop->src_fds[loop->nsrc_fds++] = (struct loop_pollfd){fd, events & (LOOP_IN | LOOP_OUT), 0};
    s->count++;
    return FERRY_OK;
}

/* ---- end of turn ---- */

void loop_defer_init(struct loop *loop, struct loop_defer *d, loop_defer_fn fn, void *ud)
{
    memset(d, 0, sizeof *d);
    d->loop = loop;
    d->fn = fn;
    d->ud = ud;
}

void loop_defer(struct loop_defer *d)
{
    if (d->queued)
        return;
    struct loop *loop = d->loop;
    d->seq = ++loop->defer_seq;
    d->next = NULL;
    d->prev = loop->defers_tail;
    if (loop->defers_tail)
        loop->defers_tail->next = d;
    else
        loop->defers = d;
    loop->defers_tail = d;
    d->queued = true;
}

void loop_defer_cancel(struct loop_defer *d)
{
    if (!d->queued)
        return;
    struct loop *loop = d->loop;
    if (d->prev)
        d->prev->next = d->next;
    else
        loop->defers = d->next;
    if (d->next)
        d->next->prev = d->prev;
    else
        loop->defers_tail = d->prev;
    d->prev = d->next = NULL;
    d->queued = false;
}

static void run_defers(struct loop *loop)
{
    uint64_t phase = loop->defer_seq;
    struct loop_defer *d;
    while ((d = loop->defers) && d->seq <= phase) {
        loop_defer_cancel(d);
        d->fn(d, d->ud);
    }
}

void loop_hook_init(struct loop *loop, struct loop_hook *h, loop_hook_fn fn, void *ud)
{
    memset(h, 0, sizeof *h);
    h->loop = loop;
    h->fn = fn;
    h->ud = ud;
}

void loop_hook_start(struct loop_hook *h)
{
    if (h->active)
        return;
    struct loop *loop = h->loop;
    h->next = NULL;
    h->prev = loop->hooks_tail;
    if (loop->hooks_tail)
        loop->hooks_tail->next = h;
    else
        loop->hooks = h;
    loop->hooks_tail = h;
    h->active = true;
    h->due = false;
}

void loop_hook_stop(struct loop_hook *h)
{
    if (!h->active)
        return;
    struct loop *loop = h->loop;
    if (h->prev)
        h->prev->next = h->next;
    else
        loop->hooks = h->next;
    if (h->next)
        h->next->prev = h->prev;
    else
        loop->hooks_tail = h->prev;
    h->prev = h->next = NULL;
    h->active = false;
    h->due = false;
}

static void run_hooks(struct loop *loop)
{
    for (struct loop_hook *h = loop->hooks; h; h = h->next)
        h->due = true;
    /* Rescanned from the head after each call: a hook may stop any other hook. */
    for (;;) {
        struct loop_hook *h = loop->hooks;
        while (h && !h->due)
            h = h->next;
        if (!h)
            break;
        h->due = false;
        h->fn(h, h->ud);
    }
}

/* ---- curl transfers ---- */

enum ferry_err loop_xfer_start(struct loop *loop, struct loop_xfer *x, CURL *easy, loop_xfer_fn fn, void *ud)
{
    x->loop = loop;
    x->easy = easy;
    x->fn = fn;
    x->ud = ud;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *)x);
    CURLMcode mc = curl_multi_add_handle(loop->multi, easy);
    if (mc != CURLM_OK)
        return ferry_fail(FERRY_EIO, "loop: curl_multi_add_handle: %s", curl_multi_strerror(mc));
    x->running = true;
    loop->xfers++;
    return FERRY_OK;
}

void loop_xfer_cancel(struct loop_xfer *x)
{
    if (!x->running)
        return;
    curl_multi_remove_handle(x->loop->multi, x->easy);
    x->running = false;
    x->loop->xfers--;
}

size_t loop_xfer_count(const struct loop *loop) { return loop->xfers; }

static void finish_transfers(struct loop *loop)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(loop->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode rc = m->data.result;
        char *priv = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        struct loop_xfer *x = (struct loop_xfer *)(void *)priv;
        curl_multi_remove_handle(loop->multi, easy);
        if (!x || !x->running)
            continue;
        x->running = false;
        loop->xfers--;
        x->fn(x, rc, x->ud);
    }
}

/* ---- one turn ---- */

static enum ferry_err pfd_add(struct loop *loop, int fd, unsigned events, enum tag_kind kind, void *ptr, size_t index)
{
    if (loop->npfds == loop->pfds_cap) {
        size_t cap = loop->pfds_cap ? loop->pfds_cap * 2 : 32;
        struct pollfd *p = realloc(loop->pfds, cap * sizeof *p);
        if (!p)
            return ferry_fail(FERRY_ENOMEM, "loop: out of memory growing the poll set");
        loop->pfds = p;
        struct tag *t = realloc(loop->tags, cap * sizeof *t);
        if (!t)
            return ferry_fail(FERRY_ENOMEM, "loop: out of memory growing the poll set");
        loop->tags = t;
        loop->pfds_cap = cap;
    }
    short ev = 0;
    if (events & LOOP_IN)
        ev |= POLLIN;
    if (events & LOOP_OUT)
        ev |= POLLOUT;
    loop->pfds[loop->npfds] = (struct pollfd){.fd = fd, .events = ev, .revents = 0};
    loop->tags[loop->npfds] = (struct tag){kind, ptr, index};
    loop->npfds++;
    return FERRY_OK;
}

static unsigned revents_of(short r)
{
    unsigned ev = 0;
    if (r & (POLLIN | POLLPRI))
        ev |= LOOP_IN;
    if (r & POLLOUT)
        ev |= LOOP_OUT;
    if (r & (POLLERR | POLLHUP | POLLNVAL))
        ev |= LOOP_ERR;
    return ev;
}

static void lower(int64_t *timeout, uint64_t deadline, uint64_t now)
{
    int64_t d = deadline > now ? (int64_t)(deadline - now) : 0;
    if (*timeout < 0 || d < *timeout)
        *timeout = d;
}

static enum ferry_err prepare(struct loop *loop, int64_t *timeout)
{
    enum ferry_err e;
    loop->npfds = 0;
    loop->nsrc_fds = 0;
    for (size_t i = 0; i < loop->ncsocks; i++)
        if ((e = pfd_add(loop, loop->csocks[i].fd, loop->csocks[i].events, TAG_CURL, NULL, 0)))
            return e;
    for (struct loop_fd *w = loop->fds; w; w = w->next) {
        w->pending = 0;
        if (w->events && (e = pfd_add(loop, w->fd, w->events, TAG_FD, w, 0)))
            return e;
    }
    for (struct loop_source *s = loop->sources; s; s = s->next) {
        s->pending = false;
        s->first = loop->nsrc_fds;
        s->count = 0;
        int64_t t = -1;
        loop->preparing = true;
        e = s->prepare(s, s->ud, &t);
        loop->preparing = false;
        if (e)
            return ferry_fail_ctx(e, "loop: source prepare");
        if (t >= 0 && (*timeout < 0 || t < *timeout))
            *timeout = t;
        for (size_t i = s->first; i < s->first + s->count; i++)
            if ((e = pfd_add(loop, loop->src_fds[i].fd, loop->src_fds[i].events, TAG_SOURCE, s, i)))
                return e;
    }
    if (loop->defers)
        *timeout = 0;
    if (loop->timers)
        lower(timeout, loop->timers->deadline, loop->now);
    if (loop->curl_timer_set)
        lower(timeout, loop->curl_deadline, loop->now);
    return FERRY_OK;
}

static enum ferry_err run_curl(struct loop *loop, size_t ncurl)
{
    int running;
    for (size_t i = 0; i < ncurl; i++) {
        short r = loop->pfds[i].revents;
        if (!r)
            continue;
        int ev = 0;
        if (r & (POLLIN | POLLPRI))
            ev |= CURL_CSELECT_IN;
        if (r & POLLOUT)
            ev |= CURL_CSELECT_OUT;
        if (r & (POLLERR | POLLHUP | POLLNVAL))
            ev |= CURL_CSELECT_ERR;
        CURLMcode mc = curl_multi_socket_action(loop->multi, loop->pfds[i].fd, ev, &running);
        if (mc != CURLM_OK)
            return ferry_fail(FERRY_EIO, "loop: curl_multi_socket_action: %s", curl_multi_strerror(mc));
    }
    if (loop->curl_timer_set && loop->curl_deadline <= loop->now) {
        loop->curl_timer_set = false;
        CURLMcode mc = curl_multi_socket_action(loop->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        if (mc != CURLM_OK)
            return ferry_fail(FERRY_EIO, "loop: curl_multi_socket_action: %s", curl_multi_strerror(mc));
    }
    finish_transfers(loop);
    return FERRY_OK;
}

enum ferry_err loop_run_once(struct loop *loop, int64_t max_wait_ms)
{
    loop->now = loop_clock_ms();
    int64_t timeout = max_wait_ms < 0 ? -1 : max_wait_ms;
    enum ferry_err e = prepare(loop, &timeout);
    if (e)
        return e;
    if (timeout > INT_MAX)
        timeout = INT_MAX;
    size_t ncurl = 0;
    while (ncurl < loop->npfds && loop->tags[ncurl].kind == TAG_CURL)
        ncurl++;

    int n = poll(loop->pfds, (nfds_t)loop->npfds, (int)timeout);
    if (n < 0) {
        if (errno != EINTR)
            return ferry_fail(FERRY_EIO, "loop: poll: %s", strerror(errno));
        for (size_t i = 0; i < loop->npfds; i++)
            loop->pfds[i].revents = 0;
    }
    loop->now = loop_clock_ms();

    /* Readiness is recorded on every watcher before any callback runs, so that a callback
     * stopping a watcher also discards what was seen for it. */
    for (size_t i = ncurl; i < loop->npfds; i++) {
        unsigned ev = revents_of(loop->pfds[i].revents);
        struct tag *t = &loop->tags[i];
        if (t->kind == TAG_FD) {
            struct loop_fd *w = t->ptr;
            w->pending |= ev;
        } else if (t->kind == TAG_SOURCE) {
            loop->src_fds[t->index].revents = ev;
        }
    }
    for (struct loop_source *s = loop->sources; s; s = s->next)
        s->pending = true;

    if ((e = run_curl(loop, ncurl)))
        return e;

    for (;;) {
        struct loop_fd *w = loop->fds;
        while (w && !w->pending)
            w = w->next;
        if (!w)
            break;
        unsigned ev = w->pending;
        w->pending = 0;
        w->fn(w, w->fd, ev, w->ud);
    }
    for (;;) {
        struct loop_source *s = loop->sources;
        while (s && !s->pending)
            s = s->next;
        if (!s)
            break;
        s->pending = false;
        s->dispatch(s, s->ud, loop->src_fds + s->first, s->count);
    }
    run_timers(loop);
    run_defers(loop);
    run_hooks(loop);
    return FERRY_OK;
}

enum ferry_err loop_run(struct loop *loop)
{
    while (!loop->stopped) {
        /* The bound only limits how long a forgotten wake-up could go unnoticed. */
        enum ferry_err e = loop_run_once(loop, 60000);
        if (e)
            return e;
    }
    return FERRY_OK;
}
