-- kyc-webhooks-inbox, PostgreSQL schema 3: claims in O(log n) of a subject's
-- backlog, and a fencing token per claim. (Version 3: main's version 2
-- records whether a delivery was authenticated.)

-- Incremented by every claim of the event, never reset (not even by a
-- requeue): a handler's fencing token.
ALTER TABLE inbox_events ADD COLUMN lease_epoch BIGINT NOT NULL DEFAULT 0;

-- One row per subject with open (pending or running) events:
-- - head_occurred_at, head_seq: its oldest open event, the only one a claim
--   may take;
-- - held_until: the latest lease_until of its running events (NULL: none);
-- - ready_at: when the head may be claimed: the later of the head's
--   run_after (pending) or lease_until (running), and held_until.
-- Kept current by every claim, completion, failure, lease renewal and
-- requeue (inbox_refresh_subject), and, for new events, by the claims
-- folding inbox_wakeups.
CREATE TABLE inbox_subjects (
    provider         TEXT        NOT NULL,
    subject          TEXT        NOT NULL,
    head_occurred_at TIMESTAMPTZ NOT NULL,
    head_seq         BIGINT      NOT NULL,
    held_until       TIMESTAMPTZ,
    ready_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (provider, subject)
);
-- A claim walks this index oldest head first and takes the first ready one.
CREATE INDEX inbox_subjects_by_head ON inbox_subjects (head_occurred_at, head_seq, ready_at);

-- The subjects of newly stored events, appended by the writers (insert
-- only: a writer never waits for a subject row a claim or a completion
-- holds) and folded into inbox_subjects by the claims, which hold the claim
-- lock.
CREATE TABLE inbox_wakeups (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider TEXT NOT NULL,
    subject  TEXT NOT NULL
);

CREATE FUNCTION inbox_events_wake_subjects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inbox_wakeups (provider, subject)
    SELECT DISTINCT provider, subject FROM inbox_new_events;
    RETURN NULL;
END
$$;

CREATE TRIGGER inbox_events_wake_subjects AFTER INSERT ON inbox_events
    REFERENCING NEW TABLE AS inbox_new_events
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_events_wake_subjects();

-- Recomputes one subject's row from its open events (two index lookups:
-- inbox_events_open_by_subject and inbox_events_running_by_subject), after
-- locking the row, so that what it computes includes the work of whoever
-- held the row before.
CREATE FUNCTION inbox_refresh_subject(p TEXT, s TEXT) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    head RECORD;
    held TIMESTAMPTZ;
BEGIN
    PERFORM 1 FROM inbox_subjects WHERE provider = p AND subject = s FOR UPDATE;
    SELECT e.seq, e.occurred_at,
           CASE e.state WHEN 'pending' THEN e.run_after ELSE e.lease_until END AS ready
      INTO head
      FROM inbox_events e
     WHERE e.provider = p AND e.subject = s AND e.state IN ('pending', 'running')
     ORDER BY e.occurred_at, e.seq
     LIMIT 1;
    IF NOT FOUND THEN
        DELETE FROM inbox_subjects WHERE provider = p AND subject = s;
        RETURN;
    END IF;
    SELECT MAX(r.lease_until) INTO held
      FROM inbox_events r
     WHERE r.provider = p AND r.subject = s AND r.state = 'running';
    INSERT INTO inbox_subjects (provider, subject, head_occurred_at, head_seq, held_until, ready_at)
    VALUES (p, s, head.occurred_at, head.seq, held, GREATEST(head.ready, held))
    ON CONFLICT (provider, subject) DO UPDATE SET
        head_occurred_at = EXCLUDED.head_occurred_at,
        head_seq = EXCLUDED.head_seq,
        held_until = EXCLUDED.held_until,
        ready_at = EXCLUDED.ready_at;
END
$$;

-- Folds at most `chunk` wakeups into inbox_subjects, oldest first, and
-- deletes them; returns how many it folded.
CREATE FUNCTION inbox_fold_wakeups(chunk INTEGER) RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    folded INTEGER;
    providers TEXT[];
    subjects TEXT[];
BEGIN
    WITH gone AS (
        DELETE FROM inbox_wakeups
         WHERE id IN (SELECT id FROM inbox_wakeups ORDER BY id LIMIT chunk)
        RETURNING provider, subject)
    SELECT (SELECT count(*) FROM gone),
           (SELECT array_agg(d.provider ORDER BY d.provider, d.subject)
              FROM (SELECT DISTINCT provider, subject FROM gone) d),
           (SELECT array_agg(d.subject ORDER BY d.provider, d.subject)
              FROM (SELECT DISTINCT provider, subject FROM gone) d)
      INTO folded, providers, subjects;
    FOR i IN 1 .. COALESCE(array_length(providers, 1), 0) LOOP
        PERFORM inbox_refresh_subject(providers[i], subjects[i]);
    END LOOP;
    RETURN folded;
END
$$;

-- The subjects of the events already stored.
SELECT inbox_refresh_subject(provider, subject)
  FROM (SELECT DISTINCT provider, subject FROM inbox_events
         WHERE state IN ('pending', 'running')) open_subjects;
