-- One unambiguous text form for times in plans and messages.

CREATE OR REPLACE FUNCTION backup_mgmt._iso_time(p_time timestamptz)
RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    -- UTC with microseconds and an explicit offset, e.g.
    -- 2026-11-22 01:02:03.123456+00: what recovery_target_time parses back
    -- to the same instant whatever the server's TimeZone.
    SELECT CASE WHEN isfinite(p_time)
                THEN to_char(p_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'
                ELSE p_time::text END
$$;

COMMENT ON FUNCTION backup_mgmt._iso_time(timestamptz) IS
'Internal: p_time as ''YYYY-MM-DD HH24:MI:SS.US+00'' (UTC), the form used in recovery plans, recovery_target_time and error messages.';
