//! `run --resume` continues a run exactly as it started, with the settings in its
//! `latest/RUN.json`. A flag that would change the run (another `--exec`, seed,
//! source…) is refused rather than silently ignored: the user would believe the
//! rest of the run used it. Giving the same value again is fine, so re-running the
//! original command line with `--resume` added works.

use anyhow::{bail, Result};

use crate::tick_settings::Key;

use crate::args::{RunArgs, Source};
use crate::run::RunRecord;

/// Checks the flags given with `--resume` against the run's record (exit 2 on a
/// difference, naming the flag, the value given and the one recorded), without
/// reading the data. A tick flag's value is checked on its own first; on a run
/// that had `finished` (nothing to resume) that is all, as nothing would use it.
/// True when a tick flag is left for [`check_with_data`]: on a finished run, or
/// one whose resolution depends on what the data holds (`--queue-model auto`
/// on LOBSTER data of a run with `prob:3`).
///
/// `section`: mmsoak.toml's `[ticks]`. Its values are not used by a resume (the
/// run's are recorded), so a bad one does not refuse it ([`config_ticks_differ`]
/// warns); but with a bad tick flag it is listed too, to be fixed in one go.
pub fn check(
    args: &RunArgs,
    record: &RunRecord,
    section: &crate::config::TicksSection,
    finished: bool,
) -> Result<bool> {
    let how = if finished { Resolve::Validate } else { Resolve::WithoutData };
    check_flags(args, record, Some(section), how)
}

/// [`check`] with every tick flag compared, reading the data for the one that
/// needs it: once the run is known to have iterations left and its files to
/// hold the bytes it started with.
pub fn check_with_data(args: &RunArgs, record: &RunRecord) -> Result<()> {
    check_flags(args, record, None, Resolve::WithData).map(|_| ())
}

/// How far [`tick_flags`] goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolve {
    /// Each value on its own only.
    Validate,
    /// Compared with the record too, where that needs no data.
    WithoutData,
    /// Compared with the record, reading the data where that needs it.
    WithData,
}

