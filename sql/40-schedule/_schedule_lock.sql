-- Locks a schedule by name and returns its current version.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_lock(p_schedule_name text, p_allow_dropped boolean DEFAULT false)
RETURNS backup_mgmt.backup_schedule_s
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- The hub row is locked FOR UPDATE until the end of the transaction, so
-- changes and runs of one schedule happen one after another (the loaders
-- lock the same row). Unknown or dropped names: 42704.
DECLARE
    v_name text := backup_mgmt._schedule_name(p_schedule_name);
    v_s backup_mgmt.backup_schedule_s;
BEGIN
    PERFORM 1 FROM backup_mgmt.backup_schedule_h WHERE schedule_hk = backup_mgmt.hash_key(v_name) FOR UPDATE;
    -- Another tenant's schedule (or a system one, for a tenant's role) looks missing.
    SELECT * INTO v_s FROM backup_mgmt.backup_schedule_s
     WHERE schedule_hk = backup_mgmt.hash_key(v_name) AND load_end_date IS NULL
       AND backup_mgmt._visible_to_caller((SELECT h.tenant_hk FROM backup_mgmt.backup_schedule_h AS h
                                            WHERE h.schedule_hk = backup_mgmt.hash_key(v_name)));
    IF NOT FOUND THEN
        RAISE EXCEPTION 'backup schedule % does not exist', v_name
            USING ERRCODE = '42704', HINT = 'SELECT schedule_name FROM backup_mgmt.backup_schedule_current lists the schedules.';
    END IF;
    IF coalesce(v_s.tags ? 'dropped_at', false) AND NOT p_allow_dropped THEN
        RAISE EXCEPTION 'backup schedule % does not exist', v_name
            USING ERRCODE = '42704',
                  DETAIL = format('It was dropped at %s; its history is kept.', v_s.tags->>'dropped_at'),
                  HINT = 'create_backup_schedule() with the same name defines it again.';
    END IF;
    RETURN v_s;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_lock(text, boolean) IS
'Internal: validates p_schedule_name, locks its hub row FOR UPDATE and returns the current backup_schedule_s version; 42704 if unknown (or dropped, unless p_allow_dropped).';
