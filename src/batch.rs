//! The batch envelope: `{"results": [event, ...]}`.
//!
//! Spektr delivers every webhook as a batch. [`parse`] decodes one strictly (one
//! broken event fails the call, and the error names its index);
//! [`parse_lenient`] decodes each event on its own, so that a broken event is
//! handed back raw, as a [`Rejected`], while every good event around it is kept.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Error, Lines};
use crate::wire::path::{self, Fields, Indexed, Trail};
use crate::wire::{budget, set_once, Key};
use crate::{Provider, RawJson, WebhookEvent};

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
    // One pass; when an event fails in it, that pass's error (its path,
    // index and type) is the strict error once the envelope is known to be
    // whole: one more pass over the body, reading each event's text only
    // (the lenient decoder would stop at a broken envelope first). Only when
    // the one pass cannot say what an event would do alone (see
    // `WholeFailure`), or would take too much memory, is the body decoded
    // again, event by event, by the lenient decoder: its first error is the
    // strict error, and a batch whose every event decodes alone is decoded
    // (the one pass shares one memory budget among the events, sized by the
    // body; alone, each has its own).
    match decode_whole::<E>(body) {
        Whole::Decoded(batch) => return Ok(batch),
        Whole::Failed(Some(failure)) => {
            let raw = envelope::<E>(body)?;
            if let Some(text) = raw.results.get(failure.index) {
                return Err(failure.into_error::<E>(text.get()));
            }
        }
        Whole::OverBudget | Whole::Failed(None) => {}
    }
    // Event by event, into a vector of the right size: the first rejected
    // event is the error, and a batch whose every event decodes is one.
    let items = items::<E>(body)?;
    let mut events = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Ok(event) => events.push(event),
            Err(rejected) => return Err(rejected.error),
        }
    }
    Ok(Batch { results: events })
}

/// Decodes a batch event by event: the envelope must be JSON with a `results`
/// array (else `Err`), but each event stands alone. One item per event, in
/// delivery order: the decoded event, or a [`Rejected`] holding its raw text and
/// the error. No good event is lost because of a bad neighbour.
///
/// # Memory
///
/// Peak heap while decoding and holding the result is at most 16 times the
/// body, however many and however small the items of `results` are
/// (measured by `tests/memory.rs` on 16 MiB bodies; the README lists the
/// figures). A typed array inside an event (`tags`, `changes`) whose
/// buffers would pass 4 times the event's text, after a free 64 KiB, fails
/// its event (an element costs its whole struct however short its text:
/// `{}` is a `Tag`). Each item takes a slot the size of
/// an event (`size_of::<Result<E, Rejected>>()`, 520 bytes for a Spektr
/// event), so a body of more items than valid events could fill it (more
/// than one per 61 bytes for Spektr, the shortest valid event; 128 for
/// PredictaID; plus 1,024 items whatever the size) is refused whole with an
/// envelope `Err` naming the count and the average item size: keep the body
/// as a dead letter. No batch of valid events is refused. The same holds for
/// [`parse`].
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
    if let Whole::Decoded(batch) = decode_whole::<E>(body) {
        // In place: an event and an item have the same size.
        return Ok(batch.results.into_iter().map(Ok).collect());
    }
    // One slot per event, allocated once: the iterator knows its length.
    Ok(items(body)?.collect())
}

/// What the one-pass decoder made of a body.
enum Whole<E> {
    /// Every event decoded.
    Decoded(Batch<E>),
    /// Stopped before the vector of events outgrew [`WHOLE_BUDGET`] times
    /// the body: the events are so small that growing the vector as they
    /// come (the old and the new buffer at once) would cost too much; the
    /// event-by-event decoder, which sizes its vector once, takes over.
    OverBudget,
    /// Some part of the body is not a batch of valid events: an event that
    /// fails as it would alone (`Some`), or anything else.
    Failed(Option<WholeFailure>),
}

/// An event that failed in the one pass exactly as it fails when decoded
/// alone, with every event before it decoding alone: the lenient decoder's
/// first error, but for its position, which is in the body already.
///
/// That holds for a data error (a syntax error may be the envelope's, and
/// the envelope pass decides) when no event up to the failing one took
/// more than [`budget::FREE`] from the pass's memory budget for arrays: alone,
/// an event has [`budget::FREE`] and more of its own, but the pass's budget is
/// shared by all the events and sized by the body, so it may refuse what an
/// event's own would take or take what it would refuse.
struct WholeFailure {
    index: usize,
    error: serde_json::Error,
    trail: Trail,
}

