//! The inbox's memory bound: storing any Spektr body of up to 16 MiB, whatever
//! its shape, takes at most 16 times the body's size at its peak (the
//! README's Guarantees). Measured with a counting allocator, which adds each
//! allocation's real size (`malloc_usable_size`) and its header, so that many
//! tiny allocations count what they cost.
//!
//! One test runs the shapes in turn: the allocator counts the whole process.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::Db;
use kyc_webhooks_inbox::{plan_spektr_for_tests, Inbox};

extern "C" {
    // glibc's: the size an allocation really occupies.
    fn malloc_usable_size(ptr: *mut std::ffi::c_void) -> usize;
}

/// malloc's bookkeeping per allocation on glibc (64-bit).
const HEADER: usize = 8;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn cost(ptr: *mut u8) -> usize {
    // SAFETY: `ptr` was returned by the system allocator and is live.
    unsafe { malloc_usable_size(ptr.cast()) + HEADER }
}

fn added(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            added(cost(ptr));
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        if !ptr.is_null() {
            added(cost(ptr));
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(cost(ptr), Ordering::Relaxed);
        System.dealloc(ptr, layout);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let before = cost(ptr);
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            CURRENT.fetch_sub(before, Ordering::Relaxed);
            added(cost(new));
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The peak of allocated bytes over what was allocated before, while `f`
/// runs and while what it returns is alive.
fn peak_over<T>(f: impl FnOnce() -> T) -> usize {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let kept = f();
    let peak = PEAK.load(Ordering::Relaxed);
    drop(kept);
    peak.saturating_sub(base)
}

const LIMIT: usize = 16 << 20;

/// A `{"results": [...]}` body of about 16 MiB of `element(i)` texts.
fn body_of(element: impl Fn(usize) -> String) -> Vec<u8> {
    let mut body = b"{\"results\": [".to_vec();
    let mut i = 0;
    while body.len() < LIMIT - 200 {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(element(i).as_bytes());
        i += 1;
    }
    body.extend_from_slice(b"]}");
    body
}

fn shapes() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("empty objects", body_of(|_| "{}".to_owned())),
        ("numbers", body_of(|_| "1".to_owned())),
        (
            "minimal events",
            body_of(|i| {
                format!(
                    r#"{{"id":"{i:x}","spektrId":"s","eventType":"x","timestamp":1,"data":{{}}}}"#
                )
            }),
        ),
        (
            "events with a broken type",
            body_of(|i| {
                format!(
                    r#"{{"id":"{i:x}","spektrId":"s","eventType":"step_init","timestamp":1,"data":{{}}}}"#
                )
            }),
        ),
        (
            "broken JSON",
            body_of(|i| format!(r#"{{"id":"{i:x}" "spektrId"}}"#)),
        ),
    ]
}

#[test]
fn storing_any_16_mib_spektr_body_takes_at_most_16x_its_size() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut report = Vec::new();
    for (shape, body) in shapes() {
        let planned = peak_over(|| plan_spektr_for_tests(&body).unwrap());
        // Storing it whole, on SQLite: plan, commit, receipt.
        let db = Db::sqlite();
        let inbox = runtime.block_on(Inbox::open(&db.url)).unwrap();
        let body_len = body.len();
        let stored = peak_over(|| runtime.block_on(inbox.ingest_spektr(body)).unwrap());
        let ratio = |peak: usize| peak as f64 / body_len as f64;
        report.push(format!(
            "{shape:>26}: planning {:5.2}x, storing {:5.2}x the body",
            ratio(planned),
            ratio(stored)
        ));
        drop(inbox);
        assert!(
            ratio(planned) <= 16.0 && ratio(stored) <= 16.0,
            "{shape}: {}",
            report.last().unwrap()
        );
    }
    // The figures BENCHMARKS.md quotes (`cargo test -p kyc-webhooks-inbox
    // --test memory -- --nocapture`).
    println!("{}", report.join("\n"));
}
