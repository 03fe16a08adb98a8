-- The tenants the acting roles are bound to: what row-level security and the
-- API functions restrict a caller to.

CREATE OR REPLACE FUNCTION backup_mgmt._tenant_scope(p_current_user name DEFAULT NULL)
RETURNS bytea[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- NULL = unrestricted (a system caller), else the tenant hash keys it may see.
-- Acting roles: session_user, the role of SET ROLE (current_setting('role')
-- is not changed by SECURITY DEFINER) and p_current_user, the current_user of
-- the query a policy filters. Because session_user always counts, SET ROLE to
-- an unbound role (e.g. backup_operator) never widens a tenant session.
-- current_user here is the pack's owner: a query running with its privileges
-- (the SECURITY DEFINER functions of the pack) is unrestricted. A role is
-- bound if it or a role it is a member of is in tenant_role; superusers are
-- members of every role, so only their own binding would count (none:
-- bind_role_to_tenant refuses them).
DECLARE
    v_roles name[];
    v_scope bytea[];
BEGIN
    IF p_current_user IS NOT NULL AND pg_has_role(p_current_user, current_user, 'USAGE') THEN
        RETURN NULL;
    END IF;
    v_roles := ARRAY[session_user, nullif(current_setting('role'), 'none')::name, p_current_user];
    SELECT array_agg(DISTINCT t.tenant_hk ORDER BY t.tenant_hk) INTO v_scope
      FROM backup_mgmt.tenant_role AS t
      JOIN pg_catalog.pg_roles AS b ON b.rolname = t.role_name
     WHERE EXISTS (SELECT 1 FROM unnest(v_roles) AS a (rolname)
                     JOIN pg_catalog.pg_roles AS r ON r.rolname = a.rolname
                    WHERE NOT r.rolsuper AND pg_has_role(r.oid, b.oid, 'MEMBER'));
    RETURN v_scope;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._tenant_scope(name) IS
'Internal (row-level security, _visible_to_caller): NULL when the caller may see every row (no acting role is bound to a tenant, or p_current_user has the privileges of the pack''s owner, i.e. a SECURITY DEFINER function of the pack is running), else the array of tenant hash keys bound (see tenant_role) to session_user, the SET ROLE role or p_current_user, directly or through role membership.';
