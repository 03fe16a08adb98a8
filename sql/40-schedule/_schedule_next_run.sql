-- When a schedule really runs next: its next cron slot, or, for a slot
-- outside the execution window, the window's next start.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_next_run(
    p_expr text,
    p_after timestamptz,
    p_timezone text,
    p_window_start time,
    p_window_end time
)
RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- run_schedule() defers a slot that comes due outside the window to the
-- window's next start (and the pg_cron job fires then, see
-- _schedule_cron_spec), so that start is the next run. No earlier slot can be
-- inside a window: a slot inside a later window comes after that window's
-- start. One cron evaluation for the slot, one for the window start.
DECLARE
    v_zone text := coalesce(p_timezone, 'UTC');
    v_slot timestamptz := backup_mgmt.cron_next(p_expr, p_after, v_zone);
BEGIN
    IF v_slot IS NULL OR backup_mgmt._schedule_in_window(v_slot, v_zone, p_window_start, p_window_end) THEN
        RETURN v_slot;
    END IF;
    RETURN backup_mgmt.cron_next(
        format('%s %s * * *', extract(minute FROM p_window_start)::integer, extract(hour FROM p_window_start)::integer),
        v_slot, v_zone);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_next_run(text, timestamptz, text, time, time) IS
'Internal: the next run of a schedule after p_after: its next cron slot in p_timezone when that slot is inside the execution window [p_window_start, p_window_end) (or there is no window), else the next start of the window after that slot (where run_schedule() defers it). Used for next_execution_time and the backup-age thresholds of health_check.';
