//! Bad input: one clear error, a non-zero exit, no panic, nothing written.

mod common;

use common::mmsoak;

fn fails(args: &[&str], expect: &str) -> String {
    let out = mmsoak().args(args).output().expect("mmsoak runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{args:?} should exit 2, stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
    assert!(stderr.contains(expect), "{args:?}: expected {expect:?} in:\n{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one error line expected:\n{stderr}");
    stderr
}

#[test]
fn unknown_profile_names_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    fails(&["run", "--profile", "yolo", "--out", out.to_str().unwrap()], "unknown profile \"yolo\"");
    assert!(!out.exists(), "nothing may be written on bad input");
}

#[test]
fn zero_iterations_is_refused() {
    fails(&["run", "--iterations", "0"], "--iterations must be at least 1");
}

#[test]
fn unknown_regime_is_refused() {
    fails(&["run", "--regime", "moon"], "unknown --regime \"moon\"");
}

#[test]
fn malformed_profile_json_names_file_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("truncated.json", "{\"base_spread_bps\": 8", "not valid JSON"),
        ("nan.json", "{\"base_spread_bps\": NaN}", "not valid JSON"),
        ("unknown.json", "{\"spread\": 8}", "unknown key \"spread\""),
        ("type.json", "{\"min_interval_ms\": \"75\"}", "min_interval_ms must be a number"),
        ("bounds.json", "{\"impact_cap_ratio\": 0.9}", "impact_cap_ratio = 0.9 is outside its bounds [0.02, 0.5]"),
        ("array.json", "[1, 2]", "expected a JSON object"),
    ];
    for (name, text, expect) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let err =
            fails(&["run", "--profile", p.to_str().unwrap(), "--out", dir.path().join("o").to_str().unwrap()], expect);
        assert!(err.contains(name), "error should name the file: {err}");
    }
    assert!(!dir.path().join("o").exists());
}

#[test]
fn unwritable_out_is_refused_before_any_iteration() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = mmsoak().args(["run", "--out", file.join("sub").to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("cannot create --out directory"), "{stderr}");
}

#[test]
fn bad_sleep_env_and_bad_replay_rows_are_named() {
    let out = mmsoak().args(["run"]).env("SOAK_SLEEP_SECONDS", "soon").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SOAK_SLEEP_SECONDS must be a number of seconds"));

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bars.csv");
    std::fs::write(&csv, "timestamp,open,high,low,close,volume\n60,10,12,9,11,1\n120,10,9,12,10,1\n").unwrap();
    let err = fails(
        &["run", "--source", "replay", "--data", csv.to_str().unwrap()],
        "line 3, column 3: high 9 is below low 12",
    );
    assert!(err.contains("bars.csv"), "{err}");
    fails(&["run", "--source", "replay"], "--source replay needs --data FILE");
}

/// A negative number given as its own word is the flag's value, checked by our
/// own check (`--tick-size -0.1` once got clap's "unexpected argument '-0'";
/// only `--tick-size=-0.1` reached the check).
#[test]
fn a_negative_number_after_a_flag_reaches_its_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let out = out.to_str().unwrap();
    let data = dir.path().join("quotes.csv");
    std::fs::write(&data, "").unwrap();
    let data = data.to_str().unwrap();
    fails(
        &["run", "--source", "ticks", "--data", data, "--tick-size", "-0.1", "--out", out],
        "mmsoak: error: --tick-size: tick size \"-0.1\" must be a positive decimal price",
    );
    fails(
        &["run", "--report-timeout", "-1", "--out", out],
        "--report-timeout must be between 0 and 3600 seconds, got -1",
    );
    fails(&["bot", "--speed", "-2", "--report", out], "--speed must be a number above 0");
    assert!(!dir.path().join("o").exists(), "nothing may be written on bad input");
    // Whole-number flags: clap's own check of the value, naming the flag.
    let bars = common::shared_data("btcusd_bitstamp_1min_a.csv");
    let fit_out = dir.path().join("fit.json");
    let fit = |flag: &'static str, value: &'static str| {
        let (bars, fit_out) = (bars.to_str().unwrap(), fit_out.to_str().unwrap());
        vec!["market", "fit", "--data", bars, "--out", fit_out, flag, value]
    };
    for (args, expect) in [
        (vec!["run", "--iterations", "-5", "--out", out], "invalid value '-5' for '--iterations <ITERATIONS>'"),
        (vec!["run", "--seed", "-1", "--out", out], "invalid value '-1' for '--seed <SEED>'"),
        (vec!["run", "--fail-window", "-1", "--out", out], "invalid value '-1' for '--fail-window <FAIL_WINDOW>'"),
        (vec!["sweep", "plan", "sweep.toml", "--shards", "-2"], "invalid value '-2' for '--shards <SHARDS>'"),
        (fit("--holdout", "-0.2"), "mmsoak: error: --holdout -0.2: must be between 0 and 1"),
        (fit("--iterations", "-5"), "invalid value '-5' for '--iterations <ITERATIONS>'"),
    ] {
        let o = mmsoak().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expect), "{args:?}: expected {expect:?} in:\n{stderr}");
        assert!(!stderr.contains("unexpected argument"), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("o").exists() && !fit_out.exists(), "nothing may be written on bad input");
    // A flag after a flag still wanting its value is that flag, not the value.
    let o = mmsoak().args(["run", "--tick-size", "--source", "ticks", "--out", out]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("a value is required for '--tick-size <PRICE>'"));
}
