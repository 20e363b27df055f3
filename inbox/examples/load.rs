//! The load tool behind BENCHMARKS.md's "Inbox" section: runs the receiver's
//! router in-process on 127.0.0.1 (store only, no workers) and measures, over
//! HTTP with keep-alive:
//! - PredictaID deliveries/s with 8 and 32 concurrent senders;
//! - Spektr events/s in batches of 1, 100 and 1,000 events (4 senders, the
//!   route's default concurrency);
//! - a 70,000-event batch (about 15 MB): time to 200, and the latency of the
//!   PredictaID deliveries sent meanwhile.
//!
//! Every 2xx counted is committed (SQLite: WAL, synchronous = FULL;
//! PostgreSQL: the server's synchronous_commit). Each row gives the p50 and
//! p99 latency of the requests.
//!
//! `--workers N` also runs N claim loops (a handler that returns at once)
//! while the senders send. `--backlog N` first stores N open events of one
//! subject (Spektr batches of 2,000 through the library) and holds that
//! subject's head in a handler that never returns (as a slow handler in
//! another process would), then measures only the PredictaID rows: every
//! claim the workers make meanwhile must step over that subject.
//!
//! ```text
//! cargo run --release -p kyc-webhooks-inbox --features receiver --example load -- sqlite [postgres://root@127.0.0.1:5432/test]
//! cargo run --release -p kyc-webhooks-inbox --features receiver --example load -- --backlog 500000 --workers 1 sqlite
//! ```

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kyc_webhooks::predictaid::{self, Secrets};
use kyc_webhooks_inbox::receiver::{self, Config};
use kyc_webhooks_inbox::{Handler, Inbox, WorkerOptions};

const SECRET: &[u8] = b"whsec_load";
const BACKLOG_BATCH: u64 = 2_000;

/// What to measure.
#[derive(Parser, Debug, Clone)]
struct Args {
    /// `sqlite` (a fresh file) and/or `postgres://...` URLs (a fresh schema each).
    targets: Vec<String>,
    /// Open events of one subject to store first (0: none); then only the
    /// PredictaID rows are measured.
    #[arg(long, default_value_t = 0)]
    backlog: u64,
    /// Claim loops running while the senders send.
    #[arg(long, default_value_t = 0)]
    workers: usize,
}

const SECONDS: u64 = 5;

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn predictaid_body(id: &str, n: u64) -> String {
    format!(
        r#"{{"id": "{id}", "type": "session.created", "occurredAt": "2026-03-23T11:58:41.207Z", "companyId": "comp_1", "aggregateType": "SESSION", "aggregateId": "sess_{}", "data": {{"customerId": "cust_456", "flowId": "flow_789", "flowVersionId": "ver_001", "clientAppId": "app_123", "status": "PENDING"}}, "version": "v1"}}"#,
        n % 1000
    )
}

fn spektr_event(id: &str, n: u64) -> String {
    format!(
        r#"{{"id": "{id}", "spektrId": "cust_{}", "workspaceId": "559ae2249db800a7b0fa02ad58b196ae", "eventType": "customer_tag_add", "timestamp": {}, "data": {{"tagName": "tag_{n}", "action": "add"}}}}"#,
        n % 1000,
        1_752_127_706_390 + n
    )
}

async fn post(client: &HttpClient, url: &str, body: String, signed: bool) -> u16 {
    let mut request = hyper::Request::post(url).header("content-type", "application/json");
    if signed {
        request = request.header(
            predictaid::SIGNATURE_HEADER,
            predictaid::sign(body.as_bytes(), SECRET),
        );
    }
    let request = request.body(Full::new(Bytes::from(body))).unwrap();
    match client.request(request).await {
        Ok(response) => {
            let status = response.status().as_u16();
            let _ = response.into_body().collect().await;
            status
        }
        Err(_) => 0,
    }
}

/// What a flood measured.
struct Flooded {
    ok: u64,
    bad: u64,
    latencies: Vec<Duration>,
}

impl Flooded {
    fn percentile(&mut self, p: f64) -> f64 {
        self.latencies.sort();
        let Some(last) = self.latencies.len().checked_sub(1) else {
            return 0.0;
        };
        let at = ((last as f64) * p).round() as usize;
        self.latencies[at.min(last)].as_secs_f64() * 1e3
    }

