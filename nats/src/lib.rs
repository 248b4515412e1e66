//! A durable, pausable upstream for [`actix-backpressure`](https://docs.rs/actix-backpressure)
//! mailboxes, on NATS JetStream: messages are **acked only after the actor handled them**.
//!
//! A bounded mailbox cannot outlive a crash, and one process is not enough for every load. A
//! JetStream stream in front of the actors keeps the data safe, and a durable consumer shared
//! by several processes spreads the work over them. [`JetStreamSource`] reads such a consumer
//! and feeds an actor:
//!
//! - [`SourceConfig`]: the stream, the durable consumer (its name is the consumer group), batch
//!   size, `max_in_flight`, `max_ack_pending`, `ack_wait`, nak delays, progress acks.
//! - [`JetStreamSource::connect`] binds to them, with clear [`SourceError`]s (bad URL, missing
//!   stream, consumer settings that differ); [`JetStreamSource::start`] runs it, delivering
//!   each [`JetStreamMessage`] (payload, subject, headers, stream sequence, delivery count)
//!   through a [`Feed`], such as a [`BoundedAddr`](actix_backpressure_mailbox::BoundedAddr).
//! - The handler's answer — `Ok(())` or a [`HandlerError`] — decides: ack, nak with a delay,
//!   or term. A message that does not reach the handler is nak'ed, never acked.
//! - [`SourceHandle`] is an [`Upstream`](actix_backpressure_supervisor::Upstream): a
//!   [`PressureSupervisor`](actix_backpressure_supervisor::PressureSupervisor) pauses it (no
//!   more pull requests) while the mailbox is saturated, and resumes it after.
//! - [`metrics`]: `upstream_lag_messages{source}` and `upstream_in_flight{source}`, from the
//!   server, refreshed while paused too; [`SourceStats`] counts every message's outcome.
//! - [`Dedup`]: delivery is at least once (a crash before the ack means a redelivery); skip
//!   what was handled already.
//! - [`server::NatsServer`]: a local `nats-server` for tests and examples.
//!
//! # Examples
//!
//! ```no_run
//! use actix::prelude::*;
//! # mod actix_backpressure {
//! #     pub use actix_backpressure_mailbox::*;
//! #     pub use actix_backpressure_supervisor::*;
//! #     pub mod nats { pub use actix_backpressure_nats::*; }
//! # }
//! use actix_backpressure::nats::{HandlerError, JetStreamMessage, JetStreamSource, SourceConfig};
//! use actix_backpressure::{BoundedActorExt, MailboxConfig, PressurePolicy, PressureSupervisor};
//!
//! struct Billing;
//!
//! impl Actor for Billing {
//!     type Context = Context<Self>;
//! }
//!
//! impl Handler<JetStreamMessage> for Billing {
//!     type Result = Result<(), HandlerError>;
//!
//!     fn handle(&mut self, msg: JetStreamMessage, _: &mut Context<Self>) -> Self::Result {
//!         println!("order #{} (delivery {})", msg.stream_sequence(), msg.delivered());
//!         Ok(())
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! System::new().block_on(async {
//!     let billing = Billing.start_bounded(MailboxConfig::new(64).name("billing"));
//!     let config = SourceConfig::new("ORDERS", "billing").filter_subject("orders.>");
//!     let source = JetStreamSource::connect("nats://127.0.0.1:4222", config)
//!         .await?
//!         .start(billing.clone());
//!
//!     let supervisor = PressureSupervisor::start();
//!     supervisor.watch(&billing, PressurePolicy::default())?;
//!     supervisor.add_upstream(&billing, source.clone())?;
//!     // ... later:
//!     source.stop();
//!     let stats = source.stopped().await;
//!     println!("{} acked", stats.acked);
//!     Ok(())
//! })
//! # }
//! ```

#![forbid(unsafe_code)]

mod config;
mod consumer;
mod dedup;
mod error;
mod feed;
mod inflight;
mod message;
pub mod metrics;
mod pull;
pub mod server;
mod source;
mod stats;

pub use async_nats;
pub use async_trait::async_trait;
/// The payload type of [`JetStreamMessage`].
pub use bytes::Bytes;
pub use config::{
    ConfigError, SourceConfig, DEFAULT_ACK_WAIT, DEFAULT_BATCH, DEFAULT_EXPIRES,
    DEFAULT_GAUGE_INTERVAL, DEFAULT_MAX_ACK_PENDING, DEFAULT_MAX_IN_FLIGHT, DEFAULT_PROGRESS_AFTER,
    DEFAULT_REFUSED_DELAY, DEFAULT_RETRY_DELAY, MAX_DURATION, MIN_EXPIRES,
};
pub use dedup::{Dedup, DedupKey, Remembered};
pub use error::{Mismatch, SourceError};
pub use feed::{Delivery, Feed, NotHandled};
pub use message::{Failure, HandlerError, JetStreamMessage, MSG_ID_HEADER};
pub use source::{ConsumerGauges, JetStreamSource, SourceHandle};
pub use stats::SourceStats;
