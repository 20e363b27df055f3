//! `open_enum!`: string enums whose documented values get variants and whose
//! undocumented values are kept in an `Other(String)` catch-all instead of
//! failing, so a value the provider adds tomorrow does not drop the event.

/// Defines an open string enum.
///
/// Serialization is derived (`#[serde(untagged)]` on `Other`, serde >= 1.0.164);
/// deserialization is written out so that a value of the wrong JSON type gets
/// serde's positioned "invalid type" error rather than the position-less
/// "did not match any variant of untagged enum" of a derived untagged fallback.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant, )+
            /// A value this version of the crate does not know, kept as sent.
            #[serde(untagged)]
            Other(String),
        }

        impl $name {
            /// The value as it is written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Other(value) => value,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            /// Maps a documented value to its variant and anything else to `Other`.
            fn from(value: &str) -> Self {
                match value {
                    $( $wire => Self::$variant, )+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct OpenVisitor;
                impl serde::de::Visitor<'_> for OpenVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::from(v))
                    }
                    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<$name, E> {
                        match v.as_str() {
                            $( $wire => Ok($name::$variant), )+
                            _ => Ok($name::Other(v)),
                        }
                    }
                }
                deserializer.deserialize_str(OpenVisitor)
            }
        }
    };
}

pub(crate) use open_enum;
