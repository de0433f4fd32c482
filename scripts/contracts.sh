#!/usr/bin/env bash
# Ferry's contracts: build, test, deploy, link. Everything runs offline (forge compiles through scripts/solc).
#
#   scripts/contracts.sh build      forge build, then export build/contracts/<Name>.json (abi, bytecode,
#                                   deployedBytecode) for every deployable contract. Generated: never edit.
#   scripts/contracts.sh test       the forge suite, human output (extra arguments go to forge test)
#   scripts/contracts.sh test-tap   the forge suite and the EIP-712 cross-check with cast, as TAP lines
#                                   ("ok N - name" / "not ok N - name"); gas figures as "# ..." comments.
#                                   Exits non-zero on any failure, compile errors included.
#   scripts/contracts.sh deploy --rpc URL --key HEX --chain-id N --out FILE
#                                   [--attesters A,B,C --threshold M] [--owner ADDR]
#                                   [--with-test-assets [--fund ADDR,ADDR]]
#                                   Deploys Gateway, TokenVault and IntentRouter wired together (plus two test
#                                   tokens and a funded TestSwapPool with --with-test-assets) and writes the
#                                   addresses as JSON to FILE.
#   scripts/contracts.sh link --key HEX FILE FILE [FILE...]
#                                   Makes the deployments in the given files know each other: on every chain,
#                                   vault.setPeer and router.setPeer for every other chain (owner key; skips
#                                   what is already set). docs/protocol.md, "Deployment and linking".
#   scripts/contracts.sh check-typed-data
#                                   Signs contracts/test/typed-data/*.json with `cast wallet sign --data` and
#                                   checks each equals a signature over the digest the contracts compute.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
contracts=$root/contracts
tools=$root/scripts/toolchain/node_modules/.bin
FORGE=${FORGE:-$tools/forge}
CAST=${CAST:-$tools/cast}
artifacts=$root/build/contracts
deployable=(Gateway TokenVault IntentRouter Voucher CallExecutor TestToken TestSwapPool)

die() {
  echo "contracts.sh: $*" >&2
  exit 1
}

need_tools() {
  [ -x "$FORGE" ] && [ -x "$CAST" ] || die "forge/cast not found in scripts/toolchain (run scripts/bootstrap.sh)"
  command -v jq >/dev/null || die "jq is needed (run scripts/bootstrap.sh)"
  # OpenZeppelin is reached through a link inside the project (so forge sees one path for each file).
  [ -e "$contracts/lib/openzeppelin/contracts/token/ERC20/ERC20.sol" ] ||
    die "contracts/lib/openzeppelin does not resolve: is @openzeppelin/contracts in scripts/toolchain installed?"
}

cmd_build() {
  need_tools
  (cd "$contracts" && "$FORGE" build "$@") || die "forge build failed"
  mkdir -p "$artifacts"
  local name src
  for name in "${deployable[@]}"; do
    src=$contracts/out/$name.sol/$name.json
    [ -f "$src" ] || die "no forge artifact for $name ($src)"
    jq --arg name "$name" '{
        contractName: $name,
        generatedBy: "scripts/contracts.sh build (do not edit)",
        compiler: .metadata.compiler.version,
        abi: .abi,
        bytecode: .bytecode.object,
        deployedBytecode: .deployedBytecode.object
      }' "$src" >"$artifacts/$name.json.tmp"
    mv "$artifacts/$name.json.tmp" "$artifacts/$name.json"
  done
  echo "contracts: artifacts in ${artifacts#$root/}/ (${deployable[*]})"
}

cmd_test() {
  need_tools
  cd "$contracts" && exec "$FORGE" test "$@"
}

# Prints the TAP lines of the EIP-712 cross-check; returns non-zero if any failed. $1: first test number.
typed_data_tap() {
  local n=$1 fail=0 file key digest a b
  while read -r file key digest; do
    case $file in '' | '#'*) continue ;; esac
    key=$(printf '0x%064x' "$key")
    a=$("$CAST" wallet sign --data --from-file "$contracts/test/typed-data/$file" --private-key "$key" 2>&1) || true
    b=$("$CAST" wallet sign --no-hash "$digest" --private-key "$key" 2>&1) || true
    if [ -n "$a" ] && [ "$a" = "$b" ]; then
      echo "ok $n - eip712: cast signs $file to the digest the contracts compute"
    else
      echo "not ok $n - eip712: cast signs $file to the digest the contracts compute"
      echo "# cast --data: $a"
      echo "# over digest: $b"
      fail=1
    fi
    n=$((n + 1))
  done <"$contracts/test/typed-data/expected.txt"
  return $fail
}

