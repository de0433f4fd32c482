#!/usr/bin/env bash
# Installs whatever Ferry needs and is missing; safe to run any number of times.
#   scripts/bootstrap.sh           Debian packages + the pinned npm toolchain (anvil, forge, cast, solc)
#   scripts/bootstrap.sh --check   exit 0 when nothing is missing, 1 otherwise (prints what is missing)
#   scripts/bootstrap.sh --fuzz    also clang and its libFuzzer runtime (for make fuzz)
# The toolchain versions are pinned by scripts/toolchain/package-lock.json and installed with `npm ci`;
# nothing is downloaded at run time afterwards (forge compiles offline through scripts/solc).
set -euo pipefail
cd "$(dirname "$0")/.."

check=0 fuzz=0
for a in "$@"; do
  case $a in
    --check) check=1 ;;
    --fuzz) fuzz=1 ;;
    *) echo "bootstrap: unknown option $a" >&2; exit 2 ;;
  esac
done

# Debian packages, each with a file that proves it is installed.
declare -A debs=(
  [gcc]=/usr/bin/gcc
  [make]=/usr/bin/make
  [libc6-dev]=/usr/include/stdio.h
  [pkg-config]=/usr/bin/pkg-config
  [libsecp256k1-dev]=/usr/include/secp256k1_recovery.h
  [libcurl4-openssl-dev]=/usr/include/x86_64-linux-gnu/curl/curl.h
  [libcjson-dev]=/usr/include/cjson/cJSON.h
  [libsodium-dev]=/usr/include/sodium.h
  [libleveldb-dev]=/usr/include/leveldb/c.h
  [nettle-dev]=/usr/include/nettle/sha3.h
  [libmicrohttpd-dev]=/usr/include/microhttpd.h
  [libcmocka-dev]=/usr/include/cmocka.h
  [nodejs]=/usr/bin/node
  [npm]=/usr/bin/npm
  [jq]=/usr/bin/jq
  [procps]=/usr/bin/pkill
  [curl]=/usr/bin/curl
  [bc]=/usr/bin/bc
)
if [ $fuzz = 1 ]; then
  debs[clang]=/usr/bin/clang
  debs[libclang-rt-dev]=/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
fi

missing=()
for p in "${!debs[@]}"; do
  # node and npm may come from elsewhere (nvm, nodesource): any on PATH will do.
  case $p in nodejs) command -v node >/dev/null && continue ;; npm) command -v npm >/dev/null && continue ;; esac
  [ -e "${debs[$p]}" ] || missing+=("$p")
done

tools=scripts/toolchain
lock_sum() { sha256sum "$tools/package-lock.json" | cut -d' ' -f1; }
toolchain_ok() {
  [ -f "$tools/node_modules/.ferry-lock" ] && [ "$(cat "$tools/node_modules/.ferry-lock")" = "$(lock_sum)" ] &&
    [ -x "$tools/node_modules/.bin/anvil" ] && [ -x "$tools/node_modules/.bin/forge" ] &&
    [ -x "$tools/node_modules/.bin/cast" ] && [ -f "$tools/node_modules/solc/soljson.js" ]
}

if [ $check = 1 ]; then
  ok=0
  [ ${#missing[@]} -eq 0 ] || { echo "missing Debian packages: ${missing[*]}"; ok=1; }
  toolchain_ok || { echo "toolchain not installed or not matching scripts/toolchain/package-lock.json"; ok=1; }
  exit $ok
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! toolchain_ok; then
  echo "bootstrap: installing the pinned toolchain (npm ci in $tools)"
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)
  lock_sum >"$tools/node_modules/.ferry-lock"
fi

"$tools/node_modules/.bin/anvil" --version | head -1
"$tools/node_modules/.bin/forge" --version | head -1
scripts/solc --version | tail -1
echo "bootstrap: everything is installed"
