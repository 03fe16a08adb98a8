-- Health check pending_approvals: recoveries waiting too long for a second person.

CREATE OR REPLACE FUNCTION backup_mgmt._health_pending_approvals(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
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
    SELECT count(*)::integer, max(now() - h.load_date),
           array_agg(format('%s requested by %s %s ago', h.recovery_bk, coalesce(r.initiated_by, 'unknown'),
                            backup_mgmt._health_duration_text(now() - h.load_date)) ORDER BY h.load_date)
               FILTER (WHERE h.load_date < now() - v_max_wait)
      INTO v_count, v_oldest, v_late
      FROM backup_mgmt.recovery_operation_s AS r
      JOIN backup_mgmt.recovery_operation_h AS h ON h.recovery_hk = r.recovery_hk
     WHERE r.load_end_date IS NULL AND r.recovery_status = 'PENDING';

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
