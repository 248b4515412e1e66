#!/usr/bin/env python3
"""The live half of scripts/check-prometheus: waits for the examples and Prometheus, then asks
Prometheus whether the alert rules evaluate, whether every dashboard query returns series, and
whether the saturation alert goes pending, fires and resolves with the demo's load.

Standard library only. The metric contract itself (names, types, labels) is checked in Rust
(tests/metrics_contract.rs, tests/dashboard.rs); nothing here repeats it. Each command exits 0
when its check passes and 1 (after a line starting with FAILED) otherwise.

    prom_live.py wait-http URL --deadline S --pid-file F
    prom_live.py scrape URL OUT
    prom_live.py scale-rules IN OUT
    prom_live.py wait-prometheus BASE --job J... --deadline S --rate-interval R --pid-file F...
    prom_live.py check-rules BASE
    prom_live.py check-panels BASE DASHBOARD --deadline S --rate-interval R
    prom_live.py check-alert BASE --alert A --job J --launched T --demo-log F --deadline S
                 --pid-file F
"""
import argparse
import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def fail(msg):
    print(f"FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def api(base, path, **params):
    """A Prometheus API call. Returns (ok, data or the error's text)."""
    query = "?" + urllib.parse.urlencode(params) if params else ""
    status, text = get(base + path + query)
    try:
        doc = json.loads(text)
    except ValueError:
        return False, f"HTTP {status}: {text[:200]}"
    if doc.get("status") != "success":
        return False, f"{doc.get('errorType', 'error')}: {doc.get('error', text[:200])}"
    return True, doc["data"]


def alive(pid_file):
    """Whether the process in `pid_file` still runs (a zombie not yet reaped counts as gone)."""
    try:
        with open(pid_file) as f:
            pid = int(f.read())
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, ValueError):
        return False


def require_alive(pid_files, what):
    for pid_file in pid_files:
        if not alive(pid_file):
            fail(f"{pid_file.rsplit('/', 1)[-1].removesuffix('.pid')} exited {what}")


def wait_http(args):
    end = time.monotonic() + args.deadline
    last = ""
    while time.monotonic() < end:
        require_alive([args.pid_file], f"before {args.url} answered")
        try:
            status, _ = get(args.url, timeout=2)
            if status == 200:
                print(f"{args.url} answers")
                return
            last = f"HTTP {status}"
        except OSError as e:
            last = str(e)
        time.sleep(0.25)
    fail(f"{args.url} did not answer within {args.deadline} s ({last})")


def scrape(args):
    """Saves one scrape of `url` (the text format)."""
    status, text = get(args.url, timeout=10)
    if status != 200:
        fail(f"{args.url}: HTTP {status}")
    with open(args.out, "w") as f:
        f.write(text)


def scale_rules(args):
    """A copy of the rules where minutes become seconds (`for: 5m` -> `for: 5s`, `[5m]` ->
    `[5s]`), so that a run of a minute shows an alert's whole lifecycle."""
    with open(args.rules) as f:
        text = f.read()
    text, fors = re.subn(r"^(\s*for:\s*)(\d+)m\s*$", r"\g<1>\2s", text, flags=re.M)
    text, ranges = re.subn(r"\[(\d+)m\]", r"[\1s]", text)
    if not fors:
        fail(f"{args.rules}: no `for: <n>m` to scale")
    with open(args.out, "w") as f:
        f.write(text)
    print(f"{args.out}: {fors} `for:` and {ranges} ranges scaled from minutes to seconds")


def wait_prometheus(args):
    end = time.monotonic() + args.deadline
    start = time.monotonic()
    state = "Prometheus not answering"
    while time.monotonic() < end:
        require_alive(args.pid_file, "while Prometheus was starting")
        try:
            ok, data = api(args.base, "/api/v1/targets")
            targets = {t["labels"].get("job"): t for t in data.get("activeTargets", [])} if ok else {}
            down = [j for j in args.job if targets.get(j, {}).get("health") != "up"]
            if down:
                t = targets.get(down[0])
                state = (f"target {down[0]}: {t['health']} {t.get('lastError', '')}".strip()
                         if t else f"no active target {down[0]} yet")
            else:
                query = f"count(rate(mailbox_enqueued_total[{args.rate_interval}]))"
                ok, data = api(args.base, "/api/v1/query", query=query)
                if ok and data["result"]:
                    print(f"targets {', '.join(args.job)} up, rate() data after "
                          f"{time.monotonic() - start:.1f} s")
                    return
                state = "targets up, no rate() data yet"
        except OSError as e:
            state = f"Prometheus not answering ({e})"
        time.sleep(0.5)
    fail(f"Prometheus not ready within {args.deadline} s: {state}")


