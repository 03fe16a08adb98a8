-- Segment number of a WAL file name (the position of the segment in the WAL stream).

CREATE OR REPLACE FUNCTION backup_mgmt.wal_segno(p_file_name text)
RETURNS bigint
LANGUAGE sql
STABLE
PARALLEL SAFE
-- Inlined into the queries that call it (no SET clause, not STRICT: an
-- inlined body would not be, CASE is not): it runs per archived segment, and
-- a call each costed more than the scan. With no search_path of its own every
-- function and operator is qualified, so a caller's search_path cannot
-- substitute another (NULL still gives NULL).
AS $$
    -- A name is TLI (8 hex) + log (8 hex) + seg (8 hex); segno = log x
    -- (2^32 / wal_segment_size) + seg, 256 segments per log at 16 MiB. The
    -- timeline is not part of the number. Suffixes (.partial, .backup) are
    -- ignored; anything that does not start with 24 upper-case hex digits
    -- (a .history file) has no segment number: NULL.
    SELECT CASE WHEN p_file_name OPERATOR(pg_catalog.~) '^[0-9A-F]{24}' THEN
        ('x' OPERATOR(pg_catalog.||) pg_catalog.lpad(pg_catalog.substr(p_file_name, 9, 8), 16, '0'))::pg_catalog.bit(64)::pg_catalog.int8
            OPERATOR(pg_catalog.*) (4294967296 OPERATOR(pg_catalog./)
                                    pg_catalog.pg_size_bytes(pg_catalog.current_setting('wal_segment_size')))::pg_catalog.int8
        OPERATOR(pg_catalog.+) ('x' OPERATOR(pg_catalog.||) pg_catalog.lpad(pg_catalog.substr(p_file_name, 17, 8), 16, '0'))::pg_catalog.bit(64)::pg_catalog.int8
    END
$$;

COMMENT ON FUNCTION backup_mgmt.wal_segno(text) IS
'Segment number of a WAL file name: log * (2^32 / wal_segment_size) + seg (256 segments per log at 16 MiB); the timeline is ignored, suffixes such as .partial too. NULL for names that are not WAL segment names (e.g. 00000002.history).';
