//! Strongly typed webhook events for the Spektr and PredictaID KYC/AML
//! platforms.
//!
//! Hand the raw body of a webhook delivery to [`spektr::parse_batch_lenient`]
//! or [`predictaid::construct_event`] and `match` on the event's
//! [`data`](spektr::Event::data). Both providers' events have one shape: a
//! struct with the common fields, a `data` payload enum with one variant per
//! documented type (the deprecated ones too) and an `Other` variant for a type
//! the crate does not know, and `extra` for top-level fields it does not know.
//! Free-form parts (unknown fields, `vendorData`, an unknown type's data) are
//! kept as the exact JSON text received ([`RawJson`]), so re-serializing an
//! event writes them back byte for byte. Broken input is an [`Error`] that
//! says what and where, never a panic.
//!
//! # Quickstart
//!
//! ```
//! use kyc_webhooks::{predictaid, spektr};
//!
//! // A Spektr delivery: a batch of events.
//! let body = br#"{"results": [
//!   {"id": "evt_1", "workspaceId": "ws_1", "eventType": "service_run", "timestamp": 1752127706390,
//!    "spektrId": "cust_1", "data": {"vendorType": "complyAdvantageKyc", "stepType": "complyAdvantageKyc",
//!    "stepId": "step_1", "contextId": "ctx_1", "processId": "proc_1", "processName": "KYC",
//!    "processType": "onboarding", "vendorData": {"complyAdvantageKyc_has_sanctions": true}}},
//!   {"id": "evt_2", "workspaceId": "ws_1", "eventType": "alert_escalated", "timestamp": 1752127706391,
//!    "spektrId": "cust_1", "data": {"contextId": "ctx_1", "alertType": "sanctions", "alertId": "alert_1",
//!    "alertName": "Sanctions hit", "datasetId": "ds_1", "status": "open"}},
//!   {"id": "evt_3", "workspaceId": "ws_1", "eventType": "step_init", "timestamp": 1752127706392,
//!    "spektrId": "cust_1", "data": {"processId": 7}}
//! ]}"#;
//! for item in spektr::parse_batch_lenient(body)? {
//!     match item {
//!         Ok(event) => match &event.data {
//!             spektr::Payload::ServiceRun(run) => {
//!                 let sanctions: bool = run.vendor_data.get("complyAdvantageKyc_has_sanctions")?;
//!                 assert!(sanctions);
//!             }
//!             spektr::Payload::AlertEscalated(alert) => {
//!                 println!("alert {} for {}", alert.alert_name, event.spektr_id)
//!             }
//!             other => println!("{} {}", other.type_name(), event.id),
//!         },
//!         // A broken event: keep its raw text for a dead-letter store.
//!         Err(rejected) => {
//!             assert_eq!(rejected.index(), 2);
//!             eprintln!("{rejected}: {}", rejected.raw_json());
//!         }
//!     }
//! }
//!
//! // A PredictaID delivery: one event (check its signature first: see
//! // `predictaid::construct_event`).
//! let body = br#"{"id": "evt_9", "type": "kyt.transaction.pipeline.completed",
//!   "occurredAt": "2026-03-23T12:00:00.000Z", "companyId": "comp_1", "aggregateType": "KYT_TRANSACTION",
//!   "aggregateId": "txn_1", "version": "v1",
//!   "data": {"transactionId": "txn_1", "status": "COMPLETED", "alertCount": 1}}"#;
//! let event = predictaid::parse(body)?;
//! if let predictaid::Payload::KytTransactionPipelineCompleted(done) = &event.data {
//!     assert_eq!(done.alert_count, 1);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
pub mod batch;
mod error;
pub mod predictaid;
mod raw;
pub mod spektr;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod wire;

pub use error::{Error, ErrorKind, Provider, UnknownEventType};
pub use raw::{Extra, ExtraIter, RawJson};
pub use wire::payload::UnknownPayload;

/// A provider's event type: [`spektr::Event`] or [`predictaid::Event`].
///
/// It declares which provider sends the event and which key names its type,
/// so that the generic [`batch`] functions name the right provider and type in
/// their errors instead of guessing them from the keys of a broken event.
/// Sealed: only this crate's event types implement it.
pub trait WebhookEvent: serde::de::DeserializeOwned + sealed::Sealed {
    /// The provider that sends this event type.
    const PROVIDER: Provider;
    /// The top-level key that holds the event's type (`eventType`, `type`).
    const TYPE_KEY: &'static str;
}

mod sealed {
    /// Keeps [`WebhookEvent`](super::WebhookEvent) to this crate's types.
    pub trait Sealed {}
}
