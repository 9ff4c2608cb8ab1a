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
    fails(
        &["run", "--iterations", "0"],
        "--iterations: invalid value \"0\": must be a whole number from 1 to 4294967295",
    );
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

/// Several bad tick settings on one command are all reported, each naming its
/// flag and value, before any data is read; tick flags on a run that is no tick
/// replay are named as given (not the whole list of seven).
#[test]
fn every_bad_tick_flag_is_reported_and_unused_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let out = out.to_str().unwrap();
    let data = dir.path().join("quotes.csv");
    std::fs::write(&data, "").unwrap();
    let data = data.to_str().unwrap();
    let o = mmsoak()
        .args(["run", "--source", "ticks", "--data", data, "--out", out])
        .args(["--tick-size", "0", "--latency", "fast", "--taker-fee-bps", "1e300", "--queue-model", "fifo"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err,
        "mmsoak: error: 3 tick settings are not valid:\n  \
         --latency: latency \"fast\": choose constant:ENTRY_MS:RESPONSE_MS, constant:MS, data or data:ENTRY_MS\n  \
         --taker-fee-bps: taker fee 1e300 bps: must be between -100 and 100 bps\n  \
         --tick-size: tick size \"0\" must be a positive decimal price with at most 8 decimals (e.g. 0.01)\n"
    );
    fails(
        &["run", "--latency", "data", "--out", out],
        "mmsoak: error: --latency is only used with --source ticks (this run's source is sim)",
    );
    fails(
        &["run", "--source", "replay", "--data", data, "--tick-size", "1", "--maker-fee-bps", "1", "--out", out],
        "mmsoak: error: --maker-fee-bps and --tick-size are only used with --source ticks (this run's source is replay)",
    );
    assert!(!dir.path().join("o").exists(), "nothing may be written on bad input");
}

/// Two reports given one file (the last written silently replaced the other), or
/// a report given the --out directory (the run failed at its end): refused first.
#[test]
fn two_reports_into_one_file_are_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let (o, same) = (out.to_str().unwrap(), dir.path().join("same.md"));
    let same = same.to_str().unwrap();
    fails(
        &["run", "--export-md", same, "--summary-export", same, "--out", o],
        &format!("mmsoak: error: --summary-export and --export-md name the same file {same}: give each report its own"),
    );
    fails(
        &["run", "--export-html", o, "--out", o],
        &format!("mmsoak: error: --export-html {o}: that is the --out directory; give a file for the report"),
    );
    assert!(!out.exists() && !dir.path().join("same.md").exists(), "nothing may be written on bad input");
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
    // Whole-number flags: our one line naming the flag, the value and the range.
    let bars = common::shared_data("btcusd_bitstamp_1min_a.csv");
    let fit_out = dir.path().join("fit.json");
    let fit = |flag: &'static str, value: &'static str| {
        let (bars, fit_out) = (bars.to_str().unwrap(), fit_out.to_str().unwrap());
        vec!["market", "fit", "--data", bars, "--out", fit_out, flag, value]
    };
    for (args, expect) in [
        (vec!["run", "--iterations", "-5", "--out", out], "--iterations: invalid value \"-5\": must be a whole number"),
        (vec!["run", "--seed", "-1", "--out", out], "--seed: invalid value \"-1\": must be a whole number"),
        (
            vec!["run", "--fail-window", "-1", "--out", out],
            "--fail-window: invalid value \"-1\": must be a whole number",
        ),
        (
            vec!["sweep", "plan", "sweep.toml", "--shards", "-2"],
            "--shards: invalid value \"-2\": must be a whole number",
        ),
        (fit("--iterations", "-5"), "--iterations: invalid value \"-5\": must be a whole number from 1 to 10000"),
    ] {
        fails(&args, expect);
    }
    // market fit checks --holdout before it reads the data: the error is the only line.
    for h in ["-0.2", "0", "1"] {
        fails(&fit("--holdout", h), &format!("mmsoak: error: --holdout {h}: must be above 0 and below 1"));
    }
    assert!(!dir.path().join("o").exists() && !fit_out.exists(), "nothing may be written on bad input");
    // A flag after a flag still wanting its value is that flag, not the value.
    let o = mmsoak().args(["run", "--tick-size", "--source", "ticks", "--out", out]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "mmsoak: error: --tick-size: a value is required\n");
}

