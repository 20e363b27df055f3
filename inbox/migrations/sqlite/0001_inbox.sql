-- kyc-webhooks-inbox, SQLite schema 1. Times are milliseconds since the Unix
-- epoch (UTC): `datetime(received_at / 1000, 'unixepoch')` shows one.

-- Every event stored once: the unique index on (provider, event_id) decides.
-- `seq` is the rowid: rows are never deleted, so it only grows (no
-- AUTOINCREMENT, which costs a write per insert).
CREATE TABLE inbox_events (
    seq         INTEGER PRIMARY KEY,
    provider    TEXT    NOT NULL CHECK (provider IN ('spektr', 'predictaid')),
    event_id    TEXT    NOT NULL CHECK (event_id <> ''),
    event_type  TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'running', 'done', 'parked')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL,
    lease_token TEXT,
    lease_until INTEGER,
    last_error  TEXT,
    finished_at INTEGER
);
CREATE UNIQUE INDEX inbox_events_provider_event_id ON inbox_events (provider, event_id);
-- The open events of one subject, oldest first: who is next, who holds it.
CREATE INDEX inbox_events_open_by_subject ON inbox_events (provider, subject, occurred_at, seq)
    WHERE state IN ('pending', 'running');
CREATE INDEX inbox_events_open_by_age ON inbox_events (occurred_at, seq)
    WHERE state IN ('pending', 'running');
-- Who holds a subject now (a handful of rows: one per running handler).
CREATE INDEX inbox_events_running_by_subject ON inbox_events (provider, subject)
    WHERE state = 'running';
CREATE INDEX inbox_events_parked ON inbox_events (seq) WHERE state = 'parked';

-- What could not be stored as an event, byte for byte, once per content.
CREATE TABLE inbox_dead_letters (
    seq            INTEGER PRIMARY KEY,
    provider       TEXT    NOT NULL,
    content_sha256 TEXT    NOT NULL,
    batch_index    INTEGER,
    error          TEXT    NOT NULL,
    body           BLOB    NOT NULL,
    received_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX inbox_dead_letters_content ON inbox_dead_letters (provider, content_sha256);
