//! The shipped Grafana dashboard and alert rules against the metric contract
//! (`metrics::METRICS`, `supervisor::metrics::METRICS`), read the way Grafana's file
//! provisioning reads them: `__inputs` is not resolved, so the datasource must be the
//! `datasource` template variable on every panel, target and variable.
//!
//! Whether the queries return data on a live Prometheus is `scripts/check-prometheus`'s job.

use std::collections::BTreeSet;

use actix_backpressure::metrics::{self as names, MetricKind, MetricSpec};
use actix_backpressure::supervisor::metrics as supervisor_names;
use serde_json::Value;

const DASHBOARD: &str = include_str!("../dashboards/actix-backpressure.json");
const ALERTS: &str = include_str!("../dashboards/alerts.yml");
/// What every datasource reference must name under provisioning.
const DATASOURCE: &str = "${datasource}";

fn contract() -> impl Iterator<Item = &'static MetricSpec> {
    names::METRICS.iter().chain(supervisor_names::METRICS)
}

/// The contract metric a sample name in a query belongs to (`_bucket`, `_sum`, `_count` name a
/// histogram's series).
fn spec_of(sample: &str) -> Option<&'static MetricSpec> {
    contract().find(|spec| match spec.kind {
        MetricKind::Histogram => ["_bucket", "_sum", "_count"]
            .iter()
            .any(|suffix| sample.strip_suffix(suffix) == Some(spec.name)),
        _ => sample == spec.name,
    })
}

/// The `mailbox_*` and `supervisor_*` identifiers in a query or rule.
fn metric_names(expr: &str) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = ["mailbox_", "supervisor_"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        let word_start = at == 0 || !is_ident(rest.as_bytes()[at - 1]);
        let end = rest[at..]
            .find(|c: char| !is_ident(c as u8))
            .map_or(rest.len(), |n| at + n);
        if word_start {
            out.insert(&rest[at..end]);
        }
        rest = &rest[end..];
    }
    out
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The template variable that selects a metric's series, and the label it selects: a pool is
/// named after its mailbox, so `pool` is selected by `$actor` too. `None` for a metric no
/// variable selects (`supervisor_actions_total`, by `action`).
fn selector_of(spec: &MetricSpec) -> Option<(&'static str, &'static str)> {
    spec.labels.iter().find_map(|&label| match label {
        "actor" | "pool" => Some((label, "actor")),
        "upstream" => Some((label, "upstream")),
        _ => None,
    })
}

fn dashboard() -> Value {
    serde_json::from_str(DASHBOARD).expect("dashboards/actix-backpressure.json is JSON")
}

fn panels(dash: &Value) -> Vec<&Value> {
    fn walk<'a>(panels: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in panels.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out); // a collapsed row keeps its panels
        }
    }
    let mut out = Vec::new();
    walk(&dash["panels"], &mut out);
    out
}

/// `(panel title, refId, expr)` of every query.
fn queries(dash: &Value) -> Vec<(String, String, String)> {
    panels(dash)
        .into_iter()
        .flat_map(|panel| {
            let title = panel["title"].as_str().unwrap_or("?").to_owned();
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            targets.into_iter().filter_map(move |t| {
                let expr = t["expr"].as_str()?.to_owned();
                Some((
                    title.clone(),
                    t["refId"].as_str().unwrap_or("?").into(),
                    expr,
                ))
            })
        })
        .collect()
}

fn variable<'a>(dash: &'a Value, name: &str) -> Option<&'a Value> {
    dash["templating"]["list"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)
}

fn assert_no_errors(what: &str, errors: &[String]) {
    assert!(
        errors.is_empty(),
        "{what}: {} problem(s):\n  {}",
        errors.len(),
        errors.join("\n  ")
    );
}

#[test]
fn the_datasource_is_a_template_variable_everywhere() {
    let dash = dashboard();
    let mut errors = Vec::new();
    if dash.get("__inputs").is_some() {
        errors
            .push("__inputs is not resolved by provisioning: use the `datasource` variable".into());
    }
    if DASHBOARD.contains("DS_PROMETHEUS") {
        errors.push("${DS_PROMETHEUS} is left in the dashboard".into());
    }
    match variable(&dash, "datasource") {
        Some(v) if v["type"] == "datasource" && v["query"] == "prometheus" => {}
        _ => errors
            .push("no template variable `datasource` of type datasource, query prometheus".into()),
    }
    for panel in panels(&dash) {
        let title = panel["title"].as_str().unwrap_or("?");
        if matches!(panel["type"].as_str(), Some("row" | "text")) {
            continue;
        }
        if panel["datasource"]["uid"] != DATASOURCE {
            errors.push(format!("panel {title:?}: datasource is not {DATASOURCE}"));
        }
        let targets = panel["targets"].as_array().map_or(&[][..], Vec::as_slice);
        if targets.is_empty() {
            errors.push(format!("panel {title:?}: no targets"));
        }
        for target in targets {
            if target["datasource"]["uid"] != DATASOURCE {
                let r = &target["refId"];
                errors.push(format!(
                    "panel {title:?} {r}: datasource is not {DATASOURCE}"
                ));
            }
        }
    }
    for name in ["actor", "upstream"] {
        if let Some(v) = variable(&dash, name) {
            if v["datasource"]["uid"] != DATASOURCE {
                errors.push(format!("variable {name}: datasource is not {DATASOURCE}"));
            }
        }
    }
    let mut ids: Vec<_> = panels(&dash).iter().map(|p| p["id"].to_string()).collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    if ids.len() != count {
        errors.push(format!("{} duplicate panel id(s)", count - ids.len()));
    }
    assert_no_errors("dashboard datasources", &errors);
}

