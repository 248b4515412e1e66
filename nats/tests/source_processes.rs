//! Consuming processes sharing one durable consumer: one killed with `kill -9` mid-run and
//! replaced (nothing lost, the redeliveries skipped by `Dedup`), and two at once (both get
//! work).
//!
//! The consuming processes are this test binary run again, in "child mode": the ignored test
//! `consumer_process` does the work when the `ABP_CHILD_*` variables are set. Each child
//! records every message it handles to a file, one line per message, written in one `write`
//! before the handler answers (and so before the ack): `H <seq> <delivered>` for a message
//! handled, `D <seq> <delivered>` for a redelivery its `Dedup` skipped.

mod common;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_backpressure_mailbox::{BoundedActorExt, MailboxConfig};
use actix_backpressure_nats::{
    Dedup, HandlerError, JetStreamMessage, JetStreamSource, SourceConfig,
};
use common::{consumer_state, publish, server};

const ENV_URL: &str = "ABP_CHILD_URL";
const ENV_DURABLE: &str = "ABP_CHILD_DURABLE";
const ENV_OUT: &str = "ABP_CHILD_OUT";
const ENV_SEED: &str = "ABP_CHILD_SEED";
const ENV_DELAY_MS: &str = "ABP_CHILD_DELAY_MS";
/// A child ends by itself after this long, should its parent be gone.
const CHILD_LIFETIME: Duration = Duration::from_secs(60);
const ACK_WAIT: Duration = Duration::from_secs(2);

// ---- child mode ----------------------------------------------------------------------------

/// Records each message handled (or skipped as a duplicate) to its file, then takes `delay`.
struct Recorder {
    out: File,
    dedup: Dedup,
    delay: Duration,
}

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Handler<JetStreamMessage> for Recorder {
    type Result = AtomicResponse<Self, Result<(), HandlerError>>;

    fn handle(&mut self, msg: JetStreamMessage, _: &mut Context<Self>) -> Self::Result {
        let (seq, delivered) = (msg.stream_sequence(), msg.delivered());
        let out = &mut self.out;
        let recorded = match self.dedup.handle_once(&msg, |_| {
            // The handler's effect: one line, one write.
            out.write_all(format!("H {seq} {delivered}\n").as_bytes())
        }) {
            Ok(Some(())) => Ok(()),
            Ok(None) => out
                .write_all(format!("D {seq} {delivered}\n").as_bytes())
                .map_err(|err| HandlerError::retry(err.to_string())),
            Err(err) => Err(HandlerError::retry(err.to_string())),
        };
        let delay = self.delay;
        // The ack waits for the delay: a kill in between leaves a handled message unacked.
        AtomicResponse::new(Box::pin(
            async move {
                tokio::time::sleep(delay).await;
                recorded
            }
            .into_actor(self),
        ))
    }
}

#[test]
#[ignore = "child mode of the multi-process tests, which run it themselves"]
fn consumer_process() {
    let Ok(url) = std::env::var(ENV_URL) else {
        eprintln!("consumer_process: not a child (no {ENV_URL}); nothing to do");
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let durable = var(ENV_DURABLE);
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(var(ENV_OUT))
        .expect("open the record file");
    let delay = Duration::from_millis(var(ENV_DELAY_MS).parse().expect("a delay in ms"));
    // What an earlier process handled, as a real handler would load it from its own store.
    let mut dedup = Dedup::by_stream_sequence(100_000);
    if let Ok(seed) = std::env::var(ENV_SEED) {
        for record in read_records(Path::new(&seed)) {
            if record.kind == 'H' {
                dedup.remember(record.seq);
            }
        }
    }
    System::new().block_on(async move {
        let recorder = Recorder { out, dedup, delay }.start_bounded(MailboxConfig::new(4));
        let config = SourceConfig::new(common::STREAM, durable)
            .batch(8)
            .max_in_flight(16)
            .ack_wait(ACK_WAIT)
            .expires(Duration::from_millis(500));
        let source = JetStreamSource::connect(&url, config)
            .await
            .expect("the child binds to the consumer")
            .start(recorder);
        // Bound and pulling: tell the parent (a line the record readers skip).
        OpenOptions::new()
            .append(true)
            .open(var(ENV_OUT))
            .and_then(|mut out| out.write_all(b"R 0 0\n"))
            .expect("write the ready line");
        tokio::time::sleep(CHILD_LIFETIME).await;
        source.stop();
        source.stopped().await;
    });
}

// ---- parent side ---------------------------------------------------------------------------

/// One line of a child's record file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Record {
    kind: char,
    seq: u64,
    delivered: u64,
}

/// The complete lines of a record file (a line cut short by a kill is ignored).
fn read_records(path: &Path) -> Vec<Record> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let kind = fields.next()?.chars().next()?;
            Some(Record {
                kind,
                seq: fields.next()?.parse().ok()?,
                delivered: fields.next()?.parse().ok()?,
            })
        })
        .collect()
}

/// How many times each sequence was handled (`H`), over several record files.
fn handled_counts(files: &[&Path]) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for file in files {
        for record in read_records(file).into_iter().filter(|r| r.kind == 'H') {
            *counts.entry(record.seq).or_insert(0) += 1;
        }
    }
    counts
}

/// A consuming child process, killed (`SIGKILL`) when dropped.
struct ChildProcess {
    child: Child,
    log: PathBuf,
}

impl ChildProcess {
    fn spawn(url: &str, durable: &str, out: &Path, seed: Option<&Path>, delay_ms: u64) -> Self {
        let log = out.with_extension("log");
        let log_file = File::create(&log).unwrap();
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "consumer_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(ENV_URL, url)
            .env(ENV_DURABLE, durable)
            .env(ENV_OUT, out)
            .env(ENV_DELAY_MS, delay_ms.to_string())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        if let Some(seed) = seed {
            command.env(ENV_SEED, seed);
        }
        ChildProcess {
            child: command.spawn().expect("run the child process"),
            log,
        }
    }

