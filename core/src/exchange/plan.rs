//! From a scanned data set and the user's choices to a [`TickConfig`]: the same
//! function for the CLI and the browser, so both replay with the same numbers.

use serde::{Deserialize, Serialize};

use super::scan::ScanFacts;
use super::{Fees, LatencyModel, QueueModel, TickConfig};
use crate::feed::{parse_scaled, Format, TickSize};

/// What a user chose for a tick replay (flags, mmsoak.toml `[ticks]`, or the web form).
/// `None` takes the default named in each field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickChoices {
    /// `auto` (default: `fifo` on data with order ids, else `prob:3`), `fifo`,
    /// `risk-averse`, `prob`, `prob:N`.
    #[serde(default)]
    pub queue_model: Option<String>,
    /// `constant:ENTRY_MS:RESPONSE_MS` (default `constant:25:25`), `constant:MS`,
    /// `data`, `data:ENTRY_MS`.
    #[serde(default)]
    pub latency: Option<String>,
    /// Default −0.2 (a rebate).
    #[serde(default)]
    pub maker_fee_bps: Option<f64>,
    /// Default 2.
    #[serde(default)]
    pub taker_fee_bps: Option<f64>,
    /// A decimal price (default: measured from the data's book prices).
    #[serde(default)]
    pub tick_size: Option<String>,
}

/// A setting [`data_checks`] found not to fit the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataChoice {
    QueueModel,
    Latency,
    TickSize,
}

/// Every choice that does not fit what the scan found (`fifo` without order
/// ids, `data` latency on one-stamp data, a tick size off the price grid), each
/// with its reason quoting the value: all of them at once, so a user fixes them
/// in one go (each is known only after a scan that may take minutes).
/// [`plan_config`] stops at the first of them.
pub fn data_checks(facts: &ScanFacts, choices: &TickChoices) -> Vec<(DataChoice, String)> {
    let queue = choices.queue_model.as_deref().map(|q| parse_queue(q, facts.has_order_ids).map(|_| ()));
    let latency = choices.latency.as_deref().map(|l| parse_latency(l, facts.has_two_stamps).map(|_| ()));
    let tick = choices.tick_size.as_deref().map(|t| fit_tick_size(t, facts).map(|_| ()));
    [(DataChoice::QueueModel, queue), (DataChoice::Latency, latency), (DataChoice::TickSize, tick)]
        .into_iter()
        .filter_map(|(c, r)| Some((c, r?.err()?)))
        .collect()
}

/// A tick size as given, on the data's price grid.
fn fit_tick_size(s: &str, facts: &ScanFacts) -> Result<TickSize, String> {
    let t = parse_tick_size(s)?.0;
    // Every book price must be on the chosen grid: a price between two of its
    // ticks would be rounded to the nearer one, silently, and two of the data's
    // levels could become one.
    if facts.tick > 0 && facts.tick % t != 0 {
        let grid = TickSize(facts.tick).price(1);
        return Err(format!(
            "tick size {s:?} does not fit the data: its book prices are multiples of {grid} (their \
             greatest common divisor), and {grid} is not a multiple of {s}, so prices would be rounded \
             and distinct levels could merge; give a tick size that divides {grid}, or none to use {grid}"
        ));
    }
    Ok(TickSize(t))
}

/// The last window may end this fraction of an iteration after the data's last event.
pub const SPAN_SLACK: f64 = 0.01;

pub fn parse_queue(s: &str, has_ids: bool) -> Result<QueueModel, String> {
    Ok(match s {
        "auto" if has_ids => QueueModel::Fifo,
        "auto" | "prob" => QueueModel::default(),
        "fifo" if has_ids => QueueModel::Fifo,
        "fifo" => return Err("queue model \"fifo\" needs data with order ids (LOBSTER); this data has none".into()),
        "risk-averse" | "risk_averse" => QueueModel::RiskAverse,
        other => match other.strip_prefix("prob:").map(str::parse::<f64>) {
            Some(Ok(n)) if n.is_finite() && n > 0.0 && n <= 10.0 => QueueModel::PowerProb { n },
            _ => {
                return Err(format!(
                    "queue model {other:?}: choose auto, fifo, risk-averse, prob or prob:N (0 < N <= 10)"
                ))
            }
        },
    })
}

