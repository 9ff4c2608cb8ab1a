//! The merged sweep's summary: verdict counts per scenario, rescue and harm rates,
//! the Pareto front of net edge against risk, and each varied axis's effect. Pure
//! functions of the results in run-index order, so every sharding gives the same bytes.
//!
//! - A *bad start*: the untuned twin (same scenario and seed, auto-tune off) FAILs
//!   in more than `judge.bad_fail_share` of its iterations. Without twins
//!   (`baseline = false`): the tuned run's first iteration is FAIL.
//! - *Rescued*: a bad start whose tuned run's last `judge.hold_iterations`
//!   verdicts are all PASS or WARN.
//! - *Harmed*: the tuned run is worse than its twin by the Mann-Whitney U test of
//!   `core/src/judge.rs` on the per-iteration series (two-sided p < `judge.alpha`):
//!   lower net_bps, or higher risk_ratio.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use mmsoak_core::edge::round6;
use mmsoak_core::judge::{judged, Better, EffectGate, Outcome, Uplift, NET_BPS_GATE, RISK_RATIO_GATE};
use mmsoak_core::stats::mean;
use serde::Serialize;

use super::result::RunResult;
use super::spec::Spec;

#[derive(Debug, Serialize)]
pub struct Summary {
    pub sweep: String,
    pub sweep_hash: String,
    pub runs: usize,
    pub tuned_runs: usize,
    pub baseline_runs: usize,
    pub judge: super::spec::Judge,
    pub rescue: Rate,
    pub harm: Harm,
    pub scenarios: Vec<ScenarioRow>,
    pub pareto: Vec<ParetoPoint>,
    pub effects: Vec<Effect>,
}

#[derive(Debug, Serialize)]
pub struct Rate {
    /// Bad starts (rescue) or judged pairs (harm).
    pub of: usize,
    pub count: usize,
    /// count / of; absent when `of` is 0.
    pub rate: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Harm {
    pub of: usize,
    pub count: usize,
    pub rate: Option<f64>,
    /// Pairs where net_bps was significantly lower tuned.
    pub worse_net_bps: usize,
    /// Pairs where risk_ratio was significantly higher tuned.
    pub worse_risk_ratio: usize,
}

#[derive(Debug, Serialize)]
pub struct ScenarioRow {
    pub scenario: u32,
    pub label: String,
    pub seeds: usize,
    /// Final verdicts of the tuned runs.
    pub tuned_final: BTreeMap<String, u32>,
    /// Final verdicts of the untuned twins.
    pub untuned_final: BTreeMap<String, u32>,
    pub net_bps_mean: f64,
    pub risk_ratio_mean: f64,
    pub bad_starts: usize,
    pub rescued: usize,
    pub harmed: usize,
}

#[derive(Debug, Serialize)]
pub struct ParetoPoint {
    pub scenario: u32,
    pub label: String,
    pub net_bps_mean: f64,
    pub risk_ratio_mean: f64,
}

#[derive(Debug, Serialize)]
pub struct Effect {
    /// `profile`, `regime`, `window`, `guards_off`, `kpi.<key>` or a parameter name.
    pub axis: String,
    pub levels: Vec<Level>,
    /// Largest minus smallest level mean of net_bps: how much the axis moves edge.
    pub net_bps_spread: f64,
    pub risk_ratio_spread: f64,
}

#[derive(Debug, Serialize)]
pub struct Level {
    pub level: String,
    pub runs: usize,
    pub net_bps_mean: f64,
    pub risk_ratio_mean: f64,
    /// Share of tuned runs ending PASS or WARN.
    pub ok_share: f64,
}

fn rate(count: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| round6(count as f64 / of as f64))
}

fn ok(v: &str) -> bool {
    v == "PASS" || v == "WARN"
}

