//! The Spektr event: the common fields, the event type, and the typed data.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::*;
use crate::wire::path::Fields;
use crate::wire::payload::payloads;
use crate::wire::time::{Millis, MillisRef};
use crate::wire::{set_once, DataSlot, Key};
use crate::{Extra, Provider};

/// A Spektr webhook event: the fields every event has, its typed
/// [`data`](Event::data), and the top-level fields the crate does not know.
///
/// `match` on [`data`](Event::data), a [`Payload`] with one variant per
/// documented `eventType` and [`Payload::Other`] for a type this version of the
/// crate does not know (kept, not an error).
///
/// ```
/// use kyc_webhooks::spektr::{self, Payload};
///
/// let body = br#"{"results": [{"id": "e1", "workspaceId": "w1", "eventType": "alert_resolved",
///     "timestamp": 1752127706390, "spektrId": "s1",
///     "data": {"contextId": "c1", "processId": "p1", "alertId": "a1", "alertName": "PEP hit"}}]}"#;
/// let event = &spektr::parse_batch(body)?.results[0];
/// assert_eq!((event.id.as_str(), event.spektr_id.as_str()), ("e1", "s1"));
/// match &event.data {
///     Payload::AlertResolved(alert) => assert_eq!(alert.alert_name, "PEP hit"),
///     other => println!("{} for {}", other.type_name(), event.spektr_id),
/// }
/// # Ok::<(), kyc_webhooks::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Event {
    /// The event's ID (`id`): the key to deduplicate retried deliveries on.
    pub id: EventId,
    /// The end-user (customer) the event is about (`spektrId`).
    pub spektr_id: SpektrId,
    /// The workspace (`workspaceId`); absent from the deprecated
    /// `customer_status_change`.
    pub workspace_id: Option<WorkspaceId>,
    /// When the event was created (`timestamp`, epoch milliseconds on the wire).
    pub timestamp: DateTime<Utc>,
    /// The `eventType` and its typed `data`.
    pub data: Payload,
    /// Top-level fields this version of the crate does not know, each kept as
    /// the text received.
    pub extra: Extra,
}

impl Event {
    /// An event with no workspace and no extra fields; the type is the
    /// payload's.
    ///
    /// ```
    /// use chrono::DateTime;
    /// use kyc_webhooks::spektr::{AlertResolved, Event, EventType, Payload};
    ///
    /// let alert = AlertResolved::new("ctx_1", "proc_1", "alert_1", "PEP hit");
    /// let at = DateTime::from_timestamp_millis(1752127706390).unwrap();
    /// let event = Event::new("evt_1", "cust_1", at, Payload::AlertResolved(alert))
    ///     .with_workspace_id("ws_1");
    /// assert_eq!(event.event_type(), Some(EventType::AlertResolved));
    /// ```
    pub fn new(
        id: impl Into<EventId>,
        spektr_id: impl Into<SpektrId>,
        timestamp: DateTime<Utc>,
        data: Payload,
    ) -> Self {
        Event {
            id: id.into(),
            spektr_id: spektr_id.into(),
            workspace_id: None,
            timestamp,
            data,
            extra: Extra::new(),
        }
    }

    /// Sets `workspace_id`.
    pub fn with_workspace_id(mut self, workspace_id: impl Into<WorkspaceId>) -> Self {
        self.workspace_id = Some(workspace_id.into());
        self
    }

    /// The documented type, or `None` for a type the crate does not know.
    pub fn event_type(&self) -> Option<EventType> {
        self.data.event_type()
    }

    /// The wire `eventType`, also for an unknown type.
    pub fn type_name(&self) -> &str {
        self.data.type_name()
    }
}

