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
