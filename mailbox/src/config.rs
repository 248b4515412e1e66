//! Mailbox configuration: capacity, overflow policy, name, batch size, drop hook and shedding
//! by time in the mailbox.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::hook::DropHook;
use crate::{Dropped, OverflowPolicy, PauseGate, RateLimit, Sojourn};

/// How many messages an actor handles in a row before it yields to its arbiter, by default.
pub const DEFAULT_BATCH: usize = 16;

/// The largest capacity a mailbox may have: 2^24 messages. The queue is allocated up front
/// (a few words per slot), so larger bounds are refused rather than risk exhausting memory.
pub const MAX_CAPACITY: usize = 1 << 24;

/// The capacity of [`MailboxConfig::default`] (and of `#[derive(Backpressured)]` without a
/// `capacity`).
pub const DEFAULT_CAPACITY: usize = 1024;

/// The configuration of one bounded mailbox.
///
/// A consuming builder: start from [`MailboxConfig::new`] and chain the setters.
///
/// The configuration is checked when the actor starts: `start_bounded` and its siblings panic
/// on an invalid configuration (as `tokio::sync::mpsc::channel(0)` does), while
/// [`BoundedActorExt::try_start_bounded`](crate::BoundedActorExt::try_start_bounded) returns a
/// [`ConfigError`]. Call [`validate`](Self::validate) to check a configuration earlier, e.g.
/// when you load it.
///
/// # Examples
///
/// ```
/// # use actix_backpressure_mailbox as actix_backpressure;
/// use actix_backpressure::{MailboxConfig, OverflowPolicy};
///
/// let config = MailboxConfig::new(64)
///     .policy(OverflowPolicy::DropOldest)
///     .name("ingest")
///     .on_drop(|dropped| eprintln!("{} lost a message: {}", dropped.actor(), dropped.reason()));
/// assert!(config.validate().is_ok());
/// assert!(MailboxConfig::new(0).validate().is_err());
/// ```
#[derive(Clone)]
#[must_use]
pub struct MailboxConfig {
    pub(crate) capacity: usize,
    pub(crate) policy: OverflowPolicy,
    pub(crate) name: Option<Arc<str>>,
    pub(crate) batch: usize,
    pub(crate) on_drop: Option<DropHook>,
    pub(crate) metrics: bool,
    pub(crate) instance: Option<Arc<str>>,
    pub(crate) gate: Option<PauseGate>,
    pub(crate) ttl: Option<Duration>,
    pub(crate) sojourn: Option<Sojourn>,
    pub(crate) rate: Option<RateLimit>,
    /// Credits: the refill batch, when the actor grants credits as it finishes work.
    pub(crate) refill: Option<usize>,
    /// Demand: the actor grants room with `Demand::request`.
    pub(crate) demand: bool,
}

impl MailboxConfig {
    /// A mailbox holding at most `capacity` messages, with the [`Block`](OverflowPolicy::Block)
    /// policy, the actor's type name as its name and a batch of [`DEFAULT_BATCH`].
    ///
    /// A capacity of 0 is accepted here and refused when the actor starts (see the type's docs).
    pub fn new(capacity: usize) -> Self {
        MailboxConfig {
            capacity,
            policy: OverflowPolicy::default(),
            name: None,
            batch: DEFAULT_BATCH,
            on_drop: None,
            metrics: true,
            instance: None,
            gate: None,
            ttl: None,
            sojourn: None,
            rate: None,
            refill: None,
            demand: false,
        }
    }

    /// Sets what a full mailbox does with one more message.
    pub fn policy(mut self, policy: OverflowPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Names the mailbox (in the drop hook, errors and metrics). Default: the actor's type name
    /// without its module path.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(Arc::from(name));
        self
    }

