-- The system retention policy in effect: settings retention.*, widened by schedules.

CREATE OR REPLACE FUNCTION backup_mgmt._retention_policy(
    p_tenant_hk bytea,
    OUT period interval,
    OUT default_period interval,
    OUT min_redundancy integer,
    OUT recovery_window interval,
    OUT keep_daily integer,
    OUT keep_weekly integer,
    OUT keep_monthly integer
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- period NULL = retention.period unset (each backup keeps its own
-- retention_period). The recovery window is the longest of the setting and
-- the recovery_window of every schedule of the tenant that is not dropped.
BEGIN
    period := backup_mgmt.setting('retention.period')::interval;
    default_period := backup_mgmt.setting('backup.retention_period')::interval;
    min_redundancy := backup_mgmt.setting('retention.min_redundancy')::integer;
    keep_daily := backup_mgmt.setting('retention.keep_daily')::integer;
    keep_weekly := backup_mgmt.setting('retention.keep_weekly')::integer;
    keep_monthly := backup_mgmt.setting('retention.keep_monthly')::integer;
    SELECT greatest(backup_mgmt.setting('retention.recovery_window')::interval, max(s.recovery_window))
      INTO recovery_window
      FROM backup_mgmt.backup_schedule_current AS s
     WHERE s.tenant_hk IS NOT DISTINCT FROM p_tenant_hk
       AND NOT coalesce(s.tags ? 'dropped_at', false);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._retention_policy(bytea) IS
'Internal: the retention policy of a tenant (NULL = system-wide) from the settings: period (retention.period, NULL when unset), default_period (backup.retention_period), min_redundancy, recovery_window (the longest of retention.recovery_window and the recovery_window of the tenant''s schedules that are not dropped), keep_daily, keep_weekly, keep_monthly.';
