//! Mailbox metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`).
//!
//! Nothing is recorded per message on the send path but an occasional timestamp:
//!
//! - counters and gauges are read from the mailbox's own exact counters by a background
//!   thread, about once per [`REFRESH_INTERVAL`], and set on the installed recorder
//!   ([`refresh`] does it at once); every metric is described at each refresh, so the order in
//!   which the recorder and the mailboxes start does not matter;
//! - the two histograms are recorded for one message in [`TIMING_SAMPLE`] per sending thread.
//!
//! When an actor stops for good, its `mailbox_depth` goes to 0 at the next refresh and its
//! series are no longer refreshed (the counters keep their last values).

/// `mailbox_depth` (gauge): messages queued.
pub const MAILBOX_DEPTH: &str = "mailbox_depth";
/// `mailbox_capacity` (gauge): the capacity in effect.
pub const MAILBOX_CAPACITY: &str = "mailbox_capacity";
/// `mailbox_enqueued_total` (counter): messages queued.
pub const MAILBOX_ENQUEUED_TOTAL: &str = "mailbox_enqueued_total";
/// `mailbox_handled_total` (counter): messages whose handler was called.
pub const MAILBOX_HANDLED_TOTAL: &str = "mailbox_handled_total";
/// `mailbox_dropped_total` (counter, label `reason`): messages that did not reach their
/// handler, by [`DropReason`](crate::DropReason).
pub const MAILBOX_DROPPED_TOTAL: &str = "mailbox_dropped_total";
/// `mailbox_sender_blocked_seconds_total` (counter): whole seconds senders spent waiting for
/// room, summed over senders.
pub const MAILBOX_SENDER_BLOCKED_SECONDS_TOTAL: &str = "mailbox_sender_blocked_seconds_total";
/// `mailbox_wait_seconds` (histogram): time from enqueue to handler start.
pub const MAILBOX_WAIT_SECONDS: &str = "mailbox_wait_seconds";
/// `mailbox_handler_seconds` (histogram): handler run time; for an asynchronous response,
/// until the response is sent.
pub const MAILBOX_HANDLER_SECONDS: &str = "mailbox_handler_seconds";

/// One message in this many, per sending thread, is timed for the histograms.
pub const TIMING_SAMPLE: u32 = 16;

/// How often the background thread refreshes counters and gauges.
pub const REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

#[cfg(feature = "metrics")]
pub use imp::refresh;
#[cfg(feature = "metrics")]
pub(crate) use imp::{register, sample_tick, Timers};

#[cfg(not(feature = "metrics"))]
pub(crate) use noop::{register, sample_tick, Timers};

#[cfg(feature = "metrics")]
mod imp {
    use std::cell::Cell;
    use std::sync::{Arc, Mutex, Once, Weak};
    use std::time::{Duration, Instant};

    use metrics::{Histogram, Unit};

    use super::*;
    use crate::chan::Core;
    use crate::DropReason;

    /// What the refresher needs from a mailbox, whatever its actor type.
    pub(crate) trait Observed: Send + Sync {
        fn core(&self) -> &Core;
        fn len(&self) -> usize;
        fn capacity(&self) -> usize;
    }

    struct Entry {
        mailbox: Weak<dyn Observed>,
        /// Labels of the last refresh, to zero the depth once the mailbox is gone.
        last: Option<(String, &'static str)>,
    }

    static MAILBOXES: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
    static REFRESHER: Once = Once::new();

    /// Watches `mailbox` for the counters and gauges, starting the refresher if needed.
    pub(crate) fn register(mailbox: Weak<dyn Observed>) {
        MAILBOXES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Entry {
                mailbox,
                last: None,
            });
        REFRESHER.call_once(|| {
            let spawned = std::thread::Builder::new()
                .name("actix-backpressure-metrics".into())
                .spawn(|| loop {
                    std::thread::sleep(REFRESH_INTERVAL);
                    refresh();
                });
            // Without the thread, metrics are refreshed only by explicit `refresh` calls.
            drop(spawned);
        });
    }

    /// Sets every mailbox's counters and gauges on the current recorder now, and describes
    /// every metric. The background thread calls this about once per [`REFRESH_INTERVAL`].
    pub fn refresh() {
        describe();
        let mut mailboxes = MAILBOXES.lock().unwrap_or_else(|e| e.into_inner());
        mailboxes.retain_mut(|entry| match entry.mailbox.upgrade() {
            Some(mailbox) => {
                entry.last = Some(publish(&*mailbox));
                true
            }
            None => {
                if let Some((actor, policy)) = entry.last.take() {
                    metrics::gauge!(MAILBOX_DEPTH, "actor" => actor, "policy" => policy).set(0.0);
                }
                false
            }
        });
    }

