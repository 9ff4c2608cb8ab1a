//! One source of truth and nothing lost: precedence, crash-safe resume, rotation,
//! malformed configuration and state.

mod common;

use common::{json, mmsoak, paused_at, read, run_ok, tiled_quotes_copies, tree};
use std::path::{Path, PathBuf};
use std::process::Output;

fn first_min_interval(out: &Path) -> u64 {
    json(out.join("latest/ITER_SUMMARY_1.json"))["overrides"]["min_interval_ms"].as_u64().unwrap()
}

#[test]
fn precedence_flag_over_env_over_overrides_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("soak");
    let setup = || {
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("runtime_overrides.json"), r#"{"min_interval_ms": 60}"#).unwrap();
    };
    let run = |env: bool, profile: bool| {
        setup();
        let mut cmd = mmsoak();
        cmd.args(["run", "--iterations", "1", "--out", out.to_str().unwrap()]);
        if env {
            cmd.env("MM_RUNTIME_OVERRIDES_JSON", r#"{"min_interval_ms": 70}"#);
        }
        if profile {
            cmd.args(["--profile", "steady_safe"]);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        first_min_interval(&out)
    };
    assert_eq!(run(true, true), 75);
    assert_eq!(run(true, false), 70);
    assert_eq!(run(false, false), 60);

    // `config explain` names each value's origin.
    setup();
    let o = mmsoak()
        .args(["config", "explain", "--out", out.to_str().unwrap()])
        .env("MM_RUNTIME_OVERRIDES_JSON", r#"{"min_interval_ms": 70}"#)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let line = text.lines().find(|l| l.trim_start().starts_with("min_interval_ms")).unwrap();
    assert!(line.contains("70") && line.contains("env MM_RUNTIME_OVERRIDES_JSON"), "{line}");
    let line = text.lines().find(|l| l.trim_start().starts_with("base_spread_bps")).unwrap();
    assert!(line.contains("default"), "{line}");
}

#[test]
fn mmsoak_toml_supplies_settings_and_parameters_below_flags() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mmsoak.toml");
    std::fs::write(&cfg, "[soak]\niterations = 3\nregime = \"volatile\"\n\n[params]\nbase_spread_bps = 9.5\n").unwrap();
    let out = dir.path().join("o");
    run_ok(&["run", "--config", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(out.join("latest/ITER_SUMMARY_3.json").exists() && !out.join("latest/ITER_SUMMARY_4.json").exists());
    let s = json(out.join("latest/ITER_SUMMARY_1.json"));
    assert_eq!(s["overrides"]["base_spread_bps"], 9.5);
    assert_eq!(s["edge"]["regime"], "volatile");
    let out2 = dir.path().join("o2");
    run_ok(&["run", "--config", cfg.to_str().unwrap(), "--out", out2.to_str().unwrap(), "--iterations", "2"]);
    assert!(!out2.join("latest/ITER_SUMMARY_3.json").exists(), "the flag wins over the file");
}

fn artifacts(out: &Path, n: u32) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = (1..=n)
        .map(|i| format!("latest/ITER_SUMMARY_{i}.json"))
        .chain([
            "latest/TUNING_REPORT.json".to_string(),
            "latest/TUNING_STATE.json".into(),
            "runtime_overrides.json".into(),
        ])
        .map(|f| (f.clone(), read(out.join(&f))))
        .collect();
    v.sort();
    v
}

/// What a power cut between group commits can leave: TUNING_STATE.json for
/// iteration 10 reached the disk, ITER_SUMMARY_10.json's data did not (an empty
/// file), and the last checkpoint is iteration 9. `--resume` goes back to the
/// checkpoint, runs iteration 10 again and ends with the reference run's bytes.
/// Without a checkpoint the same damage is refused, with nothing touched.
#[test]
fn resume_after_a_power_cut_goes_back_to_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let args = |out: &Path| -> Vec<String> {
        ["run", "--iterations", "10", "--auto-tune", "--regime", "volatile", "--profile", "aggressive", "--out"]
            .iter()
            .map(|s| s.to_string())
            .chain([out.to_str().unwrap().to_string()])
            .collect()
    };
    let reference = dir.path().join("reference");
    run_ok(&args(&reference).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(json(reference.join("latest/TUNING_CHECKPOINT.json"))["iteration"], 10);

    let out = dir.path().join("cut");
    run_ok(&args(&out).iter().map(String::as_str).collect::<Vec<_>>());
    let latest = out.join("latest");
    // The state after iteration 9 is what a checkpoint at iteration 9 holds.
    std::fs::copy(latest.join("TUNING_STATE.prev.json"), latest.join("TUNING_CHECKPOINT.json")).unwrap();
    std::fs::write(latest.join("ITER_SUMMARY_10.json"), b"").unwrap();
    std::fs::remove_file(latest.join("TUNING_REPORT.json")).unwrap();

    let without = dir.path().join("no-checkpoint");
    run_ok(&args(&without).iter().map(String::as_str).collect::<Vec<_>>());
    std::fs::write(without.join("latest/ITER_SUMMARY_10.json"), b"").unwrap();
    std::fs::remove_file(without.join("latest/TUNING_CHECKPOINT.json")).unwrap();
    let before = tree(&without);
    let o = mmsoak().args(["run", "--resume", "--out", without.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("ITER_SUMMARY_10.json is corrupt"), "{err}");
    assert_eq!(tree(&without), before, "a refused resume changed files");

    let o = mmsoak().args(["run", "--resume", "--out", out.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("going back to the last checkpoint (TUNING_CHECKPOINT.json, iteration 9)"), "{err}");
    assert_eq!(artifacts(&out, 10), artifacts(&reference, 10));

    // The state itself cut short (empty after the power cut): the checkpoint again.
    let empty = dir.path().join("empty-state");
    run_ok(&args(&empty).iter().map(String::as_str).collect::<Vec<_>>());
    let latest = empty.join("latest");
    std::fs::copy(latest.join("TUNING_STATE.prev.json"), latest.join("TUNING_CHECKPOINT.json")).unwrap();
    std::fs::write(latest.join("TUNING_STATE.json"), b"").unwrap();
    std::fs::remove_file(latest.join("TUNING_REPORT.json")).unwrap();
    let o = mmsoak().args(["run", "--resume", "--out", empty.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("TUNING_STATE.json is empty or cut short"), "{err}");
    assert!(err.contains("going back to the last checkpoint (TUNING_CHECKPOINT.json, iteration 9)"), "{err}");
    assert_eq!(artifacts(&empty, 10), artifacts(&reference, 10));
}

#[cfg(unix)]
#[test]
fn sigkill_at_random_points_then_resume_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let n = 10u32;
    let args = |out: &Path| -> Vec<String> {
        [
            "run",
            "--iterations",
            &n.to_string(),
            "--auto-tune",
            "--regime",
            "mixed",
            "--profile",
            "aggressive",
            "--seed",
            "9",
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let reference = dir.path().join("reference");
    // Timed on the second of two runs: the first may compile the core into the
    // module cache, and kill points drawn from its time would mostly land after the end.
    let mut reference_time = u64::MAX;
    for _ in 0..2 {
        let started = std::time::Instant::now();
        run_ok(&args(&reference).iter().map(String::as_str).collect::<Vec<_>>());
        reference_time = reference_time.min(started.elapsed().as_micros() as u64);
    }
    let expected = artifacts(&reference, n);

    let mut lcg: u64 = 0x2545_F491_4F6C_DD1D;
    let mut killed_mid_run = 0;
    for k in 0..24 {
        lcg = lcg.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let delay = (lcg >> 33) % (reference_time * 12 / 10 + 1);
        let out = dir.path().join(format!("killed-{k}"));
        let mut child = mmsoak().args(args(&out)).stderr(std::process::Stdio::null()).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_micros(delay));
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let resumed = mmsoak().args(["run", "--resume", "--out", out.to_str().unwrap()]).output().unwrap();
        if !resumed.status.success() {
            let err = String::from_utf8_lossy(&resumed.stderr);
            assert!(err.contains("nothing to resume"), "resume failed: {err}");
            // Killed before the run recorded itself: start it again.
            run_ok(&args(&out).iter().map(String::as_str).collect::<Vec<_>>());
        }
        assert_eq!(artifacts(&out, n), expected, "run {k} (killed after {delay} µs) differs after resume");
    }
    assert!(killed_mid_run >= 12, "only {killed_mid_run} of 24 kills landed mid-run");
}

#[cfg(unix)]
#[test]
fn ctrl_c_finishes_the_write_exits_130_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let child = mmsoak()
        .args(["run", "--iterations", "8", "--out", out.to_str().unwrap()])
        .env("SOAK_SLEEP_SECONDS", "0.3")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let o: Output = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
    let state = json(out.join("latest/TUNING_STATE.json"));
    let done = state["iteration"].as_u64().unwrap();
    assert!((1..8).contains(&done), "stopped after {done}");
    run_ok(&["run", "--resume", "--out", out.to_str().unwrap()]);
    let reference = dir.path().join("ref");
    run_ok(&["run", "--iterations", "8", "--out", reference.to_str().unwrap()]);
    assert_eq!(artifacts(&out, 8), artifacts(&reference, 8));
}

/// SIGTERM or Ctrl-C while the start-of-run scan reads the tick data (before the
/// first iteration): exit 130, one line saying so, nothing written. (The signal is
/// sent from here with kill(2): a shell's background job would ignore SIGINT.)
#[cfg(target_os = "linux")]
#[test]
fn a_stop_signal_during_the_start_of_run_scan_exits_130_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // 68 MB of real quotes: a read long enough to be interrupted in.
    let data = common::tiled_quotes(dir.path());
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        let out = dir.path().join(name);
        let child = mmsoak()
            .args(["run", "--source", "ticks", "--engine", "native", "--iterations", "1"])
            .args(["--iteration-seconds", "60", "--out", out.to_str().unwrap(), "--data", data.to_str().unwrap()])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Past the first lines that grouping reads: the scan is under way.
        let t0 = std::time::Instant::now();
        while file_offset(child.id(), &data).is_none_or(|pos| pos < 1 << 20) {
            assert!(t0.elapsed().as_secs() < 60, "{name}: the scan never started");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // SAFETY: kill(2) on the pid of a child not yet waited for.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(130), "{name}: {:?}: {err}", o.status);
        assert_eq!(
            err,
            "mmsoak: interrupted while reading the tick data, before an iteration started; no artifact was written\n",
            "{name}"
        );
        assert!(!out.exists(), "{name}: something was written");
    }
}

/// The offset of process `pid`'s descriptor open on `path`, if it has one.
#[cfg(target_os = "linux")]
fn file_offset(pid: u32, path: &Path) -> Option<u64> {
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        if std::fs::read_link(fd.path()).ok().as_deref() == Some(path) {
            let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_str()?)).ok()?;
            return info.lines().find_map(|l| l.strip_prefix("pos:")).and_then(|v| v.trim().parse().ok());
        }
    }
    None
}

