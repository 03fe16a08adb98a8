-- The retention policy in effect: system-wide and per schedule.

CREATE OR REPLACE FUNCTION backup_mgmt.retention_policy()
RETURNS TABLE (
    scope text,
    schedule_name varchar(200),
    retention_period interval,
    min_redundancy integer,
    recovery_window interval,
    max_backup_count integer,
    keep_daily integer,
    keep_weekly integer,
    keep_monthly integer
)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
-- First the system row (settings retention.*; its recovery_window already
-- widened by the schedules), then one row per schedule that is not dropped
-- with its own overrides (NULL = the system value applies).
DECLARE
    v_pol record;
BEGIN
    -- Settings are system-wide objects (sql/90-security).
    PERFORM backup_mgmt._require_tenant_access(NULL, 'retention_policy');
    SELECT * INTO v_pol FROM backup_mgmt._retention_policy(NULL);
    scope := 'system';
    schedule_name := NULL;
    retention_period := v_pol.period;
    min_redundancy := v_pol.min_redundancy;
    recovery_window := v_pol.recovery_window;
    max_backup_count := NULL;
    keep_daily := v_pol.keep_daily;
    keep_weekly := v_pol.keep_weekly;
    keep_monthly := v_pol.keep_monthly;
    RETURN NEXT;
    RETURN QUERY
        SELECT 'schedule'::text, s.schedule_name, s.retention_period, s.min_redundancy, s.recovery_window, s.max_backup_count,
               NULL::integer, NULL::integer, NULL::integer
          FROM backup_mgmt.backup_schedule_current AS s
         WHERE NOT coalesce(s.tags ? 'dropped_at', false)
         ORDER BY s.schedule_name;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.retention_policy() IS
'The retention policy in effect: a system row (retention_period = setting retention.period, NULL = each backup''s own; min_redundancy; recovery_window = the longest of retention.recovery_window and the schedules''; keep_daily/keep_weekly/keep_monthly) and one row per schedule that is not dropped with its overrides (set_schedule_retention; NULL = the system value).';
