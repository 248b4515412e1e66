//! `PressurePolicy`: when a watched mailbox counts as saturated, and when as recovered.

use std::time::Duration;

/// When a watched mailbox counts as **saturated** (its upstreams are paused) and when as
/// **recovered** (they are resumed).
///
/// Every [`interval`](Self::interval) the supervisor samples the mailbox. A sample is *hot*
/// when the mailbox is filled to at least the [`high`](Self::high_watermark) watermark, or a
/// message was lost to overflow (dropped, evicted, rejected, timed out) since the last sample,
/// or senders waited for room. It is *cool* when the fill is at most the
/// [`low`](Self::low_watermark) watermark and nothing overflowed or waited. Samples in between
/// are neither: they break a run of hot or of cool samples.
///
/// - A mailbox becomes saturated once its samples stay hot for
///   [`saturated_after`](Self::saturated_after) (zero: at the first hot sample).
/// - A saturated mailbox recovers once its samples stay cool for
///   [`recovered_after`](Self::recovered_after).
///
/// The gap between the watermarks and the two durations are the hysteresis that keeps a load
/// hovering around one threshold from flapping pause and resume (as Erlang sbroker's overload
/// meters and Kubernetes' stabilization windows do).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # use actix_backpressure_supervisor as actix_backpressure;
/// use actix_backpressure::PressurePolicy;
///
/// let policy = PressurePolicy::new()
///     .high_watermark(0.9)
///     .low_watermark(0.5)
///     .saturated_after(Duration::from_millis(200));
/// assert!(policy.validate().is_ok());
/// assert!(PressurePolicy::new().low_watermark(0.95).validate().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[must_use]
pub struct PressurePolicy {
    pub(crate) interval: Duration,
    pub(crate) high: f64,
    pub(crate) low: f64,
    pub(crate) saturated_after: Duration,
    pub(crate) recovered_after: Duration,
}

/// The default sample interval: 100 ms.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);
/// The default high watermark: 80 % full.
pub const DEFAULT_HIGH_WATERMARK: f64 = 0.8;
/// The default low watermark: 30 % full.
pub const DEFAULT_LOW_WATERMARK: f64 = 0.3;
/// How long samples must stay hot, by default, before the mailbox counts as saturated.
pub const DEFAULT_SATURATED_AFTER: Duration = Duration::from_millis(300);
/// How long samples must stay cool, by default, before the mailbox counts as recovered.
pub const DEFAULT_RECOVERED_AFTER: Duration = Duration::from_secs(1);

impl PressurePolicy {
    /// The defaults: sample every 100 ms, high watermark 0.8, low 0.3, saturated after
    /// 300 ms hot, recovered after 1 s cool.
    pub fn new() -> Self {
        PressurePolicy {
            interval: DEFAULT_INTERVAL,
            high: DEFAULT_HIGH_WATERMARK,
            low: DEFAULT_LOW_WATERMARK,
            saturated_after: DEFAULT_SATURATED_AFTER,
            recovered_after: DEFAULT_RECOVERED_AFTER,
        }
    }

    /// How often the mailbox is sampled (must not be zero).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The fill ratio (depth / capacity, from 0 to 1) at or above which a sample is hot.
    pub fn high_watermark(mut self, ratio: f64) -> Self {
        self.high = ratio;
        self
    }

    /// The fill ratio (from 0 to 1, below the high watermark) at or below which a sample is
    /// cool.
    pub fn low_watermark(mut self, ratio: f64) -> Self {
        self.low = ratio;
        self
    }

    /// How long samples must stay hot before the mailbox counts as saturated.
    pub fn saturated_after(mut self, duration: Duration) -> Self {
        self.saturated_after = duration;
        self
    }

    /// How long samples must stay cool before a saturated mailbox counts as recovered.
    pub fn recovered_after(mut self, duration: Duration) -> Self {
        self.recovered_after = duration;
        self
    }

    /// The sample interval.
    pub fn get_interval(&self) -> Duration {
        self.interval
    }

    /// The high watermark.
    pub fn get_high_watermark(&self) -> f64 {
        self.high
    }

    /// The low watermark.
    pub fn get_low_watermark(&self) -> f64 {
        self.low
    }

