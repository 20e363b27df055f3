//! A durable inbox for [`kyc_webhooks`] deliveries: every delivered event
//! stored once, on SQLite or PostgreSQL, then handled once across replicas.
//!
//! Open an inbox by URL (`sqlite://PATH`, the embedded default, or
//! `postgres://...`, shared by any number of receivers and workers); the
//! schema's migrations are applied on open. Hand it each delivery; answer the
//! provider 2xx only when the call returned `Ok` (the events are committed by
//! then), else the status [`Error::status`] gives (with the feature `axum`,
//! the [`Error`] itself is the answer), so that it retries.
//!
//! # From your own axum handler
//!
//! With the cargo feature `axum` (the inbox's [`Error`] is then an axum
//! `IntoResponse`):
//!
//! ```no_run
//! # #[cfg(feature = "axum")] mod example {
//! use axum::{body::Bytes, extract::{DefaultBodyLimit, State}, http::HeaderMap};
//! use kyc_webhooks::predictaid::{Secrets, EVENT_ID_HEADER, SIGNATURE_HEADER};
//! use kyc_webhooks_inbox::{Error, Inbox};
//!
//! #[derive(Clone)]
//! struct App {
//!     inbox: Inbox,
//!     secrets: Secrets,
//! }
//!
//! async fn spektr(State(app): State<App>, body: Bytes) -> Result<&'static str, Error> {
//!     app.inbox.ingest_spektr(body).await?; // committed
//!     Ok("stored\n")
//! }
//!
//! async fn predictaid(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Result<&'static str, Error> {
//!     let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
//!     let (signature, event_id) = (header(SIGNATURE_HEADER), header(EVENT_ID_HEADER));
//!     app.inbox.ingest_predictaid(&app.secrets, body, signature, event_id).await?;
//!     Ok("stored\n")
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let app = App {
//!     inbox: Inbox::open("sqlite://webhooks.db").await?,
//!     // An unset or blank secret is an error here, at start.
//!     secrets: Secrets::try_new([std::env::var("PREDICTAID_WEBHOOK_SECRET")?])?,
//! };
//! let router: axum::Router = axum::Router::new()
//!     // axum's default body limit, 2 MB, is too small for a Spektr batch.
//!     .route("/webhooks/spektr", axum::routing::post(spektr).layer(DefaultBodyLimit::max(16 << 20)))
//!     .route("/webhooks/predictaid", axum::routing::post(predictaid).layer(DefaultBodyLimit::max(256 << 10)))
//!     .with_state(app);
//! # let _ = router; Ok(()) }
//! # }
//! # fn main() {}
//! ```
//!
//! `examples/axum_app.rs` (the README's program) is complete: serving, the
//! workers, their shutdown.
//!
//! # Or run the receiver binary
//!
//! ```text
//! PREDICTAID_WEBHOOK_SECRET=whsec_... kyc-webhooks-receiver \
//!     --addr 127.0.0.1:3000 --database sqlite://webhooks.db --workers 2
//! ```
//!
//! # The handler
//!
//! One function, run by any number of workers in any process sharing the
//! database. An `Err` is retried with backoff, then parked
//! ([`Inbox::parked`], [`Inbox::requeue`]).
//!
//! ```no_run
//! use kyc_webhooks_inbox::{Delivered, Handler, Inbox, InboxEvent, WorkerOptions};
//!
//! async fn on_event(delivered: Delivered) -> Result<(), String> {
//!     match delivered.event {
//!         InboxEvent::Spektr(event) => println!("Spektr {}", event.type_name()),
//!         InboxEvent::PredictaId(event) => println!("PredictaID {}", event.type_name()),
//!     }
//!     Ok(())
//! }
//!
//! # async fn run() -> Result<(), kyc_webhooks_inbox::Error> {
//! let inbox = Inbox::open("postgres://app@db.internal/app").await?;
//! let workers = inbox.run_workers(WorkerOptions::default(), Handler::new(on_event));
//! // ... until shutdown:
//! workers.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Cargo features
//!
//! - `sqlite` (on by default): `sqlite://PATH` inboxes (rusqlite, with the
//!   SQLite library bundled).
//! - `postgres`: `postgres://...` inboxes (tokio-postgres, TLS through
//!   rustls). [`Inbox::open`] refuses a URL whose driver the build lacks,
//!   naming the feature.
//! - `receiver` (off by default): the HTTP receiver, the `receiver` module (`serve`
//!   and its `Config`), and the `kyc-webhooks-receiver` binary, with what
//!   only they need (clap, tracing-subscriber, hyper, tower). Install the
//!   binary with `cargo install kyc-webhooks-inbox --locked --features receiver`.
// A build with neither database (no cargo feature `sqlite` nor `postgres`)
// compiles, for `--no-default-features` checks, but cannot open an inbox:
// the code past the backend dispatch is unreachable there.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(unused, unreachable_code, clippy::let_unit_value)
)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The core crate, [`kyc_webhooks`], re-exported so that one dependency on
/// this crate names both: `kyc_webhooks_inbox::kyc_webhooks::spektr::Event`.
pub use kyc_webhooks;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kyc_webhooks::predictaid::Secrets;
use tokio::sync::Notify;

