//! Loom model checks of the protocols in `chan.rs`, `permits.rs`, `room.rs` and
//! `consumers.rs`: no wake-up is ever lost, a closed mailbox stays closed.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Wake, Waker};

use actix::{Actor, Handler, Message};
use loom::sync::Arc;
use loom::thread;

use crate::chan::{Chan, Refusal};
use crate::envelope::{Envelope, MsgEnvelope};
use crate::room::RoomRegistration;
use crate::{MailboxConfig, OverflowPolicy};

pub(super) struct Model;

impl Actor for Model {
    type Context = actix::Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Ping;

impl Handler<Ping> for Model {
    type Result = ();
    fn handle(&mut self, _: Ping, _: &mut actix::Context<Self>) {}
}

pub(super) fn ping() -> Envelope<Model> {
    MsgEnvelope::new(Ping, None)
}

pub(super) fn chan(capacity: usize) -> Chan<Model> {
    Chan::new(MailboxConfig::new(capacity).name("model"))
}

/// A waker that records that it was woken.
#[derive(Default)]
pub(super) struct Flag(pub(super) AtomicBool);

impl Wake for Flag {
    fn wake(self: StdArc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Whether a sender registered as waiting for room already holds a notification.
pub(super) fn is_notified(registration: &mut RoomRegistration<'_>) -> bool {
    let waker = Waker::from(StdArc::new(Flag::default()));
    let notified = pin!(registration.notified());
    notified.poll(&mut Context::from_waker(&waker)).is_ready()
}

/// The driver finds the queue empty and parks while a sender queues a message: either its
/// second look finds the message, or the sender wakes it. Checked for capacity 1 and 2.
#[test]
fn loom_a_parked_driver_is_always_woken() {
    for capacity in [1, 2] {
        loom::model(move || driver_is_woken(capacity));
    }
}

fn driver_is_woken(capacity: usize) {
    let chan = Arc::new(chan(capacity));
    let sender = {
        let chan = Arc::clone(&chan);
        thread::spawn(move || {
            assert!(chan.offer(ping(), OverflowPolicy::Block).is_ok());
        })
    };
    let woken = StdArc::new(Flag::default());
    let waker = Waker::from(StdArc::clone(&woken));
    let got = match chan.pop() {
        Ok(_) => true,
        Err(_) => {
            chan.park_consumer(&waker);
            match chan.pop() {
                Ok(_) => {
                    chan.unpark_consumer();
                    true
                }
                Err(_) => false,
            }
        }
    };
    sender.join().unwrap();
    assert!(
        got || woken.0.load(Ordering::SeqCst),
        "the driver sleeps on a queued message"
    );
}

/// The driver, paused (so it looks only at the control lane), parks while a control message
/// is queued: either its second look finds the message, or the sender wakes it.
#[test]
fn loom_a_control_message_always_wakes_a_parked_driver() {
    loom::model(|| {
        let chan = Arc::new(chan(1));
        let sender = {
            let chan = Arc::clone(&chan);
            thread::spawn(move || {
                assert!(chan.offer_control(ping()).is_ok());
            })
        };
        let woken = StdArc::new(Flag::default());
        let waker = Waker::from(StdArc::clone(&woken));
        let got = match chan.pop_control() {
            Some(_) => true,
            None => {
                chan.park_consumer(&waker);
                match chan.pop_control_fenced() {
                    Some(_) => {
                        chan.unpark_consumer();
                        true
                    }
                    None => false,
                }
            }
        };
        sender.join().unwrap();
        assert!(
            got || woken.0.load(Ordering::SeqCst),
            "the driver sleeps on a control message"
        );
    });
}

/// A pool worker finds the shared queue empty and parks while a sender queues a message:
/// either its second look finds the message, or the sender notifies it.
#[test]
fn loom_a_parked_pool_worker_is_always_notified() {
    loom::model(|| {
        let chan = StdArc::new(Chan::<Model>::new_shared(
            MailboxConfig::new(2).name("pool"),
        ));
        let sender = {
            let chan = StdArc::clone(&chan);
            thread::spawn(move || {
                assert!(chan.offer(ping(), OverflowPolicy::Block).is_ok());
            })
        };
        let got = match chan.pop() {
            Ok(_) => true,
            Err(_) => {
                let mut registration = chan.park_worker();
                match chan.pop() {
                    Ok(_) => true,
                    Err(_) => {
                        sender.join().unwrap();
                        let woken = StdArc::new(Flag::default());
                        let waker = Waker::from(StdArc::clone(&woken));
                        let mut cx = Context::from_waker(&waker);
                        assert!(
                            registration.poll_notified(&mut cx),
                            "the worker sleeps on a queued message"
                        );
                        return;
                    }
                }
            }
        };
        sender.join().unwrap();
        assert!(got);
    });
}

/// A sender finds the mailbox full and waits for room while the driver takes a message out:
/// either its second look finds room, or it is notified. Checked for capacity 1 and 2.
#[test]
fn loom_a_sender_waiting_for_room_is_always_notified() {
    for capacity in [1, 2] {
        loom::model(move || sender_is_notified(capacity));
    }
}

fn sender_is_notified(capacity: usize) {
    let chan = Arc::new(chan(capacity));
    for _ in 0..capacity {
        assert!(chan.offer(ping(), OverflowPolicy::Block).is_ok());
    }
    let driver = {
        let chan = Arc::clone(&chan);
        thread::spawn(move || assert!(chan.pop().is_ok()))
    };
    let queued = match chan.offer(ping(), OverflowPolicy::Block) {
        Ok(()) => true,
        Err((env, _)) => {
            let mut registration = chan.wait_for_room();
            match chan.offer(env, OverflowPolicy::Block) {
                Ok(()) => true,
                Err(_) => {
                    driver.join().unwrap();
                    // The driver is done: the registration must already be notified.
                    assert!(
                        is_notified(&mut registration),
                        "capacity {capacity}: a sender waits although there is room"
                    );
                    return;
                }
            }
        }
    };
    driver.join().unwrap();
    assert!(queued);
}

/// Closing wakes every waiting sender, and they then see the mailbox closed.
#[test]
fn loom_closing_wakes_waiting_senders() {
    loom::model(|| {
        let chan = Arc::new(chan(1));
        assert!(chan.offer(ping(), OverflowPolicy::Block).is_ok());
        let closer = {
            let chan = Arc::clone(&chan);
            thread::spawn(move || chan.close_and_drain())
        };
        let outcome = match chan.offer(ping(), OverflowPolicy::Block) {
            Ok(()) => Poll::Ready(true),
            Err((_, Refusal::Closed)) => Poll::Ready(false),
            Err((env, _)) => {
                let mut registration = chan.wait_for_room();
                match chan.offer(env, OverflowPolicy::Block) {
                    Ok(()) => Poll::Ready(true),
                    // The second look sees the mailbox closed: the sender gets `Closed`.
                    Err((_, Refusal::Closed)) => Poll::Ready(false),
                    Err((_, Refusal::Full)) => {
                        closer.join().unwrap();
                        assert!(
                            is_notified(&mut registration),
                            "a sender sleeps on a closed mailbox"
                        );
                        assert!(chan.is_closed());
                        return;
                    }
                }
            }
        };
        closer.join().unwrap();
        if outcome == Poll::Ready(false) {
            assert!(chan.is_closed());
        }
    });
}

/// A weak handle upgrades while the last strong handle goes: either the upgrade wins, and the
/// mailbox stays open until the new handle goes too, or it loses and gets nothing; never a
/// handle to a mailbox that closes under it.
#[test]
fn loom_an_upgrade_racing_the_last_drop_is_all_or_nothing() {
    loom::model(|| {
        // The count starts at 1: the mailbox's first handle, dropped by `last`.
        let chan = Arc::new(chan(1));
        let last = {
            let chan = Arc::clone(&chan);
            thread::spawn(move || chan.remove_sender())
        };
        let upgraded = chan.try_add_sender();
        if upgraded {
            assert!(!chan.is_closed(), "a live handle's mailbox closed");
        }
        last.join().unwrap();
        if upgraded {
            // The new handle is still alive: the last drop saw it and did not close.
            assert!(!chan.is_closed(), "a live handle's mailbox closed");
            chan.remove_sender();
        }
        assert!(chan.is_closed(), "the mailbox outlived its last handle");
        assert!(!chan.try_add_sender(), "a closed mailbox came back");
    });
}

/// A demand-driven mailbox: a sender registers to wait while the consumer requests one more:
/// either the sender's second try gets in, or the request notifies it.
#[test]
fn loom_a_request_always_lets_a_waiting_sender_in() {
    use crate::demand::Demanded;

    loom::model(|| {
        let chan = Arc::new(Chan::<Model>::new(
            MailboxConfig::new(2).name("model").demand(),
        ));
        let consumer = {
            let chan = Arc::clone(&chan);
            thread::spawn(move || assert_eq!(chan.request(1), 1))
        };
        let env = match chan.offer(ping(), OverflowPolicy::Block) {
            Ok(()) => return consumer.join().unwrap(),
            Err((env, Refusal::Full)) => env,
            Err(_) => unreachable!("not closed"),
        };
        let mut registration = chan.wait_for_room();
        if chan.offer(env, OverflowPolicy::Block).is_err() {
            consumer.join().unwrap();
            assert!(
                is_notified(&mut registration),
                "a sender waits although demand was granted"
            );
        } else {
            drop(registration);
            consumer.join().unwrap();
        }
    });
}
