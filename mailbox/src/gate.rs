//! `PauseGate`: a switch that pauses a mailbox's consumer and the streams that feed an actor.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use event_listener::{Event, EventListener};
use futures_core::Stream;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// A shared pause switch: while it is paused, whatever it guards stops pulling work, and loses
/// none.
///
/// Every mailbox has one ([`BoundedAddr::pause_gate`](crate::BoundedAddr::pause_gate)): while
/// it is paused the actor takes no message out of its mailbox (control messages still pass, see
/// [`BoundedAddr::control`](crate::BoundedAddr::control)), so its mailbox fills and its own
/// senders feel the pressure. For an actor that produces from a stream or a timer, guard the
/// source with the same gate — [`wrap`](Self::wrap) a stream, or make ticks with
/// [`interval`](Self::interval) — and it stops pulling items while paused: nothing is read, so
/// nothing is lost.
///
/// Clones share the switch. [`pause`](Self::pause) and [`resume`](Self::resume) are idempotent
/// and take effect at once: a guarded stream yields no further item after `pause` returns
/// (an item already being handled finishes).
///
/// # Examples
///
/// ```
/// use actix::prelude::*;
/// # use actix_backpressure_mailbox as actix_backpressure;
/// use actix_backpressure::{BoundedActorExt, MailboxConfig, PauseGate};
///
/// struct Ticker {
///     gate: PauseGate,
///     ticks: u64,
/// }
///
/// impl Actor for Ticker {
///     type Context = Context<Self>;
///
///     fn started(&mut self, ctx: &mut Context<Self>) {
///         // No tick is produced while the gate is paused.
///         ctx.add_stream(self.gate.interval(std::time::Duration::from_millis(1)));
///     }
/// }
///
/// impl StreamHandler<tokio::time::Instant> for Ticker {
///     fn handle(&mut self, _: tokio::time::Instant, _: &mut Context<Self>) {
///         self.ticks += 1;
///     }
/// }
///
/// System::new().block_on(async {
///     let gate = PauseGate::new();
///     let ticker = Ticker { gate: gate.clone(), ticks: 0 }
///         .start_bounded(MailboxConfig::new(8).pause_gate(gate.clone()));
///     assert!(gate.pause());
///     assert!(ticker.is_paused());
///     assert!(!gate.pause(), "pausing twice changes nothing");
///     assert!(gate.resume());
/// });
/// ```
pub struct PauseGate {
    inner: Arc<Inner>,
}

struct Inner {
    paused: AtomicBool,
    /// Notified on every resume, and when a handle goes while paused.
    resumed: Event,
    /// Live `PauseGate` handles (a mailbox's own included).
    handles: AtomicUsize,
}

impl Default for PauseGate {
    fn default() -> Self {
        PauseGate {
            inner: Arc::new(Inner {
                paused: AtomicBool::new(false),
                resumed: Event::new(),
                handles: AtomicUsize::new(1),
            }),
        }
    }
}

