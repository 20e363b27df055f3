//! Lenient batch decoding: a broken event never costs its neighbours.

mod common;

use common::fixture;
use kyc_webhooks::{batch, spektr};

fn all_types() -> (Vec<u8>, serde_json::Value) {
    let body = fixture("spektr/batches/all-types.json");
    let json = serde_json::from_slice(&body).unwrap();
    (body, json)
}

#[test]
fn broken_events_between_good_ones_come_back_raw_in_place() {
    let (_, json) = all_types();
    let good: Vec<String> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.to_string())
        .collect();
    // Broken in different ways: a mistyped field, a missing field, not an
    // object, a bad timestamp; with odd spacing that must survive byte for byte.
    let broken = [
        r#"{"id": "b1", "spektrId": "s", "eventType": "alert_resolved", "timestamp": 1, "data": {"alertId": 5}}"#,
        r#"{ "eventType" : "step_submit" ,"id":"b2"}"#,
        r#"[ "not", "an", "event" ]"#,
        r#"{"id": "b4", "spektrId": "s", "eventType": "a_new_type", "timestamp": 1.5, "data": {}}"#,
    ];
    let mut items: Vec<&str> = Vec::new();
    let mut expected_broken_at = Vec::new();
    for (i, event) in good.iter().enumerate() {
        items.push(event);
        if i % 5 == 1 {
            expected_broken_at.push(items.len());
            items.push(broken[expected_broken_at.len() - 1]);
        }
    }
    assert_eq!(expected_broken_at.len(), broken.len());
    let body = format!(
        "{{\"results\": [{}], \"cursor\": null}}",
        items.join(" ,\n ")
    );

    let decoded = batch::parse_lenient::<spektr::Event>(body.as_bytes()).unwrap();
    assert_eq!(decoded.len(), items.len());
    let mut good_seen = Vec::new();
    for (index, item) in decoded.iter().enumerate() {
        match item {
            Ok(event) => good_seen.push(event.clone()),
            Err(rejected) => {
                let k = expected_broken_at
                    .iter()
                    .position(|&at| at == index)
                    .expect("only broken events are rejected");
                assert_eq!(rejected.index(), index);
                assert_eq!(
                    rejected.raw_json(),
                    broken[k],
                    "raw text kept byte for byte"
                );
                assert_eq!(rejected.error().index(), Some(index));
                assert!(rejected
                    .error()
                    .to_string()
                    .contains(&format!("results[{index}]")));
            }
        }
    }
    // Every good event comes back, in order, equal to the strict parse of the good-only batch.
    let strict =
        spektr::parse_batch(format!("{{\"results\": [{}]}}", good.join(",")).as_bytes()).unwrap();
    assert_eq!(good_seen, strict.results);

    // The strict parser fails the whole call, naming the first broken index.
    let err = spektr::parse_batch(body.as_bytes()).unwrap_err();
    assert_eq!(err.index(), Some(expected_broken_at[0]));
    assert_eq!(err.event_type(), Some("alert_resolved"));
}

#[test]
fn a_rejected_event_names_its_type_when_readable() {
    let body = br#"{"results": [{"eventType": "customer_tag_add", "id": "x"}, 17]}"#;
    let decoded = spektr::parse_batch_lenient(body).unwrap();
    let first = decoded[0].as_ref().unwrap_err();
    assert_eq!(first.error().event_type(), Some("customer_tag_add"));
    let second = decoded[1].as_ref().unwrap_err();
    assert_eq!(second.error().event_type(), None);
    assert_eq!(second.raw_json(), "17");
}

#[test]
fn a_broken_envelope_is_still_an_error() {
    for body in [
        &b""[..],
        b"{",
        b"[]",
        br#"{"results": 3}"#,
        br#"{"result": []}"#,
    ] {
        let err = batch::parse_lenient::<spektr::Event>(body).unwrap_err();
        assert!(err.is_envelope(), "{err}");
    }
}

#[test]
fn an_empty_batch_is_empty_not_an_error() {
    assert!(spektr::parse_batch_lenient(br#"{"results": []}"#)
        .unwrap()
        .is_empty());
    assert!(spektr::parse_batch(br#"{"results": []}"#)
        .unwrap()
        .results
        .is_empty());
}

#[test]
fn a_rejected_event_replays_once_fixed() {
    let body = br#"{"results": [{"id": "e", "spektrId": "s", "eventType": "ownership_ai_created", "timestamp": 5,
        "data": {"parentId": "p"}}]}"#;
    let decoded = spektr::parse_batch_lenient(body).unwrap();
    let rejected = decoded[0].as_ref().unwrap_err();
    assert!(rejected
        .error()
        .to_string()
        .contains("missing field `spektr_id`"));
    let fixed = rejected.raw_json().replace(
        r#"{"parentId": "p"}"#,
        r#"{"parentId": "p", "spektr_id": "s"}"#,
    );
    let event = spektr::parse_event(fixed.as_bytes()).unwrap();
    assert_eq!(
        event.event_type(),
        Some(spektr::EventType::OwnershipAiCreated)
    );
}
