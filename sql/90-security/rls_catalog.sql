-- Row-level security on the Data Vault catalog: tenant isolation.
--
-- A role bound to a tenant (tenant_role, bind_role_to_tenant) sees only the
-- rows of that tenant; system-wide rows (tenant_hk NULL) only roles bound to
-- no tenant. Per table, from the catalog, so new hubs, links and satellites
-- are covered without an edit here:
--
--   hubs        (a tenant_hk column):      tenant_hk is one of the caller's tenants
--   links       (tenant_hk + hub keys):    that, and every hub they join is visible
--   satellites  (a foreign key to a hub):  the hub row is visible (EXISTS on the
--                                          hub's primary key: one index probe)
--
-- The hub's own policy applies inside those EXISTS, so a satellite follows its
-- hub. (SELECT backup_mgmt._tenant_scope(current_user)) is an init plan: run
-- once per statement; NULL means unrestricted (a system role, or the pack's
-- owner running one of its SECURITY DEFINER functions), which short-circuits
-- the per-row test. The views are security_invoker and so follow.
DO $$
DECLARE
    v_scope constant text := '(SELECT backup_mgmt._tenant_scope(CURRENT_USER))';
    v_table record;
    v_fk record;
    v_tests text[];
BEGIN
    FOR v_table IN
        SELECT c.oid, c.relname,
               EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS a
                        WHERE a.attrelid = c.oid AND a.attname = 'tenant_hk' AND NOT a.attisdropped) AS has_tenant
          FROM pg_catalog.pg_class AS c
          JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
         WHERE n.nspname = 'backup_mgmt' AND c.relkind IN ('r', 'p') AND c.relname <> 'tenant_role'
         ORDER BY c.relname
    LOOP
        v_tests := '{}';
        IF v_table.has_tenant THEN
            v_tests := v_tests || format('tenant_hk = ANY (%s::bytea[])', v_scope);
        END IF;
        -- Single-column foreign keys to tables that carry a tenant (the hubs).
        FOR v_fk IN
            SELECT a.attname AS col, r.relname AS hub, ra.attname AS hub_col
              FROM pg_catalog.pg_constraint AS k
              JOIN pg_catalog.pg_attribute AS a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
              JOIN pg_catalog.pg_class AS r ON r.oid = k.confrelid
              JOIN pg_catalog.pg_attribute AS ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1]
             WHERE k.conrelid = v_table.oid AND k.contype = 'f' AND cardinality(k.conkey) = 1
               AND k.confrelid <> v_table.oid
               AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS t
                            WHERE t.attrelid = k.confrelid AND t.attname = 'tenant_hk' AND NOT t.attisdropped)
             ORDER BY k.conname
        LOOP
            v_tests := v_tests || format('EXISTS (SELECT 1 FROM backup_mgmt.%I AS h WHERE h.%I = %I.%I)',
                                         v_fk.hub, v_fk.hub_col, v_table.relname, v_fk.col);
        END LOOP;
        CONTINUE WHEN cardinality(v_tests) = 0;
        PERFORM backup_mgmt._apply_row_security(v_table.relname, 'tenant_isolation',
            format('%s IS NULL OR (%s)', v_scope, array_to_string(v_tests, ' AND ')),
            CASE WHEN v_table.has_tenant THEN 'Tenant isolation: rows of the caller''s tenants only (system-wide rows, tenant_hk NULL, for roles bound to no tenant).'
                 ELSE 'Tenant isolation: a row is visible when its hub row is.' END);
    END LOOP;
END;
$$;
