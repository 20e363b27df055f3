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
//! PostgreSQL: the server's synchronous_commit).
//!
//! ```text
//! cargo run --release -p kyc-webhooks-inbox --example load -- sqlite [postgres://root@127.0.0.1:5432/test]
//! ```

use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kyc_webhooks::predictaid::{self, Secrets};
use kyc_webhooks_inbox::receiver::{self, Config};
use kyc_webhooks_inbox::Inbox;

const SECRET: &[u8] = b"whsec_load";
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

/// Sends for `SECONDS` from `senders` tasks; returns (2xx answers, others).
async fn flood<F>(client: &HttpClient, senders: usize, make: F) -> (u64, u64)
where
    F: Fn(usize, u64) -> (String, String, bool) + Send + Sync + Clone + 'static,
{
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let tasks: Vec<_> = (0..senders)
        .map(|sender| {
            let (client, make) = (client.clone(), make.clone());
            tokio::spawn(async move {
                let (mut ok, mut bad, mut n) = (0, 0, 0);
                while Instant::now() < deadline {
                    let (url, body, signed) = make(sender, n);
                    if post(&client, &url, body, signed).await == 200 {
                        ok += 1;
                    } else {
                        bad += 1;
                    }
                    n += 1;
                }
                (ok, bad)
            })
        })
        .collect();
    let mut total = (0, 0);
    for task in tasks {
        let (ok, bad) = task.await.unwrap();
        total = (total.0 + ok, total.1 + bad);
    }
    total
}

async fn bench(label: &str, database: &str) {
    let inbox = Inbox::open(database).await.expect("opening the inbox");
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
    let run = std::process::id();
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

    for senders in [8, 32] {
        let url = predictaid_url.clone();
        let (ok, bad) = flood(&client, senders, move |sender, n| {
            let id = format!("evt_{run}_{senders}_{sender}_{n}");
            (url.clone(), predictaid_body(&id, n), true)
        })
        .await;
        println!(
            "| {label} | PredictaID, {senders} senders | {:.0} deliveries/s | non-2xx: {bad} |",
            ok as f64 / SECONDS as f64
        );
    }
    for size in [1u64, 100, 1_000] {
        let url = spektr_url.clone();
        let (ok, bad) = flood(&client, 4, move |sender, n| {
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
            "| {label} | Spektr, batches of {size}, 4 senders | {:.0} events/s | non-2xx: {bad} |",
            (ok * size) as f64 / SECONDS as f64
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
    let targets: Vec<String> = std::env::args().skip(1).collect();
    let targets = if targets.is_empty() {
        vec!["sqlite".to_owned()]
    } else {
        targets
    };
    println!("| backend | load | throughput | notes |\n|---|---|---|---|");
    for target in targets {
        if target == "sqlite" {
            let dir = std::env::temp_dir().join(format!("kyc_inbox_load_{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            bench(
                "SQLite",
                &format!("sqlite://{}", dir.join("inbox.db").display()),
            )
            .await;
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            // A fresh schema, dropped afterwards.
            let schema = format!("kyc_inbox_load_{}", std::process::id());
            let (admin, connection) = tokio_postgres::connect(&target, tokio_postgres::NoTls)
                .await
                .expect("connecting to PostgreSQL");
            tokio::spawn(connection);
            admin
                .batch_execute(&format!("CREATE SCHEMA {schema}"))
                .await
                .unwrap();
            let separator = if target.contains('?') { '&' } else { '?' };
            let url = format!("{target}{separator}options=-csearch_path%3D{schema}");
            bench("PostgreSQL", &url).await;
            admin
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .unwrap();
        }
    }
}
