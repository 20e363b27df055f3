//! Spektr webhook events.
//!
//! Spektr delivers events in batches, `{"results": [event, ...]}`; each event
//! has the common fields (`id`, `spektrId`, `eventType`, `timestamp`,
//! `workspaceId`) and a `data` object whose shape depends on `eventType`.
//! [`parse_batch_lenient`] decodes a delivery event by event into [`Event`]s,
//! whose [`data`](Event::data) is a [`Payload`] to `match` on (one variant
//! per documented type, with its typed data), and hands a broken event back
//! as a [`Rejected`] with its raw text, so that it cannot cost the good ones
//! around it. ([`parse_batch`] is the strict form: the first broken event
//! fails the call.)
//!
//! ```
//! use kyc_webhooks::spektr::{self, CustomerStatus, Payload};
//!
//! let body = br#"{"results": [{
//!     "id": "686f58da3b9059f19eb2d066", "workspaceId": "559ae2249db800a7b0fa02ad58b196ae",
//!     "eventType": "process_run_end", "timestamp": 1752127706390,
//!     "spektrId": "686e28baebd46db5a35beccb",
//!     "data": {"company_name": "test1", "customerStatus": "approved", "processType": "loop",
//!              "processOutput": "unknown", "processName": "loop", "processId": "6863946a7addd2ed37a96af8",
//!              "score": 0, "contextId": "686f589e1926bef99eda763e", "tags": []}
//! }]}"#;
//!
//! for item in spektr::parse_batch_lenient(body)? {
//!     let event = match item {
//!         Ok(event) => event,
//!         Err(rejected) => {
//!             // Keep `rejected.raw_json()` (a dead-letter store) to replay it later.
//!             eprintln!("dead-letter: {rejected}");
//!             continue;
//!         }
//!     };
//!     match &event.data {
//!         Payload::ProcessRunEnd(run) => {
//!             assert_eq!(run.customer_status, CustomerStatus::Approved);
//!             // Client-record fields the docs do not type are kept, as sent.
//!             let company = run.extra.get("company_name").unwrap();
//!             assert_eq!(company.as_str(), r#""test1""#);
//!             assert_eq!(company.parse::<String>()?, "test1");
//!         }
//!         other => println!("{} {}", other.type_name(), event.id),
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Quirks of Spektr's reference that this module settles:
//! - the `ALERT_ESCALATED` template says `"alert_resolved"` and the `STEP_SUBMIT`
//!   template says `"step_init"`: copy errors; the wire values are
//!   `alert_escalated` and `step_submit`;
//! - the table's upper-case names (`CUSTOMER_TAG_ADDED`, ...) are headings; the
//!   wire values are `customer_tag_add`, `customer_tag_remove`, ...;
//! - fields the tables list at the top level (`loopHeader`, `stepId`,
//!   `processId`, ...) are sent inside `data`, as the templates and samples show;
//!   a top-level field the crate does not know is kept in [`Event::extra`].

mod alert;
mod client_record;
mod customer;
mod event;
mod ids;
mod ownership;
mod process;
mod service;
mod step;
mod summary;

pub use crate::UnknownPayload;
// The data types, each module's whole public content: a type declared with
// `record!` in one of these files is public with no line here.
pub use alert::*;
pub use client_record::*;
pub use customer::*;
pub use event::{Event, EventType, Payload};
pub use ids::*;
pub use ownership::*;
pub use process::*;
pub use service::*;
pub use step::*;

/// A broken event of a batch from [`parse_batch_lenient`], kept as its raw
/// text with its error: store [`raw_json`](Rejected::raw_json) in a
/// dead-letter queue and replay it with [`parse_event`].
///
/// The same type as [`batch::Rejected`], named here
/// so that a Spektr handler needs only this module. (PredictaID delivers one
/// event per request, so `predictaid` has no batch and no `Rejected`: a
/// broken PredictaID body is an [`Error`].)
///
/// ```
/// use kyc_webhooks::spektr::{self, Rejected};
///
/// fn dead_letter(rejected: &Rejected) -> (usize, &str) {
///     (rejected.index(), rejected.raw_json())
/// }
///
/// let body = br#"{"results": [{"id": "e1", "spektrId": "s1", "eventType": "step_init",
///     "timestamp": 1752662761594, "data": {"processId": 7}}]}"#;
/// let items = spektr::parse_batch_lenient(body)?;
/// let rejected = items[0].as_ref().unwrap_err();
/// assert_eq!(dead_letter(rejected).0, 0);
/// assert!(dead_letter(rejected).1.starts_with(r#"{"id": "e1""#));
/// # Ok::<(), kyc_webhooks::Error>(())
/// ```
pub use crate::batch::Rejected;

use crate::batch::{self, Batch};
use crate::{Error, Provider};

/// Decodes a Spektr delivery strictly: every event must decode, else the error
/// names the first failing event (index, type, position).
///
/// Same as [`batch::parse::<Event>`](crate::batch::parse).
pub fn parse_batch(body: &[u8]) -> Result<Batch<Event>, Error> {
    batch::parse(body)
}

/// Decodes a Spektr delivery event by event: a broken event comes back as a
/// [`Rejected`] with its raw text, its neighbours decode as usual.
///
/// Same as [`batch::parse_lenient::<Event>`](crate::batch::parse_lenient).
pub fn parse_batch_lenient(body: &[u8]) -> Result<Vec<Result<Event, Rejected>>, Error> {
    batch::parse_lenient(body)
}

/// Decodes one Spektr event on its own (not a batch): an event kept from a
/// [`Rejected::raw_json`] or a queue, say.
pub fn parse_event(json: &[u8]) -> Result<Event, Error> {
    batch::parse_single(json)
}

impl crate::WebhookEvent for Event {
    const PROVIDER: Provider = Provider::Spektr;
    const TYPE_KEY: &'static str = "eventType";
}

impl crate::sealed::Sealed for Event {}
