//! Helpers for end-to-end tests: run the real `mmsoak` binary, read its artifacts.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn mmsoak() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mmsoak"));
    // Share one compiled-module cache across tests, inside the target directory.
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-module-cache");
    cmd.env("MMSOAK_CACHE_DIR", cache).env_remove("SOAK_SLEEP_SECONDS");
    cmd
}

pub fn run_ok(args: &[&str]) -> Output {
    let out = mmsoak().args(args).output().expect("mmsoak runs");
    assert!(
        out.status.success(),
        "mmsoak {args:?} failed ({:?}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let p = path.as_ref();
    std::fs::read(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

pub fn json(path: impl AsRef<Path>) -> serde_json::Value {
    serde_json::from_slice(&read(path)).expect("artifact is JSON")
}

/// Every file under `dir`, relative path → bytes, sorted.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().to_path_buf(), read(&p)));
            }
        }
    }
    out.sort();
    out
}

pub fn shared_data(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(name);
    assert!(p.exists(), "test data {} is missing (../shared beside the checkout)", p.display());
    p
}

/// The example policy plugin (`examples/policy-edge-hunter`) built for wasm32, once
/// per test binary, into its own target directory (so it never waits on the outer build's lock).
pub fn example_policy_wasm() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            let target_dir = root.join("target/policy-wasm");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .current_dir(&root)
                .args(["build", "--quiet", "--locked", "--release", "--target", "wasm32-unknown-unknown"])
                .args(["-p", "mmsoak-policy-edge-hunter", "--target-dir"])
                .arg(&target_dir)
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .env_remove("CARGO_TARGET_DIR")
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building the example policy for wasm32 failed");
            let wasm = target_dir.join("wasm32-unknown-unknown/release/mmsoak_policy_edge_hunter.wasm");
            assert!(wasm.exists(), "{} missing", wasm.display());
            wasm
        })
        .clone()
}

/// A policy plugin from WAT text, written into `dir`.
pub fn wat_plugin(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, wat::parse_str(text).expect("valid WAT")).unwrap();
    path
}

/// A long-running mmsoak (serve, or a run with a server) and the address it printed.
pub struct Served {
    pub child: std::process::Child,
    pub addr: String,
    pub stderr: std::sync::mpsc::Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` with stderr piped and waits for the first `http://127.0.0.1:PORT` it prints.
// The child is killed and waited for when the returned `Served` drops.
#[allow(clippy::zombie_processes)]
pub fn start_serving(mut cmd: Command) -> Served {
    use std::io::BufRead;
    let mut child = cmd.stderr(std::process::Stdio::piped()).spawn().expect("mmsoak starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let line =
            rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())).expect("address printed");
        if let Some(at) = line.find("http://127.0.0.1:") {
            let rest = &line[at + 7..];
            let addr: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':').collect();
            return Served { child, addr, stderr: rx };
        }
    }
}

/// The Tardis quotes excerpt laid end to end in `dir`, each copy 230 s after the
/// last (the excerpt spans 226 s): a valid 68 MB file whose read takes long
/// enough for a test to interrupt it. Its canonical path.
pub fn tiled_quotes(dir: &Path) -> PathBuf {
    tiled_quotes_copies(dir, 80).0
}

/// [`tiled_quotes`] with `copies` copies: its canonical path and its text.
pub fn tiled_quotes_copies(dir: &Path, copies: i64) -> (PathBuf, String) {
    use std::fmt::Write as _;
    let quotes =
        std::fs::read_to_string(shared_data("tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv")).unwrap();
    let mut lines = quotes.lines();
    let mut text = format!("{}\n", lines.next().unwrap());
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    for k in 0..copies {
        for f in &rows {
            let t = |i: usize| f[i].parse::<i64>().unwrap() + k * 230_000_000;
            writeln!(text, "{},{},{},{},{}", f[0], f[1], t(2), t(3), f[4..].join(",")).unwrap();
        }
    }
    let data = dir.join("binance-futures_quotes_tiled.csv");
    std::fs::write(&data, &text).unwrap();
    (data.canonicalize().unwrap(), text)
}

/// Runs `cmd` with the test-only pause after iteration `after`; once the run is
/// paused there, `change()`, then lets it go on. Its output.
pub fn paused_at(mut cmd: std::process::Command, dir: &Path, after: u32, change: impl FnOnce()) -> Output {
    let flag = dir.join("paused");
    let mut child = cmd
        .env("MMSOAK_TEST_PAUSE_AFTER_ITERATION", format!("{after}:{}", flag.display()))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !flag.exists() {
        if child.try_wait().unwrap().is_some() {
            let o = child.wait_with_output().unwrap();
            panic!("the run ended before its pause: {}", String::from_utf8_lossy(&o.stderr));
        }
        assert!(t0.elapsed().as_secs() < 300, "the run never reached iteration {after}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    change();
    std::fs::remove_file(&flag).unwrap();
    child.wait_with_output().unwrap()
}
