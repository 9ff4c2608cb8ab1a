//! `--source ticks` end to end: real LOBSTER, Binance and Tardis data replayed
//! through the built binary; bad data refused with one line naming file and line.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;

const LOBSTER_MSG: &str = "lobster/AMZN_2012-06-21_34200000_57600000_message_5.csv.gz";
const LOBSTER_BOOK: &str = "lobster/AMZN_2012-06-21_34200000_57600000_orderbook_5.csv.gz";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn artifacts_complete(out: &Path, n: u32) -> serde_json::Value {
    for i in 1..=n {
        let summary = json(out.join(format!("latest/ITER_SUMMARY_{i}.json")));
        let edge = &summary["edge"];
        assert!(edge.is_object(), "ITER_SUMMARY_{i} has no edge report: {summary}");
        assert!(edge["data_quality"]["events"].as_u64().unwrap() > 0, "iteration {i} replayed no events");
    }
    for f in ["latest/TUNING_STATE.json", "latest/RUN.json", "runtime_overrides.json"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let report = json(out.join("latest/TUNING_REPORT.json"));
    assert_eq!(report["iterations_completed"], n);
    assert_eq!(report["settings"]["source"], "ticks");
    report
}

#[test]
fn a_lobster_day_runs_as_26_iterations_with_every_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let md = dir.path().join("report.md");
    run_ok(&[
        "run",
        "--source",
        "ticks",
        "--data",
        s(&shared_data(LOBSTER_MSG)),
        "--iterations",
        "26",
        "--auto-tune",
        "--out",
        s(&out),
        "--export-md",
        s(&md),
    ]);
    let report = artifacts_complete(&out, 26);
    let ticks = &report["settings"]["ticks"];
    assert_eq!(ticks["config"]["queue"]["model"], "fifo", "order ids in the data: exact FIFO by default");
    assert_eq!(ticks["streams"][0].as_array().unwrap().len(), 2, "the orderbook file was found by name");
    // 09:30:00 to 16:00:00 in 15-minute windows.
    let first = json(out.join("latest/ITER_SUMMARY_1.json"));
    assert_eq!(first["edge"]["data_quality"]["window_start_ns"].as_i64().unwrap(), 34_200_000_000_000);
    let last = json(out.join("latest/ITER_SUMMARY_26.json"));
    assert_eq!(last["edge"]["data_quality"]["window_end_ns"].as_i64().unwrap(), 57_600_000_000_000);
    let fills: u64 = (1..=26)
        .map(|i| json(out.join(format!("latest/ITER_SUMMARY_{i}.json")))["edge"]["maker_fills"].as_u64().unwrap())
        .sum();
    assert!(fills > 100, "a day of AMZN prints filled only {fills} quotes");
    assert!(std::fs::read_to_string(&md).unwrap().contains("| tick replay | lobster"));
    inputs_recorded_as_on_disk(&out, 2);
}