pub fn parse_latency(s: &str, two_stamps: bool) -> Result<LatencyModel, String> {
    let num = |x: &str| -> Result<f64, String> {
        x.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && (0.0..=60_000.0).contains(v))
            .ok_or_else(|| format!("latency {s:?}: {x:?} is not a number of milliseconds in [0, 60000]"))
    };
    let parts: Vec<&str> = s.split(':').collect();
    let m = match parts.as_slice() {
        ["constant", ms] => LatencyModel::Constant { entry_ms: num(ms)?, response_ms: num(ms)? },
        ["constant", e, r] => LatencyModel::Constant { entry_ms: num(e)?, response_ms: num(r)? },
        ["data"] => LatencyModel::Data { entry_ms: 0.0 },
        ["data", e] => LatencyModel::Data { entry_ms: num(e)? },
        _ => {
            return Err(format!(
                "latency {s:?}: choose constant:ENTRY_MS:RESPONSE_MS, constant:MS, data or data:ENTRY_MS"
            ))
        }
    };
    if matches!(m, LatencyModel::Data { .. }) && !two_stamps {
        return Err(format!(
            "latency {s:?} needs exchange and local timestamps in the data; this data has one stamp (use constant)"
        ));
    }
    Ok(m)
}

/// A tick size as a user writes it (`"0.01"`), checked on its own: the shell can
/// refuse a malformed one before reading any data. Whether it fits the data's
/// price grid is [`plan_config`]'s check.
pub fn parse_tick_size(s: &str) -> Result<TickSize, String> {
    match parse_scaled(s) {
        Ok(t) if t > 0 => Ok(TickSize(t)),
        _ => Err(format!("tick size {s:?} must be a positive decimal price with at most 8 decimals (e.g. 0.01)")),
    }
}

/// A tick replay's settings, each checked on its own before any data is read,
/// whoever gives it: a `run` flag, an mmsoak.toml `[ticks]` key, `--resume`, the
/// web form. Each returns the parsed value or the reason, quoting the value; the
/// caller prefixes the flag or key (`--maker-fee-bps: `, `mmsoak.toml [ticks]
/// maker_fee_bps: `), so every place words a bad value the same way. What only the
/// data can decide (`fifo` needs order ids, `data` two timestamps, a tick size the
/// price grid) is [`parse_queue`]'s, [`parse_latency`]'s and [`plan_config`]'s.
pub mod setting {
    use crate::feed::Format;

    /// The inclusive range of a fee, bps of notional (negative: a rebate). A fee
    /// beyond 1 % of notional is a typo, not a venue's schedule.
    pub const FEE_BPS: (f64, f64) = (-100.0, 100.0);
    /// The inclusive range of the backstep tolerance, ms (up to an hour).
    pub const BACKSTEP_TOLERANCE_MS: (f64, f64) = (0.0, 3_600_000.0);

    /// `--data-format` / `data_format`: a format's name.
    pub fn data_format(s: &str) -> Result<Format, String> {
        Format::parse(s).ok_or_else(|| format!("data format {s:?}: choose one of {}", Format::NAMES.join(", ")))
    }

    /// `--maker-fee-bps` / `--taker-fee-bps` (`which`: "maker" or "taker"): a finite
    /// number of bps in [`FEE_BPS`].
    pub fn fee_bps(which: &str, v: f64) -> Result<f64, String> {
        in_range(v, FEE_BPS)
            .ok_or_else(|| format!("{which} fee {} bps: must be between {} and {} bps", shown(v), FEE_BPS.0, FEE_BPS.1))
    }

