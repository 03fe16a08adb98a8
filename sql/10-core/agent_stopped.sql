-- An agent shuts down cleanly.

CREATE OR REPLACE FUNCTION backup_mgmt.agent_stopped(p_agent_id text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Marks the agent stopped. A stopped agent works on nothing: any job it still
-- holds is released (back to the queue, or finished as cancelled) so nobody
-- waits for its lease to run out.
DECLARE
    v_job_id bigint;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'agent_stopped');
    PERFORM backup_mgmt._require_args(p_agent_id IS NULL, 'agent_stopped', 'p_agent_id', 'Pass the id the agent registered with.');
    UPDATE backup_mgmt.agent AS a SET stopped_at = now(), heartbeat_at = now()
     WHERE a.agent_id = p_agent_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'agent_stopped: agent % is not registered', quote_literal(p_agent_id)
            USING ERRCODE = '55000', HINT = 'Only a registered agent can stop.';
    END IF;

    FOR v_job_id IN
        SELECT j.job_id FROM backup_mgmt.job AS j
         WHERE j.locked_by = p_agent_id
           AND (j.status = 'RUNNING' OR (j.status = 'CANCELLED' AND j.finished_at IS NULL))
         ORDER BY j.job_id
    LOOP
        PERFORM backup_mgmt.release_job(v_job_id, p_agent_id);
    END LOOP;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.agent_stopped(text) IS
'Agent protocol: records a clean shutdown and releases any job the agent still holds (see release_job). Unregistered agent: 55000.';
