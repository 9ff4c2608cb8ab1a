//! `--source replay` with the bar files traders have: every layout reads to the
//! same bars and the same artifacts; time is time (intervals, gaps, zero volume,
//! no silent wrap); bad files are one line naming file, line and column.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;

const BARS: &str = "btcusd_bitstamp_1min_a.csv";

/// The shared 1-minute bars: (timestamp, open, high, low, close, volume) as written.
fn rows() -> Vec<[String; 6]> {
    let text = std::fs::read_to_string(shared_data(BARS)).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            std::array::from_fn(|k| f[k].to_string())
        })
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn run(out: &Path, data: &Path, extra: &[&str]) -> Output2 {
    let o = mmsoak()
        .args(["run", "--source", "replay", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    Output2 { code: o.status.code(), stderr: String::from_utf8_lossy(&o.stderr).into_owned() }
}

struct Output2 {
    code: Option<i32>,
    stderr: String,
}

/// ITER_SUMMARY files and the final state: what must not depend on the file's layout.
fn iterations(out: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    tree(&out.join("latest"))
        .into_iter()
        .filter(|(p, _)| {
            let n = p.to_string_lossy();
            n.starts_with("ITER_SUMMARY_") || n == "TUNING_STATE.json"
        })
        .collect()
}

fn edge(out: &Path, i: u32) -> serde_json::Value {
    json(out.join(format!("latest/ITER_SUMMARY_{i}.json")))["edge"].clone()
}

#[test]
fn every_layout_replays_to_the_canonical_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let rows = rows();
    let args = ["--iterations", "6", "--auto-tune", "--seed", "3"];
    let canonical = dir.path().join("canonical");
    let r = run(&canonical, &shared_data(BARS), &args);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let want = iterations(&canonical);
    assert_eq!(want.len(), 7);

    let kline = |scale: i64| -> String {
        rows.iter()
            .map(|r| {
                let t: i64 = r[0].parse().unwrap();
                format!(
                    "{},{},{},{},{},{},{},0,0,0,0,0\n",
                    t * scale,
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    (t + 60) * scale - 1
                )
            })
            .collect()
    };
    // Binance ships one CSV per zip; µs since its 2025 spot files.
    let zip_path = dir.path().join("BTCUSDT-1m-2025-01.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        z.start_file("BTCUSDT-1m-2025-01.csv", zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(kline(1_000_000).as_bytes()).unwrap();
        z.finish().unwrap();
    }
    let gz_path = dir.path().join("kaggle.csv.gz");
    {
        let mut text = String::from("Timestamp,Open,High,Low,Close,Volume\n");
        for r in &rows {
            text.push_str(&format!("{}.0,{},{},{},{},{}\n", r[0], r[1], r[2], r[3], r[4], r[5]));
        }
        let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&gz_path).unwrap(), Default::default());
        gz.write_all(text.as_bytes()).unwrap();
        gz.finish().unwrap();
    }
    let cdd = {
        // CryptoDataDownload: a URL line, unix and date columns, newest row first.
        let mut text = String::from(
            "https://www.CryptoDataDownload.com\nunix,date,symbol,open,high,low,close,Volume BTC,Volume USD\n",
        );
        for r in rows.iter().rev() {
            let t: i64 = r[0].parse().unwrap();
            text.push_str(&format!("{t},{},BTC/USD,{},{},{},{},{},0\n", iso(t), r[1], r[2], r[3], r[4], r[5]));
        }
        write(dir.path(), "Bitstamp_BTCUSD_minute.csv", &text)
    };
    let iso_file = {
        let mut text = String::from("Date,Open,High,Low,Close,Volume\n");
        for r in &rows {
            let t: i64 = r[0].parse().unwrap();
            text.push_str(&format!(
                "{},{},{},{},{},{}\n",
                iso(t).replace(' ', "T") + "Z",
                r[1],
                r[2],
                r[3],
                r[4],
                r[5]
            ));
        }
        write(dir.path(), "iso.csv", &text)
    };
    let layouts = [
        ("binance ms", write(dir.path(), "BTCUSDT-1m-2025-01-07.csv", &kline(1000))),
        ("binance us zip", zip_path),
        ("kaggle gz", gz_path),
        ("cryptodatadownload", cdd),
        ("iso-8601", iso_file),
    ];
    for (name, path) in layouts {
        let out = dir.path().join(name.replace(' ', "_"));
        let r = run(&out, &path, &args);
        assert_eq!(r.code, Some(0), "{name}: {}", r.stderr);
        assert!(iterations(&out) == want, "{name}: artifacts differ from the canonical CSV's");
        if name == "cryptodatadownload" {
            assert!(r.stderr.contains("newest-first: reversed"), "the run says it reversed the rows: {}", r.stderr);
        }
    }
}

