//! Peak heap while decoding a 100,000-event Spektr batch, as a multiple of
//! the body's size, measured with a counting allocator (this test binary's
//! global allocator). Promise 1: no input makes the crate allocate without
//! bound relative to its size.
//!
//! `cargo test --release --test memory -- --nocapture` prints the figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

mod common;

use common::fixture;
use kyc_webhooks::{batch, spektr};
use serde_json::Value;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: `Counting` is `System` plus two counters. Every block comes from
// `System.alloc` and goes back to `System.dealloc` with the layout it was
// asked for, unchanged, so each block is fit for its layout exactly as far as
// `System` makes it so, and is freed by the allocator that made it. The
// provided methods (`alloc_zeroed`, `realloc`) keep their default bodies,
// which call these two, so they go through the same pairing. The counting is
// relaxed atomic arithmetic on statics: it does not allocate (no re-entry into
// the allocator) and cannot panic (atomic operations wrap, and the one plain
// `+` adds a live block's size to the sum of the other live blocks' sizes,
// which the address space bounds far below `usize::MAX`), so neither method
// unwinds, which `GlobalAlloc` forbids.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller upholds `GlobalAlloc::alloc`'s contract for
        // `layout` (a non-zero size); `System.alloc` has the same contract
        // and is given the same `layout`. A null return (allocation failure)
        // is passed on as is and not counted.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: our caller guarantees that `ptr` is a block currently
        // allocated by this allocator with `layout`. This allocator's blocks
        // are exactly `System`'s, returned by `alloc` above unchanged for the
        // same layout, so `ptr` is currently allocated by `System` with
        // `layout`, which is what `System.dealloc` requires. It is freed once,
        // here, and not used after.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests in this binary measure one at a time.
static MEASURING: Mutex<()> = Mutex::new(());

/// Peak bytes allocated above the current level while `f` runs, and its result.
fn peak_during<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (PEAK.load(Ordering::Relaxed) - base, out)
}

/// A batch of `n` events cycling through every documented type (the
/// all-types fixture) with unique ids.
fn big_batch(n: usize) -> Vec<u8> {
    let all: Value = serde_json::from_slice(&fixture("spektr/batches/all-types.json")).unwrap();
    let kinds = all["results"].as_array().unwrap();
    let events: Vec<String> = (0..n)
        .map(|i| {
            let mut event = kinds[i % kinds.len()].clone();
            event["id"] = Value::String(format!("evt{i:08}"));
            event.to_string()
        })
        .collect();
    format!("{{\"results\":[{}]}}", events.join(",")).into_bytes()
}

#[test]
fn peak_heap_of_a_100000_event_batch_is_a_small_multiple_of_the_body() {
    let _one_at_a_time = MEASURING.lock().unwrap();
    let body = big_batch(100_000);
    let size = body.len();

    let (strict, batch) = peak_during(|| spektr::parse_batch(&body).unwrap());
    assert_eq!(batch.results.len(), 100_000);
    drop(batch);
    let (lenient, items) = peak_during(|| batch::parse_lenient::<spektr::Event>(&body).unwrap());
    assert!(items.iter().all(Result::is_ok));
    drop(items);
    let (value, tree) = peak_during(|| serde_json::from_slice::<Value>(&body).unwrap());
    drop(tree);

    let ratio = |peak: usize| peak as f64 / size as f64;
    println!(
        "body {:.1} MB; peak heap: parse_batch {:.2}x, parse_lenient {:.2}x, serde_json::Value {:.2}x the body",
        size as f64 / 1e6,
        ratio(strict),
        ratio(lenient),
        ratio(value)
    );
    // Bounded relative to the input: a few times the body, as a Value tree is.
    assert!(
        ratio(strict) < 6.0,
        "parse_batch peak {:.2}x the body",
        ratio(strict)
    );
    assert!(
        ratio(lenient) < 6.0,
        "parse_lenient peak {:.2}x the body",
        ratio(lenient)
    );
    // And no more than the `Value` tree users would build instead.
    assert!(
        strict <= value,
        "parse_batch peak {strict} B > the Value tree's {value} B"
    );
    assert!(
        lenient <= value,
        "parse_lenient peak {lenient} B > the Value tree's {value} B"
    );
}

#[test]
fn rejected_events_cost_their_own_size_not_more() {
    let _one_at_a_time = MEASURING.lock().unwrap();
    // 10,000 events, all broken (a mistyped field): each Rejected keeps its
    // raw text and an error; the peak stays a small multiple of the body.
    let body = String::from_utf8(big_batch(10_000))
        .unwrap()
        .replace("\"processId\":\"", "\"processId\":7,\"x\":\"");
    let (peak, items) =
        peak_during(|| batch::parse_lenient::<spektr::Event>(body.as_bytes()).unwrap());
    let rejected = items.iter().filter(|i| i.is_err()).count();
    assert!(rejected > 5_000, "{rejected} rejected");
    let ratio = peak as f64 / body.len() as f64;
    println!("lenient batch of {rejected} rejected events: peak heap {ratio:.2}x the body");
    assert!(ratio < 6.0, "peak {ratio:.2}x the body");
}
