#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// docs.rs builds with `--cfg docsrs` (see `[package.metadata.docs.rs]`): each feature-gated
// item is marked with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use actix_backpressure_mailbox as mailbox;
/// Metric names and refresh ([`mailbox::metrics`]).
pub use actix_backpressure_mailbox::metrics;
pub use actix_backpressure_supervisor as supervisor;

/// A durable, pausable NATS JetStream upstream: the crate `actix-backpressure-nats` (feature
/// `nats`).
///
/// [`JetStreamSource`](nats::JetStreamSource) reads a durable pull consumer and feeds an actor
/// through its [`BoundedAddr`], acking each message only after the actor handled it;
/// [`SourceHandle`](nats::SourceHandle) is an [`Upstream`] that a [`PressureSupervisor`]
/// pauses while the mailbox is saturated. See [*A durable upstream: NATS
/// JetStream*](crate#a-durable-upstream-nats-jetstream) for an example and what the source
/// does under each overflow policy.
#[cfg(feature = "nats")]
#[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
pub mod nats {
    // Every public item of `nats/src/lib.rs`, documented here so that this crate links them. By
    // name, not a glob: a glob would copy the whole of async-nats (and rustls) into these docs.
    #[doc(inline)]
    pub use actix_backpressure_nats::{
        async_trait, metrics, server, Bytes, ConfigError, ConsumerGauges, Dedup, DedupKey,
        Delivery, Failure, Feed, HandlerError, JetStreamMessage, JetStreamSource, Mismatch,
        NotHandled, Remembered, SourceConfig, SourceError, SourceHandle, SourceStats,
        DEFAULT_ACK_WAIT, DEFAULT_BATCH, DEFAULT_EXPIRES, DEFAULT_GAUGE_INTERVAL,
        DEFAULT_MAX_ACK_PENDING, DEFAULT_MAX_IN_FLIGHT, DEFAULT_PROGRESS_AFTER,
        DEFAULT_REFUSED_DELAY, DEFAULT_RETRY_DELAY, MAX_DURATION, MIN_EXPIRES, MSG_ID_HEADER,
    };
    // Listed, not copied: the async-nats client, for `JetStreamSource::with_client`.
    #[doc(no_inline)]
    pub use actix_backpressure_nats::async_nats;
}

#[cfg(feature = "prometheus")]
#[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
pub mod prometheus;

/// actix-web interop: the send errors as HTTP responses ([`mailbox::web`]).
#[cfg(feature = "actix-web")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
pub use actix_backpressure_mailbox::web;
pub use actix_backpressure_mailbox::{
    Backpressured, BackpressuredExt, BoundedActorExt, BoundedAddr, BoundedMailbox,
    BoundedRecipient, BoundedRequest, BoundedTell, ConfigError, ConfigFileError, Demand,
    DropReason, Dropped, MailboxConfig, MailboxConfigs, MailboxOverrides, MailboxProbe,
    MailboxStats, Outlet, OutletStream, OverflowPolicy, PauseGate, PoolScaler, PressureSample,
    RateLimit, SendError, SendPermit, Sojourn, TrySendError, UnknownPolicy, WeakBoundedAddr,
    WeakBoundedRecipient, WorkerPool, WorkerPoolBuilder, WorkerStats, CONFIG_ENV_VAR,
    DEFAULT_BATCH, DEFAULT_CAPACITY, MAX_CAPACITY,
};
// The streams of `PauseGate::wrap` and `PauseGate::interval`.
pub use actix_backpressure_mailbox::{Gated, Ticks};
/// The attribute for implementing [`Upstream`] and [`ScalingPolicy`] (the crate
/// [`async-trait`](https://docs.rs/async-trait)).
pub use actix_backpressure_supervisor::async_trait;
pub use actix_backpressure_supervisor::{
    Action, Aimd, Decision, Decisions, GateUpstream, Gradient, HpaScaling, IntoUpstream,
    LimitController, LimitState, PolicyError, PoolState, PressurePolicy, PressureSupervisor,
    Reading, Scale, ScalingPolicy, SupervisorError, SupervisorHandle, Upstream, WatchId,
};