#[test]
fn rotation_keeps_the_newest_100_by_number_and_folds_the_rest_into_history() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    run_ok(&["run", "--iterations", "1", "--out", out.to_str().unwrap()]);
    let latest = out.join("latest");
    let template = json(latest.join("ITER_SUMMARY_1.json"));
    std::fs::remove_file(latest.join("ITER_SUMMARY_1.json")).unwrap();
    for i in 0..150 {
        let mut s = template.clone();
        s["iteration"] = i.into();
        std::fs::write(latest.join(format!("ITER_SUMMARY_{i}.json")), serde_json::to_vec_pretty(&s).unwrap()).unwrap();
    }
    let o = run_ok(&["artifacts", "rotate", "--out", out.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("folded 50 ITER_SUMMARY files (iterations 0..49)"));
    for i in 0..150 {
        assert_eq!(latest.join(format!("ITER_SUMMARY_{i}.json")).exists(), i >= 50, "iteration {i}");
    }
    // The history reads back: every folded summary, whole.
    let history = read(latest.join("history.jsonl.gz"));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&history[..]), &mut text).unwrap();
    let its: Vec<u64> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["iteration"].as_u64().unwrap())
        .collect();
    assert_eq!(its, (0..50).collect::<Vec<_>>());
    let back: serde_json::Value = serde_json::from_str(text.lines().nth(7).unwrap()).unwrap();
    let mut expect = template.clone();
    expect["iteration"] = 7.into();
    assert_eq!(back, expect);
    // Rotating again changes nothing.
    let before = tree(&out);
    let o = run_ok(&["artifacts", "rotate", "--out", out.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("nothing to rotate"));
    assert_eq!(tree(&out), before);
}

