//! A pressure supervisor pausing a fast producer before its slow consumer's mailbox overflows,
//! in real time, with a printed timeline.
//!
//! A `Producer` actor makes one item per [`PRODUCE_EVERY`] (ticks of
//! `PauseGate::interval`) and hands each to the `Consumer` with `BoundedAddr::try_send`, which
//! never waits. The `Consumer` takes [`WORK`] per item, one at a time (its handler returns an
//! `AtomicResponse`), behind a mailbox of [`CAPACITY`] under `DropNewest`: on its own, the
//! producer would fill the mailbox within half a second and lose items from then on.
//!
//! A `PressureSupervisor` watches the consumer's mailbox and has the producer's gate as its
//! upstream (`GateUpstream`). The policy ([`pressure_policy`]) is tuned so that the pause
//! comes before the mailbox is full: between the mailbox crossing the high watermark and the
//! pause, at most one sample interval plus `saturated_after` pass, in which the mailbox grows
//! by the producer's rate minus the consumer's; that must fit in the room left above the
//! watermark, `(1 - high) * capacity`. Once the mailbox has drained below the low watermark
//! for long enough, the producer is resumed, and so on until it has made [`TOTAL`] items.
//!
//! The program prints each decision of the supervisor as it is made, a status line every
//! [`STATUS_EVERY`] and a summary, and checks that every item is accounted for: handled, or
//! dropped with a reason (the mailbox's `MailboxStats`), as many as were produced.
//!
//! ```text
//! cargo run --example pause_upstream                    # with the supervisor: nothing lost
//! cargo run --example pause_upstream -- --no-supervisor # the same load without it: drops
//! ```
//!
//! Exit codes: 0 when every check passes, 1 when one fails, 2 for a bad argument.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use actix::fut::{ActorFutureExt, WrapFuture};
use actix::{
    Actor, ActorContext, AsyncContext, AtomicResponse, Context, Handler, Message, StreamHandler,
    System,
};
use actix_backpressure::prelude::*;
use actix_backpressure::{Action, GateUpstream};
use tokio::time::{sleep, timeout, Instant};

/// Capacity of the consumer's mailbox.
const CAPACITY: usize = 300;
/// Time the consumer takes per item: at most 250 items a second (about 200 in practice: a
/// Tokio sleep ends on the millisecond tick after its deadline).
const WORK: Duration = Duration::from_millis(4);
/// Time between two items of the producer: about 1000 items a second, 4 to 5 times the
/// consumer.
const PRODUCE_EVERY: Duration = Duration::from_millis(1);
/// Items the producer makes in all.
const TOTAL: u64 = 1200;
/// Time between two status lines.
const STATUS_EVERY: Duration = Duration::from_millis(500);
/// Time between two checks of whether the run is over (and samples of the depth).
const POLL_EVERY: Duration = Duration::from_millis(5);
/// Time the run may take in all before it is declared hung.
const RUN_LIMIT: Duration = Duration::from_secs(60);

const USAGE: &str = "usage: pause_upstream [--no-supervisor]";

fn lost(stats: &MailboxStats) -> u64 {
    DropReason::ALL
        .iter()
        .map(|&reason| stats.dropped(reason))
        .sum()
}

/// When the consumer's mailbox counts as saturated, and when as recovered.
///
/// The mailbox grows by about 1000 - 200 = 800 items a second while the producer runs. From
/// the moment it crosses the high watermark, the supervisor needs at most one interval to see
/// it, then `saturated_after` of hot samples: 100 ms, 80 items. The room above the watermark
/// is (1 - 0.4) * 300 = 180 items, over twice that.
fn pressure_policy() -> PressurePolicy {
    PressurePolicy::new()
        .interval(Duration::from_millis(50))
        .high_watermark(0.4)
        .low_watermark(0.2)
        .saturated_after(Duration::from_millis(50))
        .recovered_after(Duration::from_millis(100))
}

/// One item.
#[derive(Message)]
#[rtype(result = "()")]
struct Item;

/// The slow end: handles one item at a time, each taking [`WORK`].
struct Consumer;

impl Actor for Consumer {
    type Context = Context<Self>;
}

impl Handler<Item> for Consumer {
    // Atomic: the context waits for the work to finish before it takes the next item, so items
    // pile up in the bounded mailbox rather than in the actor.
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: Item, _: &mut Context<Self>) -> Self::Result {
        AtomicResponse::new(Box::pin(sleep(WORK).into_actor(self).map(|(), _, _| ())))
    }
}