mod decode;
mod error;
mod ingest;
pub mod metrics;
pub mod retention;
pub use retention::{Pruned, RetentionPolicy};
#[cfg(feature = "receiver")]
#[cfg_attr(docsrs, doc(cfg(feature = "receiver")))]
pub mod receiver;
mod recover;
mod store;
mod worker;

pub use error::{Error, Result};
pub use ingest::{MAX_DEAD_LETTERS_PER_DELIVERY, MAX_ERROR_LEN, MAX_ID_LEN};
#[allow(deprecated)]
pub use worker::Event;
pub use worker::{Decision, Delivered, Handled, Handler, InboxEvent, WorkerOptions, Workers};

use store::{Backend, Row, MAX_ROWS_PER_COMMIT};

/// The provider an event came from (the `provider` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Spektr (`spektr`).
    Spektr,
    /// PredictaID (`predictaid`).
    PredictaId,
}

impl Provider {
    /// Every provider, in the order the inbox reports them.
    pub const ALL: [Provider; 2] = [Provider::Spektr, Provider::PredictaId];

    /// The name stored in the `provider` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Spektr => "spektr",
            Provider::PredictaId => "predictaid",
        }
    }

    fn from_column(text: &str) -> Provider {
        if text == "predictaid" {
            Provider::PredictaId
        } else {
            Provider::Spektr
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a stored event is in its handling (the `state` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting for a worker (maybe after a failed run, until `run_after`).
    Pending,
    /// Held by a worker under a lease (until `lease_until`).
    Running,
    /// Handled.
    Done,
    /// Out of attempts; kept with its last error until re-queued.
    Parked,
}

impl State {
    /// Every state, in the order of an event's life.
    pub const ALL: [State; 4] = [State::Pending, State::Running, State::Done, State::Parked];

    /// The name stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Done => "done",
            State::Parked => "parked",
        }
    }

    fn from_column(text: &str) -> State {
        match text {
            "running" => State::Running,
            "done" => State::Done,
            "parked" => State::Parked,
            _ => State::Pending,
        }
    }
}

/// A stored event (a row of `inbox_events`).
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// Its provider.
    pub provider: Provider,
    /// The event's own id (unique per provider).
    pub event_id: String,
    /// Its type name (`eventType` / `type`).
    pub event_type: String,
    /// `spektrId` (Spektr) or `aggregateId` (PredictaID): events of one
    /// subject are handled in order, one at a time.
    pub subject: String,
    /// The event's own timestamp.
    pub occurred_at: DateTime<Utc>,
    /// When it was first stored.
    pub received_at: DateTime<Utc>,
    /// Where it is in its handling.
    pub state: State,
    /// Handler runs started so far.
    pub attempts: u32,
    /// The last failed run's error, bounded to [`MAX_ERROR_LEN`] bytes.
    pub last_error: Option<String>,
    /// The event's text exactly as received: its slice of a Spektr batch, or
    /// the whole signed PredictaID body.
    pub body: String,
    /// Whether its delivery was authenticated: always for PredictaID (its
    /// signature was verified); for Spektr, which signs nothing, when it came
    /// through [`Inbox::ingest_spektr_authenticated`] (the receiver's secret
    /// Spektr URL).
    pub authenticated: bool,
}

