//! The storage of the typed IDs ([`IdStr`]) and `id_types!`, which declares
//! them (`spektr::ids`, `predictaid::ids`).
//!
//! An ID is an immutable string, almost always short: Spektr's are 24 hex
//! digits (`686f58da3b9059f19eb2d066`), PredictaID's a prefix and a few
//! characters (`evt_65f5fd53f5c8f5f2f88f1d9b`, `cust_456`). [`IdStr`] keeps up
//! to [`INLINE`] (31) bytes in place, in its 32 bytes, with no heap
//! allocation, and a longer one in a `Box<str>`; an event's ids then cost no
//! allocation. (Spektr's workspace ids, 32 hex digits, are one byte over and
//! take the heap.)
//!
//! Written here rather than taken from a crate (`compact_str`, `smol_str`,
//! ...): the core crate depends on serde, serde_json, thiserror and chrono
//! only, and an ID needs none of what those crates offer beyond storage (no
//! mutation, no growth, no sharing): a string built once from a `&str` and
//! read as a `&str`. It is safe code only (the crate has no `unsafe`):
//!
//! - the inline length is [`Len`], an enum of the 32 values 0 to 31, so that
//!   the bytes it cannot hold (32 to 255) are a niche: the enum's tag and
//!   `Option<IdStr>`'s `None` take no room, and `IdStr` and `Option<IdStr>`
//!   are both 32 bytes;
//! - the inline bytes are only ever written as a copy of a whole `&str`, so
//!   they are valid UTF-8 and reading them back with [`std::str::from_utf8`]
//!   cannot fail (the check costs a pass over at most 31 bytes).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};

/// The most bytes an [`IdStr`] keeps inline.
pub(crate) const INLINE: usize = 31;

/// An inline length, 0 to [`INLINE`]: an enum rather than a `u8` so that the
/// values above are a niche (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Len {
    L0,
    L1,
    L2,
    L3,
    L4,
    L5,
    L6,
    L7,
    L8,
    L9,
    L10,
    L11,
    L12,
    L13,
    L14,
    L15,
    L16,
    L17,
    L18,
    L19,
    L20,
    L21,
    L22,
    L23,
    L24,
    L25,
    L26,
    L27,
    L28,
    L29,
    L30,
    L31,
}

/// `LENS[n]` is the [`Len`] of `n`.
const LENS: [Len; INLINE + 1] = {
    use Len::*;
    [
        L0, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12, L13, L14, L15, L16, L17, L18, L19,
        L20, L21, L22, L23, L24, L25, L26, L27, L28, L29, L30, L31,
    ]
};

#[derive(Clone)]
enum Repr {
    /// `buf[..len]` is the text, copied from a whole `&str`; the rest is zero.
    Inline { len: Len, buf: [u8; INLINE] },
    /// Longer than [`INLINE`] bytes.
    Heap(Box<str>),
}

/// An immutable string that keeps up to [`INLINE`] bytes without a heap
/// allocation: the storage of every typed ID. Compared, ordered and hashed
/// as the `str` it holds (so that an ID can implement `Borrow<str>`).
#[derive(Clone)]
pub(crate) struct IdStr(Repr);

impl IdStr {
    /// A copy of `text`: inline when it fits, else one allocation.
    pub(crate) fn new(text: &str) -> Self {
        match LENS.get(text.len()) {
            Some(&len) => {
                let mut buf = [0; INLINE];
                buf[..text.len()].copy_from_slice(text.as_bytes());
                IdStr(Repr::Inline { len, buf })
            }
            None => IdStr(Repr::Heap(text.into())),
        }
    }

    /// `text`, moved to the heap variant when it is too long to be inline
    /// (no copy, unless its capacity exceeds its length).
    pub(crate) fn from_string(text: String) -> Self {
        if text.len() <= INLINE {
            Self::new(&text)
        } else {
            IdStr(Repr::Heap(text.into_boxed_str()))
        }
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, buf } => match std::str::from_utf8(&buf[..*len as usize]) {
                Ok(text) => text,
                // The bytes are a copy of a whole `&str` (`new`): valid UTF-8.
                Err(_) => unreachable!("an inline IdStr holds a copy of a whole str"),
            },
            Repr::Heap(text) => text,
        }
    }

    /// The text as a `String` (one allocation unless it is empty, none for
    /// the heap variant's own buffer).
    pub(crate) fn into_string(self) -> String {
        match self.0 {
            Repr::Inline { .. } => self.as_str().to_owned(),
            Repr::Heap(text) => text.into_string(),
        }
    }

    /// Whether the text is kept inline.
    #[cfg(test)]
    fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }
}

impl PartialEq for IdStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for IdStr {}

