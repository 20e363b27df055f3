-- kyc-webhooks-inbox, SQLite schema 4: what operations read cheaply (the
-- events by state and the dead letters, kept as tallies; the oldest pending
-- event per provider) and retention (a done event's body pruned, its row
-- kept so that a redelivery is still recognised).

-- Events by provider and state, and dead letters by provider (tally
-- 'dead_letters'), kept current by the triggers below: reading them is a
-- handful of rows, never a scan. SQLite has one writer at a time, so the
-- counters cannot contend.
CREATE TABLE inbox_tallies (
    provider TEXT    NOT NULL,
    tally    TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (provider, tally)
) WITHOUT ROWID;
INSERT INTO inbox_tallies (provider, tally, n)
    SELECT provider, state, COUNT(*) FROM inbox_events GROUP BY provider, state;
INSERT INTO inbox_tallies (provider, tally, n)
    SELECT provider, 'dead_letters', COUNT(*) FROM inbox_dead_letters GROUP BY provider;

CREATE TRIGGER inbox_tally_event_stored AFTER INSERT ON inbox_events BEGIN
    INSERT INTO inbox_tallies (provider, tally, n) VALUES (NEW.provider, NEW.state, 1)
        ON CONFLICT (provider, tally) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER inbox_tally_event_moved AFTER UPDATE OF state ON inbox_events
    WHEN OLD.state <> NEW.state BEGIN
    UPDATE inbox_tallies SET n = n - 1 WHERE provider = OLD.provider AND tally = OLD.state;
    INSERT INTO inbox_tallies (provider, tally, n) VALUES (NEW.provider, NEW.state, 1)
        ON CONFLICT (provider, tally) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER inbox_tally_event_removed AFTER DELETE ON inbox_events BEGIN
    UPDATE inbox_tallies SET n = n - 1 WHERE provider = OLD.provider AND tally = OLD.state;
END;
CREATE TRIGGER inbox_tally_dead_letter_stored AFTER INSERT ON inbox_dead_letters BEGIN
    INSERT INTO inbox_tallies (provider, tally, n) VALUES (NEW.provider, 'dead_letters', 1)
        ON CONFLICT (provider, tally) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER inbox_tally_dead_letter_removed AFTER DELETE ON inbox_dead_letters BEGIN
    UPDATE inbox_tallies SET n = n - 1 WHERE provider = OLD.provider AND tally = 'dead_letters';
END;

-- The backlog's age: the oldest pending event of a provider is the first
-- entry of this index.
CREATE INDEX inbox_events_pending_by_received ON inbox_events (provider, received_at)
    WHERE state = 'pending';

-- Retention: a pruned done event keeps its row (provider, id, type,
-- subject, times: a redelivery is still "already stored") with its body
-- emptied, the body's SHA-256 kept in content_sha256, and pruned_at set.
ALTER TABLE inbox_events ADD COLUMN content_sha256 TEXT;
ALTER TABLE inbox_events ADD COLUMN pruned_at INTEGER;
CREATE INDEX inbox_events_prunable ON inbox_events (finished_at)
    WHERE state = 'done' AND pruned_at IS NULL;
CREATE INDEX inbox_dead_letters_by_received ON inbox_dead_letters (received_at);
