//! A seeded, structure-aware mutator over real sample files.
//!
//! Outside data is text with structure (CSV fields, JSON and TOML values, lines),
//! so besides blind byte edits the mutator swaps numbers for the values parsers
//! get wrong (0, −1, 1e309, NaN, integers past i64/u64), empties fields, and
//! moves whole lines and splices between samples. Same seed ⇒ same inputs, so a
//! finding is reproduced by `mmsoak-fuzz --target T --seed S`.

/// Values that break number handling: overflow, non-finite, sign, precision.
pub const NUMBERS: [&str; 30] = [
    "0",
    "-0",
    "-1",
    "1",
    "0.0",
    "1e309",
    "-1e309",
    "1e-320",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "255",
    "256",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999",
    "0.000000001",
    "1.00000000000000000001",
    "",
];

/// Tokens that change structure: separators, JSON/TOML values, line and quote breaks.
const TOKENS: [&str; 24] = [
    ",", ";", " ", "\t", "\n", "\r\n", "\"", "'", ":", "=", "[", "]", "{", "}", "[]", "{}", "null", "true", "\"\"",
    "#", "\u{feff}", "\u{0}", "\u{fffd}", "é",
];

/// Largest input the mutator makes (real lines are far smaller; bigger only slows the run).
pub const MAX_LEN: usize = 256 * 1024;

pub struct Mutator {
    rng: fastrand::Rng,
}

impl Mutator {
    pub fn new(seed: u64) -> Self {
        Mutator { rng: fastrand::Rng::with_seed(seed) }
    }

    /// One input: a seed (picked at random) with 1 to 6 stacked mutations; every 16th
    /// input is a seed unchanged, so the valid path stays covered.
    pub fn input(&mut self, seeds: &[Vec<u8>]) -> Vec<u8> {
        let mut data = seeds[self.rng.usize(..seeds.len())].clone();
        if self.rng.u8(..16) == 0 {
            return data;
        }
        for _ in 0..self.rng.usize(1..=6) {
            self.mutate(&mut data, seeds);
        }
        data.truncate(MAX_LEN);
        data
    }

    fn mutate(&mut self, data: &mut Vec<u8>, seeds: &[Vec<u8>]) {
        match self.rng.u8(..14) {
            0 => self.flip_bit(data),
            1 => self.set_byte(data),
            2 => self.insert_bytes(data),
            3 => self.delete_range(data),
            4 => self.duplicate_range(data),
            5..=7 => self.swap_number(data),
            8 => self.empty_field(data),
            9 => self.insert_token(data),
            10 => self.line_op(data),
            11 => self.splice(data, seeds),
            12 => self.truncate(data),
            _ => self.tweak_number(data),
        }
    }

    fn pos(&mut self, data: &[u8]) -> usize {
        self.rng.usize(..=data.len())
    }

    fn flip_bit(&mut self, data: &mut [u8]) {
        if !data.is_empty() {
            let i = self.rng.usize(..data.len());
            data[i] ^= 1 << self.rng.u8(..8);
        }
    }

    fn set_byte(&mut self, data: &mut [u8]) {
        if !data.is_empty() {
            let i = self.rng.usize(..data.len());
            data[i] = match self.rng.u8(..4) {
                0 => self.rng.u8(..),
                1 => b"0123456789"[self.rng.usize(..10)],
                2 => b",.-+eE \n\":"[self.rng.usize(..10)],
                _ => 0xff,
            };
        }
    }

    fn insert_bytes(&mut self, data: &mut Vec<u8>) {
        let at = self.pos(data);
        let n = self.rng.usize(1..=8);
        let bytes: Vec<u8> = (0..n).map(|_| self.rng.u8(..)).collect();
        data.splice(at..at, bytes);
    }

    fn range(&mut self, data: &[u8], max: usize) -> (usize, usize) {
        let a = self.rng.usize(..=data.len());
        let b = (a + self.rng.usize(..=max)).min(data.len());
        (a, b)
    }

    fn delete_range(&mut self, data: &mut Vec<u8>) {
        let (a, b) = self.range(data, 64);
        data.drain(a..b);
    }

    fn duplicate_range(&mut self, data: &mut Vec<u8>) {
        let (a, b) = self.range(data, 256);
        let piece = data[a..b].to_vec();
        let at = self.pos(data);
        data.splice(at..at, piece);
    }

