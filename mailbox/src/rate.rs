//! Rate limits on a mailbox's send path: a token bucket (the generic cell rate algorithm) on
//! Tokio's clock, so that a test on paused time sees virtual seconds.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use tokio::time::Instant;

/// How many messages a mailbox admits per period: see
/// [`MailboxConfig::rate_limit`](crate::MailboxConfig::rate_limit).
///
/// Messages are admitted evenly, one per `period / count` (the generic cell rate algorithm, a
/// token bucket refilled continuously), with up to [`burst`](Self::burst) at once after a
/// quiet spell.
///
/// # Examples
///
/// ```
/// # use actix_backpressure_mailbox as actix_backpressure;
/// use std::time::Duration;
/// use actix_backpressure::{MailboxConfig, RateLimit};
///
/// let config = MailboxConfig::new(64).rate_limit(RateLimit::per_second(100).burst(10));
/// assert!(config.validate().is_ok());
/// assert!(MailboxConfig::new(64).rate_limit(RateLimit::per_second(0)).validate().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub(crate) count: u32,
    pub(crate) period: Duration,
    pub(crate) burst: u32,
}

impl RateLimit {
    /// `count` messages per `period`, one at a time (a burst of 1).
    pub const fn new(count: u32, period: Duration) -> Self {
        RateLimit {
            count,
            period,
            burst: 1,
        }
    }

    /// `count` messages per second, one at a time.
    pub const fn per_second(count: u32) -> Self {
        RateLimit::new(count, Duration::from_secs(1))
    }

    /// Admits up to `burst` messages at once after a quiet spell (at least 1).
    pub const fn burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }

    /// The messages admitted per [`period`](Self::period).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The period [`count`](Self::count) messages are admitted in.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The most messages admitted at once.
    pub fn get_burst(&self) -> u32 {
        self.burst
    }

    /// Whether every figure is above zero (and the interval between two messages is at
    /// least a nanosecond).
    pub(crate) fn is_valid(&self) -> bool {
        self.count > 0
            && self.burst > 0
            && u64::try_from((self.period / self.count.max(1)).as_nanos()).is_ok_and(|n| n > 0)
    }
}

/// A mailbox's rate limiter: the generic cell rate algorithm over one atomic word, the
/// theoretical arrival time (TAT) of the next message, in nanoseconds from `origin`.
///
/// A message conforms at `now` when `now >= tat - tolerance` (`tolerance` is `burst - 1`
/// emission intervals); taking it moves the TAT to `max(tat, now) + interval`. A sender that
/// may wait [`reserve`](Self::reserve)s instead: it moves the TAT at once and sleeps until its
/// own slot, so a sender that wakes late (Tokio's timer rounds up to the millisecond) loses
/// nothing: the next slot is counted from the TAT, not from when it woke. That is why this is
/// not `governor`: its limiter has no reservation, and a waiting sender re-checking after a
/// late wake-up lost that lateness each time (measured at 100/s on virtual time: 91 admitted
/// per second).
///
/// The word orders nothing else: its accesses are `Relaxed`, and each update is one CAS.
pub(crate) struct Limiter {
    origin: Instant,
    tat: AtomicU64,
    interval: u64,
    tolerance: u64,
}

