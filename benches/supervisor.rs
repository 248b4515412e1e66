//! The cost of the pressure supervisor's sampling, against the goal "sampling 1,000 watched
//! mailboxes at 100 ms costs under 1% of one core": one sampling pass over 1,000 mailboxes
//! must take under 1 ms.
//!
//! Setup: 1,000 actors started with `start_bounded` (capacities 8 to 64, the four policies,
//! mailbox metrics off) on one actix `System`, paused, with 0 %, 25 %, 50 %, 90 % or 100 % of
//! their capacity queued, so that the readings are not all zero and two fifths of the mailboxes
//! turn saturated; a `PressureSupervisor` watches each of them with the default
//! `PressurePolicy` (every 100 ms).
//!
//! - `sample_1000_mailboxes/supervisor_sample_now`: one pass of
//!   `SupervisorHandle::sample_now` — every mailbox probed, its reading computed and run
//!   through the hysteresis.
//! - `sample_1000_mailboxes/probe_sample`: `MailboxProbe::sample` of each mailbox — what the
//!   supervisor reads, without its bookkeeping.
//! - `sample_1000_mailboxes/direct_len_stats`: `len()` + `stats()` of each `BoundedAddr` —
//!   the floor.
//!
//! The CPU share is the median time of one pass divided by the 100 ms interval. After the
//! criterion runs, the benchmark prints it from passes timed one by one, then from a real-time
//! run: the CPU time (Linux `/proc`) the process spends over [`IDLE_RUN`] with the 1,000
//! mailboxes idle, without a supervisor and then with the supervisor sampling on its own
//! timers. `scripts/bench-summary --supervisor` prints the same share from criterion's medians.
//!
//! Run `cargo bench --bench supervisor`; `cargo bench --bench supervisor -- --test` runs each
//! benchmark once (and a shorter real-time run).

use std::hint::black_box;
use std::time::Duration;

use actix::{Actor, Context, Handler, Message, System, SystemRunner};
use actix_backpressure::{
    BoundedActorExt, BoundedAddr, MailboxConfig, MailboxProbe, OverflowPolicy, PressurePolicy,
    PressureSupervisor, SupervisorHandle,
};
use criterion::{Criterion, Throughput};

/// Mailboxes watched.
const MAILBOXES: usize = 1000;
/// The default sample interval, which the CPU share is computed against.
const INTERVAL: Duration = actix_backpressure::supervisor::DEFAULT_INTERVAL;
/// The share of its capacity queued in a mailbox, by mailbox index modulo 5.
const FILL_PERCENT: [usize; 5] = [0, 25, 50, 90, 100];
/// Passes timed one by one for the printed medians (in `--test` mode: [`QUICK_PASSES`]).
const PASSES: usize = 2000;
const QUICK_PASSES: usize = 50;
/// The real-time run, with and without the supervisor (in `--test` mode: [`QUICK_IDLE_RUN`]).
const IDLE_RUN: Duration = Duration::from_secs(3);
const QUICK_IDLE_RUN: Duration = Duration::from_millis(500);

/// How long the supervisor runs before the real-time run: its decisions are made by then.
const SETTLE: Duration = Duration::from_millis(500);

/// An actor that does nothing with its messages: the bench never lets it take any.
struct Idle;

impl Actor for Idle {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Item;

impl Handler<Item> for Idle {
    type Result = ();

