//! SQLite: one file in WAL mode; one writer thread commits ingests in groups.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::{
    abandoned_error, commit_group, AfterFailure, Claimed, GroupAnswers, Job, RawDepth, Row, Written,
};
use crate::{Counts, DeadLetter, Error, Provider, Result, State, StoredEvent};

/// The migrations shipped with the crate, in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_inbox.sql",
        include_str!("../../migrations/sqlite/0001_inbox.sql"),
    ),
    (
        2,
        "0002_authenticated.sql",
        include_str!("../../migrations/sqlite/0002_authenticated.sql"),
    ),
    (
        3,
        "0003_claims.sql",
        include_str!("../../migrations/sqlite/0003_claims.sql"),
    ),
    (
        4,
        "0004_operations.sql",
        include_str!("../../migrations/sqlite/0004_operations.sql"),
    ),
];

/// How long a call waits for another connection's write lock (another
/// process's claim, say) before it fails: a delivery is answered 503 within
/// this, never held longer.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct Sqlite {
    path: PathBuf,
    writer: mpsc::Sender<Job>,
    /// Connections for the workers' and readers' calls (the writer has its own).
    pool: Mutex<Vec<Connection>>,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn to_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(Error::sqlite("opening the database"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(Error::sqlite("setting the busy timeout"))?;
    // WAL: readers do not block the writer; FULL: each commit is synced
    // before it returns, so an acknowledged event survives a power cut.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(Error::sqlite("switching to WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Url {
            url: format!("sqlite://{}", path.display()),
            reason: format!("the database refuses WAL mode (journal mode {mode})"),
        });
    }
    // A 64 MiB page cache keeps more of the indexes in memory as the tables
    // grow (the default is 2 MiB). The WAL is checkpointed every 1,000 pages
    // (4 MiB) and cut back to 4 MiB after a checkpoint: a WAL allowed to grow
    // large takes back the space freed after a full disk.
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 1000;
         PRAGMA journal_size_limit = 4194304;",
    )
    .map_err(Error::sqlite("setting synchronous = FULL"))?;
    Ok(conn)
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(Error::sqlite("starting the migrations"))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS inbox_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(Error::sqlite("creating inbox_migrations"))?;
    let found: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM inbox_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(Error::sqlite("reading inbox_migrations"))?;
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if found > known {
        return Err(Error::SchemaTooNew { found, known });
    }
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        tx.execute_batch(sql).map_err(|e| Error::Migration {
            version,
            name,
            reason: e.to_string(),
        })?;
        tx.execute(
            "INSERT INTO inbox_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![version, name, now_ms()],
        )
        .map_err(Error::sqlite("recording a migration"))?;
    }
    tx.commit()
        .map_err(Error::sqlite("committing the migrations"))
}

