#!/usr/bin/env bash
# The intent API end to end (issue 6), on a devnet of its own with `ferry start`:
# - bad input is refused with 400 and an error naming the field (unsigned, wrongly signed, unknown
#   chain, bad hex, an amount of 2^256, steps that do not chain, an unknown field) or 413 (a body over
#   the cap, with a length or chunked), 401 without the token; nothing is stored: GET /v1/intents lists
#   nothing new and the event journal has no new entry;
# - the same intent twice: the same id, 200 with "existing": true the second time;
# - pause/resume: with beta paused, step 1 waits on beta; resumed, the intent completes;
# - cancel after step 0: 409 with a reason, the intent goes on; cancel before step 0 (alpha paused,
#   the intent PENDING): CANCELLED, the owner's FTA untouched;
# - SSE: a client on /v1/events disconnects mid-route and reconnects with Last-Event-ID: between its
#   two sessions it got every entry of the journal exactly once (ids 1..N, no gap, no duplicate),
#   each a well-formed event.
# TAP lines.
set -u
cd "$(dirname "$0")/../.."

. tests/e2e/intent_lib.sh # intent_setup, intent_start, api, intent_3step, intent_submit, ...
intent_setup
sse=""
trap '[ -n "$sse" ] && kill "$sse" 2>/dev/null; e2e_cleanup' EXIT

intent_start
amount=1000000000000000000
token=$(cat "$token_file")

stored() { # how many intents GET /v1/intents lists
  curl -sf -H "Authorization: Bearer $token" "$api_url/v1/intents?limit=1000" | jq '.intents | length'
}
journal_last() { # the last journal id (?after=0 replays everything; 1 s is enough to read it)
  curl -s -N --max-time 1 -H "Authorization: Bearer $token" "$api_url/v1/events?after=0" 2>/dev/null |
    sed -n 's/^id: \([0-9]*\)\r\{0,1\}$/\1/p' | tail -1
}

# ---- bad input ----
intent_3step $amount >"$tmp/good.json"
code=$(api POST /v1/intents/prepare <(jq '{intent: .}' "$tmp/good.json"))
if [ "$code" = 200 ]; then ok "prepare: 200 for a good intent"; else
  notok "prepare: 200 for a good intent" "HTTP $code $(cat "$tmp/resp.json")"
  finish
fi
cp "$tmp/resp.json" "$tmp/prepared.json"
good_id=$(jq -r .intent_id "$tmp/prepared.json")
jq .intent "$tmp/prepared.json" >"$tmp/norm.json"
good_sig=$(sign_id "$good_id")
n_before=$(stored)
j_before=$(journal_last)
check "GET /v1/intents answers a list (of ${n_before:-?})" test -n "$n_before"

