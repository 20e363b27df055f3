//! The two backends behind one interface, and the rows they store.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{Counts, DeadLetter, Error, Provider, Result, StoredEvent};

#[cfg(feature = "postgres")]
mod pgnotify;
#[cfg(feature = "postgres")]
mod pgtls;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

/// `$body` with `$store` bound to the backend's store, for each backend
/// this build has (cargo features `sqlite` and `postgres`).
macro_rules! on_store {
    ($backend:expr, $store:ident => $body:expr) => {
        match *$backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(ref $store) => $body,
            #[cfg(feature = "postgres")]
            Backend::Postgres(ref $store) => $body,
        }
    };
}

/// An event to insert unless its (provider, id) is stored.
#[derive(Debug)]
pub(crate) struct NewEvent {
    pub provider: Provider,
    pub event_id: String,
    pub event_type: String,
    pub subject: String,
    pub occurred_at: DateTime<Utc>,
    pub body: String,
    /// Its index in the Spektr batch, kept if the database refuses the row
    /// and it becomes a dead letter.
    pub batch_index: Option<i64>,
    /// Whether its delivery was authenticated.
    pub authenticated: bool,
}

impl NewEvent {
    /// The dead letter this event becomes when the database refuses it as
    /// an event (`reason` is the database's error).
    pub(crate) fn dead_letter(&self, reason: &str) -> NewDeadLetter {
        NewDeadLetter::new(
            self.provider,
            self.batch_index,
            self.body.clone().into_bytes(),
            format!("the database refused it as an event: {reason}"),
        )
    }
}

impl NewDeadLetter {
    /// A dead letter of `body`, keyed by its SHA-256.
    pub(crate) fn new(
        provider: Provider,
        batch_index: Option<i64>,
        body: Vec<u8>,
        error: String,
    ) -> NewDeadLetter {
        NewDeadLetter {
            provider,
            content_sha256: sha256_hex(&body),
            batch_index,
            error: crate::ingest::bounded(error),
            body,
        }
    }
}

/// The SHA-256 of `bytes`, in lower-case hex (a dead letter's key, a pruned
/// event's `content_sha256`).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(bytes) {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// A dead letter to insert unless its (provider, content hash) is stored.
#[derive(Debug)]
pub(crate) struct NewDeadLetter {
    pub provider: Provider,
    pub content_sha256: String,
    pub batch_index: Option<i64>,
    pub error: String,
    pub body: Vec<u8>,
}

/// One row of an ingest.
#[derive(Debug)]
pub(crate) enum Row {
    Event(NewEvent),
    Dead(NewDeadLetter),
}

/// What became of one row of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    /// Whether the row was new (its key was not stored before).
    pub new: bool,
    /// Set when the database refused the row as an event, which was then
    /// stored as a dead letter instead: why it refused it.
    pub refused: Option<String>,
}

impl Written {
    pub(crate) fn new(new: bool) -> Written {
        Written { new, refused: None }
    }
}

/// The rows behind [`crate::Depth`]: `(provider, tally, n)` of the tallies
/// (a state, or `dead_letters`), and each provider's oldest pending event's
/// reception.
#[derive(Debug)]
pub(crate) struct RawDepth {
    pub tallies: Vec<(String, String, i64)>,
    pub oldest_pending: Vec<(Provider, Option<DateTime<Utc>>)>,
}

/// An event claimed by a worker, with the token that proves the lease.
#[derive(Debug)]
pub(crate) struct Claimed {
    pub seq: i64,
    pub token: String,
    /// The event's `lease_epoch` after this claim: greater than that of any
    /// earlier claim of the event (the handler's fencing token).
    pub epoch: i64,
    pub event: StoredEvent,
}

/// The last error of an event parked by a claim because its `max_attempts`
/// runs all started and none finished.
pub(crate) fn abandoned_error(max_attempts: u32) -> String {
    format!(
        "abandoned: {max_attempts} runs started and none finished (their workers stopped or lost \
         the lease); parked instead of claimed again"
    )
}

/// How a failed attempt ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AfterFailure {
    /// Claimable again after this delay.
    RetryIn(Duration),
    /// Parked: out of attempts, or the handler said so.
    Park,
    /// Claimable again after this delay, the run not counted as an attempt
    /// and `last_error` kept (the handler asked to be called later).
    Snooze(Duration),
}