/// The negative numbers clap's lexer does not call numbers (`-.5`, `-1e-3`, `-inf`,
/// `-NaN`, and `-1/8` for `--shard`) are the flag's value as well, and reach its
/// check: one line naming the flag and the value, exit 2, nothing written (they got
/// clap's "unexpected argument"; only `--flag=-.5` reached the check). A bad
/// whole number is one line too, not clap's three.
#[test]
fn a_negative_value_in_any_number_form_reaches_its_check() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("o");
    let out = o.to_str().unwrap();
    let empty = dir.path().join("quotes.csv");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.to_str().unwrap();
    let quotes = common::shared_data("tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv");
    let quotes = quotes.to_str().unwrap();
    let sweep = dir.path().join("sweep.toml");
    std::fs::write(&sweep, "name = \"neg\"\niterations = 4\nseeds = [1]\nregimes = [\"calm\"]\n").unwrap();
    let sweep = sweep.to_str().unwrap();
    let bars = common::shared_data("btcusd_bitstamp_1min_a.csv");
    let bars = bars.to_str().unwrap();
    let fit_out = dir.path().join("fit.json");
    let fit_out_s = fit_out.to_str().unwrap();
    // A tick run over real data, short enough that the tick models' checks come next.
    let ticks = |flag: &'static str, value: &'static str| {
        let head = ["run", "--source", "ticks", "--data", quotes, "--iterations", "1", "--iteration-seconds", "60"];
        [&head[..], &[flag, value, "--out", out]].concat()
    };
    let tick_size =
        |value: &'static str| ["run", "--source", "ticks", "--data", empty, "--tick-size", value, "--out", out];
    // On an empty data file: refused before the data is read, or the data's error would come first.
    let tick_size_and = |flag: &'static str, value: &'static str| {
        vec!["run", "--source", "ticks", "--data", empty, flag, value, "--out", out]
    };
    let cases: Vec<(Vec<&str>, String)> = vec![
        (tick_size("-.1").to_vec(), "--tick-size: tick size \"-.1\" must be a positive decimal price".into()),
        (tick_size("-1e-3").to_vec(), "--tick-size: tick size \"-1e-3\" must be a positive".into()),
        (tick_size("-inf").to_vec(), "--tick-size: tick size \"-inf\" must be a positive".into()),
        (tick_size("-NaN").to_vec(), "--tick-size: tick size \"-NaN\" must be a positive".into()),
        (tick_size("-Infinity").to_vec(), "--tick-size: tick size \"-Infinity\" must be a positive".into()),
        (
            ticks("--maker-fee-bps", "-inf"),
            "--maker-fee-bps: maker fee -inf bps: must be between -100 and 100 bps".into(),
        ),
        (
            ticks("--taker-fee-bps", "-NaN"),
            "--taker-fee-bps: taker fee -NaN bps: must be between -100 and 100 bps".into(),
        ),
        // Checked before the data is read, naming the flag and the value.
        (ticks("--latency", "-5"), "--latency: latency \"-5\": choose constant:ENTRY_MS:RESPONSE_MS".into()),
        (
            ticks("--maker-fee-bps", "-200"),
            "--maker-fee-bps: maker fee -200 bps: must be between -100 and 100 bps".into(),
        ),
        (tick_size_and("--queue-model", "lifo"), "--queue-model: queue model \"lifo\": choose auto".into()),
        (
            ticks("--backstep-tolerance-ms", "-.5"),
            "--backstep-tolerance-ms: backstep tolerance -.5 ms: must be between 0 and 3600000 ms".into(),
        ),
        // -.5 bps is a valid maker fee (a rebate): taken as the value, the tick size is what fails.
        (
            vec![
                "run",
                "--source",
                "ticks",
                "--data",
                empty,
                "--maker-fee-bps",
                "-.5",
                "--tick-size",
                "-1",
                "--out",
                out,
            ],
            "--tick-size: tick size \"-1\"".into(),
        ),
        (
            vec!["run", "--report-timeout", "-.5", "--out", out],
            "--report-timeout must be between 0 and 3600 seconds, got -0.5".into(),
        ),
        (
            vec!["bot", "--speed", "-inf", "--report", out],
            "--speed must be a number above 0 (at most 1000000), got -inf".into(),
        ),
        (
            vec!["sweep", "run", sweep, "--shard", "-1/8", "--out", out],
            "--shard -1/8: expected whole numbers I/N".into(),
        ),
        // Whole numbers: one line naming the flag, the value and the range.
        (
            vec!["run", "--iterations", "-5", "--out", out],
            "mmsoak: error: --iterations: invalid value \"-5\": must be a whole number from 1 to".into(),
        ),
        (
            vec!["run", "--iteration-seconds", "-.5", "--out", out],
            "--iteration-seconds: invalid value \"-.5\": must be a whole number".into(),
        ),
        (vec!["run", "--seed", "-1e3", "--out", out], "--seed: invalid value \"-1e3\": must be a whole number".into()),
        (vec!["run", "--seed", "ten", "--out", out], "--seed: invalid value \"ten\": must be a whole number".into()),
        (
            vec!["run", "--fail-max", "-inf", "--out", out],
            "--fail-max: invalid value \"-inf\": must be a whole number".into(),
        ),
        (
            vec!["run", "--markout-ms", "-1", "--out", out],
            "--markout-ms: invalid value \"-1\": must be a whole number".into(),
        ),
        (
            vec!["sweep", "run", sweep, "--workers", "-NaN", "--out", out],
            "--workers: invalid value \"-NaN\": must be a whole number from 1 to 256".into(),
        ),
        (
            vec!["sweep", "plan", sweep, "--shards", "-.5"],
            "--shards: invalid value \"-.5\": must be a whole number".into(),
        ),
        (
            vec!["bot", "--iterations", "-1", "--report", out],
            "--iterations: invalid value \"-1\": must be a whole number".into(),
        ),
        (
            vec!["market", "stats", "--days", "-2"],
            "--days: invalid value \"-2\": must be a whole number from 1 to 365".into(),
        ),
    ];
    for (args, expect) in &cases {
        let err = fails(args, expect);
        assert!(err.starts_with("mmsoak: error: "), "{args:?}: {err}");
        assert!(!o.exists() && !fit_out.exists(), "{args:?}: nothing may be written on bad input");
    }
    // market fit checks --holdout before it reads the data: the error is the only line.
    fails(
        &["market", "fit", "--data", bars, "--out", fit_out_s, "--holdout", "-.2"],
        "mmsoak: error: --holdout -0.2: must be above 0 and below 1",
    );
    assert!(!fit_out.exists(), "nothing may be written on bad input");
    // A real flag after a flag still wanting its value is that flag, never the value.
    for next in [&["--out", out][..], &["-h"], &["--help"]] {
        let args = [&["run", "--tick-size"][..], next].concat();
        let o2 = mmsoak().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&o2.stderr);
        assert_eq!(o2.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr, "mmsoak: error: --tick-size: a value is required\n", "{args:?}");
    }
    assert!(!o.exists(), "--out was taken as --tick-size's value");
}

