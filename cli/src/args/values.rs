//! Ranges and value parsers of the whole-number flags.

/// `run --iterations` (and `[soak] iterations`): at least one; no upper limit but u32's.
pub const RUN_ITERATIONS: (u64, u64) = (1, u32::MAX as u64);
/// `run --iteration-seconds` (and `[soak] iteration_seconds`): one second to one day of market time.
pub const ITERATION_SECONDS: (u64, u64) = (1, 86_400);
/// `run --markout-ms`: one millisecond to one hour.
pub const MARKOUT_MS: (u64, u64) = (1, 3_600_000);

/// Value parser of a whole-number flag from MIN to MAX: a negative, fractional or
/// non-number value is refused naming the range (clap's own says "invalid digit
/// found in string" or "-5 is not in 0..=4294967295").
pub fn whole<T: TryFrom<u64>, const MIN: u64, const MAX: u64>(value: &str) -> Result<T, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (MIN..=MAX).contains(n))
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| format!("must be a whole number from {MIN} to {MAX}"))
}

/// [`whole`] over all of u32.
pub fn whole_u32(value: &str) -> Result<u32, String> {
    whole::<u32, 0, { u32::MAX as u64 }>(value)
}

/// [`whole`] over all of u64.
pub fn whole_u64(value: &str) -> Result<u64, String> {
    whole::<u64, 0, { u64::MAX }>(value)
}
