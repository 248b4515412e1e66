//! The classic back-pressure demo: a fast producer, a slow consumer and a small bounded mailbox
//! between them, run under each overflow policy, then with the seed's other three ways of
//! applying back-pressure: credits, pause/resume and a token bucket.
//!
//! A `Producer` actor makes 10 items a second and hands each to the `Consumer` with
//! `BoundedAddr::tell`, making its next item only once that `tell` has returned. The
//! `Consumer` handles 2 items a second, one at a time (its handler returns an
//! `AtomicResponse`, so the actor takes no other message while it works). The mailbox holds 4
//! items, so it fills within a second and the policy decides what happens to the surplus.
//!
//! The three last variants keep `Block` and hold the producer another way:
//!
//! - `credits`: the mailbox is a credit window of 4 (`MailboxConfig::credits`), granted back
//!   as the consumer *finishes* each item, so at most 4 items are in flight, the one being
//!   worked on included: the mailbox never holds more than 3.
//! - `pause_resume`: a `PressureSupervisor` watches the mailbox and pauses the producer (a
//!   `PauseGate` it checks before making each item, registered as the mailbox's upstream)
//!   once the mailbox is full, and resumes it once it is down to 1: the producer waits
//!   paused, between items, rather than inside `tell`.
//!
//! The last one, `token_bucket`, adds a rate limit a little under the
//! consumer's pace (`MailboxConfig::rate_limit`, 1.8 items a second, so that timer jitter in
//! the consumer does not add up): the producer is held by the rate, before its items reach the
//! mailbox, so the mailbox stays short instead of full.
//!
//! Time is scaled down: one second of the scenario is [`SECOND`] of wall time. Each variant
//! runs for [`PRODUCTION_SECS`] scenario seconds of production, then the consumer drains the
//! mailbox. Every item is accounted for three ways: the producer's own count, the mailbox's
//! [`MailboxStats`] and the drop hook; the program exits with 1 if they disagree.
//!
//! ```text
//! cargo run --release --example seed_pipeline                 # every variant, then a comparison
//! cargo run --release --example seed_pipeline -- drop_oldest  # one policy
//! cargo run --release --example seed_pipeline -- credits      # a credit window
//! cargo run --release --example seed_pipeline -- pause_resume # the supervisor pauses it
//! cargo run --release --example seed_pipeline -- token_bucket # Block behind a rate limit
//! ```
//!
//! Exit codes: 0 when every check passes, 1 when one fails, 2 for a bad argument.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix::fut::{ActorFutureExt, WrapFuture};
use actix::{Actor, ActorContext, AsyncContext, AtomicResponse, Context, Handler, Message, System};
use actix_backpressure::prelude::*;
use actix_backpressure::{GateUpstream, RateLimit};
use tokio::sync::oneshot;
use tokio::time::{sleep, sleep_until, timeout, Instant};

/// Wall time of one second of the scenario.
const SECOND: Duration = Duration::from_millis(50);
/// Items the producer makes per scenario second, when it is not held.
const PRODUCE_PER_SEC: u32 = 10;
/// Items the consumer handles per scenario second.
const CONSUME_PER_SEC: u32 = 2;
/// Capacity of the consumer's mailbox.
const CAPACITY: usize = 4;
/// Scenario seconds of production per variant.
const PRODUCTION_SECS: u32 = 30;
/// Scenario seconds between two timeline lines.
const TIMELINE_EVERY_SECS: u32 = 5;
/// Scenario seconds the consumer gets to drain the mailbox after production (it needs
/// `(CAPACITY + 1) / CONSUME_PER_SEC`).
const DRAIN_LIMIT_SECS: u32 = 10;
/// Scenario seconds one variant's run may take in all before it is declared hung.
const RUN_LIMIT_SECS: u32 = PRODUCTION_SECS + DRAIN_LIMIT_SECS + 10;

const USAGE: &str = "usage: seed_pipeline [block | drop_newest | drop_oldest | reject | credits | pause_resume | token_bucket | all]  (default: all)";

