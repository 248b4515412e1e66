//! Starting actors behind a bounded mailbox, plain or supervised.

use std::fmt;
use std::sync::Arc;

use actix::{Actor, ArbiterHandle, AsyncContext, Context, Supervised};

use crate::chan::Chan;
use crate::config::short_type_name;
use crate::driver::Driver;
use crate::supervisor::BoundedSupervisor;
use crate::{BoundedAddr, ConfigError, MailboxConfig, WeakBoundedAddr};

/// Starts actors behind a bounded mailbox. Implemented for every actor whose context is
/// actix's [`Context`].
///
/// Three ways, on the current arbiter: [`start_bounded`](Self::start_bounded),
/// [`try_start_bounded`](Self::try_start_bounded) and [`create_bounded`](Self::create_bounded).
/// For anything else (another arbiter, supervision, the actor's own weak address) make the
/// mailbox first with [`BoundedMailbox`], then start the actor on it.
///
/// Every method returns the actor's [`BoundedAddr`]. The actor keeps actix's own address too
/// (`ctx.address()`), but messages sent there **bypass the bound**: they go to actix's native
/// mailbox, uncounted. For the actor to hold a handle to its own bounded mailbox, make the
/// mailbox first with [`BoundedMailbox`] and give the actor its
/// [`downgrade`](BoundedMailbox::downgrade).
///
/// # Panics
///
/// The methods without `try_` panic when the configuration is invalid (see
/// [`MailboxConfig::validate`]), like `tokio::sync::mpsc::channel(0)`; use
/// [`try_start_bounded`](Self::try_start_bounded) to get a [`ConfigError`] instead. Like
/// actix's own `start`, the methods that start on the current thread need a running actix
/// `System`.
///
/// # Examples
///
/// ```
/// use actix::prelude::*;
/// # use actix_backpressure_mailbox as actix_backpressure;
/// use actix_backpressure::{BoundedActorExt, MailboxConfig, OverflowPolicy};
///
/// struct Counter(u64);
/// impl Actor for Counter {
///     type Context = Context<Self>;
/// }
///
/// #[derive(Message)]
/// #[rtype(result = "u64")]
/// struct Add(u64);
///
/// impl Handler<Add> for Counter {
///     type Result = u64;
///     fn handle(&mut self, Add(n): Add, _: &mut Context<Self>) -> u64 {
///         self.0 += n;
///         self.0
///     }
/// }
///
/// # fn main() {
/// System::new().block_on(async {
///     let addr = Counter(0).start_bounded(MailboxConfig::new(8).policy(OverflowPolicy::Reject));
///     addr.tell(Add(2)).await.unwrap();
///     assert_eq!(addr.send(Add(3)).await.unwrap(), 5);
/// });
/// # }
/// ```
pub trait BoundedActorExt: Actor<Context = Context<Self>> + Sized {
    /// Starts the actor on the current arbiter behind a bounded mailbox.
    ///
    /// # Panics
    ///
    /// If `config` is invalid, or outside a running actix `System`.
    fn start_bounded(self, config: MailboxConfig) -> BoundedAddr<Self> {
        Self::create_bounded(config, |_| self)
    }

    /// Starts the actor on the current arbiter behind a bounded mailbox.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming what is wrong with `config`; the actor is not started.
    ///
    /// # Panics
    ///
    /// Outside a running actix `System`.
    fn try_start_bounded(self, config: MailboxConfig) -> Result<BoundedAddr<Self>, ConfigError> {
        Ok(BoundedMailbox::new(config)?.start(self))
    }

    /// Starts the actor made by `f`, which gets the actor's context first (as with actix's
    /// `Actor::create`).
    ///
    /// # Panics
    ///
    /// If `config` is invalid, or outside a running actix `System`.
    fn create_bounded<F>(config: MailboxConfig, f: F) -> BoundedAddr<Self>
    where
        F: FnOnce(&mut Context<Self>) -> Self,
    {
        expect_valid::<Self>(config).create(f)
    }

