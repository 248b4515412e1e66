//! The operator's configuration: mailbox settings per actor name, from a TOML file.
//!
//! ```toml
//! # mailboxes.toml
//! [ingest]
//! capacity = 4096
//! policy = "drop_oldest"
//!
//! [parser]
//! batch = 64
//! ```
//!
//! Each table names an actor (its mailbox name) and may set `capacity`, `policy` and `batch`;
//! what it sets replaces the actor's own configuration (see
//! [`Backpressured`](crate::Backpressured) for the whole order of precedence).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::{MailboxConfig, OverflowPolicy};

/// The keys an actor's table may set.
const KEYS: &str = "`capacity`, `policy`, `batch`";

/// The problem with an unknown key, with the key it most likely misspells.
fn unknown_key(key: &str) -> String {
    use actix_backpressure_names::suggest;
    let hint = suggest::closest(key, &["capacity", "policy", "batch"])
        .map(|known| format!("; did you mean `{known}`?"))
        .unwrap_or_else(|| ",".to_owned());
    format!("unknown key{hint} expected one of {KEYS}")
}

/// What the operator's configuration sets for one actor; `None` keeps the actor's own value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxOverrides {
    /// The mailbox's capacity.
    pub capacity: Option<usize>,
    /// The overflow policy.
    pub policy: Option<OverflowPolicy>,
    /// The batch size.
    pub batch: Option<usize>,
}

impl MailboxOverrides {
    /// `config` with the keys set here replaced.
    pub fn apply(&self, mut config: MailboxConfig) -> MailboxConfig {
        if let Some(capacity) = self.capacity {
            config.capacity = capacity;
        }
        if let Some(policy) = self.policy {
            config.policy = policy;
        }
        if let Some(batch) = self.batch {
            config.batch = batch;
        }
        config
    }
}

/// Mailbox settings per actor name, loaded from a TOML file and installed for
/// [`BackpressuredExt`](crate::BackpressuredExt) to use.
///
/// # Examples
///
/// ```
/// # use actix_backpressure_mailbox as actix_backpressure;
/// use actix_backpressure::{MailboxConfig, MailboxConfigs, OverflowPolicy};
///
/// let configs = MailboxConfigs::from_toml_str(
///     "[ingest]\ncapacity = 4096\npolicy = \"drop_oldest\"\n",
///     "mailboxes.toml",
/// )
/// .unwrap();
/// let config = configs.apply(MailboxConfig::new(16).name("ingest"));
/// assert_eq!(config.get_capacity(), 4096);
/// assert_eq!(config.get_policy(), OverflowPolicy::DropOldest);
///
/// let err = MailboxConfigs::from_toml_str("[ingest]\ncapacity = 0\n", "mailboxes.toml").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "mailbox config `mailboxes.toml`: actor `ingest`: `capacity` must be at least 1, got 0"
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailboxConfigs {
    origin: String,
    actors: BTreeMap<String, MailboxOverrides>,
}

/// The environment variable [`MailboxConfigs::from_env`] reads: the path of a TOML file.
pub const CONFIG_ENV_VAR: &str = "ACTIX_BACKPRESSURE_CONFIG";

static INSTALLED: RwLock<Option<Arc<MailboxConfigs>>> = RwLock::new(None);

impl MailboxConfigs {
    /// Reads and checks the TOML file at `path`.
    ///
    /// # Errors
    ///
    /// A [`ConfigFileError`] naming the file: it cannot be read, is not TOML, or sets an
    /// unknown key, an unknown policy, a capacity or batch that is not a positive integer.
    /// Every problem in the file is listed, not just the first.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, ConfigFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Io {
            file: path.to_path_buf(),
            source: Arc::new(source),
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Reads the file named by the environment variable [`CONFIG_ENV_VAR`]
    /// (`ACTIX_BACKPRESSURE_CONFIG`), if it is set.
    ///
    /// # Errors
    ///
    /// As [`from_path`](Self::from_path).
    pub fn from_env() -> Result<Option<Self>, ConfigFileError> {
        match std::env::var_os(CONFIG_ENV_VAR) {
            Some(path) if !path.is_empty() => Self::from_path(PathBuf::from(path)).map(Some),
            _ => Ok(None),
        }
    }

