//! The batch envelope: `{"results": [event, ...]}`.
//!
//! Spektr delivers every webhook as a batch. [`parse`] decodes one strictly (one
//! broken event fails the call, and the error names its index);
//! [`parse_lenient`] decodes each event on its own, so that a broken event is
//! handed back raw, as a [`Rejected`], while every good event around it is kept.

use std::fmt::{self, Write as _};
use std::marker::PhantomData;

use serde::de::value::MapDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use serde_path_to_error::Segment;

use crate::error::{Error, Lines};
use crate::wire::{set_once, Key};
use crate::{RawJson, WebhookEvent};

/// A batch of events, `{"results": [...]}`.
///
/// Keys beside `results` are accepted and ignored when reading; writing
/// produces `{"results": [...]}`. Only a JSON object is a batch (serde's
/// derived structs would also take `[[...]]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Batch<E> {
    /// The events, in delivery order.
    pub results: Vec<E>,
}

impl<E> Default for Batch<E> {
    fn default() -> Self {
        Batch {
            results: Vec::new(),
        }
    }
}

impl<E> From<Vec<E>> for Batch<E> {
    fn from(results: Vec<E>) -> Self {
        Batch { results }
    }
}

impl<E> IntoIterator for Batch<E> {
    type Item = E;
    type IntoIter = std::vec::IntoIter<E>;
    fn into_iter(self) -> Self::IntoIter {
        self.results.into_iter()
    }
}

impl<'a, E> IntoIterator for &'a Batch<E> {
    type Item = &'a E;
    type IntoIter = std::slice::Iter<'a, E>;
    fn into_iter(self) -> Self::IntoIter {
        self.results.iter()
    }
}

/// An event of a batch that could not be decoded, kept exactly as received.
///
/// Its `Display` is the error's message (which names the index and, when
/// readable, the event type).
#[derive(Debug, Clone)]
pub struct Rejected {
    index: usize,
    raw_json: Box<str>,
    error: Error,
}

impl Rejected {
    /// The event's index in the batch's `results`.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The event's text byte for byte as it stood in the body: store it in a
    /// dead-letter queue and replay it once the crate (or the data) is fixed.
    pub fn raw_json(&self) -> &str {
        &self.raw_json
    }

