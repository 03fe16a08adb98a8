-- How far back and how far forward each cluster (system, timeline) can be recovered.

CREATE OR REPLACE VIEW backup_mgmt.recoverability
WITH (security_invoker = true) AS
WITH segment AS (
    -- Archived WAL segments still in the repository (.partial, .backup and
    -- .history files are not segments of the stream).
    SELECT w.system_identifier, w.timeline_id, backup_mgmt.wal_segno(w.file_name) AS segno,
           w.archived_at, w.last_commit_time
      FROM backup_mgmt.wal_archive AS w
     WHERE w.purged_at IS NULL AND w.corrupt_at IS NULL AND w.file_name ~ '^[0-9A-F]{24}$'
),
grouped AS (
    -- Maximal runs of consecutive segments (gaps-and-islands), and for every
    -- segment the newest commit from it to the end of its run (a suffix max:
    -- one sort, where a subquery per backup re-read the segments, quadratic).
    SELECT g.*,
           max(g.last_commit_time) OVER (PARTITION BY g.system_identifier, g.timeline_id, g.grp ORDER BY g.segno DESC
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS newest_commit_to_run_end
      FROM (SELECT s.system_identifier, s.timeline_id, s.segno, s.last_commit_time,
                   s.segno - row_number() OVER (PARTITION BY s.system_identifier, s.timeline_id ORDER BY s.segno) AS grp
              FROM segment AS s) AS g
),
run AS (
    SELECT g.system_identifier, g.timeline_id, min(g.segno) AS first_segno, max(g.segno) AS last_segno
      FROM grouped AS g
     GROUP BY g.system_identifier, g.timeline_id, g.grp
),
kept AS (
    -- Completed full backups whose files are still stored. A backup is
    -- consistent only once it ended: stop_time (else the end time) counts.
    SELECT c.backup_hk, c.backup_bk, c.verification_status, l.system_identifier, l.timeline_id,
           l.start_lsn, l.stop_lsn, coalesce(l.stop_time, c.backup_end_time) AS stop_time,
           backup_mgmt.wal_segno_of_lsn(l.start_lsn) AS start_segno,
           backup_mgmt.wal_segno_of_lsn(l.stop_lsn - 1::numeric) AS stop_segno
      FROM backup_mgmt.backup_execution_current AS c
      JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_hk = c.backup_hk
      LEFT JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = c.backup_hk
     WHERE c.backup_type = 'FULL' AND c.backup_status = 'COMPLETED' AND st.files_present IS NOT FALSE
       AND l.system_identifier IS NOT NULL AND l.timeline_id IS NOT NULL
       AND l.start_lsn IS NOT NULL AND l.stop_lsn > l.start_lsn
),
usable AS (
    -- Verified backups whose WAL from their start segment through their stop
    -- segment is archived; the run they sit in is how far replay can go.
    SELECT k.backup_hk, k.backup_bk, k.system_identifier, k.timeline_id, k.stop_lsn, k.stop_time,
           r.first_segno AS run_first_segno, r.last_segno AS run_last_segno,
           g.newest_commit_to_run_end AS newest_commit_time
      FROM kept AS k
      JOIN run AS r ON r.system_identifier = k.system_identifier AND r.timeline_id = k.timeline_id
                   AND k.start_segno BETWEEN r.first_segno AND r.last_segno
      JOIN grouped AS g ON g.system_identifier = k.system_identifier AND g.timeline_id = k.timeline_id
                       AND g.segno = k.start_segno
     WHERE k.verification_status = 'VERIFIED' AND r.last_segno >= k.stop_segno
),
line AS (
    SELECT s.system_identifier, s.timeline_id FROM segment AS s
    UNION
    SELECT k.system_identifier, k.timeline_id FROM kept AS k
),
bounds AS (
    -- Gaps are looked for from the oldest kept backup's start segment (else
    -- the oldest archived segment) to the newest archived segment.
    SELECT li.system_identifier, li.timeline_id,
           coalesce(kb.first_start, sb.first_segno) AS from_segno, sb.last_segno AS to_segno
      FROM line AS li
      LEFT JOIN (SELECT k.system_identifier, k.timeline_id, min(k.start_segno) AS first_start
                   FROM kept AS k GROUP BY k.system_identifier, k.timeline_id) AS kb
             ON kb.system_identifier = li.system_identifier AND kb.timeline_id = li.timeline_id
      LEFT JOIN (SELECT s.system_identifier, s.timeline_id, min(s.segno) AS first_segno, max(s.segno) AS last_segno
                   FROM segment AS s GROUP BY s.system_identifier, s.timeline_id) AS sb
             ON sb.system_identifier = li.system_identifier AND sb.timeline_id = li.timeline_id
),
gap AS (
    -- Missing ranges [gap_from, gap_to] between present segments.
    SELECT b.system_identifier, b.timeline_id, x.gap_from, x.gap_to
      FROM bounds AS b
     CROSS JOIN LATERAL (
           SELECT coalesce(lag(s.segno) OVER (ORDER BY s.segno), b.from_segno - 1) + 1 AS gap_from, s.segno - 1 AS gap_to
             FROM segment AS s
            WHERE s.system_identifier = b.system_identifier AND s.timeline_id = b.timeline_id
              AND s.segno BETWEEN b.from_segno AND b.to_segno) AS x
     WHERE x.gap_to >= x.gap_from
)
SELECT
    li.system_identifier,
    li.timeline_id,
    -- The bounds are the first and last instants plan_recovery('time', …)
    -- accepts: a base must end before the target (stop_time < T), and replay
    -- stops only at a commit after it (a commit later than T archived).
    e.stop_time + interval '1 microsecond' AS earliest_recoverable_time,
    e.stop_lsn AS earliest_recoverable_lsn,
    e.backup_bk AS earliest_backup_bk,
    lt.latest_time - interval '1 microsecond' AS latest_recoverable_time,
    lt.latest_lsn AS latest_recoverable_lsn,
    coalesce(gn.names, '{}'::text[]) AS wal_gaps,
    coalesce(gc.missing, 0)::bigint AS missing_segments,
    CASE WHEN b.from_segno IS NOT NULL THEN backup_mgmt.wal_file_name(li.timeline_id, b.from_segno) END AS oldest_needed_segment,
    n.newest_segment,
    n.newest_archived_at,
    -- This cluster: from the newest WAL byte stored by either path (streamed
    -- or archived, wal_stored_position()); other clusters: archive age.
    CASE WHEN li.system_identifier = (SELECT c.system_identifier::text FROM pg_control_system() AS c)
         THEN (SELECT p.rpo_seconds FROM backup_mgmt.wal_stored_position() AS p)
         ELSE round(extract(epoch FROM now() - n.newest_archived_at), 3) END AS rpo_seconds,
    coalesce(w.windows, '[]'::jsonb) AS windows
