//! Latency: how long our orders and cancels take to reach the exchange.
//!
//! The strategy decides on the book as it stood at exchange time `t`; its order
//! (or cancel) takes effect at `t + delay`, the round trip it would really take:
//! the market data's trip to us plus our order's trip back.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum LatencyModel {
    /// Fixed: market data reaches us after `response_ms`, our orders reach the
    /// exchange `entry_ms` after we send them.
    Constant { entry_ms: f64, response_ms: f64 },
    /// The feed delay measured in the data (local − exchange time, less the
    /// recorder's clock offset, estimated as the smallest local − exchange seen so
    /// far), plus `entry_ms` for our order's trip. Needs data with both stamps.
    Data { entry_ms: f64 },
}

impl Default for LatencyModel {
    /// Two 25 ms trips: the simulator's 50 ms order entry.
    fn default() -> Self {
        LatencyModel::Constant { entry_ms: 25.0, response_ms: 25.0 }
    }
}

/// Tracks the feed delay seen in the data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedClock {
    /// Smallest local − exchange seen, ns (the recorder's clock offset plus the fastest trip).
    pub offset_ns: Option<i64>,
    /// The latest event's delay above that, ns.
    pub delay_ns: i64,
}

impl FeedClock {
    pub fn observe(&mut self, exch_ns: i64, local_ns: i64) {
        let d = local_ns - exch_ns;
        let off = self.offset_ns.map_or(d, |o| o.min(d));
        self.offset_ns = Some(off);
        self.delay_ns = d - off;
    }
}

fn ms_to_ns(ms: f64) -> i64 {
    (ms * 1e6) as i64
}

impl LatencyModel {
    pub fn name(&self) -> String {
        match self {
            LatencyModel::Constant { entry_ms, response_ms } => {
                format!("constant(entry={entry_ms}ms,response={response_ms}ms)")
            }
            LatencyModel::Data { entry_ms } => format!("data(entry={entry_ms}ms)"),
        }
    }

    /// Decision to effect at the exchange, ns.
    pub fn delay_ns(&self, feed: &FeedClock) -> i64 {
        match *self {
            LatencyModel::Constant { entry_ms, response_ms } => ms_to_ns(entry_ms) + ms_to_ns(response_ms),
            LatencyModel::Data { entry_ms } => feed.delay_ns + ms_to_ns(entry_ms),
        }
    }

    /// The model's numbers are finite, non-negative and below a minute.
    pub fn check(&self) -> Result<(), String> {
        let ok = |x: f64| x.is_finite() && (0.0..=60_000.0).contains(&x);
        match *self {
            LatencyModel::Constant { entry_ms, response_ms } if ok(entry_ms) && ok(response_ms) => Ok(()),
            LatencyModel::Data { entry_ms } if ok(entry_ms) => Ok(()),
            _ => Err(format!("latency {} must be between 0 and 60000 ms", self.name())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_latency_removes_the_clock_offset() {
        let mut f = FeedClock::default();
        // The recorder's clock runs 1.5 s behind the exchange's.
        f.observe(10_000_000_000, 8_500_000_000);
        assert_eq!(f.delay_ns, 0);
        f.observe(11_000_000_000, 9_503_000_000);
        assert_eq!(f.delay_ns, 3_000_000);
        let m = LatencyModel::Data { entry_ms: 1.0 };
        assert_eq!(m.delay_ns(&f), 4_000_000);
        assert_eq!(LatencyModel::default().delay_ns(&f), 50_000_000);
    }
}
