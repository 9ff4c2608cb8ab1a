//! The report's SVG charts over iterations: the KPIs and each parameter, guard
//! events marked (`crate::chart` draws them).

use serde::{Deserialize, Serialize};

use super::{ReportRow, TuningReport};
use crate::guards::GuardEvent;

/// One SVG chart of the report, named for its file (`<name>.svg`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    pub name: String,
    pub title: String,
    pub svg: String,
}

/// Charts over iterations: net_bps, risk_ratio, adverse and slippage p95, and each
/// parameter, with freeze / cooldown / oscillation / panic-revert events marked.
pub fn charts(r: &TuningReport) -> Vec<Chart> {
    charts_of(&r.rows, &r.guard_events)
}

/// [`charts`] from the rows and events alone (a viewer given only ITER_SUMMARY files).
pub fn charts_of(rows: &[ReportRow], events: &[GuardEvent]) -> Vec<Chart> {
    let mut columns = ChartColumns::default();
    rows.iter().for_each(|r| columns.push_row(r));
    events.iter().for_each(|e| columns.push_event(e));
    let (values, events) = columns.into_parts();
    values.iter().enumerate().filter_map(|(k, v)| chart(k, v, &events)).collect()
}

/// Chart `index` (in [`chart_names`] order) of `values` (iteration 1 first), with
/// the freeze / cooldown / oscillation / panic-revert events among `events` marked;
/// `None` past the last chart.
pub fn chart(index: usize, values: &[f64], events: &[GuardEvent]) -> Option<Chart> {
    use crate::chart::{line_chart, marker_color, Marker};
    let (name, title, unit) = *chart_names().get(index)?;
    let markers: Vec<Marker> = events
        .iter()
        .filter(|e| is_marker(e))
        .map(|e| Marker { iteration: e.iteration, label: e.guard.clone(), color: marker_color(&e.guard) })
        .collect();
    Some(Chart { name: name.to_string(), title: title.to_string(), svg: line_chart(title, unit, values, &markers) })
}

fn is_marker(e: &GuardEvent) -> bool {
    matches!(e.guard.as_str(), "freeze" | "cooldown_start" | "panic_revert" | "oscillation")
}

/// What the charts are drawn from, filled one row and one guard event at a time, so
/// a streamed report holds 8 bytes per iteration and chart (and the marker events)
/// rather than the rows.
#[derive(Debug, Clone)]
pub struct ChartColumns {
    values: Vec<Vec<f64>>,
    events: Vec<GuardEvent>,
}

impl Default for ChartColumns {
    fn default() -> Self {
        ChartColumns { values: vec![Vec::new(); chart_names().len()], events: Vec::new() }
    }
}

impl ChartColumns {
    pub fn push_row(&mut self, row: &ReportRow) {
        let kpis = [row.net_bps, row.risk_ratio, row.adverse_p95, row.slippage_p95];
        let params = crate::params::APPLY_BOUNDS.iter().map(|spec| row.overrides.get(spec.name).unwrap_or(0.0));
        for (column, v) in self.values.iter_mut().zip(kpis.into_iter().chain(params)) {
            column.push(v);
        }
    }

    /// Keeps the events the charts mark; others are dropped.
    pub fn push_event(&mut self, e: &GuardEvent) {
        if is_marker(e) {
            self.events.push(e.clone());
        }
    }

    /// Each chart's values (in [`chart`] index order) and the marker events.
    pub fn into_parts(self) -> (Vec<Vec<f64>>, Vec<GuardEvent>) {
        (self.values, self.events)
    }
}

/// (file name, title, unit) of each chart, in order: what the Markdown links to and
/// what [`ChartColumns`] fills (the four KPIs, then each parameter of `APPLY_BOUNDS`).
pub fn chart_names() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut out = vec![
        ("net_bps", "net edge", "bps"),
        ("risk_ratio", "risk ratio", "risk blocks / all blocks"),
        ("adverse_p95", "adverse selection p95", "bps"),
        ("slippage_p95", "slippage p95", "bps"),
    ];
    out.extend(crate::params::APPLY_BOUNDS.iter().map(|spec| (spec.name, spec.name, "parameter in force")));
    out
}