    fn notes(&mut self) -> String {
        let (p50, p99) = (self.percentile(0.5), self.percentile(0.99));
        format!("non-2xx: {}, p50 {p50:.1} ms, p99 {p99:.1} ms", self.bad)
    }
}

/// Sends for `SECONDS` from `senders` tasks.
async fn flood<F>(client: &HttpClient, senders: usize, make: F) -> Flooded
where
    F: Fn(usize, u64) -> (String, String, bool) + Send + Sync + Clone + 'static,
{
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let tasks: Vec<_> = (0..senders)
        .map(|sender| {
            let (client, make) = (client.clone(), make.clone());
            tokio::spawn(async move {
                let (mut ok, mut bad, mut n) = (0, 0, 0);
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let (url, body, signed) = make(sender, n);
                    let sent = Instant::now();
                    if post(&client, &url, body, signed).await == 200 {
                        ok += 1;
                    } else {
                        bad += 1;
                    }
                    latencies.push(sent.elapsed());
                    n += 1;
                }
                (ok, bad, latencies)
            })
        })
        .collect();
    let mut total = Flooded {
        ok: 0,
        bad: 0,
        latencies: Vec::new(),
    };
    for task in tasks {
        let (ok, bad, latencies) = task.await.unwrap();
        total.ok += ok;
        total.bad += bad;
        total.latencies.extend(latencies);
    }
    total
}

/// Stores `n` open events of subject `backlog` (older than anything sent
/// later), then claims the subject's head with a handler that never returns,
/// under a lease renewed for the rest of the run.
async fn backlog(inbox: &Inbox, label: &str, n: u64, run: u32) {
    let started = Instant::now();
    let mut stored = 0;
    while stored < n {
        let size = BACKLOG_BATCH.min(n - stored);
        let events: Vec<_> = (stored..stored + size)
            .map(|i| {
                format!(
                    r#"{{"id": "backlog_{run}_{i}", "spektrId": "backlog", "workspaceId": "w", "eventType": "customer_tag_add", "timestamp": {}, "data": {{"tagName": "t", "action": "add"}}}}"#,
                    1_700_000_000_000 + i
                )
            })
            .collect();
        inbox
            .ingest_spektr(format!("{{\"results\": [{}]}}", events.join(", ")))
            .await
            .expect("storing the backlog");
        stored += size;
    }
    let options = WorkerOptions {
        lease: Duration::from_secs(3_600),
        ..WorkerOptions::default()
    };
    let hanging = Handler::new(|_| async {
        std::future::pending::<()>().await;
        Ok::<(), String>(())
    });
    let holder = inbox.clone();
    tokio::spawn(async move { holder.handle_next(&options, &hanging).await });
    while inbox.counts().await.expect("counting").running == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "| {label} | a backlog of {n} open events in one subject, its head held | stored in {:.1} s | |",
        started.elapsed().as_secs_f64()
    );
}

async fn bench(label: &str, database: &str, args: &Args) {
    let inbox = Inbox::open(database).await.expect("opening the inbox");
    let run = std::process::id();
    if args.backlog > 0 {
        backlog(&inbox, label, args.backlog, run).await;
    }
    let handled = Arc::new(AtomicU64::new(0));
    let workers = (args.workers > 0).then(|| {
        let handled = Arc::clone(&handled);
        inbox.run_workers(
            WorkerOptions {
                concurrency: args.workers,
                ..WorkerOptions::default()
            },
            Handler::new(move |_| {
                handled.fetch_add(1, Ordering::Relaxed);
                async { Ok::<(), String>(()) }
            }),
        )
    });
    let config = Config::parse_from(["load", "--workers", "0"]);
    let app = receiver::router(inbox, Secrets::new([SECRET]), &config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        receiver::serve_on(listener, app, &config, std::future::pending()).await;
    });
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(64)
        .build_http();
    let predictaid_url = format!("http://{addr}/webhooks/predictaid");
    let spektr_url = format!("http://{addr}/webhooks/spektr");
    let setting = format!(
        "{}{} workers",
        if args.backlog > 0 {
            format!("backlog {}, ", args.backlog)
        } else {
            String::new()
        },
        args.workers
    );
    if args.backlog > 0 {
        predictaid_rows(&client, &predictaid_url, label, &setting, run, &handled).await;
        if let Some(workers) = workers {
            workers.shutdown().await;
        }
        return;
    }
    big_batch(
        &client,
        &spektr_url,
        &predictaid_url,
        label,
        "on an empty database",
        run,
        0,
    )
    .await;

    predictaid_rows(&client, &predictaid_url, label, &setting, run, &handled).await;
    for size in [1u64, 100, 1_000] {
        let url = spektr_url.clone();
        let mut flooded = flood(&client, 4, move |sender, n| {
            let events: Vec<_> = (0..size)
                .map(|i| spektr_event(&format!("sp_{run}_{size}_{sender}_{n}_{i}"), n * size + i))
                .collect();
            (
                url.clone(),
                format!("{{\"results\": [{}]}}", events.join(", ")),
                false,
            )
        })
        .await;
        println!(
            "| {label} | Spektr, batches of {size}, 4 senders, {setting} | {:.0} events/s | {} |",
            (flooded.ok * size) as f64 / SECONDS as f64,
            flooded.notes()
        );
    }

    big_batch(
        &client,
        &spektr_url,
        &predictaid_url,
        label,
        "after the runs above",
        run,
        1,
    )
    .await;
    if let Some(workers) = workers {
        workers.shutdown().await;
    }
}