def check_rules(args):
    ok, data = api(args.base, "/api/v1/rules")
    if not ok:
        fail(f"/api/v1/rules: {data}")
    rules = [r for g in data["groups"] for r in g["rules"]]
    if not rules:
        fail("Prometheus loaded no alert rules")
    bad = [f"{r['name']}: {r.get('lastError')}" for r in rules if r.get("health") == "err"]
    if bad:
        fail("alert rules fail on live data: " + "; ".join(bad))
    print("alert rules loaded by Prometheus: "
          + ", ".join(f"{r['name']} ({r.get('health')})" for r in rules))


def walk_panels(panels):
    for panel in panels or []:
        yield panel
        yield from walk_panels(panel.get("panels"))  # a collapsed row keeps its panels


def substitute(expr, variables, rate_interval):
    """The query Grafana would send with every variable on All (`.*`)."""
    expr = re.sub(r"\$\{__(rate_interval|interval)\}|\$__(rate_interval|interval)\b",
                  rate_interval, expr)
    for name in variables:
        expr = re.sub(rf"\$\{{{name}(:\w+)?\}}|\${name}\b|\[\[{name}\]\]", ".*", expr)
    left = re.search(r"\$\{?\w+|\[\[\w+\]\]", expr)
    if left:
        raise ValueError(f"unknown variable {left.group(0)}")
    return expr


def check_panels(args):
    with open(args.dashboard) as f:
        dash = json.load(f)
    query_vars = [v for v in dash.get("templating", {}).get("list", []) if v.get("type") == "query"]
    for v in query_vars:
        query = v.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query or "")
        if not m:
            fail(f"variable {v['name']}: query {query!r} is not label_values(metric, label)")
        ok, values = api(args.base, f"/api/v1/label/{m.group(2)}/values", **{"match[]": m.group(1)})
        if not ok or not values:
            fail(f"variable {v['name']}: {query} is empty ({values})")
        print(f"variable {v['name']} = {query}: {values}")

    rows = []
    for panel in walk_panels(dash.get("panels")):
        for target in panel.get("targets") or []:
            if not target.get("expr"):
                continue
            row = {"title": panel.get("title", f"panel {panel.get('id')}"),
                   "ref": target.get("refId", "?"), "expr": target["expr"], "error": None,
                   "series": None, "finite": 0, "last": ""}
            try:
                row["query"] = substitute(target["expr"], [v["name"] for v in query_vars],
                                          args.rate_interval)
                ok, data = api(args.base, "/api/v1/format_query", query=row["query"])
                if not ok:
                    row["error"] = f"does not parse: {data}"
            except ValueError as e:
                row["error"] = str(e)
            rows.append(row)
    if not rows:
        fail(f"{args.dashboard}: no panel queries")
    # Retry the queries still empty, all together, until the deadline.
    end = time.monotonic() + args.deadline
    while True:
        for row in [r for r in rows if not r["error"] and not r["series"]]:
            ok, data = api(args.base, "/api/v1/query", query=row["query"])
            if not ok:
                row["series"], row["last"] = 0, data
                continue
            result = data["result"]
            if data["resultType"] in ("vector", "matrix"):
                row["series"] = len(result)
                row["finite"] = sum(1 for s in result
                                    if "value" in s and math.isfinite(float(s["value"][1])))
            else:
                row["series"], row["finite"] = 1, int(math.isfinite(float(result[1])))
            row["last"] = "no series"
        if all(r["error"] or r["series"] for r in rows) or time.monotonic() >= end:
            break
        time.sleep(1)
    for row in rows:
        if not row["error"] and not row["series"]:
            row["error"] = f"no series after {args.deadline} s ({row['last']})"

    width = max(len(r["title"]) for r in rows)
    print(f"\n{'panel':<{width}}  ref  series  finite  result")
    print(f"{'-' * width}  ---  ------  ------  ------")
    for r in rows:
        series = "-" if r["series"] is None else r["series"]
        print(f"{r['title']:<{width}}  {r['ref']:<3}  {series:>6}  {r['finite']:>6}  "
              f"{'FAIL' if r['error'] else 'ok'}")
    failed = [r for r in rows if r["error"]]
    for r in failed:
        print(f"panel {r['title']!r} query {r['ref']}: {r['error']}\n    {r['expr']}",
              file=sys.stderr)
    if failed:
        fail(f"{len(failed)} of {len(rows)} panel queries failed")
    print(f"\nall {len(rows)} panel queries parse and return series (variables on All, "
          f"$__rate_interval={args.rate_interval})")


def alert_history(base, alert, job, since):
    """Per actor, per alert state, the evaluation times (Unix seconds) at which Prometheus's
    ALERTS series shows `alert` for `job`, since `since`."""
    ok, data = api(base, "/api/v1/query_range", query=f'ALERTS{{alertname="{alert}",job="{job}"}}',
                   start=f"{since:.3f}", end=f"{time.time():.3f}", step="0.5")
    if not ok:
        fail(f"ALERTS history: {data}")
    history = {}
    for series in data["result"]:
        states = history.setdefault(series["metric"].get("actor", "?"), {})
        times = states.setdefault(series["metric"]["alertstate"], [])
        times.extend(float(t) for t, _ in series["values"])
    return history


