-- Whether a copy marked COPYING is really being copied right now.

CREATE OR REPLACE FUNCTION backup_mgmt._copy_in_progress(p_backup_hk bytea, p_repository text)
RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- COPYING by an agent that is live and has not restarted since it
    -- claimed the copy (an agent copies one backup at a time and forgets its
    -- work when it stops). Anything else is abandoned and may be claimed again.
    SELECT EXISTS (
        SELECT 1
          FROM backup_mgmt.backup_copy_l AS cl
          JOIN backup_mgmt.backup_copy_current AS cc ON cc.copy_hk = cl.copy_hk
          JOIN backup_mgmt.agent AS a ON a.agent_id = cc.agent_id
         WHERE cl.backup_hk = p_backup_hk AND cl.repository_hk = backup_mgmt.hash_key(p_repository)
           AND cc.copy_status = 'COPYING' AND cc.copy_started_at >= a.started_at
           AND a.stopped_at IS NULL AND a.heartbeat_at > now() - backup_mgmt._agent_live_window())
$$;

COMMENT ON FUNCTION backup_mgmt._copy_in_progress(bytea, text) IS
'Internal (repository copies): true when the copy of the backup in p_repository is COPYING by a live agent that has not restarted since it claimed it; otherwise a COPYING copy is abandoned.';
