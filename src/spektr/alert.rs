//! Alert events: `alert_escalated`, `alert_resolved`.

use crate::wire::record::record;

record! {
    /// The data of an `alert_escalated` event: an alert was created.
    pub struct AlertEscalated {
        required {
            /// ID of the process run (`contextId`).
            context_id: String = "contextId",
            /// The type of alert, e.g. `manual_review` (`alertType`).
            alert_type: String = "alertType",
            /// Alert ID (`alertId`).
            alert_id: String = "alertId",
            /// Name of the alert (`alertName`).
            alert_name: String = "alertName",
            /// The dataset of the customer the alert pertains to (`datasetId`).
            dataset_id: String = "datasetId",
            /// The status of the alert, e.g. `open` (`status`).
            status: String = "status",
        }
        optional {
            /// ID of the process (`processId`; in the template, not the table).
            process_id: String = "processId",
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
            context_id: String = "contextId",
            /// ID of the process (`processId`).
            process_id: String = "processId",
            /// Alert ID (`alertId`).
            alert_id: String = "alertId",
            /// Name of the alert (`alertName`).
            alert_name: String = "alertName",
        }
        optional {
            /// The user who resolved the alert (`userId`; absent from Spektr's sample).
            user_id: String = "userId",
            /// Associated reference, if present (`reference`).
            reference: String = "reference",
        }
    }
}
