//! Draws how deep a bounded mailbox gets under a 4x overload, one line per overflow policy.
//!
//! The load is the one of `seed_pipeline`, made heavier and shorter: a producer `tell`s
//! messages to a `Consumer` that handles one at a time (its handler returns an
//! `AtomicResponse`, so the actor takes no other message while it works), through a mailbox of
//! [`CAPACITY`]. For [`BURST`] the producer offers 4 times as many messages a second as the
//! consumer handles; then, for [`CALM`], a quarter as many, and the mailbox drains. The
//! producer makes its next message only once the `tell` of the previous one has returned, so
//! under `Block` it is held to the consumer's pace. The rates are chosen so that each policy
//! runs for 2 s of wall time; the picture's time axis is wall time.
//!
//! While the load runs, the mailbox's depth (`BoundedAddr::len`) and the messages it lost so
//! far (`MailboxStats`: dropped, evicted, rejected, ...) are sampled every [`SAMPLE_EVERY`].
//! The picture has two panels: the depth, with one line per policy, and the cumulative losses.
//! The lines are drawn at different widths, widest first, so that lines lying on top of each
//! other stay visible.
//!
//! ```text
//! cargo run --release --example depth_plot                  # writes docs/depth-by-policy.png
//! cargo run --release --example depth_plot -- out/depth.png # writes out/depth.png
//! ```
//!
//! The program prints where it wrote the picture and one line per policy. Exit codes: 0 when
//! the picture is written and every policy behaved as expected (the depth never above the
//! capacity, nothing lost under `Block`, losses under the other policies, every message
//! accounted for), 1 when drawing fails or a check fails, 2 for a bad argument.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use actix::fut::{ActorFutureExt, WrapFuture};
use actix::{Actor, AtomicResponse, Context, Handler, Message, System};
use actix_backpressure::prelude::*;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use tokio::sync::oneshot;
use tokio::time::{sleep, sleep_until, timeout, Instant};

/// Capacity of the consumer's mailbox.
const CAPACITY: usize = 32;
/// Time the consumer takes per message: 50 messages a second.
const WORK: Duration = Duration::from_millis(20);
/// Time between two messages of the producer during the burst: 4 times the consumer's rate.
const BURST_PERIOD: Duration = Duration::from_millis(5);
/// Time between two messages of the producer when calm: a quarter of the consumer's rate.
const CALM_PERIOD: Duration = Duration::from_millis(80);
/// Length of the burst, from the start of a run.
const BURST: Duration = Duration::from_millis(900);
/// Length of the calm phase after the burst; production ends with it.
const CALM: Duration = Duration::from_millis(1100);
/// Time between two samples of the depth.
const SAMPLE_EVERY: Duration = Duration::from_millis(4);
/// Time the consumer gets to drain the mailbox after production, and to stop.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// Time one policy's run may take in all before it is declared hung.
const RUN_LIMIT: Duration = Duration::from_secs(3);

/// Where the picture goes without an argument.
const DEFAULT_OUTPUT: &str = "docs/depth-by-policy.png";
/// Size of the picture, in pixels.
const SIZE: (u32, u32) = (1280, 960);
const TITLE: &str = "mailbox depth under a 4x overload, capacity 32";

const USAGE: &str = "usage: depth_plot [OUTPUT.png]  (default: docs/depth-by-policy.png)";

fn lost(stats: &MailboxStats) -> u64 {
    DropReason::ALL
        .iter()
        .map(|&reason| stats.dropped(reason))
        .sum()
}

/// One message.
#[derive(Message)]
#[rtype(result = "()")]
struct Job;

/// The slow end: handles one message at a time, each taking [`WORK`].
struct Consumer {
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

impl Handler<Job> for Consumer {
    // Atomic: the context waits for the work to finish before it takes the next message, so
    // messages pile up in the bounded mailbox rather than in the actor.
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, Job: Job, _: &mut Context<Self>) -> Self::Result {
        AtomicResponse::new(Box::pin(sleep(WORK).into_actor(self).map(|(), _, _| ())))
    }
}

