//! Ownership AI events: `ownership_ai_created`, `ownership_ai_added_owner`.

use super::ids::*;
use crate::wire::record::record;

record! {
    /// The data of `ownership_ai_created`: a customer was created by AI discovery.
    pub struct OwnershipAiCreated {
        required {
            /// The ID of the parent customer (`parentId`).
            parent_id: SpektrId = "parentId",
            /// The ID of the end-user related to this event (`spektr_id`).
            spektr_id: SpektrId = "spektr_id",
        }
        optional {}
    }
}

record! {
    /// The data of `ownership_ai_added_owner`: an owner was added to the
    /// connection graph by AI discovery.
    pub struct OwnershipAiAddedOwner {
        required {
            /// The ID of the child customer that was discovered (`childId`).
            child_id: SpektrId = "childId",
            /// The ID of the end-user related to this event (`spektr_id`).
            spektr_id: SpektrId = "spektr_id",
        }
        optional {}
    }
}
