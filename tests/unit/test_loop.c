#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <unistd.h>

#include <microhttpd.h>

#include "ferry/loop.h"
#include "ferry/loop_mhd.h"
#include "testutil.h"

/* Runs turns until *flag is set or `ms` pass (a generous bound: it only stops a broken test
 * from hanging, it is never what makes a test pass). */
static void run_until(struct loop *loop, const int *flag, uint64_t ms)
{
    uint64_t end = loop_clock_ms() + ms;
    while (!*flag && loop_clock_ms() < end)
        assert_int_equal(loop_run_once(loop, 50), FERRY_OK);
}

/* ---- timers ---- */

struct order {
    char seen[16];
    int n;
};

struct named_timer {
    struct loop_timer t;
    struct order *o;
    char name;
};

static void on_named(struct loop_timer *t, void *ud)
{
    struct named_timer *nt = ud;
    nt->o->seen[nt->o->n++] = nt->name;
}

static void timers_fire_in_order(void **state)
{
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct order o = {{0}, 0};
    struct named_timer ts[4] = {{.o = &o, .name = 'a'}, {.o = &o, .name = 'b'}, {.o = &o, .name = 'c'},
                                {.o = &o, .name = 'd'}};
    uint64_t delays[4] = {40, 10, 25, 10}; /* b and d tie: armed order decides */
    for (int i = 0; i < 4; i++) {
        loop_timer_init(loop, &ts[i].t, on_named, &ts[i]);
        loop_timer_start(&ts[i].t, delays[i], 0);
    }
    /* c is cancelled then re-armed later than a: it must now come last. */
    loop_timer_stop(&ts[2].t);
    assert_false(loop_timer_armed(&ts[2].t));
    /* t0 before arming: read after, it could be a millisecond late and make an on-time firing look early */
    uint64_t t0 = loop_clock_ms();
    loop_timer_start(&ts[2].t, 60, 0);
    while (o.n < 4 && loop_clock_ms() - t0 < 5000)
        assert_int_equal(loop_run_once(loop, -1), FERRY_OK);
    assert_int_equal(o.n, 4);
    assert_memory_equal(o.seen, "bdac", 4);
    /* Never early: the last one was due 60 ms after arming. */
    assert_true(loop_clock_ms() - t0 >= 60);
    for (int i = 0; i < 4; i++)
        assert_false(loop_timer_armed(&ts[i].t));
    loop_free(loop);
}

struct rep {
    struct loop_timer t;
    int fired;
    int stop_at;
};

static void on_rep(struct loop_timer *t, void *ud)
{
    struct rep *r = ud;
    if (++r->fired == r->stop_at)
        loop_timer_stop(t);
}

static void repeating_timer_and_stop_from_callback(void **state)
{
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct rep r = {.stop_at = 3};
    loop_timer_init(loop, &r.t, on_rep, &r);
    loop_timer_start(&r.t, 0, 5);
    uint64_t t0 = loop_clock_ms();
    while (loop_timer_armed(&r.t) && loop_clock_ms() - t0 < 5000)
        assert_int_equal(loop_run_once(loop, -1), FERRY_OK);
    assert_int_equal(r.fired, 3);
    /* Stopped: more turns fire nothing. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(loop_run_once(loop, 10), FERRY_OK);
    assert_int_equal(r.fired, 3);
    loop_free(loop);
}

struct rearm {
    struct loop_timer t;
    int fired;
    int turn_of_fire[4];
    int *turn;
};

static void on_rearm(struct loop_timer *t, void *ud)
{
    struct rearm *r = ud;
    r->turn_of_fire[r->fired++] = *r->turn;
    if (r->fired < 3)
        loop_timer_start(t, 0, 0);
}

static void zero_delay_rearm_waits_for_next_turn(void **state)
{
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    int turn = 0;
    struct rearm r = {.turn = &turn};
    loop_timer_init(loop, &r.t, on_rearm, &r);
    loop_timer_start(&r.t, 0, 0);
    /* Turns 4 and 5 have nothing to do and wait out their (short) bound. */
    for (turn = 1; turn <= 5; turn++)
        assert_int_equal(loop_run_once(loop, turn <= 3 ? 1000 : 5), FERRY_OK);
    assert_int_equal(r.fired, 3);
    assert_int_equal(r.turn_of_fire[0], 1);
    assert_int_equal(r.turn_of_fire[1], 2);
    assert_int_equal(r.turn_of_fire[2], 3);
    loop_free(loop);
}

/* ---- fd watchers ---- */

struct fdrec {
    struct loop_fd w;
    int calls;
    unsigned last;
    char byte;
    int done;
};

static void on_fd(struct loop_fd *w, int fd, unsigned revents, void *ud)
{
    struct fdrec *r = ud;
    r->calls++;
    r->last = revents;
    if (revents & LOOP_IN) {
        ssize_t n = read(fd, &r->byte, 1);
        if (n <= 0)
            loop_fd_stop(w); /* hang-up: stop, or the loop would keep reporting it */
    } else if (revents & LOOP_ERR) {
        loop_fd_stop(w);
    }
    r->done = 1;
}

