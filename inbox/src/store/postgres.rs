//! PostgreSQL: shared by any number of receivers and workers. Each receiver
//! has one writer task that commits ingests in groups; workers claim with
//! `FOR UPDATE SKIP LOCKED` under a transaction-scoped advisory lock.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, NoTls, Transaction};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::pgtls::{SslMode, TlsSettings};

use super::{
    abandoned_error, commit_group, first_occurrences, retry_pause, AfterFailure, Claimed,
    GroupAnswers, Job, NewDeadLetter, NewEvent, RawDepth, Row, Written, COMMIT_ATTEMPTS,
};
use crate::{Counts, DeadLetter, Error, Provider, Result, State, StoredEvent};

/// The migrations shipped with the crate, in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_inbox.sql",
        include_str!("../../migrations/postgres/0001_inbox.sql"),
    ),
    (
        2,
        "0002_authenticated.sql",
        include_str!("../../migrations/postgres/0002_authenticated.sql"),
    ),
    (
        3,
        "0003_claims.sql",
        include_str!("../../migrations/postgres/0003_claims.sql"),
    ),
    (
        4,
        "0004_operations.sql",
        include_str!("../../migrations/postgres/0004_operations.sql"),
    ),
];

/// Advisory-lock keys (an arbitrary constant and the next one), so that two
/// processes never migrate, or claim, at the same time.
const MIGRATION_LOCK: i64 = 0x6b79_6369_6e62_0001;
const CLAIM_LOCK: i64 = 0x6b79_6369_6e62_0002;

pub(crate) struct Postgres {
    url: String,
    writer: mpsc::Sender<Job>,
    pool: Mutex<Vec<Client>>,
}

/// The longest wait for a database call's answer (a commit group, a claim, a
/// read). A connection that stays open but stops answering (a network
/// partition, a failover) is dropped after it, and the caller answered 503,
/// so that a silent database never holds deliveries for longer.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_millis(4_500);

/// The longest wait for a new connection.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What each connection asks of the server: statements and idle
/// transactions end on the server's side too, and TCP keepalives (and the
/// TCP user timeout) find a dead peer. `url` has no `sslmode` (see
/// [`TlsSettings`]).
pub(super) fn settings(url: &str, mode: SslMode) -> Result<tokio_postgres::Config> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| Error::Url {
        url: crate::error::redact_url(url),
        reason: format!("{e}"),
    })?;
    let options = format!(
        "{} -c statement_timeout={} -c idle_in_transaction_session_timeout=10000",
        config.get_options().unwrap_or_default(),
        ANSWER_TIMEOUT.as_millis() - 500,
    );
    config
        .options(options.trim_start())
        .ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        })
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .keepalives_interval(Duration::from_secs(2))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(8));
    Ok(config)
}

async fn connect(url: &str) -> Result<Client> {
    let tls = TlsSettings::from_url(url)?;
    let config = settings(&tls.url, tls.mode)?;
    let connecting = async {
        match tls.client_config()? {
            None => spawn_connection(config.connect(NoTls).await),
            Some(rustls) => spawn_connection(config.connect(MakeRustlsConnect::new(rustls)).await),
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(connected) => connected,
        Err(_) => {
            crate::metrics::database_error("postgres", "timeout");
            Err(Error::Timeout {
                context: "connecting",
                after: CONNECT_TIMEOUT,
            })
        }
    }
}

/// Runs a new connection's I/O on its own task.
fn spawn_connection<S, T>(
    connected: std::result::Result<
        (Client, tokio_postgres::Connection<S, T>),
        tokio_postgres::Error,
    >,
) -> Result<Client>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (client, connection) = connected.map_err(Error::postgres("connecting"))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(error = %crate::error::describe_postgres(&error), "PostgreSQL connection closed");
        }
    });
    Ok(client)
}

