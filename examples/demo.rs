//! The live demo: a three-stage pipeline under a load that changes by phase, with the pressure
//! supervisor scaling its worker pool and pausing its upstreams, drawn in the terminal.
//!
//! ```text
//! source ──try_send──▶ parse (WorkerPool, 1 to 8 workers) ──tell──▶ sink
//! ```
//!
//! - `source` makes records from the ticks of a `PauseGate::interval` at the rate of the
//!   current phase, and hands each to `parse` with `try_send`, which never waits.
//! - `parse` is a `WorkerPool` of 1 to 8 workers behind one mailbox of [`PARSE_CAPACITY`]
//!   under `drop_newest`; each worker takes [`PARSE_WORK`] per record (about 90 records a
//!   second, so at most ~700 for the pool), then `tell`s it to the sink.
//! - `sink` is one actor behind a mailbox of [`SINK_CAPACITY`] under `drop_oldest`: it keeps up
//!   with anything, except in the second half of the overload, when it takes
//!   [`SLOW_SINK_WORK`] per record (~300 a second).
//!
//! The supervisor has three jobs. It sizes the pool (`manage_pool` with [`scaling_rule`]):
//! up by two workers once the pool's mailbox stays a fifth full, down by one after a calm
//! second. It pauses the source (`GateUpstream` on its interval's gate) once `parse` stays
//! saturated ([`parse_policy`]): when even 8 workers cannot keep up. And it pauses `parse`
//! itself, every worker at once through the pool's mailbox gate, once the sink stays
//! saturated ([`sink_policy`]); the pool's mailbox then fills, and the source is paused in turn.
//!
//! The phases, over the run's length (24 s by default, `--seconds N`): calm (60 records/s,
//! 4/24 of the run), a short burst (350/s, 3/24: the pool scales up, the mailbox absorbs it),
//! a long overload (1000/s, 10/24: the source is paused and resumed; in its second half the
//! sink slows down and `parse` is paused too), and calm again (7/24: the pool scales down).
//! Without the pauses (`--no-pause`) the same load loses records at both mailboxes.
//!
//! When stdout is a terminal the program redraws a live view ten times a second: a bar per
//! mailbox (depth/capacity), the workers, what is paused, drops by reason, the phase and the
//! supervisor's last decisions. Otherwise (CI, a pipe) it prints each decision as it is made
//! and one status line a second. At the end it stops the source, lets the pipeline drain and
//! prints a summary: records sent, handled and dropped (by reason) at each stage, and the
//! supervisor's actions. It checks that nothing is unaccounted for: at each stage, what was
//! offered is handled or dropped with a reason. A run of at least 20 s must also have paused
//! the source and scaled the pool up (unless `--no-pause`).
//!
//! ```text
//! cargo run --release --example demo
//! cargo run --release --example demo -- --seconds 8 --no-pause
//! cargo run --release --example demo -- --metrics 127.0.0.1:9464
//! ```
//!
//! Exit codes: 0 when every check passes, 1 when one fails, 2 for a bad argument or when
//! metrics cannot be served.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use actix::fut::wrap_future;
use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Message, StreamHandler, System};
use actix_backpressure::prelude::*;
use actix_backpressure::{Action, Decision, GateUpstream};
use tokio::time::{sleep, timeout, Instant, MissedTickBehavior};

/// Capacity of the pool's mailbox.
const PARSE_CAPACITY: usize = 800;
/// Capacity of the sink's mailbox.
const SINK_CAPACITY: usize = 400;
/// The fewest and the most workers of the pool.
const MIN_WORKERS: usize = 1;
const MAX_WORKERS: usize = 8;
/// Time a worker takes per record: about 90 records a second (a Tokio sleep ends on the
/// millisecond tick after its deadline).
const PARSE_WORK: Duration = Duration::from_millis(10);
/// Time the sink takes per record while it is slow: about 300 records a second.
const SLOW_SINK_WORK: Duration = Duration::from_millis(3);
/// Time between two ticks of the source; it sends what the phase's rate owes at each.
const TICK: Duration = Duration::from_millis(5);
/// Length of the load, in seconds, unless `--seconds` says otherwise.
const DEFAULT_SECONDS: f64 = 24.0;
/// Runs at least this long (seconds) must show a pause and a scale-up.
const FULL_LENGTH: f64 = 20.0;
/// Time between two frames of the terminal view.
const FRAME_EVERY: Duration = Duration::from_millis(100);
/// Time between two status lines when stdout is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(1);
/// Time the pipeline may take to drain once the source has stopped.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);
/// Decisions the terminal view shows.
const RECENT: usize = 6;
/// Width of a mailbox bar, in characters.
const BAR: usize = 30;

