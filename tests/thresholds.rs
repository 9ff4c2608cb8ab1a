//! Thresholds (`--threshold`, `[thresholds]`), abort_on_fail with its delay, the
//! end-of-run summary and `--summary-export`, on recorded KPIs (`--source kpis`).

mod common;

use std::path::Path;
use std::process::Output;

use common::{json, mmsoak};

/// Ten iterations: FAIL at 2 and 4 (net below 2 bps), PASS otherwise.
/// net_bps sorted: 0.5, 0.5, 3 ×8 → p(50) 3, avg 2.5, min 0.5, max 3.
const NET: [f64; 10] = [3.0, 0.5, 3.0, 0.5, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0];

fn kpis(dir: &Path) -> String {
    let lines: Vec<String> = NET
        .iter()
        .enumerate()
        .map(|(i, net)| {
            let adverse = if i == 9 { 2.5 } else { 1.0 };
            format!(r#"{{"net_bps": {net}, "risk_ratio": 0.1, "adverse_p95": {adverse}, "slippage_p95": 0.5}}"#)
        })
        .collect();
    let path = dir.join("kpis.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    path.display().to_string()
}

fn run(dir: &Path, out: &str, extra: &[&str]) -> Output {
    let data = kpis(dir);
    let out = dir.join(out);
    let mut args = vec!["run", "--source", "kpis", "--data", &data, "--iterations", "10"];
    let out_s = out.display().to_string();
    args.extend_from_slice(&["--out", &out_s]);
    args.extend_from_slice(extra);
    mmsoak().args(&args).output().unwrap()
}

fn with_thresholds<'a>(list: &[&'a str]) -> Vec<&'a str> {
    list.iter().flat_map(|t| ["--threshold", t]).collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn every_threshold_kind_passes_and_the_summary_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mmsoak.toml");
    std::fs::write(
        &config,
        r#"
[thresholds]
net_bps = ["p(50) > 2.5", "avg >= 2.5"]
adverse_p95 = "max < 8"
kpi_verdict = [{ threshold = "fail_rate <= 0.5", abort_on_fail = true, delay = 2 }]
"#,
    )
    .unwrap();
    let export = dir.path().join("summary.json");
    let (cfg, exp) = (config.display().to_string(), export.display().to_string());
    let mut extra = vec!["--config", &cfg, "--summary-export", &exp];
    extra.extend(with_thresholds(&[
        "net_bps: min > 0.4",
        "net_bps: med == 3",
        "risk_ratio: p(95) <= 0.1",
        "slippage_p95: avg < 1",
        "max_drawdown_bps: max < 40",
        "fills: count == 10",
        "kpi_verdict: rate <= 0.2",
        "kpi_verdict: fail_count(5) == 0",
        "kpi_verdict: pass_count >= 8",
        "kpi_verdict: final == PASS",
    ]));
    let o = run(dir.path(), "o", &extra);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let s = json(&export);
    let results = s["thresholds"].as_array().unwrap();
    assert_eq!(results.len(), 14, "{s}");
    assert!(results.iter().all(|r| r["passed"] == true), "{s}");
    assert_eq!(s["thresholds_passed"], true);
    assert_eq!(s["iterations_completed"], 10);
    assert_eq!(s["verdict_counts"]["FAIL"], 2);
    assert_eq!(s["verdict_counts"]["PASS"], 8);
    let observed = |label: &str| {
        let r = results
            .iter()
            .find(|r| format!("{}: {}", r["metric"].as_str().unwrap(), r["threshold"].as_str().unwrap()) == label);
        r.unwrap_or_else(|| panic!("{label} missing: {s}"))["observed"].clone()
    };
    assert_eq!(observed("net_bps: p(50) > 2.5"), 3.0);
    assert_eq!(observed("net_bps: avg >= 2.5"), 2.5);
    assert_eq!(observed("kpi_verdict: fail_rate <= 0.5"), 0.2);
    assert_eq!(observed("kpi_verdict: final == PASS"), "PASS");
    // The summary on stderr: a ✓ line per threshold with the observed value, verdicts, tuning, artifacts.
    assert!(err.contains("✓ net_bps: p(50) > 2.5") && err.contains("observed 3"), "{err}");
    assert!(err.contains("verdicts: FAIL 2, PASS 8 (final PASS)"), "{err}");
    assert!(err.contains("tuning: off"), "{err}");
    assert!(err.contains(&format!("artifacts: {}", dir.path().join("o/latest").display())), "{err}");
    // RUN.json records them, so --resume gates alike.
    assert_eq!(json(dir.path().join("o/latest/RUN.json"))["gate"].as_array().unwrap().len(), 14);
}

