# Shared helpers of the intent end-to-end scripts (tests/e2e/e2e_intent*.sh) and the intent benchmark.
# Sourced from the repository root. An e2e script calls intent_setup first; the benchmark instead
# sources tests/e2e/lib.sh and sets $root, $ferry, $cast and $tmp itself.
#
#   intent_setup              the start of every intent e2e script: lib.sh and its e2e_setup ($root,
#                             $ferry, $cast, a fresh $tmp, e2e_cleanup on exit, $start; "not ok 1" and
#                             exit 1 when ferry, cast or curl is missing).
#   intent_start              devnet_up then daemon_start, each a TAP line; the script finishes (exits)
#                             when either fails.
#   devnet_up [BLOCK_TIME]    a devnet of its own (scripts/devnet.sh up on free ports in 22000-23999,
#                             FERRY_DEVNET_DIR=$tmp/devnet), the daemon's config tuned for short runs,
#                             and the variables below; the owner approves alpha's router for its FTA.
#   daemon_start [CRASH_AT]   `ferry start` in the background (log appended to $tmp/ferry.log), waits for
#                             /healthz; daemon_stop (SIGTERM; status in $stop_rc), daemon_kill (SIGKILL).
#   api METHOD PATH [BODY]    one API call (token sent); the body answered goes to $tmp/resp.json, the
#                             HTTP status is printed.
#   intent_3step AMOUNT [MIN_OUT] [REFUND_JSON] [DEADLINE]
#                             the sample intent as JSON: AMOUNT FTA alpha -> beta, swap the voucher for
#                             FTB on beta's pool, all the FTB beta -> gamma to the recipient.
#   intent_submit FILE [KEY]  prepare, sign the id with KEY (the owner's by default), submit: prints the
#                             id; the prepared answer stays in $tmp/prepared.json.
#   intent_state ID, wait_state SECONDS ID STATE..., hop_states ID
#   bal RPC TOKEN ADDR, quote AMOUNT, steps_executed RPC ID STEP (StepExecuted logs of that step)
#   chain_time RPC, warp RPC SECONDS (evm_increaseTime + evm_mine)
# Variables after devnet_up: d (deployments.json), cfg, token_file, rpc_a rpc_b rpc_c, router_a/b/c,
# fta (FTA on alpha), ftb (FTB on beta), voucher (FTA@alpha on beta), pool (its pool with FTB on beta),
# executor_b, ftb_gamma (FTB@beta on gamma, a voucher), owner owner_key (anvil 4), recipient (anvil 5),
# api_url.

export BC_LINE_LENGTH=0 # bc must not wrap 78-digit numbers
AMOUNT_IN=0x88c555abf18e4bd21aa2bd2f745d0eb6b0776963d5798557e48a6b77e6ab6833 # keccak256("Ferry.AMOUNT_IN")
daemon=""

rpc_call() { # rpc_call URL METHOD PARAMS_JSON: the result (jq -c)
  curl -sf -H 'content-type: application/json' \
    --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "$1" | jq -c .result
}
chain_time() { "$cast" block --rpc-url "$1" latest --field timestamp 2>/dev/null; }
warp() { rpc_call "$1" evm_increaseTime "[$2]" >/dev/null && rpc_call "$1" evm_mine "[]" >/dev/null; }
# bal RPC TOKEN ADDR: 0 for a voucher not deployed yet (its address is known before its first mint).
bal() {
  local out
  if out=$("$cast" call --rpc-url "$1" "$2" "balanceOf(address)(uint256)" "$3" 2>/dev/null); then echo "${out%% *}"
  elif [ "$("$cast" code --rpc-url "$1" "$2" 2>/dev/null)" = 0x ]; then echo 0
  else echo "?balance-error"; fi # (bc rejects it: no arithmetic on a failed read)
}
quote() { "$cast" call --rpc-url "$rpc_b" "$pool" "quote(address,uint256,address)(uint256)" "$voucher" "$1" "$ftb" | cut -d' ' -f1; }
dev_key() { sed -n "s/^($1) \(0x[0-9a-fA-F]\{64\}\)\$/\1/p" "$FERRY_DEVNET_DIR/anvil-alpha.log" | head -1; }

intent_setup() {
  . tests/e2e/lib.sh # ok/notok/check/quiet/finish, port_free, wait_for, e2e_setup (its cleanup: e2e_cleanup)
  e2e_setup
}

intent_start() {
  devnet_up || finish
  if daemon_start; then ok "ferry start serves the API"; else
    notok "ferry start serves the API" "$(tail -5 "$tmp/ferry.log")"
    finish
  fi
}

