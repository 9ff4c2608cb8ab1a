//! Tick replays of real market data (../shared/data): fills come from real flow,
//! and the strategy's knobs move the results the way a market maker expects.

mod ticks;

use std::collections::BTreeMap;
use std::io::Read;

use mmsoak_core::edge::EdgeReport;
use mmsoak_core::exchange::maker::Fill;
use mmsoak_core::exchange::plan::TickChoices;
use mmsoak_core::feed::lobster::LobsterDecoder;
use mmsoak_core::feed::{Event, EventKind, LineDecoder, Side, TickSize};
use mmsoak_core::params::Params;
use ticks::*;

type Run = Vec<(EdgeReport, Vec<Fill>)>;

fn volume(rs: &Run) -> f64 {
    rs.iter().map(|r| r.0.data_quality.as_ref().unwrap().maker_volume).sum()
}
fn fills(rs: &Run) -> u64 {
    rs.iter().map(|r| r.0.maker_fills).sum()
}
/// Fill-weighted mean markout loss, bps.
fn adverse(rs: &Run) -> f64 {
    rs.iter().map(|r| r.0.adverse.mean * r.0.maker_fills as f64).sum::<f64>() / fills(rs).max(1) as f64
}
fn lobster() -> (DataSet, u32, u32) {
    (load(&[LOBSTER, LOBSTER_BOOK]), 26, 900)
}

#[test]
fn fills_never_exceed_the_real_volume_that_reached_our_quotes() {
    let sets = [(load(&BINANCE), 8, 60), (load(&TARDIS), 3, 60), lobster()];
    for (ds, n, secs) in &sets {
        let queues: &[&str] = if ds.formats[0] == mmsoak_core::feed::Format::Lobster {
            &["fifo", "risk-averse", "prob"]
        } else {
            &["risk-averse", "prob"]
        };
        for q in queues {
            let c = config(ds, &choices(q), *n, *secs);
            let rs = replay(ds, &c, &tight(), *n);
            assert!(fills(&rs) > 0, "{:?} {q}: no fills at all", ds.formats);
            for (r, fs) in &rs {
                let dq = r.data_quality.as_ref().unwrap();
                let ours: f64 = fs.iter().filter(|f| f.maker).map(|f| f.size).sum();
                assert!((ours - dq.maker_volume).abs() < 1e-6, "{ours} vs {}", dq.maker_volume);
                assert!(
                    dq.maker_volume <= dq.volume_reaching_quotes + 1e-9
                        && dq.volume_reaching_quotes <= dq.traded_volume + 1e-9,
                    "{:?} {q} iteration {}: filled {} of {} reaching our quotes ({} traded)",
                    ds.formats,
                    r.iteration,
                    dq.maker_volume,
                    dq.volume_reaching_quotes,
                    dq.traded_volume
                );
            }
        }
    }
}

/// What the message file says happened ahead of a quote: arrival time of every
/// order id, and every cancel or execution (time, side, price, id, qty).
/// A cancel or an execution: (exchange ns, resting side, price in ticks, order id, qty).
type Removal = (i64, Side, i64, u64, f64);

fn lobster_messages() -> (BTreeMap<u64, i64>, Vec<Removal>) {
    let text = |p: &str| {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(data(p)).unwrap()).read_to_string(&mut s).unwrap();
        s
    };
    let (msgs, books) = (text(LOBSTER), text(LOBSTER_BOOK));
    let mut d = LobsterDecoder::new(TickSize(1_000_000));
    let mut added = BTreeMap::new();
    let mut removed = Vec::new();
    for (m, b) in msgs.lines().zip(books.lines()) {
        let mut out: Vec<Event> = Vec::new();
        d.decode(m, Some(b), &mut out).unwrap();
        for e in out {
            match e.kind {
                EventKind::Add { id, .. } => {
                    added.insert(id, e.exch_ns);
                }
                EventKind::Cancel { id, side, price, qty } => removed.push((e.exch_ns, side, price, id, qty)),
                EventKind::Trade { aggressor: Some(a), price, qty, maker_order: Some(id) } => {
                    removed.push((e.exch_ns, a.opposite(), price, id, qty))
                }
                _ => {}
            }
        }
    }
    (added, removed)
}

