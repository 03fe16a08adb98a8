-- Health check recovery_window: how far back point-in-time recovery reaches.

CREATE OR REPLACE FUNCTION backup_mgmt._health_recovery_window(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text,
    OUT window_seconds numeric
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- The window that reaches the newest archived segment (_health_recoverability,
-- the recoverability view's rules computed from indexes): none (no verified
-- full backup whose WAL up to the newest segment is archived) is CRITICAL; a
-- window (latest - earliest recoverable time) shorter than
-- health.min_recovery_window, or WAL gaps after the oldest kept backup
-- (targets inside a gap cannot be reached), is WARNING; a short window while
-- the pack is younger than health.min_recovery_window is OK (it is growing).
DECLARE
    v_min interval := backup_mgmt._health_interval('health.min_recovery_window');
    v_w record;
    v_length interval;
BEGIN
    threshold := format('>= %s', backup_mgmt._health_duration_text(v_min));
    SELECT * INTO v_w FROM backup_mgmt._health_recoverability();
    IF v_w.earliest_recoverable_time IS NULL THEN
        status := 'CRITICAL';
        value := 'none';
        detail := CASE WHEN v_w.timeline_id IS NULL THEN 'no archived WAL of this cluster in the catalog'
                       ELSE format('timeline %s has no verified full backup whose WAL is archived up to the newest segment %s: point-in-time recovery to now is impossible; take a full backup',
                                   v_w.timeline_id, v_w.newest_segment) END;
        IF v_w.missing_segments > 0 THEN
            detail := detail || format('; %s WAL segment(s) missing, first %s', v_w.missing_segments, v_w.first_missing_segment);
        END IF;
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
        detail := detail || format('; %s WAL segment(s) missing, first %s: targets before the gap cannot be reached from this window',
                                   v_w.missing_segments, v_w.first_missing_segment);
    ELSIF v_length < v_min AND now() - backup_mgmt._health_installed_at() < v_min THEN
        -- A window cannot be older than the install: it is growing, not short.
        status := 'OK';
        detail := detail || format('; growing to health.min_recovery_window (%s): installed %s ago',
                                   backup_mgmt._health_duration_text(v_min), backup_mgmt._health_duration_text(now() - backup_mgmt._health_installed_at()));
    ELSIF v_length < v_min THEN
        status := 'WARNING';
        detail := detail || format('; shorter than health.min_recovery_window (%s)', backup_mgmt._health_duration_text(v_min));
    ELSE
        status := 'OK';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_recovery_window() IS
'Internal (health_check, metrics_snapshot): the point-in-time recovery window that reaches the newest archived segment (_health_recoverability). CRITICAL without one (no verified full backup whose WAL up to the newest segment is archived); WARNING when latest - earliest recoverable time is shorter than health.min_recovery_window (1 day; OK while the pack was installed less than that ago) or WAL segments are missing after the oldest kept backup. window_seconds is NULL without a window.';
