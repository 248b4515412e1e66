//! Mailbox metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`).
//!
//! Nothing is recorded per message on the send path but an occasional timestamp:
//!
//! - counters and gauges are read from the mailbox's own exact counters by a background
//!   thread, about once per [`REFRESH_INTERVAL`], and set on the installed recorder
//!   ([`refresh`] does it at once); every metric is described at each refresh, so the order in
//!   which the recorder and the mailboxes start does not matter;
//! - the wait and handler histograms are recorded for one message in [`TIMING_SAMPLE`] per
//!   sending thread;
//! - [`mailbox_sender_blocked_seconds`](MAILBOX_SENDER_BLOCKED_SECONDS) is recorded for every
//!   wait for room, and [`mailbox_rate_wait_seconds`](MAILBOX_RATE_WAIT_SECONDS) for every
//!   wait for a rate token, when the wait ends.
//!
//! Mailboxes with the same name and policy add up into one series (the capacity too), unless
//! they are told apart with [`MailboxConfig::metrics_instance`](crate::MailboxConfig::metrics_instance).
//! When an actor stops for good, its depth leaves the series at the next refresh (a series with
//! no mailbox left shows depth 0) and its final counts stay in the counters, which never go
//! down.
//!
//! # The contract
//!
//! [`METRICS`] lists every metric with its type and labels: the dashboard, the alert rules and
//! the tests are checked against it. Every series carries `actor` (the mailbox's name) and
//! `policy` (an [`OverflowPolicy::as_str`](crate::OverflowPolicy::as_str)), and `instance` when
//! the mailbox has one; `mailbox_dropped_total` also carries `reason`, one of
//! [`DropReason::ALL`](crate::DropReason::ALL). Times are in seconds, with sub-second
//! precision.

/// What a metric is, in Prometheus's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricKind {
    /// Only goes up (its name ends in `_total`).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets: `_bucket`, `_sum` and `_count` series.
    Histogram,
}

impl MetricKind {
    /// The type's name in the Prometheus text format: `counter`, `gauge` or `histogram`.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// One metric of the contract: its name, type and labels.
///
/// # Examples
///
/// ```
/// # use actix_backpressure_mailbox as actix_backpressure;
/// use actix_backpressure::metrics::{MetricKind, METRICS};
///
/// let depth = METRICS.iter().find(|m| m.name == "mailbox_depth").unwrap();
/// assert_eq!(depth.kind, MetricKind::Gauge);
/// assert_eq!(depth.labels, ["actor", "policy"]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricSpec {
    /// The metric's name (for a histogram, the base of `_bucket`, `_sum` and `_count`).
    pub name: &'static str,
    /// Its type.
    pub kind: MetricKind,
    /// Labels every series carries.
    pub labels: &'static [&'static str],
    /// Labels a series may also carry.
    pub optional_labels: &'static [&'static str],
    /// What it measures (the `# HELP` line).
    pub help: &'static str,
    /// Kept for one release only, next to the metric that replaces it.
    pub deprecated: bool,
}

