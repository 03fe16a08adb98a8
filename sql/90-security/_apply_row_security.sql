-- Used by the rls_*.sql files: row-level security with one policy on a table.

CREATE OR REPLACE FUNCTION backup_mgmt._apply_row_security(p_table name, p_policy name, p_expr text, p_comment text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- ENABLE and FORCE row-level security on backup_mgmt.<p_table> and make
-- <p_policy> the policy FOR ALL with p_expr as USING and WITH CHECK. FORCE:
-- the table owner is filtered too; the expressions let the pack's owner (the
-- SECURITY DEFINER functions) through explicitly. The policy's comment ends
-- with the md5 of p_expr, so an unchanged policy is left alone (no lock, no
-- churn when the bundle is re-applied). Returns whether anything changed.
DECLARE
    v_class pg_catalog.pg_class;
    v_tag text := '[policy md5 ' || md5(p_expr) || ']';
    v_old text;
    v_changed boolean := false;
BEGIN
    SELECT c.* INTO v_class FROM pg_catalog.pg_class AS c
      JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
     WHERE n.nspname = 'backup_mgmt' AND c.relname = p_table AND c.relkind IN ('r', 'p');
    IF NOT FOUND THEN
        RAISE EXCEPTION '_apply_row_security: no table backup_mgmt.%', quote_ident(p_table)
            USING ERRCODE = '42P01', HINT = 'This is a bug in sql/90-security.';
    END IF;
    IF NOT v_class.relrowsecurity THEN
        EXECUTE format('ALTER TABLE backup_mgmt.%I ENABLE ROW LEVEL SECURITY', p_table);
        v_changed := true;
    END IF;
    IF NOT v_class.relforcerowsecurity THEN
        EXECUTE format('ALTER TABLE backup_mgmt.%I FORCE ROW LEVEL SECURITY', p_table);
        v_changed := true;
    END IF;

    SELECT obj_description(p.oid, 'pg_policy') INTO v_old
      FROM pg_catalog.pg_policy AS p WHERE p.polrelid = v_class.oid AND p.polname = p_policy;
    IF FOUND AND v_old IS NOT NULL AND right(v_old, length(v_tag)) = v_tag THEN
        RETURN v_changed;
    END IF;
    EXECUTE format('DROP POLICY IF EXISTS %I ON backup_mgmt.%I', p_policy, p_table);
    EXECUTE format('CREATE POLICY %I ON backup_mgmt.%I AS PERMISSIVE FOR ALL TO PUBLIC USING (%s) WITH CHECK (%s)',
                   p_policy, p_table, p_expr, p_expr);
    EXECUTE format('COMMENT ON POLICY %I ON backup_mgmt.%I IS %L', p_policy, p_table, p_comment || ' ' || v_tag);
    RETURN true;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._apply_row_security(name, name, text, text) IS
'Internal (install time, sql/90-security/rls_*.sql): enables and forces row-level security on a backup_mgmt table and (re)creates one policy FOR ALL with p_expr as USING and WITH CHECK, unless the policy''s comment already carries the md5 of p_expr. Returns whether anything changed.';