/// A flag given with `--resume` that differs from the record: (flag, value
/// given, value recorded), each shown as a message shows it (see [`shown`]).
type Differ = (&'static str, String, String);

/// A value in a message: a number as it is, text quoted (as the fresh run's
/// messages show them), nothing recorded as `none`.
fn shown(flag: &str, v: &str) -> String {
    const NUMBERS: [&str; 7] = [
        "--iterations",
        "--seed",
        "--iteration-seconds",
        "--markout-ms",
        "--maker-fee-bps",
        "--taker-fee-bps",
        "--backstep-tolerance-ms",
    ];
    match v {
        "" => "none".into(),
        v if NUMBERS.contains(&flag) => v.into(),
        v => format!("{v:?}"),
    }
}

fn check_flags(
    args: &RunArgs,
    record: &RunRecord,
    section: Option<&crate::config::TicksSection>,
    how: Resolve,
) -> Result<bool> {
    let s = &record.settings;
    let mut given: Vec<Differ> = Vec::new();
    let mut compare = |flag: &'static str, new: Option<String>, old: String| {
        if let Some(new) = new.filter(|n| *n != old) {
            given.push((flag, shown(flag, &new), shown(flag, &old)));
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
    let file = record.paths.data_file(s).cloned().unwrap_or_default();
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
        _ if s.ticks.is_none() => compare("--data", args.data.first().map(absolute), file.clone()),
        _ => {}
    }
    if let Some(ms) = args.markout_ms {
        let recorded = record.markout_ms.unwrap_or(mmsoak_core::fills::MARKOUT_HORIZON_MS);
        compare("--markout-ms", Some(ms.to_string()), recorded.to_string());
    }
    // The plugin as a file too: by its recorded absolute path, where the record has one.
    let policy = s.policy.as_ref().map(|p| record.paths.policy.clone().unwrap_or_else(|| p.file.clone()));
    let policy_given = args.policy.as_ref().map(|p| match &policy {
        Some(recorded) if resolve(p) == resolve(std::path::Path::new(recorded)) => recorded.clone(),
        _ => resolve(p).display().to_string(),
    });
    compare("--policy", policy_given, policy.unwrap_or_default());
    if !args.guards_off.is_empty() {
        // An unknown name is that, not a difference from the record.
        crate::run::guard_switches(&args.guards_off)?;
        let set = |names: &[String]| {
            let mut v = names.to_vec();
            v.sort();
            v.dedup();
            v.join(",")
        };
        compare("--guards-off", Some(set(&args.guards_off)), set(&record.guards_off));
    }
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
            given.push((flag, shown(flag, &v), shown(flag, "")));
        }
    }
    let mut undecided = false;
    if let Some(t) = &s.ticks {
        // A bad tick flag refuses the resume; mmsoak.toml's bad values, which
        // alone would only be warned about, are listed with it.
        let (parsed, mut bad) = crate::tick_settings::parse_each(&args.ticks, |k| k.flag().to_string());
        if !bad.is_empty() {
            if let Some(section) = section {
                let label = file_label(args);
                let in_file = |k: Key| format!("{label} [ticks] {}", k.toml());
                bad.extend(crate::tick_settings::parse_each(&from_file(args, section), in_file).1);
            }
            crate::tick_settings::listed(bad)?;
        }
        let diff = tick_flags(&args.data, &parsed, t, &record.paths, how)?;
        given.extend(diff.differ);
        undecided = diff.undecided;
    } else if let Some(unused) = crate::tick_settings::unused(&args.ticks, &s.source) {
        // Tick flags on a run that is no tick replay: nothing would use them, as a fresh run says.
        bail!("{unused}");
    }
    if args.auto_tune && !s.auto_tune {
        given.push(("--auto-tune", shown("", "on"), shown("", "off")));
    }
    if args.compare_baseline && !record.compare_baseline {
        given.push(("--compare-baseline", shown("", "on"), shown("", "off")));
    }
    // Every difference at once: a user dropping one flag at a time would pay a
    // refused start for each.
    match given.as_slice() {
        [] => Ok(undecided),
        [(flag, new, old)] => bail!(
            "{flag} {new}: --resume continues the run as it started, and its latest/RUN.json has {flag} {old}; \
             drop the flag, or start a new run (without --resume) to change it"
        ),
        many => bail!(
            "{} flags differ from the run's: --resume continues the run as it started, with its latest/RUN.json; \
             drop them, or start a new run (without --resume) to change them:\n  {}",
            many.len(),
            many.iter()
                .map(|(flag, new, old)| format!("{flag} {new} (RUN.json has {old})"))
                .collect::<Vec<_>>()
                .join("\n  ")
        ),
    }
}

/// mmsoak.toml's `[ticks]` values that no flag given overrides.
fn from_file(args: &RunArgs, section: &crate::config::TicksSection) -> crate::args::TickFlags {
    let g = &args.ticks;
    let f = section.as_flags();
    crate::args::TickFlags {
        data_format: f.data_format.filter(|_| g.data_format.is_none()),
        queue_model: f.queue_model.filter(|_| g.queue_model.is_none()),
        latency: f.latency.filter(|_| g.latency.is_none()),
        maker_fee_bps: f.maker_fee_bps.filter(|_| g.maker_fee_bps.is_none()),
        taker_fee_bps: f.taker_fee_bps.filter(|_| g.taker_fee_bps.is_none()),
        tick_size: f.tick_size.filter(|_| g.tick_size.is_none()),
        backstep_tolerance_ms: f.backstep_tolerance_ms.filter(|_| g.backstep_tolerance_ms.is_none()),
    }
}

/// The config file as messages name it: as `--config` gave it, else its default name.
fn file_label(args: &RunArgs) -> String {
    args.place.config.as_ref().map_or_else(|| crate::config::DEFAULT_CONFIG.into(), |p| p.display().to_string())
}

