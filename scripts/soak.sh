#!/usr/bin/env bash
# The long tests (`make soak`), not run by `make test`:
#   the full kill -9 matrix of tests/e2e/e2e_crash.sh: every named point of the packet path
#   (include/ferry/crash.h, chains/evm/txmgr.h), on the delivery to beta and (#2: the second
#   transaction the daemon makes) on the acknowledgement back on alpha. A few minutes.
# Set FERRY_CRASH_POINTS to run other points. Fails if any test fails.
set -u
cd "$(dirname "$0")/.."
export FERRY_CRASH_POINTS=${FERRY_CRASH_POINTS:-"watch.after_logs engine.after_persist txmgr.after_sign \
txmgr.after_persist txmgr.after_broadcast txmgr.after_mined engine.after_persist#2 watch.after_logs#2 \
txmgr.after_sign#2 txmgr.after_persist#2 txmgr.after_broadcast#2 txmgr.after_mined#2"}
status=0
echo "== e2e_crash (full matrix)"
tests/e2e/e2e_crash.sh || status=1
exit $status
