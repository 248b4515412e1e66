//! Serves mailbox and supervisor metrics to Prometheus while traffic runs through one mailbox
//! of each policy.
//!
//! ```text
//! cargo run --example metrics_server --features prometheus -- --listen 127.0.0.1:9464 --seconds 60
//! ```
//!
//! Four consumers (named after their policies) handle a few hundred messages per second each;
//! two producers per mailbox alternate 2 s of calm (below that rate) with 1 s bursts (ten
//! times it), so every mailbox fills up in bursts and drains in between, and sends refused,
//! dropped, evicted, timed out or held show in the metrics.
//!
//! A `PressureSupervisor` watches the four mailboxes with the default `PressurePolicy`; each
//! mailbox's two producers share a `PauseGate`, registered as the mailbox's upstream
//! (`<policy>_producers`). A burst keeps its mailbox full for longer than the policy's 300 ms,
//! so the supervisor pauses the producers during each burst and resumes them once the mailbox
//! has drained: the `supervisor_*` metrics show saturations, pauses and resumes, and the
//! program prints each decision.
//!
//! A fifth mailbox, `pool`, is a `WorkerPool` of 1 to 4 consumers (`block`), fed by one
//! producer of the same pattern and sized by the supervisor (`manage_pool` with a quick
//! `HpaScaling`): each burst holds its senders, so the pool grows, and each calm spell shrinks
//! it again, so `supervisor_pool_workers{pool="pool"}` moves and `supervisor_actions_total`
//! counts `scale_up` and `scale_down` too.
//!
//! A sixth mailbox, `adaptive` (`block`, one producer of the same pattern), has its capacity
//! set by the supervisor from the latency it measures (`adapt_capacity` with a `Gradient`
//! aiming at 20 ms in the mailbox), so `supervisor_mailbox_limit{actor="adaptive"}` follows
//! the load and `supervisor_actions_total` counts `resize`.
//!
//! Two more, `credits` (a credit window of 64, refilled 16 at a time) and `paced` (a rate
//! limit of 300/s), fed by one producer each, show `mailbox_credits_outstanding`, the time
//! senders waited for rate tokens (`mailbox_rate_wait_seconds`) and the 5 ms requests
//! refused as `rate_limited`.
//!
//! Each second it prints every mailbox's depth and its `lost`: the messages offered but not
//! handled (`settled() - handled`: dropped, evicted, rejected, timed out, stopped or closed).
//! Under `block` the policy drops nothing: its `lost` are the requests that `send_timeout`
//! gave up on after 5 ms without room (`timed_out`), since `tell` waits for room (a
//! `try_send` or `do_send` to the full mailbox would count as `rejected`).
//!
//! Point Prometheus at `http://<listen>/metrics`; `dashboards/` has a Grafana dashboard and
//! alert rules for these metrics.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_backpressure::prelude::*;
use actix_backpressure::{GateUpstream, Gradient, RateLimit};

/// A consumer that takes about 2 ms per message, one at a time.
struct Consumer;

impl Actor for Consumer {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "u64")]
struct Work(u64);

impl Handler<Work> for Consumer {
    type Result = AtomicResponse<Self, u64>;

    fn handle(&mut self, Work(n): Work, _: &mut Context<Self>) -> Self::Result {
        AtomicResponse::new(Box::pin(
            actix::fut::wrap_future::<_, Self>(tokio::time::sleep(Duration::from_millis(2)))
                .map(move |(), _, _| n),
        ))
    }
}

struct Args {
    listen: SocketAddr,
    seconds: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:9464".parse().expect("a valid default address"),
        seconds: 30,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => {
                args.listen = value
                    .parse()
                    .map_err(|e| format!("--listen {value}: {e}"))?
            }
            "--seconds" => {
                args.seconds = value
                    .parse()
                    .map_err(|e| format!("--seconds {value}: {e}"))?
            }
            _ => {
                return Err(format!(
                    "unknown argument {flag}; expected --listen ADDR, --seconds N"
                ))
            }
        }
    }
    Ok(args)
}