/// RUN.json records each data file's size and the sha256 of its bytes as on disk
/// (compressed ones too, LOBSTER's orderbook partner included): the scan hashes
/// them as it reads them (`data::hashes`), and `--resume` compares against them.
fn inputs_recorded_as_on_disk(out: &Path, files: usize) {
    use sha2::{Digest, Sha256};
    let run = json(out.join("latest/RUN.json"));
    let inputs = run["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), files, "{inputs:?}");
    for input in inputs {
        let bytes = std::fs::read(input["path"].as_str().unwrap()).unwrap();
        assert_eq!(input["bytes"].as_u64(), Some(bytes.len() as u64), "{input}");
        assert_eq!(input["sha256"].as_str(), Some(hex::encode(Sha256::digest(&bytes)).as_str()), "{input}");
    }
}

#[test]
fn a_binance_capture_and_tardis_files_run_in_short_iterations() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b");
    run_ok(&[
        "run",
        "--source",
        "ticks",
        "--data",
        s(&shared_data("binance_usdm_raw/btcusdt_20240719.gz")),
        s(&shared_data("binance_usdm_raw/btcusdt_20240718.gz")),
        "--iterations",
        "8",
        "--iteration-seconds",
        "60",
        "--auto-tune",
        "--latency",
        "data:5",
        "--out",
        s(&b),
    ]);
    let report = artifacts_complete(&b, 8);
    assert_eq!(report["settings"]["ticks"]["config"]["tick"], 10_000_000, "0.1 USDT measured from the book");
    assert!(report["settings"]["ticks"]["streams"][0][0].as_str().unwrap().ends_with("btcusdt_20240718.gz"));
    inputs_recorded_as_on_disk(&b, 2);
    let t = dir.path().join("t");
    run_ok(&[
        "run",
        "--source",
        "ticks",
        "--data",
        s(&shared_data("tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv")),
        s(&shared_data("tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv")),
        "--iterations",
        "3",
        "--iteration-seconds",
        "60",
        "--queue-model",
        "risk-averse",
        "--out",
        s(&t),
    ]);
    let report = artifacts_complete(&t, 3);
    assert_eq!(report["settings"]["ticks"]["config"]["queue"]["model"], "risk_averse");
    // The same file named twice, through a link: read once (read twice, its
    // events stepped back where the second copy began), the replay as above.
    #[cfg(unix)]
    {
        let quotes = shared_data("tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv");
        let link = dir.path().join("quotes-link.csv");
        std::os::unix::fs::symlink(&quotes, &link).unwrap();
        let twice = dir.path().join("twice");
        run_ok(&[
            "run",
            "--source",
            "ticks",
            "--data",
            s(&shared_data("tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv")),
            s(&quotes),
            s(&link),
            "--iterations",
            "3",
            "--iteration-seconds",
            "60",
            "--queue-model",
            "risk-averse",
            "--out",
            s(&twice),
        ]);
        for i in 1..=3 {
            let f = format!("latest/ITER_SUMMARY_{i}.json");
            assert_eq!(std::fs::read(t.join(&f)).unwrap(), std::fs::read(twice.join(&f)).unwrap(), "{f}");
        }
    }
    // The quotes file ends after 3.8 minutes: the replay covers only what both files cover.
    let o = mmsoak()
        .args(["run", "--source", "ticks", "--iteration-seconds", "60", "--iterations", "4", "--out"])
        .arg(dir.path().join("t4"))
        .arg("--data")
        .arg(shared_data("tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv"))
        .arg(shared_data("tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("(3 iterations)"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_tick_replay_is_byte_identical_under_wasmtime_and_natively_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let data = [
        s(&shared_data("binance_usdm_raw/btcusdt_20240718.gz")).to_string(),
        s(&shared_data("binance_usdm_raw/btcusdt_20240719.gz")).to_string(),
    ];
    let run = |out: &Path, engine: &str| {
        run_ok(&[
            "run",
            "--source",
            "ticks",
            "--data",
            &data[0],
            &data[1],
            "--iterations",
            "6",
            "--iteration-seconds",
            "60",
            "--auto-tune",
            "--profile",
            "aggressive",
            "--engine",
            engine,
            "--out",
            s(out),
        ]);
    };
    let (w, n) = (dir.path().join("w"), dir.path().join("n"));
    run(&w, "wasm");
    run(&n, "native");
    for i in 1..=6 {
        let f = format!("latest/ITER_SUMMARY_{i}.json");
        assert_eq!(read(w.join(&f)), read(n.join(&f)), "{f} differs between wasm and native");
    }
    assert_eq!(read(w.join("latest/TUNING_STATE.json")), read(n.join("latest/TUNING_STATE.json")));
    // A crash after iteration 5: the state rolls back one step; --resume replays the
    // market through five windows without trading and gives iteration 6 the same bytes.
    let latest = w.join("latest");
    let expected = read(latest.join("ITER_SUMMARY_6.json"));
    std::fs::copy(latest.join("TUNING_STATE.prev.json"), latest.join("TUNING_STATE.json")).unwrap();
    std::fs::remove_file(latest.join("ITER_SUMMARY_6.json")).unwrap();
    std::fs::remove_file(latest.join("TUNING_REPORT.json")).unwrap();
    // Flags that would change the replay are refused, naming the recorded value,
    // and nothing is touched; the same models spelled as at the start (or as
    // `auto`, which resolves to the same model on this data) are fine.
    let before = read(latest.join("TUNING_STATE.json"));
    for (flags, expected) in [
        (vec!["--maker-fee-bps", "-1"], "--maker-fee-bps -1: --resume continues the run as it started, and its latest/RUN.json has --maker-fee-bps -0.2"),
        (vec!["--queue-model", "risk-averse"], "--queue-model \"risk-averse\""),
        (vec!["--latency", "constant:5"], "--latency \"constant:5\""),
        (vec!["--data", &data[0]], "--data "),
        (vec!["--queue-model", "prob:2"], "has --queue-model \"prob:3\""),
    ] {
        let o = mmsoak().args(["run", "--resume", "--out", s(&w)]).args(&flags).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(expected), "{flags:?}: {err}");
        assert_eq!(read(latest.join("TUNING_STATE.json")), before, "{flags:?}: a refused resume changed the state");
        assert!(!latest.join("ITER_SUMMARY_6.json").exists(), "{flags:?}");
    }
    run_ok(&[
        "run",
        "--resume",
        "--out",
        s(&w),
        "--data",
        &data[1],
        &data[0],
        &data[0],
        "--queue-model",
        "auto",
        "--maker-fee-bps",
        "-0.20",
        "--latency",
        "constant:25",
    ]);
    assert_eq!(read(latest.join("ITER_SUMMARY_6.json")), expected, "resumed iteration differs");
}

