//! A sender's own rate limit: a [`BoundedRecipient`](crate::BoundedRecipient) made with
//! [`with_rate_limit`](crate::BoundedRecipient::with_rate_limit) sends through this wrapper,
//! which is the mailbox in every way but one: it has a token bucket of its own
//! ([`Sink::sender_rate`]), taken before the mailbox's (`send.rs`).

use std::sync::{Arc, Weak};

use actix::Message;

use crate::chan::{Refusal, Sink};
use crate::core::Core;
use crate::envelope::MsgEnvelope;
use crate::probe::Observed;
use crate::rate::Limiter;
use crate::room::RoomRegistration;
use crate::OverflowPolicy;

/// The mailbox behind `sink`, with a rate limit for the handles that send through this.
pub(crate) struct Limited<M: Message> {
    sink: Arc<dyn Sink<M>>,
    limiter: Limiter,
}

impl<M: Message> Limited<M> {
    pub(crate) fn new(sink: Arc<dyn Sink<M>>, limiter: Limiter) -> Self {
        Limited { sink, limiter }
    }
}

impl<M: Message + Send> Observed for Limited<M> {
    fn core(&self) -> &Core {
        self.sink.core()
    }

    fn len(&self) -> usize {
        self.sink.len()
    }

    fn capacity(&self) -> usize {
        self.sink.capacity()
    }

    fn is_closed(&self) -> bool {
        self.sink.is_closed()
    }

    fn waiting_senders(&self) -> usize {
        self.sink.waiting_senders()
    }

    fn idle_consumers(&self) -> usize {
        self.sink.idle_consumers()
    }

    fn credits(&self) -> Option<usize> {
        self.sink.credits()
    }

    fn wait_for_room(&self) -> RoomRegistration<'_> {
        self.sink.wait_for_room()
    }
}

impl<M: Message + Send> Sink<M> for Limited<M> {
    fn offer(
        &self,
        env: Box<MsgEnvelope<M>>,
        policy: OverflowPolicy,
    ) -> Result<(), (Box<MsgEnvelope<M>>, Refusal)> {
        self.sink.offer(env, policy)
    }

    fn offer_control(&self, env: Box<MsgEnvelope<M>>) -> Result<(), Box<MsgEnvelope<M>>> {
        self.sink.offer_control(env)
    }

    fn set_policy(&self, policy: OverflowPolicy) {
        self.sink.set_policy(policy);
    }

    fn set_capacity(&self, capacity: usize) {
        self.sink.set_capacity(capacity);
    }

    fn add_sender(&self) {
        self.sink.add_sender();
    }

    fn try_add_sender(&self) -> bool {
        self.sink.try_add_sender()
    }

    fn remove_sender(&self) {
        self.sink.remove_sender();
    }

    fn observed(self: Arc<Self>) -> Weak<dyn Observed> {
        Arc::clone(&self.sink).observed()
    }

    fn mailbox(&self) -> *const () {
        self.sink.mailbox()
    }

    fn sender_rate(&self) -> Option<&Limiter> {
        Some(&self.limiter)
    }
}
