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

if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null; then
  echo "==> installing mingw-w64 and wine (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-mingw-w64-x86-64 wine wine64 >/dev/null
fi
rustup target add x86_64-pc-windows-gnu wasm32-unknown-unknown >/dev/null

echo "==> building mmsoak for Linux and for Windows, and the example policy plugin"
cargo build --release --locked -p mmsoak
cargo build --release --locked -p mmsoak --target x86_64-pc-windows-gnu
cargo build --release --locked -p mmsoak-policy-edge-hunter --target wasm32-unknown-unknown

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp target/x86_64-pc-windows-gnu/release/mmsoak.exe "$work/"
cp target/wasm32-unknown-unknown/release/mmsoak_policy_edge_hunter.wasm "$work/policy.wasm"
# Wine 8 lacks bcryptprimitives!ProcessPrng; a test-only stub forwards to RtlGenRandom.
x86_64-w64-mingw32-gcc -shared -O2 -o "$work/bcryptprimitives.dll" scripts/windows/bcryptprimitives_stub.c -ladvapi32
export WINEDEBUG=-all WINEPREFIX="$work/wineprefix"

fail=0
cd "$work"
# The last case tunes with the example policy plugin (its sandbox runs on each side too).
for case in "7 mixed aggressive" "1 volatile steady_safe" "42 flash_crash ultra_safe" "5 liquidity_gap aggressive" \
  "9 volatile aggressive policy.wasm"; do
  read -r seed regime profile policy <<<"$case"
  args=(run --iterations 8 --auto-tune --seed "$seed" --regime "$regime" --profile "$profile")
  if [ -n "${policy:-}" ]; then args+=(--policy "$policy"); fi
  "$root/target/release/mmsoak" "${args[@]}" --engine native --out "linux-native-$seed" 2>/dev/null
  "$root/target/release/mmsoak" "${args[@]}" --engine wasm --out "linux-wasm-$seed" 2>/dev/null
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
exit "$fail"
