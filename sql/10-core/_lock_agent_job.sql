-- Fetches and locks a job an agent reports on, refusing jobs it does not hold.

CREATE OR REPLACE FUNCTION backup_mgmt._lock_agent_job(p_job_id bigint, p_agent_id text, p_caller text)
RETURNS backup_mgmt.job
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- The job must exist and be locked by this agent, and be RUNNING or
-- CANCELLED (a cancellation the agent has not acknowledged yet); anything
-- else is SQLSTATE 55000 per PROTOCOL.md. The row stays locked (FOR UPDATE)
-- until the caller's transaction ends.
DECLARE
    v_job backup_mgmt.job;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, p_caller);
    IF p_job_id IS NULL OR p_agent_id IS NULL THEN
        RAISE EXCEPTION '%: p_job_id and p_agent_id must not be NULL', p_caller
            USING ERRCODE = '22004', HINT = 'Pass the job_id from claim_job() and the agent''s own id.';
    END IF;
    SELECT * INTO v_job FROM backup_mgmt.job AS j WHERE j.job_id = p_job_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: job % does not exist', p_caller, p_job_id
            USING ERRCODE = '55000', HINT = 'Only report on jobs returned by claim_job().';
    END IF;
    IF v_job.locked_by IS DISTINCT FROM p_agent_id OR v_job.status NOT IN ('RUNNING', 'CANCELLED') THEN
        RAISE EXCEPTION '%: job % is not held by agent %', p_caller, p_job_id, quote_literal(p_agent_id)
            USING ERRCODE = '55000',
                  DETAIL = format('The job is %s, locked by %s, after %s attempt(s).', v_job.status, coalesce(quote_literal(v_job.locked_by), 'nobody'), v_job.attempts),
                  HINT = 'The lease probably expired and the job was reclaimed: abandon the work.';
    END IF;
    RETURN v_job;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._lock_agent_job(bigint, text, text) IS
'Internal: locks job p_job_id FOR UPDATE and returns it if agent p_agent_id holds it (RUNNING, or CANCELLED not yet acknowledged); SQLSTATE 55000 otherwise.';
