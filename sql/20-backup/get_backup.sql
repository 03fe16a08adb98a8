-- Looks one backup up by hash key or business key.

CREATE OR REPLACE FUNCTION backup_mgmt.get_backup(p_id text)
RETURNS SETOF backup_mgmt.backup_list
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Accepts the hash key as 64 hex digits (optionally \x-prefixed, any case) or
-- the business key (case-insensitive, as hash keys normalise it). Reads
-- backup_list with the caller's privileges.
DECLARE
    v_id text := btrim(p_id);
    v_hk bytea;
BEGIN
    IF p_id IS NULL THEN
        RAISE EXCEPTION 'get_backup: p_id must not be NULL'
            USING ERRCODE = '22004', HINT = 'Give the hash key as 64 hex digits or the business key.';
    END IF;
    IF v_id ~ '^(\\x)?[0-9A-Fa-f]{64}$' THEN
        v_hk := decode(right(v_id, 64), 'hex');
    ELSIF upper(v_id) ~ '^[A-Z][A-Z_0-9]*_[0-9]{8}_[0-9]{6}(_[0-9]{6})?$' THEN
        SELECT h.backup_hk INTO v_hk FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_bk = upper(v_id);
    ELSE
        RAISE EXCEPTION 'get_backup: % is neither a backup id nor a backup key', quote_literal(p_id)
            USING ERRCODE = '22023',
                  HINT = 'Give the hash key as 64 hex digits or the business key, e.g. FULL_BACKUP_SYSTEM_20261122_010203_123456.';
    END IF;

    RETURN QUERY SELECT * FROM backup_mgmt.backup_list AS b WHERE b.backup_hk = v_hk;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'get_backup: no backup %', quote_literal(p_id)
            USING ERRCODE = 'P0002', HINT = 'List backups with SELECT * FROM backup_mgmt.backup_list.';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.get_backup(text) IS
'One row of backup_mgmt.backup_list, by hash key (64 hex digits, optionally \x-prefixed) or business key (e.g. FULL_BACKUP_SYSTEM_20261122_010203_123456). Malformed id: 22023; no such backup: P0002.';
