-- Whether the person calling may decide alone about recoveries.

CREATE OR REPLACE FUNCTION backup_mgmt._is_recovery_admin()
RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- session_user, not current_user: inside SECURITY DEFINER functions
    -- current_user is the owner. Superusers are members of every role.
    SELECT pg_has_role(session_user, 'backup_mgmt_admin', 'MEMBER')
$$;

COMMENT ON FUNCTION backup_mgmt._is_recovery_admin() IS
'Internal: true when session_user is a superuser or a member of backup_mgmt_admin (may skip approval, cancel anyone''s recovery).';
