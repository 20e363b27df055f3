//! Realistic sample events of every documented type, for tests (feature
//! `testing`).
//!
//! Each function builds one event with the crate's constructors, with the
//! values of the providers' own samples (ids, names, statuses), so that a test
//! of a webhook handler needs no JSON file: serialize the event to get a body
//! the provider could have sent, or hand the typed event to the code under
//! test. [`spektr::sample`] and [`predictaid::sample`] give the sample of a
//! type chosen at run time, [`spektr::all`] and [`predictaid::all`] one of
//! each documented type.
//!
//! The values are fixed: two calls give equal events, so a test can compare
//! against them. Change a field on the returned value to vary it.
//!
//! ```
//! use kyc_webhooks::{predictaid, spektr, testing};
//!
//! // A Spektr delivery of two events, as Spektr would POST it.
//! let mut batch = kyc_webhooks::batch::Batch::from(vec![
//!     testing::spektr::process_run_end(),
//!     testing::spektr::customer_status_changed(),
//! ]);
//! batch.results[1].id = "686f58da3b9059f19eb2d0ff".into();
//! let body = serde_json::to_vec(&batch)?;
//! assert_eq!(spektr::parse_batch(&body)?, batch);
//!
//! // A signed PredictaID delivery.
//! let event = testing::predictaid::sample(predictaid::EventType::SessionCreated);
//! let body = serde_json::to_vec(&event)?;
//! # #[cfg(feature = "verify")] {
//! let signature = predictaid::sign(&body, b"whsec_test");
//! assert_eq!(predictaid::construct_event(&body, &signature, b"whsec_test")?, event);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use chrono::{DateTime, Utc};

use crate::RawJson;

/// A `RawJson` from a literal that is known to be valid JSON.
fn json(text: &str) -> RawJson {
    RawJson::from_json(text).expect("a sample's literal JSON is valid")
}

pub mod spektr {
    //! Sample Spektr events: one function per documented `eventType`
    //! (deprecated ones too), [`sample`] to pick one by type and [`all`] for
    //! one of each.
    //!
    //! Every event but the deprecated `customer_status_change` (which Spektr
    //! documents without it) has a `workspaceId`.

    use chrono::{DateTime, Utc};

    use super::json;
    use crate::spektr::*;

    /// The workspace of Spektr's samples.
    const WORKSPACE: &str = "559ae2249db800a7b0fa02ad58b196ae";