impl Sqlite {
    /// Opens (creating if need be) the file, migrates it and starts the writer.
    pub(crate) fn open(path: &Path) -> Result<Sqlite> {
        let mut conn = connect(path)?;
        migrate(&mut conn)?;
        let opened_as = identity(path).ok_or_else(|| Error::DatabaseGone {
            path: path.to_owned(),
        })?;
        let (writer, jobs) = mpsc::channel(1024);
        let owned = path.to_owned();
        std::thread::Builder::new()
            .name("inbox-sqlite-writer".to_owned())
            .spawn(move || run_writer(conn, owned, opened_as, jobs))
            .map_err(|e| Error::CommitFailed(format!("starting the writer thread: {e}")))?;
        Ok(Sqlite {
            path: path.to_owned(),
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

    /// Runs `f` on a pooled connection, off the async threads.
    async fn with_conn<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let pooled = this.pool.lock().map(|mut pool| pool.pop()).unwrap_or(None);
            let mut conn = match pooled {
                Some(conn) => conn,
                None => connect(&this.path)?,
            };
            let result = f(&mut conn);
            if let Ok(mut pool) = this.pool.lock() {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|_| Error::WriterStopped)?
    }

    pub(crate) async fn claim(
        self: &Arc<Self>,
        token: String,
        lease: Duration,
        max_attempts: u32,
    ) -> Result<Option<Claimed>> {
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(Error::sqlite("starting a claim"))?;
            let now = now_ms();
            let lease_until = now.saturating_add(millis(lease));
            let abandoned = abandoned_error(max_attempts);
            for _ in 0..MAX_CLAIM_STEPS {
                let next: Option<(String, String, i64)> = tx
                    .prepare_cached(CLAIM_NEXT)
                    .and_then(|mut stmt| {
                        stmt.query_row(params![now], |row| {
                            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                        })
                        .optional()
                    })
                    .map_err(Error::sqlite("finding the next event"))?;
                let Some((provider, subject, seq)) = next else {
                    break;
                };
                let claimed = tx
                    .prepare_cached(&claim_sql())
                    .and_then(|mut stmt| {
                        stmt.query_row(params![token, lease_until, seq, now, max_attempts], |row| {
                            Ok((read_event(row)?, row.get::<_, i64>("lease_epoch")?))
                        })
                        .optional()
                    })
                    .map_err(Error::sqlite("claiming an event"))?;
                if claimed.is_none() {
                    // Its runs all started and none finished: parked, not
                    // claimed for ever. (?2 is unused here.)
                    let parked = tx
                        .prepare_cached(&park_abandoned_sql())
                        .and_then(|mut stmt| {
                            stmt.execute(params![
                                abandoned,
                                Option::<i64>::None,
                                seq,
                                now,
                                max_attempts
                            ])
                        })
                        .map_err(Error::sqlite("parking an abandoned event"))?;
                    if parked == 1 {
                        tracing::error!(%provider, %subject, seq, max_attempts, "parked an event whose runs all started and none finished");
                    }
                }
                refresh_subject(&tx, &provider, &subject)?;
                if let Some((event, epoch)) = claimed {
                    tx.commit().map_err(Error::sqlite("committing a claim"))?;
                    return Ok(Some(Claimed {
                        seq,
                        token,
                        epoch,
                        event,
                    }));
                }
            }
            tx.commit().map_err(Error::sqlite("committing a claim"))?;
            Ok(None)
        })
        .await
    }

    /// `EXPLAIN QUERY PLAN` of each statement of a claim, in order: finding
    /// the subject, claiming its head, parking an abandoned head, and the
    /// two lookups that bring the subject's row up to date.
    pub(crate) async fn explain_claim(self: &Arc<Self>) -> Result<Vec<String>> {
        self.with_conn(|conn| {
            let statements = [
                (CLAIM_NEXT.to_owned(), 1),
                (claim_sql(), 5),
                (park_abandoned_sql(), 5),
                (SUBJECT_HEAD.to_owned(), 2),
                (SUBJECT_HELD.to_owned(), 2),
            ];
            let mut plans = Vec::new();
            for (sql, arity) in statements {
                let mut stmt = conn
                    .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .map_err(Error::sqlite("explaining a claim"))?;
                let values = vec![rusqlite::types::Value::Integer(0); arity];
                let lines = stmt
                    .query_map(rusqlite::params_from_iter(values), |row| {
                        row.get::<_, String>(3)
                    })
                    .map_err(Error::sqlite("explaining a claim"))?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(Error::sqlite("explaining a claim"))?;
                plans.push(lines.join("\n"));
            }
            Ok(plans)
        })
        .await
    }

