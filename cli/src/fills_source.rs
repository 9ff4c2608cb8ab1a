//! `--source fills --fills FILE`: the bot appends its fills, blocked quotes and mid
//! samples to FILE (JSON lines, `mmsoak_core::fills::lines`) and mmsoak computes
//! each iteration's KPIs itself (`mmsoak_core::fills::kpis`) from the lines
//! written during the iteration. With `--exec` the bot is launched with
//! `MMSOAK_FILLS` (and `MMSOAK_OVERRIDES`) in its environment.
//!
//! Reading starts at the end of what FILE holds when the run starts (or resumes):
//! only the bot's trading from then on is measured. An iteration is the lines
//! completed between its start and its end (`SOAK_SLEEP_SECONDS` later).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use mmsoak_core::edge::SourceNotes;
use mmsoak_core::fills::{edge_from_lines, MidSample, WindowInputs, MARKOUT_HORIZON_MS, MAX_ERRORS};
use mmsoak_core::params::Params;

use crate::external::{append_to_log, Observation, Supervised};
use crate::fills_log::FillsLog;

pub struct FillsSource {
    log: FillsLog,
    bot: Option<Supervised>,
    /// `latest/bot.log`: warnings about the log's content go there too.
    bot_log: PathBuf,
    inventory: f64,
    last_mid: Option<MidSample>,
    /// Unknown field names already warned about (once per run).
    warned: std::collections::BTreeSet<String>,
    duration_s: u32,
    /// Markout horizon, ms.
    horizon_ms: u64,
}

impl FillsSource {
    /// Starts following `fills` (from its current end) and, with `exec`, launches the bot.
    pub fn start(
        fills: &Path,
        exec: Option<&str>,
        exec_dir: Option<&Path>,
        out: &Path,
        overrides: &Path,
        latest: &Path,
        iteration: Duration,
    ) -> Result<FillsSource> {
        let log = FillsLog::from_end(fills)?;
        let bot_log = latest.join("bot.log");
        let bot = match exec {
            Some(cmd) => Some(Supervised::launch(
                cmd,
                exec_dir,
                out,
                &[("MMSOAK_OVERRIDES", overrides), ("MMSOAK_FILLS", fills)],
                &bot_log,
            )?),
            None => None,
        };
        Ok(FillsSource {
            log,
            bot,
            bot_log,
            inventory: 0.0,
            last_mid: None,
            warned: Default::default(),
            duration_s: iteration.as_secs_f64().round() as u32,
            horizon_ms: MARKOUT_HORIZON_MS,
        })
    }

    /// Markouts at `horizon_ms` after each maker fill instead of the default 5 s.
    pub fn with_markout(mut self, horizon_ms: u64) -> Self {
        self.horizon_ms = horizon_ms;
        self
    }

    /// A supervised bot that has exited is fatal: there is nothing left to observe.
    pub fn check_bot(&mut self) -> Result<()> {
        match &mut self.bot {
            Some(bot) => bot.check(),
            None => Ok(()),
        }
    }

    /// Iteration `iteration`'s observation: the KPIs of the lines completed since
    /// the last call. `note` prints a line on the run's progress output.
    pub fn next(&mut self, iteration: u32, in_force: &Params, note: &dyn Fn(&str)) -> Result<Observation> {
        self.check_bot()?;
        let batch = self.log.poll()?;
        if let Some(why) = &batch.restarted {
            note(&format!("mmsoak: iteration {iteration}: fills log {why}"));
        }
        for e in batch.bad.iter().take(MAX_ERRORS) {
            note(&format!("mmsoak: iteration {iteration}: unusable line, skipped: {e}"));
        }
        if batch.bad.len() > MAX_ERRORS {
            note(&format!("mmsoak: iteration {iteration}: … and {} more unusable lines", batch.bad.len() - MAX_ERRORS));
        }
        // Each unknown field once, with the first line it was seen on.
        let mut unknown: BTreeMap<&str, u64> = BTreeMap::new();
        for (line, field) in &batch.unknown {
            unknown.entry(field.as_str()).or_insert(*line);
        }
        let new: Vec<&str> = unknown.keys().copied().filter(|f| !self.warned.contains(*f)).collect();
        if !new.is_empty() {
            let line = format!(
                "mmsoak: warning: {}: fields this mmsoak does not know, accepted and not used: {}",
                self.log.path().display(),
                new.join(", ")
            );
            note(&line);
            append_to_log(&self.bot_log, &line);
            self.warned.extend(new.iter().map(|s| s.to_string()));
        }
        let inputs = WindowInputs {
            iteration,
            horizon_ms: self.horizon_ms,
            duration_s: self.duration_s,
            inventory_start: self.inventory,
            prior_mid: self.last_mid,
            in_force,
        };
        let outcome = edge_from_lines(&batch.lines, &inputs);
        self.inventory = outcome.inventory_end;
        self.last_mid = outcome.last_mid;
        let mut edge = outcome.edge;
        let notes = edge.source_notes.get_or_insert_with(SourceNotes::default);
        notes.unknown_fields = unknown.iter().map(|(f, line)| format!("{f} (first on line {line})")).collect();
        if let Some(fl) = notes.fills_log.as_mut() {
            fl.bad_lines = batch.bad.len() as u64;
            fl.errors = batch.bad.into_iter().take(MAX_ERRORS).collect();
            fl.restarted = batch.restarted;
        }
        Ok(Observation::Report(Box::new(edge)))
    }
}
