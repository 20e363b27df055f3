//! The crate's one error type.

use std::fmt;

/// The platform a webhook came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// Spektr: batched deliveries, `{"results": [...]}`.
    Spektr,
    /// PredictaID: one signed event envelope per delivery.
    PredictaId,
}

impl Provider {
    /// The provider's name as it writes it (`Spektr`, `PredictaID`).
    pub fn name(self) -> &'static str {
        match self {
            Provider::Spektr => "Spektr",
            Provider::PredictaId => "PredictaID",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What went wrong, in the terms a handler decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The bytes are not valid JSON (or not UTF-8). Resending the same body will
    /// fail the same way.
    Syntax,
    /// Valid JSON that does not fit: a missing required field, a value of the
    /// wrong type, an out-of-range timestamp, a duplicate key.
    Data,
    /// The input ended in the middle of a JSON value: often a truncated body.
    Eof,
    /// The delivery carries no signature (the header is absent or empty).
    MissingSignature,
    /// The signature header is not a hex-encoded HMAC-SHA256 (not hex, or not
    /// 64 hex digits).
    MalformedSignature,
    /// The signature is well-formed but does not match the body under any of
    /// the secrets: a forged or altered body, or the wrong secret.
    SignatureMismatch,
    /// The event ID header disagrees with the `id` in the (authentic) body: a
    /// body replayed under another ID.
    EventIdMismatch,
    /// [`RawJson::get`](crate::RawJson::get) was asked for a key the object
    /// does not have ([`RawJson::get_opt`](crate::RawJson::get_opt) answers
    /// `Ok(None)` instead). A key whose value does not fit is [`Data`](ErrorKind::Data).
    MissingKey,
    /// A webhook secret given to [`Secrets::try_new`](crate::predictaid::Secrets::try_new)
    /// is empty or only whitespace (an unset setting), or none was given.
    InvalidSecret,
}

/// Where in the input the failure is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// The batch envelope itself (`{"results": [...]}`): nothing could be read.
    Envelope,
    /// One event: in a batch (`Some(index)`) or a single-event delivery (`None`).
    Event(Option<usize>),
    /// The delivery's authenticity (signature and headers), before any parsing.
    #[cfg_attr(not(feature = "verify"), allow(dead_code))]
    Delivery,
    /// A free-form value read by key ([`RawJson::get`](crate::RawJson::get)).
    Value,
    /// The secrets an endpoint was configured with.
    #[cfg_attr(not(feature = "verify"), allow(dead_code))]
    Secrets,
}

/// Why a webhook body, or one event in it, could not be decoded.
///
/// The message says what failed and where: the provider (when known), the
/// event's index in the batch, the event type when it could be read, serde's
/// description of the failure and the line and column in the body.
///
/// ```
/// let body = br#"{"results": [{"id": "e1", "spektrId": "s1", "eventType": "step_init",
///     "timestamp": 1752662761594, "data": {"processId": 7}}]}"#;
/// let err = kyc_webhooks::spektr::parse_batch(body).unwrap_err();
/// assert_eq!(err.index(), Some(0));
/// assert_eq!(err.event_type(), Some("step_init"));
/// assert_eq!(err.kind(), kyc_webhooks::ErrorKind::Data);
/// assert_eq!(err.path(), Some("results[0].data.processId"));
/// assert!(err
///     .to_string()
///     .starts_with("Spektr event of type \"step_init\": results[0].data.processId: invalid type"));
/// ```
///
/// What a handler decides on, without reading the message:
///
/// ```
/// use kyc_webhooks::{Error, ErrorKind};
///
/// /// The HTTP status to answer a delivery that could not be decoded with.
/// fn status_for(error: &Error) -> u16 {
///     match error.kind() {
///         // Refused before parsing: not from the provider.
///         ErrorKind::MissingSignature
///         | ErrorKind::MalformedSignature
///         | ErrorKind::SignatureMismatch => 401,
///         // The envelope is not a batch at all: nothing in it can be kept.
///         _ if error.is_envelope() => 400,
///         // An authentic PredictaID body under an event-ID header that names
///         // another event: not what PredictaID sends, and a retry of it would
///         // never succeed, so a 4xx stops the retries (the genuine event
///         // comes with its own header).
///         ErrorKind::EventIdMismatch => 400,
///         // An event of an authentic delivery is broken: keep the raw body or
///         // event (see `batch::parse_lenient`) and accept, or ask for a retry.
///         _ => 500,
///     }
/// }
///
/// let err = kyc_webhooks::spektr::parse_batch(b"{\"results\": [").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Eof);
/// assert_eq!(status_for(&err), 400);
/// ```
///
/// `Debug` (what `unwrap()` and `main() -> Result` print) is the message
/// after the kind, `Error(Data): Spektr event of type "step_init": ...`; the
/// alternate form (`{:#?}`) lists every field.
#[derive(Clone, thiserror::Error)]
#[error("{0}")]
pub struct Error(Box<Inner>);

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return f.debug_tuple("Error").field(&self.0).finish();
        }
        write!(f, "Error({:?}): {}", self.0.kind, self.0)
    }
}

