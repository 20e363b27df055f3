//! PredictaID webhook events.
//!
//! PredictaID sends one signed event per delivery: check the signature and
//! decode in one call with [`construct_event`] (feature `verify`, on by
//! default), on the body exactly as received and the `X-PredictAid-Signature`
//! header:
//!
//! ```
//! # #[cfg(feature = "verify")] {
//! use kyc_webhooks::predictaid::{self, Payload};
//!
//! let body = br#"{"id": "evt_1", "type": "kyt.transaction.dead_lettered",
//!   "occurredAt": "2026-03-23T12:00:00.000Z", "companyId": "comp_1",
//!   "aggregateType": "KYT_TRANSACTION", "aggregateId": "txn_1", "version": "v1",
//!   "data": {"transactionId": "txn_1", "reason": "Pipeline processing failed"}}"#;
//! let secret = b"whsec_test";
//! let signature = predictaid::sign(body, secret); // the header PredictaID sends
//!
//! let event = predictaid::construct_event(body, &signature, secret)?;
//! match &event.data {
//!     Payload::KytTransactionDeadLettered(dead) => assert_eq!(dead.transaction_id, "txn_1"),
//!     other => println!("{} about {}", other.type_name(), event.aggregate_id),
//! }
//! // Anything else is refused before the body is read.
//! assert!(predictaid::construct_event(body, &signature, b"another secret").is_err());
//! # }
//! # Ok::<(), kyc_webhooks::Error>(())
//! ```
//!
//! The event is an envelope (`id`, `type`, `occurredAt`, `companyId`,
//! `aggregateType`, `aggregateId`, `data`, `version`) whose `data` depends on
//! `type`: an [`Event`] whose [`data`](Event::data) is a [`Payload`] to
//! `match` on. [`parse`] decodes a body without checking a signature (one
//! already verified, or kept in a store).

mod customer;
mod event;
mod flow;
mod ids;
mod kyt;
mod session;
mod summary;
#[cfg(feature = "verify")]
pub(crate) mod verify;

pub use crate::UnknownPayload;
// The data types, each module's whole public content: a type declared with
// `record!` in one of these files is public with no line here.
pub use customer::*;
pub use event::{AggregateType, Event, EventType, Payload};
pub use flow::*;
pub use ids::*;
pub use kyt::*;
pub use session::*;
#[cfg(feature = "verify")]
#[cfg_attr(docsrs, doc(cfg(feature = "verify")))]
pub use verify::{
    check_event_id, construct_event, construct_event_any, sign, verify, verify_any, Secrets,
    EVENT_ID_HEADER, SIGNATURE_HEADER, USER_AGENT,
};

use crate::{Error, Provider};

/// Decodes the body of a PredictaID delivery: one event.
///
/// An unknown `type` is kept as [`Payload::Other`]; a documented type whose
/// `data` does not fit is an error naming the type and the position.
pub fn parse(body: &[u8]) -> Result<Event, Error> {
    crate::batch::parse_single(body)
}

impl crate::WebhookEvent for Event {
    const PROVIDER: Provider = Provider::PredictaId;
    const TYPE_KEY: &'static str = "type";
}

impl crate::sealed::Sealed for Event {}
