-- Up Migration
-- Reliability under faults (issue #19).
--
-- A stored WAL segment that a reader found damaged (checksum or header) is a
-- gap until it reads intact again: recoverability, planning and health skip
-- it. Set and cleared by report_wal_integrity().
ALTER TABLE backup_mgmt.wal_archive
    ADD COLUMN corrupt_at timestamptz,
    ADD COLUMN corrupt_detail text;
COMMENT ON COLUMN backup_mgmt.wal_archive.corrupt_at IS 'when a reader (incremental check, restore, presence check) found the stored file damaged; NULL = not known damaged. A gap for recoverability and planning until it reads intact again.';
COMMENT ON COLUMN backup_mgmt.wal_archive.corrupt_detail IS 'why the stored file is damaged, in the reader''s words (file named)';

-- _health_recoverability counts the usable segments of a cluster from the index alone.
CREATE INDEX idx_wal_archive_usable_system ON backup_mgmt.wal_archive (system_identifier)
    WHERE purged_at IS NULL AND corrupt_at IS NULL AND length(file_name) = 24;

-- What an agent's janitor found and could not remove (staging of no live job,
-- restore directories of finished recoveries): reported by health_check().
CREATE TABLE backup_mgmt.agent_leftover (
    agent_id text NOT NULL,
    path text NOT NULL,
    kind text NOT NULL CONSTRAINT chk_agent_leftover_kind CHECK (kind IN ('staging', 'restore')),
    reason text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_id, path)
);
COMMENT ON TABLE backup_mgmt.agent_leftover IS 'Leftovers an agent''s janitor could not remove (path, why); replaced at every janitor run of that agent.';

-- Down Migration
DROP TABLE IF EXISTS backup_mgmt.agent_leftover;
DROP INDEX IF EXISTS backup_mgmt.idx_wal_archive_usable_system;
ALTER TABLE backup_mgmt.wal_archive DROP COLUMN IF EXISTS corrupt_detail, DROP COLUMN IF EXISTS corrupt_at;
