//! The report files a run was asked to write besides its own directory
//! (`--export-md`, `--export-html`, `--summary-export`), recorded in
//! `latest/RUN.json` so that `--resume` writes them again. Without the record,
//! a run that stopped early (bad market data, a data file changed) and was
//! resumed to its end left the reports saying STOPPED beside a finished run,
//! unless the user repeated every export flag. (A module of its own: `run/`
//! is large enough.)

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use crate::args::RunArgs;
use crate::output_path::{self, Write};

/// The report files, each named as its flag is, so RUN.json reads like the
/// command line. [`Exports`] holds the paths a fresh run was given, absolute
/// (see [`Exports::of`]); [`Chosen`], the files this invocation writes. One
/// type for both, so [`Reports::flagged`] is the one list of report flags that
/// every check walks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reports<P> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_md: Option<P>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_html: Option<P>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_export: Option<P>,
}

/// The export paths a fresh run was given, absolute, as RUN.json records them.
pub type Exports = Reports<String>;

/// The files this invocation writes: each flag given on the command line, else
/// (on `--resume`) the path recorded for it.
pub type Chosen = Reports<PathBuf>;

/// The report flags in the order a run checks them, each with its report's
/// `summary_export`, `export_md`, `export_html`: the one list of report flags
/// (a new one is a field above, a line here and an argument where it is called).
fn with_flags<Q>(summary_export: Q, export_md: Q, export_html: Q) -> [(&'static str, Q); 3] {
    [("--summary-export", summary_export), ("--export-md", export_md), ("--export-html", export_html)]
}

impl<P> Reports<P> {
    /// Each report's path with its flag, in the order a run checks them.
    pub fn flagged(&self) -> [(&'static str, Option<&P>); 3] {
        with_flags(self.summary_export.as_ref(), self.export_md.as_ref(), self.export_html.as_ref())
    }

    /// The report `flag` names, not written.
    pub fn forget(&mut self, flag: &str) {
        for (f, path) in with_flags(&mut self.summary_export, &mut self.export_md, &mut self.export_html) {
            if f == flag {
                *path = None;
            }
        }
    }
}

impl Exports {
    pub fn is_empty(&self) -> bool {
        *self == Exports::default()
    }

    /// A fresh run's export flags, each made absolute against the current
    /// directory, so `--resume` from anywhere writes the same files. Lexically
    /// (`std::path::absolute`), not canonicalized as the input files are: an
    /// export may not exist yet, and one that is a symbolic link is replaced,
    /// link and all, by an atomic write; resolving it would make `--resume`
    /// write through the link where the fresh run replaced it.
    pub fn of(args: &RunArgs) -> Self {
        let abs = |p: &Option<PathBuf>| {
            p.as_ref().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()).display().to_string())
        };
        Exports {
            export_md: abs(&args.export_md),
            export_html: abs(&args.export_html),
            summary_export: abs(&args.summary_export),
        }
    }

    /// `--resume`: each recorded export that no flag replaces and that can no
    /// longer be written (its directory gone), with why.
    pub fn unwritable(&self, args: &RunArgs) -> Vec<(&'static str, &str, anyhow::Error)> {
        let given = Chosen::given(args);
        let mut bad = Vec::new();
        for (flag, path) in self.flagged() {
            let Some(path) = path.filter(|_| given.path_of(flag).is_none()) else { continue };
            if let Err(e) = output_path::check(flag, Path::new(path), Write::Replace) {
                bad.push((flag, path.as_str(), e));
            }
        }
        bad
    }

    /// `--resume` of a run with iterations left: every recorded export that no
    /// flag replaces must still be writable (its directory there), checked before
    /// any data is read, as a fresh run checks its flags. One error naming each
    /// one that is not (so a user restores them all at once), the record
    /// (`run_json`) and the two ways on.
    pub fn check_recorded(&self, args: &RunArgs, run_json: &Path) -> Result<()> {
        let bad = self.unwritable(args);
        let record = run_json.display();
        match bad.as_slice() {
            [] => Ok(()),
            [(flag, path, e)] => Err(anyhow!(
                "--resume: {e:#}; the run was started with {flag} {path} (recorded in {record}): \
                 restore the directory, or give {flag} FILE with --resume to write it elsewhere"
            )),
            _ => {
                let why: Vec<String> = bad.iter().map(|(_, _, e)| format!("{e:#}")).collect();
                let started: Vec<String> = bad.iter().map(|(flag, path, _)| format!("{flag} {path}")).collect();
                let instead: Vec<String> = bad.iter().map(|(flag, _, _)| format!("{flag} FILE")).collect();
                let dirs: std::collections::BTreeSet<_> =
                    bad.iter().map(|(_, path, _)| Path::new(path).parent()).collect();
                let restore = if dirs.len() == 1 { "the directory" } else { "the directories" };
                Err(anyhow!(
                    "--resume: {}; the run was started with {} (recorded in {record}): \
                     restore {restore}, or give {} with --resume to write them elsewhere",
                    why.join("; "),
                    and(&started),
                    and(&instead)
                ))
            }
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and(items: &[String]) -> String {
    match items.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

impl Chosen {
    /// The export flags given on the command line, as typed.
    pub fn given(args: &RunArgs) -> Self {
        Chosen {
            export_md: args.export_md.clone(),
            export_html: args.export_html.clone(),
            summary_export: args.summary_export.clone(),
        }
    }

    fn path_of(&self, flag: &str) -> Option<&PathBuf> {
        self.flagged().into_iter().find(|(f, _)| *f == flag).and_then(|(_, p)| p)
    }

    /// What this invocation writes. A flag given with `--resume` wins over the
    /// recorded path for this invocation only: RUN.json is not rewritten. It
    /// records what the run was started with and is written once, when the run
    /// starts; the reports say nothing the run's own files do not, so a copy
    /// asked for elsewhere changes no result, and the next `--resume` without
    /// the flag keeps the files the run began with up to date. (On a fresh run
    /// `recorded` holds the same flags, made absolute.)
    pub fn of_run(args: &RunArgs, recorded: &Exports) -> Self {
        let given = Chosen::given(args);
        let or = |given: Option<PathBuf>, recorded: &Option<String>| given.or_else(|| recorded.as_deref().map(shown));
        Chosen {
            export_md: or(given.export_md, &recorded.export_md),
            export_html: or(given.export_html, &recorded.export_html),
            summary_export: or(given.summary_export, &recorded.summary_export),
        }
    }
}

/// A recorded (absolute) path as a fresh run in the current directory would
/// have been given it: relative to that directory when inside it, so a resumed
/// run's summary and messages name the reports as the fresh run's did.
fn shown(recorded: &str) -> PathBuf {
    let path = Path::new(recorded);
    let cwd = std::env::current_dir().ok();
    match cwd.as_deref().and_then(|cwd| path.strip_prefix(cwd).ok()) {
        Some(inside) if !inside.as_os_str().is_empty() => inside.to_path_buf(),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(flags: &[&str]) -> RunArgs {
        let cli = crate::args::Cli::try_parse_from(["mmsoak", "run"].iter().chain(flags)).unwrap();
        match cli.command {
            crate::args::Command::Run(a) => *a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_fresh_run_records_its_exports_absolute_and_a_flag_given_again_wins() {
        let recorded = Exports::of(&args(&["--export-md", "r/x.md", "--summary-export", "/abs/s.json"]));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(recorded.export_md, Some(cwd.join("r/x.md").display().to_string()));
        assert_eq!(recorded.summary_export.as_deref(), Some("/abs/s.json"));
        assert_eq!(recorded.export_html, None);
        assert!(Exports::of(&args(&[])).is_empty());
        // Old records have no exports: serialized, a record without any has no key.
        assert_eq!(serde_json::to_string(&Exports::default()).unwrap(), "{}");
        assert_eq!(serde_json::from_str::<Exports>("{}").unwrap(), Exports::default());

        let chosen = Chosen::of_run(&args(&["--export-md", "other.md"]), &recorded);
        assert_eq!(chosen.export_md, Some(PathBuf::from("other.md")));
        assert_eq!(chosen.summary_export, Some(PathBuf::from("/abs/s.json")));
        assert_eq!(chosen.export_html, None);
        // A recorded path inside the current directory is named as typed, as a fresh run names it.
        assert_eq!(Chosen::of_run(&args(&[]), &recorded).export_md, Some(PathBuf::from("r/x.md")));
    }

    #[test]
    fn a_recorded_export_whose_directory_is_gone_is_one_error_naming_flag_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone/r.html").display().to_string();
        let recorded = Exports { export_html: Some(gone.clone()), ..Exports::default() };
        let run_json = Path::new("o/latest/RUN.json");
        let e = format!("{:#}", recorded.check_recorded(&args(&[]), run_json).unwrap_err());
        assert!(e.starts_with(&format!("--resume: --export-html {gone}: directory ")), "{e}");
        assert!(e.contains("does not exist; the run was started with --export-html"), "{e}");
        assert!(e.contains("(recorded in o/latest/RUN.json)") && !e.contains('\n'), "{e}");
        // Given again elsewhere, the recorded one is not written, so not checked.
        let elsewhere = dir.path().join("r.html");
        recorded.check_recorded(&args(&["--export-html", elsewhere.to_str().unwrap()]), run_json).unwrap();
    }
}