const USAGE: &str = "usage: demo [--seconds N] [--no-pause] [--metrics ADDR]";

fn lost(stats: &MailboxStats) -> u64 {
    DropReason::ALL
        .iter()
        .map(|&reason| stats.dropped(reason))
        .sum()
}

/// One phase of the load.
struct Phase {
    name: &'static str,
    /// Its share of the run, in 24ths.
    weight: u32,
    /// Records per second the source offers.
    rate: f64,
    /// Whether the sink takes [`SLOW_SINK_WORK`] per record.
    slow_sink: bool,
}

const PHASES: [Phase; 5] = [
    Phase {
        name: "calm",
        weight: 4,
        rate: 60.0,
        slow_sink: false,
    },
    Phase {
        name: "burst",
        weight: 3,
        rate: 350.0,
        slow_sink: false,
    },
    Phase {
        name: "long overload",
        weight: 5,
        rate: 1000.0,
        slow_sink: false,
    },
    Phase {
        name: "long overload, slow sink",
        weight: 5,
        rate: 1000.0,
        slow_sink: true,
    },
    Phase {
        name: "calm again",
        weight: 7,
        rate: 60.0,
        slow_sink: false,
    },
];

/// The schedule: which phase runs when.
#[derive(Clone, Copy)]
struct Plan {
    start: Instant,
    length: Duration,
}

impl Plan {
    /// The phase running at `at` (with its number from 1), or `None` once the load is over.
    fn phase_at(&self, at: Instant) -> Option<(usize, &'static Phase)> {
        let elapsed = at.saturating_duration_since(self.start).as_secs_f64();
        let length = self.length.as_secs_f64();
        if elapsed >= length {
            return None;
        }
        let total: u32 = PHASES.iter().map(|p| p.weight).sum();
        let mut end = 0.0;
        for (i, phase) in PHASES.iter().enumerate() {
            end += length * f64::from(phase.weight) / f64::from(total);
            if elapsed < end {
                return Some((i + 1, phase));
            }
        }
        Some((PHASES.len(), &PHASES[PHASES.len() - 1]))
    }
}

/// When the pool grows and shrinks: it grows well before the pause watermark of
/// [`parse_policy`], so that a burst is met with workers, and only a load beyond what the
/// most workers handle pauses the source.
fn scaling_rule() -> HpaScaling {
    HpaScaling::new()
        .high_watermark(0.2)
        .low_watermark(0.05)
        .up_after(Duration::from_millis(200))
        .step(2)
        .cooldown(Duration::from_millis(500))
        .down_after(Duration::from_secs(1))
}

/// When the pool's mailbox counts as saturated (the source is paused), and when as recovered.
///
/// With every worker parsing, the mailbox grows by about 1000 - 700 = 300 records a second;
/// with the pool paused (the sink is saturated), by 1000. The supervisor acts about one
/// interval plus `saturated_after` after the watermark is crossed: 150 ms, 150 records
/// (measured: up to 200), against (1 - 0.5) * 800 = 400 slots above the watermark.
fn parse_policy() -> PressurePolicy {
    PressurePolicy::new()
        .interval(Duration::from_millis(50))
        .high_watermark(0.5)
        .low_watermark(0.2)
        .saturated_after(Duration::from_millis(100))
        .recovered_after(Duration::from_millis(500))
}

/// When the sink's mailbox counts as saturated (the pool is paused), and when as recovered.
///
/// A slow sink falls behind 8 workers by about 700 - 300 = 400 records a second: at most 60
/// records in the 150 ms the supervisor may take, plus one per worker finishing its record,
/// against (1 - 0.5) * 400 = 200 slots above the watermark.
fn sink_policy() -> PressurePolicy {
    PressurePolicy::new()
        .interval(Duration::from_millis(50))
        .high_watermark(0.5)
        .low_watermark(0.2)
        .saturated_after(Duration::from_millis(100))
        .recovered_after(Duration::from_millis(500))
}

