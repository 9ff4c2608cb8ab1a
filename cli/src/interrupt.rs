//! Stopping a run from outside: Ctrl-C, and on Unix SIGTERM (what systemd, Slurm's
//! scancel, CI runners and `kill` send) and SIGHUP (the terminal or SSH session
//! went away). Each stops the run between iterations with everything completed
//! saved (exit 130, `--resume` continues), and a supervised bot is stopped with it.
//!
//! One listener records the request ([`listen`]), started before the run's
//! checks: a stop during the start-of-run scan of the data ends the run there,
//! before anything is written ([`BeforeStart`], exit 130 too). The waits of a run
//! (the pause between iterations, the wait for a bot's report) end early on it
//! ([`requested`]), and the loop checks [`is_requested`] between iterations.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// The run stopped on request after finishing its current writes.
#[derive(Debug, thiserror::Error)]
#[error("interrupted after iteration {done}; continue with: mmsoak run --resume --out {out}")]
pub struct Interrupted {
    pub done: u32,
    pub out: String,
}

impl Interrupted {
    pub fn after(done: u32, out: &Path) -> anyhow::Error {
        Interrupted { done, out: out.display().to_string() }.into()
    }
}

/// The run stopped on request before its first iteration (during the checks
/// and the scan of its data, which write nothing).
#[derive(Debug, thiserror::Error)]
#[error("interrupted {during}, before an iteration started; no artifact was written")]
pub struct BeforeStart {
    /// `while reading the tick data`, `during the start-of-run checks`.
    pub during: &'static str,
}

impl BeforeStart {
    /// [`BeforeStart`] if a stop was asked for; call it between steps of work
    /// done before the first iteration.
    pub fn check(during: &'static str) -> anyhow::Result<()> {
        if is_requested() {
            return Err(BeforeStart { during }.into());
        }
        Ok(())
    }
}

static REQUESTED: AtomicBool = AtomicBool::new(false);
static NOTIFY: Notify = Notify::const_new();
static LISTENING: std::sync::Once = std::sync::Once::new();

/// Starts the listener, once per process: the stop signals are registered before
/// it returns and waited for on a thread of their own (with its own small
/// runtime), so a stop is recorded while the caller is busy outside any runtime
/// (the start-of-run scan) as well as during the run. Later calls do nothing.
pub fn listen() {
    LISTENING.call_once(|| {
        let (ready, registered) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("mmsoak-signals".into()).spawn(move || {
            // A listener that cannot start must not read as a request to stop: the
            // signals then keep their default action.
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_io().build() else {
                let _ = ready.send(());
                return;
            };
            let stop = {
                let _in_runtime = rt.enter();
                signal()
            };
            let _ = ready.send(());
            rt.block_on(stop);
            REQUESTED.store(true, Ordering::SeqCst);
            NOTIFY.notify_waiters();
        });
        if spawned.is_ok() {
            let _ = registered.recv();
        }
    });
}

/// Whether a stop was asked for.
pub fn is_requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Resolves once a stop is asked for, also when it was asked before the call
/// (a signal that arrived while an iteration was computing is not lost).
pub async fn requested() {
    loop {
        let notified = NOTIFY.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if is_requested() {
            return;
        }
        notified.await;
    }
}

/// Sleeps `sleep`, ending early with [`Interrupted`] on a stop request. `watch` is
/// called every [`WATCH_EVERY`]; its error ends the pause (a supervised bot that
/// exited is noticed within a fraction of a second, not after a 15-minute pause).
pub async fn pause(
    sleep: Duration,
    done: u32,
    out: &Path,
    mut watch: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let end = tokio::time::Instant::now() + sleep;
    loop {
        watch()?;
        let now = tokio::time::Instant::now();
        if now >= end {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep((end - now).min(WATCH_EVERY)) => {}
            _ = requested() => return Err(Interrupted::after(done, out)),
        }
    }
}

/// How often a pause looks at the supervised bot.
pub const WATCH_EVERY: Duration = Duration::from_millis(200);

/// The stop signals, registered now (the returned future only waits). A handler
/// registered inside the spawned task would exist only once the task first ran,
/// and the engine's start blocks this thread first (compiling the core on a cold
/// module cache takes a second or more): a Ctrl-C then killed the process
/// outright instead of finishing the write and exiting 130.
fn signal() -> impl std::future::Future<Output = ()> {
    // A handler that cannot be installed must not read as a request to stop.
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (int, term, hup) =
            (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()));
        let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
            match s {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        async move {
            tokio::select! {
                _ = wait(int) => {}
                _ = wait(term) => {}
                _ = wait(hup) => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        let ctrl_c = tokio::signal::windows::ctrl_c();
        async move {
            match ctrl_c {
                Ok(mut c) => {
                    c.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        }
    }
}
