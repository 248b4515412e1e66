//! Loom model checks of the capacity switch in `queue.rs`: a sender racing with a switch
//! lands in the old queue (and is carried over) or the new one, never nowhere; a close racing
//! with a switch closes the mailbox for good.

use concurrent_queue::PushError;
use loom::sync::Arc;
use loom::thread;

use crate::queue::MailboxQueue;

#[test]
fn loom_a_send_racing_a_switch_is_kept() {
    for (from, to) in [(2, 1), (1, 2)] {
        loom::model(move || {
            let queue = Arc::new(MailboxQueue::bounded(from));
            queue.push(1).unwrap();
            let sender = {
                let queue = Arc::clone(&queue);
                thread::spawn(move || match queue.push(2) {
                    Ok(()) => true,
                    Err(PushError::Full(_)) => false,
                    Err(PushError::Closed(_)) => {
                        panic!("a send racing a switch saw the mailbox closed")
                    }
                })
            };
            queue.request_capacity(to);
            assert!(queue.apply_requested_capacity(false).is_empty());
            let pushed = sender.join().unwrap();
            let mut got = Vec::new();
            while let Ok(value) = queue.pop() {
                got.push(value);
            }
            // Shrinking to 1 with the queue full: the send may be refused as `Full`.
            let expected: &[i32] = if pushed { &[1, 2] } else { &[1] };
            assert_eq!(got, expected, "from {from} to {to}");
        });
    }
}

#[test]
fn loom_a_close_racing_a_switch_holds() {
    loom::model(|| {
        let queue = Arc::new(MailboxQueue::<i32>::bounded(1));
        let closer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || queue.close())
        };
        queue.request_capacity(2);
        queue.apply_requested_capacity(false);
        closer.join().unwrap();
        assert!(queue.is_closed());
        assert!(queue.push(3).is_err());
    });
}
