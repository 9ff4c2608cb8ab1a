//! hftbacktest's side: the capture converted once into hftbacktest's `Event` array,
//! following its Python converter for Binance futures
//! (`hftbacktest.data.utils.binancefutures.convert`, then
//! `validation.correct_local_timestamp` and `validation.correct_event_order`), and
//! replayed by `Backtest` with an `L2AssetBuilder` asset and the same strategy.

use std::collections::HashMap;
use std::time::Instant;

use hftbacktest::backtest::assettype::LinearAsset;
use hftbacktest::backtest::data::Data;
use hftbacktest::backtest::models::{
    CommonFees, ConstantLatency, PowerProbQueueFunc, PowerProbQueueFunc3, ProbQueueModel, QueueModel,
    RiskAdverseQueueModel, TradingValueFeeModel,
};
use hftbacktest::backtest::{Backtest, DataSource, ExchangeKind, L2AssetBuilder};
use hftbacktest::prelude::*;
use serde_json::Value;

use crate::common::{ms_to_ns, FeedLatency, RunResult, Settings};

#[derive(Debug, Clone, Copy)]
pub enum HbtQueue {
    RiskAverse,
    /// `PowerProbQueueFunc`: prob = f(back) / (f(back) + f(front)), f(x) = x^n.
    Power(f64),
    /// `PowerProbQueueFunc3`: prob = 1 − f(front / (front + back)), f(x) = x^n.
    Power3(f64),
}

impl HbtQueue {
    pub fn name(&self) -> String {
        match self {
            HbtQueue::RiskAverse => "RiskAdverseQueueModel".into(),
            HbtQueue::Power(n) => format!("ProbQueueModel(PowerProbQueueFunc({n}))"),
            HbtQueue::Power3(n) => format!("ProbQueueModel(PowerProbQueueFunc3({n}))"),
        }
    }
}

fn num(v: &Value, what: &str) -> Result<f64, String> {
    v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| format!("{what}: {v} is not a decimal string"))
}

fn ms(v: &Value, what: &str) -> Result<i64, String> {
    v.as_i64().map(|t| t * 1_000_000).ok_or_else(|| format!("{what}: {v} is not an integer ms time"))
}

fn ev(ev: u64, exch_ts: i64, local_ts: i64, px: f64, qty: f64) -> Event {
    Event { ev, exch_ts, local_ts, px, qty, order_id: 0, ival: 0, fval: 0.0 }
}

fn levels(rows: &Value, flag: u64, exch: i64, local: i64, out: &mut Vec<Event>) -> Result<(), String> {
    for l in rows.as_array().ok_or("levels are not an array")? {
        out.push(ev(flag, exch, local, num(&l[0], "level price")?, num(&l[1], "level qty")?));
    }
    Ok(())
}