    /// Why the event was rejected; its message names the index and, when
    /// readable, the event type.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// Takes the raw text and the error out.
    pub fn into_parts(self) -> (String, Error) {
        (self.raw_json.into(), self.error)
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Rejected {}

/// Decodes a batch strictly: every event must decode, else the call fails with
/// the error of the first failing event (its index, type, path and position):
/// the first error that [`parse_lenient`] reports for the same body.
///
/// `E` is a provider's event type ([`spektr::Event`](crate::spektr::Event),
/// [`predictaid::Event`](crate::predictaid::Event)): errors name that
/// provider and the type read from its type key, nothing is guessed.
///
/// ```
/// use kyc_webhooks::{batch, spektr};
/// let body = br#"{"results": [{"id": "e1", "spektrId": "s1", "eventType": "a_future_type",
///     "timestamp": 1752662761594, "data": {}}]}"#;
/// let batch = batch::parse::<spektr::Event>(body)?;
/// assert_eq!(batch.results[0].type_name(), "a_future_type");
/// # Ok::<(), kyc_webhooks::Error>(())
/// ```
pub fn parse<E: WebhookEvent>(body: &[u8]) -> Result<Batch<E>, Error> {
    // One pass; only when that fails is the body read again, event by
    // event, by the lenient decoder: its first error is the strict error.
    if let Some(batch) = decode_whole::<E>(body) {
        return Ok(batch);
    }
    Err(match items::<E>(body) {
        Err(error) => error,
        Ok(mut items) => match items.find_map(Result::err) {
            Some(rejected) => rejected.error,
            None => whole_body_error::<E>(body),
        },
    })
}

/// Decodes a batch event by event: the envelope must be JSON with a `results`
/// array (else `Err`), but each event stands alone. One item per event, in
/// delivery order: the decoded event, or a [`Rejected`] holding its raw text and
/// the error. No good event is lost because of a bad neighbour.
///
/// ```
/// use kyc_webhooks::{batch, spektr};
/// let body = br#"{"results": [
///     {"id": "e1", "spektrId": "s1", "eventType": "step_init", "timestamp": 1, "data": {"processId": 7}},
///     {"id": "e2", "spektrId": "s1", "eventType": "a_future_type", "timestamp": 2, "data": {}}
/// ]}"#;
/// let items = batch::parse_lenient::<spektr::Event>(body)?;
/// let rejected = items[0].as_ref().unwrap_err();
/// assert_eq!(rejected.index(), 0);
/// assert!(rejected.raw_json().contains(r#""processId": 7"#));
/// assert_eq!(items[1].as_ref().unwrap().id, "e2");
/// # Ok::<(), kyc_webhooks::Error>(())
/// ```
pub fn parse_lenient<E: WebhookEvent>(body: &[u8]) -> Result<Vec<Result<E, Rejected>>, Error> {
    // A batch whose events all decode is what the strict decoder returns, in
    // one pass; only a batch with a broken event is decoded event by event.
    if let Some(batch) = decode_whole::<E>(body) {
        return Ok(batch.results.into_iter().map(Ok).collect());
    }
    Ok(items(body)?.collect())
}

/// The batch decoded in one pass, after a whole-body UTF-8 check (which lets
/// serde_json read strings without checking each one); `None` when any part
/// of it fails.
fn decode_whole<E: WebhookEvent>(body: &[u8]) -> Option<Batch<E>> {
    let text = std::str::from_utf8(body).ok()?;
    serde_json::from_str(text).ok()
}

/// The one path that decodes a batch event by event: the envelope first
/// (else its error), then each event on its own, lazily, so that the strict
/// decoder can stop at the first rejected event.
fn items<E: WebhookEvent>(
    body: &[u8],
) -> Result<impl Iterator<Item = Result<E, Rejected>> + '_, Error> {
    let raw = envelope::<E>(body)?;
    let mut lines = Lines::new(body);
    Ok(raw
        .results
        .into_iter()
        .enumerate()
        .map(move |(index, event)| {
            decode::<E>(body, &mut lines, index, event).map_err(|error| Rejected {
                index,
                raw_json: event.get().into(),
                error,
            })
        }))
}

/// Each event of a batch decodes alone but the whole did not (a batch that
/// is not UTF-8 outside its events, say): what serde says of the whole.
fn whole_body_error<E: WebhookEvent>(body: &[u8]) -> Error {
    let whole = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str::<Batch<E>>(text).err(),
        Err(_) => serde_json::from_slice::<Value>(body).err(),
    };
    let whole = whole.unwrap_or_else(|| {
        de::Error::custom("the batch decodes event by event but not as a whole")
    });
    Error::envelope(Some(E::PROVIDER), None, &whole)
}

impl<'de, E: Deserialize<'de>> Deserialize<'de> for Batch<E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let results = deserializer.deserialize_map(ResultsVisitor(PhantomData))?;
        Ok(Batch { results })
    }
}

/// Reads an object's `results` array, refusing a second `results` and
/// skipping any other key.
struct ResultsVisitor<E>(PhantomData<E>);

impl<'de, E: Deserialize<'de>> Visitor<'de> for ResultsVisitor<E> {
    type Value = Vec<E>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a batch object, {"results": [...]}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<E>, A::Error> {
        let mut results = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if key.as_str() == "results" {
                let value = map.next_value()?;
                set_once(&mut results, "results", value)?;
            } else {
                // Captured, not skipped: serde_json's skipping does not check
                // UTF-8, and a body that is not JSON must not be taken.
                map.next_value::<RawJson>()?;
            }
        }
        results.ok_or_else(|| de::Error::missing_field("results"))
    }
}

/// The batch as read in the first pass: each event's text, unparsed.
struct RawBatch<'a> {
    results: Vec<&'a RawValue>,
}

impl<'de> Deserialize<'de> for RawBatch<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let results = deserializer.deserialize_map(ResultsVisitor(PhantomData))?;
        Ok(RawBatch { results })
    }
}

/// Decodes `body`: checking UTF-8 once for the whole body is faster than
/// serde_json checking each string as it reads it; a body that is not UTF-8
/// is read from bytes, for serde_json's error and its position.
fn read_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    }
}

