//! The metric contract (`metrics::METRICS`, `supervisor::metrics::METRICS`, `DropReason::ALL`,
//! `OverflowPolicy::ALL`, `Action::COUNTED`) against what a real Prometheus recorder renders:
//! every listed metric appears with its type, help and labels, nothing unlisted appears, every
//! drop reason and policy shows up, histograms carry the `instance` label counters carry,
//! blocked time has sub-second precision, and `promtool check metrics` accepts the scrape.
//!
//! One test in this binary: it owns the process's global recorder.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use actix_backpressure::metrics::{self as names, MetricKind, MetricSpec};
use actix_backpressure::prelude::*;
use actix_backpressure::supervisor::metrics as supervisor_names;
use actix_backpressure::supervisor::Action;
use actix_backpressure::{GateUpstream, Gradient, RateLimit};
use common::*;
use tokio::sync::oneshot;

/// One sample line of a scrape: `name{labels} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed text-format scrape.
#[derive(Debug, Default)]
struct Scrape {
    types: BTreeMap<String, String>,
    helps: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let mut scrape = Scrape::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
                scrape.types.insert(name.into(), kind.into());
            } else if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("# HELP name text");
                scrape.helps.insert(name.into(), help.into());
            } else if !line.starts_with('#') {
                scrape.samples.push(parse_sample(line));
            }
        }
        scrape
    }

    /// The samples of `name` (exactly that sample name) whose `actor` label is `actor`.
    fn of<'a>(&'a self, name: &'a str, actor: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name && s.labels.get("actor").map(String::as_str) == Some(actor)
        })
    }
}

fn parse_sample(line: &str) -> Sample {
    let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
    let value = value
        .parse()
        .unwrap_or_else(|e| panic!("{line}: value: {e}"));
    let Some((name, rest)) = series.split_once('{') else {
        return Sample {
            name: series.into(),
            labels: BTreeMap::new(),
            value,
        };
    };
    let body = rest.strip_suffix('}').expect("labels end with }");
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "{line}: label {key} is quoted");
        let mut val = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => val.push(match chars.next().expect("an escape") {
                    'n' => '\n',
                    other => other,
                }),
                '"' => break,
                c => val.push(c),
            }
        }
        if chars.peek() == Some(&',') {
            chars.next();
        }
        labels.insert(key, val);
    }
    Sample {
        name: name.into(),
        labels,
        value,
    }
}

/// The names a metric's samples take: histograms render `_bucket`, `_sum` and `_count`.
fn sample_names(spec: &MetricSpec) -> Vec<String> {
    match spec.kind {
        MetricKind::Histogram => ["_bucket", "_sum", "_count"]
            .iter()
            .map(|suffix| format!("{}{suffix}", spec.name))
            .collect(),
        _ => vec![spec.name.to_owned()],
    }
}

