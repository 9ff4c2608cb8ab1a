//! `--source external`: observations come from a live bot's EDGE_REPORT.json
//! (schema v1 or v2, `mmsoak_core::bot_report::parse`).
//! Optionally launches and supervises the bot (`--exec`), its output kept in
//! `<out>/latest/bot.log`.
//!
//! A report that is missing, stale or malformed makes the iteration INCONCLUSIVE
//! with the reason, after retrying with exponential backoff and jitter (the bot may
//! simply be a moment late). A supervised bot that exits stops the run: every
//! completed iteration is saved and `--resume` continues.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mmsoak_core::bot_report::{self, ParsedReport, ReportError};
use mmsoak_core::edge::EdgeReport;
use mmsoak_core::params::Params;
#[cfg(windows)]
use process_wrap::tokio::JobObject;
#[cfg(unix)]
use process_wrap::tokio::ProcessGroup;
use process_wrap::tokio::{ChildWrapper, CommandWrap, KillOnDrop};
use tokio::process::Command;

/// What one wait for the bot produced.
pub enum Observation {
    Report(Box<EdgeReport>),
    Unusable(String),
}

pub struct External {
    report: PathBuf,
    timeout: Duration,
    last_sequence: Option<u64>,
    bot: Option<Supervised>,
    /// Where warnings about the bot's output go (`latest/bot.log`), beside stderr.
    warn_log: Option<PathBuf>,
    /// Unknown fields already warned about (each is warned about once per run).
    warned: std::collections::BTreeSet<String>,
}

/// A bot launched with `--exec`, watched so that its exit stops the run.
pub struct Supervised {
    child: Box<dyn ChildWrapper>,
    /// Stops the bot if this process dies without running [`Drop`] (Linux).
    watchdog: Option<std::process::Child>,
    command: String,
    log: PathBuf,
}

/// First retry delay; doubles per attempt up to [`MAX_DELAY`], each scaled by a
/// random factor in [0.5, 1.5) so many runners never retry in lockstep.
const FIRST_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_secs(2);

impl External {
    pub fn new(report: PathBuf, timeout: Duration) -> Self {
        External { report, timeout, last_sequence: None, bot: None, warn_log: None, warned: Default::default() }
    }

    /// Also append warnings about the bot's reports to `log` (`latest/bot.log`).
    pub fn warn_to(&mut self, log: &Path) {
        self.warn_log = Some(log.to_path_buf());
    }

    /// Launches `command` through the platform shell with the paths it needs in its
    /// environment; stdout and stderr are appended to `log`. The bot is killed when
    /// the run ends.
    /// `dir`: the directory it runs in (the run's start's), or the current one.
    pub fn launch(
        &mut self,
        command: &str,
        dir: Option<&Path>,
        out: &Path,
        overrides: &Path,
        log: &Path,
    ) -> Result<()> {
        let env = [("MMSOAK_OVERRIDES", overrides), ("MMSOAK_EDGE_REPORT", self.report.as_path())];
        self.bot = Some(Supervised::launch(command, dir, out, &env, log)?);
        Ok(())
    }

    /// A supervised bot that has exited is fatal: there is nothing left to observe.
    pub fn check_bot(&mut self) -> Result<()> {
        match &mut self.bot {
            Some(bot) => bot.check(),
            None => Ok(()),
        }
    }

    /// Waits for a report the runner can trust: newer than the last one used,
    /// written after `since_ms`, and made with `in_force`.
    pub async fn next(&mut self, since_ms: u64, in_force: &Params) -> Result<Observation> {
        let started = Instant::now();
        let mut delay = FIRST_DELAY;
        loop {
            self.check_bot()?;
            let reason = match self.read(since_ms, in_force) {
                Ok(report) => {
                    self.last_sequence = Some(report.sequence);
                    return Ok(Observation::Report(Box::new(report.edge)));
                }
                Err(reason) => reason,
            };
            if started.elapsed() >= self.timeout {
                return Ok(Observation::Unusable(reason));
            }
            let jittered = delay.mul_f64(0.5 + fastrand::f64());
            tokio::time::sleep(jittered.min(self.timeout.saturating_sub(started.elapsed()))).await;
            delay = (delay * 2).min(MAX_DELAY);
        }
    }

