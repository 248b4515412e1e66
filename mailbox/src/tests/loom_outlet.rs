//! Loom model checks of the outlet (`outlet.rs`): the reader is always woken for an item or
//! the end, and a sender waiting for the reader is always let in when it takes an item.

use std::sync::atomic::Ordering;
use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Waker};

use loom::sync::Arc;
use loom::thread;

use super::loom_chan::{is_notified, Flag};
use crate::outlet::Shared;
use crate::TrySendError;

/// The reader looks once: what it got, and whether it was woken by the time `others` finished.
fn read_once(shared: &Shared<u8>, others: thread::JoinHandle<()>) -> (Poll<Option<u8>>, bool) {
    let woken = StdArc::new(Flag::default());
    let waker = Waker::from(StdArc::clone(&woken));
    let got = shared.poll_next(&mut Context::from_waker(&waker));
    others.join().unwrap();
    (got, woken.0.load(Ordering::SeqCst))
}

/// The reader finds nothing and parks while a sender queues an item: either its second look
/// finds the item, or the sender wakes it.
#[test]
fn loom_a_parked_reader_is_always_woken_for_an_item() {
    loom::model(|| {
        let shared = Arc::new(Shared::new(1));
        let sender = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || shared.try_send(7).unwrap())
        };
        let (got, woken) = read_once(&shared, sender);
        assert!(
            got == Poll::Ready(Some(7)) || woken,
            "the reader sleeps on a queued item"
        );
    });
}

/// The last outlet goes while the reader parks: it is woken, and then sees the end.
#[test]
fn loom_a_parked_reader_is_always_woken_for_the_end() {
    loom::model(|| {
        let shared = Arc::new(Shared::<u8>::new(1));
        let last = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || shared.remove_outlet())
        };
        let (got, woken) = read_once(&shared, last);
        match got {
            Poll::Ready(None) => {}
            Poll::Pending => {
                assert!(woken, "the reader sleeps past the end");
                let waker = Waker::from(StdArc::new(Flag::default()));
                let again = shared.poll_next(&mut Context::from_waker(&waker));
                assert_eq!(again, Poll::Ready(None));
            }
            Poll::Ready(Some(_)) => unreachable!("nothing was sent"),
        }
    });
}

/// A full window: the reader takes the item while a sender registers to wait: either the
/// sender's second try gets in, or the reader notifies it. Checked for windows 1 and 2.
#[test]
fn loom_a_sender_waiting_for_the_reader_is_always_let_in() {
    for window in [1, 2] {
        loom::model(move || {
            let shared = Arc::new(Shared::new(window));
            for n in 0..window {
                shared.try_send(n as u8).unwrap();
            }
            let reader = {
                let shared = Arc::clone(&shared);
                thread::spawn(move || {
                    let waker = Waker::from(StdArc::new(Flag::default()));
                    assert!(matches!(
                        shared.poll_next(&mut Context::from_waker(&waker)),
                        Poll::Ready(Some(_))
                    ));
                })
            };
            let item = match shared.try_send(9) {
                Ok(()) => return reader.join().unwrap(),
                Err(TrySendError::Full(item)) => item,
                Err(_) => unreachable!("not closed"),
            };
            let mut registration = shared.wait_for_room();
            if shared.try_send(item).is_err() {
                reader.join().unwrap();
                assert!(
                    is_notified(&mut registration),
                    "window {window}: a sender waits although the reader took an item"
                );
            } else {
                drop(registration);
                reader.join().unwrap();
            }
        });
    }
}

/// The reader closes while a sender registers to wait: the sender is woken, and then gets
/// its item back.
#[test]
fn loom_closing_the_reader_wakes_a_waiting_sender() {
    loom::model(|| {
        let shared = Arc::new(Shared::new(1));
        shared.try_send(1).unwrap();
        let closer = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || shared.close())
        };
        let item = match shared.try_send(2) {
            Err(TrySendError::Full(item)) => item,
            Err(TrySendError::Closed(_)) => return closer.join().unwrap(),
            _ => unreachable!("the window is full"),
        };
        let mut registration = shared.wait_for_room();
        match shared.try_send(item) {
            Err(TrySendError::Full(_)) => {
                closer.join().unwrap();
                assert!(
                    is_notified(&mut registration),
                    "a sender waits on a closed outlet"
                );
                drop(registration);
                assert!(matches!(shared.try_send(3), Err(TrySendError::Closed(3))));
            }
            Err(TrySendError::Closed(_)) => closer.join().unwrap(),
            _ => unreachable!("no item was taken"),
        }
    });
}
