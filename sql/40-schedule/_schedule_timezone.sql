-- Checks a schedule's time zone and returns its canonical name.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_timezone(p_timezone text)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- A stored schedule keeps a real zone name (from pg_timezone_names, in its
-- canonical spelling), not an abbreviation such as PST whose meaning is a
-- server setting.
DECLARE
    v_name text;
BEGIN
    PERFORM backup_mgmt._cron_timezone(p_timezone);
    SELECT z.name INTO v_name FROM pg_catalog.pg_timezone_names AS z
     WHERE lower(z.name) = lower(p_timezone)
     ORDER BY z.name = p_timezone DESC, z.name
     LIMIT 1;
    IF v_name IS NULL THEN
        RAISE EXCEPTION 'unknown time zone %', to_json(p_timezone)::text
            USING ERRCODE = '22023',
                  DETAIL = format('field: timezone; value: %s', to_json(p_timezone)::text),
                  HINT = 'Use a name from pg_timezone_names, e.g. UTC or Europe/Berlin.';
    END IF;
    RETURN v_name;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_timezone(text) IS
'Internal: validates a schedule time zone against pg_timezone_names and returns its canonical spelling; 22004 NULL, 22023 unknown.';
