-- Health check failed_backups: how many backups failed recently.

CREATE OR REPLACE FUNCTION backup_mgmt._health_failed_backups(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Current rows with backup_status FAILED (partial status index) that ended
-- inside health.failed_backup_window and after the start of the newest
-- COMPLETED backup of their type (a later success clears them); WARNING from one, CRITICAL from
-- health.failed_backups_critical. The detail names the newest failure.
DECLARE
    v_window interval := backup_mgmt._health_interval('health.failed_backup_window');
    v_critical integer := backup_mgmt._health_number('health.failed_backups_critical')::integer;
    v_count integer;
    v_newest record;
    v_full_ok timestamptz;
    v_incr_ok timestamptz;
BEGIN
    -- A failure is over once a backup of its type started after it and
    -- completed: it no longer counts (one index probe per type).
    SELECT max(s.backup_start_time) INTO v_full_ok FROM backup_mgmt.backup_execution_s AS s
     WHERE s.load_end_date IS NULL AND s.backup_status = 'COMPLETED' AND s.backup_type = 'FULL';
    SELECT max(s.backup_start_time) INTO v_incr_ok FROM backup_mgmt.backup_execution_s AS s
     WHERE s.load_end_date IS NULL AND s.backup_status = 'COMPLETED' AND s.backup_type = 'INCREMENTAL';
    SELECT count(*)::integer INTO v_count
      FROM backup_mgmt.backup_execution_s AS s
     WHERE s.load_end_date IS NULL AND s.backup_status = 'FAILED'
       AND coalesce(s.backup_end_time, s.load_date) >= now() - v_window
       AND coalesce(s.backup_end_time, s.load_date) >= coalesce(CASE s.backup_type WHEN 'FULL' THEN v_full_ok WHEN 'INCREMENTAL' THEN v_incr_ok END, '-infinity');

    status := CASE WHEN v_count >= v_critical THEN 'CRITICAL' WHEN v_count >= 1 THEN 'WARNING' ELSE 'OK' END;
    value := v_count::text;
    threshold := format('warning >= 1, critical >= %s (in %s)', v_critical, backup_mgmt._health_duration_text(v_window));
    IF v_count = 0 THEN
        detail := format('no backup failed in the last %s without a later successful backup of its type', backup_mgmt._health_duration_text(v_window));
        RETURN;
    END IF;
    SELECT s.backup_bk, s.backup_type, coalesce(s.backup_end_time, s.load_date) AS at, s.error_message INTO v_newest
      FROM backup_mgmt.backup_execution_s AS s
     WHERE s.load_end_date IS NULL AND s.backup_status = 'FAILED'
       AND coalesce(s.backup_end_time, s.load_date) >= now() - v_window
       AND coalesce(s.backup_end_time, s.load_date) >= coalesce(CASE s.backup_type WHEN 'FULL' THEN v_full_ok WHEN 'INCREMENTAL' THEN v_incr_ok END, '-infinity')
     ORDER BY coalesce(s.backup_end_time, s.load_date) DESC
     LIMIT 1;
    detail := format('newest: %s backup %s failed %s: %s', lower(v_newest.backup_type), v_newest.backup_bk,
                     to_char(v_newest.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                     left(regexp_replace(coalesce(v_newest.error_message, 'no error message'), '\s+', ' ', 'g'), 300));
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_failed_backups() IS
'Internal (health_check): number of backups whose current status is FAILED, that ended within health.failed_backup_window (24 hours) and that no backup of the same type started later and COMPLETED: WARNING from 1, CRITICAL from health.failed_backups_critical (3).';