#[test]
fn every_threshold_kind_trips_and_exits_99() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("summary.json");
    let exp = export.display().to_string();
    let tripping = [
        "net_bps: p(50) > 3",
        "net_bps: avg > 2.5",
        "net_bps: min > 0.5",
        "net_bps: med < 3",
        "adverse_p95: max < 2.5",
        "risk_ratio: p(95) < 0.1",
        "slippage_p95: avg > 0.5",
        "max_drawdown_bps: max < 0",
        "fills: count > 10",
        "kpi_verdict: fail_rate < 0.2",
        "kpi_verdict: fail_count(7) < 1",
        "kpi_verdict: final != PASS",
    ];
    let mut extra = vec!["--summary-export", &exp];
    extra.extend(with_thresholds(&tripping));
    let o = run(dir.path(), "o", &extra);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(99), "{err}");
    let s = json(&export);
    let results = s["thresholds"].as_array().unwrap();
    assert_eq!(results.len(), tripping.len());
    for r in results {
        assert_eq!(r["passed"], false, "{r}");
    }
    assert_eq!(s["thresholds_passed"], false);
    // No abort_on_fail: the run went to the end.
    assert_eq!(s["iterations_completed"], 10);
    assert!(s.get("aborted").is_none());
    assert!(err.contains("✗ kpi_verdict: fail_count(7) < 1") && err.contains("observed 1"), "{err}");
    assert!(err.contains("threshold failed (exit 99)"), "{err}");
}

#[test]
fn abort_on_fail_stops_after_its_delay_with_every_completed_iteration_saved() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("summary.json");
    let exp = export.display().to_string();
    // fail_count < 2 first fails at iteration 4 (the second FAIL); the delay holds it to 6.
    let extra = ["--threshold", "kpi_verdict: fail_count < 2, abort_on_fail, delay=6", "--summary-export", &exp];
    let o = run(dir.path(), "o", &extra);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(99), "{err}");
    let latest = dir.path().join("o/latest");
    for i in 1..=6 {
        assert!(latest.join(format!("ITER_SUMMARY_{i}.json")).exists(), "iteration {i} not saved");
    }
    assert!(!latest.join("ITER_SUMMARY_7.json").exists(), "the run went past its abort");
    assert_eq!(json(latest.join("TUNING_STATE.json"))["iteration"], 6);
    assert_eq!(json(latest.join("TUNING_REPORT.json"))["iterations_completed"], 6);
    let s = json(&export);
    assert_eq!(s["aborted"]["after_iteration"], 6, "{s}");
    assert_eq!(s["iterations_completed"], 6);
    assert!(err.contains("STOPPED after iteration 6 of 10"), "{err}");
    assert!(s.get("baseline_not_compared").is_none(), "no baseline was asked: {s}");

    // With --compare-baseline, the skipped baseline is said, in the terminal and the summary.
    let md = dir.path().join("ob.md").display().to_string();
    let o = run(dir.path(), "ob", &[extra.as_slice(), &["--compare-baseline", "--export-md", &md]].concat());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(99), "{err}");
    let why = "the run stopped after iteration 6 of 10, and --compare-baseline compares complete runs only; \
               the baseline run was skipped";
    assert!(err.contains(&format!("mmsoak: no baseline run: {why}\n")), "{err}");
    assert!(err.contains(&format!("baseline: not compared ({why})\n")), "{err}");
    assert_eq!(json(&export)["baseline_not_compared"].as_str(), Some(why));
    assert!(!dir.path().join("ob/baseline").exists(), "a baseline ran");
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(
        text.contains(
            "failed. The untuned baseline run was skipped (--compare-baseline compares complete runs only).\n"
        ),
        "{text}"
    );

    // Without a delay it stops at the second FAIL.
    let extra = ["--threshold", "kpi_verdict: fail_count < 2, abort_on_fail"];
    let o = run(dir.path(), "o2", &extra);
    assert_eq!(o.status.code(), Some(99));
    assert_eq!(json(dir.path().join("o2/latest/TUNING_STATE.json"))["iteration"], 4);

    // A passing abort_on_fail threshold never stops the run.
    let o = run(dir.path(), "o3", &["--threshold", "net_bps: max <= 3, abort_on_fail"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(dir.path().join("o3/latest/TUNING_STATE.json"))["iteration"], 10);
}

