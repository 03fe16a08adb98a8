-- Writes the outcome of a finished VERIFY job into the catalog.

CREATE OR REPLACE FUNCTION backup_mgmt._apply_verify_result(p_job backup_mgmt.job, p_result jsonb, p_agent_id text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- result.verification = {status: VERIFIED | FAILED, detail, verified_at}
-- becomes one new backup_execution_s version. The backup_status is left alone:
-- a failed verification does not make a completed backup FAILED.
DECLARE
    v_verification jsonb := p_result->'verification';
    v_status text;
    v_at timestamptz;
BEGIN
    IF jsonb_typeof(v_verification) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'complete_job: the result of VERIFY job % lacks verification', p_job.job_id
            USING ERRCODE = '22023', DETAIL = left(p_result::text, 500), HINT = 'See "VERIFY job" in src/agent/PROTOCOL.md.';
    END IF;
    v_status := v_verification->>'status';
    IF v_status IS NULL OR v_status NOT IN ('VERIFIED', 'FAILED') THEN
        RAISE EXCEPTION 'complete_job: verification.status of VERIFY job % must be VERIFIED or FAILED, not %', p_job.job_id, coalesce(quote_literal(v_status), 'NULL')
            USING ERRCODE = '22023', HINT = 'See "VERIFY job" in src/agent/PROTOCOL.md.';
    END IF;
    BEGIN
        v_at := coalesce((v_verification->>'verified_at')::timestamptz, now());
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'complete_job: verification.verified_at of VERIFY job % is invalid: %', p_job.job_id, SQLERRM
            USING ERRCODE = '22023', HINT = 'Use an ISO 8601 timestamp with time zone.';
    END;

    PERFORM backup_mgmt._record_verification(p_job.subject_hk, v_status, v_at, v_verification->>'detail');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._apply_verify_result(backup_mgmt.job, jsonb, text) IS
'Internal (complete_job, VERIFY): records result.verification (VERIFIED or FAILED, detail, verified_at) as a new backup_execution_s version; the backup_status is unchanged.';