    /// Runs `update` (which returns the provider and subject of the row it
    /// changed, if any) and brings that subject's row up to date, in one
    /// transaction; whether a row changed.
    async fn update_and_refresh<P>(
        self: &Arc<Self>,
        context: &'static str,
        update: &'static str,
        params: P,
    ) -> Result<bool>
    where
        P: rusqlite::Params + Send + 'static,
    {
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(Error::sqlite(context))?;
            let changed: Option<(String, String)> = tx
                .prepare_cached(update)
                .and_then(|mut stmt| {
                    stmt.query_row(params, |row| Ok((row.get(0)?, row.get(1)?)))
                        .optional()
                })
                .map_err(Error::sqlite(context))?;
            if let Some((provider, subject)) = &changed {
                refresh_subject(&tx, provider, subject)?;
            }
            tx.commit().map_err(Error::sqlite(context))?;
            Ok(changed.is_some())
        })
        .await
    }

    pub(crate) async fn complete(self: &Arc<Self>, seq: i64, token: &str) -> Result<bool> {
        self.update_and_refresh(
            "marking an event done",
            "UPDATE inbox_events SET state = 'done', finished_at = ?1, lease_token = NULL,
                 lease_until = NULL, last_error = NULL
             WHERE seq = ?2 AND lease_token = ?3 AND state = 'running'
             RETURNING provider, subject",
            (now_ms(), seq, token.to_owned()),
        )
        .await
    }

    pub(crate) async fn fail(
        self: &Arc<Self>,
        seq: i64,
        token: &str,
        error: &str,
        then: AfterFailure,
    ) -> Result<bool> {
        let (token, error) = (token.to_owned(), error.to_owned());
        let now = now_ms();
        match then {
            AfterFailure::RetryIn(delay) => {
                self.update_and_refresh(
                    "recording a failed attempt",
                    "UPDATE inbox_events SET state = 'pending', run_after = ?1, last_error = ?2,
                         lease_token = NULL, lease_until = NULL
                     WHERE seq = ?3 AND lease_token = ?4 AND state = 'running'
                     RETURNING provider, subject",
                    (now.saturating_add(millis(delay)), error, seq, token),
                )
                .await
            }
            AfterFailure::Snooze(delay) => {
                self.update_and_refresh(
                    "snoozing an event",
                    "UPDATE inbox_events SET state = 'pending', run_after = ?1,
                         attempts = MAX(attempts - 1, 0), lease_token = NULL, lease_until = NULL
                     WHERE seq = ?2 AND lease_token = ?3 AND state = 'running'
                     RETURNING provider, subject",
                    (now.saturating_add(millis(delay)), seq, token),
                )
                .await
            }
            AfterFailure::Park => {
                self.update_and_refresh(
                    "recording a failed attempt",
                    "UPDATE inbox_events SET state = 'parked', finished_at = ?1, last_error = ?2,
                         lease_token = NULL, lease_until = NULL
                     WHERE seq = ?3 AND lease_token = ?4 AND state = 'running'
                     RETURNING provider, subject",
                    (now, error, seq, token),
                )
                .await
            }
        }
    }

    pub(crate) async fn extend(
        self: &Arc<Self>,
        seq: i64,
        token: &str,
        lease: Duration,
    ) -> Result<bool> {
        self.update_and_refresh(
            "extending a lease",
            "UPDATE inbox_events SET lease_until = ?1
             WHERE seq = ?2 AND lease_token = ?3 AND state = 'running'
             RETURNING provider, subject",
            (
                now_ms().saturating_add(millis(lease)),
                seq,
                token.to_owned(),
            ),
        )
        .await
    }

    pub(crate) async fn parked(self: &Arc<Self>, limit: i64) -> Result<Vec<StoredEvent>> {
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM inbox_events WHERE state = 'parked' ORDER BY seq LIMIT ?1"
                ))
                .map_err(Error::sqlite("listing parked events"))?;
            let rows = stmt
                .query_map(params![limit], read_event)
                .map_err(Error::sqlite("listing parked events"))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(Error::sqlite("listing parked events"))
        })
        .await
    }

    /// Prunes up to `limit` done events finished before `cutoff` (oldest
    /// first), in one short transaction: each keeps its row, its body's
    /// SHA-256 in `content_sha256`, and `pruned_at`; the body is emptied.
    pub(crate) async fn prune_done(
        self: &Arc<Self>,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64> {
        let cutoff = cutoff.timestamp_millis();
        self.with_conn(move |conn| {
            let context = "pruning done events";
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(Error::sqlite(context))?;
            let picked = tx
                .prepare_cached(
                    "SELECT seq, body FROM inbox_events
                     WHERE state = 'done' AND pruned_at IS NULL AND finished_at < ?1
                     ORDER BY finished_at LIMIT ?2",
                )
                .and_then(|mut stmt| {
                    stmt.query_map(params![cutoff, limit], |row| {
                        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(Error::sqlite(context))?;
            let now = now_ms();
            let mut pruned = 0;
            {
                let mut update = tx
                    .prepare_cached(
                        "UPDATE inbox_events SET body = '', content_sha256 = ?1, pruned_at = ?2
                         WHERE seq = ?3 AND state = 'done'",
                    )
                    .map_err(Error::sqlite(context))?;
                for (seq, body) in picked {
                    pruned += update
                        .execute(params![super::sha256_hex(body.as_bytes()), now, seq])
                        .map_err(Error::sqlite(context))? as u64;
                }
            }
            tx.commit().map_err(Error::sqlite(context))?;
            Ok(pruned)
        })
        .await
    }

    /// Removes up to `limit` dead letters received before `cutoff`, oldest
    /// first.
    pub(crate) async fn prune_dead_letters(
        self: &Arc<Self>,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64> {
        let cutoff = cutoff.timestamp_millis();
        self.with_conn(move |conn| {
            conn.prepare_cached(
                "DELETE FROM inbox_dead_letters WHERE seq IN (
                     SELECT seq FROM inbox_dead_letters WHERE received_at < ?1
                     ORDER BY received_at LIMIT ?2)",
            )
            .and_then(|mut stmt| stmt.execute(params![cutoff, limit]))
            .map(|n| n as u64)
            .map_err(Error::sqlite("pruning dead letters"))
        })
        .await
    }

    /// How many done events and dead letters a prune with these cutoffs
    /// would remove (a dry run).
    pub(crate) async fn prunable(
        self: &Arc<Self>,
        done: Option<DateTime<Utc>>,
        dead_letters: Option<DateTime<Utc>>,
    ) -> Result<(u64, u64)> {
        self.with_conn(move |conn| {
            // The rows before `cutoff` that `sql` counts (none without one).
            let count = |sql: &str, cutoff: Option<DateTime<Utc>>| -> Result<u64> {
                let Some(cutoff) = cutoff else { return Ok(0) };
                conn.query_row(sql, [cutoff.timestamp_millis()], |row| row.get::<_, i64>(0))
                    .map(|n| n.max(0) as u64)
                    .map_err(Error::sqlite("counting what a prune would remove"))
            };
            Ok((
                count(
                    "SELECT COUNT(*) FROM inbox_events
                     WHERE state = 'done' AND pruned_at IS NULL AND finished_at < ?1",
                    done,
                )?,
                count(
                    "SELECT COUNT(*) FROM inbox_dead_letters WHERE received_at < ?1",
                    dead_letters,
                )?,
            ))
        })
        .await
    }

    pub(crate) async fn requeue(self: &Arc<Self>, provider: Provider, id: &str) -> Result<bool> {
        self.update_and_refresh(
            "re-queueing an event",
            "UPDATE inbox_events SET state = 'pending', attempts = 0, run_after = ?1,
                 finished_at = NULL
             WHERE provider = ?2 AND event_id = ?3 AND state = 'parked'
             RETURNING provider, subject",
            (now_ms(), provider.as_str(), id.to_owned()),
        )
        .await
    }

    pub(crate) async fn event(
        self: &Arc<Self>,
        provider: Provider,
        id: &str,
    ) -> Result<Option<StoredEvent>> {
        let id = id.to_owned();
        self.with_conn(move |conn| {
            conn.query_row(
                &format!(
                    "SELECT {COLUMNS} FROM inbox_events WHERE provider = ?1 AND event_id = ?2"
                ),
                params![provider.as_str(), id],
                read_event,
            )
            .optional()
            .map_err(Error::sqlite("reading an event"))
        })
        .await
    }

    /// The tallies (`inbox_tallies`: a handful of rows) and, per provider,
    /// when its oldest pending event was received (the first entry of
    /// `inbox_events_pending_by_received`).
    pub(crate) async fn depth(self: &Arc<Self>) -> Result<RawDepth> {
        self.with_conn(|conn| {
            let context = "reading the tallies";
            let mut stmt = conn
                .prepare_cached("SELECT provider, tally, n FROM inbox_tallies")
                .map_err(Error::sqlite(context))?;
            let tallies = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .map_err(Error::sqlite(context))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(Error::sqlite(context))?;
            let mut oldest_pending = Vec::new();
            for provider in Provider::ALL {
                let oldest: Option<i64> = conn
                    .query_row(
                        "SELECT MIN(received_at) FROM inbox_events
                         WHERE provider = ?1 AND state = 'pending'",
                        [provider.as_str()],
                        |row| row.get(0),
                    )
                    .map_err(Error::sqlite("reading the oldest pending event"))?;
                oldest_pending.push((provider, oldest.map(to_time)));
            }
            Ok(RawDepth {
                tallies,
                oldest_pending,
            })
        })
        .await
    }

    pub(crate) async fn counts(self: &Arc<Self>) -> Result<Counts> {
        self.with_conn(|conn| {
            let mut counts = Counts::default();
            let mut stmt = conn
                .prepare(
                    "SELECT provider, event_type, state, COUNT(*) FROM inbox_events
                     GROUP BY provider, event_type, state ORDER BY provider, event_type, state",
                )
                .map_err(Error::sqlite("counting events"))?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                })
                .map_err(Error::sqlite("counting events"))?;
            for row in rows {
                let (provider, event_type, state, n) =
                    row.map_err(Error::sqlite("counting events"))?;
                counts.add_row(&provider, event_type, &state, n);
            }
            counts.dead_letters =
                conn.query_row("SELECT COUNT(*) FROM inbox_dead_letters", [], |row| {
                    row.get::<_, i64>(0)
                })
                .map_err(Error::sqlite("counting dead letters"))? as u64;
            Ok(counts)
        })
        .await
    }

    pub(crate) async fn remove_dead_letter(
        self: &Arc<Self>,
        provider: Provider,
        sha256: &str,
    ) -> Result<bool> {
        let sha256 = sha256.to_owned();
        self.with_conn(move |conn| {
            let n = conn
                .execute(
                    "DELETE FROM inbox_dead_letters WHERE provider = ?1 AND content_sha256 = ?2",
                    params![provider.as_str(), sha256],
                )
                .map_err(Error::sqlite("removing a dead letter"))?;
            Ok(n == 1)
        })
        .await
    }

    pub(crate) async fn dead_letters(self: &Arc<Self>, limit: i64) -> Result<Vec<DeadLetter>> {
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT provider, content_sha256, batch_index, error, body, received_at
                     FROM inbox_dead_letters ORDER BY seq LIMIT ?1",
                )
                .map_err(Error::sqlite("listing dead letters"))?;
            let rows = stmt
                .query_map(params![limit], |row| {
                    Ok(DeadLetter {
                        provider: Provider::from_column(&row.get::<_, String>(0)?),
                        content_sha256: row.get(1)?,
                        batch_index: row.get::<_, Option<i64>>(2)?.map(|i| i as u64),
                        error: row.get(3)?,
                        body: row.get(4)?,
                        received_at: to_time(row.get(5)?),
                    })
                })
                .map_err(Error::sqlite("listing dead letters"))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(Error::sqlite("listing dead letters"))
        })
        .await
    }
}

