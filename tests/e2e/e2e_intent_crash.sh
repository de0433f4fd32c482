#!/usr/bin/env bash
# Intents survive kill -9 (issue 6): one three-step intent (FTA alpha -> beta, swap on beta's pool,
# FTB beta -> gamma) runs while the daemon is killed again and again, each time restarted; it must end
# COMPLETED with each step executed exactly once on chain (StepExecuted logs counted per step with
# cast logs), the recipient paid exactly the pool's quote taken before, the owner charged exactly once.
#
# The kills, in order; each run of the daemon dies at the first point it reaches (FERRY_CRASH_AT,
# include/ferry/crash.h), then the next run gets the next. Beta is paused through the API before the
# intent (pauses are persisted), so the route waits between steps 0 and 1 until run 4 resumes it.
#   1 orch.after_persist      the orchestrator's first batch that decides a router call is durable, the
#                             call not made: the `open` of step 0 (checked: nothing opened on chain yet)
#   2 txmgr.after_broadcast   a transaction accepted by anvil, no receipt seen: step 0's router call
#   3 hop:0                   kill -9 from outside once hop 0 is DONE (beta paused: checked that steps
#                             1 and 2 have not run): between steps 0 and 1
#   4 resume+orch.after_persist  beta resumed through the API in this run: the decision to run step 1
#                             durable, not sent (checked: step 1 not executed yet)
#   5 txmgr.after_broadcast   inside step 1 (or a delivery or ack in flight)
#   6 orch.after_persist      the next decision: step 2 after step 1 (or step 1 resubmitted)
#   7 txmgr.after_broadcast   inside step 2 (its router call, or its packet's delivery)
#   8 txmgr.after_mined       a receipt seen, not recorded
# Each TAP line says where the kill landed: the hops as the store has them (`ferry hops` while the
# daemon is down) and the StepExecuted logs on chain per step.
set -u
cd "$(dirname "$0")/../.."
crashes=${FERRY_INTENT_CRASHES:-orch.after_persist txmgr.after_broadcast hop:0 resume+orch.after_persist txmgr.after_broadcast orch.after_persist txmgr.after_broadcast txmgr.after_mined}

. tests/e2e/intent_lib.sh # intent_setup, intent_start, api, intent_3step, intent_submit, ...
intent_setup
devnet_up || finish
amount=1000000000000000000
q=$(quote $amount)
owner_before=$(bal "$rpc_a" "$fta" "$owner")
rcpt_before=$(bal "$rpc_c" "$ftb_gamma" "$recipient")
intent_3step $amount "$q" >"$tmp/intent-in.json"

# where: the hop states the store holds (the daemon is down), and StepExecuted logs per step on chain.
where() {
  echo "store $("$ferry" hops --intent "$(iid)" --json --config "$cfg" 2>/dev/null |
    jq -r '[.. | objects | select(has("state") and has("index")) | .state] | join(",")' 2>/dev/null);" \
    "on chain $(executed)"
}
# (before the submission was answered, the id is the one prepare gave)
iid() { if [ -n "$id" ]; then echo "$id"; else jq -r .intent_id "$tmp/prepared.json" 2>/dev/null; fi; }
executed() { echo "$(steps_executed "$rpc_a" "$(iid)" 0) $(steps_executed "$rpc_b" "$(iid)" 1) $(steps_executed "$rpc_b" "$(iid)" 2)"; }
opened() {
  "$cast" logs --rpc-url "$rpc_a" --from-block 0 --address "$router_a" --json \
    "IntentOpened(bytes32 indexed,address indexed,uint256,address,uint256,uint64)" "$(iid)" 2>/dev/null | jq length
}

# Beta paused (persisted) before anything: the route will wait on beta until run 4 resumes it.
daemon_start || { notok "the daemon starts" "$(tail -5 "$tmp/ferry.log")"; finish; }
code=$(api POST /v1/chains/beta/pause)
check "beta paused through the API before the intent" test "$code" = 200
daemon_stop

