//! The supervisor's metrics, read back from a debugging recorder. One test in this binary: a
//! snapshot drains the recorder's counters and gauges, so no other test may take one.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use actix_backpressure::prelude::*;
use actix_backpressure::supervisor::metrics::{
    SUPERVISOR_ACTIONS_TOTAL, SUPERVISOR_MAILBOX_SATURATED, SUPERVISOR_POOL_WORKERS,
    SUPERVISOR_UPSTREAM_PAUSED,
};
use actix_backpressure::GateUpstream;
use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// The supervisor's metrics set since the last call: `name{label}` → value.
fn drain_values(snapshotter: &Snapshotter) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        if !key.name().starts_with("supervisor_") {
            continue;
        }
        let labels: Vec<_> = key.labels().map(|l| l.value().to_owned()).collect();
        let value = match value {
            DebugValue::Counter(n) => n as f64,
            DebugValue::Gauge(x) => x.into_inner(),
            DebugValue::Histogram(h) => h.len() as f64,
        };
        out.insert(format!("{}{{{}}}", key.name(), labels.join(",")), value);
    }
    out
}

#[actix_rt::test]
async fn supervisor_decisions_show_in_its_metrics() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this binary");
    let saturated = format!("{SUPERVISOR_MAILBOX_SATURATED}{{watched}}");
    let paused = format!("{SUPERVISOR_UPSTREAM_PAUSED}{{producer}}");
    let pauses = format!("{SUPERVISOR_ACTIONS_TOTAL}{{pause}}");
    let resumes = format!("{SUPERVISOR_ACTIONS_TOTAL}{{resume}}");

    within(async {
        let (addr, _seen, release) = held_recorder(MailboxConfig::new(4).name("watched")).await;
        let producer = PauseGate::new();
        let supervisor = PressureSupervisor::start();
        let policy = PressurePolicy::new()
            .interval(Duration::from_millis(10))
            .saturated_after(Duration::ZERO)
            .recovered_after(Duration::ZERO);
        supervisor.watch(&addr, policy).unwrap();
        supervisor
            .add_upstream(&addr, GateUpstream::new("producer", producer.clone()))
            .unwrap();
        let values = drain_values(&snapshotter);
        assert_eq!((values[&saturated], values[&paused]), (0.0, 0.0));

        for n in 0..4 {
            addr.try_send(Item(n)).unwrap();
        }
        // The metrics are set when the decision is made, before the upstream is paused.
        until(|| producer.is_paused()).await;
        let values = drain_values(&snapshotter);
        assert_eq!(values[&saturated], 1.0, "{values:?}");
        assert_eq!(values[&paused], 1.0, "{values:?}");
        assert_eq!(values[&pauses], 1.0, "{values:?}");

        release.send(()).unwrap();
        until(|| !producer.is_paused()).await;
        let values = drain_values(&snapshotter);
        assert_eq!(values[&saturated], 0.0, "{values:?}");
        assert_eq!(values[&paused], 0.0, "{values:?}");
        assert_eq!(values[&resumes], 1.0, "{values:?}");

        // A managed pool's size.
        let pool = WorkerPool::builder(MailboxConfig::new(4).name("metered"), || Recorder::new().0)
            .min(2)
            .max(3)
            .start();
        supervisor.manage_pool(&pool, HpaScaling::new()).unwrap();
        let values = drain_values(&snapshotter);
        assert_eq!(
            values[&format!("{SUPERVISOR_POOL_WORKERS}{{metered}}")],
            2.0,
            "{values:?}"
        );
        supervisor.stop();
    })
    .await;
}
