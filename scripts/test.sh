#!/usr/bin/env bash
# Runs every mmsoak test on a machine that has only a Rust toolchain.
# Installs what the tests need first (idempotent), then builds once in release
# (the e2e tests and the soak share that build) and runs the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: wasm32-unknown-unknown target"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown

step "cargo test (release, whole workspace)"
cargo test --release --workspace --locked

step "all tests passed"
