-- Checks what a schedule runs and returns the upper-case type.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_backup_type(p_backup_type text, p_tenant_hk bytea)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- FULL and INCREMENTAL copy the whole cluster, so they cannot belong to one
-- tenant; DIFFERENTIAL is in the catalog's vocabulary but not implemented.
DECLARE
    v_type text := upper(btrim(p_backup_type));
BEGIN
    IF p_backup_type IS NULL THEN
        RAISE EXCEPTION 'backup type must not be NULL'
            USING ERRCODE = '22004', HINT = 'One of FULL, INCREMENTAL, CLEANUP, HEALTH_CHECK, VERIFY, DRILL.';
    END IF;
    IF v_type = 'DIFFERENTIAL' THEN
        RAISE EXCEPTION 'differential backups are not supported'
            USING ERRCODE = '0A000', HINT = 'Use INCREMENTAL (WAL-range incrementals on top of the latest full backup).';
    END IF;
    IF NOT v_type = ANY (ARRAY['FULL', 'INCREMENTAL', 'CLEANUP', 'HEALTH_CHECK', 'VERIFY', 'DRILL']) THEN
        RAISE EXCEPTION 'unknown backup type %', left(to_json(p_backup_type)::text, 60)
            USING ERRCODE = '22023',
                  DETAIL = format('field: backup_type; length: %s', length(p_backup_type)),
                  HINT = 'One of FULL, INCREMENTAL, CLEANUP, HEALTH_CHECK, VERIFY, DRILL.';
    END IF;
    IF p_tenant_hk IS NOT NULL AND v_type IN ('FULL', 'INCREMENTAL') THEN
        RAISE EXCEPTION 'a % backup schedule cannot be scoped to a tenant', v_type
            USING ERRCODE = '0A000',
                  DETAIL = 'Physical backups copy the whole cluster: every database, every tenant.',
                  HINT = 'Pass p_tenant_hk => NULL for a system-wide schedule.';
    END IF;
    -- A drill restores the whole cluster and health_check() reports on all of
    -- it: system-wide work, which a tenant may not start directly either.
    IF p_tenant_hk IS NOT NULL AND v_type IN ('DRILL', 'HEALTH_CHECK') THEN
        RAISE EXCEPTION 'a % schedule cannot be scoped to a tenant', v_type
            USING ERRCODE = '0A000',
                  DETAIL = 'Restore drills and health checks concern the whole cluster.',
                  HINT = 'Pass p_tenant_hk => NULL for a system-wide schedule (a role bound to no tenant must create it).';
    END IF;
    IF p_tenant_hk IS NOT NULL AND octet_length(p_tenant_hk) <> 32 THEN
        RAISE EXCEPTION 'invalid tenant hash key'
            USING ERRCODE = '22023',
                  DETAIL = format('field: tenant_hk; %s bytes, a hash key has 32', octet_length(p_tenant_hk)),
                  HINT = 'Pass a tenant hash key (SHA-256, 32 bytes) or NULL.';
    END IF;
    RETURN v_type;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_backup_type(text, bytea) IS
'Internal: validates a schedule type (FULL, INCREMENTAL, CLEANUP, HEALTH_CHECK, VERIFY, DRILL; any case) against the tenant: 22004 NULL, 0A000 DIFFERENTIAL or a tenant on FULL/INCREMENTAL/DRILL/HEALTH_CHECK, 22023 otherwise.';
