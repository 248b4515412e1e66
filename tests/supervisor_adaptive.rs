//! Adaptive limits on virtual time: a producer that always has more to send (it waits for
//! room under `Block`) feeds an actor whose handler takes 1 ms, then 4 ms, then 1 ms again.
//! The controller should find, each time, the capacity that keeps the time in the mailbox at
//! its 40 ms target (`40 ms / handler time`), and hold it without swinging far.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_backpressure::prelude::*;
use actix_backpressure::{Action, Aimd, Gradient, LimitController, PressureSupervisor};
use common::pipeline::on_virtual_time;
use tokio::time::Instant;

const TARGET: Duration = Duration::from_millis(40);
/// Each phase lasts this long; the last `SETTLED` of it is measured.
const PHASE: Duration = Duration::from_secs(5);
const SETTLED: Duration = Duration::from_millis(1500);

#[derive(Message)]
#[rtype(result = "()")]
struct Work;

/// Takes `cost` microseconds of virtual time per message.
struct Variable {
    cost: Arc<AtomicU64>,
}

impl Actor for Variable {
    type Context = Context<Self>;
}

impl Handler<Work> for Variable {
    type Result = ();

    fn handle(&mut self, _: Work, ctx: &mut Context<Self>) {
        let cost = Duration::from_micros(self.cost.load(Ordering::SeqCst));
        ctx.wait(actix::fut::wrap_future(tokio::time::sleep(cost)));
    }
}

/// One phase, as measured: the capacity that keeps the latency at target for the handler
/// time actually seen, and the capacities over the phase's settled end.
struct Phase {
    ideal: f64,
    mean: f64,
    min: usize,
    max: usize,
}

/// Runs the three phases under `controller`; returns them and the number of resize decisions.
async fn three_phases(controller: impl LimitController) -> (Vec<Phase>, usize) {
    let cost = Arc::new(AtomicU64::new(1000));
    let addr = Variable {
        cost: Arc::clone(&cost),
    }
    .start_bounded(MailboxConfig::new(100).name("adaptive"));
    let supervisor = PressureSupervisor::start();
    let mut decisions = supervisor.subscribe();
    supervisor
        .adapt_capacity(&addr, 2, 400, controller)
        .expect("valid bounds and controller");

    let done = Arc::new(AtomicBool::new(false));
    let producer = {
        let addr = addr.clone();
        let done = Arc::clone(&done);
        actix::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                addr.tell(Work).await.expect("queued");
            }
        })
    };

    let mut phases = Vec::new();
    for micros in [1000, 4000, 1000] {
        cost.store(micros, Ordering::SeqCst);
        let start = Instant::now();
        let mut settled = Vec::new();
        let mut handled_at_settle = None;
        while start.elapsed() < PHASE {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if start.elapsed() >= PHASE - SETTLED {
                handled_at_settle.get_or_insert((Instant::now(), addr.stats().handled));
                settled.push(addr.capacity());
            }
        }
        let (since, handled_before) = handled_at_settle.expect("measured");
        let handled = addr.stats().handled - handled_before;
        let per_message = since.elapsed().as_secs_f64() / handled as f64;
        phases.push(Phase {
            ideal: TARGET.as_secs_f64() / per_message,
            mean: settled.iter().sum::<usize>() as f64 / settled.len() as f64,
            min: *settled.iter().min().unwrap(),
            max: *settled.iter().max().unwrap(),
        });
    }
    done.store(true, Ordering::SeqCst);
    supervisor.stop();
    let mut resizes = 0;
    while let Some(decision) = decisions.recv().await {
        if decision.action == Action::Resize {
            let (capacity, _) = decision.capacity.expect("a resize names its capacity");
            assert!((2..=400).contains(&capacity), "{decision}");
            resizes += 1;
        }
    }
    drop(addr);
    producer.abort();
    (phases, resizes)
}

/// Each phase settles within 10 % of its ideal capacity, swinging over at most `swing` of it
/// (plus one, for rounding).
fn check(name: &str, phases: &[Phase], swing: f64) {
    for (i, phase) in phases.iter().enumerate() {
        eprintln!(
            "{name} phase {i}: ideal {:.1}, settled mean {:.1}, range {}..={}",
            phase.ideal, phase.mean, phase.min, phase.max
        );
    }
    for (i, phase) in phases.iter().enumerate() {
        let off = (phase.mean - phase.ideal).abs() / phase.ideal;
        assert!(
            off <= 0.10,
            "{name} phase {i}: mean {:.1} vs ideal {:.1}",
            phase.mean,
            phase.ideal
        );
        let range = (phase.max - phase.min) as f64;
        assert!(
            range <= phase.ideal * swing + 1.0,
            "{name} phase {i}: swings over {range} (ideal {:.1})",
            phase.ideal
        );
    }
    // The slow phase needs a quarter of the capacity of the fast ones, and the limit came back.
    assert!(phases[1].mean < phases[0].mean / 2.0 && phases[2].mean > phases[1].mean * 2.0);
}

#[test]
fn a_gradient_limit_finds_the_capacity_on_target_and_holds_it() {
    on_virtual_time(Duration::from_secs(60), || async {
        let (phases, resizes) = three_phases(Gradient::new(TARGET)).await;
        check("gradient", &phases, 0.10);
        assert!(resizes > 3, "{resizes} resizes");
    });
}

#[test]
fn an_aimd_limit_saws_just_under_the_capacity_on_target() {
    on_virtual_time(Duration::from_secs(60), || async {
        let (phases, resizes) = three_phases(Aimd::new(TARGET)).await;
        // The sawtooth: from `best * 0.9` to `best` and a step.
        check("aimd", &phases, 0.20);
        assert!(resizes > 3, "{resizes} resizes");
    });
}

#[test]
fn bad_limit_settings_are_refused_with_what_is_wrong() {
    System::new().block_on(async {
        let addr = Variable {
            cost: Arc::default(),
        }
        .start_bounded(MailboxConfig::new(8));
        let supervisor = PressureSupervisor::start();
        let err = supervisor
            .adapt_capacity(&addr, 10, 5, Gradient::new(TARGET))
            .unwrap_err();
        assert!(err.to_string().contains("1 <= min <= max"), "{err}");
        let err = supervisor
            .adapt_capacity(&addr, 1, 5, Aimd::new(TARGET).backoff(1.0))
            .unwrap_err();
        assert!(err.to_string().contains("backoff"), "{err}");
        assert!(supervisor
            .adapt_capacity(&addr, 1, 5, Gradient::new(Duration::ZERO))
            .is_err());
        supervisor.stop();
    });
}