/// Sends to `addr` at a rate that alternates between calm and bursts, until `deadline`; makes
/// nothing while `gate` is paused.
async fn produce(addr: BoundedAddr<Consumer>, gate: PauseGate, deadline: Instant) {
    let start = Instant::now();
    let mut n = 0u64;
    while Instant::now() < deadline {
        gate.opened().await;
        // 2 s calm at ~100/s, then 1 s burst at ~2000/s (per producer).
        let burst = start.elapsed().as_millis() % 3000 >= 2000;
        let per_tick = if burst { 20 } else { 1 };
        for _ in 0..per_tick {
            n += 1;
            if n % 10 == 0 {
                // A request that waits at most 5 ms for room (under Block it may time out),
                // answered in the background.
                let addr = addr.clone();
                actix::spawn(async move {
                    let _ = addr.send_timeout(Work(n), Duration::from_millis(5)).await;
                });
            } else {
                let _ = addr.tell(Work(n)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("metrics_server: {err}");
            std::process::exit(2);
        }
    };
    if let Err(err) = actix_backpressure::prometheus::install(args.listen) {
        eprintln!("metrics_server: {err}");
        std::process::exit(1);
    }
    println!(
        "serving metrics on http://{}/metrics for {} s",
        args.listen, args.seconds
    );
    println!(
        "point Prometheus at it (scrape_configs: targets [\"{}\"]), then import or provision \
         dashboards/actix-backpressure.json in Grafana; alert rules: dashboards/alerts.yml",
        args.listen
    );
    println!(
        "each second, per mailbox: depth/capacity and lost, the messages not handled\n\
         (dropped, evicted, rejected, timed out, stopped or closed); under block the\n\
         policy drops nothing: its lost are the send_timeout requests that found no\n\
         room within 5 ms (tell waits for room; try_send would count as rejected)"
    );
    let system = System::new();
    system.block_on(async move {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(args.seconds);
        let supervisor = PressureSupervisor::start();
        let mut decisions = supervisor.subscribe();
        actix::spawn(async move {
            while let Some(decision) = decisions.recv().await {
                println!("{:7.3} s  {decision}", start.elapsed().as_secs_f64());
            }
        });
        let mut mailboxes = Vec::new();
        for policy in OverflowPolicy::ALL {
            let arbiter = Arbiter::new();
            let addr =
                BoundedMailbox::new(MailboxConfig::new(64).policy(policy).name(policy.as_str()))
                    .expect("a valid configuration")
                    .start_in_arbiter(&arbiter.handle(), |_| Consumer);
            supervisor
                .watch(&addr, PressurePolicy::default())
                .expect("the default policy is valid");
            let upstream = format!("{policy}_producers");
            let gate = PauseGate::new();
            supervisor
                .add_upstream(&addr, GateUpstream::new(&upstream, gate.clone()))
                .expect("the mailbox is watched");
            for _ in 0..2 {
                actix::spawn(produce(addr.clone(), gate.clone(), deadline));
            }
            mailboxes.push((addr, upstream));
        }
        // A pool the supervisor sizes: a burst holds the producer (block), so the pool grows;
        // calm, it shrinks back within the 2 s between bursts.
        let pool_arbiter = Arbiter::new();
        let pool = WorkerPool::builder(
            MailboxConfig::new(64)
                .policy(OverflowPolicy::Block)
                .name("pool"),
            || Consumer,
        )
        .min(1)
        .max(4)
        .arbiters(vec![pool_arbiter.handle()])
        .start();
        supervisor
            .manage_pool(
                &pool,
                HpaScaling::new()
                    .cooldown(Duration::from_millis(500))
                    .down_after(Duration::from_secs(1)),
            )
            .expect("a valid scaling rule");
        actix::spawn(produce(pool.addr().clone(), PauseGate::new(), deadline));
        // A mailbox whose capacity follows its latency.
        let adaptive_arbiter = Arbiter::new();
        let adaptive = BoundedMailbox::new(MailboxConfig::new(64).name("adaptive"))
            .expect("a valid configuration")
            .start_in_arbiter(&adaptive_arbiter.handle(), |_| Consumer);
        supervisor
            .adapt_capacity(&adaptive, 4, 256, Gradient::new(Duration::from_millis(20)))
            .expect("valid bounds and controller");
        actix::spawn(produce(adaptive.clone(), PauseGate::new(), deadline));
        mailboxes.push((adaptive, String::new()));
        // A credit window (credits outstanding) and a rate limit (time waiting for tokens,
        // and the 5 ms requests refused as rate-limited when the next token is later).
        for (name, config) in [
            ("credits", MailboxConfig::new(64).credits(16)),
            (
                "paced",
                MailboxConfig::new(64).rate_limit(RateLimit::per_second(300)),
            ),
        ] {
            let arbiter = Arbiter::new();
            let addr = BoundedMailbox::new(config.name(name))
                .expect("a valid configuration")
                .start_in_arbiter(&arbiter.handle(), |_| Consumer);
            actix::spawn(produce(addr.clone(), PauseGate::new(), deadline));
            mailboxes.push((addr, String::new()));
        }
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let line: Vec<String> = mailboxes
                .iter()
                .map(|(m, upstream)| {
                    let stats = m.stats();
                    let lost = stats.settled() - stats.handled;
                    let paused = if supervisor.is_paused(upstream) {
                        " (paused)"
                    } else {
                        ""
                    };
                    format!(
                        "{} {}/{} lost {lost}{paused}",
                        m.name(),
                        m.len(),
                        m.capacity()
                    )
                })
                .collect();
            println!(
                "{}  pool {}/{} workers {}",
                line.join("  "),
                pool.len(),
                pool.capacity(),
                pool.workers()
            );
        }
        System::current().stop();
    });
}