/// A record.
#[derive(Message)]
#[rtype(result = "()")]
struct Record;

/// What the source did, read by the view and the checks.
#[derive(Default)]
struct SourceCounts {
    sent: AtomicU64,
    /// Records `try_send` handed back (the pool's mailbox was full); its stats count them too.
    refused: AtomicU64,
}

/// Offers records to `parse` at the rate of the phase, on the ticks of its gate's interval:
/// none while the gate is paused. Stops once the load is over.
struct Source {
    plan: Plan,
    parse: BoundedAddr<Parser>,
    gate: PauseGate,
    counts: Arc<SourceCounts>,
    /// Records owed at the phase's rate, not sent yet.
    credit: f64,
    last: Option<Instant>,
}

impl Actor for Source {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.add_stream(self.gate.interval(TICK));
    }
}

impl StreamHandler<Instant> for Source {
    fn handle(&mut self, _: Instant, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let Some((_, phase)) = self.plan.phase_at(now) else {
            ctx.stop();
            return;
        };
        // Owed for the time since the last tick, at most a few ticks' worth: a paused source
        // is not owed what it did not make while paused.
        let since = self.last.map_or(TICK, |last| now - last).min(4 * TICK);
        self.last = Some(now);
        self.credit += phase.rate * since.as_secs_f64();
        while self.credit >= 1.0 {
            self.credit -= 1.0;
            self.counts.sent.fetch_add(1, Relaxed);
            if self.parse.try_send(Record).is_err() {
                self.counts.refused.fetch_add(1, Relaxed);
            }
        }
    }
}

/// A worker of the `parse` pool: [`PARSE_WORK`] per record, then hands it to the sink.
struct Parser {
    sink: BoundedAddr<Sink>,
}

impl Actor for Parser {
    type Context = Context<Self>;
}

impl Handler<Record> for Parser {
    type Result = ();

    fn handle(&mut self, record: Record, ctx: &mut Context<Self>) {
        let sink = self.sink.clone();
        // `wait`: this worker takes its next record once this one is parsed and handed on.
        ctx.wait(wrap_future(async move {
            sleep(PARSE_WORK).await;
            // Under drop_oldest the sink always takes it (evicting its oldest record when
            // full); an error means it closed, which its mailbox counts.
            let _ = sink.tell(record).await;
        }));
    }
}

/// The end of the pipeline: instant, except in the phase with a slow sink.
struct Sink {
    plan: Plan,
}

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<Record> for Sink {
    type Result = ();

    fn handle(&mut self, _: Record, ctx: &mut Context<Self>) {
        let slow = self
            .plan
            .phase_at(Instant::now())
            .is_some_and(|(_, phase)| phase.slow_sink);
        if slow {
            ctx.wait(wrap_future(sleep(SLOW_SINK_WORK)));
        }
    }
}

/// The supervisor's decisions, as the view and the summary need them.
#[derive(Default)]
struct Log {
    recent: VecDeque<String>,
    pauses: u64,
    resumes: u64,
    scale_ups: u64,
    scale_downs: u64,
    most_workers: usize,
}

/// A decision in a few words.
fn describe(d: &Decision, start: Instant) -> String {
    let upstream = d.upstream.as_deref().unwrap_or("?");
    let what = match d.action {
        Action::Pause => format!("pause {upstream}: {} saturated", d.mailbox),
        Action::Resume if d.mailbox.is_empty() => {
            format!("resume {upstream}: the supervisor stopped")
        }
        Action::Resume => format!("resume {upstream}: {} recovered", d.mailbox),
        Action::ScaleUp | Action::ScaleDown => format!(
            "{} {} to {} workers",
            if d.action == Action::ScaleUp {
                "grow"
            } else {
                "shrink"
            },
            d.mailbox,
            d.workers.unwrap_or(0)
        ),
        _ => d.to_string(),
    };
    let reading = d.reading.map_or_else(String::new, |r| {
        format!(" at {}/{} ({:.0}%)", r.depth, r.capacity, r.fill * 100.0)
    });
    format!("{:6.2} s  {what}{reading}", secs(d.at, start))
}

