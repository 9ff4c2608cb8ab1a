//! Why a run ended early ([`RunStop`]), as the Markdown and HTML reports say it
//! near the top.

/// Why a run ended before its planned iterations. TUNING_REPORT does not record
/// it (the shell decides it: an `abort_on_fail` threshold, bad market data met
/// mid-run); the Markdown and HTML reports say it near the top. A run that went
/// to its end has none, and its reports are byte for byte as they were.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStop {
    /// Iterations done when the run stopped (of the baseline run for
    /// [`StopCause::BaselineBadData`] and [`StopCause::BaselineDataChanged`]).
    pub after_iteration: u32,
    pub planned: u32,
    pub cause: StopCause,
    /// `--compare-baseline` was asked, and the stop of the tuned run skipped its baseline.
    pub baseline_skipped: bool,
}

/// What stopped a run, with its one-line detail.
#[derive(Debug, Clone, PartialEq)]
pub enum StopCause {
    /// An `abort_on_fail` threshold failed: its label (`kpi_verdict: fail_count < 2 (observed 2)`).
    Threshold(String),
    /// Bad market data met mid-run: the error (`FILE: line L: …`).
    BadData(String),
    /// Bad market data stopped the `--compare-baseline` run after the tuned run
    /// had finished: the report is whole but without the comparison.
    BaselineBadData(String),
    /// A tick data file changed under the replay (edited, grown, cut, replaced or
    /// removed after the start-of-run checks): the file and how (`FILE (grew from
    /// A to B bytes) changed during the run: …`).
    DataChanged(String),
    /// As [`StopCause::DataChanged`], in the `--compare-baseline` run.
    BaselineDataChanged(String),
}

impl RunStop {
    /// `STOPPED after iteration K of N`, or `The untuned baseline run STOPPED after …`.
    pub fn headline(&self) -> String {
        let whose = match self.cause {
            StopCause::BaselineBadData(_) | StopCause::BaselineDataChanged(_) => "The untuned baseline run ",
            _ => "",
        };
        format!("{whose}STOPPED after iteration {} of {}", self.after_iteration, self.planned)
    }

    /// The words before the detail, the detail, and the words after it.
    fn parts(&self) -> (&'static str, &str, String) {
        let (before, detail, after) = match &self.cause {
            StopCause::Threshold(label) => ("abort_on_fail threshold ", label.as_str(), " failed."),
            StopCause::BadData(e) => ("bad market data: ", e.as_str(), ""),
            StopCause::BaselineBadData(e) => {
                ("bad market data: ", e.as_str(), "; this report has no baseline comparison.")
            }
            StopCause::DataChanged(e) => ("a market data file changed: ", e.as_str(), ""),
            StopCause::BaselineDataChanged(e) => {
                ("a market data file changed: ", e.as_str(), "; this report has no baseline comparison.")
            }
        };
        let skipped = if self.baseline_skipped {
            " The untuned baseline run was skipped (--compare-baseline compares complete runs only)."
        } else {
            ""
        };
        (before, detail, format!("{after}{skipped}"))
    }

    /// The Markdown paragraph: the headline in bold, the detail as code.
    pub fn markdown(&self) -> String {
        let (before, detail, after) = self.parts();
        format!("**{}:** {before}{}{after}\n\n", self.headline(), code_span(detail))
    }

    /// The HTML paragraph: the headline in bold, the detail as code, escaped by `esc`.
    pub fn html(&self, esc: impl Fn(&str) -> String) -> String {
        let (before, detail, after) = self.parts();
        format!(
            "<p class=\"verdict broken\"><strong>{}:</strong> {}<code>{}</code>{}</p>\n",
            esc(&self.headline()),
            esc(before),
            esc(&one_line(detail)),
            esc(&after)
        )
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// `text` on one line as a Markdown code span: fenced by one backtick more than its
/// longest run of them, padded with a space where it begins or ends with one.
pub(super) fn code_span(text: &str) -> String {
    let text = one_line(text);
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}
