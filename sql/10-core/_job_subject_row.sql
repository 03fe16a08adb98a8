-- The current row of the backup or recovery a job is about.

CREATE OR REPLACE FUNCTION backup_mgmt._job_subject_row(p_row anyelement, p_kind text, p_job backup_mgmt.job)
RETURNS anyelement
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- p_row (NULL::backup_mgmt.backup_execution_current or
-- NULL::backup_mgmt.recovery_operation_current) names the current-row view;
-- p_kind ('backup', 'recovery') its hash-key column. A job whose subject is
-- gone is a bug: P0002, the message naming the event handler.
BEGIN
    -- p_row is the target: it is already of the polymorphic row type.
    EXECUTE format('SELECT * FROM %s AS c WHERE c.%I = $1', pg_typeof(p_row), p_kind || '_hk')
       INTO p_row USING p_job.subject_hk;
    IF p_row IS NULL THEN
        RAISE EXCEPTION '_%_job_event: job % refers to no %', p_kind, p_job.job_id, p_kind
            USING ERRCODE = 'P0002', DETAIL = encode(p_job.subject_hk, 'hex');
    END IF;
    RETURN p_row;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._job_subject_row(anyelement, text, backup_mgmt.job) IS
'Internal (_backup_job_event, _recovery_job_event): the current-row view row (type of p_row) of the job''s subject; none: P0002.';
