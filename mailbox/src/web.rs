//! actix-web interop (feature `actix-web`): [`SendError`] and [`TrySendError`] implement
//! [`actix_web::ResponseError`], so a handler can send to a bounded actor with `?`.
//!
//! A full mailbox is an overloaded service: the client is told to come back later, not that
//! the request was wrong. Every response has the error's `Display` text as a plain-text body.
//!
//! | error | status | `Retry-After` |
//! |---|---|---|
//! | `Full`, `Dropped` (both types) | 503 Service Unavailable | [`RETRY_AFTER_SECS`] (1 s) |
//! | [`SendError::Evicted`], [`SendError::Expired`] | 503 Service Unavailable | [`RETRY_AFTER_SECS`] (1 s) |
//! | `RateLimited` (both types) | 429 Too Many Requests | [`RETRY_AFTER_SECS`] (1 s) |
//! | `Closed` (both types), [`SendError::Stopped`] | 503 Service Unavailable | none |
//! | [`SendError::Timeout`], [`SendError::ResponseTimeout`] | 504 Gateway Timeout | none |
//!
//! `Full`, `Dropped`, `Evicted` and `Expired` shed load, which passes: a retry after a second may well
//! find room. `Closed` and `Stopped` mean the actor is gone; whether it comes back is up to
//! the application, so no retry time is promised. A timeout is the actor not answering in
//! time, as an upstream would not (504); under [`ResponseTimeout`](SendError::ResponseTimeout)
//! the message is still queued and will be handled, so retrying may handle it twice.
//!
//! The conversion `From<T: ResponseError + 'static> for actix_web::Error` needs the message
//! type to be `'static`, which every actix message sent to an actor is.
//!
//! # Examples
//!
//! ```
//! use actix::prelude::*;
//! # use actix_backpressure_mailbox as actix_backpressure;
//! use actix_backpressure::{BoundedActorExt, BoundedAddr, MailboxConfig, OverflowPolicy};
//! use actix_web::http::{header, StatusCode};
//! use actix_web::{web, ResponseError};
//!
//! struct Ingest;
//!
//! impl Actor for Ingest {
//!     type Context = Context<Self>;
//! }
//!
//! #[derive(Message)]
//! #[rtype(result = "()")]
//! struct Reading(u64);
//!
//! impl Handler<Reading> for Ingest {
//!     type Result = ();
//!
//!     fn handle(&mut self, _: Reading, _: &mut Context<Self>) {}
//! }
//!
//! // A handler: `?` turns a refused message into a 503 with `Retry-After`.
//! async fn ingest(addr: web::Data<BoundedAddr<Ingest>>) -> actix_web::Result<&'static str> {
//!     addr.try_send(Reading(1))?;
//!     Ok("queued")
//! }
//!
//! System::new().block_on(async {
//!     let addr = Ingest.start_bounded(MailboxConfig::new(1).policy(OverflowPolicy::Reject));
//!     addr.pause(); // the actor takes nothing: the one slot fills and stays full
//!     let addr = web::Data::new(addr);
//!     assert_eq!(ingest(addr.clone()).await.unwrap(), "queued");
//!
//!     let response = ingest(addr).await.unwrap_err().error_response();
//!     assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
//!     assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");
//! });
//! ```

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::error::{SendError, TrySendError};

/// The `Retry-After`, in seconds, of a 503 for a message the mailbox shed (`Full`, `Dropped`,
/// `Evicted`, `Expired`) and of a 429 for one its rate limit refused (`RateLimited`).
///
/// One second: long enough for a mailbox to drain a batch, short enough that a client does
/// not stall. A handler that knows better can map the error itself before `?`.
pub const RETRY_AFTER_SECS: u64 = 1;

/// How an error answers: its status, and whether a `Retry-After` goes with it.
struct Answer {
    status: StatusCode,
    retry_after: bool,
}

impl Answer {
    const SHED: Answer = Answer {
        status: StatusCode::SERVICE_UNAVAILABLE,
        retry_after: true,
    };
    const LIMITED: Answer = Answer {
        status: StatusCode::TOO_MANY_REQUESTS,
        retry_after: true,
    };
    const GONE: Answer = Answer {
        status: StatusCode::SERVICE_UNAVAILABLE,
        retry_after: false,
    };
    const TIMEOUT: Answer = Answer {
        status: StatusCode::GATEWAY_TIMEOUT,
        retry_after: false,
    };