#[test]
fn the_variables_list_the_contracts_label_values() {
    let dash = dashboard();
    let expected = [
        (
            "actor",
            format!("label_values({},actor)", names::MAILBOX_DEPTH),
        ),
        (
            "upstream",
            format!(
                "label_values({},upstream)",
                supervisor_names::SUPERVISOR_UPSTREAM_PAUSED
            ),
        ),
    ];
    let mut errors = Vec::new();
    for (name, query) in expected {
        let Some(v) = variable(&dash, name) else {
            errors.push(format!("no template variable `{name}`"));
            continue;
        };
        let actual = v["query"]["query"]
            .as_str()
            .or(v["query"].as_str())
            .unwrap_or("");
        if actual.replace(' ', "") != query {
            errors.push(format!("variable {name}: query is {actual:?}, not {query}"));
        }
        if v["multi"] != true || v["includeAll"] != true {
            errors.push(format!("variable {name}: must be multi-select with All"));
        }
    }
    assert_no_errors("dashboard variables", &errors);
}

#[test]
fn every_query_uses_contract_metrics_the_way_their_kind_allows() {
    let dash = dashboard();
    let queries = queries(&dash);
    assert!(!queries.is_empty(), "no panel queries found");
    let mut errors = Vec::new();
    let mut shown = BTreeSet::new();
    for (title, r, expr) in &queries {
        let at = format!("panel {title:?} {r}");
        let metrics = metric_names(expr);
        if metrics.is_empty() {
            errors.push(format!("{at}: no mailbox_* or supervisor_* metric: {expr}"));
        }
        for sample in metrics {
            let Some(spec) = spec_of(sample) else {
                errors.push(format!("{at}: {sample} is not in the metric contract"));
                continue;
            };
            shown.insert(spec.name);
            if spec.deprecated {
                errors.push(format!("{at}: {sample} is deprecated"));
            }
            if spec.kind == MetricKind::Gauge
                && ["rate(", "irate(", "increase(", "deriv("]
                    .iter()
                    .any(|f| expr.contains(&format!("{f}{sample}")))
            {
                errors.push(format!(
                    "{at}: a rate-like function over the gauge {sample}"
                ));
            }
            if let Some((label, var)) = selector_of(spec) {
                if !expr.contains(&format!("{sample}{{{label}=~\"${var}\"")) {
                    errors.push(format!(
                        "{at}: {sample} is not selected by {label}=~\"${var}\""
                    ));
                }
            }
        }
        let mut rest = expr.as_str();
        while let Some(open) = rest.find('[') {
            let close = rest[open..].find(']').map_or(rest.len(), |n| open + n);
            if &rest[open + 1..close] != "$__rate_interval" {
                errors.push(format!(
                    "{at}: range {} is not [$__rate_interval]",
                    &rest[open..=close]
                ));
            }
            rest = &rest[close..];
        }
    }
    for spec in contract().filter(|s| !s.deprecated) {
        if !shown.contains(spec.name) {
            errors.push(format!("{} is on no panel", spec.name));
        }
    }
    assert_no_errors("dashboard queries", &errors);
}

#[test]
fn the_alert_rules_use_contract_metrics() {
    let exprs: Vec<&str> = ALERTS
        .lines()
        .filter_map(|line| line.trim().strip_prefix("expr:"))
        .collect();
    assert!(
        exprs.len() >= 4,
        "alerts.yml: expected the four rules, found {exprs:?}"
    );
    let mut errors = Vec::new();
    for expr in exprs {
        for sample in metric_names(expr) {
            match spec_of(sample) {
                None => errors.push(format!("{expr}: {sample} is not in the metric contract")),
                Some(spec) if spec.deprecated => {
                    errors.push(format!("{expr}: {sample} is deprecated"))
                }
                Some(_) => {}
            }
        }
    }
    assert_no_errors("alerts.yml", &errors);
}

#[test]
fn the_lint_catches_what_it_names() {
    // The checks above, on expressions that break them.
    assert_eq!(
        metric_names(r#"rate(mailbox_wait_seconds_bucket{actor=~"$actor"}[1m]) / xmailbox_depth"#),
        BTreeSet::from(["mailbox_wait_seconds_bucket"])
    );
    assert!(spec_of("mailbox_wait_seconds_bucket").is_some());
    assert!(
        spec_of("mailbox_depth_bucket").is_none(),
        "a gauge has no buckets"
    );
    assert!(spec_of("mailbox_depht").is_none());
    let pool = supervisor_names::METRICS
        .iter()
        .find(|s| s.name == supervisor_names::SUPERVISOR_POOL_WORKERS)
        .expect("the pool gauge is in the contract");
    assert_eq!(selector_of(pool), Some(("pool", "actor")));
}
