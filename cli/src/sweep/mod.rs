//! `mmsoak sweep`: many soaks from one sweep file, sharded across workers, jobs
//! of a Slurm array, a Kubernetes Indexed Job or a CI matrix, then merged.
//!
//! spec.rs (the file) → sample.rs (`[params]` points) → plan.rs (runs, shards) →
//! run.rs (one shard, checkpointed) → merge.rs + summary.rs; slurm.rs submits;
//! window.rs reads `[[replay]]` windows of real bars.

pub mod merge;
pub mod parquet_out;
pub mod plan;
pub mod result;
pub mod run;
pub mod sample;
pub mod slurm;
pub mod spec;
pub mod summary;
pub mod window;

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

use crate::args::{whole, whole_u32, EngineChoice};
use plan::Shard;

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Print the deterministic list of runs and the shard each belongs to.
    Plan(PlanArgs),
    /// Run one shard of a sweep (all of it without --shard), checkpointing each run.
    Run(RunArgs),
    /// Check a directory's shard files belong together and write results.csv,
    /// results.jsonl, summary.json and summary.md.
    Merge(MergeArgs),
    /// Write an `sbatch --array` script running one shard per array task, and submit it.
    Slurm(SlurmArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The sweep file (TOML).
    pub file: PathBuf,
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = whole_u32)]
    pub shards: u32,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The sweep file (TOML).
    pub file: PathBuf,
    /// Directory of shard files (shared by every shard of the sweep).
    #[arg(long)]
    pub out: PathBuf,
    /// Run shard I of N (0-based), e.g. `--shard 3/8` [default: the whole sweep, 0/1].
    #[arg(long, value_name = "I/N", conflicts_with = "shard_from_env", allow_negative_numbers = true)]
    pub shard: Option<String>,
    /// Take the shard from the environment: SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT,
    /// JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or MMSOAK_SHARD_INDEX, with the
    /// count from SLURM_ARRAY_TASK_COUNT, --shards or MMSOAK_SHARD_COUNT.
    #[arg(long)]
    pub shard_from_env: bool,
    /// With --shard-from-env: the shard count when the environment lacks one.
    #[arg(long, requires = "shard_from_env", allow_negative_numbers = true, value_parser = whole_u32)]
    pub shards: Option<u32>,
    /// Soaks run at once, each on its own engine [default: 1].
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = whole::<u32, 1, 256>)]
    pub workers: u32,
    #[arg(long, value_enum, default_value_t = EngineChoice::Wasm)]
    pub engine: EngineChoice,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The directory the shards wrote to.
    pub dir: PathBuf,
    /// Where the merged table and summary go.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct SlurmArgs {
    /// The sweep file (TOML).
    pub file: PathBuf,
    /// Array tasks (one shard each).
    #[arg(long, allow_negative_numbers = true, value_parser = whole::<u32, 1, 100_000>)]
    pub shards: u32,
    /// Directory of shard files; the script goes to <out>/sweep.sbatch, logs to <out>/slurm/.
    #[arg(long)]
    pub out: PathBuf,
    /// Workers (and CPUs) per array task.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = whole::<u32, 1, 256>)]
    pub workers: u32,
    /// Extra `#SBATCH` option lines, e.g. `--sbatch=--partition=debug` (repeatable).
    #[arg(long = "sbatch", value_name = "OPTION", allow_hyphen_values = true)]
    pub sbatch: Vec<String>,
    /// Print the script instead of writing and submitting it.
    #[arg(long)]
    pub dry_run: bool,
}

/// A checked command, ready to act (exit 2 on any error before this).
pub enum Ready {
    Plan(Vec<plan::RunSpec>, u32, bool),
    Run(Box<run::ShardPlan>),
    Merge(Box<merge::Merged>, PathBuf),
    Slurm(slurm::SlurmJob, bool),
}