#[derive(Debug, Clone)]
struct Inner {
    kind: ErrorKind,
    provider: Option<Provider>,
    scope: Scope,
    event_type: Option<String>,
    /// JSON path from the body's root to the failing value, e.g.
    /// `results[3].data.processId`; `None` when the failure is at the root.
    path: Option<String>,
    /// serde's message without its position suffix.
    message: String,
    /// 1-based line and column in the whole body; `None` when serde gave none.
    position: Option<(usize, usize)>,
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The provider, when the caller or the event said which.
    pub fn provider(&self) -> Option<Provider> {
        self.0.provider
    }

    /// The failing event's index in the batch's `results`; `None` for the
    /// envelope or a single-event (PredictaID) body.
    pub fn index(&self) -> Option<usize> {
        match self.0.scope {
            Scope::Event(index) => index,
            Scope::Envelope | Scope::Delivery | Scope::Value | Scope::Secrets => None,
        }
    }

    /// Whether the batch envelope itself is broken (not JSON, no `results`
    /// array): then no event at all could be read from the body.
    pub fn is_envelope(&self) -> bool {
        self.0.scope == Scope::Envelope
    }

    /// The failing event's type as sent (`eventType` or `type`), when it could
    /// be read.
    pub fn event_type(&self) -> Option<&str> {
        self.0.event_type.as_deref()
    }

    /// The JSON path, from the body's root, of the value that failed to decode,
    /// e.g. `results[3].data.processId` in a Spektr batch or
    /// `data.alertCount` in a PredictaID event; `None` when the failure is at
    /// the root (an empty body, a missing top-level field).
    pub fn path(&self) -> Option<&str> {
        self.0.path.as_deref()
    }

    /// The 1-based line in the body where decoding stopped, when known.
    pub fn line(&self) -> Option<usize> {
        self.0.position.map(|(line, _)| line)
    }

    /// The 1-based column in the body where decoding stopped, when known.
    pub fn column(&self) -> Option<usize> {
        self.0.position.map(|(_, column)| column)
    }

    /// A delivery refused before parsing: `kind` is one of the signature or
    /// header kinds, `message` says what was wrong without revealing any
    /// expected value.
    #[cfg_attr(not(feature = "verify"), allow(dead_code))]
    pub(crate) fn delivery(
        provider: Provider,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        Self::unpositioned(kind, Some(provider), Scope::Delivery, None, message.into())
    }

    /// An error that no JSON position goes with.
    fn unpositioned(
        kind: ErrorKind,
        provider: Option<Provider>,
        scope: Scope,
        path: Option<String>,
        message: String,
    ) -> Self {
        Error(Box::new(Inner {
            kind,
            provider,
            scope,
            event_type: None,
            path,
            message,
            position: None,
        }))
    }

