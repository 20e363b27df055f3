//! The PredictaID event envelope and its typed payloads.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize, Serializer};

use super::*;
use crate::wire::enums::open_enum;
use crate::wire::path::Fields;
use crate::wire::payload::payloads;
use crate::wire::time::{serialize_rfc3339, Rfc3339};
use crate::wire::{set_once, DataSlot, Key};
use crate::{Extra, Provider};

open_enum! {
    /// The kind of object an event is about (`aggregateType`).
    pub enum AggregateType {
        /// `SESSION`: a KYC session.
        Session = "SESSION",
        /// `CUSTOMER`: a customer profile.
        Customer = "CUSTOMER",
        /// `FLOW`: a KYC flow.
        Flow = "FLOW",
        /// `KYT_TRANSACTION`: a transaction under KYT monitoring.
        KytTransaction = "KYT_TRANSACTION",
    }
}

payloads! {
    provider: Provider::PredictaId, type_key: "type";
    /// A documented PredictaID event type (the wire `type`).
    pub enum EventType;
    /// An event's `type` and `data` together: one variant per documented
    /// type, each with its typed data, and [`Payload::Other`] for a type the
    /// crate does not know.
    pub enum Payload {
        /// `session.created`: a new KYC session was created.
        SessionCreated(SessionCreated) = "session.created",
        /// `session.completed`: a KYC session was completed.
        SessionCompleted(SessionCompleted) = "session.completed",
        /// `customer.identified`: an anonymous customer was linked to a profile.
        CustomerIdentified(CustomerIdentified) = "customer.identified",
        /// `flow.version.published`: a Green flow version was promoted to Blue.
        FlowVersionPublished(FlowVersionPublished) = "flow.version.published",
        /// `kyt.transaction.queued`: a transaction was queued for pipeline processing.
        KytTransactionQueued(KytTransactionQueued) = "kyt.transaction.queued",
        /// `kyt.transaction.reprocess.requested`: a transaction was submitted for reprocessing.
        KytTransactionReprocessRequested(KytTransactionReprocessRequested) = "kyt.transaction.reprocess.requested",
        /// `kyt.transaction.pipeline.completed`: pipeline processing finished for a transaction.
        KytTransactionPipelineCompleted(KytTransactionPipelineCompleted) = "kyt.transaction.pipeline.completed",
        /// `kyt.transaction.dead_lettered`: a transaction was moved to dead-letter handling.
        KytTransactionDeadLettered(KytTransactionDeadLettered) = "kyt.transaction.dead_lettered",
    }
}

/// A PredictaID webhook event: the envelope every delivery has, with the typed
/// payload in [`data`](Event::data).
///
/// ```
/// use kyc_webhooks::predictaid::{self, Payload, SessionStatus};
/// let body = br#"{"id": "evt_1", "type": "session.created", "occurredAt": "2026-03-23T12:00:00.000Z",
///   "companyId": "comp_123", "aggregateType": "SESSION", "aggregateId": "sess_123", "version": "v1",
///   "data": {"customerId": "cust_456", "flowId": "flow_789", "flowVersionId": "ver_001",
///            "clientAppId": "app_123", "status": "PENDING"}}"#;
/// let event = predictaid::parse(body)?;
/// assert_eq!(event.id, "evt_1");
/// match &event.data {
///     Payload::SessionCreated(session) => assert_eq!(session.status, SessionStatus::Pending),
///     other => println!("{} about {}", other.type_name(), event.aggregate_id),
/// }
/// # Ok::<(), kyc_webhooks::Error>(())
/// ```
///
/// Equality and hashing compare the instant of `occurredAt`, not its text:
/// `2026-03-23T12:00:00Z` and `2026-03-23T12:00:00.000Z` are the same
/// instant, so events that differ only there are equal. The text as received
/// is kept, to write the event back unchanged, and readable with
/// [`occurred_at_text`](Event::occurred_at_text).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Event {
    /// The event's unique ID (`id`): deduplicate retried deliveries on it.
    pub id: EventId,
    /// When the event happened (`occurredAt`, RFC 3339 on the wire).
    pub occurred_at: DateTime<Utc>,
    /// The company (PredictaID customer account) the event belongs to (`companyId`).
    pub company_id: CompanyId,
    /// The kind of object the event is about (`aggregateType`).
    pub aggregate_type: AggregateType,
    /// The ID of that object (`aggregateId`).
    pub aggregate_id: AggregateId,
    /// The `type` and its typed `data`.
    pub data: Payload,
    /// The envelope version (`version`), e.g. `v1`.
    pub version: String,
    /// Top-level fields this version of the crate does not know, each kept as
    /// the text received.
    pub extra: Extra,
    /// `occurredAt` as received, when it was not in the canonical
    /// `2026-03-23T12:00:00.000Z` form, so it can be written back unchanged.
    occurred_at_text: Option<Box<str>>,
}

impl Event {
    /// An event with `version` `v1` (the only documented version) and no extra
    /// fields; the type is the payload's.
    pub fn new(
        id: impl Into<EventId>,
        occurred_at: DateTime<Utc>,
        company_id: impl Into<CompanyId>,
        aggregate_type: AggregateType,
        aggregate_id: impl Into<AggregateId>,
        data: Payload,
    ) -> Self {
        Event {
            id: id.into(),
            occurred_at,
            company_id: company_id.into(),
            aggregate_type,
            aggregate_id: aggregate_id.into(),
            data,
            version: "v1".to_owned(),
            extra: Extra::new(),
            occurred_at_text: None,
        }
    }

