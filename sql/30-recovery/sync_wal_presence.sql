-- The agent tells the catalog which registered WAL files are still in the repository.

CREATE OR REPLACE FUNCTION backup_mgmt.sync_wal_presence(p_system_identifier text, p_present text[])
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- p_present is the complete list of WAL file names the agent just found in
-- <repo>/<system>/wal. Registered files missing from it get purged_at = now()
-- (the recoverability view and PITR planning then see the gap); purged files
-- that are back (restored by an operator) are present again. Returns how many
-- rows were newly marked purged. Registration of new files stays register_wal's.
DECLARE
    v_bad text;
    v_purged integer;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'sync_wal_presence');
    PERFORM backup_mgmt._require_args(p_system_identifier IS NULL OR p_present IS NULL, 'sync_wal_presence', 'p_system_identifier and p_present', 'Pass the cluster''s system identifier and every WAL file name the repository holds (possibly none).');
    IF p_system_identifier !~ '^[0-9]{1,20}$' THEN
        RAISE EXCEPTION 'sync_wal_presence: invalid system identifier %', quote_literal(p_system_identifier)
            USING ERRCODE = '22023', DETAIL = 'A system identifier is a decimal number of at most 20 digits.';
    END IF;
    SELECT f INTO v_bad FROM unnest(p_present) AS f
     WHERE f IS NULL OR f !~ '^([0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$'
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'sync_wal_presence: % is not a WAL file name', coalesce(quote_literal(v_bad), 'NULL')
            USING ERRCODE = '22023', HINT = 'Names as archive_command''s %f: segments, .partial, .backup and .history files.';
    END IF;

    UPDATE backup_mgmt.wal_archive AS w
       SET purged_at = now()
     WHERE w.system_identifier = p_system_identifier AND w.purged_at IS NULL
       AND NOT (w.file_name = ANY (p_present));
    GET DIAGNOSTICS v_purged = ROW_COUNT;

    UPDATE backup_mgmt.wal_archive AS w
       SET purged_at = NULL
     WHERE w.system_identifier = p_system_identifier AND w.purged_at IS NOT NULL
       AND w.file_name = ANY (p_present);
    RETURN v_purged;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.sync_wal_presence(text, text[]) IS
'Agent protocol: p_present = every WAL file name now in the repository for p_system_identifier. Registered files not in it are marked purged (purged_at = now(): recoverability shows the gap, plans avoid it); purged files present again are unmarked. Returns the number newly marked purged. NULL arguments 22004; a malformed name or system identifier 22023, nothing written.';
