//! `customer.identified`: an anonymous customer was linked to a profile.

use super::ids::*;
use crate::wire::enums::open_enum;
use crate::wire::record::record;

open_enum! {
    /// How an anonymous customer was resolved (`resolutionType`).
    pub enum ResolutionType {
        /// `ANONYMOUS_LINKED`: linked to an identified customer profile.
        AnonymousLinked = "ANONYMOUS_LINKED",
    }
}

record! {
    /// The data of `customer.identified`: an anonymous customer record was
    /// resolved and linked to an identified customer profile.
    pub struct CustomerIdentified {
        required {
            /// The anonymous customer record (`anonymousCustomerId`).
            anonymous_customer_id: CustomerId = "anonymousCustomerId",
            /// The identified customer it was linked to (`targetCustomerId`).
            target_customer_id: CustomerId = "targetCustomerId",
            /// How it was resolved (`resolutionType`).
            resolution_type: ResolutionType = "resolutionType",
        }
        optional {}
    }
}
