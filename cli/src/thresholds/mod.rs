//! k6-style thresholds: `metric: aggregate op value` over the run's per-iteration
//! KPIs, each optionally aborting the run (after a grace delay in iterations).
//!
//! Lives in the shell, not the core: a threshold decides the process's exit code
//! and when the loop stops — control flow, not an artifact. It reads only the
//! summaries the core wrote, so its result is as reproducible as they are.
//!
//! Grammar: `METRIC: AGG OP VALUE [, abort_on_fail] [, delay=N]`
//! - METRIC: `net_bps`, `risk_ratio`, `adverse_p95`, `slippage_p95`,
//!   `max_drawdown_bps`, `fills` (numbers) or `kpi_verdict` (PASS/WARN/FAIL/INCONCLUSIVE).
//! - AGG on numbers: `p(N)` (N in 0–100, linear interpolation as numpy), `med`,
//!   `avg`, `min`, `max`, `count`.
//! - AGG on `kpi_verdict`: `fail_rate`, `warn_rate`, `pass_rate`,
//!   `inconclusive_rate` (share of iterations, 0–1; `rate` is `fail_rate`),
//!   `fail_count`, `warn_count`, `pass_count`, `inconclusive_count`, `count`;
//!   each of these takes an optional window, `fail_count(6)` = the last 6
//!   iterations; `final` compares the last verdict with `==`/`!=` and a verdict name.
//! - OP: `<`, `<=`, `>`, `>=`, `==`, `!=`.

use anyhow::{bail, Result};
use mmsoak_core::kpi::KpiVerdict;
use mmsoak_core::soak::IterSummary;
use mmsoak_core::stats::{mean, percentile};
use serde::{Deserialize, Serialize};

/// The metrics a threshold may name and how to read each from an ITER_SUMMARY.
/// Reads one metric from an ITER_SUMMARY.
type Read = fn(&IterSummary) -> f64;

const NUMERIC: [(&str, Read); 6] = [
    ("net_bps", |s| s.summary.net_bps),
    ("risk_ratio", |s| s.summary.risk_ratio),
    ("adverse_p95", |s| s.summary.adverse_p95),
    ("slippage_p95", |s| s.summary.slippage_p95),
    ("max_drawdown_bps", |s| s.edge.max_drawdown_bps),
    ("fills", |s| s.summary.fills as f64),
];
const VERDICT: &str = "kpi_verdict";
const VERDICTS: [KpiVerdict; 4] = [KpiVerdict::Pass, KpiVerdict::Warn, KpiVerdict::Fail, KpiVerdict::Inconclusive];

/// One threshold as configured (RUN.json keeps these so `--resume` gates alike).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    pub metric: String,
    /// The expression, e.g. `p(50) > 2.5`.
    pub threshold: String,
    #[serde(default)]
    pub abort_on_fail: bool,
    /// Iterations completed before `abort_on_fail` is checked.
    #[serde(default)]
    pub delay: u32,
    /// Where it came from: `flag --threshold`, `mmsoak.toml [thresholds]`, `--fail-on kpi`.
    pub origin: String,
}

