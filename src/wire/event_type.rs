//! `event_type_enum!`: the `EventType` enum of a provider (a `Copy` list of the
//! documented wire type names), shared by both providers.

/// Defines `pub enum EventType` with `as_str`, `ALL`, `FromStr`, `Display` and
/// serde impls (the wire name), plus a crate-private
/// `from_wire(&str) -> Option<EventType>`.
macro_rules! event_type_enum {
    (
        $provider:expr;
        $(#[$meta:meta])*
        pub enum EventType { $( $(#[$attr:meta])* $variant:ident = $wire:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventType {
            $( $(#[$attr])* $variant, )+
        }

        #[allow(deprecated)]
        impl EventType {
            /// Every documented type, in the order of the provider's reference.
            pub const ALL: &'static [EventType] = &[ $( EventType::$variant, )+ ];

            /// The name sent on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( EventType::$variant => $wire, )+
                }
            }

            /// The wire names of [`ALL`](Self::ALL), in the same order.
            const NAMES: &'static [&'static str] = &[ $( $wire, )+ ];

            /// The documented type with this exact (case-sensitive) wire name.
            pub(crate) fn from_wire(name: &str) -> Option<EventType> {
                match name {
                    $( $wire => Some(EventType::$variant), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for EventType {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for EventType {
            /// The wire name.
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for EventType {
            /// A documented wire name; any other string is an error.
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = <$crate::wire::Key<'de>>::deserialize(deserializer)?;
                EventType::from_wire(name.as_str()).ok_or_else(|| {
                    serde::de::Error::unknown_variant(name.as_str(), EventType::NAMES)
                })
            }
        }

        impl std::str::FromStr for EventType {
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
    };
}

pub(crate) use event_type_enum;