    fn read(&mut self, since_ms: u64, in_force: &Params) -> Result<ParsedReport, String> {
        let path = self.report.display().to_string();
        // A FIFO or device would block the read (and with it Ctrl-C's handling).
        if std::fs::metadata(&self.report).is_ok_and(|m| !m.is_file()) {
            return Err(format!("{path}: is not a regular file"));
        }
        let bytes = match std::fs::read(&self.report) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(format!("{path}: no report yet")),
            Err(e) => return Err(format!("{path}: cannot read it: {e}")),
        };
        let report = bot_report::parse(&bytes).map_err(|e| match e {
            ReportError::Malformed(m) => format!("{path}: malformed: {m}"),
            ReportError::Invalid(m) => format!("{path}: invalid: {m}"),
        })?;
        if let Some(last) = self.last_sequence.filter(|last| report.sequence <= *last) {
            return Err(format!("{path}: stale: sequence {} is not newer than {last}, already used", report.sequence));
        }
        if report.generated_at_ms < since_ms {
            return Err(format!(
                "{path}: stale: written at {} ms, before this iteration began at {since_ms} ms",
                report.generated_at_ms
            ));
        }
        if &report.params != in_force {
            return Err(format!(
                "{path}: stale: made with other parameters than those in force (the bot has not applied them)"
            ));
        }
        self.warn_unknown(&report.unknown_fields);
        Ok(report)
    }

    /// Unknown fields of a v2 report: accepted, listed in the iteration's summary
    /// (the edge's `source_notes`), and warned about once per run on stderr and in bot.log.
    fn warn_unknown(&mut self, fields: &[String]) {
        let new: Vec<&String> = fields.iter().filter(|f| !self.warned.contains(*f)).collect();
        if new.is_empty() {
            return;
        }
        let list: Vec<&str> = new.iter().map(|s| s.as_str()).collect();
        let line = format!(
            "mmsoak: warning: {}: fields this mmsoak does not know, accepted and not used (EDGE_REPORT v2): {}",
            self.report.display(),
            list.join(", ")
        );
        eprintln!("{line}");
        if let Some(log) = &self.warn_log {
            append_to_log(log, &line);
        }
        self.warned.extend(fields.iter().cloned());
    }
}

