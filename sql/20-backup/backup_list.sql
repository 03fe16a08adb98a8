-- One row per backup for listing: status, sizes, WAL position, where, progress.

CREATE OR REPLACE VIEW backup_mgmt.backup_list
WITH (security_invoker = true) AS
SELECT
    c.backup_hk,
    c.backup_bk,
    c.tenant_hk,
    c.backup_type,
    c.backup_scope,
    c.backup_method,
    c.backup_status,
    c.verification_status,
    c.verification_date,
    c.verification_detail,
    c.requested_at,
    c.backup_start_time,
    c.backup_end_time,
    c.backup_duration_seconds,
    c.backup_size_bytes,
    c.compressed_size_bytes,
    c.compression_ratio,
    c.compression_algorithm,
    l.start_lsn,
    l.stop_lsn,
    l.timeline_id,
    l.start_wal_file,
    l.stop_wal_file,
    l.system_identifier,
    c.backup_location,
    s.repository_path,
    s.files_present,
    c.expiration_date,
    c.error_message,
    c.initiated_by,
    c.retry_count,
    c.max_retries,
    j.job_id,
    j.job_type,
    j.locked_by AS agent_id,
    j.progress_done,
    j.progress_total,
    j.progress_phase
FROM backup_mgmt.backup_execution_current AS c
LEFT JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_hk = c.backup_hk
LEFT JOIN backup_mgmt.backup_storage_current AS s ON s.backup_hk = c.backup_hk
-- Progress comes from the job an agent is running for the backup, if any.
LEFT JOIN LATERAL (
    SELECT r.job_id, r.job_type, r.locked_by, r.progress_done, r.progress_total, r.progress_phase
      FROM backup_mgmt.job AS r
     WHERE r.subject_hk = c.backup_hk AND r.status = 'RUNNING'
     ORDER BY r.job_id DESC
     LIMIT 1
) AS j ON true;

COMMENT ON VIEW backup_mgmt.backup_list IS
'Backups for listing (security_invoker): current status and verification, times, sizes, compression ratio, start/stop LSN and timeline, repository path, error, and for a backup with a RUNNING job (backup or verification) the job''s progress (done/total bytes, phase).';
