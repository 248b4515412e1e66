//! The start methods replaced by `BoundedMailbox` still work, for one release.
#![allow(deprecated)]

mod common;

use actix::prelude::*;
use actix_backpressure::{
    Backpressured, BackpressuredExt, BoundedActorExt, MailboxConfig, OverflowPolicy,
};
use common::{within, Item, Recorder};

impl Backpressured for Recorder {
    fn mailbox_config() -> MailboxConfig {
        MailboxConfig::new(3).policy(OverflowPolicy::Reject)
    }
}

impl Supervised for Recorder {}

#[actix_rt::test]
async fn the_old_start_methods_start_what_they_did() {
    within(async {
        let arbiter = Arbiter::new();
        let handle = arbiter.handle();
        let started = [
            Recorder::start_bounded_in_arbiter(&handle, MailboxConfig::new(2), |_| {
                Recorder::default()
            }),
            Recorder::start_bounded_supervised(MailboxConfig::new(2), |_| Recorder::default()),
            Recorder::start_bounded_supervised_in_arbiter(&handle, MailboxConfig::new(2), |_| {
                Recorder::default()
            }),
            Recorder::default().start_backpressured_with(MailboxConfig::new(2)),
            Recorder::create_backpressured_with(MailboxConfig::new(2), |_| Recorder::default()),
            Recorder::start_backpressured_in_arbiter_with(&handle, MailboxConfig::new(2), |_| {
                Recorder::default()
            }),
            Recorder::start_backpressured_supervised_with(MailboxConfig::new(2), |_| {
                Recorder::default()
            }),
        ];
        for addr in &started {
            assert_eq!((addr.capacity(), addr.name()), (2, "Recorder"));
            assert_eq!(addr.send(Item(5)).await.unwrap(), 5);
        }
        // The resolved configuration (`mailbox_config`, no operator file installed).
        let resolved = [
            Recorder::start_backpressured_in_arbiter(&handle, |_| Recorder::default()),
            Recorder::start_backpressured_supervised(|_| Recorder::default()),
        ];
        for addr in &resolved {
            assert_eq!(
                (addr.capacity(), addr.policy()),
                (3, OverflowPolicy::Reject)
            );
            assert_eq!(addr.send(Item(6)).await.unwrap(), 6);
        }
        arbiter.stop();
    })
    .await;
}