/// One way of running the scenario: a policy, or `Block` with credits, a supervisor that
/// pauses the producer, or a rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Policy(OverflowPolicy),
    Credits,
    PauseResume,
    TokenBucket,
}

/// The variants that are not a policy alone, by name.
const OTHER_VARIANTS: [Variant; 3] = [Variant::Credits, Variant::PauseResume, Variant::TokenBucket];

impl Variant {
    /// Every policy, then the other ways.
    fn all() -> Vec<Variant> {
        OverflowPolicy::ALL
            .into_iter()
            .map(Variant::Policy)
            .chain(OTHER_VARIANTS)
            .collect()
    }

    fn name(self) -> &'static str {
        match self {
            Variant::Policy(policy) => policy.as_str(),
            Variant::Credits => "credits",
            Variant::PauseResume => "pause_resume",
            Variant::TokenBucket => "token_bucket",
        }
    }

    /// The consumer's mailbox.
    fn config(self) -> MailboxConfig {
        match self {
            Variant::Policy(policy) => MailboxConfig::new(CAPACITY).policy(policy),
            // A credit back as each item is finished.
            Variant::Credits => MailboxConfig::new(CAPACITY).credits(1),
            Variant::PauseResume => MailboxConfig::new(CAPACITY).policy(OverflowPolicy::Block),
            Variant::TokenBucket => MailboxConfig::new(CAPACITY)
                .policy(OverflowPolicy::Block)
                .rate_limit(RateLimit::new(CONSUME_PER_SEC * 9, SECOND * 10)),
        }
    }
}

/// A duration of wall time in scenario seconds.
fn scenario_secs(wall: Duration) -> f64 {
    wall.as_secs_f64() / SECOND.as_secs_f64()
}

/// One item; its number counts from 1 in production order.
#[derive(Message)]
#[rtype(result = "()")]
struct Item(u64);

/// What the actors and the drop hook record, read by the run and its checks.
#[derive(Default)]
struct Tally {
    /// Items made by the producer so far.
    produced: AtomicU64,
    /// Time the producer spent inside `tell`, in nanoseconds.
    held_nanos: AtomicU64,
    /// Time the producer spent paused (between items), in nanoseconds.
    paused_nanos: AtomicU64,
    /// Items whose work the consumer finished.
    finished: AtomicU64,
    /// How many items had been produced after each handled one when the consumer picked it
    /// up, added up: how stale the handled items were.
    lag_sum: AtomicU64,
    /// Numbers of the items the consumer handled, in order.
    handled_items: Mutex<Vec<u64>>,
    /// Numbers of the items the drop hook saw, with the reason.
    lost_items: Mutex<Vec<(u64, DropReason)>>,
    /// Drop hook calls by reason, including any message that was not an `Item`.
    hook_calls: Mutex<HashMap<DropReason, u64>>,
    /// The deepest the mailbox was after one of the producer's `tell`s.
    max_depth: AtomicU64,
}

impl Tally {
    fn held(&self) -> Duration {
        Duration::from_nanos(self.held_nanos.load(Relaxed))
    }

    fn paused(&self) -> Duration {
        Duration::from_nanos(self.paused_nanos.load(Relaxed))
    }

