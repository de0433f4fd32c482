#!/usr/bin/env bash
# End-to-end multi-hop intent (issue 6): on a devnet of its own, with `ferry start` running, the owner
# (anvil account 4) prepares, signs (cast wallet sign --no-hash over the intent id) and submits through
# the API the three-step intent: 1 FTA alpha -> beta, swap the FTA@alpha voucher for FTB on beta's pool,
# all the FTB beta -> gamma to the recipient. It must end COMPLETED with every hop DONE, the recipient's
# FTB (a voucher on gamma) up by exactly the pool's quote taken before it ran, the owner's FTA on alpha
# down by exactly the amount, each step executed once, and `ferry hops` showing it. TAP lines.
set -u
cd "$(dirname "$0")/../.."

. tests/e2e/intent_lib.sh # intent_setup, intent_start, api, intent_3step, intent_submit, ...
intent_setup
intent_start

amount=1000000000000000000
q=$(quote $amount)
check "beta's pool quotes a positive FTB output for 1 FTA@alpha ($q)" test "${q:-0}" -gt 0
owner_before=$(bal "$rpc_a" "$fta" "$owner")
rcpt_before=$(bal "$rpc_c" "$ftb_gamma" "$recipient")
intent_3step $amount "$q" >"$tmp/intent-in.json"
if id=$(intent_submit "$tmp/intent-in.json" 2>"$tmp/submit.err"); then
  ok "the intent is prepared, signed and accepted (202, id $id)"
else
  notok "the intent is prepared, signed and accepted" "$(cat "$tmp/submit.err")"
  finish
fi
check "prepare gave typed data for the id (domain Ferry Intent on alpha's router)" \
  quiet jq -e --arg r "$router_a" '.typed_data.domain.name == "Ferry Intent" and
    (.typed_data.domain.verifyingContract | ascii_downcase) == ($r | ascii_downcase) and
    (.typed_data.domain.chainId | tostring) == "31337"' "$tmp/prepared.json"
# cast signs the typed data the API gave to the same signature as over the id: they describe one intent.
jq .typed_data "$tmp/prepared.json" >"$tmp/typed.json"
check "cast wallet sign --data over the typed data = the signature over the id" \
  test "$("$cast" wallet sign --data --from-file "$tmp/typed.json" --private-key "$owner_key" 2>&1)" = "$(sign_id "$id")"

t0=$(date +%s)
if wait_state 90 "$id" COMPLETED REFUNDED CANCELLED STUCK && [ "$(intent_state "$id")" = COMPLETED ]; then
  ok "the intent is COMPLETED ($(($(date +%s) - t0)) s)"
else
  notok "the intent is COMPLETED" "$(describe "$id")"
fi
get_intent "$id"
check "every hop is DONE" test "$(jq -r '[.hops[].state] | join(",")' "$tmp/intent.json")" = DONE,DONE,DONE
check "the hops name their chains: alpha->beta, beta, beta->gamma" \
  test "$(jq -r '[.hops[] | "\(.kind):\(.chain)->\(.to_chain)"] | join(" ")' "$tmp/intent.json")" = \
  "transfer:alpha->beta call:beta->null transfer:beta->gamma"
check "each transfer hop records its packet sequence and a transaction" \
  quiet jq -e '[.hops[] | select(.kind == "transfer")] | all(.sequence > 0 and (.txs | length) > 0)' "$tmp/intent.json"
check "the funds are with the recipient on gamma, exactly the quote" \
  quiet jq -e --arg r "$recipient" --arg q "$q" '.funds.chain == "gamma" and (.funds.holder | ascii_downcase) == ($r | ascii_downcase)
    and .funds.amount == $q and .funds.in_flight == false' "$tmp/intent.json"
rcpt_after=$(bal "$rpc_c" "$ftb_gamma" "$recipient")
check "gamma: the recipient's FTB grew by exactly the pool's quote ($q)" \
  test "$(echo "$rcpt_after - $rcpt_before" | bc)" = "$q"
check "alpha: the owner's FTA fell by exactly the amount" \
  test "$(echo "$owner_before - $(bal "$rpc_a" "$fta" "$owner")" | bc)" = $amount
check "each step executed exactly once (StepExecuted on alpha for 0, on beta for 1 and 2)" \
  test "$(steps_executed "$rpc_a" "$id" 0) $(steps_executed "$rpc_b" "$id" 1) $(steps_executed "$rpc_b" "$id" 2)" = "1 1 1"
check "no router holds anything after it (alpha FTA, beta voucher and FTB)" \
  test "$(bal "$rpc_a" "$fta" "$router_a") $(bal "$rpc_b" "$voucher" "$router_b") $(bal "$rpc_b" "$ftb" "$router_b")" = "0 0 0"

"$ferry" hops --intent "$id" --json --config "$cfg" >"$tmp/hops.json" 2>"$tmp/hops.err"
check "ferry hops --intent --json lists the three hops, DONE" \
  quiet jq -e '[.. | objects | select(has("state") and has("index")) | .state] | . == ["DONE","DONE","DONE"]' "$tmp/hops.json"
"$ferry" hops --intent "$id" --config "$cfg" >"$tmp/hops.txt" 2>&1
check "ferry hops (human) prints one line per hop" test "$(grep -c DONE "$tmp/hops.txt")" -eq 3
"$ferry" intent show "$id" --json --config "$cfg" >"$tmp/show.json" 2>&1
check "ferry intent show --json: COMPLETED" quiet jq -e '.. | objects | select(has("intent_id")) | .state == "COMPLETED"' "$tmp/show.json"

# What `make run` does once the daemon is up (scripts/devnet.sh sample_intent), here as `devnet.sh sample`.
rcpt_before=$(bal "$rpc_c" "$ftb_gamma" "$recipient")
t0=$(date +%s)
scripts/devnet.sh sample >"$tmp/sample.log" 2>&1
rc=$?
check "make run's sample intent: devnet.sh sample ends COMPLETED with status 0 ($(($(date +%s) - t0)) s)" \
  test "$rc $(sed -n 's/^Sample intent 0x[0-9a-f]*: \([A-Z]*\) after.*/\1/p' "$tmp/sample.log")" = "0 COMPLETED"
check "... printing the hops as they moved (an intent line per change, the three hops DONE at the end)" \
  test "$(grep -c '^--- ' "$tmp/sample.log")" -ge 3 -a "$(tail -5 "$tmp/sample.log" | grep -c DONE)" -eq 3
check "... and the recipient got FTB on gamma" test "$(echo "$(bal "$rpc_c" "$ftb_gamma" "$recipient") > $rcpt_before" | bc)" = 1
[ "$failed" -eq 0 ] || sed 's/^/# sample: /' "$tmp/sample.log" | tail -20

daemon_stop
check "SIGTERM stops the daemon with exit 0" test "$stop_rc" -eq 0
"$ferry" hops --intent "$id" --json --config "$cfg" >"$tmp/hops2.json" 2>&1
check "with the daemon down, ferry hops reads the DONE hops from the store" \
  quiet jq -e '[.. | objects | select(has("state") and has("index")) | .state] | . == ["DONE","DONE","DONE"]' "$tmp/hops2.json"
echo "# wall time $(($(date +%s) - start)) s"
finish
