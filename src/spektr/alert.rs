//! Alert events: `alert_escalated`, `alert_resolved`.

use super::ids::*;
use crate::wire::record::record;

record! {
    /// The data of an `alert_escalated` event: an alert was created.
    pub struct AlertEscalated {
        required {
            /// ID of the process run (`contextId`).
            context_id: ContextId = "contextId",
            /// The type of alert, e.g. `manual_review` (`alertType`).
            alert_type: String = "alertType",
            /// Alert ID (`alertId`).
            alert_id: AlertId = "alertId",
            /// Name of the alert (`alertName`).
            alert_name: String = "alertName",
            /// The dataset of the customer the alert pertains to (`datasetId`).
            dataset_id: DatasetId = "datasetId",
            /// The status of the alert, e.g. `open` (`status`).
            status: String = "status",
        }
        optional {
            /// ID of the process (`processId`; in the template, not the table).
            process_id: ProcessId = "processId",
            /// Associated reference, if present (`reference`).
            reference: String = "reference",
        }
    }
}

record! {
    /// The data of an `alert_resolved` event: an alert was resolved.
    pub struct AlertResolved {
        required {
            /// ID of the process run (`contextId`).
            context_id: ContextId = "contextId",
            /// ID of the process (`processId`).
            process_id: ProcessId = "processId",
            /// Alert ID (`alertId`).
            alert_id: AlertId = "alertId",
            /// Name of the alert (`alertName`).
            alert_name: String = "alertName",
        }
        optional {
            /// The user who resolved the alert (`userId`; absent from Spektr's sample).
            user_id: UserId = "userId",
            /// Associated reference, if present (`reference`).
            reference: String = "reference",
        }
    }
}
