//! Checking that a delivery comes from PredictaID (feature `verify`).
//!
//! PredictaID signs every delivery: the `X-PredictAid-Signature` header holds
//! the HMAC-SHA256 of the raw request body, keyed with the endpoint's webhook
//! secret, hex-encoded. [`verify`] checks it on the body exactly as received,
//! [`construct_event`] checks it and then parses, and [`sign`] computes it (to
//! build signed requests in tests). [`Secrets`], [`verify_any`] and
//! [`construct_event_any`] accept any of several secrets, for rotation.
//!
//! The module is private: its items are re-exported from `predictaid`, and
//! their documentation lives on them (the error table on [`verify`], what the
//! signature does not cover on [`check_event_id`]).

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Event;
use crate::{Error, ErrorKind, Provider};

/// The header that carries the signature: `X-PredictAid-Signature`.
///
/// HTTP header names are case-insensitive; compare them as such (the `http`
/// crate's `HeaderMap` does).
pub const SIGNATURE_HEADER: &str = "X-PredictAid-Signature";

/// The header that carries the event's id: `X-PredictAid-Event-ID`. Not
/// covered by the signature; see [`check_event_id`].
pub const EVENT_ID_HEADER: &str = "X-PredictAid-Event-ID";

/// The `User-Agent` PredictaID sends its deliveries with. Informational only:
/// anyone can send it.
pub const USER_AGENT: &str = "PredictAid-Webhook-Dispatcher/1.0";

/// Bytes in an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// A decoded signature header: the tag, not yet checked.
pub(crate) type Tag = [u8; TAG_LEN];

