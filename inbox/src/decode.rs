//! The adapter to the core crate's event types: every read of an id, a type
//! name, a subject or a timestamp out of a typed event happens here, so that a
//! change of the core's API touches this module only.

use chrono::{DateTime, Utc};
use kyc_webhooks::{predictaid, spektr};

/// What the inbox stores beside an event's text.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub id: String,
    pub type_name: String,
    /// `spektrId` (Spektr) or `aggregateId` (PredictaID): whose events must be
    /// handled in order.
    pub subject: String,
    pub occurred_at: DateTime<Utc>,
}

/// Decodes one Spektr event (a slice of a batch) and reads its metadata.
pub(crate) fn spektr_event(raw: &[u8]) -> Result<(spektr::Event, Meta), kyc_webhooks::Error> {
    let event = spektr::parse_event(raw)?;
    let meta = spektr_meta(&event);
    Ok((event, meta))
}

/// What the inbox stores beside a Spektr event's text.
pub(crate) fn spektr_meta(event: &spektr::Event) -> Meta {
    Meta {
        id: event.id.as_str().to_owned(),
        type_name: event.type_name().to_owned(),
        subject: event.spektr_id.as_str().to_owned(),
        occurred_at: event.timestamp,
    }
}

/// Decodes one PredictaID body and reads its metadata.
pub(crate) fn predictaid_event(
    raw: &[u8],
) -> Result<(predictaid::Event, Meta), kyc_webhooks::Error> {
    let event = predictaid::parse(raw)?;
    let meta = predictaid_meta(&event);
    Ok((event, meta))
}

/// What the inbox stores beside a PredictaID event's text.
pub(crate) fn predictaid_meta(event: &predictaid::Event) -> Meta {
    Meta {
        id: event.id.as_str().to_owned(),
        type_name: event.type_name().to_owned(),
        subject: event.aggregate_id.as_str().to_owned(),
        occurred_at: event.occurred_at,
    }
}

/// Checks the PredictaID event-ID header against the (authentic) body's id.
pub(crate) fn check_predictaid_event_id(
    event: &predictaid::Event,
    header: Option<&str>,
) -> Result<(), kyc_webhooks::Error> {
    predictaid::check_event_id(event, header)
}
