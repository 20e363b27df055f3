//! Extractors for [axum](https://docs.rs/axum/0.8) 0.8 (feature `axum`): a
//! handler that takes a [`SpektrDelivery`] or a [`PredictaIdDelivery`] gets
//! the decoded events; the request is refused before the handler runs only
//! when it cannot be a delivery at all.
//!
//! | extractor | refuses with |
//! |---|---|
//! | [`SpektrDelivery`] | 400 when the body is not a batch (not JSON, no `results` array, more items than events could fill); 413 over the body limit; 500 when the decoding task fails |
//! | [`PredictaIdDelivery`] | 401 on a missing, malformed or wrong signature; 400 when `X-PredictAid-Event-ID` disagrees with the signed body; 413 over the body limit; 500 when no secret is configured or the decoding task fails |
//!
//! Neither refuses an authentic delivery because an event in it does not
//! parse: a broken Spektr event comes as a [`Rejected`] beside the good ones,
//! and an authentic PredictaID body the crate cannot parse comes with its raw
//! bytes and the parse error. Store those (a dead-letter file, a table) and
//! answer 2xx, or 5xx to have the provider retry; never a 4xx, which ends the
//! provider's retries and loses the event.
//!
//! To see why a request was refused (to log it), take
//! `Result<PredictaIdDelivery, PredictaIdRejection>` instead (axum supports
//! `Result<T, T::Rejection>` for any extractor) and answer with
//! [`IntoResponse`] on the rejection.
//!
//! # Body size
//!
//! The body is read through axum's own [`Bytes`] extractor, so the route's
//! [`DefaultBodyLimit`](https://docs.rs/axum/0.8/axum/extract/struct.DefaultBodyLimit.html) applies, and a body
//! over it is refused with 413 before it is all buffered. axum's default is
//! 2 MB, too small for a large Spektr batch: set the limit on the webhook
//! routes, e.g. to [`DEFAULT_BODY_LIMIT`] (16 MiB), or to what your providers
//! send (each Spektr `service_run` event carries its vendor's whole answer).
//!
//! The body is decoded off the async runtime, on tokio's blocking pool
//! ([`spawn_blocking`](https://docs.rs/tokio/1/tokio/task/fn.spawn_blocking.html)): a 16 MiB batch takes
//! some tens of milliseconds of CPU, which would otherwise stall the other
//! requests of its worker thread. (Outside a tokio runtime the extractors
//! decode in place.) A decoding task that fails (a panic, or a runtime
//! shutting down) is a 500.
//!
//! Every rejection is logged with [`tracing`](https://docs.rs/tracing) as it
//! is answered (target `kyc_webhooks::axum::rejection`, with the provider and
//! the status): the server's own failures (500: no secret configured, a
//! failed decoding task) at `error`, the sender's (4xx) at `debug`.
//!
//! # Memory
//!
//! Decoding a Spektr body takes at most 16 times the body's size in heap,
//! however many and however small the items of its `results` are, and
//! however many elements its events' typed arrays hold; the delivery the
//! handler gets holds no more
//! (see [`batch::parse_lenient`](crate::batch::parse_lenient)): a body of
//! more items than valid events could fill is refused with 400. With
//! [`DEFAULT_BODY_LIMIT`], a request takes at most about 272 MiB (the body
//! and 16 times it) while it is decoded; bound the number of concurrent
//! requests on the webhook routes to bound the whole.
//!
//! # Example
//!
//! ```
//! use axum::extract::DefaultBodyLimit;
//! use axum::http::StatusCode;
//! use axum::routing::post;
//! use axum::Router;
//! use kyc_webhooks::axum::{PredictaIdDelivery, SpektrDelivery, DEFAULT_BODY_LIMIT};
//! use kyc_webhooks::predictaid::Secrets;
//!
//! async fn on_spektr(delivery: SpektrDelivery) -> StatusCode {
//!     for event in &delivery.events {
//!         println!("{} {}", event.type_name(), event.id);
//!     }
//!     for rejected in &delivery.rejected {
//!         eprintln!("dead-letter: {}", rejected.raw_json()); // store it, byte for byte
//!     }
//!     StatusCode::OK
//! }
//!
//! async fn on_predictaid(delivery: PredictaIdDelivery) -> StatusCode {
//!     match &delivery.event {
//!         Ok(event) => println!("{} {}", event.type_name(), event.id),
//!         // Authentic, but this crate cannot read it: keep the raw bytes.
//!         Err(error) => eprintln!("dead-letter ({error}): {} bytes", delivery.body.len()),
//!     }
//!     StatusCode::OK
//! }
//!
//! // During a rotation, list the new secret and the old one.
//! let secrets = Secrets::new(["whsec_new", "whsec_old"]);
//! let app: Router = Router::new()
//!     .route("/webhooks/spektr", post(on_spektr))
//!     .route("/webhooks/predictaid", post(on_predictaid))
//!     .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT))
//!     .with_state(secrets);
//! ```
//!
//! With more in the state than the secrets, implement
//! [`FromRef`]`<YourState> for Secrets` (or derive it with axum's `macros`
//! feature). For a whole receiver (durable storage, deduplication, dead
//! letters), see the `kyc-webhooks-inbox` crate in this repository's
//! workspace and its `kyc-webhooks-receiver` binary.

