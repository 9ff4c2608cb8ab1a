//! Our orders against a replayed market: the book the data describes
//! ([`book`]: its sides' ladders, [`levels`]; the L3 orders it has seen, [`orders`]), where our quotes stand in its queues ([`queue`]), how long our
//! orders take to get there ([`latency`]), what trading costs ([`fees`]), the
//! strategy itself ([`maker`]), the iteration driver ([`replay`]) and the pass
//! that checks a data set and measures it before a run ([`scan`]).
//!
//! Each model is a small serializable type chosen in `mmsoak.toml` or by flag,
//! the way hftbacktest's `models/` folder swaps its queue and latency models.

pub mod book;
pub mod fees;
pub mod latency;
pub mod levels;
pub mod maker;
pub mod orders;
pub mod plan;
pub mod queue;
pub mod replay;
pub mod scan;
pub mod source;

pub use fees::Fees;
pub use latency::LatencyModel;
pub use queue::QueueModel;
pub use replay::{Advance, TickConfig, TickReplay};
