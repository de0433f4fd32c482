/* A libmicrohttpd daemon (started without a thread of its own, MHD_USE_NO_THREAD_SAFETY or plain
 * external select) driven by the event loop as a loop source: before each wait its fd set and
 * timeout are handed to the loop; after it, MHD_run_from_select runs with what became ready.
 * Used by the HTTP API and by the tests' fake servers. */
#ifndef FERRY_LOOP_MHD_H
#define FERRY_LOOP_MHD_H

#include <microhttpd.h>

#include "ferry/loop.h"

struct loop_mhd {
    struct loop_source src; /* private */
    struct MHD_Daemon *mhd; /* not owned: the caller stops it after loop_mhd_stop */
};

/* Starts driving `mhd` from `loop`. m is embedded in the caller's struct and must stay put. */
void loop_mhd_start(struct loop *loop, struct loop_mhd *m, struct MHD_Daemon *mhd);
/* Stops driving it (the daemon itself is left running for the caller to stop). */
void loop_mhd_stop(struct loop_mhd *m);

#endif
