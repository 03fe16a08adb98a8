-- An agent reports the free and total space of its repository's file system.

CREATE OR REPLACE FUNCTION backup_mgmt.agent_report_storage(p_agent_id text, p_free_bytes bigint, p_total_bytes bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Stored in agent.info->'storage' as {free_bytes, total_bytes, reported_at}
-- (agent_register replaces info, so an agent reports again after it
-- registers). Feeds the repository_space health check and the metrics.
BEGIN
    PERFORM backup_mgmt._require_args(p_agent_id IS NULL OR p_free_bytes IS NULL OR p_total_bytes IS NULL, 'agent_report_storage', 'p_agent_id, p_free_bytes and p_total_bytes', 'Pass the agent id and the bytes free for the agent and in total on the repository''s file system.');
    IF p_total_bytes <= 0 OR p_free_bytes < 0 OR p_free_bytes > p_total_bytes THEN
        RAISE EXCEPTION 'agent_report_storage: invalid sizes: % bytes free of %', p_free_bytes, p_total_bytes
            USING ERRCODE = '22023', DETAIL = 'The total must be positive and the free bytes between 0 and the total.';
    END IF;
    UPDATE backup_mgmt.agent AS a
       SET info = a.info || jsonb_build_object('storage', jsonb_build_object(
               'free_bytes', p_free_bytes, 'total_bytes', p_total_bytes, 'reported_at', now()))
     WHERE a.agent_id = p_agent_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'agent_report_storage: agent % is not registered', quote_literal(p_agent_id)
            USING ERRCODE = '55000', HINT = 'Call backup_mgmt.agent_register() first.';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.agent_report_storage(text, bigint, bigint) IS
'Agent protocol: records the free (available to the agent) and total bytes of the file system holding the agent''s repository in agent.info->''storage'' {free_bytes, total_bytes, reported_at}; read by the repository_space health check and metrics_snapshot(). NULL: 22004; total <= 0 or free outside 0..total: 22023; unregistered agent: 55000.';
