//! The one-line summary of a Spektr event: its `Display`.

use std::fmt::{self, Write};

use chrono::SecondsFormat;

use super::{Event, Payload};
use crate::wire::payload::summary::{Compact, OneLine, Or, Quoted};

/// One line for a person reading a log or a terminal: the type, the ids, the
/// time (RFC 3339, UTC) and the fields an analyst looks at first for that
/// type.
///
/// ```text
/// process_run_end id=686f58da3b9059f19eb2d066 spektrId=686e28baebd46db5a35beccb at 2025-07-10T06:08:26.390Z: process "KYB onboarding" ended: output unknown, customer approved, score 0, 1 tag(s), 2 client-record field(s)
/// ```
///
/// The line holds no line break: a control character in received text is
/// written escaped (`\n`, `\u{1b}`), and an unknown type's `data` without
/// the whitespace between its tokens. The wording is for people and may
/// change between versions; a program reads the fields.
///
/// ```
/// use kyc_webhooks::spektr;
///
/// let body = br#"{"id": "e1", "workspaceId": "w1", "eventType": "alert_resolved",
///     "timestamp": 1752127706390, "spektrId": "s1",
///     "data": {"contextId": "c1", "processId": "p1", "alertId": "a1", "alertName": "PEP hit"}}"#;
/// let event = spektr::parse_event(body)?;
/// assert_eq!(
///     event.to_string(),
///     r#"alert_resolved id=e1 spektrId=s1 at 2025-07-10T06:08:26.390Z: alert "PEP hit" resolved by a process"#
/// );
/// # Ok::<(), kyc_webhooks::Error>(())
/// ```
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = OneLine(f);
        write!(
            line,
            "{} id={} spektrId={} at {}: ",
            self.type_name(),
            self.id,
            self.spektr_id,
            self.timestamp.to_rfc3339_opts(SecondsFormat::AutoSi, true)
        )?;
        summary(&self.data, &mut line)
    }
}

/// The fields an analyst looks at first, per type.
fn summary(data: &Payload, out: &mut impl Write) -> fmt::Result {
    match data {
        Payload::ProcessRunStart(e) => write!(
            out,
            "process {} ({}) started, run {}",
            Quoted(&e.process_name),
            e.process_type,
            e.context_id
        ),
        Payload::LoopRunStart(e) => write!(
            out,
            "loop of {} started, form {}",
            Quoted(&e.process_name),
            Or(&e.loop_url, "-")
        ),
        Payload::ProcessRunEnd(e) => write!(
            out,
            "process {} ended: output {}, customer {}, score {}, {} tag(s), {} client-record field(s)",
            Quoted(&e.process_name),
            e.process_output,
            e.customer_status,
            e.score,
            e.tags.len(),
            e.extra.len()
        ),
        Payload::ServiceRun(e) => write!(out, "{} answered in step {}", e.vendor_type, e.step_id),
        Payload::AlertEscalated(e) => write!(
            out,
            "alert {} ({}) is {}",
            Quoted(&e.alert_name),
            e.alert_type,
            e.status
        ),
        Payload::AlertResolved(e) => write!(
            out,
            "alert {} resolved by {}",
            Quoted(&e.alert_name),
            Or(&e.user_id, "a process")
        ),
        Payload::CustomerTagAdd(e) | Payload::CustomerTagRemove(e) => {
            match (&e.tag_name, &e.tag_id) {
                (Some(name), _) => write!(out, "tag {} {}", Quoted(name), e.action),
                (None, Some(id)) => write!(out, "tag {} {}", Quoted(id), e.action),
                (None, None) => write!(out, "tag ? {}", e.action),
            }
        }
        Payload::CustomerStatusChange(e) => write!(
            out,
            "{}: {} -> {} (deprecated type)",
            Quoted(&e.customer_name),
            Or(&e.old_status, "?"),
            e.new_status
        ),
        Payload::CustomerStatusChanged(e) => write!(
            out,
            "{} -> {} by {}",
            Or(&e.old_status, "?"),
            e.new_status,
            e.method.method_type
        ),
        Payload::CustomerDuplicateDetection(e) => write!(
            out,
            "duplicate: new {} old {}",
            Or(&e.customer_duplicate_data.new_record_id, "?"),
            Or(&e.customer_duplicate_data.old_record_id, "?")
        ),
        Payload::CustomerRecordUpdate(e) => {
            write!(out, "{} field(s) updated (deprecated type)", e.extra.len())
        }
        Payload::CustomerRecordChanged(e) => {
            write!(out, "changed by {}:", e.method.method_type)?;
            for (index, change) in e.changes.iter().enumerate() {
                let comma = if index == 0 { "" } else { "," };
                write!(out, "{comma} {}", change.field_id)?;
            }
            Ok(())
        }
        Payload::OwnershipAiCreated(e) => write!(out, "created under parent {}", e.parent_id),
        Payload::OwnershipAiAddedOwner(e) => write!(out, "owner added to child {}", e.child_id),
        Payload::ClientRecordSync(e) => write!(
            out,
            "synced from {} ({}) at {}",
            e.vendor,
            e.object_type,
            e.last_synced_at
                .to_rfc3339_opts(SecondsFormat::AutoSi, true)
        ),
        Payload::StepInit(e) => write!(out, "{} step {} shown", e.step_type, e.step_id),
        Payload::StepSubmit(e) => write!(out, "{} step {} submitted", e.step_type, e.step_id),
        Payload::Other(e) => write!(
            out,
            "unknown type, kept whole: data {}",
            Compact(e.data.as_str())
        ),
    }
}
