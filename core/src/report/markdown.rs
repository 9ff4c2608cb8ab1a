//! The Markdown report (`--export-md`): its head, one row per iteration, the
//! parameters and the guard events, written whole or streamed in the same parts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{chart_names, ReportRow, RunStop, TuningReport};
use crate::guards::GuardEvent;

/// A Markdown report readable on GitHub: settings, charts (when `charts_dir` names
/// where [`charts`] were written, relative to the report), one row per iteration,
/// final parameters, guard events. The concatenation of [`markdown_head`],
/// [`markdown_row`] per row, [`markdown_params`] and, when there are guard events,
/// [`MARKDOWN_GUARD_HEADER`] and [`markdown_guard_row`] per event: a streamed
/// report writes the same parts in the same order.
pub fn markdown(r: &TuningReport, charts_dir: Option<&str>) -> String {
    let mut out = markdown_head(r, charts_dir);
    for row in &r.rows {
        out.push_str(&markdown_row(row));
    }
    out.push_str(&markdown_params(r));
    if !r.guard_events.is_empty() {
        out.push_str(MARKDOWN_GUARD_HEADER);
    }
    for e in &r.guard_events {
        out.push_str(&markdown_guard_row(e));
    }
    out
}

/// The Markdown report up to the iterations table's header: settings, verdicts, the
/// baseline comparison, the chart links. Uses none of `r.rows` or `r.guard_events`.
pub fn markdown_head(r: &TuningReport, charts_dir: Option<&str>) -> String {
    let s = &r.settings;
    let mut out = String::new();
    let _ = writeln!(out, "# mmsoak soak report\n");
    let _ = writeln!(out, "| setting | value |\n|---|---|");
    let data = s.data_file.as_deref().map(|d| format!(" (`{d}`)")).unwrap_or_default();
    for (k, v) in [
        ("profile", s.profile.clone()),
        ("regime", s.regime.clone()),
        ("source", format!("{}{data}", s.source)),
        ("seed", s.seed.to_string()),
        ("iterations", format!("{} of {}", r.iterations_completed, s.iterations)),
        ("auto-tune", if s.auto_tune { "on".into() } else { "off".into() }),
        ("simulated time per iteration", format!("{} s", s.iteration_seconds)),
        (
            "tick replay",
            s.ticks.as_ref().map_or_else(String::new, |t| {
                let c = &t.config;
                format!(
                    "{} ({} files); tick {}; lot {}; queue {}; latency {}; fees maker {} / taker {} bps",
                    c.formats.iter().map(|f| f.name()).collect::<Vec<_>>().join("+"),
                    t.streams.iter().map(|s| s.len()).sum::<usize>(),
                    c.tick.price(1),
                    c.lot,
                    c.queue.name(),
                    c.latency.name(),
                    c.fees.maker_bps,
                    c.fees.taker_bps
                )
            }),
        ),
        (
            "engine",
            format!(
                "{} (core sha256 `{}`, ABI v{})",
                r.engine.kind,
                short(&r.engine.core_sha256),
                r.engine.abi_version
            ),
        ),
    ] {
        if v.is_empty() {
            continue;
        }
        let _ = writeln!(out, "| {k} | {v} |");
    }
    let final_v = r.final_verdict.map_or("—", |v| v.name());
    let counts = verdict_counts_text(&r.verdict_counts);
    let _ = writeln!(out, "\n**Final verdict: {final_v}**{counts}; {}.\n", tuning_steps(r.applied_count));
    if let Some(c) = &r.baseline_comparison {
        let _ = writeln!(out, "## Tuned vs untuned baseline (same seed and market)\n");
        let _ = writeln!(
            out,
            "{}",
            crate::judge::markdown_table(&[("net_bps", &c.net_bps), ("risk_ratio", &c.risk_ratio)])
        );
        let counts: Vec<String> = c.baseline_verdict_counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "\nBaseline verdicts: {}.\n", counts.join(", "));
    }
    if let Some(dir) = charts_dir {
        let _ = writeln!(out, "## Charts\n\nDashed lines mark guard events: blue freeze, amber cooldown, purple oscillation, red panic revert.\n");
        for (name, title, _) in chart_names() {
            let _ = writeln!(out, "![{title}]({dir}/{name}.svg)\n");
        }
    }
    let _ = writeln!(out, "## Iterations\n");
    let _ = writeln!(out, "| # | verdict | net bps | risk ratio | adverse p95 | slippage p95 | fills | tuning |");
    let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---|");
    out
}