/// Builds the summary; `results` must be sorted by run index.
pub fn build(spec: &Spec, hash: &str, results: &[RunResult]) -> Summary {
    let j = &spec.judge;
    let tuned: Vec<&RunResult> = results.iter().filter(|r| r.auto_tune).collect();
    let twin: BTreeMap<(u32, u64), &RunResult> =
        results.iter().filter(|r| !r.auto_tune).map(|r| ((r.scenario, r.seed), r)).collect();
    let mut rows: BTreeMap<u32, ScenarioRow> = BTreeMap::new();
    let mut by_scenario: BTreeMap<u32, Vec<&RunResult>> = BTreeMap::new();
    let (mut bad_total, mut rescued_total, mut pairs, mut harmed_total, mut worse_net, mut worse_risk) =
        (0, 0, 0, 0, 0, 0);
    for r in &tuned {
        let base = twin.get(&(r.scenario, r.seed)).copied();
        let bad = match base {
            Some(b) => {
                let fails = b.verdicts.iter().filter(|v| *v == "FAIL").count();
                fails as f64 > j.bad_fail_share * b.verdicts.len() as f64
            }
            None => r.verdicts.first().is_some_and(|v| v == "FAIL"),
        };
        let hold = j.hold_iterations as usize;
        let held = r.verdicts.len() >= hold && r.verdicts[r.verdicts.len() - hold..].iter().all(|v| ok(v));
        let rescued = bad && held;
        let harmed = base.is_some_and(|b| {
            // The judge --compare-baseline uses: one-sided in the metric's good
            // direction, and a shift beyond the effect gate, so a significant but
            // negligible change is not harm.
            let worse = |u: &Uplift| u.judgement.as_ref().is_some_and(|g| g.outcome == Outcome::Worse);
            let net_gate = EffectGate { alpha: j.alpha, ..NET_BPS_GATE };
            let risk_gate = EffectGate { alpha: j.alpha, ..RISK_RATIO_GATE };
            let n = worse(&judged(&r.net_bps, &b.net_bps, Better::Higher, net_gate));
            let k = worse(&judged(&r.risk_ratio, &b.risk_ratio, Better::Lower, risk_gate));
            pairs += 1;
            worse_net += n as usize;
            worse_risk += k as usize;
            n || k
        });
        bad_total += bad as usize;
        rescued_total += rescued as usize;
        harmed_total += harmed as usize;
        let row = rows.entry(r.scenario).or_insert_with(|| ScenarioRow {
            scenario: r.scenario,
            label: r.label.clone(),
            seeds: 0,
            tuned_final: BTreeMap::new(),
            untuned_final: BTreeMap::new(),
            net_bps_mean: 0.0,
            risk_ratio_mean: 0.0,
            bad_starts: 0,
            rescued: 0,
            harmed: 0,
        });
        row.seeds += 1;
        *row.tuned_final.entry(r.final_verdict.clone()).or_insert(0) += 1;
        if let Some(b) = base {
            *row.untuned_final.entry(b.final_verdict.clone()).or_insert(0) += 1;
        }
        row.bad_starts += bad as usize;
        row.rescued += rescued as usize;
        row.harmed += harmed as usize;
        by_scenario.entry(r.scenario).or_default().push(r);
    }
    for (s, runs) in &by_scenario {
        if let Some(row) = rows.get_mut(s) {
            row.net_bps_mean = round6(mean(&runs.iter().map(|r| r.net_bps_mean).collect::<Vec<_>>()));
            row.risk_ratio_mean = round6(mean(&runs.iter().map(|r| r.risk_ratio_mean).collect::<Vec<_>>()));
        }
    }
    let scenarios: Vec<ScenarioRow> = rows.into_values().collect();
    Summary {
        sweep: spec.name.clone(),
        sweep_hash: hash.to_string(),
        runs: results.len(),
        tuned_runs: tuned.len(),
        baseline_runs: results.len() - tuned.len(),
        judge: j.clone(),
        rescue: Rate { of: bad_total, count: rescued_total, rate: rate(rescued_total, bad_total) },
        harm: Harm {
            of: pairs,
            count: harmed_total,
            rate: rate(harmed_total, pairs),
            worse_net_bps: worse_net,
            worse_risk_ratio: worse_risk,
        },
        pareto: pareto(&scenarios),
        effects: effects(spec, &tuned),
        scenarios,
    }
}

