//! Bar times: a number whose unit its magnitude tells, or an ISO-8601 date-time,
//! as Unix seconds (see [`super`]).

/// A bar time as Unix seconds and the unit it was written in.
pub fn parse_time(raw: &str) -> Result<(i64, &'static str), String> {
    let s = raw.trim().trim_matches('"');
    if s.is_empty() {
        return Err("the time is empty".into());
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'-') && !s[1..].contains('-') {
        let v: i64 = s.parse().map_err(|_| format!("time {s:?} is not a number or date"))?;
        return Ok(by_magnitude(v as i128, s));
    }
    if let Ok(x) = s.parse::<f64>() {
        if x.is_finite() && x.abs() < 1e19 {
            // Float seconds (Kaggle writes `1325317920.0`): whole seconds are exact in f64.
            let whole = x.floor();
            return Ok(by_magnitude(whole as i128, s));
        }
        return Err(format!("time {s:?} is not a time"));
    }
    parse_iso8601(s).map(|t| (t, "iso8601"))
}

fn by_magnitude(v: i128, _raw: &str) -> (i64, &'static str) {
    let a = v.abs();
    let (div, unit) = if a < 100_000_000_000 {
        (1, "s")
    } else if a < 100_000_000_000_000 {
        (1_000, "ms")
    } else if a < 100_000_000_000_000_000 {
        (1_000_000, "us")
    } else {
        (1_000_000_000, "ns")
    };
    ((v.div_euclid(div)) as i64, unit)
}

/// `YYYY-MM-DD[(T| )HH:MM[:SS[.frac]]][Z|±HH[:]MM]` as Unix seconds (fractions dropped).
fn parse_iso8601(s: &str) -> Result<i64, String> {
    let bad = || format!("time {s:?} is neither a number nor an ISO-8601 date-time");
    let b = s.as_bytes();
    let num = |r: core::ops::Range<usize>| -> Result<i64, String> {
        let part = s.get(r).ok_or_else(bad)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse::<i64>().map_err(|_| bad())
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return Err(format!("time {s:?}: no such date"));
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    let mut i = 10;
    if i < b.len() && (b[i] == b'T' || b[i] == b' ') {
        let (h, mi) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
        if b.get(i + 3) != Some(&b':') || h > 23 || mi > 59 {
            return Err(bad());
        }
        secs += h * 3600 + mi * 60;
        i += 6;
        if b.get(i) == Some(&b':') {
            let sec = num(i + 1..i + 3)?;
            if sec > 60 {
                return Err(bad());
            }
            secs += sec;
            i += 3;
            if b.get(i) == Some(&b'.') {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
        }
    }
    let rest = &s[i..];
    let offset = match rest {
        "" | "Z" | "z" | " UTC" | "UTC" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return Err(bad()),
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            let h: i64 = digits[..2].parse().map_err(|_| bad())?;
            let m: i64 = digits[2..].parse().map_err(|_| bad())?;
            sign * (h * 3600 + m * 60)
        }
    };
    Ok(secs - offset)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
