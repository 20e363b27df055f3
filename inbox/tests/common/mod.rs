//! Shared by the inbox's tests: databases to run on, and events to send.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

pub const SECRET: &str = "whsec_inbox_test";
pub const POSTGRES_VAR: &str = "KYC_WEBHOOKS_TEST_POSTGRES";

/// A name no other test (or run) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}_{}_{:x}_{}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

enum Kind {
    Sqlite(PathBuf),
    Postgres { admin: String, schema: String },
}

/// A database of its own for one test, removed when dropped.
pub struct Db {
    pub url: String,
    kind: Kind,
}

impl Db {
    /// A fresh SQLite file in a fresh directory.
    pub fn sqlite() -> Db {
        let dir = std::env::temp_dir().join(unique("kyc_inbox"));
        std::fs::create_dir_all(&dir).unwrap();
        Db {
            url: format!("sqlite://{}", dir.join("inbox.db").display()),
            kind: Kind::Sqlite(dir),
        }
    }

    /// The SQLite file's directory.
    pub fn dir(&self) -> Option<&PathBuf> {
        match &self.kind {
            Kind::Sqlite(dir) => Some(dir),
            Kind::Postgres { .. } => None,
        }
    }

    /// A fresh schema on the server `KYC_WEBHOOKS_TEST_POSTGRES` names, or
    /// `None` (saying so on the terminal) when the variable is unset.
    pub async fn postgres() -> Option<Db> {
        let Ok(admin) = std::env::var(POSTGRES_VAR) else {
            // Straight to stderr: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "PostgreSQL test skipped: {POSTGRES_VAR} is not set"
            );
            return None;
        };
        let schema = unique("kyc_inbox");
        let client = admin_client(&admin).await;
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .unwrap();
        let separator = if admin.contains('?') { '&' } else { '?' };
        Some(Db {
            url: format!(
                "{admin}{separator}options=-csearch_path%3D{schema}&application_name={schema}"
            ),
            kind: Kind::Postgres { admin, schema },
        })
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.kind, Kind::Postgres { .. })
    }

    /// Runs SQL on this test's database, outside any inbox (a trigger, a check).
    pub async fn execute(&self, sql: &str) {
        match &self.kind {
            Kind::Sqlite(_) => {
                let path = self.url.trim_start_matches("sqlite://").to_owned();
                let sql = sql.to_owned();
                tokio::task::spawn_blocking(move || {
                    let conn = rusqlite::Connection::open(path).unwrap();
                    conn.busy_timeout(std::time::Duration::from_secs(10))
                        .unwrap();
                    conn.execute_batch(&sql).unwrap();
                })
                .await
                .unwrap();
            }
            Kind::Postgres { .. } => {
                let client = admin_client(&self.url).await;
                client.batch_execute(sql).await.unwrap();
            }
        }
    }

    /// Whether the server connections of this test's inboxes are encrypted:
    /// `Some(true)` if all are, `Some(false)` if one is not, `None` with no
    /// connection (or on SQLite).
    pub async fn connections_use_tls(&self) -> Option<bool> {
        let Kind::Postgres { admin, schema } = &self.kind else {
            return None;
        };
        let client = admin_client(admin).await;
        let row = client
            .query_one(
                "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                 WHERE a.application_name = $1",
                &[schema],
            )
            .await
            .unwrap();
        row.get(0)
    }

    /// Ends every server connection of this test's inboxes (PostgreSQL only).
    pub async fn terminate_connections(&self) {
        if let Kind::Postgres { admin, schema } = &self.kind {
            let client = admin_client(admin).await;
            client
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                    &[schema],
                )
                .await
                .unwrap();
        }
    }
}

async fn admin_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_VAR} is set but the server cannot be reached: {e}"));
    tokio::spawn(connection);
    client
}

impl Drop for Db {
    fn drop(&mut self) {
        match &self.kind {
            Kind::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Kind::Postgres { admin, schema } => {
                let (admin, schema) = (admin.clone(), schema.clone());
                // Its own thread and runtime: drop may run inside a runtime.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        let client = admin_client(&admin).await;
                        let _ = client
                            .execute(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                                &[&schema],
                            )
                            .await;
                        let _ = client
                            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                            .await;
                    });
                })
                .join();
            }
        }
    }
}

/// Generates, for each named `async fn NAME(db: &Db)`, a module `NAME` with
/// one test per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::common::Db::sqlite();
                super::$name(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(kyc_webhooks_test_postgres),
                ignore = "set KYC_WEBHOOKS_TEST_POSTGRES when building the tests to run them on PostgreSQL"
            )]
            async fn postgres() {
                if let Some(db) = $crate::common::Db::postgres().await {
                    super::$name(&db).await;
                }
            }
        }
    )*};
}

/// A Spektr event of a type the core does not know (kept whole), so any
/// `data` decodes.
pub fn spektr_event(id: &str, subject: &str, timestamp_ms: i64) -> String {
    format!(
        r#"{{"id": "{id}", "spektrId": "{subject}", "workspaceId": "w1", "eventType": "inbox_test", "timestamp": {timestamp_ms}, "data": {{"n": 1}}}}"#
    )
}

/// A Spektr batch of these events' texts.
pub fn batch(events: &[String]) -> String {
    format!("{{\"results\": [{}]}}", events.join(", "))
}

/// A PredictaID body of a type the core does not know (kept whole).
pub fn predictaid_event(id: &str, subject: &str, timestamp_ms: i64) -> String {
    let at = chrono::DateTime::from_timestamp_millis(timestamp_ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    format!(
        r#"{{"id": "{id}", "type": "inbox.test", "occurredAt": "{at}", "companyId": "comp_1", "aggregateType": "SESSION", "aggregateId": "{subject}", "data": {{"n": 1}}, "version": "v1"}}"#
    )
}

/// The signature PredictaID would send for `body`.
pub fn sign(body: &[u8]) -> String {
    kyc_webhooks::predictaid::sign(body, SECRET.as_bytes())
}

pub fn secrets() -> kyc_webhooks::predictaid::Secrets {
    kyc_webhooks::predictaid::Secrets::new([SECRET])
}