/// Something that could not be stored as an event (a row of `inbox_dead_letters`).
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Its provider.
    pub provider: Provider,
    /// SHA-256 of `body`, in hex: a dead letter is stored once per content.
    pub content_sha256: String,
    /// Its index in the Spektr batch, when it came from one.
    pub batch_index: Option<u64>,
    /// Why it was not stored as an event, bounded to [`MAX_ERROR_LEN`] bytes.
    pub error: String,
    /// Its bytes exactly as received (not necessarily UTF-8).
    pub body: Vec<u8>,
    /// When it was first stored.
    pub received_at: DateTime<Utc>,
}

/// How many events are in each state, and how many dead letters are stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Waiting for a worker.
    pub pending: u64,
    /// Held by a worker.
    pub running: u64,
    /// Handled.
    pub done: u64,
    /// Out of attempts.
    pub parked: u64,
    /// Rows of `inbox_dead_letters`.
    pub dead_letters: u64,
    /// Events by provider, type and state, in that order (states with no
    /// event left out).
    pub by_type: Vec<TypeCount>,
}

/// What the inbox holds, read cheaply enough to be read on every metrics
/// scrape ([`Inbox::depth`]): tallies the database keeps current as events
/// are stored and move (a handful of rows, never a scan of the events), and
/// one index lookup per provider for the backlog's age.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Depth {
    /// Events by provider and state: every provider with every state, in the
    /// order of [`Provider::ALL`] then [`State::ALL`] (0 where none).
    pub events: Vec<(Provider, State, u64)>,
    /// Dead letters by provider, in the order of [`Provider::ALL`].
    pub dead_letters: Vec<(Provider, u64)>,
    /// When each provider's oldest pending event was received (`None`: none
    /// pending), in the order of [`Provider::ALL`]. Events waiting for a
    /// retry are pending too.
    pub oldest_pending: Vec<(Provider, Option<DateTime<Utc>>)>,
}

impl Depth {
    /// The events of `provider` in `state`.
    pub fn events(&self, provider: Provider, state: State) -> u64 {
        self.events
            .iter()
            .find(|(p, s, _)| *p == provider && *s == state)
            .map_or(0, |e| e.2)
    }

    /// How long `provider`'s oldest pending event has waited at `now` (zero
    /// when none is pending).
    pub fn oldest_pending_age(&self, provider: Provider, now: DateTime<Utc>) -> Duration {
        self.oldest_pending
            .iter()
            .find(|(p, _)| *p == provider)
            .and_then(|(_, at)| *at)
            .and_then(|at| (now - at).to_std().ok())
            .unwrap_or_default()
    }

    fn from_raw(raw: store::RawDepth) -> Depth {
        let tally = |provider: Provider, name: &str| {
            raw.tallies
                .iter()
                .filter(|(p, t, _)| p == provider.as_str() && t == name)
                .map(|t| t.2.max(0) as u64)
                .sum::<u64>()
        };
        Depth {
            events: Provider::ALL
                .iter()
                .flat_map(|&p| State::ALL.iter().map(move |&s| (p, s)))
                .map(|(p, s)| (p, s, tally(p, s.as_str())))
                .collect(),
            dead_letters: Provider::ALL
                .iter()
                .map(|&p| (p, tally(p, "dead_letters")))
                .collect(),
            oldest_pending: raw.oldest_pending,
        }
    }
}

/// How many events of one provider and type are in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeCount {
    /// The provider.
    pub provider: Provider,
    /// The event type (`eventType` / `type`), as sent.
    pub event_type: String,
    /// The state.
    pub state: State,
    /// How many.
    pub count: u64,
}

