//! The memory budget of the typed arrays inside events (`tags`,
//! `changes`).
//!
//! An element of a typed array costs its struct (a [`Tag`] is about a
//! hundred bytes) however little text it was sent as: `{}` is a `Tag`. A
//! body of 16 MiB of `{}` tags would take about 90 times its size. The
//! decoding entry points ([`batch::parse`](crate::batch::parse) and the rest)
//! therefore run each pass under a budget, [`FREE`] plus [`RATIO`] times the
//! text being decoded, that the arrays' buffers are charged against as they
//! grow; an array that would pass it fails its event with an error that says
//! so (a lenient decoder keeps the event's text in its `Rejected`). Real
//! events never come near it: a tag as Spektr sends it is about 60 bytes of
//! text, and the first [`FREE`] bytes (hundreds of elements) are not held to
//! the ratio.
//!
//! A decode outside any entry point (`serde_json::from_str::<spektr::Event>`
//! called by a user) has no budget, as with any serde type.
//!
//! [`Tag`]: crate::spektr::Tag

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

use super::path::Indexed;

/// Bytes of array buffers a pass may take whatever the size of its text.
pub(crate) const FREE: usize = 64 * 1024;

/// Bytes of array buffers a pass may take per byte of its text, beyond
/// [`FREE`].
pub(crate) const RATIO: usize = 4;

/// The budget of the pass running on a thread.
#[derive(Clone, Copy)]
struct Pass {
    /// Bytes left for array buffers.
    left: usize,
    /// Whether an array was refused for want of them.
    refused: bool,
}

thread_local! {
    /// The pass running on this thread; `None` outside any pass (no budget).
    static PASS: Cell<Option<Pass>> = const { Cell::new(None) };
}

/// Runs `decode`, a pass over `text_len` bytes of text, under its own
/// budget; the budget of an enclosing pass, if any, is restored after.
pub(crate) fn within<T>(text_len: usize, decode: impl FnOnce() -> T) -> T {
    /// Puts the enclosing pass's budget back, on unwinding too.
    struct Restore(Option<Pass>);
    impl Drop for Restore {
        fn drop(&mut self) {
            PASS.with(|pass| pass.set(self.0));
        }
    }
    let left = FREE.saturating_add(text_len.saturating_mul(RATIO));
    let pass = Pass {
        left,
        refused: false,
    };
    let _restore = Restore(PASS.with(|cell| cell.replace(Some(pass))));
    decode()
}

/// Bytes left in the running pass (`usize::MAX` outside any pass): the
/// difference between two readings is what the arrays read between them
/// took.
pub(crate) fn left() -> usize {
    PASS.with(|pass| pass.get().map_or(usize::MAX, |pass| pass.left))
}

/// Whether the running pass has refused an array for want of budget.
pub(crate) fn refused() -> bool {
    PASS.with(|pass| pass.get().is_some_and(|pass| pass.refused))
}

/// Takes `bytes` from the running pass's budget; `false` (nothing taken,
/// and the pass marked as having refused) when fewer are left.
fn charge(bytes: usize) -> bool {
    PASS.with(|cell| match cell.get() {
        None => true,
        Some(pass) if pass.left >= bytes => {
            cell.set(Some(Pass {
                left: pass.left - bytes,
                ..pass
            }));
            true
        }
        Some(pass) => {
            cell.set(Some(Pass {
                refused: true,
                ..pass
            }));
            false
        }
    })
}

/// A typed array read under the budget (the `as list` codec of
/// [`record!`](crate::wire::record)).
pub(crate) struct List<T>(pub(crate) Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut items: Vec<T> = Vec::new();
                // An element that fails puts its index on the error path.
                while let Some(item) = seq.next_element_seed(Indexed(items.len(), PhantomData))? {
                    if items.len() == items.capacity() {
                        let grown = items.capacity().saturating_mul(2).max(4);
                        let bytes =
                            (grown - items.capacity()).saturating_mul(std::mem::size_of::<T>());
                        if !charge(bytes) {
                            return Err(de::Error::custom(format_args!(
                                "more than {} elements, of {} bytes each in memory: \
                                 refused, over the memory bound of typed arrays \
                                 ({RATIO}x the text)",
                                items.len(),
                                std::mem::size_of::<T>(),
                            )));
                        }
                        items.reserve_exact(grown - items.len());
                    }
                    items.push(item);
                }
                Ok(List(items))
            }
        }
        deserializer.deserialize_seq(ListVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(text: &str) -> Result<Vec<u64>, serde_json::Error> {
        within(text.len(), || {
            serde_json::from_str::<List<u64>>(text).map(|list| list.0)
        })
    }

    #[test]
    fn arrays_within_the_budget_decode_in_order() {
        assert_eq!(numbers("[]").unwrap(), Vec::<u64>::new());
        assert_eq!(numbers("[3,1,2]").unwrap(), [3, 1, 2]);
        // Past the free allowance, but each element's text as long as its
        // size in memory: well within the ratio.
        let text = format!("[{}]", vec!["1000000"; 100_000].join(","));
        assert_eq!(numbers(&text).unwrap().len(), 100_000);
    }

    #[test]
    fn arrays_of_tiny_elements_past_the_budget_are_refused() {
        let text = format!("[{}]", vec!["1"; 100_000].join(","));
        let error = numbers(&text).unwrap_err().to_string();
        assert!(error.contains("over the memory bound"), "{error}");
    }

    #[test]
    fn a_pass_has_its_own_budget_and_gives_the_enclosing_one_back() {
        let text = format!("[{}]", vec!["1"; 4_000].join(","));
        within(0, || {
            // The inner pass spends its own budget, not this one's.
            assert!(numbers(&text).is_ok());
            assert!(charge(FREE));
            assert!(!charge(1));
        });
        // Outside any pass: no budget.
        assert!(charge(usize::MAX));
        assert!(!refused());
    }

    #[test]
    fn a_pass_says_whether_it_refused_an_array_and_what_arrays_took() {
        let tiny = format!("[{}]", vec!["1"; 100_000].join(","));
        within(tiny.len(), || {
            let before = left();
            assert!(serde_json::from_str::<List<u64>>("[1,2,3]").is_ok());
            assert_eq!(before - left(), 4 * std::mem::size_of::<u64>());
            assert!(!refused());
            // A nested pass's refusal is its own.
            assert!(numbers(&tiny).is_err());
            assert!(!refused());
            let before = left();
            within(0, || {
                assert!(serde_json::from_str::<List<u64>>(&tiny).is_err());
                assert!(refused());
            });
            assert_eq!(left(), before);
        });
    }
}
