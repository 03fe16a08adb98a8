-- Health check wal_integrity: stored WAL known to be damaged.

CREATE OR REPLACE FUNCTION backup_mgmt._health_wal_integrity(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Any registered, not purged WAL file marked damaged (report_wal_integrity)
-- is CRITICAL: replay cannot pass it, so the window has a gap there. The
-- detail names the files and why.
DECLARE
    v_count integer;
    v_files text[];
BEGIN
    SELECT count(*)::integer,
           array_agg(format('%s (%s)', w.file_name, coalesce(w.corrupt_detail, 'damaged')) ORDER BY w.file_name)
      INTO v_count, v_files
      FROM backup_mgmt.wal_archive AS w
     WHERE w.corrupt_at IS NOT NULL AND w.purged_at IS NULL;
    threshold := 'any damaged: critical';
    value := format('%s damaged', v_count);
    IF v_count > 0 THEN
        status := 'CRITICAL';
        detail := format('stored WAL is damaged, recovery cannot replay past it: %s%s; restore the file from another copy (or re-archive it) — the next WAL scan clears the mark once it reads intact',
                         array_to_string(v_files[1:3], '; '), CASE WHEN v_count > 3 THEN format('; and %s more', v_count - 3) ELSE '' END);
    ELSE
        status := 'OK';
        detail := 'no stored WAL file is known damaged';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_wal_integrity() IS
'Internal (health_check): CRITICAL while a registered WAL file is marked damaged (report_wal_integrity), naming the files; OK otherwise.';
