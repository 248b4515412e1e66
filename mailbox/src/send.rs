//! The send paths shared by `BoundedAddr` and `BoundedRecipient`: one attempt, the policy's
//! answer to a full queue or a spent rate limit, and waiting for room or a token.

use actix::Message;
use std::time::Duration;

use tokio::time::Instant;

use crate::chan::{Refusal, Sink};
use crate::core::Core;
use crate::envelope::MsgEnvelope;
use crate::rate::Limiter;
use crate::{DropReason, OverflowPolicy, SendError, TrySendError};

/// What the policy makes of a refused attempt.
enum Verdict {
    /// Full under `Block`: wait for room, if the caller can.
    Wait,
    /// No rate token now under `Block`: wait for one, if the caller can (see [`Waits`]).
    WaitToken,
    /// Under `Block`, the message reserved a rate token whose slot comes at this instant:
    /// wait until then.
    WaitSlot(Instant),
    /// The message will not be queued.
    Drop(DropReason),
}

/// Where a message stands with the rate limits on its way: the sending handle's own
/// (`limited.rs`), then the mailbox's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token([Held; 2]);

/// Where a message stands with one rate limit.
#[derive(Clone, Copy, Debug)]
enum Held {
    /// It has no token yet (or there is no limit).
    Needed,
    /// It has one.
    Token,
    /// It reserved one, which is its own from this instant.
    Reserved(Instant),
}

impl Token {
    /// No token of either limit yet.
    pub(crate) const NEEDED: Token = Token([Held::Needed; 2]);
}

/// The limits a message sent through `sink` needs tokens of, in order.
fn limiters<M, S>(sink: &S) -> [Option<&Limiter>; 2]
where
    M: Message + Send + 'static,
    S: Sink<M> + ?Sized,
{
    [sink.sender_rate(), sink.core().rate.as_ref()]
}

/// Gives back every token `token` holds or reserved: its message was refused after all, or
/// its send was cancelled.
fn refund(limiters: &[Option<&Limiter>; 2], token: &mut Token) {
    for (limiter, held) in limiters.iter().zip(&mut token.0) {
        if let (Some(limiter), Held::Token | Held::Reserved(_)) = (limiter, *held) {
            limiter.refund();
        }
        *held = Held::Needed;
    }
}

impl Token {
    /// Gives back what this token holds of the limits on the way into `sink`: for a message
    /// that will not be queued (refused, or its send cancelled). A token given back lets the
    /// next sender in at once, so a limit can admit one message early per token given back
    /// while later senders wait for slots they reserved; over time it admits no more.
    pub(crate) fn give_back<M, S>(&mut self, sink: &S)
    where
        M: Message + Send + 'static,
        S: Sink<M> + ?Sized,
    {
        refund(&limiters(sink), self);
    }
}

/// Whether the caller of an attempt may wait, under `Block`, for a rate token.
#[derive(Clone, Copy)]
enum Waits {
    /// Never (`try_send`, `do_send`): no token now is a refusal.
    Never,
    /// Later, in [`push`]: no token now hands the message back to wait (nothing reserved
    /// yet, since the deadline may still be set).
    Later,
    /// Now, until the deadline: reserve the next token if it comes by then, or refuse.
    Until(Option<Instant>),
}

