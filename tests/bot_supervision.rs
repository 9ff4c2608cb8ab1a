//! A bot launched with `--exec` lives and dies with its run: stopped when the run
//! ends, is interrupted (SIGTERM, SIGHUP) or is killed outright, noticed at once
//! when it exits, and never left trading for a resumed run to read.
//! Linux: the tests read process states from /proc.
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{json, mmsoak};

fn bin() -> String {
    env!("CARGO_BIN_EXE_mmsoak").to_string()
}

/// The bot as a grandchild of the runner, as wrapper scripts make it (`&` + `wait`
/// keeps the shell alive as its parent); its pid goes to `pid_file`.
fn wrapped_bot(pid_file: &Path) -> String {
    format!("\"{}\" bot --speed 900 --regime calm --seed 4 & echo $! > \"{}\"; wait", bin(), pid_file.display())
}

/// `mmsoak run --source external --exec EXEC --out OUT` with `SOAK_SLEEP_SECONDS`
/// and any `extra` flags, not yet started.
fn live_run(out: &Path, exec: &str, sleep: &str, extra: &[&str]) -> Command {
    let mut cmd = mmsoak();
    cmd.env("SOAK_SLEEP_SECONDS", sleep)
        .args(["run", "--source", "external", "--exec", exec, "--out", out.to_str().unwrap()])
        .args(extra)
        .stderr(Stdio::piped());
    cmd
}

/// Whether the pid in `pid_file` still runs; a zombie waiting for init is not running.
fn still_runs(pid_file: &Path) -> Option<String> {
    let pid = std::fs::read_to_string(pid_file).unwrap().trim().to_string();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit(')').next().unwrap_or("").split_whitespace().next().unwrap_or("gone");
    (state != "gone" && state != "Z").then(|| format!("pid {pid}: {stat}"))
}

/// Waits (at most a minute, a hang guard, not a speed check) for `what` to hold.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(60), "still waiting after a minute: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The child's output once it exits; killed, and the test failed, if it has not
/// exited within a minute (it should end in well under a second).
fn finish(mut child: Child, what: &str) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("{what}: the run had not ended a minute later");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn signal(child: &Child, sig: &str) {
    assert!(Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success());
}

/// The pids of processes whose command line holds every one of `words`.
fn pids_with(words: &[&str]) -> Vec<u32> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if words.iter().all(|w| args.iter().any(|a| a == w)) {
            found.push(pid);
        }
    }
    found
}

fn first_iteration(out: &Path) -> PathBuf {
    let first = out.join("latest/ITER_SUMMARY_1.json");
    wait_for("the first iteration", || first.exists());
    first
}