    /// Sets how many messages the actor handles in a row before it lets the other futures of
    /// its arbiter run (default [`DEFAULT_BATCH`]; must be at least 1).
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch;
        self
    }

    /// Sets the drop hook: it is called once for every message that does not reach its
    /// handler (dropped on arrival, evicted, rejected, timed out, stopped, or sent to a closed
    /// mailbox), with the reason, on the thread that decided it and outside any lock.
    ///
    /// Keep it short: it runs on the send path or inside the actor.
    pub fn on_drop<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Dropped<'_>) + Send + Sync + 'static,
    {
        self.on_drop = Some(Arc::new(hook));
        self
    }

    /// Whether the mailbox reports metrics (default `true`; needs the crate feature
    /// `metrics`). See the `metrics` module for what is recorded and what it costs.
    pub fn metrics(mut self, enabled: bool) -> Self {
        self.metrics = enabled;
        self
    }

    /// Labels this mailbox's metrics with `instance = id`, to tell apart mailboxes that share
    /// a name (by default they add up into one series). At most
    /// [`MAX_INSTANCES`](crate::metrics::MAX_INSTANCES) instances per name get series of their
    /// own; the others add up into `instance = "_other"`.
    pub fn metrics_instance(mut self, id: &str) -> Self {
        self.instance = Some(Arc::from(id));
        self
    }

    /// Uses `gate` as the mailbox's [`PauseGate`] (by default each mailbox has a gate of its
    /// own), so that the actor can guard its own sources with it: one pause then stops both
    /// the actor's mailbox and the streams it reads.
    pub fn pause_gate(mut self, gate: PauseGate) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Sheds every message that waited longer than `ttl` in the mailbox: the actor takes it
    /// out and drops it unhandled, as [`DropReason::Expired`](crate::DropReason::Expired)
    /// (counted, shown to the drop hook; a requester gets
    /// [`SendError::Expired`](crate::SendError::Expired)). Control messages are never shed.
    /// `ttl` must be above zero.
    ///
    /// Stamping each message with the time it was queued costs a clock read per send; the
    /// clock is Tokio's, so a test can run it on [paused time](tokio::time::pause).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Sheds messages by their time in the mailbox when a queue stands: once the sojourn of
    /// the messages taken out has stayed at or above the target for a whole interval, every
    /// message at the head that waited the target or more is dropped unhandled, as
    /// [`DropReason::Expired`](crate::DropReason::Expired), until the queue empties. See
    /// [`Sojourn`] for the rule, and for [`Sojourn::codel`], CoDel with its control law.
    /// Costs a clock read per send and per message taken out.
    pub fn sojourn(mut self, sojourn: Sojourn) -> Self {
        self.sojourn = Some(sojourn);
        self
    }

    /// Admits at most `limit` messages to the mailbox (a token bucket, per mailbox: every
    /// handle shares it). A send that finds no token reserves the next one and waits for it
    /// under [`Block`](OverflowPolicy::Block), then for room (a `send_timeout` whose deadline
    /// comes before that token is refused at once, and books none); under the other
    /// policies, and for `try_send` and `do_send`, it is refused as
    /// [`DropReason::RateLimited`](crate::DropReason::RateLimited) (`rate_limited`: counted,
    /// shown to the drop hook) and handed back as `RateLimited(msg)`. A message refused for
    /// another reason (a full or closed mailbox) gives its token back. Waiting for a token is
    /// not counted in `sender_blocked` (which the supervisor reads as a full mailbox). Control
    /// messages are not limited. The clock is Tokio's, so a test can run it on paused time.
    ///
    /// For a limit per producer instead (or as well), give each its own
    /// [`BoundedRecipient::with_rate_limit`](crate::BoundedRecipient::with_rate_limit).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate = Some(limit);
        self
    }

    /// Makes the capacity a **credit window**: a sender needs a credit to queue a message, and
    /// the actor grants credits back as it *finishes* messages (once the handler has returned
    /// and any `ctx.wait` it started is over), `refill` at a time, and all it holds before it
    /// waits for more work. So at most `capacity` messages are in flight, queued or being
    /// worked on (a plain mailbox bounds only the queued ones), and a producer faster than the
    /// actor sends at the actor's pace. `refill` must be from 1 to the capacity; batches save
    /// wake-ups, and a message finished and not yet granted back still counts as in flight.
    ///
    /// Under `Block` a sender without a credit waits for one; under `DropNewest` and `Reject`
    /// it is refused as when full. `DropOldest` is refused here: every credit may be held by a
    /// message being worked on, with nothing queued to evict (switched to live, it refuses
    /// as `Reject` does). Credits survive a supervised restart (the mailbox does, and the old
    /// driver grants back what it held).
    pub fn credits(mut self, refill: usize) -> Self {
        self.refill = Some(refill);
        self
    }

    /// Makes the mailbox **demand-driven**: it starts with no room, and the actor grants it
    /// with [`Demand::request`](crate::Demand::request)`(n)`, as a Reactive Streams subscriber
    /// does (get the [`Demand`](crate::Demand) from
    /// [`BoundedMailbox::demand`](crate::BoundedMailbox::demand) and hand it to the actor).
    /// A message taken out spends one unit of demand; nothing comes back by itself. The
    /// capacity bounds the demand outstanding (granted and not yet taken out), so it still
    /// bounds the queue.
    ///
    /// Under `Block` a sender without demand waits for it; under `DropNewest` and `Reject` it
    /// is refused as when full. `DropOldest` is refused here (with no demand there is nothing
    /// to evict; switched to live, it refuses as `Reject` does), and so are
    /// [`credits`](Self::credits), which grant room automatically.
    pub fn demand(mut self) -> Self {
        self.demand = true;
        self
    }

    /// The capacity.
    pub fn get_capacity(&self) -> usize {
        self.capacity
    }

    /// The overflow policy.
    pub fn get_policy(&self) -> OverflowPolicy {
        self.policy
    }

    /// The name, if one was set.
    pub fn get_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The batch size.
    pub fn get_batch(&self) -> usize {
        self.batch
    }

    /// The time to live of a queued message, if one was set.
    pub fn get_ttl(&self) -> Option<Duration> {
        self.ttl
    }

    /// The sojourn rule, if one was set.
    pub fn get_sojourn(&self) -> Option<Sojourn> {
        self.sojourn
    }

    /// The rate limit, if one was set.
    pub fn get_rate_limit(&self) -> Option<RateLimit> {
        self.rate
    }

    /// The credit refill batch, if the capacity is a credit window.
    pub fn get_credits(&self) -> Option<usize> {
        self.refill
    }

    /// Whether the mailbox is demand-driven ([`demand`](Self::demand)).
    pub fn get_demand(&self) -> bool {
        self.demand
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroCapacity`] if the capacity is 0, [`ConfigError::CapacityTooLarge`]
    /// if it is above [`MAX_CAPACITY`], [`ConfigError::ZeroBatch`] if the batch size is 0,
    /// [`ConfigError::ZeroTtl`] for a `ttl` of zero, [`ConfigError::Sojourn`] for a sojourn
    /// target of zero or not below its interval, [`ConfigError::RateLimit`] for a rate limit
    /// with a zero count, period or burst, [`ConfigError::Credits`] for a refill batch of 0
    /// or above the capacity, or credits under `DropOldest`, [`ConfigError::Demand`] for
    /// demand under `DropOldest` or with credits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mailbox = || self.name.as_deref().unwrap_or("<unnamed>").to_owned();
        check_capacity(self.capacity, mailbox)?;
        if self.batch == 0 {
            return Err(ConfigError::ZeroBatch { mailbox: mailbox() });
        }
        if self.ttl == Some(Duration::ZERO) {
            return Err(ConfigError::ZeroTtl { mailbox: mailbox() });
        }
        if let Some(Sojourn {
            target, interval, ..
        }) = self.sojourn
        {
            if target.is_zero() || target >= interval {
                return Err(ConfigError::Sojourn {
                    mailbox: mailbox(),
                    target,
                    interval,
                });
            }
        }
        if let Some(refill) = self.refill {
            if refill == 0 || refill > self.capacity || self.policy == OverflowPolicy::DropOldest {
                return Err(ConfigError::Credits {
                    mailbox: mailbox(),
                    refill,
                    capacity: self.capacity,
                    policy: self.policy,
                });
            }
        }
        if self.demand && (self.refill.is_some() || self.policy == OverflowPolicy::DropOldest) {
            return Err(ConfigError::Demand {
                mailbox: mailbox(),
                policy: self.policy,
                credits: self.refill.is_some(),
            });
        }
        if let Some(limit) = self.rate {
            if !limit.is_valid() {
                return Err(ConfigError::RateLimit {
                    mailbox: mailbox(),
                    count: limit.count,
                    period: limit.period,
                    burst: limit.burst,
                });
            }
        }
        Ok(())
    }
}

impl Default for MailboxConfig {
    /// [`MailboxConfig::new`]`(`[`DEFAULT_CAPACITY`]`)`: 1024 messages, `Block`, batch 16.
    fn default() -> Self {
        MailboxConfig::new(DEFAULT_CAPACITY)
    }
}

impl fmt::Debug for MailboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailboxConfig")
            .field("capacity", &self.capacity)
            .field("policy", &self.policy)
            .field("name", &self.name)
            .field("batch", &self.batch)
            .field("on_drop", &self.on_drop.as_ref().map(|_| ".."))
            .field("metrics", &self.metrics)
            .field("instance", &self.instance)
            .field("gate", &self.gate)
            .field("ttl", &self.ttl)
            .field("sojourn", &self.sojourn)
            .field("rate", &self.rate)
            .field("refill", &self.refill)
            .field("demand", &self.demand)
            .finish()
    }
}

/// An invalid [`MailboxConfig`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The capacity was 0: a mailbox must hold at least one message.
    #[error("mailbox `{mailbox}`: capacity must be at least 1, got 0")]
    ZeroCapacity {
        /// The mailbox's name.
        mailbox: String,
    },
    /// The capacity was above [`MAX_CAPACITY`].
    #[error("mailbox `{mailbox}`: capacity must be at most {MAX_CAPACITY}, got {capacity}")]
    CapacityTooLarge {
        /// The mailbox's name.
        mailbox: String,
        /// The capacity asked for.
        capacity: usize,
    },
    /// The batch size was 0: the actor must handle at least one message per turn.
    #[error("mailbox `{mailbox}`: batch must be at least 1, got 0")]
    ZeroBatch {
        /// The mailbox's name.
        mailbox: String,
    },
    /// The time to live was zero: every message would expire.
    #[error("mailbox `{mailbox}`: ttl must be above 0")]
    ZeroTtl {
        /// The mailbox's name.
        mailbox: String,
    },
    /// The sojourn target was zero, or not below its interval.
    #[error("mailbox `{mailbox}`: sojourn needs 0 < target < interval, got target {target:?}, interval {interval:?}")]
    Sojourn {
        /// The mailbox's name.
        mailbox: String,
        /// The target asked for.
        target: Duration,
        /// The interval asked for.
        interval: Duration,
    },
    /// A rate limit with a zero count, period or burst.
    #[error("mailbox `{mailbox}`: a rate limit needs a count, a period and a burst above 0, got {count} per {period:?}, burst {burst}")]
    RateLimit {
        /// The mailbox's name.
        mailbox: String,
        /// The messages per period asked for.
        count: u32,
        /// The period asked for.
        period: Duration,
        /// The burst asked for.
        burst: u32,
    },
    /// Credits with a refill batch of 0 or above the capacity, or under `DropOldest`.
    #[error("mailbox `{mailbox}`: credits need 1 <= refill <= capacity and a policy other than drop_oldest, got refill {refill}, capacity {capacity}, policy {policy}")]
    Credits {
        /// The mailbox's name.
        mailbox: String,
        /// The refill batch asked for.
        refill: usize,
        /// The capacity (the credit window).
        capacity: usize,
        /// The policy.
        policy: OverflowPolicy,
    },
    /// Demand under `DropOldest` (nothing to evict without demand), or with credits (which
    /// grant room by themselves).
    #[error("mailbox `{mailbox}`: demand needs a policy other than drop_oldest and no credits, got policy {policy}, credits {credits}")]
    Demand {
        /// The mailbox's name.
        mailbox: String,
        /// The policy.
        policy: OverflowPolicy,
        /// Whether credits were asked for too.
        credits: bool,
    },
    /// A worker pool's sizes are out of order: it needs `1 <= min <= initial <= max`.
    #[error("pool `{mailbox}`: sizes must satisfy 1 <= min <= initial <= max, got min {min}, initial {initial}, max {max}")]
    PoolSize {
        /// The pool's mailbox name.
        mailbox: String,
        /// The fewest workers asked for.
        min: usize,
        /// The workers to start with.
        initial: usize,
        /// The most workers asked for.
        max: usize,
    },
}

/// Checks a capacity: at least 1, at most [`MAX_CAPACITY`].
pub(crate) fn check_capacity(
    capacity: usize,
    mailbox: impl FnOnce() -> String,
) -> Result<(), ConfigError> {
    if capacity == 0 {
        Err(ConfigError::ZeroCapacity { mailbox: mailbox() })
    } else if capacity > MAX_CAPACITY {
        Err(ConfigError::CapacityTooLarge {
            mailbox: mailbox(),
            capacity,
        })
    } else {
        Ok(())
    }
}

/// The short type name of `T`: `app::jobs::Worker<app::Msg>` becomes `Worker<Msg>`.
pub(crate) fn short_type_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    for (i, c) in full.char_indices() {
        if matches!(c, '<' | '>' | ',' | ' ' | '(' | ')' | '[' | ']' | ';' | '&') {
            out.push_str(last_path_segment(&full[segment_start..i]));
            out.push(c);
            segment_start = i + c.len_utf8();
        }
    }
    out.push_str(last_path_segment(&full[segment_start..]));
    out
}

fn last_path_segment(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    mod app {
        pub struct Worker<T>(#[allow(dead_code)] T);
        pub struct Msg;
    }

    #[test]
    fn short_type_names_drop_module_paths() {
        assert_eq!(short_type_name::<app::Worker<app::Msg>>(), "Worker<Msg>");
        assert_eq!(short_type_name::<(u8, app::Msg)>(), "(u8, Msg)");
    }

    #[test]
    fn invalid_configs_name_the_mailbox_and_the_problem() {
        let err = MailboxConfig::new(0).name("ingest").validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "mailbox `ingest`: capacity must be at least 1, got 0"
        );
        let err = MailboxConfig::new(4).batch(0).validate().unwrap_err();
        assert_eq!(
            err,
            ConfigError::ZeroBatch {
                mailbox: "<unnamed>".into()
            }
        );
        let err = MailboxConfig::new(4)
            .name("q")
            .ttl(Duration::ZERO)
            .validate();
        assert_eq!(
            err.unwrap_err().to_string(),
            "mailbox `q`: ttl must be above 0"
        );
        let inverted = Sojourn::new(Duration::from_millis(100), Duration::from_millis(5));
        let err = MailboxConfig::new(4).name("q").sojourn(inverted).validate();
        assert_eq!(
            err.unwrap_err().to_string(),
            "mailbox `q`: sojourn needs 0 < target < interval, got target 100ms, interval 5ms"
        );
        let zero = Sojourn::new(Duration::ZERO, Duration::from_millis(5));
        assert!(MailboxConfig::new(4).sojourn(zero).validate().is_err());
        let err = MailboxConfig::new(4)
            .name("q")
            .demand()
            .policy(OverflowPolicy::DropOldest)
            .validate();
        assert_eq!(
            err.unwrap_err().to_string(),
            "mailbox `q`: demand needs a policy other than drop_oldest and no credits, got policy drop_oldest, credits false"
        );
        let both = MailboxConfig::new(4).demand().credits(2).validate();
        assert!(matches!(
            both,
            Err(ConfigError::Demand { credits: true, .. })
        ));
        assert!(MailboxConfig::new(4).demand().validate().is_ok());
    }
}
