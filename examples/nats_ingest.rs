//! A durable ingest pipeline: NATS JetStream in front of a slow actor, with the pressure
//! supervisor pausing the JetStream source while the actor's mailbox is saturated.
//!
//! A publisher task publishes [`DEFAULT_MESSAGES`] readings to the stream
//! `NATS_INGEST_EXAMPLE` (subjects `ingest.>`), as fast as the server confirms them. A
//! `JetStreamSource` reads the stream through the durable pull consumer `ingest-workers` and
//! delivers each message to the `Ingest` actor, which takes [`WORK`] per message behind a
//! bounded mailbox of [`CAPACITY`]. The source acks a message only once the actor has handled
//! it; the actor fails every 100th message the first time it sees it (nak'ed, it comes back
//! with its delivery count), and skips redeliveries it has already handled with a `Dedup`.
//!
//! A `PressureSupervisor` watches the mailbox and has the source as its upstream: while the
//! mailbox is saturated the source makes no pull request, and the backlog stays in the stream
//! (the `lag` column, JetStream's `num_pending`) instead of in memory.
//!
//! ```text
//! # against a server of your own (`nats-server -js`):
//! cargo run --features nats --example nats_ingest -- --url nats://127.0.0.1:4222
//! # or let the example run its own nats-server (Debian: apt-get install nats-server):
//! cargo run --features nats --example nats_ingest -- --local-server --messages 500
//! # the actor's mailbox under another overflow policy:
//! cargo run --features nats --example nats_ingest -- --local-server --policy reject
//! ```
//!
//! The example owns the stream `NATS_INGEST_EXAMPLE`: it deletes it at start if it exists.
//! Exit codes: 0 when every check passes, 1 when one fails (or the server cannot be reached),
//! 2 for a bad argument.

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use actix_backpressure::nats::async_nats::{self, jetstream, HeaderMap};
use actix_backpressure::nats::server::NatsServer;
use actix_backpressure::nats::{
    Dedup, HandlerError, JetStreamMessage, JetStreamSource, SourceConfig, SourceHandle,
    SourceStats, MSG_ID_HEADER,
};
use actix_backpressure::prelude::*;
use actix_backpressure::Action;
use tokio::time::{sleep, timeout, Instant};

/// The stream the example owns.
const STREAM: &str = "NATS_INGEST_EXAMPLE";
/// The durable consumer: every process started with this name shares the work.
const DURABLE: &str = "ingest-workers";
/// Messages published, unless `--messages` says otherwise.
const DEFAULT_MESSAGES: u64 = 2000;
/// Capacity of the actor's mailbox.
const CAPACITY: usize = 64;
/// Time the actor takes per message.
const WORK: Duration = Duration::from_millis(1);
/// Every this many messages, one fails the first time it reaches the handler.
const FAIL_EVERY: u64 = 100;
/// Time between two status lines.
const STATUS_EVERY: Duration = Duration::from_millis(500);
/// Time the run may take in all before it is declared hung.
const RUN_LIMIT: Duration = Duration::from_secs(90);

const USAGE: &str = "usage: nats_ingest [--url URL | --local-server] [--messages N] \
                     [--policy block|drop_newest|drop_oldest|reject]";

/// Handles readings: adds them up, once each.
struct Ingest {
    dedup: Dedup,
    /// The messages failed once already.
    failed_once: HashSet<u64>,
    tally: Arc<Tally>,
}

/// What the actor did, read by the status lines and the checks.
#[derive(Default)]
struct Tally {
    handled: AtomicU64,
    failed: AtomicU64,
    sum: AtomicU64,
    /// Sequences handled, to check that each was handled once.
    seen: Mutex<Vec<u64>>,
}

impl Actor for Ingest {
    type Context = Context<Self>;
}

impl Handler<JetStreamMessage> for Ingest {
    // Atomic: the context waits for the work before it takes the next message, so messages
    // wait in the bounded mailbox, where the supervisor sees them.
    type Result = AtomicResponse<Self, Result<(), HandlerError>>;

