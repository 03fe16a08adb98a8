-- Which copies a repository's retention removes now.

CREATE OR REPLACE FUNCTION backup_mgmt.copy_expire_plan(p_agent_id text, p_repository text)
RETURNS TABLE (backup_bk text, backup_type text, system_identifier text, repository_path text, stored_files jsonb, reason text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- s3: the copies of backups that retention expired (cleanup_expired_backups
-- removed them locally; the off-host copy goes too), including failed and
-- half-done ones, unless a live agent is copying them right now.
-- local: with retention.local_full_backups = N > 0, the local repository
-- keeps only the newest N completed full backups; an older one (and its
-- incrementals) loses its local copy only when the whole chain is COPIED to
-- s3 and no job or recovery uses it: the backup stays in the catalog and is
-- restored from s3. The WAL stays (local WAL is purged by the backup-wide
-- retention only), so each repository keeps what its backups need.
DECLARE
    v_root text;
    v_keep integer;
BEGIN
    PERFORM backup_mgmt._copy_require_agent(p_agent_id, 'copy_expire_plan');
    PERFORM backup_mgmt._copy_repository_name(p_repository, 'copy_expire_plan');
    SELECT a.repository_root INTO v_root FROM backup_mgmt.agent AS a WHERE a.agent_id = p_agent_id;
    IF p_repository = 's3' THEN
        RETURN QUERY
            SELECT b.backup_bk, b.backup_type, b.system_identifier, b.repository_path, b.stored_files,
                   'the backup expired (retention)'::text
              FROM backup_mgmt._copy_local_backups(v_root) AS b
             WHERE b.backup_status = 'EXPIRED' AND b.s3_status IN ('PENDING', 'COPYING', 'COPIED', 'FAILED')
               AND NOT (b.s3_status = 'COPYING' AND backup_mgmt._copy_in_progress(b.backup_hk, p_repository))
             ORDER BY b.backup_bk;
        RETURN;
    END IF;
    v_keep := backup_mgmt.setting('retention.local_full_backups')::integer;
    IF v_keep = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
        WITH b AS (
            SELECT x.*, backup_mgmt._backup_chain_full(x.backup_hk) AS full_hk FROM backup_mgmt._copy_local_backups(v_root) AS x
             WHERE x.backup_status = 'COMPLETED' AND x.files_present IS DISTINCT FROM false
        ), fulls AS (
            SELECT f.backup_hk, f.backup_bk, row_number() OVER (ORDER BY f.end_time DESC NULLS FIRST, f.backup_bk DESC) AS newest
              FROM b AS f WHERE f.backup_type = 'FULL' AND f.local_status IS DISTINCT FROM 'EXPIRED'
        ), gone AS (
            SELECT f.backup_hk, f.backup_bk, f.newest FROM fulls AS f
             WHERE f.newest > v_keep
               AND NOT EXISTS (SELECT 1 FROM b WHERE b.full_hk = f.backup_hk AND b.s3_status IS DISTINCT FROM 'COPIED')
               AND NOT EXISTS (SELECT 1 FROM b JOIN backup_mgmt.job AS j ON j.subject_hk = b.backup_hk
                                WHERE b.full_hk = f.backup_hk AND j.status IN ('QUEUED', 'RUNNING'))
               AND NOT EXISTS (SELECT 1 FROM b
                                 JOIN backup_mgmt.recovery_backup_l AS rl ON rl.backup_hk = b.backup_hk
                                 JOIN backup_mgmt.recovery_operation_current AS r ON r.recovery_hk = rl.recovery_hk
                                WHERE b.full_hk = f.backup_hk AND r.recovery_status IN ('PENDING', 'APPROVED', 'RUNNING'))
        )
        SELECT b.backup_bk, b.backup_type, b.system_identifier, b.repository_path, b.stored_files,
               format('retention.local_full_backups = %s: %s is the %s-newest full backup here and its chain is copied to s3', v_keep, g.backup_bk, g.newest)
          FROM gone AS g JOIN b ON b.full_hk = g.backup_hk
         WHERE b.local_status IS DISTINCT FROM 'EXPIRED'
         ORDER BY b.backup_type = 'FULL', b.backup_bk DESC;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.copy_expire_plan(text, text) IS
'Agent protocol (repository copies): the copies p_repository''s retention removes now (backup_bk, backup_type, system_identifier, repository_path, stored_files, reason). s3: copies of backups retention expired. local: with retention.local_full_backups N > 0, full backups older than the newest N whose whole chain is COPIED to s3 and not in use, and their incrementals (incrementals first); the backup stays in the catalog. The agent removes them and reports EXPIRED with copy_report().';