    /// The response: the status, the `Retry-After` if any, `body` as plain text.
    fn respond(&self, body: String) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header(ContentType::plaintext());
        if self.retry_after {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
        }
        response.body(body)
    }
}

impl<M> SendError<M> {
    fn answer(&self) -> Answer {
        match self {
            SendError::Full(_)
            | SendError::Dropped(_)
            | SendError::Evicted
            | SendError::Expired => Answer::SHED,
            SendError::RateLimited(_) => Answer::LIMITED,
            SendError::Closed(_) | SendError::Stopped => Answer::GONE,
            SendError::Timeout(_) | SendError::ResponseTimeout => Answer::TIMEOUT,
        }
    }
}

impl<M> TrySendError<M> {
    fn answer(&self) -> Answer {
        match self {
            TrySendError::Full(_) | TrySendError::Dropped(_) => Answer::SHED,
            TrySendError::RateLimited(_) => Answer::LIMITED,
            TrySendError::Closed(_) => Answer::GONE,
        }
    }
}

/// `Full`, `Dropped`, `Evicted`, `Expired`: 503 with `Retry-After:` [`RETRY_AFTER_SECS`];
/// `RateLimited`: 429 with it; `Closed`, `Stopped`: 503; `Timeout`, `ResponseTimeout`: 504. The body is the `Display` text.
/// See [the module](self).
impl<M> ResponseError for SendError<M> {
    fn status_code(&self) -> StatusCode {
        self.answer().status
    }

    fn error_response(&self) -> HttpResponse {
        self.answer().respond(self.to_string())
    }
}

/// `Full`, `Dropped`: 503 with `Retry-After:` [`RETRY_AFTER_SECS`]; `Closed`: 503. The body is
/// the `Display` text. See [the module](self).
impl<M> ResponseError for TrySendError<M> {
    fn status_code(&self) -> StatusCode {
        self.answer().status
    }

    fn error_response(&self) -> HttpResponse {
        self.answer().respond(self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status and `Retry-After` of `err`'s response, which must be plain text.
    fn parts(err: &dyn ResponseError) -> (u16, Option<String>) {
        let response = err.error_response();
        assert_eq!(response.status(), err.status_code());
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/plain; charset=utf-8"
        );
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|value| value.to_str().unwrap().to_owned());
        (response.status().as_u16(), retry_after)
    }

    #[test]
    fn every_send_error_has_its_status() {
        let one = Some("1".to_owned());
        let cases: [(SendError<()>, u16, Option<String>); 9] = [
            (SendError::RateLimited(()), 429, one.clone()),
            (SendError::Full(()), 503, one.clone()),
            (SendError::Dropped(()), 503, one.clone()),
            (SendError::Evicted, 503, one.clone()),
            (SendError::Expired, 503, one),
            (SendError::Closed(()), 503, None),
            (SendError::Stopped, 503, None),
            (SendError::Timeout(()), 504, None),
            (SendError::ResponseTimeout, 504, None),
        ];
        for (err, status, retry_after) in cases {
            assert_eq!(parts(&err), (status, retry_after), "{err:?}");
        }
    }

    #[test]
    fn every_try_send_error_has_its_status() {
        let one = Some("1".to_owned());
        let cases: [(TrySendError<()>, u16, Option<String>); 4] = [
            (TrySendError::Full(()), 503, one.clone()),
            (TrySendError::Dropped(()), 503, one.clone()),
            (TrySendError::RateLimited(()), 429, one),
            (TrySendError::Closed(()), 503, None),
        ];
        for (err, status, retry_after) in cases {
            assert_eq!(parts(&err), (status, retry_after), "{err:?}");
        }
    }

    #[test]
    fn the_question_mark_converts_any_static_message() {
        struct NotDebug;
        fn handler() -> actix_web::Result<()> {
            let sent: Result<(), SendError<NotDebug>> = Err(SendError::Full(NotDebug));
            sent?;
            Ok(())
        }
        let err = handler().unwrap_err();
        assert_eq!(err.as_response_error().status_code(), 503);
    }
}
