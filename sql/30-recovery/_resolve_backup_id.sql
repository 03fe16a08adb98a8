-- Turns a backup id as a person types it into the hash key of a backup that exists.

CREATE OR REPLACE FUNCTION backup_mgmt._resolve_backup_id(p_id text, p_what text)
RETURNS bytea
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- 64 hex digits (optionally \x-prefixed) or a business key, as get_backup()
-- accepts them (_subject_key). Malformed: 22023; no such backup: P0002.
DECLARE
    v_hk bytea := backup_mgmt._subject_key('backup', p_id, p_what);
BEGIN
    IF v_hk IS NULL OR NOT EXISTS (SELECT 1 FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_hk = v_hk) THEN
        RAISE EXCEPTION '% %: no such backup', p_what, quote_literal(p_id)
            USING ERRCODE = 'P0002', HINT = 'List backups with SELECT * FROM backup_mgmt.backup_list.';
    END IF;
    RETURN v_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._resolve_backup_id(text, text) IS
'Internal: hash key of the backup named by p_id (64 hex digits, optionally \x-prefixed, or a business key); 22023 if malformed, P0002 if unknown. p_what names the value in messages.';
