//! Form steps of the skyhub form editor: `step_init`, `step_submit`.

use super::ids::*;
use crate::wire::record::record;

record! {
    /// The data of `step_init` (a form was rendered) and `step_submit` (a form
    /// was submitted) in the skyhub form editor.
    pub struct Step {
        required {
            /// Type of process, e.g. `onboarding` (`processType`).
            process_type: String = "processType",
            /// Name of the process (`processName`).
            process_name: String = "processName",
            /// ID of the process (`processId`).
            process_id: ProcessId = "processId",
            /// ID of the execution of the process (`contextId`).
            context_id: ContextId = "contextId",
            /// ID of the step (`stepId`).
            step_id: StepId = "stepId",
            /// Type of the step, `form` or `ownershipTreeForm` (`stepType`).
            step_type: String = "stepType",
        }
        optional {
            /// The token associated with this process run (`token`).
            token: String = "token",
            /// Value passed to the onboarding process through a query parameter (`reference`).
            reference: String = "reference",
        }
    }
}
