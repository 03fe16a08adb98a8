-- Sets the retention policy of one schedule (its columns of backup_schedule_s).

CREATE OR REPLACE FUNCTION backup_mgmt.set_schedule_retention(
    p_schedule_name text,
    p_retention_period interval DEFAULT NULL,
    p_min_redundancy integer DEFAULT NULL,
    p_recovery_window interval DEFAULT NULL,
    p_max_backup_count integer DEFAULT NULL,
    p_clear boolean DEFAULT false
)
RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- NULL = unchanged; p_clear first resets min_redundancy, recovery_window and
-- max_backup_count to NULL (the settings apply again). Writes one
-- backup_schedule_s version when something changes; returns the schedule's
-- hash key. Unknown or dropped schedule 42704, bad value 22023.
DECLARE
    v_s backup_mgmt.backup_schedule_s;
BEGIN
    PERFORM backup_mgmt._require_args(p_clear IS NULL, 'set_schedule_retention', 'p_clear', 'false keeps what is not given, true resets the schedule''s overrides first.');
    IF p_retention_period IS NOT NULL AND (p_retention_period < interval '0' OR p_retention_period > interval '100 years') THEN
        RAISE EXCEPTION 'set_schedule_retention: retention period must lie between 0 and 100 years'
            USING ERRCODE = '22023', DETAIL = format('field: retention_period; value: %s', p_retention_period);
    END IF;
    IF p_min_redundancy IS NOT NULL AND p_min_redundancy NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'set_schedule_retention: min_redundancy must lie between 1 and 1000'
            USING ERRCODE = '22023', DETAIL = format('field: min_redundancy; value: %s', p_min_redundancy);
    END IF;
    IF p_recovery_window IS NOT NULL AND (p_recovery_window < interval '0' OR p_recovery_window > interval '100 years') THEN
        RAISE EXCEPTION 'set_schedule_retention: recovery window must lie between 0 and 100 years'
            USING ERRCODE = '22023', DETAIL = format('field: recovery_window; value: %s', p_recovery_window);
    END IF;
    IF p_max_backup_count IS NOT NULL AND p_max_backup_count NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION 'set_schedule_retention: max_backup_count must lie between 1 and 1000000'
            USING ERRCODE = '22023', DETAIL = format('field: max_backup_count; value: %s', p_max_backup_count);
    END IF;

    v_s := backup_mgmt._schedule_lock(p_schedule_name, false);
    PERFORM backup_mgmt.backup_schedule_s_load(v_s.schedule_hk, jsonb_build_object(
        'retention_period', coalesce(p_retention_period, v_s.retention_period),
        'min_redundancy', coalesce(p_min_redundancy, CASE WHEN p_clear THEN NULL ELSE v_s.min_redundancy END),
        'recovery_window', coalesce(p_recovery_window, CASE WHEN p_clear THEN NULL ELSE v_s.recovery_window END),
        'max_backup_count', coalesce(p_max_backup_count, CASE WHEN p_clear THEN NULL ELSE v_s.max_backup_count END),
        'changed_by', session_user), 'backup_mgmt.set_schedule_retention');
    RETURN v_s.schedule_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.set_schedule_retention(text, interval, integer, interval, integer, boolean) IS
'Sets the retention policy of a schedule (NULL = unchanged; p_clear resets min_redundancy, recovery_window and max_backup_count first): retention_period (0 to 100 years; backups the schedule produced expire at end date + period, whatever retention.period says), min_redundancy (1..1000: the newest that many verified full backups of the schedule are kept, on top of retention.min_redundancy), recovery_window (0 to 100 years: the system window is the longest of retention.recovery_window and every schedule''s), max_backup_count (1..1000000: completed backups of the schedule beyond the newest that many count as expired before their date; the keep rules still apply). One new backup_schedule_s version; returns the schedule hash key. Unknown or dropped schedule: 42704; bad value: 22023; NULL p_clear: 22004.';
