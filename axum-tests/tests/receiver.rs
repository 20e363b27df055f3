//! The receiver example, over real HTTP on 127.0.0.1.
//!
//! The example's code is compiled into this test (`#[path]`), and each test
//! starts it the way its `main` does (configuration from flags, the store,
//! the router, `axum::serve`) on an ephemeral port, with its files in a fresh
//! temporary directory. A small HTTP/1.1 client over `std::net::TcpStream`
//! talks to it.

#[path = "../examples/receiver.rs"]
#[allow(dead_code)]
mod receiver;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

use kyc_webhooks::axum::DEFAULT_BODY_LIMIT;
use kyc_webhooks::{predictaid, spektr};
use serde_json::Value;

const SECRET: &str = "whsec_receiver_test";
const LIMIT: usize = 64 * 1024;

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "kyc-webhooks-receiver-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn events(&self) -> PathBuf {
        self.0.join("events.jsonl")
    }

    fn dead_letters(&self) -> PathBuf {
        self.0.join("dead-letters.log")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running receiver; stopped (gracefully) on drop.
struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(dir: &TempDir) -> Server {
        let (events, dead_letters) = (dir.events(), dir.dead_letters());
        let args = [
            "--addr=127.0.0.1:0",
            "--secret",
            SECRET,
            "--events",
            events.to_str().unwrap(),
            "--dead-letters",
            dead_letters.to_str().unwrap(),
            "--body-limit",
            &LIMIT.to_string(),
        ];
        let config = receiver::Config::from_args(args.map(String::from), |_| None).unwrap();
        assert!(config.addr.ip().is_loopback());
        let store = receiver::Store::open(&config.events, &config.dead_letters).unwrap();
        let app = receiver::router(config.secrets, store, config.body_limit);

        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(config.addr).await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        Server {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
        post(self.addr, path, headers, body)
    }

    fn predictaid(&self, body: &[u8], signature: &str) -> (u16, String) {
        self.post(
            "/webhooks/predictaid",
            &[(predictaid::SIGNATURE_HEADER, signature)],
            body,
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One HTTP/1.1 POST on a new connection; the status and the body of the answer.
fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        predictaid::USER_AGENT,
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    // A server that refuses a body (413) may answer and close before reading
    // it all: then the write fails, and the answer is what counts.
    let _ = stream.write_all(&bytes);

    let mut response = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buffer[..n]),
            // A reset after the answer came (the unread body, above).
            Err(_) if response.windows(4).any(|w| w == b"\r\n\r\n") => break,
            Err(error) => panic!("POST {path}: {error}"),
        }
    }
    parse_response(&response)
}

fn parse_response(response: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let mut lines = head.lines();
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut body = body.to_owned();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => body.truncate(value.trim().parse().unwrap()),
            "transfer-encoding" => panic!("this client does not decode {value}"),
            _ => {}
        }
    }
    (status, body)
}

/// The (provider, id, event) of each line of the events file.
fn stored(dir: &TempDir) -> Vec<(String, String, Value)> {
    let text = std::fs::read_to_string(dir.events()).unwrap_or_default();
    text.lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            (
                record["provider"].as_str().unwrap().to_owned(),
                record["id"].as_str().unwrap().to_owned(),
                record["event"].clone(),
            )
        })
        .collect()
}

/// Each dead letter: its header line and its raw bytes.
fn dead_letters(dir: &TempDir) -> Vec<(Value, Vec<u8>)> {
    let bytes = std::fs::read(dir.dead_letters()).unwrap_or_default();
    let mut letters = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let end = rest.iter().position(|&b| b == b'\n').unwrap();
        let header: Value = serde_json::from_slice(&rest[..end]).unwrap();
        let len = usize::try_from(header["bytes"].as_u64().unwrap()).unwrap();
        let raw = rest[end + 1..end + 1 + len].to_vec();
        assert_eq!(
            rest[end + 1 + len],
            b'\n',
            "a dead letter ends with a newline"
        );
        rest = &rest[end + 2 + len..];
        letters.push((header, raw));
    }
    letters
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures")
            .join(path),
    )
    .unwrap()
}

