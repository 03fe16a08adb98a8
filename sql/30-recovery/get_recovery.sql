-- Looks one recovery up by hash key or business key.

CREATE OR REPLACE FUNCTION backup_mgmt.get_recovery(p_id text)
RETURNS SETOF backup_mgmt.recovery_list
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Accepts the hash key as 64 hex digits (optionally \x-prefixed, any case) or
-- the business key (case-insensitive, as hash keys normalise it). Reads
-- recovery_list with the caller's privileges.
DECLARE
    v_id text := btrim(p_id);
    v_hk bytea;
BEGIN
    IF p_id IS NULL THEN
        RAISE EXCEPTION 'get_recovery: p_id must not be NULL'
            USING ERRCODE = '22004', HINT = 'Give the hash key as 64 hex digits or the business key.';
    END IF;
    IF v_id ~ '^(\\x)?[0-9A-Fa-f]{64}$' THEN
        v_hk := decode(right(v_id, 64), 'hex');
    ELSIF upper(v_id) ~ '^RECOVERY_[A-Z_0-9]+_[0-9]{8}_[0-9]{6}(_[0-9]{6})?$' THEN
        SELECT h.recovery_hk INTO v_hk FROM backup_mgmt.recovery_operation_h AS h WHERE h.recovery_bk = upper(v_id);
    ELSE
        RAISE EXCEPTION 'get_recovery: % is neither a recovery id nor a recovery key', quote_literal(p_id)
            USING ERRCODE = '22023',
                  HINT = 'Give the hash key as 64 hex digits or the business key, e.g. RECOVERY_POINT_IN_TIME_20261122_010203_123456.';
    END IF;

    RETURN QUERY SELECT * FROM backup_mgmt.recovery_list AS l WHERE l.recovery_hk = v_hk;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'get_recovery: no recovery %', quote_literal(p_id)
            USING ERRCODE = 'P0002', HINT = 'List recoveries with SELECT * FROM backup_mgmt.recovery_list.';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.get_recovery(text) IS
'One row of backup_mgmt.recovery_list, by hash key (64 hex digits, optionally \x-prefixed) or business key (e.g. RECOVERY_POINT_IN_TIME_20261122_010203_123456). Malformed id: 22023; no such recovery: P0002.';
