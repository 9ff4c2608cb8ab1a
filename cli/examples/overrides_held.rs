//! Windows check (scripts/windows-check.sh, under wine): replaces a file while a
//! helper process holds it open without FILE_SHARE_DELETE, through the same
//! `mmsoak::fsutil::write_atomic` every artifact write uses.
//!
//! `overrides_held FILE HOLD_MS NEW_TEXT`: starts itself as the holder
//! (`--hold FILE HOLD_MS`), waits until the holder has the file open, then replaces
//! it. Prints `replaced after N ms` (exit 0) or `error: …` (exit 1). The caller checks
//! the file's bytes and that no temp file is left.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn hold(path: &Path, ms: u64) -> ExitCode {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        // FILE_SHARE_READ only: no FILE_SHARE_WRITE, no FILE_SHARE_DELETE, as a bot's
        // plain fopen() or .NET File.OpenRead holds it.
        opts.share_mode(0x0000_0001);
    }
    let _file = match opts.open(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("holder: cannot open {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    println!("holding");
    let _ = std::io::stdout().flush();
    std::thread::sleep(Duration::from_millis(ms));
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, file, ms] if flag == "--hold" => hold(Path::new(file), ms.parse().unwrap_or(0)),
        [file, ms, text] => {
            let exe = std::env::current_exe().expect("the example's own path");
            let mut holder = Command::new(exe)
                .args(["--hold", file, ms])
                .stdout(Stdio::piped())
                .spawn()
                .expect("start the holder process");
            let mut line = String::new();
            let stdout = holder.stdout.take().expect("the holder's stdout");
            BufReader::new(stdout).read_line(&mut line).expect("the holder's first line");
            if line.trim() != "holding" {
                eprintln!("the holder did not open the file");
                let _ = holder.wait();
                return ExitCode::from(2);
            }
            let started = Instant::now();
            let result = mmsoak::fsutil::write_atomic(Path::new(file), text.as_bytes());
            let took = started.elapsed().as_millis();
            let _ = holder.wait();
            match result {
                Ok(()) => {
                    println!("replaced after {took} ms");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    println!("error: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        _ => {
            eprintln!("usage: overrides_held FILE HOLD_MS NEW_TEXT");
            ExitCode::from(2)
        }
    }
}
