#include "ferry/loop_mhd.h"

#include <stdint.h>
#include <sys/select.h>

static enum ferry_err mhd_prepare(struct loop_source *s, void *ud, int64_t *timeout_ms)
{
    struct loop_mhd *m = ud;
    fd_set r, w, e;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    MHD_socket max = 0;
    if (MHD_get_fdset2(m->mhd, &r, &w, &e, &max, FD_SETSIZE) != MHD_YES)
        return ferry_fail(FERRY_EIO, "http: MHD_get_fdset2 failed");
    for (int fd = 0; fd <= max; fd++) {
        unsigned ev = (FD_ISSET(fd, &r) ? LOOP_IN : 0) | (FD_ISSET(fd, &w) ? LOOP_OUT : 0);
        if (ev || FD_ISSET(fd, &e)) {
            enum ferry_err err = loop_source_watch(s, fd, ev);
            if (err)
                return err;
        }
    }
    MHD_UNSIGNED_LONG_LONG to;
    if (MHD_get_timeout(m->mhd, &to) == MHD_YES)
        *timeout_ms = to > INT64_MAX ? INT64_MAX : (int64_t)to;
    return FERRY_OK;
}

static void mhd_dispatch(struct loop_source *s, void *ud, const struct loop_pollfd *fds, size_t n)
{
    struct loop_mhd *m = ud;
    fd_set r, w, e;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    for (size_t i = 0; i < n; i++) {
        if (fds[i].fd < 0 || fds[i].fd >= FD_SETSIZE)
            continue;
        if (fds[i].revents & LOOP_IN)
            FD_SET(fds[i].fd, &r);
        if (fds[i].revents & LOOP_OUT)
            FD_SET(fds[i].fd, &w);
        if (fds[i].revents & LOOP_ERR)
            FD_SET(fds[i].fd, &e);
    }
    MHD_run_from_select(m->mhd, &r, &w, &e);
}

void loop_mhd_start(struct loop *loop, struct loop_mhd *m, struct MHD_Daemon *mhd)
{
    m->mhd = mhd;
    loop_source_init(loop, &m->src, mhd_prepare, mhd_dispatch, m);
    loop_source_start(&m->src);
}

void loop_mhd_stop(struct loop_mhd *m)
{
    loop_source_stop(&m->src);
}
