-- Where a backup goes when the request names no location.

CREATE OR REPLACE FUNCTION backup_mgmt._default_repository_root()
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Setting repository.root wins; else the newest live agent (not stopped,
-- heartbeat within the liveness window); else the agent seen last, so that a
-- request queued while the agent restarts still has a target.
BEGIN
    RETURN coalesce(
        backup_mgmt.setting('repository.root'),
        (SELECT a.repository_root FROM backup_mgmt.agent AS a
          WHERE a.stopped_at IS NULL AND a.heartbeat_at >= now() - backup_mgmt._agent_live_window()
          ORDER BY a.started_at DESC, a.agent_id LIMIT 1),
        (SELECT a.repository_root FROM backup_mgmt.agent AS a
          ORDER BY a.heartbeat_at DESC, a.agent_id LIMIT 1));
END;
$$;

COMMENT ON FUNCTION backup_mgmt._default_repository_root() IS
'Internal: default backup target: setting repository.root, else the newest live agent''s repository_root, else the last seen agent''s; NULL if none is known.';
