//! Mailbox throughput and request latency: bounded mailboxes under each overflow policy against
//! actix's own mailbox and a Tokio `mpsc` channel, all with a capacity of 1024.
//!
//! - `fire_and_forget_same_thread`: producer and consumer on one actix arbiter, 100 000
//!   messages per iteration.
//! - `fire_and_forget_cross_thread`: the consumer on an `Arbiter` thread, the producer on the
//!   main thread, 100 000 messages per iteration.
//! - `request_response_same_thread`: one request and its response per iteration.
//!
//! An iteration of a fire-and-forget benchmark ends when the consumer has dealt with every
//! message sent in it (a `Flush` request queued behind them has been answered). Under the drop
//! policies some messages are discarded instead of handled; the throughput counts messages
//! *offered*, and the first run of each lossy benchmark prints how many were handled.
//!
//! Run `cargo bench --bench mailbox`, then `scripts/bench-summary` for the ratio tables;
//! `cargo bench --bench mailbox -- --test` runs every benchmark once.
//!
//! With `MAILBOX_BENCH_ONE_RUN="<path> <rounds>"` in the environment, the binary runs one of
//! the same-thread paths [`ONE_RUN_PATHS`] that many rounds of `N` messages, without criterion,
//! and exits: `scripts/bench-instructions` counts the instructions of such runs under
//! valgrind, a measure these noisy machines cannot blur.

use std::hint::black_box;
use std::time::{Duration, Instant};

use actix::{Actor, Addr, Arbiter, ArbiterHandle, Context, Handler, Message, System};
use actix_backpressure::{
    BoundedActorExt, BoundedAddr, BoundedMailbox, MailboxConfig, OverflowPolicy, SendError,
};
use criterion::measurement::WallTime;
use criterion::Throughput;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};
use tokio::sync::{mpsc, oneshot};

/// The capacity of every mailbox and channel.
const CAPACITY: usize = 1024;
/// Messages sent per iteration of a fire-and-forget benchmark.
const N: u64 = 100_000;

/// The consumer: counts and sums the messages it handles.
#[derive(Default)]
struct Consumer {
    handled: u64,
    sum: u64,
}

impl Actor for Consumer {
    type Context = Context<Self>;
}

/// The fire-and-forget message.
#[derive(Message)]
#[rtype(result = "()")]
struct Msg(u64);

impl Handler<Msg> for Consumer {
    type Result = ();

    fn handle(&mut self, Msg(n): Msg, _: &mut Context<Self>) {
        self.handled += 1;
        self.sum = self.sum.wrapping_add(black_box(n));
    }
}

/// Answered once every message queued before it was dealt with: the number of `Msg` handled
/// so far.
#[derive(Message)]
#[rtype(result = "u64")]
struct Flush;

impl Handler<Flush> for Consumer {
    type Result = u64;

    fn handle(&mut self, _: Flush, _: &mut Context<Self>) -> u64 {
        black_box(self.sum);
        self.handled
    }
}

/// The request of the request/response benchmarks.
#[derive(Message)]
#[rtype(result = "u64")]
struct Ping(u64);

impl Handler<Ping> for Consumer {
    type Result = u64;

    fn handle(&mut self, Ping(n): Ping, _: &mut Context<Self>) -> u64 {
        self.sum = self.sum.wrapping_add(black_box(n));
        self.sum
    }
}

fn bounded_config(policy: OverflowPolicy) -> MailboxConfig {
    MailboxConfig::new(CAPACITY).policy(policy)
}

/// A native actix consumer on the current arbiter, with its (per-sender) capacity at 1024.
fn start_native() -> Addr<Consumer> {
    Consumer::create(|ctx| {
        ctx.set_mailbox_capacity(CAPACITY);
        Consumer::default()
    })
}

/// A native actix consumer on `arbiter`, with its (per-sender) capacity at 1024.
fn start_native_in(arbiter: &ArbiterHandle) -> Addr<Consumer> {
    Consumer::start_in_arbiter(arbiter, |ctx| {
        ctx.set_mailbox_capacity(CAPACITY);
        Consumer::default()
    })
}

/// Waits until everything queued in the bounded mailbox before now was dealt with; returns the
/// number of `Msg` handled so far.
async fn flush_bounded(addr: &BoundedAddr<Consumer>) -> u64 {
    loop {
        match addr.send(Flush).await {
            Ok(handled) => return handled,
            // Under DropNewest and Reject a full mailbox refuses the flush itself: let the
            // consumer make room and try again.
            Err(SendError::Full(_) | SendError::Dropped(_)) => tokio::task::yield_now().await,
            Err(err) => panic!("flush of the bounded mailbox failed: {err}"),
        }
    }
}

