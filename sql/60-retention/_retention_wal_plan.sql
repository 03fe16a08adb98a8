-- Which archived WAL no kept backup needs any more, per cluster and timeline.

CREATE OR REPLACE FUNCTION backup_mgmt._retention_wal_plan(p_kept_fulls bytea[])
RETURNS TABLE (
    system_identifier varchar(20),
    timeline_id integer,
    before_segment text,
    oldest_kept_bk varchar(255),
    repository_root text,
    files bigint,
    stored_bytes bigint,
    first_file text,
    last_file text,
    job_id bigint
)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
-- One big query over small tables: JIT compiling it costs seconds, running it milliseconds.
SET jit = off
AS $$
#variable_conflict use_column
-- p_kept_fulls: the full backups retention keeps (their files stay). On a
-- timeline, WAL before the start segment of the oldest kept full backup of
-- that timeline is needed by nothing kept: no kept backup and no point of
-- the recovery window replays it (the window's base is a kept full backup).
-- A timeline without a kept full backup is cut at the oldest kept full
-- backup of a later timeline of the same cluster (which never replays the
-- older timeline's WAL), and left alone when there is none. History files
-- are never purged. One row per (cluster, timeline) with something to purge,
-- with the DELETE job already purging it, if any.
BEGIN
    RETURN QUERY
    WITH kept AS (
        SELECT l.system_identifier, l.timeline_id, backup_mgmt.wal_segno_of_lsn(l.start_lsn) AS start_segno, c.backup_bk,
               st.repository_root
          FROM backup_mgmt.backup_lsn_current AS l
          JOIN backup_mgmt.backup_execution_current AS c ON c.backup_hk = l.backup_hk
          LEFT JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = l.backup_hk
         WHERE l.backup_hk = ANY (p_kept_fulls) AND l.start_lsn IS NOT NULL AND l.system_identifier IS NOT NULL
    ),
    line AS (
        SELECT DISTINCT w.system_identifier, w.timeline_id
          FROM backup_mgmt.wal_archive AS w
         WHERE w.purged_at IS NULL
    ),
    cut AS (
        SELECT li.system_identifier, li.timeline_id, o.start_segno, o.backup_bk, o.repository_root
          FROM line AS li
          CROSS JOIN LATERAL (
              SELECT k.start_segno, k.backup_bk, k.repository_root FROM kept AS k
               WHERE k.system_identifier = li.system_identifier
                 AND (k.timeline_id = li.timeline_id
                      OR (k.timeline_id > li.timeline_id
                          AND NOT EXISTS (SELECT 1 FROM kept AS s
                                           WHERE s.system_identifier = li.system_identifier AND s.timeline_id = li.timeline_id)))
               ORDER BY (k.timeline_id = li.timeline_id) DESC, k.start_segno, k.backup_bk
               LIMIT 1) AS o
    )
    SELECT c.system_identifier, c.timeline_id, backup_mgmt.wal_file_name(c.timeline_id, c.start_segno), c.backup_bk, c.repository_root,
           count(*), sum(w.stored_bytes)::bigint, min(w.file_name), max(w.file_name),
           (SELECT min(j.job_id) FROM backup_mgmt.job AS j
             WHERE j.job_type = 'DELETE' AND j.status IN ('QUEUED', 'RUNNING')
               AND j.plan->'wal_purge'->>'system_identifier' = c.system_identifier
               AND (j.plan->'wal_purge'->>'timeline')::integer = c.timeline_id)
      FROM cut AS c
      -- Within a timeline name order is segment order: a range of the primary
      -- key, from the timeline's first segment name (its .history file sorts
      -- before it) to before_segment.
      JOIN backup_mgmt.wal_archive AS w
        ON w.system_identifier = c.system_identifier
       AND w.file_name >= backup_mgmt.wal_file_name(c.timeline_id, 0)
       AND w.file_name < backup_mgmt.wal_file_name(c.timeline_id, c.start_segno)
       AND w.timeline_id = c.timeline_id AND w.purged_at IS NULL
     GROUP BY c.system_identifier, c.timeline_id, c.start_segno, c.backup_bk, c.repository_root
     ORDER BY c.system_identifier, c.timeline_id;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._retention_wal_plan(bytea[]) IS
'Internal (cleanup_plan, cleanup_expired_backups): per (system_identifier, timeline_id), the archived WAL (segments, .partial and .backup files; never .history) before the start segment of the oldest kept full backup of that timeline (else of a later timeline of the cluster; else nothing): before_segment, the kept backup that sets it and its repository root, how many files and stored bytes, the first and last file name, and the DELETE job already purging that timeline (QUEUED or RUNNING), if any.';
