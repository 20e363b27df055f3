-- kyc-webhooks-inbox, SQLite schema 2: whether an event's delivery was
-- authenticated (a PredictaID signature; a Spektr delivery through the
-- receiver's secret URL). Events stored before were PredictaID's signed ones
-- and Spektr's unauthenticated ones.
ALTER TABLE inbox_events ADD COLUMN authenticated INTEGER NOT NULL DEFAULT 0;
UPDATE inbox_events SET authenticated = 1 WHERE provider = 'predictaid';
