//! What the source tests share: a real `nats-server` per test, a stream of numbered messages,
//! a slow actor that records what it handled, and real-time limits on everything.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_backpressure_nats::async_nats::jetstream::{self, stream};
use actix_backpressure_nats::async_nats::{self, HeaderMap};
use actix_backpressure_nats::server::NatsServer;
use actix_backpressure_nats::{HandlerError, JetStreamMessage, MSG_ID_HEADER};

/// The stream every test reads, on subjects `jobs.<n>`.
pub const STREAM: &str = "JOBS";

/// Starts a `nats-server` for one test; fails the test with the reason (for instance, how to
/// install the binary) if it cannot.
pub fn server() -> NatsServer {
    match NatsServer::start() {
        Ok(server) => server,
        Err(err) => panic!("these tests need a real nats-server: {err}"),
    }
}

/// Runs `body` in an actix `System` on a thread of its own and returns its output; fails if
/// it takes longer than `limit` of real time (a hang is a failure).
pub fn in_system<F, Fut, T>(limit: Duration, body: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T> + 'static,
    T: Send + 'static,
{
    let (done, finished) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let out = System::new().block_on(body());
        let _ = done.send(out);
    });
    match finished.recv_timeout(limit) {
        Ok(out) => {
            thread.join().unwrap();
            out
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the body returned without an output"),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("test exceeded {limit:?} of real time")
        }
    }
}

/// Waits until `cond` holds, looking every 10 ms; fails with `what` after `limit`.
pub async fn eventually(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Creates the stream [`STREAM`] (file storage) and publishes `n` messages on `jobs.<i>`,
/// payload `i`, message id `job-<i>`, `i` from 1; waits for the server to confirm each.
pub async fn publish(url: &str, n: u64) {
    let client = async_nats::connect(url).await.expect("connect to publish");
    let js = jetstream::new(client.clone());
    js.get_or_create_stream(stream::Config {
        name: STREAM.to_owned(),
        subjects: vec!["jobs.>".to_owned()],
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .expect("create the stream");
    publish_more(&js, 1..=n).await;
    client.flush().await.unwrap();
}

/// Publishes the messages numbered `range` to the existing stream.
pub async fn publish_more(js: &jetstream::Context, range: std::ops::RangeInclusive<u64>) {
    let mut confirmations = Vec::new();
    for i in range {
        let mut headers = HeaderMap::new();
        headers.insert(MSG_ID_HEADER, format!("job-{i}").as_str());
        confirmations.push(
            js.publish_with_headers(format!("jobs.{i}"), headers, i.to_string().into())
                .await
                .expect("publish"),
        );
    }
    for confirmation in confirmations {
        confirmation.await.expect("the server stored the message");
    }
}

/// The durable consumer's `(num_pending, num_ack_pending)` on the server.
pub async fn consumer_state(url: &str, durable: &str) -> (u64, usize) {
    let client = async_nats::connect(url).await.expect("connect");
    let js = jetstream::new(client);
    let stream = js.get_stream(STREAM).await.expect("stream");
    let info = stream.consumer_info(durable).await.expect("consumer info");
    (info.num_pending, info.num_ack_pending)
}

/// Waits until the consumer has nothing pending and nothing unacked.
pub async fn until_consumer_settled(url: &str, durable: &str, limit: Duration) {
    let start = Instant::now();
    loop {
        let state = consumer_state(url, durable).await;
        if state == (0, 0) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "the consumer still has (pending, unacked) = {state:?} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a test actor handled: `(stream sequence, delivery count)`, in order.
pub type Handled = Arc<Mutex<Vec<(u64, u64)>>>;

/// Counts of each sequence handled.
pub fn counts(handled: &Handled) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for (seq, _) in handled.lock().unwrap().iter() {
        *counts.entry(*seq).or_insert(0) += 1;
    }
    counts
}

/// Takes `delay` per message, one at a time, then records it and answers `Ok(())`.
pub struct Slow {
    pub delay: Duration,
    pub handled: Handled,
}

impl Slow {
    pub fn new(delay: Duration) -> (Self, Handled) {
        let handled = Handled::default();
        (
            Slow {
                delay,
                handled: Arc::clone(&handled),
            },
            handled,
        )
    }
}

impl Actor for Slow {
    type Context = Context<Self>;
}

impl Handler<JetStreamMessage> for Slow {
    type Result = AtomicResponse<Self, Result<(), HandlerError>>;

    fn handle(&mut self, msg: JetStreamMessage, _: &mut Context<Self>) -> Self::Result {
        let delay = self.delay;
        let handled = Arc::clone(&self.handled);
        AtomicResponse::new(Box::pin(
            async move {
                tokio::time::sleep(delay).await;
                handled
                    .lock()
                    .unwrap()
                    .push((msg.stream_sequence(), msg.delivered()));
                Ok(())
            }
            .into_actor(self),
        ))
    }
}
