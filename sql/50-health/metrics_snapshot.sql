-- Everything the agent's Prometheus endpoint exposes, read in one call.

CREATE OR REPLACE FUNCTION backup_mgmt.metrics_snapshot(p_job_sample integer DEFAULT 100)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
-- One JSON object, times as epoch seconds; src/agent/metrics.ts turns it into
-- the exposition format. Only current rows (partial indexes), the newest
-- completed backups, queued/running jobs, the newest p_job_sample claimed
-- jobs, the WAL registry of this cluster and pg_stat_archiver are read.
DECLARE
    v_sysid text := (SELECT c.system_identifier::text FROM pg_control_system() AS c);
    v_rpo_seconds numeric;
    v_window_seconds numeric;
    v_out jsonb;
BEGIN
    -- System-wide figures: a role bound to a tenant must not see them.
    PERFORM backup_mgmt._require_tenant_access(NULL, 'metrics_snapshot');
    IF p_job_sample IS NULL OR p_job_sample NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'metrics_snapshot: p_job_sample must be between 1 and 10000'
            USING ERRCODE = CASE WHEN p_job_sample IS NULL THEN '22004' ELSE '22023' END,
                  DETAIL = format('p_job_sample: %s', coalesce(p_job_sample::text, 'NULL'));
    END IF;
    BEGIN
        SELECT r.rpo_seconds INTO v_rpo_seconds FROM backup_mgmt._health_rpo() AS r;
        SELECT w.window_seconds INTO v_window_seconds FROM backup_mgmt._health_recovery_window() AS w;
    EXCEPTION WHEN OTHERS THEN
        -- The health rows below say what is wrong; the numbers are then unknown.
        v_rpo_seconds := NULL;
        v_window_seconds := NULL;
    END;

    SELECT jsonb_build_object(
        'at', extract(epoch FROM now()),
        'system_identifier', v_sysid,
        -- Per status only: an index-only scan of the partial status index
        -- (by type as well would read every current row).
        'backups', coalesce((
            SELECT jsonb_agg(jsonb_build_object('status', b.backup_status, 'count', b.n) ORDER BY b.backup_status)
              FROM (SELECT s.backup_status, count(*) AS n
                      FROM backup_mgmt.backup_execution_s AS s
                     WHERE s.load_end_date IS NULL
                     GROUP BY s.backup_status) AS b), '[]'),
        'last_success', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'type', t.backup_type, 'backup_bk', n.backup_bk,
                       'end_time', extract(epoch FROM n.backup_end_time),
                       'age_seconds', round(extract(epoch FROM now() - n.backup_end_time), 3),
                       'duration_seconds', n.backup_duration_seconds,
                       'size_bytes', n.backup_size_bytes,
                       'stored_bytes', n.compressed_size_bytes) ORDER BY t.backup_type)
              FROM (VALUES ('FULL'), ('INCREMENTAL')) AS t (backup_type)
             CROSS JOIN LATERAL (
                   SELECT s.backup_bk, s.backup_end_time, s.backup_duration_seconds, s.backup_size_bytes, s.compressed_size_bytes
                     FROM backup_mgmt.backup_execution_s AS s
                    WHERE s.load_end_date IS NULL AND s.backup_status = 'COMPLETED' AND s.backup_end_time IS NOT NULL
                      AND s.backup_type = t.backup_type
                    ORDER BY s.backup_end_time DESC
                    LIMIT 1) AS n), '[]'),
        'wal', (
            SELECT jsonb_build_object('segments', count(*), 'bytes', coalesce(sum(w.bytes), 0),
                                      'stored_bytes', coalesce(sum(w.stored_bytes), 0),
                                      'newest_archived_at', extract(epoch FROM max(w.archived_at)))
              FROM backup_mgmt.wal_archive AS w
             WHERE w.system_identifier = v_sysid AND w.purged_at IS NULL AND length(w.file_name) = 24),
        'archiver', (
            SELECT jsonb_build_object('archive_mode', current_setting('archive_mode'),
                                      'archived_count', a.archived_count, 'failed_count', a.failed_count,
                                      'last_archived_time', extract(epoch FROM a.last_archived_time),
                                      'last_failed_time', extract(epoch FROM a.last_failed_time),
                                      'stats_reset', extract(epoch FROM a.stats_reset))
              FROM pg_catalog.pg_stat_archiver AS a),
        'rpo_seconds', v_rpo_seconds,
        'recovery_window_seconds', v_window_seconds,
        'jobs', coalesce((
            SELECT jsonb_agg(jsonb_build_object('type', j.job_type, 'status', j.status, 'count', j.n) ORDER BY j.job_type, j.status)
              FROM (SELECT q.job_type, q.status, count(*) AS n FROM backup_mgmt.job AS q WHERE q.status = 'QUEUED' GROUP BY 1, 2
                    UNION ALL
                    SELECT q.job_type, q.status, count(*) FROM backup_mgmt.job AS q WHERE q.status = 'RUNNING' GROUP BY 1, 2) AS j), '[]'),
        'job_pickup', (
            SELECT jsonb_build_object('sample', count(*), 'sum_seconds', round(coalesce(sum(p.seconds), 0), 3),
                                      'p50_seconds', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY p.seconds)::numeric, 3),
                                      'p95_seconds', round(percentile_cont(0.95) WITHIN GROUP (ORDER BY p.seconds)::numeric, 3),
                                      'max_seconds', round(max(p.seconds), 3))
              FROM (SELECT greatest(extract(epoch FROM q.started_at - greatest(q.created_at, q.run_after)), 0) AS seconds
                      FROM backup_mgmt.job AS q
                     WHERE q.started_at IS NOT NULL
                     ORDER BY q.job_id DESC
                     LIMIT p_job_sample) AS p),
        'agents', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'agent_id', a.agent_id,
                       'live', a.heartbeat_at >= now() - backup_mgmt._agent_live_window(),
                       'heartbeat_age_seconds', round(extract(epoch FROM now() - a.heartbeat_at), 3),
                       'free_bytes', a.info->'storage'->'free_bytes',
                       'total_bytes', a.info->'storage'->'total_bytes') ORDER BY a.agent_id)
              FROM backup_mgmt.agent AS a
             WHERE a.stopped_at IS NULL), '[]'),
        -- Repository copies (sql/65-copies): per repository, backups waiting for a copy and WAL behind.
        'copies', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'repository', r.repository_bk,
                       'waiting', (SELECT count(*) FROM backup_mgmt.backup_copies AS bc
                                    WHERE bc.repository = r.repository_bk AND bc.backup_status = 'COMPLETED'
                                      AND bc.copy_status IN ('PENDING', 'COPYING', 'FAILED')),
                       'failed', (SELECT count(*) FROM backup_mgmt.backup_copies AS bc
                                   WHERE bc.repository = r.repository_bk AND bc.backup_status = 'COMPLETED' AND bc.copy_status = 'FAILED'),
                       'oldest_wait_seconds', (SELECT round(extract(epoch FROM now() - min(bc.backup_end_time)), 3) FROM backup_mgmt.backup_copies AS bc
                                                WHERE bc.repository = r.repository_bk AND bc.backup_status = 'COMPLETED'
                                                  AND bc.copy_status IN ('PENDING', 'COPYING', 'FAILED')),
                       'wal_behind', coalesce(r.wal_behind, 0)) ORDER BY r.repository_bk)
              FROM backup_mgmt.backup_repository_current AS r), '[]'),
        'health', (
            SELECT jsonb_agg(jsonb_build_object('check', h.check_name, 'status', h.status, 'value', h.value) ORDER BY h.ord)
              FROM backup_mgmt.health_check() WITH ORDINALITY AS h (check_name, status, value, threshold, detail, ord)))
      INTO v_out;
    RETURN v_out;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.metrics_snapshot(integer) IS
'The numbers behind the agent''s Prometheus /metrics, as one JSON object (times in epoch seconds): backups (count per current status), last_success (newest COMPLETED FULL and INCREMENTAL: end time, age, duration, database and stored bytes), wal (segments and bytes registered for this cluster, newest archived_at), archiver (pg_stat_archiver counters), rpo_seconds and recovery_window_seconds (as in health_check), jobs (QUEUED and RUNNING per type), job_pickup (sample size, sum, p50/p95/max seconds from due to claim over the newest p_job_sample claimed jobs, 1..10000, default 100), agents (live, heartbeat age, reported repository bytes), copies (per repository: backups waiting for a copy, FAILED ones, the oldest wait in seconds, WAL files behind), health (status per check). Reads current rows only.';