/// Scenarios no other beats on both net edge (higher) and risk (lower), by risk.
fn pareto(rows: &[ScenarioRow]) -> Vec<ParetoPoint> {
    let dominated = |a: &ScenarioRow| {
        rows.iter().any(|b| {
            b.net_bps_mean >= a.net_bps_mean
                && b.risk_ratio_mean <= a.risk_ratio_mean
                && (b.net_bps_mean > a.net_bps_mean || b.risk_ratio_mean < a.risk_ratio_mean)
        })
    };
    let mut front: Vec<ParetoPoint> = rows
        .iter()
        .filter(|a| !dominated(a))
        .map(|a| ParetoPoint {
            scenario: a.scenario,
            label: a.label.clone(),
            net_bps_mean: a.net_bps_mean,
            risk_ratio_mean: a.risk_ratio_mean,
        })
        .collect();
    front.sort_by(|a, b| a.risk_ratio_mean.total_cmp(&b.risk_ratio_mean).then(a.scenario.cmp(&b.scenario)));
    front
}

/// Numeric levels beyond this many are grouped into terciles.
const MAX_LEVELS: usize = 6;

/// Each varied axis: tuned runs grouped by its level.
fn effects(spec: &Spec, tuned: &[&RunResult]) -> Vec<Effect> {
    type Key = Box<dyn Fn(&RunResult) -> String>;
    let mut axes: Vec<(String, Key)> = Vec::new();
    if spec.profiles.len() > 1 {
        axes.push(("profile".into(), Box::new(|r: &RunResult| r.profile.clone())));
    }
    if spec.markets.len() > 1 {
        axes.push(("regime".into(), Box::new(|r: &RunResult| r.regime.clone())));
    }
    if spec.windows.len() > 1 {
        axes.push(("window".into(), Box::new(|r: &RunResult| r.window.clone().unwrap_or_default())));
    }
    if spec.guards_off.len() > 1 {
        axes.push(("guards_off".into(), Box::new(|r: &RunResult| r.guards_off.join("+"))));
    }
    for key in &spec.kpi_varied {
        let k = key.clone();
        axes.push((
            format!("kpi.{key}"),
            Box::new(move |r: &RunResult| {
                serde_json::to_value(&r.kpi).ok().and_then(|v| v.get(&k).map(|x| x.to_string())).unwrap_or_default()
            }),
        ));
    }
    let mut out: Vec<Effect> = axes.iter().map(|(axis, key)| effect(axis, tuned, |r| key(r))).collect();
    if let Some(s) = &spec.sampling {
        for name in s.ranges.keys() {
            let mut values: Vec<f64> = tuned.iter().filter_map(|r| r.point.get(name).copied()).collect();
            values.sort_by(f64::total_cmp);
            values.dedup();
            if values.len() <= MAX_LEVELS {
                out.push(effect(name, tuned, |r| r.point.get(name).map_or(String::new(), |v| v.to_string())));
            } else {
                // Terciles of the distinct values: low, middle, high.
                let cut = |q: usize| values[(values.len() * q / 3).min(values.len() - 1)];
                let (c1, c2) = (cut(1), cut(2));
                out.push(effect(name, tuned, |r| {
                    let v = r.point.get(name).copied().unwrap_or(f64::NAN);
                    if v < c1 {
                        format!("1: < {c1}")
                    } else if v < c2 {
                        format!("2: [{c1}, {c2})")
                    } else {
                        format!("3: ≥ {c2}")
                    }
                }));
            }
        }
    }
    out
}