impl Supervised {
    /// Launches `command` through the platform shell with `env` (names and paths)
    /// and `MMSOAK_OUT` (the run's `--out`) in its environment; stdout and stderr
    /// are appended to `log`. A bot an earlier, killed run on `out` left running is
    /// stopped first ([`crate::orphans`]).
    ///
    /// The shell and everything it starts run in a process group of their own
    /// (Unix) or a job object (Windows): the bot is often a grandchild (`sh -c
    /// "cd x && python3 bot.py"`), and killing only the shell would leave it running
    /// after the run. Dropping this stops the whole group (see [`Drop`]).
    /// It runs in `dir` when given (the directory the run started in, so that
    /// `--resume` from elsewhere runs the same `./bot.sh`), else in the current one.
    pub fn launch(
        command: &str,
        dir: Option<&Path>,
        out: &Path,
        env: &[(&str, &Path)],
        log: &Path,
    ) -> Result<Supervised> {
        // Canonical, so that `out/`, `x/../out` or a symlinked spelling of the same
        // directory marks (and later finds) the bot the same way.
        let out =
            std::fs::canonicalize(out).or_else(|_| std::path::absolute(out)).unwrap_or_else(|_| out.to_path_buf());
        crate::orphans::stop_left_behind(&out);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open the bot log {}", log.display()))?;
        let err_file = file.try_clone().with_context(|| format!("cannot share {}", log.display()))?;
        let mut cmd = if cfg!(windows) {
            let mut c = Command::new("cmd");
            c.arg("/C").arg(command);
            c
        } else {
            let mut c = Command::new("sh");
            c.arg("-c").arg(command);
            c
        };
        for (name, value) in env {
            // Absolute, so a bot that changes directory (`cd x && ./bot`) still
            // writes and watches the run's files.
            cmd.env(name, std::path::absolute(value).unwrap_or_else(|_| value.to_path_buf()));
        }
        cmd.env(crate::orphans::OUT_VAR, &out);
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        cmd.stdin(Stdio::null()).stdout(file).stderr(err_file);
        #[cfg(target_os = "linux")]
        {
            // SAFETY: between fork and exec only async-signal-safe calls: prctl, getppid.
            let runner = std::process::id() as libc::pid_t;
            unsafe {
                cmd.pre_exec(move || {
                    // If the runner dies without stopping the bot (SIGKILL, a crash), the
                    // shell — and the bot itself when the shell execs it, as `sh -c CMD`
                    // does for a simple command — gets SIGTERM. The next run on this
                    // --out stops whatever else is left (crate::orphans).
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    if libc::getppid() != runner {
                        libc::raise(libc::SIGTERM); // the runner died before prctl took hold
                    }
                    Ok(())
                });
            }
        }
        let mut wrap = CommandWrap::from(cmd);
        #[cfg(unix)]
        wrap.wrap(ProcessGroup::leader());
        #[cfg(windows)]
        wrap.wrap(JobObject);
        let child = wrap.wrap(KillOnDrop).spawn().with_context(|| format!("--exec {command:?}: cannot start it"))?;
        eprintln!("mmsoak: started the bot (pid {}): {command}; log {}", child.id().unwrap_or(0), log.display());
        let watchdog = crate::orphans::start_watchdog(&out);
        Ok(Supervised { child, watchdog, command: command.to_string(), log: log.to_path_buf() })
    }

    /// A bot that has exited is fatal: there is nothing left to observe.
    pub fn check(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait().context("checking on the bot")? {
            bail!(
                "the bot exited ({status}): --exec {:?}; its output is in {}; completed iterations are saved, \
                 continue with --resume once it runs again",
                self.command,
                self.log.display()
            );
        }
        Ok(())
    }
}

/// How long a bot has to exit after SIGTERM before its group is killed.
#[cfg(unix)]
const STOP_GRACE: Duration = Duration::from_secs(2);

impl Drop for Supervised {
    /// Unix: SIGTERM to the bot's process group, so a bot can flush its files and
    /// exit; SIGKILL to whatever is left after [`STOP_GRACE`]. Windows: the job
    /// object is closed with kill-on-close, which terminates every process in it.
    fn drop(&mut self) {
        self.stop_group();
        if let Some(mut w) = self.watchdog.take() {
            drop(w.stdin.take()); // end-of-file: it finds nothing left and exits
            let _ = w.wait();
        }
    }
}

impl Supervised {
    fn stop_group(&mut self) {
        #[cfg(unix)]
        {
            let Some(pgid) = self.child.id().and_then(|id| i32::try_from(id).ok()) else {
                return;
            };
            // SAFETY: killpg only sends a signal; `pgid` is the group this child leads.
            let alive = || unsafe { libc::killpg(pgid, 0) } == 0;
            if !alive() {
                return;
            }
            let _ = self.child.signal(libc::SIGTERM);
            let deadline = Instant::now() + STOP_GRACE;
            while Instant::now() < deadline {
                // Reaps the shell (and any of our children in the group) so that a
                // zombie does not count as alive.
                let _ = self.child.try_wait();
                if !alive() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.signal(libc::SIGKILL);
            let _ = self.child.try_wait();
        }
    }
}

/// Appends `line` to the bot's log (best effort: a warning must not stop the run).
pub fn append_to_log(log: &Path, line: &str) {
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log) {
        let _ = writeln!(f, "{line}");
    }
}
