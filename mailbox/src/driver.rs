//! The driver: a future spawned inside the actor's context that feeds it from the bounded
//! queue, one message at a time.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{self, Poll};

use actix::{Actor, ActorFuture, AsyncContext, Context};
use concurrent_queue::PopError;
use event_listener::EventListener;

use crate::chan::Chan;
use crate::metrics::Timers;

/// Feeds the actor from its bounded queue.
///
/// It runs inside the actor's context, so handlers get `&mut A` and `&mut Context<A>` exactly
/// as with actix's own mailbox. Control messages go first; while the mailbox's
/// [`PauseGate`](crate::PauseGate) is paused, only they are taken. It pops one envelope at a time (a local batch would be a hidden
/// buffer beyond the bound, out of reach of `DropOldest`), holds off while the context waits
/// (`ctx.wait`, stopping), yields to the arbiter after `batch` messages, and finishes once every
/// sender is gone and the queue is empty, which lets the actor stop.
///
/// When it is dropped because the actor stopped, it closes the queue and fails what is left
/// in it as `Stopped`; during a supervised restart it leaves the queue alone.
pub(crate) struct Driver<A: Actor> {
    chan: Arc<Chan<A>>,
    timers: Timers,
    /// Registered for the resume while the mailbox is paused.
    resumed: Option<EventListener>,
}

impl<A: Actor> Driver<A> {
    pub(crate) fn new(chan: Arc<Chan<A>>) -> Self {
        Driver {
            chan,
            timers: Timers::new(),
            resumed: None,
        }
    }

    pub(crate) fn chan(&self) -> &Arc<Chan<A>> {
        &self.chan
    }
}

impl<A> ActorFuture<A> for Driver<A>
where
    A: Actor<Context = Context<A>>,
{
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut A,
        ctx: &mut Context<A>,
        task: &mut task::Context<'_>,
    ) -> Poll<()> {
        let this = self.get_mut();
        let chan = &this.chan;
        // Messages handled in this poll (for the batch), and data messages taken out of the
        // bounded queue (for the senders waiting for room).
        let mut handled = 0;
        let mut popped = 0;
        // Whether parking issued a SeqCst fence after the last pop (see `Chan::settle_room`).
        let mut fenced = false;
        let poll = loop {
            // A handler called `ctx.wait(..)` or `ctx.stop()`: the context polls us again
            // once it is ready for more messages.
            if ctx.waiting() {
                break Poll::Pending;
            }
            if handled == chan.core.batch {
                task.waker().wake_by_ref();
                break Poll::Pending;
            }
            // A capacity or policy change takes effect before the next message.
            chan.apply_reconfiguration();
            // The control lane goes first, paused or not.
            if let Some(env) = chan.pop_control() {
                env.handle(act, ctx, &mut this.timers, &chan.core);
                handled += 1;
                continue;
            }
            if paused(chan, &mut this.resumed, task) {
                // Sleep until the gate opens (registered above) or a control message comes.
                chan.park_consumer(task.waker());
                fenced = true;
                match chan.pop_control() {
                    Some(env) => {
                        chan.unpark_consumer();
                        env.handle(act, ctx, &mut this.timers, &chan.core);
                        handled += 1;
                        continue;
                    }
                    None => break Poll::Pending,
                }
            }
            let env = match chan.pop() {
                Ok(env) => env,
                Err(PopError::Closed) => break Poll::Ready(()),
                Err(PopError::Empty) => {
                    // Park, then look again: a message pushed in between wakes us.
                    chan.park_consumer(task.waker());
                    fenced = true;
                    if let Some(env) = chan.pop_control() {
                        chan.unpark_consumer();
                        env.handle(act, ctx, &mut this.timers, &chan.core);
                        handled += 1;
                        continue;
                    }
                    match chan.pop() {
                        Ok(env) => {
                            chan.unpark_consumer();
                            env
                        }
                        Err(PopError::Closed) => break Poll::Ready(()),
                        Err(PopError::Empty) => break Poll::Pending,
                    }
                }
            };
            fenced = false;
            popped += 1;
            env.handle(act, ctx, &mut this.timers, &chan.core);
            chan.handled();
            handled += 1;
        };
        chan.settle_room(popped, fenced);
        poll
    }
}

/// Whether the mailbox is paused; if so, `task` is woken when it resumes.
///
/// A pause that no one can lift any more (the mailbox closed because every sender is gone, and
/// no one else holds its gate) is ignored, so that the actor can drain its queue and stop.
fn paused<A: Actor>(
    chan: &Chan<A>,
    resumed: &mut Option<EventListener>,
    task: &mut task::Context<'_>,
) -> bool {
    let gate = &chan.core.gate;
    if !gate.is_paused() || (chan.is_closed() && !gate.is_shared()) {
        *resumed = None;
        return false;
    }
    gate.poll_open(resumed, task).is_pending()
}

impl<A: Actor> Drop for Driver<A> {
    fn drop(&mut self) {
        if !self.chan.is_restarting() {
            self.chan.close_and_drain();
        }
    }
}
