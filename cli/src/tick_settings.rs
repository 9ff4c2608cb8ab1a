//! The tick replay's seven settings as a user gives them: `run` flags or
//! mmsoak.toml `[ticks]` keys. A fresh run, `--resume` and `config validate` check
//! each given value here, on its own and before any data is read, with core's
//! `exchange::plan::setting` (and its queue, latency and tick-size parsers), so a
//! bad value reads the same wherever it is given: `NAME: reason`, the reason
//! quoting the value. Every bad value is reported, not only the first: fixing one
//! to meet the next costs a run's start each time.

use anyhow::{bail, Result};
use mmsoak_core::exchange::plan::{parse_latency, parse_queue, parse_tick_size, setting};
use mmsoak_core::exchange::{LatencyModel, QueueModel};
use mmsoak_core::feed::{Format, TickSize};

use crate::args::TickFlags;

/// One of the seven settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    DataFormat,
    QueueModel,
    Latency,
    MakerFeeBps,
    TakerFeeBps,
    TickSize,
    BackstepToleranceMs,
}

impl Key {
    /// The `run` flag.
    pub fn flag(self) -> &'static str {
        match self {
            Key::DataFormat => "--data-format",
            Key::QueueModel => "--queue-model",
            Key::Latency => "--latency",
            Key::MakerFeeBps => "--maker-fee-bps",
            Key::TakerFeeBps => "--taker-fee-bps",
            Key::TickSize => "--tick-size",
            Key::BackstepToleranceMs => "--backstep-tolerance-ms",
        }
    }

    /// The mmsoak.toml `[ticks]` key.
    pub fn toml(self) -> &'static str {
        match self {
            Key::DataFormat => "data_format",
            Key::QueueModel => "queue_model",
            Key::Latency => "latency",
            Key::MakerFeeBps => "maker_fee_bps",
            Key::TakerFeeBps => "taker_fee_bps",
            Key::TickSize => "tick_size",
            Key::BackstepToleranceMs => "backstep_tolerance_ms",
        }
    }
}

/// A setting's value, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Format(Format),
    Queue(QueueModel),
    Latency(LatencyModel),
    /// bps of notional.
    Fee(f64),
    Tick(TickSize),
    /// The backstep tolerance in whole nanoseconds.
    BackstepNs(i64),
}

/// The settings given in `t`, in [`Key`]'s order, each with its value as the
/// user wrote it (a TOML number in TOML's spelling, see `TicksSection::as_flags`).
pub fn given(t: &TickFlags) -> Vec<(Key, String)> {
    [
        (Key::DataFormat, &t.data_format),
        (Key::QueueModel, &t.queue_model),
        (Key::Latency, &t.latency),
        (Key::MakerFeeBps, &t.maker_fee_bps),
        (Key::TakerFeeBps, &t.taker_fee_bps),
        (Key::TickSize, &t.tick_size),
        (Key::BackstepToleranceMs, &t.backstep_tolerance_ms),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
    .collect()
}

/// `key`'s value `text`, parsed; `Err` is the reason, quoting the value.
/// `has_ids` and `two_stamps`: what the data holds, for `fifo` and `data`
/// (`true` checks the value alone: the scan says whether the data has them).
pub fn parse_text(key: Key, text: &str, has_ids: bool, two_stamps: bool) -> Result<Value, String> {
    match key {
        Key::DataFormat => setting::data_format(text).map(Value::Format),
        Key::QueueModel => parse_queue(text, has_ids).map(Value::Queue),
        Key::Latency => parse_latency(text, two_stamps).map(Value::Latency),
        Key::MakerFeeBps => setting::fee_bps_text("maker", text).map(Value::Fee),
        Key::TakerFeeBps => setting::fee_bps_text("taker", text).map(Value::Fee),
        Key::TickSize => parse_tick_size(text).map(Value::Tick),
        Key::BackstepToleranceMs => setting::backstep_tolerance_text(text).map(Value::BackstepNs),
    }
}

/// A setting given, as written and as parsed on its own.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub key: Key,
    pub text: String,
    pub value: Value,
}

