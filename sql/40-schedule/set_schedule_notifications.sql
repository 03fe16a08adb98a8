-- Sets who hears about a schedule's runs (its notify_* columns).

CREATE OR REPLACE FUNCTION backup_mgmt.set_schedule_notifications(
    p_schedule_name text,
    p_notify_on_success boolean DEFAULT NULL,
    p_notify_on_failure boolean DEFAULT NULL,
    p_recipients text[] DEFAULT NULL
)
RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- NULL = unchanged; '{}' removes every recipient. One backup_schedule_s
-- version when something changes. The pack stores these for a notifier; it
-- sends nothing itself.
DECLARE
    v_recipients text[] := backup_mgmt._schedule_recipients(p_recipients);
    v_s backup_mgmt.backup_schedule_s := backup_mgmt._schedule_lock(p_schedule_name);
BEGIN
    PERFORM backup_mgmt.backup_schedule_s_load(v_s.schedule_hk, jsonb_build_object(
        'notify_on_success', coalesce(p_notify_on_success, v_s.notify_on_success),
        'notify_on_failure', coalesce(p_notify_on_failure, v_s.notify_on_failure),
        'notification_recipients', coalesce(v_recipients, v_s.notification_recipients),
        'changed_by', session_user), 'backup_mgmt.set_schedule_notifications');
    RETURN v_s.schedule_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.set_schedule_notifications(text, boolean, boolean, text[]) IS
'Sets a schedule''s notification settings: notify_on_success, notify_on_failure, notification_recipients (NULL = unchanged; ''{}'' removes the recipients; at most 100, each 1-254 printable characters, no duplicates). Stored for a notifier to read from backup_schedule_current; the pack sends nothing itself. One new backup_schedule_s version; returns the schedule hash key. Unknown or dropped schedule: 42704; bad recipient: 22023.';
