//! A run stopped by bad market data met mid-run (a data file edited, cut or
//! replaced after the start-of-run scan passed), or by a tick data file that
//! changed while the run replayed it ([`Changed`]). It ends like a run an
//! `abort_on_fail` threshold stopped: the iterations done stay, committed, and
//! the report and summary are written for them; then one error line (exit 2,
//! bad input) says what is wrong where, how far the run got, and what
//! `--resume` will do.

use std::path::Path;

use mmsoak_core::report::{RunStop, StopCause};

use crate::data::stamps::{said, Changed, ChangedFile, How};
use crate::data::BadData;
use crate::summary::BadDataStop;

/// Bad data that stopped a soak after `done` of `planned` iterations.
#[derive(Debug)]
pub struct DataStop {
    /// One line naming the file, the line and the bad value ([`BadData`]), or
    /// the files that changed and how ([`Changed`]).
    pub error: anyhow::Error,
    pub done: u32,
    pub planned: u32,
    /// It was the `--compare-baseline` run that stopped (the report goes without the comparison).
    pub baseline: bool,
}

impl DataStop {
    pub fn in_baseline(self) -> Self {
        DataStop { baseline: true, ..self }
    }

    fn which(&self) -> &'static str {
        if self.baseline {
            "the baseline run"
        } else {
            "the run"
        }
    }

    /// A data file changed under the replay, rather than bad data met.
    pub fn data_changed(&self) -> bool {
        self.error.is::<Changed>()
    }

    /// Why, in a few words: "bad market data", or "a market data file changed".
    pub fn cause(&self) -> &'static str {
        if self.data_changed() {
            "a market data file changed"
        } else {
            "bad market data"
        }
    }

    /// What the end-of-run summary says: after which iteration, and why.
    pub fn summary(&self) -> BadDataStop {
        BadDataStop {
            after_iteration: self.done,
            reason: if self.data_changed() {
                format!("{} stopped because a market data file changed: {}", self.which(), self.error)
            } else {
                format!("{} stopped on bad market data: {}", self.which(), self.error)
            },
            baseline: self.baseline,
            cause: self.cause(),
        }
    }

    /// What the Markdown and HTML reports say under their title.
    pub fn run_stop(&self) -> RunStop {
        let error = format!("{:#}", self.error);
        RunStop {
            after_iteration: self.done,
            planned: self.planned,
            cause: match (self.baseline, self.data_changed()) {
                (false, false) => StopCause::BadData(error),
                (true, false) => StopCause::BaselineBadData(error),
                (false, true) => StopCause::DataChanged(error),
                (true, true) => StopCause::BaselineDataChanged(error),
            },
            // The caller knows whether a baseline was asked for and skipped.
            baseline_skipped: false,
        }
    }

    /// The run's one error line. `changed`: the data files that no longer hold
    /// the bytes the run started with, all of them (`--resume` refuses to go on
    /// until they do).
    pub fn into_error(self, changed: &[&str], out: &Path) -> anyhow::Error {
        let how_far = format!(
            "{} stopped after iteration {} of {} (its summaries and TUNING_REPORT cover those)",
            self.which(),
            self.done,
            self.planned
        );
        if let Some(c) = self.error.downcast_ref::<Changed>() {
            return BadData { message: changed_line(c, changed, &how_far, out) }.into();
        }
        let next = match changed {
            [] => "the data files hold the bytes the run started with, so --resume would stop here again: \
                   fix the data and start a new run"
                .to_string(),
            [path] => format!(
                "{path} changed since the run started: restore it and continue with \
                 `mmsoak run --resume --out {}`, or start a new run",
                out.display()
            ),
            paths => format!(
                "{} changed since the run started: restore them and continue with \
                 `mmsoak run --resume --out {}`, or start a new run",
                paths.join(" and "),
                out.display()
            ),
        };
        let message = format!("{}; {how_far}; {next}", self.error);
        BadData { message }.into()
    }
}

