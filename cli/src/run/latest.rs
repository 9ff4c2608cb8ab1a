//! `<out>/latest`: made ready for a fresh run (a previous run moved aside),
//! and read back by `--resume` (how far the run got, checkpoints after a crash).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use mmsoak_core::soak::SoakState;

use crate::{checkpoint, rotate};

use super::RunRecord;

/// How far an interrupted run got. No state yet means it stopped before its first
/// iteration completed: it restarts in place. (Its summaries stay on disk: the
/// report is streamed from them.)
pub struct Progress {
    pub state: Option<SoakState>,
}

/// Whether the state in `latest` says every one of the run's iterations is done,
/// with all their summaries there (else [`load_progress`] goes back to a
/// checkpoint, and there are iterations to run). Only reads; a missing or
/// unreadable state is left to [`load_progress`].
pub(super) fn state_finished(latest: &Path, iterations: u32) -> bool {
    std::fs::read(latest.join("TUNING_STATE.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<SoakState>(&bytes).ok())
        .is_some_and(|state| {
            state.iteration >= iterations && rotate::for_each_summary(latest, state.iteration, |_| Ok(())).is_ok()
        })
}

/// Whether the run in `out` has every iteration done: its own and, with
/// `--compare-baseline`, its baseline run's (see [`baseline_progress`]).
pub(super) fn run_finished(out: &Path, record: &RunRecord) -> bool {
    let n = record.settings.iterations;
    state_finished(&out.join("latest"), n)
        && (!record.compare_baseline
            || (is_this_runs_baseline(out) && state_finished(&out.join("baseline").join("latest"), n)))
}

/// Whether `<out>/baseline/latest` is this run's baseline run, which writes
/// the run's own RUN.json there: an earlier run's is moved aside only when
/// this run's baseline starts.
fn is_this_runs_baseline(out: &Path) -> bool {
    let record = |dir: &Path| {
        std::fs::read(dir.join("latest").join("RUN.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
    };
    record(&out.join("baseline")).is_some_and(|baseline| Some(baseline) == record(out))
}

/// `--resume` of a `--compare-baseline` run: how far its baseline run got, when
/// `<out>/baseline` holds this run's; `None` when it has not started (it starts
/// afresh, anything there moved aside).
pub(super) fn baseline_progress(out: &Path) -> Result<Option<Progress>> {
    if !is_this_runs_baseline(out) {
        return Ok(None);
    }
    load_progress(&out.join("baseline").join("latest")).map(Some)
}

/// Makes `<out>/latest` ready for a new run. A previous run's files are moved
/// aside to `<out>/runs/run-<unix time>` rather than overwritten or mixed in.
pub(super) fn prepare_out(out: &Path) -> Result<PathBuf> {
    let latest = out.join("latest");
    std::fs::create_dir_all(out).with_context(|| format!("cannot create --out directory {}", out.display()))?;
    let has_previous = std::fs::read_dir(&latest).map(|mut d| d.next().is_some()).unwrap_or(false);
    if has_previous {
        let runs = out.join("runs");
        std::fs::create_dir_all(&runs).with_context(|| format!("cannot create {}", runs.display()))?;
        let stamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut dest = runs.join(format!("run-{stamp}"));
        let mut n = 1;
        while dest.exists() {
            dest = runs.join(format!("run-{stamp}-{n}"));
            n += 1;
        }
        std::fs::rename(&latest, &dest)
            .with_context(|| format!("cannot move the previous run {} to {}", latest.display(), dest.display()))?;
    }
    std::fs::create_dir_all(&latest).with_context(|| format!("cannot create {}", latest.display()))?;
    // Fail now, not after the first iteration, if the directory is not writable.
    tempfile::tempfile_in(&latest).with_context(|| format!("--out directory {} is not writable", out.display()))?;
    Ok(latest)
}

/// Reads back the state and summaries of an interrupted run. A corrupt state file
/// is an error that leaves every file as it is.
pub(super) fn load_progress(latest: &Path) -> Result<Progress> {
    let path = latest.join("TUNING_STATE.json");
    // Temp files of writes a crash cut short: never renamed, so never artifacts.
    for entry in std::fs::read_dir(latest).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(".mmsoak-tmp-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if !path.exists() {
        return Ok(Progress { state: None });
    }
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let state: SoakState = match serde_json::from_slice(&bytes) {
        Ok(state) => state,
        Err(e) => {
            // Empty, cut short, or zeros where the data did not reach the disk.
            let cut_short = e.is_eof() || bytes.iter().all(|b| *b == 0);
            let e = anyhow::Error::from(e).context(format!(
                "{} is corrupt (left untouched; the previous good state is in TUNING_STATE.prev.json)",
                path.display()
            ));
            // A power cut before the group commit can leave the state empty or cut
            // short (but not garbled: that is refused, as any other bad state):
            // the last checkpoint is whole, with every summary up to it.
            let recovered = if cut_short { checkpoint::recover_without_state(latest)? } else { None };
            let Some(committed) = recovered else { return Err(e) };
            eprintln!(
                "mmsoak: {} is empty or cut short (a power cut?): going back to the last checkpoint ({}, iteration {}); \
                 the iterations after it run again",
                path.display(),
                checkpoint::CHECKPOINT,
                committed.iteration
            );
            return Ok(Progress { state: Some(committed) });
        }
    };
    // Every completed iteration's summary must be there and readable (the report is
    // built from them), checked now, before anything is written; none is kept.
    if let Err(e) = rotate::for_each_summary(latest, state.iteration, |_| Ok(())) {
        // A power cut between group commits: the state reached the disk, some of
        // the summaries before it did not. Go back to the last commit.
        let Some(committed) = checkpoint::recover(latest, &state)? else {
            return Err(e.context("cannot resume"));
        };
        eprintln!(
            "mmsoak: {e:#}: going back to the last checkpoint ({}, iteration {}); iterations {} to {} run again",
            checkpoint::CHECKPOINT,
            committed.iteration,
            committed.iteration + 1,
            state.iteration
        );
        return Ok(Progress { state: Some(committed) });
    }
    Ok(Progress { state: Some(state) })
}
