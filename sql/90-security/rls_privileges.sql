-- Privileges that row-level security needs, applied after grants.sql (which
-- takes everything away first and gives viewers SELECT on every table).
--
--   the policies call _tenant_scope() with the reader's rights, so every pack
--   role gets EXECUTE on it (a role outside the pack roles that is granted
--   SELECT directly fails closed: permission denied);
--   tenant_role (who is bound to which tenant) is for backup_mgmt_admin only;
--   bind_role_to_tenant / unbind_role_from_tenant: admins only (grants.sql
--   gives admins every API function; nobody else gets them).
SELECT backup_mgmt._grant_execute(v_role, ARRAY['_tenant_scope'])
  FROM unnest(ARRAY['backup_viewer', 'backup_operator', 'recovery_approver', 'backup_agent', 'backup_mgmt_admin']) AS v_role;
REVOKE ALL ON backup_mgmt.tenant_role FROM backup_viewer, backup_operator, recovery_approver, backup_agent;
