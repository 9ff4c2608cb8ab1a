//! The core's own seeded PRNG. No global state, no OS entropy: a stream is a
//! pure function of its seed, so every platform draws the same numbers.

/// xoshiro256++ (Blackman & Vigna), seeded through SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

#[path = "ziggurat_tables.rs"]
mod ziggurat_tables;
use ziggurat_tables::{ZIG_EXP_F, ZIG_EXP_R, ZIG_EXP_X, ZIG_NORM_F, ZIG_NORM_R, ZIG_NORM_X};

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64's finalizer: a bijective 64-bit mix.
fn fmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Mixes several words into one seed; used to give every (seed, iteration, purpose)
/// its own independent stream. Each word is mixed before it is combined, so
/// (1, 3) and (2, 2) do not collide the way plain xor-chaining can.
pub fn derive_seed(parts: &[u64]) -> u64 {
    let mut h = 0x6D6D_736F_616B_u64; // "mmsoak"
    for &p in parts {
        h = fmix64(h ^ fmix64(p.wrapping_add(0x9E37_79B9_7F4A_7C15)));
    }
    h
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = [splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm)];
        Rng { s }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = (self.s[0].wrapping_add(self.s[3])).rotate_left(23).wrapping_add(self.s[0]);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        // Through i64: the value is below 2^53 either way, and a signed conversion is
        // one instruction under wasm too (an unsigned one is a branchy sequence).
        ((self.next_u64() >> 11) as i64) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1]: safe to take the logarithm of.
    pub fn uniform_open0(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Standard normal by the 256-layer ziggurat (Marsaglia & Tsang 2000, in the
    /// form of rand 0.7's `ziggurat`): one 64-bit draw gives the layer (low 8 bits)
    /// and a signed uniform (high 52 bits); 98.8 % of draws return after one
    /// multiply and compare, the rest test the density with `libm::exp` or draw the
    /// tail beyond R with `libm::log`. Exact in distribution, and every platform
    /// agrees bit for bit (exact operations, table literals, libm).
    #[inline(always)]
    pub fn normal(&mut self) -> f64 {
        let (i, u, x) = self.normal_layer();
        if x.abs() < ZIG_NORM_X[i + 1] {
            return x;
        }
        self.on_copy(|r| r.normal_rejected(i, u, x))
    }

    /// One draw of [`Rng::normal`]'s ziggurat: its layer `i`, signed uniform `u`
    /// and candidate `x = u · X[i]`.
    #[inline(always)]
    fn normal_layer(&mut self) -> (usize, f64, f64) {
        let bits = self.next_u64();
        let i = (bits & 0xff) as usize;
        // (bits >> 12) < 2^52: exact as f64; scaling by 2^-51 and subtracting 1 is
        // exact too, giving a multiple of 2^-51 in [-1, 1).
        let u = ((bits >> 12) as i64) as f64 * (1.0 / (1u64 << 51) as f64) - 1.0;
        (i, u, u * ZIG_NORM_X[i])
    }

    /// The rest of [`Rng::normal`] after a draw `(i, u, x)` outside layer `i`'s
    /// rectangle: the density test or the tail, then fresh draws as needed.
    #[cold]
    #[inline(never)]
    fn normal_rejected(&mut self, mut i: usize, mut u: f64, mut x: f64) -> f64 {
        loop {
            if i == 0 {
                return self.normal_tail(u);
            }
            let y = ZIG_NORM_F[i + 1] + (ZIG_NORM_F[i] - ZIG_NORM_F[i + 1]) * self.uniform();
            if y < libm::exp(-x * x / 2.0) {
                return x;
            }
            (i, u, x) = self.normal_layer();
            if x.abs() < ZIG_NORM_X[i + 1] {
                return x;
            }
        }
    }

    /// `f` on a copy of the generator, whose state then replaces this one's: the
    /// same draws as `f(self)`. For rare out-of-line work from a hot loop: only
    /// the copy's address escapes, so the loop's generator can stay in registers
    /// (under wasm, a generator whose address escapes lives in linear memory and
    /// every draw loads and stores its state there).
    #[inline(always)]
    pub fn on_copy<R>(&mut self, f: impl FnOnce(&mut Rng) -> R) -> R {
        let mut copy = self.clone();
        let out = f(&mut copy);
        *self = copy;
        out
    }

    /// The normal's tail beyond `ZIG_NORM_R` (Marsaglia 1964), on the side of `u`'s sign.
    fn normal_tail(&mut self, u: f64) -> f64 {
        loop {
            let x = libm::log(self.uniform_open0()) / ZIG_NORM_R;
            let y = libm::log(self.uniform_open0());
            if -2.0 * y >= x * x {
                return if u < 0.0 { x - ZIG_NORM_R } else { ZIG_NORM_R - x };
            }
        }
    }

    /// Exponential with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        mean * self.standard_exponential()
    }

    /// Exponential with mean 1 by the 256-layer ziggurat (as [`Rng::normal`], one-sided:
    /// a uniform in (0, 1) from the high 52 bits); the tail beyond R is R plus a fresh
    /// exponential, the distribution's memorylessness.
    #[inline(always)]
    pub fn standard_exponential(&mut self) -> f64 {
        let (i, x) = self.exponential_layer();
        if x < ZIG_EXP_X[i + 1] {
            return x;
        }
        self.on_copy(|r| r.exponential_rejected(i, x))
    }

    /// One draw of [`Rng::standard_exponential`]'s ziggurat: its layer `i` and
    /// candidate `x = u · X[i]`.
    #[inline(always)]
    fn exponential_layer(&mut self) -> (usize, f64) {
        let bits = self.next_u64();
        let i = (bits & 0xff) as usize;
        // ((bits >> 12) + 0.5) · 2^-52: exact, in (0, 1).
        let u = (((bits >> 12) as i64) as f64 + 0.5) * (1.0 / (1u64 << 52) as f64);
        (i, u * ZIG_EXP_X[i])
    }

    /// The rest of [`Rng::standard_exponential`] after a draw `(i, x)` outside
    /// layer `i`'s rectangle, as [`Rng::normal_rejected`].
    #[cold]
    #[inline(never)]
    fn exponential_rejected(&mut self, mut i: usize, mut x: f64) -> f64 {
        loop {
            if i == 0 {
                return ZIG_EXP_R - libm::log(self.uniform_open0());
            }
            let y = ZIG_EXP_F[i + 1] + (ZIG_EXP_F[i] - ZIG_EXP_F[i + 1]) * self.uniform();
            if y < libm::exp(-x) {
                return x;
            }
            (i, x) = self.exponential_layer();
            if x < ZIG_EXP_X[i + 1] {
                return x;
            }
        }
    }

    /// Poisson count for a small mean (Knuth's method; means here stay well below 30).
    pub fn poisson(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        let limit = libm::exp(-mean);
        let mut k = 0;
        let mut p = self.uniform_open0();
        while p > limit && k < 1000 {
            k += 1;
            p *= self.uniform_open0();
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_different_seeds_differ() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let xa: Vec<u64> = (0..16).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..16).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..16).map(|_| c.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn derived_seeds_do_not_collide_on_small_inputs() {
        let mut seen = std::collections::HashSet::new();
        for a in 0..64u64 {
            for b in 0..64u64 {
                assert!(seen.insert(derive_seed(&[a, b, 7])), "collision at ({a}, {b})");
            }
        }
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = Rng::new(42);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
    }

    /// The ziggurat's layers, wedges and tail together give N(0, 1): the fourth
    /// moment and the tail mass beyond 2 and beyond R (the tail algorithm's part)
    /// match the normal's.
    #[test]
    fn normal_has_normal_tails() {
        let mut r = Rng::new(11);
        let n = 1_000_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let m4 = xs.iter().map(|x| x * x * x * x).sum::<f64>() / n as f64;
        assert!((m4 - 3.0).abs() < 0.05, "fourth moment {m4}");
        let beyond = |t: f64| xs.iter().filter(|x| x.abs() > t).count() as f64 / n as f64;
        // P(|Z| > 2) = 0.045500, P(|Z| > R = 3.6542) = 0.000258.
        assert!((beyond(2.0) - 0.0455).abs() < 0.0015, "P(|Z|>2) {}", beyond(2.0));
        assert!((beyond(ZIG_NORM_R) - 0.000258).abs() < 0.00006, "P(|Z|>R) {}", beyond(ZIG_NORM_R));
        let negative = xs.iter().filter(|x| **x < 0.0).count() as f64 / n as f64;
        assert!((negative - 0.5).abs() < 0.002, "P(Z<0) {negative}");
    }

    /// The exponential ziggurat gives Exp(1): mean, variance and the tail beyond
    /// 2 and beyond R (the part drawn by the tail rule).
    #[test]
    fn standard_exponential_has_exponential_moments_and_tails() {
        let mut r = Rng::new(13);
        let n = 1_000_000;
        let xs: Vec<f64> = (0..n).map(|_| r.standard_exponential()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < 0.005, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
        let beyond = |t: f64| xs.iter().filter(|x| **x > t).count() as f64 / n as f64;
        // e^-2 = 0.135335, e^-R = 0.000454 (R = 7.6971).
        assert!((beyond(2.0) - 0.135335).abs() < 0.002, "P(X>2) {}", beyond(2.0));
        assert!((beyond(ZIG_EXP_R) - 0.000454).abs() < 0.0001, "P(X>R) {}", beyond(ZIG_EXP_R));
        assert!(xs.iter().all(|x| *x > 0.0));
    }

    #[test]
    fn poisson_mean_matches() {
        let mut r = Rng::new(3);
        let n = 100_000;
        let total: u64 = (0..n).map(|_| r.poisson(2.5) as u64).sum();
        let mean = total as f64 / n as f64;
        assert!((mean - 2.5).abs() < 0.03, "mean {mean}");
    }
}