    /// The drop hook.
    fn record_loss(&self, dropped: &Dropped<'_>) {
        *lock(&self.hook_calls).entry(dropped.reason()).or_default() += 1;
        if let Some(Item(n)) = dropped.downcast_ref::<Item>() {
            lock(&self.lost_items).push((*n, dropped.reason()));
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The slow end: handles one item at a time, each taking a scenario second / `CONSUME_PER_SEC`.
struct Consumer {
    tally: Arc<Tally>,
    on_stop: Option<oneshot::Sender<()>>,
}

impl Actor for Consumer {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        if let Some(on_stop) = self.on_stop.take() {
            let _ = on_stop.send(());
        }
    }
}

impl Handler<Item> for Consumer {
    // Atomic: the context waits for the work to finish before it takes the next message, so
    // items pile up in the bounded mailbox rather than in the actor.
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, Item(n): Item, _: &mut Context<Self>) -> Self::Result {
        let produced = self.tally.produced.load(Relaxed);
        self.tally
            .lag_sum
            .fetch_add(produced.saturating_sub(n), Relaxed);
        let work = sleep(SECOND / CONSUME_PER_SEC).into_actor(self);
        AtomicResponse::new(Box::pin(work.map(move |(), act, _| {
            lock(&act.tally.handled_items).push(n);
            act.tally.finished.fetch_add(1, Relaxed);
        })))
    }
}

/// What the producer saw of its own sends.
#[derive(Default)]
struct ProducerReport {
    produced: u64,
    /// Sum of the time its `tell` awaits took.
    held: Duration,
    /// Time it was paused before making an item, and how many times.
    paused: Duration,
    pauses: u64,
    /// `tell`s that handed the item back (dropped on arrival or rejected).
    refused: u64,
}

/// The fast end: makes `PRODUCE_PER_SEC` items a scenario second for `PRODUCTION_SECS`, and
/// makes the next item only once the `tell` of the previous one has returned. Reports to
/// `done` and stops when production is over.
struct Producer {
    target: BoundedAddr<Consumer>,
    /// Checked before each item: paused by the supervisor (`pause_resume`).
    gate: PauseGate,
    tally: Arc<Tally>,
    done: Option<oneshot::Sender<ProducerReport>>,
}

impl Actor for Producer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let production = produce(
            self.target.clone(),
            self.gate.clone(),
            Arc::clone(&self.tally),
        );
        ctx.wait(production.into_actor(self).map(|report, act, ctx| {
            if let Some(done) = act.done.take() {
                let _ = done.send(report);
            }
            ctx.stop();
        }));
    }
}

/// The producer's loop.
async fn produce(
    target: BoundedAddr<Consumer>,
    gate: PauseGate,
    tally: Arc<Tally>,
) -> ProducerReport {
    let period = SECOND / PRODUCE_PER_SEC;
    let start = Instant::now();
    let end = start + SECOND * PRODUCTION_SECS;
    let mut report = ProducerReport::default();
    let mut next = start;
    while next < end {
        sleep_until(next).await;
        if gate.is_paused() {
            let paused = Instant::now();
            gate.opened().await;
            let paused = paused.elapsed();
            report.paused += paused;
            report.pauses += 1;
            tally.paused_nanos.fetch_add(
                u64::try_from(paused.as_nanos()).unwrap_or(u64::MAX),
                Relaxed,
            );
            if Instant::now() >= end {
                break;
            }
        }
        report.produced += 1;
        tally.produced.store(report.produced, Relaxed);
        let asked = Instant::now();
        let sent = target.tell(Item(report.produced)).await;
        let held = asked.elapsed();
        report.held += held;
        tally
            .held_nanos
            .fetch_add(u64::try_from(held.as_nanos()).unwrap_or(u64::MAX), Relaxed);
        if sent.is_err() {
            report.refused += 1;
        }
        tally.max_depth.fetch_max(target.len() as u64, Relaxed);
        // On schedule while the mailbox takes items at once; held back by a waiting `tell`,
        // the next item comes right after it (no burst to catch up).
        next = (next + period).max(Instant::now());
    }
    report
}

/// One variant's outcome.
struct Summary {
    variant: Variant,
    report: ProducerReport,
    stats: MailboxStats,
    /// Items whose work the consumer finished.
    finished: u64,
    /// Mean lag of the handled items (see [`Tally::lag_sum`]).
    mean_lag: f64,
    /// See [`Tally::max_depth`].
    max_depth: u64,
    /// The last `CAPACITY + 1` handled items, oldest first.
    last_handled: Vec<u64>,
    /// Whether each item was handled or seen by the drop hook, exactly once.
    each_item_once: bool,
    /// Whether the drop hook's calls match the stats, reason by reason.
    hook_matches: bool,
    hook_total: u64,
    drained: bool,
    consumer_stopped: bool,
}

