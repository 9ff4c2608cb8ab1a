//! The typed words before clap reads them (a negative number after a flag that
//! takes a value), and clap's errors about a flag's value as one line.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// Makes `--flag -WORD` into `--flag=-WORD` when `--flag` takes a value and WORD
/// looks like the start of a negative number ([`looks_negative_number`]):
/// `--tick-size -.1`, `--maker-fee-bps -1e-3`, `--speed -inf`, `--shard -1/8` then
/// reach the flag's own check, which names the flag and the value; so does a flag
/// whose value is a name or a path (`--regime -.5`: no such regime or file), where
/// clap would say "unexpected argument '-.' found" without naming the flag.
///
/// Why before clap and not in it: clap decides whether a word starting with '-' is a
/// value or a flag before any value parser sees it. `allow_negative_numbers` takes
/// only what clap's lexer calls a number (`-5`, `-0.1`; not `-.5`, `-1e-3`, `-inf`,
/// `-1/8`), and `allow_hyphen_values` takes every word, `--out` too, so
/// `--tick-size --out x` would quietly lose `--out`. Here only a word that cannot be
/// a flag of ours (no flag starts with `-` and a digit, '.', "inf" or "nan") is
/// joined, only to a flag of the subcommand being read, and a real flag
/// after it stays a flag (`--tick-size --out x`: a value is required).
pub fn join_negative_values(root: &clap::Command, words: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(words.len());
    let mut words = words.into_iter().peekable();
    out.extend(words.next()); // the program
    let mut cmd = root;
    while let Some(word) = words.next() {
        let text = word.to_str().unwrap_or_default();
        if text == "--" {
            out.push(word);
            out.extend(words);
            break;
        }
        let flag = text.strip_prefix("--").and_then(|long| long_flag(cmd, long));
        match flag.filter(|arg| arg.get_action().takes_values()) {
            Some(arg) => {
                let next = words.peek();
                let negative = next.and_then(|w| w.to_str()).is_some_and(looks_negative_number);
                if negative {
                    let mut joined = word;
                    joined.push("=");
                    joined.extend(words.next());
                    out.push(joined);
                    continue;
                }
                // The flag's own value (never read as a subcommand's name), as clap reads it.
                let hyphen = next.is_some_and(|w| w.as_encoded_bytes().first() == Some(&b'-'));
                out.push(word);
                if !hyphen || arg.is_allow_hyphen_values_set() {
                    out.extend(words.next());
                }
            }
            None => {
                if let Some(sub) = cmd.find_subcommand(text).filter(|_| !text.starts_with('-')) {
                    cmd = sub;
                }
                out.push(word);
            }
        }
    }
    out
}

/// The argument `--long` of this (sub)command.
fn long_flag<'a>(cmd: &'a clap::Command, long: &str) -> Option<&'a clap::Arg> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(long) || a.get_all_aliases().is_some_and(|all| all.contains(&long)))
}

/// '-' then a digit, '.', "inf" or "nan" (any case: `-Infinity`, `-NaN`): the start of
/// a negative number (or of `-1/8`), and never one of our flags.
pub fn looks_negative_number(word: &str) -> bool {
    let Some(rest) = word.strip_prefix('-') else { return false };
    let lower = rest.get(..3).map(str::to_ascii_lowercase);
    rest.starts_with(|c: char| c.is_ascii_digit() || c == '.') || matches!(lower.as_deref(), Some("inf" | "nan"))
}

/// A flag's value refused, as every other bad input is told, in one line naming the
/// flag and the value (clap's own is three lines or more, with a usage block):
/// - by its value parser: `mmsoak: error: --iterations: invalid value "-5": must be a whole number from 1 to 4294967295`
/// - not one of its possible values: `mmsoak: error: --source: invalid value "bogus": choose one of sim, replay, …`
/// - missing: `mmsoak: error: --out: a value is required` (and the choices, if it has them)
///
/// None for every other clap error (an unknown flag, `--help`, `--version` …).
pub fn one_line(e: &clap::Error) -> Option<String> {
    let (Some(ContextValue::String(arg)), Some(ContextValue::String(value))) =
        (e.get(ContextKind::InvalidArg), e.get(ContextKind::InvalidValue))
    else {
        return None;
    };
    // "--iterations <ITERATIONS>" → "--iterations"
    let flag = arg.split(' ').next().unwrap_or(arg);
    let choices = match e.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(values)) if !values.is_empty() => Some(values.join(", ")),
        _ => None,
    };
    match (e.kind(), choices) {
        (ErrorKind::ValueValidation, _) => {
            let why = std::error::Error::source(e).map_or_else(|| "not accepted".to_string(), |s| s.to_string());
            Some(format!("mmsoak: error: {flag}: invalid value {value:?}: {why}"))
        }
        // clap reports a missing value as an invalid empty one.
        (ErrorKind::InvalidValue, None) if value.is_empty() => {
            Some(format!("mmsoak: error: {flag}: a value is required"))
        }
        (ErrorKind::InvalidValue, Some(c)) if value.is_empty() => {
            Some(format!("mmsoak: error: {flag}: a value is required: choose one of {c}"))
        }
        (ErrorKind::InvalidValue, Some(c)) => {
            Some(format!("mmsoak: error: {flag}: invalid value {value:?}: choose one of {c}"))
        }
        _ => None,
    }
}
