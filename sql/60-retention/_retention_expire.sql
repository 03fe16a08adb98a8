-- Marks one backup EXPIRED (a new version; the history stays).

CREATE OR REPLACE FUNCTION backup_mgmt._retention_expire(
    p_backup_hk bytea,
    p_expiration_date date,
    p_retention_period interval,
    p_retention_policy text,
    p_job_id bigint,
    p_record_source text
)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- backup_execution_s: backup_status EXPIRED with the expiration date and
-- period retention applied, additional_metadata.expired = {at, by, job_id};
-- backup_storage_s (if the backup ever stored anything): files_present
-- false. A backup that is EXPIRED already, PENDING or RUNNING is left alone:
-- returns whether it changed anything.
DECLARE
    v_cur backup_mgmt.backup_execution_current;
BEGIN
    -- The hub row serialises loads of one backup (as the loaders do).
    PERFORM 1 FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_hk = p_backup_hk FOR NO KEY UPDATE;
    SELECT * INTO v_cur FROM backup_mgmt.backup_execution_current AS c WHERE c.backup_hk = p_backup_hk;
    IF NOT FOUND OR v_cur.backup_status IN ('EXPIRED', 'PENDING', 'RUNNING') THEN
        RETURN false;
    END IF;

    PERFORM backup_mgmt.backup_execution_s_load(p_backup_hk, jsonb_build_object(
        'backup_status', 'EXPIRED',
        'expiration_date', coalesce(p_expiration_date, v_cur.expiration_date),
        'retention_period', coalesce(p_retention_period, v_cur.retention_period),
        'retention_policy', coalesce(left(p_retention_policy, 100), v_cur.retention_policy),
        'changed_by', session_user,
        'additional_metadata', coalesce(v_cur.additional_metadata, '{}'::jsonb) || jsonb_build_object('expired', jsonb_build_object(
            'at', backup_mgmt._iso_time(now()), 'by', session_user, 'job_id', p_job_id))), p_record_source);

    IF EXISTS (SELECT 1 FROM backup_mgmt.backup_storage_current AS st
                WHERE st.backup_hk = p_backup_hk AND st.files_present IS DISTINCT FROM false) THEN
        PERFORM backup_mgmt.backup_storage_s_load(p_backup_hk, jsonb_build_object('files_present', false), p_record_source);
    END IF;
    RETURN true;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._retention_expire(bytea, date, interval, text, bigint, text) IS
'Internal (cleanup_expired_backups, _apply_delete_result): writes the EXPIRED version of a backup (expiration_date, retention_period, retention_policy, additional_metadata.expired = {at, by, job_id}) and, if it stored files, a backup_storage_s version with files_present false. EXPIRED, PENDING or RUNNING backups are left alone; returns whether a version was written.';
