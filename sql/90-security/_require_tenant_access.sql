-- Refuses an action on a tenant's (or system-wide) objects by a caller of another tenant.

CREATE OR REPLACE FUNCTION backup_mgmt._require_tenant_access(p_tenant_hk bytea, p_caller text)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- For functions that create rows or act on the whole cluster: a caller bound
-- to a tenant may only create its own tenant's rows; NULL (system-wide: every
-- physical backup and recovery, restore points, settings, the agent protocol)
-- needs a caller bound to no tenant. 42501 otherwise. Rows that exist are
-- checked with _visible_to_caller() instead, so that they look missing.
BEGIN
    IF backup_mgmt._visible_to_caller(p_tenant_hk) THEN
        RETURN;
    END IF;
    IF p_tenant_hk IS NULL THEN
        RAISE EXCEPTION '%: % is bound to a tenant and may not act on system-wide objects', p_caller, session_user
            USING ERRCODE = '42501',
                  DETAIL = 'Physical backups, recoveries, restore points, settings and the agent protocol concern the whole cluster.',
                  HINT = 'Use a role that is not bound to a tenant (see backup_mgmt.tenant_role).';
    END IF;
    RAISE EXCEPTION '%: % may not act on objects of another tenant', p_caller, session_user
        USING ERRCODE = '42501',
              HINT = 'A role bound to a tenant (see backup_mgmt.tenant_role) acts for that tenant only.';
END;
$$;

COMMENT ON FUNCTION backup_mgmt._require_tenant_access(bytea, text) IS
'Internal: returns when the calling session may act on objects of tenant p_tenant_hk (NULL = system-wide objects, which need a caller bound to no tenant), else SQLSTATE 42501 naming p_caller. See _visible_to_caller().';