/// The value of `X-PredictAid-Signature` that PredictaID would send with
/// `body` under `secret`: the HMAC-SHA256 of the body, in lowercase hex.
///
/// For building signed requests in tests, and for checking a secret by hand.
///
/// ```
/// use kyc_webhooks::predictaid;
///
/// let body = br#"{"id": "evt_1", "type": "session.created"}"#;
/// let signature = predictaid::sign(body, b"whsec_test");
/// assert_eq!(signature.len(), 64);
/// assert!(predictaid::verify(body, &signature, b"whsec_test").is_ok());
/// ```
pub fn sign(body: &[u8], secret: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let tag = keyed(secret).chain_update(body).finalize().into_bytes();
    let mut hex = String::with_capacity(2 * TAG_LEN);
    for byte in tag {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Checks that `signature` (the `X-PredictAid-Signature` header value) is the
/// HMAC-SHA256 of `body` under `secret`.
///
/// `body` must be the raw request body exactly as received: not re-encoded,
/// not parsed and written back. The header value is hex in either case;
/// whitespace around it is ignored. Pass `""` when the header is absent. The
/// comparison takes the same time wherever the first differing byte is.
///
/// An empty `secret` is refused (a [`SignatureMismatch`](ErrorKind::SignatureMismatch)
/// error): a secret read from an unset setting must not become a key that
/// every forger knows.
///
/// # Errors
///
/// A refused delivery is an [`Error`] whose [`kind`](Error::kind) says why:
///
/// | [`ErrorKind`] | when |
/// |---|---|
/// | [`MissingSignature`](ErrorKind::MissingSignature) | the header is absent (pass `""`) or holds only whitespace |
/// | [`MalformedSignature`](ErrorKind::MalformedSignature) | not 64 hexadecimal digits |
/// | [`SignatureMismatch`](ErrorKind::SignatureMismatch) | well-formed, but `secret` does not give it for this body; or `secret` is empty |
///
/// No message contains the signature the body would need, so an error can be
/// logged without helping a forger. To the sender, answer all three alike
/// (401, say).
///
/// ```
/// use kyc_webhooks::{predictaid, ErrorKind};
///
/// let body = br#"{"id": "evt_1", "type": "session.created"}"#;
/// let secret = b"whsec_test";
/// let header = predictaid::sign(body, secret);
///
/// assert!(predictaid::verify(body, &header, secret).is_ok());
/// assert!(predictaid::verify(body, &header.to_uppercase(), secret).is_ok());
///
/// let err = predictaid::verify(body, &header, b"another secret").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::SignatureMismatch);
/// assert!(!err.to_string().contains(&header));
///
/// let err = predictaid::verify(body, "", secret).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::MissingSignature);
/// let err = predictaid::verify(body, "sha256=00ff", secret).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::MalformedSignature);
/// ```
pub fn verify(body: &[u8], signature: &str, secret: &[u8]) -> Result<(), Error> {
    verify_any(body, signature, &[secret])
}

/// [`verify`] against several secrets: `Ok` when any of them gives the
/// signature. For rotation: list the new secret and the old one while
/// PredictaID may still sign with either, in any order.
///
/// Empty secrets in the list are skipped; an empty list (or one of empty
/// secrets only) refuses every delivery with a
/// [`SignatureMismatch`](ErrorKind::SignatureMismatch) error, whatever the
/// header holds.
///
/// ```
/// use kyc_webhooks::predictaid;
///
/// let body = br#"{"id": "evt_1", "type": "session.created"}"#;
/// let (old, new): (&[u8], &[u8]) = (b"whsec_old", b"whsec_new");
/// // Deliveries signed before and after the switch both verify.
/// assert!(predictaid::verify_any(body, &predictaid::sign(body, old), &[new, old]).is_ok());
/// assert!(predictaid::verify_any(body, &predictaid::sign(body, new), &[new, old]).is_ok());
/// assert!(predictaid::verify_any(body, &predictaid::sign(body, new), &[]).is_err());
/// ```
pub fn verify_any(body: &[u8], signature: &str, secrets: &[&[u8]]) -> Result<(), Error> {
    let tag = decode_signature(signature)?;
    verify_tag(body, &tag, secrets.iter().copied())
}

/// Verifies the delivery ([`verify`]), then parses the body
/// ([`parse`](super::parse)). Nothing of the body is read before the
/// signature holds.
///
/// # Errors
///
/// A signature error (see [`verify`]), or, for an authentic body, a parse
/// error ([`ErrorKind::Syntax`], [`ErrorKind::Data`] or [`ErrorKind::Eof`]).
/// An authentic body the crate cannot parse is not the sender's fault: keep
/// it (it is genuine) rather than answer with a 4xx that stops PredictaID's
/// retries.
///
/// ```
/// use kyc_webhooks::predictaid::{self, Payload};
/// use kyc_webhooks::ErrorKind;
///
/// let body = br#"{"id": "evt_9", "type": "kyt.transaction.pipeline.completed",
///   "occurredAt": "2026-03-23T12:00:00.000Z", "companyId": "comp_1", "aggregateType": "KYT_TRANSACTION",
///   "aggregateId": "txn_1", "version": "v1",
///   "data": {"transactionId": "txn_1", "status": "COMPLETED", "alertCount": 1}}"#;
/// let secret = b"whsec_test";
/// let header = predictaid::sign(body, secret); // what PredictaID sends
///
/// let event = predictaid::construct_event(body, &header, secret)?;
/// assert!(matches!(event.data, Payload::KytTransactionPipelineCompleted(_)));
///
/// // One byte changed (the body no longer even parses): refused before any parsing.
/// let mut tampered = body.to_vec();
/// tampered[0] = b'[';
/// let err = predictaid::construct_event(&tampered, &header, secret).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::SignatureMismatch);
/// # Ok::<(), kyc_webhooks::Error>(())
/// ```
pub fn construct_event(body: &[u8], signature: &str, secret: &[u8]) -> Result<Event, Error> {
    construct_event_any(body, signature, &[secret])
}

/// [`verify_any`], then [`parse`](super::parse): [`construct_event`] with
/// several secrets, for rotation.
pub fn construct_event_any(
    body: &[u8],
    signature: &str,
    secrets: &[&[u8]],
) -> Result<Event, Error> {
    verify_any(body, signature, secrets)?;
    super::parse(body)
}

/// Checks the `X-PredictAid-Event-ID` header against the verified event:
/// `Ok` when the header is absent (`None`) or equal to [`Event::id`] (ignoring
/// whitespace around it).
///
/// # What the signature covers
///
/// The body only. The `X-PredictAid-Event-ID` header is not authenticated:
/// anyone who captured one authentic delivery can resend its body under
/// another event-ID header and the signature still holds. So deduplicate on
/// the `id` *inside* the verified body ([`Event::id`]), never on the header,
/// and treat the header as a hint that must agree with the body: a header
/// that names another id is an authentic body replayed under a different id
/// (or a mangling proxy). Nor does the signature carry a timestamp: a
/// captured delivery can be replayed as it is, later; deduplicating on the
/// body's `id` makes that harmless too.
///
/// # Errors
///
/// [`ErrorKind::EventIdMismatch`] when the header is present and differs
/// (also when it is present and empty).
///
/// ```
/// use kyc_webhooks::{predictaid, ErrorKind};
///
/// let body = br#"{"id": "evt_1", "type": "session.created", "occurredAt": "2026-03-23T11:58:41.207Z",
///   "companyId": "comp_123", "aggregateType": "SESSION", "aggregateId": "sess_123", "version": "v1",
///   "data": {"customerId": "cust_456", "flowId": "flow_789", "flowVersionId": "ver_001",
///   "clientAppId": "app_123", "status": "PENDING"}}"#;
/// let header = predictaid::sign(body, b"whsec_test");
/// let event = predictaid::construct_event(body, &header, b"whsec_test")?;
///
/// assert!(predictaid::check_event_id(&event, None).is_ok());
/// assert!(predictaid::check_event_id(&event, Some(&event.id)).is_ok());
/// let err = predictaid::check_event_id(&event, Some("evt_other")).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::EventIdMismatch);
/// # Ok::<(), kyc_webhooks::Error>(())
/// ```
pub fn check_event_id(event: &Event, header: Option<&str>) -> Result<(), Error> {
    match header {
        None => Ok(()),
        Some(value) if trim_ows(value) == event.id => Ok(()),
        Some(value) => Err(Error::delivery(
            Provider::PredictaId,
            ErrorKind::EventIdMismatch,
            format!(
                "the {EVENT_ID_HEADER} header {:?} does not match the body's id {:?}",
                Shortened(trim_ows(value)),
                Shortened(&event.id),
            ),
        )),
    }
}

/// The webhook secrets of a PredictaID endpoint: one, or several during a
/// rotation. Verifies against each in turn.
///
/// Cheap to clone (the secrets are shared), so it can live in a web
/// framework's state and be handed to each request. Its `Debug` output shows
/// how many secrets it holds, never the secrets.
///
/// Build it with [`try_new`](Secrets::try_new) from configuration: an empty
/// or whitespace-only secret (an unset setting) is an error there, where it
/// is given, not a set that refuses every delivery later. [`new`](Secrets::new)
/// drops empty secrets silently (its 0.2 behaviour): a secret read from an
/// unset setting never becomes a key every forger knows, and a set with no
/// secret left ([`is_empty`](Secrets::is_empty)) refuses every delivery.
///
/// ```
/// use kyc_webhooks::{predictaid::Secrets, ErrorKind};
///
/// let secrets = Secrets::try_new(["whsec_new", "whsec_old"])?;
/// assert_eq!(secrets.len(), 2);
/// // An unset setting read as "" (or "  "), and no secret at all: refused.
/// let unset = Secrets::try_new(["whsec_new", " "]).unwrap_err();
/// assert_eq!(unset.kind(), ErrorKind::InvalidSecret);
/// assert_eq!(
///     unset.to_string(),
///     "PredictaID webhook secrets: secret 2 of 2 is empty or only whitespace (an unset setting?)"
/// );
/// assert!(Secrets::try_new(Vec::<String>::new()).is_err());
/// # Ok::<(), kyc_webhooks::Error>(())
/// ```
///
/// ```
/// use kyc_webhooks::predictaid::{self, Secrets};
///
/// let body = br#"{"id": "evt_1", "type": "session.created"}"#;
/// // During a rotation: the new secret first, the old one until PredictaID has switched.
/// let secrets = Secrets::new(["whsec_new", "whsec_old"]);
/// assert!(secrets.verify(body, &predictaid::sign(body, b"whsec_old")).is_ok());
/// assert!(secrets.verify(body, &predictaid::sign(body, b"whsec_new")).is_ok());
/// assert!(secrets.verify(body, &predictaid::sign(body, b"whsec_other")).is_err());
/// assert_eq!(format!("{secrets:?}"), "Secrets { count: 2, .. }");
///
/// // Unset settings do not count as secrets.
/// assert!(Secrets::new([""]).is_empty());
/// ```
#[derive(Clone)]
pub struct Secrets {
    keys: Arc<[Box<[u8]>]>,
}

impl Secrets {
    /// The set of the given secrets, in the order given (put the newest first:
    /// it is tried first). Empty ones are left out.
    pub fn new<I, K>(secrets: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        Secrets {
            keys: secrets
                .into_iter()
                .filter(|secret| !secret.as_ref().is_empty())
                .map(|secret| Box::from(secret.as_ref()))
                .collect(),
        }
    }

    /// The set of the given secrets, in the order given (newest first), each
    /// kept exactly as given.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidSecret`](crate::ErrorKind::InvalidSecret) when a
    /// secret is empty or only whitespace (an unset or blank setting), or when
    /// none is given: a receiver that could verify nothing says so at start.
    pub fn try_new<I, K>(secrets: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        let keys: Vec<Box<[u8]>> = secrets
            .into_iter()
            .map(|secret| Box::from(secret.as_ref()))
            .collect();
        if keys.is_empty() {
            return Err(Error::secrets(
                "no secret given: the endpoint could verify no delivery",
            ));
        }
        let count = keys.len();
        if let Some(at) = keys
            .iter()
            .position(|key| key.iter().all(u8::is_ascii_whitespace))
        {
            return Err(Error::secrets(format!(
                "secret {} of {count} is empty or only whitespace (an unset setting?)",
                at + 1
            )));
        }
        Ok(Secrets { keys: keys.into() })
    }

    /// How many (non-empty) secrets the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no secret: then every delivery is refused.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// [`verify_any`] with these secrets.
    pub fn verify(&self, body: &[u8], signature: &str) -> Result<(), Error> {
        let tag = decode_signature(signature)?;
        self.verify_tag(body, &tag)
    }

    /// [`construct_event_any`] with these secrets.
    pub fn construct_event(&self, body: &[u8], signature: &str) -> Result<Event, Error> {
        self.verify(body, signature)?;
        super::parse(body)
    }

    /// Checks an already decoded signature (see [`decode_signature`]).
    pub(crate) fn verify_tag(&self, body: &[u8], tag: &Tag) -> Result<(), Error> {
        verify_tag(body, tag, self.keys.iter().map(|key| &key[..]))
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("count", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl From<&str> for Secrets {
    fn from(secret: &str) -> Self {
        Secrets::new([secret])
    }
}

impl From<String> for Secrets {
    fn from(secret: String) -> Self {
        Secrets::new([secret])
    }
}

impl From<&[u8]> for Secrets {
    fn from(secret: &[u8]) -> Self {
        Secrets::new([secret])
    }
}

impl From<Vec<u8>> for Secrets {
    fn from(secret: Vec<u8>) -> Self {
        Secrets::new([secret])
    }
}

impl<K: AsRef<[u8]>> FromIterator<K> for Secrets {
    fn from_iter<I: IntoIterator<Item = K>>(secrets: I) -> Self {
        Secrets::new(secrets)
    }
}

/// Reads a signature header value into the 32 bytes of a tag: trims the
/// whitespace around it, then requires exactly 64 hexadecimal digits (either
/// case). Says nothing about whether it is the right tag.
pub(crate) fn decode_signature(signature: &str) -> Result<Tag, Error> {
    let hex = trim_ows(signature).as_bytes();
    if hex.is_empty() {
        return Err(refused(
            ErrorKind::MissingSignature,
            format!("no signature: the {SIGNATURE_HEADER} header is absent or empty"),
        ));
    }
    let malformed = |why: String| {
        refused(
            ErrorKind::MalformedSignature,
            format!("the {SIGNATURE_HEADER} header is not a hex-encoded HMAC-SHA256: {why}"),
        )
    };
    if hex.len() != 2 * TAG_LEN {
        return Err(malformed(format!(
            "expected {} hexadecimal digits, got {} bytes",
            2 * TAG_LEN,
            hex.len()
        )));
    }
    let mut tag = [0u8; TAG_LEN];
    for (byte, pair) in tag.iter_mut().zip(hex.chunks_exact(2)) {
        match (hex_digit(pair[0]), hex_digit(pair[1])) {
            (Some(high), Some(low)) => *byte = (high << 4) | low,
            _ => {
                return Err(malformed(
                    "it holds a character that is not a hexadecimal digit".to_owned(),
                ))
            }
        }
    }
    Ok(tag)
}

/// Checks `tag` against the HMAC of `body` under each non-empty secret, until
/// one matches.
fn verify_tag<'k>(
    body: &[u8],
    tag: &Tag,
    secrets: impl IntoIterator<Item = &'k [u8]>,
) -> Result<(), Error> {
    let mut tried = 0usize;
    for secret in secrets.into_iter().filter(|secret| !secret.is_empty()) {
        tried += 1;
        // `verify_slice` compares in constant time, and refuses a tag whose
        // length is not the full 32 bytes (ours always is).
        if keyed(secret).chain_update(body).verify_slice(tag).is_ok() {
            return Ok(());
        }
    }
    Err(refused(
        ErrorKind::SignatureMismatch,
        match tried {
            0 => "no secret to verify against (none configured, or only empty ones): \
                  every delivery is refused"
                .to_owned(),
            1 => format!("the {SIGNATURE_HEADER} header does not match the body under the secret"),
            n => format!(
                "the {SIGNATURE_HEADER} header does not match the body under any of the {n} secrets"
            ),
        },
    ))
}

/// An HMAC-SHA256 keyed with `secret`.
fn keyed(secret: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length (RFC 2104: a longer one is hashed, a
    // shorter one padded), and `Hmac::new_from_slice` never fails.
    match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `value` without the whitespace around it (HTTP's optional whitespace, and
/// line breaks a careless copy may have added).
fn trim_ows(value: &str) -> &str {
    value.trim_matches(|c: char| c.is_ascii_whitespace())
}

fn refused(kind: ErrorKind, message: String) -> Error {
    Error::delivery(Provider::PredictaId, kind, message)
}

/// A string cut at 100 characters, for error messages that quote a header.
struct Shortened<'a>(&'a str);

impl fmt::Debug for Shortened<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 100;
        match self.0.char_indices().nth(MAX) {
            None => fmt::Debug::fmt(self.0, f),
            Some((end, _)) => {
                fmt::Debug::fmt(&self.0[..end], f)?;
                f.write_str("...")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_either_case_and_trims() {
        let lower = "00ff".repeat(16);
        let tag = decode_signature(&format!(" \t{lower}\r\n")).unwrap();
        assert_eq!(tag, decode_signature(&lower.to_uppercase()).unwrap());
        assert_eq!(&tag[..2], &[0x00, 0xff]);
    }

    #[test]
    fn refuses_signs_and_multibyte_characters() {
        // `+`/`-` would pass `u8::from_str_radix`; a two-byte character keeps
        // the byte count at 64.
        for header in [
            format!("+{}", "a".repeat(63)),
            format!("é{}", "a".repeat(62)),
        ] {
            assert_eq!(
                decode_signature(&header).unwrap_err().kind(),
                ErrorKind::MalformedSignature,
                "{header}"
            );
        }
    }

    #[test]
    fn shortens_long_quotes() {
        let long = "x".repeat(150);
        let shown = format!("{:?}", Shortened(&long));
        assert_eq!(shown, format!("{:?}...", "x".repeat(100)));
        assert_eq!(format!("{:?}", Shortened("evt_1")), "\"evt_1\"");
    }
}
