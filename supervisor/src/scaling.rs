//! Scaling worker pools on mailbox pressure: the `ScalingPolicy` trait and its default rule.

use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::{PolicyError, Reading};

/// What a [`ScalingPolicy`] sees at each sample of a pool.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct PoolState {
    /// When the sample was taken (Tokio's clock).
    pub at: Instant,
    /// The pool's mailbox, against the previous sample.
    pub reading: Reading,
    /// Workers now, counting those still starting and not those retiring.
    pub workers: usize,
    /// The fewest workers the pool keeps.
    pub min: usize,
    /// The most workers the pool keeps.
    pub max: usize,
}

/// What a [`ScalingPolicy`] wants done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Leave the pool as it is.
    Hold,
    /// Add this many workers (the supervisor stops at the pool's `max`).
    Up(usize),
    /// Retire this many workers (the supervisor stops at the pool's `min`).
    Down(usize),
}

/// A rule that sizes a [`WorkerPool`](actix_backpressure_mailbox::WorkerPool) from its
/// mailbox's pressure; see [`SupervisorHandle::manage_pool`](crate::SupervisorHandle::manage_pool).
///
/// The supervisor calls [`decide`](Self::decide) every [`interval`](Self::interval), one call
/// at a time, and applies the answer within the pool's `min..=max`. Workers still starting
/// already count in [`PoolState::workers`], so a rule never has to guess about spawns in
/// flight. [`HpaScaling`] is the default rule.
#[async_trait]
pub trait ScalingPolicy: Send + 'static {
    /// How often the pool is sampled.
    fn interval(&self) -> Duration {
        crate::DEFAULT_INTERVAL
    }

    /// Checks the rule's settings when the supervisor takes the pool on.
    ///
    /// # Errors
    ///
    /// The [`PolicyError`] naming the invalid setting; by default there is none.
    fn validate(&self) -> Result<(), PolicyError> {
        Ok(())
    }

    /// Decides on one sample.
    async fn decide(&mut self, state: &PoolState) -> Scale;
}

/// The default scaling rule, after Kubernetes' horizontal pod autoscaler: scale up fast, scale
/// down slowly, and wait between actions.
///
/// - **Up** by [`step`](Self::step) workers once the mailbox has stayed hot (at least the high
///   watermark full, or losing messages, or holding senders) for [`up_after`](Self::up_after).
/// - **Down** by one worker once the mailbox has stayed cool — at most the low watermark full,
///   nothing lost or held, **and some worker idle** at every sample — for the longer
///   [`down_after`](Self::down_after) (the stabilization window).
/// - No action within [`cooldown`](Self::cooldown) of the last one, so the effect of a change
///   shows before the next; a run of hot or cool samples starts again after each action.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # use actix_backpressure_supervisor as actix_backpressure;
/// use actix_backpressure::HpaScaling;
///
/// let rule = HpaScaling::new().step(2).down_after(Duration::from_secs(10));
/// assert!(rule.validate().is_ok());
/// assert!(HpaScaling::new().step(0).validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct HpaScaling {
    interval: Duration,
    high: f64,
    low: f64,
    up_after: Duration,
    down_after: Duration,
    cooldown: Duration,
    step: usize,
    hot_since: Option<Instant>,
    cool_since: Option<Instant>,
    last_action: Option<Instant>,
}

impl HpaScaling {
    /// The defaults: sample every 100 ms, watermarks 0.8 and 0.3, up after 300 ms hot by 1,
    /// down after 5 s cool by 1, 1 s between actions.
    pub fn new() -> Self {
        HpaScaling {
            interval: crate::DEFAULT_INTERVAL,
            high: crate::DEFAULT_HIGH_WATERMARK,
            low: crate::DEFAULT_LOW_WATERMARK,
            up_after: Duration::from_millis(300),
            down_after: Duration::from_secs(5),
            cooldown: Duration::from_secs(1),
            step: 1,
            hot_since: None,
            cool_since: None,
            last_action: None,
        }
    }

    /// How often the pool is sampled (not zero).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The fill ratio at or above which a sample is hot.
    pub fn high_watermark(mut self, ratio: f64) -> Self {
        self.high = ratio;
        self
    }

    /// The fill ratio (below the high one) at or below which a sample may be cool.
    pub fn low_watermark(mut self, ratio: f64) -> Self {
        self.low = ratio;
        self
    }

    /// How long samples must stay hot before a scale-up.
    pub fn up_after(mut self, duration: Duration) -> Self {
        self.up_after = duration;
        self
    }

    /// How long samples must stay cool before a scale-down.
    pub fn down_after(mut self, duration: Duration) -> Self {
        self.down_after = duration;
        self
    }

    /// The least time between two actions.
    pub fn cooldown(mut self, duration: Duration) -> Self {
        self.cooldown = duration;
        self
    }

