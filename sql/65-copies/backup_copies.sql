-- For operators: every backup's copy in every repository.

CREATE OR REPLACE VIEW backup_mgmt.backup_copies
WITH (security_invoker = true) AS
-- One row per stored backup and repository the agents reported. A backup's
-- home repository (storage type LOCAL → local, S3 → s3) holds it from its
-- end on (EXPIRED once its files are gone); a local backup's s3 copy is
-- PENDING until the agent's replicator claims it. A recorded copy state
-- (backup_copy_current) wins over both.
SELECT c.backup_hk,
       c.backup_bk,
       c.backup_type,
       c.backup_status,
       c.backup_end_time,
       r.repository_bk AS repository,
       r.storage_type,
       r.location,
       (coalesce(c.storage_type, 'LOCAL') = r.storage_type) AS is_home,
       coalesce(cc.copy_status,
                CASE WHEN coalesce(c.storage_type, 'LOCAL') <> r.storage_type THEN 'PENDING'
                     WHEN st.files_present IS FALSE OR c.backup_status = 'EXPIRED' THEN 'EXPIRED'
                     ELSE 'COPIED' END)::varchar(20) AS copy_status,
       cc.status_reason,
       coalesce(cc.copy_location, CASE WHEN coalesce(c.storage_type, 'LOCAL') = r.storage_type THEN st.repository_path END) AS copy_location,
       coalesce(cc.copied_bytes, CASE WHEN coalesce(c.storage_type, 'LOCAL') = r.storage_type THEN st.stored_bytes END) AS copied_bytes,
       cc.copied_objects,
       coalesce(cc.copied_at, CASE WHEN coalesce(c.storage_type, 'LOCAL') = r.storage_type THEN c.backup_end_time END) AS copied_at,
       cc.expired_at,
       cc.attempts,
       cc.next_attempt_at,
       cc.agent_id
  FROM backup_mgmt.backup_execution_current AS c
  JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = c.backup_hk
 CROSS JOIN backup_mgmt.backup_repository_current AS r
  LEFT JOIN backup_mgmt.backup_copy_l AS cl ON cl.backup_hk = c.backup_hk AND cl.repository_hk = r.repository_hk
  LEFT JOIN backup_mgmt.backup_copy_current AS cc ON cc.copy_hk = cl.copy_hk
 WHERE c.backup_status IN ('COMPLETED', 'EXPIRED')
   AND jsonb_typeof(st.stored_files) = 'array'
   AND (cc.copy_status IS NOT NULL
        OR coalesce(c.storage_type, 'LOCAL') = r.storage_type
        OR (c.backup_status = 'COMPLETED' AND coalesce(c.storage_type, 'LOCAL') = 'LOCAL' AND r.repository_bk = 's3'));

COMMENT ON VIEW backup_mgmt.backup_copies IS
'Repository copies: one row per stored backup and repository (local, s3): copy_status PENDING / COPYING / COPIED / FAILED (status_reason, next_attempt_at) / EXPIRED, with bytes, objects, location and copied_at. A backup''s home repository holds it from its end on; the replicator of the agent copies local backups to s3.';