/// Makes every mailbox metric and every drop reason happen on mailboxes named `contract_*`,
/// plus supervisor pauses, resumes and a managed pool.
async fn exercise() {
    // Drop-newest and drop-oldest: a held mailbox of one, filled, then one more.
    for policy in [OverflowPolicy::DropNewest, OverflowPolicy::DropOldest] {
        let config = MailboxConfig::new(1)
            .policy(policy)
            .name(&format!("contract_{policy}"));
        let (addr, _, release) = held_recorder(config).await;
        addr.tell(Item(1)).await.unwrap();
        // Drop-newest hands the message back as dropped; drop-oldest evicts the first.
        let _ = addr.tell(Item(2)).await;
        release.send(()).unwrap();
        until(|| addr.stats().settled() == 3).await;
    }

    // Reject: refused at once.
    let (addr, _, release) = held_recorder(
        MailboxConfig::new(1)
            .policy(OverflowPolicy::Reject)
            .name("contract_reject"),
    )
    .await;
    addr.tell(Item(1)).await.unwrap();
    assert!(addr.tell(Item(2)).await.is_err());
    release.send(()).unwrap();
    until(|| addr.stats().settled() == 3).await;

    // Expired: a message queued behind a held one waits past its time to live.
    let (addr, _, release) = held_recorder(
        MailboxConfig::new(2)
            .ttl(Duration::from_millis(20))
            .name("contract_ttl"),
    )
    .await;
    addr.tell(Item(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(40)).await;
    release.send(()).unwrap();
    until(|| addr.stats().expired == 1).await;

    // Rate-limited: one token a minute, the second send finds none.
    let (actor, _) = Recorder::new();
    let limited = actor.start_bounded(
        MailboxConfig::new(8)
            .rate_limit(RateLimit::new(1, Duration::from_secs(60)))
            .name("contract_rate"),
    );
    limited.try_send(Item(1)).unwrap();
    assert!(limited.try_send(Item(2)).is_err());
    until(|| limited.stats().settled() == 2).await;
    // Under `Block`, the second send waits for its token instead (the token-wait histogram).
    let (actor, _) = Recorder::new();
    let paced = actor.start_bounded(
        MailboxConfig::new(8)
            .rate_limit(RateLimit::new(1, Duration::from_millis(50)))
            .name("contract_rate_wait"),
    );
    paced.tell(Item(1)).await.unwrap();
    paced.tell(Item(2)).await.unwrap();
    assert!(paced.stats().rate_waited > Duration::ZERO);

    // Credits outstanding: a credit window (the gauge exists only for such mailboxes).
    let (actor, _) = Recorder::new();
    let credited = actor.start_bounded(MailboxConfig::new(4).credits(2).name("contract_credits"));
    credited.send(Item(1)).await.unwrap();

    // Block: one sender waits ~150 ms for room, another times out; then the actor is held and
    // stopped with a message queued (stopped), and a send after that finds it closed.
    let (addr, _, release) = held_recorder(
        MailboxConfig::new(1)
            .policy(OverflowPolicy::Block)
            .name("contract_block"),
    )
    .await;
    addr.tell(Item(1)).await.unwrap();
    let blocked = {
        let addr = addr.clone();
        actix::spawn(async move { addr.tell(Item(2)).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(addr
        .send_timeout(Item(3), Duration::from_millis(5))
        .await
        .is_err());
    release.send(()).unwrap();
    blocked.await.unwrap().unwrap();
    // Enough handled messages that the sampled histograms (one in TIMING_SAMPLE) get samples.
    for n in 0..u64::from(names::TIMING_SAMPLE) * 4 {
        addr.send(Item(n)).await.unwrap();
    }
    let (release, hold) = oneshot::channel();
    addr.tell(HoldThenStop(hold)).await.unwrap();
    until(|| addr.is_empty()).await;
    addr.tell(Item(4)).await.unwrap();
    release.send(()).unwrap();
    until(|| addr.is_closed()).await;
    assert!(addr.tell(Item(5)).await.is_err());

    // Two mailboxes of one name told apart by `instance`; one is used enough for histograms.
    let (actor, _) = Recorder::new();
    let first = actor.start_bounded(
        MailboxConfig::new(8)
            .name("contract_instances")
            .metrics_instance("a"),
    );
    let (actor, _) = Recorder::new();
    let _second = actor.start_bounded(
        MailboxConfig::new(8)
            .name("contract_instances")
            .metrics_instance("b"),
    );
    for n in 0..u64::from(names::TIMING_SAMPLE) * 4 {
        first.send(Item(n)).await.unwrap();
    }

    // The supervisor: a saturated mailbox pauses its upstream and resumes it once drained; a
    // managed pool reports its workers.
    let (watched, _, release) = held_recorder(MailboxConfig::new(2).name("contract_watched")).await;
    let supervisor = PressureSupervisor::start();
    let policy = PressurePolicy::new()
        .interval(Duration::from_millis(10))
        .saturated_after(Duration::ZERO)
        .recovered_after(Duration::ZERO);
    supervisor.watch(&watched, policy).unwrap();
    let gate = PauseGate::new();
    supervisor
        .add_upstream(
            &watched,
            GateUpstream::new("contract_upstream", gate.clone()),
        )
        .unwrap();
    watched.tell(Item(1)).await.unwrap();
    watched.tell(Item(2)).await.unwrap();
    until(|| gate.is_paused()).await;
    release.send(()).unwrap();
    until(|| !gate.is_paused()).await;

    let pool = WorkerPool::builder(
        MailboxConfig::new(4).name("contract_pool"),
        Recorder::default,
    )
    .min(1)
    .max(2)
    .start();
    supervisor.manage_pool(&pool, HpaScaling::new()).unwrap();
    // An adaptive limit: the supervisor sets its gauge when it takes the mailbox on.
    let (actor, _) = Recorder::new();
    let adapted = actor.start_bounded(MailboxConfig::new(8).name("contract_adaptive"));
    supervisor
        .adapt_capacity(&adapted, 1, 16, Gradient::new(Duration::from_millis(10)))
        .unwrap();
    // The supervisor sets the gauge when it takes the pool on; give it a few ticks.
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[actix_rt::test]
async fn the_scrape_keeps_the_metric_contract() {
    let recorder = actix_backpressure::prometheus::builder()
        .expect("the crate's buckets are valid")
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).expect("the only recorder of this binary");

    within(exercise()).await;
    actix_backpressure::metrics::refresh();
    let text = handle.render();
    let scrape = Scrape::parse(&text);

    let contract: Vec<&MetricSpec> = names::METRICS
        .iter()
        .chain(supervisor_names::METRICS)
        .collect();

    // Every listed metric: its type, its help, and the labels of every sample.
    for spec in &contract {
        assert_eq!(
            scrape.types.get(spec.name).map(String::as_str),
            Some(spec.kind.as_str()),
            "# TYPE of {}\n{text}",
            spec.name
        );
        assert_eq!(
            scrape.helps.get(spec.name).map(String::as_str),
            Some(spec.help),
            "# HELP of {}",
            spec.name
        );
        for sample_name in sample_names(spec) {
            let samples: Vec<_> = scrape
                .samples
                .iter()
                .filter(|s| s.name == sample_name)
                .collect();
            assert!(!samples.is_empty(), "no sample of {sample_name}\n{text}");
            for sample in samples {
                let keys: BTreeSet<&str> = sample.labels.keys().map(String::as_str).collect();
                for label in spec.labels {
                    assert!(keys.contains(label), "{sample:?} lacks the label {label}");
                }
                for key in keys {
                    assert!(
                        spec.labels.contains(&key)
                            || spec.optional_labels.contains(&key)
                            || (key == "le" && sample_name.ends_with("_bucket")),
                        "{sample:?}: label {key} is not in the contract of {}",
                        spec.name
                    );
                }
            }
        }
    }

    // Nothing of ours that the contract does not list.
    let listed: BTreeSet<String> = contract
        .iter()
        .flat_map(|spec| sample_names(spec))
        .collect();
    for sample in &scrape.samples {
        if sample.name.starts_with("mailbox_") || sample.name.starts_with("supervisor_") {
            assert!(
                listed.contains(&sample.name),
                "{} is not in the contract",
                sample.name
            );
        }
    }
    for name in scrape.types.keys() {
        assert!(
            contract.iter().any(|spec| spec.name == name),
            "# TYPE {name} is not in the contract"
        );
    }

    // Every drop reason and every policy, by the contract's own lists.
    let reasons: BTreeSet<&str> = scrape
        .samples
        .iter()
        .filter(|s| s.name == names::MAILBOX_DROPPED_TOTAL && s.value > 0.0)
        .filter(|s| s.labels["actor"].starts_with("contract_"))
        .map(|s| s.labels["reason"].as_str())
        .collect();
    let all_reasons: BTreeSet<&str> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        reasons, all_reasons,
        "a drop reason missing from the scrape"
    );
    let policies: BTreeSet<&str> = scrape
        .samples
        .iter()
        .filter(|s| s.name == names::MAILBOX_CAPACITY)
        .map(|s| s.labels["policy"].as_str())
        .collect();
    for policy in OverflowPolicy::ALL {
        assert!(
            policies.contains(policy.as_str()),
            "no series of policy {policy}"
        );
    }
    for s in scrape
        .samples
        .iter()
        .filter(|s| s.name == names::MAILBOX_DROPPED_TOTAL)
    {
        assert!(all_reasons.contains(s.labels["reason"].as_str()), "{s:?}");
    }
    let actions: BTreeSet<&str> = Action::COUNTED.iter().map(|a| a.as_str()).collect();
    for s in scrape
        .samples
        .iter()
        .filter(|s| s.name == supervisor_names::SUPERVISOR_ACTIONS_TOTAL)
    {
        assert!(actions.contains(s.labels["action"].as_str()), "{s:?}");
    }
    let action = |a: &str| {
        scrape
            .samples
            .iter()
            .find(|s| {
                s.name == supervisor_names::SUPERVISOR_ACTIONS_TOTAL && s.labels["action"] == a
            })
            .map_or(0.0, |s| s.value)
    };
    assert!(action("pause") >= 1.0 && action("resume") >= 1.0, "{text}");

    // Every series of the instance-labelled mailboxes carries `instance`, histograms included.
    for spec in names::METRICS.iter().filter(|spec| !spec.deprecated) {
        for sample_name in sample_names(spec) {
            for sample in scrape.of(&sample_name, "contract_instances") {
                assert!(sample.labels.contains_key("instance"), "{sample:?}");
            }
        }
    }
    for name in [names::MAILBOX_WAIT_SECONDS, names::MAILBOX_HANDLER_SECONDS] {
        let count = format!("{name}_count");
        let instances: BTreeSet<&str> = scrape
            .of(&count, "contract_instances")
            .map(|s| s.labels["instance"].as_str())
            .collect();
        assert!(instances.contains("a"), "{count} of instance a\n{text}");
    }

    // Blocked time in seconds with sub-second precision: ~150 ms waited, plus a 5 ms timeout.
    let blocked_sum = format!("{}_sum", names::MAILBOX_SENDER_BLOCKED_SECONDS);
    let blocked: f64 = scrape
        .of(&blocked_sum, "contract_block")
        .map(|s| s.value)
        .sum();
    assert!(
        (0.14..2.0).contains(&blocked) && blocked.fract() != 0.0,
        "blocked {blocked} s, expected about 0.155 s"
    );
    let blocked_count = format!("{}_count", names::MAILBOX_SENDER_BLOCKED_SECONDS);
    let waits: f64 = scrape
        .of(&blocked_count, "contract_block")
        .map(|s| s.value)
        .sum();
    assert_eq!(waits, 2.0, "one wait that got room, one that timed out");

    promtool_check(&text);

    within(credits_gauge_follows_the_mailbox(&handle)).await;
}

/// `mailbox_credits_outstanding`: the unused credits of a live window; 0 in a series its
/// mailbox left (relabelled by a policy change, or gone), not its last figure.
async fn credits_gauge_follows_the_mailbox(handle: &metrics_exporter_prometheus::PrometheusHandle) {
    let credits = |policy: &str| {
        actix_backpressure::metrics::refresh();
        let text = handle.render();
        Scrape::parse(&text)
            .of(names::MAILBOX_CREDITS_OUTSTANDING, "contract_credits_live")
            .find(|s| s.labels["policy"] == policy)
            .map(|s| s.value)
    };
    let (actor, _) = Recorder::new();
    let credited = actor.start_bounded(
        MailboxConfig::new(4)
            .credits(2)
            .name("contract_credits_live"),
    );
    credited.send(Item(1)).await.unwrap();
    // The actor is idle: it granted back every credit it held.
    until(|| credited.probe().sample().unwrap().credits == Some(4)).await;
    assert_eq!(credits("block"), Some(4.0));
    credited.set_policy(OverflowPolicy::Reject);
    assert_eq!(
        (credits("block"), credits("reject")),
        (Some(0.0), Some(4.0))
    );
    let probe = credited.probe();
    drop(credited);
    until(|| probe.sample().is_none()).await;
    assert_eq!(credits("reject"), Some(0.0));
}

/// `promtool check metrics` on the scrape (Debian's `prometheus` package ships `promtool`).
fn promtool_check(text: &str) {
    let promtool = ["promtool", "/usr/bin/promtool"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok())
        .unwrap_or_else(|| {
            panic!(
                "promtool not found: install Debian's `prometheus` package \
                 (`apt-get install -y prometheus`; scripts/test does)"
            )
        });
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(text.as_bytes())
        .expect("the scrape goes to promtool");
    let out = child.wait_with_output().expect("promtool ends");
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
