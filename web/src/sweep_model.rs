//! A merged sweep as the web app reads it: `summary.json` and `results.jsonl` from
//! `mmsoak sweep merge DIR --out MERGED` (see cli/src/sweep/merge.rs and summary.rs
//! for the writer). Only the fields shown are read; unknown fields are ignored so a
//! newer merge still opens. The runs table is generic over the columns the merge
//! kept (the sweep file's `metrics`), so it never falls behind the writer.

use mmsoak_core::chart::{scatter_chart, Point};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Summary {
    pub sweep: String,
    pub sweep_hash: String,
    pub runs: usize,
    pub tuned_runs: usize,
    pub baseline_runs: usize,
    pub rescue: Rate,
    pub harm: Rate,
    pub scenarios: Vec<Scenario>,
    pub pareto: Vec<ScenarioRef>,
    pub effects: Vec<Effect>,
}

/// `count` of `of`; `rate` absent when `of` is 0.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Rate {
    pub of: usize,
    pub count: usize,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Scenario {
    pub scenario: u32,
    pub label: String,
    /// Mean over the scenario's tuned runs of their mean net edge, bps.
    pub net_bps_mean: f64,
    /// Mean risk-block ratio, 0..1.
    pub risk_ratio_mean: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ScenarioRef {
    pub scenario: u32,
}

/// One varied axis (profile, regime, guards_off, kpi.*, or a parameter) and its
/// level means over the tuned runs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Effect {
    pub axis: String,
    pub levels: Vec<Level>,
    /// Largest minus smallest level mean of net edge, bps.
    pub net_bps_spread: f64,
    pub risk_ratio_spread: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Level {
    pub level: String,
    pub runs: usize,
    pub net_bps_mean: f64,
    pub risk_ratio_mean: f64,
    /// Share of tuned runs ending PASS or WARN, 0..1.
    pub ok_share: f64,
}

/// A merged sweep on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepView {
    pub summary: Summary,
    /// One JSON object per run, in run-index order.
    pub runs: Vec<Map<String, Value>>,
    /// Column order: identity first, then the kept metrics alphabetically.
    pub columns: Vec<String>,
}

/// Identity columns, shown first when present.
const FIRST: [&str; 8] = ["index", "scenario", "label", "profile", "regime", "seed", "auto_tune", "final_verdict"];

impl SweepView {
    /// From the opened files (name, text). Errors name the file and, for
    /// results.jsonl, the line.
    pub fn from_files(files: &[(String, String)]) -> Result<SweepView, String> {
        let find = |name: &str| files.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str());
        let (Some(summary), Some(results)) = (find("summary.json"), find("results.jsonl")) else {
            return Err("choose summary.json and results.jsonl from the merged sweep's directory \
                        (mmsoak sweep merge DIR --out MERGED)"
                .into());
        };
        let summary: Summary = serde_json::from_str(summary).map_err(|e| format!("summary.json: {e}"))?;
        let mut runs = Vec::new();
        for (k, line) in results.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(m)) => runs.push(m),
                Ok(_) => return Err(format!("results.jsonl: line {}: not a JSON object", k + 1)),
                Err(e) => return Err(format!("results.jsonl: line {}: {e}", k + 1)),
            }
        }
        if runs.len() != summary.runs {
            return Err(format!(
                "results.jsonl holds {} runs but summary.json (sweep {:?}) counts {}: files of different merges?",
                runs.len(),
                summary.sweep,
                summary.runs
            ));
        }
        let mut rest: Vec<String> =
            runs.iter().flat_map(|r| r.keys()).filter(|k| !FIRST.contains(&k.as_str())).cloned().collect();
        rest.sort();
        rest.dedup();
        let columns = FIRST
            .iter()
            .filter(|c| runs.iter().any(|r| r.contains_key(**c)))
            .map(|c| c.to_string())
            .chain(rest)
            .collect();
        Ok(SweepView { summary, runs, columns })
    }

    /// Row indices sorted by `column` (numbers numerically, the rest as text; a
    /// missing cell last), ties in run order.
    pub fn order(&self, column: &str, ascending: bool) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.runs.len()).collect();
        idx.sort_by(|&a, &b| {
            let (x, y) = (self.runs[a].get(column), self.runs[b].get(column));
            let ord = match (x, y) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => return std::cmp::Ordering::Greater,
                (Some(_), None) => return std::cmp::Ordering::Less,
                (Some(Value::Number(x)), Some(Value::Number(y))) => {
                    x.as_f64().unwrap_or(0.0).total_cmp(&y.as_f64().unwrap_or(0.0))
                }
                (Some(x), Some(y)) => cell(x).cmp(&cell(y)),
            };
            if ascending {
                ord
            } else {
                ord.reverse()
            }
        });
        idx
    }

    /// Every scenario's mean net edge against its mean risk ratio, the Pareto
    /// front (more edge, less risk) filled and joined.
    pub fn pareto_svg(&self) -> String {
        let on_front = |s: u32| self.summary.pareto.iter().any(|p| p.scenario == s);
        let points: Vec<Point> = self
            .summary
            .scenarios
            .iter()
            .map(|s| Point {
                label: s.label.clone(),
                x: s.risk_ratio_mean,
                y: s.net_bps_mean,
                on_front: on_front(s.scenario),
            })
            .collect();
        scatter_chart("Net edge against risk, per scenario (tuned runs)", "risk ratio", "net edge (bps)", &points)
    }

    /// Effects with the axis that moves net edge most first.
    pub fn effects(&self) -> Vec<&Effect> {
        let mut e: Vec<&Effect> = self.summary.effects.iter().collect();
        e.sort_by(|a, b| b.net_bps_spread.total_cmp(&a.net_bps_spread).then_with(|| a.axis.cmp(&b.axis)));
        e
    }
}

/// A cell as shown: integers as they are, other numbers to 4 significant decimals.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => format!("{:.4}", n.as_f64().unwrap_or(0.0)),
        other => other.to_string(),
    }
}

/// `count/of (pct)`, or `count/of` when `of` is 0.
pub fn rate(r: &Rate) -> String {
    match r.rate {
        Some(p) => format!("{}/{} ({:.1} %)", r.count, r.of, p * 100.0),
        None => format!("{}/{}", r.count, r.of),
    }
}