/// Derives [`Backpressured`](trait@Backpressured): the actor's mailbox configuration from
/// `#[backpressured(...)]` attributes (feature `derive`, on by default).
///
/// | key | value | default |
/// |---|---|---|
/// | `capacity` | an integer from 1 to [`MAX_CAPACITY`] (2^24) | [`DEFAULT_CAPACITY`] (1024) |
/// | `policy` | `"block"`, `"drop_newest"`, `"drop_oldest"` or `"reject"` ([`OverflowPolicy`]) | `"block"` |
/// | `name` | a non-empty string | the type's name without its module path |
/// | `batch` | an integer from 1 to `usize::MAX` | [`DEFAULT_BATCH`] (16) |
///
/// Every key is optional, and so is the attribute; keys may be split across several
/// attributes. Invalid attributes, and a type that is not an actor with
/// `type Context = actix::Context<Self>`, are compile errors pointing at the offending token.
/// Generic actors work: the impl holds for the parameters that make the type such an actor.
///
/// Start the actor with [`BackpressuredExt`]: `start_backpressured()` uses the configuration
/// the operator installed for its name, if any, over the attributes.
///
/// # Examples
///
/// ```
/// use actix::prelude::*;
/// use actix_backpressure::prelude::*;
///
/// #[derive(Backpressured)]
/// #[backpressured(capacity = 64, policy = "drop_oldest", name = "ingest")]
/// struct Ingest {
///     total: u64,
/// }
///
/// impl Actor for Ingest {
///     type Context = Context<Self>;
/// }
///
/// #[derive(Message)]
/// #[rtype(result = "u64")]
/// struct Reading(u64);
///
/// impl Handler<Reading> for Ingest {
///     type Result = u64;
///
///     fn handle(&mut self, Reading(value): Reading, _: &mut Context<Self>) -> u64 {
///         self.total += value;
///         self.total
///     }
/// }
///
/// let config = Ingest::mailbox_config();
/// assert_eq!(config.get_capacity(), 64);
/// assert_eq!(config.get_policy(), OverflowPolicy::DropOldest);
/// assert_eq!(config.get_name(), Some("ingest"));
/// assert_eq!(config.get_batch(), actix_backpressure::DEFAULT_BATCH);
///
/// System::new().block_on(async {
///     let addr = Ingest { total: 0 }.start_backpressured();
///     assert_eq!(addr.capacity(), 64);
///     assert_eq!(addr.send(Reading(2)).await.unwrap(), 2);
/// });
/// ```
#[cfg(feature = "derive")]
#[cfg_attr(docsrs, doc(cfg(feature = "derive")))]
pub use actix_backpressure_derive::Backpressured;

/// Everything needed to start and feed actors behind bounded mailboxes:
/// `use actix_backpressure::prelude::*;` (with the feature `derive`, this includes
/// `#[derive(Backpressured)]`).
///
/// It glob-imports beside `actix::prelude::*` without a clash: no name in it is also in
/// actix's prelude. The error types are the exception that proves it. actix's prelude has a
/// `SendError` of its own, so ours are left out; name them explicitly, and the explicit import
/// wins over both globs:
///
/// ```
/// use actix::prelude::*;
/// use actix_backpressure::prelude::*;
/// use actix_backpressure::{SendError, TrySendError};
/// # fn _f(_: SendError<()>, _: TrySendError<()>, _: Option<BoundedAddr<Dummy>>) {}
/// # struct Dummy;
/// # impl Actor for Dummy { type Context = Context<Self>; }
/// ```
///
/// | actix | this crate | when |
/// |---|---|---|
/// | `SendError::Full(m)` (from `try_send`) | [`TrySendError::Full(m)`](TrySendError::Full) | no room now, message back |
/// | `SendError::Closed(m)` | [`TrySendError::Closed(m)`](TrySendError::Closed) / [`SendError::Closed(m)`](SendError::Closed) | the actor stopped, message back |
/// | `MailboxError::Closed` (from `send`) | [`SendError::Closed`] (message back) or [`SendError::Stopped`] (queued, never handled) | the actor stopped |
/// | `MailboxError::Timeout` (from `send(..).timeout(d)`) | [`SendError::Timeout(m)`](SendError::Timeout) (no room in time, message back) or [`SendError::ResponseTimeout`] (queued, no answer in time) | the deadline passed |
/// | — | [`SendError::Full`], [`SendError::Dropped`], [`SendError::Evicted`], [`TrySendError::Dropped`] | the overflow policy refused or evicted it |
/// | — | [`SendError::Expired`] | queued, shed for waiting too long (`ttl`, `sojourn`) |
pub mod prelude {
    // `no_inline`: listed here, documented once, at the crate root. `Backpressured` is both the
    // trait and, with the feature `derive`, the derive macro.
    #[doc(no_inline)]
    pub use crate::{
        Backpressured, BackpressuredExt, BoundedActorExt, BoundedAddr, BoundedMailbox,
        BoundedRecipient, BoundedRequest, BoundedTell, ConfigError, DropReason, Dropped,
        HpaScaling, MailboxConfig, MailboxConfigs, MailboxStats, OverflowPolicy, PauseGate,
        PressurePolicy, PressureSupervisor, SupervisorHandle, Upstream, WeakBoundedAddr,
        WeakBoundedRecipient, WorkerPool,
    };
}

/// Not public API: what the code generated by `#[derive(Backpressured)]` names.
#[doc(hidden)]
pub mod __private {
    pub use actix::{Actor, Context};

    /// An actor that runs in an [`actix::Context`] of its own: what `Backpressured` needs.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not an actix actor with `type Context = actix::Context<Self>`",
        label = "`#[derive(Backpressured)]` needs an actor here",
        note = "a bounded mailbox runs in the actor's own context: implement `actix::Actor` for `{Self}` with `type Context = actix::Context<Self>;`"
    )]
    pub trait ContextActor: Actor<Context = Context<Self>> {}

    // Report `Foo: ContextActor` (the message above), not `Foo: Actor` with a list of
    // unrelated actors.
    #[diagnostic::do_not_recommend]
    impl<A: Actor<Context = Context<A>>> ContextActor for A {}

    /// Fails to compile unless `A` is an actor with `Context<A>`.
    pub const fn assert_actor<A: ContextActor>() {}
}
