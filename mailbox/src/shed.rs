//! Shedding by time in the mailbox: a message that waited too long is dropped at the head,
//! unhandled, as [`DropReason::Expired`](crate::DropReason::Expired). The rules are on
//! [`Sojourn`] and [`MailboxConfig::ttl`](crate::MailboxConfig::ttl); the driver applies them
//! to each data message it takes out ([`Shedder`]).

use std::time::Duration;

use tokio::time::Instant;

/// The sojourn rule of a mailbox ([`MailboxConfig::sojourn`](crate::MailboxConfig::sojourn)),
/// after CoDel (Nichols and Jacobson, RFC 8289) and Facebook's server queues ("Fail at
/// Scale", 2015).
///
/// A short queue that comes and goes is a burst, which a queue is for; a *standing* queue is
/// overload, and only makes every message late. So the actor watches the sojourn (time in the
/// mailbox) of each message it takes out: once the sojourn has stayed at or above `target`
/// for a whole `interval` (CoDel's detector), the mailbox is overloaded, and from then on
/// every message at the head that waited `target` or more is shed, until the queue empties.
/// The actor then works only on messages younger than `target`, and never idles while work
/// is queued: the last queued message is never shed by this rule. Control messages are never
/// shed. A pool's workers each watch on their own.
///
/// [`Sojourn::codel`] is CoDel itself, with its control law: once overloaded, it sheds one
/// message, then the next `interval / sqrt(count)` later, faster and faster while the sojourn
/// stays above the target. The law paces drops for senders that slow down when they see one,
/// as TCP does. An actor's senders do not, so under a steady overload the law lags behind:
/// with 5 ms handlers and three times as many messages as they can take, over 10 s of virtual
/// time, its p99 wait is over a second, against under 10 ms for [`Sojourn::new`]
/// (`tests/mailbox_sojourn.rs` measures both). Use the law where senders do back off on
/// losses (a retrying client with exponential backoff), the plain rule elsewhere.
///
/// # Examples
///
/// ```
/// # use actix_backpressure_mailbox as actix_backpressure;
/// use std::time::Duration;
/// use actix_backpressure::{MailboxConfig, Sojourn};
///
/// let config = MailboxConfig::new(1024).sojourn(Sojourn::new(
///     Duration::from_millis(5),
///     Duration::from_millis(100),
/// ));
/// assert!(config.validate().is_ok());
/// assert_eq!(Sojourn::default(), Sojourn::new(Duration::from_millis(5), Duration::from_millis(100)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sojourn {
    pub(crate) target: Duration,
    pub(crate) interval: Duration,
    /// CoDel's control law rather than shedding every stale message.
    pub(crate) control_law: bool,
}

impl Sojourn {
    /// CoDel's defaults: a 5 ms target over a 100 ms interval, shedding every stale message
    /// once overloaded.
    pub const DEFAULT: Sojourn = Sojourn::new(Duration::from_millis(5), Duration::from_millis(100));

    /// Shed messages that waited `target` or more, once the sojourn has stayed at or above
    /// `target` for `interval`, until the queue empties. `target` must be above zero and
    /// below `interval` ([`MailboxConfig::validate`](crate::MailboxConfig::validate) says so
    /// otherwise).
    pub const fn new(target: Duration, interval: Duration) -> Self {
        Sojourn {
            target,
            interval,
            control_law: false,
        }
    }

    /// CoDel as RFC 8289 has it: the same detector, then drops at the head spaced by its
    /// control law, `interval / sqrt(count)`, while the sojourn stays at or above `target`.
    /// See the type's docs for when it fits.
    pub const fn codel(target: Duration, interval: Duration) -> Self {
        Sojourn {
            target,
            interval,
            control_law: true,
        }
    }

    /// Whether this is [`codel`](Self::codel), with the control law.
    pub fn has_control_law(&self) -> bool {
        self.control_law
    }

