-- Reads a backup or recovery id as a person types it.

CREATE OR REPLACE FUNCTION backup_mgmt._subject_key(p_kind text, p_id text, p_what text)
RETURNS bytea
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- The hash key as 64 hex digits (optionally \x-prefixed, any case), returned
-- as it is, or the business key (case-insensitive, as hash keys normalise
-- it), looked up in the hub with the caller's privileges: NULL when it names
-- no row. Anything else: 22023, the message starting with p_what.
DECLARE
    v_id text := btrim(p_id);
    v_hk bytea;
BEGIN
    IF v_id ~ '^(\\x)?[0-9A-Fa-f]{64}$' THEN
        RETURN decode(right(v_id, 64), 'hex');
    ELSIF p_kind = 'backup' AND upper(v_id) ~ '^[A-Z][A-Z_0-9]*_[0-9]{8}_[0-9]{6}(_[0-9]{6})?$' THEN
        SELECT h.backup_hk INTO v_hk FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_bk = upper(v_id);
    ELSIF p_kind = 'recovery' AND upper(v_id) ~ '^RECOVERY_[A-Z_0-9]+_[0-9]{8}_[0-9]{6}(_[0-9]{6})?$' THEN
        SELECT h.recovery_hk INTO v_hk FROM backup_mgmt.recovery_operation_h AS h WHERE h.recovery_bk = upper(v_id);
    ELSE
        RAISE EXCEPTION '% % is neither a % id nor a % key', p_what, quote_literal(p_id), p_kind, p_kind
            USING ERRCODE = '22023',
                  HINT = 'Give the hash key as 64 hex digits or the business key, e.g. '
                         || CASE p_kind WHEN 'backup' THEN 'FULL_BACKUP_SYSTEM' ELSE 'RECOVERY_POINT_IN_TIME' END
                         || '_20261122_010203_123456.';
    END IF;
    RETURN v_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._subject_key(text, text, text) IS
'Internal (_subject_hk, _resolve_backup_id): hash key of the backup or recovery (p_kind) named by p_id, 64 hex digits (optionally \x-prefixed) or a business key; NULL if a well-formed business key names none; malformed: 22023, the message starting with p_what.';
