//! Upstreams: whatever feeds a watched mailbox, and can be paused while it is saturated.

use std::fmt;
use std::sync::Arc;

use actix::Actor;
use actix_backpressure_mailbox::{BoundedAddr, PauseGate};
use async_trait::async_trait;
use tokio::sync::watch;

/// Something that feeds a watched mailbox and can stop doing so for a while: the supervisor
/// pauses it while the mailbox is saturated and resumes it when the mailbox has recovered.
///
/// An actor behind a bounded mailbox is an upstream through its [`PauseGate`] (pass
/// `&addr` to [`SupervisorHandle::add_upstream`](crate::SupervisorHandle::add_upstream)); other
/// producers — a broker consumer, a socket reader, a task — implement this trait.
///
/// Both methods must be idempotent: the supervisor calls them in order, one at a time for a
/// given upstream, and never two of the same kind in a row, but a restarted supervisor may
/// resume an upstream that is already running. A paused upstream must stop producing and lose
/// nothing: stop *pulling* from its source, rather than pulling and discarding.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// # use actix_backpressure_supervisor as actix_backpressure;
/// use actix_backpressure::{async_trait, Upstream};
///
/// struct Poller {
///     paused: AtomicBool,
/// }
///
/// #[async_trait]
/// impl Upstream for Poller {
///     fn name(&self) -> &str {
///         "poller"
///     }
///
///     async fn pause(&self) {
///         self.paused.store(true, Ordering::SeqCst);
///     }
///
///     async fn resume(&self) {
///         self.paused.store(false, Ordering::SeqCst);
///     }
/// }
/// ```
#[async_trait]
pub trait Upstream: Send + Sync + 'static {
    /// The upstream's name, as in the `upstream` metric label and the decisions. Upstreams
    /// are told apart by name: see [`SupervisorHandle::add_upstream`](crate::SupervisorHandle::add_upstream).
    fn name(&self) -> &str;

    /// Stops producing until [`resume`](Self::resume).
    async fn pause(&self);

    /// Produces again.
    async fn resume(&self);
}

/// An upstream paused through a [`PauseGate`]: an actor's mailbox (its address's
/// [`pause_gate`](BoundedAddr::pause_gate)) or any stream guarded by the gate.
#[derive(Clone)]
pub struct GateUpstream {
    name: Arc<str>,
    gate: PauseGate,
}

impl GateUpstream {
    /// The upstream `name`, paused by `gate`.
    pub fn new(name: &str, gate: PauseGate) -> Self {
        GateUpstream {
            name: Arc::from(name),
            gate,
        }
    }

    /// The gate.
    pub fn gate(&self) -> &PauseGate {
        &self.gate
    }
}

impl fmt::Debug for GateUpstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GateUpstream")
            .field("name", &self.name)
            .field("gate", &self.gate)
            .finish()
    }
}

#[async_trait]
impl Upstream for GateUpstream {
    fn name(&self) -> &str {
        &self.name
    }

    async fn pause(&self) {
        self.gate.pause();
    }

    async fn resume(&self) {
        self.gate.resume();
    }
}

/// What [`SupervisorHandle::add_upstream`](crate::SupervisorHandle::add_upstream) accepts: an
/// [`Upstream`], or `&BoundedAddr` of an actor (paused through its mailbox's gate, named after
/// its mailbox, and not kept alive by the supervisor).
pub trait IntoUpstream {
    /// The upstream, shared.
    fn into_upstream(self) -> Arc<dyn Upstream>;
}

impl<U: Upstream> IntoUpstream for U {
    fn into_upstream(self) -> Arc<dyn Upstream> {
        Arc::new(self)
    }
}

impl<A: Actor> IntoUpstream for &BoundedAddr<A> {
    fn into_upstream(self) -> Arc<dyn Upstream> {
        Arc::new(GateUpstream::new(self.name(), self.pause_gate()))
    }
}

/// Applies the state the supervisor wants for one upstream, in order, one call at a time.
///
/// Runs until the supervisor's side is dropped, and then resumes the upstream if it left it
/// paused: an upstream is never left paused by a supervisor that is gone. If the task itself is
/// dropped while the upstream is paused (its arbiter stopped), the resume is handed to the
/// actix `System`'s arbiter.
pub(crate) async fn apply_states(upstream: Arc<dyn Upstream>, mut wanted: watch::Receiver<bool>) {
    let mut applied = Applied {
        upstream,
        paused: false,
    };
    loop {
        let pause = *wanted.borrow_and_update();
        if pause != applied.paused {
            // Counted as paused from the start of the call: a pause cut short is resumed.
            applied.paused = true;
            if pause {
                applied.upstream.pause().await;
            } else {
                applied.upstream.resume().await;
            }
            applied.paused = pause;
            continue;
        }
        if wanted.changed().await.is_err() {
            if applied.paused {
                applied.upstream.resume().await;
                applied.paused = false;
            }
            return;
        }
    }
}

/// The upstream and what was last applied to it; resumes it elsewhere if dropped paused.
struct Applied {
    upstream: Arc<dyn Upstream>,
    paused: bool,
}

impl Drop for Applied {
    fn drop(&mut self) {
        if !self.paused {
            return;
        }
        let upstream = Arc::clone(&self.upstream);
        if let Some(system) = actix::System::try_current() {
            // Fails only if the system's arbiter is gone too, and everything with it.
            let _ = system
                .arbiter()
                .spawn(async move { upstream.resume().await });
        }
    }
}
