-- The backups whose home is the local repository under one root, with the state of their copies.

CREATE OR REPLACE FUNCTION backup_mgmt._copy_local_backups(p_root text)
RETURNS TABLE (backup_hk bytea, backup_bk text, backup_type text, backup_status text, end_time timestamptz,
               system_identifier text, repository_path text, stored_files jsonb, files_present boolean,
               local_status text, s3_status text, s3_agent_id text, s3_next_attempt_at timestamptz, s3_attempts integer)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- Home = storage type LOCAL and a directory under the root: those are the
    -- backups the root's agent copies off-host and may expire locally.
    -- local_status / s3_status: the copy's current state, NULL = none yet.
    SELECT c.backup_hk, c.backup_bk::text, c.backup_type::text, c.backup_status::text, c.backup_end_time,
           l.system_identifier::text, st.repository_path, st.stored_files, st.files_present,
           lc.copy_status::text, sc.copy_status::text, sc.agent_id::text, sc.next_attempt_at, sc.attempts
      FROM backup_mgmt.backup_execution_current AS c
      JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = c.backup_hk
      LEFT JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_hk = c.backup_hk
      LEFT JOIN backup_mgmt.backup_copy_l AS ll ON ll.backup_hk = c.backup_hk AND ll.repository_hk = backup_mgmt.hash_key('local')
      LEFT JOIN backup_mgmt.backup_copy_current AS lc ON lc.copy_hk = ll.copy_hk
      LEFT JOIN backup_mgmt.backup_copy_l AS sl ON sl.backup_hk = c.backup_hk AND sl.repository_hk = backup_mgmt.hash_key('s3')
      LEFT JOIN backup_mgmt.backup_copy_current AS sc ON sc.copy_hk = sl.copy_hk
     WHERE coalesce(c.storage_type, 'LOCAL') = 'LOCAL'
       AND st.repository_path LIKE p_root || '/%'
       AND jsonb_typeof(st.stored_files) = 'array'
$$;

COMMENT ON FUNCTION backup_mgmt._copy_local_backups(text) IS
'Internal (repository copies): backups stored in the local repository under p_root (storage type LOCAL) with their system identifier, stored files, files_present and the current state of their local and s3 copies (NULL: none recorded).';
