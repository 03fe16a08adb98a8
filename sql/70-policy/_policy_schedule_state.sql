-- A schedule version in the form a policy declares it.

CREATE OR REPLACE FUNCTION backup_mgmt._policy_schedule_state(p_s backup_mgmt.backup_schedule_s)
RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET IntervalStyle = 'postgres'
AS $$
    -- The keys of _policy_schedule_declared(); run state (next run, counters,
    -- tags) is not part of a declaration. NULL booleans and recipients read as
    -- "off" and an empty description as none, as the setters leave them.
    SELECT CASE WHEN p_s.schedule_hk IS NOT NULL THEN jsonb_build_object(
        'type', p_s.backup_type,
        'cron', p_s.schedule_expression,
        'timezone', coalesce(p_s.timezone, 'UTC'),
        'window.start', p_s.execution_window_start::text,
        'window.end', p_s.execution_window_end::text,
        'paused', NOT coalesce(p_s.is_active, false),
        'description', nullif(p_s.schedule_description, ''),
        'retention.period', p_s.retention_period::text,
        'retention.min_redundancy', p_s.min_redundancy,
        'retention.recovery_window', p_s.recovery_window::text,
        'retention.max_backup_count', p_s.max_backup_count,
        'notifications.on_success', coalesce(p_s.notify_on_success, false),
        'notifications.on_failure', coalesce(p_s.notify_on_failure, false),
        'notifications.recipients', to_jsonb(coalesce(p_s.notification_recipients, '{}'::text[]))) END
$$;

COMMENT ON FUNCTION backup_mgmt._policy_schedule_state(backup_mgmt.backup_schedule_s) IS
'Internal (policy): the declared fields of a backup_schedule_s version (type, cron, timezone, window.start/end, paused, description, retention.*, notifications.*) as jsonb, comparable with _policy_schedule_declared(); NULL for no row.';
