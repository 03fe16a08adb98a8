-- Health check repository_copies: how far each repository's copies lag.

CREATE OR REPLACE FUNCTION backup_mgmt._health_repository_copies(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Per repository (backup_copies): backups not yet copied there and how long
-- the oldest has waited since it ended, copies that FAILED, WAL files it
-- lacked at the agent's last catch-up pass and since when, and the newest
-- backup it holds. WARNING on a FAILED copy or a wait beyond
-- health.copy_warning_age, CRITICAL beyond health.copy_critical_age; OK
-- once everything is copied. Only the local repository: OK.
DECLARE
    v_warn interval := backup_mgmt.setting('health.copy_warning_age')::interval;
    v_crit interval := backup_mgmt.setting('health.copy_critical_age')::interval;
    v_repo record;
    v_parts text[] := '{}';
    v_values text[] := '{}';
    v_rank integer := 0;
    v_lag interval;
BEGIN
    threshold := format('a copy or WAL waiting > %s: warning, > %s: critical; a FAILED copy: warning', v_warn, v_crit);
    FOR v_repo IN
        SELECT r.repository_bk AS name, r.wal_behind, r.wal_behind_since,
               count(*) FILTER (WHERE bc.copy_status IN ('PENDING', 'COPYING', 'FAILED') AND bc.backup_status = 'COMPLETED') AS waiting,
               count(*) FILTER (WHERE bc.copy_status = 'FAILED' AND bc.backup_status = 'COMPLETED') AS failed,
               min(bc.backup_end_time) FILTER (WHERE bc.copy_status IN ('PENDING', 'COPYING', 'FAILED') AND bc.backup_status = 'COMPLETED') AS oldest_end,
               (array_agg(bc.status_reason ORDER BY bc.next_attempt_at DESC NULLS LAST) FILTER (WHERE bc.copy_status = 'FAILED' AND bc.backup_status = 'COMPLETED'))[1] AS last_reason,
               (array_agg(bc.backup_bk ORDER BY bc.backup_end_time DESC) FILTER (WHERE bc.copy_status = 'COPIED' AND bc.backup_status = 'COMPLETED'))[1] AS newest_bk,
               max(bc.backup_end_time) FILTER (WHERE bc.copy_status = 'COPIED' AND bc.backup_status = 'COMPLETED') AS newest_end
          FROM backup_mgmt.backup_repository_current AS r
          LEFT JOIN backup_mgmt.backup_copies AS bc ON bc.repository = r.repository_bk
         GROUP BY r.repository_bk, r.wal_behind, r.wal_behind_since
         ORDER BY r.repository_bk
    LOOP
        v_lag := greatest(now() - v_repo.oldest_end, CASE WHEN coalesce(v_repo.wal_behind, 0) > 0 THEN now() - v_repo.wal_behind_since END);
        v_rank := greatest(v_rank, CASE WHEN v_lag > v_crit THEN 2 WHEN v_lag > v_warn OR v_repo.failed > 0 THEN 1 ELSE 0 END);
        v_values := v_values || format('%s: %s waiting, %s WAL behind', v_repo.name, v_repo.waiting, coalesce(v_repo.wal_behind, 0));
        v_parts := v_parts || concat_ws('; ',
            format('%s holds %s', v_repo.name,
                   coalesce(format('newest %s (ended %s)', v_repo.newest_bk, to_char(v_repo.newest_end AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')), 'no backup yet')),
            CASE WHEN v_repo.waiting > 0 THEN format('%s backup(s) not copied yet, the oldest waiting %s', v_repo.waiting,
                                                      backup_mgmt._health_duration_text(now() - v_repo.oldest_end)) END,
            CASE WHEN v_repo.failed > 0 THEN format('%s copy(ies) FAILED, last: %s (retried with backoff)', v_repo.failed, v_repo.last_reason) END,
            CASE WHEN coalesce(v_repo.wal_behind, 0) > 0 THEN format('%s WAL file(s) not copied for %s', v_repo.wal_behind,
                                                      backup_mgmt._health_duration_text(now() - v_repo.wal_behind_since)) END);
    END LOOP;
    IF cardinality(v_parts) <= 1 THEN
        status := 'OK';
        value := coalesce(v_values[1], 'no repository reported');
        detail := coalesce(v_parts[1] || '; ', '') || 'no off-host repository configured (BACKUP_MGMT_REPO_S3): backups have one copy';
        RETURN;
    END IF;
    status := (ARRAY['OK', 'WARNING', 'CRITICAL'])[v_rank + 1];
    value := array_to_string(v_values, '; ');
    detail := array_to_string(v_parts, '. ');
    IF status <> 'OK' THEN
        detail := detail || '. Is the off-host repository reachable from the agent (its log names the error)? Copies are retried and catch up by themselves';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_repository_copies() IS
'Internal (health_check): per repository the backups not yet copied there (and the oldest one''s wait), FAILED copies, WAL files it lacks and the newest backup it holds. WARNING on a FAILED copy or a wait beyond health.copy_warning_age (2 hours), CRITICAL beyond health.copy_critical_age (24 hours); one repository only: OK.';