/// `--resume`: warnings for mmsoak.toml's `[ticks]` settings (those no flag
/// overrides) that differ from the run's record, one line each, naming the field
/// and both values as the file and the record have them; and for those that are
/// not valid, which a resume does not use either (the run's are recorded), so
/// they are said, not refused. The run goes on with the recorded ones.
/// `resolve`: as in [`tick_flags`] (what it leaves undecided is left out).
pub fn config_ticks_differ(
    args: &RunArgs,
    section: &crate::config::TicksSection,
    record: &RunRecord,
    resolve: Resolve,
) -> Result<Vec<String>> {
    let file = from_file(args, section);
    let label = file_label(args);
    let (parsed, _) = crate::tick_settings::parse_each(&file, |k| k.toml().to_string());
    // A key in TOML's syntax: text quoted, a number as it is.
    let assigned = |key: Key, v: &str| format!("{} = {}", key.toml(), shown(key.flag(), v));
    let Some(t) = &record.settings.ticks else {
        // Not a tick replay: no key is used, and the fresh run refused a bad one.
        return Ok(invalid(&file, |key, text, reason| {
            format!(
                "mmsoak: warning: {label} [ticks] {} is not valid ({reason}) and not used: \
                 this run's source is {}",
                assigned(key, text),
                record.settings.source
            )
        }));
    };
    let mut lines = Vec::new();
    for (flag, _, old) in tick_flags(&[], &parsed, t, &record.paths, resolve)?.differ {
        let Some(p) = parsed.iter().find(|p| p.key.flag() == flag) else { continue };
        lines.push(format!(
            "mmsoak: warning: {label} [ticks] {} is not used: --resume continues the run as it started, \
             with {} {old} (its latest/RUN.json)",
            assigned(p.key, &p.text),
            p.key.toml()
        ));
    }
    // A bad value is not used either: said so, with what is wrong with it, not refused.
    lines.extend(invalid(&file, |key, text, reason| {
        format!(
            "mmsoak: warning: {label} [ticks] {} is not used: --resume continues the run as it started, \
             with {} {} (its latest/RUN.json); it is not valid either: {reason}",
            assigned(key, text),
            key.toml(),
            shown(key.flag(), &recorded(key, &t.config))
        )
    }));
    Ok(lines)
}

/// A warning for each value in `file` that is not valid on its own.
fn invalid(file: &crate::args::TickFlags, line: impl Fn(Key, &str, String) -> String) -> Vec<String> {
    crate::tick_settings::given(file)
        .into_iter()
        .filter_map(|(key, text)| {
            let reason = crate::tick_settings::parse_text(key, &text, true, true).err()?;
            Some(line(key, &text, reason))
        })
        .collect()
}

