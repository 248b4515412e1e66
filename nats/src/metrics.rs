//! The source's metrics, through the [`metrics`](https://docs.rs/metrics) facade.
//!
//! Both gauges come from the durable consumer's info on the server, refreshed every
//! [`gauge_interval`](crate::SourceConfig::gauge_interval), paused or not; they describe the
//! consumer (shared by every process using the durable name), not this process alone.

use metrics::{Gauge, Unit};

/// `upstream_lag_messages` (gauge, label `source`): messages in the stream the consumer has not
/// delivered yet (JetStream's `num_pending`).
pub const UPSTREAM_LAG_MESSAGES: &str = "upstream_lag_messages";
/// `upstream_in_flight` (gauge, label `source`): messages delivered and not yet acked, over
/// every process sharing the consumer (JetStream's `num_ack_pending`).
pub const UPSTREAM_IN_FLIGHT: &str = "upstream_in_flight";

/// The gauges of one source, registered once.
pub(crate) struct Gauges {
    lag: Gauge,
    in_flight: Gauge,
}

impl Gauges {
    pub(crate) fn register(source: &str) -> Self {
        metrics::describe_gauge!(
            UPSTREAM_LAG_MESSAGES,
            Unit::Count,
            "Messages in the stream not yet delivered to the consumer (JetStream num_pending)"
        );
        metrics::describe_gauge!(
            UPSTREAM_IN_FLIGHT,
            Unit::Count,
            "Messages delivered to the consumer and not yet acked (JetStream num_ack_pending)"
        );
        Gauges {
            lag: metrics::gauge!(UPSTREAM_LAG_MESSAGES, "source" => source.to_owned()),
            in_flight: metrics::gauge!(UPSTREAM_IN_FLIGHT, "source" => source.to_owned()),
        }
    }

    pub(crate) fn set(&self, lag: u64, in_flight: u64) {
        // Gauges are f64: exact up to 2^53 messages.
        self.lag.set(lag as f64);
        self.in_flight.set(in_flight as f64);
    }
}

/// Reads the consumer's info every `interval` and sets the gauges, paused or not, until the
/// source has ended. A read that fails (the server is away) leaves the last values.
pub(crate) async fn refresh(
    consumer: async_nats::jetstream::consumer::PullConsumer,
    interval: std::time::Duration,
    gauges: Gauges,
    shared: std::sync::Arc<crate::source::Shared>,
) {
    use std::sync::atomic::Ordering;

    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut finished = shared.finished();
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = finished.wait_for(|done| *done) => return,
        }
        // Bounded: a request to an absent server must not hold the refresh up for long.
        let read = tokio::time::timeout(interval.max(READ_TIMEOUT), consumer.get_info()).await;
        match read {
            Ok(Ok(info)) => {
                let (lag, in_flight) = (info.num_pending, info.num_ack_pending as u64);
                gauges.set(lag, in_flight);
                let server = &shared.gauges;
                // Relaxed values, published by the Release increment (see `consumer_gauges`).
                server.lag.store(lag, Ordering::Relaxed);
                server.in_flight.store(in_flight, Ordering::Relaxed);
                server.refreshes.fetch_add(1, Ordering::Release);
            }
            Ok(Err(err)) => {
                tracing::debug!(target: "actix_backpressure::nats", source = &*shared.name, %err, "consumer info unavailable");
            }
            Err(_) => {
                tracing::debug!(target: "actix_backpressure::nats", source = &*shared.name, "consumer info timed out");
            }
        }
    }
}

/// The least time a consumer info request is given.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
