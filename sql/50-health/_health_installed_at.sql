-- When the pack was installed in this database.

CREATE OR REPLACE FUNCTION backup_mgmt._health_installed_at()
RETURNS timestamptz
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- The first migration's run (pgmigrations holds a handful of rows).
    SELECT min(m.run_on)::timestamptz FROM backup_mgmt.pgmigrations AS m
$$;

COMMENT ON FUNCTION backup_mgmt._health_installed_at() IS
'Internal (health checks): when the first migration of the pack ran in this database. Checks that measure something that takes time to build (the recovery window, the first restore drill) do not warn before that time has passed.';