const COLUMNS: &str = "provider, event_id, event_type, subject, occurred_at, received_at, state, \
                       attempts, last_error, body, authenticated";

fn read_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        provider: Provider::from_column(&row.get::<_, String>(0)?),
        event_id: row.get(1)?,
        event_type: row.get(2)?,
        subject: row.get(3)?,
        occurred_at: to_time(row.get(4)?),
        received_at: to_time(row.get(5)?),
        state: State::from_column(&row.get::<_, String>(6)?),
        attempts: row.get::<_, i64>(7)? as u32,
        last_error: row.get(8)?,
        body: row.get(9)?,
        authenticated: row.get(10)?,
    })
}

/// The subject whose head is the oldest claimable event: a walk of
/// `inbox_subjects_by_head` from the oldest head, stepping over subjects not
/// ready (held under a live lease, or waiting for a retry), then one lookup.
/// A lease holds while `lease_until > now`, so that a row with
/// `ready_at <= now` passes [`CLAIMABLE`] too.
///
/// `EXPLAIN QUERY PLAN` (checked by `tests/workers.rs`):
/// ```text
/// SCAN inbox_subjects USING COVERING INDEX inbox_subjects_by_head
/// ```
pub(crate) const CLAIM_NEXT: &str = "
SELECT provider, subject, head_seq FROM inbox_subjects
WHERE ready_at <= ?1
ORDER BY head_occurred_at, head_seq
LIMIT 1";

