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
//! mailbox (depth/capacity) with its policy and the supervisor's watermarks (high and low
//! fill), the workers, what is paused, rates (0 for a paused stage), drops by reason, the
//! phase and the supervisor's last decisions. The view is redrawn in place and fits the
//! terminal: with fewer rows than the view, it leaves out its least important lines.
//! Otherwise (CI, a pipe) it prints the mailboxes' policies and watermarks, each decision as
//! it is made and a status a second, in lines of at most 80 columns. At the end it stops the
//! source, lets the pipeline drain and prints a summary: records sent, handled and dropped (by
//! reason) at each stage, and the supervisor's actions. It checks that nothing is unaccounted
//! for: at each stage, what was offered is handled or dropped with a reason. A run of at least
//! 20 s must also have paused the source and scaled the pool up (unless `--no-pause`).
//!
//! ```text
//! cargo run --release --example demo
//! cargo run --release --example demo -- --seconds 8 --no-pause
//! cargo run --release --example demo -- --metrics 127.0.0.1:9464
//! ```
//!
//! Exit codes: 0 when every check passes, 1 when one fails, 2 for a bad argument or when
//! metrics cannot be served.

use std::cell::{Cell, RefCell};
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
/// The widest line the plain output prints, in columns.
const COLUMNS: usize = 80;
/// The pool's scaling watermarks (see [`scaling_rule`]).
const SCALE_HIGH: f64 = 0.2;
const SCALE_LOW: f64 = 0.05;

const USAGE: &str = "usage: demo [--seconds N] [--no-pause] [--metrics ADDR]";