/// Runs a tick soak that must be refused: exit 2, one line naming `expect`, nothing written.
fn refused(data: &[&Path], extra: &[&str], expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let mut cmd = mmsoak();
    cmd.args([
        "run",
        "--source",
        "ticks",
        "--iteration-seconds",
        "60",
        "--iterations",
        "1",
        "--out",
        s(&out),
        "--data",
    ]);
    cmd.args(data).args(extra);
    let o = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "should exit 2: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "one error line expected:\n{err}");
    for e in expect {
        assert!(errors[0].contains(e), "expected {e:?} in {:?}", errors[0]);
    }
    assert!(!out.exists(), "nothing may be written on bad input");
}

fn gz(path: &Path, text: &str) {
    let mut e = flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::fast());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap();
}

fn gunzip(p: &Path) -> String {
    use std::io::Read;
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(p).unwrap()).read_to_string(&mut s).unwrap();
    s
}

fn head(text: &str, n: usize) -> String {
    text.lines().take(n).map(|l| format!("{l}\n")).collect()
}

#[test]
fn bad_tick_data_is_one_error_naming_file_and_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = |name: &str| -> PathBuf { d.join(name) };

    // A truncated gzip.
    let bytes = read(shared_data("binance_usdm_raw/btcusdt_20240718.gz"));
    std::fs::write(file("cut.gz"), &bytes[..bytes.len() / 2]).unwrap();
    refused(&[&file("cut.gz")], &[], &["cut.gz: line ", "gzip stream is truncated"]);

    // LOBSTER: a message file without its orderbook file, then with a different row count.
    let msgs = gunzip(&shared_data(LOBSTER_MSG));
    let books = gunzip(&shared_data(LOBSTER_BOOK));
    let m = file("AMZN_2012-06-21_34200000_57600000_message_5.csv");
    std::fs::write(&m, head(&msgs, 5000)).unwrap();
    refused(&[&m], &[], &["message_5.csv", "without its orderbook file"]);
    let b = file("AMZN_2012-06-21_34200000_57600000_orderbook_5.csv");
    std::fs::write(&b, head(&books, 4000)).unwrap();
    refused(&[&m], &[], &["orderbook_5.csv: line 4001", "row counts must match"]);

    // Tardis: an unknown header.
    let t = file("tardis_derivative_ticker.csv");
    std::fs::write(&t, "exchange,symbol,timestamp,local_timestamp,funding_rate\nbinance-futures,BTCUSDT,1,1,0.01\n")
        .unwrap();
    refused(&[&t], &[], &["tardis_derivative_ticker.csv", "unknown market data format"]);

    // Tardis: timestamps going backwards past the tolerance (5 s back on line 101).
    let trades =
        std::fs::read_to_string(shared_data("tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv")).unwrap();
    let mut lines: Vec<String> = trades.lines().map(String::from).collect();
    let mut f: Vec<String> = lines[100].split(',').map(String::from).collect();
    f[3] = (f[3].parse::<i64>().unwrap() - 5_000_000).to_string();
    lines[100] = f.join(",");
    let back = file("trades_back.csv");
    std::fs::write(&back, lines.join("\n") + "\n").unwrap();
    refused(&[&back], &[], &["trades_back.csv: line 101", "timestamp goes backwards by 4", "tolerance 1000.000 ms"]);

    // Binance: a depth snapshot that does not bridge the diffs.
    let cap = gunzip(&shared_data("binance_usdm_raw/btcusdt_20240718.gz"));
    let broken: String = cap
        .lines()
        .map(|l| {
            if l.contains("lastUpdateId") {
                l.replacen("\"lastUpdateId\":", "\"lastUpdateId\":1", 1)
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    gz(&file("nobridge.gz"), &broken);
    refused(&[&file("nobridge.gz")], &[], &["nobridge.gz: line ", "lastUpdateId 14984028384061) was never bridged"]);

    // A wrong --data-format.
    refused(&[&back], &["--data-format", "lobster"], &["trades_back.csv", "given as lobster", "tardis data"]);
    refused(&[&back], &["--data-format", "csv"], &["--data-format: data format \"csv\"", "lobster, tardis, binance"]);
    // A model the data cannot support.
    let good = shared_data("tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv");
    refused(&[&good], &["--queue-model", "fifo"], &["--queue-model: queue model \"fifo\" needs data with order ids"]);
    refused(&[&good], &["--latency", "warp"], &["latency \"warp\""]);
    // Every setting the data cannot support, listed at once, each named as given
    // (a flag, or mmsoak.toml's key) with its value quoted, as the checks before
    // the data name them and as --resume does.
    let cfg = dir.path().join("mmsoak.toml");
    std::fs::write(&cfg, "[ticks]\nqueue_model = \"fifo\"\n").unwrap();
    let out = dir.path().join("o");
    let o = mmsoak()
        .args(["run", "--source", "ticks", "--iteration-seconds", "60", "--iterations", "1"])
        .args(["--config", s(&cfg), "--out", s(&out), "--data", s(&good)])
        .args(["--latency", "data:5", "--tick-size", "0.03"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "mmsoak: error: 2 tick settings are not valid:", "{err}");
    assert_eq!(
        lines[1],
        format!(
            "  {} [ticks] queue_model: queue model \"fifo\" needs data with order ids (LOBSTER); this data has none",
            cfg.display()
        )
    );
    assert!(lines[2].starts_with("  --tick-size: tick size \"0.03\" does not fit the data: "), "{err}");
    assert_eq!(lines.len(), 3, "{err}");
    assert!(!out.exists(), "nothing may be written on bad input");
    // LOBSTER has one timestamp: `data` latency is named with its value as given.
    refused(
        &[&shared_data(LOBSTER_MSG)],
        &["--latency", "data:5"],
        &["--latency: latency \"data:5\" needs exchange and local timestamps in the data; this data has one stamp"],
    );
}

#[test]
fn exchange_models_come_from_mmsoak_toml_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mmsoak.toml");
    std::fs::write(
        &cfg,
        "[soak]\niteration_seconds = 60\n[ticks]\nqueue_model = \"risk-averse\"\nmaker_fee_bps = 0.5\n",
    )
    .unwrap();
    let trades = shared_data("tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv");
    let quotes = shared_data("tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv");
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec!["run", "--config", s(&cfg), "--source", "ticks", "--iterations", "2", "--out", s(out)];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--data", s(&trades), s(&quotes)]);
        run_ok(&args);
        json(out.join("latest/TUNING_REPORT.json"))["settings"].clone()
    };
    let a = run(&dir.path().join("a"), &[]);
    assert_eq!(a["iteration_seconds"], 60);
    assert_eq!(a["ticks"]["config"]["queue"]["model"], "risk_averse");
    assert_eq!(a["ticks"]["config"]["fees"]["maker_bps"], 0.5);
    let b = run(&dir.path().join("b"), &["--queue-model", "prob:2", "--maker-fee-bps", "-1"]);
    assert_eq!(b["ticks"]["config"]["queue"], serde_json::json!({"model": "power_prob", "n": 2.0}));
    assert_eq!(b["ticks"]["config"]["fees"]["maker_bps"], -1.0);
    let explain = mmsoak().args(["config", "explain", "--config", s(&cfg)]).output().unwrap();
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(text.contains("queue_model          = risk-averse"), "{text}");
}

/// A run started with relative `--data` paths resumes from another directory
/// with the files it started with, even where that directory holds other files
/// of the same names, and after the directory it started in is gone (the paths
/// went through it: `../x`); the reports keep the paths as they were typed.
#[test]
fn a_tick_replay_with_relative_paths_resumes_from_another_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let names = ["trades.csv", "quotes.csv"];
    let sources = [
        "tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv",
        "tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv",
    ];
    for d in [&a, &b] {
        std::fs::create_dir(d).unwrap();
    }
    for (name, src) in names.iter().zip(sources) {
        let text = String::from_utf8(read(shared_data(src))).unwrap();
        std::fs::write(a.join(name), &text).unwrap();
        // The same names in the other directory: the first half of the data only.
        std::fs::write(b.join(name), head(&text, 5000)).unwrap();
    }
    let out = dir.path().join("o");
    let start = a.join("start");
    std::fs::create_dir(&start).unwrap();
    let typed = names.map(|n| format!("../{n}"));
    let args = |resume: bool| {
        let mut v = vec!["run", "--out", s(&out)];
        if resume {
            v.push("--resume");
        } else {
            v.extend(["--source", "ticks", "--iterations", "3", "--iteration-seconds", "60", "--auto-tune"]);
            v.extend(["--data", &typed[0], &typed[1]]);
        }
        v
    };
    let o = mmsoak().current_dir(&start).args(args(false)).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let latest = out.join("latest");
    let expected = read(latest.join("ITER_SUMMARY_3.json"));
    let report = json(latest.join("TUNING_REPORT.json"));
    assert_eq!(report["settings"]["ticks"]["streams"], serde_json::json!([["../trades.csv"], ["../quotes.csv"]]));
    // Each file's size and hash, by its canonical path, for --resume to check.
    let inputs = json(latest.join("RUN.json"))["inputs"].clone();
    for (k, name) in names.iter().enumerate() {
        let file = std::fs::canonicalize(a.join(name)).unwrap();
        assert_eq!(inputs[k]["path"], s(&file), "{inputs}");
        assert_eq!(inputs[k]["bytes"], std::fs::metadata(&file).unwrap().len(), "{inputs}");
    }
    std::fs::remove_dir(&start).unwrap();
    // A crash after iteration 2, then --resume from the other directory.
    std::fs::copy(latest.join("TUNING_STATE.prev.json"), latest.join("TUNING_STATE.json")).unwrap();
    std::fs::remove_file(latest.join("ITER_SUMMARY_3.json")).unwrap();
    std::fs::remove_file(latest.join("TUNING_REPORT.json")).unwrap();
    let o = mmsoak().current_dir(&b).args(args(true)).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read(latest.join("ITER_SUMMARY_3.json")), expected, "the resumed iteration read other files");
    assert_eq!(json(latest.join("TUNING_REPORT.json"))["settings"], report["settings"]);
}