/// `binancefutures.convert(opt='')` for one stream of lines: trades (`X == MARKET`),
/// depth diffs and the REST snapshot (a clear up to its last price, then its
/// levels); `bookTicker` is skipped as it is without `opt='t'`.
fn convert_lines(texts: &[String]) -> Result<Vec<Event>, String> {
    let mut out = Vec::with_capacity(1 << 21);
    for text in texts {
        for line in text.lines() {
            let Some((ts, json)) = line.split_once(' ') else { continue };
            let local: i64 = ts.parse().map_err(|_| format!("bad local timestamp {ts:?}"))?;
            let msg: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
            match msg.get("data") {
                Some(d) => match d["e"].as_str() {
                    Some("trade") => {
                        if d["X"].as_str() != Some("MARKET") {
                            continue;
                        }
                        let side = if d["m"].as_bool() == Some(true) { SELL_EVENT } else { BUY_EVENT };
                        out.push(ev(
                            TRADE_EVENT | side,
                            ms(&d["T"], "T")?,
                            local,
                            num(&d["p"], "p")?,
                            num(&d["q"], "q")?,
                        ));
                    }
                    Some("depthUpdate") => {
                        let exch = ms(&d["T"], "T")?;
                        levels(&d["b"], DEPTH_EVENT | BUY_EVENT, exch, local, &mut out)?;
                        levels(&d["a"], DEPTH_EVENT | SELL_EVENT, exch, local, &mut out)?;
                    }
                    _ => {}
                },
                None if msg.get("code").is_some() => {}
                None => {
                    let exch = ms(&msg["T"], "snapshot T")?;
                    for (key, side) in [("bids", BUY_EVENT), ("asks", SELL_EVENT)] {
                        let rows = msg[key].as_array().ok_or("snapshot levels are not an array")?;
                        if let Some(last) = rows.last() {
                            out.push(ev(DEPTH_CLEAR_EVENT | side, exch, local, num(&last[0], "price")?, 0.0));
                            levels(&msg[key], DEPTH_SNAPSHOT_EVENT | side, exch, local, &mut out)?;
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// `correct_local_timestamp`: shifts local stamps so no feed latency is negative.
fn correct_local_timestamp(data: &mut [Event], base_latency: i64) {
    let latency = data.iter().map(|e| e.local_ts - e.exch_ts).min().unwrap_or(0);
    if latency < 0 {
        for e in data.iter_mut() {
            e.local_ts += -latency + base_latency;
        }
    }
}

/// `correct_event_order`: every row once in exchange-time order (EXCH_EVENT) and
/// once in local-time order (LOCAL_EVENT), merged; a row that sits at the same
/// place in both orders is written once with both flags.
fn correct_event_order(data: &[Event]) -> Vec<Event> {
    let n = data.len();
    let mut by_exch: Vec<usize> = (0..n).collect();
    by_exch.sort_by_key(|&i| data[i].exch_ts); // stable, as numpy's mergesort
    let mut by_local: Vec<usize> = (0..n).collect();
    by_local.sort_by_key(|&i| data[i].local_ts);
    let mut out = Vec::with_capacity(n + n / 4);
    let (mut xi, mut li) = (0, 0);
    loop {
        let x = (xi < n).then(|| &data[by_exch[xi]]);
        let l = (li < n).then(|| &data[by_local[li]]);
        let (row, flags) = match (x, l) {
            (Some(x), Some(l)) if x.exch_ts == l.exch_ts && x.local_ts == l.local_ts => {
                xi += 1;
                li += 1;
                (x, EXCH_EVENT | LOCAL_EVENT)
            }
            (Some(x), Some(l)) if x.exch_ts < l.exch_ts || (x.exch_ts == l.exch_ts && x.local_ts < l.local_ts) => {
                xi += 1;
                (x, EXCH_EVENT)
            }
            (_, Some(l)) => {
                li += 1;
                (l, LOCAL_EVENT)
            }
            (Some(x), None) => {
                xi += 1;
                (x, EXCH_EVENT)
            }
            (None, None) => break,
        };
        let mut e = row.clone();
        e.ev = (e.ev & !(EXCH_EVENT | LOCAL_EVENT)) | flags;
        out.push(e);
    }
    out
}

/// The converted capture: hftbacktest's in-memory array, and where trading starts.
pub struct Converted {
    pub data: Data<Event>,
    pub rows: usize,
    pub raw_rows: usize,
    /// Local time at which hftbacktest's strategy sees the book of exchange time `start_ns`.
    pub start_local: i64,
}

pub fn convert(texts: &[String], s: &Settings, start_ns: i64) -> Result<Converted, String> {
    let mut raw = convert_lines(texts)?;
    match s.feed {
        FeedLatency::Constant => {
            let feed = ms_to_ns(s.response_ms);
            for e in raw.iter_mut() {
                e.local_ts = e.exch_ts + feed;
            }
        }
        FeedLatency::Data => correct_local_timestamp(&mut raw, 0),
    }
    let start_local = raw.iter().filter(|e| e.exch_ts >= start_ns).map(|e| e.local_ts).min().unwrap_or(start_ns);
    let sorted = correct_event_order(&raw);
    let rows = sorted.len();
    Ok(Converted { data: Data::from_data(&sorted), rows, raw_rows: raw.len(), start_local })
}

fn build<QM>(c: &Converted, s: &Settings, qm: QM) -> Backtest<HashMapMarketDepth>
where
    QM: QueueModel<HashMapMarketDepth> + 'static,
{
    let (tick, lot) = (s.tick, s.lot);
    let asset = L2AssetBuilder::new()
        .data(vec![DataSource::Data(c.data.clone())])
        .latency_model(ConstantLatency::new(ms_to_ns(s.entry_ms), ms_to_ns(s.response_ms)))
        .asset_type(LinearAsset::new(1.0))
        .fee_model(TradingValueFeeModel::new(CommonFees::new(s.maker_bps / 1e4, s.taker_bps / 1e4)))
        .exchange(if s.hbt_partial { ExchangeKind::PartialFillExchange } else { ExchangeKind::NoPartialFillExchange })
        .queue_model(qm)
        .depth(move || HashMapMarketDepth::new(tick, lot))
        .build()
        .expect("hftbacktest asset");
    Backtest::builder().add_asset(asset).build().expect("hftbacktest backtest")
}

#[derive(Default)]
struct Books {
    /// Filled quantity seen so far per order id.
    seen: HashMap<u64, f64>,
    fills: u64,
    orders_filled: u64,
    rejected: u64,
    buy: f64,
    sell: f64,
    cash: f64,
    fees: f64,
}

impl Books {
    /// Our own accounting from the orders' `leaves_qty` (hftbacktest 0.9.4's local
    /// state applies only responses whose status is `Filled`, so partial fills of
    /// `PartialFillExchange` never reach `state_values`).
    fn account(&mut self, hbt: &Backtest<HashMapMarketDepth>, s: &Settings) {
        for o in hbt.orders(0).values() {
            let filled = o.qty - o.leaves_qty;
            let prev = self.seen.get(&o.order_id).copied().unwrap_or(0.0);
            if filled - prev > 1e-9 {
                let dq = filled - prev;
                let px = o.price_tick as f64 * s.tick;
                self.fills += 1;
                if prev <= 1e-9 {
                    self.orders_filled += 1;
                }
                match o.side {
                    Side::Buy => {
                        self.buy += dq;
                        self.cash -= dq * px;
                    }
                    _ => {
                        self.sell += dq;
                        self.cash += dq * px;
                    }
                }
                self.fees += px * dq * s.maker_bps / 1e4;
                self.seen.insert(o.order_id, filled);
            }
            if o.status == Status::Expired && !self.seen.contains_key(&o.order_id) {
                self.rejected += 1;
                self.seen.insert(o.order_id, 0.0);
            }
        }
    }
}

fn decide(hbt: &mut Backtest<HashMapMarketDepth>, s: &Settings, next_id: &mut u64, sent: &mut u64) {
    let depth = hbt.depth(0);
    let (bid, ask) = (depth.best_bid_tick(), depth.best_ask_tick());
    if bid == INVALID_MIN || ask == INVALID_MAX || bid >= ask {
        return;
    }
    for side in [Side::Buy, Side::Sell] {
        let target = if side == Side::Buy { bid - s.k } else { ask + s.k };
        let live: Vec<(u64, i64, bool)> = hbt
            .orders(0)
            .values()
            .filter(|o| o.side == side && o.req != Status::Canceled && (o.req == Status::New || o.active()))
            .map(|o| (o.order_id, o.price_tick, o.cancellable()))
            .collect();
        if live.iter().any(|&(_, p, _)| p == target) {
            continue;
        }
        for &(id, _, cancellable) in &live {
            if cancellable {
                hbt.cancel(0, id, false).expect("cancel");
            }
        }
        *next_id += 1;
        let price = target as f64 * s.tick;
        let r = if side == Side::Buy {
            hbt.submit_buy_order(0, *next_id, price, s.size, TimeInForce::GTX, OrdType::Limit, false)
        } else {
            hbt.submit_sell_order(0, *next_id, price, s.size, TimeInForce::GTX, OrdType::Limit, false)
        };
        r.expect("submit");
        *sent += 1;
    }
}

pub fn replay(c: &Converted, s: &Settings, q: HbtQueue) -> RunResult {
    let mut hbt = match q {
        HbtQueue::RiskAverse => build(c, s, RiskAdverseQueueModel::<HashMapMarketDepth>::new()),
        HbtQueue::Power(n) => build(c, s, ProbQueueModel::<_, HashMapMarketDepth>::new(PowerProbQueueFunc::new(n))),
        HbtQueue::Power3(n) => build(c, s, ProbQueueModel::<_, HashMapMarketDepth>::new(PowerProbQueueFunc3::new(n))),
    };
    let mut books = Books::default();
    let (mut next_id, mut sent) = (0u64, 0u64);
    let t0 = Instant::now();
    let mut r = hbt.elapse(0).expect("elapse");
    let cur = hbt.current_timestamp();
    if r == ElapseResult::Ok && c.start_local > cur {
        r = hbt.elapse(c.start_local - cur).expect("elapse");
    }
    let mut error = None;
    while r == ElapseResult::Ok {
        books.account(&hbt, s);
        hbt.clear_inactive_orders(Some(0));
        let orders = hbt.orders(0);
        books.seen.retain(|id, _| orders.contains_key(id));
        decide(&mut hbt, s, &mut next_id, &mut sent);
        match hbt.elapse(s.requote_ns) {
            Ok(x) => r = x,
            Err(e) => {
                error = Some(format!("STOPPED at {} ns: {e:?}", hbt.current_timestamp()));
                break;
            }
        }
    }
    books.account(&hbt, s);
    let replay_s = t0.elapsed().as_secs_f64();

    let depth = hbt.depth(0);
    let final_mid = (depth.best_bid() + depth.best_ask()) / 2.0;
    let sv = hbt.state_values(0);
    let note = format!(
        "{}hftbacktest state_values: position {:.3}, balance {:.2}, fee {:.4}, num_trades {}",
        error.map_or(String::new(), |e| e + "; "),
        sv.position,
        sv.balance,
        sv.fee,
        sv.num_trades
    );
    let _ = hbt.close();
    RunResult {
        engine: "hftbacktest".into(),
        queue: q.name(),
        events: c.rows as u64,
        replay_s,
        fills: books.fills,
        orders_filled: books.orders_filled,
        orders_sent: sent,
        orders_rejected: books.rejected,
        maker_volume: books.buy + books.sell,
        buy_volume: books.buy,
        sell_volume: books.sell,
        cash: books.cash,
        position: books.buy - books.sell,
        final_mid,
        fees: books.fees,
        note,
    }
}
