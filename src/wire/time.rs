//! Timestamps on the wire.
//!
//! Spektr sends epoch milliseconds as a JSON integer (`timestamp`,
//! `lastSyncedAt`); PredictaID sends RFC 3339 text with milliseconds
//! (`occurredAt`). Both become `chrono::DateTime<Utc>`; an out-of-range or
//! non-integer value is a deserialization error, never a panic.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::{self, Deserialize, Deserializer, Unexpected, Visitor};
use serde::{Serialize, Serializer};

/// An instant read from, and written back as, integer epoch milliseconds.
pub(crate) struct Millis(pub(crate) DateTime<Utc>);

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MillisVisitor;
        impl Visitor<'_> for MillisVisitor {
            type Value = Millis;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer number of milliseconds since the Unix epoch")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Millis, E> {
                DateTime::from_timestamp_millis(v)
                    .map(Millis)
                    .ok_or_else(|| E::invalid_value(Unexpected::Signed(v), &OUT_OF_RANGE))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Millis, E> {
                match i64::try_from(v) {
                    Ok(v) => self.visit_i64(v),
                    Err(_) => Err(E::invalid_value(Unexpected::Unsigned(v), &OUT_OF_RANGE)),
                }
            }
        }
        deserializer.deserialize_i64(MillisVisitor)
    }
}

const OUT_OF_RANGE: &str = "milliseconds since the Unix epoch within chrono's date range";

/// Serializes an instant as integer epoch milliseconds (sub-millisecond
/// precision, which the wire format cannot carry, is truncated).
pub(crate) struct MillisRef<'a>(pub(crate) &'a DateTime<Utc>);

impl Serialize for MillisRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0.timestamp_millis())
    }
}

/// The canonical PredictaID form: RFC 3339, UTC, `Z`, exactly three fractional
/// digits (`2026-03-23T12:00:00.000Z`).
pub(crate) fn rfc3339_millis(instant: &DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Whether `text`, already parsed as RFC 3339, is in the form
/// [`rfc3339_millis`] writes: `YYYY-MM-DDTHH:MM:SS.mmmZ`, exactly 24 bytes.
/// (Checked by shape, without formatting: this runs for every event.)
fn is_canonical(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 24 && b[10] == b'T' && b[19] == b'.' && b[23] == b'Z'
}

/// An RFC 3339 instant together with its text when that text is not in the
/// canonical form, so that it can be written back exactly as it came.
pub(crate) struct Rfc3339 {
    pub(crate) instant: DateTime<Utc>,
    pub(crate) text: Option<Box<str>>,
}

impl<'de> Deserialize<'de> for Rfc3339 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Rfc3339Visitor;
        impl Visitor<'_> for Rfc3339Visitor {
            type Value = Rfc3339;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 date-time such as \"2026-03-23T12:00:00.000Z\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Rfc3339, E> {
                let instant = DateTime::parse_from_rfc3339(v)
                    .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))?
                    .with_timezone(&Utc);
                let text = (!is_canonical(v)).then(|| v.into());
                Ok(Rfc3339 { instant, text })
            }
        }
        deserializer.deserialize_str(Rfc3339Visitor)
    }
}

/// Writes `instant` back: as `text` when that text (kept from the input) still
/// denotes `instant`, else in the canonical form.
pub(crate) fn serialize_rfc3339<S: Serializer>(
    instant: &DateTime<Utc>,
    text: Option<&str>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match text {
        Some(text) if denotes(text, instant) => serializer.serialize_str(text),
        _ => serializer.serialize_str(&rfc3339_millis(instant)),
    }
}

/// Whether RFC 3339 `text` denotes `instant`.
pub(crate) fn denotes(text: &str, instant: &DateTime<Utc>) -> bool {
    DateTime::parse_from_rfc3339(text).is_ok_and(|kept| kept == *instant)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape check agrees with formatting on every form it may see.
    #[test]
    fn is_canonical_agrees_with_the_canonical_formatting() {
        for text in [
            "2026-03-23T12:00:00.000Z",
            "2026-03-23T12:00:00.123Z",
            "2016-12-31T23:59:60.000Z",
            "2026-03-23T12:00:00Z",
            "2026-03-23T12:00:00.1234Z",
            "2026-03-23T12:00:00.000+00:00",
            "2026-03-23t12:00:00.000z",
            "2026-03-23 12:00:00.000Z",
            "2026-03-23T14:00:00.000+02:00",
            "2026-03-23T12:00:00.5Z",
        ] {
            let instant = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(
                is_canonical(text),
                rfc3339_millis(&instant) == text,
                "{text}"
            );
        }
    }
}