    fn handle(&mut self, msg: JetStreamMessage, _: &mut Context<Self>) -> Self::Result {
        let tally = Arc::clone(&self.tally);
        let seq = msg.stream_sequence();
        let result = if seq % FAIL_EVERY == 0 && self.failed_once.insert(seq) {
            tally.failed.fetch_add(1, Relaxed);
            Err(HandlerError::retry_after(
                "failed once, for the demo",
                Duration::from_millis(100),
            ))
        } else {
            // A redelivery of a message handled already (its ack was lost) is skipped.
            self.dedup
                .handle_once(&msg, |msg| {
                    let value: u64 = std::str::from_utf8(msg.payload())
                        .ok()
                        .and_then(|text| text.parse().ok())
                        .ok_or_else(|| HandlerError::terminate("not a number"))?;
                    tally.sum.fetch_add(value, Relaxed);
                    tally.handled.fetch_add(1, Relaxed);
                    tally.seen.lock().unwrap().push(msg.stream_sequence());
                    Ok(())
                })
                .map(|_| ())
        };
        AtomicResponse::new(Box::pin(
            async move {
                sleep(WORK).await;
                result
            }
            .into_actor(self),
        ))
    }
}

/// The command line.
struct Args {
    url: Option<String>,
    messages: u64,
    policy: OverflowPolicy,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        url: Some("nats://127.0.0.1:4222".to_owned()),
        messages: DEFAULT_MESSAGES,
        policy: OverflowPolicy::Block,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--url" => args.url = Some(value("--url")?),
            "--local-server" => args.url = None,
            "--messages" => {
                args.messages = value("--messages")?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--messages needs a positive number")?;
            }
            "--policy" => {
                let policy = value("--policy")?;
                args.policy = policy.parse().map_err(|err| format!("--policy: {err}"))?;
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Some(args))
}

/// Deletes the example's stream if it exists, and creates it.
async fn fresh_stream(js: &jetstream::Context) -> Result<(), String> {
    let _ = js.delete_stream(STREAM).await;
    js.create_stream(jetstream::stream::Config {
        name: STREAM.to_owned(),
        subjects: vec!["ingest.>".to_owned()],
        ..Default::default()
    })
    .await
    .map_err(|err| format!("cannot create stream {STREAM}: {err}"))?;
    Ok(())
}

/// Publishes readings 1..=n, each confirmed by the server.
async fn publish(js: jetstream::Context, n: u64, published: Arc<AtomicU64>) -> Result<(), String> {
    for i in 1..=n {
        let mut headers = HeaderMap::new();
        headers.insert(MSG_ID_HEADER, format!("reading-{i}").as_str());
        let ack = js
            .publish_with_headers(
                format!("ingest.sensor.{}", i % 4),
                headers,
                i.to_string().into(),
            )
            .await
            .map_err(|err| format!("publish: {err}"))?;
        ack.await.map_err(|err| format!("publish: {err}"))?;
        published.fetch_add(1, Relaxed);
    }
    Ok(())
}

/// What a run left behind.
struct Outcome {
    messages: u64,
    published: u64,
    handled: u64,
    failed: u64,
    sum: u64,
    handled_twice: usize,
    skipped: u64,
    stats: SourceStats,
    pauses: u64,
    resumes: u64,
    elapsed: Duration,
    finished: bool,
}