    /// [`fee_bps`] of a fee as the user wrote it (a flag's text, a TOML number in
    /// TOML's spelling): the reason quotes it as written, so `nan` reads the same
    /// from a flag and from mmsoak.toml, and text that is no number is said to be.
    pub fn fee_bps_text(which: &str, s: &str) -> Result<f64, String> {
        let v = number(s)
            .ok_or_else(|| format!("{which} fee {s:?}: not a number (bps between {} and {})", FEE_BPS.0, FEE_BPS.1))?;
        fee_bps(which, v).map_err(|_| {
            format!("{which} fee {} bps: must be between {} and {} bps", shown_as(s, v), FEE_BPS.0, FEE_BPS.1)
        })
    }

    /// [`backstep_tolerance_ns`] of a tolerance as the user wrote it (see [`fee_bps_text`]).
    pub fn backstep_tolerance_text(s: &str) -> Result<i64, String> {
        let (lo, hi) = BACKSTEP_TOLERANCE_MS;
        let v =
            number(s).ok_or_else(|| format!("backstep tolerance {s:?}: not a number (ms between {lo} and {hi})"))?;
        backstep_tolerance_ns(v)
            .map_err(|_| format!("backstep tolerance {} ms: must be between {lo} and {hi} ms", shown_as(s, v)))
    }

    /// A number as text: Rust's grammar, which takes `nan` and `inf` too (they
    /// are numbers out of every range, said so, rather than "not a number").
    fn number(s: &str) -> Option<f64> {
        s.trim().parse::<f64>().ok()
    }

    /// The value as written, unless that is long: `shown` then (`1e300`, not 301 digits).
    fn shown_as(s: &str, v: f64) -> String {
        if s.trim().len() <= 24 {
            s.trim().to_string()
        } else {
            shown(v)
        }
    }

    /// A number from a TOML file as the user wrote it: TOML spells the
    /// non-finite ones `nan`, `inf` and `-inf`.
    pub fn toml_spelling(v: f64) -> String {
        match v {
            v if v.is_nan() => "nan".into(),
            v if v.is_infinite() => if v > 0.0 { "inf" } else { "-inf" }.into(),
            v => shown(v),
        }
    }

    /// `--backstep-tolerance-ms` / `backstep_tolerance_ms`, in [`BACKSTEP_TOLERANCE_MS`];
    /// the tolerance in whole nanoseconds (truncated, as the scan compares stamps).
    pub fn backstep_tolerance_ns(ms: f64) -> Result<i64, String> {
        let (lo, hi) = BACKSTEP_TOLERANCE_MS;
        in_range(ms, BACKSTEP_TOLERANCE_MS)
            .map(|ms| (ms * 1e6) as i64)
            .ok_or_else(|| format!("backstep tolerance {} ms: must be between {lo} and {hi} ms", shown(ms)))
    }

    fn in_range(v: f64, (lo, hi): (f64, f64)) -> Option<f64> {
        (v.is_finite() && (lo..=hi).contains(&v)).then_some(v)
    }

    /// A number as a message shows it: Rust's shortest round-trip decimal, but in
    /// exponent form where that would run to many digits (`1e300`, not 301 of them).
    pub fn shown(v: f64) -> String {
        let a = v.abs();
        if a.is_finite() && a != 0.0 && !(1e-6..1e16).contains(&a) {
            format!("{v:e}")
        } else {
            format!("{v}")
        }
    }
}

/// Two spans of market time, ns, in the coarsest unit that tells them apart:
/// minutes to 0.1, seconds to the millisecond, or nanoseconds (a shortfall of
/// 10 ms must not read "need 3.0 min … holds 3.0 min").
fn market_times(a: i64, b: i64) -> (String, String) {
    let units: [fn(i64) -> String; 2] =
        [|ns| format!("{:.1} min", ns as f64 / 60e9), |ns| format!("{:.3} s", ns as f64 / 1e9)];
    for unit in units {
        let (x, y) = (unit(a), unit(b));
        if x != y {
            return (x, y);
        }
    }
    (format!("{a} ns"), format!("{b} ns"))
}

