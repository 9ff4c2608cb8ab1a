//! `mmsoak sweep slurm`: an `sbatch --array=0-(N-1)` script whose task I runs
//! shard I/N (`--shard-from-env` reads SLURM_ARRAY_TASK_ID/COUNT), written to
//! `<out>/sweep.sbatch` and submitted with `sbatch --parsable`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::fsutil::write_atomic;

/// Single-quotes `s` for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

pub struct SlurmJob {
    pub exe: PathBuf,
    pub sweep_file: PathBuf,
    pub out: PathBuf,
    pub shards: u32,
    pub workers: usize,
    pub name: String,
    /// Extra `#SBATCH` options, e.g. `--partition=debug`.
    pub extra: Vec<String>,
}

/// The batch script. Paths are absolute: tasks may start in another directory.
pub fn script(job: &SlurmJob) -> String {
    let safe_name: String =
        job.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name=mmsoak-{safe_name}\n"));
    s.push_str(&format!("#SBATCH --array=0-{}\n", job.shards - 1));
    s.push_str(&format!("#SBATCH --cpus-per-task={}\n", job.workers));
    s.push_str(&format!("#SBATCH --output={}/slurm/%A_%a.out\n", job.out.display()));
    for e in &job.extra {
        s.push_str(&format!("#SBATCH {e}\n"));
    }
    s.push_str("# Each array task runs one shard; `mmsoak sweep merge` collects them.\n");
    s.push_str("set -eu\n");
    s.push_str(&format!(
        "exec {} sweep run {} --out {} --shard-from-env --workers {}\n",
        quote(&job.exe.display().to_string()),
        quote(&job.sweep_file.display().to_string()),
        quote(&job.out.display().to_string()),
        job.workers
    ));
    s
}

/// Writes the script to `<out>/sweep.sbatch` and submits it; returns the job id.
pub fn submit(job: &SlurmJob) -> Result<String> {
    let text = script(job);
    std::fs::create_dir_all(job.out.join("slurm"))
        .with_context(|| format!("cannot create {}", job.out.join("slurm").display()))?;
    let path = job.out.join("sweep.sbatch");
    write_atomic(&path, text.as_bytes())?;
    let output = Command::new("sbatch")
        .arg("--parsable")
        .arg(&path)
        .output()
        .context("cannot run sbatch (is Slurm installed? scripts/slurm-localhost.sh starts a one-node cluster)")?;
    if !output.status.success() {
        bail!("sbatch {} failed: {}", path.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    // `--parsable` prints `JOBID` or `JOBID;CLUSTER`.
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        bail!("sbatch printed no job id: {:?}", stdout.trim());
    }
    Ok(id)
}

/// An absolute path without requiring it to exist.
pub fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("cannot make {} absolute", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_runs_each_array_task_as_its_shard() {
        let job = SlurmJob {
            exe: "/opt/mm soak/mmsoak".into(),
            sweep_file: "/w/s.toml".into(),
            out: "/w/out".into(),
            shards: 8,
            workers: 2,
            name: "big sweep".into(),
            extra: vec!["--partition=debug".into()],
        };
        let s = script(&job);
        assert!(s.contains("#SBATCH --array=0-7\n"), "{s}");
        assert!(s.contains("#SBATCH --job-name=mmsoak-big_sweep\n"));
        assert!(s.contains("#SBATCH --partition=debug\n"));
        assert!(
            s.contains("exec '/opt/mm soak/mmsoak' sweep run '/w/s.toml' --out '/w/out' --shard-from-env --workers 2")
        );
    }
}