    /// How long samples must stay hot before saturation.
    pub fn get_saturated_after(&self) -> Duration {
        self.saturated_after
    }

    /// How long samples must stay cool before recovery.
    pub fn get_recovered_after(&self) -> Duration {
        self.recovered_after
    }

    /// Checks the policy.
    ///
    /// # Errors
    ///
    /// [`PolicyError::ZeroInterval`] if the interval is zero,
    /// [`PolicyError::WatermarkOutOfRange`] if a watermark is not a number from 0 to 1, and
    /// [`PolicyError::InvertedWatermarks`] if the low watermark is not below the high one.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.interval.is_zero() {
            return Err(PolicyError::ZeroInterval);
        }
        for (watermark, value) in [("high", self.high), ("low", self.low)] {
            if !(0.0..=1.0).contains(&value) {
                return Err(PolicyError::WatermarkOutOfRange { watermark, value });
            }
        }
        if self.low >= self.high {
            return Err(PolicyError::InvertedWatermarks {
                low: self.low,
                high: self.high,
            });
        }
        Ok(())
    }
}

impl Default for PressurePolicy {
    fn default() -> Self {
        PressurePolicy::new()
    }
}

/// What is wrong with a [`PressurePolicy`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The sample interval is zero.
    #[error("the sample interval must not be zero")]
    ZeroInterval,
    /// A watermark is not a fill ratio (a number from 0 to 1).
    #[error("the {watermark} watermark must be a fill ratio from 0 to 1, not {value}")]
    WatermarkOutOfRange {
        /// `"high"` or `"low"`.
        watermark: &'static str,
        /// The value given.
        value: f64,
    },
    /// A scaling step of zero workers.
    #[error("the scaling step must be at least 1 worker")]
    ZeroStep,
    /// A controller's factor is out of its range (`backoff` above 0 and below 1, `smoothing`
    /// above 0 and at most 1).
    #[error("the {factor} factor is out of range: {value}")]
    FactorOutOfRange {
        /// `"backoff"` or `"smoothing"`.
        factor: &'static str,
        /// The value given.
        value: f64,
    },
    /// A latency target of zero: no mailbox can meet it.
    #[error("the latency target must not be zero")]
    ZeroTarget,
    /// An adaptive limit's bounds are out of order: it needs `1 <= min <= max <= MAX_CAPACITY`.
    #[error("the limit's bounds must satisfy 1 <= min <= max <= {max_capacity}, got min {min}, max {max}")]
    LimitBounds {
        /// The smallest capacity asked for.
        min: usize,
        /// The largest capacity asked for.
        max: usize,
        /// [`MAX_CAPACITY`](actix_backpressure_mailbox::MAX_CAPACITY).
        max_capacity: usize,
    },
    /// The low watermark is not below the high one.
    #[error("the low watermark ({low}) must be below the high watermark ({high})")]
    InvertedWatermarks {
        /// The low watermark given.
        low: f64,
        /// The high watermark given.
        high: f64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let policy = PressurePolicy::default();
        assert_eq!(policy.validate(), Ok(()));
        assert_eq!(policy.get_interval(), Duration::from_millis(100));
        assert_eq!(policy.get_high_watermark(), 0.8);
        assert_eq!(policy.get_low_watermark(), 0.3);
    }

    #[test]
    fn invalid_policies_are_named() {
        let zero = PressurePolicy::new().interval(Duration::ZERO);
        assert_eq!(zero.validate(), Err(PolicyError::ZeroInterval));

        let err = PressurePolicy::new()
            .high_watermark(1.5)
            .validate()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the high watermark must be a fill ratio from 0 to 1, not 1.5"
        );
        let err = PressurePolicy::new()
            .low_watermark(-0.1)
            .validate()
            .unwrap_err();
        assert!(matches!(
            err,
            PolicyError::WatermarkOutOfRange {
                watermark: "low",
                ..
            }
        ));
        let err = PressurePolicy::new()
            .low_watermark(f64::NAN)
            .validate()
            .unwrap_err();
        assert!(matches!(
            err,
            PolicyError::WatermarkOutOfRange {
                watermark: "low",
                ..
            }
        ));

        let err = PressurePolicy::new()
            .low_watermark(0.8)
            .validate()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the low watermark (0.8) must be below the high watermark (0.8)"
        );
    }
}
