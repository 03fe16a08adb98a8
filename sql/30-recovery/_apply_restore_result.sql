-- Writes the outcome of a finished RESTORE job into the catalog.

CREATE OR REPLACE FUNCTION backup_mgmt._apply_restore_result(p_job backup_mgmt.job, p_result jsonb, p_agent_id text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- Checks the agent's result against PROTOCOL.md "RESTORE job" before writing
-- anything (22023 naming the field), then: recovery_operation_s -> COMPLETED
-- with the measured duration (the RTO), validation outcome, rows and bytes
-- recovered, restore directory and port; for a drill also the backup's
-- recovery_tested / recovery_test_* columns. A restore whose validation
-- FAILED still COMPLETED (it ran); its backup's drill counts as failed.
DECLARE
    v_cur backup_mgmt.recovery_operation_current;
    v_key text;
    v_dir text;
    v_port integer;
    v_end timestamptz;
    v_duration numeric;
    v_reached_lsn pg_lsn;
    v_reached_time timestamptz;
    v_validation jsonb := p_result->'validation';
    v_status text;
    v_records bigint;
    v_bytes bigint;
    v_rate numeric;
    v_kept boolean;
BEGIN
    PERFORM backup_mgmt._require_result_fields(p_job, p_result, 'restore', 'RESTORE job');

    SELECT * INTO v_cur FROM backup_mgmt.recovery_operation_current AS r WHERE r.recovery_hk = p_job.subject_hk;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'complete_job: job % refers to no recovery', p_job.job_id
            USING ERRCODE = 'P0002', DETAIL = encode(p_job.subject_hk, 'hex');
    END IF;

    -- Shapes and values; the bare RAISEs and failed casts become one 22023
    -- naming v_key.
    BEGIN
        v_key := 'restore_directory';
        IF jsonb_typeof(p_result->v_key) <> 'string' THEN RAISE EXCEPTION 'not a string'; END IF;
        v_dir := backup_mgmt._normalize_path(p_result->>v_key, 'restore_directory');
        IF v_dir IS DISTINCT FROM (p_job.plan->>'restore_directory') THEN
            RAISE EXCEPTION 'the plan said %', coalesce(p_job.plan->>'restore_directory', 'nothing');
        END IF;
        v_key := 'restore_port';
        IF jsonb_typeof(p_result->v_key) NOT IN ('number', 'null') THEN RAISE EXCEPTION 'not a number'; END IF;
        v_port := (p_result->>v_key)::integer;
        IF v_port NOT BETWEEN 1 AND 65535 THEN RAISE EXCEPTION 'not a TCP port'; END IF;
        v_key := 'recovery_duration_seconds';
        v_duration := round((p_result->>v_key)::numeric, 3);
        IF v_duration < 0 THEN RAISE EXCEPTION 'negative'; END IF;
        v_key := 'recovery_end_time';
        v_end := coalesce((p_result->>v_key)::timestamptz, now());
        v_key := 'reached';
        IF jsonb_typeof(p_result->v_key) NOT IN ('object', 'null') THEN RAISE EXCEPTION 'not an object'; END IF;
        v_key := 'reached.lsn';
        v_reached_lsn := (p_result->'reached'->>'lsn')::pg_lsn;
        IF v_reached_lsn < (p_job.plan->'base'->>'stop_lsn')::pg_lsn THEN
            RAISE EXCEPTION '% is before the end of the base backup (%): the restored cluster cannot be consistent', v_reached_lsn, p_job.plan->'base'->>'stop_lsn';
        END IF;
        v_key := 'reached.time';
        v_reached_time := (p_result->'reached'->>'time')::timestamptz;
        v_key := 'validation';
        IF jsonb_typeof(v_validation) <> 'object' THEN RAISE EXCEPTION 'not an object'; END IF;
        v_key := 'validation.status';
        v_status := v_validation->>'status';
        IF v_status IS NULL OR v_status NOT IN ('PASSED', 'FAILED', 'PARTIAL') THEN
            RAISE EXCEPTION 'must be PASSED, FAILED or PARTIAL';
        END IF;
        v_key := 'validation.records_recovered';
        v_records := backup_mgmt._result_count(v_validation, 'records_recovered');
        v_key := 'validation.data_size_recovered';
        v_bytes := backup_mgmt._result_count(v_validation, 'data_size_recovered');
        v_key := 'validation.success_rate';
        v_rate := coalesce((v_validation->>'success_rate')::numeric,
                           CASE v_status WHEN 'PASSED' THEN 100 WHEN 'FAILED' THEN 0 END);
        IF v_rate NOT BETWEEN 0 AND 100 THEN RAISE EXCEPTION 'not a percentage'; END IF;
        v_key := 'kept_running';
        IF jsonb_typeof(p_result->v_key) NOT IN ('boolean', 'null') THEN RAISE EXCEPTION 'not a boolean'; END IF;
        v_kept := coalesce((p_result->>v_key)::boolean, false);
        IF v_kept AND coalesce(v_cur.is_drill, false) THEN RAISE EXCEPTION 'a drill never keeps its restored cluster'; END IF;
    EXCEPTION WHEN data_exception OR raise_exception THEN
        RAISE EXCEPTION 'complete_job: field % of the result of job % is invalid: %', v_key, p_job.job_id, SQLERRM
            USING ERRCODE = '22023', DETAIL = left(p_result::text, 500), HINT = 'See "RESTORE job" in src/agent/PROTOCOL.md.';
    END;
    -- The agent's clock may lag the server's a little.
    v_end := greatest(v_end, v_cur.recovery_start_time);

    PERFORM backup_mgmt.recovery_operation_s_load(p_job.subject_hk, jsonb_build_object(
        'recovery_status', 'COMPLETED',
        'recovery_end_time', v_end,
        'recovery_duration_seconds', v_duration,
        'validation_performed', true,
        'validation_status', v_status,
        'data_integrity_verified', v_status = 'PASSED',
        'records_recovered', v_records,
        'data_size_recovered', v_bytes,
        'recovery_success_rate', v_rate,
        'restore_directory', v_dir,
        'restore_port', v_port,
        'error_message', CASE WHEN v_status <> 'PASSED' THEN format('validation %s: %s', v_status, coalesce(v_validation->>'detail', 'no detail')) END,
        'error_code', CASE WHEN v_status <> 'PASSED' THEN 'VALIDATION_' || v_status END,
        'changed_by', session_user), 'backup_mgmt.complete_job');

    IF coalesce(v_cur.is_drill, false) AND v_cur.source_backup_hk IS NOT NULL THEN
        PERFORM backup_mgmt.backup_execution_s_load(v_cur.source_backup_hk, jsonb_build_object(
            'recovery_tested', true,
            'recovery_test_date', v_end,
            'recovery_test_success', v_status = 'PASSED',
            'recovery_test_duration_seconds', v_duration,
            'changed_by', session_user), 'backup_mgmt.complete_job');
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._apply_restore_result(backup_mgmt.job, jsonb, text) IS
'Internal (complete_job, RESTORE): validates the agent''s result (22023 naming the field; restore_directory must be the planned one, reached.lsn not before the base backup''s end) and records it: recovery COMPLETED with recovery_end_time, recovery_duration_seconds (RTO), validation_status, records_recovered, data_size_recovered, restore_directory/port; for drills also the backup''s recovery_tested, recovery_test_date, recovery_test_success (validation PASSED) and recovery_test_duration_seconds.';
