//! `SourceError`: why a source could not start.

use std::fmt;

use crate::ConfigError;

/// Why [`JetStreamSource::connect`](crate::JetStreamSource::connect) (or
/// [`with_client`](crate::JetStreamSource::with_client)) failed. Each says what was asked for
/// and what to do; none is a panic.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The configuration is invalid.
    #[error("invalid source configuration: {0}")]
    Config(#[from] ConfigError),
    /// The server address could not be parsed.
    #[error("invalid NATS server URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection could be made to the server.
    #[error("cannot connect to the NATS server at `{url}`: {reason}")]
    Connect {
        /// The URL given.
        url: String,
        /// The client's error.
        reason: String,
    },
    /// The server does not run JetStream (start it with `-js`).
    #[error("JetStream is not enabled on the NATS server (start nats-server with -js): {reason}")]
    JetStreamUnavailable {
        /// The client's error.
        reason: String,
    },
    /// The stream does not exist, and the source is not configured to create it.
    #[error("stream `{stream}` not found: create it, or configure the source to (SourceConfig::create_stream)")]
    StreamNotFound {
        /// The stream's name.
        stream: String,
    },
    /// The existing durable consumer's settings differ from the source's.
    #[error("durable consumer `{consumer}` on stream `{stream}` exists with other settings: {}; change the source's configuration, or delete the consumer (every process sharing it must agree)", Mismatches(.mismatches))]
    ConsumerMismatch {
        /// The stream's name.
        stream: String,
        /// The consumer's name.
        consumer: String,
        /// Each setting that differs.
        mismatches: Vec<Mismatch>,
    },
    /// The server refused or failed a request (getting or creating the stream or consumer).
    #[error("{operation} failed: {reason}")]
    Server {
        /// What was asked.
        operation: String,
        /// The server's or the client's error.
        reason: String,
    },
}

/// One setting of an existing consumer that differs from what the source asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The setting's name, as in the consumer's configuration (`ack_wait`, `max_ack_pending` …).
    pub setting: &'static str,
    /// The source's value.
    pub ours: String,
    /// The server's value.
    pub server: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is {} on the server, {} here",
            self.setting, self.server, self.ours
        )
    }
}

/// Displays a list of mismatches, separated by `; `.
struct Mismatches<'a>(&'a [Mismatch]);

impl fmt::Display for Mismatches<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, mismatch) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{mismatch}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mismatch_names_each_setting_and_both_values() {
        let err = SourceError::ConsumerMismatch {
            stream: "ORDERS".into(),
            consumer: "billing".into(),
            mismatches: vec![
                Mismatch {
                    setting: "ack_wait",
                    ours: "5s".into(),
                    server: "30s".into(),
                },
                Mismatch {
                    setting: "max_ack_pending",
                    ours: "10".into(),
                    server: "1000".into(),
                },
            ],
        };
        assert_eq!(
            err.to_string(),
            "durable consumer `billing` on stream `ORDERS` exists with other settings: \
             ack_wait is 30s on the server, 5s here; max_ack_pending is 1000 on the server, 10 here; \
             change the source's configuration, or delete the consumer (every process sharing it must agree)"
        );
    }
}