    /// The time in the mailbox a message should not exceed.
    pub fn target(&self) -> Duration {
        self.target
    }

    /// How long the sojourn must stay above the target before shedding starts.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

impl Default for Sojourn {
    /// [`Sojourn::DEFAULT`]: 5 ms over 100 ms.
    fn default() -> Self {
        Sojourn::DEFAULT
    }
}

/// `at + d`, with `d` capped at about 30 years: an interval from an operator's file may be
/// beyond what the clock can add.
fn later(at: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 3600);
    at + d.min(FAR)
}

/// One consumer's shedding state. Each driver (each pool worker) keeps its own.
#[derive(Debug)]
pub(crate) struct Shedder {
    ttl: Option<Duration>,
    sojourn: Option<Sojourn>,
    /// When the sojourn, at or above the target since, will have been so for an interval.
    above_until: Option<Instant>,
    /// The sojourn stayed above the target for an interval, and the queue has not emptied
    /// since (the plain rule); in CoDel's dropping state (the control law).
    overloaded: bool,
    /// The control law's state (RFC 8289): the next drop, drops in this dropping state, and
    /// at the end of the last one.
    drop_next: Option<Instant>,
    count: u32,
    last_count: u32,
}

impl Shedder {
    /// The state for these rules, or `None` when neither is set.
    pub(crate) fn new(ttl: Option<Duration>, sojourn: Option<Sojourn>) -> Option<Self> {
        (ttl.is_some() || sojourn.is_some()).then_some(Shedder {
            ttl,
            sojourn,
            above_until: None,
            overloaded: false,
            drop_next: None,
            count: 0,
            last_count: 0,
        })
    }

    /// Whether to shed a message queued at `queued_at` and taken out at `now`, with `behind`
    /// messages still queued after it.
    pub(crate) fn sheds(&mut self, queued_at: Instant, now: Instant, behind: usize) -> bool {
        let waited = now.saturating_duration_since(queued_at);
        if self.ttl.is_some_and(|ttl| waited > ttl) {
            return true;
        }
        let Some(sojourn) = self.sojourn else {
            return false;
        };
        if sojourn.control_law {
            return self.control_law(sojourn, waited, now, behind);
        }
        let Sojourn {
            target, interval, ..
        } = sojourn;
        if behind == 0 {
            // The queue empties with this one: no standing queue, and nothing to do instead.
            self.emptied();
            return false;
        }
        if waited < target {
            self.above_until = None;
            return false;
        }
        if !self.overloaded {
            match self.above_until {
                None => {
                    self.above_until = Some(later(now, interval));
                    return false;
                }
                Some(until) if now < until => return false,
                Some(_) => self.overloaded = true,
            }
        }
        true
    }

    /// The consumer found the queue empty.
    pub(crate) fn emptied(&mut self) {
        self.above_until = None;
        self.overloaded = false;
    }

    /// RFC 8289's dequeue, one message at a time: its `dodequeue` decides whether the sojourn
    /// has stayed above the target for an interval; in the dropping state, a message is shed
    /// when the next drop is due, and the one after is scheduled by the control law.
    fn control_law(
        &mut self,
        sojourn: Sojourn,
        waited: Duration,
        now: Instant,
        behind: usize,
    ) -> bool {
        let Sojourn {
            target, interval, ..
        } = sojourn;
        let ok_to_drop = if waited < target || behind == 0 {
            self.above_until = None;
            false
        } else {
            match self.above_until {
                None => {
                    self.above_until = Some(later(now, interval));
                    false
                }
                Some(until) => now >= until,
            }
        };
        let law = |at: Instant, count: u32| later(at, interval.div_f64(f64::from(count).sqrt()));
        if self.overloaded {
            if !ok_to_drop {
                self.overloaded = false;
                return false;
            }
            match self.drop_next {
                Some(next) if now >= next => {
                    self.count = self.count.saturating_add(1);
                    self.drop_next = Some(law(next, self.count));
                    true
                }
                _ => false,
            }
        } else if ok_to_drop {
            self.overloaded = true;
            // Back in the dropping state soon after leaving it: resume near the old rate.
            let delta = self.count.saturating_sub(self.last_count);
            let recent = self.drop_next.is_some_and(|next| {
                now.saturating_duration_since(next) < interval.saturating_mul(16)
            });
            self.count = if delta > 1 && recent { delta } else { 1 };
            self.drop_next = Some(law(now, self.count));
            self.last_count = self.count;
            true
        } else {
            false
        }
    }
}

