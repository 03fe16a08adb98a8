-- Binds a database role to a tenant: from then on it sees and acts on that tenant's rows only.

CREATE OR REPLACE FUNCTION backup_mgmt.bind_role_to_tenant(p_role text, p_tenant_hk bytea)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Members of p_role are bound too. Refused: superusers and BYPASSRLS roles
-- (row security does not apply to them), the pack's own roles and its owner
-- and any role one of them is a member of (binding it would bind the pack's
-- system roles: pg_cron jobs run as the owner; a superuser owner is a member
-- of every role and is never bound anyway), a role bound to another
-- tenant (unbind it first). Binding again to the same tenant changes nothing.
-- Returns whether a binding was added.
DECLARE
    v_role pg_catalog.pg_roles;
    v_bound bytea;
    v_pack text;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'bind_role_to_tenant');
    PERFORM backup_mgmt._require_args(p_role IS NULL OR p_tenant_hk IS NULL, 'bind_role_to_tenant', 'p_role and p_tenant_hk', 'For example SELECT backup_mgmt.bind_role_to_tenant(''tenant_a'', backup_mgmt.hash_key(''TENANT_A'')).');
    IF length(p_role) NOT BETWEEN 1 AND 63 OR p_role ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'bind_role_to_tenant: invalid role name %', left(to_json(p_role)::text, 100)
            USING ERRCODE = '22023', DETAIL = format('A role name has 1 to 63 characters and no control characters (length %s).', length(p_role));
    END IF;
    IF octet_length(p_tenant_hk) <> 32 THEN
        RAISE EXCEPTION 'bind_role_to_tenant: invalid tenant hash key'
            USING ERRCODE = '22023', DETAIL = format('%s bytes; a hash key has 32.', octet_length(p_tenant_hk)),
                  HINT = 'Pass the tenant''s hash key (SHA-256, as in the hubs'' tenant_hk).';
    END IF;
    SELECT * INTO v_role FROM pg_catalog.pg_roles AS r WHERE r.rolname = p_role;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'bind_role_to_tenant: role % does not exist', quote_ident(p_role)
            USING ERRCODE = '42704', HINT = 'Create the role first (CREATE ROLE ... ; GRANT backup_viewer TO ...).';
    END IF;
    IF v_role.rolsuper OR v_role.rolbypassrls THEN
        RAISE EXCEPTION 'bind_role_to_tenant: role % is a superuser or has BYPASSRLS', quote_ident(p_role)
            USING ERRCODE = '22023', DETAIL = 'Row-level security does not apply to such roles, so a binding would isolate nothing.',
                  HINT = 'Bind a role without SUPERUSER and BYPASSRLS.';
    END IF;
    SELECT p.name INTO v_pack
      FROM unnest(ARRAY['backup_viewer', 'backup_operator', 'recovery_approver', 'backup_agent', 'backup_mgmt_admin', current_user::text]) AS p (name)
      JOIN pg_catalog.pg_roles AS r ON r.rolname = p.name
     WHERE NOT r.rolsuper AND pg_has_role(r.oid, v_role.oid, 'MEMBER')
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'bind_role_to_tenant: binding % would bind the pack''s role %', quote_ident(p_role), v_pack
            USING ERRCODE = '22023',
                  DETAIL = 'The pack''s roles and its owner are system roles: they must see every tenant.',
                  HINT = 'Bind a role of the tenant''s own (CREATE ROLE tenant_a; GRANT backup_viewer TO tenant_a) and make its users members of it.';
    END IF;

    SELECT t.tenant_hk INTO v_bound FROM backup_mgmt.tenant_role AS t WHERE t.role_name = p_role FOR UPDATE;
    IF FOUND THEN
        IF v_bound = p_tenant_hk THEN
            RETURN false;
        END IF;
        RAISE EXCEPTION 'bind_role_to_tenant: role % is bound to another tenant', quote_ident(p_role)
            USING ERRCODE = '23505', HINT = 'Unbind it first: SELECT backup_mgmt.unbind_role_from_tenant(...).';
    END IF;
    INSERT INTO backup_mgmt.tenant_role AS t (role_name, tenant_hk, bound_at, bound_by)
    VALUES (p_role, p_tenant_hk, now(), session_user)
    ON CONFLICT (role_name) DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'bind_role_to_tenant: role % was bound concurrently', quote_ident(p_role)
            USING ERRCODE = '23505', HINT = 'Look at backup_mgmt.tenant_role and try again.';
    END IF;
    RETURN true;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.bind_role_to_tenant(text, bytea) IS
'Admin: binds role p_role (and every role that is a member of it) to tenant p_tenant_hk (32-byte hash key): row-level security then shows it only rows of that tenant (no system-wide rows) and the API functions treat other rows as missing. Returns true when bound, false when it already was. Caller bound to a tenant: 42501; NULL: 22004; bad name or key, superuser, BYPASSRLS, a pack role, the owner or a role a pack role is a member of: 22023; unknown role: 42704; bound to another tenant: 23505.';

-- Created after grants.sql on a first install would leave it to PUBLIC.
REVOKE ALL ON FUNCTION backup_mgmt.bind_role_to_tenant(text, bytea) FROM PUBLIC;