use std::fmt;

use ::axum::body::Bytes;
use ::axum::extract::rejection::BytesRejection;
use ::axum::extract::{FromRef, FromRequest, Request};
use ::axum::http::header::HeaderMap;
use ::axum::http::StatusCode;
use ::axum::response::{IntoResponse, Response};

use crate::batch::Rejected;
use crate::predictaid::{self, Secrets};
use crate::{spektr, Error, ErrorKind, Provider};

/// A body limit for webhook routes: 16 MiB (axum's default is 2 MB).
///
/// Not applied by the extractors themselves: the route's
/// [`DefaultBodyLimit`](https://docs.rs/axum/0.8/axum/extract/struct.DefaultBodyLimit.html) decides. Set it
/// with `.layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT))`.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// A Spektr delivery, decoded leniently
/// ([`spektr::parse_batch_lenient`]): the events that decoded, and the ones
/// that did not, raw.
///
/// Refused (with [`SpektrRejection`]) only when the body is not a batch at
/// all, or too large. Spektr signs nothing: anyone who knows the URL can post
/// to it. Keep the URL secret, or check the source in front of the route.
#[derive(Debug)]
#[non_exhaustive]
pub struct SpektrDelivery {
    /// The events that decoded, in delivery order.
    pub events: Vec<spektr::Event>,
    /// The events that did not, each with its raw text (byte for byte as in
    /// the body), its index in the batch and the error: for a dead-letter
    /// store, to replay with [`spektr::parse_event`] later.
    pub rejected: Vec<Rejected>,
}

impl<S> FromRequest<S> for SpektrDelivery
where
    S: Send + Sync,
{
    type Rejection = SpektrRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(req, state)
            .await
            .map_err(SpektrRejection::Body)?;
        off_runtime(move || decode_spektr(&body))
            .await
            .map_err(SpektrRejection::Decoder)?
    }
}

/// The delivery in `body`, split into events and rejected ones without a
/// second vector of slots: the events are gathered in the items' own buffer
/// (an item and an event have the same size), and the rejected ones into a
/// vector of their exact number.
fn decode_spektr(body: &[u8]) -> Result<SpektrDelivery, SpektrRejection> {
    let items = spektr::parse_batch_lenient(body).map_err(SpektrRejection::NotABatch)?;
    let mut rejected = Vec::with_capacity(items.iter().filter(|item| item.is_err()).count());
    let events = items
        .into_iter()
        .filter_map(|item| match item {
            Ok(event) => Some(event),
            Err(item) => {
                rejected.push(item);
                None
            }
        })
        .collect();
    Ok(SpektrDelivery { events, rejected })
}

/// Runs `decode` on tokio's blocking pool, so that a long decoding does not
/// hold an async worker thread; in place when there is no tokio runtime.
/// `Err` (the task's failure, as text) when the task panicked or the
/// runtime dropped it.
async fn off_runtime<T, F>(decode: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime
            .spawn_blocking(decode)
            .await
            .map_err(|error| format!("the decoding task failed: {error}")),
        Err(_) => Ok(decode()),
    }
}

/// Why a request is not a Spektr delivery.
#[derive(Debug)]
#[non_exhaustive]
pub enum SpektrRejection {
    /// The body could not be read: over the route's body limit (413), or the
    /// connection failed (400). Answered with axum's own response.
    Body(BytesRejection),
    /// The body is not a batch (not JSON, or no `results` array), or holds
    /// more items than valid events could fill: 400, with the error's
    /// message. No event could be read; Spektr's retries will not help.
    NotABatch(Error),
    /// The task that decodes the body off the async runtime failed (it
    /// panicked, or the runtime is shutting down): 500, so that Spektr
    /// retries. Holds the task's error, as text.
    Decoder(String),
}

