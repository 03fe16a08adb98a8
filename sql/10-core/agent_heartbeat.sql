-- An agent says it is alive; its job leases are extended.

CREATE OR REPLACE FUNCTION backup_mgmt.agent_heartbeat(p_agent_id text)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Bumps heartbeat_at and renews the lease of every RUNNING job the agent
-- holds; returns how many leases were renewed. Unknown agent: 55000, so that
-- the agent knows to register again.
DECLARE
    v_renewed integer;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'agent_heartbeat');
    PERFORM backup_mgmt._require_args(p_agent_id IS NULL, 'agent_heartbeat', 'p_agent_id', 'Pass the id the agent registered with.');
    UPDATE backup_mgmt.agent AS a SET heartbeat_at = now(), stopped_at = NULL
     WHERE a.agent_id = p_agent_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'agent_heartbeat: agent % is not registered', quote_literal(p_agent_id)
            USING ERRCODE = '55000', HINT = 'Call backup_mgmt.agent_register() first.';
    END IF;

    UPDATE backup_mgmt.job AS j SET lease_expires_at = now() + backup_mgmt._lease_interval()
     WHERE j.status = 'RUNNING' AND j.locked_by = p_agent_id;
    GET DIAGNOSTICS v_renewed = ROW_COUNT;
    RETURN v_renewed;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.agent_heartbeat(text) IS
'Agent protocol: marks the agent alive and extends the lease (job.lease_seconds) of every RUNNING job it holds; returns the number of leases renewed. Unregistered agent: 55000.';