FROM line AS li
JOIN bounds AS b ON b.system_identifier = li.system_identifier AND b.timeline_id = li.timeline_id
-- The oldest usable backup opens the window.
LEFT JOIN LATERAL (
    SELECT u.stop_time, u.stop_lsn, u.backup_bk FROM usable AS u
     WHERE u.system_identifier = li.system_identifier AND u.timeline_id = li.timeline_id
     ORDER BY u.stop_lsn, u.backup_bk
     LIMIT 1
) AS e ON true
-- The newest archived commit reachable from a usable backup closes it for
-- time targets (PostgreSQL 15 only promotes once a later commit is replayed);
-- the last byte of the archived run closes it for LSN targets.
LEFT JOIN LATERAL (
    SELECT max(u.newest_commit_time) FILTER (WHERE u.newest_commit_time > u.stop_time) AS latest_time,
           max(backup_mgmt.wal_segment_start_lsn(u.run_last_segno + 1) - 1::numeric) AS latest_lsn
      FROM usable AS u
     WHERE u.system_identifier = li.system_identifier AND u.timeline_id = li.timeline_id
) AS lt ON true
LEFT JOIN LATERAL (
    SELECT array_agg(backup_mgmt.wal_file_name(li.timeline_id, m.segno) ORDER BY m.segno) AS names
      FROM (SELECT gs AS segno
              FROM gap AS g
             CROSS JOIN LATERAL generate_series(g.gap_from, least(g.gap_to, g.gap_from + 999)) AS gs
             WHERE g.system_identifier = li.system_identifier AND g.timeline_id = li.timeline_id
             ORDER BY gs
             LIMIT 1000) AS m
) AS gn ON true
LEFT JOIN LATERAL (
    SELECT sum(g.gap_to - g.gap_from + 1) AS missing FROM gap AS g
     WHERE g.system_identifier = li.system_identifier AND g.timeline_id = li.timeline_id
) AS gc ON true
LEFT JOIN LATERAL (
    SELECT backup_mgmt.wal_file_name(li.timeline_id, s.segno) AS newest_segment, s.archived_at AS newest_archived_at
      FROM segment AS s
     WHERE s.system_identifier = li.system_identifier AND s.timeline_id = li.timeline_id
     ORDER BY s.segno DESC
     LIMIT 1
) AS n ON true
-- One window per archived run that holds a usable backup: targets between
-- two windows fall into a WAL gap.
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object(
               'base_backup_bk', x.base_backup_bk,
               'from_time', x.from_time, 'to_time', x.to_time,
               'from_lsn', x.from_lsn, 'to_lsn', x.to_lsn,
               'to_segment', backup_mgmt.wal_file_name(li.timeline_id, x.run_last_segno))
             ORDER BY x.from_lsn) AS windows
      FROM (SELECT u.run_last_segno,
                   (array_agg(u.backup_bk ORDER BY u.stop_lsn))[1] AS base_backup_bk,
                   min(u.stop_time) + interval '1 microsecond' AS from_time,
                   max(u.newest_commit_time) FILTER (WHERE u.newest_commit_time > u.stop_time) - interval '1 microsecond' AS to_time,
                   min(u.stop_lsn) AS from_lsn,
                   backup_mgmt.wal_segment_start_lsn(u.run_last_segno + 1) - 1::numeric AS to_lsn
              FROM usable AS u
             WHERE u.system_identifier = li.system_identifier AND u.timeline_id = li.timeline_id
             GROUP BY u.run_last_segno) AS x
) AS w ON true;

COMMENT ON VIEW backup_mgmt.recoverability IS
'Per (system_identifier, timeline_id), security_invoker: earliest_recoverable_time/lsn = end (stop_time + 1 microsecond, stop_lsn) of the oldest COMPLETED+VERIFIED full backup whose WAL from its start segment through its stop segment is archived and intact; latest_recoverable_time = newest last_commit_time in the archived run of segments continuing from a usable backup, minus 1 microsecond (a time target T is recoverable only if an archived commit is later than T): both bounds are accepted by plan_recovery(''time'', …); segments marked damaged (corrupt_at) count as missing; latest_recoverable_lsn = last byte of that run; wal_gaps = names of missing segments (at most 1000; missing_segments counts all) between the oldest kept full backup''s start segment and the newest archived segment; rpo_seconds = for this cluster the RPO of wal_stored_position() (0 when nothing beyond the newest stored WAL byte, streamed or archived, is written), for others now - archived_at of the newest archived segment; windows = one [from, to] per archived run holding a usable backup (targets between windows fall into a gap). Segment numbers use this cluster''s wal_segment_size.';
