//! Clear errors instead of panics or hangs: bad URLs, an unreachable server, a missing stream,
//! a consumer with other settings; and what a handler's failure, or a stopped actor, does.

mod common;

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_backpressure_mailbox::{BoundedActorExt, MailboxConfig};
use actix_backpressure_nats::async_nats::jetstream::{self, consumer, stream};
use actix_backpressure_nats::{
    HandlerError, JetStreamMessage, JetStreamSource, SourceConfig, SourceError,
};
use common::{consumer_state, eventually, in_system, publish, server, Handled, Slow};

const LIMIT: Duration = Duration::from_secs(60);

async fn connect_err(url: &str, config: SourceConfig) -> SourceError {
    let started = Instant::now();
    let err = tokio::time::timeout(
        Duration::from_secs(15),
        JetStreamSource::connect(url, config),
    )
    .await
    .expect("connect gives up by itself")
    .expect_err("connect must fail");
    eprintln!("{url}: {err} (after {:?})", started.elapsed());
    err
}

#[test]
fn bad_urls_and_an_absent_server_are_clear_errors() {
    in_system(LIMIT, || async {
        let config = || SourceConfig::new("S", "d");
        for url in ["nats://127.0.0.1:notaport", "nats://[::1"] {
            let err = connect_err(url, config()).await;
            assert!(
                matches!(&err, SourceError::InvalidUrl { url: u, .. } if u == url),
                "{err:?}"
            );
            assert!(err
                .to_string()
                .starts_with(&format!("invalid NATS server URL `{url}`")));
        }
        // A port nobody listens on.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("nats://127.0.0.1:{port}");
        let err = connect_err(&url, config()).await;
        assert!(matches!(err, SourceError::Connect { .. }), "{err:?}");
        assert!(err
            .to_string()
            .starts_with(&format!("cannot connect to the NATS server at `{url}`")));
        // An invalid configuration is refused before any connection.
        let err = connect_err(&url, config().batch(0)).await;
        assert_eq!(
            err.to_string(),
            "invalid source configuration: `batch` must be at least 1, got 0"
        );
    });
}

