-- Turns a backup or recovery id as a person types it into a hash key.

CREATE OR REPLACE FUNCTION backup_mgmt._subject_hk(p_kind text, p_id text, p_caller text)
RETURNS bytea
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Shared by get_backup and get_recovery (through _get_subject). NULL when a
-- well-formed business key names no row (the caller says P0002). Reads the
-- hub with the caller's privileges.
BEGIN
    IF p_kind NOT IN ('backup', 'recovery') THEN
        RAISE EXCEPTION '_subject_hk: unknown kind %', quote_literal(p_kind)
            USING ERRCODE = '22023', HINT = 'This is a bug in backup_mgmt.';
    END IF;
    IF p_id IS NULL THEN
        RAISE EXCEPTION '%: p_id must not be NULL', p_caller
            USING ERRCODE = '22004', HINT = 'Give the hash key as 64 hex digits or the business key.';
    END IF;
    RETURN backup_mgmt._subject_key(p_kind, p_id, p_caller || ':');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._subject_hk(text, text, text) IS
'Internal (get_backup, get_recovery): hash key of the backup or recovery (p_kind) named by p_id, 64 hex digits (optionally \x-prefixed) or a business key; NULL if a well-formed business key names none. NULL p_id: 22004; malformed: 22023; messages start with p_caller.';