impl Outcome {
    fn print(&self) {
        let s = &self.stats;
        println!();
        println!("summary, {:.1} s:", self.elapsed.as_secs_f64());
        println!("  published {}", self.published);
        println!(
            "  handled   {} (sum {}), {} redeliveries skipped by the Dedup",
            self.handled, self.sum, self.skipped
        );
        println!(
            "  source: pulled {}, acked {}, retried {} (handler failures), refused {} (full \
             mailbox), {} redelivered, {} progress acks, {} pull requests",
            s.pulled, s.acked, s.retried, s.refused, s.redelivered, s.progress_acks, s.pulls
        );
        println!(
            "  the supervisor paused the source {} time(s), resumed it {} time(s)",
            self.pauses, self.resumes
        );
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let n = self.messages;
        if !self.finished {
            problems.push(format!(
                "the run did not finish within {} s",
                RUN_LIMIT.as_secs()
            ));
        }
        if self.published != n {
            problems.push(format!("published {} messages, not {n}", self.published));
        }
        if self.handled != n || self.sum != n * (n + 1) / 2 {
            problems.push(format!(
                "handled {} messages summing to {}, not {n} summing to {}",
                self.handled,
                self.sum,
                n * (n + 1) / 2
            ));
        }
        if self.handled_twice != 0 {
            problems.push(format!("{} messages handled twice", self.handled_twice));
        }
        if self.failed != n / FAIL_EVERY {
            problems.push(format!(
                "{} messages failed once, not {}",
                self.failed,
                n / FAIL_EVERY
            ));
        }
        let s = &self.stats;
        if s.pulled != s.settled() {
            problems.push(format!(
                "messages unaccounted for: pulled {}, settled {}",
                s.pulled,
                s.settled()
            ));
        }
        if s.acked != n + self.skipped {
            problems.push(format!(
                "acked {}, not the {n} handled plus the {} skipped",
                s.acked, self.skipped
            ));
        }
        problems
    }
}

/// Prints one status line.
fn status(
    start: Instant,
    tally: &Tally,
    published: &AtomicU64,
    ingest: &BoundedAddr<Ingest>,
    source: &SourceHandle,
) {
    let server = source.consumer_gauges();
    println!(
        "{:6.3} s  published {:>5}  handled {:>5}  lag {:>5}  unacked {:>4}  mailbox {:>2}/{CAPACITY}  source {}",
        start.elapsed().as_secs_f64(),
        published.load(Relaxed),
        tally.handled.load(Relaxed),
        server.lag,
        server.in_flight,
        ingest.len(),
        if source.is_paused() { "paused" } else { "running" },
    );
}

