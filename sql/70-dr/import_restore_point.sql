-- Catalog sync: a restore point the repository knows and the catalog lacks.

CREATE OR REPLACE FUNCTION backup_mgmt.import_restore_point(
    p_name text,
    p_lsn pg_lsn,
    p_timeline integer,
    p_system_identifier text,
    p_created_at timestamptz,
    p_created_by text
)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- The WAL record exists already (the repository's WAL holds it); only the
-- catalog row is restored. A name the catalog has is left alone.
DECLARE
    v_sysid text := (SELECT c.system_identifier::text FROM pg_control_system() AS c);
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'import_restore_point');
    IF p_name IS NULL OR p_lsn IS NULL OR p_timeline IS NULL OR p_system_identifier IS NULL OR p_created_at IS NULL THEN
        RAISE EXCEPTION 'import_restore_point: arguments must not be NULL' USING ERRCODE = '22004';
    END IF;
    -- The system identifier's high 32 bits are the initdb time: no restore
    -- point of this cluster is older, none is from the future.
    IF p_name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' OR p_timeline < 1 OR NOT isfinite(p_created_at) OR p_created_at > now()
       OR p_created_at < to_timestamp(floor(v_sysid::numeric / 4294967296)::double precision) THEN
        RAISE EXCEPTION 'import_restore_point: invalid restore point %', quote_literal(p_name) USING ERRCODE = '22023';
    END IF;
    IF p_system_identifier <> v_sysid THEN
        RAISE EXCEPTION 'restore point % belongs to system %, not to this cluster (%)', quote_literal(p_name), p_system_identifier, v_sysid
            USING ERRCODE = '22023', HINT = 'Sync a cluster only with the repository of its own system identifier.';
    END IF;
    INSERT INTO backup_mgmt.restore_point AS r (name, lsn, timeline, system_identifier, created_at, created_by)
    VALUES (p_name, p_lsn, p_timeline, p_system_identifier, p_created_at, coalesce(p_created_by, session_user))
    ON CONFLICT (name) DO NOTHING;
    -- Whether the last statement changed a row.
    RETURN FOUND;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.import_restore_point(text, pg_lsn, integer, text, timestamptz, text) IS
'Catalog sync (disaster recovery): records a restore point read from the repository; returns whether a row was added (an existing name is left alone). Another system: 22023; bad name, timeline or time (not finite, in the future, older than the cluster): 22023; NULL: 22004.';
