//! `mmsoak run` end to end: artifacts, determinism across engines and runs, tuning direction.

mod common;

use common::{json, mmsoak, read, run_ok, shared_data, tree};
use std::path::Path;

fn soak(out: &Path, extra: &[&str]) {
    let mut args = vec!["run", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_ok(&args);
}

#[test]
fn default_soak_writes_every_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("soak");
    let md = dir.path().join("report.md");
    soak(&out, &["--iterations", "24", "--auto-tune", "--export-md", md.to_str().unwrap()]);
    let latest = out.join("latest");
    for i in 1..=24 {
        let s = json(latest.join(format!("ITER_SUMMARY_{i}.json")));
        assert_eq!(s["iteration"], i);
        for k in ["net_bps", "risk_ratio", "adverse_p95", "slippage_p95", "kpi_verdict"] {
            assert!(!s["summary"][k].is_null(), "ITER_SUMMARY_{i} lacks summary.{k}");
        }
        for k in ["applied", "skipped_reason", "deltas", "signature"] {
            assert!(s["tuning"].get(k).is_some(), "ITER_SUMMARY_{i} lacks tuning.{k}");
        }
        assert!(s["overrides"]["min_interval_ms"].is_u64());
    }
    assert!(!latest.join("ITER_SUMMARY_25.json").exists());
    let state = json(latest.join("TUNING_STATE.json"));
    assert_eq!(state["iteration"], 24);
    let report = json(latest.join("TUNING_REPORT.json"));
    assert_eq!(report["engine"]["kind"], "wasm");
    assert_eq!(report["engine"]["core_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(report["rows"].as_array().unwrap().len(), 24);
    let overrides = json(out.join("runtime_overrides.json"));
    assert_eq!(overrides, state["overrides"]);
    // JSON artifacts end lines with \n only.
    for (path, bytes) in tree(&latest) {
        assert!(!bytes.contains(&b'\r'), "{} has CR bytes", path.display());
        assert_eq!(bytes.last(), Some(&b'\n'), "{} lacks a final newline", path.display());
    }
    let md = String::from_utf8(read(&md)).unwrap();
    assert!(md.contains("# mmsoak soak report"));
    let iterations = &md[md.find("## Iterations").unwrap()..md.find("## Parameters").unwrap()];
    let rows = iterations.lines().filter(|l| l.split('|').nth(1).is_some_and(|c| c.trim().parse::<u32>().is_ok()));
    assert_eq!(rows.count(), 24);
    assert!(md.contains("| min_interval_ms | 75 |"));
    // Charts beside the report, referenced relatively, one per metric and parameter.
    assert!(md.contains("![net edge](report_charts/net_bps.svg)"));
    for name in ["net_bps", "risk_ratio", "adverse_p95", "slippage_p95", "min_interval_ms", "impact_cap_ratio"] {
        let svg = String::from_utf8(read(dir.path().join(format!("report_charts/{name}.svg")))).unwrap();
        assert!(svg.starts_with("<svg") && svg.matches("<circle").count() == 24, "{name}.svg");
    }
    // The resource monitor: one sample per iteration, beside (not in) ITER_SUMMARY.
    let resources = String::from_utf8(read(latest.join("RESOURCES.jsonl"))).unwrap();
    assert_eq!(resources.lines().count(), 24);
    let last: serde_json::Value = serde_json::from_str(resources.lines().last().unwrap()).unwrap();
    assert!(last["artifact_dir_bytes"].as_u64().unwrap() > 10_000);
    #[cfg(target_os = "linux")]
    assert!(last["rss_bytes"].as_u64().unwrap() > 1_000_000);
}

#[test]
fn wasm_and_native_engines_write_identical_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let (w, n) = (dir.path().join("w"), dir.path().join("n"));
    let common = ["--iterations", "8", "--auto-tune", "--profile", "aggressive", "--regime", "mixed", "--seed", "17"];
    soak(&w, &[&common[..], &["--engine", "wasm"]].concat());
    soak(&n, &[&common[..], &["--engine", "native"]].concat());
    for i in 1..=8 {
        let f = format!("latest/ITER_SUMMARY_{i}.json");
        assert_eq!(read(w.join(&f)), read(n.join(&f)), "{f} differs");
    }
    assert_eq!(read(w.join("latest/TUNING_STATE.json")), read(n.join("latest/TUNING_STATE.json")));
    assert_eq!(read(w.join("runtime_overrides.json")), read(n.join("runtime_overrides.json")));
    let mut rw = json(w.join("latest/TUNING_REPORT.json"));
    let mut rn = json(n.join("latest/TUNING_REPORT.json"));
    assert_eq!(rw["engine"]["kind"], "wasm");
    assert_eq!(rn["engine"]["kind"], "native");
    assert_eq!(rw["engine"]["core_sha256"], rn["engine"]["core_sha256"]);
    rw.as_object_mut().unwrap().remove("engine");
    rn.as_object_mut().unwrap().remove("engine");
    assert_eq!(rw, rn, "TUNING_REPORT differs beyond its engine record");
}

#[test]
fn same_seed_is_byte_identical_and_different_seeds_differ() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
    let args = ["--iterations", "6", "--auto-tune", "--regime", "volatile"];
    soak(&a, &[&args[..], &["--seed", "5"]].concat());
    soak(&b, &[&args[..], &["--seed", "5"]].concat());
    soak(&c, &[&args[..], &["--seed", "6"]].concat());
    // Everything but the resource monitor (RSS and sizes vary by machine) is identical.
    let deterministic = |d: &Path| -> Vec<(std::path::PathBuf, Vec<u8>)> {
        tree(d).into_iter().filter(|(p, _)| !p.ends_with("RESOURCES.jsonl")).collect()
    };
    let (ta, tb) = (deterministic(&a), deterministic(&b));
    assert_eq!(ta.len(), tb.len());
    for ((pa, ba), (pb, bb)) in ta.iter().zip(&tb) {
        assert_eq!(pa, pb);
        assert!(ba == bb, "{} differs between two runs of the same seed", pa.display());
    }
    let net = |d: &Path| -> Vec<f64> {
        (1..=6)
            .map(|i| json(d.join(format!("latest/ITER_SUMMARY_{i}.json")))["summary"]["net_bps"].as_f64().unwrap())
            .collect()
    };
    assert_ne!(net(&a), net(&c));
}

