//! The metrics a mailbox reports, read back from a debugging recorder: counters agree with
//! `stats()`, the depth gauge equals `len()` after quiescence and never drifts (evictions,
//! stops, restarts, concurrent producers), histograms receive samples.

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_backpressure::metrics::{self as names, refresh};
use actix_backpressure::prelude::*;
use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// One recorder for this test binary (the global recorder can be set once).
fn snapshotter() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("the only recorder of this test binary");
        snapshotter
    })
}

/// The current values for `actor`: `name{reason?}` → value (histograms: sample count).
fn values(actor: &str) -> HashMap<String, f64> {
    refresh();
    let mut out = HashMap::new();
    for (key, _, _, value) in snapshotter().snapshot().into_vec() {
        let key = key.key();
        let labels: HashMap<_, _> = key.labels().map(|l| (l.key(), l.value())).collect();
        if labels.get("actor") != Some(&actor) {
            continue;
        }
        let name = match labels.get("reason") {
            Some(reason) => format!("{}{{{reason}}}", key.name()),
            None => key.name().to_owned(),
        };
        let value = match value {
            DebugValue::Counter(n) => n as f64,
            DebugValue::Gauge(x) => x.into_inner(),
            DebugValue::Histogram(samples) => samples.len() as f64,
        };
        out.insert(name, value);
    }
    out
}

fn assert_agrees(actor: &str, addr: &BoundedAddr<Recorder>) {
    let v = values(actor);
    let stats = addr.stats();
    assert_eq!(v[names::MAILBOX_DEPTH], addr.len() as f64, "{v:?}");
    assert_eq!(v[names::MAILBOX_CAPACITY], addr.capacity() as f64);
    assert_eq!(v[names::MAILBOX_ENQUEUED_TOTAL], stats.enqueued as f64);
    assert_eq!(v[names::MAILBOX_HANDLED_TOTAL], stats.handled as f64);
    for reason in [
        DropReason::DropNewest,
        DropReason::DropOldest,
        DropReason::Rejected,
        DropReason::Timeout,
        DropReason::Stopped,
        DropReason::Closed,
    ] {
        let key = format!("{}{{{}}}", names::MAILBOX_DROPPED_TOTAL, reason.as_str());
        assert_eq!(v[&key], stats.dropped(reason) as f64, "{key}");
    }
}

#[actix_rt::test]
async fn counters_and_depth_agree_with_the_mailbox_through_evictions_and_a_stop() {
    within(async {
        snapshotter();
        let config = MailboxConfig::new(4)
            .policy(OverflowPolicy::DropOldest)
            .name("m-evict");
        let (addr, _, release) = held_recorder(config).await;
        // Concurrent producers, evicting.
        let threads: Vec<_> = (0..3)
            .map(|t| {
                let addr = addr.clone();
                std::thread::spawn(move || {
                    for n in 0..1000 {
                        addr.try_send(Item(t * 1000 + n)).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_agrees("m-evict", &addr);
        assert_eq!(values("m-evict")[names::MAILBOX_DEPTH], 4.0);
        release.send(()).unwrap();
        until(|| addr.is_empty()).await;
        until(|| addr.stats().handled == 5).await;
        assert_agrees("m-evict", &addr);
        assert_eq!(values("m-evict")[names::MAILBOX_DEPTH], 0.0);

        // Stop with messages queued: they count as stopped, the depth goes to 0.
        let (actor, _) = Recorder::new();
        let stopping = actor.start_bounded(MailboxConfig::new(8).name("m-stop"));
        let (release, hold) = tokio::sync::oneshot::channel();
        stopping.tell(HoldThenStop(hold)).await.unwrap();
        until(|| stopping.stats().handled == 1).await;
        for n in 0..5 {
            stopping.tell(Item(n)).await.unwrap();
        }
        assert_eq!(values("m-stop")[names::MAILBOX_DEPTH], 5.0);
        release.send(()).unwrap();
        until(|| stopping.is_closed()).await;
        let v = values("m-stop");
        assert_eq!(v[names::MAILBOX_DEPTH], 0.0);
        assert_eq!(
            v[&format!("{}{{stopped}}", names::MAILBOX_DROPPED_TOTAL)],
            5.0
        );
        drop(stopping);
        // Gone for good: its depth stays at 0.
        assert_eq!(values("m-stop")[names::MAILBOX_DEPTH], 0.0);
    })
    .await;
}

#[actix_rt::test]
async fn histograms_receive_samples_and_metrics_can_be_turned_off() {
    within(async {
        snapshotter();
        let (actor, _) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(16).name("m-timed"));
        for n in 0..200 {
            addr.send(Item(n)).await.unwrap();
        }
        let v = values("m-timed");
        // One message in 16 (per sending thread) is timed.
        let expected = (200 / actix_backpressure::metrics::TIMING_SAMPLE) as f64;
        assert!(v[names::MAILBOX_WAIT_SECONDS] >= expected - 1.0, "{v:?}");
        assert!(v[names::MAILBOX_HANDLER_SECONDS] >= expected - 1.0, "{v:?}");

        let (actor, _) = Recorder::new();
        let silent = actor.start_bounded(MailboxConfig::new(16).name("m-silent").metrics(false));
        for n in 0..100 {
            silent.send(Item(n)).await.unwrap();
        }
        assert!(values("m-silent").is_empty());
    })
    .await;
}
