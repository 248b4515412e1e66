//! Rate limits on the send path, on virtual time: `Block` waits for a token, the lossy
//! policies and `try_send` refuse as `rate_limited`, and every message is accounted for.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use actix_backpressure::prelude::*;
use actix_backpressure::{RateLimit, SendError, TrySendError};
use common::pipeline::{eventually, on_virtual_time};
use tokio::time::Instant;

#[derive(Message)]
#[rtype(result = "()")]
struct Tick;

/// Records when each message reached its handler.
struct Stamps {
    at: Arc<Mutex<Vec<Instant>>>,
}

impl Actor for Stamps {
    type Context = Context<Self>;
}

impl Handler<Tick> for Stamps {
    type Result = ();

    fn handle(&mut self, _: Tick, _: &mut Context<Self>) {
        self.at.lock().unwrap().push(Instant::now());
    }
}

fn stamps() -> (Stamps, Arc<Mutex<Vec<Instant>>>) {
    let at = Arc::new(Mutex::new(Vec::new()));
    (
        Stamps {
            at: Arc::clone(&at),
        },
        at,
    )
}

/// Asserts that 100 ± 1 messages were handled in each of the 10 whole seconds from `start`.
fn assert_100_per_second(at: &[Instant], start: Instant) {
    let seconds: Vec<usize> = (0..10)
        .map(|s| {
            let from = start + Duration::from_secs(s);
            let to = from + Duration::from_secs(1);
            at.iter().filter(|&&t| t >= from && t < to).count()
        })
        .collect();
    eprintln!("admitted per second: {seconds:?}");
    for (s, &n) in seconds.iter().enumerate() {
        assert!((99..=101).contains(&n), "second {s}: {n} admitted");
    }
}

#[test]
fn under_block_a_limit_of_100_per_second_admits_100_each_second_and_loses_nothing() {
    on_virtual_time(Duration::from_secs(30), || async {
        let (actor, at) = stamps();
        let addr = actor.start_bounded(
            MailboxConfig::new(1024)
                .name("limited")
                .rate_limit(RateLimit::per_second(100)),
        );
        // A producer far faster than the limit: every `tell` waits for its token.
        let start = Instant::now();
        let mut sent = 0u64;
        while start.elapsed() < Duration::from_secs(10) {
            addr.tell(Tick).await.expect("Block waits for a token");
            sent += 1;
        }
        eventually(|| addr.stats().handled == sent).await;
        assert_100_per_second(&at.lock().unwrap(), start);
        let stats = addr.stats();
        assert_eq!(stats.rate_limited, 0, "Block waits, it does not refuse");
        // Waiting for a token is not waiting for room: the supervisor reads `sender_blocked`
        // as a full mailbox.
        assert_eq!(stats.sender_blocked, Duration::ZERO, "{stats:?}");
        // It is counted apart: the one producer waited for a token nearly all the 10 s.
        eprintln!("waited for tokens: {:?}", stats.rate_waited);
        assert!(
            (Duration::from_millis(9_500)..=Duration::from_millis(10_500))
                .contains(&stats.rate_waited),
            "{stats:?}"
        );
        assert_eq!(stats.offered(), sent);
        assert_eq!(stats.settled(), sent);
    });
}

