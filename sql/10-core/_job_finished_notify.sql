-- NOTIFY backup_mgmt_job_finished when a job reaches SUCCEEDED, FAILED or
-- CANCELLED, so clients wait by LISTEN instead of polling the catalog.

CREATE OR REPLACE FUNCTION backup_mgmt._job_finished_notify()
RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
-- Fires on every path a job can end by (complete_job, fail_job, cancel_*,
-- an expired lease running out of attempts). Delivered at commit, so a
-- listener that reads the catalog then sees the outcome. The payload names the
-- job and its subject only; what happened is read through the views, which
-- apply row-level security.
BEGIN
    PERFORM pg_notify('backup_mgmt_job_finished', json_build_object(
        'job_id', NEW.job_id,
        'job_type', NEW.job_type,
        'status', NEW.status,
        'subject_hk', encode(NEW.subject_hk, 'hex'))::text);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._job_finished_notify() IS
'Internal trigger function: NOTIFY backup_mgmt_job_finished with {job_id, job_type, status, subject_hk (hex)} when a job becomes SUCCEEDED, FAILED or CANCELLED.';

CREATE OR REPLACE TRIGGER job_finished_notify
AFTER UPDATE OF status ON backup_mgmt.job
FOR EACH ROW
WHEN (NEW.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED') AND OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION backup_mgmt._job_finished_notify();
