//! The supervisor's metrics, through the [`metrics`](https://docs.rs/metrics) facade.
//!
//! They are set when a decision is made (and to 0 when a mailbox or upstream is registered),
//! so they cost nothing between decisions.

use actix_backpressure_mailbox::metrics::{MetricKind, MetricSpec};
use metrics::Unit;

/// `supervisor_mailbox_saturated` (gauge, label `actor`): 1 while the watched mailbox counts
/// as saturated, else 0.
pub const SUPERVISOR_MAILBOX_SATURATED: &str = "supervisor_mailbox_saturated";
/// `supervisor_upstream_paused` (gauge, label `upstream`): 1 while the supervisor holds the
/// upstream paused, else 0.
pub const SUPERVISOR_UPSTREAM_PAUSED: &str = "supervisor_upstream_paused";
/// `supervisor_actions_total` (counter, label `action`: `pause`, `resume`, `scale_up`,
/// `scale_down` or `resize`): actions taken on upstreams, pools and adaptive limits.
pub const SUPERVISOR_ACTIONS_TOTAL: &str = "supervisor_actions_total";

/// `supervisor_pool_workers` (gauge, label `pool`): a managed pool's workers (starting ones
/// included, retiring ones not).
pub const SUPERVISOR_POOL_WORKERS: &str = "supervisor_pool_workers";

/// `supervisor_mailbox_limit` (gauge, label `actor`): the capacity an adaptive limit set on
/// the mailbox ([`SupervisorHandle::adapt_capacity`](crate::SupervisorHandle::adapt_capacity)).
pub const SUPERVISOR_MAILBOX_LIMIT: &str = "supervisor_mailbox_limit";

/// Every supervisor metric, with its type and labels (the mailbox's are in
/// [`actix_backpressure::metrics::METRICS`](actix_backpressure_mailbox::metrics::METRICS)).
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::new(
        SUPERVISOR_MAILBOX_SATURATED,
        MetricKind::Gauge,
        &["actor"],
        "1 while the watched mailbox counts as saturated, else 0",
    ),
    MetricSpec::new(
        SUPERVISOR_UPSTREAM_PAUSED,
        MetricKind::Gauge,
        &["upstream"],
        "1 while the supervisor holds the upstream paused, else 0",
    ),
    MetricSpec::new(
        SUPERVISOR_ACTIONS_TOTAL,
        MetricKind::Counter,
        &["action"],
        "Actions the pressure supervisor took, by action",
    ),
    MetricSpec::new(
        SUPERVISOR_POOL_WORKERS,
        MetricKind::Gauge,
        &["pool"],
        "Workers of a pool managed by the pressure supervisor",
    ),
    MetricSpec::new(
        SUPERVISOR_MAILBOX_LIMIT,
        MetricKind::Gauge,
        &["actor"],
        "The capacity an adaptive limit set on the mailbox",
    ),
];

pub(crate) fn describe() {
    for metric in METRICS {
        match metric.kind {
            MetricKind::Counter => {
                metrics::describe_counter!(metric.name, Unit::Count, metric.help)
            }
            _ => metrics::describe_gauge!(metric.name, Unit::Count, metric.help),
        }
    }
}

pub(crate) fn saturated(actor: &str, saturated: bool) {
    metrics::gauge!(SUPERVISOR_MAILBOX_SATURATED, "actor" => actor.to_owned())
        .set(f64::from(u8::from(saturated)));
}

pub(crate) fn paused(upstream: &str, paused: bool) {
    metrics::gauge!(SUPERVISOR_UPSTREAM_PAUSED, "upstream" => upstream.to_owned())
        .set(f64::from(u8::from(paused)));
}

pub(crate) fn action(action: &'static str) {
    metrics::counter!(SUPERVISOR_ACTIONS_TOTAL, "action" => action).increment(1);
}

pub(crate) fn pool_workers(pool: &str, workers: usize) {
    // Pools hold at most a few thousand workers: exact in an f64.
    metrics::gauge!(SUPERVISOR_POOL_WORKERS, "pool" => pool.to_owned()).set(workers as f64);
}

pub(crate) fn limit(actor: &str, capacity: usize) {
    // Capacities are at most 2^24: exact in an f64.
    metrics::gauge!(SUPERVISOR_MAILBOX_LIMIT, "actor" => actor.to_owned()).set(capacity as f64);
}
