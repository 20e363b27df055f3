//! `payloads!`: a provider's one list of documented event types, from which
//! its `EventType` and `Payload` enums and everything that maps between the
//! wire name, the variant and the data type are generated; and
//! [`UnknownPayload`], the data of a type the crate does not know, shared by
//! both providers.
//!
//! Adding an event type is one line in the provider's list (with the data
//! type its `record!` declares). Everything that walks the documented types
//! (the tests, the CLI, the samples of `testing`) iterates
//! `EventType::ALL` or matches exhaustively, so a place that misses the new
//! type fails to compile or fails a test.

use crate::RawJson;

pub(crate) mod summary;

/// The `data` of an event whose type this version of the crate does not
/// know, kept whole: the type as sent and the `data` as the text received.
///
/// One type for both providers: [`spektr::UnknownPayload`](crate::spektr::UnknownPayload)
/// and [`predictaid::UnknownPayload`](crate::predictaid::UnknownPayload) name
/// it, and it is what [`spektr::Payload::Other`](crate::spektr::Payload::Other)
/// and [`predictaid::Payload::Other`](crate::predictaid::Payload::Other) hold.
///
/// ```
/// use kyc_webhooks::{spektr, RawJson, UnknownPayload};
///
/// let body = br#"{"id": "e1", "spektrId": "s1", "eventType": "alert_created",
///     "timestamp": 1752127706390, "data": {"alertId": "a1"}}"#;
/// let event = spektr::parse_event(body)?;
/// let spektr::Payload::Other(unknown) = &event.data else { unreachable!() };
/// assert_eq!(unknown.event_type, "alert_created");
/// assert_eq!(unknown.data.as_str(), r#"{"alertId": "a1"}"#);
///
/// // Built by hand, for a test: the same type under either provider's name.
/// let built: spektr::UnknownPayload =
///     UnknownPayload::new("alert_created", RawJson::from_json(r#"{"alertId": "a1"}"#)?);
/// assert_eq!(&built, unknown);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct UnknownPayload {
    /// The type as sent (Spektr's `eventType`, PredictaID's `type`).
    pub event_type: String,
    /// The `data` as sent, any JSON.
    pub data: RawJson,
}

impl UnknownPayload {
    /// A payload of an unknown type.
    pub fn new(event_type: impl Into<String>, data: RawJson) -> Self {
        UnknownPayload {
            event_type: event_type.into(),
            data,
        }
    }
}

/// Defines, from one provider's list of `Variant(DataType) = "wire name"`
/// lines (each with its docs and attributes):
///
/// - `pub enum EventType` (`Copy`, `#[non_exhaustive]`) with `ALL`, `as_str`,
///   `Display`, `FromStr` (error [`UnknownEventType`](crate::UnknownEventType)
///   naming `$provider`) and serde as the wire name, and the crate-private
///   `from_wire`;
/// - `pub enum Payload`: one variant per line holding its data type, and
///   `Other(UnknownPayload)`, with `type_name`, `event_type` and `extra`, and
///   the crate-private `serialize_data`;
/// - the crate-private `DataSeed(EventType)`, which reads a documented type's
///   `data` into its variant.
///
/// `$type_key` is the wire key of the type (`eventType`, `type`), for the
/// docs. The docs of the two enums come from the invocation; a variant's
/// docs and attributes are put on both its `EventType` and its `Payload`
/// variant. The generated code allows `deprecated`, so that a variant marked
/// `#[deprecated]` costs no warning inside the crate.
macro_rules! payloads {
    (
        provider: $provider:expr, type_key: $type_key:literal;
        $(#[$type_meta:meta])*
        pub enum EventType;
        $(#[$payload_meta:meta])*
        pub enum Payload {
            $( $(#[$attr:meta])* $variant:ident($data:ty) = $wire:literal, )+
        }
    ) => {
        $(#[$type_meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventType {
            $( $(#[$attr])* $variant, )+
        }

        #[allow(deprecated)]
        impl EventType {
            /// Every documented type, in the order of the provider's reference.
            pub const ALL: &'static [EventType] = &[ $( EventType::$variant, )+ ];

            /// The wire names of [`ALL`](Self::ALL), in the same order.
            const NAMES: &'static [&'static str] = &[ $( $wire, )+ ];

            /// The name sent on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( EventType::$variant => $wire, )+
                }
            }

            /// The documented type with this exact (case-sensitive) wire name.
            pub(crate) fn from_wire(name: &str) -> Option<EventType> {
                match name {
                    $( $wire => Some(EventType::$variant), )+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for EventType {
            /// The wire name.
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for EventType {
            /// The wire name.
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for EventType {
            /// A documented wire name; any other string is an error.
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = <$crate::wire::Key<'de> as ::serde::Deserialize>::deserialize(deserializer)?;
                EventType::from_wire(name.as_str()).ok_or_else(|| {
                    ::serde::de::Error::unknown_variant(name.as_str(), EventType::NAMES)
                })
            }
        }

        impl ::std::str::FromStr for EventType {
            type Err = $crate::UnknownEventType;

            /// Parses a wire name; exact and case-sensitive, as the providers
            /// match subscriptions.
            fn from_str(name: &str) -> Result<Self, Self::Err> {
                EventType::from_wire(name).ok_or_else(|| $crate::UnknownEventType {
                    provider: $provider,
                    name: name.to_owned(),
                })
            }
        }

        $(#[$payload_meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Payload {
            $( $(#[$attr])* $variant($data), )+
            /// A type this version of the crate does not know, with its type
            /// and `data` as sent.
            Other($crate::UnknownPayload),
        }

        #[allow(deprecated)]
        impl Payload {
            #[doc = concat!("The wire `", $type_key, "`, also for an unknown type.")]
            pub fn type_name(&self) -> &str {
                match self {
                    $( Payload::$variant(_) => $wire, )+
                    Payload::Other(unknown) => &unknown.event_type,
                }
            }

            /// The documented type, or `None` for [`Payload::Other`].
            pub fn event_type(&self) -> Option<EventType> {
                match self {
                    $( Payload::$variant(_) => Some(EventType::$variant), )+
                    Payload::Other(_) => None,
                }
            }

            /// The fields of the data that this version of the crate does not
            /// type (each data type's `extra`), kept as the text received; for
            /// every documented type, the same map as its data's `extra`.
            ///
            /// `None` for [`Payload::Other`]: an unknown type's data has no
            /// typed fields to set apart, it is kept whole in
            /// [`UnknownPayload::data`](crate::UnknownPayload::data).
            pub fn extra(&self) -> Option<&$crate::Extra> {
                match self {
                    $( Payload::$variant(data) => Some(&data.extra), )+
                    Payload::Other(_) => None,
                }
            }

            /// Writes the `data` value.
            fn serialize_data<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( Payload::$variant(data) => ::serde::Serialize::serialize(data, serializer), )+
                    Payload::Other(unknown) => ::serde::Serialize::serialize(&unknown.data, serializer),
                }
            }
        }

        /// Reads `data` for a known type.
        #[derive(Clone, Copy)]
        struct DataSeed(EventType);

        #[allow(deprecated)]
        impl<'de> ::serde::de::DeserializeSeed<'de> for DataSeed {
            type Value = Payload;
            fn deserialize<D: ::serde::Deserializer<'de>>(self, deserializer: D) -> Result<Payload, D::Error> {
                Ok(match self.0 {
                    $( EventType::$variant => Payload::$variant(
                        <$data as ::serde::Deserialize>::deserialize(deserializer)?,
                    ), )+
                })
            }
        }
    };
}

pub(crate) use payloads;