/// Every kind of broken file, for every file mmsoak reads.
fn junk() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("truncated", b"{\"min_interval_ms\": 6".to_vec()),
        ("nan", b"{\"min_interval_ms\": NaN}".to_vec()),
        ("negative", b"{\"min_interval_ms\": -5}".to_vec()),
        ("unknown key", b"{\"min_intervl_ms\": 60}".to_vec()),
        ("wrong type", b"{\"min_interval_ms\": \"60\"}".to_vec()),
        ("empty", Vec::new()),
        ("binary", vec![0xff, 0xfe, 0x00, 0x13, 0x37, 0x80]),
    ]
}

fn toml_junk() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("truncated", b"[params]\nmin_interval_ms = ".to_vec()),
        ("nan", b"[params]\nmin_interval_ms = nan".to_vec()),
        ("negative", b"[params]\nmin_interval_ms = -5".to_vec()),
        ("unknown key", b"[soak]\niteratons = 5".to_vec()),
        ("wrong type", b"[soak]\niterations = \"five\"".to_vec()),
        ("binary", vec![0xff, 0xfe, 0x00, 0x13, 0x37, 0x80]),
    ]
}

fn expect_refused(cmd: &mut std::process::Command, watch: &Path, name: &str, what: &str) {
    let before = tree(watch);
    let o = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{what} ({name}) should exit 2: {err}");
    assert!(!err.contains("panicked"), "{what} ({name}) panicked: {err}");
    assert!(err.contains(name), "{what}: the error should name {name}: {err}");
    assert_eq!(tree(watch), before, "{what} ({name}) changed files");
}