payloads! {
    provider: Provider::Spektr, type_key: "eventType";
    /// A documented Spektr event type (the wire `eventType`).
    ///
    /// The upper-case names in Spektr's table (`CUSTOMER_TAG_ADDED`, ...) are
    /// headings; these are the values sent.
    pub enum EventType;
    /// An event's `eventType` and `data` together: one variant per
    /// documented type, each with its typed data, and [`Payload::Other`]
    /// for a type the crate does not know. Deprecated types keep their
    /// variants: Spektr still documents them.
    pub enum Payload {
        /// `process_run_start`: a process started running.
        ProcessRunStart(ProcessRunStart) = "process_run_start",
        /// `loop_run_start`: a loop started running.
        LoopRunStart(LoopRunStart) = "loop_run_start",
        /// `process_run_end`: a process finished running.
        ProcessRunEnd(ProcessRunEnd) = "process_run_end",
        /// `service_run`: a service response was received.
        ServiceRun(ServiceRun) = "service_run",
        /// `alert_escalated`: an alert was created.
        AlertEscalated(AlertEscalated) = "alert_escalated",
        /// `alert_resolved`: an alert was resolved.
        AlertResolved(AlertResolved) = "alert_resolved",
        /// `customer_tag_add`: a tag was added to a customer (heading `CUSTOMER_TAG_ADDED`).
        CustomerTagAdd(CustomerTag) = "customer_tag_add",
        /// `customer_tag_remove`: a tag was removed from a customer (heading `CUSTOMER_TAG_REMOVED`).
        CustomerTagRemove(CustomerTag) = "customer_tag_remove",
        /// `customer_status_change`: a customer's status changed. Deprecated by
        /// Spektr in favour of `customer_status_changed` (`CustomerStatusChanged`),
        /// and still delivered.
        ///
        /// Not `#[deprecated]` in Rust: a receiver does not choose what Spektr
        /// sends, so it must match this variant, and a lint on it would only
        /// cost warnings (or an `allow`) in the arm that handles it.
        CustomerStatusChange(CustomerStatusChange) = "customer_status_change",
        /// `customer_status_changed`: a customer's status changed.
        CustomerStatusChanged(CustomerStatusChanged) = "customer_status_changed",
        /// `customer_duplicate_detection`: a customer was found to be a duplicate.
        CustomerDuplicateDetection(CustomerDuplicateDetection) = "customer_duplicate_detection",
        /// `customer_record_update`: a customer received an external update.
        /// Deprecated by Spektr in favour of `customer_record_changed`
        /// (`CustomerRecordChanged`), and still delivered; not `#[deprecated]` in
        /// Rust, like `CustomerStatusChange`.
        CustomerRecordUpdate(CustomerRecordUpdate) = "customer_record_update",
        /// `customer_record_changed`: a customer's record was updated.
        CustomerRecordChanged(CustomerRecordChanged) = "customer_record_changed",
        /// `ownership_ai_created`: a customer was created by AI discovery.
        OwnershipAiCreated(OwnershipAiCreated) = "ownership_ai_created",
        /// `ownership_ai_added_owner`: an owner was added to the connection graph by AI discovery.
        OwnershipAiAddedOwner(OwnershipAiAddedOwner) = "ownership_ai_added_owner",
        /// `client_record_sync`: a customer imported through a connector was synced.
        ClientRecordSync(ClientRecordSync) = "client_record_sync",
        /// `step_init`: a form was rendered in the skyhub form editor.
        StepInit(Step) = "step_init",
        /// `step_submit`: a form was submitted in the skyhub form editor.
        StepSubmit(Step) = "step_submit",
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Data<'a>(&'a Payload);
        impl Serialize for Data<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.0.serialize_data(serializer)
            }
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &self.id)?;
        if let Some(workspace_id) = &self.workspace_id {
            map.serialize_entry("workspaceId", workspace_id)?;
        }
        map.serialize_entry("eventType", self.type_name())?;
        map.serialize_entry("timestamp", &MillisRef(&self.timestamp))?;
        map.serialize_entry("spektrId", &self.spektr_id)?;
        map.serialize_entry("data", &Data(&self.data))?;
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
        f.write_str("a Spektr event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Event, A::Error> {
        // A failure leaves its path and the type read so far in the error path.
        let mut map = Fields::new(map);
        let mut id = None;
        let mut spektr_id = None;
        let mut workspace_id: Option<Option<WorkspaceId>> = None;
        let mut timestamp = None;
        let mut event_type: Option<(Key<'de>, Option<EventType>)> = None;
        let mut data = None;
        let mut extra = Extra::new();
        while let Some(key) = map.next_field()? {
            match key.as_str() {
                "id" => set_once(&mut id, "id", map.next_value::<EventId>()?)?,
                "spektrId" => set_once(&mut spektr_id, "spektrId", map.next_value::<SpektrId>()?)?,
                "workspaceId" => set_once(&mut workspace_id, "workspaceId", map.next_value()?)?,
                "timestamp" => {
                    set_once(&mut timestamp, "timestamp", map.next_value::<Millis>()?.0)?
                }
                "eventType" => {
                    let name = map.next_value::<Key<'de>>()?;
                    map.note_type(&name);
                    let known = EventType::from_wire(name.as_str());
                    set_once(&mut event_type, "eventType", (name, known))?;
                }
                "data" => {
                    // Typed at once when the type is known; an unknown type's
                    // data, or data before the type, is kept as its text.
                    let seed = match &event_type {
                        Some((_, Some(known))) => Some(DataSeed(*known)),
                        _ => None,
                    };
                    let slot = DataSlot::read(&mut map, seed)?;
                    set_once(&mut data, "data", slot)?;
                }
                _ => extra.read_entry(&mut map, key)?,
            }
        }
        let (name, known) = event_type.ok_or_else(|| de::Error::missing_field("eventType"))?;
        let data = data
            .ok_or_else(|| de::Error::missing_field("data"))?
            .finish(known.map(DataSeed), |raw| {
                Payload::Other(UnknownPayload::new(name.0.into_owned(), raw))
            })?;
        map.done();
        Ok(Event {
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            spektr_id: spektr_id.ok_or_else(|| de::Error::missing_field("spektrId"))?,
            workspace_id: workspace_id.flatten(),
            timestamp: timestamp.ok_or_else(|| de::Error::missing_field("timestamp"))?,
            data,
            extra: extra.finish()?,
        })
    }
}
