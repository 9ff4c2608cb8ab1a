//! Helpers for the sweep tests: a one-node Slurm cluster for the duration of a test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A cluster started by `scripts/slurm-localhost.sh start DIR`, stopped on drop.
pub struct Slurm {
    pub dir: PathBuf,
    pub conf: PathBuf,
}

impl Slurm {
    pub fn start(dir: &Path) -> Slurm {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slurm-localhost.sh");
        let out = Command::new("bash").arg(&script).arg("start").arg(dir).output().expect("bash runs");
        assert!(
            out.status.success(),
            "starting a one-node Slurm cluster failed (scripts/slurm-localhost.sh needs root and apt-get):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Slurm { dir: dir.to_path_buf(), conf: dir.join("slurm.conf") }
    }

    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// Polls `squeue` until the job has left the queue (faster than `sbatch --wait`).
    pub fn wait(&self, job: &str, limit: Duration) {
        let start = Instant::now();
        loop {
            let out = self.command("squeue").args(["-h", "-j", job]).output().expect("squeue runs");
            if out.status.success() && String::from_utf8_lossy(&out.stdout).trim().is_empty() {
                return;
            }
            assert!(start.elapsed() < limit, "Slurm job {job} still queued after {limit:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slurm-localhost.sh");
        let _ = Command::new("bash").arg(&script).arg("stop").arg(&self.dir).status();
    }
}