impl ThresholdSpec {
    pub fn label(&self) -> String {
        format!("{}: {}", self.metric, self.threshold)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Agg {
    Percentile(f64),
    Avg,
    Min,
    Max,
    Count,
    /// Verdict share (`rate`) or number (`!rate`) of one verdict, over the last N or all.
    Verdicts {
        verdict: KpiVerdict,
        rate: bool,
        window: Option<usize>,
    },
    /// Iterations (of `kpi_verdict`), over the last N or all.
    Iterations(Option<usize>),
    Final,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    Number(f64),
    Verdict(KpiVerdict),
}

/// A checked threshold, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Threshold {
    pub spec: ThresholdSpec,
    /// Index into NUMERIC, or None for `kpi_verdict`.
    metric: Option<usize>,
    agg: Agg,
    op: Op,
    value: Value,
}

/// Splits `metric: expr[, abort_on_fail][, delay=N]` (the flag's form).
pub fn parse_flag(text: &str) -> Result<ThresholdSpec> {
    let Some((metric, rest)) = text.split_once(':') else {
        bail!("--threshold {text:?}: expected 'METRIC: EXPRESSION', e.g. 'net_bps: p(50) > 2.5'");
    };
    let mut parts = rest.split(',');
    let threshold = parts.next().unwrap_or_default().trim().to_string();
    let mut spec = ThresholdSpec {
        metric: metric.trim().to_string(),
        threshold,
        abort_on_fail: false,
        delay: 0,
        origin: "flag --threshold".into(),
    };
    for opt in parts.map(str::trim) {
        if opt == "abort_on_fail" {
            spec.abort_on_fail = true;
        } else if let Some(n) = opt.strip_prefix("delay=") {
            spec.delay = n
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("--threshold {text:?}: delay={n} must be a whole number of iterations"))?;
        } else {
            bail!("--threshold {text:?}: unknown option {opt:?} (use abort_on_fail or delay=N)");
        }
    }
    Ok(spec)
}

/// `[thresholds]` in mmsoak.toml: `metric = "expr"`, `metric = ["expr", ...]` or
/// `metric = [{ threshold = "expr", abort_on_fail = true, delay = 3 }, ...]`.
pub fn from_toml(table: &toml::Table, origin: &str) -> Result<Vec<ThresholdSpec>> {
    let mut out = Vec::new();
    for (metric, value) in table {
        let items = match value {
            toml::Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        for item in items {
            let spec = match item {
                toml::Value::String(s) => ThresholdSpec {
                    metric: metric.clone(),
                    threshold: s,
                    abort_on_fail: false,
                    delay: 0,
                    origin: origin.to_string(),
                },
                toml::Value::Table(t) => {
                    #[derive(Deserialize)]
                    #[serde(deny_unknown_fields)]
                    struct Item {
                        threshold: String,
                        #[serde(default)]
                        abort_on_fail: bool,
                        #[serde(default)]
                        delay: u32,
                    }
                    let i: Item = toml::Value::Table(t)
                        .try_into()
                        .map_err(|e| {
                            // serde names the field on a second line ("in `abort_on_fail`"): one line.
                            let e = e.to_string();
                            let e = e.trim().lines().map(str::trim).collect::<Vec<_>>().join(" ");
                            anyhow::anyhow!("{origin}: thresholds.{metric}: {e}")
                        })?;
                    ThresholdSpec {
                        metric: metric.clone(),
                        threshold: i.threshold,
                        abort_on_fail: i.abort_on_fail,
                        delay: i.delay,
                        origin: origin.to_string(),
                    }
                }
                other => bail!(
                    "{origin}: thresholds.{metric} = {other}: expected \"EXPRESSION\", a list of them, or {{ threshold = \"...\", abort_on_fail = true, delay = N }}"
                ),
            };
            out.push(spec);
        }
    }
    Ok(out)
}

/// `--fail-on kpi` as thresholds: the final verdict is not FAIL, and at most
/// `max` FAILs in the last `window` iterations.
pub fn hard_gate(window: u32, max: u32) -> Vec<ThresholdSpec> {
    let spec = |t: String| ThresholdSpec {
        metric: VERDICT.into(),
        threshold: t,
        abort_on_fail: false,
        delay: 0,
        origin: "--fail-on kpi".into(),
    };
    vec![spec("final != FAIL".into()), spec(format!("fail_count({window}) <= {max}"))]
}

/// Checks a spec: unknown metric, aggregate, operator or value is an error naming it.
pub fn parse(spec: &ThresholdSpec) -> Result<Threshold> {
    let whole = format!("threshold {:?} ({})", spec.label(), spec.origin);
    let metric = match NUMERIC.iter().position(|(n, _)| *n == spec.metric) {
        Some(i) => Some(i),
        None if spec.metric == VERDICT => None,
        None => {
            let known: Vec<&str> = NUMERIC.iter().map(|(n, _)| *n).chain([VERDICT]).collect();
            bail!("{whole}: unknown metric {:?} (known: {})", spec.metric, known.join(", "));
        }
    };
    let text = spec.threshold.trim();
    let op_at = text
        .find(['<', '>', '=', '!'])
        .ok_or_else(|| anyhow::anyhow!("{whole}: no comparison; expected 'AGGREGATE OP VALUE', e.g. 'p(95) < 8'"))?;
    let (agg_text, rest) = (text[..op_at].trim(), &text[op_at..]);
    let (op, value_text) =
        [("<=", Op::Le), (">=", Op::Ge), ("==", Op::Eq), ("!=", Op::Ne), ("<", Op::Lt), (">", Op::Gt)]
            .iter()
            .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (*op, v.trim())))
            .ok_or_else(|| anyhow::anyhow!("{whole}: unknown operator in {rest:?} (use <, <=, >, >=, ==, !=)"))?;
    let agg = parse_agg(agg_text, metric.is_none()).map_err(|e| anyhow::anyhow!("{whole}: {e}"))?;
    let value = if agg == Agg::Final {
        let v = VERDICTS.iter().find(|v| v.name().eq_ignore_ascii_case(value_text)).copied().ok_or_else(|| {
            anyhow::anyhow!("{whole}: {value_text:?} is not a verdict (PASS, WARN, FAIL, INCONCLUSIVE)")
        })?;
        if !matches!(op, Op::Eq | Op::Ne) {
            bail!("{whole}: `final` compares with == or != only");
        }
        Value::Verdict(v)
    } else {
        let v: f64 = value_text
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| anyhow::anyhow!("{whole}: {value_text:?} is not a finite number"))?;
        Value::Number(v)
    };
    Ok(Threshold { spec: spec.clone(), metric, agg, op, value })
}

