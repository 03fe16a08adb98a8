-- The agent tells the catalog which WAL files the repository holds.

CREATE OR REPLACE FUNCTION backup_mgmt.register_wal(p_system_identifier text, p_files jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Validates every entry first (one bad entry refuses the whole call, 22023,
-- nothing written), then inserts the new ones; files already registered are
-- left alone. Returns the number of new rows.
DECLARE
    v_file jsonb;
    v_pos bigint;
    v_count integer;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'register_wal');
    PERFORM backup_mgmt._require_args(p_system_identifier IS NULL OR p_files IS NULL, 'register_wal', 'p_system_identifier and p_files', 'Pass the cluster''s system identifier and a JSON array (possibly empty).');
    IF p_system_identifier !~ '^[0-9]{1,20}$' THEN
        RAISE EXCEPTION 'register_wal: invalid system identifier %', quote_literal(p_system_identifier)
            USING ERRCODE = '22023', DETAIL = 'A system identifier is a decimal number of at most 20 digits.';
    END IF;
    IF jsonb_typeof(p_files) <> 'array' THEN
        RAISE EXCEPTION 'register_wal: p_files must be a JSON array'
            USING ERRCODE = '22023', DETAIL = left(p_files::text, 200),
                  HINT = '[{"file_name", "timeline_id", "start_lsn", "bytes", "stored_bytes", "sha256", "archived_at"}]';
    END IF;

    FOR v_file, v_pos IN SELECT f.value, f.ordinality FROM jsonb_array_elements(p_files) WITH ORDINALITY AS f LOOP
        IF jsonb_typeof(v_file) <> 'object'
           OR coalesce(v_file->>'file_name', '') !~ '^([0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$'
           OR coalesce(v_file->>'sha256', '') !~ '^[0-9a-f]{64}$'
           OR coalesce(v_file->>'timeline_id', '') !~ '^[0-9]{1,9}$'
           OR coalesce(v_file->>'bytes', '') !~ '^[0-9]{1,18}$'
           OR coalesce(v_file->>'stored_bytes', '') !~ '^[0-9]{1,18}$'
           OR coalesce(v_file->>'start_lsn', '0/0') !~ '^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$'
           OR v_file->>'archived_at' IS NULL THEN
            RAISE EXCEPTION 'register_wal: entry % of p_files is malformed', v_pos
                USING ERRCODE = '22023', DETAIL = left(v_file::text, 500),
                      HINT = 'Each entry needs file_name (a WAL, .partial, .backup or .history name), timeline_id, bytes, stored_bytes, sha256 (64 lower-case hex), archived_at and optionally start_lsn.';
        END IF;
        BEGIN
            PERFORM (v_file->>'archived_at')::timestamptz;
        EXCEPTION WHEN data_exception THEN
            RAISE EXCEPTION 'register_wal: entry % of p_files has an invalid archived_at', v_pos
                USING ERRCODE = '22023', DETAIL = SQLERRM, HINT = 'Use an ISO 8601 timestamp with time zone.';
        END;
        -- Commit times bound the recoverable time (PITR planning); null = no commit in the file.
        BEGIN
            PERFORM (v_file->>'first_commit_time')::timestamptz, (v_file->>'last_commit_time')::timestamptz;
        EXCEPTION WHEN data_exception THEN
            RAISE EXCEPTION 'register_wal: entry % of p_files has an invalid first_commit_time or last_commit_time', v_pos
                USING ERRCODE = '22023', DETAIL = SQLERRM, HINT = 'Use ISO 8601 timestamps with time zone, or null when the file has no commit.';
        END;
    END LOOP;

    INSERT INTO backup_mgmt.wal_archive AS w
           (system_identifier, file_name, timeline_id, start_lsn, bytes, stored_bytes, sha256, archived_at,
            first_commit_time, last_commit_time, registered_at)
    SELECT p_system_identifier, f.value->>'file_name', (f.value->>'timeline_id')::integer,
           (f.value->>'start_lsn')::pg_lsn, (f.value->>'bytes')::bigint, (f.value->>'stored_bytes')::bigint,
           f.value->>'sha256', (f.value->>'archived_at')::timestamptz,
           (f.value->>'first_commit_time')::timestamptz, (f.value->>'last_commit_time')::timestamptz, now()
      FROM jsonb_array_elements(p_files) AS f
    ON CONFLICT (system_identifier, file_name) DO NOTHING;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.register_wal(text, jsonb) IS
'Agent protocol: registers WAL files present in the repository ([{file_name, timeline_id, start_lsn, bytes, stored_bytes, sha256, archived_at, first_commit_time, last_commit_time}]; the commit times are optional, null when the file holds no commit); idempotent, returns the number of new rows. Malformed input: 22023, nothing written.';