/// Whether event `t` (`seq = ?3`) may be claimed at `?4`: claimable (pending
/// and due, or running under an expired lease), the oldest open event of its
/// subject, and no other event of the subject held under a live lease. Each
/// test is an index lookup (the primary key, `inbox_events_open_by_subject`,
/// `inbox_events_running_by_subject`), so that a stale `inbox_subjects` row
/// can never hand out an event out of turn.
const CLAIMABLE: &str = "t.seq = ?3
    AND ((t.state = 'pending' AND t.run_after <= ?4)
         OR (t.state = 'running' AND t.lease_until <= ?4))
    AND t.seq = (
        SELECT o.seq FROM inbox_events o
        WHERE o.provider = t.provider AND o.subject = t.subject
          AND o.state IN ('pending', 'running')
        ORDER BY o.occurred_at, o.seq
        LIMIT 1)
    AND NOT EXISTS (
        SELECT 1 FROM inbox_events r
        WHERE r.provider = t.provider AND r.subject = t.subject AND r.state = 'running'
          AND r.lease_until > ?4 AND r.seq <> t.seq)";

/// Claims the head found by [`CLAIM_NEXT`] (`?3`) at `?4` for token `?1`
/// until `?2`, unless all its `?5` runs started (see [`park_abandoned_sql`]).
fn claim_sql() -> String {
    format!(
        "UPDATE inbox_events AS t SET state = 'running', attempts = t.attempts + 1,
             lease_epoch = t.lease_epoch + 1, lease_token = ?1, lease_until = ?2
         WHERE {CLAIMABLE} AND NOT (t.state = 'running' AND t.attempts >= ?5)
         RETURNING {COLUMNS}, lease_epoch"
    )
}