/// `iters` rounds of `N` `tell`s (errors of the drop policies ignored), each followed by a
/// flush. Returns the time taken and the number of `Msg` handled in these rounds.
async fn bounded_tell_rounds(addr: &BoundedAddr<Consumer>, iters: u64) -> (Duration, u64) {
    let before = flush_bounded(addr).await;
    let start = Instant::now();
    let mut handled = before;
    for _ in 0..iters {
        for i in 0..N {
            let _ = addr.tell(Msg(i)).await;
        }
        handled = flush_bounded(addr).await;
    }
    (start.elapsed(), handled - before)
}

/// `iters` rounds of `N` native `do_send`s, each followed by a native `send` of a flush.
async fn native_do_send_rounds(addr: &Addr<Consumer>, iters: u64) -> (Duration, u64) {
    let before = addr.send(Flush).await.expect("native flush");
    let start = Instant::now();
    let mut handled = before;
    for _ in 0..iters {
        for i in 0..N {
            addr.do_send(Msg(i));
        }
        handled = addr.send(Flush).await.expect("native flush");
    }
    (start.elapsed(), handled - before)
}

/// `iters` rounds of `N` awaited native `send`s.
async fn native_send_rounds(addr: &Addr<Consumer>, iters: u64) -> (Duration, u64) {
    let before = addr.send(Flush).await.expect("native flush");
    let start = Instant::now();
    for _ in 0..iters {
        for i in 0..N {
            addr.send(Msg(i)).await.expect("native send");
        }
    }
    let elapsed = start.elapsed();
    let handled = addr.send(Flush).await.expect("native flush");
    (elapsed, handled - before)
}

/// What the Tokio-channel consumer receives.
enum Cmd {
    Msg(Msg),
    Flush(oneshot::Sender<u64>),
}

/// The Tokio-channel consumer: the same work as [`Consumer`], until every sender is gone.
async fn tokio_consumer(mut rx: mpsc::Receiver<Cmd>) {
    let mut state = Consumer::default();
    while let Some(cmd) = rx.recv().await {
        match cmd {
            Cmd::Msg(Msg(n)) => {
                state.handled += 1;
                state.sum = state.sum.wrapping_add(black_box(n));
            }
            Cmd::Flush(reply) => {
                black_box(state.sum);
                let _ = reply.send(state.handled);
            }
        }
    }
}

async fn flush_tokio(tx: &mpsc::Sender<Cmd>) -> u64 {
    let (reply, response) = oneshot::channel();
    if tx.send(Cmd::Flush(reply)).await.is_err() {
        panic!("the tokio consumer is gone");
    }
    response.await.expect("the tokio consumer dropped a flush")
}

/// `iters` rounds of `N` awaited `mpsc::Sender::send`s, each followed by a flush.
async fn tokio_rounds(tx: &mpsc::Sender<Cmd>, iters: u64) -> (Duration, u64) {
    let before = flush_tokio(tx).await;
    let start = Instant::now();
    let mut handled = before;
    for _ in 0..iters {
        for i in 0..N {
            if tx.send(Cmd::Msg(Msg(i))).await.is_err() {
                panic!("the tokio consumer is gone");
            }
        }
        handled = flush_tokio(tx).await;
    }
    (start.elapsed(), handled - before)
}

/// Checks that a lossless variant handled every message, and prints once how many messages a
/// lossy one handled.
fn check_delivery(
    id: &str,
    policy: Option<OverflowPolicy>,
    iters: u64,
    handled: u64,
    reported: &mut bool,
) {
    let sent = iters * N;
    match policy {
        None | Some(OverflowPolicy::Block) => {
            assert_eq!(handled, sent, "{id}: a lossless variant lost messages");
        }
        Some(policy) => {
            assert!(handled <= sent, "{id}: handled more than was sent");
            if !*reported {
                *reported = true;
                eprintln!(
                    "note: {id} ({policy}): {handled} of {sent} messages handled, {} discarded \
                     by the policy (first run, {iters} iteration(s))",
                    sent - handled
                );
            }
        }
    }
}

const POLICIES: [(&str, OverflowPolicy); 4] = [
    ("bounded_block", OverflowPolicy::Block),
    ("bounded_drop_newest", OverflowPolicy::DropNewest),
    ("bounded_drop_oldest", OverflowPolicy::DropOldest),
    ("bounded_reject", OverflowPolicy::Reject),
];

fn fire_and_forget_group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    // Each iteration takes milliseconds: the same number of iterations in every sample.
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(N));
    group
}