impl WholeFailure {
    /// The error, `text` being the failing event's text (to read its type
    /// from when the failure came before the type key).
    fn into_error<E: WebhookEvent>(mut self, text: &str) -> Error {
        let event_type = self
            .trail
            .take_event_type()
            .or_else(|| type_name(text, E::TYPE_KEY));
        Error::event(
            Some(E::PROVIDER),
            Some(self.index),
            event_type,
            self.trail.path(String::new()),
            &self.error,
            None,
        )
    }
}

/// The one-pass decoder's vector of events may take at most this many times
/// the body, counting its old and new buffers while it grows.
const WHOLE_BUDGET: usize = 8;

/// The batch decoded in one pass, after a whole-body UTF-8 check (which lets
/// serde_json read strings without checking each one).
fn decode_whole<E: WebhookEvent>(body: &[u8]) -> Whole<E> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Whole::Failed(None);
    };
    let seed = BudgetedEvents {
        budget: body.len().saturating_mul(WHOLE_BUDGET),
        over: Cell::new(false),
        unlike_alone: Cell::new(false),
        event: PhantomData,
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let decoded = budget::within(body.len(), || {
        path::recorded(|| {
            deserializer
                .deserialize_map(ResultsVisitor(&seed))
                .and_then(|results| deserializer.end().map(|()| results))
        })
    });
    match decoded {
        Ok(results) => Whole::Decoded(Batch { results }),
        Err(_) if seed.over.get() => Whole::OverBudget,
        Err((error, trail)) => {
            let as_alone =
                !seed.unlike_alone.get() && error.classify() == serde_json::error::Category::Data;
            Whole::Failed(
                trail
                    .index_under("results")
                    .filter(|_| as_alone)
                    .map(|index| WholeFailure {
                        index,
                        error,
                        trail,
                    }),
            )
        }
    }
}

/// Reads the `results` array as events into a vector that grows as usual
/// until its old and new buffers together would pass `budget` bytes; then
/// fails, and says so in `over`. `unlike_alone` says whether an event took
/// more than [`budget::FREE`] of the pass's array budget, or was refused
/// some (see [`WholeFailure`]).
struct BudgetedEvents<E> {
    budget: usize,
    over: Cell<bool>,
    unlike_alone: Cell<bool>,
    event: PhantomData<E>,
}

impl<'de, E: Deserialize<'de>> DeserializeSeed<'de> for &BudgetedEvents<E> {
    type Value = Vec<E>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<E>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, E: Deserialize<'de>> Visitor<'de> for &BudgetedEvents<E> {
    type Value = Vec<E>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<E>, A::Error> {
        let mut events: Vec<E> = Vec::new();
        loop {
            let left = budget::left();
            let next = seq
                .next_element_seed(Indexed(events.len(), PhantomData))
                .inspect_err(|_| {
                    if budget::refused() || left.saturating_sub(budget::left()) > budget::FREE {
                        self.unlike_alone.set(true);
                    }
                })?;
            let Some(event) = next else { break };
            if left.saturating_sub(budget::left()) > budget::FREE {
                self.unlike_alone.set(true);
            }
            if events.len() == events.capacity() {
                let grown = events.capacity().saturating_mul(2).max(4);
                let bytes = events
                    .capacity()
                    .saturating_add(grown)
                    .saturating_mul(std::mem::size_of::<E>());
                if bytes > self.budget {
                    self.over.set(true);
                    return Err(de::Error::custom("over the one-pass memory budget"));
                }
                events.reserve_exact(grown - events.len());
            }
            events.push(event);
        }
        Ok(events)
    }
}

/// The one path that decodes a batch event by event: the envelope first
/// (else its error), then each event on its own, lazily, so that the strict
/// decoder can stop at the first rejected event.
fn items<E: WebhookEvent>(
    body: &[u8],
) -> Result<impl ExactSizeIterator<Item = Result<E, Rejected>> + '_, Error> {
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

impl<'de, E: Deserialize<'de>> Deserialize<'de> for Batch<E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let results = deserializer.deserialize_map(ResultsVisitor(PhantomData::<Vec<E>>))?;
        Ok(Batch { results })
    }
}

/// Reads an object's `results` array with the seed `S` (a `PhantomData` of a
/// type, for plain decoding), refusing a second `results` and skipping any
/// other key.
struct ResultsVisitor<S>(S);

