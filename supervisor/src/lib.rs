//! A pressure supervisor for [`actix-backpressure`](https://docs.rs/actix-backpressure)
//! mailboxes.
//!
//! A bounded mailbox alone leaves a fast producer two outcomes when its consumer is slow: it
//! is held (`Block`) or it loses messages (the drop policies). The [`PressureSupervisor`]
//! adds a third: it watches mailboxes and, when one stays **saturated** — filled above a high
//! watermark, losing messages or holding senders, for long enough — it **pauses** the
//! upstreams that feed it, and **resumes** them once the mailbox has stayed below a low
//! watermark for long enough. Bursts are absorbed by the mailbox (a lossy policy is fine for
//! them); long overloads pause the producers, so nothing is lost.
//!
//! - [`PressurePolicy`]: sample interval, watermarks and how long each must hold.
//! - [`Upstream`]: what can be paused — an actor behind a bounded mailbox (through its
//!   [`PauseGate`](actix_backpressure_mailbox::PauseGate)), a stream guarded by a gate
//!   ([`PauseGate::wrap`](actix_backpressure_mailbox::PauseGate::wrap),
//!   [`PauseGate::interval`](actix_backpressure_mailbox::PauseGate::interval)), or anything
//!   implementing the trait.
//! - [`ScalingPolicy`] / [`HpaScaling`]: sizing a
//!   [`WorkerPool`](actix_backpressure_mailbox::WorkerPool) from its mailbox's pressure
//!   ([`SupervisorHandle::manage_pool`]).
//! - [`LimitController`] / [`Aimd`] / [`Gradient`]: an adaptive capacity, set from the
//!   latency the mailbox measures ([`SupervisorHandle::adapt_capacity`]).
//! - [`Decisions`]: the stream of what the supervisor decided and why; [`metrics`] for
//!   Prometheus.

mod detector;
mod event;
mod limit;
pub mod metrics;
mod policy;
mod scaling;
mod supervisor;
mod upstream;

pub use async_trait::async_trait;
pub use detector::Reading;
pub use event::{Action, Decision, Decisions, DECISION_BUFFER};
pub use limit::{Aimd, Gradient, LimitController, LimitState, DEFAULT_LIMIT_INTERVAL};
pub use policy::{
    PolicyError, PressurePolicy, DEFAULT_HIGH_WATERMARK, DEFAULT_INTERVAL, DEFAULT_LOW_WATERMARK,
    DEFAULT_RECOVERED_AFTER, DEFAULT_SATURATED_AFTER,
};
pub use scaling::{HpaScaling, PoolState, Scale, ScalingPolicy};
pub use supervisor::{PressureSupervisor, SupervisorError, SupervisorHandle, WatchId};
pub use upstream::{GateUpstream, IntoUpstream, Upstream};
