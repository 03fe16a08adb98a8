-- Health check repository_space: free space where the agents store backups.

CREATE OR REPLACE FUNCTION backup_mgmt._health_repository_space(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- What running (not stopped) agents last reported with
-- agent_report_storage() (agent.info->'storage'); the repository with the
-- least free space decides: below health.repository_free_critical_percent
-- CRITICAL, below health.repository_free_warning_percent WARNING. No report
-- yet: OK, said in the detail (the agent check covers missing agents).
DECLARE
    v_warn numeric := backup_mgmt._health_number('health.repository_free_warning_percent');
    v_crit numeric := backup_mgmt._health_number('health.repository_free_critical_percent');
    v_worst record;
    v_reports integer;
BEGIN
    threshold := format('free < %s%%: warning, < %s%%: critical', v_warn, v_crit);
    SELECT count(*) OVER ()::integer AS reports, x.* INTO v_worst
      FROM (SELECT a.agent_id, a.repository_root,
                   (a.info->'storage'->>'free_bytes')::numeric AS free_bytes,
                   (a.info->'storage'->>'total_bytes')::numeric AS total_bytes,
                   (a.info->'storage'->>'reported_at')::timestamptz AS reported_at
              FROM backup_mgmt.agent AS a
             WHERE a.stopped_at IS NULL AND jsonb_typeof(a.info->'storage') = 'object') AS x
     WHERE x.total_bytes > 0
     ORDER BY x.free_bytes / x.total_bytes, x.agent_id
     LIMIT 1;
    v_reports := coalesce(v_worst.reports, 0);
    IF v_reports = 0 THEN
        status := 'OK';
        value := 'not reported';
        detail := 'no running agent has reported the free space of its repository yet';
        RETURN;
    END IF;

    value := format('%s%% free', round(100 * v_worst.free_bytes / v_worst.total_bytes, 1));
    status := CASE WHEN 100 * v_worst.free_bytes / v_worst.total_bytes < v_crit THEN 'CRITICAL'
                   WHEN 100 * v_worst.free_bytes / v_worst.total_bytes < v_warn THEN 'WARNING' ELSE 'OK' END;
    detail := format('%s: %s free of %s, reported by %s %s ago%s', v_worst.repository_root, pg_size_pretty(v_worst.free_bytes),
                     pg_size_pretty(v_worst.total_bytes), v_worst.agent_id, backup_mgmt._health_duration_text(now() - v_worst.reported_at),
                     CASE WHEN v_reports > 1 THEN format(' (the fullest of %s repositories)', v_reports) ELSE '' END);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_repository_space() IS
'Internal (health_check): the lowest free-space percentage that running agents reported for their repositories (agent_report_storage): CRITICAL below health.repository_free_critical_percent (10), WARNING below health.repository_free_warning_percent (20); OK with "not reported" when no report exists.';