fn param_series(dir: &Path, n: u32, name: &str) -> Vec<f64> {
    (1..=n)
        .map(|i| json(dir.join(format!("latest/ITER_SUMMARY_{i}.json")))["overrides"][name].as_f64().unwrap())
        .collect()
}

#[test]
fn auto_tune_moves_an_aggressive_profile_toward_less_risk_and_without_it_nothing_moves() {
    let dir = tempfile::tempdir().unwrap();
    let (tuned, fixed) = (dir.path().join("tuned"), dir.path().join("fixed"));
    let args = ["--iterations", "12", "--profile", "aggressive", "--regime", "volatile", "--seed", "3"];
    soak(&tuned, &[&args[..], &["--auto-tune"]].concat());
    soak(&fixed, &args);
    let spread = param_series(&tuned, 12, "base_spread_bps");
    let cap = param_series(&tuned, 12, "impact_cap_ratio");
    assert!(spread.last() > spread.first(), "spread should widen: {spread:?}");
    assert!(cap.last() < cap.first(), "impact cap should shrink: {cap:?}");
    let risk = |d: &Path, range: std::ops::RangeInclusive<u32>| -> f64 {
        let v: Vec<f64> = range
            .map(|i| json(d.join(format!("latest/ITER_SUMMARY_{i}.json")))["summary"]["risk_ratio"].as_f64().unwrap())
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(risk(&tuned, 7..=12) < risk(&tuned, 1..=2), "risk should fall after tuning");
    let profile = json(Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles/aggressive.json"));
    for i in 1..=12 {
        let s = json(fixed.join(format!("latest/ITER_SUMMARY_{i}.json")));
        assert_eq!(s["overrides"], profile, "iteration {i} changed parameters without --auto-tune");
        assert_eq!(s["tuning"]["applied"], false);
    }
    assert_eq!(json(fixed.join("runtime_overrides.json")), profile);
}

#[test]
fn replay_of_real_bitstamp_bars_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("replay");
    let data = shared_data("btcusd_bitstamp_1min_a.csv");
    soak(&out, &["--source", "replay", "--data", data.to_str().unwrap(), "--iterations", "24", "--auto-tune"]);
    let first = json(out.join("latest/ITER_SUMMARY_1.json"));
    // The mid comes from the data: the first iteration starts at the first bar's open.
    let csv = std::fs::read_to_string(&data).unwrap();
    let first_open: f64 = csv.lines().nth(1).unwrap().split(',').nth(1).unwrap().parse().unwrap();
    assert_eq!(first["edge"]["mid_start"].as_f64().unwrap(), first_open);
    let report = json(out.join("latest/TUNING_REPORT.json"));
    assert_eq!(report["settings"]["source"], "replay");
    assert_eq!(report["rows"].as_array().unwrap().len(), 24);
}

#[test]
fn a_previous_run_is_moved_aside_not_mixed_in() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("soak");
    soak(&out, &["--iterations", "5"]);
    soak(&out, &["--iterations", "3"]);
    assert!(!out.join("latest/ITER_SUMMARY_4.json").exists());
    let runs: Vec<_> = std::fs::read_dir(out.join("runs")).unwrap().collect();
    assert_eq!(runs.len(), 1);
    let old = runs[0].as_ref().unwrap().path();
    assert!(old.join("ITER_SUMMARY_5.json").exists());
}

