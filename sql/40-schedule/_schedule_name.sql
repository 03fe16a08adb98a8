-- Checks a schedule name and returns its normal (lower-case) form.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_name(p_name text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- Names are the business key of backup_schedule_h and part of the pg_cron job
-- name and command, so only [a-z0-9_-] are allowed (ASCII, any case; stored
-- lower-case, so Nightly-Full and nightly-full are one schedule).
BEGIN
    IF p_name IS NULL THEN
        RAISE EXCEPTION 'schedule name must not be NULL'
            USING ERRCODE = '22004', HINT = 'Names match ^[a-z0-9][a-z0-9_-]{0,62}$, e.g. nightly-full.';
    END IF;
    IF p_name !~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid schedule name %', left(to_json(p_name)::text, 100)
            USING ERRCODE = '22023',
                  DETAIL = format('field: schedule_name; length: %s', length(p_name)),
                  HINT = 'Names match ^[a-z0-9][a-z0-9_-]{0,62}$ (letters, digits, _ and -; at most 63 characters), e.g. nightly-full.';
    END IF;
    RETURN lower(p_name);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_name(text) IS
'Internal: validates a schedule name (^[a-z0-9][a-z0-9_-]{0,62}$, ASCII, case-insensitive) and returns it lower-cased; 22004 for NULL, 22023 otherwise.';
