-- Row-level security on the operational tables: system-wide, so system roles only.
--
-- Every other table of the schema that neither carries a tenant_hk nor points
-- at a hub (settings, agents, the WAL archive registry, restore points, and
-- whatever is added later) holds system-wide rows only: a role bound to a
-- tenant reads none of them directly. The pack's functions still read them
-- for it (setting() for example): they run as the owner. Left out: job (its
-- own policy, rls_job.sql), tenant_role, pgmigrations and install_state (not
-- granted below backup_mgmt_admin).
DO $$
DECLARE
    v_table record;
BEGIN
    FOR v_table IN
        SELECT c.relname
          FROM pg_catalog.pg_class AS c
          JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
         WHERE n.nspname = 'backup_mgmt' AND c.relkind IN ('r', 'p')
           AND c.relname NOT IN ('job', 'tenant_role', 'pgmigrations', 'install_state')
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS a
                            WHERE a.attrelid = c.oid AND a.attname = 'tenant_hk' AND NOT a.attisdropped)
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS k
                             JOIN pg_catalog.pg_attribute AS t ON t.attrelid = k.confrelid AND t.attname = 'tenant_hk' AND NOT t.attisdropped
                            WHERE k.conrelid = c.oid AND k.contype = 'f' AND cardinality(k.conkey) = 1 AND k.confrelid <> c.oid)
         ORDER BY c.relname
    LOOP
        PERFORM backup_mgmt._apply_row_security(v_table.relname, 'system_only',
            '(SELECT backup_mgmt._tenant_scope(CURRENT_USER)) IS NULL',
            'System-wide rows: visible to roles bound to no tenant only.');
    END LOOP;
END;
$$;
