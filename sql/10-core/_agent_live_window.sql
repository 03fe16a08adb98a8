-- How recent a heartbeat must be for an agent to count as alive.

CREATE OR REPLACE FUNCTION backup_mgmt._agent_live_window()
RETURNS interval
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Three leases, at least 15 s: agents heartbeat every 5 s.
BEGIN
    RETURN make_interval(secs => greatest(3 * backup_mgmt.setting('job.lease_seconds')::integer, 15));
END;
$$;

COMMENT ON FUNCTION backup_mgmt._agent_live_window() IS
'Internal: an agent is live when not stopped and its heartbeat is younger than this (3 x job.lease_seconds, at least 15 s).';
