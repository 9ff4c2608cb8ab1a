//! `--source fills`: following the log across iterations (half-written lines,
//! truncation, replacement, junk), the Python example bot in a live soak, and
//! EDGE_REPORT v2 through `--source external`.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::{json, mmsoak};
use mmsoak::external::Observation;
use mmsoak::fills_source::FillsSource;
use mmsoak_core::edge::EdgeReport;
use mmsoak_core::params::Params;
use serde_json::{json as j, Value};

fn maker(t: u64, side: &str, price: f64, qty: f64, fee: f64, mid: f64) -> String {
    format!(
        r#"{{"type":"fill","time_ms":{t},"side":"{side}","price":{price},"quantity":{qty},"fee":{fee},"liquidity":"maker","mid":{mid}}}"#
    )
}

fn mid(t: u64, m: f64) -> String {
    format!(r#"{{"type":"mid","time_ms":{t},"mid":{m}}}"#)
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// A fills source on `dir/fills.jsonl`, its notes in `dir/bot.log`, as a run sets it up.
fn source(dir: &Path) -> (std::path::PathBuf, FillsSource) {
    let log = dir.join("fills.jsonl");
    let src = FillsSource::start(&log, None, None, dir, dir, dir, Duration::from_secs(60)).unwrap();
    (log, src)
}

fn next(src: &mut FillsSource, i: u32) -> EdgeReport {
    match src.next(i, &Params::default(), &|m| eprintln!("{m}")).unwrap() {
        Observation::Report(e) => *e,
        Observation::Unusable(why) => panic!("iteration {i} unusable: {why}"),
    }
}

fn notes(e: &EdgeReport) -> mmsoak_core::fills::FillsLogNotes {
    e.source_notes.clone().unwrap().fills_log.unwrap()
}

#[test]
fn the_log_is_followed_through_half_lines_truncation_and_replacement() {
    let dir = tempfile::tempdir().unwrap();
    // What the log held before the run is not this run's trading.
    append(&dir.path().join("fills.jsonl"), &format!("{}\n", maker(1, "buy", 50.0, 1.0, 0.0, 51.0)));
    let (log, mut src) = source(dir.path());

    // Iteration 1: one whole fill (10,000 USDT sold 2 bps above the mid, 1.5 bps
    // rebate) and the first half of the next line, not yet ended.
    let sell = maker(1_000, "sell", 100.02, 10_000.0 / 100.02, -1.5, 100.0);
    let second = maker(2_000, "buy", 99.98, 10_000.0 / 99.98, -1.5, 100.0);
    let (head, tail) = second.split_at(40);
    append(&log, &format!("{}\n{}\n{}\n{head}", mid(0, 100.0), sell, mid(6_000, 100.0)));
    let e = next(&mut src, 1);
    assert_eq!((e.maker_fills, e.net_bps, notes(&e).bad_lines), (1, 3.5, 0));

    // Iteration 2: the half line completes; it counts now, whole and once.
    append(&log, &format!("{tail}\n{}\n", mid(7_000, 100.0)));
    let e = next(&mut src, 2);
    assert_eq!((e.maker_fills, e.net_bps, notes(&e).bad_lines, notes(&e).lines), (1, 3.5, 0, 2));
    // Inventory runs on: sold 10,000 USDT at 100.02, bought 10,000 USDT at 99.98.
    assert!((e.inventory.final_units - (10_000.0 / 99.98 - 10_000.0 / 100.02)).abs() < 1e-6, "{:?}", e.inventory);

    // Iteration 3: junk between good lines: counted, named, not fatal.
    append(
        &log,
        &format!(
            "{}\nnot json\n{}\n",
            maker(8_000, "buy", 99.98, 1.0, 0.0, 100.0),
            r#"{"type":"fill","time_ms":9000,"side":"buy","price":"cheap","quantity":1,"fee":0,"liquidity":"maker","mid":100}"#
        ),
    );
    let e = next(&mut src, 3);
    let n = notes(&e);
    assert_eq!((e.maker_fills, n.bad_lines), (1, 2));
    assert!(n.errors[0].contains("fills.jsonl line 8:"), "{:?}", n.errors);
    assert!(n.errors[1].contains("fills.jsonl line 9: price: invalid type: string \"cheap\""), "{:?}", n.errors);

    // Iteration 4: the bot truncates the log and starts again, shorter than what was read.
    std::fs::write(&log, format!("{}\n", maker(10_000, "sell", 100.03, 1.0, 0.0, 100.0))).unwrap();
    let e = next(&mut src, 4);
    let n = notes(&e);
    assert!(n.restarted.as_deref().unwrap_or("").contains("truncated"), "{n:?}");
    assert_eq!((e.maker_fills, e.spread_capture_bps), (1, 3.0));

    // Iteration 5: the bot replaces the log with a new, longer file (rotation).
    let fresh = dir.path().join("fills.new");
    let lines: Vec<String> = (0..5).map(|k| maker(20_000 + k, "buy", 99.99, 1.0, 0.0, 100.0)).collect();
    std::fs::write(&fresh, lines.join("\n") + "\n").unwrap();
    std::fs::rename(&fresh, &log).unwrap();
    let e = next(&mut src, 5);
    let n = notes(&e);
    assert!(n.restarted.is_some(), "{n:?}");
    assert_eq!((e.maker_fills, e.spread_capture_bps, n.lines), (5, 1.0, 5));

    // Iteration 6: nothing new: no fills, nothing restarted.
    let e = next(&mut src, 6);
    assert_eq!((e.maker_fills, notes(&e).restarted), (0, None));
}

#[test]
fn unknown_fields_in_fill_lines_are_warned_about_once() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut src) = source(dir.path());
    let line = r#"{"type":"mid","time_ms":1,"mid":100,"venue":"x"}"#;
    append(&log, &format!("{line}\n{line}\n"));
    let e = next(&mut src, 1);
    assert_eq!(e.source_notes.unwrap().unknown_fields, ["venue (first on line 1)"]);
    append(&log, &format!("{line}\n"));
    let e = next(&mut src, 2);
    assert_eq!(e.source_notes.unwrap().unknown_fields, ["venue (first on line 3)"]);
    let warned = std::fs::read_to_string(dir.path().join("bot.log")).unwrap();
    assert_eq!(warned.matches("venue").count(), 1, "{warned}");
}

