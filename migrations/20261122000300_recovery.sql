-- Recovery: named restore points recorded next to the WAL record that
-- pg_create_restore_point() writes, so that a PITR plan can find the LSN of a
-- name without reading WAL. Operational table (insert-only by convention,
-- written only by create_restore_point()).

-- Up Migration
CREATE TABLE backup_mgmt.restore_point (
    name text PRIMARY KEY
        CONSTRAINT chk_restore_point_name CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
    lsn pg_lsn NOT NULL,
    timeline integer NOT NULL CONSTRAINT chk_restore_point_timeline CHECK (timeline >= 1),
    system_identifier varchar(20) NOT NULL
        CONSTRAINT chk_restore_point_system_identifier CHECK (system_identifier ~ '^[0-9]{1,20}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL DEFAULT session_user
);
COMMENT ON TABLE backup_mgmt.restore_point IS 'Named restore points (pg_create_restore_point) with the LSN and timeline of their WAL record; recovery targets of kind name. Written by create_restore_point().';
COMMENT ON COLUMN backup_mgmt.restore_point.lsn IS 'what pg_create_restore_point() returned: the end of the restore point''s WAL record';
CREATE INDEX idx_restore_point_system_lsn ON backup_mgmt.restore_point (system_identifier, lsn);

-- PITR planning looks for the first archived segment with a commit after a
-- target time, per system and timeline.
CREATE INDEX idx_wal_archive_last_commit ON backup_mgmt.wal_archive (system_identifier, timeline_id, last_commit_time)
    WHERE purged_at IS NULL AND last_commit_time IS NOT NULL;

-- Down Migration
DROP INDEX IF EXISTS backup_mgmt.idx_wal_archive_last_commit;
DROP TABLE IF EXISTS backup_mgmt.restore_point;
