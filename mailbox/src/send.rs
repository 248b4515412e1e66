//! The send paths shared by `BoundedAddr` and `BoundedRecipient`: one attempt, the policy's
//! answer to a full queue or a spent rate limit, and waiting for room or a token.

use actix::Message;
use std::time::Duration;

use tokio::time::Instant;

use crate::chan::{Refusal, Sink};
use crate::envelope::MsgEnvelope;
use crate::{DropReason, OverflowPolicy, SendError, TrySendError};

/// What the policy makes of a refused attempt.
enum Verdict {
    /// Full under `Block`: wait for room, if the caller can.
    Wait,
    /// Under `Block`, the message reserved a rate token whose slot comes at this instant:
    /// wait until then.
    WaitToken(Instant),
    /// The message will not be queued.
    Drop(DropReason),
}

/// Where a message stands with the mailbox's rate limit.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Token {
    /// It has none yet (or the mailbox has no limit).
    Needed,
    /// It has one.
    Held,
    /// It reserved one, which is its own from this instant.
    Reserved(Instant),
}

/// One attempt to queue `env`; on refusal, the envelope back and the policy's verdict.
///
/// With a rate limit, the message needs a token first (`token`, kept across attempts). A
/// sender that `can_wait` under `Block` reserves the next token and waits for its slot; any
/// other finds one now or is refused as `RateLimited`.
fn attempt<M, S>(
    sink: &S,
    env: Box<MsgEnvelope<M>>,
    token: &mut Token,
    can_wait: bool,
) -> Result<(), (Box<MsgEnvelope<M>>, Verdict)>
where
    M: Message + Send + 'static,
    S: Sink<M> + ?Sized,
{
    let policy = sink.core().policy();
    if let Some(limiter) = &sink.core().rate {
        if let Token::Needed = token {
            *token = if can_wait && policy == OverflowPolicy::Block {
                Token::Reserved(limiter.reserve())
            } else if limiter.try_take().is_ok() {
                Token::Held
            } else {
                return Err((env, Verdict::Drop(DropReason::RateLimited)));
            };
        }
        if let Token::Reserved(slot) = *token {
            if slot > Instant::now() {
                return Err((env, Verdict::WaitToken(slot)));
            }
            *token = Token::Held;
        }
    }
    sink.offer(env, policy).map_err(|(env, refusal)| {
        let verdict = match (refusal, policy) {
            (Refusal::Closed, _) => Verdict::Drop(DropReason::Closed),
            (Refusal::Full, OverflowPolicy::Block) => Verdict::Wait,
            (Refusal::Full, OverflowPolicy::DropNewest) => Verdict::Drop(DropReason::DropNewest),
            (Refusal::Full, _) => Verdict::Drop(DropReason::Rejected),
        };
        (env, verdict)
    })
}

/// Counts a message that will not be queued, shows it to the drop hook and unpacks it.
///
/// It was never queued, so the reply channel it may carry is simply dropped: the caller
/// learns the outcome from the returned error.
fn refuse<M, S>(sink: &S, msg: M, reason: DropReason) -> M
where
    M: Message + Send + 'static,
    S: Sink<M> + ?Sized,
{
    sink.core().discard(reason, &msg);
    msg
}

/// Queues the envelope without waiting. Under `Block`, a full mailbox rejects it.
pub(crate) fn try_push<M, S>(sink: &S, env: Box<MsgEnvelope<M>>) -> Result<(), TrySendError<M>>
where
    M: Message + Send + 'static,
    S: Sink<M> + ?Sized,
{
    let (env, verdict) = match attempt(sink, env, &mut Token::Needed, false) {
        Ok(()) => return Ok(()),
        Err(refused) => refused,
    };
    let reason = match verdict {
        Verdict::Wait => DropReason::Rejected,
        Verdict::WaitToken(_) => DropReason::RateLimited,
        Verdict::Drop(reason) => reason,
    };
    let msg = refuse(sink, (*env).into_msg(), reason);
    Err(match reason {
        DropReason::DropNewest => TrySendError::Dropped(msg),
        DropReason::Closed => TrySendError::Closed(msg),
        DropReason::RateLimited => TrySendError::RateLimited(msg),
        _ => TrySendError::Full(msg),
    })
}

/// Queues `msg` on the control lane, without a reply.
pub(crate) fn control<M, S>(sink: &S, msg: M) -> Result<(), TrySendError<M>>
where
    M: Message + Send + 'static,
    S: Sink<M> + ?Sized,
{
    sink.offer_control(MsgEnvelope::new(msg, None))
        .map_err(|env| TrySendError::Closed((*env).into_msg()))
}

