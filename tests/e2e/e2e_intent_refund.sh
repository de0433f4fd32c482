#!/usr/bin/env bash
# Intent refunds end to end (issue 6), one devnet and one daemon, four intents one after the other
# (the sample route: FTA alpha -> beta, swap on beta's pool, FTB beta -> gamma):
#   1. min_amount_out one above the pool's quote, refund "origin": the swap fails on beta, the voucher
#      goes home, the owner's FTA on alpha is exactly restored; REFUNDED.
#   2. the same with refund {"recovery": ADDR}: the voucher (exactly the amount) is paid to ADDR on beta.
#   3. the deadline passes mid-route: beta paused through the API once step 0 left, beta's clock moved
#      past the deadline (evm_increaseTime), resumed: step 1 fails (DeadlinePassed), the owner is refunded
#      on alpha exactly.
#   4. a hop times out while its destination is stopped: beta's clock is moved past the hop's timeout and
#      beta frozen (kill -STOP) before the intent is submitted; step 0 leaves alpha, beta is let run
#      again, the packet times out, the funds come back to alpha's router and then the owner, exactly.
# Beta's clock only moves forward, so the two clock cases come last. TAP lines.
set -u
cd "$(dirname "$0")/../.."

. tests/e2e/intent_lib.sh # intent_setup, intent_start, api, intent_3step, intent_submit, ...
intent_setup
intent_start
amount=1000000000000000000
recovery=$("$cast" wallet address --private-key "$(dev_key 6)")
rcpt_before=$(bal "$rpc_c" "$ftb_gamma" "$recipient")

# submit_or_fail NAME FILE: the id, or a "not ok" line and the script ends.
submit_or_fail() {
  local id
  if id=$(intent_submit "$2" 2>"$tmp/submit.err"); then echo "$id"; else
    notok "$1: the intent is accepted" "$(cat "$tmp/submit.err")" >&2
    return 1
  fi
}
# ended NAME ID SECONDS: true when REFUNDED in time (a "not ok" otherwise).
refunded() {
  local t0
  t0=$(date +%s)
  if wait_state "$3" "$2" COMPLETED REFUNDED CANCELLED STUCK && [ "$(intent_state "$2")" = REFUNDED ]; then
    ok "$1: the intent is REFUNDED ($(($(date +%s) - t0)) s)"
  else
    notok "$1: the intent is REFUNDED" "$(describe "$2")"
    return 1
  fi
}

# ---- 1. min_amount_out cannot be met, policy origin ----
c="min_out/origin"
q=$(quote $amount)
owner_before=$(bal "$rpc_a" "$fta" "$owner")
intent_3step $amount "$(echo "$q + 1" | bc)" >"$tmp/i1.json"
id1=$(submit_or_fail "$c" "$tmp/i1.json") || finish
refunded "$c" "$id1" 60
get_intent "$id1"
check "$c: hop 0 DONE, hop 1 (the swap) FAILED then REFUNDED, hop 2 never started" \
  test "$(jq -r '[.hops[].state] | join(",")' "$tmp/intent.json")" = DONE,REFUNDED,WAITING
check "$c: hop 1's error names the router's error, decoded (InsufficientOutput with the amounts)" \
  quiet jq -e '.hops[1].error | test("call failed: InsufficientOutput\\(uint256 amountOut=[0-9]+, uint256 minAmountOut=[0-9]+\\)")' "$tmp/intent.json"
check "$c: hop 1 entered FAILED before REFUNDED" \
  quiet jq -e '.hops[1].entered.FAILED > 0 and .hops[1].entered.REFUNDED >= .hops[1].entered.FAILED' "$tmp/intent.json"
check "$c: alpha: the owner's FTA is exactly restored" test "$(bal "$rpc_a" "$fta" "$owner")" = "$owner_before"
check "$c: the swap did not run (the pool's quote is unchanged)" test "$(quote $amount)" = "$q"
check "$c: step 1 never executed (no StepExecuted for it on beta)" test "$(steps_executed "$rpc_b" "$id1" 1)" = 0
jcheck "$c: the funds are with the owner on alpha, exactly the amount" "$tmp/intent.json" --arg o "$owner" --arg a $amount \
  '.funds.chain == "alpha" and (.funds.holder | ascii_downcase) == ($o | ascii_downcase) and .funds.amount == $a'
check "$c: the intent's reason says why" quiet jq -e '.reason | length > 0' "$tmp/intent.json"

# ---- 2. min_amount_out cannot be met, policy recovery ----
c="min_out/recovery"
owner_before=$(bal "$rpc_a" "$fta" "$owner")
rec_before=$(bal "$rpc_b" "$voucher" "$recovery")
intent_3step $amount "$(echo "$(quote $amount) + 1" | bc)" "{\"recovery\": \"$recovery\"}" >"$tmp/i2.json"
id2=$(submit_or_fail "$c" "$tmp/i2.json") || finish
refunded "$c" "$id2" 60
check "$c: beta: the recovery address got exactly the amount in vouchers" \
  test "$(echo "$(bal "$rpc_b" "$voucher" "$recovery") - $rec_before" | bc)" = $amount
