-- Health check policy_drift: has a managed schedule or setting been changed by hand?

CREATE OR REPLACE FUNCTION backup_mgmt._health_policy_drift(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Compares every object recorded by policy_apply() (policy_object) with its
-- state now, field by field, in the form the policy declares it. A managed
-- schedule dropped by hand, or a field or setting changed by hand, is
-- WARNING: the next apply would undo it, and until then the policy under
-- review is not what runs. One lookup per managed object: a policy declares
-- tens of them, not thousands.
DECLARE
    v_total integer;
    v_drifted text[];
BEGIN
    threshold := 'any difference from the applied policy: warning';
    SELECT count(*)::integer INTO v_total FROM backup_mgmt.policy_object;
    IF v_total = 0 THEN
        status := 'OK';
        value := 'no policy applied';
        detail := 'no schedule or setting is managed by a policy file (backup-mgmt policy apply)';
        RETURN;
    END IF;

    SELECT array_agg(d.line ORDER BY d.line) INTO v_drifted
      FROM (SELECT format('schedule %s: %s', o.object_name,
                          CASE WHEN s.schedule_hk IS NULL OR coalesce(s.tags ? 'dropped_at', false) THEN 'dropped'
                               ELSE (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(o.declaration) AS k
                                      WHERE backup_mgmt._policy_schedule_state(s)->k IS DISTINCT FROM o.declaration->k) END) AS line,
                   s.schedule_hk IS NULL OR coalesce(s.tags ? 'dropped_at', false)
                   OR backup_mgmt._policy_schedule_state(s) IS DISTINCT FROM o.declaration AS drifted
              FROM backup_mgmt.policy_object AS o
              LEFT JOIN backup_mgmt.backup_schedule_s AS s
                ON s.schedule_hk = backup_mgmt.hash_key(o.object_name) AND s.load_end_date IS NULL
             WHERE o.object_kind = 'schedule'
            UNION ALL
            SELECT format('setting %s: %s (applied: %s)', o.object_name, coalesce(backup_mgmt.setting(o.object_name), 'unset'),
                          coalesce(o.declaration->>'value', 'unset')),
                   backup_mgmt._policy_setting_value(o.object_name, backup_mgmt.setting(o.object_name)) IS DISTINCT FROM o.declaration->>'value'
              FROM backup_mgmt.policy_object AS o
             WHERE o.object_kind = 'setting') AS d
     WHERE d.drifted;

    value := format('%s of %s managed objects changed by hand', coalesce(cardinality(v_drifted), 0), v_total);
    IF v_drifted IS NULL THEN
        status := 'OK';
        detail := format('every managed schedule and setting is as the policy applied last declared it (%s)', v_total);
    ELSE
        status := 'WARNING';
        detail := array_to_string(v_drifted, '; ')
                  || '; backup-mgmt policy plan shows the changes the next apply would make to undo this';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_policy_drift() IS
'Internal (health_check): managed schedules and settings (policy_object, written by policy_apply) whose state differs from the declaration applied: dropped schedules, changed fields, changed settings: WARNING naming them; OK when none differ or no policy was applied.';