/// What the producer saw of its own sends.
#[derive(Default)]
struct ProducerReport {
    offered: u64,
    /// Sum of the time its `tell` awaits took.
    waited: Duration,
}

/// The fast end: one message every [`BURST_PERIOD`] until [`BURST`] has passed, then one every
/// [`CALM_PERIOD`] until [`CALM`] has passed too; the next message comes only once the `tell`
/// of the previous one has returned.
async fn produce(target: &BoundedAddr<Consumer>, start: Instant) -> ProducerReport {
    let burst_end = start + BURST;
    let end = burst_end + CALM;
    let mut report = ProducerReport::default();
    let mut next = start;
    while next < end {
        sleep_until(next).await;
        report.offered += 1;
        let asked = Instant::now();
        // A refused message is counted by the mailbox's stats, which the samples read.
        let _ = target.tell(Job).await;
        report.waited += asked.elapsed();
        let period = if next < burst_end {
            BURST_PERIOD
        } else {
            CALM_PERIOD
        };
        // On schedule while the mailbox takes messages at once; held back by a waiting
        // `tell`, the next message comes right after it (no burst to catch up).
        next = (next + period).max(Instant::now());
    }
    report
}

/// The mailbox at one instant.
#[derive(Clone, Copy)]
struct Sample {
    /// Seconds since the start of the run.
    secs: f64,
    depth: usize,
    /// Messages lost so far.
    lost: u64,
}

/// Samples the mailbox every [`SAMPLE_EVERY`] from `start` until production ends.
async fn sample(sink: &BoundedAddr<Consumer>, start: Instant) -> Vec<Sample> {
    let end = start + BURST + CALM;
    let mut samples = Vec::new();
    let mut next = start;
    loop {
        let now = Instant::now();
        samples.push(Sample {
            secs: (now - start).as_secs_f64(),
            depth: sink.len(),
            lost: lost(&sink.stats()),
        });
        if now >= end {
            return samples;
        }
        next = (next + SAMPLE_EVERY).max(now).min(end);
        sleep_until(next).await;
    }
}

/// One policy's run.
struct Run {
    policy: OverflowPolicy,
    samples: Vec<Sample>,
    report: ProducerReport,
    /// The mailbox's stats once it has drained.
    stats: MailboxStats,
    drained: bool,
    consumer_stopped: bool,
}

impl Run {
    fn max_depth(&self) -> usize {
        self.samples.iter().map(|s| s.depth).max().unwrap_or(0)
    }

    fn lost(&self) -> u64 {
        lost(&self.stats)
    }

    /// What went wrong in this run, if anything.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let s = &self.stats;
        if self.max_depth() > CAPACITY {
            problems.push(format!(
                "depth {} above the capacity {CAPACITY}",
                self.max_depth()
            ));
        }
        if self.max_depth() < CAPACITY {
            problems.push(format!(
                "the mailbox never filled (max depth {})",
                self.max_depth()
            ));
        }
        if s.offered() != self.report.offered || s.offered() != s.handled + self.lost() {
            problems.push(format!(
                "not every message accounted for: producer offered {}, mailbox offered {} \
                 = handled {} + lost {}?",
                self.report.offered,
                s.offered(),
                s.handled,
                self.lost()
            ));
        }
        if !self.drained || !self.consumer_stopped {
            problems.push("the consumer did not drain its mailbox and stop".to_owned());
        }
        let expected = match self.policy {
            OverflowPolicy::Block => self.lost() == 0,
            OverflowPolicy::DropNewest => s.dropped_newest > 0 && s.dropped_newest == self.lost(),
            OverflowPolicy::DropOldest => s.evicted > 0 && s.evicted == self.lost(),
            OverflowPolicy::Reject => s.rejected > 0 && s.rejected == self.lost(),
            _ => true,
        };
        if !expected {
            problems.push(format!(
                "unexpected losses for {}: dropped {}, evicted {}, rejected {}, other {}",
                self.policy,
                s.dropped_newest,
                s.evicted,
                s.rejected,
                self.lost() - s.dropped_newest - s.evicted - s.rejected
            ));
        }
        problems
    }
}

