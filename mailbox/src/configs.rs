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
//! credits = 16                                   # a credit window, refilled 16 at a time
//! ttl = "250ms"                                  # shed what waited longer
//! rate_limit = { count = 100, per = "1s", burst = 10 }
//! sojourn = { target = "5ms", interval = "100ms" } # add `control_law = true` for CoDel's
//! ```
//!
//! Each table names an actor (its mailbox name) and may set `capacity`, `policy`, `batch`,
//! `credits`, `ttl`, `rate_limit` and `sojourn`; what it sets replaces the actor's own
//! configuration (see [`Backpressured`](crate::Backpressured) for the whole order of
//! precedence). Durations are strings of a number and a unit: `ns`, `us`, `ms`, `s`, `m`, `h`.
//! What depends on several keys, or on the actor's own configuration (credits or demand under
//! `drop_oldest`, a refill above the capacity, credits on a demand-driven mailbox), is checked
//! when the actor starts, as for a configuration in code.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::{MailboxConfig, OverflowPolicy, RateLimit, Sojourn};

/// The keys an actor's table may set.
const KEY_NAMES: [&str; 7] = [
    "capacity",
    "policy",
    "batch",
    "credits",
    "ttl",
    "rate_limit",
    "sojourn",
];

/// [`KEY_NAMES`], for messages: "`capacity`, `policy`, ...".
fn keys() -> String {
    quoted(&KEY_NAMES)
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The problem with an unknown key, with the key it most likely misspells.
fn unknown_key(key: &str) -> String {
    use actix_backpressure_names::suggest;
    let hint = suggest::closest(key, &KEY_NAMES)
        .map(|known| format!("; did you mean `{known}`?"))
        .unwrap_or_else(|| ",".to_owned());
    format!("unknown key{hint} expected one of {}", keys())
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
    /// The credit refill batch ([`MailboxConfig::credits`]).
    pub credits: Option<usize>,
    /// The time to live of a queued message ([`MailboxConfig::ttl`]).
    pub ttl: Option<Duration>,
    /// The rate limit ([`MailboxConfig::rate_limit`]).
    pub rate_limit: Option<RateLimit>,
    /// The sojourn rule ([`MailboxConfig::sojourn`]).
    pub sojourn: Option<Sojourn>,
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
        if let Some(refill) = self.credits {
            config.refill = Some(refill);
        }
        if let Some(ttl) = self.ttl {
            config.ttl = Some(ttl);
        }
        if let Some(limit) = self.rate_limit {
            config.rate = Some(limit);
        }
        if let Some(sojourn) = self.sojourn {
            config.sojourn = Some(sojourn);
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
    /// unknown key, an unknown policy, a capacity, batch or credit refill that is not a
    /// positive integer, a duration that is not a positive number with a unit, a rate limit
    /// or sojourn rule that is not a table of its keys.
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
                    "actor `{actor}` must be a table of {}, got {}",
                    keys(),
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
                    "credits" => positive(value).map(|n| overrides.credits = Some(n)),
                    "ttl" => duration(value).map(|d| overrides.ttl = Some(d)),
                    "rate_limit" => rate_limit(value).map(|r| overrides.rate_limit = Some(r)),
                    "sojourn" => sojourn(value).map(|r| overrides.sojourn = Some(r)),
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

/// A duration: a string of a positive number and a unit (`"250ms"`, `"1.5s"`).
fn duration(value: &toml::Value) -> Result<Duration, String> {
    use actix_backpressure_names::{parse_duration, DurationProblem};
    let text = value.as_str();
    match text.map(parse_duration) {
        Some(Ok(duration)) => Ok(duration),
        Some(Err(DurationProblem::Zero)) => Err(format!(
            "must be above zero, got {:?}",
            text.unwrap_or_default()
        )),
        _ => Err(format!(
            "must be a duration such as \"250ms\" or \"1.5s\" (units ns, us, ms, s, m, h), got {}",
            describe(value)
        )),
    }
}

/// A table value whose keys are all among `keys`; `example` shows one in errors.
fn table_of<'a>(
    value: &'a toml::Value,
    keys: &[&str],
    example: &str,
) -> Result<&'a toml::Table, String> {
    let table = value
        .as_table()
        .ok_or_else(|| format!("must be a table such as {example}, got {}", describe(value)))?;
    match table.keys().find(|key| !keys.contains(&key.as_str())) {
        Some(key) => Err(format!(
            "has an unknown key `{key}`; expected {}",
            quoted(keys)
        )),
        None => Ok(table),
    }
}

/// `{ count = 100, per = "1s", burst = 10 }`: `per` defaults to a second, `burst` to 1.
fn rate_limit(value: &toml::Value) -> Result<RateLimit, String> {
    const EXAMPLE: &str = "{ count = 100, per = \"1s\", burst = 10 }";
    let table = table_of(value, &["count", "per", "burst"], EXAMPLE)?;
    let count = |key: &str| -> Result<Option<u32>, String> {
        table
            .get(key)
            .map(|v| {
                positive(v)
                    .and_then(|n| u32::try_from(n).map_err(|_| format!("is too large, got {n}")))
            })
            .transpose()
            .map_err(|problem| format!("`{key}` {problem}"))
    };
    let n = count("count")?.ok_or_else(|| format!("needs a `count`, e.g. {EXAMPLE}"))?;
    let per = match table.get("per") {
        Some(v) => duration(v).map_err(|problem| format!("`per` {problem}"))?,
        None => Duration::from_secs(1),
    };
    let limit = RateLimit::new(n, per).burst(count("burst")?.unwrap_or(1));
    if limit.is_valid() {
        Ok(limit)
    } else {
        Err(format!(
            "is out of range: {n} per {per:?} must leave from a nanosecond to 584 years between \
             two messages"
        ))
    }
}

/// `{ target = "5ms", interval = "100ms", control_law = false }`; both durations are needed.
fn sojourn(value: &toml::Value) -> Result<Sojourn, String> {
    const EXAMPLE: &str = "{ target = \"5ms\", interval = \"100ms\" }";
    let table = table_of(value, &["target", "interval", "control_law"], EXAMPLE)?;
    let get = |key: &str| -> Result<Duration, String> {
        let v = table
            .get(key)
            .ok_or_else(|| format!("needs a `{key}`, e.g. {EXAMPLE}"))?;
        duration(v).map_err(|problem| format!("`{key}` {problem}"))
    };
    let (target, interval) = (get("target")?, get("interval")?);
    if target >= interval {
        return Err(format!(
            "needs a target below its interval, got target {target:?}, interval {interval:?}"
        ));
    }
    match table.get("control_law") {
        None => Ok(Sojourn::new(target, interval)),
        Some(toml::Value::Boolean(true)) => Ok(Sojourn::codel(target, interval)),
        Some(toml::Value::Boolean(false)) => Ok(Sojourn::new(target, interval)),
        Some(other) => Err(format!(
            "`control_law` must be true or false, got {}",
            describe(other)
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
             actor `ingest`: `capcity` unknown key; did you mean `capacity`? expected one of `capacity`, `policy`, `batch`, `credits`, `ttl`, `rate_limit`, `sojourn`; \
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
            "mailbox config `m.toml`: actor `ingest` must be a table of `capacity`, `policy`, `batch`, `credits`, `ttl`, `rate_limit`, `sojourn`, got the integer 5"
        );
    }

    #[test]
    fn flow_and_shedding_keys_set_what_they_name() {
        let configs = MailboxConfigs::from_toml_str(
            "[ingest]\ncredits = 4\nttl = \"250ms\"\n\
             rate_limit = { count = 100, per = \"2s\", burst = 10 }\n\
             sojourn = { target = \"5ms\", interval = \"100ms\", control_law = true }\n\
             [parser]\nrate_limit = { count = 7 }\nttl = \"1.5s\"\n",
            "m.toml",
        )
        .unwrap();
        let ingest = configs.apply(MailboxConfig::new(8).name("ingest"));
        assert_eq!(ingest.get_credits(), Some(4));
        assert_eq!(ingest.get_ttl(), Some(Duration::from_millis(250)));
        let limit = ingest.get_rate_limit().unwrap();
        assert_eq!(
            (limit.count(), limit.period(), limit.get_burst()),
            (100, Duration::from_secs(2), 10)
        );
        let sojourn = ingest.get_sojourn().unwrap();
        assert!(sojourn.has_control_law());
        assert_eq!(
            (sojourn.target(), sojourn.interval()),
            (Duration::from_millis(5), Duration::from_millis(100))
        );
        assert!(ingest.validate().is_ok());
        let parser = configs.apply(MailboxConfig::new(8).name("parser"));
        let limit = parser.get_rate_limit().unwrap();
        assert_eq!(
            (limit.count(), limit.period(), limit.get_burst()),
            (7, Duration::from_secs(1), 1)
        );
        assert_eq!(parser.get_ttl(), Some(Duration::from_millis(1500)));
        // What depends on several keys is checked when the actor starts.
        let refill_too_large = MailboxConfigs::from_toml_str("[q]\ncredits = 9\n", "m.toml")
            .unwrap()
            .apply(MailboxConfig::new(8).name("q"));
        assert!(refill_too_large.validate().is_err());
    }

    #[test]
    fn bad_flow_and_shedding_values_are_reported() {
        let text = "[a]\nttl = 5\n[b]\nttl = \"5 parsecs\"\n[c]\nttl = \"0ms\"\n\
                    [d]\nrate_limit = { per = \"1s\" }\n[e]\nrate_limit = { count = 1, pre = \"1s\" }\n\
                    [f]\nsojourn = { target = \"1s\", interval = \"5ms\" }\n[g]\ncredits = 0\n";
        assert_eq!(
            problems(text),
            "mailbox config `m.toml`: \
             actor `a`: `ttl` must be a duration such as \"250ms\" or \"1.5s\" (units ns, us, ms, s, m, h), got the integer 5; \
             actor `b`: `ttl` must be a duration such as \"250ms\" or \"1.5s\" (units ns, us, ms, s, m, h), got the string \"5 parsecs\"; \
             actor `c`: `ttl` must be above zero, got \"0ms\"; \
             actor `d`: `rate_limit` needs a `count`, e.g. { count = 100, per = \"1s\", burst = 10 }; \
             actor `e`: `rate_limit` has an unknown key `pre`; expected `count`, `per`, `burst`; \
             actor `f`: `sojourn` needs a target below its interval, got target 1s, interval 5ms; \
             actor `g`: `credits` must be at least 1, got 0"
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
