//! `flow.version.published`: a flow version went live.

use crate::wire::record::record;

record! {
    /// The data of `flow.version.published`: a Green flow version was promoted
    /// to Blue.
    pub struct FlowVersionPublished {
        required {
            /// The flow (`flowId`).
            flow_id: String = "flowId",
            /// The version now live (`publishedVersionId`).
            published_version_id: String = "publishedVersionId",
            /// Who published it (`publishedBy`).
            published_by: String = "publishedBy",
        }
        optional {
            /// The version that was live before (`previousBlueVersionId`); optional,
            /// since a flow's first publication has none.
            previous_blue_version_id: String = "previousBlueVersionId",
        }
    }
}
