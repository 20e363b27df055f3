//! `service_run`: a response from a third-party service arrived.

use super::ids::*;
use crate::wire::record::record;
use crate::RawJson;

record! {
    /// The data of a `service_run` event: a service response was received.
    pub struct ServiceRun {
        required {
            /// Type of the vendor, e.g. `complyAdvantageKyc` (`vendorType`).
            vendor_type: String = "vendorType",
            /// Type of the step (`stepType`).
            step_type: String = "stepType",
            /// ID of the step (`stepId`).
            step_id: StepId = "stepId",
            /// ID of the process run (`contextId`).
            context_id: ContextId = "contextId",
            /// ID of the process (`processId`).
            process_id: ProcessId = "processId",
            /// Name of the process (`processName`).
            process_name: String = "processName",
            /// Type of process, e.g. `risk`, `monitoring`, `onboarding` (`processType`).
            process_type: String = "processType",
            /// The vendor's mapped results, a free-form object (`vendorData`),
            /// e.g. `"complyAdvantageKyc_has_sanctions": true`, kept as the text
            /// received: read one key with [`RawJson::get`], or the whole into
            /// your own struct with [`RawJson::parse`].
            vendor_data: RawJson = "vendorData" as object,
        }
        optional {
            /// Value passed to the onboarding process through a query parameter (`reference`).
            reference: String = "reference",
        }
    }
}
