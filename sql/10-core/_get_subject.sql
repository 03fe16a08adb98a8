-- The one row of a list view that get_backup and get_recovery return.

CREATE OR REPLACE FUNCTION backup_mgmt._get_subject(p_row anyelement, p_kind text, p_id text, p_caller text)
RETURNS SETOF anyelement
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- p_row (NULL::backup_mgmt.backup_list or NULL::backup_mgmt.recovery_list)
-- only fixes the row type. The id is resolved by _subject_hk; the list view
-- <kind>_list is read with the caller's privileges, so a row the caller may
-- not see is "no such", P0002.
DECLARE
    v_hk bytea := backup_mgmt._subject_hk(p_kind, p_id, p_caller);
BEGIN
    RETURN QUERY EXECUTE format('SELECT * FROM backup_mgmt.%I AS l WHERE l.%I = $1', p_kind || '_list', p_kind || '_hk')
        USING v_hk;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: no % %', p_caller, p_kind, quote_literal(p_id)
            USING ERRCODE = 'P0002',
                  HINT = format('List %s with SELECT * FROM backup_mgmt.%s_list.',
                                CASE p_kind WHEN 'backup' THEN 'backups' ELSE 'recoveries' END, p_kind);
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._get_subject(anyelement, text, text, text) IS
'Internal (get_backup, get_recovery): the <p_kind>_list row of the backup or recovery named by p_id (hash key or business key, see _subject_hk), read with the caller''s rights; none: P0002 naming p_caller.';