impl SpektrRejection {
    /// The status the rejection is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            SpektrRejection::Body(rejection) => rejection.status(),
            SpektrRejection::NotABatch(_) => StatusCode::BAD_REQUEST,
            SpektrRejection::Decoder(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for SpektrRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpektrRejection::Body(rejection) => write!(f, "{}", rejection.body_text()),
            SpektrRejection::NotABatch(error) => write!(f, "not a Spektr delivery: {error}"),
            SpektrRejection::Decoder(error) => f.write_str(error),
        }
    }
}

impl std::error::Error for SpektrRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpektrRejection::Body(rejection) => Some(rejection),
            SpektrRejection::NotABatch(error) => Some(error),
            SpektrRejection::Decoder(_) => None,
        }
    }
}

impl IntoResponse for SpektrRejection {
    /// Also logs the rejection with `tracing` (target
    /// `kyc_webhooks::axum::rejection`): a 5xx at `error`, others at `debug`.
    fn into_response(self) -> Response {
        log_rejection("Spektr", self.status(), &self);
        match self {
            SpektrRejection::Body(rejection) => rejection.into_response(),
            SpektrRejection::NotABatch(_) => (self.status(), self.to_string()).into_response(),
            SpektrRejection::Decoder(_) => {
                (self.status(), "webhook receiver failed to decode the body").into_response()
            }
        }
    }
}

/// A PredictaID delivery whose signature holds under one of the
/// [`Secrets`] in the router's state.
///
/// Before the body is read, the `X-PredictAid-Signature` header must be
/// present, single and well-formed; then the body is read (the route's body
/// limit applies) and verified; only then parsed. When the body parses and an
/// `X-PredictAid-Event-ID` header is present, the two ids must agree (see
/// [`predictaid::check_event_id`]: deduplicate on the body's `id`).
///
/// The state must give [`Secrets`] ([`FromRef`]); a router whose state is
/// just `Secrets` does.
#[derive(Debug)]
#[non_exhaustive]
pub struct PredictaIdDelivery {
    /// The request body, byte for byte; authentic.
    pub body: Bytes,
    /// The parsed event; or, for an authentic body the crate cannot parse
    /// (a parse error: [`ErrorKind::Syntax`], [`Data`](ErrorKind::Data) or
    /// [`Eof`](ErrorKind::Eof)), why. Then store [`body`](Self::body) and
    /// answer 2xx, or answer 5xx to have PredictaID retry; a 4xx would lose
    /// a genuine event.
    pub event: Result<predictaid::Event, Error>,
}

impl<S> FromRequest<S> for PredictaIdDelivery
where
    S: Send + Sync,
    Secrets: FromRef<S>,
{
    type Rejection = PredictaIdRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let secrets = Secrets::from_ref(state);
        if secrets.is_empty() {
            return Err(PredictaIdRejection::NoSecret);
        }
        // The headers first: no signature, no reading of the body.
        let tag = signature_tag(req.headers()).map_err(PredictaIdRejection::Signature)?;
        let event_ids: Vec<_> = req
            .headers()
            .get_all(predictaid::EVENT_ID_HEADER)
            .iter()
            .cloned()
            .collect();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(PredictaIdRejection::Body)?;
        // The HMAC and the parse, off the async runtime.
        off_runtime(move || {
            secrets
                .verify_tag(&body, &tag)
                .map_err(PredictaIdRejection::Signature)?;
            let event = predictaid::parse(&body);
            if let Ok(event) = &event {
                for value in &event_ids {
                    // A header that is not UTF-8 cannot equal the id: pass it
                    // as something the id is not.
                    let value = std::str::from_utf8(value.as_bytes()).unwrap_or("\u{fffd}");
                    predictaid::check_event_id(event, Some(value))
                        .map_err(PredictaIdRejection::EventIdMismatch)?;
                }
            }
            Ok(PredictaIdDelivery { body, event })
        })
        .await
        .map_err(PredictaIdRejection::Decoder)?
    }
}

/// Decodes the one `X-PredictAid-Signature` header; more than one is as bad
/// as a malformed one.
fn signature_tag(headers: &HeaderMap) -> Result<crate::predictaid::verify::Tag, Error> {
    let mut values = headers.get_all(predictaid::SIGNATURE_HEADER).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => "",
        (Some(_), Some(_)) => {
            return Err(malformed(format!(
                "more than one {} header",
                predictaid::SIGNATURE_HEADER
            )))
        }
        (Some(value), None) => value.to_str().map_err(|_| {
            malformed(format!(
                "the {} header holds bytes that are not visible ASCII",
                predictaid::SIGNATURE_HEADER
            ))
        })?,
    };
    crate::predictaid::verify::decode_signature(value)
}

fn malformed(message: String) -> Error {
    Error::delivery(Provider::PredictaId, ErrorKind::MalformedSignature, message)
}

