-- Segment number of the WAL segment that holds an LSN.

CREATE OR REPLACE FUNCTION backup_mgmt.wal_segno_of_lsn(p_lsn pg_lsn)
RETURNS bigint
LANGUAGE sql
STABLE
STRICT
PARALLEL SAFE
-- Inlined into its callers (no SET clause; every function and operator
-- qualified instead, so a caller's search_path cannot substitute another):
-- it runs per backup row in planning and the recoverability view.
AS $$
    -- floor(LSN / wal_segment_size). Note: the segment holding the last byte
    -- before an end position E (pg_walfile_name's rule) is the one of E - 1.
    SELECT pg_catalog.floor((p_lsn OPERATOR(pg_catalog.-) '0/0'::pg_catalog.pg_lsn)
                            OPERATOR(pg_catalog./) pg_catalog.pg_size_bytes(pg_catalog.current_setting('wal_segment_size')))::pg_catalog.int8
$$;

COMMENT ON FUNCTION backup_mgmt.wal_segno_of_lsn(pg_lsn) IS
'Segment number of the WAL segment containing byte p_lsn (floor(LSN / wal_segment_size)). For an end position E (a stop LSN) use wal_segno_of_lsn(E - 1), as pg_walfile_name() does.';