/// Runs the load under one policy.
async fn run(policy: OverflowPolicy) -> Run {
    let (on_stop, stopped) = oneshot::channel();
    let config = MailboxConfig::new(CAPACITY)
        .policy(policy)
        .name("depth_plot");
    let sink = Consumer {
        on_stop: Some(on_stop),
    }
    .start_bounded(config);

    let start = Instant::now();
    let (report, samples) = tokio::join!(produce(&sink, start), sample(&sink, start));

    let drain_deadline = Instant::now() + DRAIN_LIMIT;
    let drained = loop {
        let stats = sink.stats();
        if sink.is_empty() && stats.offered() == stats.handled + lost(&stats) {
            break true;
        }
        if Instant::now() >= drain_deadline {
            break false;
        }
        sleep(Duration::from_millis(1)).await;
    };
    let stats = sink.stats();
    // The last address goes: the consumer stops once its mailbox is empty.
    drop(sink);
    let consumer_stopped = timeout(DRAIN_LIMIT, stopped).await.is_ok();

    Run {
        policy,
        samples,
        report,
        stats,
        drained,
        consumer_stopped,
    }
}

/// How each policy's line is drawn: colour and width, widest first so that each line stays
/// visible on top of the ones under it.
fn line_style(policy: OverflowPolicy) -> ShapeStyle {
    let (color, width) = match policy {
        OverflowPolicy::Block => (RGBColor(31, 119, 180), 8),
        OverflowPolicy::DropNewest => (RGBColor(255, 127, 14), 6),
        OverflowPolicy::DropOldest => (RGBColor(44, 160, 44), 3),
        OverflowPolicy::Reject => (RGBColor(214, 39, 40), 1),
        _ => (RGBColor(0, 0, 0), 1),
    };
    color.stroke_width(width)
}

const BURST_SHADE: RGBColor = RGBColor(236, 236, 236);
const CAPACITY_LINE: RGBColor = RGBColor(110, 110, 110);

/// Draws both panels into `path` (a PNG).
fn draw(path: &Path, runs: &[Run]) -> Result<(), Box<dyn Error>> {
    register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the DejaVu Sans font could not be loaded")?;
    register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold())
        .map_err(|_| "the DejaVu Sans Bold font could not be loaded")?;

    let window = (BURST + CALM).as_secs_f64();
    let burst = BURST.as_secs_f64();
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(TITLE, ("sans-serif", 30, FontStyle::Bold))?;
    let (top, bottom) = root.split_vertically(SIZE.1 * 58 / 100);
    let label_font = ("sans-serif", 17).into_font();

    // Depth.
    let depth_max = CAPACITY as f64 * 1.3;
    let mut chart = ChartBuilder::on(&top)
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .caption(
            "messages queued in the mailbox, sampled every 4 ms",
            ("sans-serif", 20),
        )
        // A little room below 0 keeps a line at 0 clear of the axis.
        .build_cartesian_2d(0.0..window, -0.6..depth_max)?;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(0.0, -0.6), (burst, depth_max)],
        BURST_SHADE.filled(),
    )))?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("messages queued")
        .axis_desc_style(("sans-serif", 19))
        .label_style(("sans-serif", 16))
        .light_line_style(WHITE.mix(0.0))
        .x_label_formatter(&|x| format!("{x:.1}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    chart.draw_series(std::iter::once(Text::new(
        "burst: the producer offers 4x what the consumer handles",
        (0.015, depth_max * 0.97),
        label_font.clone(),
    )))?;
    chart.draw_series(std::iter::once(Text::new(
        "calm: 1/4 of what the consumer handles",
        (burst + 0.015, depth_max * 0.97),
        label_font.clone(),
    )))?;
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, CAPACITY as f64), (window, CAPACITY as f64)],
            8,
            6,
            CAPACITY_LINE.stroke_width(2),
        ))?
        .label(format!("capacity ({CAPACITY})"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 28, y)], CAPACITY_LINE.stroke_width(2)));
    for run in runs {
        let style = line_style(run.policy);
        chart
            .draw_series(LineSeries::new(
                run.samples.iter().map(|s| (s.secs, s.depth as f64)),
                style,
            ))?
            .label(run.policy.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 28, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleRight)
        .margin(12)
        .label_font(("sans-serif", 17))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;

    // Losses.
    let lost_top = runs
        .iter()
        .flat_map(|run| run.samples.iter().map(|s| s.lost))
        .max()
        .unwrap_or(0)
        .max(10) as f64
        * 1.2;
    let mut chart = ChartBuilder::on(&bottom)
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .caption(
            "messages lost so far (dropped, evicted or rejected)",
            ("sans-serif", 20),
        )
        .build_cartesian_2d(0.0..window, -lost_top / 60.0..lost_top)?;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(0.0, -lost_top / 60.0), (burst, lost_top)],
        BURST_SHADE.filled(),
    )))?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("messages lost")
        .axis_desc_style(("sans-serif", 19))
        .label_style(("sans-serif", 16))
        .light_line_style(WHITE.mix(0.0))
        .x_label_formatter(&|x| format!("{x:.1}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    for run in runs {
        let style = line_style(run.policy);
        chart
            .draw_series(LineSeries::new(
                run.samples.iter().map(|s| (s.secs, s.lost as f64)),
                style,
            ))?
            .label(format!("{} ({} lost)", run.policy, run.lost()))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 28, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleRight)
        .margin(12)
        .label_font(("sans-serif", 17))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;

    root.present()?;
    Ok(())
}

