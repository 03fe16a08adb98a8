-- Brings one schedule to its declared fields through the schedule functions.

CREATE OR REPLACE FUNCTION backup_mgmt._policy_schedule_apply(p_name text, p_decl jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- Missing or dropped: create_backup_schedule (which starts from defaults,
-- nothing of a dropped definition comes back). Then only what differs:
-- alter_backup_schedule (type, cron, zone, window, description, retention
-- period), set_schedule_retention (the overrides, reset first),
-- set_schedule_notifications, pause/resume. Each writes its satellite version
-- and keeps the pg_cron job in step, exactly as a call by hand would.
DECLARE
    v_hk bytea := backup_mgmt.hash_key(p_name);
    v_s backup_mgmt.backup_schedule_s;
    v_cur jsonb;
    v_window_changed boolean;
    v_diff text[];
BEGIN
    SELECT * INTO v_s FROM backup_mgmt.backup_schedule_s AS s WHERE s.schedule_hk = v_hk AND s.load_end_date IS NULL;
    IF v_s.schedule_hk IS NULL OR coalesce(v_s.tags ? 'dropped_at', false) THEN
        PERFORM backup_mgmt.create_backup_schedule(p_name, p_decl->>'type', p_decl->>'cron', NULL,
                                                   (p_decl->>'retention.period')::interval,
                                                   (p_decl->>'window.start')::time, (p_decl->>'window.end')::time);
        SELECT * INTO v_s FROM backup_mgmt.backup_schedule_s AS s WHERE s.schedule_hk = v_hk AND s.load_end_date IS NULL;
    END IF;
    v_cur := backup_mgmt._policy_schedule_state(v_s);
    v_diff := ARRAY(SELECT k FROM jsonb_object_keys(p_decl) AS k WHERE v_cur->k IS DISTINCT FROM p_decl->k);
    v_window_changed := v_diff && ARRAY['window.start', 'window.end'];

    IF v_diff && ARRAY['type', 'cron', 'timezone', 'window.start', 'window.end', 'description', 'retention.period'] THEN
        PERFORM backup_mgmt.alter_backup_schedule(p_name,
            p_cron_expression => CASE WHEN 'cron' = ANY (v_diff) THEN p_decl->>'cron' END,
            p_backup_type => CASE WHEN 'type' = ANY (v_diff) THEN p_decl->>'type' END,
            p_timezone => CASE WHEN 'timezone' = ANY (v_diff) THEN p_decl->>'timezone' END,
            p_execution_window_start => CASE WHEN v_window_changed THEN (p_decl->>'window.start')::time END,
            p_execution_window_end => CASE WHEN v_window_changed THEN (p_decl->>'window.end')::time END,
            p_clear_execution_window => v_window_changed AND p_decl->>'window.start' IS NULL,
            p_retention_period => CASE WHEN 'retention.period' = ANY (v_diff) THEN (p_decl->>'retention.period')::interval END,
            p_description => CASE WHEN 'description' = ANY (v_diff) THEN coalesce(p_decl->>'description', '') END);
    END IF;
    IF v_diff && ARRAY['retention.min_redundancy', 'retention.recovery_window', 'retention.max_backup_count'] THEN
        PERFORM backup_mgmt.set_schedule_retention(p_name,
            p_min_redundancy => (p_decl->>'retention.min_redundancy')::integer,
            p_recovery_window => (p_decl->>'retention.recovery_window')::interval,
            p_max_backup_count => (p_decl->>'retention.max_backup_count')::integer,
            p_clear => true);
    END IF;
    IF v_diff && ARRAY['notifications.on_success', 'notifications.on_failure', 'notifications.recipients'] THEN
        PERFORM backup_mgmt.set_schedule_notifications(p_name,
            (p_decl->>'notifications.on_success')::boolean,
            (p_decl->>'notifications.on_failure')::boolean,
            ARRAY(SELECT jsonb_array_elements_text(p_decl->'notifications.recipients')));
    END IF;
    IF 'paused' = ANY (v_diff) THEN
        IF (p_decl->>'paused')::boolean THEN
            PERFORM backup_mgmt.pause_backup_schedule(p_name);
        ELSE
            PERFORM backup_mgmt.resume_backup_schedule(p_name);
        END IF;
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._policy_schedule_apply(text, jsonb) IS
'Internal (policy_apply): makes schedule p_name match its normalised declaration through create_backup_schedule, alter_backup_schedule, set_schedule_retention, set_schedule_notifications and pause/resume_backup_schedule (history in backup_schedule_s, pg_cron in step); only what differs is called.';
