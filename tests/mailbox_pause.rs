//! Pausing a mailbox, its gate, and the control lane.

mod common;

use std::time::Duration;

use actix_backpressure::{
    BoundedActorExt, MailboxConfig, OverflowPolicy, PauseGate, SendError, TrySendError,
};
use common::{held_recorder, until, within, Item, Recorder};

#[actix_rt::test]
async fn a_paused_actor_takes_nothing_and_loses_nothing() {
    within(async {
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(8));
        assert!(addr.pause());
        for n in 0..8 {
            addr.try_send(Item(n)).unwrap();
        }
        // Let the actor run: it must not take anything while paused.
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(addr.len(), 8);
        assert!(seen.lock().unwrap().is_empty());
        // The bound still holds for its senders.
        assert!(matches!(
            addr.try_send(Item(8)),
            Err(TrySendError::Full(Item(8)))
        ));

        assert!(addr.resume());
        until(|| seen.lock().unwrap().len() == 8).await;
        assert_eq!(*seen.lock().unwrap(), (0..8).collect::<Vec<_>>());
        let stats = addr.stats();
        assert_eq!((stats.handled, stats.rejected), (8, 1));
    })
    .await;
}

#[actix_rt::test]
async fn control_messages_bypass_the_bound_and_the_pause() {
    within(async {
        let (addr, seen, release) =
            held_recorder(MailboxConfig::new(2).policy(OverflowPolicy::DropNewest)).await;
        addr.try_send(Item(1)).unwrap();
        addr.try_send(Item(2)).unwrap();
        assert!(addr.try_send(Item(3)).is_err(), "the mailbox is full");
        // Full, yet the control lane takes it, and it goes before the queued messages.
        addr.control(Item(100)).unwrap();
        assert_eq!(
            addr.len(),
            2,
            "control messages are not in the mailbox's depth"
        );
        addr.pause();
        release.send(()).unwrap();
        // Paused: only the control message is handled.
        assert_eq!(addr.send_control(Item(101)).await.unwrap(), 101);
        assert_eq!(*seen.lock().unwrap(), [100, 101]);
        assert_eq!(addr.len(), 2);
        addr.resume();
        until(|| seen.lock().unwrap().len() == 4).await;
        assert_eq!(*seen.lock().unwrap(), [100, 101, 1, 2]);
        let stats = addr.stats();
        assert_eq!(
            (stats.enqueued, stats.handled, stats.dropped_newest),
            (3, 3, 1),
            "control messages are not counted"
        );
    })
    .await;
}

#[actix_rt::test]
async fn control_to_a_stopped_actor_hands_the_message_back() {
    within(async {
        let (actor, _) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(4));
        addr.send(common::Stop).await.unwrap();
        until(|| addr.is_closed()).await;
        assert!(matches!(
            addr.control(Item(7)),
            Err(TrySendError::Closed(Item(7)))
        ));
        assert!(matches!(
            addr.send_control(Item(8)).await,
            Err(SendError::Closed(Item(8)))
        ));
    })
    .await;
}

#[actix_rt::test]
async fn a_pause_no_one_can_lift_does_not_keep_the_actor_alive() {
    within(async {
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(4));
        addr.try_send(Item(1)).unwrap();
        addr.pause();
        let probe = addr.probe();
        // The last address goes, and no one else holds the gate: the actor drains and stops.
        drop(addr);
        until(|| probe.sample().is_none()).await;
        assert_eq!(*seen.lock().unwrap(), [1]);
    })
    .await;
}

#[actix_rt::test]
async fn a_closed_mailbox_drains_once_the_last_other_gate_handle_goes() {
    within(async {
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(4));
        let gate = addr.pause_gate();
        gate.pause();
        for n in 0..3 {
            addr.try_send(Item(n)).unwrap();
        }
        let probe = addr.probe();
        drop(addr);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            seen.lock().unwrap().is_empty(),
            "paused while the gate has a holder"
        );
        // No one can resume it any more: the actor drains its queue and stops.
        drop(gate);
        until(|| probe.sample().is_none()).await;
        assert_eq!(*seen.lock().unwrap(), [0, 1, 2]);
    })
    .await;
}

#[actix_rt::test]
async fn a_shared_gate_pauses_the_mailbox_and_its_streams() {
    within(async {
        let gate = PauseGate::new();
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(4).pause_gate(gate.clone()));
        gate.pause();
        assert!(addr.is_paused());
        addr.try_send(Item(1)).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(seen.lock().unwrap().is_empty());
        // Without addresses the actor stays paused while someone holds the gate ...
        let probe = addr.probe();
        drop(addr);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(probe.sample().is_some_and(|s| s.paused && s.depth == 1));
        // ... and drains and stops when it is resumed.
        gate.resume();
        until(|| probe.sample().is_none()).await;
        assert_eq!(*seen.lock().unwrap(), [1]);
    })
    .await;
}

#[actix_rt::test]
async fn a_probe_reads_pressure_without_keeping_the_actor_alive() {
    within(async {
        let (addr, _seen, release) = held_recorder(MailboxConfig::new(4).name("probed")).await;
        let probe = addr.probe();
        assert_eq!(probe.name(), "probed");
        addr.try_send(Item(1)).unwrap();
        addr.try_send(Item(2)).unwrap();
        addr.try_send(Item(3)).unwrap();
        let sample = probe.sample().unwrap();
        assert_eq!((sample.depth, sample.capacity), (3, 4));
        assert!((sample.fill() - 0.75).abs() < 1e-9);
        assert!(!sample.paused && !sample.closed);
        assert_eq!(sample.waiting_senders, 0);

        // A sender waiting for room shows.
        let waiting = {
            let addr = addr.clone();
            actix_rt::spawn(async move {
                addr.tell(Item(4)).await.unwrap();
                addr.tell(Item(5)).await.unwrap();
            })
        };
        until(|| probe.sample().unwrap().waiting_senders == 1).await;
        release.send(()).unwrap();
        waiting.await.unwrap();
        let after = probe.sample().unwrap();
        assert!(after.blocked_since(&sample));
        assert!(probe.same_mailbox(&addr.probe()));
        drop(addr);
        until(|| probe.sample().is_none()).await;
    })
    .await;
}
