//! The Spektr event: the common fields, the event type, and the typed data.

#![allow(deprecated)]

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::*;
use crate::wire::time::{Millis, MillisRef};
use crate::wire::{keep_unknown, set_once, DataSlot, Extra, Key};
use crate::Provider;

/// The fields every Spektr event has, around its `data`.
///
/// `D` is the typed data of a documented event type (see [`Event`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Envelope<D> {
    /// The event's ID (`id`): the key to deduplicate retried deliveries on.
    pub id: String,
    /// The end-user (customer) the event is about (`spektrId`).
    pub spektr_id: String,
    /// The workspace (`workspaceId`); absent from the deprecated
    /// `customer_status_change`.
    pub workspace_id: Option<String>,
    /// When the event was created (`timestamp`, epoch milliseconds on the wire).
    pub timestamp: DateTime<Utc>,
    /// The event's typed data (`data`).
    pub data: D,
    /// Top-level fields this version of the crate does not know, kept verbatim.
    pub extra: Extra,
}

impl<D> Envelope<D> {
    /// An envelope with no workspace and no extra fields.
    pub fn new(
        id: impl Into<String>,
        spektr_id: impl Into<String>,
        timestamp: DateTime<Utc>,
        data: D,
    ) -> Self {
        Envelope {
            id: id.into(),
            spektr_id: spektr_id.into(),
            workspace_id: None,
            timestamp,
            data,
            extra: Extra::new(),
        }
    }

    /// Sets `workspace_id`.
    pub fn with_workspace_id(mut self, workspace_id: impl Into<String>) -> Self {
        self.workspace_id = Some(workspace_id.into());
        self
    }

    /// Replaces the data, keeping the other fields.
    pub fn map_data<T>(self, f: impl FnOnce(D) -> T) -> Envelope<T> {
        Envelope {
            id: self.id,
            spektr_id: self.spektr_id,
            workspace_id: self.workspace_id,
            timestamp: self.timestamp,
            data: f(self.data),
            extra: self.extra,
        }
    }
}

/// An event whose `eventType` this version of the crate does not know, kept
/// whole: its type as sent, its common fields, and its `data` as free JSON.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UnknownEvent {
    /// The `eventType` as sent.
    pub event_type: String,
    /// The common fields, with `data` as any JSON value.
    pub envelope: Envelope<Value>,
}

impl UnknownEvent {
    /// An unknown event of type `event_type`.
    pub fn new(event_type: impl Into<String>, envelope: Envelope<Value>) -> Self {
        UnknownEvent {
            event_type: event_type.into(),
            envelope,
        }
    }
}

