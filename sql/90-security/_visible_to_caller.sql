-- Whether the person calling an API function may see a row of a tenant.

CREATE OR REPLACE FUNCTION backup_mgmt._visible_to_caller(p_tenant_hk bytea)
RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- The SECURITY DEFINER functions run as the owner and so bypass row-level
    -- security; they ask this instead. The caller is session_user (and the SET
    -- ROLE role), as _tenant_scope() sees it. System-wide rows (tenant NULL)
    -- are visible to system callers only.
    SELECT v.scope IS NULL OR coalesce(p_tenant_hk = ANY (v.scope), false)
      FROM (SELECT backup_mgmt._tenant_scope(NULL) AS scope) AS v
$$;

COMMENT ON FUNCTION backup_mgmt._visible_to_caller(bytea) IS
'Internal: true when the calling session (session_user, or its SET ROLE role) may see a row of tenant p_tenant_hk: it is bound to no tenant (a system caller sees everything), or it is bound to that tenant. System-wide rows (NULL) are visible to system callers only. SECURITY DEFINER API functions call it so that other tenants'' rows look as if they did not exist.';
