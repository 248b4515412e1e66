//! Weak handles, an actor's own bounded address, and recipients with every handle method.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use actix_backpressure::{
    BoundedActorExt, BoundedAddr, BoundedMailbox, BoundedRecipient, MailboxConfig, OverflowPolicy,
    SendError, TrySendError, WeakBoundedAddr,
};
use common::{held_recorder, until, within, Item, Recorder};

/// Sends itself `Burst(n)` items through its own bounded mailbox, holding only a weak handle.
struct Looper {
    me: WeakBoundedAddr<Looper>,
    /// Outcomes of the self-sends: accepted, and refused by the policy.
    accepted: u64,
    refused: u64,
    stopped: Arc<AtomicBool>,
}

impl Actor for Looper {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.stopped.store(true, Ordering::SeqCst);
    }
}

#[derive(Message)]
#[rtype(result = "Outcomes")]
struct Burst(u64);

/// Self-sends accepted and refused so far.
#[derive(MessageResponse, Debug, PartialEq, Eq)]
struct Outcomes(u64, u64);

#[derive(Message)]
#[rtype(result = "()")]
struct Noop;

impl Handler<Burst> for Looper {
    type Result = Outcomes;

    fn handle(&mut self, Burst(n): Burst, _: &mut Context<Self>) -> Outcomes {
        let me = self.me.upgrade().expect("a strong handle is alive");
        for _ in 0..n {
            match me.try_send(Noop) {
                Ok(()) => self.accepted += 1,
                Err(TrySendError::Full(Noop)) => self.refused += 1,
                Err(_) => panic!("unexpected refusal"),
            }
        }
        Outcomes(self.accepted, self.refused)
    }
}

impl Handler<Noop> for Looper {
    type Result = ();

    fn handle(&mut self, _: Noop, _: &mut Context<Self>) {}
}

fn looper(config: MailboxConfig) -> (BoundedAddr<Looper>, Arc<AtomicBool>) {
    let stopped = Arc::new(AtomicBool::new(false));
    let mailbox = BoundedMailbox::new(config).unwrap();
    let me = mailbox.downgrade();
    let addr = mailbox.start(Looper {
        me,
        accepted: 0,
        refused: 0,
        stopped: Arc::clone(&stopped),
    });
    (addr, stopped)
}

#[actix_rt::test]
async fn an_actor_sending_to_itself_through_its_weak_address_meets_the_bound() {
    within(async {
        let (addr, _) = looper(MailboxConfig::new(4).policy(OverflowPolicy::Reject));
        // The handler queues 10,000 messages to itself while it runs: only 4 fit.
        assert_eq!(addr.send(Burst(10_000)).await.unwrap(), Outcomes(4, 9_996));
        until(|| addr.stats().handled == 5).await;
        let stats = addr.stats();
        assert_eq!(
            (stats.enqueued, stats.handled, stats.rejected),
            (5, 5, 9_996)
        );
    })
    .await;
}

#[actix_rt::test]
async fn an_actor_holding_only_its_weak_address_stops_when_the_others_let_go() {
    within(async {
        let (addr, stopped) = looper(MailboxConfig::new(4));
        addr.send(Burst(2)).await.unwrap();
        let weak = addr.downgrade();
        assert!(weak.upgrade().is_some());
        drop(addr);
        until(|| stopped.load(Ordering::SeqCst)).await;
        assert!(
            weak.upgrade().is_none(),
            "a stopped actor's address came back"
        );
    })
    .await;
}

#[actix_rt::test]
async fn upgrade_fails_once_the_last_strong_handle_is_gone_and_never_succeeds_again() {
    within(async {
        let (actor, _) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(2));
        let weak = addr.downgrade();
        let weak_recipient = addr.recipient::<Item>().downgrade();
        assert_eq!(weak, weak.clone());
        // A recipient alone keeps the actor alive, and lets the weak address upgrade.
        let recipient = weak_recipient.upgrade().unwrap();
        drop(addr);
        let again = weak.upgrade().expect("the recipient is a strong handle");
        assert_eq!(again.send(Item(7)).await.unwrap(), 7);
        drop(again);
        drop(recipient);
        until(|| weak.upgrade().is_none()).await;
        assert!(weak_recipient.upgrade().is_none());
        assert!(weak.upgrade().is_none());
    })
    .await;
}

#[actix_rt::test]
async fn a_mailbox_dropped_before_its_actor_starts_is_closed() {
    within(async {
        let mailbox = BoundedMailbox::<Recorder>::new(MailboxConfig::new(2)).unwrap();
        let addr = mailbox.address();
        drop(mailbox);
        until(|| addr.is_closed()).await;
        assert!(!addr.connected());
        assert!(matches!(
            addr.send(Item(1)).await,
            Err(SendError::Closed(Item(1)))
        ));
        let err = BoundedMailbox::<Recorder>::new(MailboxConfig::new(0)).unwrap_err();
        assert!(err.to_string().contains("capacity"), "{err}");
    })
    .await;
}

