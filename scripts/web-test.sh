#!/usr/bin/env bash
# Builds the web app with trunk (offline) and tests it: wasm-bindgen-test for the
# component logic (node), then the Playwright tests in Debian's Chromium against
# the app served by `mmsoak serve`. Installs trunk, wasm-bindgen-cli (at the
# version web/Cargo.lock pins), Chromium and playwright-core when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Cargo's target directory: CARGO_TARGET_DIR when set (made absolute, since the
# steps below run cargo from web/ too), else ./target.
target="${CARGO_TARGET_DIR:-$PWD/target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
[ -z "${CARGO_TARGET_DIR:-}" ] || export CARGO_TARGET_DIR="$target"
# The browser tests run this binary (web/tests/harness.mjs).
export MMSOAK_BIN="${MMSOAK_BIN:-$target/release/mmsoak}"

# Both tools are built unoptimised (--debug) into one shared target directory:
# they only shuffle a few files, and that halves the time to install them.
tools_target="$target/tools"
wbg=$(grep -A1 '^name = "wasm-bindgen"$' web/Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg" ]; then
  step "installing wasm-bindgen-cli $wbg (cargo install, a few minutes)"
  cargo install --quiet --debug --target-dir "$tools_target" wasm-bindgen-cli --version "$wbg"
fi
if ! trunk --version 2>/dev/null | grep -q '0\.21\.14'; then
  step "installing trunk 0.21.14 (cargo install, several minutes)"
  cargo install --quiet --debug --locked --target-dir "$tools_target" trunk --version 0.21.14
fi
if ! command -v chromium >/dev/null; then
  step "installing Debian's chromium (apt-get)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
step "npm: playwright-core (no browser download)"
(cd web/tests && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)

step "building mmsoak (and the core wasm the page runs)"
# The same build `cargo test --release --workspace` made (so no rebuild after it).
cargo build --release --locked --workspace --all-targets

step "web: wasm-bindgen-test (component logic, in node)"
(cd web && cargo test --release --locked --target wasm32-unknown-unknown)

step "web: trunk build --release (offline)"
# web/index.html copies the core wasm from ../target/wasm-core (trunk resolves
# paths from the page and expands no variables); host/build.rs writes it under
# $CARGO_TARGET_DIR/wasm-core. When those differ, put the built bytes where the page looks.
core_wasm="wasm-core/wasm32-unknown-unknown/release/mmsoak_core.wasm"
if ! [ "$target/$core_wasm" -ef "target/$core_wasm" ]; then
  mkdir -p "target/$(dirname "$core_wasm")"
  cp "$target/$core_wasm" "target/$core_wasm"
fi
(cd web && trunk build --release)

step "web: browser tests (playwright-core + Debian's Chromium)"
node web/tests/browser.test.mjs