/// One attempt to queue `env`; on refusal, the envelope back and the policy's verdict.
///
/// With rate limits (the sending handle's own, then the mailbox's), the message needs a token
/// of each first (`token`, kept across attempts). Under `Block`, a sender that may wait
/// reserves the next token and waits for its slot, unless the slot comes after its deadline
/// (then it is refused at once, as `RateLimited`); any other finds one now or is refused.
/// Tokens taken by a message that is then refused are given back.
fn attempt<M, S>(
    sink: &S,
    env: Box<MsgEnvelope<M>>,
    token: &mut Token,
    waits: Waits,
) -> Result<(), (Box<MsgEnvelope<M>>, Verdict)>
where
    M: Message + Send + 'static,
    S: Sink<M> + ?Sized,
{
    let policy = sink.core().policy();
    let limiters = limiters(sink);
    for i in 0..limiters.len() {
        let Some(limiter) = limiters[i] else {
            continue;
        };
        let held = &mut token.0[i];
        if let Held::Needed = held {
            if limiter.try_take().is_ok() {
                *held = Held::Token;
            } else {
                let verdict = match (policy, waits) {
                    (OverflowPolicy::Block, Waits::Later) => Verdict::WaitToken,
                    (OverflowPolicy::Block, Waits::Until(deadline)) => {
                        match limiter.reserve_before(deadline) {
                            Some(slot) => {
                                *held = Held::Reserved(slot);
                                Verdict::WaitSlot(slot)
                            }
                            None => Verdict::Drop(DropReason::RateLimited),
                        }
                    }
                    _ => Verdict::Drop(DropReason::RateLimited),
                };
                if let Verdict::Drop(_) = verdict {
                    // The sender's own token, taken for a message the mailbox's limit refuses.
                    refund(&limiters, token);
                }
                return Err((env, verdict));
            }
        }
        if let Held::Reserved(slot) = *held {
            if slot > Instant::now() {
                return Err((env, Verdict::WaitSlot(slot)));
            }
            *held = Held::Token;
        }
    }
    sink.offer(env, policy).map_err(|(env, refusal)| {
        let verdict = match (refusal, policy) {
            (Refusal::Closed, _) => Verdict::Drop(DropReason::Closed),
            (Refusal::Full, OverflowPolicy::Block) => Verdict::Wait,
            (Refusal::Full, OverflowPolicy::DropNewest) => Verdict::Drop(DropReason::DropNewest),
            (Refusal::Full, _) => Verdict::Drop(DropReason::Rejected),
        };
        if let Verdict::Drop(_) = verdict {
            // Refused after all: the tokens go back, for the next sender.
            refund(&limiters, token);
        }
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
    let mut token = Token::NEEDED;
    let (env, verdict) = match attempt(sink, env, &mut token, Waits::Never) {
        Ok(()) => return Ok(()),
        Err(refused) => refused,
    };
    let reason = match verdict {
        Verdict::Wait => DropReason::Rejected,
        Verdict::WaitToken | Verdict::WaitSlot(_) => DropReason::RateLimited,
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
    let mut token = Token::NEEDED;
    match attempt(sink, env, &mut token, Waits::Later) {
        Ok(()) => Offered::Queued,
        Err((env, Verdict::Wait | Verdict::WaitToken | Verdict::WaitSlot(_))) => {
            Offered::MustWait(env, token)
        }
        Err((env, Verdict::Drop(reason))) => {
            let msg = refuse(sink, (*env).into_msg(), reason);
            Offered::Refused(send_error(reason, msg))
        }
    }
}

/// Queues the envelope, waiting for room (and a rate token) under `Block` until `deadline`
/// (if any). `token`: where the message stands with the rate limits. Once the message is
/// queued it holds nothing (the message spent it); whatever it holds otherwise, after a
/// refusal (a timeout, say) or with this future dropped, the caller gives back
/// ([`Token::give_back`]; `request.rs` does it as its sender guard drops).
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
    token: &mut Token,
) -> Result<(), SendError<M>>
where
    M: Message + Send + 'static,
    S: Sink<M> + ?Sized,
{
    let mut registration = None;
    let reason = loop {
        let verdict = match attempt(sink, env, token, Waits::Until(deadline)) {
            Ok(()) => {
                // Spent by the message queued.
                *token = Token::NEEDED;
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
            // A token reserved, its slot before the deadline: sleep until then, and try again
            // with it. Not counted as blocked: the supervisor reads that as a full mailbox.
            (Verdict::WaitSlot(slot), _) => wait_for_token(sink.core(), slot).await,
            // Not made for `Waits::Until`; refused rather than trusted to be impossible.
            (Verdict::WaitToken, _) => break DropReason::RateLimited,
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
                let waited = started.elapsed();
                sink.core().counters.add_blocked(waited);
                if sink.core().timing {
                    crate::metrics::record_blocked(sink.core(), waited);
                }
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

/// Sleeps until `slot`, the instant a reserved rate token is the sender's; counts the wait
/// (`rate_waited`, `mailbox_rate_wait_seconds`) once it is over.
pub(crate) async fn wait_for_token(core: &Core, slot: Instant) {
    let started = Instant::now();
    tokio::time::sleep_until(slot).await;
    let waited = started.elapsed();
    core.counters.add_rate_waited(waited);
    if core.timing {
        crate::metrics::record_rate_wait(core, waited);
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