#[test]
fn malformed_configuration_and_state_are_refused_without_touching_anything() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    run_ok(&["run", "--iterations", "3", "--out", out.to_str().unwrap()]);
    let good_overrides = read(out.join("runtime_overrides.json"));
    let good_state = read(out.join("latest/TUNING_STATE.json"));
    // Without a checkpoint to go back to (with one, an empty or cut-short state is
    // taken for a power cut's: resume_after_a_power_cut_goes_back_to_the_last_checkpoint).
    std::fs::remove_file(out.join("latest/TUNING_CHECKPOINT.json")).unwrap();

    for (what, bytes) in junk() {
        // runtime_overrides.json
        std::fs::write(out.join("runtime_overrides.json"), &bytes).unwrap();
        expect_refused(
            mmsoak().args(["run", "--iterations", "1", "--out", out.to_str().unwrap()]),
            dir.path(),
            "runtime_overrides.json",
            what,
        );
        expect_refused(
            mmsoak().args(["config", "validate", "--out", out.to_str().unwrap()]),
            dir.path(),
            "runtime_overrides.json",
            what,
        );
        std::fs::write(out.join("runtime_overrides.json"), &good_overrides).unwrap();
        // the environment variable (binary junk cannot be an env value; skip it)
        if let Ok(text) = String::from_utf8(bytes.clone()) {
            if !text.contains('\0') {
                expect_refused(
                    mmsoak()
                        .args(["run", "--iterations", "1", "--out", out.to_str().unwrap()])
                        .env("MM_RUNTIME_OVERRIDES_JSON", &text),
                    dir.path(),
                    "MM_RUNTIME_OVERRIDES_JSON",
                    what,
                );
            }
        }
        // a profile file
        let profile = dir.path().join("profile.json");
        std::fs::write(&profile, &bytes).unwrap();
        expect_refused(
            mmsoak().args([
                "run",
                "--iterations",
                "1",
                "--profile",
                profile.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ]),
            dir.path(),
            "profile.json",
            what,
        );
        std::fs::remove_file(&profile).unwrap();
        // TUNING_STATE.json, on resume
        std::fs::write(out.join("latest/TUNING_STATE.json"), &bytes).unwrap();
        expect_refused(
            mmsoak().args(["run", "--resume", "--out", out.to_str().unwrap()]),
            dir.path(),
            "TUNING_STATE.json",
            what,
        );
        std::fs::write(out.join("latest/TUNING_STATE.json"), &good_state).unwrap();
    }
    for (what, bytes) in toml_junk() {
        let cfg: PathBuf = dir.path().join("mmsoak.toml");
        std::fs::write(&cfg, &bytes).unwrap();
        expect_refused(
            mmsoak().args(["run", "--config", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]),
            dir.path(),
            "mmsoak.toml",
            what,
        );
        expect_refused(
            mmsoak().args(["config", "validate", "--config", cfg.to_str().unwrap()]),
            dir.path(),
            "mmsoak.toml",
            what,
        );
    }
}

