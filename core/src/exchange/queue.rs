//! Queue position: how much of the market's volume at our price must go before
//! our order fills. Three models, as in hftbacktest's `models/queue.rs`:
//!
//! - [`QueueModel::RiskAverse`]: we advance only when trades print at our price;
//!   a shrinking level only caps our position at its size (nothing ahead of us
//!   ever cancels).
//! - [`QueueModel::PowerProb`]: a decrease of the level not explained by trades is
//!   a cancellation, which lies *behind* us with probability
//!   `f(back) / (f(back) + f(front))`, `f(x) = x^n` (hftbacktest's `ProbQueueModel`
//!   with `PowerProbQueueFunc`; Rigtorp 2013, "Estimating order queue position").
//! - [`QueueModel::Fifo`]: exact price-time priority from order ids (L3 data such as
//!   LOBSTER): an order that arrived before ours, or rested before the file starts,
//!   is ahead; its cancels and executions move us up; executions of orders behind
//!   us (or hidden ones) mean the taker reached us first.

use crate::num::{max_num, min_num};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum QueueModel {
    RiskAverse,
    PowerProb { n: f64 },
    Fifo,
}

impl Default for QueueModel {
    /// hftbacktest's examples use the power-law family with n = 3.
    fn default() -> Self {
        QueueModel::PowerProb { n: 3.0 }
    }
}

/// Our order's place in its level's queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct QueuePos {
    /// Market volume ahead of us, order units.
    pub front: f64,
    /// Traded at our price since the last depth update (not to count it twice).
    pub cum_trade: f64,
    /// FIFO: the data's orders with a smaller arrival number are ahead of us.
    pub seq: u64,
    /// The displayed volume ahead of us when we joined (for audits and tests).
    pub front_at_entry: f64,
}

/// Who the data says was executed by a trade at our price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Executed {
    /// No order id in the data (L2 data, or a hidden order).
    Anonymous,
    /// A known order with this arrival number.
    Known(u64),
    /// An order id the data never showed arriving: it rested before the file began.
    Unknown,
}

impl QueueModel {
    pub fn name(&self) -> String {
        match self {
            QueueModel::RiskAverse => "risk_averse".into(),
            QueueModel::PowerProb { n } => format!("power_prob(n={n})"),
            QueueModel::Fifo => "fifo".into(),
        }
    }

    /// Joins the back of a level holding `level_qty`; `next_seq` is the next arrival number.
    pub fn enter(&self, level_qty: f64, next_seq: u64) -> QueuePos {
        QueuePos {
            front: max_num(level_qty, 0.0),
            cum_trade: 0.0,
            seq: next_seq,
            front_at_entry: max_num(level_qty, 0.0),
        }
    }

    /// A trade of `qty` at our price. Returns the volume that reached our order.
    pub fn trade(&self, q: &mut QueuePos, qty: f64, executed: Executed) -> f64 {
        match self {
            QueueModel::Fifo => {
                let ahead = match executed {
                    Executed::Known(s) => s < q.seq,
                    Executed::Unknown => true,
                    Executed::Anonymous => false,
                };
                if ahead {
                    // The print went to an order ahead of us.
                    q.front = max_num(q.front - qty, 0.0);
                    0.0
                } else {
                    let reach = max_num(qty - q.front, 0.0);
                    q.front = max_num(q.front - qty, 0.0);
                    reach
                }
            }
            QueueModel::RiskAverse | QueueModel::PowerProb { .. } => {
                q.cum_trade += qty;
                let reach = max_num(qty - q.front, 0.0);
                q.front = max_num(q.front - qty, 0.0);
                reach
            }
        }
    }

    /// The level at our price went from `prev` to `new` (not our own order: it is not in the book).
    pub fn depth(&self, q: &mut QueuePos, prev: f64, new: f64) {
        match *self {
            QueueModel::RiskAverse | QueueModel::Fifo => {
                q.cum_trade = 0.0;
                q.front = min_num(q.front, new);
            }
            QueueModel::PowerProb { n } => {
                let chg = prev - new - q.cum_trade;
                q.cum_trade = 0.0;
                if chg <= 0.0 {
                    q.front = min_num(q.front, new);
                    return;
                }
                let front = q.front;
                let back = max_num(prev - front, 0.0);
                let (fb, ff) = (libm::pow(back, n), libm::pow(front, n));
                let prob = if fb + ff > 0.0 { fb / (fb + ff) } else { 1.0 };
                let est = front - (1.0 - prob) * chg + min_num(back - prob * chg, 0.0);
                q.front = max_num(min_num(est, new), 0.0);
            }
        }
    }

    /// FIFO: an order at our price cancelled `qty`; `seq` its arrival number (`None`: unknown id).
    pub fn cancel(&self, q: &mut QueuePos, qty: f64, seq: Option<u64>) {
        if *self == QueueModel::Fifo && seq.is_none_or(|s| s < q.seq) {
            q.front = max_num(q.front - qty, 0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_averse_waits_for_trades() {
        let m = QueueModel::RiskAverse;
        let mut q = m.enter(10.0, 0);
        m.depth(&mut q, 10.0, 6.0); // cancels: only capped
        assert_eq!(q.front, 6.0);
        m.depth(&mut q, 6.0, 9.0);
        assert_eq!(q.front, 6.0);
        assert_eq!(m.trade(&mut q, 4.0, Executed::Anonymous), 0.0);
        assert_eq!(m.trade(&mut q, 5.0, Executed::Anonymous), 3.0);
    }

    #[test]
    fn probabilistic_advances_on_cancels_more_when_near_the_front() {
        let m = QueueModel::PowerProb { n: 3.0 };
        let mut near = m.enter(10.0, 0);
        near.front = 2.0;
        m.depth(&mut near, 10.0, 8.0);
        let mut far = m.enter(10.0, 0);
        far.front = 8.0;
        m.depth(&mut far, 10.0, 8.0);
        // Near the front, a cancel is almost surely behind us; near the back, ahead.
        assert!(2.0 - near.front < 0.1, "{}", near.front);
        assert!(8.0 - far.front > 1.9, "{}", far.front);
        // A trade already counted is not counted again by the depth update it causes.
        let mut q = m.enter(5.0, 0);
        m.trade(&mut q, 2.0, Executed::Anonymous);
        m.depth(&mut q, 5.0, 3.0);
        assert_eq!(q.front, 3.0);
    }

    #[test]
    fn fifo_fills_only_past_the_orders_ahead() {
        let m = QueueModel::Fifo;
        let mut q = m.enter(10.0, 5);
        // An order that arrived before us executes: it was ahead, no fill.
        assert_eq!(m.trade(&mut q, 4.0, Executed::Known(3)), 0.0);
        assert_eq!(q.front, 6.0);
        // A pre-open order cancels: ahead of us.
        m.cancel(&mut q, 2.0, None);
        assert_eq!(q.front, 4.0);
        // A later order cancels: behind us, no change.
        m.cancel(&mut q, 3.0, Some(9));
        assert_eq!(q.front, 4.0);
        // An order behind us executes 6: four go to those ahead, two reach us.
        assert_eq!(m.trade(&mut q, 6.0, Executed::Known(9)), 2.0);
        assert_eq!(q.front, 0.0);
    }
}
