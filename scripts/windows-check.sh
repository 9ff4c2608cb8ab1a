#!/usr/bin/env bash
# Three-way determinism check: the same soaks run natively on Linux, under wasmtime
# on Linux, and under wasmtime in the Windows build (x86_64-pc-windows-gnu) run by
# wine, and every artifact is compared byte for byte.
#
# Needs Debian's gcc-mingw-w64-x86-64 and wine (installed with apt-get when missing
# and running as root). Not part of scripts/test.sh: it adds a second full release
# build of wasmtime for Windows and a wine prefix, several minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tgt=$(realpath -m "${CARGO_TARGET_DIR:-target}")
only=${1:-all}

if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null; then
  echo "==> installing mingw-w64 and wine (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-mingw-w64-x86-64 wine wine64 >/dev/null
fi
rustup target add x86_64-pc-windows-gnu wasm32-unknown-unknown >/dev/null

work=$(mktemp -d)
trap 'WINEPREFIX="$work/wineprefix" wineserver -k 2>/dev/null; rm -rf "$work" 2>/dev/null || true' EXIT
# Wine 8 lacks bcryptprimitives!ProcessPrng; a test-only stub forwards to RtlGenRandom.
x86_64-w64-mingw32-gcc -shared -O2 -o "$work/bcryptprimitives.dll" scripts/windows/bcryptprimitives_stub.c -ladvapi32
export WINEDEBUG=-all WINEPREFIX="$work/wineprefix"
fail=0

# A bot that holds runtime_overrides.json open without FILE_SHARE_DELETE makes the
# replace fail with a sharing violation: mmsoak retries within its budget (2 s,
# fsutil::REPLACE_RETRY_BUDGET) and otherwise fails cleanly. The example starts a
# holder process (share mode FILE_SHARE_READ), then replaces the file with
# mmsoak::fsutil::write_atomic.
echo "==> Windows: replacing runtime_overrides.json while another process holds it open"
cargo build --release --locked -p mmsoak --example overrides_held --target x86_64-pc-windows-gnu
cp "$tgt/x86_64-pc-windows-gnu/release/examples/overrides_held.exe" "$work/"
mkdir "$work/held"
(
  cd "$work/held"
  f=runtime_overrides.json
  printf '{"base_spread_bps": 8.0}\n' >"$f"
  # Held 700 ms, inside the budget: the replace waits for the holder and succeeds.
  if ! out=$(wine "$work/overrides_held.exe" "$f" 700 '{"base_spread_bps": 9.0}' 2>&1); then
    echo "FAILED: a file held 700 ms was not replaced within the retry budget: $out"; exit 1
  fi
  echo "  held 700 ms: $out"
  [ "$(cat "$f")" = '{"base_spread_bps": 9.0}' ] || { echo "FAILED: wrong content after the replace: $(cat "$f")"; exit 1; }
  # Held 6 s, past the budget: one error naming the file, the old file intact, no temp file.
  if out=$(wine "$work/overrides_held.exe" "$f" 6000 '{"base_spread_bps": 10.0}' 2>&1); then
    echo "FAILED: replaced a file another process held open (does wine enforce share modes?): $out"; exit 1
  fi
  echo "  held 6 s: $out"
  grep -q "$f" <<<"$out" || { echo "FAILED: the error does not name $f"; exit 1; }
  [ "$(cat "$f")" = '{"base_spread_bps": 9.0}' ] || { echo "FAILED: the old file changed: $(cat "$f")"; exit 1; }
  if ls -A | grep -q '^.mmsoak-tmp-'; then echo "FAILED: a temp file was left: $(ls -A)"; exit 1; fi
  echo "  the replace waited for the holder; past the budget it failed cleanly (old file intact, no temp file)"
) || fail=1
if [ "$only" = overrides ]; then exit "$fail"; fi

echo "==> building mmsoak for Linux and for Windows, and the example policy plugin"
cargo build --release --locked -p mmsoak
cargo build --release --locked -p mmsoak --target x86_64-pc-windows-gnu
cargo build --release --locked -p mmsoak-policy-edge-hunter --target wasm32-unknown-unknown
cp "$tgt/x86_64-pc-windows-gnu/release/mmsoak.exe" "$work/"
cp "$tgt/wasm32-unknown-unknown/release/mmsoak_policy_edge_hunter.wasm" "$work/policy.wasm"

cd "$work"
# The last case tunes with the example policy plugin (its sandbox runs on each side too).
for case in "7 mixed aggressive" "1 volatile steady_safe" "42 flash_crash ultra_safe" "5 liquidity_gap aggressive" \
  "9 volatile aggressive policy.wasm"; do
  read -r seed regime profile policy <<<"$case"
  args=(run --iterations 8 --auto-tune --seed "$seed" --regime "$regime" --profile "$profile")
  if [ -n "${policy:-}" ]; then args+=(--policy "$policy"); fi
  "$tgt/release/mmsoak" "${args[@]}" --engine native --out "linux-native-$seed" 2>/dev/null
  "$tgt/release/mmsoak" "${args[@]}" --engine wasm --out "linux-wasm-$seed" 2>/dev/null
  wine "$work/mmsoak.exe" "${args[@]}" --engine wasm --out "windows-wasm-$seed" 2>/dev/null
  for f in latest/ITER_SUMMARY_{1..8}.json latest/TUNING_STATE.json runtime_overrides.json; do
    if ! cmp -s "linux-native-$seed/$f" "linux-wasm-$seed/$f" || ! cmp -s "linux-wasm-$seed/$f" "windows-wasm-$seed/$f"; then
      echo "DIFFERENT: seed $seed $regime $profile: $f"; fail=1
    fi
  done
  # TUNING_REPORT may differ only in its engine record.
  for side in linux-native windows-wasm; do
    if ! python3 - "linux-wasm-$seed" "$side-$seed" <<'PY'
import json, sys
a, b = (json.load(open(f"{d}/latest/TUNING_REPORT.json")) for d in sys.argv[1:3])
a.pop("engine"); b.pop("engine")
sys.exit(0 if a == b else 1)
PY
    then echo "DIFFERENT: seed $seed: TUNING_REPORT beyond its engine record ($side)"; fail=1; fi
  done
  if grep -rlq $'\r' "windows-wasm-$seed"; then echo "CR bytes in Windows artifacts (seed $seed)"; fail=1; fi
  echo "seed $seed $regime $profile ${policy:-}: linux-native = linux-wasm = windows-wasm"
done
[ "$fail" = 0 ] && echo "==> all artifacts byte-identical on Linux native, Linux wasmtime and Windows (wine) wasmtime"

# A live soak with the bot launched by --exec: on Windows the bot runs in a job
# object that is closed (killing it) when the run ends.
echo "==> Windows: a live soak with --exec, the bot stopped with the run"
if ! SOAK_SLEEP_SECONDS=0.5 wine "$work/mmsoak.exe" run --source external --exec "mmsoak.exe bot --speed 900 --seed 4" \
  --iterations 2 --out live >live.out 2>&1; then
  echo "FAILED: the live soak under wine: $(grep -v '^wine:' live.out | tail -5)"; fail=1
elif sleep 1 && pgrep -f "mmsoak.exe bot" >/dev/null; then
  echo "FAILED: the bot still runs after the run ended"; fail=1
else
  echo "  2 iterations against the bot; no bot process left"
fi
exit "$fail"