/// Seconds since `start`.
fn secs(at: Instant, start: Instant) -> f64 {
    at.saturating_duration_since(start).as_secs_f64()
}

/// A counter's rate over about the last second.
#[derive(Default)]
struct Rate {
    window: VecDeque<(Instant, u64)>,
}

impl Rate {
    fn update(&mut self, now: Instant, value: u64) -> f64 {
        self.window.push_back((now, value));
        while self.window.len() > 2 && now - self.window[1].0 >= Duration::from_secs(1) {
            self.window.pop_front();
        }
        let (then, before) = self.window[0];
        let dt = (now - then).as_secs_f64();
        if dt > 0.0 {
            value.saturating_sub(before) as f64 / dt
        } else {
            0.0
        }
    }
}

/// The pipeline's figures at one instant.
struct Snapshot {
    at: Instant,
    phase: Option<(usize, &'static Phase)>,
    sent: u64,
    refused: u64,
    source_paused: bool,
    parse: MailboxStats,
    parse_len: usize,
    parse_paused: bool,
    workers: usize,
    sink: MailboxStats,
    sink_len: usize,
    sent_rate: f64,
    parse_rate: f64,
    sink_rate: f64,
}

/// The pipeline, as the view reads it.
struct Pipeline {
    plan: Plan,
    counts: Arc<SourceCounts>,
    gate: PauseGate,
    parse: WorkerPool<Parser>,
    sink: BoundedAddr<Sink>,
    rates: [Rate; 3],
}

impl Pipeline {
    fn snapshot(&mut self) -> Snapshot {
        let at = Instant::now();
        let sent = self.counts.sent.load(Relaxed);
        let parse = self.parse.stats();
        let sink = self.sink.stats();
        Snapshot {
            at,
            phase: self.plan.phase_at(at),
            sent,
            refused: self.counts.refused.load(Relaxed),
            source_paused: self.gate.is_paused(),
            parse,
            parse_len: self.parse.len(),
            parse_paused: self.parse.is_paused(),
            workers: self.parse.workers(),
            sink,
            sink_len: self.sink.len(),
            sent_rate: self.rates[0].update(at, sent),
            parse_rate: self.rates[1].update(at, parse.handled),
            sink_rate: self.rates[2].update(at, sink.handled),
        }
    }

