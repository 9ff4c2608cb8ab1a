//! The judge's figures against scipy 1.17 (`scipy.stats.mannwhitneyu`, default
//! `method="auto"`) and a Hodges-Lehmann interval computed independently.

use super::*;

const NET: EffectGate = EffectGate { alpha: 0.05, allowed_increase: 0.25, allowed_decrease: 0.25 };

#[test]
fn small_untied_samples_use_the_exact_distribution() {
    // mannwhitneyu([10,11],[12,1,2,3]) → U=6, p=0.533333 (exact; asymptotic would say 0.487).
    let r = mann_whitney(&[10.0, 11.0], &[12.0, 1.0, 2.0, 3.0]);
    assert_eq!(r.method, Method::Exact);
    assert_eq!(r.u, 6.0);
    assert_eq!(r.p_value, 0.533333);
    // alternative="greater" → 0.266667 (4 of the 15 arrangements have U ≥ 6).
    assert_eq!(r.p_greater, 0.266667);
    assert_eq!(r.p_less, 0.866667);
}

#[test]
fn tied_samples_use_the_corrected_normal_approximation() {
    // mannwhitneyu([0,1,2,1,0,0],[0]*6) → U=27, p=0.0731398 (asymptotic: ties).
    let r = mann_whitney(&[0.0, 1.0, 2.0, 1.0, 0.0, 0.0], &[0.0; 6]);
    assert_eq!(r.method, Method::Asymptotic);
    assert_eq!(r.u, 27.0);
    assert!((r.p_value - 0.07314).abs() < 5e-6, "{r:?}");
    // alternative="greater" → 0.0365699
    assert!((r.p_greater - 0.03657).abs() < 5e-6, "{r:?}");
}

#[test]
fn large_samples_are_asymptotic_like_scipy() {
    // mannwhitneyu(range(10,20), range(0,10)) → U=100, p=0.000182672 (both > 8: asymptotic).
    let a: Vec<f64> = (10..20).map(f64::from).collect();
    let b: Vec<f64> = (0..10).map(f64::from).collect();
    let r = mann_whitney(&a, &b);
    assert_eq!((r.u, r.method), (100.0, Method::Asymptotic));
    assert!((r.p_value - 0.000183).abs() < 2e-6, "{r:?}");
}

#[test]
fn identical_empty_and_all_tied_samples_give_p_one_and_no_nan() {
    let a = [1.0, 2.0, 3.0, 4.0, 5.0];
    let r = mann_whitney(&a, &a);
    assert_eq!((r.u, r.p_value), (12.5, 1.0));
    let tied = mann_whitney(&[2.0; 9], &[2.0; 12]);
    assert_eq!((tied.p_value, tied.p_greater, tied.p_less), (1.0, 1.0, 1.0));
    let empty = mann_whitney(&[], &[1.0]);
    assert_eq!((empty.p_value, empty.method), (1.0, Method::NoData));
    for u in [uplift(&a, &a), uplift(&[2.0; 9], &[2.0; 12]), uplift(&[], &[]), uplift(&[1.0], &[])] {
        let text = serde_json::to_string(&u).unwrap();
        assert!(!text.contains("NaN") && !text.contains("null"), "{text}");
    }
    let same = judged(&a, &a, Better::Higher, NET);
    let j = same.judgement.unwrap();
    // scipy, alternative="greater": 0.542235 (the continuity correction past the mean).
    assert_eq!((j.p_one_sided, j.outcome), (0.542235, Outcome::NoSignificantDifference));
    assert_eq!(same.shift.unwrap().estimate, 0.0);
    let none = judged(&[], &[], Better::Lower, NET);
    assert!(none.shift.is_none());
    assert_eq!(none.judgement.unwrap().outcome, Outcome::NoSignificantDifference);
}

#[test]
fn hodges_lehmann_interval_matches_an_independent_enumeration() {
    // Computed in Python without scipy: the 42 differences sorted; the U
    // distribution by enumerating all C(13,7) = 1716 splits; k = 7 is the largest
    // with P(U ≤ k−1) ≤ 0.025 → [D(7), D(36)] = [0.1, 3.3], coverage 0.965035;
    // median of the differences 1.75. scipy: U=36, two-sided 0.034965, greater 0.017483.
    let tuned = [1.2, 3.4, 2.2, 5.0, 4.1, 2.9, 3.8];
    let base = [0.5, 1.9, 2.4, 1.1, 3.0, 0.2];
    let u = judged(&tuned, &base, Better::Higher, NET);
    assert_eq!(u.test.method, Method::Exact);
    assert_eq!((u.test.u, u.test.p_value, u.test.p_greater), (36.0, 0.034965, 0.017483));
    let hl = u.shift.clone().unwrap();
    assert_eq!((hl.estimate, hl.ci_low, hl.ci_high, hl.confidence), (1.75, 0.1, 3.3, 0.965035));
    assert_eq!(u.judgement.unwrap().outcome, Outcome::Better);
    // Lower is better for the same numbers: significant the wrong way.
    assert_eq!(judged(&tuned, &base, Better::Lower, NET).judgement.unwrap().outcome, Outcome::Worse);
}

#[test]
fn a_significant_but_negligible_shift_is_not_a_win() {
    // 20 vs 20 values, every tuned one 0.1 above its baseline twin: clearly
    // significant (all ranks split), but 0.1 bps is inside a 0.25 bps allowance.
    let base: Vec<f64> = (0..20).map(|i| f64::from(i) * 0.001).collect();
    let tuned: Vec<f64> = base.iter().map(|x| x + 0.1).collect();
    let u = judged(&tuned, &base, Better::Higher, NET);
    let j = u.judgement.unwrap();
    assert!(j.p_one_sided < 1e-6, "{j:?}");
    assert_eq!(j.outcome, Outcome::Negligible);
    assert_eq!(u.shift.unwrap().estimate, 0.1);
    let strict = EffectGate { allowed_increase: 0.05, ..NET };
    assert_eq!(judged(&tuned, &base, Better::Higher, strict).judgement.unwrap().outcome, Outcome::Better);
}

#[test]
fn the_exact_distribution_is_the_gaussian_binomial() {
    // n1=2, n2=4: counts of U = 0..8 are 1,1,2,2,3,2,2,1,1 (sum C(6,2) = 15).
    let d = UDistribution::new(2, 4);
    assert_eq!(d.counts, vec![1, 1, 2, 2, 3, 2, 2, 1, 1]);
    assert_eq!(d.total, 15);
    // Symmetric and summing to C(n1+n2, n1) for a lopsided case.
    let d = UDistribution::new(8, 300);
    assert_eq!(d.total, (301..=308).product::<i128>() / (1..=8).product::<i128>());
    assert!(d.counts.iter().eq(d.counts.iter().rev()));
}

#[test]
fn kth_difference_is_an_order_statistic_of_the_pairwise_differences() {
    let xs = [-1.5, 0.0, 0.25, 7.0];
    let ys = [-2.0, 0.0, 3.0];
    let mut all: Vec<f64> = xs.iter().flat_map(|x| ys.iter().map(move |y| x - y)).collect();
    all.sort_by(f64::total_cmp);
    for (k, want) in all.iter().enumerate() {
        assert_eq!(kth_difference(&xs, &ys, k + 1), *want + 0.0);
    }
}