    fn publish(mailbox: &dyn Observed) -> (String, &'static str) {
        let core = mailbox.core();
        let actor = core.name.to_string();
        let policy = core.policy().as_str();
        let labels = [("actor", actor.clone()), ("policy", policy.to_owned())];
        let stats = core.stats();
        metrics::gauge!(MAILBOX_DEPTH, &labels).set(mailbox.len() as f64);
        metrics::gauge!(MAILBOX_CAPACITY, &labels).set(mailbox.capacity() as f64);
        metrics::counter!(MAILBOX_ENQUEUED_TOTAL, &labels).absolute(stats.enqueued);
        metrics::counter!(MAILBOX_HANDLED_TOTAL, &labels).absolute(stats.handled);
        metrics::counter!(MAILBOX_SENDER_BLOCKED_SECONDS_TOTAL, &labels)
            .absolute(stats.sender_blocked.as_secs());
        for reason in [
            DropReason::DropNewest,
            DropReason::DropOldest,
            DropReason::Rejected,
            DropReason::Timeout,
            DropReason::Stopped,
            DropReason::Closed,
        ] {
            metrics::counter!(
                MAILBOX_DROPPED_TOTAL,
                "actor" => actor.clone(),
                "policy" => policy,
                "reason" => reason.as_str()
            )
            .absolute(stats.dropped(reason));
        }
        (actor, policy)
    }

    fn describe() {
        metrics::describe_gauge!(
            MAILBOX_DEPTH,
            Unit::Count,
            "Messages queued in the mailbox."
        );
        metrics::describe_gauge!(MAILBOX_CAPACITY, Unit::Count, "The mailbox's capacity.");
        metrics::describe_counter!(MAILBOX_ENQUEUED_TOTAL, Unit::Count, "Messages queued.");
        metrics::describe_counter!(
            MAILBOX_HANDLED_TOTAL,
            Unit::Count,
            "Messages whose handler was called."
        );
        metrics::describe_counter!(
            MAILBOX_DROPPED_TOTAL,
            Unit::Count,
            "Messages that did not reach their handler, by reason."
        );
        metrics::describe_counter!(
            MAILBOX_SENDER_BLOCKED_SECONDS_TOTAL,
            Unit::Seconds,
            "Seconds senders waited for room in the mailbox, summed over senders."
        );
        metrics::describe_histogram!(
            MAILBOX_WAIT_SECONDS,
            Unit::Seconds,
            "Time from enqueue to handler start (sampled)."
        );
        metrics::describe_histogram!(
            MAILBOX_HANDLER_SECONDS,
            Unit::Seconds,
            "Handler run time, until the response is sent (sampled)."
        );
    }

    thread_local! {
        static TICK: Cell<u32> = const { Cell::new(0) };
    }

    /// Whether this send should be timed: one in [`TIMING_SAMPLE`] per thread.
    #[inline]
    pub(crate) fn sample_tick() -> bool {
        TICK.with(|tick| {
            let n = tick.get().wrapping_add(1);
            tick.set(n);
            n % TIMING_SAMPLE == 0
        })
    }

    /// The histograms of one mailbox, held by its driver; re-registered every second so that
    /// a recorder installed later, or a policy changed since, is picked up.
    pub(crate) struct Timers {
        handles: Option<(Arc<Histograms>, Instant)>,
    }

    pub(crate) struct Histograms {
        pub(crate) wait: Histogram,
        pub(crate) handler: Histogram,
    }

    impl Timers {
        pub(crate) fn new() -> Self {
            Timers { handles: None }
        }

        /// The histograms, for a sampled message handled at `now`.
        pub(crate) fn histograms(&mut self, core: &Core, now: Instant) -> Arc<Histograms> {
            match &self.handles {
                Some((histograms, at)) if now.duration_since(*at) < Duration::from_secs(1) => {
                    Arc::clone(histograms)
                }
                _ => {
                    let labels = [
                        ("actor", core.name.to_string()),
                        ("policy", core.policy().as_str().to_owned()),
                    ];
                    let histograms = Arc::new(Histograms {
                        wait: metrics::histogram!(MAILBOX_WAIT_SECONDS, &labels),
                        handler: metrics::histogram!(MAILBOX_HANDLER_SECONDS, &labels),
                    });
                    self.handles = Some((Arc::clone(&histograms), now));
                    histograms
                }
            }
        }
    }
}

#[cfg(not(feature = "metrics"))]
mod noop {
    use std::sync::Weak;

    pub(crate) fn register<T: ?Sized>(_: Weak<T>) {}

    #[inline]
    pub(crate) fn sample_tick() -> bool {
        false
    }

    pub(crate) struct Timers;

    impl Timers {
        pub(crate) fn new() -> Self {
            Timers
        }
    }
}

#[cfg(feature = "metrics")]
pub(crate) use imp::Observed;
