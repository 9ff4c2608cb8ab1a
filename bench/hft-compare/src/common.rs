//! What both engines share: the run's settings and what a run reports.

/// hftbacktest's feed latency: how its converter's `local_ts` is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FeedLatency {
    /// `local_ts = exch_ts + response_ms`: the same constant feed trip mmsoak's
    /// `constant:ENTRY:RESPONSE` model assumes (like with like; the default).
    Constant,
    /// The capture's own receive stamps, corrected as hftbacktest's converter does
    /// (`correct_local_timestamp`: shifted so the smallest feed latency is 0).
    Data,
}

/// The simple strategy and the exchange settings, identical for both engines.
#[derive(Debug, Clone)]
pub struct Settings {
    pub files: Vec<String>,
    /// Quote at best bid − k ticks / best ask + k ticks.
    pub k: i64,
    /// Order size, BTC.
    pub size: f64,
    pub requote_ns: i64,
    pub entry_ms: f64,
    pub response_ms: f64,
    pub maker_bps: f64,
    pub taker_bps: f64,
    /// Contract tick and lot (BTCUSDT USDⓈ-M: 0.1 USDT, 0.001 BTC).
    pub tick: f64,
    pub lot: f64,
    pub feed: FeedLatency,
    /// hftbacktest exchange: `NoPartialFillExchange` (false, the default, as in
    /// hftbacktest's examples) or `PartialFillExchange` (true: partial fills like
    /// mmsoak's, but 0.9.4 stops with `InvalidOrderStatus` on this capture, see README).
    pub hbt_partial: bool,
    /// mmsoak: an order that reaches the exchange priced through the touch is
    /// dropped (GTX / post-only, as hftbacktest's exchange does), instead of resting.
    pub mm_post_only: bool,
    /// mmsoak: drop the bookTicker `Quote` events (hftbacktest's converter does not
    /// use bookTicker either), so both books are built from the depth stream only.
    pub mm_depth_only: bool,
    /// Times each replay is run (the fastest time is reported).
    pub repeat: usize,
}

pub fn ms_to_ns(ms: f64) -> i64 {
    (ms * 1e6) as i64
}

/// One engine's run under one queue model.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    pub engine: String,
    pub queue: String,
    /// Rows the engine replayed (its own event format).
    pub events: u64,
    pub replay_s: f64,
    /// Fill events (a partial fill counts once each time it is seen).
    pub fills: u64,
    /// Our orders that got any fill.
    pub orders_filled: u64,
    pub orders_sent: u64,
    /// Orders dropped on arrival because they would have crossed (GTX).
    pub orders_rejected: u64,
    pub maker_volume: f64,
    pub buy_volume: f64,
    pub sell_volume: f64,
    pub cash: f64,
    pub position: f64,
    pub final_mid: f64,
    /// Fees paid (negative: rebate received), quote currency.
    pub fees: f64,
    /// A cross-check, where the engine keeps its own books (hftbacktest's state values).
    pub note: String,
}

impl RunResult {
    /// Cash plus inventory marked at the final mid, before fees.
    pub fn gross_pnl(&self) -> f64 {
        self.cash + self.position * self.final_mid
    }

    pub fn net_pnl(&self) -> f64 {
        self.gross_pnl() - self.fees
    }
}
