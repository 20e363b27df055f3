//! Strongly typed webhook events for the Spektr and PredictaID KYC/AML
//! platforms.
//!
//! Hand the raw body of a webhook delivery to [`spektr::parse_batch`] or
//! [`predictaid::parse`] and `match` on the event enum. Every documented event
//! type has a variant (the deprecated ones too); an event type the crate does
//! not know is kept whole in an `Other` variant, and a field it does not know is
//! kept in an `extra` map, so re-serializing an event gives back what came in.
//! Broken input is an [`Error`] that says what and where, never a panic.
//!
//! # Quickstart
//!
//! ```
//! use kyc_webhooks::{predictaid, spektr};
//!
//! // A Spektr delivery: a batch of events.
//! let body = std::fs::read("fixtures/spektr/batches/all-types.json").unwrap();
//! for item in spektr::parse_batch_lenient(&body)? {
//!     match item {
//!         Ok(spektr::Event::ServiceRun(run)) => {
//!             let hits = &run.data.vendor_data["complyAdvantageKyc_has_sanctions_hit_count"];
//!             println!("{}: {} sanctions hits for {}", run.id, hits, run.spektr_id);
//!         }
//!         Ok(spektr::Event::AlertEscalated(alert)) => println!("alert {}", alert.data.alert_name),
//!         Ok(other) => println!("{} {}", other.type_name(), other.id()),
//!         // A broken event: keep its raw text for a dead-letter store.
//!         Err(rejected) => eprintln!("{}: {}", rejected.error(), rejected.raw_json()),
//!     }
//! }
//!
//! // A PredictaID delivery: one event.
//! let body = std::fs::read("fixtures/predictaid/kyt.transaction.pipeline.completed.json").unwrap();
//! let event = predictaid::parse(&body)?;
//! if let predictaid::Payload::KytTransactionPipelineCompleted(done) = &event.data {
//!     assert_eq!(done.alert_count, 1);
//! }
//! # Ok::<(), kyc_webhooks::Error>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod batch;
mod error;
pub mod predictaid;
pub mod spektr;
mod wire;

pub use error::{Error, ErrorKind, Provider, UnknownEventType};
pub use wire::Extra;

/// The README's examples, compiled and run as doc tests (they use the default
/// `verify` feature).
#[cfg(all(doctest, feature = "verify"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
