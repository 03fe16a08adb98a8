-- Used by the grants files of sql/90-security: EXECUTE on every overload of
-- the named functions of the schema to one role.
CREATE OR REPLACE FUNCTION backup_mgmt._grant_execute(p_role text, p_names text[])
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
-- Grants by name so that a new overload or a changed signature needs no edit
-- here; returns how many functions were granted.
DECLARE
    v_fn record;
    v_count integer := 0;
BEGIN
    FOR v_fn IN
        SELECT p.oid::pg_catalog.regprocedure AS sig FROM pg_catalog.pg_proc AS p
          JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
         WHERE n.nspname = 'backup_mgmt' AND p.proname = ANY (p_names)
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %I', v_fn.sig, p_role);
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END;
$$;
COMMENT ON FUNCTION backup_mgmt._grant_execute(text, text[]) IS
'Internal (install time): grants EXECUTE on every overload of the named backup_mgmt functions to a role.';
