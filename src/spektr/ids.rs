//! The kinds of identifier Spektr's reference documents, one type each, used
//! in every field that holds one (see `id_types!` for what each offers).

use crate::wire::id::id_types;

id_types! {
    /// An event's ID (`id`): the key to deduplicate retried deliveries on.
    EventId;
    /// An end-user (customer, client record) in Spektr: `spektrId`,
    /// `data.spektr_id`, `parentSpektrId`, and the fields the reference
    /// documents as holding a `spektrId`: `customerDuplicateData.newRecordId`
    /// and `oldRecordId`, and the ownership events' `parentId` and `childId`.
    SpektrId;
    /// A workspace (`workspaceId`).
    WorkspaceId;
    /// A process (`processId`, `parentProcessId`, `method.processId`).
    ProcessId;
    /// A run (execution) of a process (`contextId`).
    ContextId;
    /// A step of a process (`stepId`).
    StepId;
    /// An alert (`alertId`).
    AlertId;
    /// A user of the Spektr workspace (`userId`, `method.userId`).
    UserId;
    /// A tag (`tagId`).
    TagId;
    /// A dataset of customers (`datasetId`).
    DatasetId;
    /// A field of a customer's record (`changes[].fieldId`).
    FieldId;
}
