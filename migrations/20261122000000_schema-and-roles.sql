-- The backup_mgmt schema and the pack's roles (cluster-wide; created only if
-- missing, and marked so that `migrate down` drops only roles it created).

-- Up Migration
CREATE SCHEMA IF NOT EXISTS backup_mgmt;
COMMENT ON SCHEMA backup_mgmt IS 'backup_mgmt: PostgreSQL backup and recovery catalog, control plane and health checks.';
REVOKE ALL ON SCHEMA backup_mgmt FROM PUBLIC;

DO $$
-- Roles are global: another database of the cluster may already have them.
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['backup_viewer', 'backup_operator', 'recovery_approver', 'backup_agent', 'backup_mgmt_admin']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
                EXECUTE format('COMMENT ON ROLE %I IS %L', v_role, 'created by backup_mgmt');
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                -- a migrator in another database created it first
                NULL;
            END;
        END IF;
    END LOOP;
END;
$$;

-- Down Migration
DO $$
-- Privileges inside the schema would keep the roles alive; the schema itself goes last.
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['backup_mgmt_admin', 'backup_agent', 'recovery_approver', 'backup_operator', 'backup_viewer']
    LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA backup_mgmt FROM %I', v_role);
            EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA backup_mgmt FROM %I', v_role);
            EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA backup_mgmt FROM %I', v_role);
            EXECUTE format('REVOKE ALL ON SCHEMA backup_mgmt FROM %I', v_role);
        END IF;
    END LOOP;
END;
$$;

DO $$
-- Drop only the roles this pack created; keep any still used elsewhere.
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['backup_mgmt_admin', 'backup_agent', 'recovery_approver', 'backup_operator', 'backup_viewer']
    LOOP
        IF shobj_description((SELECT oid FROM pg_roles WHERE rolname = v_role), 'pg_authid') = 'created by backup_mgmt' THEN
            BEGIN
                EXECUTE format('DROP ROLE %I', v_role);
            EXCEPTION WHEN dependent_objects_still_exist THEN
                RAISE NOTICE 'backup_mgmt: role % kept, it is still used in another database', v_role;
            END;
        END IF;
    END LOOP;
END;
$$;
