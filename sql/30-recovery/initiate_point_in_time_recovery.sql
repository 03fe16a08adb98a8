-- Requests a point-in-time recovery to a moment (seed 001 signature).

CREATE OR REPLACE FUNCTION backup_mgmt.initiate_point_in_time_recovery(
    p_tenant_hk bytea,
    p_target_timestamp timestamptz,
    p_recovery_target varchar(100) DEFAULT 'FULL_DATABASE',
    p_approval_required boolean DEFAULT true
)
RETURNS TABLE (
    recovery_id bytea,
    recovery_status varchar(20),
    estimated_duration_minutes integer,
    approval_required boolean,
    backup_source_id bytea
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- A time target through the common planner: the base is the newest verified
-- full backup that ENDED before p_target_timestamp (the seed chose by start
-- time, which picks a backup that is not yet consistent at the target). The
-- restore goes to <restore root>/<recovery key>; PENDING until approved.
DECLARE
    v_hk bytea;
BEGIN
    IF p_tenant_hk IS NOT NULL THEN
        RAISE EXCEPTION 'initiate_point_in_time_recovery: a physical recovery cannot be scoped to a tenant'
            USING ERRCODE = '0A000',
                  DETAIL = 'Point-in-time recovery restores the whole cluster: every database, every tenant.',
                  HINT = 'Pass p_tenant_hk => NULL for a system-wide recovery; tenant-scoped (logical) recovery is not available yet.';
    END IF;
    PERFORM backup_mgmt._require_args(p_target_timestamp IS NULL, 'initiate_point_in_time_recovery', 'p_target_timestamp', 'For example now() - interval ''1 hour''; see SELECT * FROM backup_mgmt.recoverable_window().');
    IF p_recovery_target IS NULL OR upper(btrim(p_recovery_target)) <> 'FULL_DATABASE' THEN
        RAISE EXCEPTION 'initiate_point_in_time_recovery: recovery target % is not supported', coalesce(quote_literal(p_recovery_target), 'NULL')
            USING ERRCODE = '0A000',
                  DETAIL = 'A physical point-in-time recovery restores the whole cluster into a new directory.',
                  HINT = 'Use ''FULL_DATABASE'' and copy what you need out of the restored cluster.';
    END IF;

    v_hk := backup_mgmt._initiate_recovery('time', backup_mgmt._iso_time(p_target_timestamp), NULL, p_approval_required,
                                           NULL, 'POINT_IN_TIME', 'FULL_DATABASE', false);
    RETURN QUERY SELECT * FROM backup_mgmt._recovery_status_row(v_hk);
END;
$$;

COMMENT ON FUNCTION backup_mgmt.initiate_point_in_time_recovery(bytea, timestamptz, varchar, boolean) IS
'Requests a point-in-time recovery of the cluster to p_target_timestamp into a new directory <restore root>/<recovery key> and returns (recovery_id, recovery_status, estimated_duration_minutes, approval_required, backup_source_id). The plan is plan_recovery(''time'', T): base = newest COMPLETED+VERIFIED full backup that ended before T with complete WAL up to the first archived commit after T. PENDING until approve_recovery() by a different member of recovery_approver; p_approval_required => false only for backup_mgmt_admin (42501 otherwise) and queues the RESTORE job at once (APPROVED). p_tenant_hk must be NULL (0A000); p_recovery_target FULL_DATABASE only (0A000). Target outside the recoverable window or behind a WAL gap: 22023, nothing written. Estimated duration: base backup size + WAL to replay at the throughput measured by earlier recoveries and drills (default 1 GiB/min).';