#[test]
fn lossy_policies_and_try_send_refuse_without_a_token_and_hand_the_message_back() {
    on_virtual_time(Duration::from_secs(30), || async {
        let refused = Arc::new(Mutex::new(Vec::new()));
        let hook = Arc::clone(&refused);
        let (actor, at) = stamps();
        let addr = actor.start_bounded(
            MailboxConfig::new(1024)
                .name("limited_lossy")
                .policy(OverflowPolicy::DropNewest)
                .rate_limit(RateLimit::per_second(100))
                .on_drop(move |d| hook.lock().unwrap().push(d.reason())),
        );
        // 1000 offers a second for 10 s.
        let start = Instant::now();
        let mut ticks = tokio::time::interval(Duration::from_millis(1));
        let (mut queued, mut limited) = (0u64, 0u64);
        for _ in 0..10_000 {
            ticks.tick().await;
            match addr.tell(Tick).await {
                Ok(()) => queued += 1,
                Err(SendError::RateLimited(Tick)) => limited += 1,
                Err(other) => panic!("{other:?}"),
            }
        }
        eventually(|| addr.stats().handled == queued).await;
        assert_100_per_second(&at.lock().unwrap(), start);
        let stats = addr.stats();
        assert_eq!(stats.rate_limited, limited);
        assert_eq!(refused.lock().unwrap().len() as u64, limited);
        assert!(refused
            .lock()
            .unwrap()
            .iter()
            .all(|&r| r == DropReason::RateLimited));
        assert_eq!(stats.offered(), 10_000);
        assert_eq!(stats.settled(), 10_000);

        // `try_send` cannot wait, even under `Block`.
        let (actor, _) = stamps();
        let block = actor.start_bounded(
            MailboxConfig::new(8).rate_limit(RateLimit::new(1, Duration::from_secs(60))),
        );
        block.try_send(Tick).expect("the first token is there");
        assert!(matches!(
            block.try_send(Tick),
            Err(TrySendError::RateLimited(Tick))
        ));
        // A deadline before the next token: refused at once, and the token is not booked.
        let started = Instant::now();
        let refused = block
            .send_timeout(Tick, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            matches!(refused, SendError::RateLimited(Tick)),
            "{refused:?}"
        );
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(block.stats().rate_limited, 2);
        // So a minute later the next token is there, not booked by the refused send.
        tokio::time::sleep(Duration::from_secs(60)).await;
        block
            .try_send(Tick)
            .expect("the token of the second minute");
    });
}

#[test]
fn a_rate_limit_with_a_zero_figure_is_refused_with_what_is_wrong() {
    let (actor, _) = stamps();
    let err = actor
        .try_start_bounded(
            MailboxConfig::new(8)
                .name("q")
                .rate_limit(RateLimit::per_second(10).burst(0)),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "mailbox `q`: a rate limit needs a count, a period and a burst above 0, got 10 per 1s, burst 0"
    );
}

#[test]
fn a_token_taken_by_a_refused_message_goes_back() {
    on_virtual_time(Duration::from_secs(30), || async {
        // Three tokens at once, then one a minute (the hold takes the first); room for one
        // message, held.
        let (addr, _seen, release) = common::held_recorder(
            MailboxConfig::new(1)
                .name("refund")
                .policy(OverflowPolicy::Reject)
                .rate_limit(RateLimit::new(1, Duration::from_secs(60)).burst(3)),
        )
        .await;
        addr.try_send(common::Item(1))
            .expect("a token, and the room");
        // Refused as full: the token it took comes back.
        assert!(matches!(
            addr.try_send(common::Item(2)),
            Err(TrySendError::Full(_))
        ));
        release.send(()).unwrap();
        eventually(|| addr.is_empty()).await;
        addr.try_send(common::Item(3))
            .expect("the refused send's token was given back");
        let stats = addr.stats();
        assert_eq!((stats.rejected, stats.rate_limited), (1, 0));
    });
}

/// A message from one producer.
#[derive(Message)]
#[rtype(result = "()")]
struct From(usize);

/// Counts what each producer got through.
struct PerSender {
    got: Arc<Mutex<Vec<u64>>>,
}

impl Actor for PerSender {
    type Context = Context<Self>;
}

impl Handler<From> for PerSender {
    type Result = ();

    fn handle(&mut self, From(sender): From, _: &mut Context<Self>) {
        self.got.lock().unwrap()[sender] += 1;
    }
}

/// Floods `recipients` for 10 virtual seconds, one producer each, under `Block`; returns
/// what each got through and the mailbox's stats.
async fn flood_per_sender(
    config: MailboxConfig,
    limits: &[Option<RateLimit>],
) -> (Vec<u64>, MailboxStats) {
    let got = Arc::new(Mutex::new(vec![0; limits.len()]));
    let addr = PerSender {
        got: Arc::clone(&got),
    }
    .start_bounded(config);
    let start = Instant::now();
    let producers: Vec<_> = limits
        .iter()
        .enumerate()
        .map(|(sender, limit)| {
            let recipient = addr.recipient::<From>();
            let recipient = match limit {
                Some(limit) => recipient.with_rate_limit(*limit).unwrap(),
                None => recipient,
            };
            actix::spawn(async move {
                while start.elapsed() < Duration::from_secs(10) {
                    recipient.tell(From(sender)).await.expect("Block waits");
                    // An unlimited producer sends every 10 µs: far more often than either
                    // limit admits.
                    tokio::time::sleep(Duration::from_micros(10)).await;
                }
            })
        })
        .collect();
    for producer in producers {
        producer.await.unwrap();
    }
    eventually(|| addr.stats().settled() == addr.stats().offered() && addr.is_empty()).await;
    let got = got.lock().unwrap().clone();
    (got, addr.stats())
}

