//! Both preludes glob-import side by side: every name of ours resolves, none is ambiguous.
#![allow(unused_imports)]

use actix::prelude::*;
use actix_backpressure::prelude::*;
use actix_backpressure::{SendError, TrySendError};

struct Echo;

impl Actor for Echo {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "u32")]
struct Ping(u32);

impl Handler<Ping> for Echo {
    type Result = u32;

    fn handle(&mut self, Ping(n): Ping, _: &mut Context<Self>) -> u32 {
        n
    }
}

#[actix_rt::test]
async fn every_prelude_name_resolves_beside_actix_prelude() {
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let config: MailboxConfig = MailboxConfig::new(2).policy(OverflowPolicy::Reject);
        let addr: BoundedAddr<Echo> = Echo.start_bounded(config);
        let recipient: BoundedRecipient<Ping> = addr.clone().recipient();
        let request: BoundedRequest<Ping> = recipient.send(Ping(3));
        let response: Result<u32, SendError<Ping>> = request.await;
        assert_eq!(response.unwrap(), 3);
        let tell: BoundedTell<Ping> = addr.tell(Ping(4));
        tell.await.unwrap();
        let refused: Result<(), TrySendError<Ping>> = addr.try_send(Ping(5));
        assert!(refused.is_ok());
        let stats: MailboxStats = addr.stats();
        assert_eq!(stats.enqueued, 3);
        let weak: WeakBoundedAddr<Echo> = addr.downgrade();
        let weak_recipient: WeakBoundedRecipient<Ping> = weak.recipient();
        assert!(weak_recipient.upgrade().is_some());
        let _: Option<BoundedMailbox<Echo>> = None;
        let _: Option<(DropReason, PauseGate, ConfigError, MailboxConfigs)> = None;
        let _: Option<(PressurePolicy, HpaScaling, Box<dyn Upstream>)> = None;
        // actix's own names are actix's: a native address still works beside ours.
        let native: Addr<Echo> = Echo.start();
        assert_eq!(native.send(Ping(6)).await.unwrap(), 6);
    })
    .await
    .expect("test timed out");
}
