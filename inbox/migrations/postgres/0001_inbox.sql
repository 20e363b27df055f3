-- kyc-webhooks-inbox, PostgreSQL schema 1.

-- Every event stored once: the unique index on (provider, event_id) decides.
CREATE TABLE inbox_events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider    TEXT        NOT NULL CHECK (provider IN ('spektr', 'predictaid')),
    event_id    TEXT        NOT NULL CHECK (event_id <> ''),
    event_type  TEXT        NOT NULL,
    subject     TEXT        NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    body        TEXT        NOT NULL,
    state       TEXT        NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'running', 'done', 'parked')),
    attempts    INTEGER     NOT NULL DEFAULT 0,
    run_after   TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_token TEXT,
    lease_until TIMESTAMPTZ,
    last_error  TEXT,
    finished_at TIMESTAMPTZ
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
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider       TEXT        NOT NULL,
    content_sha256 TEXT        NOT NULL,
    batch_index    BIGINT,
    error          TEXT        NOT NULL,
    body           BYTEA       NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX inbox_dead_letters_content ON inbox_dead_letters (provider, content_sha256);