/// Parks the head found by [`CLAIM_NEXT`] (`?3`) with error `?1` when it is
/// running under an expired lease and all its `?5` runs started.
fn park_abandoned_sql() -> String {
    format!(
        "UPDATE inbox_events AS t SET state = 'parked', finished_at = ?4,
             last_error = ?1, lease_token = NULL, lease_until = NULL
         WHERE {CLAIMABLE} AND t.state = 'running' AND t.attempts >= ?5"
    )
}

/// A subject's head: its oldest open event (`inbox_events_open_by_subject`).
const SUBJECT_HEAD: &str = "
SELECT seq, occurred_at, CASE state WHEN 'pending' THEN run_after ELSE lease_until END
FROM inbox_events
WHERE provider = ?1 AND subject = ?2 AND state IN ('pending', 'running')
ORDER BY occurred_at, seq
LIMIT 1";

/// The latest lease of a subject's running events
/// (`inbox_events_running_by_subject`).
const SUBJECT_HELD: &str = "
SELECT MAX(lease_until) FROM inbox_events
WHERE provider = ?1 AND subject = ?2 AND state = 'running'";

/// Claims tried (each parking an abandoned head or finding a stale row) before
/// a claim gives up until the next call.
const MAX_CLAIM_STEPS: usize = 32;

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Brings the row of (`provider`, `subject`) in `inbox_subjects` up to date
/// with its open events (deleting it when there are none): two index lookups.
fn refresh_subject(conn: &Connection, provider: &str, subject: &str) -> Result<()> {
    let head: Option<(i64, i64, Option<i64>)> = conn
        .prepare_cached(SUBJECT_HEAD)
        .and_then(|mut stmt| {
            stmt.query_row(params![provider, subject], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()
        })
        .map_err(Error::sqlite("finding a subject's next event"))?;
    let Some((seq, occurred_at, head_ready)) = head else {
        conn.prepare_cached("DELETE FROM inbox_subjects WHERE provider = ?1 AND subject = ?2")
            .and_then(|mut stmt| stmt.execute(params![provider, subject]))
            .map_err(Error::sqlite("removing a finished subject"))?;
        return Ok(());
    };
    let held: Option<i64> = conn
        .prepare_cached(SUBJECT_HELD)
        .and_then(|mut stmt| stmt.query_row(params![provider, subject], |row| row.get(0)))
        .map_err(Error::sqlite("finding who holds a subject"))?;
    let head_ready = head_ready.unwrap_or(0);
    let ready_at = held.map_or(head_ready, |held| held.max(head_ready));
    conn.prepare_cached(
        "INSERT INTO inbox_subjects
             (provider, subject, head_occurred_at, head_seq, held_until, ready_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (provider, subject) DO UPDATE SET
             head_occurred_at = excluded.head_occurred_at, head_seq = excluded.head_seq,
             held_until = excluded.held_until, ready_at = excluded.ready_at",
    )
    .and_then(|mut stmt| stmt.execute(params![provider, subject, occurred_at, seq, held, ready_at]))
    .map_err(Error::sqlite("updating a subject"))?;
    Ok(())
}

/// The writer thread: takes the jobs waiting, commits them in one
/// transaction, then answers each. A row the database refuses costs only its
/// own delivery (see [`write_isolated`]); after a commit fails for want of
/// disk space, the WAL is checkpointed and truncated so that the space freed
/// meanwhile is there for the next commit.
fn run_writer(
    mut conn: Connection,
    path: PathBuf,
    opened_as: (u64, u64),
    mut jobs: mpsc::Receiver<Job>,
) {
    let mut gone = false;
    // A job that would overflow a group starts the next one, so that a
    // delivery waiting behind one part of a huge batch is not committed
    // together with (and after the whole of) the next part.
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match jobs.blocking_recv() {
                Some(job) => job,
                None => break,
            },
        };
        let group = commit_group(first, &mut jobs, &mut carried);
        let started = std::time::Instant::now();
        let rows: usize = group.iter().map(|job| job.rows.len()).sum();
        let result = if gone {
            Err(Error::DatabaseGone { path: path.clone() })
        } else {
            write_group(&mut conn, &group)
        };
        // A commit into a file that was removed or replaced reaches nobody.
        let result = match result {
            Ok(_) if identity(&path) != Some(opened_as) => {
                gone = true;
                tracing::error!(path = %path.display(), "the SQLite database file is gone or replaced; refusing every delivery until restarted");
                Err(Error::DatabaseGone { path: path.clone() })
            }
            other => other,
        };
        if result.is_ok() {
            crate::metrics::group_committed("sqlite", rows, started.elapsed());
        }
        match result {
            Ok(answers) => {
                for (job, answer) in group.into_iter().zip(answers) {
                    let _ = job.reply.send(answer.map_err(Error::CommitFailed));
                }
            }
            Err(error) => {
                tracing::error!(%error, deliveries = group.len(), "a commit group failed");
                if is_disk_full(&error) {
                    truncate_wal(&conn);
                }
                let reason = error.to_string();
                for job in group {
                    let _ = job.reply.send(Err(Error::CommitFailed(reason.clone())));
                }
            }
        }
    }
}