id=""
k=0
for crash in $crashes; do
  k=$((k + 1))
  resume=""
  case $crash in
    hop:*) point="" ;;
    resume+*) point=${crash#resume+} resume=1 ;;
    *) point=$crash ;;
  esac
  # a crash point may be reached while the daemon starts (it resumes the intent's submissions first)
  if ! daemon_start "$point" && { [ -z "$point" ] || ! daemon_gone; }; then
    notok "kill $k ($crash): the daemon starts" "$(tail -5 "$tmp/ferry.log")"
    finish
  fi
  if [ -z "$id" ] && ! daemon_gone; then
    # the first crash point may be reached while the submission is answered: then the intent is
    # durable or not, and a resubmission after the restart says which
    if id=$(intent_submit "$tmp/intent-in.json" 2>"$tmp/submit.err"); then ok "the intent is accepted (id $id)"; else id=""; fi
  fi
  if [ -n "$resume" ] && ! daemon_gone; then
    code=$(api POST /v1/chains/beta/resume)
    [ "$code" = 200 ] || notok "kill $k: beta resumed through the API" "HTTP $code $(cat "$tmp/resp.json")"
  fi
  t0=$(date +%s)
  if [ -z "$point" ]; then
    i=${crash#hop:}
    if wait_hop 60 "$id" "$i" DONE; then
      sleep 1 # a moment for anything that would (wrongly) start step 1 on the paused chain
      daemon_kill
      w=$(where)
      ok "kill $k: kill -9 from outside once hop $i is DONE ($w)"
    else
      notok "kill $k: hop $i DONE before the kill" "$(describe "$id")"
      daemon_kill
    fi
  elif wait_for 60 daemon_gone; then
    wait "$daemon" 2>/dev/null
    rc=$?
    daemon=""
    w=$(where)
    [ "$k" = 1 ] && opened1=$(opened)
    check "kill $k: the daemon dies at $point by SIGKILL (status $rc, after $(($(date +%s) - t0)) s; $w)" test "$rc" -eq 137
  else
    notok "kill $k: the daemon dies at $point" "still running after 60 s, intent $(intent_state "$id")"
    daemon_kill
    w=$(where)
  fi
  if [ -z "$id" ]; then
    # not acknowledged: submitted again after a restart it must be known (200 existing) or accepted
    # anew (202), with the same id either way
    daemon_start || { notok "restart after kill $k" "$(tail -5 "$tmp/ferry.log")"; finish; }
    # the very body sent before (prepare again would choose another nonce: another intent)
    want=$(jq -r .intent_id "$tmp/prepared.json" 2>/dev/null)
    code=$(api POST /v1/intents "$tmp/submit-body.json")
    if [ -n "$want" ] && { [ "$code" = 202 ] || [ "$code" = 200 ]; } && [ "$(jq -r .intent_id "$tmp/resp.json")" = "$want" ]; then
      id=$want
      ok "after the restart the same body is answered $code ($([ "$code" = 200 ] && echo "known: it was durable" || echo "accepted now"); id $id)"
    else
      notok "after the restart the intent is accepted" "HTTP $code $(cat "$tmp/resp.json"); $(cat "$tmp/submit.err")"
      finish
    fi
    check "... and it is the only intent the daemon has" test "$(curl -sf -H "Authorization: Bearer $(cat "$token_file")" \
      "$api_url/v1/intents" | jq '.intents | length')" = 1
    daemon_kill
  fi
  case $k in
    1) check "kill 1 came before the open: nothing opened on alpha yet ($w)" test "${opened1:-}" = 0 ;;
    3) check "kill 3 came between steps 0 and 1: only step 0 ran ($w)" test "${w#*on chain }" = "1 0 0" ;;
    4) check "kill 4 came before step 1 ran ($w)" test "${w#*on chain }" = "1 0 0" ;;
    6) check "kill 6 came between steps 1 and 2 ($w)" test "${w#*on chain }" = "1 1 0" ;;
  esac
done
if ! daemon_start; then
  notok "the daemon starts without a crash point" "$(tail -5 "$tmp/ferry.log")"
  finish
fi
t0=$(date +%s)
if wait_state 90 "$id" COMPLETED REFUNDED CANCELLED STUCK && [ "$(intent_state "$id")" = COMPLETED ]; then
  ok "after $k kills the intent is COMPLETED ($(($(date +%s) - t0)) s after the last restart)"
else
  notok "after $k kills the intent is COMPLETED" "$(describe "$id")"
fi
check "every hop is DONE" test "$(hop_states "$id")" = DONE,DONE,DONE
s0=$(steps_executed "$rpc_a" "$id" 0) s1=$(steps_executed "$rpc_b" "$id" 1) s2=$(steps_executed "$rpc_b" "$id" 2)
check "each step executed exactly once on chain (StepExecuted: step 0 on alpha $s0, 1 and 2 on beta $s1 $s2)" \
  test "$s0 $s1 $s2" = "1 1 1"
check "opened exactly once (IntentOpened on alpha: $(opened))" test "$(opened)" = 1
check "gamma: the recipient got exactly the pool's quote ($q)" \
  test "$(echo "$(bal "$rpc_c" "$ftb_gamma" "$recipient") - $rcpt_before" | bc)" = "$q"
owner_after=$(bal "$rpc_a" "$fta" "$owner")
check "alpha: the owner paid exactly the amount, once ($owner_before -> $owner_after)" \
  test "$(echo "$owner_before - $owner_after" | bc)" = $amount
check "no router holds anything after it" \
  test "$(bal "$rpc_a" "$fta" "$router_a") $(bal "$rpc_b" "$voucher" "$router_b") $(bal "$rpc_b" "$ftb" "$router_b")" = "0 0 0"
daemon_stop
check "SIGTERM stops the daemon with exit 0" test "$stop_rc" -eq 0
echo "# wall time $(($(date +%s) - start)) s"
finish