    /// `kill -9`, and wait for the exit.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Fails the test with the child's log if it has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            panic!("a child process exited early ({status}):\n{log}");
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("abp-nats-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Waits until `cond` holds, checking the children are alive; fails after `limit`.
fn wait_for(
    limit: Duration,
    what: &str,
    children: &mut [&mut ChildProcess],
    mut cond: impl FnMut() -> bool,
) {
    let start = Instant::now();
    while !cond() {
        for child in children.iter_mut() {
            child.assert_running();
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_consumer_killed_mid_run_loses_nothing_and_dedup_skips_its_redeliveries() {
    const N: u64 = 300;
    let server = server();
    let url = server.url();
    let dir = TempDir::new("kill");
    let rt = runtime();
    rt.block_on(publish(&url, N));
    let started = Instant::now();
    let first_out = dir.0.join("first.txt");
    let second_out = dir.0.join("second.txt");

    // The first process takes 10 ms a message; kill it once it has handled 80.
    let mut first = ChildProcess::spawn(&url, "group", &first_out, None, 10);
    wait_for(
        Duration::from_secs(20),
        "80 handled by the first process",
        &mut [&mut first],
        || handled_counts(&[&first_out]).len() >= 80,
    );
    first.kill();
    let killed_at = handled_counts(&[&first_out]).len();
    let (pending, unacked) = rt.block_on(consumer_state(&url, "group"));
    eprintln!("killed the first process after {killed_at} handled; server: {pending} pending, {unacked} unacked");

    // The second process knows what the first handled (its records), as a real handler
    // would from its own store.
    let mut second = ChildProcess::spawn(&url, "group", &second_out, Some(&first_out), 2);
    wait_for(
        Duration::from_secs(40),
        "every message handled, and the consumer settled",
        &mut [&mut second],
        || {
            handled_counts(&[&first_out, &second_out]).len() as u64 == N
                && rt.block_on(consumer_state(&url, "group")) == (0, 0)
        },
    );
    second.kill();
    let elapsed = started.elapsed();

    let counts = handled_counts(&[&first_out, &second_out]);
    let records = read_records(&second_out);
    let skipped: Vec<u64> = records
        .iter()
        .filter(|r| r.kind == 'D')
        .map(|r| r.seq)
        .collect();
    let redelivered = records.iter().filter(|r| r.delivered > 1).count();
    let handled_twice: Vec<u64> = counts
        .iter()
        .filter(|(_, &c)| c > 1)
        .map(|(&s, _)| s)
        .collect();
    eprintln!(
        "{N} published; first process handled {killed_at}, second {}; \
         the second saw {redelivered} redeliveries and skipped {} duplicates {skipped:?}; \
         handled twice: {handled_twice:?}; {elapsed:?}",
        records.iter().filter(|r| r.kind == 'H').count(),
        skipped.len(),
    );
    assert_eq!(
        counts.keys().copied().collect::<Vec<_>>(),
        (1..=N).collect::<Vec<_>>(),
        "all handled at least once"
    );
    assert!(
        handled_twice.is_empty(),
        "the seeded Dedup skips what the first process handled"
    );
    assert!(
        !skipped.is_empty(),
        "the message being handled at the kill (recorded, not acked) came back and was skipped"
    );
    assert!(redelivered >= skipped.len());
}

#[test]
fn two_processes_sharing_the_durable_consumer_both_receive_work() {
    const N: u64 = 200;
    let server = server();
    let url = server.url();
    let dir = TempDir::new("two");
    let rt = runtime();
    rt.block_on(publish(&url, 0));
    let started = Instant::now();
    let (a_out, b_out) = (dir.0.join("a.txt"), dir.0.join("b.txt"));
    let mut a = ChildProcess::spawn(&url, "pair", &a_out, None, 5);
    let mut b = ChildProcess::spawn(&url, "pair", &b_out, None, 5);
    // Publish once both are pulling, so that a slow start does not leave one without work.
    let ready = |file: &Path| read_records(file).iter().any(|r| r.kind == 'R');
    wait_for(
        Duration::from_secs(20),
        "both processes ready",
        &mut [&mut a, &mut b],
        || ready(&a_out) && ready(&b_out),
    );
    rt.block_on(async {
        let client = actix_backpressure_nats::async_nats::connect(url.as_str())
            .await
            .expect("connect to publish");
        let js = actix_backpressure_nats::async_nats::jetstream::new(client.clone());
        common::publish_more(&js, 1..=N).await;
        client.flush().await.unwrap();
    });
    wait_for(
        Duration::from_secs(40),
        "every message handled, and the consumer settled",
        &mut [&mut a, &mut b],
        || {
            handled_counts(&[&a_out, &b_out]).len() as u64 == N
                && rt.block_on(consumer_state(&url, "pair")) == (0, 0)
        },
    );
    drop((a, b));
    let (by_a, by_b) = (handled_counts(&[&a_out]), handled_counts(&[&b_out]));
    eprintln!(
        "{N} published: process A handled {}, process B {} in {:?}",
        by_a.len(),
        by_b.len(),
        started.elapsed()
    );
    assert!(
        by_a.len() >= 10 && by_b.len() >= 10,
        "both processes got work"
    );
    let both = handled_counts(&[&a_out, &b_out]);
    assert_eq!(both.len() as u64, N);
    assert!(
        both.values().all(|&c| c == 1),
        "each message went to one process"
    );
}
