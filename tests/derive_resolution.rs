//! Where a `#[derive(Backpressured)]` actor's mailbox configuration comes from, in order of
//! precedence: spawn-site override > operator configuration (file or environment) for the
//! actor's name > derive attributes > built-in defaults.

mod common;

use actix::prelude::*;
use actix_backpressure::prelude::*;
use actix_backpressure::{
    ConfigFileError, MailboxConfigs, CONFIG_ENV_VAR, DEFAULT_BATCH, DEFAULT_CAPACITY,
};
use common::*;

#[derive(Backpressured)]
#[backpressured(capacity = 8, policy = "reject", batch = 4)]
struct Layered;

impl Actor for Layered {
    type Context = Context<Self>;
}

#[derive(Backpressured)]
#[backpressured(name = "plain-defaults")]
struct Plain;

impl Actor for Plain {
    type Context = Context<Self>;
}

fn summary(config: &MailboxConfig) -> (usize, OverflowPolicy, usize, String) {
    (
        config.get_capacity(),
        config.get_policy(),
        config.get_batch(),
        config.get_name().unwrap_or_default().to_owned(),
    )
}

// One test: the installed configuration is process-wide.
#[actix_rt::test]
async fn each_layer_overrides_the_ones_below() {
    within(async {
        MailboxConfigs::uninstall();
        // Built-in defaults, under a derive that sets only the name.
        assert_eq!(
            summary(&Plain::resolved_mailbox_config()),
            (
                DEFAULT_CAPACITY,
                OverflowPolicy::Block,
                DEFAULT_BATCH,
                "plain-defaults".into()
            )
        );
        // Derive attributes over the defaults; the name defaults to the type's.
        assert_eq!(
            summary(&Layered::resolved_mailbox_config()),
            (8, OverflowPolicy::Reject, 4, "Layered".into())
        );

        // The operator's file replaces what it sets, for that name only.
        let dir = std::env::temp_dir().join(format!("abp-resolution-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("mailboxes.toml");
        std::fs::write(
            &file,
            "[Layered]\ncapacity = 32\n\n[someone-else]\npolicy = \"drop_oldest\"\n",
        )
        .unwrap();
        std::env::set_var(CONFIG_ENV_VAR, &file);
        MailboxConfigs::from_env()
            .unwrap()
            .expect("the variable is set")
            .install();
        assert_eq!(
            summary(&Layered::resolved_mailbox_config()),
            (32, OverflowPolicy::Reject, 4, "Layered".into())
        );
        assert_eq!(
            Plain::resolved_mailbox_config().get_capacity(),
            DEFAULT_CAPACITY
        );
        let addr = Layered.start_backpressured();
        assert_eq!(
            (addr.capacity(), addr.policy(), addr.name()),
            (32, OverflowPolicy::Reject, "Layered")
        );

        // The spawn-site override wins over everything, as it is.
        let addr = Layered.start_bounded(MailboxConfig::new(2));
        assert_eq!(
            (addr.capacity(), addr.policy(), addr.name()),
            (2, OverflowPolicy::Block, "Layered")
        );

        // A bad file is an error naming the file and the key; nothing is installed.
        std::fs::write(&file, "[Layered]\ncapacity = 0\npolcy = \"reject\"\n").unwrap();
        let err: ConfigFileError = MailboxConfigs::from_env().unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&file.display().to_string()), "{text}");
        assert!(
            text.contains("actor `Layered`: `capacity` must be at least 1, got 0"),
            "{text}"
        );
        assert!(
            text.contains(
                "`polcy` unknown key; did you mean `policy`? \
                 expected one of `capacity`, `policy`, `batch`"
            ),
            "{text}"
        );
        assert_eq!(
            Layered::resolved_mailbox_config().get_capacity(),
            32,
            "the old one stays"
        );

        std::env::remove_var(CONFIG_ENV_VAR);
        assert!(MailboxConfigs::from_env().unwrap().is_none());
        MailboxConfigs::uninstall();
        assert_eq!(Layered::resolved_mailbox_config().get_capacity(), 8);
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}