fn effect(axis: &str, tuned: &[&RunResult], key: impl Fn(&RunResult) -> String) -> Effect {
    let mut groups: BTreeMap<String, Vec<&RunResult>> = BTreeMap::new();
    for r in tuned {
        groups.entry(key(r)).or_default().push(r);
    }
    let levels: Vec<Level> = groups
        .into_iter()
        .map(|(level, runs)| Level {
            level,
            runs: runs.len(),
            net_bps_mean: round6(mean(&runs.iter().map(|r| r.net_bps_mean).collect::<Vec<_>>())),
            risk_ratio_mean: round6(mean(&runs.iter().map(|r| r.risk_ratio_mean).collect::<Vec<_>>())),
            ok_share: round6(runs.iter().filter(|r| ok(&r.final_verdict)).count() as f64 / runs.len() as f64),
        })
        .collect();
    let spread = |f: fn(&Level) -> f64| {
        let xs: Vec<f64> = levels.iter().map(f).collect();
        let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        if xs.is_empty() {
            0.0
        } else {
            round6(hi - lo)
        }
    };
    Effect {
        axis: axis.to_string(),
        net_bps_spread: spread(|l| l.net_bps_mean),
        risk_ratio_spread: spread(|l| l.risk_ratio_mean),
        levels,
    }
}

fn pct(r: Option<f64>) -> String {
    r.map_or("–".into(), |x| format!("{:.1} %", x * 100.0))
}

fn counts(m: &BTreeMap<String, u32>) -> String {
    ["PASS", "WARN", "FAIL", "INCONCLUSIVE"]
        .iter()
        .map(|k| m.get(*k).copied().unwrap_or(0).to_string())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// summary.md: the same numbers as summary.json, as tables.
pub fn markdown(s: &Summary) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Sweep `{}`\n", s.sweep);
    let _ = writeln!(
        md,
        "{} soaks: {} tuned, {} untuned twins. Sweep hash `{}`.\n",
        s.runs, s.tuned_runs, s.baseline_runs, s.sweep_hash
    );
    let _ = writeln!(md, "| | count | of | rate |\n|---|---:|---:|---:|");
    let _ = writeln!(
        md,
        "| rescued (bad start, last {} iterations PASS/WARN) | {} | {} | {} |",
        s.judge.hold_iterations,
        s.rescue.count,
        s.rescue.of,
        pct(s.rescue.rate)
    );
    let _ = writeln!(
        md,
        "| harmed (judged worse: one-sided Mann-Whitney p < {} and a shift beyond the effect gate, {} bps of net_bps or \
         {} of risk_ratio; worse on net_bps {}, on risk_ratio {}) | {} | {} | {} |\n",
        s.judge.alpha,
        NET_BPS_GATE.allowed_decrease,
        RISK_RATIO_GATE.allowed_increase,
        s.harm.worse_net_bps,
        s.harm.worse_risk_ratio,
        s.harm.count,
        s.harm.of,
        pct(s.harm.rate)
    );
    let _ = writeln!(md, "## Scenarios\n\nFinal verdicts as PASS / WARN / FAIL / INCONCLUSIVE.\n");
    let _ = writeln!(
        md,
        "| # | scenario | seeds | tuned final | untuned final | net bps | risk | bad starts | rescued | harmed |"
    );
    let _ = writeln!(md, "|---:|---|---:|---|---|---:|---:|---:|---:|---:|");
    for r in &s.scenarios {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.label,
            r.seeds,
            counts(&r.tuned_final),
            counts(&r.untuned_final),
            r.net_bps_mean,
            r.risk_ratio_mean,
            r.bad_starts,
            r.rescued,
            r.harmed
        );
    }
    let _ = writeln!(
        md,
        "\n## Pareto front (net edge up, risk down)\n\n| # | scenario | net bps | risk |\n|---:|---|---:|---:|"
    );
    for p in &s.pareto {
        let _ = writeln!(md, "| {} | {} | {} | {} |", p.scenario, p.label, p.net_bps_mean, p.risk_ratio_mean);
    }
    let _ = writeln!(md, "\n## Effects (tuned runs)\n");
    for e in &s.effects {
        let _ = writeln!(
            md,
            "### {}\n\nnet bps spread {}, risk spread {}\n\n| level | runs | net bps | risk | PASS/WARN share |\n|---|---:|---:|---:|---:|",
            e.axis, e.net_bps_spread, e.risk_ratio_spread
        );
        for l in &e.levels {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                l.level, l.runs, l.net_bps_mean, l.risk_ratio_mean, l.ok_share
            );
        }
        md.push('\n');
    }
    md
}