/// Why a request is not a verified PredictaID delivery.
///
/// The responses say as little as they can: the three signature failures all
/// answer 401 with the same text. [`Display`](fmt::Display) and
/// [`error`](PredictaIdRejection::error) give the detail, for your logs
/// (never the expected signature).
#[derive(Debug)]
#[non_exhaustive]
pub enum PredictaIdRejection {
    /// No secret is configured ([`Secrets::is_empty`]): 500, so that
    /// PredictaID retries until the receiver is fixed.
    NoSecret,
    /// The signature header is missing, malformed (or repeated), or does not
    /// match the body: 401, `invalid webhook signature`.
    Signature(Error),
    /// The body could not be read: over the route's body limit (413), or the
    /// connection failed (400). Answered with axum's own response.
    Body(BytesRejection),
    /// The body is authentic but `X-PredictAid-Event-ID` names another event:
    /// a body replayed under another id, 400 (not what PredictaID sends, and
    /// a retry of it would never succeed: a 4xx ends the retries; the genuine
    /// event comes with its own header).
    EventIdMismatch(Error),
    /// The task that verifies and decodes the body off the async runtime
    /// failed (it panicked, or the runtime is shutting down): 500, so that
    /// PredictaID retries. Holds the task's error, as text.
    Decoder(String),
}

impl PredictaIdRejection {
    /// The status the rejection is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            PredictaIdRejection::NoSecret | PredictaIdRejection::Decoder(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            PredictaIdRejection::Signature(_) => StatusCode::UNAUTHORIZED,
            PredictaIdRejection::Body(rejection) => rejection.status(),
            PredictaIdRejection::EventIdMismatch(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The crate's error behind the rejection (its [`kind`](Error::kind) says
    /// which signature or header check failed), when there is one.
    pub fn error(&self) -> Option<&Error> {
        match self {
            PredictaIdRejection::Signature(error) | PredictaIdRejection::EventIdMismatch(error) => {
                Some(error)
            }
            PredictaIdRejection::NoSecret
            | PredictaIdRejection::Body(_)
            | PredictaIdRejection::Decoder(_) => None,
        }
    }
}

impl fmt::Display for PredictaIdRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PredictaIdRejection::NoSecret => {
                f.write_str("no PredictaID webhook secret is configured")
            }
            PredictaIdRejection::Signature(error) | PredictaIdRejection::EventIdMismatch(error) => {
                fmt::Display::fmt(error, f)
            }
            PredictaIdRejection::Body(rejection) => f.write_str(&rejection.body_text()),
            PredictaIdRejection::Decoder(error) => f.write_str(error),
        }
    }
}

impl std::error::Error for PredictaIdRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PredictaIdRejection::NoSecret | PredictaIdRejection::Decoder(_) => None,
            PredictaIdRejection::Signature(error) | PredictaIdRejection::EventIdMismatch(error) => {
                Some(error)
            }
            PredictaIdRejection::Body(rejection) => Some(rejection),
        }
    }
}

impl IntoResponse for PredictaIdRejection {
    /// Also logs the rejection with `tracing` (target
    /// `kyc_webhooks::axum::rejection`): a 5xx, such as no secret configured,
    /// at `error`, others at `debug` (never the expected signature).
    fn into_response(self) -> Response {
        let status = self.status();
        log_rejection("PredictaID", status, &self);
        match self {
            PredictaIdRejection::Body(rejection) => rejection.into_response(),
            PredictaIdRejection::NoSecret => (status, "webhook receiver not ready").into_response(),
            PredictaIdRejection::Decoder(_) => {
                (status, "webhook receiver failed to decode the body").into_response()
            }
            PredictaIdRejection::Signature(_) => {
                (status, "invalid webhook signature").into_response()
            }
            PredictaIdRejection::EventIdMismatch(_) => {
                (status, "the event id header does not match the signed body").into_response()
            }
        }
    }
}

/// Logs a rejection as it is answered: the server's own failures (5xx: no
/// secret configured, a failed decoding task) at `error`, so that they are
/// not silent; the sender's (4xx) at `debug`, as axum logs its own
/// rejections.
fn log_rejection(provider: &str, status: StatusCode, rejection: &dyn fmt::Display) {
    if status.is_server_error() {
        tracing::error!(
            target: "kyc_webhooks::axum::rejection",
            provider,
            status = status.as_u16(),
            "{rejection}"
        );
    } else {
        tracing::debug!(
            target: "kyc_webhooks::axum::rejection",
            provider,
            status = status.as_u16(),
            "{rejection}"
        );
    }
}
