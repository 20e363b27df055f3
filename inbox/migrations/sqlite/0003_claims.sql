-- kyc-webhooks-inbox, SQLite schema 3: claims in O(log n) of a subject's
-- backlog, and a fencing token per claim. (Version 3: main's version 2
-- records whether a delivery was authenticated.)

-- Incremented by every claim of the event, never reset (not even by a
-- requeue): a handler's fencing token.
ALTER TABLE inbox_events ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;

-- One row per subject with open (pending or running) events, kept current in
-- the transaction of every insert (the trigger below), claim, completion,
-- failure, lease renewal and requeue:
-- - head_occurred_at, head_seq: its oldest open event, the only one a claim
--   may take;
-- - held_until: the latest lease_until of its running events (NULL: none);
-- - ready_at: when the head may be claimed: the later of the head's
--   run_after (pending) or lease_until (running), and held_until.
CREATE TABLE inbox_subjects (
    provider         TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    head_occurred_at INTEGER NOT NULL,
    head_seq         INTEGER NOT NULL,
    held_until       INTEGER,
    ready_at         INTEGER NOT NULL,
    PRIMARY KEY (provider, subject)
) WITHOUT ROWID;
-- A claim walks this index oldest head first and takes the first ready one.
CREATE INDEX inbox_subjects_by_head ON inbox_subjects (head_occurred_at, head_seq, ready_at);

-- A new event is pending and claimable at once (run_after = received_at): it
-- becomes its subject's head when it is older than the head.
CREATE TRIGGER inbox_events_enter_subject AFTER INSERT ON inbox_events
BEGIN
    INSERT INTO inbox_subjects (provider, subject, head_occurred_at, head_seq, held_until, ready_at)
    VALUES (NEW.provider, NEW.subject, NEW.occurred_at, NEW.seq, NULL, NEW.run_after)
    ON CONFLICT (provider, subject) DO UPDATE SET
        head_occurred_at = excluded.head_occurred_at,
        head_seq = excluded.head_seq,
        ready_at = MAX(excluded.ready_at, COALESCE(held_until, excluded.ready_at))
    WHERE excluded.head_occurred_at < head_occurred_at
       OR (excluded.head_occurred_at = head_occurred_at AND excluded.head_seq < head_seq);
END;

-- The subjects of the events already stored.
INSERT INTO inbox_subjects (provider, subject, head_occurred_at, head_seq, held_until, ready_at)
SELECT provider, subject, occurred_at, seq, held, MAX(head_ready, COALESCE(held, head_ready))
FROM (
    SELECT e.provider, e.subject, e.occurred_at, e.seq,
           CASE e.state WHEN 'pending' THEN e.run_after ELSE e.lease_until END AS head_ready,
           (SELECT MAX(r.lease_until) FROM inbox_events r
            WHERE r.provider = e.provider AND r.subject = e.subject AND r.state = 'running') AS held,
           ROW_NUMBER() OVER (PARTITION BY e.provider, e.subject ORDER BY e.occurred_at, e.seq) AS n
    FROM inbox_events e
    WHERE e.state IN ('pending', 'running')
)
WHERE n = 1;
