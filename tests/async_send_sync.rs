//! Compile-time checks: the handles and their futures can cross threads.

use std::future::Future;

use actix::prelude::*;
use actix_backpressure::prelude::*;
use actix_backpressure::{SendError, TrySendError};

struct Worker;

impl Actor for Worker {
    type Context = Context<Self>;
}

/// An actor that is itself neither `Send` nor `Sync`: its handles still are.
struct Local(#[allow(dead_code)] std::rc::Rc<()>);

impl Actor for Local {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "u64")]
struct Job(u64);

impl Handler<Job> for Local {
    type Result = u64;
    fn handle(&mut self, Job(n): Job, _: &mut Context<Self>) -> u64 {
        n
    }
}

impl Handler<Job> for Worker {
    type Result = u64;
    fn handle(&mut self, Job(n): Job, _: &mut Context<Self>) -> u64 {
        n
    }
}

fn is_send_sync<T: Send + Sync>(_: &T) {}
fn is_send<T: Send>(_: &T) {}
fn is_clone<T: Clone>(_: &T) {}
fn is_error<T: std::error::Error + Send + Sync + 'static>() {}
fn is_send_future<F: Future + Send>(fut: F) -> F {
    fut
}

#[allow(dead_code, clippy::let_underscore_future)]
fn handles_and_futures_are_send(
    addr: BoundedAddr<Worker>,
    recipient: BoundedRecipient<Job>,
    local: BoundedAddr<Local>,
) {
    is_send_sync(&local);
    let _ = is_send_future(local.send(Job(1)));
    is_send_sync(&addr);
    is_clone(&addr);
    is_send_sync(&recipient);
    is_clone(&recipient);
    let _ = is_send_future(addr.send(Job(1)));
    let _ = is_send_future(addr.tell(Job(1)));
    let _ = is_send_future(addr.send_timeout(Job(1), std::time::Duration::from_secs(1)));
    let _ = is_send_future(recipient.send(Job(1)));
    let _ = is_send_future(recipient.tell(Job(1)));
    let _ = is_send_future(recipient.send_timeout(Job(1), std::time::Duration::from_secs(1)));
    is_send(&MailboxConfig::new(1));
    is_error::<SendError<Job>>();
    is_error::<TrySendError<Job>>();
    is_error::<ConfigError>();
}

#[test]
fn compiles() {}