impl MetricSpec {
    /// A metric with no optional label, not deprecated.
    pub const fn new(
        name: &'static str,
        kind: MetricKind,
        labels: &'static [&'static str],
        help: &'static str,
    ) -> Self {
        MetricSpec {
            name,
            kind,
            labels,
            optional_labels: &[],
            help,
            deprecated: false,
        }
    }

    /// The same, with labels a series may also carry.
    pub const fn with_optional_labels(mut self, labels: &'static [&'static str]) -> Self {
        self.optional_labels = labels;
        self
    }

    /// The same, marked deprecated.
    pub const fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// Whether its values are in seconds (its name says so, as Prometheus's conventions want).
    pub fn in_seconds(&self) -> bool {
        self.name.ends_with("_seconds") || self.name.ends_with("_seconds_total")
    }
}

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
/// `mailbox_sender_blocked_seconds` (histogram): how long each sender that waited for room
/// waited, recorded when the wait ends (room, deadline, close). Its `_sum` is the blocked
/// time summed over senders, in seconds with sub-second precision: `rate()` of it is the
/// fraction of time a sender was blocked (with several senders, how many were blocked on
/// average); its `_count` counts the waits.
pub const MAILBOX_SENDER_BLOCKED_SECONDS: &str = "mailbox_sender_blocked_seconds";
/// `mailbox_sender_blocked_seconds_total` (counter): *whole* seconds senders spent waiting
/// for room, summed over senders.
#[deprecated(
    since = "0.2.0",
    note = "counts whole seconds only: use `MAILBOX_SENDER_BLOCKED_SECONDS` (its `_sum`)"
)]
pub const MAILBOX_SENDER_BLOCKED_SECONDS_TOTAL: &str = "mailbox_sender_blocked_seconds_total";
/// The deprecated name, for the library's own use until it goes.
#[allow(deprecated)]
const BLOCKED_WHOLE_SECONDS: &str = MAILBOX_SENDER_BLOCKED_SECONDS_TOTAL;
/// `mailbox_rate_wait_seconds` (histogram): how long each sender that waited for a token of
/// the mailbox's [`rate_limit`](crate::MailboxConfig::rate_limit) waited, recorded when the
/// wait ends. Apart from [`MAILBOX_SENDER_BLOCKED_SECONDS`]: the mailbox was not full.
pub const MAILBOX_RATE_WAIT_SECONDS: &str = "mailbox_rate_wait_seconds";
/// `mailbox_credits_outstanding` (gauge): credits granted and not yet used by a sender, for a
/// mailbox with [`credits`](crate::MailboxConfig::credits) or
/// [`demand`](crate::MailboxConfig::demand) (only those have the series): how many messages
/// senders may queue now without waiting. Time spent waiting for a credit is
/// [`MAILBOX_SENDER_BLOCKED_SECONDS`].
pub const MAILBOX_CREDITS_OUTSTANDING: &str = "mailbox_credits_outstanding";
/// `mailbox_wait_seconds` (histogram): time from enqueue to handler start.
pub const MAILBOX_WAIT_SECONDS: &str = "mailbox_wait_seconds";
/// `mailbox_handler_seconds` (histogram): handler run time; for a request, until its response
/// is sent (later, for an asynchronous response); for a message sent without waiting for a
/// response, the handler call.
pub const MAILBOX_HANDLER_SECONDS: &str = "mailbox_handler_seconds";

const SERIES: &[&str] = &["actor", "policy"];
const DROPPED: &[&str] = &["actor", "policy", "reason"];
const INSTANCE: &[&str] = &["instance"];

/// Every mailbox metric, with its type and labels: the contract that the dashboard, the alert
/// rules and the tests rely on.
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::new(
        MAILBOX_DEPTH,
        MetricKind::Gauge,
        SERIES,
        "Messages queued in the mailbox.",
    )
    .with_optional_labels(INSTANCE),
    MetricSpec::new(
        MAILBOX_CAPACITY,
        MetricKind::Gauge,
        SERIES,
        "The mailbox's capacity.",
    )
    .with_optional_labels(INSTANCE),
    MetricSpec::new(
        MAILBOX_ENQUEUED_TOTAL,
        MetricKind::Counter,
        SERIES,
        "Messages queued.",
    )
    .with_optional_labels(INSTANCE),
    MetricSpec::new(
        MAILBOX_HANDLED_TOTAL,
        MetricKind::Counter,
        SERIES,
        "Messages whose handler was called.",
    )
    .with_optional_labels(INSTANCE),
    MetricSpec::new(
        MAILBOX_DROPPED_TOTAL,
        MetricKind::Counter,
        DROPPED,
        "Messages that did not reach their handler, by reason.",
    )
    .with_optional_labels(INSTANCE),
    MetricSpec::new(
        MAILBOX_SENDER_BLOCKED_SECONDS,
        MetricKind::Histogram,
        SERIES,
        "Time each sender waited for room in the mailbox; the sum is over senders.",
    )
    .with_optional_labels(INSTANCE),
    MetricSpec::new(
        BLOCKED_WHOLE_SECONDS,
        MetricKind::Counter,
        SERIES,
        "Whole seconds senders waited for room, summed over senders (deprecated: use \
         mailbox_sender_blocked_seconds_sum).",
    )
    .with_optional_labels(INSTANCE)
    .deprecated(),
    MetricSpec::new(
        MAILBOX_RATE_WAIT_SECONDS,
        MetricKind::Histogram,
        SERIES,
        "Time each sender waited for a token of the mailbox's rate limit.",
    )
    .with_optional_labels(INSTANCE),
    MetricSpec::new(
        MAILBOX_CREDITS_OUTSTANDING,
        MetricKind::Gauge,
        SERIES,
        "Credits granted and not yet used by a sender (mailboxes with credits or demand).",
    )
    .with_optional_labels(INSTANCE),
    MetricSpec::new(
        MAILBOX_WAIT_SECONDS,
        MetricKind::Histogram,
        SERIES,
        "Time from enqueue to handler start (sampled).",
    )
    .with_optional_labels(INSTANCE),
    MetricSpec::new(
        MAILBOX_HANDLER_SECONDS,
        MetricKind::Histogram,
        SERIES,
        "Handler run time, until the response is sent (sampled).",
    )
    .with_optional_labels(INSTANCE),
];

