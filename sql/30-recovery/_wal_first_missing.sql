-- The first segment of a range that the WAL archive does not hold.

CREATE OR REPLACE FUNCTION backup_mgmt._wal_first_missing(
    p_system_identifier text,
    p_timeline integer,
    p_from_segno bigint,
    p_to_segno bigint
)
RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Within one timeline, file-name order is segment order, so the range is an
-- index range scan of wal_archive's primary key. Counting first makes the
-- common case (complete) cheap; only an incomplete range is walked. Purged
-- files count as missing. NULL = every segment is there.
DECLARE
    v_first text;
    v_last text;
    v_present bigint;
    v_missing bigint;
BEGIN
    IF p_to_segno < p_from_segno THEN
        RETURN NULL;
    END IF;
    v_first := backup_mgmt.wal_file_name(p_timeline, p_from_segno);
    v_last := backup_mgmt.wal_file_name(p_timeline, p_to_segno);

    SELECT count(*) INTO v_present
      FROM backup_mgmt.wal_archive AS w
     WHERE w.system_identifier = p_system_identifier AND w.file_name BETWEEN v_first AND v_last
       AND w.file_name ~ '^[0-9A-F]{24}$' AND w.purged_at IS NULL AND w.corrupt_at IS NULL;
    IF v_present = p_to_segno - p_from_segno + 1 THEN
        RETURN NULL;
    END IF;

    -- A hole before some present segment, else the tail of the range.
    SELECT min(x.gap_from) INTO v_missing
      FROM (SELECT coalesce(lag(s.segno) OVER (ORDER BY s.segno), p_from_segno - 1) + 1 AS gap_from, s.segno
              FROM (SELECT backup_mgmt.wal_segno(w.file_name) AS segno
                      FROM backup_mgmt.wal_archive AS w
                     WHERE w.system_identifier = p_system_identifier AND w.file_name BETWEEN v_first AND v_last
                       AND w.file_name ~ '^[0-9A-F]{24}$' AND w.purged_at IS NULL AND w.corrupt_at IS NULL) AS s) AS x
     WHERE x.segno > x.gap_from;
    IF v_missing IS NULL THEN
        SELECT coalesce(max(backup_mgmt.wal_segno(w.file_name)), p_from_segno - 1) + 1 INTO v_missing
          FROM backup_mgmt.wal_archive AS w
         WHERE w.system_identifier = p_system_identifier AND w.file_name BETWEEN v_first AND v_last
           AND w.file_name ~ '^[0-9A-F]{24}$' AND w.purged_at IS NULL AND w.corrupt_at IS NULL;
    END IF;
    RETURN v_missing;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._wal_first_missing(text, integer, bigint, bigint) IS
'Internal: the lowest segment number in [p_from_segno, p_to_segno] on timeline p_timeline of system p_system_identifier that wal_archive does not hold (purged counts as missing); NULL when the range is complete.';
