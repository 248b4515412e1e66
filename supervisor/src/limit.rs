//! Adaptive limits: a controller that sets a mailbox's capacity from the latency it measures,
//! instead of a hand-tuned bound ([`SupervisorHandle::adapt_capacity`](crate::SupervisorHandle::adapt_capacity)).
//!
//! A bound is a latency in disguise: a full queue of `capacity` messages, each taking `h` to
//! handle, makes the last one wait `capacity × h`. The right bound is therefore `target / h`,
//! and `h` changes as the handler slows down or speeds up. A [`LimitController`] looks at
//! each sample and moves the capacity toward the one that keeps the latency at its target:
//! [`Aimd`] (additive increase, multiplicative decrease, as TCP and Netflix's
//! concurrency-limits do) and [`Gradient`] (the ratio of target to measured latency, smoothed,
//! after Netflix's Gradient2 and Envoy's adaptive concurrency filter).
//!
//! The latency is the mean time in the mailbox over the last sample interval, by Little's
//! law: the mean depth over the interval divided by the rate at which messages were taken out.
//! It needs nothing from the mailbox but its probe: no clock read per message.

use std::time::Duration;

use tokio::time::Instant;

use crate::{PolicyError, Reading};

/// How often an adaptive limit is updated, by default.
pub const DEFAULT_LIMIT_INTERVAL: Duration = Duration::from_millis(100);

/// What a [`LimitController`] sees at each sample.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct LimitState {
    /// When the sample was taken (Tokio's clock).
    pub at: Instant,
    /// The mailbox, against the previous sample.
    pub reading: Reading,
    /// The capacity in effect.
    pub limit: usize,
    /// The mean time in the mailbox over the interval since the previous sample (Little's
    /// law), or `None` when nothing was queued in it. A mailbox that held messages and
    /// handled none reports the whole interval.
    pub latency: Option<Duration>,
    /// Whether the limit was binding: the mailbox was at least 90 % full, or senders waited
    /// for room, or messages were lost to overflow. A limit that does not bind tells nothing
    /// about a larger one, so the controllers here grow only a binding limit.
    pub saturated: bool,
    /// The smallest capacity the controller may set.
    pub min: usize,
    /// The largest capacity the controller may set.
    pub max: usize,
}

/// A rule that sets a mailbox's capacity from its measured latency; see
/// [`SupervisorHandle::adapt_capacity`](crate::SupervisorHandle::adapt_capacity).
///
/// The supervisor calls [`update`](Self::update) every [`interval`](Self::interval), one
/// call at a time, and applies the answer within `min..=max`.
pub trait LimitController: Send + 'static {
    /// How often the mailbox is sampled.
    fn interval(&self) -> Duration {
        DEFAULT_LIMIT_INTERVAL
    }

    /// Checks the controller's settings when the supervisor takes the mailbox on.
    ///
    /// # Errors
    ///
    /// The [`PolicyError`] naming the invalid setting; by default there is none.
    fn validate(&self) -> Result<(), PolicyError> {
        Ok(())
    }

    /// The capacity to set after this sample.
    fn update(&mut self, state: &LimitState) -> usize;
}

/// Additive increase, multiplicative decrease: while the latency is above the target, the
/// limit is multiplied by [`backoff`](Self::backoff); while it is at most the target and the
/// limit binds, it grows by [`increase`](Self::increase).
///
/// It probes for room all the time, so it settles into a sawtooth just under the best limit:
/// from `best × backoff` to `best`, plus one step.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # use actix_backpressure_supervisor as actix_backpressure;
/// use actix_backpressure::{Aimd, LimitController};
///
/// let aimd = Aimd::new(Duration::from_millis(40)).backoff(0.8);
/// assert!(aimd.validate().is_ok());
/// assert!(Aimd::new(Duration::from_millis(40)).backoff(1.5).validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct Aimd {
    target: Duration,
    increase: usize,
    backoff: f64,
    interval: Duration,
}

