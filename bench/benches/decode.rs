//! Decoding speed against `serde_json::Value` (what users would do instead)
//! and `IgnoredAny` (validation only: the floor), on the same bytes in the
//! same run, so that the ratios in BENCHMARKS.md come from one measurement.
//!
//! `cargo bench --bench decode` (add `-- --quick` for a rough run).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kyc_webhooks::{batch, predictaid, spektr};
use serde::de::IgnoredAny;
use serde_json::Value;

/// `json` without the whitespace between tokens, keys left in their order
/// (`serde_json::Value` would sort them, putting `data` before `eventType`
/// in every event, unlike Spektr's deliveries).
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// Every Spektr single-event fixture, minified in its own key order: the
/// documented samples and templates, the ones with extra client-record
/// fields, vendorData and record changes, and the unknown types.
fn spektr_events() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/spektr");
    let mut events = Vec::new();
    for dir in [root.clone(), root.join("unknown")] {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            events.push(minify(&std::fs::read_to_string(path).unwrap()));
        }
    }
    events
}

/// A delivery of `n` events cycling through the fixtures, each with its own id.
fn spektr_batch(n: usize) -> Vec<u8> {
    let kinds = spektr_events();
    let results: Vec<String> = (0..n)
        .map(|i| {
            let event = &kinds[i % kinds.len()];
            let json: Value = serde_json::from_str(event).unwrap();
            let id = format!("\"id\":{}", json["id"]);
            event.replacen(&id, &format!("\"id\":\"{i:024x}\""), 1)
        })
        .collect();
    let body = format!("{{\"results\":[{}]}}", results.join(",")).into_bytes();
    // The generated batch is what it claims: every event decodes, ids unique.
    let batch = spektr::parse_batch(&body).unwrap();
    let ids: std::collections::HashSet<&str> =
        batch.results.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), n);
    body
}

fn decode_batches(c: &mut Criterion) {
    for n in [10_000, 10] {
        let body = spektr_batch(n);
        let mut group = c.benchmark_group(format!("spektr_batch_{n}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function("kyc_webhooks::spektr::parse_batch", |b| {
            b.iter(|| spektr::parse_batch(black_box(&body)).unwrap())
        });
        group.bench_function("kyc_webhooks::batch::parse_lenient", |b| {
            b.iter(|| batch::parse_lenient::<spektr::Event>(black_box(&body)).unwrap())
        });
        group.bench_function("serde_json::Value", |b| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(&body)).unwrap())
        });
        group.bench_function("serde::de::IgnoredAny", |b| {
            b.iter(|| serde_json::from_slice::<IgnoredAny>(black_box(&body)).unwrap())
        });
        group.finish();
    }
}

fn decode_predictaid(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/predictaid/kyt.transaction.queued.data-first.json");
    let mut group = c.benchmark_group("predictaid_event");
    for (name, body) in [
        (
            "session.created",
            std::fs::read(path.with_file_name("session.created.json")).unwrap(),
        ),
        (
            "kyt.transaction.queued.data-first",
            std::fs::read(&path).unwrap(),
        ),
    ] {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("kyc_webhooks::predictaid::parse", name),
            &body,
            |b, body| b.iter(|| predictaid::parse(black_box(body)).unwrap()),
        );
        group.bench_with_input(
            BenchmarkId::new("serde_json::Value", name),
            &body,
            |b, body| b.iter(|| serde_json::from_slice::<Value>(black_box(body)).unwrap()),
        );
        group.bench_with_input(
            BenchmarkId::new("serde::de::IgnoredAny", name),
            &body,
            |b, body| b.iter(|| serde_json::from_slice::<IgnoredAny>(black_box(body)).unwrap()),
        );
    }
    group.finish();
}

fn encode_batch(c: &mut Criterion) {
    let body = spektr_batch(10_000);
    let typed = spektr::parse_batch(&body).unwrap();
    let value: Value = serde_json::from_slice(&body).unwrap();
    let mut group = c.benchmark_group("reencode_spektr_batch_10000");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("kyc_webhooks typed batch", |b| {
        b.iter(|| serde_json::to_vec(black_box(&typed)).unwrap())
    });
    group.bench_function("serde_json::Value", |b| {
        b.iter(|| serde_json::to_vec(black_box(&value)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, decode_batches, decode_predictaid, encode_batch);
criterion_main!(benches);
