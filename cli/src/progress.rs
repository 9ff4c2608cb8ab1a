//! What a run tells the person (or machine) watching it: an indicatif bar with the
//! latest verdict, net edge and ETA on a terminal; one plain line per iteration
//! otherwise (logs, CI); one JSON object per iteration on stdout with `--json`.
//! A `--compare-baseline` run's iterations say so (`baseline [3/24] …`, and
//! `"run": "baseline"` in JSON): printed after the run's own, they would
//! otherwise read as a second pass of it.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use mmsoak_core::soak::IterSummary;

use crate::report_out::REVERTS;

pub struct Reporter {
    json: bool,
    total: u32,
    bar: Option<ProgressBar>,
    baseline: bool,
}

impl Reporter {
    /// `done` iterations are already complete (a resumed run).
    pub fn new(total: u32, done: u32, json: bool) -> Self {
        let bar = (!json && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total as u64).with_position(done as u64);
            let style = ProgressStyle::with_template(
                "{spinner} {prefix}[{bar:30}] {pos}/{len} iterations  {elapsed_precise} elapsed, ETA {eta_precise}  {msg}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Reporter { json, total, bar, baseline: false }
    }

    /// The same, for the `--compare-baseline` run when `baseline`.
    pub fn baseline(mut self, baseline: bool) -> Self {
        if let Some(bar) = self.bar.as_ref().filter(|_| baseline) {
            bar.set_prefix("baseline ");
        }
        self.baseline = baseline;
        self
    }

    pub fn iteration(&self, s: &IterSummary) -> Result<()> {
        if self.json {
            let mut v = serde_json::to_value(s)?;
            if let (true, Some(o)) = (self.baseline, v.as_object_mut()) {
                o.insert("run".into(), "baseline".into());
            }
            println!("{}", serde_json::to_string(&v)?);
            return Ok(());
        }
        let line = if self.baseline { format!("baseline {}", line(s, self.total)) } else { line(s, self.total) };
        match &self.bar {
            Some(bar) => {
                bar.println(&line);
                let k = &s.summary;
                bar.set_message(format!("{} net {:.2} bps", k.kpi_verdict.name(), k.net_bps));
                bar.set_position(s.iteration as u64);
            }
            None => eprintln!("{line}"),
        }
        Ok(())
    }

    /// Any message while the bar is up goes above it, not through it.
    pub fn note(&self, msg: &str) {
        match &self.bar {
            Some(bar) => bar.println(msg),
            None => eprintln!("{msg}"),
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn line(s: &IterSummary, total: u32) -> String {
    let k = &s.summary;
    let tuning = if s.tuning.applied {
        let d: Vec<String> = s.tuning.deltas.iter().map(|(n, v)| format!("{n} {v:+}")).collect();
        // A revert is applied too, but it is no tuning step: say which it was, as the
        // run summary counts it apart.
        let revert = s.tuning.skipped_reason.as_deref().filter(|r| REVERTS.contains(r));
        let why =
            revert.map(|r| format!(" ({} to {})", r.replace('_', " "), crate::profiles::SAFE)).unwrap_or_default();
        format!("applied {}{why}", d.join(", "))
    } else {
        s.tuning.skipped_reason.clone().unwrap_or_else(|| "-".into())
    };
    format!(
        "[{:>w$}/{total}] {:<12} net {:>7.2} bps  risk {:.3}  adverse p95 {:>5.2}  slippage p95 {:>5.2}  {tuning}",
        s.iteration,
        k.kpi_verdict.name(),
        k.net_bps,
        k.risk_ratio,
        k.adverse_p95,
        k.slippage_p95,
        w = total.to_string().len()
    )
}
