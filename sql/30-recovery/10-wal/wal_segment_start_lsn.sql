-- First LSN of a WAL segment.

CREATE OR REPLACE FUNCTION backup_mgmt.wal_segment_start_lsn(p_segno bigint)
RETURNS pg_lsn
LANGUAGE sql STABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    -- segno x wal_segment_size; the next segment starts where this one ends.
    SELECT '0/0'::pg_lsn + (p_segno::numeric * pg_size_bytes(current_setting('wal_segment_size')))
$$;

COMMENT ON FUNCTION backup_mgmt.wal_segment_start_lsn(bigint) IS
'LSN of the first byte of WAL segment number p_segno (segno * wal_segment_size); wal_segment_start_lsn(n + 1) is the end of segment n.';