/// What the producer did, read by the status lines and the checks.
#[derive(Default)]
struct Tally {
    produced: AtomicU64,
    /// Items `try_send` handed back (the consumer's mailbox was full).
    refused: AtomicU64,
}

/// The fast end: one item per tick of its gate's interval, [`TOTAL`] in all; no tick comes
/// while the gate is paused.
struct Producer {
    consumer: BoundedAddr<Consumer>,
    gate: PauseGate,
    tally: Arc<Tally>,
}

impl Actor for Producer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.add_stream(self.gate.interval(PRODUCE_EVERY));
    }
}

impl StreamHandler<Instant> for Producer {
    fn handle(&mut self, _: Instant, ctx: &mut Context<Self>) {
        let n = self.tally.produced.fetch_add(1, Relaxed) + 1;
        if self.consumer.try_send(Item).is_err() {
            // Dropped (the mailbox is full) or closed: the mailbox's stats count it too.
            self.tally.refused.fetch_add(1, Relaxed);
        }
        if n == TOTAL {
            ctx.stop();
        }
    }
}

/// Seconds since `start`.
fn secs(at: Instant, start: Instant) -> f64 {
    at.saturating_duration_since(start).as_secs_f64()
}

/// What a run left behind.
struct Outcome {
    supervised: bool,
    produced: u64,
    refused: u64,
    stats: MailboxStats,
    queued: usize,
    max_depth: usize,
    pauses: u64,
    resumes: u64,
    elapsed: Duration,
    finished: bool,
}

impl Outcome {
    fn print(&self) {
        let s = &self.stats;
        let by_reason: Vec<String> = DropReason::ALL
            .iter()
            .map(|&reason| format!("{} {}", reason.as_str(), s.dropped(reason)))
            .collect();
        println!();
        println!(
            "summary ({}), {:.1} s:",
            if self.supervised {
                "with the supervisor"
            } else {
                "without a supervisor"
            },
            self.elapsed.as_secs_f64()
        );
        println!("  produced  {}", self.produced);
        println!("  handled   {}", s.handled);
        println!("  dropped   {} ({})", lost(s), by_reason.join(", "));
        println!("  refused to the producer by try_send: {}", self.refused);
        println!(
            "  deepest the mailbox got: {}/{CAPACITY}; still queued: {}",
            self.max_depth, self.queued
        );
        if self.supervised {
            println!(
                "  the supervisor paused the producer {} time(s), resumed it {} time(s)",
                self.pauses, self.resumes
            );
        }
    }

    /// What went wrong, if anything.
    fn problems(&self) -> Vec<String> {
        let s = &self.stats;
        let mut problems = Vec::new();
        if !self.finished {
            problems.push(format!(
                "the run did not finish within {} s",
                RUN_LIMIT.as_secs()
            ));
        }
        if self.produced != TOTAL {
            problems.push(format!("produced {} items, not {TOTAL}", self.produced));
        }
        if s.handled + lost(s) != self.produced || s.offered() != self.produced {
            problems.push(format!(
                "items unaccounted for: produced {}, offered to the mailbox {}, handled {} + \
                 dropped {} = {}",
                self.produced,
                s.offered(),
                s.handled,
                lost(s),
                s.handled + lost(s)
            ));
        }
        if self.queued != 0 {
            problems.push(format!("{} items still queued", self.queued));
        }
        if self.refused != s.dropped_newest + s.closed {
            problems.push(format!(
                "the producer saw {} items refused, the mailbox counts {} dropped and {} closed",
                self.refused, s.dropped_newest, s.closed
            ));
        }
        if self.supervised && self.pauses == 0 {
            problems.push("the supervisor never paused the producer".to_owned());
        }
        problems
    }
}