cmd_check_typed_data() {
  need_tools
  typed_data_tap 1
}

cmd_test_tap() {
  need_tools
  local out err rc start end n
  out=$(mktemp) err=$(mktemp)
  trap 'rm -f "$out" "$err"' RETURN
  start=$(date +%s)
  # -vv makes forge keep console logs (the gas figures) in the JSON.
  rc=0
  (cd "$contracts" && "$FORGE" test --json -vv "$@") >"$out" 2>"$err" || rc=$?
  end=$(date +%s)
  if ! jq -e 'type == "object"' "$out" >/dev/null 2>&1; then
    echo "not ok 1 - forge: the suite did not run (compile error?)"
    sed 's/^/# /' "$err" | head -60
    sed 's/^/# /' "$out" | head -20
    echo "1..1"
    return 1
  fi
  # One line per test: status, suite:test, reason; then the gas lines.
  jq -r '
    to_entries[] | .key as $suite | .value.test_results | to_entries[] |
    [ .value.status, ($suite | sub("^.*:"; "")) + "::" + .key,
      ((.value.reason // "") | gsub("\n"; " ")),
      ((.value.kind.Invariant.runs // .value.kind.Fuzz.runs // "") | tostring) ] | @tsv' "$out" |
    sort -t$'\t' -k2 | {
      n=0 fails=0
      while IFS=$'\t' read -r status name reason runs; do
        n=$((n + 1))
        extra=""
        [ -n "$runs" ] && extra=" (runs: $runs)"
        case $status in
          Success) echo "ok $n - forge: $name$extra" ;;
          Skipped) echo "ok $n - forge: $name # SKIP ${reason}" ;;
          *)
            echo "not ok $n - forge: $name$extra"
            echo "# $reason"
            fails=$((fails + 1))
            ;;
        esac
      done
      echo "$n $fails" >"$out.count"
    }
  read -r n fails <"$out.count"
  rm -f "$out.count"
  if [ "$rc" -ne 0 ] && [ "$fails" -eq 0 ] || [ "$n" -eq 0 ]; then
    # forge failed without a failing test to show for it: a compile error, a crash, an empty suite.
    n=$((n + 1)) fails=$((fails + 1))
    echo "not ok $n - forge: the suite did not run cleanly (exit $rc, $((n - 1)) tests seen)"
    sed 's/^/# /' "$err" | grep -v '^# *$' | head -60
  fi
  jq -r '.[] | .test_results[] | .decoded_logs[]? | select(startswith("gas "))' "$out" | sort -u | sed 's/^/# /'
  echo "# forge suite wall time: $((end - start)) s"
  local tfail=0
  typed_data_tap $((n + 1)) || tfail=1
  local total=$((n + $(grep -cvE '^(#|$)' "$contracts/test/typed-data/expected.txt")))
  echo "1..$total"
  [ "$rc" -eq 0 ] && [ "$fails" -eq 0 ] && [ "$tfail" -eq 0 ]
}

# ------------------------------------------------------------------------------------------------------
# Deployment
# ------------------------------------------------------------------------------------------------------

bytecode() {
  jq -r .bytecode "$artifacts/$1.json"
}

# create NAME SIG ARGS...: deploys NAME with constructor SIG(ARGS), prints its address.
create() {
  local name=$1
  shift
  local receipt addr
  receipt=$("$CAST" send --rpc-url "$rpc" --private-key "$key" --json --create "$(bytecode "$name")" "$@") ||
    die "deploying $name failed"
  addr=$(jq -r '.contractAddress // empty' <<<"$receipt")
  [ "$(jq -r .status <<<"$receipt")" = "0x1" ] && [ -n "$addr" ] || die "deploying $name failed: $receipt"
  echo "  $name: $addr" >&2
  echo "$addr"
}

# tx TO SIG ARGS...: sends a transaction and checks it succeeded.
tx() {
  local receipt
  receipt=$("$CAST" send --rpc-url "$rpc" --private-key "$key" --json "$@") || die "transaction failed: $*"
  [ "$(jq -r .status <<<"$receipt")" = "0x1" ] || die "transaction reverted: $*"
}

check_chain() {
  local got
  got=$("$CAST" chain-id --rpc-url "$rpc" 2>/dev/null) || die "cannot reach $rpc"
  [ "$got" = "$1" ] || die "$rpc is chain $got, expected $1"
}

normalize_key() {
  local k=${1#0x}
  [[ $k =~ ^[0-9a-fA-F]{64}$ ]] || die "--key: expected 32 bytes of hex"
  echo "0x$k"
}

cmd_deploy() {
  local out="" chain="" owner="" attesters="" threshold="" assets=0 fund=""
  rpc="" key=""
  while [ $# -gt 0 ]; do
    case $1 in
      --rpc) rpc=$2; shift 2 ;;
      --key) key=$(normalize_key "$2"); shift 2 ;;
      --chain-id) chain=$2; shift 2 ;;
      --out) out=$2; shift 2 ;;
      --owner) owner=$2; shift 2 ;;
      --attesters) attesters=$2; shift 2 ;;
      --threshold) threshold=$2; shift 2 ;;
      --with-test-assets) assets=1; shift ;;
      --fund) fund=$2; shift 2 ;;
      *) die "deploy: unknown argument $1 (see the top of scripts/contracts.sh)" ;;
    esac
  done
  [ -n "$rpc" ] && [ -n "$key" ] && [ -n "$chain" ] && [ -n "$out" ] ||
    die "deploy: --rpc, --key, --chain-id and --out are required"
  [[ $chain =~ ^[0-9]+$ ]] || die "deploy: --chain-id: expected a number, got $chain"
  need_tools
  [ -f "$artifacts/Gateway.json" ] || cmd_build >&2
  check_chain "$chain"
  local deployer
  deployer=$("$CAST" wallet address --private-key "$key")
  owner=${owner:-$deployer}
  if [ -z "$attesters" ]; then
    echo "contracts.sh: no --attesters: the deployer $deployer is the only attester (threshold 1)" >&2
    attesters=$deployer
    threshold=${threshold:-1}
  fi
  # The Gateway wants its attesters strictly ascending.
  local sorted
  sorted=$(tr ',' '\n' <<<"$attesters" | while read -r a; do
    [[ $a =~ ^0x[0-9a-fA-F]{40}$ ]] || die "--attesters: not an address: $a"
    echo "$a"
  done | awk '{ print tolower($0) }' | sort -u | paste -sd, -)
  [ "$(tr ',' '\n' <<<"$sorted" | wc -l)" -eq "$(tr ',' '\n' <<<"$attesters" | wc -l)" ] ||
    die "--attesters: duplicate address"
  threshold=${threshold:-$(( $(tr ',' '\n' <<<"$sorted" | wc -l) / 2 + 1 ))}

  echo "contracts: deploying to chain $chain at $rpc (owner $owner)" >&2
  local gateway vault router deploy_block
  # A block at or before the Gateway's deployment: where a relayer starts scanning for packets.
  deploy_block=$("$CAST" block-number --rpc-url "$rpc")
  gateway=$(create Gateway "constructor(address,address[],uint8)" "$owner" "[$sorted]" "$threshold")
  vault=$(create TokenVault "constructor(address,address)" "$gateway" "$owner")
  router=$(create IntentRouter "constructor(address,address)" "$vault" "$owner")
  local executor voucher_impl
  executor=$("$CAST" call --rpc-url "$rpc" "$router" "executor()(address)")
  voucher_impl=$("$CAST" call --rpc-url "$rpc" "$vault" "voucherImplementation()(address)")

  local assets_json=null
  if [ $assets = 1 ]; then
    local ta tb pool
    ta=$(create TestToken "constructor(string,string,uint8)" "Ferry Test A ($chain)" "FTA" 18)
    tb=$(create TestToken "constructor(string,string,uint8)" "Ferry Test B ($chain)" "FTB" 18)
    pool=$(create TestSwapPool "constructor(address,address)" "$ta" "$tb")
    # Amounts in base units (18 decimals): the pool gets 1,000,000 FTA and 2,000,000 FTB; the deployer
    # keeps as much again.
    local one_m=1000000000000000000000000 two_m=2000000000000000000000000 four_m=4000000000000000000000000
    tx "$ta" "mint(address,uint256)" "$deployer" "$two_m"
    tx "$tb" "mint(address,uint256)" "$deployer" "$four_m"
    tx "$ta" "approve(address,uint256)" "$pool" "$one_m"
    tx "$tb" "approve(address,uint256)" "$pool" "$two_m"
    tx "$pool" "addLiquidity(uint256,uint256)" "$one_m" "$two_m"
    if [ -n "$fund" ]; then
      local a
      for a in ${fund//,/ }; do
        tx "$ta" "mint(address,uint256)" "$a" "$one_m"
        tx "$tb" "mint(address,uint256)" "$a" "$one_m"
      done
    fi
    assets_json=$(jq -n --arg a "$ta" --arg b "$tb" --arg p "$pool" \
      '{tokenA: $a, tokenB: $b, pool: $p, poolReserves: {tokenA: "1000000000000000000000000", tokenB: "2000000000000000000000000"}}')
  fi

  mkdir -p "$(dirname "$out")"
  jq -n --argjson chain "$chain" --arg rpc "$rpc" --arg deployer "$deployer" --arg owner "$owner" \
    --arg gateway "$gateway" --arg vault "$vault" --arg router "$router" --arg executor "$executor" \
    --arg voucher "$voucher_impl" --arg attesters "$sorted" --argjson threshold "$threshold" \
    --argjson block "$deploy_block" --argjson assets "$assets_json" '{
      chainId: $chain, rpc: $rpc, deployer: $deployer, owner: $owner, deployBlock: $block,
      gateway: $gateway, vault: $vault, router: $router, executor: $executor,
      voucherImplementation: $voucher,
      attesters: ($attesters | split(",")), threshold: $threshold,
      testAssets: $assets
    }' >"$out.tmp"
  mv "$out.tmp" "$out"
  echo "contracts: wrote $out" >&2
  cat "$out"
}