    /// Workers added per scale-up (at least 1).
    pub fn step(mut self, workers: usize) -> Self {
        self.step = workers;
        self
    }

    /// Checks the rule.
    ///
    /// # Errors
    ///
    /// The [`PolicyError`] that names the first invalid setting: a zero interval or step, a
    /// watermark outside 0..=1, or a low watermark not below the high one.
    pub fn validate(&self) -> Result<(), PolicyError> {
        crate::PressurePolicy::new()
            .interval(self.interval)
            .high_watermark(self.high)
            .low_watermark(self.low)
            .validate()?;
        if self.step == 0 {
            return Err(PolicyError::ZeroStep);
        }
        Ok(())
    }
}

impl Default for HpaScaling {
    fn default() -> Self {
        HpaScaling::new()
    }
}

#[async_trait]
impl ScalingPolicy for HpaScaling {
    fn interval(&self) -> Duration {
        self.interval
    }

    fn validate(&self) -> Result<(), PolicyError> {
        HpaScaling::validate(self)
    }

    async fn decide(&mut self, state: &PoolState) -> Scale {
        let r = &state.reading;
        let hot = r.is_hot(self.high);
        let cool = r.is_cool(self.low) && r.idle_consumers > 0;
        let now = state.at;
        self.hot_since = if hot {
            Some(self.hot_since.unwrap_or(now))
        } else {
            None
        };
        self.cool_since = if cool {
            Some(self.cool_since.unwrap_or(now))
        } else {
            None
        };
        if self
            .last_action
            .is_some_and(|last| now.duration_since(last) < self.cooldown)
        {
            return Scale::Hold;
        }
        let held = |since: Option<Instant>| since.map(|since| now.duration_since(since));
        let decision = if state.workers < state.max
            && held(self.hot_since).is_some_and(|held| held >= self.up_after)
        {
            Scale::Up(self.step)
        } else if state.workers > state.min
            && held(self.cool_since).is_some_and(|held| held >= self.down_after)
        {
            Scale::Down(1)
        } else {
            return Scale::Hold;
        };
        self.last_action = Some(now);
        self.hot_since = None;
        self.cool_since = None;
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn state(at: Instant, fill: f64, idle: usize, workers: usize) -> PoolState {
        PoolState {
            at,
            reading: Reading {
                depth: (fill * 100.0) as usize,
                capacity: 100,
                fill,
                overflowed: 0,
                blocked: false,
                idle_consumers: idle,
            },
            workers,
            min: 1,
            max: 4,
        }
    }

    /// Feeds one state per 100 ms; returns the decisions that were not `Hold`, with times.
    async fn run(rule: &mut HpaScaling, samples: &[(f64, usize, usize)]) -> Vec<(u64, Scale)> {
        let start = Instant::now();
        let mut out = Vec::new();
        for (i, &(fill, idle, workers)) in samples.iter().enumerate() {
            let at = start + 100 * MS * u32::try_from(i).unwrap();
            match rule.decide(&state(at, fill, idle, workers)).await {
                Scale::Hold => {}
                scale => out.push(((at - start).as_millis() as u64, scale)),
            }
        }
        out
    }

    #[tokio::test]
    async fn scales_up_fast_with_a_cooldown_and_down_slowly() {
        let mut rule = HpaScaling::new();
        // Hot from 0: up at 300 ms; still hot, but the cooldown holds until 1300 ms.
        let mut samples = vec![(0.9, 0, 1); 4];
        samples.extend([(0.9, 0, 2); 10]);
        // Then cool with an idle worker: down 5 s after the cool run began.
        samples.extend([(0.1, 1, 3); 60]);
        let decisions = run(&mut rule, &samples).await;
        assert_eq!(
            decisions,
            [
                (300, Scale::Up(1)),
                (1300, Scale::Up(1)),
                (6400, Scale::Down(1))
            ]
        );
    }

    #[tokio::test]
    async fn never_scales_down_while_every_worker_is_busy_or_at_the_bounds() {
        let mut rule = HpaScaling::new();
        // Low depth but no idle worker: the pool is just keeping up.
        assert!(run(&mut rule, &[(0.0, 0, 3); 100]).await.is_empty());
        // At min or max nothing moves.
        assert!(run(&mut rule, &[(0.0, 2, 1); 100]).await.is_empty());
        assert!(run(&mut rule, &[(1.0, 0, 4); 100]).await.is_empty());
    }

    #[test]
    fn invalid_rules_are_named() {
        assert_eq!(
            HpaScaling::new().step(0).validate(),
            Err(PolicyError::ZeroStep)
        );
        assert!(matches!(
            HpaScaling::new().low_watermark(0.9).validate(),
            Err(PolicyError::InvertedWatermarks { .. })
        ));
        assert_eq!(
            HpaScaling::new().interval(Duration::ZERO).validate(),
            Err(PolicyError::ZeroInterval)
        );
    }
}