# refused NAME CODE FIELD_REGEX ERROR_REGEX BODY_FILE [PATH]: the answer's status, field and error.
refused() {
  local code
  code=$(api POST "${6:-/v1/intents}" "$5")
  # the field is the part of the error before the first ": ", named once
  if [ "$code" = "$2" ] && jq -e --arg f "$3" --arg e "$4" --argjson s "$2" \
    '.status == $s and ((.field // "") | test($f)) and (.error | test($e)) and
     ((.field // null) as $fld | $fld == null or
       ((.error | startswith($fld + ": ")) and (.error | startswith($fld + ": " + $fld + ": ") | not)))' \
    "$tmp/resp.json" >/dev/null 2>&1; then
    ok "$1: $2 $(jq -c '{field, error}' "$tmp/resp.json")"
  else
    notok "$1: $2, field ~ /$3/, error ~ /$4/" "HTTP $code $(head -c 400 "$tmp/resp.json")"
  fi
}
body() { # body JQ_FILTER_ON_THE_NORMALIZED_INTENT [SIGNATURE]
  jq --arg sig "${2:-$good_sig}" "{intent: ($1), signature: \$sig}" "$tmp/norm.json"
}
body . "" | jq 'del(.signature)' >"$tmp/b1.json"
refused "unsigned" 400 '^signature$' '' "$tmp/b1.json"
body . 0x1234 >"$tmp/b1b.json"
refused "a signature that is not 65 bytes" 400 '^signature$' '65' "$tmp/b1b.json"
body . "$(sign_id "$good_id" "$(dev_key 6)")" >"$tmp/b2.json"
refused "signed by another key than the owner's" 400 '^signature$' '(?i)owner|signer|recover' "$tmp/b2.json"
# the same signature made malleable: s -> n - s, v flipped (recovers to the owner, but high s)
r=${good_sig:2:64} s_=${good_sig:66:64} v=${good_sig:130:2}
hs=$(echo "obase=16; ibase=16; FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 - $(echo "$s_" | tr a-f A-F)" | bc | tr -d '\\\n')
hs=$(printf '%64s' "$hs" | tr ' ' 0)
body . "0x$r$hs$([ "$v" = 1b ] && echo 1c || echo 1b)" >"$tmp/b2c.json"
refused "a malleable (high-s) form of the owner's signature" 400 '^signature$' '(?i)malleable|upper half|high' "$tmp/b2c.json"
body '.deadline += 1' >"$tmp/b2b.json"
refused "signed, then changed (the deadline)" 400 '^signature$' '(?i)owner|signer|recover' "$tmp/b2b.json"
body '.origin_chain = "delta"' >"$tmp/b3.json"
refused "unknown origin chain" 400 '^intent\.origin_chain$' '(?i)chain' "$tmp/b3.json"
body '.steps[0].transfer.to_chain = "omega"' >"$tmp/b3b.json"
refused "unknown destination chain" 400 '^intent\.steps\[0\]\.transfer\.to_chain$' '(?i)chain' "$tmp/b3b.json"
body '.steps[1].call.data = "0xabc"' >"$tmp/b4.json"
refused "odd hex digits in call data" 400 '^intent\.steps\[1\]\.call\.data$' '(?i)hex' "$tmp/b4.json"
body '.steps[1].call.target = "0xZZ00000000000000000000000000000000000000"' >"$tmp/b4b.json"
refused "not hex in an address" 400 '^intent\.steps\[1\]\.call\.target$' '' "$tmp/b4b.json"
body '.steps[0].transfer.amount = "115792089237316195423570985008687907853269984665640564039457584007913129639936"' >"$tmp/b5.json"
refused "amount 2^256" 400 '^intent\.steps\[0\]\.transfer\.amount$' '' "$tmp/b5.json"
body '.steps[1].call.min_amount_out = "115792089237316195423570985008687907853269984665640564039457584007913129639937"' >"$tmp/b5b.json"
refused "min_amount_out 2^256+1" 400 '^intent\.steps\[1\]\.call\.min_amount_out$' '' "$tmp/b5b.json"
body '.steps[2].transfer.token = .steps[1].call.token_in' >"$tmp/b6.json"
refused "steps that do not chain (step 2 moves another token than step 1's output)" 400 '^intent\.steps\[2\]' '(?i)token' "$tmp/b6.json"
body '.steps[1].call.chain = "gamma"' >"$tmp/b6b.json"
refused "steps that do not chain (a call on gamma while the funds are on beta)" 400 '^intent\.steps\[1\]\.call\.chain$' '(?i)chain|beta' "$tmp/b6b.json"
body '.steps[0].transfer.colour = "blue"' >"$tmp/b7.json"
refused "an unknown field" 400 '^intent\.steps\[0\]\.transfer' 'colour' "$tmp/b7.json"
echo '{"intent": ' >"$tmp/b8.json"
refused "malformed JSON" 400 '' '(?i)json' "$tmp/b8.json"
jq '{intent: .}' "$tmp/good.json" | jq '.intent.origin_chain = "delta"' >"$tmp/b9.json"
refused "prepare: unknown origin chain" 400 '^intent\.origin_chain$' '(?i)chain' "$tmp/b9.json" /v1/intents/prepare
cap=$(jq -r '.api.max_body_bytes // 1048576' "$cfg")
head -c "$cap" /dev/zero | tr '\0' ' ' >"$tmp/pad"
{ printf '{"pad": "'; cat "$tmp/pad"; printf '", "intent": {}}'; } >"$tmp/big.json"
refused "a body over the cap ($cap bytes)" 413 '' '(?i)larger|body' "$tmp/big.json"
code=$(curl -s -o "$tmp/resp.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
  -H 'Transfer-Encoding: chunked' -H 'content-type: application/json' --data-binary "@$tmp/big.json" "$api_url/v1/intents")
check "a chunked body over the cap: 413 (HTTP $code)" test "$code" = 413
body . >"$tmp/good-body.json"
code=$(curl -s -o "$tmp/resp.json" -w '%{http_code}' -X POST -H 'content-type: application/json' \
  --data-binary "@$tmp/good-body.json" "$api_url/v1/intents")
check "without the token: 401" test "$code" = 401
code=$(curl -s -o "$tmp/resp.json" -w '%{http_code}' -X POST -H "Authorization: Bearer x$token" \
  -H 'content-type: application/json' --data-binary "@$tmp/good-body.json" "$api_url/v1/intents")
check "with a wrong token: 401 or 403" test "$code" = 401 -o "$code" = 403
check "nothing was stored: GET /v1/intents lists as many as before ($n_before)" test "$(stored)" = "$n_before"
check "nothing was journaled: the last event id is unchanged (${j_before:-none})" test "$(journal_last)" = "$j_before"
code=$(api GET /v1/intents/0x$(printf '%064d' 7))
check "GET an unknown intent: 404" test "$code" = 404

# ---- SSE client 1, then the same intent twice and pause/resume ----
curl -s -N -H "Authorization: Bearer $token" "$api_url/v1/events" >"$tmp/sse1.txt" 2>/dev/null &
sse=$!
code=$(api POST /v1/chains/beta/pause)
check "POST /v1/chains/beta/pause: 200, paused" test "$code $(jq -r .paused "$tmp/resp.json" 2>/dev/null)" = "200 true"
code=$(api GET /v1/chains)
check "GET /v1/chains shows beta paused, alpha not" \
  quiet jq -e '[.chains[] | {key: .name, value: .paused}] | from_entries | .beta == true and .alpha == false' "$tmp/resp.json"
code=$(api POST /v1/intents "$tmp/good-body.json")
check "submit: 202 with the prepared id" test "$code $(jq -r .intent_id "$tmp/resp.json")" = "202 $good_id"
id=$good_id
code=$(api POST /v1/intents "$tmp/good-body.json")
check "the same intent again: 200, the same id, existing" \
  test "$code $(jq -r '"\(.intent_id) \(.existing)"' "$tmp/resp.json")" = "200 $id true"
check "stored once: GET /v1/intents lists one more" test "$(stored)" = "$((n_before + 1))"
if wait_hop 60 "$id" 0 DONE; then ok "step 0 lands on beta (hop 0 DONE)"; else notok "step 0 lands on beta" "$(describe "$id")"; fi
code=$(api POST "/v1/intents/$id/cancel")
check "cancel after step 0: 409 with a reason" \
  test "$code $(jq -r '(.error // "") | length > 0' "$tmp/resp.json")" = "409 true"
sleep 2
check "beta paused: hop 1 is held (WAITING) 2 s after the funds arrived" test "$(hop_states "$id")" = DONE,WAITING,WAITING
# SSE client 1 was connected before the first event: it must have had them live, at once.
live() { [ "$(grep -c '^id: ' "$tmp/sse1.txt")" -ge "$(journal_last)" ]; }
if wait_for 3 live; then ok "SSE client 1 (connected before any event) got every event live ($(grep -c '^id: ' "$tmp/sse1.txt"))"; else
  notok "SSE client 1 (connected before any event) got every event live" \
    "it got $(grep -c '^id: ' "$tmp/sse1.txt") while the journal has $(journal_last) (a replay from ?after=0 shows them)"
fi
# disconnect SSE client 1 mid-route
kill "$sse" 2>/dev/null
wait "$sse" 2>/dev/null
sse=""
last1=$(sed -n 's/^id: \([0-9]*\)\r\{0,1\}$/\1/p' "$tmp/sse1.txt" | tail -1)
last1=${last1:-0}
code=$(api POST /v1/chains/beta/resume)
check "POST /v1/chains/beta/resume: 200, not paused" test "$code $(jq -r .paused "$tmp/resp.json" 2>/dev/null)" = "200 false"
t0=$(date +%s)
if wait_state 60 "$id" COMPLETED REFUNDED CANCELLED STUCK && [ "$(intent_state "$id")" = COMPLETED ]; then
  ok "resumed: the intent completes ($(($(date +%s) - t0)) s) despite the refused cancel"
else
  notok "resumed: the intent completes" "$(describe "$id")"
fi

# ---- cancel before step 0 ----
code=$(api POST /v1/chains/alpha/pause)
check "POST /v1/chains/alpha/pause: 200" test "$code" = 200
owner_before=$(bal "$rpc_a" "$fta" "$owner")
intent_3step $amount >"$tmp/c.json"
if cid=$(intent_submit "$tmp/c.json" 2>"$tmp/submit.err"); then ok "alpha paused: an intent is accepted"; else
  notok "alpha paused: an intent is accepted" "$(cat "$tmp/submit.err")"
fi
sleep 1.5
check "alpha paused: it stays PENDING" test "$(intent_state "$cid")" = PENDING
code=$(api POST "/v1/intents/$cid/cancel")
check "cancel before step 0: 200" test "$code" = 200
if wait_state 30 "$cid" CANCELLED; then ok "the intent is CANCELLED"; else notok "the intent is CANCELLED" "$(describe "$cid")"; fi
code=$(api POST "/v1/intents/$cid/cancel")
check "cancel again: 409 (already cancelled)" test "$code" = 409
api POST /v1/chains/alpha/resume >/dev/null
sleep 1.5
check "resumed: the cancelled intent stays CANCELLED, nothing left the owner on alpha" \
  test "$(intent_state "$cid") $(bal "$rpc_a" "$fta" "$owner")" = "CANCELLED $owner_before"

# ---- SSE client 2: Last-Event-ID ----
curl -s -N --max-time 3 -H "Authorization: Bearer $token" -H "Last-Event-ID: $last1" "$api_url/v1/events" \
  >"$tmp/sse2.txt" 2>/dev/null
ids1=$(sed -n 's/^id: \([0-9]*\)\r\{0,1\}$/\1/p' "$tmp/sse1.txt")
ids2=$(sed -n 's/^id: \([0-9]*\)\r\{0,1\}$/\1/p' "$tmp/sse2.txt")
all=$(printf '%s\n%s\n' "$ids1" "$ids2" | grep .)
total=$(echo "$all" | wc -l)
maxid=$(echo "$all" | sort -n | tail -1)
check "the reconnected client starts right after the last id it had ($last1 -> $(echo "$ids2" | head -1))" \
  test "$(echo "$ids2" | head -1)" = "$((last1 + 1))"
check "the two sessions got ids 1..$maxid exactly once each ($total events)" \
  test "$(echo "$all" | sort -n | tr '\n' ' ')" = "$(seq 1 "$maxid" | tr '\n' ' ')"
check "... which is the whole journal (last id $(journal_last))" test "$maxid" = "$(journal_last)"
# every event: id, event intent|hop, data JSON naming the intent and the same id
check "every event is well formed (event: intent|hop, data JSON with the same id and an intent_id)" \
  quiet awk -v RS= '
    { id = ""; ev = ""; data = ""
      n = split($0, L, "\n")
      for (i = 1; i <= n; i++) { sub(/\r$/, "", L[i])
        if (L[i] ~ /^id: /) id = substr(L[i], 5); else if (L[i] ~ /^event: /) ev = substr(L[i], 8);
        else if (L[i] ~ /^data: /) data = substr(L[i], 7) }
      if (id == "") next
      if (ev != "intent" && ev != "hop") exit 1
      if (index(data, "\"id\":" id) == 0 && index(data, "\"id\": " id) == 0) exit 1
      if (index(data, "\"intent_id\"") == 0) exit 1 }' "$tmp/sse1.txt" "$tmp/sse2.txt"
check "the SSE stream shows the intent COMPLETED" grep -q '"to": *"COMPLETED"' "$tmp/sse2.txt"
check "... and the other one CANCELLED" grep -q '"to": *"CANCELLED"' "$tmp/sse2.txt"
cnt=$(curl -s -N --max-time 1 -H "Authorization: Bearer $token" "$api_url/v1/events?after=0&intent=$cid" |
  grep -c '^id: ')
check "?intent= filters the stream to that intent's events ($cnt)" \
  test "$cnt" -ge 2 -a "$cnt" = "$(grep -c "\"intent_id\": *\"$cid\"" "$tmp/sse1.txt" "$tmp/sse2.txt" | awk -F: '{s += $2} END {print s}')"

# ---- listing ----
code=$(api GET "/v1/intents?state=COMPLETED")
check "GET /v1/intents?state=COMPLETED lists exactly the completed one" \
  test "$code $(jq -r '[.intents[].intent_id] | join(",")' "$tmp/resp.json")" = "200 $id"
code=$(api GET "/v1/intents?owner=$owner&limit=1")
check "?owner=&limit=1: one intent and a cursor to the next" \
  quiet jq -e '(.intents | length) == 1 and (.next | type) == "string"' "$tmp/resp.json"
code=$(api GET "/v1/intents?owner=$owner&limit=1&cursor=$(jq -r .next "$tmp/resp.json")")
check "... the cursor gives the other one" quiet jq -e --arg a "$id" --arg b "$cid" \
  '(.intents | length) == 1 and (.intents[0].intent_id == $a or .intents[0].intent_id == $b)' "$tmp/resp.json"
code=$(api GET "/v1/intents?state=BOGUS")
check "?state=BOGUS: 400" test "$code" = 400
daemon_stop
check "SIGTERM stops the daemon with exit 0" test "$stop_rc" -eq 0
echo "# wall time $(($(date +%s) - start)) s"
finish
