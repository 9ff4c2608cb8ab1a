//! `--source external` against a real second process: the reference bot launched
//! with `--exec`, and hand-written EDGE_REPORT.json files that are wrong in every way.

mod common;

use std::path::Path;

use common::{json, mmsoak, run_ok};
use serde_json::{json as j, Value};

fn bin() -> String {
    env!("CARGO_BIN_EXE_mmsoak").to_string()
}

#[test]
fn runner_and_bot_as_two_processes_tune_live() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("live");
    let bot = format!("\"{}\" bot --speed 900 --regime volatile --seed 4", bin());
    let o = mmsoak()
        .env("SOAK_SLEEP_SECONDS", "1")
        .args(["run", "--source", "external", "--exec", &bot, "--iterations", "4", "--auto-tune"])
        .args(["--profile", "aggressive", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let log = String::from_utf8(std::fs::read(out.join("latest/bot.log")).unwrap()).unwrap();
    let mut changed_at = Vec::new();
    for i in 1..=4u32 {
        let s = json(out.join(format!("latest/ITER_SUMMARY_{i}.json")));
        // The runner takes only a report made with the overrides in force, so a
        // conclusive verdict means the bot had applied the last change within an iteration.
        assert_ne!(s["summary"]["kpi_verdict"], "INCONCLUSIVE", "iteration {i}: {}", s["tuning"]["guards"]);
        if s["tuning"]["applied"] == true {
            changed_at.push(i);
        }
    }
    assert!(!changed_at.is_empty(), "the tuner changed nothing against an aggressive bot in a volatile market");
    for i in changed_at.into_iter().filter(|i| *i < 4) {
        assert!(log.contains(&format!("iteration {}: applied overrides", i + 1)), "bot log:\n{log}");
    }
    assert!(out.join("latest/TUNING_REPORT.json").exists());
    assert_eq!(json(out.join("latest/TUNING_REPORT.json"))["settings"]["source"], "external");
}

#[test]
fn a_bot_that_dies_stops_the_run_with_state_saved() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dies");
    let o = mmsoak()
        .env("SOAK_SLEEP_SECONDS", "0.2")
        .args(["run", "--source", "external", "--exec", "echo starting; exit 3", "--iterations", "3"])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the bot exited") && stderr.contains("3"), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert!(out.join("latest/RUN.json").exists());
    let log = std::fs::read_to_string(out.join("latest/bot.log")).unwrap();
    assert!(log.contains("starting"), "bot output not kept: {log:?}");
}

