//! The resting orders an L3 feed (LOBSTER) has shown us, by order id: what a
//! cancel or an execution of an id refers to, and its time priority for the
//! FIFO queue model.
//!
//! A hash map, not a `BTreeMap`: the replay only looks ids up, inserts and
//! removes them (LOBSTER: one of each per message), never walks them in order,
//! and under wasm a B-tree's node shifts are `memory.copy` calls into the host.
//! The hasher is `rustc-hash`'s fixed FxHasher (no random seed: the core has no
//! entropy). Its bucket order differs between wasm32 and x86-64, so nothing may
//! depend on it: the orders serialize sorted by id (the bytes a `BTreeMap`
//! gave), and [`L3Orders::retain`] keeps a set, whatever the visiting order.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use rustc_hash::FxHasher;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::feed::Side;

/// A resting order the data told us about.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct L3Order {
    pub side: Side,
    pub price: i64,
    pub qty: f64,
    /// Arrival order among the file's orders (time priority).
    pub seq: u64,
}

/// Resting orders by id. Serializes as a map sorted by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct L3Orders(HashMap<u64, L3Order, BuildHasherDefault<FxHasher>>);

impl L3Orders {
    #[inline]
    pub fn get(&self, id: u64) -> Option<&L3Order> {
        self.0.get(&id)
    }

    #[inline]
    pub fn get_mut(&mut self, id: u64) -> Option<&mut L3Order> {
        self.0.get_mut(&id)
    }

    #[inline]
    pub fn insert(&mut self, id: u64, order: L3Order) {
        self.0.insert(id, order);
    }

    #[inline]
    pub fn remove(&mut self, id: u64) {
        self.0.remove(&id);
    }

    /// Keeps the orders `keep` accepts (it sees them in no particular order).
    pub fn retain(&mut self, mut keep: impl FnMut(&L3Order) -> bool) {
        self.0.retain(|_, o| keep(o));
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for L3Orders {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut sorted: Vec<(&u64, &L3Order)> = self.0.iter().collect();
        sorted.sort_unstable_by_key(|&(id, _)| *id);
        s.collect_map(sorted)
    }
}

impl<'de> Deserialize<'de> for L3Orders {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(L3Orders(HashMap::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn order(seq: u64) -> L3Order {
        L3Order {
            side: if seq.is_multiple_of(2) { Side::Buy } else { Side::Sell },
            price: 100 + seq as i64,
            qty: 1.5,
            seq,
        }
    }

    #[test]
    fn they_serialize_as_the_btreemap_they_replaced() {
        // Ids out of order and far apart, as an exchange's order references are.
        let ids = [9_000_000_017u64, 3, 512, 77, 1 << 40, 4_096, 65, 12];
        let mut orders = L3Orders::default();
        let mut tree = BTreeMap::new();
        for (seq, &id) in ids.iter().enumerate() {
            orders.insert(id, order(seq as u64));
            tree.insert(id, order(seq as u64));
        }
        orders.remove(77);
        tree.remove(&77);
        assert_eq!(postcard::to_allocvec(&orders).unwrap(), postcard::to_allocvec(&tree).unwrap());
        assert_eq!(serde_json::to_string(&orders).unwrap(), serde_json::to_string(&tree).unwrap());
        let back: L3Orders = postcard::from_bytes(&postcard::to_allocvec(&orders).unwrap()).unwrap();
        assert_eq!(back, orders);
        assert_eq!(back.len(), ids.len() - 1);
    }

    #[test]
    fn retain_keeps_exactly_the_orders_it_accepts() {
        let mut orders = L3Orders::default();
        for id in 0..1_000u64 {
            orders.insert(id * 7919 % 1_000_003, order(id));
        }
        orders.retain(|o| o.price % 3 == 0);
        assert_eq!(orders.len(), (0..1_000i64).filter(|s| (100 + s) % 3 == 0).count());
        // seq 2 (price 102) stays, seq 3 (price 103) goes.
        assert_eq!(orders.get(2 * 7919).map(|o| o.seq), Some(2));
        assert!(orders.get(3 * 7919).is_none());
    }
}