    /// Parses and checks TOML text; `origin` names it in errors (usually the file's path).
    ///
    /// # Errors
    ///
    /// As [`from_path`](Self::from_path).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ConfigFileError> {
        let table: toml::Table =
            text.parse()
                .map_err(|err: toml::de::Error| ConfigFileError::Syntax {
                    file: origin.into(),
                    message: err.message().to_owned(),
                })?;
        let mut problems = Vec::new();
        let mut actors = BTreeMap::new();
        for (actor, value) in table {
            let Some(keys) = value.as_table() else {
                problems.push(format!(
                    "actor `{actor}` must be a table of {KEYS}, got {}",
                    describe(&value)
                ));
                continue;
            };
            let mut overrides = MailboxOverrides::default();
            for (key, value) in keys {
                let problem = match key.as_str() {
                    "capacity" => positive(value)
                        .and_then(|n| match n <= crate::MAX_CAPACITY {
                            true => Ok(n),
                            false => {
                                Err(format!("must be at most {}, got {n}", crate::MAX_CAPACITY))
                            }
                        })
                        .map(|n| overrides.capacity = Some(n)),
                    "batch" => positive(value).map(|n| overrides.batch = Some(n)),
                    "policy" => policy(value).map(|p| overrides.policy = Some(p)),
                    _ => Err(unknown_key(key)),
                };
                if let Err(problem) = problem {
                    problems.push(format!("actor `{actor}`: `{key}` {problem}"));
                }
            }
            actors.insert(actor, overrides);
        }
        if problems.is_empty() {
            Ok(MailboxConfigs {
                origin: origin.into(),
                actors,
            })
        } else {
            Err(ConfigFileError::Invalid {
                file: origin.into(),
                problems,
            })
        }
    }

    /// What this configuration sets for the actor named `actor`.
    pub fn get(&self, actor: &str) -> Option<&MailboxOverrides> {
        self.actors.get(actor)
    }

    /// The actor names this configuration mentions.
    pub fn actors(&self) -> impl Iterator<Item = &str> {
        self.actors.keys().map(String::as_str)
    }

    /// `config` with what this configuration sets for its name replaced.
    pub fn apply(&self, config: MailboxConfig) -> MailboxConfig {
        match config.get_name().and_then(|name| self.actors.get(name)) {
            Some(overrides) => overrides.apply(config),
            None => config,
        }
    }

    /// Makes this the configuration every `start_backpressured` (and sibling) uses from now
    /// on, replacing any installed before. Actors already running keep their mailboxes.
    pub fn install(self) {
        *INSTALLED.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(self));
    }

    /// Removes the installed configuration, if any.
    pub fn uninstall() {
        *INSTALLED.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The installed configuration, if any.
    pub fn installed() -> Option<Arc<MailboxConfigs>> {
        INSTALLED.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Applies the installed operator configuration (if any) to `config`, by its name.
pub(crate) fn installed_overrides(config: MailboxConfig) -> MailboxConfig {
    match MailboxConfigs::installed() {
        Some(configs) => configs.apply(config),
        None => config,
    }
}

fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("the string {s:?}"),
        toml::Value::Integer(n) => format!("the integer {n}"),
        toml::Value::Float(x) => format!("the float {x}"),
        toml::Value::Boolean(b) => format!("the boolean {b}"),
        toml::Value::Datetime(d) => format!("the datetime {d}"),
        toml::Value::Array(_) => "an array".into(),
        toml::Value::Table(_) => "a table".into(),
    }
}