/// A valid report, made by the reference bot with the default (steady_safe) parameters.
fn valid_report(dir: &Path) -> Value {
    let report = dir.join("valid.json");
    run_ok(&[
        "bot",
        "--iterations",
        "1",
        "--speed",
        "100000",
        "--overrides",
        dir.join("none.json").to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    let mut v = json(&report);
    // Far in the future, so only the cases about freshness are stale.
    v["generated_at_ms"] = j!(u64::MAX / 2);
    v
}

#[test]
fn malformed_reports_make_iterations_inconclusive_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let good = valid_report(dir.path());
    let with = |path: &[&str], value: Value| {
        let mut v = good.clone();
        let mut at = &mut v;
        for k in &path[..path.len() - 1] {
            at = &mut at[*k];
        }
        at[path[path.len() - 1]] = value;
        serde_json::to_vec(&v).unwrap()
    };
    let mut missing = good.clone();
    missing["edge"].as_object_mut().unwrap().remove("net_bps");
    let cases: Vec<(&str, Option<Vec<u8>>, &str)> = vec![
        ("missing_file", None, "no report yet"),
        ("missing_field", Some(serde_json::to_vec(&missing).unwrap()), "malformed: edge: missing field `net_bps`"),
        (
            "nan_literal",
            Some(
                String::from_utf8(with(&["edge", "net_bps"], j!(1.0)))
                    .unwrap()
                    .replace("\"net_bps\":1.0", "\"net_bps\":NaN")
                    .into_bytes(),
            ),
            "malformed",
        ),
        ("null_number", Some(with(&["edge", "net_bps"], Value::Null)), "edge.net_bps: invalid type: null"),
        (
            "negative_count",
            Some(with(&["edge", "maker_fills"], j!(-5))),
            "edge.maker_fills: invalid value: integer `-5`",
        ),
        (
            "risk_out_of_range",
            Some(with(&["edge", "risk_ratio"], j!(1.5))),
            "invalid: edge.risk_ratio: must be between 0 and 1",
        ),
        ("stale_timestamp", Some(with(&["generated_at_ms"], j!(1000))), "stale: written at 1000 ms"),
        ("other_params", Some(with(&["params", "base_spread_bps"], j!(9.5))), "made with other parameters"),
        ("wrong_schema", Some(with(&["schema_version"], j!(7))), "invalid: schema_version: 7"),
        ("garbage", Some(b"\x00\x01 not json at all".to_vec()), "malformed"),
    ];
    for (name, bytes, expected) in cases {
        let out = dir.path().join(name);
        std::fs::create_dir_all(&out).unwrap();
        let report = out.join("EDGE_REPORT.json");
        if let Some(b) = &bytes {
            std::fs::write(&report, b).unwrap();
        }
        let o = mmsoak()
            .env("SOAK_SLEEP_SECONDS", "0")
            .args(["run", "--source", "external", "--report-timeout", "0.3", "--iterations", "2", "--auto-tune"])
            .args(["--out", out.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{name}: {stderr}");
        for i in 1..=2 {
            let s = json(out.join(format!("latest/ITER_SUMMARY_{i}.json")));
            assert_eq!(s["summary"]["kpi_verdict"], "INCONCLUSIVE", "{name} at {i}");
            assert_eq!(s["tuning"]["skipped_reason"], "observation_unusable", "{name} at {i}");
            let event = &s["tuning"]["guards"][0];
            assert_eq!(event["guard"], "observation_unusable", "{name}");
            let detail = event["detail"].as_str().unwrap();
            assert!(detail.contains(expected) && detail.contains("EDGE_REPORT.json"), "{name}: {detail}");
        }
        assert!(out.join("latest/TUNING_REPORT.json").exists(), "{name}");
        // Nothing tuned on bad data: the parameters are the profile's.
        assert_eq!(json(out.join("runtime_overrides.json")), json(out.join("latest/ITER_SUMMARY_1.json"))["overrides"]);
    }
    // The control: the same report, unspoilt, is used.
    let out = dir.path().join("control");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("EDGE_REPORT.json"), serde_json::to_vec(&good).unwrap()).unwrap();
    let o = mmsoak()
        .env("SOAK_SLEEP_SECONDS", "0")
        .args(["run", "--source", "external", "--report-timeout", "0.3", "--iterations", "1"])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_ne!(json(out.join("latest/ITER_SUMMARY_1.json"))["summary"]["kpi_verdict"], "INCONCLUSIVE");
}

/// runtime_overrides.json cannot be replaced for two iterations (a directory stands
/// where the file was, so the rename fails on every platform): those iterations'
/// decisions are recorded as not applied, with the file named, the run goes on,
/// and once the file can be written again the tuner's change goes in.
#[test]
fn a_change_that_cannot_be_written_is_not_applied_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("held");
    std::fs::create_dir_all(&out).unwrap();
    let good = valid_report(dir.path());
    // Deep in the aggressive zone every iteration: the tuner always wants to pull risk in.
    // Made, as a bot would, with the parameters in force.
    let report = |sequence: u32, params: &Value| {
        let v = j!({
            "schema_version": 2, "sequence": sequence, "generated_at_ms": good["generated_at_ms"],
            "params": params,
            "edge": {"net_bps": 1.0, "risk_ratio": 0.6, "adverse": {"p95": 4.0}, "slippage": {"p95": 1.0},
                     "maker_fills": 200, "taker_fills": 10}
        });
        let tmp = out.join("EDGE_REPORT.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&v).unwrap()).unwrap();
        std::fs::rename(&tmp, out.join("EDGE_REPORT.json")).unwrap();
    };
    report(1, &good["params"]);
    let overrides = out.join("runtime_overrides.json");
    let latest = out.join("latest");
    let child = mmsoak()
        .env("SOAK_SLEEP_SECONDS", "1")
        .args(["run", "--source", "external", "--report-timeout", "0.3", "--iterations", "6", "--auto-tune"])
        .args(["--guards-off", "cooldown,velocity,oscillation,freeze,panic_revert", "--out", out.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The state after iteration i, once it is written (the last file of an iteration).
    let wait_for = |i: u32| -> Value {
        let t = std::time::Instant::now();
        loop {
            if let Ok(bytes) = std::fs::read(latest.join("TUNING_STATE.json")) {
                let state: Value = serde_json::from_slice(&bytes).unwrap();
                if state["iteration"] == i {
                    return state;
                }
            }
            assert!(t.elapsed() < std::time::Duration::from_secs(60), "iteration {i} never finished");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    };
    // Each iteration starts with a one-second pause: time for the next report, and
    // to put the directory in place after iteration 1 and take it away after 3.
    let mut after_1 = Vec::new();
    for i in 1..=5 {
        let state = wait_for(i);
        report(i + 1, &state["overrides"]);
        if i == 1 {
            after_1 = std::fs::read(&overrides).unwrap();
            std::fs::remove_file(&overrides).unwrap();
            std::fs::create_dir(&overrides).unwrap();
        }
        if i == 3 {
            std::fs::remove_dir(&overrides).unwrap();
        }
    }
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let s: Vec<Value> = (1..=6).map(|i| json(latest.join(format!("ITER_SUMMARY_{i}.json")))).collect();
    assert_eq!(s[0]["tuning"]["applied"], true, "{}", s[0]["tuning"]);
    for k in [1, 2] {
        let t = &s[k]["tuning"];
        assert_eq!(t["applied"], false, "iteration {}: {t}", k + 1);
        assert_eq!(t["deltas"], j!({}), "iteration {}: {t}", k + 1);
        assert_ne!(t["proposed"], j!({}), "iteration {}: the test needs a proposal: {t}", k + 1);
        assert!(t["skipped_reason"].as_str().unwrap().contains("overrides_write_failed"), "{t}");
        let event = t["guards"].as_array().unwrap().iter().find(|g| g["guard"] == "overrides_write_failed");
        assert!(event.is_some_and(|g| g["detail"].as_str().unwrap().contains("runtime_overrides.json")), "{t}");
        // Nothing changed in force: the next iteration ran with iteration 1's result.
        assert_eq!(s[k + 1]["overrides"], s[1]["overrides"], "iteration {}", k + 2);
    }
    assert!(stderr.matches("the decision is not applied").count() == 2, "{stderr}");
    assert!(stderr.contains("runtime_overrides.json"), "{stderr}");
    // Writable again: iteration 4 decides and applies, and the bot's file says so.
    assert_eq!(s[3]["tuning"]["applied"], true, "{}", s[3]["tuning"]);
    assert_ne!(s[4]["overrides"], s[3]["overrides"]);
    let state = json(latest.join("TUNING_STATE.json"));
    assert_eq!(json(&overrides), state["overrides"]);
    assert_eq!(
        state["tuning"]["applied_count"].as_u64().unwrap(),
        s.iter().filter(|x| x["tuning"]["applied"] == true).count() as u64
    );
    assert_ne!(after_1, std::fs::read(&overrides).unwrap());
    // No temporary file left beside it.
    let stray: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".mmsoak-tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

/// `--resume` from another directory runs the bot the run started with: a
/// relative `--exec ./bot.sh` is resolved where the run began, and refused by
/// name when it is no longer there.
#[cfg(unix)]
#[test]
fn a_resumed_relative_exec_runs_the_bot_the_run_started_with() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let bot = |d: &str, name: &str| {
        let d = dir.path().join(d);
        std::fs::create_dir_all(&d).unwrap();
        let script = d.join("bot.sh");
        std::fs::write(&script, format!("#!/bin/sh\necho \"{name} ran\"\nexit 3\n")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        d
    };
    let (a, b) = (bot("a", "bot A"), bot("b", "bot B"));
    let run = |cwd: &Path, resume: bool| {
        let mut cmd = mmsoak();
        cmd.current_dir(cwd).env("SOAK_SLEEP_SECONDS", "0.2");
        cmd.args(["run", "--source", "external", "--exec", "./bot.sh", "--iterations", "3"]);
        cmd.args(["--out", out.to_str().unwrap()]);
        if resume {
            cmd.arg("--resume");
        }
        cmd.output().unwrap()
    };
    // The bot exits at once: the run stops, resumable.
    let o = run(&a, false);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&b, true);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(out.join("latest/bot.log")).unwrap();
    assert_eq!(log.matches("bot A ran").count(), 2, "{log}");
    assert!(!log.contains("bot B ran"), "the resume ran the other directory's ./bot.sh: {log}");
    // The original program gone: one clear error naming it, and no bot run.
    std::fs::remove_file(a.join("bot.sh")).unwrap();
    let o = run(&b, true);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&a.join("./bot.sh").display().to_string()), "{stderr}");
    assert!(!std::fs::read_to_string(out.join("latest/bot.log")).unwrap().contains("bot B ran"));
}