#[cfg(all(test, not(mailbox_loom)))]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_ttl_sheds_what_waited_longer_even_the_last_message() {
        let mut shed = Shedder::new(Some(10 * MS), None).unwrap();
        let t0 = Instant::now();
        assert!(!shed.sheds(t0, t0 + 10 * MS, 0));
        assert!(shed.sheds(t0, t0 + 11 * MS, 0));
        assert!(Shedder::new(None, None).is_none());
    }

    #[test]
    fn the_sojourn_rule_sheds_only_after_an_interval_above_target_until_the_queue_empties() {
        let mut shed = Shedder::new(None, Some(Sojourn::new(5 * MS, 100 * MS))).unwrap();
        let t0 = Instant::now();
        // Above the target, but not yet for an interval.
        assert!(!shed.sheds(t0, t0 + 6 * MS, 3));
        assert!(!shed.sheds(t0 + 50 * MS, t0 + 105 * MS, 3));
        // An interval above it: overloaded.
        assert!(shed.sheds(t0 + 100 * MS, t0 + 106 * MS, 3));
        // Young messages pass; old ones are still shed while the queue stands.
        assert!(!shed.sheds(t0 + 105 * MS, t0 + 107 * MS, 2));
        assert!(shed.sheds(t0 + 100 * MS, t0 + 107 * MS, 2));
        // The last queued message is never shed by this rule, and it ends the overload.
        assert!(!shed.sheds(t0, t0 + 200 * MS, 0));
        assert!(!shed.sheds(t0 + 200 * MS, t0 + 210 * MS, 5));
    }

    #[test]
    fn the_control_law_spaces_drops_by_interval_over_the_root_of_their_count() {
        let mut shed = Shedder::new(None, Some(Sojourn::codel(5 * MS, 100 * MS))).unwrap();
        let t0 = Instant::now();
        let old = |now| now - 50 * MS;
        assert!(!shed.sheds(old(t0), t0, 9));
        // An interval above target: the first drop, the next one 100 ms later.
        let t1 = t0 + 100 * MS;
        assert!(shed.sheds(old(t1), t1, 9));
        assert!(
            !shed.sheds(old(t1), t1, 8),
            "one drop, then wait for the next"
        );
        assert!(!shed.sheds(old(t1 + 99 * MS), t1 + 99 * MS, 8));
        assert!(shed.sheds(old(t1 + 100 * MS), t1 + 100 * MS, 8));
        // The third drop comes 100 / sqrt(2) ms after the second.
        let t3 = t1 + 100 * MS + Duration::from_micros(70_711);
        assert!(!shed.sheds(old(t3 - MS), t3 - MS, 7));
        assert!(shed.sheds(old(t3), t3, 7));
        // A message under target ends the dropping state.
        assert!(!shed.sheds(t3, t3 + MS, 6));
        assert!(!shed.sheds(old(t3 + 2 * MS), t3 + 2 * MS, 6));
    }

    #[test]
    fn an_interval_beyond_the_clock_does_not_panic() {
        for sojourn in [
            Sojourn::new(MS, Duration::MAX),
            Sojourn::codel(MS, Duration::MAX),
        ] {
            let mut shed = Shedder::new(None, Some(sojourn)).unwrap();
            let t0 = Instant::now();
            for i in 1..10 {
                assert!(!shed.sheds(t0, t0 + i * 10 * MS, 5));
            }
        }
    }
}
