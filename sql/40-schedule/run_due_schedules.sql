-- Runs every schedule that is due: how agents drive schedules without pg_cron.

CREATE OR REPLACE FUNCTION backup_mgmt.run_due_schedules()
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Due = active with next_execution_time <= now(), found through the partial
-- index on next_execution_time. Each schedule's hub row is locked FOR UPDATE
-- SKIP LOCKED, so concurrent callers (two agents, an agent and pg_cron) split
-- the work instead of waiting; run_schedule() re-reads the schedule under the
-- lock, so one a concurrent caller already ran is 'not due' any more.
DECLARE
    v_schedule record;
    v_result text;
    v_count integer := 0;
BEGIN
    FOR v_schedule IN
        SELECT s.schedule_name
          FROM backup_mgmt.backup_schedule_s AS s
          JOIN backup_mgmt.backup_schedule_h AS h ON h.schedule_hk = s.schedule_hk
         WHERE s.load_end_date IS NULL AND s.is_active AND s.next_execution_time <= now()
           AND backup_mgmt._visible_to_caller(h.tenant_hk)
         ORDER BY s.next_execution_time, s.schedule_name
           FOR UPDATE OF h SKIP LOCKED
    LOOP
        v_result := backup_mgmt.run_schedule(v_schedule.schedule_name);
        IF v_result NOT LIKE 'skipped: not due%' THEN
            v_count := v_count + 1;
        END IF;
    END LOOP;
    RETURN v_count;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.run_due_schedules() IS
'Calls run_schedule() for every active schedule whose next_execution_time has come (oldest first), skipping schedules another session holds (FOR UPDATE SKIP LOCKED): safe to call from several agents and alongside pg_cron. Returns how many schedules it handled (started, deferred, skipped or failed a run). Agents call it periodically; without pg_cron in this database it is what drives the schedules.';
