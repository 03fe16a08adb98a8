-- Cancels a backup or a recovery, as far as its state allows.

CREATE OR REPLACE FUNCTION backup_mgmt._cancel_subject(p_kind text, p_hk bytea)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- The body of cancel_backup and cancel_recovery (p_kind 'backup' or
-- 'recovery'). The newest job row is locked before the subject, in the same
-- order as the agent functions. Waiting subject (a PENDING backup, an
-- APPROVED recovery) with its job QUEUED: job and subject CANCELLED at once;
-- a PENDING recovery has no job yet and is CANCELLED at once. RUNNING: the
-- job is marked CANCELLED; the agent learns it from job_progress() = false,
-- aborts and acknowledges with fail_job() (or its lease runs out and
-- claim_job does). Already requested: nothing to do. A recovery may be
-- cancelled only by its requester or an admin (42501). Other states: 55000;
-- unknown or invisible: P0002.
DECLARE
    v_caller text := 'cancel_' || p_kind;
    v_job_type text := CASE p_kind WHEN 'backup' THEN 'BACKUP' ELSE 'RESTORE' END;
    v_job backup_mgmt.job;
    v_recovery backup_mgmt.recovery_operation_current;
    v_bk text;
    v_status text;
    v_message text;
BEGIN
    PERFORM backup_mgmt._require_args(p_hk IS NULL, v_caller, format('p_%s_hk', p_kind),
        CASE p_kind WHEN 'backup' THEN 'Pass the backup_id returned by create_full_backup().'
             ELSE 'Pass the recovery_id returned by initiate_point_in_time_recovery() or initiate_recovery().' END);
    v_job := backup_mgmt._latest_job(p_hk, v_job_type);
    IF p_kind = 'backup' THEN
        -- Another tenant's backup (or a system one, for a tenant's role) looks missing.
        SELECT c.backup_bk, c.backup_status INTO v_bk, v_status
          FROM backup_mgmt.backup_execution_current AS c
         WHERE c.backup_hk = p_hk AND backup_mgmt._visible_to_caller(c.tenant_hk);
        IF NOT FOUND THEN
            RAISE EXCEPTION 'cancel_backup: no backup with id %', encode(p_hk, 'hex')
                USING ERRCODE = 'P0002', HINT = 'List backups with SELECT * FROM backup_mgmt.backup_list.';
        END IF;
    ELSE
        v_recovery := backup_mgmt._lock_recovery(p_hk, v_caller);
        IF v_job.job_id IS NULL AND v_recovery.recovery_status IN ('APPROVED', 'RUNNING') THEN
            -- Approved while this call waited for the recovery's lock: its job is new.
            v_job := backup_mgmt._latest_job(p_hk, v_job_type);
        END IF;
        IF v_recovery.initiated_by IS DISTINCT FROM session_user AND NOT backup_mgmt._is_recovery_admin() THEN
            RAISE EXCEPTION 'cancel_recovery: only % (who requested recovery %) or a member of backup_mgmt_admin may cancel it', v_recovery.initiated_by, v_recovery.recovery_bk
                USING ERRCODE = '42501', HINT = 'An approver who does not want it to run can reject_recovery() while it is PENDING.';
        END IF;
        v_bk := v_recovery.recovery_bk;
        v_status := v_recovery.recovery_status;
    END IF;
    v_message := format('cancelled by %s at %s', session_user, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));

    IF p_kind = 'recovery' AND v_status = 'PENDING' THEN
        PERFORM backup_mgmt.recovery_operation_s_load(p_hk, jsonb_build_object(
            'recovery_status', 'CANCELLED',
            'recovery_end_time', greatest(now(), v_recovery.recovery_start_time),
            'error_message', v_message,
            'error_code', 'CANCELLED',
            'changed_by', session_user), 'backup_mgmt.cancel_recovery');
    ELSIF v_status = (CASE p_kind WHEN 'backup' THEN 'PENDING' ELSE 'APPROVED' END) AND v_job.status = 'QUEUED' THEN
        UPDATE backup_mgmt.job AS j
           SET status = 'CANCELLED', finished_at = now(), last_error = v_message
         WHERE j.job_id = v_job.job_id
        RETURNING * INTO v_job;
        PERFORM backup_mgmt._job_subject_transition(v_job, 'cancelled', v_message, 'backup_mgmt.' || v_caller);
    ELSIF v_status = 'RUNNING' AND v_job.status = 'RUNNING' THEN
        UPDATE backup_mgmt.job AS j
           SET status = 'CANCELLED', last_error = v_message
         WHERE j.job_id = v_job.job_id;
    ELSIF v_status = 'RUNNING' AND v_job.status = 'CANCELLED' THEN
        -- Already requested; the agent has not acknowledged yet.
        NULL;
    ELSE
        RAISE EXCEPTION '%: % % is %, there is nothing to cancel', v_caller, p_kind, v_bk, v_status
            USING ERRCODE = '55000',
                  HINT = CASE p_kind WHEN 'backup' THEN 'Only PENDING and RUNNING backups can be cancelled.'
                         ELSE 'Only PENDING, APPROVED and RUNNING recoveries can be cancelled.' END;
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._cancel_subject(text, bytea) IS
'Internal (cancel_backup, cancel_recovery): cancels the backup or recovery (p_kind) at once while it waits, or asks the agent to stop a running one; 22004 NULL id, P0002 unknown, 42501 not the requester of a recovery, 55000 nothing to cancel.';
