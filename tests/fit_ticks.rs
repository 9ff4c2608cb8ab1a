//! `mmsoak market fit` on tick data: the spliced trade-size model (log-normal
//! body, Pareto tail) meets the data's size quantiles, drives the simulator only
//! when a regime file selects it, and is checked like every other number; the
//! out-of-sample check (`--holdout`) runs on ticks end to end.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const LOBSTER: &str = "lobster/AMZN_2012-06-21_34200000_57600000_message_5.csv.gz";

fn binance() -> Vec<PathBuf> {
    vec![shared_data("binance_usdm_raw/btcusdt_20240718.gz"), shared_data("binance_usdm_raw/btcusdt_20240719.gz")]
}

fn fit_args(data: &[PathBuf], out: &Path, extra: &[&str]) -> Vec<String> {
    let mut a = vec!["market".to_string(), "fit".into(), "--data".into()];
    a.extend(data.iter().map(|p| p.to_str().unwrap().to_string()));
    a.extend(["--out".into(), out.to_str().unwrap().into()]);
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn run_fit(data: &[PathBuf], out: &Path, extra: &[&str]) -> std::process::Output {
    let a = fit_args(data, out, extra);
    run_ok(&a.iter().map(String::as_str).collect::<Vec<_>>())
}

fn size_row(report: &serde_json::Value, q: &str) -> serde_json::Value {
    let fact = format!("trade size p{q} (× touch depth)");
    report["fit"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["fact"] == fact.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no row {fact}: {}", report["fit"]["rows"]))
}

#[test]
fn fitted_trade_size_quantiles_meet_the_data() {
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in [("lobster", vec![shared_data(LOBSTER)]), ("binance", binance())] {
        let (regime, report) = (dir.path().join(format!("{name}.json")), dir.path().join(format!("{name}-r.json")));
        let out = run_fit(&data, &regime, &["--report-json", report.to_str().unwrap()]);
        let r = json(&report);
        let spliced = &json(&regime)["spec"]["trade_size_spliced"];
        assert!(spliced.is_object(), "{name}: no spliced size model in the regime file");
        let tail = spliced["tail_index"].as_f64().unwrap();
        assert!((1.05..=5.0).contains(&tail), "{name}: tail index {tail}");
        // The tail: p90 and p99 inside the data's bootstrap band (5 % slack for lot sizes).
        for q in ["90", "99"] {
            let row = size_row(&r, q);
            assert_eq!(row["within"], true, "{name}: size p{q} outside the data's band: {row}");
            let (d, f) = (row["data"].as_f64().unwrap(), row["fitted"].as_f64().unwrap());
            let band = row["band"].as_array().unwrap();
            let (lo, hi) = (band[0].as_f64().unwrap(), band[1].as_f64().unwrap());
            assert!(f >= lo - 0.05 * d && f <= hi + 0.05 * d, "{name}: p{q} fitted {f} vs band [{lo}, {hi}]");
        }
        // The median: Binance's inside the band; LOBSTER's within 30 % (a third of
        // its trades are exactly 100 shares, an atom no continuous body has).
        let med = size_row(&r, "50");
        let (d, f) = (med["data"].as_f64().unwrap(), med["fitted"].as_f64().unwrap());
        match name {
            "binance" => assert_eq!(med["within"], true, "binance: size p50 {med}"),
            _ => assert!((f - d).abs() <= 0.30 * d, "lobster: size p50 fitted {f} vs data {d}"),
        }
        let printed = String::from_utf8(out.stdout).unwrap();
        assert!(printed.contains("| trade size p99 (× touch depth) |"), "{printed}");
    }

    // The model drives the simulator only when the regime file selects it: the same
    // regime without it runs the built-in Pareto, with a different result.
    let regime = dir.path().join("lobster.json");
    let mut plain = json(&regime);
    plain["spec"].as_object_mut().unwrap().remove("trade_size_spliced");
    let plain_path = dir.path().join("plain.json");
    std::fs::write(&plain_path, plain.to_string()).unwrap();
    let soak = |regime: &Path, out: &str| {
        let out = dir.path().join(out);
        let args = ["run", "--regime", regime.to_str().unwrap(), "--iterations", "3", "--seed", "4"];
        run_ok(&[&args[..], &["--profile", "aggressive", "--out", out.to_str().unwrap()]].concat());
        (1..=3).map(|i| json(out.join(format!("latest/ITER_SUMMARY_{i}.json")))["edge"].clone()).collect::<Vec<_>>()
    };
    let (a, b, a2) = (soak(&regime, "a"), soak(&plain_path, "b"), soak(&regime, "a2"));
    assert_eq!(a, a2, "the spliced model is deterministic");
    assert_ne!(a, b, "the spliced sizes change what the maker sees");

    // A bad number in the model is one clear error naming the field.
    let mut bad = json(&regime);
    bad["spec"]["trade_size_spliced"]["tail_share"] = serde_json::json!(1.5);
    let bad_path = dir.path().join("bad.json");
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let o = mmsoak()
        .args(["run", "--regime", bad_path.to_str().unwrap(), "--out", dir.path().join("x").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("spec.trade_size_spliced.tail_share = 1.5"), "{err}");
    assert!(!dir.path().join("x").exists(), "nothing written");
}

#[test]
fn tick_holdout_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let (regime, report, md) = (dir.path().join("m.json"), dir.path().join("h.json"), dir.path().join("h.md"));
    let extra = [
        "--holdout",
        "0.5",
        "--iteration-seconds",
        "300",
        "--profile",
        "aggressive",
        "--report-json",
        report.to_str().unwrap(),
        "--report",
        md.to_str().unwrap(),
    ];
    let out = run_fit(&[shared_data(LOBSTER)], &regime, &extra);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("## Out of sample") && text.contains("replayed tick by tick"), "{text}");
    // The same judge as --compare-baseline: method column and verdict.
    assert!(text.contains("| method | verdict |") && text.contains("normal approx."), "{text}");
    assert_eq!(std::fs::read_to_string(&md).unwrap(), text, "the Markdown report is what was printed");
    let h = &json(&report)["holdout"];
    let t = &h["ticks"];
    let (windows, fit_windows) = (t["windows"].as_u64().unwrap(), t["fit_windows"].as_u64().unwrap());
    // 6.5 h of AMZN in 5-minute windows: 78, half of them fitted.
    assert_eq!((windows, fit_windows), (78, 39), "{t}");
    assert_eq!(t["queue_model"], "fifo", "LOBSTER has order ids");
    let n = h["holdout_iterations"].as_u64().unwrap();
    assert_eq!(n, windows - fit_windows);
    assert_eq!(h["tuned_net_bps"].as_array().unwrap().len() as u64, n);
    assert_eq!(h["start_net_bps"].as_array().unwrap().len() as u64, n);
    for m in ["net_bps", "risk_ratio"] {
        let p = h[m]["test"]["p_value"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{m}: {}", h[m]);
        assert!(h[m]["judgement"]["outcome"].is_string(), "{m}: {}", h[m]);
    }
    // Fitted on the first half only: fewer trades than the whole day's 11,419.
    let fit_trades = t["fit_trades"].as_u64().unwrap();
    assert!(fit_trades > 1000 && fit_trades < 11_419, "{fit_trades}");
    // The held-out replays differ between the two parameter sets (the replay ran).
    assert_ne!(h["tuned_net_bps"], h["start_net_bps"]);
}

#[test]
fn tick_holdout_on_too_little_data_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let regime = dir.path().join("m.json");
    // 8 minutes of Binance data hold no 15-minute windows.
    let a = fit_args(&binance(), &regime, &["--holdout", "0.5"]);
    let o = mmsoak().args(&a).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--holdout 0.5") && err.contains("windows of 900 s"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!regime.exists(), "nothing written");
}

/// SIGTERM or Ctrl-C while `market fit` reads the tick data: exit 130, one line
/// saying so, and none of its files written (as a run stopped in its start-of-run
/// scan). (The signal is sent with kill(2): a shell's background job would ignore SIGINT.)
#[cfg(target_os = "linux")]
#[test]
fn a_stop_signal_during_the_fit_exits_130_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // 68 MB of real quotes: a read long enough to be interrupted in.
    let data = common::tiled_quotes(dir.path());
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        let out = dir.path().join(name);
        std::fs::create_dir(&out).unwrap();
        let child = mmsoak()
            .args(fit_args(std::slice::from_ref(&data), &out.join("fitted.json"), &[]))
            .args(["--report", out.join("fit.md").to_str().unwrap()])
            .args(["--report-json", out.join("fit.json").to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Past the first lines that grouping reads: the fit's read is under way.
        let t0 = std::time::Instant::now();
        while file_offset(child.id(), &data).is_none_or(|pos| pos < 1 << 20) {
            assert!(t0.elapsed().as_secs() < 60, "{name}: the read never started");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // SAFETY: kill(2) on the pid of a child not yet waited for.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(130), "{name}: {:?}: {err}", o.status);
        assert_eq!(err, "mmsoak: market fit interrupted while reading the data; no file was written\n", "{name}");
        assert!(o.stdout.is_empty(), "{name}: {}", String::from_utf8_lossy(&o.stdout));
        let left: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(left.is_empty(), "{name}: written: {left:?}");
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
