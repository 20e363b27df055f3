//! Where a failing decode failed, told by the decode itself.
//!
//! The visitors add their segment (`.key`, `[index]`) to a trail only when an
//! error passes through them on its way out: a field's value that fails makes
//! the object's visitor add the field's key ([`Keyed`] where the visitor
//! knows the key it reads, [`Fields`] where it must keep it), an element that
//! fails makes the array's visitor add its index ([`Indexed`]), and an event
//! visitor that fails after reading its type key leaves the type
//! ([`Fields::note_type`]). Nothing is written while decoding succeeds (a
//! field's key is kept borrowed from the input until the value is read), so
//! the path of a rejected event comes from the decode that rejected it, not
//! from decoding it again.
//!
//! The trail is thread-local and exists only inside [`recorded`], which
//! starts an empty one and puts the enclosing one back when it returns or
//! unwinds: each top-level decode (one body, one event of a lenient batch)
//! sees only its own segments, a nested decode (a buffered `data`) adds to
//! the trail of the decode it is part of, and a decode outside any entry
//! point (`serde_json::from_str::<spektr::Event>` called by a user) records
//! nothing.

use std::cell::Cell;
use std::fmt::Write as _;
use std::marker::PhantomData;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess};

use super::Key;

/// One step from a value to the part of it that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// A member of an object.
    Key(Box<str>),
    /// An element of an array.
    Index(usize),
}

/// What a failed decode left: its segments, innermost first (in the order
/// the error passed through the visitors), and the event's type when the
/// failing event had read it.
#[derive(Debug, Default)]
pub(crate) struct Trail {
    segments: Vec<Segment>,
    event_type: Option<String>,
}

impl Trail {
    /// The path under `prefix`, as `results[3].data.processId`; `None` for
    /// an empty result (the failure is at the root).
    pub(crate) fn path(&self, mut out: String) -> Option<String> {
        for segment in self.segments.iter().rev() {
            match segment {
                Segment::Index(index) => {
                    let _ = write!(out, "[{index}]");
                }
                Segment::Key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
            }
        }
        out.shrink_to_fit();
        (!out.is_empty()).then_some(out)
    }

    /// The index of the failing element of the array at `key` of the root
    /// (`results[3]...` gives 3), when the failure is inside one.
    pub(crate) fn index_under(&self, key: &str) -> Option<usize> {
        let mut outermost = self.segments.iter().rev();
        match (outermost.next(), outermost.next()) {
            (Some(Segment::Key(first)), Some(Segment::Index(index))) if &**first == key => {
                Some(*index)
            }
            _ => None,
        }
    }

    /// The failing event's type, when it had been read before the failure.
    pub(crate) fn take_event_type(&mut self) -> Option<String> {
        self.event_type.take()
    }
}

thread_local! {
    /// The trail of the decode running on this thread; `None` outside
    /// [`recorded`].
    static TRAIL: Cell<Option<Trail>> = const { Cell::new(None) };
}

/// Runs `decode`, a top-level decode, with an empty trail; on failure, hands
/// back what the visitors left in it with the error. The enclosing trail, if
/// any, is put back after, on unwinding too.
pub(crate) fn recorded<T, E>(decode: impl FnOnce() -> Result<T, E>) -> Result<T, (E, Trail)> {
    /// Puts the enclosing decode's trail back.
    struct Restore(Option<Trail>);
    impl Drop for Restore {
        fn drop(&mut self) {
            TRAIL.with(|trail| trail.set(self.0.take()));
        }
    }
    let _restore = Restore(TRAIL.with(|trail| trail.replace(Some(Trail::default()))));
    let result = decode();
    let trail = TRAIL.with(Cell::take).unwrap_or_default();
    result.map_err(|error| (error, trail))
}

/// Changes the running decode's trail, if there is one.
fn with_trail(change: impl FnOnce(&mut Trail)) {
    TRAIL.with(|cell| {
        if let Some(mut trail) = cell.take() {
            change(&mut trail);
            cell.set(Some(trail));
        }
    });
}

fn push(segment: Segment) {
    with_trail(|trail| trail.segments.push(segment));
}

/// Adds the key of an object's member whose value failed, on the error's way
/// out: for a value read without [`Fields`] (a buffered `data`, decoded
/// after the object's last key).
pub(crate) fn push_key(key: &str) {
    push(Segment::Key(key.into()));
}

/// The seed of one element of an array: reads a `T` and, when that fails,
/// adds the element's index to the trail.
pub(crate) struct Indexed<T>(pub(crate) usize, pub(crate) PhantomData<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Indexed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::deserialize(deserializer).inspect_err(|_| push(Segment::Index(self.0)))
    }
}

/// The seed of the value of an object's member `key`: reads a `T` and, when
/// that fails, adds `key` to the trail. (For the visitors that know the key
/// they read without keeping it: the data structs' fields, `Extra`'s.)
pub(crate) struct Keyed<'k, T>(&'k str, PhantomData<T>);

