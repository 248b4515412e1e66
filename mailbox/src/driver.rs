//! The driver: a future spawned inside the actor's context that feeds it from the bounded
//! queue, one message at a time.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{self, Poll};

use actix::{Actor, ActorFuture, AsyncContext, Context};
use concurrent_queue::PopError;

use crate::chan::Chan;
use crate::metrics::Timers;

/// Feeds the actor from its bounded queue.
///
/// It runs inside the actor's context, so handlers get `&mut A` and `&mut Context<A>` exactly
/// as with actix's own mailbox. It pops one envelope at a time (a local batch would be a hidden
/// buffer beyond the bound, out of reach of `DropOldest`), holds off while the context waits
/// (`ctx.wait`, stopping), yields to the arbiter after `batch` messages, and finishes once every
/// sender is gone and the queue is empty, which lets the actor stop.
///
/// When it is dropped because the actor stopped, it closes the queue and fails what is left
/// in it as `Stopped`; during a supervised restart it leaves the queue alone.
pub(crate) struct Driver<A: Actor> {
    chan: Arc<Chan<A>>,
    timers: Timers,
}

impl<A: Actor> Driver<A> {
    pub(crate) fn new(chan: Arc<Chan<A>>) -> Self {
        Driver {
            chan,
            timers: Timers::new(),
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
        let mut handled = 0;
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
            let env = match chan.pop() {
                Ok(env) => env,
                Err(PopError::Closed) => break Poll::Ready(()),
                Err(PopError::Empty) => {
                    // Park, then look again: a message pushed in between wakes us.
                    chan.park_consumer(task.waker());
                    match chan.pop() {
                        Ok(env) => {
                            chan.unpark_consumer();
                            env
                        }
                        Err(PopError::Closed) => break Poll::Ready(()),
                        Err(PopError::Empty) => {
                            fenced = true;
                            break Poll::Pending;
                        }
                    }
                }
            };
            env.handle(act, ctx, &mut this.timers, &chan.core);
            chan.handled();
            handled += 1;
        };
        chan.settle_room(handled, fenced);
        poll
    }
}

impl<A: Actor> Drop for Driver<A> {
    fn drop(&mut self) {
        if !self.chan.is_restarting() {
            self.chan.close_and_drain();
        }
    }
}
