-- The health of the pack in one row: the worst status and how many checks have each.

CREATE OR REPLACE FUNCTION backup_mgmt.health_summary()
RETURNS TABLE (status text, checks integer, ok integer, warning integer, critical integer, problems text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
    -- problems lists the checks that are not OK, worst first, as name=STATUS.
    SELECT CASE WHEN count(*) FILTER (WHERE c.status = 'CRITICAL') > 0 THEN 'CRITICAL'
                WHEN count(*) FILTER (WHERE c.status = 'WARNING') > 0 THEN 'WARNING'
                ELSE 'OK' END,
           count(*)::integer,
           count(*) FILTER (WHERE c.status = 'OK')::integer,
           count(*) FILTER (WHERE c.status = 'WARNING')::integer,
           count(*) FILTER (WHERE c.status = 'CRITICAL')::integer,
           string_agg(c.check_name || '=' || c.status, ', ' ORDER BY c.status = 'WARNING', c.ord) FILTER (WHERE c.status <> 'OK')
      FROM backup_mgmt.health_check() WITH ORDINALITY AS c (check_name, status, value, threshold, detail, ord)
$$;

COMMENT ON FUNCTION backup_mgmt.health_summary() IS
'health_check() in one row: status = the worst status (CRITICAL > WARNING > OK), the number of checks and of checks per status, and problems = the checks that are not OK as name=STATUS (critical first, then in check order), NULL when all are OK.';