impl Aimd {
    /// Keeps the time in the mailbox at `target`: grows by 1, backs off by 0.9, every 100 ms.
    pub fn new(target: Duration) -> Self {
        Aimd {
            target,
            increase: 1,
            backoff: 0.9,
            interval: DEFAULT_LIMIT_INTERVAL,
        }
    }

    /// How much a binding limit grows per sample at or under the target (at least 1).
    pub fn increase(mut self, increase: usize) -> Self {
        self.increase = increase;
        self
    }

    /// The factor a limit is multiplied by per sample above the target (above 0, below 1).
    pub fn backoff(mut self, backoff: f64) -> Self {
        self.backoff = backoff;
        self
    }

    /// How often the mailbox is sampled (not zero).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }
}

impl LimitController for Aimd {
    fn interval(&self) -> Duration {
        self.interval
    }

    fn validate(&self) -> Result<(), PolicyError> {
        check_target(self.target)?;
        if self.increase == 0 {
            return Err(PolicyError::ZeroStep);
        }
        if !(self.backoff > 0.0 && self.backoff < 1.0) {
            return Err(PolicyError::FactorOutOfRange {
                factor: "backoff",
                value: self.backoff,
            });
        }
        Ok(())
    }

    fn update(&mut self, state: &LimitState) -> usize {
        match state.latency {
            Some(latency) if latency > self.target => {
                // Floor: a limit of 10 at 0.9 goes to 9, not back to 10.
                (state.limit as f64 * self.backoff) as usize
            }
            Some(_) if state.saturated => state.limit.saturating_add(self.increase),
            _ => state.limit,
        }
    }
}

/// Moves the limit toward `limit × target / latency`, the limit at which the latency
/// measured now would be on target, by a [`smoothing`](Self::smoothing) share per sample.
/// The ratio is held within 0.5 to 2 per sample, so one odd sample cannot halve the limit
/// twice over; a limit that does not bind is not grown.
///
/// Where [`Aimd`] keeps probing, this settles: once the latency is on target the ratio is 1
/// and the limit stays.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # use actix_backpressure_supervisor as actix_backpressure;
/// use actix_backpressure::{Gradient, LimitController};
///
/// let gradient = Gradient::new(Duration::from_millis(40)).smoothing(0.5);
/// assert!(gradient.validate().is_ok());
/// assert!(Gradient::new(Duration::ZERO).validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct Gradient {
    target: Duration,
    smoothing: f64,
    interval: Duration,
    /// The limit before rounding, so that small steps add up.
    exact: Option<f64>,
}

impl Gradient {
    /// Keeps the time in the mailbox at `target`, moving a third of the way per 100 ms sample.
    pub fn new(target: Duration) -> Self {
        Gradient {
            target,
            smoothing: 1.0 / 3.0,
            interval: DEFAULT_LIMIT_INTERVAL,
            exact: None,
        }
    }

    /// The share of the way to the ideal limit taken per sample (above 0, at most 1).
    pub fn smoothing(mut self, smoothing: f64) -> Self {
        self.smoothing = smoothing;
        self
    }

    /// How often the mailbox is sampled (not zero).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }
}

impl LimitController for Gradient {
    fn interval(&self) -> Duration {
        self.interval
    }

    fn validate(&self) -> Result<(), PolicyError> {
        check_target(self.target)?;
        if !(self.smoothing > 0.0 && self.smoothing <= 1.0) {
            return Err(PolicyError::FactorOutOfRange {
                factor: "smoothing",
                value: self.smoothing,
            });
        }
        Ok(())
    }

    fn update(&mut self, state: &LimitState) -> usize {
        let current = match self.exact {
            // Ours, unless the capacity was changed behind our back.
            Some(exact) if exact.round() as usize == state.limit => exact,
            _ => state.limit as f64,
        };
        let Some(latency) = state.latency else {
            return state.limit;
        };
        let ratio = (self.target.as_secs_f64() / latency.as_secs_f64().max(1e-9)).clamp(0.5, 2.0);
        if ratio > 1.0 && !state.saturated {
            return state.limit;
        }
        let ideal = current * ratio;
        let next = (current + (ideal - current) * self.smoothing)
            .clamp(state.min as f64, state.max as f64);
        self.exact = Some(next);
        next.round() as usize
    }
}