/// The output path from the command line.
fn parse_args() -> Result<Option<PathBuf>, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(Some(PathBuf::from(DEFAULT_OUTPUT))),
        [arg] if arg == "-h" || arg == "--help" => Ok(None),
        [arg] => Ok(Some(PathBuf::from(arg))),
        [_, extra, ..] => Err(format!("unexpected extra argument `{extra}`")),
    }
}

fn main() -> ExitCode {
    let output = match parse_args() {
        Ok(Some(output)) => output,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("depth_plot: {err}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };

    if let Some(dir) = output.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        if let Err(err) = std::fs::create_dir_all(dir) {
            eprintln!("depth_plot: cannot create {}: {err}", dir.display());
            return ExitCode::FAILURE;
        }
    }

    println!(
        "A producer offers {} messages/s for {} ms, then {} messages/s for {} ms, to a consumer \
         that handles {} messages/s through a mailbox of {CAPACITY}; once per policy.",
        1000 / BURST_PERIOD.as_millis(),
        BURST.as_millis(),
        1000.0 / CALM_PERIOD.as_millis() as f64,
        CALM.as_millis(),
        1000 / WORK.as_millis(),
    );
    let wall = std::time::Instant::now();
    let runs = System::new().block_on(async {
        let mut runs = Vec::new();
        for policy in OverflowPolicy::ALL {
            match timeout(RUN_LIMIT, run(policy)).await {
                Ok(run) => runs.push(run),
                Err(_) => {
                    eprintln!(
                        "depth_plot: the {policy} run did not finish within {} s",
                        RUN_LIMIT.as_secs()
                    );
                    break;
                }
            }
        }
        System::current().stop();
        runs
    });
    if runs.len() < OverflowPolicy::ALL.len() {
        return ExitCode::FAILURE;
    }

    if let Err(err) = draw(&output, &runs) {
        eprintln!("depth_plot: drawing {} failed: {err}", output.display());
        return ExitCode::FAILURE;
    }
    println!("wrote {}", output.display());

    let mut ok = true;
    for run in &runs {
        println!(
            "  {:<12} handled {:>4}  lost {:>4}  max depth {:>2}/{CAPACITY}  \
             (offered {}, producer waited {:.2} s, {} samples)",
            run.policy.as_str(),
            run.stats.handled,
            run.lost(),
            run.max_depth(),
            run.report.offered,
            run.report.waited.as_secs_f64(),
            run.samples.len(),
        );
        for problem in run.problems() {
            ok = false;
            eprintln!("depth_plot: {}: {problem}", run.policy);
        }
    }
    println!("wall time {:.2} s", wall.elapsed().as_secs_f64());
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