fn fire_and_forget_same_thread(c: &mut Criterion) {
    const GROUP: &str = "fire_and_forget_same_thread";
    // Producer (the `block_on` future) and consumer share this System's single arbiter.
    let sys = System::new();
    let mut group = fire_and_forget_group(c, GROUP);

    for (name, policy) in POLICIES {
        let mut reported = false;
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                sys.block_on(async {
                    let addr = Consumer::default().start_bounded(bounded_config(policy));
                    let (elapsed, handled) = bounded_tell_rounds(&addr, iters).await;
                    check_delivery(
                        &format!("{GROUP}/{name}"),
                        Some(policy),
                        iters,
                        handled,
                        &mut reported,
                    );
                    elapsed
                })
            });
        });
    }

    // The same as `bounded_block`, without metrics (every other bounded benchmark reports
    // them to the Prometheus recorder installed in `main`).
    let mut reported = false;
    group.bench_function("bounded_block_metrics_off", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let config = bounded_config(OverflowPolicy::Block).metrics(false);
                let addr = Consumer::default().start_bounded(config);
                let (elapsed, handled) = bounded_tell_rounds(&addr, iters).await;
                check_delivery(
                    "bounded_block_metrics_off",
                    Some(OverflowPolicy::Block),
                    iters,
                    handled,
                    &mut reported,
                );
                elapsed
            })
        });
    });

    // `Block` with its capacity as a credit window (granted back as messages finish, in
    // batches of half the window): the cost of credits against `bounded_block`.
    let mut reported = false;
    group.bench_function("bounded_block_credits", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let config = bounded_config(OverflowPolicy::Block).credits(CAPACITY / 2);
                let addr = Consumer::default().start_bounded(config);
                let (elapsed, handled) = bounded_tell_rounds(&addr, iters).await;
                check_delivery(
                    "bounded_block_credits",
                    Some(OverflowPolicy::Block),
                    iters,
                    handled,
                    &mut reported,
                );
                elapsed
            })
        });
    });

    let mut reported = false;
    group.bench_function("actix_do_send", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let addr = start_native();
                let (elapsed, handled) = native_do_send_rounds(&addr, iters).await;
                check_delivery("actix_do_send", None, iters, handled, &mut reported);
                elapsed
            })
        });
    });

    group.bench_function("actix_send", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let addr = start_native();
                let (elapsed, handled) = native_send_rounds(&addr, iters).await;
                check_delivery("actix_send", None, iters, handled, &mut reported);
                elapsed
            })
        });
    });

    group.bench_function("tokio_mpsc", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let (tx, rx) = mpsc::channel(CAPACITY);
                let consumer = actix::spawn(tokio_consumer(rx));
                let (elapsed, handled) = tokio_rounds(&tx, iters).await;
                check_delivery("tokio_mpsc", None, iters, handled, &mut reported);
                drop(tx);
                consumer.await.expect("the tokio consumer panicked");
                elapsed
            })
        });
    });

    group.finish();
    // Dropping the System drops whatever is left on its arbiter.
    drop(sys);
}

fn fire_and_forget_cross_thread(c: &mut Criterion) {
    const GROUP: &str = "fire_and_forget_cross_thread";
    // The producer runs in this thread's System; every consumer lives on `arbiter`'s thread.
    let sys = System::new();
    let arbiter = Arbiter::new();
    let consumer_thread = arbiter.handle();
    let mut group = fire_and_forget_group(c, GROUP);

    for (name, policy) in [POLICIES[0], POLICIES[2]] {
        let mut reported = false;
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                sys.block_on(async {
                    let addr = BoundedMailbox::new(bounded_config(policy))
                        .expect("a valid configuration")
                        .start_in_arbiter(&consumer_thread, |_| Consumer::default());
                    let (elapsed, handled) = bounded_tell_rounds(&addr, iters).await;
                    check_delivery(
                        &format!("{GROUP}/{name}"),
                        Some(policy),
                        iters,
                        handled,
                        &mut reported,
                    );
                    elapsed
                })
            });
        });
    }

    let mut reported = false;
    group.bench_function("actix_do_send", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let addr = start_native_in(&consumer_thread);
                let (elapsed, handled) = native_do_send_rounds(&addr, iters).await;
                check_delivery("actix_do_send", None, iters, handled, &mut reported);
                elapsed
            })
        });
    });

    group.bench_function("tokio_mpsc", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let (tx, rx) = mpsc::channel(CAPACITY);
                let (done_tx, done_rx) = oneshot::channel();
                let spawned = consumer_thread.spawn(async move {
                    tokio_consumer(rx).await;
                    let _ = done_tx.send(());
                });
                assert!(spawned, "the consumer arbiter is gone");
                let (elapsed, handled) = tokio_rounds(&tx, iters).await;
                check_delivery("tokio_mpsc", None, iters, handled, &mut reported);
                drop(tx);
                done_rx.await.expect("the tokio consumer did not finish");
                elapsed
            })
        });
    });

    group.finish();
    arbiter.stop();
    arbiter.join().expect("the consumer arbiter panicked");
    drop(sys);
}

