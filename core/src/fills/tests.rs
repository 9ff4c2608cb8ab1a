//! Fills → KPIs on hand-computed cases.

use super::*;
use crate::params::Params;

fn fill(time_ms: u64, side: Side, price: f64, quantity: f64, fee: f64, liquidity: Liquidity, mid: f64) -> FillsLine {
    FillsLine::Fill(Fill { time_ms, side, price, quantity, fee, liquidity, mid, bid: None, ask: None, params: None })
}

fn mid(time_ms: u64, mid: f64) -> FillsLine {
    FillsLine::Mid(MidSample { time_ms, mid, bid: None, ask: None })
}

fn run(lines: &[FillsLine]) -> WindowOutcome {
    let p = Params::default();
    let w = WindowInputs {
        iteration: 1,
        horizon_ms: 5_000,
        duration_s: 60,
        inventory_start: 0.0,
        prior_mid: None,
        in_force: &p,
    };
    edge_from_lines(lines, &w)
}

fn notes(o: &WindowOutcome) -> &FillsLogNotes {
    o.edge.source_notes.as_ref().unwrap().fills_log.as_ref().unwrap()
}

#[test]
fn a_rebated_maker_fill_with_two_bps_capture_nets_three_and_a_half() {
    // Sell 10,000 USDT at 2 bps above the mid; the rebate is 1.5 bps of it, 1.5 USDT.
    let price = 100.02;
    let qty = 10_000.0 / price;
    let lines = [mid(0, 100.0), fill(1_000, Side::Sell, price, qty, -1.5, Liquidity::Maker, 100.0), mid(6_000, 100.0)];
    let e = run(&lines).edge;
    assert_eq!(e.spread_capture_bps, 2.0);
    assert_eq!(e.rebates_bps, 1.5);
    assert_eq!(e.fees_bps, 0.0);
    assert_eq!(e.adverse_cost_bps, 0.0);
    assert_eq!(e.net_bps, 3.5);
    assert_eq!(e.notional, 10_000.0);
    assert_eq!((e.maker_fills, e.taker_fills), (1, 0));
    // The same fill paying a 1.5 bps fee instead nets 0.5.
    let paid = [mid(0, 100.0), fill(1_000, Side::Sell, price, qty, 1.5, Liquidity::Maker, 100.0), mid(6_000, 100.0)];
    let e = run(&paid).edge;
    assert_eq!((e.fees_bps, e.rebates_bps, e.net_bps), (1.5, 0.0, 0.5));
}

#[test]
fn a_taker_hedge_four_bps_through_the_touch_shows_four_bps_slippage() {
    let ask = 100.01;
    let price = ask * (1.0 + 4e-4);
    // The touch on the fill line itself.
    let mut f = Fill {
        time_ms: 1_000,
        side: Side::Buy,
        price,
        quantity: 1.0,
        fee: 0.0,
        liquidity: Liquidity::Taker,
        mid: 100.0,
        bid: Some(99.99),
        ask: Some(ask),
        params: None,
    };
    let e = run(&[FillsLine::Fill(f.clone())]).edge;
    assert_eq!((e.slippage.p95, e.slippage.p50, e.taker_fills), (4.0, 4.0, 1));
    // Hedging cost: half spread (1 bp) plus slippage, of maker notional (none here: 0).
    assert_eq!(e.hedge_cost_bps, 0.0);
    // Without a touch on the line: the mid ± the half spread of the last sample that has one.
    f.bid = None;
    f.ask = None;
    let sample = FillsLine::Mid(MidSample { time_ms: 500, mid: 100.0, bid: Some(99.99), ask: Some(100.01) });
    let e = run(&[sample.clone(), FillsLine::Fill(f.clone())]).edge;
    assert_eq!(e.slippage.p95, 4.0);
    // A sell through the bid, same distance.
    let sell = Fill { side: Side::Sell, price: 99.99 * (1.0 - 4e-4), ..f.clone() };
    let e = run(&[sample, FillsLine::Fill(sell)]).edge;
    assert_eq!(e.slippage.p95, 4.0);
    // No touch known at all: measured from the mid (the half spread counts as slippage).
    let e = run(&[FillsLine::Fill(f)]).edge;
    assert_eq!(e.slippage.p95, crate::edge::round6((price - 100.0) / 100.0 * 1e4));
}