fn sqlite_code(error: &Error) -> Option<&rusqlite::ffi::Error> {
    match error {
        Error::Sqlite {
            source: rusqlite::Error::SqliteFailure(code, _),
            ..
        } => Some(code),
        _ => None,
    }
}

fn is_disk_full(error: &Error) -> bool {
    sqlite_code(error).is_some_and(|c| c.code == rusqlite::ErrorCode::DiskFull)
}

/// Whether `error` is about a row's content (a CHECK or NOT NULL constraint,
/// a value too big), rather than about the database: a trigger's `RAISE` is
/// the database refusing the write, not the data.
fn refuses_the_data(error: &Error) -> bool {
    const SQLITE_CONSTRAINT_TRIGGER: i32 = 1811;
    sqlite_code(error).is_some_and(|c| match c.code {
        rusqlite::ErrorCode::ConstraintViolation => c.extended_code != SQLITE_CONSTRAINT_TRIGGER,
        rusqlite::ErrorCode::TooBig | rusqlite::ErrorCode::TypeMismatch => true,
        _ => false,
    })
}

/// Whether `error` comes from one job's rows (a constraint, a trigger that
/// refuses them), so that the other jobs of its group can be committed.
fn is_about_a_job(error: &Error) -> bool {
    refuses_the_data(error)
        || sqlite_code(error).is_some_and(|c| c.code == rusqlite::ErrorCode::ConstraintViolation)
}

/// Checkpoints the WAL into the database and truncates it to nothing, giving
/// its space back (best effort: readers may hold part of it).
fn truncate_wal(conn: &Connection) {
    match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
        row.get::<_, i64>(0)
    }) {
        Ok(0) => tracing::info!("the WAL was checkpointed and truncated after a full disk"),
        Ok(_) => tracing::warn!("the WAL could not be truncated yet (readers hold it)"),
        Err(error) => tracing::warn!(%error, "checkpointing the WAL after a full disk failed"),
    }
}

/// The fast path: every row of the group in one transaction.
fn write_group(conn: &mut Connection, group: &[Job]) -> Result<GroupAnswers> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(Error::sqlite("starting a write"))?;
    let received_at = now_ms();
    let mut answers = Vec::with_capacity(group.len());
    for job in group {
        let mut written = Vec::with_capacity(job.rows.len());
        for row in &job.rows {
            match insert_row(&tx, row, received_at) {
                Ok(new) => written.push(Written::new(new)),
                Err(error) if is_about_a_job(&error) => {
                    drop(tx);
                    tracing::warn!(%error, "the database refused a row: committing the group delivery by delivery");
                    return write_isolated(conn, group);
                }
                Err(error) => return Err(error),
            }
        }
        answers.push(Ok(written));
    }
    tx.commit().map_err(Error::sqlite("committing"))?;
    Ok(answers)
}

