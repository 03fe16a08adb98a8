-- Looks one recovery up by hash key or business key.

CREATE OR REPLACE FUNCTION backup_mgmt.get_recovery(p_id text)
RETURNS SETOF backup_mgmt.recovery_list
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- The id is resolved by _subject_hk (hash key or business key); reads
-- recovery_list with the caller's privileges.
DECLARE
    v_hk bytea := backup_mgmt._subject_hk('recovery', p_id, 'get_recovery');
BEGIN
    RETURN QUERY SELECT * FROM backup_mgmt.recovery_list AS l WHERE l.recovery_hk = v_hk;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'get_recovery: no recovery %', quote_literal(p_id)
            USING ERRCODE = 'P0002', HINT = 'List recoveries with SELECT * FROM backup_mgmt.recovery_list.';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.get_recovery(text) IS
'One row of backup_mgmt.recovery_list, by hash key (64 hex digits, optionally \x-prefixed) or business key (e.g. RECOVERY_POINT_IN_TIME_20261122_010203_123456). Malformed id: 22023; no such recovery: P0002.';