async fn migrate(client: &mut Client) -> Result<()> {
    let tx = client
        .transaction()
        .await
        .map_err(Error::postgres("starting the migrations"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(Error::postgres("locking for the migrations"))?;
    // A migration may take longer than one delivery's statement may.
    tx.batch_execute("SET LOCAL statement_timeout = 0")
        .await
        .map_err(Error::postgres(
            "lifting the statement timeout for the migrations",
        ))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS inbox_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(Error::postgres("creating inbox_migrations"))?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM inbox_migrations",
            &[],
        )
        .await
        .map_err(Error::postgres("reading inbox_migrations"))?
        .get(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if found > known {
        return Err(Error::SchemaTooNew { found, known });
    }
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        tx.batch_execute(sql).await.map_err(|e| Error::Migration {
            version,
            name,
            reason: e.to_string(),
        })?;
        tx.execute(
            "INSERT INTO inbox_migrations (version, name) VALUES ($1, $2)",
            &[&version, &name],
        )
        .await
        .map_err(Error::postgres("recording a migration"))?;
    }
    tx.commit()
        .await
        .map_err(Error::postgres("committing the migrations"))
}

impl Postgres {
    pub(crate) async fn open(url: &str) -> Result<Postgres> {
        let mut client = connect(url).await?;
        migrate(&mut client).await?;
        let (writer, jobs) = mpsc::channel(1024);
        tokio::spawn(run_writer(client, url.to_owned(), jobs));
        Ok(Postgres {
            url: url.to_owned(),
            writer,
            pool: Mutex::new(Vec::new()),
        })
    }

    pub(crate) async fn commit(&self, rows: Vec<Row>) -> Result<Vec<Written>> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(Job { rows, reply })
            .await
            .map_err(|_| Error::WriterStopped)?;
        answer.await.map_err(|_| Error::WriterStopped)?
    }

    async fn checkout(&self) -> Result<Client> {
        let pooled = self
            .pool
            .lock()
            .map(|mut pool| {
                while let Some(client) = pool.pop() {
                    if !client.is_closed() {
                        return Some(client);
                    }
                }
                None
            })
            .unwrap_or(None);
        match pooled {
            Some(client) => Ok(client),
            None => connect(&self.url).await,
        }
    }

    /// Puts a connection back in the pool after a call, unless the call
    /// timed out: such a connection may be stuck mid-message.
    fn checkin_after<T>(&self, client: Client, result: &Result<T>) {
        if !matches!(result, Err(Error::Timeout { .. })) {
            self.checkin(client);
        }
    }

    fn checkin(&self, client: Client) {
        if client.is_closed() {
            return;
        }
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(client);
        }
    }

    pub(crate) async fn claim(
        &self,
        token: String,
        lease: Duration,
        max_attempts: u32,
    ) -> Result<Option<Claimed>> {
        let mut client = self.checkout().await?;
        let result = within(
            "claiming an event",
            claim_on(&mut client, &token, lease, max_attempts),
        )
        .await;
        self.checkin_after(client, &result);
        Ok(result?.map(|(seq, epoch, event)| Claimed {
            seq,
            token,
            epoch,
            event,
        }))
    }

    /// See [`explain_claim`] (on a connection of its own: it changes settings).
    pub(crate) async fn explain_claim(&self) -> Result<Vec<String>> {
        let client = connect(&self.url).await?;
        explain_claim(&client).await
    }

    /// In one transaction: locks the `inbox_subjects` row that `lock` selects
    /// (`FOR UPDATE OF s`), runs `update` (which returns the provider and
    /// subject of the row it changed, if any), and brings that subject's row
    /// up to date. The subject row is always locked before the event row, as
    /// a claim does, so that the two never deadlock. Whether a row changed.
    async fn update_and_refresh(
        &self,
        context: &'static str,
        lock: &str,
        lock_params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        update: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<bool> {
        let mut client = self.checkout().await?;
        let result = within(context, async {
            let run = async {
                let tx = client.transaction().await?;
                tx.query(lock, lock_params).await?;
                let changed = tx.query_opt(update, params).await?;
                if let Some(row) = &changed {
                    tx.execute(
                        "SELECT inbox_refresh_subject($1, $2)",
                        &[&row.get::<_, &str>(0), &row.get::<_, &str>(1)],
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok::<_, tokio_postgres::Error>(changed.is_some())
            };
            run.await.map_err(Error::postgres(context))
        })
        .await;
        self.checkin_after(client, &result);
        result
    }

    /// [`Self::update_and_refresh`] of the running event `seq`.
    async fn update_running(
        &self,
        context: &'static str,
        seq: i64,
        update: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<bool> {
        self.update_and_refresh(
            context,
            "SELECT 1 FROM inbox_subjects s JOIN inbox_events e
                 ON e.provider = s.provider AND e.subject = s.subject
             WHERE e.seq = $1 FOR UPDATE OF s",
            &[&seq],
            update,
            params,
        )
        .await
    }

    async fn execute(
        &self,
        context: &'static str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64> {
        let client = self.checkout().await?;
        let result = within(context, async {
            client
                .execute(sql, params)
                .await
                .map_err(Error::postgres(context))
        })
        .await;
        self.checkin_after(client, &result);
        result
    }

    async fn query(
        &self,
        context: &'static str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        let client = self.checkout().await?;
        let result = within(context, async {
            client
                .query(sql, params)
                .await
                .map_err(Error::postgres(context))
        })
        .await;
        self.checkin_after(client, &result);
        result
    }

    pub(crate) async fn complete(&self, seq: i64, token: &str) -> Result<bool> {
        self.update_running(
            "marking an event done",
            seq,
            "UPDATE inbox_events SET state = 'done', finished_at = now(), lease_token = NULL,
                 lease_until = NULL, last_error = NULL
             WHERE seq = $1 AND lease_token = $2 AND state = 'running'
             RETURNING provider, subject",
            &[&seq, &token],
        )
        .await
    }

    pub(crate) async fn fail(
        &self,
        seq: i64,
        token: &str,
        error: &str,
        then: AfterFailure,
    ) -> Result<bool> {
        match then {
            AfterFailure::RetryIn(delay) => {
                self.update_running(
                    "recording a failed attempt",
                    seq,
                    "UPDATE inbox_events SET state = 'pending',
                         run_after = now() + make_interval(secs => $1), last_error = $2,
                         lease_token = NULL, lease_until = NULL
                     WHERE seq = $3 AND lease_token = $4 AND state = 'running'
                     RETURNING provider, subject",
                    &[&delay.as_secs_f64(), &error, &seq, &token],
                )
                .await
            }
            AfterFailure::Snooze(delay) => {
                self.update_running(
                    "snoozing an event",
                    seq,
                    "UPDATE inbox_events SET state = 'pending',
                         run_after = now() + make_interval(secs => $1),
                         attempts = GREATEST(attempts - 1, 0), lease_token = NULL, lease_until = NULL
                     WHERE seq = $2 AND lease_token = $3 AND state = 'running'
                     RETURNING provider, subject",
                    &[&delay.as_secs_f64(), &seq, &token],
                )
                .await
            }
            AfterFailure::Park => {
                self.update_running(
                    "parking an event",
                    seq,
                    "UPDATE inbox_events SET state = 'parked', finished_at = now(), last_error = $1,
                         lease_token = NULL, lease_until = NULL
                     WHERE seq = $2 AND lease_token = $3 AND state = 'running'
                     RETURNING provider, subject",
                    &[&error, &seq, &token],
                )
                .await
            }
        }
    }

    pub(crate) async fn extend(&self, seq: i64, token: &str, lease: Duration) -> Result<bool> {
        self.update_running(
            "extending a lease",
            seq,
            "UPDATE inbox_events SET lease_until = clock_timestamp() + make_interval(secs => $1)
             WHERE seq = $2 AND lease_token = $3 AND state = 'running'
             RETURNING provider, subject",
            &[&lease.as_secs_f64(), &seq, &token],
        )
        .await
    }

    pub(crate) async fn parked(&self, limit: i64) -> Result<Vec<StoredEvent>> {
        let rows = self
            .query(
                "listing parked events",
                &format!(
                    "SELECT {COLUMNS} FROM inbox_events WHERE state = 'parked' ORDER BY seq LIMIT $1"
                ),
                &[&limit],
            )
            .await?;
        Ok(rows.iter().map(read_event).collect())
    }

    pub(crate) async fn requeue(&self, provider: Provider, id: &str) -> Result<bool> {
        self.update_and_refresh(
            "re-queueing an event",
            "SELECT 1 FROM inbox_subjects s JOIN inbox_events e
                 ON e.provider = s.provider AND e.subject = s.subject
             WHERE e.provider = $1 AND e.event_id = $2 FOR UPDATE OF s",
            &[&provider.as_str(), &id],
            "UPDATE inbox_events SET state = 'pending', attempts = 0, run_after = now(),
                 finished_at = NULL
             WHERE provider = $1 AND event_id = $2 AND state = 'parked'
             RETURNING provider, subject",
            &[&provider.as_str(), &id],
        )
        .await
    }

    pub(crate) async fn event(&self, provider: Provider, id: &str) -> Result<Option<StoredEvent>> {
        let rows = self
            .query(
                "reading an event",
                &format!(
                    "SELECT {COLUMNS} FROM inbox_events WHERE provider = $1 AND event_id = $2"
                ),
                &[&provider.as_str(), &id],
            )
            .await?;
        Ok(rows.first().map(read_event))
    }

    /// Folds the tallies' changes (unless another session is folding), then
    /// reads the totals plus what is left unfolded, in one snapshot; and, per
    /// provider, when its oldest pending event was received (the first entry
    /// of `inbox_events_pending_by_received`).
    pub(crate) async fn depth(&self) -> Result<RawDepth> {
        self.query("folding the tallies", "SELECT inbox_fold_tallies()", &[])
            .await?;
        let tallies = self
            .query(
                "reading the tallies",
                "SELECT provider, tally, SUM(n)::BIGINT FROM (
                     SELECT provider, tally, n FROM inbox_tallies
                     UNION ALL
                     SELECT provider, tally, change FROM inbox_tally_changes
                 ) t GROUP BY provider, tally",
                &[],
            )
            .await?
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect();
        let mut oldest_pending = Vec::new();
        for provider in Provider::ALL {
            let rows = self
                .query(
                    "reading the oldest pending event",
                    "SELECT MIN(received_at) FROM inbox_events
                     WHERE provider = $1 AND state = 'pending'",
                    &[&provider.as_str()],
                )
                .await?;
            let oldest: Option<DateTime<Utc>> = rows.first().and_then(|row| row.get(0));
            oldest_pending.push((provider, oldest));
        }
        Ok(RawDepth {
            tallies,
            oldest_pending,
        })
    }

    /// Prunes up to `limit` done events finished before `cutoff` (oldest
    /// first; rows another session holds are skipped, not waited for), in
    /// one statement: each keeps its row, its body's SHA-256 in
    /// `content_sha256`, and `pruned_at`; the body is emptied.
    pub(crate) async fn prune_done(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<u64> {
        self.execute(
            "pruning done events",
            "WITH picked AS (
                 SELECT seq FROM inbox_events
                  WHERE state = 'done' AND pruned_at IS NULL AND finished_at < $1
                  ORDER BY finished_at LIMIT $2
                  FOR UPDATE SKIP LOCKED
             )
             UPDATE inbox_events e
                SET content_sha256 = encode(sha256(convert_to(e.body, 'UTF8')), 'hex'),
                    body = '', pruned_at = now()
               FROM picked
              WHERE e.seq = picked.seq AND e.state = 'done'",
            &[&cutoff, &limit],
        )
        .await
    }

    /// Removes up to `limit` dead letters received before `cutoff`, oldest
    /// first.
    pub(crate) async fn prune_dead_letters(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64> {
        self.execute(
            "pruning dead letters",
            "DELETE FROM inbox_dead_letters WHERE seq IN (
                 SELECT seq FROM inbox_dead_letters WHERE received_at < $1
                  ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
            &[&cutoff, &limit],
        )
        .await
    }

    /// How many done events and dead letters a prune with these cutoffs
    /// would remove (a dry run).
    pub(crate) async fn prunable(
        &self,
        done: Option<DateTime<Utc>>,
        dead_letters: Option<DateTime<Utc>>,
    ) -> Result<(u64, u64)> {
        let rows = self
            .query(
                "counting what a prune would remove",
                "SELECT
                   (SELECT COUNT(*) FROM inbox_events
                     WHERE $1::TIMESTAMPTZ IS NOT NULL AND state = 'done'
                       AND pruned_at IS NULL AND finished_at < $1),
                   (SELECT COUNT(*) FROM inbox_dead_letters
                     WHERE $2::TIMESTAMPTZ IS NOT NULL AND received_at < $2)",
                &[&done, &dead_letters],
            )
            .await?;
        let row = rows.first();
        let get = |i: usize| row.map_or(0, |r| r.get::<_, i64>(i).max(0) as u64);
        Ok((get(0), get(1)))
    }

    pub(crate) async fn counts(&self) -> Result<Counts> {
        let mut counts = Counts::default();
        for row in self
            .query(
                "counting events",
                "SELECT provider, event_type, state, COUNT(*) FROM inbox_events
                 GROUP BY provider, event_type, state ORDER BY provider, event_type, state",
                &[],
            )
            .await?
        {
            counts.add_row(
                row.get::<_, &str>(0),
                row.get::<_, String>(1),
                row.get::<_, &str>(2),
                row.get(3),
            );
        }
        let dead = self
            .query(
                "counting dead letters",
                "SELECT COUNT(*) FROM inbox_dead_letters",
                &[],
            )
            .await?;
        counts.dead_letters = dead.first().map_or(0, |row| row.get::<_, i64>(0)) as u64;
        Ok(counts)
    }

    pub(crate) async fn remove_dead_letter(
        &self,
        provider: Provider,
        sha256: &str,
    ) -> Result<bool> {
        let n = self
            .execute(
                "removing a dead letter",
                "DELETE FROM inbox_dead_letters WHERE provider = $1 AND content_sha256 = $2",
                &[&provider.as_str(), &sha256],
            )
            .await?;
        Ok(n == 1)
    }

    pub(crate) async fn dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>> {
        let rows = self
            .query(
                "listing dead letters",
                "SELECT provider, content_sha256, batch_index, error, body, received_at
                 FROM inbox_dead_letters ORDER BY seq LIMIT $1",
                &[&limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| DeadLetter {
                provider: Provider::from_column(row.get(0)),
                content_sha256: row.get(1),
                batch_index: row.get::<_, Option<i64>>(2).map(|i| i as u64),
                error: row.get(3),
                body: row.get(4),
                received_at: row.get(5),
            })
            .collect())
    }
}

const COLUMNS: &str = "provider, event_id, event_type, subject, occurred_at, received_at, state, \
                       attempts, last_error, body, authenticated";

fn read_event(row: &tokio_postgres::Row) -> StoredEvent {
    StoredEvent {
        provider: Provider::from_column(row.get(0)),
        event_id: row.get(1),
        event_type: row.get(2),
        subject: row.get(3),
        occurred_at: row.get(4),
        received_at: row.get(5),
        state: State::from_column(row.get(6)),
        attempts: row.get::<_, i32>(7) as u32,
        last_error: row.get(8),
        body: row.get(9),
        authenticated: row.get(10),
    }
}

/// Wakeups folded into `inbox_subjects` per chunk, and chunks per claim at
/// most: a claim's work stays bounded however many events were stored since
/// the last one (the rest wait for the next claims).
const FOLD_CHUNK: i32 = 1_000;
const FOLD_CHUNKS_PER_CLAIM: usize = 4;

/// Claims tried (each parking an abandoned head or finding a stale row) before
/// a claim gives up until the next call.
const MAX_CLAIM_STEPS: usize = 32;

/// The subject whose head is the oldest claimable event: a walk of
/// `inbox_subjects_by_head` from the oldest head, stepping over subjects not
/// ready (held under a live lease, or waiting for a retry) and rows a
/// completion is updating (`SKIP LOCKED`). A lease holds while
/// `lease_until > now`, so that a row with `ready_at <= now` passes
/// [`CLAIMABLE`] too (the clock only moves on between the two). `EXPLAIN` (after `ANALYZE`,
/// checked by `tests/workers.rs`):
/// ```text
/// Limit
///   ->  LockRows
///         ->  Index Scan using inbox_subjects_by_head on inbox_subjects
///               Filter: (ready_at <= clock_timestamp())
/// ```
pub(crate) const CLAIM_NEXT: &str = "
SELECT provider, subject, head_seq FROM inbox_subjects
WHERE ready_at <= clock_timestamp()
ORDER BY head_occurred_at, head_seq
LIMIT 1
FOR UPDATE SKIP LOCKED";

/// Whether event `t` (`seq = $1`) may be claimed now: claimable (pending and
/// due, or running under an expired lease), the oldest open event of its
/// subject, and no other event of the subject held under a live lease; each
/// test an index lookup, so that a stale `inbox_subjects` row (or an event
/// stored since the wakeups were folded) never hands out an event out of turn.
const CLAIMABLE: &str = "t.seq = $1
    AND ((t.state = 'pending' AND t.run_after <= clock_timestamp())
         OR (t.state = 'running' AND t.lease_until <= clock_timestamp()))
    AND t.seq = (
        SELECT o.seq FROM inbox_events o
        WHERE o.provider = t.provider AND o.subject = t.subject
          AND o.state IN ('pending', 'running')
        ORDER BY o.occurred_at, o.seq
        LIMIT 1)
    AND NOT EXISTS (
        SELECT 1 FROM inbox_events r
        WHERE r.provider = t.provider AND r.subject = t.subject AND r.state = 'running'
          AND r.lease_until > clock_timestamp() AND r.seq <> t.seq)";

/// Claims the head found by [`CLAIM_NEXT`] (`$1`) for token `$2` for `$3`
/// seconds, unless all its `$4` runs started (see [`park_abandoned_sql`]).
fn claim_sql() -> String {
    let returning = COLUMNS
        .split(", ")
        .map(|c| format!("t.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "UPDATE inbox_events t SET state = 'running', attempts = t.attempts + 1,
             lease_epoch = t.lease_epoch + 1, lease_token = $2,
             lease_until = clock_timestamp() + make_interval(secs => $3)
         WHERE {CLAIMABLE} AND NOT (t.state = 'running' AND t.attempts >= $4)
         RETURNING {returning}, t.lease_epoch"
    )
}

/// Parks the head found by [`CLAIM_NEXT`] (`$1`) with error `$2` when it is
/// running under an expired lease and all its `$3` runs started.
fn park_abandoned_sql() -> String {
    format!(
        "UPDATE inbox_events t SET state = 'parked', finished_at = now(), last_error = $2,
             lease_token = NULL, lease_until = NULL
         WHERE {CLAIMABLE} AND t.state = 'running' AND t.attempts >= $3"
    )
}

/// `EXPLAIN` of each statement of a claim, in order: finding the subject,
/// claiming its head, parking an abandoned head, and the two lookups of
/// `inbox_refresh_subject` (the same text as in the migration).
pub(crate) async fn explain_claim(client: &Client) -> Result<Vec<String>> {
    let statements = [
        (CLAIM_NEXT.to_owned(), "".to_owned()),
        (claim_sql(), "(0, 'token', 1.0, 1)".to_owned()),
        (park_abandoned_sql(), "(0, 'error', 1)".to_owned()),
        (
            "SELECT e.seq, e.occurred_at FROM inbox_events e
             WHERE e.provider = $1 AND e.subject = $2 AND e.state IN ('pending', 'running')
             ORDER BY e.occurred_at, e.seq LIMIT 1"
                .to_owned(),
            "('spektr', 'subject')".to_owned(),
        ),
        (
            "SELECT MAX(r.lease_until) FROM inbox_events r
             WHERE r.provider = $1 AND r.subject = $2 AND r.state = 'running'"
                .to_owned(),
            "('spektr', 'subject')".to_owned(),
        ),
    ];
    let mut plans = Vec::new();
    for (n, (sql, args)) in statements.iter().enumerate() {
        // A prepared statement, so that the parameters' types are inferred;
        // its generic plan (forced) is what a claim runs on most calls.
        let name = format!("inbox_explain_{n}");
        client
            .batch_execute(&format!(
                "SET plan_cache_mode = force_generic_plan; PREPARE {name} AS {sql}"
            ))
            .await
            .map_err(Error::postgres("explaining a claim"))?;
        let execute = if args.is_empty() {
            format!("EXPLAIN EXECUTE {name}")
        } else {
            format!("EXPLAIN EXECUTE {name} {args}")
        };
        let rows = client
            .query(&execute, &[])
            .await
            .map_err(Error::postgres("explaining a claim"))?;
        client
            .batch_execute(&format!("DEALLOCATE {name}; RESET plan_cache_mode"))
            .await
            .map_err(Error::postgres("explaining a claim"))?;
        plans.push(
            rows.iter()
                .map(|row| row.get::<_, String>(0))
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    Ok(plans)
}

/// Claims run one at a time across all processes (the advisory lock). Each
/// first folds the wakeups of newly stored events into `inbox_subjects`, then
/// takes the ready subject with the oldest head and claims that head.
async fn claim_on(
    client: &mut Client,
    token: &str,
    lease: Duration,
    max_attempts: u32,
) -> Result<Option<(i64, i64, StoredEvent)>> {
    let tx = client
        .transaction()
        .await
        .map_err(Error::postgres("starting a claim"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CLAIM_LOCK])
        .await
        .map_err(Error::postgres("locking for a claim"))?;
    for _ in 0..FOLD_CHUNKS_PER_CLAIM {
        let folded: i32 = tx
            .query_one("SELECT inbox_fold_wakeups($1)", &[&FOLD_CHUNK])
            .await
            .map_err(Error::postgres("folding new events into their subjects"))?
            .get(0);
        if folded < FOLD_CHUNK {
            break;
        }
    }
    let max_attempts = i32::try_from(max_attempts).unwrap_or(i32::MAX);
    let (claim, park) = (claim_sql(), park_abandoned_sql());
    let abandoned = abandoned_error(max_attempts.unsigned_abs());
    let mut claimed = None;
    for _ in 0..MAX_CLAIM_STEPS {
        let Some(next) = tx
            .query_opt(CLAIM_NEXT, &[])
            .await
            .map_err(Error::postgres("finding the next event"))?
        else {
            break;
        };
        let (provider, subject, seq): (&str, &str, i64) = (next.get(0), next.get(1), next.get(2));
        let row = tx
            .query_opt(&claim, &[&seq, &token, &lease.as_secs_f64(), &max_attempts])
            .await
            .map_err(Error::postgres("claiming an event"))?;
        if row.is_none() {
            // Its runs all started and none finished: parked, not claimed for ever.
            let parked = tx
                .execute(&park, &[&seq, &abandoned, &max_attempts])
                .await
                .map_err(Error::postgres("parking an abandoned event"))?;
            if parked == 1 {
                tracing::error!(%provider, %subject, seq, max_attempts, "parked an event whose runs all started and none finished");
            }
        }
        tx.execute(
            "SELECT inbox_refresh_subject($1, $2)",
            &[&provider, &subject],
        )
        .await
        .map_err(Error::postgres("updating a subject"))?;
        if let Some(row) = row {
            // By name and through read_event: robust to COLUMNS growing.
            claimed = Some((seq, row.get::<_, i64>("lease_epoch"), read_event(&row)));
            break;
        }
    }
    tx.commit()
        .await
        .map_err(Error::postgres("committing a claim"))?;
    Ok(claimed)
}

/// Commit groups between two folds of the tallies' changes by the writer.
const FOLD_EVERY_GROUPS: u32 = 100;

/// The writer task: takes the jobs waiting, commits them in one transaction
/// (one statement per table, the rows passed as arrays, in key order), then
/// answers each. A deadlock, a serialization failure or a lost connection is
/// retried (reconnecting); a row the database refuses costs only its own
/// delivery (see [`write_isolated`]); a database that does not answer within
/// [`ANSWER_TIMEOUT`] gets a 503 and a new connection.
async fn run_writer(client: Client, url: String, mut jobs: mpsc::Receiver<Job>) {
    let mut client = Some(client);
    // A job that would overflow a group starts the next one, so that a
    // delivery waiting behind one part of a huge batch is not committed
    // together with (and after the whole of) the next part.
    let mut carried: Option<Job> = None;
    let mut groups_since_fold = 0u32;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match jobs.recv().await {
                Some(job) => job,
                None => break,
            },
        };
        let group = commit_group(first, &mut jobs, &mut carried);
        let started = std::time::Instant::now();
        let rows: usize = group.iter().map(|job| job.rows.len()).sum();
        match write_with_retries(&mut client, &url, &group).await {
            Ok(answers) => {
                crate::metrics::group_committed("postgres", rows, started.elapsed());
                for (job, answer) in group.into_iter().zip(answers) {
                    let _ = job.reply.send(answer.map_err(Error::CommitFailed));
                }
                // The tallies' changes are folded by whoever reads them; fold
                // them here too now and then (after answering: the group's
                // deliveries do not wait for it), so that an inbox nobody
                // scrapes does not keep them all.
                groups_since_fold += 1;
                if groups_since_fold >= FOLD_EVERY_GROUPS {
                    groups_since_fold = 0;
                    if let Some(client) = client.as_ref() {
                        let fold = client.batch_execute("SELECT inbox_fold_tallies()");
                        match tokio::time::timeout(ANSWER_TIMEOUT, fold).await {
                            Ok(Ok(())) => {}
                            Ok(Err(error)) => tracing::warn!(
                                error = %crate::error::describe_postgres(&error),
                                "folding the tallies failed"
                            ),
                            Err(_) => tracing::warn!("folding the tallies timed out"),
                        }
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, deliveries = group.len(), "a commit group failed");
                let reason = error.to_string();
                for job in group {
                    let _ = job.reply.send(Err(Error::CommitFailed(reason.clone())));
                }
            }
        }
    }
}

/// Whether `error` is about a row's content (PostgreSQL refuses this data:
/// SQLSTATE classes 22 data exception, 23 integrity constraint violation, 54
/// program limit exceeded), rather than about the database or the session.
fn refuses_the_data(error: &Error) -> bool {
    match error {
        Error::Postgres { source, .. } => source.code().is_some_and(|code| {
            ["22", "23", "54"]
                .iter()
                .any(|c| code.code().starts_with(c))
        }),
        _ => false,
    }
}

/// Whether `error` comes from one job's rows (their data, or a trigger that
/// refuses them: SQLSTATE class P0), so that the other jobs of its group can
/// be committed.
fn is_about_a_job(error: &Error) -> bool {
    refuses_the_data(error)
        || matches!(error, Error::Postgres { source, .. }
            if source.code().is_some_and(|code| code.code().starts_with("P0")))
}

/// Whether trying the same commit again can succeed: a deadlock, a
/// serialization failure, a server shutting down, or a lost connection.
fn worth_retrying(error: &Error) -> bool {
    match error {
        Error::Postgres { source, .. } => match source.code() {
            Some(code) => {
                ["40P01", "40001", "57P01", "57P02", "57P03"].contains(&code.code())
                    || code.code().starts_with("08")
            }
            None => source.is_closed() || source.to_string().contains("connection"),
        },
        _ => false,
    }
}

/// Commits a group, retrying what is worth retrying up to [`COMMIT_ATTEMPTS`]
/// times; a data error makes the group committed job by job.
async fn write_with_retries(
    client: &mut Option<Client>,
    url: &str,
    group: &[Job],
) -> Result<GroupAnswers> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        if client.as_ref().is_none_or(Client::is_closed) {
            *client = None;
            match connect(url).await {
                Ok(c) => *client = Some(c),
                Err(error) if attempt < COMMIT_ATTEMPTS && worth_retrying(&error) => {
                    tokio::time::sleep(retry_pause(attempt)).await;
                    continue;
                }
                Err(error) => return Err(error),
            }
        }
        let Some(c) = client.as_mut() else {
            continue;
        };
        let result = within("committing", write_group(c, group)).await;
        let result = match result {
            Err(error) if is_about_a_job(&error) => {
                tracing::warn!(%error, "the database refused a row: committing the group delivery by delivery");
                within("committing delivery by delivery", write_isolated(c, group)).await
            }
            other => other,
        };
        match result {
            Ok(answers) => return Ok(answers),
            Err(error @ Error::Timeout { .. }) => {
                // The connection may be stuck in the middle of a message:
                // never use it again.
                *client = None;
                return Err(error);
            }
            Err(error) if attempt < COMMIT_ATTEMPTS && worth_retrying(&error) => {
                tracing::warn!(%error, attempt, "retrying a commit group");
                tokio::time::sleep(retry_pause(attempt)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Runs a database call with [`ANSWER_TIMEOUT`]: a connection that stops
/// answering (a partition, a failover) must not hold a delivery for longer.
async fn within<T>(
    context: &'static str,
    call: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(ANSWER_TIMEOUT, call).await {
        Ok(result) => result,
        Err(_) => {
            crate::metrics::database_error("postgres", "timeout");
            Err(Error::Timeout {
                context,
                after: ANSWER_TIMEOUT,
            })
        }
    }
}

/// The fast path: every row of the group in one transaction.
async fn write_group(client: &mut Client, group: &[Job]) -> Result<GroupAnswers> {
    let rows: Vec<&Row> = group.iter().flat_map(|job| &job.rows).collect();
    let tx = client
        .transaction()
        .await
        .map_err(Error::postgres("starting a write"))?;
    let mut new = insert_rows(&tx, &rows).await?.into_iter();
    tx.commit().await.map_err(Error::postgres("committing"))?;
    Ok(group
        .iter()
        .map(|job| {
            Ok(job
                .rows
                .iter()
                .map(|_| Written::new(new.next().unwrap_or(false)))
                .collect())
        })
        .collect())
}

/// The slow path, after the database refused a row: one transaction, a
/// savepoint per job, so that each job is committed or fails alone; in a job
/// whose rows the database refuses, each refused event is stored as a dead
/// letter with the database's reason, so that its neighbours are stored.
async fn write_isolated(client: &mut Client, group: &[Job]) -> Result<GroupAnswers> {
    let mut tx = client
        .transaction()
        .await
        .map_err(Error::postgres("starting a write"))?;
    let mut answers = Vec::with_capacity(group.len());
    for job in group {
        let mut job_tx = tx
            .savepoint("inbox_job")
            .await
            .map_err(Error::postgres("making a savepoint"))?;
        let rows: Vec<&Row> = job.rows.iter().collect();
        let whole = insert_rows(&job_tx, &rows).await;
        match whole {
            Ok(new) => {
                job_tx
                    .commit()
                    .await
                    .map_err(Error::postgres("releasing a savepoint"))?;
                answers.push(Ok(new.into_iter().map(Written::new).collect()));
                continue;
            }
            Err(error) if !refuses_the_data(&error) => {
                job_tx
                    .rollback()
                    .await
                    .map_err(Error::postgres("rolling back to a savepoint"))?;
                if worth_retrying(&error) {
                    return Err(error);
                }
                answers.push(Err(error.to_string()));
                continue;
            }
            Err(_) => {}
        }
        // Row by row, inside the job's savepoint (rolled back to its start).
        job_tx
            .batch_execute("ROLLBACK TO SAVEPOINT inbox_job")
            .await
            .map_err(Error::postgres("rolling back to a savepoint"))?;
        let written = async {
            let mut written = Vec::with_capacity(job.rows.len());
            for row in &job.rows {
                written.push(insert_one(&mut job_tx, row).await?);
            }
            Ok::<_, Error>(written)
        }
        .await;
        match written {
            Ok(written) => {
                job_tx
                    .commit()
                    .await
                    .map_err(Error::postgres("releasing a savepoint"))?;
                answers.push(Ok(written));
            }
            Err(error) => {
                job_tx
                    .rollback()
                    .await
                    .map_err(Error::postgres("rolling back to a savepoint"))?;
                if worth_retrying(&error) {
                    return Err(error);
                }
                answers.push(Err(error.to_string()));
            }
        }
    }
    tx.commit().await.map_err(Error::postgres("committing"))?;
    Ok(answers)
}

/// One row in a savepoint of its own; an event the database refuses for its
/// content is stored as a dead letter instead.
async fn insert_one(tx: &mut Transaction<'_>, row: &Row) -> Result<Written> {
    let row_tx = tx
        .savepoint("inbox_row")
        .await
        .map_err(Error::postgres("making a savepoint"))?;
    match insert_rows(&row_tx, &[row]).await {
        Ok(new) => {
            row_tx
                .commit()
                .await
                .map_err(Error::postgres("releasing a savepoint"))?;
            Ok(Written::new(new.first().copied().unwrap_or(false)))
        }
        Err(error) => {
            row_tx
                .rollback()
                .await
                .map_err(Error::postgres("rolling back to a savepoint"))?;
            let Row::Event(event) = row else {
                return Err(error);
            };
            if !refuses_the_data(&error) {
                return Err(error);
            }
            let reason = error.to_string();
            tracing::warn!(provider = %event.provider, error = %reason, "an event the database refused is stored as a dead letter");
            let dead = Row::Dead(event.dead_letter(&reason));
            let new = insert_rows(tx, &[&dead]).await?;
            Ok(Written {
                new: new.first().copied().unwrap_or(false),
                refused: Some(reason),
            })
        }
    }
}

/// Inserts `rows` and says, for each in the given order, whether it was new.
/// Events go in key order, so that two writers given the same events never
/// take their keys' locks in opposite orders (a deadlock); dead letters go in
/// delivery order, so that they are listed as sent (two receivers given the
/// same broken batch at once may still deadlock on them: that is retried).
async fn insert_rows(tx: &Transaction<'_>, rows: &[&Row]) -> Result<Vec<bool>> {
    let mut events: Vec<&NewEvent> = Vec::new();
    let mut dead: Vec<&NewDeadLetter> = Vec::new();
    for row in rows {
        match row {
            Row::Event(e) => events.push(e),
            Row::Dead(d) => dead.push(d),
        }
    }
    let event_keys: Vec<(Provider, String)> = events
        .iter()
        .map(|e| (e.provider, e.event_id.clone()))
        .collect();
    let dead_keys: Vec<(Provider, String)> = dead
        .iter()
        .map(|d| (d.provider, d.content_sha256.clone()))
        .collect();
    events.sort_by(|a, b| {
        (a.provider.as_str(), &a.event_id).cmp(&(b.provider.as_str(), &b.event_id))
    });
    let mut new_events = HashSet::new();
    if !events.is_empty() {
        let providers: Vec<&str> = events.iter().map(|e| e.provider.as_str()).collect();
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        let subjects: Vec<&str> = events.iter().map(|e| e.subject.as_str()).collect();
        let times: Vec<DateTime<Utc>> = events.iter().map(|e| e.occurred_at).collect();
        let bodies: Vec<&str> = events.iter().map(|e| e.body.as_str()).collect();
        let authenticated: Vec<bool> = events.iter().map(|e| e.authenticated).collect();
        for row in tx
            .query(
                "INSERT INTO inbox_events
                     (provider, event_id, event_type, subject, occurred_at, body, authenticated)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                      $5::timestamptz[], $6::text[], $7::bool[])
                 ON CONFLICT (provider, event_id) DO NOTHING
                 RETURNING provider, event_id",
                &[
                    &providers,
                    &ids,
                    &types,
                    &subjects,
                    &times,
                    &bodies,
                    &authenticated,
                ],
            )
            .await
            .map_err(Error::postgres("inserting events"))?
        {
            new_events.insert((Provider::from_column(row.get(0)), row.get::<_, String>(1)));
        }
    }
    let mut new_dead = HashSet::new();
    if !dead.is_empty() {
        let providers: Vec<&str> = dead.iter().map(|d| d.provider.as_str()).collect();
        let hashes: Vec<&str> = dead.iter().map(|d| d.content_sha256.as_str()).collect();
        let indexes: Vec<Option<i64>> = dead.iter().map(|d| d.batch_index).collect();
        let errors: Vec<&str> = dead.iter().map(|d| d.error.as_str()).collect();
        let bodies: Vec<&[u8]> = dead.iter().map(|d| d.body.as_slice()).collect();
        for row in tx
            .query(
                "INSERT INTO inbox_dead_letters (provider, content_sha256, batch_index, error, body)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::bytea[])
                 ON CONFLICT (provider, content_sha256) DO NOTHING
                 RETURNING provider, content_sha256",
                &[&providers, &hashes, &indexes, &errors, &bodies],
            )
            .await
            .map_err(Error::postgres("inserting dead letters"))?
        {
            new_dead.insert((Provider::from_column(row.get(0)), row.get::<_, String>(1)));
        }
    }
    let mut events_new = first_occurrences(&event_keys, new_events).into_iter();
    let mut dead_new = first_occurrences(&dead_keys, new_dead).into_iter();
    Ok(rows
        .iter()
        .map(|row| match row {
            Row::Event(_) => events_new.next().unwrap_or(false),
            Row::Dead(_) => dead_new.next().unwrap_or(false),
        })
        .collect())
}

/// Instant wake-up across processes ([`super::pgnotify`]).
impl Postgres {
    /// Notifies the listening processes that new events were committed.
    pub(crate) async fn notify_stored(&self) -> Result<()> {
        self.query("notifying the workers", super::pgnotify::NOTIFY, &[])
            .await
            .map(drop)
    }

    /// Listens on a connection of its own until `stop`, waking `wake`.
    pub(crate) fn listen(
        &self,
        wake: std::sync::Arc<tokio::sync::Notify>,
        stop: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(super::pgnotify::listen(self.url.clone(), wake, stop))
    }
}
