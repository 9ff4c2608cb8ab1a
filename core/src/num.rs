//! `f64` maximum and minimum with exactly the results of libm's `fmax` and
//! `fmin`, as plain comparisons the compiler inlines.
//!
//! Why: `f64::max`/`min` must return the other operand when one is NaN, which
//! WebAssembly's `f64.max`/`f64.min` do not (they propagate the NaN), so under
//! wasm every `f64::max` is a call to the `fmax` function of the
//! compiler-builtins libm — out of line, a frame on the shadow stack — while
//! natively it is two instructions. The tick replay's queue models call them on
//! every trade and depth change at our price.
//!
//! These give the wasm build's results bit for bit (they are the libm
//! functions' bodies: rust-lang/compiler-builtins, `libm/src/math/generic/fmax.rs`
//! and `fmin.rs`), so artifacts written under wasm do not change. Natively
//! `f64::max` is `maxsd`, which differs from libm only for opposite zeros
//! (`(0.0).max(-0.0)` is `-0.0` on x86-64 and `0.0` from libm); with these
//! both engines agree there too.

/// IEEE 754-2008 maxNum as libm's `fmax`: `y` when `x` is NaN or less than `y`, else `x`.
#[inline(always)]
pub fn max_num(x: f64, y: f64) -> f64 {
    if x.is_nan() || x < y {
        y
    } else {
        x
    }
}

/// IEEE 754-2008 minNum as libm's `fmin`: `x` when `y` is NaN or `x` is less than `y`, else `y`.
#[inline(always)]
pub fn min_num(x: f64, y: f64) -> f64 {
    if y.is_nan() || x < y {
        x
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn they_give_libms_results_on_every_kind_of_operand() {
        let values = [f64::NAN, f64::NEG_INFINITY, -1.5, -0.0, 0.0, 1e-300, 2.0, f64::INFINITY];
        for &x in &values {
            for &y in &values {
                let (mx, lx) = (max_num(x, y), libm::fmax(x, y));
                let (mn, ln) = (min_num(x, y), libm::fmin(x, y));
                assert!(mx.to_bits() == lx.to_bits() || (mx.is_nan() && lx.is_nan()), "max({x}, {y})");
                assert!(mn.to_bits() == ln.to_bits() || (mn.is_nan() && ln.is_nan()), "min({x}, {y})");
            }
        }
        // The cases the product relies on: a quantity floored at zero keeps a -0.0.
        assert_eq!(max_num(-0.0, 0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(max_num(f64::NAN, 0.0), 0.0);
        assert_eq!(max_num(-3.0, 0.0), 0.0);
    }
}