    fn handle(&mut self, Item: Item, _: &mut Context<Self>) {}
}

/// Starts the mailboxes on the current arbiter: paused, partly filled.
fn start_mailboxes() -> Vec<BoundedAddr<Idle>> {
    (0..MAILBOXES)
        .map(|i| {
            let capacity = 8 << (i % 4);
            let config = MailboxConfig::new(capacity)
                .policy(OverflowPolicy::ALL[(i / 4) % 4])
                .name(&format!("mailbox_{i:04}"))
                // No refresher thread: the real-time run measures the supervisor alone.
                .metrics(false);
            let addr = Idle.start_bounded(config);
            // Paused, the actor takes nothing out: what is queued stays queued.
            addr.pause();
            for _ in 0..capacity * FILL_PERCENT[i % FILL_PERCENT.len()] / 100 {
                addr.try_send(Item).expect("room in a fresh mailbox");
            }
            addr
        })
        .collect()
}

/// The floor: what a pass costs with no supervisor, reading each address directly.
fn direct_pass(mailboxes: &[BoundedAddr<Idle>]) -> u64 {
    let mut sum = 0u64;
    for addr in mailboxes {
        let stats = addr.stats();
        sum = sum.wrapping_add(addr.len() as u64 + stats.enqueued + stats.dropped_newest);
    }
    sum
}

/// What the supervisor reads, without its bookkeeping.
fn probe_pass(probes: &[MailboxProbe]) -> u64 {
    let mut sum = 0u64;
    for probe in probes {
        let sample = probe.sample().expect("the mailbox is alive");
        sum = sum.wrapping_add(sample.depth as u64 + sample.stats.enqueued);
    }
    sum
}

/// CPU time consumed so far, from `/proc` (Linux).
#[derive(Clone, Copy)]
struct Cpu {
    /// The calling thread (the `System`'s, which runs the supervisor), in nanoseconds:
    /// `/proc/thread-self/schedstat`.
    thread_ns: Option<u64>,
    /// The process, in nanoseconds: `/proc/self/task/*/schedstat` added up.
    process_ns: Option<u64>,
    /// The process, utime + stime in clock ticks (`/proc/self/stat`, 10 ms each).
    process_ticks: Option<u64>,
}

impl Cpu {
    fn now() -> Cpu {
        fn schedstat_ns(path: &std::path::Path) -> Option<u64> {
            std::fs::read_to_string(path)
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        }
        let process_ns = std::fs::read_dir("/proc/self/task").ok().and_then(|tasks| {
            tasks
                .map(|task| schedstat_ns(&task.ok()?.path().join("schedstat")))
                .sum::<Option<u64>>()
        });
        let process_ticks = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|stat| {
                // Fields 14 and 15 (utime, stime); the name in field 2 may hold spaces.
                let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
                Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
            });
        Cpu {
            thread_ns: schedstat_ns("/proc/thread-self/schedstat".as_ref()),
            process_ns,
            process_ticks,
        }
    }

    fn since(&self, before: &Cpu) -> Cpu {
        fn diff(a: Option<u64>, b: Option<u64>) -> Option<u64> {
            Some(a?.saturating_sub(b?))
        }
        Cpu {
            thread_ns: diff(self.thread_ns, before.thread_ns),
            process_ns: diff(self.process_ns, before.process_ns),
            process_ticks: diff(self.process_ticks, before.process_ticks),
        }
    }

    /// One line: each figure in ms and as a share of one core over `wall`.
    fn describe(&self, wall: Duration) -> String {
        let share = |ms: f64| {
            format!(
                "{ms:.2} ms ({:.3}% of one core)",
                ms / 10.0 / wall.as_secs_f64()
            )
        };
        let or_na = |figure: Option<String>| figure.unwrap_or_else(|| "n/a".to_owned());
        format!(
            "System thread {}, process {}, process utime+stime {}",
            or_na(self.thread_ns.map(|ns| share(ns as f64 / 1e6))),
            or_na(self.process_ns.map(|ns| share(ns as f64 / 1e6))),
            or_na(self.process_ticks.map(|t| format!("{} ms", t * 10))),
        )
    }
}

/// Lets the `System` run (its timers fire) for `wall`; returns the CPU time spent meanwhile.
fn idle_run(sys: &SystemRunner, wall: Duration) -> Cpu {
    let before = Cpu::now();
    sys.block_on(async { tokio::time::sleep(wall).await });
    Cpu::now().since(&before)
}