fn positive(value: &toml::Value) -> Result<usize, String> {
    match value.as_integer() {
        Some(n) if n >= 1 => usize::try_from(n).map_err(|_| format!("is too large, got {n}")),
        Some(n) => Err(format!("must be at least 1, got {n}")),
        None => Err(format!(
            "must be an integer of at least 1, got {}",
            describe(value)
        )),
    }
}

fn policy(value: &toml::Value) -> Result<OverflowPolicy, String> {
    match value.as_str() {
        Some(name) => name.parse().map_err(|err| format!("{err}")),
        None => Err(format!(
            "must be one of `block`, `drop_newest`, `drop_oldest`, `reject`, got {}",
            describe(value)
        )),
    }
}

/// A mailbox configuration file that could not be used.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigFileError {
    /// The file could not be read.
    #[error("cannot read mailbox config `{}`: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// Why.
        source: Arc<std::io::Error>,
    },
    /// The file is not valid TOML.
    #[error("mailbox config `{file}` is not valid TOML: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// The file is TOML but sets something wrong.
    #[error("mailbox config `{file}`: {}", Problems(problems))]
    Invalid {
        /// The file.
        file: String,
        /// Each problem, naming the actor and the key.
        problems: Vec<String>,
    },
}

struct Problems<'a>(&'a [String]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> String {
        MailboxConfigs::from_toml_str(text, "m.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_valid_file_sets_what_it_names() {
        let configs = MailboxConfigs::from_toml_str(
            "[ingest]\ncapacity = 10\npolicy = \"reject\"\nbatch = 4\n[parser]\nbatch = 64\n",
            "m.toml",
        )
        .unwrap();
        assert_eq!(configs.actors().collect::<Vec<_>>(), ["ingest", "parser"]);
        let parser = configs.apply(MailboxConfig::new(7).name("parser"));
        assert_eq!((parser.get_capacity(), parser.get_batch()), (7, 64));
        let other = configs.apply(MailboxConfig::new(7).name("other"));
        assert_eq!(other.get_capacity(), 7);
    }

    #[test]
    fn every_problem_is_reported_with_file_actor_key_and_what_is_allowed() {
        let text = "[ingest]\ncapcity = 10\ncapacity = 0\npolicy = \"drop-oldest\"\n[parser]\nbatch = \"4\"\n[x]\npolicy = 3\n[y]\ncapacity = -2\n";
        assert_eq!(
            problems(text),
            "mailbox config `m.toml`: \
             actor `ingest`: `capacity` must be at least 1, got 0; \
             actor `ingest`: `capcity` unknown key; did you mean `capacity`? expected one of `capacity`, `policy`, `batch`; \
             actor `ingest`: `policy` unknown overflow policy `drop-oldest`; did you mean `drop_oldest`? \
             expected one of `block`, `drop_newest`, `drop_oldest`, `reject`; \
             actor `parser`: `batch` must be an integer of at least 1, got the string \"4\"; \
             actor `x`: `policy` must be one of `block`, `drop_newest`, `drop_oldest`, `reject`, got the integer 3; \
             actor `y`: `capacity` must be at least 1, got -2"
        );
    }

    #[test]
    fn syntax_errors_and_non_tables_name_the_file() {
        assert!(problems("[ingest\n").starts_with("mailbox config `m.toml` is not valid TOML: "));
        assert_eq!(
            problems("ingest = 5\n"),
            "mailbox config `m.toml`: actor `ingest` must be a table of `capacity`, `policy`, `batch`, got the integer 5"
        );
    }

    #[test]
    fn capacities_beyond_the_maximum_are_refused() {
        assert_eq!(
            problems("[ingest]\ncapacity = 99999999999\n"),
            format!(
                "mailbox config `m.toml`: actor `ingest`: `capacity` must be at most {}, got 99999999999",
                crate::MAX_CAPACITY
            )
        );
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let err = MailboxConfigs::from_path("/nonexistent/mailboxes.toml").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("cannot read mailbox config `/nonexistent/mailboxes.toml`: "));
    }
}