    /// Starts the actor made by `f` on another arbiter.
    ///
    /// # Panics
    ///
    /// If `config` is invalid.
    #[deprecated(
        since = "0.1.1",
        note = "use `BoundedMailbox::new(config)?.start_in_arbiter(arbiter, f)`"
    )]
    fn start_bounded_in_arbiter<F>(
        arbiter: &ArbiterHandle,
        config: MailboxConfig,
        f: F,
    ) -> BoundedAddr<Self>
    where
        F: FnOnce(&mut Context<Self>) -> Self + Send + 'static,
    {
        expect_valid::<Self>(config).start_in_arbiter(arbiter, f)
    }

    /// Starts the actor made by `f` under supervision; see
    /// [`BoundedMailbox::start_supervised`].
    ///
    /// # Panics
    ///
    /// If `config` is invalid, or outside a running actix `System`.
    #[deprecated(
        since = "0.1.1",
        note = "use `BoundedMailbox::new(config)?.start_supervised(f)`"
    )]
    fn start_bounded_supervised<F>(config: MailboxConfig, f: F) -> BoundedAddr<Self>
    where
        Self: Supervised,
        F: FnOnce(&mut Context<Self>) -> Self,
    {
        expect_valid::<Self>(config).start_supervised(f)
    }

    /// Starts the actor made by `f` under supervision on another arbiter.
    ///
    /// # Panics
    ///
    /// If `config` is invalid.
    #[deprecated(
        since = "0.1.1",
        note = "use `BoundedMailbox::new(config)?.start_supervised_in_arbiter(arbiter, f)`"
    )]
    fn start_bounded_supervised_in_arbiter<F>(
        arbiter: &ArbiterHandle,
        config: MailboxConfig,
        f: F,
    ) -> BoundedAddr<Self>
    where
        Self: Supervised,
        F: FnOnce(&mut Context<Self>) -> Self + Send + 'static,
    {
        expect_valid::<Self>(config).start_supervised_in_arbiter(arbiter, f)
    }
}

impl<A> BoundedActorExt for A where A: Actor<Context = Context<A>> {}

/// A bounded mailbox made before its actor, as actix's `Context::new()` is: take its
/// addresses first, then start the actor with them.
///
/// This is how an actor gets a handle to its own bounded mailbox: give it a
/// [`WeakBoundedAddr`] from [`downgrade`](Self::downgrade), which does not keep it alive
/// (a [`BoundedAddr`] of itself would: it would never stop for lack of senders). Its
/// actix address, `ctx.address()`, bypasses the bound (see [`BoundedAddr`]).
///
/// Dropping a `BoundedMailbox` without starting it closes the mailbox: its addresses then
/// refuse messages with `Closed`.
///
/// # Examples
///
/// ```
/// use actix::prelude::*;
/// # use actix_backpressure_mailbox as actix_backpressure;
/// use actix_backpressure::{BoundedMailbox, MailboxConfig, WeakBoundedAddr};
///
/// /// Counts down to 0 by sending itself `Tick`s through its own bounded mailbox.
/// struct Countdown {
///     me: WeakBoundedAddr<Countdown>,
/// }
/// impl Actor for Countdown {
///     type Context = Context<Self>;
/// }
///
/// #[derive(Message)]
/// #[rtype(result = "()")]
/// struct Tick(u32);
///
/// impl Handler<Tick> for Countdown {
///     type Result = ();
///     fn handle(&mut self, Tick(n): Tick, ctx: &mut Context<Self>) {
///         match self.me.upgrade() {
///             Some(me) if n > 0 => me.do_send(Tick(n - 1)),
///             _ => ctx.stop(),
///         }
///     }
/// }
///
/// System::new().block_on(async {
///     let mailbox = BoundedMailbox::new(MailboxConfig::new(4)).unwrap();
///     let me = mailbox.downgrade();
///     let addr = mailbox.start(Countdown { me });
///     addr.tell(Tick(3)).await.unwrap();
/// });
/// ```
pub struct BoundedMailbox<A: Actor<Context = Context<A>>> {
    addr: BoundedAddr<A>,
    driver: Driver<A>,
}