/// The median and 99th percentile of `passes` runs of `pass`, each timed on its own.
fn timed_passes(passes: usize, mut pass: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..passes)
        .map(|_| {
            let start = std::time::Instant::now();
            pass();
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    (times[passes / 2], times[passes * 99 / 100])
}

fn print_pass(name: &str, (median, p99): (Duration, Duration)) {
    println!(
        "  {name:<24} median {:>9.1} µs  p99 {:>9.1} µs  -> {:.3}% of one core at {} ms",
        median.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        median.as_secs_f64() / INTERVAL.as_secs_f64() * 100.0,
        INTERVAL.as_millis(),
    );
}

fn sample_1000_mailboxes(
    c: &mut Criterion,
    supervisor: &SupervisorHandle,
    mailboxes: &[BoundedAddr<Idle>],
    probes: &[MailboxProbe],
) {
    let mut group = c.benchmark_group("sample_1000_mailboxes");
    group.throughput(Throughput::Elements(MAILBOXES as u64));
    // Outside `block_on`: the System does not run, so no timer samples meanwhile and the
    // actors stay as they are. `sample_now` is synchronous.
    group.bench_function("supervisor_sample_now", |b| {
        b.iter(|| supervisor.sample_now())
    });
    group.bench_function("probe_sample", |b| b.iter(|| black_box(probe_pass(probes))));
    group.bench_function("direct_len_stats", |b| {
        b.iter(|| black_box(direct_pass(mailboxes)))
    });
    group.finish();
}

// `criterion_group!` would make an undocumented `pub fn`; this is what it and
// `criterion_main!` expand to.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--test");
    let listing = args.iter().any(|a| a == "--list");
    let mut criterion = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();

    let sys = System::new();
    let mailboxes = sys.block_on(async { start_mailboxes() });
    let probes: Vec<MailboxProbe> = mailboxes.iter().map(BoundedAddr::probe).collect();
    let idle = if quick { QUICK_IDLE_RUN } else { IDLE_RUN };

    // The actors' first poll (they start, and find themselves paused) is not part of the
    // real-time run.
    sys.block_on(async { tokio::time::sleep(Duration::from_millis(20)).await });
    // The real-time run without a supervisor comes first, while there is none.
    let without = (!listing).then(|| idle_run(&sys, idle));
    let supervisor = sys.block_on(async {
        let supervisor = PressureSupervisor::start();
        for addr in &mailboxes {
            supervisor
                .watch(addr, PressurePolicy::default())
                .expect("watch");
        }
        supervisor
    });
    assert_eq!(supervisor.watched(), MAILBOXES);
    // Let the supervisor start its timer and make its decisions (the fullest mailboxes turn
    // saturated after 300 ms), then measure it sampling on its own, in its steady state.
    sys.block_on(async { tokio::time::sleep(SETTLE).await });
    let with = (!listing).then(|| idle_run(&sys, idle));
    let saturated = mailboxes
        .iter()
        .filter(|addr| supervisor.is_saturated(addr) == Some(true))
        .count();

    sample_1000_mailboxes(&mut criterion, &supervisor, &mailboxes, &probes);
    criterion.final_summary();
    if listing {
        return;
    }

    let passes = if quick { QUICK_PASSES } else { PASSES };
    println!(
        "\none pass over {MAILBOXES} watched mailboxes, {passes} passes timed one by one \
         (CPU share = median / {} ms):",
        INTERVAL.as_millis()
    );
    print_pass(
        "supervisor sample_now",
        timed_passes(passes, || supervisor.sample_now()),
    );
    print_pass(
        "probe sample",
        timed_passes(passes, || {
            black_box(probe_pass(&probes));
        }),
    );
    print_pass(
        "direct len + stats",
        timed_passes(passes, || {
            black_box(direct_pass(&mailboxes));
        }),
    );

    println!(
        "\n{} ms of real time, {MAILBOXES} idle mailboxes, CPU time spent:",
        idle.as_millis()
    );
    if let (Some(without), Some(with)) = (without, with) {
        println!("  without supervisor: {}", without.describe(idle));
        println!(
            "  with supervisor ({saturated} mailboxes saturated, sampling every {} ms): {}",
            INTERVAL.as_millis(),
            with.describe(idle)
        );
        if let (Some(with_ns), Some(without_ns)) = (with.thread_ns, without.thread_ns) {
            let passes = idle.as_secs_f64() / INTERVAL.as_secs_f64();
            println!(
                "  the supervisor's share: {:.3}% of one core, about {:.0} µs per timer-driven pass",
                with_ns.saturating_sub(without_ns) as f64 / 1e7 / idle.as_secs_f64(),
                with_ns.saturating_sub(without_ns) as f64 / 1e3 / passes,
            );
        }
    }

    supervisor.stop();
    sys.block_on(async { tokio::time::sleep(Duration::from_millis(10)).await });
    drop(mailboxes);
    drop(sys);
}