    /// An instant from epoch milliseconds (the wire form of `timestamp`).
    fn millis(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).expect("a sample's timestamp is in range")
    }

    /// An event of the sample workspace.
    fn event(id: &str, spektr_id: &str, ms: i64, data: Payload) -> Event {
        Event::new(id, spektr_id, millis(ms), data).with_workspace_id(WORKSPACE)
    }

    /// The sample event of `event_type`: the same as calling the function of
    /// that name.
    ///
    /// ```
    /// use kyc_webhooks::{spektr::EventType, testing};
    ///
    /// for &event_type in EventType::ALL {
    ///     assert_eq!(testing::spektr::sample(event_type).event_type(), Some(event_type));
    /// }
    /// ```
    pub fn sample(event_type: EventType) -> Event {
        match event_type {
            EventType::ProcessRunStart => process_run_start(),
            EventType::LoopRunStart => loop_run_start(),
            EventType::ProcessRunEnd => process_run_end(),
            EventType::ServiceRun => service_run(),
            EventType::AlertEscalated => alert_escalated(),
            EventType::AlertResolved => alert_resolved(),
            EventType::CustomerTagAdd => customer_tag_add(),
            EventType::CustomerTagRemove => customer_tag_remove(),
            EventType::CustomerStatusChange => customer_status_change(),
            EventType::CustomerStatusChanged => customer_status_changed(),
            EventType::CustomerDuplicateDetection => customer_duplicate_detection(),
            EventType::CustomerRecordUpdate => customer_record_update(),
            EventType::CustomerRecordChanged => customer_record_changed(),
            EventType::OwnershipAiCreated => ownership_ai_created(),
            EventType::OwnershipAiAddedOwner => ownership_ai_added_owner(),
            EventType::ClientRecordSync => client_record_sync(),
            EventType::StepInit => step_init(),
            EventType::StepSubmit => step_submit(),
        }
    }

    /// The sample of every documented type, in the order of
    /// [`EventType::ALL`] (Spektr's reference), as [`sample`] gives them.
    ///
    /// ```
    /// use kyc_webhooks::{spektr, testing};
    ///
    /// let batch = kyc_webhooks::batch::Batch::from(testing::spektr::all());
    /// let body = serde_json::to_vec(&batch)?;
    /// let decoded = spektr::parse_batch(&body)?;
    /// assert_eq!(decoded.results.len(), spektr::EventType::ALL.len());
    /// assert_eq!(decoded, batch);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn all() -> Vec<Event> {
        EventType::ALL.iter().map(|&ty| sample(ty)).collect()
    }

    /// `process_run_start`: an onboarding process started for a customer.
    pub fn process_run_start() -> Event {
        let mut data = ProcessRunStart::new(
            "onboarding",
            "KYB onboarding",
            "6863946a7addd2ed37a96af8",
            "686f589e1926bef99eda763e",
        );
        data.reference = Some("optional-reference".to_owned());
        event(
            "686f589e1926bef99eda7640",
            "686e28baebd46db5a35beccb",
            1752127646390,
            Payload::ProcessRunStart(data),
        )
    }

    /// `loop_run_start`: a loop (a form sent to the customer) started, with
    /// its form URL; `score` is an execution field, in `extra`.
    pub fn loop_run_start() -> Event {
        let token = "eyJpZCI6ImQ4NjFjYmJjMGI1YjVhMGZjZjIwMTkxMGNmOGFhOGMyIiwidG9rZW4iOiJiZTFjMTE3NDI3YjQ4NTdjMmExODQ2ZjU4YjljM2I0ZDI1ZjkxYmJmZjcyMWQ4YzNlNTVmZWNkZDc0ZDQ3ZTEyIn0=";
        let mut data = LoopRunStart::new(
            "onboarding",
            "test stringList startOnboarding",
            "686660b573833dea357e86f6",
            "6867b8db50ffa326d667ac60",
        );
        data.step_type = Some("form".to_owned());
        data.step_id = Some("686660b873833dea357e8702".into());
        data.token = Some(token.to_owned());
        data.spektr_id = Some("6867b8db50ffa326d667ac5f".into());
        data.loop_header = Some("Any header value".to_owned());
        data.loop_message = Some("Any loop message".to_owned());
        data.loop_url = Some(format!("https://actions.spektr.com/form?token={token}"));
        data.extra.insert("score", json("0"));
        event(
            "6867b8db50ffa326d667ac63",
            "6867b8db50ffa326d667ac5f",
            1751627995564,
            Payload::LoopRunStart(data),
        )
    }

    /// `process_run_end`: a process finished and approved the customer; the
    /// client-record fields (`company_name`, `vat_number`) are in `extra`.
    pub fn process_run_end() -> Event {
        let mut tag = Tag::new();
        tag.color = Some("rgba(255,0,0,1)".to_owned());
        tag.label = Some("high risk".to_owned());
        tag.icon = Some("Siren".to_owned());
        let mut data = ProcessRunEnd::new(
            "onboarding",
            "unknown",
            "KYB onboarding",
            "6863946a7addd2ed37a96af8",
            CustomerStatus::Approved,
            serde_json::Number::from(0),
            "686f589e1926bef99eda763e",
            vec![tag],
        );
        data.extra
            .insert("company_name", json(r#""Acme Trading Ltd""#));
        data.extra.insert("vat_number", json(r#""GB123456789""#));
        event(
            "686f58da3b9059f19eb2d066",
            "686e28baebd46db5a35beccb",
            1752127706390,
            Payload::ProcessRunEnd(data),
        )
    }

    /// `service_run`: ComplyAdvantage answered a KYC screening, with its
    /// mapped results in `vendorData`.
    pub fn service_run() -> Event {
        let vendor_data = json(
            r#"{"complyAdvantageKyc_has_sanctions":true,"complyAdvantageKyc_has_adverse_media":true,"complyAdvantageKyc_is_PEP":true,"complyAdvantageKyc_has_sanctions_hit_count":2,"complyAdvantageKyc_has_adverse_media_hit_count":15,"complyAdvantageKyc_is_PEP_hit_count":1,"complyAdvantageKyc_has_warnings":false,"complyAdvantageKyc_service_failure":false,"has_sanctions_unresolved_alerts":true}"#,
        );
        let data = ServiceRun::new(
            "complyAdvantageKyc",
            "complyAdvantageKyc",
            "689520965b9adf44780d2b6d",
            "6895df2c8ecdcab40a53e5c9",
            "6890970bb7a99f6e058e6254",
            "test customers",
            "onboarding",
            vendor_data,
        );
        event(
            "6895df57920b519635cd08ff",
            "6895df2c8ecdcab40a53e5c8",
            1754652503978,
            Payload::ServiceRun(data),
        )
    }

    /// `alert_escalated`: an open PEP alert for manual review.
    pub fn alert_escalated() -> Event {
        let mut data = AlertEscalated::new(
            "67eba5f9ce9a594e4519cc88",
            "manual_review",
            "67eba62500dd50ed396deb0c",
            "ComplyAdvantage PEP Alert",
            "67ea79350b4c07c041a50d00",
            "open",
        );
        data.process_id = Some("67ea79350b4c07c041a50db7".into());
        event(
            "685bee5fc7097fb20c2d0690",
            "6867939d9a16445cb538a881",
            1750855200000,
            Payload::AlertEscalated(data),
        )
    }

    /// `alert_resolved`: that alert resolved by an analyst.
    pub fn alert_resolved() -> Event {
        let mut data = AlertResolved::new(
            "67eba5f9ce9a594e4519cc88",
            "67ea79350b4c07c041a50db7",
            "67eba62500dd50ed396deb0c",
            "ComplyAdvantage PEP Alert",
        );
        data.user_id = Some("user_42".into());
        event(
            "685bee5fc7097fb20c2d0693",
            "6867939d9a16445cb538a881",
            1750855263822,
            Payload::AlertResolved(data),
        )
    }

    /// A tag change by a process.
    fn tag(action: TagAction) -> CustomerTag {
        let mut data = CustomerTag::new(action);
        data.tag_id = Some("tag_17".into());
        data.tag_name = Some("high risk".to_owned());
        data.process_id = Some("67ea79350b4c07c041a50db7".into());
        data
    }

    /// `customer_tag_add`: a process tagged the customer "high risk".
    pub fn customer_tag_add() -> Event {
        event(
            "6852bca704fe27794144fec3",
            "6867939d9a16445cb538a881",
            1750252711466,
            Payload::CustomerTagAdd(tag(TagAction::Add)),
        )
    }

    /// `customer_tag_remove`: that tag removed.
    pub fn customer_tag_remove() -> Event {
        event(
            "6852bca704fe27794144fec5",
            "6867939d9a16445cb538a881",
            1750252799001,
            Payload::CustomerTagRemove(tag(TagAction::Remove)),
        )
    }

    /// `customer_status_change` (deprecated by Spektr): a process approved
    /// the customer. Has no `workspaceId`, as Spektr documents it.
    pub fn customer_status_change() -> Event {
        let mut data = CustomerStatusChange::new(CustomerStatus::Approved, "Acme Trading Ltd");
        data.old_status = Some(CustomerStatus::Pending);
        data.process_id = Some("6863946a7addd2ed37a96af8".into());
        data.process_name = Some("KYB onboarding".to_owned());
        Event::new(
            "6879f8090e380801df2a3e90",
            "68777232009ac594ff34644f",
            millis(1752823817950),
            Payload::CustomerStatusChange(data),
        )
    }

    /// `customer_status_changed`: a process moved the customer from pending
    /// to approved.
    pub fn customer_status_changed() -> Event {
        let mut method = Method::new(MethodType::Process);
        method.process_id = Some("6863946a7addd2ed37a96af8".into());
        let mut data = CustomerStatusChanged::new(CustomerStatus::Approved, method);
        data.old_status = Some(CustomerStatus::Pending);
        data.spektr_id = Some("68777232009ac594ff34644f".into());
        event(
            "6879f8090e380801df2a3e92",
            "68777232009ac594ff34644f",
            1752823817954,
            Payload::CustomerStatusChanged(data),
        )
    }

    /// `customer_duplicate_detection`: a new record found to duplicate an
    /// older one.
    pub fn customer_duplicate_detection() -> Event {
        let mut records = CustomerDuplicateData::new();
        records.new_record_id = Some("68416db4aec0b0c8bd26d5fb".into());
        records.old_record_id = Some("686cc916dab2db293799a2c3".into());
        let mut data = CustomerDuplicateDetection::new(records);
        data.process_id = Some("67d1301295adc080b6a01719".into());
        data.context_id = Some("68416db4aec0b0c8bd26d5fc".into());
        data.spektr_id = Some("686cc916dab2db293799a2c3".into());
        event(
            "68416dd53ed4ba72512d7a70",
            "686cc916dab2db293799a2c3",
            1749118421121,
            Payload::CustomerDuplicateDetection(data),
        )
    }

    /// `customer_record_update` (deprecated by Spektr): the updated field
    /// (`first_name`) is in `extra`.
    pub fn customer_record_update() -> Event {
        let mut data = CustomerRecordUpdate::new();
        data.reference = Some("optional-reference".to_owned());
        data.extra.insert("first_name", json(r#""Jane""#));
        event(
            "6878e0ed4a0ed103aad25170",
            "6878df333cf39b7d3199f16e",
            1752752365000,
            Payload::CustomerRecordUpdate(data),
        )
    }

    /// `customer_record_changed`: two fields changed through the API, one
    /// of them empty before (`oldValue` absent).
    pub fn customer_record_changed() -> Event {
        let mut name = FieldChange::new("company_name");
        name.old_value = Some(json(r#""Acme Trading""#));
        name.new_value = Some(json(r#""Acme Trading Ltd""#));
        let mut vat = FieldChange::new("vat_number");
        vat.new_value = Some(json(r#""GB123456789""#));
        let data = CustomerRecordChanged::new(vec![name, vat], Method::new(MethodType::Api));
        event(
            "6878e0ed4a0ed103aad2517d",
            "6878df333cf39b7d3199f16e",
            1752752365392,
            Payload::CustomerRecordChanged(data),
        )
    }

    /// `ownership_ai_created`: AI discovery created a customer under a parent.
    pub fn ownership_ai_created() -> Event {
        let data = OwnershipAiCreated::new("6853e5c8ab3b749662feb39f", "6853e5c8ab3b749662feb3a0");
        event(
            "6853e5c8ab3b749662feb3a6",
            "6853e5c8ab3b749662feb3a0",
            1750328776922,
            Payload::OwnershipAiCreated(data),
        )
    }

    /// `ownership_ai_added_owner`: AI discovery added an owner to a customer.
    pub fn ownership_ai_added_owner() -> Event {
        let data =
            OwnershipAiAddedOwner::new("6810bfccc656e5f3e1594353", "680f4a0f0d9a0fe44154de02");
        event(
            "6810bfcdc656e5f3e1594362",
            "680f4a0f0d9a0fe44154de02",
            1745928141388,
            Payload::OwnershipAiAddedOwner(data),
        )
    }

    /// `client_record_sync`: a HubSpot contact synced.
    pub fn client_record_sync() -> Event {
        let mut data = ClientRecordSync::new(millis(1745996225915), "hubspot", "hubspot contacts");
        data.spektr_id = Some("6811c9318c21029ae05832bd".into());
        event(
            "6811c9c1516c28952cfb5fc3",
            "6811c9318c21029ae05832bd",
            1745996225926,
            Payload::ClientRecordSync(data),
        )
    }

    /// The form step of the samples' onboarding run.
    fn step() -> Step {
        let mut data = Step::new(
            "onboarding",
            "test stringList startOnboarding",
            "686660b573833dea357e86f6",
            "687782da2f8e4aaa7c857ddb",
            "686660b873833dea357e8702",
            "form",
        );
        data.token = Some("eyJpZCI6ImQ4NjFjYmJjMGI1YjVhMGZjZjIwMTkxMGNmOGFhOGMyIn0=".to_owned());
        data
    }

    /// `step_init`: a form was shown to the customer.
    pub fn step_init() -> Event {
        event(
            "687782e92f8e4aaa7c857e3c",
            "687782da2f8e4aaa7c857dda",
            1752662761594,
            Payload::StepInit(step()),
        )
    }

    /// `step_submit`: the customer submitted that form.
    pub fn step_submit() -> Event {
        event(
            "687782f12f8e4aaa7c857e51",
            "687782da2f8e4aaa7c857dda",
            1752662769120,
            Payload::StepSubmit(step()),
        )
    }
}

pub mod predictaid {
    //! Sample PredictaID events: one function per documented `type`,
    //! [`sample`] to pick one by type and [`all`] for one of each. All belong to company `comp_123`, as in
    //! PredictaID's reference.

    use crate::predictaid::*;

    /// The company of PredictaID's samples.
    const COMPANY: &str = "comp_123";

    /// An event of the sample company at `occurred_at` (RFC 3339).
    fn event(
        id: &str,
        occurred_at: &str,
        aggregate_type: AggregateType,
        aggregate_id: &str,
        data: Payload,
    ) -> Event {
        Event::new(
            id,
            super::rfc3339(occurred_at),
            COMPANY,
            aggregate_type,
            aggregate_id,
            data,
        )
    }

    /// The sample event of `event_type`: the same as calling the function of
    /// that name.
    ///
    /// ```
    /// use kyc_webhooks::{predictaid::EventType, testing};
    ///
    /// for &event_type in EventType::ALL {
    ///     assert_eq!(testing::predictaid::sample(event_type).event_type(), Some(event_type));
    /// }
    /// ```
    pub fn sample(event_type: EventType) -> Event {
        match event_type {
            EventType::SessionCreated => session_created(),
            EventType::SessionCompleted => session_completed(),
            EventType::CustomerIdentified => customer_identified(),
            EventType::FlowVersionPublished => flow_version_published(),
            EventType::KytTransactionQueued => kyt_transaction_queued(),
            EventType::KytTransactionReprocessRequested => kyt_transaction_reprocess_requested(),
            EventType::KytTransactionPipelineCompleted => kyt_transaction_pipeline_completed(),
            EventType::KytTransactionDeadLettered => kyt_transaction_dead_lettered(),
        }
    }

    /// The sample of every documented type, in the order of
    /// [`EventType::ALL`] (PredictaID's reference), as [`sample`] gives them.
    ///
    /// ```
    /// use kyc_webhooks::{predictaid, testing};
    ///
    /// for event in testing::predictaid::all() {
    ///     let body = serde_json::to_vec(&event)?;
    ///     assert_eq!(predictaid::parse(&body)?, event);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn all() -> Vec<Event> {
        EventType::ALL.iter().map(|&ty| sample(ty)).collect()
    }

    /// `session.created`: a pending KYC session for customer `cust_456`.
    pub fn session_created() -> Event {
        let data = SessionCreated::new(
            "cust_456",
            "flow_789",
            "ver_001",
            "app_123",
            SessionStatus::Pending,
        );
        event(
            "evt_203b878966105af9dd9a68b9",
            "2026-03-23T11:58:41.207Z",
            AggregateType::Session,
            "sess_123",
            Payload::SessionCreated(data),
        )
    }

    /// `session.completed`: that session completed.
    pub fn session_completed() -> Event {
        let mut data = SessionCompleted::new();
        data.customer_id = Some("cust_456".into());
        data.flow_id = Some("flow_789".into());
        data.flow_version_id = Some("ver_001".into());
        data.final_status = Some(SessionStatus::Completed);
        event(
            "evt_e7d99a8390d6152a793ebdcd",
            "2026-03-23T12:04:17.532Z",
            AggregateType::Session,
            "sess_123",
            Payload::SessionCompleted(data),
        )
    }

    /// `customer.identified`: an anonymous customer linked to `cust_456`.
    pub fn customer_identified() -> Event {
        let data =
            CustomerIdentified::new("cust_tmp_001", "cust_456", ResolutionType::AnonymousLinked);
        event(
            "evt_f3ed927f5a7f8e4c57b67180",
            "2026-03-23T12:04:18.019Z",
            AggregateType::Customer,
            "cust_456",
            Payload::CustomerIdentified(data),
        )
    }

    /// `flow.version.published`: version `ver_002` of a flow went live,
    /// replacing `ver_001`.
    pub fn flow_version_published() -> Event {
        let mut data = FlowVersionPublished::new("flow_789", "ver_002", "user_123");
        data.previous_blue_version_id = Some("ver_001".into());
        event(
            "evt_2543fa2356d20fb87e141e69",
            "2026-03-24T09:15:02.480Z",
            AggregateType::Flow,
            "flow_789",
            Payload::FlowVersionPublished(data),
        )
    }

    /// `kyt.transaction.queued`: transaction `txn_123` queued.
    pub fn kyt_transaction_queued() -> Event {
        let data = KytTransactionQueued::new("txn_123", TransactionStatus::Queued);
        event(
            "evt_9f80c6654957d053ae38eb41",
            "2026-03-25T14:30:00.114Z",
            AggregateType::KytTransaction,
            "txn_123",
            Payload::KytTransactionQueued(data),
        )
    }

    /// `kyt.transaction.reprocess.requested`: a user asked to reprocess it.
    pub fn kyt_transaction_reprocess_requested() -> Event {
        let data = KytTransactionReprocessRequested::new("txn_123", "user_123");
        event(
            "evt_539bb1e8520d7c12f7013582",
            "2026-03-25T14:42:09.871Z",
            AggregateType::KytTransaction,
            "txn_123",
            Payload::KytTransactionReprocessRequested(data),
        )
    }

    /// `kyt.transaction.pipeline.completed`: its pipeline finished with one
    /// alert.
    pub fn kyt_transaction_pipeline_completed() -> Event {
        let data =
            KytTransactionPipelineCompleted::new("txn_123", TransactionStatus::Completed, 1u64);
        event(
            "evt_7ee21a650a524de7ca39fb0e",
            "2026-03-25T14:42:11.306Z",
            AggregateType::KytTransaction,
            "txn_123",
            Payload::KytTransactionPipelineCompleted(data),
        )
    }

    /// `kyt.transaction.dead_lettered`: its processing failed.
    pub fn kyt_transaction_dead_lettered() -> Event {
        let data = KytTransactionDeadLettered::new("txn_123", "Pipeline processing failed");
        event(
            "evt_dfb7a70205d0ae05317f1769",
            "2026-03-25T14:31:27.650Z",
            AggregateType::KytTransaction,
            "txn_123",
            Payload::KytTransactionDeadLettered(data),
        )
    }
}

/// An instant from a literal RFC 3339 text.
fn rfc3339(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a sample's time is RFC 3339")
        .with_timezone(&Utc)
}
