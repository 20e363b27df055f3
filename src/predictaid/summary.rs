//! The one-line summary of a PredictaID event: its `Display`.

use std::fmt::{self, Write};

use super::{Event, Payload};
use crate::wire::payload::summary::{Compact, OneLine, Or};

/// One line for a person reading a log or a terminal: the type, the ids, the
/// time (`occurredAt` as it will be written, see
/// [`occurred_at_text`](Event::occurred_at_text)) and the fields an analyst
/// looks at first for that type.
///
/// The line holds no line break: a control character in received text is
/// written escaped (`\n`, `\u{1b}`), and an unknown type's `data` without
/// the whitespace between its tokens. The wording is for people and may
/// change between versions; a program reads the fields.
///
/// ```
/// use kyc_webhooks::predictaid;
///
/// let body = br#"{"id": "evt_1", "type": "kyt.transaction.dead_lettered",
///   "occurredAt": "2026-03-23T12:00:00.000Z", "companyId": "comp_1",
///   "aggregateType": "KYT_TRANSACTION", "aggregateId": "txn_1", "version": "v1",
///   "data": {"transactionId": "txn_1", "reason": "Pipeline processing failed"}}"#;
/// let event = predictaid::parse(body)?;
/// assert_eq!(
///     event.to_string(),
///     "kyt.transaction.dead_lettered id=evt_1 company=comp_1 KYT_TRANSACTION=txn_1 \
///      at 2026-03-23T12:00:00.000Z: transaction txn_1 dead-lettered: Pipeline processing failed"
/// );
/// # Ok::<(), kyc_webhooks::Error>(())
/// ```
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = OneLine(f);
        write!(
            line,
            "{} id={} company={} {}={} at {}: ",
            self.type_name(),
            self.id,
            self.company_id,
            self.aggregate_type,
            self.aggregate_id,
            self.occurred_at_text()
        )?;
        summary(&self.data, &mut line)
    }
}

/// The fields an analyst looks at first, per type.
fn summary(data: &Payload, out: &mut impl Write) -> fmt::Result {
    match data {
        Payload::SessionCreated(d) => write!(
            out,
            "session for {} in flow {}: {}",
            d.customer_id, d.flow_id, d.status
        ),
        Payload::SessionCompleted(d) => write!(
            out,
            "session for {} completed: {}",
            Or(&d.customer_id, "?"),
            Or(&d.final_status, "?")
        ),
        Payload::CustomerIdentified(d) => write!(
            out,
            "{} is {} ({})",
            d.anonymous_customer_id, d.target_customer_id, d.resolution_type
        ),
        Payload::FlowVersionPublished(d) => write!(
            out,
            "flow {} now runs {} (published by {})",
            d.flow_id, d.published_version_id, d.published_by
        ),
        Payload::KytTransactionQueued(d) => {
            write!(out, "transaction {} {}", d.transaction_id, d.status)
        }
        Payload::KytTransactionReprocessRequested(d) => write!(
            out,
            "transaction {} reprocess asked by {}",
            d.transaction_id, d.requested_by
        ),
        Payload::KytTransactionPipelineCompleted(d) => write!(
            out,
            "transaction {} {} with {} alert(s)",
            d.transaction_id, d.status, d.alert_count
        ),
        Payload::KytTransactionDeadLettered(d) => write!(
            out,
            "transaction {} dead-lettered: {}",
            d.transaction_id, d.reason
        ),
        Payload::Other(d) => write!(
            out,
            "unknown type, kept whole: data {}",
            Compact(d.data.as_str())
        ),
    }
}