#[test]
fn a_missing_stream_is_an_error_unless_the_source_creates_it() {
    let server = server();
    let url = server.url();
    in_system(LIMIT, move || async move {
        let err = connect_err(&url, SourceConfig::new("NOPE", "d")).await;
        assert_eq!(
            err,
            SourceError::StreamNotFound {
                stream: "NOPE".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "stream `NOPE` not found: create it, or configure the source to (SourceConfig::create_stream)"
        );
        let config = SourceConfig::new("MADE", "d").create_stream(stream::Config {
            subjects: vec!["made.>".into()],
            ..Default::default()
        });
        let source = JetStreamSource::connect(&url, config)
            .await
            .expect("created");
        let js = jetstream::new(source.client().clone());
        let info = js.get_stream("MADE").await.unwrap().cached_info().clone();
        assert_eq!(info.config.subjects, vec!["made.>".to_owned()]);
    });
    drop(server);
}

#[test]
fn a_consumer_with_other_settings_is_refused_with_each_difference() {
    let server = server();
    let url = server.url();
    in_system(LIMIT, move || async move {
        publish(&url, 1).await;
        let base = || SourceConfig::new(common::STREAM, "shared").filter_subject("jobs.>");
        // The first process creates the consumer; the same settings bind to it again.
        JetStreamSource::connect(&url, base()).await.unwrap();
        JetStreamSource::connect(&url, base()).await.unwrap();

        let err = connect_err(
            &url,
            base()
                .ack_wait(Duration::from_secs(5))
                .max_ack_pending(10)
                .filter_subject("jobs.1"),
        )
        .await;
        let SourceError::ConsumerMismatch { mismatches, .. } = &err else {
            panic!("{err:?}");
        };
        let settings: Vec<_> = mismatches.iter().map(|m| m.setting).collect();
        assert_eq!(settings, ["ack_wait", "max_ack_pending", "filter_subject"]);
        assert_eq!(
            err.to_string(),
            "durable consumer `shared` on stream `JOBS` exists with other settings: \
             ack_wait is 30s on the server, 5s here; max_ack_pending is 1000 on the server, 10 here; \
             filter_subject is `jobs.>` on the server, `jobs.1` here; change the source's \
             configuration, or delete the consumer (every process sharing it must agree)"
        );
        // The consumer was left as it was.
        let js = jetstream::new(async_nats_client(&url).await);
        let info = js
            .get_stream(common::STREAM)
            .await
            .unwrap()
            .consumer_info("shared")
            .await
            .unwrap();
        assert_eq!(info.config.ack_wait, Duration::from_secs(30));

        // A push consumer of that name is not a pull consumer.
        js.get_stream(common::STREAM)
            .await
            .unwrap()
            .create_consumer(consumer::push::Config {
                durable_name: Some("pushed".into()),
                deliver_subject: "deliver.here".into(),
                ack_policy: consumer::AckPolicy::Explicit,
                ..Default::default()
            })
            .await
            .unwrap();
        let err = connect_err(&url, SourceConfig::new(common::STREAM, "pushed")).await;
        assert!(
            err.to_string().contains(
                "delivery is push (deliver_subject `deliver.here`) on the server, pull here"
            ),
            "{err}"
        );
    });
    drop(server);
}

async fn async_nats_client(url: &str) -> actix_backpressure_nats::async_nats::Client {
    actix_backpressure_nats::async_nats::connect(url)
        .await
        .unwrap()
}

/// Fails each message's first delivery (asking for a retry after 50 ms); terminates message 3.
struct Flaky {
    handled: Handled,
}

impl Actor for Flaky {
    type Context = Context<Self>;
}

impl Handler<JetStreamMessage> for Flaky {
    type Result = Result<(), HandlerError>;

    fn handle(&mut self, msg: JetStreamMessage, _: &mut Context<Self>) -> Self::Result {
        self.handled
            .lock()
            .unwrap()
            .push((msg.stream_sequence(), msg.delivered()));
        if msg.stream_sequence() == 3 {
            Err(HandlerError::terminate("poison"))
        } else if msg.delivered() == 1 {
            Err(HandlerError::retry_after(
                "not yet",
                Duration::from_millis(50),
            ))
        } else {
            Ok(())
        }
    }
}

#[test]
fn a_failed_message_comes_back_with_its_delivery_count_and_a_terminated_one_does_not() {
    const N: u64 = 20;
    let server = server();
    let url = server.url();
    in_system(LIMIT, move || async move {
        publish(&url, N).await;
        let handled = Handled::default();
        let addr = Flaky {
            handled: Arc::clone(&handled),
        }
        .start_bounded(MailboxConfig::new(8));
        let config = SourceConfig::new(common::STREAM, "flaky")
            .batch(8)
            .max_in_flight(8);
        let source = JetStreamSource::connect(&url, config)
            .await
            .unwrap()
            .start(addr);
        eventually(Duration::from_secs(20), "every message handled", || {
            source.stats().acked == N - 1
        })
        .await;
        // Long enough for a terminated message to come back, if it did.
        tokio::time::sleep(Duration::from_millis(300)).await;
        source.stop();
        let stats = source.stopped().await;
        eprintln!("{stats:?}");
        let handled = handled.lock().unwrap().clone();
        for seq in (1..=N).filter(|&s| s != 3) {
            let deliveries: Vec<u64> = handled
                .iter()
                .filter(|(s, _)| *s == seq)
                .map(|(_, d)| *d)
                .collect();
            assert_eq!(
                deliveries,
                [1, 2],
                "message {seq}: failed once, then handled"
            );
        }
        let poison: Vec<_> = handled.iter().filter(|(s, _)| *s == 3).collect();
        assert_eq!(poison, [&(3, 1)], "terminated: never delivered again");
        assert_eq!(
            (
                stats.acked,
                stats.retried,
                stats.terminated,
                stats.redelivered
            ),
            (N - 1, N - 1, 1, N - 1)
        );
        assert_eq!(stats.pulled, stats.settled());
        assert_eq!(consumer_state(&url, "flaky").await, (0, 0));
    });
    drop(server);
}

/// Handles `stop_after` messages, then stops itself.
struct Quitter {
    handled: Arc<AtomicU64>,
    stop_after: u64,
}

impl Actor for Quitter {
    type Context = Context<Self>;
}

impl Handler<JetStreamMessage> for Quitter {
    type Result = Result<(), HandlerError>;

    fn handle(&mut self, _: JetStreamMessage, ctx: &mut Context<Self>) -> Self::Result {
        if self.handled.fetch_add(1, Ordering::SeqCst) + 1 == self.stop_after {
            ctx.stop();
        }
        Ok(())
    }
}

#[test]
fn a_stopped_actor_stops_its_source_and_the_rest_goes_to_the_next_consumer() {
    const N: u64 = 50;
    let server = server();
    let url = server.url();
    in_system(LIMIT, move || async move {
        publish(&url, N).await;
        let handled = Arc::new(AtomicU64::new(0));
        let addr = Quitter {
            handled: Arc::clone(&handled),
            stop_after: 5,
        }
        .start_bounded(MailboxConfig::new(4));
        let config = SourceConfig::new(common::STREAM, "quit")
            .batch(8)
            .max_in_flight(8)
            .refused_delay(Duration::from_millis(10));
        let source = JetStreamSource::connect(&url, config.clone())
            .await
            .unwrap()
            .start(addr.clone());
        drop(addr);
        let stats = tokio::time::timeout(Duration::from_secs(10), source.stopped())
            .await
            .expect("the source stops once its actor is gone");
        eprintln!("first source: {stats:?}");
        assert_eq!(stats.acked, 5, "acked exactly what was handled");
        assert_eq!(stats.pulled, stats.settled(), "the rest nak'ed, none acked");
        assert_eq!(handled.load(Ordering::SeqCst), 5);

        // The next consumer gets everything else: nothing was lost.
        let (actor, rest) = Slow::new(Duration::ZERO);
        let next = JetStreamSource::connect(&url, config)
            .await
            .unwrap()
            .start(actor.start_bounded(MailboxConfig::new(16)));
        eventually(Duration::from_secs(10), "the other 45 handled", || {
            common::counts(&rest).len() as u64 == N - 5
        })
        .await;
        next.stop();
        next.stopped().await;
        assert_eq!(consumer_state(&url, "quit").await, (0, 0));
    });
    drop(server);
}

/// Panics the first time it is given stream sequence 3; handles everything else.
struct PanicsOnce {
    panicked: std::sync::atomic::AtomicBool,
    handled: AtomicU64,
}

#[actix_backpressure_nats::async_trait]
impl actix_backpressure_nats::Feed for PanicsOnce {
    async fn feed(
        &self,
        msg: actix_backpressure_nats::JetStreamMessage,
    ) -> actix_backpressure_nats::Delivery {
        if msg.stream_sequence() == 3 && !self.panicked.swap(true, Ordering::SeqCst) {
            panic!("a feed panicked (on purpose, in a test)");
        }
        self.handled.fetch_add(1, Ordering::SeqCst);
        actix_backpressure_nats::Delivery::Handled
    }
}

#[test]
fn a_feed_that_panics_neither_stops_the_source_nor_loses_the_message() {
    let server = server();
    let url = server.url();
    in_system(Duration::from_secs(60), move || async move {
        publish(&url, 10).await;
        let feed = Arc::new(PanicsOnce {
            panicked: Default::default(),
            handled: AtomicU64::new(0),
        });
        let config =
            SourceConfig::new(common::STREAM, "panicky").refused_delay(Duration::from_millis(50));
        let source = JetStreamSource::connect(&url, config)
            .await
            .unwrap()
            .start(Arc::clone(&feed));
        eventually(Duration::from_secs(20), "all 10 acked", || {
            source.stats().acked == 10
        })
        .await;
        let stats = source.stats();
        assert_eq!(feed.handled.load(Ordering::SeqCst), 10);
        assert_eq!((stats.refused, stats.redelivered), (1, 1), "{stats:?}");
        assert!(!source.is_stopped());
        source.stop();
        source.stopped().await;
    });
    drop(server);
}
