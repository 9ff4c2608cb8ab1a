//! mmsoak's fuzz harness on stable Rust: every parser of outside data (see
//! [`targets::TARGETS`]) is fed inputs a seeded, structure-aware mutator
//! ([`mutate`]) makes from real files ([`seeds`]), each under
//! `std::panic::catch_unwind`.
//!
//! Two things are findings: a panic (outside data must never crash mmsoak), and an
//! error whose text does not name its source (the user could not tell which file or
//! variable is wrong). Each finding's input is written to a file to reproduce it.

pub mod mutate;
pub mod seeds;
pub mod targets;

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use targets::{Ctx, Target};

/// One target's tally.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub inputs: u64,
    pub ok: u64,
    pub err: u64,
    pub panics: u64,
    /// Errors whose text does not contain the target's source name.
    pub unnamed: u64,
    pub elapsed: Duration,
    pub slowest: Duration,
    /// Files holding the inputs of findings (the first few of each kind).
    pub findings: Vec<PathBuf>,
    /// The first finding's message.
    pub first: Option<String>,
}

impl Tally {
    pub fn per_second(&self) -> f64 {
        self.inputs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Panics are expected findings: keep their message and place, print nothing.
fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg}{at}")));
        }));
    });
}

/// At most this many finding files per target and kind.
const KEEP: usize = 20;

/// Runs `inputs` mutated inputs through `target`; findings go to `out` as
/// `<target>-<kind>-<n>.bin` with a `.txt` beside each saying what happened.
pub fn run_target(target: &Target, inputs: u64, seed: u64, out: &Path) -> Result<Tally> {
    quiet_panics();
    let seeds = seeds::seeds(target.name)?;
    let scratch = tempfile::tempdir().context("a scratch directory")?;
    let ctx = Ctx { dir: scratch.path().to_path_buf() };
    targets::prepare(&ctx, &seeds::seeds("regime")?[0], &seeds::seeds("profile")?[0])?;
    // A distinct stream per target, so `--target all` and `--target T` agree.
    let stream = target.name.bytes().fold(seed, |h, b| h.wrapping_mul(0x100_0000_01b3).wrapping_add(b as u64));
    let mut mutator = mutate::Mutator::new(stream);
    let mut t = Tally::default();
    let watchdog = Watchdog::start(target.name, seed, out);
    let started = Instant::now();
    for n in 0..inputs {
        let input = mutator.input(&seeds);
        watchdog.arm(n, &input);
        let at = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| (target.run)(&input, &ctx)));
        let took = at.elapsed();
        t.slowest = t.slowest.max(took);
        t.inputs += 1;
        let finding = match result {
            Ok(Ok(())) => {
                t.ok += 1;
                None
            }
            Ok(Err(msg)) if msg.trim().is_empty() || !msg.contains(target.source) => {
                t.err += 1;
                t.unnamed += 1;
                Some(("unnamed", t.unnamed, format!("an error that does not name {}: {msg:?}", target.source)))
            }
            Ok(Err(_)) => {
                t.err += 1;
                None
            }
            Err(_) => {
                t.panics += 1;
                let msg = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
                Some(("panic", t.panics, format!("panic: {msg}")))
            }
        };
        if let Some((kind, count, msg)) = finding {
            if t.first.is_none() {
                t.first = Some(msg.clone());
            }
            if count as usize <= KEEP {
                std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
                let file = out.join(format!("{}-{kind}-{count}.bin", target.name));
                std::fs::write(&file, &input).with_context(|| format!("cannot write {}", file.display()))?;
                let note = format!("target {} seed {seed} input #{n}\n{msg}\n", target.name);
                std::fs::write(file.with_extension("txt"), note)?;
                t.findings.push(file);
            }
        }
    }
    t.elapsed = started.elapsed();
    watchdog.stop();
    Ok(t)
}

/// An input that runs longer than this is a hang: a finding that ends the process.
pub const HANG: Duration = Duration::from_secs(10);

/// Catches the findings `catch_unwind` cannot: an input that never returns. The
/// input is written out and the process exits with code 3.
struct Watchdog {
    current: Arc<Mutex<(u64, Instant, Vec<u8>)>>,
    done: Arc<AtomicBool>,
}

impl Watchdog {
    fn start(name: &'static str, seed: u64, out: &Path) -> Watchdog {
        let current = Arc::new(Mutex::new((0, Instant::now(), Vec::new())));
        let done = Arc::new(AtomicBool::new(false));
        let (c, d, out) = (current.clone(), done.clone(), out.to_path_buf());
        std::thread::spawn(move || {
            while !d.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let guard = c.lock().unwrap_or_else(|e| e.into_inner());
                let (n, since, input) = &*guard;
                if since.elapsed() > HANG && !d.load(Ordering::Relaxed) {
                    let _ = std::fs::create_dir_all(&out);
                    let file = out.join(format!("{name}-hang.bin"));
                    let _ = std::fs::write(&file, input);
                    eprintln!(
                        "mmsoak-fuzz: {name}: input #{n} (seed {seed}) runs over {HANG:?}: written to {}",
                        file.display()
                    );
                    std::process::exit(3);
                }
            }
        });
        Watchdog { current, done }
    }

    fn arm(&self, n: u64, input: &[u8]) {
        let mut g = self.current.lock().unwrap_or_else(|e| e.into_inner());
        g.0 = n;
        g.1 = Instant::now();
        g.2.clear();
        g.2.extend_from_slice(input);
    }

    fn stop(self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// The per-target table `mmsoak-fuzz` prints.
pub fn table(rows: &[(&str, Tally)]) -> String {
    let mut s = format!(
        "{:<18} {:>10} {:>10} {:>10} {:>7} {:>8} {:>10} {:>10}\n",
        "target", "inputs", "ok", "err", "panics", "unnamed", "inputs/s", "slowest"
    );
    for (name, t) in rows {
        s.push_str(&format!(
            "{:<18} {:>10} {:>10} {:>10} {:>7} {:>8} {:>10.0} {:>8.1}ms\n",
            name,
            t.inputs,
            t.ok,
            t.err,
            t.panics,
            t.unnamed,
            t.per_second(),
            t.slowest.as_secs_f64() * 1e3
        ));
    }
    s
}
