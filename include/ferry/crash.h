#ifndef FERRY_CRASH_H
#define FERRY_CRASH_H

/* Crash points for kill -9 tests (tests/e2e/e2e_crash.sh, scripts/soak.sh).
 * ferry_crash_point(name) kills the process with SIGKILL when the environment variable
 * FERRY_CRASH_AT names that point ("engine.after_persist"), or names it with a count
 * ("engine.after_persist#2": the second time it is reached). Costs one getenv when unset.
 * Points outside the transaction manager (its own are listed in chains/evm/txmgr.h):
 *   watch.after_logs      a poll found gateway events; they are about to be handed to the engine
 *   engine.after_persist  a batch carrying packet records is durable; its follow-ups (submits,
 *                         events_done) not yet run
 *   orch.after_persist    a batch of intent changes with follow-ups is durable; its router calls
 *                         (open, advance, refund, cancel) not yet submitted */
void ferry_crash_point(const char *name);

#endif
