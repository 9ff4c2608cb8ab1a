//! Builds mmsoak-core for wasm32-unknown-unknown into its own target directory
//! (the substrate-wasm-builder pattern), so a plain `cargo build` yields a host
//! with the core's .wasm bytes embedded.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host/ sits in the workspace root").to_path_buf();
    for p in ["core/src", "core/Cargo.toml", "Cargo.lock", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=MMSOAK_CORE_WASM_OVERRIDE");

    // A prebuilt core (e.g. for cross builds) can be supplied instead.
    if let Ok(prebuilt) = std::env::var("MMSOAK_CORE_WASM_OVERRIDE") {
        println!("cargo:rustc-env=MMSOAK_CORE_WASM={prebuilt}");
        return;
    }

    println!(
        "cargo:rustc-env=MMSOAK_WASMTIME_VERSION={}",
        locked_version(&root, "wasmtime").unwrap_or_else(|| "unknown".into())
    );

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    ensure_target(&cargo);
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("wasm-core");

    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&root)
        .args([
            "rustc",
            "--quiet",
            "--package",
            "mmsoak-core",
            "--lib",
            "--release",
            "--features",
            "wasm-exports",
            "--crate-type",
            "cdylib",
            "--target",
            TARGET,
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's flags (coverage, host-specific codegen) must not leak into
    // the wasm; remapping paths keeps the bytes — and their sha256 — independent of
    // where the checkout lives.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let home = std::env::var("CARGO_HOME").ok().or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.cargo")));
    let mut flags = vec![format!("--remap-path-prefix={}=/mmsoak", root.display())];
    if let Some(h) = home {
        flags.push(format!("--remap-path-prefix={h}=/cargo"));
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"));
    let status = cmd.status().unwrap_or_else(|e| panic!("could not run {cargo} to build the wasm core: {e}"));
    if !status.success() {
        panic!("building mmsoak-core for {TARGET} failed (see the errors above)");
    }
    let wasm = target_dir.join(TARGET).join("release").join("mmsoak_core.wasm");
    assert!(wasm.exists(), "expected the core wasm at {}", wasm.display());
    println!("cargo:rustc-env=MMSOAK_CORE_WASM={}", wasm.display());
}

/// Installs the wasm target through rustup when it is missing, so a fresh machine
/// with only a Rust toolchain builds without a separate set-up step.
fn ensure_target(cargo: &str) {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot =
        Command::new(&rustc).args(["--print", "sysroot"]).output().ok().and_then(|o| String::from_utf8(o.stdout).ok());
    let installed = sysroot.map(|s| Path::new(s.trim()).join("lib/rustlib").join(TARGET).exists()).unwrap_or(false);
    if installed {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target with rustup (needed to build the wasm core)");
    let ok = Command::new("rustup").args(["target", "add", TARGET]).status().map(|s| s.success()).unwrap_or(false);
    if !ok {
        panic!(
            "the {TARGET} target is missing and `rustup target add {TARGET}` failed; install it and rebuild ({cargo})"
        );
    }
}

/// The version Cargo.lock pins for `package`, recorded in every TUNING_REPORT.
fn locked_version(root: &Path, package: &str) -> Option<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).ok()?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{package}\"") {
            let v = lines.next()?.trim().strip_prefix("version = \"")?.strip_suffix('"')?;
            return Some(v.to_string());
        }
    }
    None
}