#[test]
fn each_sender_is_held_to_its_own_limit() {
    on_virtual_time(Duration::from_secs(30), || async {
        let limits = [
            Some(RateLimit::per_second(50)),
            Some(RateLimit::per_second(20)),
        ];
        let (got, stats) = flood_per_sender(MailboxConfig::new(1024), &limits).await;
        eprintln!("per-sender limits 50/s and 20/s over 10 s: {got:?}; {stats:?}");
        assert!((499..=501).contains(&got[0]), "{got:?}");
        assert!((199..=201).contains(&got[1]), "{got:?}");
        assert_eq!(stats.rate_limited, 0, "Block waits, it does not refuse");
        assert!(stats.rate_waited > Duration::from_secs(15), "{stats:?}");
        assert_eq!(stats.handled, got.iter().sum::<u64>());
    });
}

#[test]
fn a_sender_limit_and_the_mailbox_limit_both_hold() {
    on_virtual_time(Duration::from_secs(30), || async {
        let config = MailboxConfig::new(1024).rate_limit(RateLimit::per_second(100));
        let limits = [Some(RateLimit::per_second(30)), None];
        let (got, stats) = flood_per_sender(config, &limits).await;
        eprintln!("sender 30/s, other unlimited, mailbox 100/s, over 10 s: {got:?}");
        assert!(got[0] <= 301, "{got:?}");
        assert!(
            got[0] >= 250,
            "the limited sender still gets its share: {got:?}"
        );
        // 100/s for 10 s; each producer's last send may start before the end and get its
        // token just after.
        assert!((999..=1002).contains(&(got[0] + got[1])), "{got:?}");
        assert_eq!(stats.settled(), stats.offered());
    });
}

#[test]
fn a_sender_limit_refuses_lossy_sends_and_gives_tokens_back() {
    on_virtual_time(Duration::from_secs(30), || async {
        let (actor, _) = stamps();
        let addr = actor.start_bounded(MailboxConfig::new(1).policy(OverflowPolicy::Reject));
        let limited = addr
            .recipient::<Tick>()
            .with_rate_limit(RateLimit::per_second(1))
            .unwrap();
        assert!(limited == addr.recipient::<Tick>(), "the same mailbox");
        addr.pause();
        limited.try_send(Tick).unwrap();
        // No token for a second within the second; the other handles are not limited by it.
        assert!(matches!(
            limited.try_send(Tick),
            Err(TrySendError::RateLimited(Tick))
        ));
        tokio::time::sleep(Duration::from_secs(1)).await;
        // A token now, but the mailbox is full: refused, and the token goes back ...
        assert!(matches!(
            limited.try_send(Tick),
            Err(TrySendError::Full(Tick))
        ));
        addr.resume();
        eventually(|| addr.is_empty()).await;
        // ... so the next send, at once, has it (the sleep above took 10 ms at most).
        limited.try_send(Tick).unwrap();
        let stats = addr.stats();
        assert_eq!((stats.rate_limited, stats.rejected), (1, 1), "{stats:?}");
        let err = limited
            .with_rate_limit(RateLimit::per_second(0))
            .unwrap_err();
        assert!(err.to_string().contains("rate limit"), "{err}");
    });
}

