-- One row per recovery or drill: target, approval, outcome, where, progress.

CREATE OR REPLACE VIEW backup_mgmt.recovery_list
WITH (security_invoker = true) AS
SELECT
    r.recovery_hk,
    r.recovery_bk,
    r.tenant_hk,
    r.recovery_type,
    r.recovery_status,
    r.is_drill,
    r.target_kind,
    r.target_value,
    r.target_point_in_time,
    r.target_lsn,
    r.recovery_target,
    r.source_backup_hk,
    b.backup_bk AS source_backup_bk,
    CASE WHEN r.plan->'estimate'->>'minutes' ~ '^[0-9]{1,9}$' THEN (r.plan->'estimate'->>'minutes')::integer END AS estimated_duration_minutes,
    r.approval_required,
    r.initiated_by,
    r.approved_by,
    r.approval_date,
    r.approval_comment,
    h.load_date AS requested_at,
    r.recovery_start_time,
    r.recovery_end_time,
    r.recovery_duration_seconds,
    r.validation_status,
    r.records_recovered,
    r.data_size_recovered,
    r.restore_directory,
    r.restore_port,
    r.error_message,
    r.error_code,
    CASE WHEN j.result->'reached'->>'lsn' ~ '^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$' THEN (j.result->'reached'->>'lsn')::pg_lsn END AS reached_lsn,
    j.result->'reached'->>'time' AS reached_time,
    -- A copy removed since (restored_copy_removed) is not running any more.
    CASE WHEN jsonb_typeof(j.result->'kept_running') = 'boolean' THEN (j.result->>'kept_running')::boolean AND r.restore_port IS NOT NULL END AS kept_running,
    j.job_id,
    j.status AS job_status,
    j.locked_by AS agent_id,
    j.progress_done,
    j.progress_total,
    j.progress_phase,
    r.plan,
    -- Where a kept copy listens: the only way in (its pg_hba trusts the socket alone).
    CASE WHEN r.restore_port IS NOT NULL THEN j.result->>'socket_directory' END AS socket_directory
FROM backup_mgmt.recovery_operation_current AS r
JOIN backup_mgmt.recovery_operation_h AS h ON h.recovery_hk = r.recovery_hk
LEFT JOIN backup_mgmt.backup_execution_h AS b ON b.backup_hk = r.source_backup_hk
-- The newest RESTORE job of the recovery (none while it awaits approval).
LEFT JOIN LATERAL (
    SELECT q.job_id, q.status, q.locked_by, q.progress_done, q.progress_total, q.progress_phase, q.result
      FROM backup_mgmt.job AS q
     WHERE q.subject_hk = r.recovery_hk AND q.job_type = 'RESTORE'
     ORDER BY q.job_id DESC
     LIMIT 1
) AS j ON true;

COMMENT ON VIEW backup_mgmt.recovery_list IS
'Recoveries and restore drills for listing (security_invoker): type, status, target, base backup, estimated duration, approval (who asked, who approved, when, comment), start/end, measured duration (RTO), validation outcome, restore directory and port, what the restore reached (reached_lsn, reached_time) whether the restored cluster was left running and its socket directory, the RESTORE job and its progress, and the plan.';