/// One message in this many, per sending thread, is timed for the histograms.
pub const TIMING_SAMPLE: u32 = 64;

/// Per mailbox name, how many `instance` labels (see
/// [`MailboxConfig::metrics_instance`](crate::MailboxConfig::metrics_instance)) get series of
/// their own; the others add up into `instance = "_other"`.
pub const MAX_INSTANCES: usize = 64;

/// The `instance` label of the series that instances beyond [`MAX_INSTANCES`] add up into.
pub const OTHER_INSTANCE: &str = "_other";

/// How often the background thread refreshes counters and gauges.
pub const REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use imp::refresh;
#[cfg(feature = "metrics")]
pub(crate) use imp::{record_blocked, record_rate_wait, register, sample_tick, Timers};

#[cfg(not(feature = "metrics"))]
pub(crate) use noop::{record_blocked, record_rate_wait, register, sample_tick, Timers};

#[cfg(feature = "metrics")]
mod imp {
    use std::cell::Cell;
    use std::collections::{HashMap, HashSet};
    use std::sync::{Arc, Mutex, Once, Weak};
    use std::time::{Duration, Instant};

    use metrics::{Histogram, Unit};

    use super::*;
    use crate::core::Core;
    use crate::probe::Observed;
    use crate::stats::Counters;
    use crate::DropReason;

