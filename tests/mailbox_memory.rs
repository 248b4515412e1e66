//! A `DropOldest` flood keeps memory flat: the bound holds for bytes too.

mod common;

use actix_backpressure::prelude::*;
use common::*;

/// Resident set size of this process, in bytes (Linux).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// A message with a payload, so a leak would show.
#[derive(actix::Message)]
#[rtype(result = "()")]
struct Payload(#[allow(dead_code)] [u64; 16]);

impl actix::Handler<Payload> for Recorder {
    type Result = ();
    fn handle(&mut self, _: Payload, _: &mut actix::Context<Self>) {}
}

#[actix_rt::test]
async fn a_drop_oldest_flood_keeps_rss_flat() {
    within(async {
        let config = MailboxConfig::new(1024).policy(OverflowPolicy::DropOldest);
        let (addr, _, release) = held_recorder(config).await;
        const FLOOD: u64 = 1_000_000;
        // Warm up the allocator with one full mailbox, then measure.
        for n in 0..2048 {
            addr.tell(Payload([n; 16])).await.unwrap();
        }
        let before = rss_bytes();
        for n in 0..FLOOD {
            addr.tell(Payload([n; 16])).await.unwrap();
        }
        let grown = rss_bytes().saturating_sub(before);
        eprintln!(
            "RSS grew by {} KiB during a flood of {FLOOD} messages",
            grown >> 10
        );
        assert_eq!(addr.len(), 1024);
        assert_eq!(addr.stats().evicted, FLOOD + 2048 - 1024);
        // 1 M messages of 128 bytes would be 128 MB if they piled up; the bound keeps ~130 KB.
        assert!(
            grown < 8 << 20,
            "RSS grew by {} KiB during the flood",
            grown >> 10
        );
        drop(release);
    })
    .await;
}
