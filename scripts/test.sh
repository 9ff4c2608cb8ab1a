#!/usr/bin/env bash
# Runs every mmsoak test on a machine that has only a Rust toolchain (and the
# Debian package manager, for prometheus and chromium).
# Installs what the tests need first (idempotent), then builds once in release
# (the e2e tests and the soak share that build) and runs the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: wasm32-unknown-unknown target"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown

# Debian's prometheus (promtool checks the /metrics exposition, a real server
# scrapes a running soak: tests/metrics.rs) and chromium (the web app's browser tests).
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null || ! command -v chromium >/dev/null; then
  step "installing Debian's prometheus and chromium (apt-get)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus chromium >/dev/null
fi

# Debian's slurm-wlm and munge: tests/sweep.rs starts a one-node cluster on
# localhost with scripts/slurm-localhost.sh and runs a sweep as a Slurm array.
step "slurm: installing slurm-wlm and munge (apt-get, once)"
bash scripts/slurm-localhost.sh install

step "cargo test (release, whole workspace)"
# --workspace includes the fuzz harness (fuzz/, not a default member): its short
# pass feeds every parser of outside data 2,000 mutated real files
# (fuzz/tests/short_pass.rs). The long pass is `cargo run --release -p mmsoak-fuzz
# -- --inputs 1000000`.
cargo test --release --workspace --locked

step "web app: trunk build, wasm-bindgen-test, browser tests"
bash scripts/web-test.sh

step "all tests passed"
