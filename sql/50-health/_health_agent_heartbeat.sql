-- Health check agent_heartbeat: is an agent alive to move the bytes?

CREATE OR REPLACE FUNCTION backup_mgmt._health_agent_heartbeat(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Agents that did not stop cleanly, their heartbeats against the live window
-- (_agent_live_window: 3 x job.lease_seconds, at least 15 s). None live:
-- CRITICAL (nothing would run a backup, a verification or a restore). Some
-- live but others silent (crashed or unreachable): WARNING.
DECLARE
    v_live interval := backup_mgmt._agent_live_window();
    v_running integer;
    v_alive integer;
    v_newest record;
    v_stale text[];
BEGIN
    SELECT count(*)::integer, count(*) FILTER (WHERE a.heartbeat_at >= now() - v_live)::integer,
           array_agg(format('%s (%s ago)', a.agent_id, backup_mgmt._health_duration_text(now() - a.heartbeat_at)) ORDER BY a.heartbeat_at DESC)
               FILTER (WHERE a.heartbeat_at < now() - v_live)
      INTO v_running, v_alive, v_stale
      FROM backup_mgmt.agent AS a
     WHERE a.stopped_at IS NULL;
    SELECT a.agent_id, a.hostname, a.heartbeat_at, a.stopped_at INTO v_newest
      FROM backup_mgmt.agent AS a
     ORDER BY a.stopped_at IS NULL DESC, a.heartbeat_at DESC
     LIMIT 1;

    threshold := format('silent > %s (3 x job.lease_seconds): warning; no live agent: critical', backup_mgmt._health_duration_text(v_live));
    value := CASE WHEN v_newest.agent_id IS NULL THEN 'no agent'
                  ELSE format('%s of %s live; newest heartbeat %s ago', v_alive, v_running,
                              backup_mgmt._health_duration_text(now() - v_newest.heartbeat_at)) END;
    IF v_alive = 0 THEN
        status := 'CRITICAL';
        detail := CASE
            WHEN v_newest.agent_id IS NULL THEN 'no agent has ever registered: start one with backup-mgmt agent'
            WHEN v_newest.stopped_at IS NOT NULL AND v_running = 0 THEN
                format('every agent stopped; the last, %s on %s, at %s: start backup-mgmt agent', v_newest.agent_id, v_newest.hostname,
                       to_char(v_newest.stopped_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
            ELSE format('no heartbeat within %s from %s: the agent is down or cannot reach the database',
                        backup_mgmt._health_duration_text(v_live), array_to_string(v_stale, ', ')) END;
    ELSIF cardinality(v_stale) > 0 THEN
        status := 'WARNING';
        detail := format('silent: %s (crashed or cut off; if retired, call backup_mgmt.agent_stopped(agent_id))', array_to_string(v_stale, ', '));
    ELSE
        status := 'OK';
        detail := format('%s live agent(s), newest %s on %s', v_alive, v_newest.agent_id, v_newest.hostname);
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_agent_heartbeat() IS
'Internal (health_check): heartbeats of the agents that did not stop: CRITICAL when none is younger than _agent_live_window() (3 x job.lease_seconds, at least 15 s), WARNING when some live agents have silent siblings.';