/// The replay's configuration: windows start on the whole second at or before
/// the first moment every stream has data; the data must hold `iterations` windows.
pub fn plan_config(
    formats: &[Format],
    facts: &ScanFacts,
    choices: &TickChoices,
    iterations: u32,
    iteration_seconds: u32,
    backstep_tolerance_ns: i64,
) -> Result<TickConfig, String> {
    if facts.events == 0 {
        return Err("no market events in the data".into());
    }
    let Some((first, last)) = facts.common_span() else {
        return Err("the files do not overlap in time (each stream must cover the replayed window)".into());
    };
    let tick = match &choices.tick_size {
        Some(s) => fit_tick_size(s, facts)?,
        None if facts.tick > 0 => TickSize(facts.tick),
        None => return Err("no book prices in the data to tell the tick size from (give a tick size)".into()),
    };
    if facts.lot <= 0.0 {
        return Err("the data never shows both a best bid and a best ask: nothing to quote against".into());
    }
    if iteration_seconds == 0 {
        return Err("iteration seconds must be at least 1".into());
    }
    let start = first - first.rem_euclid(1_000_000_000);
    let len_s = iteration_seconds as f64;
    let span_s = (last - start) as f64 / 1e9;
    let holds = libm::floor(span_s / len_s + SPAN_SLACK) as u64;
    if iterations as u64 > holds {
        let (need, have) = market_times(iterations as i64 * iteration_seconds as i64 * 1_000_000_000, last - start);
        return Err(format!(
            "{iterations} iterations of {iteration_seconds} s need {need} of market time but the data holds {have} \
             ({holds} iterations)"
        ));
    }
    let queue = parse_queue(choices.queue_model.as_deref().unwrap_or("auto"), facts.has_order_ids)?;
    let latency = match &choices.latency {
        None => LatencyModel::default(),
        Some(s) => parse_latency(s, facts.has_two_stamps)?,
    };
    let fees = Fees {
        maker_bps: choices.maker_fee_bps.unwrap_or(Fees::default().maker_bps),
        taker_bps: choices.taker_fee_bps.unwrap_or(Fees::default().taker_bps),
    };
    fees.check()?;
    Ok(TickConfig {
        formats: formats.to_vec(),
        tick,
        // Rounded so that it prints and reads back exactly.
        lot: libm::round(facts.lot * 1e6) / 1e6,
        start_ns: start,
        iteration_seconds,
        queue,
        latency,
        fees,
        backstep_tolerance_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ScanFacts {
        ScanFacts {
            events: 10,
            trades: 2,
            first_ns: Some(1_500_000_000),
            last_ns: Some(181_000_000_000),
            stream_spans: vec![Some((1_500_000_000, 181_000_000_000))],
            tick: 1_000_000,
            lot: 2.5,
            has_order_ids: false,
            has_two_stamps: false,
            sequence_gaps: 0,
        }
    }

    #[test]
    fn windows_fit_the_data_or_the_plan_says_how_much_it_holds() {
        let f = facts();
        let c = plan_config(&[Format::Tardis], &f, &TickChoices::default(), 3, 60, 0).unwrap();
        assert_eq!(c.start_ns, 1_000_000_000);
        assert_eq!(c.queue, QueueModel::PowerProb { n: 3.0 });
        let e = plan_config(&[Format::Tardis], &f, &TickChoices::default(), 4, 60, 0).unwrap_err();
        assert!(e.contains("need 4.0 min of market time but the data holds 3.0 min (3 iterations)"), "{e}");
    }

    /// A tick size the data's prices are not all multiples of would round them:
    /// refused, naming the data's grid; one that divides the grid is taken as given.
    #[test]
    fn a_tick_size_must_divide_the_datas_price_grid() {
        let f = facts(); // book prices on a 0.01 grid
        let with = |t: &str| {
            let choices = TickChoices { tick_size: Some(t.into()), ..TickChoices::default() };
            plan_config(&[Format::Tardis], &f, &choices, 3, 60, 0)
        };
        for bad in ["0.03", "0.02", "0.1", "1"] {
            let e = with(bad).unwrap_err();
            assert!(
                e.starts_with(&format!(
                    "tick size {bad:?} does not fit the data: its book prices are multiples of 0.01"
                )),
                "{e}"
            );
            assert!(e.ends_with("give a tick size that divides 0.01, or none to use 0.01"), "{e}");
        }
        for good in ["0.01", "0.005", "0.00000001"] {
            assert_eq!(with(good).unwrap().tick, TickSize(parse_scaled(good).unwrap()), "{good}");
        }
        for bad in ["0", "-0.1", "abc", "1e-2", "0.000000001"] {
            let e = with(bad).unwrap_err();
            assert_eq!(
                e,
                format!("tick size {bad:?} must be a positive decimal price with at most 8 decimals (e.g. 0.01)")
            );
        }
    }

    /// Every choice the data cannot support is found at once, each quoting the
    /// value as given; `plan_config` stops at the first.
    #[test]
    fn every_choice_the_data_cannot_support_is_listed() {
        let f = facts(); // no order ids, one stamp, a 0.01 grid
        let choices = TickChoices {
            queue_model: Some("fifo".into()),
            latency: Some("data:5".into()),
            tick_size: Some("0.03".into()),
            ..TickChoices::default()
        };
        let found = data_checks(&f, &choices);
        assert_eq!(
            found.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
            [DataChoice::QueueModel, DataChoice::Latency, DataChoice::TickSize]
        );
        assert_eq!(found[0].1, "queue model \"fifo\" needs data with order ids (LOBSTER); this data has none");
        assert_eq!(
            found[1].1,
            "latency \"data:5\" needs exchange and local timestamps in the data; this data has one stamp (use constant)"
        );
        assert!(found[2].1.starts_with("tick size \"0.03\" does not fit the data"), "{}", found[2].1);
        assert_eq!(plan_config(&[Format::Tardis], &f, &choices, 3, 60, 0).unwrap_err(), found[2].1);
        assert!(data_checks(&f, &TickChoices { queue_model: Some("auto".into()), ..TickChoices::default() }).is_empty());
    }

    /// A shortfall that rounds away in minutes: the two spans must read differently.
    #[test]
    fn a_shortfall_is_printed_so_the_two_spans_differ() {
        let short =
            |last: i64| ScanFacts { last_ns: Some(last), stream_spans: vec![Some((1_500_000_000, last))], ..facts() };
        let e = plan_config(&[Format::Tardis], &short(180_390_000_000), &TickChoices::default(), 3, 60, 0).unwrap_err();
        assert!(e.contains("need 180.000 s of market time but the data holds 179.390 s (2 iterations)"), "{e}");
        let e =
            plan_config(&[Format::Tardis], &short(180_980_000_000), &TickChoices::default(), 180, 1, 0).unwrap_err();
        assert!(e.contains("need 180.000 s of market time but the data holds 179.980 s (179 iterations)"), "{e}");
        assert_eq!(market_times(1, 2), ("1 ns".into(), "2 ns".into()));
    }

    #[test]
    fn models_parse_and_refuse_what_the_data_cannot_support() {
        assert_eq!(parse_queue("prob:2", false).unwrap(), QueueModel::PowerProb { n: 2.0 });
        assert!(parse_queue("fifo", false).unwrap_err().contains("order ids"));
        assert_eq!(parse_queue("auto", true).unwrap(), QueueModel::Fifo);
        assert!(parse_queue("prob:-1", false).is_err());
        assert_eq!(
            parse_latency("constant:10:20", false).unwrap(),
            LatencyModel::Constant { entry_ms: 10.0, response_ms: 20.0 }
        );
        assert!(parse_latency("data", false).unwrap_err().contains("one stamp"));
        assert!(parse_latency("fast", true).is_err());
    }
}
