//! PredictaID webhook events.
//!
//! PredictaID sends one event per delivery (no batch): an envelope (`id`,
//! `type`, `occurredAt`, `companyId`, `aggregateType`, `aggregateId`, `data`,
//! `version`) whose `data` depends on `type`. [`parse`] decodes it into an
//! [`Event`] whose [`data`](Event::data) is a [`Payload`] to `match` on.
//!
//! PredictaID signs each delivery (`X-PredictAid-Signature`, HMAC-SHA256 of the
//! raw body): check it on the raw bytes before trusting what they say.

mod customer;
mod event;
mod flow;
mod kyt;
mod session;
#[cfg(feature = "verify")]
pub(crate) mod verify;

pub use customer::{CustomerIdentified, ResolutionType};
pub use event::{AggregateType, Event, EventType, Payload, UnknownPayload};
pub use flow::FlowVersionPublished;
pub use kyt::{
    KytTransactionDeadLettered, KytTransactionPipelineCompleted, KytTransactionQueued,
    KytTransactionReprocessRequested, TransactionStatus,
};
pub use session::{SessionCompleted, SessionCreated, SessionStatus};
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