/// The flags whose checks need no data are checked before any is read: on an
/// empty tick file, their error (not the data's) is the one line.
#[test]
fn flags_that_need_no_data_are_checked_before_the_data_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("o");
    let empty = dir.path().join("quotes.csv");
    std::fs::write(&empty, "").unwrap();
    let head = ["run", "--source", "ticks", "--data", empty.to_str().unwrap(), "--out", o.to_str().unwrap()];
    for (flags, expect) in [
        (["--export-md", "/nonexistent/r.md"], "--export-md /nonexistent/r.md: directory /nonexistent does not exist"),
        (["--export-html", "/nonexistent/r.html"], "--export-html /nonexistent/r.html: directory /nonexistent"),
        (["--summary-export", "/nonexistent/s.json"], "--summary-export /nonexistent/s.json: directory"),
        (["--regime", "nonexist"], "unknown --regime \"nonexist\": choose one of calm"),
        (["--threshold", "bogus"], "--threshold \"bogus\": expected 'METRIC: EXPRESSION'"),
        (["--metrics-addr", "bogus"], "--metrics-addr bogus: cannot listen there"),
    ] {
        fails(&[&head[..], &flags[..]].concat(), expect);
        assert!(!o.exists(), "{flags:?}: nothing may be written on bad input");
    }
    // And the data's own error when the flags are fine.
    fails(&head, "quotes.csv");
}