#[actix_rt::test]
async fn a_recipient_pauses_reconfigures_and_steers_like_its_address() {
    within(async {
        let (addr, seen, release) = held_recorder(MailboxConfig::new(2)).await;
        let recipient: BoundedRecipient<Item> = addr.clone().into();
        assert!(recipient.connected());

        recipient.set_policy(OverflowPolicy::Reject);
        assert_eq!(addr.policy(), OverflowPolicy::Reject);
        recipient.try_send(Item(1)).unwrap();
        recipient.try_send(Item(2)).unwrap();
        assert!(matches!(
            recipient.try_send(Item(3)),
            Err(TrySendError::Full(Item(3)))
        ));
        // The control lane takes it though the mailbox is full.
        recipient.control(Item(100)).unwrap();

        assert!(recipient.pause());
        assert!(addr.is_paused() && recipient.is_paused());
        assert!(recipient.pause_gate().is_paused());
        release.send(()).unwrap();
        // Paused: only control messages are handled.
        assert_eq!(recipient.send_control(Item(101)).await.unwrap(), 101);
        assert_eq!(*seen.lock().unwrap(), [100, 101]);

        let sample = recipient.probe().sample().expect("the mailbox is alive");
        assert_eq!((sample.depth, sample.capacity), (2, 2));

        assert!(recipient.set_capacity(0).is_err());
        recipient.set_capacity(3).unwrap();
        assert!(recipient.resume());
        until(|| seen.lock().unwrap().len() == 4).await;
        assert_eq!(*seen.lock().unwrap(), [100, 101, 1, 2]);
        assert_eq!(addr.capacity(), 3);
    })
    .await;
}

#[actix_rt::test]
async fn recipients_are_equal_when_they_send_to_the_same_mailbox() {
    within(async {
        let (first, _) = Recorder::new();
        let (second, _) = Recorder::new();
        let a = first.start_bounded(MailboxConfig::new(2));
        let b = second.start_bounded(MailboxConfig::new(2));
        let set: HashSet<BoundedRecipient<Item>> = [
            a.recipient(),
            a.clone().recipient(),
            BoundedRecipient::from(a.clone()),
            b.recipient(),
        ]
        .into_iter()
        .collect();
        assert_eq!(set.len(), 2);
        assert_ne!(a.recipient::<Item>(), b.recipient::<Item>());
        // Hashed by the mailbox's address, which its interior mutability does not change.
        #[allow(clippy::mutable_key_type)]
        let addrs: HashSet<BoundedAddr<Recorder>> = [a.clone(), a.clone(), b.clone()].into();
        assert_eq!(addrs.len(), 2);
        assert_eq!(
            a.recipient::<Item>().downgrade(),
            a.recipient::<Item>().downgrade()
        );
    })
    .await;
}

/// Records the `mailbox` field of every warning.
#[derive(Clone, Default)]
struct Warnings(Arc<std::sync::Mutex<Vec<String>>>);

impl tracing::Subscriber for Warnings {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() == tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Mailbox(Option<String>);
        impl tracing::field::Visit for Mailbox {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "mailbox" {
                    self.0 = Some(value.to_owned());
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut mailbox = Mailbox(None);
        event.record(&mut mailbox);
        self.0.lock().unwrap().extend(mailbox.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Takes the actor's actix address and keeps it.
#[derive(Message)]
#[rtype(result = "()")]
struct KeepNativeAddress;

impl Handler<KeepNativeAddress> for Recorder {
    type Result = ();

    fn handle(&mut self, _: KeepNativeAddress, ctx: &mut Context<Self>) {
        let native: Addr<Recorder> = ctx.address();
        // Kept for the actor's lifetime, as an actor that hands itself out would.
        ctx.run_later(std::time::Duration::from_secs(3600), move |_, _| {
            drop(native)
        });
    }
}

#[test]
fn holding_the_native_address_is_warned_about_once() {
    let warnings = Warnings::default();
    tracing::subscriber::with_default(warnings.clone(), || {
        System::new().block_on(within(async {
            let (actor, _) = Recorder::new();
            let addr = actor.start_bounded(MailboxConfig::new(4).name("bypassed"));
            let (other, _) = Recorder::new();
            let quiet = other.start_bounded(MailboxConfig::new(4).name("quiet"));
            assert_eq!(addr.send(Item(1)).await.unwrap(), 1);
            assert_eq!(quiet.send(Item(1)).await.unwrap(), 1);
            assert!(
                warnings.0.lock().unwrap().is_empty(),
                "no native address yet"
            );
            addr.send(KeepNativeAddress).await.unwrap();
            for n in 2..10 {
                addr.send(Item(n)).await.unwrap();
            }
            assert_eq!(*warnings.0.lock().unwrap(), ["bypassed"]);
        }));
    });
}
