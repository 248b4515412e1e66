//! Stages for the supervisor tests: a source fed by a pausable interval, and stages that take
//! a fixed (virtual) time per message and may forward to the next stage.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_backpressure::{BoundedAddr, PauseGate};

/// Runs `body` in an actix `System` on Tokio's paused clock (time advances whenever every task
/// waits), on a thread of its own; fails if it takes longer than `limit` of real time.
pub fn on_virtual_time<F, Fut>(limit: Duration, body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let (done, finished) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        System::new().block_on(async move {
            tokio::time::pause();
            body().await;
        });
        let _ = done.send(());
    });
    match finished.recv_timeout(limit) {
        Ok(()) => thread.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // The body panicked: show its panic.
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("test exceeded {limit:?} of real time")
        }
    }
}

/// Waits (on Tokio's clock) until `cond` holds, looking every 10 ms.
pub async fn eventually(mut cond: impl FnMut() -> bool) {
    while !cond() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A job; its number.
#[derive(Message, Clone, Copy, Debug)]
#[rtype(result = "()")]
pub struct Job(pub u64);

/// How a source hands a job to its stage.
#[derive(Clone, Copy, Debug)]
pub enum Handoff {
    /// `try_send`: never waits; the mailbox's policy decides.
    Try,
    /// `tell`, awaited before the next tick: waits for room under `Block`.
    Tell,
}

/// Produces `total` jobs, one per tick of `gate.interval(period)`, skipping the ticks for
/// which `skip` says so; stops after the last.
pub struct Source {
    pub gate: PauseGate,
    pub period: Duration,
    pub total: u64,
    pub to: BoundedAddr<Stage>,
    pub handoff: Handoff,
    pub skip: fn(u64) -> bool,
    /// Jobs produced so far, shared with the test.
    pub produced: Arc<AtomicU64>,
    pub tick: u64,
}

impl Source {
    pub fn new(gate: PauseGate, period: Duration, total: u64, to: BoundedAddr<Stage>) -> Self {
        Source {
            gate,
            period,
            total,
            to,
            handoff: Handoff::Try,
            skip: |_| false,
            produced: Arc::default(),
            tick: 0,
        }
    }
}

impl Actor for Source {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.add_stream(self.gate.interval(self.period));
    }
}

impl StreamHandler<tokio::time::Instant> for Source {
    fn handle(&mut self, _: tokio::time::Instant, ctx: &mut Context<Self>) {
        self.tick += 1;
        if (self.skip)(self.tick) {
            return;
        }
        let n = self.produced.load(Ordering::SeqCst);
        if n == self.total {
            ctx.stop();
            return;
        }
        self.produced.store(n + 1, Ordering::SeqCst);
        match self.handoff {
            Handoff::Try => {
                // Refused or dropped jobs are counted by the stage's mailbox.
                let _ = self.to.try_send(Job(n));
            }
            Handoff::Tell => {
                let to = self.to.clone();
                ctx.wait(actix::fut::wrap_future(async move {
                    let _ = to.tell(Job(n)).await;
                }));
            }
        }
    }
}

/// Takes `delay` per job, one at a time, then forwards it to `next` (waiting for room).
pub struct Stage {
    pub delay: Duration,
    pub next: Option<BoundedAddr<Stage>>,
    /// Jobs forwarded to `next` that it refused.
    pub refused: Arc<AtomicU64>,
}

impl Stage {
    pub fn new(delay: Duration, next: Option<BoundedAddr<Stage>>) -> Self {
        Stage {
            delay,
            next,
            refused: Arc::default(),
        }
    }
}

impl Actor for Stage {
    type Context = Context<Self>;
}

impl Handler<Job> for Stage {
    type Result = ();

    fn handle(&mut self, job: Job, ctx: &mut Context<Self>) {
        let delay = self.delay;
        let next = self.next.clone();
        let refused = Arc::clone(&self.refused);
        ctx.wait(actix::fut::wrap_future(async move {
            tokio::time::sleep(delay).await;
            if let Some(next) = next {
                if next.tell(job).await.is_err() {
                    refused.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
}