/// What became of a message offered without waiting.
pub(crate) enum Offered<M: Message> {
    Queued,
    /// Refused by the policy or a closed mailbox: counted, shown to the drop hook.
    Refused(SendError<M>),
    /// Full (or waiting for its rate token) under `Block`: the envelope back, to wait with
    /// [`push`], and where it stands with the rate limit.
    MustWait(Box<MsgEnvelope<M>>, Token),
}

/// Offers the envelope once, now; a full mailbox under `Block` hands it back to wait.
pub(crate) fn offer_now<M, S>(sink: &S, env: Box<MsgEnvelope<M>>) -> Offered<M>
where
    M: Message + Send + 'static,
    S: Sink<M> + ?Sized,
{
    let mut token = Token::Needed;
    match attempt(sink, env, &mut token, true) {
        Ok(()) => Offered::Queued,
        Err((env, Verdict::Wait | Verdict::WaitToken(_))) => Offered::MustWait(env, token),
        Err((env, Verdict::Drop(reason))) => {
            let msg = refuse(sink, (*env).into_msg(), reason);
            Offered::Refused(send_error(reason, msg))
        }
    }
}

/// Queues the envelope, waiting for room (and a rate token) under `Block` until `deadline`
/// (if any). `token`: where the message stands with the rate limit.
///
/// # Cancel safety
///
/// The message is queued (or refused, and then counted and shown to the drop hook)
/// synchronously inside one poll. If this future is dropped while it waits for room, the
/// message was not queued and is dropped with it, uncounted; if it is dropped later, the
/// message stays queued (or stays counted as refused). Never both queued and handed back.
pub(crate) async fn push<M, S>(
    sink: &S,
    mut env: Box<MsgEnvelope<M>>,
    deadline: Option<Instant>,
    mut token: Token,
) -> Result<(), SendError<M>>
where
    M: Message + Send + 'static,
    S: Sink<M> + ?Sized,
{
    let mut registration = None;
    let reason = loop {
        let verdict = match attempt(sink, env, &mut token, true) {
            Ok(()) => {
                spend_budget().await;
                return Ok(());
            }
            Err((refused, verdict)) => {
                env = refused;
                verdict
            }
        };
        match (verdict, registration.take()) {
            (Verdict::Drop(reason), _) => break reason,
            // A token reserved for later: sleep until its slot (counted as blocked), then try
            // again with it.
            (Verdict::WaitToken(next), _) => {
                let started = Instant::now();
                let in_time = deadline.map_or(true, |deadline| next <= deadline);
                tokio::time::sleep_until(deadline.map_or(next, |deadline| next.min(deadline)))
                    .await;
                blocked(sink, started.elapsed());
                if !in_time {
                    break DropReason::Timeout;
                }
            }
            // Register, look once more, then sleep: a slot freed between the failed attempt
            // and the registration would otherwise be missed.
            (Verdict::Wait, None) => registration = Some(sink.wait_for_room()),
            (Verdict::Wait, Some(mut registered)) => {
                let started = Instant::now();
                let woken = match deadline {
                    None => {
                        registered.notified().await;
                        true
                    }
                    Some(deadline) => tokio::time::timeout_at(deadline, registered.notified())
                        .await
                        .is_ok(),
                };
                blocked(sink, started.elapsed());
                if !woken {
                    break DropReason::Timeout;
                }
            }
        }
    };
    let msg = refuse(sink, (*env).into_msg(), reason);
    spend_budget().await;
    Err(send_error(reason, msg))
}

/// Counts a sender's wait for room or a token.
fn blocked<M, S>(sink: &S, waited: Duration)
where
    M: Message + Send + 'static,
    S: Sink<M> + ?Sized,
{
    sink.core().counters.add_blocked(waited);
    if sink.core().timing {
        crate::metrics::record_blocked(sink.core(), waited);
    }
}

/// The error for a message refused for `reason`.
fn send_error<M>(reason: DropReason, msg: M) -> SendError<M> {
    match reason {
        DropReason::DropNewest => SendError::Dropped(msg),
        DropReason::Closed => SendError::Closed(msg),
        DropReason::Timeout => SendError::Timeout(msg),
        DropReason::RateLimited => SendError::RateLimited(msg),
        _ => SendError::Full(msg),
    }
}

/// The deadline `timeout` from now, or `None` (no deadline) for a timeout beyond what the
/// timer handles, as `tokio::time::sleep` caps its own.
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    /// About 30 years.
    const FOREVER: Duration = Duration::from_secs(30 * 365 * 24 * 3600);
    (timeout < FOREVER).then(|| Instant::now() + timeout)
}

/// A producer whose sends never wait must still let the consumer run when both share a Tokio
/// worker: spend one unit of the task's cooperative budget per message. Called once the
/// outcome is settled, so being cancelled here loses nothing.
async fn spend_budget() {
    tokio::task::consume_budget().await;
}