/// Tick files that no longer group into the recorded streams: the error names
/// the files and how they group now (here the record has one stream fewer).
#[test]
fn tick_files_that_no_longer_group_are_named_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let trades = shared_data("tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv");
    let quotes = shared_data("tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv");
    let o = mmsoak()
        .args(["run", "--out", s(&out), "--source", "ticks", "--iterations", "2", "--iteration-seconds", "60"])
        .args(["--data", s(&trades), s(&quotes)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let latest = out.join("latest");
    std::fs::copy(latest.join("TUNING_STATE.prev.json"), latest.join("TUNING_STATE.json")).unwrap();
    std::fs::remove_file(latest.join("ITER_SUMMARY_2.json")).unwrap();
    let mut record = json(latest.join("RUN.json"));
    let formats = record["settings"]["ticks"]["config"]["formats"].as_array_mut().unwrap();
    assert_eq!(formats.len(), 2, "{formats:?}");
    formats.pop();
    std::fs::write(latest.join("RUN.json"), serde_json::to_vec_pretty(&record).unwrap()).unwrap();
    let o = mmsoak().args(["run", "--resume", "--out", s(&out)]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{stderr}");
    assert!(stderr.contains("no longer group"), "{stderr}");
    for file in [&trades, &quotes] {
        assert!(stderr.contains(file.file_name().unwrap().to_str().unwrap()), "{stderr}");
    }
}

/// mmsoak.toml's `[ticks]` edited before a `--resume`: one warning line per field
/// that differs from the record, with both values; the run goes on as recorded.
#[test]
fn a_changed_ticks_section_is_warned_about_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mmsoak.toml");
    std::fs::write(&cfg, "[ticks]\nmaker_fee_bps = 0.5\n").unwrap();
    let out = dir.path().join("o");
    let trades = shared_data("tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv");
    let quotes = shared_data("tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv");
    run_ok(
        &["run", "--config", s(&cfg), "--out", s(&out), "--source", "ticks", "--iterations", "2"]
            .into_iter()
            .chain(["--iteration-seconds", "60", "--data", s(&trades), s(&quotes)])
            .collect::<Vec<_>>(),
    );
    let latest = out.join("latest");
    let expected = read(latest.join("ITER_SUMMARY_2.json"));
    std::fs::copy(latest.join("TUNING_STATE.prev.json"), latest.join("TUNING_STATE.json")).unwrap();
    std::fs::remove_file(latest.join("ITER_SUMMARY_2.json")).unwrap();
    let resume = || mmsoak().args(["run", "--resume", "--config", s(&cfg), "--out", s(&out)]).output().unwrap();
    // Unchanged: no warning.
    let o = resume();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && !stderr.contains("[ticks]"), "{stderr}");
    std::fs::copy(latest.join("TUNING_STATE.prev.json"), latest.join("TUNING_STATE.json")).unwrap();
    std::fs::remove_file(latest.join("ITER_SUMMARY_2.json")).unwrap();
    std::fs::write(&cfg, "[ticks]\nmaker_fee_bps = 1.5\n").unwrap();
    let o = resume();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("[ticks]")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("maker_fee_bps") && lines[0].contains("1.5") && lines[0].contains("0.5"), "{stderr}");
    assert_eq!(read(latest.join("ITER_SUMMARY_2.json")), expected, "the resume used the edited [ticks]");
}