static void fd_callback_fires(void **state)
{
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct fdrec r = {0};
    loop_fd_init(loop, &r.w, p[0], LOOP_IN, on_fd, &r);
    loop_fd_start(&r.w);
    /* Nothing written: a turn passes without a call. */
    assert_int_equal(loop_run_once(loop, 10), FERRY_OK);
    assert_int_equal(r.calls, 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    run_until(loop, &r.done, 5000);
    assert_int_equal(r.calls, 1);
    assert_true(r.last & LOOP_IN);
    assert_int_equal(r.byte, 'x');
    /* The writer goes away: the hang-up reaches the watcher (curl_multi_poll would drop it). */
    r.done = 0;
    close(p[1]);
    run_until(loop, &r.done, 5000);
    assert_int_equal(r.calls, 2);
    assert_true(r.last & (LOOP_ERR | LOOP_IN));
    assert_false(r.w.active);
    close(p[0]);
    loop_free(loop);
}

/* ---- sources ---- */

struct src {
    struct loop_source s;
    int fd;
    int64_t timeout;
    int dispatched;
    unsigned seen;
    size_t nfds;
};

static enum ferry_err src_prepare(struct loop_source *s, void *ud, int64_t *timeout_ms)
{
    struct src *x = ud;
    *timeout_ms = x->timeout;
    return loop_source_watch(s, x->fd, LOOP_IN);
}

static void src_dispatch(struct loop_source *s, void *ud, const struct loop_pollfd *fds, size_t n)
{
    struct src *x = ud;
    x->dispatched++;
    x->nfds = n;
    x->seen = n ? fds[0].revents : 0;
    char b;
    if (x->seen & LOOP_IN)
        assert_int_equal(read(x->fd, &b, 1), 1);
}

static void source_sets_timeout_and_sees_readiness(void **state)
{
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct src x = {.fd = p[0], .timeout = 20};
    loop_source_init(loop, &x.s, src_prepare, src_dispatch, &x);
    loop_source_start(&x.s);
    /* The source's 20 ms timeout ends a wait that would otherwise last 10 s. */
    uint64_t t0 = loop_clock_ms();
    assert_int_equal(loop_run_once(loop, 10000), FERRY_OK);
    assert_true(loop_clock_ms() - t0 < 5000);
    assert_int_equal(x.dispatched, 1);
    assert_int_equal(x.nfds, 1);
    assert_int_equal(x.seen, 0);
    assert_int_equal(write(p[1], "y", 1), 1);
    assert_int_equal(loop_run_once(loop, 10000), FERRY_OK);
    assert_int_equal(x.dispatched, 2);
    assert_true(x.seen & LOOP_IN);
    /* Outside prepare, watching is refused. */
    assert_int_equal(loop_source_watch(&x.s, p[0], LOOP_IN), FERRY_ESTATE);
    loop_source_stop(&x.s);
    assert_int_equal(loop_run_once(loop, 0), FERRY_OK);
    assert_int_equal(x.dispatched, 2);
    close(p[0]);
    close(p[1]);
    loop_free(loop);
}

/* ---- end of turn ---- */

struct turns {
    struct loop_hook h;
    struct loop_defer d, d2;
    int hooks, defers, defers2;
    char log[32];
    int nlog;
};

static void on_hook(struct loop_hook *h, void *ud)
{
    struct turns *t = ud;
    t->hooks++;
    t->log[t->nlog++] = 'H';
}

static void on_defer2(struct loop_defer *d, void *ud)
{
    struct turns *t = ud;
    t->defers2++;
    t->log[t->nlog++] = 'e';
}

static void on_defer(struct loop_defer *d, void *ud)
{
    struct turns *t = ud;
    t->defers++;
    t->log[t->nlog++] = 'D';
    /* Queued while deferred work runs: belongs to the next turn. */
    loop_defer(&t->d2);
}

static void end_of_turn_hook_once_per_turn(void **state)
{
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct turns t = {0};
    loop_hook_init(loop, &t.h, on_hook, &t);
    loop_hook_start(&t.h);
    loop_defer_init(loop, &t.d, on_defer, &t);
    loop_defer_init(loop, &t.d2, on_defer2, &t);
    for (int i = 0; i < 3; i++)
        assert_int_equal(loop_run_once(loop, 0), FERRY_OK);
    assert_int_equal(t.hooks, 3);
    loop_defer(&t.d);
    loop_defer(&t.d); /* queued once only */
    /* Pending deferred work makes the wait zero, whatever the bound. */
    uint64_t t0 = loop_clock_ms();
    assert_int_equal(loop_run_once(loop, 10000), FERRY_OK);
    assert_int_equal(loop_run_once(loop, 10000), FERRY_OK);
    assert_true(loop_clock_ms() - t0 < 5000);
    assert_int_equal(t.defers, 1);
    assert_int_equal(t.defers2, 1);
    assert_int_equal(t.hooks, 5);
    t.log[t.nlog] = 0;
    /* Deferred work runs before the hooks of the same turn. */
    assert_string_equal(t.log, "HHHDHeH");
    /* A cancelled defer never runs; a stopped hook neither. */
    loop_defer(&t.d2);
    loop_defer_cancel(&t.d2);
    loop_hook_stop(&t.h);
    assert_int_equal(loop_run_once(loop, 0), FERRY_OK);
    assert_int_equal(t.defers2, 1);
    assert_int_equal(t.hooks, 5);
    loop_free(loop);
}

/* ---- signals ---- */

static void raise_term(struct loop_timer *t, void *ud) { kill(getpid(), *(int *)ud); }

static void signal_stops_loop(void **state)
{
    int sigs[2] = {SIGTERM, SIGINT};
    for (int i = 0; i < 2; i++) {
        struct loop *loop;
        assert_int_equal(loop_new(&loop), FERRY_OK);
        assert_int_equal(loop_stop_on_signals(loop), FERRY_OK);
        struct loop_timer t;
        loop_timer_init(loop, &t, raise_term, &sigs[i]);
        loop_timer_start(&t, 5, 0);
        /* A second loop cannot take the signals too. */
        struct loop *other;
        assert_int_equal(loop_new(&other), FERRY_OK);
        assert_int_equal(loop_stop_on_signals(other), FERRY_ESTATE);
        loop_free(other);
        assert_int_equal(loop_run(loop), FERRY_OK);
        assert_true(loop_stopped(loop));
        assert_int_equal(loop_stop_signal(loop), sigs[i]);
        loop_free(loop);
    }
    /* The handlers were restored: SIGTERM is back to its default disposition. */
    struct sigaction sa;
    assert_int_equal(sigaction(SIGTERM, NULL, &sa), 0);
    assert_true(sa.sa_handler == SIG_DFL);
}

/* ---- an HTTP server (libmicrohttpd, no thread of its own) and a curl client on one loop ---- */

struct mhd_src {
    struct loop_mhd http; /* the library glue under test (src/loop_mhd.c) */
    struct MHD_Daemon *d;
    int requests;
};

static enum MHD_Result hello(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                             const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct mhd_src *m = cls;
    m->requests++;
    static const char body[] = "hello from the same loop";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

struct got {
    char buf[128];
    size_t len;
    CURLcode rc;
    int done;
};

static size_t got_write(char *p, size_t size, size_t n, void *ud)
{
    struct got *g = ud;
    size_t len = size * n;
    if (g->len + len >= sizeof g->buf)
        return 0;
    memcpy(g->buf + g->len, p, len);
    g->len += len;
    return len;
}

static void got_done(struct loop_xfer *x, CURLcode rc, void *ud)
{
    struct got *g = ud;
    g->rc = rc;
    g->done = 1;
}

static void http_server_and_client_share_the_loop(void **state)
{
    struct loop *loop;
    assert_int_equal(loop_new(&loop), FERRY_OK);
    struct mhd_src m = {0};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    m.d = MHD_start_daemon(MHD_USE_ERROR_LOG, 0, NULL, NULL, hello, &m, MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_END);
    assert_non_null(m.d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m.d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    loop_mhd_start(loop, &m.http, m.d);

    struct got g = {0};
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", (unsigned)info->port);
    CURL *easy = curl_easy_init();
    assert_non_null(easy);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, got_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &g);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    struct loop_xfer x;
    for (int round = 0; round < 2; round++) { /* the second round reuses the handle */
        memset(&g, 0, sizeof g);
        assert_int_equal(loop_xfer_start(loop, &x, easy, got_done, &g), FERRY_OK);
        assert_int_equal(loop_xfer_count(loop), 1);
        run_until(loop, &g.done, 5000);
        assert_int_equal(g.done, 1);
        assert_int_equal(g.rc, CURLE_OK);
        g.buf[g.len] = 0;
        assert_string_equal(g.buf, "hello from the same loop");
        assert_int_equal(loop_xfer_count(loop), 0);
    }
    assert_int_equal(m.requests, 2);

    /* A cancelled transfer never calls back. */
    memset(&g, 0, sizeof g);
    assert_int_equal(loop_xfer_start(loop, &x, easy, got_done, &g), FERRY_OK);
    loop_xfer_cancel(&x);
    assert_int_equal(loop_xfer_count(loop), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(loop_run_once(loop, 5), FERRY_OK);
    assert_int_equal(g.done, 0);

    curl_easy_cleanup(easy);
    loop_mhd_stop(&m.http);
    MHD_stop_daemon(m.d);
    loop_free(loop);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_fire_in_order),
        cmocka_unit_test(repeating_timer_and_stop_from_callback),
        cmocka_unit_test(zero_delay_rearm_waits_for_next_turn),
        cmocka_unit_test(fd_callback_fires),
        cmocka_unit_test(source_sets_timeout_and_sees_readiness),
        cmocka_unit_test(end_of_turn_hook_once_per_turn),
        cmocka_unit_test(signal_stops_loop),
        cmocka_unit_test(http_server_and_client_share_the_loop),
    };
    return TU_RUN(tests);
}
