//! The metrics a mailbox reports, read back from a debugging recorder: counters agree with
//! `stats()`, the depth gauge equals `len()` after quiescence and never drifts (evictions,
//! stops, restarts, concurrent producers), histograms receive samples.

mod common;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

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

/// Histogram samples seen so far, per `actor/name`: a snapshot drains the histograms, and tests
/// running in parallel take snapshots too.
fn histogram_samples() -> &'static Mutex<HashMap<String, usize>> {
    static SAMPLES: OnceLock<Mutex<HashMap<String, usize>>> = OnceLock::new();
    SAMPLES.get_or_init(Mutex::default)
}

/// The current values for `actor`: `name{reason?}` → value (histograms: samples so far).
fn values(actor: &str) -> HashMap<String, f64> {
    refresh();
    let mut out = HashMap::new();
    let mut samples = histogram_samples().lock().unwrap();
    for (key, _, _, value) in snapshotter().snapshot().into_vec() {
        let key = key.key();
        let labels: HashMap<_, _> = key.labels().map(|l| (l.key(), l.value())).collect();
        let of_actor = labels.get("actor") == Some(&actor);
        let name = match labels.get("reason") {
            Some(reason) => format!("{}{{{reason}}}", key.name()),
            None => key.name().to_owned(),
        };
        let value = match value {
            DebugValue::Counter(n) => n as f64,
            DebugValue::Gauge(x) => x.into_inner(),
            DebugValue::Histogram(new) => {
                let actor_name = format!("{}/{}", labels.get("actor").unwrap_or(&""), key.name());
                let seen = samples.entry(actor_name).or_default();
                *seen += new.len();
                *seen as f64
            }
        };
        if of_actor {
            out.insert(name, value);
        }
    }
    for (actor_name, seen) in samples.iter() {
        if let Some(name) = actor_name.strip_prefix(&format!("{actor}/")) {
            out.entry(name.to_owned()).or_insert(*seen as f64);
        }
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
    for reason in DropReason::ALL {
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
        // One message in `TIMING_SAMPLE` (per sending thread) is timed.
        let expected = (200 / actix_backpressure::metrics::TIMING_SAMPLE) as f64;
        assert!(v[names::MAILBOX_WAIT_SECONDS] >= expected - 1.0, "{v:?}");
        assert!(v[names::MAILBOX_HANDLER_SECONDS] >= expected - 1.0, "{v:?}");

        let (actor, _) = Recorder::new();
        let silent = actor.start_bounded(MailboxConfig::new(16).name("m-silent").metrics(false));
        for n in 0..100 {
            silent.send(Item(n)).await.unwrap();
        }
        assert!(values("m-silent").is_empty());

        // A sender that waits for room on a silent mailbox records no blocked time either.
        let (held, _, release) = held_recorder(
            MailboxConfig::new(1)
                .name("m-silent-blocked")
                .metrics(false),
        )
        .await;
        held.tell(Item(1)).await.unwrap();
        let blocked = {
            let held = held.clone();
            actix::spawn(async move { held.tell(Item(2)).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        release.send(()).unwrap();
        blocked.await.unwrap().unwrap();
        assert!(held.stats().sender_blocked > std::time::Duration::ZERO);
        assert!(values("m-silent-blocked").is_empty());
    })
    .await;
}

/// Series count and depth sum per `instance` label value, for `actor`'s depth gauge.
fn depth_by_instance(actor: &str) -> HashMap<String, f64> {
    refresh();
    let mut out = HashMap::new();
    for (key, _, _, value) in snapshotter().snapshot().into_vec() {
        let key = key.key();
        if key.name() != names::MAILBOX_DEPTH {
            continue;
        }
        let labels: HashMap<_, _> = key.labels().map(|l| (l.key(), l.value())).collect();
        if labels.get("actor") != Some(&actor) {
            continue;
        }
        if let (Some(instance), DebugValue::Gauge(x)) = (labels.get("instance"), value) {
            out.insert((*instance).to_owned(), x.into_inner());
        }
    }
    out
}

#[actix_rt::test]
async fn mailboxes_sharing_a_name_add_up_and_a_stopped_one_keeps_its_counts() {
    within(async {
        snapshotter();
        let config = || MailboxConfig::new(8).name("m-shared");
        let (first, _, release_first) = held_recorder(config()).await;
        let (second, _, release_second) = held_recorder(config()).await;
        for n in 0..3 {
            first.try_send(Item(n)).unwrap();
        }
        second.try_send(Item(9)).unwrap();
        let v = values("m-shared");
        assert_eq!(v[names::MAILBOX_DEPTH], 4.0);
        assert_eq!(v[names::MAILBOX_CAPACITY], 16.0);
        assert_eq!(
            v[names::MAILBOX_ENQUEUED_TOTAL],
            6.0,
            "two holds and four items"
        );
        // The first one stops for good: its counts stay, its depth leaves.
        release_first.send(()).unwrap();
        until(|| first.stats().handled == 4).await;
        drop(first);
        let v = values("m-shared");
        assert_eq!(
            v[names::MAILBOX_ENQUEUED_TOTAL],
            6.0,
            "counters never go down"
        );
        assert_eq!(v[names::MAILBOX_HANDLED_TOTAL], 5.0);
        assert_eq!(v[names::MAILBOX_DEPTH], 1.0);
        release_second.send(()).unwrap();
        until(|| second.is_empty()).await;
        assert_eq!(values("m-shared")[names::MAILBOX_DEPTH], 0.0);
    })
    .await;
}

#[actix_rt::test]
async fn instance_labels_are_opt_in_and_capped() {
    within(async {
        snapshotter();
        let max = actix_backpressure::metrics::MAX_INSTANCES;
        let mut held = Vec::new();
        for i in 0..max + 3 {
            let config = MailboxConfig::new(4)
                .name("m-instances")
                .metrics_instance(&format!("w{i}"));
            let (addr, _, release) = held_recorder(config).await;
            addr.try_send(Item(1)).unwrap();
            held.push((addr, release));
        }
        let depths = depth_by_instance("m-instances");
        assert_eq!(depths.len(), max + 1, "{max} instances and `_other`");
        assert_eq!(depths["w0"], 1.0);
        assert_eq!(depths[actix_backpressure::metrics::OTHER_INSTANCE], 3.0);
        for (_, release) in held {
            let _ = release.send(());
        }
    })
    .await;
}

#[actix_rt::test]
async fn a_live_policy_change_moves_the_series_without_double_counting() {
    within(async {
        snapshotter();
        let (actor, _) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(8).name("m-relabel"));
        for n in 0..10 {
            addr.send(Item(n)).await.unwrap();
        }
        refresh();
        addr.set_policy(OverflowPolicy::Reject);
        for n in 0..5 {
            addr.send(Item(n)).await.unwrap();
        }
        refresh();
        let mut by_policy = HashMap::new();
        for (key, _, _, value) in snapshotter().snapshot().into_vec() {
            let key = key.key();
            let labels: HashMap<_, _> = key.labels().map(|l| (l.key(), l.value())).collect();
            if key.name() == names::MAILBOX_ENQUEUED_TOTAL
                && labels.get("actor") == Some(&"m-relabel")
            {
                if let DebugValue::Counter(n) = value {
                    by_policy.insert(labels["policy"].to_owned(), n);
                }
            }
        }
        assert_eq!(by_policy["block"], 10, "{by_policy:?}");
        assert_eq!(by_policy["reject"], 5, "{by_policy:?}");
        assert_eq!(by_policy.values().sum::<u64>(), addr.stats().enqueued);
    })
    .await;
}

#[actix_rt::test]
async fn a_mailbox_gone_before_any_refresh_still_counts() {
    within(async {
        snapshotter();
        let (actor, _) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(8).name("m-brief"));
        for n in 0..7 {
            addr.send(Item(n)).await.unwrap();
        }
        let stats = addr.stats();
        drop(addr);
        // Let the actor stop and the mailbox go.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let v = values("m-brief");
        assert_eq!(v[names::MAILBOX_HANDLED_TOTAL], stats.handled as f64);
        assert_eq!(v[names::MAILBOX_DEPTH], 0.0);
    })
    .await;
}
