//! Book synchronisation: Binance's rules for a local order book (see the
//! module above), as a state machine over depth diffs and snapshots.

use super::{BinanceDecoder, Event, EventKind, Side};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// At most this many depth diffs wait for a snapshot; older ones are dropped.
pub(super) const MAX_BUFFERED_DIFFS: usize = 10_000;

/// One depth diff, kept while it waits for a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Diff {
    /// First update id (`U`).
    pub(super) first: u64,
    /// Final update id (`u`).
    pub(super) last: u64,
    /// Previous final update id (`pu`, futures only).
    pub(super) prev: Option<u64>,
    pub(super) exch_ns: i64,
    pub(super) local_ns: i64,
    pub(super) levels: Vec<(Side, i64, f64)>,
}

impl Diff {
    pub(super) fn is_futures(&self) -> bool {
        self.prev.is_some()
    }
}

/// Where the depth-diff chain stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum Depth {
    /// No usable snapshot yet (the start, or after a chain break): diffs wait.
    /// `unbridged` is `(U, u)` of the first diff that arrived in this state.
    Buffering { buffer: VecDeque<Diff>, unbridged: Option<(u64, u64)> },
    /// A snapshot was applied; the next non-stale diff must bridge it. `stale` is
    /// `(U, u)` of the last diff dropped as older than the snapshot.
    Bridging { last_update_id: u64, stale: Option<(u64, u64)> },
    /// In sync; `last` is the previous diff's `u`.
    Synced { last: u64 },
}

impl BinanceDecoder {
    /// Runs one diff through the sync state machine. `stamp` overrides the
    /// diff's own times (buffered diffs replayed at a snapshot).
    pub(super) fn apply_diff(
        &mut self,
        diff: Diff,
        stamp: Option<(i64, i64)>,
        out: &mut Vec<Event>,
    ) -> Result<(), String> {
        let (exch_ns, local_ns) = stamp.unwrap_or((diff.exch_ns, diff.local_ns));
        let emit = |diff: &Diff, out: &mut Vec<Event>| {
            out.extend(diff.levels.iter().map(|&(side, price, qty)| Event {
                exch_ns,
                local_ns,
                kind: EventKind::Level { side, price, qty },
            }));
        };
        match &mut self.depth {
            Depth::Buffering { buffer, unbridged } => {
                unbridged.get_or_insert((diff.first, diff.last));
                if buffer.len() >= MAX_BUFFERED_DIFFS {
                    buffer.pop_front();
                }
                buffer.push_back(diff);
            }
            Depth::Bridging { last_update_id, stale } => {
                let id = *last_update_id;
                let futures = diff.is_futures();
                let is_stale = if futures { diff.last < id } else { diff.last <= id };
                if is_stale {
                    *stale = Some((diff.first, diff.last));
                    return Ok(());
                }
                let (bridges, rule) = if futures {
                    (diff.first <= id && id <= diff.last, "U <= lastUpdateId <= u (USDⓈ-M futures)")
                } else {
                    let next = id.saturating_add(1);
                    (diff.first <= next && next <= diff.last, "U <= lastUpdateId+1 <= u (spot)")
                };
                if !bridges {
                    return Err(format!(
                        "depth snapshot lastUpdateId {id} is not bridged by the first diff after it \
                         (U {}, u {}); Binance requires {rule}",
                        diff.first, diff.last
                    ));
                }
                emit(&diff, out);
                self.depth = Depth::Synced { last: diff.last };
            }
            Depth::Synced { last } => {
                let chained = match diff.prev {
                    Some(pu) => pu == *last,
                    None => last.checked_add(1) == Some(diff.first),
                };
                if chained {
                    emit(&diff, out);
                    *last = diff.last;
                } else {
                    out.push(Event { exch_ns, local_ns, kind: EventKind::SequenceGap { book: true } });
                    let unbridged = Some((diff.first, diff.last));
                    self.depth = Depth::Buffering { buffer: VecDeque::from([diff]), unbridged };
                }
            }
        }
        Ok(())
    }

    /// A snapshot's levels (bids, then asks) into the book's sync state machine.
    pub(super) fn load_snapshot(
        &mut self,
        last_update_id: u64,
        levels: Vec<(Side, i64, f64)>,
        exch_ns: i64,
        local_ns: i64,
        out: &mut Vec<Event>,
    ) -> Result<(), String> {
        let buffered = match &mut self.depth {
            Depth::Synced { .. } => return Ok(()),
            Depth::Bridging { .. } => VecDeque::new(),
            Depth::Buffering { buffer, .. } => std::mem::take(buffer),
        };
        out.push(Event { exch_ns, local_ns, kind: EventKind::Clear });
        out.extend(levels.into_iter().map(|(side, price, qty)| Event {
            exch_ns,
            local_ns,
            kind: EventKind::Level { side, price, qty },
        }));
        self.depth = Depth::Bridging { last_update_id, stale: None };
        for diff in buffered {
            self.apply_diff(diff, Some((exch_ns, local_ns)), out)?;
        }
        Ok(())
    }
}