#[test]
fn markouts_use_the_sample_at_the_horizon_or_the_last_one_before_it() {
    let buy = fill(1_000, Side::Buy, 99.99, 1.0, 0.0, Liquidity::Maker, 100.0);
    let loss = |later: f64| crate::edge::round6((99.99 - later) / 99.99 * 1e4);
    // A sample exactly at the horizon (1,000 + 5,000 ms) is used, not the later one.
    let o = run(&[buy.clone(), mid(3_000, 99.9), mid(6_000, 99.5), mid(7_000, 90.0)]);
    assert_eq!(o.edge.adverse.p95, loss(99.5));
    assert_eq!(o.edge.adverse_cost_bps, crate::edge::round6((100.0 - 99.5) / 100.0 * 1e4));
    assert_eq!(notes(&o).short_markouts, 0);
    // None at the horizon: the last one before it (3,000), never the one after (7,000).
    let o = run(&[buy.clone(), mid(3_000, 99.9), mid(7_000, 90.0)]);
    assert_eq!(o.edge.adverse.p95, loss(99.9));
    assert_eq!(notes(&o).short_markouts, 0);
    // Samples out of file order are put in time order first.
    let o = run(&[mid(7_000, 90.0), buy.clone(), mid(3_000, 99.9)]);
    assert_eq!(o.edge.adverse.p95, loss(99.9));
    // The horizon lies past the last sample read: cut short there, and counted.
    let o = run(&[buy.clone(), mid(3_000, 99.8)]);
    assert_eq!(o.edge.adverse.p95, loss(99.8));
    assert_eq!(notes(&o).short_markouts, 1);
    // No sample between the fill and its horizon: the fill's own mid (no move).
    let o = run(&[mid(500, 50.0), buy, mid(9_000, 90.0)]);
    assert_eq!(o.edge.adverse.p95, loss(100.0));
    assert_eq!(o.edge.adverse_cost_bps, 0.0);
}

#[test]
fn blocks_inventory_and_stale_fills() {
    let p = Params::default();
    let other = Params { base_spread_bps: p.base_spread_bps + 1.0, ..p.clone() };
    let stale = FillsLine::Fill(Fill {
        time_ms: 10,
        side: Side::Buy,
        price: 99.0,
        quantity: 2.0,
        fee: 0.0,
        liquidity: Liquidity::Maker,
        mid: 100.0,
        bid: None,
        ask: None,
        params: Some(other),
    });
    let lines = [
        stale,
        fill(20, Side::Sell, 101.0, 0.5, 0.0, Liquidity::Maker, 100.0),
        FillsLine::Block(BlockEvent { time_ms: 30, reason: BlockReason::Risk, count: 3 }),
        FillsLine::Block(BlockEvent { time_ms: 31, reason: BlockReason::MinInterval, count: 1 }),
    ];
    let o = run(&lines);
    let n = notes(&o);
    assert_eq!((n.lines, n.fills, n.blocks, n.stale_fills), (4, 2, 2, 1));
    assert_eq!(o.edge.maker_fills, 1, "the stale fill is left out of the KPIs");
    assert_eq!((o.edge.blocks.risk, o.edge.blocks.min_interval), (3, 1));
    assert_eq!(o.edge.risk_ratio, 0.75);
    // …but it moved the inventory.
    assert_eq!((o.edge.inventory.final_units, o.edge.inventory.max_abs_units), (1.5, 2.0));
    assert_eq!(o.inventory_end, 1.5);
}

#[test]
fn lines_parse_with_unknown_fields_listed_and_errors_naming_the_field() {
    let (line, unknown) = parse_line(
        r#"{"type":"fill","time_ms":5,"side":"buy","price":10,"quantity":1,"fee":-0.001,"liquidity":"maker","mid":10.001,"venue":"x","order":{"id":7}}"#,
    )
    .unwrap();
    assert!(matches!(line, FillsLine::Fill(ref f) if f.fee == -0.001));
    assert_eq!(unknown, vec!["order".to_string(), "venue".to_string()]);
    let (line, unknown) = parse_line(r#"{"type":"block","time_ms":5,"reason":"min_interval"}"#).unwrap();
    assert_eq!(line, FillsLine::Block(BlockEvent { time_ms: 5, reason: BlockReason::MinInterval, count: 1 }));
    assert!(unknown.is_empty());
    for (text, expected) in [
        (
            r#"{"type":"fill","time_ms":5,"side":"buy","price":-3,"quantity":1,"fee":0,"liquidity":"maker","mid":10}"#,
            "price: must be a positive finite number, got -3",
        ),
        (
            r#"{"type":"fill","time_ms":5,"side":"up","price":3,"quantity":1,"fee":0,"liquidity":"maker","mid":10}"#,
            "side: unknown variant `up`",
        ),
        (
            r#"{"type":"fill","time_ms":5,"side":"buy","price":3,"fee":0,"liquidity":"maker","mid":10}"#,
            "missing field `quantity`",
        ),
        (r#"{"type":"mid","time_ms":5,"mid":10,"bid":11,"ask":10.5}"#, "bid: 11 is above ask 10.5"),
        (r#"{"type":"block","time_ms":5,"reason":"lunch"}"#, "reason: unknown variant `lunch`"),
        (r#"{"type":"trade","time_ms":5}"#, "type: \"trade\" is not a line type"),
        (r#"{"time_ms":5}"#, "missing field `type`"),
        (r#"{"type":"mid","time_ms":5,"mid":10"#, "EOF"),
        ("not json", "expected"),
    ] {
        let err = parse_line(text).unwrap_err();
        assert!(err.contains(expected), "{text}: {err}");
    }
}
