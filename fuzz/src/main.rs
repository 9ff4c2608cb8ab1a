//! `mmsoak-fuzz --target NAME|all --inputs N --seed S [--findings DIR]`: runs N
//! mutated inputs through each target and prints a table; exit code 1 when any
//! input panicked or failed with an error that does not name its source.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mmsoak_fuzz::targets::{find, TARGETS};
use mmsoak_fuzz::{run_target, table};

#[derive(Parser)]
#[command(about = "Fuzz mmsoak's parsers of outside data with mutated real files")]
struct Args {
    /// A target name, or `all`.
    #[arg(long, default_value = "all")]
    target: String,
    /// Inputs per target.
    #[arg(long, default_value_t = 10_000)]
    inputs: u64,
    /// Seed of the mutator (the same seed makes the same inputs).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where inputs that panicked (or failed without naming their source) are written.
    #[arg(long, default_value = "fuzz-findings")]
    findings: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let targets: Vec<_> = if args.target == "all" {
        TARGETS.iter().collect()
    } else {
        match find(&args.target) {
            Some(t) => vec![t],
            None => {
                let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
                eprintln!("mmsoak-fuzz: --target {:?}: choose all or one of {}", args.target, names.join(", "));
                return ExitCode::from(2);
            }
        }
    };
    let mut rows = Vec::new();
    let mut bad = false;
    for t in targets {
        match run_target(t, args.inputs, args.seed, &args.findings) {
            Ok(tally) => {
                eprintln!("{}", table(&[(t.name, tally.clone())]).lines().nth(1).unwrap_or_default());
                if let Some(first) = &tally.first {
                    eprintln!("  first finding: {first}");
                    bad = true;
                }
                rows.push((t.name, tally));
            }
            Err(e) => {
                eprintln!("mmsoak-fuzz: {}: {e:#}", t.name);
                return ExitCode::from(2);
            }
        }
    }
    print!("{}", table(&rows));
    if bad {
        println!("findings written to {}", args.findings.display());
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