impl PartialOrd for IdStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IdStr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for IdStr {
    /// As the `str`: an ID type's `Borrow<str>` requires it.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for IdStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Borrow<str> for IdStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl Serialize for IdStr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for IdStr {
    /// A JSON string, copied straight from the input (no intermediate
    /// `String`); anything else fails as a `String` field does ("invalid
    /// type: integer `5`, expected a string").
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl<'de> Visitor<'de> for IdVisitor {
            type Value = IdStr;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                // As `String`'s visitor, so that the errors read the same.
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<IdStr, E> {
                Ok(IdStr::new(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IdStr, E> {
                Ok(IdStr::new(v))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<IdStr, E> {
                Ok(IdStr::from_string(v))
            }
        }
        deserializer.deserialize_str(IdVisitor)
    }
}

/// Declares ID types: for each `$(#[doc])* Name;`, a public newtype over
/// [`IdStr`] that is a JSON string on the wire and behaves as a `str`
/// (`Deref<Target = str>`, `AsRef`/`Borrow<str>`, comparisons with `str`,
/// `&str`, `String` and a JSON string (`serde_json::Value`, as `String`
/// has) both ways, `Display`), built from `&str`, `&String`
/// and `String` (`From`, `FromStr`) and turned back into a `String`.
///
/// The invocation's docs go on the type; the macro adds a paragraph on what
/// every ID type offers.
macro_rules! id_types {
    ($( $(#[$meta:meta])* $name:ident; )*) => { $(
        $(#[$meta])*
        ///
        /// A JSON string on the wire. Compares with `&str` and `String`
        /// (`event.id == "evt_1"`), dereferences to `str`, displays as the
        /// text, and looks up by `&str` in a map keyed by it (hashed as the
        /// `str`). Build one with `From<&str>`/`From<String>` (or `.into()`,
        /// or `parse()`), read it with [`as_str`](Self::as_str), and turn it
        /// into a `String` with [`into_string`](Self::into_string) or
        /// `String::from`. Up to 31 bytes are kept without a heap allocation.
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name($crate::wire::id::IdStr);

        impl $name {
            /// The ID as a `&str`.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The ID as a `String`.
            pub fn into_string(self) -> String {
                self.0.into_string()
            }
        }

        impl std::fmt::Debug for $name {
            /// As the `str` (`"evt_1"`), as the `String` field it replaces.
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                self.as_str()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.as_str()
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.as_str()
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl PartialEq<serde_json::Value> for $name {
            /// Equal to a JSON string of the same text, as `String` is.
            fn eq(&self, other: &serde_json::Value) -> bool {
                other.as_str() == Some(self.as_str())
            }
        }

        impl PartialEq<$name> for serde_json::Value {
            fn eq(&self, other: &$name) -> bool {
                self.as_str() == Some(other.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name($crate::wire::id::IdStr::new(text))
            }
        }

        impl From<&String> for $name {
            fn from(text: &String) -> Self {
                $name($crate::wire::id::IdStr::new(text))
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                $name($crate::wire::id::IdStr::from_string(text))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.into_string()
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok($name::from(text))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serde::Serialize::serialize(&self.0, serializer)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$crate::wire::id::IdStr as serde::Deserialize>::deserialize(deserializer).map($name)
            }
        }
    )* };
}

pub(crate) use id_types;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_to_31_bytes_are_inline_and_32_go_to_the_heap() {
        let at_capacity = "a".repeat(INLINE);
        let over = "a".repeat(INLINE + 1);
        for (text, inline) in [("", true), (at_capacity.as_str(), true), (&over, false)] {
            for id in [IdStr::new(text), IdStr::from_string(text.to_owned())] {
                assert_eq!(id.is_inline(), inline, "{} bytes", text.len());
                assert_eq!(id.as_str(), text);
                assert_eq!(id.clone().into_string(), text);
            }
        }
        // 31 bytes that end in a multi-byte character are inline too.
        let accented = format!("{}é", "a".repeat(INLINE - 2));
        assert_eq!(accented.len(), INLINE);
        assert!(IdStr::new(&accented).is_inline());
        assert_eq!(IdStr::new(&accented).as_str(), accented);
    }

    #[test]
    fn the_length_niche_keeps_the_tag_and_option_in_32_bytes() {
        assert_eq!(std::mem::size_of::<IdStr>(), 32);
        assert_eq!(std::mem::size_of::<Option<IdStr>>(), 32);
    }

    #[test]
    fn equal_texts_are_equal_and_hash_alike_wherever_they_are_kept() {
        use std::collections::hash_map::DefaultHasher;
        fn hash(value: &(impl Hash + ?Sized)) -> u64 {
            let mut hasher = DefaultHasher::new();
            value.hash(&mut hasher);
            hasher.finish()
        }
        let long = "b".repeat(40);
        for text in ["", "abc", long.as_str()] {
            let id = IdStr::new(text);
            assert_eq!(id, IdStr::from_string(text.to_owned()));
            assert_eq!(hash(&id), hash(text));
        }
        assert!(IdStr::new("a") < IdStr::new("b"));
        assert!(IdStr::new(&long) > IdStr::new("a"));
    }
}