/// Every setting given in `t`, each parsed on its own (`fifo` and `data` as if
/// the data had what they need): the values, or every bad one as [`listed`]
/// says them. `name(key)` names a setting in the error (`--latency`,
/// `mmsoak.toml [ticks] latency`).
pub fn parse_alone(t: &TickFlags, name: impl Fn(Key) -> String) -> Result<Vec<Parsed>> {
    let (good, bad) = parse_each(t, name);
    listed(bad)?;
    Ok(good)
}

/// [`parse_alone`]'s parts: the good values, and a `NAME: reason` line for each bad one.
pub fn parse_each(t: &TickFlags, name: impl Fn(Key) -> String) -> (Vec<Parsed>, Vec<String>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (key, text) in given(t) {
        match parse_text(key, &text, true, true) {
            Ok(value) => good.push(Parsed { key, text, value }),
            Err(reason) => bad.push(format!("{}: {reason}", name(key))),
        }
    }
    (good, bad)
}

/// [`parse_alone`], for its verdict only.
pub fn check_alone(t: &TickFlags, name: impl Fn(Key) -> String) -> Result<()> {
    parse_alone(t, name).map(|_| ())
}

/// Bad settings, each a `NAME: reason` line, as one error: one line alone;
/// several under a line saying how many. `Ok` when there is none.
pub fn listed(bad: Vec<String>) -> Result<()> {
    match bad.as_slice() {
        [] => Ok(()),
        [one] => bail!("{one}"),
        many => bail!("{} tick settings are not valid:\n  {}", many.len(), many.join("\n  ")),
    }
}

/// The error for tick flags given to a run whose source (`source`, as RUN.json
/// names it) is not `ticks`, naming the flags given; `None` when none is.
pub fn unused(t: &TickFlags, source: &str) -> Option<String> {
    let keys: Vec<Key> = given(t).into_iter().map(|(k, _)| k).collect();
    (!keys.is_empty()).then(|| {
        let verb = if keys.len() == 1 { "is" } else { "are" };
        format!("{} {verb} only used with --source ticks (this run's source is {source})", named(&keys))
    })
}

/// The flags in `t` named as a list for a sentence ("--latency and --tick-size").
pub fn flags_named(t: &TickFlags) -> String {
    named(&given(t).into_iter().map(|(k, _)| k).collect::<Vec<_>>())
}

