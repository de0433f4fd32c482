#!/usr/bin/env bash
# Regenerates every test vector in tests/vectors/ with Foundry's cast (pinned by the toolchain lock).
# Each scripts/vectors/*.sh writes its own tests/vectors/*.json; commit the results beside the scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
export CAST=$PWD/scripts/toolchain/node_modules/.bin/cast
for s in scripts/vectors/*.sh; do
  echo "== $s"
  bash "$s"
done
