//! The counting allocator measures what a decode keeps at its peak, and
//! says so when it is not installed (see `tests/bodies.rs`, which runs
//! without it).

use kyc_webhooks_bench::alloc::{peak_during, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn the_peak_counts_what_is_alive_at_once_not_what_was_allocated_in_all() {
    // Ten 1 MiB blocks one after another: the peak is one block, not ten.
    let one_at_a_time = peak_during(|| {
        for _ in 0..10 {
            drop(std::hint::black_box(vec![1u8; 1 << 20]));
        }
    })
    .unwrap();
    assert!(
        (1 << 20..2 << 20).contains(&one_at_a_time),
        "{one_at_a_time}"
    );
    // Ten kept together: ten blocks, counted although dropped by the caller.
    let together = peak_during(|| (0..10).map(|_| vec![1u8; 1 << 20]).collect::<Vec<_>>()).unwrap();
    assert!((10 << 20..11 << 20).contains(&together), "{together}");
    // Nothing allocated: no peak above the level before.
    assert_eq!(peak_during(|| 1 + 1), Some(0));
}