/// `--markout-ms`: adverse selection measured at another horizon, from the same log.
#[test]
fn the_markout_horizon_can_be_set() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut five) = source(dir.path());
    let mut one = source(dir.path()).1.with_markout(1_000);
    // Bought at the mid; the mid falls 1 % within a second and 2 % within five.
    let lines = [mid(0, 100.0), maker(1_000, "buy", 100.0, 1.0, 0.0, 100.0), mid(2_000, 99.0), mid(6_000, 98.0)];
    append(&log, &(lines.join("\n") + "\n"));
    let (a5, a1) = (next(&mut five, 1).adverse.p95, next(&mut one, 1).adverse.p95);
    assert_eq!((a5.abs(), a1.abs()), (200.0, 100.0), "5 s horizon {a5} bps, 1 s horizon {a1} bps");
}

#[test]
fn fills_flags_are_checked() {
    for (args, expected) in [
        (vec!["run", "--source", "fills"], "--source fills needs --fills FILE"),
        (vec!["run", "--fills", "x.jsonl"], "--fills is only used with --source fills"),
        (vec!["run", "--source", "fills", "--fills", "x.jsonl", "--report", "r.json"], "--report is only used"),
        (vec!["run", "--exec", "true"], "--exec is only used with --source external or fills"),
        (vec!["run", "--markout-ms", "1000"], "--markout-ms is only used with --source fills"),
        (
            vec!["run", "--source", "fills", "--fills", "x.jsonl", "--markout-ms", "0"],
            "--markout-ms: invalid value \"0\": must be a whole number from 1 to 3600000",
        ),
        // Checked before the run starts: nothing is written (see below).
        (vec!["run", "--source", "fills", "--fills", "."], "--fills .: is a directory, not a file"),
        (vec!["run", "--source", "fills", "--fills", "no/such/dir/f.jsonl"], "directory no/such/dir does not exist"),
        (vec!["bot", "--fills", "."], "--fills .: is a directory, not a file"),
        (
            vec!["bot", "--fills", "no/such/dir/f.jsonl"],
            "--fills no/such/dir/f.jsonl: directory no/such/dir does not exist",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let o = mmsoak().current_dir(dir.path()).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one error line, got {stderr}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(left.is_empty(), "{args:?} left {left:?} behind");
    }
}

#[test]
fn the_python_bot_soaks_live_and_each_change_shows_in_its_next_fills() {
    let python = std::process::Command::new("python3").arg("--version").output();
    assert!(python.is_ok_and(|o| o.status.success()), "python3 is needed for the example bot");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let fills = dir.path().join("fills.jsonl");
    let bot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python-bot/bot.py");
    let exec = format!("python3 \"{}\" --speed 20 --vol-bps 4 --seed 3", bot.display());
    let o = mmsoak()
        .env("SOAK_SLEEP_SECONDS", "1.5")
        .args(["run", "--source", "fills", "--fills", fills.to_str().unwrap(), "--exec", &exec])
        .args(["--iterations", "6", "--auto-tune", "--profile", "aggressive", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let lines: Vec<Value> = std::fs::read_to_string(&fills)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summaries: Vec<Value> = (1..=6).map(|i| json(out.join(format!("latest/ITER_SUMMARY_{i}.json")))).collect();
    let (mut applied, mut carried) = (0, 0);
    for (k, s) in summaries.iter().enumerate() {
        let n = &s["edge"]["source_notes"]["fills_log"];
        assert_eq!(n["bad_lines"], 0, "iteration {}: {n}", k + 1);
        assert!(n["mids"].as_u64().unwrap() > 0, "iteration {}: no mid samples read: {n}", k + 1);
        if s["tuning"]["applied"] != true || k + 1 == 6 {
            continue;
        }
        applied += 1;
        // The change is in force for the next iteration...
        let next = &summaries[k + 1];
        assert_ne!(next["overrides"], s["overrides"], "iteration {}", k + 1);
        // ...and the bot's fills carry it (it writes the parameters it traded
        // with), and those fills are the ones the next iteration's KPIs count.
        if lines.iter().any(|l| l["type"] == "fill" && l["params"] == next["overrides"]) {
            carried += 1;
        }
        let n = &next["edge"]["source_notes"]["fills_log"];
        let counted = n["fills"].as_u64().unwrap() - n["stale_fills"].as_u64().unwrap();
        assert!(counted > 0, "iteration {}: no fills with the new parameters counted: {n}", k + 2);
    }
    assert!(applied > 0, "the tuner applied nothing against an aggressive bot:\n{stderr}");
    assert_eq!(carried, applied, "every applied change shows up in the bot's next fills:\n{stderr}");
    let log = std::fs::read_to_string(out.join("latest/bot.log")).unwrap();
    // Every change before the last iteration was applied by the bot while it
    // traded; the last one is written as the run ends, and the bot may be stopped
    // before it polls it.
    let all = summaries.iter().filter(|s| s["tuning"]["applied"] == true).count();
    let seen = log.matches("applied overrides").count();
    assert!((applied..=all).contains(&seen), "{seen} changes in the bot log, {applied}..={all} expected:\n{log}");
    assert_eq!(json(out.join("latest/TUNING_REPORT.json"))["settings"]["source"], "fills");
}

/// One volatile iteration of the reference bot, at once, reporting to `report`.
fn bot_once(dir: &Path, report: &Path, extra: &[&str]) {
    let none = dir.join("none.json");
    let mut args = vec!["bot", "--iterations", "1", "--speed", "100000", "--regime", "volatile"];
    args.extend(["--overrides", none.to_str().unwrap(), "--report", report.to_str().unwrap()]);
    args.extend(extra);
    common::run_ok(&args);
}

/// A report the reference bot made (v1), far in the future so that it is fresh.
fn v1_report(dir: &Path) -> Value {
    let report = dir.join("v1.json");
    bot_once(dir, &report, &[]);
    let mut v = json(&report);
    v["generated_at_ms"] = j!(u64::MAX / 2);
    v
}

fn run_external(dir: &Path, name: &str, report: &Value) -> std::path::PathBuf {
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("EDGE_REPORT.json"), serde_json::to_vec(report).unwrap()).unwrap();
    let o = mmsoak()
        .env("SOAK_SLEEP_SECONDS", "0")
        .args(["run", "--source", "external", "--report-timeout", "0.3", "--iterations", "2", "--auto-tune"])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
    out
}

#[test]
fn a_minimal_v2_report_is_taken_as_the_full_v1_one_and_unknown_fields_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let full = v1_report(dir.path());
    let e = &full["edge"];
    let short = j!({
        "schema_version": 2, "sequence": full["sequence"], "generated_at_ms": full["generated_at_ms"],
        "params": full["params"],
        "edge": {"net_bps": e["net_bps"], "blocks": e["blocks"], "adverse": {"p95": e["adverse"]["p95"]},
                 "slippage": {"p95": e["slippage"]["p95"]}, "maker_fills": e["maker_fills"],
                 "taker_fills": e["taker_fills"], "pnl_usd": 12.5},
        "strategy": "demo"
    });
    let a = run_external(dir.path(), "v1", &full);
    let b = run_external(dir.path(), "v2", &short);
    let sa = json(a.join("latest/ITER_SUMMARY_1.json"));
    let sb = json(b.join("latest/ITER_SUMMARY_1.json"));
    assert_ne!(sa["summary"]["kpi_verdict"], "INCONCLUSIVE");
    assert_eq!(sa["summary"], sb["summary"]);
    assert_eq!(sa["tuning"], sb["tuning"]);
    assert_eq!(json(a.join("runtime_overrides.json")), json(b.join("runtime_overrides.json")));
    assert_eq!(sb["edge"]["source_notes"]["unknown_fields"], j!(["edge.pnl_usd", "strategy"]));
    let log = std::fs::read_to_string(b.join("latest/bot.log")).unwrap();
    assert!(log.contains("edge.pnl_usd, strategy") && log.contains("EDGE_REPORT v2"), "{log}");
}

/// `mmsoak bot --fills`: the reference bot's fills log, turned into KPIs by the
/// fills source, agrees with the report the simulator itself makes of the same
/// iterations: the same fills and blocks, the same edge to within rounding.
#[test]
fn the_reference_bots_fills_log_gives_its_own_report() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut src) = source(dir.path());
    let report = dir.path().join("EDGE_REPORT.json");
    // Two bots one after the other append to the same log: each one's iteration is read on its own.
    for (k, seed) in [(1u32, "6"), (2, "7")] {
        bot_once(dir.path(), &report, &["--profile", "aggressive", "--seed", seed, "--fills", log.to_str().unwrap()]);
        let own = json(&report);
        // The parameters in force are the ones the bot traded with: none of its fills is stale.
        let in_force: Params = serde_json::from_value(own["params"].clone()).unwrap();
        let own = &own["edge"];
        let e = match src.next(k, &in_force, &|m| eprintln!("{m}")).unwrap() {
            Observation::Report(e) => *e,
            Observation::Unusable(why) => panic!("iteration {k} unusable: {why}"),
        };
        let n = notes(&e);
        assert_eq!(n.bad_lines, 0, "{n:?}");
        assert_eq!(e.maker_fills, own["maker_fills"].as_u64().unwrap(), "iteration {k}");
        assert_eq!(e.taker_fills, own["taker_fills"].as_u64().unwrap(), "iteration {k}");
        assert!(e.maker_fills > 20, "the comparison needs fills: {}", e.maker_fills);
        assert_eq!(serde_json::to_value(e.blocks).unwrap(), own["blocks"], "iteration {k}");
        assert_eq!(e.risk_ratio, own["risk_ratio"].as_f64().unwrap());
        for (name, got) in [
            ("net_bps", e.net_bps),
            ("spread_capture_bps", e.spread_capture_bps),
            ("adverse_cost_bps", e.adverse_cost_bps),
            ("rebates_bps", e.rebates_bps),
        ] {
            let want = own[name].as_f64().unwrap();
            assert!((got - want).abs() < 1e-3, "iteration {k}: {name} {got} from the log, {want} in the report");
        }
        let p95 = own["adverse"]["p95"].as_f64().unwrap();
        assert!((e.adverse.p95 - p95).abs() < 1e-3, "adverse p95 {} vs {p95}", e.adverse.p95);
    }
}

/// `mmsoak run --source fills --exec "mmsoak bot"`: the bot gets MMSOAK_FILLS from
/// the runner and the soak tunes on its log.
#[test]
fn a_soak_on_the_reference_bots_fills_log() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("soak");
    let bot =
        format!("\"{}\" bot --speed 900 --regime volatile --profile aggressive --seed 4", env!("CARGO_BIN_EXE_mmsoak"));
    let o = mmsoak()
        .env("SOAK_SLEEP_SECONDS", "1")
        .args(["run", "--source", "fills", "--fills", dir.path().join("fills.jsonl").to_str().unwrap()])
        .args(["--exec", &bot, "--iterations", "4", "--auto-tune", "--profile", "aggressive"])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let fills: u64 = (1..=4)
        .map(|i| json(out.join(format!("latest/ITER_SUMMARY_{i}.json")))["summary"]["fills"].as_u64().unwrap())
        .sum();
    assert!(fills > 0, "no fills read from the bot's log:\n{stderr}");
}
