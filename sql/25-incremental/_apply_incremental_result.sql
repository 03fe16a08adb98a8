-- Writes the outcome of a finished incremental BACKUP job into the catalog.

CREATE OR REPLACE FUNCTION backup_mgmt._apply_incremental_result(p_job backup_mgmt.job, p_result jsonb, p_agent_id text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
-- Checks the agent's result against PROTOCOL.md "BACKUP job (incremental)"
-- before writing anything (22023 naming the field; the numbers must agree
-- with each other and with the plan), then: backup_execution_s -> COMPLETED
-- with backup_size_bytes = changes_captured, the verification outcome
-- (VERIFIED or FAILED) as a separate later version, backup_lsn_s (start =
-- range_start_lsn, stop = the switch), backup_storage_s (the WAL tree).
DECLARE
    v_plan jsonb := p_job.plan;
    v_cur backup_mgmt.backup_execution_current;
    v_missing text[];
    v_key text;
    v_range_start pg_lsn;
    v_chain_start pg_lsn;
    v_timeline integer;
    v_stop_lsn pg_lsn;
    v_stop_file text;
    v_stop_time timestamptz;
    v_next_xid bigint;
    v_changes bigint;
    v_checked integer;
    v_needed bigint;
    v_started timestamptz;
    v_ended timestamptz;
    v_pg_version_num integer;
    v_verification jsonb;
    v_ver_status text;
    v_ver_at timestamptz;
    v_path text;
    v_parent_stop_time timestamptz;
BEGIN
    IF v_plan->>'method' IS DISTINCT FROM 'WAL_ARCHIVE' THEN
        RAISE EXCEPTION 'complete_job: incremental backups of method % are not supported yet', coalesce(quote_literal(v_plan->>'method'), 'unknown')
            USING ERRCODE = '0A000', HINT = 'Only WAL_ARCHIVE incrementals (PostgreSQL < 17) can complete in this version.';
    END IF;
    v_range_start := (v_plan->>'range_start_lsn')::pg_lsn;
    v_chain_start := (v_plan->>'chain_start_lsn')::pg_lsn;
    v_timeline := (v_plan->>'timeline_id')::integer;

    v_missing := ARRAY(
        SELECT k FROM unnest(backup_mgmt._job_result_required('BACKUP', 'incremental')) WITH ORDINALITY AS u (k, n)
         WHERE jsonb_typeof(p_result->k) IS NULL OR jsonb_typeof(p_result->k) = 'null'
         ORDER BY n);
    IF cardinality(v_missing) > 0 THEN
        RAISE EXCEPTION 'complete_job: the result of job % lacks %', p_job.job_id, array_to_string(v_missing, ', ')
            USING ERRCODE = '22023', DETAIL = left(p_result::text, 500), HINT = 'See "BACKUP job (incremental)" in src/agent/PROTOCOL.md.';
    END IF;

    BEGIN
        v_key := 'stop_lsn';
        v_stop_lsn := (p_result->>v_key)::pg_lsn;
        IF v_stop_lsn < v_range_start THEN
            RAISE EXCEPTION '% is before range_start_lsn %', v_stop_lsn, v_range_start;
        END IF;
        v_key := 'stop_wal_file';
        v_stop_file := p_result->>v_key;
        IF v_stop_file !~ '^[0-9A-F]{24}$' THEN RAISE EXCEPTION 'not a WAL file name'; END IF;
        IF v_stop_lsn > v_range_start
           AND v_stop_file <> backup_mgmt.wal_file_name(v_timeline, backup_mgmt.wal_segno_of_lsn(v_stop_lsn - 1::numeric)) THEN
            RAISE EXCEPTION '% is not the segment holding the byte before stop_lsn % on timeline % (%)', v_stop_file, v_stop_lsn, v_timeline,
                            backup_mgmt.wal_file_name(v_timeline, backup_mgmt.wal_segno_of_lsn(v_stop_lsn - 1::numeric));
        END IF;
        v_key := 'stop_time';
        v_stop_time := (p_result->>v_key)::timestamptz;
        v_key := 'next_xid';
        IF p_result->>v_key !~ '^[0-9]{1,19}$' THEN RAISE EXCEPTION 'not a transaction id'; END IF;
        v_next_xid := (p_result->>v_key)::bigint;
        v_key := 'changes_captured';
        v_changes := (p_result->>v_key)::bigint;
        IF v_changes IS DISTINCT FROM (v_stop_lsn - v_range_start)::bigint THEN
            RAISE EXCEPTION '% is not stop_lsn - range_start_lsn (% bytes)', v_changes, (v_stop_lsn - v_range_start)::bigint;
        END IF;
        v_key := 'wal_files_checked';
        v_checked := (p_result->>v_key)::integer;
        IF v_checked < 0 THEN RAISE EXCEPTION 'negative'; END IF;
        v_key := 'started_at';
        v_started := (p_result->>v_key)::timestamptz;
        v_key := 'ended_at';
        v_ended := (p_result->>v_key)::timestamptz;
        IF v_ended < v_started THEN RAISE EXCEPTION 'ended_at % is before started_at %', v_ended, v_started; END IF;
        v_key := 'pg_version';
        IF length(p_result->>v_key) > 100 THEN RAISE EXCEPTION 'longer than 100 characters'; END IF;
        v_key := 'pg_version_num';
        v_pg_version_num := (p_result->>v_key)::integer;
        v_key := 'verification';
        v_verification := p_result->v_key;
        IF jsonb_typeof(v_verification) <> 'object' THEN RAISE EXCEPTION 'not an object'; END IF;
        v_key := 'verification.status';
        v_ver_status := v_verification->>'status';
        IF v_ver_status IS NULL OR v_ver_status NOT IN ('VERIFIED', 'FAILED') THEN
            RAISE EXCEPTION 'must be VERIFIED or FAILED';
        END IF;
        -- VERIFIED means every segment of the chain up to the switch was read.
        v_needed := backup_mgmt.wal_segno(v_stop_file) - backup_mgmt.wal_segno_of_lsn(v_chain_start) + 1;
        IF v_ver_status = 'VERIFIED' AND v_checked < v_needed THEN
            RAISE EXCEPTION 'VERIFIED with wal_files_checked = %, but the chain from % to % has % segments', v_checked,
                            backup_mgmt.wal_file_name(v_timeline, backup_mgmt.wal_segno_of_lsn(v_chain_start)), v_stop_file, v_needed;
        END IF;
        v_key := 'verification.verified_at';
        v_ver_at := coalesce((v_verification->>'verified_at')::timestamptz, now());
        v_key := 'repository_path';
        IF p_result ? v_key AND jsonb_typeof(p_result->v_key) <> 'null' THEN
            v_path := backup_mgmt._repository_path_in_root(p_result->>v_key, v_plan->>'repository_root', 'repository_path');
        END IF;
    EXCEPTION WHEN data_exception OR raise_exception THEN
        RAISE EXCEPTION 'complete_job: field % of the result of job % is invalid: %', v_key, p_job.job_id, SQLERRM
            USING ERRCODE = '22023', DETAIL = left(p_result::text, 500), HINT = 'See "BACKUP job (incremental)" in src/agent/PROTOCOL.md.';
    END;

    SELECT * INTO v_cur FROM backup_mgmt.backup_execution_current AS c WHERE c.backup_hk = p_job.subject_hk;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'complete_job: job % refers to no backup', p_job.job_id
            USING ERRCODE = 'P0002', DETAIL = encode(p_job.subject_hk, 'hex');
    END IF;
    v_started := coalesce(v_started, v_cur.backup_start_time);
    v_ended := greatest(coalesce(v_ended, now()), v_started);
    SELECT coalesce(l.stop_time, c.backup_end_time) INTO v_parent_stop_time
      FROM backup_mgmt.backup_execution_current AS c
      LEFT JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_hk = c.backup_hk
     WHERE c.backup_hk = decode(v_plan->>'parent_backup_hk', 'hex');

    PERFORM backup_mgmt.backup_execution_s_load(p_job.subject_hk, jsonb_build_object(
        'backup_status', 'COMPLETED',
        'backup_start_time', v_started,
        'backup_end_time', v_ended,
        'backup_duration_seconds', round(extract(epoch FROM v_ended - v_started), 3),
        'backup_size_bytes', v_changes,
        'changes_captured', v_changes,
        'backup_filename', v_stop_file,
        'retry_count', p_job.attempts - 1,
        'error_message', NULL,
        'error_code', NULL,
        'changed_by', session_user), 'backup_mgmt.complete_job');

    PERFORM backup_mgmt.backup_execution_s_load(p_job.subject_hk, jsonb_build_object(
        'verification_status', v_ver_status,
        'verification_date', v_ver_at,
        'verification_detail', coalesce(v_verification->>'detail', format('%s WAL segments checked', v_checked)),
        'integrity_verified', v_ver_status = 'VERIFIED',
        'changed_by', session_user), 'backup_mgmt.complete_job');

    PERFORM backup_mgmt.backup_lsn_s_load(p_job.subject_hk, jsonb_build_object(
        'start_lsn', v_range_start,
        'stop_lsn', v_stop_lsn,
        'timeline_id', v_timeline,
        'start_wal_file', backup_mgmt.wal_file_name(v_timeline, backup_mgmt.wal_segno_of_lsn(v_range_start)),
        'stop_wal_file', v_stop_file,
        'start_time', v_parent_stop_time,
        'stop_time', v_stop_time,
        'pg_version', p_result->>'pg_version',
        'pg_version_num', v_pg_version_num,
        'system_identifier', v_plan->>'system_identifier',
        'next_xid', v_next_xid,
        'backup_label', v_plan->>'label'), 'backup_mgmt.complete_job');

    PERFORM backup_mgmt.backup_storage_s_load(p_job.subject_hk, jsonb_build_object(
        'repository_root', v_plan->>'repository_root',
        'repository_path', coalesce(v_path, (v_plan->>'repository_root') || '/' || (v_plan->>'system_identifier') || '/wal'),
        'agent_id', p_agent_id,
        'encryption_fingerprints', backup_mgmt._result_fingerprints(p_result, v_plan->>'repository_root', p_job.job_id),
        'files_present', true), 'backup_mgmt.complete_job');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._apply_incremental_result(backup_mgmt.job, jsonb, text) IS
'Internal (complete_job, BACKUP kind incremental): validates the agent''s result (22023 naming the field: stop_wal_file must hold the byte before stop_lsn, changes_captured = stop_lsn - range_start_lsn, VERIFIED needs wal_files_checked >= the chain''s segment count) and records it: backup_execution_s COMPLETED with backup_size_bytes = changes_captured, then VERIFIED/FAILED as a separate version, backup_lsn_s (start_lsn = range_start_lsn, stop_lsn, timeline, next_xid, stop_time), backup_storage_s (<repository_root>/<system_identifier>/wal).';
