-- libsendense schema version 2: backups (issue 4). Applied after v1 inside the opening
-- transaction; never edited once shipped (a later change is v3).

-- Per-disk points of one VM backup share a group id, so a VM-level restore point can be
-- listed only when every disk of the group completed (an explicit link, never id parsing or
-- time windows).
ALTER TABLE backup_jobs ADD COLUMN backup_group_id TEXT CHECK (backup_group_id <> '');

-- A protected point is never removed (by delete or retention) and never counted by retention.
-- BETWEEN rather than an IN list: same meaning for a STRICT INTEGER column.
ALTER TABLE backup_jobs ADD COLUMN protected INTEGER NOT NULL DEFAULT 0 CHECK (protected BETWEEN 0 AND 1);

-- The size of the point's file (QCOW2) as written, recorded at completion and summed into
-- backup_chains.total_size_bytes. Separate from total_bytes, which is the telemetry's
-- "bytes expected" of the transfer and is overwritten by progress reports.
ALTER TABLE backup_jobs ADD COLUMN size_bytes INTEGER NOT NULL DEFAULT 0 CHECK (size_bytes >= 0);

CREATE INDEX idx_backup_jobs_backup_group_id ON backup_jobs (backup_group_id);

-- Retention counts next to retention_days (NULL: the rule is not used).
ALTER TABLE backup_policies ADD COLUMN keep_last INTEGER CHECK (keep_last IS NULL OR keep_last >= 0);
ALTER TABLE backup_policies ADD COLUMN keep_daily INTEGER CHECK (keep_daily IS NULL OR keep_daily >= 0);
ALTER TABLE backup_policies ADD COLUMN keep_weekly INTEGER CHECK (keep_weekly IS NULL OR keep_weekly >= 0);
ALTER TABLE backup_policies ADD COLUMN keep_monthly INTEGER CHECK (keep_monthly IS NULL OR keep_monthly >= 0);
ALTER TABLE backup_policies ADD COLUMN keep_yearly INTEGER CHECK (keep_yearly IS NULL OR keep_yearly >= 0);