impl<A> BoundedMailbox<A>
where
    A: Actor<Context = Context<A>>,
{
    /// A mailbox with `config`, named after `A` unless the configuration names it.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming what is wrong with `config`.
    pub fn new(config: MailboxConfig) -> Result<Self, ConfigError> {
        let config = match config.name {
            Some(_) => config,
            None => config.name(&short_type_name::<A>()),
        };
        config.validate()?;
        let metrics = config.metrics;
        let chan = Arc::new(Chan::new(config));
        if metrics {
            crate::metrics::register(register_handle(&chan), chan.counters());
        }
        Ok(BoundedMailbox {
            addr: BoundedAddr::from_chan(Arc::clone(&chan)),
            driver: Driver::new(chan),
        })
    }

    /// An address of the mailbox, which keeps the actor alive once it runs.
    pub fn address(&self) -> BoundedAddr<A> {
        self.addr.clone()
    }

    /// The mailbox's [`Demand`](crate::Demand), if it was made with
    /// [`MailboxConfig::demand`]: the handle to give the actor, which grants room with it.
    pub fn demand(&self) -> Option<crate::Demand> {
        self.addr.demand()
    }

    /// A weak address of the mailbox, which does not keep the actor alive: the one to give
    /// the actor itself.
    pub fn downgrade(&self) -> WeakBoundedAddr<A> {
        self.addr.downgrade()
    }

    /// Starts `actor` on the current arbiter, draining this mailbox.
    ///
    /// # Panics
    ///
    /// Outside a running actix `System`.
    pub fn start(self, actor: A) -> BoundedAddr<A> {
        self.create(|_| actor)
    }

    /// Starts the actor made by `f`, which gets the actor's context first (as with actix's
    /// `Actor::create`), on the current arbiter.
    ///
    /// # Panics
    ///
    /// Outside a running actix `System`.
    pub fn create<F>(self, f: F) -> BoundedAddr<A>
    where
        F: FnOnce(&mut Context<A>) -> A,
    {
        let mut ctx = Context::new();
        let act = f(&mut ctx);
        ctx.spawn(self.driver);
        actix_rt::spawn(ctx.into_future(act));
        self.addr
    }

    /// Starts the actor made by `f` on another arbiter.
    ///
    /// If the arbiter has already stopped, the actor never starts and the returned address is
    /// closed: sends fail with `Closed`.
    pub fn start_in_arbiter<F>(self, arbiter: &ArbiterHandle, f: F) -> BoundedAddr<A>
    where
        F: FnOnce(&mut Context<A>) -> A + Send + 'static,
    {
        let driver = self.driver;
        // If the arbiter is gone the closure is dropped unrun, and with it the driver, which
        // closes the mailbox.
        arbiter.spawn_fn(move || {
            let mut ctx = Context::new();
            let act = f(&mut ctx);
            ctx.spawn(driver);
            actix_rt::spawn(ctx.into_future(act));
        });
        self.addr
    }

    /// Starts the actor made by `f` under supervision, on the current arbiter: when it stops
    /// while any of its bounded addresses is alive, it is restarted
    /// (`Supervised::restarting`, then `started`) and goes on with the **same queue**; queued
    /// messages are not lost.
    ///
    /// # Panics
    ///
    /// Outside a running actix `System`.
    pub fn start_supervised<F>(self, f: F) -> BoundedAddr<A>
    where
        A: Supervised,
        F: FnOnce(&mut Context<A>) -> A,
    {
        actix_rt::spawn(BoundedSupervisor::new(self.driver, f));
        self.addr
    }

    /// Starts the actor made by `f` under supervision on another arbiter.
    pub fn start_supervised_in_arbiter<F>(self, arbiter: &ArbiterHandle, f: F) -> BoundedAddr<A>
    where
        A: Supervised,
        F: FnOnce(&mut Context<A>) -> A + Send + 'static,
    {
        let driver = self.driver;
        arbiter.spawn_fn(move || {
            actix_rt::spawn(BoundedSupervisor::new(driver, f));
        });
        self.addr
    }
}

impl<A> fmt::Debug for BoundedMailbox<A>
where
    A: Actor<Context = Context<A>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedMailbox")
            .field("addr", &self.addr)
            .finish()
    }
}

fn expect_valid<A>(config: MailboxConfig) -> BoundedMailbox<A>
where
    A: Actor<Context = Context<A>>,
{
    BoundedMailbox::new(config).unwrap_or_else(|err| panic!("actix-backpressure: {err}"))
}

pub(crate) fn register_handle<A: Actor>(
    chan: &Arc<Chan<A>>,
) -> std::sync::Weak<dyn crate::probe::Observed> {
    let weak: std::sync::Weak<dyn crate::probe::Observed> = Arc::downgrade(chan) as _;
    weak
}