impl Limiter {
    /// The limiter of `limit`, or `None` when a figure is zero.
    pub(crate) fn new(limit: RateLimit) -> Option<Self> {
        if !limit.is_valid() {
            return None;
        }
        let interval = u64::try_from((limit.period / limit.count).as_nanos()).ok()?;
        Some(Limiter {
            origin: Instant::now(),
            tat: AtomicU64::new(0),
            interval,
            tolerance: interval.saturating_mul(u64::from(limit.burst - 1)),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn at(&self, nanos: u64) -> Instant {
        self.origin + Duration::from_nanos(nanos)
    }

    /// Takes a token if one is there now; otherwise, when the next one will be.
    pub(crate) fn try_take(&self) -> Result<(), Instant> {
        let now = self.now();
        self.book(now, Some(now))
            .map(drop)
            .map_err(|slot| self.at(slot))
    }

    /// Takes the next token if it comes by `deadline` (any time, for `None`): returns when
    /// it is the caller's (now, or later), and the caller must wait until then before it uses
    /// it. `None`, and nothing taken, when it would come after the deadline.
    pub(crate) fn reserve_before(&self, deadline: Option<Instant>) -> Option<Instant> {
        let deadline = deadline.map(|deadline| {
            u64::try_from(deadline.saturating_duration_since(self.origin).as_nanos())
                .unwrap_or(u64::MAX)
        });
        self.book(self.now(), deadline)
            .ok()
            .map(|slot| self.at(slot))
    }

    /// Books the next token at `now` if its slot comes by `deadline` (nanoseconds from
    /// `origin`, as `now`): the slot, or, when it comes later, the slot not booked.
    fn book(&self, now: u64, deadline: Option<u64>) -> Result<u64, u64> {
        let mut tat = self.tat.load(Relaxed);
        loop {
            let slot = tat.saturating_sub(self.tolerance).max(now);
            if deadline.is_some_and(|deadline| slot > deadline) {
                return Err(slot);
            }
            let next = tat.max(now).saturating_add(self.interval);
            match self.tat.compare_exchange_weak(tat, next, Relaxed, Relaxed) {
                Ok(_) => return Ok(slot),
                Err(actual) => tat = actual,
            }
        }
    }

    /// Gives back a token taken (or reserved) by a message that was then refused (a full or
    /// closed mailbox, a timeout) or whose send was cancelled: the next sender may have it.
    pub(crate) fn refund(&self) {
        let _ = self.tat.fetch_update(Relaxed, Relaxed, |tat| {
            Some(tat.saturating_sub(self.interval))
        });
    }

    /// Guards a token just taken or reserved: see [`Booked`].
    pub(crate) fn booked(&self) -> Booked<'_> {
        Booked(Some(self))
    }
}

/// A token booked (taken or reserved) for a wait that may be cancelled: dropped before
/// [`spent`](Self::spent), it gives the token back.
#[must_use = "dropping it gives the token back at once"]
pub(crate) struct Booked<'a>(Option<&'a Limiter>);

impl Booked<'_> {
    /// The token was used: keep it.
    pub(crate) fn spent(mut self) {
        self.0 = None;
    }
}

impl Drop for Booked<'_> {
    fn drop(&mut self) {
        if let Some(limiter) = self.0 {
            limiter.refund();
        }
    }
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("interval", &Duration::from_nanos(self.interval))
            .field("tolerance", &Duration::from_nanos(self.tolerance))
            .finish()
    }
}

#[cfg(all(test, not(mailbox_loom)))]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn tokens_come_one_interval_apart_after_a_burst() {
        let limiter = Limiter::new(RateLimit::per_second(100).burst(3)).unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            limiter.try_take().unwrap();
        }
        let next = limiter.try_take().unwrap_err();
        assert_eq!(next - start, Duration::from_millis(10));
        // Reservations line up one interval apart, whenever they are made.
        let first = limiter.reserve_before(None).unwrap();
        let second = limiter.reserve_before(None).unwrap();
        assert_eq!(first - start, Duration::from_millis(10));
        assert_eq!(second - first, Duration::from_millis(10));
        // A slot past the deadline is not taken.
        assert_eq!(
            limiter.reserve_before(Some(start + Duration::from_millis(25))),
            None
        );
        // A reserver that woke late does not push the later slots back.
        tokio::time::advance(Duration::from_millis(25)).await;
        assert_eq!(
            limiter.reserve_before(None).unwrap() - start,
            Duration::from_millis(30)
        );
        // A refund gives the last token back.
        limiter.refund();
        assert_eq!(
            limiter.reserve_before(None).unwrap() - start,
            Duration::from_millis(30)
        );
        assert!(Limiter::new(RateLimit::per_second(0)).is_none());
    }
}