    /// A key of a free-form value: absent (`source` `None`), or its value
    /// does not fit.
    pub(crate) fn value(key: &str, source: Option<&serde_json::Error>) -> Self {
        let (kind, message) = match source {
            None => (ErrorKind::MissingKey, "missing key".to_owned()),
            Some(source) => (ErrorKind::Data, elided(without_position(source))),
        };
        Self::unpositioned(kind, None, Scope::Value, Some(key.to_owned()), message)
    }

    /// Secrets that cannot be used.
    #[cfg_attr(not(feature = "verify"), allow(dead_code))]
    pub(crate) fn secrets(message: impl Into<String>) -> Self {
        Self::unpositioned(
            ErrorKind::InvalidSecret,
            Some(Provider::PredictaId),
            Scope::Secrets,
            None,
            message.into(),
        )
    }

    /// An error about the whole body of a batch.
    pub(crate) fn envelope(
        provider: Option<Provider>,
        path: Option<String>,
        source: &serde_json::Error,
    ) -> Self {
        Self::from_json(provider, Scope::Envelope, None, path, source, None)
    }

    /// An error about one event. `origin` is the line and column in the body at
    /// which the event's text starts, to turn serde's position (relative to the
    /// event's text) into one in the body; `None` when the event is the body.
    pub(crate) fn event(
        provider: Option<Provider>,
        index: Option<usize>,
        event_type: Option<String>,
        path: Option<String>,
        source: &serde_json::Error,
        origin: Option<(usize, usize)>,
    ) -> Self {
        Self::from_json(
            provider,
            Scope::Event(index),
            event_type,
            path,
            source,
            origin,
        )
    }

    fn from_json(
        provider: Option<Provider>,
        scope: Scope,
        event_type: Option<String>,
        path: Option<String>,
        source: &serde_json::Error,
        origin: Option<(usize, usize)>,
    ) -> Self {
        let kind = match source.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                ErrorKind::Syntax
            }
            serde_json::error::Category::Data => ErrorKind::Data,
            serde_json::error::Category::Eof => ErrorKind::Eof,
        };
        let message = elided(without_position(source));
        let position = (source.line() != 0).then(|| match origin {
            None => (source.line(), source.column()),
            // serde_json counts a line's columns from 0 before its first
            // byte: the event's first byte, at 1-based `column` in the body,
            // is its column 1.
            Some((line, column)) if source.line() == 1 => {
                (line, column.saturating_sub(1) + source.column())
            }
            Some((line, _)) => (line + source.line() - 1, source.column()),
        });
        Error(Box::new(Inner {
            kind,
            provider,
            scope,
            event_type,
            path,
            message,
            position,
        }))
    }
}

impl fmt::Display for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.provider, &self.scope) {
            (_, Scope::Value) => {}
            (Some(provider), _) => write!(f, "{provider} ")?,
            (None, _) => f.write_str("webhook ")?,
        }
        match self.scope {
            Scope::Envelope => f.write_str("batch")?,
            Scope::Event(_) => f.write_str("event")?,
            Scope::Delivery => f.write_str("delivery")?,
            Scope::Value => f.write_str("JSON value")?,
            Scope::Secrets => f.write_str("webhook secrets")?,
        }
        if let Some(event_type) = &self.event_type {
            write!(f, " of type {event_type:?}")?;
        }
        match (&self.path, &self.scope) {
            (Some(path), _) => write!(f, ": {path}")?,
            (None, Scope::Event(Some(index))) => write!(f, ": results[{index}]")?,
            (None, _) => {}
        }
        write!(f, ": {}", self.message)?;
        if let Some((line, column)) = self.position {
            write!(f, " at line {line} column {column}")?;
        }
        Ok(())
    }
}

