-- Turns a backup id as a person types it into a hash key.

CREATE OR REPLACE FUNCTION backup_mgmt._resolve_backup_id(p_id text, p_what text)
RETURNS bytea
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- 64 hex digits (optionally \x-prefixed) or a business key, as get_backup()
-- accepts them. Malformed: 22023; no such backup: P0002.
DECLARE
    v_id text := btrim(p_id);
    v_hk bytea;
BEGIN
    IF v_id ~ '^(\\x)?[0-9A-Fa-f]{64}$' THEN
        v_hk := decode(right(v_id, 64), 'hex');
        PERFORM 1 FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_hk = v_hk;
    ELSIF upper(v_id) ~ '^[A-Z][A-Z_0-9]*_[0-9]{8}_[0-9]{6}(_[0-9]{6})?$' THEN
        SELECT h.backup_hk INTO v_hk FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_bk = upper(v_id);
    ELSE
        RAISE EXCEPTION '% % is neither a backup id nor a backup key', p_what, quote_literal(p_id)
            USING ERRCODE = '22023',
                  HINT = 'Give the hash key as 64 hex digits or the business key, e.g. FULL_BACKUP_SYSTEM_20261122_010203_123456.';
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% %: no such backup', p_what, quote_literal(p_id)
            USING ERRCODE = 'P0002', HINT = 'List backups with SELECT * FROM backup_mgmt.backup_list.';
    END IF;
    RETURN v_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._resolve_backup_id(text, text) IS
'Internal: hash key of the backup named by p_id (64 hex digits, optionally \x-prefixed, or a business key); 22023 if malformed, P0002 if unknown. p_what names the value in messages.';