#[test]
fn a_signed_predictaid_event_is_stored_once() {
    let dir = TempDir::new("predictaid-once");
    let body = fixture("predictaid/kyt.transaction.pipeline.completed.json");
    let event = predictaid::parse(&body).unwrap();
    let signature = predictaid::sign(&body, SECRET.as_bytes());
    let with_id = [
        (predictaid::SIGNATURE_HEADER, signature.as_str()),
        (predictaid::EVENT_ID_HEADER, event.id.as_str()),
    ];
    {
        let server = Server::start(&dir);
        assert_eq!(
            server.post("/webhooks/predictaid", &with_id, &body),
            (200, "stored\n".to_owned())
        );
        let lines = stored(&dir);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].0, "predictaid");
        assert_eq!(lines[0].1, event.id);
        assert_eq!(lines[0].2, serde_json::to_value(&event).unwrap());

        // The same delivery again: acknowledged, not stored twice.
        assert_eq!(
            server.post("/webhooks/predictaid", &with_id, &body),
            (200, "already stored\n".to_owned())
        );
        assert_eq!(stored(&dir).len(), 1);
    }
    // After a restart, the ids come back from the file.
    let server = Server::start(&dir);
    assert_eq!(
        server.predictaid(&body, &signature),
        (200, "already stored\n".to_owned())
    );
    assert_eq!(stored(&dir).len(), 1);
    // Another event is stored.
    let other = fixture("predictaid/session.created.json");
    let (status, _) = server.predictaid(&other, &predictaid::sign(&other, SECRET.as_bytes()));
    assert_eq!(status, 200);
    assert_eq!(stored(&dir).len(), 2);
    assert!(dead_letters(&dir).is_empty());
}

#[test]
fn unsigned_or_forged_predictaid_deliveries_are_401_and_store_nothing() {
    let dir = TempDir::new("predictaid-401");
    let server = Server::start(&dir);
    let body = fixture("predictaid/session.created.json");
    let signature = predictaid::sign(&body, SECRET.as_bytes());

    let mut tampered = body.clone();
    let at = tampered.iter().position(|&b| b == b'P').unwrap();
    tampered[at] = b'Q'; // "PENDING" -> "QENDING"
    type Case<'a> = (&'a str, &'a [u8], Vec<(&'a str, String)>);
    let cases: [Case; 5] = [
        (
            "tampered body",
            &tampered,
            vec![(predictaid::SIGNATURE_HEADER, signature.clone())],
        ),
        (
            "wrong secret",
            &body,
            vec![(
                predictaid::SIGNATURE_HEADER,
                predictaid::sign(&body, b"whsec_wrong"),
            )],
        ),
        ("missing header", &body, vec![]),
        (
            "malformed header",
            &body,
            vec![(predictaid::SIGNATURE_HEADER, signature[..40].to_owned())],
        ),
        (
            "replayed under another event id",
            &body,
            vec![
                (predictaid::SIGNATURE_HEADER, signature.clone()),
                (predictaid::EVENT_ID_HEADER, "evt_other".to_owned()),
            ],
        ),
    ];
    for (what, body, headers) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let (status, text) = server.post("/webhooks/predictaid", &headers, body);
        if what.starts_with("replayed") {
            assert_eq!(status, 400, "{what}: {text}");
        } else {
            assert_eq!(
                (status, text.as_str()),
                (401, "invalid webhook signature"),
                "{what}"
            );
        }
    }
    assert!(stored(&dir).is_empty());
    assert!(dead_letters(&dir).is_empty());
}

#[test]
fn an_authentic_predictaid_body_that_does_not_parse_is_dead_lettered_raw() {
    let dir = TempDir::new("predictaid-dead");
    let server = Server::start(&dir);
    let body =
        b"{\"id\": \"evt_9\", \"type\": \"session.created\", \"data\": \xff\r\n oops".to_vec();
    let (status, text) = server.predictaid(&body, &predictaid::sign(&body, SECRET.as_bytes()));
    assert_eq!((status, text.as_str()), (200, "dead-lettered\n"));
    assert!(stored(&dir).is_empty());
    let letters = dead_letters(&dir);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].0["provider"], "predictaid");
    assert_eq!(letters[0].1, body, "byte-exact");
}

/// A batch of documented events with unique ids, and one broken event (odd
/// spacing that must survive byte for byte) among them.
fn batch_with_a_broken_event() -> (Vec<u8>, Vec<String>, String) {
    let all: Value = serde_json::from_slice(&fixture("spektr/batches/all-types.json")).unwrap();
    let mut good = Vec::new();
    let mut ids = Vec::new();
    for (i, event) in all["results"].as_array().unwrap().iter().enumerate() {
        let mut event = event.clone();
        let id = format!("evt_{i:03}");
        event["id"] = id.clone().into();
        ids.push(id);
        good.push(event.to_string());
    }
    let broken = "{ \"id\" :\"evt_broken\",\n  \"spektrId\": \"s1\", \"eventType\": \"alert_resolved\",\t\"timestamp\": 1752662761594, \"data\": {\"alertId\": 5} }".to_owned();
    let mut items = good.clone();
    items.insert(2, broken.clone());
    let body = format!("{{\"results\": [\n  {}\n]}}", items.join(",\n  "));
    (body.into_bytes(), ids, broken)
}