impl Summary {
    fn lost(&self) -> u64 {
        DropReason::ALL
            .iter()
            .map(|&reason| self.stats.dropped(reason))
            .sum()
    }

    /// produced == handled + every kind of loss.
    fn accounted(&self) -> bool {
        self.report.produced == self.stats.handled + self.lost()
    }

    /// The checks that do not depend on the policy.
    fn consistent(&self) -> bool {
        self.accounted()
            && self.hook_matches
            && self.each_item_once
            && self.finished == self.stats.handled
            && self.report.refused == self.stats.dropped_newest + self.stats.rejected
            && self.drained
            && self.consumer_stopped
    }

    /// Whether the run shows what the policy is for, and in words what that is.
    fn as_expected(&self) -> (bool, &'static str) {
        let s = &self.stats;
        let window = SECOND * PRODUCTION_SECS;
        let not_held = s.sender_blocked.is_zero();
        let policy =
            match self.variant {
                Variant::Policy(policy) => policy,
                Variant::Credits => {
                    return (
                        self.lost() == 0
                            && self.report.held > window / 2
                            && self.max_depth < CAPACITY as u64,
                        "nothing lost; at most 4 in flight, so the mailbox holds at most 3 beside \
                     the item being worked on",
                    )
                }
                Variant::PauseResume => {
                    return (
                        self.lost() == 0
                            && self.report.pauses >= 2
                            && self.report.paused > self.report.held
                            && self.report.paused + self.report.held > window / 2,
                        "nothing lost; the supervisor pauses the producer at a full mailbox and \
                     resumes it at 1, so it waits paused rather than inside tell",
                    )
                }
                Variant::TokenBucket => return (
                    self.lost() == 0
                        && self.report.held > window / 2
                        && self.max_depth < CAPACITY as u64,
                    "nothing lost; the producer is held to the rate, and the mailbox never fills",
                ),
            };
        match policy {
            OverflowPolicy::Block => (
                self.lost() == 0 && self.report.held > window / 2,
                "nothing lost; the producer is held to the consumer's pace",
            ),
            OverflowPolicy::DropNewest => (
                s.dropped_newest > 0 && s.evicted + s.rejected == 0 && not_held,
                "incoming items dropped; the producer never waits",
            ),
            OverflowPolicy::DropOldest => (
                s.evicted > 0
                    && s.dropped_newest + s.rejected == 0
                    && not_held
                    && self.newest_handled(),
                "oldest queued items evicted; the newest items are the ones handled",
            ),
            OverflowPolicy::Reject => (
                s.rejected > 0 && s.dropped_newest + s.evicted == 0 && not_held,
                "incoming items refused back to the producer; it never waits",
            ),
            _ => (true, "no expectation for this policy"),
        }
    }

    /// Whether the last `CAPACITY` items produced were all handled.
    fn newest_handled(&self) -> bool {
        let produced = self.report.produced;
        let newest = produced.saturating_sub(CAPACITY as u64) + 1..=produced;
        self.last_handled.len() >= CAPACITY
            && self.last_handled[self.last_handled.len() - CAPACITY..]
                .iter()
                .copied()
                .eq(newest)
    }