/// A resumed tick replay's `--data` and tick flags against its record, before
/// any data is read: each flag given is checked on its own first (a malformed
/// value is refused naming the flag and the value), then resolved the way the
/// run's start resolved it and refused when that differs from the recorded
/// value, so the original command line with `--resume` added still works. One
/// case depends on what the files hold: `--queue-model auto` where the run has
/// `prob:3` and a LOBSTER stream (`auto` is `fifo` on data with order ids, and
/// only LOBSTER has them). [`Resolve::WithoutData`] leaves it undecided
/// ([`TickDiff::undecided`]); [`Resolve::WithData`] reads the recorded files to
/// decide it, with the recorded format and backstep tolerance;
/// [`Resolve::Validate`] compares no tick flag (and calls each undecided).
fn tick_flags(
    data: &[std::path::PathBuf],
    given: &[crate::tick_settings::Parsed],
    t: &mmsoak_core::report::TickSettings,
    paths: &crate::run::InputPaths,
    resolve: Resolve,
) -> Result<TickDiff> {
    use crate::tick_settings::{parse_text, Key, Value};
    use mmsoak_core::exchange::QueueModel;
    use mmsoak_core::feed::Format;
    let mut diff = TickDiff::default();
    let files = paths.tick_files(t);
    let scan = resolve == Resolve::WithData;
    if !data.is_empty() {
        // As the run's start reads them: a file named twice (or through a link) is one file.
        let resolved = |ps: &[std::path::PathBuf]| {
            let mut v: Vec<_> = ps.iter().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())).collect();
            v.sort();
            v.dedup();
            v
        };
        if resolved(data) != resolved(&files) {
            let list = |ps: &[std::path::PathBuf]| ps.iter().map(|p| p.display().to_string()).collect::<Vec<_>>();
            diff.differ.push((
                "--data",
                shown("--data", &list(data).join(" ")),
                shown("--data", &list(&files).join(" ")),
            ));
        }
    }
    let c = &t.config;
    // Each value was parsed on its own by the caller (every bad one reported, as a
    // fresh run does); here each is compared with the record, as a value: `-0`
    // and `0` are one fee, `prob:3.0` is `prob:3`.
    for p in given {
        let (key, value) = (p.key, p.text.as_str());
        let flag = key.flag();
        let same = match key {
            Key::DataFormat => c.formats.iter().all(|&g| Value::Format(g) == p.value),
            Key::QueueModel => {
                let lobster = c.formats.contains(&Format::Lobster);
                // Recorded fifo means the data has order ids; without LOBSTER it has none.
                let has_ids = match (c.queue, lobster) {
                    (QueueModel::Fifo, _) => Some(true),
                    (_, false) => Some(false),
                    _ => None,
                };
                // The model depends on the data (`auto`, and `fifo` needs order ids), so
                // it is parsed again knowing the data's ids, where the record tells them.
                // One the data cannot have (`fifo` without order ids) is not the
                // run's model: it differs, listed with the other flags that do (or,
                // from mmsoak.toml, warned about as not used), not refused alone.
                let parsed = |ids: bool| parse_text(key, value, ids, true);
                match has_ids {
                    Some(ids) => parsed(ids) == Ok(Value::Queue(c.queue)),
                    // `fifo`, or `auto` on a run that is not `prob:3`: another model whatever the data.
                    None if value == "fifo" || (value == "auto" && c.queue != QueueModel::default()) => false,
                    None if value == "auto" && !scan => {
                        diff.undecided = true;
                        true
                    }
                    None if value == "auto" => {
                        let choices = mmsoak_core::exchange::plan::TickChoices {
                            queue_model: Some(value.to_string()),
                            ..Default::default()
                        };
                        let recorded_format = match c.formats.as_slice() {
                            [first, rest @ ..] if rest.iter().all(|r| r == first) => Some(*first),
                            _ => None,
                        };
                        let now = crate::ticks::plan(
                            &files,
                            recorded_format,
                            Some(c.backstep_tolerance_ns),
                            &choices,
                            // One window is enough to resolve the flag; the run's length was checked at its start.
                            1,
                            c.iteration_seconds,
                            &crate::ticks::flag_name,
                        )?
                        .config;
                        now.queue == c.queue
                    }
                    None => p.value == Value::Queue(c.queue),
                }
            }
            // `data` needs the data's two stamps: a run recorded with it has them, one
            // recorded with a constant latency has another model whatever the data.
            Key::Latency => p.value == Value::Latency(c.latency),
            Key::MakerFeeBps => p.value == Value::Fee(c.fees.maker_bps),
            Key::TakerFeeBps => p.value == Value::Fee(c.fees.taker_bps),
            Key::TickSize => p.value == Value::Tick(c.tick),
            Key::BackstepToleranceMs => p.value == Value::BackstepNs(c.backstep_tolerance_ns),
        };
        if resolve == Resolve::Validate {
            diff.undecided = true;
        } else if !same {
            diff.differ.push((flag, shown(flag, value), shown(flag, &recorded(key, c))));
        }
    }
    Ok(diff)
}

/// What [`tick_flags`] found.
#[derive(Debug, Default)]
struct TickDiff {
    /// Each that differs.
    differ: Vec<Differ>,
    /// A flag whose resolution needs the data was left for a reading of it.
    undecided: bool,
}

/// A tick flag's recorded value, spelled as the flag takes it.
fn recorded(key: crate::tick_settings::Key, c: &mmsoak_core::exchange::TickConfig) -> String {
    use crate::tick_settings::Key;
    use mmsoak_core::exchange::plan::setting::shown;
    use mmsoak_core::exchange::{LatencyModel, QueueModel};
    match key {
        Key::DataFormat => c.formats.iter().map(|f| f.name()).collect::<Vec<_>>().join(", "),
        Key::QueueModel => match c.queue {
            QueueModel::Fifo => "fifo".into(),
            QueueModel::RiskAverse => "risk-averse".into(),
            QueueModel::PowerProb { n } => format!("prob:{n}"),
        },
        Key::Latency => match c.latency {
            LatencyModel::Constant { entry_ms, response_ms } => format!("constant:{entry_ms}:{response_ms}"),
            LatencyModel::Data { entry_ms } => format!("data:{entry_ms}"),
        },
        Key::MakerFeeBps => shown(c.fees.maker_bps),
        Key::TakerFeeBps => shown(c.fees.taker_bps),
        Key::TickSize => mmsoak_core::feed::TickSize::price(c.tick, 1).to_string(),
        Key::BackstepToleranceMs => shown(c.backstep_tolerance_ns as f64 / 1e6),
    }
}