fn check_target(target: Duration) -> Result<(), PolicyError> {
    if target.is_zero() {
        Err(PolicyError::ZeroTarget)
    } else {
        Ok(())
    }
}

/// The mean time in the mailbox between two samples `elapsed` apart, by Little's law: mean
/// depth over the rate messages were taken out at. `None` when nothing was queued.
pub(crate) fn latency(
    depth_before: usize,
    depth_now: usize,
    taken_out: u64,
    elapsed: Duration,
) -> Option<Duration> {
    let mean_depth = (depth_before + depth_now) as f64 / 2.0;
    if mean_depth == 0.0 {
        return None;
    }
    if taken_out == 0 {
        return Some(elapsed);
    }
    let rate = taken_out as f64 / elapsed.as_secs_f64();
    Some(Duration::from_secs_f64(mean_depth / rate).min(Duration::from_secs(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(limit: usize, latency_ms: Option<u64>, saturated: bool) -> LimitState {
        LimitState {
            at: Instant::now(),
            reading: Reading {
                depth: limit,
                capacity: limit,
                fill: 1.0,
                overflowed: 0,
                blocked: saturated,
                idle_consumers: 0,
            },
            limit,
            latency: latency_ms.map(Duration::from_millis),
            saturated,
            min: 1,
            max: 1000,
        }
    }

    #[test]
    fn little_s_law_gives_the_mean_wait() {
        // 40 queued throughout, 1000 taken out per second: 40 ms each.
        let w = latency(40, 40, 100, Duration::from_millis(100)).unwrap();
        assert!((w.as_secs_f64() - 0.040).abs() < 1e-9, "{w:?}");
        assert_eq!(latency(0, 0, 0, Duration::from_millis(100)), None);
        assert_eq!(
            latency(5, 5, 0, Duration::from_millis(100)),
            Some(Duration::from_millis(100))
        );
    }

    #[test]
    fn aimd_backs_off_above_target_and_grows_only_a_binding_limit() {
        let mut aimd = Aimd::new(Duration::from_millis(40));
        assert_eq!(aimd.update(&state(100, Some(50), true)), 90);
        assert_eq!(aimd.update(&state(10, Some(44), true)), 9);
        assert_eq!(aimd.update(&state(9, Some(36), true)), 10);
        assert_eq!(aimd.update(&state(9, Some(1), false)), 9);
        assert_eq!(aimd.update(&state(9, None, false)), 9);
    }

    #[test]
    fn gradient_moves_toward_the_limit_on_target_and_stays_there() {
        let mut gradient = Gradient::new(Duration::from_millis(40)).smoothing(1.0);
        // 100 queued at 4 ms each: 400 ms. The ratio is held at 0.5.
        assert_eq!(gradient.update(&state(100, Some(400), true)), 50);
        // 50 at 4 ms: 200 ms, halved again; 25 at 4 ms: 100 ms, halved (12.5, shown as 13);
        // 13 at 4 ms: 52 ms, to 12.5 * 40 / 52 = 9.6, shown as 10, where it stays.
        assert_eq!(gradient.update(&state(50, Some(200), true)), 25);
        assert_eq!(gradient.update(&state(25, Some(100), true)), 13);
        assert_eq!(gradient.update(&state(13, Some(52), true)), 10);
        assert_eq!(gradient.update(&state(10, Some(40), true)), 10);
        // Under target, but not binding: no growth.
        assert_eq!(gradient.update(&state(10, Some(10), false)), 10);
        // Binding and far under: doubled, from the unrounded 9.6.
        assert_eq!(gradient.update(&state(10, Some(10), true)), 19);
    }
}
