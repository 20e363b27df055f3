//! PostgreSQL: shared by any number of receivers and workers. Each receiver
//! has one writer task that commits ingests in groups; workers claim with
//! `FOR UPDATE SKIP LOCKED` under a transaction-scoped advisory lock.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, NoTls};

use super::{abandoned_error, commit_group, first_occurrences, AfterFailure, Claimed, Job, Row};
use crate::{Counts, DeadLetter, Error, Provider, Result, State, StoredEvent};

/// The migrations shipped with the crate, in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_inbox.sql",
        include_str!("../../migrations/postgres/0001_inbox.sql"),
    ),
    (
        3,
        "0003_claims.sql",
        include_str!("../../migrations/postgres/0003_claims.sql"),
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

async fn connect(url: &str) -> Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(Error::postgres("connecting"))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "PostgreSQL connection closed");
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

    pub(crate) async fn commit(&self, rows: Vec<Row>) -> Result<Vec<bool>> {
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
        let result = claim_on(&mut client, &token, lease, max_attempts).await;
        self.checkin(client);
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
        let result = async {
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
        }
        .await;
        self.checkin(client);
        result.map_err(Error::postgres(context))
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
        let result = client.execute(sql, params).await;
        self.checkin(client);
        result.map_err(Error::postgres(context))
    }

    async fn query(
        &self,
        context: &'static str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        let client = self.checkout().await?;
        let result = client.query(sql, params).await;
        self.checkin(client);
        result.map_err(Error::postgres(context))
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
                       attempts, last_error, body";

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

/// The writer task: takes the jobs waiting, commits them in one transaction
/// (one statement per table, the rows passed as arrays), then answers each.
/// Reconnects when the connection is lost.
async fn run_writer(client: Client, url: String, mut jobs: mpsc::Receiver<Job>) {
    let mut client = Some(client);
    // A job that would overflow a group starts the next one, so that a
    // delivery waiting behind one part of a huge batch is not committed
    // together with (and after the whole of) the next part.
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match jobs.recv().await {
                Some(job) => job,
                None => break,
            },
        };
        let group = commit_group(first, &mut jobs, &mut carried);
        if client.as_ref().is_none_or(Client::is_closed) {
            client = connect(&url).await.ok();
        }
        let result = match client.as_mut() {
            Some(c) => write_group(c, &group).await.map_err(|e| e.to_string()),
            None => Err("cannot connect to PostgreSQL".to_owned()),
        };
        match result {
            Ok(answers) => {
                for (job, answer) in group.into_iter().zip(answers) {
                    let _ = job.reply.send(Ok(answer));
                }
            }
            Err(reason) => {
                for job in group {
                    let _ = job.reply.send(Err(Error::CommitFailed(reason.clone())));
                }
            }
        }
    }
}

async fn write_group(client: &mut Client, group: &[Job]) -> Result<Vec<Vec<bool>>> {
    let mut event_keys = Vec::new();
    let (mut providers, mut ids, mut types, mut subjects, mut times, mut bodies) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut dead_keys = Vec::new();
    let (mut d_providers, mut d_hashes, mut d_indexes, mut d_errors, mut d_bodies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for job in group {
        for row in &job.rows {
            match row {
                Row::Event(e) => {
                    event_keys.push((e.provider, e.event_id.clone()));
                    providers.push(e.provider.as_str());
                    ids.push(e.event_id.as_str());
                    types.push(e.event_type.as_str());
                    subjects.push(e.subject.as_str());
                    times.push(e.occurred_at);
                    bodies.push(e.body.as_str());
                }
                Row::Dead(d) => {
                    dead_keys.push((d.provider, d.content_sha256.clone()));
                    d_providers.push(d.provider.as_str());
                    d_hashes.push(d.content_sha256.as_str());
                    d_indexes.push(d.batch_index);
                    d_errors.push(d.error.as_str());
                    d_bodies.push(d.body.as_slice());
                }
            }
        }
    }
    let tx = client
        .transaction()
        .await
        .map_err(Error::postgres("starting a write"))?;
    let mut new_events = HashSet::new();
    if !event_keys.is_empty() {
        let times: Vec<DateTime<Utc>> = times;
        for row in tx
            .query(
                "INSERT INTO inbox_events (provider, event_id, event_type, subject, occurred_at, body)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                      $5::timestamptz[], $6::text[])
                 ON CONFLICT (provider, event_id) DO NOTHING
                 RETURNING provider, event_id",
                &[&providers, &ids, &types, &subjects, &times, &bodies],
            )
            .await
            .map_err(Error::postgres("inserting events"))?
        {
            new_events.insert((Provider::from_column(row.get(0)), row.get::<_, String>(1)));
        }
    }
    let mut new_dead = HashSet::new();
    if !dead_keys.is_empty() {
        for row in tx
            .query(
                "INSERT INTO inbox_dead_letters (provider, content_sha256, batch_index, error, body)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::bytea[])
                 ON CONFLICT (provider, content_sha256) DO NOTHING
                 RETURNING provider, content_sha256",
                &[&d_providers, &d_hashes, &d_indexes, &d_errors, &d_bodies],
            )
            .await
            .map_err(Error::postgres("inserting dead letters"))?
        {
            new_dead.insert((Provider::from_column(row.get(0)), row.get::<_, String>(1)));
        }
    }
    tx.commit().await.map_err(Error::postgres("committing"))?;
    let mut events_new = first_occurrences(&event_keys, new_events).into_iter();
    let mut dead_new = first_occurrences(&dead_keys, new_dead).into_iter();
    Ok(group
        .iter()
        .map(|job| {
            job.rows
                .iter()
                .map(|row| match row {
                    Row::Event(_) => events_new.next().unwrap_or(false),
                    Row::Dead(_) => dead_new.next().unwrap_or(false),
                })
                .collect()
        })
        .collect())
}