fn named(keys: &[Key]) -> String {
    let flags: Vec<&str> = keys.iter().map(|k| k.flag()).collect();
    match flags.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> TickFlags {
        TickFlags::default()
    }

    /// A bad value reads `NAME: reason` with the value quoted, for a flag and for
    /// an mmsoak.toml key alike; several are all reported; good ones pass.
    #[test]
    fn every_bad_setting_is_named_with_its_value() {
        let as_flag = |t: &TickFlags| check_alone(t, |k| k.flag().to_string()).map_err(|e| e.to_string());
        let cases: [(TickFlags, &str); 7] = [
            (
                TickFlags { data_format: Some("csv".into()), ..flags() },
                "--data-format: data format \"csv\": choose one of lobster, tardis, binance",
            ),
            (
                TickFlags { queue_model: Some("lifo".into()), ..flags() },
                "--queue-model: queue model \"lifo\": choose auto, fifo, risk-averse, prob or prob:N (0 < N <= 10)",
            ),
            (
                TickFlags { latency: Some("constant:-5".into()), ..flags() },
                "--latency: latency \"constant:-5\": \"-5\" is not a number of milliseconds in [0, 60000]",
            ),
            (
                TickFlags { maker_fee_bps: Some("-200".into()), ..flags() },
                "--maker-fee-bps: maker fee -200 bps: must be between -100 and 100 bps",
            ),
            (
                TickFlags { taker_fee_bps: Some("1e300".into()), ..flags() },
                "--taker-fee-bps: taker fee 1e300 bps: must be between -100 and 100 bps",
            ),
            (
                TickFlags { tick_size: Some("-.1".into()), ..flags() },
                "--tick-size: tick size \"-.1\" must be a positive decimal price with at most 8 decimals (e.g. 0.01)",
            ),
            (
                TickFlags { backstep_tolerance_ms: Some("-0.5".into()), ..flags() },
                "--backstep-tolerance-ms: backstep tolerance -0.5 ms: must be between 0 and 3600000 ms",
            ),
        ];
        for (t, said) in &cases {
            assert_eq!(as_flag(t).unwrap_err(), *said);
        }
        let in_file = check_alone(&cases[3].0, |k| format!("m.toml [ticks] {}", k.toml())).unwrap_err();
        assert_eq!(
            in_file.to_string(),
            "m.toml [ticks] maker_fee_bps: maker fee -200 bps: must be between -100 and 100 bps"
        );
        let two = TickFlags { latency: Some("fast".into()), tick_size: Some("0".into()), ..flags() };
        let e = as_flag(&two).unwrap_err();
        assert!(e.starts_with("2 tick settings are not valid:\n  --latency: latency \"fast\": choose"), "{e}");
        assert!(e.contains("\n  --tick-size: tick size \"0\" must be a positive"), "{e}");
        let good = TickFlags {
            data_format: Some("lobster".into()),
            queue_model: Some("fifo".into()),
            latency: Some("data:5".into()),
            maker_fee_bps: Some("-100".into()),
            taker_fee_bps: Some("100".into()),
            tick_size: Some("0.01".into()),
            backstep_tolerance_ms: Some("3600000".into()),
        };
        as_flag(&good).unwrap();
        assert_eq!(given(&good).len(), 7);
        assert_eq!(flags_named(&TickFlags { latency: Some("data".into()), ..flags() }), "--latency");
        assert_eq!(
            flags_named(&TickFlags { latency: Some("data".into()), tick_size: Some("1".into()), ..flags() }),
            "--latency and --tick-size"
        );
    }

    /// A number clap used to parse (and refuse alone, ahead of the rest) is
    /// listed with the other bad settings, quoted as typed; `nan` reads the same
    /// as a flag and as an mmsoak.toml value.
    #[test]
    fn a_number_that_is_no_number_is_listed_with_the_others() {
        let t = TickFlags {
            maker_fee_bps: Some("abc".into()),
            taker_fee_bps: Some("inf".into()),
            latency: Some("fast".into()),
            backstep_tolerance_ms: Some("1ms".into()),
            ..flags()
        };
        let e = check_alone(&t, |k| k.flag().to_string()).unwrap_err().to_string();
        assert_eq!(
            e,
            "4 tick settings are not valid:\n  \
             --latency: latency \"fast\": choose constant:ENTRY_MS:RESPONSE_MS, constant:MS, data or data:ENTRY_MS\n  \
             --maker-fee-bps: maker fee \"abc\": not a number (bps between -100 and 100)\n  \
             --taker-fee-bps: taker fee inf bps: must be between -100 and 100 bps\n  \
             --backstep-tolerance-ms: backstep tolerance \"1ms\": not a number (ms between 0 and 3600000)"
        );
        let flag = TickFlags { maker_fee_bps: Some("nan".into()), ..flags() };
        let file = crate::config::TicksSection { maker_fee_bps: Some(f64::NAN), ..Default::default() }.as_flags();
        let said = |t: &TickFlags| check_alone(t, |k| k.toml().to_string()).unwrap_err().to_string();
        assert_eq!(said(&flag), "maker_fee_bps: maker fee nan bps: must be between -100 and 100 bps");
        assert_eq!(said(&file), said(&flag));
        // The value as typed: "-0.30" stays so, and a value is not rewritten.
        let t = TickFlags { maker_fee_bps: Some("-0.30".into()), ..flags() };
        assert_eq!(given(&t), vec![(Key::MakerFeeBps, "-0.30".to_string())]);
        assert_eq!(parse_alone(&t, |k| k.flag().to_string()).unwrap()[0].value, Value::Fee(-0.3));
    }
}