/// Cells of a Markdown table row: pipes that are not escaped.
fn markdown_cells(line: &str) -> usize {
    line.replace("\\|", "").matches('|').count()
}

/// `YYYY-MM-DD HH:MM:SS` of a Unix second (UTC), independently of the reader's parser.
fn iso(t: i64) -> String {
    let out = std::process::Command::new("date").args(["-u", "-d", &format!("@{t}"), "+%Y-%m-%d %H:%M:%S"]).output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8(o.stdout).unwrap().trim().to_string(),
        _ => panic!("`date -u` is needed to write ISO dates"),
    }
}

#[test]
fn time_is_time_coarse_bars_gaps_and_zero_volume() {
    let dir = tempfile::tempdir().unwrap();
    let rows = rows();
    // The first 8 hours as 1-minute bars and as 5-minute bars (the same market).
    let one: Vec<&[String; 6]> = rows.iter().take(480).collect();
    let header = "timestamp,open,high,low,close,volume\n";
    let mut one_text = String::from(header);
    for r in &one {
        one_text.push_str(&r.join(","));
        one_text.push('\n');
    }
    let mut five_text = String::from(header);
    for chunk in one.chunks(5) {
        let f = |k: usize| chunk.iter().map(move |r| r[k].parse::<f64>().unwrap());
        let high = f(2).fold(f64::MIN, f64::max);
        let low = f(3).fold(f64::MAX, f64::min);
        let vol: f64 = f(5).sum();
        five_text.push_str(&format!(
            "{},{},{high},{low},{},{vol}\n",
            chunk[0][0],
            chunk[0][1],
            chunk[chunk.len() - 1][4]
        ));
    }
    let (a, b) = (dir.path().join("one"), dir.path().join("five"));
    let args = ["--iterations", "32"];
    assert_eq!(run(&a, &write(dir.path(), "one.csv", &one_text), &args).code, Some(0));
    let r = run(&b, &write(dir.path(), "five.csv", &five_text), &args);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("bars of 5 min"), "{}", r.stderr);
    for i in 1..=32 {
        let (x, y) = (edge(&a, i)["bar_window"].clone(), edge(&b, i)["bar_window"].clone());
        assert_eq!((&x["start"], &x["end"]), (&y["start"], &y["end"]), "iteration {i} covers other market time");
        assert_eq!(y["bar_seconds"], 300);
        assert_eq!(y["gap_seconds"], 0);
        let (vx, vy) = (x["volume"].as_f64().unwrap(), y["volume"].as_f64().unwrap());
        assert!((vx - vy).abs() < 1e-4 * vx.max(1.0), "iteration {i}: volume {vx} vs {vy}");
    }
    // 33 iterations of 15 minutes need 8 h 15 min: more than the data holds.
    let r = run(&dir.path().join("long"), &dir.path().join("five.csv"), &["--iterations", "33"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("--loop-data"), "{}", r.stderr);
    let looped = dir.path().join("looped");
    let r = run(&looped, &dir.path().join("five.csv"), &["--iterations", "33", "--loop-data"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(edge(&looped, 33)["bar_window"]["pass"], 1, "the report says the data wrapped");
    assert_eq!(edge(&looped, 32)["bar_window"]["pass"], 0);

    // A 30-minute hole inside hour 2 and a zero-volume hour 4 (hourly iterations).
    let mut holed = String::from(header);
    for (k, r) in one.iter().enumerate() {
        if (70..100).contains(&k) {
            continue;
        }
        let mut r = (*r).clone();
        if (180..240).contains(&k) {
            // No trading: the price stands still, nothing trades.
            r = [r[0].clone(), r[1].clone(), r[1].clone(), r[1].clone(), r[1].clone(), "0".into()];
        }
        holed.push_str(&r.join(","));
        holed.push('\n');
    }
    let h = dir.path().join("holed");
    let r = run(&h, &write(dir.path(), "holed.csv", &holed), &["--iterations", "8", "--iteration-seconds", "3600"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("1 gaps (30 min without bars)"), "{}", r.stderr);
    for i in 1..=8 {
        let e = edge(&h, i);
        let gap = e["bar_window"]["gap_seconds"].as_u64().unwrap();
        assert_eq!(gap, if i == 2 { 1800 } else { 0 }, "iteration {i}");
        if i == 4 {
            assert_eq!(e["bar_window"]["zero_volume_bars"], 60);
            assert_eq!(e["market_trades"], 0, "a zero-volume hour has no market trades");
            assert_eq!(e["maker_fills"], 0);
        } else {
            assert!(e["market_trades"].as_u64().unwrap() > 0, "iteration {i} traded");
        }
    }
    // The hole has no trades either: iteration 2 trades less than its neighbours.
    let trades = |i| edge(&h, i)["market_trades"].as_u64().unwrap();
    assert!(trades(2) < trades(1) && trades(2) < trades(3), "{} {} {}", trades(1), trades(2), trades(3));
}

#[test]
fn bad_bar_files_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("layout.csv", "when,price\n1,2\n", "line 1: unknown layout"),
        (
            "mixed.csv",
            "timestamp,open,high,low,close,volume\n0,1,1,1,1,1\n60,1,1,1,1,1\n120,1,1,1,1,1\n150,1,1,1,1,1\n",
            "line 5, column 1: mixed intervals",
        ),
        (
            "range.csv",
            "timestamp,open,high,low,close,volume\n0,10,12,9,11,1\n60,10,9,12,11,1\n",
            "line 3, column 3: high 9 is below low 12",
        ),
        (
            "dup.csv",
            "timestamp,open,high,low,close,volume\n0,1,1,1,1,1\n60,1,1,1,1,1\n60,1,1,1,1,1\n",
            "line 4, column 1: duplicate timestamp 60",
        ),
        (
            "words.csv",
            "timestamp,open,high,low,close,volume\n0,1,1,1,1,1\n60,1,1,x,1,1\n",
            "line 3, column 4: low \"x\" is not a number",
        ),
    ];
    for (name, text, want) in cases {
        let path = write(dir.path(), name, text);
        let out = dir.path().join(format!("out-{name}"));
        let r = run(&out, &path, &["--iterations", "1", "--iteration-seconds", "60"]);
        assert_eq!(r.code, Some(2), "{name}: {}", r.stderr);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: one line: {}", r.stderr);
        assert!(lines[0].contains(&format!("{}: {want}", path.display())), "{name}: {}", lines[0]);
        assert!(!out.exists(), "{name}: nothing written");
    }
}

#[test]
fn market_stats_markdown_rows_have_the_header_s_columns() {
    let out = run_ok(&[
        "market",
        "stats",
        "--data",
        shared_data(BARS).to_str().unwrap(),
        "--regime",
        "calm,volatile",
        "--days",
        "1",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
    assert!(lines.len() >= 4, "{text}");
    for l in &lines {
        assert_eq!(markdown_cells(l), markdown_cells(lines[0]), "row {l:?} does not have the header's columns");
    }
}

#[test]
fn market_fit_reproduces_the_real_bars() {
    let dir = tempfile::tempdir().unwrap();
    let regime = dir.path().join("btc.json");
    let report = dir.path().join("fit.json");
    let md = dir.path().join("fit.md");
    let out = run_ok(&[
        "market",
        "fit",
        "--data",
        shared_data(BARS).to_str().unwrap(),
        "--out",
        regime.to_str().unwrap(),
        "--report",
        md.to_str().unwrap(),
        "--report-json",
        report.to_str().unwrap(),
    ]);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed.as_bytes(), read(&md), "the printed report is the written one");
    let r = json(&report);
    let rows = r["fit"]["rows"].as_array().unwrap();
    let row = |name: &str| rows.iter().find(|x| x["fact"] == name).unwrap_or_else(|| panic!("no row {name}: {r}"));
    let std = row("std (bps)");
    let (d, f) = (std["data"].as_f64().unwrap(), std["fitted"].as_f64().unwrap());
    assert!((f - d).abs() <= 0.10 * d, "fitted 1-minute std {f} vs data {d}");
    for fact in ["excess kurtosis", "acf(|r|) lag 1", "acf(|r|) lag 5", "acf(|r|) lag 10"] {
        assert_eq!(row(fact)["within"], true, "{fact} outside the data's bootstrap band: {}", row(fact));
    }
    // Every Markdown row has the header's columns (escaped pipes in `acf(|r|)`).
    let table: Vec<&str> = printed
        .lines()
        .filter(|l| l.starts_with("| fact") || l.starts_with("| acf") || l.starts_with("| std"))
        .collect();
    assert!(table.len() >= 4);
    assert!(table.iter().all(|l| markdown_cells(l) == markdown_cells(table[0])), "{printed}");

    // The regime file drives a soak; a broken one is refused naming the field.
    let soak = dir.path().join("soak");
    run_ok(&["run", "--regime", regime.to_str().unwrap(), "--iterations", "2", "--out", soak.to_str().unwrap()]);
    let summary = json(soak.join("latest/ITER_SUMMARY_1.json"));
    assert_eq!(summary["edge"]["regime"], "fitted");
    let run = json(soak.join("latest/RUN.json"));
    assert_eq!(run["settings"]["regime_spec"], json(&regime)["spec"]);
    let mut bad = json(&regime);
    bad["spec"]["hawkes_branching"] = serde_json::json!(1.5);
    let bad_path = write(dir.path(), "bad.json", &bad.to_string());
    let o = mmsoak()
        .args(["run", "--regime", bad_path.to_str().unwrap(), "--out", dir.path().join("x").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("spec.hawkes_branching = 1.5"), "{err}");
}

#[test]
fn out_of_sample_check_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("holdout.json");
    let out = run_ok(&[
        "market",
        "fit",
        "--data",
        shared_data(BARS).to_str().unwrap(),
        "--out",
        dir.path().join("m.json").to_str().unwrap(),
        "--holdout",
        "0.5",
        "--profile",
        "aggressive",
        "--report-json",
        report.to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("## Out of sample"), "{text}");
    // The report names the judge's method and its one-sided verdict, as --compare-baseline does.
    assert!(text.contains("| method | verdict |") && text.contains("normal approx."), "{text}");
    let h = &json(&report)["holdout"];
    let n = h["holdout_iterations"].as_u64().unwrap();
    assert!(n >= 100, "half of 57 h is over 100 windows of 15 min: {n}");
    assert_eq!(h["tuned_net_bps"].as_array().unwrap().len() as u64, n);
    let p = h["net_bps"]["test"]["p_value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    assert!(h["net_bps"]["judgement"]["outcome"].is_string(), "{}", h["net_bps"]);
}

#[test]
fn market_fit_on_ticks_meets_the_spread_and_trade_rate_medians() {
    let dir = tempfile::tempdir().unwrap();
    let lobster = shared_data("lobster/AMZN_2012-06-21_34200000_57600000_message_5.csv.gz");
    let binance =
        [shared_data("binance_usdm_raw/btcusdt_20240718.gz"), shared_data("binance_usdm_raw/btcusdt_20240719.gz")];
    let sets: [(&str, Vec<&Path>); 2] =
        [("lobster", vec![lobster.as_path()]), ("binance", binance.iter().map(|p| p.as_path()).collect())];
    for (name, files) in sets {
        let report = dir.path().join(format!("{name}.json"));
        let mut args = vec!["market".to_string(), "fit".into(), "--data".into()];
        args.extend(files.iter().map(|p| p.to_str().unwrap().to_string()));
        args.extend(["--out".into(), dir.path().join(format!("{name}-regime.json")).to_str().unwrap().into()]);
        args.extend(["--report-json".into(), report.to_str().unwrap().into()]);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run_ok(&a);
        let r = json(&report);
        for fact in ["spread p50 (bps)", "trade rate p50 (/s, 10 s windows)"] {
            let row = r["fit"]["rows"].as_array().unwrap().iter().find(|x| x["fact"] == fact).unwrap().clone();
            let (d, f) = (row["data"].as_f64().unwrap(), row["fitted"].as_f64().unwrap());
            assert!(d > 0.0 && (f - d).abs() <= 0.15 * d, "{name}: {fact}: fitted {f} vs data {d}");
        }
        // Trade sizes are fitted too (Pareto tail by Hill), not left at the built-in.
        let spec = &json(dir.path().join(format!("{name}-regime.json")))["spec"];
        let tail = spec["trade_size_tail"].as_f64().unwrap();
        assert!((1.05..=5.0).contains(&tail) && tail != 1.4, "{name}: trade_size_tail {tail}");
        assert!(spec["trade_size_scale"].as_f64().unwrap() > 0.0);
        let rows = r["fit"]["rows"].as_array().unwrap();
        assert!(rows.iter().any(|x| x["fact"] == "trade size p90 / p50"), "{name}: no trade-size row");
        assert!(!r["fit"]["defaults_kept"].as_array().unwrap().iter().any(|k| k == "trade_size_tail"));
    }
}
