//! Loom model checks of the bound as permits (`queue.rs`, `permits.rs`) at its edges: a
//! resize racing senders keeps the bound and the permit count exact; a grow wakes a sender
//! waiting for room; a `DropOldest` eviction racing the consumer or a close loses nothing.

use std::sync::Arc as StdArc;

use concurrent_queue::PushError;
use loom::sync::Arc;
use loom::thread;

use super::loom_chan::{chan, is_notified, ping, Model};
use crate::chan::{Chan, Refusal};
use crate::queue::MailboxQueue;
use crate::{MailboxConfig, OverflowPolicy};

/// Two senders push while the capacity shrinks from 2 to 1: the excess is exactly what the
/// shrink left, nothing pushed is lost, and once drained every permit is back.
#[test]
fn loom_a_resize_racing_senders_keeps_the_bound() {
    loom::model(|| {
        let queue = Arc::new(MailboxQueue::bounded(2));
        let senders: Vec<_> = (0..2)
            .map(|n| {
                let queue = Arc::clone(&queue);
                thread::spawn(move || match queue.push(n) {
                    Ok(()) => true,
                    Err(PushError::Full(_)) => false,
                    Err(PushError::Closed(_)) => panic!("a resize closed the mailbox"),
                })
            })
            .collect();
        assert_eq!(queue.set_capacity(1), -1);
        let pushed = senders
            .into_iter()
            .map(|sender| sender.join().unwrap())
            .filter(|&pushed| pushed)
            .count();
        assert_eq!(queue.len(), pushed, "a pushed message is missing");
        assert_eq!(queue.excess(), pushed.saturating_sub(1));
        while queue.pop().is_ok() {}
        assert_eq!(queue.permits().available(), 1, "a permit went missing");
        queue.push(9).unwrap();
        assert!(matches!(queue.push(10), Err(PushError::Full(_))));
    });
}

/// A sender waits for room in a full mailbox of capacity 1 while its capacity grows to 2:
/// either its second look finds room, or the grow wakes it.
#[test]
fn loom_a_grow_wakes_a_sender_waiting_for_room() {
    loom::model(|| {
        let chan = Arc::new(chan(1));
        assert!(chan.offer(ping(), OverflowPolicy::Block).is_ok());
        let grower = {
            let chan = Arc::clone(&chan);
            thread::spawn(move || chan.set_capacity(2))
        };
        let Err((env, _)) = chan.offer(ping(), OverflowPolicy::Block) else {
            grower.join().unwrap();
            return;
        };
        let mut registration = chan.wait_for_room();
        if chan.offer(env, OverflowPolicy::Block).is_ok() {
            grower.join().unwrap();
            return;
        }
        grower.join().unwrap();
        assert!(
            is_notified(&mut registration),
            "a sender sleeps although the mailbox grew"
        );
    });
}

/// Under `DropOldest` at capacity 1, a sender evicts while the driver takes the only message
/// out: each of the two messages is handled, evicted or still queued, exactly once, and the
/// bound holds.
#[test]
fn loom_an_eviction_racing_the_consumer_loses_nothing() {
    loom::model(|| {
        let chan = Arc::new(chan(1));
        assert!(chan.offer(ping(), OverflowPolicy::DropOldest).is_ok());
        let driver = {
            let chan = Arc::clone(&chan);
            thread::spawn(move || usize::from(chan.pop().is_ok()))
        };
        assert!(chan.offer(ping(), OverflowPolicy::DropOldest).is_ok());
        let taken = driver.join().unwrap();
        let stats = chan.core.stats();
        assert!(chan.len() <= 1, "the bound was exceeded");
        assert_eq!(
            taken + stats.evicted as usize + chan.len(),
            2,
            "a message was lost or counted twice"
        );
        while chan.pop().is_ok() {}
        assert_eq!(chan.capacity(), 1);
        assert!(chan.offer(ping(), OverflowPolicy::Reject).is_ok());
        assert!(chan.offer(ping(), OverflowPolicy::Reject).is_err());
    });
}

/// Under `DropOldest`, a sender evicts while the mailbox closes: each message ends exactly
/// once, as evicted, stopped, or handed back as refused, and nothing stays queued.
#[test]
fn loom_a_close_racing_an_eviction_loses_nothing() {
    loom::model(|| {
        let chan = Arc::new(chan(1));
        assert!(chan.offer(ping(), OverflowPolicy::DropOldest).is_ok());
        let closer = {
            let chan = Arc::clone(&chan);
            thread::spawn(move || chan.close_and_drain())
        };
        let refused = match chan.offer(ping(), OverflowPolicy::DropOldest) {
            Ok(()) => 0,
            Err((_, Refusal::Closed)) => 1,
            Err((_, Refusal::Full)) => panic!("DropOldest refused for lack of room"),
        };
        closer.join().unwrap();
        let stats = chan.core.stats();
        assert_eq!(chan.len(), 0, "a message stayed queued after the drain");
        assert_eq!(
            stats.evicted + stats.stopped + refused,
            2,
            "a message was lost or counted twice"
        );
        assert!(chan.is_closed());
    });
}

/// Two pool workers evict what a shrink from 3 to 1 left under `DropOldest`, at the same
/// time: together they evict exactly the 2 beyond the capacity, never the one within it.
#[test]
fn loom_pool_workers_evicting_at_once_stop_at_the_capacity() {
    loom::model(|| {
        let config = MailboxConfig::new(3)
            .name("pool")
            .policy(OverflowPolicy::DropOldest);
        let chan = StdArc::new(Chan::<Model>::new_shared(config));
        for _ in 0..3 {
            assert!(chan.offer(ping(), OverflowPolicy::DropOldest).is_ok());
        }
        chan.set_capacity(1);
        let worker = {
            let chan = StdArc::clone(&chan);
            thread::spawn(move || chan.reconfigure())
        };
        chan.reconfigure();
        worker.join().unwrap();
        assert_eq!(chan.core.stats().evicted, 2);
        assert_eq!(chan.len(), 1, "an eviction went below the capacity");
    });
}
