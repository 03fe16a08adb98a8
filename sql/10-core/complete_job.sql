-- An agent reports that a job succeeded, with its result.

CREATE OR REPLACE FUNCTION backup_mgmt.complete_job(p_job_id bigint, p_agent_id text, p_result jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Applies the result to the catalog through the handler of the job type and
-- plan kind (_apply_job_result, generated from codegen/protocol.ts: BACKUP:
-- _apply_backup_result, or _apply_incremental_result for plan kind
-- incremental; VERIFY: _apply_verify_result; RESTORE: _apply_restore_result;
-- DELETE: _apply_delete_result, sql/60-retention),
-- then marks the job SUCCEEDED. A malformed result is refused (22023) and nothing is written;
-- a job cancelled meanwhile cannot complete (55000).
DECLARE
    v_job backup_mgmt.job;
BEGIN
    v_job := backup_mgmt._lock_agent_job(p_job_id, p_agent_id, 'complete_job');
    IF v_job.status = 'CANCELLED' THEN
        RAISE EXCEPTION 'complete_job: job % was cancelled', p_job_id
            USING ERRCODE = '55000',
                  DETAIL = coalesce(v_job.last_error, 'cancelled'),
                  HINT = 'Remove what the job stored and call fail_job() to acknowledge the cancellation.';
    END IF;
    PERFORM backup_mgmt._require_args(p_result IS NULL, 'complete_job', 'p_result', 'See src/agent/PROTOCOL.md for the result of each job type.');
    IF jsonb_typeof(p_result) <> 'object' THEN
        RAISE EXCEPTION 'complete_job: p_result must be a JSON object'
            USING ERRCODE = '22023', DETAIL = left(p_result::text, 200), HINT = 'See src/agent/PROTOCOL.md.';
    END IF;

    -- Generated from codegen/protocol.ts (sql/00-generated/protocol/_apply_job_result.sql).
    PERFORM backup_mgmt._apply_job_result(v_job, p_result, p_agent_id);

    UPDATE backup_mgmt.job AS j
       SET status = 'SUCCEEDED', lease_expires_at = NULL, finished_at = now(), result = p_result, last_error = NULL
     WHERE j.job_id = p_job_id;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.complete_job(bigint, text, jsonb) IS
'Agent protocol: job -> SUCCEEDED and its result applied to the catalog (BACKUP full: backup COMPLETED, then the verification outcome as a separate version, backup_lsn_s, backup_storage_s; BACKUP incremental: see _apply_incremental_result; VERIFY: the verification outcome; RESTORE: recovery COMPLETED, see _apply_restore_result; DELETE: backup EXPIRED with files_present false and/or archived WAL marked purged, see _apply_delete_result). Job not held by the agent or cancelled: 55000; malformed result: 22023, nothing written.';
