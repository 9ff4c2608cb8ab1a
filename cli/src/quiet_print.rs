//! Print macros that never panic: shadowing std's `println!`, `eprintln!`,
//! `print!` and `eprint!` in the `mmsoak` library and binary (each declares this
//! module first, `#[macro_use]`).

// Writing to a closed stdout or stderr (`mmsoak run --json | head`, `2>&1 | head
// -1`) must not panic the run mid-iteration, as std's print macros do: Rust ignores
// SIGPIPE, so the write fails with EPIPE and `println!` panics. These shadow std's
// four for every module below (macro_rules scope is textual) and drop a line that
// cannot be written; the run goes on and writes its artifacts, which are the record.
// (Not every one is used in both crates that include this file.)
#![allow(unused_macros)]
macro_rules! println {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}
macro_rules! eprintln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}
macro_rules! print {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}
macro_rules! eprint {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($t)*);
    }};
}