impl<'de, S: DeserializeSeed<'de> + Copy> Visitor<'de> for ResultsVisitor<S> {
    type Value = S::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a batch object, {"results": [...]}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<S::Value, A::Error> {
        let mut map = Fields::new(map);
        let mut results = None;
        while let Some(key) = map.next_field()? {
            if key.as_str() == "results" {
                let value = map.next_value_seed(self.0)?;
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
    /// How many items `results` held in the body: more than `results.len()`
    /// when the reader stopped keeping them (see [`RawItems`]).
    count: usize,
}

/// Reads the `results` array as raw items, keeping at most `keep` of them
/// and counting the rest.
#[derive(Clone, Copy)]
struct RawItems {
    keep: usize,
}

impl<'de> DeserializeSeed<'de> for RawItems {
    type Value = RawBatch<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RawItems {
    type Value = RawBatch<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawBatch<'de>, A::Error> {
        let mut results = Vec::new();
        let mut count = 0usize;
        while let Some(item) =
            seq.next_element_seed(Indexed::<&'de RawValue>(count, PhantomData))?
        {
            if results.len() < self.keep {
                results.push(item);
            }
            count = count.saturating_add(1);
        }
        Ok(RawBatch { results, count })
    }
}

/// The shortest text a valid event of `provider` can have: each required key
/// with the shortest value its type takes, no whitespace.
///
/// - Spektr, 61 bytes: `{"id":"","spektrId":"","eventType":"","timestamp":0,"data":0}`
///   (`id`, `spektrId` and `eventType` are strings, `timestamp` an integer,
///   `data` any JSON value for a type the crate does not know);
/// - PredictaID, 128 bytes: the same for `id`, `type`, `occurredAt` (an RFC
///   3339 instant, 20 characters at the shortest: `2025-01-01T00:00:00Z`),
///   `companyId`, `aggregateType`, `aggregateId`, `version` and `data`.
///
/// The unit tests decode both texts, and check their lengths.
fn min_event_len(provider: Provider) -> usize {
    match provider {
        Provider::Spektr => 61,
        Provider::PredictaId => 128,
    }
}

/// A batch may hold this many items whatever their size: small bodies are
/// not held to the ratio (1,024 items cost at most about 1 MiB).
const FREE_ITEMS: usize = 1024;

/// How many items a batch of `len` bytes may hold: as many valid events of
/// `provider` as fit in it, and [`FREE_ITEMS`] more. A batch of valid events
/// (each at least [`min_event_len`] long) never holds more; a batch that
/// does is mostly not events, and decoding it item by item would cost
/// hundreds of bytes per item (an item's slot alone is the size of an
/// event, and a rejected item keeps its text and an error).
fn max_items(provider: Provider, len: usize) -> usize {
    (len / min_event_len(provider)).saturating_add(FREE_ITEMS)
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

/// The whole of `deserializer`'s input as a batch of raw items.
fn read_raw<'a, R: serde_json::de::Read<'a>>(
    mut deserializer: serde_json::Deserializer<R>,
    seed: RawItems,
) -> serde_json::Result<RawBatch<'a>> {
    let raw = deserializer.deserialize_map(ResultsVisitor(seed))?;
    deserializer.end()?;
    Ok(raw)
}

/// The envelope read: each item's text, or why the body is not a batch, or
/// why it is refused (more items than [`max_items`]).
fn envelope<E: WebhookEvent>(body: &[u8]) -> Result<RawBatch<'_>, Error> {
    let max = max_items(E::PROVIDER, body.len());
    let seed = RawItems { keep: max };
    let raw = path::recorded(|| match std::str::from_utf8(body) {
        Ok(text) => read_raw(serde_json::Deserializer::from_str(text), seed),
        Err(_) => read_raw(serde_json::Deserializer::from_slice(body), seed),
    })
    .map_err(|(e, trail)| Error::envelope(Some(E::PROVIDER), trail.path(String::new()), &e))?;
    if raw.count > max {
        let message = format!(
            "{} items, {:.1} bytes each on average; a valid {} event takes {} or more: \
             refused (over 16x the body to decode)",
            raw.count,
            body.len() as f64 / raw.count as f64,
            E::PROVIDER,
            min_event_len(E::PROVIDER),
        );
        return Err(Error::envelope(
            Some(E::PROVIDER),
            Some("results".to_owned()),
            &de::Error::custom(message),
        ));
    }
    Ok(raw)
}

/// Decodes one event of a batch alone, `event` being a slice of `body`.
fn decode<E: WebhookEvent>(
    body: &[u8],
    lines: &mut Lines<'_>,
    index: usize,
    event: &RawValue,
) -> Result<E, Error> {
    let text = event.get();
    budget::within(text.len(), || path::recorded(|| serde_json::from_str(text))).map_err(
        |(e, mut trail)| {
            // The event's text is a slice of `body`: its offset gives its position.
            let offset = (text.as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
            Error::event(
                Some(E::PROVIDER),
                Some(index),
                event_type(&mut trail, Some(text), E::TYPE_KEY),
                trail.path(format!("results[{index}]")),
                &e,
                Some(lines.position_of(offset)),
            )
        },
    )
}

/// Decodes a body that is one event (not a batch).
pub(crate) fn parse_single<E: WebhookEvent>(body: &[u8]) -> Result<E, Error> {
    budget::within(body.len(), || path::recorded(|| read_json(body))).map_err(|(e, mut trail)| {
        let text = std::str::from_utf8(body).ok();
        let event_type = event_type(&mut trail, text, E::TYPE_KEY);
        Error::event(
            Some(E::PROVIDER),
            None,
            event_type,
            trail.path(String::new()),
            &e,
            None,
        )
    })
}

/// A failed event's type: as its decode read it, or, when it failed before
/// its type key, as read from its `text`.
fn event_type(trail: &mut Trail, text: Option<&str>, type_key: &str) -> Option<String> {
    trail
        .take_event_type()
        .or_else(|| text.and_then(|text| type_name(text, type_key)))
}

/// The event's type as sent under `type_key`, when `text` is an object whose
/// `type_key` holds a string (read up to where `text` breaks, if it does).
/// Runs on the error path only, for an event that failed before its type
/// key.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortest events [`min_event_len`] names decode, and are as long
    /// as it says.
    #[test]
    fn the_shortest_valid_events_decode_and_have_the_documented_length() {
        let spektr = r#"{"id":"","spektrId":"","eventType":"","timestamp":0,"data":0}"#;
        assert_eq!(spektr.len(), min_event_len(Provider::Spektr));
        parse_single::<crate::spektr::Event>(spektr.as_bytes()).unwrap();
        let predictaid = concat!(
            r#"{"id":"","type":"","occurredAt":"2025-01-01T00:00:00Z","companyId":"","#,
            r#""aggregateType":"","aggregateId":"","version":"","data":0}"#
        );
        assert_eq!(predictaid.len(), min_event_len(Provider::PredictaId));
        parse_single::<crate::predictaid::Event>(predictaid.as_bytes()).unwrap();
    }

    /// Dropping any one byte of them (a key's letter, a quote, the value of
    /// a non-string field) makes them invalid: nothing shorter of that shape
    /// is an event.
    #[test]
    fn no_byte_of_the_shortest_events_can_go() {
        let spektr = r#"{"id":"","spektrId":"","eventType":"","timestamp":0,"data":0}"#;
        for at in 0..spektr.len() {
            let shorter = format!("{}{}", &spektr[..at], &spektr[at + 1..]);
            assert!(
                parse_single::<crate::spektr::Event>(shorter.as_bytes()).is_err(),
                "{shorter}"
            );
        }
    }

    /// A batch with more items than valid events could fill it is refused
    /// whole, naming the count; one with as many is read item by item.
    #[test]
    fn a_batch_of_more_items_than_events_could_fill_is_refused() {
        let item = |n: usize| {
            let items = vec!["0"; n].join(",");
            format!(r#"{{"results":[{items}]}}"#)
        };
        let body = item(100_000);
        let n = 100_000;
        assert!(n > max_items(Provider::Spektr, body.len()));
        let error = parse_lenient::<crate::spektr::Event>(body.as_bytes()).unwrap_err();
        assert!(error.is_envelope());
        assert_eq!(error.path(), Some("results"));
        assert!(
            error
                .to_string()
                .contains(
                "results: 100000 items, 2.0 bytes each on average; a valid Spektr event takes 61 or more"
            ),
            "{error}"
        );
        let strict = parse::<crate::spektr::Event>(body.as_bytes()).unwrap_err();
        assert_eq!(strict.to_string(), error.to_string());
        // Up to the allowance, small items are each rejected.
        let body = item(FREE_ITEMS);
        let items = parse_lenient::<crate::spektr::Event>(body.as_bytes()).unwrap();
        assert_eq!(items.len(), FREE_ITEMS);
        assert!(items.iter().all(Result::is_err));
    }
}