/// The reasons of an applied decision that reverted to the safe profile rather
/// than took a tuning step (`soak::revert_to_safe`'s callers).
pub const REVERTS: [&str; 2] = ["panic_revert", "policy_revert"];

/// "N tuning steps applied": `applied_count` counts tuning steps only; a revert
/// to the safe profile is applied too, and its row says so ([`tuning_cell`]).
pub fn tuning_steps(applied_count: u32) -> String {
    format!("{applied_count} tuning step{} applied", if applied_count == 1 { "" } else { "s" })
}

/// The verdict counts after "Final verdict" (Markdown and HTML): ` (FAIL 2, PASS 16)`,
/// or nothing for a run stopped before its first iteration (no empty "()").
pub fn verdict_counts_text(counts: &BTreeMap<String, u32>) -> String {
    if counts.is_empty() {
        return String::new();
    }
    format!(" ({})", counts.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "))
}

/// A row's tuning column (Markdown and HTML): the applied changes, with the
/// revert named when the change was a panic or policy revert (applied, with its
/// kind as the reason), else why nothing was applied.
pub fn tuning_cell(row: &ReportRow) -> String {
    if row.applied {
        let deltas = row.deltas.iter().map(|(k, v)| format!("{k} {v:+}")).collect::<Vec<_>>().join(", ");
        match row.skipped_reason.as_deref().filter(|r| REVERTS.contains(r)) {
            Some(revert) => format!("{deltas} ({})", revert.replace('_', " ")),
            None => deltas,
        }
    } else {
        row.skipped_reason.clone().unwrap_or_else(|| "—".into())
    }
}

/// One line of the Markdown report's iterations table.
pub fn markdown_row(row: &ReportRow) -> String {
    let tuning = tuning_cell(row);
    format!(
        "| {} | {} | {:.2} | {:.3} | {:.2} | {:.2} | {} | {} |\n",
        row.iteration,
        row.kpi_verdict.name(),
        row.net_bps,
        row.risk_ratio,
        row.adverse_p95,
        row.slippage_p95,
        row.fills,
        tuning
    )
}

/// The Markdown report's parameters table (after the iterations).
pub fn markdown_params(r: &TuningReport) -> String {
    let mut out = String::from("\n## Parameters\n\n| parameter | baseline | final |\n|---|---:|---:|\n");
    for ((name, base), (_, fin)) in r.baseline.entries().into_iter().zip(r.final_overrides.entries()) {
        let _ = writeln!(out, "| {name} | {base} | {fin} |");
    }
    out
}

/// Heads the guard-events table, written only when there is at least one event.
pub const MARKDOWN_GUARD_HEADER: &str =
    "\n## Guard events\n\n| iteration | guard | parameter | detail |\n|---:|---|---|---|\n";

/// One line of the Markdown report's guard-events table.
pub fn markdown_guard_row(e: &GuardEvent) -> String {
    format!(
        "| {} | {} | {} | {} |\n",
        e.iteration,
        e.guard,
        e.param.as_deref().unwrap_or("—"),
        e.detail.replace('|', "\\|")
    )
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// The Markdown report's first lines: its title.
pub(super) const MARKDOWN_TITLE: &str = "# mmsoak soak report\n\n";

/// [`markdown_head`] with, for a run that ended early, why under the title
/// ([`RunStop::markdown`]); without a stop, `markdown_head`'s bytes.
pub fn markdown_head_stopped(r: &TuningReport, charts_dir: Option<&str>, stop: Option<&RunStop>) -> String {
    let head = markdown_head(r, charts_dir);
    match (stop, head.strip_prefix(MARKDOWN_TITLE)) {
        (Some(stop), Some(rest)) => format!("{MARKDOWN_TITLE}{}{rest}", stop.markdown()),
        _ => head,
    }
}