    /// Byte ranges of number-like tokens: a digit run with its sign, point and exponent.
    fn numbers(data: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < data.len() {
            if data[i].is_ascii_digit() {
                let mut a = i;
                if a > 0 && data[a - 1] == b'-' {
                    a -= 1;
                }
                let mut b = i;
                while b < data.len()
                    && (data[b].is_ascii_digit() || matches!(data[b], b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    b += 1;
                }
                out.push((a, b));
                i = b;
            } else {
                i += 1;
            }
        }
        out
    }

    fn pick_number(&mut self, data: &[u8]) -> Option<(usize, usize)> {
        let nums = Self::numbers(data);
        (!nums.is_empty()).then(|| nums[self.rng.usize(..nums.len())])
    }

    fn swap_number(&mut self, data: &mut Vec<u8>) {
        if let Some((a, b)) = self.pick_number(data) {
            let with = NUMBERS[self.rng.usize(..NUMBERS.len())];
            data.splice(a..b, with.bytes());
        }
    }

    /// A number nudged: ±1 on its last digit, digits appended, or its sign flipped.
    fn tweak_number(&mut self, data: &mut Vec<u8>) {
        let Some((a, b)) = self.pick_number(data) else { return };
        match self.rng.u8(..3) {
            0 => {
                if let Some(last) = (a..b).rev().find(|&i| data[i].is_ascii_digit()) {
                    data[last] = if data[last] == b'9' { b'0' } else { data[last] + 1 };
                }
            }
            1 => {
                let digits = "9".repeat(self.rng.usize(1..=20));
                data.splice(b..b, digits.bytes());
            }
            _ => {
                if data[a] == b'-' {
                    data.remove(a);
                } else {
                    data.insert(a, b'-');
                }
            }
        }
    }

    /// Deletes the bytes between two delimiters (`,` `:` `=` space, quotes, line ends).
    fn empty_field(&mut self, data: &mut Vec<u8>) {
        let is_delim =
            |c: u8| matches!(c, b',' | b':' | b'=' | b' ' | b'"' | b'\n' | b'\t' | b'[' | b']' | b'{' | b'}');
        let delims: Vec<usize> = (0..data.len()).filter(|&i| is_delim(data[i])).collect();
        if delims.len() < 2 {
            return;
        }
        let k = self.rng.usize(..delims.len() - 1);
        data.drain(delims[k] + 1..delims[k + 1]);
    }

    fn insert_token(&mut self, data: &mut Vec<u8>) {
        let at = self.pos(data);
        let t = TOKENS[self.rng.usize(..TOKENS.len())];
        data.splice(at..at, t.bytes());
    }

    fn line_bounds(data: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, &c) in data.iter().enumerate() {
            if c == b'\n' {
                out.push((start, i + 1));
                start = i + 1;
            }
        }
        if start < data.len() {
            out.push((start, data.len()));
        }
        out
    }

    /// Deletes, duplicates or swaps whole lines (rows out of order, repeated, missing).
    fn line_op(&mut self, data: &mut Vec<u8>) {
        let lines = Self::line_bounds(data);
        if lines.is_empty() {
            return;
        }
        let (a, b) = lines[self.rng.usize(..lines.len())];
        match self.rng.u8(..3) {
            0 => {
                data.drain(a..b);
            }
            1 => {
                let line = data[a..b].to_vec();
                data.splice(a..a, line);
            }
            _ => {
                let (c, d) = lines[self.rng.usize(..lines.len())];
                if (c, d) != (a, b) {
                    let (first, second) = if a < c { ((a, b), (c, d)) } else { ((c, d), (a, b)) };
                    let mut out = data[..first.0].to_vec();
                    out.extend_from_slice(&data[second.0..second.1]);
                    out.extend_from_slice(&data[first.1..second.0]);
                    out.extend_from_slice(&data[first.0..first.1]);
                    out.extend_from_slice(&data[second.1..]);
                    *data = out;
                }
            }
        }
    }

    /// Replaces a tail of `data` with a tail of another sample.
    fn splice(&mut self, data: &mut Vec<u8>, seeds: &[Vec<u8>]) {
        let other = &seeds[self.rng.usize(..seeds.len())];
        let a = self.pos(data);
        let b = self.rng.usize(..=other.len());
        data.truncate(a);
        data.extend_from_slice(&other[b..]);
    }

    fn truncate(&mut self, data: &mut Vec<u8>) {
        let at = self.pos(data);
        data.truncate(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_inputs_and_numbers_are_found() {
        let seeds = vec![b"time,price\n1,2.5\n3,-4e2\n".to_vec()];
        let a: Vec<Vec<u8>> = (0..50).scan(Mutator::new(9), |m, _| Some(m.input(&seeds))).collect();
        let b: Vec<Vec<u8>> = (0..50).scan(Mutator::new(9), |m, _| Some(m.input(&seeds))).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|x| x != &seeds[0]), "the mutator changed nothing");
        assert_eq!(Mutator::numbers(b"a,1,-2.5e3\n"), vec![(2, 3), (4, 10)]);
    }
}
