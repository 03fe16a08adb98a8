-- Health check restore_drill: has a backup been proven restorable lately?

CREATE OR REPLACE FUNCTION backup_mgmt._health_restore_drill(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Newest restore drill that COMPLETED with validation PASSED (the partial
-- status index on current recovery rows): older than health.drill_max_age,
-- or none at all, is WARNING. The detail also names a newer drill that failed.
DECLARE
    v_max_age interval := backup_mgmt._health_interval('health.drill_max_age');
    v_ok record;
    v_bad record;
BEGIN
    threshold := format('warning > %s', backup_mgmt._health_duration_text(v_max_age));
    SELECT h.recovery_bk, r.recovery_end_time INTO v_ok
      FROM backup_mgmt.recovery_operation_s AS r
      JOIN backup_mgmt.recovery_operation_h AS h ON h.recovery_hk = r.recovery_hk
     WHERE r.load_end_date IS NULL AND r.recovery_status = 'COMPLETED' AND r.recovery_type = 'RESTORE_DRILL'
       AND r.validation_status = 'PASSED' AND r.recovery_end_time IS NOT NULL
     ORDER BY r.recovery_end_time DESC
     LIMIT 1;
    SELECT h.recovery_bk, coalesce(r.recovery_end_time, r.load_date) AS at, coalesce(r.error_message, 'validation ' || r.validation_status) AS why INTO v_bad
      FROM backup_mgmt.recovery_operation_s AS r
      JOIN backup_mgmt.recovery_operation_h AS h ON h.recovery_hk = r.recovery_hk
     WHERE r.load_end_date IS NULL AND r.recovery_type = 'RESTORE_DRILL'
       AND (r.recovery_status = 'FAILED' OR (r.recovery_status = 'COMPLETED' AND r.validation_status IS DISTINCT FROM 'PASSED'))
       AND coalesce(r.recovery_end_time, r.load_date) > coalesce(v_ok.recovery_end_time, '-infinity')
     ORDER BY coalesce(r.recovery_end_time, r.load_date) DESC
     LIMIT 1;

    IF v_ok.recovery_bk IS NULL AND now() - backup_mgmt._health_installed_at() < v_max_age THEN
        -- Nothing could have been drilled yet: due drill_max_age after the install.
        status := 'OK';
        value := 'never';
        detail := format('no restore drill yet; the first is due by %s (installed %s + health.drill_max_age): SELECT * FROM backup_mgmt.create_restore_drill() (or schedule one, type DRILL)',
                         to_char((backup_mgmt._health_installed_at() + v_max_age) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                         to_char(backup_mgmt._health_installed_at() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
    ELSIF v_ok.recovery_bk IS NULL THEN
        status := 'WARNING';
        value := 'never';
        detail := 'no restore drill has succeeded yet: run SELECT * FROM backup_mgmt.create_restore_drill() (or schedule one, type DRILL)';
    ELSE
        status := CASE WHEN now() - v_ok.recovery_end_time > v_max_age THEN 'WARNING' ELSE 'OK' END;
        value := backup_mgmt._health_duration_text(now() - v_ok.recovery_end_time);
        detail := format('newest successful drill %s ended %s', v_ok.recovery_bk,
                         to_char(v_ok.recovery_end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
    END IF;
    IF v_bad.recovery_bk IS NOT NULL THEN
        detail := detail || format('; a later drill %s failed at %s: %s', v_bad.recovery_bk,
                                   to_char(v_bad.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), left(v_bad.why, 200));
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_restore_drill() IS
'Internal (health_check): age of the newest restore drill that COMPLETED with validation PASSED; WARNING when older than health.drill_max_age (30 days) or when there is none (OK while the pack was installed less than health.drill_max_age ago). A later failed drill is named in the detail.';
