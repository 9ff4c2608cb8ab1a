//! `mmsoak market stats`: the simulator's stylized facts beside real data's.

use anyhow::{Context, Result};
use mmsoak_core::market::{bar_returns, minute_returns, stylized_facts, Regime, StylizedFacts};

use crate::args::StatsArgs;

pub fn plan(args: &StatsArgs) -> Result<Vec<(String, Source)>> {
    let mut rows = Vec::new();
    if let Some(path) = &args.data {
        rows.push((path.display().to_string(), Source::Bars(crate::data::bars::load(path)?.bars)));
    }
    for name in &args.regime {
        let regime = Regime::parse(name).with_context(|| format!("unknown --regime {name:?}"))?;
        rows.push((format!("sim {name} ({} days)", args.days), Source::Sim(regime)));
    }
    Ok(rows)
}

pub enum Source {
    Bars(Vec<mmsoak_core::market::Bar>),
    Sim(Regime),
}

pub fn execute(args: &StatsArgs, rows: Vec<(String, Source)>) -> Result<()> {
    let facts: Vec<(String, StylizedFacts)> = rows
        .into_iter()
        .map(|(label, src)| {
            let returns = match src {
                Source::Bars(bars) => bar_returns(&bars),
                Source::Sim(r) => minute_returns(r, args.seed, args.days * 24 * 60),
            };
            (label, stylized_facts(&returns))
        })
        .collect();
    if args.json {
        let obj: serde_json::Map<String, serde_json::Value> =
            facts.iter().map(|(l, f)| (l.clone(), serde_json::to_value(f).unwrap_or_default())).collect();
        println!("{}", serde_json::to_string_pretty(&obj)?);
        return Ok(());
    }
    // `|` inside a cell is escaped, or Markdown renders the columns shifted.
    println!("| series | minutes | std (bps/min) | excess kurtosis | acf(r) lag 1 | max \\|acf(r)\\| lags 1-10 | acf(\\|r\\|) lag 1 | lag 5 | lag 10 |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (label, f) in &facts {
        let max_raw = f.acf_returns.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        println!(
            "| {label} | {} | {:.2} | {:.2} | {:+.3} | {:.3} | {:+.3} | {:+.3} | {:+.3} |",
            f.minutes,
            f.std_bps,
            f.excess_kurtosis,
            f.acf_returns[0],
            max_raw,
            f.acf_abs_returns[0],
            f.acf_abs_returns[4],
            f.acf_abs_returns[9]
        );
    }
    Ok(())
}