    /// The wire `type`, also for an unknown type.
    pub fn type_name(&self) -> &str {
        self.data.type_name()
    }

    /// The documented type, or `None` for an unknown one.
    pub fn event_type(&self) -> Option<EventType> {
        self.data.event_type()
    }

    /// `occurredAt` as it will be written: the text received when it still
    /// denotes [`occurred_at`](Event::occurred_at), else the canonical
    /// `2026-03-23T12:00:00.000Z` form.
    pub fn occurred_at_text(&self) -> String {
        match &self.occurred_at_text {
            Some(text) if crate::wire::time::denotes(text, &self.occurred_at) => text.to_string(),
            _ => crate::wire::time::rfc3339_millis(&self.occurred_at),
        }
    }
}

impl PartialEq for Event {
    /// Every public field; `occurredAt` by instant, not by text.
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.occurred_at == other.occurred_at
            && self.company_id == other.company_id
            && self.aggregate_type == other.aggregate_type
            && self.aggregate_id == other.aggregate_id
            && self.data == other.data
            && self.version == other.version
            && self.extra == other.extra
    }
}

impl Eq for Event {}

impl Hash for Event {
    /// The fields [`PartialEq`] compares.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.occurred_at.hash(state);
        self.company_id.hash(state);
        self.aggregate_type.hash(state);
        self.aggregate_id.hash(state);
        self.data.hash(state);
        self.version.hash(state);
        self.extra.hash(state);
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct OccurredAt<'a>(&'a Event);
        impl Serialize for OccurredAt<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serialize_rfc3339(
                    &self.0.occurred_at,
                    self.0.occurred_at_text.as_deref(),
                    serializer,
                )
            }
        }
        struct Data<'a>(&'a Payload);
        impl Serialize for Data<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.0.serialize_data(serializer)
            }
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("type", self.data.type_name())?;
        map.serialize_entry("occurredAt", &OccurredAt(self))?;
        map.serialize_entry("companyId", &self.company_id)?;
        map.serialize_entry("aggregateType", &self.aggregate_type)?;
        map.serialize_entry("aggregateId", &self.aggregate_id)?;
        map.serialize_entry("data", &Data(&self.data))?;
        map.serialize_entry("version", &self.version)?;
        self.extra.serialize_entries(&mut map)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EventVisitor)
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a PredictaID event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Event, A::Error> {
        // A failure leaves its path and the type read so far in the error path.
        let mut map = Fields::new(map);
        let mut id = None;
        let mut type_name: Option<(Key<'de>, Option<EventType>)> = None;
        let mut occurred_at: Option<Rfc3339> = None;
        let mut company_id = None;
        let mut aggregate_type = None;
        let mut aggregate_id = None;
        let mut data = None;
        let mut version = None;
        let mut extra = Extra::new();
        while let Some(key) = map.next_field()? {
            match key.as_str() {
                "id" => set_once(&mut id, "id", map.next_value::<EventId>()?)?,
                "type" => {
                    let name = map.next_value::<Key<'de>>()?;
                    map.note_type(&name);
                    let known = EventType::from_wire(name.as_str());
                    set_once(&mut type_name, "type", (name, known))?;
                }
                "occurredAt" => set_once(&mut occurred_at, "occurredAt", map.next_value()?)?,
                "companyId" => {
                    set_once(&mut company_id, "companyId", map.next_value::<CompanyId>()?)?
                }
                "aggregateType" => {
                    set_once(&mut aggregate_type, "aggregateType", map.next_value()?)?
                }
                "aggregateId" => set_once(
                    &mut aggregate_id,
                    "aggregateId",
                    map.next_value::<AggregateId>()?,
                )?,
                "version" => set_once(&mut version, "version", map.next_value::<String>()?)?,
                "data" => {
                    // Typed at once when the type is known; an unknown type's
                    // data, or data before the type, is kept as its text.
                    let seed = type_name
                        .as_ref()
                        .and_then(|(_, known)| known.map(DataSeed));
                    let slot = DataSlot::read(&mut map, seed)?;
                    set_once(&mut data, "data", slot)?;
                }
                _ => extra.read_entry(&mut map, key)?,
            }
        }
        let (name, known) = type_name.ok_or_else(|| de::Error::missing_field("type"))?;
        let data = data
            .ok_or_else(|| de::Error::missing_field("data"))?
            .finish(known.map(DataSeed), |raw| {
                Payload::Other(UnknownPayload::new(name.0.into_owned(), raw))
            })?;
        let occurred_at = occurred_at.ok_or_else(|| de::Error::missing_field("occurredAt"))?;
        map.done();
        Ok(Event {
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            occurred_at: occurred_at.instant,
            company_id: company_id.ok_or_else(|| de::Error::missing_field("companyId"))?,
            aggregate_type: aggregate_type
                .ok_or_else(|| de::Error::missing_field("aggregateType"))?,
            aggregate_id: aggregate_id.ok_or_else(|| de::Error::missing_field("aggregateId"))?,
            data,
            version: version.ok_or_else(|| de::Error::missing_field("version"))?,
            extra: extra.finish()?,
            occurred_at_text: occurred_at.text,
        })
    }
}
