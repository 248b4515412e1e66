//! `Core`: what a mailbox is, apart from its queue and its waiters: its settings, outcome
//! counters, drop hook and pause gate. A leaf of the mailbox's modules: the queue, the
//! waiters, the envelopes, the metrics and the probes all read it; it names none of them.

use std::any::Any;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::hook::DropHook;
use crate::rate::Limiter;
use crate::stats::Counters;
use crate::{DropReason, Dropped, MailboxConfig, MailboxStats, OverflowPolicy, PauseGate, Sojourn};

/// The part of a mailbox that does not depend on the actor's type, nor on how it waits.
pub(crate) struct Core {
    pub(crate) name: Arc<str>,
    /// An `OverflowPolicy`, atomic so that a running mailbox can be reconfigured.
    policy: AtomicU8,
    pub(crate) batch: usize,
    hook: Option<DropHook>,
    /// Whether the mailbox reports metrics: sends sampled for the timing histograms, and
    /// every blocked wait.
    pub(crate) timing: bool,
    /// Shared with the metrics refresher, which reads them one last time after the mailbox is
    /// gone.
    pub(crate) counters: Arc<Counters>,
    /// The `instance` metric label, if asked for.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) instance: Option<Arc<str>>,
    /// While paused, the driver takes only control messages.
    pub(crate) gate: PauseGate,
    /// Shedding by time in the mailbox (`shed.rs`): every data message is stamped with the
    /// time it was queued when either is set.
    pub(crate) ttl: Option<Duration>,
    pub(crate) sojourn: Option<Sojourn>,
    /// The rate limit on the send path, shared by every handle.
    pub(crate) rate: Option<Limiter>,
    /// With credits: the refill batch. The driver, not the queue, gives permits back.
    pub(crate) refill: Option<usize>,
}

impl Core {
    /// The settings of `config` (its capacity is the queue's business). `config` must have
    /// been validated.
    pub(crate) fn new(config: MailboxConfig) -> Self {
        Core {
            name: config.name.unwrap_or_else(|| Arc::from("<unnamed>")),
            policy: AtomicU8::new(config.policy.to_u8()),
            batch: config.batch,
            hook: config.on_drop,
            timing: config.metrics && cfg!(feature = "metrics"),
            counters: Arc::default(),
            instance: config.instance,
            gate: config.gate.unwrap_or_default(),
            ttl: config.ttl,
            sojourn: config.sojourn,
            rate: config.rate.and_then(Limiter::new),
            refill: config.refill,
        }
    }

    /// Whether data messages are stamped with the time they were queued, for shedding.
    #[inline]
    pub(crate) fn sheds(&self) -> bool {
        self.ttl.is_some() || self.sojourn.is_some()
    }

    #[inline]
    pub(crate) fn policy(&self) -> OverflowPolicy {
        // Relaxed: the policy is a setting read on its own; no other memory depends on it.
        OverflowPolicy::from_u8(self.policy.load(Ordering::Relaxed))
    }

    /// Sets the policy. The caller tells the waiters to look again.
    pub(crate) fn set_policy(&self, policy: OverflowPolicy) {
        // Relaxed: see `policy`.
        self.policy.store(policy.to_u8(), Ordering::Relaxed);
    }

    /// Counts a message that will not reach its handler and shows it to the drop hook.
    pub(crate) fn discard<M: Send + 'static>(&self, reason: DropReason, msg: &M) {
        self.counters.dropped(reason);
        if let Some(hook) = &self.hook {
            hook(&Dropped {
                reason,
                actor: &self.name,
                type_name: std::any::type_name::<M>(),
                message: msg as &(dyn Any + Send),
            });
        }
    }

    pub(crate) fn stats(&self) -> MailboxStats {
        self.counters.snapshot()
    }

    /// The counters, to read after the mailbox is gone.
    pub(crate) fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }
}
