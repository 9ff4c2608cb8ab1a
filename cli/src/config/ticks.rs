//! `[ticks]` of mmsoak.toml: the tick replay's data format and exchange models,
//! as the flags take them.

use anyhow::Result;
use mmsoak_core::exchange::plan::setting::toml_spelling;
use serde::Deserialize;

/// `[ticks]`: tick-replay data format and exchange models (flags win).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicksSection {
    pub data_format: Option<String>,
    pub queue_model: Option<String>,
    pub latency: Option<String>,
    pub maker_fee_bps: Option<f64>,
    pub taker_fee_bps: Option<f64>,
    /// `"0.01"` or `0.01`: TOML users write numbers; kept as the decimal text.
    #[serde(default, deserialize_with = "tick_size_value")]
    pub tick_size: Option<String>,
    pub backstep_tolerance_ms: Option<f64>,
}

/// `[ticks] tick_size` as a string or a number (its value is checked with the
/// section's others, where the file is read, `config validate` too). A number is
/// read as its shortest decimal (`0.01` → "0.01"; Rust never prints exponents).
fn tick_size_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(f64),
    }
    let text = match Raw::deserialize(d)
        .map_err(|_| serde::de::Error::custom("tick_size must be a decimal price, e.g. \"0.01\" or 0.01"))?
    {
        Raw::Text(s) => s,
        Raw::Number(v) => format!("{v}"),
    };
    // Checked with the section's other values (`check_ticks`): one line each, all listed.
    Ok(Some(text))
}

/// `[ticks]`, each value checked on its own where the file is read: before any
/// data (a tick scan takes minutes on a large set), and by `config validate`.
/// Whether a value fits the data (`fifo` needs order ids, `latency = "data"` two
/// timestamps, a tick size the price grid) is the scan's to say. `at`: the
/// file and section, for the error.
pub(super) fn check_ticks(t: &TicksSection, at: &str) -> Result<()> {
    crate::tick_settings::check_alone(&t.as_flags(), |k| format!("{at} {}", k.toml()))
}

impl TicksSection {
    /// The section's values in the flags' shape, which the tick settings' checks
    /// take: numbers as the file spells them (`nan`, as a flag would be typed).
    pub fn as_flags(&self) -> crate::args::TickFlags {
        crate::args::TickFlags {
            data_format: self.data_format.clone(),
            queue_model: self.queue_model.clone(),
            latency: self.latency.clone(),
            maker_fee_bps: self.maker_fee_bps.map(toml_spelling),
            taker_fee_bps: self.taker_fee_bps.map(toml_spelling),
            tick_size: self.tick_size.clone(),
            backstep_tolerance_ms: self.backstep_tolerance_ms.map(toml_spelling),
        }
    }
}

#[cfg(test)]
mod tick_size_tests {
    use super::super::*;

    /// `[ticks] tick_size` reads as TOML users write it, and a malformed one is
    /// refused where the file is read, naming the file and the value.
    #[test]
    fn a_tick_size_may_be_a_number_or_a_string_and_a_bad_one_is_refused_on_reading() {
        let tick = |v: &str| parse_file(format!("[ticks]\ntick_size = {v}\n").as_bytes(), "mmsoak.toml");
        assert_eq!(tick("0.005").unwrap().ticks.tick_size.as_deref(), Some("0.005"));
        assert_eq!(tick("\"0.005\"").unwrap().ticks.tick_size.as_deref(), Some("0.005"));
        assert_eq!(tick("1").unwrap().ticks.tick_size.as_deref(), Some("1"));
        assert_eq!(parse_file(b"[ticks]\n", "mmsoak.toml").unwrap().ticks.tick_size, None);
        // The other values are checked on their own too, naming the file, section and key.
        let checked = |body: &str| {
            let file = parse_file(format!("[ticks]\n{body}\n").as_bytes(), "m.toml").unwrap();
            check_ticks(&file.ticks, "m.toml [ticks]").map_err(|e| e.to_string())
        };
        for (body, said) in [
            ("latency = \"constant:-5\"", "m.toml [ticks] latency: latency \"constant:-5\": \"-5\" is not a number"),
            ("queue_model = \"prob:0\"", "m.toml [ticks] queue_model: queue model \"prob:0\": choose"),
            ("data_format = \"csv\"", "m.toml [ticks] data_format: data format \"csv\": choose one of"),
            (
                "maker_fee_bps = -1e9",
                "m.toml [ticks] maker_fee_bps: maker fee -1000000000 bps: must be between -100 and 100 bps",
            ),
            ("taker_fee_bps = nan", "m.toml [ticks] taker_fee_bps: taker fee nan bps: must be between"),
            (
                "backstep_tolerance_ms = -1",
                "m.toml [ticks] backstep_tolerance_ms: backstep tolerance -1 ms: must be between 0 and 3600000 ms",
            ),
        ] {
            let e = checked(body).unwrap_err();
            assert!(e.starts_with(said), "{body}: {e}");
        }
        checked("latency = \"data:5\"\nqueue_model = \"fifo\"\nmaker_fee_bps = -0.5\ndata_format = \"lobster\"")
            .unwrap();
        let e = format!("{:#}", tick("true").unwrap_err());
        assert!(e.starts_with("mmsoak.toml: ") && e.contains("tick_size must be a decimal price"), "{e}");
        // A bad tick size is one line among the others, not a TOML parse error that hides them.
        for (bad, says) in [("\"abc\"", "\"abc\""), ("-0.1", "\"-0.1\""), ("0", "\"0\"")] {
            let e = checked(&format!("tick_size = {bad}\nlatency = \"x\"")).unwrap_err();
            assert!(e.starts_with("2 tick settings are not valid:\n  m.toml [ticks] latency: latency \"x\""), "{e}");
            assert!(e.ends_with(&format!("\n  m.toml [ticks] tick_size: tick size {says} must be a positive decimal price with at most 8 decimals (e.g. 0.01)")), "{e}");
        }
    }
}