/// Defines `EventType`, `Event` and the dispatch between them from one list.
macro_rules! events {
    ( $( $(#[$attr:meta])* $variant:ident($data:ty) = $wire:literal, )+ ) => {
        crate::wire::event_type::event_type_enum! {
            Provider::Spektr;
            /// A documented Spektr event type (the wire `eventType`).
            ///
            /// The upper-case names in Spektr's table (`CUSTOMER_TAG_ADDED`, ...) are
            /// headings; these are the values sent.
            pub enum EventType { $( $(#[$attr])* $variant = $wire, )+ }
        }

        /// A Spektr webhook event, one variant per documented `eventType`.
        ///
        /// Each variant holds the common fields and the typed `data`; an
        /// `eventType` the crate does not know becomes [`Event::Other`], whole.
        /// Variants are boxed, so an `Event` is two words and a batch's vector
        /// stays small; fields read through the box (`run.data.score`).
        /// Deprecated types keep their variants: Spektr still documents them.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum Event {
            $( $(#[$attr])* $variant(Box<Envelope<$data>>), )+
            /// An event type this version of the crate does not know.
            Other(Box<UnknownEvent>),
        }

        /// The typed `data` of a known type, or any JSON for an unknown one.
        enum Data {
            $( $variant($data), )+
            Unknown(Value),
        }

        impl Data {
            fn into_event(self, common: Envelope<()>, event_type: Key<'_>) -> Event {
                match self {
                    $( Data::$variant(data) => Event::$variant(Box::new(common.map_data(|()| data))), )+
                    Data::Unknown(data) => Event::Other(Box::new(UnknownEvent {
                        event_type: event_type.0.into_owned(),
                        envelope: common.map_data(|()| data),
                    })),
                }
            }
        }

        /// Reads `data` for a known type (or as free JSON for an unknown one).
        struct DataSeed(Option<EventType>);

        impl<'de> DeserializeSeed<'de> for DataSeed {
            type Value = Data;
            fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Data, D::Error> {
                Ok(match self.0 {
                    $( Some(EventType::$variant) => Data::$variant(<$data>::deserialize(deserializer)?), )+
                    None => Data::Unknown(Value::deserialize(deserializer)?),
                })
            }
        }

        impl Event {
            /// The fields every event has, whatever its type.
            fn common(&self) -> Common<'_> {
                match self {
                    $( Event::$variant(e) => Common::of(&**e), )+
                    Event::Other(e) => Common::of(&e.envelope),
                }
            }

            /// The documented type, or `None` for [`Event::Other`].
            pub fn event_type(&self) -> Option<EventType> {
                match self {
                    $( Event::$variant(_) => Some(EventType::$variant), )+
                    Event::Other(_) => None,
                }
            }
        }

        impl Serialize for Event {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( Event::$variant(e) => serialize_event($wire, &**e, serializer), )+
                    Event::Other(e) => serialize_event(&e.event_type, &e.envelope, serializer),
                }
            }
        }
    };
}

events! {
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
    /// `customer_status_change` (deprecated): a customer's status changed.
    #[deprecated(note = "Spektr deprecated `customer_status_change`; use `customer_status_changed` (`CustomerStatusChanged`)")]
    CustomerStatusChange(CustomerStatusChange) = "customer_status_change",
    /// `customer_status_changed`: a customer's status changed.
    CustomerStatusChanged(CustomerStatusChanged) = "customer_status_changed",
    /// `customer_duplicate_detection`: a customer was found to be a duplicate.
    CustomerDuplicateDetection(CustomerDuplicateDetection) = "customer_duplicate_detection",
    /// `customer_record_update` (deprecated): a customer received an external update.
    #[deprecated(note = "Spektr deprecated `customer_record_update`; use `customer_record_changed` (`CustomerRecordChanged`)")]
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

/// Borrowed common fields of any variant.
struct Common<'a> {
    id: &'a str,
    spektr_id: &'a str,
    workspace_id: Option<&'a str>,
    timestamp: DateTime<Utc>,
    extra: &'a Extra,
}

impl<'a> Common<'a> {
    fn of<D>(envelope: &'a Envelope<D>) -> Self {
        Common {
            id: &envelope.id,
            spektr_id: &envelope.spektr_id,
            workspace_id: envelope.workspace_id.as_deref(),
            timestamp: envelope.timestamp,
            extra: &envelope.extra,
        }
    }
}

impl Event {
    /// The event's ID (`id`): deduplicate retried deliveries on it.
    pub fn id(&self) -> &str {
        self.common().id
    }

    /// The end-user (customer) the event is about (`spektrId`).
    pub fn spektr_id(&self) -> &str {
        self.common().spektr_id
    }

    /// The workspace (`workspaceId`), when sent.
    pub fn workspace_id(&self) -> Option<&str> {
        self.common().workspace_id
    }

    /// When the event was created (`timestamp`).
    pub fn timestamp(&self) -> DateTime<Utc> {
        self.common().timestamp
    }

    /// The wire `eventType`, also for an unknown type.
    pub fn type_name(&self) -> &str {
        match self {
            Event::Other(e) => &e.event_type,
            known => known.event_type().map_or("", EventType::as_str),
        }
    }

    /// Top-level fields this version of the crate does not know.
    pub fn extra(&self) -> &Extra {
        self.common().extra
    }
}

fn serialize_event<D: Serialize, S: Serializer>(
    event_type: &str,
    envelope: &Envelope<D>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry("id", &envelope.id)?;
    if let Some(workspace_id) = &envelope.workspace_id {
        map.serialize_entry("workspaceId", workspace_id)?;
    }
    map.serialize_entry("eventType", event_type)?;
    map.serialize_entry("timestamp", &MillisRef(&envelope.timestamp))?;
    map.serialize_entry("spektrId", &envelope.spektr_id)?;
    map.serialize_entry("data", &envelope.data)?;
    for (key, value) in &envelope.extra {
        map.serialize_entry(key, value)?;
    }
    map.end()
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

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut id = None;
        let mut spektr_id = None;
        let mut workspace_id: Option<Option<String>> = None;
        let mut timestamp = None;
        let mut event_type: Option<(Key<'de>, Option<EventType>)> = None;
        let mut data = None;
        let mut extra = Extra::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "id" => set_once(&mut id, "id", map.next_value::<String>()?)?,
                "spektrId" => set_once(&mut spektr_id, "spektrId", map.next_value::<String>()?)?,
                "workspaceId" => set_once(&mut workspace_id, "workspaceId", map.next_value()?)?,
                "timestamp" => {
                    set_once(&mut timestamp, "timestamp", map.next_value::<Millis>()?.0)?
                }
                "eventType" => {
                    let name = map.next_value::<Key<'de>>()?;
                    let known = EventType::from_wire(name.as_str());
                    set_once(&mut event_type, "eventType", (name, known))?;
                }
                "data" => {
                    let seed = event_type.as_ref().map(|(_, known)| DataSeed(*known));
                    let slot = DataSlot::read(&mut map, seed)?;
                    set_once(&mut data, "data", slot)?;
                }
                _ => keep_unknown(&mut map, &mut extra, key)?,
            }
        }
        let (name, known) = event_type.ok_or_else(|| de::Error::missing_field("eventType"))?;
        let data = data
            .ok_or_else(|| de::Error::missing_field("data"))?
            .finish(DataSeed(known))?;
        let common = Envelope {
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            spektr_id: spektr_id.ok_or_else(|| de::Error::missing_field("spektrId"))?,
            workspace_id: workspace_id.flatten(),
            timestamp: timestamp.ok_or_else(|| de::Error::missing_field("timestamp"))?,
            data: (),
            extra,
        };
        Ok(data.into_event(common, name))
    }
}