/// The backend an inbox was opened on.
#[derive(Clone)]
pub(crate) enum Backend {
    #[cfg(feature = "sqlite")]
    Sqlite(Arc<sqlite::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(Arc<postgres::Postgres>),
}

/// Rows per transaction of the group-commit writer: a huge batch is stored in
/// several transactions of at most this many rows (each event whole), so that
/// a delivery sent meanwhile waits for one of them, not for all.
pub(crate) const MAX_ROWS_PER_COMMIT: usize = 2_000;

/// Rows to commit, and where to answer once they are committed (or not).
pub(crate) struct Job {
    pub(crate) rows: Vec<Row>,
    pub(crate) reply: tokio::sync::oneshot::Sender<Result<Vec<Written>>>,
}

/// A writer's next commit group: `first`, then the jobs already waiting, up
/// to [`MAX_ROWS_PER_COMMIT`] rows; a job that would overflow the group is
/// `carried` to start the next one.
pub(crate) fn commit_group(
    first: Job,
    jobs: &mut tokio::sync::mpsc::Receiver<Job>,
    carried: &mut Option<Job>,
) -> Vec<Job> {
    let mut rows = first.rows.len();
    let mut group = vec![first];
    while rows < MAX_ROWS_PER_COMMIT {
        match jobs.try_recv() {
            Ok(job) if rows + job.rows.len() > MAX_ROWS_PER_COMMIT => {
                *carried = Some(job);
                break;
            }
            Ok(job) => {
                rows += job.rows.len();
                group.push(job);
            }
            Err(_) => break,
        }
    }
    group
}

/// `url`'s scheme and `://...`: nothing after the scheme (a password) is
/// repeated in an error.
fn scheme_only(url: &str) -> String {
    format!("{}://...", url.split("://").next().unwrap_or_default())
}

/// The error for a URL whose driver this build lacks (cargo feature
/// `feature`).
#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
fn not_built(url: &str, feature: &str) -> Error {
    Error::Url {
        url: scheme_only(url),
        reason: format!(
            "this build of kyc-webhooks-inbox has no {feature} support (cargo feature `{feature}`)"
        ),
    }
}

impl Backend {
    /// Opens the backend that `url` names and applies the migrations.
    pub(crate) async fn open(url: &str) -> Result<Backend> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(Error::Url {
                    url: url.to_owned(),
                    reason: "no file path after sqlite://".to_owned(),
                });
            }
            #[cfg(feature = "sqlite")]
            {
                let path = path.to_owned();
                let store =
                    tokio::task::spawn_blocking(move || sqlite::Sqlite::open(path.as_ref()))
                        .await
                        .map_err(|_| Error::WriterStopped)??;
                Ok(Backend::Sqlite(Arc::new(store)))
            }
            #[cfg(not(feature = "sqlite"))]
            Err(not_built(url, "sqlite"))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            {
                Ok(Backend::Postgres(Arc::new(
                    postgres::Postgres::open(url).await?,
                )))
            }
            #[cfg(not(feature = "postgres"))]
            Err(not_built(url, "postgres"))
        } else {
            Err(Error::Url {
                url: if url.contains("://") {
                    scheme_only(url)
                } else {
                    url.to_owned()
                },
                reason: "expected sqlite://PATH or postgres://...".to_owned(),
            })
        }
    }

    /// Commits `rows` in one transaction (grouped with other callers' rows);
    /// for each, whether it was new. Returns only after the commit.
    pub(crate) async fn commit(&self, rows: Vec<Row>) -> Result<Vec<Written>> {
        on_store!(self, s => s.commit(rows).await)
    }

    /// Claims the oldest claimable event (see `CLAIM_NEXT`); on the way,
    /// parks an event whose `max_attempts` runs all started and none finished
    /// (its workers died) instead of claiming it again.
    pub(crate) async fn claim(
        &self,
        token: String,
        lease: Duration,
        max_attempts: u32,
    ) -> Result<Option<Claimed>> {
        on_store!(self, s => s.claim(token, lease, max_attempts).await)
    }

    /// The query plan of each statement a claim runs (for the tests).
    pub(crate) async fn explain_claim(&self) -> Result<Vec<String>> {
        on_store!(self, s => s.explain_claim().await)
    }

    pub(crate) async fn complete(&self, seq: i64, token: &str) -> Result<bool> {
        on_store!(self, s => s.complete(seq, token).await)
    }

    pub(crate) async fn fail(
        &self,
        seq: i64,
        token: &str,
        error: &str,
        then: AfterFailure,
    ) -> Result<bool> {
        on_store!(self, s => s.fail(seq, token, error, then).await)
    }

    pub(crate) async fn extend(&self, seq: i64, token: &str, lease: Duration) -> Result<bool> {
        on_store!(self, s => s.extend(seq, token, lease).await)
    }

    pub(crate) async fn parked(&self, limit: i64) -> Result<Vec<StoredEvent>> {
        on_store!(self, s => s.parked(limit).await)
    }

    pub(crate) async fn requeue(&self, provider: Provider, id: &str) -> Result<bool> {
        on_store!(self, s => s.requeue(provider, id).await)
    }

    pub(crate) async fn event(&self, provider: Provider, id: &str) -> Result<Option<StoredEvent>> {
        on_store!(self, s => s.event(provider, id).await)
    }

    /// Tells the workers of other processes that new events were committed
    /// (PostgreSQL: `NOTIFY`). Nothing on SQLite, whose other processes poll.
    pub(crate) async fn notify_stored(&self) -> Result<()> {
        match *self {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(_) => Ok(()),
            #[cfg(feature = "postgres")]
            Backend::Postgres(ref p) => p.notify_stored().await,
        }
    }

    /// Wakes `wake`'s waiters when another process stores events, until
    /// `stop` (PostgreSQL: `LISTEN` on a connection of its own); `None` on
    /// SQLite.
    #[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
    pub(crate) fn listen(
        &self,
        wake: Arc<tokio::sync::Notify>,
        stop: tokio_util::sync::CancellationToken,
    ) -> Option<tokio::task::JoinHandle<()>> {
        match *self {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(_) => None,
            #[cfg(feature = "postgres")]
            Backend::Postgres(ref p) => Some(p.listen(wake, stop)),
        }
    }

    pub(crate) async fn depth(&self) -> Result<RawDepth> {
        on_store!(self, s => s.depth().await)
    }

    pub(crate) async fn prune_done(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<u64> {
        on_store!(self, s => s.prune_done(cutoff, limit).await)
    }

    pub(crate) async fn prune_dead_letters(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64> {
        on_store!(self, s => s.prune_dead_letters(cutoff, limit).await)
    }

    pub(crate) async fn prunable(
        &self,
        done: Option<DateTime<Utc>>,
        dead_letters: Option<DateTime<Utc>>,
    ) -> Result<(u64, u64)> {
        on_store!(self, s => s.prunable(done, dead_letters).await)
    }

    pub(crate) async fn counts(&self) -> Result<Counts> {
        on_store!(self, s => s.counts().await)
    }

    pub(crate) async fn dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>> {
        on_store!(self, s => s.dead_letters(limit).await)
    }

    pub(crate) async fn remove_dead_letter(
        &self,
        provider: Provider,
        sha256: &str,
    ) -> Result<bool> {
        on_store!(self, s => s.remove_dead_letter(provider, sha256).await)
    }
}

#[cfg(feature = "postgres")]
/// Attempts of a commit group lost to a deadlock, a serialization failure or
/// a lost connection before the group's deliveries are answered 503.
pub(crate) const COMMIT_ATTEMPTS: u32 = 5;

#[cfg(feature = "postgres")]
/// A pause before retrying a commit group: 10–40 ms, more after each
/// attempt, jittered so that two writers that deadlocked do not meet again.
pub(crate) fn retry_pause(attempt: u32) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let base = 10u64 << attempt.min(4);
    Duration::from_millis(base + u64::from(nanos) % (base * 3))
}

/// A commit group's answers, job by job: a job can fail alone (the database
/// refused its rows) while the others are committed.
pub(crate) type GroupAnswers = Vec<std::result::Result<Vec<Written>, String>>;

#[cfg(feature = "postgres")]
/// Marks, for rows in order, which were new, given the keys the database
/// reports as inserted: a key repeated within the rows is new only the first time.
pub(crate) fn first_occurrences(
    keys: &[(Provider, String)],
    mut inserted: std::collections::HashSet<(Provider, String)>,
) -> Vec<bool> {
    keys.iter().map(|key| inserted.remove(key)).collect()
}

#[cfg(all(test, not(feature = "postgres")))]
mod tests {
    /// A build without the `postgres` feature says which feature a
    /// `postgres://` URL needs (`cargo test -p kyc-webhooks-inbox --lib`).
    #[tokio::test]
    async fn a_postgres_url_in_a_build_without_postgres_is_refused_naming_the_feature() {
        let error = super::Backend::open("postgres://app:secret@db/app")
            .await
            .err()
            .expect("refused");
        let text = error.to_string();
        assert!(text.contains("cargo feature `postgres`"), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
}
