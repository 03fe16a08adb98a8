-- The row the recovery requests return (seed 001 columns).

CREATE OR REPLACE FUNCTION backup_mgmt._recovery_status_row(p_recovery_hk bytea)
RETURNS TABLE (
    recovery_id bytea,
    recovery_status varchar(20),
    estimated_duration_minutes integer,
    approval_required boolean,
    backup_source_id bytea
)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- The current version; the estimate is the one recorded in the plan.
    SELECT r.recovery_hk, r.recovery_status,
           CASE WHEN r.plan->'estimate'->>'minutes' ~ '^[0-9]{1,9}$' THEN (r.plan->'estimate'->>'minutes')::integer END,
           r.approval_required, r.source_backup_hk
      FROM backup_mgmt.recovery_operation_current AS r
     WHERE r.recovery_hk = p_recovery_hk
$$;

COMMENT ON FUNCTION backup_mgmt._recovery_status_row(bytea) IS
'Internal: the seed''s result row of initiate_point_in_time_recovery (recovery_id, recovery_status, estimated_duration_minutes, approval_required, backup_source_id) for one recovery.';
