//! `record!`: a data struct with typed required and optional fields plus the
//! catch-all `extra` map, with a constructor and hand-written serde impls.
//!
//! ```text
//! record! {
//!     /// Docs.
//!     pub struct Example {
//!         required {
//!             /// Docs.
//!             process_id: ProcessId = "processId",
//!             /// Docs.
//!             last_synced_at: DateTime<Utc> = "lastSyncedAt" as millis,
//!         }
//!         optional {
//!             /// Docs.
//!             reference: String = "reference",
//!             /// Docs (`Option<RawJson>`, `null` kept as data).
//!             old_value: RawJson = "oldValue" as keep_null,
//!         }
//!     }
//! }
//! ```
//!
//! - A required field that is missing is an error (`missing field `processId``).
//! - An optional field is `Option<T>`: absent or `null` read as `None` (and `None`
//!   is not written back), except with `as keep_null`, where `null` is data:
//!   absent is `None`, `null` is `Some(RawJson::null())`.
//! - `as millis` reads and writes a `DateTime<Utc>` as epoch milliseconds.
//! - `as object` reads a `RawJson` that must be a JSON object.
//! - `as list` reads a `Vec` under the memory budget of typed arrays
//!   ([`budget`](crate::wire::budget)); every `Vec` field uses it.
//! - A key that appears twice is an error; any other key goes to `extra`.
//! - A value that fails puts its key on the error path
//!   ([`path`](crate::wire::path)); a duplicate or missing key is the
//!   object's failure.

/// Reads one required field's value; a value that fails puts `$wire` on the
/// error path.
macro_rules! de_required {
    ($map:ident, $wire:literal, $ty:ty) => {
        $map.next_value_seed($crate::wire::path::Keyed::<$ty>::new($wire))?
    };
    ($map:ident, $wire:literal, $ty:ty, millis) => {
        $map.next_value_seed($crate::wire::path::Keyed::<$crate::wire::time::Millis>::new($wire))?
            .0
    };
    ($map:ident, $wire:literal, $ty:ty, object) => {
        $map.next_value_seed($crate::wire::path::Keyed::<$crate::wire::RawObject>::new(
            $wire,
        ))?
        .0
    };
    ($map:ident, $wire:literal, $ty:ty, list) => {
        $map.next_value_seed(
            $crate::wire::path::Keyed::<$crate::wire::budget::List<_>>::new($wire),
        )?
        .0
    };
}

/// Reads one optional field's value (`None` for `null`, except with
/// `keep_null`); a value that fails puts `$wire` on the error path.
macro_rules! de_optional {
    ($map:ident, $wire:literal, $ty:ty) => {
        $map.next_value_seed($crate::wire::path::Keyed::<Option<$ty>>::new($wire))?
    };
    ($map:ident, $wire:literal, $ty:ty, keep_null) => {
        Some($map.next_value_seed($crate::wire::path::Keyed::<$ty>::new($wire))?)
    };
}

/// Writes one field's entry.
macro_rules! ser_field {
    ($map:ident, $wire:literal, $value:expr) => {
        serde::ser::SerializeMap::serialize_entry(&mut $map, $wire, $value)?
    };
    ($map:ident, $wire:literal, $value:expr, keep_null) => {
        serde::ser::SerializeMap::serialize_entry(&mut $map, $wire, $value)?
    };
    ($map:ident, $wire:literal, $value:expr, object) => {
        serde::ser::SerializeMap::serialize_entry(&mut $map, $wire, $value)?
    };
    ($map:ident, $wire:literal, $value:expr, list) => {
        serde::ser::SerializeMap::serialize_entry(&mut $map, $wire, $value)?
    };
    ($map:ident, $wire:literal, $value:expr, millis) => {
        serde::ser::SerializeMap::serialize_entry(
            &mut $map,
            $wire,
            &$crate::wire::time::MillisRef($value),
        )?
    };
}

/// Defines a data struct; see the module docs.
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            required {
                $( $(#[$rmeta:meta])* $rfield:ident : $rty:ty = $rwire:literal $(as $rcodec:ident)? ),* $(,)?
            }
            optional {
                $( $(#[$ometa:meta])* $ofield:ident : $oty:ty = $owire:literal $(as $ocodec:ident)? ),* $(,)?
            }
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$rmeta])* pub $rfield: $rty, )*
            $( $(#[$ometa])* pub $ofield: Option<$oty>, )*
            /// Fields this version of the crate has no typed field for, in the
            /// order received, each kept as its exact text and written back
            /// unchanged on serialization.
            pub extra: $crate::Extra,
        }

        impl $name {
            /// Builds the data from its required fields. Optional fields start as
            /// `None` and `extra` empty; set them on the returned value.
            #[allow(clippy::too_many_arguments, clippy::new_without_default)]
            pub fn new($( $rfield: impl Into<$rty> ),*) -> Self {
                Self {
                    $( $rfield: $rfield.into(), )*
                    $( $ofield: None, )*
                    extra: $crate::Extra::new(),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(None)?;
                $( $crate::wire::record::ser_field!(map, $rwire, &self.$rfield $(, $rcodec)?); )*
                $(
                    if let Some(value) = &self.$ofield {
                        $crate::wire::record::ser_field!(map, $owire, value $(, $ocodec)?);
                    }
                )*
                self.extra.serialize_entries(&mut map)?;
                serde::ser::SerializeMap::end(map)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct RecordVisitor;
                impl<'de> serde::de::Visitor<'de> for RecordVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str(concat!("an object (", stringify!($name), ")"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        $( let mut $rfield: Option<$rty> = None; )*
                        $( let mut $ofield: Option<Option<$oty>> = None; )*
                        let mut extra = $crate::Extra::new();
                        while let Some(key) = map.next_key::<$crate::wire::Key<'de>>()? {
                            match key.as_str() {
                                $(
                                    $rwire => {
                                        let value = $crate::wire::record::de_required!(map, $rwire, $rty $(, $rcodec)?);
                                        $crate::wire::set_once(&mut $rfield, $rwire, value)?;
                                    }
                                )*
                                $(
                                    $owire => {
                                        let value = $crate::wire::record::de_optional!(map, $owire, $oty $(, $ocodec)?);
                                        $crate::wire::set_once(&mut $ofield, $owire, value)?;
                                    }
                                )*
                                _ => extra.read_entry_keyed(&mut map, key)?,
                            }
                        }
                        Ok($name {
                            $( $rfield: $rfield.ok_or_else(|| serde::de::Error::missing_field($rwire))?, )*
                            $( $ofield: $ofield.flatten(), )*
                            extra: extra.finish()?,
                        })
                    }
                }
                deserializer.deserialize_map(RecordVisitor)
            }
        }
    };
}

pub(crate) use {de_optional, de_required, record, ser_field};
