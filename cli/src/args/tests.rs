//! Tests of the flags: negative values, one-line errors, ranges.

use std::ffi::OsString;

use clap::error::ErrorKind;
use clap::CommandFactory;

use super::Cli;

/// Flags whose value is never a number: after them, a word starting with `-`
/// is the next flag. Every other flag taking a value takes a number (or, like
/// `--latency` and `--shard I/N`, starts with one), and a negative one reaches
/// its check (`--tick-size -0.1` gets our message, not clap's "unexpected
/// argument '-0'").
const NOT_NUMBERS: &[&str] = &[
    "artifacts rotate --config",
    "artifacts rotate --out",
    "bot --fills",
    "bot --overrides",
    "bot --profile",
    "bot --regime",
    "bot --report",
    "config explain --config",
    "config explain --out",
    "config explain --profile",
    "config validate --config",
    "config validate --out",
    "market fit --data",
    "market fit --out",
    "market fit --profile",
    "market fit --report",
    "market fit --report-json",
    "market stats --data",
    "market stats --regime",
    "run --config",
    "run --data",
    "run --data-format",
    "run --engine",
    "run --exec",
    "run --export-html",
    "run --export-md",
    "run --fail-on",
    "run --fills",
    "run --guards-off",
    "run --metrics-addr",
    "run --out",
    "run --policy",
    "run --profile",
    "run --queue-model",
    "run --regime",
    "run --report",
    "run --source",
    "run --summary-export",
    "run --threshold",
    "schema --check",
    "schema --out",
    "serve --addr",
    "serve --out",
    "serve --web",
    "sweep merge --out",
    "sweep run --engine",
    "sweep run --out",
    "sweep slurm --out",
    "watch-bot --out",
];

/// Every flag taking a value, as `subcommand... --flag`, with its command line prefix.
fn flags(cmd: &clap::Command, path: &[String], found: &mut Vec<(String, Vec<String>)>) {
    for arg in cmd.get_arguments() {
        if let (Some(long), true) = (arg.get_long(), arg.get_action().takes_values()) {
            let mut argv: Vec<String> = vec!["mmsoak".into()];
            argv.extend(path.iter().cloned());
            argv.push(format!("--{long}"));
            found.push((format!("{} --{long}", path.join(" ")), argv));
        }
    }
    for sub in cmd.get_subcommands() {
        let mut p = path.to_vec();
        p.push(sub.get_name().to_string());
        flags(sub, &p, found);
    }
}

#[test]
fn every_numeric_flag_takes_a_negative_number_as_its_value_and_no_following_flag() {
    let mut found = Vec::new();
    flags(&Cli::command(), &[], &mut found);
    let mut refused = Vec::new();
    for (name, argv) in &found {
        let negative = [argv.clone(), vec!["-1".into()]].concat();
        let kind = Cli::command().try_get_matches_from(&negative).err().map(|e| e.kind());
        if kind == Some(ErrorKind::UnknownArgument) {
            refused.push(name.as_str());
            continue;
        }
        // A real flag after it is that flag, not the value (`--sbatch` takes
        // sbatch's own options, `--sbatch=--partition=debug`, by design).
        if name == "sweep slurm --sbatch" {
            continue;
        }
        let next = [argv.clone(), vec!["--help".into()]].concat();
        let e = Cli::command().try_get_matches_from(&next).unwrap_err();
        assert!(
            e.to_string().contains("a value is required"),
            "{name}: the following flag was taken as its value: {e}"
        );
    }
    refused.sort_unstable();
    assert_eq!(refused, NOT_NUMBERS, "flags taking a number need allow_negative_numbers = true");
}