    /// Whether everything sent is settled at both stages and nothing is queued.
    fn drained(&self, s: &Snapshot) -> bool {
        s.phase.is_none()
            && s.parse_len == 0
            && s.sink_len == 0
            && s.parse.offered() == s.sent
            && s.parse.settled() == s.sent
            && s.sink.offered() == s.parse.handled
            && s.sink.settled() == s.sink.offered()
    }
}

/// Terminal escapes (only written to a terminal).
mod ansi {
    pub const CLEAR: &str = "\x1b[2J\x1b[H";
    pub const HOME: &str = "\x1b[H";
    pub const CLEAR_LINE: &str = "\x1b[K";
    pub const CLEAR_BELOW: &str = "\x1b[J";
    pub const HIDE_CURSOR: &str = "\x1b[?25l";
    pub const SHOW_CURSOR: &str = "\x1b[?25h";
    pub const BOLD: &str = "\x1b[1m";
    pub const DIM: &str = "\x1b[2m";
    pub const RED: &str = "\x1b[31m";
    pub const GREEN: &str = "\x1b[32m";
    pub const YELLOW: &str = "\x1b[33m";
    pub const RESET: &str = "\x1b[0m";
}

/// `depth/capacity` as a bar, coloured by how full it is.
fn bar(depth: usize, capacity: usize) -> String {
    let filled = (depth * BAR).div_ceil(capacity.max(1)).min(BAR);
    let fill = depth as f64 / capacity.max(1) as f64;
    let color = if fill >= 0.5 {
        ansi::RED
    } else if fill >= 0.2 {
        ansi::YELLOW
    } else {
        ansi::GREEN
    };
    format!(
        "[{color}{}{}{}]",
        "█".repeat(filled),
        ansi::RESET,
        "░".repeat(BAR - filled)
    )
}

/// Records dropped, by reason: `0`, or `12 (drop_newest 12)`.
fn drops(stats: &MailboxStats) -> String {
    let reasons: Vec<String> = DropReason::ALL
        .iter()
        .filter(|&&reason| stats.dropped(reason) > 0)
        .map(|&reason| format!("{reason} {}", stats.dropped(reason)))
        .collect();
    if reasons.is_empty() {
        "0".to_owned()
    } else {
        format!("{} ({})", lost(stats), reasons.join(", "))
    }
}

/// The paused upstreams, by name.
fn paused(s: &Snapshot) -> String {
    let names: Vec<&str> = [("source", s.source_paused), ("parse", s.parse_paused)]
        .iter()
        .filter(|(_, paused)| *paused)
        .map(|(name, _)| *name)
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn phase_text(s: &Snapshot, drained: bool) -> String {
    match s.phase {
        Some((n, phase)) => format!(
            "phase {n}/{}: {} ({:.0} records/s offered{})",
            PHASES.len(),
            phase.name,
            phase.rate,
            if phase.slow_sink {
                ", sink slowed down"
            } else {
                ""
            }
        ),
        None if drained => "done: the pipeline has drained".to_owned(),
        None => "the source has stopped: draining".to_owned(),
    }
}

fn state(paused: bool) -> String {
    if paused {
        format!("{}{}PAUSED {}", ansi::BOLD, ansi::YELLOW, ansi::RESET)
    } else {
        "running".to_owned()
    }
}

/// The terminal view: at most 80 columns.
fn frame(s: &Snapshot, plan: &Plan, log: &Log, drained: bool) -> String {
    let workers = format!(
        "{}{}",
        "■".repeat(s.workers.min(MAX_WORKERS)),
        "□".repeat(MAX_WORKERS.saturating_sub(s.workers))
    );
    let sink_speed = if s.phase.is_some_and(|(_, p)| p.slow_sink) {
        format!("{}slow{}   ", ansi::YELLOW, ansi::RESET)
    } else {
        "fast   ".to_owned()
    };
    let mut lines = vec![
        format!(
            "{}actix-backpressure live demo{}   {:5.1} s of {:.0} s",
            ansi::BOLD,
            ansi::RESET,
            secs(s.at, plan.start),
            plan.length.as_secs_f64()
        ),
        phase_text(s, drained),
        format!(
            "{}source ─try_send─▶ parse ({MIN_WORKERS} to {MAX_WORKERS} workers, {} ms each) \
             ─tell─▶ sink{}",
            ansi::DIM,
            PARSE_WORK.as_millis(),
            ansi::RESET
        ),
        String::new(),
        format!(
            "source  {}   sent    {:>7}  {:>5.0}/s   refused {}",
            if s.phase.is_none() {
                "stopped".to_owned()
            } else {
                state(s.source_paused)
            },
            s.sent,
            s.sent_rate,
            s.refused
        ),
        format!(
            "parse   {} {:>4}/{PARSE_CAPACITY} {:>3.0}%  {}",
            bar(s.parse_len, PARSE_CAPACITY),
            s.parse_len,
            s.parse_len as f64 * 100.0 / PARSE_CAPACITY as f64,
            state(s.parse_paused)
        ),
        format!(
            "        workers {workers} {}/{MAX_WORKERS}  handled {:>7}  {:>5.0}/s   dropped {}",
            s.workers,
            s.parse.handled,
            s.parse_rate,
            drops(&s.parse)
        ),
        format!(
            "sink    {} {:>4}/{SINK_CAPACITY} {:>3.0}%",
            bar(s.sink_len, SINK_CAPACITY),
            s.sink_len,
            s.sink_len as f64 * 100.0 / SINK_CAPACITY as f64,
        ),
        format!(
            "        {sink_speed}          handled {:>7}  {:>5.0}/s   dropped {}",
            s.sink.handled,
            s.sink_rate,
            drops(&s.sink)
        ),
        String::new(),
        format!("paused upstreams: {}", paused(s)),
        format!(
            "supervisor: {} pauses, {} resumes, {} scale-ups, {} scale-downs; most workers {}",
            log.pauses, log.resumes, log.scale_ups, log.scale_downs, log.most_workers
        ),
        "recent decisions:".to_owned(),
    ];
    lines.extend(log.recent.iter().map(|d| format!("  {d}")));
    let mut out = String::from(ansi::HOME);
    for line in lines {
        out.push_str(&line);
        out.push_str(ansi::CLEAR_LINE);
        out.push('\n');
    }
    out.push_str(ansi::CLEAR_BELOW);
    out
}

/// A plain status line, for a pipe or a CI log.
fn status_line(s: &Snapshot, plan: &Plan) -> String {
    let phase = s.phase.map_or("draining", |(_, phase)| phase.name);
    format!(
        "{:6.2} s  {phase:<24}  source {} sent {} | parse {}/{PARSE_CAPACITY} workers {} \
         handled {} dropped {} | sink {}/{SINK_CAPACITY} handled {} dropped {} | paused: {}",
        secs(s.at, plan.start),
        match (s.phase, s.source_paused) {
            (None, _) => "stopped",
            (Some(_), true) => "paused",
            (Some(_), false) => "running",
        },
        s.sent,
        s.parse_len,
        s.workers,
        s.parse.handled,
        drops(&s.parse),
        s.sink_len,
        s.sink.handled,
        drops(&s.sink),
        paused(s)
    )
}

/// What a run left behind.
struct Outcome {
    length: Duration,
    pausing: bool,
    sent: u64,
    refused: u64,
    parse: MailboxStats,
    sink: MailboxStats,
    queued: usize,
    deepest: (usize, usize),
    log: Log,
    drain: Duration,
    drained: bool,
}

impl Outcome {
    fn print(&self) {
        let stage = |name: &str, offered: u64, stats: &MailboxStats| {
            let by_reason: Vec<String> = DropReason::ALL
                .iter()
                .map(|&reason| format!("{reason} {}", stats.dropped(reason)))
                .collect();
            println!(
                "  {name:<6} offered {offered:>6}  handled {:>6}  dropped {:>5}",
                stats.handled,
                lost(stats),
            );
            println!("         dropped by reason: {}", by_reason.join(", "));
        };
        println!();
        println!(
            "summary: {:.1} s of load{}, drained in {:.1} s",
            self.length.as_secs_f64(),
            if self.pausing { "" } else { " without pauses" },
            self.drain.as_secs_f64()
        );
        println!(
            "  source sent    {:>6}  (try_send refused {})",
            self.sent, self.refused
        );
        stage("parse", self.sent, &self.parse);
        stage("sink", self.parse.handled, &self.sink);
        println!(
            "  supervisor: {} pauses, {} resumes, {} scale-ups, {} scale-downs; at most {} \
             workers (of {MAX_WORKERS})",
            self.log.pauses,
            self.log.resumes,
            self.log.scale_ups,
            self.log.scale_downs,
            self.log.most_workers
        );
        println!(
            "  deepest mailboxes: parse {}/{PARSE_CAPACITY}, sink {}/{SINK_CAPACITY}",
            self.deepest.0, self.deepest.1
        );
    }

    /// What went wrong, if anything.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.drained {
            problems.push(format!(
                "the pipeline did not drain within {} s",
                DRAIN_LIMIT.as_secs()
            ));
        }
        let stages = [
            ("parse", self.sent, &self.parse),
            ("sink", self.parse.handled, &self.sink),
        ];
        for (name, offered, stats) in stages {
            if stats.offered() != offered || stats.handled + lost(stats) != offered {
                problems.push(format!(
                    "{name}: records unaccounted for: {offered} offered, the mailbox counts {} \
                     offered, handled {} + dropped {} = {}",
                    stats.offered(),
                    stats.handled,
                    lost(stats),
                    stats.handled + lost(stats)
                ));
            }
        }
        if self.queued != 0 {
            problems.push(format!("{} records still queued", self.queued));
        }
        if self.refused != self.parse.dropped_newest + self.parse.closed {
            problems.push(format!(
                "the source saw {} records refused, the pool's mailbox counts {} dropped and {} \
                 closed",
                self.refused, self.parse.dropped_newest, self.parse.closed
            ));
        }
        if self.pausing && self.length.as_secs_f64() >= FULL_LENGTH {
            if self.log.pauses == 0 {
                problems.push("the supervisor never paused an upstream".to_owned());
            }
            if self.log.scale_ups == 0 {
                problems.push("the supervisor never scaled the pool up".to_owned());
            }
        }
        problems
    }
}

