//! Spektr's deprecated types, which it still delivers, are matched and read
//! without a single `deprecated` warning: this file is compiled with
//! `deny(deprecated)`, so any `#[deprecated]` on the variants, their data
//! types or their fields fails the build.

#![deny(deprecated)]

use kyc_webhooks::spektr::{self, CustomerStatus, EventType, Payload};

const BODY: &str = r#"{"results": [
  {"id": "e1", "spektrId": "s1", "eventType": "customer_status_change", "timestamp": 1752823817950,
   "data": {"oldStatus": "pending", "newStatus": "approved", "customerName": "Acme Trading Ltd"}},
  {"id": "e2", "spektrId": "s1", "eventType": "customer_record_update", "timestamp": 1752823817951,
   "workspaceId": "w1", "data": {"reference": "ref-1", "first_name": "new name"}}
]}"#;

#[test]
fn deprecated_types_are_matched_and_read_without_warnings() {
    let batch = spektr::parse_batch(BODY.as_bytes()).unwrap();
    let mut seen = Vec::new();
    for event in &batch {
        match &event.data {
            Payload::CustomerStatusChange(change) => {
                assert_eq!(change.new_status, CustomerStatus::Approved);
                assert_eq!(change.old_status, Some(CustomerStatus::Pending));
                assert_eq!(change.customer_name, "Acme Trading Ltd");
                seen.push(event.data.event_type());
            }
            Payload::CustomerRecordUpdate(update) => {
                assert_eq!(update.reference.as_deref(), Some("ref-1"));
                assert_eq!(
                    update.extra.get("first_name").unwrap().as_str(),
                    r#""new name""#
                );
                seen.push(event.data.event_type());
            }
            other => panic!("unexpected {}", other.type_name()),
        }
    }
    assert_eq!(
        seen,
        [
            Some(EventType::CustomerStatusChange),
            Some(EventType::CustomerRecordUpdate)
        ]
    );
    // Built by hand too (a test double of a still-delivered type).
    let built = spektr::CustomerStatusChange::new(CustomerStatus::Rejected, "Acme");
    assert_eq!(built.new_status, CustomerStatus::Rejected);
    let _ = spektr::CustomerRecordUpdate::new();
}
