//! The `kyc-webhooks-receiver` binary over HTTP on 127.0.0.1: the README's
//! walkthrough, limits and timeouts, storage failures, and several receiver
//! and worker processes on one database, some killed with SIGKILL.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{batch, predictaid_event, sign, spektr_event, unique, Db, SECRET};
use kyc_webhooks_inbox::{Inbox, Provider, State};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A receiver process; killed (SIGKILL) when dropped.
struct Receiver {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl Receiver {
    fn start(database: &str, args: &[&str]) -> Receiver {
        Receiver::start_with(database, args, &[])
    }

    /// Started with these environment variables too.
    fn start_with(database: &str, args: &[&str], env: &[(&str, &str)]) -> Receiver {
        let log = std::env::temp_dir().join(format!("{}.log", unique("kyc_receiver")));
        let out = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_kyc-webhooks-receiver"))
            .args(["--addr", "127.0.0.1:0", "--database", database])
            .args(args)
            .env("PREDICTAID_WEBHOOK_SECRET", SECRET)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info,kyc_webhooks_inbox=debug")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(at) = text.find("listening on http://") {
                let rest = &text[at + "listening on http://".len()..];
                let addr = rest.split_whitespace().next().unwrap().to_owned();
                return Receiver { child, addr, log };
            }
            if started.elapsed() > Duration::from_secs(30)
                || matches!(child.try_wait(), Ok(Some(_)))
            {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the receiver did not start:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The metrics listener's address (`--metrics-addr 127.0.0.1:0`), from
    /// the log.
    fn metrics_addr(&self) -> String {
        let text = self.log();
        let at = text
            .find("metrics on http://")
            .unwrap_or_else(|| panic!("no metrics listener in the log:\n{text}"));
        let rest = &text[at + "metrics on http://".len()..];
        rest.split('/').next().unwrap().to_owned()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// One HTTP/1.1 POST on its own connection: the status and the body, or
/// `None` when the connection failed.
async fn post(
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    request("POST", addr, path, headers, body).await
}

/// One HTTP/1.1 GET on its own connection.
async fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    request("GET", addr, path, &[], b"").await
}

async fn request(
    method: &str,
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        stream.write_all(body).await.ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        parse_response(&response)
    };
    tokio::time::timeout(Duration::from_secs(20), attempt)
        .await
        .ok()?
}

fn parse_response(response: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(response);
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Some((status, body))
}

async fn post_predictaid(addr: &str, body: &str) -> Option<(u16, String)> {
    let signature = sign(body.as_bytes());
    post(
        addr,
        "/webhooks/predictaid",
        &[("X-PredictAid-Signature", &signature)],
        body.as_bytes(),
    )
    .await
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures")
            .join(path),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_works() {
    let db = Db::sqlite();
    let receiver = Receiver::start(&db.url, &["--workers", "1"]);
    let body = fixture("predictaid/session.created.json");
    let signature = sign(&body);
    let headers = [
        ("X-PredictAid-Signature", signature.as_str()),
        ("X-PredictAid-Event-ID", "evt_203b878966105af9dd9a68b9"),
    ];
    let url = receiver.addr.as_str();
    let first = post(url, "/webhooks/predictaid", &headers, &body)
        .await
        .unwrap();
    assert_eq!(first, (200, "stored\n".to_owned()));
    let again = post(url, "/webhooks/predictaid", &headers, &body)
        .await
        .unwrap();
    assert_eq!(again, (200, "already stored\n".to_owned()));
    let unsigned = post(url, "/webhooks/predictaid", &[], &body).await.unwrap();
    assert_eq!(unsigned, (401, "invalid webhook signature\n".to_owned()));

    let spektr = fixture("spektr/batches/all-types.json");
    let value: serde_json::Value = serde_json::from_slice(&spektr).unwrap();
    let results = value["results"].as_array().unwrap();
    let distinct: HashSet<_> = results.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let (status, text) = post(url, "/webhooks/spektr", &[], &spektr).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        text,
        format!(
            "stored {}, already stored {}, dead-lettered 0\n",
            distinct.len(),
            results.len() - distinct.len()
        )
    );
    // The in-process worker handles everything stored.
    let inbox = Inbox::open(&db.url).await.unwrap();
    let started = Instant::now();
    while inbox.counts().await.unwrap().done < distinct.len() as u64 + 1 {
        assert!(started.elapsed() < Duration::from_secs(30), "not handled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(receiver.log().contains("handled event"));
    // Started without a Spektr token: it says so.
    assert!(receiver
        .log()
        .contains("anyone who can reach the port can store Spektr events"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_timeouts_protect_the_server() {
    let db = Db::sqlite();
    let receiver = Receiver::start(
        &db.url,
        &[
            "--workers",
            "0",
            "--header-timeout-secs",
            "1",
            "--body-timeout-secs",
            "1",
            "--predictaid-body-limit",
            "4096",
        ],
    );
    let addr = receiver.addr.as_str();

    // Over the PredictaID route's limit (one event), signed or not.
    let big = predictaid_event(&"x".repeat(5_000), "s", 1);
    assert_eq!(post_predictaid(addr, &big).await.unwrap().0, 413);

    // Answered before the body is sent: no signature, or a declared body
    // over the Spektr route's 16 MiB.
    for (path, extra) in [("/webhooks/predictaid", ""), ("/webhooks/spektr", "")] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let length = if path.ends_with("spektr") {
            17 << 20
        } else {
            4_000
        };
        let head =
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n{extra}\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("answered before the body")
            .unwrap();
        let status = parse_response(&buf[..n]).unwrap().0;
        assert_eq!(status, if path.ends_with("spektr") { 413 } else { 401 });
    }

    // Slow headers, and an idle connection: closed after the header timeout.
    for partial in [&b"POST /webhooks/spektr HTTP/1.1\r\nHost: x\r\n"[..], b""] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(partial).await.unwrap();
        let started = Instant::now();
        let mut buf = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
        assert!(
            closed.is_ok(),
            "the connection was held past the header timeout"
        );
        assert!(started.elapsed() >= Duration::from_millis(900));
    }

    // A slow body: 408 after the body timeout, nothing stored.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /webhooks/spektr HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"results\": [")
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf))
        .await
        .expect("the slow body was held past the body timeout")
        .unwrap();
    assert_eq!(parse_response(&buf).unwrap().0, 408);
    let inbox = Inbox::open(&db.url).await.unwrap();
    assert_eq!(inbox.counts().await.unwrap(), Default::default());
}

/// The peak resident memory of a process, in bytes (Linux).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_large_unsigned_bodies_at_once_do_not_take_the_memory() {
    let db = Db::sqlite();
    // Bodies of the limit: the body budget (4 turns x the limit, 16 MiB)
    // holds 4 of them, read or being stored.
    const SIZE: usize = 4 << 20;
    let limit = SIZE.to_string();
    let receiver = Receiver::start(&db.url, &["--workers", "0", "--spektr-body-limit", &limit]);
    let before = peak_rss(receiver.child.id());
    // 40 unsigned 4 MiB bodies at once (not JSON: each is dead-lettered
    // whole, once per content). At most 4 are read at a time.
    let sends: Vec<_> = (0..40u8)
        .map(|i| {
            let addr = receiver.addr.clone();
            tokio::spawn(async move {
                let body = vec![b'a' + i % 4; SIZE];
                post(&addr, "/webhooks/spektr", &[], &body).await
            })
        })
        .collect();
    for send in sends {
        assert_eq!(send.await.unwrap().map(|r| r.0), Some(200));
    }
    let grown = peak_rss(receiver.child.id()).saturating_sub(before);
    // 40 bodies read at once would be 160 MiB of bodies alone (216 MiB
    // measured with --spektr-concurrency 64).
    assert!(grown < 100 << 20, "peak memory grew by {} MiB", grown >> 20);
    let inbox = Inbox::open(&db.url).await.unwrap();
    assert_eq!(inbox.counts().await.unwrap().dead_letters, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_2xx_once_the_database_is_gone_and_every_2xx_survives_a_restart() {
    let db = Db::sqlite();
    let dir = db.dir().unwrap().clone();
    let mut receiver = Receiver::start(&db.url, &["--workers", "0"]);
    let mut acked = Vec::new();
    for i in 0..10 {
        let body = predictaid_event(&format!("evt_{i}"), "s", i);
        if post_predictaid(&receiver.addr, &body).await.unwrap().0 == 200 {
            acked.push(format!("evt_{i}"));
        }
    }
    assert_eq!(acked.len(), 10);
    // The directory disappears (moved away) while the receiver runs.
    let moved = dir.with_extension("moved");
    std::fs::rename(&dir, &moved).unwrap();
    for i in 10..20 {
        let body = predictaid_event(&format!("evt_{i}"), "s", i);
        let (status, _) = post_predictaid(&receiver.addr, &body).await.unwrap();
        assert!(
            status >= 500,
            "answered {status} for an event written nowhere"
        );
    }
    receiver.kill();
    std::fs::rename(&moved, &dir).unwrap();
    let receiver = Receiver::start(&db.url, &["--workers", "0"]);
    let inbox = Inbox::open(&db.url).await.unwrap();
    for id in &acked {
        assert!(
            inbox
                .event(Provider::PredictaId, id)
                .await
                .unwrap()
                .is_some(),
            "{id} lost"
        );
    }
    // The provider's retries of the refused ones are stored now.
    let body = predictaid_event("evt_10", "s", 10);
    assert_eq!(post_predictaid(&receiver.addr, &body).await.unwrap().0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(kyc_webhooks_test_postgres),
    ignore = "set KYC_WEBHOOKS_TEST_POSTGRES when building the tests to run them on PostgreSQL"
)]
async fn one_event_sent_50_times_at_once_to_two_receivers_on_postgres_is_stored_once() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let receivers = [
        Receiver::start(&db.url, &["--workers", "0"]),
        Receiver::start(&db.url, &["--workers", "0"]),
    ];
    let body = predictaid_event("evt_once", "s", 1);
    let sends: Vec<_> = (0..50)
        .map(|i| {
            let (addr, body) = (receivers[i % 2].addr.clone(), body.clone());
            tokio::spawn(async move { post_predictaid(&addr, &body).await })
        })
        .collect();
    let mut answers = BTreeMap::new();
    for send in sends {
        let (status, text) = send.await.unwrap().unwrap();
        *answers.entry((status, text)).or_insert(0) += 1;
    }
    assert_eq!(
        answers,
        BTreeMap::from([
            ((200, "already stored\n".to_owned()), 49),
            ((200, "stored\n".to_owned()), 1),
        ])
    );
    let inbox = Inbox::open(&db.url).await.unwrap();
    assert_eq!(inbox.counts().await.unwrap().events(), 1);
}

/// Two receivers and two workers on one database under load; one receiver
/// and one worker are killed with SIGKILL halfway.
async fn kill_9_under_load(db: &Db) {
    let mut receivers = [
        Receiver::start(&db.url, &["--workers", "0"]),
        Receiver::start(&db.url, &["--workers", "0"]),
    ];
    let worker_args = [
        "--workers",
        "2",
        "--handler-sleep-ms",
        "5",
        "--lease-secs",
        "2",
    ];
    let mut workers = [
        Receiver::start(&db.url, &worker_args),
        Receiver::start(&db.url, &worker_args),
    ];
    let addrs: Vec<String> = receivers.iter().map(|r| r.addr.clone()).collect();
    let sent = Arc::new(Mutex::new(HashSet::<(Provider, String)>::new()));
    let acked = Arc::new(Mutex::new(HashSet::<(Provider, String)>::new()));
    let failed_tries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(4);
    // Each sender owns its subjects and sends their events in order, one at a
    // time, retrying a failed delivery on the other receiver as a provider would.
    let senders: Vec<_> = (0..8)
        .map(|sender| {
            let (addrs, sent, acked) = (addrs.clone(), sent.clone(), acked.clone());
            let failed_tries = failed_tries.clone();
            tokio::spawn(async move {
                let mut n = 0i64;
                while Instant::now() < deadline {
                    let subject = format!("sub{sender}_{}", n % 3);
                    let (provider, path, body, ids) = if sender == 0 {
                        let ids: Vec<_> = (0..10).map(|i| format!("sp_{n}_{i}")).collect();
                        let events: Vec<_> = ids
                            .iter()
                            .enumerate()
                            .map(|(i, id)| spektr_event(id, &subject, n * 100 + i as i64))
                            .collect();
                        (Provider::Spektr, "/webhooks/spektr", batch(&events), ids)
                    } else {
                        let id = format!("evt_{sender}_{n}");
                        let body = predictaid_event(&id, &subject, 1_000_000 + n);
                        (Provider::PredictaId, "/webhooks/predictaid", body, vec![id])
                    };
                    let signature = sign(body.as_bytes());
                    sent.lock()
                        .unwrap()
                        .extend(ids.iter().map(|id| (provider, id.clone())));
                    for attempt in 0..6 {
                        let addr = &addrs[(sender + attempt) % 2];
                        let headers = [("X-PredictAid-Signature", signature.as_str())];
                        if let Some((200, _)) = post(addr, path, &headers, body.as_bytes()).await {
                            acked
                                .lock()
                                .unwrap()
                                .extend(ids.iter().map(|id| (provider, id.clone())));
                            break;
                        }
                        failed_tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    n += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    receivers[0].kill();
    workers[0].kill();
    for sender in senders {
        sender.await.unwrap();
    }
    let inbox = Inbox::open(&db.url).await.unwrap();
    let started = Instant::now();
    loop {
        let counts = inbox.counts().await.unwrap();
        if counts.pending + counts.running == 0 {
            break;
        }

        assert!(
            started.elapsed() < Duration::from_secs(90),
            "not all handled: {counts:?}\n{}",
            workers[1]
                .log()
                .lines()
                .filter(|l| !l.contains("handl") && !l.contains("claimed"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (sent, acked) = (sent.lock().unwrap().clone(), acked.lock().unwrap().clone());
    let counts = inbox.counts().await.unwrap();
    for (provider, id) in &acked {
        let stored = inbox.event(*provider, id).await.unwrap();
        assert_eq!(
            stored.map(|e| e.state),
            Some(State::Done),
            "{provider} {id}"
        );
    }
    assert!(counts.events() as usize <= sent.len());
    assert_eq!(counts.done, counts.events());

    // Handler runs, from the workers' logs: (time, id, subject).
    let runs = |log: &str| -> Vec<(String, String, String)> {
        log.lines()
            .filter(|line| line.contains("handling event"))
            .map(|line| {
                let field = |name: &str| {
                    let at = line.find(&format!(" {name}=")).unwrap() + name.len() + 2;
                    line[at..].split_whitespace().next().unwrap().to_owned()
                };
                let time = line.split_whitespace().next().unwrap().to_owned();
                (time, field("id"), field("subject"))
            })
            .collect()
    };
    let (dead_runs, live_runs) = (runs(&workers[0].log()), runs(&workers[1].log()));
    assert!(
        !dead_runs.is_empty(),
        "the killed worker never ran a handler"
    );
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for (_, id, _) in dead_runs.iter().chain(&live_runs) {
        *per_id.entry(id.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = per_id
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, n)| (*id, *n))
        .collect();
    // Only an event the killed worker held can run twice, and it holds at
    // most two (its concurrency); every stored event ran.
    let dead_ids: HashSet<&str> = dead_runs.iter().map(|(_, id, _)| id.as_str()).collect();
    for (id, n) in &twice {
        assert_eq!(*n, 2, "{id} ran {n} times");
        assert!(
            dead_ids.contains(id),
            "{id} ran twice but the killed worker never held it"
        );
    }
    assert!(twice.len() <= 2, "{twice:?}");
    assert_eq!(per_id.len() as u64, counts.events());
    // Per subject, runs in time order follow the events' order (the ids'
    // sequence numbers), across both workers.
    let mut all: Vec<_> = dead_runs.iter().chain(&live_runs).collect();
    all.sort();
    let mut last: HashMap<&str, (i64, i64)> = HashMap::new();
    for (_, id, subject) in all {
        let numbers: Vec<i64> = id
            .split('_')
            .skip(1)
            .filter_map(|p| p.parse().ok())
            .collect();
        let key = match numbers.as_slice() {
            [n, i] if id.starts_with("sp_") => (*n, *i),
            [_, n] => (*n, 0),
            _ => panic!("unexpected id {id}"),
        };
        if let Some(previous) = last.insert(subject.as_str(), key) {
            assert!(previous <= key, "{subject}: {id} ran after {previous:?}");
        }
    }
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr(),
        format_args!(
            "kill -9 under load ({}): sent {}, acknowledged {}, stored {}, handled {}, handled twice {} (deliveries refused or cut off and retried: {})\n",
            if db.is_postgres() { "PostgreSQL" } else { "SQLite" },
            sent.len(),
            acked.len(),
            counts.events(),
            counts.done,
            twice.len(),
            failed_tries.load(std::sync::atomic::Ordering::Relaxed)
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_receiver_and_a_worker_under_load_on_sqlite() {
    kill_9_under_load(&Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(kyc_webhooks_test_postgres),
    ignore = "set KYC_WEBHOOKS_TEST_POSTGRES when building the tests to run them on PostgreSQL"
)]
async fn kill_9_of_a_receiver_and_a_worker_under_load_on_postgres() {
    if let Some(db) = Db::postgres().await {
        kill_9_under_load(&db).await;
    }
}

const TOKEN: &str = "spektr_token_0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_only_the_token_path_stores_spektr_events() {
    let db = Db::sqlite();
    let receiver = Receiver::start_with(
        &db.url,
        &["--workers", "0"],
        &[("RECEIVER_SPEKTR_TOKEN", TOKEN)],
    );
    let addr = receiver.addr.as_str();
    let body = batch(&[spektr_event("sp_token_1", "s1", 1)]);
    let inbox = Inbox::open(&db.url).await.unwrap();
    let wrong = format!("/webhooks/spektr/{}x", &TOKEN[..TOKEN.len() - 1]);
    let longer = format!("/webhooks/spektr/{TOKEN}x");
    let nested = format!("/webhooks/spektr/{TOKEN}/more");
    for path in [
        "/webhooks/spektr",
        "/webhooks/spektr/",
        &wrong,
        &longer,
        &nested,
    ] {
        let (status, _) = post(addr, path, &[], body.as_bytes()).await.unwrap();
        assert_eq!(status, 404, "{path}");
    }
    assert_eq!(inbox.counts().await.unwrap(), Default::default());
    let path = format!("/webhooks/spektr/{TOKEN}");
    let answer = post(addr, &path, &[], body.as_bytes()).await.unwrap();
    assert_eq!(
        answer,
        (
            200,
            "stored 1, already stored 0, dead-lettered 0\n".to_owned()
        )
    );
    assert_eq!(inbox.counts().await.unwrap().events(), 1);
    let stored = inbox
        .event(Provider::Spektr, "sp_token_1")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.authenticated, "stored as authenticated");
    let log = receiver.log();
    assert!(!log.contains(TOKEN), "the token is in the log:\n{log}");
    assert!(!log.contains("anyone who can reach the port"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_file_and_the_secret_file_are_read() {
    let db = Db::sqlite();
    let dir = db.dir().unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    // Newest first, blank lines ignored; the environment's secret still counts.
    let secret_file = dir.join("secrets");
    std::fs::write(&secret_file, "\nwhsec_file_newest\n\n  whsec_file_older\n").unwrap();
    let receiver = Receiver::start(
        &db.url,
        &[
            "--workers",
            "0",
            "--spektr-token-file",
            token_file.to_str().unwrap(),
            "--secret-file",
            secret_file.to_str().unwrap(),
        ],
    );
    let addr = receiver.addr.as_str();
    let body = batch(&[spektr_event("sp_file_1", "s1", 1)]);
    let path = format!("/webhooks/spektr/{TOKEN}");
    assert_eq!(
        post(addr, &path, &[], body.as_bytes()).await.unwrap().0,
        200
    );
    for (i, secret) in ["whsec_file_newest", "whsec_file_older", SECRET]
        .into_iter()
        .enumerate()
    {
        let body = predictaid_event(&format!("evt_file_{i}"), "s", i as i64);
        let signature = kyc_webhooks::predictaid::sign(body.as_bytes(), secret.as_bytes());
        let headers = [("X-PredictAid-Signature", signature.as_str())];
        let answer = post(addr, "/webhooks/predictaid", &headers, body.as_bytes()).await;
        assert_eq!(answer.unwrap().0, 200, "{secret}");
    }
    let body = predictaid_event("evt_file_x", "s", 9);
    let signature = kyc_webhooks::predictaid::sign(body.as_bytes(), b"whsec_unknown");
    let headers = [("X-PredictAid-Signature", signature.as_str())];
    let answer = post(addr, "/webhooks/predictaid", &headers, body.as_bytes()).await;
    assert_eq!(answer.unwrap().0, 401);
    let log = receiver.log();
    for secret in ["whsec_file_newest", "whsec_file_older", SECRET, TOKEN] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spektr_allow_list_refuses_other_peers_with_403() {
    let db = Db::sqlite();
    let inbox = Inbox::open(&db.url).await.unwrap();
    let body = batch(&[spektr_event("sp_allow_1", "s1", 1)]);
    let elsewhere = Receiver::start(&db.url, &["--workers", "0", "--spektr-allow", "10.0.0.0/8"]);
    let answer = post(&elsewhere.addr, "/webhooks/spektr", &[], body.as_bytes()).await;
    assert_eq!(answer.unwrap().0, 403);
    assert_eq!(inbox.counts().await.unwrap(), Default::default());
    // PredictaID is not affected.
    assert_eq!(
        post_predictaid(&elsewhere.addr, &predictaid_event("evt_allow", "s", 1))
            .await
            .unwrap()
            .0,
        200
    );
    // From the environment, comma-separated: 127.0.0.1 is in.
    let here = Receiver::start_with(
        &db.url,
        &["--workers", "0"],
        &[("RECEIVER_SPEKTR_ALLOW", "10.0.0.0/8, 127.0.0.1/32")],
    );
    let answer = post(&here.addr, "/webhooks/spektr", &[], body.as_bytes()).await;
    assert_eq!(answer.unwrap().0, 200);
    assert_eq!(inbox.counts().await.unwrap().events(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_id_header_naming_another_event_is_400_and_stores_nothing() {
    let db = Db::sqlite();
    let receiver = Receiver::start(&db.url, &["--workers", "0"]);
    let body = predictaid_event("evt_real", "s", 1);
    let signature = sign(body.as_bytes());
    let headers = [
        ("X-PredictAid-Signature", signature.as_str()),
        ("X-PredictAid-Event-ID", "evt_other"),
    ];
    let answer = post(
        &receiver.addr,
        "/webhooks/predictaid",
        &headers,
        body.as_bytes(),
    )
    .await;
    assert_eq!(answer.unwrap().0, 400);
    let inbox = Inbox::open(&db.url).await.unwrap();
    assert_eq!(inbox.counts().await.unwrap(), Default::default());
}

#[test]
fn debug_output_shows_no_secret_token_or_database_password() {
    use clap::Parser as _;
    let config = kyc_webhooks_inbox::receiver::Config::try_parse_from([
        "kyc-webhooks-receiver",
        "--database",
        "postgres://inbox:pg_pass_1234@db.example:5432/inbox?sslmode=require&password=pg_query_pass",
        "--secret",
        "whsec_current_abc",
        "--secret",
        "whsec_next_def",
        "--secret-previous",
        "whsec_previous_ghi",
        "--spektr-token",
        TOKEN,
    ])
    .unwrap();
    let text = format!("{config:?}");
    for secret in [
        "pg_pass_1234",
        "pg_query_pass",
        "whsec_current_abc",
        "whsec_next_def",
        "whsec_previous_ghi",
        TOKEN,
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // What is not secret is still shown.
    assert!(
        text.contains("postgres://inbox:***@db.example:5432/inbox?sslmode=require&password=***"),
        "{text}"
    );
    assert!(text.contains("max_connections: 1024"), "{text}");
}

#[test]
fn configuration_that_cannot_work_exits_2_naming_the_flag() {
    let dir = std::env::temp_dir().join(unique("kyc_receiver_config"));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing").display().to_string();
    let empty = dir.join("empty");
    std::fs::write(&empty, "\n\n").unwrap();
    let empty = empty.display().to_string();
    let cases: Vec<(Vec<String>, &str)> = [
        (vec!["--lease-secs=0"], "--lease-secs"),
        (vec!["--lease-secs=inf"], "--lease-secs"),
        (vec!["--lease-secs=NaN"], "--lease-secs"),
        (vec!["--lease-secs=1e20"], "--lease-secs"),
        (vec!["--lease-secs=-1"], "--lease-secs"),
        (vec!["--lease-secs=0.01"], "--lease-secs"),
        (vec!["--spektr-concurrency=0"], "--spektr-concurrency"),
        (vec!["--max-requests=0"], "--max-requests"),
        (vec!["--max-connections=0"], "--max-connections"),
        (vec!["--body-timeout-secs=0"], "--body-timeout-secs"),
        (vec!["--request-timeout-secs=0"], "--request-timeout-secs"),
        (vec!["--header-timeout-secs=0"], "--header-timeout-secs"),
        (
            vec!["--header-timeout-secs=18446744073709551615"],
            "--header-timeout-secs",
        ),
        (vec!["--spektr-body-limit=0"], "--spektr-body-limit"),
        (vec!["--predictaid-body-limit=0"], "--predictaid-body-limit"),
        (vec!["--spektr-allow=10.0.0.0/33"], "--spektr-allow"),
        (vec!["--spektr-token=short"], "--spektr-token"),
        (
            vec!["--spektr-token=has/a/slash/in/it/0123"],
            "--spektr-token",
        ),
        (vec!["--secret-file", &missing], "--secret-file"),
        (vec!["--secret-file", &empty], "--secret-file"),
        (vec!["--spektr-token-file", &missing], "--spektr-token-file"),
    ]
    .into_iter()
    .map(|(args, flag)| (args.into_iter().map(str::to_owned).collect(), flag))
    .collect();
    let mut failures = Vec::new();
    for (args, flag) in cases {
        let stderr_path = dir.join("stderr");
        let mut child = Command::new(env!("CARGO_BIN_EXE_kyc-webhooks-receiver"))
            .args(["--addr", "127.0.0.1:0", "--database"])
            .arg(format!("sqlite://{}", dir.join("inbox.db").display()))
            .args(&args)
            .env("PREDICTAID_WEBHOOK_SECRET", SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        // A receiver that starts serving is a failure, not a hang.
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let code = status.and_then(|s| s.code());
        if code != Some(2)
            || !stderr.contains(flag)
            || stderr.contains("panick")
            || stderr.contains("has/a/slash")
        {
            failures.push(format!("{args:?}: exit {code:?}, stderr: {stderr}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Opens a connection and sends a request's headers, for a body sent later.
async fn start_request(addr: &str, path: &str, headers: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Sends `body` 3 bytes a second, until it is sent, the connection fails, or
/// `until`.
fn trickle(
    mut stream: tokio::net::tcp::OwnedWriteHalf,
    body: Vec<u8>,
    until: Instant,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for chunk in body.chunks(3) {
            if Instant::now() >= until || stream.write_all(chunk).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_is_cut_at_the_body_timeout_however_it_trickles() {
    let db = Db::sqlite();
    let receiver = Receiver::start(&db.url, &["--workers", "0", "--body-timeout-secs", "2"]);
    let addr = receiver.addr.as_str();
    let signature = sign(b"x");
    let requests = [
        ("/webhooks/spektr", String::new()),
        (
            "/webhooks/predictaid",
            format!("X-PredictAid-Signature: {signature}\r\n"),
        ),
    ];
    let started = Instant::now();
    let mut reads = Vec::new();
    for (path, headers) in requests {
        let stream = start_request(addr, path, &format!("{headers}Content-Length: 1000\r\n")).await;
        let (mut read, write) = stream.into_split();
        // 3 bytes a second: each frame well within the old per-frame timeout.
        let sender = tokio::spawn(async move {
            let mut write = write;
            for _ in 0..20 {
                if write.write_all(b"[1,").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        reads.push(tokio::spawn(async move {
            let mut buf = Vec::new();
            let read =
                tokio::time::timeout(Duration::from_secs(10), read.read_to_end(&mut buf)).await;
            sender.abort();
            (path, read.is_ok(), buf, started.elapsed())
        }));
    }
    for read in reads {
        let (path, answered, buf, elapsed) = read.await.unwrap();
        assert!(answered, "{path}: not answered within 10 s");
        assert_eq!(parse_response(&buf).map(|r| r.0), Some(408), "{path}");
        assert!(
            elapsed < Duration::from_millis(3_500),
            "{path}: answered after {elapsed:?}, the body timeout is 2 s"
        );
    }
    let inbox = Inbox::open(&db.url).await.unwrap();
    assert_eq!(inbox.counts().await.unwrap(), Default::default());
}

/// The soft limit on open files, raised towards `wanted` (up to the hard
/// limit) with `prlimit` when it is lower.
fn raise_open_files_limit(wanted: u64) -> u64 {
    let read = || -> Option<(u64, String)> {
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        let mut fields = line.split_whitespace().skip(3);
        let soft = fields.next()?.parse().ok()?;
        Some((soft, fields.next()?.to_owned()))
    };
    let Some((soft, hard)) = read() else {
        return wanted;
    };
    if soft >= wanted {
        return soft;
    }
    let target = match hard.parse::<u64>() {
        Ok(hard) => wanted.min(hard),
        Err(_) => wanted, // "unlimited"
    };
    let _ = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={target}:{hard}"))
        .status();
    read().map_or(soft, |(soft, _)| soft)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_and_slow_bodies_do_not_lock_deliveries_out() {
    // 2,000 idle connections by default; fewer where open files are scarce.
    let wanted: u64 = std::env::var("KYC_RECEIVER_TEST_IDLE_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let limit = raise_open_files_limit(wanted + 256);
    let idle_count = wanted.min(limit.saturating_sub(256)) as usize;
    // The receiver's cap is below the idle count, so idle connections fill it.
    let cap = if idle_count >= 1_024 + 512 {
        1_024 // the default
    } else {
        idle_count / 2
    };
    assert!(
        idle_count >= 100,
        "too few open files ({limit}) for this test"
    );
    let db = Db::sqlite();
    let receiver = Receiver::start(
        &db.url,
        &["--workers", "0", "--max-connections", &cap.to_string()],
    );
    let addr = receiver.addr.clone();
    let until = Instant::now() + Duration::from_secs(20);

    // As many slow Spektr bodies as there are turns (4), each declaring the
    // whole body limit and sending 3 bytes a second.
    let mut slow = Vec::new();
    for _ in 0..4 {
        let stream = start_request(&addr, "/webhooks/spektr", "Content-Length: 16777216\r\n").await;
        let (read, write) = stream.into_split();
        slow.push((
            read,
            trickle(write, b"{\"results\": [".repeat(1_000), until),
        ));
    }
    // Idle connections: half send nothing, half part of a request's headers.
    // Opened for at most 6 s: a receiver that accepts no more leaves the rest
    // in the listen queue or unconnected, and the deliveries below show it.
    let setup_until = Instant::now() + Duration::from_secs(6);
    let mut idle = Vec::with_capacity(idle_count);
    for i in 0..idle_count {
        let left = setup_until.saturating_duration_since(Instant::now());
        let connect = tokio::time::timeout(left, TcpStream::connect(&addr)).await;
        let Ok(Ok(mut stream)) = connect else {
            break;
        };
        if i % 2 == 1 {
            let _ = stream
                .write_all(b"POST /webhooks/predictaid HTTP/1.1\r\nHo")
                .await;
        }
        idle.push(stream);
    }
    let opened = idle.len();

    // A genuine delivery on each route, each answered within a second.
    let body = predictaid_event("evt_genuine", "s", 1);
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(1), post_predictaid(&addr, &body)).await;
    assert_eq!(
        answer.ok().flatten().map(|a| a.0),
        Some(200),
        "PredictaID delivery not answered 200 within 1 s"
    );
    let body = batch(&[spektr_event("sp_genuine", "s", 1)]);
    let answer = tokio::time::timeout(
        Duration::from_secs(1),
        post(&addr, "/webhooks/spektr", &[], body.as_bytes()),
    )
    .await;
    assert_eq!(
        answer.ok().flatten().map(|a| a.0),
        Some(200),
        "Spektr delivery not answered 200 within 1 s"
    );
    let took = started.elapsed();

    // The slow bodies were still being sent, unanswered and open: they
    // held no turn and were not closed as idle.
    for (read, sender) in &slow {
        let mut buf = [0u8; 64];
        let unanswered =
            matches!(read.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
        assert!(
            unanswered && !sender.is_finished(),
            "a slow body ended early"
        );
    }
    for (_, sender) in slow {
        sender.abort();
    }
    // Idle connections were closed to make room.
    let mut closed = 0;
    for stream in &idle {
        let mut buf = [0u8; 64];
        if let Ok(0) = stream.try_read(&mut buf) {
            closed += 1;
        }
    }
    assert_eq!(
        opened, idle_count,
        "not all idle connections could be opened"
    );
    assert!(
        closed >= idle_count - cap,
        "only {closed} of {idle_count} idle connections were closed"
    );
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr(),
        format_args!(
            "{idle_count} idle connections (cap {cap}, {closed} closed) and 4 slow bodies: both deliveries answered in {took:?}\n"
        ),
    );
    let inbox = Inbox::open(&db.url).await.unwrap();
    assert_eq!(inbox.counts().await.unwrap().events(), 2);
}

/// The samples of a Prometheus text page: `(name, labels) -> value`.
fn samples(page: &str) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap();
                    (key.to_owned(), value.trim_matches('"').to_owned())
                })
                .collect();
            ((name.to_owned(), labels), value.parse().unwrap())
        })
        .collect()
}

/// The value of one series (0 when it is absent).
fn sample(page: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples(page)
        .get(&(name.to_owned(), labels))
        .copied()
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_known_traffic_and_the_probes_name_a_failing_database() {
    let db = Db::sqlite();
    let receiver = Receiver::start(
        &db.url,
        &["--workers", "1", "--metrics-addr", "127.0.0.1:0"],
    );
    let (webhooks, metrics) = (receiver.addr.clone(), receiver.metrics_addr());
    assert_ne!(webhooks, metrics);

    // Known traffic: a PredictaID event stored, sent again, and unsigned; a
    // Spektr batch with repeated ids; a request to no route.
    let body = fixture("predictaid/session.created.json");
    let signature = sign(&body);
    let headers = [("X-PredictAid-Signature", signature.as_str())];
    for _ in 0..2 {
        let (status, _) = post(&webhooks, "/webhooks/predictaid", &headers, &body)
            .await
            .unwrap();
        assert_eq!(status, 200);
    }
    let (status, _) = post(&webhooks, "/webhooks/predictaid", &[], &body)
        .await
        .unwrap();
    assert_eq!(status, 401);
    let spektr = fixture("spektr/batches/all-types.json");
    let value: serde_json::Value = serde_json::from_slice(&spektr).unwrap();
    let results = value["results"].as_array().unwrap();
    let distinct: HashSet<_> = results.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let (status, _) = post(&webhooks, "/webhooks/spektr", &[], &spektr)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (status, _) = post(&webhooks, "/elsewhere", &[], b"{}").await.unwrap();
    assert_eq!(status, 404);

    // Every stored event is handled by the one worker: wait for the runs.
    let handled = distinct.len() as f64 + 1.0;
    let started = Instant::now();
    let page = loop {
        let (status, page) = get(&metrics, "/metrics").await.unwrap();
        assert_eq!(status, 200);
        let done: f64 = samples(&page)
            .iter()
            .filter(|((name, labels), _)| {
                name == "kyc_webhooks_handler_runs_total"
                    && labels.get("outcome").map(String::as_str) == Some("done")
            })
            .map(|(_, value)| value)
            .sum();
        if done >= handled || started.elapsed() > Duration::from_secs(30) {
            assert_eq!(done, handled, "handler runs done:\n{page}");
            break page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let deliveries = "kyc_webhooks_deliveries_total";
    assert_eq!(
        sample(
            &page,
            deliveries,
            &[("provider", "predictaid"), ("status", "200")]
        ),
        2.0
    );
    assert_eq!(
        sample(
            &page,
            deliveries,
            &[("provider", "predictaid"), ("status", "401")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &page,
            deliveries,
            &[("provider", "spektr"), ("status", "200")]
        ),
        1.0
    );
    assert!(
        !page.contains("/elsewhere") && !page.contains("404"),
        "{page}"
    );
    let events = "kyc_webhooks_events_total";
    assert_eq!(
        sample(
            &page,
            events,
            &[("provider", "predictaid"), ("outcome", "stored")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &page,
            events,
            &[("provider", "predictaid"), ("outcome", "already_stored")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &page,
            events,
            &[("provider", "spektr"), ("outcome", "stored")]
        ),
        distinct.len() as f64
    );
    assert_eq!(
        sample(
            &page,
            events,
            &[("provider", "spektr"), ("outcome", "already_stored")]
        ),
        (results.len() - distinct.len()) as f64
    );
    assert_eq!(
        sample(
            &page,
            "kyc_webhooks_handler_runs_total",
            &[
                ("provider", "predictaid"),
                ("event_type", "session.created"),
                ("outcome", "done")
            ]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &page,
            "kyc_webhooks_request_duration_seconds_count",
            &[("provider", "predictaid")]
        ),
        3.0
    );
    assert_eq!(
        sample(
            &page,
            "kyc_webhooks_handler_duration_seconds_count",
            &[("provider", "spektr")]
        ),
        distinct.len() as f64
    );
    assert!(
        page.contains("# TYPE kyc_webhooks_request_duration_seconds histogram"),
        "{page}"
    );

    // The gauges, read from the database at a scrape after every run was
    // done: all handled, nothing pending, no backlog, no dead letter.
    let (_, page) = get(&metrics, "/metrics").await.unwrap();
    let gauge = |labels: &[(&str, &str)]| sample(&page, "kyc_webhooks_inbox_events", labels);
    assert_eq!(
        gauge(&[("provider", "spektr"), ("state", "done")]),
        distinct.len() as f64
    );
    assert_eq!(gauge(&[("provider", "predictaid"), ("state", "done")]), 1.0);
    for provider in ["spektr", "predictaid"] {
        for state in ["pending", "running", "parked"] {
            assert_eq!(gauge(&[("provider", provider), ("state", state)]), 0.0);
        }
        assert_eq!(
            sample(
                &page,
                "kyc_webhooks_inbox_oldest_pending_age_seconds",
                &[("provider", provider)]
            ),
            0.0
        );
        assert_eq!(
            sample(
                &page,
                "kyc_webhooks_inbox_dead_letters",
                &[("provider", provider)]
            ),
            0.0
        );
    }
    // Two deliveries stored something new (the PredictaID event once, the
    // Spektr batch): at least one commit group, at most one per delivery.
    let groups = sample(
        &page,
        "kyc_webhooks_commit_rows_count",
        &[("backend", "sqlite")],
    );
    assert!(
        (1.0..=3.0).contains(&groups),
        "commit groups: {groups}\n{page}"
    );
    assert!(
        page.contains("# TYPE kyc_webhooks_commit_duration_seconds histogram"),
        "{page}"
    );

    // The probes, on both ports.
    for addr in [&webhooks, &metrics] {
        assert_eq!(get(addr, "/healthz").await.unwrap().0, 200);
        let (status, text) = get(addr, "/readyz").await.unwrap();
        assert_eq!(
            (status, text.as_str()),
            (
                200,
                "{\"checks\":{\"database\":\"ok\"},\"status\":\"ready\"}\n"
            )
        );
    }
    // A database without the inbox's table: not ready, and the answer says
    // which check failed; the process itself still serves.
    db.execute("ALTER TABLE inbox_events RENAME TO inbox_events_gone")
        .await;
    for addr in [&webhooks, &metrics] {
        let (status, text) = get(addr, "/readyz").await.unwrap();
        assert_eq!(status, 503, "{text}");
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["status"], "unavailable");
        assert!(
            answer["checks"]["database"]
                .as_str()
                .unwrap()
                .contains("inbox_events"),
            "{text}"
        );
        assert_eq!(get(addr, "/healthz").await.unwrap().0, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_answers_the_requests_in_flight_and_leaves_nothing_running() {
    let db = Db::sqlite();
    let mut receiver = Receiver::start(
        &db.url,
        &[
            "--workers",
            "2",
            "--handler-sleep-ms",
            "60000",
            "--shutdown-timeout-secs",
            "2",
        ],
    );
    let addr = receiver.addr.clone();
    let inbox = Inbox::open(&db.url).await.unwrap();

    // Two events whose handlers outlive the shutdown timeout, running.
    for i in 0..2 {
        let body = predictaid_event(
            &format!("evt_long_{i}"),
            &format!("subject_long_{i}"),
            1_700_000_000_000 + i,
        );
        assert_eq!(post_predictaid(&addr, &body).await.unwrap().0, 200);
    }
    let started = Instant::now();
    while inbox.counts().await.unwrap().running < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the handlers did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Requests in flight: deliveries whose bodies are half sent.
    let mut in_flight = Vec::new();
    for i in 0..20 {
        let body = predictaid_event(
            &format!("evt_in_flight_{i}"),
            "subject_in_flight",
            1_700_000_001_000 + i,
        );
        let headers = format!(
            "X-PredictAid-Signature: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            sign(body.as_bytes()),
            body.len()
        );
        let mut stream = start_request(&addr, "/webhooks/predictaid", &headers).await;
        let half = body.len() / 2;
        stream.write_all(&body.as_bytes()[..half]).await.unwrap();
        in_flight.push((stream, body, half));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let terminated = std::process::Command::new("kill")
        .args(["-TERM", &receiver.child.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    // No new connection is accepted any more...
    let late = predictaid_event("evt_late", "subject_late", 1_700_000_002_000);
    assert_eq!(
        post_predictaid(&addr, &late).await,
        None,
        "a new delivery was accepted during the shutdown"
    );
    // ... but every request in flight is answered, and stored.
    for (mut stream, body, half) in in_flight {
        stream.write_all(&body.as_bytes()[half..]).await.unwrap();
        let mut response = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
        assert!(read.is_ok(), "no answer to a request in flight");
        assert_eq!(
            parse_response(&response),
            Some((200, "stored\n".to_owned())),
            "a request in flight was cut: {:?}\n{}",
            String::from_utf8_lossy(&response),
            receiver.log()
        );
    }

    // It exits 0 once the handlers' time is up.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = receiver.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the receiver did not exit:\n{}",
            receiver.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}:\n{}", receiver.log());

    // Nothing is left running: the two stopped handlers' events are
    // released (pending, claimable at once), the others stored.
    let counts = inbox.counts().await.unwrap();
    assert_eq!(counts.running, 0, "{counts:?}");
    for i in 0..2 {
        let event = inbox
            .event(Provider::PredictaId, &format!("evt_long_{i}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.state, State::Pending);
        assert!(
            event
                .last_error
                .as_deref()
                .unwrap_or("")
                .contains("shut down"),
            "{event:?}"
        );
    }
    for i in 0..20 {
        let stored = inbox
            .event(Provider::PredictaId, &format!("evt_in_flight_{i}"))
            .await
            .unwrap();
        assert!(
            stored.is_some(),
            "evt_in_flight_{i} was answered 200 but is not stored"
        );
    }
}

/// A stand-in OpenTelemetry collector: answers every HTTP request 200 and
/// keeps what was posted to `/v1/traces`.
#[cfg(feature = "otel")]
fn collector() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let posted: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let keep = posted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(100) {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            loop {
                let (mut path, mut length) = (String::new(), 0usize);
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(p) = line.split_whitespace().nth(1) {
                    path = p.to_owned();
                }
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; length.min(16 << 20)];
                if reader.read_exact(&mut body).is_err() {
                    break;
                }
                if path == "/v1/traces" {
                    keep.lock().unwrap().push(body);
                }
                let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                if reader.get_mut().write_all(answer).is_err() {
                    break;
                }
            }
        }
    });
    (format!("http://{addr}"), posted)
}

#[cfg(feature = "otel")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_otlp_endpoint_the_handler_run_is_exported_as_a_span() {
    let db = Db::sqlite();
    let (endpoint, posted) = collector();
    let mut receiver = Receiver::start_with(
        &db.url,
        &["--workers", "1"],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
    );
    let body = predictaid_event("evt_traced_1", "subject_traced", 1_700_000_000_000);
    assert_eq!(post_predictaid(&receiver.addr, &body).await.unwrap().0, 200);
    let inbox = Inbox::open(&db.url).await.unwrap();
    let started = Instant::now();
    while inbox.counts().await.unwrap().done < 1 {
        assert!(started.elapsed() < Duration::from_secs(20), "not handled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The spans still buffered are sent at shutdown.
    std::process::Command::new("kill")
        .args(["-TERM", &receiver.child.id().to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    while receiver.child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < Duration::from_secs(20), "did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    // OTLP/protobuf: strings travel as their bytes.
    let posted = posted.lock().unwrap().concat();
    let has = |needle: &str| posted.windows(needle.len()).any(|w| w == needle.as_bytes());
    for needle in [
        "handle",
        "evt_traced_1",
        "inbox.test",
        "kyc-webhooks-receiver",
    ] {
        assert!(
            has(needle),
            "no {needle:?} in the exported spans ({} bytes)",
            posted.len()
        );
    }
}

/// `--retain-done 0s --prune-every 1s`: a handled event's body is pruned by
/// the receiver on its own, and its redelivery is answered 200 and stored
/// nothing new: the id is still recognised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_prunes_handled_bodies_and_still_recognises_their_redelivery() {
    let db = Db::sqlite();
    let receiver = Receiver::start(
        &db.url,
        &[
            "--workers",
            "1",
            "--retain-done",
            "0s",
            "--prune-every",
            "1s",
        ],
    );
    let inbox = Inbox::open(&db.url).await.unwrap();
    let body = predictaid_event("evt_retained", "sess_r", 1_752_127_706_390);
    let (status, _) = post_predictaid(&receiver.addr, &body).await.unwrap();
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let event = inbox
            .event(Provider::PredictaId, "evt_retained")
            .await
            .unwrap()
            .expect("stored");
        if event.state == State::Done && event.body.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "never pruned: {event:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = post_predictaid(&receiver.addr, &body).await.unwrap();
    assert_eq!(status, 200);
    let counts = inbox.counts().await.unwrap();
    assert_eq!((counts.done, counts.pending, counts.running), (1, 0, 0));
}