/// Runs the load, with a supervisor or without.
async fn run(supervised: bool) -> Outcome {
    let start = Instant::now();
    let tally = Arc::new(Tally::default());
    let consumer = Consumer.start_bounded(
        MailboxConfig::new(CAPACITY)
            .policy(OverflowPolicy::DropNewest)
            .name("consumer"),
    );
    // The producer's gate: the supervisor pauses the producer through it. It is the gate of
    // the producer's own mailbox too.
    let gate = PauseGate::new();

    let supervisor = supervised.then(|| {
        let supervisor = PressureSupervisor::start();
        supervisor
            .watch(&consumer, pressure_policy())
            .expect("a valid policy");
        supervisor
            .add_upstream(&consumer, GateUpstream::new("producer", gate.clone()))
            .expect("the consumer is watched");
        supervisor
    });
    // Prints each decision as it is made; returns how many pauses and resumes there were.
    let printer = supervisor.as_ref().map(|supervisor| {
        let mut decisions = supervisor.subscribe();
        actix::spawn(async move {
            let (mut pauses, mut resumes) = (0, 0);
            while let Some(decision) = decisions.recv().await {
                match decision.action {
                    Action::Pause => pauses += 1,
                    Action::Resume => resumes += 1,
                    _ => {}
                }
                println!("{:6.3} s  {decision}", secs(decision.at, start));
            }
            (pauses, resumes)
        })
    });

    let producer = Producer {
        consumer: consumer.clone(),
        gate: gate.clone(),
        tally: Arc::clone(&tally),
    }
    .start_bounded(
        MailboxConfig::new(16)
            .name("producer")
            .pause_gate(gate.clone()),
    );

    let status =
        |now: Instant| {
            let stats = consumer.stats();
            println!(
            "{:6.3} s  consumer {:>3}/{CAPACITY}  producer {:<7}  produced {:>4}  handled {:>4}  \
             dropped {:>4}",
            secs(now, start),
            consumer.len(),
            if gate.is_paused() { "paused" } else { "running" },
            tally.produced.load(Relaxed),
            stats.handled,
            lost(&stats),
        );
        };
    let mut max_depth = 0;
    let mut next_status = start;
    let finished = loop {
        let now = Instant::now();
        max_depth = max_depth.max(consumer.len());
        let stats = consumer.stats();
        let done = tally.produced.load(Relaxed) == TOTAL
            && consumer.is_empty()
            && stats.settled() == stats.offered();
        if now >= next_status || done {
            status(now);
            next_status += STATUS_EVERY;
        }
        if done {
            break true;
        }
        if now - start >= RUN_LIMIT {
            break false;
        }
        sleep(POLL_EVERY).await;
    };
    let elapsed = start.elapsed();

    let (mut pauses, mut resumes) = (0, 0);
    if let Some(supervisor) = supervisor {
        // Stopping ends the subscription, and the printer with it.
        supervisor.stop();
        if let Some(Ok(Ok(counts))) = match printer {
            Some(printer) => Some(timeout(Duration::from_secs(5), printer).await),
            None => None,
        } {
            (pauses, resumes) = counts;
        }
    }
    let outcome = Outcome {
        supervised,
        produced: tally.produced.load(Relaxed),
        refused: tally.refused.load(Relaxed),
        stats: consumer.stats(),
        queued: consumer.len(),
        max_depth,
        pauses,
        resumes,
        elapsed,
        finished,
    };
    drop(producer);
    drop(consumer);
    outcome
}

fn main() -> ExitCode {
    let mut supervised = true;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--no-supervisor" => supervised = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("pause_upstream: unknown argument {arg}");
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }

    let policy = pressure_policy();
    println!(
        "A producer makes an item every {} ms ({TOTAL} in all) and try_sends it to a consumer \
         that takes {} ms per item, through a mailbox of {CAPACITY} under drop_newest.",
        PRODUCE_EVERY.as_millis(),
        WORK.as_millis(),
    );
    if supervised {
        println!(
            "A supervisor samples the mailbox every {} ms and pauses the producer once it has \
             stayed at least {:.0}% full for {} ms; it resumes the producer once the mailbox \
             has stayed at most {:.0}% full for {} ms.",
            policy.get_interval().as_millis(),
            policy.get_high_watermark() * 100.0,
            policy.get_saturated_after().as_millis(),
            policy.get_low_watermark() * 100.0,
            policy.get_recovered_after().as_millis(),
        );
    } else {
        println!("No supervisor (--no-supervisor): once the mailbox is full, items are dropped.");
    }
    println!();

    let outcome = System::new().block_on(run(supervised));
    outcome.print();
    let mut problems = outcome.problems();
    if supervised && lost(&outcome.stats) > 0 {
        // Not a failure of the accounting: the pause came too late on this machine.
        println!(
            "  note: {} items were dropped although the supervisor watched the mailbox: the \
             pause came late (an overloaded machine?)",
            lost(&outcome.stats)
        );
    }
    if problems.is_empty() {
        println!("every item is accounted for: handled + dropped = produced");
        ExitCode::SUCCESS
    } else {
        problems.sort();
        for problem in &problems {
            eprintln!("FAILED: {problem}");
        }
        ExitCode::FAILURE
    }
}
