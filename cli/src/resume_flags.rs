//! `run --resume` continues a run exactly as it started, with the settings in its
//! `latest/RUN.json`. A flag that would change the run (another `--exec`, seed,
//! source…) is refused rather than silently ignored: the user would believe the
//! rest of the run used it. Giving the same value again is fine, so re-running the
//! original command line with `--resume` added works.

use anyhow::{bail, Result};

use crate::args::{RunArgs, Source};
use crate::run::RunRecord;

/// Checks the flags given with `--resume` against the run's record (exit 2 on a
/// difference, naming the flag, the value given and the one recorded).
pub fn check(args: &RunArgs, record: &RunRecord) -> Result<()> {
    let s = &record.settings;
    let mut given: Vec<(&str, String, String)> = Vec::new();
    let mut compare = |flag: &'static str, new: Option<String>, old: String| {
        if let Some(new) = new.filter(|n| *n != old) {
            given.push((flag, new, old));
        }
    };
    let source = if args.mock { Some(Source::Sim) } else { args.source };
    compare("--source", source.map(|s| s.name().to_string()), s.source.clone());
    compare("--iterations", args.iterations.map(|n| n.to_string()), s.iterations.to_string());
    compare("--seed", args.seed.map(|n| n.to_string()), s.seed.to_string());
    compare("--regime", args.regime.clone(), s.regime.clone());
    compare("--profile", args.profile.clone(), s.profile.clone());
    compare("--iteration-seconds", args.iteration_seconds.map(|n| n.to_string()), s.iteration_seconds.to_string());
    compare("--exec", args.exec.clone(), record.exec.clone().unwrap_or_default());
    // The file each source reads, under its own flag: a live bot's file is
    // recorded absolute, so a relative one given again is compared absolute.
    let file = s.data_file.clone().unwrap_or_default();
    let resolve = |p: &std::path::Path| {
        std::fs::canonicalize(p).or_else(|_| std::path::absolute(p)).unwrap_or_else(|_| p.to_path_buf())
    };
    // The recorded spelling when both name the same file (`x/../f`, a symlink).
    let absolute = |p: &std::path::PathBuf| {
        if resolve(p) == resolve(std::path::Path::new(&file)) {
            file.clone()
        } else {
            resolve(p).display().to_string()
        }
    };
    match s.source.as_str() {
        "external" => compare("--report", args.report.as_ref().map(absolute), file.clone()),
        "fills" => compare("--fills", args.fills.as_ref().map(absolute), file.clone()),
        _ if s.ticks.is_none() => compare("--data", args.data.first().map(|p| p.display().to_string()), file.clone()),
        _ => {}
    }
    if let Some(ms) = args.markout_ms {
        let recorded = record.markout_ms.unwrap_or(mmsoak_core::fills::MARKOUT_HORIZON_MS);
        compare("--markout-ms", Some(ms.to_string()), recorded.to_string());
    }
    let policy = s.policy.as_ref().map(|p| p.file.clone()).unwrap_or_default();
    compare("--policy", args.policy.as_ref().map(|p| p.display().to_string()), policy);
    let own = match s.source.as_str() {
        "external" => "--report",
        "fills" => "--fills",
        _ => "--data",
    };
    let others = [
        ("--report", args.report.as_ref().map(|p| p.display().to_string())),
        ("--fills", args.fills.as_ref().map(|p| p.display().to_string())),
        ("--data", args.data.first().map(|p| p.display().to_string())),
    ];
    for (flag, value) in others {
        if let Some(v) = value.filter(|_| flag != own) {
            given.push((flag, v, String::new()));
        }
    }
    if args.auto_tune && !s.auto_tune {
        given.push(("--auto-tune", "on".into(), "off".into()));
    }
    if args.compare_baseline && !record.compare_baseline {
        given.push(("--compare-baseline", "on".into(), "off".into()));
    }
    if let Some((flag, new, old)) = given.first() {
        let old = if old.is_empty() { "none".to_string() } else { format!("{old:?}") };
        bail!(
            "{flag} {new:?}: --resume continues the run as it started, and its latest/RUN.json has {flag} {old}; \
             drop the flag, or start a new run (without --resume) to change it"
        );
    }
    Ok(())
}
