//! PostgreSQL: shared by any number of receivers and workers. Each receiver
//! has one writer task that commits ingests in groups; workers claim with
//! `FOR UPDATE SKIP LOCKED` under a transaction-scoped advisory lock.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, NoTls};

use super::{commit_group, first_occurrences, AfterFailure, Claimed, Job, Row};
use crate::{Counts, DeadLetter, Error, Provider, Result, State, StoredEvent};

/// The migrations shipped with the crate, in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "0001_inbox.sql",
    include_str!("../../migrations/postgres/0001_inbox.sql"),
)];

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

    pub(crate) async fn claim(&self, token: String, lease: Duration) -> Result<Option<Claimed>> {
        let mut client = self.checkout().await?;
        let result = claim_on(&mut client, &token, lease).await;
        self.checkin(client);
        Ok(result?.map(|(seq, event)| Claimed { seq, token, event }))
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
        let n = self
            .execute(
                "marking an event done",
                "UPDATE inbox_events SET state = 'done', finished_at = now(), lease_token = NULL,
                     lease_until = NULL, last_error = NULL
                 WHERE seq = $1 AND lease_token = $2 AND state = 'running'",
                &[&seq, &token],
            )
            .await?;
        Ok(n == 1)
    }

    pub(crate) async fn fail(
        &self,
        seq: i64,
        token: &str,
        error: &str,
        then: AfterFailure,
    ) -> Result<bool> {
        let n = match then {
            AfterFailure::RetryIn(delay) => {
                self.execute(
                    "recording a failed attempt",
                    "UPDATE inbox_events SET state = 'pending',
                         run_after = now() + make_interval(secs => $1), last_error = $2,
                         lease_token = NULL, lease_until = NULL
                     WHERE seq = $3 AND lease_token = $4 AND state = 'running'",
                    &[&delay.as_secs_f64(), &error, &seq, &token],
                )
                .await?
            }
            AfterFailure::Park => {
                self.execute(
                    "parking an event",
                    "UPDATE inbox_events SET state = 'parked', finished_at = now(), last_error = $1,
                         lease_token = NULL, lease_until = NULL
                     WHERE seq = $2 AND lease_token = $3 AND state = 'running'",
                    &[&error, &seq, &token],
                )
                .await?
            }
        };
        Ok(n == 1)
    }

    pub(crate) async fn extend(&self, seq: i64, token: &str, lease: Duration) -> Result<bool> {
        let n = self
            .execute(
                "extending a lease",
                "UPDATE inbox_events SET lease_until = now() + make_interval(secs => $1)
                 WHERE seq = $2 AND lease_token = $3 AND state = 'running'",
                &[&lease.as_secs_f64(), &seq, &token],
            )
            .await?;
        Ok(n == 1)
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
        let n = self
            .execute(
                "re-queueing an event",
                "UPDATE inbox_events SET state = 'pending', attempts = 0, run_after = now(),
                     finished_at = NULL
                 WHERE provider = $1 AND event_id = $2 AND state = 'parked'",
                &[&provider.as_str(), &id],
            )
            .await?;
        Ok(n == 1)
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

/// Claims run one at a time across all processes (the advisory lock), each on
/// a fresh snapshot, so the "no other event of this subject is held" check
/// cannot race; `SKIP LOCKED` steps over rows a completion is updating.
async fn claim_on(
    client: &mut Client,
    token: &str,
    lease: Duration,
) -> Result<Option<(i64, StoredEvent)>> {
    let tx = client
        .transaction()
        .await
        .map_err(Error::postgres("starting a claim"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CLAIM_LOCK])
        .await
        .map_err(Error::postgres("locking for a claim"))?;
    let sql = format!(
        "WITH next AS (
            SELECT e.seq FROM inbox_events e
            WHERE e.state IN ('pending', 'running')
              AND ((e.state = 'pending' AND e.run_after <= clock_timestamp())
                   OR (e.state = 'running' AND e.lease_until < clock_timestamp()))
              AND NOT EXISTS (
                  SELECT 1 FROM inbox_events o
                  WHERE o.provider = e.provider AND o.subject = e.subject
                    AND o.state IN ('pending', 'running')
                    AND (o.occurred_at, o.seq) < (e.occurred_at, e.seq))
              AND NOT EXISTS (
                  SELECT 1 FROM inbox_events r
                  WHERE r.provider = e.provider AND r.subject = e.subject
                    AND r.state = 'running'
                    AND r.lease_until >= clock_timestamp() AND r.seq <> e.seq)
            ORDER BY e.occurred_at, e.seq
            LIMIT 1
            FOR UPDATE SKIP LOCKED)
         UPDATE inbox_events t SET state = 'running', attempts = t.attempts + 1,
             lease_token = $1, lease_until = clock_timestamp() + make_interval(secs => $2)
         FROM next WHERE t.seq = next.seq
         RETURNING t.seq, {}",
        COLUMNS
            .split(", ")
            .map(|c| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rows = tx
        .query(&sql, &[&token, &lease.as_secs_f64()])
        .await
        .map_err(Error::postgres("claiming an event"))?;
    tx.commit()
        .await
        .map_err(Error::postgres("committing a claim"))?;
    Ok(rows.first().map(|row| {
        let seq: i64 = row.get(0);
        let event = StoredEvent {
            provider: Provider::from_column(row.get(1)),
            event_id: row.get(2),
            event_type: row.get(3),
            subject: row.get(4),
            occurred_at: row.get(5),
            received_at: row.get(6),
            state: State::from_column(row.get(7)),
            attempts: row.get::<_, i32>(8) as u32,
            last_error: row.get(9),
            body: row.get(10),
        };
        (seq, event)
    }))
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