impl Clone for PauseGate {
    fn clone(&self) -> Self {
        // Relaxed: a new handle comes from a live one, which keeps the count above 0.
        self.inner.handles.fetch_add(1, Ordering::Relaxed);
        PauseGate {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl Drop for PauseGate {
    fn drop(&mut self) {
        // SeqCst, then a look at the flag: a paused mailbox whose other handles are all gone
        // must hear of it (see `poll_open_unless`), whichever of the two comes last.
        self.inner.handles.fetch_sub(1, Ordering::SeqCst);
        if self.is_paused() {
            self.inner.resumed.notify(usize::MAX);
        }
    }
}

impl PauseGate {
    /// A gate that is open (not paused).
    pub fn new() -> Self {
        PauseGate::default()
    }

    /// Pauses whatever the gate guards. Returns `true` if it was running.
    pub fn pause(&self) -> bool {
        // SeqCst: the flag is the only state; see `poll_open` for the pairing with `resume`.
        !self.inner.paused.swap(true, Ordering::SeqCst)
    }

    /// Lets whatever the gate guards go on. Returns `true` if it was paused.
    pub fn resume(&self) -> bool {
        let was_paused = self.inner.paused.swap(false, Ordering::SeqCst);
        if was_paused {
            // A waiter registers, then looks at the flag: it either sees `false` or hears this.
            self.inner.resumed.notify(usize::MAX);
        }
        was_paused
    }

    /// Whether the gate is paused now.
    #[inline]
    pub fn is_paused(&self) -> bool {
        self.inner.paused.load(Ordering::SeqCst)
    }

    /// Waits until the gate is open; returns at once if it is.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only stops the wait.
    pub async fn opened(&self) {
        let mut listener = None;
        std::future::poll_fn(|cx| self.poll_open(&mut listener, cx)).await;
    }

    /// Guards `stream`: while the gate is paused, the stream is not polled, so no item is
    /// pulled out of it.
    pub fn wrap<S: Stream>(&self, stream: S) -> Gated<S> {
        Gated {
            stream,
            gate: self.clone(),
            listener: None,
        }
    }

    /// A stream of ticks every `period`, none while the gate is paused. After a pause the next
    /// tick comes at once, then every `period` again (missed ticks are not made up in a burst).
    ///
    /// # Panics
    ///
    /// If `period` is zero, or outside a Tokio runtime with the time driver (every actix
    /// `System` has one), like [`tokio::time::interval`].
    pub fn interval(&self, period: Duration) -> Gated<Ticks> {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        self.wrap(Ticks { interval })
    }

    /// Whether `other` is a clone of this gate.
    pub fn same_as(&self, other: &PauseGate) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Whether another handle to this gate exists (someone who could resume it).
    pub(crate) fn is_shared(&self) -> bool {
        self.inner.handles.load(Ordering::SeqCst) > 1
    }

    /// Ready when the gate is open; otherwise registers `cx` to be woken on resume, keeping the
    /// registration in `listener`.
    pub(crate) fn poll_open(
        &self,
        listener: &mut Option<EventListener>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        self.poll_open_unless(listener, cx, || false)
    }

    /// As [`poll_open`](Self::poll_open), but also ready once `released()` holds; `released`
    /// may change when a handle of the gate is dropped (the drop notifies).
    pub(crate) fn poll_open_unless(
        &self,
        listener: &mut Option<EventListener>,
        cx: &mut Context<'_>,
        released: impl Fn() -> bool,
    ) -> Poll<()> {
        loop {
            if !self.is_paused() || released() {
                *listener = None;
                return Poll::Ready(());
            }
            match listener {
                // Register, then look at the flag again (the loop): a resume in between
                // notifies this listener.
                None => *listener = Some(self.inner.resumed.listen()),
                Some(waiting) => {
                    ready!(Pin::new(waiting).poll(cx));
                    *listener = None;
                }
            }
        }
    }
}

impl fmt::Debug for PauseGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PauseGate")
            .field("paused", &self.is_paused())
            .finish()
    }
}

pin_project! {
    /// A stream guarded by a [`PauseGate`]: see [`PauseGate::wrap`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Gated<S> {
        #[pin]
        stream: S,
        gate: PauseGate,
        listener: Option<EventListener>,
    }
}

impl<S: Stream> Stream for Gated<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        ready!(this.gate.poll_open(this.listener, cx));
        this.stream.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

impl<S: fmt::Debug> fmt::Debug for Gated<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gated")
            .field("stream", &self.stream)
            .field("gate", &self.gate)
            .finish()
    }
}

/// An endless stream of ticks: see [`PauseGate::interval`].
#[derive(Debug)]
pub struct Ticks {
    interval: Interval,
}

impl Stream for Ticks {
    type Item = Instant;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.interval.poll_tick(cx).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_and_resume_are_idempotent() {
        let gate = PauseGate::new();
        assert!(!gate.is_paused());
        assert!(!gate.resume());
        assert!(gate.pause());
        assert!(!gate.pause());
        assert!(gate.clone().is_paused());
        assert!(gate.resume());
        assert!(!gate.is_paused());
    }

    #[tokio::test]
    async fn a_gated_stream_pulls_nothing_while_paused() {
        use std::sync::atomic::AtomicUsize;

        let pulled = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&pulled);
        let source = counting_stream(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let gate = PauseGate::new();
        let mut gated = Box::pin(gate.wrap(source));
        let waker = std::task::Waker::from(Arc::new(NoWake));
        let mut cx = Context::from_waker(&waker);
        assert!(gated.as_mut().poll_next(&mut cx).is_ready());
        gate.pause();
        for _ in 0..3 {
            assert!(gated.as_mut().poll_next(&mut cx).is_pending());
        }
        assert_eq!(
            pulled.load(Ordering::SeqCst),
            1,
            "nothing pulled while paused"
        );
        gate.resume();
        assert!(gated.as_mut().poll_next(&mut cx).is_ready());
        assert_eq!(pulled.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn opened_waits_for_resume() {
        let gate = PauseGate::new();
        gate.opened().await;
        gate.pause();
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.opened().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        gate.resume();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("resume wakes the waiter")
            .unwrap();
    }

    struct NoWake;

    impl std::task::Wake for NoWake {
        fn wake(self: Arc<Self>) {}
    }

    /// An endless stream calling `f` for each item it yields.
    fn counting_stream(f: impl FnMut() + Unpin) -> impl Stream<Item = ()> {
        struct Each<F>(F);
        impl<F: FnMut() + Unpin> Stream for Each<F> {
            type Item = ();
            fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<()>> {
                (self.0)();
                Poll::Ready(Some(()))
            }
        }
        Each(f)
    }
}