# devnet_up [BLOCK_TIME]: false (with a "not ok" line) when anything fails.
devnet_up() {
  local bt=${1:-0.5} ms
  e2e_ports 4 22000 1990 # the range this project's intent tests use
  export FERRY_DEVNET_DIR=$tmp/devnet FERRY_DEVNET_BLOCK_TIME=$bt
  if ! scripts/devnet.sh up >"$tmp/up.log" 2>&1; then
    notok "devnet up" "$(tail -5 "$tmp/up.log")"
    return 1
  fi
  d=$FERRY_DEVNET_DIR/deployments.json
  cfg=$FERRY_DEVNET_DIR/ferry.json
  token_file=$FERRY_DEVNET_DIR/api-token
  api_url=http://$FERRY_DEVNET_API
  # Short runs: blocks every $bt s, one confirmation (anvil never reorgs), quick polls and retries.
  ms=$(echo "$bt * 1000 / 1" | bc)
  jq --arg bt "${ms}ms" '.chains |= map(.block_time = $bt | .poll_interval = "100ms" | .confirmations = 1) |
      .log_level = "info"' "$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg"
  rpc_a=$(jq -r '.chains[0].rpc' "$d") rpc_b=$(jq -r '.chains[1].rpc' "$d") rpc_c=$(jq -r '.chains[2].rpc' "$d")
  router_a=$(jq -r '.chains[0].router' "$d") router_b=$(jq -r '.chains[1].router' "$d")
  router_c=$(jq -r '.chains[2].router' "$d")
  executor_b=$(jq -r '.chains[1].executor' "$d")
  fta=$(jq -r '.chains[0].tokens.FTA' "$d") ftb=$(jq -r '.chains[1].tokens.FTB' "$d")
  owner=$(jq -r .accounts.user "$d") recipient=$(jq -r .accounts.recipient "$d")
  owner_key=$(dev_key 4)
  voucher=$(jq -r '.chains[1].vouchers["FTA@alpha"] // empty' "$d")
  [ -n "$voucher" ] || voucher=$("$cast" call --rpc-url "$rpc_b" "$(jq -r '.chains[1].vault' "$d")" \
    "voucherOf(uint64,address)(address)" 31337 "$fta")
  pool=$(jq -r '.chains[1].pools["FTA@alpha/FTB"] // empty' "$d")
  ftb_gamma=$("$cast" call --rpc-url "$rpc_c" "$(jq -r '.chains[2].vault' "$d")" \
    "voucherOf(uint64,address)(address)" 31338 "$ftb")
  if [ -z "$pool" ] || [ ${#voucher} -ne 42 ] || [ ${#ftb_gamma} -ne 42 ]; then
    notok "devnet up with the voucher pool on beta" "pool '$pool' voucher '$voucher' in $d: $(jq -c '.chains[1] | {vouchers, pools}' "$d")"
    return 1
  fi
  if ! "$cast" send --rpc-url "$rpc_a" --private-key "$owner_key" "$fta" "approve(address,uint256)" "$router_a" \
    "$("$cast" max-uint)" >"$tmp/approve.log" 2>&1; then
    notok "the owner approves alpha's router" "$(tail -3 "$tmp/approve.log")"
    return 1
  fi
  ok "devnet up on ports $FERRY_DEVNET_PORTS, blocks every $bt s, voucher pool $pool on beta"
}

# daemon_start [CRASH_AT]: false if it does not serve /healthz within 30 s.
daemon_start() {
  echo "=== start FERRY_CRASH_AT=${1:-}" >>"$tmp/ferry.log"
  FERRY_CRASH_AT=${1:-} "$ferry" start --config "$cfg" 2>>"$tmp/ferry.log" &
  daemon=$!
  wait_for 30 sh -c "curl -sf $api_url/healthz >/dev/null 2>&1 || ! kill -0 $daemon 2>/dev/null"
  kill -0 "$daemon" 2>/dev/null && curl -sf "$api_url/healthz" >/dev/null 2>&1
}
daemon_gone() { [ -z "$daemon" ] || ! kill -0 "$daemon" 2>/dev/null; }
# daemon_stop: SIGTERM (SIGKILL after 15 s); its exit status in $stop_rc (not in a subshell: only
# this shell can wait for it).
daemon_stop() {
  stop_rc=0
  [ -n "$daemon" ] || return 0
  kill -TERM "$daemon" 2>/dev/null
  wait_for 15 daemon_gone || kill -9 "$daemon" 2>/dev/null
  wait "$daemon" 2>/dev/null || stop_rc=$?
  daemon=""
}
daemon_kill() {
  [ -n "$daemon" ] || return 0
  kill -9 "$daemon" 2>/dev/null
  wait "$daemon" 2>/dev/null
  daemon=""
}

# api METHOD PATH [BODY_FILE|-]: prints the HTTP status; the answer is in $tmp/resp.json.
api() {
  local args=(-s -o "$tmp/resp.json" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $(cat "$token_file")")
  [ $# -ge 3 ] && args+=(-H 'content-type: application/json' --data-binary "@$3")
  curl "${args[@]}" "$api_url$2" 2>/dev/null || echo 000
}

# swap_data: the call's calldata: pool.swap(voucher, AMOUNT_IN, FTB, 1, executor of beta's router).
swap_data() { "$cast" calldata "swap(address,uint256,address,uint256,address)" "$voucher" "$AMOUNT_IN" "$ftb" 1 "$executor_b"; }

# intent_3step AMOUNT [MIN_OUT] [REFUND_JSON] [DEADLINE] [OWNER]
intent_3step() {
  local amount=$1 min=${2:-1} refund=${3:-'"origin"'} deadline=${4:-} who=${5:-$owner}
  [ -n "$deadline" ] || deadline=$(($(date +%s) + 900))
  jq -n --arg owner "$who" --argjson deadline "$deadline" --argjson refund "$refund" \
    --arg fta "$fta" --arg amount "$amount" --arg pool "$pool" --arg data "$(swap_data)" --arg voucher "$voucher" \
    --arg ftb "$ftb" --arg min "$min" --arg recipient "$recipient" '
    { owner: $owner, origin_chain: "alpha", deadline: $deadline, refund: $refund,
      steps: [
        {transfer: {token: $fta, amount: $amount, to_chain: "beta"}},
        {call: {chain: "beta", target: $pool, data: $data, token_in: $voucher, token_out: $ftb, min_amount_out: $min}},
        {transfer: {token: $ftb, amount: "all", to_chain: "gamma", recipient: $recipient}} ] }'
}

# sign_id ID [KEY]: the owner's signature over the intent id (the EIP-712 digest itself).
sign_id() { "$cast" wallet sign --no-hash "$1" --private-key "${2:-$owner_key}"; }

# intent_submit FILE [KEY]: prints the id; false (the answer in $tmp/resp.json) when refused.
intent_submit() {
  local code id sig
  jq '{intent: .}' "$1" >"$tmp/prep-body.json"
  code=$(api POST /v1/intents/prepare "$tmp/prep-body.json")
  [ "$code" = 200 ] || { echo "prepare: HTTP $code $(cat "$tmp/resp.json")" >&2; return 1; }
  cp "$tmp/resp.json" "$tmp/prepared.json"
  id=$(jq -r .intent_id "$tmp/prepared.json")
  sig=$(sign_id "$id" "${2:-}") || return 1
  jq --arg sig "$sig" '{intent: .intent, signature: $sig}' "$tmp/prepared.json" >"$tmp/submit-body.json"
  code=$(api POST /v1/intents "$tmp/submit-body.json")
  [ "$code" = 202 ] && [ "$(jq -r .intent_id "$tmp/resp.json")" = "$id" ] ||
    { echo "submit: HTTP $code $(cat "$tmp/resp.json")" >&2; return 1; }
  echo "$id"
}

# get_intent ID: the record in $tmp/intent.json.
get_intent() {
  curl -sf -H "Authorization: Bearer $(cat "$token_file")" "$api_url/v1/intents/$1" >"$tmp/intent.json" 2>/dev/null
}
intent_state() { get_intent "$1" && jq -r .state "$tmp/intent.json"; }
hop_states() { get_intent "$1" && jq -r '[.hops[].state] | join(",")' "$tmp/intent.json"; }
# wait_state SECONDS ID STATE...: true once the intent is in one of the states.
wait_state() {
  local secs=$1 id=$2 s
  shift 2
  in_state() {
    s=$(intent_state "$id") || return 1
    local w
    for w in "$@"; do [ "$s" = "$w" ] && return 0; done
    return 1
  }
  wait_for "$secs" in_state "$@"
}
# wait_hop SECONDS ID INDEX STATE...: true once hop INDEX is in one of the states.
wait_hop() {
  local secs=$1 id=$2 i=$3
  shift 3
  hop_in() {
    get_intent "$id" || return 1
    local s w
    s=$(jq -r --argjson i "$i" '.hops[$i].state' "$tmp/intent.json")
    for w in "$@"; do [ "$s" = "$w" ] && return 0; done
    return 1
  }
  wait_for "$secs" hop_in "$@"
}
# jcheck DESC FILE JQ_ARGS...: a check on a JSON file (jq -e); on failure the detail shows the file.
jcheck() {
  local desc=$1 file=$2
  shift 2
  if jq -e "$@" "$file" >/dev/null 2>&1; then ok "$desc"; else
    notok "$desc" "$(jq -c 'if type == "object" and has("intent_id") and has("hops")
      then {state, reason, funds, hops: [.hops[] | {state, error, funds}]} else . end' "$file" 2>/dev/null | head -c 1500)"
  fi
}
# describe ID: one line for a failure's detail.
describe() {
  get_intent "$1" && jq -c '{state, reason, current_step, hops: [.hops[] | {state, error}], funds}' "$tmp/intent.json"
  echo "log: $(grep -v '^===' "$tmp/ferry.log" | tail -3)"
}

# steps_executed RPC ID STEP: how many StepExecuted(id, step) logs that chain's router emitted.
steps_executed() {
  local router=$router_a
  [ "$1" = "$rpc_b" ] && router=$router_b
  [ "$1" = "$rpc_c" ] && router=$router_c
  "$cast" logs --rpc-url "$1" --from-block 0 --address "$router" --json \
    "StepExecuted(bytes32 indexed,uint256 indexed,address,uint256,uint64)" "$2" "$(printf '0x%064x' "$3")" 2>/dev/null |
    jq length
}
