-- An agent reports how far a job has got.

CREATE OR REPLACE FUNCTION backup_mgmt.job_progress(
    p_job_id bigint,
    p_agent_id text,
    p_done bigint,
    p_total bigint,
    p_phase text
)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Stores progress and renews the lease. Returns false, and changes nothing,
-- when the job is no longer this agent's (cancelled or reclaimed): the agent
-- must then abort the work. Progress is not history: no satellite version.
DECLARE
    v_job backup_mgmt.job;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'job_progress');
    PERFORM backup_mgmt._require_args(p_job_id IS NULL OR p_agent_id IS NULL, 'job_progress', 'p_job_id and p_agent_id', 'Pass the job_id from claim_job() and the agent''s own id.');
    IF p_done < 0 OR p_total < 0 THEN
        RAISE EXCEPTION 'job_progress: progress must not be negative (done %, total %)', p_done, p_total
            USING ERRCODE = '22023', HINT = 'Report bytes done and bytes expected; NULL when unknown.';
    END IF;
    IF length(p_phase) > 200 OR p_phase ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'job_progress: p_phase must be at most 200 characters without control characters'
            USING ERRCODE = '22023', DETAIL = format('length: %s', length(p_phase)),
                  HINT = 'A phase is a short word such as "streaming" or "verifying".';
    END IF;

    SELECT * INTO v_job FROM backup_mgmt.job AS j WHERE j.job_id = p_job_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job_progress: job % does not exist', p_job_id
            USING ERRCODE = '55000', HINT = 'Only report on jobs returned by claim_job().';
    END IF;
    IF v_job.status <> 'RUNNING' OR v_job.locked_by IS DISTINCT FROM p_agent_id THEN
        RETURN false;
    END IF;

    UPDATE backup_mgmt.job AS j
       SET progress_done = p_done, progress_total = p_total, progress_phase = p_phase,
           lease_expires_at = now() + backup_mgmt._lease_interval()
     WHERE j.job_id = p_job_id;
    RETURN true;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.job_progress(bigint, text, bigint, bigint, text) IS
'Agent protocol: stores progress (done/total/phase) of a job and renews its lease; returns false when the job is no longer held by this agent (cancelled or reclaimed) and the agent must abort. Unknown job: 55000.';
