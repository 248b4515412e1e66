//! Supervision with a bounded mailbox: restart the actor in place and keep its queue.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{self, Poll};

use actix::dev::ContextFut;
use actix::{Actor, AsyncContext, Context, Supervised};

use crate::chan::Chan;
use crate::driver::Driver;

/// Runs a supervised actor (the bounded counterpart of `actix::Supervisor`): when the actor
/// stops while any of its bounded addresses is alive, it is restarted in place and a fresh
/// driver is spawned over the same queue.
pub(crate) struct BoundedSupervisor<A>
where
    A: Supervised + Actor<Context = Context<A>>,
{
    fut: ContextFut<A, Context<A>>,
    chan: Arc<Chan<A>>,
}

impl<A> BoundedSupervisor<A>
where
    A: Supervised + Actor<Context = Context<A>>,
{
    pub(crate) fn new<F>(driver: Driver<A>, f: F) -> Self
    where
        F: FnOnce(&mut Context<A>) -> A,
    {
        let chan = Arc::clone(driver.chan());
        let mut ctx = Context::new();
        let act = f(&mut ctx);
        ctx.spawn(driver);
        BoundedSupervisor {
            fut: ctx.into_future(act),
            chan,
        }
    }
}

impl<A> Future for BoundedSupervisor<A>
where
    A: Supervised + Actor<Context = Context<A>>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            if Pin::new(&mut this.fut).poll(cx).is_pending() {
                return Poll::Pending;
            }
            // The actor stopped. A closed queue means every sender is gone: let it go.
            if this.chan.is_closed() {
                return Poll::Ready(());
            }
            // actix's `restart` refuses when its own mailbox has no address: hold one meanwhile.
            let native = this.fut.address();
            let restarted = {
                // The old driver is dropped inside `restart`: it must leave the queue open. The
                // guard clears the flag even if `Supervised::restarting` panics.
                let _restarting = this.chan.restarting();
                this.fut.restart()
            };
            drop(native);
            if !restarted {
                // Cannot happen while `native` is held; if it ever did, do not strand the queue.
                return Poll::Ready(());
            }
            this.fut.ctx().spawn(Driver::new(Arc::clone(&this.chan)));
        }
    }
}

impl<A> Drop for BoundedSupervisor<A>
where
    A: Supervised + Actor<Context = Context<A>>,
{
    fn drop(&mut self) {
        // However the supervisor ends (the actor gone for good, a panic in `restarting`, the
        // arbiter shutting down), nothing may stay queued or waiting. Idempotent.
        self.chan.close_and_drain();
    }
}
