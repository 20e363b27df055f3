-- kyc-webhooks-inbox, PostgreSQL schema 2: whether an event's delivery was
-- authenticated (a PredictaID signature; a Spektr delivery through the
-- receiver's secret URL). Events stored before were PredictaID's signed ones
-- and Spektr's unauthenticated ones.
ALTER TABLE inbox_events ADD COLUMN authenticated BOOLEAN NOT NULL DEFAULT false;
UPDATE inbox_events SET authenticated = true WHERE provider = 'predictaid';
