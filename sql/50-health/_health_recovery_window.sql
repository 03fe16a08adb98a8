-- Health check recovery_window: how far back point-in-time recovery reaches.

CREATE OR REPLACE FUNCTION backup_mgmt._health_recovery_window(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text,
    OUT window_seconds numeric
)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- The newest timeline of recoverable_window(): no earliest recoverable time
-- (no verified full backup with its WAL archived) is CRITICAL; a window
-- (latest - earliest recoverable time) shorter than health.min_recovery_window,
-- or WAL gaps after the oldest kept backup (targets inside a gap cannot be
-- reached), is WARNING.
DECLARE
    v_min interval := backup_mgmt._health_interval('health.min_recovery_window');
    v_w record;
    v_length interval;
BEGIN
    threshold := format('>= %s', backup_mgmt._health_duration_text(v_min));
    SELECT w.* INTO v_w FROM backup_mgmt.recoverable_window() AS w ORDER BY w.timeline_id DESC LIMIT 1;
    IF v_w.earliest_recoverable_time IS NULL THEN
        status := 'CRITICAL';
        value := 'none';
        detail := CASE WHEN v_w.timeline_id IS NULL THEN 'no backup and no archived WAL of this cluster in the catalog'
                       ELSE format('timeline %s has no verified full backup whose WAL is archived: point-in-time recovery is impossible; take a full backup', v_w.timeline_id) END;
        RETURN;
    END IF;

    v_length := greatest(coalesce(v_w.latest_recoverable_time, v_w.earliest_recoverable_time) - v_w.earliest_recoverable_time, interval '0');
    window_seconds := round(extract(epoch FROM v_length), 3);
    value := backup_mgmt._health_duration_text(v_length);
    detail := format('from %s (backup %s) to %s, timeline %s', to_char(v_w.earliest_recoverable_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                     v_w.earliest_backup_bk,
                     coalesce(to_char(v_w.latest_recoverable_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'the end of that backup (no later commit archived)'),
                     v_w.timeline_id);
    IF v_w.missing_segments > 0 THEN
        status := 'WARNING';
        detail := detail || format('; %s WAL segment(s) missing, first %s: targets inside the gap cannot be reached',
                                   v_w.missing_segments, v_w.wal_gaps[1]);
    ELSIF v_length < v_min THEN
        status := 'WARNING';
        detail := detail || format('; shorter than health.min_recovery_window (%s)', backup_mgmt._health_duration_text(v_min));
    ELSE
        status := 'OK';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_recovery_window() IS
'Internal (health_check, metrics_snapshot): the point-in-time recovery window of the newest timeline in recoverable_window(). CRITICAL without one (no verified full backup whose WAL is archived); WARNING when latest - earliest recoverable time is shorter than health.min_recovery_window (1 day) or WAL segments are missing after the oldest kept backup. window_seconds is NULL without a window.';
