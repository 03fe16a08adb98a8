-- An agent reports that a stored WAL file is damaged, or intact again.

CREATE OR REPLACE FUNCTION backup_mgmt.report_wal_integrity(
    p_system_identifier text,
    p_file_name text,
    p_ok boolean,
    p_detail text DEFAULT NULL
)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- p_ok false: the registered file is known damaged from now on (corrupt_at
-- kept from the first report, the detail refreshed): recoverability, planning
-- and health treat it as a gap. p_ok true: it read intact again (repaired),
-- the mark goes. Returns whether the row changed; an unregistered name
-- changes nothing.
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'report_wal_integrity');
    PERFORM backup_mgmt._require_args(p_system_identifier IS NULL OR p_file_name IS NULL OR p_ok IS NULL, 'report_wal_integrity', 'p_system_identifier, p_file_name and p_ok');
    IF p_file_name !~ '^([0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$' THEN
        RAISE EXCEPTION 'report_wal_integrity: % is not a WAL file name', quote_literal(left(p_file_name, 100))
            USING ERRCODE = '22023', HINT = 'Names as archive_command''s %f.';
    END IF;
    IF NOT p_ok AND (p_detail IS NULL OR btrim(p_detail) = '') THEN
        RAISE EXCEPTION 'report_wal_integrity: a damaged file needs p_detail saying why'
            USING ERRCODE = '22004';
    END IF;
    IF p_ok THEN
        UPDATE backup_mgmt.wal_archive AS w SET corrupt_at = NULL, corrupt_detail = NULL
         WHERE w.system_identifier = p_system_identifier AND w.file_name = p_file_name AND w.corrupt_at IS NOT NULL;
    ELSE
        UPDATE backup_mgmt.wal_archive AS w
           SET corrupt_at = coalesce(w.corrupt_at, now()), corrupt_detail = left(p_detail, 2000)
         WHERE w.system_identifier = p_system_identifier AND w.file_name = p_file_name
           AND (w.corrupt_at IS NULL OR w.corrupt_detail IS DISTINCT FROM left(p_detail, 2000));
    END IF;
    -- Whether the last statement changed a row.
    RETURN FOUND;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.report_wal_integrity(text, text, boolean, text) IS
'Agent protocol: p_ok false marks registered WAL file p_file_name of p_system_identifier damaged (corrupt_at, corrupt_detail = p_detail, required): a gap for recoverability, plan_recovery and health_check (wal_integrity CRITICAL) until a later call with p_ok true says it reads intact again. Returns whether the row changed. NULL input 22004, a malformed name 22023.';