fn request_response_same_thread(c: &mut Criterion) {
    let sys = System::new();
    let mut group = c.benchmark_group("request_response_same_thread");

    group.bench_function("bounded_send", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let addr = Consumer::default().start_bounded(bounded_config(OverflowPolicy::Block));
                flush_bounded(&addr).await;
                let start = Instant::now();
                for i in 0..iters {
                    black_box(addr.send(Ping(i)).await.expect("bounded send"));
                }
                start.elapsed()
            })
        });
    });

    group.bench_function("actix_send", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let addr = start_native();
                addr.send(Flush).await.expect("native flush");
                let start = Instant::now();
                for i in 0..iters {
                    black_box(addr.send(Ping(i)).await.expect("native send"));
                }
                start.elapsed()
            })
        });
    });

    group.finish();
    drop(sys);
}

/// A Prometheus recorder, with histogram buckets and its upkeep running every second (which
/// drains the histogram samples, as a served exporter does).
fn install_prometheus_recorder() {
    use actix_backpressure::metrics::{MAILBOX_HANDLER_SECONDS, MAILBOX_WAIT_SECONDS};
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    const BUCKETS: &[f64] = &[1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0];
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(MAILBOX_WAIT_SECONDS.into()), BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(MAILBOX_HANDLER_SECONDS.into()), BUCKETS)
        })
        .expect("valid buckets")
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).expect("installing the Prometheus recorder");
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        handle.run_upkeep();
    });
}

/// The paths `MAILBOX_BENCH_ONE_RUN` runs: the same-thread fire-and-forget benchmarks
/// (`N` messages a round, then a flush) and the request benchmarks (`N` requests a round),
/// with the same actors, configurations and recorder as the criterion benchmarks.
const ONE_RUN_PATHS: [&str; 5] = [
    "same_thread/bounded_block",
    "same_thread/actix_do_send",
    "same_thread/tokio_mpsc",
    "request/bounded_send",
    "request/actix_send",
];

/// Runs `rounds` rounds of one of [`ONE_RUN_PATHS`] on a new `System`, checking that every
/// message was handled.
fn one_run(path: &str, rounds: u64) {
    let sys = System::new();
    let handled = sys.block_on(async {
        match path {
            "same_thread/bounded_block" => {
                let addr = Consumer::default().start_bounded(bounded_config(OverflowPolicy::Block));
                bounded_tell_rounds(&addr, rounds).await.1
            }
            "same_thread/actix_do_send" => native_do_send_rounds(&start_native(), rounds).await.1,
            "same_thread/tokio_mpsc" => {
                let (tx, rx) = mpsc::channel(CAPACITY);
                actix::spawn(tokio_consumer(rx));
                tokio_rounds(&tx, rounds).await.1
            }
            "request/bounded_send" => {
                let addr = Consumer::default().start_bounded(bounded_config(OverflowPolicy::Block));
                for i in 0..rounds * N {
                    black_box(addr.send(Ping(i)).await.expect("bounded send"));
                }
                rounds * N
            }
            "request/actix_send" => {
                let addr = start_native();
                for i in 0..rounds * N {
                    black_box(addr.send(Ping(i)).await.expect("native send"));
                }
                rounds * N
            }
            other => {
                panic!("MAILBOX_BENCH_ONE_RUN: unknown path `{other}`; one of {ONE_RUN_PATHS:?}")
            }
        }
    });
    assert_eq!(handled, rounds * N, "{path}: every message handled");
}

// `criterion_group!` would make an undocumented `pub fn`; this is what it and
// `criterion_main!` expand to.
fn main() {
    // Mailboxes report metrics (their default) to a real Prometheus recorder, as in production;
    // `bounded_block_metrics_off` measures the same without them.
    install_prometheus_recorder();
    if let Ok(run) = std::env::var("MAILBOX_BENCH_ONE_RUN") {
        let (path, rounds) = run
            .split_once(' ')
            .and_then(|(path, rounds)| Some((path, rounds.parse().ok()?)))
            .unwrap_or_else(|| {
                panic!("MAILBOX_BENCH_ONE_RUN=\"{run}\": expected \"<path> <rounds>\"")
            });
        one_run(path, rounds);
        return;
    }
    // 14 benchmarks x (1 s warm-up + 4 s measurement): about a minute and a half in all.
    let mut criterion = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    fire_and_forget_same_thread(&mut criterion);
    fire_and_forget_cross_thread(&mut criterion);
    request_response_same_thread(&mut criterion);
    criterion.final_summary();
}
