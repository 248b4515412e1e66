//! `NatsServer`: a local `nats-server` with JetStream, for tests, examples and trying things
//! out; killed when dropped.

use std::fmt;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The environment variable naming the `nats-server` binary to run (else it is looked up in
/// `PATH`, `/usr/sbin` and `/usr/bin`).
pub const NATS_SERVER_ENV: &str = "NATS_SERVER_BIN";
/// How long [`NatsServer::start`] waits for the server to be ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A `nats-server` with JetStream (`-js`), run as a child process on free loopback ports with a
/// store directory of its own: for tests, examples and local runs, not for production.
///
/// Dropping it kills the server (`SIGKILL`) and removes the directories it created, also when
/// a test panics. [`kill`](Self::kill) and [`restart`](Self::restart) simulate a crash and a
/// restart on the same port and store directory: what JetStream stored survives.
///
/// # Examples
///
/// ```no_run
/// # mod actix_backpressure { pub mod nats { pub use actix_backpressure_nats::*; } }
/// use actix_backpressure::nats::server::NatsServer;
///
/// let server = NatsServer::start()?;
/// println!("connect to {}", server.url());
/// # Ok::<(), actix_backpressure::nats::server::ServerError>(())
/// ```
pub struct NatsServer {
    binary: PathBuf,
    child: Option<Child>,
    port: u16,
    monitor_port: u16,
    /// The temporary directory holding the store and the log (removed on drop).
    dir: PathBuf,
}

impl NatsServer {
    /// Starts a server on free loopback ports, with a new temporary store directory, and
    /// waits until JetStream is ready.
    ///
    /// # Errors
    ///
    /// [`ServerError::NotInstalled`] if no `nats-server` binary is found (install Debian's
    /// with `apt-get install nats-server`, or name one in [`NATS_SERVER_ENV`]);
    /// [`ServerError::Exited`] or [`ServerError::NotReady`] (with the end of its log) if it
    /// does not come up; [`ServerError::Io`] for a file or process error.
    pub fn start() -> Result<Self, ServerError> {
        let binary = find_binary()?;
        let dir = temp_dir()?;
        let mut last = None;
        // A port found free may be taken before the server binds it: try a few times.
        for _ in 0..5 {
            let (port, monitor_port) = free_ports()?;
            let mut server = NatsServer {
                binary: binary.clone(),
                child: None,
                port,
                monitor_port,
                dir: dir.clone(),
            };
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(err) => {
                    // Keep the directory for the next try: forget it before the drop.
                    server.dir = PathBuf::new();
                    last = Some(err);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last.unwrap_or(ServerError::NotReady {
            waited: READY_TIMEOUT,
            log: String::new(),
        }))
    }

    /// The client URL, `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store directory.
    pub fn store_dir(&self) -> PathBuf {
        self.dir.join("store")
    }

    /// The server's log file.
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("nats-server.log")
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the server process runs.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the server with `SIGKILL`, as a crash would, and waits for it to exit. Does
    /// nothing if it is not running.
    ///
    /// # Errors
    ///
    /// [`ServerError::Io`] if the signal cannot be sent or the exit not awaited.
    pub fn kill(&mut self) -> Result<(), ServerError> {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` sends SIGKILL on Unix.
            child.kill().map_err(io("kill nats-server"))?;
            child.wait().map_err(io("wait for nats-server"))?;
        }
        Ok(())
    }

    /// Starts the server again on the same port and store directory (killing it first if it
    /// runs), and waits until JetStream is ready.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start); the port may also still be held for a moment after the
    /// kill, which is retried until [`READY_TIMEOUT`].
    pub fn restart(&mut self) -> Result<(), ServerError> {
        self.kill()?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(err) if Instant::now() >= deadline => return Err(err),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Runs the server process and waits until it is ready; kills it if it is not.
    fn spawn(&mut self) -> Result<(), ServerError> {
        let store = self.store_dir();
        std::fs::create_dir_all(&store).map_err(io("create the store directory"))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())
            .map_err(io("open the server log"))?;
        let log_err = log.try_clone().map_err(io("open the server log"))?;
        let child = Command::new(&self.binary)
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-m")
            .arg(self.monitor_port.to_string())
            .arg("-sd")
            .arg(&store)
            .arg("-P")
            .arg(self.dir.join(PID_FILE))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io("run nats-server"))?;
        self.child = Some(child);
        let ready = self.wait_ready();
        if ready.is_err() {
            let _ = self.kill();
        }
        ready
    }

    fn wait_ready(&mut self) -> Result<(), ServerError> {
        let start = Instant::now();
        let monitor = SocketAddr::from((Ipv4Addr::LOCALHOST, self.monitor_port));
        loop {
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(ServerError::Exited {
                        status: status.to_string(),
                        log: self.log_tail(),
                    });
                }
            }
            if healthy(monitor) {
                return Ok(());
            }
            if start.elapsed() >= READY_TIMEOUT {
                return Err(ServerError::NotReady {
                    waited: READY_TIMEOUT,
                    log: self.log_tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.kill();
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl fmt::Debug for NatsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsServer")
            .field("url", &self.url())
            .field("pid", &self.pid())
            .field("store_dir", &self.store_dir())
            .finish()
    }
}

/// Why a [`NatsServer`] could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// No `nats-server` binary was found.
    #[error("nats-server not found ({searched}): install it with `apt-get install nats-server`, or set {NATS_SERVER_ENV} to its path")]
    NotInstalled {
        /// Where it was looked for.
        searched: String,
    },
    /// The server exited while starting.
    #[error("nats-server exited while starting ({status}); its log ends with:\n{log}")]
    Exited {
        /// Its exit status.
        status: String,
        /// The end of its log.
        log: String,
    },
    /// The server did not report JetStream ready in time.
    #[error("nats-server was not ready after {waited:?}; its log ends with:\n{log}")]
    NotReady {
        /// How long it was given.
        waited: Duration,
        /// The end of its log.
        log: String,
    },
    /// A file or process operation failed.
    #[error("cannot {action}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

fn io(action: &'static str) -> impl FnOnce(std::io::Error) -> ServerError {
    move |source| ServerError::Io { action, source }
}

/// Finds the `nats-server` binary.
fn find_binary() -> Result<PathBuf, ServerError> {
    if let Some(path) = std::env::var_os(NATS_SERVER_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(ServerError::NotInstalled {
                searched: format!("{NATS_SERVER_ENV}={} is not a file", path.display()),
            })
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| ServerError::NotInstalled {
            searched: "not in PATH, /usr/sbin or /usr/bin".to_owned(),
        })
}

/// Two loopback ports free now.
fn free_ports() -> Result<(u16, u16), ServerError> {
    let a = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io("find a free port"))?;
    let b = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io("find a free port"))?;
    let port = |l: &TcpListener| l.local_addr().map(|a| a.port());
    Ok((
        port(&a).map_err(io("find a free port"))?,
        port(&b).map_err(io("find a free port"))?,
    ))
}

/// The server's pid file, in its directory: lets a later harness clean up after a test
/// process that was killed before it could stop its server.
const PID_FILE: &str = "nats-server.pid";

/// The prefix of the harness's directories.
const DIR_PREFIX: &str = "actix-backpressure-nats-";

/// Kills the servers, and removes the directories, of harnesses whose process is gone (killed
/// without unwinding: a CI timeout, say). Linux only (it reads `/proc`); best effort.
fn sweep_leftovers() {
    let proc = std::path::Path::new("/proc");
    if !proc.is_dir() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        let Some(owner) = rest.split('-').next() else {
            continue;
        };
        if owner.parse::<u32>().is_err() || proc.join(owner).exists() {
            continue; // not ours, or its harness still runs
        }
        let dir = entry.path();
        if let Ok(pid) = std::fs::read_to_string(dir.join(PID_FILE)) {
            let pid = pid.trim();
            let comm = std::fs::read_to_string(proc.join(pid).join("comm")).unwrap_or_default();
            if comm.trim() == "nats-server" {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A new directory under the system's temporary directory.
fn temp_dir() -> Result<PathBuf, ServerError> {
    sweep_leftovers();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "{DIR_PREFIX}{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(io("create a temporary directory"))?;
    Ok(dir)
}

/// Whether the monitor port answers 200 to `/healthz?js-enabled-only=true`.
fn healthy(monitor: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&monitor, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let request = "GET /healthz?js-enabled-only=true HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200")
}
