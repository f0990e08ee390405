-- libsendense schema version 5: the store's current secret key (issue 10). Applied after v4
-- inside the opening transaction; never edited once shipped (a later change is v6).

-- The id of the key the store's secrets are sealed with (the key itself is never stored):
-- recorded when the first secret is sealed and replaced by each rotation, in the rotating
-- transaction. A writer whose key is another one (a key the rotation retired) is refused
-- instead of sealing a secret that the current key cannot open. No row until the first secret.
CREATE TABLE store_secret_key (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    key_id     TEXT    NOT NULL CHECK (length(key_id) = 16),
    updated_at INTEGER NOT NULL
) STRICT;
