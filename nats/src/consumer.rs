//! Connecting, and binding to the stream and the durable pull consumer, with clear errors.

use std::time::Duration;

use async_nats::jetstream::consumer::{self, AckPolicy, PullConsumer};
use async_nats::jetstream::context::{CreateStreamErrorKind, GetStreamErrorKind, RequestErrorKind};
use async_nats::jetstream::stream::Stream;
use async_nats::jetstream::Context;
use async_nats::jetstream::ErrorCode;
use async_nats::{Client, ConnectErrorKind, ConnectOptions};

use crate::{Mismatch, SourceConfig, SourceError};

/// Connects to `url`.
pub(crate) async fn connect(url: &str, options: ConnectOptions) -> Result<Client, SourceError> {
    options.connect(url).await.map_err(|err| match err.kind() {
        ConnectErrorKind::ServerParse => SourceError::InvalidUrl {
            url: url.to_owned(),
            reason: err.to_string(),
        },
        _ => SourceError::Connect {
            url: url.to_owned(),
            reason: err.to_string(),
        },
    })
}

/// Gets the stream (creating it if configured to), then the durable consumer: creates it if
/// it is missing, checks its settings if it exists.
pub(crate) async fn bind(js: &Context, config: &SourceConfig) -> Result<PullConsumer, SourceError> {
    let stream = stream(js, config).await?;
    let wanted = config.consumer_config();
    match stream.consumer_info(&config.durable).await {
        Ok(info) => {
            check(config, &info.config)?;
            get_consumer(&stream, config).await
        }
        Err(err) if err.kind() == consumer_not_found() => {
            match stream.create_consumer(wanted).await {
                Ok(consumer) => Ok(consumer),
                // Another process may have created it meanwhile: check what it made.
                Err(create) => match stream.consumer_info(&config.durable).await {
                    Ok(info) => {
                        check(config, &info.config)?;
                        get_consumer(&stream, config).await
                    }
                    Err(_) => Err(server_error(
                        format!(
                            "creating durable consumer `{}` on stream `{}`",
                            config.durable, config.stream
                        ),
                        create,
                    )),
                },
            }
        }
        Err(err) => Err(server_error(
            format!(
                "reading durable consumer `{}` on stream `{}`",
                config.durable, config.stream
            ),
            err,
        )),
    }
}

fn consumer_not_found() -> async_nats::jetstream::context::ConsumerInfoErrorKind {
    async_nats::jetstream::context::ConsumerInfoErrorKind::NotFound
}

async fn get_consumer(stream: &Stream, config: &SourceConfig) -> Result<PullConsumer, SourceError> {
    stream.get_consumer(&config.durable).await.map_err(|err| {
        server_error(
            format!(
                "reading durable consumer `{}` on stream `{}`",
                config.durable, config.stream
            ),
            err,
        )
    })
}

async fn stream(js: &Context, config: &SourceConfig) -> Result<Stream, SourceError> {
    let err = match js.get_stream(&config.stream).await {
        Ok(stream) => return Ok(stream),
        Err(err) => err,
    };
    match err.kind() {
        GetStreamErrorKind::JetStream(js_err)
            if js_err.error_code() == ErrorCode::STREAM_NOT_FOUND =>
        {
            let Some(create) = &config.create_stream else {
                return Err(SourceError::StreamNotFound {
                    stream: config.stream.clone(),
                });
            };
            let mut create = create.clone();
            create.name.clone_from(&config.stream);
            match js.get_or_create_stream(create).await {
                Ok(stream) => Ok(stream),
                Err(err) if err.kind() == CreateStreamErrorKind::JetStreamUnavailable => {
                    Err(SourceError::JetStreamUnavailable {
                        reason: err.to_string(),
                    })
                }
                Err(err) => Err(server_error(
                    format!("creating stream `{}`", config.stream),
                    err,
                )),
            }
        }
        GetStreamErrorKind::JetStream(js_err)
            if js_err.error_code() == ErrorCode::JETSTREAM_NOT_ENABLED
                || js_err.error_code() == ErrorCode::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT =>
        {
            Err(SourceError::JetStreamUnavailable {
                reason: err.to_string(),
            })
        }
        GetStreamErrorKind::Request if no_responders(&err) => {
            Err(SourceError::JetStreamUnavailable {
                reason: err.to_string(),
            })
        }
        _ => Err(server_error(
            format!("reading stream `{}`", config.stream),
            err,
        )),
    }
}

/// Whether a request failed because nothing answers on the JetStream API (no `-js`).
fn no_responders(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(request) = cause.downcast_ref::<async_nats::jetstream::context::RequestError>()
        {
            return request.kind() == RequestErrorKind::NoResponders;
        }
        source = cause.source();
    }
    err.to_string().contains("no responders")
}

fn server_error(operation: String, err: impl std::fmt::Display) -> SourceError {
    SourceError::Server {
        operation,
        reason: err.to_string(),
    }
}

/// Compares the settings the source sets with those of the consumer on the server.
fn check(config: &SourceConfig, server: &consumer::Config) -> Result<(), SourceError> {
    let ours = config.consumer_config();
    let mut mismatches = Vec::new();
    let mut differ = |setting: &'static str, ours: String, server: String| {
        if ours != server {
            mismatches.push(Mismatch {
                setting,
                ours,
                server,
            });
        }
    };
    differ(
        "delivery",
        "pull".to_owned(),
        match &server.deliver_subject {
            Some(subject) => format!("push (deliver_subject `{subject}`)"),
            None => "pull".to_owned(),
        },
    );
    differ(
        "ack_policy",
        ack_policy(ours.ack_policy),
        ack_policy(server.ack_policy),
    );
    differ(
        "ack_wait",
        duration(ours.ack_wait),
        duration(server.ack_wait),
    );
    differ(
        "max_ack_pending",
        ours.max_ack_pending.to_string(),
        server.max_ack_pending.to_string(),
    );
    differ(
        "max_deliver",
        limit(ours.max_deliver),
        limit(server.max_deliver),
    );
    differ(
        "filter_subject",
        subject(&ours.filter_subject),
        subject(&server.filter_subject),
    );
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(SourceError::ConsumerMismatch {
            stream: config.stream.clone(),
            consumer: config.durable.clone(),
            mismatches,
        })
    }
}

fn ack_policy(policy: AckPolicy) -> String {
    match policy {
        AckPolicy::Explicit => "explicit",
        AckPolicy::All => "all",
        AckPolicy::None => "none",
    }
    .to_owned()
}

fn duration(d: Duration) -> String {
    format!("{d:?}")
}

/// The server reports "unlimited" as -1 (or 0 for a consumer made by an older client).
fn limit(n: i64) -> String {
    if n <= 0 {
        "unlimited".to_owned()
    } else {
        n.to_string()
    }
}

fn subject(subject: &str) -> String {
    if subject.is_empty() {
        "(every subject)".to_owned()
    } else {
        format!("`{subject}`")
    }
}
