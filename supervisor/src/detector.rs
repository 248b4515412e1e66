//! The hysteresis that turns a mailbox's samples into *saturated* and *recovered*.

use std::time::Duration;

use actix_backpressure_mailbox::PressureSample;
use tokio::time::Instant;

use crate::PressurePolicy;

/// What one sample says about a mailbox, against the sample before it.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Reading {
    /// Messages queued.
    pub depth: usize,
    /// The capacity in effect.
    pub capacity: usize,
    /// `depth / capacity`.
    pub fill: f64,
    /// Messages lost to overflow (dropped, evicted, rejected, timed out) since the last sample.
    pub overflowed: u64,
    /// Whether senders waited for room since the last sample, or wait now.
    pub blocked: bool,
    /// Consumers waiting for a message at the sample (idle workers, for a pool).
    pub idle_consumers: usize,
}

impl Reading {
    /// The reading of `sample`, against `previous` (the mailbox's sample before, if any).
    pub(crate) fn new(sample: &PressureSample, previous: Option<&PressureSample>) -> Reading {
        Reading {
            depth: sample.depth,
            capacity: sample.capacity,
            fill: sample.fill(),
            overflowed: previous.map_or(0, |previous| sample.overflowed_since(previous)),
            blocked: match previous {
                Some(previous) => sample.blocked_since(previous),
                None => sample.waiting_senders > 0,
            },
            idle_consumers: sample.idle_consumers,
        }
    }

    /// Under pressure: at least `high` full, or messages lost to overflow, or senders held.
    pub(crate) fn is_hot(&self, high: f64) -> bool {
        self.fill >= high || self.overflowed > 0 || self.blocked
    }

    /// Calm: at most `low` full, with nothing lost or held.
    pub(crate) fn is_cool(&self, low: f64) -> bool {
        self.fill <= low && self.overflowed == 0 && !self.blocked
    }
}

/// A change of state, with how long the condition held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transition {
    Saturated { held: Duration },
    Recovered { held: Duration },
}

/// One mailbox's state: normal or saturated, and since when the samples point the other way.
#[derive(Debug, Default)]
pub(crate) struct Detector {
    saturated: bool,
    /// The first sample of the current run of hot samples (when normal) or cool ones (when
    /// saturated).
    since: Option<Instant>,
}

impl Detector {
    pub(crate) fn is_saturated(&self) -> bool {
        self.saturated
    }

    /// Takes one reading, made at `now`.
    pub(crate) fn observe(
        &mut self,
        policy: &PressurePolicy,
        now: Instant,
        reading: &Reading,
    ) -> Option<Transition> {
        let toward_other_state = if self.saturated {
            reading.is_cool(policy.low)
        } else {
            reading.is_hot(policy.high)
        };
        if !toward_other_state {
            self.since = None;
            return None;
        }
        let since = *self.since.get_or_insert(now);
        let held = now.duration_since(since);
        let needed = if self.saturated {
            policy.recovered_after
        } else {
            policy.saturated_after
        };
        if held < needed {
            return None;
        }
        self.saturated = !self.saturated;
        self.since = None;
        Some(if self.saturated {
            Transition::Saturated { held }
        } else {
            Transition::Recovered { held }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(fill: f64) -> Reading {
        Reading {
            depth: (fill * 100.0) as usize,
            capacity: 100,
            fill,
            overflowed: 0,
            blocked: false,
            idle_consumers: 0,
        }
    }

    const MS: Duration = Duration::from_millis(1);

    fn policy() -> PressurePolicy {
        PressurePolicy::new()
            .interval(100 * MS)
            .saturated_after(300 * MS)
            .recovered_after(1000 * MS)
    }

    /// Feeds one reading per 100 ms from `start`; returns the transitions with their times.
    fn run(
        detector: &mut Detector,
        start: Instant,
        readings: &[Reading],
    ) -> Vec<(Duration, Transition)> {
        let policy = policy();
        let mut transitions = Vec::new();
        for (i, r) in readings.iter().enumerate() {
            let at = start + 100 * MS * u32::try_from(i).unwrap();
            if let Some(t) = detector.observe(&policy, at, r) {
                transitions.push((at - start, t));
            }
        }
        transitions
    }

    #[test]
    fn saturates_only_after_pressure_held_for_the_configured_time() {
        let start = Instant::now();
        let mut detector = Detector::default();
        // Hot at 0, 100, 200 ms: held 200 ms < 300 ms; cut short by a middling sample.
        let mut readings = vec![reading(0.9), reading(0.85), reading(0.8), reading(0.5)];
        // Hot again from 400 ms: saturated at 700 ms, held exactly 300 ms.
        readings.extend([reading(0.9); 4]);
        let transitions = run(&mut detector, start, &readings);
        assert_eq!(
            transitions,
            [(700 * MS, Transition::Saturated { held: 300 * MS })]
        );
        assert!(detector.is_saturated());
    }

    #[test]
    fn recovers_only_after_staying_below_low_for_the_configured_time() {
        let start = Instant::now();
        let mut detector = Detector::default();
        let mut readings = vec![reading(1.0); 4]; // saturated at 300 ms
        readings.extend([reading(0.2); 5]); // cool 400..800 ms: 400 ms, not enough
        readings.push(reading(0.5)); // above low: the run is broken
        readings.extend([reading(0.1); 11]); // cool from 1000 ms: recovered at 2000 ms
        let transitions = run(&mut detector, start, &readings);
        assert_eq!(
            transitions,
            [
                (300 * MS, Transition::Saturated { held: 300 * MS }),
                (2000 * MS, Transition::Recovered { held: 1000 * MS }),
            ]
        );
        assert!(!detector.is_saturated());
    }

    #[test]
    fn overflow_and_blocked_senders_count_as_pressure_at_any_fill() {
        let start = Instant::now();
        let mut detector = Detector::default();
        let dropping = Reading {
            overflowed: 3,
            ..reading(0.1)
        };
        let blocking = Reading {
            blocked: true,
            ..reading(0.1)
        };
        let transitions = run(
            &mut detector,
            start,
            &[dropping, blocking, dropping, blocking],
        );
        assert_eq!(
            transitions,
            [(300 * MS, Transition::Saturated { held: 300 * MS })]
        );
        // A low fill with drops is not cool: no recovery while messages are still lost.
        let later = start + 400 * MS;
        let transitions = run(&mut detector, later, &[dropping; 20]);
        assert!(transitions.is_empty());
    }

    #[test]
    fn zero_durations_act_on_the_first_sample() {
        let policy = policy()
            .saturated_after(Duration::ZERO)
            .recovered_after(Duration::ZERO);
        let now = Instant::now();
        let mut detector = Detector::default();
        assert_eq!(
            detector.observe(&policy, now, &reading(0.8)),
            Some(Transition::Saturated {
                held: Duration::ZERO
            })
        );
        assert_eq!(detector.observe(&policy, now, &reading(0.5)), None);
        assert_eq!(
            detector.observe(&policy, now, &reading(0.3)),
            Some(Transition::Recovered {
                held: Duration::ZERO
            })
        );
    }
}
