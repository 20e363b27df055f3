-- kyc-webhooks-inbox, PostgreSQL schema 4: what operations read cheaply (the
-- events by state and the dead letters, kept as tallies; the oldest pending
-- event per provider) and retention (a done event's body pruned, its row
-- kept so that a redelivery is still recognised).

-- Events by provider and state, and dead letters by provider (tally
-- 'dead_letters'): the folded totals, plus the changes not folded yet.
-- Writers and workers only append changes (one row per statement and
-- tally, never an update of a shared counter row, so no two transactions
-- wait for each other's counters); a reader folds them into the totals
-- (inbox_fold_tallies) and sums what is left.
CREATE TABLE inbox_tallies (
    provider TEXT   NOT NULL,
    tally    TEXT   NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (provider, tally)
);
CREATE TABLE inbox_tally_changes (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider TEXT   NOT NULL,
    tally    TEXT   NOT NULL,
    change   BIGINT NOT NULL
);
INSERT INTO inbox_tallies (provider, tally, n)
    SELECT provider, state, COUNT(*) FROM inbox_events GROUP BY provider, state;
INSERT INTO inbox_tallies (provider, tally, n)
    SELECT provider, 'dead_letters', COUNT(*) FROM inbox_dead_letters GROUP BY provider;

CREATE FUNCTION inbox_tally_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO inbox_tally_changes (provider, tally, change)
        SELECT provider, state, COUNT(*) FROM inbox_tally_new GROUP BY provider, state;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO inbox_tally_changes (provider, tally, change)
        SELECT provider, state, -COUNT(*) FROM inbox_tally_old GROUP BY provider, state;
    ELSE
        INSERT INTO inbox_tally_changes (provider, tally, change)
        SELECT provider, state, SUM(c) FROM (
            SELECT provider, state, -1 AS c FROM inbox_tally_old
            UNION ALL
            SELECT provider, state, 1 FROM inbox_tally_new
        ) moved
        GROUP BY provider, state HAVING SUM(c) <> 0;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER inbox_tally_events_stored AFTER INSERT ON inbox_events
    REFERENCING NEW TABLE AS inbox_tally_new
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_tally_events();
CREATE TRIGGER inbox_tally_events_moved AFTER UPDATE ON inbox_events
    REFERENCING OLD TABLE AS inbox_tally_old NEW TABLE AS inbox_tally_new
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_tally_events();
CREATE TRIGGER inbox_tally_events_removed AFTER DELETE ON inbox_events
    REFERENCING OLD TABLE AS inbox_tally_old
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_tally_events();

CREATE FUNCTION inbox_tally_dead_letters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO inbox_tally_changes (provider, tally, change)
        SELECT provider, 'dead_letters', COUNT(*) FROM inbox_tally_new GROUP BY provider;
    ELSE
        INSERT INTO inbox_tally_changes (provider, tally, change)
        SELECT provider, 'dead_letters', -COUNT(*) FROM inbox_tally_old GROUP BY provider;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER inbox_tally_dead_letters_stored AFTER INSERT ON inbox_dead_letters
    REFERENCING NEW TABLE AS inbox_tally_new
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_tally_dead_letters();
CREATE TRIGGER inbox_tally_dead_letters_removed AFTER DELETE ON inbox_dead_letters
    REFERENCING OLD TABLE AS inbox_tally_old
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_tally_dead_letters();

-- Folds the changes into the totals, unless another session is folding
-- (then its fold will do). Returns the changes folded.
CREATE FUNCTION inbox_fold_tallies() RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    folded BIGINT;
BEGIN
    IF NOT pg_try_advisory_xact_lock(7243611820935) THEN
        RETURN 0;
    END IF;
    WITH moved AS (
        DELETE FROM inbox_tally_changes RETURNING provider, tally, change
    ), summed AS (
        SELECT provider, tally, SUM(change) AS n, COUNT(*) AS rows FROM moved GROUP BY provider, tally
    ), upserted AS (
        INSERT INTO inbox_tallies (provider, tally, n)
        SELECT provider, tally, n FROM summed
        ON CONFLICT (provider, tally) DO UPDATE SET n = inbox_tallies.n + EXCLUDED.n
    )
    SELECT COALESCE(SUM(rows), 0) INTO folded FROM summed;
    RETURN folded;
END
$$;

-- The backlog's age: the oldest pending event of a provider is the first
-- entry of this index.
CREATE INDEX inbox_events_pending_by_received ON inbox_events (provider, received_at)
    WHERE state = 'pending';

-- Retention: a pruned done event keeps its row (provider, id, type,
-- subject, times: a redelivery is still "already stored") with its body
-- emptied, the body's SHA-256 kept in content_sha256, and pruned_at set.
ALTER TABLE inbox_events ADD COLUMN content_sha256 TEXT;
ALTER TABLE inbox_events ADD COLUMN pruned_at TIMESTAMPTZ;
CREATE INDEX inbox_events_prunable ON inbox_events (finished_at)
    WHERE state = 'done' AND pruned_at IS NULL;
CREATE INDEX inbox_dead_letters_by_received ON inbox_dead_letters (received_at);
