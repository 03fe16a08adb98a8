-- Whether an agent is alive to run what is queued.

CREATE OR REPLACE FUNCTION backup_mgmt.agent_status(
    OUT live_agents integer,
    OUT newest_heartbeat timestamptz,
    OUT live_window interval
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    -- SECURITY DEFINER: operators waiting for a backup may learn whether
    -- anyone will run it, without reading the agent table (hosts, paths).
    SELECT count(*) FILTER (WHERE a.stopped_at IS NULL AND a.heartbeat_at > now() - backup_mgmt._agent_live_window())::integer,
           max(a.heartbeat_at),
           backup_mgmt._agent_live_window()
      FROM backup_mgmt.agent AS a
$$;

COMMENT ON FUNCTION backup_mgmt.agent_status() IS
'How many agents are live (not stopped, heartbeat younger than live_window: 3 x job.lease_seconds, at least 15 s) and the newest heartbeat of any agent (NULL: none ever registered). `backup-mgmt backup full --wait` says at once when no agent is alive to run the backup.';