check "$c: alpha: the owner paid exactly the amount (nothing came back there)" \
  test "$(echo "$owner_before - $(bal "$rpc_a" "$fta" "$owner")" | bc)" = $amount
get_intent "$id2"
check "$c: the funds are with the recovery address on beta" \
  quiet jq -e --arg r "$recovery" --arg a $amount '.funds.chain == "beta" and (.funds.holder | ascii_downcase) == ($r | ascii_downcase)
    and .funds.amount == $a' "$tmp/intent.json"
check "$c: the recovery address was not the owner's: the owner got no voucher" test "$(bal "$rpc_b" "$voucher" "$owner")" = 0
check "$c: beta's router holds nothing" test "$(bal "$rpc_b" "$voucher" "$router_b")" = 0

# ---- 3. the deadline passes mid-route ----
c="deadline"
owner_before=$(bal "$rpc_a" "$fta" "$owner")
code=$(api POST /v1/chains/beta/pause)
check "$c: POST /v1/chains/beta/pause -> 200, paused" test "$code $(jq -r .paused "$tmp/resp.json" 2>/dev/null)" = "200 true"
deadline=$(($(chain_time "$rpc_a") + 400))
intent_3step $amount 1 '"origin"' $deadline >"$tmp/i3.json"
id3=$(submit_or_fail "$c" "$tmp/i3.json") || finish
if wait_hop 60 "$id3" 0 DONE; then ok "$c: step 0 lands on beta (hop 0 DONE)"; else notok "$c: step 0 lands on beta" "$(describe "$id3")"; fi
sleep 2
check "$c: beta paused: step 1 is held (hop 1 WAITING)" test "$(hop_states "$id3")" = DONE,WAITING,WAITING
warp "$rpc_b" $((deadline - $(chain_time "$rpc_b") + 5))
check "$c: beta's clock is past the deadline" test "$(chain_time "$rpc_b")" -ge "$deadline"
code=$(api POST /v1/chains/beta/resume)
check "$c: POST /v1/chains/beta/resume -> 200, not paused" test "$code $(jq -r .paused "$tmp/resp.json" 2>/dev/null)" = "200 false"
refunded "$c" "$id3" 60
check "$c: alpha: the owner's FTA is exactly restored" test "$(bal "$rpc_a" "$fta" "$owner")" = "$owner_before"
check "$c: step 1 never executed" test "$(steps_executed "$rpc_b" "$id3" 1)" = 0
get_intent "$id3"
jcheck "$c: the record says the deadline passed (hop 1's error or the reason)" "$tmp/intent.json" \
  '(.hops[1].error + " " + .reason) | test("(?i)deadline")'
jcheck "$c: the funds are with the owner on alpha" "$tmp/intent.json" --arg o "$owner" \
  '.funds.chain == "alpha" and (.funds.holder | ascii_downcase) == ($o | ascii_downcase)'

# ---- 4. a hop times out while its destination is stopped ----
c="hop timeout"
owner_before=$(bal "$rpc_a" "$fta" "$owner")
warp "$rpc_b" 200 # beta is now well past any 60 s hop timeout an alpha packet sent now carries
beta_pid=$(cat "$FERRY_DEVNET_DIR/anvil-beta.pid")
kill -STOP "$beta_pid"
jq '.steps[0].transfer.timeout = 60' <(intent_3step $amount 1) >"$tmp/i4.json"
id4=$(submit_or_fail "$c" "$tmp/i4.json") || { kill -CONT "$beta_pid"; finish; }
if wait_hop 60 "$id4" 0 IN_FLIGHT; then ok "$c: with beta stopped, step 0 leaves alpha (hop 0 IN_FLIGHT)"; else
  notok "$c: with beta stopped, step 0 leaves alpha (hop 0 IN_FLIGHT)" "$(describe "$id4")"
fi
check "$c: the daemon keeps running with beta stopped" kill -0 "$daemon"
kill -CONT "$beta_pid"
refunded "$c" "$id4" 60
get_intent "$id4"
check "$c: hop 0 entered TIMED_OUT, then REFUNDED" \
  quiet jq -e '.hops[0].entered.TIMED_OUT > 0 and .hops[0].state == "REFUNDED"' "$tmp/intent.json"
check "$c: alpha: the owner's FTA is exactly restored" test "$(bal "$rpc_a" "$fta" "$owner")" = "$owner_before"
check "$c: beta: no voucher was minted for it (the router there holds none)" test "$(bal "$rpc_b" "$voucher" "$router_b")" = 0

check "the recipient on gamma got nothing from any of the four" test "$(bal "$rpc_c" "$ftb_gamma" "$recipient")" = "$rcpt_before"
check "alpha's router holds no FTA" test "$(bal "$rpc_a" "$fta" "$router_a")" = 0
daemon_stop
check "SIGTERM stops the daemon with exit 0" test "$stop_rc" -eq 0
echo "# wall time $(($(date +%s) - start)) s"
finish
