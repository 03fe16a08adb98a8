-- The seed's default schedules in one call.

CREATE OR REPLACE FUNCTION backup_mgmt.create_default_schedules()
RETURNS SETOF bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- daily-full 02:00, incremental-4h every 4 hours, weekly-cleanup Sunday 03:00,
-- health-check every 30 minutes (UTC). Existing schedules of these names are
-- left as they are (so a second call changes nothing); dropped ones are
-- defined again. Returns the four hash keys.
DECLARE
    v_default record;
BEGIN
    FOR v_default IN
        SELECT d.name, d.backup_type, d.expr FROM (VALUES
            ('daily-full', 'FULL', '0 2 * * *'),
            ('incremental-4h', 'INCREMENTAL', '0 */4 * * *'),
            ('weekly-cleanup', 'CLEANUP', '0 3 * * 0'),
            ('health-check', 'HEALTH_CHECK', '*/30 * * * *')) AS d (name, backup_type, expr)
    LOOP
        IF EXISTS (SELECT 1 FROM backup_mgmt.backup_schedule_s AS s
                    WHERE s.schedule_hk = backup_mgmt.hash_key(v_default.name) AND s.load_end_date IS NULL
                      AND NOT (coalesce(s.tags, '{}'::jsonb) ? 'dropped_at')) THEN
            RETURN NEXT backup_mgmt.hash_key(v_default.name);
        ELSE
            RETURN NEXT backup_mgmt.create_backup_schedule(v_default.name, v_default.backup_type, v_default.expr);
        END IF;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.create_default_schedules() IS
'Creates the seed''s default schedules unless they exist: daily-full (FULL, 0 2 * * *), incremental-4h (INCREMENTAL, 0 */4 * * *), weekly-cleanup (CLEANUP, 0 3 * * 0), health-check (HEALTH_CHECK, */30 * * * *), all UTC, system-wide, no window. Returns their hash keys; a second call changes nothing.';