/// PredictaID deliveries with 8, then 32 senders; with workers, how many
/// events they handled meanwhile.
async fn predictaid_rows(
    client: &HttpClient,
    url: &str,
    label: &str,
    setting: &str,
    run: u32,
    handled: &AtomicU64,
) {
    for senders in [8, 32] {
        let url = url.to_owned();
        let handled_before = handled.load(Ordering::Relaxed);
        let mut flooded = flood(client, senders, move |sender, n| {
            let id = format!("evt_{run}_{senders}_{sender}_{n}");
            (url.clone(), predictaid_body(&id, n), true)
        })
        .await;
        println!(
            "| {label} | PredictaID, {senders} senders, {setting} | {:.0} deliveries/s | {}, handled by the workers: {:.0}/s |",
            flooded.ok as f64 / SECONDS as f64,
            flooded.notes(),
            (handled.load(Ordering::Relaxed) - handled_before) as f64 / SECONDS as f64
        );
    }
}

/// One 70,000-event batch, with a PredictaID delivery every 20 ms meanwhile.
async fn big_batch(
    client: &HttpClient,
    spektr_url: &str,
    predictaid_url: &str,
    label: &str,
    when: &str,
    run: u32,
    round: u32,
) {
    let events: Vec<_> = (0..70_000u64)
        .map(|i| spektr_event(&format!("big_{run}_{round}_{i}"), i))
        .collect();
    let body = format!("{{\"results\": [{}]}}", events.join(", "));
    let megabytes = body.len() as f64 / 1e6;
    let started = Instant::now();
    let big = {
        let (client, url) = (client.clone(), spektr_url.to_owned());
        tokio::spawn(async move {
            let status = post(&client, &url, body, false).await;
            (status, started.elapsed())
        })
    };
    let mut latencies = Vec::new();
    let mut n = 0;
    while !big.is_finished() {
        let t = Instant::now();
        let id = format!("during_{run}_{round}_{n}");
        let status = post(client, predictaid_url, predictaid_body(&id, n), true).await;
        latencies.push((t.elapsed(), status));
        n += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, took) = big.await.unwrap();
    let worst = latencies.iter().map(|l| l.0).max().unwrap_or_default();
    let all_ok = latencies.iter().all(|l| l.1 == 200);
    println!(
        "| {label} | one 70,000-event batch ({megabytes:.1} MB), {when} | answered {status} in {:.2} s | {} PredictaID deliveries meanwhile, slowest {:.0} ms{} |",
        took.as_secs_f64(),
        latencies.len(),
        worst.as_secs_f64() * 1e3,
        if all_ok { "" } else { ", some not 2xx" }
    );
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let targets = if args.targets.is_empty() {
        vec!["sqlite".to_owned()]
    } else {
        args.targets.clone()
    };
    println!("| backend | load | throughput | notes |\n|---|---|---|---|");
    for target in targets {
        if target == "sqlite" {
            let dir = std::env::temp_dir().join(format!("kyc_inbox_load_{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            bench(
                "SQLite",
                &format!("sqlite://{}", dir.join("inbox.db").display()),
                &args,
            )
            .await;
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            // A fresh schema, dropped afterwards.
            let schema = common::Schema::create(&target, "kyc_inbox_load").await;
            bench("PostgreSQL", &schema.url, &args).await;
            schema.drop_now().await;
        }
    }
}
