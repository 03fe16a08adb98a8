-- Health check verification: backups whose verification failed or waits too long.

CREATE OR REPLACE FUNCTION backup_mgmt._health_verification(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Current rows of COMPLETED backups with verification_status FAILED (within
-- the window) or PENDING, each from a partial index holding only those rows
-- (verified backups and older failures are not read). FAILED within health.verification_failed_window: CRITICAL until
-- the backup is verified again or expires. PENDING for longer than
-- health.verification_max_pending (since its queued or running VERIFY job
-- was created, else since that version was written): WARNING.
DECLARE
    v_max_pending interval := backup_mgmt._health_interval('health.verification_max_pending');
    v_window interval := backup_mgmt._health_interval('health.verification_failed_window');
    v_failed text[];
    v_pending text[];
    v_oldest interval;
BEGIN
    SELECT array_agg(x.backup_bk ORDER BY x.at DESC) FILTER (WHERE x.verification_status = 'FAILED' AND x.at >= now() - v_window),
           array_agg(x.backup_bk ORDER BY x.at) FILTER (WHERE x.verification_status = 'PENDING' AND x.at < now() - v_max_pending),
           max(now() - x.at) FILTER (WHERE x.verification_status = 'PENDING')
      INTO v_failed, v_pending, v_oldest
      FROM (
            -- Two ranges of partial indexes that hold just these rows
            -- (idx_backup_execution_s_verification_failed_at, by time, and
            -- idx_backup_execution_s_verification_pending), rather than one
            -- IN list over the verification_status index: misled by the many
            -- PENDING versions in the history, the planner read all 1,000,000
            -- current rows for that (2 s). A FAILED one outside the window was
            -- never counted.
            SELECT s.backup_bk, s.verification_status, coalesce(s.verification_date, s.load_date) AS at
              FROM backup_mgmt.backup_execution_s AS s
             WHERE s.load_end_date IS NULL AND s.verification_status = 'FAILED' AND s.backup_status = 'COMPLETED'
               AND coalesce(s.verification_date, s.load_date) >= now() - v_window
            UNION ALL
            SELECT s.backup_bk, s.verification_status,
                   coalesce((SELECT max(j.created_at) FROM backup_mgmt.job AS j
                              WHERE j.subject_hk = s.backup_hk AND j.job_type = 'VERIFY'
                                AND j.status IN ('QUEUED', 'RUNNING')), s.load_date)
              FROM backup_mgmt.backup_execution_s AS s
             WHERE s.load_end_date IS NULL AND s.verification_status = 'PENDING' AND s.backup_status = 'COMPLETED') AS x;

    status := CASE WHEN cardinality(v_failed) > 0 THEN 'CRITICAL' WHEN cardinality(v_pending) > 0 THEN 'WARNING' ELSE 'OK' END;
    value := format('%s failed, %s pending too long', coalesce(cardinality(v_failed), 0), coalesce(cardinality(v_pending), 0));
    threshold := format('failed in %s: critical; pending > %s: warning', backup_mgmt._health_duration_text(v_window),
                        backup_mgmt._health_duration_text(v_max_pending));
    detail := concat_ws('; ',
        CASE WHEN cardinality(v_failed) > 0 THEN
             format('verification FAILED: %s%s (verify again with verify_backup_integrity(), or investigate the repository)',
                    array_to_string(v_failed[1:5], ', '), CASE WHEN cardinality(v_failed) > 5 THEN format(' and %s more', cardinality(v_failed) - 5) ELSE '' END) END,
        CASE WHEN cardinality(v_pending) > 0 THEN
             format('verification PENDING too long: %s%s (is an agent running?)',
                    array_to_string(v_pending[1:5], ', '), CASE WHEN cardinality(v_pending) > 5 THEN format(' and %s more', cardinality(v_pending) - 5) ELSE '' END) END,
        CASE WHEN v_failed IS NULL AND v_pending IS NULL THEN
             CASE WHEN v_oldest IS NULL THEN 'no verification failed recently or is waiting'
                  ELSE format('oldest pending verification queued %s ago', backup_mgmt._health_duration_text(v_oldest)) END END);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_verification() IS
'Internal (health_check): completed backups whose verification FAILED within health.verification_failed_window (7 days; CRITICAL until verified again) or has been PENDING longer than health.verification_max_pending (1 hour; WARNING).';