/// clap's own errors, three lines or more with a usage block, are one line naming
/// the flag and the value (a flag's possible values on the same line), exit 2; a
/// whole-number flag states its real range. `--help` and `--version` still work.
#[test]
fn clap_errors_are_one_line_naming_the_flag_and_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("o");
    let out = o.to_str().unwrap();
    let sources = "choose one of sim, replay, kpis, ticks, external, fills";
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["run", "--out"], "--out: a value is required".into()),
        (vec!["run", "--iterations", "--out", out], "--iterations: a value is required".into()),
        (vec!["run", "--source"], format!("--source: a value is required: {sources}")),
        (vec!["run", "--source", "bogus", "--out", out], format!("--source: invalid value \"bogus\": {sources}")),
        (
            vec!["run", "--engine", "x", "--out", out],
            "--engine: invalid value \"x\": choose one of wasm, native".into(),
        ),
        (vec!["run", "--fail-on", "x", "--out", out], "--fail-on: invalid value \"x\": choose one of kpi".into()),
        (
            vec!["run", "--regime", "-.5", "--out", out],
            "unknown --regime \"-.5\": choose one of calm, volatile, flash_crash, liquidity_gap, trending, mixed, \
             or give a regime file (.json) from `mmsoak market fit`"
                .into(),
        ),
        (
            vec!["run", "--iterations", "0", "--out", out],
            "--iterations: invalid value \"0\": must be a whole number from 1 to 4294967295".into(),
        ),
        (
            vec!["run", "--iteration-seconds", "0", "--out", out],
            "--iteration-seconds: invalid value \"0\": must be a whole number from 1 to 86400".into(),
        ),
        (
            vec!["run", "--iteration-seconds", "86401", "--out", out],
            "--iteration-seconds: invalid value \"86401\": must be a whole number from 1 to 86400".into(),
        ),
        (
            vec!["run", "--source", "fills", "--fills", "f.jsonl", "--markout-ms", "0", "--out", out],
            "--markout-ms: invalid value \"0\": must be a whole number from 1 to 3600000".into(),
        ),
    ];
    for (args, expect) in &cases {
        let o2 = mmsoak().current_dir(dir.path()).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&o2.stderr);
        assert_eq!(o2.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr, format!("mmsoak: error: {expect}\n"), "{args:?}");
        assert!(!o.exists(), "{args:?}: nothing may be written on bad input");
    }
    for flag in ["--help", "--version"] {
        let o2 = mmsoak().arg(flag).output().unwrap();
        assert_eq!(o2.status.code(), Some(0), "{flag}");
        assert!(!o2.stdout.is_empty(), "{flag}");
    }
}

/// A fee clap used to refuse alone (`abc`, `inf`), ahead of the other tick
/// settings, is listed with them, value as typed; `nan` reads the same as a flag
/// and as an mmsoak.toml value.
#[test]
fn a_fee_that_is_no_number_is_listed_with_the_other_bad_tick_settings() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let quotes = common::shared_data("tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv");
    let run = |extra: &[&str]| {
        let o = mmsoak()
            .args(["run", "--source", "ticks", "--iterations", "1", "--iteration-seconds", "60", "--out"])
            .arg(&out)
            .arg("--data")
            .arg(&quotes)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let err = run(&["--maker-fee-bps", "abc", "--taker-fee-bps", "inf", "--latency", "fast"]);
    assert_eq!(
        err,
        "mmsoak: error: 3 tick settings are not valid:\n  \
         --latency: latency \"fast\": choose constant:ENTRY_MS:RESPONSE_MS, constant:MS, data or data:ENTRY_MS\n  \
         --maker-fee-bps: maker fee \"abc\": not a number (bps between -100 and 100)\n  \
         --taker-fee-bps: taker fee inf bps: must be between -100 and 100 bps\n"
    );
    let cfg = dir.path().join("m.toml");
    std::fs::write(&cfg, "[ticks]\nmaker_fee_bps = nan\n").unwrap();
    let in_file = run(&["--config", cfg.to_str().unwrap()]);
    let as_flag = run(&["--maker-fee-bps", "nan"]);
    let reason = "maker fee nan bps: must be between -100 and 100 bps\n";
    assert_eq!(in_file, format!("mmsoak: error: {} [ticks] maker_fee_bps: {reason}", cfg.display()));
    assert_eq!(as_flag, format!("mmsoak: error: --maker-fee-bps: {reason}"));
    assert!(!out.exists(), "nothing may be written on bad input");
}