#[test]
fn under_fifo_no_quote_fills_before_the_displayed_size_ahead_has_gone() {
    let (ds, n, secs) = lobster();
    let c = config(&ds, &choices("fifo"), n, secs);
    let rs = replay(&ds, &c, &tight(), n);
    let (added, removed) = lobster_messages();
    let mut checked = 0;
    for f in rs.iter().flat_map(|r| &r.1).filter(|f| f.maker && f.front_at_entry > 0.0) {
        let side = if f.side > 0.0 { Side::Buy } else { Side::Sell };
        // Volume of orders ahead of ours (arrived before it joined, or resting since
        // before the file began) that traded or was cancelled before the fill.
        let gone: f64 = removed
            .iter()
            .filter(|(t, s, p, id, _)| {
                *t >= f.joined_ns
                    && *t <= f.t_ns
                    && *s == side
                    && *p == f.price_ticks
                    && added.get(id).is_none_or(|&a| a < f.joined_ns)
            })
            .map(|x| x.4)
            .sum();
        assert!(
            gone + 1e-9 >= f.front_at_entry,
            "a quote at {} joined behind {} shares at {} ns and filled at {} ns after only {gone} of them went",
            f.price_ticks,
            f.front_at_entry,
            f.joined_ns,
            f.t_ns
        );
        checked += 1;
    }
    assert!(checked > 20, "only {checked} fills joined behind a queue");
}

#[test]
fn the_risk_averse_queue_never_fills_more_than_the_probabilistic_one() {
    for (ds, n, secs) in [(load(&BINANCE), 8, 60), (load(&TARDIS), 3, 60), lobster()] {
        for p in [tight(), Params::default()] {
            let risk = replay(&ds, &config(&ds, &choices("risk-averse"), n, secs), &p, n);
            let prob = replay(&ds, &config(&ds, &choices("prob"), n, secs), &p, n);
            assert!(
                volume(&risk) <= volume(&prob) + 1e-9,
                "{:?}: risk-averse filled {} > probabilistic {}",
                ds.formats,
                volume(&risk),
                volume(&prob)
            );
        }
    }
}

#[test]
fn one_tick_wider_fills_less_and_loses_less_to_adverse_selection() {
    let (ds, n, secs) = lobster();
    let c = config(&ds, &TickChoices::default(), n, secs);
    // One tick on each side: two ticks on the full spread, in bps of the day's price.
    let tick_bps = 0.01 / 223.0 * 1e4;
    for base in [tight(), Params::default()] {
        let wider = Params { base_spread_bps: base.base_spread_bps + 2.0 * tick_bps, ..base.clone() };
        let (a, b) = (replay(&ds, &c, &base, n), replay(&ds, &c, &wider, n));
        assert!(fills(&b) < fills(&a), "wider quotes filled {} >= {}", fills(&b), fills(&a));
        assert!(adverse(&b) < adverse(&a), "wider quotes' markout loss {} >= {}", adverse(&b), adverse(&a));
    }
}

#[test]
fn a_larger_size_cap_fills_more_volume() {
    let (ds, n, secs) = lobster();
    let c = config(&ds, &TickChoices::default(), n, secs);
    let small = replay(&ds, &c, &Params::default(), n);
    let large = replay(&ds, &c, &Params { impact_cap_ratio: 0.2, ..Params::default() }, n);
    assert!(volume(&large) > volume(&small) * 1.2, "{} vs {}", volume(&large), volume(&small));
}

#[test]
fn a_maker_rebate_raises_net_edge_by_exactly_its_bps() {
    let (ds, n, secs) = lobster();
    let none = TickChoices { maker_fee_bps: Some(0.0), ..TickChoices::default() };
    let rebate = TickChoices { maker_fee_bps: Some(-1.5), ..TickChoices::default() };
    let a = replay(&ds, &config(&ds, &none, n, secs), &Params::default(), n);
    let b = replay(&ds, &config(&ds, &rebate, n, secs), &Params::default(), n);
    let mut with_fills = 0;
    for ((ra, _), (rb, _)) in a.iter().zip(&b) {
        assert_eq!(ra.maker_fills, rb.maker_fills, "fees must not change what trades");
        let expect = if ra.maker_fills > 0 { 1.5 } else { 0.0 };
        assert!(
            (rb.net_bps - ra.net_bps - expect).abs() < 2e-6,
            "iteration {}: {} vs {}",
            ra.iteration,
            rb.net_bps,
            ra.net_bps
        );
        assert_eq!(rb.rebates_bps, expect);
        with_fills += (ra.maker_fills > 0) as u32;
    }
    assert!(with_fills > 10);
}
