-- Health check pending_approvals: recoveries waiting too long for a second person.

CREATE OR REPLACE FUNCTION backup_mgmt._health_pending_approvals(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Current recovery rows with status PENDING (partial status index), aged by
-- their request time (hub load_date): any older than
-- health.approval_max_wait is WARNING.
DECLARE
    v_max_wait interval := backup_mgmt._health_interval('health.approval_max_wait');
    v_count integer;
    v_late text[];
    v_oldest interval;
BEGIN
    -- The request time per pending row from the hub's key (a correlated
    -- lookup): statistics of every version expect thousands of PENDING rows
    -- and would hash the whole hub for the handful there are.
    SELECT count(*)::integer, max(now() - p.requested_at),
           array_agg(format('%s requested by %s %s ago', p.recovery_bk, coalesce(p.initiated_by, 'unknown'),
                            backup_mgmt._health_duration_text(now() - p.requested_at)) ORDER BY p.requested_at)
               FILTER (WHERE p.requested_at < now() - v_max_wait)
      INTO v_count, v_oldest, v_late
      FROM (SELECT r.initiated_by, h.recovery_bk, h.load_date AS requested_at
              FROM backup_mgmt.recovery_operation_s AS r
              CROSS JOIN LATERAL (SELECT h.recovery_bk, h.load_date FROM backup_mgmt.recovery_operation_h AS h
                                   WHERE h.recovery_hk = r.recovery_hk OFFSET 0) AS h
             WHERE r.load_end_date IS NULL AND r.recovery_status = 'PENDING') AS p;

    threshold := format('waiting > %s: warning', backup_mgmt._health_duration_text(v_max_wait));
    value := format('%s pending, %s too long', v_count, coalesce(cardinality(v_late), 0));
    IF cardinality(v_late) > 0 THEN
        status := 'WARNING';
        detail := format('awaiting approval: %s%s; a recovery_approver approves with approve_recovery() or rejects with reject_recovery()',
                         array_to_string(v_late[1:5], ', '), CASE WHEN cardinality(v_late) > 5 THEN format(' and %s more', cardinality(v_late) - 5) ELSE '' END);
    ELSE
        status := 'OK';
        detail := CASE WHEN v_count = 0 THEN 'no recovery awaits approval'
                       ELSE format('oldest request waits %s', backup_mgmt._health_duration_text(v_oldest)) END;
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_pending_approvals() IS
'Internal (health_check): recoveries PENDING approval; WARNING when one was requested longer ago than health.approval_max_wait (1 hour).';
