//! Process events: `process_run_start`, `loop_run_start`, `process_run_end`.

use serde_json::Number;

use super::ids::*;
use crate::spektr::CustomerStatus;
use crate::wire::record::record;

record! {
    /// The data of a `process_run_start` event: a process started running.
    pub struct ProcessRunStart {
        required {
            /// Type of process, e.g. `risk`, `monitoring`, `onboarding` (`processType`).
            process_type: String = "processType",
            /// Name of the process (`processName`).
            process_name: String = "processName",
            /// ID of the process (`processId`).
            process_id: ProcessId = "processId",
            /// ID of the run (`contextId`).
            context_id: ContextId = "contextId",
        }
        optional {
            /// The token associated with this process run (`token`).
            token: String = "token",
            /// Value passed to the onboarding process through a query parameter (`reference`).
            reference: String = "reference",
            /// Set when the process was triggered by another process (`parentProcessId`).
            parent_process_id: ProcessId = "parentProcessId",
            /// Set when the triggering process is linked to a UBO block (`parentSpektrId`).
            parent_spektr_id: SpektrId = "parentSpektrId",
        }
    }
}

record! {
    /// The data of a `loop_run_start` event: a loop started running.
    ///
    /// Beside the documented fields Spektr sends all execution-related data
    /// (form values, service-mapped values, scores, ...): those land in `extra`.
    pub struct LoopRunStart {
        required {
            /// Type of process, e.g. `risk`, `monitoring`, `onboarding` (`processType`).
            process_type: String = "processType",
            /// Name of the process (`processName`).
            process_name: String = "processName",
            /// ID of the process (`processId`).
            process_id: ProcessId = "processId",
            /// ID of the run (`contextId`).
            context_id: ContextId = "contextId",
        }
        optional {
            /// Type of the step that was initiated, e.g. `form` or `ownershipTreeForm` (`stepType`).
            step_type: String = "stepType",
            /// ID of the step that was initiated (`stepId`).
            step_id: StepId = "stepId",
            /// The token associated with this process run (`token`).
            token: String = "token",
            /// Value passed to the onboarding process through a query parameter (`reference`).
            reference: String = "reference",
            /// ID of the client related to this event (`spektr_id`).
            spektr_id: SpektrId = "spektr_id",
            /// Set when the process was triggered by another process (`parentProcessId`).
            parent_process_id: ProcessId = "parentProcessId",
            /// Set when the triggering process is linked to a UBO block (`parentSpektrId`).
            parent_spektr_id: SpektrId = "parentSpektrId",
            /// Header set in the loop settings (`loopHeader`).
            loop_header: String = "loopHeader",
            /// Message set in the loop settings (`loopMessage`).
            loop_message: String = "loopMessage",
            /// Form filling URL (`loopUrl`).
            loop_url: String = "loopUrl",
        }
    }
}

record! {
    /// The data of a `process_run_end` event: a process finished running.
    ///
    /// Beside the documented fields Spektr sends the client record and execution
    /// fields (`company_name`, `vat_number`, ...): those land in `extra`.
    pub struct ProcessRunEnd {
        required {
            /// Type of process, e.g. `onboarding` (`processType`).
            process_type: String = "processType",
            /// Output of the process, e.g. `unknown` (`processOutput`).
            process_output: String = "processOutput",
            /// Name of the process (`processName`).
            process_name: String = "processName",
            /// ID of the process (`processId`).
            process_id: ProcessId = "processId",
            /// The customer's status after the run (`customerStatus`).
            customer_status: CustomerStatus = "customerStatus",
            /// Score of the process run, or 0 (`score`). Kept as a JSON number so
            /// that `0` stays `0` and `12.5` stays `12.5`; use `as_f64`/`as_i64`.
            score: Number = "score",
            /// ID of the execution of the process (`contextId`).
            context_id: ContextId = "contextId",
            /// The customer's tags (`tags`).
            tags: Vec<Tag> = "tags" as list,
        }
        optional {
            /// Value passed to the onboarding process through a query parameter (`reference`).
            reference: String = "reference",
        }
    }
}

record! {
    /// A tag on a customer, as listed in `process_run_end`.
    pub struct Tag {
        required {}
        optional {
            /// Colour of the tag, e.g. `rgba(255,0,0,1)` (`color`).
            color: String = "color",
            /// Label of the tag (`label`).
            label: String = "label",
            /// Icon of the tag, e.g. `Siren` (`icon`).
            icon: String = "icon",
        }
    }
}