#[test]
fn a_terminal_gets_a_progress_bar_logs_get_lines_and_json_gets_objects() {
    let dir = tempfile::tempdir().unwrap();
    // util-linux `script` gives the run a pseudo-terminal.
    let out = dir.path().join("tty");
    let cmd = format!("'{}' run --iterations 3 --out '{}'", env!("CARGO_BIN_EXE_mmsoak"), out.display());
    let tty = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("MMSOAK_CACHE_DIR", Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-module-cache"))
        .env("SOAK_SLEEP_SECONDS", "0.3")
        .output()
        .expect("util-linux script runs");
    let shown = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{shown}");
    assert!(shown.contains("/3 iterations") && shown.contains("ETA"), "no progress bar on a terminal:\n{shown}");

    let piped = run_ok(&["run", "--iterations", "3", "--out", dir.path().join("piped").to_str().unwrap()]);
    let lines = String::from_utf8_lossy(&piped.stderr);
    assert!(!lines.contains("ETA"), "a progress bar in a log:\n{lines}");
    assert_eq!(lines.lines().filter(|l| l.starts_with("[")).count(), 3, "{lines}");

    let json_out = run_ok(&["run", "--iterations", "3", "--json", "--out", dir.path().join("json").to_str().unwrap()]);
    let objects: Vec<serde_json::Value> =
        String::from_utf8_lossy(&json_out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objects.iter().map(|o| o["iteration"].as_u64().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(objects.iter().all(|o| o.get("run").is_none()), "the run's own objects are unchanged");

    // The --compare-baseline run's iterations come after the run's own and say so,
    // in lines and in objects alike.
    let both = |json: &[&str], name: &str| {
        let out = dir.path().join(name);
        run_ok(&[&["run", "--iterations", "3", "--compare-baseline", "--out", out.to_str().unwrap()], json].concat())
    };
    let lines = String::from_utf8_lossy(&both(&[], "piped-baseline").stderr).to_string();
    let iteration_lines: Vec<&str> = lines.lines().filter(|l| l.contains("] ") && l.contains(" net ")).collect();
    assert_eq!(iteration_lines.len(), 6, "{lines}");
    assert!(iteration_lines[..3].iter().all(|l| l.starts_with("[")), "{lines}");
    assert!(iteration_lines[3..].iter().all(|l| l.starts_with("baseline [")), "{lines}");
    let json_out = both(&["--json"], "json-baseline");
    let objects: Vec<serde_json::Value> =
        String::from_utf8_lossy(&json_out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let runs: Vec<(Option<&str>, u64)> =
        objects.iter().map(|o| (o["run"].as_str(), o["iteration"].as_u64().unwrap())).collect();
    let baseline = Some("baseline");
    assert_eq!(runs, vec![(None, 1), (None, 2), (None, 3), (baseline, 1), (baseline, 2), (baseline, 3)]);
}

/// A bar replay of 3 iterations on a copy of the shared bars in `dir`, then a crash
/// after iteration 2 (the state one step back, the last summary and the report
/// gone): `--resume` has iteration 3 left. Returns the copy, the run directory and
/// iteration 3's summary as the uninterrupted run wrote it.
fn interrupted_bar_replay(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let data = dir.join(format!("{name}.csv"));
    std::fs::copy(shared_data("btcusd_bitstamp_1min_a.csv"), &data).unwrap();
    let out = dir.join(name);
    soak(&out, &["--source", "replay", "--data", data.to_str().unwrap(), "--iterations", "3", "--auto-tune"]);
    let latest = out.join("latest");
    let expected = read(latest.join("ITER_SUMMARY_3.json"));
    std::fs::copy(latest.join("TUNING_STATE.prev.json"), latest.join("TUNING_STATE.json")).unwrap();
    std::fs::remove_file(latest.join("ITER_SUMMARY_3.json")).unwrap();
    std::fs::remove_file(latest.join("TUNING_REPORT.json")).unwrap();
    (data, out, expected)
}

/// One price in the bar file's second row changed in place: the same size, rows,
/// time span and layout, other bytes.
fn edit_one_value(data: &Path) -> Vec<u8> {
    let original = read(data);
    let text = String::from_utf8(original.clone()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut fields: Vec<String> = lines[2].split(',').map(str::to_string).collect();
    let close = &mut fields[4];
    let last = close.pop().unwrap();
    close.push(if last == '9' { '8' } else { char::from(last as u8 + 1) });
    lines[2] = fields.join(",");
    let edited = lines.join("\n") + if text.ends_with('\n') { "\n" } else { "" };
    assert_eq!(edited.len(), original.len());
    assert_ne!(edited.as_bytes(), original.as_slice());
    std::fs::write(data, edited).unwrap();
    original
}

/// RUN.json records each data file's size and sha256; `--resume` refuses a file
/// whose values were edited in place since (exit 2, naming the file and both
/// fingerprints, nothing in the run directory touched), and continues with the
/// same bytes once the file is restored. A record from before the fingerprints
/// resumes as it did.
#[test]
fn resume_refuses_a_data_file_edited_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out, expected) = interrupted_bar_replay(dir.path(), "bars");
    let canonical = std::fs::canonicalize(&data).unwrap().display().to_string();
    let run = json(out.join("latest/RUN.json"));
    let inputs = run["inputs"].as_array().expect("RUN.json has inputs");
    assert_eq!(inputs.len(), 1, "{run}");
    assert_eq!(inputs[0]["path"], canonical.as_str());
    assert_eq!(inputs[0]["bytes"], std::fs::metadata(&data).unwrap().len());
    let sha = inputs[0]["sha256"].as_str().unwrap();
    assert!(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()), "{sha}");

    let original = edit_one_value(&data);
    let before = tree(&out);
    let o = mmsoak().args(["run", "--resume", "--out", out.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("--resume: {canonical} changed since the run started")), "{err}");
    let bytes = original.len();
    assert!(err.contains(&format!("(recorded {bytes} bytes sha256 {sha}, now {bytes} bytes sha256 ")), "{err}");
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
    assert_eq!(tree(&out), before, "a refused resume changed the run directory");

    // The file deleted: refused too, naming it.
    std::fs::remove_file(&data).unwrap();
    let o = mmsoak().args(["run", "--resume", "--out", out.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("--resume: cannot read {canonical}")), "{err}");
    assert_eq!(tree(&out), before, "a refused resume changed the run directory");

    std::fs::write(&data, &original).unwrap();
    run_ok(&["run", "--resume", "--out", out.to_str().unwrap()]);
    assert_eq!(read(out.join("latest/ITER_SUMMARY_3.json")), expected);

    // A RUN.json written before the fingerprints: the file's shape is checked only.
    let (_, out, expected) = interrupted_bar_replay(dir.path(), "old");
    let mut run = json(out.join("latest/RUN.json"));
    run.as_object_mut().unwrap().remove("inputs").unwrap();
    std::fs::write(out.join("latest/RUN.json"), serde_json::to_vec_pretty(&run).unwrap()).unwrap();
    run_ok(&["run", "--resume", "--out", out.to_str().unwrap()]);
    assert_eq!(read(out.join("latest/ITER_SUMMARY_3.json")), expected);
    assert!(json(out.join("latest/RUN.json")).get("inputs").is_none(), "RUN.json rewritten on resume");
}

/// A run that had finished has nothing to resume, whatever became of its data
/// file since: it says so and exits 0, its report as it was.
#[test]
fn resuming_a_finished_run_whose_data_file_is_gone_says_there_is_nothing_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bars.csv");
    std::fs::copy(shared_data("btcusd_bitstamp_1min_a.csv"), &data).unwrap();
    let out = dir.path().join("o");
    soak(&out, &["--source", "replay", "--data", data.to_str().unwrap(), "--iterations", "2"]);
    let report = read(out.join("latest/TUNING_REPORT.json"));
    std::fs::remove_file(&data).unwrap();
    let o = mmsoak().args(["run", "--resume", "--out", out.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("finished all 2 iterations already; nothing to resume"), "{err}");
    assert!(!err.contains("resuming"), "a finished run does not say it resumes: {err}");
    assert_eq!(read(out.join("latest/TUNING_REPORT.json")), report);
}

/// `mmsoak run --json | head`: the reader goes away, and the writes fail with
/// EPIPE (Rust ignores SIGPIPE). The run once panicked there (exit 101) with two
/// of five iterations kept; now it drops what it cannot print and finishes.
#[test]
fn a_closed_stdout_or_stderr_does_not_stop_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let mut child = mmsoak()
        .args(["run", "--iterations", "5", "--json", "--engine", "native", "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Both read ends closed before the run prints anything.
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    for i in 1..=5 {
        assert!(out.join(format!("latest/ITER_SUMMARY_{i}.json")).exists(), "iteration {i} missing");
    }
    assert!(out.join("latest/TUNING_REPORT.json").exists());
}

/// A finished `--compare-baseline` run has nothing to resume: its baseline run
/// is not run again (it was, into a fresh `baseline/latest`). A baseline run
/// cut short goes on from where it got, and the resume says that this is what
/// is left.
#[test]
fn resuming_a_finished_compare_baseline_run_runs_nothing_and_an_unfinished_baseline_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = out.to_str().unwrap();
    run_ok(&["run", "--iterations", "3", "--compare-baseline", "--engine", "native", "--out", o]);
    let baseline = out.join("baseline/latest");
    let summaries =
        |dir: &Path| -> Vec<Vec<u8>> { (1..=3).map(|i| read(dir.join(format!("ITER_SUMMARY_{i}.json")))).collect() };
    let before = summaries(&baseline);
    let report = read(out.join("latest/TUNING_REPORT.json"));

    let err =
        String::from_utf8_lossy(&run_ok(&["run", "--resume", "--engine", "native", "--out", o]).stderr).to_string();
    assert!(err.contains("finished all 3 iterations already; nothing to resume"), "{err}");
    assert!(!err.contains("mmsoak: baseline run (same seed"), "the baseline ran again: {err}");
    assert!(!out.join("baseline/runs").exists(), "the baseline was moved aside and run again");
    assert_eq!(summaries(&baseline), before);
    assert_eq!(read(out.join("latest/TUNING_REPORT.json")), report);

    // The baseline run cut short after its iteration 2 (a crash): only it goes on.
    std::fs::copy(baseline.join("TUNING_STATE.prev.json"), baseline.join("TUNING_STATE.json")).unwrap();
    std::fs::remove_file(baseline.join("ITER_SUMMARY_3.json")).unwrap();
    let err =
        String::from_utf8_lossy(&run_ok(&["run", "--resume", "--engine", "native", "--out", o]).stderr).to_string();
    assert!(!err.contains("nothing to resume"), "{err}");
    assert!(err.contains("its baseline run (--compare-baseline) is not, and is resumed"), "{err}");
    assert!(err.contains(&format!("resuming {} after iteration 2", out.join("baseline").display())), "{err}");
    assert!(!out.join("baseline/runs").exists(), "the baseline was run again from the start");
    assert_eq!(summaries(&baseline), before);
    assert_eq!(read(out.join("latest/TUNING_REPORT.json")), report);
}

/// `--profile` errors read as every flag's do: the flag, then the reason; in
/// mmsoak.toml, the file, section and key.
#[test]
fn a_bad_profile_is_named_by_its_flag_or_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = mmsoak().args(["run", "--profile", "bogus", "--out", out.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.starts_with("mmsoak: error: --profile: unknown profile \"bogus\": choose one of"), "{err}");
    let cfg = dir.path().join("mmsoak.toml");
    std::fs::write(&cfg, "[soak]\nprofile = \"bogus\"\n").unwrap();
    let o = mmsoak().args(["run", "--config", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let said = format!("mmsoak: error: {} [soak] profile: unknown profile \"bogus\"", cfg.display());
    assert!(err.starts_with(&said), "{err}");
    assert!(!out.exists(), "a refused run left its --out behind");
}