/// `n` and the noun, singular for 1: `1 record`, `2 records`.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Prints `line`, broken at spaces into lines of at most [`COLUMNS`]; a continued line is
/// indented two columns more than the line it continues.
fn say(line: &str) {
    let indent = line.len() - line.trim_start().len() + 2;
    let mut rest = line.to_owned();
    while rest.chars().count() > COLUMNS {
        // The last space past the indentation that leaves at most COLUMNS characters before it.
        let Some(cut) = rest
            .char_indices()
            .take(COLUMNS + 1)
            .filter(|&(i, c)| c == ' ' && i > indent)
            .map(|(i, _)| i)
            .last()
        else {
            break;
        };
        println!("{}", rest[..cut].trim_end());
        rest = format!("{:indent$}{}", "", rest[cut..].trim_start());
    }
    println!("{rest}");
}

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
        .high_watermark(SCALE_HIGH)
        .low_watermark(SCALE_LOW)
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
            "{} {} to {}",
            if d.action == Action::ScaleUp {
                "grow"
            } else {
                "shrink"
            },
            d.mailbox,
            count(d.workers.unwrap_or(0) as u64, "worker", "workers")
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
    /// The rate, with the counter at `value` now. While its stage is `idle` (paused or
    /// stopped) it makes nothing: the rate is 0, not what the last second averages, and the
    /// window starts again, so that after a resume the rate counts from the resume.
    fn update(&mut self, now: Instant, value: u64, idle: bool) -> f64 {
        if idle {
            self.window.clear();
        }
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
        let phase = self.plan.phase_at(at);
        let sent = self.counts.sent.load(Relaxed);
        let parse = self.parse.stats();
        let sink = self.sink.stats();
        let source_paused = self.gate.is_paused();
        let parse_paused = self.parse.is_paused();
        Snapshot {
            at,
            phase,
            sent,
            refused: self.counts.refused.load(Relaxed),
            source_paused,
            parse,
            parse_len: self.parse.len(),
            parse_paused,
            workers: self.parse.workers(),
            sink,
            sink_len: self.sink.len(),
            sent_rate: self.rates[0].update(at, sent, source_paused || phase.is_none()),
            parse_rate: self.rates[1].update(at, parse.handled, parse_paused),
            sink_rate: self.rates[2].update(at, sink.handled, false),
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
    pub const UP: &str = "\x1b[A";
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

/// A fill ratio as a percentage: `50%`.
fn percent(ratio: f64) -> String {
    format!("{:.0}%", ratio * 100.0)
}

/// The reason a mailbox's own policy drops records for, if it drops any.
fn own_reason(policy: OverflowPolicy) -> Option<DropReason> {
    match policy {
        OverflowPolicy::DropNewest => Some(DropReason::DropNewest),
        OverflowPolicy::DropOldest => Some(DropReason::DropOldest),
        OverflowPolicy::Reject => Some(DropReason::Rejected),
        _ => None,
    }
}

/// Records dropped: `0`; `12` when the mailbox's own policy dropped them all (the policy is
/// shown beside); otherwise by reason, `15 (drop_oldest 12, stopped 3)`.
fn drops(stats: &MailboxStats, policy: OverflowPolicy) -> String {
    let total = lost(stats);
    let reasons: Vec<String> = DropReason::ALL
        .iter()
        .filter(|&&reason| stats.dropped(reason) > 0)
        .map(|&reason| format!("{reason} {}", stats.dropped(reason)))
        .collect();
    if reasons.is_empty() || own_reason(policy).is_some_and(|own| stats.dropped(own) == total) {
        total.to_string()
    } else {
        format!("{total} ({})", reasons.join(", "))
    }
}

/// What the view says of each mailbox that does not change: its policy, and the watermarks
/// (high and low fill) the supervisor watches it with, where it watches it.
struct Legend {
    parse_policy: OverflowPolicy,
    sink_policy: OverflowPolicy,
    /// `drop_newest  pause source: high 50% low 20%  scale: high 20% low 5%`.
    parse: String,
    /// `drop_oldest  pause parse: high 50% low 20%`.
    sink: String,
}

impl Legend {
    fn new(parse: OverflowPolicy, sink: OverflowPolicy, pausing: bool) -> Self {
        let marks = |high: f64, low: f64| format!("high {} low {}", percent(high), percent(low));
        let pause = |upstream: &str, rule: PressurePolicy| {
            let marks = marks(rule.get_high_watermark(), rule.get_low_watermark());
            format!("pause {upstream}: {marks}")
        };
        let scale = format!("scale: {}", marks(SCALE_HIGH, SCALE_LOW));
        let (parse_marks, sink_marks) = if pausing {
            (
                format!("{}  {scale}", pause("source", parse_policy())),
                pause("parse", sink_policy()),
            )
        } else {
            (scale, "not watched (--no-pause)".to_owned())
        };
        Legend {
            parse_policy: parse,
            sink_policy: sink,
            parse: format!("{:<11}  {parse_marks}", parse.as_str()),
            sink: format!("{:<11}  {sink_marks}", sink.as_str()),
        }
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

/// A stage's state, in 7 columns.
fn state(paused: bool) -> String {
    if paused {
        format!("{}{}PAUSED {}", ansi::BOLD, ansi::YELLOW, ansi::RESET)
    } else {
        "running".to_owned()
    }
}

/// `line` cut to `cols` visible characters (its escape sequences take none, and are kept).
fn clip(line: &str, cols: usize) -> String {
    let mut out = String::with_capacity(line.len());
    let mut visible = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // A control sequence: ESC, '[', parameters, then one final byte in '@'..='~'.
            out.push(c);
            out.extend(chars.next());
            for c in chars.by_ref() {
                out.push(c);
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else if visible < cols {
            out.push(c);
            visible += 1;
        }
    }
    out
}

/// The terminal view, at most 80 columns by 21 rows, fitted to a terminal of `rows` by `cols`.
///
/// Each line has a rank: when the terminal has fewer rows than the view, the lines of the
/// highest ranks are left out (the older decisions first, then the newer ones, the blank lines
/// and the diagram, the supervisor's counts, the title), and what is left is cut to the
/// height. Lines are cut to the width. The view is written from the top left corner over the
/// last one, each line cleared first, with no line feed after its last line: it never
/// scrolls.
fn frame(
    s: &Snapshot,
    plan: &Plan,
    log: &Log,
    legend: &Legend,
    drained: bool,
    (rows, cols): (usize, usize),
) -> String {
    let workers = format!(
        "workers {}{} {}/{MAX_WORKERS}",
        "■".repeat(s.workers.min(MAX_WORKERS)),
        "□".repeat(MAX_WORKERS.saturating_sub(s.workers)),
        s.workers
    );
    let sink_speed = if s.phase.is_some_and(|(_, p)| p.slow_sink) {
        format!("{}slow{}", ansi::YELLOW, ansi::RESET)
    } else {
        "fast".to_owned()
    };
    let fill = |len: usize, capacity: usize| {
        let ratio = len as f64 / capacity.max(1) as f64;
        format!(
            "{} {len:>4}/{capacity} {:>4}",
            bar(len, capacity),
            percent(ratio)
        )
    };
    let figures = |left: &str, handled: u64, rate: f64, dropped: String| {
        format!("        {left:<22}  handled {handled:>7}  {rate:>5.0}/s   dropped {dropped}")
    };
    let source = if s.phase.is_none() {
        "stopped".to_owned()
    } else {
        state(s.source_paused)
    };
    let mut lines: Vec<(usize, String)> = vec![
        (
            1,
            format!(
                "{}actix-backpressure live demo{}   {:5.1} s of {:.0} s",
                ansi::BOLD,
                ansi::RESET,
                secs(s.at, plan.start),
                plan.length.as_secs_f64()
            ),
        ),
        (0, phase_text(s, drained)),
        (
            3,
            format!(
                "{}source ─try_send─▶ parse ({MIN_WORKERS} to {MAX_WORKERS} workers, {} ms each) \
                 ─tell─▶ sink{}",
                ansi::DIM,
                PARSE_WORK.as_millis(),
                ansi::RESET
            ),
        ),
        (3, String::new()),
        (
            0,
            format!(
                // Columns as in the mailboxes' figures below.
                "source  {source}{:17}sent    {:>7}  {:>5.0}/s   refused {}",
                "", s.sent, s.sent_rate, s.refused
            ),
        ),
        (0, format!("parse   {}", legend.parse)),
        (
            0,
            format!(
                "        {}  {}",
                fill(s.parse_len, PARSE_CAPACITY),
                state(s.parse_paused)
            ),
        ),
        (
            0,
            figures(
                &workers,
                s.parse.handled,
                s.parse_rate,
                drops(&s.parse, legend.parse_policy),
            ),
        ),
        (0, format!("sink    {}", legend.sink)),
        (
            0,
            format!("        {}  {sink_speed}", fill(s.sink_len, SINK_CAPACITY)),
        ),
        (
            0,
            figures(
                "",
                s.sink.handled,
                s.sink_rate,
                drops(&s.sink, legend.sink_policy),
            ),
        ),
        (3, String::new()),
        (2, format!("paused upstreams: {}", paused(s))),
        (
            2,
            format!(
                "supervisor: {}, {}, {}, {}; most workers {}",
                count(log.pauses, "pause", "pauses"),
                count(log.resumes, "resume", "resumes"),
                count(log.scale_ups, "scale-up", "scale-ups"),
                count(log.scale_downs, "scale-down", "scale-downs"),
                log.most_workers
            ),
        ),
        (4, "recent decisions:".to_owned()),
    ];
    // The newest decision ranks with the heading, each older one a rank lower.
    let recent = log.recent.len();
    lines.extend(
        log.recent
            .iter()
            .enumerate()
            .map(|(i, d)| (4 + (recent - 1 - i), format!("  {d}"))),
    );

    let rows = rows.max(1);
    let fits = |rank: usize| lines.iter().filter(|(r, _)| *r <= rank).count() <= rows;
    let shown = lines
        .iter()
        .map(|(rank, _)| *rank)
        .filter(|&rank| fits(rank))
        .max()
        .unwrap_or(0);
    let mut out = String::from(ansi::HOME);
    let kept: Vec<&str> = lines
        .iter()
        .filter(|(rank, _)| *rank <= shown)
        .map(|(_, line)| line.as_str())
        .take(rows)
        .collect();
    for (i, line) in kept.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(ansi::CLEAR_LINE);
        out.push_str(&clip(line, cols));
    }
    if kept.len() < rows {
        // What an earlier, longer frame left below: cleared from the next row, which exists.
        out.push('\n');
        out.push_str(ansi::CLEAR_BELOW);
        out.push_str(ansi::UP);
    }
    out
}

/// The plain status lines, for a pipe or a CI log: the time, the phase and the source, then
/// one line per mailbox.
fn status_lines(s: &Snapshot, plan: &Plan, legend: &Legend) -> [String; 3] {
    let phase = s.phase.map_or("draining", |(_, phase)| phase.name);
    let source = match (s.phase, s.source_paused) {
        (None, _) => "stopped",
        (Some(_), true) => "paused",
        (Some(_), false) => "running",
    };
    [
        format!(
            "{:6.2} s  {phase:<24}  source {source:<7} {:>4.0}/s  sent {}",
            secs(s.at, plan.start),
            s.sent_rate,
            s.sent
        ),
        format!(
            "    parse {:>3}/{PARSE_CAPACITY} {}, {}{}: handled {}, dropped {}",
            s.parse_len,
            legend.parse_policy.as_str(),
            count(s.workers as u64, "worker", "workers"),
            if s.parse_paused { ", paused" } else { "" },
            s.parse.handled,
            drops(&s.parse, legend.parse_policy)
        ),
        format!(
            "    sink  {:>3}/{SINK_CAPACITY} {}: handled {}, dropped {}",
            s.sink_len,
            legend.sink_policy.as_str(),
            s.sink.handled,
            drops(&s.sink, legend.sink_policy)
        ),
    ]
}

/// What a run left behind.
struct Outcome {
    length: Duration,
    pausing: bool,
    legend: Legend,
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
    /// The summary, in lines of at most [`COLUMNS`].
    fn print(&self) {
        let stage = |name: &str, policy: OverflowPolicy, offered: u64, stats: &MailboxStats| {
            let by_reason: Vec<String> = DropReason::ALL
                .iter()
                .filter(|&&reason| stats.dropped(reason) > 0)
                .map(|&reason| format!("{reason} {}", stats.dropped(reason)))
                .collect();
            say(&format!(
                "  {name:<6}  {:<11}  offered {offered:>6}  handled {:>6}  dropped {:>6}",
                policy.as_str(),
                stats.handled,
                lost(stats),
            ));
            say(&format!(
                "          dropped by reason: {}",
                if by_reason.is_empty() {
                    "none".to_owned()
                } else {
                    by_reason.join(", ")
                }
            ));
        };
        println!();
        say(&format!(
            "summary: {:.1} s of load{}, drained in {:.1} s",
            self.length.as_secs_f64(),
            if self.pausing { "" } else { " without pauses" },
            self.drain.as_secs_f64()
        ));
        say(&format!(
            "  source  sent {} (try_send refused {})",
            self.sent, self.refused
        ));
        stage("parse", self.legend.parse_policy, self.sent, &self.parse);
        stage(
            "sink",
            self.legend.sink_policy,
            self.parse.handled,
            &self.sink,
        );
        say(&format!(
            "  supervisor: {}, {}, {}, {}",
            count(self.log.pauses, "pause", "pauses"),
            count(self.log.resumes, "resume", "resumes"),
            count(self.log.scale_ups, "scale-up", "scale-ups"),
            count(self.log.scale_downs, "scale-down", "scale-downs"),
        ));
        say(&format!(
            "  pool: at most {} (of {MAX_WORKERS})",
            count(self.log.most_workers as u64, "worker", "workers")
        ));
        say(&format!(
            "  deepest mailboxes: parse {}/{PARSE_CAPACITY}, sink {}/{SINK_CAPACITY}",
            self.deepest.0, self.deepest.1
        ));
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
            problems.push(format!(
                "{} still queued",
                count(self.queued as u64, "record", "records")
            ));
        }
        if self.refused != self.parse.dropped_newest + self.parse.closed {
            problems.push(format!(
                "the source saw {} refused, the pool's mailbox counts {} dropped and {} closed",
                count(self.refused, "record", "records"),
                self.parse.dropped_newest,
                self.parse.closed
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
    let legend = Legend::new(parse.policy(), sink.policy(), pausing);
    if !tty {
        say("mailboxes: policy, then the supervisor's watermarks (high and low fill)");
        say(&format!("  parse  {}", legend.parse));
        say(&format!("  sink   {}", legend.sink));
    }

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
                    say(&line);
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
    // The terminal's size, read again when it changes.
    let size = Rc::new(Cell::new((24, 80)));
    if tty {
        size.set(terminal_size());
        follow_resizes(Rc::clone(&size));
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
            let view = frame(&s, &plan, &log.borrow(), &legend, drained, size.get());
            let _ = out.write_all(view.as_bytes());
            let _ = out.flush();
        } else if s.at >= next_line || last {
            for line in status_lines(&s, &plan, &legend) {
                say(&line);
            }
            next_line += LINE_EVERY;
        }
        if last {
            break (s, drained);
        }
    };
    if tty {
        // Below the view's last line.
        println!("{}", ansi::SHOW_CURSOR);
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
        legend,
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

/// The terminal's size, in rows and columns: what `stty size` says of standard output, else
/// `LINES` and `COLUMNS`, else 24 by 80.
fn terminal_size() -> (usize, usize) {
    let var = |name: &str| {
        std::env::var(name)
            .ok()?
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
    };
    stty_size()
        .or_else(|| Some((var("LINES")?, var("COLUMNS")?)))
        .unwrap_or((24, 80))
}

/// `stty size` on the terminal standard output writes to.
#[cfg(unix)]
fn stty_size() -> Option<(usize, usize)> {
    use std::os::fd::AsFd;
    use std::process::{Command, Stdio};

    let terminal = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    let out = Command::new("stty")
        .arg("size")
        .stdin(terminal)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    let text = String::from_utf8(out.stdout).ok()?;
    // `rows cols`; a terminal that has no size says `0 0`.
    let mut numbers = text
        .split_whitespace()
        .map(|n| n.parse::<usize>().ok().filter(|&n| n > 0));
    Some((numbers.next()??, numbers.next()??))
}

#[cfg(not(unix))]
fn stty_size() -> Option<(usize, usize)> {
    None
}

/// Keeps `size` up to date: reads the terminal's size again on each SIGWINCH.
#[cfg(unix)]
fn follow_resizes(size: Rc<Cell<(usize, usize)>>) {
    use actix_rt::signal::unix::{signal, SignalKind};

    let Ok(mut resized) = signal(SignalKind::window_change()) else {
        return;
    };
    actix::spawn(async move {
        while resized.recv().await.is_some() {
            size.set(terminal_size());
        }
    });
}

/// Elsewhere the size read at the start stays.
#[cfg(not(unix))]
fn follow_resizes(_: Rc<Cell<(usize, usize)>>) {}

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
        say(&format!(
            "actix-backpressure demo: source -> parse ({MIN_WORKERS} to {MAX_WORKERS} workers, \
             {} ms each) -> sink",
            PARSE_WORK.as_millis()
        ));
        say(&format!(
            "{:.0} s of load in {} phases{}",
            args.seconds,
            PHASES.len(),
            if args.pausing { "" } else { ", no pauses" }
        ));
    }
    if let Some(addr) = args.metrics {
        say(&format!(
            "serving metrics on http://{addr}/metrics until the demo ends"
        ));
        say(&format!(
            "point Prometheus at it (scrape_configs: targets [\"{addr}\"]), then import or \
             provision dashboards/actix-backpressure.json in Grafana; alert rules: \
             dashboards/alerts.yml"
        ));
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
        say("every record is accounted for: at each stage, offered = handled + dropped");
        ExitCode::SUCCESS
    } else {
        problems.sort();
        for problem in &problems {
            eprintln!("FAILED: {problem}");
        }
        ExitCode::FAILURE
    }
}
