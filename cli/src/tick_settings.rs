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

/// The settings given in `t`, in [`Key`]'s order, each with its value as text:
/// as typed for the text settings; for the numbers, as `setting::shown` prints them
/// (clap and TOML hand over the number, not its spelling).
pub fn given(t: &TickFlags) -> Vec<(Key, String)> {
    let num = |v: Option<f64>| v.map(setting::shown);
    [
        (Key::DataFormat, t.data_format.clone()),
        (Key::QueueModel, t.queue_model.clone()),
        (Key::Latency, t.latency.clone()),
        (Key::MakerFeeBps, num(t.maker_fee_bps)),
        (Key::TakerFeeBps, num(t.taker_fee_bps)),
        (Key::TickSize, t.tick_size.clone()),
        (Key::BackstepToleranceMs, num(t.backstep_tolerance_ms)),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect()
}

/// `key`'s value `t` gives, parsed; `Err` is the reason, quoting the value.
/// `has_ids` and `two_stamps`: what the data holds, for `fifo` and `data`
/// (`true` checks the value alone: the scan says whether the data has them).
pub fn parse(key: Key, t: &TickFlags, has_ids: bool, two_stamps: bool) -> Option<Result<Value, String>> {
    let text = |v: &Option<String>| v.clone();
    Some(match key {
        Key::DataFormat => setting::data_format(&text(&t.data_format)?).map(Value::Format),
        Key::QueueModel => parse_queue(&text(&t.queue_model)?, has_ids).map(Value::Queue),
        Key::Latency => parse_latency(&text(&t.latency)?, two_stamps).map(Value::Latency),
        Key::MakerFeeBps => setting::fee_bps("maker", t.maker_fee_bps?).map(Value::Fee),
        Key::TakerFeeBps => setting::fee_bps("taker", t.taker_fee_bps?).map(Value::Fee),
        Key::TickSize => parse_tick_size(&text(&t.tick_size)?).map(Value::Tick),
        Key::BackstepToleranceMs => setting::backstep_tolerance_ns(t.backstep_tolerance_ms?).map(Value::BackstepNs),
    })
}

/// Every setting given in `t`, checked on its own (`fifo` and `data` as if the
/// data had what they need). `name(key)` names a setting in the error
/// (`--latency`, `mmsoak.toml [ticks] latency`). One bad value: one line,
/// `NAME: reason`; several: a line saying how many, then one such line each.
pub fn check_alone(t: &TickFlags, name: impl Fn(Key) -> String) -> Result<()> {
    let bad: Vec<String> = given(t)
        .into_iter()
        .filter_map(|(key, _)| match parse(key, t, true, true)? {
            Ok(_) => None,
            Err(reason) => Some(format!("{}: {reason}", name(key))),
        })
        .collect();
    match bad.as_slice() {
        [] => Ok(()),
        [one] => bail!("{one}"),
        many => bail!("{} tick settings are not valid:\n  {}", many.len(), many.join("\n  ")),
    }
}

/// The error for tick flags given to a run whose source (`source`, as RUN.json
/// names it) is not `ticks`, naming the flags given; `None` when none is.
pub fn unused(t: &TickFlags, source: &str) -> Option<String> {
    let n = given(t).len();
    (n > 0).then(|| {
        let verb = if n == 1 { "is" } else { "are" };
        format!("{} {verb} only used with --source ticks (this run's source is {source})", flags_named(t))
    })
}

/// The flags in `t` named as a list for a sentence ("--latency and --tick-size").
pub fn flags_named(t: &TickFlags) -> String {
    let flags: Vec<&str> = given(t).into_iter().map(|(k, _)| k.flag()).collect();
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
                TickFlags { maker_fee_bps: Some(-200.0), ..flags() },
                "--maker-fee-bps: maker fee -200 bps: must be between -100 and 100 bps",
            ),
            (
                TickFlags { taker_fee_bps: Some(1e300), ..flags() },
                "--taker-fee-bps: taker fee 1e300 bps: must be between -100 and 100 bps",
            ),
            (
                TickFlags { tick_size: Some("-.1".into()), ..flags() },
                "--tick-size: tick size \"-.1\" must be a positive decimal price with at most 8 decimals (e.g. 0.01)",
            ),
            (
                TickFlags { backstep_tolerance_ms: Some(-0.5), ..flags() },
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
            maker_fee_bps: Some(-100.0),
            taker_fee_bps: Some(100.0),
            tick_size: Some("0.01".into()),
            backstep_tolerance_ms: Some(3_600_000.0),
        };
        as_flag(&good).unwrap();
        assert_eq!(given(&good).len(), 7);
        assert_eq!(flags_named(&TickFlags { latency: Some("data".into()), ..flags() }), "--latency");
        assert_eq!(
            flags_named(&TickFlags { latency: Some("data".into()), tick_size: Some("1".into()), ..flags() }),
            "--latency and --tick-size"
        );
    }
}
