//! Prometheus metrics of a running soak (`--metrics-addr`), served at `/metrics`:
//! the OpenMetrics text of the prometheus-client crate to scrapers that ask for it
//! (Prometheus does), the classic Prometheus text format 0.0.4 to everyone else
//! (curl, `promtool check metrics`, older agents).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use mmsoak_core::kpi::KpiVerdict;
use mmsoak_core::params::Params;
use mmsoak_core::soak::IterSummary;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::resources;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabel {
    verdict: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabel {
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GuardLabel {
    guard: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

pub struct Metrics {
    registry: Mutex<Registry>,
    iteration: Gauge,
    net_bps: FloatGauge,
    risk_ratio: FloatGauge,
    adverse_p95: FloatGauge,
    slippage_p95: FloatGauge,
    verdict: Family<VerdictLabel, Gauge>,
    param: Family<NameLabel, FloatGauge>,
    guard_events: Family<GuardLabel, Counter>,
    rss: Gauge,
}

const VERDICTS: [KpiVerdict; 4] = [KpiVerdict::Pass, KpiVerdict::Warn, KpiVerdict::Fail, KpiVerdict::Inconclusive];

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            iteration: Gauge::default(),
            net_bps: FloatGauge::default(),
            risk_ratio: FloatGauge::default(),
            adverse_p95: FloatGauge::default(),
            slippage_p95: FloatGauge::default(),
            verdict: Family::default(),
            param: Family::default(),
            guard_events: Family::default(),
            rss: Gauge::default(),
        };
        {
            let mut r = m.registry.lock().expect("fresh mutex");
            r.register("soak_iteration", "Last completed soak iteration", m.iteration.clone());
            r.register("soak_net_bps", "Net edge of the last iteration, bps", m.net_bps.clone());
            r.register(
                "soak_risk_ratio",
                "Share of quoting blocked by risk in the last iteration",
                m.risk_ratio.clone(),
            );
            r.register(
                "soak_adverse_p95",
                "Adverse-selection markout p95 of the last iteration, bps",
                m.adverse_p95.clone(),
            );
            r.register("soak_slippage_p95", "Hedge slippage p95 of the last iteration, bps", m.slippage_p95.clone());
            r.register(
                "soak_kpi_verdict",
                "1 for the last iteration's KPI verdict, 0 for the others",
                m.verdict.clone(),
            );
            r.register("soak_param", "Runtime parameter in force for the next iteration", m.param.clone());
            r.register("soak_guard_events", "Guard events since the run started", m.guard_events.clone());
            r.register("process_resident_memory_bytes", "Resident memory of the mmsoak process", m.rss.clone());
        }
        for v in VERDICTS {
            m.verdict.get_or_create(&VerdictLabel { verdict: v.name().into() }).set(0);
        }
        m
    }

    /// Updates every metric from an iteration just completed.
    pub fn observe(&self, s: &IterSummary, next: &Params) {
        let k = &s.summary;
        self.iteration.set(s.iteration as i64);
        self.net_bps.set(k.net_bps);
        self.risk_ratio.set(k.risk_ratio);
        self.adverse_p95.set(k.adverse_p95);
        self.slippage_p95.set(k.slippage_p95);
        for v in VERDICTS {
            self.verdict.get_or_create(&VerdictLabel { verdict: v.name().into() }).set(i64::from(v == k.kpi_verdict));
        }
        for (name, value) in next.entries() {
            self.param.get_or_create(&NameLabel { name: name.into() }).set(value);
        }
        for g in &s.tuning.guards {
            self.guard_events.get_or_create(&GuardLabel { guard: g.guard.clone() }).inc();
        }
    }

    pub fn encode(&self) -> String {
        if let Some(rss) = resources::rss_bytes() {
            self.rss.set(rss as i64);
        }
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &registry);
        out
    }
}

/// Serves `/metrics` on an already-bound listener until the process ends.
pub fn serve(listener: std::net::TcpListener, metrics: Arc<Metrics>) -> Result<()> {
    listener.set_nonblocking(true).context("metrics listener")?;
    let listener = tokio::net::TcpListener::from_std(listener).context("metrics listener")?;
    let app = Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| {
            let m = metrics.clone();
            async move {
                let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
                if accept.contains("application/openmetrics-text") {
                    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], m.encode())
                } else {
                    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], prometheus_text(&m.encode()))
                }
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("mmsoak: metrics server stopped: {e}");
        }
    });
    Ok(())
}

/// OpenMetrics text → Prometheus text 0.0.4. The formats differ where it matters
/// here in two ways: OpenMetrics names a counter family without its `_total`
/// suffix (the classic format names it with), and ends with `# EOF`.
pub fn prometheus_text(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters.contains(&name).then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_get_their_total_suffix_and_eof_goes() {
        let om =
            "# HELP g A gauge.\n# TYPE g gauge\ng 1\n# HELP c Events.\n# TYPE c counter\nc_total{x=\"y\"} 2\n# EOF\n";
        assert_eq!(
            prometheus_text(om),
            "# HELP g A gauge.\n# TYPE g gauge\ng 1\n# HELP c_total Events.\n# TYPE c_total counter\nc_total{x=\"y\"} 2\n"
        );
    }
}