def demo_load(log):
    """When the demo's overload began and ended, in seconds after its start, as lower bounds:
    the demo prints its phase once a second (`  11.00 s  long overload  ...`), so a phase began
    at most a second before its first line. `None` for a phase not reached yet."""
    first = {}
    with open(log) as f:
        for line in f:
            m = re.match(r"\s*(\d+\.\d+) s  (long overload|calm again)\b", line)
            if m:
                first.setdefault(m.group(2), float(m.group(1)) - 1.0)
    return first.get("long overload"), first.get("calm again")


def check_alert(args):
    """The alert goes pending, then fires, then resolves: after the demo's overload ends, while
    the target is still up (a target that vanished would resolve it too, and prove nothing)."""
    t0 = args.launched
    end = time.monotonic() + args.deadline
    history, active, up = {}, [], None
    ended = f"within {args.deadline} s"
    while time.monotonic() < end:
        if not alive(args.pid_file):
            ended = "before the demo exited"
            break
        history = alert_history(args.base, args.alert, args.job, t0)
        ok, data = api(args.base, "/api/v1/alerts")
        if not ok:
            fail(f"/api/v1/alerts: {data}")
        active = [a for a in data["alerts"] if a["labels"].get("alertname") == args.alert
                  and a["labels"].get("job") == args.job]
        ok, data = api(args.base, "/api/v1/query", query=f'up{{job="{args.job}"}}')
        up = ok and data["result"] and data["result"][0]["value"][1] == "1"
        fired = any("firing" in states for states in history.values())
        if fired and not active and up:
            ended = None
            break
        time.sleep(0.5)
    if ended:
        fail(f"{args.alert} for job {args.job} did not go pending, fire and resolve {ended}: "
             f"history {summary(history, t0)}, now active {[a['state'] for a in active]}, "
             f"target up: {bool(up)}")
    resolved = time.time() - t0
    load_start, load_end = demo_load(args.demo_log)
    print(f"{args.alert} ({args.job}), in seconds after launch: {summary(history, t0)}; "
          f"none active at {resolved:.1f}; the overload ran from {load_start} to {load_end} "
          "(lower bounds)")
    errors = []
    for actor, states in sorted(history.items()):
        pending, firing = min(states.get("pending", [math.inf])), min(states.get("firing", [math.inf]))
        if firing < math.inf and not pending < firing:
            errors.append(f"{actor}: it fired without going pending first")
        if load_start is None or min(pending, firing) - t0 < load_start:
            errors.append(f"{actor}: it went pending before the overload began")
    if load_end is None or resolved < load_end:
        errors.append("it resolved before the overload ended")
    for e in errors:
        print(f"  {e}", file=sys.stderr)
    if errors:
        fail(f"{args.alert}: the lifecycle is wrong")
    print(f"{args.alert}: pending, firing, then inactive once the overload ended, with the "
          "target up: ok")


def summary(history, t0):
    def span(state, times):
        return f"{state} {min(times) - t0:.1f}..{max(times) - t0:.1f}"
    return "; ".join(
        f"{actor}: " + ", ".join(span(state, times) for state, times
                                 in sorted(states.items(), key=lambda kv: min(kv[1])))
        for actor, states in sorted(history.items())) or "none"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("wait-http")
    p.add_argument("url")
    p.add_argument("--deadline", type=float, required=True)
    p.add_argument("--pid-file", required=True)
    p.set_defaults(run=wait_http)
    p = sub.add_parser("scrape")
    p.add_argument("url")
    p.add_argument("out")
    p.set_defaults(run=scrape)
    p = sub.add_parser("scale-rules")
    p.add_argument("rules")
    p.add_argument("out")
    p.set_defaults(run=scale_rules)
    p = sub.add_parser("wait-prometheus")
    p.add_argument("base")
    p.add_argument("--job", action="append", required=True)
    p.add_argument("--deadline", type=float, required=True)
    p.add_argument("--rate-interval", required=True)
    p.add_argument("--pid-file", action="append", required=True)
    p.set_defaults(run=wait_prometheus)
    p = sub.add_parser("check-rules")
    p.add_argument("base")
    p.set_defaults(run=check_rules)
    p = sub.add_parser("check-panels")
    p.add_argument("base")
    p.add_argument("dashboard")
    p.add_argument("--deadline", type=float, required=True)
    p.add_argument("--rate-interval", required=True)
    p.set_defaults(run=check_panels)
    p = sub.add_parser("check-alert")
    p.add_argument("base")
    p.add_argument("--alert", required=True)
    p.add_argument("--job", required=True)
    p.add_argument("--launched", type=float, required=True, help="Unix time the demo started")
    p.add_argument("--demo-log", required=True, help="the demo's output (its phases)")
    p.add_argument("--deadline", type=float, required=True)
    p.add_argument("--pid-file", required=True)
    p.set_defaults(run=check_alert)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
