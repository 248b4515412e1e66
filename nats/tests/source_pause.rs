//! A paused source: no pull request, held messages kept alive past `ack_wait` by progress
//! acks, gauges refreshed from the server all along; and everything handled after the resume.

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use actix_backpressure_mailbox::{BoundedActorExt, MailboxConfig};
use actix_backpressure_nats::metrics::{UPSTREAM_IN_FLIGHT, UPSTREAM_LAG_MESSAGES};
use actix_backpressure_nats::{JetStreamSource, SourceConfig};
use common::{consumer_state, counts, eventually, in_system, publish, server, Slow};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

const N: u64 = 100;
const ACK_WAIT: Duration = Duration::from_secs(1);

/// The global recorder of this test binary, installed once.
fn snapshotter() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("no other recorder in this binary");
        snapshotter
    })
}

/// The gauges labelled `source`, by name, from one snapshot (a snapshot resets the values it
/// reads: take one, after a refresh).
fn recorded_gauges(source: &str) -> HashMap<String, f64> {
    snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let key = key.key();
            let labelled = key
                .labels()
                .any(|label| label.key() == "source" && label.value() == source);
            match value {
                DebugValue::Gauge(v) if labelled => Some((key.name().to_owned(), v.into_inner())),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn a_paused_source_pulls_nothing_keeps_its_messages_alive_and_its_gauges_fresh() {
    snapshotter();
    let server = server();
    let url = server.url();
    in_system(Duration::from_secs(60), move || async move {
        publish(&url, N).await;
        let (actor, handled) = Slow::new(Duration::ZERO);
        // The actor's mailbox is paused: 4 messages queue, 6 more wait for room.
        let addr = actor.start_bounded(MailboxConfig::new(4).name("paused-actor"));
        addr.pause();
        let config = SourceConfig::new(common::STREAM, "pausing")
            .batch(10)
            .max_in_flight(10)
            .ack_wait(ACK_WAIT)
            .progress_after(0.3)
            .expires(Duration::from_millis(200))
            .gauge_interval(Duration::from_millis(50));
        let source = JetStreamSource::connect(&url, config)
            .await
            .unwrap()
            .start(addr.clone());
        eventually(Duration::from_secs(10), "10 messages pulled", || {
            source.stats().pulled == 10
        })
        .await;
        assert!(source.pause());
        assert!(!source.pause(), "pausing twice changes nothing");
        // The pull request outstanding at the pause ends within its expiry.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let before = source.stats();
        let refreshes = source.consumer_gauges().refreshes;

        // Paused for 2.5 x ack_wait.
        tokio::time::sleep(ACK_WAIT * 5 / 2).await;
        let after = source.stats();
        let gauges = source.consumer_gauges();
        eprintln!("paused 2.5 s: before {before:?}, after {after:?}, gauges {gauges:?}");
        assert_eq!(after.pulls, before.pulls, "no pull request while paused");
        assert_eq!(after.pulled, 10, "nothing more pulled while paused");
        assert!(
            after.progress_acks >= 10,
            "each held message got progress acks ({})",
            after.progress_acks
        );
        assert!(
            gauges.refreshes >= refreshes + 10,
            "the gauges were refreshed while paused ({refreshes} -> {})",
            gauges.refreshes
        );
        assert_eq!((gauges.lag, gauges.in_flight), (N - 10, 10));
        let metrics = recorded_gauges("pausing");
        assert_eq!(metrics.get(UPSTREAM_LAG_MESSAGES), Some(&((N - 10) as f64)));
        assert_eq!(metrics.get(UPSTREAM_IN_FLIGHT), Some(&10.0));
        // The server did not deliver the held messages again: still 10 unacked, none
        // redelivered.
        assert_eq!(consumer_state(&url, "pausing").await, (N - 10, 10));
        assert!(handled.lock().unwrap().is_empty());

        assert!(source.resume());
        addr.resume();
        eventually(Duration::from_secs(20), "every message handled", || {
            counts(&handled).len() as u64 == N
        })
        .await;
        source.stop();
        let stats = tokio::time::timeout(Duration::from_secs(10), source.stopped())
            .await
            .expect("the source stops");
        eprintln!("after the resume: {stats:?}");
        assert_eq!(stats.acked, N);
        assert_eq!(
            stats.redelivered, 0,
            "no message came back: progress acks kept them"
        );
        assert!(counts(&handled).values().all(|&c| c == 1));
        assert_eq!(consumer_state(&url, "pausing").await, (0, 0));
        assert_eq!(stats.pauses, 1);
    });
    drop(server);
}

#[test]
fn messages_arriving_after_a_pause_wait_for_the_resume() {
    let server = server();
    let url = server.url();
    in_system(Duration::from_secs(60), move || async move {
        publish(&url, 0).await;
        let (actor, handled) = Slow::new(Duration::ZERO);
        let addr = actor.start_bounded(MailboxConfig::new(16).name("late"));
        // A long pull request, outstanding when the source is paused (long enough for a
        // loaded machine to publish within it).
        let config = SourceConfig::new(common::STREAM, "late")
            .batch(8)
            .max_in_flight(8)
            .expires(Duration::from_secs(10));
        let source = JetStreamSource::connect(&url, config)
            .await
            .unwrap()
            .start(addr.clone());
        eventually(Duration::from_secs(5), "a pull request", || {
            source.stats().pulls == 1
        })
        .await;
        source.pause();
        // Published while paused: the outstanding request delivers them, the source holds them.
        let client = actix_backpressure_nats::async_nats::connect(&url)
            .await
            .unwrap();
        let js = actix_backpressure_nats::async_nats::jetstream::new(client);
        common::publish_more(&js, 1..=5).await;
        eventually(Duration::from_secs(5), "5 messages pulled", || {
            source.stats().pulled == 5
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            handled.lock().unwrap().is_empty(),
            "held, not delivered, while paused"
        );
        assert_eq!(source.stats().pulls, 1);
        source.resume();
        eventually(
            Duration::from_secs(5),
            "the 5 handled after the resume",
            || counts(&handled).len() == 5,
        )
        .await;
        source.stop();
        let stats = source.stopped().await;
        assert_eq!((stats.acked, stats.redelivered), (5, 0));
    });
    drop(server);
}

#[test]
fn a_paused_source_with_room_makes_no_pull_request() {
    let server = server();
    let url = server.url();
    in_system(Duration::from_secs(60), move || async move {
        publish(&url, 0).await;
        let (actor, _handled) = Slow::new(Duration::ZERO);
        let addr = actor.start_bounded(MailboxConfig::new(16).name("room"));
        // Room for 32, short pull requests: only the pause keeps it from pulling again.
        let config = SourceConfig::new(common::STREAM, "room")
            .batch(8)
            .max_in_flight(32)
            .expires(Duration::from_millis(200));
        let source = JetStreamSource::connect(&url, config)
            .await
            .unwrap()
            .start(addr.clone());
        eventually(Duration::from_secs(5), "a pull request", || {
            source.stats().pulls >= 1
        })
        .await;
        source.pause();
        // The request outstanding at the pause ends within its expiry.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = source.stats().pulls;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            source.stats().pulls,
            before,
            "no pull request while paused, with room and 7 expiries gone by"
        );
        source.resume();
        eventually(
            Duration::from_secs(5),
            "pulling again after the resume",
            || source.stats().pulls > before,
        )
        .await;
        source.stop();
        tokio::time::timeout(Duration::from_secs(10), source.stopped())
            .await
            .expect("the source stops");
    });
    drop(server);
}
