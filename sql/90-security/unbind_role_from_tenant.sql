-- Removes a role's tenant binding: it becomes a system role again.

CREATE OR REPLACE FUNCTION backup_mgmt.unbind_role_from_tenant(p_role text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- The role need not exist any more (a dropped role's binding can be removed).
-- Returns whether a binding was removed.
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'unbind_role_from_tenant');
    PERFORM backup_mgmt._require_args(p_role IS NULL, 'unbind_role_from_tenant', 'p_role', 'SELECT role_name FROM backup_mgmt.tenant_role lists the bound roles.');
    IF length(p_role) NOT BETWEEN 1 AND 63 OR p_role ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'unbind_role_from_tenant: invalid role name %', left(to_json(p_role)::text, 100)
            USING ERRCODE = '22023', DETAIL = format('A role name has 1 to 63 characters and no control characters (length %s).', length(p_role));
    END IF;
    DELETE FROM backup_mgmt.tenant_role AS t WHERE t.role_name = p_role;
    -- Whether the last statement changed a row.
    RETURN FOUND;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.unbind_role_from_tenant(text) IS
'Admin: removes the tenant binding of p_role (see bind_role_to_tenant); it and its members are system roles again unless bound through another role. Returns whether a binding was removed. Caller bound to a tenant: 42501; NULL: 22004; bad name: 22023.';

-- This file sorts after grants.sql: on a first install nothing else would take
-- it away from PUBLIC or give it to the admins (grants.sql does on re-applies).
REVOKE ALL ON FUNCTION backup_mgmt.unbind_role_from_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION backup_mgmt.unbind_role_from_tenant(text) TO backup_mgmt_admin;
