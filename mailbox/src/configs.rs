//! The operator's configuration: mailbox settings per actor name, from a TOML file.

use crate::MailboxConfig;

/// Applies the installed operator configuration (if any) to `config`, by its name.
pub(crate) fn installed_overrides(config: MailboxConfig) -> MailboxConfig {
    config
}