/// The stop line of a run whose data file changed under it: each file named
/// once, with what happened to it (the sha256 telling a write from a touch),
/// then how far the run got and what `--resume` needs. `changed`: as in
/// [`DataStop::into_error`].
fn changed_line(c: &Changed, changed: &[&str], how_far: &str, out: &Path) -> String {
    let resume = format!("`mmsoak run --resume --out {}`", out.display());
    // The record names a file canonical, the stamps as given.
    let canonical =
        |p: &Path| std::fs::canonicalize(p).or_else(|_| std::path::absolute(p)).unwrap_or_else(|_| p.to_path_buf());
    let differs = |f: &ChangedFile| {
        f.how == How::Removed || changed.iter().any(|p| canonical(Path::new(p)) == canonical(&f.path))
    };
    if changed.is_empty() {
        // Touched, chmod-ed, or written and back: the stamp moved but the bytes are the run's.
        let (it, holds) = if c.files.len() == 1 { ("it", "holds") } else { ("they", "hold") };
        return format!(
            "{} during the run; {it} still {holds} the bytes the run started with (the sha256 in its \
             latest/RUN.json), so nothing replayed differed, but {how_far}, as a change is seen before the bytes \
             can be compared; continue with {resume}",
            said(&c.files, Some(&|_| false))
        );
    }
    // Files whose bytes changed without their stamp moving are named too (seen by the sha256 only).
    let unstamped: Vec<&str> = changed
        .iter()
        .copied()
        .filter(|p| !c.files.iter().any(|f| canonical(Path::new(p)) == canonical(&f.path)))
        .collect();
    let differing: Vec<String> = c.files.iter().filter(|f| differs(f)).map(|f| f.path.display().to_string()).collect();
    let restore = match (unstamped.as_slice(), differing.len() == c.files.len()) {
        ([], true) if c.files.len() == 1 => "restore it".to_string(),
        ([], true) => "restore them".to_string(),
        _ => {
            let all: Vec<String> = differing.into_iter().chain(unstamped.iter().map(|p| p.to_string())).collect();
            format!("restore {}", all.join(" and "))
        }
    };
    format!(
        "{} during the run, so the rest of the run would not replay the bytes it started with (the sha256 in its \
         latest/RUN.json); {how_far}; {restore} and continue with {resume}, or start a new run",
        said(&c.files, Some(&differs))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop() -> DataStop {
        let error =
            BadData { message: "q.csv: line 7: column ask_price: \"-1\" is not a positive price".into() }.into();
        DataStop { error, done: 3, planned: 26, baseline: false }
    }

    #[test]
    fn one_line_saying_where_how_far_and_what_next() {
        let e = stop().into_error(&["/d/q.csv"], Path::new("o"));
        assert!(e.is::<BadData>());
        let text = format!("{e:#}");
        assert!(!text.contains('\n'), "{text}");
        assert!(text.starts_with("q.csv: line 7: column ask_price: \"-1\" is not a positive price; "), "{text}");
        assert!(text.contains("the run stopped after iteration 3 of 26"), "{text}");
        assert!(text.contains("/d/q.csv changed since the run started"), "{text}");
        assert!(text.contains("`mmsoak run --resume --out o`"), "{text}");
        let both = format!("{:#}", stop().into_error(&["/d/a.gz", "/d/b.gz"], Path::new("o")));
        assert!(both.contains("/d/a.gz and /d/b.gz changed since the run started: restore them"), "{both}");
        let e = stop().in_baseline().into_error(&[], Path::new("o"));
        let text = format!("{e:#}");
        assert!(text.contains("the baseline run stopped after iteration 3 of 26"), "{text}");
        assert!(text.contains("--resume would stop here again"), "{text}");
        assert_eq!(stop().summary().after_iteration, 3);
        assert!(!stop().summary().baseline && stop().in_baseline().summary().baseline);
        let said = "q.csv: line 7: column ask_price: \"-1\" is not a positive price".to_string();
        assert_eq!(
            stop().run_stop(),
            RunStop {
                after_iteration: 3,
                planned: 26,
                cause: StopCause::BadData(said.clone()),
                baseline_skipped: false
            }
        );
        assert_eq!(stop().in_baseline().run_stop().cause, StopCause::BaselineBadData(said));
    }

    fn changed(how: How) -> DataStop {
        let files = vec![ChangedFile { path: "/d/q.csv".into(), how }];
        DataStop {
            error: Changed { message: format!("{} during the run", said(&files, None)), files }.into(),
            done: 2,
            planned: 6,
            baseline: false,
        }
    }

    /// Each file named once, saying plainly what happened to it and what to do;
    /// a same-size change told a write or a touch by the file's sha256.
    #[test]
    fn a_changed_file_says_once_what_happened_and_a_file_back_as_it_was_resumes() {
        let grew = || changed(How::Grew(10, 20));
        assert!(grew().data_changed() && !stop().data_changed());
        assert_eq!(grew().cause(), "a market data file changed");
        let summary = grew().summary();
        assert_eq!(
            summary.reason,
            "the run stopped because a market data file changed: /d/q.csv grew from 10 to 20 bytes during the run"
        );
        let line = |stop: DataStop, changed: &[&str]| {
            let e = stop.into_error(changed, Path::new("o"));
            assert!(e.is::<BadData>(), "exit 2 as bad data");
            format!("{e:#}")
        };
        let how_far = "the run stopped after iteration 2 of 6 (its summaries and TUNING_REPORT cover those)";
        let differs = |what: &str| {
            format!(
                "/d/q.csv {what} during the run, so the rest of the run would not replay the bytes it started with \
                 (the sha256 in its latest/RUN.json); {how_far}; restore it and continue with \
                 `mmsoak run --resume --out o`, or start a new run"
            )
        };
        assert_eq!(line(grew(), &["/d/q.csv"]), differs("grew from 10 to 20 bytes"));
        assert_eq!(line(changed(How::Removed), &["/d/q.csv"]), differs("was removed or can no longer be read"));
        assert_eq!(line(changed(How::Modified), &["/d/q.csv"]), differs("was written to (same size)"));
        // Touched, or written back: one statement, no "changed ... again".
        assert_eq!(
            line(changed(How::Modified), &[]),
            format!(
                "/d/q.csv was touched (its modification time moved) during the run; it still holds the bytes the \
                 run started with (the sha256 in its latest/RUN.json), so nothing replayed differed, but {how_far}, \
                 as a change is seen before the bytes can be compared; continue with `mmsoak run --resume --out o`"
            )
        );
        let chmod = line(changed(How::StatusChanged), &[]);
        assert!(chmod.starts_with("/d/q.csv had its permissions or owner changed, or was written to with its modification time put back (same size and modification time, its inode's change time moved) during the run; it still holds"), "{chmod}");
        assert_eq!(chmod.matches('(').count(), 3, "no bracket inside another: {chmod}");
    }
}
