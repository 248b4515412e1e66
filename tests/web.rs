//! actix-web handlers send to bounded actors with `?` (feature `actix-web`): a real
//! `HttpServer` on the loopback, asked by a bare HTTP/1.1 client.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use actix_backpressure::{
    BoundedActorExt, BoundedAddr, MailboxConfig, OverflowPolicy, SendError, TrySendError,
};
use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use common::{until, within, Item, Recorder, Stop};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Addr = web::Data<BoundedAddr<Recorder>>;

/// The deadline of `/timeout/{n}`.
const DEADLINE: Duration = Duration::from_millis(50);

/// `send(..).await?`: the response, or the `SendError`.
async fn send(addr: Addr, n: web::Path<u64>) -> actix_web::Result<String> {
    Ok(addr.send(Item(*n)).await?.to_string())
}

/// `try_send(..)?`: queued, or the `TrySendError`.
async fn try_send(addr: Addr, n: web::Path<u64>) -> actix_web::Result<&'static str> {
    addr.try_send(Item(*n))?;
    Ok("queued")
}

/// `send(..).timeout(DEADLINE).await?`.
async fn timeout(addr: Addr, n: web::Path<u64>) -> actix_web::Result<String> {
    Ok(addr.send(Item(*n)).timeout(DEADLINE).await?.to_string())
}

/// Serves `addr` on `127.0.0.1:0` (one worker), from the current actix system.
fn serve(addr: BoundedAddr<Recorder>) -> (SocketAddr, ServerHandle) {
    let addr = web::Data::new(addr);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(addr.clone())
            .route("/send/{n}", web::get().to(send))
            .route("/try/{n}", web::get().to(try_send))
            .route("/timeout/{n}", web::get().to(timeout))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .expect("bind the loopback");
    let local = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    (local, handle)
}

/// A response as the client read it.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// `GET path` over a fresh connection, read until the server closes it.
async fn get(server: SocketAddr, path: &str) -> Response {
    let mut stream = TcpStream::connect(server).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let raw = String::from_utf8(raw).expect("a UTF-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {status_line:?}"));
    let headers = lines
        .map(|line| {
            let (key, value) = line.split_once(':').expect("a header");
            (key.to_owned(), value.trim().to_owned())
        })
        .collect();
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// A `Recorder` behind `config`, paused, with its `capacity` slots filled: every later
/// `try_send` is refused until it resumes.
fn full(config: MailboxConfig) -> BoundedAddr<Recorder> {
    let (actor, _) = Recorder::new();
    let addr = actor.start_bounded(config);
    assert!(addr.pause());
    for n in 0..addr.capacity() as u64 {
        addr.try_send(Item(n)).unwrap();
    }
    addr
}

#[actix_rt::test]
async fn a_handled_message_answers_200() {
    within(async {
        let (actor, seen) = Recorder::new();
        let (server, handle) = serve(actor.start_bounded(MailboxConfig::new(4)));
        let response = get(server, "/send/7").await;
        assert_eq!((response.status, response.body.as_str()), (200, "7"));
        assert_eq!(response.header("retry-after"), None);
        let response = get(server, "/try/8").await;
        assert_eq!((response.status, response.body.as_str()), (200, "queued"));
        until(|| seen.lock().unwrap().len() == 2).await;
        assert_eq!(*seen.lock().unwrap(), [7, 8]);
        handle.stop(false).await;
    })
    .await;
}

#[actix_rt::test]
async fn a_full_reject_mailbox_answers_503_with_retry_after() {
    within(async {
        let addr = full(MailboxConfig::new(1).policy(OverflowPolicy::Reject));
        let (server, handle) = serve(addr.clone());
        for path in ["/try/1", "/send/2"] {
            let response = get(server, path).await;
            assert_eq!(response.status, 503, "{path}: {response:?}");
            assert_eq!(response.header("retry-after"), Some("1"), "{path}");
            assert_eq!(
                response.header("content-type"),
                Some("text/plain; charset=utf-8")
            );
            assert_eq!(response.body, TrySendError::Full(()).to_string());
        }
        let stats = addr.stats();
        assert_eq!((stats.enqueued, stats.rejected), (1, 2));
        handle.stop(false).await;
    })
    .await;
}

#[actix_rt::test]
async fn a_full_drop_newest_mailbox_answers_503_with_retry_after() {
    within(async {
        let addr = full(MailboxConfig::new(1).policy(OverflowPolicy::DropNewest));
        let (server, handle) = serve(addr.clone());
        for path in ["/try/1", "/send/2"] {
            let response = get(server, path).await;
            assert_eq!(response.status, 503, "{path}: {response:?}");
            assert_eq!(response.header("retry-after"), Some("1"), "{path}");
            assert_eq!(response.body, SendError::Dropped(()).to_string());
        }
        assert_eq!(addr.stats().dropped_newest, 2);
        handle.stop(false).await;
    })
    .await;
}

#[actix_rt::test]
async fn a_response_that_does_not_come_in_time_answers_504() {
    within(async {
        let (actor, seen) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(4));
        assert!(addr.pause());
        let (server, handle) = serve(addr.clone());
        let response = get(server, "/timeout/5").await;
        assert_eq!(response.status, 504, "{response:?}");
        assert_eq!(response.header("retry-after"), None);
        assert_eq!(response.body, SendError::<()>::ResponseTimeout.to_string());
        // The message stayed queued: it is handled once the actor resumes.
        assert_eq!(addr.len(), 1);
        assert!(addr.resume());
        until(|| seen.lock().unwrap().len() == 1).await;
        assert_eq!(*seen.lock().unwrap(), [5]);
        handle.stop(false).await;
    })
    .await;
}

#[actix_rt::test]
async fn no_room_in_time_answers_504() {
    within(async {
        let addr = full(MailboxConfig::new(1).policy(OverflowPolicy::Block));
        let (server, handle) = serve(addr.clone());
        let response = get(server, "/timeout/1").await;
        assert_eq!(response.status, 504, "{response:?}");
        assert_eq!(response.header("retry-after"), None);
        assert_eq!(response.body, SendError::Timeout(()).to_string());
        assert_eq!(addr.stats().timed_out, 1);
        handle.stop(false).await;
    })
    .await;
}

#[actix_rt::test]
async fn a_stopped_actor_answers_503_without_retry_after() {
    within(async {
        let (actor, _) = Recorder::new();
        let addr = actor.start_bounded(MailboxConfig::new(4));
        addr.send(Stop).await.unwrap();
        until(|| addr.is_closed()).await;
        let (server, handle) = serve(addr);
        for path in ["/try/1", "/send/2"] {
            let response = get(server, path).await;
            assert_eq!(response.status, 503, "{path}: {response:?}");
            assert_eq!(response.header("retry-after"), None, "{path}");
            assert_eq!(response.body, SendError::Closed(()).to_string());
        }
        handle.stop(false).await;
    })
    .await;
}
