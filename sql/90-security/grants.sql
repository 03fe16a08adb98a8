-- Privileges of the pack, applied after every other file of sql/: nothing for
-- PUBLIC; the five roles get exactly what their job needs. Re-applied on every
-- change of sql/, so it first takes everything away and then grants, and the
-- result never depends on earlier versions or hand-made grants.
--
--   backup_viewer      SELECT on the catalog, its views and backup_list;
--                      read-only functions (setting, get_backup, ...)
--   backup_operator    viewer + create_full_backup, await_backup,
--                      verify_backup_integrity, cancel_backup
--   recovery_approver  viewer (+ approval functions as they arrive)
--   backup_agent       the agent protocol functions (src/agent/PROTOCOL.md)
--   backup_mgmt_admin  operator + every API function of the schema
--
-- Loaders (*_s_load) and internal functions (_*) are granted to nobody: only
-- SECURITY DEFINER API functions call them.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA backup_mgmt FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA backup_mgmt FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA backup_mgmt FROM PUBLIC;
REVOKE ALL ON SCHEMA backup_mgmt FROM PUBLIC;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA backup_mgmt FROM backup_viewer, backup_operator, recovery_approver, backup_agent, backup_mgmt_admin;
REVOKE ALL ON ALL TABLES IN SCHEMA backup_mgmt FROM backup_viewer, backup_operator, recovery_approver, backup_agent, backup_mgmt_admin;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA backup_mgmt FROM backup_viewer, backup_operator, recovery_approver, backup_agent, backup_mgmt_admin;

GRANT USAGE ON SCHEMA backup_mgmt TO backup_viewer, backup_operator, recovery_approver, backup_agent, backup_mgmt_admin;

DO $$
-- Role memberships (admin > operator > viewer, approver > viewer), granted
-- only when missing so that a re-run stays silent.
DECLARE
    v_pair text[];
BEGIN
    FOREACH v_pair SLICE 1 IN ARRAY ARRAY[
        ARRAY['backup_viewer', 'backup_operator'],
        ARRAY['backup_operator', 'backup_mgmt_admin'],
        ARRAY['backup_viewer', 'recovery_approver']]
    LOOP
        IF NOT pg_catalog.pg_has_role(v_pair[2], v_pair[1], 'MEMBER') THEN
            EXECUTE format('GRANT %I TO %I', v_pair[1], v_pair[2]);
        END IF;
    END LOOP;
END;
$$;

DO $$
-- SELECT for viewers (and so operators and approvers) on the catalog tables,
-- the operational tables and every view: the current-row and list views are
-- security_invoker, and the seed's monitoring queries read the tables.
-- Admins read everything, the install bookkeeping included.
DECLARE
    v_rel record;
BEGIN
    FOR v_rel IN
        SELECT c.relname FROM pg_catalog.pg_class AS c
          JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
         WHERE n.nspname = 'backup_mgmt' AND c.relkind IN ('r', 'p', 'v', 'm')
         ORDER BY c.relname
    LOOP
        IF v_rel.relname NOT IN ('pgmigrations', 'install_state') THEN
            EXECUTE format('GRANT SELECT ON backup_mgmt.%I TO backup_viewer', v_rel.relname);
        END IF;
        EXECUTE format('GRANT SELECT ON backup_mgmt.%I TO backup_mgmt_admin', v_rel.relname);
    END LOOP;
END;
$$;

-- EXECUTE per role by function name (every overload of the name).
SELECT backup_mgmt._grant_execute('backup_viewer', ARRAY['setting', 'get_backup', 'validate_repository_path', 'hash_key']);
SELECT backup_mgmt._grant_execute('backup_operator', ARRAY['create_full_backup', 'await_backup', 'verify_backup_integrity', 'cancel_backup']);
SELECT backup_mgmt._grant_execute('backup_agent', ARRAY['agent_register', 'agent_heartbeat', 'agent_stopped', 'claim_job', 'job_progress',
                                                        'complete_job', 'fail_job', 'release_job', 'register_wal', 'setting']);

DO $$
-- Admins get every function that is neither a loader nor internal, including
-- those other areas of sql/ add later.
DECLARE
    v_fn record;
BEGIN
    FOR v_fn IN
        SELECT p.oid::pg_catalog.regprocedure AS sig FROM pg_catalog.pg_proc AS p
          JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
         WHERE n.nspname = 'backup_mgmt' AND p.prokind = 'f'
           AND p.proname !~ '^_' AND p.proname !~ '_s_load$'
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO backup_mgmt_admin', v_fn.sig);
    END LOOP;
END;
$$;