/// Runs the pipeline for `length`, then drains it.
async fn run(length: Duration, pausing: bool, tty: bool) -> Outcome {
    let plan = Plan {
        start: Instant::now(),
        length,
    };
    let sink = Sink { plan }.start_bounded(
        MailboxConfig::new(SINK_CAPACITY)
            .name("sink")
            .policy(OverflowPolicy::DropOldest),
    );
    let parse = {
        let sink = sink.clone();
        WorkerPool::builder(
            MailboxConfig::new(PARSE_CAPACITY)
                .name("parse")
                .policy(OverflowPolicy::DropNewest),
            move || Parser { sink: sink.clone() },
        )
        .min(MIN_WORKERS)
        .max(MAX_WORKERS)
        .start()
    };
    // The source's gate: the supervisor pauses the source's ticks through it.
    let gate = PauseGate::new();

    let supervisor = PressureSupervisor::start();
    let mut decisions = supervisor.subscribe();
    supervisor
        .manage_pool(&parse, scaling_rule())
        .expect("a valid scaling rule");
    if pausing {
        supervisor
            .watch(&parse, parse_policy())
            .expect("a valid policy");
        supervisor
            .add_upstream(&parse, GateUpstream::new("source", gate.clone()))
            .expect("parse is watched");
        supervisor
            .watch(&sink, sink_policy())
            .expect("a valid policy");
        // Pausing the pool's mailbox pauses every worker.
        supervisor
            .add_upstream(&sink, parse.addr())
            .expect("sink is watched");
    }
    let log = Rc::new(RefCell::new(Log {
        most_workers: parse.workers(),
        ..Log::default()
    }));
    let recorder = {
        let log = Rc::clone(&log);
        actix::spawn(async move {
            while let Some(decision) = decisions.recv().await {
                let mut log = log.borrow_mut();
                match decision.action {
                    Action::Pause => log.pauses += 1,
                    Action::Resume => log.resumes += 1,
                    Action::ScaleUp => log.scale_ups += 1,
                    Action::ScaleDown => log.scale_downs += 1,
                    // A saturation or a recovery comes with the pauses or resumes it causes,
                    // which say the same: shown once.
                    _ => continue,
                }
                if let Some(workers) = decision.workers {
                    log.most_workers = log.most_workers.max(workers);
                }
                let line = describe(&decision, plan.start);
                if !tty {
                    println!("{line}");
                }
                log.recent.push_back(line);
                if log.recent.len() > RECENT {
                    log.recent.pop_front();
                }
            }
        })
    };

    let counts = Arc::new(SourceCounts::default());
    let source = Source {
        plan,
        parse: parse.addr().clone(),
        gate: gate.clone(),
        counts: Arc::clone(&counts),
        credit: 0.0,
        last: None,
    }
    .start_bounded(MailboxConfig::new(1).name("source"));

    let mut pipeline = Pipeline {
        plan,
        counts,
        gate,
        parse,
        sink,
        rates: Default::default(),
    };
    let mut ticks = tokio::time::interval(FRAME_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut next_line = plan.start;
    if tty {
        print!("{}{}", ansi::CLEAR, ansi::HIDE_CURSOR);
    }
    let mut deepest = (0, 0);
    let mut ended: Option<Instant> = None;
    let (snapshot, drained) = loop {
        ticks.tick().await;
        let s = pipeline.snapshot();
        deepest = (deepest.0.max(s.parse_len), deepest.1.max(s.sink_len));
        {
            let mut log = log.borrow_mut();
            log.most_workers = log.most_workers.max(s.workers);
        }
        let drained = pipeline.drained(&s);
        let ended = s.phase.is_none().then(|| *ended.get_or_insert(s.at));
        let last = ended.is_some_and(|ended| drained || s.at - ended >= DRAIN_LIMIT);
        if tty {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(frame(&s, &plan, &log.borrow(), drained).as_bytes());
            let _ = out.flush();
        } else if s.at >= next_line || last {
            println!("{}", status_line(&s, &plan));
            next_line += LINE_EVERY;
        }
        if last {
            break (s, drained);
        }
    };
    if tty {
        print!("{}", ansi::SHOW_CURSOR);
    }
    let drain = ended.map_or(Duration::ZERO, |ended| snapshot.at - ended);

    // Stopping the supervisor resumes what it paused and ends the subscription.
    supervisor.stop();
    let _ = timeout(Duration::from_secs(5), recorder).await;
    drop(source);
    let log = std::mem::take(&mut *log.borrow_mut());
    Outcome {
        length,
        pausing,
        sent: snapshot.sent,
        refused: snapshot.refused,
        parse: snapshot.parse,
        sink: snapshot.sink,
        queued: snapshot.parse_len + snapshot.sink_len,
        deepest,
        log,
        drain,
        drained,
    }
}

struct Args {
    seconds: f64,
    pausing: bool,
    metrics: Option<SocketAddr>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        seconds: DEFAULT_SECONDS,
        pausing: true,
        metrics: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--no-pause" => args.pausing = false,
            "--seconds" | "--metrics" => {
                let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
                if flag == "--seconds" {
                    args.seconds = value
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && (1.0..=3600.0).contains(s))
                        .ok_or_else(|| format!("--seconds {value}: expected 1 to 3600"))?;
                } else {
                    args.metrics = Some(
                        value
                            .parse()
                            .map_err(|e| format!("--metrics {value}: {e}"))?,
                    );
                }
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(Some(args))
}

/// Serves the metrics to Prometheus on `addr`.
#[cfg(feature = "prometheus")]
fn serve_metrics(addr: SocketAddr) -> Result<(), String> {
    actix_backpressure::prometheus::install(addr).map_err(|err| err.to_string())
}

/// Without the feature `prometheus`, the exporter the examples have as a dev-dependency, on a
/// thread of its own (with its default histogram buckets rather than the library's).
#[cfg(not(feature = "prometheus"))]
fn serve_metrics(addr: SocketAddr) -> Result<(), String> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()
        .map_err(|err| format!("cannot serve Prometheus metrics on {addr}: {err}"))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("demo: {err}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(addr) = args.metrics {
        if let Err(err) = serve_metrics(addr) {
            eprintln!("demo: {err}");
            return ExitCode::from(2);
        }
    }
    let tty = std::io::stdout().is_terminal();
    if !tty {
        println!(
            "actix-backpressure demo: source -> parse ({MIN_WORKERS} to {MAX_WORKERS} workers, \
             {} ms each) -> sink, {:.0} s of load in {} phases{}",
            PARSE_WORK.as_millis(),
            args.seconds,
            PHASES.len(),
            if args.pausing { "" } else { ", no pauses" }
        );
    }
    if let Some(addr) = args.metrics {
        println!("serving metrics on http://{addr}/metrics until the demo ends");
        println!(
            "point Prometheus at it (scrape_configs: targets [\"{addr}\"]), then import or provision \
             dashboards/actix-backpressure.json in Grafana; alert rules: dashboards/alerts.yml"
        );
    }

    let outcome = System::new().block_on(async move {
        if tty {
            // Ctrl-C: give the cursor back before leaving.
            actix::spawn(async {
                if actix_rt::signal::ctrl_c().await.is_ok() {
                    println!("{}", ansi::SHOW_CURSOR);
                    std::process::exit(130);
                }
            });
        }
        run(Duration::from_secs_f64(args.seconds), args.pausing, tty).await
    });
    outcome.print();
    let mut problems = outcome.problems();
    if problems.is_empty() {
        println!(
            "every record is accounted for: at each stage, offered = handled + dropped by reason"
        );
        ExitCode::SUCCESS
    } else {
        problems.sort();
        for problem in &problems {
            eprintln!("FAILED: {problem}");
        }
        ExitCode::FAILURE
    }
}