impl<'k, T> Keyed<'k, T> {
    pub(crate) fn new(key: &'k str) -> Self {
        Keyed(key, PhantomData)
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Keyed<'_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::deserialize(deserializer).inspect_err(|_| push_key(self.0))
    }
}

/// An object being read by a visitor, which keeps the key of the member
/// being read so that a value that fails adds that key to the trail (when
/// this is dropped, on the error's way out). A failure outside any value (a
/// duplicate key, a missing field) is the object's own: it adds nothing.
///
/// Read the keys with [`next_field`](Fields::next_field) and the values
/// through its [`MapAccess`] implementation.
pub(crate) struct Fields<'de, A> {
    map: A,
    /// The key of the member last read.
    key: Option<Key<'de>>,
    /// Whether a member's value failed (the error is on its way out).
    failed: bool,
    /// An event's type, once read ([`note_type`](Fields::note_type)).
    event_type: Option<Key<'de>>,
    /// Whether the visitor got to its end ([`done`](Fields::done)).
    done: bool,
}

impl<'de, A: MapAccess<'de>> Fields<'de, A> {
    pub(crate) fn new(map: A) -> Self {
        Fields {
            map,
            key: None,
            failed: false,
            event_type: None,
            done: false,
        }
    }

    /// The next member's key (borrowed from the input when it has no escapes,
    /// so keeping it costs nothing).
    pub(crate) fn next_field(&mut self) -> Result<Option<Key<'de>>, A::Error> {
        let key = self.map.next_key::<Key<'de>>()?;
        self.key.clone_from(&key);
        Ok(key)
    }

    /// Keeps the event's type, read from its type key: an event that fails
    /// after this (before [`done`](Fields::done)) leaves it in the trail. The
    /// first one read is kept.
    pub(crate) fn note_type(&mut self, name: &Key<'de>) {
        if self.event_type.is_none() {
            self.event_type = Some(name.clone());
        }
    }

    /// Says that every member was read and checked: the event's type is not
    /// left in the trail when this is dropped.
    pub(crate) fn done(&mut self) {
        self.done = true;
    }
}

impl<'de, A> Drop for Fields<'de, A> {
    fn drop(&mut self) {
        if self.failed {
            if let Some(key) = &self.key {
                push_key(key.as_str());
            }
        }
        if !self.done {
            if let Some(name) = &self.event_type {
                with_trail(|trail| {
                    trail
                        .event_type
                        .get_or_insert_with(|| name.as_str().to_owned());
                });
            }
        }
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Fields<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.key = None;
        self.map.next_key_seed(seed)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        // Only a failure inside the value is the member's: one between the
        // key and the value (a missing `:`) is the object's.
        let failed = &mut self.failed;
        self.map.next_value_seed(Inside { seed, failed })
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// A member's value seed that says when the value failed.
struct Inside<'a, V> {
    seed: V,
    failed: &'a mut bool,
}

impl<'de, V: DeserializeSeed<'de>> DeserializeSeed<'de> for Inside<'_, V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.seed
            .deserialize(deserializer)
            .inspect_err(|_| *self.failed = true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push_index(index: usize) {
        push(Segment::Index(index));
    }

    #[test]
    fn segments_render_outermost_first_under_the_prefix() {
        let result = recorded(|| {
            push_key("processId");
            push_key("data");
            push_index(3);
            push_key("results");
            Err::<(), ()>(())
        });
        let ((), trail) = result.unwrap_err();
        assert_eq!(
            trail.path(String::new()).as_deref(),
            Some("results[3].data.processId")
        );
        assert_eq!(trail.index_under("results"), Some(3));
        assert_eq!(trail.index_under("data"), None);
        let root = recorded(|| Err::<(), ()>(())).unwrap_err().1;
        assert_eq!(root.path(String::new()), None);
        assert_eq!(
            root.path("results[0]".into()).as_deref(),
            Some("results[0]")
        );
    }

    #[test]
    fn a_nested_decode_has_its_own_trail_and_the_outer_one_is_kept() {
        let ((), outer) = recorded(|| {
            push_key("outer");
            let ((), inner) = recorded(|| {
                push_key("inner");
                Err::<(), ()>(())
            })
            .unwrap_err();
            assert_eq!(inner.path(String::new()).as_deref(), Some("inner"));
            Err::<(), ()>(())
        })
        .unwrap_err();
        assert_eq!(outer.path(String::new()).as_deref(), Some("outer"));
        // Outside any decode, nothing is recorded.
        push_key("nowhere");
        assert!(TRAIL.with(Cell::take).is_none());
    }

    #[test]
    fn a_panic_inside_a_decode_leaves_no_trail_behind() {
        let caught = std::panic::catch_unwind(|| {
            let _ = recorded(|| -> Result<(), ()> {
                push_key("stale");
                panic!("a visitor panicked");
            });
        });
        assert!(caught.is_err());
        assert!(TRAIL.with(Cell::take).is_none());
        let ((), trail) = recorded(|| Err::<(), ()>(())).unwrap_err();
        assert_eq!(trail.path(String::new()), None);
    }
}