    fn print(&self) {
        let s = &self.stats;
        let yes = |ok: bool| if ok { "yes" } else { "NO" };
        let window = SECOND * PRODUCTION_SECS;
        println!("  summary");
        println!(
            "    produced {}  handled {}  dropped {}  evicted {}  rejected {}  \
             timed out {}  stopped {}  closed {}",
            self.report.produced,
            s.handled,
            s.dropped_newest,
            s.evicted,
            s.rejected,
            s.timed_out,
            s.stopped,
            s.closed,
        );
        println!(
            "    producer held {:.1} s of {PRODUCTION_SECS} s ({:.0}%, {} ms wall; sum of its tell \
             awaits); mailbox sender_blocked {:.1} s",
            scenario_secs(self.report.held),
            100.0 * self.report.held.as_secs_f64() / window.as_secs_f64(),
            self.report.held.as_millis(),
            scenario_secs(s.sender_blocked),
        );
        if self.report.pauses > 0 {
            println!(
                "    producer paused {} times, {:.1} s in all",
                self.report.pauses,
                scenario_secs(self.report.paused),
            );
        }
        let last: Vec<String> = self.last_handled.iter().map(|n| format!("#{n}")).collect();
        println!(
            "    last handled {} (newest produced #{}); mean lag {:.1} items; deepest {}/{CAPACITY}",
            last.join(" "),
            self.report.produced,
            self.mean_lag,
            self.max_depth,
        );
        println!(
            "    cross-checks: drop hook saw {} discards, = stats by reason: {}; \
             each item handled or discarded once: {}",
            self.hook_total,
            yes(self.hook_matches),
            yes(self.each_item_once),
        );
        println!(
            "                  tell refused {} = dropped + rejected: {}; work finished {} = handled: {}; \
             drained: {}; consumer stopped: {}",
            self.report.refused,
            yes(self.report.refused == s.dropped_newest + s.rejected),
            self.finished,
            yes(self.finished == s.handled),
            yes(self.drained),
            yes(self.consumer_stopped),
        );
        println!(
            "    nothing unaccounted: {} ({} produced = {} handled + {} dropped + {} evicted \
             + {} rejected + {} timed out + {} stopped + {} closed)",
            yes(self.accounted()),
            self.report.produced,
            s.handled,
            s.dropped_newest,
            s.evicted,
            s.rejected,
            s.timed_out,
            s.stopped,
            s.closed,
        );
        let (expected, what) = self.as_expected();
        println!("    as expected: {} ({what})", yes(expected));
    }

    /// Every check, the policy's expectation included.
    fn all_ok(&self) -> bool {
        self.consistent() && self.as_expected().0
    }
}

/// What the variant does with an item that finds the mailbox full (or comes too soon).
fn describe(variant: Variant) -> &'static str {
    let policy = match variant {
        Variant::Policy(policy) => policy,
        Variant::Credits => {
            return "Block with a credit window of 4, a credit back as each item is finished: the \
                    producer's tell waits for a credit"
        }
        Variant::PauseResume => {
            return "Block, watched by a supervisor that pauses the producer when the mailbox is \
                    full and resumes it at 1"
        }
        Variant::TokenBucket => {
            return "Block behind a rate limit just under the consumer's pace: the producer's tell \
                    waits for a token"
        }
    };
    match policy {
        OverflowPolicy::Block => "a full mailbox makes the producer's tell wait for room",
        OverflowPolicy::DropNewest => "a full mailbox discards the incoming item",
        OverflowPolicy::DropOldest => {
            "a full mailbox evicts its oldest item and queues the incoming one"
        }
        OverflowPolicy::Reject => "a full mailbox refuses the incoming item; tell returns it",
        _ => "see the policy's documentation",
    }
}

/// One timeline line.
fn sample(label: &str, at: Duration, sink: &BoundedAddr<Consumer>, tally: &Tally) {
    let stats = sink.stats();
    let lost: u64 = DropReason::ALL
        .iter()
        .map(|&reason| stats.dropped(reason))
        .sum();
    println!(
        "    {label:>7} {:>5.1}s  {:>3}/{CAPACITY}  {:>8}  {:>7}  {:>5}  {:>5.1}s  {:>5.1}s",
        scenario_secs(at),
        sink.len(),
        tally.produced.load(Relaxed),
        stats.handled,
        lost,
        scenario_secs(tally.held()),
        scenario_secs(tally.paused()),
    );
}

