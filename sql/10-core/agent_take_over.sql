-- An agent frees the id of its dead predecessor on the same host.

CREATE OR REPLACE FUNCTION backup_mgmt.agent_take_over(p_agent_id text, p_hostname text, p_dead_pid integer)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- agent_register refuses an id whose holder looks alive. An agent SIGKILLed a
-- moment ago still looks alive until its heartbeat ages out; the new agent on
-- the same host has checked that the recorded pid is gone and says so here.
-- Only that exact holder (host and pid) is marked stopped, so a live agent
-- that registered meanwhile is never displaced. Returns whether a row changed.
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'agent_take_over');
    PERFORM backup_mgmt._require_args(p_agent_id IS NULL OR p_hostname IS NULL OR p_dead_pid IS NULL, 'agent_take_over', 'p_agent_id, p_hostname and p_dead_pid', 'Pass the pid and host named by agent_register''s refusal.');
    UPDATE backup_mgmt.agent AS a SET stopped_at = now()
     WHERE a.agent_id = p_agent_id AND a.hostname = p_hostname AND a.pid = p_dead_pid AND a.stopped_at IS NULL;
    -- Whether the last statement changed a row.
    RETURN FOUND;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.agent_take_over(text, text, integer) IS
'Agent protocol: marks agent p_agent_id stopped when it is recorded as pid p_dead_pid on host p_hostname, which the caller (an agent on that host) found no longer running; agent_register then accepts the id and expires the dead agent''s leases. Returns true when a row changed. NULL input: 22004.';