/// The slow path, after the database refused a row: one transaction, a
/// savepoint per job, so that each job is committed or fails alone; an event
/// the database refuses for its content is stored as a dead letter with the
/// database's reason, so that its neighbours are stored.
fn write_isolated(conn: &mut Connection, group: &[Job]) -> Result<GroupAnswers> {
    let mut tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(Error::sqlite("starting a write"))?;
    let received_at = now_ms();
    let mut answers = Vec::with_capacity(group.len());
    for job in group {
        let mut job_sp = tx
            .savepoint()
            .map_err(Error::sqlite("making a savepoint"))?;
        let written: Result<Vec<Written>> = job
            .rows
            .iter()
            .map(|row| insert_one(&mut job_sp, row, received_at))
            .collect();
        match written {
            Ok(written) => {
                job_sp
                    .commit()
                    .map_err(Error::sqlite("releasing a savepoint"))?;
                answers.push(Ok(written));
            }
            Err(error) if is_about_a_job(&error) => {
                job_sp
                    .rollback()
                    .map_err(Error::sqlite("rolling back to a savepoint"))?;
                drop(job_sp);
                answers.push(Err(error.to_string()));
            }
            // Not about this job: the disk, the file. The whole group fails.
            Err(error) => return Err(error),
        }
    }
    tx.commit().map_err(Error::sqlite("committing"))?;
    Ok(answers)
}

/// One row in a savepoint of its own; an event the database refuses for its
/// content is stored as a dead letter instead.
fn insert_one(tx: &mut rusqlite::Savepoint<'_>, row: &Row, received_at: i64) -> Result<Written> {
    let mut row_sp = tx
        .savepoint()
        .map_err(Error::sqlite("making a savepoint"))?;
    match insert_row(&row_sp, row, received_at) {
        Ok(new) => {
            row_sp
                .commit()
                .map_err(Error::sqlite("releasing a savepoint"))?;
            Ok(Written::new(new))
        }
        Err(error) => {
            row_sp
                .rollback()
                .map_err(Error::sqlite("rolling back to a savepoint"))?;
            drop(row_sp);
            let Row::Event(event) = row else {
                return Err(error);
            };
            if !refuses_the_data(&error) {
                return Err(error);
            }
            let reason = error.to_string();
            tracing::warn!(provider = %event.provider, error = %reason, "an event the database refused is stored as a dead letter");
            let new = insert_row(tx, &Row::Dead(event.dead_letter(&reason)), received_at)?;
            Ok(Written {
                new,
                refused: Some(reason),
            })
        }
    }
}

/// Inserts one row unless its key is stored; whether it was new.
fn insert_row(conn: &Connection, row: &Row, received_at: i64) -> Result<bool> {
    let n = match row {
        Row::Event(e) => conn
            .prepare_cached(
                "INSERT INTO inbox_events
                     (provider, event_id, event_type, subject, occurred_at, received_at, body,
                      run_after, authenticated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, ?8)
                 ON CONFLICT (provider, event_id) DO NOTHING",
            )
            .and_then(|mut insert| {
                insert.execute(params![
                    e.provider.as_str(),
                    e.event_id,
                    e.event_type,
                    e.subject,
                    e.occurred_at.timestamp_millis(),
                    received_at,
                    e.body,
                    e.authenticated,
                ])
            })
            .map_err(Error::sqlite("inserting an event"))?,
        Row::Dead(d) => conn
            .prepare_cached(
                "INSERT INTO inbox_dead_letters
                     (provider, content_sha256, batch_index, error, body, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (provider, content_sha256) DO NOTHING",
            )
            .and_then(|mut insert| {
                insert.execute(params![
                    d.provider.as_str(),
                    d.content_sha256,
                    d.batch_index,
                    d.error,
                    d.body,
                    received_at,
                ])
            })
            .map_err(Error::sqlite("inserting a dead letter"))?,
    };
    Ok(n == 1)
}
