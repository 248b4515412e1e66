//! Decisions: what the supervisor did and why, as a stream for tests and UIs.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use crate::Reading;

/// What the supervisor decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// A watched mailbox stayed hot long enough to count as saturated.
    Saturated,
    /// A saturated mailbox stayed cool long enough to count as recovered.
    Recovered,
    /// An upstream was paused (one of the mailboxes it feeds is saturated).
    Pause,
    /// An upstream was resumed (none of the mailboxes it feeds is saturated any more, or the
    /// supervisor stopped).
    Resume,
    /// A worker pool grew.
    ScaleUp,
    /// A worker pool shrank.
    ScaleDown,
    /// An adaptive limit changed a mailbox's capacity.
    Resize,
}

impl Action {
    /// The actions counted by
    /// [`SUPERVISOR_ACTIONS_TOTAL`](crate::metrics::SUPERVISOR_ACTIONS_TOTAL).
    pub const COUNTED: [Action; 5] = [
        Action::Pause,
        Action::Resume,
        Action::ScaleUp,
        Action::ScaleDown,
        Action::Resize,
    ];

    /// `"saturated"`, `"recovered"`, `"pause"`, `"resume"`, `"scale_up"`, `"scale_down"` or
    /// `"resize"`: for the last five, the `action` label of
    /// [`SUPERVISOR_ACTIONS_TOTAL`](crate::metrics::SUPERVISOR_ACTIONS_TOTAL).
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Saturated => "saturated",
            Action::Recovered => "recovered",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::ScaleUp => "scale_up",
            Action::ScaleDown => "scale_down",
            Action::Resize => "resize",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One decision of the supervisor, with the figures behind it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Decision {
    /// When it was made (Tokio's clock, so tests on paused time see virtual instants).
    pub at: Instant,
    /// What was decided.
    pub action: Action,
    /// The watched mailbox the decision is about (for `Pause`/`Resume`, the one whose state
    /// changed; for `ScaleUp`/`ScaleDown`, the pool's; empty when the supervisor stopped).
    pub mailbox: Arc<str>,
    /// The upstream paused or resumed (`Pause`/`Resume` only).
    pub upstream: Option<Arc<str>>,
    /// The sample that triggered it (none when the supervisor stopped, or the mailbox is gone).
    pub reading: Option<Reading>,
    /// How long the samples had pointed this way (`Saturated`/`Recovered`).
    pub held: Duration,
    /// The pool's workers after a `ScaleUp`/`ScaleDown`.
    pub workers: Option<usize>,
    /// The mailbox's capacity after a `Resize`, and the latency that led to it.
    pub capacity: Option<(usize, Option<Duration>)>,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.upstream {
            Some(upstream) => write!(f, "{} {upstream} (mailbox {})", self.action, self.mailbox)?,
            None => write!(f, "{} {}", self.mailbox, self.action)?,
        }
        if let Some(workers) = self.workers {
            write!(f, " to {workers} workers")?;
        }
        if let Some((capacity, latency)) = self.capacity {
            write!(f, " to capacity {capacity}")?;
            if let Some(latency) = latency {
                write!(f, " (latency {latency:?})")?;
            }
        }
        if let Some(r) = &self.reading {
            write!(
                f,
                ": {}/{} ({:.0}%), {} lost to overflow, senders {}",
                r.depth,
                r.capacity,
                r.fill * 100.0,
                r.overflowed,
                if r.blocked { "waiting" } else { "not waiting" }
            )?;
        }
        Ok(())
    }
}

/// A subscription to the supervisor's decisions, from
/// [`SupervisorHandle::subscribe`](crate::SupervisorHandle::subscribe): a [`Stream`] of
/// [`Decision`]s, in the order they were made, from the moment of subscribing.
///
/// The subscription buffers up to [`DECISION_BUFFER`] decisions; a subscriber that falls
/// further behind misses the oldest ones, and [`missed`](Self::missed) counts them. The stream
/// ends when the supervisor has stopped.
pub struct Decisions {
    inner: BroadcastStream<Decision>,
    missed: u64,
}

/// How many decisions a subscription buffers for a subscriber that does not keep up.
pub const DECISION_BUFFER: usize = 4096;

impl Decisions {
    pub(crate) fn new(rx: broadcast::Receiver<Decision>) -> Self {
        Decisions {
            inner: BroadcastStream::new(rx),
            missed: 0,
        }
    }

    /// The next decision, or `None` once the supervisor has stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a decision is taken out only when it is returned.
    pub async fn recv(&mut self) -> Option<Decision> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Decisions this subscriber missed because it fell more than [`DECISION_BUFFER`] behind.
    pub fn missed(&self) -> u64 {
        self.missed
    }
}

impl Stream for Decisions {
    type Item = Decision;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Decision>> {
        loop {
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(n)))) => self.missed += n,
                Poll::Ready(Some(Ok(decision))) => return Poll::Ready(Some(decision)),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl fmt::Debug for Decisions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decisions")
            .field("missed", &self.missed)
            .finish()
    }
}
