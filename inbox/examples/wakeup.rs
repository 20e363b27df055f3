//! The wake-up measurement behind BENCHMARKS.md's "Wake-up across
//! processes": the time from a delivery's 2xx at a receiver that runs no
//! workers (`--workers 0`, a process of its own) to its handler starting in
//! this process, whose workers share the PostgreSQL database. With
//! LISTEN/NOTIFY a commit wakes idle workers at once; without it they would
//! find the event at their next poll (up to `idle_max`, 1 s by default).
//!
//! The deliveries are PredictaID events sent one at a time, with a pause of
//! 0 to `--max-gap-ms` between them (so the workers are idle, as between
//! real deliveries). Prints p50, p90, p99 and the maximum.
//!
//! ```text
//! cargo run --release -p kyc-webhooks-inbox --features receiver --example wakeup -- postgres://root@127.0.0.1:5432/test
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kyc_webhooks::predictaid;
use kyc_webhooks_inbox::receiver::{self, Config};
use kyc_webhooks_inbox::{Handler, Inbox, WorkerOptions};

const SECRET: &str = "whsec_wakeup";

/// What to measure.
#[derive(Parser, Debug)]
struct Args {
    /// The PostgreSQL server (a fresh schema is made and dropped).
    target: String,
    /// Deliveries to time.
    #[arg(long, default_value_t = 1_000)]
    events: u32,
    /// The longest pause between two deliveries.
    #[arg(long, default_value_t = 40)]
    max_gap_ms: u64,
    /// Run as the receiver on this database URL and address (the child).
    #[arg(long, num_args = 2, value_names = ["DATABASE", "ADDR"])]
    serve: Option<Vec<String>>,
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn body(n: u32) -> String {
    format!(
        r#"{{"id": "wake_{n}", "type": "session.created", "occurredAt": "2026-03-23T11:58:41.207Z", "companyId": "comp_1", "aggregateType": "SESSION", "aggregateId": "sess_{n}", "data": {{"customerId": "cust_456", "flowId": "flow_789", "flowVersionId": "ver_001", "clientAppId": "app_123", "status": "PENDING"}}, "version": "v1"}}"#
    )
}

/// A pause of 0 to `max` ms, the same sequence every run (xorshift).
fn gaps(max: u64) -> impl FnMut() -> Duration {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Duration::from_millis(state % (max + 1))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let last = sorted.len() - 1;
    sorted[((last as f64) * p).round() as usize].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Some(serve) = args.serve {
        let config = Config::parse_from([
            "kyc-webhooks-receiver",
            "--database",
            &serve[0],
            "--addr",
            &serve[1],
            "--workers",
            "0",
            "--secret",
            SECRET,
        ]);
        if let Err(error) = receiver::serve(config).await {
            eprintln!("the receiver failed: {error}");
            std::process::exit(1);
        }
        return;
    }

    let schema = common::Schema::create(&args.target, "kyc_inbox_wakeup").await;
    let url = schema.url.clone();
    let inbox = Inbox::open(&url).await.expect("opening the inbox");

    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--serve", &url, &addr.to_string(), "unused"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting the receiver");
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let ready = Instant::now();
    loop {
        let probe = hyper::Request::get(format!("http://{addr}/healthz"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        if matches!(client.request(probe).await, Ok(r) if r.status() == 200) {
            break;
        }
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "the receiver never answered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let started: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let workers = {
        let started = Arc::clone(&started);
        inbox.run_workers(
            WorkerOptions::default(),
            Handler::new(move |delivered| {
                started
                    .lock()
                    .unwrap()
                    .insert(delivered.stored.event_id.clone(), Instant::now());
                async { Ok::<(), String>(()) }
            }),
        )
    };
    // Let the listener connect and the workers go idle.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut gap = gaps(args.max_gap_ms);
    let mut answered = HashMap::new();
    for n in 0..args.events {
        let text = body(n);
        let request = hyper::Request::post(format!("http://{addr}/webhooks/predictaid"))
            .header("content-type", "application/json")
            .header(
                predictaid::SIGNATURE_HEADER,
                predictaid::sign(text.as_bytes(), SECRET.as_bytes()),
            )
            .body(Full::new(Bytes::from(text)))
            .unwrap();
        let response = client.request(request).await.expect("delivering");
        let at = Instant::now();
        assert_eq!(response.status(), 200, "delivery {n}");
        let _ = response.into_body().collect().await;
        answered.insert(format!("wake_{n}"), at);
        tokio::time::sleep(gap()).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while started.lock().unwrap().len() < answered.len() {
        assert!(Instant::now() < deadline, "not every event was handled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    workers.shutdown().await;
    let _ = child.kill();
    let _ = child.wait();

    // A handler may start before the 2xx reaches the sender (the commit
    // notifies first): that counts as 0.
    let mut latencies: Vec<Duration> = {
        let started = started.lock().unwrap();
        answered
            .iter()
            .map(|(id, at)| started[id].saturating_duration_since(*at))
            .collect()
    };
    latencies.sort();
    println!(
        "| {} deliveries, pauses 0-{} ms | p50 {:.1} ms | p90 {:.1} ms | p99 {:.1} ms | max {:.1} ms |",
        latencies.len(),
        args.max_gap_ms,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    drop(inbox);
    schema.drop_now().await;
}
