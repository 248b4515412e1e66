//! Serving the mailbox metrics to Prometheus (feature `prometheus`).

use std::net::SocketAddr;

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder};

use crate::mailbox::metrics::{MetricKind, METRICS};

/// Histogram buckets for time spent in a mailbox or a handler, in seconds: 10 µs to 60 s.
pub const TIME_BUCKETS: &[f64] = &[
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0,
];

/// A Prometheus recorder's builder set up for this crate's metrics: [`TIME_BUCKETS`] for
/// every mailbox histogram (so that they render as histograms, not summaries, and
/// `histogram_quantile` works). [`install`] uses it; use it to serve the metrics your own way
/// (another listener, a push gateway, a recorder of your own for tests).
///
/// # Errors
///
/// As [`PrometheusBuilder::set_buckets_for_metric`] (never, with the crate's buckets).
///
/// # Examples
///
/// ```
/// let recorder = actix_backpressure::prometheus::builder()
///     .expect("buckets")
///     .build_recorder();
/// let scrape = recorder.handle().render();
/// assert!(scrape.is_empty());
/// ```
pub fn builder() -> Result<PrometheusBuilder, BuildError> {
    METRICS
        .iter()
        .filter(|metric| metric.kind == MetricKind::Histogram)
        .try_fold(PrometheusBuilder::new(), |builder, metric| {
            builder.set_buckets_for_metric(Matcher::Full(metric.name.into()), TIME_BUCKETS)
        })
}

/// Where [`install_default`] serves the metrics: loopback only, Prometheus's registered
/// port for client-library exporters.
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9464);

/// [`install`] on [`DEFAULT_ADDR`] (`127.0.0.1:9464`).
///
/// # Errors
///
/// As [`install`].
pub fn install_default() -> Result<(), InstallError> {
    install(DEFAULT_ADDR)
}

/// Why [`install`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// The exporter could not be built (most often: the address could not be bound).
    #[error("cannot serve Prometheus metrics on {addr}: {source}")]
    Build {
        /// The address asked for.
        addr: SocketAddr,
        /// The exporter's error.
        source: BuildError,
    },
    /// Another recorder is already installed in this process.
    #[error("a metrics recorder is already installed in this process")]
    AlreadyInstalled,
    /// The exporter's thread could not be started.
    #[error("cannot start the Prometheus exporter's thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Installs a Prometheus recorder as this process's global `metrics` recorder and serves
/// `/metrics` over HTTP on `addr` (use a loopback address such as `127.0.0.1:9464` unless
/// Prometheus scrapes from another host), with [`TIME_BUCKETS`] for the mailbox histograms so
/// that they are real histograms (`histogram_quantile` works).
///
/// The exporter runs on a thread of its own, independent of any actix `System`, for the life
/// of the process. Call it once, early; mailboxes started before it are picked up too.
///
/// # Errors
///
/// [`InstallError::Build`] when `addr` cannot be bound (in use, not a local address),
/// [`InstallError::AlreadyInstalled`] when a recorder is already installed.
///
/// # Examples
///
/// ```no_run
/// actix_backpressure::prometheus::install("127.0.0.1:9464".parse().unwrap())
///     .expect("serving metrics");
/// ```
pub fn install(addr: SocketAddr) -> Result<(), InstallError> {
    let build = |source| InstallError::Build { addr, source };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(InstallError::Thread)?;
    // The listener is bound here, inside the runtime, so that bind errors come back to us.
    let (recorder, exporter) = runtime.block_on(async {
        builder()
            .map_err(build)?
            .with_http_listener(addr)
            .build()
            .map_err(build)
    })?;
    metrics::set_global_recorder(recorder).map_err(|_| InstallError::AlreadyInstalled)?;
    std::thread::Builder::new()
        .name("actix-backpressure-prometheus".into())
        .spawn(move || {
            let _ = runtime.block_on(exporter);
        })?;
    crate::mailbox::metrics::refresh();
    Ok(())
}
