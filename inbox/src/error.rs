//! The crate's one error type.

use std::path::PathBuf;

#[cfg(feature = "axum")]
use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// Why an inbox call failed.
///
/// [`Error::status`] maps each to the status a webhook endpoint should
/// answer: a 5xx whenever nothing was committed for a reason the sender cannot
/// fix (the provider retries), a 4xx when the delivery itself is refused.
/// With the cargo feature `axum`, a handler can return it as it is: it is an
/// axum `IntoResponse` with that status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL is neither `sqlite://PATH` nor `postgres://...`.
    #[error("database URL {url:?}: {reason}")]
    Url {
        /// The URL as given (its password, if any, is not repeated here).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A SQLite call failed; nothing of the call's transaction was committed.
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    #[error("SQLite {context}: {source}")]
    Sqlite {
        /// What the inbox was doing.
        context: &'static str,
        /// The driver's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A PostgreSQL call failed; nothing of the call's transaction was committed.
    /// The message holds the server's SQLSTATE and message when it sent one.
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    #[error("PostgreSQL {context}: {}", describe_postgres(source))]
    Postgres {
        /// What the inbox was doing.
        context: &'static str,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The SQLite database file was removed or replaced while open: a commit
    /// would land in a file nobody will read again, so nothing is acknowledged
    /// until the inbox is reopened.
    #[error("the SQLite database file {} is gone or was replaced since it was opened", path.display())]
    DatabaseGone {
        /// The file's path.
        path: PathBuf,
    },
    /// A schema migration shipped with the crate failed to apply.
    #[error("applying migration {version} ({name}): {reason}")]
    Migration {
        /// The migration's number.
        version: i64,
        /// Its file name.
        name: &'static str,
        /// The database's error.
        reason: String,
    },
    /// The database holds migrations newer than this build knows: an older
    /// build must not write to a newer schema.
    #[error("the database is at schema version {found}, newer than this build's {known}")]
    SchemaTooNew {
        /// The newest version applied to the database.
        found: i64,
        /// The newest version this build ships.
        known: i64,
    },
    /// The transaction holding the delivery did not commit (the database
    /// refused a write, the disk is full, the server is down): nothing of it
    /// is stored, and the sender should retry.
    #[error("the transaction holding this delivery did not commit: {0}")]
    CommitFailed(String),
    /// The database did not answer in time (a silent connection, a failover):
    /// the connection is dropped, a new one is made for the next call, and
    /// what the call was committing may or may not be committed, so nothing
    /// is acknowledged (a redelivery is deduplicated).
    #[error(
        "the database did not answer within {after:?} ({context}); the connection was dropped"
    )]
    Timeout {
        /// What the inbox was doing.
        context: &'static str,
        /// How long it waited.
        after: std::time::Duration,
    },
    /// The writer task stopped (it panicked or the inbox is shutting down);
    /// what it was given may or may not be committed, so nothing is acknowledged.
    #[error("the inbox's writer has stopped")]
    WriterStopped,
    /// A PredictaID delivery failed authentication (missing, malformed or wrong
    /// signature): nothing was stored.
    #[error("PredictaID delivery refused: {0}")]
    Unauthenticated(#[source] kyc_webhooks::Error),
    /// An authentic PredictaID delivery whose event-ID header disagrees with
    /// the body's id: nothing was stored.
    #[error("PredictaID delivery refused: {0}")]
    EventIdMismatch(#[source] kyc_webhooks::Error),
    /// The body is well-formed JSON but not a Spektr batch (`{"results": [...]}`),
    /// or it is empty: nothing in it can be kept.
    #[error("not a Spektr batch: {0}")]
    NotABatch(String),
    /// A retention period too long to subtract from now.
    #[error("retention period {period:?} reaches before the representable past")]
    RetentionPeriod {
        /// The period.
        period: std::time::Duration,
    },
    /// No event with this provider and id is stored.
    #[error("no {provider} event with id {id:?} is stored")]
    NoSuchEvent {
        /// The provider.
        provider: crate::Provider,
        /// The event id.
        id: String,
    },
}

impl Error {
    /// The HTTP status a webhook endpoint should answer with this error: 401
    /// for an unauthenticated delivery, 400 for a refused body, 404 for
    /// [`Error::NoSuchEvent`], else 503 (nothing was stored: the provider
    /// should retry).
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Error::EventIdMismatch(_) | Error::NotABatch(_) => StatusCode::BAD_REQUEST,
            Error::NoSuchEvent { .. } => StatusCode::NOT_FOUND,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// [`Error::status`] as a number, for a web framework other than axum.
    pub fn http_status(&self) -> u16 {
        self.status().as_u16()
    }

    /// Wraps a SQLite error, counting it in the metrics by kind.
    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite(context: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
        move |source| {
            use rusqlite::ErrorCode as C;
            let kind = match source.sqlite_error_code() {
                Some(C::DatabaseBusy | C::DatabaseLocked) => "busy",
                Some(C::DiskFull) => "disk_full",
                Some(C::ConstraintViolation) => "constraint",
                Some(C::CannotOpen | C::SystemIoFailure) => "connection",
                _ => "other",
            };
            crate::metrics::database_error("sqlite", kind);
            Error::Sqlite { context, source }
        }
    }

    /// Wraps a PostgreSQL error, counting it in the metrics by kind.
    #[cfg(feature = "postgres")]
    pub(crate) fn postgres(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Error {
        move |source| {
            let kind = match source.code().map(|c| c.code()) {
                Some("40P01") => "deadlock",
                Some("40001") => "serialization",
                Some("57014") => "timeout",
                Some("53100") => "disk_full",
                Some(code) if code.starts_with("23") => "constraint",
                Some(code) if code.starts_with("08") || code.starts_with("57P") => "connection",
                Some(_) => "other",
                // No SQLSTATE: the server sent no error, so the call failed
                // on the way (I/O, TLS, a closed connection, the protocol).
                None => "connection",
            };
            crate::metrics::database_error("postgres", kind);
            Error::Postgres { context, source }
        }
    }
}

/// The answer to a delivery that failed: [`Error::status`], and a body that
/// says no more than the sender may know.
///
/// - 5xx: `not stored, retry later` (the database's error, which may name
///   tables, hosts or SQL, is not sent);
/// - 401: `invalid webhook signature` (whether the signature was missing,
///   malformed or wrong is not said);
/// - 400 and 404: the error's message (the body's shape, the event ids at
///   odds, the event that is not stored: all the sender's own data).
///
/// The whole error is logged through `tracing` (at `error` level for a 5xx,
/// `warn` for a 4xx), since it is not in the answer.
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = if status.is_server_error() {
            tracing::error!(error = %self, "not stored; answering {status} so that the provider retries");
            "not stored, retry later\n".to_owned()
        } else if status == StatusCode::UNAUTHORIZED {
            tracing::warn!(error = %self, "refused");
            "invalid webhook signature\n".to_owned()
        } else {
            tracing::warn!(error = %self, "refused");
            format!("{self}\n")
        };
        (status, body).into_response()
    }
}

/// A PostgreSQL error with the server's SQLSTATE, message, detail and
/// constraint when it sent them (the driver's own `Display` says "db error").
#[cfg(feature = "postgres")]
pub(crate) fn describe_postgres(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(&format!("; {detail}"));
            }
            if let Some(constraint) = db.constraint() {
                text.push_str(&format!("; constraint {constraint}"));
            }
            text
        }
        None => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    }
}

