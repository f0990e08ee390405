-- libsendense schema version 3: immutability (issue 4). Applied after v2 inside the opening
-- transaction; never edited once shipped (a later change is v4).

-- The lock window of a completed point: it cannot be deleted while
-- immutable_from <= now < immutable_until. Set when the point completes in an immutable
-- repository whose immutable_config applies to its type (from = completed_at + grace period,
-- until = completed_at + minimum retention), and extended to the point's ancestors in the same
-- transaction, because a point an immutable point depends on must stay at least as long.
-- Both NULL: the point was never locked.
ALTER TABLE backup_jobs ADD COLUMN immutable_from INTEGER;
ALTER TABLE backup_jobs ADD COLUMN immutable_until INTEGER
    CHECK ((immutable_from IS NULL) = (immutable_until IS NULL) AND (immutable_until IS NULL OR immutable_from <= immutable_until));

-- The highest wall-clock time (ms since the Unix epoch) the library has seen while locking,
-- deleting or applying retention. A clock that is later found more than a tolerance behind it
-- has moved backwards, and deletes that depend on a lock window are refused until it is right.
-- No row until the first time is seen.
CREATE TABLE store_clock (
    id            INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    high_water_ms INTEGER NOT NULL CHECK (high_water_ms >= 0),
    updated_at    INTEGER NOT NULL
) STRICT;