/// Runs the scenario under one variant, printing its timeline.
async fn run(variant: Variant) -> Summary {
    let tally = Arc::new(Tally::default());
    let hook_tally = Arc::clone(&tally);
    let (on_stop, stopped) = oneshot::channel();
    let config = variant
        .config()
        .name("sink")
        .on_drop(move |dropped| hook_tally.record_loss(dropped));
    let sink = Consumer {
        tally: Arc::clone(&tally),
        on_stop: Some(on_stop),
    }
    .start_bounded(config);

    // `pause_resume`: the supervisor, watching often enough for a producer of 10/s.
    let gate = PauseGate::new();
    let supervisor = (variant == Variant::PauseResume).then(|| {
        let supervisor = PressureSupervisor::start();
        let policy = PressurePolicy::new()
            .interval(SECOND / 50)
            .high_watermark(1.0)
            .low_watermark(1.0 / CAPACITY as f64)
            .saturated_after(Duration::ZERO)
            .recovered_after(Duration::ZERO);
        supervisor
            .watch(&sink, policy)
            .expect("a valid pressure policy");
        supervisor
            .add_upstream(&sink, GateUpstream::new("producer", gate.clone()))
            .expect("the mailbox is watched");
        supervisor
    });

    let start = Instant::now();
    let (done, report) = oneshot::channel();
    Producer {
        target: sink.clone(),
        gate,
        tally: Arc::clone(&tally),
        done: Some(done),
    }
    .start();

    println!("  timeline (s = scenario seconds; lost = dropped + evicted + rejected + ...)");
    println!("                  t  depth  produced  handled   lost   held  paused");
    let every = SECOND * TIMELINE_EVERY_SECS;
    let mut at = every;
    while at < SECOND * PRODUCTION_SECS {
        sleep_until(start + at).await;
        sample("", at, &sink, &tally);
        at += every;
    }
    // The run's own time limit covers a producer that never reports.
    let report = report.await.unwrap_or_default();
    sample("ended", start.elapsed(), &sink, &tally);

    let drain_deadline = Instant::now() + SECOND * DRAIN_LIMIT_SECS;
    let drained = loop {
        if sink.is_empty() && tally.finished.load(Relaxed) == sink.stats().handled {
            break true;
        }
        if Instant::now() >= drain_deadline {
            break false;
        }
        sleep(Duration::from_millis(1)).await;
    };
    sample("drained", start.elapsed(), &sink, &tally);

    let stats = sink.stats();
    if let Some(supervisor) = supervisor {
        supervisor.stop();
    }
    // The last address goes: the consumer stops once its mailbox is empty.
    drop(sink);
    let consumer_stopped = timeout(SECOND * DRAIN_LIMIT_SECS, stopped).await.is_ok();

    let handled_items = std::mem::take(&mut *lock(&tally.handled_items));
    let lost_items = std::mem::take(&mut *lock(&tally.lost_items));
    let hook_calls = std::mem::take(&mut *lock(&tally.hook_calls));
    let mut every_item: Vec<u64> = handled_items
        .iter()
        .copied()
        .chain(lost_items.iter().map(|&(n, _)| n))
        .collect();
    every_item.sort_unstable();
    let each_item_once = every_item.into_iter().eq(1..=report.produced);
    let hook_total: u64 = hook_calls.values().sum();
    let hook_matches = DropReason::ALL.iter().all(|&reason| {
        let by_hook = hook_calls.get(&reason).copied().unwrap_or(0);
        let by_items = lost_items.iter().filter(|(_, r)| *r == reason).count() as u64;
        by_hook == stats.dropped(reason) && by_items == by_hook
    }) && hook_total
        == DropReason::ALL
            .iter()
            .map(|&r| stats.dropped(r))
            .sum::<u64>();
    let finished = tally.finished.load(Relaxed);
    let mean_lag = if handled_items.is_empty() {
        0.0
    } else {
        tally.lag_sum.load(Relaxed) as f64 / handled_items.len() as f64
    };
    let last_handled = handled_items[handled_items.len().saturating_sub(CAPACITY + 1)..].to_vec();

    Summary {
        variant,
        max_depth: tally.max_depth.load(Relaxed),
        report,
        stats,
        finished,
        mean_lag,
        last_handled,
        each_item_once,
        hook_matches,
        hook_total,
        drained,
        consumer_stopped,
    }
}

