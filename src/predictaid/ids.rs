//! The kinds of identifier PredictaID's reference documents, one type each,
//! used in every field that holds one (see `id_types!` for what each
//! offers).

use crate::wire::id::id_types;

id_types! {
    /// An event's unique ID (`id`, and the `X-PredictAid-Event-ID` header):
    /// deduplicate retried deliveries on it.
    EventId;
    /// A company, PredictaID's customer account (`companyId`).
    CompanyId;
    /// The object an event is about (`aggregateId`): a session, customer,
    /// flow or transaction id, as `aggregateType` says.
    AggregateId;
    /// A customer profile (`customerId`, `anonymousCustomerId`,
    /// `targetCustomerId`).
    CustomerId;
    /// A KYC flow (`flowId`).
    FlowId;
    /// A version of a flow (`flowVersionId`, `publishedVersionId`,
    /// `previousBlueVersionId`).
    FlowVersionId;
    /// A client application (`clientAppId`).
    ClientAppId;
    /// A KYT transaction (`transactionId`).
    TransactionId;
    /// A user who acted on the platform (`publishedBy`, `requestedBy`; the
    /// reference's samples hold user ids, `user_123`).
    UserId;
}
