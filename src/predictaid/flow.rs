//! `flow.version.published`: a flow version went live.

use super::ids::*;
use crate::wire::record::record;

record! {
    /// The data of `flow.version.published`: a Green flow version was promoted
    /// to Blue.
    pub struct FlowVersionPublished {
        required {
            /// The flow (`flowId`).
            flow_id: FlowId = "flowId",
            /// The version now live (`publishedVersionId`).
            published_version_id: FlowVersionId = "publishedVersionId",
            /// Who published it (`publishedBy`).
            published_by: UserId = "publishedBy",
        }
        optional {
            /// The version that was live before (`previousBlueVersionId`); optional,
            /// since a flow's first publication has none.
            previous_blue_version_id: FlowVersionId = "previousBlueVersionId",
        }
    }
}
