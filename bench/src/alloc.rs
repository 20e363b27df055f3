//! A counting global allocator for peak-heap figures.
//!
//! A binary opts in by making it its global allocator, then measures with
//! [`peak_during`]:
//!
//! ```
//! use kyc_webhooks_bench::alloc::{peak_during, Counting};
//!
//! #[global_allocator]
//! static ALLOCATOR: Counting = Counting;
//!
//! fn main() {
//!     let peak = peak_during(|| vec![0u8; 1 << 16]).unwrap();
//!     assert!(peak >= 1 << 16);
//! }
//! ```
//!
//! Counting is off except inside [`peak_during`], so that timings taken in the same process pay one relaxed
//! load per allocation, not the counting.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// The system allocator, counting (while [`peak_during`] runs) the bytes
/// allocated and not yet freed, and their highest level.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counting;

/// Whether allocations are counted now.
static ON: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed while counting (negative when blocks
/// allocated before are freed).
static CURRENT: AtomicIsize = AtomicIsize::new(0);
/// Highest value of `CURRENT` since counting started.
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(by: usize) {
    if ON.load(Ordering::Relaxed) {
        let by = by as isize;
        let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

fn shrank(by: usize) {
    if ON.load(Ordering::Relaxed) {
        CURRENT.fetch_sub(by as isize, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so the pointers and layouts handed out and taken back are
// exactly `System`'s, which upholds the `GlobalAlloc` contract; the counting
// only touches atomics and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller guarantees `layout` has a non-zero size, as
        // `System.alloc` requires.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator (so
        // from `System`) with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `ptr` came from this allocator with
        // `layout` and that `new_size` is non-zero and valid for its align.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // Count the new block before the old one goes, as a copying
            // realloc holds both at once.
            grew(new_size);
            shrank(layout.size());
        }
        new
    }
}

/// Peak bytes allocated while `f` runs and its result is alive, above the
/// level before `f` (the result is dropped afterwards, not counted), or
/// `None` when [`Counting`] is not the global allocator.
pub fn peak_during<T>(f: impl FnOnce() -> T) -> Option<usize> {
    CURRENT.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    ON.store(true, Ordering::SeqCst);
    let probe = black_box(Box::new(0u64));
    let counted = CURRENT.load(Ordering::Relaxed) > 0;
    drop(probe);
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = black_box(f());
    let peak = PEAK.load(Ordering::Relaxed) - base;
    ON.store(false, Ordering::SeqCst);
    drop(out);
    counted.then_some(peak.max(0) as usize)
}
