-- Segment number of a WAL file name (the position of the segment in the WAL stream).

CREATE OR REPLACE FUNCTION backup_mgmt.wal_segno(p_file_name text)
RETURNS bigint
LANGUAGE sql
STABLE
STRICT
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    -- A name is TLI (8 hex) + log (8 hex) + seg (8 hex); segno = log x
    -- (2^32 / wal_segment_size) + seg, 256 segments per log at 16 MiB. The
    -- timeline is not part of the number. Suffixes (.partial, .backup) are
    -- ignored; anything that does not start with 24 upper-case hex digits
    -- (a .history file) has no segment number: NULL.
    SELECT CASE WHEN p_file_name ~ '^[0-9A-F]{24}' THEN
        ('x' || lpad(substr(p_file_name, 9, 8), 16, '0'))::bit(64)::bigint
            * (4294967296 / pg_size_bytes(current_setting('wal_segment_size')))::bigint
        + ('x' || lpad(substr(p_file_name, 17, 8), 16, '0'))::bit(64)::bigint
    END
$$;

COMMENT ON FUNCTION backup_mgmt.wal_segno(text) IS
'Segment number of a WAL file name: log * (2^32 / wal_segment_size) + seg (256 segments per log at 16 MiB); the timeline is ignored, suffixes such as .partial too. NULL for names that are not WAL segment names (e.g. 00000002.history).';