#[test]
fn old_run_snapshots_are_compressed_and_size_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let cfg = dir.path().join("mmsoak.toml");
    std::fs::write(&cfg, "[retention]\ncompress_after_days = 0\nwarn_total_mb = 0\n").unwrap();
    run_ok(&["run", "--iterations", "2", "--out", out.to_str().unwrap(), "--config", cfg.to_str().unwrap()]);
    run_ok(&["run", "--iterations", "2", "--out", out.to_str().unwrap(), "--config", cfg.to_str().unwrap()]);
    // The first run was moved to runs/ and, older than 0 days, compressed.
    let o = run_ok(&["artifacts", "rotate", "--out", out.to_str().unwrap(), "--config", cfg.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(stdout.contains("above the 0 MB limit"), "{stdout}");
    let runs: Vec<PathBuf> = std::fs::read_dir(out.join("runs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(runs[0].to_string_lossy().ends_with(".tar.gz"), "{runs:?}");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(&runs[0]).unwrap()));
    let names: Vec<String> =
        archive.entries().unwrap().map(|e| e.unwrap().path().unwrap().to_string_lossy().to_string()).collect();
    assert!(names.iter().any(|n| n.ends_with("ITER_SUMMARY_2.json")), "{names:?}");
}

#[test]
fn a_second_run_into_the_same_out_is_refused_while_the_first_writes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shared-out");
    let mut first = mmsoak()
        .env("SOAK_SLEEP_SECONDS", "0.5")
        .args(["run", "--iterations", "3", "--out", out.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !out.join("latest/ITER_SUMMARY_1.json").exists() {
        assert!(started.elapsed().as_secs() < 30, "the first run never wrote an iteration");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = mmsoak().args(["run", "--iterations", "1", "--out", out.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(err.contains("another mmsoak is writing to") && err.contains("mmsoak.lock"), "{err}");
    assert!(first.wait().unwrap().success(), "the first run was disturbed");
    assert_eq!(json(out.join("latest/TUNING_REPORT.json"))["rows"].as_array().unwrap().len(), 3);
    // Once it has finished, the directory is free again.
    run_ok(&["run", "--iterations", "1", "--out", out.to_str().unwrap()]);
}

/// `--resume` continues the run as RUN.json recorded it: a flag that would change
/// the run is refused (exit 2, naming it, nothing touched); the same value again
/// (the original command line with `--resume` added) is fine.
#[test]
fn resume_refuses_flags_that_would_change_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = out.to_str().unwrap();
    run_ok(&["run", "--iterations", "4", "--seed", "3", "--out", o]);
    std::fs::remove_file(out.join("latest/TUNING_REPORT.json")).unwrap();
    let before = tree(&out);
    for (flags, expected) in [
        (
            vec!["--seed", "4"],
            "--seed 4: --resume continues the run as it started, and its latest/RUN.json has --seed 3",
        ),
        (vec!["--iterations", "9"], "--iterations 9:"),
        (vec!["--source", "ticks"], "--source \"ticks\""),
        (vec!["--auto-tune"], "--auto-tune \"on\""),
        // Guards and tick models are the run's too: not silently dropped.
        (vec!["--guards-off", "freeze"], "--guards-off \"freeze\": --resume continues the run as it started, and its latest/RUN.json has --guards-off none"),
        // Tick flags on a run that is no tick replay: named as a fresh run names them.
        (
            vec!["--maker-fee-bps", "1", "--latency", "bogus"],
            "mmsoak: error: --latency and --maker-fee-bps are only used with --source ticks (this run's source is sim)\n",
        ),
    ] {
        let out = mmsoak().args(["run", "--resume", "--out", o]).args(&flags).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(expected), "{flags:?}: {err}");
        assert_eq!(tree(&dir.path().join("o")), before, "{flags:?}: a refused resume changed files");
    }
    run_ok(&["run", "--iterations", "4", "--seed", "3", "--out", o, "--resume"]);
    assert!(out.join("latest/TUNING_REPORT.json").exists());
}

/// The bug (B4): a run started with `--export-md`, `--export-html` and
/// `--summary-export` that stopped early wrote them saying STOPPED, and
/// `--resume` without the flags finished the run but left them so. RUN.json
/// now records them, absolute: `--resume` as the stop's advice line says
/// (from another directory too) writes all three again; a recorded export
/// whose directory is gone is refused before anything runs; an export flag
/// given with `--resume` wins for that invocation, RUN.json unchanged.
#[test]
fn resume_rewrites_the_reports_the_run_was_started_with() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let (data, text) = tiled_quotes_copies(&root, 10);
    let out = root.join("o");
    let reports = root.join("reports");
    std::fs::create_dir(&reports).unwrap();
    let (md, html, summary) = (reports.join("r.md"), reports.join("r.html"), reports.join("s.json"));
    let mut cmd = mmsoak();
    // Relative paths, from the run's directory: recorded absolute.
    cmd.current_dir(&root).args(["run", "--source", "ticks", "--engine", "native", "--iteration-seconds", "60"]);
    cmd.args(["--iterations", "30", "--out", "o", "--data", data.to_str().unwrap()]);
    cmd.args(["--export-md", "reports/r.md", "--export-html", "reports/r.html", "--summary-export", "reports/s.json"]);
    // The tick file grows after iteration 2: the run stops there.
    let o = paused_at(cmd, &root, 2, || {
        use std::io::Write;
        std::fs::OpenOptions::new().append(true).open(&data).unwrap().write_all(b"\n").unwrap();
    });
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{err}");
    let advice = err.lines().find(|l| l.contains("error")).unwrap();
    assert!(advice.contains("the run stopped after iteration 2 of 30"), "{advice}");
    // The advice is the whole command: no export flag to repeat.
    assert!(advice.contains("continue with `mmsoak run --resume --out o`") && !advice.contains("--export"), "{advice}");
    let text_of = |p: &Path| String::from_utf8(read(p)).unwrap();
    assert!(text_of(&md).contains("**STOPPED after iteration 2 of 30:**"), "{}", text_of(&md));
    assert!(text_of(&html).contains("STOPPED after iteration 2 of 30"));
    assert_eq!(json(&summary)["iterations_completed"], 2);
    let record = json(out.join("latest/RUN.json"));
    let abs = |p: &Path| serde_json::Value::from(p.display().to_string());
    assert_eq!(
        record["exports"],
        serde_json::json!({"export_md": abs(&md), "export_html": abs(&html), "summary_export": abs(&summary)})
    );
    std::fs::write(&data, &text).unwrap();
    let elsewhere = root.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let resume = |flags: &[&str]| {
        let mut cmd = mmsoak();
        cmd.current_dir(&elsewhere).args(["run", "--resume", "--engine", "native", "--out", out.to_str().unwrap()]);
        cmd.args(flags).output().unwrap()
    };

    // The reports' directory gone: one error naming the flag and the path, before any iteration.
    let away = root.join("away");
    std::fs::rename(&reports, &away).unwrap();
    let before = tree(&out);
    let o = resume(&[]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{err}");
    let said = format!("--summary-export {}: directory {} does not exist", summary.display(), reports.display());
    assert!(err.contains(&said) && err.contains("--summary-export FILE"), "{err}");
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
    assert_eq!(tree(&out), before, "a refused resume changed the run directory");
    std::fs::rename(&away, &reports).unwrap();

    // Resumed without the flags: the three reports now describe the finished run.
    let o = resume(&[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(out.join("latest/TUNING_REPORT.json"))["iterations_completed"], 30);
    assert!(!text_of(&md).contains("STOPPED"), "{}", text_of(&md));
    assert!(text_of(&md).contains("\n| 30 | "), "the Markdown has no row for iteration 30");
    assert!(!text_of(&html).contains("STOPPED"));
    let s = json(&summary);
    assert_eq!((s["iterations_completed"].as_u64(), s["iterations_planned"].as_u64()), (Some(30), Some(30)));
    assert!(s.get("bad_data").is_none(), "{s}");

    // --export-md given with --resume: written there instead, the others where recorded.
    for f in [&md, &html, &summary] {
        std::fs::remove_file(f).unwrap();
    }
    let run_json = read(out.join("latest/RUN.json"));
    let o = resume(&["--export-md", "other.md"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text_of(&elsewhere.join("other.md")).contains("\n| 30 | "));
    assert!(!md.exists(), "the recorded --export-md was written though another was given");
    assert!(html.exists() && summary.exists());
    assert_eq!(read(out.join("latest/RUN.json")), run_json, "RUN.json rewritten on resume");
}

/// A RUN.json from before the exports were recorded (no `exports`) resumes as
/// it did: the run finishes, writing the exports given with `--resume`, and
/// its record is left as it was. A run without exports records none.
#[test]
fn a_run_record_without_exports_still_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = out.to_str().unwrap();
    let md = dir.path().join("r.md");
    run_ok(&["run", "--iterations", "4", "--out", o, "--export-md", md.to_str().unwrap()]);
    let latest = out.join("latest");
    let mut record = json(latest.join("RUN.json"));
    assert!(record["exports"]["export_md"].is_string(), "{record}");
    record.as_object_mut().unwrap().remove("exports");
    std::fs::write(latest.join("RUN.json"), serde_json::to_vec_pretty(&record).unwrap()).unwrap();
    // A crash after iteration 3: the state one step back, the last summary and the report gone.
    std::fs::copy(latest.join("TUNING_STATE.prev.json"), latest.join("TUNING_STATE.json")).unwrap();
    std::fs::remove_file(latest.join("ITER_SUMMARY_4.json")).unwrap();
    std::fs::remove_file(latest.join("TUNING_REPORT.json")).unwrap();
    std::fs::remove_file(&md).unwrap();
    let run_json = read(latest.join("RUN.json"));
    run_ok(&["run", "--resume", "--out", o]);
    assert_eq!(json(latest.join("TUNING_REPORT.json"))["iterations_completed"], 4);
    assert_eq!(read(latest.join("RUN.json")), run_json, "RUN.json rewritten on resume");
    assert!(!md.exists(), "an export the old record does not hold was written");
    let again = dir.path().join("again.md");
    run_ok(&["run", "--resume", "--out", o, "--export-md", again.to_str().unwrap()]);
    assert!(again.exists());

    let plain = dir.path().join("plain");
    run_ok(&["run", "--iterations", "1", "--out", plain.to_str().unwrap()]);
    assert!(json(plain.join("latest/RUN.json")).get("exports").is_none());
}

/// A finished run has nothing to resume, whatever became of the directories of
/// the reports it was started with: it says so and exits 0, naming each report
/// it cannot write again. A run with iterations left is refused before anything
/// runs, every report whose directory is gone named in the one error.
#[test]
fn a_finished_run_whose_report_directories_are_gone_has_nothing_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let out = root.join("o");
    let o = out.to_str().unwrap();
    let (reports, pages) = (root.join("reports"), root.join("pages"));
    std::fs::create_dir(&reports).unwrap();
    std::fs::create_dir(&pages).unwrap();
    let (md, summary, html) = (reports.join("r.md"), reports.join("s.json"), pages.join("r.html"));
    let (md_s, summary_s, html_s) = (md.to_str().unwrap(), summary.to_str().unwrap(), html.to_str().unwrap());
    let exports = ["--export-md", md_s, "--summary-export", summary_s, "--export-html", html_s];
    run_ok(&[&["run", "--iterations", "3", "--engine", "native", "--out", o][..], &exports].concat());
    std::fs::remove_dir_all(&reports).unwrap();
    std::fs::remove_dir_all(&pages).unwrap();

    let resume = || mmsoak().args(["run", "--resume", "--engine", "native", "--out", o]).output().unwrap();
    let o1 = resume();
    let err = String::from_utf8_lossy(&o1.stderr).to_string();
    assert!(o1.status.success(), "a finished run's resume failed: {err}");
    assert!(err.contains("finished all 3 iterations already; nothing to resume"), "{err}");
    for (flag, path, parent) in [("--export-md", &md, &reports), ("--export-html", &html, &pages)] {
        let said = format!("{flag} {}: directory {} does not exist", path.display(), parent.display());
        assert!(err.contains(&said) && err.contains("not written again"), "{err}");
    }
    assert!(!reports.exists() && !pages.exists(), "a directory was made for a report");

    // A crash after iteration 2 (the state one step back): iterations to run,
    // refused, naming all three reports at once, nothing touched.
    let latest = out.join("latest");
    std::fs::copy(latest.join("TUNING_STATE.prev.json"), latest.join("TUNING_STATE.json")).unwrap();
    std::fs::remove_file(latest.join("ITER_SUMMARY_3.json")).unwrap();
    let before = tree(&out);
    let o2 = resume();
    let err = String::from_utf8_lossy(&o2.stderr).to_string();
    assert_eq!(o2.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
    for (flag, path, parent) in
        [("--summary-export", &summary, &reports), ("--export-md", &md, &reports), ("--export-html", &html, &pages)]
    {
        let said = format!("{flag} {}: directory {} does not exist", path.display(), parent.display());
        assert!(err.contains(&said) && err.contains(&format!("{flag} FILE")), "{flag} not named: {err}");
    }
    assert_eq!(tree(&out), before, "a refused resume changed the run directory");
}

/// After `--resume` the reports describe the run as it started: the engine it
/// started on (not the resuming invocation's), and the report paths in the
/// summary as the fresh run printed them (relative, as typed), not absolute.
#[test]
fn a_resumed_runs_reports_name_its_engine_and_paths_as_the_fresh_run_did() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let run = |flags: &[&str]| {
        let o = mmsoak().current_dir(&root).args(flags).output().unwrap();
        assert!(o.status.success(), "{flags:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let exports = ["--export-md", "r.md", "--summary-export", "s.json", "--export-html", "r.html"];
    run(&[&["run", "--iterations", "3", "--engine", "wasm", "--out", "o"][..], &exports].concat());
    let fresh = json(root.join("s.json"));
    assert_eq!(fresh["artifacts"]["markdown"], "r.md", "{fresh}");
    assert_eq!(fresh["artifacts"]["html"], "r.html", "{fresh}");
    // A crash after iteration 2; resumed on the other engine.
    let latest = root.join("o/latest");
    std::fs::copy(latest.join("TUNING_STATE.prev.json"), latest.join("TUNING_STATE.json")).unwrap();
    std::fs::remove_file(latest.join("ITER_SUMMARY_3.json")).unwrap();
    let err = run(&["run", "--resume", "--engine", "native", "--out", "o"]);
    assert!(err.contains("the run started on wasm"), "{err}");
    assert_eq!(json(latest.join("TUNING_REPORT.json"))["engine"]["kind"], "wasm");
    let md = String::from_utf8(read(root.join("r.md"))).unwrap();
    assert!(md.contains("wasm (core sha256") && !md.contains("native (core sha256"), "{md}");
    let html = String::from_utf8(read(root.join("r.html"))).unwrap();
    assert!(html.contains("wasm · core sha256") && !html.contains("native · core sha256"), "{html}");
    let resumed = json(root.join("s.json"));
    assert_eq!(resumed["artifacts"], fresh["artifacts"], "the resumed run's summary names its files otherwise");
}