fn print_table(summaries: &[Summary]) {
    println!("comparison (held: scenario seconds of the {PRODUCTION_SECS} s window)");
    println!(
        "  {:<12} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>7} {:>7} {:>7} {:>5}  {:<9}  checks",
        "variant",
        "produced",
        "handled",
        "dropped",
        "evicted",
        "rejected",
        "stopped",
        "held",
        "paused",
        "deepest",
        "lag",
        "accounted",
    );
    for s in summaries {
        let st = &s.stats;
        let yes = |ok: bool| if ok { "yes" } else { "NO" };
        println!(
            "  {:<12} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>6.1}s {:>6.1}s {:>5}/{CAPACITY} {:>5.1}  {:<9}  {}",
            s.variant.name(),
            s.report.produced,
            st.handled,
            st.dropped_newest,
            st.evicted,
            st.rejected,
            st.stopped,
            scenario_secs(s.report.held),
            scenario_secs(s.report.paused),
            s.max_depth,
            s.mean_lag,
            yes(s.accounted()),
            yes(s.all_ok()),
        );
    }
    println!("  (lag: items produced after a handled item by the time the consumer picked it up;");
    println!(
        "   deepest: the most queued after a tell; paused: waiting for the supervisor's resume)"
    );
}

/// What the command line asks for.
enum Command {
    Run(Vec<Variant>),
    Help,
}

/// One variant, `all` of them (the default) or help.
fn parse_args() -> Result<Command, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(Command::Run(Variant::all())),
        [arg] if arg == "all" => Ok(Command::Run(Variant::all())),
        [arg] if OTHER_VARIANTS.iter().any(|v| v.name() == arg) => Ok(Command::Run(
            OTHER_VARIANTS
                .into_iter()
                .filter(|v| v.name() == arg)
                .collect(),
        )),
        [arg] if arg == "-h" || arg == "--help" => Ok(Command::Help),
        [arg] => arg
            .parse::<OverflowPolicy>()
            .map(|policy| Command::Run(vec![Variant::Policy(policy)]))
            .map_err(|err| {
                format!(
                    "{err}, or `credits`, `pause_resume`, `token_bucket`, or `all` to run each in \
                     turn"
                )
            }),
        [_, extra, ..] => Err(format!("unexpected extra argument `{extra}`")),
    }
}

fn main() -> ExitCode {
    let variants = match parse_args() {
        Ok(Command::Run(variants)) => variants,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("seed_pipeline: {err}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };

    println!(
        "A producer makes {PRODUCE_PER_SEC} items/s and tells them to a consumer that handles \
         {CONSUME_PER_SEC} items/s, one at a time, through a mailbox of {CAPACITY}."
    );
    println!(
        "Time is scaled: 1 scenario second = {} ms of wall time; each variant produces for {} s \
         ({} ms wall), then the consumer drains the mailbox.",
        SECOND.as_millis(),
        PRODUCTION_SECS,
        (SECOND * PRODUCTION_SECS).as_millis(),
    );

    let wall = std::time::Instant::now();
    let summaries = System::new().block_on(async {
        let mut summaries = Vec::new();
        for variant in variants {
            println!();
            println!("== {}: {}", variant.name(), describe(variant));
            match timeout(SECOND * RUN_LIMIT_SECS, run(variant)).await {
                Ok(summary) => {
                    summary.print();
                    summaries.push(summary);
                }
                Err(_) => {
                    println!(
                        "  did not finish within {RUN_LIMIT_SECS} scenario seconds: giving up"
                    );
                    summaries.clear();
                    break;
                }
            }
        }
        System::current().stop();
        summaries
    });

    if summaries.len() > 1 {
        println!();
        print_table(&summaries);
    }
    println!();
    println!("wall time {:.2} s", wall.elapsed().as_secs_f64());
    if !summaries.is_empty() && summaries.iter().all(Summary::all_ok) {
        ExitCode::SUCCESS
    } else {
        eprintln!("seed_pipeline: a check failed or a run did not finish (see above)");
        ExitCode::FAILURE
    }
}
