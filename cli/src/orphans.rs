//! A bot left running by a run that was killed outright (SIGKILL, the OOM killer, a
//! crash): the runner's own cleanup never ran, and the bot, in a process group of
//! its own, kept trading. A resumed run would then start a second bot and read the
//! first one's reports as its own.
//!
//! Every bot launched with `--exec` carries `MMSOAK_OUT` (the run's `--out`,
//! absolute) in its environment, and so does everything it starts. Before a run
//! launches its bot, it stops the process groups of any process still carrying its
//! own `--out` there: only one run can hold an `--out` (its lock), so such a process
//! can only be a bot of an earlier run. Linux reads the environments from `/proc`;
//! on Windows the bot is in a job object that the OS closes, killing the bot, when
//! the runner dies, so nothing is left behind there.
//!
//! So that a killed run does not leave its bot trading until the next run, a
//! runner on Linux also starts a watchdog, `mmsoak watch-bot --out OUT`, in a
//! process group of its own, holding the read end of a pipe whose write end only
//! the runner has. However the runner ends, the kernel closes its end; the
//! watchdog reads end-of-file and stops whatever still carries the run's
//! `MMSOAK_OUT`, then exits. (After a normal end nothing is left and it just exits.)

use std::path::Path;

/// The variable that marks a supervised bot and everything it starts.
pub const OUT_VAR: &str = "MMSOAK_OUT";

/// Stops what an earlier run on `out` left running; says what it stopped on stderr.
pub fn stop_left_behind(out: &Path) {
    stop_marked(
        out,
        "a bot of an earlier run on {out} is still running (pids {pids}); stopping it before starting this run's",
    );
}

/// Stops every process group holding a process marked with `out`; `message`
/// (with `{out}` and `{pids}` filled in) goes to stderr when there was one.
#[cfg(target_os = "linux")]
fn stop_marked(out: &Path, message: &str) {
    use std::time::{Duration, Instant};
    let mut marker = format!("{OUT_VAR}={}", out.display()).into_bytes();
    marker.push(0);
    // SAFETY: plain queries of this process's ids.
    let (me, my_group) = unsafe { (libc::getpid(), libc::getpgrp()) };
    let mut groups = std::collections::BTreeSet::new();
    let mut pids = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        if pid == me {
            continue;
        }
        let Ok(env) = std::fs::read(entry.path().join("environ")) else { continue };
        if !env.split_inclusive(|b| *b == 0).any(|var| var == marker.as_slice()) {
            continue;
        }
        if let Some(pgid) = group_of(pid).filter(|g| *g != my_group && *g > 1) {
            groups.insert(pgid);
            pids.push(pid);
        }
    }
    if groups.is_empty() {
        return;
    }
    let pids_text = pids.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ");
    eprintln!("mmsoak: {}", message.replace("{out}", &out.display().to_string()).replace("{pids}", &pids_text));
    // SAFETY: killpg/kill only send signals to the groups and pids found above.
    let signal = |sig| groups.iter().for_each(|g| unsafe { _ = libc::killpg(*g, sig) });
    signal(libc::SIGTERM);
    let alive = || pids.iter().any(|p| unsafe { libc::kill(*p, 0) } == 0 && !is_zombie(*p));
    let deadline = Instant::now() + Duration::from_secs(2);
    while alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if alive() {
        signal(libc::SIGKILL);
    }
}

#[cfg(not(target_os = "linux"))]
fn stop_marked(_out: &Path, _message: &str) {}

/// The watchdog's side: waits for end-of-file on stdin (the runner has ended),
/// then stops what its bot left behind.
pub fn watch(out: &Path) {
    use std::io::Read;
    let mut sink = [0u8; 64];
    let mut stdin = std::io::stdin();
    while !matches!(stdin.read(&mut sink), Ok(0) | Err(_)) {}
    stop_marked(
        out,
        "the run on {out} has ended, and processes its bot started are still running (pids {pids}); stopping them",
    );
}

/// The runner's side: the watchdog process, alive while the returned handle is.
/// `None` where it is not needed (not Linux) or could not start (said on stderr:
/// the run goes on, the next run still stops a bot left behind).
#[cfg(target_os = "linux")]
pub fn start_watchdog(out: &Path) -> Option<std::process::Child> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().ok()?;
    let started = Command::new(exe)
        .arg("watch-bot")
        .arg("--out")
        .arg(out)
        .env_remove(OUT_VAR)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        // Its own group: Ctrl-C in the terminal reaches the runner, which stops
        // the bot itself; the watchdog must outlive the runner, not share its fate.
        .process_group(0)
        .spawn();
    match started {
        Ok(child) => Some(child),
        Err(e) => {
            eprintln!("mmsoak: warning: cannot start the bot watchdog ({e}); if this run is killed, its bot is stopped only by the next run on {}", out.display());
            None
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub fn start_watchdog(_out: &Path) -> Option<std::process::Child> {
    None
}

/// The process group of `pid`, from `/proc/<pid>/stat` (field 5, after the
/// parenthesised command name, which may itself hold spaces and parentheses).
#[cfg(target_os = "linux")]
fn group_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// A zombie has exited and waits for its parent to reap it: it no longer trades.
#[cfg(target_os = "linux")]
fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 1..].trim_start().starts_with('Z')))
        .unwrap_or(false)
}
