//! `--export-html`: one self-contained HTML file with what the web viewer shows —
//! settings, threshold results, the KPI verdict timeline, the report's SVG charts
//! with guard markers (inline), the baseline comparison, final parameters, the
//! per-iteration table and the guard log. Inline CSS, no script, nothing fetched
//! (a Content-Security-Policy of `default-src 'none'` says so to the browser), so
//! it opens from disk or as a CI artifact. A pure function of the report, so the
//! CLI and a browser render the same bytes.

use std::fmt::Write as _;

use crate::kpi::KpiVerdict;
use crate::report::{charts, RunStop, TuningReport};

/// One threshold's outcome, as the report's threshold table shows it: the metric
/// (`net_bps`), its expression (`p(50) > 2.5`), the value observed and whether it held.
/// A run without thresholds passes an empty list ("no thresholds").
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdResult {
    pub name: String,
    pub expression: String,
    /// The aggregate the expression compared, as the run summary prints it
    /// (`3.25`, `FAIL`, `no data`).
    pub observed: String,
    pub pass: bool,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1500px;padding:0 1em;color:#1f2328}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:600;padding:.3em 0}
.timeline{display:flex;flex-wrap:wrap;gap:2px;margin:.5em 0 1.5em}
.cell{display:inline-block;width:1.6em;height:1.6em;line-height:1.6em;text-align:center;font-size:.8em;color:#fff;border-radius:3px}
.pass{background:#1a7f37}.warn{background:#9a6700}.fail{background:#d1242f}.inconclusive{background:#6e7781}
.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}svg{max-width:100%;height:auto}
.verdict{font-size:1.2em}.held{color:#1a7f37}.broken{color:#d1242f}
";

/// Text for HTML: `&`, `<`, `>` and quotes escaped.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn verdict_class(v: KpiVerdict) -> &'static str {
    match v {
        KpiVerdict::Pass => "pass",
        KpiVerdict::Warn => "warn",
        KpiVerdict::Fail => "fail",
        KpiVerdict::Inconclusive => "inconclusive",
    }
}

/// A number as a table shows it: `—` for NaN or infinity.
fn num(x: f64) -> String {
    if x.is_finite() {
        x.to_string()
    } else {
        "—".into()
    }
}

/// The whole HTML document (UTF-8, `\n` line endings, final newline). `stop`: why
/// the run ended early, said under the title ([`RunStop::html`]); `None` for a run
/// that went to its end.
pub fn render(r: &TuningReport, thresholds: &[ThresholdResult], stop: Option<&RunStop>) -> String {
    let s = &r.settings;
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ =
        writeln!(o, "<title>mmsoak soak report: {} · {} · seed {}</title>", esc(&s.profile), esc(&s.regime), s.seed);
    let _ = writeln!(o, "<style>\n{STYLE}</style>\n</head>\n<body>\n<h1>mmsoak soak report</h1>");
    if let Some(stop) = stop {
        o.push_str(&stop.html(esc));
    }

    let data = s.data_file.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
    let engine = format!(
        "{} · core sha256 {} · ABI v{}{}",
        r.engine.kind,
        r.engine.core_sha256,
        r.engine.abi_version,
        r.engine.runtime.as_deref().map(|x| format!(" · {x}")).unwrap_or_default()
    );
    o.push_str("<table class=\"settings\">\n<caption>Settings</caption>\n");
    for (k, v) in [
        ("profile", s.profile.clone()),
        ("regime", s.regime.clone()),
        ("source", format!("{}{data}", s.source)),
        ("seed", s.seed.to_string()),
        ("iterations", format!("{} of {}", r.iterations_completed, s.iterations)),
        ("auto-tune", if s.auto_tune { "on".into() } else { "off".into() }),
        ("market time per iteration", format!("{} s", s.iteration_seconds)),
        ("engine", engine),
    ] {
        let _ = writeln!(o, "<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    }
    o.push_str("</table>\n");

    let _ = writeln!(
        o,
        "<p class=\"verdict\"><strong>Final verdict: {}</strong>{}; {}.</p>",
        r.final_verdict.map_or("—", |v| v.name()),
        esc(&crate::report::verdict_counts_text(&r.verdict_counts)),
        crate::report::tuning_steps(r.applied_count)
    );

    threshold_table(&mut o, thresholds);

    o.push_str("<h2>KPI verdict per iteration</h2>\n<div class=\"timeline\" role=\"list\">\n");
    for row in &r.rows {
        let v = row.kpi_verdict;
        let _ = writeln!(
            o,
            "<span role=\"listitem\" class=\"cell {}\" title=\"iteration {}: {}\">{}</span>",
            verdict_class(v),
            row.iteration,
            v.name(),
            v.name().chars().next().unwrap_or('?')
        );
    }
    o.push_str("</div>\n");

    if let Some(c) = &r.baseline_comparison {
        o.push_str("<h2>Tuned vs untuned baseline (same seed and market)</h2>\n<table class=\"baseline\">\n");
        o.push_str("<tr><th>metric</th><th>tuned mean</th><th>baseline mean</th><th>uplift</th><th>tuned median</th><th>baseline median</th><th>Mann-Whitney U</th><th>p-value</th></tr>\n");
        for (name, u) in [("net_bps (higher is better)", &c.net_bps), ("risk_ratio (lower is better)", &c.risk_ratio)] {
            let _ = writeln!(
                o,
                "<tr><td>{name}</td><td class=\"num\">{:.3}</td><td class=\"num\">{:.3}</td><td class=\"num\">{:+.3}</td><td class=\"num\">{:.3}</td><td class=\"num\">{:.3}</td><td class=\"num\">{}</td><td class=\"num\">{:.4}</td></tr>",
                u.tuned_mean, u.baseline_mean, u.uplift, u.tuned_median, u.baseline_median, u.test.u, u.test.p_value
            );
        }
        let counts: Vec<String> = c.baseline_verdict_counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(o, "</table>\n<p>Baseline verdicts: {}.</p>", esc(&counts.join(", ")));
    }

    o.push_str("<h2>Charts</h2>\n<p>Dashed lines mark guard events: blue freeze, amber cooldown, purple oscillation, red panic revert.</p>\n<div class=\"charts\">\n");
    for chart in charts(r) {
        let _ = write!(o, "<figure data-chart=\"{}\">\n{}</figure>\n", esc(&chart.name), chart.svg);
    }
    o.push_str("</div>\n");

    o.push_str("<h2>Parameters</h2>\n<table class=\"final-params\">\n<tr><th>parameter</th><th>baseline</th><th>final</th></tr>\n");
    for ((name, base), (_, fin)) in r.baseline.entries().into_iter().zip(r.final_overrides.entries()) {
        let _ = writeln!(
            o,
            "<tr data-param=\"{name}\"><td>{name}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            num(base),
            num(fin)
        );
    }
    o.push_str("</table>\n");

    o.push_str("<h2>Iterations</h2>\n<table class=\"iterations\">\n<tr><th>iteration</th><th>verdict</th><th>net (bps)</th><th>risk ratio</th><th>adverse p95 (bps)</th><th>slippage p95 (bps)</th><th>fills</th><th>tuning</th></tr>\n");
    for row in &r.rows {
        let tuning = crate::report::tuning_cell(row);
        let _ = writeln!(
            o,
            "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{:.3}</td><td class=\"num\">{:.2}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            row.iteration,
            row.kpi_verdict.name(),
            row.net_bps,
            row.risk_ratio,
            row.adverse_p95,
            row.slippage_p95,
            row.fills,
            esc(&tuning)
        );
    }
    o.push_str("</table>\n");

    let _ = writeln!(o, "<h2>Guard events ({})</h2>", r.guard_events.len());
    if r.guard_events.is_empty() {
        o.push_str("<p>No guard events.</p>\n");
    } else {
        o.push_str("<table class=\"guard-events\">\n<tr><th>iteration</th><th>guard</th><th>parameter</th><th>detail</th></tr>\n");
        for e in &r.guard_events {
            let _ = writeln!(
                o,
                "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e.iteration,
                esc(&e.guard),
                esc(e.param.as_deref().unwrap_or("—")),
                esc(&e.detail)
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("</body>\n</html>\n");
    o
}

/// The threshold results, ✓/✗ per row, or "no thresholds".
fn threshold_table(o: &mut String, thresholds: &[ThresholdResult]) {
    o.push_str("<h2>Thresholds</h2>\n");
    if thresholds.is_empty() {
        o.push_str("<p class=\"thresholds\">No thresholds.</p>\n");
        return;
    }
    o.push_str("<table class=\"thresholds\">\n<tr><th></th><th>metric</th><th>expression</th><th>observed</th></tr>\n");
    for t in thresholds {
        let (mark, class) = if t.pass { ("✓", "held") } else { ("✗", "broken") };
        let _ = writeln!(
            o,
            "<tr class=\"{class}\"><td class=\"{class}\">{mark}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(&t.name),
            esc(&t.expression),
            esc(&t.observed)
        );
    }
    o.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::KpiThresholds;
    use crate::market::{simulate_iteration, MarketConfig, Regime};
    use crate::params::Params;
    use crate::report::{build, EngineRecord, RunSettings};
    use crate::soak::{self, SoakConfig};

    fn report(iterations: u32) -> TuningReport {
        let config = SoakConfig {
            total_iterations: iterations,
            auto_tune: true,
            iterations_per_hour: 4,
            thresholds: KpiThresholds::default(),
            safe_params: Params::default(),
            guards: Default::default(),
        };
        let mut state = soak::init(config, Params::default());
        let market = MarketConfig::synthetic(Regime::Volatile);
        let mut summaries = Vec::new();
        for i in 1..=iterations {
            let edge = simulate_iteration(&state.overrides, &market, 3, i);
            let (next, summary) = soak::step(state, &edge);
            state = next;
            summaries.push(summary);
        }
        let settings = RunSettings {
            profile: "aggressive<&>".into(),
            regime: "volatile".into(),
            source: "sim".into(),
            data_file: None,
            seed: 3,
            iterations,
            auto_tune: true,
            iteration_seconds: 900,
            policy: None,
            ticks: None,
            bars: None,
            regime_spec: None,
        };
        let engine =
            EngineRecord { kind: "native".into(), core_sha256: "ab".repeat(32), abi_version: 1, runtime: None };
        build(settings, engine, &summaries, &state, &summaries)
    }

    #[test]
    fn the_report_holds_every_chart_and_row_and_fetches_nothing() {
        let r = report(6);
        let html = render(&r, &[], None);
        assert_eq!(html.matches("<svg").count(), charts(&r).len());
        assert_eq!(html.matches("class=\"cell ").count(), 6);
        assert_eq!(html.matches("<tr><td class=\"num\">").count(), 6 + r.guard_events.len());
        assert!(html.contains("<p class=\"thresholds\">No thresholds.</p>"));
        assert!(html.contains("Tuned vs untuned baseline"));
        assert!(html.contains("aggressive&lt;&amp;&gt;"), "text is escaped");
        assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
        assert!(html.ends_with("</html>\n") && !html.contains('\r'));
        assert_eq!(html, render(&r, &[], None), "deterministic");
    }

    #[test]
    fn threshold_rows_show_what_held_and_what_broke() {
        let rows = [
            ThresholdResult {
                name: "net_bps".into(),
                expression: "p(50) > 2.5".into(),
                observed: "3.25".into(),
                pass: true,
            },
            ThresholdResult {
                name: "adverse_p95".into(),
                expression: "max < 8".into(),
                observed: "no data".into(),
                pass: false,
            },
        ];
        let html = render(&report(2), &rows, None);
        assert!(html.contains("<tr class=\"held\"><td class=\"held\">✓</td><td>net_bps</td><td>p(50) &gt; 2.5</td><td class=\"num\">3.25</td></tr>"));
        assert!(html.contains("<tr class=\"broken\"><td class=\"broken\">✗</td><td>adverse_p95</td><td>max &lt; 8</td><td class=\"num\">no data</td></tr>"));
        assert!(!html.contains("No thresholds."));
    }

    #[test]
    fn a_stopped_run_says_after_which_iteration_and_why_under_the_title() {
        use crate::report::StopCause;
        let r = report(3);
        let whole = render(&r, &[], None);
        assert!(!whole.contains("STOPPED"));
        let stop = RunStop {
            after_iteration: 3,
            planned: 10,
            cause: StopCause::Threshold("kpi_verdict: fail_count < 2 (observed 2)".into()),
            baseline_skipped: false,
        };
        let html = render(&r, &[], Some(&stop));
        let said = "<h1>mmsoak soak report</h1>\n<p class=\"verdict broken\"><strong>STOPPED after iteration 3 of 10:</strong> \
                    abort_on_fail threshold <code>kpi_verdict: fail_count &lt; 2 (observed 2)</code> failed.</p>\n<table";
        assert!(html.contains(said), "{html}");
        // Only that paragraph is added.
        assert_eq!(html.replacen(&said[said.find("<p").unwrap()..said.find("<table").unwrap()], "", 1), whole);
        let stop = RunStop {
            after_iteration: 0,
            planned: 26,
            cause: StopCause::BaselineBadData("/d/q<1>.csv: line 7: \"-1\" is not a positive price".into()),
            baseline_skipped: false,
        };
        let html = render(&r, &[], Some(&stop));
        assert!(html.contains(
            "<strong>The untuned baseline run STOPPED after iteration 0 of 26:</strong> bad market data: \
             <code>/d/q&lt;1&gt;.csv: line 7: &quot;-1&quot; is not a positive price</code>; \
             this report has no baseline comparison.</p>"
        ));
    }
}