#[test]
fn a_run_a_threshold_stopped_says_so_at_the_top_of_its_markdown_and_html_reports() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let (md, html, export) = (path("r.md"), path("r.html"), path("summary.json"));
    let reports = ["--export-md", &md, "--export-html", &html, "--summary-export", &export];
    let mut extra = vec!["--threshold", "kpi_verdict: fail_count < 2, abort_on_fail, delay=6"];
    extra.extend(reports);
    let o = run(dir.path(), "o", &extra);
    assert_eq!(o.status.code(), Some(99), "{}", stderr(&o));
    let text = std::fs::read_to_string(&md).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# mmsoak soak report");
    assert_eq!(
        lines[2],
        "**STOPPED after iteration 6 of 10:** abort_on_fail threshold `kpi_verdict: fail_count < 2 (observed 2)` failed."
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains(
            "<h1>mmsoak soak report</h1>\n<p class=\"verdict broken\"><strong>STOPPED after iteration 6 of 10:</strong> \
             abort_on_fail threshold <code>kpi_verdict: fail_count &lt; 2 (observed 2)</code> failed.</p>\n"
        ),
        "{page}"
    );
    // The summary lists every report written, the HTML one too.
    let s = json(&export);
    assert_eq!(s["artifacts"]["markdown"].as_str(), Some(md.as_str()), "{s}");
    assert_eq!(s["artifacts"]["html"].as_str(), Some(html.as_str()), "{s}");
    assert!(stderr(&o).contains(&format!("; HTML report {html}")), "{}", stderr(&o));

    // A run that went to its end says nothing of a stop (its reports are as they always were).
    let mut extra = vec!["--threshold", "net_bps: max <= 3, abort_on_fail"];
    extra.extend(reports);
    let o = run(dir.path(), "o2", &extra);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.starts_with("# mmsoak soak report\n\n| setting | value |\n"), "{text}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!text.contains("STOPPED") && !page.contains("STOPPED"));
    assert!(page.contains("<h1>mmsoak soak report</h1>\n<table class=\"settings\">"));
    // Without --export-html the summary names no HTML report.
    let o = run(dir.path(), "o3", &["--summary-export", &export]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(json(&export)["artifacts"].get("html").is_none());
}

#[test]
fn unknown_metric_aggregate_or_syntax_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    for (threshold, says) in [
        ("net_edge: avg > 1", "unknown metric \"net_edge\""),
        ("net_bps: p95 > 1", "unknown aggregate \"p95\""),
        ("kpi_verdict: fail_ratio < 0.1", "unknown aggregate \"fail_ratio\""),
        ("net_bps avg > 1", "expected 'METRIC: EXPRESSION'"),
        ("net_bps: avg >> 1", "not a finite number"),
    ] {
        let o = run(dir.path(), "never", &["--threshold", threshold]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{threshold}: {err}");
        assert!(err.contains(says), "{threshold}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(!dir.path().join("never").exists(), "{threshold}: something was written");
    }
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[thresholds]\nadverse_p95 = \"maximum < 8\"\n").unwrap();
    let o = run(dir.path(), "never", &["--config", config.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.toml [thresholds]") && err.contains("\"maximum\""), "{err}");
}