/// Through the pre-pass, every flag taking a value takes every negative number
/// form as its value, and a value refused by its parser is our one line naming
/// the flag and the value; a flag after it is still a flag.
#[test]
fn every_flag_takes_any_negative_number_form_and_a_bad_one_is_one_line() {
    let mut found = Vec::new();
    flags(&Cli::command(), &[], &mut found);
    for (name, argv) in &found {
        for value in ["-.5", "-1e-3", "-inf", "-NaN", "-Infinity", "-1/8", "-5"] {
            let words = [argv.clone(), vec![value.into()]].concat();
            let joined = super::join_negative_values(&Cli::command(), words.iter().map(Into::into).collect());
            let flag_value = format!("{}={value}", argv.last().unwrap());
            assert_eq!(joined.last(), Some(&OsString::from(flag_value)), "{name} {value}");
            let Err(e) = Cli::try_from_words(&words) else { continue };
            assert_ne!(e.kind(), ErrorKind::UnknownArgument, "{name} {value}: {e}");
            if matches!(e.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue) {
                let flag = name.rsplit(' ').next().unwrap();
                let line = super::one_line(&e).unwrap_or_else(|| panic!("{name} {value}: {e}"));
                assert!(
                    line.starts_with(&format!("mmsoak: error: {flag}: invalid value \"{value}\": ")),
                    "{name} {value}: {line}"
                );
                assert_eq!(line.lines().count(), 1, "{line}");
            }
        }
        if name == "sweep slurm --sbatch" {
            continue;
        }
        for next in ["--help", "-h", "--out"] {
            let e = Cli::try_from_words([argv.clone(), vec![next.into(), "x".into()]].concat()).unwrap_err();
            // (`market stats` has no --out: then it is refused as a flag, not taken.)
            let flag = e.to_string().contains("a value is required")
                || (next == "--out" && e.kind() == ErrorKind::UnknownArgument);
            assert!(flag, "{name} {next}: taken as the value: {e}");
        }
    }
}

#[test]
fn only_a_flag_followed_by_a_negative_number_is_joined() {
    let join = |words: &[&str]| -> Vec<String> {
        let words = words.iter().map(OsString::from).collect();
        super::join_negative_values(&Cli::command(), words).into_iter().map(|w| w.into_string().unwrap()).collect()
    };
    let same = |words: &[&str]| assert_eq!(join(words), words, "{words:?}");
    assert_eq!(join(&["m", "run", "--tick-size", "-.1", "--out", "x"]), ["m", "run", "--tick-size=-.1", "--out", "x"]);
    assert_eq!(join(&["m", "sweep", "run", "f", "--shard", "-1/8"]), ["m", "sweep", "run", "f", "--shard=-1/8"]);
    assert_eq!(join(&["m", "run", "--speed"]), ["m", "run", "--speed"]);
    // A value that is a subcommand's name is still the value.
    assert_eq!(
        join(&["m", "run", "--regime", "run", "--seed", "-inf"]),
        ["m", "run", "--regime", "run", "--seed=-inf"]
    );
    same(&["m", "run", "--tick-size", "--out", "x"]);
    same(&["m", "run", "--tick-size", "-h"]);
    same(&["m", "run", "--tick-size=-.1"]);
    assert_eq!(join(&["m", "run", "--regime", "-.5"]), ["m", "run", "--regime=-.5"]);
    assert_eq!(join(&["m", "run", "--out", "-1"]), ["m", "run", "--out=-1"]);
    same(&["m", "run", "--out", "-o"]);
    same(&["m", "run", "--", "--seed", "-1"]);
    // `bot --speed` is not `run`'s; `--iterations` before a subcommand is nobody's.
    same(&["m", "--iterations", "-5", "run"]);
    same(&["m", "sweep", "slurm", "f", "--sbatch", "--shards", "-1"]);
    for (word, negative) in [
        ("-.5", true),
        ("-0", true),
        ("-1e-3", true),
        ("-INF", true),
        ("-infinity", true),
        ("-nan", true),
        ("-1/8", true),
        ("-h", false),
        ("--out", false),
        ("-", false),
        ("-in", false),
        ("5", false),
        ("-é", false),
    ] {
        assert_eq!(super::looks_negative_number(word), negative, "{word}");
    }
}