#[test]
fn the_bot_does_not_outlive_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("group");
    let pid_file = dir.path().join("bot.pid");
    let o = live_run(&out, &wrapped_bot(&pid_file), "0.2", &["--iterations", "2"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(still_runs(&pid_file), None, "the bot still runs after the run ended");
}

/// `--resume` on a run that finished has nothing for a bot to trade: the bot is
/// not started, the run says so and exits 0, the report is as it was.
#[test]
fn resuming_a_finished_run_does_not_start_the_bot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("group");
    let pid_file = dir.path().join("bot.pid");
    let o = live_run(&out, &wrapped_bot(&pid_file), "0.2", &["--iterations", "2"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = std::fs::read(out.join("latest/TUNING_REPORT.json")).unwrap();
    std::fs::remove_file(&pid_file).unwrap();
    let o = mmsoak().args(["run", "--resume", "--out", out.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("finished all 2 iterations already; nothing to resume"), "{err}");
    assert!(!pid_file.exists(), "the bot was started for a finished run: {err}");
    assert_eq!(std::fs::read(out.join("latest/TUNING_REPORT.json")).unwrap(), report);
}

/// SIGTERM (systemd, scancel, a CI runner's cancel) stops the run as Ctrl-C does:
/// exit 130, completed iterations saved, the bot stopped with it.
#[test]
fn sigterm_stops_the_run_and_the_bot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("term");
    let pid_file = dir.path().join("bot.pid");
    let run = live_run(&out, &wrapped_bot(&pid_file), "0.5", &["--iterations", "500"]).spawn().unwrap();
    first_iteration(&out);
    signal(&run, "-TERM");
    let o = finish(run, "SIGTERM");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert!(!out.join("latest/ITER_SUMMARY_500.json").exists());
    assert_eq!(still_runs(&pid_file), None, "the bot still runs after SIGTERM stopped the run");
}

/// A run killed outright (SIGKILL, the OOM killer) runs none of its own cleanup;
/// its watchdog stops the bot, which would otherwise go on trading unwatched.
#[test]
fn a_killed_run_does_not_leave_its_bot_trading() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("killed");
    let pid_file = dir.path().join("bot.pid");
    let mut run = live_run(&out, &wrapped_bot(&pid_file), "0.5", &["--iterations", "500"]).spawn().unwrap();
    first_iteration(&out);
    assert!(still_runs(&pid_file).is_some(), "the bot should be trading");
    run.kill().unwrap(); // SIGKILL
    run.wait().unwrap();
    wait_for("the bot to be stopped after its run was killed", || still_runs(&pid_file).is_none());
}

/// When even the watchdog is gone (both killed), `--resume` stops the bot the
/// killed run left before it starts its own: two bots would trade, and the
/// resumed run would read the old bot's reports as its own.
#[test]
fn resume_stops_a_bot_left_behind_before_starting_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("left");
    let pid_file = dir.path().join("bot.pid");
    let mut run = live_run(&out, &wrapped_bot(&pid_file), "0.5", &["--iterations", "500"]).spawn().unwrap();
    first_iteration(&out);
    let abs_out = std::path::absolute(&out).unwrap();
    let watchdogs = pids_with(&["watch-bot", abs_out.to_str().unwrap()]);
    assert_eq!(watchdogs.len(), 1, "one watchdog per supervised bot");
    for pid in watchdogs {
        assert!(Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());
    }
    run.kill().unwrap();
    run.wait().unwrap();
    let old_bot = std::fs::read_to_string(&pid_file).unwrap();
    assert!(still_runs(&pid_file).is_some(), "with its watchdog killed too, the old bot is left running");

    // Spelled another way than at the start: the same directory all the same.
    std::fs::create_dir(dir.path().join("x")).unwrap();
    let respelled = format!("{}/x/../left/", dir.path().display());
    let resumed = mmsoak()
        .env("SOAK_SLEEP_SECONDS", "0.5")
        .args(["run", "--resume", "--out", &respelled])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let old = dir.path().join("old.pid");
    std::fs::write(&old, &old_bot).unwrap();
    wait_for("the resumed run to stop the old bot", || still_runs(&old).is_none());
    // The resumed run's own bot wrote its pid over the old one: it trades now.
    wait_for("the resumed run's bot", || std::fs::read_to_string(&pid_file).is_ok_and(|p| p != old_bot));
    signal(&resumed, "-TERM");
    let o = finish(resumed, "SIGTERM after resume");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("a bot of an earlier run on") && stderr.contains(old_bot.trim()), "{stderr}");
    assert_eq!(still_runs(&pid_file), None, "the resumed run's bot outlived it");
}

/// A bot that exits while the run waits out an iteration's trading time stops the
/// run then, not when the pause (here an hour) is over.
#[test]
fn a_bot_that_exits_during_the_pause_stops_the_run_then() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exits");
    let run = live_run(&out, "sleep 0.3; exit 3", "3600", &["--iterations", "2"]).spawn().unwrap();
    let o = finish(run, "a bot that exited during an hour's pause");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the bot exited (exit status: 3)"), "{stderr}");
}

/// SIGHUP (the terminal or SSH session closed) while the run waits for a report
/// that does not come (`--report-timeout` an hour) stops it at once: exit 130,
/// nothing completed, the bot stopped.
#[test]
fn sighup_stops_a_run_waiting_for_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hup");
    let pid_file = dir.path().join("bot.pid");
    let silent = format!("sleep 1000 & echo $! > \"{}\"; wait", pid_file.display());
    let run = live_run(&out, &silent, "0.05", &["--iterations", "2", "--report-timeout", "3600"]).spawn().unwrap();
    wait_for("the silent bot", || std::fs::read_to_string(&pid_file).is_ok_and(|p| p.ends_with('\n')));
    std::thread::sleep(Duration::from_millis(300)); // into the wait for its report
    signal(&run, "-HUP");
    let o = finish(run, "SIGHUP");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted after iteration 0"), "{stderr}");
    assert!(!out.join("latest/ITER_SUMMARY_1.json").exists());
    assert_eq!(still_runs(&pid_file), None, "the bot outlived the run");
    // Nothing was completed, so a resume starts from the beginning.
    assert!(json(out.join("latest/RUN.json"))["exec"].as_str().unwrap().contains("sleep 1000"));
}
