-- Up Migration
-- A non-superuser agent (member of backup_agent) closes the WAL segment of an
-- incremental backup with pg_switch_wal(), which PostgreSQL grants to
-- superusers only. Granted when the migrating role may grant it (a
-- superuser); otherwise a notice says what to run.
DO $$
BEGIN
    IF has_function_privilege(current_user, 'pg_catalog.pg_switch_wal()', 'EXECUTE WITH GRANT OPTION') THEN
        GRANT EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() TO backup_agent;
    ELSE
        RAISE NOTICE 'backup_mgmt: run GRANT EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() TO backup_agent as a superuser (incremental backups by a non-superuser agent need it)';
    END IF;
END;
$$;

-- Down Migration
-- Revoked before the roles go: a privilege in pg_catalog would keep backup_agent alive.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'backup_agent')
       AND has_function_privilege(current_user, 'pg_catalog.pg_switch_wal()', 'EXECUTE WITH GRANT OPTION') THEN
        REVOKE EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() FROM backup_agent;
    END IF;
END;
$$;