    /// The labels of one series: mailboxes with the same labels add up into it.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    struct Series {
        actor: String,
        policy: &'static str,
        instance: Option<String>,
    }

    impl Series {
        fn labels(&self) -> Vec<(&'static str, String)> {
            let mut labels = vec![
                ("actor", self.actor.clone()),
                ("policy", self.policy.to_owned()),
            ];
            if let Some(instance) = &self.instance {
                labels.push(("instance", instance.clone()));
            }
            labels
        }
    }

    /// The figures of one series.
    #[derive(Clone, Copy, Default)]
    struct Figures {
        depth: u64,
        capacity: u64,
        /// Credits outstanding, if a mailbox of the series has credits or demand.
        credits: Option<u64>,
        enqueued: u64,
        handled: u64,
        dropped: [u64; DropReason::ALL.len()],
        blocked: Duration,
    }

    impl Figures {
        /// The counters of `stats` (no depth, no capacity).
        fn counts(stats: &crate::MailboxStats) -> Figures {
            let mut dropped = [0; DropReason::ALL.len()];
            for (count, reason) in dropped.iter_mut().zip(DropReason::ALL) {
                *count = stats.dropped(reason);
            }
            Figures {
                depth: 0,
                capacity: 0,
                credits: None,
                enqueued: stats.enqueued,
                handled: stats.handled,
                dropped,
                blocked: stats.sender_blocked,
            }
        }

        fn add_counts(&mut self, other: &Figures) {
            self.enqueued += other.enqueued;
            self.handled += other.handled;
            for (total, count) in self.dropped.iter_mut().zip(other.dropped) {
                *total += count;
            }
            self.blocked += other.blocked;
        }

        /// The counts since `earlier` (counters only grow).
        fn since(&self, earlier: &Figures) -> Figures {
            let mut dropped = self.dropped;
            for (count, before) in dropped.iter_mut().zip(earlier.dropped) {
                *count = count.saturating_sub(before);
            }
            Figures {
                depth: 0,
                capacity: 0,
                credits: None,
                enqueued: self.enqueued.saturating_sub(earlier.enqueued),
                handled: self.handled.saturating_sub(earlier.handled),
                dropped,
                blocked: self.blocked.saturating_sub(earlier.blocked),
            }
        }
    }

    struct Entry {
        mailbox: Weak<dyn Observed>,
        /// Read one last time once the mailbox is gone.
        counters: Arc<Counters>,
        /// The series the mailbox counts in now (its labels change with a live policy change).
        series: Series,
        /// The mailbox's counts already credited to earlier series.
        credited: Figures,
        /// The mailbox's counts at the last refresh.
        last: Figures,
    }

    #[derive(Default)]
    struct State {
        entries: Vec<Entry>,
        /// Final counts of mailboxes that are gone, so that their series' counters never go
        /// down.
        retired: HashMap<Series, Figures>,
        /// Every series ever published, so that one left with no mailbox shows depth 0.
        published: HashSet<Series>,
        /// The series that ever had a mailbox with credits or demand, so that one left with
        /// none shows 0 credits outstanding rather than its last figure.
        credited: HashSet<Series>,
        /// Instance labels given their own series, per actor name.
        instances: HashMap<String, HashSet<String>>,
    }

    static STATE: Mutex<Option<State>> = Mutex::new(None);
    static REFRESHER: Once = Once::new();

    /// Watches a mailbox for the counters and gauges, starting the refresher if needed.
    pub(crate) fn register(mailbox: Weak<dyn Observed>, counters: Arc<Counters>) {
        let Some(live) = mailbox.upgrade() else {
            return;
        };
        let mut guard = STATE.lock().unwrap_or_else(|e| e.into_inner());
        let state = guard.get_or_insert_with(State::default);
        let series = state.series_of(live.core());
        state.entries.push(Entry {
            mailbox,
            counters,
            series,
            credited: Figures::default(),
            last: Figures::default(),
        });
        drop(guard);
        drop(live);
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
    ///
    /// Mailboxes with the same labels add up into one series; a mailbox that is gone keeps
    /// contributing its final counts, and its depth 0.
    pub fn refresh() {
        describe();
        let mut guard = STATE.lock().unwrap_or_else(|e| e.into_inner());
        let state = guard.get_or_insert_with(State::default);
        let mut figures: HashMap<Series, Figures> = state.retired.clone();
        let mut entries = std::mem::take(&mut state.entries);
        let mut alive = Vec::new();
        entries.retain_mut(|entry| match entry.mailbox.upgrade() {
            Some(mailbox) => {
                let series = state.series_of(mailbox.core());
                if series != entry.series {
                    // Relabelled (a live policy change): what was counted so far stays with the
                    // old series, for good.
                    let old = std::mem::replace(&mut entry.series, series);
                    let counted = entry.last.since(&entry.credited);
                    state
                        .retired
                        .entry(old.clone())
                        .or_default()
                        .add_counts(&counted);
                    figures.entry(old).or_default().add_counts(&counted);
                    entry.credited = entry.last;
                }
                let now = Figures::counts(&mailbox.core().stats());
                let f = figures.entry(entry.series.clone()).or_default();
                f.depth += mailbox.len() as u64;
                f.capacity += mailbox.capacity() as u64;
                if let Some(credits) = mailbox.credits() {
                    *f.credits.get_or_insert(0) += credits as u64;
                }
                f.add_counts(&now.since(&entry.credited));
                entry.last = now;
                // Dropped once the lock is released: the last `Arc` of a mailbox runs its
                // destructors (the drop hook's, say) outside the refresher's lock.
                alive.push(mailbox);
                true
            }
            None => {
                let last = Figures::counts(&entry.counters.snapshot()).since(&entry.credited);
                let series = entry.series.clone();
                state
                    .retired
                    .entry(series.clone())
                    .or_default()
                    .add_counts(&last);
                figures.entry(series).or_default().add_counts(&last);
                false
            }
        });
        state.entries = entries;
        for series in &state.published {
            // A series left with no live mailbox (gone, or renamed by a policy change) shows
            // an empty mailbox.
            figures.entry(series.clone()).or_default();
        }
        for series in &state.credited {
            figures
                .entry(series.clone())
                .or_default()
                .credits
                .get_or_insert(0);
        }
        for (series, f) in &figures {
            publish(series, f);
            state.published.insert(series.clone());
            if f.credits.is_some() {
                state.credited.insert(series.clone());
            }
        }
        drop(guard);
        drop(alive);
    }

    impl State {
        fn series_of(&mut self, core: &Core) -> Series {
            let actor = core.name.to_string();
            let instance = core.instance.as_deref().map(|id| {
                let seen = self.instances.entry(actor.clone()).or_default();
                if seen.contains(id) || seen.len() < MAX_INSTANCES {
                    seen.insert(id.to_owned());
                    id.to_owned()
                } else {
                    OTHER_INSTANCE.to_owned()
                }
            });
            Series {
                actor,
                policy: core.policy().as_str(),
                instance,
            }
        }
    }

    fn publish(series: &Series, f: &Figures) {
        let labels = series.labels();
        metrics::gauge!(MAILBOX_DEPTH, &labels).set(f.depth as f64);
        metrics::gauge!(MAILBOX_CAPACITY, &labels).set(f.capacity as f64);
        if let Some(credits) = f.credits {
            metrics::gauge!(MAILBOX_CREDITS_OUTSTANDING, &labels).set(credits as f64);
        }
        metrics::counter!(MAILBOX_ENQUEUED_TOTAL, &labels).absolute(f.enqueued);
        metrics::counter!(MAILBOX_HANDLED_TOTAL, &labels).absolute(f.handled);
        metrics::counter!(BLOCKED_WHOLE_SECONDS, &labels).absolute(f.blocked.as_secs());
        for (count, reason) in f.dropped.iter().zip(DropReason::ALL) {
            let mut labels = labels.clone();
            labels.push(("reason", reason.as_str().to_owned()));
            metrics::counter!(MAILBOX_DROPPED_TOTAL, &labels).absolute(*count);
        }
    }

    fn describe() {
        for metric in METRICS {
            let unit = if metric.in_seconds() {
                Unit::Seconds
            } else {
                Unit::Count
            };
            match metric.kind {
                MetricKind::Counter => metrics::describe_counter!(metric.name, unit, metric.help),
                MetricKind::Gauge => metrics::describe_gauge!(metric.name, unit, metric.help),
                MetricKind::Histogram => {
                    metrics::describe_histogram!(metric.name, unit, metric.help)
                }
            }
        }
    }

    /// Records one wait for room in `core`'s mailbox, as it ends.
    pub(crate) fn record_blocked(core: &Core, waited: Duration) {
        metrics::histogram!(MAILBOX_SENDER_BLOCKED_SECONDS, &series_labels(core)).record(waited);
    }

    /// Records one wait for a rate token in `core`'s mailbox, as it ends.
    pub(crate) fn record_rate_wait(core: &Core, waited: Duration) {
        metrics::histogram!(MAILBOX_RATE_WAIT_SECONDS, &series_labels(core)).record(waited);
    }

    /// The labels of `core`'s series now (its capped instance included).
    fn series_labels(core: &Core) -> Vec<(&'static str, String)> {
        let mut guard = STATE.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .get_or_insert_with(State::default)
            .series_of(core)
            .labels()
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
                    let labels = series_labels(core);
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
    use std::sync::{Arc, Weak};

    use crate::stats::Counters;

    pub(crate) fn register<T: ?Sized>(_: Weak<T>, _: Arc<Counters>) {}

    #[inline]
    pub(crate) fn record_blocked(_: &crate::core::Core, _: std::time::Duration) {}

    #[inline]
    pub(crate) fn record_rate_wait(_: &crate::core::Core, _: std::time::Duration) {}

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
