-- Segment number of the WAL segment that holds an LSN.

CREATE OR REPLACE FUNCTION backup_mgmt.wal_segno_of_lsn(p_lsn pg_lsn)
RETURNS bigint
LANGUAGE sql
STABLE
STRICT
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    -- floor(LSN / wal_segment_size). Note: the segment holding the last byte
    -- before an end position E (pg_walfile_name's rule) is the one of E - 1.
    SELECT floor((p_lsn - '0/0'::pg_lsn) / pg_size_bytes(current_setting('wal_segment_size')))::bigint
$$;

COMMENT ON FUNCTION backup_mgmt.wal_segno_of_lsn(pg_lsn) IS
'Segment number of the WAL segment containing byte p_lsn (floor(LSN / wal_segment_size)). For an end position E (a stop LSN) use wal_segno_of_lsn(E - 1), as pg_walfile_name() does.';
