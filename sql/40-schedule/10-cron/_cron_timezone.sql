-- Checks a time zone name for the cron evaluator.

CREATE OR REPLACE FUNCTION backup_mgmt._cron_timezone(p_timezone text)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- Zone names only (America/New_York, UTC, Etc/GMT+3): POSIX strings such as
-- "+03" or "UTC+3" are refused, their sign is the opposite of ISO 8601 and
-- they would silently mean another offset.
BEGIN
    IF p_timezone IS NULL THEN
        RAISE EXCEPTION 'time zone must not be NULL'
            USING ERRCODE = '22004', HINT = 'Use an IANA zone name such as UTC or Europe/Berlin.';
    END IF;
    IF length(p_timezone) > 64 OR p_timezone !~ '^[A-Za-z][A-Za-z0-9_]*(/[A-Za-z0-9_+-]+)*$' THEN
        RAISE EXCEPTION 'invalid time zone %', to_json(p_timezone)::text
            USING ERRCODE = '22023',
                  DETAIL = format('field: timezone; value: %s', to_json(p_timezone)::text),
                  HINT = 'Use an IANA zone name such as UTC or Europe/Berlin.';
    END IF;
    BEGIN
        PERFORM now() AT TIME ZONE p_timezone;
    EXCEPTION WHEN invalid_parameter_value THEN
        RAISE EXCEPTION 'unknown time zone %', to_json(p_timezone)::text
            USING ERRCODE = '22023',
                  DETAIL = format('field: timezone; value: %s', to_json(p_timezone)::text),
                  HINT = 'See SELECT name FROM pg_timezone_names.';
    END;
    RETURN p_timezone;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._cron_timezone(text) IS
'Internal: returns p_timezone if it is a time zone name PostgreSQL knows; 22004 for NULL, 22023 for POSIX offset strings and unknown names.';