#[test]
fn a_spektr_batch_stores_the_good_events_and_dead_letters_the_broken_one() {
    let dir = TempDir::new("spektr-batch");
    let server = Server::start(&dir);
    let (body, ids, broken) = batch_with_a_broken_event();
    let count = ids.len();
    let (status, text) = server.post("/webhooks/spektr", &[], &body);
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        text,
        format!("stored {count}, already stored 0, dead-lettered 1\n")
    );

    let lines = stored(&dir);
    let stored_ids: Vec<&str> = lines.iter().map(|(_, id, _)| id.as_str()).collect();
    assert_eq!(stored_ids, ids);
    assert!(lines.iter().all(|(provider, _, _)| provider == "spektr"));
    // Each stored event is the typed event, re-serialized.
    let events = spektr::parse_batch_lenient(&body).unwrap();
    let first = events[0].as_ref().unwrap();
    assert_eq!(lines[0].2, serde_json::to_value(first).unwrap());

    let letters = dead_letters(&dir);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].0["provider"], "spektr");
    assert_eq!(letters[0].0["index"], 2);
    assert_eq!(letters[0].1, broken.as_bytes(), "byte-exact");
    assert!(spektr::parse_event(&letters[0].1).is_err());

    // Redelivered (Spektr retries): nothing stored twice.
    let (status, text) = server.post("/webhooks/spektr", &[], &body);
    assert_eq!(status, 200);
    assert_eq!(
        text,
        format!("stored 0, already stored {count}, dead-lettered 1\n")
    );
    assert_eq!(stored(&dir).len(), count);
}

#[test]
fn a_spektr_body_that_is_not_a_batch_is_400() {
    let dir = TempDir::new("spektr-400");
    let server = Server::start(&dir);
    for body in [&b"this is not JSON"[..], b"{\"results\": 5}", b""] {
        let (status, text) = server.post("/webhooks/spektr", &[], body);
        assert_eq!(status, 400, "{body:?}: {text}");
    }
    assert!(stored(&dir).is_empty());
    assert!(dead_letters(&dir).is_empty());
}

#[test]
fn a_body_over_the_limit_is_413() {
    let dir = TempDir::new("limit");
    let server = Server::start(&dir);
    // A valid batch, just over the limit.
    let (one, _, _) = batch_with_a_broken_event();
    let event =
        r#"{"id": "e", "spektrId": "s", "eventType": "a_future_type", "timestamp": 1, "data": {}}"#;
    let count = LIMIT / event.len() + 1;
    let body = format!("{{\"results\": [{}]}}", vec![event; count].join(","));
    assert!(body.len() > LIMIT && one.len() < LIMIT);
    let (status, _) = server.post("/webhooks/spektr", &[], body.as_bytes());
    assert_eq!(status, 413);

    let big = vec![b' '; LIMIT + 1];
    let (status, _) = server.predictaid(&big, &predictaid::sign(&big, SECRET.as_bytes()));
    assert_eq!(status, 413);
    assert!(stored(&dir).is_empty());
    assert!(dead_letters(&dir).is_empty());

    // Under the limit, the same endpoint still works.
    let (status, _) = server.post("/webhooks/spektr", &[], &one);
    assert_eq!(status, 200);
}

#[test]
fn configuration_from_flags_and_environment() {
    let env = |name: &str| match name {
        "PREDICTAID_WEBHOOK_SECRET" => Some("whsec_new".to_owned()),
        "PREDICTAID_WEBHOOK_SECRET_PREVIOUS" => Some("whsec_old".to_owned()),
        "RECEIVER_ADDR" => Some("127.0.0.1:8123".to_owned()),
        _ => None,
    };
    let config = receiver::Config::from_args(Vec::new(), env).unwrap();
    assert_eq!(config.addr, "127.0.0.1:8123".parse().unwrap());
    assert_eq!(config.secrets.len(), 2);
    assert_eq!(config.body_limit, DEFAULT_BODY_LIMIT);
    assert_eq!(config.events, Path::new("events.jsonl"));
    assert_eq!(config.dead_letters, Path::new("dead-letters.log"));

    // Flags win over the environment.
    let args = [
        "--secret",
        "whsec_flag",
        "--addr",
        "127.0.0.1:9",
        "--body-limit=1000",
    ];
    let config = receiver::Config::from_args(args.map(String::from), env).unwrap();
    assert_eq!(config.secrets.len(), 1);
    assert_eq!(config.addr.port(), 9);
    assert_eq!(config.body_limit, 1000);

    // No secret, or an empty one: refused at start-up.
    let no_secret = receiver::Config::from_args(Vec::new(), |_| None);
    assert!(no_secret.is_err());
    let empty = receiver::Config::from_args(["--secret", ""].map(String::from), |_| None);
    assert!(empty.is_err());
    for bad in [
        &["--addr", "nowhere"][..],
        &["--body-limit", "lots"],
        &["--secret"],
        &["--unknown", "x"],
    ] {
        let args =
            std::iter::once("--secret=s".to_owned()).chain(bad.iter().map(|s| s.to_string()));
        assert!(
            receiver::Config::from_args(args, |_| None).is_err(),
            "{bad:?}"
        );
    }
}
