//! Bounded mailboxes for actix actors, with a chosen overflow policy.
//!
//! actix 0.13's own mailbox capacity is not a bound: `do_send` ignores it, every `Addr` clone
//! gets an extra slot and `send` never waits. This crate gives an actor a mailbox of its own:
//! a bounded queue (from [`concurrent-queue`](https://docs.rs/concurrent-queue)) that every
//! handle shares, drained inside the actor's context one message at a time, so that at every
//! instant at most `capacity` messages are queued, however many handles and threads send.
//!
//! - [`MailboxConfig`]: capacity, [`OverflowPolicy`], name, batch size, drop hook, shedding
//!   by time in the mailbox (`ttl`, [`Sojourn`]), a [`RateLimit`].
//! - [`BoundedActorExt`]: `start_bounded` and friends, for every actor with a [`actix::Context`].
//! - [`BoundedAddr`] / [`BoundedRecipient`]: `send`, `send_timeout`, `tell`, `try_send`,
//!   `do_send`, plus `len`, `capacity`, `policy`, `is_closed` and [`MailboxStats`].
//! - Demand and flow: [`MailboxConfig::credits`] (a window refilled as work finishes),
//!   [`MailboxConfig::demand`] with [`Demand::request`], [`BoundedAddr::reserve`] and
//!   [`BoundedAddr::feed`] (room before the message), [`Outlet`] (an actor's output as a
//!   stream that respects its reader's demand).
//! - [`SendError`] / [`TrySendError`]: hand the message back whenever it was never queued.
//!   With the feature `actix-web`, they answer actix-web handlers (`?`): see `web`.
//!
//! Every message offered ends in exactly one outcome: handled, dropped on arrival, evicted,
//! rejected, timed out, stopped, closed, expired or rate-limited. Each is counted in [`MailboxStats`] and every
//! outcome but *handled* goes through the drop hook ([`Dropped`]).

// No `unsafe` anywhere: the bound is a count of permits over a queue crate's storage.
#![forbid(unsafe_code)]
// docs.rs builds with `--cfg docsrs`: feature-gated items are marked with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod addr;
mod backpressured;
mod chan;
mod config;
mod configs;
mod consumers;
mod control;
mod core;
mod demand;
mod driver;
mod envelope;
mod error;
mod gate;
mod hook;
mod limited;
pub mod metrics;
mod outlet;
mod permit;
mod permits;
mod policy;
mod pool;
mod probe;
mod queue;
mod rate;
mod recipient;
mod request;
mod room;
mod send;
mod shed;
mod start;
mod stats;
mod supervisor;
mod sync;
#[cfg(feature = "actix-web")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
pub mod web;

#[cfg(all(test, mailbox_loom))]
mod tests;

pub use addr::{BoundedAddr, WeakBoundedAddr};
pub use backpressured::{Backpressured, BackpressuredExt};
pub use config::{ConfigError, MailboxConfig, DEFAULT_BATCH, DEFAULT_CAPACITY, MAX_CAPACITY};
pub use configs::{ConfigFileError, MailboxConfigs, MailboxOverrides, CONFIG_ENV_VAR};
pub use demand::Demand;
pub use error::{SendError, TrySendError};
pub use gate::{Gated, PauseGate, Ticks};
pub use hook::{DropReason, Dropped};
pub use outlet::{Outlet, OutletStream};
pub use permit::SendPermit;
pub use policy::{OverflowPolicy, UnknownPolicy};
pub use pool::{PoolScaler, WorkerPool, WorkerPoolBuilder, WorkerStats};
pub use probe::{MailboxProbe, PressureSample};
pub use rate::RateLimit;
pub use recipient::{BoundedRecipient, WeakBoundedRecipient};
pub use request::{BoundedRequest, BoundedTell};
pub use shed::Sojourn;
pub use start::{BoundedActorExt, BoundedMailbox};
pub use stats::MailboxStats;
