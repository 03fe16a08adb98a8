-- Where a recovery restores when the request names no directory.

CREATE OR REPLACE FUNCTION backup_mgmt._default_restore_root()
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Setting restore.root wins; else the newest live agent that has a restore
-- root; else the agent with a restore root seen last.
BEGIN
    RETURN coalesce(
        backup_mgmt.setting('restore.root'),
        (SELECT a.restore_root FROM backup_mgmt.agent AS a
          WHERE a.restore_root IS NOT NULL AND a.stopped_at IS NULL
            AND a.heartbeat_at >= now() - backup_mgmt._agent_live_window()
          ORDER BY a.started_at DESC, a.agent_id LIMIT 1),
        (SELECT a.restore_root FROM backup_mgmt.agent AS a
          WHERE a.restore_root IS NOT NULL
          ORDER BY a.heartbeat_at DESC, a.agent_id LIMIT 1));
END;
$$;

COMMENT ON FUNCTION backup_mgmt._default_restore_root() IS
'Internal: default restore root: setting restore.root, else the newest live agent''s restore_root, else the last seen agent''s; NULL if none is known.';
