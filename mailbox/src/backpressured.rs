//! Actors that carry their own mailbox configuration: `#[derive(Backpressured)]`.

use actix::{Actor, ArbiterHandle, Context, Supervised};

use crate::{BoundedActorExt, BoundedAddr, BoundedMailbox, ConfigError, MailboxConfig};

/// An actor that knows its mailbox: usually implemented by `#[derive(Backpressured)]`
/// (from the `actix-backpressure` crate), whose attributes set the configuration.
///
/// Start it with [`BackpressuredExt`]. The configuration used is, from the highest precedence:
///
/// 1. a spawn-site override: [`BoundedActorExt`] and [`BoundedMailbox::new`] use `config` as
///    it is;
/// 2. the operator's configuration for the actor's name, if one is installed (see
///    [`MailboxConfigs`](crate::MailboxConfigs)): the keys it sets replace those below;
/// 3. [`mailbox_config`](Self::mailbox_config): the derive's attributes;
/// 4. the built-in defaults ([`MailboxConfig::default`]): capacity
///    [`DEFAULT_CAPACITY`](crate::DEFAULT_CAPACITY), `Block`, batch
///    [`DEFAULT_BATCH`](crate::DEFAULT_BATCH), the type's name.
pub trait Backpressured: Actor<Context = Context<Self>> + Sized {
    /// The actor's own mailbox configuration (its derive attributes over the defaults).
    fn mailbox_config() -> MailboxConfig;
}

/// Starts [`Backpressured`] actors with their resolved configuration.
///
/// [`start_backpressured`](Self::start_backpressured),
/// [`try_start_backpressured`](Self::try_start_backpressured) and
/// [`create_backpressured`](Self::create_backpressured) start the actor on the current
/// arbiter; [`backpressured_mailbox`](Self::backpressured_mailbox) gives its
/// [`BoundedMailbox`] for anything else (another arbiter, supervision, a weak address of
/// itself). With a spawn-site configuration instead, use [`BoundedActorExt`] or
/// [`BoundedMailbox::new`].
///
/// # Panics
///
/// The methods without `try_` panic when the resolved configuration is invalid, as
/// [`BoundedActorExt`]'s do. The derive refuses invalid attributes at compile time, and the
/// operator's file checks each key when it is loaded; what depends on the actor's own settings
/// too (credits or demand under `drop_oldest`, a credit refill above the capacity, demand with
/// credits) is only known once they meet: check
/// [`resolved_mailbox_config`](Self::resolved_mailbox_config)`().validate()` at startup, or
/// use the `try_` methods, to refuse it without a panic.
pub trait BackpressuredExt: Backpressured {
    /// The configuration this actor starts with: the operator's configuration for its name
    /// over [`Backpressured::mailbox_config`].
    fn resolved_mailbox_config() -> MailboxConfig {
        let config = named::<Self>(Self::mailbox_config());
        crate::configs::installed_overrides(config)
    }

    /// The actor's mailbox with its resolved configuration, to start the actor on (see
    /// [`BoundedMailbox`]).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if the resolved configuration is invalid.
    fn backpressured_mailbox() -> Result<BoundedMailbox<Self>, ConfigError> {
        BoundedMailbox::new(Self::resolved_mailbox_config())
    }

    /// Starts the actor on the current arbiter with its resolved configuration.
    fn start_backpressured(self) -> BoundedAddr<Self> {
        self.start_bounded(Self::resolved_mailbox_config())
    }

    /// Starts the actor with its resolved configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if the resolved configuration is invalid.
    fn try_start_backpressured(self) -> Result<BoundedAddr<Self>, ConfigError> {
        self.try_start_bounded(Self::resolved_mailbox_config())
    }

    /// Starts the actor made by `f` with its resolved configuration.
    fn create_backpressured<F>(f: F) -> BoundedAddr<Self>
    where
        F: FnOnce(&mut Context<Self>) -> Self,
    {
        Self::create_bounded(Self::resolved_mailbox_config(), f)
    }

    /// Starts the actor with `config` exactly (a spawn-site override).
    #[deprecated(
        since = "0.1.1",
        note = "use `start_bounded(config)` (`BoundedActorExt`)"
    )]
    fn start_backpressured_with(self, config: MailboxConfig) -> BoundedAddr<Self> {
        self.start_bounded(config)
    }

    /// Starts the actor made by `f` with `config` exactly.
    #[deprecated(
        since = "0.1.1",
        note = "use `create_bounded(config, f)` (`BoundedActorExt`)"
    )]
    fn create_backpressured_with<F>(config: MailboxConfig, f: F) -> BoundedAddr<Self>
    where
        F: FnOnce(&mut Context<Self>) -> Self,
    {
        Self::create_bounded(config, f)
    }

    /// Starts the actor made by `f` on another arbiter with its resolved configuration.
    #[deprecated(
        since = "0.1.1",
        note = "use `backpressured_mailbox()?.start_in_arbiter(arbiter, f)`"
    )]
    fn start_backpressured_in_arbiter<F>(arbiter: &ArbiterHandle, f: F) -> BoundedAddr<Self>
    where
        F: FnOnce(&mut Context<Self>) -> Self + Send + 'static,
    {
        expect_valid(Self::backpressured_mailbox()).start_in_arbiter(arbiter, f)
    }

    /// Starts the actor made by `f` on another arbiter with `config` exactly.
    #[deprecated(
        since = "0.1.1",
        note = "use `BoundedMailbox::new(config)?.start_in_arbiter(arbiter, f)`"
    )]
    fn start_backpressured_in_arbiter_with<F>(
        arbiter: &ArbiterHandle,
        config: MailboxConfig,
        f: F,
    ) -> BoundedAddr<Self>
    where
        F: FnOnce(&mut Context<Self>) -> Self + Send + 'static,
    {
        expect_valid(BoundedMailbox::new(config)).start_in_arbiter(arbiter, f)
    }

    /// Starts the actor made by `f` under supervision (restarts keep the queue) with its
    /// resolved configuration.
    #[deprecated(
        since = "0.1.1",
        note = "use `backpressured_mailbox()?.start_supervised(f)`"
    )]
    fn start_backpressured_supervised<F>(f: F) -> BoundedAddr<Self>
    where
        Self: Supervised,
        F: FnOnce(&mut Context<Self>) -> Self,
    {
        expect_valid(Self::backpressured_mailbox()).start_supervised(f)
    }

    /// Starts the actor made by `f` under supervision with `config` exactly.
    #[deprecated(
        since = "0.1.1",
        note = "use `BoundedMailbox::new(config)?.start_supervised(f)`"
    )]
    fn start_backpressured_supervised_with<F>(config: MailboxConfig, f: F) -> BoundedAddr<Self>
    where
        Self: Supervised,
        F: FnOnce(&mut Context<Self>) -> Self,
    {
        expect_valid(BoundedMailbox::new(config)).start_supervised(f)
    }
}

impl<A: Backpressured> BackpressuredExt for A {}

/// `config`, named after `A` if it has no name.
fn named<A>(config: MailboxConfig) -> MailboxConfig {
    match config.name {
        Some(_) => config,
        None => config.name(&crate::config::short_type_name::<A>()),
    }
}

fn expect_valid<A>(mailbox: Result<BoundedMailbox<A>, ConfigError>) -> BoundedMailbox<A>
where
    A: Actor<Context = Context<A>>,
{
    mailbox.unwrap_or_else(|err| panic!("actix-backpressure: {err}"))
}