/// Checks every input of a sweep command; nothing is written.
pub fn check(cmd: &SweepCommand) -> Result<Ready> {
    Ok(match cmd {
        SweepCommand::Plan(a) => {
            let spec = spec::load(&a.file)?;
            Shard::new(0, a.shards, "--shards")?;
            Ready::Plan(plan::expand(&spec)?, a.shards, a.json)
        }
        SweepCommand::Run(a) => {
            let spec = spec::load(&a.file)?;
            let runs = plan::expand(&spec)?;
            let shard = match (&a.shard, a.shard_from_env) {
                (Some(s), _) => Shard::parse(s)?,
                (None, true) => plan::shard_from_env(|k| std::env::var(k).ok(), a.shards)?,
                (None, false) => Shard::ALL,
            };
            let hash = plan::hash(&spec);
            let (complete, done) = run::prior(&a.out, shard, &hash)?;
            let runs_total = runs.len() as u32;
            let mine: Vec<plan::RunSpec> = shard.runs(&runs).into_iter().cloned().collect();
            if let Some(stray) = done.keys().find(|i| !mine.iter().any(|r| r.index == **i)) {
                bail!(
                    "{}: a checkpoint of run {stray}, which is not in shard {}/{}",
                    a.out.display(),
                    shard.index,
                    shard.count
                );
            }
            Ready::Run(Box::new(run::ShardPlan {
                spec,
                hash,
                runs: mine,
                runs_total,
                shard,
                out: a.out.clone(),
                workers: a.workers as usize,
                engine: match a.engine {
                    EngineChoice::Wasm => mmsoak_host::EngineKind::Wasm,
                    EngineChoice::Native => mmsoak_host::EngineKind::Native,
                },
                done,
                complete,
            }))
        }
        SweepCommand::Merge(a) => Ready::Merge(Box::new(merge::load(&a.dir)?), a.out.clone()),
        SweepCommand::Slurm(a) => {
            let spec = spec::load(&a.file)?;
            plan::expand(&spec)?;
            let exe = std::env::current_exe()
                .map_err(|e| anyhow::anyhow!("cannot find this program's path for the batch script: {e}"))?;
            Ready::Slurm(
                slurm::SlurmJob {
                    exe,
                    sweep_file: slurm::absolute(&a.file)?,
                    out: slurm::absolute(&a.out)?,
                    shards: a.shards,
                    workers: a.workers as usize,
                    name: spec.name.clone(),
                    extra: a.sbatch.clone(),
                },
                a.dry_run,
            )
        }
    })
}

/// Does what the checked command asks.
pub fn act(ready: Ready) -> Result<()> {
    match ready {
        Ready::Plan(runs, shards, json) => {
            let mut out = String::new();
            if !json {
                out.push_str("run\tshard\tscenario\tseed\tauto_tune\tlabel\n");
            }
            for r in &runs {
                let shard = plan::shard_of(r.index, shards);
                if json {
                    let mut v = serde_json::to_value(r)?;
                    v["shard"] = shard.into();
                    out.push_str(&serde_json::to_string(&v)?);
                    out.push('\n');
                } else {
                    out.push_str(&format!(
                        "{}\t{}\t{}\t{}\t{}\t{}\n",
                        r.index, shard, r.scenario, r.seed, r.auto_tune, r.label
                    ));
                }
            }
            print!("{out}");
            let tuned = runs.iter().filter(|r| r.auto_tune).count();
            eprintln!(
                "mmsoak: {} soaks ({} tuned, {} untuned twins) in {} shard(s)",
                runs.len(),
                tuned,
                runs.len() - tuned,
                shards
            );
            Ok(())
        }
        Ready::Run(plan) => run::execute(*plan).map(|_| ()),
        Ready::Merge(merged, out) => merge::write(&merged, &out),
        Ready::Slurm(job, true) => {
            print!("{}", slurm::script(&job));
            Ok(())
        }
        Ready::Slurm(job, false) => {
            let id = slurm::submit(&job)?;
            println!("{id}");
            eprintln!(
                "mmsoak: submitted Slurm job {id} ({} array tasks); when it is done: mmsoak sweep merge {} --out {}",
                job.shards,
                job.out.display(),
                job.out.join("merged").display()
            );
            Ok(())
        }
    }
}