fn envelope<E: WebhookEvent>(body: &[u8]) -> Result<RawBatch<'_>, Error> {
    read_json(body).map_err(|e| {
        let path = serde_path_to_error::deserialize::<_, RawBatch>(
            &mut serde_json::Deserializer::from_slice(body),
        )
        .err()
        .and_then(|e| render_path(String::new(), e.path()));
        Error::envelope(Some(E::PROVIDER), path, &e)
    })
}

fn decode<E: WebhookEvent>(
    body: &[u8],
    lines: &mut Lines<'_>,
    index: usize,
    event: &RawValue,
) -> Result<E, Error> {
    let text = event.get();
    serde_json::from_str(text).map_err(|e| {
        let path = failing_path::<E>(text, format!("results[{index}]"));
        // The event's text is a slice of `body`: its offset gives its position.
        let offset = (text.as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
        Error::event(
            Some(E::PROVIDER),
            Some(index),
            type_name(text, E::TYPE_KEY),
            path,
            &e,
            Some(lines.position_of(offset)),
        )
    })
}

/// Decodes a body that is one event (not a batch).
pub(crate) fn parse_single<E: WebhookEvent>(body: &[u8]) -> Result<E, Error> {
    read_json(body).map_err(|e| {
        let text = std::str::from_utf8(body).ok();
        let event_type = text.and_then(|text| type_name(text, E::TYPE_KEY));
        let path = text.and_then(|text| failing_path::<E>(text, String::new()));
        Error::event(Some(E::PROVIDER), None, event_type, path, &e, None)
    })
}

/// The event's type as sent under `type_key`, when `text` is an object whose
/// `type_key` holds a string (read up to where `text` breaks, if it does).
/// Runs on the error path only.
fn type_name(text: &str, type_key: &str) -> Option<String> {
    struct TypeVisitor<'a>(&'a str, &'a mut Option<String>);
    impl<'de> Visitor<'de> for TypeVisitor<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an event object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<Key<'de>>()? {
                if key.as_str() == self.0 && self.1.is_none() {
                    if let Value::String(name) = map.next_value::<Value>()? {
                        *self.1 = Some(name);
                    }
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }
    let mut name = None;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let _ = deserializer.deserialize_map(TypeVisitor(type_key, &mut name));
    name
}

/// The JSON path, under `prefix`, of the value that makes `text` fail to
/// decode as `E`, found by decoding it again with the path tracked. Runs on
/// the error path only, so successful decoding pays nothing for it.
fn failing_path<E: WebhookEvent>(text: &str, prefix: String) -> Option<String> {
    let direct =
        serde_path_to_error::deserialize::<_, E>(&mut serde_json::Deserializer::from_str(text))
            .err()?;
    if direct.path().iter().next().is_some() {
        return render_path(prefix, direct.path());
    }
    // A failure at the root may come from `data` that preceded the event type
    // and so was decoded late, from a buffer, where no path is tracked. Decode
    // once more with the type key moved first. (Duplicate keys are lost in the
    // `Value`, but those fail in the direct pass with a path.)
    let type_key = E::TYPE_KEY;
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) else {
        return render_path(prefix, direct.path());
    };
    let mut entries: Vec<(String, Value)> = object.into_iter().collect();
    if let Some(at) = entries.iter().position(|(key, _)| key == type_key) {
        let entry = entries.remove(at);
        entries.insert(0, entry);
    }
    let reordered = MapDeserializer::<_, serde_json::Error>::new(entries.into_iter());
    match serde_path_to_error::deserialize::<_, E>(reordered) {
        Err(e) if e.path().iter().next().is_some() => render_path(prefix, e.path()),
        _ => render_path(prefix, direct.path()),
    }
}

/// Writes `path` after `prefix` as `results[3].data.processId`; `None` for an
/// empty result (the root).
fn render_path(mut out: String, path: &serde_path_to_error::Path) -> Option<String> {
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            Segment::Map { key } => push_key(&mut out, key),
            Segment::Enum { variant } => push_key(&mut out, variant),
            Segment::Unknown => push_key(&mut out, "?"),
        }
    }
    (!out.is_empty()).then_some(out)
}

fn push_key(out: &mut String, key: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    out.push_str(key);
}