/// `postgres://user:PASSWORD@host/db?password=PASSWORD` with each password
/// shown as `***`.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = out[authority_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| authority_start + i);
        if let Some(at) = out[authority_start..authority_end].rfind('@') {
            let userinfo = &out[authority_start..authority_start + at];
            if let Some(colon) = userinfo.find(':') {
                let from = authority_start + colon + 1;
                out.replace_range(from..authority_start + at, "***");
            }
        }
    }
    // A password in the query string (`?password=...&`) too.
    if let Some(query) = out.find('?') {
        let (head, tail) = out.split_at(query + 1);
        let tail: Vec<String> = tail
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{head}{}", tail.join("&"));
    }
    out
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(all(test, feature = "axum"))]
mod tests {
    use super::*;

    async fn answer(error: Error) -> (u16, String) {
        let response = error.into_response();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("reading the body");
        (status, String::from_utf8(body.to_vec()).expect("UTF-8"))
    }

    fn forged() -> kyc_webhooks::Error {
        kyc_webhooks::predictaid::verify(b"{}", &"0".repeat(64), b"whsec_test")
            .expect_err("a wrong signature")
    }

    #[tokio::test]
    async fn a_failure_to_commit_is_a_503_that_says_nothing_of_the_database() {
        let error = Error::CommitFailed("disk I/O error writing /srv/secret/webhooks.db".into());
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.http_status(), 503);
        assert_eq!(
            answer(error).await,
            (503, "not stored, retry later\n".into())
        );
        let error = Error::Url {
            url: "postgres://app:***@db.internal/app".into(),
            reason: "bad port".into(),
        };
        assert_eq!(
            answer(error).await,
            (503, "not stored, retry later\n".into())
        );
    }

    #[tokio::test]
    async fn an_unauthenticated_delivery_is_a_401_that_does_not_say_why() {
        let error = Error::Unauthenticated(forged());
        assert_eq!(error.http_status(), 401);
        assert_eq!(
            answer(error).await,
            (401, "invalid webhook signature\n".into())
        );
    }

    #[tokio::test]
    async fn a_refused_body_is_a_400_with_its_reason() {
        let error = Error::NotABatch("the body is empty".into());
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            answer(error).await,
            (400, "not a Spektr batch: the body is empty\n".into())
        );
    }

    #[tokio::test]
    async fn an_event_not_stored_is_a_404() {
        let error = Error::NoSuchEvent {
            provider: crate::Provider::Spektr,
            id: "e1".into(),
        };
        assert_eq!(
            answer(error).await,
            (404, "no spektr event with id \"e1\" is stored\n".into())
        );
    }
}
