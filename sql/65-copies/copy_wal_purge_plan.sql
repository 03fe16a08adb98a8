-- Which WAL files the off-host repository holds that retention has purged.

CREATE OR REPLACE FUNCTION backup_mgmt.copy_wal_purge_plan(p_agent_id text, p_system_identifier text, p_file_names text[])
RETURNS TABLE (file_name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- p_file_names: WAL files the off-host repository holds and the local one no
-- longer does. Returned are those the backup-wide retention purged
-- (wal_archive.purged_at, set by the DELETE job): no kept backup needs them,
-- so the off-host repository drops them too. Anything the catalog does not
-- know as purged (history files, files never registered) is kept.
BEGIN
    PERFORM backup_mgmt._copy_require_agent(p_agent_id, 'copy_wal_purge_plan');
    IF p_system_identifier IS NULL OR p_system_identifier !~ '^[0-9]{1,20}$' OR p_file_names IS NULL THEN
        RAISE EXCEPTION 'copy_wal_purge_plan: p_system_identifier (digits) and p_file_names must be given' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
        SELECT w.file_name FROM backup_mgmt.wal_archive AS w
         WHERE w.system_identifier = p_system_identifier AND w.file_name = ANY (p_file_names) AND w.purged_at IS NOT NULL
         ORDER BY w.file_name;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.copy_wal_purge_plan(text, text, text[]) IS
'Agent protocol (repository copies): of p_file_names (WAL the off-host repository holds and the local one no longer does), those retention purged (wal_archive.purged_at): the replicator deletes them off-host. Bad input 22023; unknown agent 55000.';