/// `--resume` checks its flags before it reads any data (the data here is gone,
/// so a read would be the error): a malformed tick flag is refused naming the
/// flag and the value, a run that had finished says there is nothing to resume
/// whatever tick flag is given, and a tick flag that differs from the record is
/// refused without a look at the data.
#[test]
fn resume_checks_its_flags_and_finds_nothing_to_resume_before_reading_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv");
    std::fs::copy(shared_data("tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv"), &data).unwrap();
    let out = dir.path().join("o");
    run_ok(
        &["run", "--out", s(&out), "--source", "ticks", "--iterations", "2", "--iteration-seconds", "60"]
            .into_iter()
            .chain(["--engine", "native", "--data", s(&data)])
            .collect::<Vec<_>>(),
    );
    std::fs::remove_file(&data).unwrap();
    let resume = |flags: &[&str]| {
        let o =
            mmsoak().args(["run", "--resume", "--engine", "native", "--out", s(&out)]).args(flags).output().unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stderr).to_string())
    };
    let error = |flags: &[&str]| {
        let (code, err) = resume(flags);
        assert_eq!(code, Some(2), "{flags:?}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(lines.len(), 1, "{flags:?}: {err}");
        lines[0].to_string()
    };
    for (flags, expected) in [
        (["--tick-size", "-0.05"], "mmsoak: error: --tick-size: tick size \"-0.05\" must be a positive decimal price"),
        (["--tick-size", "0"], "--tick-size: tick size \"0\" must be"),
        (["--maker-fee-bps", "500"], "--maker-fee-bps: maker fee 500 bps: must be between -100 and 100 bps"),
        (["--queue-model", "prob:x"], "--queue-model: queue model \"prob:x\": choose"),
        (["--latency", "constant:-1"], "--latency: latency \"constant:-1\": \"-1\" is not a number"),
        (
            ["--backstep-tolerance-ms", "-1"],
            "--backstep-tolerance-ms: backstep tolerance -1 ms: must be between 0 and 3600000 ms",
        ),
        (["--data-format", "csv"], "--data-format: data format \"csv\": choose one of lobster, tardis, binance"),
    ] {
        let line = error(&flags);
        assert!(line.contains(expected), "{flags:?}: {line}");
    }
    let finished_with: [&[&str]; 4] =
        [&[], &["--tick-size", "0.5"], &["--queue-model", "fifo", "--latency", "data"], &["--maker-fee-bps", "1"]];
    for flags in finished_with {
        let (code, err) = resume(flags);
        assert_eq!(code, Some(0), "{flags:?}: {err}");
        assert!(err.contains("nothing to resume"), "{flags:?}: {err}");
    }
    // A bad mmsoak.toml [ticks] value does not stop a resume, which uses the
    // run's recorded settings: it is said not to be used, and why it is bad.
    let bad_cfg = dir.path().join("bad.toml");
    std::fs::write(&bad_cfg, "[ticks]\nmaker_fee_bps = 500\nqueue_model = \"lifo\"\n").unwrap();
    let (code, err) = resume(&["--config", s(&bad_cfg)]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("nothing to resume"), "{err}");
    let at = bad_cfg.display();
    assert!(
        err.contains(&format!(
            "mmsoak: warning: {at} [ticks] maker_fee_bps = 500 is not used: --resume continues the run as it \
             started, with maker_fee_bps -0.2 (its latest/RUN.json); it is not valid either: maker fee 500 bps: \
             must be between -100 and 100 bps\n"
        )),
        "{err}"
    );
    assert!(err.contains(&format!("{at} [ticks] queue_model = \"lifo\" is not used")), "{err}");
    // Gone back one iteration: there is one to run, and a value that differs from
    // the record is refused, naming both, without reading the data.
    let latest = out.join("latest");
    std::fs::copy(latest.join("TUNING_STATE.prev.json"), latest.join("TUNING_STATE.json")).unwrap();
    std::fs::remove_file(latest.join("ITER_SUMMARY_2.json")).unwrap();
    let tick = json(latest.join("RUN.json"))["settings"]["ticks"]["config"]["tick"].clone();
    assert_eq!(tick, 1_000_000, "a tick of 0.01 (in 1e-8 units) expected");
    for (flags, expected) in [
        (&["--tick-size", "0.5"][..], "--tick-size \"0.5\": --resume continues the run as it started, and its latest/RUN.json has --tick-size \"0.01\""),
        (&["--taker-fee-bps", "3.50"], "--taker-fee-bps 3.50: --resume continues the run as it started, and its latest/RUN.json has --taker-fee-bps 2;"),
        (&["--tick-size", "0.005"], "--tick-size \"0.005\": --resume continues"),
        (&["--queue-model", "fifo"], "--queue-model \"fifo\": --resume continues the run as it started, and its latest/RUN.json has --queue-model \"prob:3\""),
        (&["--latency", "data"], "--latency \"data\": --resume continues"),
        (&["--data-format", "lobster"], "--data-format \"lobster\": --resume continues"),
    ] {
        let line = error(flags);
        assert!(line.contains(expected), "{flags:?}: {line}");
    }
    // Several flags that differ: all listed in one error, each value as given.
    let (code, err) = resume(&["--tick-size", "0.5", "--maker-fee-bps", "-0.3", "--latency", "data"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        err,
        "mmsoak: error: 3 flags differ from the run's: --resume continues the run as it started, with its \
         latest/RUN.json; drop them, or start a new run (without --resume) to change them:\n  \
         --latency \"data\" (RUN.json has \"constant:25:25\")\n  \
         --maker-fee-bps -0.3 (RUN.json has -0.2)\n  \
         --tick-size \"0.5\" (RUN.json has \"0.01\")\n"
    );
    // A queue model the data cannot have is a flag that differs like the others,
    // not an error that hides them; from mmsoak.toml it does not refuse the resume.
    let (code, err) = resume(&["--tick-size", "0.5", "--queue-model", "fifo"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("mmsoak: error: 2 flags differ from the run's:"), "{err}");
    assert!(err.contains("\n  --queue-model \"fifo\" (RUN.json has \"prob:3\")\n"), "{err}");
    let fifo = dir.path().join("fifo.toml");
    std::fs::write(&fifo, "[ticks]\nqueue_model = \"fifo\"\n").unwrap();
    // (Its warning comes once the data is read; here the missing data stops the resume.)
    let line = error(&["--config", s(&fifo)]);
    assert!(line.contains("cannot read") && line.contains("binance-futures_quotes"), "{line}");
    // A bad mmsoak.toml [ticks] value and a bad flag: both listed. The file's
    // value alone does not refuse the resume (it would not be used): it is
    // warned about, and the missing data is what stops the resume.
    let cfg = dir.path().join("m.toml");
    std::fs::write(&cfg, "[ticks]\nmaker_fee_bps = 500\n").unwrap();
    let (code, err) = resume(&["--config", s(&cfg), "--latency", "fast", "--taker-fee-bps", "abc"]);
    assert_eq!(code, Some(2), "{err}");
    let at = cfg.display();
    assert_eq!(
        err,
        format!(
            "mmsoak: error: 3 tick settings are not valid:\n  \
             --latency: latency \"fast\": choose constant:ENTRY_MS:RESPONSE_MS, constant:MS, data or data:ENTRY_MS\n  \
             --taker-fee-bps: taker fee \"abc\": not a number (bps between -100 and 100)\n  \
             {at} [ticks] maker_fee_bps: maker fee 500 bps: must be between -100 and 100 bps\n"
        )
    );
    let line = error(&["--config", s(&cfg)]);
    assert!(line.contains("cannot read") && line.contains("binance-futures_quotes"), "{line}");
    // The recorded values, spelled as at the start: the flags pass, and the
    // missing data is what stops the resume.
    let line = error(&["--tick-size", "0.010", "--queue-model", "auto", "--data-format", "tardis"]);
    assert!(line.contains("cannot read") && line.contains("binance-futures_quotes"), "{line}");
}

/// The one `--resume` flag check that needs the data: `--queue-model auto` on
/// LOBSTER data of a run recorded with `prob:3` (`auto` is `fifo` on data with
/// order ids). A run that had finished says there is nothing to resume; one with
/// iterations left reads the data to decide, and refuses.
#[test]
fn queue_model_auto_on_lobster_is_decided_by_the_data_only_when_there_is_something_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let msg = shared_data(LOBSTER_MSG);
    run_ok(
        &["run", "--out", s(&out), "--source", "ticks", "--iterations", "2", "--iteration-seconds", "60"]
            .into_iter()
            .chain(["--engine", "native", "--queue-model", "prob:3", "--data", s(&msg)])
            .collect::<Vec<_>>(),
    );
    let resume = |model: &str| {
        let o = mmsoak()
            .args(["run", "--resume", "--engine", "native", "--out", s(&out), "--queue-model", model])
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stderr).to_string())
    };
    let (code, err) = resume("auto");
    assert!(code == Some(0) && err.contains("nothing to resume"), "{err}");
    let latest = out.join("latest");
    std::fs::copy(latest.join("TUNING_STATE.prev.json"), latest.join("TUNING_STATE.json")).unwrap();
    std::fs::remove_file(latest.join("ITER_SUMMARY_2.json")).unwrap();
    let (code, err) = resume("auto");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--queue-model \"auto\": --resume continues the run as it started, and its latest/RUN.json has --queue-model \"prob:3\""), "{err}");
    let (code, err) = resume("prob:3.0");
    assert_eq!(code, Some(0), "{err}");
    assert!(latest.join("ITER_SUMMARY_2.json").exists());
}
