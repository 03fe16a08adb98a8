-- Writes the outcome of a finished BACKUP job into the catalog.

CREATE OR REPLACE FUNCTION backup_mgmt._apply_backup_result(p_job backup_mgmt.job, p_result jsonb, p_agent_id text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
-- Checks the agent's result against PROTOCOL.md before writing anything
-- (22023 naming the bad field), then: backup_execution_s -> COMPLETED with
-- sizes, ratio, times and the manifest checksum; the verification outcome
-- (VERIFIED or FAILED) as a separate, later version; backup_lsn_s;
-- backup_storage_s.
DECLARE
    v_kind text := p_job.plan->>'kind';
    v_root text := p_job.plan->>'repository_root';
    v_verify_requested boolean := coalesce((p_job.plan->>'verify')::boolean, false);
    v_cur backup_mgmt.backup_execution_current;
    v_missing text[];
    v_key text;
    v_path text;
    v_size bigint;
    v_compressed bigint;
    v_start_lsn pg_lsn;
    v_stop_lsn pg_lsn;
    v_timeline integer;
    v_start_time timestamptz;
    v_stop_time timestamptz;
    v_started timestamptz;
    v_ended timestamptz;
    v_pg_version_num integer;
    v_next_xid bigint;
    v_stored_bytes bigint;
    v_base_file text;
    v_ratio numeric;
    v_verification jsonb;
    v_ver_status text;
    v_ver_at timestamptz;
    v_fingerprints jsonb;
BEGIN
    IF v_kind IS DISTINCT FROM 'full' THEN
        RAISE EXCEPTION 'complete_job: results of % backup jobs are not supported yet', coalesce(quote_literal(v_kind), 'unknown')
            USING ERRCODE = '0A000', HINT = 'Only full backups can complete in this version.';
    END IF;

    -- Presence first, so the error names every missing field at once.
    v_missing := ARRAY(
        SELECT k FROM unnest(backup_mgmt._job_result_required('BACKUP', 'full')) WITH ORDINALITY AS u (k, n)
         WHERE jsonb_typeof(p_result->k) IS NULL OR jsonb_typeof(p_result->k) = 'null'
         ORDER BY n);
    IF v_verify_requested AND jsonb_typeof(p_result->'verification') IS DISTINCT FROM 'object' THEN
        v_missing := v_missing || 'verification'::text;
    END IF;
    IF cardinality(v_missing) > 0 THEN
        RAISE EXCEPTION 'complete_job: the result of job % lacks %', p_job.job_id, array_to_string(v_missing, ', ')
            USING ERRCODE = '22023', DETAIL = left(p_result::text, 500), HINT = 'See "BACKUP job (full)" in src/agent/PROTOCOL.md.';
    END IF;

    -- Then shapes and values. The bare RAISEs below and any failed cast never
    -- leave this block: the handler turns them into one 22023 naming v_key.
    BEGIN
        v_key := 'system_identifier';
        IF p_result->>v_key !~ '^[0-9]{1,20}$' THEN RAISE EXCEPTION 'not a decimal system identifier'; END IF;
        v_key := 'backup_size_bytes';
        v_size := (p_result->>v_key)::bigint;
        IF v_size < 0 THEN RAISE EXCEPTION 'negative'; END IF;
        v_key := 'compressed_size_bytes';
        v_compressed := (p_result->>v_key)::bigint;
        IF v_compressed < 0 THEN RAISE EXCEPTION 'negative'; END IF;
        v_key := 'start_lsn';
        v_start_lsn := (p_result->>v_key)::pg_lsn;
        v_key := 'stop_lsn';
        v_stop_lsn := (p_result->>v_key)::pg_lsn;
        IF v_stop_lsn < v_start_lsn THEN RAISE EXCEPTION 'stop_lsn % is before start_lsn %', v_stop_lsn, v_start_lsn; END IF;
        v_key := 'timeline_id';
        v_timeline := (p_result->>v_key)::integer;
        IF v_timeline < 1 THEN RAISE EXCEPTION 'a timeline is at least 1'; END IF;
        v_key := 'start_wal_file';
        IF p_result->>v_key !~ '^[0-9A-F]{24}$' THEN RAISE EXCEPTION 'not a WAL file name'; END IF;
        v_key := 'stop_wal_file';
        IF p_result->>v_key !~ '^[0-9A-F]{24}$' THEN RAISE EXCEPTION 'not a WAL file name'; END IF;
        v_key := 'pg_version';
        IF length(p_result->>v_key) > 100 THEN RAISE EXCEPTION 'longer than 100 characters'; END IF;
        v_key := 'pg_version_num';
        v_pg_version_num := (p_result->>v_key)::integer;
        v_key := 'manifest_sha256';
        IF p_result->>v_key !~ '^[0-9a-f]{64}$' THEN RAISE EXCEPTION 'not 64 lower-case hex digits'; END IF;
        v_key := 'start_time';
        v_start_time := (p_result->>v_key)::timestamptz;
        v_key := 'stop_time';
        v_stop_time := (p_result->>v_key)::timestamptz;
        v_key := 'started_at';
        v_started := (p_result->>v_key)::timestamptz;
        v_key := 'ended_at';
        v_ended := (p_result->>v_key)::timestamptz;
        IF v_ended < v_started THEN RAISE EXCEPTION 'ended_at % is before started_at %', v_ended, v_started; END IF;
        -- Optional: the first transaction id not yet assigned when the
        -- backup became consistent (xid recovery targets).
        v_key := 'next_xid';
        IF jsonb_typeof(p_result->v_key) NOT IN ('string', 'number', 'null') OR p_result->>v_key !~ '^[0-9]{1,19}$' THEN
            RAISE EXCEPTION 'not a transaction id';
        END IF;
        v_next_xid := (p_result->>v_key)::bigint;
        v_key := 'backup_label';
        IF jsonb_typeof(p_result->v_key) NOT IN ('string', 'null') THEN RAISE EXCEPTION 'not a string'; END IF;
        v_key := 'stored_files';
        IF jsonb_typeof(p_result->v_key) <> 'array' OR jsonb_array_length(p_result->v_key) = 0 THEN
            RAISE EXCEPTION 'not a non-empty array';
        END IF;
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_result->v_key) AS f
                    WHERE jsonb_typeof(f.value) <> 'object'
                       OR coalesce(f.value->>'name', '') !~ '^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$'
                       OR coalesce(f.value->>'bytes', '') !~ '^[0-9]{1,18}$'
                       OR coalesce(f.value->>'sha256', '') !~ '^[0-9a-f]{64}$') THEN
            RAISE EXCEPTION 'every entry needs name (a plain file name), bytes and sha256 (64 lower-case hex digits)';
        END IF;
        SELECT sum((f.value->>'bytes')::bigint) INTO v_stored_bytes FROM jsonb_array_elements(p_result->v_key) AS f;
        SELECT min(f.value->>'name') INTO v_base_file FROM jsonb_array_elements(p_result->v_key) AS f
         WHERE f.value->>'name' LIKE 'base.tar%';
        IF v_verify_requested OR p_result ? 'verification' THEN
            v_key := 'verification';
            v_verification := p_result->v_key;
            IF jsonb_typeof(v_verification) <> 'object' THEN RAISE EXCEPTION 'not an object'; END IF;
            v_key := 'verification.status';
            v_ver_status := v_verification->>'status';
            IF v_ver_status IS NULL OR v_ver_status NOT IN ('VERIFIED', 'FAILED', 'SKIPPED') THEN
                RAISE EXCEPTION 'must be VERIFIED, FAILED or SKIPPED';
            END IF;
            v_key := 'verification.verified_at';
            v_ver_at := coalesce((v_verification->>'verified_at')::timestamptz, now());
        END IF;
    EXCEPTION WHEN data_exception OR raise_exception THEN
        RAISE EXCEPTION 'complete_job: field % of the result of job % is invalid: %', v_key, p_job.job_id, SQLERRM
            USING ERRCODE = '22023', DETAIL = left(p_result::text, 500), HINT = 'See "BACKUP job (full)" in src/agent/PROTOCOL.md.';
    END;

    -- The files must have gone where the plan said (a directory, or s3:// for storage type S3).
    v_path := backup_mgmt._repository_path_in_root(p_result->>'repository_path', v_root, 'complete_job: repository_path');
    v_fingerprints := backup_mgmt._result_fingerprints(p_result, v_root, p_job.job_id);

    SELECT * INTO v_cur FROM backup_mgmt.backup_execution_current AS c WHERE c.backup_hk = p_job.subject_hk;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'complete_job: job % refers to no backup', p_job.job_id
            USING ERRCODE = 'P0002', DETAIL = encode(p_job.subject_hk, 'hex');
    END IF;
    v_started := coalesce(v_started, v_cur.backup_start_time);
    v_ended := greatest(coalesce(v_ended, now()), v_started);
    -- A ratio, uncompressed : stored (3.00 = 3:1, as seed 003 states its
    -- target); numeric(5,2) caps it at 999.99.
    IF v_size > 0 AND v_compressed > 0 THEN
        v_ratio := least(round(v_size::numeric / v_compressed, 2), 999.99);
    END IF;

    PERFORM backup_mgmt.backup_execution_s_load(p_job.subject_hk, jsonb_build_object(
        'backup_status', 'COMPLETED',
        'backup_start_time', v_started,
        'backup_end_time', v_ended,
        'backup_duration_seconds', round(extract(epoch FROM v_ended - v_started), 3),
        'backup_size_bytes', v_size,
        'compressed_size_bytes', v_compressed,
        'compression_ratio', v_ratio,
        'backup_filename', v_base_file,
        'checksum_algorithm', 'SHA256',
        'checksum_value', p_result->>'manifest_sha256',
        'retry_count', p_job.attempts - 1,
        'error_message', NULL,
        'error_code', NULL,
        'changed_by', session_user)
        -- Not verified: that is part of the completion, not a later event.
        || CASE WHEN v_ver_status = 'SKIPPED'
                THEN jsonb_build_object('verification_status', 'SKIPPED', 'verification_detail', v_verification->>'detail')
                ELSE '{}'::jsonb END, 'backup_mgmt.complete_job');

    IF v_ver_status IN ('VERIFIED', 'FAILED') THEN
        PERFORM backup_mgmt.backup_execution_s_load(p_job.subject_hk, jsonb_build_object(
            'verification_status', v_ver_status,
            'verification_date', v_ver_at,
            'verification_detail', v_verification->>'detail',
            'integrity_verified', v_ver_status = 'VERIFIED',
            'changed_by', session_user), 'backup_mgmt.complete_job');
    END IF;

    PERFORM backup_mgmt.backup_lsn_s_load(p_job.subject_hk, jsonb_build_object(
        'start_lsn', v_start_lsn,
        'stop_lsn', v_stop_lsn,
        'timeline_id', v_timeline,
        'start_wal_file', p_result->>'start_wal_file',
        'stop_wal_file', p_result->>'stop_wal_file',
        'start_time', v_start_time,
        'stop_time', v_stop_time,
        'pg_version', p_result->>'pg_version',
        'pg_version_num', v_pg_version_num,
        'system_identifier', p_result->>'system_identifier',
        'next_xid', v_next_xid,
        'backup_label', coalesce(p_result->>'backup_label', p_job.plan->>'label')), 'backup_mgmt.complete_job');

    PERFORM backup_mgmt.backup_storage_s_load(p_job.subject_hk, jsonb_build_object(
        'repository_root', v_root,
        'repository_path', v_path,
        'manifest_sha256', p_result->>'manifest_sha256',
        'stored_files', p_result->'stored_files',
        'stored_bytes', v_stored_bytes,
        'agent_id', p_agent_id,
        'encryption_fingerprints', v_fingerprints,
        'files_present', true), 'backup_mgmt.complete_job');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._apply_backup_result(backup_mgmt.job, jsonb, text) IS
'Internal (complete_job, BACKUP kind full): validates the agent''s result (22023 naming the field) and records it: backup_execution_s COMPLETED with sizes, compression ratio (percent saved, 0-100), duration and manifest checksum, then the verification outcome as a separate version, backup_lsn_s and backup_storage_s.';
