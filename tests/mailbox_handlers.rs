//! Handlers run inside the actor: FIFO order, every actix response type, `ctx.wait` holds
//! the queue.

mod common;

use std::time::Duration;

use actix::prelude::*;
use actix_backpressure::prelude::*;
use actix_backpressure::TrySendError;
use common::*;
use tokio::sync::oneshot;

#[actix_rt::test]
async fn messages_are_handled_in_fifo_order_across_methods() {
    within(async {
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(16));
        let recipient = addr.recipient::<Item>();
        for n in 0..1000 {
            match n % 4 {
                0 => addr.tell(Item(n)).await.unwrap(),
                1 => loop {
                    // `try_send` may find the mailbox full: retry the same message.
                    match recipient.try_send(Item(n)) {
                        Ok(()) => break,
                        Err(TrySendError::Full(_)) => tokio::task::yield_now().await,
                        Err(_) => unreachable!(),
                    }
                },
                2 => recipient.tell(Item(n)).await.unwrap(),
                _ => assert_eq!(addr.send(Item(n)).await.unwrap(), n),
            }
        }
        assert_eq!(*seen.lock().unwrap(), (0..1000).collect::<Vec<_>>());
    })
    .await;
}

/// One actor answering with each kind of actix response.
struct Responder {
    total: u64,
}

impl Actor for Responder {
    type Context = Context<Self>;
}

macro_rules! request {
    ($name:ident, $result:literal) => {
        #[derive(Message)]
        #[rtype(result = $result)]
        struct $name(u64);
    };
}

request!(Plain, "u64");
request!(Wrapped, "u64");
request!(Fallible, "Result<u64, String>");
request!(Maybe, "Option<u64>");
request!(Boxed, "u64");
request!(InActor, "u64");
request!(Atomic, "u64");

impl Handler<Plain> for Responder {
    type Result = u64;
    fn handle(&mut self, Plain(n): Plain, _: &mut Context<Self>) -> u64 {
        self.total += n;
        self.total
    }
}

impl Handler<Wrapped> for Responder {
    type Result = MessageResult<Wrapped>;
    fn handle(&mut self, Wrapped(n): Wrapped, _: &mut Context<Self>) -> Self::Result {
        MessageResult(n * 2)
    }
}

impl Handler<Fallible> for Responder {
    type Result = Result<u64, String>;
    fn handle(&mut self, Fallible(n): Fallible, _: &mut Context<Self>) -> Self::Result {
        if n == 0 {
            Err("zero".into())
        } else {
            Ok(n)
        }
    }
}

impl Handler<Maybe> for Responder {
    type Result = Option<u64>;
    fn handle(&mut self, Maybe(n): Maybe, _: &mut Context<Self>) -> Option<u64> {
        (n > 0).then_some(n)
    }
}

impl Handler<Boxed> for Responder {
    type Result = ResponseFuture<u64>;
    fn handle(&mut self, Boxed(n): Boxed, _: &mut Context<Self>) -> Self::Result {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            n + 1
        })
    }
}

impl Handler<InActor> for Responder {
    type Result = ResponseActFuture<Self, u64>;
    fn handle(&mut self, InActor(n): InActor, _: &mut Context<Self>) -> Self::Result {
        Box::pin(
            actix::fut::wrap_future::<_, Self>(tokio::time::sleep(Duration::from_millis(1))).map(
                move |(), act, _| {
                    act.total += n;
                    act.total
                },
            ),
        )
    }
}

impl Handler<Atomic> for Responder {
    type Result = AtomicResponse<Self, u64>;
    fn handle(&mut self, Atomic(n): Atomic, _: &mut Context<Self>) -> Self::Result {
        AtomicResponse::new(Box::pin(
            actix::fut::wrap_future::<_, Self>(tokio::time::sleep(Duration::from_millis(5))).map(
                move |(), act, _| {
                    act.total += n;
                    act.total
                },
            ),
        ))
    }
}

#[actix_rt::test]
async fn every_actix_response_type_answers_through_the_bounded_mailbox() {
    within(async {
        let addr = Responder { total: 0 }.start_bounded(MailboxConfig::new(4));
        assert_eq!(addr.send(Plain(5)).await.unwrap(), 5);
        assert_eq!(addr.send(Wrapped(5)).await.unwrap(), 10);
        assert_eq!(
            addr.send(Fallible(0)).await.unwrap(),
            Err("zero".to_owned())
        );
        assert_eq!(addr.send(Fallible(3)).await.unwrap(), Ok(3));
        assert_eq!(addr.send(Maybe(0)).await.unwrap(), None);
        assert_eq!(addr.send(Boxed(41)).await.unwrap(), 42);
        assert_eq!(addr.send(InActor(1)).await.unwrap(), 6);
        // `AtomicResponse` holds the actor: the `Plain` sent right after it sees its effect.
        let atomic = addr.clone();
        let first = actix_rt::spawn(async move { atomic.send(Atomic(10)).await });
        until(|| addr.stats().handled == 8).await;
        assert_eq!(addr.send(Plain(0)).await.unwrap(), 16);
        assert_eq!(first.await.unwrap().unwrap(), 16);
    })
    .await;
}

#[actix_rt::test]
async fn ctx_wait_holds_the_queue() {
    within(async {
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(8));
        let (release, hold) = oneshot::channel();
        addr.tell(Hold(hold)).await.unwrap();
        for n in 0..5 {
            addr.tell(Item(n)).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(
            seen.lock().unwrap().is_empty(),
            "handled while the context waited"
        );
        assert_eq!(addr.len(), 5);
        release.send(()).unwrap();
        until(|| seen.lock().unwrap().len() == 5).await;
        assert_eq!(*seen.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    })
    .await;
}

#[actix_rt::test]
async fn an_actor_started_in_another_arbiter_is_fed_from_this_one() {
    within(async {
        let arbiter = Arbiter::new();
        let addr = BoundedMailbox::new(MailboxConfig::new(2))
            .unwrap()
            .start_in_arbiter(&arbiter.handle(), |_| Responder { total: 100 });
        for _ in 0..50 {
            addr.tell(Plain(1)).await.unwrap();
        }
        assert_eq!(addr.send(Plain(0)).await.unwrap(), 150);
        arbiter.stop();
        // Once the arbiter is gone the actor stops and the mailbox closes.
        until(|| addr.is_closed()).await;
        assert!(matches!(
            addr.try_send(Plain(1)),
            Err(TrySendError::Closed(_))
        ));

        // An arbiter that is already gone: the actor never starts, sends see `Closed`.
        let addr = BoundedMailbox::new(MailboxConfig::new(2))
            .unwrap()
            .start_in_arbiter(&arbiter.handle(), |_| Responder { total: 0 });
        until(|| addr.is_closed()).await;
        assert!(matches!(
            addr.tell(Plain(1)).await,
            Err(actix_backpressure::SendError::Closed(_))
        ));
    })
    .await;
}
