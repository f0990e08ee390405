-- libsendense schema version 4: leases (issue 5). Applied after v3 inside the opening
-- transaction; never edited once shipped (a later change is v5).

-- A pool of resources handed out to jobs as leases: NBD ports, restore NBD devices, ...
-- Two pools exist in every store (below); more can be defined.
CREATE TABLE lease_pools (
    name        TEXT    NOT NULL PRIMARY KEY CHECK (name <> ''),
    description TEXT,
    created_at  INTEGER NOT NULL
) STRICT;

-- The resources of a pool, handed out lowest ordinal first.
CREATE TABLE lease_resources (
    id       INTEGER PRIMARY KEY,
    pool     TEXT    NOT NULL REFERENCES lease_pools (name) ON DELETE CASCADE,
    resource TEXT    NOT NULL CHECK (resource <> ''),
    ordinal  INTEGER NOT NULL,
    UNIQUE (pool, resource),
    UNIQUE (pool, ordinal)
) STRICT;

-- A resource held by an owner (a job id) until released by that owner or until expires_at,
-- after which another owner may take it over. One row per resource (the primary key) makes
-- "the same resource leased twice at once" impossible, also across processes.
CREATE TABLE leases (
    resource_id INTEGER PRIMARY KEY REFERENCES lease_resources (id) ON DELETE CASCADE,
    owner_id    TEXT    NOT NULL CHECK (owner_id <> ''),
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL CHECK (expires_at > acquired_at)
) STRICT;

CREATE INDEX idx_leases_owner_id ON leases (owner_id);
CREATE INDEX idx_leases_expires_at ON leases (expires_at);

INSERT INTO lease_pools (name, description, created_at) VALUES
    ('backup_nbd_port', 'NBD server ports for backup exports (10100-10200)', 0),
    ('restore_nbd_device', 'local NBD devices for restore mounts (/dev/nbd0 to /dev/nbd7)', 0);
WITH RECURSIVE port(n) AS (SELECT 10100 UNION ALL SELECT n + 1 FROM port WHERE n < 10200)
INSERT INTO lease_resources (pool, resource, ordinal) SELECT 'backup_nbd_port', CAST(n AS TEXT), n FROM port;
WITH RECURSIVE dev(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM dev WHERE n < 7)
INSERT INTO lease_resources (pool, resource, ordinal) SELECT 'restore_nbd_device', '/dev/nbd' || n, n FROM dev;