/// A `Block` mailbox of room for one, held, whose limit gives `burst` tokens at once and then
/// one a minute (the hold takes the first, `Item(1)` the second and fills the room).
async fn full_and_rate_limited(
    burst: u32,
) -> (
    BoundedAddr<common::Recorder>,
    tokio::sync::oneshot::Sender<()>,
) {
    let (addr, _seen, release) = common::held_recorder(
        MailboxConfig::new(1)
            .name("give-back")
            .rate_limit(RateLimit::new(1, Duration::from_secs(60)).burst(burst)),
    )
    .await;
    addr.try_send(common::Item(1))
        .expect("a token, and the room");
    (addr, release)
}

#[test]
fn a_token_held_by_a_send_that_timed_out_waiting_for_room_goes_back() {
    on_virtual_time(Duration::from_secs(30), || async {
        let (addr, release) = full_and_rate_limited(3).await;
        // Takes the last token, then waits for room in vain.
        assert!(matches!(
            addr.send_timeout(common::Item(2), Duration::from_secs(1))
                .await,
            Err(SendError::Timeout(_))
        ));
        release.send(()).unwrap();
        eventually(|| addr.is_empty()).await;
        addr.try_send(common::Item(3))
            .expect("the timed-out send's token was given back");
        let stats = addr.stats();
        assert_eq!((stats.timed_out, stats.rate_limited), (1, 0));
    });
}

#[test]
fn a_cancelled_send_gives_its_token_back() {
    on_virtual_time(Duration::from_secs(30), || async {
        let (addr, release) = full_and_rate_limited(4).await;
        // Each takes one of the two tokens left, finds no room and is cancelled: one before
        // it was ever polled, one while it waited for room.
        drop(addr.tell(common::Item(2)));
        assert!(
            tokio::time::timeout(Duration::from_secs(1), addr.tell(common::Item(3)))
                .await
                .is_err(),
            "no room: the send waits until cancelled"
        );
        release.send(()).unwrap();
        eventually(|| addr.is_empty()).await;
        for n in [4, 5] {
            addr.try_send(common::Item(n))
                .expect("both cancelled sends gave their token back");
            eventually(|| addr.is_empty()).await;
        }
        assert_eq!(addr.stats().rate_limited, 0);
    });
}

/// 9 s, within the timer's millisecond.
fn about_9_seconds(waited: Duration) -> bool {
    (Duration::from_millis(8_990)..=Duration::from_millis(9_010)).contains(&waited)
}

#[test]
fn a_send_cancelled_while_waiting_for_its_token_gives_the_slot_back() {
    on_virtual_time(Duration::from_secs(60), || async {
        let (actor, _seen) = common::Recorder::new();
        let addr = actor.start_bounded(
            MailboxConfig::new(8)
                .name("slot-back")
                .rate_limit(RateLimit::new(1, Duration::from_secs(10))),
        );
        addr.tell(common::Item(1))
            .await
            .expect("the first token is there");
        // Reserves the slot 10 s on, sleeps for it, and is cancelled after 1 s.
        assert!(
            tokio::time::timeout(Duration::from_secs(1), addr.tell(common::Item(2)))
                .await
                .is_err()
        );
        let asked = Instant::now();
        addr.tell(common::Item(3)).await.expect("Block waits");
        let waited = asked.elapsed();
        assert!(
            about_9_seconds(waited),
            "waited {waited:?}: the cancelled send's slot (10 s) should go to the next one, \
             not the one after (20 s)"
        );
    });
}

#[test]
fn a_reserve_cancelled_while_waiting_for_its_token_gives_the_slot_back() {
    on_virtual_time(Duration::from_secs(60), || async {
        let (actor, _seen) = common::Recorder::new();
        let addr = actor.start_bounded(
            MailboxConfig::new(8)
                .name("reserve-slot-back")
                .rate_limit(RateLimit::new(1, Duration::from_secs(10))),
        );
        let permit = addr.reserve().await.expect("room and the first token");
        permit.send(common::Item(1)).expect("the actor is there");
        assert!(
            tokio::time::timeout(Duration::from_secs(1), addr.reserve())
                .await
                .is_err(),
            "the next token is 10 s away"
        );
        let asked = Instant::now();
        let permit = addr.reserve().await.expect("room, then a token");
        let waited = asked.elapsed();
        assert!(
            about_9_seconds(waited),
            "waited {waited:?}: the cancelled reserve's slot (10 s) should go to the next one"
        );
        drop(permit);
    });
}
