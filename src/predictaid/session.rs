//! Session events: `session.created`, `session.completed`.

use super::ids::*;
use crate::wire::enums::open_enum;
use crate::wire::record::record;

open_enum! {
    /// The status of a KYC session (`status`, `finalStatus`).
    pub enum SessionStatus {
        /// `PENDING`
        Pending = "PENDING",
        /// `COMPLETED`
        Completed = "COMPLETED",
    }
}

record! {
    /// The data of `session.created`: a new KYC session was created.
    pub struct SessionCreated {
        required {
            /// The customer the session is for (`customerId`).
            customer_id: CustomerId = "customerId",
            /// The flow the session runs (`flowId`).
            flow_id: FlowId = "flowId",
            /// The version of that flow (`flowVersionId`).
            flow_version_id: FlowVersionId = "flowVersionId",
            /// The client application that created the session (`clientAppId`).
            client_app_id: ClientAppId = "clientAppId",
            /// The session's status, e.g. `PENDING` (`status`).
            status: SessionStatus = "status",
        }
        optional {}
    }
}

record! {
    /// The data of `session.completed`: a KYC session was completed.
    ///
    /// Every field is optional: PredictaID's envelope example is a
    /// `session.completed` event with `"data": {}`.
    pub struct SessionCompleted {
        required {}
        optional {
            /// The customer the session was for (`customerId`).
            customer_id: CustomerId = "customerId",
            /// The flow the session ran (`flowId`).
            flow_id: FlowId = "flowId",
            /// The version of that flow (`flowVersionId`).
            flow_version_id: FlowVersionId = "flowVersionId",
            /// The session's final status, e.g. `COMPLETED` (`finalStatus`).
            final_status: SessionStatus = "finalStatus",
        }
    }
}
