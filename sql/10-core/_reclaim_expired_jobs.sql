-- Takes jobs back from agents whose lease ran out.

CREATE OR REPLACE FUNCTION backup_mgmt._reclaim_expired_jobs()
RETURNS integer
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- A RUNNING job whose lease expired goes back to the queue while attempts
-- are left, else it FAILS and its subject with "agent lost (lease expired)
-- after N attempts". A CANCELLED job the silent agent never acknowledged is
-- finished as cancelled. Rows locked by someone else (an agent reporting
-- right now) are skipped. Returns how many jobs were reclaimed.
DECLARE
    v_job backup_mgmt.job;
    v_count integer := 0;
    v_message text;
BEGIN
    FOR v_job IN
        SELECT * FROM backup_mgmt.job AS j
         WHERE j.status IN ('RUNNING', 'CANCELLED') AND j.lease_expires_at < now() AND j.finished_at IS NULL
         ORDER BY j.job_id
           FOR UPDATE SKIP LOCKED
    LOOP
        v_count := v_count + 1;
        IF v_job.status = 'CANCELLED' THEN
            PERFORM backup_mgmt._finish_cancelled_job(v_job, format('agent %s did not acknowledge before its lease expired', v_job.locked_by),
                                                      'backup_mgmt.claim_job');
        ELSIF v_job.attempts < v_job.max_attempts THEN
            v_message := format('agent %s lost (lease expired) during attempt %s of %s; retrying',
                                v_job.locked_by, v_job.attempts, v_job.max_attempts);
            UPDATE backup_mgmt.job AS j
               SET status = 'QUEUED', locked_by = NULL, lease_expires_at = NULL, run_after = now(),
                   last_error = v_message
             WHERE j.job_id = v_job.job_id
            RETURNING * INTO v_job;
            PERFORM backup_mgmt._job_subject_transition(v_job, 'requeued', v_message, 'backup_mgmt.claim_job');
        ELSE
            v_message := format('agent lost (lease expired) after %s attempts (last agent: %s)', v_job.attempts, v_job.locked_by);
            UPDATE backup_mgmt.job AS j
               SET status = 'FAILED', lease_expires_at = NULL, finished_at = now(), last_error = v_message
             WHERE j.job_id = v_job.job_id
            RETURNING * INTO v_job;
            PERFORM backup_mgmt._job_subject_transition(v_job, 'lost', v_message, 'backup_mgmt.claim_job');
        END IF;
    END LOOP;
    RETURN v_count;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._reclaim_expired_jobs() IS
'Internal (called by claim_job): requeues RUNNING jobs whose lease expired while attempts are left, fails them (and their subject: "agent lost (lease expired) after N attempts") otherwise, and finishes unacknowledged cancellations. Returns the number of jobs handled.';