cmd_link() {
  key=""
  local files=()
  while [ $# -gt 0 ]; do
    case $1 in
      --key) key=$(normalize_key "$2"); shift 2 ;;
      -*) die "link: unknown option $1" ;;
      *) files+=("$1"); shift ;;
    esac
  done
  [ -n "$key" ] || die "link: --key is required (the owner of every deployment)"
  [ ${#files[@]} -ge 2 ] || die "link: give at least two deployment files"
  need_tools
  local f g
  for f in "${files[@]}"; do
    [ -f "$f" ] || die "link: no such file $f"
    jq -e '.chainId and .rpc and .vault and .router' "$f" >/dev/null || die "link: $f is not a deployment file"
  done
  for f in "${files[@]}"; do
    rpc=$(jq -r .rpc "$f")
    local chain vault router
    chain=$(jq -r .chainId "$f") vault=$(jq -r .vault "$f") router=$(jq -r .router "$f")
    check_chain "$chain"
    for g in "${files[@]}"; do
      [ "$f" = "$g" ] && continue
      local pchain pvault prouter want have
      pchain=$(jq -r .chainId "$g") pvault=$(jq -r .vault "$g") prouter=$(jq -r .router "$g")
      [ "$pchain" != "$chain" ] || die "link: $f and $g are both chain $chain"
      want=$(printf '0x%064s' "${pvault#0x}" | tr ' ' 0 | tr 'A-F' 'a-f')
      have=$("$CAST" call --rpc-url "$rpc" "$vault" "peers(uint64)(bytes32)" "$pchain")
      if [ "$have" != "$want" ]; then
        tx "$vault" "setPeer(uint64,bytes32)" "$pchain" "$want"
        echo "  chain $chain: vault peer for $pchain = $pvault" >&2
      fi
      have=$("$CAST" call --rpc-url "$rpc" "$router" "peers(uint64)(address)" "$pchain")
      if [ "$(tr 'A-F' 'a-f' <<<"$have")" != "$(tr 'A-F' 'a-f' <<<"$prouter")" ]; then
        tx "$router" "setPeer(uint64,address)" "$pchain" "$prouter"
        echo "  chain $chain: router peer for $pchain = $prouter" >&2
      fi
    done
  done
  echo "contracts: linked ${files[*]}" >&2
}

case ${1:-} in
  build) shift; cmd_build "$@" ;;
  test) shift; cmd_test "$@" ;;
  test-tap) shift; cmd_test_tap "$@" ;;
  deploy) shift; cmd_deploy "$@" ;;
  link) shift; cmd_link "$@" ;;
  check-typed-data) shift; cmd_check_typed_data ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
