//! `client_record_sync`: a customer imported through a connector was synced.

use chrono::{DateTime, Utc};

use super::ids::*;
use crate::wire::record::record;

record! {
    /// The data of `client_record_sync`: a customer imported through a
    /// connector (e.g. HubSpot) was synced.
    pub struct ClientRecordSync {
        required {
            /// When the customer was synced (`lastSyncedAt`, epoch milliseconds on the wire).
            last_synced_at: DateTime<Utc> = "lastSyncedAt" as millis,
            /// The vendor used for the sync, e.g. `hubspot` (`vendor`).
            vendor: String = "vendor",
            /// The customer's object type at the vendor, e.g. `hubspot contacts` (`objectType`).
            object_type: String = "objectType",
        }
        optional {
            /// The customer's ID, repeated (`spektr_id`; in Spektr's sample only).
            spektr_id: SpektrId = "spektr_id",
        }
    }
}