fn parse_agg(text: &str, verdict: bool) -> Result<Agg, String> {
    let (name, arg) = match text.split_once('(') {
        Some((n, a)) => {
            let a = a.strip_suffix(')').ok_or_else(|| format!("aggregate {text:?}: missing ')'"))?;
            (n.trim(), Some(a.trim()))
        }
        None => (text, None),
    };
    let window = |arg: Option<&str>| -> Result<Option<usize>, String> {
        arg.map(|a| {
            a.parse::<usize>().ok().filter(|n| *n > 0).ok_or(format!("{text:?}: window must be a whole number ≥ 1"))
        })
        .transpose()
    };
    let numeric_known = "p(N), med, avg, min, max, count";
    let verdict_known = "fail_rate, warn_rate, pass_rate, inconclusive_rate, rate, fail_count, warn_count, pass_count, inconclusive_count, count, final";
    if !verdict {
        return match (name, arg) {
            ("p", Some(a)) => a
                .parse::<f64>()
                .ok()
                .filter(|q| (0.0..=100.0).contains(q))
                .map(Agg::Percentile)
                .ok_or(format!("p({a}): the percentile must be a number from 0 to 100")),
            ("med", None) => Ok(Agg::Percentile(50.0)),
            ("avg", None) => Ok(Agg::Avg),
            ("min", None) => Ok(Agg::Min),
            ("max", None) => Ok(Agg::Max),
            ("count", None) => Ok(Agg::Count),
            _ => Err(format!("unknown aggregate {text:?} for a number (known: {numeric_known})")),
        };
    }
    if name == "final" && arg.is_none() {
        return Ok(Agg::Final);
    }
    if name == "count" {
        return Ok(Agg::Iterations(window(arg)?));
    }
    let (v, kind) = match name {
        "rate" => ("fail", "rate"),
        _ => name.rsplit_once('_').unwrap_or((name, "")),
    };
    let verdict = VERDICTS.iter().find(|x| x.name().eq_ignore_ascii_case(v)).copied();
    match (verdict, kind) {
        (Some(verdict), "rate" | "count") => Ok(Agg::Verdicts { verdict, rate: kind == "rate", window: window(arg)? }),
        _ => Err(format!("unknown aggregate {text:?} for kpi_verdict (known: {verdict_known})")),
    }
}

mod gate;
pub use gate::{Gate, ThresholdResult};

#[cfg(test)]
mod tests;