impl Counts {
    /// Adds a row of `SELECT provider, event_type, state, COUNT(*) ... GROUP
    /// BY provider, event_type, state`.
    fn add_row(&mut self, provider: &str, event_type: String, state: &str, n: i64) {
        let count = n.max(0) as u64;
        let state = State::from_column(state);
        self.add(state, count);
        self.by_type.push(TypeCount {
            provider: Provider::from_column(provider),
            event_type,
            state,
            count,
        });
    }

    fn add(&mut self, state: State, n: u64) {
        match state {
            State::Pending => self.pending += n,
            State::Running => self.running += n,
            State::Done => self.done += n,
            State::Parked => self.parked += n,
        }
    }

    /// Events stored, in any state.
    pub fn events(&self) -> u64 {
        self.pending + self.running + self.done + self.parked
    }
}

/// What happened to one event of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now.
    Stored,
    /// An event with this provider and id was already stored: not stored again.
    AlreadyStored,
    /// Stored as a dead letter, with why.
    DeadLettered(String),
    /// A dead letter with the same bytes was already stored.
    DeadLetterAlreadyStored(String),
}

/// One event of a delivery and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOutcome {
    /// Its index in the Spektr batch (`None` for PredictaID, and for a body
    /// dead-lettered whole).
    pub index: Option<usize>,
    /// Its id, when it was read.
    pub id: Option<String>,
    /// What happened to it.
    pub outcome: Outcome,
}

/// What a delivery's ingest committed, event by event, in delivery order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// One entry per event (or per piece of a body whose JSON is broken).
    pub events: Vec<EventOutcome>,
}

impl Receipt {
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.events.iter().filter(|e| f(&e.outcome)).count()
    }

    /// Events stored now.
    pub fn stored(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Stored))
    }

    /// Events that were already stored.
    pub fn already_stored(&self) -> usize {
        self.count(|o| matches!(o, Outcome::AlreadyStored))
    }

    /// Pieces dead-lettered (now or before).
    pub fn dead_lettered(&self) -> usize {
        self.count(|o| {
            matches!(
                o,
                Outcome::DeadLettered(_) | Outcome::DeadLetterAlreadyStored(_)
            )
        })
    }
}

/// An inbox on one database. Cheap to clone (clones share the connections).
#[derive(Clone)]
pub struct Inbox {
    backend: Backend,
    /// Wakes this process's idle workers when new events are committed.
    stored: Arc<Notify>,
}

impl fmt::Debug for Inbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => "postgres",
        };
        f.debug_struct("Inbox").field("backend", &kind).finish()
    }
}

impl Inbox {
    /// Opens `sqlite://PATH` (created if missing; WAL) or `postgres://...`
    /// and applies the migrations shipped with the crate. Must be called
    /// inside a Tokio runtime.
    pub async fn open(url: &str) -> Result<Inbox> {
        Ok(Inbox {
            backend: Backend::open(url).await?,
            stored: Arc::new(Notify::new()),
        })
    }

