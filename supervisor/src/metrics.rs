//! The supervisor's metrics, through the [`metrics`](https://docs.rs/metrics) facade.
//!
//! They are set when a decision is made (and to 0 when a mailbox or upstream is registered),
//! so they cost nothing between decisions.

use metrics::Unit;

/// `supervisor_mailbox_saturated` (gauge, label `actor`): 1 while the watched mailbox counts
/// as saturated, else 0.
pub const SUPERVISOR_MAILBOX_SATURATED: &str = "supervisor_mailbox_saturated";
/// `supervisor_upstream_paused` (gauge, label `upstream`): 1 while the supervisor holds the
/// upstream paused, else 0.
pub const SUPERVISOR_UPSTREAM_PAUSED: &str = "supervisor_upstream_paused";
/// `supervisor_actions_total` (counter, label `action`: `pause`, `resume`, `scale_up` or
/// `scale_down`): actions taken on upstreams and pools.
pub const SUPERVISOR_ACTIONS_TOTAL: &str = "supervisor_actions_total";

/// `supervisor_pool_workers` (gauge, label `pool`): a managed pool's workers (starting ones
/// included, retiring ones not).
pub const SUPERVISOR_POOL_WORKERS: &str = "supervisor_pool_workers";

pub(crate) fn describe() {
    metrics::describe_gauge!(
        SUPERVISOR_POOL_WORKERS,
        Unit::Count,
        "Workers of a pool managed by the pressure supervisor"
    );
    metrics::describe_gauge!(
        SUPERVISOR_MAILBOX_SATURATED,
        Unit::Count,
        "1 while the watched mailbox counts as saturated, else 0"
    );
    metrics::describe_gauge!(
        SUPERVISOR_UPSTREAM_PAUSED,
        Unit::Count,
        "1 while the supervisor holds the upstream paused, else 0"
    );
    metrics::describe_counter!(
        SUPERVISOR_ACTIONS_TOTAL,
        Unit::Count,
        "Actions the pressure supervisor took, by action"
    );
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