/// serde_json's message for `error` without its ` at line L column C` suffix.
pub(crate) fn without_position(error: &serde_json::Error) -> String {
    let mut message = error.to_string();
    if error.line() != 0 {
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        if message.ends_with(&suffix) {
            message.truncate(message.len() - suffix.len());
        }
    }
    message
}

/// The longest message an error keeps, in bytes.
const MAX_MESSAGE: usize = 128;

/// `message`, or when longer than [`MAX_MESSAGE`] its start and its end
/// with ` … ` between: serde quotes the offending value (a string, a key)
/// in its message, escaped, which can make the message several times longer
/// than the value's text in the body. Both ends say what failed: the start
/// names the value, the end what was expected.
fn elided(mut message: String) -> String {
    if message.len() <= MAX_MESSAGE {
        // Formatting leaves spare capacity; an error may be kept for each
        // rejected event of a batch, so it keeps only what it uses.
        message.shrink_to_fit();
        return message;
    }
    let keep = (MAX_MESSAGE - " … ".len()) / 2;
    let mut head = keep;
    while !message.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = message.len() - keep;
    while !message.is_char_boundary(tail) {
        tail += 1;
    }
    let mut kept = String::with_capacity(head + " … ".len() + message.len() - tail);
    kept.push_str(&message[..head]);
    kept.push_str(" … ");
    kept.push_str(&message[tail..]);
    kept
}

/// Finds the 1-based line and column of byte offsets in a body, counted as
/// serde_json counts them (columns in bytes). Offsets asked in increasing
/// order (the events of a batch) cost only the bytes between them, so that
/// locating every event of a batch costs one pass over the body, not one
/// pass per event.
pub(crate) struct Lines<'a> {
    body: &'a [u8],
    /// How far the body has been counted, the line there, and where it starts.
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Lines {
            body,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// The line and column of byte `offset`.
    pub(crate) fn position_of(&mut self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.body.len());
        if offset < self.offset {
            *self = Lines::new(self.body);
        }
        for (at, &byte) in self.body[self.offset..offset].iter().enumerate() {
            if byte == b'\n' {
                self.line += 1;
                self.line_start = self.offset + at + 1;
            }
        }
        self.offset = offset;
        (self.line, offset - self.line_start + 1)
    }
}

/// The error of parsing a provider's `EventType` from a name it does not
/// document (`"process_run_end".parse::<spektr::EventType>()`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not a documented {provider} event type")]
#[non_exhaustive]
pub struct UnknownEventType {
    /// The provider whose types were searched.
    pub provider: Provider,
    /// The name that was given.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::Lines;

    /// The line and column of `offset`, counted from the start.
    fn counted(body: &[u8], offset: usize) -> (usize, usize) {
        let before = &body[..offset];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        (line, offset - start + 1)
    }

    #[test]
    fn long_messages_keep_both_ends_within_the_limit() {
        let short = "missing field `id`".to_owned();
        assert_eq!(super::elided(short.clone()), short);
        let long = format!(
            "invalid type: string {:?}, expected a string",
            "\u{ad}é".repeat(100)
        );
        let kept = super::elided(long.clone());
        assert!(kept.len() <= super::MAX_MESSAGE, "{}", kept.len());
        assert!(
            kept.starts_with("invalid type: string \"\\u{ad}é"),
            "{kept}"
        );
        assert!(kept.ends_with("é\", expected a string"), "{kept}");
        assert!(kept.contains(" … "));
    }

    #[test]
    fn lines_agree_with_counting_from_the_start_in_any_order() {
        let body = b"{\"results\": [\n  {\"a\": 1},\n\n  {\"b\": 2}\n]}";
        let mut lines = Lines::new(body);
        for offset in (0..=body.len()).chain([3, 20, 0, body.len()]) {
            assert_eq!(lines.position_of(offset), counted(body, offset), "{offset}");
        }
    }
}
