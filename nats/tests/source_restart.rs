//! `nats-server` killed (`SIGKILL`) and restarted on the same store mid-run: the source
//! reconnects, pulls again, and no message is lost.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::System;
use actix_backpressure_mailbox::{BoundedActorExt, MailboxConfig};
use actix_backpressure_nats::{JetStreamSource, SourceConfig, SourceStats};
use common::{consumer_state, counts, publish, server, Slow};

const N: u64 = 400;

#[test]
fn a_server_killed_and_restarted_mid_run_loses_nothing() {
    let mut server = server();
    let url = server.url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(publish(&url, N));

    // The consumer runs in an actix System of its own; this thread plays the operator.
    let (actor, handled) = Slow::new(Duration::from_millis(3));
    let done = Arc::new(AtomicBool::new(false));
    let (stats_tx, stats_rx) = std::sync::mpsc::channel::<SourceStats>();
    let consumer = std::thread::spawn({
        let url = url.clone();
        let done = Arc::clone(&done);
        move || {
            System::new().block_on(async move {
                let addr = actor.start_bounded(MailboxConfig::new(8).name("restart"));
                let config = SourceConfig::new(common::STREAM, "survivor")
                    .batch(16)
                    .max_in_flight(32)
                    .ack_wait(Duration::from_secs(2))
                    .expires(Duration::from_millis(300));
                let source = JetStreamSource::connect(&url, config)
                    .await
                    .unwrap()
                    .start(addr);
                while !done.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                source.stop();
                let stats = tokio::time::timeout(Duration::from_secs(15), source.stopped())
                    .await
                    .expect("the source stops");
                let _ = stats_tx.send(stats);
            });
        }
    });
    let stop_consumer = || {
        done.store(true, Ordering::SeqCst);
    };

    let started = Instant::now();
    let wait = |what: &str, limit: Duration, cond: &mut dyn FnMut() -> bool| {
        let start = Instant::now();
        while !cond() {
            if start.elapsed() > limit {
                stop_consumer();
                panic!("timed out after {limit:?} waiting for {what}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait("100 handled", Duration::from_secs(20), &mut || {
        counts(&handled).len() >= 100
    });
    server.kill().unwrap();
    let at_kill = counts(&handled).len();
    let killed = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    server.restart().unwrap_or_else(|err| {
        stop_consumer();
        panic!("restart: {err}")
    });
    let down = killed.elapsed();
    wait(
        "every message handled",
        Duration::from_secs(40),
        &mut || counts(&handled).len() as u64 == N,
    );
    let recovered = killed.elapsed();
    wait("the consumer settled", Duration::from_secs(20), &mut || {
        rt.block_on(consumer_state(&url, "survivor")) == (0, 0)
    });
    stop_consumer();
    let stats = stats_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the consumer's final stats");
    consumer.join().unwrap();

    let counts = counts(&handled);
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    eprintln!(
        "{N} published; {at_kill} handled when the server was killed; down {down:?}; \
         all handled {recovered:?} after the kill ({:?} in all); {duplicates} handled twice; {stats:?}",
        started.elapsed()
    );
    assert_eq!(
        counts.keys().copied().collect::<Vec<_>>(),
        (1..=N).collect::<Vec<_>>(),
        "nothing lost"
    );
    assert!(stats.reconnects >= 1, "the client reconnected");
    assert_eq!(stats.pulled, stats.settled());
    drop(server);
}
