#!/usr/bin/env bash
# The local devnet: three anvil chains with Ferry's contracts deployed and linked, the dev keys in a
# keystore, and a daemon config pointing at all of it.
#
#   scripts/devnet.sh run    up, then `ferry start` in the foreground; Ctrl-C (or SIGTERM) stops the
#                            daemon and the chains (what `make run` does)
#   scripts/devnet.sh up     start the chains, deploy, link, write the files below, and return
#   scripts/devnet.sh down   stop the chains (and a daemon `run` started) of this devnet directory
#   scripts/devnet.sh status what is running
#   scripts/devnet.sh sample submits the sample intent (config/sample-intent.json with this devnet's
#                            addresses) to the running daemon and prints its hops until it ends (`run`
#                            does this once the daemon is up; FERRY_DEVNET_SAMPLE=0 skips it there)
#
# Chains: alpha (chain id 31337), beta (31338), gamma (31339), 1-second blocks. Every `up` starts them
# fresh: the directory is wiped (the daemon's store too, since its cursors would point at old chains).
# Files, in $FERRY_DEVNET_DIR (default build/devnet):
#   deployments.json     per chain: name, chain id, RPC URL, gateway, vault, router, test tokens, vouchers
#                        ("FTA@alpha": alpha's FTA on that chain) and pools ("FTA/FTB"; on beta also
#                        "FTA@alpha/FTB", for the sample intent: FTA alpha -> beta, swap, FTB beta -> gamma)
#   ferry.json           the daemon config (config/devnet.template.json with the deployed addresses)
#   keys/                keystore: dev-submitter (anvil account 1), dev-attester-7/8/9 (accounts 7, 8, 9)
#   keystore-password    random, mode 0600
#   api-token            random, mode 0600
#   anvil-NAME.log/.pid  each chain's output and process id; data/ the daemon's store
# Anvil's well-known dev keys are used, for this devnet only: account 0 deploys and owns the contracts,
# accounts 4 and 5 hold 1,000,000 of each test token on every chain (a user to play with). At `up`, account
# 0 also sends 100,000 FTA from alpha to itself on beta, relayed by hand (delivered and acknowledged, before
# the daemon exists), and seeds beta's FTA@alpha/FTB pool with them and 200,000 FTB.
#
# Environment (so tests can run beside a user's devnet):
#   FERRY_DEVNET_DIR     the directory above
#   FERRY_DEVNET_PORTS   the three RPC ports, "8545 8546 8547" by default
#   FERRY_DEVNET_API     the API's listen address, 127.0.0.1:7710 by default
#   FERRY_DEVNET_BLOCK_TIME  anvil's block time in seconds, fractions allowed (1 by default)
#   FERRY_DEVNET_VOUCHER_POOL  0: no hand-relayed transfer and no FTA@alpha/FTB pool on beta (the
#                        sample intent then cannot run; the relay tests use it to own alpha's sequence 1)
#   FERRY_BUILD          where build/ferry is (default build)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools=$root/scripts/toolchain/node_modules/.bin
ANVIL=${ANVIL:-$tools/anvil}
CAST=${CAST:-$tools/cast}
dir=${FERRY_DEVNET_DIR:-$root/build/devnet}
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
read -r -a ports <<<"${FERRY_DEVNET_PORTS:-8545 8546 8547}"
api_listen=${FERRY_DEVNET_API:-127.0.0.1:7710}
build=${FERRY_BUILD:-build}
case $build in /*) ferry=$build/ferry ;; *) ferry=$root/$build/ferry ;; esac
template=$root/config/devnet.template.json

names=(alpha beta gamma)
chain_ids=(31337 31338 31339)

die() {
  echo "devnet.sh: $*" >&2
  exit 1
}

need_tools() {
  [ -x "$ANVIL" ] && [ -x "$CAST" ] || die "anvil/cast not found in scripts/toolchain (run scripts/bootstrap.sh)"
  command -v jq >/dev/null || die "jq is needed (run scripts/bootstrap.sh)"
  [ -x "$ferry" ] || die "$ferry is not built (run make)"
  [ ${#ports[@]} -eq 3 ] || die "FERRY_DEVNET_PORTS: expected three ports, got '${ports[*]}'"
  local p
  for p in "${ports[@]}"; do
    [[ $p =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "FERRY_DEVNET_PORTS: not a port: $p"
  done
}

# True when something accepts connections on 127.0.0.1:PORT.
port_taken() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The pid in FILE if that process is still alive.
live_pid() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# stop_pid FILE: TERM, then KILL after 5 s; removes FILE.
stop_pid() {
  local pid i
  if pid=$(live_pid "$1"); then
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "devnet.sh: $(basename "$1" .pid) (pid $pid) ignored SIGTERM for 5 s; killing it" >&2
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$1"
}

cmd_down() {
  local n stopped=0 f
  [ -d "$dir" ] || { echo "devnet: nothing in $dir"; return 0; }
  for f in "$dir/ferry.pid"; do
    if live_pid "$f" >/dev/null; then stopped=$((stopped + 1)); fi
    stop_pid "$f"
  done
  for n in "${names[@]}"; do
    if live_pid "$dir/anvil-$n.pid" >/dev/null; then stopped=$((stopped + 1)); fi
    stop_pid "$dir/anvil-$n.pid"
  done
  echo "devnet: stopped $stopped process(es) of $dir"
}

cmd_status() {
  local i n pid
  for i in 0 1 2; do
    n=${names[$i]}
    if pid=$(live_pid "$dir/anvil-$n.pid"); then
      echo "$n: running (pid $pid, $(jq -r ".chains[$i].rpc" "$dir/deployments.json" 2>/dev/null))"
    else
      echo "$n: stopped"
    fi
  done
  if pid=$(live_pid "$dir/ferry.pid"); then echo "ferry: running (pid $pid)"; else echo "ferry: stopped"; fi
}

# start_anvil I: starts chain I in the background, detached from this shell's job control, and waits
# until it answers with the right chain id.
start_anvil() {
  local i=$1 n=${names[$1]} port=${ports[$1]} log pid t
  log=$dir/anvil-$n.log
  # setsid: the chains outlive `up` and do not get the terminal's Ctrl-C meant for something else.
  setsid "$ANVIL" --host 127.0.0.1 --port "$port" --chain-id "${chain_ids[$i]}" --block-time "${FERRY_DEVNET_BLOCK_TIME:-1}" \
    </dev/null >"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/anvil-$n.pid"
  for t in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      die "anvil for $n (port $port) exited: $(tail -3 "$log")"
    fi
    if [ "$("$CAST" chain-id --rpc-url "http://127.0.0.1:$port" 2>/dev/null)" = "${chain_ids[$i]}" ]; then
      return 0
    fi
    sleep 0.1
  done
  die "anvil for $n did not answer on port $port within 10 s (see $log)"
}

# dev_key I: anvil's dev private key I, as it printed it.
dev_key() {
  local k
  k=$(sed -n "s/^($1) \(0x[0-9a-fA-F]\{64\}\)\$/\1/p" "$dir/anvil-alpha.log" | head -1)
  [ -n "$k" ] || die "no dev key $1 in anvil's output ($dir/anvil-alpha.log)"
  echo "$k"
}

random_secret() {
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

cmd_up() {
  need_tools
  local i n p
  for n in "${names[@]}"; do
    ! live_pid "$dir/anvil-$n.pid" >/dev/null ||
      die "a devnet is already running in $dir (scripts/devnet.sh down first)"
  done
  for i in 0 1 2; do
    p=${ports[$i]}
    ! port_taken "$p" || die "port $p (chain ${names[$i]}) is taken by another process: stop it, or choose other ports with FERRY_DEVNET_PORTS=\"P1 P2 P3\""
  done
  rm -rf "$dir"
  mkdir -p "$dir"
  chmod 700 "$dir"
  # If anything below fails, nothing is left running.
  trap 'echo "devnet.sh: setting up failed; stopping the chains" >&2; cmd_down >/dev/null' EXIT
  for i in 0 1 2; do start_anvil "$i"; done
  echo "devnet: chains up: alpha :${ports[0]}, beta :${ports[1]}, gamma :${ports[2]}"

  local owner_key submitter_key user_key recipient_key att_keys=() att_addrs=() user recipient
  owner_key=$(dev_key 0) submitter_key=$(dev_key 1) user_key=$(dev_key 4) recipient_key=$(dev_key 5)
  for i in 7 8 9; do
    att_keys+=("$(dev_key $i)")
    att_addrs+=("$("$CAST" wallet address --private-key "$(dev_key $i)")")
  done
  user=$("$CAST" wallet address --private-key "$user_key")
  recipient=$("$CAST" wallet address --private-key "$recipient_key")
  # The template names these attesters; a different anvil mnemonic would make its keys disagree.
  [ "$(jq -r '.attesters.addresses | join(",")' "$template")" = "$(IFS=,; echo "${att_addrs[*]}")" ] ||
    die "anvil's accounts 7, 8, 9 are not the attesters config/devnet.template.json names"

  # Compile once, before the three deployments run in parallel (each would otherwise build missing
  # artifacts at the same time); forge is incremental, so this is quick when nothing changed.
  "$root/scripts/contracts.sh" build >"$dir/contracts-build.log" 2>&1 ||
    die "compiling the contracts failed: $(tail -3 "$dir/contracts-build.log")"
  # Deploy with instant mining (a transaction per second would make this take a minute), then back to
  # 1-second blocks.
  local rpc pids=()
  for i in 0 1 2; do
    rpc=http://127.0.0.1:${ports[$i]}
    "$CAST" rpc --rpc-url "$rpc" evm_setAutomine true >/dev/null
    "$root/scripts/contracts.sh" deploy --rpc "$rpc" --key "$owner_key" --chain-id "${chain_ids[$i]}" \
      --out "$dir/deploy-${names[$i]}.json" --attesters "$(IFS=,; echo "${att_addrs[*]}")" --threshold 2 \
      --with-test-assets --fund "$user,$recipient" >"$dir/deploy-${names[$i]}.log" 2>&1 &
    pids+=($!)
  done
  for i in 0 1 2; do
    wait "${pids[$i]}" || die "deploying to ${names[$i]} failed: $(tail -3 "$dir/deploy-${names[$i]}.log")"
  done
  "$root/scripts/contracts.sh" link --key "$owner_key" "$dir"/deploy-{alpha,beta,gamma}.json >"$dir/link.log" 2>&1 ||
    die "linking failed: $(tail -3 "$dir/link.log")"
  # Vouchers of alpha's FTA on beta need a real transfer: relayed by hand here (2 of the attesters sign).
  # FERRY_DEVNET_VOUCHER_POOL=0 skips it (relay tests want alpha's sequence 1 to be their own packet).
  if [ "${FERRY_DEVNET_VOUCHER_POOL:-1}" != 0 ]; then
    "$root/scripts/contracts.sh" voucher-pool --key "$owner_key" --attester-keys "${att_keys[0]},${att_keys[1]}" \
      --amount 100000000000000000000000 --liquidity 200000000000000000000000 --out "$dir/voucher-pool-beta.json" \
      "$dir/deploy-alpha.json" "$dir/deploy-beta.json" >"$dir/voucher-pool.log" 2>&1 ||
      die "seeding the FTA@alpha/FTB pool on beta failed: $(tail -3 "$dir/voucher-pool.log")"
  else
    echo '{}' >"$dir/voucher-pool-beta.json"
  fi
  # Where alpha's FTA lives on each chain (the voucher address is fixed before any is minted).
  local fta vouchers=()
  fta=$(jq -r .testAssets.tokenA "$dir/deploy-alpha.json")
  for i in 0 1 2; do
    vouchers+=("$("$CAST" to-check-sum-address "$("$CAST" call --rpc-url "http://127.0.0.1:${ports[$i]}" \
      "$(jq -r .vault "$dir/deploy-${names[$i]}.json")" "voucherOf(uint64,address)(address)" "${chain_ids[0]}" "$fta")")")
  done
  [ "${FERRY_DEVNET_VOUCHER_POOL:-1}" = 0 ] || [ "${vouchers[1]}" = "$(jq -r .voucher "$dir/voucher-pool-beta.json")" ] || die "beta's FTA@alpha voucher is not the pool's"
  for i in 0 1 2; do
    "$CAST" rpc --rpc-url "http://127.0.0.1:${ports[$i]}" evm_setIntervalMining 1 >/dev/null
  done
  echo "devnet: contracts deployed and linked"

  jq -n --argjson names "$(printf '%s\n' "${names[@]}" | jq -R . | jq -s .)" \
    --slurpfile a "$dir/deploy-alpha.json" --slurpfile b "$dir/deploy-beta.json" --slurpfile c "$dir/deploy-gamma.json" \
    --arg user "$user" --arg recipient "$recipient" --slurpfile vp "$dir/voucher-pool-beta.json" \
    --argjson vouchers "$(printf '%s\n' "${vouchers[@]}" | jq -R . | jq -s .)" '
    [$a[0], $b[0], $c[0]] as $d |
    { generatedBy: "scripts/devnet.sh up (rewritten on every up)",
      accounts: { owner: $d[0].owner, user: $user, recipient: $recipient,
                  note: "anvil dev accounts: 0 owns the contracts, 4 (user) and 5 (recipient) hold test tokens" },
      attesters: $d[0].attesters, threshold: $d[0].threshold,
      chains: [ range(0; 3) as $i | $d[$i] | {
        name: $names[$i], chainId: .chainId, rpc: .rpc, deployBlock: .deployBlock,
        gateway: .gateway, vault: .vault, router: .router, executor: .executor,
        tokens: { FTA: .testAssets.tokenA, FTB: .testAssets.tokenB },
        vouchers: (if $i == 0 then {} else { "FTA@alpha": $vouchers[$i] } end),
        pools: ({ "FTA/FTB": .testAssets.pool } +
                (if $i == 1 and $vp[0].pool != null then { "FTA@alpha/FTB": $vp[0].pool } else {} end)) } ] }' >"$dir/deployments.json"

  # Keys: cast writes standard keystores, ferry imports them (checking the password opens each).
  (umask 077 && random_secret >"$dir/keystore-password" && random_secret >"$dir/api-token")
  local pw castdir=$dir/cast-keys
  pw=$(cat "$dir/keystore-password")
  mkdir -p "$castdir"
  import_key() { # import_key NAME KEY
    "$CAST" wallet import "$1" --private-key "$2" --keystore-dir "$castdir" --unsafe-password "$pw" >/dev/null ||
      die "cast wallet import $1 failed"
    env -u FERRY_PASSWORD "$ferry" keys import "$castdir/$1" "$1" --keystore-dir "$dir/keys" \
      --password-file "$dir/keystore-password" >/dev/null || die "ferry keys import $1 failed"
  }
  import_key dev-submitter "$submitter_key"
  for i in 0 1 2; do import_key "dev-attester-$((i + 7))" "${att_keys[$i]}"; done
  rm -rf "$castdir"

  jq --arg dir "$dir" --arg listen "$api_listen" --slurpfile d "$dir/deployments.json" '
    .data_dir = ($dir + "/data") |
    .keystore = { dir: ($dir + "/keys"), password_file: ($dir + "/keystore-password") } |
    .api.listen = $listen | .api.token_file = ($dir + "/api-token") |
    .chains |= [ to_entries[] | .key as $i | .value |
      .rpc = [$d[0].chains[$i].rpc] | .chain_id = $d[0].chains[$i].chainId |
      .gateway = $d[0].chains[$i].gateway | .vault = $d[0].chains[$i].vault | .router = $d[0].chains[$i].router ]
    ' "$template" >"$dir/ferry.json"
  "$ferry" config check "$dir/ferry.json" >"$dir/config-check.log" 2>&1 ||
    die "the generated config does not check: $(cat "$dir/config-check.log")"
  trap - EXIT
  summary "$user_key" "$recipient"
}

summary() {
  local user_key=$1 recipient=$2 rel=${dir#$root/}
  echo
  echo "Ferry devnet ($rel):"
  jq -r '.chains[] | "  \(.name) (chain \(.chainId)) \(.rpc)\n    gateway \(.gateway)  vault \(.vault)  router \(.router)\n    tokens FTA \(.tokens.FTA)  FTB \(.tokens.FTB)  pool FTA/FTB \(.pools["FTA/FTB"])" +
    (if .vouchers["FTA@alpha"] then "\n    voucher FTA@alpha \(.vouchers["FTA@alpha"])" else "" end) +
    (if .pools["FTA@alpha/FTB"] then "  pool FTA@alpha/FTB \(.pools["FTA@alpha/FTB"])" else "" end)' \
    "$dir/deployments.json"
  local a_rpc a_vault a_token b_id
  a_rpc=$(jq -r '.chains[0].rpc' "$dir/deployments.json")
  a_vault=$(jq -r '.chains[0].vault' "$dir/deployments.json")
  a_token=$(jq -r '.chains[0].tokens.FTA' "$dir/deployments.json")
  b_id=$(jq -r '.chains[1].chainId' "$dir/deployments.json")
  cat <<EOF
  config $rel/ferry.json (checked), keys in $rel/keys, API token in $rel/api-token

Send 1 FTA from alpha to beta as the dev user (anvil account 4; its key is public, devnet only):
  cast=scripts/toolchain/node_modules/.bin/cast
  \$cast send --rpc-url $a_rpc --private-key $user_key $a_token 'approve(address,uint256)' $a_vault 1000000000000000000
  \$cast send --rpc-url $a_rpc --private-key $user_key $a_vault 'transfer(address,uint256,uint64,address,uint64)' \\
    $a_token 1000000000000000000 $b_id $recipient \$((\$(date +%s) + 3600))
EOF
}

# sample_intent: the sample intent of config/sample-intent.json (1 FTA alpha -> beta, swap the FTA@alpha
# voucher for FTB on beta's pool, all the FTB beta -> gamma to the recipient), with this devnet's
# addresses, signed by the dev user (anvil account 4) and submitted through the daemon's API; then its
# hops are printed (`ferry hops --intent ID`) each time they change, until the intent ends. Returns
# non-zero if it could not submit or the intent did not complete; never stops the daemon.
sample_intent() {
  local api=http://$api_listen dep=$dir/deployments.json token user_key id sig state="" last="" out t0 end
  local auth
  [ -f "$dep" ] && [ -f "$dir/api-token" ] || { echo "devnet: no devnet in $dir (scripts/devnet.sh up first)" >&2; return 1; }
  token=$(cat "$dir/api-token")
  auth="Authorization: Bearer $token"
  end=$(($(date +%s) + 30))
  until curl -sf "$api/healthz" >/dev/null 2>&1; do
    [ "$(date +%s)" -le "$end" ] || { echo "devnet: the daemon's API ($api) does not answer" >&2; return 1; }
    sleep 0.2
  done
  user_key=$(dev_key 4) || return 1
  local a_rpc fta router_a executor_b voucher pool ftb user recipient data deadline amount
  a_rpc=$(jq -r '.chains[0].rpc' "$dep")
  fta=$(jq -r '.chains[0].tokens.FTA' "$dep") router_a=$(jq -r '.chains[0].router' "$dep")
  executor_b=$(jq -r '.chains[1].executor' "$dep") ftb=$(jq -r '.chains[1].tokens.FTB' "$dep")
  voucher=$(jq -r '.chains[1].vouchers["FTA@alpha"] // empty' "$dep")
  pool=$(jq -r '.chains[1].pools["FTA@alpha/FTB"] // empty' "$dep")
  user=$(jq -r .accounts.user "$dep") recipient=$(jq -r .accounts.recipient "$dep")
  [ -n "$voucher" ] && [ -n "$pool" ] || { echo "devnet: $dep names no FTA@alpha/FTB pool on beta" >&2; return 1; }
  amount=$(jq -r '.steps[0].transfer.amount' "$root/config/sample-intent.json")
  data=$("$CAST" calldata "swap(address,uint256,address,uint256,address)" "$voucher" \
    0x88c555abf18e4bd21aa2bd2f745d0eb6b0776963d5798557e48a6b77e6ab6833 "$ftb" 1 "$executor_b") || return 1
  deadline=$(($("$CAST" block --rpc-url "$a_rpc" latest --field timestamp) + 900))
  jq --arg owner "$user" --argjson deadline "$deadline" --arg fta "$fta" --arg pool "$pool" --arg data "$data" \
    --arg voucher "$voucher" --arg ftb "$ftb" --arg recipient "$recipient" '
    .owner = $owner | .deadline = $deadline | del(.nonce) |
    .steps[0].transfer.token = $fta |
    .steps[1].call |= (.target = $pool | .data = $data | .token_in = $voucher | .token_out = $ftb) |
    .steps[2].transfer |= (.token = $ftb | .recipient = $recipient) | {intent: .}' \
    "$root/config/sample-intent.json" >"$dir/sample-prepare.json" || return 1
  echo
  echo "Sample intent: $(jq -r '.intent.steps[0].transfer.amount' "$dir/sample-prepare.json") FTA (base units) alpha -> beta," \
    "swap for FTB on beta's pool, FTB beta -> gamma to $recipient"
  # The router pulls the owner's FTA at `open`: the owner allows it first.
  "$CAST" send --rpc-url "$a_rpc" --private-key "$user_key" "$fta" "approve(address,uint256)" "$router_a" "$amount" \
    >"$dir/sample-approve.log" 2>&1 || { echo "devnet: approve failed: $(tail -2 "$dir/sample-approve.log")" >&2; return 1; }
  curl -sf -H "$auth" -H 'content-type: application/json' --data-binary "@$dir/sample-prepare.json" \
    "$api/v1/intents/prepare" >"$dir/sample-prepared.json" ||
    { echo "devnet: POST /v1/intents/prepare failed: $(curl -s -H "$auth" --data-binary "@$dir/sample-prepare.json" "$api/v1/intents/prepare")" >&2; return 1; }
  id=$(jq -r .intent_id "$dir/sample-prepared.json")
  # The owner signs the intent id (the EIP-712 digest of the typed data prepare returned).
  sig=$("$CAST" wallet sign --no-hash "$id" --private-key "$user_key") || return 1
  jq --arg sig "$sig" '{intent: .intent, signature: $sig}' "$dir/sample-prepared.json" >"$dir/sample-intent.json"
  out=$(curl -s -H "$auth" -H 'content-type: application/json' --data-binary "@$dir/sample-intent.json" "$api/v1/intents")
  [ "$(jq -r '.intent_id // empty' <<<"$out" 2>/dev/null)" = "$id" ] ||
    { echo "devnet: POST /v1/intents refused the sample intent: $out" >&2; return 1; }
  echo "Submitted intent $id (owner $user); its hops (${ferry#$root/} hops --intent $id):"
  t0=$(date +%s)
  end=$((t0 + 180))
  while [ "$(date +%s)" -le "$end" ]; do
    # what moved: the intent's state and each hop's state (ages tick every second: not a change)
    out=$(curl -sf -H "$auth" "$api/v1/intents/$id" | jq -r '"\(.state) \([.hops[].state] | join(","))"') || out=""
    state=${out%% *}
    if [ -n "$out" ] && [ "$out" != "$last" ]; then
      echo "--- $(($(date +%s) - t0)) s: intent $state"
      "$ferry" hops --intent "$id" --config "$dir/ferry.json" 2>&1 || true
      last=$out
    fi
    case $state in COMPLETED | REFUNDED | CANCELLED | STUCK) break ;; esac
    sleep 1
  done
  echo "Sample intent $id: ${state:-unknown} after $(($(date +%s) - t0)) s (${ferry#$root/} intent show $id --config ${dir#$root/}/ferry.json)"
  [ "$state" = COMPLETED ]
}

cmd_run() {
  cmd_up
  # Whatever way this ends, the daemon and the chains stop.
  local daemon=""
  stop_all() {
    trap - INT TERM EXIT
    if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
      kill -TERM "$daemon" 2>/dev/null || true
      wait "$daemon" 2>/dev/null || true
    fi
    cmd_down
  }
  trap 'stop_all; exit 0' INT TERM
  trap stop_all EXIT
  if "$ferry" help start >/dev/null 2>&1; then
    echo
    echo "Starting the daemon: ${ferry#$root/} start --config ${dir#$root/}/ferry.json (Ctrl-C stops it and the chains)"
    # Every log line goes to ferry.log; the terminal shows warnings and errors only, so that the
    # sample intent's hop table stays readable (FERRY_DEVNET_LOG=all shows everything).
    if [ "${FERRY_DEVNET_LOG:-}" = all ]; then
      "$ferry" start --config "$dir/ferry.json" 2> >(tee "$dir/ferry.log" >&2) &
    else
      echo "(the daemon's full log: tail -f ${dir#$root/}/ferry.log; warnings and errors show here)"
      "$ferry" start --config "$dir/ferry.json" 2> >(tee "$dir/ferry.log" | grep --line-buffered -E '"level":"(warn|error)"' >&2) &
    fi
    daemon=$!
    echo "$daemon" >"$dir/ferry.pid"
    if [ "${FERRY_DEVNET_SAMPLE:-1}" != 0 ]; then
      sample_intent || echo "devnet: the sample intent did not complete (the daemon keeps running; see above)"
      echo "The daemon keeps running (Ctrl-C stops it and the chains); scripts/devnet.sh sample submits another."
    fi
    local rc=0
    wait "$daemon" || rc=$?
    daemon=""
    rm -f "$dir/ferry.pid"
    echo "devnet: the daemon exited with status $rc"
    if [ "$rc" -ne 0 ] && grep -q "chain family .* not available" "$dir/ferry.log" 2>/dev/null; then
      echo "devnet: this build has no EVM chain adapter yet; the chains keep running until Ctrl-C (or scripts/devnet.sh down)."
      keep_chains
    fi
    return "$rc"
  fi
  echo
  echo "This ferry has no 'start' command yet: the chains keep running until Ctrl-C (or scripts/devnet.sh down)."
  keep_chains
}

keep_chains() {
  while live_pid "$dir/anvil-alpha.pid" >/dev/null; do sleep 1; done
  echo "devnet: alpha stopped; stopping the rest"
}

case ${1:-} in
  run) cmd_run ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  sample) need_tools; sample_intent ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