async fn run(url: String, messages: u64, policy: OverflowPolicy) -> Result<Outcome, String> {
    let start = Instant::now();
    let client = async_nats::connect(&url).await.map_err(|err| {
        format!("cannot connect to {url}: {err} (is `nats-server -js` running there?)")
    })?;
    let js = jetstream::new(client);
    fresh_stream(&js).await?;

    let tally = Arc::new(Tally::default());
    let ingest = Ingest {
        dedup: Dedup::by_stream_sequence(10_000),
        failed_once: HashSet::new(),
        tally: Arc::clone(&tally),
    }
    .start_bounded(MailboxConfig::new(CAPACITY).policy(policy).name("ingest"));
    let config = SourceConfig::new(STREAM, DURABLE)
        .name("ingest-source")
        .batch(32)
        .max_in_flight(128)
        .ack_wait(Duration::from_secs(10))
        .refused_delay(Duration::from_millis(50))
        .expires(Duration::from_millis(500))
        .gauge_interval(Duration::from_millis(250));
    let source = JetStreamSource::connect(&url, config)
        .await
        .map_err(|err| err.to_string())?
        .start(ingest.clone());

    let supervisor = PressureSupervisor::start();
    let pressure = PressurePolicy::new()
        .interval(Duration::from_millis(20))
        .high_watermark(0.75)
        .low_watermark(0.25)
        .saturated_after(Duration::from_millis(40))
        .recovered_after(Duration::from_millis(100));
    supervisor
        .watch(&ingest, pressure)
        .map_err(|err| err.to_string())?;
    supervisor
        .add_upstream(&ingest, source.clone())
        .map_err(|err| err.to_string())?;
    let mut decisions = supervisor.subscribe();
    let printer = actix::spawn(async move {
        let (mut pauses, mut resumes) = (0, 0);
        while let Some(decision) = decisions.recv().await {
            match decision.action {
                Action::Pause => pauses += 1,
                Action::Resume => resumes += 1,
                _ => {}
            }
            println!(
                "{:6.3} s  {decision}",
                decision.at.saturating_duration_since(start).as_secs_f64()
            );
        }
        (pauses, resumes)
    });

    let published = Arc::new(AtomicU64::new(0));
    let publisher = actix::spawn(publish(js, messages, Arc::clone(&published)));

    let mut next_status = start;
    let finished = loop {
        let now = Instant::now();
        let gauges = source.consumer_gauges();
        let done = tally.handled.load(Relaxed) == messages
            && published.load(Relaxed) == messages
            && source.stats().in_flight() == 0
            && gauges.lag == 0
            && gauges.in_flight == 0;
        if now >= next_status || done {
            status(start, &tally, &published, &ingest, &source);
            next_status += STATUS_EVERY;
        }
        if done {
            break true;
        }
        if publisher.is_finished() && published.load(Relaxed) != messages {
            break false;
        }
        if now - start >= RUN_LIMIT {
            break false;
        }
        sleep(Duration::from_millis(10)).await;
    };
    let elapsed = start.elapsed();
    if let Ok(Ok(Err(err))) = timeout(Duration::from_secs(1), publisher).await {
        eprintln!("nats_ingest: {err}");
    }
    source.stop();
    let stats = timeout(Duration::from_secs(15), source.stopped())
        .await
        .map_err(|_| "the source did not stop within 15 s".to_owned())?;
    supervisor.stop();
    let (pauses, resumes) = match timeout(Duration::from_secs(5), printer).await {
        Ok(Ok(counts)) => counts,
        _ => (0, 0),
    };
    let mut seen = tally.seen.lock().unwrap().clone();
    let total = seen.len();
    seen.sort_unstable();
    seen.dedup();
    let dedup_skipped = stats.acked.saturating_sub(tally.handled.load(Relaxed));
    Ok(Outcome {
        messages,
        published: published.load(Relaxed),
        handled: tally.handled.load(Relaxed),
        failed: tally.failed.load(Relaxed),
        sum: tally.sum.load(Relaxed),
        handled_twice: total - seen.len(),
        skipped: dedup_skipped,
        stats,
        pauses,
        resumes,
        elapsed,
        finished,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("nats_ingest: {err}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Killed (and its store removed) when dropped, at the end of `main`.
    let local = match args.url {
        Some(_) => None,
        None => match NatsServer::start() {
            Ok(server) => Some(server),
            Err(err) => {
                eprintln!("nats_ingest: cannot start a local server: {err}");
                return ExitCode::FAILURE;
            }
        },
    };
    let url = args
        .url
        .clone()
        .or_else(|| local.as_ref().map(NatsServer::url))
        .unwrap_or_default();
    println!(
        "{} readings published to stream {STREAM} at {url}{}; a JetStreamSource (durable \
         consumer {DURABLE}) feeds an actor taking {} ms per message through a mailbox of \
         {CAPACITY} under {}; a supervisor pauses the source while the mailbox is saturated.",
        args.messages,
        if local.is_some() {
            " (a local nats-server started for this run)"
        } else {
            ""
        },
        WORK.as_millis(),
        args.policy.as_str(),
    );
    println!();

    let outcome = match System::new().block_on(run(url, args.messages, args.policy)) {
        Ok(outcome) => outcome,
        Err(err) => {
            eprintln!("nats_ingest: {err}");
            return ExitCode::FAILURE;
        }
    };
    outcome.print();
    drop(local);
    let problems = outcome.problems();
    if problems.is_empty() {
        println!("\nall checks passed: every reading handled once, every message accounted for");
        ExitCode::SUCCESS
    } else {
        for problem in &problems {
            eprintln!("check failed: {problem}");
        }
        ExitCode::FAILURE
    }
}
