//! The Spektr extractor off the async runtime, and its peak heap: at most 16
//! times the body for 16 MiB bodies of the smallest items, measured with a
//! counting allocator (this test binary's global allocator).
//!
//! `cargo test -p kyc-webhooks-axum-tests --test memory -- --nocapture
//! --test-threads 1` prints the figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::Router;
use kyc_webhooks::axum::{SpektrDelivery, DEFAULT_BODY_LIMIT};
use tower::ServiceExt;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: `Counting` is `System` plus two counters. Every block comes from
// `System.alloc` and goes back to `System.dealloc` with the layout it was
// asked for, unchanged, so each block is fit for its layout exactly as far as
// `System` makes it so, and is freed by the allocator that made it. The
// provided methods (`alloc_zeroed`, `realloc`) keep their default bodies,
// which call these two. The counting is relaxed atomic arithmetic on
// statics: it does not allocate and cannot panic (the one plain `+` adds a
// live block's size to the sum of the other live blocks' sizes, which the
// address space bounds far below `usize::MAX`), so neither method unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller upholds `GlobalAlloc::alloc`'s contract for
        // `layout`; `System.alloc` has the same contract and gets the same
        // `layout`. A null return is passed on and not counted.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: our caller guarantees that `ptr` is a block of this
        // allocator with `layout`, which is a block of `System` with
        // `layout` (see `alloc`); it is freed once, here.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests in this binary measure one at a time.
static MEASURING: Mutex<()> = Mutex::new(());

/// A Spektr batch of items made by `item(i)`, as many as fit in
/// [`DEFAULT_BODY_LIMIT`] bytes, and how many there are.
fn batch_of(item: impl Fn(usize) -> String) -> (Bytes, usize) {
    let mut body = String::with_capacity(DEFAULT_BODY_LIMIT);
    body.push_str("{\"results\":[");
    let mut i = 0;
    loop {
        let next = item(i);
        if body.len() + next.len() + 3 > DEFAULT_BODY_LIMIT {
            break;
        }
        if i > 0 {
            body.push(',');
        }
        body.push_str(&next);
        i += 1;
    }
    body.push_str("]}");
    (Bytes::from(body.into_bytes()), i)
}

fn minimal_event(i: usize) -> String {
    format!(r#"{{"id":"a{i}","spektrId":"s","eventType":"x","timestamp":1,"data":{{}}}}"#)
}

fn request(body: Bytes) -> Request<Body> {
    Request::post("/webhooks/spektr")
        .body(Body::from(body))
        .unwrap()
}

/// What the handler got: the number of events and of rejected ones.
static GOT: Mutex<Option<(usize, usize)>> = Mutex::new(None);

/// A route with the extractor behind `DEFAULT_BODY_LIMIT`, whose handler
/// notes what it got while it holds the delivery.
fn app() -> Router {
    async fn handler(delivery: SpektrDelivery) -> StatusCode {
        let got = (delivery.events.len(), delivery.rejected.len());
        *GOT.lock().unwrap_or_else(|e| e.into_inner()) = Some(got);
        StatusCode::OK
    }
    Router::new()
        .route("/webhooks/spektr", post(handler))
        .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT))
}

/// Sends `body` to [`app`]: what the handler got, or the refusal's status.
async fn deliver(body: Bytes) -> Result<(usize, usize), StatusCode> {
    *GOT.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let response = app().oneshot(request(body)).await.unwrap();
    match response.status() {
        StatusCode::OK => Ok(GOT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .expect("the handler ran")),
        status => Err(status),
    }
}

/// The extractor's peak heap over `body` (which is allocated already), as a
/// multiple of its size, while the delivery is held, and what it gave.
fn measure(shape: &str, body: Bytes) -> (f64, Result<(usize, usize), StatusCode>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let size = body.len() as f64;
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let outcome = runtime.block_on(deliver(body));
    let ratio = (PEAK.load(Ordering::Relaxed) - base) as f64 / size;
    println!("SpektrDelivery, {shape}: peak {ratio:.2}x the body: {outcome:?}");
    (ratio, outcome)
}

#[test]
fn the_spektr_extractor_peaks_at_most_16x_the_body() {
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());

    let (body, _) = batch_of(|_| "{}".to_owned());
    let (ratio, outcome) = measure("{} items", body);
    assert_eq!(outcome, Err(StatusCode::BAD_REQUEST));
    assert!(ratio <= 16.0, "{ratio:.2}x");

    let (body, count) = batch_of(minimal_event);
    let (ratio, outcome) = measure("minimal valid events", body);
    assert_eq!(outcome, Ok((count, 0)));
    assert!(ratio <= 16.0, "{ratio:.2}x");

    let (body, count) = batch_of(|i| minimal_event(i).replace(":1,", ":\"1\","));
    let (ratio, outcome) = measure("minimal broken events", body);
    assert_eq!(outcome, Ok((0, count)));
    assert!(ratio <= 16.0, "{ratio:.2}x");

    // Half broken, half not: both vectors of the delivery.
    let (body, count) = batch_of(|i| {
        let event = minimal_event(i);
        if i % 2 == 0 {
            event
        } else {
            event.replace(":1,", ":\"1\",")
        }
    });
    let (ratio, outcome) = measure("alternate valid and broken events", body);
    assert_eq!(outcome, Ok((count.div_ceil(2), count / 2)));
    assert!(ratio <= 16.0, "{ratio:.2}x");
}

/// On a runtime of one thread, another task keeps running while the
/// extractor decodes a 16 MiB batch: the decoding is not on that thread.
#[test]
fn the_spektr_extractor_decodes_off_the_async_runtime() {
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let (body, count) = batch_of(minimal_event);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let ticks = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let outcome = runtime.block_on(async {
        let ticker = tokio::spawn({
            let (ticks, done) = (ticks.clone(), done.clone());
            async move {
                while !done.load(Ordering::Relaxed) {
                    ticks.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            }
        });
        // Let the ticker start, then count only its ticks during decoding.
        tokio::task::yield_now().await;
        let before = ticks.load(Ordering::Relaxed);
        let delivery = deliver(body).await;
        let during = ticks.load(Ordering::Relaxed) - before;
        done.store(true, Ordering::Relaxed);
        ticker.await.unwrap();
        (delivery, during)
    });
    println!(
        "ticks of another task while the extractor decoded: {}",
        outcome.1
    );
    assert_eq!(outcome.0, Ok((count, 0)));
    assert!(outcome.1 > 100, "{} ticks", outcome.1);
}