    /// Stores a Spektr delivery (`{"results": [...]}`): each event that
    /// decodes and has an id, unless its (provider, id) is stored; each other
    /// event as a dead letter. A body whose JSON is broken is split event by
    /// event where its structure allows, else dead-lettered whole.
    ///
    /// A delivery stores at most [`MAX_DEAD_LETTERS_PER_DELIVERY`] broken
    /// pieces one by one; the rest of such a body, from the next broken
    /// piece on, is one dead letter holding its bytes, unread. Bytes after
    /// the batch (`{"results": [...]} trailing`), and text before the
    /// `"results"` key of a body whose JSON is broken, are dead letters too.
    ///
    /// Returns after everything is committed. A batch of more than a few
    /// thousand events is committed in several transactions (each event whole
    /// in one of them): on `Err`, some events may be stored, none half, and a
    /// redelivery stores the rest.
    ///
    /// # Errors
    ///
    /// [`Error::NotABatch`] for well-formed JSON that is not a batch (or an
    /// empty body); otherwise the database's failure to commit.
    pub async fn ingest_spektr<B>(&self, body: B) -> Result<Receipt>
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        self.ingest_spektr_as(body, false).await
    }

    /// [`Inbox::ingest_spektr`] for a delivery the caller has authenticated
    /// (Spektr signs nothing: a secret in the webhook URL, a peer address
    /// allowed, as the receiver's `--spektr-token` and `--spektr-allow` do):
    /// its events are stored with [`StoredEvent::authenticated`] set.
    ///
    /// An event already stored by an unauthenticated delivery stays as it
    /// was stored ("already stored"): once a secret URL is configured, let
    /// nothing else store Spektr events.
    ///
    /// # Errors
    ///
    /// As [`Inbox::ingest_spektr`].
    pub async fn ingest_spektr_authenticated<B>(&self, body: B) -> Result<Receipt>
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        self.ingest_spektr_as(body, true).await
    }

    async fn ingest_spektr_as<B>(&self, body: B, authenticated: bool) -> Result<Receipt>
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        // Decoding a 16 MiB batch takes a while: keep it off the async threads.
        let mut planned = tokio::task::spawn_blocking(move || ingest::plan_spektr(body.as_ref()))
            .await
            .map_err(|_| Error::WriterStopped)??;
        for item in &mut planned {
            if let Row::Event(event) = &mut item.row {
                event.authenticated = authenticated;
            }
        }
        let receipt = self.commit(planned).await?;
        metrics::events_committed(Provider::Spektr, &receipt);
        Ok(receipt)
    }

    /// Stores a PredictaID delivery: verifies the signature over the exact
    /// bytes first (nothing is stored otherwise), checks the event-ID header
    /// against the body, then stores the whole body as the event's text, or
    /// as a dead letter when it does not decode or has an empty id.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`], [`Error::EventIdMismatch`], or the
    /// database's failure to commit.
    pub async fn ingest_predictaid<B>(
        &self,
        secrets: &Secrets,
        body: B,
        signature: Option<&str>,
        event_id_header: Option<&str>,
    ) -> Result<Receipt>
    where
        B: AsRef<[u8]>,
    {
        let planned = ingest::plan_predictaid(secrets, body.as_ref(), signature, event_id_header)?;
        let receipt = self.commit(vec![planned]).await?;
        metrics::events_committed(Provider::PredictaId, &receipt);
        Ok(receipt)
    }

    async fn commit(&self, planned: Vec<ingest::Planned>) -> Result<Receipt> {
        let mut events = Vec::with_capacity(planned.len());
        let mut planned = planned.into_iter().peekable();
        let mut any_new = false;
        while planned.peek().is_some() {
            let chunk: Vec<_> = planned.by_ref().take(MAX_ROWS_PER_COMMIT).collect();
            let mut rows = Vec::with_capacity(chunk.len());
            let mut described = Vec::with_capacity(chunk.len());
            for item in chunk {
                let error = match &item.row {
                    Row::Dead(dead) => Some(dead.error.clone()),
                    Row::Event(_) => None,
                };
                described.push((item.index, item.id, error));
                rows.push(item.row);
            }
            let written = self.backend.commit(rows).await?;
            for ((index, id, error), written) in described.into_iter().zip(written) {
                // An event the database refused was stored as a dead letter.
                let error = error.or(written.refused);
                let outcome = match (error, written.new) {
                    (None, true) => Outcome::Stored,
                    (None, false) => Outcome::AlreadyStored,
                    (Some(e), true) => Outcome::DeadLettered(e),
                    (Some(e), false) => Outcome::DeadLetterAlreadyStored(e),
                };
                any_new |= outcome == Outcome::Stored;
                events.push(EventOutcome { index, id, outcome });
            }
        }
        if any_new {
            self.stored.notify_waiters();
            // Other processes' workers: after the commit, off the answer's
            // path (a lost notification costs only a poll).
            let backend = self.backend.clone();
            tokio::spawn(async move {
                if let Err(error) = backend.notify_stored().await {
                    tracing::debug!(%error, "could not notify the other processes' workers");
                }
            });
        }
        Ok(Receipt { events })
    }

    /// The stored event with this provider and id, if any.
    pub async fn event(&self, provider: Provider, id: &str) -> Result<Option<StoredEvent>> {
        self.backend.event(provider, id).await
    }

    /// Parked events (out of attempts), oldest first, at most `limit`.
    pub async fn parked(&self, limit: u32) -> Result<Vec<StoredEvent>> {
        self.backend.parked(i64::from(limit)).await
    }

    /// Puts a parked event back in the queue with its attempts reset.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchEvent`] when no parked event has this provider and id.
    pub async fn requeue(&self, provider: Provider, id: &str) -> Result<()> {
        if self.backend.requeue(provider, id).await? {
            Ok(())
        } else {
            Err(Error::NoSuchEvent {
                provider,
                id: id.to_owned(),
            })
        }
    }

    /// Dead letters, oldest first, at most `limit`.
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>> {
        self.backend.dead_letters(i64::from(limit)).await
    }

    /// Whether the inbox can serve: one point query on `inbox_events` by its
    /// unique key, reading every column this version writes (so a database
    /// that does not answer, or holds another schema, fails). What the
    /// receiver's `GET /readyz` asks; cheap at any table size.
    ///
    /// # Errors
    ///
    /// The database's error.
    pub async fn check_ready(&self) -> Result<()> {
        self.event(Provider::Spektr, "").await.map(|_| ())
    }

    /// What the inbox holds, by provider and state, its dead letters and
    /// the backlog's age ([`Depth`]), cheap enough for every metrics scrape:
    /// [`metrics::record_depth`] turns it into gauges.
    pub async fn depth(&self) -> Result<Depth> {
        Ok(Depth::from_raw(self.backend.depth().await?))
    }

    /// How many events are in each state (in all, and by provider and type),
    /// and how many dead letters are stored.
    pub async fn counts(&self) -> Result<Counts> {
        self.backend.counts().await
    }

    /// Removes a dead letter (by its provider and `content_sha256`): once it
    /// has been ingested again and is now stored as an event, say. `false`
    /// when there was no such dead letter.
    pub async fn remove_dead_letter(
        &self,
        provider: Provider,
        content_sha256: &str,
    ) -> Result<bool> {
        self.backend
            .remove_dead_letter(provider, content_sha256)
            .await
    }
}

