//! Starting actors behind a bounded mailbox, plain or supervised.

use std::sync::Arc;

use actix::{Actor, ArbiterHandle, AsyncContext, Context, Supervised};

use crate::chan::Chan;
use crate::config::short_type_name;
use crate::driver::Driver;
use crate::supervisor::BoundedSupervisor;
use crate::{BoundedAddr, ConfigError, MailboxConfig};

/// Starts actors behind a bounded mailbox. Implemented for every actor whose context is
/// actix's [`Context`].
///
/// Every method returns the actor's [`BoundedAddr`]. The actor keeps actix's own address too
/// (`ctx.address()`), but messages sent there bypass the bound.
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
/// use actix_backpressure_mailbox::{BoundedActorExt, MailboxConfig, OverflowPolicy};
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
        let (addr, driver) = channel::<Self>(config)?;
        let mut ctx = Context::new();
        ctx.spawn(driver);
        actix_rt::spawn(ctx.into_future(self));
        Ok(addr)
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
        let (addr, driver) = expect_valid::<Self>(config);
        let mut ctx = Context::new();
        let act = f(&mut ctx);
        ctx.spawn(driver);
        actix_rt::spawn(ctx.into_future(act));
        addr
    }

    /// Starts the actor made by `f` on another arbiter.
    ///
    /// If the arbiter has already stopped, the actor never starts and the returned address is
    /// closed: sends fail with `Closed`.
    ///
    /// # Panics
    ///
    /// If `config` is invalid.
    fn start_bounded_in_arbiter<F>(
        arbiter: &ArbiterHandle,
        config: MailboxConfig,
        f: F,
    ) -> BoundedAddr<Self>
    where
        F: FnOnce(&mut Context<Self>) -> Self + Send + 'static,
    {
        let (addr, driver) = expect_valid::<Self>(config);
        // If the arbiter is gone the closure is dropped unrun, and with it the driver, which
        // closes the mailbox.
        arbiter.spawn_fn(move || {
            let mut ctx = Context::new();
            let act = f(&mut ctx);
            ctx.spawn(driver);
            actix_rt::spawn(ctx.into_future(act));
        });
        addr
    }

    /// Starts the actor made by `f` under supervision: when it stops while any of its bounded
    /// addresses is alive, it is restarted (`Supervised::restarting`, then `started`) and goes
    /// on with the **same queue**; queued messages are not lost.
    ///
    /// # Panics
    ///
    /// If `config` is invalid, or outside a running actix `System`.
    fn start_bounded_supervised<F>(config: MailboxConfig, f: F) -> BoundedAddr<Self>
    where
        Self: Supervised,
        F: FnOnce(&mut Context<Self>) -> Self,
    {
        let (addr, driver) = expect_valid::<Self>(config);
        actix_rt::spawn(BoundedSupervisor::new(driver, f));
        addr
    }

    /// [`start_bounded_supervised`](Self::start_bounded_supervised) on another arbiter.
    ///
    /// # Panics
    ///
    /// If `config` is invalid.
    fn start_bounded_supervised_in_arbiter<F>(
        arbiter: &ArbiterHandle,
        config: MailboxConfig,
        f: F,
    ) -> BoundedAddr<Self>
    where
        Self: Supervised,
        F: FnOnce(&mut Context<Self>) -> Self + Send + 'static,
    {
        let (addr, driver) = expect_valid::<Self>(config);
        arbiter.spawn_fn(move || {
            actix_rt::spawn(BoundedSupervisor::new(driver, f));
        });
        addr
    }
}

impl<A> BoundedActorExt for A where A: Actor<Context = Context<A>> {}

/// A new mailbox for `A`: its first address and the driver to spawn in the actor's context.
fn channel<A>(config: MailboxConfig) -> Result<(BoundedAddr<A>, Driver<A>), ConfigError>
where
    A: Actor<Context = Context<A>>,
{
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
    Ok((BoundedAddr::from_chan(Arc::clone(&chan)), Driver::new(chan)))
}

fn expect_valid<A>(config: MailboxConfig) -> (BoundedAddr<A>, Driver<A>)
where
    A: Actor<Context = Context<A>>,
{
    channel::<A>(config).unwrap_or_else(|err| panic!("actix-backpressure: {err}"))
}

pub(crate) fn register_handle<A: Actor>(
    chan: &Arc<Chan<A>>,
) -> std::sync::Weak<dyn crate::probe::Observed> {
    let weak: std::sync::Weak<dyn crate::probe::Observed> = Arc::downgrade(chan) as _;
    weak
}
