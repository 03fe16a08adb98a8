-- WAL file name of a segment number on a timeline.

CREATE OR REPLACE FUNCTION backup_mgmt.wal_file_name(p_timeline integer, p_segno bigint)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- TLI (8 hex) + log (8 hex) + seg (8 hex), upper case, as PostgreSQL names
-- segments; the inverse of wal_segno().
DECLARE
    v_per_log bigint := (4294967296 / pg_size_bytes(current_setting('wal_segment_size')))::bigint;
BEGIN
    IF p_timeline IS NULL OR p_segno IS NULL THEN
        RAISE EXCEPTION 'wal_file_name: p_timeline and p_segno must not be NULL'
            USING ERRCODE = '22004', HINT = 'For example backup_mgmt.wal_file_name(1, 5).';
    END IF;
    IF p_timeline < 1 OR p_segno < 0 THEN
        RAISE EXCEPTION 'wal_file_name: invalid timeline % or segment number %', p_timeline, p_segno
            USING ERRCODE = '22023', DETAIL = 'Timelines start at 1; segment numbers are not negative.';
    END IF;
    RETURN upper(lpad(to_hex(p_timeline), 8, '0')
                 || lpad(to_hex(p_segno / v_per_log), 8, '0')
                 || lpad(to_hex(p_segno % v_per_log), 8, '0'));
END;
$$;

COMMENT ON FUNCTION backup_mgmt.wal_file_name(integer, bigint) IS
'WAL segment file name (TLI + log + seg, 24 upper-case hex digits) of segment number p_segno on timeline p_timeline; inverse of wal_segno(). NULL argument: 22004; timeline < 1 or negative segment: 22023.';