/// Not part of the API: the planning of a Spektr body, as
/// [`Inbox::ingest_spektr`] does it before committing, for the fuzz target
/// and the memory tests.
#[doc(hidden)]
pub fn plan_spektr_for_tests(body: &[u8]) -> Result<PlanForTests> {
    let mut rows = Vec::new();
    ingest::plan_spektr_with(body, |start, planned| rows.push((start, planned)))?;
    Ok(PlanForTests { rows })
}

/// Not part of the API: a Spektr body's plan, row by row, as
/// [`Inbox::ingest_spektr`] would commit it.
#[doc(hidden)]
pub struct PlanForTests {
    rows: Vec<(usize, ingest::Planned)>,
}

/// Not part of the API: one row of a [`PlanForTests`].
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRowForTests {
    /// The offset in the body where the row's bytes start.
    pub start: usize,
    /// The row's bytes (the event's text or the dead letter's body).
    pub bytes: Vec<u8>,
    /// Its index in `results`, if it has one.
    pub index: Option<usize>,
    /// `None` for an event, else the dead letter's error.
    pub error: Option<String>,
}

impl PlanForTests {
    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows, in body order.
    pub fn rows(&self) -> impl Iterator<Item = PlannedRowForTests> + '_ {
        self.rows.iter().map(|(start, planned)| {
            let (bytes, error) = match &planned.row {
                Row::Event(event) => (event.body.as_bytes().to_vec(), None),
                Row::Dead(dead) => (dead.body.clone(), Some(dead.error.clone())),
            };
            PlannedRowForTests {
                start: *start,
                bytes,
                index: planned.index,
                error,
            }
        })
    }
}
