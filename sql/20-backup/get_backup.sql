-- Looks one backup up by hash key or business key.

CREATE OR REPLACE FUNCTION backup_mgmt.get_backup(p_id text)
RETURNS SETOF backup_mgmt.backup_list
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- The id is resolved by _subject_hk (hash key or business key); reads
-- backup_list with the caller's privileges.
DECLARE
    v_hk bytea := backup_mgmt._subject_hk('backup', p_id, 'get_backup');
BEGIN
    RETURN QUERY SELECT * FROM backup_mgmt.backup_list AS b WHERE b.backup_hk = v_hk;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'get_backup: no backup %', quote_literal(p_id)
            USING ERRCODE = 'P0002', HINT = 'List backups with SELECT * FROM backup_mgmt.backup_list.';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.get_backup(text) IS
'One row of backup_mgmt.backup_list, by hash key (64 hex digits, optionally \x-prefixed) or business key (e.g. FULL_BACKUP_SYSTEM_20261122_010203_123456). Malformed id: 22023; no such backup: P0002.';
