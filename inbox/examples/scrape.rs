//! The scrape cost behind BENCHMARKS.md's "Scrape cost": stores `--events`
//! events (Spektr batches of 2,000 through the library, spread over 1,000
//! subjects), hands 1 in 100 of them to a handler (done), then times what a
//! metrics scrape reads from the database, `Inbox::depth` (tallies and one
//! index lookup per provider), against the full count behind
//! `kyc-webhooks inbox stats` (`Inbox::counts`), each the median of 20.
//!
//! ```text
//! cargo run --release -p kyc-webhooks-inbox --example scrape -- --events 1000000 sqlite postgres://root@127.0.0.1:5432/test
//! ```

mod common;

use std::time::{Duration, Instant};

use clap::Parser;
use kyc_webhooks_inbox::{Handler, Inbox, WorkerOptions};

/// What to measure.
#[derive(Parser, Debug)]
struct Args {
    /// `sqlite` (a fresh file) and/or `postgres://...` URLs (a fresh schema each).
    targets: Vec<String>,
    /// Events to store first.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
}

const BATCH: u64 = 2_000;

async fn median<F, Fut, T>(mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        f().await;
        times.push(started.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

async fn measure(label: &str, url: &str, events: u64) {
    let inbox = Inbox::open(url).await.expect("opening the inbox");
    let started = Instant::now();
    let mut stored = 0;
    while stored < events {
        let size = BATCH.min(events - stored);
        let texts: Vec<_> = (stored..stored + size)
            .map(|i| {
                format!(
                    r#"{{"id": "scrape_{i}", "spektrId": "subject_{}", "workspaceId": "w", "eventType": "customer_tag_add", "timestamp": {}, "data": {{"tagName": "t", "action": "add"}}}}"#,
                    i % 1_000,
                    1_700_000_000_000 + i
                )
            })
            .collect();
        inbox
            .ingest_spektr(format!("{{\"results\": [{}]}}", texts.join(", ")))
            .await
            .expect("storing");
        stored += size;
    }
    let ingest = started.elapsed();
    let ok = Handler::new(|_| async { Ok::<(), String>(()) });
    let options = WorkerOptions::default();
    for _ in 0..events / 100 {
        inbox.handle_next(&options, &ok).await.expect("handling");
    }
    let depth = inbox.depth().await.expect("depth");
    let counts = inbox.counts().await.expect("counts");
    assert_eq!(
        depth.events.iter().map(|e| e.2).sum::<u64>(),
        counts.events(),
        "the tallies agree with the count"
    );
    let scrape = median(|| async { inbox.depth().await.unwrap() }).await;
    let full = median(|| async { inbox.counts().await.unwrap() }).await;
    println!(
        "| {label} | {events} events ({} done) | stored in {:.1} s | `depth` (a scrape) {:.2} ms | `counts` (full count) {:.1} ms | {:.0}x |",
        counts.done,
        ingest.as_secs_f64(),
        scrape.as_secs_f64() * 1e3,
        full.as_secs_f64() * 1e3,
        full.as_secs_f64() / scrape.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    for target in &args.targets {
        if target == "sqlite" {
            let dir = std::env::temp_dir().join(format!("kyc_inbox_scrape_{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("sqlite://{}", dir.join("inbox.db").display());
            measure("SQLite", &url, args.events).await;
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            let schema = common::Schema::create(target, "kyc_inbox_scrape").await;
            measure("PostgreSQL", &schema.url, args.events).await;
            schema.drop_now().await;
        }
    }
}
