-- Records where in the WAL a completed backup starts and stops.

CREATE OR REPLACE FUNCTION backup_mgmt._record_backup_lsn(p_backup_hk bytea, p_result jsonb, p_lsn jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- p_lsn: the positions, WAL files, times, system identifier, next_xid and
-- label, which each kind of backup derives in its own way; the server version
-- comes from the agent's (validated) job result alike for all.
BEGIN
    PERFORM backup_mgmt.backup_lsn_s_load(p_backup_hk, p_lsn || jsonb_build_object(
        'pg_version', p_result->>'pg_version',
        'pg_version_num', (p_result->>'pg_version_num')::integer), 'backup_mgmt.complete_job');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._record_backup_lsn(bytea, jsonb, jsonb) IS
'Internal (_apply_backup_result, _apply_incremental_result): the backup_lsn_s version of a completed backup, p_lsn plus pg_version and pg_version_num from the job result.';
