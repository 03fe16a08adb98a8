-- What a policy file would change, without changing anything.

CREATE OR REPLACE FUNCTION backup_mgmt.policy_plan(p_policy jsonb)
RETURNS TABLE (object_kind text, object_name text, action text, field text, old_value jsonb, new_value jsonb, drift boolean, detail text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- SECURITY DEFINER so that a viewer's plan sees what an apply would see.
-- Writes nothing; no rows = nothing to do.
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'policy_plan');
    RETURN QUERY SELECT * FROM backup_mgmt._policy_changes(backup_mgmt._policy_document(p_policy));
END;
$$;

COMMENT ON FUNCTION backup_mgmt.policy_plan(jsonb) IS
'The plan of a backup policy (the JSON form of a policy file: {version: 1, prune, schedules: [{name, type, cron, timezone, window: {start, end}, paused, description, retention: {period, min_redundancy, recovery_window, max_backup_count}, notifications: {on_success, on_failure, recipients}}], retention: {<retention.* setting>: value}, health: {<health.* setting>: value}}): one row per change, no rows = nothing to do. object_kind schedule|setting; action create, alter, pause, resume, drop (prune), adopt (made by hand, matches, becomes managed), record (matches, declaration stored), release (managed, no longer declared: left as it is), set, reset; field and old_value -> new_value (jsonb); drift true when the row undoes a change made by hand since the last policy_apply. Changes nothing. A bad document: 22023 (or the validator''s SQLSTATE) with the path in the file, e.g. "schedules[1].cron: ..." and DETAIL "path: schedules[1].cron". Tenant schedules are never managed: 42710 for a declared name that belongs to one. A caller bound to a tenant: 42501.';
