//! KYT (know your transaction) events: `kyt.transaction.*`.

use super::ids::*;
use crate::wire::enums::open_enum;
use crate::wire::record::record;

open_enum! {
    /// The status of a KYT transaction (`status`).
    pub enum TransactionStatus {
        /// `QUEUED`
        Queued = "QUEUED",
        /// `COMPLETED`
        Completed = "COMPLETED",
    }
}

record! {
    /// The data of `kyt.transaction.queued`: a transaction was queued for
    /// pipeline processing.
    pub struct KytTransactionQueued {
        required {
            /// The transaction (`transactionId`).
            transaction_id: TransactionId = "transactionId",
            /// Its status, e.g. `QUEUED` (`status`).
            status: TransactionStatus = "status",
        }
        optional {}
    }
}

record! {
    /// The data of `kyt.transaction.reprocess.requested`: a transaction was
    /// submitted for reprocessing.
    pub struct KytTransactionReprocessRequested {
        required {
            /// The transaction (`transactionId`).
            transaction_id: TransactionId = "transactionId",
            /// Who asked for it (`requestedBy`).
            requested_by: UserId = "requestedBy",
        }
        optional {}
    }
}

record! {
    /// The data of `kyt.transaction.pipeline.completed`: pipeline processing
    /// finished for a transaction.
    pub struct KytTransactionPipelineCompleted {
        required {
            /// The transaction (`transactionId`).
            transaction_id: TransactionId = "transactionId",
            /// Its status, e.g. `COMPLETED` (`status`).
            status: TransactionStatus = "status",
            /// How many alerts the pipeline raised (`alertCount`).
            alert_count: u64 = "alertCount",
        }
        optional {}
    }
}

record! {
    /// The data of `kyt.transaction.dead_lettered`: a transaction could not be
    /// processed and was moved to dead-letter handling.
    pub struct KytTransactionDeadLettered {
        required {
            /// The transaction (`transactionId`).
            transaction_id: TransactionId = "transactionId",
            /// Why it failed (`reason`).
            reason: String = "reason",
        }
        optional {}
    }
}
