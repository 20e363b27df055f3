//! Customer events: tags, status changes, duplicates and record changes.

use crate::RawJson;

use super::ids::*;
use crate::wire::enums::open_enum;
use crate::wire::record::record;

open_enum! {
    /// A customer's status in Spektr.
    pub enum CustomerStatus {
        /// `pending`
        Pending = "pending",
        /// `approved`
        Approved = "approved",
        /// `rejected`
        Rejected = "rejected",
        /// `archived`
        Archived = "archived",
    }
}

open_enum! {
    /// What happened to a tag (`action` of `customer_tag_add`/`customer_tag_remove`).
    pub enum TagAction {
        /// `add`
        Add = "add",
        /// `remove`
        Remove = "remove",
    }
}

open_enum! {
    /// What made a change (`method.type`).
    pub enum MethodType {
        /// `process`: a process node.
        Process = "process",
        /// `user`: a user, by hand.
        User = "user",
        /// `api`: a call to Spektr's API.
        Api = "api",
    }
}

record! {
    /// The data of `customer_tag_add` and `customer_tag_remove`: a tag was added
    /// to or removed from a customer, by a process or a user.
    pub struct CustomerTag {
        required {
            /// Whether the tag was added or removed (`action`).
            action: TagAction = "action",
        }
        optional {
            /// Tag ID (`tagId`; documented, but absent from Spektr's own sample).
            tag_id: TagId = "tagId",
            /// Tag name, if present (`tagName`).
            tag_name: String = "tagName",
            /// The user who added or removed the tag; may be null (`userId`).
            user_id: UserId = "userId",
            /// The process that added or removed the tag; may be null (`processId`).
            process_id: ProcessId = "processId",
            /// Associated reference, if present (`reference`).
            reference: String = "reference",
        }
    }
}

record! {
    /// The data of the `customer_status_change` event, which Spektr has
    /// deprecated in favour of `customer_status_changed`
    /// ([`CustomerStatusChanged`]) but still delivers.
    ///
    /// Not `#[deprecated]`: a receiver cannot choose the type Spektr sends, so
    /// it must handle this one without warnings (see
    /// [`Payload::CustomerStatusChange`](crate::spektr::Payload::CustomerStatusChange)).
    pub struct CustomerStatusChange {
        required {
            /// Status after the change (`newStatus`).
            new_status: CustomerStatus = "newStatus",
            /// Name of the end-user, individual or corporation (`customerName`).
            customer_name: String = "customerName",
        }
        optional {
            /// Status before the change (`oldStatus`; none for a customer's
            /// first status).
            old_status: CustomerStatus = "oldStatus",
            /// The user who changed the status, if a user did (`userId`).
            user_id: UserId = "userId",
            /// The process that changed the status, if a process did (`processId`).
            process_id: ProcessId = "processId",
            /// Name of that process (`processName`).
            process_name: String = "processName",
        }
    }
}

record! {
    /// How a change was made (`method`).
    pub struct Method {
        required {
            /// The source of the change (`type`).
            method_type: MethodType = "type",
        }
        optional {
            /// The process that made the change, when `type` is `process` (`processId`).
            process_id: ProcessId = "processId",
            /// The user who made the change, when `type` is `user` (`userId`).
            user_id: UserId = "userId",
        }
    }
}

record! {
    /// The data of `customer_status_changed`: a customer's status changed
    /// through a status node or by hand.
    pub struct CustomerStatusChanged {
        required {
            /// Status after the change (`newStatus`).
            new_status: CustomerStatus = "newStatus",
            /// What made the change (`method`).
            method: Method = "method",
        }
        optional {
            /// Status before the change (`oldStatus`; none for a customer's
            /// first status).
            old_status: CustomerStatus = "oldStatus",
            /// The customer's ID, repeated (`spektr_id`; in Spektr's sample only).
            spektr_id: SpektrId = "spektr_id",
        }
    }
}

record! {
    /// The data of `customer_duplicate_detection`: a customer was found to be a
    /// duplicate.
    pub struct CustomerDuplicateDetection {
        required {
            /// The records involved (`customerDuplicateData`).
            customer_duplicate_data: CustomerDuplicateData = "customerDuplicateData",
        }
        optional {
            /// ID of the process (`processId`).
            process_id: ProcessId = "processId",
            /// ID of the execution context (`contextId`).
            context_id: ContextId = "contextId",
            /// Associated reference, if present (`reference`).
            reference: String = "reference",
            /// Related customer ID, if present (`spektr_id`).
            spektr_id: SpektrId = "spektr_id",
        }
    }
}

record! {
    /// The two records of a duplicate detection (`customerDuplicateData`).
    pub struct CustomerDuplicateData {
        required {}
        optional {
            /// The `spektrId` of the new record (`newRecordId`).
            new_record_id: SpektrId = "newRecordId",
            /// The `spektrId` of the old record (`oldRecordId`).
            old_record_id: SpektrId = "oldRecordId",
        }
    }
}

record! {
    /// The data of the `customer_record_update` event, which Spektr has
    /// deprecated in favour of `customer_record_changed`
    /// ([`CustomerRecordChanged`]) but still delivers: the updated fields
    /// themselves, which land in `extra`.
    ///
    /// Not `#[deprecated]`, like [`CustomerStatusChange`].
    pub struct CustomerRecordUpdate {
        required {}
        optional {
            /// Associated reference, if present (`reference`).
            reference: String = "reference",
        }
    }
}

record! {
    /// The data of `customer_record_changed`: a customer's record was updated.
    pub struct CustomerRecordChanged {
        required {
            /// The fields that changed (`changes`).
            changes: Vec<FieldChange> = "changes" as list,
            /// What made the change (`method`).
            method: Method = "method",
        }
        optional {
            /// Associated reference, if present (`reference`).
            reference: String = "reference",
        }
    }
}

record! {
    /// One changed field of `customer_record_changed` (`changes[]`).
    ///
    /// The values are free-form JSON, and `null` is data: `old_value` is
    /// `Some` of a `null` ([`RawJson::is_null`]) when the field was empty before, `None` when Spektr
    /// did not send `oldValue` at all.
    pub struct FieldChange {
        required {
            /// The ID of the field that changed (`fieldId`).
            field_id: FieldId = "fieldId",
        }
        optional {
            /// The field's value before the change (`oldValue`).
            old_value: RawJson = "oldValue" as keep_null,
            /// The field's value after the change (`newValue`).
            new_value: RawJson = "newValue" as keep_null,
        }
    }
}
