-- An agent says how many WAL files a repository lacked at its last catch-up pass.

CREATE OR REPLACE FUNCTION backup_mgmt.agent_report_wal_copies(p_agent_id text, p_repository text, p_wal_behind integer)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- wal_behind_since keeps the time the repository first fell behind, so the
-- health check can tell a short lag from a long one; 0 clears it. Returns
-- whether the repository's row changed.
DECLARE
    v_hk bytea;
    v_cur record;
BEGIN
    PERFORM backup_mgmt._copy_require_agent(p_agent_id, 'agent_report_wal_copies');
    PERFORM backup_mgmt._copy_repository_name(p_repository, 'agent_report_wal_copies');
    IF p_wal_behind IS NULL OR p_wal_behind < 0 THEN
        RAISE EXCEPTION 'agent_report_wal_copies: p_wal_behind must be a count (0 or more)' USING ERRCODE = '22023';
    END IF;
    v_hk := backup_mgmt.hash_key(p_repository);
    SELECT r.wal_behind, r.wal_behind_since INTO v_cur FROM backup_mgmt.backup_repository_current AS r WHERE r.repository_hk = v_hk;
    RETURN backup_mgmt.backup_repository_s_load(v_hk, jsonb_build_object(
        'wal_behind', p_wal_behind,
        'wal_behind_since', CASE WHEN p_wal_behind = 0 THEN NULL ELSE coalesce(v_cur.wal_behind_since, now()) END), 'backup_mgmt.agent');
END;
$$;

COMMENT ON FUNCTION backup_mgmt.agent_report_wal_copies(text, text, integer) IS
'Agent protocol (repository copies): WAL files of the local repository that p_repository lacked at the agent''s last catch-up pass (0: caught up); the health check repository_copies reports it. Bad input 22023; unknown agent 55000.';
