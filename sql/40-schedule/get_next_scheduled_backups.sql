-- The next due runs of the active schedules (seed 001 signature).

CREATE OR REPLACE FUNCTION backup_mgmt.get_next_scheduled_backups(p_limit integer DEFAULT 10)
RETURNS TABLE (
    schedule_id bytea,
    schedule_name varchar(200),
    backup_type varchar(50),
    next_execution_time timestamptz,
    tenant_id bytea,
    execution_window_start time,
    execution_window_end time
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- next_execution_time is kept by the cron evaluator (create, alter, resume,
-- every run), so this is an ordered scan of the partial index
-- idx_backup_schedule_s_next_execution. An overdue time means the run is due
-- now. Runs as the caller: row-level security on the catalog applies.
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 THEN
        RAISE EXCEPTION 'get_next_scheduled_backups: p_limit must be between 1 and 10000'
            USING ERRCODE = CASE WHEN p_limit IS NULL THEN '22004' ELSE '22023' END,
                  DETAIL = format('p_limit: %s', coalesce(p_limit::text, 'NULL'));
    END IF;
    RETURN QUERY
        SELECT s.schedule_hk, s.schedule_name, s.backup_type, s.next_execution_time, h.tenant_hk,
               s.execution_window_start, s.execution_window_end
          FROM backup_mgmt.backup_schedule_s AS s
          JOIN backup_mgmt.backup_schedule_h AS h ON h.schedule_hk = s.schedule_hk
         WHERE s.load_end_date IS NULL AND s.is_active AND s.next_execution_time IS NOT NULL
         ORDER BY s.next_execution_time, s.schedule_name
         LIMIT p_limit;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.get_next_scheduled_backups(integer) IS
'The next p_limit (1-10000, default 10) due runs of active schedules, earliest first: schedule hash key, name, type, next_execution_time (from the cron expression in the schedule''s time zone, following the execution window: a slot outside it shows the window''s next start, when run_schedule() runs it; in the past = due now), tenant, window. Runs with the caller''s rights.';
