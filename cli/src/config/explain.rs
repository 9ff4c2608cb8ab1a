//! `mmsoak config explain`: the effective settings as a person reads them.

use super::Effective;

/// `mmsoak config explain`: every effective value with its origin.
pub fn explain(e: &Effective) -> String {
    let mut out = String::new();
    let file = e.config_file.as_ref().map_or("(none)".to_string(), |p| p.display().to_string());
    out.push_str(&format!("config file: {file}\n\n[soak]\n"));
    let row = |k: &str, v: String, o: &str| format!("  {k:<20} = {v:<16} # {o}\n");
    out.push_str(&row("out", e.out.value.display().to_string(), &e.out.origin));
    out.push_str(&row("iterations", e.iterations.value.to_string(), &e.iterations.origin));
    out.push_str(&row("seed", e.seed.value.to_string(), &e.seed.origin));
    out.push_str(&row("regime", e.regime.value.clone(), &e.regime.origin));
    out.push_str(&row("auto_tune", e.auto_tune.value.to_string(), &e.auto_tune.origin));
    out.push_str(&row("iteration_seconds", e.iteration_seconds.value.to_string(), &e.iteration_seconds.origin));
    if let Some(p) = &e.profile {
        out.push_str(&row("profile", p.value.clone(), &p.origin));
    }
    out.push_str("\n[params]\n");
    for ((name, value), (_, origin)) in e.params.entries().into_iter().zip(&e.param_origins) {
        out.push_str(&row(name, value.to_string(), origin));
    }
    out.push_str("\n[kpi]\n");
    let t = &e.thresholds;
    for ((name, origin), value) in e.threshold_origins.iter().zip([
        t.warn_risk_ratio.to_string(),
        t.warn_adverse_p95.to_string(),
        t.fail_risk_ratio.to_string(),
        t.fail_net_bps.to_string(),
        t.min_fills.to_string(),
    ]) {
        out.push_str(&row(name, value, origin));
    }
    if !e.gate.is_empty() {
        out.push_str("\n[thresholds]  # --threshold flags add to these\n");
        for t in &e.gate {
            let opts = format!(
                "{}{}",
                if t.abort_on_fail { ", abort_on_fail" } else { "" },
                if t.delay > 0 { format!(", delay={}", t.delay) } else { String::new() }
            );
            out.push_str(&format!("  {}: {}{opts}  # {}\n", t.metric, t.threshold, t.origin));
        }
    }
    out.push_str("\n[ticks]  # --source ticks; flags win\n");
    let label = e.config_file.as_ref().map_or(String::new(), |p| format!("{} [ticks]", p.display()));
    let t = &e.ticks;
    let opt = |v: Option<String>, default: &str| match v {
        Some(v) => (v, label.clone()),
        None => (default.to_string(), "default".to_string()),
    };
    for (k, (v, o)) in [
        ("data_format", opt(t.data_format.clone(), "detected")),
        ("queue_model", opt(t.queue_model.clone(), "auto")),
        ("latency", opt(t.latency.clone(), "constant:25:25")),
        ("maker_fee_bps", opt(t.maker_fee_bps.map(|x| x.to_string()), "-0.2")),
        ("taker_fee_bps", opt(t.taker_fee_bps.map(|x| x.to_string()), "2")),
        ("tick_size", opt(t.tick_size.clone(), "measured")),
        ("backstep_tolerance_ms", opt(t.backstep_tolerance_ms.map(|x| x.to_string()), "1000")),
    ] {
        out.push_str(&row(k, v, &o));
    }
    let r = &e.retention;
    out.push_str("\n[retention]\n");
    out.push_str(&row("keep_summaries", r.keep_summaries.to_string(), ""));
    out.push_str(&row("compress_after_days", r.compress_after_days.to_string(), ""));
    out.push_str(&row("warn_total_mb", r.warn_total_mb.to_string(), ""));
    out.push_str(&row("rotate_after_run", r.rotate_after_run.to_string(), ""));
    out
}
