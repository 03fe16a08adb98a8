-- How long restoring a number of bytes will take, from what restores measured.

CREATE OR REPLACE FUNCTION backup_mgmt._restore_estimate(p_bytes bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Throughput = bytes / seconds over the 20 newest COMPLETED recoveries and
-- drills (bytes as their own estimate counted them: base backup + WAL to
-- replay), default 1 GiB per minute when none was measured yet. Returns
-- {bytes, throughput_bytes_per_second, basis: measured|default, minutes >= 1}.
DECLARE
    v_rate numeric;
    v_basis text := 'measured';
BEGIN
    SELECT sum(m.bytes) / nullif(sum(m.seconds), 0) INTO v_rate
      FROM (SELECT coalesce(CASE WHEN r.plan->'estimate'->>'bytes' ~ '^[0-9]{1,18}$'
                                 THEN (r.plan->'estimate'->>'bytes')::numeric END,
                            b.backup_size_bytes::numeric) AS bytes,
                   r.recovery_duration_seconds AS seconds
              FROM backup_mgmt.recovery_operation_current AS r
              LEFT JOIN backup_mgmt.backup_execution_current AS b ON b.backup_hk = r.source_backup_hk
             WHERE r.recovery_status = 'COMPLETED' AND r.recovery_duration_seconds > 0
             -- Newest by start: a backward scan of idx_recovery_operation_s_start_time
             -- that stops after 20 rows (by end time every completed recovery was
             -- read and sorted, plans and all: 0.35 s at 100,000 recoveries).
             ORDER BY r.recovery_start_time DESC
             LIMIT 20) AS m
     WHERE m.bytes > 0;
    IF v_rate IS NULL OR v_rate <= 0 THEN
        v_rate := 1073741824 / 60.0;
        v_basis := 'default';
    END IF;
    RETURN jsonb_build_object(
        'bytes', coalesce(p_bytes, 0),
        'throughput_bytes_per_second', round(v_rate),
        'basis', v_basis,
        'minutes', greatest(1, ceil(coalesce(p_bytes, 0) / v_rate / 60))::integer);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._restore_estimate(bigint) IS
'Internal: estimated restore duration of p_bytes: {bytes, throughput_bytes_per_second, basis (measured from the last 20 completed recoveries/drills, else default 1 GiB/min), minutes (at least 1)}.';
