-- Health check leftovers: files of finished work an agent could not remove.

CREATE OR REPLACE FUNCTION backup_mgmt._health_leftovers(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- What the agents' janitors reported (agent_report_leftovers): staging
-- directories of no live job, restore directories of finished recoveries,
-- that they could not remove. Any is a WARNING naming the paths.
DECLARE
    v_count integer;
    v_items text[];
BEGIN
    SELECT count(*)::integer, array_agg(format('%s %s (%s, agent %s)', l.kind, l.path, l.reason, l.agent_id) ORDER BY l.path)
      INTO v_count, v_items
      FROM backup_mgmt.agent_leftover AS l;
    threshold := 'any: warning';
    value := format('%s leftover(s)', v_count);
    IF v_count > 0 THEN
        status := 'WARNING';
        detail := format('could not be removed: %s%s', array_to_string(v_items[1:3], '; '),
                         CASE WHEN v_count > 3 THEN format('; and %s more', v_count - 3) ELSE '' END);
    ELSE
        status := 'OK';
        detail := 'no leftovers reported by the agents';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_leftovers() IS
'Internal (health_check): WARNING while an agent''s janitor reports staging or restore directories of finished work that it could not remove (agent_report_leftovers), naming them; OK otherwise.';
