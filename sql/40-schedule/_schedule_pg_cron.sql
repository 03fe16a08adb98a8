-- Whether pg_cron can be driven from this database.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_pg_cron()
RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- pg_cron's extension can only exist in its cron.database_name; when it
    -- lives in another database of the cluster it cannot be reached from
    -- here (no dblink) and the agent drives the schedules (run_due_schedules).
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron')
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_pg_cron() IS
'Internal: true when the pg_cron extension is installed in this database (so schedules get pg_cron jobs); otherwise agents drive schedules through run_due_schedules().';
