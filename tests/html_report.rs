//! `mmsoak run --export-html FILE`: one self-contained HTML report (every chart
//! inline, nothing fetched), and a path that cannot be written refused before the run.

mod common;

use common::{mmsoak, read, run_ok};

/// Every value of `attr="…"` (or `attr='…'`, or bare) in `html`, lower-cased.
fn attr_values(html: &str, attr: &str) -> Vec<String> {
    let lower = html.to_lowercase();
    let needle = format!("{attr}=");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = lower[from..].find(&needle) {
        let start = from + k + needle.len();
        let rest = lower[start..].trim_start_matches(['"', '\'']);
        out.push(rest.chars().take_while(|c| !matches!(c, '"' | '\'' | ' ' | '>')).collect());
        from = start;
    }
    out
}

#[test]
fn the_html_report_holds_every_chart_and_table_and_fetches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("soak");
    let html_path = dir.path().join("report.html");
    let md = dir.path().join("report.md");
    let summary = dir.path().join("summary.json");
    run_ok(&[
        "run",
        "--out",
        out.to_str().unwrap(),
        "--iterations",
        "8",
        "--profile",
        "aggressive",
        "--regime",
        "volatile",
        "--auto-tune",
        "--compare-baseline",
        "--export-md",
        md.to_str().unwrap(),
        "--export-html",
        html_path.to_str().unwrap(),
        "--summary-export",
        summary.to_str().unwrap(),
    ]);
    // The run summary lists the HTML report among the artifacts written.
    let artifacts = &common::json(&summary)["artifacts"];
    assert_eq!(artifacts["html"].as_str(), html_path.to_str(), "{artifacts}");
    assert_eq!(artifacts["markdown"].as_str(), md.to_str(), "{artifacts}");
    let html = String::from_utf8(read(&html_path)).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>\n") && html.ends_with("</html>\n"));
    // The same charts the Markdown report links to, inline.
    let charts = std::fs::read_dir(dir.path().join("report_charts")).unwrap().count();
    assert!(charts >= 10);
    assert_eq!(html.matches("<svg").count(), charts);
    assert_eq!(html.matches("class=\"cell ").count(), 8, "one timeline cell per iteration");
    assert!(html.contains("Tuned vs untuned baseline"));
    assert!(html.contains("<p class=\"thresholds\">No thresholds.</p>"));
    let report = common::json(out.join("latest/TUNING_REPORT.json"));
    let final_line = format!("<strong>Final verdict: {}</strong>", report["final_verdict"].as_str().unwrap());
    assert!(html.contains(&final_line));
    // Self-contained: no script at all, no remote src/href, no CSS import or remote url().
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "a script in the report");
    for attr in ["src", "href", "xlink:href"] {
        for v in attr_values(&html, attr) {
            assert!(!v.starts_with("http:") && !v.starts_with("https:") && !v.starts_with("//"), "{attr}={v}");
        }
    }
    assert!(!lower.contains("@import") && !lower.contains("url("), "CSS that may fetch");
    assert!(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""));
    // Same run, same file.
    let again = dir.path().join("again.html");
    let out2 = dir.path().join("soak2");
    run_ok(&[
        "run",
        "--out",
        out2.to_str().unwrap(),
        "--iterations",
        "8",
        "--profile",
        "aggressive",
        "--regime",
        "volatile",
        "--auto-tune",
        "--compare-baseline",
        "--export-html",
        again.to_str().unwrap(),
        "--engine",
        "native",
    ]);
    let again = String::from_utf8(read(&again)).unwrap();
    let strip = |s: &str| s.lines().filter(|l| !l.contains("core sha256")).collect::<Vec<_>>().join("\n");
    assert_eq!(strip(&again), strip(&html), "native and wasm runs differ beyond the engine line");
}

#[test]
fn an_unwritable_html_path_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/report.html");
    for (path, why) in [(missing.to_str().unwrap(), "does not exist"), (dir.path().to_str().unwrap(), "is a directory")]
    {
        let out = dir.path().join("soak");
        let o = mmsoak()
            .args(["run", "--out", out.to_str().unwrap(), "--iterations", "2", "--export-html", path])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "stderr:\n{stderr}");
        assert!(stderr.contains("--export-html") && stderr.contains(path) && stderr.contains(why), "{stderr}");
        assert!(!out.exists(), "the run started");
    }
}
